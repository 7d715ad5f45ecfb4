#![allow(clippy::unwrap_used)]
//! Sorted set commands against Redis 7.2's replies and error strings,
//! over raw RESP2 and RESP3 (reply types checked exactly: bulk vs double
//! vs null array...), encoding conversions and a model check of a large
//! skiplist-encoded set.

mod common;

use common::{RawConn, TestServer};
use std::collections::BTreeSet;

/// A raw connection that renders each reply compactly: bulk strings as
/// their text, `:n` integers, `,d` doubles, `nil$` / `nil*` for RESP2
/// nulls, `_` for the RESP3 null, `*[...]` arrays, `%[...]` maps,
/// `~[...]` sets, `+OK`, `-ERR ...`.
struct Z {
    r: RawConn,
}

fn render(buf: &[u8], pos: &mut usize) -> String {
    let end = buf[*pos..].windows(2).position(|w| w == b"\r\n").unwrap() + *pos;
    let line = String::from_utf8_lossy(&buf[*pos + 1..end]).into_owned();
    let t = buf[*pos];
    *pos = end + 2;
    match t {
        b'$' => {
            if line == "-1" {
                return "nil$".into();
            }
            let n: usize = line.parse().unwrap();
            let s = String::from_utf8_lossy(&buf[*pos..*pos + n]).into_owned();
            *pos += n + 2;
            s
        }
        b'*' | b'%' | b'~' => {
            if line == "-1" {
                return "nil*".into();
            }
            let mut n: usize = line.parse().unwrap();
            if t == b'%' {
                n *= 2;
            }
            let items: Vec<String> = (0..n).map(|_| render(buf, pos)).collect();
            format!("{}[{}]", t as char, items.join(" "))
        }
        b'_' => "_".into(),
        _ => format!("{}{}", t as char, line),
    }
}

impl Z {
    fn new(srv: &TestServer, resp3: bool) -> Z {
        let mut r = srv.raw();
        if resp3 {
            assert!(r.cmd(&["HELLO", "3"]).starts_with('%'));
        }
        Z { r }
    }

    fn c(&mut self, cmd: &str) -> String {
        let args: Vec<&str> = cmd.split_whitespace().collect();
        self.a(&args)
    }

    fn a(&mut self, args: &[&str]) -> String {
        let raw = self.r.cmd(args);
        let mut pos = 0;
        render(raw.as_bytes(), &mut pos)
    }

    fn ok(&mut self, cmd: &str, want: &str) {
        assert_eq!(self.c(cmd), want, "{cmd}");
    }
}

fn server() -> TestServer {
    TestServer::start(&[])
}

const SYNTAX: &str = "-ERR syntax error";
const NOT_INT: &str = "-ERR value is not an integer or out of range";
const NOT_FLOAT: &str = "-ERR value is not a valid float";
const WRONGTYPE: &str = "-WRONGTYPE Operation against a key holding the wrong kind of value";

#[test]
fn zadd_options_and_errors() {
    let srv = server();
    let mut z = Z::new(&srv, false);
    z.ok("ZADD z 1 a 2 b 3 c", ":3");
    z.ok(
        "ZADD z xx nx 1 a",
        "-ERR XX and NX options at the same time are not compatible",
    );
    z.ok(
        "ZADD z gt lt 1 a",
        "-ERR GT, LT, and/or NX options at the same time are not compatible",
    );
    z.ok(
        "ZADD z gt nx 1 a",
        "-ERR GT, LT, and/or NX options at the same time are not compatible",
    );
    z.ok(
        "ZADD z lt nx 1 a",
        "-ERR GT, LT, and/or NX options at the same time are not compatible",
    );
    z.ok(
        "ZADD z incr 1 a 2 b",
        "-ERR INCR option supports a single increment-element pair",
    );
    z.ok("ZADD z x a", NOT_FLOAT);
    z.ok("ZADD z nan a", NOT_FLOAT);
    z.ok("ZADD z 1", "-ERR wrong number of arguments for 'zadd' command");
    z.ok("ZADD z 1 a 2", SYNTAX);
    z.ok("ZADD z foo 1 a", SYNTAX);
    z.ok("ZADD z nx ch", SYNTAX);
    // A bad score anywhere means nothing is added.
    z.ok("ZADD z 5 d x e", NOT_FLOAT);
    z.ok("ZCARD z", ":3");
    // NX / XX / CH / GT / LT
    z.ok("ZADD z nx 10 a 4 d", ":1");
    z.ok("ZSCORE z a", "1");
    z.ok("ZADD z xx 10 a 5 e", ":0");
    z.ok("ZSCORE z a", "10");
    z.ok("ZSCORE z e", "nil$");
    z.ok("ZADD z ch 11 a 2 b 6 f", ":2");
    z.ok("ZADD z gt ch 5 a 12 b", ":1");
    z.ok("ZRANGE z 0 -1 WITHSCORES", "*[c 3 d 4 f 6 a 11 b 12]");
    z.ok("ZADD z lt ch 20 c 1 d 0 new", ":2");
    z.ok("ZRANGE z 0 -1 WITHSCORES", "*[new 0 d 1 c 3 f 6 a 11 b 12]");
    z.ok("ZADD z xx gt ch 100 a 100 zz", ":1");
    z.ok("ZSCORE z zz", "nil$");
    // Same score: not counted as changed.
    z.ok("ZADD z ch 100 a", ":0");
    // XX on a missing key creates nothing.
    z.ok("ZADD missing xx 1 a", ":0");
    z.ok("EXISTS missing", ":0");
    z.ok("ZADD missing xx incr 1 a", "nil$");
    z.ok("EXISTS missing", ":0");
    // Duplicates within one call: the last wins.
    z.ok("ZADD dup 1 a 2 a 3 a", ":1");
    z.ok("ZSCORE dup a", "3");
    // Scores: inf, exponents, -0.
    z.ok("ZADD s -inf a +inf b 1e3 c 1.5E-2 d -0 e", ":5");
    z.ok("ZRANGE s 0 -1 WITHSCORES", "*[a -inf e 0 d 0.015 c 1000 b inf]");
    z.ok("SET str x", "+OK");
    z.ok("ZADD str 1 a", WRONGTYPE);
    z.ok("ZADD str x a", NOT_FLOAT);
}

#[test]
fn zadd_incr_and_zincrby() {
    let srv = server();
    let mut z = Z::new(&srv, false);
    z.ok("ZADD z incr 1.5 a", "1.5");
    z.ok("ZADD z incr 1 a", "2.5");
    z.ok("ZADD z nx incr 1 a", "nil$");
    z.ok("ZADD z xx incr 1 b", "nil$");
    z.ok("ZADD z gt incr -1 a", "nil$");
    z.ok("ZADD z lt incr -1 a", "1.5");
    z.ok("ZINCRBY z 2 a", "3.5");
    z.ok("ZINCRBY z 1 new", "1");
    z.ok("ZINCRBY z x a", NOT_FLOAT);
    z.ok("ZINCRBY z 1", "-ERR wrong number of arguments for 'zincrby' command");
    z.ok("ZADD z incr inf a", "inf");
    z.ok("ZADD z incr -inf a", "-ERR resulting score is not a number (NaN)");
    z.ok("ZINCRBY z -inf a", "-ERR resulting score is not a number (NaN)");
    z.ok("ZSCORE z a", "inf");
    z.ok("ZADD f 0.1 a", ":1");
    z.ok("ZINCRBY f 0.2 a", "0.30000000000000004");
    z.ok("ZINCRBY f 1e300 b", "1e+300");
    z.ok("ZINCRBY f 1e308 c", "1e+308");
    z.ok("ZINCRBY f 1e308 c", "inf");
    z.ok("SET str x", "+OK");
    z.ok("ZINCRBY str 1 a", WRONGTYPE);
    let mut z3 = Z::new(&srv, true);
    z3.ok("ZINCRBY z3 1.5 a", ",1.5");
    z3.ok("ZADD z3 incr 1 a", ",2.5");
    z3.ok("ZADD z3 nx incr 1 a", "_");
    z3.ok("ZADD z3 incr inf a", ",inf");
}

#[test]
fn zrem_zcard_and_empty_deletion() {
    let srv = server();
    let mut z = Z::new(&srv, false);
    z.ok("ZADD z 1 a 2 b 3 c", ":3");
    z.ok("ZREM z a x a", ":1");
    z.ok("ZCARD z", ":2");
    z.ok("ZREM nokey a", ":0");
    z.ok("ZCARD nokey", ":0");
    z.ok("ZREM z b c", ":2");
    z.ok("EXISTS z", ":0");
    z.ok("ZREM z", "-ERR wrong number of arguments for 'zrem' command");
    z.ok("ZCARD", "-ERR wrong number of arguments for 'zcard' command");
}

#[test]
fn wrongtype_everywhere() {
    let srv = server();
    let mut z = Z::new(&srv, false);
    z.ok("SET s x", "+OK");
    for cmd in [
        "ZADD s 1 a",
        "ZINCRBY s 1 a",
        "ZREM s a",
        "ZCARD s",
        "ZCOUNT s 0 1",
        "ZLEXCOUNT s - +",
        "ZSCORE s a",
        "ZMSCORE s a",
        "ZRANK s a",
        "ZREVRANK s a WITHSCORE",
        "ZRANGE s 0 -1",
        "ZRANGESTORE d s 0 -1",
        "ZREVRANGE s 0 -1",
        "ZRANGEBYSCORE s 0 1",
        "ZREVRANGEBYSCORE s 1 0",
        "ZRANGEBYLEX s - +",
        "ZREVRANGEBYLEX s + -",
        "ZREMRANGEBYRANK s 0 1",
        "ZREMRANGEBYSCORE s 0 1",
        "ZREMRANGEBYLEX s - +",
        "ZPOPMIN s",
        "ZPOPMAX s 2",
        "ZMPOP 1 s MIN",
        "BZPOPMIN s 0",
        "BZPOPMAX s 0",
        "BZMPOP 0 1 s MAX",
        "ZRANDMEMBER s",
        "ZRANDMEMBER s 2",
        "ZUNION 1 s",
        "ZINTER 1 s",
        "ZDIFF 1 s",
        "ZUNIONSTORE d 1 s",
        "ZINTERSTORE d 1 s",
        "ZDIFFSTORE d 1 s",
        "ZINTERCARD 1 s",
        "ZSCAN s 0",
    ] {
        z.ok(cmd, WRONGTYPE);
    }
    // The type check of the inputs comes before option parsing.
    z.ok("ZUNIONSTORE d 1 s WEIGHTS x", WRONGTYPE);
    z.ok("EXISTS d", ":0");
    z.ok("GET s", "x");
}

#[test]
fn scores_and_ranks_resp2_resp3() {
    let srv = server();
    let mut z = Z::new(&srv, false);
    z.ok("ZADD z 1 a 2.5 b 3 c", ":3");
    z.ok("ZSCORE z b", "2.5");
    z.ok("ZSCORE z x", "nil$");
    z.ok("ZSCORE nokey x", "nil$");
    z.ok("ZMSCORE z a x c", "*[1 nil$ 3]");
    z.ok("ZMSCORE nokey a b", "*[nil$ nil$]");
    z.ok("ZRANK z a", ":0");
    z.ok("ZRANK z c", ":2");
    z.ok("ZREVRANK z c", ":0");
    z.ok("ZRANK z x", "nil$");
    z.ok("ZRANK nokey x", "nil$");
    z.ok("ZRANK z b WITHSCORE", "*[:1 2.5]");
    z.ok("ZREVRANK z b withscore", "*[:1 2.5]");
    z.ok("ZRANK z x WITHSCORE", "nil*");
    z.ok("ZRANK z b foo", SYNTAX);
    z.ok(
        "ZRANK z b withscore x",
        "-ERR wrong number of arguments for 'zrank' command",
    );
    z.ok("ZREVRANK z", "-ERR wrong number of arguments for 'zrevrank' command");
    let mut z3 = Z::new(&srv, true);
    z3.ok("ZSCORE z b", ",2.5");
    z3.ok("ZSCORE z x", "_");
    z3.ok("ZMSCORE z a x", "*[,1 _]");
    z3.ok("ZRANK z b WITHSCORE", "*[:1 ,2.5]");
    z3.ok("ZRANK z x WITHSCORE", "_");
    z3.ok("ZRANK z x", "_");
}

#[test]
fn zrange_by_rank() {
    let srv = server();
    let mut z = Z::new(&srv, false);
    z.ok("ZADD z 1 a 2 b 3 c 4 d 5 e", ":5");
    z.ok("ZRANGE z 0 -1", "*[a b c d e]");
    z.ok("ZRANGE z 1 2 WITHSCORES", "*[b 2 c 3]");
    z.ok("ZRANGE z -2 -1", "*[d e]");
    z.ok("ZRANGE z -100 1", "*[a b]");
    z.ok("ZRANGE z 3 100", "*[d e]");
    z.ok("ZRANGE z 3 1", "*[]");
    z.ok("ZRANGE z 5 10", "*[]");
    z.ok("ZRANGE z 0 1 REV", "*[e d]");
    z.ok("ZRANGE z 0 0 REV WITHSCORES", "*[e 5]");
    z.ok("ZREVRANGE z 0 1 WITHSCORES", "*[e 5 d 4]");
    z.ok("ZREVRANGE z -1 -1", "*[a]");
    z.ok("ZREVRANGE z 0 0 REV", SYNTAX);
    z.ok("ZRANGE nokey 0 -1", "*[]");
    z.ok("ZRANGE z 0 x", NOT_INT);
    z.ok("ZRANGE z 0 1 foo", SYNTAX);
    z.ok(
        "ZRANGE z 0 1 LIMIT 0 1",
        "-ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX",
    );
    z.ok("ZRANGE z 0 1", "*[a b]");
    z.ok("ZRANGE z 0", "-ERR wrong number of arguments for 'zrange' command");
    let mut z3 = Z::new(&srv, true);
    z3.ok("ZRANGE z 0 1 WITHSCORES", "*[*[a ,1] *[b ,2]]");
    z3.ok("ZREVRANGE z 0 0 WITHSCORES", "*[*[e ,5]]");
    z3.ok("ZRANGE z 0 1", "*[a b]");
}

#[test]
fn zrange_by_score() {
    let srv = server();
    let mut z = Z::new(&srv, false);
    z.ok("ZADD z 1 a 2 b 3 c 4 d 5 e", ":5");
    z.ok("ZRANGEBYSCORE z 2 4", "*[b c d]");
    z.ok("ZRANGEBYSCORE z (2 (4", "*[c]");
    z.ok("ZRANGEBYSCORE z -inf +inf WITHSCORES LIMIT 1 2", "*[b 2 c 3]");
    z.ok("ZRANGEBYSCORE z -inf +inf LIMIT 1 -1", "*[b c d e]");
    z.ok("ZRANGEBYSCORE z -inf +inf LIMIT 1 0", "*[]");
    z.ok("ZRANGEBYSCORE z -inf +inf LIMIT -1 1", "*[]");
    z.ok("ZRANGEBYSCORE z -inf +inf LIMIT 10 1", "*[]");
    z.ok("ZRANGEBYSCORE z 4 2", "*[]");
    z.ok("ZRANGEBYSCORE z (3 3", "*[]");
    z.ok("ZREVRANGEBYSCORE z 4 2", "*[d c b]");
    z.ok("ZREVRANGEBYSCORE z +inf -inf WITHSCORES LIMIT 1 2", "*[d 4 c 3]");
    z.ok("ZREVRANGEBYSCORE z (5 (1", "*[d c b]");
    z.ok("ZRANGE z 2 4 BYSCORE", "*[b c d]");
    z.ok("ZRANGE z 4 2 BYSCORE REV", "*[d c b]");
    z.ok("ZRANGE z (5 (1 BYSCORE REV WITHSCORES LIMIT 0 1", "*[d 4]");
    z.ok("ZRANGE z 0 10 BYSCORE LIMIT 1 -1", "*[b c d e]");
    z.ok("ZRANGEBYSCORE z x 1", "-ERR min or max is not a float");
    z.ok("ZRANGEBYSCORE z 1 (x", "-ERR min or max is not a float");
    z.ok("ZRANGEBYSCORE z 1 nan", "-ERR min or max is not a float");
    z.ok("ZRANGEBYSCORE z 1 2 BYSCORE", SYNTAX);
    z.ok("ZRANGEBYSCORE z 1 2 LIMIT 0", SYNTAX);
    z.ok("ZRANGEBYSCORE z 1 2 LIMIT 0 x", NOT_INT);
    z.ok("ZRANGEBYSCORE z 1 2 REV", SYNTAX);
    z.ok("ZRANGEBYSCORE nokey 1 2", "*[]");
    let mut z3 = Z::new(&srv, true);
    z3.ok("ZRANGEBYSCORE z 1 2 WITHSCORES", "*[*[a ,1] *[b ,2]]");
}

#[test]
fn zrange_by_lex_and_counts() {
    let srv = server();
    let mut z = Z::new(&srv, false);
    z.ok("ZADD z 0 a 0 b 0 c 0 d 0 e", ":5");
    z.ok("ZRANGEBYLEX z - +", "*[a b c d e]");
    z.ok("ZRANGEBYLEX z [b (d", "*[b c]");
    z.ok("ZRANGEBYLEX z (b [d", "*[c d]");
    z.ok("ZRANGEBYLEX z - + LIMIT 1 2", "*[b c]");
    z.ok("ZRANGEBYLEX z + -", "*[]");
    z.ok("ZREVRANGEBYLEX z + -", "*[e d c b a]");
    z.ok("ZREVRANGEBYLEX z [d (a LIMIT 1 10", "*[c b]");
    z.ok("ZRANGE z [b [d BYLEX", "*[b c d]");
    z.ok("ZRANGE z [d [b BYLEX REV LIMIT 1 1", "*[c]");
    z.ok("ZRANGE z [a [b BYLEX REV", "*[]");
    z.ok("ZRANGEBYLEX z a b", "-ERR min or max not valid string range item");
    z.ok("ZRANGEBYLEX z [a +b", "-ERR min or max not valid string range item");
    z.ok(
        "ZRANGE z - + BYLEX WITHSCORES",
        "-ERR syntax error, WITHSCORES not supported in combination with BYLEX",
    );
    z.ok(
        "ZRANGEBYLEX z - + WITHSCORES",
        "-ERR syntax error, WITHSCORES not supported in combination with BYLEX",
    );
    z.ok("ZLEXCOUNT z - +", ":5");
    z.ok("ZLEXCOUNT z [b (d", ":2");
    z.ok("ZLEXCOUNT z (e +", ":0");
    z.ok("ZLEXCOUNT z a b", "-ERR min or max not valid string range item");
    z.ok("ZLEXCOUNT nokey - +", ":0");
    z.ok("ZADD n 1 a 2 b 3 c", ":3");
    z.ok("ZCOUNT n -inf +inf", ":3");
    z.ok("ZCOUNT n (1 3", ":2");
    z.ok("ZCOUNT n (1 (3", ":1");
    z.ok("ZCOUNT n 3 1", ":0");
    z.ok("ZCOUNT n x 1", "-ERR min or max is not a float");
    z.ok("ZCOUNT nokey 0 1", ":0");
}

#[test]
fn zrangestore() {
    let srv = server();
    let mut z = Z::new(&srv, false);
    z.ok("ZADD z 1 a 2 b 3 c 4 d", ":4");
    z.ok("ZRANGESTORE d z 1 2", ":2");
    z.ok("ZRANGE d 0 -1 WITHSCORES", "*[b 2 c 3]");
    z.ok("ZRANGESTORE d z 3 (1 BYSCORE REV LIMIT 0 1", ":1");
    z.ok("ZRANGE d 0 -1 WITHSCORES", "*[c 3]");
    z.ok("ZRANGESTORE d z - [b BYLEX", ":2");
    z.ok("ZRANGE d 0 -1", "*[a b]");
    z.ok("OBJECT ENCODING d", "listpack");
    z.ok("ZRANGESTORE d z 0 1 WITHSCORES", SYNTAX);
    // An empty result deletes the destination.
    z.ok("ZRANGESTORE d z 5 6", ":0");
    z.ok("EXISTS d", ":0");
    z.ok("SET d str", "+OK");
    z.ok("ZRANGESTORE d nokey 0 -1", ":0");
    z.ok("EXISTS d", ":0");
    z.ok("SET d str", "+OK");
    z.ok("ZRANGESTORE d z 0 0", ":1");
    z.ok("TYPE d", "+zset");
    z.ok(
        "ZRANGESTORE d z 0",
        "-ERR wrong number of arguments for 'zrangestore' command",
    );
}

#[test]
fn zremrange() {
    let srv = server();
    let mut z = Z::new(&srv, false);
    z.ok("ZADD z 1 a 2 b 3 c 4 d 5 e", ":5");
    z.ok("ZREMRANGEBYRANK z 0 1", ":2");
    z.ok("ZRANGE z 0 -1", "*[c d e]");
    z.ok("ZREMRANGEBYRANK z -1 -1", ":1");
    z.ok("ZREMRANGEBYRANK z 5 10", ":0");
    z.ok("ZREMRANGEBYRANK z x 1", NOT_INT);
    z.ok("ZREMRANGEBYRANK z 0 -1", ":2");
    z.ok("EXISTS z", ":0");
    z.ok("ZADD z 1 a 2 b 3 c 4 d 5 e", ":5");
    z.ok("ZREMRANGEBYSCORE z (1 3", ":2");
    z.ok("ZREMRANGEBYSCORE z x 3", "-ERR min or max is not a float");
    z.ok("ZRANGE z 0 -1", "*[a d e]");
    z.ok("ZREMRANGEBYSCORE z -inf +inf", ":3");
    z.ok("EXISTS z", ":0");
    z.ok("ZADD z 0 a 0 b 0 c 0 d", ":4");
    z.ok("ZREMRANGEBYLEX z (a [c", ":2");
    z.ok("ZREMRANGEBYLEX z a c", "-ERR min or max not valid string range item");
    z.ok("ZRANGE z 0 -1", "*[a d]");
    z.ok("ZREMRANGEBYLEX z - +", ":2");
    z.ok("EXISTS z", ":0");
    z.ok("ZREMRANGEBYLEX nokey - +", ":0");
    z.ok("ZREMRANGEBYSCORE nokey 0 1", ":0");
    z.ok("ZREMRANGEBYRANK nokey 0 1", ":0");
}

#[test]
fn pops_resp2() {
    let srv = server();
    let mut z = Z::new(&srv, false);
    z.ok("ZADD z 1 a 2 b 3 c 4 d 5 e", ":5");
    z.ok("ZPOPMIN z", "*[a 1]");
    z.ok("ZPOPMAX z", "*[e 5]");
    z.ok("ZPOPMIN z 2", "*[b 2 c 3]");
    z.ok("ZPOPMAX z 0", "*[]");
    z.ok("ZPOPMIN z -1", "-ERR value is out of range, must be positive");
    z.ok("ZPOPMIN z x", "-ERR value is out of range, must be positive");
    z.ok("ZPOPMIN z 1 2", SYNTAX);
    z.ok("ZPOPMAX z 10", "*[d 4]");
    z.ok("EXISTS z", ":0");
    z.ok("ZPOPMIN nokey", "*[]");
    z.ok("ZPOPMIN nokey 2", "*[]");
    z.ok("ZADD z 1 a 2 b 3 c", ":3");
    z.ok("ZMPOP 1 z MIN", "*[z *[*[a 1]]]");
    z.ok("ZMPOP 2 nokey z MAX COUNT 10", "*[z *[*[c 3] *[b 2]]]");
    z.ok("EXISTS z", ":0");
    z.ok("ZMPOP 1 nokey MIN", "nil*");
    z.ok("ZMPOP 0 z MIN", "-ERR numkeys should be greater than 0");
    z.ok("ZMPOP -1 z MIN", "-ERR numkeys should be greater than 0");
    z.ok("ZMPOP 1 z foo", SYNTAX);
    z.ok("ZMPOP 5 z MIN", SYNTAX);
    z.ok("ZMPOP 1 z MIN COUNT 0", "-ERR count should be greater than 0");
    z.ok("ZMPOP 1 z MIN COUNT -1", "-ERR count should be greater than 0");
    z.ok("ZMPOP 1 z MIN COUNT 1 COUNT 1", SYNTAX);
    z.ok("ZMPOP 1 z MIN COUNT", SYNTAX);
    // Blocking forms, served at once.
    z.ok("ZADD z 1 a 2 b 3 c", ":3");
    z.ok("BZPOPMIN nokey z 0", "*[z a 1]");
    z.ok("BZPOPMAX z 0.5", "*[z c 3]");
    z.ok("BZMPOP 0 2 nokey z MIN COUNT 5", "*[z *[*[b 2]]]");
    z.ok("EXISTS z", ":0");
    z.ok("BZPOPMIN z -1", "-ERR timeout is negative");
    z.ok("BZPOPMIN z x", "-ERR timeout is not a float or out of range");
    z.ok("BZMPOP 0 0 z MIN", "-ERR numkeys should be greater than 0");
    z.ok("BZMPOP x 1 z MIN", "-ERR timeout is not a float or out of range");
    z.ok("BZMPOP 0 1 z FOO", SYNTAX);
    // The mpop arguments are checked before the timeout, as Redis does.
    z.ok("BZMPOP abc 0 z MIN", "-ERR numkeys should be greater than 0");
    z.ok("BZMPOP -1 1 z FOO", SYNTAX);
}

#[test]
fn pops_resp3() {
    let srv = server();
    let mut z = Z::new(&srv, true);
    z.ok("ZADD z 1 a 2 b 3 c 4 d 5 e", ":5");
    z.ok("ZPOPMIN z", "*[a ,1]");
    z.ok("ZPOPMIN z 1", "*[*[b ,2]]");
    z.ok("ZPOPMAX z 2", "*[*[e ,5] *[d ,4]]");
    z.ok("ZPOPMAX z 0", "*[]");
    z.ok("ZPOPMIN nokey", "*[]");
    z.ok("ZMPOP 1 z MIN", "*[z *[*[c ,3]]]");
    z.ok("ZMPOP 1 z MIN", "_");
    z.ok("ZADD z 1 a 2 b", ":2");
    z.ok("BZPOPMIN z 1", "*[z a ,1]");
    z.ok("BZMPOP 1 1 z MAX COUNT 2", "*[z *[*[b ,2]]]");
}

#[test]
fn blocking_pop_times_out_without_data() {
    // With the stub machinery the timeout reply comes at once; the real
    // one waits for the timeout. Either way the reply is a null array.
    let srv = server();
    let mut z = Z::new(&srv, false);
    z.ok("BZPOPMIN nokey 0.01", "nil*");
    z.ok("BZMPOP 0.01 1 nokey MIN", "nil*");
    let mut z3 = Z::new(&srv, true);
    z3.ok("BZPOPMAX nokey 0.01", "_");
}

#[test]
fn blocking_pop_served_by_other_client() {
    let srv = server();
    let mut waiter = Z::new(&srv, false);
    let mut pusher = Z::new(&srv, false);
    waiter.r.send(b"*3\r\n$8\r\nBZPOPMIN\r\n$2\r\nbz\r\n$1\r\n5\r\n");
    std::thread::sleep(std::time::Duration::from_millis(100));
    pusher.ok("ZADD bz 1 a 2 b", ":2");
    let raw = waiter.r.read_replies(1);
    let mut pos = 0;
    assert_eq!(render(&raw, &mut pos), "*[bz a 1]");
    pusher.ok("ZRANGE bz 0 -1", "*[b]");
    waiter
        .r
        .send(b"*5\r\n$6\r\nBZMPOP\r\n$1\r\n5\r\n$1\r\n1\r\n$3\r\nbz2\r\n$3\r\nMAX\r\n");
    std::thread::sleep(std::time::Duration::from_millis(100));
    pusher.ok("ZADD bz2 1 a 2 b", ":2");
    let raw = waiter.r.read_replies(1);
    let mut pos = 0;
    assert_eq!(render(&raw, &mut pos), "*[bz2 *[*[b 2]]]");
}

#[test]
fn zrandmember() {
    let srv = server();
    let mut z = Z::new(&srv, false);
    z.ok("ZADD z 1 a 2 b 3 c", ":3");
    let one = z.c("ZRANDMEMBER z");
    assert!(["a", "b", "c"].contains(&one.as_str()), "{one}");
    z.ok("ZRANDMEMBER nokey", "nil$");
    z.ok("ZRANDMEMBER nokey 3", "*[]");
    z.ok("ZRANDMEMBER z 0", "*[]");
    z.ok("ZRANDMEMBER z x", NOT_INT);
    z.ok(
        "ZRANDMEMBER z -9223372036854775808",
        "-ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807",
    );
    z.ok("ZRANDMEMBER z 1 foo", SYNTAX);
    z.ok("ZRANDMEMBER z 1 withscores x", SYNTAX);
    z.ok(
        "ZRANDMEMBER z 9223372036854775807 WITHSCORES",
        "-ERR value is out of range",
    );
    // count >= size: the whole set.
    let all = z.c("ZRANDMEMBER z 10 WITHSCORES");
    for p in ["a 1", "b 2", "c 3"] {
        assert!(all.contains(p), "{all}");
    }
    // Distinct members for a positive count.
    for _ in 0..20 {
        let two = z.c("ZRANDMEMBER z 2");
        let inner = two.trim_start_matches("*[").trim_end_matches(']');
        let v: Vec<&str> = inner.split(' ').collect();
        assert_eq!(v.len(), 2);
        // Distinct, and in the set's order for a listpack (as Redis).
        assert!(v[0] < v[1], "{two}");
    }
    // Repeats allowed for a negative count.
    let many = z.c("ZRANDMEMBER z -10");
    assert_eq!(many.matches(' ').count(), 9, "{many}");
    let mut z3 = Z::new(&srv, true);
    let pairs = z3.c("ZRANDMEMBER z -2 WITHSCORES");
    assert!(pairs.starts_with("*[*["), "{pairs}");
    assert_eq!(pairs.matches(",").count(), 2, "{pairs}");
}

#[test]
fn union_inter_diff() {
    let srv = server();
    let mut z = Z::new(&srv, false);
    z.ok("ZADD z1 1 a 2 b 3 c", ":3");
    z.ok("ZADD z2 10 b 20 c 30 d", ":3");
    z.ok("ZUNION 2 z1 z2 WITHSCORES", "*[a 1 b 12 c 23 d 30]");
    z.ok("ZUNION 2 z1 z2", "*[a b c d]");
    z.ok(
        "ZUNION 2 z1 z2 WEIGHTS 2 1 AGGREGATE MAX WITHSCORES",
        "*[a 2 b 10 c 20 d 30]",
    );
    z.ok("ZUNION 2 z1 z2 AGGREGATE MIN WITHSCORES", "*[a 1 b 2 c 3 d 30]");
    z.ok("ZINTER 2 z1 z2 WITHSCORES", "*[b 12 c 23]");
    z.ok("ZINTER 2 z1 z2 AGGREGATE MIN WITHSCORES", "*[b 2 c 3]");
    z.ok("ZINTER 2 z1 nokey WITHSCORES", "*[]");
    z.ok("ZDIFF 2 z1 z2 WITHSCORES", "*[a 1]");
    z.ok("ZDIFF 2 z1 nokey", "*[a b c]");
    z.ok("ZDIFF 2 nokey z1", "*[]");
    z.ok("ZINTERCARD 2 z1 z2", ":2");
    z.ok("ZINTERCARD 2 z1 z2 LIMIT 1", ":1");
    z.ok("ZINTERCARD 2 z1 z2 LIMIT 0", ":2");
    z.ok("ZINTERCARD 1 nokey", ":0");
    // inf * 0 weights give 0, inf + -inf sums give 0.
    z.ok("ZADD i1 inf a", ":1");
    z.ok("ZADD i2 -inf a", ":1");
    z.ok("ZUNION 2 i1 i2 WITHSCORES", "*[a 0]");
    z.ok("ZUNION 1 i1 WEIGHTS 0 WITHSCORES", "*[a 0]");
    // ZINTER resets only the first input's NaN product to 0; a later
    // NaN makes the sum NaN, which becomes 0 (checked against Redis).
    z.ok("ZADD n1 inf g", ":1");
    z.ok("ZADD n2 0 g", ":1");
    z.ok("ZADD n3 inf g 1 h", ":2");
    z.ok("ZINTER 3 n1 n2 n3 WEIGHTS 0.5 0.5 0 WITHSCORES", "*[g 0]");
    z.ok("ZINTER 2 n1 n2 WEIGHTS 0 1 WITHSCORES", "*[g 0]");
    z.ok("ZUNION 3 n1 n2 n3 WEIGHTS 0.5 0.5 0 WITHSCORES", "*[h 0 g inf]");
    // STORE forms.
    z.ok("ZUNIONSTORE out 2 z1 z2 WEIGHTS 1 0", ":4");
    z.ok("ZRANGE out 0 -1 WITHSCORES", "*[d 0 a 1 b 2 c 3]");
    z.ok("ZINTERSTORE out 2 z1 z2 AGGREGATE MAX", ":2");
    z.ok("ZRANGE out 0 -1 WITHSCORES", "*[b 10 c 20]");
    z.ok("ZDIFFSTORE out 2 z2 z1", ":1");
    z.ok("ZRANGE out 0 -1 WITHSCORES", "*[d 30]");
    z.ok("ZINTERSTORE out 2 z1 nokey", ":0");
    z.ok("EXISTS out", ":0");
    // The destination may be an input, and may hold another type.
    z.ok("ZUNIONSTORE z1 2 z1 z2", ":4");
    z.ok("ZSCORE z1 b", "12");
    z.ok("SET str x", "+OK");
    z.ok("ZUNIONSTORE str 1 z2", ":3");
    z.ok("TYPE str", "+zset");
    // Errors.
    z.ok(
        "ZUNIONSTORE d 0 z1",
        "-ERR at least 1 input key is needed for 'zunionstore' command",
    );
    z.ok(
        "ZUNIONSTORE d -1 z1",
        "-ERR at least 1 input key is needed for 'zunionstore' command",
    );
    z.ok(
        "ZINTER 0 z1",
        "-ERR at least 1 input key is needed for 'zinter' command",
    );
    z.ok("ZUNIONSTORE d x z1", NOT_INT);
    z.ok("ZUNIONSTORE d 2 z1", SYNTAX);
    z.ok("ZUNIONSTORE d 1 z1 WEIGHTS 1 2", SYNTAX);
    z.ok("ZUNIONSTORE d 1 z1 WEIGHTS x", "-ERR weight value is not a float");
    z.ok("ZUNIONSTORE d 1 z1 AGGREGATE foo", SYNTAX);
    z.ok("ZUNIONSTORE d 1 z1 WITHSCORES", SYNTAX);
    z.ok("ZUNION 1 z1 WITHSCORES foo", SYNTAX);
    z.ok("ZDIFF 1 z1 WEIGHTS 1", SYNTAX);
    z.ok("ZDIFF 1 z1 AGGREGATE SUM", SYNTAX);
    z.ok(
        "ZINTERCARD 0 z1",
        "-ERR at least 1 input key is needed for 'zintercard' command",
    );
    z.ok("ZINTERCARD 1 z1 LIMIT -1", "-ERR LIMIT can't be negative");
    z.ok("ZINTERCARD 1 z1 LIMIT x", "-ERR LIMIT can't be negative");
    z.ok("ZINTERCARD 2 z1", SYNTAX);
    z.ok("ZINTERCARD 1 z1 WITHSCORES", SYNTAX);
    z.ok(
        "ZUNIONSTORE d 1",
        "-ERR wrong number of arguments for 'zunionstore' command",
    );
    let mut z3 = Z::new(&srv, true);
    z3.ok("ZINTER 2 z1 z2 WITHSCORES", "*[*[b ,22] *[c ,43] *[d ,60]]");
    z3.ok("ZDIFF 1 z2", "*[b c d]");
}

#[test]
fn zscan() {
    let srv = server();
    let mut z = Z::new(&srv, false);
    z.ok("ZADD z 1 a 2.5 b 3 c", ":3");
    z.ok("ZSCAN z 0", "*[0 *[a 1 b 2.5 c 3]]");
    z.ok("ZSCAN z 0 MATCH [ab] COUNT 100", "*[0 *[a 1 b 2.5]]");
    z.ok("ZSCAN nokey 0", "*[0 *[]]");
    z.ok("ZSCAN z x", "-ERR invalid cursor");
    z.ok("ZSCAN z 0 COUNT 0", SYNTAX);
    z.ok("ZSCAN z 0 COUNT x", NOT_INT);
    z.ok("ZSCAN z 0 TYPE zset", SYNTAX);
    z.ok("ZSCAN z 0 MATCH", SYNTAX);
    // The key is looked up before the options are parsed, as in Redis.
    z.ok("ZSCAN nokey 0 COUNT 0", "*[0 *[]]");
    z.ok("ZSCAN nokey 0 BOGUS", "*[0 *[]]");
    z.ok("SET zstr x", "+OK");
    z.ok("ZSCAN zstr 0 COUNT x", WRONGTYPE);
    // RESP3 still gives scores as bulk strings.
    let mut z3 = Z::new(&srv, true);
    z3.ok("ZSCAN z 0", "*[0 *[a 1 b 2.5 c 3]]");
    // A skiplist-encoded set: iterate to the end, every member once.
    let members: Vec<String> = (0..500).map(|i| format!("m{i}")).collect();
    let mut args = vec!["ZADD", "big"];
    let scores: Vec<String> = (0..500).map(|i| (i as f64 / 4.0).to_string()).collect();
    for i in 0..500 {
        args.push(&scores[i]);
        args.push(&members[i]);
    }
    z.a(&args);
    z.ok("OBJECT ENCODING big", "skiplist");
    let mut cursor = "0".to_string();
    let mut seen = BTreeSet::new();
    let mut calls = 0;
    loop {
        let reply = z.a(&["ZSCAN", "big", &cursor, "COUNT", "20"]);
        let inner = reply.strip_prefix("*[").unwrap().strip_suffix("]]").unwrap();
        let (next, items) = inner.split_once(" *[").unwrap();
        let items: Vec<&str> = items.split(' ').filter(|s| !s.is_empty()).collect();
        for p in items.chunks(2) {
            let i: usize = p[0][1..].parse().unwrap();
            assert_eq!(p[1], scores[i].as_str().trim_end_matches(".0"));
            assert!(seen.insert(i), "member returned twice");
        }
        calls += 1;
        cursor = next.to_string();
        if cursor == "0" {
            break;
        }
        assert!(calls < 1000);
    }
    assert_eq!(seen.len(), 500);
    assert!(calls > 1, "a large set is scanned in several steps");
}

#[test]
fn encodings_and_conversions() {
    let srv = server();
    let mut z = Z::new(&srv, false);
    z.ok("ZADD z 1 a", ":1");
    z.ok("OBJECT ENCODING z", "listpack");
    // Entries threshold.
    z.ok("CONFIG SET zset-max-listpack-entries 4", "+OK");
    z.ok("ZADD z 2 b 3 c 4 d", ":3");
    z.ok("OBJECT ENCODING z", "listpack");
    z.ok("ZADD z 5 e", ":1");
    z.ok("OBJECT ENCODING z", "skiplist");
    // Never converts back.
    z.ok("ZREMRANGEBYRANK z 0 2", ":3");
    z.ok("OBJECT ENCODING z", "skiplist");
    z.ok("ZRANGE z 0 -1 WITHSCORES", "*[d 4 e 5]");
    // Value threshold.
    z.ok("CONFIG SET zset-max-listpack-value 8", "+OK");
    z.ok("ZADD v 1 12345678", ":1");
    z.ok("OBJECT ENCODING v", "listpack");
    z.ok("ZADD v 2 123456789", ":1");
    z.ok("OBJECT ENCODING v", "skiplist");
    z.ok("ZRANGE v 0 -1", "*[12345678 123456789]");
    // A new key gets the encoding its first ZADD calls for.
    z.ok("ZADD w 1 a 2 b 3 c 4 d 5 e", ":5");
    z.ok("OBJECT ENCODING w", "skiplist");
    z.ok("ZADD w2 1 123456789", ":1");
    z.ok("OBJECT ENCODING w2", "skiplist");
    // Redis 7.2 sizes a new key from the number of pairs (duplicates
    // included) and the first member's length...
    z.ok("ZADD w3 1 a 2 a 3 a 4 a 5 a", ":1");
    z.ok("OBJECT ENCODING w3", "skiplist");
    z.ok("ZADD w4 1 a 2 123456789", ":2");
    z.ok("OBJECT ENCODING w4", "skiplist");
    z.ok("ZADD w5 1 123456789 2 a", ":2");
    z.ok("OBJECT ENCODING w5", "skiplist");
    // ...and converts an existing one when the pair count exceeds the
    // limit, even if nothing new is added.
    z.ok("ZADD w6 1 a", ":1");
    z.ok("OBJECT ENCODING w6", "listpack");
    z.ok("ZADD w6 1 a 1 a 1 a 1 a 1 a", ":0");
    z.ok("OBJECT ENCODING w6", "skiplist");
    // Store results pick their encoding from their size.
    z.ok("ZUNIONSTORE u 1 w", ":5");
    z.ok("OBJECT ENCODING u", "skiplist");
    z.ok("ZRANGESTORE u w 0 1", ":2");
    z.ok("OBJECT ENCODING u", "listpack");
    z.ok("ZINTERSTORE u 1 w", ":5");
    z.ok("OBJECT ENCODING u", "skiplist");
    z.ok("ZDIFFSTORE u 1 v", ":2");
    z.ok("OBJECT ENCODING u", "skiplist");
    // Zero entries: always skiplist.
    z.ok("CONFIG SET zset-max-listpack-entries 0", "+OK");
    z.ok("ZADD zero 1 a", ":1");
    z.ok("OBJECT ENCODING zero", "skiplist");
    // -0 in a skiplist stays -0; a listpack stores it as 0.
    z.ok("ZADD zero -0 m", ":1");
    z.ok("ZSCORE zero m", "-0");
    // A stored result that stays large keeps -0 too.
    z.ok("ZUNIONSTORE zz 1 zero", ":2");
    z.ok("ZSCORE zz m", "-0");
    z.ok("CONFIG SET zset-max-listpack-entries 128", "+OK");
    z.ok("ZUNIONSTORE zz 1 zero", ":2");
    z.ok("OBJECT ENCODING zz", "listpack");
    z.ok("ZSCORE zz m", "0");
    z.ok("ZADD lp -0 m", ":1");
    z.ok("ZSCORE lp m", "0");
    z.ok(
        "CONFIG GET zset-max-listpack-entries",
        "*[zset-max-listpack-entries 128]",
    );
}

/// The same operations on both encodings give the same answers, and
/// those of a simple model.
#[test]
fn large_skiplist_matches_model() {
    let srv = server();
    let mut z = Z::new(&srv, false);
    let mut model: BTreeSet<(i64, String)> = BTreeSet::new();
    let mut scores = std::collections::HashMap::new();
    let mut seed: u64 = 0x1234_5678;
    let mut rnd = move |n: u64| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed % n
    };
    for _ in 0..600 {
        let m = format!("m{}", rnd(400));
        let s = rnd(50) as i64;
        if rnd(5) == 0 {
            let want = if let Some(old) = scores.remove(&m) {
                model.remove(&(old, m.clone()));
                ":1"
            } else {
                ":0"
            };
            z.ok(&format!("ZREM big {m}"), want);
        } else {
            if let Some(old) = scores.insert(m.clone(), s) {
                model.remove(&(old, m.clone()));
            }
            model.insert((s, m.clone()));
            z.c(&format!("ZADD big {s} {m}"));
        }
    }
    z.ok("OBJECT ENCODING big", "skiplist");
    z.ok("ZCARD big", &format!(":{}", model.len()));
    let v: Vec<&(i64, String)> = model.iter().collect();
    let all: Vec<String> = v.iter().map(|(s, m)| format!("{m} {s}")).collect();
    assert_eq!(z.c("ZRANGE big 0 -1 WITHSCORES"), format!("*[{}]", all.join(" ")));
    for (rank, (s, m)) in v.iter().enumerate().step_by(7) {
        z.ok(&format!("ZRANK big {m}"), &format!(":{rank}"));
        z.ok(&format!("ZREVRANK big {m}"), &format!(":{}", v.len() - 1 - rank));
        z.ok(&format!("ZSCORE big {m}"), &s.to_string());
    }
    for (lo, hi) in [(0, 10), (10, 20), (25, 25), (40, 100)] {
        let want: Vec<&str> = v
            .iter()
            .filter(|(s, _)| *s >= lo && *s <= hi)
            .map(|(_, m)| m.as_str())
            .collect();
        z.ok(&format!("ZCOUNT big {lo} {hi}"), &format!(":{}", want.len()));
        z.ok(
            &format!("ZRANGEBYSCORE big {lo} {hi}"),
            &format!("*[{}]", want.join(" ")),
        );
        let rev: Vec<&str> = want.iter().rev().take(5).copied().collect();
        z.ok(
            &format!("ZREVRANGEBYSCORE big {hi} {lo} LIMIT 0 5"),
            &format!("*[{}]", rev.join(" ")),
        );
    }
    let mid: Vec<&str> = v[100..120].iter().map(|(_, m)| m.as_str()).collect();
    z.ok("ZRANGE big 100 119", &format!("*[{}]", mid.join(" ")));
    // Copy into a listpack-encoded key (small) and compare a range.
    z.ok("ZREMRANGEBYRANK big 0 99", ":100");
    let rest: Vec<&str> = v[100..110].iter().map(|(_, m)| m.as_str()).collect();
    z.ok("ZRANGE big 0 9", &format!("*[{}]", rest.join(" ")));
    z.ok("ZRANGESTORE small big 0 9", ":10");
    z.ok("OBJECT ENCODING small", "listpack");
    z.ok("ZRANGE small 0 -1", &format!("*[{}]", rest.join(" ")));
    let popped = z.c("ZPOPMIN big 3");
    let want: Vec<String> = v[100..103].iter().map(|(s, m)| format!("{m} {s}")).collect();
    assert_eq!(popped, format!("*[{}]", want.join(" ")));
}

#[test]
fn command_info_and_keys() {
    let srv = server();
    let mut z = Z::new(&srv, false);
    z.ok("COMMAND GETKEYS ZUNIONSTORE d 2 a b WEIGHTS 1 2", "*[d a b]");
    z.ok("COMMAND GETKEYS ZMPOP 2 a b MIN", "*[a b]");
    z.ok("COMMAND GETKEYS BZMPOP 0 2 a b MIN", "*[a b]");
    z.ok("COMMAND GETKEYS BZPOPMIN a b c 0", "*[a b c]");
    z.ok("COMMAND GETKEYS ZRANGESTORE d s 0 1", "*[d s]");
    let info = z.c("COMMAND INFO zrank bzpopmin zunionstore");
    assert!(info.starts_with("*[*[zrank :-3 "), "{info}");
    assert!(
        info.contains("*[bzpopmin :-3 *[+write +noscript +blocking +fast] :1 :-2 :1"),
        "{info}"
    );
    assert!(
        info.contains("*[zunionstore :-4 *[+write +denyoom +movablekeys] :1 :1 :1"),
        "{info}"
    );
}

#[test]
fn plain_sets_as_inputs_score_one() {
    let srv = server();
    let mut z = Z::new(&srv, false);
    z.ok("SADD s a b", ":2");
    z.ok("ZADD z 5 b 7 c", ":2");
    z.ok("ZUNION 2 s z WITHSCORES", "*[a 1 b 6 c 7]");
    z.ok("ZINTER 2 s z WEIGHTS 3 1 WITHSCORES", "*[b 8]");
    z.ok("ZDIFF 2 s z WITHSCORES", "*[a 1]");
    z.ok("ZINTERCARD 2 s z", ":1");
    z.ok("ZUNIONSTORE d 1 s", ":2");
    z.ok("ZRANGE d 0 -1 WITHSCORES", "*[a 1 b 1]");
    // An intset too (checked against Redis).
    z.ok("SADD is 1 2 3", ":3");
    z.ok("ZADD z 1.5 2", ":1");
    z.ok(
        "ZUNION 3 is z s WITHSCORES AGGREGATE MAX",
        "*[1 1 3 1 a 1 2 1.5 b 5 c 7]",
    );
    z.ok("ZINTER 2 is z WITHSCORES", "*[2 2.5]");
    z.ok("ZDIFF 2 z is WITHSCORES", "*[b 5 c 7]");
    z.ok("ZDIFFSTORE d 2 is z", ":2");
    z.ok("ZRANGE d 0 -1 WITHSCORES", "*[1 1 3 1]");
}

fn info_field(z: &mut Z, section: &str, field: &str) -> i64 {
    let info = z.c(&format!("INFO {section}"));
    let line = info
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{field}:")))
        .unwrap_or_else(|| panic!("{field} missing"));
    line.trim().parse().unwrap()
}

/// Dirty counts as Redis 7.2 counts them (checked against a real server).
#[test]
fn dirty_counts() {
    let srv = server();
    let mut z = Z::new(&srv, false);
    let steps: &[(&str, i64)] = &[
        ("ZADD z 1 a 2 b 3 c 4 d 5 e", 5),
        ("ZADD z ch 1 a 7 b 8 f", 2),
        ("ZADD z xx 1 zz", 0),
        ("ZINCRBY z 1 a", 1),
        ("ZREM z a b nope", 2),
        ("ZPOPMIN z 2", 2),
        ("ZPOPMAX z", 1),
        ("ZADD z 1 a 2 b 3 c 4 d 5 e", 4),
        ("ZMPOP 1 z MIN COUNT 2", 2),
        ("BZPOPMIN z 0", 1),
        ("ZREMRANGEBYRANK z 0 0", 1),
        ("ZREMRANGEBYSCORE z -inf +inf", 1),
        ("ZADD z 1 a 2 b 3 c 4 d 5 e", 5),
        ("ZREMRANGEBYLEX z - +", 5),
        ("ZADD z 1 a 2 b 3 c 4 d 5 e", 5),
        ("ZUNIONSTORE d 1 z", 1),
        ("ZUNIONSTORE d 1 nokey", 1),
        ("ZUNIONSTORE d 1 nokey", 0),
        ("ZRANGESTORE d z 0 1", 1),
        ("ZRANGESTORE d z 5 6", 1),
        ("ZRANGESTORE d z 5 6", 0),
        ("ZADD z nx 9 a", 0),
        ("ZADD z 1 a", 0),
    ];
    for (cmd, want) in steps {
        let before = info_field(&mut z, "persistence", "rdb_changes_since_last_save");
        z.c(cmd);
        let after = info_field(&mut z, "persistence", "rdb_changes_since_last_save");
        assert_eq!(after - before, *want, "{cmd}");
    }
}

/// Reads count keyspace hits and misses; writes (ZADD, ZREM, pops) do not.
#[test]
fn keyspace_hits_and_misses() {
    let srv = server();
    let mut z = Z::new(&srv, false);
    z.ok("ZADD z 1 a", ":1");
    z.ok("CONFIG RESETSTAT", "+OK");
    for cmd in [
        "ZSCORE z a",
        "ZSCORE z b",
        "ZSCORE nokey a",
        "ZUNIONSTORE d 2 z nokey",
        "ZPOPMIN nokey",
        "ZRANGESTORE d2 z 0 -1",
        "ZREM nokey a",
        "ZRANDMEMBER z",
        "ZSCAN z 0",
        "ZMSCORE z a",
    ] {
        z.c(cmd);
    }
    assert_eq!(info_field(&mut z, "stats", "keyspace_hits"), 7);
    assert_eq!(info_field(&mut z, "stats", "keyspace_misses"), 2);
}

#[test]
fn zsets_under_keyspace_commands() {
    let srv = TestServer::start(&["--enable-debug-command", "yes"]);
    let mut z = Z::new(&srv, false);
    z.ok("ZADD z 1 a 2 b", ":2");
    z.ok("COPY z c", ":1");
    z.ok("ZADD c 10 a", ":0");
    z.ok("ZSCORE z a", "1");
    z.ok("ZSCORE c a", "10");
    z.ok("RENAME c d", "+OK");
    z.ok("ZRANGE d 0 -1 WITHSCORES", "*[b 2 a 10]");
    z.ok("TYPE d", "+zset");
    // A skiplist copy is deep and keeps working.
    z.ok("CONFIG SET zset-max-listpack-entries 1", "+OK");
    z.ok("ZADD d 3 x", ":1");
    z.ok("OBJECT ENCODING d", "skiplist");
    z.ok("COPY d e", ":1");
    z.ok("OBJECT ENCODING e", "skiplist");
    z.ok("ZREM e b", ":1");
    z.ok("ZINCRBY e 1 new", "1");
    z.ok("ZRANGE d 0 -1", "*[b x a]");
    z.ok("ZRANGE e 0 -1 WITHSCORES", "*[new 1 x 3 a 10]");
    z.ok("ZRANK e a", ":2");
    // Writes keep the TTL; an expired zset reads as missing.
    z.ok("PEXPIRE z 1000", ":1");
    z.ok("ZADD z 3 c", ":1");
    z.ok("ZREM z c", ":1");
    let ttl = z.c("PTTL z");
    assert!(ttl.starts_with(':') && !ttl.starts_with(":-"), "{ttl}");
    z.ok("DEBUG ADVANCE-CLOCK 2000", "+OK");
    z.ok("ZCARD z", ":0");
    z.ok("ZRANGE z 0 -1", "*[]");
    z.ok("EXISTS z", ":0");
    // Popping the last member deletes the key and its TTL.
    z.ok("ZADD t 1 a", ":1");
    z.ok("EXPIRE t 100", ":1");
    z.ok("ZPOPMIN t", "*[a 1]");
    z.ok("EXISTS t", ":0");
    z.ok("ZADD t 1 a", ":1");
    z.ok("TTL t", ":-1");
    // Binary-safe members.
    z.r.send(b"*4\r\n$4\r\nZADD\r\n$3\r\nbin\r\n$1\r\n1\r\n$3\r\na\x00b\r\n");
    assert_eq!(z.r.read_replies(1), b":1\r\n");
    z.r.send(b"*3\r\n$6\r\nZSCORE\r\n$3\r\nbin\r\n$3\r\na\x00b\r\n");
    assert_eq!(z.r.read_replies(1), b"$1\r\n1\r\n");
    z.r.send(b"*4\r\n$6\r\nZRANGE\r\n$3\r\nbin\r\n$1\r\n0\r\n$2\r\n-1\r\n");
    assert_eq!(z.r.read_replies(1), b"*1\r\n$3\r\na\x00b\r\n");
}

/// Lex ranges over members with different scores are unspecified, but a
/// listpack answers as Redis's scan does (values from a real server).
#[test]
fn lex_ranges_over_mixed_scores_in_a_listpack() {
    let srv = server();
    let mut z = Z::new(&srv, false);
    z.ok("ZADD m 3 a 1 b 2 c 0 d 5 e", ":5");
    z.ok("ZRANGE m 0 -1", "*[d b c a e]");
    z.ok("ZRANGEBYLEX m [b +", "*[d b c a e]");
    z.ok("ZRANGEBYLEX m - [c", "*[]");
    z.ok("ZREVRANGEBYLEX m + [b", "*[e]");
    z.ok("ZREVRANGEBYLEX m [c -", "*[]");
    z.ok("ZRANGEBYLEX m [b + LIMIT 1 10", "*[b c a e]");
    z.ok("ZRANGEBYLEX m [b + LIMIT 4 10", "*[e]");
    z.ok("ZLEXCOUNT m [b +", ":5");
    z.ok("ZLEXCOUNT m - [c", ":0");
    z.ok("ZLEXCOUNT m [b [d", ":4");
    z.ok("ZREMRANGEBYLEX m [a [c", ":0");
    z.ok("ZCARD m", ":5");
}
