//! Hash commands (Redis's t_hash.c): HSET, HSETNX, HMSET, HGET, HMGET,
//! HDEL, HLEN, HSTRLEN, HEXISTS, HKEYS, HVALS, HGETALL, HINCRBY,
//! HINCRBYFLOAT, HRANDFIELD and HSCAN.

use larder_engine::types::Hash;
use larder_engine::{Db, Value};
use larder_protocol::Reply;
use rand::Rng;

use super::keyspace::{parse_cursor, ScanOptions};
use super::string::ld::Ld;
use super::{acl, flags::*, CommandSpec, KeySpec};
use crate::dispatch::Ctx;
use crate::util::{int_arg, is, parse_i64, ERR_NOT_FLOAT, ERR_NOT_INT, ERR_OVERFLOW, ERR_SYNTAX, ERR_WRONGTYPE};

const KEY_RW_UPDATE: &[KeySpec] = &[KeySpec::single(1, &["RW", "UPDATE"])];
const KEY_RW_INSERT: &[KeySpec] = &[KeySpec::single(1, &["RW", "INSERT"])];
const KEY_RW_DELETE: &[KeySpec] = &[KeySpec::single(1, &["RW", "DELETE"])];
const KEY_RW_ACCESS_UPDATE: &[KeySpec] = &[KeySpec::single(1, &["RW", "ACCESS", "UPDATE"])];
const KEY_RO: &[KeySpec] = &[KeySpec::single(1, &["RO"])];
const KEY_RO_ACCESS: &[KeySpec] = &[KeySpec::single(1, &["RO", "ACCESS"])];

const TIPS_ORDER: &[&str] = &["nondeterministic_output_order"];
const TIPS_NONDET: &[&str] = &["nondeterministic_output"];
const SIZE_COMPLEXITY: &str = "O(N) where N is the size of the hash.";

pub static COMMANDS: &[CommandSpec] = &[
    CommandSpec::new("hset", -4, WRITE | DENYOOM | FAST, acl::WRITE | acl::HASH | acl::FAST, hset)
        .keys(KEY_RW_UPDATE)
        .doc(
            "hash",
            "2.0.0",
            "Creates or modifies the value of a field in a hash.",
            "O(1) for each field/value pair added, so O(N) to add N field/value pairs when the command is called with multiple field/value pairs.",
        ),
    CommandSpec::new("hsetnx", 4, WRITE | DENYOOM | FAST, acl::WRITE | acl::HASH | acl::FAST, hsetnx)
        .keys(KEY_RW_INSERT)
        .doc(
            "hash",
            "2.0.0",
            "Sets the value of a field in a hash only when the field doesn't exist.",
            "O(1)",
        ),
    CommandSpec::new("hmset", -4, WRITE | DENYOOM | FAST, acl::WRITE | acl::HASH | acl::FAST, hmset)
        .keys(KEY_RW_UPDATE)
        .doc(
            "hash",
            "2.0.0",
            "Sets the values of multiple fields.",
            "O(N) where N is the number of fields being set.",
        ),
    CommandSpec::new("hget", 3, READONLY | FAST, acl::READ | acl::HASH | acl::FAST, hget)
        .keys(KEY_RO_ACCESS)
        .doc("hash", "2.0.0", "Returns the value of a field in a hash.", "O(1)"),
    CommandSpec::new("hmget", -3, READONLY | FAST, acl::READ | acl::HASH | acl::FAST, hmget)
        .keys(KEY_RO_ACCESS)
        .doc(
            "hash",
            "2.0.0",
            "Returns the values of all fields in a hash.",
            "O(N) where N is the number of fields being requested.",
        ),
    CommandSpec::new("hdel", -3, WRITE | FAST, acl::WRITE | acl::HASH | acl::FAST, hdel)
        .keys(KEY_RW_DELETE)
        .doc(
            "hash",
            "2.0.0",
            "Deletes one or more fields and their values from a hash. Deletes the hash if no fields remain.",
            "O(N) where N is the number of fields to be removed.",
        ),
    CommandSpec::new("hlen", 2, READONLY | FAST, acl::READ | acl::HASH | acl::FAST, hlen)
        .keys(KEY_RO)
        .doc("hash", "2.0.0", "Returns the number of fields in a hash.", "O(1)"),
    CommandSpec::new("hstrlen", 3, READONLY | FAST, acl::READ | acl::HASH | acl::FAST, hstrlen)
        .keys(KEY_RO)
        .doc("hash", "3.2.0", "Returns the length of the value of a field.", "O(1)"),
    CommandSpec::new("hexists", 3, READONLY | FAST, acl::READ | acl::HASH | acl::FAST, hexists)
        .keys(KEY_RO)
        .doc("hash", "2.0.0", "Determines whether a field exists in a hash.", "O(1)"),
    CommandSpec::new("hkeys", 2, READONLY, acl::READ | acl::HASH | acl::SLOW, hkeys)
        .keys(KEY_RO_ACCESS)
        .doc("hash", "2.0.0", "Returns all fields in a hash.", SIZE_COMPLEXITY)
        .tips(TIPS_ORDER),
    CommandSpec::new("hvals", 2, READONLY, acl::READ | acl::HASH | acl::SLOW, hvals)
        .keys(KEY_RO_ACCESS)
        .doc("hash", "2.0.0", "Returns all values in a hash.", SIZE_COMPLEXITY)
        .tips(TIPS_ORDER),
    CommandSpec::new("hgetall", 2, READONLY, acl::READ | acl::HASH | acl::SLOW, hgetall)
        .keys(KEY_RO_ACCESS)
        .doc("hash", "2.0.0", "Returns all fields and values in a hash.", SIZE_COMPLEXITY)
        .tips(TIPS_ORDER),
    CommandSpec::new("hincrby", 4, WRITE | DENYOOM | FAST, acl::WRITE | acl::HASH | acl::FAST, hincrby)
        .keys(KEY_RW_ACCESS_UPDATE)
        .doc(
            "hash",
            "2.0.0",
            "Increments the integer value of a field in a hash by a number. Uses 0 as initial value if the field doesn't exist.",
            "O(1)",
        ),
    CommandSpec::new(
        "hincrbyfloat",
        4,
        WRITE | DENYOOM | FAST,
        acl::WRITE | acl::HASH | acl::FAST,
        hincrbyfloat,
    )
    .keys(KEY_RW_ACCESS_UPDATE)
    .doc(
        "hash",
        "2.6.0",
        "Increments the floating point value of a field by a number. Uses 0 as initial value if the field doesn't exist.",
        "O(1)",
    ),
    CommandSpec::new("hrandfield", -2, READONLY, acl::READ | acl::HASH | acl::SLOW, hrandfield)
        .keys(KEY_RO_ACCESS)
        .doc(
            "hash",
            "6.2.0",
            "Returns one or more random fields from a hash.",
            "O(N) where N is the number of fields returned",
        )
        .tips(TIPS_NONDET),
    CommandSpec::new("hscan", -3, READONLY, acl::READ | acl::HASH | acl::SLOW, hscan)
        .keys(KEY_RO_ACCESS)
        .doc(
            "hash",
            "2.8.0",
            "Iterates over fields and values of a hash.",
            "O(1) for every call. O(N) for a complete iteration, including enough command calls for the cursor to return back to 0. N is the number of elements inside the collection..",
        )
        .tips(TIPS_NONDET),
];

const ERR_HASH_NOT_INT: &str = "hash value is not an integer";
const ERR_HASH_NOT_FLOAT: &str = "hash value is not a float";

/// What a read lookup found.
enum Found<'a> {
    Missing,
    WrongType,
    Hash(&'a Hash),
}

/// Redis's lookupKeyRead + checkType for a hash: counts a hit or miss.
fn read<'d>(db: &'d mut Db, key: &[u8], now: u64, touch: bool) -> Found<'d> {
    match db.lookup_read(key, now, touch).map(|e| e.value()) {
        None => Found::Missing,
        Some(Value::Hash(h)) => Found::Hash(h),
        Some(_) => Found::WrongType,
    }
}

/// Reads the hash at `args[1]` and hands it with the reply to `f`;
/// replies `missing` for a missing key and WRONGTYPE for another type.
fn with_hash(ctx: &mut Ctx<'_>, key: &[u8], missing: impl FnOnce(&mut Reply), f: impl FnOnce(&Hash, &mut Reply)) {
    let now = ctx.now;
    let touch = !ctx.client.no_touch;
    let (db, out) = ctx.db_out(key);
    match read(db, key, now, touch) {
        Found::Missing => missing(out),
        Found::WrongType => out.error(ERR_WRONGTYPE),
        Found::Hash(h) => f(h, out),
    }
}

/// Redis's hashTypeLookupWriteOrCreate, split in two: whether the key is
/// a hash (Ok(true)), missing (Ok(false)), or of another type.
fn check_write(db: &mut Db, key: &[u8], now: u64) -> Result<bool, ()> {
    match db.lookup_write(key, now).map(|e| e.value()) {
        None => Ok(false),
        Some(Value::Hash(_)) => Ok(true),
        Some(_) => Err(()),
    }
}

/// The hash at `key` for writing, created empty if missing. The caller
/// has checked the type with [`check_write`].
fn hash_mut<'d>(db: &'d mut Db, key: &[u8], now: u64) -> Option<&'d mut Hash> {
    if db.lookup_write(key, now).is_none() {
        db.set(key, Value::Hash(Box::default()), None, false, now);
    }
    match db.lookup_write(key, now).map(|e| e.value_mut()) {
        Some(Value::Hash(h)) => Some(h),
        _ => None,
    }
}

// ---------------------------------------------------------------------
// HSET, HMSET, HSETNX

fn hset(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    hset_generic(ctx, args, false);
}

fn hmset(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    hset_generic(ctx, args, true);
}

fn hset_generic(ctx: &mut Ctx<'_>, args: &[&[u8]], hmset: bool) {
    if args.len() % 2 == 1 {
        let name = if hmset { "hmset" } else { "hset" };
        return ctx
            .out
            .error(&format!("wrong number of arguments for '{name}' command"));
    }
    let key = args[1];
    let now = ctx.now;
    let limits = ctx.server.limits();
    let (db, out) = ctx.db_out(key);
    if check_write(db, key, now).is_err() {
        return out.error(ERR_WRONGTYPE);
    }
    let Some(h) = hash_mut(db, key, now) else {
        return out.error(ERR_WRONGTYPE);
    };
    h.prepare_for(&args[2..], &limits);
    let mut created = 0;
    for pair in args[2..].chunks_exact(2) {
        if h.insert(pair[0], pair[1], &limits) {
            created += 1;
        }
    }
    if hmset {
        out.ok();
    } else {
        out.integer(created);
    }
    ctx.dirty((args.len() as u64 - 2) / 2);
}

fn hsetnx(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    let (key, field, value) = (args[1], args[2], args[3]);
    let now = ctx.now;
    let limits = ctx.server.limits();
    let (db, out) = ctx.db_out(key);
    match check_write(db, key, now) {
        Err(()) => return out.error(ERR_WRONGTYPE),
        Ok(true) => {
            if let Some(Value::Hash(h)) = db.lookup_write(key, now).map(|e| e.value()) {
                if h.contains(field) {
                    return out.integer(0);
                }
            }
        }
        Ok(false) => {}
    }
    let Some(h) = hash_mut(db, key, now) else {
        return out.error(ERR_WRONGTYPE);
    };
    h.prepare_for(&args[2..4], &limits);
    h.insert(field, value, &limits);
    out.integer(1);
    ctx.dirty(1);
}

// ---------------------------------------------------------------------
// HGET, HMGET, HLEN, HSTRLEN, HEXISTS

fn hget(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    let field = args[2];
    with_hash(ctx, args[1], Reply::null, |h, out| out.bulk_or_null(h.get(field)));
}

fn hmget(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    let fields = &args[2..];
    with_hash(
        ctx,
        args[1],
        |out| {
            out.array(fields.len());
            for _ in fields {
                out.null();
            }
        },
        |h, out| {
            out.array(fields.len());
            for f in fields {
                out.bulk_or_null(h.get(f));
            }
        },
    );
}

fn hlen(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    with_hash(ctx, args[1], |out| out.integer(0), |h, out| out.integer(h.len() as i64));
}

fn hstrlen(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    let field = args[2];
    with_hash(
        ctx,
        args[1],
        |out| out.integer(0),
        |h, out| out.integer(h.get(field).map_or(0, |v| v.len() as i64)),
    );
}

fn hexists(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    let field = args[2];
    with_hash(
        ctx,
        args[1],
        |out| out.integer(0),
        |h, out| out.integer(i64::from(h.contains(field))),
    );
}

// ---------------------------------------------------------------------
// HKEYS, HVALS, HGETALL

fn hkeys(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    with_hash(
        ctx,
        args[1],
        |out| out.array(0),
        |h, out| {
            out.array(h.len());
            for (f, _) in h.iter() {
                out.bulk(f);
            }
        },
    );
}

fn hvals(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    with_hash(
        ctx,
        args[1],
        |out| out.array(0),
        |h, out| {
            out.array(h.len());
            for (_, v) in h.iter() {
                out.bulk(v);
            }
        },
    );
}

/// HGETALL: a map in RESP3, a flat array in RESP2.
fn hgetall(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    with_hash(
        ctx,
        args[1],
        |out| out.map(0),
        |h, out| {
            out.map(h.len());
            for (f, v) in h.iter() {
                out.bulk(f);
                out.bulk(v);
            }
        },
    );
}

// ---------------------------------------------------------------------
// HDEL

fn hdel(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    let key = args[1];
    let now = ctx.now;
    let (db, out) = ctx.db_out(key);
    let mut deleted = 0;
    let mut emptied = false;
    match db.lookup_write(key, now).map(|e| e.value_mut()) {
        None => return out.integer(0),
        Some(Value::Hash(h)) => {
            for f in &args[2..] {
                if h.remove(f) {
                    deleted += 1;
                    if h.is_empty() {
                        emptied = true;
                        break;
                    }
                }
            }
        }
        Some(_) => return out.error(ERR_WRONGTYPE),
    }
    if emptied {
        db.remove(key, now);
    }
    out.integer(deleted);
    ctx.dirty(deleted as u64);
}

// ---------------------------------------------------------------------
// HINCRBY, HINCRBYFLOAT

fn hincrby(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    let (key, field) = (args[1], args[2]);
    let incr = match int_arg(args[3]) {
        Ok(n) => n,
        Err(e) => return ctx.out.error(e),
    };
    let now = ctx.now;
    let limits = ctx.server.limits();
    let (db, out) = ctx.db_out(key);
    if check_write(db, key, now).is_err() {
        return out.error(ERR_WRONGTYPE);
    }
    let Some(h) = hash_mut(db, key, now) else {
        return out.error(ERR_WRONGTYPE);
    };
    let old = match h.get(field) {
        None => 0,
        Some(v) => match parse_i64(v) {
            Some(n) => n,
            None => return hincr_failed(db, key, now, out, ERR_HASH_NOT_INT),
        },
    };
    let Some(new) = old.checked_add(incr) else {
        return hincr_failed(db, key, now, out, ERR_OVERFLOW);
    };
    let text = itoa::Buffer::new().format(new).as_bytes().to_vec();
    h.insert(field, &text, &limits);
    out.integer(new);
    ctx.dirty(1);
}

/// An increment failed after the hash was looked up (or created, as
/// Redis's hashTypeLookupWriteOrCreate does): an empty hash left behind
/// is removed so no empty key stays visible.
fn hincr_failed(db: &mut Db, key: &[u8], now: u64, out: &mut Reply, msg: &str) {
    if let Some(Value::Hash(h)) = db.lookup_write(key, now).map(|e| e.value()) {
        if h.is_empty() {
            db.remove(key, now);
        }
    }
    out.error(msg);
}

fn hincrbyfloat(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    let (key, field) = (args[1], args[2]);
    let Some(incr) = Ld::parse(args[3]) else {
        return ctx.out.error(ERR_NOT_FLOAT);
    };
    // Adding zero fails only for an infinite operand.
    if incr.checked_add(Ld::ZERO).is_none() {
        return ctx.out.error("value is NaN or Infinity");
    }
    let now = ctx.now;
    let limits = ctx.server.limits();
    let (db, out) = ctx.db_out(key);
    if check_write(db, key, now).is_err() {
        return out.error(ERR_WRONGTYPE);
    }
    let Some(h) = hash_mut(db, key, now) else {
        return out.error(ERR_WRONGTYPE);
    };
    let old = match h.get(field) {
        None => Ld::ZERO,
        Some(v) => match Ld::parse(v) {
            Some(x) => x,
            None => return hincr_failed(db, key, now, out, ERR_HASH_NOT_FLOAT),
        },
    };
    let Some(sum) = old.checked_add(incr) else {
        return hincr_failed(db, key, now, out, "increment would produce NaN or Infinity");
    };
    let text = sum.format_human();
    h.insert(field, text.as_bytes(), &limits);
    out.bulk(text.as_bytes());
    ctx.dirty(1);
}

// ---------------------------------------------------------------------
// HRANDFIELD

/// Redis's getRangeLongFromObjectOrReply(-LONG_MAX, LONG_MAX).
fn count_arg(arg: &[u8]) -> Result<i64, String> {
    let n = parse_i64(arg).ok_or_else(|| ERR_NOT_INT.to_string())?;
    if n == i64::MIN {
        return Err(format!(
            "value is out of range, value must between {} and {}",
            -i64::MAX,
            i64::MAX
        ));
    }
    Ok(n)
}

fn hrandfield(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    if args.len() >= 3 {
        let count = match count_arg(args[2]) {
            Ok(n) => n,
            Err(e) => return ctx.out.error(&e),
        };
        let withvalues = match args.len() {
            3 => false,
            4 if is(args[3], "withvalues") => true,
            _ => return ctx.out.error(ERR_SYNTAX),
        };
        if withvalues && !(-i64::MAX / 2..=i64::MAX / 2).contains(&count) {
            return ctx.out.error("value is out of range");
        }
        return with_hash(
            ctx,
            args[1],
            |out| out.array(0),
            |h, out| rand_with_count(h, out, count, withvalues),
        );
    }
    with_hash(ctx, args[1], Reply::null, |h, out| {
        match h.random_pair(&mut rand::thread_rng()) {
            Some((f, _)) => out.bulk(f),
            None => out.null(),
        }
    });
}

/// Redis's hrandfieldWithCountCommand. A negative count may repeat
/// fields; a positive one returns distinct fields (all of them when the
/// count reaches the size). With values, RESP3 gets [field, value]
/// pairs and RESP2 a flat array.
fn rand_with_count(h: &Hash, out: &mut Reply, count: i64, withvalues: bool) {
    let size = h.len();
    if count == 0 || size == 0 {
        return out.array(0);
    }
    let resp3 = out.is_resp3();
    let emit = |out: &mut Reply, (f, v): (&[u8], &[u8])| {
        if withvalues && resp3 {
            out.array(2);
        }
        out.bulk(f);
        if withvalues {
            out.bulk(v);
        }
    };
    let header = |out: &mut Reply, n: usize| {
        out.array(if withvalues && !resp3 { n * 2 } else { n });
    };
    let mut rng = rand::thread_rng();
    // Positional access is O(1) in a hashtable; a listpack's pairs are
    // gathered once (at most a few hundred).
    let packed: Option<Vec<(&[u8], &[u8])>> = h.is_listpack().then(|| h.iter().collect());
    let at = |i: usize| -> (&[u8], &[u8]) {
        match &packed {
            Some(v) => v.get(i).copied(),
            None => h.pair_at(i),
        }
        .unwrap_or((b"", b""))
    };
    if count < 0 {
        let n = count.unsigned_abs() as usize;
        header(out, n);
        for _ in 0..n {
            emit(out, at(rng.gen_range(0..size)));
        }
        return;
    }
    let n = count as usize;
    if n >= size {
        header(out, size);
        for pair in h.iter() {
            emit(out, pair);
        }
        return;
    }
    header(out, n);
    for i in rand::seq::index::sample(&mut rng, size, n) {
        emit(out, at(i));
    }
}

// ---------------------------------------------------------------------
// HSCAN

/// HSCAN key cursor [MATCH pattern] [COUNT count]. A listpack is
/// returned whole with cursor 0, as Redis does; a hashtable is walked by
/// field-hash ranges (see `Hash::scan`).
fn hscan(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    let Some(cursor) = parse_cursor(args[2]) else {
        return ctx.out.error("invalid cursor");
    };
    let key = args[1];
    let now = ctx.now;
    let touch = !ctx.client.no_touch;
    let (db, out) = ctx.db_out(key);
    let h = match read(db, key, now, touch) {
        Found::Missing => {
            out.array(2);
            out.bulk(b"0");
            return out.array(0);
        }
        Found::WrongType => return out.error(ERR_WRONGTYPE),
        Found::Hash(h) => h,
    };
    let o = match ScanOptions::parse(&args[3..], false) {
        Ok(o) => o,
        Err(e) => return out.error(e),
    };
    let mut found: Vec<(&[u8], &[u8])> = Vec::new();
    let next = h.scan(cursor, o.count, |f, v| {
        if o.matches(f) {
            found.push((f, v));
        }
    });
    out.array(2);
    out.bulk(next.to_string().as_bytes());
    out.array(found.len() * 2);
    for (f, v) in found {
        out.bulk(f);
        out.bulk(v);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs() {
        assert_eq!(COMMANDS.len(), 16);
        for c in COMMANDS {
            assert_eq!(c.group, "hash", "{}", c.name);
            assert!(!c.summary.is_empty() && !c.complexity.is_empty(), "{}", c.name);
            assert_eq!(c.has(WRITE), !c.has(READONLY), "{}", c.name);
            assert_eq!(c.legacy_range(), (1, 1, 1), "{}", c.name);
        }
    }

    #[test]
    fn count_range() {
        assert_eq!(count_arg(b"-9223372036854775807"), Ok(-i64::MAX));
        assert!(count_arg(b"-9223372036854775808").unwrap_err().contains("out of range"));
        assert_eq!(count_arg(b"x").unwrap_err(), ERR_NOT_INT);
    }
}
