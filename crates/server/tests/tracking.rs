#![allow(clippy::unwrap_used)]
//! CLIENT TRACKING (client-side caching): the same scenarios on Larder
//! and on a real Redis, every byte each connection receives compared;
//! and redis-py's client-side cache in the CI smoke test.

mod common;
mod real_redis;

use std::io::{Read, Write};
use std::time::Duration;

use common::{RawConn, TestServer};

fn encode(args: &[String]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", args.len()).into_bytes();
    for a in args {
        out.extend_from_slice(format!("${}\r\n{a}\r\n", a.len()).as_bytes());
    }
    out
}

fn drain(c: &mut RawConn) -> String {
    c.s.set_read_timeout(Some(Duration::from_millis(15))).unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 65536];
    loop {
        match c.s.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => got.extend_from_slice(&buf[..n]),
        }
    }
    String::from_utf8_lossy(&got).into_owned()
}

/// Runs `steps` (connection index, command with `$ID<n>` standing for
/// connection n's client id) on `conns`; after each step, what every
/// connection received.
fn run(conns: &mut [RawConn], steps: &[(usize, &[&str])]) -> Vec<String> {
    let mut ids = Vec::new();
    for c in conns.iter_mut() {
        let r = c.cmd(&["CLIENT", "ID"]);
        ids.push(r.trim_start_matches(':').trim().to_string());
    }
    let mut log = Vec::new();
    for (i, (who, cmd)) in steps.iter().enumerate() {
        let args: Vec<String> = cmd
            .iter()
            .map(|a| match a.strip_prefix("$ID") {
                Some(n) => ids[n.parse::<usize>().unwrap()].clone(),
                None => a.to_string(),
            })
            .collect();
        conns[*who].s.write_all(&encode(&args)).unwrap();
        std::thread::sleep(Duration::from_millis(20));
        for (j, c) in conns.iter_mut().enumerate() {
            let mut got = drain(c);
            if cmd[0] == "HELLO" {
                // Versions and ids differ between the servers.
                got = "hello".into();
            }
            for (n, id) in ids.iter().enumerate() {
                got = got.replace(&format!(":{id}\r\n"), &format!(":$ID{n}\r\n"));
            }
            if !got.is_empty() {
                log.push(format!("step {i} {cmd:?} -> conn {j}: {got:?}"));
            }
        }
    }
    log
}

fn compare(steps: &[(usize, &[&str])], nconns: usize, extra: &[&str]) {
    if !real_redis::available() {
        return;
    }
    let larder = TestServer::start(extra);
    let redis = real_redis::Redis::start(extra);
    let mut lc: Vec<RawConn> = (0..nconns).map(|_| larder.raw()).collect();
    let mut rc: Vec<RawConn> = (0..nconns).map(|_| redis.raw()).collect();
    let ours = run(&mut lc, steps);
    let theirs = run(&mut rc, steps);
    assert_eq!(ours, theirs, "\nlarder: {ours:#?}\nredis: {theirs:#?}");
}

#[test]
fn resp3_default_mode() {
    compare(
        &[
            (0, &["HELLO", "3"]),
            (0, &["CLIENT", "TRACKING", "ON"]),
            (0, &["CLIENT", "TRACKINGINFO"]),
            (0, &["CLIENT", "GETREDIR"]),
            (1, &["SET", "k", "1"]),
            (0, &["GET", "k"]),
            (0, &["MGET", "k", "k2"]),
            (1, &["SET", "k", "2"]),
            (1, &["SET", "k", "3"]),
            (0, &["GET", "k"]),
            (1, &["DEL", "k"]),
            (0, &["GET", "k2"]),
            (0, &["SET", "k2", "mine"]),
            (0, &["HSET", "h", "f", "v"]),
            (0, &["HGET", "h", "f"]),
            (1, &["HDEL", "h", "f"]),
            (0, &["GET", "k3"]),
            (1, &["FLUSHALL"]),
            (0, &["CLIENT", "TRACKING", "OFF"]),
            (0, &["CLIENT", "TRACKINGINFO"]),
            (0, &["GET", "k"]),
            (1, &["SET", "k", "4"]),
        ],
        2,
        &[],
    );
}

#[test]
fn noloop_optin_optout_and_errors() {
    compare(
        &[
            (0, &["HELLO", "3"]),
            (0, &["CLIENT", "CACHING", "YES"]),
            (0, &["CLIENT", "TRACKING", "ON", "PREFIX", "a"]),
            (0, &["CLIENT", "TRACKING", "ON", "OPTIN", "OPTOUT"]),
            (0, &["CLIENT", "TRACKING", "ON", "BCAST", "OPTIN"]),
            (0, &["CLIENT", "TRACKING", "ON", "REDIRECT", "999999"]),
            (0, &["CLIENT", "TRACKING", "MAYBE"]),
            (0, &["CLIENT", "TRACKING", "ON", "NOLOOP"]),
            (0, &["GET", "a"]),
            (0, &["SET", "a", "1"]),
            (1, &["SET", "a", "2"]),
            (0, &["GET", "a"]),
            (1, &["SET", "a", "3"]),
            (0, &["CLIENT", "TRACKING", "ON", "BCAST"]),
            (0, &["CLIENT", "TRACKING", "OFF"]),
            (0, &["CLIENT", "TRACKING", "ON", "OPTIN"]),
            (0, &["CLIENT", "CACHING", "NO"]),
            (0, &["GET", "b"]),
            (1, &["SET", "b", "1"]),
            (0, &["CLIENT", "CACHING", "YES"]),
            (0, &["CLIENT", "TRACKINGINFO"]),
            (0, &["GET", "b"]),
            (0, &["CLIENT", "TRACKINGINFO"]),
            (1, &["SET", "b", "2"]),
            (0, &["CLIENT", "TRACKING", "OFF"]),
            (0, &["CLIENT", "TRACKING", "ON", "OPTOUT"]),
            (0, &["CLIENT", "CACHING", "NO"]),
            (0, &["GET", "c"]),
            (1, &["SET", "c", "1"]),
            (0, &["GET", "c"]),
            (1, &["SET", "c", "2"]),
        ],
        2,
        &[],
    );
}

#[test]
fn bcast_prefixes_and_resp2_redirect() {
    compare(
        &[
            // conn 0: RESP2 subscriber receiving conn 1's invalidations.
            (0, &["SUBSCRIBE", "__redis__:invalidate"]),
            (1, &["CLIENT", "TRACKING", "ON", "REDIRECT", "$ID0"]),
            (1, &["CLIENT", "GETREDIR"]),
            (1, &["GET", "x"]),
            (2, &["SET", "x", "1"]),
            (2, &["FLUSHDB"]),
            // conn 2: BCAST with prefixes, RESP3.
            (2, &["HELLO", "3"]),
            (
                2,
                &["CLIENT", "TRACKING", "ON", "BCAST", "PREFIX", "user:", "PREFIX", "us"],
            ),
            (
                2,
                &[
                    "CLIENT", "TRACKING", "ON", "BCAST", "PREFIX", "user:", "PREFIX", "post:",
                ],
            ),
            (2, &["CLIENT", "TRACKINGINFO"]),
            (3, &["SET", "user:1", "a"]),
            (3, &["SET", "other", "b"]),
            (3, &["SET", "post:9", "c"]),
            (2, &["CLIENT", "TRACKING", "ON", "PREFIX", "x"]),
            (3, &["CLIENT", "KILL", "ID", "$ID0"]),
            (3, &["SET", "x", "2"]),
            (1, &["GET", "x"]),
            (3, &["SET", "x", "3"]),
            (1, &["CLIENT", "TRACKINGINFO"]),
        ],
        4,
        &[],
    );
}

#[test]
fn expired_keys_are_invalidated() {
    let s = TestServer::start(&[]);
    let mut c = s.raw3();
    let mut w = s.raw();
    assert_eq!(c.cmd(&["CLIENT", "TRACKING", "ON"]), "+OK\r\n");
    w.cmd(&["SET", "short", "v", "PX", "50"]);
    assert_eq!(c.cmd(&["GET", "short"]), "$1\r\nv\r\n");
    // The cron's active expiry removes it; the client hears about it.
    std::thread::sleep(Duration::from_millis(400));
    let got = drain(&mut c);
    assert_eq!(got, ">2\r\n$10\r\ninvalidate\r\n*1\r\n$5\r\nshort\r\n");
    let info = w.cmd(&["INFO", "clients"]);
    assert!(info.contains("tracking_clients:1"), "{info}");
    let list = w.cmd(&["CLIENT", "LIST"]);
    assert!(list.contains("flags=t "), "{list}");
}

/// A blocked BLMOVE served by another client's push is a write of its
/// own: a tracking client that read its destination is invalidated, and
/// a keyspace subscriber sees its events (rpush, lpop, del) as in Redis.
#[test]
fn served_blocked_commands_invalidate_and_notify() {
    compare(
        &[
            (0, &["HELLO", "3"]),
            (0, &["CLIENT", "TRACKING", "ON"]),
            (0, &["LRANGE", "dst", "0", "-1"]),
            (0, &["GET", "q"]),
            (2, &["PSUBSCRIBE", "__key*__:*"]),
            (1, &["BLMOVE", "src", "dst", "LEFT", "RIGHT", "0"]),
            (3, &["RPUSH", "src", "x"]),
            (1, &["BLPOP", "q", "0"]),
            // (A count no client id can be mistaken for.)
            (
                3,
                &["RPUSH", "q", "a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l"],
            ),
            (0, &["LRANGE", "dst", "0", "-1"]),
            (0, &["LRANGE", "q", "0", "-1"]),
        ],
        4,
        &["--notify-keyspace-events", "KEA"],
    );
}
