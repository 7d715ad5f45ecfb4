#![allow(clippy::unwrap_used)]
//! Lua scripting: EVAL, EVALSHA, EVAL_RO, EVALSHA_RO and SCRIPT, checked
//! against the replies of a real Redis 7 (error texts byte for byte,
//! SHA-1s included): conversions both ways, redis.call vs redis.pcall,
//! the sandbox, the script cache, read-only scripts, cjson and bit, busy
//! scripts and SCRIPT KILL, and effects replication into the AOF.

mod common;

use std::time::{Duration, Instant};

use common::resp::{bulk, int};
use common::{RawConn, TestServer};

fn server() -> TestServer {
    TestServer::start(&[])
}

fn eval(r: &mut RawConn, body: &str, keys: &[&str], args: &[&str]) -> String {
    let n = keys.len().to_string();
    let mut v = vec!["EVAL", body, n.as_str()];
    v.extend_from_slice(keys);
    v.extend_from_slice(args);
    r.cmd(&v)
}

/// An array of already-encoded replies.
fn seq(items: &[&str]) -> String {
    format!("*{}\r\n{}", items.len(), items.concat())
}

/// Waits until the server has loaded its data (no more -LOADING).
fn wait_loaded(r: &mut RawConn) {
    let start = Instant::now();
    while r.cmd(&["EXISTS", "x"]).starts_with("-LOADING") {
        assert!(start.elapsed() < Duration::from_secs(10), "still loading");
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn err(msg: &str) -> String {
    format!("-{msg}\r\n")
}

#[test]
fn returns_every_type() {
    let srv = server();
    let mut r = srv.raw();
    assert_eq!(eval(&mut r, "return 1", &[], &[]), int(1));
    assert_eq!(eval(&mut r, "return 3.99", &[], &[]), int(3));
    assert_eq!(eval(&mut r, "return -3.99", &[], &[]), int(-3));
    assert_eq!(eval(&mut r, "return 'ciao'", &[], &[]), bulk("ciao"));
    assert_eq!(eval(&mut r, "return true", &[], &[]), int(1));
    assert_eq!(eval(&mut r, "return false", &[], &[]), "$-1\r\n");
    assert_eq!(eval(&mut r, "return nil", &[], &[]), "$-1\r\n");
    assert_eq!(eval(&mut r, "return {ok='fine'}", &[], &[]), "+fine\r\n");
    assert_eq!(eval(&mut r, "return {err='My err'}", &[], &[]), err("My err"));
    assert_eq!(eval(&mut r, "return {err=1}", &[], &[]), "*0\r\n");
    assert_eq!(
        eval(&mut r, "return {1,2,3,'ciao',{1,2}}", &[], &[]),
        format!("*5\r\n:1\r\n:2\r\n:3\r\n{}*2\r\n:1\r\n:2\r\n", bulk("ciao"))
    );
    // Arrays end at the first nil.
    assert_eq!(eval(&mut r, "return {1,2,nil,4}", &[], &[]), "*2\r\n:1\r\n:2\r\n");
    assert_eq!(eval(&mut r, "return {double=3.5}", &[], &[]), bulk("3.5"));
    assert_eq!(eval(&mut r, "return redis.status_reply('FINE')", &[], &[]), "+FINE\r\n");
    assert_eq!(
        eval(&mut r, "return redis.error_reply('My err')", &[], &[]),
        err("My err")
    );
    assert_eq!(eval(&mut r, "return redis.error_reply('x')", &[], &[]), err("ERR x"));
    assert_eq!(
        eval(&mut r, "return redis.status_reply(1)", &[], &[]),
        err("ERR wrong number or type of arguments")
    );
    // RESP3 scripts and clients.
    let mut r3 = srv.raw3();
    assert_eq!(eval(&mut r3, "redis.setresp(3) return true", &[], &[]), "#t\r\n");
    assert_eq!(eval(&mut r3, "return nil", &[], &[]), "_\r\n");
    assert_eq!(eval(&mut r3, "return {double=3.5}", &[], &[]), ",3.5\r\n");
    assert_eq!(
        eval(&mut r3, "return {map={a=1}}", &[], &[]),
        format!("%1\r\n{}:1\r\n", bulk("a"))
    );
    assert_eq!(
        eval(&mut r3, "return {set={a=true}}", &[], &[]),
        format!("~1\r\n{}", bulk("a"))
    );
    assert_eq!(eval(&mut r3, "return {big_number='123'}", &[], &[]), "(123\r\n");
}

#[test]
fn command_replies_to_lua() {
    let srv = server();
    let mut r = srv.raw();
    r.cmd(&["HSET", "h", "f", "v"]);
    r.cmd(&["RPUSH", "l", "a", "b"]);
    assert_eq!(eval(&mut r, "return redis.call('ping')", &[], &[]), "+PONG\r\n");
    assert_eq!(eval(&mut r, "return redis.call('ping').ok", &[], &[]), bulk("PONG"));
    assert_eq!(
        eval(&mut r, "return redis.call('get','nokey') == false", &[], &[]),
        int(1)
    );
    assert_eq!(
        eval(&mut r, "return redis.call('lrange','l',0,-1)", &[], &[]),
        seq(&[&bulk("a"), &bulk("b")])
    );
    assert_eq!(
        eval(&mut r, "return type(redis.call('llen','l'))", &[], &[]),
        bulk("number")
    );
    // RESP3 inside the script: maps, doubles, nulls as nil.
    assert_eq!(
        eval(
            &mut r,
            "redis.setresp(3) local r = redis.call('hgetall','h') return r.map.f",
            &[],
            &[]
        ),
        bulk("v")
    );
    assert_eq!(
        eval(
            &mut r,
            "redis.setresp(3) return redis.call('get','nokey') == nil",
            &[],
            &[]
        ),
        int(1)
    );
    r.cmd(&["ZADD", "z", "1.5", "m"]);
    assert_eq!(
        eval(
            &mut r,
            "redis.setresp(3) return redis.call('zscore','z','m').double",
            &[],
            &[]
        ),
        int(1)
    );
    // Numbers as arguments: %.17g.
    assert_eq!(eval(&mut r, "return redis.call('set','n',3.5)", &[], &[]), "+OK\r\n");
    assert_eq!(r.cmd(&["GET", "n"]), bulk("3.5"));
    assert_eq!(
        eval(
            &mut r,
            "redis.call('set','n',10) return redis.call('get','n')",
            &[],
            &[]
        ),
        bulk("10")
    );
}

#[test]
fn keys_and_argv() {
    let srv = server();
    let mut r = srv.raw();
    assert_eq!(
        eval(
            &mut r,
            "return {KEYS[1],KEYS[2],ARGV[1],#KEYS,#ARGV}",
            &["k1", "k2"],
            &["a1"]
        ),
        format!("*5\r\n{}{}{}:2\r\n:1\r\n", bulk("k1"), bulk("k2"), bulk("a1"))
    );
    assert_eq!(
        eval(&mut r, "return redis.call('set',KEYS[1],ARGV[1])", &["k"], &["v"]),
        "+OK\r\n"
    );
    assert_eq!(r.cmd(&["GET", "k"]), bulk("v"));
    assert_eq!(
        r.cmd(&["EVAL", "return 1", "2", "a"]),
        err("ERR Number of keys can't be greater than number of args")
    );
    assert_eq!(
        r.cmd(&["EVAL", "return 1", "-1"]),
        err("ERR Number of keys can't be negative")
    );
    assert_eq!(
        r.cmd(&["EVAL", "return 1", "abc"]),
        err("ERR value is not an integer or out of range")
    );
    assert_eq!(
        r.cmd(&["EVAL", "return 1"]),
        err("ERR wrong number of arguments for 'eval' command")
    );
}

#[test]
fn touches_undeclared_keys_atomically() {
    let srv = server();
    let mut r = srv.raw();
    // Keys in many shards, none declared.
    let body = "for i = 1, 100 do redis.call('set', 'key:' .. i, i) end return redis.call('dbsize')";
    assert_eq!(eval(&mut r, body, &[], &[]), int(100));
    assert_eq!(r.cmd(&["GET", "key:77"]), bulk("77"));
    assert_eq!(
        eval(
            &mut r,
            "local s = 0 for i = 1, 100 do s = s + redis.call('get', 'key:' .. i) end return s",
            &[],
            &[]
        ),
        int(5050)
    );
}

#[test]
fn call_errors_and_pcall() {
    let srv = server();
    let mut r = srv.raw();
    r.cmd(&["SET", "s", "a"]);
    let cases: &[(&str, &str)] = &[
        (
            "return redis.call('incr','s')",
            "ERR value is not an integer or out of range script: c243b9f46db13ba8f69da41b45a77708832babed, on @user_script:1.",
        ),
        (
            "return redis.call('nosuch','s')",
            "ERR Unknown Redis command called from script script: 5156e6cdbb6013ffea091d15c4372684596beab2, on @user_script:1.",
        ),
        (
            "return redis.call('get')",
            "ERR Wrong number of args calling Redis command from script script: f187dee77f607f7cff00bbabc9df38507582c78d, on @user_script:1.",
        ),
        (
            "return redis.call('multi')",
            "ERR This Redis command is not allowed from script script: c329a1a294be6bf95b44144f7502610661ae925a, on @user_script:1.",
        ),
        (
            "return redis.call()",
            "ERR Please specify at least one argument for this redis lib call script: 0a907e1429221a4d85516cab7fd219a82a9439d8, on @user_script:1.",
        ),
        (
            "return redis.call({})",
            "ERR Lua redis lib command arguments must be strings or integers script: 80747816df1f4411f7c442b928fce6a814214839, on @user_script:1.",
        ),
        (
            "return error('boom')",
            "ERR user_script:1: boom script: 57b11f4c6516f4ef2661c6423451796106f8393a, on @user_script:1.",
        ),
        (
            "error({err='X y'})",
            "X y script: 4fba4bac04df521d52f90e9091a962514f12c323, on @user_script:1.",
        ),
        (
            "return redis.setresp(4)",
            "ERR RESP version must be 2 or 3. script: 921c0a48021d97dfd5884aeea41875972c7804d9, on @user_script:1.",
        ),
        (
            "return 1+",
            "ERR Error compiling script (new function): user_script:1: unexpected symbol near '<eof>'",
        ),
    ];
    for (body, want) in cases {
        assert_eq!(eval(&mut r, body, &[], &[]), err(want), "{body}");
    }
    // pcall returns the error as a value.
    assert_eq!(
        eval(&mut r, "return redis.pcall('incr','s')", &[], &[]),
        err("ERR value is not an integer or out of range")
    );
    assert_eq!(
        eval(&mut r, "return redis.pcall('nosuch')", &[], &[]),
        err("ERR Unknown Redis command called from script")
    );
    assert_eq!(
        eval(&mut r, "local t = redis.pcall('incr','s') return t.err", &[], &[]),
        bulk("ERR value is not an integer or out of range")
    );
    // Lua's pcall catches redis.call's error as its message.
    assert_eq!(
        eval(
            &mut r,
            "local ok, e = pcall(redis.call, 'incr', 's') return {tostring(ok), e}",
            &[],
            &[]
        ),
        seq(&[&bulk("false"), &bulk("ERR value is not an integer or out of range")])
    );
    // Errors are counted against the script's own commands.
    let info = r.cmd(&["INFO", "commandstats"]);
    assert!(info.contains("cmdstat_incr:calls="), "{info}");
}

#[test]
fn sandbox() {
    let srv = server();
    let mut r = srv.raw();
    assert_eq!(
        eval(&mut r, "return a", &[], &[]),
        err("ERR user_script:1: Script attempted to access nonexistent global variable 'a' script: bbfcd1ececc90deec823f7fb730e4bfb2a4ba625, on @user_script:1.")
    );
    assert_eq!(
        eval(&mut r, "a=1", &[], &[]),
        err("ERR user_script:1: Attempt to modify a readonly table script: 86eda770a6060824b090dd4df091e3bd4121279c, on @user_script:1.")
    );
    assert_eq!(
        eval(&mut r, "redis.call = nil", &[], &[]),
        err("ERR user_script:1: Attempt to modify a readonly table script: 2786c35ed73d3860851cf52e0b5dfbbc0bdb4803, on @user_script:1.")
    );
    assert_eq!(
        eval(&mut r, "print(1)", &[], &[]),
        err("ERR user_script:1: Script attempted to access nonexistent global variable 'print' script: f36c28972be9cd625bfda7a61a114cb2ed6a0436, on @user_script:1.")
    );
    for name in ["loadfile", "dofile", "require", "io", "debug", "package"] {
        let body = format!("return {name}");
        let got = eval(&mut r, &body, &[], &[]);
        assert!(got.contains("nonexistent global variable"), "{name}: {got}");
    }
    // os holds only clock; a loaded chunk runs sandboxed too.
    assert_eq!(eval(&mut r, "return type(os.clock())", &[], &[]), bulk("number"));
    assert!(eval(&mut r, "return os.execute", &[], &[]).starts_with("$-1"));
    assert!(eval(&mut r, "return loadstring('return x')()", &[], &[]).contains("nonexistent global variable 'x'"));
    assert!(eval(&mut r, "return getfenv(0).os", &[], &[]).starts_with("$-1"));
    // Local variables and functions are fine.
    assert_eq!(
        eval(
            &mut r,
            "local function f(x) return x * 2 end local y = f(21) return y",
            &[],
            &[]
        ),
        int(42)
    );
    assert_eq!(
        eval(&mut r, "return string.rep('x',3) .. table.concat({1,2},'-')", &[], &[]),
        bulk("xxx1-2")
    );
    assert_eq!(
        eval(&mut r, "return redis.REDIS_VERSION_NUM > 0x070000", &[], &[]),
        int(1)
    );
    assert_eq!(eval(&mut r, "return redis.replicate_commands()", &[], &[]), int(1));
    assert_eq!(
        eval(&mut r, "redis.set_repl(redis.REPL_ALL) return redis.REPL_AOF", &[], &[]),
        int(1)
    );
    assert_eq!(
        eval(&mut r, "redis.log(redis.LOG_WARNING, 'hello') return 1", &[], &[]),
        int(1)
    );
}

#[test]
fn sha1hex_and_script_cache() {
    let srv = server();
    let mut r = srv.raw();
    assert_eq!(
        eval(&mut r, "return redis.sha1hex('')", &[], &[]),
        bulk("da39a3ee5e6b4b0d3255bfef95601890afd80709")
    );
    let sha = "e0e1f9fabfc9d4800c877a703b823ac0578ff8db";
    assert_eq!(
        r.cmd(&["EVALSHA", sha, "0"]),
        err("NOSCRIPT No matching script. Please use EVAL.")
    );
    assert_eq!(r.cmd(&["SCRIPT", "LOAD", "return 1"]), bulk(sha));
    assert_eq!(r.cmd(&["EVALSHA", sha, "0"]), int(1));
    assert_eq!(r.cmd(&["EVALSHA", &sha.to_uppercase(), "0"]), int(1));
    assert_eq!(r.cmd(&["EVALSHA_RO", sha, "0"]), int(1));
    assert_eq!(r.cmd(&["SCRIPT", "EXISTS", sha, "abc"]), "*2\r\n:1\r\n:0\r\n");
    // EVAL caches its script too.
    eval(&mut r, "return 2", &[], &[]);
    let sha2 = "7f923f79fe76194c868d7e1d0820de36700eb649";
    assert_eq!(r.cmd(&["SCRIPT", "EXISTS", sha2]), "*1\r\n:1\r\n");
    let info = r.cmd(&["INFO", "memory"]);
    assert!(info.contains("\r\nnumber_of_cached_scripts:3\r\n"), "{info}");
    assert!(info.contains("\r\nused_memory_lua:"), "{info}");
    assert_eq!(r.cmd(&["SCRIPT", "FLUSH"]), "+OK\r\n");
    assert!(r
        .cmd(&["INFO", "memory"])
        .contains("\r\nnumber_of_cached_scripts:0\r\n"));
    assert_eq!(r.cmd(&["SCRIPT", "EXISTS", sha, sha2]), "*2\r\n:0\r\n:0\r\n");
    assert_eq!(r.cmd(&["SCRIPT", "FLUSH", "ASYNC"]), "+OK\r\n");
    assert_eq!(
        r.cmd(&["SCRIPT", "FLUSH", "x"]),
        err("ERR SCRIPT FLUSH only support SYNC|ASYNC option")
    );
    assert_eq!(
        r.cmd(&["SCRIPT", "LOAD", "return 1+"]),
        err("ERR Error compiling script (new function): user_script:1: unexpected symbol near '<eof>'")
    );
    assert_eq!(
        r.cmd(&["SCRIPT", "KILL"]),
        err("NOTBUSY No scripts in execution right now.")
    );
    assert_eq!(
        r.cmd(&["SCRIPT", "FOO"]),
        err("ERR unknown subcommand 'FOO'. Try SCRIPT HELP.")
    );
    assert!(r.cmd(&["SCRIPT", "HELP"]).starts_with("*17\r\n"));
}

#[test]
fn read_only_scripts() {
    let srv = server();
    let mut r = srv.raw();
    assert_eq!(
        r.cmd(&["EVAL_RO", "return redis.call('set','a','b')", "1", "a"]),
        err("ERR Write commands are not allowed from read-only scripts. script: ff967d0ae0e68b4f9e360fa91c54598bc25ad9b6, on @user_script:1.")
    );
    assert_eq!(r.cmd(&["EXISTS", "a"]), int(0));
    assert_eq!(
        eval(&mut r, "#!lua flags=no-writes\nreturn redis.call('set','a','b')", &[], &[]),
        err("ERR Write commands are not allowed from read-only scripts. script: 6acb400a50fe96e33eca4e0af6e9dcfb21193726, on @user_script:2.")
    );
    assert_eq!(
        eval(&mut r, "#!lua\nreturn redis.call('set','zz','b')", &[], &[]),
        "+OK\r\n"
    );
    assert_eq!(
        eval(&mut r, "#!foo\nreturn 1", &[], &[]),
        err("ERR Unexpected engine in script shebang: #!foo")
    );
    assert_eq!(
        eval(&mut r, "#!lua flags=bad\nreturn 1", &[], &[]),
        err("ERR Unexpected flag in script shebang: bad")
    );
    assert_eq!(
        r.cmd(&["EVAL_RO", "return redis.call('get','zz')", "1", "zz"]),
        bulk("b")
    );
    let sha = r.cmd(&["SCRIPT", "LOAD", "return redis.call('del','zz')"]);
    let sha = sha.lines().nth(1).unwrap().to_string();
    assert!(r
        .cmd(&["EVALSHA_RO", &sha, "0"])
        .contains("Write commands are not allowed"));
    assert_eq!(r.cmd(&["EVALSHA", &sha, "0"]), int(1));
}

#[test]
fn cjson_and_bit() {
    let srv = server();
    let mut r = srv.raw();
    assert_eq!(eval(&mut r, "return cjson.encode({})", &[], &[]), bulk("{}"));
    assert_eq!(
        eval(&mut r, "return cjson.encode({1,2,'x/y',true,{a=1.5}})", &[], &[]),
        bulk("[1,2,\"x\\/y\",true,{\"a\":1.5}]")
    );
    assert_eq!(
        eval(
            &mut r,
            "local t = cjson.decode(ARGV[1]) return {t.a[3], t.s, tostring(t.b == cjson.null)}",
            &[],
            &[r#"{"a":[1,2,3],"s":"\u00e9","b":null}"#]
        ),
        seq(&[&int(3), &bulk("é"), &bulk("true")])
    );
    // A round trip.
    let json = r#"{"name":"job","attempts":3,"data":[1,"two",false]}"#;
    assert_eq!(
        eval(&mut r, "local t = cjson.decode(ARGV[1]) local u = cjson.decode(cjson.encode(t)) return {u.name, u.attempts, u.data[2], tostring(u.data[3])}", &[], &[json]),
        seq(&[&bulk("job"), &int(3), &bulk("two"), &bulk("false")])
    );
    assert_eq!(
        eval(&mut r, "return cjson.decode('x')", &[], &[]),
        err("ERR user_script:1: Expected value but found invalid token at character 1 script: 5f58dd5cefb3eb0313af3534f36be4b83e79ae80, on @user_script:1.")
    );
    assert_eq!(
        eval(&mut r, "return {bit.band(0xff, 0x0f), bit.tohex(255), bit.tohex(-1, -4), bit.lshift(1, 31), bit.bxor(5,3), bit.bswap(1), bit.rol(1,33), bit.arshift(-256, 4), bit.bnot(0), bit.bor(1,2,4), bit.rshift(-1, 28), bit.ror(1, 1), bit.tobit(0xffffffff)}", &[], &[]),
        format!(
            "*13\r\n:15\r\n{}{}:-2147483648\r\n:6\r\n:16777216\r\n:2\r\n:-16\r\n:-1\r\n:7\r\n:15\r\n:-2147483648\r\n:-1\r\n",
            bulk("000000ff"),
            bulk("FFFF")
        )
    );
    assert_eq!(
        eval(&mut r, "return bit.tobit()", &[], &[]),
        err("ERR user_script:1: bad argument #1 to 'tobit' (number expected, got no value) script: 6058df6fbdf91c1b96015f209fb1a490233f2272, on @user_script:1.")
    );
}

#[test]
fn busy_script_and_script_kill() {
    // One I/O thread: scripts run off it, so the other connections on it
    // are served (-BUSY, SCRIPT KILL) while one runs.
    let srv = TestServer::start(&["--io-threads", "1"]);
    let mut admin = srv.raw();
    assert_eq!(admin.cmd(&["CONFIG", "SET", "busy-reply-threshold", "100"]), "+OK\r\n");
    assert_eq!(
        admin.cmd(&["CONFIG", "GET", "lua-time-limit"]),
        seq(&[&bulk("lua-time-limit"), &bulk("100")])
    );
    let mut runner = srv.raw();
    let mut other = srv.raw();
    runner.send(b"*3\r\n$4\r\nEVAL\r\n$17\r\nwhile true do end\r\n$1\r\n0\r\n");
    let start = Instant::now();
    loop {
        let got = other.cmd(&["PING"]);
        if got.starts_with("-BUSY") {
            assert_eq!(
                got,
                err("BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.")
            );
            break;
        }
        assert_eq!(got, "+PONG\r\n");
        assert!(start.elapsed() < Duration::from_secs(10), "never busy");
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(other.cmd(&["GET", "x"]).starts_with("-BUSY"));
    assert!(other.cmd(&["EVAL", "return 1", "0"]).starts_with("-BUSY"));
    assert_eq!(other.cmd(&["SCRIPT", "KILL"]), "+OK\r\n");
    let got = String::from_utf8(runner.read_replies(1)).unwrap();
    assert_eq!(
        got,
        err("ERR Script killed by user with SCRIPT KILL... script: 694a5fe1ddb97a4c6a1bf299d9537c7d3d0f84e7, on @user_script:1.")
    );
    assert_eq!(other.cmd(&["PING"]), "+PONG\r\n");
    assert_eq!(runner.cmd(&["PING"]), "+PONG\r\n");
    // A script caught in pcall is killed all the same, and one looping
    // inside a coroutine.
    kill_looping(
        &mut runner,
        &mut other,
        "while true do pcall(function() while true do end end) end",
    );
    kill_looping(
        &mut runner,
        &mut other,
        "local co = coroutine.wrap(function() while true do end end) co()",
    );
    // A script that wrote cannot be killed.
    let body =
        "redis.call('set','w','1') local t = redis.call('time') while redis.call('time')[1] - t[1] < 2 do end return 1";
    let cmd = format!("*3\r\n$4\r\nEVAL\r\n${}\r\n{}\r\n$1\r\n0\r\n", body.len(), body);
    runner.send(cmd.as_bytes());
    let start = Instant::now();
    while !other.cmd(&["PING"]).starts_with("-BUSY") {
        assert!(start.elapsed() < Duration::from_secs(10), "never busy");
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(other
        .cmd(&["SCRIPT", "KILL"])
        .starts_with("-UNKILLABLE Sorry the script already executed write commands"));
    assert_eq!(String::from_utf8(runner.read_replies(1)).unwrap(), int(1));
    assert_eq!(other.cmd(&["GET", "w"]), bulk("1"));
}

#[test]
fn scripts_in_transactions_and_blocking() {
    let srv = server();
    let mut r = srv.raw();
    assert_eq!(r.cmd(&["MULTI"]), "+OK\r\n");
    assert_eq!(r.cmd(&["EVAL", "return redis.call('incr','c')", "0"]), "+QUEUED\r\n");
    assert_eq!(r.cmd(&["INCR", "c"]), "+QUEUED\r\n");
    assert_eq!(r.cmd(&["EXEC"]), "*2\r\n:1\r\n:2\r\n");
    // A script's write touches watched keys.
    let mut w = srv.raw();
    assert_eq!(w.cmd(&["WATCH", "wk"]), "+OK\r\n");
    assert_eq!(eval(&mut r, "return redis.call('set','wk','1')", &[], &[]), "+OK\r\n");
    assert_eq!(w.cmd(&["MULTI"]), "+OK\r\n");
    assert_eq!(w.cmd(&["PING"]), "+QUEUED\r\n");
    assert_eq!(w.cmd(&["EXEC"]), "*-1\r\n");
    // Coroutines work.
    assert_eq!(
        eval(
            &mut r,
            "local c = coroutine.wrap(function(a) local b = coroutine.yield(a+1) return b*2 end) return {c(1), c(5)}",
            &[],
            &[]
        ),
        "*2\r\n:2\r\n:10\r\n"
    );
    // Blocking commands are refused (noscript in Redis 7).
    assert_eq!(
        eval(&mut r, "return redis.call('blpop','nolist',0)", &[], &[]),
        err("ERR This Redis command is not allowed from script script: abca6f0af300bbde50e15c9226201a7d087652cf, on @user_script:1.")
    );
    // SELECT inside a script does not change the caller's database.
    assert_eq!(
        eval(
            &mut r,
            "redis.call('select',5) return redis.call('set','in5','x')",
            &[],
            &[]
        ),
        "+OK\r\n"
    );
    assert_eq!(r.cmd(&["EXISTS", "in5"]), int(0));
    r.cmd(&["SELECT", "5"]);
    assert_eq!(r.cmd(&["GET", "in5"]), bulk("x"));
    // A push by a script serves a blocked client.
    let mut blocked = srv.raw();
    blocked.send(b"*3\r\n$5\r\nBLPOP\r\n$1\r\nq\r\n$1\r\n5\r\n");
    std::thread::sleep(Duration::from_millis(100));
    let mut r2 = srv.raw();
    assert_eq!(eval(&mut r2, "return redis.call('rpush','q','job')", &[], &[]), int(1));
    assert_eq!(
        String::from_utf8(blocked.read_replies(1)).unwrap(),
        seq(&[&bulk("q"), &bulk("job")])
    );
}

#[test]
fn effects_are_logged_in_the_aof() {
    let dir = std::env::temp_dir().join(format!("larder-lua-aof-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let d = dir.to_str().unwrap().to_string();
    {
        let srv = TestServer::start(&["--appendonly", "yes", "--dir", &d]);
        let mut r = srv.raw();
        wait_loaded(&mut r);
        assert_eq!(
            eval(
                &mut r,
                "redis.call('set','a','1') redis.call('incr','c') return redis.call('get','nokey')",
                &[],
                &[]
            ),
            "$-1\r\n"
        );
        assert_eq!(eval(&mut r, "return redis.call('get','a')", &[], &[]), bulk("1"));
        std::thread::sleep(Duration::from_millis(300));
        let incr = std::fs::read_dir(dir.join("appendonlydir"))
            .unwrap()
            .filter_map(|e| e.ok())
            .find(|e| e.file_name().to_string_lossy().ends_with(".incr.aof"))
            .unwrap();
        let text = String::from_utf8(std::fs::read(incr.path()).unwrap()).unwrap();
        let flat: String = text
            .split("\r\n")
            .filter(|l| !l.starts_with('*') && !l.starts_with('$'))
            .collect::<Vec<_>>()
            .join(" ");
        assert_eq!(flat.trim(), "SELECT 0 MULTI set a 1 incr c EXEC", "{text:?}");
    }
    // And replayed at start.
    let srv = TestServer::start(&["--appendonly", "yes", "--dir", &d]);
    let mut r = srv.raw();
    wait_loaded(&mut r);
    assert_eq!(r.cmd(&["MGET", "a", "c"]), seq(&[&bulk("1"), &bulk("1")]));
    drop(srv);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn command_info() {
    let srv = server();
    let mut r = srv.raw();
    let info = r.cmd(&["COMMAND", "INFO", "eval"]);
    assert!(
        info.contains("noscript") && info.contains("movablekeys") && info.contains("keynum"),
        "{info}"
    );
    assert!(!info.contains("all_shards"));
    assert!(info.contains("We cannot tell how the keys will be used so we assume the worst, RW and UPDATE"));
    assert!(!r.cmd(&["COMMAND", "INFO", "evalsha"]).contains("notes"));
    assert!(r
        .cmd(&["COMMAND", "INFO", "eval_ro"])
        .contains("assume the worst, RO and ACCESS"));
    assert_eq!(
        r.cmd(&["COMMAND", "GETKEYS", "EVAL", "return 1", "2", "k1", "k2", "a"]),
        seq(&[&bulk("k1"), &bulk("k2")])
    );
}

#[test]
fn cmsgpack_struct_and_random() {
    let srv = server();
    let mut r = srv.raw();
    // Bytes as lua-cmsgpack packs them (checked against Redis 7).
    assert_eq!(
        eval(&mut r, "local s = cmsgpack.pack({1,2,3}, 'abc', {a=1}, -1, 3.5, -70000, true) local t = {} for i = 1, #s do t[i] = s:byte(i) end return t", &[], &[]),
        seq(&[
            ":147\r\n", ":1\r\n", ":2\r\n", ":3\r\n", ":163\r\n", ":97\r\n", ":98\r\n", ":99\r\n", ":129\r\n",
            ":161\r\n", ":97\r\n", ":1\r\n", ":255\r\n", ":202\r\n", ":64\r\n", ":96\r\n", ":0\r\n", ":0\r\n",
            ":210\r\n", ":255\r\n", ":254\r\n", ":238\r\n", ":144\r\n", ":195\r\n"
        ])
    );
    assert_eq!(
        eval(
            &mut r,
            "local a, b, c = cmsgpack.unpack(cmsgpack.pack({1,{x='y'}}, 'z', 7)) return {a[1], a[2].x, b, c}",
            &[],
            &[]
        ),
        seq(&[&int(1), &bulk("y"), &bulk("z"), &int(7)])
    );
    assert_eq!(
        eval(&mut r, "return cmsgpack.unpack(string.char(0x92, 1))", &[], &[]),
        err("ERR user_script:1: Missing bytes in input. script: 921b3185bbd857603091bb32950df6671113c391, on @user_script:1.")
    );
    assert_eq!(
        sha_of(&mut r, "return cmsgpack.unpack(string.char(0x92, 1))"),
        "921b3185bbd857603091bb32950df6671113c391"
    );
    assert_eq!(
        eval(
            &mut r,
            "return {struct.unpack('>hBi', struct.pack('>hBi', -2, 200, 7))}",
            &[],
            &[]
        ),
        seq(&[&int(-2), &int(200), &int(7), &int(8)])
    );
    assert_eq!(eval(&mut r, "return struct.size('!<bi')", &[], &[]), int(8));
    assert_eq!(
        eval(
            &mut r,
            "return {struct.unpack('sc3', struct.pack('sc3', 'ab', 'xyz'))}",
            &[],
            &[]
        ),
        seq(&[&bulk("ab"), &bulk("xyz"), &int(7)])
    );
    assert!(eval(&mut r, "return struct.pack('y')", &[], &[])
        .starts_with("-ERR user_script:1: bad argument #1 to 'pack' (invalid format option 'y')"));
    // math.random is Redis's rand48: the same sequence as Redis.
    assert_eq!(
        eval(
            &mut r,
            "return {math.random(100), math.random(100), tostring(math.random())}",
            &[],
            &[]
        ),
        seq(&[&int(40), &int(85), &bulk("0.35333609737146")])
    );
    assert_eq!(
        eval(
            &mut r,
            "math.randomseed(5) return {math.random(100), math.random(1000)}",
            &[],
            &[]
        ),
        seq(&[&int(53), &int(273)])
    );
}

/// A script's SHA-1, as the server computes it.
fn sha_of(r: &mut RawConn, body: &str) -> String {
    let got = r.cmd(&["EVAL", "return redis.sha1hex(ARGV[1])", "0", body]);
    got.lines().nth(1).unwrap().to_string()
}

#[test]
fn error_statistics_count_each_error_once() {
    let srv = server();
    let mut r = srv.raw();
    r.cmd(&["SET", "s", "a"]);
    r.cmd(&["CONFIG", "RESETSTAT"]);
    for body in [
        "return redis.call('incr','s')",
        "return redis.pcall('incr','s')",
        "return error('x')",
        "return redis.call('nosuch')",
        "return redis.pcall('nosuch')",
        "return redis.error_reply('MY x')",
    ] {
        assert!(eval(&mut r, body, &[], &[]).starts_with('-'), "{body}");
    }
    // As Redis 7: errors from redis.call/pcall are counted where they
    // happen, not again as the script's reply.
    let info = r.cmd(&["INFO", "errorstats"]);
    assert!(info.contains("errorstat_ERR:count=5\r\n"), "{info}");
    assert!(info.contains("errorstat_MY:count=1\r\n"), "{info}");
    let info = r.cmd(&["INFO", "commandstats"]);
    assert!(
        info.contains("cmdstat_eval:calls=6,") && info.contains("failed_calls=6"),
        "{info}"
    );
    assert!(info.contains("cmdstat_incr:calls=2,"), "{info}");
    assert!(r.cmd(&["INFO", "stats"]).contains("total_error_replies:6\r\n"));
}

#[test]
fn commands_waiting_for_a_script_get_busy() {
    let srv = TestServer::start(&["--io-threads", "1"]);
    let mut admin = srv.raw();
    assert_eq!(admin.cmd(&["CONFIG", "SET", "busy-reply-threshold", "300"]), "+OK\r\n");
    let mut runner = srv.raw();
    runner.send(b"*3\r\n$4\r\nEVAL\r\n$17\r\nwhile true do end\r\n$1\r\n0\r\n");
    std::thread::sleep(Duration::from_millis(50));
    // Sent before the threshold: it waits for the locks the script holds,
    // then is answered -BUSY once the script passes the threshold.
    let started = Instant::now();
    assert!(admin.cmd(&["SET", "k", "v"]).starts_with("-BUSY"));
    assert!(started.elapsed() >= Duration::from_millis(150));
    assert_eq!(admin.cmd(&["SCRIPT", "KILL"]), "+OK\r\n");
    assert!(String::from_utf8(runner.read_replies(1))
        .unwrap()
        .starts_with("-ERR Script killed"));
    assert_eq!(admin.cmd(&["SET", "k", "v"]), "+OK\r\n");
    // A script shorter than the threshold just delays others.
    runner.send(b"*3\r\n$4\r\nEVAL\r\n$71\r\nlocal t = redis.call('time') while redis.call('time')[2] == t[2] do end\r\n$1\r\n0\r\n");
    assert_eq!(admin.cmd(&["GET", "k"]), "$1\r\nv\r\n");
    assert_eq!(String::from_utf8(runner.read_replies(1)).unwrap(), "$-1\r\n");
}

#[test]
fn client_pause_write_holds_scripts_that_may_write() {
    let srv = server();
    let mut admin = srv.raw();
    let mut r = srv.raw();
    let timed = |r: &mut RawConn, args: &[&str]| {
        let start = Instant::now();
        let got = r.cmd(args);
        (got, start.elapsed())
    };
    assert_eq!(admin.cmd(&["CLIENT", "PAUSE", "400", "WRITE"]), "+OK\r\n");
    let (got, took) = timed(&mut r, &["EVAL_RO", "return 1", "0"]);
    assert_eq!(got, int(1));
    assert!(took < Duration::from_millis(300), "{took:?}");
    let (got, took) = timed(&mut r, &["EVAL", "#!lua flags=no-writes\nreturn 1", "0"]);
    assert_eq!(got, int(1));
    assert!(took < Duration::from_millis(300), "{took:?}");
    let (got, took) = timed(&mut r, &["EVAL", "return 1", "0"]);
    assert_eq!(got, int(1));
    assert!(took >= Duration::from_millis(200), "{took:?}");
}

#[test]
fn scripts_respect_maxmemory() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    c.cmd(&["SET", "k", "v"]);
    // A limit far below what is used, and nothing may be evicted.
    assert_eq!(c.cmd(&["CONFIG", "SET", "maxmemory", "1"]), "+OK\r\n");
    let r = c.cmd(&["EVAL", "return redis.call('SET', KEYS[1], 'x')", "1", "k"]);
    assert!(
        r.contains("OOM command not allowed when used memory > 'maxmemory'."),
        "{r}"
    );
    assert_eq!(
        c.cmd(&["EVAL", "return redis.call('GET', KEYS[1])", "1", "k"]),
        "$1\r\nv\r\n"
    );
    // pcall sees the error as a table.
    let r = c.cmd(&["EVAL", "return redis.pcall('SET', KEYS[1], 'x')['err']", "1", "k"]);
    assert!(r.starts_with("$") && r.contains("OOM"), "{r}");
    assert_eq!(c.cmd(&["CONFIG", "SET", "maxmemory", "0"]), "+OK\r\n");
    assert_eq!(
        c.cmd(&["EVAL", "return redis.call('SET', KEYS[1], 'x')", "1", "k"]),
        "+OK\r\n"
    );
}

/// Redis's getCommandFlags for scripts: a script that declares flags is
/// refused up front over maxmemory unless `allow-oom` or `no-writes`, and
/// `allow-oom` lets its writes through; a script without a shebang is
/// stopped at its first deny-oom command, unless it has written already.
/// Replies as a real Redis 7.0 gives them.
#[test]
fn script_flags_decide_what_runs_over_maxmemory() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    let lib = "#!lua name=lib\n\
        redis.register_function('w', function(k) return redis.call('set', k[1], 'v') end)\n\
        redis.register_function{function_name='oom', callback=function(k) return redis.call('set', k[1], 'v') end, flags={'allow-oom'}}\n\
        redis.register_function{function_name='ro', callback=function(k) return redis.call('get', k[1]) end, flags={'no-writes'}}";
    assert_eq!(c.cmd(&["FUNCTION", "LOAD", lib]), bulk("lib"));
    c.cmd(&["SET", "filler", "xxxxxxxxxxxxxxxx"]);
    assert_eq!(c.cmd(&["CONFIG", "SET", "maxmemory", "1"]), "+OK\r\n");
    const OOM: &str = "-OOM command not allowed when used memory > 'maxmemory'.\r\n";

    // Declared flags, none of them: refused before it runs.
    assert_eq!(eval(&mut c, "#!lua\nreturn redis.call('set', 'a', 'b')", &[], &[]), OOM);
    assert_eq!(c.cmd(&["FCALL", "w", "1", "f"]), OOM);
    // allow-oom: its writes go through.
    assert_eq!(
        eval(
            &mut c,
            "#!lua flags=allow-oom\nreturn redis.call('set', 'a', 'b')",
            &[],
            &[]
        ),
        "+OK\r\n"
    );
    assert_eq!(c.cmd(&["FCALL", "oom", "1", "f"]), "+OK\r\n");
    // no-writes implies allow-oom.
    assert_eq!(
        eval(&mut c, "#!lua flags=no-writes\nreturn redis.call('get', 'a')", &[], &[]),
        bulk("b")
    );
    assert_eq!(c.cmd(&["FCALL", "ro", "1", "f"]), bulk("v"));
    assert_eq!(c.cmd(&["FCALL_RO", "ro", "1", "f"]), bulk("v"));
    // Compatibility mode: stopped at the first deny-oom command...
    let r = eval(
        &mut c,
        "redis.call('get', 'x'); return redis.call('set', 'c', 'd')",
        &[],
        &[],
    );
    assert!(
        r.starts_with("-OOM command not allowed when used memory > 'maxmemory'. script: "),
        "{r}"
    );
    // ... unless a write ran before it (it could not be undone).
    assert_eq!(
        eval(
            &mut c,
            "redis.call('del', 'nothere'); return redis.call('set', 'c', 'd')",
            &[],
            &[]
        ),
        "+OK\r\n"
    );
    let stats = c.cmd(&["INFO", "commandstats"]);
    for (cmd, rejected) in [("eval", 1), ("fcall", 1), ("fcall_ro", 0)] {
        let line = stats
            .lines()
            .find(|l| l.starts_with(&format!("cmdstat_{cmd}:")))
            .unwrap_or_else(|| panic!("no {cmd} in {stats}"));
        assert!(line.contains(&format!("rejected_calls={rejected},")), "{line}");
    }
    assert_eq!(c.cmd(&["CONFIG", "SET", "maxmemory", "0"]), "+OK\r\n");
    assert_eq!(
        c.cmd(&["MGET", "a", "c", "f"]),
        seq(&[&bulk("b"), &bulk("d"), &bulk("v")])
    );
}

/// Runs the endless `body` on `runner`, waits until `other` gets -BUSY,
/// kills it with SCRIPT KILL and checks the runner's error.
fn kill_looping(runner: &mut RawConn, other: &mut RawConn, body: &str) {
    let cmd = format!("*3\r\n$4\r\nEVAL\r\n${}\r\n{}\r\n$1\r\n0\r\n", body.len(), body);
    runner.send(cmd.as_bytes());
    let start = Instant::now();
    while !other.cmd(&["PING"]).starts_with("-BUSY") {
        assert!(start.elapsed() < Duration::from_secs(10), "never busy");
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(other.cmd(&["SCRIPT", "KILL"]), "+OK\r\n");
    let got = String::from_utf8(runner.read_replies(1)).unwrap();
    assert!(
        got.starts_with("-ERR Script killed by user with SCRIPT KILL..."),
        "{got}"
    );
}

/// PUBLISH may replicate (Redis's flag, hidden from COMMAND INFO): a
/// read-only script may not call it, and CLIENT PAUSE WRITE holds it.
#[test]
fn publish_may_replicate() {
    let srv = server();
    let mut admin = srv.raw();
    let mut r = srv.raw();
    let got = r.cmd(&["EVAL_RO", "return redis.call('publish', 'c', 'm')", "0"]);
    assert!(
        got.starts_with("-ERR Write commands are not allowed from read-only scripts"),
        "{got}"
    );
    assert_eq!(admin.cmd(&["CLIENT", "PAUSE", "20000", "WRITE"]), "+OK\r\n");
    r.send(b"PUBLISH c m\r\n");
    r.s.set_read_timeout(Some(Duration::from_millis(300))).unwrap();
    let mut b = [0u8; 16];
    assert!(
        std::io::Read::read(&mut r.s, &mut b).is_err(),
        "PUBLISH ran during the pause"
    );
    r.s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    assert_eq!(admin.cmd(&["CLIENT", "UNPAUSE"]), "+OK\r\n");
    assert_eq!(String::from_utf8(r.read_replies(1)).unwrap(), ":0\r\n");
}
