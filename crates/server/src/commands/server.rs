//! Server commands: INFO, CONFIG, DBSIZE, FLUSHDB/FLUSHALL, TIME,
//! SHUTDOWN, DEBUG.

use super::{acl, flags::*, CommandSpec};
use crate::dispatch::Ctx;

pub static COMMANDS: &[CommandSpec] = &[CommandSpec::new(
    "dbsize",
    1,
    READONLY | FAST,
    acl::KEYSPACE | acl::READ | acl::FAST,
    dbsize,
)
.doc("server", "1.0.0", "Returns the number of keys in the database.", "O(1)")
.tips(&["request_policy:all_shards", "response_policy:agg_sum"])];

fn dbsize(ctx: &mut Ctx<'_>, _args: &[&[u8]]) {
    let n = ctx.server.keyspace.dbsize(ctx.client.db);
    ctx.out.integer(n as i64);
}
