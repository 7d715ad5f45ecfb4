#![allow(clippy::unwrap_used)]
//! SLOWLOG: the same commands on Larder and on a real Redis with
//! `slowlog-log-slower-than 0` log the same entries (arguments as sent,
//! cut and redacted as Redis does, scripts' own calls as `?:0`, commands
//! inside EXEC one by one, a served BLPOP after the push that served it),
//! compared with the timestamps, durations and ports left out.

mod common;
mod real_redis;

use std::time::{Duration, Instant};

use common::{RawConn, TestServer};
use larder_protocol::{parse_frame, Frame};

fn frame(raw: &str) -> Frame {
    parse_frame(raw.as_bytes()).unwrap().unwrap().0
}

fn text(f: &Frame) -> String {
    match f {
        Frame::Bulk(b) | Frame::Simple(b) => String::from_utf8_lossy(b).into_owned(),
        Frame::Integer(n) => n.to_string(),
        other => format!("{other:?}"),
    }
}

/// SLOWLOG GET -1 as (args, peer kind, name) lines, oldest first; checks
/// the ids count down by one.
fn entries(c: &mut RawConn) -> Vec<String> {
    let Frame::Array(items) = frame(&c.cmd(&["SLOWLOG", "GET", "-1"])) else {
        panic!("not an array")
    };
    let mut out = Vec::new();
    let mut last_id: Option<i64> = None;
    for e in items {
        let Frame::Array(f) = e else {
            panic!("entry not an array")
        };
        assert_eq!(f.len(), 6);
        let Frame::Integer(id) = f[0] else { panic!("id") };
        if let Some(l) = last_id {
            assert_eq!(id, l - 1, "ids are consecutive, newest first");
        }
        last_id = Some(id);
        assert!(
            matches!(f[1], Frame::Integer(t) if t > 1_600_000_000),
            "timestamp {:?}",
            f[1]
        );
        assert!(matches!(f[2], Frame::Integer(d) if d >= 0));
        let Frame::Array(args) = &f[3] else { panic!("args") };
        let args: Vec<String> = args.iter().map(text).collect();
        let peer = text(&f[4]);
        let peer = if peer == "?:0" { peer } else { "client".into() };
        out.push(format!("{} | {peer} | {}", args.join(" "), text(&f[5])));
    }
    out.reverse();
    // How often the test polled INFO while waiting is timing.
    out.retain(|l| !l.starts_with("INFO clients"));
    out
}

fn wait_blocked(c: &mut RawConn, n: usize) {
    let start = Instant::now();
    while !c
        .cmd(&["INFO", "clients"])
        .contains(&format!("blocked_clients:{n}\r\n"))
    {
        assert!(start.elapsed() < Duration::from_secs(10), "never blocked");
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// The scenario on one server; what SLOWLOG shows after it.
fn scenario(mut a: RawConn, mut b: RawConn) -> Vec<String> {
    a.cmd(&["CONFIG", "SET", "slowlog-log-slower-than", "0"]);
    a.cmd(&["SLOWLOG", "RESET"]);
    a.cmd(&["CLIENT", "SETNAME", "alice"]);
    a.cmd(&["SET", "k", &"x".repeat(200)]);
    let many: Vec<String> = (1..=40).map(|i| i.to_string()).collect();
    let mut rpush = vec!["RPUSH", "l"];
    rpush.extend(many.iter().map(|s| s.as_str()));
    a.cmd(&rpush);
    a.cmd(&["MULTI"]);
    a.cmd(&["SET", "a", "1"]);
    a.cmd(&["incr", "a"]);
    a.cmd(&["EXEC"]);
    a.cmd(&["EVAL", "redis.call('set', KEYS[1], '2') return 1", "1", "b"]);
    a.cmd(&["AUTH", "secret"]);
    a.cmd(&["AUTH", "someone", "secret"]);
    // A blocked pop is logged once served, after the push.
    b.send(b"*3\r\n$5\r\nBLPOP\r\n$1\r\nq\r\n$1\r\n0\r\n");
    wait_blocked(&mut a, 1);
    a.cmd(&["RPUSH", "q", "v"]);
    assert!(String::from_utf8_lossy(&b.read_replies(1)).contains('v'));
    // A timed-out one is not.
    b.cmd(&["BLPOP", "nothing", "0.01"]);
    // The wrong arity never runs: not logged.
    a.cmd(&["GET"]);
    a.cmd(&["SLOWLOG", "LEN"]);
    let mut got = entries(&mut a);
    // A shorter log keeps the newest; -1 turns logging off.
    a.cmd(&["CONFIG", "SET", "slowlog-max-len", "3"]);
    got.push(format!("after max-len 3: {:?}", entries(&mut a)));
    a.cmd(&["CONFIG", "SET", "slowlog-log-slower-than", "-1"]);
    a.cmd(&["SET", "unlogged", "1"]);
    got.push(format!("off: {}", a.cmd(&["SLOWLOG", "LEN"]).trim()));
    got.push(format!("get x: {}", a.cmd(&["SLOWLOG", "GET", "x"]).trim()));
    got.push(format!("get -2: {}", a.cmd(&["SLOWLOG", "GET", "-2"]).trim()));
    got.push(format!("get 1: {}", entries_count(&mut a, "1")));
    got.push(format!("reset: {}", a.cmd(&["SLOWLOG", "RESET"]).trim()));
    got.push(format!("len: {}", a.cmd(&["SLOWLOG", "LEN"]).trim()));
    got
}

fn entries_count(c: &mut RawConn, n: &str) -> usize {
    match frame(&c.cmd(&["SLOWLOG", "GET", n])) {
        Frame::Array(v) => v.len(),
        other => panic!("{other:?}"),
    }
}

#[test]
fn same_entries_as_redis() {
    let larder = TestServer::start(&[]);
    let ours = scenario(larder.raw(), larder.raw());
    // Without a Redis here, the expectations that do not need one.
    assert!(ours.contains(&"EVAL redis.call('set', KEYS[1], '2') return 1 1 b | client | alice".to_string()));
    assert!(ours.contains(&"set b 2 | ?:0 | ".to_string()), "{ours:#?}");
    assert!(ours.contains(&"AUTH (redacted) | client | alice".to_string()));
    if !real_redis::available() {
        return;
    }
    let redis = real_redis::Redis::start(&[]);
    let theirs = scenario(redis.raw(), redis.raw());
    assert_eq!(ours, theirs, "\nlarder: {ours:#?}\nredis: {theirs:#?}");
    // Its help and errors. (COMMAND INFO lists subcommands by name;
    // Redis's order comes from a hash.)
    for cmd in [&["SLOWLOG", "HELP"][..], &["SLOWLOG", "NOPE"], &["SLOWLOG", "LEN", "x"]] {
        assert_eq!(larder.raw().cmd(cmd), redis.raw().cmd(cmd), "{cmd:?}");
    }
}
