#![allow(clippy::unwrap_used)]
//! Keyspace commands: DEL/UNLINK/EXISTS/TYPE/TOUCH, KEYS, SCAN, RANDOMKEY,
//! RENAME/RENAMENX/MOVE/COPY, SWAPDB, FLUSHDB/FLUSHALL and OBJECT, checked
//! byte for byte against what Redis 7 replies.

mod common;

use std::collections::{BTreeMap, BTreeSet};

use common::{RawConn, TestServer};

fn q(c: &mut redis::Connection, args: &[&str]) -> redis::Value {
    let mut cmd = redis::cmd(args[0]);
    for a in &args[1..] {
        cmd.arg(*a);
    }
    cmd.query(c).unwrap()
}

fn int(c: &mut redis::Connection, args: &[&str]) -> i64 {
    let mut cmd = redis::cmd(args[0]);
    for a in &args[1..] {
        cmd.arg(*a);
    }
    cmd.query(c).unwrap()
}

fn scan_page(c: &mut redis::Connection, cursor: &str, extra: &[&str]) -> (String, Vec<Vec<u8>>) {
    let mut cmd = redis::cmd("SCAN");
    cmd.arg(cursor);
    for a in extra {
        cmd.arg(*a);
    }
    cmd.query(c).unwrap()
}

/// A whole SCAN iteration: every key returned, with how often.
fn scan_all(c: &mut redis::Connection, extra: &[&str]) -> BTreeMap<Vec<u8>, usize> {
    let mut seen = BTreeMap::new();
    let mut cursor = "0".to_string();
    loop {
        let (next, keys) = scan_page(c, &cursor, extra);
        for k in keys {
            *seen.entry(k).or_insert(0) += 1;
        }
        if next == "0" {
            return seen;
        }
        cursor = next;
    }
}

fn expect(raw: &mut RawConn, args: &[&str], reply: &str) {
    assert_eq!(raw.cmd(args), reply, "{args:?}");
}

fn fill(c: &mut redis::Connection, prefix: &str, from: usize, to: usize) {
    let mut p = redis::pipe();
    for i in from..to {
        p.cmd("SET").arg(format!("{prefix}{i}")).arg(i).ignore();
    }
    p.query::<()>(c).unwrap();
}

#[test]
fn del_unlink_exists_type_touch() {
    let srv = TestServer::start(&[]);
    let mut raw = srv.raw();
    expect(&mut raw, &["SET", "a", "1"], "+OK\r\n");
    expect(&mut raw, &["SET", "b", "2"], "+OK\r\n");
    expect(&mut raw, &["EXISTS", "a", "a", "b", "nope"], ":3\r\n");
    expect(&mut raw, &["TOUCH", "a", "a", "nope"], ":2\r\n");
    expect(&mut raw, &["TYPE", "a"], "+string\r\n");
    expect(&mut raw, &["TYPE", "nope"], "+none\r\n");
    expect(&mut raw, &["DEL", "a", "a", "nope"], ":1\r\n");
    expect(&mut raw, &["UNLINK", "b", "nope"], ":1\r\n");
    expect(&mut raw, &["EXISTS", "a", "b"], ":0\r\n");
    expect(
        &mut raw,
        &["TYPE"],
        "-ERR wrong number of arguments for 'type' command\r\n",
    );
    expect(
        &mut raw,
        &["UNLINK"],
        "-ERR wrong number of arguments for 'unlink' command\r\n",
    );
}

#[test]
fn keys_lists_matches_and_the_empty_key() {
    let srv = TestServer::start(&[]);
    let mut c = srv.conn();
    fill(&mut c, "user:", 0, 50);
    fill(&mut c, "item:", 0, 20);
    let _: () = redis::cmd("SET").arg("").arg("empty").query(&mut c).unwrap();
    let all: BTreeSet<Vec<u8>> = redis::cmd("KEYS").arg("*").query(&mut c).unwrap();
    assert_eq!(all.len(), 71);
    assert!(all.contains(&b""[..]), "KEYS * lists the empty key");
    let users: BTreeSet<String> = redis::cmd("KEYS").arg("user:*").query(&mut c).unwrap();
    assert_eq!(users.len(), 50);
    let some: BTreeSet<String> = redis::cmd("KEYS").arg("user:[1-2]?").query(&mut c).unwrap();
    assert_eq!(some.len(), 20);
    // "**" is an ordinary glob: no special case, so it misses "".
    let starstar: BTreeSet<Vec<u8>> = redis::cmd("KEYS").arg("**").query(&mut c).unwrap();
    assert_eq!(starstar.len(), 70);
    // KEYS does not fold case.
    let none: Vec<String> = redis::cmd("KEYS").arg("USER:*").query(&mut c).unwrap();
    assert!(none.is_empty());
    let mut raw = srv.raw();
    expect(&mut raw, &["KEYS", "nomatch*"], "*0\r\n");
    expect(&mut raw, &["SELECT", "1"], "+OK\r\n");
    expect(&mut raw, &["KEYS", "*"], "*0\r\n");
}

#[test]
fn scan_errors_and_reply_shape() {
    let srv = TestServer::start(&[]);
    let mut raw = srv.raw();
    expect(&mut raw, &["SCAN", "x"], "-ERR invalid cursor\r\n");
    expect(&mut raw, &["SCAN", "-1"], "-ERR invalid cursor\r\n");
    expect(&mut raw, &["SCAN", "18446744073709551616"], "-ERR invalid cursor\r\n");
    expect(&mut raw, &["SCAN", "0", "COUNT", "0"], "-ERR syntax error\r\n");
    expect(
        &mut raw,
        &["SCAN", "0", "COUNT", "x"],
        "-ERR value is not an integer or out of range\r\n",
    );
    expect(&mut raw, &["SCAN", "0", "foo"], "-ERR syntax error\r\n");
    expect(&mut raw, &["SCAN", "0", "MATCH"], "-ERR syntax error\r\n");
    expect(&mut raw, &["SCAN", "0"], "*2\r\n$1\r\n0\r\n*0\r\n");
    expect(&mut raw, &["SET", "k", "v"], "+OK\r\n");
    expect(&mut raw, &["SCAN", "0"], "*2\r\n$1\r\n0\r\n*1\r\n$1\r\nk\r\n");
    expect(
        &mut raw,
        &["SCAN", "0", "TYPE", "STRING"],
        "*2\r\n$1\r\n0\r\n*1\r\n$1\r\nk\r\n",
    );
    expect(&mut raw, &["SCAN", "0", "TYPE", "list"], "*2\r\n$1\r\n0\r\n*0\r\n");
    expect(
        &mut raw,
        &["SCAN", "0", "MATCH", "x*", "COUNT", "5"],
        "*2\r\n$1\r\n0\r\n*0\r\n",
    );
    // The largest cursor is valid and simply ends.
    let out = raw.cmd(&["SCAN", "18446744073709551615"]);
    assert!(out.starts_with("*2\r\n"), "{out}");
    // RESP3: the same two-element array.
    raw.cmd(&["HELLO", "3"]);
    expect(&mut raw, &["SCAN", "0"], "*2\r\n$1\r\n0\r\n*1\r\n$1\r\nk\r\n");
    // SCAN sees the empty key with MATCH * (special-cased like KEYS).
    expect(&mut raw, &["DEL", "k"], ":1\r\n");
    expect(&mut raw, &["SET", "", "v"], "+OK\r\n");
    expect(
        &mut raw,
        &["SCAN", "0", "MATCH", "*"],
        "*2\r\n$1\r\n0\r\n*1\r\n$0\r\n\r\n",
    );
    expect(&mut raw, &["SCAN", "0", "MATCH", "?*"], "*2\r\n$1\r\n0\r\n*0\r\n");
}

#[test]
fn scan_full_iteration_returns_each_key_once() {
    let srv = TestServer::start(&[]);
    let mut c = srv.conn();
    fill(&mut c, "k", 0, 5000);
    for count in ["1", "10", "100", "10000"] {
        let seen = scan_all(&mut c, &["COUNT", count]);
        assert_eq!(seen.len(), 5000, "COUNT {count}");
        assert!(seen.values().all(|&n| n == 1), "duplicates with COUNT {count}");
    }
    // COUNT is about the work per call: a page holds at least COUNT keys
    // (unless the iteration ends) and not wildly more.
    let (cursor, keys) = scan_page(&mut c, "0", &["COUNT", "100"]);
    assert_ne!(cursor, "0");
    assert!((100..200).contains(&keys.len()), "{}", keys.len());
    let (_, keys) = scan_page(&mut c, "0", &["COUNT", "100000"]);
    assert_eq!(keys.len(), 5000);
    // MATCH filters after the walk.
    let seen = scan_all(&mut c, &["MATCH", "k1??", "COUNT", "50"]);
    assert_eq!(seen.len(), 100);
}

#[test]
fn scan_guarantee_survives_growth_and_shrinking() {
    // One shard and many shards: the cursor layout differs.
    for shards in ["1", "256"] {
        let srv = TestServer::start(&["--larder-shards", shards]);
        let mut c = srv.conn();
        fill(&mut c, "stable:", 0, 2000);
        fill(&mut c, "doomed:", 0, 2000);
        let mut seen: BTreeMap<Vec<u8>, usize> = BTreeMap::new();
        let mut cursor = "0".to_string();
        let mut round = 0;
        loop {
            let (next, keys) = scan_page(&mut c, &cursor, &["COUNT", "50"]);
            for k in keys {
                *seen.entry(k).or_insert(0) += 1;
            }
            // Between calls: grow the tables a lot, then shrink them.
            match round {
                2 => fill(&mut c, "new:", 0, 20_000),
                5 => {
                    let mut p = redis::pipe();
                    for i in 0..2000 {
                        p.cmd("DEL").arg(format!("doomed:{i}")).ignore();
                    }
                    p.query::<()>(&mut c).unwrap();
                }
                8 => {
                    let mut p = redis::pipe();
                    for i in 0..20_000 {
                        p.cmd("DEL").arg(format!("new:{i}")).ignore();
                    }
                    p.query::<()>(&mut c).unwrap();
                }
                _ => {}
            }
            round += 1;
            if next == "0" {
                break;
            }
            cursor = next;
        }
        assert!(
            round > 10,
            "shards {shards}: iteration too short to test anything ({round})"
        );
        for i in 0..2000 {
            let k = format!("stable:{i}").into_bytes();
            assert_eq!(seen.get(&k), Some(&1), "shards {shards}: stable:{i}");
        }
        assert!(
            seen.values().all(|&n| n == 1),
            "shards {shards}: a key was returned twice"
        );
        assert!(seen
            .keys()
            .all(|k| k.starts_with(b"stable:") || k.starts_with(b"doomed:") || k.starts_with(b"new:")));
    }
}

#[test]
fn randomkey() {
    let srv = TestServer::start(&[]);
    let mut raw = srv.raw();
    expect(&mut raw, &["RANDOMKEY"], "$-1\r\n");
    let mut c = srv.conn();
    fill(&mut c, "r", 0, 30);
    let mut got = BTreeSet::new();
    for _ in 0..300 {
        let k: String = redis::cmd("RANDOMKEY").query(&mut c).unwrap();
        assert!(k.starts_with('r'), "{k}");
        got.insert(k);
    }
    assert!(got.len() > 15, "RANDOMKEY should spread over the keys: {}", got.len());
    raw.cmd(&["HELLO", "3"]);
    expect(&mut raw, &["SELECT", "2"], "+OK\r\n");
    expect(&mut raw, &["RANDOMKEY"], "_\r\n");
    expect(
        &mut raw,
        &["RANDOMKEY", "x"],
        "-ERR wrong number of arguments for 'randomkey' command\r\n",
    );
}

#[test]
fn rename_and_renamenx() {
    let srv = TestServer::start(&["--enable-debug-command", "yes"]);
    let mut raw = srv.raw();
    expect(&mut raw, &["RENAME", "nokey", "x"], "-ERR no such key\r\n");
    expect(&mut raw, &["RENAMENX", "nokey", "x"], "-ERR no such key\r\n");
    expect(&mut raw, &["RENAME", "nokey", "nokey"], "-ERR no such key\r\n");
    expect(&mut raw, &["SET", "a", "1"], "+OK\r\n");
    expect(&mut raw, &["RENAME", "a", "a"], "+OK\r\n");
    expect(&mut raw, &["RENAMENX", "a", "a"], ":0\r\n");
    expect(&mut raw, &["SET", "b", "2"], "+OK\r\n");
    expect(&mut raw, &["RENAMENX", "a", "b"], ":0\r\n");
    expect(&mut raw, &["GET", "a"], "$1\r\n1\r\n");
    // Keys in different shards ("foo" and "bar" have different slots).
    expect(&mut raw, &["SET", "foo", "v", "EX", "100"], "+OK\r\n");
    expect(&mut raw, &["SET", "bar", "old"], "+OK\r\n");
    expect(&mut raw, &["RENAME", "foo", "bar"], "+OK\r\n");
    expect(&mut raw, &["GET", "bar"], "$1\r\nv\r\n");
    expect(&mut raw, &["EXISTS", "foo"], ":0\r\n");
    expect(&mut raw, &["TTL", "bar"], ":100\r\n");
    expect(&mut raw, &["RENAMENX", "bar", "baz"], ":1\r\n");
    expect(&mut raw, &["TTL", "baz"], ":100\r\n");
    // Renaming onto a key with a TTL drops that TTL with the old value.
    expect(&mut raw, &["SET", "x", "1"], "+OK\r\n");
    expect(&mut raw, &["RENAME", "x", "baz"], "+OK\r\n");
    expect(&mut raw, &["TTL", "baz"], ":-1\r\n");
    // An expired source is "no such key".
    expect(&mut raw, &["DEBUG", "SET-ACTIVE-EXPIRE", "0"], "+OK\r\n");
    expect(&mut raw, &["SET", "gone", "1", "PX", "10"], "+OK\r\n");
    expect(&mut raw, &["DEBUG", "ADVANCE-CLOCK", "20"], "+OK\r\n");
    expect(&mut raw, &["RENAME", "gone", "x"], "-ERR no such key\r\n");
}

#[test]
fn rename_is_atomic_across_shards() {
    // Two clients shuffle one value between keys in different shards;
    // a reader must always see it in exactly one place.
    let srv = TestServer::start(&[]);
    let mut c = srv.conn();
    let _: () = redis::cmd("SET").arg("foo").arg("v").query(&mut c).unwrap();
    let url = srv.url();
    let mover = std::thread::spawn(move || {
        let mut c = redis::Client::open(url).unwrap().get_connection().unwrap();
        for _ in 0..500 {
            let _: () = redis::cmd("RENAME").arg("foo").arg("bar").query(&mut c).unwrap();
            let _: () = redis::cmd("RENAME").arg("bar").arg("foo").query(&mut c).unwrap();
        }
    });
    for _ in 0..500 {
        let n: i64 = redis::cmd("EXISTS").arg("foo").arg("bar").query(&mut c).unwrap();
        assert_eq!(n, 1);
    }
    mover.join().unwrap();
}

#[test]
fn move_between_databases() {
    let srv = TestServer::start(&[]);
    let mut raw = srv.raw();
    expect(&mut raw, &["SET", "k", "v", "EX", "100"], "+OK\r\n");
    expect(&mut raw, &["MOVE", "k", "-1"], "-ERR DB index is out of range\r\n");
    expect(&mut raw, &["MOVE", "k", "16"], "-ERR DB index is out of range\r\n");
    expect(
        &mut raw,
        &["MOVE", "k", "0"],
        "-ERR source and destination objects are the same\r\n",
    );
    expect(
        &mut raw,
        &["MOVE", "k", "abc"],
        "-ERR value is not an integer or out of range\r\n",
    );
    expect(
        &mut raw,
        &["MOVE", "k", "4294967296"],
        "-ERR value is out of range, value must between -2147483648 and 2147483647\r\n",
    );
    expect(&mut raw, &["MOVE", "nokey", "1"], ":0\r\n");
    expect(&mut raw, &["MOVE", "k", "1"], ":1\r\n");
    expect(&mut raw, &["EXISTS", "k"], ":0\r\n");
    expect(&mut raw, &["SET", "k", "again"], "+OK\r\n");
    expect(&mut raw, &["SELECT", "1"], "+OK\r\n");
    expect(&mut raw, &["GET", "k"], "$1\r\nv\r\n");
    expect(&mut raw, &["TTL", "k"], ":100\r\n");
    // The target already holds the key: nothing moves.
    expect(&mut raw, &["MOVE", "k", "0"], ":0\r\n");
    expect(&mut raw, &["GET", "k"], "$1\r\nv\r\n");
}

#[test]
fn copy_within_and_across_databases() {
    let srv = TestServer::start(&[]);
    let mut raw = srv.raw();
    expect(&mut raw, &["SET", "src", "hello", "EX", "100"], "+OK\r\n");
    expect(
        &mut raw,
        &["COPY", "src", "src"],
        "-ERR source and destination objects are the same\r\n",
    );
    expect(
        &mut raw,
        &["COPY", "src", "dst", "DB", "99"],
        "-ERR DB index is out of range\r\n",
    );
    expect(
        &mut raw,
        &["COPY", "src", "dst", "DB", "x"],
        "-ERR value is not an integer or out of range\r\n",
    );
    expect(&mut raw, &["COPY", "src", "dst", "foo"], "-ERR syntax error\r\n");
    expect(&mut raw, &["COPY", "src", "dst", "DB"], "-ERR syntax error\r\n");
    expect(&mut raw, &["COPY", "nokey", "dst"], ":0\r\n");
    expect(&mut raw, &["COPY", "src", "dst"], ":1\r\n");
    expect(&mut raw, &["GET", "dst"], "$5\r\nhello\r\n");
    expect(&mut raw, &["TTL", "dst"], ":100\r\n");
    expect(&mut raw, &["SET", "src", "world"], "+OK\r\n");
    expect(&mut raw, &["COPY", "src", "dst"], ":0\r\n");
    expect(&mut raw, &["GET", "dst"], "$5\r\nhello\r\n");
    expect(&mut raw, &["COPY", "src", "dst", "REPLACE"], ":1\r\n");
    expect(&mut raw, &["GET", "dst"], "$5\r\nworld\r\n");
    expect(&mut raw, &["TTL", "dst"], ":-1\r\n");
    // Same name into another database is allowed.
    expect(&mut raw, &["COPY", "src", "src", "DB", "3"], ":1\r\n");
    expect(&mut raw, &["COPY", "src", "src", "db", "3", "replace"], ":1\r\n");
    expect(&mut raw, &["SELECT", "3"], "+OK\r\n");
    expect(&mut raw, &["GET", "src"], "$5\r\nworld\r\n");
    // Values are copies, not shared.
    expect(&mut raw, &["SET", "src", "changed"], "+OK\r\n");
    expect(&mut raw, &["SELECT", "0"], "+OK\r\n");
    expect(&mut raw, &["GET", "src"], "$5\r\nworld\r\n");
    expect(&mut raw, &["OBJECT", "ENCODING", "dst"], "$6\r\nembstr\r\n");
}

#[test]
fn swapdb_flushdb_flushall() {
    let srv = TestServer::start(&[]);
    let mut raw = srv.raw();
    expect(&mut raw, &["SWAPDB", "a", "1"], "-ERR invalid first DB index\r\n");
    expect(&mut raw, &["SWAPDB", "1", "b"], "-ERR invalid second DB index\r\n");
    expect(
        &mut raw,
        &["SWAPDB", "0", "4294967296"],
        "-ERR invalid second DB index\r\n",
    );
    expect(&mut raw, &["SWAPDB", "1", "16"], "-ERR DB index is out of range\r\n");
    expect(&mut raw, &["SWAPDB", "-1", "0"], "-ERR DB index is out of range\r\n");
    let mut c = srv.conn();
    fill(&mut c, "zero:", 0, 100);
    expect(&mut raw, &["SELECT", "1"], "+OK\r\n");
    expect(&mut raw, &["SET", "one", "1", "EX", "50"], "+OK\r\n");
    expect(&mut raw, &["SWAPDB", "0", "1"], "+OK\r\n");
    expect(&mut raw, &["DBSIZE"], ":100\r\n");
    expect(&mut raw, &["EXISTS", "zero:5"], ":1\r\n");
    expect(&mut raw, &["SWAPDB", "1", "1"], "+OK\r\n");
    expect(&mut raw, &["SELECT", "0"], "+OK\r\n");
    expect(&mut raw, &["DBSIZE"], ":1\r\n");
    expect(&mut raw, &["TTL", "one"], ":50\r\n");

    expect(&mut raw, &["FLUSHDB", "foo"], "-ERR syntax error\r\n");
    expect(&mut raw, &["FLUSHDB", "ASYNC", "x"], "-ERR syntax error\r\n");
    expect(&mut raw, &["FLUSHALL", "now"], "-ERR syntax error\r\n");
    expect(&mut raw, &["FLUSHDB"], "+OK\r\n");
    expect(&mut raw, &["DBSIZE"], ":0\r\n");
    expect(&mut raw, &["SELECT", "1"], "+OK\r\n");
    expect(&mut raw, &["DBSIZE"], ":100\r\n");
    expect(&mut raw, &["FLUSHDB", "async"], "+OK\r\n");
    expect(&mut raw, &["DBSIZE"], ":0\r\n");
    fill(&mut c, "a", 0, 3000);
    expect(&mut raw, &["SET", "in1", "x"], "+OK\r\n");
    expect(&mut raw, &["FLUSHALL", "ASYNC"], "+OK\r\n");
    expect(&mut raw, &["DBSIZE"], ":0\r\n");
    expect(&mut raw, &["SELECT", "0"], "+OK\r\n");
    expect(&mut raw, &["DBSIZE"], ":0\r\n");
    expect(&mut raw, &["SET", "k", "v", "EX", "10"], "+OK\r\n");
    expect(&mut raw, &["FLUSHALL", "SYNC"], "+OK\r\n");
    expect(&mut raw, &["DBSIZE"], ":0\r\n");
    // The TTL index went with the keys: a new key of that name is fine.
    expect(&mut raw, &["SET", "k", "v"], "+OK\r\n");
    expect(&mut raw, &["TTL", "k"], ":-1\r\n");
}

#[test]
fn object_subcommands() {
    let srv = TestServer::start(&["--enable-debug-command", "yes"]);
    let mut raw = srv.raw();
    expect(&mut raw, &["SET", "int", "100"], "+OK\r\n");
    expect(&mut raw, &["SET", "bigint", "12345678901"], "+OK\r\n");
    expect(&mut raw, &["SET", "str", "hello"], "+OK\r\n");
    let long = "a".repeat(45);
    expect(&mut raw, &["SET", "long", &long], "+OK\r\n");
    expect(&mut raw, &["OBJECT", "ENCODING", "int"], "$3\r\nint\r\n");
    expect(&mut raw, &["OBJECT", "ENCODING", "bigint"], "$3\r\nint\r\n");
    expect(&mut raw, &["OBJECT", "ENCODING", "str"], "$6\r\nembstr\r\n");
    expect(&mut raw, &["OBJECT", "ENCODING", "long"], "$3\r\nraw\r\n");
    expect(&mut raw, &["OBJECT", "ENCODING", "nokey"], "$-1\r\n");
    expect(&mut raw, &["OBJECT", "REFCOUNT", "int"], ":2147483647\r\n");
    expect(&mut raw, &["OBJECT", "REFCOUNT", "str"], ":1\r\n");
    expect(&mut raw, &["OBJECT", "REFCOUNT", "nokey"], "$-1\r\n");
    // Idle time has one-second resolution: a second may tick in between.
    let fresh = |r: String| r == ":0\r\n" || r == ":1\r\n";
    assert!(fresh(raw.cmd(&["OBJECT", "IDLETIME", "str"])));
    expect(&mut raw, &["DEBUG", "ADVANCE-CLOCK", "5000"], "+OK\r\n");
    let idle = raw.cmd(&["OBJECT", "IDLETIME", "str"]);
    assert!(idle == ":5\r\n" || idle == ":4\r\n" || idle == ":6\r\n", "{idle}");
    // OBJECT does not touch; GET does.
    let idle = raw.cmd(&["OBJECT", "IDLETIME", "str"]);
    assert_ne!(idle, ":0\r\n");
    expect(&mut raw, &["GET", "str"], "$5\r\nhello\r\n");
    assert!(fresh(raw.cmd(&["OBJECT", "IDLETIME", "str"])));
    expect(&mut raw, &["OBJECT", "IDLETIME", "nokey"], "$-1\r\n");
    expect(
        &mut raw,
        &["OBJECT", "FREQ", "str"],
        "-ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.\r\n",
    );
    expect(&mut raw, &["OBJECT", "FREQ", "nokey"], "$-1\r\n");
    expect(
        &mut raw,
        &["OBJECT", "ENCODING"],
        "-ERR wrong number of arguments for 'object|encoding' command\r\n",
    );
    expect(
        &mut raw,
        &["OBJECT"],
        "-ERR wrong number of arguments for 'object' command\r\n",
    );
    expect(
        &mut raw,
        &["OBJECT", "foo", "k"],
        "-ERR unknown subcommand 'foo'. Try OBJECT HELP.\r\n",
    );
    let help = raw.cmd(&["OBJECT", "HELP"]);
    assert!(
        help.starts_with(
            "*15\r\n+OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:\r\n+ENCODING <key>\r\n"
        ),
        "{help}"
    );
    assert!(help.ends_with("+HELP\r\n+    Prints this help.\r\n"), "{help}");
    // RESP3: a missing key is a null.
    raw.cmd(&["HELLO", "3"]);
    expect(&mut raw, &["OBJECT", "ENCODING", "nokey"], "_\r\n");
}

#[test]
fn object_under_an_lfu_policy() {
    let srv = TestServer::start(&["--maxmemory-policy", "allkeys-lfu", "--maxmemory", "100mb"]);
    let mut raw = srv.raw();
    expect(&mut raw, &["SET", "k", "v"], "+OK\r\n");
    expect(&mut raw, &["SET", "n", "5"], "+OK\r\n");
    expect(
        &mut raw,
        &["OBJECT", "IDLETIME", "k"],
        "-ERR An LFU maxmemory policy is selected, idle time not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.\r\n",
    );
    let freq = raw.cmd(&["OBJECT", "FREQ", "k"]);
    assert!(freq.starts_with(':'), "{freq}");
    // No shared integers under an LFU policy.
    expect(&mut raw, &["OBJECT", "REFCOUNT", "n"], ":1\r\n");
}

#[test]
fn commands_work_in_the_selected_db() {
    let srv = TestServer::start(&[]);
    let mut c = srv.conn();
    let _: () = redis::cmd("SELECT").arg(5).query(&mut c).unwrap();
    fill(&mut c, "x", 0, 10);
    assert_eq!(int(&mut c, &["EXISTS", "x1"]), 1);
    let seen = scan_all(&mut c, &[]);
    assert_eq!(seen.len(), 10);
    let _: () = redis::cmd("SELECT").arg(0).query(&mut c).unwrap();
    assert_eq!(int(&mut c, &["EXISTS", "x1"]), 0);
    assert!(scan_all(&mut c, &[]).is_empty());
    assert_eq!(q(&mut c, &["RANDOMKEY"]), redis::Value::Nil);
}
