//! Helpers shared by the persistence tests (RDB and AOF): servers in a
//! directory of the test's own, a dataset of every type and encoding,
//! and a comparable view of it.

#![allow(dead_code, clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::common::{self, TestServer};
use super::real_redis::observe;

pub fn tempdir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!(
        "larder-persist-{tag}-{}-{}",
        std::process::id(),
        common::free_port()
    ));
    std::fs::create_dir_all(&d).unwrap();
    d
}

pub fn info_field(c: &mut redis::Connection, field: &str) -> String {
    let info: String = redis::cmd("INFO").arg("persistence").query(c).unwrap();
    info.lines()
        .find_map(|l| l.strip_prefix(&format!("{field}:")))
        .unwrap_or_else(|| panic!("no {field} in INFO: {info}"))
        .trim()
        .to_string()
}

/// Waits (bounded) until INFO persistence `field` is `want`.
pub fn wait_info(c: &mut redis::Connection, field: &str, want: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if info_field(c, field) == want {
            return;
        }
        assert!(Instant::now() < deadline, "{field} never became {want}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// A server in `dir` that keeps the directory when dropped.
pub fn start_in(dir: &Path, extra: &[&str]) -> TestServer {
    let mut args = vec!["--dir", dir.to_str().unwrap()];
    args.extend_from_slice(extra);
    let s = TestServer::start(&args);
    let mut c = s.conn();
    wait_info(&mut c, "loading", "0");
    s
}

/// Keys of every type and encoding, with TTLs, in dbs 0, 1 and 5.
pub fn populate(c: &mut redis::Connection) -> Vec<(i64, Vec<u8>)> {
    let mut keys = Vec::new();
    for db in [0i64, 1, 5] {
        redis::cmd("SELECT").arg(db).query::<()>(c).unwrap();
        let p = |k: &str| format!("{k}:{db}");
        redis::cmd("SET").arg(p("str")).arg("hello").query::<()>(c).unwrap();
        redis::cmd("SET").arg(p("int")).arg(12345).query::<()>(c).unwrap();
        redis::cmd("SET")
            .arg(p("big"))
            .arg("x".repeat(5000))
            .query::<()>(c)
            .unwrap();
        redis::cmd("SET")
            .arg(p("ttl"))
            .arg("soon")
            .arg("EX")
            .arg(1000)
            .query::<()>(c)
            .unwrap();
        redis::cmd("RPUSH")
            .arg(p("list"))
            .arg(&["a", "b", "c"])
            .query::<()>(c)
            .unwrap();
        let long: Vec<String> = (0..300).map(|i| format!("item-{i}")).collect();
        redis::cmd("RPUSH").arg(p("biglist")).arg(&long).query::<()>(c).unwrap();
        redis::cmd("SADD")
            .arg(p("intset"))
            .arg(&[1, 2, 3, 70000])
            .query::<()>(c)
            .unwrap();
        redis::cmd("SADD")
            .arg(p("set"))
            .arg(&["x", "y"])
            .query::<()>(c)
            .unwrap();
        redis::cmd("SADD").arg(p("bigset")).arg(&long).query::<()>(c).unwrap();
        redis::cmd("HSET")
            .arg(p("hash"))
            .arg(&["f1", "v1", "f2", "v2"])
            .query::<()>(c)
            .unwrap();
        let pairs: Vec<String> = (0..300).flat_map(|i| [format!("f{i}"), format!("v{i}")]).collect();
        redis::cmd("HSET").arg(p("bighash")).arg(&pairs).query::<()>(c).unwrap();
        redis::cmd("ZADD")
            .arg(p("zset"))
            .arg(&["1.5", "a", "2", "b"])
            .query::<()>(c)
            .unwrap();
        let zs: Vec<String> = (0..300).flat_map(|i| [format!("{i}.25"), format!("m{i}")]).collect();
        redis::cmd("ZADD").arg(p("bigzset")).arg(&zs).query::<()>(c).unwrap();
        for k in [
            "str", "int", "big", "ttl", "list", "biglist", "intset", "set", "bigset", "hash", "bighash", "zset",
            "bigzset",
        ] {
            keys.push((db, p(k).into_bytes()));
        }
    }
    redis::cmd("SELECT").arg(0).query::<()>(c).unwrap();
    keys
}

pub fn snapshot_of(c: &mut redis::Connection, keys: &[(i64, Vec<u8>)]) -> BTreeMap<(i64, Vec<u8>), String> {
    let mut m = BTreeMap::new();
    for (db, k) in keys {
        redis::cmd("SELECT").arg(*db).query::<()>(c).unwrap();
        let ttl: i64 = redis::cmd("TTL").arg(k).query(c).unwrap();
        m.insert((*db, k.clone()), format!("{} ttl>0:{}", observe(c, k), ttl > 0));
    }
    redis::cmd("SELECT").arg(0).query::<()>(c).unwrap();
    m
}
