#![allow(clippy::unwrap_used)]
//! GEO commands against a real Redis: the same points added to both,
//! then many random searches (radius and box, from coordinates and from
//! members, every option), positions, hashes and distances compared
//! byte for byte in RESP2 and RESP3; errors byte for byte; STORE results,
//! keyspace events, and the AOF / restart round trip.
//!
//! The oracle is Redis 7.0 where Larder follows 7.2 (distance rounding
//! with llrint, the same-longitude distance shortcut, the box test's
//! latitude distance): these differ only in the last bits of a double,
//! which random points do not reach in four decimals.

mod common;
mod real_redis;

use common::{RawConn, TestServer};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use real_redis::Redis;
use std::time::Duration;

fn s(v: &[String]) -> Vec<&str> {
    v.iter().map(|a| a.as_str()).collect()
}

/// A sorted set's members and scores, compared as doubles: Redis 7.0
/// prints scores with `%.17g`, 7.2 (and Larder) with the shortest
/// round-trip form.
fn zdump(c: &mut RawConn, key: &str) -> Vec<(String, f64)> {
    let raw = c.cmd(&["ZRANGE", key, "0", "-1", "WITHSCORES"]);
    let items: Vec<&str> = raw
        .split("\r\n")
        .filter(|l| !l.is_empty() && !l.starts_with('*') && !l.starts_with('$'))
        .collect();
    items
        .chunks(2)
        .map(|p| (p[0].to_string(), p[1].trim_start_matches(',').parse().unwrap()))
        .collect()
}

fn both_zset(l: &mut RawConn, r: &mut RawConn, key: &str) {
    assert_eq!(zdump(l, key), zdump(r, key), "zset {key}");
}

fn both(l: &mut RawConn, r: &mut RawConn, args: &[&str]) -> String {
    let a = l.cmd(args);
    let b = r.cmd(args);
    assert_eq!(a, b, "command {args:?}");
    a
}

fn coord(rng: &mut SmallRng, centre: (f64, f64), spread: f64) -> (String, String) {
    let lon = (centre.0 + rng.gen_range(-spread..spread)).clamp(-180.0, 180.0);
    let lat = (centre.1 + rng.gen_range(-spread..spread)).clamp(-85.05, 85.05);
    (format!("{lon:.6}"), format!("{lat:.6}"))
}

const CENTRES: &[(f64, f64)] = &[
    (13.36, 38.11),
    (-73.98, 40.75),
    (179.9, 0.1),
    (-179.95, -10.0),
    (0.0, 0.0),
    (151.2, -33.87),
    (20.0, 84.9),
    (-60.0, -84.5),
];

/// Fills `key` on both servers with clusters of points and returns the
/// members. No two share a position: the order of equal distances is
/// left unspecified by Redis, and with COUNT (pqsort) Redis 7.0.15 was
/// seen ordering ties differently from a C build of its own pqsort.c
/// (which Larder matches); `ties_hold_the_same_members` covers ties.
fn populate(l: &mut RawConn, r: &mut RawConn, rng: &mut SmallRng, key: &str, n: usize) -> Vec<String> {
    let mut members = Vec::new();
    let mut i = 0;
    while i < n {
        let mut args = vec!["GEOADD".to_string(), key.to_string()];
        for _ in 0..rng.gen_range(1..=8) {
            let c = CENTRES[rng.gen_range(0..CENTRES.len())];
            let spread = [0.01, 0.5, 5.0, 40.0][rng.gen_range(0..4)];
            let p = coord(rng, c, spread);
            let m = format!("m{i}");
            args.extend([p.0.clone(), p.1.clone(), m.clone()]);
            members.push(m);
            i += 1;
        }
        both(l, r, &s(&args));
    }
    members
}

fn random_search(rng: &mut SmallRng, key: &str, members: &[String], resp3_store: bool) -> Vec<String> {
    let c = CENTRES[rng.gen_range(0..CENTRES.len())];
    let (lon, lat) = coord(rng, c, 3.0);
    let unit = ["m", "km", "ft", "mi", "KM"][rng.gen_range(0..5)];
    let per_m = match unit {
        "m" => 1.0,
        "km" | "KM" => 1000.0,
        "ft" => 0.3048,
        _ => 1609.34,
    };
    let meters = [500.0, 20_000.0, 300_000.0, 2_000_000.0, 9_000_000.0][rng.gen_range(0..5)];
    let size = format!("{:.3}", meters / per_m * rng.gen_range(0.5..1.5));
    let size2 = format!("{:.3}", meters / per_m * rng.gen_range(0.2..2.0));
    let member = members[rng.gen_range(0..members.len())].clone();
    let kind = rng.gen_range(0..6);
    let mut args: Vec<String> = match kind {
        0 => vec!["GEORADIUS".into(), key.into(), lon, lat, size, unit.into()],
        1 => vec!["GEORADIUS_RO".into(), key.into(), lon, lat, size, unit.into()],
        2 => vec!["GEORADIUSBYMEMBER".into(), key.into(), member, size, unit.into()],
        3 => vec!["GEORADIUSBYMEMBER_RO".into(), key.into(), member, size, unit.into()],
        _ => {
            let mut a = vec![if kind == 5 { "GEOSEARCHSTORE" } else { "GEOSEARCH" }.to_string()];
            if kind == 5 {
                a.push("dst".into());
            }
            a.push(key.into());
            if rng.gen_bool(0.5) {
                a.extend(["FROMMEMBER".into(), member]);
            } else {
                a.extend(["FROMLONLAT".into(), lon, lat]);
            }
            if rng.gen_bool(0.5) {
                a.extend(["BYRADIUS".into(), size, unit.into()]);
            } else {
                a.extend(["BYBOX".into(), size, size2, unit.into()]);
            }
            a
        }
    };
    let store = kind == 5 || ((kind == 0 || kind == 2) && rng.gen_bool(0.3));
    if !store || resp3_store {
        for opt in ["WITHCOORD", "WITHDIST", "WITHHASH"] {
            if !store && rng.gen_bool(0.5) {
                args.push(opt.into());
            }
        }
    }
    match rng.gen_range(0..4) {
        0 => args.push("ASC".into()),
        1 => args.push("DESC".into()),
        _ => {}
    }
    if rng.gen_bool(0.5) {
        args.push("COUNT".into());
        args.push(rng.gen_range(1..40).to_string());
        if rng.gen_bool(0.3) {
            args.push("ANY".into());
        }
    }
    if store {
        if kind == 5 {
            if rng.gen_bool(0.5) {
                args.push("STOREDIST".into());
            }
        } else {
            args.push(if rng.gen_bool(0.5) { "STORE" } else { "STOREDIST" }.into());
            args.push("dst".into());
        }
    }
    args
}

#[test]
fn random_points_and_searches_match_redis() {
    if !real_redis::available() {
        return;
    }
    let larder = TestServer::start(&[]);
    let redis = Redis::start(&[]);
    for resp3 in [false, true] {
        let mut l = larder.raw();
        let mut r = redis.raw();
        if resp3 {
            l.cmd(&["HELLO", "3"]);
            r.cmd(&["HELLO", "3"]);
        }
        both(&mut l, &mut r, &["FLUSHALL"]);
        let mut rng = SmallRng::seed_from_u64(if resp3 { 7 } else { 42 });
        // A small index (listpack) and a large one (skiplist).
        let small = populate(&mut l, &mut r, &mut rng, "small", 60);
        let large = populate(&mut l, &mut r, &mut rng, "large", 1500);
        both(&mut l, &mut r, &["OBJECT", "ENCODING", "small"]);
        both(&mut l, &mut r, &["OBJECT", "ENCODING", "large"]);
        for (key, members) in [("small", &small), ("large", &large)] {
            for _ in 0..400 {
                let args = random_search(&mut rng, key, members, false);
                both(&mut l, &mut r, &s(&args));
                if args.iter().any(|a| a.starts_with("STORE") || a == "GEOSEARCHSTORE") {
                    both_zset(&mut l, &mut r, "dst");
                    both(&mut l, &mut r, &["OBJECT", "ENCODING", "dst"]);
                }
            }
            for _ in 0..100 {
                let mut args = vec!["GEOPOS".to_string(), key.to_string()];
                let mut h = vec!["GEOHASH".to_string(), key.to_string()];
                for _ in 0..rng.gen_range(0..6) {
                    let m = members[rng.gen_range(0..members.len())].clone();
                    args.push(m.clone());
                    h.push(m);
                }
                args.push("nosuchmember".into());
                both(&mut l, &mut r, &s(&args));
                both(&mut l, &mut r, &s(&h));
                let a = &members[rng.gen_range(0..members.len())];
                let b = &members[rng.gen_range(0..members.len())];
                let unit = ["m", "km", "ft", "mi", "Mi"][rng.gen_range(0..5)];
                both(&mut l, &mut r, &["GEODIST", key, a, b]);
                both(&mut l, &mut r, &["GEODIST", key, a, b, unit]);
            }
        }
        // Scores that are not geohashes decode to clamped positions.
        both(
            &mut l,
            &mut r,
            &["ZADD", "odd", "-1", "neg", "1e300", "huge", "inf", "inf", "1.5", "frac"],
        );
        both(
            &mut l,
            &mut r,
            &["ZADD", "odd", "4503599627370495", "top", "9007199254740993", "big"],
        );
        both(
            &mut l,
            &mut r,
            &["GEOPOS", "odd", "neg", "huge", "inf", "frac", "top", "big"],
        );
        both(
            &mut l,
            &mut r,
            &["GEOHASH", "odd", "neg", "huge", "inf", "frac", "top", "big"],
        );
        both(&mut l, &mut r, &["GEODIST", "odd", "neg", "frac", "km"]);
        both(
            &mut l,
            &mut r,
            &[
                "GEOSEARCH",
                "odd",
                "FROMLONLAT",
                "-180",
                "-85",
                "BYRADIUS",
                "100",
                "km",
                "WITHHASH",
                "WITHCOORD",
            ],
        );
        // The extremes of the coordinate range.
        both(
            &mut l,
            &mut r,
            &[
                "GEOADD",
                "edge",
                "180",
                "85.05112878",
                "ne",
                "-180",
                "-85.05112878",
                "sw",
                "0",
                "0",
                "o",
            ],
        );
        both(&mut l, &mut r, &["ZRANGE", "edge", "0", "-1", "WITHSCORES"]);
        both(&mut l, &mut r, &["GEOPOS", "edge", "ne", "sw", "o"]);
        both(&mut l, &mut r, &["GEOHASH", "edge", "ne", "sw", "o"]);
        both(
            &mut l,
            &mut r,
            &["GEORADIUS", "edge", "0", "0", "20000", "km", "WITHDIST", "ASC"],
        );
        both(
            &mut l,
            &mut r,
            &[
                "GEOSEARCH",
                "edge",
                "FROMMEMBER",
                "o",
                "BYBOX",
                "40000",
                "40000",
                "km",
                "DESC",
                "WITHDIST",
            ],
        );
    }
}

#[test]
fn options_and_errors_match_redis() {
    if !real_redis::available() {
        return;
    }
    let larder = TestServer::start(&[]);
    let redis = Redis::start(&[]);
    let mut l = larder.raw();
    let mut r = redis.raw();
    let cmds: &[&[&str]] = &[
        &[
            "GEOADD",
            "Sicily",
            "13.361389",
            "38.115556",
            "Palermo",
            "15.087269",
            "37.502669",
            "Catania",
        ],
        &["GEOADD", "Sicily", "NX", "13", "38", "Palermo", "14", "37", "Messina"],
        &[
            "GEOADD",
            "Sicily",
            "XX",
            "CH",
            "13.361389",
            "38.115556",
            "Palermo",
            "1",
            "1",
            "Nowhere",
        ],
        &["GEOADD", "Sicily", "CH", "13.4", "38.1", "Palermo"],
        &[
            "GEOADD",
            "Sicily",
            "ch",
            "ch",
            "xx",
            "13.361389",
            "38.115556",
            "Palermo",
        ],
        &["GEOADD", "Sicily", "NX", "XX", "1", "1", "a"],
        &["GEOADD", "Sicily", "1", "1"],
        &["GEOADD", "Sicily", "ch", "nx", "xx"],
        &["GEOADD", "Sicily", "ch", "ch", "ch"],
        &["GEOADD", "Sicily", "GT", "1", "1", "a"],
        &["GEOADD", "Sicily", "200", "100", "x"],
        &["GEOADD", "Sicily", "1", "85.06", "x"],
        &["GEOADD", "Sicily", "-inf", "0", "x"],
        &["GEOADD", "Sicily", "1e300", "0", "x"],
        &["GEOADD", "Sicily", "abc", "0", "x"],
        &["GEOADD", "Sicily", "0", "nan", "x"],
        &["GEOADD", "Sicily", " 1", "0", "x"],
        &["GEOADD", "Sicily", "1", "2", "ok", "500", "2", "bad"],
        &["ZRANGE", "Sicily", "0", "-1", "WITHSCORES"],
        &["GEODIST", "Sicily", "Palermo", "Catania"],
        &["GEODIST", "Sicily", "Palermo", "Catania", "km"],
        &["GEODIST", "Sicily", "Palermo", "Catania", "KM"],
        &["GEODIST", "Sicily", "Palermo", "Catania", "parsec"],
        &["GEODIST", "Sicily", "Palermo", "Catania", "km", "extra"],
        &["GEODIST", "Sicily", "Palermo", "Nope"],
        &["GEODIST", "Sicily", "Palermo", "Palermo"],
        &["GEODIST", "nokey", "a", "b"],
        &["GEODIST", "nokey", "a", "b", "parsec"],
        &["GEOHASH", "Sicily"],
        &["GEOHASH", "Sicily", "Palermo", "x", "Catania"],
        &["GEOHASH", "nokey", "a"],
        &["GEOPOS", "Sicily"],
        &["GEOPOS", "Sicily", "Palermo", "x"],
        &["GEOPOS", "nokey", "a", "b"],
        &["SET", "str", "x"],
        &["GEOADD", "str", "1", "1", "a"],
        &["GEOPOS", "str", "a"],
        &["GEOHASH", "str", "a"],
        &["GEODIST", "str", "a", "b"],
        &["GEODIST", "str", "a", "b", "parsec"],
        &["GEOSEARCH", "str", "garbage"],
        &["GEORADIUS", "str", "x", "y", "1", "m"],
        &["GEORADIUSBYMEMBER", "str", "a", "1", "m"],
        &["GEOSEARCHSTORE", "dst", "str", "FROMMEMBER", "a", "BYRADIUS", "1", "m"],
        &[
            "GEORADIUS",
            "Sicily",
            "15",
            "37",
            "200",
            "km",
            "WITHDIST",
            "WITHCOORD",
            "WITHHASH",
            "ASC",
        ],
        &[
            "GEORADIUS",
            "Sicily",
            "15",
            "37",
            "200",
            "km",
            "withdist",
            "desc",
            "count",
            "1",
        ],
        &["GEORADIUS", "Sicily", "15", "37", "200", "km", "COUNT", "1", "ANY"],
        &["GEORADIUS", "Sicily", "15", "37", "200", "km", "ANY"],
        &["GEORADIUS", "Sicily", "15", "37", "200", "km", "COUNT", "0"],
        &["GEORADIUS", "Sicily", "15", "37", "200", "km", "COUNT", "-3"],
        &["GEORADIUS", "Sicily", "15", "37", "200", "km", "COUNT", "x"],
        &["GEORADIUS", "Sicily", "15", "37", "200", "km", "COUNT"],
        &["GEORADIUS", "Sicily", "15", "37", "-1", "km"],
        &["GEORADIUS", "Sicily", "15", "37", "x", "km"],
        &["GEORADIUS", "Sicily", "15", "37", "1", "parsec"],
        &["GEORADIUS", "Sicily", "x", "37", "1", "km"],
        &["GEORADIUS", "Sicily", "15", "95", "1", "km"],
        &["GEORADIUS", "Sicily", "15", "37", "200", "km", "BYBOX"],
        &["GEORADIUS", "Sicily", "15", "37", "200", "km", "STORE"],
        &[
            "GEORADIUS",
            "Sicily",
            "15",
            "37",
            "200",
            "km",
            "STORE",
            "dst",
            "WITHDIST",
        ],
        &["GEORADIUS", "Sicily", "15", "37", "200", "km", "STORE", "dst"],
        &["ZRANGE", "dst", "0", "-1", "WITHSCORES"],
        &[
            "GEORADIUS",
            "Sicily",
            "15",
            "37",
            "200",
            "km",
            "STOREDIST",
            "dst",
            "DESC",
        ],
        &["ZRANGE", "dst", "0", "-1", "WITHSCORES"],
        &["GEORADIUS", "Sicily", "15", "37", "1", "m", "STORE", "dst"],
        &["EXISTS", "dst"],
        &["GEORADIUS", "nokey", "15", "37", "1", "m", "STORE", "Sicily2"],
        &["GEORADIUS", "nokey", "15", "37", "1", "m"],
        &["GEORADIUS_RO", "Sicily", "15", "37", "200", "km", "STORE", "dst"],
        &["GEORADIUS_RO", "Sicily", "15", "37", "200", "km", "WITHDIST"],
        &["GEORADIUSBYMEMBER", "Sicily", "Palermo", "200", "km", "WITHDIST"],
        &["GEORADIUSBYMEMBER", "Sicily", "Nope", "200", "km"],
        &["GEORADIUSBYMEMBER", "Sicily", "Nope", "x", "km"],
        &["GEORADIUSBYMEMBER", "Sicily", "Palermo", "x", "km"],
        &["GEORADIUSBYMEMBER", "nokey", "Palermo", "x", "parsec"],
        &["GEORADIUSBYMEMBER", "nokey", "Palermo", "x", "parsec", "bogus"],
        &["GEORADIUSBYMEMBER", "nokey", "Palermo", "x", "parsec", "STORE", "dst"],
        &[
            "GEORADIUSBYMEMBER_RO",
            "Sicily",
            "Palermo",
            "200",
            "km",
            "STOREDIST",
            "dst",
        ],
        &[
            "GEOSEARCH",
            "Sicily",
            "FROMMEMBER",
            "Palermo",
            "BYRADIUS",
            "200",
            "km",
            "WITHDIST",
            "WITHCOORD",
        ],
        &[
            "GEOSEARCH",
            "Sicily",
            "FROMLONLAT",
            "15",
            "37",
            "BYBOX",
            "400",
            "400",
            "km",
            "ASC",
            "WITHHASH",
        ],
        &[
            "GEOSEARCH",
            "Sicily",
            "FROMLONLAT",
            "15",
            "37",
            "BYBOX",
            "400",
            "400",
            "km",
            "COUNT",
            "1",
            "ANY",
        ],
        &["GEOSEARCH", "Sicily", "BYRADIUS", "200", "km"],
        &["geosearch", "Sicily", "FROMMEMBER", "Palermo"],
        &[
            "GEOSEARCH",
            "Sicily",
            "FROMMEMBER",
            "Palermo",
            "FROMLONLAT",
            "1",
            "2",
            "BYRADIUS",
            "1",
            "m",
        ],
        &[
            "GEOSEARCH",
            "Sicily",
            "FROMMEMBER",
            "Palermo",
            "BYRADIUS",
            "1",
            "m",
            "BYBOX",
            "1",
            "1",
            "m",
        ],
        &["GEOSEARCH", "Sicily", "FROMMEMBER", "Nope", "BYRADIUS", "1", "m"],
        &["GEOSEARCH", "Sicily", "FROMLONLAT", "1", "100", "BYRADIUS", "1", "m"],
        &["GEOSEARCH", "Sicily", "FROMMEMBER", "Palermo", "BYBOX", "-1", "1", "m"],
        &["GEOSEARCH", "Sicily", "FROMMEMBER", "Palermo", "BYBOX", "x", "1", "m"],
        &["GEOSEARCH", "Sicily", "FROMMEMBER", "Palermo", "BYBOX", "1", "y", "m"],
        &[
            "GEOSEARCH",
            "Sicily",
            "FROMMEMBER",
            "Palermo",
            "BYBOX",
            "1",
            "1",
            "parsec",
        ],
        &[
            "GEOSEARCH",
            "Sicily",
            "FROMMEMBER",
            "Palermo",
            "BYRADIUS",
            "1",
            "m",
            "STORE",
            "dst",
        ],
        &[
            "GEOSEARCH",
            "Sicily",
            "FROMMEMBER",
            "Palermo",
            "BYRADIUS",
            "1",
            "m",
            "STOREDIST",
        ],
        &["GEOSEARCH", "nokey", "FROMMEMBER", "Palermo", "BYRADIUS", "1", "m"],
        &["GEOSEARCH", "nokey", "FROMMEMBER", "Palermo"],
        &[
            "GEOSEARCHSTORE",
            "dst",
            "Sicily",
            "FROMMEMBER",
            "Palermo",
            "BYRADIUS",
            "200",
            "km",
        ],
        &["ZRANGE", "dst", "0", "-1", "WITHSCORES"],
        &[
            "GEOSEARCHSTORE",
            "dst",
            "Sicily",
            "FROMMEMBER",
            "Palermo",
            "BYRADIUS",
            "200",
            "km",
            "STOREDIST",
        ],
        &["ZRANGE", "dst", "0", "-1", "WITHSCORES"],
        &[
            "GEOSEARCHSTORE",
            "dst",
            "Sicily",
            "FROMMEMBER",
            "Palermo",
            "BYRADIUS",
            "200",
            "km",
            "WITHDIST",
        ],
        &["Geosearchstore", "dst", "Sicily", "BYRADIUS", "200", "km"],
        &[
            "GEOSEARCHSTORE",
            "dst",
            "nokey",
            "FROMMEMBER",
            "Palermo",
            "BYRADIUS",
            "200",
            "km",
        ],
        &["EXISTS", "dst"],
        &[
            "GEOSEARCHSTORE",
            "Sicily",
            "Sicily",
            "FROMLONLAT",
            "15",
            "37",
            "BYBOX",
            "400",
            "400",
            "km",
            "COUNT",
            "1",
        ],
        &["ZRANGE", "Sicily", "0", "-1", "WITHSCORES"],
    ];
    for resp3 in [false, true] {
        both(&mut l, &mut r, &["FLUSHALL"]);
        if resp3 {
            l.cmd(&["HELLO", "3"]);
            r.cmd(&["HELLO", "3"]);
        }
        for c in cmds {
            if c[0] == "ZRANGE" {
                both_zset(&mut l, &mut r, c[1]);
            } else {
                both(&mut l, &mut r, c);
            }
        }
    }
}

#[test]
fn command_info_matches_redis() {
    if !real_redis::available() {
        return;
    }
    let larder = TestServer::start(&[]);
    let redis = Redis::start(&[]);
    let mut l = larder.raw();
    let mut r = redis.raw();
    for c in [
        "geoadd",
        "geodist",
        "geohash",
        "geopos",
        "georadius",
        "georadius_ro",
        "georadiusbymember",
        "georadiusbymember_ro",
        "geosearch",
        "geosearchstore",
    ] {
        both(&mut l, &mut r, &["COMMAND", "INFO", c]);
    }
    both(
        &mut l,
        &mut r,
        &[
            "COMMAND",
            "GETKEYS",
            "GEORADIUS",
            "k",
            "0",
            "0",
            "1",
            "m",
            "STORE",
            "a",
            "STOREDIST",
            "b",
        ],
    );
    both(
        &mut l,
        &mut r,
        &[
            "COMMAND",
            "GETKEYS",
            "GEORADIUSBYMEMBER",
            "k",
            "store",
            "1",
            "m",
            "STORE",
            "a",
        ],
    );
    both(
        &mut l,
        &mut r,
        &[
            "COMMAND",
            "GETKEYS",
            "GEOSEARCHSTORE",
            "d",
            "s",
            "FROMMEMBER",
            "a",
            "BYRADIUS",
            "1",
            "m",
        ],
    );
}

fn settle(sub: &mut RawConn) -> String {
    std::thread::sleep(Duration::from_millis(30));
    sub.s.set_read_timeout(Some(Duration::from_millis(20))).unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 65536];
    loop {
        use std::io::Read;
        match sub.s.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => got.extend_from_slice(&buf[..n]),
        }
    }
    sub.s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    String::from_utf8_lossy(&got).into_owned()
}

#[test]
fn keyspace_events_match_redis() {
    if !real_redis::available() {
        return;
    }
    let script: &[&[&str]] = &[
        &[
            "GEOADD",
            "g",
            "13.361389",
            "38.115556",
            "Palermo",
            "15.087269",
            "37.502669",
            "Catania",
        ],
        &["GEOADD", "g", "NX", "13.361389", "38.115556", "Palermo"],
        &["GEOADD", "g", "XX", "CH", "13.4", "38.1", "Palermo"],
        &["GEOPOS", "missing", "a"],
        &["GEODIST", "missing", "a", "b"],
        &["GEOSEARCH", "missing", "FROMLONLAT", "15", "37", "BYRADIUS", "1", "km"],
        &[
            "GEOSEARCHSTORE",
            "d",
            "g",
            "FROMLONLAT",
            "15",
            "37",
            "BYRADIUS",
            "200",
            "km",
        ],
        &[
            "GEOSEARCHSTORE",
            "d",
            "g",
            "FROMLONLAT",
            "15",
            "37",
            "BYRADIUS",
            "1",
            "m",
        ],
        &[
            "GEOSEARCHSTORE",
            "d",
            "missing",
            "FROMLONLAT",
            "15",
            "37",
            "BYRADIUS",
            "1",
            "m",
        ],
        &["GEORADIUS", "g", "15", "37", "200", "km", "STORE", "d2"],
        &[
            "GEORADIUS",
            "g",
            "15",
            "37",
            "200",
            "km",
            "STORE",
            "d2",
            "STOREDIST",
            "d2",
        ],
        &["GEORADIUSBYMEMBER", "g", "Palermo", "1", "m", "STOREDIST", "d2"],
        &["GEORADIUS", "g", "15", "37", "200", "km"],
        &["GEORADIUS", "missing", "15", "37", "200", "km"],
        &["GEORADIUS", "missing", "15", "37", "200", "km", "STORE", "g"],
        &["GEORADIUS_RO", "missing", "15", "37", "200", "km"],
    ];
    let run = |c: &mut RawConn, sub: &mut RawConn| -> Vec<String> {
        script
            .iter()
            .map(|cmd| {
                let reply = c.cmd(cmd);
                format!("{cmd:?} => {reply:?} {:?}", settle(sub))
            })
            .collect()
    };
    let flags = "AKEmn";
    let larder = TestServer::start(&["--notify-keyspace-events", flags]);
    let redis = Redis::start(&["--notify-keyspace-events", flags]);
    let (mut lc, mut rc) = (larder.raw(), redis.raw());
    let mut lsub = larder.raw();
    let mut rsub = redis.raw();
    lsub.cmd(&["PSUBSCRIBE", "__key*__:*"]);
    rsub.cmd(&["PSUBSCRIBE", "__key*__:*"]);
    let ours = run(&mut lc, &mut lsub);
    let theirs = run(&mut rc, &mut rsub);
    for (a, b) in ours.iter().zip(&theirs) {
        assert_eq!(a, b);
    }
}

/// A connection once the server has loaded its data.
fn loaded(s: &TestServer) -> RawConn {
    let mut c = s.raw();
    for _ in 0..500 {
        if !c.cmd(&["PING"]).starts_with("-LOADING") {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    c
}

#[test]
fn geoadd_is_logged_as_zadd_and_survives_a_restart() {
    let dir = std::env::temp_dir().join(format!("larder-geo-aof-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let d = dir.to_str().unwrap();
    let args = ["--dir", d, "--appendonly", "yes", "--appendfsync", "always"];
    let before;
    {
        let s = TestServer::start(&args);
        let mut c = loaded(&s);
        // The AOF's first base is written in the background at start.
        for _ in 0..200 {
            if c.cmd(&["INFO", "persistence"]).contains("aof_rewrite_in_progress:0") {
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        c.cmd(&[
            "GEOADD",
            "g",
            "CH",
            "13.361389",
            "38.115556",
            "Palermo",
            "15.087269",
            "37.502669",
            "Catania",
        ]);
        c.cmd(&[
            "GEOSEARCHSTORE",
            "near",
            "g",
            "FROMMEMBER",
            "Palermo",
            "BYRADIUS",
            "100",
            "km",
        ]);
        before = c.cmd(&["GEOPOS", "g", "Palermo", "Catania"]);
        let mut aof = Vec::new();
        for e in std::fs::read_dir(dir.join("appendonlydir")).unwrap() {
            let p = e.unwrap().path();
            if p.to_string_lossy().ends_with(".incr.aof") {
                aof.extend(std::fs::read(p).unwrap());
            }
        }
        let aof = String::from_utf8_lossy(&aof).into_owned();
        assert!(
            aof.contains("$4\r\nzadd\r\n$1\r\ng\r\n$2\r\nCH\r\n$16\r\n3479099956230698\r\n$7\r\nPalermo\r\n"),
            "{aof:?} {:?}",
            std::fs::read_dir(dir.join("appendonlydir"))
                .unwrap()
                .map(|e| e.unwrap().path())
                .collect::<Vec<_>>()
        );
        assert!(!aof.to_ascii_lowercase().contains("geoadd"));
        assert!(aof.contains("GEOSEARCHSTORE"));
    }
    let s = TestServer::start(&args);
    let mut c = loaded(&s);
    assert_eq!(c.cmd(&["GEOPOS", "g", "Palermo", "Catania"]), before);
    assert_eq!(c.cmd(&["ZRANGE", "near", "0", "-1"]), "*1\r\n$7\r\nPalermo\r\n");
    assert_eq!(c.cmd(&["SAVE"]), "+OK\r\n");
    drop(c);
    drop(s);
    // And from the RDB file alone.
    let s = TestServer::start(&["--dir", d, "--appendonly", "no"]);
    let mut c = loaded(&s);
    assert_eq!(c.cmd(&["GEOPOS", "g", "Palermo", "Catania"]), before);
    assert_eq!(c.cmd(&["ZRANGE", "near", "0", "-1"]), "*1\r\n$7\r\nPalermo\r\n");
    drop(s);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Equal distances (points sharing a position): the same members, each
/// run of ties compared as a set.
#[test]
fn ties_hold_the_same_members() {
    if !real_redis::available() {
        return;
    }
    let larder = TestServer::start(&[]);
    let redis = Redis::start(&[]);
    let (mut l, mut r) = (larder.raw(), redis.raw());
    let mut args = vec!["GEOADD".to_string(), "t".to_string()];
    for i in 0..60 {
        let (lon, lat) = (13.0 + (i % 6) as f64 * 0.01, 38.0 + (i % 4) as f64 * 0.01);
        args.extend([format!("{lon}"), format!("{lat}"), format!("p{i}")]);
    }
    both(&mut l, &mut r, &s(&args));
    for q in [
        &[
            "GEOSEARCH",
            "t",
            "FROMLONLAT",
            "13.02",
            "38.01",
            "BYRADIUS",
            "50",
            "km",
            "ASC",
            "WITHDIST",
        ][..],
        &[
            "GEOSEARCH",
            "t",
            "FROMLONLAT",
            "13.02",
            "38.01",
            "BYRADIUS",
            "50",
            "km",
            "DESC",
            "WITHDIST",
            "COUNT",
            "25",
        ],
        &["GEORADIUS", "t", "13", "38", "50", "km", "WITHDIST", "COUNT", "7"],
    ] {
        let norm = |raw: String| -> Vec<(String, Vec<String>)> {
            // "*2 $n member $n dist" items: group members by distance.
            let lines: Vec<String> = raw
                .split("\r\n")
                .filter(|x| !x.is_empty() && !x.starts_with('*') && !x.starts_with('$'))
                .map(String::from)
                .collect();
            let mut runs: Vec<(String, Vec<String>)> = Vec::new();
            for pair in lines.chunks(2) {
                match runs.last_mut() {
                    Some((d, ms)) if *d == pair[1] => ms.push(pair[0].clone()),
                    _ => runs.push((pair[1].clone(), vec![pair[0].clone()])),
                }
            }
            for (_, ms) in &mut runs {
                ms.sort();
            }
            runs
        };
        let (a, b) = (l.cmd(q), r.cmd(q));
        let (na, nb) = (norm(a), norm(b));
        // With COUNT the last run may be cut at a different member.
        let keep = na.len().saturating_sub(1);
        assert_eq!(na[..keep], nb[..keep], "{q:?}");
        assert_eq!(na.len(), nb.len(), "{q:?}");
    }
}
