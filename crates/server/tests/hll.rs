#![allow(clippy::unwrap_used)]
//! HyperLogLog commands against a real Redis: the same command sequences
//! give the same replies byte for byte AND the same value bytes (GET,
//! DUMP), through the sparse encoding, its promotion to dense, merges,
//! PFDEBUG, errors and corrupted values; values cross DUMP/RESTORE and
//! RDB files both ways and survive AOF and RDB restarts; keyspace
//! events, WATCH and the AOF see PFCOUNT's cache update as Redis does.
//! Without `redis-server` the comparisons are skipped.

mod common;
mod persist_util;
mod real_redis;

use common::{RawConn, TestServer};
use persist_util::{start_in, tempdir};
use real_redis::{bcmd, Redis};

fn both(l: &mut RawConn, r: &mut RawConn, args: &[&[u8]]) -> Vec<u8> {
    let a = bcmd(l, args);
    let b = bcmd(r, args);
    assert_eq!(
        String::from_utf8_lossy(&a),
        String::from_utf8_lossy(&b),
        "reply to {:?}",
        args.iter().map(|x| String::from_utf8_lossy(x)).collect::<Vec<_>>()
    );
    a
}

fn s(args: &[&str]) -> Vec<Vec<u8>> {
    args.iter().map(|a| a.as_bytes().to_vec()).collect()
}

fn run(l: &mut RawConn, r: &mut RawConn, args: &[Vec<u8>]) -> Vec<u8> {
    let refs: Vec<&[u8]> = args.iter().map(|a| a.as_slice()).collect();
    both(l, r, &refs)
}

/// Compares the replies and then the bytes of `key` (GET) and its
/// cached-cardinality-free state (PFCOUNT, then GET again).
fn same_value(l: &mut RawConn, r: &mut RawConn, key: &str) {
    run(l, r, &s(&["GET", key]));
    run(l, r, &s(&["PFCOUNT", key]));
    run(l, r, &s(&["GET", key]));
    run(l, r, &s(&["OBJECT", "ENCODING", key]));
}

fn elements(prefix: &str, range: std::ops::Range<usize>) -> Vec<Vec<u8>> {
    range.map(|i| format!("{prefix}{i}").into_bytes()).collect()
}

fn pfadd(l: &mut RawConn, r: &mut RawConn, key: &str, eles: Vec<Vec<u8>>) -> Vec<u8> {
    let mut args = s(&["PFADD", key]);
    args.extend(eles);
    run(l, r, &args)
}

#[test]
fn replies_and_bytes_match_redis() {
    if !real_redis::available() {
        return;
    }
    let larder = TestServer::start(&[]);
    let redis = Redis::start(&[]);
    let (mut l, mut r) = (larder.raw(), redis.raw());
    for proto in ["2", "3"] {
        bcmd(&mut l, &[b"HELLO", proto.as_bytes()]);
        bcmd(&mut r, &[b"HELLO", proto.as_bytes()]);
        run(&mut l, &mut r, &s(&["FLUSHALL"]));
        // Empty HLLs, single elements, repeats.
        run(&mut l, &mut r, &s(&["PFADD", "empty"]));
        run(&mut l, &mut r, &s(&["PFADD", "empty"]));
        same_value(&mut l, &mut r, "empty");
        run(&mut l, &mut r, &s(&["PFDEBUG", "DECODE", "empty"]));
        run(&mut l, &mut r, &s(&["PFADD", "h", "a", "b", "c"]));
        run(&mut l, &mut r, &s(&["PFADD", "h", "a", "b", "c"]));
        run(&mut l, &mut r, &s(&["PFDEBUG", "DECODE", "h"]));
        run(&mut l, &mut r, &s(&["PFDEBUG", "ENCODING", "h"]));
        same_value(&mut l, &mut r, "h");
        run(&mut l, &mut r, &s(&["PFCOUNT", "h"]));
        // Binary and empty elements.
        run(
            &mut l,
            &mut r,
            &[
                b"PFADD".to_vec(),
                b"bin".to_vec(),
                vec![],
                vec![0, 255, 1],
                vec![b'x'; 100],
            ],
        );
        same_value(&mut l, &mut r, "bin");
        // Growing sparse one element at a time, then in batches, past the
        // promotion to dense.
        for i in 0..300 {
            pfadd(&mut l, &mut r, "grow", elements("g", i..i + 1));
            if i % 37 == 0 {
                run(&mut l, &mut r, &s(&["GET", "grow"]));
                run(&mut l, &mut r, &s(&["PFDEBUG", "DECODE", "grow"]));
            }
        }
        same_value(&mut l, &mut r, "grow");
        for b in 0..30 {
            pfadd(&mut l, &mut r, "grow", elements("g", 300 + b * 100..400 + b * 100));
            run(&mut l, &mut r, &s(&["PFDEBUG", "ENCODING", "grow"]));
            run(&mut l, &mut r, &s(&["STRLEN", "grow"]));
        }
        same_value(&mut l, &mut r, "grow");
        pfadd(&mut l, &mut r, "big", elements("b", 0..20000));
        same_value(&mut l, &mut r, "big");
        // Merges: sparse + sparse, with a missing source, into an existing
        // destination, with a dense source, the destination alone.
        pfadd(&mut l, &mut r, "s1", elements("x", 0..50));
        pfadd(&mut l, &mut r, "s2", elements("x", 25..120));
        run(&mut l, &mut r, &s(&["PFMERGE", "m1", "s1", "nosuch", "s2"]));
        same_value(&mut l, &mut r, "m1");
        run(&mut l, &mut r, &s(&["PFMERGE", "s1", "s2"]));
        same_value(&mut l, &mut r, "s1");
        run(&mut l, &mut r, &s(&["PFMERGE", "m2", "s2", "big"]));
        same_value(&mut l, &mut r, "m2");
        run(&mut l, &mut r, &s(&["PFMERGE", "m3"]));
        same_value(&mut l, &mut r, "m3");
        run(&mut l, &mut r, &s(&["PFMERGE", "m3", "m3"]));
        same_value(&mut l, &mut r, "m3");
        run(&mut l, &mut r, &s(&["PFMERGE", "m4", "grow", "s2"]));
        same_value(&mut l, &mut r, "m4");
        // Counting several keys (no cache write), some missing.
        run(&mut l, &mut r, &s(&["PFCOUNT", "h", "s1", "nosuch", "big", "grow"]));
        run(&mut l, &mut r, &s(&["PFCOUNT", "nosuch", "nosuch2"]));
        run(&mut l, &mut r, &s(&["PFCOUNT", "nosuch"]));
        // PFDEBUG.
        run(&mut l, &mut r, &s(&["PFDEBUG", "GETREG", "s2"]));
        run(&mut l, &mut r, &s(&["GET", "s2"]));
        run(&mut l, &mut r, &s(&["PFDEBUG", "TODENSE", "h"]));
        run(&mut l, &mut r, &s(&["PFDEBUG", "TODENSE", "h"]));
        run(&mut l, &mut r, &s(&["PFDEBUG", "DECODE", "h"]));
        run(&mut l, &mut r, &s(&["PFDEBUG", "encoding", "h"]));
        same_value(&mut l, &mut r, "h");
        run(&mut l, &mut r, &s(&["PFDEBUG", "NOPE", "h"]));
        run(&mut l, &mut r, &s(&["PFDEBUG", "GETREG", "nosuch"]));
        run(&mut l, &mut r, &s(&["PFDEBUG", "GETREG"]));
        // A sparse destination taking a dense source becomes dense.
        run(&mut l, &mut r, &s(&["PFADD", "sp", "q"]));
        run(&mut l, &mut r, &s(&["PFMERGE", "sp", "h"]));
        same_value(&mut l, &mut r, "sp");
        // hll-sparse-max-bytes.
        run(&mut l, &mut r, &s(&["CONFIG", "SET", "hll-sparse-max-bytes", "100"]));
        for i in 0..40 {
            pfadd(&mut l, &mut r, "small", elements("s", i * 3..i * 3 + 3));
            run(&mut l, &mut r, &s(&["STRLEN", "small"]));
        }
        same_value(&mut l, &mut r, "small");
        run(&mut l, &mut r, &s(&["CONFIG", "SET", "hll-sparse-max-bytes", "3000"]));
        run(&mut l, &mut r, &s(&["CONFIG", "GET", "hll-sparse-max-bytes"]));
        // Values that are not HLLs.
        run(&mut l, &mut r, &s(&["RPUSH", "list", "a"]));
        run(&mut l, &mut r, &s(&["SET", "str", "hello"]));
        run(&mut l, &mut r, &s(&["SET", "int", "12345"]));
        run(&mut l, &mut r, &s(&["SET", "nothll", "HYLLxxxxxxxxxxxxxxxxxxx"]));
        run(&mut l, &mut r, &s(&["SET", "short", "HYLL\u{1}"]));
        for k in ["list", "str", "int", "nothll", "short"] {
            run(&mut l, &mut r, &s(&["PFADD", k, "a"]));
            run(&mut l, &mut r, &s(&["PFCOUNT", k]));
            run(&mut l, &mut r, &s(&["PFCOUNT", "h", k]));
            run(&mut l, &mut r, &s(&["PFMERGE", "dst", k]));
            run(&mut l, &mut r, &s(&["PFMERGE", k, "h"]));
            run(&mut l, &mut r, &s(&["PFDEBUG", "ENCODING", k]));
        }
        run(&mut l, &mut r, &s(&["EXISTS", "dst"]));
        // A dense header on a string of the wrong length.
        let mut bad_dense = b"HYLL\0\0\0\0\0\0\0\0\0\0\0\0".to_vec();
        bad_dense.extend_from_slice(&[0; 100]);
        run(&mut l, &mut r, &[b"SET".to_vec(), b"bd".to_vec(), bad_dense]);
        run(&mut l, &mut r, &s(&["PFCOUNT", "bd"]));
        // Corrupted sparse bodies: too few and too many registers, an
        // invalidated cache so PFCOUNT must look.
        let corrupt: &[&[u8]] = &[
            &[0x7f, 0xfe],
            &[0x7f, 0xff, 0x80],
            &[0x80, 0x7f, 0xff],
            &[0x7f],
            &[],
            &[0x00; 40],
            &[0xfc, 0x7f, 0xfb],
        ];
        for (i, body) in corrupt.iter().enumerate() {
            let mut v = b"HYLL\x01\0\0\0\0\0\0\0\0\0\0\x80".to_vec();
            v.extend_from_slice(body);
            let key = format!("bad{i}");
            run(&mut l, &mut r, &[b"SET".to_vec(), key.clone().into_bytes(), v]);
            run(&mut l, &mut r, &s(&["PFCOUNT", &key]));
            run(&mut l, &mut r, &s(&["PFCOUNT", &key, "h"]));
            run(&mut l, &mut r, &s(&["PFADD", &key, "a", "b", "c", "d"]));
            run(&mut l, &mut r, &s(&["GET", &key]));
            run(&mut l, &mut r, &s(&["PFMERGE", "mdst", &key]));
            run(&mut l, &mut r, &s(&["PFDEBUG", "TODENSE", &key]));
            run(&mut l, &mut r, &s(&["PFDEBUG", "DECODE", &key]));
        }
        // A valid cached cardinality is returned as is.
        let mut cached = b"HYLL\x01\0\0\0\x2a\0\0\0\0\0\0\0".to_vec();
        cached.extend_from_slice(&[0x7f, 0xff]);
        run(&mut l, &mut r, &[b"SET".to_vec(), b"cached".to_vec(), cached]);
        same_value(&mut l, &mut r, "cached");
        // Stats: PFCOUNT's cache write is a change.
        run(&mut l, &mut r, &s(&["PFADD", "stat", "a"]));
        run(&mut l, &mut r, &s(&["PFCOUNT", "stat"]));
    }
}

#[test]
fn command_info_and_flags() {
    let larder = TestServer::start(&[]);
    let mut l = larder.raw();
    if real_redis::available() {
        let redis = Redis::start(&[]);
        let mut r = redis.raw();
        for name in ["pfadd", "pfmerge", "pfdebug", "pfselftest", "pfcount"] {
            both(&mut l, &mut r, &[b"COMMAND", b"INFO", name.as_bytes()]);
        }
    }
    // PFCOUNT may replicate (its cached cardinality), a flag Redis keeps
    // hidden from COMMAND INFO.
    let info = l.cmd(&["COMMAND", "INFO", "pfcount"]);
    assert!(!info.contains("may_replicate"), "{info}");
    assert!(info.contains("RW because it may change"), "{info}");
    // A read-only script may not call PFCOUNT (it may replicate).
    let e = l.cmd(&["EVAL_RO", "return redis.call('pfcount', KEYS[1])", "1", "k"]);
    assert!(
        e.starts_with("-ERR Write commands are not allowed from read-only scripts."),
        "{e}"
    );
    assert_eq!(
        l.cmd(&["EVAL", "return redis.call('pfcount', KEYS[1])", "1", "k"]),
        ":0\r\n"
    );
}

#[test]
fn pfselftest_passes() {
    let larder = TestServer::start(&[]);
    let mut l = larder.raw();
    // Ten million adds: slow in a debug build.
    l.s.set_read_timeout(Some(std::time::Duration::from_secs(300))).unwrap();
    assert_eq!(l.cmd(&["PFSELFTEST"]), "+OK\r\n");
}

#[test]
fn pfcount_cache_write_is_a_change() {
    let larder = TestServer::start(&[]);
    let mut l = larder.raw();
    let mut w = larder.raw();
    l.cmd(&["PFADD", "h", "a", "b"]);
    // WATCH sees the cache write (signalModifiedKey), as in Redis.
    assert_eq!(w.cmd(&["WATCH", "h"]), "+OK\r\n");
    assert_eq!(l.cmd(&["PFCOUNT", "h"]), ":2\r\n");
    w.cmd(&["MULTI"]);
    w.cmd(&["PING"]);
    assert_eq!(w.cmd(&["EXEC"]), "*-1\r\n");
    // A cached count is no change.
    assert_eq!(w.cmd(&["WATCH", "h"]), "+OK\r\n");
    assert_eq!(l.cmd(&["PFCOUNT", "h"]), ":2\r\n");
    w.cmd(&["MULTI"]);
    w.cmd(&["PING"]);
    assert_eq!(w.cmd(&["EXEC"]), "*1\r\n+PONG\r\n");
    // Client-side caching: the count invalidates other trackers.
    let mut t = larder.raw();
    assert!(!t.cmd(&["HELLO", "3"]).is_empty());
    t.cmd(&["CLIENT", "TRACKING", "on"]);
    t.cmd(&["GET", "h"]);
    l.cmd(&["PFADD", "h", "c"]);
    let inv = String::from_utf8_lossy(&t.read_replies(1)).into_owned();
    assert!(inv.contains("invalidate"), "{inv}");
    t.cmd(&["GET", "h"]);
    assert_eq!(l.cmd(&["PFCOUNT", "h"]), ":3\r\n");
    let inv = String::from_utf8_lossy(&t.read_replies(1)).into_owned();
    assert!(inv.contains("invalidate"), "{inv}");
}

#[test]
fn keyspace_events_match_redis() {
    if !real_redis::available() {
        return;
    }
    let larder = TestServer::start(&[]);
    let redis = Redis::start(&[]);
    let (mut l, mut r) = (larder.raw(), redis.raw());
    run(
        &mut l,
        &mut r,
        &s(&["CONFIG", "SET", "notify-keyspace-events", "AKEmn"]),
    );
    let (mut ls, mut rs) = (larder.raw(), redis.raw());
    run(&mut ls, &mut rs, &s(&["PSUBSCRIBE", "__key*__:*"]));
    let cmds: &[&[&str]] = &[
        &["PFADD", "h1", "a", "b"],
        &["PFADD", "h1", "a"],
        &["PFADD", "h1", "zz"],
        &["PFCOUNT", "h1"],
        &["PFCOUNT", "h1"],
        &["PFCOUNT", "nosuch"],
        &["PFCOUNT", "h1", "nosuch2"],
        &["PFMERGE", "dst", "miss1", "h1"],
        &["PFMERGE", "dst2"],
        &["PFADD", "h2"],
        &["PFDEBUG", "TODENSE", "h1"],
        &["PFDEBUG", "GETREG", "h2"],
        &["SET", "str", "x"],
        &["PFADD", "str", "a"],
        &["PFADD", "last"],
    ];
    for c in cmds {
        run(&mut l, &mut r, &s(c));
    }
    // Read Redis's events up to the last command's, then as many of ours.
    let mut theirs = Vec::new();
    while !String::from_utf8_lossy(&theirs).contains("__keyevent@0__:pfadd\r\n$4\r\nlast") {
        theirs.extend(rs.read_replies(1));
    }
    let n = common::count_frames(&theirs);
    let ours = ls.read_replies(n);
    assert_eq!(String::from_utf8_lossy(&ours), String::from_utf8_lossy(&theirs));
}

#[test]
fn dump_restore_and_rdb_files_both_ways() {
    if !real_redis::available() {
        return;
    }
    let larder = TestServer::start(&[]);
    let redis = Redis::start(&[]);
    let (mut l, mut r) = (larder.raw(), redis.raw());
    pfadd(&mut l, &mut r, "sparse", elements("e", 0..200));
    pfadd(&mut l, &mut r, "dense", elements("e", 0..5000));
    run(&mut l, &mut r, &s(&["PFCOUNT", "dense"]));
    for key in ["sparse", "dense"] {
        let ours = bcmd(&mut l, &[b"DUMP", key.as_bytes()]);
        let theirs = bcmd(&mut r, &[b"DUMP", key.as_bytes()]);
        assert_eq!(ours, theirs, "DUMP {key}");
        // Each side restores the other's payload and keeps adding.
        let payload = larder_protocol::parse_frame(&ours).unwrap().unwrap().0;
        let larder_protocol::Frame::Bulk(p) = payload else {
            panic!("{payload:?}")
        };
        let copy = format!("{key}-copy");
        run(
            &mut l,
            &mut r,
            &[
                b"RESTORE".to_vec(),
                copy.clone().into_bytes(),
                b"0".to_vec(),
                p.to_vec(),
            ],
        );
        pfadd(&mut l, &mut r, &copy, elements("more", 0..300));
        same_value(&mut l, &mut r, &copy);
    }
    // Larder's RDB file into Redis, and Redis's into Larder.
    let dir = tempdir("hll-rdb");
    let ours = start_in(&dir, &["--save", ""]);
    let mut o = ours.raw();
    bcmd(&mut o, &[b"RESTORE", b"x", b"0", &dump_of(&mut l, "dense-copy")]);
    bcmd(&mut o, &[b"RESTORE", b"y", b"0", &dump_of(&mut l, "sparse-copy")]);
    assert_eq!(o.cmd(&["SAVE"]), "+OK\r\n");
    drop(ours);
    let theirs = Redis::start_in(&dir, "dump.rdb", &[]);
    let mut t = theirs.raw();
    for (k, src) in [("x", "dense-copy"), ("y", "sparse-copy")] {
        assert_eq!(
            bcmd(&mut t, &[b"GET", k.as_bytes()]),
            bcmd(&mut l, &[b"GET", src.as_bytes()])
        );
        assert_eq!(
            bcmd(&mut t, &[b"PFCOUNT", k.as_bytes()]),
            bcmd(&mut l, &[b"PFCOUNT", src.as_bytes()])
        );
    }
    assert_eq!(t.cmd(&["PFADD", "y", "from-redis"]), ":1\r\n");
    assert_eq!(t.cmd(&["SAVE"]), "+OK\r\n");
    let y = bcmd(&mut t, &[b"GET", b"y"]);
    drop(theirs);
    let back = start_in(&dir, &["--save", ""]);
    let mut b = back.raw();
    assert_eq!(bcmd(&mut b, &[b"GET", b"y"]), y);
    assert_eq!(b.cmd(&["PFADD", "y", "from-redis"]), ":0\r\n");
    drop(back);
    let _ = std::fs::remove_dir_all(&dir);
}

fn dump_of(c: &mut RawConn, key: &str) -> Vec<u8> {
    let raw = bcmd(c, &[b"DUMP", key.as_bytes()]);
    match larder_protocol::parse_frame(&raw).unwrap().unwrap().0 {
        larder_protocol::Frame::Bulk(p) => p.to_vec(),
        f => panic!("{f:?}"),
    }
}

#[test]
fn values_survive_aof_and_rdb_restarts() {
    for mode in ["aof", "rdb"] {
        let dir = tempdir(&format!("hll-{mode}"));
        let args: &[&str] = if mode == "aof" {
            &["--appendonly", "yes", "--save", ""]
        } else {
            &["--save", ""]
        };
        let s1 = start_in(&dir, args);
        let mut c = s1.raw();
        let mut add = vec!["PFADD", "h"];
        let names: Vec<String> = (0..2500).map(|i| format!("n{i}")).collect();
        add.extend(names.iter().map(String::as_str));
        c.cmd(&add);
        c.cmd(&["PFADD", "sp", "a", "b", "c"]);
        c.cmd(&["PFCOUNT", "sp"]);
        c.cmd(&["PFMERGE", "m", "sp", "h"]);
        c.cmd(&["PFADD", "td", "x"]);
        c.cmd(&["PFDEBUG", "TODENSE", "td"]);
        c.cmd(&["PFCOUNT", "h"]);
        let keys = ["h", "sp", "m", "td"];
        let before: Vec<Vec<u8>> = keys.iter().map(|k| bcmd(&mut c, &[b"GET", k.as_bytes()])).collect();
        if mode == "aof" {
            // PFCOUNT's cache write is logged, as Redis propagates it.
            std::thread::sleep(std::time::Duration::from_millis(1200));
            let mut log = Vec::new();
            for f in std::fs::read_dir(dir.join("appendonlydir")).unwrap() {
                log.extend(std::fs::read(f.unwrap().path()).unwrap());
            }
            let log = String::from_utf8_lossy(&log).to_ascii_lowercase();
            assert!(log.contains("$7\r\npfcount\r\n$2\r\nsp"), "{log}");
            assert!(log.contains("$7\r\npfdebug\r\n$7\r\ntodense"), "{log}");
        } else {
            assert_eq!(c.cmd(&["SAVE"]), "+OK\r\n");
        }
        drop(s1);
        let s2 = start_in(&dir, args);
        let mut c = s2.raw();
        let after: Vec<Vec<u8>> = keys.iter().map(|k| bcmd(&mut c, &[b"GET", k.as_bytes()])).collect();
        assert_eq!(before, after, "{mode}");
        assert_eq!(c.cmd(&["PFDEBUG", "ENCODING", "td"]), "+dense\r\n");
        drop(s2);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
