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

/// INFO latencystats with each number replaced by `N` and its lines
/// sorted (Redis prints them in its dict's order).
fn latencystats(c: &mut RawConn) -> String {
    let text = c.cmd(&["INFO", "latencystats"]);
    let mut lines: Vec<String> = text
        .split("\r\n")
        .filter(|l| l.starts_with("latency_percentiles_usec_") || l.starts_with('#'))
        .map(|l| {
            let Some((name, values)) = l.split_once(':') else {
                return l.to_string();
            };
            let values: Vec<String> = values
                .split(',')
                .filter(|v| !v.is_empty())
                .map(|v| match v.split_once('=') {
                    Some((p, n)) => {
                        let n: f64 = n.parse().unwrap();
                        assert!(n > 0.0, "{l}");
                        format!("{p}=N")
                    }
                    None => v.to_string(),
                })
                .collect();
            format!("{name}:{}", values.join(","))
        })
        .collect();
    lines.sort();
    lines.join("\n")
}

/// Per-command histograms (latency tracking): the same steps on both
/// servers, durations from DEBUG SLEEP 0.009 (its step is 16908 µs from
/// 8.4 ms to 16.9 ms), other commands' figures replaced by `N`.
fn histogram_scenario(c: &mut RawConn) -> Vec<String> {
    let mut out = Vec::new();
    fn step(out: &mut Vec<String>, c: &mut RawConn, s: &[&str]) {
        out.push(format!("{s:?} -> {}", c.cmd(s)));
    }
    step(&mut out, c, &["CONFIG", "SET", "latency-tracking", "yes"]);
    step(&mut out, c, &["CONFIG", "RESETSTAT"]);
    step(&mut out, c, &["DEBUG", "SLEEP", "0.009"]);
    step(&mut out, c, &["DEBUG", "SLEEP", "0.009"]);
    step(&mut out, c, &["LATENCY", "HISTOGRAM", "debug"]);
    step(&mut out, c, &["LATENCY", "HISTOGRAM", "DEBUG", "nosuch"]);
    step(&mut out, c, &["LATENCY", "HISTOGRAM", "nosuch"]);
    step(&mut out, c, &["LATENCY", "HISTOGRAM", "client"]);
    out.push(latencystats(c));
    step(
        &mut out,
        c,
        &[
            "CONFIG",
            "SET",
            "latency-tracking-info-percentiles",
            "50.5 0 100 99.99999",
        ],
    );
    step(&mut out, c, &["CONFIG", "GET", "latency-tracking-info-percentiles"]);
    out.push(latencystats(c));
    step(
        &mut out,
        c,
        &["CONFIG", "SET", "latency-tracking-info-percentiles", "101"],
    );
    step(
        &mut out,
        c,
        &["CONFIG", "SET", "latency-tracking-info-percentiles", "-1"],
    );
    step(
        &mut out,
        c,
        &["CONFIG", "SET", "latency-tracking-info-percentiles", "abc"],
    );
    step(&mut out, c, &["CONFIG", "GET", "latency-tracking-info-percentiles"]);
    step(&mut out, c, &["CONFIG", "SET", "latency-tracking-info-percentiles", ""]);
    step(&mut out, c, &["CONFIG", "GET", "latency-tracking-info-percentiles"]);
    out.push(latencystats(c));
    step(
        &mut out,
        c,
        &["CONFIG", "SET", "latency-tracking-info-percentiles", "50 99 99.9"],
    );
    step(&mut out, c, &["CONFIG", "SET", "latency-tracking", "no"]);
    step(&mut out, c, &["SET", "a", "b"]);
    step(&mut out, c, &["LATENCY", "HISTOGRAM", "set"]);
    out.push(latencystats(c));
    step(&mut out, c, &["CONFIG", "SET", "latency-tracking", "yes"]);
    step(&mut out, c, &["CONFIG", "RESETSTAT"]);
    step(&mut out, c, &["LATENCY", "HISTOGRAM", "debug"]);
    let info = c.cmd(&["INFO"]);
    out.push(format!(
        "default INFO has latencystats: {}",
        info.contains("# Latencystats")
    ));
    let all = c.cmd(&["INFO", "everything"]);
    let sections: Vec<&str> = all.split("\r\n").filter(|l| l.starts_with("# ")).collect();
    out.push(format!("{sections:?}"));
    out
}

#[test]
fn histograms_same_as_redis() {
    let s = TestServer::start(&["--enable-debug-command", "yes"]);
    let mut c = s.raw();
    let ours = histogram_scenario(&mut c);
    // What the steps must show on Larder alone.
    assert!(
        ours[4].ends_with(
            "*2\r\n$5\r\ndebug\r\n*4\r\n$5\r\ncalls\r\n:2\r\n$14\r\nhistogram_usec\r\n*2\r\n:16908\r\n:2\r\n"
        ),
        "{}",
        ours[4]
    );
    assert!(
        ours[8].contains("latency_percentiles_usec_debug:p50=N,p99=N,p99.9=N"),
        "{}",
        ours[8]
    );
    assert!(ours[11].contains("latency_percentiles_usec_debug:p50.5=N,p0=N,p100=N,p99.99999=N"));
    assert!(ours[18].contains("latency_percentiles_usec_debug:\n"), "{}", ours[18]);
    assert_eq!(ours[23], "# Latencystats");
    // A container brings its subcommands.
    c.cmd(&["CONFIG", "GET", "maxmemory"]);
    let config = c.cmd(&["LATENCY", "HISTOGRAM", "config"]);
    assert!(
        config.contains("config|resetstat") && config.contains("config|get"),
        "{config}"
    );
    if !real_redis::available() {
        return;
    }
    let r = real_redis::Redis::start(&["--enable-debug-command", "yes"]);
    let theirs = histogram_scenario(&mut r.raw());
    assert_eq!(ours, theirs);
}
