//! Keyspace commands (Redis's db.c and expire.c).

use super::{acl, flags::*, CommandSpec, KeySpec};
use crate::dispatch::Ctx;

const KEYS_DEL: &[KeySpec] = &[KeySpec::range(1, -1, 1, &["RM", "DELETE"])];
const KEYS_RO: &[KeySpec] = &[KeySpec::range(1, -1, 1, &["RO"])];

pub static COMMANDS: &[CommandSpec] = &[
    CommandSpec::new("del", -2, WRITE, acl::KEYSPACE | acl::WRITE | acl::SLOW, del)
        .keys(KEYS_DEL)
        .doc(
            "generic",
            "1.0.0",
            "Deletes one or more keys.",
            "O(N) where N is the number of keys that will be removed.",
        ),
    CommandSpec::new(
        "exists",
        -2,
        READONLY | FAST,
        acl::KEYSPACE | acl::READ | acl::FAST,
        exists,
    )
    .keys(KEYS_RO)
    .doc(
        "generic",
        "1.0.0",
        "Determines whether one or more keys exist.",
        "O(N) where N is the number of keys to check.",
    ),
];

fn del(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    let now = ctx.now;
    let mut n = 0;
    for key in &args[1..] {
        if ctx.db(key).remove(key, now).is_some() {
            n += 1;
        }
    }
    ctx.dirty(n as u64);
    ctx.out.integer(n);
}

fn exists(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    let now = ctx.now;
    let mut n = 0;
    for key in &args[1..] {
        if ctx.db(key).contains(key, now) {
            n += 1;
        }
    }
    ctx.out.integer(n);
}
