#![allow(clippy::unwrap_used)]
//! maxmemory and the eviction policies through the real server: each
//! policy evicts the right class of keys, noeviction refuses writes with
//! Redis's error, the limit holds under concurrent load, and OBJECT
//! IDLETIME/FREQ follow the injected clock (DEBUG ADVANCE-CLOCK).

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use common::TestServer;
use redis::Connection;

const OOM: &str = "OOM command not allowed when used memory > 'maxmemory'.";

fn start() -> TestServer {
    TestServer::start(&["--enable-debug-command", "yes", "--io-threads", "2"])
}

fn info_field(c: &mut Connection, section: &str, field: &str) -> u64 {
    let info: String = redis::cmd("INFO").arg(section).query(c).unwrap();
    info.lines()
        .find_map(|l| l.strip_prefix(&format!("{field}:")))
        .unwrap_or_else(|| panic!("no {field} in INFO {section}"))
        .trim()
        .parse()
        .unwrap()
}

fn used(c: &mut Connection) -> u64 {
    info_field(c, "memory", "used_memory")
}

fn evicted(c: &mut Connection) -> u64 {
    info_field(c, "stats", "evicted_keys")
}

fn config_set(c: &mut Connection, name: &str, value: &str) {
    let _: () = redis::cmd("CONFIG").arg("SET").arg(name).arg(value).query(c).unwrap();
}

/// Writes `prefix0..prefixN` with `size`-byte values (and a TTL in
/// seconds, if given), pipelined.
fn fill(c: &mut Connection, prefix: &str, n: usize, size: usize, ttl: Option<u64>) {
    let value = vec![b'x'; size];
    for chunk in (0..n).collect::<Vec<_>>().chunks(200) {
        let mut p = redis::pipe();
        for i in chunk {
            let cmd = p.cmd("SET").arg(format!("{prefix}{i}")).arg(&value[..]);
            if let Some(t) = ttl {
                cmd.arg("EX").arg(t);
            }
            cmd.ignore();
        }
        let _: () = p.query(c).unwrap();
    }
}

/// How many of `prefix0..prefixN` exist (EXISTS counts without touching
/// the keys' access data).
fn surviving(c: &mut Connection, prefix: &str, n: usize) -> usize {
    let mut total = 0;
    for chunk in (0..n).collect::<Vec<_>>().chunks(500) {
        let keys: Vec<String> = chunk.iter().map(|i| format!("{prefix}{i}")).collect();
        let k: usize = redis::cmd("EXISTS").arg(&keys).query(c).unwrap();
        total += k;
    }
    total
}

fn advance(c: &mut Connection, ms: u64) {
    let _: () = redis::cmd("DEBUG").arg("ADVANCE-CLOCK").arg(ms).query(c).unwrap();
}

fn set_err(c: &mut Connection, key: &str) -> Option<String> {
    let r: redis::RedisResult<()> = redis::cmd("SET").arg(key).arg("v").query(c);
    r.err().map(|e| {
        // The redis crate splits "-OOM rest" into code and detail.
        format!("{} {}", e.code().unwrap_or(""), e.detail().unwrap_or(""))
    })
}

#[test]
fn noeviction_refuses_writes_with_the_exact_error() {
    let srv = start();
    let mut c = srv.conn();
    fill(&mut c, "k:", 2000, 1000, None);
    let u = used(&mut c);
    config_set(&mut c, "maxmemory", &(u - 200_000).to_string());
    // The raw reply, byte for byte.
    let mut raw = srv.raw();
    assert_eq!(raw.cmd(&["SET", "x", "1"]), format!("-{OOM}\r\n"));
    assert_eq!(raw.cmd(&["INCR", "k:1"]), format!("-{OOM}\r\n"));
    assert_eq!(raw.cmd(&["LPUSH", "l", "a"]), format!("-{OOM}\r\n"));
    // Reads, deletes and commands not flagged denyoom go on.
    assert!(raw.cmd(&["GET", "k:1"]).starts_with("$1000\r\n"));
    assert_eq!(raw.cmd(&["EXPIRE", "k:2", "100"]), ":1\r\n");
    assert_eq!(raw.cmd(&["DBSIZE"]), ":2000\r\n");
    assert_eq!(evicted(&mut c), 0);
    // Deleting enough makes room again.
    let keys: Vec<String> = (0..600).map(|i| format!("k:{i}")).collect();
    let n: usize = redis::cmd("DEL").arg(&keys).query(&mut c).unwrap();
    assert_eq!(n, 600);
    assert_eq!(set_err(&mut c, "x"), None);
    let rejected: String = redis::cmd("INFO").arg("errorstats").query(&mut c).unwrap();
    assert!(rejected.contains("errorstat_OOM:count=3"), "{rejected}");
}

#[test]
fn volatile_policies_never_evict_keys_without_ttl() {
    let srv = start();
    let mut c = srv.conn();
    for policy in [
        "volatile-lru",
        "volatile-lfu",
        "volatile-random",
        "volatile-ttl",
        "volatile-s3fifo",
    ] {
        config_set(&mut c, "maxmemory", "0");
        let _: () = redis::cmd("FLUSHALL").query(&mut c).unwrap();
        config_set(&mut c, "maxmemory-policy", policy);
        fill(&mut c, "p:", 1000, 1000, None);
        fill(&mut c, "v:", 1000, 1000, Some(10_000));
        let u = used(&mut c);
        config_set(&mut c, "maxmemory", &u.to_string());
        let before = evicted(&mut c);
        fill(&mut c, "w:", 500, 1000, Some(10_000));
        assert!(evicted(&mut c) - before >= 400, "{policy}: too few evictions");
        assert_eq!(
            surviving(&mut c, "p:", 1000),
            1000,
            "{policy} evicted a key without TTL"
        );
        assert!(used(&mut c) <= u + 1_048_576, "{policy}: over the limit");
        // With every volatile key gone, writes are refused. (Each command
        // evicts for at most its time budget, so it may take a few.)
        config_set(&mut c, "maxmemory", &(u / 3).to_string());
        let refused = (0..200).find_map(|i| set_err(&mut c, &format!("more{i}")));
        assert_eq!(refused.as_deref(), Some(OOM), "{policy}");
        assert_eq!(
            surviving(&mut c, "p:", 1000),
            1000,
            "{policy} evicted a key without TTL"
        );
        assert_eq!(
            surviving(&mut c, "v:", 1000) + surviving(&mut c, "w:", 500),
            0,
            "{policy}"
        );
    }
}

/// Fills `cold` keys, moves the clock, fills `hot` keys, then writes
/// `new` keys into a full memory: returns the surviving (cold, hot).
fn cold_then_hot(c: &mut Connection, policy: &str, touch_hot: usize) -> (usize, usize) {
    config_set(c, "maxmemory", "0");
    let _: () = redis::cmd("FLUSHALL").query(c).unwrap();
    config_set(c, "maxmemory-policy", policy);
    fill(c, "cold:", 1000, 1000, None);
    advance(c, 100_000);
    fill(c, "hot:", 1000, 1000, None);
    for _ in 0..touch_hot {
        let mut p = redis::pipe();
        for i in 0..1000 {
            p.cmd("GET").arg(format!("hot:{i}")).ignore();
        }
        let _: () = p.query(c).unwrap();
    }
    let u = used(c);
    config_set(c, "maxmemory", &u.to_string());
    fill(c, "new:", 800, 1000, None);
    assert!(evicted(c) >= 700, "{policy}: {} evictions", evicted(c));
    (surviving(c, "cold:", 1000), surviving(c, "hot:", 1000))
}

#[test]
fn lru_evicts_the_least_recently_used() {
    let srv = start();
    let mut c = srv.conn();
    let (cold, hot) = cold_then_hot(&mut c, "allkeys-lru", 0);
    // 800 evictions, mostly among the 1000 keys idle for 100 s (random
    // eviction would leave about 600 of each; sampled LRU, like Redis's,
    // is approximate).
    assert!(hot >= 850, "hot survivors {hot}, cold {cold}");
    assert!(cold <= 400, "cold survivors {cold}");
}

#[test]
fn lfu_evicts_the_least_frequently_used() {
    let srv = start();
    let mut c = srv.conn();
    config_set(&mut c, "lfu-decay-time", "0");
    // Cold and new keys keep the initial counter; hot keys were read 10
    // times. (The clock moves too, which LFU ignores.)
    let (cold, hot) = cold_then_hot(&mut c, "allkeys-lfu", 10);
    assert!(hot >= 900, "hot survivors {hot}, cold {cold}");
}

#[test]
fn volatile_ttl_evicts_the_nearest_deadline() {
    let srv = start();
    let mut c = srv.conn();
    config_set(&mut c, "maxmemory-policy", "volatile-ttl");
    fill(&mut c, "short:", 1000, 1000, Some(1000));
    fill(&mut c, "long:", 1000, 1000, Some(100_000));
    let u = used(&mut c);
    config_set(&mut c, "maxmemory", &u.to_string());
    fill(&mut c, "new:", 800, 1000, Some(1_000_000));
    let long = surviving(&mut c, "long:", 1000);
    let short = surviving(&mut c, "short:", 1000);
    assert!(long >= 900, "long-TTL survivors {long}, short {short}");
}

#[test]
fn random_policies_evict_and_hold_the_limit() {
    let srv = start();
    let mut c = srv.conn();
    for (policy, volatile) in [("allkeys-random", false), ("volatile-random", true)] {
        config_set(&mut c, "maxmemory", "0");
        let _: () = redis::cmd("FLUSHALL").query(&mut c).unwrap();
        config_set(&mut c, "maxmemory-policy", policy);
        fill(&mut c, "a:", 1000, 1000, volatile.then_some(1000));
        let u = used(&mut c);
        config_set(&mut c, "maxmemory", &u.to_string());
        fill(&mut c, "b:", 1000, 1000, volatile.then_some(1000));
        assert!(evicted(&mut c) >= 900, "{policy}");
        assert!(used(&mut c) <= u + 65_536, "{policy}");
        // Random eviction hits old and new keys alike.
        let (a, b) = (surviving(&mut c, "a:", 1000), surviving(&mut c, "b:", 1000));
        assert!(a > 100 && b > 100, "{policy}: a {a} b {b}");
    }
}

#[test]
fn s3fifo_keeps_a_reused_set_through_a_scan() {
    let srv = start();
    let mut c = srv.conn();
    let mut run = |policy: &str| -> usize {
        config_set(&mut c, "maxmemory", "0");
        let _: () = redis::cmd("FLUSHALL").query(&mut c).unwrap();
        config_set(&mut c, "maxmemory-policy", policy);
        fill(&mut c, "hot:", 1000, 1000, None);
        let u = used(&mut c);
        config_set(&mut c, "maxmemory", &(u + 500_000).to_string());
        // A one-time scan of 3000 keys, with the hot set read as it goes
        // (100 GETs a pipeline: replies held for a longer pipeline count
        // against maxmemory too, and would evict on their own).
        for round in 0..6 {
            for chunk in 0..10 {
                let mut p = redis::pipe();
                for i in chunk * 100..(chunk + 1) * 100 {
                    p.cmd("GET").arg(format!("hot:{i}")).ignore();
                }
                let _: () = p.query(&mut c).unwrap();
            }
            fill(&mut c, &format!("scan{round}:"), 500, 1000, None);
        }
        surviving(&mut c, "hot:", 1000)
    };
    let s3 = run("allkeys-s3fifo");
    let lru = run("allkeys-lru");
    eprintln!("hot set kept through the scan: s3fifo {s3}, lru {lru}");
    // LRU lets the scan push the hot set out; S3-FIFO keeps nearly all
    // of it (the sampled queues lose a little).
    assert!(
        s3 >= 850 && s3 >= lru + 150,
        "s3fifo kept {s3} of the hot set (lru {lru})"
    );
}

#[test]
fn object_idletime_and_freq_follow_the_clock() {
    let srv = start();
    let mut c = srv.conn();
    let mut raw = srv.raw();
    assert_eq!(raw.cmd(&["SET", "k", "v"]), "+OK\r\n");
    advance(&mut c, 5_500);
    assert_eq!(raw.cmd(&["OBJECT", "IDLETIME", "k"]), ":5\r\n");
    assert_eq!(raw.cmd(&["OBJECT", "IDLETIME", "k"]), ":5\r\n", "OBJECT must not touch");
    assert!(raw
        .cmd(&["OBJECT", "FREQ", "k"])
        .starts_with("-ERR An LFU maxmemory policy is not selected"));
    assert_eq!(raw.cmd(&["GET", "k"]), "$1\r\nv\r\n");
    assert_eq!(raw.cmd(&["OBJECT", "IDLETIME", "k"]), ":0\r\n");

    config_set(&mut c, "maxmemory-policy", "allkeys-s3fifo");
    assert!(raw
        .cmd(&["OBJECT", "IDLETIME", "k"])
        .starts_with("-ERR An S3-FIFO maxmemory policy is selected"));
    assert!(raw
        .cmd(&["OBJECT", "FREQ", "k"])
        .starts_with("-ERR An LFU maxmemory policy is not selected"));
    config_set(&mut c, "maxmemory-policy", "allkeys-lfu");
    assert!(raw
        .cmd(&["OBJECT", "IDLETIME", "k"])
        .starts_with("-ERR An LFU maxmemory policy is selected"));
    assert_eq!(raw.cmd(&["SET", "f", "v"]), "+OK\r\n");
    assert_eq!(raw.cmd(&["OBJECT", "FREQ", "f"]), ":5\r\n");
    // From the initial 5 the first increment is certain.
    assert_eq!(raw.cmd(&["GET", "f"]), "$1\r\nv\r\n");
    assert_eq!(raw.cmd(&["OBJECT", "FREQ", "f"]), ":6\r\n");
    for _ in 0..200 {
        raw.cmd(&["GET", "f"]);
    }
    let freq = |raw: &mut common::RawConn| -> i64 {
        let r = raw.cmd(&["OBJECT", "FREQ", "f"]);
        r[1..r.len() - 2].parse().unwrap()
    };
    let high = freq(&mut raw);
    // lfu-log-factor 10: about 200 hits reach only a dozen or so.
    assert!((8..=30).contains(&high), "{high}");
    // One step of decay per lfu-decay-time minutes.
    advance(&mut c, 3 * 60_000);
    assert_eq!(freq(&mut raw), high - 3);
    // Decay is computed on read from the last access's minute: none with
    // lfu-decay-time 0, 13 minutes / 2 = 6 steps with 2.
    config_set(&mut c, "lfu-decay-time", "0");
    advance(&mut c, 10 * 60_000);
    assert_eq!(freq(&mut raw), high);
    config_set(&mut c, "lfu-decay-time", "2");
    assert_eq!(freq(&mut raw), high - 6);
    // A higher log factor makes the counter grow more slowly.
    config_set(&mut c, "lfu-log-factor", "0");
    let before = freq(&mut raw);
    for _ in 0..10 {
        raw.cmd(&["GET", "f"]);
    }
    assert_eq!(freq(&mut raw), before + 10);
    assert_eq!(raw.cmd(&["OBJECT", "FREQ", "nosuch"]), "$-1\r\n");
}

#[test]
fn the_limit_holds_under_concurrent_mixed_writes() {
    let srv = start();
    let mut c = srv.conn();
    let base = used(&mut c);
    let max = base + 32 * 1024 * 1024;
    config_set(&mut c, "maxmemory-policy", "allkeys-lru");
    config_set(&mut c, "maxmemory", &max.to_string());
    let done = Arc::new(AtomicBool::new(false));
    let writers: Vec<_> = (0..8)
        .map(|t| {
            let url = srv.url();
            std::thread::spawn(move || {
                let mut c = redis::Client::open(url).unwrap().get_connection().unwrap();
                let small = vec![b's'; 100];
                let large = vec![b'L'; 16 * 1024];
                for batch in 0..150 {
                    let mut p = redis::pipe();
                    for i in 0..16 {
                        let v = if (batch + i) % 4 == 0 { &large } else { &small };
                        p.cmd("SET").arg(format!("t{t}:{batch}:{i}")).arg(&v[..]).ignore();
                    }
                    let _: () = p.query(&mut c).unwrap();
                }
            })
        })
        .collect();
    let poller = {
        let url = srv.url();
        let done = done.clone();
        std::thread::spawn(move || {
            let mut c = redis::Client::open(url).unwrap().get_connection().unwrap();
            let mut peak = 0;
            while !done.load(Ordering::Relaxed) {
                peak = peak.max(used(&mut c));
                std::thread::sleep(std::time::Duration::from_millis(2));
            }
            peak
        })
    };
    for w in writers {
        w.join().unwrap();
    }
    done.store(true, Ordering::Relaxed);
    let peak = poller.join().unwrap().max(used(&mut c));
    let slack = (max / 100).max(1024 * 1024);
    assert!(evicted(&mut c) > 0, "the load should have needed eviction");
    assert!(peak <= max + slack, "peak {peak} > max {max} + {slack}");
}
