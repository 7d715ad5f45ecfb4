//! Starting the server under test and talking to it.

use crate::resp::{read_reply, write_cmd, Reply};
use std::collections::HashMap;
use std::io::{self, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub type Res<T> = Result<T, String>;

/// A server process started by the tool; shut down on drop.
pub struct Spawned {
    child: Child,
    pub addr: String,
}

/// A free loopback port in 20000-29999 (the range helpers use on this
/// machine), tried from a pseudo-random start; bound then released, so a
/// tiny race is accepted.
pub fn free_port() -> Res<u16> {
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let start = ((t as u64) ^ (std::process::id() as u64).wrapping_mul(0x9E37_79B9)) % 10_000;
    for i in 0..10_000 {
        let port = 20_000 + ((start + i) % 10_000) as u16;
        if TcpListener::bind(("127.0.0.1", port)).is_ok() && TcpStream::connect(("127.0.0.1", port)).is_err() {
            return Ok(port);
        }
    }
    Err("no free port in 20000-29999".into())
}

impl Spawned {
    /// Runs `cmd --port P --save "" --appendonly no [extra...]` and waits
    /// until it answers PING.
    pub fn start(cmd: &str, port: u16, extra: &[String]) -> Res<Spawned> {
        let child = Command::new(cmd)
            .args(["--port", &port.to_string(), "--save", "", "--appendonly", "no"])
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| format!("starting {cmd}: {e}"))?;
        let mut s = Spawned {
            child,
            addr: format!("127.0.0.1:{port}"),
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok(Some(st)) = s.child.try_wait() {
                return Err(format!("{cmd} exited at startup: {st}"));
            }
            if let Ok(mut c) = Conn::connect(&s.addr) {
                if matches!(c.cmd(&[b"PING"]), Ok(Reply::Simple(_))) {
                    return Ok(s);
                }
            }
            if Instant::now() > deadline {
                return Err(format!("{cmd} did not answer PING on {}", s.addr));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Spawned {
    fn drop(&mut self) {
        if let Ok(mut c) = Conn::connect(&self.addr) {
            let _ = c.send(&[b"SHUTDOWN", b"NOSAVE"]);
        }
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One client connection.
pub struct Conn {
    pub r: BufReader<TcpStream>,
    pub w: TcpStream,
    buf: Vec<u8>,
}

impl Conn {
    pub fn connect(addr: &str) -> Res<Conn> {
        let s = TcpStream::connect(addr).map_err(|e| format!("connect {addr}: {e}"))?;
        s.set_nodelay(true).map_err(|e| e.to_string())?;
        let w = s.try_clone().map_err(|e| e.to_string())?;
        Ok(Conn {
            r: BufReader::with_capacity(1 << 16, s),
            w,
            buf: Vec::new(),
        })
    }

    /// Writes one command without reading the reply.
    pub fn send(&mut self, args: &[&[u8]]) -> io::Result<()> {
        self.buf.clear();
        write_cmd(&mut self.buf, args);
        self.w.write_all(&self.buf)
    }

    pub fn write_raw(&mut self, data: &[u8]) -> io::Result<()> {
        self.w.write_all(data)
    }

    pub fn read(&mut self) -> io::Result<Reply> {
        read_reply(&mut self.r)
    }

    /// Sends one command and reads its reply.
    pub fn cmd(&mut self, args: &[&[u8]]) -> io::Result<Reply> {
        self.send(args)?;
        self.read()
    }

    /// Sends a command that must succeed (not an error reply).
    pub fn ok(&mut self, args: &[&[u8]]) -> Res<Reply> {
        let show = || {
            args.iter()
                .map(|a| String::from_utf8_lossy(a))
                .collect::<Vec<_>>()
                .join(" ")
        };
        match self.cmd(args) {
            Ok(Reply::Error(e)) => Err(format!("{}: {e}", show())),
            Ok(r) => Ok(r),
            Err(e) => Err(format!("{}: {e}", show())),
        }
    }

    pub fn config_set(&mut self, name: &str, value: &str) -> Res<()> {
        self.ok(&[b"CONFIG", b"SET", name.as_bytes(), value.as_bytes()])
            .map(|_| ())
    }

    /// `INFO section` as field -> value.
    pub fn info(&mut self, section: &str) -> Res<HashMap<String, String>> {
        let r = self.ok(&[b"INFO", section.as_bytes()])?;
        let text = r
            .text()
            .ok_or_else(|| format!("INFO {section}: unexpected reply {r:?}"))?;
        Ok(parse_info(&text))
    }

    /// An integer field of `INFO section`.
    pub fn info_u64(&mut self, section: &str, field: &str) -> Res<u64> {
        let m = self.info(section)?;
        info_field(&m, field)
    }
}

pub fn info_field(m: &HashMap<String, String>, field: &str) -> Res<u64> {
    m.get(field)
        .ok_or_else(|| format!("INFO has no {field}"))?
        .trim()
        .parse()
        .map_err(|_| format!("INFO {field} is not an integer"))
}

pub fn parse_info(text: &str) -> HashMap<String, String> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.to_string(), v.trim().to_string()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn info_parsing() {
        let m = parse_info("# Stats\r\nkeyspace_hits:12\r\nkeyspace_misses:3\r\nx:a:b\r\n\r\n");
        assert_eq!(info_field(&m, "keyspace_hits"), Ok(12));
        assert_eq!(info_field(&m, "keyspace_misses"), Ok(3));
        assert_eq!(m.get("x").map(String::as_str), Some("a:b"));
        assert!(info_field(&m, "x").is_err());
        assert!(info_field(&m, "nope").is_err());
    }
}
