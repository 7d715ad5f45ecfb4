#![allow(clippy::unwrap_used)]
//! MONITOR: the lines a monitor sees, compared with a real Redis's (the
//! timestamp and the client address aside), CLIENT LIST's O flag, and a
//! monitor refused the keyspace.

mod common;
mod real_redis;

use std::io::Read;
use std::time::Duration;

use common::{RawConn, TestServer};

fn drain(c: &mut RawConn) -> String {
    std::thread::sleep(Duration::from_millis(50));
    c.s.set_read_timeout(Some(Duration::from_millis(20))).unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 65536];
    while let Ok(n) = c.s.read(&mut buf) {
        if n == 0 {
            break;
        }
        got.extend_from_slice(&buf[..n]);
    }
    String::from_utf8_lossy(&got).into_owned()
}

/// `+<ts> [<db> <addr>] args` -> `[<db>] args`.
fn strip(lines: &str) -> Vec<String> {
    lines
        .lines()
        .filter_map(|l| {
            let rest = l.split_once(" [")?.1;
            let (db, after) = rest.split_once(' ')?;
            let args = after.split_once("] ")?.1;
            Some(format!("[{db}] {args}"))
        })
        .collect()
}

fn session(mon: &mut RawConn, c: &mut RawConn) -> (String, Vec<String>) {
    let ok = mon.cmd(&["MONITOR"]);
    c.cmd(&["SET", "a b", "x\ny\"\\\u{1}"]);
    c.cmd(&["GET", "a b"]);
    c.cmd(&["SELECT", "3"]);
    c.cmd(&["INCR", "n"]);
    c.cmd(&["CONFIG", "GET", "hz"]);
    c.cmd(&["MULTI"]);
    c.cmd(&["SET", "k", "1"]);
    c.cmd(&["EXEC"]);
    c.cmd(&["SELECT", "0"]);
    c.cmd(&["NOSUCHCOMMAND"]);
    (ok, strip(&drain(mon)))
}

#[test]
fn same_lines_as_redis() {
    if !real_redis::available() {
        return;
    }
    let larder = TestServer::start(&[]);
    let redis = real_redis::Redis::start(&[]);
    let ours = session(&mut larder.raw(), &mut larder.raw());
    let theirs = session(&mut redis.raw(), &mut redis.raw());
    assert_eq!(ours, theirs);
    assert!(ours.1.len() >= 8, "{ours:?}");
}

#[test]
fn monitor_mode() {
    let s = TestServer::start(&[]);
    let mut mon = s.raw();
    assert_eq!(mon.cmd(&["MONITOR"]), "+OK\r\n");
    let mut c = s.raw();
    let list = c.cmd(&["CLIENT", "LIST"]);
    assert!(list.contains("flags=O "), "{list}");
    assert_eq!(
        mon.cmd(&["GET", "x"]),
        "-ERR Replica can't interact with the keyspace\r\n"
    );
    // RESET leaves monitor mode.
    assert_eq!(mon.cmd(&["RESET"]), "+RESET\r\n");
    assert_eq!(mon.cmd(&["GET", "x"]), "$-1\r\n");
    c.cmd(&["SET", "x", "1"]);
    assert_eq!(drain(&mut mon), "");
}
