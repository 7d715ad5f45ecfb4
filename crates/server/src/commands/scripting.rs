//! EVAL, EVALSHA, EVAL_RO, EVALSHA_RO and SCRIPT (Redis's eval.c); the
//! engine is in `crate::scripting`.
//!
//! The EVAL family is `ALL_SHARDS`: a script may touch keys it did not
//! declare, and runs atomically with every shard locked.

use super::{acl, flags::*, BeginSearch, CommandSpec, FindKeys, KeySpec};
use crate::dispatch::Ctx;
use crate::util::is;

/// EVAL, EVALSHA, FCALL: may_replicate as in Redis (hidden from COMMAND
/// INFO; a script without flags is held by CLIENT PAUSE WRITE).
const EVAL_FLAGS: u64 = NOSCRIPT | STALE | SKIP_MONITOR | NO_MANDATORY_KEYS | MOVABLE_KEYS | ALL_SHARDS | MAY_REPLICATE;
/// The `_RO` variants: read-only, never replicating.
const RO_FLAGS: u64 = READONLY | (EVAL_FLAGS & !MAY_REPLICATE);
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

const ALL_SHARDS_OK: &[&str] = &["request_policy:all_shards", "response_policy:all_succeeded"];

static FUNCTION_SUBCOMMANDS: &[CommandSpec] = &[
    CommandSpec::new(
        "function|delete",
        3,
        WRITE | NOSCRIPT,
        acl::WRITE | SCRIPTING,
        function_delete,
    )
    .doc("scripting", "7.0.0", "Delete a function by name", "O(1)")
    .tips(ALL_SHARDS_OK),
    CommandSpec::new("function|dump", 2, NOSCRIPT, SCRIPTING, function_dump).doc(
        "scripting",
        "7.0.0",
        "Dump all functions into a serialized binary payload",
        "O(N) where N is the number of functions",
    ),
    CommandSpec::new(
        "function|flush",
        -2,
        WRITE | NOSCRIPT,
        acl::WRITE | SCRIPTING,
        function_flush,
    )
    .doc(
        "scripting",
        "7.0.0",
        "Deleting all functions",
        "O(N) where N is the number of functions deleted",
    )
    .tips(ALL_SHARDS_OK),
    CommandSpec::new("function|help", 2, LOADING | STALE, SCRIPTING, function_help).doc(
        "scripting",
        "7.0.0",
        "Show helpful text about the different subcommands",
        "O(1)",
    ),
    CommandSpec::new("function|kill", 2, NOSCRIPT | ALLOW_BUSY, SCRIPTING, function_kill)
        .doc(
            "scripting",
            "7.0.0",
            "Kill the function currently in execution.",
            "O(1)",
        )
        .tips(&["request_policy:all_shards", "response_policy:one_succeeded"]),
    CommandSpec::new("function|list", -2, NOSCRIPT, SCRIPTING, function_list)
        .doc(
            "scripting",
            "7.0.0",
            "List information about all the functions",
            "O(N) where N is the number of functions",
        )
        .tips(&["nondeterministic_output_order"]),
    CommandSpec::new(
        "function|load",
        -3,
        WRITE | DENYOOM | NOSCRIPT,
        acl::WRITE | SCRIPTING,
        function_load,
    )
    .doc(
        "scripting",
        "7.0.0",
        "Create a function with the given arguments (name, code, description)",
        "O(1) (considering compilation time is redundant)",
    )
    .tips(ALL_SHARDS_OK),
    CommandSpec::new(
        "function|restore",
        -3,
        WRITE | DENYOOM | NOSCRIPT,
        acl::WRITE | SCRIPTING,
        function_restore,
    )
    .doc(
        "scripting",
        "7.0.0",
        "Restore all the functions on the given payload",
        "O(N) where N is the number of functions on the payload",
    )
    .tips(ALL_SHARDS_OK),
    CommandSpec::new("function|stats", 2, NOSCRIPT | ALLOW_BUSY, SCRIPTING, function_stats)
        .doc(
            "scripting",
            "7.0.0",
            "Return information about the function currently running (name, description, duration)",
            "O(1)",
        )
        .tips(&[
            "nondeterministic_output",
            "request_policy:all_shards",
            "response_policy:special",
        ]),
];

pub static COMMANDS: &[CommandSpec] = &[
    CommandSpec::new("fcall", -3, EVAL_FLAGS, SCRIPTING, fcall)
        .keys(KEYS_RW)
        .doc(
            "scripting",
            "7.0.0",
            "Invoke a function",
            "Depends on the function that is executed.",
        ),
    CommandSpec::new("fcall_ro", -3, RO_FLAGS, SCRIPTING, fcall_ro)
        .keys(KEYS_RO)
        .doc(
            "scripting",
            "7.0.0",
            "Invoke a read-only function",
            "Depends on the function that is executed.",
        ),
    CommandSpec::container("function", -2, acl::SLOW, FUNCTION_SUBCOMMANDS).doc(
        "scripting",
        "7.0.0",
        "A container for function commands",
        "Depends on subcommand.",
    ),
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
    CommandSpec::new("eval_ro", -3, RO_FLAGS, SCRIPTING, eval_ro)
        .keys(KEYS_RO)
        .doc(
            "scripting",
            "7.0.0",
            "Executes a read-only server-side Lua script.",
            "Depends on the script that is executed.",
        ),
    CommandSpec::new("evalsha_ro", -3, RO_FLAGS, SCRIPTING, evalsha_ro)
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
    match ctx.server.scripting.kill(true) {
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

fn fcall(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    crate::scripting::functions::fcall(ctx, args, false);
}

fn fcall_ro(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    crate::scripting::functions::fcall(ctx, args, true);
}

fn function_load(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    let mut replace = false;
    let mut i = 2;
    while i < args.len() - 1 {
        if is(args[i], "replace") {
            replace = true;
            i += 1;
            continue;
        }
        return ctx
            .out
            .error(&format!("Unknown option given: {}", String::from_utf8_lossy(args[i])));
    }
    let sc = &ctx.server.scripting;
    match sc.functions.load(sc, args[args.len() - 1], replace) {
        Ok(name) => {
            ctx.dirty(1);
            ctx.out.bulk(name.as_bytes())
        }
        Err(e) => ctx.out.error(&e),
    }
}

fn function_delete(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    if ctx.server.scripting.functions.delete(&String::from_utf8_lossy(args[2])) {
        ctx.dirty(1);
        ctx.out.ok()
    } else {
        ctx.out.error("Library not found")
    }
}

fn function_flush(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    match args.len() {
        2 => {}
        3 if is(args[2], "sync") || is(args[2], "async") => {}
        _ => return ctx.out.error("FUNCTION FLUSH only supports SYNC|ASYNC option"),
    }
    ctx.server.scripting.functions.flush();
    ctx.dirty(1);
    ctx.out.ok();
}

fn function_kill(ctx: &mut Ctx<'_>, _args: &[&[u8]]) {
    match ctx.server.scripting.kill(false) {
        Ok(()) => ctx.out.ok(),
        Err(e) => ctx.out.error(e),
    }
}

fn function_dump(ctx: &mut Ctx<'_>, _args: &[&[u8]]) {
    let p = ctx.server.scripting.functions.dump();
    ctx.out.bulk(&p);
}

fn function_restore(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    use crate::scripting::functions::Policy;
    if args.len() > 4 {
        return ctx.out.error("syntax error");
    }
    let policy = match args.get(3) {
        None => Policy::Append,
        Some(a) if is(a, "flush") => Policy::Flush,
        Some(a) if is(a, "append") => Policy::Append,
        Some(a) if is(a, "replace") => Policy::Replace,
        Some(_) => {
            return ctx
                .out
                .error("Wrong restore policy given, value should be either FLUSH, APPEND or REPLACE.")
        }
    };
    let sc = &ctx.server.scripting;
    match sc.functions.restore(sc, args[2], policy) {
        Ok(()) => {
            ctx.dirty(1);
            ctx.out.ok()
        }
        Err(e) => ctx.out.error(&e),
    }
}

fn function_list(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    let mut with_code = false;
    let mut pattern: Option<&[u8]> = None;
    let mut i = 2;
    while i < args.len() {
        if !with_code && is(args[i], "withcode") {
            with_code = true;
        } else if pattern.is_none() && is(args[i], "libraryname") {
            if i >= args.len() - 1 {
                return ctx.out.error("library name argument was not given");
            }
            i += 1;
            pattern = Some(args[i]);
        } else {
            return ctx
                .out
                .error(&format!("Unknown argument {}", String::from_utf8_lossy(args[i])));
        }
        i += 1;
    }
    let libs: Vec<_> = ctx
        .server
        .scripting
        .functions
        .libraries()
        .into_iter()
        .filter(|l| pattern.is_none_or(|p| crate::glob::glob_match(p, l.name.as_bytes(), true)))
        .collect();
    let out = &mut *ctx.out;
    out.array(libs.len());
    for lib in &libs {
        out.map(if with_code { 4 } else { 3 });
        out.bulk_str("library_name");
        out.bulk_str(&lib.name);
        out.bulk_str("engine");
        out.bulk_str("LUA");
        out.bulk_str("functions");
        out.array(lib.functions.len());
        for f in &lib.functions {
            out.map(3);
            out.bulk_str("name");
            out.bulk_str(&f.name);
            out.bulk_str("description");
            out.bulk_or_null(f.description.as_deref());
            out.bulk_str("flags");
            let names = crate::scripting::functions::FLAG_NAMES;
            let set: Vec<&str> = (0..names.len())
                .filter(|i| f.flags & (1 << i) != 0)
                .map(|i| names[i])
                .collect();
            out.set(set.len());
            for n in set {
                out.simple(n);
            }
        }
        if with_code {
            out.bulk_str("library_code");
            out.bulk(&lib.code);
        }
    }
}

fn function_stats(ctx: &mut Ctx<'_>, _args: &[&[u8]]) {
    let server = ctx.server;
    let sc = &server.scripting;
    let running = sc.running_function();
    let (libs, fns) = sc.functions.counts();
    let out = &mut *ctx.out;
    out.map(2);
    out.bulk_str("running_script");
    match running {
        None => out.null(),
        Some((name, command, since)) => {
            out.map(3);
            out.bulk_str("name");
            out.bulk_str(&name);
            out.bulk_str("command");
            out.array(command.len());
            for a in &command {
                out.bulk(a);
            }
            out.bulk_str("duration_ms");
            out.integer(server.keyspace.now_ms().saturating_sub(since) as i64);
        }
    }
    out.bulk_str("engines");
    out.map(1);
    out.bulk_str("LUA");
    out.map(2);
    out.bulk_str("libraries_count");
    out.integer(libs as i64);
    out.bulk_str("functions_count");
    out.integer(fns as i64);
}

fn function_help(ctx: &mut Ctx<'_>, _args: &[&[u8]]) {
    let lines = [
        "FUNCTION <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "LOAD [REPLACE] <FUNCTION CODE>",
        "    Create a new library with the given library name and code.",
        "DELETE <LIBRARY NAME>",
        "    Delete the given library.",
        "LIST [LIBRARYNAME PATTERN] [WITHCODE]",
        "    Return general information on all the libraries:",
        "    * Library name",
        "    * The engine used to run the Library",
        "    * Library description",
        "    * Functions list",
        "    * Library code (if WITHCODE is given)",
        "    It also possible to get only function that matches a pattern using LIBRARYNAME argument.",
        "STATS",
        "    Return information about the current function running:",
        "    * Function name",
        "    * Command used to run the function",
        "    * Duration in MS that the function is running",
        "    If no function is running, return nil",
        "    In addition, returns a list of available engines.",
        "KILL",
        "    Kill the current running function.",
        "FLUSH [ASYNC|SYNC]",
        "    Delete all the libraries.",
        "    When called without the optional mode argument, the behavior is determined by the",
        "    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
        "    * ASYNC: Asynchronously flush the libraries.",
        "    * SYNC: Synchronously flush the libraries.",
        "DUMP",
        "    Return a serialized payload representing the current libraries, can be restored using FUNCTION RESTORE command",
        "RESTORE <PAYLOAD> [FLUSH|APPEND|REPLACE]",
        "    Restore the libraries represented by the given payload, it is possible to give a restore policy to",
        "    control how to handle existing libraries (default APPEND):",
        "    * FLUSH: delete all existing libraries.",
        "    * APPEND: appends the restored libraries to the existing libraries. On collision, abort.",
        "    * REPLACE: appends the restored libraries to the existing libraries, On collision, replace the old",
        "      libraries with the new libraries (notice that even on this option there is a chance of failure",
        "      in case of functions name collision with another library).",
        "HELP",
        "    Prints this help.",
    ];
    super::server::help_reply(ctx, &lines);
}
