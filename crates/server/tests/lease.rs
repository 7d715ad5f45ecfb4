#![allow(clippy::unwrap_used)]
//! Stampede protection (LEASE.GET / LEASE.SET): 100 clients missing the
//! same hot key at once cause exactly one origin call; a writer whose
//! lease was invalidated by a newer write cannot put its stale value
//! back; an abandoned lease runs out and another client gets one.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};
use std::time::Duration;

use common::TestServer;
use redis::Value;

/// The cache-aside read with a lease: the value, computing it with
/// `origin` only when this client holds the lease.
fn cached_read(c: &mut redis::Connection, key: &str, origin: &dyn Fn() -> String) -> String {
    loop {
        let r: Vec<Value> = redis::cmd("LEASE.GET").arg(key).arg(2000).query(c).unwrap();
        let status = match &r[0] {
            Value::SimpleString(s) => s.clone(),
            Value::Okay => "OK".into(),
            other => panic!("{other:?}"),
        };
        match status.as_str() {
            "HIT" => return redis::from_redis_value(&r[1]).unwrap(),
            "MISS" => {
                let token: i64 = redis::from_redis_value(&r[2]).unwrap();
                let v = origin();
                let ok: Option<String> = redis::cmd("LEASE.SET")
                    .arg(key)
                    .arg(token)
                    .arg(&v)
                    .arg("EX")
                    .arg(60)
                    .query(c)
                    .unwrap();
                assert_eq!(ok.as_deref(), Some("OK"));
                return v;
            }
            "WAIT" => {
                let ms: u64 = redis::from_redis_value(&r[2]).unwrap();
                std::thread::sleep(Duration::from_millis(ms.max(1)));
            }
            s => panic!("unexpected {s}"),
        }
    }
}

#[test]
fn a_hundred_concurrent_misses_make_one_origin_call() {
    let s = Arc::new(TestServer::start(&[]));
    let calls = Arc::new(AtomicUsize::new(0));
    let barrier = Arc::new(Barrier::new(100));
    let threads: Vec<_> = (0..100)
        .map(|_| {
            let (s, calls, barrier) = (s.clone(), calls.clone(), barrier.clone());
            std::thread::spawn(move || {
                let mut c = s.conn();
                barrier.wait();
                let origin = || {
                    calls.fetch_add(1, Ordering::SeqCst);
                    // A slow query.
                    std::thread::sleep(Duration::from_millis(200));
                    "expensive result".to_string()
                };
                cached_read(&mut c, "hot", &origin)
            })
        })
        .collect();
    for t in threads {
        assert_eq!(t.join().unwrap(), "expensive result");
    }
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    let mut c = s.conn();
    let ttl: i64 = redis::cmd("TTL").arg("hot").query(&mut c).unwrap();
    assert!(ttl > 0 && ttl <= 60);
}

#[test]
fn stale_writers_and_abandoned_leases() {
    let s = TestServer::start(&["--enable-debug-command", "yes"]);
    let mut raw = s.raw();
    // A takes the lease; the data changes and a write-through SET lands;
    // A's value (computed before) is refused.
    let r = raw.cmd(&["LEASE.GET", "k", "1000"]);
    assert!(r.starts_with("*3\r\n+MISS\r\n$-1\r\n:"), "{r}");
    let token = r.trim_end().rsplit(':').next().unwrap().to_string();
    assert_eq!(raw.cmd(&["LEASE.GET", "k", "1000"]).split("\r\n").nth(1), Some("+WAIT"));
    assert_eq!(raw.cmd(&["SET", "k", "new"]), "+OK\r\n");
    assert_eq!(raw.cmd(&["LEASE.SET", "k", &token, "stale"]), "$-1\r\n");
    assert_eq!(raw.cmd(&["GET", "k"]), "$3\r\nnew\r\n");
    assert_eq!(
        raw.cmd(&["LEASE.GET", "k", "1000"]),
        "*3\r\n+HIT\r\n$3\r\nnew\r\n$-1\r\n"
    );
    // A DEL (invalidation on update) cancels a lease too.
    raw.cmd(&["DEL", "k"]);
    let r = raw.cmd(&["LEASE.GET", "k", "1000"]);
    let token = r.trim_end().rsplit(':').next().unwrap().to_string();
    raw.cmd(&["DEL", "k"]);
    assert_eq!(raw.cmd(&["LEASE.SET", "k", &token, "v"]), "$-1\r\n");
    // An abandoned lease runs out: the next client gets its own.
    let r = raw.cmd(&["LEASE.GET", "k2", "100"]);
    assert!(r.contains("+MISS"));
    raw.cmd(&["DEBUG", "ADVANCE-CLOCK", "150"]);
    let r2 = raw.cmd(&["LEASE.GET", "k2", "100"]);
    assert!(r2.contains("+MISS") && r2 != r, "{r2}");
    let token = r2.trim_end().rsplit(':').next().unwrap().to_string();
    assert_eq!(raw.cmd(&["LEASE.SET", "k2", &token, "v", "PX", "5000"]), "+OK\r\n");
    let pttl: i64 = raw.cmd(&["PTTL", "k2"]).trim_start_matches(':').trim().parse().unwrap();
    assert!(pttl > 4000 && pttl <= 5000);
    // Errors.
    assert_eq!(
        raw.cmd(&["LEASE.GET", "k", "0"]),
        "-ERR value is not an integer or out of range\r\n"
    );
    assert_eq!(raw.cmd(&["LEASE.SET", "k", "1", "v", "EX"]), "-ERR syntax error\r\n");
    raw.cmd(&["RPUSH", "list", "a"]);
    assert!(raw.cmd(&["LEASE.GET", "list", "100"]).starts_with("-WRONGTYPE"));
}
