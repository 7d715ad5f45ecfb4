//! EVAL, EVALSHA, EVAL_RO, EVALSHA_RO and SCRIPT (Redis's eval.c); the
//! engine is in `crate::scripting`.
//!
//! The EVAL family is `ALL_SHARDS`: a script may touch keys it did not
//! declare, and runs atomically with every shard locked.

use super::{acl, flags::*, BeginSearch, CommandSpec, FindKeys, KeySpec};
use crate::dispatch::Ctx;
use crate::util::is;

const EVAL_FLAGS: u64 = NOSCRIPT | STALE | SKIP_MONITOR | NO_MANDATORY_KEYS | MOVABLE_KEYS | ALL_SHARDS;
const SCRIPTING: u64 = acl::SLOW | acl::SCRIPTING;

const KEYS_RW: &[KeySpec] = &[KeySpec {
    begin: BeginSearch::IndexNoted {
        index: 2,
        notes: "We cannot tell how the keys will be used so we assume the worst, RW and UPDATE",
    },
    find: FindKeys::Keynum {
        keynum_idx: 0,
        first_key: 1,
        step: 1,
    },
    flags: &["RW", "ACCESS", "UPDATE"],
}];
const KEYS_RO: &[KeySpec] = &[KeySpec {
    begin: BeginSearch::IndexNoted {
        index: 2,
        notes: "We cannot tell how the keys will be used so we assume the worst, RO and ACCESS",
    },
    find: FindKeys::Keynum {
        keynum_idx: 0,
        first_key: 1,
        step: 1,
    },
    flags: &["RO", "ACCESS"],
}];

/// EVALSHA's and EVALSHA_RO's: the same without notes, as Redis.
const KEYS_RW_SHA: &[KeySpec] = &[KeySpec {
    begin: BeginSearch::Index(2),
    find: FindKeys::Keynum {
        keynum_idx: 0,
        first_key: 1,
        step: 1,
    },
    flags: &["RW", "ACCESS", "UPDATE"],
}];
const KEYS_RO_SHA: &[KeySpec] = &[KeySpec {
    begin: BeginSearch::Index(2),
    find: FindKeys::Keynum {
        keynum_idx: 0,
        first_key: 1,
        step: 1,
    },
    flags: &["RO", "ACCESS"],
}];

static SCRIPT_SUBCOMMANDS: &[CommandSpec] = &[
    CommandSpec::new("script|debug", 3, NOSCRIPT, SCRIPTING, script_debug).doc(
        "scripting",
        "3.2.0",
        "Sets the debug mode for server-side Lua scripts.",
        "O(1)",
    ),
    CommandSpec::new("script|exists", -3, NOSCRIPT, SCRIPTING, script_exists)
        .doc(
            "scripting",
            "2.6.0",
            "Determines whether server-side Lua scripts exist in the script cache.",
            "O(N) with N being the number of scripts to check (so checking a single script is an O(1) operation).",
        )
        .tips(&["request_policy:all_shards", "response_policy:agg_logical_and"]),
    CommandSpec::new("script|flush", -2, NOSCRIPT, SCRIPTING, script_flush)
        .doc(
            "scripting",
            "2.6.0",
            "Removes all server-side Lua scripts from the script cache.",
            "O(N) with N being the number of scripts in cache",
        )
        .tips(&["request_policy:all_nodes", "response_policy:all_succeeded"]),
    CommandSpec::new("script|help", 2, LOADING | STALE, SCRIPTING, script_help).doc(
        "scripting",
        "5.0.0",
        "Returns helpful text about the different subcommands.",
        "O(1)",
    ),
    CommandSpec::new("script|kill", 2, NOSCRIPT | ALLOW_BUSY, SCRIPTING, script_kill)
        .doc(
            "scripting",
            "2.6.0",
            "Terminates a server-side Lua script during execution.",
            "O(1)",
        )
        .tips(&["request_policy:all_shards", "response_policy:one_succeeded"]),
    CommandSpec::new("script|load", 3, NOSCRIPT | STALE, SCRIPTING, script_load)
        .doc(
            "scripting",
            "2.6.0",
            "Loads a server-side Lua script to the script cache.",
            "O(N) with N being the length in bytes of the script body.",
        )
        .tips(&["request_policy:all_nodes", "response_policy:all_succeeded"]),
];

pub static COMMANDS: &[CommandSpec] = &[
    CommandSpec::new("eval", -3, EVAL_FLAGS, SCRIPTING, eval)
        .keys(KEYS_RW)
        .doc(
            "scripting",
            "2.6.0",
            "Executes a server-side Lua script.",
            "Depends on the script that is executed.",
        ),
    CommandSpec::new("evalsha", -3, EVAL_FLAGS, SCRIPTING, evalsha)
        .keys(KEYS_RW_SHA)
        .doc(
            "scripting",
            "2.6.0",
            "Executes a server-side Lua script by SHA1 digest.",
            "Depends on the script that is executed.",
        ),
    CommandSpec::new("eval_ro", -3, READONLY | EVAL_FLAGS, SCRIPTING, eval_ro)
        .keys(KEYS_RO)
        .doc(
            "scripting",
            "7.0.0",
            "Executes a read-only server-side Lua script.",
            "Depends on the script that is executed.",
        ),
    CommandSpec::new("evalsha_ro", -3, READONLY | EVAL_FLAGS, SCRIPTING, evalsha_ro)
        .keys(KEYS_RO_SHA)
        .doc(
            "scripting",
            "7.0.0",
            "Executes a read-only server-side Lua script by SHA1 digest.",
            "Depends on the script that is executed.",
        ),
    CommandSpec::container("script", -2, acl::SLOW, SCRIPT_SUBCOMMANDS).doc(
        "scripting",
        "2.6.0",
        "A container for Lua scripts management commands.",
        "Depends on subcommand.",
    ),
];

fn eval(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    crate::scripting::eval(ctx, args, false, false);
}

fn evalsha(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    crate::scripting::eval(ctx, args, true, false);
}

fn eval_ro(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    crate::scripting::eval(ctx, args, false, true);
}

fn evalsha_ro(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    crate::scripting::eval(ctx, args, true, true);
}

fn script_exists(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    let scripting = &ctx.server.scripting;
    ctx.out.array(args.len() - 2);
    for a in &args[2..] {
        let sha = String::from_utf8_lossy(a);
        ctx.out.integer(i64::from(scripting.exists(&sha)));
    }
}

fn script_flush(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    match args.len() {
        2 => {}
        3 if is(args[2], "sync") || is(args[2], "async") => {}
        _ => return ctx.out.error("SCRIPT FLUSH only support SYNC|ASYNC option"),
    }
    ctx.server.scripting.flush();
    ctx.out.ok();
}

fn script_load(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    match ctx.server.scripting.load(args[2]) {
        Ok(sha) => ctx.out.bulk(sha.as_bytes()),
        Err(e) => ctx.out.error(&e),
    }
}

fn script_kill(ctx: &mut Ctx<'_>, _args: &[&[u8]]) {
    match ctx.server.scripting.kill() {
        Ok(()) => ctx.out.ok(),
        Err(e) => ctx.out.error(e),
    }
}

fn script_debug(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    if is(args[2], "no") {
        ctx.out.ok()
    } else if is(args[2], "yes") || is(args[2], "sync") {
        // Larder has no Lua debugger (LDB).
        ctx.out.error("SCRIPT DEBUG is not supported by this server")
    } else {
        ctx.out.error("Use SCRIPT DEBUG YES/SYNC/NO")
    }
}

fn script_help(ctx: &mut Ctx<'_>, _args: &[&[u8]]) {
    let lines = [
        "SCRIPT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "DEBUG (YES|SYNC|NO)",
        "    Set the debug mode for subsequent scripts executed.",
        "EXISTS <sha1> [<sha1> ...]",
        "    Return information about the existence of the scripts in the script cache.",
        "FLUSH [ASYNC|SYNC]",
        "    Flush the Lua scripts cache. Very dangerous on replicas.",
        "    When called without the optional mode argument, the behavior is determined by the",
        "    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
        "    * ASYNC: Asynchronously flush the scripts cache.",
        "    * SYNC: Synchronously flush the scripts cache.",
        "KILL",
        "    Kill the currently executing Lua script.",
        "LOAD <script>",
        "    Load a script into the scripts cache without executing it.",
        "HELP",
        "    Prints this help.",
    ];
    super::server::help_reply(ctx, &lines);
}
