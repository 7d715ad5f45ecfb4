#![allow(clippy::unwrap_used)]
//! Set commands against Redis 7.2's replies, error strings and encodings:
//! raw RESP2/RESP3 bytes where the reply is deterministic, sorted member
//! lists through the `redis` crate where it is not.

mod common;

use common::resp::{arr, bulk, int};

use common::TestServer;

fn server() -> TestServer {
    TestServer::start(&["--enable-debug-command", "yes"])
}

const OK: &str = "+OK\r\n";
const NIL: &str = "$-1\r\n";
const SYNTAX: &str = "-ERR syntax error\r\n";
const NOT_INT: &str = "-ERR value is not an integer or out of range\r\n";
const WRONGTYPE: &str = "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n";
const POSITIVE: &str = "-ERR value is out of range, must be positive\r\n";
const EMPTY_SCAN: &str = "*2\r\n$1\r\n0\r\n*0\r\n";

fn set3(items: &[&str]) -> String {
    let mut s = format!("~{}\r\n", items.len());
    for i in items {
        s.push_str(&bulk(i));
    }
    s
}

fn q<T: redis::FromRedisValue>(c: &mut redis::Connection, args: &[&str]) -> T {
    let mut cmd = redis::cmd(args[0]);
    for a in &args[1..] {
        cmd.arg(*a);
    }
    cmd.query(c).unwrap_or_else(|e| panic!("{args:?}: {e}"))
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

fn members(c: &mut redis::Connection, key: &str) -> Vec<String> {
    sorted(q(c, &["SMEMBERS", key]))
}

fn enc(c: &mut redis::Connection, key: &str) -> String {
    q(c, &["OBJECT", "ENCODING", key])
}

fn strs(v: &[&str]) -> Vec<String> {
    sorted(v.iter().map(|s| s.to_string()).collect())
}

fn sadd_many(c: &mut redis::Connection, key: &str, members: impl IntoIterator<Item = String>) -> i64 {
    let mut cmd = redis::cmd("SADD");
    cmd.arg(key);
    for m in members {
        cmd.arg(m);
    }
    cmd.query(c).unwrap()
}

fn info_stat(c: &mut redis::Connection, field: &str) -> i64 {
    let info: String = q(c, &["INFO", "stats"]);
    info.lines()
        .find_map(|l| l.strip_prefix(&format!("{field}:")))
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

#[test]
fn sadd_srem_scard_sismember() {
    let srv = server();
    let mut r = srv.raw();
    assert_eq!(r.cmd(&["SADD", "s", "3", "1", "2", "1"]), int(3));
    assert_eq!(r.cmd(&["SADD", "s", "2", "4"]), int(1));
    // An intset replies in ascending order.
    assert_eq!(r.cmd(&["SMEMBERS", "s"]), arr(&["1", "2", "3", "4"]));
    assert_eq!(r.cmd(&["SCARD", "s"]), int(4));
    assert_eq!(r.cmd(&["SCARD", "nokey"]), int(0));
    assert_eq!(r.cmd(&["SISMEMBER", "s", "3"]), int(1));
    assert_eq!(r.cmd(&["SISMEMBER", "s", "03"]), int(0));
    assert_eq!(r.cmd(&["SISMEMBER", "s", "x"]), int(0));
    assert_eq!(r.cmd(&["SISMEMBER", "nokey", "x"]), int(0));
    assert_eq!(r.cmd(&["SMISMEMBER", "s", "1", "x", "4"]), "*3\r\n:1\r\n:0\r\n:1\r\n");
    assert_eq!(r.cmd(&["SMISMEMBER", "nokey", "1", "x"]), "*2\r\n:0\r\n:0\r\n");
    assert_eq!(r.cmd(&["SREM", "s", "1", "x", "1"]), int(1));
    assert_eq!(r.cmd(&["SREM", "nokey", "1"]), int(0));
    assert_eq!(r.cmd(&["SREM", "s", "2", "3", "4", "5"]), int(3));
    assert_eq!(r.cmd(&["EXISTS", "s"]), int(0), "an emptied set is deleted");
    // Arity.
    assert_eq!(
        r.cmd(&["SADD", "s"]),
        "-ERR wrong number of arguments for 'sadd' command\r\n"
    );
    assert_eq!(
        r.cmd(&["SISMEMBER", "s", "a", "b"]),
        "-ERR wrong number of arguments for 'sismember' command\r\n"
    );
    // Binary-safe members, including the empty string.
    assert_eq!(r.cmd(&["SADD", "b", "", "a\r\nb"]), int(2));
    assert_eq!(r.cmd(&["SISMEMBER", "b", ""]), int(1));
    assert_eq!(r.cmd(&["SISMEMBER", "b", "a\r\nb"]), int(1));
}

#[test]
fn wrongtype_everywhere() {
    let srv = server();
    let mut r = srv.raw();
    assert_eq!(r.cmd(&["SET", "str", "v"]), OK);
    assert_eq!(r.cmd(&["SADD", "s", "a"]), int(1));
    for cmd in [
        vec!["SADD", "str", "a"],
        vec!["SREM", "str", "a"],
        vec!["SMEMBERS", "str"],
        vec!["SISMEMBER", "str", "a"],
        vec!["SMISMEMBER", "str", "a"],
        vec!["SCARD", "str"],
        vec!["SPOP", "str"],
        vec!["SPOP", "str", "0"],
        vec!["SRANDMEMBER", "str"],
        vec!["SRANDMEMBER", "str", "0"],
        vec!["SMOVE", "str", "s", "a"],
        vec!["SMOVE", "s", "str", "a"],
        vec!["SMOVE", "s", "str", "nonmember"],
        vec!["SINTER", "s", "str"],
        vec!["SINTER", "nokey", "str"],
        vec!["SINTERCARD", "2", "nokey", "str"],
        vec!["SINTERSTORE", "d", "nokey", "str"],
        vec!["SUNION", "s", "str"],
        vec!["SUNIONSTORE", "d", "str"],
        vec!["SDIFF", "nokey", "str"],
        vec!["SDIFFSTORE", "d", "s", "str"],
        vec!["SSCAN", "str", "0"],
    ] {
        assert_eq!(r.cmd(&cmd), WRONGTYPE, "{cmd:?}");
    }
    // SMOVE from a missing source answers 0 before looking at the target.
    assert_eq!(r.cmd(&["SMOVE", "nokey", "str", "a"]), int(0));
    assert_eq!(r.cmd(&["EXISTS", "d"]), int(0), "errors store nothing");
    assert_eq!(r.cmd(&["GET", "str"]), bulk("v"));
    assert_eq!(r.cmd(&["SMEMBERS", "s"]), arr(&["a"]));
}

#[test]
fn encodings_and_conversions() {
    let srv = server();
    let mut c = srv.conn();
    // intset -> listpack when a string arrives into a small set.
    sadd_many(&mut c, "s", (1..=3).map(|i| i.to_string()));
    assert_eq!(enc(&mut c, "s"), "intset");
    let _: i64 = q(&mut c, &["SADD", "s", "a"]);
    assert_eq!(enc(&mut c, "s"), "listpack");
    // listpack -> hashtable on a long member; never back.
    let long = "x".repeat(65);
    let _: i64 = q(&mut c, &["SADD", "s", &long]);
    assert_eq!(enc(&mut c, "s"), "hashtable");
    let _: i64 = q(&mut c, &["SREM", "s", &long, "a"]);
    assert_eq!(enc(&mut c, "s"), "hashtable");
    // A string member exactly at the value limit stays listpack.
    let _: i64 = q(&mut c, &["SADD", "lp", &"y".repeat(64)]);
    assert_eq!(enc(&mut c, "lp"), "listpack");
    // listpack -> hashtable past 128 entries.
    sadd_many(&mut c, "many", (0..128).map(|i| format!("m{i}")));
    assert_eq!(enc(&mut c, "many"), "listpack");
    let _: i64 = q(&mut c, &["SADD", "many", "one-more"]);
    assert_eq!(enc(&mut c, "many"), "hashtable");
    // A single SADD of 129 strings creates a hashtable at once.
    sadd_many(&mut c, "many2", (0..129).map(|i| format!("m{i}")));
    assert_eq!(enc(&mut c, "many2"), "hashtable");
    // intset -> hashtable past 512 integers, and for a string when the
    // intset is too big for a listpack.
    sadd_many(&mut c, "ints", (0..512).map(|i| i.to_string()));
    assert_eq!(enc(&mut c, "ints"), "intset");
    let _: i64 = q(&mut c, &["SADD", "ints", "512"]);
    assert_eq!(enc(&mut c, "ints"), "hashtable");
    sadd_many(&mut c, "ints2", (0..200).map(|i| i.to_string()));
    assert_eq!(enc(&mut c, "ints2"), "intset");
    let _: i64 = q(&mut c, &["SADD", "ints2", "a"]);
    assert_eq!(enc(&mut c, "ints2"), "hashtable");
    assert_eq!(q::<i64>(&mut c, &["SCARD", "ints2"]), 201);
    // Non-canonical integers are strings.
    let _: i64 = q(&mut c, &["SADD", "nc", "1", "01"]);
    assert_eq!(enc(&mut c, "nc"), "listpack");
    assert_eq!(members(&mut c, "nc"), strs(&["01", "1"]));
    let _: i64 = q(&mut c, &["SADD", "big", "9223372036854775807", "-9223372036854775808"]);
    assert_eq!(enc(&mut c, "big"), "intset");
    let _: i64 = q(&mut c, &["SADD", "big2", "9223372036854775808"]);
    assert_eq!(enc(&mut c, "big2"), "listpack");
}

#[test]
fn encoding_thresholds_follow_config_set() {
    let srv = server();
    let mut c = srv.conn();
    let _: () = q(&mut c, &["CONFIG", "SET", "set-max-intset-entries", "2"]);
    let _: () = q(&mut c, &["CONFIG", "SET", "set-max-listpack-entries", "3"]);
    let _: i64 = q(&mut c, &["SADD", "s", "1", "2"]);
    assert_eq!(enc(&mut c, "s"), "intset");
    let _: i64 = q(&mut c, &["SADD", "s", "3"]);
    assert_eq!(enc(&mut c, "s"), "hashtable");
    let _: i64 = q(&mut c, &["SADD", "t", "1", "2"]);
    let _: i64 = q(&mut c, &["SADD", "t", "a"]);
    assert_eq!(enc(&mut c, "t"), "listpack");
    let _: i64 = q(&mut c, &["SADD", "t", "b"]);
    assert_eq!(enc(&mut c, "t"), "hashtable");
    let _: () = q(&mut c, &["CONFIG", "SET", "set-max-listpack-value", "5"]);
    let _: i64 = q(&mut c, &["SADD", "v", "xxxxx"]);
    assert_eq!(enc(&mut c, "v"), "listpack");
    let _: i64 = q(&mut c, &["SADD", "v", "xxxxxx"]);
    assert_eq!(enc(&mut c, "v"), "hashtable");
    // An intset whose integers are longer than the value limit cannot
    // become a listpack.
    let _: i64 = q(&mut c, &["SADD", "w", "123456"]);
    assert_eq!(enc(&mut c, "w"), "intset");
    let _: i64 = q(&mut c, &["SADD", "w", "a"]);
    assert_eq!(enc(&mut c, "w"), "hashtable");
    // Zero entries: never compact.
    let _: () = q(&mut c, &["CONFIG", "SET", "set-max-intset-entries", "0"]);
    let _: () = q(&mut c, &["CONFIG", "SET", "set-max-listpack-entries", "0"]);
    let _: i64 = q(&mut c, &["SADD", "z", "1"]);
    assert_eq!(enc(&mut c, "z"), "hashtable");
    let _: i64 = q(&mut c, &["SADD", "z2", "a"]);
    assert_eq!(enc(&mut c, "z2"), "hashtable");
    assert_eq!(members(&mut c, "z2"), strs(&["a"]));
}

#[test]
fn resp3_shapes() {
    let srv = server();
    let mut r = srv.raw3();
    assert_eq!(r.cmd(&["SADD", "s", "1", "2"]), int(2));
    assert_eq!(r.cmd(&["SADD", "t", "2", "3"]), int(2));
    assert_eq!(r.cmd(&["SMEMBERS", "s"]), set3(&["1", "2"]));
    assert_eq!(r.cmd(&["SMEMBERS", "nokey"]), "~0\r\n");
    assert_eq!(r.cmd(&["SINTER", "s", "t"]), set3(&["2"]));
    assert_eq!(r.cmd(&["SINTER", "s", "nokey"]), "~0\r\n");
    assert_eq!(r.cmd(&["SUNION", "s", "t"]), set3(&["1", "2", "3"]));
    assert_eq!(r.cmd(&["SDIFF", "s", "t"]), set3(&["1"]));
    assert_eq!(r.cmd(&["SDIFF", "nokey", "t"]), "~0\r\n");
    assert_eq!(r.cmd(&["SPOP", "nokey"]), "_\r\n");
    assert_eq!(r.cmd(&["SPOP", "nokey", "2"]), "~0\r\n");
    assert_eq!(r.cmd(&["SPOP", "s", "0"]), "~0\r\n");
    assert_eq!(r.cmd(&["SRANDMEMBER", "nokey"]), "_\r\n");
    assert_eq!(r.cmd(&["SRANDMEMBER", "nokey", "2"]), "*0\r\n");
    assert_eq!(r.cmd(&["SRANDMEMBER", "s", "0"]), "*0\r\n");
    assert_eq!(r.cmd(&["SRANDMEMBER", "s", "5"]), arr(&["1", "2"]));
    assert_eq!(r.cmd(&["SRANDMEMBER", "s", "-2"]).lines().next(), Some("*2"));
    assert_eq!(r.cmd(&["SMISMEMBER", "s", "1", "9"]), "*2\r\n:1\r\n:0\r\n");
    assert_eq!(
        r.cmd(&["SSCAN", "s", "0"]),
        format!("*2\r\n{}{}", bulk("0"), arr(&["1", "2"]))
    );
    assert_eq!(r.cmd(&["SSCAN", "nokey", "0"]), EMPTY_SCAN);
    assert_eq!(r.cmd(&["SPOP", "s", "5"]), set3(&["1", "2"]));
    assert_eq!(r.cmd(&["EXISTS", "s"]), int(0));
    let one = r.cmd(&["SPOP", "t", "1"]);
    assert!(one == set3(&["2"]) || one == set3(&["3"]), "{one}");
    // RESP2 for comparison.
    let mut r2 = srv.raw();
    assert_eq!(r2.cmd(&["SMEMBERS", "nokey"]), "*0\r\n");
    assert_eq!(r2.cmd(&["SPOP", "nokey"]), NIL);
    assert_eq!(r2.cmd(&["SPOP", "nokey", "1"]), "*0\r\n");
    assert_eq!(r2.cmd(&["SRANDMEMBER", "nokey"]), NIL);
    assert_eq!(r2.cmd(&["SINTER", "nokey"]), "*0\r\n");
}

#[test]
fn spop_variants() {
    let srv = server();
    let mut r = srv.raw();
    let mut c = srv.conn();
    assert_eq!(r.cmd(&["SPOP", "s", "-1"]), POSITIVE);
    assert_eq!(r.cmd(&["SPOP", "s", "x"]), POSITIVE);
    assert_eq!(r.cmd(&["SPOP", "s", "1", "2"]), SYNTAX);
    assert_eq!(r.cmd(&["SADD", "s", "a"]), int(1));
    assert_eq!(r.cmd(&["SPOP", "s"]), bulk("a"));
    assert_eq!(r.cmd(&["EXISTS", "s"]), int(0));
    for (kind, gen) in [
        ("intset", (|i: usize| i.to_string()) as fn(usize) -> String),
        ("listpack", |i| format!("m{i}")),
    ] {
        // Case 2 (few popped), case 3 (most popped: the survivors form a
        // new set) and the whole set.
        for count in [3usize, 17, 20, 25] {
            let all: Vec<String> = (0..20).map(gen).collect();
            let _: () = q(&mut c, &["DEL", "p"]);
            sadd_many(&mut c, "p", all.clone());
            assert_eq!(enc(&mut c, "p"), kind);
            let popped: Vec<String> = q(&mut c, &["SPOP", "p", &count.to_string()]);
            let n = count.min(20);
            assert_eq!(popped.len(), n);
            let rest = if n == 20 { Vec::new() } else { members(&mut c, "p") };
            assert_eq!(rest.len(), 20 - n);
            let mut union: Vec<String> = popped.into_iter().chain(rest).collect();
            union.sort();
            union.dedup();
            assert_eq!(union, sorted(all), "{kind} {count}");
            if n < 20 {
                assert_eq!(enc(&mut c, "p"), kind);
            }
        }
    }
    // Case 3 on a hashtable leaves a compact set of the survivors, as
    // Redis 7.2 does.
    sadd_many(&mut c, "h", (0..200).map(|i| format!("m{i}")));
    assert_eq!(enc(&mut c, "h"), "hashtable");
    let popped: Vec<String> = q(&mut c, &["SPOP", "h", "190"]);
    assert_eq!(popped.len(), 190);
    assert_eq!(q::<i64>(&mut c, &["SCARD", "h"]), 10);
    assert_eq!(enc(&mut c, "h"), "listpack");
    // Case 2 on a hashtable keeps it.
    sadd_many(&mut c, "h2", (0..200).map(|i| format!("m{i}")));
    let popped: Vec<String> = q(&mut c, &["SPOP", "h2", "5"]);
    assert_eq!(sorted(popped.clone()).len(), 5);
    assert_eq!(enc(&mut c, "h2"), "hashtable");
    for p in popped {
        assert_eq!(q::<i64>(&mut c, &["SISMEMBER", "h2", &p]), 0);
    }
    // One at a time until empty.
    let mut got = Vec::new();
    while let Some(m) = q::<Option<String>>(&mut c, &["SPOP", "h2"]) {
        got.push(m);
    }
    assert_eq!(got.len(), 195);
    assert_eq!(q::<i64>(&mut c, &["EXISTS", "h2"]), 0);
}

#[test]
fn srandmember_variants() {
    let srv = server();
    let mut r = srv.raw();
    let mut c = srv.conn();
    assert_eq!(r.cmd(&["SRANDMEMBER", "s", "x"]), NOT_INT);
    assert_eq!(
        r.cmd(&["SRANDMEMBER", "s", "-9223372036854775808"]),
        "-ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807\r\n"
    );
    assert_eq!(r.cmd(&["SRANDMEMBER", "s", "1", "2"]), SYNTAX);
    for (kind, gen) in [
        ("intset", (|i: usize| i.to_string()) as fn(usize) -> String),
        ("listpack", |i| format!("m{i}")),
        ("hashtable", |i| format!("member-{i}-{}", "z".repeat(60))),
    ] {
        let key = format!("k-{kind}");
        let all: Vec<String> = (0..30).map(gen).collect();
        sadd_many(&mut c, &key, all.clone());
        assert_eq!(enc(&mut c, &key), kind);
        let one: String = q(&mut c, &["SRANDMEMBER", &key]);
        assert!(all.contains(&one));
        for count in [1i64, 5, 29, 30, 100] {
            let got: Vec<String> = q(&mut c, &["SRANDMEMBER", &key, &count.to_string()]);
            let n = (count as usize).min(30);
            assert_eq!(got.len(), n, "{kind} {count}");
            let mut d = got.clone();
            d.sort();
            d.dedup();
            assert_eq!(d.len(), n, "distinct: {kind} {count}");
            assert!(got.iter().all(|m| all.contains(m)));
        }
        // Negative counts repeat members.
        let got: Vec<String> = q(&mut c, &["SRANDMEMBER", &key, "-100"]);
        assert_eq!(got.len(), 100);
        assert!(got.iter().all(|m| all.contains(m)));
        let mut d = got.clone();
        d.sort();
        d.dedup();
        assert!(d.len() < 100);
        assert_eq!(q::<i64>(&mut c, &["SCARD", &key]), 30, "nothing removed");
    }
}

#[test]
fn smove_cases() {
    let srv = server();
    let mut r = srv.raw();
    let mut c = srv.conn();
    assert_eq!(r.cmd(&["SADD", "a", "1", "2", "x"]), int(3));
    assert_eq!(r.cmd(&["SADD", "b", "3"]), int(1));
    assert_eq!(r.cmd(&["SMOVE", "a", "b", "9"]), int(0));
    assert_eq!(r.cmd(&["SMOVE", "a", "b", "1"]), int(1));
    assert_eq!(members(&mut c, "a"), strs(&["2", "x"]));
    assert_eq!(members(&mut c, "b"), strs(&["1", "3"]));
    // Already in the destination: still moved out of the source.
    assert_eq!(r.cmd(&["SADD", "b", "2"]), int(1));
    assert_eq!(r.cmd(&["SMOVE", "a", "b", "2"]), int(1));
    assert_eq!(members(&mut c, "a"), strs(&["x"]));
    // Same key: 1 if a member, 0 if not; nothing changes.
    assert_eq!(r.cmd(&["SMOVE", "a", "a", "x"]), int(1));
    assert_eq!(r.cmd(&["SMOVE", "a", "a", "y"]), int(0));
    assert_eq!(members(&mut c, "a"), strs(&["x"]));
    // Emptying the source deletes it; a missing destination is created
    // in the encoding its first member calls for.
    assert_eq!(r.cmd(&["SMOVE", "a", "new", "x"]), int(1));
    assert_eq!(r.cmd(&["EXISTS", "a"]), int(0));
    assert_eq!(members(&mut c, "new"), strs(&["x"]));
    assert_eq!(enc(&mut c, "new"), "listpack");
    assert_eq!(r.cmd(&["SMOVE", "b", "new2", "3"]), int(1));
    assert_eq!(enc(&mut c, "new2"), "intset");
    // A string moved into an intset converts it.
    assert_eq!(r.cmd(&["SADD", "b", "s"]), int(1));
    assert_eq!(r.cmd(&["SMOVE", "b", "new2", "s"]), int(1));
    assert_eq!(enc(&mut c, "new2"), "listpack");
    assert_eq!(r.cmd(&["SMOVE", "nokey", "b", "1"]), int(0));
}

#[test]
fn sinter_family() {
    let srv = server();
    let mut r = srv.raw();
    let mut c = srv.conn();
    sadd_many(&mut c, "a", (0..10).map(|i| i.to_string()));
    sadd_many(&mut c, "b", (5..20).map(|i| i.to_string()));
    let _: i64 = q(&mut c, &["SADD", "c", "5", "6", "x"]);
    assert_eq!(r.cmd(&["SINTER", "a", "b"]), arr(&["5", "6", "7", "8", "9"]));
    assert_eq!(sorted(q(&mut c, &["SINTER", "a", "b", "c"])), strs(&["5", "6"]));
    assert_eq!(r.cmd(&["SINTER", "a", "nokey"]), "*0\r\n");
    assert_eq!(
        r.cmd(&["SINTER", "a", "a"]),
        arr(&["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"])
    );
    // SINTERCARD
    assert_eq!(r.cmd(&["SINTERCARD", "2", "a", "b"]), int(5));
    assert_eq!(r.cmd(&["SINTERCARD", "2", "a", "b", "LIMIT", "3"]), int(3));
    assert_eq!(r.cmd(&["SINTERCARD", "2", "a", "b", "limit", "0"]), int(5));
    assert_eq!(
        r.cmd(&["SINTERCARD", "2", "a", "b", "LIMIT", "1", "LIMIT", "4"]),
        int(4)
    );
    assert_eq!(r.cmd(&["SINTERCARD", "1", "a"]), int(10));
    assert_eq!(r.cmd(&["SINTERCARD", "2", "a", "nokey"]), int(0));
    let numkeys = "-ERR numkeys should be greater than 0\r\n";
    assert_eq!(r.cmd(&["SINTERCARD", "0", "a"]), numkeys);
    assert_eq!(r.cmd(&["SINTERCARD", "-1", "a"]), numkeys);
    assert_eq!(r.cmd(&["SINTERCARD", "x", "a"]), numkeys);
    assert_eq!(
        r.cmd(&["SINTERCARD", "3", "a", "b"]),
        "-ERR Number of keys can't be greater than number of args\r\n"
    );
    let neg = "-ERR LIMIT can't be negative\r\n";
    assert_eq!(r.cmd(&["SINTERCARD", "1", "a", "LIMIT", "-1"]), neg);
    assert_eq!(r.cmd(&["SINTERCARD", "1", "a", "LIMIT", "x"]), neg);
    assert_eq!(r.cmd(&["SINTERCARD", "1", "a", "LIMIT"]), SYNTAX);
    assert_eq!(r.cmd(&["SINTERCARD", "1", "a", "FOO", "1"]), SYNTAX);
    // Key extraction from numkeys.
    assert_eq!(
        r.cmd(&["COMMAND", "GETKEYS", "SINTERCARD", "2", "a", "b", "LIMIT", "1"]),
        arr(&["a", "b"])
    );
    // SINTERSTORE: result encodings follow Redis 7.2.
    assert_eq!(r.cmd(&["SINTERSTORE", "d", "a", "b"]), int(5));
    assert_eq!(members(&mut c, "d"), strs(&["5", "6", "7", "8", "9"]));
    assert_eq!(enc(&mut c, "d"), "intset");
    assert_eq!(r.cmd(&["SINTERSTORE", "d", "a", "c"]), int(2));
    assert_eq!(enc(&mut c, "d"), "intset", "only integers: back to intset");
    let _: i64 = q(&mut c, &["SADD", "e", "x", "y", "5"]);
    assert_eq!(r.cmd(&["SINTERSTORE", "d", "c", "e"]), int(2));
    assert_eq!(members(&mut c, "d"), strs(&["5", "x"]));
    assert_eq!(enc(&mut c, "d"), "listpack");
    // Hashtable sources whose common members are integers give an intset.
    sadd_many(
        &mut c,
        "h1",
        (0..300).map(|i| format!("h{i}")).chain(["1".into(), "2".into()]),
    );
    sadd_many(
        &mut c,
        "h2",
        (0..300).map(|i| format!("h{i}")).chain(["1".into(), "3".into()]),
    );
    assert_eq!(r.cmd(&["SINTERSTORE", "d", "h1", "h2"]), int(301));
    assert_eq!(enc(&mut c, "d"), "hashtable");
    let _: i64 = q(&mut c, &["SADD", "h3", "1", "2", "h7"]);
    let _: i64 = q(&mut c, &["SREM", "h3", "h7"]);
    let _: i64 = q(&mut c, &["SREM", "h1", "h1"]);
    assert_eq!(r.cmd(&["SINTERSTORE", "d", "h1", "h3"]), int(2));
    assert_eq!(enc(&mut c, "d"), "intset");
    // Overwrites a destination of another type, dropping its TTL.
    assert_eq!(r.cmd(&["SET", "str", "v", "EX", "100"]), OK);
    assert_eq!(r.cmd(&["SINTERSTORE", "str", "a", "b"]), int(5));
    assert_eq!(r.cmd(&["TYPE", "str"]), "+set\r\n");
    assert_eq!(r.cmd(&["TTL", "str"]), int(-1));
    // An empty result deletes the destination.
    assert_eq!(r.cmd(&["SINTERSTORE", "str", "a", "nokey"]), int(0));
    assert_eq!(r.cmd(&["EXISTS", "str"]), int(0));
    assert_eq!(r.cmd(&["SET", "str", "v"]), OK);
    assert_eq!(r.cmd(&["SINTERSTORE", "str", "a", "e", "c"]), int(1));
    assert_eq!(r.cmd(&["SADD", "z", "q"]), int(1));
    assert_eq!(r.cmd(&["SINTERSTORE", "str", "a", "z"]), int(0));
    assert_eq!(r.cmd(&["EXISTS", "str"]), int(0));
    // The destination may be a source.
    assert_eq!(r.cmd(&["SINTERSTORE", "a", "a", "b"]), int(5));
    assert_eq!(members(&mut c, "a"), strs(&["5", "6", "7", "8", "9"]));
}

#[test]
fn sunion_sdiff_family() {
    let srv = server();
    let mut r = srv.raw();
    let mut c = srv.conn();
    let _: i64 = q(&mut c, &["SADD", "a", "3", "1", "2"]);
    let _: i64 = q(&mut c, &["SADD", "b", "2", "4"]);
    let _: i64 = q(&mut c, &["SADD", "s", "x", "y", "1"]);
    // Integer-only results come back as an intset: sorted.
    assert_eq!(r.cmd(&["SUNION", "a", "nokey", "b"]), arr(&["1", "2", "3", "4"]));
    assert_eq!(r.cmd(&["SDIFF", "a", "b"]), arr(&["1", "3"]));
    assert_eq!(r.cmd(&["SDIFF", "a", "nokey"]), arr(&["1", "2", "3"]));
    assert_eq!(r.cmd(&["SDIFF", "a", "a"]), "*0\r\n");
    assert_eq!(r.cmd(&["SDIFF", "a", "b", "a"]), "*0\r\n");
    assert_eq!(r.cmd(&["SDIFF", "nokey", "a"]), "*0\r\n");
    assert_eq!(r.cmd(&["SUNION", "nokey"]), "*0\r\n");
    assert_eq!(
        sorted(q(&mut c, &["SUNION", "a", "s"])),
        strs(&["1", "2", "3", "x", "y"])
    );
    assert_eq!(sorted(q(&mut c, &["SDIFF", "s", "a", "b"])), strs(&["x", "y"]));
    // Stores.
    assert_eq!(r.cmd(&["SUNIONSTORE", "u", "a", "b"]), int(4));
    assert_eq!(enc(&mut c, "u"), "intset");
    assert_eq!(r.cmd(&["SUNIONSTORE", "u", "a", "s"]), int(5));
    assert_eq!(enc(&mut c, "u"), "listpack");
    assert_eq!(r.cmd(&["SDIFFSTORE", "u", "s", "a"]), int(2));
    assert_eq!(members(&mut c, "u"), strs(&["x", "y"]));
    assert_eq!(r.cmd(&["SET", "str", "v", "EX", "100"]), OK);
    assert_eq!(r.cmd(&["SUNIONSTORE", "str", "a"]), int(3));
    assert_eq!(r.cmd(&["TTL", "str"]), int(-1));
    assert_eq!(r.cmd(&["SMEMBERS", "str"]), arr(&["1", "2", "3"]));
    assert_eq!(r.cmd(&["SDIFFSTORE", "str", "a", "a"]), int(0));
    assert_eq!(r.cmd(&["EXISTS", "str"]), int(0));
    assert_eq!(r.cmd(&["SET", "str", "v"]), OK);
    assert_eq!(r.cmd(&["SUNIONSTORE", "str", "nokey"]), int(0));
    assert_eq!(r.cmd(&["EXISTS", "str"]), int(0));
    // Big results become hashtables; a diff that subtracts most of a big
    // set still answers right.
    sadd_many(&mut c, "big", (0..1000).map(|i| format!("m{i}")));
    sadd_many(&mut c, "big2", (0..995).map(|i| format!("m{i}")));
    assert_eq!(r.cmd(&["SUNIONSTORE", "u", "big", "a"]), int(1003));
    assert_eq!(enc(&mut c, "u"), "hashtable");
    assert_eq!(
        sorted(q(&mut c, &["SDIFF", "big", "big2"])),
        strs(&["m995", "m996", "m997", "m998", "m999"])
    );
    let args: Vec<String> = std::iter::once("big".to_string())
        .chain((0..20).map(|i| format!("x{i}")))
        .chain(std::iter::once("big2".to_string()))
        .collect();
    let mut cmd = redis::cmd("SDIFF");
    for a in &args {
        cmd.arg(a);
    }
    let got: Vec<String> = cmd.query(&mut c).unwrap();
    assert_eq!(sorted(got), strs(&["m995", "m996", "m997", "m998", "m999"]));
    // The destination may be a source.
    assert_eq!(r.cmd(&["SUNIONSTORE", "a", "a", "b"]), int(4));
    assert_eq!(r.cmd(&["SMEMBERS", "a"]), arr(&["1", "2", "3", "4"]));
}

#[test]
fn sscan_compact_and_hashtable() {
    let srv = server();
    let mut r = srv.raw();
    let mut c = srv.conn();
    assert_eq!(r.cmd(&["SSCAN", "nokey", "0"]), EMPTY_SCAN);
    assert_eq!(
        r.cmd(&["SSCAN", "nokey", "0", "COUNT", "0"]),
        EMPTY_SCAN,
        "options unchecked"
    );
    let _: i64 = q(&mut c, &["SADD", "s", "1", "2", "3", "12"]);
    assert_eq!(r.cmd(&["SSCAN", "s", "x"]), "-ERR invalid cursor\r\n");
    assert_eq!(
        r.cmd(&["SSCAN", "s", "18446744073709551616"]),
        "-ERR invalid cursor\r\n"
    );
    assert_eq!(r.cmd(&["SSCAN", "s", "0", "COUNT", "0"]), SYNTAX);
    assert_eq!(r.cmd(&["SSCAN", "s", "0", "COUNT", "x"]), NOT_INT);
    assert_eq!(r.cmd(&["SSCAN", "s", "0", "COUNT"]), SYNTAX);
    assert_eq!(r.cmd(&["SSCAN", "s", "0", "TYPE", "string"]), SYNTAX);
    // Compact encodings: everything at once, cursor 0, whatever COUNT.
    assert_eq!(
        r.cmd(&["SSCAN", "s", "0", "COUNT", "1"]),
        format!("*2\r\n{}{}", bulk("0"), arr(&["1", "2", "3", "12"]))
    );
    assert_eq!(
        r.cmd(&["SSCAN", "s", "0", "MATCH", "1*"]),
        format!("*2\r\n{}{}", bulk("0"), arr(&["1", "12"]))
    );
    // Redis 7.2's string2ull refuses negative cursors.
    assert_eq!(r.cmd(&["SSCAN", "s", "-1"]), "-ERR invalid cursor\r\n");
    assert_eq!(
        r.cmd(&["SSCAN", "s", "12345", "MATCH", "*"]),
        format!("*2\r\n{}{}", bulk("0"), arr(&["1", "2", "3", "12"]))
    );
    // Hashtable: a full iteration returns every member exactly once.
    sadd_many(&mut c, "h", (0..1000).map(|i| format!("m{i}")));
    assert_eq!(enc(&mut c, "h"), "hashtable");
    let mut seen = Vec::new();
    let mut cursor = "0".to_string();
    let mut calls = 0;
    loop {
        let (next, batch): (String, Vec<String>) = q(&mut c, &["SSCAN", "h", &cursor, "COUNT", "20"]);
        assert!(batch.len() <= 80, "about COUNT per call: {}", batch.len());
        seen.extend(batch);
        calls += 1;
        // Changes between calls do not disturb the cursor.
        if calls == 10 {
            sadd_many(&mut c, "h", (1000..3000).map(|i| format!("n{i}")));
        }
        if calls == 20 {
            let mut cmd = redis::cmd("SREM");
            cmd.arg("h");
            for i in 1000..3000 {
                cmd.arg(format!("n{i}"));
            }
            let _: i64 = cmd.query(&mut c).unwrap();
        }
        cursor = next;
        if cursor == "0" {
            break;
        }
    }
    assert!(calls > 20, "{calls} calls");
    let originals: Vec<String> = seen.iter().filter(|m| m.starts_with('m')).cloned().collect();
    let n = originals.len();
    let mut d = originals;
    d.sort();
    d.dedup();
    assert_eq!(d.len(), n, "no duplicates");
    assert_eq!(n, 1000, "every member present throughout was returned");
    // MATCH filters after the step.
    let mut matched = Vec::new();
    let mut cursor = "0".to_string();
    loop {
        let (next, batch): (String, Vec<String>) = q(&mut c, &["SSCAN", "h", &cursor, "MATCH", "m1?", "COUNT", "100"]);
        matched.extend(batch);
        cursor = next;
        if cursor == "0" {
            break;
        }
    }
    assert_eq!(sorted(matched), sorted((10..20).map(|i| format!("m{i}")).collect()));
}

#[test]
fn keyspace_stats_and_dirty() {
    let srv = server();
    let mut c = srv.conn();
    let _: i64 = q(&mut c, &["SADD", "a", "1"]);
    let hits = info_stat(&mut c, "keyspace_hits");
    let misses = info_stat(&mut c, "keyspace_misses");
    let _: Vec<String> = q(&mut c, &["SINTER", "a", "nokey", "a"]);
    assert_eq!(info_stat(&mut c, "keyspace_hits"), hits + 2);
    assert_eq!(info_stat(&mut c, "keyspace_misses"), misses + 1);
    // SADD and SREM look up for writing: no hit or miss.
    let _: i64 = q(&mut c, &["SADD", "a", "2"]);
    let _: i64 = q(&mut c, &["SREM", "nokey", "2"]);
    assert_eq!(info_stat(&mut c, "keyspace_hits"), hits + 2);
    assert_eq!(info_stat(&mut c, "keyspace_misses"), misses + 1);
    // Dirty counts, seen through rdb_changes_since_last_save.
    let dirty = |c: &mut redis::Connection| -> i64 {
        let info: String = q(c, &["INFO", "persistence"]);
        info.lines()
            .find_map(|l| l.strip_prefix("rdb_changes_since_last_save:"))
            .unwrap()
            .trim()
            .parse()
            .unwrap()
    };
    let d0 = dirty(&mut c);
    let _: i64 = q(&mut c, &["SADD", "a", "2", "3", "4"]);
    assert_eq!(dirty(&mut c), d0 + 2);
    let _: i64 = q(&mut c, &["SREM", "a", "3", "4", "9"]);
    assert_eq!(dirty(&mut c), d0 + 4);
    let _: i64 = q(&mut c, &["SMOVE", "a", "b", "1"]);
    assert_eq!(dirty(&mut c), d0 + 6);
    let _: Vec<String> = q(&mut c, &["SPOP", "b", "5"]);
    assert_eq!(dirty(&mut c), d0 + 7);
    let _: i64 = q(&mut c, &["SUNIONSTORE", "u", "a"]);
    assert_eq!(dirty(&mut c), d0 + 8);
}

/// Random sets of mixed members and encodings (small thresholds so all
/// three meet), checked against a model for every algebra command.
#[test]
fn algebra_matches_a_model() {
    use rand::{Rng, SeedableRng};
    use std::collections::BTreeSet;
    let srv = server();
    let mut c = srv.conn();
    let _: () = q(&mut c, &["CONFIG", "SET", "set-max-intset-entries", "20"]);
    let _: () = q(&mut c, &["CONFIG", "SET", "set-max-listpack-entries", "15"]);
    let _: () = q(&mut c, &["CONFIG", "SET", "set-max-listpack-value", "4"]);
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    for round in 0..40 {
        let nsets = rng.gen_range(1..5);
        let mut model: Vec<Option<BTreeSet<String>>> = Vec::new();
        let keys: Vec<String> = (0..nsets).map(|i| format!("{{t}}s{i}")).collect();
        for k in &keys {
            let _: i64 = q(&mut c, &["DEL", k]);
            if rng.gen_bool(0.15) {
                model.push(None);
                continue;
            }
            let n = rng.gen_range(1..30);
            let ints_only = rng.gen_bool(0.4);
            let ms: BTreeSet<String> = (0..n)
                .map(|_| {
                    if ints_only || rng.gen_bool(0.5) {
                        rng.gen_range(-30..30).to_string()
                    } else if rng.gen_bool(0.8) {
                        format!("m{}", rng.gen_range(0..40))
                    } else {
                        format!("long-member-{}", rng.gen_range(0..10))
                    }
                })
                .collect();
            sadd_many(&mut c, k, ms.iter().cloned());
            model.push(Some(ms));
        }
        let present: Vec<&BTreeSet<String>> = model.iter().flatten().collect();
        let inter: BTreeSet<String> = if present.len() < model.len() {
            BTreeSet::new()
        } else {
            present[0]
                .iter()
                .filter(|m| present.iter().all(|s| s.contains(*m)))
                .cloned()
                .collect()
        };
        let union: BTreeSet<String> = present.iter().flat_map(|s| s.iter().cloned()).collect();
        let diff: BTreeSet<String> = match &model[0] {
            None => BTreeSet::new(),
            Some(first) => first
                .iter()
                .filter(|m| !model[1..].iter().flatten().any(|s| s.contains(*m)))
                .cloned()
                .collect(),
        };
        let with = |cmd: &str, dst: Option<&str>| -> Vec<String> {
            let mut v = vec![cmd.to_string()];
            v.extend(dst.map(str::to_string));
            v.extend(keys.iter().cloned());
            v
        };
        for (name, expect) in [("SINTER", &inter), ("SUNION", &union), ("SDIFF", &diff)] {
            let args = with(name, None);
            let refs: Vec<&str> = args.iter().map(String::as_str).collect();
            let got: Vec<String> = q(&mut c, &refs);
            assert_eq!(got.len(), expect.len(), "round {round} {name}: duplicates or misses");
            assert_eq!(
                got.into_iter().collect::<BTreeSet<_>>(),
                *expect,
                "round {round} {name}"
            );
            let store = format!("{name}STORE");
            let args = with(&store, Some("{t}dst"));
            let refs: Vec<&str> = args.iter().map(String::as_str).collect();
            let n: i64 = q(&mut c, &refs);
            assert_eq!(n as usize, expect.len(), "round {round} {store}");
            let stored: Vec<String> = q(&mut c, &["SMEMBERS", "{t}dst"]);
            assert_eq!(stored.into_iter().collect::<BTreeSet<_>>(), *expect);
            if !expect.is_empty() {
                let e = enc(&mut c, "{t}dst");
                let all_int = expect.iter().all(|m| m.parse::<i64>().is_ok());
                let fits_lp = expect.len() <= 15 && expect.iter().all(|m| m.len() <= 4);
                match e.as_str() {
                    "intset" => assert!(all_int && expect.len() <= 20, "round {round} {store}"),
                    "listpack" => assert!(fits_lp, "round {round} {store}"),
                    _ => assert!(
                        !(all_int && expect.len() <= 20 && name != "SDIFF"),
                        "round {round} {store}"
                    ),
                }
            }
        }
        let mut args = vec!["SINTERCARD".to_string(), nsets.to_string()];
        args.extend(keys.iter().cloned());
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        assert_eq!(
            q::<i64>(&mut c, &refs) as usize,
            inter.len(),
            "round {round} SINTERCARD"
        );
    }
}
