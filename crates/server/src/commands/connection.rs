//! Connection commands: PING, ECHO, QUIT, RESET, SELECT, HELLO, AUTH and
//! CLIENT, with Redis 7.2's replies and error strings.

use std::fmt::Write as _;
use std::sync::atomic::Ordering;

use larder_protocol::Resp;

use super::{acl, flags::*, CommandSpec};
use crate::client::{ClientInfo, ReplyMode};
use crate::dispatch::Ctx;
use crate::server::{Pause, REDIS_VERSION};
use crate::util::{is, parse_i64, ERR_DB_INDEX, ERR_NOT_INT, ERR_SYNTAX};

const CONN: u64 = acl::CONNECTION;
/// ACL categories of a CLIENT subcommand (all `@connection`; `@slow`
/// unless fast; `@admin @dangerous` with the admin flag).
const SUB: u64 = CONN | acl::SLOW;
const SUB_ADMIN: u64 = CONN | acl::SLOW | acl::ADMIN | acl::DANGEROUS;
const SUB_FLAGS: u64 = NOSCRIPT | LOADING | STALE;

pub static COMMANDS: &[CommandSpec] = &[
    CommandSpec::new("ping", -1, FAST, CONN | acl::FAST, ping)
        .doc(
            "connection",
            "1.0.0",
            "Returns the server's liveliness response.",
            "O(1)",
        )
        .tips(&["request_policy:all_shards", "response_policy:all_succeeded"]),
    CommandSpec::new("echo", 2, LOADING | STALE | FAST, CONN | acl::FAST, echo).doc(
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
    CommandSpec::new(
        "reset",
        1,
        NOSCRIPT | LOADING | STALE | FAST | NO_AUTH | ALLOW_BUSY,
        CONN | acl::FAST,
        reset,
    )
    .doc("connection", "6.2.0", "Resets the connection.", "O(1)"),
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
    CommandSpec::container("client", -2, acl::SLOW, CLIENT_SUBCOMMANDS).doc(
        "connection",
        "2.4.0",
        "A container for client connection commands.",
        "Depends on subcommand.",
    ),
];

static CLIENT_SUBCOMMANDS: &[CommandSpec] = &[
    CommandSpec::new("client|getname", 2, SUB_FLAGS, SUB, client_getname).doc(
        "connection",
        "2.6.9",
        "Returns the name of the connection.",
        "O(1)",
    ),
    CommandSpec::new("client|caching", 3, SUB_FLAGS, SUB, client_caching).doc(
        "connection",
        "6.0.0",
        "Instructs the server whether to track the keys in the next request.",
        "O(1)",
    ),
    CommandSpec::new("client|getredir", 2, SUB_FLAGS, SUB, client_getredir).doc(
        "connection",
        "6.0.0",
        "Returns the client ID to which the connection's tracking notifications are redirected.",
        "O(1)",
    ),
    CommandSpec::new("client|help", 2, LOADING | STALE, SUB, client_help).doc(
        "connection",
        "5.0.0",
        "Returns helpful text about the different subcommands.",
        "O(1)",
    ),
    CommandSpec::new("client|id", 2, SUB_FLAGS, SUB, client_id).doc(
        "connection",
        "5.0.0",
        "Returns the unique client ID of the connection.",
        "O(1)",
    ),
    CommandSpec::new("client|info", 2, SUB_FLAGS, SUB, client_info)
        .doc(
            "connection",
            "6.2.0",
            "Returns information about the connection.",
            "O(1)",
        )
        .tips(&["nondeterministic_output"]),
    CommandSpec::new("client|kill", -3, ADMIN | SUB_FLAGS, SUB_ADMIN, client_kill).doc(
        "connection",
        "2.4.0",
        "Terminates open connections.",
        "O(N) where N is the number of client connections",
    ),
    CommandSpec::new("client|list", -2, ADMIN | SUB_FLAGS, SUB_ADMIN, client_list)
        .doc(
            "connection",
            "2.4.0",
            "Lists open connections.",
            "O(N) where N is the number of client connections",
        )
        .tips(&["nondeterministic_output"]),
    CommandSpec::new("client|no-evict", 3, ADMIN | SUB_FLAGS, SUB_ADMIN, client_no_evict).doc(
        "connection",
        "7.0.0",
        "Sets the client eviction mode of the connection.",
        "O(1)",
    ),
    CommandSpec::new("client|no-touch", 3, SUB_FLAGS, SUB, client_no_touch).doc(
        "connection",
        "7.2.0",
        "Controls whether commands sent by the client affect the LRU/LFU of accessed keys.",
        "O(1)",
    ),
    CommandSpec::new("client|pause", -3, ADMIN | SUB_FLAGS, SUB_ADMIN, client_pause).doc(
        "connection",
        "3.0.0",
        "Suspends commands processing.",
        "O(1)",
    ),
    CommandSpec::new("client|reply", 3, SUB_FLAGS, SUB, client_reply).doc(
        "connection",
        "3.2.0",
        "Instructs the server whether to reply to commands.",
        "O(1)",
    ),
    CommandSpec::new("client|setinfo", 4, SUB_FLAGS, SUB, client_setinfo)
        .doc(
            "connection",
            "7.2.0",
            "Sets information specific to the client or connection.",
            "O(1)",
        )
        .tips(&["request_policy:all_nodes", "response_policy:all_succeeded"]),
    CommandSpec::new("client|tracking", -3, SUB_FLAGS, SUB, client_tracking).doc(
        "connection",
        "6.0.0",
        "Controls server-assisted client-side caching for the connection.",
        "O(1). Some options may introduce additional complexity.",
    ),
    CommandSpec::new("client|trackinginfo", 2, SUB_FLAGS, SUB, client_trackinginfo).doc(
        "connection",
        "6.2.0",
        "Returns information about server-assisted client-side caching for the connection.",
        "O(1)",
    ),
    CommandSpec::new("client|setname", 3, SUB_FLAGS, SUB, client_setname)
        .doc("connection", "2.6.9", "Sets the connection name.", "O(1)")
        .tips(&["request_policy:all_nodes", "response_policy:all_succeeded"]),
    CommandSpec::new("client|unblock", -3, ADMIN | SUB_FLAGS, SUB_ADMIN, client_unblock).doc(
        "connection",
        "5.0.0",
        "Unblocks a client blocked by a blocking command from a different connection.",
        "O(log N) where N is the number of client connections",
    ),
    CommandSpec::new("client|unpause", 2, ADMIN | SUB_FLAGS, SUB_ADMIN, client_unpause).doc(
        "connection",
        "6.2.0",
        "Resumes processing commands from paused clients.",
        "O(N) Where N is the number of paused clients",
    ),
];

fn ping(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    // A RESP2 subscriber gets its pong as a message-like array.
    if ctx.client.subs.any() && !ctx.out.is_resp3() && args.len() <= 2 {
        ctx.out.array(2);
        ctx.out.bulk(b"pong");
        ctx.out.bulk(args.get(1).copied().unwrap_or_default());
        return;
    }
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

/// RESET: back to a fresh connection's state (db 0, RESP2, no name,
/// not authenticated when a password is required, replies on, no
/// no-evict/no-touch). The library name and version stay, as in Redis.
fn reset(ctx: &mut Ctx<'_>, _args: &[&[u8]]) {
    crate::commands::multi::discard_transaction(ctx.server, ctx.client);
    crate::pubsub::forget_client(ctx.server, ctx.client);
    crate::tracking::disable(ctx.server, &ctx.client.info.clone());
    if ctx.client.info.monitor.swap(false, Ordering::Relaxed) {
        ctx.server.monitors.remove(ctx.client.id);
    }
    ctx.client.select(0);
    ctx.out.resp = Resp::V2;
    ctx.client.info.resp.store(2, Ordering::Relaxed);
    ctx.client.user = None;
    *ctx.client.info.user.lock() = b"default".to_vec();
    ctx.client.authenticated = !ctx.server.auth_required();
    *ctx.client.info.name.lock() = None;
    // A SKIP already in force still swallows this reply, as in Redis.
    if ctx.client.reply_mode != ReplyMode::Skip {
        ctx.client.reply_mode = ReplyMode::On;
    }
    ctx.client.no_touch = false;
    ctx.client.info.no_touch.store(false, Ordering::Relaxed);
    ctx.client.info.no_evict.store(false, Ordering::Relaxed);
    ctx.out.simple("RESET");
}

/// Redis's getIntFromObjectOrReply: an `int`, with its two messages.
fn int32_arg(arg: &[u8]) -> Result<i32, &'static str> {
    let v = parse_i64(arg).ok_or(ERR_NOT_INT)?;
    i32::try_from(v).map_err(|_| "value is out of range, value must between -2147483648 and 2147483647")
}

fn select(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    let n = match int32_arg(args[1]) {
        Ok(n) => n,
        Err(e) => {
            ctx.out.error(e);
            return;
        }
    };
    if n < 0 || n as usize >= ctx.server.keyspace.databases() {
        ctx.out.error(ERR_DB_INDEX);
        return;
    }
    ctx.client.select(n as usize);
    ctx.out.ok();
}

/// Checks credentials against the ACL users. Success logs the client in
/// as that user; failure leaves its state alone and is written to the
/// ACL log (object: the command as sent), as in Redis.
fn authenticate(ctx: &mut Ctx<'_>, command: &[u8], user: &[u8], pass: &[u8]) -> bool {
    match ctx.server.acl.authenticate(user, pass) {
        Some(u) => {
            ctx.client.set_user(u);
            true
        }
        None => {
            crate::commands::aclcmd::log_auth_failure(ctx, command, user);
            false
        }
    }
}

const WRONGPASS: &str = "-WRONGPASS invalid username-password pair or user is disabled.";

fn auth(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    if args.len() > 3 {
        ctx.out.error(ERR_SYNTAX);
        return;
    }
    let (user, pass): (&[u8], &[u8]) = if args.len() == 3 {
        (args[1], args[2])
    } else {
        if ctx.server.acl.default_user().nopass() {
            ctx.out.error("AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?");
            return;
        }
        (b"default", args[1])
    };
    if authenticate(ctx, args[0], user, pass) {
        ctx.out.ok();
    } else {
        ctx.out.error(WRONGPASS);
    }
}

/// Redis's validateClientAttr: printable ASCII without spaces (checked up
/// to a NUL byte, as the C string test does).
fn valid_attr(v: &[u8]) -> bool {
    v.iter().take_while(|&&c| c != 0).all(|&c| (b'!'..=b'~').contains(&c))
}

const ERR_NAME: &str = "Client names cannot contain spaces, newlines or special characters.";

fn set_name(info: &ClientInfo, name: &[u8]) {
    *info.name.lock() = (!name.is_empty()).then(|| String::from_utf8_lossy(name).into_owned());
}

fn hello(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    let mut ver = None;
    let mut i = 1;
    if args.len() >= 2 {
        match parse_i64(args[1]) {
            Some(v) if v == 2 || v == 3 => ver = Some(v),
            Some(_) => {
                ctx.out.error("-NOPROTO unsupported protocol version");
                return;
            }
            None => {
                ctx.out.error("Protocol version is not an integer or out of range");
                return;
            }
        }
        i = 2;
    }
    let mut creds = None;
    let mut setname = None;
    while i < args.len() {
        let more = args.len() - i - 1;
        if is(args[i], "auth") && more >= 2 {
            creds = Some((args[i + 1], args[i + 2]));
            i += 3;
        } else if is(args[i], "setname") && more >= 1 {
            if !valid_attr(args[i + 1]) {
                ctx.out.error(ERR_NAME);
                return;
            }
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
    if let Some((user, pass)) = creds {
        if !authenticate(ctx, args[0], user, pass) {
            ctx.out.error(WRONGPASS);
            return;
        }
    }
    if !ctx.client.authenticated && ctx.server.auth_required() {
        ctx.out.error("-NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time");
        return;
    }
    if let Some(name) = setname {
        set_name(&ctx.client.info, name);
    }
    if let Some(v) = ver {
        ctx.out.resp = if v == 3 { Resp::V3 } else { Resp::V2 };
        ctx.client.info.resp.store(v as usize, Ordering::Relaxed);
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

// ---------------------------------------------------------------- CLIENT

/// Redis 7.2's CLIENT HELP text (without the header and HELP lines that
/// every help reply has).
const CLIENT_HELP: &[&str] = &[
    "CACHING (YES|NO)",
    "    Enable/disable tracking of the keys for next command in OPTIN/OPTOUT modes.",
    "GETREDIR",
    "    Return the client ID we are redirecting to when tracking is enabled.",
    "GETNAME",
    "    Return the name of the current connection.",
    "ID",
    "    Return the ID of the current connection.",
    "INFO",
    "    Return information about the current client connection.",
    "KILL <ip:port>",
    "    Kill connection made from <ip:port>.",
    "KILL <option> <value> [<option> <value> [...]]",
    "    Kill connections. Options are:",
    "    * ADDR (<ip:port>|<unixsocket>:0)",
    "      Kill connections made from the specified address",
    "    * LADDR (<ip:port>|<unixsocket>:0)",
    "      Kill connections made to specified local address",
    "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
    "      Kill connections by type.",
    "    * USER <username>",
    "      Kill connections authenticated by <username>.",
    "    * SKIPME (YES|NO)",
    "      Skip killing current connection (default: yes).",
    "LIST [options ...]",
    "    Return information about client connections. Options:",
    "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
    "      Return clients of specified type.",
    "UNPAUSE",
    "    Stop the current client pause, resuming traffic.",
    "PAUSE <timeout> [WRITE|ALL]",
    "    Suspend all, or just write, clients for <timeout> milliseconds.",
    "REPLY (ON|OFF|SKIP)",
    "    Control the replies sent to the current connection.",
    "SETNAME <name>",
    "    Assign the name <name> to the current connection.",
    "SETINFO <option> <value>",
    "    Set client meta attr. Options are:",
    "    * LIB-NAME: the client lib name.",
    "    * LIB-VER: the client lib version.",
    "UNBLOCK <clientid> [TIMEOUT|ERROR]",
    "    Unblock the specified blocked client.",
    "TRACKING (ON|OFF) [REDIRECT <id>] [BCAST] [PREFIX <prefix> [...]]",
    "         [OPTIN] [OPTOUT] [NOLOOP]",
    "    Control server assisted client side caching.",
    "TRACKINGINFO",
    "    Report tracking status for the current connection.",
    "NO-EVICT (ON|OFF)",
    "    Protect current client connection from eviction.",
    "NO-TOUCH (ON|OFF)",
    "    Will not touch LRU/LFU stats when this mode is on.",
];

fn client_help(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    let cmd = String::from_utf8_lossy(args[0]).to_ascii_uppercase();
    let out = &mut *ctx.out;
    out.array(CLIENT_HELP.len() + 3);
    out.simple(&format!(
        "{cmd} <subcommand> [<arg> [value] [opt] ...]. Subcommands are:"
    ));
    for line in CLIENT_HELP {
        out.simple(line);
    }
    out.simple("HELP");
    out.simple("    Prints this help.");
}

/// Redis's addReplySubcommandSyntaxError.
fn subcommand_syntax_error(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    let sub: String = String::from_utf8_lossy(args[1]).chars().take(128).collect();
    let cmd = String::from_utf8_lossy(args[0]).to_ascii_uppercase();
    ctx.out.error(&format!(
        "unknown subcommand or wrong number of arguments for '{sub}'. Try {cmd} HELP."
    ));
}

/// CLIENT UNBLOCK id [TIMEOUT|ERROR]: 1 if the client was blocked on
/// keys (BLPOP...) and is now woken, else 0.
fn client_unblock(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    if args.len() > 4 {
        ctx.out
            .error("unknown subcommand or wrong number of arguments for 'unblock'. Try CLIENT HELP.");
        return;
    }
    let Some(id) = crate::util::parse_i64(args[2]) else {
        ctx.out.error(crate::util::ERR_NOT_INT);
        return;
    };
    let why = match args.get(3) {
        None => crate::blocking::Cancel::Timeout,
        Some(a) if a.eq_ignore_ascii_case(b"timeout") => crate::blocking::Cancel::Timeout,
        Some(a) if a.eq_ignore_ascii_case(b"error") => crate::blocking::Cancel::Error,
        Some(_) => {
            ctx.out.error("CLIENT UNBLOCK reason should be TIMEOUT or ERROR");
            return;
        }
    };
    let woke =
        id >= 0 && (ctx.server.blocking.unblock(id as u64, why) || unblock_repl_wait(ctx.server, id as u64, why));
    if woke && why == crate::blocking::Cancel::Error {
        // The blocked client's error reply, counted as Redis counts it.
        ctx.server.stats.total_error_replies.fetch_add(1, Ordering::Relaxed);
        *ctx.server.errorstats.lock().entry("UNBLOCKED".into()).or_insert(0) += 1;
    }
    ctx.out.integer(woke as i64);
}

/// CLIENT UNBLOCK of a client in WAIT / WAITAOF.
fn unblock_repl_wait(server: &crate::server::Server, id: u64, why: crate::blocking::Cancel) -> bool {
    let Some(info) = server.clients.lock().get(&id).cloned() else {
        return false;
    };
    if !info.repl_waiting.load(Ordering::Acquire) {
        return false;
    }
    info.unblock_error
        .store(why == crate::blocking::Cancel::Error, Ordering::Release);
    info.unblock.notify_one();
    true
}

fn client_id(ctx: &mut Ctx<'_>, _args: &[&[u8]]) {
    ctx.out.integer(ctx.client.id as i64);
}

fn client_getname(ctx: &mut Ctx<'_>, _args: &[&[u8]]) {
    let name = ctx.client.info.name.lock().clone();
    match name {
        Some(n) => ctx.out.bulk(n.as_bytes()),
        None => ctx.out.null(),
    }
}

fn client_setname(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    if !valid_attr(args[2]) {
        ctx.out.error(ERR_NAME);
        return;
    }
    set_name(&ctx.client.info, args[2]);
    ctx.out.ok();
}

fn client_setinfo(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    let attr = String::from_utf8_lossy(args[2]);
    let slot = if is(args[2], "lib-name") {
        &ctx.client.info.lib_name
    } else if is(args[2], "lib-ver") {
        &ctx.client.info.lib_ver
    } else {
        ctx.out.error(&format!("Unrecognized option '{attr}'"));
        return;
    };
    if !valid_attr(args[3]) {
        ctx.out.error(&format!(
            "{attr} cannot contain spaces, newlines or special characters."
        ));
        return;
    }
    *slot.lock() = (!args[3].is_empty()).then(|| String::from_utf8_lossy(args[3]).into_owned());
    ctx.out.ok();
}

fn client_getredir(ctx: &mut Ctx<'_>, _args: &[&[u8]]) {
    let st = ctx.client.info.tracking.lock();
    ctx.out.integer(if st.on { st.redirect as i64 } else { -1 });
}

/// CLIENT TRACKING ON|OFF [REDIRECT id] [PREFIX p]... [BCAST] [OPTIN]
/// [OPTOUT] [NOLOOP] (networking.c's clientCommand "tracking").
fn client_tracking(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    let mut new = crate::tracking::TrackState::default();
    let mut prefixes: Vec<Vec<u8>> = Vec::new();
    let mut redirect: i64 = 0;
    let mut j = 3;
    while j < args.len() {
        let more = j + 1 < args.len();
        let a = args[j];
        if is(a, "redirect") && more {
            j += 1;
            if redirect != 0 {
                return ctx.out.error("A client can only redirect to a single other client");
            }
            let Some(id) = crate::util::parse_i64(args[j]) else {
                return ctx.out.error(crate::util::ERR_NOT_INT);
            };
            if id <= 0 || !ctx.server.clients.lock().contains_key(&(id as u64)) {
                return ctx.out.error("The client ID you want redirect to does not exist");
            }
            redirect = id;
        } else if is(a, "bcast") {
            new.bcast = true;
        } else if is(a, "optin") {
            new.optin = true;
        } else if is(a, "optout") {
            new.optout = true;
        } else if is(a, "noloop") {
            new.noloop = true;
        } else if is(a, "prefix") && more {
            j += 1;
            prefixes.push(args[j].to_vec());
        } else {
            return ctx.out.error(ERR_SYNTAX);
        }
        j += 1;
    }
    if is(args[2], "on") {
        if !new.bcast && !prefixes.is_empty() {
            return ctx.out.error("PREFIX option requires BCAST mode to be enabled");
        }
        let info = ctx.client.info.clone();
        let (was_on, was_bcast, existing) = {
            let st = info.tracking.lock();
            (st.on, st.bcast, st.prefixes.clone())
        };
        if was_on && was_bcast != new.bcast {
            return ctx.out.error(
                "You can't switch BCAST mode on/off before disabling tracking for this client, and then re-enabling it with a different mode.",
            );
        }
        if new.bcast && (new.optin || new.optout) {
            return ctx.out.error("OPTIN and OPTOUT are not compatible with BCAST");
        }
        if new.optin && new.optout {
            return ctx.out.error("You can't specify both OPTIN mode and OPTOUT mode");
        }
        if new.bcast {
            if let Some(e) = crate::tracking::prefix_collision(&existing, &prefixes) {
                return ctx.out.error(&e);
            }
        }
        new.redirect = redirect as u64;
        new.prefixes = prefixes.into_iter().collect();
        crate::tracking::enable(ctx.server, &info, new);
    } else if is(args[2], "off") {
        crate::tracking::disable(ctx.server, &ctx.client.info.clone());
    } else {
        return ctx.out.error(ERR_SYNTAX);
    }
    ctx.out.ok();
}

/// CLIENT CACHING YES|NO.
fn client_caching(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    let info = ctx.client.info.clone();
    let mut st = info.tracking.lock();
    if !st.on {
        return ctx.out.error(
            "CLIENT CACHING can be called only when the client is in tracking mode with OPTIN or OPTOUT mode enabled",
        );
    }
    if is(args[2], "yes") {
        if !st.optin {
            return ctx
                .out
                .error("CLIENT CACHING YES is only valid when tracking is enabled in OPTIN mode.");
        }
    } else if is(args[2], "no") {
        if !st.optout {
            return ctx
                .out
                .error("CLIENT CACHING NO is only valid when tracking is enabled in OPTOUT mode.");
        }
    } else {
        return ctx.out.error(ERR_SYNTAX);
    }
    st.caching = true;
    ctx.out.ok();
}

/// CLIENT TRACKINGINFO: flags (a set), redirect, prefixes.
fn client_trackinginfo(ctx: &mut Ctx<'_>, _args: &[&[u8]]) {
    let st = ctx.client.info.tracking.lock().clone();
    let mut flags: Vec<&str> = vec![if st.on { "on" } else { "off" }];
    if st.bcast {
        flags.push("bcast");
    }
    if st.optin {
        flags.push("optin");
        if st.caching {
            flags.push("caching-yes");
        }
    }
    if st.optout {
        flags.push("optout");
        if st.caching {
            flags.push("caching-no");
        }
    }
    if st.noloop {
        flags.push("noloop");
    }
    if st.broken_redirect {
        flags.push("broken_redirect");
    }
    ctx.out.map(3);
    ctx.out.bulk_str("flags");
    ctx.out.set(flags.len());
    for f in flags {
        ctx.out.bulk_str(f);
    }
    ctx.out.bulk_str("redirect");
    ctx.out.integer(if st.on { st.redirect as i64 } else { -1 });
    ctx.out.bulk_str("prefixes");
    ctx.out.array(st.prefixes.len());
    for p in &st.prefixes {
        ctx.out.bulk(p);
    }
}

/// Parses ON|OFF for CLIENT NO-EVICT / NO-TOUCH.
fn on_off(arg: &[u8]) -> Option<bool> {
    if is(arg, "on") {
        Some(true)
    } else if is(arg, "off") {
        Some(false)
    } else {
        None
    }
}

fn client_no_evict(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    match on_off(args[2]) {
        Some(v) => {
            ctx.client.info.no_evict.store(v, Ordering::Relaxed);
            ctx.out.ok();
        }
        None => ctx.out.error(ERR_SYNTAX),
    }
}

fn client_no_touch(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    match on_off(args[2]) {
        Some(v) => {
            ctx.client.no_touch = v;
            ctx.client.info.no_touch.store(v, Ordering::Relaxed);
            ctx.out.ok();
        }
        None => ctx.out.error(ERR_SYNTAX),
    }
}

/// CLIENT REPLY ON|OFF|SKIP. Dispatch drops the replies; OFF and SKIP
/// themselves are not answered.
fn client_reply(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    if is(args[2], "on") {
        ctx.client.reply_mode = ReplyMode::On;
        ctx.out.ok();
    } else if is(args[2], "off") {
        ctx.client.reply_mode = ReplyMode::Off;
    } else if is(args[2], "skip") {
        if ctx.client.reply_mode != ReplyMode::Off {
            ctx.client.reply_mode = ReplyMode::SkipNext;
        }
    } else {
        ctx.out.error(ERR_SYNTAX);
    }
}

fn client_pause(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    if args.len() > 4 {
        subcommand_syntax_error(ctx, args);
        return;
    }
    let mut write_only = false;
    if args.len() == 4 {
        if is(args[3], "write") {
            write_only = true;
        } else if !is(args[3], "all") {
            ctx.out.error("CLIENT PAUSE mode must be WRITE or ALL");
            return;
        }
    }
    let Some(ms) = parse_i64(args[2]) else {
        ctx.out.error("timeout is not an integer or out of range");
        return;
    };
    if ms < 0 {
        ctx.out.error("timeout is negative");
        return;
    }
    let now = ctx.server.now_ms();
    let end = if ms > 0 {
        match (now as i64).checked_add(ms) {
            Some(end) => end as u64,
            None => {
                ctx.out.error("timeout is out of range");
                return;
            }
        }
    } else {
        0
    };
    {
        // Like Redis: the mode is replaced, the end only ever extended.
        let mut pause = ctx.server.pause.lock();
        let until = pause.until_ms.max(end);
        *pause = if until > now {
            Pause {
                until_ms: until,
                write_only,
            }
        } else {
            Pause::default()
        };
    }
    // Waiters re-check: a switch from ALL to WRITE releases readers.
    ctx.server.unpaused.notify_waiters();
    ctx.out.ok();
}

fn client_unpause(ctx: &mut Ctx<'_>, _args: &[&[u8]]) {
    *ctx.server.pause.lock() = Pause::default();
    ctx.server.unpaused.notify_waiters();
    ctx.out.ok();
}

/// Redis's getClientTypeByName.
fn client_type(name: &[u8]) -> Option<&'static str> {
    if is(name, "normal") {
        Some("normal")
    } else if is(name, "slave") || is(name, "replica") {
        Some("slave")
    } else if is(name, "pubsub") {
        Some("pubsub")
    } else if is(name, "master") {
        Some("master")
    } else {
        None
    }
}

/// The filters of CLIENT KILL.
#[derive(Default)]
struct KillFilter<'a> {
    addr: Option<&'a [u8]>,
    laddr: Option<&'a [u8]>,
    ctype: Option<&'static str>,
    id: Option<u64>,
    max_age: Option<i64>,
    user: Option<&'a [u8]>,
    skipme: bool,
}

fn client_kill(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    let old_form = args.len() == 3;
    let mut f = KillFilter::default();
    if old_form {
        // CLIENT KILL addr: may kill the caller itself.
        f.addr = Some(args[2]);
    } else {
        f.skipme = true;
        let mut i = 2;
        while i < args.len() {
            let Some(&val) = args.get(i + 1) else {
                ctx.out.error(ERR_SYNTAX);
                return;
            };
            let opt = args[i];
            if is(opt, "id") {
                match parse_i64(val) {
                    Some(id) if id >= 1 => f.id = Some(id as u64),
                    _ => {
                        ctx.out.error("client-id should be greater than 0");
                        return;
                    }
                }
            } else if is(opt, "type") {
                match client_type(val) {
                    Some(t) => f.ctype = Some(t),
                    None => {
                        ctx.out
                            .error(&format!("Unknown client type '{}'", String::from_utf8_lossy(val)));
                        return;
                    }
                }
            } else if is(opt, "addr") {
                f.addr = Some(val);
            } else if is(opt, "laddr") {
                f.laddr = Some(val);
            } else if is(opt, "user") {
                if ctx.server.acl.get(val).is_none() {
                    ctx.out
                        .error(&format!("No such user '{}'", String::from_utf8_lossy(val)));
                    return;
                }
                f.user = Some(val);
            } else if is(opt, "skipme") {
                if is(val, "yes") {
                    f.skipme = true;
                } else if is(val, "no") {
                    f.skipme = false;
                } else {
                    ctx.out.error(ERR_SYNTAX);
                    return;
                }
            } else if is(opt, "maxage") {
                let Some(age) = parse_i64(val) else {
                    ctx.out.error("maxage is not an integer or out of range");
                    return;
                };
                if age <= 0 {
                    ctx.out.error("maxage should be greater than 0");
                    return;
                }
                f.max_age = Some(age);
            } else {
                ctx.out.error(ERR_SYNTAX);
                return;
            }
            i += 2;
        }
    }

    let now_s = (ctx.now / 1000) as i64;
    let me = ctx.client.id;
    let clients: Vec<_> = ctx.server.clients.lock().values().cloned().collect();
    let mut killed = 0;
    let mut kill_me = false;
    for c in clients {
        if c.killed.load(Ordering::Relaxed) {
            continue;
        }
        if f.addr.is_some_and(|a| a != c.addr.as_bytes())
            || f.laddr.is_some_and(|a| a != c.laddr.as_bytes())
            || f.ctype.is_some_and(|t| t != c.type_name())
            || f.id.is_some_and(|id| id != c.id)
            || f.user.is_some_and(|u| u != c.user.lock().as_slice())
            || f.max_age.is_some_and(|m| now_s - ((c.created_ms / 1000) as i64) < m)
            || (c.id == me && f.skipme)
        {
            continue;
        }
        if c.id == me {
            kill_me = true;
        } else {
            c.kill();
        }
        killed += 1;
    }
    if kill_me {
        ctx.client.close_after_reply = true;
    }
    if old_form {
        if killed == 0 {
            ctx.out.error("No such client");
        } else {
            ctx.out.ok();
        }
    } else {
        ctx.out.integer(killed);
    }
}

fn client_list(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    let mut text = String::new();
    if args.len() == 4 && is(args[2], "type") {
        let Some(t) = client_type(args[3]) else {
            ctx.out
                .error(&format!("Unknown client type '{}'", String::from_utf8_lossy(args[3])));
            return;
        };
        for c in all_clients(ctx) {
            if c.type_name() == t {
                client_line(ctx, &c, args, &mut text);
            }
        }
    } else if args.len() > 3 && is(args[2], "id") {
        let mut ids = Vec::with_capacity(args.len() - 3);
        for a in &args[3..] {
            match parse_i64(a) {
                Some(id) => ids.push(id),
                None => {
                    ctx.out.error("Invalid client ID");
                    return;
                }
            }
        }
        for id in ids {
            let c = u64::try_from(id)
                .ok()
                .and_then(|id| ctx.server.clients.lock().get(&id).cloned());
            if let Some(c) = c.filter(|c| !c.killed.load(Ordering::Relaxed)) {
                client_line(ctx, &c, args, &mut text);
            }
        }
    } else if args.len() != 2 {
        ctx.out.error(ERR_SYNTAX);
        return;
    } else {
        for c in all_clients(ctx) {
            client_line(ctx, &c, args, &mut text);
        }
    }
    ctx.out.verbatim(&text);
}

/// Every live client, oldest first.
fn all_clients(ctx: &Ctx<'_>) -> Vec<std::sync::Arc<ClientInfo>> {
    let mut v: Vec<_> = ctx
        .server
        .clients
        .lock()
        .values()
        .filter(|c| !c.killed.load(Ordering::Relaxed))
        .cloned()
        .collect();
    v.sort_by_key(|c| c.id);
    v
}

fn client_info(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    let mut text = String::new();
    let me = ctx.client.info.clone();
    client_line(ctx, &me, args, &mut text);
    ctx.out.verbatim(&text);
}

/// A C-string view of a name: Redis prints up to a NUL byte.
fn c_str(s: &str) -> &str {
    s.split('\0').next().unwrap_or_default()
}

/// One CLIENT LIST line, Redis 7.2's fields in its order, newline-ended.
/// `args` is the running command, which the caller's own line shows.
pub(crate) fn client_line(ctx: &Ctx<'_>, c: &ClientInfo, args: &[&[u8]], s: &mut String) {
    let me = c.id == ctx.client.id;
    let now_s = ctx.now / 1000;
    let age = now_s.saturating_sub(c.created_ms / 1000);
    let idle = if me {
        0
    } else {
        now_s.saturating_sub(c.last_interaction_ms.load(Ordering::Relaxed) / 1000)
    };
    let mut flags = String::new();
    if c.monitor.load(Ordering::Relaxed) {
        flags.push('O');
    }
    if c.is_pubsub() {
        flags.push('P');
    }
    let multi = c.multi.load(Ordering::Relaxed);
    if multi >= 0 {
        flags.push('x');
    }
    if c.blocked.load(Ordering::Relaxed) {
        flags.push('b');
    }
    if c.tracking_on.load(Ordering::Relaxed) {
        let st = c.tracking.lock();
        flags.push('t');
        if st.broken_redirect {
            flags.push('R');
        }
        if st.bcast {
            flags.push('B');
        }
    }
    if me && ctx.client.close_after_reply {
        flags.push('c');
    }
    if c.unix {
        flags.push('U');
    }
    if c.no_evict.load(Ordering::Relaxed) {
        flags.push('e');
    }
    if c.no_touch.load(Ordering::Relaxed) {
        flags.push('T');
    }
    if flags.is_empty() {
        flags.push('N');
    }
    let name = c.name.lock().clone().unwrap_or_default();
    let lib_name = c.lib_name.lock().clone().unwrap_or_default();
    let lib_ver = c.lib_ver.lock().clone().unwrap_or_default();
    let qbuf = c.qbuf.load(Ordering::Relaxed);
    let qbuf_free = c.qbuf_free.load(Ordering::Relaxed);
    // Only the running command has its arguments in memory.
    let argv_mem: usize = if me { args.iter().map(|a| a.len()).sum() } else { 0 };
    let (rbs, obl) = if me {
        (ctx.out.buf.capacity(), ctx.out.len())
    } else {
        (c.rbs.load(Ordering::Relaxed), c.obuf.load(Ordering::Relaxed))
    };
    let rbp = c.rbp.load(Ordering::Relaxed).max(obl);
    let multi_mem = c.multi_mem.load(Ordering::Relaxed);
    // Pub/Sub messages queued for the client (its reply list in Redis).
    let omem = c.outbox.queued();
    let tot_mem = std::mem::size_of::<crate::client::Client>()
        + std::mem::size_of::<ClientInfo>()
        + qbuf
        + qbuf_free
        + argv_mem
        + multi_mem
        + rbs;
    let cmd = if me && ctx.client.tx.in_exec {
        "exec"
    } else if me {
        // The running command, as Redis names it (`client|list`).
        ctx.server.commands.resolve(args).map_or("NULL", |cmd| cmd.spec.name)
    } else {
        *c.last_cmd.lock()
    };
    let _ = writeln!(
        s,
        "id={} addr={} laddr={} fd={} name={} age={} idle={} flags={} db={} sub={} psub={} ssub={} multi={} \
         qbuf={} qbuf-free={} argv-mem={} multi-mem={} rbs={} rbp={} obl={} oll=0 omem={} tot-mem={} \
         events=r cmd={} user={} redir=-1 resp={} lib-name={} lib-ver={}",
        c.id,
        c.addr,
        c.laddr,
        c.fd,
        c_str(&name),
        age,
        idle,
        flags,
        c.db.load(Ordering::Relaxed),
        c.sub.load(Ordering::Relaxed),
        c.psub.load(Ordering::Relaxed),
        c.ssub.load(Ordering::Relaxed),
        multi,
        qbuf,
        qbuf_free,
        argv_mem,
        multi_mem,
        rbs,
        rbp,
        obl,
        omem,
        tot_mem + omem,
        cmd,
        String::from_utf8_lossy(&c.user.lock()),
        c.resp.load(Ordering::Relaxed),
        c_str(&lib_name),
        c_str(&lib_ver),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attr_validation_is_redis_charset() {
        assert!(valid_attr(b"my-lib_1.0"));
        assert!(valid_attr(b""));
        assert!(!valid_attr(b"a b"));
        assert!(!valid_attr(b"a\nb"));
        assert!(!valid_attr("é".as_bytes()));
        assert!(!valid_attr(b"\x7f"));
        // Checked up to a NUL, like the C loop.
        assert!(valid_attr(b"ab\0 c"));
    }

    #[test]
    fn int32_arguments() {
        assert_eq!(int32_arg(b"5"), Ok(5));
        assert_eq!(int32_arg(b"x"), Err(ERR_NOT_INT));
        assert_eq!(
            int32_arg(b"4294967296"),
            Err("value is out of range, value must between -2147483648 and 2147483647")
        );
    }

    #[test]
    fn client_types() {
        assert_eq!(client_type(b"NORMAL"), Some("normal"));
        assert_eq!(client_type(b"replica"), Some("slave"));
        assert_eq!(client_type(b"slave"), Some("slave"));
        assert_eq!(client_type(b"pubsub"), Some("pubsub"));
        assert_eq!(client_type(b"master"), Some("master"));
        assert_eq!(client_type(b"x"), None);
    }

    #[test]
    fn subcommand_table() {
        for s in CLIENT_SUBCOMMANDS {
            assert!(s.name.starts_with("client|"), "{}", s.name);
            assert_eq!(s.group, "connection");
            assert!(!s.summary.is_empty());
            // Admin subcommands carry @admin and @dangerous, others not.
            assert_eq!(s.has(ADMIN), s.acl & acl::ADMIN != 0, "{}", s.name);
        }
    }
}
