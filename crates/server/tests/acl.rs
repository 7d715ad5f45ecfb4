#![allow(clippy::unwrap_used)]
//! ACLs: the same rules, denials, AUTH/HELLO flows and transactions on
//! Larder and on a real Redis give the same replies. The installed Redis
//! is 7.0; where 7.2 (Larder's target) words things differently the
//! Redis side is translated first (`to_72`): NOPERM texts name the user
//! and say "No permissions to access a key", users show
//! `sanitize-payload`. 7.2's command-rules log (7.0 recomputes the rules
//! from the bitmap) is checked against 7.2's own test expectations.

mod common;
mod real_redis;

use common::{resp, RawConn, TestServer};
use larder_protocol::{parse_frame, Frame};

/// A reply rendered as text (redis-cli like), for comparing across the
/// 7.0 / 7.2 wording differences.
fn render(raw: &str) -> String {
    fn go(f: &Frame, out: &mut String) {
        match f {
            Frame::Simple(b) => out.push_str(&format!("+{}", String::from_utf8_lossy(b))),
            Frame::Error(b) => out.push_str(&format!("-{}", String::from_utf8_lossy(b))),
            Frame::Bulk(b) => out.push_str(&format!("\"{}\"", String::from_utf8_lossy(b))),
            Frame::Integer(n) => out.push_str(&n.to_string()),
            Frame::Array(v) | Frame::Set(v) | Frame::Push(v) => {
                out.push('[');
                for (i, x) in v.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    go(x, out);
                }
                out.push(']');
            }
            Frame::Map(v) => {
                out.push('{');
                for (k, x) in v {
                    go(k, out);
                    out.push_str(": ");
                    go(x, out);
                    out.push_str(", ");
                }
                out.push('}');
            }
            other => out.push_str(&format!("{other:?}")),
        }
    }
    let mut out = String::new();
    let mut off = 0;
    let bytes = raw.as_bytes();
    while let Ok(Some((f, used))) = parse_frame(&bytes[off..]) {
        go(&f, &mut out);
        off += used;
    }
    out
}

/// Redis 7.0's wording as 7.2 has it, for user `user`.
fn to_72(s: &str, user: &str) -> String {
    s.replace(
        "NOPERM this user has no permissions to run the",
        &format!("NOPERM User {user} has no permissions to run the"),
    )
    .replace(
        "NOPERM this user has no permissions to access one of the keys used as arguments",
        "NOPERM No permissions to access a key",
    )
    .replace(
        "NOPERM this user has no permissions to access one of the channels used as arguments",
        "NOPERM No permissions to access a channel",
    )
    .replace(
        "\"This user has no permissions",
        &format!("\"User {user} has no permissions"),
    )
    .split_inclusive('"')
    .collect::<Vec<_>>()
    .join("")
    .pipe(add_sanitize)
}

trait Pipe: Sized {
    fn pipe<T>(self, f: impl FnOnce(Self) -> T) -> T {
        f(self)
    }
}
impl Pipe for String {}

/// 7.2 creates users with `sanitize-payload` (7.0 only after `reset`):
/// adds it to ACL LIST lines and GETUSER flags that have neither form.
fn add_sanitize(s: String) -> String {
    let flag_words = ["on", "off", "nopass"];
    let mut out = String::new();
    let mut rest = s.as_str();
    loop {
        let a = rest.find("\"user ");
        let b = rest.find("\"flags\", [");
        let (i, list) = match (a, b) {
            (Some(a), Some(b)) if a < b => (a, false),
            (Some(a), None) => (a, false),
            (_, Some(b)) => (b, true),
            (None, None) => break,
        };
        let start = if list { i + "\"flags\", [".len() } else { i + 1 };
        out.push_str(&rest[..start]);
        rest = &rest[start..];
        let end = if list {
            rest.find(']').unwrap_or(rest.len())
        } else {
            rest.find('"').unwrap_or(rest.len())
        };
        let seg = &rest[..end];
        if seg.contains("sanitize-payload") {
            out.push_str(seg);
        } else if list {
            let mut items: Vec<&str> = if seg.is_empty() {
                vec![]
            } else {
                seg.split(", ").collect()
            };
            items.push("\"sanitize-payload\"");
            out.push_str(&items.join(", "));
        } else {
            let words: Vec<&str> = seg.split(' ').collect();
            let mut k = 2;
            while k < words.len() && flag_words.contains(&words[k]) {
                k += 1;
            }
            let mut w: Vec<&str> = words[..k].to_vec();
            w.push("sanitize-payload");
            w.extend_from_slice(&words[k..]);
            out.push_str(&w.join(" "));
        }
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

struct Pair {
    larder: TestServer,
    redis: real_redis::Redis,
}

impl Pair {
    fn start() -> Option<Pair> {
        if !real_redis::available() {
            return None;
        }
        Some(Pair {
            larder: TestServer::start(&[]),
            redis: real_redis::Redis::start(&[]),
        })
    }

    fn conns(&self) -> (RawConn, RawConn) {
        (self.larder.raw(), self.redis.raw())
    }
}

/// Runs `cmds` on both connections, asserting equal replies (after
/// `to_72` on Redis's with `user`).
fn same(l: &mut RawConn, r: &mut RawConn, user: &str, cmds: &[&[&str]]) {
    for c in cmds {
        let a = render(&l.cmd(c));
        let b = to_72(&render(&r.cmd(c)), user);
        assert_eq!(a, b, "command {c:?}");
    }
}

#[test]
fn rule_sequences_describe_as_redis() {
    let Some(p) = Pair::start() else { return };
    let (mut l, mut r) = p.conns();
    // Sequences where 7.0's recomputed rules and 7.2's log agree.
    let seqs: &[&[&str]] = &[
        &["on", ">pw", "~foo*", "%R~bar", "%W~baz", "%RW~qux", "&ch*", "+get"],
        &["+@all", "-config", "+config|get"],
        &["+@all", "-select", "+select|0"],
        &["-@all", "+select|0"],
        &["+config|get", "+config"],
        &["allkeys", "allchannels", "allcommands", "nopass", "on"],
        &["resetkeys", "~a", "~b", "~a", "%R~c", "%W~c"],
        &["&a", "&b", "resetchannels", "&c"],
        &[
            ">a",
            ">b",
            "<a",
            "#e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        ],
        &[">a", "nopass", ">b", "resetpass"],
        &["on", "reset"],
        &["~x", "+get", "(~y +set)", "(&z +publish)"],
        &["(~y", "+set)", "clearselectors", "+del"],
        &["skip-sanitize-payload"],
    ];
    for (i, seq) in seqs.iter().enumerate() {
        let name = format!("u{i}");
        let mut cmd = vec!["ACL", "SETUSER", name.as_str()];
        cmd.extend_from_slice(seq);
        same(&mut l, &mut r, &name, &[&cmd, &["ACL", "GETUSER", &name]]);
    }
    same(&mut l, &mut r, "", &[&["ACL", "LIST"], &["ACL", "USERS"]]);
}

#[test]
fn command_rules_log_as_redis_72() {
    // Expectations from Redis 7.2's tests/unit/acl.tcl.
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    let cases: &[(&[&str], &str)] = &[
        (&["+@all", "-@hash", "-@slow", "+hget"], "+@all -@hash -@slow +hget"),
        (&["-@hash"], "+@all -@slow +hget -@hash"),
        (&["+@hash"], "+@all -@slow +hget +@hash"),
        (&["-@all"], "-@all"),
        (&["-@string", "-@slow", "+@all"], "+@all"),
        (&["-@all", "+@HASH", "+@hash", "+@HaSh"], "-@all +@hash"),
        (&["-@all", "+HGET", "+hget", "+hGeT"], "-@all +hget"),
        (
            &["-@all", "+@hash", "+@slow", "+@set", "+@set", "+@slow", "+@hash"],
            "-@all +@set +@slow +@hash",
        ),
        (&["-@all", "+hget", "-hset", "+hset", "-hget"], "-@all +hset -hget"),
        (
            &[
                "-@all",
                "+client|list",
                "+client|list",
                "+config|get",
                "+config",
                "+acl|list",
                "-acl",
            ],
            "-@all +client|list +config -acl",
        ),
        (
            &["-@all", "+get", "-@all", "+set", "+@string", "-get"],
            "-@all +set +@string -get",
        ),
        // Where 7.0 recomputes rules from the bitmap, 7.2 keeps the log.
        (&["-@all", "+set", "+@write"], "-@all +set +@write"),
        (
            &["+@all", "-@dangerous", "+flushall", "+@dangerous"],
            "+@all +flushall +@dangerous",
        ),
        (&["-@all", "+@read", "-@string", "+@read"], "-@all -@string +@read"),
        (&["-@all", "+select|0", "-select"], "-@all -select"),
    ];
    for (rules, want) in cases {
        let mut cmd = vec!["ACL", "SETUSER", "adv-test"];
        cmd.extend_from_slice(rules);
        assert_eq!(c.cmd(&cmd), "+OK\r\n");
        let got = render(&c.cmd(&["ACL", "GETUSER", "adv-test"]));
        assert!(got.contains(&format!("\"commands\", \"{want}\"")), "{rules:?}: {got}");
    }
    assert_eq!(
        c.cmd(&["ACL", "LIST"]),
        resp::arr(&[
            "user adv-test off sanitize-payload resetchannels -@all -select",
            "user default on nopass sanitize-payload ~* &* +@all",
        ])
    );
}

#[test]
fn rule_errors_as_redis() {
    let Some(p) = Pair::start() else { return };
    let (mut l, mut r) = p.conns();
    for bad in [
        "+nosuch",
        "-nosuch",
        "+@nosuch",
        "-@nosuch",
        "foo",
        "%X~a",
        "%R",
        "%~a",
        "+config|get|x",
        "+select|",
        "-select|0",
        "+config|nosuch",
        "<nope",
        "!nope",
        "#abc",
        "#E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855",
        "(~a",
        "(+nosuch)",
        "~a b",
    ] {
        same(&mut l, &mut r, "u", &[&["ACL", "SETUSER", "u", bad]]);
    }
    same(
        &mut l,
        &mut r,
        "u",
        &[
            &["ACL", "SETUSER", "u", "~*", "~a"],
            &["ACL", "SETUSER", "v", "&*", "&a"],
            &["ACL", "SETUSER", "sp ace"],
            &["ACL", "SETUSER", "w", "on", "+get", "+nosuch"],
            &["ACL", "GETUSER", "w"],
            &["ACL", "DELUSER", "default"],
            &["ACL", "DELUSER", "u", "nobody"],
            &["ACL", "CAT", "nosuch"],
            &["ACL", "GENPASS", "0"],
            &["ACL", "GENPASS", "4097"],
            &["ACL", "GENPASS", "x"],
            &["ACL", "LOG", "x"],
            &["ACL", "LOAD"],
            &["ACL", "SAVE"],
            &["ACL", "NOSUCH"],
            &["ACL", "DRYRUN", "nouser", "get", "x"],
            &["ACL", "DRYRUN", "v", "nosuch"],
            &["ACL", "DRYRUN", "v", "get"],
            &["ACL", "GETUSER", "nouser"],
        ],
    );
    assert_eq!(l.cmd(&["ACL", "GENPASS", "8"]).len(), "$2\r\n12\r\n".len());
    assert_eq!(l.cmd(&["ACL", "GENPASS"]).len(), "$64\r\n\r\n".len() + 64);
}

#[test]
fn denials_as_redis() {
    let Some(p) = Pair::start() else { return };
    let (mut la, mut ra) = p.conns();
    let setup: &[&str] = &[
        "ACL",
        "SETUSER",
        "u",
        "on",
        ">pw",
        "+@string",
        "-get",
        "+config|get",
        "+client",
        "-client|kill",
        "~foo*",
        "%R~r*",
        "%W~w*",
        "&ch*",
        "+publish",
        "+subscribe",
        "+psubscribe",
        "+ssubscribe",
        "+spublish",
        "+select|0",
        "+sort",
        "+dryrunned",
    ];
    // An unknown command in the setup fails the whole SETUSER.
    same(&mut la, &mut ra, "u", &[setup]);
    let setup = &setup[..setup.len() - 1];
    same(
        &mut la,
        &mut ra,
        "u",
        &[setup, &["SET", "r1", "v"], &["SET", "foo1", "v"]],
    );
    let (mut l, mut r) = p.conns();
    same(
        &mut l,
        &mut r,
        "u",
        &[
            &["AUTH", "u", "pw"],
            &["GET", "foo1"],
            &["SET", "foo1", "x"],
            &["SET", "r1", "x"],
            &["SET", "w1", "x"],
            &["SET", "w1", "x", "GET"],
            &["GETRANGE", "r1", "0", "-1"],
            &["GETRANGE", "w1", "0", "-1"],
            &["MSET", "foo2", "1", "w2", "2"],
            &["MSET", "foo2", "1", "zz", "2"],
            &["STRLEN", "zz"],
            &["DEL", "foo1"],
            &["CONFIG", "GET", "maxmemory"],
            &["CONFIG", "SET", "maxmemory", "0"],
            &["CLIENT", "KILL", "ID", "999999"],
            &["SELECT", "0"],
            &["SELECT", "1"],
            &["PUBLISH", "ch1", "m"],
            &["PUBLISH", "other", "m"],
            &["SPUBLISH", "other", "m"],
            &["ACL", "WHOAMI"],
            &["PING"],
            &["AUTH", "default", "x"],
        ],
    );
    let (mut l, mut r) = p.conns();
    same(
        &mut l,
        &mut r,
        "u",
        &[
            &["AUTH", "u", "pw"],
            &["SUBSCRIBE", "ch1", "other"],
            &["PSUBSCRIBE", "ch*", "c*"],
        ],
    );
    let (mut l, mut r) = p.conns();
    same(
        &mut l,
        &mut r,
        "u",
        &[
            &["ACL", "DRYRUN", "u", "get", "x"],
            &["ACL", "DRYRUN", "u", "set", "r1", "v"],
            &["ACL", "DRYRUN", "u", "set", "foo9", "v"],
            &["ACL", "DRYRUN", "u", "publish", "x", "m"],
            &["ACL", "DRYRUN", "u", "config", "set", "a", "b"],
            &["ACL", "DRYRUN", "u", "config", "get", "a"],
        ],
    );
    // The exact 7.2 texts.
    let mut c = p.larder.raw();
    assert_eq!(c.cmd(&["AUTH", "u", "pw"]), "+OK\r\n");
    assert_eq!(
        c.cmd(&["CONFIG", "SET", "maxmemory", "0"]),
        "-NOPERM User u has no permissions to run the 'config|set' command\r\n"
    );
    assert_eq!(c.cmd(&["SET", "r1", "x"]), "-NOPERM No permissions to access a key\r\n");
    assert_eq!(
        c.cmd(&["PUBLISH", "x", "m"]),
        "-NOPERM No permissions to access a channel\r\n"
    );
}

#[test]
fn transactions_under_a_restricted_user() {
    let Some(p) = Pair::start() else { return };
    let (mut a, mut b) = p.conns();
    let setup: &[&str] = &["ACL", "SETUSER", "t", "on", "nopass", "~k*", "+@all", "-flushall"];
    same(&mut a, &mut b, "t", &[setup]);
    let (mut l, mut r) = p.conns();
    same(
        &mut l,
        &mut r,
        "t",
        &[
            &["AUTH", "t", "x"],
            &["MULTI"],
            &["SET", "k1", "v"],
            &["SET", "other", "v"],
            &["FLUSHALL"],
            &["EXEC"],
            &["MULTI"],
            &["SET", "k1", "v"],
            &["GET", "k1"],
        ],
    );
    // Permissions taken away between queueing and EXEC.
    same(&mut a, &mut b, "t", &[&["ACL", "SETUSER", "t", "-get"]]);
    same(&mut l, &mut r, "t", &[&["EXEC"], &["GET", "k1"]]);
    let log_l = render(&a.cmd(&["ACL", "LOG"]));
    assert!(log_l.contains("\"context\", \"multi\""), "{log_l}");
}

#[test]
fn scripts_as_redis_72() {
    let s = TestServer::start(&[]);
    let mut admin = s.raw();
    assert_eq!(
        admin.cmd(&["ACL", "SETUSER", "s", "on", "nopass", "~k*", "+eval", "+get", "+set"]),
        "+OK\r\n"
    );
    let mut c = s.raw();
    assert_eq!(c.cmd(&["AUTH", "s", "x"]), "+OK\r\n");
    assert_eq!(c.cmd(&["EVAL", "return redis.call('set','k1','v')", "0"]), "+OK\r\n");
    let r = c.cmd(&["EVAL", "return redis.call('hset','k1','a','b')", "0"]);
    assert!(
        r.starts_with("-ERR ACL failure in script: User s has no permissions to run the 'hset' command script: "),
        "{r}"
    );
    let r = c.cmd(&["EVAL", "return redis.call('get','zz')", "0"]);
    assert!(
        r.starts_with("-ERR ACL failure in script: No permissions to access a key script: "),
        "{r}"
    );
    let r = c.cmd(&["EVAL", "return redis.pcall('get','zz')", "0"]);
    assert_eq!(r, "-ERR ACL failure in script: No permissions to access a key\r\n");
    let log = render(&admin.cmd(&["ACL", "LOG", "1"]));
    assert!(
        log.contains("\"reason\", \"key\", \"context\", \"lua\", \"object\", \"zz\""),
        "{log}"
    );
}

#[test]
fn auth_and_hello_as_redis() {
    let Some(p) = Pair::start() else { return };
    let (mut a, mut b) = p.conns();
    same(
        &mut a,
        &mut b,
        "h",
        &[
            &["AUTH", "pw"],
            &["ACL", "SETUSER", "h", "on", ">pw", "+@all", "~*"],
            &["ACL", "SETUSER", "off", "off", ">pw", "+@all"],
        ],
    );
    let (mut l, mut r) = p.conns();
    same(
        &mut l,
        &mut r,
        "h",
        &[
            &["AUTH", "h", "nope"],
            &["AUTH", "nobody", "pw"],
            &["AUTH", "off", "pw"],
            &["AUTH", "a", "b", "c"],
            &["ACL", "WHOAMI"],
            &["AUTH", "h", "pw"],
            &["ACL", "WHOAMI"],
            &["HELLO", "2", "AUTH", "h", "bad"],
            &["ACL", "WHOAMI"],
            &["RESET"],
            &["ACL", "WHOAMI"],
        ],
    );
    // requirepass becomes the default user's password.
    same(
        &mut a,
        &mut b,
        "h",
        &[&["CONFIG", "SET", "requirepass", "secret"], &["ACL", "LIST"]],
    );
    let (mut l, mut r) = p.conns();
    same(
        &mut l,
        &mut r,
        "h",
        &[
            &["GET", "x"],
            &["ACL", "WHOAMI"],
            &["AUTH", "wrong"],
            &["AUTH", "secret"],
            &["GET", "x"],
            &["RESET"],
            &["GET", "x"],
            &["AUTH", "h", "pw"],
            &["ACL", "WHOAMI"],
        ],
    );
    let (mut l, mut r) = p.conns();
    let h1 = l.cmd(&["HELLO", "3", "AUTH", "h", "pw"]);
    let h2 = r.cmd(&["HELLO", "3", "AUTH", "h", "pw"]);
    assert!(h1.starts_with("%7\r\n") && h2.starts_with("%7\r\n"), "{h1} {h2}");
    same(&mut l, &mut r, "h", &[&["ACL", "WHOAMI"]]);
    let list = l.cmd(&["CLIENT", "INFO"]);
    assert!(list.contains(" user=h "), "{list}");
}

#[test]
fn acl_log_entries() {
    let s = TestServer::start(&["--acllog-max-len", "3"]);
    let mut admin = s.raw();
    admin.cmd(&["ACL", "SETUSER", "g", "on", ">pw", "+get", "~a"]);
    let mut c = s.raw();
    c.cmd(&["AUTH", "g", "wrong"]);
    c.cmd(&["AUTH", "g", "pw"]);
    c.cmd(&["SET", "a", "1"]);
    c.cmd(&["SET", "a", "1"]);
    c.cmd(&["GET", "b"]);
    let Frame::Array(entries) = parse_frame(admin.cmd(&["ACL", "LOG"]).as_bytes()).unwrap().unwrap().0 else {
        panic!()
    };
    assert_eq!(entries.len(), 3);
    let fields: Vec<String> = entries
        .iter()
        .map(|e| {
            let Frame::Array(kv) = e else { panic!() };
            assert_eq!(kv.len(), 20);
            let t = |i: usize| match &kv[i] {
                Frame::Bulk(b) => String::from_utf8_lossy(b).into_owned(),
                Frame::Integer(n) => n.to_string(),
                other => format!("{other:?}"),
            };
            let keys: Vec<String> = (0..10).map(|i| t(2 * i)).collect();
            assert_eq!(
                keys,
                [
                    "count",
                    "reason",
                    "context",
                    "object",
                    "username",
                    "age-seconds",
                    "client-info",
                    "entry-id",
                    "timestamp-created",
                    "timestamp-last-updated"
                ]
            );
            assert!(t(13).starts_with("id=") && t(13).contains(" user="), "{}", t(13));
            format!("{} {} {} {} {} {}", t(1), t(3), t(5), t(7), t(9), t(15))
        })
        .collect();
    assert_eq!(
        fields,
        [
            "1 key toplevel b g 2",
            "2 command toplevel set g 1",
            "1 auth toplevel AUTH g 0"
        ]
    );
    assert_eq!(admin.cmd(&["ACL", "LOG", "1"]).matches("count").count(), 1);
    assert_eq!(admin.cmd(&["ACL", "LOG", "RESET"]), "+OK\r\n");
    assert_eq!(admin.cmd(&["ACL", "LOG"]), "*0\r\n");
    let stats = admin.cmd(&["INFO", "stats"]);
    assert!(stats.contains("acl_access_denied_auth:1\r\nacl_access_denied_cmd:2\r\nacl_access_denied_key:1\r\nacl_access_denied_channel:0\r\n"), "{stats}");
}

#[test]
fn deluser_disconnects_its_clients() {
    let s = TestServer::start(&[]);
    let mut admin = s.raw();
    admin.cmd(&["ACL", "SETUSER", "d", "on", "nopass", "+@all", "~*"]);
    let mut c = s.raw();
    assert_eq!(c.cmd(&["AUTH", "d", "x"]), "+OK\r\n");
    let mut other = s.raw();
    assert_eq!(
        admin.cmd(&["CLIENT", "KILL", "USER", "nobody"]),
        "-ERR No such user 'nobody'\r\n"
    );
    assert_eq!(admin.cmd(&["ACL", "DELUSER", "d", "nobody"]), resp::int(1));
    assert!(c.is_closed());
    assert_eq!(other.cmd(&["PING"]), "+PONG\r\n");
    // Deleting oneself: the reply comes, then the connection closes.
    admin.cmd(&["ACL", "SETUSER", "e", "on", "nopass", "+@all", "~*"]);
    let mut e = s.raw();
    e.cmd(&["AUTH", "e", "x"]);
    assert_eq!(e.cmd(&["ACL", "DELUSER", "e"]), resp::int(1));
    assert!(e.is_closed());
}

#[test]
fn save_and_load_round_trip() {
    let dir = std::env::temp_dir().join(format!("larder-acl-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("users.acl");
    std::fs::write(
        &file,
        "user alice on >a ~a* +get\n\nuser default on nopass ~* &* +@all\n",
    )
    .unwrap();
    let f = file.to_str().unwrap();
    let list;
    {
        let s = TestServer::start(&["--aclfile", f]);
        let mut c = s.raw();
        assert_eq!(render(&c.cmd(&["ACL", "USERS"])), "[\"alice\", \"default\"]");
        assert_eq!(
            c.cmd(&[
                "ACL",
                "SETUSER",
                "bob",
                "on",
                ">b",
                "%R~x",
                "&c",
                "-@all",
                "+@read",
                "(~y +set)"
            ]),
            "+OK\r\n"
        );
        let mut alice = s.raw();
        assert_eq!(alice.cmd(&["AUTH", "alice", "a"]), "+OK\r\n");
        list = c.cmd(&["ACL", "LIST"]);
        assert_eq!(c.cmd(&["ACL", "SAVE"]), "+OK\r\n");
        // LOAD replaces everyone: alice's connection closes.
        assert_eq!(c.cmd(&["ACL", "LOAD"]), "+OK\r\n");
        assert_eq!(c.cmd(&["ACL", "LIST"]), list);
        assert!(alice.is_closed());
        // A broken file changes nothing.
        std::fs::write(&file, "user carol on +nosuch\nnot a user line\n").unwrap();
        let e = c.cmd(&["ACL", "LOAD"]);
        assert_eq!(
            e,
            format!(
                "-ERR {f}:1: Error in applying operation '+nosuch': Unknown command or category name in ACL. {f}:2 should start with user keyword followed by the username. WARNING: ACL errors detected, no change to the previously active ACL rules was performed\r\n"
            )
        );
        assert_eq!(c.cmd(&["ACL", "LIST"]), list);
        assert_eq!(c.cmd(&["ACL", "SAVE"]), "+OK\r\n");
    }
    let s = TestServer::start(&["--aclfile", f]);
    let mut c = s.raw();
    assert_eq!(c.cmd(&["ACL", "LIST"]), list);
    let saved = std::fs::read_to_string(&file).unwrap();
    assert!(saved.starts_with("user alice on sanitize-payload #"), "{saved}");
    // A Redis started on the file Larder saved lists the same users.
    if real_redis::available() {
        let r = real_redis::Redis::start(&["--aclfile", f]);
        let mut rc = r.raw();
        assert_eq!(to_72(&render(&rc.cmd(&["ACL", "LIST"])), ""), render(&list));
    }
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn config_file_users() {
    let dir = std::env::temp_dir().join(format!("larder-acl-conf-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let conf = dir.join("larder.conf");
    std::fs::write(
        &conf,
        "user default on >pw ~* &* +@all\nuser ro on nopass ~* -@all +@read\n",
    )
    .unwrap();
    let (mut child, mut c) = start_with_conf(&conf, &[]);
    assert_eq!(c.cmd(&["PING"]), "-NOAUTH Authentication required.\r\n");
    assert_eq!(c.cmd(&["AUTH", "ro", "x"]), "+OK\r\n");
    assert_eq!(
        c.cmd(&["SET", "a", "b"]),
        "-NOPERM User ro has no permissions to run the 'set' command\r\n"
    );
    assert_eq!(c.cmd(&["GET", "a"]), "$-1\r\n");
    child.kill().ok();
    child.wait().ok();
    // Bad rules, and both users and an aclfile, stop the start.
    for (text, extra) in [
        ("user x on nosuchrule\n", vec![]),
        ("user x on\n", vec!["--aclfile", "/nonexistent.acl"]),
    ] {
        std::fs::write(&conf, text).unwrap();
        let st = std::process::Command::new(env!("CARGO_BIN_EXE_larder-server"))
            .arg(&conf)
            .args(["--port", "0"])
            .args(&extra)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .unwrap();
        assert!(!st.success(), "{text}");
    }
    std::fs::remove_dir_all(&dir).ok();
}

/// Starts the server binary on `conf` (plus `extra`), waiting for it.
fn start_with_conf(conf: &std::path::Path, extra: &[&str]) -> (std::process::Child, RawConn) {
    let port = common::free_port();
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_larder-server"))
        .arg(conf)
        .args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--save", ""])
        .args(extra)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let s = loop {
        if let Ok(s) = std::net::TcpStream::connect(("127.0.0.1", port)) {
            break s;
        }
        assert!(std::time::Instant::now() < deadline);
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    s.set_read_timeout(Some(std::time::Duration::from_secs(5))).ok();
    (child, RawConn { s })
}

/// CONFIG REWRITE writes the users as Redis does: every user by name,
/// over the file's own `user` lines (a deleted user's line goes), the
/// rest appended; the file starts a server with the same users. With an
/// aclfile no `user` line is written.
#[test]
fn config_rewrite_writes_users() {
    let dir = std::env::temp_dir().join(format!("larder-acl-rewrite-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let conf = dir.join("larder.conf");
    std::fs::write(
        &conf,
        "# my users\nuser alice on >pw ~a* +get\nuser bob off\nmaxmemory-policy allkeys-lru\n",
    )
    .unwrap();
    let (mut child, mut c) = start_with_conf(&conf, &[]);
    assert_eq!(
        c.cmd(&["ACL", "SETUSER", "carol", "on", "nopass", "~c*", "+@read"]),
        "+OK\r\n"
    );
    assert_eq!(c.cmd(&["ACL", "DELUSER", "bob"]), ":1\r\n");
    let list = c.cmd(&["ACL", "LIST"]);
    assert_eq!(c.cmd(&["CONFIG", "REWRITE"]), "+OK\r\n");
    child.kill().ok();
    child.wait().ok();
    let text = std::fs::read_to_string(&conf).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "# my users");
    assert!(lines[1].starts_with("user alice on "), "{text}");
    assert!(lines[2].starts_with("user carol on nopass "), "{text}");
    assert_eq!(lines[3], "maxmemory-policy allkeys-lru");
    assert!(lines.last().unwrap().starts_with("user default on nopass "), "{text}");
    assert_eq!(text.matches("user ").count(), 3, "{text}");
    let (mut child, mut c) = start_with_conf(&conf, &[]);
    assert_eq!(c.cmd(&["ACL", "LIST"]), list);
    assert_eq!(c.cmd(&["AUTH", "alice", "pw"]), "+OK\r\n");
    child.kill().ok();
    child.wait().ok();

    // With an aclfile the users stay out of the config file.
    let acl = dir.join("users.acl");
    std::fs::write(
        &acl,
        "user default on nopass ~* &* +@all\nuser dave on nopass ~d* +@all\n",
    )
    .unwrap();
    std::fs::write(&conf, "maxmemory-policy allkeys-lru\n").unwrap();
    let (mut child, mut c) = start_with_conf(&conf, &["--aclfile", acl.to_str().unwrap()]);
    assert_eq!(c.cmd(&["CONFIG", "REWRITE"]), "+OK\r\n");
    child.kill().ok();
    child.wait().ok();
    let text = std::fs::read_to_string(&conf).unwrap();
    assert!(!text.contains("user "), "{text}");
    assert!(text.contains("aclfile"), "{text}");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn channel_permissions_narrowed_kill_subscribers() {
    let s = TestServer::start(&[]);
    let mut admin = s.raw();
    admin.cmd(&["ACL", "SETUSER", "p", "on", "nopass", "+@all", "&news*"]);
    let mut sub = s.raw();
    sub.cmd(&["AUTH", "p", "x"]);
    sub.cmd(&["SUBSCRIBE", "news1"]);
    let mut sub2 = s.raw();
    sub2.cmd(&["AUTH", "p", "x"]);
    sub2.cmd(&["SUBSCRIBE", "sport"]);
    assert_eq!(
        admin.cmd(&["ACL", "SETUSER", "p", "resetchannels", "&sport"]),
        "+OK\r\n"
    );
    assert!(sub.is_closed());
    assert_eq!(admin.cmd(&["PUBLISH", "sport", "m"]), resp::int(0));
}

#[test]
fn command_docs_for_acl() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    let info = render(&c.cmd(&["COMMAND", "INFO", "acl"]));
    assert!(info.contains("\"acl|setuser\", -3"), "{info}");
    let Some(p) = Pair::start() else { return };
    let (mut l, mut r) = p.conns();
    // Arity, flags, key positions and categories as Redis (COMMAND INFO
    // compares up to the subcommands' order, which is a hash order).
    let mut a: Vec<String> = render(&l.cmd(&["COMMAND", "INFO", "acl"]))
        .split("[\"acl|")
        .map(|s| s.trim_end_matches(", ").trim_end_matches(']').to_string())
        .collect();
    let mut b: Vec<String> = render(&r.cmd(&["COMMAND", "INFO", "acl"]))
        .split("[\"acl|")
        .map(|s| s.trim_end_matches(", ").trim_end_matches(']').to_string())
        .collect();
    a.sort();
    b.sort();
    assert_eq!(a.len(), b.len());
    for (x, y) in a.iter().zip(&b) {
        // 7.2 adds request/response tips to some subcommands.
        let strip = |s: &str| match s.find("[+@") {
            Some(i) => s[..i + s[i..].find(']').unwrap_or(0) + 1].to_string(),
            None => s.to_string(),
        };
        assert_eq!(strip(x), strip(y));
    }
}

/// SORT's BY pattern and GET read keys the ACL check did not see: a user
/// without read access to every key gets Redis's errors, first option
/// first; `~*`, `%R~*` or a selector allowing the command lets them run.
#[test]
fn sort_patterns_need_full_key_access_as_redis() {
    let Some(p) = Pair::start() else { return };
    let (mut la, mut ra) = p.conns();
    let users: &[&[&str]] = &[
        &["ACL", "SETUSER", "s1", "on", ">pw", "~l*", "+@all"],
        &["ACL", "SETUSER", "s2", "on", ">pw", "~*", "+@all"],
        &["ACL", "SETUSER", "s3", "on", ">pw", "%R~*", "+@all"],
        &["ACL", "SETUSER", "s4", "on", ">pw", "~l*", "+@all", "(~* +sort)"],
        &["RPUSH", "l", "3", "1", "2"],
        &["SET", "w_1", "30"],
        // The STORE key is found as Redis's sortGetKeys finds it.
        &[
            "COMMAND", "GETKEYS", "SORT", "l", "STORE", "d", "BY", "x", "GET", "y", "STORE", "e",
        ],
        &[
            "COMMAND",
            "GETKEYSANDFLAGS",
            "SORT",
            "l",
            "LIMIT",
            "0",
            "1",
            "STORE",
            "d",
        ],
        &["COMMAND", "GETKEYS", "SORT", "l", "GET", "store", "x"],
        &["COMMAND", "GETKEYS", "SORT", "l", "STORE"],
        &["COMMAND", "GETKEYS", "SORT_RO", "l", "BY", "x"],
    ];
    same(&mut la, &mut ra, "default", users);
    same(
        &mut la,
        &mut ra,
        "s1",
        &[&["ACL", "DRYRUN", "s1", "SORT", "l", "STORE", "x"]],
    );
    same(
        &mut la,
        &mut ra,
        "s1",
        &[&["ACL", "DRYRUN", "s1", "SORT", "l", "STORE", "l3"]],
    );
    same(
        &mut la,
        &mut ra,
        "s3",
        &[&["ACL", "DRYRUN", "s3", "SORT", "l", "STORE", "l3"]],
    );
    for user in ["s1", "s2", "s3", "s4"] {
        let (mut l, mut r) = p.conns();
        same(&mut l, &mut r, user, &[&["AUTH", user, "pw"]]);
        same(
            &mut l,
            &mut r,
            user,
            &[
                &["SORT", "l", "BY", "nosort"],
                &["SORT", "l", "BY", "w_*"],
                &["SORT", "l", "GET", "#"],
                &["SORT", "l", "GET", "w_*"],
                &["SORT_RO", "l", "BY", "w_*"],
                &["SORT", "l", "BY", "w_*", "STORE", "l2"],
                &["SORT", "l", "GET", "#", "BY", "w_*"],
                &["SORT", "l", "BY", "w_*", "nope"],
                &["SORT", "l", "STORE", "x"],
                &["SORT", "l", "STORE", "l3", "STORE", "x"],
                &["SORT", "l", "STORE", "x", "STORE", "l3"],
                &["EVAL", "return redis.pcall('sort', KEYS[1], 'by', 'w_*')", "1", "l"],
            ],
        );
    }
}
