//! Connection commands: PING, ECHO, QUIT, RESET, SELECT, HELLO, AUTH and
//! CLIENT.

use larder_protocol::Resp;

use super::{acl, flags::*, CommandSpec};
use crate::dispatch::Ctx;
use crate::server::REDIS_VERSION;
use crate::util::{int_arg, ERR_DB_INDEX};

const CONN: u64 = acl::CONNECTION;

pub static COMMANDS: &[CommandSpec] = &[
    CommandSpec::new("ping", -1, FAST, CONN | acl::FAST, ping)
        .doc(
            "connection",
            "1.0.0",
            "Returns the server's liveliness response.",
            "O(1)",
        )
        .tips(&["request_policy:all_shards", "response_policy:all_succeeded"]),
    CommandSpec::new("echo", 2, FAST, CONN | acl::FAST, echo).doc(
        "connection",
        "1.0.0",
        "Returns the given string.",
        "O(1)",
    ),
    CommandSpec::new(
        "quit",
        -1,
        ALLOW_BUSY | NOSCRIPT | LOADING | STALE | FAST | NO_AUTH,
        CONN | acl::FAST,
        quit,
    )
    .doc("connection", "1.0.0", "Closes the connection.", "O(1)"),
    CommandSpec::new("select", 2, LOADING | STALE | FAST, CONN | acl::FAST, select).doc(
        "connection",
        "1.0.0",
        "Changes the selected database.",
        "O(1)",
    ),
    CommandSpec::new(
        "hello",
        -1,
        NOSCRIPT | LOADING | STALE | FAST | NO_AUTH | ALLOW_BUSY,
        CONN | acl::FAST,
        hello,
    )
    .doc("connection", "6.0.0", "Handshakes with the Redis server.", "O(1)"),
    CommandSpec::new(
        "auth",
        -2,
        NOSCRIPT | LOADING | STALE | FAST | NO_AUTH | ALLOW_BUSY,
        CONN | acl::FAST,
        auth,
    )
    .doc(
        "connection",
        "1.0.0",
        "Authenticates the connection.",
        "O(N) where N is the number of passwords defined for the user",
    ),
];

fn ping(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    match args.len() {
        1 => ctx.out.simple("PONG"),
        2 => ctx.out.bulk(args[1]),
        _ => ctx.out.error("wrong number of arguments for 'ping' command"),
    }
}

fn echo(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    ctx.out.bulk(args[1]);
}

fn quit(ctx: &mut Ctx<'_>, _args: &[&[u8]]) {
    ctx.out.ok();
    ctx.client.close_after_reply = true;
}

fn select(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    let Ok(n) = int_arg(args[1]) else {
        ctx.out.error("value is not an integer or out of range");
        return;
    };
    if n < 0 || n as usize >= ctx.server.keyspace.databases() {
        ctx.out.error(ERR_DB_INDEX);
        return;
    }
    ctx.client.select(n as usize);
    ctx.out.ok();
}

/// Checks a password against `requirepass`. Redis's wording.
fn check_password(ctx: &mut Ctx<'_>, user: Option<&[u8]>, pass: &[u8]) -> bool {
    let required = ctx.server.config.read().requirepass.clone();
    let user_ok = user.is_none_or(|u| u == b"default");
    let ok = match required {
        Some(p) => user_ok && p.as_bytes() == pass,
        // No password set: only the default user exists, with nopass.
        None => user_ok,
    };
    if ok {
        ctx.client.authenticated = true;
    }
    ok
}

const WRONGPASS: &str = "-WRONGPASS invalid username-password pair or user is disabled.";

fn auth(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    if args.len() > 3 {
        ctx.out.error("syntax error");
        return;
    }
    let (user, pass) = if args.len() == 3 {
        (Some(args[1]), args[2])
    } else {
        (None, args[1])
    };
    if user.is_none() && ctx.server.config.read().requirepass.is_none() {
        ctx.out.error("AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?");
        return;
    }
    if check_password(ctx, user, pass) {
        ctx.out.ok();
    } else {
        ctx.out.error(WRONGPASS);
    }
}

fn hello(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    let mut ver = None;
    let mut i = 1;
    if args.len() >= 2 {
        match int_arg(args[1]) {
            Ok(v) if v == 2 || v == 3 => ver = Some(v),
            Ok(_) => {
                ctx.out.error("-NOPROTO unsupported protocol version");
                return;
            }
            Err(_) => {
                ctx.out.error("Protocol version is not an integer or out of range");
                return;
            }
        }
        i = 2;
    }
    let mut setname = None;
    while i < args.len() {
        let more = args.len() - i - 1;
        if args[i].eq_ignore_ascii_case(b"auth") && more >= 2 {
            if !check_password(ctx, Some(args[i + 1]), args[i + 2]) {
                ctx.out.error(WRONGPASS);
                return;
            }
            i += 3;
        } else if args[i].eq_ignore_ascii_case(b"setname") && more >= 1 {
            setname = Some(args[i + 1]);
            i += 2;
        } else {
            ctx.out.error(&format!(
                "Syntax error in HELLO option '{}'",
                String::from_utf8_lossy(args[i])
            ));
            return;
        }
    }
    if !ctx.client.authenticated && ctx.server.auth_required() {
        ctx.out.error("-NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time");
        return;
    }
    if let Some(name) = setname {
        if name.iter().any(|&c| c <= b' ' || c > b'~') {
            ctx.out
                .error("Client names cannot contain spaces, newlines or special characters.");
            return;
        }
        *ctx.client.info.name.lock() = (!name.is_empty()).then(|| String::from_utf8_lossy(name).into_owned());
    }
    if let Some(v) = ver {
        ctx.out.resp = if v == 3 { Resp::V3 } else { Resp::V2 };
        ctx.client
            .info
            .resp
            .store(v as usize, std::sync::atomic::Ordering::Relaxed);
    }
    let out = &mut *ctx.out;
    out.map(7);
    out.bulk_str("server");
    out.bulk_str("redis");
    out.bulk_str("version");
    out.bulk_str(REDIS_VERSION);
    out.bulk_str("proto");
    out.integer(if out.is_resp3() { 3 } else { 2 });
    out.bulk_str("id");
    out.integer(ctx.client.id as i64);
    out.bulk_str("mode");
    out.bulk_str("standalone");
    out.bulk_str("role");
    out.bulk_str("master");
    out.bulk_str("modules");
    out.array(0);
}
