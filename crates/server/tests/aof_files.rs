#![allow(clippy::unwrap_used)]
//! AOF files both ways with the real Redis 7.0: the multi-part AOF a
//! redis-server writes (before and after BGREWRITEAOF, RDB and AOF bases,
//! timestamp annotations) reads with Larder's manifest and loader; files
//! Larder's writer and manifest produce pass `redis-check-aof` and load
//! into a redis-server; a truncated tail is cut where Redis cuts it.
//! Skipped when redis-server is not installed.

mod common;
mod real_redis;

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use larder_engine::rdb::{self, Aux, FileWriter, SaveOptions};
use larder_engine::{Limits, Value};
use larder_server::aof::writer::encode_command;
use larder_server::aof::{
    load_files, Aof, AofConfig, FileStatus, FsyncPolicy, LoadError, LoadOptions, LoadSink, LoadStatus, Manifest,
    WriterOptions,
};
use real_redis::Redis;

type Argv = Vec<Vec<u8>>;

#[derive(Default)]
struct Sink {
    /// (db, key) -> value, from RDB bases.
    rdb: BTreeMap<(u64, Vec<u8>), Value>,
    rdb_files: Vec<String>,
    cmds: Vec<(String, Argv)>,
}

impl LoadSink for Sink {
    type Error = String;
    fn rdb(&mut self, name: &str, r: &mut dyn Read) -> Result<(), String> {
        self.rdb_files.push(name.to_string());
        rdb::read_file(r, &Limits::default(), |e| {
            self.rdb.insert((e.db, e.key), e.value);
            Ok(())
        })
        .map(|_| ())
        .map_err(|e| format!("{e:?}"))
    }
    fn command(&mut self, name: &str, cmd: larder_server::aof::load::Command) -> Result<(), String> {
        self.cmds.push((name.to_string(), cmd.argv));
        Ok(())
    }
}

impl Sink {
    /// Commands read from files whose name contains `part`, upper-cased
    /// command names, as strings.
    fn commands_in(&self, part: &str) -> Vec<Vec<String>> {
        self.cmds
            .iter()
            .filter(|(f, _)| f.contains(part))
            .map(|(_, a)| {
                a.iter()
                    .enumerate()
                    .map(|(i, x)| {
                        let s = String::from_utf8_lossy(x).into_owned();
                        if i == 0 {
                            s.to_ascii_uppercase()
                        } else {
                            s
                        }
                    })
                    .collect()
            })
            .collect()
    }
}

fn v(a: &[&str]) -> Vec<String> {
    a.iter().map(|s| s.to_string()).collect()
}

fn tmpdir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!(
        "larder-aof-{tag}-{}-{}",
        std::process::id(),
        common::free_port()
    ));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn info_field(c: &mut redis::Connection, field: &str) -> String {
    let info: String = redis::cmd("INFO").arg("persistence").query(c).unwrap();
    info.lines()
        .find_map(|l| l.strip_prefix(&format!("{field}:")).map(str::to_string))
        .unwrap_or_default()
}

/// A connection once the server has loaded its files (INFO answers
/// during loading; other commands get -LOADING).
fn loaded_conn(r: &Redis) -> redis::Connection {
    let mut c = r.conn();
    let t = Instant::now();
    while info_field(&mut c, "loading") != "0" {
        assert!(t.elapsed() < Duration::from_secs(20), "still loading");
        std::thread::sleep(Duration::from_millis(10));
    }
    c
}

fn wait_rewrite(c: &mut redis::Connection) {
    let t = Instant::now();
    loop {
        if info_field(c, "aof_rewrite_in_progress") == "0" && info_field(c, "aof_rewrite_scheduled") == "0" {
            break;
        }
        assert!(t.elapsed() < Duration::from_secs(20), "rewrite did not finish");
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(info_field(c, "aof_last_bgrewrite_status"), "ok");
}

fn q(c: &mut redis::Connection, args: &[&[u8]]) -> redis::Value {
    let mut cmd = redis::cmd(std::str::from_utf8(args[0]).unwrap());
    for a in &args[1..] {
        cmd.arg(*a);
    }
    cmd.query(c).unwrap()
}

fn load(
    dir: &Path,
    opts: LoadOptions,
) -> (
    Manifest,
    Result<larder_server::aof::LoadSummary, LoadError<String>>,
    Sink,
) {
    let m = Manifest::load(dir, "appendonly.aof").unwrap();
    let mut s = Sink::default();
    let r = load_files(dir, &m, opts, &mut s);
    (m, r, s)
}

/// Redis 7.0 writes the files; Larder reads them.
#[test]
fn reads_what_redis_writes() {
    if !real_redis::available() {
        return;
    }
    for (preamble, timestamps) in [("yes", "yes"), ("no", "no")] {
        let dir = tmpdir("redis");
        let redis = Redis::start_in(
            &dir,
            "dump.rdb",
            &[
                "--appendonly",
                "yes",
                "--appendfsync",
                "always",
                "--aof-use-rdb-preamble",
                preamble,
                "--aof-timestamp-enabled",
                timestamps,
            ],
        );
        let mut c = loaded_conn(&redis);
        let aofdir = dir.join("appendonlydir");
        // Fresh start: an empty base and incr 1.
        let m = Manifest::load(&aofdir, "appendonly.aof").unwrap();
        let ext = if preamble == "yes" { "rdb" } else { "aof" };
        assert_eq!(
            m.to_text(),
            format!("file appendonly.aof.1.base.{ext} seq 1 type b\nfile appendonly.aof.1.incr.aof seq 1 type i\n")
        );

        q(&mut c, &[b"SET", b"a", b"1"]);
        q(&mut c, &[b"RPUSH", b"l", b"x", b"y", b"z"]);
        q(&mut c, &[b"SET", b"bin\r\n\0key", b"\xff\x00\r\n*1\r\n"]);
        q(&mut c, &[b"SELECT", b"3"]);
        q(&mut c, &[b"HSET", b"h", b"f", b"v"]);
        q(&mut c, &[b"SELECT", b"0"]);
        q(&mut c, &[b"EXPIRE", b"a", b"1000"]);
        let _: () = redis::pipe()
            .atomic()
            .cmd("INCR")
            .arg("n")
            .ignore()
            .cmd("INCR")
            .arg("n")
            .ignore()
            .query(&mut c)
            .unwrap();

        // Before any rewrite everything is in incr 1.
        let (_, r, s) = load(&aofdir, LoadOptions::default());
        assert_eq!(r.unwrap().status, LoadStatus::Ok);
        let got = s.commands_in(".1.incr.");
        let want = [
            v(&["SELECT", "0"]),
            v(&["SET", "a", "1"]),
            v(&["RPUSH", "l", "x", "y", "z"]),
            vec![
                "SET".into(),
                "bin\r\n\0key".into(),
                String::from_utf8_lossy(b"\xff\x00\r\n*1\r\n").into_owned(),
            ],
            v(&["SELECT", "3"]),
            v(&["HSET", "h", "f", "v"]),
            v(&["SELECT", "0"]),
        ];
        assert_eq!(&got[..want.len()], &want[..]);
        assert_eq!(got[want.len()][0], "PEXPIREAT");
        assert_eq!(
            &got[want.len() + 1..],
            &[v(&["MULTI"]), v(&["INCR", "n"]), v(&["INCR", "n"]), v(&["EXEC"])]
        );
        if timestamps == "yes" {
            let raw = std::fs::read(aofdir.join("appendonly.aof.1.incr.aof")).unwrap();
            assert!(raw.starts_with(b"#TS:"), "annotations expected");
        }

        q(&mut c, &[b"BGREWRITEAOF"]);
        wait_rewrite(&mut c);
        q(&mut c, &[b"SET", b"b", b"2"]);
        q(&mut c, &[b"DEL", b"l"]);

        let text = std::fs::read_to_string(aofdir.join("appendonly.aof.manifest")).unwrap();
        let (m, r, s) = load(&aofdir, LoadOptions::default());
        assert_eq!(m.to_text(), text);
        assert_eq!(
            text,
            format!("file appendonly.aof.2.base.{ext} seq 2 type b\nfile appendonly.aof.2.incr.aof seq 2 type i\n")
        );
        let sum = r.unwrap();
        assert_eq!(sum.status, LoadStatus::Ok);
        assert_eq!(sum.total_size.to_string(), info_field(&mut c, "aof_current_size"));
        assert_eq!(sum.base_size.to_string(), info_field(&mut c, "aof_base_size"));
        assert_eq!(
            s.commands_in(".2.incr."),
            vec![v(&["SELECT", "0"]), v(&["SET", "b", "2"]), v(&["DEL", "l"])]
        );
        if preamble == "yes" {
            assert_eq!(s.rdb_files, vec!["appendonly.aof.2.base.rdb".to_string()]);
            let keys: Vec<(u64, Vec<u8>)> = s.rdb.keys().cloned().collect();
            assert_eq!(
                keys,
                vec![
                    (0, b"a".to_vec()),
                    (0, b"bin\r\n\0key".to_vec()),
                    (0, b"l".to_vec()),
                    (0, b"n".to_vec()),
                    (3, b"h".to_vec())
                ]
            );
            assert!(s.commands_in(".base.").is_empty());
        } else {
            assert!(s.rdb_files.is_empty());
            let base = s.commands_in(".2.base.");
            // rewriteAppendOnlyFileRio: per db a SELECT, then per key.
            for want in [
                v(&["SELECT", "0"]),
                v(&["SET", "a", "1"]),
                v(&["RPUSH", "l", "x", "y", "z"]),
                v(&["SET", "n", "2"]),
                v(&["SELECT", "3"]),
                v(&["HMSET", "h", "f", "v"]),
            ] {
                assert!(base.contains(&want), "{want:?} not in {base:?}");
            }
            assert!(base.iter().any(|c| c[0] == "PEXPIREAT" && c[1] == "a"));
        }
        drop(redis);
        let _ = std::fs::remove_dir_all(&dir);
    }
}

/// A cut at every byte of Redis's last incr file: Larder reports the same
/// valid prefix Redis keeps with aof-load-truncated yes.
#[test]
fn truncated_tail_like_redis() {
    if !real_redis::available() {
        return;
    }
    let dir = tmpdir("trunc");
    let redis = Redis::start_in(&dir, "dump.rdb", &["--appendonly", "yes", "--appendfsync", "always"]);
    let mut c = loaded_conn(&redis);
    q(&mut c, &[b"SET", b"k1", b"v1"]);
    q(&mut c, &[b"SET", b"k2", b"v2"]);
    drop(redis);
    let aofdir = dir.join("appendonlydir");
    let incr = aofdir.join("appendonly.aof.1.incr.aof");
    let full = std::fs::read(&incr).unwrap();
    // A partial third command.
    let tail = b"*3\r\n$3\r\nSET\r\n$2\r\nk3\r\n$2\r\nv";
    let mut data = full.clone();
    data.extend_from_slice(tail);

    // aof-load-truncated no: an error naming the last good offset.
    std::fs::write(&incr, &data).unwrap();
    let (_, r, _) = load(&aofdir, LoadOptions { load_truncated: false });
    match r {
        Err(LoadError::UnexpectedEof { valid_up_to, .. }) => assert_eq!(valid_up_to, full.len() as u64),
        other => panic!("expected UnexpectedEof, got {other:?}"),
    }
    assert_eq!(std::fs::read(&incr).unwrap(), data);

    // Redis itself, aof-load-truncated yes: cuts the same bytes.
    let redis = Redis::start_in(
        &dir,
        "dump.rdb",
        &["--appendonly", "yes", "--aof-load-truncated", "yes"],
    );
    let mut c = loaded_conn(&redis);
    let n: i64 = redis::cmd("DBSIZE").query(&mut c).unwrap();
    assert_eq!(n, 2);
    drop(redis);
    assert_eq!(std::fs::read(&incr).unwrap(), full);

    // Larder, aof-load-truncated yes: the same cut.
    std::fs::write(&incr, &data).unwrap();
    let (_, r, s) = load(&aofdir, LoadOptions::default());
    assert_eq!(r.unwrap().status, LoadStatus::Truncated);
    assert_eq!(std::fs::read(&incr).unwrap(), full);
    assert_eq!(
        s.commands_in(".incr."),
        vec![v(&["SELECT", "0"]), v(&["SET", "k1", "v1"]), v(&["SET", "k2", "v2"])]
    );

    // A format error in the middle is not a truncation.
    let mut bad = full.clone();
    bad.extend_from_slice(b"+OK\r\n");
    bad.extend_from_slice(&full);
    std::fs::write(&incr, &bad).unwrap();
    let (_, r, _) = load(&aofdir, LoadOptions::default());
    match r {
        Err(e @ LoadError::Format { .. }) => {
            assert!(e.to_string().starts_with(
                "Bad file format reading the append only file appendonly.aof.1.incr.aof: make a backup of your AOF file"
            ));
            if let LoadError::Format { offset, .. } = e {
                assert_eq!(offset, full.len() as u64);
            }
        }
        other => panic!("expected a format error, got {other:?}"),
    }
    let _ = std::fs::remove_dir_all(&dir);
}

fn check_aof(manifest: &Path) {
    let out = Command::new("redis-check-aof").arg(manifest).output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "redis-check-aof failed: {text}");
    assert!(
        text.contains("All AOF files and manifest are valid"),
        "redis-check-aof: {text}"
    );
}

fn rdb_base(path: &Path, keys: &[(u64, &str, &str)]) -> std::io::Result<()> {
    let f = std::fs::File::create(path)?;
    let mut w = FileWriter::new(std::io::BufWriter::new(f), SaveOptions::default())?;
    w.aux_fields(&Aux {
        redis_ver: "7.0.15".into(),
        ctime_secs: 1_700_000_000,
        used_mem: 1_000_000,
        aof_base: true,
    })?;
    let mut dbs: BTreeMap<u64, Vec<(&str, &str)>> = BTreeMap::new();
    for (db, k, val) in keys {
        dbs.entry(*db).or_default().push((k, val));
    }
    for (db, kv) in dbs {
        w.select_db(db)?;
        w.resize_db(kv.len() as u64, 0)?;
        for (k, val) in kv {
            w.entry(k.as_bytes(), &Value::from_bytes(val.as_bytes()), None, None, None)?;
        }
    }
    w.finish()?.into_inner().map_err(|e| e.into_error())?.sync_all()
}

fn aof_base(path: &Path, cmds: &[&[&str]]) -> std::io::Result<()> {
    let mut b = Vec::new();
    for c in cmds {
        encode_command(&mut b, c);
    }
    std::fs::write(path, b)
}

fn get(c: &mut redis::Connection, db: u64, k: &[u8]) -> Option<Vec<u8>> {
    let _: () = redis::cmd("SELECT").arg(db).query(c).unwrap();
    redis::cmd("GET").arg(k).query(c).unwrap()
}

/// Larder writes the files (both base formats, a rewrite in the middle);
/// redis-check-aof accepts them and redis-server loads them.
#[test]
fn redis_loads_what_larder_writes() {
    if !real_redis::available() {
        return;
    }
    for preamble in [false, true] {
        let dir = tmpdir("larder");
        let aofdir = dir.join("appendonlydir");
        let cfg = AofConfig {
            dir: aofdir.clone(),
            aof_filename: "appendonly.aof".into(),
            use_rdb_preamble: preamble,
            disable_auto_gc: false,
            writer: WriterOptions {
                fsync: FsyncPolicy::Always,
                timestamps: true,
            },
        };
        let (m, r, _) = load(&aofdir, LoadOptions::default());
        let aof = Aof::open(cfg, m, &r.unwrap(), |p| {
            if preamble {
                rdb_base(p, &[(0, "first", "base")])
            } else {
                aof_base(p, &[&["SELECT", "0"], &["SET", "first", "base"]])
            }
        })
        .unwrap();
        let w = aof.writer();
        w.append(Some(0), &["SET", "a", "1"]);
        w.append(Some(2), &[b"SET" as &[u8], b"bin\r\n\0", b"\xff\r\n$3\r\n"]);
        let multi: [&[u8]; 1] = [b"MULTI"];
        let incr: [&[u8]; 2] = [b"INCR", b"n"];
        let exec: [&[u8]; 1] = [b"EXEC"];
        w.append_many([
            (None, &multi[..]),
            (Some(0), &incr[..]),
            (Some(0), &incr[..]),
            (None, &exec[..]),
        ]);
        let off = w.append(Some(0), &["RPUSH", "l", "x", "y"]);
        w.wait_durable(off).unwrap();
        check_aof(&aofdir.join("appendonly.aof.manifest"));

        // A rewrite: the new base holds the state so far.
        let tmp = aof.begin_rewrite().unwrap();
        let off = w.append(Some(0), &["SET", "after", "rewrite"]);
        w.wait_durable(off).unwrap();
        if preamble {
            rdb_base(
                &tmp,
                &[
                    (0, "first", "base"),
                    (0, "a", "1"),
                    (0, "n", "2"),
                    (2, "bin\r\n\0", "\u{7f}"),
                ],
            )
            .unwrap();
        } else {
            aof_base(
                &tmp,
                &[
                    &["SELECT", "0"],
                    &["SET", "first", "base"],
                    &["SET", "a", "1"],
                    &["SET", "n", "2"],
                    &["RPUSH", "l", "x", "y"],
                    &["SELECT", "2"],
                    &["SET", "bin\r\n\0", "\u{7f}"],
                ],
            )
            .unwrap();
        }
        aof.finish_rewrite(&tmp).unwrap();
        let off = w.append(Some(0), &["SET", "last", "1"]);
        w.wait_durable(off).unwrap();
        aof.shutdown().unwrap();
        let ext = if preamble { "rdb" } else { "aof" };
        assert_eq!(
            std::fs::read_to_string(aofdir.join("appendonly.aof.manifest")).unwrap(),
            format!("file appendonly.aof.2.base.{ext} seq 2 type b\nfile appendonly.aof.2.incr.aof seq 2 type i\n")
        );
        check_aof(&aofdir.join("appendonly.aof.manifest"));

        let redis = Redis::start_in(
            &dir,
            "dump.rdb",
            &[
                "--appendonly",
                "yes",
                "--aof-use-rdb-preamble",
                if preamble { "yes" } else { "no" },
            ],
        );
        let mut c = loaded_conn(&redis);
        assert_eq!(get(&mut c, 0, b"first"), Some(b"base".to_vec()));
        assert_eq!(get(&mut c, 0, b"a"), Some(b"1".to_vec()));
        assert_eq!(get(&mut c, 0, b"n"), Some(b"2".to_vec()));
        assert_eq!(get(&mut c, 0, b"after"), Some(b"rewrite".to_vec()));
        assert_eq!(get(&mut c, 0, b"last"), Some(b"1".to_vec()));
        assert_eq!(get(&mut c, 2, b"bin\r\n\0"), Some(b"\x7f".to_vec()));
        if !preamble {
            let _: () = redis::cmd("SELECT").arg(0).query(&mut c).unwrap();
            let l: Vec<String> = redis::cmd("LRANGE").arg("l").arg(0).arg(-1).query(&mut c).unwrap();
            assert_eq!(l, ["x", "y"]);
        }
        let _: () = redis::cmd("SELECT").arg(0).query(&mut c).unwrap();
        let n: i64 = redis::cmd("DBSIZE").query(&mut c).unwrap();
        assert_eq!(n, if preamble { 5 } else { 6 });
        drop(redis);

        // Before the rewrite, the pre-rewrite files loaded the same way
        // (checked above by redis-check-aof); after Redis ran on them, its
        // own manifest is still one Larder reads.
        let (m, r, _) = load(&aofdir, LoadOptions::default());
        assert_eq!(r.unwrap().status, LoadStatus::Ok);
        assert_eq!(m.base.unwrap().file_seq, 2);
        let _ = std::fs::remove_dir_all(&dir);
    }
}

/// The `FileStatus` of a single file is what the loader reports for it.
#[test]
fn empty_incr_is_ok() {
    let dir = tmpdir("empty");
    std::fs::write(dir.join("x.aof"), b"").unwrap();
    let mut s = Sink::default();
    let st = larder_server::aof::load_single_file(&dir, "x.aof", LoadOptions::default(), &mut s).unwrap();
    assert_eq!(st, FileStatus::Empty);
    let _ = std::fs::remove_dir_all(&dir);
}

/// AOF turned on at run time over an existing AOF: the temp incr becomes
/// incr 2 when the first rewrite completes; Redis loads the result.
#[test]
fn redis_loads_after_runtime_enable() {
    if !real_redis::available() {
        return;
    }
    let dir = tmpdir("enable");
    let aofdir = dir.join("appendonlydir");
    let cfg = AofConfig {
        dir: aofdir.clone(),
        aof_filename: "appendonly.aof".into(),
        use_rdb_preamble: true,
        disable_auto_gc: false,
        writer: WriterOptions {
            fsync: FsyncPolicy::EverySec,
            timestamps: false,
        },
    };
    let (m, r, _) = load(&aofdir, LoadOptions::default());
    let aof = Aof::open(cfg.clone(), m, &r.unwrap(), |p| rdb_base(p, &[])).unwrap();
    aof.writer().append(Some(0), &["SET", "stale", "1"]);
    aof.shutdown().unwrap();

    let m = Manifest::load(&aofdir, "appendonly.aof").unwrap();
    let (aof, tmp) = Aof::enable(cfg, m).unwrap();
    aof.writer().append(Some(1), &["SET", "during", "1"]);
    rdb_base(&tmp, &[(0, "stale", "1"), (0, "snap", "1")]).unwrap();
    aof.finish_rewrite(&tmp).unwrap();
    aof.writer().append(Some(0), &["SET", "after", "1"]);
    aof.shutdown().unwrap();
    check_aof(&aofdir.join("appendonly.aof.manifest"));
    assert_eq!(
        std::fs::read_to_string(aofdir.join("appendonly.aof.manifest")).unwrap(),
        "file appendonly.aof.2.base.rdb seq 2 type b\nfile appendonly.aof.2.incr.aof seq 2 type i\n"
    );

    let redis = Redis::start_in(&dir, "dump.rdb", &["--appendonly", "yes"]);
    let mut c = loaded_conn(&redis);
    assert_eq!(get(&mut c, 0, b"stale"), Some(b"1".to_vec()));
    assert_eq!(get(&mut c, 0, b"snap"), Some(b"1".to_vec()));
    assert_eq!(get(&mut c, 1, b"during"), Some(b"1".to_vec()));
    assert_eq!(get(&mut c, 0, b"after"), Some(b"1".to_vec()));
    drop(redis);
    let _ = std::fs::remove_dir_all(&dir);
}

/// With aof-disable-auto-gc yes, two rewrites leave history files; the
/// manifest Larder keeps through the same steps is byte for byte Redis's.
#[test]
fn history_manifest_like_redis() {
    if !real_redis::available() {
        return;
    }
    let dir = tmpdir("gc-redis");
    let redis = Redis::start_in(
        &dir,
        "dump.rdb",
        &["--appendonly", "yes", "--aof-disable-auto-gc", "yes"],
    );
    let mut c = loaded_conn(&redis);
    q(&mut c, &[b"SET", b"a", b"1"]);
    for _ in 0..2 {
        q(&mut c, &[b"BGREWRITEAOF"]);
        wait_rewrite(&mut c);
    }
    let theirs = std::fs::read_to_string(dir.join("appendonlydir/appendonly.aof.manifest")).unwrap();
    drop(redis);

    let ours_dir = tmpdir("gc-larder");
    let cfg = AofConfig {
        dir: ours_dir.clone(),
        aof_filename: "appendonly.aof".into(),
        use_rdb_preamble: true,
        disable_auto_gc: true,
        writer: WriterOptions::default(),
    };
    let (m, r, _) = load(&ours_dir, LoadOptions::default());
    let aof = Aof::open(cfg, m, &r.unwrap(), |p| rdb_base(p, &[])).unwrap();
    aof.writer().append(Some(0), &["SET", "a", "1"]);
    for _ in 0..2 {
        let tmp = aof.begin_rewrite().unwrap();
        rdb_base(&tmp, &[(0, "a", "1")]).unwrap();
        aof.finish_rewrite(&tmp).unwrap();
    }
    aof.shutdown().unwrap();
    let ours = std::fs::read_to_string(ours_dir.join("appendonly.aof.manifest")).unwrap();
    assert_eq!(ours, theirs);
    assert_eq!(
        Manifest::parse(theirs.as_bytes(), "appendonly.aof").unwrap().to_text(),
        theirs
    );
    let _ = std::fs::remove_dir_all(&dir);
    let _ = std::fs::remove_dir_all(&ours_dir);
}

/// A pre-7.0 single `appendonly.aof` (RDB preamble + AOF tail) in `dir`:
/// Larder moves it into the directory and loads it as Redis 7.0 does.
#[test]
fn upgrades_old_single_file_like_redis() {
    if !real_redis::available() {
        return;
    }
    let make = |dir: &Path| {
        let p = dir.join("appendonly.aof");
        rdb_base(&p, &[(0, "pre", "amble"), (1, "other", "db")]).unwrap();
        let mut tail = Vec::new();
        encode_command(&mut tail, &["SELECT", "0"]);
        encode_command(&mut tail, &["SET", "tail", "1"]);
        let mut data = std::fs::read(&p).unwrap();
        data.extend_from_slice(&tail);
        std::fs::write(&p, data).unwrap();
    };
    let ours = tmpdir("upgrade-larder");
    make(&ours);
    let aofdir = ours.join("appendonlydir");
    let mut m = Manifest::load(&aofdir, "appendonly.aof").unwrap();
    assert!(m.upgrade_if_needed(&ours, &aofdir).unwrap());
    let mut s = Sink::default();
    let sum = load_files(&aofdir, &m, LoadOptions::default(), &mut s).unwrap();
    assert_eq!(sum.status, LoadStatus::Ok);
    assert_eq!(s.rdb_files, ["appendonly.aof"]);
    let keys: Vec<(u64, Vec<u8>)> = s.rdb.keys().cloned().collect();
    assert_eq!(keys, [(0, b"pre".to_vec()), (1, b"other".to_vec())]);
    assert_eq!(
        s.commands_in("appendonly.aof"),
        [v(&["SELECT", "0"]), v(&["SET", "tail", "1"])]
    );
    let our_manifest = std::fs::read_to_string(aofdir.join("appendonly.aof.manifest")).unwrap();

    let theirs = tmpdir("upgrade-redis");
    make(&theirs);
    let redis = Redis::start_in(&theirs, "dump.rdb", &["--appendonly", "yes"]);
    let mut c = loaded_conn(&redis);
    assert_eq!(get(&mut c, 0, b"pre"), Some(b"amble".to_vec()));
    assert_eq!(get(&mut c, 1, b"other"), Some(b"db".to_vec()));
    assert_eq!(get(&mut c, 0, b"tail"), Some(b"1".to_vec()));
    drop(redis);
    // Redis then adds incr 1 on start; its base line is ours.
    let their_manifest = std::fs::read_to_string(theirs.join("appendonlydir/appendonly.aof.manifest")).unwrap();
    assert_eq!(our_manifest, "file appendonly.aof seq 1 type b\n");
    assert_eq!(
        their_manifest,
        "file appendonly.aof seq 1 type b\nfile appendonly.aof.1.incr.aof seq 1 type i\n"
    );
    let _ = std::fs::remove_dir_all(&ours);
    let _ = std::fs::remove_dir_all(&theirs);
}
