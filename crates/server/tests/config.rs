#![allow(clippy::unwrap_used)]
//! Configuration files and the command line, against the real binary:
//! Redis's syntax (quoting, include, units, yes/no), its fatal error
//! message, and CONFIG GET/SET/REWRITE round trips.

mod common;
mod real_redis;

use std::io::Read;
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_larder-server");

/// A scratch directory removed on drop.
struct Dir(PathBuf);

impl Dir {
    fn new(tag: &str) -> Dir {
        let p = std::env::temp_dir().join(format!("larder-config-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        Dir(p)
    }
    fn write(&self, name: &str, text: &str) -> PathBuf {
        let p = self.0.join(name);
        std::fs::write(&p, text).unwrap();
        p
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A server started from a config file; killed on drop.
struct Proc {
    child: Child,
    port: u16,
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

use common::free_port;

/// Starts `larder-server <args...>`; the config must set `port`.
fn start(args: &[&str], port: u16) -> Proc {
    let mut child = Command::new(BIN)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if let Ok(probe) = TcpStream::connect(("127.0.0.1", port)) {
            assert!(
                common::served_by(probe, child.id()),
                "another process answers on port {port}"
            );
            return Proc { child, port };
        }
        if let Ok(Some(st)) = child.try_wait() {
            let mut err = String::new();
            child.stderr.take().unwrap().read_to_string(&mut err).unwrap();
            let _ = child.wait();
            panic!("server exited with {st}: {err}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("server did not start");
}

fn run(args: &[&str]) -> Output {
    let mut child = Command::new(BIN)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            return child.wait_with_output().unwrap();
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("larder-server {args:?} did not exit");
}

fn conn(p: &Proc) -> common::RawConn {
    let s = TcpStream::connect(("127.0.0.1", p.port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    common::RawConn { s }
}

fn get(c: &mut common::RawConn, name: &str) -> String {
    let r = c.cmd(&["CONFIG", "GET", name]);
    // *2 $n name $m value
    r.split("\r\n").nth(4).unwrap_or_default().to_string()
}

#[test]
fn file_with_include_units_and_quotes() {
    let dir = Dir::new("include");
    let port = free_port();
    dir.write("extra.conf", "# included\nmaxmemory 2MB\nhz 20\nlfu-log-factor 3\n");
    let main = dir.write(
        "main.conf",
        &format!(
            "# comment line\n\nport {port}\nbind 127.0.0.1\n  include {}  \nproto-max-bulk-len 1gb\nclient-query-buffer-limit 64Mb\nrequirepass \"pa ss\\x21\"\nprotected-mode NO\ntcp-backlog 128\nsupervised no\nalways-show-logo yes\nsave 3600 1\nsave 300 100\nlazyfree-lazy-eviction yes\nlatency-tracking no\nmaxmemory-samples 7\nactiverehashing no\nappendonly no\ndir {}\n",
            dir.0.join("extra.conf").display(),
            dir.0.display()
        ),
    );
    let p = start(&[main.to_str().unwrap()], port);
    let mut c = conn(&p);
    assert_eq!(c.cmd(&["PING"]), "-NOAUTH Authentication required.\r\n");
    assert_eq!(c.cmd(&["AUTH", "pa ss!"]), "+OK\r\n");
    assert_eq!(get(&mut c, "maxmemory"), "2097152");
    assert_eq!(get(&mut c, "hz"), "20");
    assert_eq!(get(&mut c, "proto-max-bulk-len"), "1073741824");
    assert_eq!(get(&mut c, "client-query-buffer-limit"), "67108864");
    assert_eq!(get(&mut c, "protected-mode"), "no");
    assert_eq!(get(&mut c, "tcp-backlog"), "128");
    assert_eq!(get(&mut c, "always-show-logo"), "yes");
    assert_eq!(get(&mut c, "save"), "3600 1 300 100");
    assert_eq!(get(&mut c, "lazyfree-lazy-eviction"), "yes");
    assert_eq!(get(&mut c, "latency-tracking"), "no");
    assert_eq!(get(&mut c, "maxmemory-samples"), "7");
    assert_eq!(get(&mut c, "lfu-log-factor"), "3");
    let info = c.cmd(&["INFO", "server"]);
    assert!(
        info.contains(&format!(
            "config_file:{}\r\n",
            std::fs::canonicalize(&main).unwrap().display()
        )),
        "{info}"
    );
}

#[test]
fn command_line_overrides_file() {
    let dir = Dir::new("cmdline");
    let port = free_port();
    let main = dir.write("main.conf", "port 1\nhz 20\n");
    let port_s = port.to_string();
    let p = start(
        &[
            main.to_str().unwrap(),
            "--port",
            &port_s,
            "--hz",
            "30",
            "--save",
            "",
            "--maxmemory",
            "1kb",
        ],
        port,
    );
    let mut c = conn(&p);
    assert_eq!(get(&mut c, "hz"), "30");
    assert_eq!(get(&mut c, "save"), "");
    assert_eq!(get(&mut c, "maxmemory"), "1024");
}

/// The fatal error Redis prints for a bad line, naming file and line.
fn assert_fatal(out: &Output, file: &str, line: usize, text: &str, why: &str) {
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    let expected = format!(
        "\n*** FATAL CONFIG FILE ERROR (Redis 7.2.4) ***\nReading the configuration file, at line {line}\n>>> '{text}'\n{why}\n(in {file})\n"
    );
    assert_eq!(err, expected);
}

#[test]
fn bad_directives_stop_startup() {
    let dir = Dir::new("bad");
    let f = dir.write("bad.conf", "# ok\nport 0\nbogus yes\n");
    assert_fatal(
        &run(&[f.to_str().unwrap()]),
        f.to_str().unwrap(),
        3,
        "bogus yes",
        "Bad directive or wrong number of arguments",
    );
    let f = dir.write("bad2.conf", "port\n");
    assert_fatal(
        &run(&[f.to_str().unwrap()]),
        f.to_str().unwrap(),
        1,
        "port",
        "wrong number of arguments",
    );
    let f = dir.write("bad3.conf", "\nappendonly maybe\n");
    assert_fatal(
        &run(&[f.to_str().unwrap()]),
        f.to_str().unwrap(),
        2,
        "appendonly maybe",
        "argument must be 'yes' or 'no'",
    );
    let f = dir.write("bad4.conf", "maxmemory \"1\n");
    assert_fatal(
        &run(&[f.to_str().unwrap()]),
        f.to_str().unwrap(),
        1,
        "maxmemory \"1",
        "Unbalanced quotes in configuration line",
    );
    // An error inside an included file names that file.
    let inc = dir.write("inc.conf", "hz 10\nmaxmemory 1x\n");
    let f = dir.write("main.conf", &format!("include {}\n", inc.display()));
    assert_fatal(
        &run(&[f.to_str().unwrap()]),
        inc.to_str().unwrap(),
        2,
        "maxmemory 1x",
        "argument must be a memory value",
    );
    // Features Larder lacks are refused, not ignored.
    for (line, why) in [
        (
            "cluster-enabled yes",
            "cluster-enabled yes is not supported: Larder has no cluster mode yet",
        ),
        (
            "replicaof 127.0.0.1 6379",
            "replicaof is not supported: Larder has no replication yet",
        ),
    ] {
        let f = dir.write("feature.conf", &format!("{line}\n"));
        assert_fatal(&run(&[f.to_str().unwrap()]), f.to_str().unwrap(), 1, line, why);
    }
    // The command line is checked the same way.
    let out = run(&["--port", "0", "--maxmemory", "1x"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(">>> 'maxmemory 1x'\nargument must be a memory value\n(in command line)"),
        "{err}"
    );
    // A missing file.
    let out = run(&["/nonexistent/larder.conf"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.starts_with("Fatal error, can't open config file '/nonexistent/larder.conf'"),
        "{err}"
    );
}

#[test]
fn version_flag() {
    let out = run(&["--version"]);
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("v=") && text.contains("7.2.4"), "{text}");
}

#[test]
fn config_rewrite_round_trip() {
    let dir = Dir::new("rewrite");
    let port = free_port();
    let original =
        format!("# Larder test config\n# keep this comment\nport {port}\n\nhz 15\nmaxmemory 1mb\n# trailing comment\n");
    let main = dir.write("main.conf", &original);
    let p = start(&[main.to_str().unwrap()], port);
    let mut c = conn(&p);
    assert_eq!(
        c.cmd(&[
            "CONFIG",
            "SET",
            "hz",
            "25",
            "maxmemory",
            "3mb",
            "maxmemory-policy",
            "allkeys-lru",
            "requirepass",
            "a b"
        ]),
        "+OK\r\n"
    );
    assert_eq!(c.cmd(&["AUTH", "a b"]), "+OK\r\n");
    assert_eq!(c.cmd(&["CONFIG", "REWRITE"]), "+OK\r\n");
    let text = std::fs::read_to_string(&main).unwrap();
    // The users come last, as Redis writes them: the default user with
    // requirepass's password (SHA-256 of "a b").
    let (settings, users) = text.split_at(text.find("user ").unwrap());
    assert_eq!(
        settings,
        format!(
            "# Larder test config\n# keep this comment\nport {port}\n\nhz 25\nmaxmemory 3145728\n# trailing comment\n# Generated by CONFIG REWRITE\nrequirepass \"a b\"\nmaxmemory-policy allkeys-lru\n"
        )
    );
    assert_eq!(
        users,
        "user default on sanitize-payload #c8687a08aa5d6ed2044328fa6a697ab8e96dc34291e8c2034ae8c38e6fcc6d65 ~* &* +@all\n"
    );
    // Rewriting again changes nothing.
    assert_eq!(c.cmd(&["CONFIG", "REWRITE"]), "+OK\r\n");
    assert_eq!(std::fs::read_to_string(&main).unwrap(), text);
    drop(c);
    drop(p);
    // The rewritten file starts a server with the same settings.
    let p = start(&[main.to_str().unwrap()], port);
    let mut c = conn(&p);
    assert_eq!(c.cmd(&["AUTH", "a b"]), "+OK\r\n");
    assert_eq!(get(&mut c, "hz"), "25");
    assert_eq!(get(&mut c, "maxmemory"), "3145728");
    assert_eq!(get(&mut c, "maxmemory-policy"), "allkeys-lru");
}

#[test]
fn rewrite_keeps_includes_and_replaces_repeated_directives() {
    let dir = Dir::new("rewrite2");
    let port = free_port();
    let inc = dir.write("inc.conf", "timeout 5\n");
    let main = dir.write(
        "main.conf",
        &format!("port {port}\ninclude {}\nsave 3600 1\nsave 300 100\n", inc.display()),
    );
    let p = start(&[main.to_str().unwrap()], port);
    let mut c = conn(&p);
    assert_eq!(get(&mut c, "timeout"), "5");
    assert_eq!(c.cmd(&["CONFIG", "SET", "save", ""]), "+OK\r\n");
    assert_eq!(c.cmd(&["CONFIG", "REWRITE"]), "+OK\r\n");
    let text = std::fs::read_to_string(&main).unwrap();
    assert_eq!(
        text,
        format!(
            "port {port}\ninclude {}\nsave \"\"\n# Generated by CONFIG REWRITE\ntimeout 5\nuser default on nopass sanitize-payload ~* &* +@all\n",
            inc.display()
        )
    );
}

/// Debian's stock /etc/redis/redis.conf (installed with redis-server)
/// starts Larder as Debian's unit starts Redis (`--daemonize no`), but for
/// where it listens and writes; and
/// CONFIG GET * names every parameter Redis 7.0 has.
#[test]
fn stock_redis_conf_starts() {
    let Ok(stock) = std::fs::read_to_string("/etc/redis/redis.conf") else {
        return;
    };
    let dir = Dir::new("stock");
    let port = free_port();
    let text: String = stock
        .lines()
        .map(|l| match l.split_whitespace().next() {
            Some("port") => format!("port {port}"),
            Some("logfile") => "logfile \"\"".to_string(),
            Some("pidfile") => format!("pidfile {}", dir.0.join("l.pid").display()),
            Some("dir") => format!("dir {}", dir.0.display()),
            _ => l.to_string(),
        })
        .collect::<Vec<_>>()
        .join("\n");
    let conf = dir.write("redis.conf", &text);
    // As Debian's systemd unit runs it (the file says daemonize yes).
    let p = start(&[conf.to_str().unwrap(), "--daemonize", "no"], port);
    let mut c = conn(&p);
    assert_eq!(c.cmd(&["PING"]), "+PONG\r\n");
    assert_eq!(get(&mut c, "oom-score-adj-values"), "0 200 800");
    let names = |reply: String| -> std::collections::BTreeSet<String> {
        let lines: Vec<&str> = reply.split("\r\n").collect();
        // *N, then $len / name / $len / value pairs: names at 2, 6, 10...
        lines.iter().skip(2).step_by(4).map(|s| s.to_string()).collect()
    };
    let ours = names(c.cmd(&["CONFIG", "GET", "*"]));
    assert!(ours.contains("maxmemory-policy") && ours.contains("cluster-node-timeout"));
    if !real_redis::available() {
        return;
    }
    let r = real_redis::Redis::start(&[]);
    let theirs = names(r.raw().cmd(&["CONFIG", "GET", "*"]));
    let missing: Vec<&String> = theirs.difference(&ours).collect();
    assert!(missing.is_empty(), "CONFIG GET * lacks {missing:?}");
}

/// `oom-score-adj` moves the process's /proc oom_score_adj as Redis's
/// setOOMScoreAdj does (checked side by side with Redis 7.0: 100, 150,
/// 150, then back to the first value).
#[test]
fn oom_score_adj_is_applied() {
    let port = free_port();
    let p = start(
        &[
            "--port",
            &port.to_string(),
            "--save",
            "",
            "--oom-score-adj",
            "absolute",
            "--oom-score-adj-values",
            "100 200 800",
        ],
        port,
    );
    let path = format!("/proc/{}/oom_score_adj", p.child.id());
    let score = || std::fs::read_to_string(&path).unwrap().trim().parse::<i64>().unwrap();
    // The server starts with this process's score (its parent's).
    let base: i64 = std::fs::read_to_string("/proc/self/oom_score_adj")
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert_eq!(score(), 100);
    let mut c = conn(&p);
    assert_eq!(
        c.cmd(&["CONFIG", "SET", "oom-score-adj-values", "150 200 800"]),
        "+OK\r\n"
    );
    assert_eq!(score(), 150);
    assert_eq!(c.cmd(&["CONFIG", "SET", "oom-score-adj", "relative"]), "+OK\r\n");
    assert_eq!(score(), (base + 150).clamp(-1000, 1000));
    assert_eq!(c.cmd(&["CONFIG", "SET", "oom-score-adj", "no"]), "+OK\r\n");
    assert_eq!(score(), base);
}

/// `supervised systemd` (Debian's unit runs Redis with it, Type=notify)
/// sends READY=1 to $NOTIFY_SOCKET once the server accepts connections,
/// and STOPPING=1 when it shuts down.
#[test]
fn supervised_systemd_notifies() {
    let dir = Dir::new("notify");
    let path = dir.0.join("notify.sock");
    let sock = std::os::unix::net::UnixDatagram::bind(&path).unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let port = free_port();
    let mut child = Command::new(BIN)
        .args(["--port", &port.to_string(), "--save", "", "--supervised", "systemd"])
        .env("NOTIFY_SOCKET", &path)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 256];
    while !got.iter().any(|m: &String| m.contains("READY=1")) {
        let n = sock.recv(&mut buf).expect("no READY=1 from the server");
        got.push(String::from_utf8_lossy(&buf[..n]).into_owned());
    }
    assert_eq!(got, ["STATUS=Ready to accept connections\n", "READY=1\n"]);
    // Ready means ready: it answers.
    let mut c = common::RawConn {
        s: TcpStream::connect(("127.0.0.1", port)).unwrap(),
    };
    assert_eq!(c.cmd(&["PING"]), "+PONG\r\n");
    c.send(b"SHUTDOWN NOSAVE\r\n");
    let n = sock.recv(&mut buf).expect("no STOPPING=1");
    assert_eq!(String::from_utf8_lossy(&buf[..n]), "STOPPING=1\n");
    let _ = child.wait();
}

/// `daemonize yes`: the launcher exits at once, the server runs on in its
/// own session and writes its pid file, and removes it at SHUTDOWN.
#[test]
fn daemonize_and_pidfile() {
    let dir = Dir::new("daemon");
    let pidfile = dir.0.join("l.pid");
    let port = free_port();
    let st = Command::new(BIN)
        .args(["--port", &port.to_string(), "--save", "", "--daemonize", "yes"])
        .args(["--pidfile", pidfile.to_str().unwrap()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(st.success());
    let deadline = Instant::now() + Duration::from_secs(10);
    let s = loop {
        if let Ok(s) = TcpStream::connect(("127.0.0.1", port)) {
            break s;
        }
        assert!(Instant::now() < deadline, "the daemon does not answer");
        std::thread::sleep(Duration::from_millis(20));
    };
    let pid: u32 = std::fs::read_to_string(&pidfile).unwrap().trim().parse().unwrap();
    assert!(common::served_by(s, pid), "port {port} is not served by pid {pid}");
    let mut c = common::RawConn {
        s: TcpStream::connect(("127.0.0.1", port)).unwrap(),
    };
    assert_eq!(c.cmd(&["PING"]), "+PONG\r\n");
    c.send(b"SHUTDOWN NOSAVE\r\n");
    let deadline = Instant::now() + Duration::from_secs(10);
    while pidfile.exists() {
        assert!(Instant::now() < deadline, "the pid file stays after SHUTDOWN");
        std::thread::sleep(Duration::from_millis(20));
    }
}
