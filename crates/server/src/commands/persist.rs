//! SAVE, BGSAVE and LASTSAVE (Redis's rdb.c commands) on `persist.rs`;
//! BGREWRITEAOF on `appendonly.rs`.

use super::{acl, flags::*, CommandSpec};
use crate::dispatch::Ctx;
use crate::persist::{self, SaveError};
use crate::util::{is, ERR_SYNTAX};

pub static COMMANDS: &[CommandSpec] = &[
    CommandSpec::new(
        "save",
        1,
        ADMIN | NOSCRIPT | NO_ASYNC_LOADING | NO_MULTI,
        acl::ADMIN | acl::SLOW | acl::DANGEROUS,
        save,
    )
    .doc(
        "server",
        "1.0.0",
        "Synchronously saves the database(s) to disk.",
        "O(N) where N is the total number of keys in all databases",
    ),
    CommandSpec::new(
        "bgsave",
        -1,
        ADMIN | NOSCRIPT | NO_ASYNC_LOADING,
        acl::ADMIN | acl::SLOW | acl::DANGEROUS,
        bgsave,
    )
    .doc(
        "server",
        "1.0.0",
        "Asynchronously saves the database(s) to disk.",
        "O(1)",
    ),
    CommandSpec::new(
        "bgrewriteaof",
        1,
        ADMIN | NOSCRIPT | NO_ASYNC_LOADING,
        acl::ADMIN | acl::SLOW | acl::DANGEROUS,
        bgrewriteaof,
    )
    .doc(
        "server",
        "1.0.0",
        "Asynchronously rewrites the append-only file to disk.",
        "O(1)",
    ),
    CommandSpec::new(
        "lastsave",
        1,
        LOADING | STALE | FAST,
        acl::ADMIN | acl::FAST | acl::DANGEROUS,
        lastsave,
    )
    .doc(
        "server",
        "1.0.0",
        "Returns the Unix timestamp of the last successful save to disk.",
        "O(1)",
    )
    .tips(&["nondeterministic_output"]),
];

/// SAVE: the snapshot is written on this connection's thread; other
/// clients keep being served.
fn save(ctx: &mut Ctx<'_>, _args: &[&[u8]]) {
    if ctx.server.persist.bgsave_in_progress() || ctx.server.keyspace.snapshot_in_progress() {
        return ctx.out.error("Background save already in progress");
    }
    match persist::save(ctx.server) {
        Ok(_) => ctx.out.ok(),
        Err(SaveError::Busy) => ctx.out.error("Background save already in progress"),
        Err(_) => ctx.out.error("-ERR"),
    }
}

/// BGSAVE [SCHEDULE] (bgsaveCommand).
fn bgsave(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    let schedule = match args.len() {
        1 => false,
        2 if is(args[1], "schedule") => true,
        _ => return ctx.out.error(ERR_SYNTAX),
    };
    let server = ctx.server;
    if server.persist.bgsave_in_progress() {
        return ctx.out.error("Background save already in progress");
    }
    if server.keyspace.snapshot_in_progress() || server.aof.rewrite_in_progress() || ctx.client.tx.in_exec {
        // Another snapshot (an AOF rewrite) runs, or we are inside EXEC,
        // which holds every shard: start when possible.
        if schedule || ctx.client.tx.in_exec {
            persist::schedule_bgsave(server);
            return ctx.out.simple("Background saving scheduled");
        }
        return ctx.out.error(
            "Another child process is active (AOF?): can't BGSAVE right now. Use BGSAVE SCHEDULE in order to schedule a BGSAVE whenever possible.",
        );
    }
    match server.arc().map(|s| persist::bgsave(&s)) {
        Some(Ok(())) => ctx.out.simple("Background saving started"),
        Some(Err(SaveError::Busy)) => ctx.out.error("Background save already in progress"),
        _ => ctx.out.error("-ERR"),
    }
}

/// BGREWRITEAOF (bgrewriteaofCommand).
fn bgrewriteaof(ctx: &mut Ctx<'_>, _args: &[&[u8]]) {
    let server = ctx.server;
    if server.aof.rewrite_in_progress() {
        return ctx
            .out
            .error("Background append only file rewriting already in progress");
    }
    if server.keyspace.snapshot_in_progress() || server.persist.bgsave_in_progress() || ctx.client.tx.in_exec {
        crate::appendonly::schedule_rewrite(server);
        return ctx.out.simple("Background append only file rewriting scheduled");
    }
    match server.arc().map(|s| crate::appendonly::start_rewrite(&s)) {
        Some(Ok(())) => ctx.out.simple("Background append only file rewriting started"),
        _ => ctx
            .out
            .error("Can't execute an AOF background rewriting. Please check the server logs for more information."),
    }
}

fn lastsave(ctx: &mut Ctx<'_>, _args: &[&[u8]]) {
    ctx.out.integer(ctx.server.persist.last_save() as i64);
}
