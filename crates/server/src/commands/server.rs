//! Server commands: INFO, CONFIG, DBSIZE, TIME, SHUTDOWN, DEBUG.

use std::sync::atomic::Ordering;

use super::{acl, flags::*, CommandSpec};
use crate::dispatch::Ctx;
use crate::util::{int_arg, is};

pub static COMMANDS: &[CommandSpec] = &[
    CommandSpec::new(
        "dbsize",
        1,
        READONLY | FAST,
        acl::KEYSPACE | acl::READ | acl::FAST,
        dbsize,
    )
    .doc("server", "1.0.0", "Returns the number of keys in the database.", "O(1)")
    .tips(&["request_policy:all_shards", "response_policy:agg_sum"]),
    CommandSpec::new(
        "debug",
        -2,
        ADMIN | NOSCRIPT | LOADING | STALE | PROTECTED,
        acl::ADMIN | acl::SLOW | acl::DANGEROUS,
        debug,
    )
    .doc(
        "server",
        "1.0.0",
        "A container for debugging commands.",
        "Depends on subcommand.",
    ),
];

/// DEBUG's flag in Redis (protected by enable-debug-command).
const PROTECTED: u64 = 0;

fn dbsize(ctx: &mut Ctx<'_>, _args: &[&[u8]]) {
    let n = ctx.server.keyspace.dbsize(ctx.client.db);
    ctx.out.integer(n as i64);
}

fn debug_allowed(ctx: &Ctx<'_>) -> bool {
    let mode = ctx.server.config.read().enable_debug_command.clone();
    match mode.as_str() {
        "yes" => true,
        "local" => ctx.client.info.is_local(),
        _ => false,
    }
}

/// DEBUG: the subcommands tests rely on. `ADVANCE-CLOCK ms` is
/// Larder's own: it moves the server clock forward so TTL tests need no
/// sleeps.
fn debug(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    if !debug_allowed(ctx) {
        ctx.out.error("DEBUG command not allowed. If the enable-debug-command option is set to \"local\", you can run it from a local connection, otherwise you need to set this option in the configuration file, and then restart the server.");
        return;
    }
    let sub = args[1];
    if is(sub, "help") {
        let lines = [
            "DEBUG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
            "ADVANCE-CLOCK <milliseconds>",
            "    Move the server's clock forward (Larder only).",
            "SET-ACTIVE-EXPIRE <0|1>",
            "    Setting it to 0 disables expiring keys in background when they are not accessed.",
            "SLEEP <seconds>",
            "    Stop the server for <seconds>. Decimals allowed.",
            "HELP",
            "    Print this help.",
        ];
        ctx.out.array(lines.len());
        for l in lines {
            ctx.out.simple(l);
        }
    } else if is(sub, "advance-clock") && args.len() == 3 {
        match int_arg(args[2]) {
            Ok(ms) if ms >= 0 => {
                ctx.server.clock.advance(ms as u64);
                ctx.out.ok();
            }
            _ => ctx.out.error("value is not an integer or out of range"),
        }
    } else if is(sub, "set-active-expire") && args.len() == 3 {
        match int_arg(args[2]) {
            Ok(v) => {
                ctx.server.active_expire_enabled.store(v != 0, Ordering::Relaxed);
                ctx.out.ok();
            }
            Err(e) => ctx.out.error(e),
        }
    } else if is(sub, "sleep") && args.len() == 3 {
        let secs = crate::util::parse_f64(args[2]).unwrap_or(0.0).clamp(0.0, 3600.0);
        std::thread::sleep(std::time::Duration::from_secs_f64(secs));
        ctx.out.ok();
    } else {
        ctx.out.error(&format!(
            "unknown subcommand or wrong number of arguments for '{}'. Try DEBUG HELP.",
            String::from_utf8_lossy(sub)
        ));
    }
}
