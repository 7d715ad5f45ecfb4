//! Geospatial commands (Redis's geo.c): a geo index is a sorted set
//! whose scores are 52-bit geohashes, so the values, their encodings and
//! persistence are the sorted set's. GEOADD is ZADD with computed scores
//! (and is logged as that ZADD, as Redis propagates it); searches scan
//! the score ranges of the 3x3 geohash cells around the centre, filter
//! by the shape, then sort and limit as Redis does (glibc's stable
//! merge sort for a full sort, Redis's pqsort for COUNT), so equal
//! distances come out in Redis's order. The math is in `geohash`.

mod geohash;

use larder_engine::types::ZSet;
use larder_engine::Value;

use self::geohash::{Shape, ShapeKind};
use super::zset::{build_zset, parse_score, read_zset, zadd};
use super::{acl, flags::*, BeginSearch, CommandSpec, FindKeys, KeySpec};
use crate::dispatch::{Ctx, Locks};
use crate::util::{is, parse_i64, ERR_NOT_FLOAT, ERR_NOT_INT, ERR_SYNTAX};

const KEY_RW_UPDATE: &[KeySpec] = &[KeySpec::single(1, &["RW", "UPDATE"])];
const KEY_RO_ACCESS: &[KeySpec] = &[KeySpec::single(1, &["RO", "ACCESS"])];
const KEYS_SEARCHSTORE: &[KeySpec] = &[
    KeySpec::single(1, &["OW", "UPDATE"]),
    KeySpec::single(2, &["RO", "ACCESS"]),
];
const fn store_keyword(keyword: &'static str, start_from: i32) -> KeySpec {
    KeySpec {
        begin: BeginSearch::Keyword { keyword, start_from },
        find: FindKeys::Range {
            last_key: 0,
            step: 1,
            limit: 0,
        },
        flags: &["OW", "UPDATE"],
    }
}
const KEYS_GEORADIUS: &[KeySpec] = &[
    KeySpec::single(1, &["RO", "ACCESS"]),
    store_keyword("STORE", 6),
    store_keyword("STOREDIST", 6),
];
const KEYS_GEORADIUSBYMEMBER: &[KeySpec] = &[
    KeySpec::single(1, &["RO", "ACCESS"]),
    store_keyword("STORE", 5),
    store_keyword("STOREDIST", 5),
];

const W: u64 = acl::WRITE | acl::GEO | acl::SLOW;
const R: u64 = acl::READ | acl::GEO | acl::SLOW;

const RADIUS_COMPLEXITY: &str = "O(N+log(M)) where N is the number of elements inside the bounding box of the circular area delimited by center and radius and M is the number of items inside the index.";
const SEARCH_COMPLEXITY: &str = "O(N+log(M)) where N is the number of elements in the grid-aligned bounding box area around the shape provided as the filter and M is the number of items inside the shape";

pub static COMMANDS: &[CommandSpec] = &[
    CommandSpec::new("geoadd", -5, WRITE | DENYOOM, W, geoadd)
        .keys(KEY_RW_UPDATE)
        .doc(
            "geo",
            "3.2.0",
            "Adds one or more members to a geospatial index. The key is created if it doesn't exist.",
            "O(log(N)) for each item added, where N is the number of elements in the sorted set.",
        ),
    CommandSpec::new("geodist", -4, READONLY, R, geodist)
        .keys(KEY_RO_ACCESS)
        .doc(
            "geo",
            "3.2.0",
            "Returns the distance between two members of a geospatial index.",
            "O(1)",
        ),
    CommandSpec::new("geohash", -2, READONLY, R, geohash_cmd)
        .keys(KEY_RO_ACCESS)
        .doc(
            "geo",
            "3.2.0",
            "Returns members from a geospatial index as geohash strings.",
            "O(1) for each member requested.",
        ),
    CommandSpec::new("geopos", -2, READONLY, R, geopos)
        .keys(KEY_RO_ACCESS)
        .doc(
            "geo",
            "3.2.0",
            "Returns the longitude and latitude of members from a geospatial index.",
            "O(1) for each member requested.",
        ),
    CommandSpec::new("georadius", -6, WRITE | DENYOOM, W, georadius)
        .keys(KEYS_GEORADIUS)
        .doc(
            "geo",
            "3.2.0",
            "Queries a geospatial index for members within a distance from a coordinate, optionally stores the result.",
            RADIUS_COMPLEXITY,
        ),
    CommandSpec::new("georadius_ro", -6, READONLY, R, georadius_ro)
        .keys(KEY_RO_ACCESS)
        .doc(
            "geo",
            "3.2.10",
            "Returns members from a geospatial index that are within a distance from a coordinate.",
            RADIUS_COMPLEXITY,
        ),
    CommandSpec::new("georadiusbymember", -5, WRITE | DENYOOM, W, georadiusbymember)
        .keys(KEYS_GEORADIUSBYMEMBER)
        .doc(
            "geo",
            "3.2.0",
            "Queries a geospatial index for members within a distance from a member, optionally stores the result.",
            RADIUS_COMPLEXITY,
        ),
    CommandSpec::new("georadiusbymember_ro", -5, READONLY, R, georadiusbymember_ro)
        .keys(KEY_RO_ACCESS)
        .doc(
            "geo",
            "3.2.10",
            "Returns members from a geospatial index that are within a distance from a member.",
            RADIUS_COMPLEXITY,
        ),
    CommandSpec::new("geosearch", -7, READONLY, R, geosearch)
        .keys(KEY_RO_ACCESS)
        .doc(
            "geo",
            "6.2.0",
            "Queries a geospatial index for members inside an area of a box or a circle.",
            SEARCH_COMPLEXITY,
        ),
    CommandSpec::new("geosearchstore", -8, WRITE | DENYOOM, W, geosearchstore)
        .keys(KEYS_SEARCHSTORE)
        .doc(
            "geo",
            "6.2.0",
            "Queries a geospatial index for members inside an area of a box or a circle, optionally stores the result.",
            SEARCH_COMPLEXITY,
        ),
];

/// The database part holding `key`, borrowing only `ctx.locks`.
macro_rules! db {
    ($ctx:ident, $key:expr) => {{
        let ks = &$ctx.server.keyspace;
        let dbi = $ctx.client.db;
        $ctx.locks.shard(ks, ks.shard_of($key)).db(dbi)
    }};
}

// ---------------------------------------------------------------------------
// Argument helpers (geo.c's extract*OrReply)

/// getDoubleFromObjectOrReply: the float or the error to reply.
fn double_arg(arg: &[u8], msg: &'static str) -> Result<f64, String> {
    parse_score(arg).ok_or_else(|| msg.to_string())
}

/// extractLongLatOrReply.
fn long_lat_arg(lon: &[u8], lat: &[u8]) -> Result<[f64; 2], String> {
    let x = double_arg(lon, ERR_NOT_FLOAT)?;
    let y = double_arg(lat, ERR_NOT_FLOAT)?;
    if !(geohash::LONG_MIN..=geohash::LONG_MAX).contains(&x) || !(geohash::LAT_MIN..=geohash::LAT_MAX).contains(&y) {
        return Err(format!("invalid longitude,latitude pair {x:.6},{y:.6}"));
    }
    Ok([x, y])
}

/// extractUnitOrReply: meters per unit.
fn unit_arg(unit: &[u8]) -> Result<f64, String> {
    if is(unit, "m") {
        Ok(1.0)
    } else if is(unit, "km") {
        Ok(1000.0)
    } else if is(unit, "ft") {
        Ok(0.3048)
    } else if is(unit, "mi") {
        Ok(1609.34)
    } else {
        Err("unsupported unit provided. please use M, KM, FT, MI".to_string())
    }
}

/// extractDistanceOrReply: (radius, meters per unit).
fn distance_arg(radius: &[u8], unit: &[u8]) -> Result<(f64, f64), String> {
    let r = double_arg(radius, "need numeric radius")?;
    if r < 0.0 {
        return Err("radius cannot be negative".to_string());
    }
    Ok((r, unit_arg(unit)?))
}

/// extractBoxOrReply: (width, height, meters per unit).
fn box_arg(width: &[u8], height: &[u8], unit: &[u8]) -> Result<(f64, f64, f64), String> {
    let w = double_arg(width, "need numeric width")?;
    let h = double_arg(height, "need numeric height")?;
    if h < 0.0 || w < 0.0 {
        return Err("height or width cannot be negative".to_string());
    }
    Ok((w, h, unit_arg(unit)?))
}

/// A member's position (longLatFromMember).
fn member_pos(z: &ZSet, member: &[u8]) -> Option<[f64; 2]> {
    z.score(member).and_then(geohash::decode_score)
}

// ---------------------------------------------------------------------------
// Reply formatting

/// fixedpoint_d2string(d, 4) (Redis 7.2's distance format): the double
/// scaled by 10^4 and rounded with llrint, then printed with 4 decimals.
pub(crate) fn distance_string(d: f64) -> String {
    const TWO63: f64 = 9_223_372_036_854_775_808.0;
    if d == 0.0 {
        return "0.0000".to_string();
    }
    let scaled = (d * 10000.0).round_ties_even();
    // llrint of a NaN or out-of-range value is LLONG_MIN on x86-64.
    let sv = if scaled.is_nan() || !(-TWO63..TWO63).contains(&scaled) {
        i64::MIN
    } else {
        scaled as i64
    };
    let v = sv.unsigned_abs();
    let sign = if sv < 0 { "-" } else { "" };
    format!("{sign}{}.{:04}", v / 10000, v % 10000)
}

/// ld2string(LD_STR_HUMAN) of a double: `%.17Lf` without trailing zeros.
pub(crate) fn human_string(d: f64) -> String {
    if d.is_nan() {
        return "nan".to_string();
    }
    if d.is_infinite() {
        return if d > 0.0 { "inf" } else { "-inf" }.to_string();
    }
    let mut s = format!("{d:.17}");
    if s.contains('.') {
        let t = s.trim_end_matches('0').trim_end_matches('.').len();
        s.truncate(t);
    }
    if s == "-0" {
        s = "0".to_string();
    }
    s
}

/// addReplyHumanLongDouble: a bulk string in RESP2, a double in RESP3.
fn reply_coord(ctx: &mut Ctx<'_>, d: f64) {
    let s = human_string(d);
    if ctx.out.is_resp3() {
        ctx.out.raw(format!(",{s}\r\n").as_bytes());
    } else {
        ctx.out.bulk(s.as_bytes());
    }
}

// ---------------------------------------------------------------------------
// GEOADD, GEODIST, GEOHASH, GEOPOS

/// GEOADD key [NX|XX] [CH] lon lat member ...: rewritten to ZADD as
/// Redis does (replaceClientCommandVector + zaddCommand), and logged as
/// that ZADD.
fn geoadd(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    let (mut xx, mut nx) = (false, false);
    let mut longidx = 2;
    while longidx < args.len() {
        let opt = args[longidx];
        if is(opt, "nx") {
            nx = true;
        } else if is(opt, "xx") {
            xx = true;
        } else if !is(opt, "ch") {
            break;
        }
        longidx += 1;
    }
    if !(args.len() - longidx).is_multiple_of(3) || (xx && nx) {
        return ctx.out.error(ERR_SYNTAX);
    }
    let mut argv: Vec<Vec<u8>> = Vec::with_capacity(longidx + (args.len() - longidx) / 3 * 2);
    argv.push(b"zadd".to_vec());
    argv.extend(args[1..longidx].iter().map(|a| a.to_vec()));
    for triple in args[longidx..].chunks_exact(3) {
        let [lon, lat] = match long_lat_arg(triple[0], triple[1]) {
            Ok(xy) => xy,
            Err(e) => return ctx.out.error(&e),
        };
        let score = geohash::score_of(lon, lat).unwrap_or(0);
        argv.push(score.to_string().into_bytes());
        argv.push(triple[2].to_vec());
    }
    let refs: Vec<&[u8]> = argv.iter().map(|a| a.as_slice()).collect();
    zadd(ctx, &refs);
    ctx.client.propagate_as = Some(vec![argv]);
}

/// GEODIST key member1 member2 [unit]
fn geodist(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    let mut to_meter = 1.0;
    if args.len() == 5 {
        match unit_arg(args[4]) {
            Ok(u) => to_meter = u,
            Err(e) => return ctx.out.error(&e),
        }
    } else if args.len() > 5 {
        return ctx.out.error(ERR_SYNTAX);
    }
    let now = ctx.now;
    let touch = !ctx.client.no_touch;
    let db = db!(ctx, args[1]);
    let Ok(found) = read_zset(db, ctx.out, args[1], now, touch) else {
        return;
    };
    let Some(z) = found else {
        return ctx.out.null();
    };
    let (Some(s1), Some(s2)) = (z.score(args[2]), z.score(args[3])) else {
        return ctx.out.null();
    };
    match (geohash::decode_score(s1), geohash::decode_score(s2)) {
        (Some(a), Some(b)) => {
            let d = geohash::distance(a[0], a[1], b[0], b[1]) / to_meter;
            ctx.out.bulk(distance_string(d).as_bytes());
        }
        _ => ctx.out.null(),
    }
}

/// GEOHASH key [member ...]
fn geohash_cmd(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    let now = ctx.now;
    let touch = !ctx.client.no_touch;
    let db = db!(ctx, args[1]);
    let Ok(z) = read_zset(db, ctx.out, args[1], now, touch) else {
        return;
    };
    ctx.out.array(args.len() - 2);
    for m in &args[2..] {
        match z.and_then(|z| z.score(m)).and_then(geohash::geohash_string) {
            Some(h) => ctx.out.bulk(&h),
            None => ctx.out.null(),
        }
    }
}

/// GEOPOS key [member ...]
fn geopos(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    let now = ctx.now;
    let touch = !ctx.client.no_touch;
    let db = db!(ctx, args[1]);
    let Ok(z) = read_zset(db, ctx.out, args[1], now, touch) else {
        return;
    };
    let positions: Vec<Option<[f64; 2]>> = args[2..].iter().map(|m| z.and_then(|z| member_pos(z, m))).collect();
    ctx.out.array(positions.len());
    for p in positions {
        match p {
            Some([lon, lat]) => {
                ctx.out.array(2);
                reply_coord(ctx, lon);
                reply_coord(ctx, lat);
            }
            None => ctx.out.null_array(),
        }
    }
}

// ---------------------------------------------------------------------------
// GEORADIUS, GEORADIUSBYMEMBER, GEOSEARCH, GEOSEARCHSTORE

/// Which command runs georadiusGeneric (its flags).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Variant {
    /// GEORADIUS / GEORADIUS_RO (`ro`: no STORE).
    Radius {
        ro: bool,
    },
    /// GEORADIUSBYMEMBER / GEORADIUSBYMEMBER_RO.
    ByMember {
        ro: bool,
    },
    Search,
    SearchStore,
}

impl Variant {
    fn geosearch(self) -> bool {
        matches!(self, Variant::Search | Variant::SearchStore)
    }
    /// STORE / STOREDIST with a key are accepted.
    fn store_option(self) -> bool {
        matches!(self, Variant::Radius { ro: false } | Variant::ByMember { ro: false })
    }
}

fn georadius(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    search_generic(ctx, args, 1, Variant::Radius { ro: false });
}

fn georadius_ro(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    search_generic(ctx, args, 1, Variant::Radius { ro: true });
}

fn georadiusbymember(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    search_generic(ctx, args, 1, Variant::ByMember { ro: false });
}

fn georadiusbymember_ro(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    search_generic(ctx, args, 1, Variant::ByMember { ro: true });
}

fn geosearch(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    search_generic(ctx, args, 1, Variant::Search);
}

fn geosearchstore(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    search_generic(ctx, args, 2, Variant::SearchStore);
}

/// The argument position of the key GEORADIUS / GEORADIUSBYMEMBER store
/// into: the last STORE / STOREDIST option, found as georadiusGeneric's
/// option loop finds it (the keyspace notifications need it).
pub(crate) fn radius_store_pos(name: &str, args: &[&[u8]]) -> Option<usize> {
    let base = match name {
        "georadius" => 6,
        "georadiusbymember" => 5,
        _ => return None,
    };
    let mut store = None;
    let mut i = base;
    while i < args.len() {
        let a = args[i];
        let has_next = i + 1 < args.len();
        if (is(a, "count") || is(a, "store") || is(a, "storedist")) && has_next {
            if !is(a, "count") {
                store = Some(i + 1);
            }
            i += 1;
        }
        i += 1;
    }
    store
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Sort {
    None,
    Asc,
    Desc,
}

/// One result (geoPoint).
struct Point {
    lon: f64,
    lat: f64,
    dist: f64,
    score: f64,
    member: Vec<u8>,
}

/// sort_gp_asc / sort_gp_desc, as C comparators.
fn compare(a: &Point, b: &Point, sort: Sort) -> i32 {
    let asc = if a.dist > b.dist {
        1
    } else if a.dist == b.dist {
        0
    } else {
        -1
    };
    if sort == Sort::Desc {
        -asc
    } else {
        asc
    }
}

/// The options georadiusGeneric parsed.
struct Search {
    shape: Shape,
    withdist: bool,
    withhash: bool,
    withcoords: bool,
    sort: Sort,
    count: i64,
    any: bool,
    /// Argument position of the key to store into.
    store: Option<usize>,
    storedist: bool,
}

/// georadiusGeneric: arguments parsed in Redis's order (the source is
/// looked up and type-checked first), points collected cell by cell,
/// sorted, then replied or stored.
fn search_generic(ctx: &mut Ctx<'_>, args: &[&[u8]], src_idx: usize, v: Variant) {
    let now = ctx.now;
    let touch = !ctx.client.no_touch;
    let src = args[src_idx];
    let db = db!(ctx, src);
    let Ok(zobj) = read_zset(db, ctx.out, src, now, touch) else {
        return;
    };
    let parsed = match parse_search(args, v, zobj) {
        Ok(p) => p,
        Err(e) => return ctx.out.error(&e),
    };
    let Some(z) = zobj else {
        if let Some(p) = parsed.store {
            if !store_key_locked(ctx, args[p]) {
                return ctx.out.error(ERR_STORE_SHARD);
            }
            let key = args[p];
            if db!(ctx, key).remove(key, now).is_some() {
                ctx.dirty(1);
            }
            ctx.out.integer(0);
        } else {
            ctx.out.array(0);
        }
        return;
    };
    let mut sort = parsed.sort;
    if parsed.count != 0 && sort == Sort::None && !parsed.any {
        sort = Sort::Asc;
    }
    let limit = if parsed.any { parsed.count as usize } else { 0 };
    let mut points = collect_points(z, &parsed.shape, limit);

    if points.is_empty() && parsed.store.is_none() {
        return ctx.out.array(0);
    }
    let result_length = points.len();
    let returned = if parsed.count == 0 || (result_length as i64) < parsed.count {
        result_length
    } else {
        parsed.count as usize
    };
    if sort != Sort::None {
        let cmp = |a: &Point, b: &Point| compare(a, b, sort);
        if returned == result_length {
            merge_sort(&mut points, &cmp);
        } else {
            pqsort(&mut points, &cmp, 0, returned - 1);
        }
    }
    points.truncate(returned);
    let conversion = parsed.shape.conversion;
    for p in &mut points {
        p.dist /= conversion;
    }

    let Some(store_pos) = parsed.store else {
        let options = usize::from(parsed.withdist) + usize::from(parsed.withhash) + usize::from(parsed.withcoords);
        ctx.out.array(points.len());
        for p in &points {
            if options > 0 {
                ctx.out.array(options + 1);
            }
            ctx.out.bulk(&p.member);
            if parsed.withdist {
                ctx.out.bulk(distance_string(p.dist).as_bytes());
            }
            if parsed.withhash {
                ctx.out.integer(p.score as i64);
            }
            if parsed.withcoords {
                ctx.out.array(2);
                reply_coord(ctx, p.lon);
                reply_coord(ctx, p.lat);
            }
        }
        return;
    };

    let key = args[store_pos];
    if !store_key_locked(ctx, key) {
        return ctx.out.error(ERR_STORE_SHARD);
    }
    let limits = ctx.server.limits();
    let n = points.len();
    let db = db!(ctx, key);
    if n > 0 {
        let z = build_zset(
            points
                .iter()
                .map(|p| (p.member.as_slice(), if parsed.storedist { p.dist } else { p.score })),
            &limits,
        );
        db.set(key, Value::ZSet(Box::new(z)), None, false, now);
        ctx.dirty(n as u64);
    } else if db.remove(key, now).is_some() {
        ctx.dirty(1);
    }
    ctx.out.integer(n as i64);
}

/// The store key of `GEORADIUS ... STORE a STORE b` (the last one wins,
/// as in Redis) may not be the one the key specs named, so its shard may
/// not be locked; locking it now could deadlock, so that rare form is
/// refused when the keys live in different shards.
const ERR_STORE_SHARD: &str =
    "STORE and STOREDIST given more than once with keys in different shards are not supported; give one of them";

fn store_key_locked(ctx: &mut Ctx<'_>, key: &[u8]) -> bool {
    let idx = ctx.server.keyspace.shard_of(key);
    match &ctx.locks {
        Locks::None => false,
        Locks::One(i, _) => *i == idx,
        Locks::Many(v) => v.iter().any(|(i, _)| *i == idx),
        Locks::All(_) => true,
    }
}

/// georadiusGeneric's argument handling, errors in its order.
fn parse_search(args: &[&[u8]], v: Variant, zobj: Option<&ZSet>) -> Result<Search, String> {
    let mut shape = Shape {
        xy: [0.0, 0.0],
        conversion: 0.0,
        kind: ShapeKind::Circle { radius: 0.0 },
    };
    let mut store = None;
    let base = match v {
        Variant::Radius { .. } => {
            shape.xy = long_lat_arg(args[2], args[3])?;
            let (radius, conv) = distance_arg(args[4], args[5])?;
            shape.kind = ShapeKind::Circle { radius };
            shape.conversion = conv;
            6
        }
        Variant::ByMember { .. } => {
            if let Some(z) = zobj {
                shape.xy = member_pos(z, args[2]).ok_or("could not decode requested zset member")?;
                let (radius, conv) = distance_arg(args[3], args[4])?;
                shape.kind = ShapeKind::Circle { radius };
                shape.conversion = conv;
            }
            5
        }
        Variant::Search => 2,
        Variant::SearchStore => {
            store = Some(1);
            3
        }
    };

    let (mut withdist, mut withhash, mut withcoords) = (false, false, false);
    let (mut frommember, mut fromloc, mut byradius, mut bybox) = (false, false, false, false);
    let mut sort = Sort::None;
    let mut any = false;
    let mut count: i64 = 0;
    let mut storedist = false;
    let remaining = args.len().saturating_sub(base);
    let mut i = 0;
    while i < remaining {
        let arg = args[base + i];
        let next = |k: usize| args[base + i + k];
        if is(arg, "withdist") {
            withdist = true;
        } else if is(arg, "withhash") {
            withhash = true;
        } else if is(arg, "withcoord") {
            withcoords = true;
        } else if is(arg, "any") {
            any = true;
        } else if is(arg, "asc") {
            sort = Sort::Asc;
        } else if is(arg, "desc") {
            sort = Sort::Desc;
        } else if is(arg, "count") && i + 1 < remaining {
            count = parse_i64(next(1)).ok_or(ERR_NOT_INT)?;
            if count <= 0 {
                return Err("COUNT must be > 0".to_string());
            }
            i += 1;
        } else if is(arg, "store") && i + 1 < remaining && v.store_option() {
            store = Some(base + i + 1);
            storedist = false;
            i += 1;
        } else if is(arg, "storedist") && i + 1 < remaining && v.store_option() {
            store = Some(base + i + 1);
            storedist = true;
            i += 1;
        } else if is(arg, "storedist") && v == Variant::SearchStore {
            storedist = true;
        } else if is(arg, "frommember") && i + 1 < remaining && v.geosearch() && !fromloc {
            if let Some(z) = zobj {
                shape.xy = member_pos(z, next(1)).ok_or("could not decode requested zset member")?;
            }
            frommember = true;
            i += 1;
        } else if is(arg, "fromlonlat") && i + 2 < remaining && v.geosearch() && !frommember {
            shape.xy = long_lat_arg(next(1), next(2))?;
            fromloc = true;
            i += 2;
        } else if is(arg, "byradius") && i + 2 < remaining && v.geosearch() && !bybox {
            let (radius, conv) = distance_arg(next(1), next(2))?;
            shape.kind = ShapeKind::Circle { radius };
            shape.conversion = conv;
            byradius = true;
            i += 2;
        } else if is(arg, "bybox") && i + 3 < remaining && v.geosearch() && !byradius {
            let (width, height, conv) = box_arg(next(1), next(2), next(3))?;
            shape.kind = ShapeKind::Box { width, height };
            shape.conversion = conv;
            bybox = true;
            i += 3;
        } else {
            return Err(ERR_SYNTAX.to_string());
        }
        i += 1;
    }

    if store.is_some() && (withdist || withhash || withcoords) {
        return Err(format!(
            "{} is not compatible with WITHDIST, WITHHASH and WITHCOORD options",
            if v == Variant::SearchStore {
                "GEOSEARCHSTORE"
            } else {
                "STORE option in GEORADIUS"
            }
        ));
    }
    let name = String::from_utf8_lossy(args[0]);
    if v.geosearch() && !(frommember || fromloc) {
        return Err(format!(
            "exactly one of FROMMEMBER or FROMLONLAT can be specified for {name}"
        ));
    }
    if v.geosearch() && !(byradius || bybox) {
        return Err(format!("exactly one of BYRADIUS and BYBOX can be specified for {name}"));
    }
    if any && count == 0 {
        return Err("the ANY argument requires COUNT argument".to_string());
    }
    Ok(Search {
        shape,
        withdist,
        withhash,
        withcoords,
        sort,
        count,
        any,
        store,
        storedist,
    })
}

/// membersOfAllNeighbors: the points inside `shape` from the nine cells'
/// score ranges, in Redis's scan order; with `limit` (COUNT ... ANY) the
/// scan stops once that many were found.
fn collect_points(z: &ZSet, shape: &Shape, limit: usize) -> Vec<Point> {
    let area = geohash::areas_by_shape(shape);
    let cells = area.cells();
    let mut points: Vec<Point> = Vec::new();
    let full = |points: &Vec<Point>| !points.is_empty() && limit != 0 && points.len() >= limit;
    // Redis's `last_processed` starts at 0, which also means "none": a
    // neighbour equal to the centre cell is scanned again, as there.
    let mut last_processed = 0;
    for (i, cell) in cells.iter().enumerate() {
        if cell.is_zero() {
            continue;
        }
        if last_processed != 0 && *cell == cells[last_processed] {
            continue;
        }
        if full(&points) {
            break;
        }
        let (min, max) = geohash::score_range(*cell);
        // geoGetPointsInRange: min <= score < max.
        let from = z.count_while(&|s, _| s < min);
        z.walk(from, false, &mut |m, s| {
            if s >= max {
                return false;
            }
            if let Some([lon, lat]) = geohash::decode_score(s) {
                if let Some(dist) = shape.contains(lon, lat) {
                    points.push(Point {
                        lon,
                        lat,
                        dist,
                        score: s,
                        member: m.to_vec(),
                    });
                }
            }
            !full(&points)
        });
        last_processed = i;
    }
    points
}

/// glibc's qsort for Redis's array of 40-byte points: a stable top-down
/// merge sort (msort_with_tmp), replayed step for step so that even an
/// inconsistent comparison (a NaN distance) orders as there.
fn merge_sort(v: &mut Vec<Point>, cmp: &dyn Fn(&Point, &Point) -> i32) {
    let n = v.len();
    if n <= 1 {
        return;
    }
    let mut idx: Vec<usize> = (0..n).collect();
    let mut tmp: Vec<usize> = vec![0; n];
    msort(&mut idx, &mut tmp, v, cmp);
    let mut slots: Vec<Option<Point>> = std::mem::take(v).into_iter().map(Some).collect();
    v.extend(idx.into_iter().filter_map(|i| slots[i].take()));
}

fn msort(b: &mut [usize], tmp: &mut [usize], pts: &[Point], cmp: &dyn Fn(&Point, &Point) -> i32) {
    let n = b.len();
    if n <= 1 {
        return;
    }
    let n1 = n / 2;
    {
        let (lo, hi) = b.split_at_mut(n1);
        msort(lo, tmp, pts, cmp);
        msort(hi, tmp, pts, cmp);
    }
    let (mut i1, mut i2, mut t) = (0, n1, 0);
    while i1 < n1 && i2 < n {
        if cmp(&pts[b[i1]], &pts[b[i2]]) <= 0 {
            tmp[t] = b[i1];
            i1 += 1;
        } else {
            tmp[t] = b[i2];
            i2 += 1;
        }
        t += 1;
    }
    // The rest of the first run follows; the second run's rest is
    // already in place.
    while i1 < n1 {
        tmp[t] = b[i1];
        i1 += 1;
        t += 1;
    }
    b[..t].copy_from_slice(&tmp[..t]);
}

/// Redis's pqsort (pqsort.c, Bentley & McIlroy's quicksort that only
/// recurses into parts overlapping [lrange, rrange]), on element
/// indices instead of bytes.
fn pqsort(v: &mut [Point], cmp: &dyn Fn(&Point, &Point) -> i32, lrange: usize, rrange: usize) {
    pqsort_part(v, cmp, 0, v.len() as isize, lrange as isize, rrange as isize);
}

fn med3(v: &[Point], cmp: &dyn Fn(&Point, &Point) -> i32, a: isize, b: isize, c: isize) -> isize {
    let p = |i: isize| &v[i as usize];
    if cmp(p(a), p(b)) < 0 {
        if cmp(p(b), p(c)) < 0 {
            b
        } else if cmp(p(a), p(c)) < 0 {
            c
        } else {
            a
        }
    } else if cmp(p(b), p(c)) > 0 {
        b
    } else if cmp(p(a), p(c)) < 0 {
        a
    } else {
        c
    }
}

fn insertion_sort(v: &mut [Point], cmp: &dyn Fn(&Point, &Point) -> i32, a: isize, n: isize) {
    let mut pm = a + 1;
    while pm < a + n {
        let mut pl = pm;
        while pl > a && cmp(&v[(pl - 1) as usize], &v[pl as usize]) > 0 {
            v.swap(pl as usize, (pl - 1) as usize);
            pl -= 1;
        }
        pm += 1;
    }
}

fn vecswap(v: &mut [Point], a: isize, b: isize, n: isize) {
    for k in 0..n.max(0) {
        v.swap((a + k) as usize, (b + k) as usize);
    }
}

fn pqsort_part(
    v: &mut [Point],
    cmp: &dyn Fn(&Point, &Point) -> i32,
    mut a: isize,
    mut n: isize,
    lrange: isize,
    rrange: isize,
) {
    let outside = |l: isize, r: isize| (lrange < l && rrange < l) || (lrange > r && rrange > r);
    loop {
        let mut swap_cnt = false;
        if n < 7 {
            insertion_sort(v, cmp, a, n);
            return;
        }
        let mut pm = a + n / 2;
        if n > 7 {
            let mut pl = a;
            let mut pn = a + n - 1;
            if n > 40 {
                let d = n / 8;
                pl = med3(v, cmp, pl, pl + d, pl + 2 * d);
                pm = med3(v, cmp, pm - d, pm, pm + d);
                pn = med3(v, cmp, pn - 2 * d, pn - d, pn);
            }
            pm = med3(v, cmp, pl, pm, pn);
        }
        v.swap(a as usize, pm as usize);
        let (mut pa, mut pb) = (a + 1, a + 1);
        let (mut pc, mut pd) = (a + n - 1, a + n - 1);
        loop {
            while pb <= pc {
                let r = cmp(&v[pb as usize], &v[a as usize]);
                if r > 0 {
                    break;
                }
                if r == 0 {
                    swap_cnt = true;
                    v.swap(pa as usize, pb as usize);
                    pa += 1;
                }
                pb += 1;
            }
            while pb <= pc {
                let r = cmp(&v[pc as usize], &v[a as usize]);
                if r < 0 {
                    break;
                }
                if r == 0 {
                    swap_cnt = true;
                    v.swap(pc as usize, pd as usize);
                    pd -= 1;
                }
                pc -= 1;
            }
            if pb > pc {
                break;
            }
            v.swap(pb as usize, pc as usize);
            swap_cnt = true;
            pb += 1;
            pc -= 1;
        }
        if !swap_cnt {
            insertion_sort(v, cmp, a, n);
            return;
        }
        let pn = a + n;
        let r = (pa - a).min(pb - pa);
        vecswap(v, a, pb - r, r);
        let r = (pd - pc).min(pn - pd - 1);
        vecswap(v, pb, pn - r, r);
        let r = pb - pa;
        if r > 1 && !outside(a, a + r - 1) {
            pqsort_part(v, cmp, a, r, lrange, rrange);
        }
        let r = pd - pc;
        if r > 1 {
            a = pn - r;
            n = r;
            if !outside(a, a + r - 1) {
                continue;
            }
        }
        return;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pt(dist: f64, tag: u8) -> Point {
        Point {
            lon: 0.0,
            lat: 0.0,
            dist,
            score: 0.0,
            member: vec![tag],
        }
    }

    #[test]
    fn distance_format_is_fixedpoint_d2string() {
        // Redis's util.c test_fixedpoint_d2string cases.
        assert_eq!(distance_string(0.0), "0.0000");
        assert_eq!(distance_string(0.0001), "0.0001");
        assert_eq!(distance_string(6.064_295_159_839_17e-5), "0.0001");
        assert_eq!(distance_string(0.01), "0.0100");
        assert_eq!(distance_string(-0.01), "-0.0100");
        assert_eq!(distance_string(10.01), "10.0100");
        assert_eq!(distance_string(166274.15156960033), "166274.1516");
        // llrint rounds the scaled value half to even.
        assert_eq!(distance_string(0.00005), "0.0000");
        assert_eq!(distance_string(0.00015), "0.0001");
        assert_eq!(distance_string(2.5e-4), "0.0002");
        assert_eq!(distance_string(f64::NAN), "-922337203685477.5808");
    }

    #[test]
    fn coordinates_print_as_ld2string_human() {
        assert_eq!(human_string(13.361389338970184), "13.36138933897018433");
        assert_eq!(human_string(1.0), "1");
        assert_eq!(human_string(-0.0), "0");
        assert_eq!(human_string(0.5), "0.5");
        assert_eq!(human_string(-180.0), "-180");
    }

    #[test]
    fn merge_sort_is_stable() {
        let mut v: Vec<Point> = [3.0, 1.0, 2.0, 1.0, 3.0, 0.5]
            .iter()
            .enumerate()
            .map(|(i, d)| pt(*d, i as u8))
            .collect();
        merge_sort(&mut v, &|a, b| compare(a, b, Sort::Asc));
        let tags: Vec<u8> = v.iter().map(|p| p.member[0]).collect();
        assert_eq!(tags, vec![5, 1, 3, 2, 0, 4]);
        merge_sort(&mut v, &|a, b| compare(a, b, Sort::Desc));
        let tags: Vec<u8> = v.iter().map(|p| p.member[0]).collect();
        assert_eq!(tags, vec![0, 4, 2, 1, 3, 5]);
    }

    #[test]
    fn pqsort_orders_the_requested_prefix() {
        // A deterministic pseudo-random sequence with many ties.
        let mut x: u64 = 12345;
        for n in [1usize, 5, 7, 8, 30, 41, 200] {
            let mut v: Vec<Point> = (0..n)
                .map(|i| {
                    x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                    pt(((x >> 33) % 17) as f64, i as u8)
                })
                .collect();
            let mut sorted: Vec<f64> = v.iter().map(|p| p.dist).collect();
            sorted.sort_by(f64::total_cmp);
            let k = n.div_ceil(3);
            pqsort(&mut v, &|a, b| compare(a, b, Sort::Asc), 0, k - 1);
            let got: Vec<f64> = v.iter().take(k).map(|p| p.dist).collect();
            assert_eq!(got, sorted[..k].to_vec(), "n={n}");
        }
    }

    #[test]
    fn store_pos_follows_the_option_loop() {
        let a: Vec<&[u8]> = vec![b"georadius", b"k", b"0", b"0", b"1", b"m", b"STORE", b"store"];
        assert_eq!(radius_store_pos("georadius", &a), Some(7));
        let a: Vec<&[u8]> = vec![
            b"georadius",
            b"k",
            b"0",
            b"0",
            b"1",
            b"m",
            b"count",
            b"store",
            b"storedist",
            b"d",
        ];
        assert_eq!(radius_store_pos("georadius", &a), Some(9));
        let a: Vec<&[u8]> = vec![b"georadiusbymember", b"k", b"store", b"1", b"m", b"asc"];
        assert_eq!(radius_store_pos("georadiusbymember", &a), None);
    }
}
