//! COMMAND and its subcommands, answered from the command table: every
//! reply is built from the [`CommandSpec`]s dispatch itself uses.

use super::{acl, flags, flags::*, BeginSearch, CommandSpec, FindKeys, KeySpec};
use crate::dispatch::Ctx;
use crate::glob::glob_match;
use crate::util::{is, ERR_SYNTAX};

const SUB: u64 = LOADING | STALE;
const CAT: u64 = acl::SLOW | acl::CONNECTION;

static SUBCOMMANDS: &[CommandSpec] = &[
    CommandSpec::new("command|count", 2, SUB, CAT, command_count).doc(
        "server",
        "2.8.13",
        "Get total number of Redis commands",
        "O(1)",
    ),
    CommandSpec::new("command|docs", -2, SUB, CAT, command_docs)
        .doc(
            "server",
            "7.0.0",
            "Get array of specific Redis command documentation",
            "O(N) where N is the number of commands to look up",
        )
        .tips(&["nondeterministic_output_order"]),
    CommandSpec::new("command|getkeys", -3, SUB, CAT, command_getkeys).doc(
        "server",
        "2.8.13",
        "Extract keys given a full Redis command",
        "O(N) where N is the number of arguments to the command",
    ),
    CommandSpec::new("command|getkeysandflags", -3, SUB, CAT, command_getkeysandflags).doc(
        "server",
        "7.0.0",
        "Extract keys and access flags given a full Redis command",
        "O(N) where N is the number of arguments to the command",
    ),
    CommandSpec::new("command|help", 2, SUB, CAT, command_help).doc(
        "server",
        "5.0.0",
        "Show helpful text about the different subcommands",
        "O(1)",
    ),
    CommandSpec::new("command|info", -2, SUB, CAT, command_info)
        .doc(
            "server",
            "2.8.13",
            "Get array of specific Redis command details, or all when no argument is given.",
            "O(N) where N is the number of commands to look up",
        )
        .tips(&["nondeterministic_output_order"]),
    CommandSpec::new("command|list", -2, SUB, CAT, command_list)
        .doc(
            "server",
            "7.0.0",
            "Get an array of Redis command names",
            "O(N) where N is the total number of Redis commands",
        )
        .tips(&["nondeterministic_output_order"]),
];

pub static COMMANDS: &[CommandSpec] = &[{
    // COMMAND with no subcommand lists everything, so the container has
    // a handler of its own.
    let mut c = CommandSpec::container("command", -1, CAT, SUBCOMMANDS)
        .doc(
            "server",
            "2.8.13",
            "Get array of Redis command details",
            "O(N) where N is the total number of Redis commands",
        )
        .tips(&["nondeterministic_output_order"]);
    c.flags = SUB;
    c.handler = command_all;
    c
}];

/// Top-level specs, sorted by name (the table itself is a hash map).
fn top_level(ctx: &Ctx<'_>) -> Vec<&'static CommandSpec> {
    let mut v: Vec<&'static CommandSpec> = ctx.server.commands.commands.values().map(|c| c.spec).collect();
    v.sort_unstable_by_key(|s| s.name);
    v
}

/// Finds `name` (`get`, `CONFIG|GET`) in the table.
fn lookup(ctx: &Ctx<'_>, name: &[u8]) -> Option<&'static CommandSpec> {
    ctx.server.commands.lookup(name).map(|c| c.spec)
}

/// Flags as COMMAND shows them; movablekeys is derived from the key
/// specs as Redis does.
fn shown_flags(spec: &CommandSpec) -> Vec<&'static str> {
    let movable = spec.key_specs.iter().any(|ks| {
        !matches!(ks.begin, BeginSearch::Index(_) | BeginSearch::IndexNoted { .. })
            || !matches!(ks.find, FindKeys::Range { .. })
    });
    // may_replicate is hidden, as Redis hides it ("Hidden on purpose").
    flags::NAMES
        .iter()
        .filter(|(bit, _)| *bit != flags::MAY_REPLICATE)
        .filter(|(bit, _)| spec.flags & bit != 0 || (*bit == MOVABLE_KEYS && movable))
        .map(|(_, n)| *n)
        .collect()
}

/// ACL categories including the ones Redis implies from the flags.
pub fn categories(spec: &CommandSpec) -> u64 {
    let mut cats = spec.acl;
    if spec.has(WRITE) {
        cats |= acl::WRITE;
    }
    if spec.has(READONLY) && cats & acl::SCRIPTING == 0 {
        cats |= acl::READ;
    }
    if spec.has(ADMIN) {
        cats |= acl::ADMIN | acl::DANGEROUS;
    }
    if spec.has(PUBSUB) {
        cats |= acl::PUBSUB;
    }
    if spec.has(FAST) {
        cats |= acl::FAST;
    }
    if spec.has(BLOCKING) {
        cats |= acl::BLOCKING;
    }
    if cats & acl::FAST == 0 {
        cats |= acl::SLOW;
    }
    cats
}

/// Key-spec flags in Redis's order and spelling.
const KEY_FLAGS: &[&str] = &[
    "RO",
    "RW",
    "OW",
    "RM",
    "access",
    "update",
    "insert",
    "delete",
    "not_key",
    "incomplete",
    "variable_flags",
];

fn key_flags(ks: &KeySpec) -> Vec<&'static str> {
    KEY_FLAGS
        .iter()
        .filter(|f| ks.flags.iter().any(|g| g.eq_ignore_ascii_case(f)))
        .copied()
        .collect()
}

fn reply_key_spec(ctx: &mut Ctx<'_>, ks: &KeySpec) {
    let out = &mut *ctx.out;
    if let BeginSearch::Unknown { notes } | BeginSearch::IndexNoted { notes, .. } = ks.begin {
        out.map(4);
        out.bulk_str("notes");
        out.bulk_str(notes);
    } else {
        out.map(3);
    }
    out.bulk_str("flags");
    let fl = key_flags(ks);
    out.set(fl.len());
    for f in fl {
        out.simple(f);
    }
    out.bulk_str("begin_search");
    out.map(2);
    out.bulk_str("type");
    match ks.begin {
        BeginSearch::Index(i) | BeginSearch::IndexNoted { index: i, .. } => {
            out.bulk_str("index");
            out.bulk_str("spec");
            out.map(1);
            out.bulk_str("index");
            out.integer(i as i64);
        }
        BeginSearch::Keyword { keyword, start_from } => {
            out.bulk_str("keyword");
            out.bulk_str("spec");
            out.map(2);
            out.bulk_str("keyword");
            out.bulk_str(keyword);
            out.bulk_str("startfrom");
            out.integer(start_from as i64);
        }
        BeginSearch::Unknown { .. } => {
            out.bulk_str("unknown");
            out.bulk_str("spec");
            out.map(0);
        }
    }
    out.bulk_str("find_keys");
    out.map(2);
    out.bulk_str("type");
    match ks.find {
        FindKeys::Range { last_key, step, limit } => {
            out.bulk_str("range");
            out.bulk_str("spec");
            out.map(3);
            out.bulk_str("lastkey");
            out.integer(last_key as i64);
            out.bulk_str("keystep");
            out.integer(step as i64);
            out.bulk_str("limit");
            out.integer(limit as i64);
        }
        FindKeys::Keynum {
            keynum_idx,
            first_key,
            step,
        } => {
            out.bulk_str("keynum");
            out.bulk_str("spec");
            out.map(3);
            out.bulk_str("keynumidx");
            out.integer(keynum_idx as i64);
            out.bulk_str("firstkey");
            out.integer(first_key as i64);
            out.bulk_str("keystep");
            out.integer(step as i64);
        }
        FindKeys::Unknown | FindKeys::Proc(_) => {
            out.bulk_str("unknown");
            out.bulk_str("spec");
            out.map(0);
        }
    }
}

/// One command's COMMAND INFO entry (Redis 7: ten fields).
fn reply_info(ctx: &mut Ctx<'_>, spec: &CommandSpec) {
    ctx.out.array(10);
    ctx.out.bulk_str(spec.name);
    ctx.out.integer(spec.arity as i64);
    let fl = shown_flags(spec);
    ctx.out.set(fl.len());
    for f in fl {
        ctx.out.simple(f);
    }
    let (first, last, step) = spec.legacy_range();
    ctx.out.integer(first as i64);
    ctx.out.integer(last as i64);
    ctx.out.integer(step as i64);
    let cats = categories(spec);
    let names: Vec<&str> = acl::NAMES
        .iter()
        .filter(|(b, _)| cats & b != 0)
        .map(|(_, n)| *n)
        .collect();
    ctx.out.set(names.len());
    for n in names {
        ctx.out.simple(&format!("@{n}"));
    }
    ctx.out.set(spec.tips.len());
    for t in spec.tips {
        ctx.out.bulk_str(t);
    }
    ctx.out.set(spec.key_specs.len());
    for ks in spec.key_specs {
        reply_key_spec(ctx, ks);
    }
    if spec.subcommands.is_empty() {
        ctx.out.set(0);
    } else {
        let mut subs: Vec<&CommandSpec> = spec.subcommands.iter().collect();
        subs.sort_unstable_by_key(|s| s.name);
        ctx.out.array(subs.len());
        for s in subs {
            reply_info(ctx, s);
        }
    }
}

/// One command's COMMAND DOCS entry: a map of its documentation.
fn reply_docs(ctx: &mut Ctx<'_>, spec: &CommandSpec) {
    let doc = super::docs::lookup(spec.name);
    let n = 1
        + usize::from(!spec.summary.is_empty())
        + usize::from(!spec.since.is_empty())
        + usize::from(!spec.complexity.is_empty())
        + doc.map_or(0, |d| d.fields())
        + usize::from(!spec.subcommands.is_empty());
    ctx.out.map(n);
    if !spec.summary.is_empty() {
        ctx.out.bulk_str("summary");
        ctx.out.bulk_str(spec.summary);
    }
    if !spec.since.is_empty() {
        ctx.out.bulk_str("since");
        ctx.out.bulk_str(spec.since);
    }
    ctx.out.bulk_str("group");
    ctx.out.bulk_str(spec.group);
    if !spec.complexity.is_empty() {
        ctx.out.bulk_str("complexity");
        ctx.out.bulk_str(spec.complexity);
    }
    if let Some(d) = doc {
        d.reply(ctx.out);
    }
    if !spec.subcommands.is_empty() {
        ctx.out.bulk_str("subcommands");
        let mut subs: Vec<&CommandSpec> = spec.subcommands.iter().collect();
        subs.sort_unstable_by_key(|s| s.name);
        ctx.out.map(subs.len());
        for s in subs {
            ctx.out.bulk_str(s.name);
            reply_docs(ctx, s);
        }
    }
}

fn command_all(ctx: &mut Ctx<'_>, _args: &[&[u8]]) {
    let all = top_level(ctx);
    ctx.out.array(all.len());
    for s in all {
        reply_info(ctx, s);
    }
}

fn command_count(ctx: &mut Ctx<'_>, _args: &[&[u8]]) {
    let n = ctx.server.commands.commands.len();
    ctx.out.integer(n as i64);
}

fn command_info(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    if args.len() == 2 {
        return command_all(ctx, args);
    }
    ctx.out.array(args.len() - 2);
    for name in &args[2..] {
        match lookup(ctx, name) {
            Some(spec) => reply_info(ctx, spec),
            None => ctx.out.null(),
        }
    }
}

fn command_docs(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    let specs: Vec<&'static CommandSpec> = if args.len() == 2 {
        top_level(ctx)
    } else {
        args[2..].iter().filter_map(|n| lookup(ctx, n)).collect()
    };
    ctx.out.map(specs.len());
    for s in specs {
        ctx.out.bulk_str(s.name);
        reply_docs(ctx, s);
    }
}

enum Filter<'a> {
    None,
    Module,
    AclCat(&'a [u8]),
    Pattern(&'a [u8]),
}

fn command_list(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    let mut filter = Filter::None;
    let mut i = 2;
    while i < args.len() {
        let more = args.len() - 1 - i;
        if is(args[i], "filterby") && more == 2 {
            let (kind, arg) = (args[i + 1], args[i + 2]);
            filter = if is(kind, "module") {
                Filter::Module
            } else if is(kind, "aclcat") {
                Filter::AclCat(arg)
            } else if is(kind, "pattern") {
                Filter::Pattern(arg)
            } else {
                ctx.out.error(ERR_SYNTAX);
                return;
            };
            i += 3;
        } else {
            ctx.out.error(ERR_SYNTAX);
            return;
        }
    }
    let mut names: Vec<&'static str> = Vec::new();
    let top = top_level(ctx);
    match filter {
        // Subcommands too, as Redis's commandListWithoutFilter.
        Filter::None => {
            for s in &top {
                names.extend(std::iter::once(*s).chain(s.subcommands.iter()).map(|c| c.name));
            }
        }
        // No modules can be loaded.
        Filter::Module => {}
        Filter::AclCat(cat) => {
            let bit = acl::NAMES
                .iter()
                .find(|(_, n)| cat.eq_ignore_ascii_case(n.as_bytes()))
                .map(|(b, _)| *b);
            if let Some(bit) = bit {
                for s in &top {
                    for c in std::iter::once(*s).chain(s.subcommands.iter()) {
                        if categories(c) & bit != 0 {
                            names.push(c.name);
                        }
                    }
                }
            }
        }
        Filter::Pattern(p) => {
            for s in &top {
                for c in std::iter::once(*s).chain(s.subcommands.iter()) {
                    if glob_match(p, c.name.as_bytes(), true) {
                        names.push(c.name);
                    }
                }
            }
        }
    }
    ctx.out.array(names.len());
    for n in names {
        ctx.out.bulk_str(n);
    }
}

/// The command named by `args` (`get k`, `config get x`): a container
/// with a subcommand argument resolves to the subcommand.
fn resolve(ctx: &Ctx<'_>, args: &[&[u8]]) -> Option<&'static CommandSpec> {
    let base = ctx.server.commands.get(args.first()?)?;
    if base.subcommands.is_empty() || args.len() == 1 {
        return Some(base.spec);
    }
    let sub = String::from_utf8_lossy(args[1]).to_ascii_lowercase();
    base.subcommands.get(sub.as_str()).map(|c| c.spec)
}

/// Shared work of GETKEYS and GETKEYSANDFLAGS: the keys' positions, each
/// with its key spec; `None` when an error was replied.
fn keys_of(ctx: &mut Ctx<'_>, args: &[&[u8]]) -> Option<Vec<(usize, &'static KeySpec)>> {
    let cmd = &args[2..];
    let Some(spec) = resolve(ctx, cmd) else {
        ctx.out.error("Invalid command specified");
        return None;
    };
    // Key specs flagged not_key (shard channels) name no keys, as
    // Redis's doesCommandHaveKeys.
    let is_key = |ks: &&KeySpec| !ks.flags.iter().any(|f| f.eq_ignore_ascii_case("not_key"));
    if !spec.key_specs.iter().any(|ks| is_key(&ks)) {
        ctx.out.error("The command has no key arguments");
        return None;
    }
    let argc = cmd.len() as i32;
    if (spec.arity > 0 && spec.arity != argc) || argc < -spec.arity {
        ctx.out.error("Invalid number of arguments specified for command");
        return None;
    }
    let mut found = Vec::new();
    let mut pos = Vec::new();
    for ks in spec.key_specs.iter().filter(is_key) {
        pos.clear();
        ks.positions(cmd, &mut pos);
        found.extend(pos.iter().map(|&p| (p, ks)));
    }
    if found.is_empty() && !spec.has(NO_MANDATORY_KEYS) {
        ctx.out.error("Invalid arguments specified for command");
        return None;
    }
    Some(found)
}

fn command_getkeys(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    let Some(keys) = keys_of(ctx, args) else { return };
    ctx.out.array(keys.len());
    for (p, _) in keys {
        ctx.out.bulk(args[2 + p]);
    }
}

fn command_getkeysandflags(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    let Some(keys) = keys_of(ctx, args) else { return };
    ctx.out.array(keys.len());
    for (p, ks) in keys {
        ctx.out.array(2);
        ctx.out.bulk(args[2 + p]);
        let fl = key_flags(ks);
        ctx.out.set(fl.len());
        for f in fl {
            ctx.out.simple(f);
        }
    }
}

fn command_help(ctx: &mut Ctx<'_>, _args: &[&[u8]]) {
    let lines = [
        "COMMAND <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "(no subcommand)",
        "    Return details about all Redis commands.",
        "COUNT",
        "    Return the total number of commands in this Redis server.",
        "LIST",
        "    Return a list of all commands in this Redis server.",
        "INFO [<command-name> ...]",
        "    Return details about multiple Redis commands.",
        "    If no command names are given, documentation details for all",
        "    commands are returned.",
        "DOCS [<command-name> ...]",
        "    Return documentation details about multiple Redis commands.",
        "    If no command names are given, documentation details for all",
        "    commands are returned.",
        "GETKEYS <full-command>",
        "    Return the keys from a full Redis command.",
        "GETKEYSANDFLAGS <full-command>",
        "    Return the keys and the access flags from a full Redis command.",
        "HELP",
        "    Prints this help.",
    ];
    super::server::help_reply(ctx, &lines);
}
