//! DUMP and RESTORE (Redis's cluster.c): a key's value serialized in the
//! RDB format (`larder_engine::rdb`), as Redis 7.0 serializes it, so
//! payloads move between Larder and Redis in both directions.

use larder_engine::rdb;

use super::{acl, flags::*, CommandSpec, KeySpec};
use crate::dispatch::Ctx;
use crate::util::{is, parse_i64, ERR_NOT_INT, ERR_SYNTAX};

const KEY_DUMP: &[KeySpec] = &[KeySpec::single(1, &["RO", "ACCESS"])];
const KEY_RESTORE: &[KeySpec] = &[KeySpec::single(1, &["OW", "UPDATE"])];
const TIPS_NONDET: &[&str] = &["nondeterministic_output"];

pub static COMMANDS: &[CommandSpec] = &[
    CommandSpec::new("dump", 2, READONLY, acl::KEYSPACE | acl::READ | acl::SLOW, dump)
        .keys(KEY_DUMP)
        .doc(
            "generic",
            "2.6.0",
            "Returns a serialized representation of the value stored at a key.",
            "O(1) to access the key and additional O(N*M) to serialize it, where N is the number of Redis objects composing the value and M their average size. For small string values the time complexity is thus O(1)+O(1*M) where M is small, so simply O(1).",
        )
        .tips(TIPS_NONDET),
    CommandSpec::new(
        "restore",
        -4,
        WRITE | DENYOOM,
        acl::KEYSPACE | acl::WRITE | acl::SLOW | acl::DANGEROUS,
        restore,
    )
    .keys(KEY_RESTORE)
    .doc(
        "generic",
        "2.6.0",
        "Creates a key from the serialized representation of a value.",
        "O(1) to create the new key and additional O(N*M) to reconstruct the serialized value, where N is the number of Redis objects composing the value and M their average size. For small string values the time complexity is thus O(1)+O(1*M) where M is small, so simply O(1). However for sorted set values the complexity is O(N*M*log(N)) because inserting values into sorted sets is O(log(N)).",
    ),
];

fn dump(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    let key = args[1];
    let now = ctx.now;
    let touch = !ctx.client.no_touch;
    let compress = ctx.server.config.read().flag("rdbcompression", true);
    let (db, out) = ctx.db_out(key);
    match db.lookup_read(key, now, touch) {
        Some(e) => out.bulk(&rdb::dump_payload(e.value(), compress)),
        None => out.null(),
    }
}

fn restore(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    let key = args[1];
    let mut replace = false;
    let mut absttl = false;
    let mut idle: Option<i64> = None;
    let mut freq: Option<i64> = None;
    let mut j = 4;
    while j < args.len() {
        let more = j + 1 < args.len();
        if is(args[j], "replace") {
            replace = true;
        } else if is(args[j], "absttl") {
            absttl = true;
        } else if is(args[j], "idletime") && more && freq.is_none() {
            let Some(v) = parse_i64(args[j + 1]) else {
                return ctx.out.error(ERR_NOT_INT);
            };
            if v < 0 {
                return ctx.out.error("Invalid IDLETIME value, must be >= 0");
            }
            idle = Some(v);
            j += 1;
        } else if is(args[j], "freq") && more && idle.is_none() {
            let Some(v) = parse_i64(args[j + 1]) else {
                return ctx.out.error(ERR_NOT_INT);
            };
            if !(0..=255).contains(&v) {
                return ctx.out.error("Invalid FREQ value, must be >= 0 and <= 255");
            }
            freq = Some(v);
            j += 1;
        } else {
            return ctx.out.error(ERR_SYNTAX);
        }
        j += 1;
    }
    let now = ctx.now;
    if !replace && ctx.db(key).lookup_write(key, now).is_some() {
        return ctx.out.error("-BUSYKEY Target key name already exists.");
    }
    let Some(ttl) = parse_i64(args[2]) else {
        return ctx.out.error(ERR_NOT_INT);
    };
    if ttl < 0 {
        return ctx.out.error("Invalid TTL value, must be >= 0");
    }
    let skip_checksum = false;
    if !rdb::verify_payload(args[3], skip_checksum) {
        return ctx.out.error("DUMP payload version or checksum are wrong");
    }
    let limits = ctx.server.limits();
    let Ok(value) = rdb::restore_payload(args[3], &limits) else {
        return ctx.out.error("Bad data format");
    };
    let db = ctx.db(key);
    let deleted = replace && db.remove(key, now).is_some();
    let when = match ttl {
        0 => None,
        t if absttl => Some(t),
        t => Some(t.saturating_add(now as i64)),
    };
    if let Some(w) = when {
        if w <= now as i64 {
            // Already expired: nothing is created (the old key, if
            // replaced, is gone: Redis propagates a DEL).
            if deleted {
                ctx.dirty(1);
            }
            return ctx.out.ok();
        }
    }
    db.set(key, value, when.map(|w| w as u64), false, now);
    let idle_ms = idle.map(|s| (s as u64).saturating_mul(1000));
    db.set_access_data(key, idle_ms, freq.map(|f| f as u8), now);
    ctx.dirty(1);
    ctx.out.ok();
}
