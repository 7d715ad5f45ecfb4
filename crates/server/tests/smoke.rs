#![allow(clippy::unwrap_used)]
//! End-to-end smoke test of the foundation: the binary starts, speaks
//! RESP2 and RESP3, pipelines, and answers errors with Redis's strings.

mod common;

use common::TestServer;

#[test]
fn ping_set_get_del() {
    let srv = TestServer::start(&[]);
    let mut c = srv.conn();
    let pong: String = redis::cmd("PING").query(&mut c).unwrap();
    assert_eq!(pong, "PONG");
    let () = redis::cmd("SET").arg("k").arg("v").query(&mut c).unwrap();
    let v: String = redis::cmd("GET").arg("k").query(&mut c).unwrap();
    assert_eq!(v, "v");
    let n: i64 = redis::cmd("DEL").arg("k").arg("nope").query(&mut c).unwrap();
    assert_eq!(n, 1);
    let v: Option<String> = redis::cmd("GET").arg("k").query(&mut c).unwrap();
    assert_eq!(v, None);
}

#[test]
fn pipeline_replies_in_order() {
    let srv = TestServer::start(&[]);
    let mut raw = srv.raw();
    let mut req = Vec::new();
    for i in 0..100 {
        let v = i.to_string();
        req.extend_from_slice(
            format!(
                "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n${}\r\n{}\r\n*2\r\n$3\r\nGET\r\n$1\r\nk\r\n",
                v.len(),
                v
            )
            .as_bytes(),
        );
    }
    raw.send(&req);
    let out = String::from_utf8(raw.read_replies(200)).unwrap();
    let mut expect = String::new();
    for i in 0..100 {
        let v = i.to_string();
        expect.push_str(&format!("+OK\r\n${}\r\n{}\r\n", v.len(), v));
    }
    assert_eq!(out, expect);
}

#[test]
fn unknown_command_and_arity_errors() {
    let srv = TestServer::start(&[]);
    let mut raw = srv.raw();
    assert_eq!(
        raw.cmd(&["FOO", "a", "b"]),
        "-ERR unknown command 'FOO', with args beginning with: 'a' 'b' \r\n"
    );
    assert_eq!(
        raw.cmd(&["GET"]),
        "-ERR wrong number of arguments for 'get' command\r\n"
    );
}

#[test]
fn protocol_error_closes_connection() {
    let srv = TestServer::start(&[]);
    let mut raw = srv.raw();
    raw.send(b"*1\r\n+x\r\n");
    let out = String::from_utf8(raw.read_replies(1)).unwrap();
    assert_eq!(out, "-ERR Protocol error: expected '$', got '+'\r\n");
    assert!(raw.is_closed());
}

#[test]
fn resp3_hello() {
    let srv = TestServer::start(&[]);
    let mut raw = srv.raw();
    let out = raw.cmd(&["HELLO", "3"]);
    assert!(out.starts_with("%7\r\n$6\r\nserver\r\n$5\r\nredis\r\n"), "{out}");
    assert_eq!(raw.cmd(&["GET", "missing"]), "_\r\n");
}
