//! Keyspace commands (Redis's db.c, expire.c and object.c): DEL, UNLINK,
//! EXISTS, TYPE, KEYS, SCAN, RANDOMKEY, RENAME, RENAMENX, MOVE, COPY,
//! SWAPDB, FLUSHDB, FLUSHALL, the EXPIRE/TTL family, PERSIST, TOUCH and
//! OBJECT.

use rand::Rng;

use super::{acl, flags::*, CommandSpec, KeySpec};
use crate::dispatch::Ctx;
use crate::glob::glob_match;
use crate::util::{is, parse_i64, ERR_DB_INDEX, ERR_NOT_INT, ERR_NO_KEY, ERR_SYNTAX};

const KEYS_DEL: &[KeySpec] = &[KeySpec::range(1, -1, 1, &["RM", "DELETE"])];
const KEYS_RO: &[KeySpec] = &[KeySpec::range(1, -1, 1, &["RO"])];
const KEY_RO: &[KeySpec] = &[KeySpec::single(1, &["RO"])];
const KEY_RO_ACCESS: &[KeySpec] = &[KeySpec::single(1, &["RO", "ACCESS"])];
const KEY_RW_UPDATE: &[KeySpec] = &[KeySpec::single(1, &["RW", "UPDATE"])];
const KEY_MOVE: &[KeySpec] = &[KeySpec::single(1, &["RW", "ACCESS", "UPDATE"])];
const KEYS_RENAME: &[KeySpec] = &[
    KeySpec::single(1, &["RW", "ACCESS", "DELETE"]),
    KeySpec::single(2, &["OW", "UPDATE"]),
];
const KEYS_RENAMENX: &[KeySpec] = &[
    KeySpec::single(1, &["RW", "ACCESS", "DELETE"]),
    KeySpec::single(2, &["OW", "INSERT"]),
];
const KEYS_COPY: &[KeySpec] = &[
    KeySpec::single(1, &["RO", "ACCESS"]),
    KeySpec::single(2, &["OW", "UPDATE"]),
];
const KEY_OBJECT: &[KeySpec] = &[KeySpec::single(2, &["RO"])];

const TIPS_MULTI_SUM: &[&str] = &["request_policy:multi_shard", "response_policy:agg_sum"];
const TIPS_FLUSH: &[&str] = &["request_policy:all_shards", "response_policy:all_succeeded"];
const TIPS_NONDET: &[&str] = &["nondeterministic_output"];

const DEL_COMPLEXITY: &str = "O(N) where N is the number of keys that will be removed. When a key to remove holds a value other than a string, the individual complexity for this key is O(M) where M is the number of elements in the list, set, sorted set or hash. Removing a single key that holds a string value is O(1).";
const UNLINK_COMPLEXITY: &str = "O(1) for each key removed regardless of its size. Then the command does O(N) work in a different thread in order to reclaim memory, where N is the number of allocations the deleted objects where composed of.";
const SCAN_COMPLEXITY: &str = "O(1) for every call. O(N) for a complete iteration, including enough command calls for the cursor to return back to 0. N is the number of elements inside the collection.";

/// OBJECT's subcommands.
static OBJECT_SUBCOMMANDS: &[CommandSpec] = &[
    CommandSpec::new(
        "object|encoding",
        3,
        READONLY,
        acl::KEYSPACE | acl::READ | acl::SLOW,
        object_encoding,
    )
    .keys(KEY_OBJECT)
    .doc(
        "generic",
        "2.2.3",
        "Returns the internal encoding of a Redis object.",
        "O(1)",
    )
    .tips(TIPS_NONDET),
    CommandSpec::new(
        "object|freq",
        3,
        READONLY,
        acl::KEYSPACE | acl::READ | acl::SLOW,
        object_freq,
    )
    .keys(KEY_OBJECT)
    .doc(
        "generic",
        "4.0.0",
        "Returns the logarithmic access frequency counter of a Redis object.",
        "O(1)",
    )
    .tips(TIPS_NONDET),
    CommandSpec::new(
        "object|help",
        2,
        LOADING | STALE,
        acl::KEYSPACE | acl::SLOW,
        object_help,
    )
    .doc(
        "generic",
        "6.2.0",
        "Returns helpful text about the different subcommands.",
        "O(1)",
    ),
    CommandSpec::new(
        "object|idletime",
        3,
        READONLY,
        acl::KEYSPACE | acl::READ | acl::SLOW,
        object_idletime,
    )
    .keys(KEY_OBJECT)
    .doc(
        "generic",
        "2.2.3",
        "Returns the time since the last access to a Redis object.",
        "O(1)",
    )
    .tips(TIPS_NONDET),
    CommandSpec::new(
        "object|refcount",
        3,
        READONLY,
        acl::KEYSPACE | acl::READ | acl::SLOW,
        object_refcount,
    )
    .keys(KEY_OBJECT)
    .doc(
        "generic",
        "2.2.3",
        "Returns the reference count of a value of a key.",
        "O(1)",
    )
    .tips(TIPS_NONDET),
];

pub static COMMANDS: &[CommandSpec] = &[
    CommandSpec::new("del", -2, WRITE, acl::KEYSPACE | acl::WRITE | acl::SLOW, del)
        .keys(KEYS_DEL)
        .doc("generic", "1.0.0", "Deletes one or more keys.", DEL_COMPLEXITY)
        .tips(TIPS_MULTI_SUM),
    CommandSpec::new("unlink", -2, WRITE | FAST, acl::KEYSPACE | acl::WRITE | acl::FAST, del)
        .keys(KEYS_DEL)
        .doc("generic", "4.0.0", "Asynchronously deletes one or more keys.", UNLINK_COMPLEXITY)
        .tips(TIPS_MULTI_SUM),
    CommandSpec::new("exists", -2, READONLY | FAST, acl::KEYSPACE | acl::READ | acl::FAST, exists)
        .keys(KEYS_RO)
        .doc(
            "generic",
            "1.0.0",
            "Determines whether one or more keys exist.",
            "O(N) where N is the number of keys to check.",
        )
        .tips(TIPS_MULTI_SUM),
    CommandSpec::new("type", 2, READONLY | FAST, acl::KEYSPACE | acl::READ | acl::FAST, type_cmd)
        .keys(KEY_RO)
        .doc("generic", "1.0.0", "Determines the type of value stored at a key.", "O(1)"),
    CommandSpec::new(
        "keys",
        2,
        READONLY | ALL_SHARDS,
        acl::KEYSPACE | acl::READ | acl::SLOW | acl::DANGEROUS,
        keys,
    )
    .doc(
        "generic",
        "1.0.0",
        "Returns all key names that match a pattern.",
        "O(N) with N being the number of keys in the database, under the assumption that the key names in the database and the given pattern have limited length.",
    )
    .tips(&["request_policy:all_shards", "nondeterministic_output_order"]),
    CommandSpec::new("scan", -2, READONLY, acl::KEYSPACE | acl::READ | acl::SLOW, scan)
        .doc("generic", "2.8.0", "Iterates over the key names in the database.", SCAN_COMPLEXITY)
        .tips(&[
            "nondeterministic_output",
            "request_policy:special",
            "response_policy:special",
        ]),
    CommandSpec::new(
        "randomkey",
        1,
        READONLY | ALL_SHARDS,
        acl::KEYSPACE | acl::READ | acl::SLOW,
        randomkey,
    )
    .doc("generic", "1.0.0", "Returns a random key name from the database.", "O(1)")
    .tips(&[
        "request_policy:all_shards",
        "response_policy:special",
        "nondeterministic_output",
    ]),
    CommandSpec::new("rename", 3, WRITE, acl::KEYSPACE | acl::WRITE | acl::SLOW, rename)
        .keys(KEYS_RENAME)
        .doc("generic", "1.0.0", "Renames a key and overwrites the destination.", "O(1)"),
    CommandSpec::new("renamenx", 3, WRITE | FAST, acl::KEYSPACE | acl::WRITE | acl::FAST, renamenx)
        .keys(KEYS_RENAMENX)
        .doc(
            "generic",
            "1.0.0",
            "Renames a key only when the target key name doesn't exist.",
            "O(1)",
        ),
    CommandSpec::new("move", 3, WRITE | FAST, acl::KEYSPACE | acl::WRITE | acl::FAST, move_cmd)
        .keys(KEY_MOVE)
        .doc("generic", "1.0.0", "Moves a key to another database.", "O(1)"),
    CommandSpec::new("copy", -3, WRITE | DENYOOM, acl::KEYSPACE | acl::WRITE | acl::SLOW, copy)
        .keys(KEYS_COPY)
        .doc(
            "generic",
            "6.2.0",
            "Copies the value of a key to a new key.",
            "O(N) worst case for collections, where N is the number of nested items. O(1) for string values.",
        ),
    CommandSpec::new(
        "swapdb",
        3,
        WRITE | FAST | ALL_SHARDS,
        acl::KEYSPACE | acl::WRITE | acl::FAST | acl::DANGEROUS,
        swapdb,
    )
    .doc(
        "server",
        "4.0.0",
        "Swaps two Redis databases.",
        "O(N) where N is the count of clients watching or blocking on keys from both databases.",
    ),
    CommandSpec::new(
        "flushdb",
        -1,
        WRITE | ALL_SHARDS,
        acl::KEYSPACE | acl::WRITE | acl::SLOW | acl::DANGEROUS,
        flushdb,
    )
    .doc(
        "server",
        "1.0.0",
        "Remove all keys from the current database.",
        "O(N) where N is the number of keys in the selected database",
    )
    .tips(TIPS_FLUSH),
    CommandSpec::new(
        "flushall",
        -1,
        WRITE | ALL_SHARDS,
        acl::KEYSPACE | acl::WRITE | acl::SLOW | acl::DANGEROUS,
        flushall,
    )
    .doc(
        "server",
        "1.0.0",
        "Removes all keys from all databases.",
        "O(N) where N is the total number of keys in all databases",
    )
    .tips(TIPS_FLUSH),
    CommandSpec::new("expire", -3, WRITE | FAST, acl::KEYSPACE | acl::WRITE | acl::FAST, expire)
        .keys(KEY_RW_UPDATE)
        .doc("generic", "1.0.0", "Sets the expiration time of a key in seconds.", "O(1)"),
    CommandSpec::new("pexpire", -3, WRITE | FAST, acl::KEYSPACE | acl::WRITE | acl::FAST, pexpire)
        .keys(KEY_RW_UPDATE)
        .doc(
            "generic",
            "2.6.0",
            "Sets the expiration time of a key in milliseconds.",
            "O(1)",
        ),
    CommandSpec::new("expireat", -3, WRITE | FAST, acl::KEYSPACE | acl::WRITE | acl::FAST, expireat)
        .keys(KEY_RW_UPDATE)
        .doc(
            "generic",
            "1.2.0",
            "Sets the expiration time of a key to a Unix timestamp.",
            "O(1)",
        ),
    CommandSpec::new("pexpireat", -3, WRITE | FAST, acl::KEYSPACE | acl::WRITE | acl::FAST, pexpireat)
        .keys(KEY_RW_UPDATE)
        .doc(
            "generic",
            "2.6.0",
            "Sets the expiration time of a key to a Unix milliseconds timestamp.",
            "O(1)",
        ),
    CommandSpec::new("ttl", 2, READONLY | FAST, acl::KEYSPACE | acl::READ | acl::FAST, ttl)
        .keys(KEY_RO_ACCESS)
        .doc("generic", "1.0.0", "Returns the expiration time in seconds of a key.", "O(1)")
        .tips(TIPS_NONDET),
    CommandSpec::new("pttl", 2, READONLY | FAST, acl::KEYSPACE | acl::READ | acl::FAST, pttl)
        .keys(KEY_RO_ACCESS)
        .doc(
            "generic",
            "2.6.0",
            "Returns the expiration time in milliseconds of a key.",
            "O(1)",
        )
        .tips(TIPS_NONDET),
    CommandSpec::new(
        "expiretime",
        2,
        READONLY | FAST,
        acl::KEYSPACE | acl::READ | acl::FAST,
        expiretime,
    )
    .keys(KEY_RO_ACCESS)
    .doc(
        "generic",
        "7.0.0",
        "Returns the expiration time of a key as a Unix timestamp.",
        "O(1)",
    ),
    CommandSpec::new(
        "pexpiretime",
        2,
        READONLY | FAST,
        acl::KEYSPACE | acl::READ | acl::FAST,
        pexpiretime,
    )
    .keys(KEY_RO_ACCESS)
    .doc(
        "generic",
        "7.0.0",
        "Returns the expiration time of a key as a Unix milliseconds timestamp.",
        "O(1)",
    ),
    CommandSpec::new("persist", 2, WRITE | FAST, acl::KEYSPACE | acl::WRITE | acl::FAST, persist)
        .keys(KEY_RW_UPDATE)
        .doc("generic", "2.2.0", "Removes the expiration time of a key.", "O(1)"),
    CommandSpec::new("touch", -2, READONLY | FAST, acl::KEYSPACE | acl::READ | acl::FAST, touch)
        .keys(KEYS_RO)
        .doc(
            "generic",
            "3.2.1",
            "Returns the number of existing keys out of those specified after updating the time they were last accessed.",
            "O(N) where N is the number of keys that will be touched.",
        )
        .tips(TIPS_MULTI_SUM),
    CommandSpec::container("object", -2, acl::SLOW, OBJECT_SUBCOMMANDS).doc(
        "generic",
        "2.2.3",
        "A container for object introspection commands.",
        "Depends on subcommand.",
    ),
];

const ERR_SAME_OBJECT: &str = "source and destination objects are the same";

fn lossy(a: &[u8]) -> String {
    String::from_utf8_lossy(a).into_owned()
}

// ---------------------------------------------------------------------
// DEL, UNLINK, EXISTS, TYPE, TOUCH

/// DEL and UNLINK (values are freed in place: they are all small so far).
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

/// EXISTS: counts a key once per mention; counts keyspace hits/misses
/// without touching the access time, as Redis does.
fn exists(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    let now = ctx.now;
    let mut n = 0;
    for key in &args[1..] {
        if ctx.db(key).lookup_read(key, now, false).is_some() {
            n += 1;
        }
    }
    ctx.out.integer(n);
}

fn type_cmd(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    let now = ctx.now;
    let name = match ctx.db(args[1]).lookup_read(args[1], now, false) {
        Some(e) => e.value().value_type().name(),
        None => "none",
    };
    ctx.out.simple(name);
}

/// TOUCH updates the access time even for a CLIENT NO-TOUCH client.
fn touch(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    let now = ctx.now;
    let mut n = 0;
    for key in &args[1..] {
        if ctx.db(key).lookup_read(key, now, true).is_some() {
            n += 1;
        }
    }
    ctx.out.integer(n);
}

// ---------------------------------------------------------------------
// KEYS, SCAN, RANDOMKEY

fn keys(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    let now = ctx.now;
    let dbi = ctx.client.db;
    let pattern = args[1];
    // As in Redis, "*" lists every key (the glob "*" does not match "").
    let all = pattern == b"*";
    let n = ctx.server.keyspace.shard_count();
    let mut found: Vec<Box<[u8]>> = Vec::new();
    for i in 0..n {
        let db = ctx.shard(i).db(dbi);
        found.extend(
            db.iter()
                .filter(|e| e.is_live(now) && (all || glob_match(pattern, e.key(), false)))
                .map(|e| Box::<[u8]>::from(e.key())),
        );
    }
    ctx.out.array(found.len());
    for k in &found {
        ctx.out.bulk(k);
    }
}

/// Parses a SCAN cursor like Redis 7.2's `string2ull`: a non-negative
/// integer, or anything `strtoull` accepts whole.
pub(crate) fn parse_cursor(arg: &[u8]) -> Option<u64> {
    if let Some(v) = parse_i64(arg) {
        return (v >= 0).then_some(v as u64);
    }
    let mut s = arg;
    while let Some(c) = s.first() {
        if matches!(c, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r') {
            s = &s[1..];
        } else {
            break;
        }
    }
    let neg = match s.first() {
        Some(b'-') => {
            s = &s[1..];
            true
        }
        Some(b'+') => {
            s = &s[1..];
            false
        }
        _ => false,
    };
    if s.is_empty() || !s.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let mut v: u64 = 0;
    for d in s {
        v = v.checked_mul(10)?.checked_add(u64::from(d - b'0'))?;
    }
    Some(if neg { v.wrapping_neg() } else { v })
}

/// The options of SCAN, HSCAN, SSCAN and ZSCAN after the cursor:
/// `[MATCH pattern] [COUNT count]`, and `[TYPE type]` for SCAN only, with
/// Redis's errors (scanGenericCommand).
pub(crate) struct ScanOptions<'a> {
    pub count: usize,
    /// None for no pattern or `*`.
    pub pattern: Option<&'a [u8]>,
    pub type_name: Option<&'a [u8]>,
}

impl<'a> ScanOptions<'a> {
    pub(crate) fn parse(opts: &[&'a [u8]], allow_type: bool) -> Result<ScanOptions<'a>, &'static str> {
        let mut o = ScanOptions {
            count: 10,
            pattern: None,
            type_name: None,
        };
        let mut i = 0;
        while i < opts.len() {
            let more = opts.len() - i >= 2;
            if is(opts[i], "count") && more {
                match parse_i64(opts[i + 1]) {
                    Some(c) if c >= 1 => o.count = usize::try_from(c).unwrap_or(usize::MAX),
                    Some(_) => return Err(ERR_SYNTAX),
                    None => return Err(ERR_NOT_INT),
                }
            } else if is(opts[i], "match") && more {
                let p = opts[i + 1];
                o.pattern = (p != b"*").then_some(p);
            } else if allow_type && is(opts[i], "type") && more {
                o.type_name = Some(opts[i + 1]);
            } else {
                return Err(ERR_SYNTAX);
            }
            i += 2;
        }
        Ok(o)
    }

    /// Whether `item` matches the MATCH pattern (always, without one).
    pub(crate) fn matches(&self, item: &[u8]) -> bool {
        self.pattern.is_none_or(|p| glob_match(p, item, false))
    }
}

/// SCAN cursor [MATCH pattern] [COUNT count] [TYPE type]. The cursor
/// walks the shards in order and each shard's hash space (see
/// `Keyspace::scan`), one shard lock at a time.
fn scan(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    let Some(cursor) = parse_cursor(args[1]) else {
        ctx.out.error("invalid cursor");
        return;
    };
    let o = match ScanOptions::parse(&args[2..], true) {
        Ok(o) => o,
        Err(e) => return ctx.out.error(e),
    };
    let now = ctx.now;
    let dbi = ctx.client.db;
    let mut found = Vec::new();
    let keep = |e: &larder_engine::Entry| {
        o.matches(e.key())
            && o.type_name
                .is_none_or(|t| t.eq_ignore_ascii_case(e.value().value_type().name().as_bytes()))
    };
    let ks = &ctx.server.keyspace;
    let next = if let crate::dispatch::Locks::All(guards) = &ctx.locks {
        // Inside EXEC every shard is already held.
        ks.scan_with(|i| &*guards[i], dbi, cursor, o.count, now, &mut found, keep)
    } else {
        ks.scan(dbi, cursor, o.count, now, &mut found, keep)
    };
    ctx.out.array(2);
    ctx.out.bulk(next.to_string().as_bytes());
    ctx.out.array(found.len());
    for k in &found {
        ctx.out.bulk(k);
    }
}

fn randomkey(ctx: &mut Ctx<'_>, _args: &[&[u8]]) {
    let now = ctx.now;
    let dbi = ctx.client.db;
    let n = ctx.server.keyspace.shard_count();
    let mut rng = rand::thread_rng();
    for _ in 0..100 {
        let sizes: Vec<usize> = (0..n).map(|i| ctx.shard(i).db(dbi).len()).collect();
        let total: usize = sizes.iter().sum();
        if total == 0 {
            break;
        }
        // A shard chosen with probability proportional to its size, then
        // a key within it: uniform over the database.
        let mut r = rng.gen_range(0..total);
        let mut shard = 0;
        for (i, &s) in sizes.iter().enumerate() {
            if r < s {
                shard = i;
                break;
            }
            r -= s;
        }
        if let Some(k) = ctx.shard(shard).db(dbi).random_key(&mut rng, now) {
            ctx.out.bulk(&k);
            return;
        }
    }
    ctx.out.null();
}

// ---------------------------------------------------------------------
// RENAME, RENAMENX, MOVE, COPY

fn rename(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    rename_generic(ctx, args, false);
}

fn renamenx(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    rename_generic(ctx, args, true);
}

fn rename_generic(ctx: &mut Ctx<'_>, args: &[&[u8]], nx: bool) {
    let (src, dst) = (args[1], args[2]);
    let now = ctx.now;
    if ctx.db(src).lookup_write(src, now).is_none() {
        return ctx.out.error(ERR_NO_KEY);
    }
    if src == dst {
        return if nx { ctx.out.integer(0) } else { ctx.out.ok() };
    }
    if ctx.db(dst).contains(dst, now) {
        if nx {
            return ctx.out.integer(0);
        }
        ctx.db(dst).remove(dst, now);
    }
    let Some(entry) = ctx.db(src).remove(src, now) else {
        return ctx.out.error(ERR_NO_KEY);
    };
    ctx.db(dst).insert_entry(dst, entry, now);
    ctx.dirty(1);
    if nx {
        ctx.out.integer(1)
    } else {
        ctx.out.ok()
    }
}

/// Redis's getIntFromObjectOrReply: an i64, then the i32 range check.
fn int32_arg(arg: &[u8]) -> Result<i64, &'static str> {
    let v = parse_i64(arg).ok_or(ERR_NOT_INT)?;
    if v < i64::from(i32::MIN) || v > i64::from(i32::MAX) {
        return Err("value is out of range, value must between -2147483648 and 2147483647");
    }
    Ok(v)
}

/// A DB index argument checked against the database count.
fn db_index_arg(ctx: &Ctx<'_>, arg: &[u8]) -> Result<usize, &'static str> {
    let v = int32_arg(arg)?;
    let dbs = ctx.server.keyspace.databases();
    if v < 0 || v as usize >= dbs {
        return Err(ERR_DB_INDEX);
    }
    Ok(v as usize)
}

fn move_cmd(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    let key = args[1];
    let src = ctx.client.db;
    let dst = match db_index_arg(ctx, args[2]) {
        Ok(d) => d,
        Err(e) => return ctx.out.error(e),
    };
    if src == dst {
        return ctx.out.error(ERR_SAME_OBJECT);
    }
    let now = ctx.now;
    if ctx.db_in(src, key).lookup_write(key, now).is_none() {
        return ctx.out.integer(0);
    }
    if ctx.db_in(dst, key).contains(key, now) {
        return ctx.out.integer(0);
    }
    let Some(entry) = ctx.db_in(src, key).remove(key, now) else {
        return ctx.out.integer(0);
    };
    ctx.db_in(dst, key).insert_entry(key, entry, now);
    ctx.dirty(1);
    ctx.out.integer(1);
}

fn copy(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    let (key, newkey) = (args[1], args[2]);
    let src = ctx.client.db;
    let mut dst = src;
    let mut replace = false;
    let mut j = 3;
    while j < args.len() {
        if is(args[j], "replace") {
            replace = true;
        } else if is(args[j], "db") && j + 1 < args.len() {
            dst = match db_index_arg(ctx, args[j + 1]) {
                Ok(d) => d,
                Err(e) => return ctx.out.error(e),
            };
            j += 1;
        } else {
            return ctx.out.error(ERR_SYNTAX);
        }
        j += 1;
    }
    if src == dst && key == newkey {
        return ctx.out.error(ERR_SAME_OBJECT);
    }
    let now = ctx.now;
    let touch = !ctx.client.no_touch;
    let Some((value, expire)) = ctx
        .db_in(src, key)
        .lookup_read(key, now, touch)
        .map(|e| (e.value().clone(), e.expire_at()))
    else {
        return ctx.out.integer(0);
    };
    let target = ctx.db_in(dst, newkey);
    if target.contains(newkey, now) {
        if !replace {
            return ctx.out.integer(0);
        }
        target.remove(newkey, now);
    }
    target.set(newkey, value, expire, false, now);
    ctx.dirty(1);
    ctx.out.integer(1);
}

// ---------------------------------------------------------------------
// SWAPDB, FLUSHDB, FLUSHALL

fn swapdb(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    let Ok(a) = int32_arg(args[1]) else {
        return ctx.out.error("invalid first DB index");
    };
    let Ok(b) = int32_arg(args[2]) else {
        return ctx.out.error("invalid second DB index");
    };
    let dbs = ctx.server.keyspace.databases() as i64;
    if a < 0 || a >= dbs || b < 0 || b >= dbs {
        return ctx.out.error(ERR_DB_INDEX);
    }
    let n = ctx.server.keyspace.shard_count();
    for i in 0..n {
        ctx.shard(i).swap_dbs(a as usize, b as usize);
    }
    ctx.dirty(1);
    ctx.out.ok();
}

/// FLUSHDB/FLUSHALL's [ASYNC|SYNC]: Some(async) or None on a syntax error.
fn flush_mode(ctx: &Ctx<'_>, args: &[&[u8]]) -> Option<bool> {
    match args.len() {
        1 => Some(ctx.server.config.read().lazyfree_lazy_user_flush),
        2 if is(args[1], "sync") => Some(false),
        2 if is(args[1], "async") => Some(true),
        _ => None,
    }
}

/// Empties the given databases in every shard; with `lazy`, big
/// contents are dropped on another thread. Returns the keys removed.
fn flush_dbs(ctx: &mut Ctx<'_>, dbs: std::ops::Range<usize>, lazy: bool) -> usize {
    let n = ctx.server.keyspace.shard_count();
    let mut removed = 0;
    let mut garbage = Vec::new();
    for i in 0..n {
        let shard = ctx.shard(i);
        for d in dbs.clone() {
            let (table, k) = shard.db(d).take_all();
            removed += k;
            if k > 0 {
                garbage.push(table);
            }
        }
    }
    if lazy && removed > 1024 {
        // Counted as Redis's lazyfree_pending_objects / lazyfreed_objects.
        let server = ctx.server.arc();
        if let Some(s) = &server {
            s.stats
                .lazyfree_pending
                .fetch_add(removed as u64, std::sync::atomic::Ordering::Relaxed);
        }
        std::thread::spawn(move || {
            drop(garbage);
            crate::alloc::flush_thread();
            if let Some(s) = server {
                s.stats
                    .lazyfree_pending
                    .fetch_sub(removed as u64, std::sync::atomic::Ordering::Relaxed);
                s.stats
                    .lazyfreed
                    .fetch_add(removed as u64, std::sync::atomic::Ordering::Relaxed);
            }
        });
    } else {
        drop(garbage);
    }
    removed
}

fn flushdb(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    let Some(lazy) = flush_mode(ctx, args) else {
        return ctx.out.error(ERR_SYNTAX);
    };
    let dbi = ctx.client.db;
    let removed = flush_dbs(ctx, dbi..dbi + 1, lazy);
    ctx.dirty(removed as u64);
    ctx.out.ok();
}

fn flushall(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    let Some(lazy) = flush_mode(ctx, args) else {
        return ctx.out.error(ERR_SYNTAX);
    };
    let dbs = ctx.server.keyspace.databases();
    let removed = flush_dbs(ctx, 0..dbs, lazy);
    ctx.dirty(removed as u64);
    // With save points set, Redis saves the now empty dataset at once
    // (flushAllDataAndResetRDB).
    if !ctx.server.config.read().save.is_empty() {
        crate::persist::save_flushed(ctx.server);
    }
    ctx.dirty(1);
    ctx.out.ok();
}

// ---------------------------------------------------------------------
// EXPIRE family, TTL family, PERSIST

fn expire(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    let now = ctx.now as i64;
    expire_generic(ctx, args, now, true);
}

fn pexpire(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    let now = ctx.now as i64;
    expire_generic(ctx, args, now, false);
}

fn expireat(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    expire_generic(ctx, args, 0, true);
}

fn pexpireat(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    expire_generic(ctx, args, 0, false);
}

/// Redis's expireGenericCommand: `basetime` ms is added to the argument
/// (in seconds when `secs`); a deadline not in the future deletes the key.
fn expire_generic(ctx: &mut Ctx<'_>, args: &[&[u8]], basetime: i64, secs: bool) {
    let (mut nx, mut xx, mut gt, mut lt) = (false, false, false, false);
    for opt in &args[3..] {
        if is(opt, "nx") {
            nx = true;
        } else if is(opt, "xx") {
            xx = true;
        } else if is(opt, "gt") {
            gt = true;
        } else if is(opt, "lt") {
            lt = true;
        } else {
            return ctx.out.error(&format!("Unsupported option {}", lossy(opt)));
        }
    }
    if nx && (xx || gt || lt) {
        return ctx
            .out
            .error("NX and XX, GT or LT options at the same time are not compatible");
    }
    if gt && lt {
        return ctx.out.error("GT and LT options at the same time are not compatible");
    }
    let Some(mut when) = parse_i64(args[2]) else {
        return ctx.out.error(ERR_NOT_INT);
    };
    let invalid = format!(
        "invalid expire time in '{}' command",
        lossy(args[0]).to_ascii_lowercase()
    );
    if secs {
        match when.checked_mul(1000) {
            Some(ms) => when = ms,
            None => return ctx.out.error(&invalid),
        }
    }
    match when.checked_add(basetime) {
        Some(t) => when = t,
        None => return ctx.out.error(&invalid),
    }
    let key = args[1];
    let now = ctx.now;
    let db = ctx.db(key);
    let Some(e) = db.lookup_write(key, now) else {
        return ctx.out.integer(0);
    };
    let current: i64 = e.expire_at().map_or(-1, |t| t as i64);
    let refused = (nx && current != -1)
        || (xx && current == -1)
        || (gt && (current == -1 || when <= current))
        || (lt && current != -1 && when >= current);
    if refused {
        return ctx.out.integer(0);
    }
    if when <= now as i64 {
        db.remove(key, now);
    } else {
        db.set_expire(key, Some(when as u64), now);
    }
    ctx.dirty(1);
    ctx.out.integer(1);
}

/// TTL, PTTL, EXPIRETIME, PEXPIRETIME: -2 for a missing key, -1 for no
/// TTL; seconds are rounded to nearest as Redis does.
fn ttl_generic(ctx: &mut Ctx<'_>, args: &[&[u8]], ms: bool, absolute: bool) {
    let now = ctx.now;
    let Some(e) = ctx.db(args[1]).lookup_read(args[1], now, false) else {
        return ctx.out.integer(-2);
    };
    let Some(at) = e.expire_at() else {
        return ctx.out.integer(-1);
    };
    let t = if absolute {
        at as i64
    } else {
        (at as i64).saturating_sub(now as i64).max(0)
    };
    ctx.out.integer(if ms { t } else { (t + 500) / 1000 });
}

fn ttl(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    ttl_generic(ctx, args, false, false);
}

fn pttl(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    ttl_generic(ctx, args, true, false);
}

fn expiretime(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    ttl_generic(ctx, args, false, true);
}

fn pexpiretime(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    ttl_generic(ctx, args, true, true);
}

fn persist(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    let key = args[1];
    let now = ctx.now;
    let db = ctx.db(key);
    let had_ttl = match db.lookup_write(key, now) {
        Some(e) => e.expire_at().is_some(),
        None => false,
    };
    if had_ttl {
        db.set_expire(key, None, now);
        ctx.dirty(1);
    }
    ctx.out.integer(i64::from(had_ttl));
}

// ---------------------------------------------------------------------
// OBJECT

/// Redis's refcount for shared small integers (OBJ_SHARED_REFCOUNT).
const SHARED_REFCOUNT: i64 = i32::MAX as i64;
use larder_engine::Mode;

fn object_help(ctx: &mut Ctx<'_>, _args: &[&[u8]]) {
    let lines = [
        "OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "ENCODING <key>",
        "    Return the kind of internal representation used in order to store the value",
        "    associated with a <key>.",
        "FREQ <key>",
        "    Return the access frequency index of the <key>. The returned integer is",
        "    proportional to the logarithm of the recent access frequency of the key.",
        "IDLETIME <key>",
        "    Return the idle time of the <key>, that is the approximated number of",
        "    seconds elapsed since the last access to the key.",
        "REFCOUNT <key>",
        "    Return the number of references of the value associated with the specified",
        "    <key>.",
        "HELP",
        "    Prints this help.",
    ];
    super::server::help_reply(ctx, &lines);
}

fn object_encoding(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    let now = ctx.now;
    match ctx.db(args[2]).lookup_read(args[2], now, false) {
        Some(e) => {
            let enc = e.value().encoding();
            ctx.out.bulk_str(enc);
        }
        None => ctx.out.null(),
    }
}

fn object_refcount(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    // Small integers are shared objects in Redis unless an LRU/LFU
    // maxmemory policy needs per-object access data.
    let shared_ints = {
        let cfg = ctx.server.config.read();
        cfg.maxmemory == 0 || !cfg.maxmemory_policy.no_shared_integers()
    };
    let now = ctx.now;
    let rc = match ctx.db(args[2]).lookup_read(args[2], now, false) {
        Some(e) => match e.value() {
            larder_engine::Value::Int(n) if shared_ints && (0..10_000).contains(n) => SHARED_REFCOUNT,
            _ => 1,
        },
        None => return ctx.out.null(),
    };
    ctx.out.integer(rc);
}

fn object_idletime(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    let mode = ctx.server.eviction.policy().mode();
    let now = ctx.now;
    let Some(e) = ctx.db(args[2]).lookup_read(args[2], now, false) else {
        return ctx.out.null();
    };
    match mode {
        Mode::Lfu => return ctx.out.error("An LFU maxmemory policy is selected, idle time not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust."),
        // S3-FIFO's word is a logical insertion clock, not a time.
        Mode::Fifo => return ctx.out.error("An S3-FIFO maxmemory policy is selected, idle time not tracked. Please note that when switching between policies at runtime LRU and S3-FIFO data will take some time to adjust."),
        Mode::Lru => {}
    }
    let idle = larder_engine::evict::lru_idle_ms(e.access(), now) / 1000;
    ctx.out.integer(idle as i64);
}

fn object_freq(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    let lfu = ctx.server.eviction.policy().mode() == Mode::Lfu;
    let now = ctx.now;
    let tracking = ctx.server.keyspace.tracking().clone();
    let Some(e) = ctx.db(args[2]).lookup_read(args[2], now, false) else {
        return ctx.out.null();
    };
    if !lfu {
        return ctx.out.error("An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.");
    }
    let freq = tracking.lfu_freq(e, now);
    ctx.out.integer(i64::from(freq));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_parsing_follows_string2ull() {
        assert_eq!(parse_cursor(b"0"), Some(0));
        assert_eq!(parse_cursor(b"18446744073709551615"), Some(u64::MAX));
        assert_eq!(parse_cursor(b"18446744073709551616"), None);
        assert_eq!(parse_cursor(b"-1"), None);
        assert_eq!(parse_cursor(b"x"), None);
        assert_eq!(parse_cursor(b""), None);
        assert_eq!(parse_cursor(b"1 "), None);
        assert_eq!(parse_cursor(b"12a"), None);
    }

    #[test]
    fn object_subcommands_are_named_under_object() {
        for s in OBJECT_SUBCOMMANDS {
            assert!(s.name.starts_with("object|"));
        }
    }
}
