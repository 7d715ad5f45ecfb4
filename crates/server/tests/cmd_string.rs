#![allow(clippy::unwrap_used)]
//! String commands against Redis 7.2's replies and error strings, checked
//! byte for byte over raw RESP2 and RESP3, plus a few through the `redis`
//! crate. TTLs are checked with DEBUG ADVANCE-CLOCK, never by sleeping.

mod common;

use common::resp::bulk;

use common::{RawConn, TestServer};

fn server() -> TestServer {
    TestServer::start(&["--enable-debug-command", "yes"])
}

fn advance(r: &mut RawConn, ms: u64) {
    assert_eq!(r.cmd(&["DEBUG", "ADVANCE-CLOCK", &ms.to_string()]), "+OK\r\n");
}

const NIL: &str = "$-1\r\n";
const OK: &str = "+OK\r\n";
const SYNTAX: &str = "-ERR syntax error\r\n";
const NOT_INT: &str = "-ERR value is not an integer or out of range\r\n";
const NOT_FLOAT: &str = "-ERR value is not a valid float\r\n";

fn unix_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

#[test]
fn set_option_combinations() {
    let srv = server();
    let mut r = srv.raw();
    assert_eq!(r.cmd(&["SET", "k", "v", "NX", "XX"]), SYNTAX);
    assert_eq!(r.cmd(&["SET", "k", "v", "XX", "NX"]), SYNTAX);
    assert_eq!(r.cmd(&["SET", "k", "v", "EX", "10", "PX", "10"]), SYNTAX);
    assert_eq!(r.cmd(&["SET", "k", "v", "KEEPTTL", "EX", "10"]), SYNTAX);
    assert_eq!(r.cmd(&["SET", "k", "v", "EX", "10", "KEEPTTL"]), SYNTAX);
    assert_eq!(r.cmd(&["SET", "k", "v", "EX"]), SYNTAX);
    assert_eq!(r.cmd(&["SET", "k", "v", "PERSIST"]), SYNTAX);
    assert_eq!(r.cmd(&["SET", "k", "v", "FOO"]), SYNTAX);
    // The option syntax is checked before the time is parsed.
    assert_eq!(r.cmd(&["SET", "k", "v", "EX", "abc", "NX", "XX"]), SYNTAX);
    assert_eq!(r.cmd(&["SET", "k", "v", "EX", "abc"]), NOT_INT);
    for (opt, val) in [
        ("EX", "0"),
        ("EX", "-1"),
        ("PX", "0"),
        ("EXAT", "0"),
        ("PXAT", "-5"),
        ("PX", "9223372036854775807"),
        ("EX", "9223372036854775"),
    ] {
        assert_eq!(
            r.cmd(&["SET", "k", "v", opt, val]),
            "-ERR invalid expire time in 'set' command\r\n",
            "{opt} {val}"
        );
    }
    assert_eq!(r.cmd(&["GET", "k"]), NIL, "nothing was set by the errors");
    // Repeated options are accepted, as in Redis.
    assert_eq!(r.cmd(&["SET", "k", "v", "EX", "10", "EX", "20"]), OK);
    assert_eq!(r.cmd(&["SET", "k", "v", "KEEPTTL", "KEEPTTL"]), OK);
    assert_eq!(r.cmd(&["SET", "k", "v", "GET", "GET"]), bulk("v"));
    assert_eq!(r.cmd(&["SET", "k", "v2", "xx", "xx", "get"]), bulk("v"));
    assert_eq!(r.cmd(&["GET", "k"]), bulk("v2"));
    // NX and XX.
    assert_eq!(r.cmd(&["SET", "k", "v3", "NX"]), NIL);
    assert_eq!(r.cmd(&["GET", "k"]), bulk("v2"));
    assert_eq!(r.cmd(&["SET", "m", "v", "XX"]), NIL);
    assert_eq!(r.cmd(&["GET", "m"]), NIL);
    assert_eq!(r.cmd(&["SET", "m", "v", "NX"]), OK);
    // NX + GET is allowed since 7.0: the old value, set only if missing.
    assert_eq!(r.cmd(&["SET", "n", "1", "NX", "GET"]), NIL);
    assert_eq!(r.cmd(&["GET", "n"]), bulk("1"));
    assert_eq!(r.cmd(&["SET", "n", "2", "NX", "GET"]), bulk("1"));
    assert_eq!(r.cmd(&["GET", "n"]), bulk("1"));
    assert_eq!(r.cmd(&["SET", "x", "2", "XX", "GET"]), NIL);
    assert_eq!(r.cmd(&["GET", "x"]), NIL);
    // Integers round-trip.
    assert_eq!(r.cmd(&["SET", "i", "-9223372036854775808"]), OK);
    assert_eq!(r.cmd(&["GET", "i"]), bulk("-9223372036854775808"));
    assert_eq!(r.cmd(&["SET", "i", "007"]), OK);
    assert_eq!(r.cmd(&["GET", "i"]), bulk("007"));
}

#[test]
fn set_resp3_null_and_redis_crate() {
    let srv = server();
    let mut r = srv.raw3();
    assert_eq!(r.cmd(&["SET", "k", "v", "XX"]), "_\r\n");
    assert_eq!(r.cmd(&["SET", "k", "v", "GET"]), "_\r\n");
    assert_eq!(r.cmd(&["SET", "k", "w", "GET"]), bulk("v"));
    let mut c = srv.conn();
    let old: Option<String> = redis::cmd("SET").arg("k").arg("x").arg("GET").query(&mut c).unwrap();
    assert_eq!(old.as_deref(), Some("w"));
    let err = redis::cmd("SET")
        .arg("k")
        .arg("x")
        .arg("EX")
        .arg(0)
        .query::<()>(&mut c)
        .unwrap_err();
    assert!(
        err.to_string().contains("invalid expire time in 'set' command"),
        "{err}"
    );
}

#[test]
fn set_expiry_options() {
    let srv = server();
    let mut r = srv.raw();
    assert_eq!(r.cmd(&["SET", "ex", "v", "EX", "10"]), OK);
    assert_eq!(r.cmd(&["SET", "px", "v", "PX", "10000"]), OK);
    let at = unix_secs() + 100;
    assert_eq!(r.cmd(&["SET", "exat", "v", "EXAT", &at.to_string()]), OK);
    assert_eq!(r.cmd(&["SET", "pxat", "v", "PXAT", &(at * 1000).to_string()]), OK);
    assert_eq!(r.cmd(&["SET", "keep", "v", "EX", "10"]), OK);
    assert_eq!(r.cmd(&["SET", "keep", "v2", "KEEPTTL"]), OK);
    assert_eq!(r.cmd(&["SET", "clear", "v", "EX", "10"]), OK);
    assert_eq!(r.cmd(&["SET", "clear", "v2"]), OK);
    advance(&mut r, 9_000);
    for k in ["ex", "px", "keep", "clear"] {
        assert_ne!(r.cmd(&["GET", k]), NIL, "{k}");
    }
    advance(&mut r, 1_500);
    assert_eq!(r.cmd(&["GET", "ex"]), NIL);
    assert_eq!(r.cmd(&["GET", "px"]), NIL);
    assert_eq!(r.cmd(&["GET", "keep"]), NIL, "KEEPTTL kept the old TTL");
    assert_eq!(r.cmd(&["GET", "clear"]), bulk("v2"), "a plain SET clears the TTL");
    assert_eq!(r.cmd(&["GET", "exat"]), bulk("v"));
    advance(&mut r, 100_000);
    assert_eq!(r.cmd(&["GET", "exat"]), NIL);
    assert_eq!(r.cmd(&["GET", "pxat"]), NIL);
    // A deadline already past: the key does not survive.
    assert_eq!(r.cmd(&["SET", "past", "v", "PXAT", "1"]), OK);
    assert_eq!(r.cmd(&["GET", "past"]), NIL);
    assert_eq!(r.cmd(&["SET", "past", "v"]), OK);
    assert_eq!(r.cmd(&["SET", "past", "w", "EXAT", "1", "GET"]), bulk("v"));
    assert_eq!(r.cmd(&["GET", "past"]), NIL);
}

#[test]
fn setnx_setex_psetex_getset() {
    let srv = server();
    let mut r = srv.raw();
    assert_eq!(r.cmd(&["SETNX", "k", "1"]), ":1\r\n");
    assert_eq!(r.cmd(&["SETNX", "k", "2"]), ":0\r\n");
    assert_eq!(r.cmd(&["GET", "k"]), bulk("1"));
    assert_eq!(
        r.cmd(&["SETNX", "k"]),
        "-ERR wrong number of arguments for 'setnx' command\r\n"
    );

    assert_eq!(r.cmd(&["SETEX", "e", "10", "v"]), OK);
    assert_eq!(r.cmd(&["PSETEX", "p", "500", "v"]), OK);
    for (cmd, t) in [
        ("SETEX", "0"),
        ("SETEX", "-5"),
        ("PSETEX", "0"),
        ("SETEX", "9223372036854775807"),
    ] {
        let name = cmd.to_ascii_lowercase();
        assert_eq!(
            r.cmd(&[cmd, "bad", t, "v"]),
            format!("-ERR invalid expire time in '{name}' command\r\n")
        );
    }
    assert_eq!(r.cmd(&["SETEX", "bad", "abc", "v"]), NOT_INT);
    assert_eq!(r.cmd(&["GET", "bad"]), NIL);
    assert_eq!(
        r.cmd(&["SETEX", "e", "10"]),
        "-ERR wrong number of arguments for 'setex' command\r\n"
    );
    advance(&mut r, 600);
    assert_eq!(r.cmd(&["GET", "p"]), NIL);
    assert_eq!(r.cmd(&["GET", "e"]), bulk("v"));

    // GETSET returns the old value and clears the TTL.
    assert_eq!(r.cmd(&["GETSET", "e", "w"]), bulk("v"));
    assert_eq!(r.cmd(&["GETSET", "none", "x"]), NIL);
    assert_eq!(r.cmd(&["GET", "none"]), bulk("x"));
    advance(&mut r, 20_000);
    assert_eq!(r.cmd(&["GET", "e"]), bulk("w"));
}

#[test]
fn getdel_and_getex() {
    let srv = server();
    let mut r = srv.raw();
    assert_eq!(r.cmd(&["SET", "k", "v"]), OK);
    assert_eq!(r.cmd(&["GETDEL", "k"]), bulk("v"));
    assert_eq!(r.cmd(&["GETDEL", "k"]), NIL);
    assert_eq!(r.cmd(&["EXISTS", "k"]), ":0\r\n");

    assert_eq!(r.cmd(&["GETEX", "nokey"]), NIL);
    // A missing key answers null before the time is even parsed.
    assert_eq!(r.cmd(&["GETEX", "nokey", "EX", "abc"]), NIL);
    assert_eq!(r.cmd(&["GETEX", "nokey", "EX", "0"]), NIL);
    // ... but not before the syntax is checked.
    assert_eq!(r.cmd(&["GETEX", "nokey", "FOO"]), SYNTAX);
    assert_eq!(r.cmd(&["SET", "k", "v"]), OK);
    assert_eq!(r.cmd(&["GETEX", "k"]), bulk("v"));
    for args in [
        &["GETEX", "k", "EX", "10", "PX", "10"][..],
        &["GETEX", "k", "PERSIST", "EX", "10"],
        &["GETEX", "k", "EX", "10", "PERSIST"],
        &["GETEX", "k", "NX"],
        &["GETEX", "k", "KEEPTTL"],
        &["GETEX", "k", "GET"],
        &["GETEX", "k", "EX"],
    ] {
        assert_eq!(r.cmd(args), SYNTAX, "{args:?}");
    }
    for (opt, val) in [
        ("EX", "0"),
        ("PX", "-1"),
        ("EX", "9223372036854775807"),
        ("PX", "9223372036854775807"),
        ("EXAT", "0"),
    ] {
        assert_eq!(
            r.cmd(&["GETEX", "k", opt, val]),
            "-ERR invalid expire time in 'getex' command\r\n"
        );
    }
    assert_eq!(r.cmd(&["GETEX", "k", "EX", "x"]), NOT_INT);
    assert_eq!(r.cmd(&["GETEX", "k", "PERSIST", "PERSIST"]), bulk("v"));

    // EX then PERSIST: the key survives past the old deadline.
    assert_eq!(r.cmd(&["GETEX", "k", "EX", "10"]), bulk("v"));
    assert_eq!(r.cmd(&["GETEX", "k", "persist"]), bulk("v"));
    advance(&mut r, 11_000);
    assert_eq!(r.cmd(&["GET", "k"]), bulk("v"));
    // PX expires it.
    assert_eq!(r.cmd(&["GETEX", "k", "PX", "100"]), bulk("v"));
    advance(&mut r, 50);
    assert_eq!(r.cmd(&["GET", "k"]), bulk("v"));
    advance(&mut r, 60);
    assert_eq!(r.cmd(&["GET", "k"]), NIL);
    // EXAT / PXAT in the future, and in the past (deletes at once).
    assert_eq!(r.cmd(&["SET", "k", "v"]), OK);
    let at = unix_secs() + 1_000;
    assert_eq!(r.cmd(&["GETEX", "k", "EXAT", &at.to_string()]), bulk("v"));
    assert_eq!(
        r.cmd(&["GETEX", "k", "PXAT", &(at * 1000 + 500_000).to_string()]),
        bulk("v")
    );
    advance(&mut r, 1_100_000);
    assert_eq!(r.cmd(&["GET", "k"]), bulk("v"), "the PXAT deadline replaced EXAT's");
    advance(&mut r, 500_000);
    assert_eq!(r.cmd(&["GET", "k"]), NIL);
    assert_eq!(r.cmd(&["SET", "k", "v"]), OK);
    assert_eq!(r.cmd(&["GETEX", "k", "EXAT", "1"]), bulk("v"));
    assert_eq!(r.cmd(&["EXISTS", "k"]), ":0\r\n");
    assert_eq!(
        r.cmd(&["GETEX"]),
        "-ERR wrong number of arguments for 'getex' command\r\n"
    );

    let mut r3 = srv.raw3();
    assert_eq!(r3.cmd(&["GETEX", "nokey", "PERSIST"]), "_\r\n");
    assert_eq!(r3.cmd(&["GETDEL", "nokey"]), "_\r\n");
}

#[test]
fn mget_mset_msetnx() {
    let srv = server();
    let mut r = srv.raw();
    assert_eq!(
        r.cmd(&["MSET", "a"]),
        "-ERR wrong number of arguments for 'mset' command\r\n"
    );
    assert_eq!(
        r.cmd(&["MSET", "a", "1", "b"]),
        "-ERR wrong number of arguments for 'mset' command\r\n"
    );
    assert_eq!(
        r.cmd(&["MSETNX", "a", "1", "b"]),
        "-ERR wrong number of arguments for 'msetnx' command\r\n"
    );
    assert_eq!(
        r.cmd(&["MGET"]),
        "-ERR wrong number of arguments for 'mget' command\r\n"
    );
    assert_eq!(r.cmd(&["MSET", "a", "1", "b", "2", "a", "3"]), OK);
    assert_eq!(
        r.cmd(&["MGET", "a", "nokey", "b"]),
        "*3\r\n$1\r\n3\r\n$-1\r\n$1\r\n2\r\n"
    );
    // MSETNX sets nothing if any key exists.
    assert_eq!(r.cmd(&["MSETNX", "c", "1", "a", "9"]), ":0\r\n");
    assert_eq!(r.cmd(&["MGET", "c", "a"]), "*2\r\n$-1\r\n$1\r\n3\r\n");
    assert_eq!(r.cmd(&["MSETNX", "c", "1", "d", "2"]), ":1\r\n");
    assert_eq!(r.cmd(&["MGET", "c", "d"]), "*2\r\n$1\r\n1\r\n$1\r\n2\r\n");
    // MSET clears TTLs.
    assert_eq!(r.cmd(&["SET", "t", "v", "EX", "1"]), OK);
    assert_eq!(r.cmd(&["MSET", "t", "w"]), OK);
    advance(&mut r, 2_000);
    assert_eq!(r.cmd(&["GET", "t"]), bulk("w"));

    // Many keys across shards, atomically, through the redis crate.
    let mut c = srv.conn();
    let mut cmd = redis::cmd("MSET");
    for i in 0..200 {
        cmd.arg(format!("key:{i}")).arg(i);
    }
    let () = cmd.query(&mut c).unwrap();
    let mut get = redis::cmd("MGET");
    for i in 0..200 {
        get.arg(format!("key:{i}"));
    }
    get.arg("missing");
    let vals: Vec<Option<i64>> = get.query(&mut c).unwrap();
    assert_eq!(vals.len(), 201);
    for (i, v) in vals.iter().take(200).enumerate() {
        assert_eq!(*v, Some(i as i64));
    }
    assert_eq!(vals[200], None);

    let mut r3 = srv.raw3();
    assert_eq!(r3.cmd(&["MGET", "a", "nokey"]), "*2\r\n$1\r\n3\r\n_\r\n");
}

#[test]
fn append_strlen_getrange_setrange() {
    let srv = server();
    let mut r = srv.raw();
    assert_eq!(r.cmd(&["APPEND", "s", "Hello"]), ":5\r\n");
    assert_eq!(r.cmd(&["APPEND", "s", " World"]), ":11\r\n");
    assert_eq!(r.cmd(&["GET", "s"]), bulk("Hello World"));
    assert_eq!(r.cmd(&["STRLEN", "s"]), ":11\r\n");
    assert_eq!(r.cmd(&["STRLEN", "nokey"]), ":0\r\n");
    assert_eq!(r.cmd(&["SET", "n", "12"]), OK);
    assert_eq!(r.cmd(&["STRLEN", "n"]), ":2\r\n");
    assert_eq!(r.cmd(&["APPEND", "n", "3"]), ":3\r\n");
    assert_eq!(r.cmd(&["INCR", "n"]), ":124\r\n");
    assert_eq!(r.cmd(&["APPEND", "n", ""]), ":3\r\n");

    assert_eq!(r.cmd(&["SET", "h", "Hello"]), OK);
    for (s, e, want) in [
        ("0", "-1", "Hello"),
        ("-3", "-1", "llo"),
        ("-1", "-3", ""),
        ("5", "10", ""),
        ("4", "10", "o"),
        ("3", "1", ""),
        ("-100", "1", "He"),
        ("0", "0", "H"),
        ("-9223372036854775808", "9223372036854775807", "Hello"),
    ] {
        assert_eq!(r.cmd(&["GETRANGE", "h", s, e]), bulk(want), "{s} {e}");
        assert_eq!(r.cmd(&["SUBSTR", "h", s, e]), bulk(want), "{s} {e}");
    }
    assert_eq!(r.cmd(&["GETRANGE", "nokey", "0", "-1"]), bulk(""));
    assert_eq!(r.cmd(&["GETRANGE", "h", "x", "1"]), NOT_INT);
    assert_eq!(r.cmd(&["GETRANGE", "h", "0", "1.5"]), NOT_INT);
    assert_eq!(r.cmd(&["SET", "num", "-12345"]), OK);
    assert_eq!(r.cmd(&["GETRANGE", "num", "1", "2"]), bulk("12"));

    assert_eq!(r.cmd(&["SETRANGE", "h", "-1", "x"]), "-ERR offset is out of range\r\n");
    assert_eq!(r.cmd(&["SETRANGE", "h", "abc", "x"]), NOT_INT);
    assert_eq!(
        r.cmd(&["SETRANGE", "h", "536870912", "x"]),
        "-ERR string exceeds maximum allowed size (proto-max-bulk-len)\r\n"
    );
    assert_eq!(
        r.cmd(&["SETRANGE", "h", "9223372036854775807", "x"]),
        "-ERR string exceeds maximum allowed size (proto-max-bulk-len)\r\n"
    );
    assert_eq!(r.cmd(&["SETRANGE", "h", "1", "EY"]), ":5\r\n");
    assert_eq!(r.cmd(&["GET", "h"]), bulk("HEYlo"));
    assert_eq!(r.cmd(&["SETRANGE", "h", "7", "!"]), ":8\r\n");
    assert_eq!(r.cmd(&["GET", "h"]), "$8\r\nHEYlo\0\0!\r\n");
    assert_eq!(r.cmd(&["SETRANGE", "h", "100", ""]), ":8\r\n");
    assert_eq!(r.cmd(&["SETRANGE", "new", "3", "ab"]), ":5\r\n");
    assert_eq!(r.cmd(&["GET", "new"]), "$5\r\n\0\0\0ab\r\n");
    assert_eq!(r.cmd(&["SETRANGE", "empty", "3", ""]), ":0\r\n");
    assert_eq!(r.cmd(&["EXISTS", "empty"]), ":0\r\n");
    assert_eq!(r.cmd(&["SET", "i", "1234"]), OK);
    assert_eq!(r.cmd(&["SETRANGE", "i", "0", "9"]), ":4\r\n");
    assert_eq!(r.cmd(&["INCR", "i"]), ":9235\r\n");

    // APPEND and SETRANGE keep the TTL.
    assert_eq!(r.cmd(&["SET", "t", "a", "EX", "5"]), OK);
    assert_eq!(r.cmd(&["APPEND", "t", "b"]), ":2\r\n");
    assert_eq!(r.cmd(&["SETRANGE", "t", "2", "c"]), ":3\r\n");
    advance(&mut r, 4_000);
    assert_eq!(r.cmd(&["GET", "t"]), bulk("abc"));
    advance(&mut r, 1_500);
    assert_eq!(r.cmd(&["GET", "t"]), NIL);
}

#[test]
fn append_limit_follows_proto_max_bulk_len() {
    let srv = TestServer::start(&["--proto-max-bulk-len", "1mb"]);
    let mut r = srv.raw();
    let big = "x".repeat(1024 * 1024 - 1);
    assert_eq!(r.cmd(&["SET", "k", &big]), OK);
    assert_eq!(r.cmd(&["APPEND", "k", "y"]), format!(":{}\r\n", 1024 * 1024));
    assert_eq!(
        r.cmd(&["APPEND", "k", "z"]),
        "-ERR string exceeds maximum allowed size (proto-max-bulk-len)\r\n"
    );
    assert_eq!(r.cmd(&["STRLEN", "k"]), format!(":{}\r\n", 1024 * 1024));
    assert_eq!(
        r.cmd(&["SETRANGE", "k", "1048576", "z"]),
        "-ERR string exceeds maximum allowed size (proto-max-bulk-len)\r\n"
    );
    assert_eq!(
        r.cmd(&["SETRANGE", "k", "1048575", "z"]),
        format!(":{}\r\n", 1024 * 1024)
    );
    // LCS's table would need more than proto-max-bulk-len bytes.
    let s = "a".repeat(600);
    assert_eq!(r.cmd(&["SET", "a", &s]), OK);
    assert_eq!(r.cmd(&["SET", "b", &s]), OK);
    assert_eq!(
        r.cmd(&["LCS", "a", "b", "LEN"]),
        "-ERR Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len\r\n"
    );
}

#[test]
fn incr_decr_family() {
    let srv = server();
    let mut r = srv.raw();
    assert_eq!(r.cmd(&["INCR", "n"]), ":1\r\n");
    assert_eq!(r.cmd(&["INCRBY", "n", "10"]), ":11\r\n");
    assert_eq!(r.cmd(&["DECR", "n"]), ":10\r\n");
    assert_eq!(r.cmd(&["DECRBY", "n", "20"]), ":-10\r\n");
    assert_eq!(r.cmd(&["DECR", "m"]), ":-1\r\n");
    assert_eq!(r.cmd(&["DECRBY", "o", "-5"]), ":5\r\n");
    assert_eq!(r.cmd(&["GET", "n"]), bulk("-10"));

    assert_eq!(r.cmd(&["INCRBY", "n", "x"]), NOT_INT);
    assert_eq!(r.cmd(&["INCRBY", "n", "9223372036854775808"]), NOT_INT);
    assert_eq!(r.cmd(&["DECRBY", "n", "1.5"]), NOT_INT);
    assert_eq!(
        r.cmd(&["DECRBY", "n", "-9223372036854775808"]),
        "-ERR decrement would overflow\r\n"
    );
    for v in ["7.0", "abc", "", " 1", "01", "+1", "9223372036854775808"] {
        assert_eq!(r.cmd(&["SET", "s", v]), OK);
        assert_eq!(r.cmd(&["INCR", "s"]), NOT_INT, "{v:?}");
        assert_eq!(r.cmd(&["GET", "s"]), bulk(v));
    }
    assert_eq!(r.cmd(&["SET", "max", "9223372036854775807"]), OK);
    assert_eq!(
        r.cmd(&["INCR", "max"]),
        "-ERR increment or decrement would overflow\r\n"
    );
    assert_eq!(r.cmd(&["INCRBY", "max", "-1"]), ":9223372036854775806\r\n");
    assert_eq!(r.cmd(&["SET", "min", "-9223372036854775808"]), OK);
    assert_eq!(
        r.cmd(&["DECR", "min"]),
        "-ERR increment or decrement would overflow\r\n"
    );
    assert_eq!(
        r.cmd(&["INCRBY", "min", "-1"]),
        "-ERR increment or decrement would overflow\r\n"
    );
    assert_eq!(r.cmd(&["INCRBY", "min", "9223372036854775807"]), ":-1\r\n");
    assert_eq!(
        r.cmd(&["INCR"]),
        "-ERR wrong number of arguments for 'incr' command\r\n"
    );

    // INCR keeps the TTL.
    assert_eq!(r.cmd(&["SET", "t", "1", "PX", "1000"]), OK);
    assert_eq!(r.cmd(&["INCR", "t"]), ":2\r\n");
    advance(&mut r, 1_001);
    assert_eq!(r.cmd(&["GET", "t"]), NIL);

    let mut c = srv.conn();
    let v: i64 = redis::cmd("INCRBY").arg("rc").arg(41).query(&mut c).unwrap();
    assert_eq!(v, 41);
    let v: i64 = redis::cmd("INCR").arg("rc").query(&mut c).unwrap();
    assert_eq!(v, 42);
}

#[test]
fn incrbyfloat_long_double_formatting() {
    let srv = server();
    let mut r = srv.raw();
    assert_eq!(r.cmd(&["SET", "f", "10.5"]), OK);
    assert_eq!(r.cmd(&["INCRBYFLOAT", "f", "0.1"]), bulk("10.6"));
    assert_eq!(r.cmd(&["GET", "f"]), bulk("10.6"));
    assert_eq!(r.cmd(&["SET", "f", "3.0e3"]), OK);
    assert_eq!(r.cmd(&["INCRBYFLOAT", "f", "0"]), bulk("3000"));
    assert_eq!(r.cmd(&["SET", "f", "5.0e3"]), OK);
    assert_eq!(r.cmd(&["INCRBYFLOAT", "f", "2.0e2"]), bulk("5200"));
    assert_eq!(r.cmd(&["SET", "g", "1e10"]), OK);
    assert_eq!(
        r.cmd(&["INCRBYFLOAT", "g", "0.1"]),
        bulk("10000000000.09999999962747097")
    );
    assert_eq!(r.cmd(&["INCRBYFLOAT", "h", "0x10"]), bulk("16"));
    assert_eq!(r.cmd(&["INCRBYFLOAT", "h", "1.5e-20"]), bulk("16"));
    assert_eq!(r.cmd(&["INCRBYFLOAT", "h", "-16.25"]), bulk("-0.25"));
    assert_eq!(r.cmd(&["INCRBYFLOAT", "z", "-0.0"]), bulk("0"));
    assert_eq!(r.cmd(&["INCRBYFLOAT", "tiny", "1e-4950"]), bulk("0"));
    assert_eq!(r.cmd(&["SET", "i", "5"]), OK);
    assert_eq!(r.cmd(&["INCRBYFLOAT", "i", "1.5"]), bulk("6.5"));
    assert_eq!(r.cmd(&["SET", "i", "12"]), OK);
    assert_eq!(r.cmd(&["APPEND", "i", "3"]), ":3\r\n");
    assert_eq!(r.cmd(&["INCRBYFLOAT", "i", "1"]), bulk("124"));
    // The result is a plain string again: INCR can use it.
    assert_eq!(r.cmd(&["INCR", "i"]), ":125\r\n");

    assert_eq!(
        r.cmd(&["INCRBYFLOAT", "h", "inf"]),
        "-ERR increment would produce NaN or Infinity\r\n"
    );
    let top = r.cmd(&["INCRBYFLOAT", "hh", "1e4932"]);
    assert!(
        top.starts_with("$4933\r\n1000000000000000000006018949387963891323837774254533"),
        "{}",
        &top[..60]
    );
    assert_eq!(
        r.cmd(&["INCRBYFLOAT", "hh", "1e4932"]),
        "-ERR increment would produce NaN or Infinity\r\n"
    );
    for bad in ["1.2e4932", "1e-5000", "abc", "nan", "", " 1", "1 ", "1e", "0x", "1.5x"] {
        assert_eq!(r.cmd(&["INCRBYFLOAT", "h", bad]), NOT_FLOAT, "{bad:?}");
    }
    assert_eq!(r.cmd(&["GET", "h"]), bulk("-0.25"));
    assert_eq!(r.cmd(&["SET", "s", "abc"]), OK);
    assert_eq!(r.cmd(&["INCRBYFLOAT", "s", "1"]), NOT_FLOAT);
    assert_eq!(r.cmd(&["SET", "s", "inf"]), OK);
    assert_eq!(
        r.cmd(&["INCRBYFLOAT", "s", "1"]),
        "-ERR increment would produce NaN or Infinity\r\n"
    );

    // The TTL is kept.
    assert_eq!(r.cmd(&["SET", "t", "1.5", "EX", "1"]), OK);
    assert_eq!(r.cmd(&["INCRBYFLOAT", "t", "1"]), bulk("2.5"));
    advance(&mut r, 1_001);
    assert_eq!(r.cmd(&["GET", "t"]), NIL);

    // A bulk string in RESP3 too, not a double.
    let mut r3 = srv.raw3();
    assert_eq!(r3.cmd(&["INCRBYFLOAT", "d", "1.25"]), bulk("1.25"));
}

#[test]
fn lcs_replies() {
    let srv = server();
    let mut r = srv.raw();
    assert_eq!(r.cmd(&["MSET", "k1", "ohmytext", "k2", "mynewtext"]), OK);
    assert_eq!(r.cmd(&["LCS", "k1", "k2"]), bulk("mytext"));
    assert_eq!(r.cmd(&["LCS", "k1", "k2", "LEN"]), ":6\r\n");
    let idx = "*4\r\n$7\r\nmatches\r\n*2\r\n*2\r\n*2\r\n:4\r\n:7\r\n*2\r\n:5\r\n:8\r\n*2\r\n*2\r\n:2\r\n:3\r\n*2\r\n:0\r\n:1\r\n$3\r\nlen\r\n:6\r\n";
    assert_eq!(r.cmd(&["LCS", "k1", "k2", "IDX"]), idx);
    assert_eq!(
        r.cmd(&["LCS", "k1", "k2", "IDX", "MINMATCHLEN", "4", "WITHMATCHLEN"]),
        "*4\r\n$7\r\nmatches\r\n*1\r\n*3\r\n*2\r\n:4\r\n:7\r\n*2\r\n:5\r\n:8\r\n:4\r\n$3\r\nlen\r\n:6\r\n"
    );
    assert_eq!(
        r.cmd(&["LCS", "k1", "k2", "idx", "minmatchlen", "-3", "withmatchlen"]),
        "*4\r\n$7\r\nmatches\r\n*2\r\n*3\r\n*2\r\n:4\r\n:7\r\n*2\r\n:5\r\n:8\r\n:4\r\n*3\r\n*2\r\n:2\r\n:3\r\n*2\r\n:0\r\n:1\r\n:2\r\n$3\r\nlen\r\n:6\r\n"
    );
    assert_eq!(r.cmd(&["LCS", "k1", "nokey"]), bulk(""));
    assert_eq!(r.cmd(&["LCS", "k1", "nokey", "LEN"]), ":0\r\n");
    assert_eq!(
        r.cmd(&["LCS", "k1", "nokey", "IDX"]),
        "*4\r\n$7\r\nmatches\r\n*0\r\n$3\r\nlen\r\n:0\r\n"
    );
    assert_eq!(
        r.cmd(&["LCS", "k1", "k2", "IDX", "LEN"]),
        "-ERR If you want both the length and indexes, please just use IDX.\r\n"
    );
    assert_eq!(r.cmd(&["LCS", "k1", "k2", "MINMATCHLEN"]), SYNTAX);
    assert_eq!(r.cmd(&["LCS", "k1", "k2", "MINMATCHLEN", "x"]), NOT_INT);
    assert_eq!(r.cmd(&["LCS", "k1", "k2", "FOO"]), SYNTAX);
    assert_eq!(
        r.cmd(&["LCS", "k1"]),
        "-ERR wrong number of arguments for 'lcs' command\r\n"
    );
    // Integers are compared as their decimal text.
    assert_eq!(r.cmd(&["MSET", "i1", "12345", "i2", "2345"]), OK);
    assert_eq!(r.cmd(&["LCS", "i1", "i2"]), bulk("2345"));

    let mut r3 = srv.raw3();
    assert_eq!(
        r3.cmd(&["LCS", "k1", "k2", "IDX", "WITHMATCHLEN"]),
        "%2\r\n$7\r\nmatches\r\n*2\r\n*3\r\n*2\r\n:4\r\n:7\r\n*2\r\n:5\r\n:8\r\n:4\r\n*3\r\n*2\r\n:2\r\n:3\r\n*2\r\n:0\r\n:1\r\n:2\r\n$3\r\nlen\r\n:6\r\n"
    );
    assert_eq!(r3.cmd(&["LCS", "k1", "k2"]), bulk("mytext"));

    let mut c = srv.conn();
    let s: String = redis::cmd("LCS").arg("k1").arg("k2").query(&mut c).unwrap();
    assert_eq!(s, "mytext");
}

#[test]
fn raw_resp_binary_values() {
    let srv = server();
    let mut r = srv.raw();
    r.send(b"*3\r\n$3\r\nSET\r\n$3\r\nb\0k\r\n$4\r\n\r\n\0\xff\r\n");
    assert_eq!(r.read_replies(1), b"+OK\r\n");
    r.send(b"*3\r\n$6\r\nAPPEND\r\n$3\r\nb\0k\r\n$1\r\n\x01\r\n");
    assert_eq!(r.read_replies(1), b":5\r\n");
    r.send(b"*2\r\n$3\r\nGET\r\n$3\r\nb\0k\r\n");
    assert_eq!(r.read_replies(1), b"$5\r\n\r\n\0\xff\x01\r\n");
    r.send(b"*4\r\n$8\r\nGETRANGE\r\n$3\r\nb\0k\r\n$1\r\n2\r\n$2\r\n-1\r\n");
    assert_eq!(r.read_replies(1), b"$3\r\n\0\xff\x01\r\n");
}

/// Values around the inline limit (22 bytes) and Redis's embstr limit (44),
/// and TTLs added, changed and removed on keys short and long (the entry
/// block is resized each time).
#[test]
fn inline_boundaries_and_ttl_changes() {
    let srv = server();
    let mut r = srv.raw();
    for (n, enc) in [
        (1, "embstr"),
        (22, "embstr"),
        (23, "embstr"),
        (44, "embstr"),
        (45, "raw"),
        (300, "raw"),
    ] {
        let v = "x".repeat(n);
        let k = format!("k{n}");
        assert_eq!(r.cmd(&["SET", &k, &v]), OK);
        assert_eq!(r.cmd(&["GET", &k]), bulk(&v));
        assert_eq!(r.cmd(&["OBJECT", "ENCODING", &k]), bulk(enc));
        assert_eq!(r.cmd(&["STRLEN", &k]), format!(":{n}\r\n"));
        assert_eq!(r.cmd(&["APPEND", &k, "y"]), format!(":{}\r\n", n + 1));
        assert_eq!(r.cmd(&["OBJECT", "ENCODING", &k]), bulk("raw"));
        assert_eq!(r.cmd(&["GET", &k]), bulk(&format!("{v}y")));
    }
    let long_key = "K".repeat(1000);
    for k in ["a", long_key.as_str()] {
        assert_eq!(r.cmd(&["SET", k, "v"]), OK);
        assert_eq!(r.cmd(&["TTL", k]), ":-1\r\n");
        assert_eq!(r.cmd(&["EXPIRE", k, "100"]), ":1\r\n");
        assert_eq!(r.cmd(&["TTL", k]), ":100\r\n");
        // A deadline beyond 2^48 ms takes the wide form.
        assert_eq!(r.cmd(&["PEXPIREAT", k, "900000000000000000"]), ":1\r\n");
        assert_eq!(r.cmd(&["PEXPIRETIME", k]), ":900000000000000000\r\n");
        assert_eq!(r.cmd(&["SET", k, "w", "KEEPTTL"]), OK);
        assert_eq!(r.cmd(&["PEXPIRETIME", k]), ":900000000000000000\r\n");
        assert_eq!(r.cmd(&["PERSIST", k]), ":1\r\n");
        assert_eq!(r.cmd(&["TTL", k]), ":-1\r\n");
        assert_eq!(r.cmd(&["SET", k, "z", "PX", "50"]), OK);
        assert_eq!(r.cmd(&["RENAME", k, "renamed"]), OK);
        assert_eq!(r.cmd(&["GET", "renamed"]), bulk("z"));
        advance(&mut r, 60);
        assert_eq!(r.cmd(&["GET", "renamed"]), NIL);
        assert_eq!(r.cmd(&["EXISTS", k]), ":0\r\n");
    }
    assert_eq!(r.cmd(&["DBSIZE"]), ":6\r\n");
}
