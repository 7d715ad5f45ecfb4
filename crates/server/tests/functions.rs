#![allow(clippy::unwrap_used)]
//! Redis 7 functions: FUNCTION LOAD/LIST/DELETE/FLUSH/DUMP/RESTORE/STATS/
//! KILL/HELP, FCALL and FCALL_RO, through real clients; DUMP/RESTORE and
//! replies compared with the real Redis; persistence through SAVE and the
//! AOF.

mod common;
mod persist_util;
mod real_redis;

use common::{RawConn, TestServer};
use persist_util::{start_in, tempdir};
use real_redis::bcmd;

const LIB_X: &str = "#!lua name=x\n\
redis.register_function{function_name='f', callback=function(k, a) return redis.call('set', k[1], a[1]) end, flags={'no-writes'}, description='d'}";
const LIB_Z: &str = "#!lua name=z\nredis.register_function('g', function(k, a) return {k[1], a[1]} end)";
const LIB_W: &str =
    "#!lua name=w\nredis.register_function('setit', function(k, a) return redis.call('set', k[1], a[1]) end)";

fn load(c: &mut RawConn, code: &str) -> String {
    c.cmd(&["FUNCTION", "LOAD", code])
}

fn bulk(payload: &[u8]) -> Vec<u8> {
    // A raw `$n\r\n...\r\n` reply's payload.
    let nl = payload.iter().position(|&b| b == b'\n').unwrap();
    let n: usize = std::str::from_utf8(&payload[1..nl - 1]).unwrap().parse().unwrap();
    payload[nl + 1..nl + 1 + n].to_vec()
}

#[test]
fn load_call_list_delete_flush() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    assert_eq!(load(&mut c, LIB_Z), "$1\r\nz\r\n");
    assert_eq!(load(&mut c, LIB_W), "$1\r\nw\r\n");
    assert_eq!(c.cmd(&["FCALL", "g", "1", "k", "v"]), "*2\r\n$1\r\nk\r\n$1\r\nv\r\n");
    assert_eq!(c.cmd(&["FCALL", "setit", "1", "key", "val"]), "+OK\r\n");
    assert_eq!(c.cmd(&["GET", "key"]), "$3\r\nval\r\n");
    assert_eq!(
        c.cmd(&["FUNCTION", "LIST", "LIBRARYNAME", "z"]),
        "*1\r\n*6\r\n$12\r\nlibrary_name\r\n$1\r\nz\r\n$6\r\nengine\r\n$3\r\nLUA\r\n$9\r\nfunctions\r\n\
         *1\r\n*6\r\n$4\r\nname\r\n$1\r\ng\r\n$11\r\ndescription\r\n$-1\r\n$5\r\nflags\r\n*0\r\n"
    );
    let with_code = c.cmd(&["FUNCTION", "LIST", "WITHCODE", "LIBRARYNAME", "w"]);
    assert!(with_code.contains("library_code"), "{with_code}");
    assert!(with_code.contains("setit"), "{with_code}");
    assert_eq!(c.cmd(&["FUNCTION", "LIST", "LIBRARYNAME", "nomatch*"]), "*0\r\n");
    // Same library name: refused, then REPLACE.
    assert_eq!(load(&mut c, LIB_Z), "-ERR Library 'z' already exists\r\n");
    let z2 = "#!lua name=z\nredis.register_function('g', function(k, a) return 7 end)";
    assert_eq!(c.cmd(&["FUNCTION", "LOAD", "REPLACE", z2]), "$1\r\nz\r\n");
    assert_eq!(c.cmd(&["FCALL", "g", "0"]), ":7\r\n");
    // A function name taken by another library.
    let y = "#!lua name=y\nredis.register_function('g', function() return 1 end)";
    assert_eq!(load(&mut c, y), "-ERR Function g already exists\r\n");
    assert_eq!(c.cmd(&["FUNCTION", "DELETE", "z"]), "+OK\r\n");
    assert_eq!(c.cmd(&["FUNCTION", "DELETE", "z"]), "-ERR Library not found\r\n");
    assert_eq!(c.cmd(&["FCALL", "g", "0"]), "-ERR Function not found\r\n");
    assert_eq!(
        c.cmd(&["FUNCTION", "STATS"]),
        "*4\r\n$14\r\nrunning_script\r\n$-1\r\n$7\r\nengines\r\n*2\r\n$3\r\nLUA\r\n*4\r\n\
         $15\r\nlibraries_count\r\n:1\r\n$15\r\nfunctions_count\r\n:1\r\n"
    );
    let info = c.cmd(&["INFO", "memory"]);
    assert!(info.contains("number_of_libraries:1\r\n"), "{info}");
    assert!(info.contains("number_of_functions:1\r\n"), "{info}");
    assert!(!info.contains("used_memory_vm_functions:0\r\n"), "{info}");
    assert_eq!(c.cmd(&["FUNCTION", "FLUSH", "SYNC"]), "+OK\r\n");
    let info = c.cmd(&["INFO", "memory"]);
    assert!(info.contains("number_of_libraries:0\r\n"), "{info}");
    assert_eq!(c.cmd(&["FUNCTION", "LIST"]), "*0\r\n");
    assert_eq!(
        c.cmd(&["FUNCTION", "FLUSH", "bad"]),
        "-ERR FUNCTION FLUSH only supports SYNC|ASYNC option\r\n"
    );
    assert_eq!(
        c.cmd(&["FUNCTION", "KILL"]),
        "-NOTBUSY No scripts in execution right now.\r\n"
    );
    let help = c.cmd(&["FUNCTION", "HELP"]);
    assert!(help.starts_with("*40\r\n+FUNCTION <subcommand>"), "{help}");
}

#[test]
fn resp3_list_is_maps_and_sets() {
    let s = TestServer::start(&[]);
    let mut c = s.raw3();
    load(&mut c, LIB_X);
    assert_eq!(
        c.cmd(&["FUNCTION", "LIST"]),
        "*1\r\n%3\r\n$12\r\nlibrary_name\r\n$1\r\nx\r\n$6\r\nengine\r\n$3\r\nLUA\r\n$9\r\nfunctions\r\n\
         *1\r\n%3\r\n$4\r\nname\r\n$1\r\nf\r\n$11\r\ndescription\r\n$1\r\nd\r\n$5\r\nflags\r\n~1\r\n+no-writes\r\n"
    );
    assert_eq!(
        c.cmd(&["FUNCTION", "STATS"]),
        "%2\r\n$14\r\nrunning_script\r\n_\r\n$7\r\nengines\r\n%1\r\n$3\r\nLUA\r\n%2\r\n\
         $15\r\nlibraries_count\r\n:1\r\n$15\r\nfunctions_count\r\n:1\r\n"
    );
}

#[test]
fn load_errors() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    let cases: &[(&str, &str)] = &[
        ("return 1", "ERR Missing library metadata"),
        ("#!lua", "ERR Invalid library metadata"),
        ("#!lua name=x foo=1\n", "ERR Invalid metadata value given: foo=1"),
        ("#!lua name=x name=y\n", "ERR Invalid metadata value, name argument was given multiple times"),
        ("#!lua\nreturn 1", "ERR Library name was not given"),
        ("#!luax name=x\n", "ERR Engine 'luax' not found"),
        ("#!lua name=x\nreturn 1", "ERR No functions registered"),
        (
            "#!lua name=a-b\n",
            "ERR Library names can only contain letters, numbers, or underscores(_) and must be at least one character long",
        ),
        (
            "#!lua name=x\nredis.call('ping')",
            "ERR Error registering functions: ERR user_function:2: Script attempted to access nonexistent global variable 'call'",
        ),
        (
            "#!lua name=x\nlocal a = string.len('x')",
            "ERR Error registering functions: ERR user_function:2: Script attempted to access nonexistent global variable 'string'",
        ),
        (
            "#!lua name=x\nredis.register_function('f', function() end) redis.register_function('f', function() end)",
            "ERR Error registering functions: ERR Function already exists in the library",
        ),
        (
            "#!lua name=x\nredis.register_function{function_name='f', callback=function() end, flags={'bad'}}",
            "ERR Error registering functions: ERR unknown flag given",
        ),
        (
            "#!lua name=x\nredis.register_function()",
            "ERR Error registering functions: ERR wrong number of arguments to redis.register_function",
        ),
        (
            "#!lua name=x\nredis.register_function('f', 1)",
            "ERR Error registering functions: ERR second argument to redis.register_function must be a function",
        ),
        (
            "#!lua name=x\nredis.register_function{callback=function() end}",
            "ERR Error registering functions: ERR redis.register_function must get a function name argument",
        ),
        (
            "#!lua name=x\nxx(",
            "ERR Error compiling function: user_function:2: unexpected symbol near '<eof>'",
        ),
    ];
    for (code, want) in cases {
        assert_eq!(load(&mut c, code), format!("-{want}\r\n"), "{code}");
    }
    assert_eq!(
        c.cmd(&["FUNCTION", "LOAD", "bad", "code"]),
        "-ERR Unknown option given: bad\r\n"
    );
    assert_eq!(c.cmd(&["FUNCTION", "LIST"]), "*0\r\n");
    // Registering outside FUNCTION LOAD.
    let t = "#!lua name=t\nredis.register_function('t', function() redis.register_function('t2', function() end) end)";
    load(&mut c, t);
    let r = c.cmd(&["FCALL", "t", "0"]);
    assert!(
        r.starts_with("-ERR Script attempted to access nonexistent global variable 'register_function'")
            || r.contains("register_function"),
        "{r}"
    );
}

#[test]
fn fcall_ro_and_flags() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    load(&mut c, LIB_X);
    load(&mut c, LIB_W);
    load(&mut c, LIB_Z);
    assert_eq!(
        c.cmd(&["FCALL", "f", "1", "a", "b"]),
        "-ERR Write commands are not allowed from read-only scripts. script: f, on @user_function:2.\r\n"
    );
    assert_eq!(
        c.cmd(&["FCALL_RO", "setit", "1", "a", "b"]),
        "-ERR Can not execute a script with write flag using *_ro command.\r\n"
    );
    assert_eq!(c.cmd(&["GET", "a"]), "$-1\r\n");
    assert_eq!(c.cmd(&["FCALL_RO", "nosuch", "0"]), "-ERR Function not found\r\n");
    assert_eq!(c.cmd(&["FCALL", "g", "x"]), "-ERR Bad number of keys provided\r\n");
    assert_eq!(
        c.cmd(&["FCALL", "g", "5", "a"]),
        "-ERR Number of keys can't be greater than number of args\r\n"
    );
    assert_eq!(
        c.cmd(&["FCALL", "g", "-1"]),
        "-ERR Number of keys can't be negative\r\n"
    );
    // A runtime error names the function.
    let e = "#!lua name=e\nredis.register_function('e', function() error('boom') end)";
    load(&mut c, e);
    let r = c.cmd(&["FCALL", "e", "0"]);
    assert!(
        r.starts_with("-ERR user_function:2: boom script: e, on @user_function:2."),
        "{r}"
    );
}

#[test]
fn dump_restore_policies() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    load(&mut c, LIB_Z);
    let payload = bulk(&bcmd(&mut c, &[b"FUNCTION", b"DUMP"]));
    assert_eq!(payload[0], 245);
    assert_eq!(
        bcmd(&mut c, &[b"FUNCTION", b"RESTORE", &payload]),
        b"-ERR Library z already exists\r\n".to_vec()
    );
    assert_eq!(
        bcmd(&mut c, &[b"FUNCTION", b"RESTORE", &payload, b"REPLACE"]),
        b"+OK\r\n".to_vec()
    );
    load(&mut c, LIB_W);
    assert_eq!(
        bcmd(&mut c, &[b"FUNCTION", b"RESTORE", &payload, b"FLUSH"]),
        b"+OK\r\n".to_vec()
    );
    assert_eq!(c.cmd(&["FCALL", "setit", "0"]), "-ERR Function not found\r\n");
    assert_eq!(c.cmd(&["FCALL", "g", "1", "k", "v"]), "*2\r\n$1\r\nk\r\n$1\r\nv\r\n");
    assert_eq!(
        bcmd(&mut c, &[b"FUNCTION", b"RESTORE", &payload, b"bad"]),
        b"-ERR Wrong restore policy given, value should be either FLUSH, APPEND or REPLACE.\r\n".to_vec()
    );
    let mut bad = payload.clone();
    bad[3] ^= 1;
    assert_eq!(
        bcmd(&mut c, &[b"FUNCTION", b"RESTORE", &bad]),
        b"-ERR DUMP payload version or checksum are wrong\r\n".to_vec()
    );
    c.cmd(&["FUNCTION", "FLUSH"]);
    assert_eq!(bcmd(&mut c, &[b"FUNCTION", b"RESTORE", &payload]), b"+OK\r\n".to_vec());
    assert_eq!(c.cmd(&["FCALL", "g", "0"]), "*0\r\n");
}

#[test]
fn dump_restore_with_real_redis() {
    if !real_redis::available() {
        return;
    }
    let redis = real_redis::Redis::start(&[]);
    let s = TestServer::start(&[]);
    let mut r = redis.raw();
    let mut c = s.raw();
    load(&mut r, LIB_X);
    load(&mut c, LIB_Z);
    // Redis -> Larder.
    let from_redis = bulk(&bcmd(&mut r, &[b"FUNCTION", b"DUMP"]));
    assert_eq!(
        bcmd(&mut c, &[b"FUNCTION", b"RESTORE", &from_redis]),
        b"+OK\r\n".to_vec()
    );
    assert_eq!(
        c.cmd(&["FCALL", "f", "1", "a", "b"]),
        "-ERR Write commands are not allowed from read-only scripts. script: f, on @user_function:2.\r\n"
    );
    // Larder -> Redis.
    let from_larder = bulk(&bcmd(&mut c, &[b"FUNCTION", b"DUMP"]));
    assert_eq!(
        bcmd(&mut r, &[b"FUNCTION", b"RESTORE", &from_larder, b"FLUSH"]),
        b"+OK\r\n".to_vec()
    );
    assert_eq!(r.cmd(&["FCALL", "g", "1", "k", "v"]), "*2\r\n$1\r\nk\r\n$1\r\nv\r\n");
    assert_eq!(
        r.cmd(&["FUNCTION", "LIST", "LIBRARYNAME", "x"]),
        c.cmd(&["FUNCTION", "LIST", "LIBRARYNAME", "x"])
    );
}

#[test]
fn differential_with_real_redis() {
    if !real_redis::available() {
        return;
    }
    let redis = real_redis::Redis::start(&[]);
    let s = TestServer::start(&[]);
    let script: Vec<Vec<&str>> = vec![
        vec!["FUNCTION", "FLUSH"],
        vec!["FUNCTION", "LOAD", "return 1"],
        vec!["FUNCTION", "LOAD", "#!lua name=x foo=1\n"],
        vec!["FUNCTION", "LOAD", "#!lua name=x\nredis.call('ping')"],
        vec!["FUNCTION", "LOAD", "#!lua name=x\nredis.register_function('f-1', function() end)"],
        vec!["FUNCTION", "LOAD", "#!lua name=x\nredis.register_function{function_name='f'}"],
        vec!["FUNCTION", "LOAD", "#!lua name=x\nredis.register_function{function_name='f', callback=1}"],
        vec!["FUNCTION", "LOAD", "#!lua name=x\nredis.register_function{function_name='f', callback=function() end, flags='x'}"],
        vec!["FUNCTION", "LOAD", "#!lua name=x\nredis.register_function{function_name='f', callback=function() end, other=1}"],
        vec!["FUNCTION", "LOAD", "#!lua name=x\nredis.register_function(1)"],
        vec!["FUNCTION", "LOAD", LIB_X],
        vec!["FUNCTION", "LOAD", LIB_X],
        vec!["FUNCTION", "LOAD", LIB_W],
        // Several libraries come in Redis's dict order: one at a time.
        vec!["FUNCTION", "LIST", "LIBRARYNAME", "x"],
        vec!["FUNCTION", "LIST", "WITHCODE", "LIBRARYNAME", "w"],
        vec!["FUNCTION", "LIST", "LIBRARYNAME"],
        vec!["FUNCTION", "LIST", "foo"],
        vec!["FCALL", "f", "1", "a", "b"],
        vec!["FCALL", "setit", "1", "a", "b"],
        vec!["FCALL_RO", "setit", "1", "a", "b"],
        vec!["FCALL", "setit", "x"],
        vec!["FCALL", "setit", "3", "a"],
        vec!["FCALL", "nosuch", "0"],
        vec!["FUNCTION", "STATS"],
        vec!["FUNCTION", "KILL"],
        vec!["FUNCTION", "DELETE", "nope"],
        vec!["FUNCTION", "DELETE", "x"],
        vec!["FUNCTION", "RESTORE", "junk"],
        vec!["FUNCTION", "RESTORE", "junk", "bad"],
        vec!["FUNCTION", "FLUSH", "bad"],
        vec!["FUNCTION", "HELP"],
        vec!["FUNCTION", "LOAD", "#!lua name=v\nredis.register_function('v', function(k, a) return {redis.REDIS_VERSION ~= nil, #k, #a} end)"],
        vec!["FCALL", "v", "2", "a", "b", "c"],
        vec!["FCALL_RO", "v", "0"],
        vec!["COMMAND", "INFO", "FCALL", "FCALL_RO"],
        vec!["FUNCTION", "LOAD", "#!lua NAME=Ab\nredis.register_function('F', function() return 1 end)"],
        vec!["FCALL", "f", "0"],
        vec!["FUNCTION", "LOAD", "#!lua name=ab\nredis.register_function('f', function() return 1 end)"],
        vec!["FUNCTION", "LIST", "LIBRARYNAME", "AB"],
        vec!["FUNCTION", "DELETE", "AB"],
        vec!["FUNCTION", "LOAD", "#!lua name=qq\nredis.register_function{function_name='QQ', callback=function() return redis.call('set','x','y') end, flags={'no-writes'}}"],
        vec!["FCALL", "qq", "0"],
        vec!["FUNCTION", "LOAD", "#!lua name=\"q r\"\n"],
        vec!["FUNCTION", "LOAD", "#!LUA name=c2\nredis.register_function('c2', function() return 1 end)"],
        vec!["FUNCTION", "RESTORE", ""],
        vec!["FUNCTION", "FLUSH", "ASYNC"],
        vec!["FUNCTION", "LIST"],
    ];
    for resp3 in [false, true] {
        let (mut r, mut c) = if resp3 {
            let mut r = redis.raw();
            r.cmd(&["HELLO", "3"]);
            (r, s.raw3())
        } else {
            (redis.raw(), s.raw())
        };
        for cmd in &script {
            let want = r.cmd(cmd);
            let got = c.cmd(cmd);
            assert_eq!(got, want, "{cmd:?} (resp3: {resp3})");
        }
    }
}

#[test]
fn command_info_matches_redis() {
    if !real_redis::available() {
        return;
    }
    let redis = real_redis::Redis::start(&[]);
    let s = TestServer::start(&[]);
    let mut r = redis.raw();
    let mut c = s.raw();
    for name in [
        "function|delete",
        "function|dump",
        "function|flush",
        "function|help",
        "function|kill",
        "function|list",
        "function|load",
        "function|restore",
        "function|stats",
    ] {
        let cmd = ["COMMAND", "INFO", name];
        assert_eq!(c.cmd(&cmd), r.cmd(&cmd), "{name}");
    }
}

#[test]
fn functions_survive_save_and_restart() {
    let dir = tempdir("functions-rdb");
    {
        let s = start_in(&dir, &["--save", ""]);
        let mut c = s.raw();
        load(&mut c, LIB_Z);
        load(&mut c, LIB_X);
        assert_eq!(c.cmd(&["SAVE"]), "+OK\r\n");
    }
    let s = start_in(&dir, &["--save", ""]);
    let mut c = s.raw();
    assert_eq!(c.cmd(&["FCALL", "g", "1", "k", "v"]), "*2\r\n$1\r\nk\r\n$1\r\nv\r\n");
    let list = c.cmd(&["FUNCTION", "LIST", "LIBRARYNAME", "x"]);
    assert!(list.contains("no-writes"), "{list}");
    drop(s);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn rdb_with_functions_loads_into_real_redis() {
    if !real_redis::available() {
        return;
    }
    let dir = tempdir("functions-rdb-redis");
    {
        let s = start_in(&dir, &["--save", ""]);
        let mut c = s.raw();
        load(&mut c, LIB_Z);
        assert_eq!(c.cmd(&["SAVE"]), "+OK\r\n");
    }
    let redis = real_redis::Redis::start_in(&dir, "dump.rdb", &[]);
    let mut r = redis.raw();
    assert_eq!(r.cmd(&["FCALL", "g", "1", "k", "v"]), "*2\r\n$1\r\nk\r\n$1\r\nv\r\n");
    drop(redis);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn functions_survive_aof_restart() {
    for preamble in ["yes", "no"] {
        let dir = tempdir("functions-aof");
        let args = [
            "--save",
            "",
            "--appendonly",
            "yes",
            "--appendfsync",
            "always",
            "--aof-use-rdb-preamble",
            preamble,
        ];
        {
            let s = start_in(&dir, &args);
            let mut c = s.raw();
            load(&mut c, LIB_Z);
            load(&mut c, LIB_W);
            load(&mut c, LIB_X);
            assert_eq!(c.cmd(&["FUNCTION", "DELETE", "x"]), "+OK\r\n");
            assert_eq!(c.cmd(&["FCALL", "setit", "1", "key", "val"]), "+OK\r\n");
        }
        {
            let s = start_in(&dir, &args);
            let mut c = s.raw();
            assert_eq!(c.cmd(&["FCALL", "g", "0"]), "*0\r\n", "preamble {preamble}");
            assert_eq!(c.cmd(&["FCALL", "f", "0"]), "-ERR Function not found\r\n");
            assert_eq!(c.cmd(&["GET", "key"]), "$3\r\nval\r\n", "preamble {preamble}");
            // A rewrite's base keeps them too.
            assert_eq!(
                c.cmd(&["BGREWRITEAOF"]),
                "+Background append only file rewriting started\r\n"
            );
            let mut rc = s.conn();
            persist_util::wait_info(&mut rc, "aof_rewrite_in_progress", "0");
            std::thread::sleep(std::time::Duration::from_millis(200));
        }
        let s = start_in(&dir, &args);
        let mut c = s.raw();
        assert_eq!(
            c.cmd(&["FCALL", "setit", "1", "k2", "v2"]),
            "+OK\r\n",
            "preamble {preamble}"
        );
        assert_eq!(c.cmd(&["FCALL", "g", "0"]), "*0\r\n");
        drop(s);
        let _ = std::fs::remove_dir_all(&dir);
    }
}

#[test]
fn function_kill_and_stats_while_busy() {
    let s = TestServer::start(&["--busy-reply-threshold", "100"]);
    let mut c = s.raw();
    let slow =
        "#!lua name=slow\nredis.register_function('slow', function() local i = 0 while true do i = i + 1 end end)";
    assert_eq!(load(&mut c, slow), "$4\r\nslow\r\n");
    // Library code that never ends is stopped at load.
    assert_eq!(
        load(&mut c, "#!lua name=loop\nwhile true do end"),
        "-ERR Error registering functions: ERR FUNCTION LOAD timeout\r\n"
    );
    c.send(b"*3\r\n$5\r\nFCALL\r\n$4\r\nslow\r\n$1\r\n0\r\n");
    std::thread::sleep(std::time::Duration::from_millis(400));
    let mut o = s.raw();
    let busy = "-BUSY Redis is busy running a script. You can only call FUNCTION KILL or SHUTDOWN NOSAVE.\r\n";
    assert_eq!(o.cmd(&["PING"]), busy);
    assert_eq!(o.cmd(&["SCRIPT", "KILL"]), busy);
    let stats = o.cmd(&["FUNCTION", "STATS"]);
    assert!(
        stats.starts_with(
            "*4\r\n$14\r\nrunning_script\r\n*6\r\n$4\r\nname\r\n$4\r\nslow\r\n$7\r\ncommand\r\n*3\r\n$5\r\nFCALL\r\n$4\r\nslow\r\n$1\r\n0\r\n$11\r\nduration_ms\r\n:"
        ),
        "{stats}"
    );
    assert_eq!(o.cmd(&["FUNCTION", "KILL"]), "+OK\r\n");
    let r = String::from_utf8_lossy(&c.read_replies(1)).into_owned();
    assert_eq!(
        r,
        "-ERR Script killed by user with SCRIPT KILL... script: slow, on @user_function:2.\r\n"
    );
    assert_eq!(
        o.cmd(&["FUNCTION", "KILL"]),
        "-NOTBUSY No scripts in execution right now.\r\n"
    );
    assert_eq!(c.cmd(&["PING"]), "+PONG\r\n");
}

#[test]
fn client_pause_write_holds_only_writing_functions() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    load(&mut c, LIB_W);
    let ro = "#!lua name=r\nredis.register_function{function_name='ro', callback=function() return 1 end, flags={'no-writes'}}";
    load(&mut c, ro);
    let mut p = s.raw();
    assert_eq!(p.cmd(&["CLIENT", "PAUSE", "600", "WRITE"]), "+OK\r\n");
    let t = std::time::Instant::now();
    assert_eq!(c.cmd(&["FCALL", "ro", "0"]), ":1\r\n");
    assert_eq!(c.cmd(&["FCALL_RO", "ro", "0"]), ":1\r\n");
    assert!(t.elapsed() < std::time::Duration::from_millis(400));
    assert_eq!(c.cmd(&["FCALL", "setit", "1", "k", "v"]), "+OK\r\n");
    assert!(t.elapsed() >= std::time::Duration::from_millis(450));
}

#[test]
fn dump_payload_is_byte_identical_to_redis() {
    if !real_redis::available() {
        return;
    }
    let redis = real_redis::Redis::start(&[]);
    let s = TestServer::start(&[]);
    let mut r = redis.raw();
    let mut c = s.raw();
    // One library (several come in Redis's dict order); the code is long
    // enough to be LZF-compressed.
    load(&mut r, LIB_X);
    load(&mut c, LIB_X);
    let want = bcmd(&mut r, &[b"FUNCTION", b"DUMP"]);
    assert_eq!(bcmd(&mut c, &[b"FUNCTION", b"DUMP"]), want);
    assert_eq!(bulk(&want)[1] >> 6, 3, "LZF-encoded string");
    // Empty: only the footer.
    r.cmd(&["FUNCTION", "FLUSH"]);
    c.cmd(&["FUNCTION", "FLUSH"]);
    assert_eq!(
        bcmd(&mut c, &[b"FUNCTION", b"DUMP"]),
        bcmd(&mut r, &[b"FUNCTION", b"DUMP"])
    );
}
