#![allow(clippy::unwrap_used)]
//! DUMP and RESTORE: Redis's replies and errors, TTL / IDLETIME / FREQ,
//! payloads byte for byte against a real Redis 7.0 for every encoding
//! whose layout is deterministic, payloads moved both ways between
//! Larder and Redis, and hostile payloads that must never hurt the
//! server.

mod common;
mod real_redis;

use common::TestServer;
use larder_engine::rdb;
use real_redis::{bcmd, observe, Redis};

fn q<T: redis::FromRedisValue>(c: &mut redis::Connection, args: &[&[u8]]) -> T {
    let mut cmd = redis::cmd(std::str::from_utf8(args[0]).unwrap());
    for a in &args[1..] {
        cmd.arg(*a);
    }
    cmd.query(c).unwrap()
}

fn err(c: &mut common::RawConn, args: &[&[u8]]) -> String {
    String::from_utf8_lossy(&bcmd(c, args)).into_owned()
}

fn dump(c: &mut redis::Connection, key: &[u8]) -> Option<Vec<u8>> {
    q(c, &[b"DUMP", key])
}

/// A payload with its checksum recomputed (so the parser, not the
/// checksum, decides).
fn reseal(mut p: Vec<u8>) -> Vec<u8> {
    if p.len() < 10 {
        return p;
    }
    let n = p.len() - 8;
    let crc = rdb::crc64(&p[..n]);
    p[n..].copy_from_slice(&crc.to_le_bytes());
    p
}

#[test]
fn dump_and_restore_round_trip_every_type() {
    let s = TestServer::start(&[]);
    let mut c = s.conn();
    let setup: &[&[&str]] = &[
        &["SET", "str", "hello"],
        &["SET", "int", "12345"],
        &["RPUSH", "list", "a", "1", "300"],
        &["SADD", "iset", "1", "2", "70000"],
        &["SADD", "sset", "x", "y"],
        &["HSET", "hash", "f", "v", "g", "1"],
        &["ZADD", "zset", "1", "a", "2.5", "b"],
    ];
    for cmd in setup {
        let args: Vec<&[u8]> = cmd.iter().map(|a| a.as_bytes()).collect();
        let _: redis::Value = q(&mut c, &args);
    }
    for key in ["str", "int", "list", "iset", "sset", "hash", "zset"] {
        let before = observe(&mut c, key.as_bytes());
        let enc: String = q(&mut c, &[b"OBJECT", b"ENCODING", key.as_bytes()]);
        let p = dump(&mut c, key.as_bytes()).unwrap();
        let _: i64 = q(&mut c, &[b"DEL", key.as_bytes()]);
        let ok: String = q(&mut c, &[b"RESTORE", key.as_bytes(), b"0", &p]);
        assert_eq!(ok, "OK");
        assert_eq!(observe(&mut c, key.as_bytes()), before, "{key}");
        let enc2: String = q(&mut c, &[b"OBJECT", b"ENCODING", key.as_bytes()]);
        assert_eq!(enc2, enc, "{key}");
        let ttl: i64 = q(&mut c, &[b"TTL", key.as_bytes()]);
        assert_eq!(ttl, -1);
    }
    assert_eq!(dump(&mut c, b"missing"), None);
}

#[test]
fn restore_errors_and_options_as_redis() {
    let s = TestServer::start(&[]);
    let mut c = s.conn();
    let mut r = s.raw();
    let _: () = q(&mut c, &[b"SET", b"s", b"hello"]);
    let p = dump(&mut c, b"s").unwrap();
    let cases: &[(&[&[u8]], &str)] = &[
        (
            &[b"RESTORE", b"s", b"0", b"x"],
            "-BUSYKEY Target key name already exists.\r\n",
        ),
        (
            &[b"RESTORE", b"n", b"-1", b"x"],
            "-ERR Invalid TTL value, must be >= 0\r\n",
        ),
        (
            &[b"RESTORE", b"n", b"abc", b"x"],
            "-ERR value is not an integer or out of range\r\n",
        ),
        (
            &[b"RESTORE", b"n", b"0", b"x"],
            "-ERR DUMP payload version or checksum are wrong\r\n",
        ),
        (&[b"RESTORE", b"n", b"0", b"x", b"foo"], "-ERR syntax error\r\n"),
        (&[b"RESTORE", b"n", b"0", b"x", b"idletime"], "-ERR syntax error\r\n"),
        (
            &[b"RESTORE", b"n", b"0", b"x", b"idletime", b"-1"],
            "-ERR Invalid IDLETIME value, must be >= 0\r\n",
        ),
        (
            &[b"RESTORE", b"n", b"0", b"x", b"idletime", b"a"],
            "-ERR value is not an integer or out of range\r\n",
        ),
        (
            &[b"RESTORE", b"n", b"0", b"x", b"freq", b"256"],
            "-ERR Invalid FREQ value, must be >= 0 and <= 255\r\n",
        ),
        (
            &[b"RESTORE", b"n", b"0", b"x", b"freq", b"-1"],
            "-ERR Invalid FREQ value, must be >= 0 and <= 255\r\n",
        ),
        (
            &[b"RESTORE", b"n", b"0", b"x", b"freq", b"1", b"idletime", b"2"],
            "-ERR syntax error\r\n",
        ),
        (
            &[b"RESTORE", b"n", b"0", b"x", b"idletime", b"1", b"freq", b"2"],
            "-ERR syntax error\r\n",
        ),
        (
            &[b"RESTORE", b"s", b"0", b"x", b"replace"],
            "-ERR DUMP payload version or checksum are wrong\r\n",
        ),
        (
            &[b"RESTORE", b"s", b"-1", b"x", b"replace"],
            "-ERR Invalid TTL value, must be >= 0\r\n",
        ),
        (
            &[b"RESTORE", b"n", b"0"],
            "-ERR wrong number of arguments for 'restore' command\r\n",
        ),
        (&[b"DUMP"], "-ERR wrong number of arguments for 'dump' command\r\n"),
    ];
    for (args, want) in cases {
        assert_eq!(
            err(&mut r, args),
            *want,
            "{:?}",
            args.iter().map(|a| String::from_utf8_lossy(a)).collect::<Vec<_>>()
        );
    }
    // A valid checksum over bytes that are not a value.
    let bad = reseal(b"\x00\xc3\x05\x05abc\x0a\x00________".to_vec());
    assert_eq!(err(&mut r, &[b"RESTORE", b"n", b"0", &bad]), "-ERR Bad data format\r\n");
    // A newer RDB version than we know.
    let mut newer = p.clone();
    let f = newer.len() - 10;
    newer[f] = 12;
    assert_eq!(
        err(&mut r, &[b"RESTORE", b"n", b"0", &reseal(newer)]),
        "-ERR DUMP payload version or checksum are wrong\r\n"
    );
    // Redis 7.2's version 11 is accepted.
    let mut v11 = p.clone();
    v11[f] = 11;
    assert_eq!(err(&mut r, &[b"RESTORE", b"v11", b"0", &reseal(v11)]), "+OK\r\n");

    // REPLACE, TTL, ABSTTL.
    let _: () = q(&mut c, &[b"SET", b"t", b"old"]);
    assert_eq!(err(&mut r, &[b"RESTORE", b"t", b"100000", &p, b"REPLACE"]), "+OK\r\n");
    let v: String = q(&mut c, &[b"GET", b"t"]);
    assert_eq!(v, "hello");
    let pttl: i64 = q(&mut c, &[b"PTTL", b"t"]);
    assert!(pttl > 90_000 && pttl <= 100_000, "{pttl}");
    let at = (std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis()
        + 500_000) as i64;
    assert_eq!(
        err(&mut r, &[b"RESTORE", b"a", at.to_string().as_bytes(), &p, b"ABSTTL"]),
        "+OK\r\n"
    );
    let pat: i64 = q(&mut c, &[b"PEXPIRETIME", b"a"]);
    assert_eq!(pat, at);
    // Already expired: OK, no key; with REPLACE the old key is gone too.
    assert_eq!(err(&mut r, &[b"RESTORE", b"gone", b"1", &p, b"ABSTTL"]), "+OK\r\n");
    let e: i64 = q(&mut c, &[b"EXISTS", b"gone"]);
    assert_eq!(e, 0);
    assert_eq!(
        err(&mut r, &[b"RESTORE", b"t", b"1", &p, b"ABSTTL", b"REPLACE"]),
        "+OK\r\n"
    );
    let e: i64 = q(&mut c, &[b"EXISTS", b"t"]);
    assert_eq!(e, 0);

    // IDLETIME (LRU) and FREQ (LFU).
    assert_eq!(
        err(&mut r, &[b"RESTORE", b"idle", b"0", &p, b"IDLETIME", b"1000"]),
        "+OK\r\n"
    );
    let idle: i64 = q(&mut c, &[b"OBJECT", b"IDLETIME", b"idle"]);
    assert!((1000..1010).contains(&idle), "{idle}");
    let _: () = q(&mut c, &[b"CONFIG", b"SET", b"maxmemory-policy", b"allkeys-lfu"]);
    assert_eq!(
        err(&mut r, &[b"RESTORE", b"freq", b"0", &p, b"FREQ", b"100"]),
        "+OK\r\n"
    );
    let f: i64 = q(&mut c, &[b"OBJECT", b"FREQ", b"freq"]);
    assert_eq!(f, 100);
}

/// Each scenario: the config both servers get, then the commands that
/// make its keys, and for each key whether its payload must be byte for
/// byte Redis's (false where the layout is a hash table's order or a
/// 7.0/7.2 encoding difference).
struct Scenario {
    config: &'static [(&'static str, &'static str)],
    cmds: Vec<Vec<Vec<u8>>>,
    keys: &'static [(&'static str, bool)],
}

fn v(args: &[&str]) -> Vec<Vec<u8>> {
    args.iter().map(|a| a.as_bytes().to_vec()).collect()
}

fn scenarios() -> Vec<Scenario> {
    let many: Vec<String> = (0..2000).map(|i| format!("element-{i}")).collect();
    let mut rpush_many = vec!["RPUSH".to_string(), "biglist".to_string()];
    rpush_many.extend(many.iter().cloned());
    let nums: Vec<String> = (1..=600).map(|i| i.to_string()).collect();
    let mut sadd_many = vec!["SADD".to_string(), "bigset".to_string()];
    sadd_many.extend(nums.iter().cloned());
    let owned = |a: &[String]| a.iter().map(|s| s.as_bytes().to_vec()).collect::<Vec<_>>();
    vec![
        Scenario {
            config: &[],
            cmds: vec![
                v(&["SET", "s1", "hello"]),
                v(&["SET", "s2", "12345"]),
                v(&["SET", "s3", "-7"]),
                v(&["SET", "s4", "1234567890123"]),
                v(&["SET", "s5", &"abcdefghij".repeat(30)]),
                vec![b"SET".to_vec(), b"s6".to_vec(), b"bin\x00\x01\xff\xfe".to_vec()],
                v(&["SET", "s7", "12"]),
                v(&["APPEND", "s7", "3"]),
                v(&["SET", "s8", &"x".repeat(5000)]),
                v(&["SET", "s9", ""]),
            ],
            keys: &[
                ("s1", true),
                ("s2", true),
                ("s3", true),
                ("s4", true),
                ("s5", true),
                ("s6", true),
                ("s7", true),
                ("s8", true),
                ("s9", true),
            ],
        },
        Scenario {
            config: &[],
            cmds: vec![
                v(&[
                    "RPUSH",
                    "l1",
                    "a",
                    "b",
                    "1",
                    "300",
                    "70000",
                    "-5",
                    "-70000",
                    "9999999999",
                ]),
                owned(&rpush_many),
                v(&["LPUSH", "l3", "x", "y", "z"]),
                v(&["RPUSH", "huge", "a", &"h".repeat(10000), "b"]),
            ],
            keys: &[("l1", true), ("biglist", true), ("l3", true), ("huge", false)],
        },
        Scenario {
            config: &[("list-max-listpack-size", "4")],
            cmds: vec![
                v(&[
                    "RPUSH", "q", "1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "x", "y", "z",
                ]),
                v(&["LPUSH", "q2", "1", "2", "3", "4", "5", "6", "7", "8", "9"]),
            ],
            keys: &[("q", true), ("q2", true)],
        },
        Scenario {
            config: &[],
            cmds: vec![
                v(&["SADD", "i", "1", "2", "3", "70000", "-40000"]),
                v(&["SADD", "w", "1", "5000000000"]),
                v(&["SREM", "w", "5000000000"]),
                v(&["SADD", "strs", "apple", "banana", "cherry", "42"]),
                owned(&sadd_many),
            ],
            keys: &[("i", true), ("w", true), ("strs", false), ("bigset", false)],
        },
        Scenario {
            config: &[],
            cmds: vec![
                v(&["HSET", "h", "f1", "v1", "f2", "2", "f3", &"x".repeat(30), "n", "-1"]),
                v(&["HSET", "hbig", "f", &"y".repeat(100)]),
            ],
            keys: &[("h", true), ("hbig", false)],
        },
        Scenario {
            config: &[("hash-max-listpack-entries", "0")],
            cmds: vec![v(&["HSET", "t", "a", "1", "b", "2", "c", "three"])],
            keys: &[("t", false)],
        },
        Scenario {
            config: &[],
            cmds: vec![
                v(&["ZADD", "z", "1", "a", "2.5", "b", "0.1", "c", "-3", "d", "1e30", "e"]),
                v(&["ZADD", "zi", "+inf", "a", "-inf", "b", "1.5", "c"]),
            ],
            keys: &[("z", true), ("zi", true)],
        },
        Scenario {
            // Redis keeps inner quicklist nodes LZF-compressed and saves
            // them as they are: Larder reads them (the bytes differ: Redis
            // compresses nodes with other bounds).
            config: &[("list-compress-depth", "1"), ("list-max-listpack-size", "8")],
            cmds: vec![owned(&{
                let mut c = vec!["RPUSH".to_string(), "cl".to_string()];
                c.extend((0..100).map(|i| format!("compressible-element-{}", i % 3)));
                c
            })],
            keys: &[("cl", false)],
        },
        Scenario {
            config: &[("rdbcompression", "no")],
            cmds: vec![
                v(&["SET", "plain", &"abcdefghij".repeat(30)]),
                v(&["RPUSH", "pl", &"z".repeat(100), "b"]),
            ],
            keys: &[("plain", true), ("pl", true)],
        },
        Scenario {
            config: &[("zset-max-listpack-entries", "2")],
            cmds: vec![v(&[
                "ZADD", "sl", "1", "a", "2.5", "b", "3", "c", "-1e100", "d", "0.1", "e",
            ])],
            keys: &[("sl", true)],
        },
    ]
}

#[test]
fn payloads_match_redis_and_move_both_ways() {
    if !real_redis::available() {
        return;
    }
    for (n, sc) in scenarios().iter().enumerate() {
        let larder = TestServer::start(&[]);
        let redis = Redis::start(&[]);
        let mut lc = larder.conn();
        let mut rc = redis.conn();
        for (k, val) in sc.config {
            let _: () = q(&mut lc, &[b"CONFIG", b"SET", k.as_bytes(), val.as_bytes()]);
            let _: () = q(&mut rc, &[b"CONFIG", b"SET", k.as_bytes(), val.as_bytes()]);
        }
        for cmd in &sc.cmds {
            let args: Vec<&[u8]> = cmd.iter().map(Vec::as_slice).collect();
            let a: redis::Value = q(&mut lc, &args);
            let b: redis::Value = q(&mut rc, &args);
            assert_eq!(a, b, "scenario {n}: {:?}", cmd);
        }
        for (key, exact) in sc.keys {
            let k = key.as_bytes();
            let want = observe(&mut rc, k);
            assert_eq!(observe(&mut lc, k), want, "scenario {n} key {key}");
            let lp = dump(&mut lc, k).unwrap();
            let rp = dump(&mut rc, k).unwrap();
            if *exact && lp != rp {
                let at = lp
                    .iter()
                    .zip(&rp)
                    .position(|(a, b)| a != b)
                    .unwrap_or(lp.len().min(rp.len()));
                let win = |p: &[u8]| p[at.saturating_sub(8)..(at + 24).min(p.len())].to_vec();
                panic!(
                    "scenario {n} key {key}: payload differs from Redis's at byte {at} (lengths {} and {}): {:?} vs {:?}",
                    lp.len(),
                    rp.len(),
                    win(&lp),
                    win(&rp)
                );
            }
            // Larder's payload into Redis, Redis's into Larder.
            let copy = format!("copy:{key}");
            let ok: String = q(&mut rc, &[b"RESTORE", copy.as_bytes(), b"0", &lp]);
            assert_eq!(ok, "OK");
            assert_eq!(observe(&mut rc, copy.as_bytes()), want, "Larder's {key} in Redis");
            let ok: String = q(&mut lc, &[b"RESTORE", copy.as_bytes(), b"0", &rp]);
            assert_eq!(ok, "OK");
            assert_eq!(observe(&mut lc, copy.as_bytes()), want, "Redis's {key} in Larder");
            // The restored copy gets the encoding Redis gives its copy
            // (where 7.0 and 7.2 agree on encodings: 7.0 has no listpack
            // lists).
            if *exact && !want.starts_with("list:") {
                let e1: String = q(&mut lc, &[b"OBJECT", b"ENCODING", copy.as_bytes()]);
                let e2: String = q(&mut rc, &[b"OBJECT", b"ENCODING", copy.as_bytes()]);
                assert_eq!(e1, e2, "scenario {n} key {key}: encoding after RESTORE");
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
    for name in ["dump", "restore"] {
        let a = larder.raw().cmd(&["COMMAND", "INFO", name]);
        let b = redis.raw().cmd(&["COMMAND", "INFO", name]);
        assert_eq!(a, b, "COMMAND INFO {name}");
    }
}

/// Deterministic pseudo-random bytes (no extra dependency needed here).
struct Lcg(u64);
impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
}

#[test]
fn hostile_payloads_never_hurt_the_server() {
    let s = TestServer::start(&[]);
    let mut c = s.conn();
    let mut r = s.raw();
    let setup: &[&[&str]] = &[
        &["SET", "str", &"abcdefghij".repeat(5)],
        &["RPUSH", "list", "a", "1", "300", "hello world"],
        &["SADD", "iset", "1", "2", "70000"],
        &["SADD", "sset", "x", "y"],
        &["HSET", "hash", "f", "v", "g", "1"],
        &["ZADD", "zset", "1", "a", "2.5", "b"],
    ];
    let mut payloads = Vec::new();
    for cmd in setup {
        let args: Vec<&[u8]> = cmd.iter().map(|a| a.as_bytes()).collect();
        let _: redis::Value = q(&mut c, &args);
        payloads.push(dump(&mut c, cmd[1].as_bytes()).unwrap());
    }
    let mut rng = Lcg(42);
    let mut accepted = 0;
    let mut rejected = 0;
    for round in 0..3000 {
        let base = &payloads[round % payloads.len()];
        let body_len = base.len() - 10;
        let mut p = base.clone();
        match round % 4 {
            0 => {
                // truncate the body, keep a valid footer
                let cut = (rng.next() as usize) % body_len;
                let mut t = base[..cut].to_vec();
                t.extend_from_slice(&base[body_len..]);
                p = t;
            }
            1 | 2 => {
                for _ in 0..1 + rng.next() % 3 {
                    let i = (rng.next() as usize) % body_len;
                    p[i] ^= 1 << (rng.next() % 8);
                }
            }
            _ => {
                let n = (rng.next() as usize) % 40;
                p = (0..n).map(|_| rng.next() as u8).collect();
                p.extend_from_slice(&base[body_len..]);
            }
        }
        let p = reseal(p);
        let reply = err(&mut r, &[b"RESTORE", b"fuzz", b"0", &p, b"REPLACE"]);
        if reply == "+OK\r\n" {
            accepted += 1;
        } else {
            assert!(
                reply == "-ERR Bad data format\r\n" || reply == "-ERR DUMP payload version or checksum are wrong\r\n",
                "{reply}"
            );
            rejected += 1;
        }
        // An unsealed flip is a checksum error.
        if round % 50 == 0 {
            let mut bad = base.clone();
            bad[0] ^= 0x40;
            assert_eq!(
                err(&mut r, &[b"RESTORE", b"fuzz2", b"0", &bad]),
                "-ERR DUMP payload version or checksum are wrong\r\n"
            );
        }
    }
    assert!(
        rejected > 100 && accepted > 10,
        "accepted {accepted} rejected {rejected}"
    );
    assert_eq!(r.cmd(&["PING"]), "+PONG\r\n");
    // Whatever was accepted is a usable key.
    let _: String = q(&mut c, &[b"TYPE", b"fuzz"]);
}

#[test]
fn restore_wakes_blocked_clients() {
    let s = TestServer::start(&[]);
    let mut c = s.conn();
    let _: i64 = q(&mut c, &[b"RPUSH", b"src", b"x"]);
    let p = dump(&mut c, b"src").unwrap();
    let port = s.port;
    let waiter = std::thread::spawn(move || {
        let cl = redis::Client::open(format!("redis://127.0.0.1:{port}/")).unwrap();
        let mut w = cl.get_connection().unwrap();
        let got: Option<(String, String)> = redis::cmd("BLPOP").arg("dst").arg(5).query(&mut w).unwrap();
        got
    });
    // Wait until the client is blocked, then create the key by RESTORE.
    let mut blocked = false;
    for _ in 0..300 {
        let info: String = q(&mut c, &[b"INFO", b"clients"]);
        if info.contains("blocked_clients:1") {
            blocked = true;
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    assert!(blocked, "BLPOP never blocked");
    let ok: String = q(&mut c, &[b"RESTORE", b"dst", b"0", &p]);
    assert_eq!(ok, "OK");
    assert_eq!(waiter.join().unwrap(), Some(("dst".to_string(), "x".to_string())));
}

#[test]
fn redis_streams_are_refused_cleanly() {
    if !real_redis::available() {
        return;
    }
    let redis = Redis::start(&[]);
    let mut rc = redis.conn();
    let _: String = q(&mut rc, &[b"XADD", b"st", b"1-1", b"f", b"v"]);
    let p = dump(&mut rc, b"st").unwrap();
    let s = TestServer::start(&[]);
    let mut r = s.raw();
    assert_eq!(err(&mut r, &[b"RESTORE", b"st", b"0", &p]), "-ERR Bad data format\r\n");
    assert_eq!(r.cmd(&["EXISTS", "st"]), ":0\r\n");
}

/// Seeded random keys of every deterministic encoding, made by the same
/// commands on both servers: every DUMP payload must be Redis's, byte
/// for byte (exercises LZF on many shapes of data).
#[test]
fn random_payloads_match_redis() {
    if !real_redis::available() {
        return;
    }
    let larder = TestServer::start(&[]);
    let redis = Redis::start(&[]);
    let mut lc = larder.conn();
    let mut rc = redis.conn();
    let mut rng = Lcg(std::env::var("RDB_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(7));
    let words = [
        "a",
        "abc",
        "hello",
        "x",
        "element",
        "0",
        "-1",
        "123",
        "99999",
        "-70000",
        "foo-bar-baz",
    ];
    let word = |rng: &mut Lcg| -> String {
        match rng.next() % 4 {
            0 => words[(rng.next() as usize) % words.len()].to_string(),
            1 => (rng.next() as i64 - (1 << 30)).to_string(),
            2 => {
                let n = 1 + (rng.next() % 80) as usize;
                let alphabet = b"abab  cdxyz0123";
                (0..n)
                    .map(|_| alphabet[(rng.next() as usize) % alphabet.len()] as char)
                    .collect()
            }
            _ => words[(rng.next() as usize) % words.len()].repeat(1 + (rng.next() % 20) as usize),
        }
    };
    let mut compared = 0;
    for i in 0..std::env::var("RDB_KEYS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(300)
    {
        let key = format!("k{i}");
        let mut cmd: Vec<String> = Vec::new();
        match i % 5 {
            0 => cmd.extend(["SET".into(), key.clone(), word(&mut rng)]),
            1 => {
                cmd.extend(["RPUSH".into(), key.clone()]);
                for _ in 0..1 + rng.next() % 200 {
                    cmd.push(word(&mut rng));
                }
            }
            2 => {
                cmd.extend(["HSET".into(), key.clone()]);
                for _ in 0..1 + rng.next() % 60 {
                    cmd.push(format!("f{}", rng.next() % 1000));
                    cmd.push(word(&mut rng));
                }
            }
            3 => {
                cmd.extend(["ZADD".into(), key.clone()]);
                for _ in 0..1 + rng.next() % 60 {
                    let score = match rng.next() % 3 {
                        0 => (rng.next() as i64 % 1000).to_string(),
                        1 => format!("{}", (rng.next() as f64) / 1000.0),
                        _ => format!("{:e}", (rng.next() as f64) * 1e10),
                    };
                    cmd.push(score);
                    cmd.push(word(&mut rng));
                }
            }
            _ => {
                cmd.extend(["SADD".into(), key.clone()]);
                for _ in 0..1 + rng.next() % 100 {
                    cmd.push((rng.next() as i64 - (1 << 31) * (rng.next() % 3) as i64).to_string());
                }
            }
        }
        let args: Vec<&[u8]> = cmd.iter().map(|a| a.as_bytes()).collect();
        let a: redis::Value = q(&mut lc, &args);
        let b: redis::Value = q(&mut rc, &args);
        assert_eq!(a, b, "{cmd:?}");
        let enc: String = q(&mut rc, &[b"OBJECT", b"ENCODING", key.as_bytes()]);
        if enc == "hashtable" {
            continue; // the order of a hash table is its own
        }
        let lp = dump(&mut lc, key.as_bytes()).unwrap();
        let rp = dump(&mut rc, key.as_bytes()).unwrap();
        if lp != rp {
            let at = lp
                .iter()
                .zip(&rp)
                .position(|(a, b)| a != b)
                .unwrap_or(lp.len().min(rp.len()));
            let win = |p: &[u8]| p[at.saturating_sub(8)..(at + 16).min(p.len())].to_vec();
            panic!(
                "{key} ({enc}): payloads differ at {at} ({} vs {} bytes): {:?} vs {:?}; command {:?}",
                lp.len(),
                rp.len(),
                win(&lp),
                win(&rp),
                &cmd
            );
        }
        compared += 1;
    }
    assert!(compared > 200, "{compared}");
}
