#![allow(clippy::unwrap_used)]
//! Keyspace notifications: the same commands on Larder and on a real
//! Redis, with a pattern subscriber on both, must publish the same
//! events; expiry and eviction publish `expired` / `evicted`.

mod common;
mod real_redis;

use std::time::Duration;

use common::{RawConn, TestServer};

/// The commands, each followed by the events a subscriber saw.
const SCRIPT: &[&[&str]] = &[
    &["SET", "s", "1"],
    &["SET", "s", "2", "EX", "100"],
    &["SETEX", "s2", "100", "v"],
    &["APPEND", "s", "x"],
    &["SETRANGE", "s", "0", "y"],
    &["INCR", "n"],
    &["INCRBYFLOAT", "n", "1.5"],
    &["MSET", "a", "1", "b", "2"],
    &["SETNX", "a", "9"],
    &["GETDEL", "b"],
    &["EXPIRE", "a", "100"],
    &["PERSIST", "a"],
    &["GETEX", "a", "EX", "50"],
    &["GETEX", "a", "PERSIST"],
    &["RENAME", "a", "a2"],
    &["COPY", "a2", "a3"],
    &["DEL", "a2", "a3", "nothere"],
    &["RPUSH", "l", "1", "2", "3"],
    &["LPUSH", "l", "0"],
    &["LPOP", "l"],
    &["RPOP", "l", "2"],
    &["LMOVE", "l", "l2", "LEFT", "RIGHT"],
    &["RPUSH", "l", "a", "b"],
    &["LSET", "l", "0", "z"],
    &["LINSERT", "l", "BEFORE", "z", "y"],
    &["LREM", "l", "1", "y"],
    &["LTRIM", "l", "5", "10"],
    &["SADD", "st", "a", "b", "c"],
    &["SREM", "st", "a"],
    &["SMOVE", "st", "st2", "b"],
    &["SADD", "st", "q"],
    &["SINTERSTORE", "st3", "st", "st2"],
    &["SUNIONSTORE", "st3", "st", "st2"],
    &["HSET", "h", "f", "1", "g", "2"],
    &["HINCRBY", "h", "f", "2"],
    &["HINCRBYFLOAT", "h", "f", "0.5"],
    &["HDEL", "h", "f", "g"],
    &["ZADD", "z", "1", "a", "2", "b"],
    &["ZADD", "z", "INCR", "5", "a"],
    &["ZINCRBY", "z", "1", "b"],
    &["ZREM", "z", "a"],
    &["ZADD", "z", "3", "c", "4", "d"],
    &["ZPOPMIN", "z"],
    &["ZREMRANGEBYSCORE", "z", "0", "3"],
    &["ZUNIONSTORE", "z2", "1", "z"],
    &["ZRANGESTORE", "z3", "z", "0", "-1"],
    &["ZREMRANGEBYRANK", "z", "0", "-1"],
    &["GET", "missing"],
    &[
        "RESTORE",
        "r",
        "0",
        "\u{0}\u{3}abc\n\u{0}\u{f8}\u{ce}\u{3}\u{13}\u{a3}\u{9c}\u{93}\u{ae}",
    ],
    &["RPUSH", "srt", "3", "1", "2"],
    &["SORT", "srt", "STORE", "sorted"],
    &["SORT", "nothing", "STORE", "sorted"],
    &["SADD", "sa", "1", "2"],
    &["SADD", "sb", "1", "2"],
    &["SDIFFSTORE", "sc", "sa", "sb"],
    &["SADD", "sc", "9"],
    &["SDIFFSTORE", "sc", "sa", "sb"],
    &["SPOP", "sa"],
    &["SPOP", "sa", "5"],
    &["HSETNX", "h2", "f", "v"],
    &["HSETNX", "h2", "f", "w"],
    &["RPUSH", "q", "1", "2"],
    &["RPOPLPUSH", "q", "q2"],
    &["LMPOP", "2", "nope", "q", "LEFT"],
    &["BLPOP", "q2", "0"],
    &["ZADD", "zz", "1", "a", "2", "b", "3", "c"],
    &["ZMPOP", "1", "zz", "MAX", "COUNT", "2"],
    &["BZPOPMIN", "zz", "0"],
    &["ZADD", "zz", "1", "a"],
    &["ZDIFFSTORE", "zd", "1", "zz"],
    &["SET", "e", "1"],
    &["EXPIRE", "e", "-1"],
    &["SET", "e", "1"],
    &["PEXPIREAT", "e", "1"],
    &["DECRBY", "n2", "5"],
    &["MSETNX", "m1", "1", "m2", "2"],
    &["GETSET", "m1", "3"],
    &["LPUSHX", "nolist", "1"],
    &["RPUSHX", "q2", "x"],
    &["MOVE", "s", "1"],
    &["SELECT", "1"],
    &["SET", "other", "db"],
    &["SELECT", "0"],
];

fn settle(sub: &mut RawConn) -> String {
    // Everything published by now arrives well within this.
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

/// `pmessage` frames as "channel message" lines.
fn brief(raw: &str) -> String {
    let parts: Vec<&str> = raw.split("\r\n").collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < parts.len() {
        if parts[i] == "pmessage" && i + 6 < parts.len() {
            out.push(format!("{} {}", parts[i + 4], parts[i + 6]));
            i += 7;
        } else {
            i += 1;
        }
    }
    out.join(" | ")
}

fn events(port_conn: (&mut RawConn, &mut RawConn)) -> Vec<String> {
    let (c, sub) = port_conn;
    let mut out = Vec::new();
    for cmd in SCRIPT {
        c.cmd(cmd);
        out.push(format!("{cmd:?} => {}", brief(&settle(sub))));
    }
    out
}

fn subscriber(mut sub: RawConn) -> RawConn {
    let r = sub.cmd(&["PSUBSCRIBE", "__key*__:*"]);
    assert!(r.contains("psubscribe"), "{r}");
    sub
}

#[test]
fn same_events_as_redis() {
    if !real_redis::available() {
        return;
    }
    let flags = "AKEmn";
    let larder = TestServer::start(&["--notify-keyspace-events", flags]);
    let redis = real_redis::Redis::start(&["--notify-keyspace-events", flags]);
    let mut lc = larder.raw();
    let mut rc = redis.raw();
    let get = ["CONFIG", "GET", "notify-keyspace-events"];
    assert_eq!(lc.cmd(&get), rc.cmd(&get));
    let mut lsub = subscriber(larder.raw());
    let mut rsub = subscriber(redis.raw());
    let ours = events((&mut lc, &mut lsub));
    let theirs = events((&mut rc, &mut rsub));
    let diffs: Vec<String> = ours
        .iter()
        .zip(&theirs)
        .filter(|(a, b)| a != b)
        .map(|(a, b)| format!("larder: {a}\nredis:  {b}"))
        .collect();
    assert!(diffs.is_empty(), "{}", diffs.join("\n\n"));
}

#[test]
fn expired_and_evicted() {
    let s = TestServer::start(&["--notify-keyspace-events", "Exe", "--enable-debug-command", "yes"]);
    let mut c = s.raw();
    let mut sub = s.raw();
    sub.cmd(&["SUBSCRIBE", "__keyevent@0__:expired", "__keyevent@0__:evicted"]);
    c.cmd(&["SET", "gone", "1", "PX", "1"]);
    std::thread::sleep(Duration::from_millis(5));
    // A read finds it expired.
    assert_eq!(c.cmd(&["GET", "gone"]), "$-1\r\n");
    let got = settle(&mut sub);
    assert!(got.contains("$22\r\n__keyevent@0__:expired\r\n$4\r\ngone\r\n"), "{got}");
    // Active expiry (the cron) publishes too.
    c.cmd(&["SET", "later", "1", "PX", "1"]);
    std::thread::sleep(Duration::from_millis(400));
    let got = settle(&mut sub);
    assert!(got.contains("__keyevent@0__:expired\r\n$5\r\nlater\r\n"), "{got}");
    // Eviction.
    c.cmd(&["CONFIG", "SET", "maxmemory-policy", "allkeys-lru"]);
    for i in 0..200 {
        c.cmd(&["SET", &format!("k{i}"), &"x".repeat(1000)]);
    }
    let used: u64 = c.cmd(&["MEMORY", "STATS"]).len() as u64; // any command
    let _ = used;
    let info = c.cmd(&["INFO", "memory"]);
    let used_memory: u64 = info
        .lines()
        .find_map(|l| l.strip_prefix("used_memory:"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    c.cmd(&["CONFIG", "SET", "maxmemory", &(used_memory - 50_000).to_string()]);
    c.cmd(&["SET", "trigger", "1"]);
    let got = settle(&mut sub);
    assert!(got.contains("__keyevent@0__:evicted\r\n"), "{got}");
}
