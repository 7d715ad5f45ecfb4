#![allow(clippy::unwrap_used)]
//! Whole RDB files: the golden files Redis 7.0 wrote
//! (`tests/fixtures/rdb/`, see its README) load with the right contents,
//! and files Larder's writer produces pass `redis-check-rdb` and load
//! into a real redis-server with the same contents Larder holds.

mod common;
mod real_redis;

use std::collections::BTreeMap;
use std::path::PathBuf;

use common::TestServer;
use larder_engine::rdb::{self, Aux, FileWriter, LoadedEntry, SaveOptions};
use larder_engine::{Limits, Value};
use real_redis::{observe, Redis};

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures/rdb")
        .join(name)
}

fn load(name: &str) -> (rdb::FileSummary, BTreeMap<(u64, Vec<u8>), LoadedEntry>) {
    let f = std::fs::File::open(fixture(name)).unwrap();
    let mut map = BTreeMap::new();
    let sum = rdb::read_file(std::io::BufReader::new(f), &Limits::default(), |e| {
        map.insert((e.db, e.key.clone()), e);
        Ok(())
    })
    .unwrap();
    (sum, map)
}

fn text(v: &Value) -> Vec<u8> {
    let mut b = larder_engine::value::itoa_buf::Buf::default();
    v.as_bytes(&mut b).unwrap().to_vec()
}

fn list(v: &Value) -> Vec<Vec<u8>> {
    match v {
        Value::List(l) => l.iter().map(<[u8]>::to_vec).collect(),
        _ => panic!("not a list: {v:?}"),
    }
}

fn set(v: &Value) -> Vec<Vec<u8>> {
    match v {
        Value::Set(s) => {
            let mut m: Vec<Vec<u8>> = s.iter().map(|m| m.to_vec()).collect();
            m.sort();
            m
        }
        _ => panic!("not a set: {v:?}"),
    }
}

fn hash(v: &Value) -> Vec<(Vec<u8>, Vec<u8>)> {
    match v {
        Value::Hash(h) => {
            let mut m: Vec<_> = h.iter().map(|(f, v)| (f.to_vec(), v.to_vec())).collect();
            m.sort();
            m
        }
        _ => panic!("not a hash: {v:?}"),
    }
}

fn zset(v: &Value) -> Vec<(Vec<u8>, f64)> {
    match v {
        Value::ZSet(z) => z.to_vec(),
        _ => panic!("not a zset: {v:?}"),
    }
}

fn bs(items: &[&str]) -> Vec<Vec<u8>> {
    items.iter().map(|s| s.as_bytes().to_vec()).collect()
}

fn get<'a>(m: &'a BTreeMap<(u64, Vec<u8>), LoadedEntry>, db: u64, key: &str) -> &'a LoadedEntry {
    m.get(&(db, key.as_bytes().to_vec()))
        .unwrap_or_else(|| panic!("no key {key} in db {db}"))
}

#[test]
fn golden_strings() {
    let (sum, m) = load("strings.rdb");
    assert_eq!(sum.version, 10);
    assert!(sum.checksum_verified);
    assert!(sum.aux.iter().any(|(k, v)| k == b"redis-ver" && v.starts_with(b"7.0")));
    assert_eq!(m.len(), 6);
    assert_eq!(get(&m, 0, "int").value, Value::Int(12345));
    assert_eq!(get(&m, 0, "neg").value, Value::Int(-7));
    assert_eq!(text(&get(&m, 0, "bigint").value), b"1234567890123");
    assert_eq!(text(&get(&m, 0, "short").value), b"hello");
    assert_eq!(text(&get(&m, 0, "long").value), "abcdefghij".repeat(30).as_bytes());
    assert_eq!(text(&get(&m, 0, "binary").value), b"bin\x00\x01\xff\xfeary");
    assert!(m.values().all(|e| e.expire_ms.is_none()));
}

#[test]
fn golden_lists() {
    let (_, m) = load("lists.rdb");
    assert_eq!(
        list(&get(&m, 0, "small").value),
        bs(&["a", "b", "1", "300", "70000", "-5"])
    );
    let mut want: Vec<String> = (1..=10).map(|i| i.to_string()).collect();
    want.extend(["x", "y", "z"].map(String::from));
    let want: Vec<&str> = want.iter().map(String::as_str).collect();
    assert_eq!(list(&get(&m, 0, "multi").value), bs(&want));
}

#[test]
fn golden_sets() {
    let (_, m) = load("sets.rdb");
    let ints = &get(&m, 0, "ints").value;
    assert_eq!(ints.encoding(), "intset");
    let mut want = bs(&["1", "2", "3", "70000", "-40000"]);
    want.sort();
    assert_eq!(set(ints), want);
    let mut want = bs(&["apple", "banana", "cherry", "42"]);
    want.sort();
    assert_eq!(set(&get(&m, 0, "strs").value), want);
    let mut want: Vec<Vec<u8>> = (1..=20).map(|i: i32| i.to_string().into_bytes()).collect();
    want.sort();
    assert_eq!(set(&get(&m, 0, "manyints").value), want);
}

#[test]
fn golden_hashes() {
    let (_, m) = load("hashes.rdb");
    let lp = &get(&m, 0, "lp").value;
    assert_eq!(lp.encoding(), "listpack");
    assert_eq!(
        hash(lp),
        vec![
            (b"f1".to_vec(), b"v1".to_vec()),
            (b"f2".to_vec(), b"2".to_vec()),
            (b"f3".to_vec(), "x".repeat(30).into_bytes())
        ]
    );
    assert_eq!(
        hash(&get(&m, 0, "table").value),
        vec![
            (b"a".to_vec(), b"1".to_vec()),
            (b"b".to_vec(), b"2".to_vec()),
            (b"c".to_vec(), b"three".to_vec())
        ]
    );
}

#[test]
fn golden_zsets() {
    let (_, m) = load("zsets.rdb");
    assert_eq!(
        zset(&get(&m, 0, "sl").value),
        vec![
            (b"d".to_vec(), -1e100),
            (b"a".to_vec(), 1.0),
            (b"b".to_vec(), 2.5),
            (b"c".to_vec(), 3.0)
        ]
    );
    assert_eq!(
        zset(&get(&m, 0, "lp").value),
        vec![(b"c".to_vec(), 0.1), (b"a".to_vec(), 1.0), (b"b".to_vec(), 2.5)]
    );
}

#[test]
fn golden_expires_and_dbs() {
    let (sum, m) = load("expires_dbs.rdb");
    assert_eq!(m.len(), 4);
    assert_eq!(get(&m, 0, "persistent").expire_ms, None);
    let v = get(&m, 0, "volatile").expire_ms.unwrap();
    assert!(v > 1_700_000_000_000 + 90_000_000_000, "{v}");
    assert_eq!(get(&m, 1, "in1").expire_ms, Some(4102444800000));
    assert_eq!(text(&get(&m, 1, "in1").value), b"one");
    let l5 = get(&m, 5, "l5");
    assert_eq!(l5.expire_ms, Some(4102444800000));
    assert_eq!(list(&l5.value), bs(&["a", "b", "c"]));
    assert_eq!(sum.resize_hints, vec![(0, 2, 1), (1, 1, 1), (5, 1, 1)]);
}

#[test]
fn golden_files_fail_cleanly_when_damaged() {
    for name in [
        "strings.rdb",
        "lists.rdb",
        "sets.rdb",
        "hashes.rdb",
        "zsets.rdb",
        "expires_dbs.rdb",
    ] {
        let bytes = std::fs::read(fixture(name)).unwrap();
        for i in 9..bytes.len() {
            let mut bad = bytes.clone();
            bad[i] ^= 0x04;
            assert!(
                rdb::read_file(&bad[..], &Limits::default(), |_| Ok(())).is_err(),
                "{name}: flip at {i}"
            );
        }
        assert!(rdb::read_file(&bytes[..bytes.len() - 1], &Limits::default(), |_| Ok(())).is_err());
    }
}

/// Populates Larder with commands, reads every key back through DUMP,
/// writes one file with the writer, checks it with redis-check-rdb, loads
/// it into Redis and compares every key.
#[test]
fn files_we_write_load_into_redis() {
    if !real_redis::available() {
        return;
    }
    let larder = TestServer::start(&[]);
    let mut c = larder.conn();
    let big: Vec<String> = (0..3000).map(|i| format!("item-{i}")).collect();
    let ints: Vec<String> = (0..700).map(|i| (i * 7).to_string()).collect();
    let mut cmds: Vec<Vec<String>> = vec![
        vec!["SET".into(), "s".into(), "hello".into()],
        vec!["SET".into(), "n".into(), "-123456".into()],
        vec!["SET".into(), "long".into(), "abc".repeat(100)],
        vec!["SET".into(), "ttl".into(), "v".into(), "PX".into(), "100000000".into()],
        vec!["RPUSH".into(), "l".into(), "a".into(), "1".into(), "b".into()],
        vec!["SADD".into(), "si".into(), "1".into(), "2".into(), "-3".into()],
        vec!["SADD".into(), "ss".into(), "x".into(), "y".into(), "z".into()],
        vec!["HSET".into(), "h".into(), "f".into(), "v".into()],
        vec![
            "ZADD".into(),
            "z".into(),
            "1.5".into(),
            "a".into(),
            "-2".into(),
            "b".into(),
        ],
    ];
    let mut c1 = vec!["RPUSH".to_string(), "bigl".to_string()];
    c1.extend(big.iter().cloned());
    let mut c2 = vec!["SADD".to_string(), "bigs".to_string()];
    c2.extend(ints.iter().cloned());
    let mut c3 = vec!["HSET".to_string(), "bigh".to_string()];
    let mut c4 = vec!["ZADD".to_string(), "bigz".to_string()];
    for (i, it) in big.iter().take(500).enumerate() {
        c3.push(it.clone());
        c3.push(i.to_string());
        c4.push((i as f64 / 3.0).to_string());
        c4.push(it.clone());
    }
    cmds.extend([c1, c2, c3, c4]);
    for cmd in &cmds {
        let mut rc = redis::cmd(&cmd[0]);
        for a in &cmd[1..] {
            rc.arg(a);
        }
        let _: redis::Value = rc.query(&mut c).unwrap();
    }
    // and one key in db 2
    let _: () = redis::cmd("SELECT").arg(2).query(&mut c).unwrap();
    let _: () = redis::cmd("SET").arg("other").arg("db2").query(&mut c).unwrap();
    let _: () = redis::cmd("SELECT").arg(0).query(&mut c).unwrap();

    let keys0: Vec<String> = cmds.iter().map(|c| c[1].clone()).collect();
    let mut dbs: Vec<(u64, Vec<String>)> = vec![(0, keys0), (2, vec!["other".into()])];
    dbs.sort();
    for opts in [
        SaveOptions::default(),
        SaveOptions {
            compression: false,
            checksum: false,
        },
    ] {
        let dir = std::env::temp_dir().join(format!("larder-rdbfile-{}-{}", std::process::id(), common::free_port()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("larder.rdb");
        let file = std::fs::File::create(&path).unwrap();
        let mut w = FileWriter::new(std::io::BufWriter::new(file), opts).unwrap();
        w.aux_fields(&Aux {
            redis_ver: "7.0.15".into(),
            ctime_secs: 1_700_000_000,
            used_mem: 1_000_000,
            aof_base: false,
        })
        .unwrap();
        let mut expected = Vec::new();
        for (db, keys) in &dbs {
            let _: () = redis::cmd("SELECT").arg(*db).query(&mut c).unwrap();
            w.select_db(*db).unwrap();
            w.resize_db(keys.len() as u64, 0).unwrap();
            for k in keys {
                let p: Vec<u8> = redis::cmd("DUMP").arg(k).query(&mut c).unwrap();
                let v = rdb::restore_payload(&p, &Limits::default()).unwrap();
                let at: i64 = redis::cmd("PEXPIRETIME").arg(k).query(&mut c).unwrap();
                let exp = (at > 0).then_some(at);
                w.entry(k.as_bytes(), &v, exp, None, None).unwrap();
                expected.push((*db, k.clone(), observe(&mut c, k.as_bytes()), at));
            }
        }
        let _: () = redis::cmd("SELECT").arg(0).query(&mut c).unwrap();
        w.finish().unwrap();

        let check = std::process::Command::new("redis-check-rdb")
            .arg(&path)
            .output()
            .unwrap();
        let out = String::from_utf8_lossy(&check.stdout);
        assert!(
            check.status.success() && out.contains("RDB looks OK"),
            "redis-check-rdb: {out}"
        );

        let redis = Redis::start_in(&dir, "larder.rdb", &[]);
        let mut rc = redis.conn();
        for (db, k, want, at) in &expected {
            let _: () = redis::cmd("SELECT").arg(*db).query(&mut rc).unwrap();
            assert_eq!(&observe(&mut rc, k.as_bytes()), want, "{k} in db {db}");
            let rat: i64 = redis::cmd("PEXPIRETIME").arg(k).query(&mut rc).unwrap();
            assert_eq!(rat, *at, "{k} expiry");
        }
        let n: i64 = redis::cmd("DBSIZE").query(&mut rc).unwrap();
        assert_eq!(n, 1); // db 2 selected last
        drop(redis);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
