#![allow(clippy::unwrap_used)]
//! Expiry: lazy expiry on access, active expiry by the background cycle
//! (keys really leave memory), and the EXPIRE/TTL family's options and
//! edge cases. Time moves with DEBUG ADVANCE-CLOCK, never by sleeping;
//! the only waiting is bounded polling for the 100 ms background cycle.

mod common;

use std::time::{Duration, Instant};

use common::{RawConn, TestServer};

fn start() -> TestServer {
    TestServer::start(&["--enable-debug-command", "yes"])
}

fn expect(raw: &mut RawConn, args: &[&str], reply: &str) {
    assert_eq!(raw.cmd(args), reply, "{args:?}");
}

fn int(raw: &mut RawConn, args: &[&str]) -> i64 {
    let r = raw.cmd(args);
    assert!(r.starts_with(':'), "{args:?} -> {r}");
    r[1..r.len() - 2].parse().unwrap()
}

fn advance(raw: &mut RawConn, ms: u64) {
    expect(raw, &["DEBUG", "ADVANCE-CLOCK", &ms.to_string()], "+OK\r\n");
}

/// Polls DBSIZE (which touches no key) until it equals `want`, for up to 2 s.
fn wait_dbsize(raw: &mut RawConn, want: i64) -> i64 {
    let deadline = Instant::now() + Duration::from_secs(2);
    loop {
        let n = int(raw, &["DBSIZE"]);
        if n == want || Instant::now() > deadline {
            return n;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The server's clock in ms, read through a probe key's PEXPIRETIME.
fn server_now(raw: &mut RawConn) -> i64 {
    expect(raw, &["SET", "__clock_probe", "1", "PX", "1000000"], "+OK\r\n");
    let at = int(raw, &["PEXPIRETIME", "__clock_probe"]);
    expect(raw, &["DEL", "__clock_probe"], ":1\r\n");
    at - 1_000_000
}

#[test]
fn lazy_expiry_on_access() {
    let srv = start();
    let mut raw = srv.raw();
    expect(&mut raw, &["DEBUG", "SET-ACTIVE-EXPIRE", "0"], "+OK\r\n");
    expect(&mut raw, &["SET", "k", "v", "PX", "10000"], "+OK\r\n");
    expect(&mut raw, &["SET", "p", "v"], "+OK\r\n");
    advance(&mut raw, 9_000);
    expect(&mut raw, &["GET", "k"], "$1\r\nv\r\n");
    advance(&mut raw, 1_000);
    // Not reclaimed yet: nothing touched it and the cycle is off.
    expect(&mut raw, &["DBSIZE"], ":2\r\n");
    expect(&mut raw, &["GET", "k"], "$-1\r\n");
    expect(&mut raw, &["DBSIZE"], ":1\r\n");
    // Every kind of access hides and reclaims an expired key.
    for probe in [
        vec!["EXISTS", "e"],
        vec!["TYPE", "e"],
        vec!["TTL", "e"],
        vec!["OBJECT", "ENCODING", "e"],
        vec!["EXPIRE", "e", "100"],
        vec!["PERSIST", "e"],
        vec!["TOUCH", "e"],
    ] {
        expect(&mut raw, &["SET", "e", "v", "PX", "10"], "+OK\r\n");
        advance(&mut raw, 10);
        let r = raw.cmd(&probe);
        assert!(
            [":0\r\n", "+none\r\n", ":-2\r\n", "$-1\r\n"].contains(&r.as_str()),
            "{probe:?} saw an expired key: {r}"
        );
        expect(&mut raw, &["DBSIZE"], ":1\r\n");
    }
    // KEYS, SCAN and RANDOMKEY skip expired keys they meet.
    expect(&mut raw, &["DEL", "p"], ":1\r\n");
    expect(&mut raw, &["SET", "e", "v", "PX", "10"], "+OK\r\n");
    advance(&mut raw, 10);
    expect(&mut raw, &["KEYS", "*"], "*0\r\n");
    expect(&mut raw, &["SCAN", "0"], "*2\r\n$1\r\n0\r\n*0\r\n");
    expect(&mut raw, &["RANDOMKEY"], "$-1\r\n");
    // RENAME, MOVE and COPY treat it as missing.
    expect(&mut raw, &["SET", "e", "v", "PX", "10"], "+OK\r\n");
    advance(&mut raw, 10);
    expect(&mut raw, &["RENAME", "e", "f"], "-ERR no such key\r\n");
    expect(&mut raw, &["SET", "e", "v", "PX", "10"], "+OK\r\n");
    advance(&mut raw, 10);
    expect(&mut raw, &["MOVE", "e", "1"], ":0\r\n");
    expect(&mut raw, &["SET", "e", "v", "PX", "10"], "+OK\r\n");
    advance(&mut raw, 10);
    expect(&mut raw, &["COPY", "e", "f"], ":0\r\n");
    expect(&mut raw, &["DBSIZE"], ":0\r\n");
}

#[test]
fn active_expiry_reclaims_untouched_keys() {
    let srv = start();
    let mut raw = srv.raw();
    expect(&mut raw, &["DEBUG", "SET-ACTIVE-EXPIRE", "0"], "+OK\r\n");
    let mut req = Vec::new();
    for i in 0..2000 {
        let ttl = if i % 2 == 0 { "1000" } else { "5000" };
        let k = format!("k{i}");
        req.extend_from_slice(
            format!(
                "*5\r\n$3\r\nSET\r\n${}\r\n{k}\r\n$1\r\nv\r\n$2\r\nPX\r\n${}\r\n{ttl}\r\n",
                k.len(),
                ttl.len()
            )
            .as_bytes(),
        );
    }
    for i in 0..100 {
        let k = format!("p{i}");
        req.extend_from_slice(format!("*3\r\n$3\r\nSET\r\n${}\r\n{k}\r\n$1\r\nv\r\n", k.len()).as_bytes());
    }
    raw.send(&req);
    raw.read_replies(2100);
    expect(&mut raw, &["DBSIZE"], ":2100\r\n");
    advance(&mut raw, 1000);
    // With the cycle off, nothing goes.
    std::thread::sleep(Duration::from_millis(300));
    expect(&mut raw, &["DBSIZE"], ":2100\r\n");
    expect(&mut raw, &["DEBUG", "SET-ACTIVE-EXPIRE", "1"], "+OK\r\n");
    // DBSIZE counts what the tables hold, so reaching 1100 without any
    // key being accessed means the cycle removed them from memory.
    assert_eq!(wait_dbsize(&mut raw, 1100), 1100);
    advance(&mut raw, 4000);
    assert_eq!(wait_dbsize(&mut raw, 100), 100);
    let keys = raw.cmd(&["KEYS", "k*"]);
    assert_eq!(keys, "*0\r\n");
    // Keys whose TTL was removed or pushed back are not reclaimed.
    expect(&mut raw, &["SET", "a", "v", "PX", "100"], "+OK\r\n");
    expect(&mut raw, &["SET", "b", "v", "PX", "100"], "+OK\r\n");
    expect(&mut raw, &["PERSIST", "a"], ":1\r\n");
    expect(&mut raw, &["PEXPIRE", "b", "100000"], ":1\r\n");
    advance(&mut raw, 1000);
    std::thread::sleep(Duration::from_millis(300));
    expect(&mut raw, &["DBSIZE"], ":102\r\n");
    expect(&mut raw, &["EXISTS", "a", "b"], ":2\r\n");
}

#[test]
fn ttl_family_values() {
    let srv = start();
    let mut raw = srv.raw();
    expect(&mut raw, &["TTL", "nokey"], ":-2\r\n");
    expect(&mut raw, &["PTTL", "nokey"], ":-2\r\n");
    expect(&mut raw, &["EXPIRETIME", "nokey"], ":-2\r\n");
    expect(&mut raw, &["PEXPIRETIME", "nokey"], ":-2\r\n");
    expect(&mut raw, &["SET", "k", "v"], "+OK\r\n");
    expect(&mut raw, &["TTL", "k"], ":-1\r\n");
    expect(&mut raw, &["PTTL", "k"], ":-1\r\n");
    expect(&mut raw, &["EXPIRETIME", "k"], ":-1\r\n");
    expect(&mut raw, &["PEXPIRETIME", "k"], ":-1\r\n");
    expect(&mut raw, &["EXPIRE", "k", "100"], ":1\r\n");
    expect(&mut raw, &["TTL", "k"], ":100\r\n");
    let pttl = int(&mut raw, &["PTTL", "k"]);
    assert!((99_000..=100_000).contains(&pttl), "{pttl}");
    advance(&mut raw, 1_400);
    // TTL rounds to the nearest second: 98.6 s -> 99.
    expect(&mut raw, &["TTL", "k"], ":99\r\n");
    let pttl = int(&mut raw, &["PTTL", "k"]);
    assert!((97_500..=98_600).contains(&pttl), "{pttl}");
    // Absolute times are exactly what was set.
    expect(&mut raw, &["PEXPIREAT", "k", "4102444800123"], ":1\r\n");
    expect(&mut raw, &["PEXPIRETIME", "k"], ":4102444800123\r\n");
    expect(&mut raw, &["EXPIRETIME", "k"], ":4102444800\r\n");
    expect(&mut raw, &["PEXPIREAT", "k", "4102444800500"], ":1\r\n");
    expect(&mut raw, &["EXPIRETIME", "k"], ":4102444801\r\n");
    expect(&mut raw, &["EXPIREAT", "k", "4102444800"], ":1\r\n");
    expect(&mut raw, &["PEXPIRETIME", "k"], ":4102444800000\r\n");
    // Relative to the server's clock.
    let now = server_now(&mut raw);
    expect(&mut raw, &["PEXPIRE", "k", "5000"], ":1\r\n");
    let at = int(&mut raw, &["PEXPIRETIME", "k"]);
    assert!((now + 5000..now + 6000).contains(&at), "{now} {at}");
    // RESP3 replies are the same integers.
    raw.cmd(&["HELLO", "3"]);
    expect(&mut raw, &["TTL", "nokey"], ":-2\r\n");
    expect(&mut raw, &["PERSIST", "k"], ":1\r\n");
    expect(&mut raw, &["PTTL", "k"], ":-1\r\n");
}

#[test]
fn expire_options() {
    let srv = start();
    let mut raw = srv.raw();
    expect(&mut raw, &["SET", "k", "v"], "+OK\r\n");
    // XX and GT fail on a key without TTL (GT: no TTL is infinite).
    expect(&mut raw, &["EXPIRE", "k", "100", "XX"], ":0\r\n");
    expect(&mut raw, &["EXPIRE", "k", "100", "GT"], ":0\r\n");
    expect(&mut raw, &["TTL", "k"], ":-1\r\n");
    // LT succeeds on a key without TTL.
    expect(&mut raw, &["EXPIRE", "k", "1000", "LT"], ":1\r\n");
    expect(&mut raw, &["TTL", "k"], ":1000\r\n");
    expect(&mut raw, &["EXPIRE", "k", "100", "NX"], ":0\r\n");
    expect(&mut raw, &["EXPIRE", "k", "500", "XX"], ":1\r\n");
    expect(&mut raw, &["TTL", "k"], ":500\r\n");
    expect(&mut raw, &["EXPIRE", "k", "400", "GT"], ":0\r\n");
    expect(&mut raw, &["EXPIRE", "k", "600", "gt"], ":1\r\n");
    expect(&mut raw, &["EXPIRE", "k", "700", "LT"], ":0\r\n");
    expect(&mut raw, &["EXPIRE", "k", "300", "lt", "xx"], ":1\r\n");
    expect(&mut raw, &["TTL", "k"], ":300\r\n");
    // Equal deadlines fail both GT and LT (absolute times to be exact).
    let t = 4_102_444_800_000i64;
    expect(&mut raw, &["PEXPIREAT", "k", &t.to_string()], ":1\r\n");
    for (deadline, opt, reply) in [
        (t, "GT", ":0\r\n"),
        (t - 1, "GT", ":0\r\n"),
        (t, "LT", ":0\r\n"),
        (t + 1, "LT", ":0\r\n"),
        (t + 1, "GT", ":1\r\n"),
        (t, "LT", ":1\r\n"),
    ] {
        expect(&mut raw, &["PEXPIREAT", "k", &deadline.to_string(), opt], reply);
    }
    expect(&mut raw, &["PEXPIRETIME", "k"], &format!(":{t}\r\n"));
    expect(&mut raw, &["EXPIRE", "k", "300"], ":1\r\n");
    expect(&mut raw, &["PERSIST", "k"], ":1\r\n");
    expect(&mut raw, &["PERSIST", "k"], ":0\r\n");
    expect(&mut raw, &["PERSIST", "nokey"], ":0\r\n");
    expect(&mut raw, &["EXPIRE", "k", "100", "NX"], ":1\r\n");
    expect(&mut raw, &["TTL", "k"], ":100\r\n");
    // Options on a missing key.
    expect(&mut raw, &["EXPIRE", "nokey", "100"], ":0\r\n");
    expect(&mut raw, &["EXPIRE", "nokey", "100", "NX"], ":0\r\n");
    // Option errors come before the number is parsed.
    expect(
        &mut raw,
        &["EXPIRE", "k", "abc", "foo"],
        "-ERR Unsupported option foo\r\n",
    );
    for opts in [["NX", "XX"], ["NX", "GT"], ["NX", "LT"], ["xx", "nx"]] {
        expect(
            &mut raw,
            &["EXPIRE", "k", "10", opts[0], opts[1]],
            "-ERR NX and XX, GT or LT options at the same time are not compatible\r\n",
        );
    }
    expect(
        &mut raw,
        &["PEXPIRE", "k", "10", "GT", "LT"],
        "-ERR GT and LT options at the same time are not compatible\r\n",
    );
    expect(
        &mut raw,
        &["EXPIRE", "k", "abc"],
        "-ERR value is not an integer or out of range\r\n",
    );
    expect(
        &mut raw,
        &["EXPIRE", "k", "1.5"],
        "-ERR value is not an integer or out of range\r\n",
    );
    expect(&mut raw, &["TTL", "k"], ":100\r\n");
    expect(
        &mut raw,
        &["EXPIRE"],
        "-ERR wrong number of arguments for 'expire' command\r\n",
    );
}

#[test]
fn expire_overflow_is_refused() {
    let srv = start();
    let mut raw = srv.raw();
    expect(&mut raw, &["SET", "k", "v"], "+OK\r\n");
    let max = i64::MAX.to_string();
    let min = i64::MIN.to_string();
    for (cmd, arg) in [
        ("EXPIRE", max.as_str()),
        ("EXPIRE", min.as_str()),
        ("EXPIRE", "9223372036854775"),
        ("PEXPIRE", max.as_str()),
        ("EXPIREAT", max.as_str()),
        ("EXPIREAT", "9223372036854776"),
    ] {
        expect(
            &mut raw,
            &[cmd, "k", arg],
            &format!("-ERR invalid expire time in '{}' command\r\n", cmd.to_lowercase()),
        );
    }
    // Checked before the key is looked up.
    expect(
        &mut raw,
        &["expire", "nokey", &max],
        "-ERR invalid expire time in 'expire' command\r\n",
    );
    expect(&mut raw, &["TTL", "k"], ":-1\r\n");
    // The largest absolute ms deadline is fine.
    expect(&mut raw, &["PEXPIREAT", "k", &max], ":1\r\n");
    expect(&mut raw, &["PEXPIRETIME", "k"], &format!(":{max}\r\n"));
    expect(&mut raw, &["EXPIREAT", "k", "9223372036854775"], ":1\r\n");
    expect(&mut raw, &["PEXPIRETIME", "k"], ":9223372036854775000\r\n");
}

#[test]
fn past_deadlines_delete_the_key() {
    let srv = start();
    let mut raw = srv.raw();
    for args in [
        vec!["EXPIRE", "k", "0"],
        vec!["EXPIRE", "k", "-10"],
        vec!["PEXPIRE", "k", "-1"],
        vec!["EXPIREAT", "k", "1"],
        vec!["PEXPIREAT", "k", "0"],
        vec!["PEXPIREAT", "k", "-9223372036854775808"],
        vec!["EXPIRE", "k", "-5", "LT"],
    ] {
        expect(&mut raw, &["SET", "k", "v"], "+OK\r\n");
        expect(&mut raw, &args, ":1\r\n");
        expect(&mut raw, &["EXISTS", "k"], ":0\r\n");
        expect(&mut raw, &["DBSIZE"], ":0\r\n");
    }
    // A condition that fails leaves the key alone even with a past time.
    expect(&mut raw, &["SET", "k", "v"], "+OK\r\n");
    expect(&mut raw, &["EXPIRE", "k", "-5", "XX"], ":0\r\n");
    expect(&mut raw, &["EXPIRE", "k", "-5", "GT"], ":0\r\n");
    expect(&mut raw, &["EXISTS", "k"], ":1\r\n");
    // A deadline equal to now counts as past.
    expect(&mut raw, &["DEBUG", "SET-ACTIVE-EXPIRE", "0"], "+OK\r\n");
    expect(&mut raw, &["PEXPIRE", "k", "0"], ":1\r\n");
    expect(&mut raw, &["EXISTS", "k"], ":0\r\n");
}

#[test]
fn ttl_travels_with_rename_move_copy_and_swapdb() {
    let srv = start();
    let mut raw = srv.raw();
    expect(&mut raw, &["DEBUG", "SET-ACTIVE-EXPIRE", "0"], "+OK\r\n");
    expect(&mut raw, &["SET", "a", "v", "EX", "10"], "+OK\r\n");
    expect(&mut raw, &["RENAME", "a", "b"], "+OK\r\n");
    expect(&mut raw, &["COPY", "b", "c"], ":1\r\n");
    expect(&mut raw, &["MOVE", "c", "1"], ":1\r\n");
    expect(&mut raw, &["TTL", "b"], ":10\r\n");
    expect(&mut raw, &["SELECT", "1"], "+OK\r\n");
    expect(&mut raw, &["TTL", "c"], ":10\r\n");
    expect(&mut raw, &["SWAPDB", "0", "1"], "+OK\r\n");
    expect(&mut raw, &["TTL", "b"], ":10\r\n");
    advance(&mut raw, 10_000);
    expect(&mut raw, &["EXISTS", "b"], ":0\r\n");
    expect(&mut raw, &["SELECT", "0"], "+OK\r\n");
    expect(&mut raw, &["DBSIZE"], ":1\r\n");
    expect(&mut raw, &["DEBUG", "SET-ACTIVE-EXPIRE", "1"], "+OK\r\n");
    // The expiry index moved with the swapped database.
    assert_eq!(wait_dbsize(&mut raw, 0), 0);
}
