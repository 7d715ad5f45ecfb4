#![allow(clippy::unwrap_used)]
//! MEMORY USAGE, STATS, DOCTOR, MALLOC-STATS, PURGE and HELP, and the
//! allocator fields of INFO memory, against the real binary.

mod common;

use common::TestServer;
use redis::Value;

fn usage(c: &mut redis::Connection, key: &str) -> Option<i64> {
    redis::cmd("MEMORY").arg("USAGE").arg(key).query(c).unwrap()
}

fn err(c: &mut redis::Connection, args: &[&str]) -> String {
    let mut cmd = redis::cmd(args[0]);
    for a in &args[1..] {
        cmd.arg(*a);
    }
    let e = cmd.query::<Value>(c).unwrap_err();
    // "ERR <detail>" as the server sent it.
    format!("{} {}", e.code().unwrap_or("?"), e.detail().unwrap_or(""))
}

fn info_field(c: &mut redis::Connection, name: &str) -> String {
    let text: String = redis::cmd("INFO").arg("all").query(c).unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{name}:")).map(|v| v.trim_end().to_string()))
        .unwrap_or_else(|| panic!("no {name}"))
}

const STATS_FIELDS_BEFORE_DBS: &[&str] = &[
    "peak.allocated",
    "total.allocated",
    "startup.allocated",
    "replication.backlog",
    "clients.slaves",
    "clients.normal",
    "cluster.links",
    "aof.buffer",
    "lua.caches",
    "functions.caches",
];

const STATS_FIELDS_AFTER_DBS: &[&str] = &[
    "overhead.total",
    "keys.count",
    "keys.bytes-per-key",
    "dataset.bytes",
    "dataset.percentage",
    "peak.percentage",
    "allocator.allocated",
    "allocator.active",
    "allocator.resident",
    "allocator-fragmentation.ratio",
    "allocator-fragmentation.bytes",
    "allocator-rss.ratio",
    "allocator-rss.bytes",
    "rss-overhead.ratio",
    "rss-overhead.bytes",
    "fragmentation",
    "fragmentation.bytes",
];

/// The fields Redis replies with as doubles.
const DOUBLE_FIELDS: &[&str] = &[
    "dataset.percentage",
    "peak.percentage",
    "allocator-fragmentation.ratio",
    "allocator-rss.ratio",
    "rss-overhead.ratio",
    "fragmentation",
];

fn name(v: &Value) -> String {
    match v {
        Value::BulkString(b) => String::from_utf8(b.clone()).unwrap(),
        other => panic!("not a bulk name: {other:?}"),
    }
}

#[test]
fn usage_counts_key_value_and_collections() {
    let srv = TestServer::start(&[]);
    let mut c = srv.conn();
    assert_eq!(usage(&mut c, "missing"), None);
    let _: () = redis::cmd("SET").arg("s").arg("x").query(&mut c).unwrap();
    let small = usage(&mut c, "s").unwrap();
    assert!(small > 8 && small < 128, "{small}");
    let _: () = redis::cmd("SET").arg("s").arg("x".repeat(1000)).query(&mut c).unwrap();
    let mid = usage(&mut c, "s").unwrap();
    assert!(mid >= small + 990, "{small} {mid}");
    let _: () = redis::cmd("SET")
        .arg("s")
        .arg("x".repeat(100_000))
        .query(&mut c)
        .unwrap();
    let big = usage(&mut c, "s").unwrap();
    assert!(big >= mid + 99_000, "{mid} {big}");
    // A longer key costs more.
    let _: () = redis::cmd("SET").arg("k".repeat(200)).arg("x").query(&mut c).unwrap();
    assert!(usage(&mut c, &"k".repeat(200)).unwrap() >= small + 150);

    // Collections grow with their size, in either encoding.
    for (kind, add) in [("list", "RPUSH"), ("set", "SADD")] {
        let key = format!("{kind}:small");
        let _: () = redis::cmd(add).arg(&key).arg("a").query(&mut c).unwrap();
        let one = usage(&mut c, &key).unwrap();
        let bkey = format!("{kind}:big");
        let mut cmd = redis::cmd(add);
        cmd.arg(&bkey);
        for i in 0..2000 {
            cmd.arg(format!("member-{i}"));
        }
        let _: () = cmd.query(&mut c).unwrap();
        let many = usage(&mut c, &bkey).unwrap();
        assert!(many > one + 2000 * 8, "{kind}: {one} {many}");
    }
    let mut h = redis::cmd("HSET");
    h.arg("h");
    for i in 0..500 {
        h.arg(format!("f{i}")).arg(format!("v{i}"));
    }
    let _: () = h.query(&mut c).unwrap();
    let mut z = redis::cmd("ZADD");
    z.arg("z");
    for i in 0..500 {
        z.arg(i).arg(format!("m{i}"));
    }
    let _: () = z.query(&mut c).unwrap();
    assert!(usage(&mut c, "h").unwrap() > 500 * 4);
    assert!(usage(&mut c, "z").unwrap() > 500 * 8);

    // SAMPLES is accepted (our figure is exact either way).
    let exact: i64 = redis::cmd("MEMORY")
        .arg("USAGE")
        .arg("h")
        .arg("SAMPLES")
        .arg(0)
        .query(&mut c)
        .unwrap();
    let sampled: i64 = redis::cmd("MEMORY")
        .arg("usage")
        .arg("h")
        .arg("samples")
        .arg(5)
        .arg("samples")
        .arg(2)
        .query(&mut c)
        .unwrap();
    assert_eq!(exact, usage(&mut c, "h").unwrap());
    assert_eq!(sampled, exact);

    // Like Redis (a direct dict lookup), no hit or miss is counted.
    assert_eq!(info_field(&mut c, "keyspace_hits"), "0");
    assert_eq!(info_field(&mut c, "keyspace_misses"), "0");

    // An expired key is gone.
    let _: () = redis::cmd("SET")
        .arg("e")
        .arg("v")
        .arg("PX")
        .arg(1)
        .query(&mut c)
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(20));
    assert_eq!(usage(&mut c, "e"), None);
}

#[test]
fn usage_resp_shapes_and_errors() {
    let srv = TestServer::start(&[]);
    let mut raw = srv.raw();
    assert_eq!(raw.cmd(&["SET", "a", "b"]), "+OK\r\n");
    assert!(raw.cmd(&["MEMORY", "USAGE", "a"]).starts_with(':'));
    assert_eq!(raw.cmd(&["MEMORY", "USAGE", "nope"]), "$-1\r\n");
    let mut raw3 = srv.raw3();
    assert_eq!(raw3.cmd(&["MEMORY", "USAGE", "nope"]), "_\r\n");

    let not_int = "-ERR value is not an integer or out of range\r\n";
    let syntax = "-ERR syntax error\r\n";
    assert_eq!(raw.cmd(&["MEMORY", "USAGE", "a", "SAMPLES", "x"]), not_int);
    assert_eq!(raw.cmd(&["MEMORY", "USAGE", "a", "SAMPLES", "1.5"]), not_int);
    assert_eq!(raw.cmd(&["MEMORY", "USAGE", "a", "SAMPLES", "-1"]), syntax);
    assert_eq!(raw.cmd(&["MEMORY", "USAGE", "a", "SAMPLES"]), syntax);
    assert_eq!(raw.cmd(&["MEMORY", "USAGE", "a", "FOO"]), syntax);
    // Options are checked before the key is looked up.
    assert_eq!(raw.cmd(&["MEMORY", "USAGE", "nope", "FOO"]), syntax);
    assert_eq!(raw.cmd(&["MEMORY", "USAGE", "a", "SAMPLES", "3", "FOO"]), syntax);

    assert_eq!(
        raw.cmd(&["MEMORY"]),
        "-ERR wrong number of arguments for 'memory' command\r\n"
    );
    assert_eq!(
        raw.cmd(&["MEMORY", "USAGE"]),
        "-ERR wrong number of arguments for 'memory|usage' command\r\n"
    );
    for sub in ["STATS", "DOCTOR", "MALLOC-STATS", "PURGE", "HELP"] {
        assert_eq!(
            raw.cmd(&["MEMORY", sub, "x"]),
            format!(
                "-ERR wrong number of arguments for 'memory|{}' command\r\n",
                sub.to_lowercase()
            )
        );
    }
    assert_eq!(
        raw.cmd(&["MEMORY", "FOO"]),
        "-ERR unknown subcommand 'FOO'. Try MEMORY HELP.\r\n"
    );
}

#[test]
fn stats_fields_resp2_and_resp3() {
    let srv = TestServer::start(&[]);
    let mut c = srv.conn();
    for i in 0..10 {
        let _: () = redis::cmd("SET").arg(format!("k{i}")).arg(i).query(&mut c).unwrap();
    }
    let _: () = redis::cmd("EXPIRE").arg("k0").arg(100).query(&mut c).unwrap();
    let _: () = redis::cmd("SELECT").arg(3).query(&mut c).unwrap();
    let _: () = redis::cmd("SET").arg("other").arg("v").query(&mut c).unwrap();

    // RESP2: a flat array of name, value pairs.
    let v: Value = redis::cmd("MEMORY").arg("STATS").query(&mut c).unwrap();
    let Value::Array(items) = v else { panic!("{v:?}") };
    assert_eq!(items.len() % 2, 0);
    let pairs: Vec<(String, &Value)> = items.chunks(2).map(|p| (name(&p[0]), &p[1])).collect();
    let names: Vec<&str> = pairs.iter().map(|(n, _)| n.as_str()).collect();
    let mut expected: Vec<&str> = STATS_FIELDS_BEFORE_DBS.to_vec();
    expected.extend(["db.0", "db.3"]);
    expected.extend(STATS_FIELDS_AFTER_DBS);
    assert_eq!(names, expected);
    let get = |n: &str| pairs.iter().find(|(k, _)| k == n).map(|(_, v)| *v).unwrap();
    assert_eq!(get("keys.count"), &Value::Int(11));
    for (n, v) in &pairs {
        if DOUBLE_FIELDS.contains(&n.as_str()) {
            // Doubles are bulk strings in RESP2.
            let Value::BulkString(b) = v else { panic!("{n}: {v:?}") };
            let d: f64 = std::str::from_utf8(b).unwrap().parse().unwrap();
            assert!(d.is_finite(), "{n}");
        } else if n.starts_with("db.") {
            let Value::Array(db) = v else { panic!("{n}: {v:?}") };
            assert_eq!(db.len(), 4);
            assert_eq!(name(&db[0]), "overhead.hashtable.main");
            assert_eq!(name(&db[2]), "overhead.hashtable.expires");
            assert!(matches!(db[1], Value::Int(m) if m > 0));
        } else {
            assert!(matches!(v, Value::Int(_)), "{n}: {v:?}");
        }
    }
    let Value::Array(db0) = get("db.0") else { panic!() };
    assert!(matches!(db0[3], Value::Int(e) if e > 0), "one key with a TTL in db 0");
    let Value::Array(db3) = get("db.3") else { panic!() };
    assert_eq!(db3[3], Value::Int(0));
    let int = |n: &str| match get(n) {
        Value::Int(i) => *i,
        other => panic!("{n}: {other:?}"),
    };
    assert!(int("total.allocated") > 0);
    assert!(int("peak.allocated") >= int("total.allocated"));
    assert!(int("startup.allocated") <= int("total.allocated"));
    assert!(int("overhead.total") >= int("startup.allocated"));
    assert_eq!(int("dataset.bytes"), int("total.allocated") - int("overhead.total"));
    assert_eq!(
        int("keys.bytes-per-key"),
        (int("total.allocated") - int("startup.allocated")) / 11
    );
    assert_eq!(int("replication.backlog"), 0);
    // jemalloc is the binary's allocator.
    assert!(int("allocator.allocated") > 0);
    assert!(int("allocator.active") >= int("allocator.allocated"));
    assert!(int("allocator.resident") >= int("allocator.active"));

    // RESP3: a map, doubles as doubles, each db a nested map.
    let mut c3 = srv.conn3();
    let v: Value = redis::cmd("MEMORY").arg("STATS").query(&mut c3).unwrap();
    let Value::Map(map) = v else { panic!("{v:?}") };
    let names3: Vec<String> = map.iter().map(|(k, _)| name(k)).collect();
    assert_eq!(names3.len(), expected.len());
    assert_eq!(names3, expected);
    for (k, v) in &map {
        let k = name(k);
        if DOUBLE_FIELDS.contains(&k.as_str()) {
            assert!(matches!(v, Value::Double(_)), "{k}: {v:?}");
        } else if k.starts_with("db.") {
            let Value::Map(db) = v else { panic!("{k}: {v:?}") };
            let inner: Vec<String> = db.iter().map(|(n, _)| name(n)).collect();
            assert_eq!(inner, ["overhead.hashtable.main", "overhead.hashtable.expires"]);
        } else {
            assert!(matches!(v, Value::Int(_)), "{k}: {v:?}");
        }
    }

    // An empty keyspace lists no db entries.
    let _: () = redis::cmd("FLUSHALL").query(&mut c).unwrap();
    let Value::Array(items) = redis::cmd("MEMORY").arg("STATS").query(&mut c).unwrap() else {
        panic!()
    };
    assert_eq!(
        items.len(),
        2 * (STATS_FIELDS_BEFORE_DBS.len() + STATS_FIELDS_AFTER_DBS.len())
    );
}

const DOCTOR_EMPTY: &str = "Hi Sam, this instance is empty or is using very little memory, my issues detector can't be used in these conditions. Please, leave for your mission on Earth and fill it with some data. The new Sam and I will be back to our programming as soon as I finished rebooting.\n";

#[test]
fn doctor_on_an_empty_instance() {
    let srv = TestServer::start(&[]);
    let mut raw = srv.raw();
    assert_eq!(raw.cmd(&["MEMORY", "DOCTOR"]), common::resp::bulk(DOCTOR_EMPTY));
    let mut raw3 = srv.raw3();
    assert_eq!(
        raw3.cmd(&["MEMORY", "DOCTOR"]),
        format!("={}\r\ntxt:{DOCTOR_EMPTY}\r\n", DOCTOR_EMPTY.len() + 4)
    );
}

#[test]
fn doctor_with_data_reports_a_known_text() {
    let srv = TestServer::start(&[]);
    let mut c = srv.conn();
    // ~8 MB of data lifts the instance above the 5 MB "empty" bar.
    for i in 0..80 {
        let _: () = redis::cmd("SET").arg(i).arg("x".repeat(100_000)).query(&mut c).unwrap();
    }
    let text: String = redis::cmd("MEMORY").arg("DOCTOR").query(&mut c).unwrap();
    assert_ne!(text, DOCTOR_EMPTY);
    assert!(
        text == "Hi Sam, I can't find any memory issue in your instance. I can only account for what occurs on this base.\n"
            || (text.starts_with("Sam, I detected a few issues in this Redis instance memory implants:\n\n")
                && text.ends_with("I'm here to keep you safe, Sam. I want to help you.\n")),
        "{text}"
    );
}

#[test]
fn malloc_stats_purge_and_help() {
    let srv = TestServer::start(&[]);
    let mut c = srv.conn();
    let text: String = redis::cmd("MEMORY").arg("MALLOC-STATS").query(&mut c).unwrap();
    assert!(
        text.starts_with("___ Begin jemalloc statistics ___\n"),
        "{}",
        &text[..80.min(text.len())]
    );
    assert!(text.contains("--- End jemalloc statistics ---"));
    let mut raw3 = srv.raw3();
    assert!(raw3.cmd(&["MEMORY", "MALLOC-STATS"]).starts_with('='));

    let mut raw = srv.raw();
    assert_eq!(raw.cmd(&["MEMORY", "PURGE"]), "+OK\r\n");
    assert_eq!(raw.cmd(&["memory", "purge"]), "+OK\r\n");

    let help = raw.cmd(&["MEMORY", "HELP"]);
    let lines = [
        "MEMORY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "DOCTOR",
        "    Return memory problems reports.",
        "MALLOC-STATS",
        "    Return internal statistics report from the memory allocator.",
        "PURGE",
        "    Attempt to purge dirty pages for reclamation by the allocator.",
        "STATS",
        "    Return information about the memory usage of the server.",
        "USAGE <key> [SAMPLES <count>]",
        "    Return memory in bytes used by <key> and its value. Nested values are",
        "    sampled up to <count> times (default: 5, 0 means sample all).",
        "HELP",
        "    Prints this help.",
    ];
    let mut expected = format!("*{}\r\n", lines.len());
    for l in lines {
        expected.push_str(&format!("+{l}\r\n"));
    }
    assert_eq!(help, expected);
    // Through the redis crate too.
    assert_eq!(err(&mut c, &["MEMORY", "USAGE", "x", "BAD"]), "ERR syntax error");
}

#[test]
fn command_info_matches_redis() {
    let srv = TestServer::start(&[]);
    let mut c = srv.conn();
    let v: Value = redis::cmd("COMMAND")
        .arg("INFO")
        .arg("memory|usage")
        .query(&mut c)
        .unwrap();
    let Value::Array(outer) = v else { panic!("{v:?}") };
    let Value::Array(info) = &outer[0] else {
        panic!("{outer:?}")
    };
    assert_eq!(name(&info[0]), "memory|usage");
    assert_eq!(info[1], Value::Int(-3));
    assert_eq!(info[2], Value::Array(vec![Value::SimpleString("readonly".into())]));
    assert_eq!(&info[3..6], &[Value::Int(2), Value::Int(2), Value::Int(1)]);
    assert_eq!(
        info[6],
        Value::Array(vec![
            Value::SimpleString("@read".into()),
            Value::SimpleString("@slow".into())
        ])
    );
    let count: i64 = redis::cmd("COMMAND").arg("COUNT").query(&mut c).unwrap();
    assert!(count > 0);
    let v: Value = redis::cmd("COMMAND").arg("INFO").arg("memory").query(&mut c).unwrap();
    let Value::Array(outer) = v else { panic!() };
    let Value::Array(info) = &outer[0] else {
        panic!("{outer:?}")
    };
    assert_eq!(info[1], Value::Int(-2));
    let Value::Array(subs) = &info[9] else {
        panic!("{info:?}")
    };
    assert_eq!(subs.len(), 6);
}

#[test]
fn info_memory_has_redis_fields_in_order() {
    let srv = TestServer::start(&[]);
    let mut c = srv.conn();
    let text: String = redis::cmd("INFO").arg("memory").query(&mut c).unwrap();
    let names: Vec<&str> = text.lines().filter_map(|l| l.split_once(':').map(|(n, _)| n)).collect();
    // Redis 7.2's INFO memory order, without the script/VM fields.
    let redis_order = [
        "used_memory",
        "used_memory_human",
        "used_memory_rss",
        "used_memory_rss_human",
        "used_memory_peak",
        "used_memory_peak_human",
        "used_memory_peak_perc",
        "used_memory_overhead",
        "used_memory_startup",
        "used_memory_dataset",
        "used_memory_dataset_perc",
        "allocator_allocated",
        "allocator_active",
        "allocator_resident",
        "total_system_memory",
        "total_system_memory_human",
        "used_memory_lua",
        "used_memory_vm_eval",
        "used_memory_lua_human",
        "used_memory_scripts_eval",
        "number_of_cached_scripts",
        "number_of_functions",
        "number_of_libraries",
        "used_memory_vm_functions",
        "used_memory_vm_total",
        "used_memory_vm_total_human",
        "used_memory_functions",
        "used_memory_scripts",
        "used_memory_scripts_human",
        "maxmemory",
        "maxmemory_human",
        "maxmemory_policy",
        "allocator_frag_ratio",
        "allocator_frag_bytes",
        "allocator_rss_ratio",
        "allocator_rss_bytes",
        "rss_overhead_ratio",
        "rss_overhead_bytes",
        "mem_fragmentation_ratio",
        "mem_fragmentation_bytes",
        "mem_not_counted_for_evict",
        "mem_replication_backlog",
        "mem_total_replication_buffers",
        "mem_clients_slaves",
        "mem_clients_normal",
        "mem_cluster_links",
        "mem_aof_buffer",
        "mem_allocator",
        "active_defrag_running",
        "lazyfree_pending_objects",
        "lazyfreed_objects",
    ];
    assert_eq!(names, redis_order);
    let field = |n: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(&format!("{n}:")))
            .unwrap()
            .to_string()
    };
    let allocated: u64 = field("allocator_allocated").parse().unwrap();
    let active: u64 = field("allocator_active").parse().unwrap();
    let resident: u64 = field("allocator_resident").parse().unwrap();
    assert!(allocated > 0 && active >= allocated && resident >= active);
    let frag: f64 = field("allocator_frag_ratio").parse().unwrap();
    assert!(frag >= 1.0);
    assert_eq!(field("allocator_frag_ratio").split('.').nth(1).unwrap().len(), 2);
    for zero in ["mem_not_counted_for_evict", "mem_replication_backlog", "mem_aof_buffer"] {
        assert_eq!(field(zero), "0");
    }
    // MEMORY STATS and INFO agree on the keyspace overhead being counted.
    let _: () = redis::cmd("SET").arg("a").arg("b").query(&mut c).unwrap();
    let text2: String = redis::cmd("INFO").arg("memory").query(&mut c).unwrap();
    let overhead = |t: &str| -> u64 {
        t.lines()
            .find_map(|l| l.strip_prefix("used_memory_overhead:"))
            .unwrap()
            .parse()
            .unwrap()
    };
    let startup = |t: &str| -> u64 {
        t.lines()
            .find_map(|l| l.strip_prefix("used_memory_startup:"))
            .unwrap()
            .parse()
            .unwrap()
    };
    assert!(overhead(&text2) > startup(&text2));
}
