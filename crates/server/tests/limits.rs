#![allow(clippy::unwrap_used)]
//! Robustness and limits: maxclients, idle timeout, requirepass, protocol
//! errors, unauthenticated limits, proto-max-bulk-len,
//! client-query-buffer-limit, bounded memory under hostile or slow
//! clients, inline commands, and graceful shutdown on signals.

mod common;

use std::io::{Read, Write};
use std::time::{Duration, Instant};

use common::{RawConn, TestServer};

/// A `/proc/<pid>/status` figure of the server, in KiB.
fn status_kb(srv: &TestServer, key: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{}/status", srv.pid())).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix(key))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

/// The server's resident set size in KiB.
fn rss_kb(srv: &TestServer) -> u64 {
    status_kb(srv, "VmRSS:")
}

/// The server's virtual memory size in KiB: catches a reservation sized by
/// a declared length even before its pages are touched.
fn vm_kb(srv: &TestServer) -> u64 {
    status_kb(srv, "VmSize:")
}

/// Sends `bytes`, expects exactly `reply` and then the connection closed.
fn expect_error_close(srv: &TestServer, bytes: &[u8], reply: &str) {
    let mut raw = srv.raw();
    raw.send(bytes);
    let out = String::from_utf8(raw.read_replies(1)).unwrap();
    assert_eq!(
        out,
        reply,
        "for {:?}",
        String::from_utf8_lossy(&bytes[..bytes.len().min(40)])
    );
    assert!(raw.is_closed(), "connection must close after a protocol error");
}

#[test]
fn maxclients_refuses_then_closes() {
    let srv = TestServer::start(&["--maxclients", "2"]);
    // The harness's readiness probe may still hold a slot for a moment.
    let _a = connect_when_free(&srv);
    let mut b = connect_when_free(&srv);
    let mut c = srv.raw();
    assert_eq!(
        String::from_utf8(c.read_replies(1)).unwrap(),
        "-ERR max number of clients reached\r\n"
    );
    assert!(c.is_closed());
    // A freed slot can be taken again.
    drop(_a);
    let _d = connect_when_free(&srv);
    assert_eq!(b.cmd(&["PING"]), "+PONG\r\n");
}

/// A connection that got past maxclients (retrying while slots free up).
fn connect_when_free(srv: &TestServer) -> RawConn {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let mut c = srv.raw();
        let r = c.cmd(&["PING"]);
        if r == "+PONG\r\n" {
            return c;
        }
        assert_eq!(r, "-ERR max number of clients reached\r\n");
        assert!(Instant::now() < deadline, "slot never freed");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn idle_timeout_closes_idle_clients_only() {
    let srv = TestServer::start(&["--timeout", "1"]);
    let mut idle = srv.raw();
    let mut busy = srv.raw();
    assert_eq!(idle.cmd(&["PING"]), "+PONG\r\n");
    let start = Instant::now();
    // The busy one talks every 300ms for 2.5s and survives.
    while start.elapsed() < Duration::from_millis(2500) {
        assert_eq!(busy.cmd(&["PING"]), "+PONG\r\n");
        std::thread::sleep(Duration::from_millis(300));
    }
    // The idle one was closed (bounded wait).
    idle.s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut b = [0u8; 1];
    assert!(matches!(idle.s.read(&mut b), Ok(0)), "idle client not closed");
    assert!(start.elapsed() < Duration::from_secs(8));
}

#[test]
fn requirepass_blocks_everything_but_auth_hello_quit() {
    let srv = TestServer::start(&["--requirepass", "pw"]);
    let mut raw = srv.raw();
    for cmd in [
        &["PING"][..],
        &["GET", "k"],
        &["SET", "k", "v"],
        &["SELECT", "1"],
        &["ECHO", "x"],
        &["CLIENT", "ID"],
        &["CLIENT", "LIST"],
        &["DBSIZE"],
    ] {
        assert_eq!(raw.cmd(cmd), "-NOAUTH Authentication required.\r\n", "{cmd:?}");
    }
    // Unknown commands and arity errors come first, as in Redis.
    assert!(raw.cmd(&["NOPE"]).starts_with("-ERR unknown command 'NOPE'"));
    assert_eq!(
        raw.cmd(&["GET"]),
        "-ERR wrong number of arguments for 'get' command\r\n"
    );
    // Inline commands too.
    raw.send(b"PING\r\n");
    assert_eq!(
        String::from_utf8(raw.read_replies(1)).unwrap(),
        "-NOAUTH Authentication required.\r\n"
    );
    assert!(raw.cmd(&["HELLO"]).starts_with("-NOAUTH HELLO must be called"));
    assert_eq!(raw.cmd(&["AUTH", "pw"]), "+OK\r\n");
    assert_eq!(raw.cmd(&["PING"]), "+PONG\r\n");
    let mut q = srv.raw();
    assert_eq!(q.cmd(&["QUIT"]), "+OK\r\n");
    assert!(q.is_closed());
}

#[test]
fn protocol_errors_reply_then_close() {
    let srv = TestServer::start(&[]);
    expect_error_close(&srv, b"*x\r\n", "-ERR Protocol error: invalid multibulk length\r\n");
    expect_error_close(
        &srv,
        b"*3000000000\r\n",
        "-ERR Protocol error: invalid multibulk length\r\n",
    );
    expect_error_close(&srv, b"*1\r\n$x\r\n", "-ERR Protocol error: invalid bulk length\r\n");
    expect_error_close(&srv, b"*1\r\n$-1\r\n", "-ERR Protocol error: invalid bulk length\r\n");
    expect_error_close(
        &srv,
        b"*1\r\n+PING\r\n",
        "-ERR Protocol error: expected '$', got '+'\r\n",
    );
    expect_error_close(
        &srv,
        b"SET \"a b\r\n",
        "-ERR Protocol error: unbalanced quotes in request\r\n",
    );
    expect_error_close(
        &srv,
        b"SET 'a' 'b\r\n",
        "-ERR Protocol error: unbalanced quotes in request\r\n",
    );
    expect_error_close(
        &srv,
        &vec![b'x'; 70 * 1024],
        "-ERR Protocol error: too big inline request\r\n",
    );
    let mut mbulk = b"*".to_vec();
    mbulk.extend(vec![b'1'; 70 * 1024]);
    expect_error_close(&srv, &mbulk, "-ERR Protocol error: too big mbulk count string\r\n");
    let mut bulk = b"*1\r\n$".to_vec();
    bulk.extend(vec![b'1'; 70 * 1024]);
    expect_error_close(&srv, &bulk, "-ERR Protocol error: too big bulk count string\r\n");
    // Replies to the requests before the bad one are sent first.
    expect_error_close(
        &srv,
        b"PING\r\n*1\r\n$4\r\nPING\r\n*1\r\n:1\r\n",
        "+PONG\r\n+PONG\r\n-ERR Protocol error: expected '$', got ':'\r\n",
    );
    // The server is fine.
    let mut raw = srv.raw();
    assert_eq!(raw.cmd(&["PING"]), "+PONG\r\n");
}

#[test]
fn unauthenticated_limits() {
    let srv = TestServer::start(&["--requirepass", "pw"]);
    expect_error_close(
        &srv,
        b"*11\r\n",
        "-ERR Protocol error: unauthenticated multibulk length\r\n",
    );
    expect_error_close(
        &srv,
        b"*1\r\n$16385\r\n",
        "-ERR Protocol error: unauthenticated bulk length\r\n",
    );
    // At the limits, the request is read (and refused as usual).
    let mut raw = srv.raw();
    let mut req = b"*10\r\n$3\r\nDEL\r\n".to_vec();
    for _ in 0..9 {
        req.extend_from_slice(b"$1\r\nk\r\n");
    }
    raw.send(&req);
    assert_eq!(
        String::from_utf8(raw.read_replies(1)).unwrap(),
        "-NOAUTH Authentication required.\r\n"
    );
    let big = "v".repeat(16384);
    assert_eq!(raw.cmd(&["ECHO", &big]), "-NOAUTH Authentication required.\r\n");
    // After AUTH the limits are lifted.
    assert_eq!(raw.cmd(&["AUTH", "pw"]), "+OK\r\n");
    let args: Vec<String> = (0..20).map(|i| format!("k{i}")).collect();
    let mut cmd = vec!["DEL"];
    cmd.extend(args.iter().map(|s| s.as_str()));
    assert_eq!(raw.cmd(&cmd), ":0\r\n");
    let big = "v".repeat(100_000);
    assert_eq!(raw.cmd(&["ECHO", &big]), format!("$100000\r\n{big}\r\n"));
}

#[test]
fn proto_max_bulk_len() {
    let srv = TestServer::start(&["--proto-max-bulk-len", "1mb"]);
    expect_error_close(
        &srv,
        b"*2\r\n$4\r\nECHO\r\n$1048577\r\n",
        "-ERR Protocol error: invalid bulk length\r\n",
    );
    let mut raw = srv.raw();
    let ok = "a".repeat(1 << 20);
    assert_eq!(raw.cmd(&["SET", "k", &ok]), "+OK\r\n");
}

#[test]
fn query_buffer_limit_closes_the_client() {
    let srv = TestServer::start(&["--client-query-buffer-limit", "1mb"]);
    let mut raw = srv.raw();
    // One 2MB argument: its buffer crosses 1MB and the client is closed,
    // with no reply.
    raw.send(b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$2000000\r\n");
    let chunk = vec![b'z'; 64 * 1024];
    let mut sent = 0;
    while sent < 2_000_000 {
        if raw.s.write_all(&chunk).is_err() {
            break;
        }
        sent += chunk.len();
    }
    let mut buf = Vec::new();
    raw.s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let r = raw.s.read_to_end(&mut buf);
    assert!(r.is_ok() || buf.is_empty(), "{r:?}");
    assert!(buf.is_empty(), "unexpected reply {:?}", String::from_utf8_lossy(&buf));
    let mut raw = srv.raw();
    assert_eq!(raw.cmd(&["EXISTS", "k"]), ":0\r\n");
    // A pipeline bigger than the limit, made of small requests, is fine.
    let value = "p".repeat(1000);
    let mut req = Vec::new();
    for i in 0..2000 {
        let key = format!("k{i}");
        req.extend_from_slice(format!("*3\r\n$3\r\nSET\r\n${}\r\n{key}\r\n$1000\r\n{value}\r\n", key.len()).as_bytes());
    }
    assert!(req.len() > 2 << 19);
    raw.send(&req);
    let out = raw.read_replies(2000);
    assert_eq!(out, "+OK\r\n".repeat(2000).as_bytes());
}

/// Trickles `total` bytes after `header`, in small pieces with pauses,
/// and returns how much the server's RSS grew meanwhile (KiB).
fn trickle_growth(srv: &TestServer, header: &[u8], piece: &[u8], total: usize) -> u64 {
    let mut raw = srv.raw();
    assert_eq!(raw.cmd(&["PING"]), "+PONG\r\n");
    let base = rss_kb(srv);
    let base_vm = vm_kb(srv);
    raw.send(header);
    let mut sent = 0;
    let mut peak = base;
    while sent < total {
        raw.send(piece);
        sent += piece.len();
        if sent % (64 * 1024) < piece.len() {
            std::thread::sleep(Duration::from_millis(5));
            peak = peak.max(rss_kb(srv));
        }
    }
    std::thread::sleep(Duration::from_millis(100));
    peak = peak.max(rss_kb(srv));
    // The connection is alive, its query buffer holding what was sent.
    let mut other = srv.raw();
    let list = other.cmd(&["CLIENT", "LIST"]);
    let me = raw.s.local_addr().unwrap().to_string();
    let line = list
        .lines()
        .find(|l| l.contains(&format!(" addr={me} ")))
        .unwrap_or_else(|| panic!("trickling client is gone: {list}"));
    let qbuf: usize = line
        .split(' ')
        .find_map(|kv| kv.strip_prefix("qbuf="))
        .unwrap()
        .parse()
        .unwrap();
    assert!(qbuf >= total, "qbuf={qbuf}: the server did not read the trickle");
    let vm_grew = vm_kb(srv).saturating_sub(base_vm);
    eprintln!("RSS +{} KiB, VmSize +{vm_grew} KiB", peak - base);
    assert!(vm_grew < 128 * 1024, "virtual memory grew {vm_grew} KiB");
    peak - base
}

#[test]
fn declared_lengths_do_not_allocate() {
    // Let a 2GB bulk be legal, so the server really waits for it.
    let srv = TestServer::start(&["--proto-max-bulk-len", "4gb"]);
    let piece = vec![b'q'; 4096];
    // A huge bulk, then ~1MB of its bytes.
    let grew = trickle_growth(&srv, b"*1\r\n$2000000000\r\n", &piece, 1 << 20);
    assert!(grew < 8 * 1024, "RSS grew {grew} KiB for 1MB of a 2GB bulk");
    // A huge multibulk count, then ~1MB of 64KB arguments.
    let mut arg = b"$65536\r\n".to_vec();
    arg.extend(vec![b'w'; 65536]);
    arg.extend_from_slice(b"\r\n");
    let grew = trickle_growth(&srv, b"*2147483647\r\n", &arg, 1 << 20);
    assert!(grew < 8 * 1024, "RSS grew {grew} KiB for 1MB of a 2^31 multibulk");
    // Both, at once.
    let grew = trickle_growth(&srv, b"*2147483647\r\n$2000000000\r\n", &piece, 1 << 20);
    assert!(grew < 8 * 1024, "RSS grew {grew} KiB");
}

#[test]
fn unread_replies_do_not_pile_up() {
    let srv = TestServer::start(&[]);
    let mut raw = srv.raw();
    let value = "v".repeat(100 * 1024);
    assert_eq!(raw.cmd(&["SET", "big", &value]), "+OK\r\n");
    let base = rss_kb(&srv);
    // 4000 GETs = ~400MB of replies that the client never reads.
    let mut hog = srv.raw();
    let mut req = Vec::new();
    for _ in 0..4000 {
        req.extend_from_slice(b"*2\r\n$3\r\nGET\r\n$3\r\nbig\r\n");
    }
    hog.send(&req);
    std::thread::sleep(Duration::from_millis(1000));
    let grew = rss_kb(&srv).saturating_sub(base);
    assert!(grew < 16 * 1024, "RSS grew {grew} KiB while replies went unread");
    // Others are served meanwhile.
    assert_eq!(raw.cmd(&["PING"]), "+PONG\r\n");
    drop(hog);
    assert_eq!(raw.cmd(&["PING"]), "+PONG\r\n");
}

#[test]
fn inline_and_multibulk_pipelined() {
    let srv = TestServer::start(&[]);
    let mut raw = srv.raw();
    raw.send(
        b"PING\r\nSET a \"x y\"\r\n*2\r\n$3\r\nGET\r\n$1\r\na\r\nget a\n\r\n  \r\nECHO 'q\\'uote'\r\n*1\r\n$4\r\nPING\r\nECHO \"\\x41\\n\"\r\n",
    );
    let out = String::from_utf8(raw.read_replies(7)).unwrap();
    assert_eq!(
        out,
        "+PONG\r\n+OK\r\n$3\r\nx y\r\n$3\r\nx y\r\n$6\r\nq'uote\r\n+PONG\r\n$2\r\nA\n\r\n"
    );
    // Split across writes at every awkward point.
    let req = b"*3\r\n$3\r\nSET\r\n$1\r\nb\r\n$5\r\nhello\r\nGET b\r\n";
    for &b in req.iter() {
        raw.send(&[b]);
    }
    assert_eq!(
        String::from_utf8(raw.read_replies(2)).unwrap(),
        "+OK\r\n$5\r\nhello\r\n"
    );
}

fn signal_exits_cleanly(sig: &str) {
    let mut srv = TestServer::start(&[]);
    let mut raw: RawConn = srv.raw();
    assert_eq!(raw.cmd(&["PING"]), "+PONG\r\n");
    let st = std::process::Command::new("kill")
        .arg(format!("-{sig}"))
        .arg(srv.pid().to_string())
        .status()
        .unwrap();
    assert!(st.success());
    assert_eq!(srv.wait_exit(10), Some(0), "exit status after SIG{sig}");
}

#[test]
fn sigterm_shuts_down_gracefully() {
    signal_exits_cleanly("TERM");
}

#[test]
fn sigint_shuts_down_gracefully() {
    signal_exits_cleanly("INT");
}
