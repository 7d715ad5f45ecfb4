//! Test harness: starts the real `larder-server` binary on a free loopback
//! port and hands out clients (the `redis` crate, or raw RESP bytes).

#![allow(dead_code, clippy::unwrap_used)]

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct TestServer {
    child: Child,
    pub port: u16,
    pub dir: std::path::PathBuf,
}

/// A loopback port that was free a moment ago and that no other test in
/// this process has been given (tests run in parallel threads, and the
/// kernel may hand a just-released port out again).
pub fn free_port() -> u16 {
    static GIVEN: std::sync::Mutex<Vec<u16>> = std::sync::Mutex::new(Vec::new());
    loop {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("no free port");
        let mut given = GIVEN.lock().unwrap_or_else(|e| e.into_inner());
        if !given.contains(&port) {
            given.push(port);
            return port;
        }
    }
}

/// Whether the server answering on `conn` is process `pid` (INFO server's
/// process_id).
pub fn served_by(mut conn: TcpStream, pid: u32) -> bool {
    conn.set_read_timeout(Some(Duration::from_secs(5))).ok();
    if conn.write_all(b"*2\r\n$4\r\nINFO\r\n$6\r\nserver\r\n").is_err() {
        return false;
    }
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    let want = format!("process_id:{pid}\r\n");
    while let Ok(n) = conn.read(&mut buf) {
        if n == 0 {
            break;
        }
        got.extend_from_slice(&buf[..n]);
        let text = String::from_utf8_lossy(&got);
        if text.starts_with('-') && text.contains("\r\n") {
            // NOAUTH (requirepass) or similar: cannot tell, assume ours.
            return true;
        }
        if let Some(at) = text.find("process_id:") {
            if text[at..].contains("\r\n") {
                return text[at..].starts_with(&want);
            }
        }
    }
    false
}

impl TestServer {
    /// Starts a server with default settings plus `args`
    /// (`["--requirepass", "x"]`).
    pub fn start(args: &[&str]) -> TestServer {
        for _ in 0..5 {
            if let Some(s) = Self::try_start(args) {
                return s;
            }
        }
        panic!("server did not start");
    }

    fn try_start(args: &[&str]) -> Option<TestServer> {
        let port = free_port();
        let dir = std::env::temp_dir().join(format!("larder-test-{}-{}", std::process::id(), port));
        std::fs::create_dir_all(&dir).ok()?;
        let child = Command::new(env!("CARGO_BIN_EXE_larder-server"))
            .arg("--port")
            .arg(port.to_string())
            .arg("--bind")
            .arg("127.0.0.1")
            .arg("--dir")
            .arg(&dir)
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn larder-server");
        let mut s = TestServer { child, port, dir };
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(conn) = TcpStream::connect(("127.0.0.1", port)) {
                // The port was free when chosen, but another test's server
                // may have taken it since: make sure this is ours.
                if served_by(conn, s.child.id()) {
                    return Some(s);
                }
                let _ = s.child.kill();
                let _ = s.child.wait();
                return None;
            }
            if let Ok(Some(_)) = s.child.try_wait() {
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = s.child.kill();
        None
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    /// A RESP2 connection through the `redis` crate.
    pub fn conn(&self) -> redis::Connection {
        redis::Client::open(self.url())
            .and_then(|c| c.get_connection())
            .expect("connect")
    }

    /// A RESP3 connection through the `redis` crate.
    pub fn conn3(&self) -> redis::Connection {
        redis::Client::open(format!("{}?protocol=resp3", self.url()))
            .and_then(|c| c.get_connection())
            .expect("connect resp3")
    }

    /// A raw TCP connection for byte-exact protocol tests.
    pub fn raw(&self) -> RawConn {
        let s = TcpStream::connect(("127.0.0.1", self.port)).expect("connect raw");
        s.set_read_timeout(Some(Duration::from_secs(5))).ok();
        RawConn { s }
    }

    /// A raw connection switched to RESP3 with HELLO 3.
    pub fn raw3(&self) -> RawConn {
        let mut r = self.raw();
        let hello = r.cmd(&["HELLO", "3"]);
        assert!(hello.starts_with('%'), "{hello}");
        r
    }

    /// Whether the process is still running.
    pub fn alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Waits up to `secs` for the process to exit; returns its status code.
    pub fn wait_exit(&mut self, secs: u64) -> Option<i32> {
        let deadline = Instant::now() + Duration::from_secs(secs);
        while Instant::now() < deadline {
            if let Ok(Some(st)) = self.child.try_wait() {
                return Some(st.code().unwrap_or(-1));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

pub struct RawConn {
    pub s: TcpStream,
}

impl RawConn {
    pub fn send(&mut self, bytes: &[u8]) {
        self.s.write_all(bytes).expect("write");
    }

    /// Reads until `n` complete top-level replies have arrived (or the
    /// connection closes); returns the bytes.
    pub fn read_replies(&mut self, n: usize) -> Vec<u8> {
        let mut buf = Vec::new();
        let mut chunk = [0u8; 65536];
        loop {
            if count_frames(&buf) >= n {
                return buf;
            }
            match self.s.read(&mut chunk) {
                Ok(0) | Err(_) => return buf,
                Ok(k) => buf.extend_from_slice(&chunk[..k]),
            }
        }
    }

    /// Sends a command as a multibulk and returns the raw reply.
    pub fn cmd(&mut self, args: &[&str]) -> String {
        let mut req = format!("*{}\r\n", args.len());
        for a in args {
            req.push_str(&format!("${}\r\n{}\r\n", a.len(), a));
        }
        self.send(req.as_bytes());
        String::from_utf8_lossy(&self.read_replies(1)).into_owned()
    }

    /// True if the server closed the connection.
    pub fn is_closed(&mut self) -> bool {
        let mut b = [0u8; 1];
        self.s.set_read_timeout(Some(Duration::from_secs(2))).ok();
        matches!(self.s.read(&mut b), Ok(0))
    }
}

/// Counts complete top-level RESP frames at the start of `buf`.
pub fn count_frames(buf: &[u8]) -> usize {
    let mut n = 0;
    let mut off = 0;
    while let Ok(Some((_, used))) = larder_protocol::parse_frame(&buf[off..]) {
        off += used;
        n += 1;
    }
    n
}

/// Expected RESP2 replies, byte for byte.
pub mod resp {
    pub fn bulk(s: &str) -> String {
        format!("${}\r\n{}\r\n", s.len(), s)
    }

    pub fn int(n: i64) -> String {
        format!(":{n}\r\n")
    }

    pub fn arr(items: &[&str]) -> String {
        let mut s = format!("*{}\r\n", items.len());
        for i in items {
            s.push_str(&bulk(i));
        }
        s
    }
}
