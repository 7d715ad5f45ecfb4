//! Set commands (Redis 7.2's t_set.c): SADD, SREM, SMEMBERS, SISMEMBER,
//! SMISMEMBER, SCARD, SPOP, SRANDMEMBER, SMOVE, SINTER, SINTERCARD,
//! SINTERSTORE, SUNION, SUNIONSTORE, SDIFF, SDIFFSTORE and SSCAN.
//!
//! Multi-key commands first look every key up one at a time (expiring it,
//! counting the hit or miss and checking its type, as Redis's loop does),
//! then borrow all the sets at once from the locked shards to compute the
//! result. Results are built with the same sequence of adds Redis uses, so
//! a stored result gets Redis's encoding and a replied one Redis's order
//! for the compact encodings.

use rand::Rng;

use larder_engine::types::set::{Member, Set};
use larder_engine::{Keyspace, Limits, Shard, Value};
use larder_protocol::Reply;

use super::{acl, flags::*, BeginSearch, CommandSpec, FindKeys, KeySpec};
use crate::dispatch::{Ctx, Locks};
use crate::util::{is, parse_i64, ERR_NOT_INT, ERR_SYNTAX, ERR_WRONGTYPE};

use super::keyspace::{parse_cursor, ScanOptions};

const KEY_RW_INSERT: &[KeySpec] = &[KeySpec::single(1, &["RW", "INSERT"])];
const KEY_RW_DELETE: &[KeySpec] = &[KeySpec::single(1, &["RW", "DELETE"])];
const KEY_RW_ACCESS_DELETE: &[KeySpec] = &[KeySpec::single(1, &["RW", "ACCESS", "DELETE"])];
const KEY_RO: &[KeySpec] = &[KeySpec::single(1, &["RO"])];
const KEY_RO_ACCESS: &[KeySpec] = &[KeySpec::single(1, &["RO", "ACCESS"])];
const KEYS_RO_ACCESS: &[KeySpec] = &[KeySpec::range(1, -1, 1, &["RO", "ACCESS"])];
const KEYS_SMOVE: &[KeySpec] = &[
    KeySpec::single(1, &["RW", "ACCESS", "DELETE"]),
    KeySpec::single(2, &["RW", "INSERT"]),
];
const KEYS_SINTERSTORE: &[KeySpec] = &[
    KeySpec::single(1, &["RW", "UPDATE"]),
    KeySpec::range(2, -1, 1, &["RO", "ACCESS"]),
];
const KEYS_STORE: &[KeySpec] = &[
    KeySpec::single(1, &["OW", "UPDATE"]),
    KeySpec::range(2, -1, 1, &["RO", "ACCESS"]),
];
const KEYS_SINTERCARD: &[KeySpec] = &[KeySpec {
    begin: BeginSearch::Index(1),
    find: FindKeys::Keynum {
        keynum_idx: 0,
        first_key: 1,
        step: 1,
    },
    flags: &["RO", "ACCESS"],
}];

const TIPS_ORDER: &[&str] = &["nondeterministic_output_order"];
const TIPS_NONDET: &[&str] = &["nondeterministic_output"];

const INTER_COMPLEXITY: &str =
    "O(N*M) worst case where N is the cardinality of the smallest set and M is the number of sets.";
const UNION_COMPLEXITY: &str = "O(N) where N is the total number of elements in all given sets.";

pub static COMMANDS: &[CommandSpec] = &[
    CommandSpec::new("sadd", -3, WRITE | DENYOOM | FAST, acl::WRITE | acl::SET | acl::FAST, sadd)
        .keys(KEY_RW_INSERT)
        .doc(
            "set",
            "1.0.0",
            "Adds one or more members to a set. Creates the key if it doesn't exist.",
            "O(1) for each element added, so O(N) to add N elements when the command is called with multiple arguments.",
        ),
    CommandSpec::new("srem", -3, WRITE | FAST, acl::WRITE | acl::SET | acl::FAST, srem)
        .keys(KEY_RW_DELETE)
        .doc(
            "set",
            "1.0.0",
            "Removes one or more members from a set. Deletes the set if the last member was removed.",
            "O(N) where N is the number of members to be removed.",
        ),
    CommandSpec::new("smembers", 2, READONLY, acl::READ | acl::SET | acl::SLOW, smembers)
        .keys(KEY_RO_ACCESS)
        .doc(
            "set",
            "1.0.0",
            "Returns all members of a set.",
            "O(N) where N is the set cardinality.",
        )
        .tips(TIPS_ORDER),
    CommandSpec::new("sismember", 3, READONLY | FAST, acl::READ | acl::SET | acl::FAST, sismember)
        .keys(KEY_RO)
        .doc(
            "set",
            "1.0.0",
            "Determines whether a member belongs to a set.",
            "O(1)",
        ),
    CommandSpec::new("smismember", -3, READONLY | FAST, acl::READ | acl::SET | acl::FAST, smismember)
        .keys(KEY_RO_ACCESS)
        .doc(
            "set",
            "6.2.0",
            "Determines whether multiple members belong to a set.",
            "O(N) where N is the number of elements being checked for membership",
        ),
    CommandSpec::new("scard", 2, READONLY | FAST, acl::READ | acl::SET | acl::FAST, scard)
        .keys(KEY_RO)
        .doc("set", "1.0.0", "Returns the number of members in a set.", "O(1)"),
    CommandSpec::new("spop", -2, WRITE | FAST, acl::WRITE | acl::SET | acl::FAST, spop)
        .keys(KEY_RW_ACCESS_DELETE)
        .doc(
            "set",
            "1.0.0",
            "Returns one or more random members from a set after removing them. Deletes the set if the last member was popped.",
            "Without the count argument O(1), otherwise O(N) where N is the value of the passed count.",
        )
        .tips(TIPS_NONDET),
    CommandSpec::new("srandmember", -2, READONLY, acl::READ | acl::SET | acl::SLOW, srandmember)
        .keys(KEY_RO_ACCESS)
        .doc(
            "set",
            "1.0.0",
            "Get one or multiple random members from a set",
            "Without the count argument O(1), otherwise O(N) where N is the absolute value of the passed count.",
        )
        .tips(TIPS_NONDET),
    CommandSpec::new("smove", 4, WRITE | FAST, acl::WRITE | acl::SET | acl::FAST, smove)
        .keys(KEYS_SMOVE)
        .doc("set", "1.0.0", "Moves a member from one set to another.", "O(1)"),
    CommandSpec::new("sinter", -2, READONLY, acl::READ | acl::SET | acl::SLOW, sinter)
        .keys(KEYS_RO_ACCESS)
        .doc("set", "1.0.0", "Returns the intersect of multiple sets.", INTER_COMPLEXITY)
        .tips(TIPS_ORDER),
    CommandSpec::new("sintercard", -3, READONLY, acl::READ | acl::SET | acl::SLOW, sintercard)
        .keys(KEYS_SINTERCARD)
        .doc(
            "set",
            "7.0.0",
            "Returns the number of members of the intersect of multiple sets.",
            INTER_COMPLEXITY,
        ),
    CommandSpec::new("sinterstore", -3, WRITE | DENYOOM, acl::WRITE | acl::SET | acl::SLOW, sinterstore)
        .keys(KEYS_SINTERSTORE)
        .doc(
            "set",
            "1.0.0",
            "Stores the intersect of multiple sets in a key.",
            INTER_COMPLEXITY,
        ),
    CommandSpec::new("sunion", -2, READONLY, acl::READ | acl::SET | acl::SLOW, sunion)
        .keys(KEYS_RO_ACCESS)
        .doc("set", "1.0.0", "Returns the union of multiple sets.", UNION_COMPLEXITY)
        .tips(TIPS_ORDER),
    CommandSpec::new("sunionstore", -3, WRITE | DENYOOM, acl::WRITE | acl::SET | acl::SLOW, sunionstore)
        .keys(KEYS_STORE)
        .doc(
            "set",
            "1.0.0",
            "Stores the union of multiple sets in a key.",
            UNION_COMPLEXITY,
        ),
    CommandSpec::new("sdiff", -2, READONLY, acl::READ | acl::SET | acl::SLOW, sdiff)
        .keys(KEYS_RO_ACCESS)
        .doc("set", "1.0.0", "Returns the difference of multiple sets.", UNION_COMPLEXITY)
        .tips(TIPS_ORDER),
    CommandSpec::new("sdiffstore", -3, WRITE | DENYOOM, acl::WRITE | acl::SET | acl::SLOW, sdiffstore)
        .keys(KEYS_STORE)
        .doc(
            "set",
            "1.0.0",
            "Stores the difference of multiple sets in a key.",
            UNION_COMPLEXITY,
        ),
    CommandSpec::new("sscan", -3, READONLY, acl::READ | acl::SET | acl::SLOW, sscan)
        .keys(KEY_RO_ACCESS)
        .doc(
            "set",
            "2.8.0",
            "Iterates over members of a set.",
            "O(1) for every call. O(N) for a complete iteration, including enough command calls for the cursor to return back to 0. N is the number of elements inside the collection.",
        )
        .tips(TIPS_NONDET),
];

const ERR_POSITIVE: &str = "value is out of range, must be positive";

// ---------------------------------------------------------------------
// helpers

/// What a lookup found.
enum Found<'a> {
    Missing,
    WrongType,
    Set(&'a mut Set),
}

fn as_set(v: Option<&mut larder_engine::Entry>) -> Found<'_> {
    match v {
        None => Found::Missing,
        Some(e) => match e.value_mut() {
            Value::Set(s) => Found::Set(s),
            _ => Found::WrongType,
        },
    }
}

fn put(out: &mut Reply, m: Member<'_>) {
    match m {
        Member::Int(n) => out.bulk_i64(n),
        Member::Bytes(b) => out.bulk(b),
    }
}

/// Replies a whole set (a RESP3 set, an array in RESP2).
fn reply_set(out: &mut Reply, s: &Set) {
    out.set(s.len());
    for m in s.iter() {
        put(out, m);
    }
}

/// A locked shard by shared reference.
fn shard_ref<'l>(locks: &'l Locks<'_>, idx: usize) -> Option<&'l Shard> {
    match locks {
        Locks::None => None,
        Locks::One(i, g) => (*i == idx).then_some(&**g),
        Locks::Many(v) => v.iter().find(|(i, _)| *i == idx).map(|(_, g)| &**g),
        Locks::All(v) => v.get(idx).map(|g| &**g),
    }
}

/// Looks each key up for reading as Redis's lookupKeyRead loop does.
/// Err(()) at the first key holding another type; else whether each
/// exists.
fn lookup_sets(ctx: &mut Ctx<'_>, keys: &[&[u8]]) -> Result<Vec<bool>, ()> {
    let now = ctx.now;
    let touch = !ctx.client.no_touch;
    let mut exists = Vec::with_capacity(keys.len());
    for key in keys {
        let (db, _) = ctx.db_out(key);
        match as_set(db.lookup_read(key, now, touch)) {
            Found::Missing => exists.push(false),
            Found::WrongType => return Err(()),
            Found::Set(_) => exists.push(true),
        }
    }
    Ok(exists)
}

/// The sets at `keys`, all at once (after [`lookup_sets`]).
fn borrow_sets<'l>(locks: &'l Locks<'_>, ks: &Keyspace, dbi: usize, now: u64, keys: &[&[u8]]) -> Vec<Option<&'l Set>> {
    keys.iter()
        .map(|key| {
            let shard = shard_ref(locks, ks.shard_of(key))?;
            match shard.dbs.get(dbi)?.get(key, now)?.value() {
                Value::Set(s) => Some(&**s),
                _ => None,
            }
        })
        .collect()
}

/// Stores a computed result at `dst` (replacing any value and TTL), or
/// deletes `dst` when the result is empty, as Redis's *STORE commands.
fn store(ctx: &mut Ctx<'_>, dst: &[u8], result: Set) {
    let now = ctx.now;
    let (db, out) = ctx.db_out(dst);
    if result.is_empty() {
        let deleted = db.remove(dst, now).is_some();
        out.integer(0);
        if deleted {
            ctx.dirty(1);
        }
    } else {
        let n = result.len();
        db.set(dst, Value::Set(Box::new(result)), None, false, now);
        out.integer(n as i64);
        ctx.dirty(1);
    }
}

// ---------------------------------------------------------------------
// SADD, SREM, SMEMBERS, SISMEMBER, SMISMEMBER, SCARD

fn sadd(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    let limits = ctx.server.limits();
    let now = ctx.now;
    let key = args[1];
    let members = &args[2..];
    let (db, out) = ctx.db_out(key);
    let added = match as_set(db.lookup_write(key, now)) {
        Found::WrongType => return out.error(ERR_WRONGTYPE),
        Found::Set(s) => {
            s.maybe_convert(members.len(), &limits);
            members.iter().filter(|m| s.insert(m, &limits)).count()
        }
        Found::Missing => {
            let mut s = Set::with_hint(members[0], members.len(), &limits);
            let n = members.iter().filter(|m| s.insert(m, &limits)).count();
            db.set(key, Value::Set(Box::new(s)), None, false, now);
            n
        }
    };
    out.integer(added as i64);
    ctx.dirty(added as u64);
}

fn srem(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    let now = ctx.now;
    let key = args[1];
    let (db, out) = ctx.db_out(key);
    let (deleted, empty) = match as_set(db.lookup_write(key, now)) {
        Found::Missing => return out.integer(0),
        Found::WrongType => return out.error(ERR_WRONGTYPE),
        Found::Set(s) => {
            let mut n = 0;
            for m in &args[2..] {
                if s.remove(m) {
                    n += 1;
                    if s.is_empty() {
                        break;
                    }
                }
            }
            (n, s.is_empty())
        }
    };
    if empty {
        db.remove(key, now);
    }
    out.integer(deleted);
    ctx.dirty(deleted as u64);
}

fn smembers(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    let now = ctx.now;
    let touch = !ctx.client.no_touch;
    let (db, out) = ctx.db_out(args[1]);
    match as_set(db.lookup_read(args[1], now, touch)) {
        Found::Missing => out.set(0),
        Found::WrongType => out.error(ERR_WRONGTYPE),
        Found::Set(s) => reply_set(out, s),
    }
}

fn sismember(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    let now = ctx.now;
    let touch = !ctx.client.no_touch;
    let (db, out) = ctx.db_out(args[1]);
    match as_set(db.lookup_read(args[1], now, touch)) {
        Found::Missing => out.integer(0),
        Found::WrongType => out.error(ERR_WRONGTYPE),
        Found::Set(s) => out.integer(i64::from(s.contains(args[2]))),
    }
}

fn smismember(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    let now = ctx.now;
    let touch = !ctx.client.no_touch;
    let (db, out) = ctx.db_out(args[1]);
    let set = match as_set(db.lookup_read(args[1], now, touch)) {
        Found::Missing => None,
        Found::WrongType => return out.error(ERR_WRONGTYPE),
        Found::Set(s) => Some(s),
    };
    out.array(args.len() - 2);
    for m in &args[2..] {
        out.integer(i64::from(set.as_ref().is_some_and(|s| s.contains(m))));
    }
}

fn scard(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    let now = ctx.now;
    let touch = !ctx.client.no_touch;
    let (db, out) = ctx.db_out(args[1]);
    match as_set(db.lookup_read(args[1], now, touch)) {
        Found::Missing => out.integer(0),
        Found::WrongType => out.error(ERR_WRONGTYPE),
        Found::Set(s) => out.integer(s.len() as i64),
    }
}

// ---------------------------------------------------------------------
// SPOP, SRANDMEMBER

/// Redis's SPOP_MOVE_STRATEGY_MUL.
const SPOP_MOVE_STRATEGY_MUL: usize = 5;

fn spop(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    match args.len() {
        2 => spop_one(ctx, args[1]),
        3 => spop_count(ctx, args),
        _ => ctx.out.error(ERR_SYNTAX),
    }
}

fn spop_one(ctx: &mut Ctx<'_>, key: &[u8]) {
    let now = ctx.now;
    let (db, out) = ctx.db_out(key);
    let (member, empty) = match as_set(db.lookup_write(key, now)) {
        Found::Missing => return out.null(),
        Found::WrongType => return out.error(ERR_WRONGTYPE),
        Found::Set(s) => (s.pop_random(&mut rand::thread_rng()), s.is_empty()),
    };
    if empty {
        db.remove(key, now);
    }
    out.bulk_or_null(member.as_deref());
    ctx.dirty(1);
}

fn spop_count(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    let count = match parse_i64(args[2]) {
        Some(c) if c >= 0 => c as u64,
        _ => return ctx.out.error(ERR_POSITIVE),
    };
    let limits = ctx.server.limits();
    let now = ctx.now;
    let key = args[1];
    let (db, out) = ctx.db_out(key);
    let set = match as_set(db.lookup_write(key, now)) {
        Found::Missing => return out.set(0),
        Found::WrongType => return out.error(ERR_WRONGTYPE),
        Found::Set(s) => s,
    };
    if count == 0 {
        return out.set(0);
    }
    let size = set.len();
    let mut rng = rand::thread_rng();
    if count >= size as u64 {
        // The whole set, in the order of a union copy, and the key goes.
        let all = union_diff(&[Some(&*set)], false, &limits);
        reply_set(out, &all);
        db.remove(key, now);
        ctx.dirty(size as u64);
        return;
    }
    let count = count as usize;
    let remaining = size - count;
    out.set(count);
    if remaining * SPOP_MOVE_STRATEGY_MUL > count {
        for _ in 0..count {
            let m = set.pop_random(&mut rng);
            out.bulk_or_null(m.as_deref());
        }
    } else {
        // Few remain: build a new set of the survivors and reply with the
        // rest of the old one.
        let keep = set.random_positions(remaining, &mut rng);
        let mut fresh = if set.encoding() == "intset" {
            Set::new_intset()
        } else {
            Set::new_listpack()
        };
        // One pass: `keep` is ascending.
        let mut k = keep.iter().peekable();
        for (i, m) in set.iter().enumerate() {
            if k.peek() == Some(&&i) {
                k.next();
                fresh.insert_member(m, &limits);
            } else {
                put(out, m);
            }
        }
        *set = fresh;
    }
    ctx.dirty(count as u64);
}

fn srandmember(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    let count = match args.len() {
        2 => None,
        3 => match parse_i64(args[2]) {
            None => return ctx.out.error(ERR_NOT_INT),
            Some(i64::MIN) => {
                return ctx
                    .out
                    .error("value is out of range, value must between -9223372036854775807 and 9223372036854775807")
            }
            Some(c) => Some(c),
        },
        _ => return ctx.out.error(ERR_SYNTAX),
    };
    let now = ctx.now;
    let touch = !ctx.client.no_touch;
    let (db, out) = ctx.db_out(args[1]);
    let set = match as_set(db.lookup_read(args[1], now, touch)) {
        Found::Missing if count.is_some() => return out.array(0),
        Found::Missing => return out.null(),
        Found::WrongType => return out.error(ERR_WRONGTYPE),
        Found::Set(s) => &*s,
    };
    let mut rng = rand::thread_rng();
    let Some(count) = count else {
        return match set.random(&mut rng) {
            Some(m) => put(out, m),
            None => out.null(),
        };
    };
    if count == 0 {
        return out.array(0);
    }
    let uniq = count > 0;
    let n = count.unsigned_abs();
    if !uniq || n == 1 {
        // Repeats allowed: each pick independent (streamed, never
        // allocated up front).
        out.array(n as usize);
        if set.encoding() == "listpack" && n > 1 {
            // Index the listpack once rather than walking it per pick.
            let all: Vec<Member<'_>> = set.iter().collect();
            for _ in 0..n {
                match all.get(rng.gen_range(0..all.len().max(1))) {
                    Some(&m) => put(out, m),
                    None => out.null(),
                }
            }
            return;
        }
        for _ in 0..n {
            match set.random(&mut rng) {
                Some(m) => put(out, m),
                None => out.null(),
            }
        }
        return;
    }
    let size = set.len();
    if n >= size as u64 {
        out.array(size);
        for m in set.iter() {
            put(out, m);
        }
        return;
    }
    let n = n as usize;
    out.array(n);
    if set.encoding() == "listpack" {
        // Redis walks the listpack once: members come in its order.
        let picks = set.random_positions(n, &mut rng);
        let mut k = picks.iter().peekable();
        for (i, m) in set.iter().enumerate() {
            if k.peek() == Some(&&i) {
                k.next();
                put(out, m);
            }
        }
        return;
    }
    for i in rand::seq::index::sample(&mut rng, size, n) {
        match set.nth(i) {
            Some(m) => put(out, m),
            None => out.null(),
        }
    }
}

// ---------------------------------------------------------------------
// SMOVE

fn smove(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    let (src, dst, ele) = (args[1], args[2], args[3]);
    let limits = ctx.server.limits();
    let now = ctx.now;
    let src_is_member = {
        let (db, out) = ctx.db_out(src);
        match as_set(db.lookup_write(src, now)) {
            Found::Missing => return out.integer(0),
            Found::WrongType => return out.error(ERR_WRONGTYPE),
            Found::Set(s) => s.contains(ele),
        }
    };
    let dst_exists = {
        let (db, out) = ctx.db_out(dst);
        match as_set(db.lookup_write(dst, now)) {
            Found::Missing => false,
            Found::WrongType => return out.error(ERR_WRONGTYPE),
            Found::Set(_) => true,
        }
    };
    if src == dst {
        return ctx.out.integer(i64::from(src_is_member));
    }
    if !src_is_member {
        return ctx.out.integer(0);
    }
    {
        let (db, _) = ctx.db_out(src);
        if let Found::Set(s) = as_set(db.lookup_write(src, now)) {
            s.remove(ele);
            if s.is_empty() {
                db.remove(src, now);
            }
        }
    }
    ctx.dirty(1);
    let (db, out) = ctx.db_out(dst);
    let added = if dst_exists {
        match as_set(db.lookup_write(dst, now)) {
            Found::Set(s) => s.insert(ele, &limits),
            _ => false,
        }
    } else {
        let mut s = Set::with_hint(ele, 1, &limits);
        s.insert(ele, &limits);
        db.set(dst, Value::Set(Box::new(s)), None, false, now);
        true
    };
    out.integer(1);
    if added {
        ctx.dirty(1);
    }
}

// ---------------------------------------------------------------------
// SINTER, SINTERCARD, SINTERSTORE

enum InterMode<'k> {
    Reply,
    Card(usize),
    Store(&'k [u8]),
}

fn sinter(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    sinter_generic(ctx, &args[1..], InterMode::Reply);
}

fn sinterstore(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    sinter_generic(ctx, &args[2..], InterMode::Store(args[1]));
}

fn sintercard(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    let numkeys = match parse_i64(args[1]) {
        Some(n) if n >= 1 => n as u64,
        _ => return ctx.out.error("numkeys should be greater than 0"),
    };
    if numkeys > (args.len() - 2) as u64 {
        return ctx.out.error("Number of keys can't be greater than number of args");
    }
    let numkeys = numkeys as usize;
    let mut limit = 0usize;
    let mut j = 2 + numkeys;
    while j < args.len() {
        if is(args[j], "limit") && j + 1 < args.len() {
            j += 1;
            match parse_i64(args[j]) {
                Some(l) if l >= 0 => limit = usize::try_from(l).unwrap_or(usize::MAX),
                _ => return ctx.out.error("LIMIT can't be negative"),
            }
        } else {
            return ctx.out.error(ERR_SYNTAX);
        }
        j += 1;
    }
    sinter_generic(ctx, &args[2..2 + numkeys], InterMode::Card(limit));
}

fn sinter_generic(ctx: &mut Ctx<'_>, keys: &[&[u8]], mode: InterMode<'_>) {
    let Ok(exists) = lookup_sets(ctx, keys) else {
        return ctx.out.error(ERR_WRONGTYPE);
    };
    if exists.iter().any(|e| !e) {
        return match mode {
            InterMode::Store(dst) => store(ctx, dst, Set::new_intset()),
            InterMode::Card(_) => ctx.out.integer(0),
            InterMode::Reply => ctx.out.set(0),
        };
    }
    let limits = ctx.server.limits();
    let (now, dbi) = (ctx.now, ctx.client.db);
    let mut sets: Vec<&Set> = borrow_sets(&ctx.locks, &ctx.server.keyspace, dbi, now, keys)
        .into_iter()
        .flatten()
        .collect();
    if sets.is_empty() {
        return ctx.out.set(0);
    }
    sets.sort_by_key(|s| s.len());
    let first = sets[0];
    let in_all = |m: Member<'_>| {
        sets[1..]
            .iter()
            .all(|s| std::ptr::eq(*s, first) || s.contains_member(m))
    };
    match mode {
        InterMode::Card(limit) => {
            let mut n = 0;
            for m in first.iter() {
                if in_all(m) {
                    n += 1;
                    if limit != 0 && n >= limit {
                        break;
                    }
                }
            }
            ctx.out.integer(n as i64);
        }
        InterMode::Reply => {
            let found: Vec<Member<'_>> = first.iter().filter(|&m| in_all(m)).collect();
            ctx.out.set(found.len());
            for m in found {
                put(ctx.out, m);
            }
        }
        InterMode::Store(dst) => {
            let mut result = if first.encoding() == "intset" {
                Set::new_intset()
            } else {
                Set::new_listpack()
            };
            let mut only_integers = true;
            for m in first.iter() {
                if in_all(m) {
                    only_integers &= m.as_int().is_some();
                    result.insert_member(m, &limits);
                }
            }
            if only_integers {
                result.maybe_convert_to_intset(&limits);
            }
            drop(sets);
            store(ctx, dst, result);
        }
    }
}

// ---------------------------------------------------------------------
// SUNION, SUNIONSTORE, SDIFF, SDIFFSTORE

/// Redis's sunionDiffGenericCommand's computation: the result starts as
/// an empty intset and grows by the same adds (and, for the second diff
/// algorithm, removals) Redis makes, so it ends in Redis's encoding.
/// `sets[i]` is None for a missing key; for a diff, a set equal (the same
/// key) to the first one must be passed as the same reference.
fn union_diff(sets: &[Option<&Set>], diff: bool, limits: &Limits) -> Set {
    let mut dst = Set::new_intset();
    if !diff {
        for s in sets.iter().flatten() {
            for m in s.iter() {
                dst.insert_member(m, limits);
            }
        }
        return dst;
    }
    let Some(first) = sets.first().copied().flatten() else {
        return dst;
    };
    let others: Vec<&Set> = sets[1..].iter().flatten().copied().collect();
    if others.iter().any(|s| std::ptr::eq(*s, first)) {
        return dst;
    }
    let algo_one_work = (first.len() * (others.len() + 1)) / 2;
    let algo_two_work: usize = first.len() + others.iter().map(|s| s.len()).sum::<usize>();
    if algo_one_work <= algo_two_work {
        for m in first.iter() {
            if !others.iter().any(|s| s.contains_member(m)) {
                dst.insert_member(m, limits);
            }
        }
    } else {
        for m in first.iter() {
            dst.insert_member(m, limits);
        }
        for s in others {
            if dst.is_empty() {
                break;
            }
            for m in s.iter() {
                m.with_bytes(|b| dst.remove(b));
            }
        }
    }
    dst
}

fn sunion(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    union_diff_generic(ctx, &args[1..], None, false);
}

fn sunionstore(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    union_diff_generic(ctx, &args[2..], Some(args[1]), false);
}

fn sdiff(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    union_diff_generic(ctx, &args[1..], None, true);
}

fn sdiffstore(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    union_diff_generic(ctx, &args[2..], Some(args[1]), true);
}

fn union_diff_generic(ctx: &mut Ctx<'_>, keys: &[&[u8]], dst: Option<&[u8]>, diff: bool) {
    if lookup_sets(ctx, keys).is_err() {
        return ctx.out.error(ERR_WRONGTYPE);
    }
    let limits = ctx.server.limits();
    let (now, dbi) = (ctx.now, ctx.client.db);
    let result = {
        let sets = borrow_sets(&ctx.locks, &ctx.server.keyspace, dbi, now, keys);
        union_diff(&sets, diff, &limits)
    };
    match dst {
        Some(dst) => store(ctx, dst, result),
        None => reply_set(ctx.out, &result),
    }
}

// ---------------------------------------------------------------------
// SSCAN

fn sscan(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    let Some(cursor) = parse_cursor(args[2]) else {
        return ctx.out.error("invalid cursor");
    };
    let now = ctx.now;
    let touch = !ctx.client.no_touch;
    let (db, out) = ctx.db_out(args[1]);
    let set = match as_set(db.lookup_read(args[1], now, touch)) {
        Found::Missing => {
            out.array(2);
            out.bulk(b"0");
            return out.array(0);
        }
        Found::WrongType => return out.error(ERR_WRONGTYPE),
        Found::Set(s) => &*s,
    };
    let o = match ScanOptions::parse(&args[3..], false) {
        Ok(o) => o,
        Err(e) => return out.error(e),
    };
    let mut found: Vec<Member<'_>> = Vec::new();
    let next = set.scan(cursor, o.count, |m| {
        if m.with_bytes(|b| o.matches(b)) {
            found.push(m);
        }
    });
    out.array(2);
    out.bulk(next.to_string().as_bytes());
    out.array(found.len());
    for m in found {
        put(out, m);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set_of(members: &[&str], limits: &Limits) -> Set {
        let mut s = Set::new_intset();
        for m in members {
            s.insert(m.as_bytes(), limits);
        }
        s
    }

    fn sorted(s: &Set) -> Vec<Vec<u8>> {
        let mut v: Vec<Vec<u8>> = s.iter().map(|m| m.to_vec()).collect();
        v.sort();
        v
    }

    #[test]
    fn union_and_both_diff_algorithms() {
        let l = Limits::default();
        let a = set_of(&["1", "2", "3", "x"], &l);
        let b = set_of(&["2", "y"], &l);
        let u = union_diff(&[Some(&a), None, Some(&b)], false, &l);
        assert_eq!(sorted(&u).len(), 5);
        assert_eq!(u.encoding(), "listpack");
        let d = union_diff(&[Some(&a), Some(&b)], true, &l);
        assert_eq!(sorted(&d), vec![b"1".to_vec(), b"3".to_vec(), b"x".to_vec()]);
        // Algorithm 2: many subtrahends make algorithm 1 look costlier.
        let small = set_of(&["2"], &l);
        let refs: Vec<Option<&Set>> = std::iter::once(Some(&a)).chain((0..10).map(|_| Some(&small))).collect();
        let d = union_diff(&refs, true, &l);
        assert_eq!(sorted(&d), vec![b"1".to_vec(), b"3".to_vec(), b"x".to_vec()]);
        // The same set on both sides: empty.
        assert!(union_diff(&[Some(&a), Some(&a)], true, &l).is_empty());
        assert!(union_diff(&[None, Some(&a)], true, &l).is_empty());
    }
}
