#![allow(clippy::unwrap_used)]
//! ROLE, WAIT and WAITAOF on a server without replicas: ROLE and WAIT as
//! a real Redis without replicas answers them; WAITAOF (7.2) waits until
//! the connection's writes are fsynced to the local AOF, and never claims
//! an fsync that did not happen.

mod common;
mod real_redis;

use std::time::{Duration, Instant};

use common::resp::int;
use common::{RawConn, TestServer};

const WAITAOF_REPLY_1_0: &str = "*2\r\n:1\r\n:0\r\n";
const WAITAOF_REPLY_0_0: &str = "*2\r\n:0\r\n:0\r\n";

#[test]
fn role_and_wait_as_redis_without_replicas() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    let cases: &[&[&str]] = &[
        &["ROLE"],
        &["WAIT", "0", "0"],
        &["WAIT", "-1", "0"],
        &["WAIT", "1", "50"],
        &["WAIT", "x", "0"],
        &["WAIT", "1", "-1"],
        &["WAIT", "1", "x"],
    ];
    let ours: Vec<String> = cases.iter().map(|cmd| c.cmd(cmd)).collect();
    assert_eq!(ours[0], "*3\r\n$6\r\nmaster\r\n:0\r\n*0\r\n");
    assert_eq!(ours[3], int(0), "no replica acknowledges: 0 at the timeout");
    if real_redis::available() {
        let r = real_redis::Redis::start(&[]);
        let mut rc = r.raw();
        let theirs: Vec<String> = cases.iter().map(|cmd| rc.cmd(cmd)).collect();
        assert_eq!(ours, theirs);
    }
    // Inside MULTI nothing blocks.
    c.cmd(&["MULTI"]);
    c.cmd(&["WAIT", "5", "0"]);
    assert_eq!(c.cmd(&["EXEC"]), "*1\r\n:0\r\n");
}

/// Sends `cmd` and returns its reply, reading for at most `secs`.
fn send_read(c: &mut RawConn, cmd: &[&str], secs: u64) -> String {
    c.s.set_read_timeout(Some(Duration::from_secs(secs))).unwrap();
    c.cmd(cmd)
}

#[test]
fn wait_ends_with_client_unblock() {
    let s = TestServer::start(&[]);
    let mut waiter = s.raw();
    let id = waiter.cmd(&["CLIENT", "ID"]).trim().trim_start_matches(':').to_string();
    let mut admin = s.raw();
    for (why, want) in [
        ("TIMEOUT", int(0)),
        ("ERROR", "-UNBLOCKED client unblocked via CLIENT UNBLOCK\r\n".into()),
    ] {
        waiter.send(b"*3\r\n$4\r\nWAIT\r\n$1\r\n1\r\n$1\r\n0\r\n");
        let start = Instant::now();
        while !admin.cmd(&["INFO", "clients"]).contains("blocked_clients:1\r\n") {
            assert!(start.elapsed() < Duration::from_secs(10), "WAIT never blocked");
            std::thread::sleep(Duration::from_millis(5));
        }
        assert_eq!(admin.cmd(&["CLIENT", "UNBLOCK", &id, why]), int(1));
        assert_eq!(String::from_utf8(waiter.read_replies(1)).unwrap(), want);
    }
    assert_eq!(admin.cmd(&["CLIENT", "UNBLOCK", &id]), int(0), "no longer waiting");
    // The connection carries on.
    assert_eq!(waiter.cmd(&["PING"]), "+PONG\r\n");
}

#[test]
fn waitaof_waits_for_the_local_fsync() {
    // Without the AOF: no local fsync to wait for.
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    assert_eq!(
        c.cmd(&["WAITAOF", "1", "0", "0"]),
        "-ERR WAITAOF cannot be used when numlocal is set but appendonly is disabled.\r\n"
    );
    assert_eq!(c.cmd(&["WAITAOF", "0", "0", "0"]), WAITAOF_REPLY_0_0);
    assert_eq!(c.cmd(&["WAITAOF", "0", "1", "20"]), WAITAOF_REPLY_0_0);
    assert_eq!(
        c.cmd(&["WAITAOF", "2", "0", "0"]),
        "-ERR value is out of range, must be between 0 and 1\r\n"
    );
    assert_eq!(
        c.cmd(&["WAITAOF", "1", "-1", "0"]),
        "-ERR value is out of range, must be positive\r\n"
    );
    assert_eq!(c.cmd(&["WAITAOF", "1", "0", "-5"]), "-ERR timeout is negative\r\n");
    drop(s);

    // everysec: the background fsync comes within about a second.
    let s = TestServer::start(&["--appendonly", "yes", "--appendfsync", "everysec"]);
    let mut c = s.raw();
    let start = Instant::now();
    while c.cmd(&["PING"]).starts_with("-LOADING") {
        assert!(start.elapsed() < Duration::from_secs(10), "still loading");
        std::thread::sleep(Duration::from_millis(5));
    }
    assert_eq!(
        c.cmd(&["WAITAOF", "1", "0", "0"]),
        WAITAOF_REPLY_1_0,
        "nothing written yet"
    );
    c.cmd(&["SET", "k", "v"]);
    assert_eq!(send_read(&mut c, &["WAITAOF", "1", "0", "0"], 10), WAITAOF_REPLY_1_0);
    // Replicas wanted: only the timeout ends it, with the local count.
    c.cmd(&["SET", "k", "w"]);
    assert_eq!(send_read(&mut c, &["WAITAOF", "1", "1", "1500"], 10), WAITAOF_REPLY_1_0);

    // no: the writer does not fsync, and WAITAOF does not pretend.
    assert_eq!(c.cmd(&["CONFIG", "SET", "appendfsync", "no"]), "+OK\r\n");
    c.cmd(&["SET", "k", "x"]);
    assert_eq!(c.cmd(&["WAITAOF", "1", "0", "200"]), WAITAOF_REPLY_0_0);
    // A client waiting forever is released by the rewrite's fsync of the
    // file it wrote to.
    c.send(b"*4\r\n$7\r\nWAITAOF\r\n$1\r\n1\r\n$1\r\n0\r\n$1\r\n0\r\n");
    let mut admin = s.raw();
    let start = Instant::now();
    while !admin.cmd(&["INFO", "clients"]).contains("blocked_clients:1\r\n") {
        assert!(start.elapsed() < Duration::from_secs(10), "WAITAOF never blocked");
        std::thread::sleep(Duration::from_millis(5));
    }
    assert_eq!(
        admin.cmd(&["BGREWRITEAOF"]),
        "+Background append only file rewriting started\r\n"
    );
    c.s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    assert_eq!(String::from_utf8(c.read_replies(1)).unwrap(), WAITAOF_REPLY_1_0);
    // In MULTI it answers at once.
    c.cmd(&["SET", "k", "y"]);
    c.cmd(&["MULTI"]);
    c.cmd(&["WAITAOF", "1", "0", "0"]);
    assert_eq!(c.cmd(&["EXEC"]), format!("*1\r\n{WAITAOF_REPLY_0_0}"));
}
