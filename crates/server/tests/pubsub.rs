#![allow(clippy::unwrap_used)]
//! Pub/Sub: SUBSCRIBE / PSUBSCRIBE / SSUBSCRIBE, PUBLISH / SPUBLISH,
//! PUBSUB, subscribed-mode rules, delivery across I/O threads, and the
//! pubsub output buffer limits; byte-for-byte comparisons with a real
//! Redis where one is installed.

mod common;
mod real_redis;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use common::resp::{arr, bulk, int};
use common::{count_frames, RawConn, TestServer};

fn server() -> TestServer {
    TestServer::start(&[])
}

/// A (un)subscribe confirmation or message as RESP2 (`*`) or RESP3 (`>`).
fn push(resp3: bool, items: &[&str]) -> String {
    let mut s = format!("{}{}\r\n", if resp3 { '>' } else { '*' }, items.len());
    for i in items {
        s.push_str(&bulk(i));
    }
    s
}

fn confirm(resp3: bool, kind: &str, name: &str, n: i64) -> String {
    format!(
        "{}3\r\n{}{}{}",
        if resp3 { '>' } else { '*' },
        bulk(kind),
        bulk(name),
        int(n)
    )
}

fn send(r: &mut RawConn, args: &[&str]) {
    let mut req = format!("*{}\r\n", args.len());
    for a in args {
        req.push_str(&format!("${}\r\n{}\r\n", a.len(), a));
    }
    r.send(req.as_bytes());
}

/// Sends a command and reads `n` replies.
fn cmd_n(r: &mut RawConn, args: &[&str], n: usize) -> String {
    send(r, args);
    String::from_utf8_lossy(&r.read_replies(n)).into_owned()
}

fn read_n(r: &mut RawConn, n: usize) -> String {
    String::from_utf8_lossy(&r.read_replies(n)).into_owned()
}

fn numsub(r: &mut RawConn, ch: &str) -> String {
    r.cmd(&["PUBSUB", "NUMSUB", ch])
}

/// Polls until `f` holds (the server cleans up asynchronously).
fn eventually(mut f: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if f() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

#[test]
fn subscribe_and_publish_resp2() {
    let srv = server();
    let mut sub = srv.raw();
    let mut publ = srv.raw();
    assert_eq!(
        cmd_n(&mut sub, &["SUBSCRIBE", "a", "b"], 2),
        confirm(false, "subscribe", "a", 1) + &confirm(false, "subscribe", "b", 2)
    );
    // Subscribing again keeps the count.
    assert_eq!(
        cmd_n(&mut sub, &["SUBSCRIBE", "a"], 1),
        confirm(false, "subscribe", "a", 2)
    );
    assert_eq!(publ.cmd(&["PUBLISH", "a", "hello"]), int(1));
    assert_eq!(read_n(&mut sub, 1), push(false, &["message", "a", "hello"]));
    assert_eq!(publ.cmd(&["PUBLISH", "nobody", "x"]), int(0));
    assert_eq!(publ.cmd(&["PUBLISH", "b", ""]), int(1));
    assert_eq!(read_n(&mut sub, 1), push(false, &["message", "b", ""]));
    // Binary-safe payloads.
    let payload = "x\r\n\0y";
    assert_eq!(publ.cmd(&["PUBLISH", "a", payload]), int(1));
    assert_eq!(read_n(&mut sub, 1), push(false, &["message", "a", payload]));
    assert_eq!(
        cmd_n(&mut sub, &["UNSUBSCRIBE", "a"], 1),
        confirm(false, "unsubscribe", "a", 1)
    );
    assert_eq!(publ.cmd(&["PUBLISH", "a", "x"]), int(0));
    // Unsubscribing from a channel never subscribed still confirms.
    assert_eq!(
        cmd_n(&mut sub, &["UNSUBSCRIBE", "zz"], 1),
        confirm(false, "unsubscribe", "zz", 1)
    );
    assert_eq!(
        cmd_n(&mut sub, &["UNSUBSCRIBE"], 1),
        confirm(false, "unsubscribe", "b", 0)
    );
    // With nothing left: a null channel.
    assert_eq!(
        cmd_n(&mut sub, &["UNSUBSCRIBE"], 1),
        "*3\r\n$11\r\nunsubscribe\r\n$-1\r\n:0\r\n"
    );
    assert_eq!(
        cmd_n(&mut sub, &["PUNSUBSCRIBE"], 1),
        "*3\r\n$12\r\npunsubscribe\r\n$-1\r\n:0\r\n"
    );
    assert_eq!(
        cmd_n(&mut sub, &["SUNSUBSCRIBE"], 1),
        "*3\r\n$12\r\nsunsubscribe\r\n$-1\r\n:0\r\n"
    );
    // Out of subscribed mode: any command again.
    assert_eq!(sub.cmd(&["SET", "k", "v"]), "+OK\r\n");
}

#[test]
fn subscribe_and_publish_resp3() {
    let srv = server();
    let mut sub = srv.raw3();
    let mut publ = srv.raw();
    assert_eq!(
        cmd_n(&mut sub, &["SUBSCRIBE", "a"], 1),
        confirm(true, "subscribe", "a", 1)
    );
    assert_eq!(publ.cmd(&["PUBLISH", "a", "hi"]), int(1));
    assert_eq!(read_n(&mut sub, 1), push(true, &["message", "a", "hi"]));
    // A RESP3 subscriber runs any command.
    assert_eq!(sub.cmd(&["SET", "k", "v"]), "+OK\r\n");
    assert_eq!(sub.cmd(&["GET", "k"]), bulk("v"));
    assert_eq!(sub.cmd(&["PING"]), "+PONG\r\n");
    // Publishing to itself: the message comes before PUBLISH's reply.
    assert_eq!(
        cmd_n(&mut sub, &["PUBLISH", "a", "me"], 2),
        push(true, &["message", "a", "me"]) + &int(1)
    );
    assert_eq!(
        cmd_n(&mut sub, &["PSUBSCRIBE", "a*"], 1),
        confirm(true, "psubscribe", "a*", 2)
    );
    assert_eq!(publ.cmd(&["PUBLISH", "ab", "x"]), int(1));
    assert_eq!(read_n(&mut sub, 1), push(true, &["pmessage", "a*", "ab", "x"]));
    assert_eq!(
        cmd_n(&mut sub, &["UNSUBSCRIBE"], 1),
        confirm(true, "unsubscribe", "a", 1)
    );
    assert_eq!(
        cmd_n(&mut sub, &["PUNSUBSCRIBE"], 1),
        confirm(true, "punsubscribe", "a*", 0)
    );
    assert_eq!(
        cmd_n(&mut sub, &["UNSUBSCRIBE"], 1),
        ">3\r\n$11\r\nunsubscribe\r\n_\r\n:0\r\n"
    );
}

#[test]
fn patterns_receive_pmessages() {
    let srv = server();
    let mut sub = srv.raw();
    let mut publ = srv.raw();
    assert_eq!(
        cmd_n(&mut sub, &["PSUBSCRIBE", "news.*", "n?ws.[ab]"], 2),
        confirm(false, "psubscribe", "news.*", 1) + &confirm(false, "psubscribe", "n?ws.[ab]", 2)
    );
    assert_eq!(
        cmd_n(&mut sub, &["SUBSCRIBE", "news.a"], 1),
        confirm(false, "subscribe", "news.a", 3)
    );
    // One channel subscriber plus two matching patterns.
    assert_eq!(publ.cmd(&["PUBLISH", "news.a", "m"]), int(3));
    let got = read_n(&mut sub, 3);
    assert!(got.starts_with(&push(false, &["message", "news.a", "m"])), "{got}");
    assert!(
        got.contains(&push(false, &["pmessage", "news.*", "news.a", "m"])),
        "{got}"
    );
    assert!(
        got.contains(&push(false, &["pmessage", "n?ws.[ab]", "news.a", "m"])),
        "{got}"
    );
    assert_eq!(publ.cmd(&["PUBLISH", "news.zz", "m2"]), int(1));
    assert_eq!(
        read_n(&mut sub, 1),
        push(false, &["pmessage", "news.*", "news.zz", "m2"])
    );
    assert_eq!(publ.cmd(&["PUBLISH", "other", "m"]), int(0));
    // Two clients on one pattern: NUMPAT counts unique patterns.
    let mut sub2 = srv.raw();
    assert_eq!(
        cmd_n(&mut sub2, &["PSUBSCRIBE", "news.*"], 1),
        confirm(false, "psubscribe", "news.*", 1)
    );
    assert_eq!(publ.cmd(&["PUBSUB", "NUMPAT"]), int(2));
    assert_eq!(publ.cmd(&["PUBLISH", "news.b", "z"]), int(3));
    assert_eq!(
        read_n(&mut sub2, 1),
        push(false, &["pmessage", "news.*", "news.b", "z"])
    );
    assert_eq!(count_frames(&sub.read_replies(2)), 2);
    assert_eq!(
        cmd_n(&mut sub, &["PUNSUBSCRIBE", "news.*"], 1),
        confirm(false, "punsubscribe", "news.*", 2)
    );
    assert_eq!(publ.cmd(&["PUBSUB", "NUMPAT"]), int(2));
    assert_eq!(
        cmd_n(&mut sub2, &["PUNSUBSCRIBE"], 1),
        confirm(false, "punsubscribe", "news.*", 0)
    );
    assert_eq!(publ.cmd(&["PUBSUB", "NUMPAT"]), int(1));
}

#[test]
fn pubsub_introspection_counts() {
    let srv = server();
    let mut s1 = srv.raw();
    let mut s2 = srv.raw();
    let mut r = srv.raw();
    assert_eq!(r.cmd(&["PUBSUB", "CHANNELS"]), "*0\r\n");
    assert_eq!(r.cmd(&["PUBSUB", "NUMSUB"]), "*0\r\n");
    cmd_n(&mut s1, &["SUBSCRIBE", "ch1", "ch2"], 2);
    cmd_n(&mut s2, &["SUBSCRIBE", "ch1"], 1);
    cmd_n(&mut s2, &["PSUBSCRIBE", "p*"], 1);
    cmd_n(&mut s2, &["SSUBSCRIBE", "sh"], 1);
    assert_eq!(
        r.cmd(&["PUBSUB", "NUMSUB", "ch1", "ch2", "nope"]),
        "*6\r\n$3\r\nch1\r\n:2\r\n$3\r\nch2\r\n:1\r\n$4\r\nnope\r\n:0\r\n"
    );
    let ch = r.cmd(&["PUBSUB", "CHANNELS"]);
    assert!(ch == arr(&["ch1", "ch2"]) || ch == arr(&["ch2", "ch1"]), "{ch}");
    assert_eq!(r.cmd(&["PUBSUB", "CHANNELS", "*1"]), arr(&["ch1"]));
    assert_eq!(r.cmd(&["PUBSUB", "NUMPAT"]), int(1));
    assert_eq!(r.cmd(&["PUBSUB", "SHARDCHANNELS"]), arr(&["sh"]));
    assert_eq!(r.cmd(&["PUBSUB", "SHARDCHANNELS", "x*"]), "*0\r\n");
    assert_eq!(
        r.cmd(&["PUBSUB", "SHARDNUMSUB", "sh", "ch1"]),
        "*4\r\n$2\r\nsh\r\n:1\r\n$3\r\nch1\r\n:0\r\n"
    );
    let info = r.cmd(&["INFO", "stats"]);
    assert!(info.contains("pubsub_channels:2\r\n"), "{info}");
    assert!(info.contains("pubsub_patterns:1\r\n"), "{info}");
    assert!(info.contains("pubsubshard_channels:1\r\n"), "{info}");
    let list = r.cmd(&["CLIENT", "LIST", "TYPE", "pubsub"]);
    assert_eq!(list.matches("flags=P").count(), 2, "{list}");
    assert!(list.contains(" sub=2 psub=0 ssub=0 "), "{list}");
    assert!(list.contains(" sub=1 psub=1 ssub=1 "), "{list}");
    // Errors.
    assert_eq!(
        r.cmd(&["PUBSUB", "CHANNELS", "a", "b"]),
        "-ERR unknown subcommand or wrong number of arguments for 'CHANNELS'. Try PUBSUB HELP.\r\n"
    );
    assert_eq!(
        r.cmd(&["PUBSUB", "NUMPAT", "x"]),
        "-ERR wrong number of arguments for 'pubsub|numpat' command\r\n"
    );
    assert_eq!(
        r.cmd(&["PUBSUB", "FOO"]),
        "-ERR unknown subcommand 'FOO'. Try PUBSUB HELP.\r\n"
    );
    assert_eq!(
        r.cmd(&["PUBLISH", "a"]),
        "-ERR wrong number of arguments for 'publish' command\r\n"
    );
    let help = r.cmd(&["PUBSUB", "HELP"]);
    assert!(help.starts_with("*14\r\n+PUBSUB <subcommand>"), "{help}");
    // Disconnection drops the subscriptions.
    drop(s1);
    drop(s2);
    assert!(eventually(
        || r.cmd(&["PUBSUB", "NUMSUB", "ch1"]) == "*2\r\n$3\r\nch1\r\n:0\r\n"
    ));
    assert_eq!(r.cmd(&["PUBSUB", "CHANNELS"]), "*0\r\n");
    assert_eq!(r.cmd(&["PUBSUB", "NUMPAT"]), int(0));
    assert_eq!(r.cmd(&["PUBSUB", "SHARDCHANNELS"]), "*0\r\n");
    let info = r.cmd(&["INFO", "stats"]);
    assert!(info.contains("pubsub_channels:0\r\n"), "{info}");
}

#[test]
fn subscribed_mode_rules_resp2() {
    let srv = server();
    let mut sub = srv.raw();
    cmd_n(&mut sub, &["SUBSCRIBE", "a"], 1);
    assert_eq!(
        sub.cmd(&["GET", "k"]),
        "-ERR Can't execute 'get': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context\r\n"
    );
    assert_eq!(
        sub.cmd(&["CLIENT", "LIST"]),
        "-ERR Can't execute 'client|list': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context\r\n"
    );
    assert_eq!(sub.cmd(&["PING"]), "*2\r\n$4\r\npong\r\n$0\r\n\r\n");
    assert_eq!(sub.cmd(&["PING", "hey"]), "*2\r\n$4\r\npong\r\n$3\r\nhey\r\n");
    assert_eq!(
        cmd_n(&mut sub, &["SSUBSCRIBE", "s"], 1),
        confirm(false, "ssubscribe", "s", 1)
    );
    assert_eq!(
        cmd_n(&mut sub, &["PSUBSCRIBE", "p"], 1),
        confirm(false, "psubscribe", "p", 2)
    );
    // RESET drops every subscription, silently.
    assert_eq!(sub.cmd(&["RESET"]), "+RESET\r\n");
    assert_eq!(sub.cmd(&["GET", "k"]), "$-1\r\n");
    let mut r = srv.raw();
    assert_eq!(numsub(&mut r, "a"), "*2\r\n$1\r\na\r\n:0\r\n");
    assert_eq!(r.cmd(&["PUBSUB", "NUMPAT"]), int(0));
    assert_eq!(r.cmd(&["SPUBLISH", "s", "x"]), int(0));
    // QUIT works while subscribed.
    cmd_n(&mut sub, &["SUBSCRIBE", "a"], 1);
    assert_eq!(sub.cmd(&["QUIT"]), "+OK\r\n");
    assert!(sub.is_closed());
}

#[test]
fn subscribe_inside_multi() {
    let srv = server();
    let mut c = srv.raw();
    assert_eq!(c.cmd(&["MULTI"]), "+OK\r\n");
    assert_eq!(c.cmd(&["SUBSCRIBE", "a"]), "+QUEUED\r\n");
    assert_eq!(c.cmd(&["SSUBSCRIBE", "s"]), "+QUEUED\r\n");
    assert_eq!(
        c.cmd(&["EXEC"]),
        "*2\r\n".to_string()
            + &confirm(false, "subscribe", "a", 1)
            + "-ERR SSUBSCRIBE isn't allowed for a DENY BLOCKING client\r\n"
    );
    let mut r = srv.raw();
    assert_eq!(numsub(&mut r, "a"), "*2\r\n$1\r\na\r\n:1\r\n");
    // A RESP2 subscriber's MULTI is refused and its EXEC aborted.
    assert!(c.cmd(&["MULTI"]).starts_with("-ERR Can't execute 'multi'"));
}

#[test]
fn shard_channels() {
    let srv = server();
    let mut sub = srv.raw();
    let mut publ = srv.raw();
    assert_eq!(
        cmd_n(&mut sub, &["SUBSCRIBE", "g"], 1),
        confirm(false, "subscribe", "g", 1)
    );
    // Shard subscriptions are counted on their own.
    assert_eq!(
        cmd_n(&mut sub, &["SSUBSCRIBE", "s1", "s2"], 2),
        confirm(false, "ssubscribe", "s1", 1) + &confirm(false, "ssubscribe", "s2", 2)
    );
    assert_eq!(publ.cmd(&["SPUBLISH", "s1", "m"]), int(1));
    assert_eq!(read_n(&mut sub, 1), push(false, &["smessage", "s1", "m"]));
    // Global and shard channels are separate namespaces; patterns do
    // not see shard messages.
    assert_eq!(publ.cmd(&["PUBLISH", "s1", "m"]), int(0));
    assert_eq!(publ.cmd(&["SPUBLISH", "g", "m"]), int(0));
    let mut psub = srv.raw();
    cmd_n(&mut psub, &["PSUBSCRIBE", "*"], 1);
    assert_eq!(publ.cmd(&["SPUBLISH", "s2", "m2"]), int(1));
    assert_eq!(read_n(&mut sub, 1), push(false, &["smessage", "s2", "m2"]));
    assert_eq!(
        cmd_n(&mut sub, &["SUNSUBSCRIBE", "s1"], 1),
        confirm(false, "sunsubscribe", "s1", 1)
    );
    assert_eq!(
        cmd_n(&mut sub, &["SUNSUBSCRIBE"], 1),
        confirm(false, "sunsubscribe", "s2", 0)
    );
    // Still subscribed to "g": still in subscribed mode.
    assert!(sub.cmd(&["GET", "x"]).starts_with("-ERR Can't execute"));
    // Shard channels are not keys.
    assert_eq!(
        publ.cmd(&["COMMAND", "GETKEYS", "SPUBLISH", "ch", "msg"]),
        "-ERR The command has no key arguments\r\n"
    );
    // RESP3 smessage is a push.
    let mut s3 = srv.raw3();
    assert_eq!(
        cmd_n(&mut s3, &["SSUBSCRIBE", "z"], 1),
        confirm(true, "ssubscribe", "z", 1)
    );
    assert_eq!(publ.cmd(&["SPUBLISH", "z", "q"]), int(1));
    assert_eq!(read_n(&mut s3, 1), push(true, &["smessage", "z", "q"]));
}

#[test]
fn delivery_across_io_threads() {
    // Several subscribers (dealt to different I/O threads) and several
    // publishers: every message arrives, in each publisher's order.
    let srv = TestServer::start(&["--io-threads", "4"]);
    let mut subs: Vec<RawConn> = (0..6).map(|_| srv.raw()).collect();
    for s in subs.iter_mut() {
        assert_eq!(cmd_n(s, &["SUBSCRIBE", "c"], 1), confirm(false, "subscribe", "c", 1));
    }
    let port = srv.port;
    let publishers: Vec<_> = (0..3)
        .map(|p| {
            std::thread::spawn(move || {
                let s = TcpStream::connect(("127.0.0.1", port)).unwrap();
                s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
                let mut r = RawConn { s };
                for i in 0..100 {
                    assert_eq!(r.cmd(&["PUBLISH", "c", &format!("{p}:{i}")]), int(6));
                }
            })
        })
        .collect();
    for t in publishers {
        t.join().unwrap();
    }
    for s in subs.iter_mut() {
        let got = s.read_replies(300);
        assert_eq!(count_frames(&got), 300);
        let text = String::from_utf8_lossy(&got);
        for p in 0..3 {
            let positions: Vec<usize> = (0..100)
                .map(|i| text.find(&format!("\r\n{p}:{i}\r\n")).unwrap())
                .collect();
            assert!(positions.windows(2).all(|w| w[0] < w[1]), "publisher {p} out of order");
        }
    }
}

fn used_memory(r: &mut RawConn) -> u64 {
    let info = r.cmd(&["INFO", "memory"]);
    info.lines()
        .find_map(|l| l.strip_prefix("used_memory:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap()
}

#[test]
fn slow_subscriber_is_disconnected() {
    let srv = server();
    let mut r = srv.raw();
    assert_eq!(
        r.cmd(&["CONFIG", "SET", "client-output-buffer-limit", "pubsub 64kb 32kb 1"]),
        "+OK\r\n"
    );
    // Subscribes, then never reads.
    let mut slow = srv.raw();
    cmd_n(&mut slow, &["SUBSCRIBE", "big"], 1);
    let mut fast = srv.raw();
    cmd_n(&mut fast, &["SUBSCRIBE", "big"], 1);
    let before = used_memory(&mut r);
    let payload = "x".repeat(32 * 1024);
    let mut published = 0;
    let mut gone = false;
    let mut peak = before;
    // Kernel socket buffers take a few MB before the queue grows.
    for i in 0..2000 {
        let n = r.cmd(&["PUBLISH", "big", &payload]);
        published += 1;
        // The reading subscriber keeps up.
        let got = fast.read_replies(1);
        assert_eq!(count_frames(&got), 1);
        if n == int(1) {
            gone = true;
            break;
        }
        assert_eq!(n, int(2), "publish {i}");
        if i % 50 == 0 {
            peak = peak.max(used_memory(&mut r));
        }
    }
    assert!(gone, "slow subscriber still connected after {published} messages");
    eprintln!("slow subscriber closed after {published} messages; used_memory {before} -> peak {peak}");
    // It was closed and forgotten: only the fast one remains.
    assert_eq!(numsub(&mut r, "big"), "*2\r\n$3\r\nbig\r\n:1\r\n");
    let list = r.cmd(&["CLIENT", "LIST", "TYPE", "pubsub"]);
    assert_eq!(list.matches("id=").count(), 1, "{list}");
    // Memory stayed bounded by the limit, not by what was published.
    assert!(
        peak < before + 8 * 1024 * 1024,
        "used_memory grew from {before} to {peak} after {published} messages of 32 KiB"
    );
    // The slow client's socket ends after what the kernel buffered.
    assert!(
        closed_after_draining(&mut slow),
        "slow subscriber's connection not closed"
    );
    // Publishing goes on, to the reading subscriber only.
    for _ in 0..200 {
        assert_eq!(r.cmd(&["PUBLISH", "big", &payload]), int(1));
        assert_eq!(count_frames(&fast.read_replies(1)), 1);
    }
    let after = used_memory(&mut r);
    assert!(after < before + 8 * 1024 * 1024, "used_memory {before} -> {after}");
}

#[test]
fn soft_limit_closes_after_seconds() {
    let srv = server();
    let mut r = srv.raw();
    // A huge hard limit, a soft limit of 64 KiB for 1 second.
    assert_eq!(
        r.cmd(&["CONFIG", "SET", "client-output-buffer-limit", "pubsub 0 64kb 1"]),
        "+OK\r\n"
    );
    let mut slow = srv.raw();
    cmd_n(&mut slow, &["SUBSCRIBE", "c"], 1);
    let payload = "y".repeat(64 * 1024);
    let start = Instant::now();
    let mut gone = false;
    while start.elapsed() < Duration::from_secs(20) {
        if r.cmd(&["PUBLISH", "c", &payload]) == int(0) {
            gone = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    assert!(gone, "soft limit never closed the subscriber");
    assert!(start.elapsed() >= Duration::from_secs(1));
}

#[test]
fn redis_crate_pubsub() {
    let srv = server();
    let mut c = srv.conn();
    let mut publ = srv.conn();
    let mut ps = c.as_pubsub();
    ps.subscribe("rc").unwrap();
    ps.psubscribe("rp.*").unwrap();
    ps.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let n: i64 = redis::cmd("PUBLISH").arg("rc").arg("one").query(&mut publ).unwrap();
    assert_eq!(n, 1);
    let m = ps.get_message().unwrap();
    assert_eq!(m.get_channel_name(), "rc");
    assert_eq!(m.get_payload::<String>().unwrap(), "one");
    let n: i64 = redis::cmd("PUBLISH").arg("rp.x").arg("two").query(&mut publ).unwrap();
    assert_eq!(n, 1);
    let m = ps.get_message().unwrap();
    assert_eq!(m.get_channel_name(), "rp.x");
    assert_eq!(m.get_pattern::<String>().unwrap(), "rp.*");
    assert_eq!(m.get_payload::<String>().unwrap(), "two");
    ps.unsubscribe("rc").unwrap();
    ps.punsubscribe("rp.*").unwrap();
    drop(ps);
    let v: Option<String> = redis::cmd("GET").arg("k").query(&mut c).unwrap();
    assert_eq!(v, None);
}

// ------------------------------------------------- against a real Redis

fn connect(port: u16) -> RawConn {
    let s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    RawConn { s }
}

/// Runs `steps` (connection, command or empty to only read, replies to
/// read) against the server on `port`; returns each step's bytes.
fn run_script(port: u16, steps: &[(usize, &[&str], usize)]) -> Vec<String> {
    let mut conns: Vec<RawConn> = (0..3).map(|_| connect(port)).collect();
    steps
        .iter()
        .map(|(c, args, n)| {
            let r = &mut conns[*c];
            if !args.is_empty() {
                send(r, args);
            }
            read_n(r, *n)
        })
        .collect()
}

#[test]
fn replies_match_redis() {
    if !real_redis::available() {
        return;
    }
    let redis = real_redis::Redis::start(&[]);
    let srv = server();
    let steps: &[(usize, &[&str], usize)] = &[
        (0, &["SUBSCRIBE", "a"], 1),
        (0, &["PSUBSCRIBE", "a*", "b?"], 2),
        (0, &["SSUBSCRIBE", "s"], 1),
        (0, &["PING"], 1),
        (0, &["PING", "x"], 1),
        (0, &["GET", "a"], 1),
        (0, &["CONFIG", "GET", "maxmemory"], 1),
        (1, &["PUBLISH", "a", "hello"], 1),
        (0, &[], 2),
        (1, &["PUBLISH", "bb", "m"], 1),
        (0, &[], 1),
        (1, &["SPUBLISH", "s", "m"], 1),
        (0, &[], 1),
        (1, &["PUBSUB", "NUMSUB", "a", "s", "x"], 1),
        (1, &["PUBSUB", "SHARDNUMSUB", "a", "s"], 1),
        (1, &["PUBSUB", "NUMPAT"], 1),
        (1, &["PUBSUB", "CHANNELS"], 1),
        (1, &["PUBSUB", "SHARDCHANNELS", "s*"], 1),
        (1, &["PUBSUB", "HELP"], 1),
        (1, &["PUBSUB", "channels", "a", "b"], 1),
        (1, &["PUBSUB", "NUMPAT", "x"], 1),
        (1, &["PUBSUB"], 1),
        (1, &["PUBSUB", "nope"], 1),
        (1, &["SUBSCRIBE"], 1),
        (1, &["SPUBLISH", "a"], 1),
        (0, &["UNSUBSCRIBE", "a", "zz"], 2),
        (0, &["PUNSUBSCRIBE", "b?"], 1),
        (0, &["PUNSUBSCRIBE"], 1),
        (0, &["PUNSUBSCRIBE"], 1),
        (0, &["UNSUBSCRIBE"], 1),
        (0, &["SUNSUBSCRIBE", "s"], 1),
        (0, &["SUNSUBSCRIBE"], 1),
        (0, &["PING"], 1),
        // RESP3.
        (2, &["HELLO", "3"], 1),
        (2, &["SUBSCRIBE", "r"], 1),
        (2, &["PSUBSCRIBE", "r*"], 1),
        (1, &["PUBLISH", "r", "v"], 1),
        (2, &[], 2),
        (2, &["PING"], 1),
        (2, &["SET", "k", "v"], 1),
        (2, &["PUBLISH", "r", "self"], 3),
        (2, &["UNSUBSCRIBE"], 1),
        (2, &["UNSUBSCRIBE"], 1),
        (2, &["PUNSUBSCRIBE", "r*"], 1),
        // MULTI.
        (1, &["MULTI"], 1),
        (1, &["SUBSCRIBE", "m"], 1),
        (1, &["SSUBSCRIBE", "m"], 1),
        (1, &["EXEC"], 1),
        (1, &["MULTI"], 1),
        (1, &["RESET"], 1),
        (1, &["GET", "k"], 1),
    ];
    let ours = run_script(srv.port, steps);
    let theirs = run_script(redis.port, steps);
    for (i, (o, t)) in ours.iter().zip(theirs.iter()).enumerate() {
        if steps[i].1.first() == Some(&"HELLO") {
            continue; // versions and ids differ
        }
        assert_eq!(o, t, "step {i}: {:?}", steps[i]);
    }
}

#[test]
fn command_info_matches_redis() {
    if !real_redis::available() {
        return;
    }
    let redis = real_redis::Redis::start(&[]);
    let srv = server();
    let mut ours = srv.raw();
    let mut theirs = connect(redis.port);
    for name in [
        "subscribe",
        "unsubscribe",
        "psubscribe",
        "punsubscribe",
        "publish",
        "ssubscribe",
        "sunsubscribe",
        "spublish",
        "pubsub|channels",
        "pubsub|numsub",
        "pubsub|numpat",
        "pubsub|shardchannels",
        "pubsub|shardnumsub",
        "pubsub|help",
    ] {
        assert_eq!(
            ours.cmd(&["COMMAND", "INFO", name]),
            theirs.cmd(&["COMMAND", "INFO", name]),
            "COMMAND INFO {name}"
        );
    }
    // The container: the same apart from its subcommands' order.
    let o = ours.cmd(&["COMMAND", "INFO", "pubsub"]);
    let t = theirs.cmd(&["COMMAND", "INFO", "pubsub"]);
    assert_eq!(o.len(), t.len());
    let mut ob: Vec<u8> = o.into_bytes();
    let mut tb: Vec<u8> = t.into_bytes();
    ob.sort_unstable();
    tb.sort_unstable();
    assert_eq!(ob, tb);
    for sub in ["SPUBLISH", "SSUBSCRIBE"] {
        assert_eq!(
            ours.cmd(&["COMMAND", "GETKEYS", sub, "a", "b"]),
            theirs.cmd(&["COMMAND", "GETKEYS", sub, "a", "b"])
        );
    }
    let _ = theirs.s.write_all(b"");
}

#[test]
fn resp3_subscriber_receives_while_blocked() {
    let srv = server();
    let mut sub = srv.raw3();
    let mut publ = srv.raw();
    assert_eq!(
        cmd_n(&mut sub, &["SUBSCRIBE", "c"], 1),
        confirm(true, "subscribe", "c", 1)
    );
    send(&mut sub, &["BLPOP", "list", "10"]);
    assert!(eventually(|| publ
        .cmd(&["INFO", "clients"])
        .contains("blocked_clients:1\r\n")));
    assert_eq!(publ.cmd(&["PUBLISH", "c", "while-blocked"]), int(1));
    assert_eq!(read_n(&mut sub, 1), push(true, &["message", "c", "while-blocked"]));
    assert_eq!(publ.cmd(&["RPUSH", "list", "v"]), int(1));
    assert_eq!(read_n(&mut sub, 1), "*2\r\n$4\r\nlist\r\n$1\r\nv\r\n");
}

#[test]
fn client_list_shows_queued_output() {
    let srv = server();
    let mut r = srv.raw();
    let mut sub = srv.raw();
    cmd_n(&mut sub, &["SUBSCRIBE", "c"], 1);
    let list = r.cmd(&["CLIENT", "LIST", "TYPE", "pubsub"]);
    assert!(list.contains(" omem=0 "), "{list}");
    // A subscriber that never reads: once the socket buffers are full,
    // messages wait in its queue, counted as omem.
    let payload = "z".repeat(64 * 1024);
    let grew = eventually(|| {
        publ_n(&mut r, "c", &payload, 20);
        let list = r.cmd(&["CLIENT", "LIST", "TYPE", "pubsub"]);
        let omem: u64 = list
            .split(" omem=")
            .nth(1)
            .and_then(|s| s.split(' ').next())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        omem > 0
    });
    assert!(grew);
}

fn publ_n(r: &mut RawConn, ch: &str, payload: &str, n: usize) {
    for _ in 0..n {
        assert_eq!(r.cmd(&["PUBLISH", ch, payload]), int(1));
    }
}

#[test]
fn confirmations_are_pushes_under_client_reply_off() {
    // Redis 7.2 sends (un)subscribe confirmations and messages even with
    // CLIENT REPLY OFF (they are pushes), but not ordinary replies.
    let srv = server();
    let mut c = srv.raw();
    let mut publ = srv.raw();
    send(&mut c, &["CLIENT", "REPLY", "OFF"]);
    assert_eq!(
        cmd_n(&mut c, &["SUBSCRIBE", "a"], 1),
        confirm(false, "subscribe", "a", 1)
    );
    send(&mut c, &["PING"]);
    assert_eq!(publ.cmd(&["PUBLISH", "a", "x"]), int(1));
    assert_eq!(read_n(&mut c, 1), push(false, &["message", "a", "x"]));
    assert_eq!(
        cmd_n(&mut c, &["UNSUBSCRIBE"], 1),
        confirm(false, "unsubscribe", "a", 0)
    );
    assert_eq!(c.cmd(&["CLIENT", "REPLY", "ON"]), "+OK\r\n");
    // RESP3: publishing to itself under REPLY OFF still delivers.
    let mut c3 = srv.raw3();
    send(&mut c3, &["CLIENT", "REPLY", "OFF"]);
    assert_eq!(
        cmd_n(&mut c3, &["SUBSCRIBE", "b"], 1),
        confirm(true, "subscribe", "b", 1)
    );
    assert_eq!(
        cmd_n(&mut c3, &["PUBLISH", "b", "self"], 1),
        push(true, &["message", "b", "self"])
    );
    assert_eq!(c3.cmd(&["CLIENT", "REPLY", "ON"]), "+OK\r\n");
}

/// Reads until the server closes the connection (true) or 5 s pass.
fn closed_after_draining(r: &mut RawConn) -> bool {
    r.s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        match r.s.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => continue,
            Err(_) => return false,
        }
    }
}

#[test]
fn killed_subscriber_is_forgotten() {
    let srv = server();
    let mut sub = srv.raw3();
    let mut r = srv.raw();
    cmd_n(&mut sub, &["SUBSCRIBE", "k1"], 1);
    cmd_n(&mut sub, &["PSUBSCRIBE", "k*"], 1);
    assert_eq!(r.cmd(&["PUBLISH", "k1", "x"]), int(2));
    assert_eq!(r.cmd(&["CLIENT", "KILL", "TYPE", "pubsub"]), int(1));
    assert!(closed_after_draining(&mut sub));
    assert!(eventually(|| r.cmd(&["PUBLISH", "k1", "x"]) == int(0)));
    assert_eq!(r.cmd(&["PUBSUB", "NUMPAT"]), int(0));
    // Subscribers are never closed as idle.
    let srv = TestServer::start(&["--timeout", "1"]);
    let mut sub = srv.raw();
    let mut idle = srv.raw();
    idle.cmd(&["PING"]);
    cmd_n(&mut sub, &["SUBSCRIBE", "t"], 1);
    std::thread::sleep(Duration::from_millis(2500));
    assert!(idle.is_closed());
    let mut r = srv.raw();
    assert_eq!(r.cmd(&["PUBLISH", "t", "still"]), int(1));
    assert_eq!(read_n(&mut sub, 1), push(false, &["message", "t", "still"]));
}
