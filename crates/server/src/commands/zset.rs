//! Sorted set commands (Redis's t_zset.c).

use std::cmp::Ordering;

use rand::Rng;

use larder_engine::types::{Set, ZSet};
use larder_engine::{Db, Limits, Value};
use larder_protocol::format_double;
use larder_protocol::Reply;

use super::{acl, flags::*, BeginSearch, CommandSpec, FindKeys, KeySpec};
use crate::blocking::{parse_timeout, TimeoutReply};
use crate::commands::keyspace::{parse_cursor, ScanOptions};
use crate::dispatch::Ctx;
use crate::util::{is, parse_i64, parse_mpop, ERR_NOT_FLOAT, ERR_NOT_INT, ERR_SYNTAX, ERR_WRONGTYPE};

const KEY_RW_UPDATE: &[KeySpec] = &[KeySpec::single(1, &["RW", "UPDATE"])];
const KEY_RW_ACCESS_UPDATE: &[KeySpec] = &[KeySpec::single(1, &["RW", "ACCESS", "UPDATE"])];
const KEY_RW_DELETE: &[KeySpec] = &[KeySpec::single(1, &["RW", "DELETE"])];
const KEY_RW_ACCESS_DELETE: &[KeySpec] = &[KeySpec::single(1, &["RW", "ACCESS", "DELETE"])];
const KEY_RO: &[KeySpec] = &[KeySpec::single(1, &["RO"])];
const KEY_RO_ACCESS: &[KeySpec] = &[KeySpec::single(1, &["RO", "ACCESS"])];
const KEYS_ZRANGESTORE: &[KeySpec] = &[
    KeySpec::single(1, &["OW", "UPDATE"]),
    KeySpec::single(2, &["RO", "ACCESS"]),
];
const KEYS_BZPOP: &[KeySpec] = &[KeySpec::range(1, -2, 1, &["RW", "ACCESS", "DELETE"])];
const fn keynum(index: i32, flags: &'static [&'static str]) -> KeySpec {
    KeySpec {
        begin: BeginSearch::Index(index),
        find: FindKeys::Keynum {
            keynum_idx: 0,
            first_key: 1,
            step: 1,
        },
        flags,
    }
}
const KEYS_ZMPOP: &[KeySpec] = &[keynum(1, &["RW", "ACCESS", "DELETE"])];
const KEYS_BZMPOP: &[KeySpec] = &[keynum(2, &["RW", "ACCESS", "DELETE"])];
const KEYS_NUMKEYS_RO: &[KeySpec] = &[keynum(1, &["RO", "ACCESS"])];
const KEYS_STORE_NUMKEYS: &[KeySpec] = &[KeySpec::single(1, &["OW", "UPDATE"]), keynum(2, &["RO", "ACCESS"])];

const TIPS_NONDET: &[&str] = &["nondeterministic_output"];

const W: u64 = acl::WRITE | acl::SORTEDSET;
const R: u64 = acl::READ | acl::SORTEDSET;

const BYSCORE_COMPLEXITY: &str = "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements being returned. If M is constant (e.g. always asking for the first 10 elements with LIMIT), you can consider it O(log(N)).";
const REMRANGE_COMPLEXITY: &str = "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements removed by the operation.";
const POP_COMPLEXITY: &str =
    "O(log(N)*M) with N being the number of elements in the sorted set, and M being the number of elements popped.";
const MPOP_COMPLEXITY: &str = "O(K) + O(M*log(N)) where K is the number of provided keys, N being the number of elements in the sorted set, and M being the number of elements popped.";
const UNION_COMPLEXITY: &str = "O(N)+O(M*log(M)) with N being the sum of the sizes of the input sorted sets, and M being the number of elements in the resulting sorted set.";
const UNIONSTORE_COMPLEXITY: &str = "O(N)+O(M log(M)) with N being the sum of the sizes of the input sorted sets, and M being the number of elements in the resulting sorted set.";
const INTER_COMPLEXITY: &str = "O(N*K)+O(M*log(M)) worst case with N being the smallest input sorted set, K being the number of input sorted sets and M being the number of elements in the resulting sorted set.";
const DIFF_COMPLEXITY: &str = "O(L + (N-K)log(N)) worst case where L is the total number of elements in all the sets, N is the size of the first set, and K is the size of the result set.";

pub static COMMANDS: &[CommandSpec] = &[
    CommandSpec::new("zadd", -4, WRITE | DENYOOM | FAST, W | acl::FAST, zadd)
        .keys(KEY_RW_UPDATE)
        .doc(
            "sorted-set",
            "1.2.0",
            "Adds one or more members to a sorted set, or updates their scores. Creates the key if it doesn't exist.",
            "O(log(N)) for each item added, where N is the number of elements in the sorted set.",
        ),
    CommandSpec::new("zincrby", 4, WRITE | DENYOOM | FAST, W | acl::FAST, zincrby)
        .keys(KEY_RW_ACCESS_UPDATE)
        .doc(
            "sorted-set",
            "1.2.0",
            "Increments the score of a member in a sorted set.",
            "O(log(N)) where N is the number of elements in the sorted set.",
        ),
    CommandSpec::new("zrem", -3, WRITE | FAST, W | acl::FAST, zrem)
        .keys(KEY_RW_DELETE)
        .doc(
            "sorted-set",
            "1.2.0",
            "Removes one or more members from a sorted set. Deletes the sorted set if all members were removed.",
            "O(M*log(N)) with N being the number of elements in the sorted set and M the number of elements to be removed.",
        ),
    CommandSpec::new("zcard", 2, READONLY | FAST, R | acl::FAST, zcard)
        .keys(KEY_RO)
        .doc("sorted-set", "1.2.0", "Returns the number of members in a sorted set.", "O(1)"),
    CommandSpec::new("zcount", 4, READONLY | FAST, R | acl::FAST, zcount)
        .keys(KEY_RO_ACCESS)
        .doc(
            "sorted-set",
            "2.0.0",
            "Returns the count of members in a sorted set that have scores within a range.",
            "O(log(N)) with N being the number of elements in the sorted set.",
        ),
    CommandSpec::new("zlexcount", 4, READONLY | FAST, R | acl::FAST, zlexcount)
        .keys(KEY_RO_ACCESS)
        .doc(
            "sorted-set",
            "2.8.9",
            "Returns the number of members in a sorted set within a lexicographical range.",
            "O(log(N)) with N being the number of elements in the sorted set.",
        ),
    CommandSpec::new("zscore", 3, READONLY | FAST, R | acl::FAST, zscore)
        .keys(KEY_RO_ACCESS)
        .doc("sorted-set", "1.2.0", "Returns the score of a member in a sorted set.", "O(1)"),
    CommandSpec::new("zmscore", -3, READONLY | FAST, R | acl::FAST, zmscore)
        .keys(KEY_RO_ACCESS)
        .doc(
            "sorted-set",
            "6.2.0",
            "Returns the score of one or more members in a sorted set.",
            "O(N) where N is the number of members being requested.",
        ),
    CommandSpec::new("zrank", -3, READONLY | FAST, R | acl::FAST, zrank)
        .keys(KEY_RO_ACCESS)
        .doc(
            "sorted-set",
            "2.0.0",
            "Returns the index of a member in a sorted set ordered by ascending scores.",
            "O(log(N))",
        ),
    CommandSpec::new("zrevrank", -3, READONLY | FAST, R | acl::FAST, zrevrank)
        .keys(KEY_RO_ACCESS)
        .doc(
            "sorted-set",
            "2.0.0",
            "Returns the index of a member in a sorted set ordered by descending scores.",
            "O(log(N))",
        ),
    CommandSpec::new("zrange", -4, READONLY, R | acl::SLOW, zrange)
        .keys(KEY_RO_ACCESS)
        .doc(
            "sorted-set",
            "1.2.0",
            "Returns members in a sorted set within a range of indexes.",
            "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements returned.",
        ),
    CommandSpec::new("zrangestore", -5, WRITE | DENYOOM, W | acl::SLOW, zrangestore)
        .keys(KEYS_ZRANGESTORE)
        .doc(
            "sorted-set",
            "6.2.0",
            "Stores a range of members from sorted set in a key.",
            "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements stored into the destination key.",
        ),
    CommandSpec::new("zrevrange", -4, READONLY, R | acl::SLOW, zrevrange)
        .keys(KEY_RO_ACCESS)
        .doc(
            "sorted-set",
            "1.2.0",
            "Returns members in a sorted set within a range of indexes in reverse order.",
            "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements returned.",
        ),
    CommandSpec::new("zrangebyscore", -4, READONLY, R | acl::SLOW, zrangebyscore)
        .keys(KEY_RO_ACCESS)
        .doc(
            "sorted-set",
            "1.0.5",
            "Returns members in a sorted set within a range of scores.",
            BYSCORE_COMPLEXITY,
        ),
    CommandSpec::new("zrevrangebyscore", -4, READONLY, R | acl::SLOW, zrevrangebyscore)
        .keys(KEY_RO_ACCESS)
        .doc(
            "sorted-set",
            "2.2.0",
            "Returns members in a sorted set within a range of scores in reverse order.",
            BYSCORE_COMPLEXITY,
        ),
    CommandSpec::new("zrangebylex", -4, READONLY, R | acl::SLOW, zrangebylex)
        .keys(KEY_RO_ACCESS)
        .doc(
            "sorted-set",
            "2.8.9",
            "Returns members in a sorted set within a lexicographical range.",
            BYSCORE_COMPLEXITY,
        ),
    CommandSpec::new("zrevrangebylex", -4, READONLY, R | acl::SLOW, zrevrangebylex)
        .keys(KEY_RO_ACCESS)
        .doc(
            "sorted-set",
            "2.8.9",
            "Returns members in a sorted set within a lexicographical range in reverse order.",
            BYSCORE_COMPLEXITY,
        ),
    CommandSpec::new("zremrangebyrank", 4, WRITE, W | acl::SLOW, zremrangebyrank)
        .keys(KEY_RW_DELETE)
        .doc(
            "sorted-set",
            "2.0.0",
            "Removes members in a sorted set within a range of indexes. Deletes the sorted set if all members were removed.",
            REMRANGE_COMPLEXITY,
        ),
    CommandSpec::new("zremrangebyscore", 4, WRITE, W | acl::SLOW, zremrangebyscore)
        .keys(KEY_RW_DELETE)
        .doc(
            "sorted-set",
            "1.2.0",
            "Removes members in a sorted set within a range of scores. Deletes the sorted set if all members were removed.",
            REMRANGE_COMPLEXITY,
        ),
    CommandSpec::new("zremrangebylex", 4, WRITE, W | acl::SLOW, zremrangebylex)
        .keys(KEY_RW_DELETE)
        .doc(
            "sorted-set",
            "2.8.9",
            "Removes members in a sorted set within a lexicographical range. Deletes the sorted set if all members were removed.",
            REMRANGE_COMPLEXITY,
        ),
    CommandSpec::new("zpopmin", -2, WRITE | FAST, W | acl::FAST, zpopmin)
        .keys(KEY_RW_ACCESS_DELETE)
        .doc(
            "sorted-set",
            "5.0.0",
            "Returns the lowest-scoring members from a sorted set after removing them. Deletes the sorted set if the last member was popped.",
            POP_COMPLEXITY,
        ),
    CommandSpec::new("zpopmax", -2, WRITE | FAST, W | acl::FAST, zpopmax)
        .keys(KEY_RW_ACCESS_DELETE)
        .doc(
            "sorted-set",
            "5.0.0",
            "Returns the highest-scoring members from a sorted set after removing them. Deletes the sorted set if the last member was popped.",
            POP_COMPLEXITY,
        ),
    CommandSpec::new("zmpop", -4, WRITE, W | acl::SLOW, zmpop)
        .keys(KEYS_ZMPOP)
        .doc(
            "sorted-set",
            "7.0.0",
            "Returns the highest- or lowest-scoring members from one or more sorted sets after removing them. Deletes the sorted set if the last member was popped.",
            MPOP_COMPLEXITY,
        ),
    CommandSpec::new(
        "bzpopmin",
        -3,
        WRITE | NOSCRIPT | BLOCKING | FAST,
        W | acl::FAST | acl::BLOCKING,
        bzpopmin,
    )
    .keys(KEYS_BZPOP)
    .doc(
        "sorted-set",
        "5.0.0",
        "Removes and returns the member with the lowest score from one or more sorted sets. Blocks until a member is available otherwise. Deletes the sorted set if the last element was popped.",
        "O(log(N)) with N being the number of elements in the sorted set.",
    ),
    CommandSpec::new(
        "bzpopmax",
        -3,
        WRITE | NOSCRIPT | BLOCKING | FAST,
        W | acl::FAST | acl::BLOCKING,
        bzpopmax,
    )
    .keys(KEYS_BZPOP)
    .doc(
        "sorted-set",
        "5.0.0",
        "Removes and returns the member with the highest score from one or more sorted sets. Blocks until a member available otherwise.  Deletes the sorted set if the last element was popped.",
        "O(log(N)) with N being the number of elements in the sorted set.",
    ),
    CommandSpec::new("bzmpop", -5, WRITE | BLOCKING, W | acl::SLOW | acl::BLOCKING, bzmpop)
        .keys(KEYS_BZMPOP)
        .doc(
            "sorted-set",
            "7.0.0",
            "Removes and returns a member by score from one or more sorted sets. Blocks until a member is available otherwise. Deletes the sorted set if the last element was popped.",
            MPOP_COMPLEXITY,
        ),
    CommandSpec::new("zrandmember", -2, READONLY, R | acl::SLOW, zrandmember)
        .keys(KEY_RO_ACCESS)
        .doc(
            "sorted-set",
            "6.2.0",
            "Returns one or more random members from a sorted set.",
            "O(N) where N is the number of members returned",
        )
        .tips(TIPS_NONDET),
    CommandSpec::new("zunion", -3, READONLY, R | acl::SLOW, zunion)
        .keys(KEYS_NUMKEYS_RO)
        .doc("sorted-set", "6.2.0", "Returns the union of multiple sorted sets.", UNION_COMPLEXITY),
    CommandSpec::new("zinter", -3, READONLY, R | acl::SLOW, zinter)
        .keys(KEYS_NUMKEYS_RO)
        .doc(
            "sorted-set",
            "6.2.0",
            "Returns the intersect of multiple sorted sets.",
            INTER_COMPLEXITY,
        ),
    CommandSpec::new("zdiff", -3, READONLY, R | acl::SLOW, zdiff)
        .keys(KEYS_NUMKEYS_RO)
        .doc(
            "sorted-set",
            "6.2.0",
            "Returns the difference between multiple sorted sets.",
            DIFF_COMPLEXITY,
        ),
    CommandSpec::new("zunionstore", -4, WRITE | DENYOOM, W | acl::SLOW, zunionstore)
        .keys(KEYS_STORE_NUMKEYS)
        .doc(
            "sorted-set",
            "2.0.0",
            "Stores the union of multiple sorted sets in a key.",
            UNIONSTORE_COMPLEXITY,
        ),
    CommandSpec::new("zinterstore", -4, WRITE | DENYOOM, W | acl::SLOW, zinterstore)
        .keys(KEYS_STORE_NUMKEYS)
        .doc(
            "sorted-set",
            "2.0.0",
            "Stores the intersect of multiple sorted sets in a key.",
            INTER_COMPLEXITY,
        ),
    CommandSpec::new("zdiffstore", -4, WRITE | DENYOOM, W | acl::SLOW, zdiffstore)
        .keys(KEYS_STORE_NUMKEYS)
        .doc(
            "sorted-set",
            "6.2.0",
            "Stores the difference of multiple sorted sets in a key.",
            DIFF_COMPLEXITY,
        ),
    CommandSpec::new("zintercard", -3, READONLY, R | acl::SLOW, zintercard)
        .keys(KEYS_NUMKEYS_RO)
        .doc(
            "sorted-set",
            "7.0.0",
            "Returns the number of members of the intersect of multiple sorted sets.",
            "O(N*K) worst case with N being the smallest input sorted set, K being the number of input sorted sets.",
        ),
    CommandSpec::new("zscan", -3, READONLY, R | acl::SLOW, zscan)
        .keys(KEY_RO_ACCESS)
        .doc(
            "sorted-set",
            "2.8.0",
            "Iterates over members and scores of a sorted set.",
            "O(1) for every call. O(N) for a complete iteration, including enough command calls for the cursor to return back to 0. N is the number of elements inside the collection.",
        )
        .tips(TIPS_NONDET),
];

// ---------------------------------------------------------------------------
// Helpers

const ERR_NAN: &str = "resulting score is not a number (NaN)";
const ERR_SCORE_RANGE: &str = "min or max is not a float";
const ERR_LEX_RANGE: &str = "min or max not valid string range item";
const ERR_POSITIVE: &str = "value is out of range, must be positive";

/// The database part holding `key`, borrowing only `ctx.locks`.
macro_rules! db {
    ($ctx:ident, $key:expr) => {{
        let ks = &$ctx.server.keyspace;
        let dbi = $ctx.client.db;
        $ctx.locks.shard(ks, ks.shard_of($key)).db(dbi)
    }};
}

/// Looks `key` up for reading. `Err` (reply written) on a wrong type.
pub(crate) fn read_zset<'e>(
    db: &'e mut Db,
    out: &mut Reply,
    key: &[u8],
    now: u64,
    touch: bool,
) -> Result<Option<&'e ZSet>, ()> {
    match db.lookup_read(key, now, touch) {
        None => Ok(None),
        Some(e) => match e.value() {
            Value::ZSet(z) => Ok(Some(z)),
            _ => {
                out.error(ERR_WRONGTYPE);
                Err(())
            }
        },
    }
}

/// Looks `key` up for writing. `Err` (reply written) on a wrong type.
fn write_zset<'e>(db: &'e mut Db, out: &mut Reply, key: &[u8], now: u64) -> Result<Option<&'e mut ZSet>, ()> {
    match db.lookup_write(key, now) {
        None => Ok(None),
        Some(e) => match e.value_mut() {
            Value::ZSet(z) => Ok(Some(z)),
            _ => {
                out.error(ERR_WRONGTYPE);
                Err(())
            }
        },
    }
}

/// Deletes `key` if its sorted set became empty.
fn delete_if_empty(db: &mut Db, key: &[u8], now: u64) {
    let empty = matches!(db.peek(key, now).map(|e| e.value()), Some(Value::ZSet(z)) if z.is_empty());
    if empty {
        db.remove(key, now);
    }
}

/// Writes one (member, score) pair: a nested 2-array in RESP3 when
/// `nested`, two flat items otherwise.
fn pair(out: &mut Reply, nested: bool, member: &[u8], score: f64) {
    if nested {
        out.array(2);
    }
    out.bulk(member);
    out.double(score);
}

/// Array header for `n` elements, with scores or not: RESP3 nests pairs,
/// RESP2 flattens them.
fn elems_header(out: &mut Reply, n: usize, withscores: bool) {
    if withscores && !out.is_resp3() {
        out.array(n * 2);
    } else {
        out.array(n);
    }
}

fn elem(out: &mut Reply, withscores: bool, member: &[u8], score: f64) {
    if withscores {
        pair(out, out.is_resp3(), member, score);
    } else {
        out.bulk(member);
    }
}

/// C's strtod over a whole string (no leading whitespace here): decimal,
/// hexadecimal (`0x1p-2`), `inf`/`infinity`, `nan`. Returns the value and
/// whether it over- or underflowed (ERANGE), or None if the string is
/// not entirely a number.
fn c_strtod(s: &[u8]) -> Option<(f64, bool)> {
    let s = std::str::from_utf8(s).ok()?;
    let (neg, body) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let lower = body.to_ascii_lowercase();
    let sign = if neg { -1.0 } else { 1.0 };
    if lower == "inf" || lower == "infinity" {
        return Some((sign * f64::INFINITY, false));
    }
    if lower == "nan" {
        return Some((f64::NAN, false));
    }
    if let Some(hex) = lower.strip_prefix("0x") {
        let (mant, exp) = match hex.split_once('p') {
            Some((m, e)) => (m, Some(e)),
            None => (hex, None),
        };
        let (int, frac) = mant.split_once('.').unwrap_or((mant, ""));
        if int.is_empty() && frac.is_empty() {
            return None;
        }
        let mut v = 0.0f64;
        for c in int.chars().chain(frac.chars()) {
            v = v * 16.0 + f64::from(c.to_digit(16)?);
        }
        let mut e: i64 = -4 * frac.len() as i64;
        if let Some(x) = exp {
            let digits = x.strip_prefix(['+', '-']).unwrap_or(x);
            if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            let n: i64 = x.parse().unwrap_or(if x.starts_with('-') { -100_000 } else { 100_000 });
            e = e.saturating_add(n.clamp(-100_000, 100_000));
        }
        let r = v * 2f64.powi(e.clamp(-2000, 2000) as i32);
        let erange = r.is_infinite() || (r == 0.0 && v != 0.0);
        return Some((sign * r, erange));
    }
    // Decimal: Rust accepts the same forms strtod does here (but not
    // "inf"-like words or hex, handled above).
    if body.is_empty() || !body.bytes().next().is_some_and(|b| b.is_ascii_digit() || b == b'.') {
        return None;
    }
    let v: f64 = body.parse().ok()?;
    let nonzero = body
        .split(['e', 'E'])
        .next()
        .is_some_and(|m| m.bytes().any(|b| (b'1'..=b'9').contains(&b)));
    let erange = v.is_infinite() || (v == 0.0 && nonzero);
    Some((sign * v, erange))
}

/// A score argument as Redis's getDoubleFromObject reads it: the whole
/// argument, no leading space, no NaN, no overflow or underflow to zero.
pub(crate) fn parse_score(arg: &[u8]) -> Option<f64> {
    if arg.first().is_none_or(|c| c.is_ascii_whitespace()) {
        return None;
    }
    match c_strtod(arg)? {
        (v, false) if !v.is_nan() => Some(v),
        _ => None,
    }
}

/// C's strtod as Redis's range parsers use it: leading whitespace
/// allowed, the whole rest must be a number, NaN refused, ERANGE
/// ignored; the empty string reads as 0.
fn strtod(arg: &[u8]) -> Option<f64> {
    if arg.is_empty() {
        return Some(0.0);
    }
    let start = arg.iter().position(|c| !c.is_ascii_whitespace())?;
    let (v, _) = c_strtod(&arg[start..])?;
    (!v.is_nan()).then_some(v)
}

#[derive(Clone, Copy, Debug)]
struct ScoreRange {
    min: f64,
    minex: bool,
    max: f64,
    maxex: bool,
}

impl ScoreRange {
    fn parse(min: &[u8], max: &[u8]) -> Option<ScoreRange> {
        let item = |a: &[u8]| match a.first() {
            Some(b'(') => strtod(&a[1..]).map(|v| (v, true)),
            _ => strtod(a).map(|v| (v, false)),
        };
        let (min, minex) = item(min)?;
        let (max, maxex) = item(max)?;
        Some(ScoreRange { min, minex, max, maxex })
    }

    /// Ascending ranks [lo, hi) of the elements in range.
    fn ranks(&self, z: &ZSet) -> (usize, usize) {
        let r = *self;
        let lo = z.count_while(&|s, _| if r.minex { s <= r.min } else { s < r.min });
        let hi = z.count_while(&|s, _| if r.maxex { s < r.max } else { s <= r.max });
        (lo, hi.max(lo))
    }
}

#[derive(Clone, Copy, Debug)]
enum LexBound<'a> {
    NegInf,
    PosInf,
    Incl(&'a [u8]),
    Excl(&'a [u8]),
}

impl<'a> LexBound<'a> {
    fn parse(a: &'a [u8]) -> Option<LexBound<'a>> {
        match a.first()? {
            b'+' if a.len() == 1 => Some(LexBound::PosInf),
            b'-' if a.len() == 1 => Some(LexBound::NegInf),
            b'(' => Some(LexBound::Excl(&a[1..])),
            b'[' => Some(LexBound::Incl(&a[1..])),
            _ => None,
        }
    }

    /// Whether `m` lies before this bound used as a minimum.
    fn below_min(&self, m: &[u8]) -> bool {
        match self {
            LexBound::NegInf => false,
            LexBound::PosInf => true,
            LexBound::Incl(x) => m < *x,
            LexBound::Excl(x) => m <= *x,
        }
    }

    /// Whether `m` is within this bound used as a maximum.
    fn within_max(&self, m: &[u8]) -> bool {
        match self {
            LexBound::NegInf => false,
            LexBound::PosInf => true,
            LexBound::Incl(x) => m <= *x,
            LexBound::Excl(x) => m < *x,
        }
    }
}

#[derive(Clone, Copy, Debug)]
struct LexRange<'a> {
    min: LexBound<'a>,
    max: LexBound<'a>,
}

impl<'a> LexRange<'a> {
    fn parse(min: &'a [u8], max: &'a [u8]) -> Option<LexRange<'a>> {
        Some(LexRange {
            min: LexBound::parse(min)?,
            max: LexBound::parse(max)?,
        })
    }

    /// Redis's zslIsInLexRange: false when the range is empty by its
    /// bounds or lies wholly outside the set.
    fn may_match(&self, z: &ZSet) -> bool {
        use LexBound::*;
        let exclusive = |b: &LexBound<'_>| !matches!(b, Incl(_));
        // sdscmplex, where "-" and "+" are the smallest and largest.
        let cmp = match (self.min, self.max) {
            (NegInf, NegInf) | (PosInf, PosInf) => Ordering::Equal,
            (NegInf, _) | (_, PosInf) => Ordering::Less,
            (PosInf, _) | (_, NegInf) => Ordering::Greater,
            (Incl(a) | Excl(a), Incl(b) | Excl(b)) => a.cmp(b),
        };
        if cmp == Ordering::Greater || (cmp == Ordering::Equal && (exclusive(&self.min) || exclusive(&self.max))) {
            return false;
        }
        let (Some((last, _)), Some((first, _))) = (z.get_by_rank(z.len().wrapping_sub(1)), z.get_by_rank(0)) else {
            return false;
        };
        !self.min.below_min(last) && self.max.within_max(first)
    }

    /// Rank of the first element in range, found as Redis finds it: a
    /// scan from the low end for a listpack, a search for the large
    /// encoding (the same thing when all scores are equal).
    fn first(&self, z: &ZSet) -> Option<usize> {
        if !self.may_match(z) {
            return None;
        }
        let i = if z.encoding() == "listpack" {
            (0..z.len()).find(|&i| z.get_by_rank(i).is_some_and(|(m, _)| !self.min.below_min(m)))?
        } else {
            z.count_while(&|_, m| self.min.below_min(m))
        };
        z.get_by_rank(i).filter(|(m, _)| self.max.within_max(m)).map(|_| i)
    }

    /// Rank of the last element in range (see `first`).
    fn last(&self, z: &ZSet) -> Option<usize> {
        if !self.may_match(z) {
            return None;
        }
        let i = if z.encoding() == "listpack" {
            (0..z.len())
                .rev()
                .find(|&i| z.get_by_rank(i).is_some_and(|(m, _)| self.max.within_max(m)))?
        } else {
            z.count_while(&|_, m| self.max.within_max(m)).checked_sub(1)?
        };
        z.get_by_rank(i).filter(|(m, _)| !self.min.below_min(m)).map(|_| i)
    }

    /// The ascending ranks [a, b) a lex range with LIMIT visits, walking
    /// as Redis does: from the first (or, with `rev`, last) element in
    /// range, skipping `offset`, then while the other bound holds.
    fn window(&self, z: &ZSet, rev: bool, offset: i64, limit: i64) -> (usize, usize) {
        let start = if rev { self.last(z) } else { self.first(z) };
        let Some(start) = start else { return (0, 0) };
        if offset < 0 {
            return (0, 0);
        }
        let offset = usize::try_from(offset).unwrap_or(usize::MAX);
        let limit = if limit < 0 {
            usize::MAX
        } else {
            usize::try_from(limit).unwrap_or(usize::MAX)
        };
        let mut count = 0usize;
        if rev {
            let Some(pos) = start.checked_sub(offset) else {
                return (0, 0);
            };
            z.walk(pos, true, &mut |m, _| {
                if count == limit || self.min.below_min(m) {
                    return false;
                }
                count += 1;
                true
            });
            (pos + 1 - count, pos + 1)
        } else {
            let Some(pos) = start.checked_add(offset).filter(|&p| p < z.len()) else {
                return (0, 0);
            };
            z.walk(pos, false, &mut |m, _| {
                if count == limit || !self.max.within_max(m) {
                    return false;
                }
                count += 1;
                true
            });
            (pos, pos + count)
        }
    }

    /// ZLEXCOUNT: a walk for a listpack, first/last ranks for the large
    /// encoding, as Redis counts.
    fn count(&self, z: &ZSet) -> usize {
        if z.encoding() == "listpack" {
            let (a, b) = self.window(z, false, 0, -1);
            return b - a;
        }
        match (self.first(z), self.last(z)) {
            (Some(a), Some(b)) if b >= a => b - a + 1,
            _ => 0,
        }
    }
}

/// Redis's rank normalisation (ZRANGE, ZREMRANGEBYRANK): ascending ranks
/// [a, b) for `start..=end` counted from the low end (or, with `rev`,
/// from the high end).
fn rank_window(len: usize, start: i64, end: i64, rev: bool) -> (usize, usize) {
    let llen = len as i64;
    let mut start = if start < 0 { llen.saturating_add(start) } else { start };
    let mut end = if end < 0 { llen.saturating_add(end) } else { end };
    if start < 0 {
        start = 0;
    }
    if start > end || start >= llen {
        return (0, 0);
    }
    if end >= llen {
        end = llen - 1;
    }
    if rev {
        ((llen - 1 - end) as usize, (llen - start) as usize)
    } else {
        (start as usize, (end + 1) as usize)
    }
}

/// Applies LIMIT offset count to ascending ranks [lo, hi) walked forward
/// or (rev) backward.
fn apply_limit(lo: usize, hi: usize, rev: bool, offset: i64, limit: i64) -> (usize, usize) {
    if offset < 0 || lo >= hi {
        return (0, 0);
    }
    let avail = hi - lo;
    let offset = offset as usize;
    if offset >= avail {
        return (0, 0);
    }
    let take = if limit < 0 {
        avail - offset
    } else {
        (limit as usize).min(avail - offset)
    };
    if rev {
        (hi - offset - take, hi - offset)
    } else {
        (lo + offset, lo + offset + take)
    }
}

/// Builds a new sorted set from (member, score) pairs in the encoding
/// Redis would give the result of a STORE command.
pub(crate) fn build_zset<'m>(items: impl Iterator<Item = (&'m [u8], f64)>, limits: &Limits) -> ZSet {
    // Built large, then compacted if it fits (so a -0 score survives in
    // a result that stays large, as in Redis).
    let mut z = ZSet::with_hint(usize::MAX, 0, limits);
    for (m, s) in items {
        z.insert(m, s, limits);
    }
    z.fit_encoding(limits);
    z
}

/// Stores `z` at `dst` (replacing any value), or deletes `dst` if `z` is
/// empty, replying with the size as Redis's store commands do.
fn store_result(ctx: &mut Ctx<'_>, dst: &[u8], z: ZSet) {
    let now = ctx.now;
    let n = z.len();
    let db = db!(ctx, dst);
    if n == 0 {
        if db.remove(dst, now).is_some() {
            ctx.dirty(1);
        }
    } else {
        db.set(dst, Value::ZSet(Box::new(z)), None, false, now);
        ctx.dirty(1);
    }
    ctx.out.integer(n as i64);
}

// ---------------------------------------------------------------------------
// ZADD / ZINCRBY

#[derive(Clone, Copy, Default)]
struct AddFlags {
    nx: bool,
    xx: bool,
    gt: bool,
    lt: bool,
    incr: bool,
}

enum AddOutcome {
    Added,
    Updated,
    /// Nothing changed, but the element was processed (same score).
    Same,
    Nop,
}

/// Redis's zsetAdd: returns what happened and the resulting score, or
/// `Err` for a NaN result.
fn zset_add(z: &mut ZSet, f: AddFlags, score: f64, member: &[u8], limits: &Limits) -> Result<(AddOutcome, f64), ()> {
    match z.score(member) {
        Some(cur) => {
            if f.nx {
                return Ok((AddOutcome::Nop, cur));
            }
            let mut new = score;
            if f.incr {
                new = cur + score;
                if new.is_nan() {
                    return Err(());
                }
            }
            if (f.lt && new >= cur) || (f.gt && new <= cur) {
                return Ok((AddOutcome::Nop, cur));
            }
            if new != cur {
                z.insert(member, new, limits);
                return Ok((AddOutcome::Updated, new));
            }
            Ok((AddOutcome::Same, new))
        }
        None => {
            if f.xx {
                return Ok((AddOutcome::Nop, score));
            }
            z.insert(member, score, limits);
            Ok((AddOutcome::Added, score))
        }
    }
}

pub(crate) fn zadd(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    let mut f = AddFlags::default();
    let mut ch = false;
    let mut idx = 2;
    while idx < args.len() {
        let a = args[idx];
        if is(a, "nx") {
            f.nx = true;
        } else if is(a, "xx") {
            f.xx = true;
        } else if is(a, "ch") {
            ch = true;
        } else if is(a, "incr") {
            f.incr = true;
        } else if is(a, "gt") {
            f.gt = true;
        } else if is(a, "lt") {
            f.lt = true;
        } else {
            break;
        }
        idx += 1;
    }
    zadd_generic(ctx, args, idx, f, ch);
}

fn zincrby(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    let f = AddFlags {
        incr: true,
        ..AddFlags::default()
    };
    zadd_generic(ctx, args, 2, f, false);
}

fn zadd_generic(ctx: &mut Ctx<'_>, args: &[&[u8]], scoreidx: usize, f: AddFlags, ch: bool) {
    let rest = args.len() - scoreidx;
    if rest == 0 || rest % 2 == 1 {
        return ctx.out.error(ERR_SYNTAX);
    }
    let elements = rest / 2;
    if f.xx && f.nx {
        return ctx.out.error("XX and NX options at the same time are not compatible");
    }
    if [f.gt, f.lt, f.nx].iter().filter(|&&b| b).count() > 1 {
        return ctx
            .out
            .error("GT, LT, and/or NX options at the same time are not compatible");
    }
    if f.incr && elements > 1 {
        return ctx.out.error("INCR option supports a single increment-element pair");
    }
    let mut pairs: Vec<(f64, &[u8])> = Vec::with_capacity(elements);
    for j in 0..elements {
        let Some(s) = parse_score(args[scoreidx + 2 * j]) else {
            return ctx.out.error(ERR_NOT_FLOAT);
        };
        pairs.push((s, args[scoreidx + 2 * j + 1]));
    }
    let key = args[1];
    let now = ctx.now;
    let limits = ctx.server.limits();
    let db = db!(ctx, key);
    let (mut added, mut updated, mut processed) = (0i64, 0i64, 0i64);
    let mut last = 0.0;
    let mut nan = false;
    {
        let mut apply = |z: &mut ZSet| {
            for &(s, m) in &pairs {
                match zset_add(z, f, s, m, &limits) {
                    Err(()) => {
                        nan = true;
                        return;
                    }
                    Ok((o, score)) => {
                        match o {
                            AddOutcome::Added => added += 1,
                            AddOutcome::Updated => updated += 1,
                            AddOutcome::Same | AddOutcome::Nop => {}
                        }
                        if !matches!(o, AddOutcome::Nop) {
                            processed += 1;
                        }
                        last = score;
                    }
                }
            }
        };
        match write_zset(db, ctx.out, key, now) {
            Err(()) => return,
            Ok(Some(z)) => {
                z.maybe_convert(elements, &limits);
                apply(z)
            }
            Ok(None) => {
                if !f.xx {
                    // Redis 7.2 sizes a new set from the pair count and
                    // the first member's length.
                    let mut z = ZSet::with_hint(elements, pairs[0].1.len(), &limits);
                    apply(&mut z);
                    if !z.is_empty() {
                        db.set(key, Value::ZSet(Box::new(z)), None, false, now);
                    }
                }
            }
        }
    }
    if nan {
        ctx.dirty((added + updated) as u64);
        return ctx.out.error(ERR_NAN);
    }
    ctx.dirty((added + updated) as u64);
    if f.incr {
        if processed > 0 {
            ctx.out.double(last);
        } else {
            ctx.out.null();
        }
    } else {
        ctx.out.integer(if ch { added + updated } else { added });
    }
}

// ---------------------------------------------------------------------------
// Simple reads and ZREM

fn zrem(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    let key = args[1];
    let now = ctx.now;
    let db = db!(ctx, key);
    let Ok(found) = write_zset(db, ctx.out, key, now) else {
        return;
    };
    let Some(z) = found else {
        return ctx.out.integer(0);
    };
    let mut deleted = 0;
    for m in &args[2..] {
        if z.remove(m).is_some() {
            deleted += 1;
            if z.is_empty() {
                break;
            }
        }
    }
    delete_if_empty(db, key, now);
    ctx.dirty(deleted);
    ctx.out.integer(deleted as i64);
}

fn zcard(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    let now = ctx.now;
    let touch = !ctx.client.no_touch;
    let db = db!(ctx, args[1]);
    if let Ok(z) = read_zset(db, ctx.out, args[1], now, touch) {
        ctx.out.integer(z.map_or(0, |z| z.len() as i64));
    }
}

fn zcount(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    let Some(range) = ScoreRange::parse(args[2], args[3]) else {
        return ctx.out.error(ERR_SCORE_RANGE);
    };
    let now = ctx.now;
    let touch = !ctx.client.no_touch;
    let db = db!(ctx, args[1]);
    if let Ok(z) = read_zset(db, ctx.out, args[1], now, touch) {
        let n = z.map_or(0, |z| {
            let (lo, hi) = range.ranks(z);
            hi - lo
        });
        ctx.out.integer(n as i64);
    }
}

fn zlexcount(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    let Some(range) = LexRange::parse(args[2], args[3]) else {
        return ctx.out.error(ERR_LEX_RANGE);
    };
    let now = ctx.now;
    let touch = !ctx.client.no_touch;
    let db = db!(ctx, args[1]);
    if let Ok(z) = read_zset(db, ctx.out, args[1], now, touch) {
        let n = z.map_or(0, |z| range.count(z));
        ctx.out.integer(n as i64);
    }
}

fn zscore(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    let now = ctx.now;
    let touch = !ctx.client.no_touch;
    let db = db!(ctx, args[1]);
    if let Ok(z) = read_zset(db, ctx.out, args[1], now, touch) {
        match z.and_then(|z| z.score(args[2])) {
            Some(s) => ctx.out.double(s),
            None => ctx.out.null(),
        }
    }
}

fn zmscore(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    let now = ctx.now;
    let touch = !ctx.client.no_touch;
    let db = db!(ctx, args[1]);
    if let Ok(z) = read_zset(db, ctx.out, args[1], now, touch) {
        ctx.out.array(args.len() - 2);
        for m in &args[2..] {
            match z.and_then(|z| z.score(m)) {
                Some(s) => ctx.out.double(s),
                None => ctx.out.null(),
            }
        }
    }
}

fn zrank(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    zrank_generic(ctx, args, false);
}

fn zrevrank(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    zrank_generic(ctx, args, true);
}

fn zrank_generic(ctx: &mut Ctx<'_>, args: &[&[u8]], rev: bool) {
    if args.len() > 4 {
        let name = if rev { "zrevrank" } else { "zrank" };
        return ctx
            .out
            .error(&format!("wrong number of arguments for '{name}' command"));
    }
    let withscore = args.len() == 4;
    if withscore && !is(args[3], "withscore") {
        return ctx.out.error(ERR_SYNTAX);
    }
    let now = ctx.now;
    let touch = !ctx.client.no_touch;
    let db = db!(ctx, args[1]);
    let Ok(z) = read_zset(db, ctx.out, args[1], now, touch) else {
        return;
    };
    let found = z.and_then(|z| z.rank(args[2]).map(|(r, s)| (if rev { z.len() - 1 - r } else { r }, s)));
    match found {
        Some((r, s)) => {
            if withscore {
                ctx.out.array(2);
                ctx.out.integer(r as i64);
                ctx.out.double(s);
            } else {
                ctx.out.integer(r as i64);
            }
        }
        None => {
            if withscore {
                ctx.out.null_array();
            } else {
                ctx.out.null();
            }
        }
    }
}

// ---------------------------------------------------------------------------
// ZRANGE family

#[derive(Clone, Copy, PartialEq, Eq)]
enum RangeType {
    Auto,
    Rank,
    Score,
    Lex,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Direction {
    Auto,
    Forward,
    Reverse,
}

/// Redis's zrangeGenericCommand. `first` is the index of the source key;
/// `store` the destination for ZRANGESTORE.
fn zrange_generic(
    ctx: &mut Ctx<'_>,
    args: &[&[u8]],
    first: usize,
    store: Option<&[u8]>,
    mut rangetype: RangeType,
    mut direction: Direction,
) {
    let key = args[first];
    let mut minidx = first + 1;
    let mut maxidx = first + 2;
    let mut withscores = false;
    let mut offset: i64 = 0;
    let mut limit: i64 = -1;
    let mut j = first + 3;
    while j < args.len() {
        let left = args.len() - j - 1;
        let a = args[j];
        if store.is_none() && is(a, "withscores") {
            withscores = true;
        } else if is(a, "limit") && left >= 2 {
            let (Some(o), Some(l)) = (parse_i64(args[j + 1]), parse_i64(args[j + 2])) else {
                return ctx.out.error(ERR_NOT_INT);
            };
            offset = o;
            limit = l;
            j += 2;
        } else if direction == Direction::Auto && is(a, "rev") {
            direction = Direction::Reverse;
        } else if rangetype == RangeType::Auto && is(a, "bylex") {
            rangetype = RangeType::Lex;
        } else if rangetype == RangeType::Auto && is(a, "byscore") {
            rangetype = RangeType::Score;
        } else {
            return ctx.out.error(ERR_SYNTAX);
        }
        j += 1;
    }
    if direction == Direction::Auto {
        direction = Direction::Forward;
    }
    if rangetype == RangeType::Auto {
        rangetype = RangeType::Rank;
    }
    if limit != -1 && rangetype == RangeType::Rank {
        return ctx
            .out
            .error("syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX");
    }
    if withscores && rangetype == RangeType::Lex {
        return ctx
            .out
            .error("syntax error, WITHSCORES not supported in combination with BYLEX");
    }
    let rev = direction == Direction::Reverse;
    if rev && rangetype != RangeType::Rank {
        std::mem::swap(&mut minidx, &mut maxidx);
    }
    enum Spec<'a> {
        Rank(i64, i64),
        Score(ScoreRange),
        Lex(LexRange<'a>),
    }
    let spec = match rangetype {
        RangeType::Score => match ScoreRange::parse(args[minidx], args[maxidx]) {
            Some(r) => Spec::Score(r),
            None => return ctx.out.error(ERR_SCORE_RANGE),
        },
        RangeType::Lex => match LexRange::parse(args[minidx], args[maxidx]) {
            Some(r) => Spec::Lex(r),
            None => return ctx.out.error(ERR_LEX_RANGE),
        },
        _ => match (parse_i64(args[minidx]), parse_i64(args[maxidx])) {
            (Some(a), Some(b)) => Spec::Rank(a, b),
            _ => return ctx.out.error(ERR_NOT_INT),
        },
    };
    let now = ctx.now;
    let touch = !ctx.client.no_touch;
    let limits = ctx.server.limits();
    let db = db!(ctx, key);
    let Ok(z) = read_zset(db, ctx.out, key, now, touch) else {
        return;
    };
    let window = |z: &ZSet| match spec {
        Spec::Rank(a, b) => rank_window(z.len(), a, b, rev),
        Spec::Score(r) => {
            let (lo, hi) = r.ranks(z);
            apply_limit(lo, hi, rev, offset, limit)
        }
        Spec::Lex(r) => r.window(z, rev, offset, limit),
    };
    match store {
        Some(dst) => {
            let result = match z {
                None => ZSet::new(),
                Some(z) => {
                    let (a, b) = window(z);
                    let mut items: Vec<(Vec<u8>, f64)> = Vec::with_capacity(b - a);
                    z.for_range(a, b, rev, &mut |m, s| items.push((m.to_vec(), s)));
                    // As Redis's zrangeResultBeginStore: sized from the
                    // count for a rank range (0 otherwise), then filled
                    // in reply order, converting as thresholds are passed.
                    let hint = if matches!(spec, Spec::Rank(..)) { items.len() } else { 0 };
                    let mut out = ZSet::with_hint(hint, 0, &limits);
                    for (m, s) in &items {
                        out.insert(m, *s, &limits);
                    }
                    out
                }
            };
            store_result(ctx, dst, result);
        }
        None => {
            let Some(z) = z else {
                return ctx.out.array(0);
            };
            let (a, b) = window(z);
            let out = &mut *ctx.out;
            elems_header(out, b - a, withscores);
            z.for_range(a, b, rev, &mut |m, s| elem(out, withscores, m, s));
        }
    }
}

fn zrange(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    zrange_generic(ctx, args, 1, None, RangeType::Auto, Direction::Auto);
}

fn zrangestore(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    zrange_generic(ctx, args, 2, Some(args[1]), RangeType::Auto, Direction::Auto);
}

fn zrevrange(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    zrange_generic(ctx, args, 1, None, RangeType::Rank, Direction::Reverse);
}

fn zrangebyscore(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    zrange_generic(ctx, args, 1, None, RangeType::Score, Direction::Forward);
}

fn zrevrangebyscore(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    zrange_generic(ctx, args, 1, None, RangeType::Score, Direction::Reverse);
}

fn zrangebylex(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    zrange_generic(ctx, args, 1, None, RangeType::Lex, Direction::Forward);
}

fn zrevrangebylex(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    zrange_generic(ctx, args, 1, None, RangeType::Lex, Direction::Reverse);
}

// ---------------------------------------------------------------------------
// ZREMRANGEBY*

fn zremrange_generic(ctx: &mut Ctx<'_>, args: &[&[u8]], rangetype: RangeType) {
    enum Spec<'a> {
        Rank(i64, i64),
        Score(ScoreRange),
        Lex(LexRange<'a>),
    }
    let spec = match rangetype {
        RangeType::Score => match ScoreRange::parse(args[2], args[3]) {
            Some(r) => Spec::Score(r),
            None => return ctx.out.error(ERR_SCORE_RANGE),
        },
        RangeType::Lex => match LexRange::parse(args[2], args[3]) {
            Some(r) => Spec::Lex(r),
            None => return ctx.out.error(ERR_LEX_RANGE),
        },
        _ => match (parse_i64(args[2]), parse_i64(args[3])) {
            (Some(a), Some(b)) => Spec::Rank(a, b),
            _ => return ctx.out.error(ERR_NOT_INT),
        },
    };
    let key = args[1];
    let now = ctx.now;
    let db = db!(ctx, key);
    let Ok(found) = write_zset(db, ctx.out, key, now) else {
        return;
    };
    let Some(z) = found else {
        return ctx.out.integer(0);
    };
    let (a, b) = match spec {
        Spec::Rank(s, e) => rank_window(z.len(), s, e, false),
        Spec::Score(r) => r.ranks(z),
        Spec::Lex(r) => r.window(z, false, 0, -1),
    };
    let removed = z.remove_range(a, b).len();
    delete_if_empty(db, key, now);
    ctx.dirty(removed as u64);
    ctx.out.integer(removed as i64);
}

fn zremrangebyrank(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    zremrange_generic(ctx, args, RangeType::Rank);
}

fn zremrangebyscore(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    zremrange_generic(ctx, args, RangeType::Score);
}

fn zremrangebylex(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    zremrange_generic(ctx, args, RangeType::Lex);
}

// ---------------------------------------------------------------------------
// Pops

#[derive(Clone, Copy, PartialEq, Eq)]
enum PopShape {
    /// ZPOPMIN/ZPOPMAX: flat pairs, or (RESP3 with COUNT) nested pairs.
    Plain { nested: bool },
    /// BZPOPMIN/BZPOPMAX: [key, member, score].
    WithKey,
    /// ZMPOP/BZMPOP: [key, [[member, score], ...]].
    Nested,
}

/// Pops up to `count` elements from the first non-empty sorted set among
/// `keys` and replies. Returns false when no key held a sorted set (no
/// reply written) or true once a reply (or error) was written.
fn pop_generic(ctx: &mut Ctx<'_>, keys: &[&[u8]], max: bool, count: usize, shape: PopShape) -> bool {
    let now = ctx.now;
    for &key in keys {
        let db = db!(ctx, key);
        let Ok(found) = write_zset(db, ctx.out, key, now) else {
            return true;
        };
        let Some(z) = found else { continue };
        if z.is_empty() {
            continue;
        }
        let len = z.len();
        let n = count.min(len);
        let popped = if max {
            z.remove_range(len - n, len)
        } else {
            z.remove_range(0, n)
        };
        delete_if_empty(db, key, now);
        let out = &mut *ctx.out;
        let iter: Box<dyn Iterator<Item = &(Box<[u8]>, f64)>> = if max {
            Box::new(popped.iter().rev())
        } else {
            Box::new(popped.iter())
        };
        match shape {
            PopShape::Plain { nested } => {
                out.array(if nested { n } else { 2 * n });
                for (m, s) in iter {
                    pair(out, nested, m, *s);
                }
            }
            PopShape::WithKey => {
                out.array(2 * n + 1);
                out.bulk(key);
                for (m, s) in iter {
                    pair(out, false, m, *s);
                }
            }
            PopShape::Nested => {
                out.array(2);
                out.bulk(key);
                out.array(n);
                for (m, s) in iter {
                    pair(out, true, m, *s);
                }
            }
        }
        ctx.dirty(n as u64);
        return true;
    }
    false
}

fn zpopmin(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    zpop_cmd(ctx, args, false);
}

fn zpopmax(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    zpop_cmd(ctx, args, true);
}

fn zpop_cmd(ctx: &mut Ctx<'_>, args: &[&[u8]], max: bool) {
    if args.len() > 3 {
        return ctx.out.error(ERR_SYNTAX);
    }
    let count = match args.get(2) {
        None => None,
        Some(a) => match parse_i64(a) {
            Some(c) if c >= 0 => Some(c),
            _ => return ctx.out.error(ERR_POSITIVE),
        },
    };
    let key = args[1];
    let now = ctx.now;
    // Missing key or COUNT 0: an empty array (after the type check).
    let db = db!(ctx, key);
    let Ok(found) = write_zset(db, ctx.out, key, now) else {
        return;
    };
    if found.is_none() || count == Some(0) {
        return ctx.out.array(0);
    }
    let nested = count.is_some() && ctx.out.is_resp3();
    let n = usize::try_from(count.unwrap_or(1)).unwrap_or(usize::MAX);
    if !pop_generic(ctx, &[key], max, n, PopShape::Plain { nested }) {
        ctx.out.array(0);
    }
}

/// ZMPOP/BZMPOP's `numkeys key... MIN|MAX [COUNT count]` from `args[idx..]`.
/// Returns (keys, max, count) or writes the error.
fn parse_zmpop<'a>(ctx: &mut Ctx<'_>, args: &[&'a [u8]], idx: usize) -> Option<(Vec<&'a [u8]>, bool, usize)> {
    match parse_mpop(args, idx, ["min", "max"]) {
        Ok(x) => Some(x),
        Err(e) => {
            ctx.out.error(e);
            None
        }
    }
}

fn zmpop(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    let Some((keys, max, count)) = parse_zmpop(ctx, args, 1) else {
        return;
    };
    if !pop_generic(ctx, &keys, max, count, PopShape::Nested) {
        ctx.out.null_array();
    }
}

fn bzpopmin(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    bzpop_cmd(ctx, args, false);
}

fn bzpopmax(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    bzpop_cmd(ctx, args, true);
}

fn bzpop_cmd(ctx: &mut Ctx<'_>, args: &[&[u8]], max: bool) {
    let deadline = match parse_timeout(args[args.len() - 1], ctx.now) {
        Ok(d) => d,
        Err(e) => return ctx.out.error(e),
    };
    let keys = &args[1..args.len() - 1];
    if !pop_generic(ctx, keys, max, 1, PopShape::WithKey) {
        ctx.block(keys, deadline, TimeoutReply::NullArray);
    }
}

fn bzmpop(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    // As Redis: the mpop arguments first, then the timeout.
    let Some((keys, max, count)) = parse_zmpop(ctx, args, 2) else {
        return;
    };
    let deadline = match parse_timeout(args[1], ctx.now) {
        Ok(d) => d,
        Err(e) => return ctx.out.error(e),
    };
    if !pop_generic(ctx, &keys, max, count, PopShape::Nested) {
        ctx.block(&keys, deadline, TimeoutReply::NullArray);
    }
}

// ---------------------------------------------------------------------------
// ZRANDMEMBER

fn zrandmember(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    let mut count: Option<i64> = None;
    let mut withscores = false;
    if args.len() >= 3 {
        let Some(c) = parse_i64(args[2]) else {
            return ctx.out.error(ERR_NOT_INT);
        };
        if c == i64::MIN {
            return ctx
                .out
                .error("value is out of range, value must between -9223372036854775807 and 9223372036854775807");
        }
        if args.len() > 4 || (args.len() == 4 && !is(args[3], "withscores")) {
            return ctx.out.error(ERR_SYNTAX);
        }
        if args.len() == 4 {
            withscores = true;
            if !(-(i64::MAX / 2)..=i64::MAX / 2).contains(&c) {
                return ctx.out.error("value is out of range");
            }
        }
        count = Some(c);
    }
    let now = ctx.now;
    let touch = !ctx.client.no_touch;
    let db = db!(ctx, args[1]);
    let Ok(z) = read_zset(db, ctx.out, args[1], now, touch) else {
        return;
    };
    let out = &mut *ctx.out;
    let mut rng = rand::thread_rng();
    let Some(count) = count else {
        match z {
            None => out.null(),
            Some(z) if !z.is_empty() => match z.get_by_rank(rng.gen_range(0..z.len())) {
                Some((m, _)) => out.bulk(m),
                None => out.null(),
            },
            Some(_) => out.null(),
        }
        return;
    };
    let Some(z) = z else {
        return out.array(0);
    };
    let len = z.len();
    if count == 0 || len == 0 {
        return out.array(0);
    }
    if count < 0 {
        // Repeats allowed: |count| independent picks.
        let n = count.unsigned_abs();
        elems_header(out, usize::try_from(n).unwrap_or(usize::MAX), withscores);
        for _ in 0..n {
            if let Some((m, s)) = z.get_by_rank(rng.gen_range(0..len)) {
                elem(out, withscores, m, s);
            }
        }
        return;
    }
    let count = usize::try_from(count).unwrap_or(usize::MAX);
    if count >= len {
        elems_header(out, len, withscores);
        z.for_each(&mut |m, s| elem(out, withscores, m, s));
        return;
    }
    // Distinct members: a random sample of ranks, in random order.
    let mut picks = rand::seq::index::sample(&mut rng, len, count).into_vec();
    if z.encoding() == "listpack" {
        // Redis samples a listpack in its order (lpRandomPairsUnique).
        picks.sort_unstable();
    }
    elems_header(out, count, withscores);
    for &r in &picks {
        if let Some((m, s)) = z.get_by_rank(r) {
            elem(out, withscores, m, s);
        }
    }
}

// ---------------------------------------------------------------------------
// ZUNION / ZINTER / ZDIFF and their STORE forms, ZINTERCARD

#[derive(Clone, Copy, PartialEq, Eq)]
enum SetOp {
    Union,
    Inter,
    Diff,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Aggregate {
    Sum,
    Min,
    Max,
}

/// The members of a plain set, for ZUNION & co. (score 1 each).
fn set_members(s: &Set) -> Vec<Vec<u8>> {
    s.iter().map(|m| m.to_vec()).collect()
}

/// One input of a set operation, copied out of the keyspace.
struct Source {
    /// (member, score), ascending by (score, member) for sorted sets.
    items: Vec<(Vec<u8>, f64)>,
    weight: f64,
}

fn aggregate(acc: &mut f64, v: f64, agg: Aggregate) {
    match agg {
        Aggregate::Sum => {
            *acc += v;
            if acc.is_nan() {
                *acc = 0.0;
            }
        }
        Aggregate::Min => {
            if v < *acc {
                *acc = v;
            }
        }
        Aggregate::Max => {
            if v > *acc {
                *acc = v;
            }
        }
    }
}

/// Redis's zunionInterDiffGenericCommand. `numkeys_idx` is the index of
/// numkeys; `dst` the destination of the STORE forms; `card_only` makes it
/// ZINTERCARD.
fn zsetop_generic(
    ctx: &mut Ctx<'_>,
    args: &[&[u8]],
    numkeys_idx: usize,
    dst: Option<&[u8]>,
    op: SetOp,
    card_only: bool,
) {
    let Some(setnum) = parse_i64(args[numkeys_idx]) else {
        return ctx.out.error(ERR_NOT_INT);
    };
    if setnum < 1 {
        let name = String::from_utf8_lossy(args[0]).to_ascii_lowercase();
        return ctx
            .out
            .error(&format!("at least 1 input key is needed for '{name}' command"));
    }
    if setnum as u64 > (args.len() - numkeys_idx - 1) as u64 {
        return ctx.out.error(ERR_SYNTAX);
    }
    let setnum = setnum as usize;
    let now = ctx.now;
    let touch = !ctx.client.no_touch;
    // Read every input (type errors come before option errors).
    let mut srcs: Vec<Option<Source>> = Vec::with_capacity(setnum);
    for &key in &args[numkeys_idx + 1..numkeys_idx + 1 + setnum] {
        let db = db!(ctx, key);
        match db.lookup_read(key, now, touch) {
            None => srcs.push(None),
            Some(e) => match e.value() {
                Value::ZSet(z) => srcs.push(Some(Source {
                    items: z.to_vec(),
                    weight: 1.0,
                })),
                Value::Set(s) => srcs.push(Some(Source {
                    items: set_members(s).into_iter().map(|m| (m, 1.0)).collect(),
                    weight: 1.0,
                })),
                _ => return ctx.out.error(ERR_WRONGTYPE),
            },
        }
    }
    let mut agg = Aggregate::Sum;
    let mut withscores = false;
    let mut limit: usize = 0;
    let mut weights: Vec<f64> = vec![1.0; setnum];
    let mut j = numkeys_idx + 1 + setnum;
    while j < args.len() {
        let remaining = args.len() - j;
        let a = args[j];
        if op != SetOp::Diff && !card_only && remaining > setnum && is(a, "weights") {
            j += 1;
            for w in weights.iter_mut() {
                match parse_score(args[j]) {
                    Some(v) => *w = v,
                    None => return ctx.out.error("weight value is not a float"),
                }
                j += 1;
            }
        } else if op != SetOp::Diff && !card_only && remaining >= 2 && is(a, "aggregate") {
            let v = args[j + 1];
            agg = if is(v, "sum") {
                Aggregate::Sum
            } else if is(v, "min") {
                Aggregate::Min
            } else if is(v, "max") {
                Aggregate::Max
            } else {
                return ctx.out.error(ERR_SYNTAX);
            };
            j += 2;
        } else if dst.is_none() && !card_only && is(a, "withscores") {
            withscores = true;
            j += 1;
        } else if card_only && remaining >= 2 && is(a, "limit") {
            match parse_i64(args[j + 1]) {
                Some(l) if l >= 0 => limit = usize::try_from(l).unwrap_or(usize::MAX),
                _ => return ctx.out.error("LIMIT can't be negative"),
            }
            j += 2;
        } else {
            return ctx.out.error(ERR_SYNTAX);
        }
    }
    for (s, w) in srcs.iter_mut().zip(&weights) {
        if let Some(s) = s {
            s.weight = *w;
        }
    }
    let weighted = |score: f64, w: f64| {
        let v = score * w;
        if v.is_nan() {
            0.0
        } else {
            v
        }
    };

    // Compute (member, score) results, unordered.
    let mut result: Vec<(Vec<u8>, f64)> = Vec::new();
    match op {
        SetOp::Union => {
            let mut acc: hashbrown::HashMap<Vec<u8>, f64> = hashbrown::HashMap::new();
            let mut order: Vec<Vec<u8>> = Vec::new();
            // Smallest inputs first, as Redis (it decides the order of
            // floating point sums).
            let mut all: Vec<&Source> = srcs.iter().flatten().collect();
            all.sort_by_key(|s| s.items.len());
            for s in all {
                for (m, sc) in &s.items {
                    let v = weighted(*sc, s.weight);
                    match acc.get_mut(m.as_slice()) {
                        Some(cur) => aggregate(cur, v, agg),
                        None => {
                            acc.insert(m.clone(), v);
                            order.push(m.clone());
                        }
                    }
                }
            }
            result = order
                .into_iter()
                .map(|m| {
                    let s = acc.get(&m).copied().unwrap_or(0.0);
                    (m, s)
                })
                .collect();
        }
        SetOp::Inter => {
            if srcs.iter().all(Option::is_some) {
                let mut all: Vec<&Source> = srcs.iter().flatten().collect();
                all.sort_by_key(|s| s.items.len());
                let indexes: Vec<hashbrown::HashMap<&[u8], f64>> = all
                    .iter()
                    .map(|s| s.items.iter().map(|(m, sc)| (m.as_slice(), *sc)).collect())
                    .collect();
                if let Some((first, rest)) = all.split_first() {
                    'outer: for (m, sc) in &first.items {
                        let mut score = weighted(*sc, first.weight);
                        for (k, other) in rest.iter().enumerate() {
                            // Only the first input's product is reset
                            // from NaN to 0, as Redis does.
                            match indexes[k + 1].get(m.as_slice()).copied() {
                                Some(os) => aggregate(&mut score, os * other.weight, agg),
                                None => continue 'outer,
                            }
                        }
                        result.push((m.clone(), score));
                        if card_only && limit > 0 && result.len() >= limit {
                            break;
                        }
                    }
                }
            }
        }
        SetOp::Diff => {
            if let Some(Some(first)) = srcs.first() {
                let others: Vec<hashbrown::HashSet<&[u8]>> = srcs[1..]
                    .iter()
                    .flatten()
                    .map(|s| s.items.iter().map(|(m, _)| m.as_slice()).collect())
                    .collect();
                for (m, sc) in &first.items {
                    if !others.iter().any(|o| o.contains(m.as_slice())) {
                        result.push((m.clone(), *sc));
                    }
                }
            }
        }
    }

    if card_only {
        return ctx.out.integer(result.len() as i64);
    }
    let limits = ctx.server.limits();
    if let Some(dst) = dst {
        let z = build_zset(result.iter().map(|(m, s)| (&m[..], *s)), &limits);
        return store_result(ctx, dst, z);
    }
    result.sort_by(|a, b| larder_engine::types::zset::cmp_elem(a.1, &a.0, b.1, &b.0));
    let out = &mut *ctx.out;
    elems_header(out, result.len(), withscores);
    for (m, s) in &result {
        elem(out, withscores, m, *s);
    }
}

fn zunion(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    zsetop_generic(ctx, args, 1, None, SetOp::Union, false);
}

fn zinter(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    zsetop_generic(ctx, args, 1, None, SetOp::Inter, false);
}

fn zdiff(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    zsetop_generic(ctx, args, 1, None, SetOp::Diff, false);
}

fn zunionstore(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    zsetop_generic(ctx, args, 2, Some(args[1]), SetOp::Union, false);
}

fn zinterstore(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    zsetop_generic(ctx, args, 2, Some(args[1]), SetOp::Inter, false);
}

fn zdiffstore(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    zsetop_generic(ctx, args, 2, Some(args[1]), SetOp::Diff, false);
}

fn zintercard(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    zsetop_generic(ctx, args, 1, None, SetOp::Inter, true);
}

// ---------------------------------------------------------------------------
// ZSCAN

/// How a listpack stores a score (Redis's d2string): integral values
/// within +-LLONG_MAX/2 as integers, others in shortest round-trip form.
fn listpack_double(d: f64) -> String {
    if d.is_finite() && d == d.trunc() && d.abs() <= (i64::MAX / 2) as f64 {
        return (d as i64).to_string();
    }
    format_double(d)
}

/// Redis's ld2string(LD_STR_AUTO), "%.17Lg", as ZSCAN formats the scores
/// of a skiplist-encoded set.
fn g17(d: f64) -> String {
    if d.is_infinite() {
        return if d > 0.0 { "inf".into() } else { "-inf".into() };
    }
    if d == 0.0 {
        return if d.is_sign_negative() { "-0".into() } else { "0".into() };
    }
    let e = format!("{d:.16e}");
    let (mant, exp) = e.split_once('e').unwrap_or((&e, "0"));
    let x: i32 = exp.parse().unwrap_or(0);
    let strip = |s: &str| -> String {
        if s.contains('.') {
            s.trim_end_matches('0').trim_end_matches('.').to_string()
        } else {
            s.to_string()
        }
    };
    if (-4..17).contains(&x) {
        let prec = (16 - x) as usize;
        strip(&format!("{d:.prec$}"))
    } else {
        let sign = if x < 0 { '-' } else { '+' };
        format!("{}e{}{:02}", strip(mant), sign, x.unsigned_abs())
    }
}

fn zscan(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    let Some(cursor) = parse_cursor(args[2]) else {
        return ctx.out.error("invalid cursor");
    };
    // As Redis's zscanCommand: the key first (a missing key answers an
    // empty scan, a wrong type WRONGTYPE), then the options.
    let now = ctx.now;
    let touch = !ctx.client.no_touch;
    let db = db!(ctx, args[1]);
    let Ok(z) = read_zset(db, ctx.out, args[1], now, touch) else {
        return;
    };
    let mut found: Vec<(Vec<u8>, String)> = Vec::new();
    let next = match z {
        None => 0,
        Some(z) => {
            let o = match ScanOptions::parse(&args[3..], false) {
                Ok(o) => o,
                Err(e) => return ctx.out.error(e),
            };
            let compact = z.encoding() == "listpack";
            z.scan(cursor, o.count, &mut |m, s| {
                if o.matches(m) {
                    let s = if compact { listpack_double(s) } else { g17(s) };
                    found.push((m.to_vec(), s));
                }
            })
        }
    };
    let out = &mut *ctx.out;
    out.array(2);
    out.bulk(next.to_string().as_bytes());
    out.array(found.len() * 2);
    for (m, s) in &found {
        out.bulk(m);
        out.bulk(s.as_bytes());
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn rank_windows() {
        assert_eq!(rank_window(5, 0, -1, false), (0, 5));
        assert_eq!(rank_window(5, 1, 2, true), (2, 4));
        assert_eq!(rank_window(5, -100, 100, false), (0, 5));
        assert_eq!(rank_window(5, 3, 1, false), (0, 0));
        assert_eq!(rank_window(5, 5, 10, false), (0, 0));
        assert_eq!(rank_window(0, 0, -1, false), (0, 0));
        assert_eq!(rank_window(5, i64::MIN, i64::MAX, false), (0, 5));
    }

    #[test]
    fn limits() {
        assert_eq!(apply_limit(2, 8, false, 1, 2), (3, 5));
        assert_eq!(apply_limit(2, 8, true, 1, 2), (5, 7));
        assert_eq!(apply_limit(2, 8, false, 0, -1), (2, 8));
        assert_eq!(apply_limit(2, 8, false, -1, 1), (0, 0));
        assert_eq!(apply_limit(2, 8, true, 5, 10), (2, 3));
        assert_eq!(apply_limit(2, 8, true, 6, 10), (0, 0));
    }

    #[test]
    fn strtod_like_c() {
        assert_eq!(strtod(b""), Some(0.0));
        assert_eq!(strtod(b" 1.5"), Some(1.5));
        assert_eq!(strtod(b"1.5 "), None);
        assert_eq!(strtod(b"-inf"), Some(f64::NEG_INFINITY));
        assert_eq!(strtod(b"nan"), None);
        assert_eq!(strtod(b"abc"), None);
        assert_eq!(strtod(b"0x10"), Some(16.0));
        assert_eq!(strtod(b"(1"), None);
        assert_eq!(strtod(b"1e400"), Some(f64::INFINITY));
        assert_eq!(strtod(b"-1e-400"), Some(-0.0));
        assert_eq!(parse_score(b"0x1p-2"), Some(0.25));
        assert_eq!(parse_score(b"-0X.8"), Some(-0.5));
        assert_eq!(parse_score(b"0x"), None);
        assert_eq!(parse_score(b"0x1p"), None);
        assert_eq!(parse_score(b"1e400"), None);
        assert_eq!(parse_score(b"1e-400"), None);
        assert_eq!(parse_score(b"0e-400"), Some(0.0));
        assert_eq!(parse_score(b"4.9e-324"), Some(4.9e-324));
        assert_eq!(parse_score(b""), None);
        assert_eq!(parse_score(b" 1"), None);
        assert_eq!(parse_score(b"1 "), None);
        assert_eq!(parse_score(b"+5"), Some(5.0));
        assert_eq!(parse_score(b".5"), Some(0.5));
        assert_eq!(parse_score(b"5."), Some(5.0));
        assert_eq!(parse_score(b"1e"), None);
        assert_eq!(parse_score(b"-Infinity"), Some(f64::NEG_INFINITY));
        assert_eq!(parse_score(b"nan"), None);
        assert_eq!(parse_score(b"+-1"), None);
    }

    #[test]
    fn g17_like_printf() {
        assert_eq!(g17(1.0), "1");
        assert_eq!(g17(0.1), "0.10000000000000001");
        assert_eq!(g17(1.5e-7), "1.4999999999999999e-07");
        assert_eq!(g17(-0.0), "-0");
        assert_eq!(g17(1e20), "1e+20");
        assert_eq!(g17(123456789012345678.0), "1.2345678901234568e+17");
        assert_eq!(g17(2.5), "2.5");
        assert_eq!(g17(0.0001), "0.0001");
        assert_eq!(g17(f64::NEG_INFINITY), "-inf");
    }
}
