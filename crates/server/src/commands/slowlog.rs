//! SLOWLOG GET, LEN, RESET and HELP (Redis's slowlogCommand); the log
//! itself is `crate::slowlog`.

use super::{acl, flags::*, CommandSpec};
use crate::dispatch::Ctx;
use crate::util::parse_i64;

const TIPS_ALL_NODES: &[&str] = &["request_policy:all_nodes", "nondeterministic_output"];
const TIPS_LEN: &[&str] = &[
    "request_policy:all_nodes",
    "response_policy:agg_sum",
    "nondeterministic_output",
];
const TIPS_RESET: &[&str] = &["request_policy:all_nodes", "response_policy:all_succeeded"];
const ADMIN_ACL: u64 = acl::ADMIN | acl::SLOW | acl::DANGEROUS;

static SLOWLOG_SUBCOMMANDS: &[CommandSpec] = &[
    CommandSpec::new("slowlog|get", -2, ADMIN | LOADING | STALE, ADMIN_ACL, slowlog_get)
        .doc(
            "server",
            "2.2.12",
            "Returns the slow log's entries.",
            "O(N) where N is the number of entries returned",
        )
        .tips(TIPS_ALL_NODES),
    CommandSpec::new("slowlog|help", 2, LOADING | STALE, acl::SLOW, slowlog_help).doc(
        "server",
        "6.2.0",
        "Returns helpful text about the different subcommands.",
        "O(1)",
    ),
    CommandSpec::new("slowlog|len", 2, ADMIN | LOADING | STALE, ADMIN_ACL, slowlog_len)
        .doc(
            "server",
            "2.2.12",
            "Returns the number of entries in the slow log.",
            "O(1)",
        )
        .tips(TIPS_LEN),
    CommandSpec::new("slowlog|reset", 2, ADMIN | LOADING | STALE, ADMIN_ACL, slowlog_reset)
        .doc(
            "server",
            "2.2.12",
            "Clears all entries from the slow log.",
            "O(N) where N is the number of entries in the slowlog",
        )
        .tips(TIPS_RESET),
];

pub static COMMANDS: &[CommandSpec] = &[
    CommandSpec::container("slowlog", -2, acl::SLOW, SLOWLOG_SUBCOMMANDS).doc(
        "server",
        "2.2.12",
        "A container for slow log commands.",
        "Depends on subcommand.",
    ),
];

fn slowlog_get(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    let count = match args.get(2) {
        None => Some(10),
        // Redis's getRangeLongFromObjectOrReply with its own message, for
        // a non-number too.
        Some(a) => match parse_i64(a) {
            Some(-1) => None,
            Some(n) if n >= 0 => Some(n as usize),
            _ => return ctx.out.error("count should be greater than or equal to -1"),
        },
    };
    let entries = ctx.server.slowlog.get(count);
    let out = &mut *ctx.out;
    out.array(entries.len());
    for e in &entries {
        out.array(6);
        out.integer(e.id as i64);
        out.integer(e.time as i64);
        out.integer(e.usec as i64);
        out.array(e.args.len());
        for a in &e.args {
            out.bulk(a);
        }
        out.bulk(e.peer.as_bytes());
        out.bulk(e.name.as_bytes());
    }
}

fn slowlog_len(ctx: &mut Ctx<'_>, _args: &[&[u8]]) {
    ctx.out.integer(ctx.server.slowlog.len() as i64);
}

fn slowlog_reset(ctx: &mut Ctx<'_>, _args: &[&[u8]]) {
    ctx.server.slowlog.reset();
    ctx.out.ok();
}

fn slowlog_help(ctx: &mut Ctx<'_>, _args: &[&[u8]]) {
    let lines = [
        "SLOWLOG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "GET [<count>]",
        "    Return top <count> entries from the slowlog (default: 10, -1 mean all).",
        "    Entries are made of:",
        "    id, timestamp, time in microseconds, arguments array, client IP and port,",
        "    client name",
        "LEN",
        "    Return the length of the slowlog.",
        "RESET",
        "    Reset the slowlog.",
        "HELP",
        "    Prints this help.",
    ];
    super::server::help_reply(ctx, &lines);
}
