#![allow(clippy::unwrap_used)]
//! Transactions: MULTI, EXEC, DISCARD, WATCH, UNWATCH against Redis
//! 7.2's replies (checked byte for byte over raw RESP2 and RESP3), WATCH
//! invalidation by every kind of modification, atomicity against other
//! clients, blocking commands inside EXEC, and the `redis` crate's atomic
//! pipelines. Expiry is driven by DEBUG ADVANCE-CLOCK, never by sleeping.

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::resp::bulk;
use common::{RawConn, TestServer};

fn server() -> TestServer {
    TestServer::start(&["--enable-debug-command", "yes"])
}

const OK: &str = "+OK\r\n";
const QUEUED: &str = "+QUEUED\r\n";
const NULL_ARRAY: &str = "*-1\r\n";
const EXECABORT: &str = "-EXECABORT Transaction discarded because of previous errors.\r\n";

/// MULTI, PING, EXEC: the EXEC reply (`*1 +PONG` when nothing watched
/// was touched, the null array when something was).
fn ping_tx(r: &mut RawConn) -> String {
    assert_eq!(r.cmd(&["MULTI"]), OK);
    assert_eq!(r.cmd(&["PING"]), QUEUED);
    r.cmd(&["EXEC"])
}

const PONG_TX: &str = "*1\r\n+PONG\r\n";

#[test]
fn queue_and_exec_resp2() {
    let srv = server();
    let mut r = srv.raw();
    assert_eq!(r.cmd(&["MULTI"]), OK);
    assert_eq!(r.cmd(&["SET", "a", "1"]), QUEUED);
    assert_eq!(r.cmd(&["INCR", "a"]), QUEUED);
    assert_eq!(r.cmd(&["GET", "a"]), QUEUED);
    assert_eq!(r.cmd(&["HGETALL", "nohash"]), QUEUED);
    assert_eq!(r.cmd(&["GET", "missing"]), QUEUED);
    // Nothing ran yet: another client sees no key.
    let mut other = srv.raw();
    assert_eq!(other.cmd(&["EXISTS", "a"]), ":0\r\n");
    assert_eq!(r.cmd(&["EXEC"]), format!("*5\r\n{OK}:2\r\n{}*0\r\n$-1\r\n", bulk("2")));
    assert_eq!(other.cmd(&["GET", "a"]), bulk("2"));
    // An empty transaction.
    assert_eq!(r.cmd(&["MULTI"]), OK);
    assert_eq!(r.cmd(&["EXEC"]), "*0\r\n");
    // A whole transaction in one write (pipelined).
    r.send(b"*1\r\n$5\r\nMULTI\r\n*2\r\n$4\r\nINCR\r\n$1\r\na\r\n*2\r\n$4\r\nINCR\r\n$1\r\na\r\n*1\r\n$4\r\nEXEC\r\n");
    let got = String::from_utf8(r.read_replies(4)).unwrap();
    assert_eq!(got, format!("{OK}{QUEUED}{QUEUED}*2\r\n:3\r\n:4\r\n"));
}

#[test]
fn queue_and_exec_resp3() {
    let srv = server();
    let mut r = srv.raw3();
    assert_eq!(r.cmd(&["MULTI"]), OK);
    assert_eq!(r.cmd(&["HGETALL", "h"]), QUEUED);
    assert_eq!(r.cmd(&["GET", "zz"]), QUEUED);
    assert_eq!(r.cmd(&["ZADD", "z", "1.5", "m"]), QUEUED);
    assert_eq!(r.cmd(&["ZSCORE", "z", "m"]), QUEUED);
    assert_eq!(r.cmd(&["HSET", "h", "f", "v"]), QUEUED);
    assert_eq!(r.cmd(&["HGETALL", "h"]), QUEUED);
    assert_eq!(
        r.cmd(&["EXEC"]),
        "*6\r\n%0\r\n_\r\n:1\r\n,1.5\r\n:1\r\n%1\r\n$1\r\nf\r\n$1\r\nv\r\n"
    );
    // HELLO inside a transaction switches the protocol for the replies
    // after it, as in Redis.
    assert_eq!(r.cmd(&["MULTI"]), OK);
    assert_eq!(r.cmd(&["HELLO", "2"]), QUEUED);
    assert_eq!(r.cmd(&["GET", "zz"]), QUEUED);
    let got = r.cmd(&["EXEC"]);
    assert!(got.starts_with("*2\r\n*14\r\n"), "{got}");
    assert!(got.ends_with("$-1\r\n"), "{got}");
}

#[test]
fn control_errors() {
    let srv = server();
    let mut r = srv.raw();
    assert_eq!(r.cmd(&["EXEC"]), "-ERR EXEC without MULTI\r\n");
    assert_eq!(r.cmd(&["DISCARD"]), "-ERR DISCARD without MULTI\r\n");
    assert_eq!(r.cmd(&["MULTI"]), OK);
    // Neither nested MULTI nor WATCH inside MULTI aborts the transaction.
    assert_eq!(r.cmd(&["MULTI"]), "-ERR MULTI calls can not be nested\r\n");
    assert_eq!(r.cmd(&["WATCH", "x"]), "-ERR WATCH inside MULTI is not allowed\r\n");
    assert_eq!(r.cmd(&["SET", "a", "1"]), QUEUED);
    assert_eq!(r.cmd(&["EXEC"]), format!("*1\r\n{OK}"));
    assert_eq!(r.cmd(&["EXEC"]), "-ERR EXEC without MULTI\r\n");
    assert_eq!(
        r.cmd(&["MULTI", "x"]),
        "-ERR wrong number of arguments for 'multi' command\r\n"
    );
    assert_eq!(
        r.cmd(&["WATCH"]),
        "-ERR wrong number of arguments for 'watch' command\r\n"
    );
}

#[test]
fn queue_time_errors_abort() {
    let srv = server();
    let mut r = srv.raw();
    assert_eq!(r.cmd(&["MULTI"]), OK);
    assert_eq!(r.cmd(&["SET", "k", "v"]), QUEUED);
    assert_eq!(
        r.cmd(&["NOSUCH", "a"]),
        "-ERR unknown command 'NOSUCH', with args beginning with: 'a' \r\n"
    );
    assert_eq!(r.cmd(&["EXEC"]), EXECABORT);
    assert_eq!(r.cmd(&["EXISTS", "k"]), ":0\r\n");
    assert_eq!(r.cmd(&["EXEC"]), "-ERR EXEC without MULTI\r\n");

    assert_eq!(r.cmd(&["MULTI"]), OK);
    assert_eq!(
        r.cmd(&["SET", "k"]),
        "-ERR wrong number of arguments for 'set' command\r\n"
    );
    assert_eq!(r.cmd(&["SET", "k", "v"]), QUEUED);
    assert_eq!(r.cmd(&["EXEC"]), EXECABORT);

    assert_eq!(r.cmd(&["MULTI"]), OK);
    assert_eq!(
        r.cmd(&["CONFIG", "NOSUCH"]),
        "-ERR unknown subcommand 'NOSUCH'. Try CONFIG HELP.\r\n"
    );
    assert_eq!(r.cmd(&["EXEC"]), EXECABORT);

    // no-multi commands.
    assert_eq!(r.cmd(&["MULTI"]), OK);
    assert_eq!(
        r.cmd(&["SHUTDOWN"]),
        "-ERR Command not allowed inside a transaction\r\n"
    );
    assert_eq!(r.cmd(&["EXEC"]), EXECABORT);
    assert_eq!(r.cmd(&["PING"]), "+PONG\r\n");

    // DISCARD after an error is fine, and the next transaction is clean.
    assert_eq!(r.cmd(&["MULTI"]), OK);
    r.cmd(&["NOSUCH"]);
    assert_eq!(r.cmd(&["DISCARD"]), OK);
    assert_eq!(ping_tx(&mut r), PONG_TX);
}

#[test]
fn runtime_errors_are_elements() {
    let srv = server();
    let mut r = srv.raw();
    assert_eq!(r.cmd(&["MULTI"]), OK);
    assert_eq!(r.cmd(&["SET", "a", "1"]), QUEUED);
    assert_eq!(r.cmd(&["LPUSH", "a", "x"]), QUEUED);
    assert_eq!(r.cmd(&["INCRBY", "a", "notanumber"]), QUEUED);
    assert_eq!(r.cmd(&["INCR", "a"]), QUEUED);
    assert_eq!(
        r.cmd(&["EXEC"]),
        format!(
            "*4\r\n{OK}-WRONGTYPE Operation against a key holding the wrong kind of value\r\n\
             -ERR value is not an integer or out of range\r\n:2\r\n"
        )
    );
    // Errors inside EXEC count as failed calls of their command.
    let stats = r.cmd(&["INFO", "commandstats"]);
    let lpush = stats.lines().find(|l| l.starts_with("cmdstat_lpush:")).unwrap();
    assert!(
        lpush.contains("calls=1,") && lpush.contains("failed_calls=1"),
        "{lpush}"
    );
    let exec = stats.lines().find(|l| l.starts_with("cmdstat_exec:")).unwrap();
    assert!(exec.contains("calls=1,") && exec.contains("failed_calls=0"), "{exec}");
}

#[test]
fn discard_and_reset() {
    let srv = server();
    let mut r = srv.raw();
    assert_eq!(r.cmd(&["MULTI"]), OK);
    assert_eq!(r.cmd(&["SET", "a", "1"]), QUEUED);
    assert_eq!(r.cmd(&["DISCARD"]), OK);
    assert_eq!(r.cmd(&["EXISTS", "a"]), ":0\r\n");
    assert_eq!(r.cmd(&["EXEC"]), "-ERR EXEC without MULTI\r\n");
    // RESET leaves MULTI (it is not queued).
    assert_eq!(r.cmd(&["MULTI"]), OK);
    assert_eq!(r.cmd(&["SET", "a", "1"]), QUEUED);
    assert_eq!(r.cmd(&["RESET"]), "+RESET\r\n");
    assert_eq!(r.cmd(&["EXEC"]), "-ERR EXEC without MULTI\r\n");
    assert_eq!(r.cmd(&["EXISTS", "a"]), ":0\r\n");
    // DISCARD and RESET forget the watches.
    let mut other = srv.raw();
    assert_eq!(r.cmd(&["WATCH", "w"]), OK);
    assert_eq!(r.cmd(&["MULTI"]), OK);
    assert_eq!(r.cmd(&["DISCARD"]), OK);
    assert_eq!(other.cmd(&["SET", "w", "1"]), OK);
    assert_eq!(ping_tx(&mut r), PONG_TX);
    assert_eq!(r.cmd(&["WATCH", "w"]), OK);
    assert_eq!(r.cmd(&["RESET"]), "+RESET\r\n");
    assert_eq!(other.cmd(&["SET", "w", "2"]), OK);
    assert_eq!(ping_tx(&mut r), PONG_TX);
}

#[test]
fn client_list_shows_multi() {
    let srv = server();
    let mut r = srv.raw();
    let mut other = srv.raw();
    let id = r.cmd(&["CLIENT", "ID"]);
    let id = id.trim().trim_start_matches(':').to_string();
    let line = |o: &mut RawConn| {
        let all = o.cmd(&["CLIENT", "LIST", "ID", &id]);
        all.lines()
            .find(|l| l.contains(&format!("id={id} ")))
            .unwrap()
            .to_string()
    };
    assert!(line(&mut other).contains(" flags=N ") && line(&mut other).contains(" multi=-1 "));
    assert_eq!(r.cmd(&["MULTI"]), OK);
    let l = line(&mut other);
    assert!(l.contains(" flags=x ") && l.contains(" multi=0 "), "{l}");
    assert_eq!(r.cmd(&["SET", "a", "1"]), QUEUED);
    assert_eq!(r.cmd(&["GET", "a"]), QUEUED);
    let l = line(&mut other);
    assert!(l.contains(" flags=x ") && l.contains(" multi=2 "), "{l}");
    assert!(!l.contains(" multi-mem=0 "), "queued commands count as multi-mem: {l}");
    assert!(l.contains(" cmd=get "), "the last command queued: {l}");
    // During EXEC the client still shows as in MULTI (Redis does too).
    assert_eq!(r.cmd(&["MULTI"]), "-ERR MULTI calls can not be nested\r\n");
    assert_eq!(r.cmd(&["CLIENT", "INFO"]), QUEUED);
    let got = r.cmd(&["EXEC"]);
    assert!(got.contains(" flags=x ") && got.contains(" multi=3 "), "{got}");
    assert!(got.contains(" cmd=exec "), "{got}");
    let l = line(&mut other);
    assert!(
        l.contains(" flags=N ") && l.contains(" multi=-1 ") && l.contains(" multi-mem=0 "),
        "{l}"
    );
}

#[test]
fn watch_other_client_write() {
    let srv = server();
    let mut r = srv.raw();
    let mut o = srv.raw();
    assert_eq!(r.cmd(&["SET", "x", "1"]), OK);
    assert_eq!(r.cmd(&["WATCH", "x"]), OK);
    assert_eq!(o.cmd(&["SET", "x", "2"]), OK);
    assert_eq!(r.cmd(&["MULTI"]), OK);
    assert_eq!(r.cmd(&["SET", "x", "3"]), QUEUED);
    assert_eq!(r.cmd(&["EXEC"]), NULL_ARRAY);
    assert_eq!(r.cmd(&["GET", "x"]), bulk("2"));
    // The watch is gone after EXEC: the next transaction runs.
    assert_eq!(o.cmd(&["SET", "x", "4"]), OK);
    assert_eq!(ping_tx(&mut r), PONG_TX);
    // Writing the same value still counts as a modification.
    assert_eq!(r.cmd(&["WATCH", "x"]), OK);
    assert_eq!(o.cmd(&["SET", "x", "4"]), OK);
    assert_eq!(ping_tx(&mut r), NULL_ARRAY);
    // One of several watched keys.
    assert_eq!(r.cmd(&["WATCH", "a", "b", "x", "c"]), OK);
    assert_eq!(o.cmd(&["APPEND", "x", "z"]), ":2\r\n");
    assert_eq!(ping_tx(&mut r), NULL_ARRAY);
    // Watching twice, two watchers.
    let mut t = srv.raw();
    assert_eq!(r.cmd(&["WATCH", "x", "x"]), OK);
    assert_eq!(t.cmd(&["WATCH", "x"]), OK);
    assert_eq!(o.cmd(&["INCR", "nx"]), ":1\r\n");
    assert_eq!(o.cmd(&["DEL", "x"]), ":1\r\n");
    assert_eq!(ping_tx(&mut r), NULL_ARRAY);
    assert_eq!(ping_tx(&mut t), NULL_ARRAY);
}

#[test]
fn watch_resp3_null() {
    let srv = server();
    let mut r = srv.raw3();
    let mut o = srv.raw();
    assert_eq!(r.cmd(&["WATCH", "x"]), OK);
    assert_eq!(o.cmd(&["SET", "x", "1"]), OK);
    assert_eq!(ping_tx(&mut r), "_\r\n");
}

#[test]
fn watch_own_write_and_unwatch() {
    let srv = server();
    let mut r = srv.raw();
    let mut o = srv.raw();
    assert_eq!(r.cmd(&["WATCH", "x"]), OK);
    assert_eq!(r.cmd(&["SET", "x", "1"]), OK);
    assert_eq!(ping_tx(&mut r), NULL_ARRAY);
    assert_eq!(r.cmd(&["WATCH", "x", "y"]), OK);
    assert_eq!(r.cmd(&["UNWATCH"]), OK);
    assert_eq!(o.cmd(&["SET", "x", "2"]), OK);
    assert_eq!(ping_tx(&mut r), PONG_TX);
    // UNWATCH also clears an invalidation that already happened.
    assert_eq!(r.cmd(&["WATCH", "x"]), OK);
    assert_eq!(o.cmd(&["SET", "x", "3"]), OK);
    assert_eq!(r.cmd(&["UNWATCH"]), OK);
    assert_eq!(ping_tx(&mut r), PONG_TX);
    // Inside MULTI, UNWATCH is queued.
    assert_eq!(r.cmd(&["MULTI"]), OK);
    assert_eq!(r.cmd(&["UNWATCH"]), QUEUED);
    assert_eq!(r.cmd(&["EXEC"]), format!("*1\r\n{OK}"));
    // EXECABORT wins over a touched watch, and forgets it.
    assert_eq!(r.cmd(&["WATCH", "x"]), OK);
    assert_eq!(o.cmd(&["SET", "x", "4"]), OK);
    assert_eq!(r.cmd(&["MULTI"]), OK);
    r.cmd(&["NOSUCH"]);
    assert_eq!(r.cmd(&["EXEC"]), EXECABORT);
    assert_eq!(ping_tx(&mut r), PONG_TX);
}

#[test]
fn watch_not_touched_by_reads_or_failed_writes() {
    let srv = server();
    let mut r = srv.raw();
    let mut o = srv.raw();
    assert_eq!(r.cmd(&["SET", "x", "1"]), OK);
    assert_eq!(r.cmd(&["WATCH", "x", "missing"]), OK);
    assert_eq!(o.cmd(&["GET", "x"]), bulk("1"));
    assert_eq!(o.cmd(&["EXISTS", "x", "missing"]), ":1\r\n");
    assert_eq!(o.cmd(&["TTL", "x"]), ":-1\r\n");
    assert_eq!(o.cmd(&["STRLEN", "x"]), ":1\r\n");
    // Writes that change nothing (Redis signals only real changes).
    assert_eq!(o.cmd(&["DEL", "missing"]), ":0\r\n");
    assert_eq!(
        o.cmd(&["INCRBY", "x", "notanumber"]),
        "-ERR value is not an integer or out of range\r\n"
    );
    assert_eq!(
        o.cmd(&["SADD", "x", "m"]),
        "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"
    );
    assert_eq!(o.cmd(&["SET", "x", "9", "NX"]), "$-1\r\n");
    // Writes to other keys, and to the same name in another db.
    assert_eq!(o.cmd(&["SET", "y", "1"]), OK);
    assert_eq!(o.cmd(&["SELECT", "1"]), OK);
    assert_eq!(o.cmd(&["SET", "x", "1"]), OK);
    assert_eq!(ping_tx(&mut r), PONG_TX);
}

#[test]
fn watch_touched_by_keyspace_commands() {
    let srv = server();
    let mut r = srv.raw();
    let mut o = srv.raw();
    // DEL, EXPIRE, RENAME (source and destination), MOVE, LPUSH on a
    // missing key.
    let cases: &[(&[&str], &[&str])] = &[
        (&["SET", "x", "1"], &["DEL", "x"]),
        (&["SET", "x", "1"], &["EXPIRE", "x", "100"]),
        (&["SET", "x", "1"], &["RENAME", "x", "y"]),
        (&["SET", "y", "1"], &["RENAME", "y", "x"]),
        (&["SET", "x", "1"], &["MOVE", "x", "1"]),
        (&["DEL", "x"], &["LPUSH", "x", "a"]),
        (&["DEL", "x"], &["MSET", "q", "1", "x", "2"]),
    ];
    for (setup, write) in cases {
        o.cmd(&["FLUSHALL"]);
        o.cmd(setup);
        assert_eq!(r.cmd(&["WATCH", "x"]), OK);
        let reply = o.cmd(write);
        assert!(!reply.starts_with('-'), "{write:?}: {reply}");
        assert_eq!(ping_tx(&mut r), NULL_ARRAY, "{write:?}");
    }
    // MOVE into the watched key's db.
    o.cmd(&["FLUSHALL"]);
    assert_eq!(r.cmd(&["SELECT", "1"]), OK);
    assert_eq!(r.cmd(&["WATCH", "x"]), OK);
    assert_eq!(o.cmd(&["SET", "x", "1"]), OK);
    assert_eq!(o.cmd(&["MOVE", "x", "1"]), ":1\r\n");
    assert_eq!(ping_tx(&mut r), NULL_ARRAY);
}

#[test]
fn watch_flush_and_swapdb() {
    let srv = server();
    let mut r = srv.raw();
    let mut o = srv.raw();
    // FLUSHALL / FLUSHDB touch watched keys that exist.
    assert_eq!(r.cmd(&["SET", "x", "1"]), OK);
    assert_eq!(r.cmd(&["WATCH", "x"]), OK);
    assert_eq!(o.cmd(&["FLUSHALL"]), OK);
    assert_eq!(ping_tx(&mut r), NULL_ARRAY);
    assert_eq!(r.cmd(&["SET", "x", "1"]), OK);
    assert_eq!(r.cmd(&["WATCH", "x"]), OK);
    assert_eq!(o.cmd(&["FLUSHDB"]), OK);
    assert_eq!(ping_tx(&mut r), NULL_ARRAY);
    // ... and not missing keys, nor keys of another db.
    assert_eq!(r.cmd(&["WATCH", "nokey"]), OK);
    assert_eq!(o.cmd(&["FLUSHALL"]), OK);
    assert_eq!(ping_tx(&mut r), PONG_TX);
    assert_eq!(r.cmd(&["SET", "x", "1"]), OK);
    assert_eq!(r.cmd(&["WATCH", "x"]), OK);
    assert_eq!(o.cmd(&["SELECT", "1"]), OK);
    assert_eq!(o.cmd(&["SET", "z", "1"]), OK);
    assert_eq!(o.cmd(&["FLUSHDB"]), OK);
    assert_eq!(ping_tx(&mut r), PONG_TX);
    // SWAPDB: a watched key that exists in either db.
    assert_eq!(o.cmd(&["SET", "x", "other"]), OK);
    assert_eq!(r.cmd(&["DEL", "x"]), ":1\r\n");
    assert_eq!(r.cmd(&["WATCH", "x"]), OK);
    assert_eq!(o.cmd(&["SWAPDB", "0", "1"]), OK);
    assert_eq!(ping_tx(&mut r), NULL_ARRAY);
    assert_eq!(r.cmd(&["GET", "x"]), bulk("other"));
    assert_eq!(r.cmd(&["WATCH", "x"]), OK);
    assert_eq!(o.cmd(&["SWAPDB", "1", "0"]), OK);
    assert_eq!(ping_tx(&mut r), NULL_ARRAY);
    assert_eq!(r.cmd(&["WATCH", "nokey"]), OK);
    assert_eq!(o.cmd(&["SWAPDB", "0", "1"]), OK);
    assert_eq!(ping_tx(&mut r), PONG_TX);
}

#[test]
fn watch_expiry() {
    let srv = server();
    let mut r = srv.raw();
    let advance = |r: &mut RawConn, ms: u64| {
        assert_eq!(r.cmd(&["DEBUG", "ADVANCE-CLOCK", &ms.to_string()]), OK);
    };
    // Existed at WATCH, expired by EXEC (not yet reclaimed).
    assert_eq!(r.cmd(&["DEBUG", "SET-ACTIVE-EXPIRE", "0"]), OK);
    assert_eq!(r.cmd(&["SET", "k", "v", "PX", "5000"]), OK);
    assert_eq!(r.cmd(&["WATCH", "k"]), OK);
    advance(&mut r, 6000);
    assert_eq!(ping_tx(&mut r), NULL_ARRAY);
    // Reclaimed lazily by a read before EXEC.
    assert_eq!(r.cmd(&["SET", "k", "v", "PX", "5000"]), OK);
    assert_eq!(r.cmd(&["WATCH", "k"]), OK);
    advance(&mut r, 6000);
    assert_eq!(r.cmd(&["EXISTS", "k"]), ":0\r\n");
    assert_eq!(ping_tx(&mut r), NULL_ARRAY);
    // Reclaimed by active expiry.
    assert_eq!(r.cmd(&["DEBUG", "SET-ACTIVE-EXPIRE", "1"]), OK);
    assert_eq!(r.cmd(&["SET", "k", "v", "PX", "5000"]), OK);
    assert_eq!(r.cmd(&["WATCH", "k"]), OK);
    advance(&mut r, 6000);
    let deadline = Instant::now() + Duration::from_secs(5);
    while r.cmd(&["DBSIZE"]) != ":0\r\n" && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(ping_tx(&mut r), NULL_ARRAY);
    // Not yet expired: fine.
    assert_eq!(r.cmd(&["SET", "k", "v", "PX", "5000"]), OK);
    assert_eq!(r.cmd(&["WATCH", "k"]), OK);
    advance(&mut r, 1000);
    assert_eq!(ping_tx(&mut r), PONG_TX);
    // Already expired (stale) at WATCH time: not a modification.
    assert_eq!(r.cmd(&["DEBUG", "SET-ACTIVE-EXPIRE", "0"]), OK);
    assert_eq!(r.cmd(&["SET", "k", "v", "PX", "5000"]), OK);
    advance(&mut r, 6000);
    assert_eq!(r.cmd(&["WATCH", "k"]), OK);
    assert_eq!(ping_tx(&mut r), PONG_TX);
}

#[test]
fn watch_touched_by_eviction() {
    let srv = TestServer::start(&["--maxmemory-policy", "allkeys-random"]);
    let mut r = srv.raw();
    let big = "v".repeat(100_000);
    assert_eq!(r.cmd(&["SET", "w", &big]), OK);
    assert_eq!(r.cmd(&["WATCH", "w"]), OK);
    // Fill memory past a small maxmemory from another client until the
    // watched key is evicted.
    let mut o = srv.raw();
    let used: u64 = o
        .cmd(&["INFO", "memory"])
        .lines()
        .find_map(|l| l.strip_prefix("used_memory:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap();
    assert_eq!(
        o.cmd(&["CONFIG", "SET", "maxmemory", &(used + 2_000_000).to_string()]),
        OK
    );
    let mut i = 0;
    while o.cmd(&["EXISTS", "w"]) == ":1\r\n" && i < 2000 {
        o.cmd(&["SET", &format!("fill{i}"), &big]);
        i += 1;
    }
    assert_eq!(o.cmd(&["EXISTS", "w"]), ":0\r\n", "the watched key was never evicted");
    assert_eq!(o.cmd(&["CONFIG", "SET", "maxmemory", "0"]), OK);
    assert_eq!(ping_tx(&mut r), NULL_ARRAY);
}

#[test]
fn watch_cleared_on_disconnect() {
    let srv = server();
    let mut o = srv.raw();
    for _ in 0..3 {
        let mut r = srv.raw();
        assert_eq!(r.cmd(&["WATCH", "x"]), OK);
        assert_eq!(r.cmd(&["MULTI"]), OK);
        assert_eq!(r.cmd(&["SET", "x", "1"]), QUEUED);
        drop(r);
    }
    // Writes after the watchers left work, and nothing was applied.
    let deadline = Instant::now() + Duration::from_secs(5);
    while o.cmd(&["INFO", "clients"]).contains("connected_clients:4") && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(o.cmd(&["EXISTS", "x"]), ":0\r\n");
    assert_eq!(o.cmd(&["SET", "x", "2"]), OK);
}

#[test]
fn exec_is_atomic() {
    let srv = server();
    let stop = Arc::new(AtomicBool::new(false));
    let mut writers = Vec::new();
    for _ in 0..2 {
        let mut w = srv.raw();
        let stop = stop.clone();
        writers.push(std::thread::spawn(move || {
            let mut n = 0u64;
            while !stop.load(Ordering::Relaxed) {
                w.cmd(&["INCR", "counter"]);
                w.cmd(&["SET", "shared", "writer"]);
                n += 1;
            }
            n
        }));
    }
    let mut r = srv.raw();
    for i in 0..300 {
        let mine = format!("tx{i}");
        assert_eq!(r.cmd(&["MULTI"]), OK);
        assert_eq!(r.cmd(&["GET", "counter"]), QUEUED);
        assert_eq!(r.cmd(&["SET", "shared", &mine]), QUEUED);
        assert_eq!(r.cmd(&["GET", "counter"]), QUEUED);
        assert_eq!(r.cmd(&["GET", "shared"]), QUEUED);
        let got = r.cmd(&["EXEC"]);
        let parts: Vec<&str> = got.split("\r\n").collect();
        // *4, then GET counter (bulk or null), +OK, GET counter, GET shared.
        let (first, rest) = if parts[1] == "$-1" {
            ("", &parts[2..])
        } else {
            (parts[2], &parts[3..])
        };
        assert_eq!(rest[0], "+OK", "{got}");
        let second = if rest[1] == "$-1" { "" } else { rest[2] };
        assert_eq!(first, second, "another client's INCR interleaved: {got}");
        assert!(got.ends_with(&bulk(&mine)), "{got}");
    }
    stop.store(true, Ordering::Relaxed);
    let total: u64 = writers.into_iter().map(|w| w.join().unwrap()).sum();
    assert!(total > 0);
    assert_eq!(r.cmd(&["GET", "counter"]), bulk(&total.to_string()));
}

#[test]
fn blocking_commands_inside_exec() {
    let srv = server();
    let mut r = srv.raw();
    assert_eq!(r.cmd(&["MULTI"]), OK);
    assert_eq!(r.cmd(&["BLPOP", "nolist", "0"]), QUEUED);
    assert_eq!(r.cmd(&["BZPOPMIN", "nozset", "0"]), QUEUED);
    assert_eq!(r.cmd(&["BLMOVE", "a", "b", "LEFT", "LEFT", "0"]), QUEUED);
    assert_eq!(r.cmd(&["RPUSH", "l", "x"]), QUEUED);
    assert_eq!(r.cmd(&["BLPOP", "l", "0"]), QUEUED);
    let started = Instant::now();
    assert_eq!(
        r.cmd(&["EXEC"]),
        format!("*5\r\n*-1\r\n*-1\r\n$-1\r\n:1\r\n*2\r\n{}{}", bulk("l"), bulk("x"))
    );
    assert!(started.elapsed() < Duration::from_secs(2));
    // RESP3: null.
    let mut r3 = srv.raw3();
    assert_eq!(r3.cmd(&["MULTI"]), OK);
    assert_eq!(r3.cmd(&["BLPOP", "nolist", "0"]), QUEUED);
    assert_eq!(r3.cmd(&["EXEC"]), "*1\r\n_\r\n");
    // The connection is not left blocked.
    assert_eq!(r.cmd(&["PING"]), "+PONG\r\n");
}

fn wait_blocked(r: &mut RawConn, n: i64) {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let s = r.cmd(&["INFO", "clients"]);
        let b: i64 = s
            .lines()
            .find_map(|l| l.strip_prefix("blocked_clients:"))
            .and_then(|v| v.trim().parse().ok())
            .unwrap();
        if b == n {
            return;
        }
        assert!(Instant::now() < deadline, "blocked_clients stayed {b}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn exec_wakes_blocked_clients_after_the_transaction() {
    let srv = server();
    let mut b = srv.raw();
    let mut r = srv.raw();
    b.send(b"*3\r\n$5\r\nBLPOP\r\n$1\r\nl\r\n$1\r\n0\r\n");
    wait_blocked(&mut r, 1);
    // Pushed and popped inside one transaction: nothing for the waiter.
    assert_eq!(r.cmd(&["MULTI"]), OK);
    assert_eq!(r.cmd(&["LPUSH", "l", "a"]), QUEUED);
    assert_eq!(r.cmd(&["LPOP", "l"]), QUEUED);
    assert_eq!(r.cmd(&["EXEC"]), format!("*2\r\n:1\r\n{}", bulk("a")));
    wait_blocked(&mut r, 1);
    // A transaction creating the list serves the waiter with its final
    // state (the last push is at the head).
    assert_eq!(r.cmd(&["MULTI"]), OK);
    assert_eq!(r.cmd(&["LPUSH", "l", "a"]), QUEUED);
    assert_eq!(r.cmd(&["LPUSH", "l", "b"]), QUEUED);
    assert_eq!(r.cmd(&["EXEC"]), "*2\r\n:1\r\n:2\r\n");
    b.s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    assert_eq!(
        String::from_utf8(b.read_replies(1)).unwrap(),
        format!("*2\r\n{}{}", bulk("l"), bulk("b"))
    );
    assert_eq!(r.cmd(&["LRANGE", "l", "0", "-1"]), format!("*1\r\n{}", bulk("a")));
}

#[test]
fn served_waiter_touches_watched_keys() {
    let srv = server();
    let mut b = srv.raw();
    let mut w = srv.raw();
    let mut r = srv.raw();
    assert_eq!(r.cmd(&["RPUSH", "src", "x"]), ":1\r\n");
    b.send(b"*6\r\n$6\r\nBLMOVE\r\n$5\r\nempty\r\n$3\r\ndst\r\n$4\r\nLEFT\r\n$4\r\nLEFT\r\n$1\r\n0\r\n");
    wait_blocked(&mut r, 1);
    assert_eq!(w.cmd(&["WATCH", "dst"]), OK);
    // LMOVE src -> empty wakes the BLMOVE, which writes dst.
    assert_eq!(r.cmd(&["LMOVE", "src", "empty", "LEFT", "LEFT"]), bulk("x"));
    b.s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    assert_eq!(String::from_utf8(b.read_replies(1)).unwrap(), bulk("x"));
    assert_eq!(ping_tx(&mut w), NULL_ARRAY);
}

#[test]
fn redis_crate_atomic_pipeline_and_transaction() {
    let srv = server();
    let mut c = srv.conn();
    let (a, b, s): (i64, i64, String) = redis::pipe()
        .atomic()
        .set("p", 10)
        .ignore()
        .incr("p", 5)
        .incr("p", 1)
        .get("p")
        .query(&mut c)
        .unwrap();
    assert_eq!((a, b, s.as_str()), (15, 16, "16"));
    // A runtime error inside the transaction surfaces as an error.
    let res: redis::RedisResult<(i64,)> = redis::pipe().atomic().lpush("p", "x").query(&mut c);
    assert!(res.is_err());
    // The optimistic-locking helper retries after a conflicting write.
    let mut other = srv.conn();
    let mut attempts = 0;
    let v: (i64,) = redis::transaction(&mut c, &["p"], |conn, pipe| {
        attempts += 1;
        let cur: i64 = redis::cmd("GET").arg("p").query(conn)?;
        if attempts == 1 {
            let _: () = redis::cmd("SET").arg("p").arg(100).query(&mut other)?;
        }
        pipe.set("p", cur + 1).ignore().get("p").query(conn)
    })
    .unwrap();
    assert_eq!(attempts, 2);
    assert_eq!(v.0, 101);
    // RESP3 connection.
    let mut c3 = srv.conn3();
    let (h,): (std::collections::HashMap<String, String>,) = redis::pipe()
        .atomic()
        .hset("h", "f", "v")
        .ignore()
        .hgetall("h")
        .query(&mut c3)
        .unwrap();
    assert_eq!(h.get("f").map(String::as_str), Some("v"));
}

#[test]
fn client_pause_write_holds_exec_with_writes() {
    let srv = server();
    let mut admin = srv.raw();
    let mut r = srv.raw();
    let mut w = srv.raw();
    // Queued before the pause: one read-only transaction, one writing.
    assert_eq!(r.cmd(&["MULTI"]), OK);
    assert_eq!(r.cmd(&["GET", "k"]), QUEUED);
    assert_eq!(w.cmd(&["MULTI"]), OK);
    assert_eq!(w.cmd(&["SET", "k", "v"]), QUEUED);
    assert_eq!(admin.cmd(&["CLIENT", "PAUSE", "20000", "WRITE"]), OK);
    let t = Instant::now();
    assert_eq!(r.cmd(&["EXEC"]), "*1\r\n$-1\r\n");
    assert!(t.elapsed() < Duration::from_secs(1));
    w.send(b"EXEC\r\n");
    w.s.set_read_timeout(Some(Duration::from_millis(300))).unwrap();
    let mut b = [0u8; 16];
    assert!(
        std::io::Read::read(&mut w.s, &mut b).is_err(),
        "EXEC with a write ran during the pause"
    );
    w.s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    assert_eq!(admin.cmd(&["GET", "k"]), "$-1\r\n");
    assert_eq!(admin.cmd(&["CLIENT", "UNPAUSE"]), OK);
    assert_eq!(String::from_utf8(w.read_replies(1)).unwrap(), format!("*1\r\n{OK}"));
    assert_eq!(admin.cmd(&["GET", "k"]), bulk("v"));
}

/// Commands that visit every shard themselves must not wait for the
/// shard locks EXEC already holds.
#[test]
fn whole_keyspace_commands_inside_exec() {
    let srv = server();
    let mut r = srv.raw();
    r.s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    for i in 0..20 {
        assert_eq!(r.cmd(&["SET", &format!("k{i}"), "v"]), OK);
    }
    assert_eq!(r.cmd(&["MULTI"]), OK);
    for c in [
        &["DBSIZE"][..],
        &["SCAN", "0", "COUNT", "1000"],
        &["KEYS", "k1"],
        &["RANDOMKEY"],
        &["INFO", "keyspace"],
        &["MEMORY", "STATS"],
        &["CONFIG", "SET", "maxmemory-policy", "allkeys-s3fifo"],
        &["CONFIG", "SET", "maxmemory-policy", "noeviction"],
        &["FLUSHDB"],
        &["DBSIZE"],
    ] {
        assert_eq!(r.cmd(c), QUEUED, "{c:?}");
    }
    let got = r.cmd(&["EXEC"]);
    assert!(got.starts_with("*10\r\n:20\r\n*2\r\n$1\r\n0\r\n*20\r\n"), "{got}");
    assert!(got.contains("db0:keys=20,"), "{got}");
    assert!(got.ends_with("+OK\r\n+OK\r\n+OK\r\n:0\r\n"), "{got}");
    assert_eq!(r.cmd(&["PING"]), "+PONG\r\n");
}

type Case = (&'static [&'static [&'static str]], &'static [&'static str], bool);

/// Whether another client's write invalidates `WATCH x`, for writes that
/// change the key and writes that do not: the expected values are Redis
/// 7.0's (recorded from a real server), which signals only real changes.
const WATCH_CASES: &[Case] = &[
    (&[&["set", "x", "1"]], &["append", "x", "z"], true),
    (&[], &["append", "x", "z"], true),
    (&[&["set", "x", "1"]], &["decr", "x"], true),
    (&[&["set", "x", "a"]], &["decr", "x"], false),
    (&[&["set", "x", "1"]], &["getdel", "x"], true),
    (&[], &["getdel", "x"], false),
    (&[&["set", "x", "1"]], &["getex", "x", "ex", "100"], true),
    (&[&["set", "x", "1"]], &["getex", "x"], false),
    (&[&["set", "x", "1"]], &["getex", "x", "persist"], false),
    (&[&["set", "x", "1", "ex", "100"]], &["getex", "x", "persist"], true),
    (&[&["set", "x", "1"]], &["getset", "x", "1"], true),
    (&[&["set", "x", "1"]], &["incrbyfloat", "x", "1.5"], true),
    (&[&["set", "x", "1"]], &["setrange", "x", "0", ""], false),
    (&[&["set", "x", "1"]], &["setrange", "x", "0", "a"], true),
    (&[], &["setrange", "x", "0", ""], false),
    (&[&["set", "x", "1"]], &["setnx", "x", "2"], false),
    (&[], &["setnx", "x", "2"], true),
    (&[&["set", "x", "1"]], &["msetnx", "x", "2", "y", "3"], false),
    (&[&["set", "x", "1"]], &["persist", "x"], false),
    (&[&["set", "x", "1", "ex", "100"]], &["persist", "x"], true),
    (&[&["set", "x", "1"]], &["expire", "x", "100", "xx"], false),
    (&[&["set", "x", "1"]], &["expire", "x", "-1"], true),
    (&[&["set", "x", "1"]], &["pexpireat", "x", "1"], true),
    (&[], &["expire", "x", "100"], false),
    (&[&["set", "x", "1"]], &["rename", "x", "x"], false),
    (&[&["set", "x", "1"]], &["renamenx", "x", "y"], true),
    (
        &[&["set", "x", "1"], &["set", "y", "1"]],
        &["renamenx", "y", "x"],
        false,
    ),
    (&[&["set", "x", "1"]], &["copy", "x", "y"], false),
    (&[&["set", "y", "1"]], &["copy", "y", "x"], true),
    (&[&["set", "y", "1"], &["set", "x", "1"]], &["copy", "y", "x"], false),
    (&[&["set", "x", "1"]], &["unlink", "x"], true),
    (
        &[&["rpush", "x", "a", "b"]],
        &["linsert", "x", "before", "a", "z"],
        true,
    ),
    (
        &[&["rpush", "x", "a", "b"]],
        &["linsert", "x", "before", "q", "z"],
        false,
    ),
    (
        &[&["rpush", "x", "a", "b"]],
        &["lmove", "x", "x", "left", "right"],
        true,
    ),
    (&[&["rpush", "y", "a"]], &["lmove", "y", "x", "left", "right"], true),
    (&[&["rpush", "x", "a"]], &["lpop", "x", "0"], false),
    (&[], &["lpushx", "x", "a"], false),
    (&[&["rpush", "x", "a"]], &["lrem", "x", "0", "z"], false),
    (&[&["rpush", "x", "a"]], &["lrem", "x", "0", "a"], true),
    (&[&["rpush", "x", "a"]], &["lset", "x", "0", "a"], true),
    (&[&["rpush", "x", "a", "b"]], &["ltrim", "x", "0", "-1"], true),
    (&[&["rpush", "x", "a", "b"]], &["ltrim", "x", "0", "0"], true),
    (&[], &["ltrim", "x", "6", "-1"], false),
    (&[&["rpush", "x", "a"]], &["rpoplpush", "x", "y"], true),
    (&[&["rpush", "y", "a"]], &["rpoplpush", "y", "x"], true),
    (&[&["rpush", "x", "a"]], &["lmpop", "1", "x", "left"], true),
    (&[&["rpush", "x", "a"]], &["blpop", "x", "0"], true),
    (
        &[&["rpush", "y", "a"]],
        &["blmove", "y", "x", "left", "left", "0"],
        true,
    ),
    (&[&["hset", "x", "f", "v"]], &["hdel", "x", "g"], false),
    (&[&["hset", "x", "f", "v"]], &["hdel", "x", "f"], true),
    (&[&["hset", "x", "f", "v"]], &["hset", "x", "f", "v"], true),
    (&[&["hset", "x", "f", "v"]], &["hsetnx", "x", "f", "w"], false),
    (&[&["hset", "x", "f", "1"]], &["hincrby", "x", "f", "0"], true),
    (&[&["hset", "x", "f", "1"]], &["hincrbyfloat", "x", "f", "1"], true),
    (&[&["hset", "x", "f", "v"]], &["hmset", "x", "f", "v"], true),
    (&[&["sadd", "x", "a"]], &["sadd", "x", "a"], false),
    (&[&["sadd", "x", "a"]], &["srem", "x", "b"], false),
    (&[&["sadd", "x", "a"]], &["srem", "x", "a"], true),
    (&[&["sadd", "x", "a"]], &["spop", "x", "0"], false),
    (&[&["sadd", "x", "a"]], &["spop", "x"], true),
    (&[&["sadd", "x", "a"]], &["smove", "x", "y", "b"], false),
    (&[&["sadd", "x", "a"]], &["smove", "x", "y", "a"], true),
    (&[&["sadd", "y", "a"]], &["smove", "y", "x", "a"], true),
    // Redis: false (x already held the member); Larder touches both keys.
    (
        &[&["sadd", "y", "a"], &["sadd", "x", "a"]],
        &["smove", "y", "x", "a"],
        true,
    ),
    (&[&["sadd", "y", "a"]], &["sinterstore", "x", "y"], true),
    (&[], &["sinterstore", "x", "y"], false),
    (&[], &["sunionstore", "x", "y"], false),
    (&[&["set", "x", "1"]], &["sdiffstore", "x", "y"], true),
    (&[&["zadd", "x", "1", "a"]], &["zadd", "x", "1", "a"], false),
    (&[&["zadd", "x", "1", "a"]], &["zadd", "x", "2", "a"], true),
    (&[&["zadd", "x", "1", "a"]], &["zadd", "x", "nx", "2", "a"], false),
    (&[&["zadd", "x", "1", "a"]], &["zincrby", "x", "0", "a"], false),
    (&[&["zadd", "x", "1", "a"]], &["zrem", "x", "b"], false),
    (&[&["zadd", "x", "1", "a"]], &["zremrangebyscore", "x", "5", "6"], false),
    (&[&["zadd", "x", "1", "a"]], &["zremrangebyrank", "x", "5", "6"], false),
    (
        &[&["zadd", "x", "1", "a"]],
        &["zremrangebylex", "x", "[z", "[zz"],
        false,
    ),
    (&[&["zadd", "x", "1", "a"]], &["zremrangebyrank", "x", "0", "0"], true),
    (&[&["zadd", "x", "1", "a"]], &["zpopmin", "x", "0"], false),
    (&[&["zadd", "x", "1", "a"]], &["zpopmax", "x"], true),
    (&[&["zadd", "x", "1", "a"]], &["zmpop", "1", "x", "min"], true),
    (&[&["zadd", "x", "1", "a"]], &["bzpopmin", "x", "0"], true),
    (&[&["zadd", "y", "1", "a"]], &["zrangestore", "x", "y", "0", "-1"], true),
    (&[], &["zrangestore", "x", "y", "0", "-1"], false),
    (&[&["set", "x", "1"]], &["zrangestore", "x", "y", "0", "-1"], true),
    (&[&["set", "x", "1"]], &["zunionstore", "x", "1", "y"], true),
    (&[], &["zinterstore", "x", "1", "y"], false),
    (&[], &["zdiffstore", "x", "1", "y"], false),
    (&[&["rpush", "y", "3", "1"]], &["sort", "y", "store", "x"], true),
    (&[], &["sort", "y", "store", "x"], false),
    (&[&["set", "x", "1"]], &["sort", "y", "store", "x"], true),
    (&[&["set", "x", "1"]], &["psetex", "x", "100000", "1"], true),
    (&[&["set", "x", "1"]], &["move", "x", "1"], true),
    (
        &[
            &["set", "x", "1"],
            &["select", "1"],
            &["set", "x", "1"],
            &["select", "0"],
        ],
        &["move", "x", "1"],
        false,
    ),
    (&[&["set", "x", "1"]], &["flushdb"], true),
    (
        &[&["select", "1"], &["set", "x", "1"], &["select", "0"]],
        &["swapdb", "0", "1"],
        true,
    ),
    (&[&["set", "x", "1"]], &["set", "x", "2", "xx"], true),
    (&[], &["set", "x", "2", "xx"], false),
    (&[&["set", "x", "1"]], &["set", "x", "2", "nx", "get"], false),
    (&[&["set", "x", "1"]], &["set", "x", "2", "keepttl"], true),
    (&[&["set", "x", "1"]], &["swapdb", "0", "0"], false),
    (&[&["set", "y", "1"]], &["copy", "y", "x", "db", "1"], false),
    (&[&["set", "y", "1"]], &["copy", "y", "x", "db", "0"], true),
    (&[&["set", "y", "1"]], &["copy", "y", "x", "DB", "0", "replace"], true),
    (
        &[&["select", "1"], &["set", "x", "1"], &["select", "0"]],
        &["swapdb", "1", "1"],
        false,
    ),
];

#[test]
fn watch_matches_redis_per_write_command() {
    let srv = server();
    let mut failures = Vec::new();
    for (setup, write, invalidated) in WATCH_CASES {
        let mut a = srv.raw();
        let mut b = srv.raw();
        a.cmd(&["FLUSHALL"]);
        for c in setup.iter() {
            assert!(!a.cmd(c).starts_with('-'), "{c:?}");
        }
        a.cmd(&["SELECT", "0"]);
        assert_eq!(a.cmd(&["WATCH", "x"]), OK);
        b.cmd(write);
        let got = ping_tx(&mut a);
        let want = if *invalidated { NULL_ARRAY } else { PONG_TX };
        if got != want {
            failures.push(format!("{setup:?} then {write:?}: EXEC gave {got:?}, want {want:?}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn out_of_memory_while_queueing_and_at_exec() {
    let srv = server();
    let mut r = srv.raw();
    let mut o = srv.raw();
    const OOM: &str = "-OOM command not allowed when used memory > 'maxmemory'.\r\n";
    // Memory ran out after queueing a denyoom command: EXEC aborts.
    assert_eq!(r.cmd(&["MULTI"]), OK);
    assert_eq!(r.cmd(&["SET", "a", "1"]), QUEUED);
    assert_eq!(o.cmd(&["CONFIG", "SET", "maxmemory", "1"]), OK);
    assert_eq!(
        r.cmd(&["EXEC"]),
        "-EXECABORT Transaction discarded because of: OOM command not allowed when used memory > 'maxmemory'.\r\n"
    );
    assert_eq!(r.cmd(&["EXEC"]), "-ERR EXEC without MULTI\r\n");
    // While out of memory nothing is queued, not even reads.
    assert_eq!(r.cmd(&["MULTI"]), OK);
    assert_eq!(r.cmd(&["GET", "a"]), OOM);
    assert_eq!(r.cmd(&["EXEC"]), EXECABORT);
    // A transaction of reads still runs.
    assert_eq!(o.cmd(&["CONFIG", "SET", "maxmemory", "0"]), OK);
    assert_eq!(r.cmd(&["MULTI"]), OK);
    assert_eq!(r.cmd(&["GET", "a"]), QUEUED);
    assert_eq!(o.cmd(&["CONFIG", "SET", "maxmemory", "1"]), OK);
    assert_eq!(r.cmd(&["EXEC"]), "*1\r\n$-1\r\n");
    assert_eq!(o.cmd(&["CONFIG", "SET", "maxmemory", "0"]), OK);
}

#[test]
fn del_touches_only_the_keys_it_deletes() {
    // Found by the differential test: DEL of a missing watched key next
    // to an existing one must not abort the transaction (Redis signals
    // only the keys it deleted).
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    assert_eq!(c.cmd(&["WATCH", "missing"]), "+OK\r\n");
    let mut other = s.raw();
    other.cmd(&["SET", "present", "1"]);
    assert_eq!(other.cmd(&["DEL", "missing", "present"]), ":1\r\n");
    assert_eq!(c.cmd(&["MULTI"]), "+OK\r\n");
    assert_eq!(c.cmd(&["EXEC"]), "*0\r\n");
    // Deleting the watched key itself does abort it.
    other.cmd(&["SET", "w", "1"]);
    assert_eq!(c.cmd(&["WATCH", "w"]), "+OK\r\n");
    assert_eq!(other.cmd(&["UNLINK", "w", "missing"]), ":1\r\n");
    assert_eq!(c.cmd(&["MULTI"]), "+OK\r\n");
    assert_eq!(c.cmd(&["EXEC"]), "*-1\r\n");
}
