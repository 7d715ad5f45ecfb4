#![allow(clippy::unwrap_used)]
//! RDB persistence through the real binary: SAVE / BGSAVE / LASTSAVE,
//! loading at start, save points, SHUTDOWN and SIGTERM saves, -MISCONF
//! after a failed background save, -LOADING, and files moving between
//! Larder and a real Redis.

mod common;
mod persist_util;
mod real_redis;

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use common::TestServer;
use larder_engine::Limits;
use persist_util::{info_field, populate, snapshot_of, start_in, tempdir, wait_info};

#[test]
fn save_then_restart_restores_every_type() {
    let dir = tempdir("save");
    let keys;
    let before;
    {
        let s = start_in(&dir, &["--save", ""]);
        let mut c = s.conn();
        let start_lastsave: i64 = redis::cmd("LASTSAVE").query(&mut c).unwrap();
        keys = populate(&mut c);
        before = snapshot_of(&mut c, &keys);
        assert_ne!(info_field(&mut c, "rdb_changes_since_last_save"), "0");
        let r: String = redis::cmd("SAVE").query(&mut c).unwrap();
        assert_eq!(r, "OK");
        assert_eq!(info_field(&mut c, "rdb_changes_since_last_save"), "0");
        assert_eq!(info_field(&mut c, "rdb_saves"), "1");
        let lastsave: i64 = redis::cmd("LASTSAVE").query(&mut c).unwrap();
        assert!(lastsave >= start_lastsave);
        assert!(dir.join("dump.rdb").exists());
        // No temp file left behind.
        let leftovers: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().starts_with("temp-"))
            .collect();
        assert!(leftovers.is_empty());
        // Killed (SIGKILL) without a chance to save again; the harness
        // removes only its own directory, not `dir`.
        drop(c);
        drop(s);
    }
    let s = start_in(&dir, &["--save", ""]);
    let mut c = s.conn();
    assert_eq!(snapshot_of(&mut c, &keys), before);
    assert_eq!(info_field(&mut c, "rdb_last_load_keys_loaded"), keys.len().to_string());
    drop(c);
    drop(s);
    let _ = std::fs::remove_dir_all(&dir);
}

fn read_rdb(path: &Path) -> BTreeMap<(u64, Vec<u8>), Vec<u8>> {
    let f = std::fs::File::open(path).unwrap();
    let mut m = BTreeMap::new();
    larder_engine::rdb::read_file(std::io::BufReader::new(f), &Limits::default(), |e| {
        let mut b = larder_engine::value::itoa_buf::Buf::default();
        let v = e.value.as_bytes(&mut b).map(<[u8]>::to_vec).unwrap_or_default();
        assert!(m.insert((e.db, e.key), v).is_none(), "a key written twice");
        Ok(())
    })
    .unwrap();
    m
}

#[test]
fn bgsave_is_point_in_time_while_clients_write() {
    let dir = tempdir("bgsave");
    let s = start_in(&dir, &["--save", ""]);
    let mut c = s.conn();
    const N: usize = 60_000;
    let mut pipe = redis::pipe();
    for i in 0..N {
        pipe.cmd("SET").arg(format!("k:{i}")).arg("v0").ignore();
    }
    pipe.query::<()>(&mut c).unwrap();
    let r: String = redis::cmd("BGSAVE").query(&mut c).unwrap();
    assert_eq!(r, "Background saving started");
    // Rewrite, delete and add keys while the snapshot is written, from a
    // second connection too.
    let mut c2 = s.conn();
    let mut pipe = redis::pipe();
    for i in (0..N).rev() {
        match i % 3 {
            0 => pipe.cmd("SET").arg(format!("k:{i}")).arg("v1").ignore(),
            1 => pipe.cmd("DEL").arg(format!("k:{i}")).ignore(),
            _ => pipe.cmd("SET").arg(format!("new:{i}")).arg("n").ignore(),
        };
    }
    pipe.query::<()>(&mut c2).unwrap();
    wait_info(&mut c, "rdb_bgsave_in_progress", "0");
    assert_eq!(info_field(&mut c, "rdb_last_bgsave_status"), "ok");
    let saved = read_rdb(&dir.join("dump.rdb"));
    assert_eq!(saved.len(), N);
    for i in 0..N {
        assert_eq!(
            saved.get(&(0, format!("k:{i}").into_bytes())).map(Vec::as_slice),
            Some(&b"v0"[..])
        );
    }
    drop(c);
    drop(c2);
    drop(s);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn bgsave_errors_and_schedule() {
    let s = TestServer::start(&["--save", ""]);
    let mut raw = s.raw();
    assert_eq!(raw.cmd(&["BGSAVE", "NOW"]), "-ERR syntax error\r\n");
    assert_eq!(
        raw.cmd(&["SAVE", "x"]),
        "-ERR wrong number of arguments for 'save' command\r\n"
    );
    // Inside MULTI, BGSAVE is scheduled (EXEC holds every shard).
    assert_eq!(raw.cmd(&["MULTI"]), "+OK\r\n");
    assert_eq!(raw.cmd(&["BGSAVE"]), "+QUEUED\r\n");
    assert_eq!(raw.cmd(&["EXEC"]), "*1\r\n+Background saving scheduled\r\n");
    let mut c = s.conn();
    // The cron starts the scheduled save.
    wait_info(&mut c, "rdb_saves", "1");
    assert_eq!(raw.cmd(&["MULTI"]), "+OK\r\n");
    assert_eq!(raw.cmd(&["SAVE"]), "-ERR Command not allowed inside a transaction\r\n");
    assert_eq!(raw.cmd(&["DISCARD"]), "+OK\r\n");
}

#[test]
fn save_points_start_a_background_save() {
    let s = TestServer::start(&["--save", "1 2"]);
    let mut c = s.conn();
    redis::cmd("SET").arg("a").arg(1).query::<()>(&mut c).unwrap();
    std::thread::sleep(Duration::from_millis(2100));
    // One change is below the threshold of 2.
    assert_eq!(info_field(&mut c, "rdb_saves"), "0");
    redis::cmd("SET").arg("b").arg(2).query::<()>(&mut c).unwrap();
    wait_info(&mut c, "rdb_saves", "1");
    wait_info(&mut c, "rdb_bgsave_in_progress", "0");
    assert_eq!(info_field(&mut c, "rdb_changes_since_last_save"), "0");
    assert!(s.dir.join("dump.rdb").exists());
}

#[test]
fn failed_bgsave_refuses_writes_until_a_save_succeeds() {
    let dir = tempdir("misconf");
    let s = TestServer::start(&["--save", "3600 1", "--enable-protected-configs", "yes"]);
    let mut raw = s.raw();
    let gone = dir.join("gone");
    std::fs::create_dir_all(&gone).unwrap();
    assert_eq!(raw.cmd(&["CONFIG", "SET", "dir", gone.to_str().unwrap()]), "+OK\r\n");
    std::fs::remove_dir_all(&gone).unwrap();
    assert_eq!(raw.cmd(&["SET", "k", "v"]), "+OK\r\n");
    assert_eq!(raw.cmd(&["BGSAVE"]), "+Background saving started\r\n");
    let mut c = s.conn();
    wait_info(&mut c, "rdb_bgsave_in_progress", "0");
    assert_eq!(info_field(&mut c, "rdb_last_bgsave_status"), "err");
    let misconf = "-MISCONF Redis is configured to save RDB snapshots, but it's currently unable to persist to disk. Commands that may modify the data set are disabled, because this instance is configured to report errors during writes if RDB snapshotting fails (stop-writes-on-bgsave-error option). Please check the Redis logs for details about the RDB error.\r\n";
    assert_eq!(raw.cmd(&["SET", "k", "v2"]), misconf);
    assert_eq!(raw.cmd(&["PING"]), misconf);
    assert_eq!(raw.cmd(&["GET", "k"]), "$1\r\nv\r\n");
    assert_eq!(raw.cmd(&["SAVE"]), "-ERR\r\n");
    // Turning the option off lets writes through.
    assert_eq!(
        raw.cmd(&["CONFIG", "SET", "stop-writes-on-bgsave-error", "no"]),
        "+OK\r\n"
    );
    assert_eq!(raw.cmd(&["SET", "k", "v3"]), "+OK\r\n");
    assert_eq!(
        raw.cmd(&["CONFIG", "SET", "stop-writes-on-bgsave-error", "yes"]),
        "+OK\r\n"
    );
    assert_eq!(raw.cmd(&["SET", "k", "v4"]), misconf);
    // A good save clears the condition.
    assert_eq!(raw.cmd(&["CONFIG", "SET", "dir", dir.to_str().unwrap()]), "+OK\r\n");
    assert_eq!(raw.cmd(&["SAVE"]), "+OK\r\n");
    assert_eq!(raw.cmd(&["SET", "k", "v5"]), "+OK\r\n");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn shutdown_and_sigterm_save_when_save_points_are_set() {
    let dir = tempdir("shutdown");
    // SHUTDOWN with save points: saved.
    let mut s = start_in(&dir, &["--save", "3600 1"]);
    let mut raw = s.raw();
    raw.cmd(&["SET", "a", "1"]);
    raw.send(b"*1\r\n$8\r\nSHUTDOWN\r\n");
    assert!(s.wait_exit(10).is_some());
    drop(s);
    assert!(read_rdb(&dir.join("dump.rdb")).contains_key(&(0, b"a".to_vec())));

    // SHUTDOWN NOSAVE: the file stays as it was.
    let mut s = start_in(&dir, &["--save", "3600 1"]);
    let mut raw = s.raw();
    assert_eq!(raw.cmd(&["GET", "a"]), "$1\r\n1\r\n");
    raw.cmd(&["SET", "b", "2"]);
    raw.send(b"*2\r\n$8\r\nSHUTDOWN\r\n$6\r\nNOSAVE\r\n");
    assert!(s.wait_exit(10).is_some());
    drop(s);
    assert!(!read_rdb(&dir.join("dump.rdb")).contains_key(&(0, b"b".to_vec())));

    // SIGTERM: saved.
    let mut s = start_in(&dir, &["--save", "3600 1"]);
    let mut raw = s.raw();
    raw.cmd(&["SET", "c", "3"]);
    let _ = std::process::Command::new("kill")
        .arg("-TERM")
        .arg(s.pid().to_string())
        .status();
    assert!(s.wait_exit(10).is_some());
    drop(s);
    let saved = read_rdb(&dir.join("dump.rdb"));
    assert!(saved.contains_key(&(0, b"c".to_vec())) && saved.contains_key(&(0, b"a".to_vec())));

    // SHUTDOWN SAVE without save points saves too; a failing save keeps
    // the server up unless FORCE.
    let mut s = start_in(&dir, &["--save", "", "--enable-protected-configs", "yes"]);
    let mut raw = s.raw();
    raw.cmd(&["SET", "d", "4"]);
    let gone = dir.join("gone");
    std::fs::create_dir_all(&gone).unwrap();
    raw.cmd(&["CONFIG", "SET", "dir", gone.to_str().unwrap()]);
    std::fs::remove_dir_all(&gone).unwrap();
    assert_eq!(
        raw.cmd(&["SHUTDOWN", "SAVE"]),
        "-ERR Errors trying to SHUTDOWN. Check logs.\r\n"
    );
    assert!(s.alive());
    raw.cmd(&["CONFIG", "SET", "dir", dir.to_str().unwrap()]);
    raw.send(b"*2\r\n$8\r\nSHUTDOWN\r\n$4\r\nSAVE\r\n");
    assert!(s.wait_exit(10).is_some());
    drop(s);
    assert!(read_rdb(&dir.join("dump.rdb")).contains_key(&(0, b"d".to_vec())));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn flushall_with_save_points_saves_the_empty_dataset() {
    let s = TestServer::start(&["--save", "3600 1"]);
    let mut raw = s.raw();
    raw.cmd(&["SET", "a", "1"]);
    assert_eq!(raw.cmd(&["SAVE"]), "+OK\r\n");
    assert_eq!(read_rdb(&s.dir.join("dump.rdb")).len(), 1);
    assert_eq!(raw.cmd(&["FLUSHALL"]), "+OK\r\n");
    assert!(read_rdb(&s.dir.join("dump.rdb")).is_empty());
    let mut c = s.conn();
    assert_eq!(info_field(&mut c, "rdb_changes_since_last_save"), "1");
}

#[test]
fn commands_get_loading_while_the_file_loads() {
    let dir = tempdir("loading");
    {
        let s = start_in(&dir, &["--save", ""]);
        let mut c = s.conn();
        for chunk in 0..20 {
            let mut pipe = redis::pipe();
            for i in 0..20_000 {
                pipe.cmd("SET").arg(format!("key:{chunk}:{i}")).arg(i).ignore();
            }
            pipe.query::<()>(&mut c).unwrap();
        }
        let _: String = redis::cmd("SAVE").query(&mut c).unwrap();
        drop(c);
        drop(s);
    }
    let s = TestServer::start(&["--dir", dir.to_str().unwrap(), "--save", ""]);
    let mut raw = s.raw();
    let first = raw.cmd(&["GET", "key:0:7"]);
    assert!(
        first == "-LOADING Redis is loading the dataset in memory\r\n" || first == "$1\r\n7\r\n",
        "{first}"
    );
    let mut c = s.conn();
    wait_info(&mut c, "loading", "0");
    assert_eq!(raw.cmd(&["GET", "key:19:19999"]), "$5\r\n19999\r\n");
    assert_eq!(raw.cmd(&["DBSIZE"]), ":400000\r\n");
    drop(s);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn files_move_between_larder_and_redis() {
    if !real_redis::available() {
        return;
    }
    // Larder -> redis-check-rdb and redis-server.
    let dir = tempdir("interop");
    let s = start_in(&dir, &["--save", ""]);
    let mut c = s.conn();
    let keys = populate(&mut c);
    let ours = snapshot_of(&mut c, &keys);
    let r: String = redis::cmd("BGSAVE").query(&mut c).unwrap();
    assert_eq!(r, "Background saving started");
    wait_info(&mut c, "rdb_bgsave_in_progress", "0");
    let out = std::process::Command::new("redis-check-rdb")
        .arg(dir.join("dump.rdb"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stdout));
    let redis = real_redis::Redis::start_in(&dir, "dump.rdb", &[]);
    let mut rc = redis.conn();
    assert_eq!(snapshot_of(&mut rc, &keys), ours);

    // Redis -> Larder: Redis saves what it loaded plus one more key.
    redis::cmd("SET")
        .arg("from-redis")
        .arg("yes")
        .query::<()>(&mut rc)
        .unwrap();
    let _: String = redis::cmd("SAVE").query(&mut rc).unwrap();
    drop(rc);
    drop(redis);
    drop(c);
    drop(s);
    let s = start_in(&dir, &["--save", ""]);
    let mut c = s.conn();
    assert_eq!(snapshot_of(&mut c, &keys), ours);
    let v: String = redis::cmd("GET").arg("from-redis").query(&mut c).unwrap();
    assert_eq!(v, "yes");
    drop(c);
    drop(s);
    let _ = std::fs::remove_dir_all(&dir);
}
