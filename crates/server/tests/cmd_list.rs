#![allow(clippy::unwrap_used)]
//! List commands against Redis 7.2's replies and error strings, byte for
//! byte over raw RESP2 and RESP3, and the listpack/quicklist encodings.
//! (Blocking across connections is in `blocking.rs`.)

mod common;

use common::resp::{arr, bulk, int};

use common::{RawConn, TestServer};

fn server() -> TestServer {
    TestServer::start(&["--enable-debug-command", "yes"])
}

const NIL: &str = "$-1\r\n";
const NIL_ARRAY: &str = "*-1\r\n";
const EMPTY: &str = "*0\r\n";
const OK: &str = "+OK\r\n";
const SYNTAX: &str = "-ERR syntax error\r\n";
const NOT_INT: &str = "-ERR value is not an integer or out of range\r\n";
const WRONGTYPE: &str = "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n";

fn err(msg: &str) -> String {
    format!("-ERR {msg}\r\n")
}

#[test]
fn push_and_range() {
    let srv = server();
    let mut r = srv.raw();
    assert_eq!(r.cmd(&["LPUSH", "l", "a", "b", "c"]), int(3));
    assert_eq!(r.cmd(&["RPUSH", "l", "d", "e"]), int(5));
    assert_eq!(r.cmd(&["LRANGE", "l", "0", "-1"]), arr(&["c", "b", "a", "d", "e"]));
    assert_eq!(r.cmd(&["LRANGE", "l", "1", "2"]), arr(&["b", "a"]));
    assert_eq!(r.cmd(&["LRANGE", "l", "-2", "100"]), arr(&["d", "e"]));
    assert_eq!(r.cmd(&["LRANGE", "l", "-100", "0"]), arr(&["c"]));
    assert_eq!(r.cmd(&["LRANGE", "l", "3", "1"]), EMPTY);
    assert_eq!(r.cmd(&["LRANGE", "l", "5", "10"]), EMPTY);
    assert_eq!(r.cmd(&["LRANGE", "l", "0", "-6"]), EMPTY);
    assert_eq!(r.cmd(&["LRANGE", "nokey", "0", "-1"]), EMPTY);
    assert_eq!(r.cmd(&["LRANGE", "l", "x", "1"]), NOT_INT);
    assert_eq!(r.cmd(&["LRANGE", "nokey", "0", "x"]), NOT_INT);
    assert_eq!(r.cmd(&["LLEN", "l"]), int(5));
    assert_eq!(r.cmd(&["LLEN", "nokey"]), int(0));
    assert_eq!(r.cmd(&["TYPE", "l"]), "+list\r\n");
    // PUSHX only on existing lists.
    assert_eq!(r.cmd(&["LPUSHX", "nokey", "a"]), int(0));
    assert_eq!(r.cmd(&["RPUSHX", "nokey", "a", "b"]), int(0));
    assert_eq!(r.cmd(&["EXISTS", "nokey"]), int(0));
    assert_eq!(r.cmd(&["LPUSHX", "l", "x", "y"]), int(7));
    assert_eq!(r.cmd(&["RPUSHX", "l", "z"]), int(8));
    assert_eq!(r.cmd(&["LRANGE", "l", "0", "1"]), arr(&["y", "x"]));
    assert_eq!(r.cmd(&["LINDEX", "l", "-1"]), bulk("z"));
    // Binary-safe elements.
    r.send(b"*3\r\n$5\r\nRPUSH\r\n$1\r\nb\r\n$3\r\n\x00\r\n\r\n");
    assert_eq!(r.read_replies(1), b":1\r\n");
    assert_eq!(r.cmd(&["LINDEX", "b", "0"]).as_bytes(), b"$3\r\n\x00\r\n\r\n");
    // Arity.
    assert_eq!(
        r.cmd(&["LPUSH", "l"]),
        "-ERR wrong number of arguments for 'lpush' command\r\n"
    );
}

#[test]
fn wrongtype_everywhere() {
    let srv = server();
    let mut r = srv.raw();
    assert_eq!(r.cmd(&["SET", "s", "x"]), OK);
    assert_eq!(r.cmd(&["RPUSH", "l", "a"]), int(1));
    for c in [
        vec!["LPUSH", "s", "a"],
        vec!["RPUSH", "s", "a"],
        vec!["LPUSHX", "s", "a"],
        vec!["RPUSHX", "s", "a"],
        vec!["LPOP", "s"],
        vec!["RPOP", "s", "2"],
        vec!["LRANGE", "s", "0", "-1"],
        vec!["LINDEX", "s", "0"],
        vec!["LSET", "s", "0", "a"],
        vec!["LLEN", "s"],
        vec!["LREM", "s", "0", "a"],
        vec!["LTRIM", "s", "0", "1"],
        vec!["LINSERT", "s", "BEFORE", "a", "b"],
        vec!["LPOS", "s", "a"],
        vec!["LMOVE", "s", "l", "LEFT", "LEFT"],
        vec!["LMOVE", "l", "s", "LEFT", "LEFT"],
        vec!["RPOPLPUSH", "s", "l"],
        vec!["RPOPLPUSH", "l", "s"],
        vec!["LMPOP", "2", "nokey", "s", "LEFT"],
        vec!["BLPOP", "nokey", "s", "0"],
        vec!["BRPOP", "s", "0"],
        vec!["BLMOVE", "s", "l", "LEFT", "LEFT", "0"],
        vec!["BLMOVE", "l", "s", "LEFT", "LEFT", "0"],
        vec!["BRPOPLPUSH", "s", "l", "0"],
        vec!["BLMPOP", "0", "1", "s", "LEFT"],
    ] {
        assert_eq!(r.cmd(&c), WRONGTYPE, "{c:?}");
    }
    // Nothing moved out of l by the failed moves.
    assert_eq!(r.cmd(&["LRANGE", "l", "0", "-1"]), arr(&["a"]));
    assert_eq!(r.cmd(&["GET", "s"]), bulk("x"));
}

#[test]
fn pop_with_and_without_count() {
    let srv = server();
    let mut r = srv.raw();
    let mut r3 = srv.raw3();
    assert_eq!(r.cmd(&["RPUSH", "l", "a", "b", "c", "d", "e"]), int(5));
    assert_eq!(r.cmd(&["LPOP", "l"]), bulk("a"));
    assert_eq!(r.cmd(&["RPOP", "l"]), bulk("e"));
    assert_eq!(r.cmd(&["LPOP", "l", "2"]), arr(&["b", "c"]));
    assert_eq!(r.cmd(&["LPOP", "l", "0"]), EMPTY);
    assert_eq!(r.cmd(&["RPOP", "l", "10"]), arr(&["d"]));
    assert_eq!(r.cmd(&["EXISTS", "l"]), int(0), "emptied list is deleted");
    // Missing key: null bulk without count, null array with count.
    assert_eq!(r.cmd(&["LPOP", "l"]), NIL);
    assert_eq!(r.cmd(&["LPOP", "l", "1"]), NIL_ARRAY);
    assert_eq!(r.cmd(&["LPOP", "l", "0"]), NIL_ARRAY);
    assert_eq!(r3.cmd(&["LPOP", "l"]), "_\r\n");
    assert_eq!(r3.cmd(&["RPOP", "l", "3"]), "_\r\n");
    // RPOP with count returns tail first.
    assert_eq!(r.cmd(&["RPUSH", "l", "1", "2", "3"]), int(3));
    assert_eq!(r.cmd(&["RPOP", "l", "2"]), arr(&["3", "2"]));
    // Errors.
    let range = err("value is out of range, must be positive");
    assert_eq!(r.cmd(&["LPOP", "l", "-1"]), range);
    assert_eq!(r.cmd(&["LPOP", "l", "x"]), range);
    assert_eq!(
        r.cmd(&["LPOP", "l", "1", "2"]),
        "-ERR wrong number of arguments for 'lpop' command\r\n"
    );
    assert_eq!(r.cmd(&["LLEN", "l"]), int(1));
}

#[test]
fn lindex_lset() {
    let srv = server();
    let mut r = srv.raw();
    let mut r3 = srv.raw3();
    assert_eq!(r.cmd(&["RPUSH", "l", "a", "b", "c"]), int(3));
    assert_eq!(r.cmd(&["LINDEX", "l", "0"]), bulk("a"));
    assert_eq!(r.cmd(&["LINDEX", "l", "-3"]), bulk("a"));
    assert_eq!(r.cmd(&["LINDEX", "l", "3"]), NIL);
    assert_eq!(r.cmd(&["LINDEX", "l", "-4"]), NIL);
    assert_eq!(r3.cmd(&["LINDEX", "l", "9"]), "_\r\n");
    assert_eq!(r.cmd(&["LINDEX", "l", "x"]), NOT_INT);
    // A missing key answers null before the index is parsed.
    assert_eq!(r.cmd(&["LINDEX", "nokey", "x"]), NIL);
    assert_eq!(r.cmd(&["LSET", "l", "1", "B"]), OK);
    assert_eq!(r.cmd(&["LSET", "l", "-1", "C"]), OK);
    assert_eq!(r.cmd(&["LRANGE", "l", "0", "-1"]), arr(&["a", "B", "C"]));
    assert_eq!(r.cmd(&["LSET", "l", "3", "x"]), err("index out of range"));
    assert_eq!(r.cmd(&["LSET", "l", "-4", "x"]), err("index out of range"));
    assert_eq!(r.cmd(&["LSET", "l", "x", "x"]), NOT_INT);
    assert_eq!(r.cmd(&["LSET", "nokey", "x", "x"]), err("no such key"));
    assert_eq!(r.cmd(&["LSET", "nokey", "0", "x"]), err("no such key"));
}

#[test]
fn lrem_ltrim_linsert() {
    let srv = server();
    let mut r = srv.raw();
    assert_eq!(r.cmd(&["RPUSH", "l", "a", "b", "a", "c", "a", "b"]), int(6));
    assert_eq!(r.cmd(&["LREM", "l", "-1", "a"]), int(1));
    assert_eq!(r.cmd(&["LRANGE", "l", "0", "-1"]), arr(&["a", "b", "a", "c", "b"]));
    assert_eq!(r.cmd(&["LREM", "l", "1", "b"]), int(1));
    assert_eq!(r.cmd(&["LRANGE", "l", "0", "-1"]), arr(&["a", "a", "c", "b"]));
    assert_eq!(r.cmd(&["LREM", "l", "0", "a"]), int(2));
    assert_eq!(r.cmd(&["LREM", "l", "0", "zz"]), int(0));
    assert_eq!(r.cmd(&["LREM", "l", "x", "a"]), NOT_INT);
    assert_eq!(r.cmd(&["LREM", "nokey", "0", "a"]), int(0));
    assert_eq!(r.cmd(&["LREM", "l", "0", "c"]), int(1));
    assert_eq!(r.cmd(&["LREM", "l", "0", "b"]), int(1));
    assert_eq!(r.cmd(&["EXISTS", "l"]), int(0));

    assert_eq!(r.cmd(&["RPUSH", "t", "1", "2", "3", "4", "5"]), int(5));
    assert_eq!(r.cmd(&["LTRIM", "t", "1", "-2"]), OK);
    assert_eq!(r.cmd(&["LRANGE", "t", "0", "-1"]), arr(&["2", "3", "4"]));
    assert_eq!(r.cmd(&["LTRIM", "t", "-100", "100"]), OK);
    assert_eq!(r.cmd(&["LLEN", "t"]), int(3));
    assert_eq!(r.cmd(&["LTRIM", "t", "0", "x"]), NOT_INT);
    assert_eq!(r.cmd(&["LTRIM", "nokey", "0", "1"]), OK);
    assert_eq!(r.cmd(&["LTRIM", "t", "2", "1"]), OK);
    assert_eq!(r.cmd(&["EXISTS", "t"]), int(0), "trimmed to nothing: deleted");

    assert_eq!(r.cmd(&["RPUSH", "i", "a", "c"]), int(2));
    assert_eq!(r.cmd(&["LINSERT", "i", "BEFORE", "c", "b"]), int(3));
    assert_eq!(r.cmd(&["LINSERT", "i", "after", "c", "d"]), int(4));
    assert_eq!(r.cmd(&["LINSERT", "i", "AFTER", "zz", "d"]), int(-1));
    assert_eq!(r.cmd(&["LINSERT", "nokey", "AFTER", "a", "d"]), int(0));
    assert_eq!(r.cmd(&["LINSERT", "i", "MIDDLE", "a", "d"]), SYNTAX);
    assert_eq!(r.cmd(&["LINSERT", "nokey", "MIDDLE", "a", "d"]), SYNTAX);
    assert_eq!(r.cmd(&["LRANGE", "i", "0", "-1"]), arr(&["a", "b", "c", "d"]));
}

#[test]
fn lpos_options_and_errors() {
    let srv = server();
    let mut r = srv.raw();
    let mut r3 = srv.raw3();
    assert_eq!(r.cmd(&["RPUSH", "l", "a", "b", "c", "1", "2", "3", "c", "c"]), int(8));
    assert_eq!(r.cmd(&["LPOS", "l", "c"]), int(2));
    assert_eq!(r.cmd(&["LPOS", "l", "zz"]), NIL);
    assert_eq!(r3.cmd(&["LPOS", "l", "zz"]), "_\r\n");
    assert_eq!(r.cmd(&["LPOS", "l", "c", "RANK", "2"]), int(6));
    assert_eq!(r.cmd(&["LPOS", "l", "c", "RANK", "-1"]), int(7));
    assert_eq!(r.cmd(&["LPOS", "l", "c", "RANK", "-3"]), int(2));
    assert_eq!(r.cmd(&["LPOS", "l", "c", "RANK", "4"]), NIL);
    assert_eq!(r.cmd(&["LPOS", "l", "c", "COUNT", "0"]), "*3\r\n:2\r\n:6\r\n:7\r\n");
    assert_eq!(r.cmd(&["LPOS", "l", "c", "COUNT", "2"]), "*2\r\n:2\r\n:6\r\n");
    assert_eq!(
        r.cmd(&["LPOS", "l", "c", "COUNT", "2", "RANK", "-1"]),
        "*2\r\n:7\r\n:6\r\n"
    );
    assert_eq!(
        r.cmd(&["LPOS", "l", "c", "COUNT", "0", "MAXLEN", "7"]),
        "*2\r\n:2\r\n:6\r\n"
    );
    assert_eq!(r.cmd(&["LPOS", "l", "c", "MAXLEN", "2"]), NIL);
    assert_eq!(r.cmd(&["LPOS", "l", "zz", "COUNT", "1"]), EMPTY);
    assert_eq!(r.cmd(&["LPOS", "nokey", "a", "COUNT", "1"]), EMPTY);
    assert_eq!(r.cmd(&["LPOS", "nokey", "a"]), NIL);
    // Later options win.
    assert_eq!(r.cmd(&["LPOS", "l", "c", "RANK", "1", "RANK", "2"]), int(6));
    assert_eq!(
        r.cmd(&["LPOS", "l", "c", "RANK", "0"]),
        err("RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative to start from the end of the list")
    );
    assert_eq!(
        r.cmd(&["LPOS", "l", "c", "RANK", "-9223372036854775808"]),
        err("value is out of range, value must between -9223372036854775807 and 9223372036854775807")
    );
    assert_eq!(r.cmd(&["LPOS", "l", "c", "RANK", "x"]), NOT_INT);
    assert_eq!(
        r.cmd(&["LPOS", "l", "c", "COUNT", "-1"]),
        err("COUNT can't be negative")
    );
    assert_eq!(r.cmd(&["LPOS", "l", "c", "COUNT", "x"]), err("COUNT can't be negative"));
    assert_eq!(
        r.cmd(&["LPOS", "l", "c", "MAXLEN", "-1"]),
        err("MAXLEN can't be negative")
    );
    assert_eq!(r.cmd(&["LPOS", "l", "c", "RANK"]), SYNTAX);
    assert_eq!(r.cmd(&["LPOS", "l", "c", "FOO", "1"]), SYNTAX);
    // Options are checked before the key.
    assert_eq!(r.cmd(&["LPOS", "nokey", "c", "FOO"]), SYNTAX);
}

#[test]
fn lmove_and_rpoplpush() {
    let srv = server();
    let mut r = srv.raw();
    let mut r3 = srv.raw3();
    assert_eq!(r.cmd(&["RPUSH", "src", "a", "b", "c"]), int(3));
    assert_eq!(r.cmd(&["LMOVE", "src", "dst", "LEFT", "RIGHT"]), bulk("a"));
    assert_eq!(r.cmd(&["LMOVE", "src", "dst", "right", "left"]), bulk("c"));
    assert_eq!(r.cmd(&["LRANGE", "dst", "0", "-1"]), arr(&["c", "a"]));
    assert_eq!(r.cmd(&["RPOPLPUSH", "src", "dst"]), bulk("b"));
    assert_eq!(r.cmd(&["EXISTS", "src"]), int(0));
    assert_eq!(r.cmd(&["LRANGE", "dst", "0", "-1"]), arr(&["b", "c", "a"]));
    // Rotation on one key, even of a single element.
    assert_eq!(r.cmd(&["RPOPLPUSH", "dst", "dst"]), bulk("a"));
    assert_eq!(r.cmd(&["LRANGE", "dst", "0", "-1"]), arr(&["a", "b", "c"]));
    assert_eq!(r.cmd(&["RPUSH", "one", "x"]), int(1));
    assert_eq!(r.cmd(&["LMOVE", "one", "one", "LEFT", "RIGHT"]), bulk("x"));
    assert_eq!(r.cmd(&["LRANGE", "one", "0", "-1"]), arr(&["x"]));
    // Missing source.
    assert_eq!(r.cmd(&["LMOVE", "nokey", "dst", "LEFT", "LEFT"]), NIL);
    assert_eq!(r3.cmd(&["RPOPLPUSH", "nokey", "dst"]), "_\r\n");
    assert_eq!(r.cmd(&["LMOVE", "src", "dst", "UP", "LEFT"]), SYNTAX);
    assert_eq!(r.cmd(&["LMOVE", "src", "dst", "LEFT", "DOWN"]), SYNTAX);
}

#[test]
fn lmpop_shapes_and_errors() {
    let srv = server();
    let mut r = srv.raw();
    let mut r3 = srv.raw3();
    assert_eq!(r.cmd(&["RPUSH", "b", "1", "2", "3"]), int(3));
    assert_eq!(
        r.cmd(&["LMPOP", "2", "a", "b", "LEFT"]),
        "*2\r\n$1\r\nb\r\n*1\r\n$1\r\n1\r\n"
    );
    assert_eq!(
        r.cmd(&["LMPOP", "2", "a", "b", "RIGHT", "COUNT", "5"]),
        "*2\r\n$1\r\nb\r\n*2\r\n$1\r\n3\r\n$1\r\n2\r\n"
    );
    assert_eq!(r.cmd(&["EXISTS", "b"]), int(0));
    assert_eq!(r.cmd(&["LMPOP", "2", "a", "b", "LEFT"]), NIL_ARRAY);
    assert_eq!(r3.cmd(&["LMPOP", "1", "a", "LEFT"]), "_\r\n");
    let numkeys = err("numkeys should be greater than 0");
    assert_eq!(r.cmd(&["LMPOP", "0", "a", "LEFT"]), numkeys);
    assert_eq!(r.cmd(&["LMPOP", "-1", "a", "LEFT"]), numkeys);
    assert_eq!(r.cmd(&["LMPOP", "x", "a", "LEFT"]), numkeys);
    assert_eq!(r.cmd(&["LMPOP", "2", "a", "LEFT"]), SYNTAX);
    assert_eq!(r.cmd(&["LMPOP", "99999999999999", "a", "LEFT"]), SYNTAX);
    assert_eq!(r.cmd(&["LMPOP", "1", "a", "MIDDLE"]), SYNTAX);
    assert_eq!(r.cmd(&["LMPOP", "1", "a", "LEFT", "FOO"]), SYNTAX);
    assert_eq!(r.cmd(&["LMPOP", "1", "a", "LEFT", "COUNT", "1", "COUNT", "2"]), SYNTAX);
    let count = err("count should be greater than 0");
    assert_eq!(r.cmd(&["LMPOP", "1", "a", "LEFT", "COUNT", "0"]), count);
    assert_eq!(r.cmd(&["LMPOP", "1", "a", "LEFT", "COUNT", "-1"]), count);
    assert_eq!(r.cmd(&["LMPOP", "1", "a", "LEFT", "COUNT", "x"]), count);
    // BLMPOP serves at once like LMPOP when it can.
    assert_eq!(r.cmd(&["RPUSH", "c", "x"]), int(1));
    assert_eq!(
        r3.cmd(&["BLMPOP", "0", "1", "c", "LEFT"]),
        "*2\r\n$1\r\nc\r\n*1\r\n$1\r\nx\r\n"
    );
    assert_eq!(r.cmd(&["BLMPOP", "0", "0", "c", "LEFT"]), numkeys);
    assert_eq!(r.cmd(&["BLMPOP", "-1", "1", "c", "LEFT"]), err("timeout is negative"));
}

#[test]
fn blocking_commands_serve_at_once_and_parse_timeouts() {
    let srv = server();
    let mut r = srv.raw();
    assert_eq!(r.cmd(&["RPUSH", "l", "a", "b", "c"]), int(3));
    assert_eq!(r.cmd(&["BLPOP", "nokey", "l", "0"]), arr(&["l", "a"]));
    assert_eq!(r.cmd(&["BRPOP", "l", "0"]), arr(&["l", "c"]));
    assert_eq!(r.cmd(&["BRPOPLPUSH", "l", "d", "0"]), bulk("b"));
    assert_eq!(r.cmd(&["BLMOVE", "d", "e", "LEFT", "RIGHT", "0"]), bulk("b"));
    assert_eq!(r.cmd(&["BLMOVE", "d", "e", "UP", "RIGHT", "0"]), SYNTAX);
    for c in ["BLPOP", "BRPOP"] {
        assert_eq!(r.cmd(&[c, "e", "-1"]), err("timeout is negative"));
        assert_eq!(r.cmd(&[c, "e", "x"]), err("timeout is not a float or out of range"));
        assert_eq!(r.cmd(&[c, "e", "inf"]), err("timeout is out of range"));
    }
    assert_eq!(
        r.cmd(&["BRPOPLPUSH", "e", "f", "nan"]),
        err("timeout is not a float or out of range")
    );
    assert_eq!(
        r.cmd(&["BLMOVE", "e", "f", "LEFT", "LEFT", "-0.5"]),
        err("timeout is negative")
    );
    // The element is still there: errors popped nothing.
    assert_eq!(r.cmd(&["LRANGE", "e", "0", "-1"]), arr(&["b"]));
}

#[test]
fn encodings_follow_list_max_listpack_size() {
    let srv = server();
    let mut r = srv.raw();
    let enc = |r: &mut RawConn, k: &str| r.cmd(&["OBJECT", "ENCODING", k]);
    let lp = bulk("listpack");
    let ql = bulk("quicklist");
    // Default -2: 8 KiB nodes.
    assert_eq!(r.cmd(&["RPUSH", "l", "a", "b"]), int(2));
    assert_eq!(enc(&mut r, "l"), lp);
    let big = "x".repeat(5000);
    assert_eq!(r.cmd(&["RPUSH", "l", &big]), int(3));
    assert_eq!(enc(&mut r, "l"), lp);
    assert_eq!(r.cmd(&["RPUSH", "l", &big]), int(4));
    assert_eq!(enc(&mut r, "l"), ql);
    // Shrinking below half the limit in one node converts back.
    assert_eq!(r.cmd(&["RPOP", "l"]), bulk(&big));
    assert_eq!(enc(&mut r, "l"), ql, "one node of ~5 KiB is above half of 8 KiB");
    assert_eq!(r.cmd(&["RPOP", "l"]), bulk(&big));
    assert_eq!(enc(&mut r, "l"), lp);

    // Positive: entries per node.
    assert_eq!(r.cmd(&["CONFIG", "SET", "list-max-listpack-size", "4"]), OK);
    assert_eq!(r.cmd(&["RPUSH", "n", "1", "2", "3", "4"]), int(4));
    assert_eq!(enc(&mut r, "n"), lp);
    assert_eq!(r.cmd(&["RPUSH", "n", "5"]), int(5));
    assert_eq!(enc(&mut r, "n"), ql);
    assert_eq!(r.cmd(&["RPOP", "n", "2"]), arr(&["5", "4"]));
    assert_eq!(enc(&mut r, "n"), ql, "3 entries: above half of 4");
    assert_eq!(r.cmd(&["LREM", "n", "0", "3"]), int(1));
    assert_eq!(enc(&mut r, "n"), lp);
    // A push of several elements converts before pushing.
    assert_eq!(r.cmd(&["LPUSH", "m", "1", "2", "3", "4", "5"]), int(5));
    assert_eq!(enc(&mut r, "m"), ql);
    // LINSERT and LSET convert too.
    assert_eq!(r.cmd(&["RPUSH", "i", "1", "2", "3", "4"]), int(4));
    assert_eq!(r.cmd(&["LINSERT", "i", "BEFORE", "1", "0"]), int(5));
    assert_eq!(enc(&mut r, "i"), ql);
    assert_eq!(r.cmd(&["CONFIG", "SET", "list-max-ziplist-size", "-1"]), OK);
    assert_eq!(
        r.cmd(&["CONFIG", "GET", "list-max-listpack-size"]),
        arr(&["list-max-listpack-size", "-1"])
    );
    assert_eq!(r.cmd(&["RPUSH", "s", "a"]), int(1));
    assert_eq!(r.cmd(&["LSET", "s", "0", &big]), OK);
    assert_eq!(enc(&mut r, "s"), ql);
    assert_eq!(r.cmd(&["LLEN", "s"]), int(1));
    assert_eq!(r.cmd(&["LSET", "s", "0", "small"]), OK);
    assert_eq!(enc(&mut r, "s"), lp);
    // As in Redis 7.2, LINSERT and LSET convert before they look for the
    // pivot or check the index.
    assert_eq!(r.cmd(&["RPUSH", "p", "a"]), int(1));
    assert_eq!(r.cmd(&["LINSERT", "p", "BEFORE", "nope", &big]), int(-1));
    assert_eq!(enc(&mut r, "p"), ql);
    assert_eq!(r.cmd(&["RPUSH", "o", "a"]), int(1));
    assert_eq!(r.cmd(&["LSET", "o", "5", &big]), err("index out of range"));
    assert_eq!(enc(&mut r, "o"), ql);
    // The contents never depend on the encoding.
    assert_eq!(r.cmd(&["LRANGE", "i", "0", "-1"]), arr(&["0", "1", "2", "3", "4"]));
}

#[test]
fn large_lists_keep_order() {
    let srv = server();
    let mut r = srv.raw();
    let mut c = srv.conn();
    let n = 3000;
    for i in 0..n {
        let _: i64 = redis::cmd("RPUSH").arg("big").arg(i).query(&mut c).unwrap();
    }
    assert_eq!(r.cmd(&["OBJECT", "ENCODING", "big"]), bulk("quicklist"));
    let all: Vec<i64> = redis::cmd("LRANGE").arg("big").arg(0).arg(-1).query(&mut c).unwrap();
    assert_eq!(all, (0..n).collect::<Vec<_>>());
    assert_eq!(r.cmd(&["LINDEX", "big", "1500"]), bulk("1500"));
    assert_eq!(r.cmd(&["LINSERT", "big", "AFTER", "1500", "x"]), int(n + 1));
    assert_eq!(r.cmd(&["LPOS", "big", "x"]), int(1501));
    assert_eq!(r.cmd(&["LTRIM", "big", "1000", "1999"]), OK);
    assert_eq!(r.cmd(&["LLEN", "big"]), int(1000));
    assert_eq!(r.cmd(&["LINDEX", "big", "0"]), bulk("1000"));
    assert_eq!(r.cmd(&["LINDEX", "big", "-1"]), bulk("1998"));
    assert_eq!(r.cmd(&["LTRIM", "big", "0", "9"]), OK);
    assert_eq!(r.cmd(&["OBJECT", "ENCODING", "big"]), bulk("listpack"));
}

#[test]
fn dirty_and_keyspace_stats() {
    let srv = server();
    let mut r = srv.raw();
    let info = |r: &mut RawConn, field: &str| -> i64 {
        let s = r.cmd(&["INFO", "all"]);
        s.lines()
            .find_map(|l| l.strip_prefix(&format!("{field}:")))
            .and_then(|v| v.trim().parse().ok())
            .unwrap()
    };
    let d0 = info(&mut r, "rdb_changes_since_last_save");
    assert_eq!(r.cmd(&["RPUSH", "l", "a", "b", "c"]), int(3));
    assert_eq!(r.cmd(&["LPOP", "l", "2"]), arr(&["a", "b"]));
    assert_eq!(r.cmd(&["LPOP", "nokey"]), NIL);
    assert_eq!(info(&mut r, "rdb_changes_since_last_save") - d0, 5);
    let h0 = info(&mut r, "keyspace_hits");
    let m0 = info(&mut r, "keyspace_misses");
    assert_eq!(r.cmd(&["LRANGE", "l", "0", "-1"]), arr(&["c"]));
    assert_eq!(r.cmd(&["LLEN", "nokey"]), int(0));
    assert_eq!(info(&mut r, "keyspace_hits") - h0, 1);
    assert_eq!(info(&mut r, "keyspace_misses") - m0, 1);
}

#[test]
fn command_info_matches_redis() {
    let srv = server();
    let mut c = srv.conn();
    let info: redis::Value = redis::cmd("COMMAND")
        .arg("INFO")
        .arg("lpush")
        .arg("blpop")
        .arg("lmpop")
        .arg("blmove")
        .query(&mut c)
        .unwrap();
    let s = format!("{info:?}");
    for needle in ["lpush", "blocking", "movablekeys", "denyoom", "noscript"] {
        assert!(s.contains(needle), "{needle} missing from {s}");
    }
    let mut r = srv.raw();
    let blpop = r.cmd(&["COMMAND", "INFO", "blpop"]);
    assert!(blpop.contains("*3\r\n+write\r\n+noscript\r\n+blocking\r\n"), "{blpop}");
    assert!(blpop.contains(":1\r\n:-2\r\n:1\r\n"), "{blpop}");
    let lmpop = r.cmd(&["COMMAND", "INFO", "lmpop"]);
    assert!(lmpop.contains(":-4\r\n"), "{lmpop}");
    assert!(lmpop.contains("keynum"), "{lmpop}");
    let keys = r.cmd(&["COMMAND", "GETKEYS", "BLMPOP", "0", "2", "a", "b", "LEFT"]);
    assert_eq!(keys, arr(&["a", "b"]));
    let keys = r.cmd(&["COMMAND", "GETKEYS", "BRPOP", "a", "b", "0"]);
    assert_eq!(keys, arr(&["a", "b"]));
}

#[test]
fn sort_reads_and_stores_lists() {
    let srv = server();
    let mut r = srv.raw();
    assert_eq!(r.cmd(&["RPUSH", "l", "3", "1", "2", "10"]), int(4));
    assert_eq!(r.cmd(&["SORT", "l"]), arr(&["1", "2", "3", "10"]));
    assert_eq!(r.cmd(&["SORT", "l", "DESC", "LIMIT", "0", "2"]), arr(&["10", "3"]));
    assert_eq!(r.cmd(&["SORT", "l", "ALPHA"]), arr(&["1", "10", "2", "3"]));
    // BY nosort keeps the list order (reversed by DESC).
    assert_eq!(
        r.cmd(&["SORT", "l", "BY", "nosort", "DESC"]),
        arr(&["10", "2", "1", "3"])
    );
    assert_eq!(r.cmd(&["SORT_RO", "l"]), arr(&["1", "2", "3", "10"]));
    assert_eq!(r.cmd(&["SORT", "l", "STORE", "dst"]), int(4));
    assert_eq!(r.cmd(&["LRANGE", "dst", "0", "-1"]), arr(&["1", "2", "3", "10"]));
    assert_eq!(r.cmd(&["OBJECT", "ENCODING", "dst"]), bulk("listpack"));
    assert_eq!(r.cmd(&["CONFIG", "SET", "list-max-listpack-size", "3"]), OK);
    assert_eq!(r.cmd(&["SORT", "l", "STORE", "dst"]), int(4));
    assert_eq!(r.cmd(&["OBJECT", "ENCODING", "dst"]), bulk("quicklist"));
    assert_eq!(r.cmd(&["SORT", "l", "LIMIT", "0", "3", "STORE", "dst"]), int(3));
    assert_eq!(r.cmd(&["OBJECT", "ENCODING", "dst"]), bulk("listpack"));
    assert_eq!(r.cmd(&["RPUSH", "bad", "a"]), int(1));
    assert_eq!(
        r.cmd(&["SORT", "bad"]),
        err("One or more scores can't be converted into double")
    );
}
