#![allow(clippy::unwrap_used)]
//! Connection commands (PING, ECHO, QUIT, RESET, SELECT, HELLO, AUTH,
//! CLIENT ...) against Redis 7.2's exact replies.

mod common;

use std::time::{Duration, Instant};

use common::{RawConn, TestServer};

/// The value of `field` in a CLIENT LIST / INFO line.
fn field<'a>(line: &'a str, name: &str) -> &'a str {
    line.split_whitespace()
        .find_map(|kv| kv.strip_prefix(name).and_then(|r| r.strip_prefix('=')))
        .unwrap_or_else(|| panic!("no field {name} in {line}"))
}

/// The text of a bulk (RESP2) or verbatim (RESP3) reply.
fn text(reply: &str) -> String {
    let body = reply.split_once("\r\n").unwrap().1;
    let body = body.strip_suffix("\r\n").unwrap();
    body.strip_prefix("txt:").unwrap_or(body).to_string()
}

fn client_info(raw: &mut RawConn) -> String {
    text(&raw.cmd(&["CLIENT", "INFO"]))
}

#[test]
fn ping_and_echo() {
    let srv = TestServer::start(&[]);
    let mut raw = srv.raw();
    assert_eq!(raw.cmd(&["PING"]), "+PONG\r\n");
    assert_eq!(raw.cmd(&["ping", "hello"]), "$5\r\nhello\r\n");
    assert_eq!(
        raw.cmd(&["PING", "a", "b"]),
        "-ERR wrong number of arguments for 'ping' command\r\n"
    );
    assert_eq!(raw.cmd(&["ECHO", "x y"]), "$3\r\nx y\r\n");
    assert_eq!(raw.cmd(&["ECHO", ""]), "$0\r\n\r\n");
    assert_eq!(
        raw.cmd(&["ECHO"]),
        "-ERR wrong number of arguments for 'echo' command\r\n"
    );
    assert_eq!(
        raw.cmd(&["ECHO", "a", "b"]),
        "-ERR wrong number of arguments for 'echo' command\r\n"
    );
    // RESP3: the same types.
    assert!(raw.cmd(&["HELLO", "3"]).starts_with("%7\r\n"));
    assert_eq!(raw.cmd(&["PING"]), "+PONG\r\n");
    assert_eq!(raw.cmd(&["PING", "x"]), "$1\r\nx\r\n");
    assert_eq!(raw.cmd(&["ECHO", "e"]), "$1\r\ne\r\n");
    // And through a client library.
    let mut c = srv.conn3();
    let pong: String = redis::cmd("PING").query(&mut c).unwrap();
    assert_eq!(pong, "PONG");
}

#[test]
fn quit_replies_then_closes() {
    let srv = TestServer::start(&[]);
    let mut raw = srv.raw();
    assert_eq!(raw.cmd(&["QUIT"]), "+OK\r\n");
    assert!(raw.is_closed());
    // Pipelined commands after QUIT are not run.
    let mut raw = srv.raw();
    raw.send(b"PING\r\nQUIT\r\nSET after quit\r\n");
    assert_eq!(String::from_utf8(raw.read_replies(3)).unwrap(), "+PONG\r\n+OK\r\n");
    let mut raw = srv.raw();
    assert_eq!(raw.cmd(&["EXISTS", "after"]), ":0\r\n");
}

#[test]
fn select_databases() {
    let srv = TestServer::start(&[]);
    let mut raw = srv.raw();
    assert_eq!(raw.cmd(&["SET", "k", "db0"]), "+OK\r\n");
    assert_eq!(raw.cmd(&["SELECT", "1"]), "+OK\r\n");
    assert_eq!(raw.cmd(&["GET", "k"]), "$-1\r\n");
    assert_eq!(raw.cmd(&["SELECT", "0"]), "+OK\r\n");
    assert_eq!(raw.cmd(&["GET", "k"]), "$3\r\ndb0\r\n");
    assert_eq!(raw.cmd(&["SELECT", "16"]), "-ERR DB index is out of range\r\n");
    assert_eq!(raw.cmd(&["SELECT", "-1"]), "-ERR DB index is out of range\r\n");
    assert_eq!(
        raw.cmd(&["SELECT", "x"]),
        "-ERR value is not an integer or out of range\r\n"
    );
    assert_eq!(
        raw.cmd(&["SELECT", "4294967296"]),
        "-ERR value is out of range, value must between -2147483648 and 2147483647\r\n"
    );
    assert_eq!(
        raw.cmd(&["SELECT", "99999999999999999999"]),
        "-ERR value is not an integer or out of range\r\n"
    );
    assert_eq!(
        raw.cmd(&["SELECT"]),
        "-ERR wrong number of arguments for 'select' command\r\n"
    );
    assert_eq!(raw.cmd(&["SELECT", "15"]), "+OK\r\n");
    assert_eq!(field(&client_info(&mut raw), "db"), "15");
}

#[test]
fn hello_replies_resp2_and_resp3() {
    let srv = TestServer::start(&[]);
    let mut raw = srv.raw();
    let id = raw.cmd(&["CLIENT", "ID"]);
    let id = id.trim_start_matches(':').trim_end();
    let body = format!(
        "$6\r\nserver\r\n$5\r\nredis\r\n$7\r\nversion\r\n$5\r\n7.2.4\r\n$5\r\nproto\r\n:{{P}}\r\n\
         $2\r\nid\r\n:{id}\r\n$4\r\nmode\r\n$10\r\nstandalone\r\n$4\r\nrole\r\n$6\r\nmaster\r\n\
         $7\r\nmodules\r\n*0\r\n"
    );
    assert_eq!(raw.cmd(&["HELLO"]), format!("*14\r\n{}", body.replace("{P}", "2")));
    assert_eq!(raw.cmd(&["HELLO", "3"]), format!("%7\r\n{}", body.replace("{P}", "3")));
    assert_eq!(raw.cmd(&["GET", "nokey"]), "_\r\n");
    assert_eq!(field(&client_info(&mut raw), "resp"), "3");
    // With no version the protocol stays as it is.
    assert_eq!(raw.cmd(&["HELLO"]), format!("%7\r\n{}", body.replace("{P}", "3")));
    assert_eq!(raw.cmd(&["HELLO", "2"]), format!("*14\r\n{}", body.replace("{P}", "2")));
    assert_eq!(raw.cmd(&["GET", "nokey"]), "$-1\r\n");

    assert_eq!(raw.cmd(&["HELLO", "4"]), "-NOPROTO unsupported protocol version\r\n");
    assert_eq!(raw.cmd(&["HELLO", "1"]), "-NOPROTO unsupported protocol version\r\n");
    assert_eq!(
        raw.cmd(&["HELLO", "x"]),
        "-ERR Protocol version is not an integer or out of range\r\n"
    );
    assert_eq!(
        raw.cmd(&["HELLO", "3", "foo"]),
        "-ERR Syntax error in HELLO option 'foo'\r\n"
    );
    assert_eq!(
        raw.cmd(&["HELLO", "3", "auth", "a"]),
        "-ERR Syntax error in HELLO option 'auth'\r\n"
    );
    assert_eq!(
        raw.cmd(&["HELLO", "3", "SETNAME", "a b"]),
        "-ERR Client names cannot contain spaces, newlines or special characters.\r\n"
    );
    // Errors leave the protocol alone.
    assert_eq!(raw.cmd(&["GET", "nokey"]), "$-1\r\n");
    // SETNAME and AUTH (nopass default user: any password).
    assert!(raw
        .cmd(&["HELLO", "3", "AUTH", "default", "whatever", "SETNAME", "conn1"])
        .starts_with("%7\r\n"));
    assert_eq!(raw.cmd(&["CLIENT", "GETNAME"]), "$5\r\nconn1\r\n");
    assert_eq!(
        raw.cmd(&["HELLO", "3", "AUTH", "nobody", "x"]),
        "-WRONGPASS invalid username-password pair or user is disabled.\r\n"
    );
}

#[test]
fn auth_without_password() {
    let srv = TestServer::start(&[]);
    let mut raw = srv.raw();
    assert_eq!(
        raw.cmd(&["AUTH", "x"]),
        "-ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?\r\n"
    );
    assert_eq!(raw.cmd(&["AUTH", "default", "anything"]), "+OK\r\n");
    assert_eq!(
        raw.cmd(&["AUTH", "bob", "x"]),
        "-WRONGPASS invalid username-password pair or user is disabled.\r\n"
    );
    assert_eq!(raw.cmd(&["AUTH", "a", "b", "c"]), "-ERR syntax error\r\n");
    assert_eq!(
        raw.cmd(&["AUTH"]),
        "-ERR wrong number of arguments for 'auth' command\r\n"
    );
}

#[test]
fn auth_with_requirepass() {
    let srv = TestServer::start(&["--requirepass", "s3cret"]);
    let mut raw = srv.raw();
    assert_eq!(raw.cmd(&["GET", "k"]), "-NOAUTH Authentication required.\r\n");
    assert_eq!(
        raw.cmd(&["HELLO", "3"]),
        "-NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time\r\n"
    );
    assert_eq!(
        raw.cmd(&["AUTH", "wrong"]),
        "-WRONGPASS invalid username-password pair or user is disabled.\r\n"
    );
    assert_eq!(
        raw.cmd(&["AUTH", "default", "wrong"]),
        "-WRONGPASS invalid username-password pair or user is disabled.\r\n"
    );
    assert_eq!(
        raw.cmd(&["HELLO", "3", "AUTH", "default", "wrong"]),
        "-WRONGPASS invalid username-password pair or user is disabled.\r\n"
    );
    assert_eq!(raw.cmd(&["GET", "k"]), "-NOAUTH Authentication required.\r\n");
    assert_eq!(raw.cmd(&["AUTH", "s3cret"]), "+OK\r\n");
    assert_eq!(raw.cmd(&["GET", "k"]), "$-1\r\n");
    // A failed AUTH does not log an authenticated client out.
    assert_eq!(
        raw.cmd(&["AUTH", "wrong"]),
        "-WRONGPASS invalid username-password pair or user is disabled.\r\n"
    );
    assert_eq!(raw.cmd(&["GET", "k"]), "$-1\r\n");

    // HELLO AUTH authenticates and switches protocol at once.
    let mut raw2 = srv.raw();
    assert!(raw2
        .cmd(&["HELLO", "3", "AUTH", "default", "s3cret"])
        .starts_with("%7\r\n"));
    assert_eq!(raw2.cmd(&["GET", "k"]), "_\r\n");

    let mut c = redis::Client::open(format!("redis://:s3cret@127.0.0.1:{}/", srv.port))
        .unwrap()
        .get_connection()
        .unwrap();
    let pong: String = redis::cmd("PING").query(&mut c).unwrap();
    assert_eq!(pong, "PONG");
}

#[test]
fn reset_restores_a_fresh_connection() {
    let srv = TestServer::start(&["--requirepass", "pw"]);
    let mut raw = srv.raw();
    assert_eq!(raw.cmd(&["AUTH", "pw"]), "+OK\r\n");
    assert_eq!(raw.cmd(&["SELECT", "3"]), "+OK\r\n");
    assert!(raw.cmd(&["HELLO", "3", "SETNAME", "n1"]).starts_with("%7"));
    assert_eq!(raw.cmd(&["CLIENT", "SETINFO", "LIB-NAME", "mylib"]), "+OK\r\n");
    assert_eq!(raw.cmd(&["CLIENT", "NO-TOUCH", "ON"]), "+OK\r\n");
    assert_eq!(raw.cmd(&["CLIENT", "NO-EVICT", "ON"]), "+OK\r\n");
    let info = client_info(&mut raw);
    assert_eq!(field(&info, "flags"), "eT");
    assert_eq!(field(&info, "db"), "3");
    raw.send(b"CLIENT REPLY OFF\r\nPING\r\n");
    assert_eq!(raw.cmd(&["RESET"]), "+RESET\r\n");
    // Logged out (a password is required), and RESP2 again.
    assert_eq!(raw.cmd(&["GET", "k"]), "-NOAUTH Authentication required.\r\n");
    assert_eq!(raw.cmd(&["AUTH", "pw"]), "+OK\r\n");
    assert_eq!(raw.cmd(&["GET", "k"]), "$-1\r\n");
    let info = client_info(&mut raw);
    assert_eq!(field(&info, "db"), "0");
    assert_eq!(field(&info, "resp"), "2");
    assert_eq!(field(&info, "name"), "");
    assert_eq!(field(&info, "flags"), "N");
    // The library name stays.
    assert_eq!(field(&info, "lib-name"), "mylib");
    assert_eq!(
        raw.cmd(&["RESET", "x"]),
        "-ERR wrong number of arguments for 'reset' command\r\n"
    );
    // RESET needs no authentication.
    let mut raw2 = srv.raw();
    assert_eq!(raw2.cmd(&["RESET"]), "+RESET\r\n");
}

#[test]
fn client_basic_subcommands() {
    let srv = TestServer::start(&[]);
    let mut raw = srv.raw();
    let id = raw.cmd(&["CLIENT", "ID"]);
    assert!(id.starts_with(':'), "{id}");
    let id: u64 = id[1..].trim().parse().unwrap();
    assert_eq!(field(&client_info(&mut raw), "id"), id.to_string());
    let mut other = srv.raw();
    let id2: u64 = other.cmd(&["CLIENT", "ID"])[1..].trim().parse().unwrap();
    assert!(id2 > id);

    assert_eq!(raw.cmd(&["CLIENT", "GETNAME"]), "$-1\r\n");
    assert_eq!(raw.cmd(&["CLIENT", "SETNAME", "my-conn"]), "+OK\r\n");
    assert_eq!(raw.cmd(&["CLIENT", "GETNAME"]), "$7\r\nmy-conn\r\n");
    for bad in ["a b", "a\nb", "é", "tab\there"] {
        assert_eq!(
            raw.cmd(&["CLIENT", "SETNAME", bad]),
            "-ERR Client names cannot contain spaces, newlines or special characters.\r\n",
            "{bad:?}"
        );
    }
    assert_eq!(raw.cmd(&["CLIENT", "GETNAME"]), "$7\r\nmy-conn\r\n");
    assert_eq!(raw.cmd(&["CLIENT", "SETNAME", ""]), "+OK\r\n");
    assert_eq!(raw.cmd(&["CLIENT", "GETNAME"]), "$-1\r\n");
    assert!(raw.cmd(&["HELLO", "3"]).starts_with('%'));
    assert_eq!(raw.cmd(&["CLIENT", "GETNAME"]), "_\r\n");

    assert_eq!(raw.cmd(&["CLIENT", "GETREDIR"]), ":-1\r\n");
    assert_eq!(raw.cmd(&["CLIENT", "SETINFO", "lib-name", "redis-py"]), "+OK\r\n");
    assert_eq!(raw.cmd(&["CLIENT", "SETINFO", "LIB-VER", "5.0.1"]), "+OK\r\n");
    assert_eq!(
        raw.cmd(&["CLIENT", "SETINFO", "Lib-Name", "a b"]),
        "-ERR Lib-Name cannot contain spaces, newlines or special characters.\r\n"
    );
    assert_eq!(
        raw.cmd(&["CLIENT", "SETINFO", "foo", "x"]),
        "-ERR Unrecognized option 'foo'\r\n"
    );
    let info = client_info(&mut raw);
    assert_eq!(field(&info, "lib-name"), "redis-py");
    assert_eq!(field(&info, "lib-ver"), "5.0.1");

    // Container errors.
    assert_eq!(
        raw.cmd(&["CLIENT"]),
        "-ERR wrong number of arguments for 'client' command\r\n"
    );
    assert_eq!(
        raw.cmd(&["CLIENT", "nope"]),
        "-ERR unknown subcommand 'nope'. Try CLIENT HELP.\r\n"
    );
    assert_eq!(
        raw.cmd(&["CLIENT", "ID", "x"]),
        "-ERR wrong number of arguments for 'client|id' command\r\n"
    );
    assert_eq!(
        raw.cmd(&["CLIENT", "SETNAME"]),
        "-ERR wrong number of arguments for 'client|setname' command\r\n"
    );
    assert_eq!(
        raw.cmd(&["CLIENT", "SETINFO", "lib-name"]),
        "-ERR wrong number of arguments for 'client|setinfo' command\r\n"
    );
    let help = raw.cmd(&["CLIENT", "HELP"]);
    assert!(help.starts_with(
        "*54\r\n+CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:\r\n+CACHING (YES|NO)\r\n"
    ));
    assert!(help.ends_with("+NO-TOUCH (ON|OFF)\r\n+    Will not touch LRU/LFU stats when this mode is on.\r\n+HELP\r\n+    Prints this help.\r\n"));
}

const LIST_FIELDS: &[&str] = &[
    "id",
    "addr",
    "laddr",
    "fd",
    "name",
    "age",
    "idle",
    "flags",
    "db",
    "sub",
    "psub",
    "ssub",
    "multi",
    "qbuf",
    "qbuf-free",
    "argv-mem",
    "multi-mem",
    "rbs",
    "rbp",
    "obl",
    "oll",
    "omem",
    "tot-mem",
    "events",
    "cmd",
    "user",
    "redir",
    "resp",
    "lib-name",
    "lib-ver",
];

#[test]
fn client_list_and_info() {
    let srv = TestServer::start(&[]);
    let mut a = srv.raw();
    let mut b = srv.raw();
    assert_eq!(b.cmd(&["CLIENT", "SETNAME", "bee"]), "+OK\r\n");
    assert_eq!(b.cmd(&["SELECT", "2"]), "+OK\r\n");
    let b_id = b.cmd(&["CLIENT", "ID"])[1..].trim().to_string();
    let a_id = a.cmd(&["CLIENT", "ID"])[1..].trim().to_string();
    let list = a.cmd(&["CLIENT", "LIST"]);
    assert!(list.starts_with('$'), "{list}");
    let all = text(&list);
    assert!(all.ends_with('\n'));
    let lines: Vec<&str> = all.lines().collect();
    assert_eq!(lines.len(), 2, "{all}");
    for line in &lines {
        let keys: Vec<&str> = line.split(' ').map(|kv| kv.split_once('=').unwrap().0).collect();
        assert_eq!(keys, LIST_FIELDS, "{line}");
    }
    // Oldest first.
    assert_eq!(field(lines[0], "id"), a_id);
    let la = lines[0];
    let lb = lines[1];
    assert_eq!(field(lb, "id"), b_id);
    assert_eq!(field(la, "addr"), a.s.local_addr().unwrap().to_string());
    assert_eq!(field(la, "laddr"), format!("127.0.0.1:{}", srv.port));
    assert_eq!(field(la, "cmd"), "client|list");
    assert_eq!(field(la, "argv-mem"), "10");
    assert_eq!(field(la, "idle"), "0");
    assert_eq!(field(la, "flags"), "N");
    assert_eq!(field(la, "multi"), "-1");
    assert_eq!(field(la, "user"), "default");
    assert_eq!(field(la, "redir"), "-1");
    assert_eq!(field(la, "events"), "r");
    assert_eq!(field(lb, "name"), "bee");
    assert_eq!(field(lb, "db"), "2");
    assert_eq!(field(lb, "cmd"), "client|id");
    assert_eq!(field(lb, "resp"), "2");
    assert_eq!(field(lb, "argv-mem"), "0");
    assert!(field(lb, "fd").parse::<i64>().unwrap() > 0);

    // Filters.
    let only_b = text_of(&mut a, &["CLIENT", "LIST", "ID", &b_id]);
    assert_eq!(only_b.lines().count(), 1);
    assert_eq!(field(&only_b, "name"), "bee");
    let both = text_of(&mut a, &["CLIENT", "LIST", "ID", &b_id, "999999", &a_id]);
    let ids: Vec<&str> = both.lines().map(|l| field(l, "id")).collect();
    assert_eq!(ids, vec![b_id.as_str(), a_id.as_str()]);
    assert_eq!(
        text_of(&mut a, &["CLIENT", "LIST", "TYPE", "normal"]).lines().count(),
        2
    );
    assert_eq!(a.cmd(&["CLIENT", "LIST", "TYPE", "replica"]), "$0\r\n\r\n");
    assert_eq!(a.cmd(&["CLIENT", "LIST", "TYPE", "pubsub"]), "$0\r\n\r\n");
    assert_eq!(a.cmd(&["CLIENT", "LIST", "TYPE", "master"]), "$0\r\n\r\n");
    assert_eq!(
        a.cmd(&["CLIENT", "LIST", "TYPE", "foo"]),
        "-ERR Unknown client type 'foo'\r\n"
    );
    assert_eq!(a.cmd(&["CLIENT", "LIST", "ID", "x"]), "-ERR Invalid client ID\r\n");
    assert_eq!(a.cmd(&["CLIENT", "LIST", "ID"]), "-ERR syntax error\r\n");
    assert_eq!(a.cmd(&["CLIENT", "LIST", "foo"]), "-ERR syntax error\r\n");
    assert_eq!(
        a.cmd(&["CLIENT", "LIST", "TYPE", "normal", "x"]),
        "-ERR syntax error\r\n"
    );

    // CLIENT INFO is this connection's line; RESP3 makes it verbatim text.
    let info = a.cmd(&["CLIENT", "INFO"]);
    assert!(info.starts_with('$'));
    assert_eq!(field(&text(&info), "cmd"), "client|info");
    assert!(a.cmd(&["HELLO", "3"]).starts_with('%'));
    let info = a.cmd(&["CLIENT", "INFO"]);
    assert!(info.starts_with('=') && info.contains("\r\ntxt:id="), "{info}");
    assert_eq!(field(&text(&info), "resp"), "3");
    let list = a.cmd(&["CLIENT", "LIST"]);
    assert!(list.starts_with('='), "{list}");

    // A closed connection leaves the list.
    drop(b);
    let deadline = Instant::now() + Duration::from_secs(5);
    while text_of(&mut a, &["CLIENT", "LIST"]).lines().count() != 1 {
        assert!(Instant::now() < deadline, "closed client still listed");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn text_of(raw: &mut RawConn, args: &[&str]) -> String {
    let r = raw.cmd(args);
    assert!(r.starts_with('$') || r.starts_with('='), "{r}");
    text(&r)
}

#[test]
fn client_kill_filters() {
    let srv = TestServer::start(&[]);
    let mut me = srv.raw();
    let mut victim = srv.raw();
    assert_eq!(victim.cmd(&["PING"]), "+PONG\r\n");
    let vaddr = victim.s.local_addr().unwrap().to_string();

    // Old form.
    assert_eq!(me.cmd(&["CLIENT", "KILL", "1.2.3.4:5"]), "-ERR No such client\r\n");
    assert_eq!(me.cmd(&["CLIENT", "KILL", &vaddr]), "+OK\r\n");
    assert!(victim.is_closed(), "killed connection must close");

    // ID.
    let mut victim = srv.raw();
    let vid = victim.cmd(&["CLIENT", "ID"])[1..].trim().to_string();
    assert_eq!(me.cmd(&["CLIENT", "KILL", "ID", "999999"]), ":0\r\n");
    assert_eq!(me.cmd(&["CLIENT", "KILL", "ID", &vid]), ":1\r\n");
    assert!(victim.is_closed());

    // ADDR / LADDR / USER / TYPE combine; SKIPME defaults to yes.
    let mut v1 = srv.raw();
    let mut v2 = srv.raw();
    assert_eq!(v1.cmd(&["PING"]), "+PONG\r\n");
    assert_eq!(v2.cmd(&["PING"]), "+PONG\r\n");
    let laddr = format!("127.0.0.1:{}", srv.port);
    assert_eq!(
        me.cmd(&[
            "CLIENT",
            "KILL",
            "ADDR",
            &v1.s.local_addr().unwrap().to_string(),
            "LADDR",
            "1.1.1.1:1"
        ]),
        ":0\r\n"
    );
    assert_eq!(me.cmd(&["CLIENT", "KILL", "TYPE", "pubsub"]), ":0\r\n");
    assert_eq!(me.cmd(&["CLIENT", "KILL", "TYPE", "master"]), ":0\r\n");
    assert_eq!(
        me.cmd(&["CLIENT", "KILL", "LADDR", &laddr, "USER", "default", "TYPE", "normal"]),
        ":2\r\n"
    );
    assert!(v1.is_closed());
    assert!(v2.is_closed());
    assert_eq!(me.cmd(&["PING"]), "+PONG\r\n");

    // MAXAGE: nobody here is an hour old.
    assert_eq!(me.cmd(&["CLIENT", "KILL", "MAXAGE", "3600", "SKIPME", "no"]), ":0\r\n");

    // Errors.
    assert_eq!(
        me.cmd(&["CLIENT", "KILL", "ID", "0"]),
        "-ERR client-id should be greater than 0\r\n"
    );
    assert_eq!(
        me.cmd(&["CLIENT", "KILL", "ID", "x"]),
        "-ERR client-id should be greater than 0\r\n"
    );
    assert_eq!(
        me.cmd(&["CLIENT", "KILL", "TYPE", "x"]),
        "-ERR Unknown client type 'x'\r\n"
    );
    assert_eq!(
        me.cmd(&["CLIENT", "KILL", "USER", "bob"]),
        "-ERR No such user 'bob'\r\n"
    );
    assert_eq!(me.cmd(&["CLIENT", "KILL", "SKIPME", "maybe"]), "-ERR syntax error\r\n");
    assert_eq!(me.cmd(&["CLIENT", "KILL", "FOO", "bar"]), "-ERR syntax error\r\n");
    assert_eq!(me.cmd(&["CLIENT", "KILL", "ID", "1", "TYPE"]), "-ERR syntax error\r\n");
    assert_eq!(
        me.cmd(&["CLIENT", "KILL", "MAXAGE", "0"]),
        "-ERR maxage should be greater than 0\r\n"
    );
    assert_eq!(
        me.cmd(&["CLIENT", "KILL", "MAXAGE", "x"]),
        "-ERR maxage is not an integer or out of range\r\n"
    );
    assert_eq!(
        me.cmd(&["CLIENT", "KILL"]),
        "-ERR wrong number of arguments for 'client|kill' command\r\n"
    );

    // Killing itself: the reply arrives, then the connection closes.
    let mut selfish = srv.raw();
    let sid = selfish.cmd(&["CLIENT", "ID"])[1..].trim().to_string();
    assert_eq!(selfish.cmd(&["CLIENT", "KILL", "ID", &sid]), ":0\r\n");
    assert_eq!(selfish.cmd(&["CLIENT", "KILL", "ID", &sid, "SKIPME", "no"]), ":1\r\n");
    assert!(selfish.is_closed());
    let mut selfish = srv.raw();
    let own = selfish.s.local_addr().unwrap().to_string();
    assert_eq!(selfish.cmd(&["CLIENT", "KILL", &own]), "+OK\r\n");
    assert!(selfish.is_closed());
}

#[test]
fn client_kill_closes_a_client_that_is_not_reading() {
    let srv = TestServer::start(&[]);
    let mut me = srv.raw();
    let mut hog = srv.raw();
    let hid = hog.cmd(&["CLIENT", "ID"])[1..].trim().to_string();
    let big = "x".repeat(1 << 20);
    assert_eq!(me.cmd(&["SET", "big", &big]), "+OK\r\n");
    // The hog asks for far more than the socket buffers hold.
    let mut req = Vec::new();
    for _ in 0..64 {
        req.extend_from_slice(b"*2\r\n$3\r\nGET\r\n$3\r\nbig\r\n");
    }
    hog.send(&req);
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(me.cmd(&["CLIENT", "KILL", "ID", &hid]), ":1\r\n");
    // It disappears from the list promptly.
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let l = text_of(&mut me, &["CLIENT", "LIST"]);
        if l.lines().count() == 1 {
            break;
        }
        assert!(Instant::now() < deadline, "killed client still listed:\n{l}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn client_reply_modes() {
    let srv = TestServer::start(&[]);
    let mut raw = srv.raw();
    raw.send(b"CLIENT REPLY OFF\r\nSET a 1\r\nGET a\r\nCLIENT REPLY SKIP\r\nPING\r\nCLIENT REPLY ON\r\nGET a\r\n");
    assert_eq!(String::from_utf8(raw.read_replies(2)).unwrap(), "+OK\r\n$1\r\n1\r\n");
    raw.send(b"CLIENT REPLY SKIP\r\nSET b 2\r\nGET b\r\n");
    assert_eq!(String::from_utf8(raw.read_replies(1)).unwrap(), "$1\r\n2\r\n");
    assert_eq!(raw.cmd(&["CLIENT", "REPLY", "maybe"]), "-ERR syntax error\r\n");
    assert_eq!(
        raw.cmd(&["CLIENT", "REPLY"]),
        "-ERR wrong number of arguments for 'client|reply' command\r\n"
    );
}

#[test]
fn client_no_evict_and_no_touch() {
    let srv = TestServer::start(&[]);
    let mut raw = srv.raw();
    assert_eq!(raw.cmd(&["CLIENT", "NO-EVICT", "on"]), "+OK\r\n");
    assert_eq!(field(&client_info(&mut raw), "flags"), "e");
    assert_eq!(raw.cmd(&["CLIENT", "NO-TOUCH", "ON"]), "+OK\r\n");
    assert_eq!(field(&client_info(&mut raw), "flags"), "eT");
    assert_eq!(raw.cmd(&["CLIENT", "NO-EVICT", "off"]), "+OK\r\n");
    assert_eq!(raw.cmd(&["CLIENT", "NO-TOUCH", "off"]), "+OK\r\n");
    assert_eq!(field(&client_info(&mut raw), "flags"), "N");
    assert_eq!(raw.cmd(&["CLIENT", "NO-EVICT", "x"]), "-ERR syntax error\r\n");
    assert_eq!(raw.cmd(&["CLIENT", "NO-TOUCH", "x"]), "-ERR syntax error\r\n");
    assert_eq!(
        raw.cmd(&["CLIENT", "NO-TOUCH"]),
        "-ERR wrong number of arguments for 'client|no-touch' command\r\n"
    );
}

/// Time `raw.cmd(args)` takes, and its reply.
fn timed(raw: &mut RawConn, args: &[&str]) -> (Duration, String) {
    let t = Instant::now();
    let r = raw.cmd(args);
    (t.elapsed(), r)
}

#[test]
fn client_pause_all_delays_every_command() {
    let srv = TestServer::start(&[]);
    let mut admin = srv.raw();
    let mut other = srv.raw();
    assert_eq!(admin.cmd(&["CLIENT", "PAUSE", "600"]), "+OK\r\n");
    let (took, reply) = timed(&mut other, &["GET", "k"]);
    assert_eq!(reply, "$-1\r\n", "paused commands are delayed, not rejected");
    assert!(took >= Duration::from_millis(400), "not paused: {took:?}");
    assert!(took < Duration::from_secs(4), "pause did not end: {took:?}");
    // Errors found before execution are not held.
    assert_eq!(admin.cmd(&["CLIENT", "PAUSE", "1500", "ALL"]), "+OK\r\n");
    let t = Instant::now();
    let (took, reply) = timed(&mut other, &["NOSUCHCMD"]);
    assert!(reply.starts_with("-ERR unknown command"));
    assert!(took < Duration::from_millis(1000), "{took:?}");
    let (took, reply) = timed(&mut other, &["GET"]);
    assert!(reply.starts_with("-ERR wrong number"));
    assert!(took < Duration::from_millis(1000), "{took:?}");
    // Everything else waits, even the pausing client's own commands.
    other.send(b"*1\r\n$4\r\nPING\r\n");
    admin.send(b"*2\r\n$6\r\nCLIENT\r\n$7\r\nUNPAUSE\r\n");
    other.s.set_read_timeout(Some(Duration::from_millis(300))).unwrap();
    let mut b = [0u8; 16];
    assert!(
        std::io::Read::read(&mut other.s, &mut b).is_err(),
        "PING ran during the pause"
    );
    other.s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    assert_eq!(String::from_utf8(other.read_replies(1)).unwrap(), "+PONG\r\n");
    assert_eq!(String::from_utf8(admin.read_replies(1)).unwrap(), "+OK\r\n");
    assert!(t.elapsed() >= Duration::from_millis(1200), "{:?}", t.elapsed());
    let (took, _) = timed(&mut other, &["SET", "k", "v"]);
    assert!(took < Duration::from_millis(1000), "{took:?}");
}

#[test]
fn client_pause_write_and_unpause() {
    let srv = TestServer::start(&[]);
    let mut admin = srv.raw();
    let mut w = srv.raw();
    assert_eq!(admin.cmd(&["CLIENT", "PAUSE", "20000", "WRITE"]), "+OK\r\n");
    // Reads go on.
    let (took, reply) = timed(&mut w, &["GET", "k"]);
    assert_eq!(reply, "$-1\r\n");
    assert!(took < Duration::from_millis(1000));
    // A write waits...
    w.send(b"SET k v\r\n");
    w.s.set_read_timeout(Some(Duration::from_millis(300))).unwrap();
    let mut b = [0u8; 16];
    assert!(std::io::Read::read(&mut w.s, &mut b).is_err(), "write ran during pause");
    w.s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let info = text_of(&mut admin, &["CLIENT", "LIST"]);
    assert!(info.lines().any(|l| field(l, "flags") == "b"), "{info}");
    assert_eq!(admin.cmd(&["GET", "k"]), "$-1\r\n");
    // ...until UNPAUSE, long before the pause would end.
    let t = Instant::now();
    assert_eq!(admin.cmd(&["CLIENT", "UNPAUSE"]), "+OK\r\n");
    assert_eq!(String::from_utf8(w.read_replies(1)).unwrap(), "+OK\r\n");
    assert!(t.elapsed() < Duration::from_secs(2));
    assert_eq!(admin.cmd(&["GET", "k"]), "$1\r\nv\r\n");

    // Errors.
    assert_eq!(
        admin.cmd(&["CLIENT", "PAUSE", "x"]),
        "-ERR timeout is not an integer or out of range\r\n"
    );
    assert_eq!(admin.cmd(&["CLIENT", "PAUSE", "-1"]), "-ERR timeout is negative\r\n");
    assert_eq!(
        admin.cmd(&["CLIENT", "PAUSE", "10", "x"]),
        "-ERR CLIENT PAUSE mode must be WRITE or ALL\r\n"
    );
    assert_eq!(
        admin.cmd(&["CLIENT", "PAUSE", "x", "foo"]),
        "-ERR CLIENT PAUSE mode must be WRITE or ALL\r\n"
    );
    assert_eq!(
        admin.cmd(&["CLIENT", "PAUSE", "10", "write", "x"]),
        "-ERR unknown subcommand or wrong number of arguments for 'PAUSE'. Try CLIENT HELP.\r\n"
    );
    assert_eq!(
        admin.cmd(&["CLIENT", "UNPAUSE", "x"]),
        "-ERR wrong number of arguments for 'client|unpause' command\r\n"
    );
    assert_eq!(admin.cmd(&["CLIENT", "PAUSE", "0"]), "+OK\r\n");
    let (took, _) = timed(&mut w, &["SET", "k", "v2"]);
    assert!(took < Duration::from_millis(1000));
}

#[test]
fn killed_while_paused() {
    let srv = TestServer::start(&[]);
    let mut admin = srv.raw();
    let mut w = srv.raw();
    let wid = w.cmd(&["CLIENT", "ID"])[1..].trim().to_string();
    assert_eq!(admin.cmd(&["CLIENT", "PAUSE", "20000", "WRITE"]), "+OK\r\n");
    w.send(b"SET k v\r\n");
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(admin.cmd(&["CLIENT", "KILL", "ID", &wid]), ":1\r\n");
    assert!(w.is_closed());
    assert_eq!(admin.cmd(&["CLIENT", "UNPAUSE"]), "+OK\r\n");
    // The held write never ran.
    assert_eq!(admin.cmd(&["EXISTS", "k"]), ":0\r\n");
}
