#![allow(clippy::unwrap_used)]
//! The AOF through the real binary: what a restart replays, rewrites,
//! turning it on at run time, the commands Redis rewrites for replay,
//! and AOF directories moving between Larder and a real Redis.

mod common;
mod persist_util;
mod real_redis;

use std::path::Path;
use std::time::Duration;

use persist_util::{info_field, populate, snapshot_of, start_in, tempdir, wait_info};

const AOF: &[&str] = &["--save", "", "--appendonly", "yes"];

fn incr_text(dir: &Path) -> String {
    // Under everysec the writer batches appends for about a millisecond.
    std::thread::sleep(Duration::from_millis(50));
    let d = dir.join("appendonlydir");
    let manifest = std::fs::read_to_string(d.join("appendonly.aof.manifest")).unwrap();
    let incr = manifest
        .lines()
        .find(|l| l.ends_with("type i"))
        .and_then(|l| l.split_whitespace().nth(1))
        .unwrap()
        .to_string();
    String::from_utf8_lossy(&std::fs::read(d.join(incr)).unwrap()).into_owned()
}

/// `redis-check-aof` accepts the directory (when Redis's tools are here).
fn check_aof(dir: &Path) {
    if real_redis::available() {
        let out = std::process::Command::new("redis-check-aof")
            .arg(dir.join("appendonlydir/appendonly.aof.manifest"))
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stdout));
    }
}

/// The commands in an AOF text, as space-joined argv lines.
fn commands(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut lines = text.split("\r\n").peekable();
    while let Some(l) = lines.next() {
        let Some(n) = l.strip_prefix('*').and_then(|n| n.parse::<usize>().ok()) else {
            continue;
        };
        let mut argv = Vec::new();
        for _ in 0..n {
            lines.next();
            argv.push(lines.next().unwrap_or_default().to_string());
        }
        out.push(argv.join(" "));
    }
    out
}

#[test]
fn restart_replays_every_write() {
    let dir = tempdir("aof-replay");
    let (keys, before);
    {
        let s = start_in(&dir, AOF);
        let mut c = s.conn();
        assert_eq!(info_field(&mut c, "aof_enabled"), "1");
        let base_keys = populate(&mut c);
        let mut raw = s.raw();
        raw.cmd(&["SET", "counter", "10"]);
        raw.cmd(&["INCRBYFLOAT", "counter", "0.5"]);
        raw.cmd(&["HSET", "h", "f", "1"]);
        raw.cmd(&["HINCRBYFLOAT", "h", "f", "2.25"]);
        raw.cmd(&["SADD", "pool", "a", "b", "c", "d"]);
        raw.cmd(&["SPOP", "pool"]);
        raw.cmd(&["SPOP", "pool", "2"]);
        raw.cmd(&["SETEX", "session", "1000", "s"]);
        raw.cmd(&["SET", "gone", "x"]);
        raw.cmd(&["EXPIRE", "gone", "-1"]);
        raw.cmd(&["RPUSH", "q", "1", "2", "3"]);
        raw.cmd(&["LMPOP", "1", "q", "LEFT", "COUNT", "2"]);
        assert_eq!(raw.cmd(&["MULTI"]), "+OK\r\n");
        raw.cmd(&["INCR", "tx"]);
        raw.cmd(&["INCR", "tx"]);
        assert_eq!(raw.cmd(&["EXEC"]), "*2\r\n:1\r\n:2\r\n");
        // A blocked pop served by a later push.
        let mut waiter = s.raw();
        waiter.send(b"*3\r\n$5\r\nBLPOP\r\n$4\r\njobs\r\n$1\r\n0\r\n");
        std::thread::sleep(Duration::from_millis(100));
        raw.cmd(&["RPUSH", "jobs", "j1", "j2"]);
        assert_eq!(waiter.read_replies(1), b"*2\r\n$4\r\njobs\r\n$2\r\nj1\r\n");
        raw.cmd(&["SELECT", "3"]);
        raw.cmd(&["SET", "in3", "yes"]);
        raw.cmd(&["SWAPDB", "3", "4"]);
        let mut all = base_keys.clone();
        for k in ["counter", "h", "pool", "session", "q", "tx", "jobs"] {
            all.push((0, k.as_bytes().to_vec()));
        }
        all.push((4, b"in3".to_vec()));
        let snap = snapshot_of(&mut c, &all);
        assert_eq!(raw.cmd(&["EXISTS", "gone"]), ":0\r\n");
        let text = commands(&incr_text(&dir));
        // Relative times and random or float results are logged as
        // Redis logs them.
        assert!(text.iter().any(|l| l.starts_with("SET session s PXAT ")), "{text:?}");
        assert!(text.contains(&"SET counter 10.5 KEEPTTL".to_string()));
        assert!(text.contains(&"HSET h f 3.25".to_string()));
        assert!(text.iter().any(|l| l.starts_with("SREM pool ")));
        assert!(text.contains(&"DEL gone".to_string()));
        assert!(text.contains(&"LPOP jobs".to_string()));
        let multi = text.iter().position(|l| l == "MULTI").unwrap();
        assert_eq!(&text[multi..multi + 4], ["MULTI", "INCR tx", "INCR tx", "EXEC"]);
        drop((c, raw, waiter));
        drop(s); // SIGKILL
        (keys, before) = (all, snap);
    }
    let s = start_in(&dir, AOF);
    let mut c = s.conn();
    assert_eq!(snapshot_of(&mut c, &keys), before);
    let mut raw = s.raw();
    assert_eq!(raw.cmd(&["EXISTS", "gone"]), ":0\r\n");
    check_aof(&dir);
    drop(s);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn rewrite_then_restart() {
    rewrite_then_restart_with(true);
}

#[test]
fn rewrite_without_rdb_preamble_writes_commands() {
    rewrite_then_restart_with(false);
}

fn rewrite_then_restart_with(preamble: bool) {
    let dir = tempdir("aof-rewrite");
    let mut args = AOF.to_vec();
    if !preamble {
        args.extend(["--aof-use-rdb-preamble", "no"]);
    }
    let s = start_in(&dir, &args);
    let mut c = s.conn();
    let keys = populate(&mut c);
    let mut raw = s.raw();
    for i in 0..200 {
        raw.cmd(&["INCR", "n"]);
        raw.cmd(&["SET", &format!("k{i}"), &i.to_string()]);
    }
    assert_eq!(
        raw.cmd(&["BGREWRITEAOF"]),
        "+Background append only file rewriting started\r\n"
    );
    // Writes during and after the rewrite land in the new incr file.
    for _ in 0..100 {
        raw.cmd(&["INCR", "n"]);
    }
    wait_info(&mut c, "aof_rewrite_in_progress", "0");
    assert_eq!(info_field(&mut c, "aof_rewrites"), "1");
    assert_eq!(info_field(&mut c, "aof_last_bgrewrite_status"), "ok");
    let manifest = std::fs::read_to_string(dir.join("appendonlydir/appendonly.aof.manifest")).unwrap();
    let ext = if preamble { "rdb" } else { "aof" };
    assert_eq!(
        manifest,
        format!("file appendonly.aof.2.base.{ext} seq 2 type b\nfile appendonly.aof.2.incr.aof seq 2 type i\n")
    );
    let base = std::fs::read(dir.join(format!("appendonlydir/appendonly.aof.2.base.{ext}"))).unwrap();
    assert!(base.starts_with(if preamble { b"REDIS" } else { b"*2\r\n$6\r\nSELECT" }));
    check_aof(&dir);
    raw.cmd(&["INCR", "n"]);
    let mut all = keys.clone();
    all.push((0, b"n".to_vec()));
    all.push((0, b"k199".to_vec()));
    let before = snapshot_of(&mut c, &all);
    drop((c, raw));
    drop(s);
    let s = start_in(&dir, &args);
    let mut c = s.conn();
    assert_eq!(snapshot_of(&mut c, &all), before);
    let n: i64 = redis::cmd("GET").arg("n").query(&mut c).unwrap();
    assert_eq!(n, 301);
    drop(s);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn enabled_at_run_time_keeps_what_was_there() {
    let dir = tempdir("aof-enable");
    let s = start_in(&dir, &["--save", ""]);
    let mut c = s.conn();
    let keys = populate(&mut c);
    let mut raw = s.raw();
    assert_eq!(info_field(&mut c, "aof_enabled"), "0");
    assert_eq!(raw.cmd(&["CONFIG", "SET", "appendonly", "yes"]), "+OK\r\n");
    assert_eq!(info_field(&mut c, "aof_enabled"), "1");
    raw.cmd(&["SET", "after", "1"]);
    wait_info(&mut c, "aof_rewrite_in_progress", "0");
    raw.cmd(&["INCR", "after"]);
    let mut all = keys.clone();
    all.push((0, b"after".to_vec()));
    let before = snapshot_of(&mut c, &all);
    drop((c, raw));
    drop(s);
    let s = start_in(&dir, AOF);
    let mut c = s.conn();
    assert_eq!(snapshot_of(&mut c, &all), before);
    // And off again: writes stop going to the files.
    let mut raw = s.raw();
    assert_eq!(raw.cmd(&["CONFIG", "SET", "appendonly", "no"]), "+OK\r\n");
    assert_eq!(info_field(&mut c, "aof_enabled"), "0");
    drop(s);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Under `appendfsync always` no reply to a write leaves before its fsync:
/// neither the push's nor that of the BLPOP the push served (whose pop is
/// a write of its own, logged after the push).
#[test]
fn always_holds_served_blocked_pops_until_the_fsync() {
    let dir = tempdir("aof-always-blpop");
    let s = start_in(
        &dir,
        &[
            "--save",
            "",
            "--appendonly",
            "yes",
            "--appendfsync",
            "always",
            "--enable-debug-command",
            "yes",
        ],
    );
    let mut c = s.conn();
    let mut blocked = || -> String {
        let info: String = redis::cmd("INFO").arg("clients").query(&mut c).unwrap();
        let line = info.lines().find(|l| l.starts_with("blocked_clients:")).unwrap();
        line["blocked_clients:".len()..].trim().to_string()
    };
    let mut waiter = s.raw();
    waiter.send(b"*3\r\n$5\r\nBLPOP\r\n$1\r\nq\r\n$1\r\n0\r\n");
    let start = std::time::Instant::now();
    while blocked() != "1" {
        assert!(start.elapsed() < Duration::from_secs(10), "BLPOP never blocked");
        std::thread::sleep(Duration::from_millis(5));
    }
    let mut admin = s.raw();
    assert_eq!(admin.cmd(&["DEBUG", "AOF-HOLD-FSYNC", "1"]), "+OK\r\n");
    let mut pusher = s.raw();
    pusher.send(b"*3\r\n$5\r\nRPUSH\r\n$1\r\nq\r\n$1\r\nx\r\n");
    // The pop happened (the list is empty again) but nobody has heard.
    let start = std::time::Instant::now();
    while admin.cmd(&["EXISTS", "q"]) != ":0\r\n" || blocked() != "0" {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "the push never served the BLPOP"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    for conn in [&mut waiter, &mut pusher] {
        conn.s.set_read_timeout(Some(Duration::from_millis(300))).unwrap();
        let early = conn.read_replies(1);
        assert!(
            early.is_empty(),
            "answered before the fsync: {:?}",
            String::from_utf8_lossy(&early)
        );
        conn.s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    }
    assert_eq!(admin.cmd(&["DEBUG", "AOF-HOLD-FSYNC", "0"]), "+OK\r\n");
    assert_eq!(pusher.read_replies(1), b":1\r\n");
    assert_eq!(waiter.read_replies(1), b"*2\r\n$1\r\nq\r\n$1\r\nx\r\n");
    let text = incr_text(&dir);
    assert!(
        commands(&text).ends_with(&["RPUSH q x".to_string(), "LPOP q".to_string()]),
        "{text}"
    );
    drop(s);
    let _ = std::fs::remove_dir_all(&dir);
}

/// The files of an AOF directory, sorted.
fn aof_dir_files(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir.join("appendonlydir"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

/// As Redis 7: BGREWRITEAOF with the AOF off writes a base and a manifest
/// (no incr); an incr left from when it was on becomes history and is
/// deleted. `appendonly yes` at the next start loads that base.
#[test]
fn rewrite_with_the_aof_off_writes_a_base_only() {
    let dir = tempdir("aof-off-rewrite");
    let s = start_in(&dir, &["--save", ""]);
    let mut c = s.conn();
    let mut keys = populate(&mut c);
    let mut raw = s.raw();
    assert_eq!(
        raw.cmd(&["BGREWRITEAOF"]),
        "+Background append only file rewriting started\r\n"
    );
    wait_info(&mut c, "aof_rewrite_in_progress", "0");
    assert_eq!(info_field(&mut c, "aof_enabled"), "0");
    assert_eq!(info_field(&mut c, "aof_rewrites"), "1");
    assert_eq!(info_field(&mut c, "aof_last_bgrewrite_status"), "ok");
    let manifest = || std::fs::read_to_string(dir.join("appendonlydir/appendonly.aof.manifest")).unwrap();
    assert_eq!(manifest(), "file appendonly.aof.1.base.rdb seq 1 type b\n");
    assert_eq!(
        aof_dir_files(&dir),
        ["appendonly.aof.1.base.rdb", "appendonly.aof.manifest"]
    );
    check_aof(&dir);

    // On (base 2, incr 1), a write, off, and a rewrite without the RDB
    // preamble: base 3 of commands, the incr gone.
    assert_eq!(raw.cmd(&["CONFIG", "SET", "appendonly", "yes"]), "+OK\r\n");
    wait_info(&mut c, "aof_rewrite_in_progress", "0");
    raw.cmd(&["SET", "while-on", "1"]);
    keys.push((0, b"while-on".to_vec()));
    assert_eq!(raw.cmd(&["CONFIG", "SET", "appendonly", "no"]), "+OK\r\n");
    raw.cmd(&["SET", "while-off", "2"]);
    keys.push((0, b"while-off".to_vec()));
    assert_eq!(raw.cmd(&["CONFIG", "SET", "aof-use-rdb-preamble", "no"]), "+OK\r\n");
    assert_eq!(
        raw.cmd(&["BGREWRITEAOF"]),
        "+Background append only file rewriting started\r\n"
    );
    wait_info(&mut c, "aof_rewrite_in_progress", "0");
    assert_eq!(info_field(&mut c, "aof_last_bgrewrite_status"), "ok");
    assert_eq!(manifest(), "file appendonly.aof.3.base.aof seq 3 type b\n");
    assert_eq!(
        aof_dir_files(&dir),
        ["appendonly.aof.3.base.aof", "appendonly.aof.manifest"]
    );
    check_aof(&dir);
    let before = snapshot_of(&mut c, &keys);
    drop((c, raw));
    drop(s);

    let s = start_in(&dir, AOF);
    let mut c = s.conn();
    assert_eq!(snapshot_of(&mut c, &keys), before);
    drop(s);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn appendonly_yes_ignores_dump_rdb() {
    let dir = tempdir("aof-vs-rdb");
    {
        let s = start_in(&dir, &["--save", ""]);
        let mut raw = s.raw();
        raw.cmd(&["SET", "from-rdb", "1"]);
        assert_eq!(raw.cmd(&["SAVE"]), "+OK\r\n");
    }
    // As Redis: with the AOF on, only the AOF is loaded (none yet: empty).
    let s = start_in(&dir, AOF);
    let mut raw = s.raw();
    assert_eq!(raw.cmd(&["DBSIZE"]), ":0\r\n");
    drop(s);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn aof_directories_move_between_larder_and_redis() {
    if !real_redis::available() {
        return;
    }
    let dir = tempdir("aof-interop");
    let s = start_in(&dir, AOF);
    let mut c = s.conn();
    let keys = populate(&mut c);
    let mut raw = s.raw();
    assert_eq!(
        raw.cmd(&["BGREWRITEAOF"]),
        "+Background append only file rewriting started\r\n"
    );
    wait_info(&mut c, "aof_rewrite_in_progress", "0");
    raw.cmd(&["SET", "tail", "t"]);
    raw.cmd(&["SET", "ttl", "x", "EX", "500"]);
    let mut all = keys.clone();
    all.push((0, b"tail".to_vec()));
    all.push((0, b"ttl".to_vec()));
    let ours = snapshot_of(&mut c, &all);
    drop((c, raw));
    drop(s);
    // Larder's directory into Redis.
    let redis = real_redis::Redis::start_in(&dir, "dump.rdb", &["--appendonly", "yes"]);
    let mut rc = redis.conn();
    wait_info(&mut rc, "loading", "0");
    assert_eq!(snapshot_of(&mut rc, &all), ours);
    // Redis appends to it and rewrites; back into Larder.
    redis::cmd("SET")
        .arg("from-redis")
        .arg("1")
        .query::<()>(&mut rc)
        .unwrap();
    redis::cmd("BGREWRITEAOF").query::<String>(&mut rc).unwrap();
    wait_info(&mut rc, "aof_rewrite_in_progress", "0");
    std::thread::sleep(Duration::from_millis(200));
    redis::cmd("SET")
        .arg("after-rewrite")
        .arg("2")
        .query::<()>(&mut rc)
        .unwrap();
    let _: () = redis::cmd("SHUTDOWN").query(&mut rc).unwrap_or(());
    drop(rc);
    drop(redis);
    let s = start_in(&dir, AOF);
    let mut c = s.conn();
    assert_eq!(snapshot_of(&mut c, &all), ours);
    let mut raw = s.raw();
    assert_eq!(raw.cmd(&["GET", "from-redis"]), "$1\r\n1\r\n");
    assert_eq!(raw.cmd(&["GET", "after-rewrite"]), "$1\r\n2\r\n");
    drop(s);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn automatic_rewrite_on_growth() {
    let dir = tempdir("aof-auto");
    let mut args = AOF.to_vec();
    args.extend([
        "--auto-aof-rewrite-min-size",
        "4kb",
        "--auto-aof-rewrite-percentage",
        "100",
    ]);
    let s = start_in(&dir, &args);
    let mut c = s.conn();
    let mut raw = s.raw();
    assert_eq!(info_field(&mut c, "aof_rewrites"), "0");
    for i in 0..200 {
        raw.cmd(&["SET", &format!("key:{i}"), "some value to make the file grow"]);
    }
    wait_info(&mut c, "aof_rewrites", "1");
    wait_info(&mut c, "aof_rewrite_in_progress", "0");
    // The new base holds the dataset; the incr starts small again.
    let size: u64 = info_field(&mut c, "aof_current_size").parse().unwrap();
    let base: u64 = info_field(&mut c, "aof_base_size").parse().unwrap();
    assert!(base > 0 && size >= base && size - base < 4096, "{size} {base}");
    drop(s);
    let _ = std::fs::remove_dir_all(&dir);
}
