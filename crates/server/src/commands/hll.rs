//! HyperLogLog commands (Redis's hyperloglog.c): PFADD, PFCOUNT,
//! PFMERGE, PFDEBUG, PFSELFTEST. The value is a plain string in Redis's
//! "HYLL" format (`larder_engine::hll` holds the algorithm), so GET,
//! DUMP/RESTORE and RDB files carry the same bytes as Redis's.
//!
//! PFCOUNT of one key stores the cardinality it computed in the value's
//! header: a change, as in Redis, so it counts as dirty (the AOF logs the
//! PFCOUNT, as Redis propagates it), touches WATCHed keys and invalidates
//! client-side caches, though the command is flagged read-only
//! (and `may_replicate`, as in Redis: hidden from COMMAND INFO, it keeps
//! PFCOUNT out of read-only scripts and held by CLIENT PAUSE WRITE).

use larder_engine::hll::{self, Corrupt, REGISTERS};
use larder_engine::Value;

use super::{acl, flags::*, BeginSearch, CommandSpec, FindKeys, KeySpec};
use crate::dispatch::Ctx;
use crate::util::ERR_WRONGTYPE;

const KEY_PFADD: &[KeySpec] = &[KeySpec::single(1, &["RW", "INSERT"])];
const KEYS_PFCOUNT: &[KeySpec] = &[KeySpec {
    begin: BeginSearch::IndexNoted {
        index: 1,
        notes: "RW because it may change the internal representation of the key, and propagate to replicas",
    },
    find: FindKeys::Range {
        last_key: -1,
        step: 1,
        limit: 0,
    },
    flags: &["RW", "ACCESS"],
}];
const KEYS_PFMERGE: &[KeySpec] = &[
    KeySpec::single(1, &["RW", "ACCESS", "INSERT"]),
    KeySpec::range(2, -1, 1, &["RO", "ACCESS"]),
];
const KEY_PFDEBUG: &[KeySpec] = &[KeySpec::single(2, &["RW", "ACCESS"])];

pub static COMMANDS: &[CommandSpec] = &[
    CommandSpec::new(
        "pfadd",
        -2,
        WRITE | DENYOOM | FAST,
        acl::WRITE | acl::HYPERLOGLOG | acl::FAST,
        pfadd,
    )
    .keys(KEY_PFADD)
    .doc(
        "hyperloglog",
        "2.8.9",
        "Adds elements to a HyperLogLog key. Creates the key if it doesn't exist.",
        "O(1) to add every element.",
    ),
    CommandSpec::new(
        "pfcount",
        -2,
        READONLY | MAY_REPLICATE,
        acl::READ | acl::HYPERLOGLOG | acl::SLOW,
        pfcount,
    )
    .keys(KEYS_PFCOUNT)
    .doc(
        "hyperloglog",
        "2.8.9",
        "Returns the approximated cardinality of the set(s) observed by the HyperLogLog key(s).",
        "O(1) with a very small average constant time when called with a single key. O(N) with N being the number of keys, and much bigger constant times, when called with multiple keys.",
    ),
    CommandSpec::new(
        "pfmerge",
        -2,
        WRITE | DENYOOM,
        acl::WRITE | acl::HYPERLOGLOG | acl::SLOW,
        pfmerge,
    )
    .keys(KEYS_PFMERGE)
    .doc(
        "hyperloglog",
        "2.8.9",
        "Merges one or more HyperLogLog values into a single key.",
        "O(N) to merge N HyperLogLogs, but with high constant times.",
    ),
    CommandSpec::new(
        "pfdebug",
        3,
        WRITE | DENYOOM | ADMIN,
        acl::WRITE | acl::HYPERLOGLOG | acl::ADMIN | acl::SLOW | acl::DANGEROUS,
        pfdebug,
    )
    .keys(KEY_PFDEBUG)
    .doc(
        "hyperloglog",
        "2.8.9",
        "Internal commands for debugging HyperLogLog values.",
        "N/A",
    ),
    CommandSpec::new(
        "pfselftest",
        1,
        ADMIN,
        acl::HYPERLOGLOG | acl::ADMIN | acl::SLOW | acl::DANGEROUS,
        pfselftest,
    )
    .doc(
        "hyperloglog",
        "2.8.9",
        "An internal command for testing HyperLogLog values.",
        "N/A",
    ),
];

const ERR_NOT_HLL: &str = "-WRONGTYPE Key is not a valid HyperLogLog string value.";
const ERR_INVALID: &str = "-INVALIDOBJ Corrupted HLL object detected";

/// `hll-sparse-max-bytes`.
fn sparse_max_bytes(ctx: &Ctx<'_>) -> usize {
    ctx.server
        .config
        .read()
        .extras
        .get("hll-sparse-max-bytes")
        .and_then(|v| v.parse::<i64>().ok())
        .unwrap_or(3000)
        .max(0) as usize
}

/// isHLLObjectOrReply: `Err` with the error to reply when `v` is not a
/// string holding a well-formed HLL header.
fn check_hll(v: &Value) -> Result<(), &'static str> {
    match v {
        // An integer-encoded string is never an HLL (sdsEncodedObject).
        Value::Int(_) => Err(ERR_NOT_HLL),
        Value::Str(b) if hll::is_valid(b) => Ok(()),
        Value::Raw(b) if hll::is_valid(b) => Ok(()),
        Value::Str(_) | Value::Raw(_) => Err(ERR_NOT_HLL),
        _ => Err(ERR_WRONGTYPE),
    }
}

/// The bytes of a string value already checked by [`check_hll`].
fn hll_bytes(v: &Value) -> &[u8] {
    match v {
        Value::Str(b) => b,
        Value::Raw(b) => b,
        _ => &[],
    }
}

/// PFCOUNT's cache update is a change Redis signals (signalModifiedKey)
/// although the command is read-only: WATCHers and tracking clients of
/// `key` hear of it here, as dispatch does it only for write commands.
fn signal_modified(ctx: &Ctx<'_>, key: &[u8]) {
    let server = ctx.server;
    if server.watches.active() {
        server.watches.touch(ctx.client.db, key);
    }
    if server.tracking.active() {
        crate::tracking::invalidate(server, key, Some(ctx.client.id));
    }
}

fn pfadd(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    let now = ctx.now;
    let max = sparse_max_bytes(ctx);
    let key = args[1];
    let (db, out) = ctx.db_out(key);
    let mut updated = 0u64;
    let entry = match db.lookup_write(key, now) {
        Some(e) => {
            if let Err(msg) = check_hll(e.value()) {
                return out.error(msg);
            }
            e
        }
        None => {
            db.set(key, Value::Raw(Box::new(hll::new_sparse())), None, false, now);
            updated += 1;
            match db.lookup_write(key, now) {
                Some(e) => e,
                None => return out.error(ERR_INVALID),
            }
        }
    };
    let Some(v) = entry.value_mut().make_raw() else {
        return out.error(ERR_WRONGTYPE);
    };
    for ele in &args[2..] {
        match hll::add(v, ele, max) {
            Ok(true) => updated += 1,
            Ok(false) => {}
            Err(Corrupt) => return out.error(ERR_INVALID),
        }
    }
    if updated > 0 {
        hll::invalidate_cache(v);
    }
    out.integer(i64::from(updated > 0));
    if updated > 0 {
        ctx.dirty(updated);
    }
}

fn pfcount(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    let now = ctx.now;
    let touch = !ctx.client.no_touch;
    if args.len() > 2 {
        // The cardinality of the union, in registers of a byte each.
        let mut max = Box::new([0u8; REGISTERS]);
        for key in &args[1..] {
            let (db, out) = ctx.db_out(key);
            let Some(e) = db.lookup_read(key, now, touch) else {
                continue;
            };
            if let Err(msg) = check_hll(e.value()) {
                return out.error(msg);
            }
            if hll::merge(&mut max, hll_bytes(e.value())).is_err() {
                return out.error(ERR_INVALID);
            }
        }
        let card = hll::count_raw(&max);
        ctx.out.integer(card as i64);
        return;
    }
    let key = args[1];
    let (db, out) = ctx.db_out(key);
    let Some(e) = db.lookup_read_mut(key, now, touch) else {
        return out.integer(0);
    };
    if let Err(msg) = check_hll(e.value()) {
        return out.error(msg);
    }
    // dbUnshareStringValue: the value becomes a "raw" string.
    let Some(v) = e.value_mut().make_raw() else {
        return out.error(ERR_WRONGTYPE);
    };
    if let Some(card) = hll::cached_card(v) {
        return out.integer(card as i64);
    }
    let card = match hll::count(v) {
        Ok(c) => c,
        Err(Corrupt) => return out.error(ERR_INVALID),
    };
    hll::set_cached_card(v, card);
    out.integer(card as i64);
    signal_modified(ctx, key);
    ctx.dirty(1);
}

fn pfmerge(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    let now = ctx.now;
    let touch = !ctx.client.no_touch;
    let max_bytes = sparse_max_bytes(ctx);
    let mut max = Box::new([0u8; REGISTERS]);
    let mut use_dense = false;
    for key in &args[1..] {
        let (db, out) = ctx.db_out(key);
        let Some(e) = db.lookup_read(key, now, touch) else {
            continue;
        };
        if let Err(msg) = check_hll(e.value()) {
            return out.error(msg);
        }
        let bytes = hll_bytes(e.value());
        if hll::encoding(bytes) == hll::DENSE {
            use_dense = true;
        }
        if hll::merge(&mut max, bytes).is_err() {
            return out.error(ERR_INVALID);
        }
    }
    let dest = args[1];
    let (db, out) = ctx.db_out(dest);
    if db.lookup_write(dest, now).is_none() {
        db.set(dest, Value::Raw(Box::new(hll::new_sparse())), None, false, now);
    }
    // The destination was checked as the first source.
    let Some(v) = db.lookup_write(dest, now).and_then(|e| e.value_mut().make_raw()) else {
        return out.error(ERR_WRONGTYPE);
    };
    if use_dense && hll::sparse_to_dense(v).is_err() {
        return out.error(ERR_INVALID);
    }
    for (i, &m) in max.iter().enumerate() {
        if m != 0 {
            // As Redis, a failure here (only a corrupt destination,
            // already refused above) is ignored.
            let _ = hll::set(v, i, m, max_bytes);
        }
    }
    hll::invalidate_cache(v);
    out.ok();
    ctx.dirty(1);
}

fn pfselftest(ctx: &mut Ctx<'_>, _args: &[&[u8]]) {
    let max = sparse_max_bytes(ctx);
    let mut rng = rand::thread_rng();
    let mut next = || rand::Rng::gen::<u32>(&mut rng);
    match hll::self_test(max, &mut next) {
        Ok(()) => ctx.out.ok(),
        Err(e) => ctx.out.error(&e),
    }
}

fn pfdebug(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    let now = ctx.now;
    let sub = args[1];
    let key = args[2];
    let (db, out) = ctx.db_out(key);
    let Some(e) = db.lookup_write(key, now) else {
        return out.error("The specified key does not exist");
    };
    if let Err(msg) = check_hll(e.value()) {
        return out.error(msg);
    }
    let Some(v) = e.value_mut().make_raw() else {
        return out.error(ERR_WRONGTYPE);
    };
    let mut changed = false;
    if sub.eq_ignore_ascii_case(b"getreg") {
        match hll::sparse_to_dense(v) {
            Err(Corrupt) => return out.error(ERR_INVALID),
            Ok(conv) => changed = conv,
        }
        let regs = &v[hll::HDR_SIZE..];
        out.array(REGISTERS);
        for i in 0..REGISTERS {
            out.integer(i64::from(hll::dense_get(regs, i)));
        }
    } else if sub.eq_ignore_ascii_case(b"decode") {
        if hll::encoding(v) != hll::SPARSE {
            return out.error("HLL encoding is not sparse");
        }
        out.bulk(hll::decode_sparse(v).as_bytes());
    } else if sub.eq_ignore_ascii_case(b"encoding") {
        out.simple(if hll::encoding(v) == hll::DENSE {
            "dense"
        } else {
            "sparse"
        });
    } else if sub.eq_ignore_ascii_case(b"todense") {
        match hll::sparse_to_dense(v) {
            Err(Corrupt) => return out.error(ERR_INVALID),
            Ok(conv) => changed = conv,
        }
        out.integer(i64::from(changed));
    } else {
        let mut msg = b"Unknown PFDEBUG subcommand '".to_vec();
        msg.extend_from_slice(c_str(sub));
        msg.push(b'\'');
        return out.error_bytes(&msg);
    }
    if changed {
        // "Force propagation on encoding change."
        ctx.dirty(1);
    }
}

/// `s` as C's `%s` prints it: up to the first NUL.
fn c_str(s: &[u8]) -> &[u8] {
    s.iter().position(|&b| b == 0).map_or(s, |z| &s[..z])
}
