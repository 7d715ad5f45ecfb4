#![allow(clippy::unwrap_used)]
//! Blocking list commands across connections: waking by pushes from
//! other clients, FIFO order, BLMOVE chains, timeouts, CLIENT UNBLOCK,
//! disconnects, and pipelines held behind a blocked command.

mod common;

use common::resp::{arr, bulk, int};

use std::time::{Duration, Instant};

use common::{RawConn, TestServer};

fn server() -> TestServer {
    TestServer::start(&[])
}

/// Encodes a command as a multibulk.
fn req(args: &[&str]) -> Vec<u8> {
    let mut s = format!("*{}\r\n", args.len());
    for a in args {
        s.push_str(&format!("${}\r\n{}\r\n", a.len(), a));
    }
    s.into_bytes()
}

fn read1(r: &mut RawConn) -> String {
    String::from_utf8_lossy(&r.read_replies(1)).into_owned()
}

fn blocked_clients(r: &mut RawConn) -> i64 {
    let s = r.cmd(&["INFO", "clients"]);
    s.lines()
        .find_map(|l| l.strip_prefix("blocked_clients:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap()
}

/// Waits until exactly `n` clients are blocked (a synchronisation point,
/// not a timing assumption: it returns as soon as the state is reached).
fn wait_blocked(r: &mut RawConn, n: i64) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let b = blocked_clients(r);
        if b == n {
            return;
        }
        assert!(Instant::now() < deadline, "blocked_clients stayed {b}, wanted {n}");
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// Sends a blocking command on a fresh connection and waits until it is
/// blocked (`before` clients were blocked already).
fn block(srv: &TestServer, ctl: &mut RawConn, before: i64, args: &[&str]) -> RawConn {
    let mut c = srv.raw();
    c.send(&req(args));
    wait_blocked(ctl, before + 1);
    c
}

/// True if nothing arrives on `r` within a short while.
fn silent(r: &mut RawConn) -> bool {
    use std::io::Read;
    r.s.set_read_timeout(Some(Duration::from_millis(150))).unwrap();
    let mut b = [0u8; 64];
    let quiet = matches!(r.s.read(&mut b), Err(ref e) if e.kind() == std::io::ErrorKind::WouldBlock || e.kind() == std::io::ErrorKind::TimedOut);
    r.s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    quiet
}

#[test]
fn blpop_woken_by_push_from_another_connection() {
    let srv = server();
    let mut ctl = srv.raw();
    let mut a = block(&srv, &mut ctl, 0, &["BLPOP", "k", "0"]);
    assert!(silent(&mut a));
    assert!(ctl.cmd(&["CLIENT", "LIST"]).contains("flags=b"));
    let mut b = block(&srv, &mut ctl, 1, &["BLPOP", "k", "k2", "100"]);
    let info = ctl.cmd(&["INFO", "clients"]);
    assert!(info.contains("total_blocking_keys:2\r\n"), "{info}");
    assert!(info.contains("clients_in_timeout_table:1\r\n"), "{info}");
    assert_eq!(ctl.cmd(&["RPUSH", "k2", "y"]), int(1));
    assert_eq!(read1(&mut b), arr(&["k2", "y"]));
    // LPUSH replies with the length before the waiter takes the element.
    assert_eq!(ctl.cmd(&["LPUSH", "k", "x"]), int(1));
    assert_eq!(read1(&mut a), arr(&["k", "x"]));
    assert_eq!(ctl.cmd(&["EXISTS", "k"]), int(0));
    assert_eq!(blocked_clients(&mut ctl), 0);
    // The connection works normally afterwards.
    assert_eq!(a.cmd(&["PING"]), "+PONG\r\n");
    // BRPOP takes from the tail of a multi-element push.
    let mut b = block(&srv, &mut ctl, 0, &["BRPOP", "k", "0"]);
    assert_eq!(ctl.cmd(&["RPUSH", "k", "1", "2", "3"]), int(3));
    assert_eq!(read1(&mut b), arr(&["k", "3"]));
    assert_eq!(ctl.cmd(&["LRANGE", "k", "0", "-1"]), arr(&["1", "2"]));
}

#[test]
fn waiters_are_served_in_arrival_order() {
    let srv = server();
    let mut ctl = srv.raw();
    let mut w1 = block(&srv, &mut ctl, 0, &["BLPOP", "q", "0"]);
    let mut w2 = block(&srv, &mut ctl, 1, &["BLPOP", "q", "0"]);
    let mut w3 = block(&srv, &mut ctl, 2, &["BLPOP", "other", "q", "0"]);
    assert_eq!(ctl.cmd(&["RPUSH", "q", "a", "b"]), int(2));
    assert_eq!(read1(&mut w1), arr(&["q", "a"]));
    assert_eq!(read1(&mut w2), arr(&["q", "b"]));
    assert!(silent(&mut w3));
    assert_eq!(blocked_clients(&mut ctl), 1);
    assert_eq!(ctl.cmd(&["RPUSH", "q", "c"]), int(1));
    assert_eq!(read1(&mut w3), arr(&["q", "c"]));
}

#[test]
fn blocked_client_gets_the_element_before_a_later_pop() {
    let srv = server();
    let mut ctl = srv.raw();
    let mut w = block(&srv, &mut ctl, 0, &["BLPOP", "k", "0"]);
    let mut p = srv.raw();
    let mut pipe = req(&["RPUSH", "k", "x"]);
    pipe.extend(req(&["LPOP", "k"]));
    p.send(&pipe);
    assert_eq!(
        String::from_utf8_lossy(&p.read_replies(2)),
        format!("{}$-1\r\n", int(1))
    );
    assert_eq!(read1(&mut w), arr(&["k", "x"]));
}

#[test]
fn multiple_keys_and_removal_from_all_queues() {
    let srv = server();
    let mut ctl = srv.raw();
    let mut w = block(&srv, &mut ctl, 0, &["BLPOP", "k1", "k2", "k3", "0"]);
    assert_eq!(ctl.cmd(&["RPUSH", "k2", "v"]), int(1));
    assert_eq!(read1(&mut w), arr(&["k2", "v"]));
    // Not waiting on k1 any more.
    assert_eq!(ctl.cmd(&["RPUSH", "k1", "w"]), int(1));
    assert_eq!(ctl.cmd(&["LLEN", "k1"]), int(1));
    assert!(silent(&mut w));
    // A key named twice is waited on once.
    let mut d = block(&srv, &mut ctl, 0, &["BRPOP", "dup", "dup", "0"]);
    assert_eq!(ctl.cmd(&["RPUSH", "dup", "1", "2"]), int(2));
    assert_eq!(read1(&mut d), arr(&["dup", "2"]));
    assert_eq!(ctl.cmd(&["LRANGE", "dup", "0", "-1"]), arr(&["1"]));
    assert_eq!(blocked_clients(&mut ctl), 0);
    assert!(ctl.cmd(&["INFO", "clients"]).contains("total_blocking_keys:0\r\n"));
}

#[test]
fn blmove_chains_wake_each_other() {
    let srv = server();
    let mut ctl = srv.raw();
    let mut a = block(&srv, &mut ctl, 0, &["BLMOVE", "a", "b", "LEFT", "LEFT", "0"]);
    let mut b = block(&srv, &mut ctl, 1, &["BRPOPLPUSH", "b", "c", "0"]);
    let mut c = block(&srv, &mut ctl, 2, &["BLPOP", "c", "0"]);
    assert_eq!(ctl.cmd(&["RPUSH", "a", "x"]), int(1));
    assert_eq!(read1(&mut a), bulk("x"));
    assert_eq!(read1(&mut b), bulk("x"));
    assert_eq!(read1(&mut c), arr(&["c", "x"]));
    for k in ["a", "b", "c"] {
        assert_eq!(ctl.cmd(&["EXISTS", k]), int(0), "{k}");
    }
    // A BLMOVE served at once also wakes waiters on its destination.
    let mut d = block(&srv, &mut ctl, 0, &["BLPOP", "dst", "0"]);
    assert_eq!(ctl.cmd(&["RPUSH", "src", "y"]), int(1));
    assert_eq!(ctl.cmd(&["BLMOVE", "src", "dst", "RIGHT", "LEFT", "0"]), bulk("y"));
    assert_eq!(read1(&mut d), arr(&["dst", "y"]));
    assert_eq!(ctl.cmd(&["EXISTS", "dst"]), int(0));
}

#[test]
fn sort_store_wakes_waiters_on_its_destination() {
    let srv = server();
    let mut ctl = srv.raw();
    assert_eq!(ctl.cmd(&["RPUSH", "src", "2", "1"]), int(2));
    let mut w = block(&srv, &mut ctl, 0, &["BLPOP", "dst", "0"]);
    assert_eq!(ctl.cmd(&["SORT", "src", "STORE", "dst"]), int(2));
    assert_eq!(read1(&mut w), arr(&["dst", "1"]));
    assert_eq!(ctl.cmd(&["LRANGE", "dst", "0", "-1"]), arr(&["2"]));
}

#[test]
fn blmpop_is_woken_with_count() {
    let srv = server();
    let mut ctl = srv.raw();
    let mut w = block(
        &srv,
        &mut ctl,
        0,
        &["BLMPOP", "0", "2", "a", "b", "RIGHT", "COUNT", "2"],
    );
    assert_eq!(ctl.cmd(&["RPUSH", "b", "1", "2", "3"]), int(3));
    assert_eq!(read1(&mut w), "*2\r\n$1\r\nb\r\n*2\r\n$1\r\n3\r\n$1\r\n2\r\n");
    assert_eq!(ctl.cmd(&["LRANGE", "b", "0", "-1"]), arr(&["1"]));
}

#[test]
fn fractional_timeouts() {
    let srv = server();
    let mut a = srv.raw();
    let t = Instant::now();
    assert_eq!(a.cmd(&["BLPOP", "k", "0.1"]), "*-1\r\n");
    let e = t.elapsed();
    assert!(e >= Duration::from_millis(95) && e < Duration::from_secs(3), "{e:?}");
    assert_eq!(a.cmd(&["BLMOVE", "k", "d", "LEFT", "LEFT", "0.05"]), "$-1\r\n");
    assert_eq!(a.cmd(&["BRPOPLPUSH", "k", "d", "0.05"]), "$-1\r\n");
    assert_eq!(a.cmd(&["BLMPOP", "0.05", "1", "k", "LEFT"]), "*-1\r\n");
    assert_eq!(a.cmd(&["BRPOP", "k", "0.001"]), "*-1\r\n");
    assert_eq!(a.cmd(&["HELLO", "3"]).chars().next(), Some('%'));
    assert_eq!(a.cmd(&["BLPOP", "k", "0.05"]), "_\r\n");
    assert_eq!(a.cmd(&["BLMOVE", "k", "d", "LEFT", "LEFT", "0.05"]), "_\r\n");
    let mut ctl = srv.raw();
    assert_eq!(blocked_clients(&mut ctl), 0);
    // A RESP3 waiter that is served gets an array.
    a.send(&req(&["BLPOP", "k", "5"]));
    wait_blocked(&mut ctl, 1);
    assert_eq!(ctl.cmd(&["RPUSH", "k", "v"]), int(1));
    assert_eq!(read1(&mut a), arr(&["k", "v"]));
}

#[test]
fn timeouts_follow_the_server_clock() {
    let srv = TestServer::start(&["--enable-debug-command", "yes"]);
    let mut ctl = srv.raw();
    let mut a = block(&srv, &mut ctl, 0, &["BLPOP", "k", "1000"]);
    let mut b = block(&srv, &mut ctl, 1, &["BLMOVE", "k", "d", "LEFT", "LEFT", "3000"]);
    assert!(silent(&mut a));
    assert_eq!(ctl.cmd(&["DEBUG", "ADVANCE-CLOCK", "1000001"]), "+OK\r\n");
    // The cron (hz 10) notices within a tick; no real second passes.
    assert_eq!(read1(&mut a), "*-1\r\n");
    assert!(silent(&mut b));
    assert_eq!(blocked_clients(&mut ctl), 1);
    assert_eq!(ctl.cmd(&["DEBUG", "ADVANCE-CLOCK", "2000000"]), "+OK\r\n");
    assert_eq!(read1(&mut b), "$-1\r\n");
    assert_eq!(blocked_clients(&mut ctl), 0);
}

#[test]
fn client_unblock_timeout_and_error() {
    let srv = server();
    let mut ctl = srv.raw();
    let mut a = srv.raw();
    let id = a.cmd(&["CLIENT", "ID"]);
    let id = id.trim_start_matches(':').trim().to_string();
    a.send(&req(&["BLPOP", "k", "0"]));
    wait_blocked(&mut ctl, 1);
    assert_eq!(ctl.cmd(&["CLIENT", "UNBLOCK", &id]), int(1));
    assert_eq!(read1(&mut a), "*-1\r\n");
    a.send(&req(&["BLMOVE", "k", "d", "LEFT", "LEFT", "0"]));
    wait_blocked(&mut ctl, 1);
    assert_eq!(ctl.cmd(&["CLIENT", "UNBLOCK", &id, "timeout"]), int(1));
    assert_eq!(read1(&mut a), "$-1\r\n");
    a.send(&req(&["BRPOPLPUSH", "k", "d", "0"]));
    wait_blocked(&mut ctl, 1);
    assert_eq!(ctl.cmd(&["CLIENT", "UNBLOCK", &id, "ERROR"]), int(1));
    assert_eq!(read1(&mut a), "-UNBLOCKED client unblocked via CLIENT UNBLOCK\r\n");
    assert_eq!(blocked_clients(&mut ctl), 0);
    assert!(ctl.cmd(&["INFO", "errorstats"]).contains("errorstat_UNBLOCKED:count=1"));
    // Not blocked (any more), or no such client.
    assert_eq!(ctl.cmd(&["CLIENT", "UNBLOCK", &id]), int(0));
    assert_eq!(ctl.cmd(&["CLIENT", "UNBLOCK", "999999"]), int(0));
    assert_eq!(
        ctl.cmd(&["CLIENT", "UNBLOCK", &id, "FOO"]),
        "-ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR\r\n"
    );
    assert_eq!(
        ctl.cmd(&["CLIENT", "UNBLOCK", "x"]),
        "-ERR value is not an integer or out of range\r\n"
    );
    // The unblocked client is usable, and a later push is not taken.
    assert_eq!(a.cmd(&["PING"]), "+PONG\r\n");
    assert_eq!(ctl.cmd(&["RPUSH", "k", "v"]), int(1));
    assert_eq!(ctl.cmd(&["LLEN", "k"]), int(1));
}

#[test]
fn disconnecting_waiter_is_removed() {
    let srv = server();
    let mut ctl = srv.raw();
    let a = block(&srv, &mut ctl, 0, &["BLPOP", "k", "0"]);
    let mut b = block(&srv, &mut ctl, 1, &["BLPOP", "k", "0"]);
    drop(a);
    wait_blocked(&mut ctl, 1);
    assert_eq!(ctl.cmd(&["RPUSH", "k", "x", "y"]), int(2));
    // The second waiter is served; the gone one took nothing.
    assert_eq!(read1(&mut b), arr(&["k", "x"]));
    assert_eq!(ctl.cmd(&["LRANGE", "k", "0", "-1"]), arr(&["y"]));
    // CLIENT KILL of a blocked client removes it too.
    let mut c = srv.raw();
    let id = c.cmd(&["CLIENT", "ID"]).trim_start_matches(':').trim().to_string();
    c.send(&req(&["BLPOP", "z", "0"]));
    wait_blocked(&mut ctl, 1);
    assert_eq!(ctl.cmd(&["CLIENT", "KILL", "ID", &id]), int(1));
    wait_blocked(&mut ctl, 0);
    assert!(c.is_closed());
}

#[test]
fn pipelined_commands_wait_for_the_blocked_one() {
    let srv = server();
    let mut ctl = srv.raw();
    let mut a = srv.raw();
    let mut pipe = req(&["PING"]);
    pipe.extend(req(&["BLPOP", "k", "0"]));
    pipe.extend(req(&["LLEN", "k"]));
    pipe.extend(req(&["ECHO", "after"]));
    a.send(&pipe);
    wait_blocked(&mut ctl, 1);
    // The reply before the blocking command went out; nothing after it.
    assert_eq!(read1(&mut a), "+PONG\r\n");
    assert!(silent(&mut a));
    // More commands sent while blocked are held too.
    a.send(&req(&["ECHO", "later"]));
    assert!(silent(&mut a));
    assert_eq!(ctl.cmd(&["RPUSH", "k", "1", "2"]), int(2));
    let got = String::from_utf8_lossy(&a.read_replies(4)).into_owned();
    assert_eq!(
        got,
        format!("{}{}{}{}", arr(&["k", "1"]), int(1), bulk("after"), bulk("later"))
    );
    // A pipeline with two blocking commands: the second blocks after the
    // first is served by the data the first left.
    let mut pipe = req(&["BLPOP", "k", "0"]);
    pipe.extend(req(&["BLPOP", "k", "0"]));
    pipe.extend(req(&["PING"]));
    a.send(&pipe);
    assert_eq!(read1(&mut a), arr(&["k", "2"]));
    wait_blocked(&mut ctl, 1);
    assert_eq!(ctl.cmd(&["LPUSH", "k", "3"]), int(1));
    assert_eq!(
        String::from_utf8_lossy(&a.read_replies(2)),
        format!("{}+PONG\r\n", arr(&["k", "3"]))
    );
}

#[test]
fn waiters_ignore_other_types_and_other_dbs() {
    let srv = server();
    let mut ctl = srv.raw();
    let mut w = srv.raw();
    assert_eq!(w.cmd(&["SELECT", "1"]), "+OK\r\n");
    w.send(&req(&["BLPOP", "k", "0"]));
    wait_blocked(&mut ctl, 1);
    // Same key in db 0: not for this waiter.
    assert_eq!(ctl.cmd(&["RPUSH", "k", "db0"]), int(1));
    assert!(silent(&mut w));
    assert_eq!(ctl.cmd(&["SELECT", "1"]), "+OK\r\n");
    // A string at the key does not wake it.
    assert_eq!(ctl.cmd(&["SET", "k", "s"]), "+OK\r\n");
    assert!(silent(&mut w));
    assert_eq!(blocked_clients(&mut ctl), 1);
    assert_eq!(ctl.cmd(&["DEL", "k"]), int(1));
    assert_eq!(ctl.cmd(&["RPUSH", "k", "db1"]), int(1));
    assert_eq!(read1(&mut w), arr(&["k", "db1"]));
    // A list moved in from another db (MOVE) or renamed in wakes it too.
    w.send(&req(&["BLPOP", "m", "0"]));
    wait_blocked(&mut ctl, 1);
    assert_eq!(ctl.cmd(&["SELECT", "0"]), "+OK\r\n");
    assert_eq!(ctl.cmd(&["RPUSH", "m", "moved"]), int(1));
    assert_eq!(ctl.cmd(&["MOVE", "m", "1"]), int(1));
    assert_eq!(read1(&mut w), arr(&["m", "moved"]));
    w.send(&req(&["BLPOP", "r", "0"]));
    wait_blocked(&mut ctl, 1);
    assert_eq!(ctl.cmd(&["SELECT", "1"]), "+OK\r\n");
    assert_eq!(ctl.cmd(&["RPUSH", "tmp", "renamed"]), int(1));
    assert_eq!(ctl.cmd(&["RENAME", "tmp", "r"]), "+OK\r\n");
    assert_eq!(read1(&mut w), arr(&["r", "renamed"]));
}

#[test]
fn blmove_to_wrong_type_destination_errors_when_woken() {
    let srv = server();
    let mut ctl = srv.raw();
    assert_eq!(ctl.cmd(&["SET", "dst", "s"]), "+OK\r\n");
    let mut w = block(&srv, &mut ctl, 0, &["BLMOVE", "src", "dst", "LEFT", "LEFT", "0"]);
    assert_eq!(ctl.cmd(&["RPUSH", "src", "x"]), int(1));
    assert_eq!(
        read1(&mut w),
        "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"
    );
    assert_eq!(ctl.cmd(&["LLEN", "src"]), int(1));
    let stats = ctl.cmd(&["INFO", "commandstats"]);
    let line = stats.lines().find(|l| l.starts_with("cmdstat_blmove:")).unwrap();
    assert!(
        line.starts_with("cmdstat_blmove:calls=1,") && line.contains("failed_calls=1"),
        "{line}"
    );
    assert!(ctl.cmd(&["INFO", "errorstats"]).contains("errorstat_WRONGTYPE:count=1"));
}

#[test]
fn every_element_is_delivered_once_under_concurrency() {
    let srv = TestServer::start(&["--io-threads", "4"]);
    let mut ctl = srv.raw();
    let waiters = 16;
    let mut conns = Vec::new();
    for i in 0..waiters {
        let mut c = srv.raw();
        let key = format!("q{}", i % 3);
        c.send(&req(&["BLPOP", &key, "q9", "10"]));
        conns.push(c);
    }
    wait_blocked(&mut ctl, waiters);
    let port = srv.port;
    let pushers: Vec<_> = (0..4)
        .map(|t| {
            std::thread::spawn(move || {
                let s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
                s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
                let mut r = RawConn { s };
                let mut popped = Vec::new();
                for j in 0..4 {
                    let key = format!("q{}", (t + j) % 3);
                    let v = format!("{t}-{j}");
                    let mut pipe = req(&["RPUSH", &key, &v]);
                    // A competing pop right behind the push.
                    pipe.extend(req(&["LPOP", &key]));
                    r.send(&pipe);
                    let got = String::from_utf8_lossy(&r.read_replies(2)).into_owned();
                    let pop = got.split_once("\r\n").unwrap().1.to_string();
                    if pop != "$-1\r\n" {
                        popped.push(pop.lines().nth(1).unwrap().to_string());
                    }
                }
                popped
            })
        })
        .collect();
    let mut seen: Vec<String> = Vec::new();
    for p in pushers {
        seen.extend(p.join().unwrap());
    }
    // Every pushed element ends up with exactly one client: a waiter or a
    // competing LPOP (never both, never lost).
    let mut served = 0;
    for c in conns.iter_mut() {
        c.s.set_read_timeout(Some(Duration::from_millis(300))).unwrap();
        let got = String::from_utf8_lossy(&c.read_replies(1)).into_owned();
        if !got.is_empty() {
            served += 1;
            // *2 key value
            seen.push(got.lines().nth(4).unwrap().to_string());
        }
    }
    let left: i64 = (0..3)
        .map(|i| {
            ctl.cmd(&["LLEN", &format!("q{i}")])
                .trim_start_matches(':')
                .trim()
                .parse::<i64>()
                .unwrap()
        })
        .sum();
    assert_eq!(left, 0);
    seen.sort();
    let mut want: Vec<String> = (0..4).flat_map(|t| (0..4).map(move |j| format!("{t}-{j}"))).collect();
    want.sort();
    assert_eq!(seen, want);
    assert_eq!(blocked_clients(&mut ctl) + served, waiters);
}

#[test]
fn client_reply_skip_and_off_drop_the_blocked_reply() {
    let srv = server();
    let mut ctl = srv.raw();
    let mut a = srv.raw();
    let mut pipe = req(&["CLIENT", "REPLY", "SKIP"]);
    pipe.extend(req(&["BLPOP", "k", "0.05"]));
    pipe.extend(req(&["PING"]));
    a.send(&pipe);
    assert_eq!(read1(&mut a), "+PONG\r\n");
    let mut pipe = req(&["CLIENT", "REPLY", "OFF"]);
    pipe.extend(req(&["BLPOP", "k", "0"]));
    a.send(&pipe);
    wait_blocked(&mut ctl, 1);
    assert_eq!(ctl.cmd(&["RPUSH", "k", "x", "y"]), int(2));
    wait_blocked(&mut ctl, 0);
    a.send(&req(&["CLIENT", "REPLY", "ON"]));
    assert_eq!(read1(&mut a), "+OK\r\n");
    assert_eq!(ctl.cmd(&["LRANGE", "k", "0", "-1"]), arr(&["y"]));
}
