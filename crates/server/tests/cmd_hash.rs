#![allow(clippy::unwrap_used)]
//! Hash commands against Redis 7.2's replies and error strings, byte for
//! byte over raw RESP2 and RESP3, plus encoding conversions.

mod common;

use common::resp::bulk;

use std::collections::{HashMap, HashSet};

use common::{RawConn, TestServer};
use larder_protocol::{parse_frame, Frame};

fn server() -> TestServer {
    TestServer::start(&[])
}

/// Sends a command and parses the reply.
fn frame(r: &mut RawConn, args: &[&str]) -> Frame {
    let raw = r.cmd(args);
    let (f, used) = parse_frame(raw.as_bytes()).unwrap().unwrap();
    assert_eq!(used, raw.len(), "one reply");
    f
}

fn b(s: &str) -> Frame {
    Frame::Bulk(s.as_bytes().to_vec())
}

fn err(msg: &str) -> String {
    format!("-ERR {msg}\r\n")
}

const NIL: &str = "$-1\r\n";
const OK: &str = "+OK\r\n";
const WRONGTYPE: &str = "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n";
const SYNTAX: &str = "-ERR syntax error\r\n";
const NOT_INT: &str = "-ERR value is not an integer or out of range\r\n";

fn strings(f: &Frame) -> Vec<String> {
    match f {
        Frame::Array(v) => v
            .iter()
            .map(|x| match x {
                Frame::Bulk(b) => String::from_utf8(b.clone()).unwrap(),
                other => panic!("not a bulk: {other:?}"),
            })
            .collect(),
        other => panic!("not an array: {other:?}"),
    }
}

#[test]
fn hset_hget_hmset_hsetnx() {
    let srv = server();
    let mut r = srv.raw();
    assert_eq!(r.cmd(&["HSET", "h", "a", "1", "b", "2"]), ":2\r\n");
    assert_eq!(r.cmd(&["HSET", "h", "a", "10", "c", "3"]), ":1\r\n");
    assert_eq!(r.cmd(&["HGET", "h", "a"]), bulk("10"));
    assert_eq!(r.cmd(&["HGET", "h", "zz"]), NIL);
    assert_eq!(r.cmd(&["HGET", "nokey", "a"]), NIL);
    // Duplicate fields in one call count once.
    assert_eq!(r.cmd(&["HSET", "h2", "x", "1", "x", "2"]), ":1\r\n");
    assert_eq!(r.cmd(&["HGET", "h2", "x"]), bulk("2"));
    assert_eq!(r.cmd(&["HMSET", "h", "d", "4", "a", "11"]), OK);
    assert_eq!(r.cmd(&["HGET", "h", "a"]), bulk("11"));
    assert_eq!(r.cmd(&["HLEN", "h"]), ":4\r\n");
    // Odd field/value counts.
    assert_eq!(
        r.cmd(&["HSET", "h", "a", "1", "b"]),
        err("wrong number of arguments for 'hset' command")
    );
    assert_eq!(
        r.cmd(&["HMSET", "h", "a", "1", "b"]),
        err("wrong number of arguments for 'hmset' command")
    );
    assert_eq!(
        r.cmd(&["HSET", "h", "a"]),
        err("wrong number of arguments for 'hset' command")
    );
    assert_eq!(
        r.cmd(&["HSET", "new", "a", "1", "b"]),
        err("wrong number of arguments for 'hset' command")
    );
    assert_eq!(r.cmd(&["EXISTS", "new"]), ":0\r\n");
    // HSETNX.
    assert_eq!(r.cmd(&["HSETNX", "h", "a", "x"]), ":0\r\n");
    assert_eq!(r.cmd(&["HGET", "h", "a"]), bulk("11"));
    assert_eq!(r.cmd(&["HSETNX", "h", "e", "5"]), ":1\r\n");
    assert_eq!(r.cmd(&["HSETNX", "fresh", "f", "v"]), ":1\r\n");
    assert_eq!(r.cmd(&["TYPE", "fresh"]), "+hash\r\n");
    // Empty field and value are fine.
    assert_eq!(r.cmd(&["HSET", "h", "", ""]), ":1\r\n");
    assert_eq!(r.cmd(&["HGET", "h", ""]), bulk(""));
    assert_eq!(r.cmd(&["HSTRLEN", "h", ""]), ":0\r\n");
}

#[test]
fn hmget_hlen_hstrlen_hexists() {
    let srv = server();
    let mut r = srv.raw();
    r.cmd(&["HSET", "h", "a", "hello", "n", "-123"]);
    assert_eq!(
        r.cmd(&["HMGET", "h", "a", "zz", "n"]),
        format!("*3\r\n{}{NIL}{}", bulk("hello"), bulk("-123"))
    );
    assert_eq!(r.cmd(&["HMGET", "nokey", "a", "b"]), format!("*2\r\n{NIL}{NIL}"));
    assert_eq!(r.cmd(&["HLEN", "h"]), ":2\r\n");
    assert_eq!(r.cmd(&["HLEN", "nokey"]), ":0\r\n");
    assert_eq!(r.cmd(&["HSTRLEN", "h", "a"]), ":5\r\n");
    assert_eq!(r.cmd(&["HSTRLEN", "h", "n"]), ":4\r\n");
    assert_eq!(r.cmd(&["HSTRLEN", "h", "zz"]), ":0\r\n");
    assert_eq!(r.cmd(&["HSTRLEN", "nokey", "a"]), ":0\r\n");
    assert_eq!(r.cmd(&["HEXISTS", "h", "a"]), ":1\r\n");
    assert_eq!(r.cmd(&["HEXISTS", "h", "zz"]), ":0\r\n");
    assert_eq!(r.cmd(&["HEXISTS", "nokey", "a"]), ":0\r\n");
    let mut r3 = srv.raw3();
    assert_eq!(
        r3.cmd(&["HMGET", "h", "zz", "a"]),
        format!("*2\r\n_\r\n{}", bulk("hello"))
    );
    assert_eq!(r3.cmd(&["HGET", "h", "zz"]), "_\r\n");
}

#[test]
fn hkeys_hvals_hgetall_shapes() {
    let srv = server();
    let mut r = srv.raw();
    r.cmd(&["HSET", "h", "b", "2", "a", "1", "c", "3"]);
    // A listpack keeps insertion order.
    assert_eq!(
        r.cmd(&["HKEYS", "h"]),
        format!("*3\r\n{}{}{}", bulk("b"), bulk("a"), bulk("c"))
    );
    assert_eq!(
        r.cmd(&["HVALS", "h"]),
        format!("*3\r\n{}{}{}", bulk("2"), bulk("1"), bulk("3"))
    );
    assert_eq!(
        r.cmd(&["HGETALL", "h"]),
        format!(
            "*6\r\n{}{}{}{}{}{}",
            bulk("b"),
            bulk("2"),
            bulk("a"),
            bulk("1"),
            bulk("c"),
            bulk("3")
        )
    );
    assert_eq!(r.cmd(&["HKEYS", "nokey"]), "*0\r\n");
    assert_eq!(r.cmd(&["HVALS", "nokey"]), "*0\r\n");
    assert_eq!(r.cmd(&["HGETALL", "nokey"]), "*0\r\n");
    let mut r3 = srv.raw3();
    assert_eq!(
        r3.cmd(&["HGETALL", "h"]),
        format!(
            "%3\r\n{}{}{}{}{}{}",
            bulk("b"),
            bulk("2"),
            bulk("a"),
            bulk("1"),
            bulk("c"),
            bulk("3")
        )
    );
    assert_eq!(r3.cmd(&["HGETALL", "nokey"]), "%0\r\n");
    assert_eq!(r3.cmd(&["HKEYS", "nokey"]), "*0\r\n");
    // Through the redis crate as well.
    let mut c = srv.conn();
    let m: HashMap<String, String> = redis::cmd("HGETALL").arg("h").query(&mut c).unwrap();
    assert_eq!(m.len(), 3);
    assert_eq!(m["a"], "1");
}

#[test]
fn hdel_removes_fields_and_empty_keys() {
    let srv = server();
    let mut r = srv.raw();
    r.cmd(&["HSET", "h", "a", "1", "b", "2", "c", "3"]);
    assert_eq!(r.cmd(&["HDEL", "h", "a", "zz", "a"]), ":1\r\n");
    assert_eq!(r.cmd(&["HDEL", "nokey", "a"]), ":0\r\n");
    assert_eq!(r.cmd(&["HDEL", "h", "b", "c", "d"]), ":2\r\n");
    assert_eq!(r.cmd(&["EXISTS", "h"]), ":0\r\n");
    // Same for a hashtable.
    r.cmd(&["CONFIG", "SET", "hash-max-listpack-entries", "0"]);
    r.cmd(&["HSET", "t", "a", "1", "b", "2"]);
    assert_eq!(r.cmd(&["OBJECT", "ENCODING", "t"]), bulk("hashtable"));
    assert_eq!(r.cmd(&["HDEL", "t", "a", "b"]), ":2\r\n");
    assert_eq!(r.cmd(&["EXISTS", "t"]), ":0\r\n");
}

#[test]
fn hincrby() {
    let srv = server();
    let mut r = srv.raw();
    assert_eq!(r.cmd(&["HINCRBY", "h", "n", "5"]), ":5\r\n");
    assert_eq!(r.cmd(&["HINCRBY", "h", "n", "-7"]), ":-2\r\n");
    assert_eq!(r.cmd(&["HGET", "h", "n"]), bulk("-2"));
    assert_eq!(r.cmd(&["HINCRBY", "h", "n", "x"]), NOT_INT);
    assert_eq!(r.cmd(&["HINCRBY", "h", "n", "1.5"]), NOT_INT);
    r.cmd(&[
        "HSET",
        "h",
        "s",
        "abc",
        "sp",
        " 1",
        "lead",
        "01",
        "big",
        "9223372036854775807",
    ]);
    assert_eq!(r.cmd(&["HINCRBY", "h", "s", "1"]), err("hash value is not an integer"));
    assert_eq!(r.cmd(&["HINCRBY", "h", "sp", "1"]), err("hash value is not an integer"));
    assert_eq!(
        r.cmd(&["HINCRBY", "h", "lead", "1"]),
        err("hash value is not an integer")
    );
    assert_eq!(
        r.cmd(&["HINCRBY", "h", "big", "1"]),
        err("increment or decrement would overflow")
    );
    assert_eq!(r.cmd(&["HINCRBY", "h", "big", "-1"]), ":9223372036854775806\r\n");
    r.cmd(&["HSET", "h", "min", "-9223372036854775808"]);
    assert_eq!(
        r.cmd(&["HINCRBY", "h", "min", "-1"]),
        err("increment or decrement would overflow")
    );
    assert_eq!(r.cmd(&["HGET", "h", "min"]), bulk("-9223372036854775808"));
    // Errors leave no empty key behind.
    assert_eq!(r.cmd(&["HINCRBY", "nokey", "n", "x"]), NOT_INT);
    assert_eq!(r.cmd(&["EXISTS", "nokey"]), ":0\r\n");
    r.cmd(&["SET", "str", "1"]);
    assert_eq!(r.cmd(&["HINCRBY", "str", "n", "1"]), WRONGTYPE);
}

#[test]
fn hincrbyfloat() {
    let srv = server();
    let mut r = srv.raw();
    assert_eq!(r.cmd(&["HINCRBYFLOAT", "h", "f", "10.5"]), bulk("10.5"));
    assert_eq!(r.cmd(&["HINCRBYFLOAT", "h", "f", "0.1"]), bulk("10.6"));
    assert_eq!(r.cmd(&["HINCRBYFLOAT", "h", "f", "-10.6"]), bulk("0"));
    assert_eq!(r.cmd(&["HINCRBYFLOAT", "h", "f", "5.0e3"]), bulk("5000"));
    // The 80-bit long double shows through, exactly as in Redis.
    assert_eq!(
        r.cmd(&["HINCRBYFLOAT", "h", "f", "2.0e-2"]),
        bulk("5000.02000000000000002")
    );
    // The long double sum, formatted as Redis does.
    assert_eq!(r.cmd(&["HINCRBYFLOAT", "h", "g", "0.1"]), bulk("0.1"));
    assert_eq!(r.cmd(&["HINCRBYFLOAT", "h", "g", "0.2"]), bulk("0.3"));
    r.cmd(&["HSET", "h", "i", "17"]);
    assert_eq!(r.cmd(&["HINCRBYFLOAT", "h", "i", "1"]), bulk("18"));
    assert_eq!(r.cmd(&["HGET", "h", "i"]), bulk("18"));
    r.cmd(&["HSET", "h", "big", "1.5e400"]);
    let reply = r.cmd(&["HINCRBYFLOAT", "h", "big", "1"]);
    assert_eq!(reply, bulk("14999999999999999999787571258180632757602016556244109946451118100412878837797666939640857023786563371031417482152431247002932649329812161934081180095241362010316985074613896851030350220674205551715723142930094253381524366379501661822763313444432730033420723993367836898563414035343077389097880907026312693852238299714434056960340326194804979333637818033289525836178943417434805645751272530901454553088"));
    // Errors.
    assert_eq!(
        r.cmd(&["HINCRBYFLOAT", "h", "f", "abc"]),
        err("value is not a valid float")
    );
    assert_eq!(
        r.cmd(&["HINCRBYFLOAT", "h", "f", "nan"]),
        err("value is not a valid float")
    );
    assert_eq!(
        r.cmd(&["HINCRBYFLOAT", "h", "f", "inf"]),
        err("value is NaN or Infinity")
    );
    assert_eq!(
        r.cmd(&["HINCRBYFLOAT", "h", "f", "-inf"]),
        err("value is NaN or Infinity")
    );
    r.cmd(&["HSET", "h", "s", "abc", "sp", " 1", "inf", "inf"]);
    assert_eq!(
        r.cmd(&["HINCRBYFLOAT", "h", "s", "1"]),
        err("hash value is not a float")
    );
    assert_eq!(
        r.cmd(&["HINCRBYFLOAT", "h", "sp", "1"]),
        err("hash value is not a float")
    );
    assert_eq!(
        r.cmd(&["HINCRBYFLOAT", "h", "inf", "1"]),
        err("increment would produce NaN or Infinity")
    );
    assert_eq!(r.cmd(&["HGET", "h", "inf"]), bulk("inf"));
    assert_eq!(
        r.cmd(&["HINCRBYFLOAT", "nokey", "f", "x"]),
        err("value is not a valid float")
    );
    assert_eq!(r.cmd(&["EXISTS", "nokey"]), ":0\r\n");
    r.cmd(&["SET", "str", "1"]);
    assert_eq!(r.cmd(&["HINCRBYFLOAT", "str", "f", "1"]), WRONGTYPE);
    // The same bulk reply in RESP3.
    let mut r3 = srv.raw3();
    assert_eq!(r3.cmd(&["HINCRBYFLOAT", "h", "g", "1"]), bulk("1.3"));
}

#[test]
fn wrongtype_everywhere() {
    let srv = server();
    let mut r = srv.raw();
    r.cmd(&["SET", "s", "x"]);
    for cmd in [
        &["HSET", "s", "a", "1"][..],
        &["HMSET", "s", "a", "1"],
        &["HSETNX", "s", "a", "1"],
        &["HGET", "s", "a"],
        &["HMGET", "s", "a"],
        &["HDEL", "s", "a"],
        &["HLEN", "s"],
        &["HSTRLEN", "s", "a"],
        &["HEXISTS", "s", "a"],
        &["HKEYS", "s"],
        &["HVALS", "s"],
        &["HGETALL", "s"],
        &["HINCRBY", "s", "a", "1"],
        &["HINCRBYFLOAT", "s", "a", "1"],
        &["HRANDFIELD", "s"],
        &["HRANDFIELD", "s", "2"],
        &["HSCAN", "s", "0"],
    ] {
        assert_eq!(r.cmd(cmd), WRONGTYPE, "{cmd:?}");
    }
    assert_eq!(r.cmd(&["GET", "s"]), bulk("x"));
    // And a hash under string commands.
    r.cmd(&["HSET", "h", "a", "1"]);
    assert_eq!(r.cmd(&["GET", "h"]), WRONGTYPE);
    assert_eq!(r.cmd(&["TYPE", "h"]), "+hash\r\n");
}

#[test]
fn arity_errors() {
    let srv = server();
    let mut r = srv.raw();
    for (cmd, args) in [
        ("hset", &["HSET", "h", "a"][..]),
        ("hsetnx", &["HSETNX", "h", "a"]),
        ("hget", &["HGET", "h"]),
        ("hmget", &["HMGET", "h"]),
        ("hdel", &["HDEL", "h"]),
        ("hlen", &["HLEN", "h", "x"]),
        ("hstrlen", &["HSTRLEN", "h"]),
        ("hexists", &["HEXISTS", "h"]),
        ("hkeys", &["HKEYS"]),
        ("hvals", &["HVALS", "h", "x"]),
        ("hgetall", &["HGETALL"]),
        ("hincrby", &["HINCRBY", "h", "f"]),
        ("hincrbyfloat", &["HINCRBYFLOAT", "h", "f"]),
        ("hrandfield", &["HRANDFIELD"]),
        ("hscan", &["HSCAN", "h"]),
    ] {
        assert_eq!(
            r.cmd(args),
            err(&format!("wrong number of arguments for '{cmd}' command")),
            "{args:?}"
        );
    }
}

#[test]
fn hrandfield_shapes() {
    let srv = server();
    let mut r = srv.raw();
    r.cmd(&["HSET", "h", "a", "1", "b", "2", "c", "3"]);
    let all: HashSet<&str> = ["a", "b", "c"].into();
    for _ in 0..20 {
        match frame(&mut r, &["HRANDFIELD", "h"]) {
            Frame::Bulk(f) => assert!(all.contains(std::str::from_utf8(&f).unwrap())),
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(r.cmd(&["HRANDFIELD", "nokey"]), NIL);
    assert_eq!(r.cmd(&["HRANDFIELD", "nokey", "3"]), "*0\r\n");
    assert_eq!(r.cmd(&["HRANDFIELD", "h", "0"]), "*0\r\n");
    assert_eq!(r.cmd(&["HRANDFIELD", "h", "0", "WITHVALUES"]), "*0\r\n");
    // Positive count: distinct fields, at most the size.
    let f = strings(&frame(&mut r, &["HRANDFIELD", "h", "2"]));
    assert_eq!(f.len(), 2);
    assert_ne!(f[0], f[1]);
    let f = strings(&frame(&mut r, &["HRANDFIELD", "h", "10"]));
    assert_eq!(f.iter().map(String::as_str).collect::<HashSet<_>>(), all);
    // Negative count: exactly |count|, repeats allowed.
    let f = strings(&frame(&mut r, &["HRANDFIELD", "h", "-10"]));
    assert_eq!(f.len(), 10);
    assert!(f.iter().all(|x| all.contains(x.as_str())));
    // WITHVALUES in RESP2: a flat array of field, value.
    let f = strings(&frame(&mut r, &["HRANDFIELD", "h", "-5", "withvalues"]));
    assert_eq!(f.len(), 10);
    for pair in f.chunks(2) {
        assert_eq!(
            pair[1],
            match pair[0].as_str() {
                "a" => "1",
                "b" => "2",
                _ => "3",
            }
        );
    }
    let f = strings(&frame(&mut r, &["HRANDFIELD", "h", "5", "WITHVALUES"]));
    assert_eq!(f.len(), 6);
    // Errors.
    assert_eq!(r.cmd(&["HRANDFIELD", "h", "x"]), NOT_INT);
    assert_eq!(r.cmd(&["HRANDFIELD", "nokey", "x"]), NOT_INT);
    assert_eq!(r.cmd(&["HRANDFIELD", "h", "1", "withvalue"]), SYNTAX);
    assert_eq!(r.cmd(&["HRANDFIELD", "h", "1", "withvalues", "x"]), SYNTAX);
    assert_eq!(
        r.cmd(&["HRANDFIELD", "h", "-9223372036854775808"]),
        err("value is out of range, value must between -9223372036854775807 and 9223372036854775807")
    );
    assert_eq!(
        r.cmd(&["HRANDFIELD", "h", "9223372036854775807", "withvalues"]),
        err("value is out of range")
    );
    assert_eq!(
        r.cmd(&["HRANDFIELD", "h", "-4611686018427387904", "withvalues"]),
        err("value is out of range")
    );
    // RESP3 WITHVALUES: an array of [field, value] arrays.
    let mut r3 = srv.raw3();
    for args in [
        &["HRANDFIELD", "h", "2", "WITHVALUES"][..],
        &["HRANDFIELD", "h", "-4", "WITHVALUES"],
        &["HRANDFIELD", "h", "9", "WITHVALUES"],
    ] {
        let Frame::Array(items) = frame(&mut r3, args) else {
            panic!()
        };
        let want = match args[2] {
            "2" => 2,
            "-4" => 4,
            _ => 3,
        };
        assert_eq!(items.len(), want, "{args:?}");
        for it in items {
            let Frame::Array(pair) = it else { panic!("{it:?}") };
            assert_eq!(pair.len(), 2);
        }
    }
    assert_eq!(r3.cmd(&["HRANDFIELD", "nokey"]), "_\r\n");
    let Frame::Array(items) = frame(&mut r3, &["HRANDFIELD", "h", "2"]) else {
        panic!()
    };
    assert!(items.iter().all(|x| matches!(x, Frame::Bulk(_))));
}

#[test]
fn hrandfield_on_hashtable_is_uniform_enough() {
    let srv = server();
    let mut r = srv.raw();
    r.cmd(&["CONFIG", "SET", "hash-max-listpack-entries", "10"]);
    let mut args = vec!["HSET".to_string(), "h".into()];
    for i in 0..50 {
        args.push(format!("f{i}"));
        args.push(format!("v{i}"));
    }
    let a: Vec<&str> = args.iter().map(String::as_str).collect();
    assert_eq!(r.cmd(&a), ":50\r\n");
    assert_eq!(r.cmd(&["OBJECT", "ENCODING", "h"]), bulk("hashtable"));
    let f = strings(&frame(&mut r, &["HRANDFIELD", "h", "-2000"]));
    let distinct: HashSet<_> = f.iter().collect();
    assert_eq!(distinct.len(), 50, "every field shows up in 2000 draws");
    for n in ["1", "10", "40", "49", "50", "51"] {
        let f = strings(&frame(&mut r, &["HRANDFIELD", "h", n, "WITHVALUES"]));
        let want = n.parse::<usize>().unwrap().min(50);
        assert_eq!(f.len(), want * 2);
        let fields: HashSet<_> = f.chunks(2).map(|p| p[0].clone()).collect();
        assert_eq!(fields.len(), want, "distinct");
        for p in f.chunks(2) {
            assert_eq!(p[1], p[0].replace('f', "v"));
        }
    }
}

#[test]
fn hscan_listpack_and_errors() {
    let srv = server();
    let mut r = srv.raw();
    r.cmd(&["HSET", "h", "a", "1", "b", "2", "ab", "3"]);
    let all = format!(
        "*2\r\n{}*6\r\n{}{}{}{}{}{}",
        bulk("0"),
        bulk("a"),
        bulk("1"),
        bulk("b"),
        bulk("2"),
        bulk("ab"),
        bulk("3")
    );
    assert_eq!(r.cmd(&["HSCAN", "h", "0"]), all);
    // A listpack comes back whole whatever the cursor and COUNT.
    assert_eq!(r.cmd(&["HSCAN", "h", "12345", "COUNT", "1"]), all);
    assert_eq!(
        r.cmd(&["HSCAN", "h", "0", "MATCH", "a*"]),
        format!(
            "*2\r\n{}*4\r\n{}{}{}{}",
            bulk("0"),
            bulk("a"),
            bulk("1"),
            bulk("ab"),
            bulk("3")
        )
    );
    assert_eq!(r.cmd(&["HSCAN", "h", "0", "MATCH", "*"]), all);
    assert_eq!(r.cmd(&["HSCAN", "nokey", "0"]), format!("*2\r\n{}*0\r\n", bulk("0")));
    // Options are not checked for a missing key, as in Redis.
    assert_eq!(
        r.cmd(&["HSCAN", "nokey", "0", "COUNT", "0"]),
        format!("*2\r\n{}*0\r\n", bulk("0"))
    );
    assert_eq!(r.cmd(&["HSCAN", "h", "x"]), err("invalid cursor"));
    assert_eq!(r.cmd(&["HSCAN", "nokey", "-1"]), err("invalid cursor"));
    assert_eq!(r.cmd(&["HSCAN", "h", "0", "COUNT", "0"]), SYNTAX);
    assert_eq!(r.cmd(&["HSCAN", "h", "0", "COUNT", "x"]), NOT_INT);
    assert_eq!(r.cmd(&["HSCAN", "h", "0", "MATCH"]), SYNTAX);
    assert_eq!(r.cmd(&["HSCAN", "h", "0", "TYPE", "string"]), SYNTAX);
    assert_eq!(r.cmd(&["HSCAN", "h", "0", "FOO", "bar"]), SYNTAX);
    let mut r3 = srv.raw3();
    assert_eq!(r3.cmd(&["HSCAN", "h", "0"]), all);
}

#[test]
fn hscan_hashtable_full_iteration() {
    let srv = server();
    let mut r = srv.raw();
    let mut args = vec!["HSET".to_string(), "h".into()];
    for i in 0..1000 {
        args.push(format!("field:{i}"));
        args.push(format!("{i}"));
    }
    let a: Vec<&str> = args.iter().map(String::as_str).collect();
    assert_eq!(r.cmd(&a), ":1000\r\n");
    assert_eq!(r.cmd(&["OBJECT", "ENCODING", "h"]), bulk("hashtable"));
    for (pattern, want) in [("*", 1000), ("field:1*", 111), ("nomatch*", 0)] {
        let mut seen = HashMap::new();
        let mut cursor = "0".to_string();
        let mut calls = 0;
        loop {
            let Frame::Array(parts) = frame(&mut r, &["HSCAN", "h", &cursor, "MATCH", pattern, "COUNT", "20"]) else {
                panic!()
            };
            let Frame::Bulk(c) = &parts[0] else { panic!() };
            cursor = String::from_utf8(c.clone()).unwrap();
            let items = strings(&parts[1]);
            assert!(items.len() <= 200, "{}", items.len());
            for p in items.chunks(2) {
                assert!(seen.insert(p[0].clone(), p[1].clone()).is_none(), "duplicate {}", p[0]);
            }
            calls += 1;
            if cursor == "0" {
                break;
            }
        }
        assert_eq!(seen.len(), want, "{pattern}");
        assert!(calls > 5, "{calls}");
        for (f, v) in &seen {
            assert_eq!(f, &format!("field:{v}"));
        }
    }
}

#[test]
fn encoding_conversions() {
    let srv = server();
    let mut r = srv.raw();
    assert_eq!(
        r.cmd(&["CONFIG", "GET", "hash-max-listpack-entries"]),
        format!("*2\r\n{}{}", bulk("hash-max-listpack-entries"), bulk("128"))
    );
    assert_eq!(
        r.cmd(&["CONFIG", "GET", "hash-max-ziplist-value"]),
        format!("*2\r\n{}{}", bulk("hash-max-ziplist-value"), bulk("64"))
    );
    // Entries: 128 stay a listpack, the 129th converts.
    for i in 0..128 {
        r.cmd(&["HSET", "h", &format!("f{i}"), "v"]);
    }
    assert_eq!(r.cmd(&["OBJECT", "ENCODING", "h"]), bulk("listpack"));
    r.cmd(&["HSET", "h", "f128", "v"]);
    assert_eq!(r.cmd(&["OBJECT", "ENCODING", "h"]), bulk("hashtable"));
    // One-way: deleting fields does not convert back.
    for i in 0..120 {
        r.cmd(&["HDEL", "h", &format!("f{i}")]);
    }
    assert_eq!(r.cmd(&["HLEN", "h"]), ":9\r\n");
    assert_eq!(r.cmd(&["OBJECT", "ENCODING", "h"]), bulk("hashtable"));
    // Value length: 64 bytes fit, 65 convert, for fields and values.
    let v64 = "x".repeat(64);
    let v65 = "x".repeat(65);
    r.cmd(&["HSET", "v", "f", &v64]);
    assert_eq!(r.cmd(&["OBJECT", "ENCODING", "v"]), bulk("listpack"));
    r.cmd(&["HSET", "v", "g", &v65]);
    assert_eq!(r.cmd(&["OBJECT", "ENCODING", "v"]), bulk("hashtable"));
    r.cmd(&["HSET", "k", &v65, "1"]);
    assert_eq!(r.cmd(&["OBJECT", "ENCODING", "k"]), bulk("hashtable"));
    r.cmd(&["HSETNX", "nx", "f", &v65]);
    assert_eq!(r.cmd(&["OBJECT", "ENCODING", "nx"]), bulk("hashtable"));
    // HINCRBYFLOAT producing a long value converts too.
    r.cmd(&["HSET", "fl", "f", "1.5e70"]);
    assert_eq!(r.cmd(&["OBJECT", "ENCODING", "fl"]), bulk("listpack"));
    r.cmd(&["HINCRBYFLOAT", "fl", "f", "1"]);
    assert_eq!(r.cmd(&["OBJECT", "ENCODING", "fl"]), bulk("hashtable"));
    // A long field name in HINCRBY converts (hashTypeSet's check).
    r.cmd(&["HSET", "ib", "f", "1"]);
    r.cmd(&["HINCRBY", "ib", &v65, "1"]);
    assert_eq!(r.cmd(&["OBJECT", "ENCODING", "ib"]), bulk("hashtable"));
    // CONFIG SET thresholds apply to later writes.
    assert_eq!(r.cmd(&["CONFIG", "SET", "hash-max-listpack-entries", "2"]), OK);
    assert_eq!(r.cmd(&["CONFIG", "SET", "hash-max-listpack-value", "4"]), OK);
    r.cmd(&["HSET", "c", "a", "1", "b", "2"]);
    assert_eq!(r.cmd(&["OBJECT", "ENCODING", "c"]), bulk("listpack"));
    r.cmd(&["HSET", "c", "c", "3"]);
    assert_eq!(r.cmd(&["OBJECT", "ENCODING", "c"]), bulk("hashtable"));
    r.cmd(&["HSET", "d", "a", "12345"]);
    assert_eq!(r.cmd(&["OBJECT", "ENCODING", "d"]), bulk("hashtable"));
    // More pairs in one HSET than the entry limit convert up front, even
    // when they repeat one field (hashTypeTryConversion).
    r.cmd(&["HSET", "dup", "a", "1", "a", "1", "a", "1"]);
    assert_eq!(r.cmd(&["HLEN", "dup"]), ":1\r\n");
    assert_eq!(r.cmd(&["OBJECT", "ENCODING", "dup"]), bulk("hashtable"));
    // The old alias name works too.
    assert_eq!(r.cmd(&["CONFIG", "SET", "hash-max-ziplist-entries", "0"]), OK);
    r.cmd(&["HSET", "z", "a", "1"]);
    assert_eq!(r.cmd(&["OBJECT", "ENCODING", "z"]), bulk("hashtable"));
    // Data survives conversion.
    assert_eq!(r.cmd(&["HGET", "v", "f"]), bulk(&v64));
    assert_eq!(r.cmd(&["HGET", "k", &v65]), bulk("1"));
    assert_eq!(r.cmd(&["HGET", "ib", &v65]), bulk("1"));
}

#[test]
fn dirty_and_keyspace_stats() {
    let srv = server();
    let mut r = srv.raw();
    let dirty = |r: &mut RawConn| -> i64 {
        let info = r.cmd(&["INFO", "persistence"]);
        let line = info
            .lines()
            .find(|l| l.starts_with("rdb_changes_since_last_save:"))
            .unwrap();
        line.split(':').nth(1).unwrap().trim().parse().unwrap()
    };
    let d0 = dirty(&mut r);
    r.cmd(&["HSET", "h", "a", "1", "b", "2", "a", "3"]);
    assert_eq!(dirty(&mut r) - d0, 3);
    r.cmd(&["HDEL", "h", "a", "zz"]);
    assert_eq!(dirty(&mut r) - d0, 4);
    r.cmd(&["HSETNX", "h", "b", "x"]);
    assert_eq!(dirty(&mut r) - d0, 4);
    r.cmd(&["HINCRBY", "h", "n", "1"]);
    r.cmd(&["HINCRBYFLOAT", "h", "n", "1"]);
    assert_eq!(dirty(&mut r) - d0, 6);
    r.cmd(&["HGET", "h", "a"]);
    assert_eq!(dirty(&mut r) - d0, 6);

    r.cmd(&["CONFIG", "RESETSTAT"]);
    r.cmd(&["HGET", "h", "b"]);
    r.cmd(&["HGET", "nokey", "b"]);
    r.cmd(&["HLEN", "nokey"]);
    let info = r.cmd(&["INFO", "stats"]);
    assert!(info.contains("keyspace_hits:1\r\n"), "{info}");
    assert!(info.contains("keyspace_misses:2\r\n"), "{info}");
}

#[test]
fn command_info_matches_redis() {
    let srv = server();
    let mut r = srv.raw();
    let Frame::Array(v) = frame(&mut r, &["COMMAND", "INFO", "hset", "hgetall", "hrandfield"]) else {
        panic!()
    };
    let Frame::Array(hset) = &v[0] else { panic!() };
    assert_eq!(hset[0], b("hset"));
    assert_eq!(hset[1], Frame::Integer(-4));
    assert_eq!(
        hset[2],
        Frame::Array(vec![
            Frame::Simple(b"write".to_vec()),
            Frame::Simple(b"denyoom".to_vec()),
            Frame::Simple(b"fast".to_vec())
        ])
    );
    assert_eq!(&hset[3..6], &[Frame::Integer(1), Frame::Integer(1), Frame::Integer(1)]);
    let Frame::Array(hgetall) = &v[1] else { panic!() };
    assert_eq!(hgetall[7], Frame::Array(vec![b("nondeterministic_output_order")]));
    let Frame::Array(hr) = &v[2] else { panic!() };
    assert_eq!(hr[2], Frame::Array(vec![Frame::Simple(b"readonly".to_vec())]));
}

#[test]
fn hashes_under_keyspace_commands() {
    let srv = server();
    let mut r = srv.raw();
    r.cmd(&["HSET", "h", "a", "1", "b", "2"]);
    assert_eq!(r.cmd(&["COPY", "h", "c"]), ":1\r\n");
    r.cmd(&["HSET", "c", "a", "changed"]);
    assert_eq!(r.cmd(&["HGET", "h", "a"]), bulk("1"), "COPY is deep");
    assert_eq!(r.cmd(&["HGET", "c", "a"]), bulk("changed"));
    assert_eq!(r.cmd(&["RENAME", "c", "d"]), OK);
    assert_eq!(r.cmd(&["HLEN", "d"]), ":2\r\n");
    assert_eq!(r.cmd(&["OBJECT", "ENCODING", "d"]), bulk("listpack"));
    // A converted hash copies as a hashtable.
    r.cmd(&["CONFIG", "SET", "hash-max-listpack-entries", "1"]);
    r.cmd(&["HSET", "d", "x", "y"]);
    assert_eq!(r.cmd(&["COPY", "d", "e"]), ":1\r\n");
    assert_eq!(r.cmd(&["OBJECT", "ENCODING", "e"]), bulk("hashtable"));
    assert_eq!(r.cmd(&["HGET", "e", "x"]), bulk("y"));
    // Writes keep the TTL; an expired hash reads as missing.
    assert_eq!(r.cmd(&["PEXPIRE", "h", "100000"]), ":1\r\n");
    r.cmd(&["HSET", "h", "z", "1"]);
    r.cmd(&["HDEL", "h", "z"]);
    let ttl = r.cmd(&["PTTL", "h"]);
    assert!(ttl.starts_with(':') && !ttl.starts_with(":-"), "{ttl}");
    assert_eq!(r.cmd(&["DEL", "h", "d", "e"]), ":3\r\n");
    assert_eq!(r.cmd(&["HGETALL", "h"]), "*0\r\n");
    // Binary-safe fields and values.
    let mut raw = srv.raw();
    raw.send(b"*4\r\n$4\r\nHSET\r\n$3\r\nbin\r\n$3\r\na\x00b\r\n$2\r\n\xff\r\r\n");
    assert_eq!(raw.read_replies(1), b":1\r\n");
    raw.send(b"*3\r\n$4\r\nHGET\r\n$3\r\nbin\r\n$3\r\na\x00b\r\n");
    assert_eq!(raw.read_replies(1), b"$2\r\n\xff\r\r\n");
}
