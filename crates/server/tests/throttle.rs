#![allow(clippy::unwrap_used)]
//! CL.THROTTLE (GCRA, redis-cell's reply) through the binary: the 51st
//! request of a 50-a-minute limit is refused with a retry time, the key
//! always has a TTL, time (moved with DEBUG ADVANCE-CLOCK) refills it,
//! errors are redis-cell's, and the AOF logs the stored state.

mod common;

use common::TestServer;

fn throttle(c: &mut redis::Connection, key: &str, args: &[i64]) -> Vec<i64> {
    redis::cmd("CL.THROTTLE").arg(key).arg(args).query(c).unwrap()
}

#[test]
fn fifty_a_minute_refuses_the_51st() {
    let s = TestServer::start(&["--enable-debug-command", "yes"]);
    let mut c = s.conn();
    for i in 0..50 {
        let r = throttle(&mut c, "ip:10.0.0.1", &[49, 50, 60]);
        assert_eq!(r[..3], [0, 50, 49 - i], "request {}", i + 1);
        assert_eq!(r[3], -1);
        let pttl: i64 = redis::cmd("PTTL").arg("ip:10.0.0.1").query(&mut c).unwrap();
        assert!(pttl > 0, "the key always has a TTL");
    }
    let r = throttle(&mut c, "ip:10.0.0.1", &[49, 50, 60]);
    assert_eq!(r[..3], [1, 50, 0]);
    // One request is emitted every 1.2 s: retry in 2 s (rounded up), full
    // again in a minute.
    assert_eq!(r[3], 2);
    assert_eq!(r[4], 60);
    // Another client is not affected.
    assert_eq!(throttle(&mut c, "ip:10.0.0.2", &[49, 50, 60])[..3], [0, 50, 49]);
    // 1.2 s later one more fits.
    let _: () = redis::cmd("DEBUG")
        .arg("ADVANCE-CLOCK")
        .arg(1200)
        .query(&mut c)
        .unwrap();
    assert_eq!(throttle(&mut c, "ip:10.0.0.1", &[49, 50, 60])[..3], [0, 50, 0]);
    assert_eq!(throttle(&mut c, "ip:10.0.0.1", &[49, 50, 60])[0], 1);
    // Quantity 0 peeks without using the limit: the other client's one
    // request has been emitted by now.
    assert_eq!(throttle(&mut c, "ip:10.0.0.2", &[49, 50, 60, 0])[..3], [0, 50, 50]);
    assert_eq!(throttle(&mut c, "ip:10.0.0.2", &[49, 50, 60, 0])[..3], [0, 50, 50]);
}

#[test]
fn errors_are_redis_cells() {
    let s = TestServer::start(&[]);
    let mut raw = s.raw();
    let usage = "-ERR Usage: cl.throttle <key> <max_burst> <count per period> <period> [<quantity>]\r\n";
    assert_eq!(raw.cmd(&["CL.THROTTLE", "k", "1", "2"]), usage);
    assert_eq!(raw.cmd(&["CL.THROTTLE", "k", "1", "2", "3", "4", "5"]), usage);
    assert_eq!(
        raw.cmd(&["CL.THROTTLE", "k", "x", "2", "3"]),
        "-ERR Couldn't parse as integer: x\r\n"
    );
    assert_eq!(
        raw.cmd(&["CL.THROTTLE", "k", "1", "0", "3"]),
        "-ERR Zero rates are not supported\r\n"
    );
    raw.cmd(&["RPUSH", "list", "a"]);
    assert!(raw
        .cmd(&["CL.THROTTLE", "list", "1", "2", "3"])
        .starts_with("-WRONGTYPE"));
}

#[test]
fn the_aof_logs_the_stored_state() {
    let s = TestServer::start(&["--appendonly", "yes", "--save", ""]);
    let mut c = s.conn();
    // -LOADING until the AOF is open.
    for _ in 0..500 {
        if redis::cmd("PING").query::<String>(&mut c).is_ok() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    throttle(&mut c, "k", &[4, 1, 1]);
    let tat: i64 = redis::cmd("GET").arg("k").query(&mut c).unwrap();
    let manifest = std::fs::read_to_string(s.dir.join("appendonlydir/appendonly.aof.manifest")).unwrap();
    let incr = manifest
        .lines()
        .find(|l| l.ends_with("type i"))
        .unwrap()
        .split_whitespace()
        .nth(1)
        .unwrap();
    // The AOF writer batches under everysec: the bytes arrive shortly.
    let want = format!("$3\r\nSET\r\n$1\r\nk\r\n${}\r\n{tat}\r\n", tat.to_string().len());
    let path = s.dir.join("appendonlydir").join(incr);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    let mut text = String::new();
    while std::time::Instant::now() < deadline {
        text = String::from_utf8(std::fs::read(&path).unwrap()).unwrap();
        if text.contains(&want) {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    assert!(
        text.contains(&format!(
            "$3\r\nSET\r\n$1\r\nk\r\n${}\r\n{tat}\r\n$4\r\nPXAT\r\n",
            tat.to_string().len()
        )),
        "{text}"
    );
    assert!(!text.to_ascii_lowercase().contains("cl.throttle"));
}
