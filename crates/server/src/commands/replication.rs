//! The replication commands a server without replicas can answer
//! honestly: ROLE (a master with no replicas), WAIT (no replica ever
//! acknowledges: 0, at once when none is wanted, else at the timeout) and
//! WAITAOF (7.2: waits until the connection's writes are fsynced to the
//! local AOF). The waiting itself is the connection's (`connection.rs`).

use super::{acl, flags::*, CommandSpec};
use crate::dispatch::Ctx;
use crate::util::parse_i64;

const TIPS_WAIT: &[&str] = &["request_policy:all_shards", "response_policy:agg_min"];

pub static COMMANDS: &[CommandSpec] = &[
    CommandSpec::new("role", 1, NOSCRIPT | LOADING | STALE | FAST, acl::ADMIN | acl::FAST | acl::DANGEROUS, role).doc(
        "server",
        "2.8.12",
        "Returns the replication role.",
        "O(1)",
    ),
    CommandSpec::new("wait", 3, NOSCRIPT, acl::SLOW | acl::CONNECTION, wait)
        .doc(
            "generic",
            "3.0.0",
            "Blocks until the asynchronous replication of all preceding write commands sent by the connection is completed.",
            "O(1)",
        )
        .tips(TIPS_WAIT),
    CommandSpec::new("waitaof", 4, NOSCRIPT, acl::SLOW | acl::CONNECTION, waitaof)
        .doc(
            "generic",
            "7.2.0",
            "Blocks until all of the preceding write commands sent by the connection are written to the append-only file of the master and/or replicas.",
            "O(1)",
        )
        .tips(TIPS_WAIT),
];

/// What a connection waits for after WAIT / WAITAOF.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReplWait {
    /// WAITAOF (else WAIT).
    pub aof: bool,
    /// The connection's last write (its AOF offset).
    pub woff: u64,
    /// WAITAOF 1 0: done as soon as `woff` is fsynced (with replicas
    /// wanted only the timeout ends the wait).
    pub until_local: bool,
    /// Server-clock deadline in ms (None: forever).
    pub deadline: Option<u64>,
    /// CLIENT REPLY OFF/SKIP was in force: the reply is dropped.
    pub silent: bool,
}

impl ReplWait {
    /// The reply when the wait ends now.
    pub fn reply(&self, server: &crate::server::Server, out: &mut larder_protocol::Reply) {
        if self.aof {
            out.array(2);
            out.integer(fsynced(server, self.woff) as i64);
            out.integer(0);
        } else {
            out.integer(0);
        }
    }
}

fn silent(ctx: &Ctx<'_>) -> bool {
    use crate::client::ReplyMode;
    matches!(ctx.client.reply_mode, ReplyMode::Off | ReplyMode::Skip)
}

fn role(ctx: &mut Ctx<'_>, _args: &[&[u8]]) {
    ctx.out.array(3);
    ctx.out.bulk(b"master");
    ctx.out.integer(0);
    ctx.out.array(0);
}

/// getTimeoutFromObjectOrReply in milliseconds: the server-clock deadline.
fn timeout_ms(ctx: &mut Ctx<'_>, arg: &[u8]) -> Result<Option<u64>, ()> {
    match parse_i64(arg) {
        None => {
            ctx.out.error("timeout is not an integer or out of range");
            Err(())
        }
        Some(t) if t < 0 => {
            ctx.out.error("timeout is negative");
            Err(())
        }
        Some(0) => Ok(None),
        Some(t) => Ok(Some(ctx.now.saturating_add(t as u64))),
    }
}

fn wait(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    let Some(wanted) = parse_i64(args[1]) else {
        return ctx.out.error("value is not an integer or out of range");
    };
    let Ok(deadline) = timeout_ms(ctx, args[2]) else {
        return;
    };
    // No replica ever acknowledges.
    if wanted <= 0 || ctx.client.deny_blocking {
        return ctx.out.integer(0);
    }
    ctx.client.repl_wait = Some(ReplWait {
        aof: false,
        woff: ctx.client.woff,
        until_local: false,
        deadline,
        silent: silent(ctx),
    });
}

/// Whether the AOF holds everything up to `offset` on disk (Redis's
/// `fsynced_reploff >= c->woff`; with the AOF off, nothing is).
pub fn fsynced(server: &crate::server::Server, offset: u64) -> bool {
    match server.aof.handle() {
        Some(aof) => aof.writer().progress().durable >= offset,
        None => false,
    }
}

fn waitaof(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    let numlocal = match parse_i64(args[1]) {
        None => return ctx.out.error("value is not an integer or out of range"),
        Some(n) if !(0..=1).contains(&n) => return ctx.out.error("value is out of range, must be between 0 and 1"),
        Some(n) => n,
    };
    let numreplicas = match parse_i64(args[2]) {
        None => return ctx.out.error("value is not an integer or out of range"),
        Some(n) if n < 0 => return ctx.out.error("value is out of range, must be positive"),
        Some(n) => n,
    };
    let Ok(deadline) = timeout_ms(ctx, args[3]) else {
        return;
    };
    if numlocal == 1 && !ctx.server.aof.is_on() {
        return ctx
            .out
            .error("WAITAOF cannot be used when numlocal is set but appendonly is disabled.");
    }
    let offset = ctx.client.woff;
    let local = fsynced(ctx.server, offset);
    if (numreplicas == 0 && (local || numlocal == 0)) || ctx.client.deny_blocking {
        ctx.out.array(2);
        ctx.out.integer(local as i64);
        ctx.out.integer(0);
        return;
    }
    ctx.client.repl_wait = Some(ReplWait {
        aof: true,
        woff: offset,
        until_local: numlocal == 1 && numreplicas == 0,
        deadline,
        silent: silent(ctx),
    });
}
