#![allow(clippy::unwrap_used)]
//! The latency monitor: LATENCY on Larder and on a real Redis, with
//! monitoring off and after a slow command (DEBUG SLEEP) with
//! `latency-monitor-threshold 1`; times and durations normalised.

mod common;
mod real_redis;

use common::{RawConn, TestServer};
use larder_protocol::{parse_frame, Frame};

fn frame(raw: &str) -> Frame {
    parse_frame(raw.as_bytes()).unwrap().unwrap().0
}

/// The steps, each reply with numbers above 1000 (times) and durations
/// replaced by `N`.
fn scenario(c: &mut RawConn) -> Vec<String> {
    let mut out = Vec::new();
    let steps: &[&[&str]] = &[
        &["LATENCY", "DOCTOR"],
        &["LATENCY", "LATEST"],
        &["LATENCY", "HISTORY", "command"],
        &["LATENCY", "GRAPH", "command"],
        &["LATENCY", "RESET"],
        &["LATENCY", "NOPE"],
        &["CONFIG", "SET", "latency-monitor-threshold", "1"],
        &["DEBUG", "SLEEP", "0.02"],
        &["LATENCY", "RESET", "nothing"],
    ];
    for s in steps {
        out.push(format!("{s:?} -> {}", c.cmd(s)));
    }
    // After the slow command: one `command` sample of at least 20 ms.
    let Frame::Array(latest) = frame(&c.cmd(&["LATENCY", "LATEST"])) else {
        panic!()
    };
    assert_eq!(latest.len(), 1, "{latest:?}");
    let Frame::Array(e) = &latest[0] else { panic!() };
    assert_eq!(e[0], Frame::Bulk(b"command".to_vec()));
    let ms = |f: &Frame| match f {
        Frame::Integer(n) => *n,
        other => panic!("{other:?}"),
    };
    assert!(ms(&e[1]) > 1_600_000_000);
    assert!(ms(&e[2]) >= 20 && ms(&e[3]) >= ms(&e[2]), "{e:?}");
    let Frame::Array(h) = frame(&c.cmd(&["LATENCY", "HISTORY", "command"])) else {
        panic!()
    };
    assert_eq!(h.len(), 1);
    let graph = c.cmd(&["LATENCY", "GRAPH", "command"]);
    assert!(graph.contains("command - high "), "{graph}");
    let doctor = c.cmd(&["LATENCY", "DOCTOR"]);
    assert!(doctor.contains("1. command: 1 latency spikes (average "), "{doctor}");
    out.push(format!("reset command -> {}", c.cmd(&["LATENCY", "RESET", "COMMAND"])));
    out.push(format!("latest -> {}", c.cmd(&["LATENCY", "LATEST"])));
    out
}

#[test]
fn same_as_redis() {
    let s = TestServer::start(&["--enable-debug-command", "yes"]);
    let ours = scenario(&mut s.raw());
    if !real_redis::available() {
        return;
    }
    let r = real_redis::Redis::start(&["--enable-debug-command", "yes"]);
    let theirs = scenario(&mut r.raw());
    assert_eq!(ours, theirs);
}
