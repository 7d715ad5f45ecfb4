//! A real `redis-server` for the tests that compare with it (the
//! differential test, DUMP/RESTORE, RDB files). Without `redis-server` on the PATH
//! such tests are skipped, unless `LARDER_REQUIRE_REDIS=1`.

#![allow(dead_code, clippy::unwrap_used)]

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::common::free_port;

pub struct Redis {
    child: Child,
    pub port: u16,
    pub dir: PathBuf,
    own_dir: bool,
}

/// Whether a `redis-server` can be started; panics if it cannot but
/// `LARDER_REQUIRE_REDIS=1` says it must.
pub fn available() -> bool {
    let ok = Command::new("redis-server")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    if !ok && std::env::var("LARDER_REQUIRE_REDIS").as_deref() == Ok("1") {
        panic!("redis-server is required (LARDER_REQUIRE_REDIS=1) but not found");
    }
    if !ok {
        eprintln!("redis-server not found: skipping");
    }
    ok
}

impl Redis {
    /// A server with no persistence in a fresh temporary directory.
    pub fn start(extra: &[&str]) -> Redis {
        let dir = std::env::temp_dir().join(format!("larder-rdb-redis-{}-{}", std::process::id(), free_port()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut r = Redis::start_in(&dir, "dump.rdb", extra);
        r.own_dir = true;
        r
    }

    /// A server loading `dir/dbfilename` at start, if it exists.
    pub fn start_in(dir: &Path, dbfilename: &str, extra: &[&str]) -> Redis {
        for _ in 0..5 {
            let port = free_port();
            let mut child = Command::new("redis-server")
                .args([
                    "--port",
                    &port.to_string(),
                    "--bind",
                    "127.0.0.1",
                    "--save",
                    "",
                    "--appendonly",
                    "no",
                ])
                .arg("--dir")
                .arg(dir)
                .args(["--dbfilename", dbfilename])
                .args(extra)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("spawn redis-server");
            let deadline = Instant::now() + Duration::from_secs(10);
            while Instant::now() < deadline {
                if let Ok(c) = TcpStream::connect(("127.0.0.1", port)) {
                    if super::common::served_by(c, child.id()) {
                        return Redis {
                            child,
                            port,
                            dir: dir.to_path_buf(),
                            own_dir: false,
                        };
                    }
                    break;
                }
                if let Ok(Some(_)) = child.try_wait() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        panic!("redis-server did not start");
    }

    pub fn conn(&self) -> redis::Connection {
        let c = redis::Client::open(format!("redis://127.0.0.1:{}/", self.port)).unwrap();
        c.get_connection().unwrap()
    }

    pub fn raw(&self) -> super::common::RawConn {
        super::common::RawConn {
            s: TcpStream::connect(("127.0.0.1", self.port)).unwrap(),
        }
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if self.own_dir {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// Sends a binary-safe command on a raw connection; the raw reply.
pub fn bcmd(c: &mut super::common::RawConn, args: &[&[u8]]) -> Vec<u8> {
    let mut req = format!("*{}\r\n", args.len()).into_bytes();
    for a in args {
        req.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
        req.extend_from_slice(a);
        req.extend_from_slice(b"\r\n");
    }
    c.send(&req);
    c.read_replies(1)
}

/// A type-tagged, order-normalised view of a key's contents, read with
/// ordinary commands (so it can be compared between Larder and Redis).
pub fn observe(c: &mut redis::Connection, key: &[u8]) -> String {
    let ty: String = redis::cmd("TYPE").arg(key).query(c).unwrap();
    let body = match ty.as_str() {
        "string" => format!("{:?}", redis::cmd("GET").arg(key).query::<Vec<u8>>(c).unwrap()),
        "list" => format!(
            "{:?}",
            redis::cmd("LRANGE")
                .arg(key)
                .arg(0)
                .arg(-1)
                .query::<Vec<Vec<u8>>>(c)
                .unwrap()
        ),
        "set" => {
            let mut v: Vec<Vec<u8>> = redis::cmd("SMEMBERS").arg(key).query(c).unwrap();
            v.sort();
            format!("{v:?}")
        }
        "hash" => {
            let mut v: Vec<(Vec<u8>, Vec<u8>)> = redis::cmd("HGETALL").arg(key).query(c).unwrap();
            v.sort();
            format!("{v:?}")
        }
        "zset" => {
            let v: Vec<(Vec<u8>, String)> = redis::cmd("ZRANGE")
                .arg(key)
                .arg(0)
                .arg(-1)
                .arg("WITHSCORES")
                .query(c)
                .unwrap();
            let v: Vec<(Vec<u8>, f64)> = v.into_iter().map(|(m, s)| (m, s.parse().unwrap())).collect();
            format!("{v:?}")
        }
        "none" => String::new(),
        t => panic!("unexpected type {t}"),
    };
    format!("{ty}:{body}")
}
