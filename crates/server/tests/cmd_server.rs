#![allow(clippy::unwrap_used)]
//! INFO, CONFIG, TIME, SHUTDOWN and COMMAND against the real binary,
//! checked byte for byte where Redis's reply shape matters.

mod common;
mod real_redis;

use common::TestServer;

fn info_field(info: &str, name: &str) -> Option<String> {
    info.lines()
        .find_map(|l| l.strip_prefix(&format!("{name}:")).map(|v| v.trim_end().to_string()))
}

fn info(c: &mut redis::Connection, section: &str) -> String {
    redis::cmd("INFO").arg(section).query(c).unwrap()
}

#[test]
fn info_default_sections_and_fields() {
    let srv = TestServer::start(&[]);
    let mut c = srv.conn();
    let text: String = redis::cmd("INFO").query(&mut c).unwrap();
    let headers: Vec<&str> = text.lines().filter(|l| l.starts_with("# ")).collect();
    assert_eq!(
        headers,
        [
            "# Server",
            "# Clients",
            "# Memory",
            "# Persistence",
            "# Stats",
            "# Replication",
            "# CPU",
            "# Modules",
            "# Errorstats",
            "# Cluster",
            "# Keyspace"
        ]
    );
    assert_eq!(info_field(&text, "redis_version").unwrap(), "7.2.4");
    assert_eq!(info_field(&text, "larder_version").unwrap(), env!("CARGO_PKG_VERSION"));
    assert_eq!(info_field(&text, "redis_mode").unwrap(), "standalone");
    assert_eq!(info_field(&text, "tcp_port").unwrap(), srv.port.to_string());
    assert_eq!(info_field(&text, "process_id").unwrap(), srv.pid().to_string());
    assert_eq!(info_field(&text, "run_id").unwrap().len(), 40);
    assert_eq!(info_field(&text, "role").unwrap(), "master");
    // This connection, and perhaps the harness's probe not yet reaped.
    let clients: u64 = info_field(&text, "connected_clients").unwrap().parse().unwrap();
    assert!((1..=2).contains(&clients), "{clients}");
    assert_eq!(info_field(&text, "loading").unwrap(), "0");
    assert_eq!(info_field(&text, "aof_enabled").unwrap(), "0");
    assert_eq!(info_field(&text, "maxmemory_policy").unwrap(), "noeviction");
    // The binary runs on jemalloc: used_memory is its allocated count.
    assert!(info_field(&text, "mem_allocator").unwrap().starts_with("jemalloc-"));
    let used: u64 = info_field(&text, "used_memory").unwrap().parse().unwrap();
    let rss: u64 = info_field(&text, "used_memory_rss").unwrap().parse().unwrap();
    assert!(used > 0 && rss > 0);
    assert!(info_field(&text, "used_memory_human")
        .unwrap()
        .ends_with(['B', 'K', 'M', 'G']));
    let sys: f64 = info_field(&text, "used_cpu_sys").unwrap().parse().unwrap();
    assert!(sys >= 0.0);
    assert!(!text.contains("# Commandstats"));
    // Sections are separated by one blank line, lines end in CRLF.
    assert!(text.contains("\r\n\r\n# Clients\r\n"));
}

#[test]
fn info_section_selection() {
    let srv = TestServer::start(&[]);
    let mut c = srv.conn();
    let text = info(&mut c, "keyspace");
    assert_eq!(text, "# Keyspace\r\n");
    let text: String = redis::cmd("INFO").arg("CPU").arg("server").query(&mut c).unwrap();
    let headers: Vec<&str> = text.lines().filter(|l| l.starts_with("# ")).collect();
    assert_eq!(headers, ["# Server", "# CPU"]);
    let text = info(&mut c, "nosuchsection");
    assert_eq!(text, "");
    for all in ["all", "everything"] {
        let text = info(&mut c, all);
        assert!(text.contains("# Commandstats\r\n"), "{all}");
        assert!(text.contains("# Keyspace\r\n"), "{all}");
    }
    let text: String = redis::cmd("INFO")
        .arg("default")
        .arg("commandstats")
        .query(&mut c)
        .unwrap();
    assert!(text.contains("# Commandstats\r\n") && text.contains("# Server\r\n"));
}

/// The value of INFO field `name`, asked over a raw connection.
fn raw_field(raw: &mut common::RawConn, section: &str, name: &str) -> Option<String> {
    let r = raw.cmd(&["INFO", section]);
    info_field(&r, name)
}

#[test]
fn info_stats_are_real() {
    let srv = TestServer::start(&["--enable-debug-command", "yes"]);
    // Raw connections only: client libraries send handshake commands
    // that would count as calls or errors.
    let mut raw = srv.raw();
    assert_eq!(raw.cmd(&["SET", "a", "1"]), "+OK\r\n");
    assert_eq!(raw.cmd(&["SET", "b", "2", "PX", "100"]), "+OK\r\n");
    assert_eq!(raw.cmd(&["GET", "a"]), "$1\r\n1\r\n");
    assert_eq!(raw.cmd(&["GET", "nope"]), "$-1\r\n");
    assert_eq!(raw.cmd(&["GET", "nope2"]), "$-1\r\n");
    let ks = raw.cmd(&["INFO", "keyspace"]);
    assert!(
        ks.ends_with("\r\n# Keyspace\r\ndb0:keys=2,expires=1,avg_ttl=0\r\n\r\n"),
        "{ks}"
    );
    assert_eq!(raw.cmd(&["DEBUG", "ADVANCE-CLOCK", "1000"]), "+OK\r\n");
    assert_eq!(raw.cmd(&["GET", "b"]), "$-1\r\n");
    assert!(raw.cmd(&["GET", "a", "extra"]).starts_with("-ERR wrong number"));
    assert!(raw.cmd(&["SET", "a"]).starts_with("-ERR wrong number"));
    assert!(raw.cmd(&["NOSUCHCMD"]).starts_with("-ERR unknown command"));

    assert_eq!(raw_field(&mut raw, "stats", "keyspace_hits").unwrap(), "1");
    assert_eq!(raw_field(&mut raw, "stats", "keyspace_misses").unwrap(), "3");
    assert_eq!(raw_field(&mut raw, "stats", "expired_keys").unwrap(), "1");
    assert_eq!(raw_field(&mut raw, "stats", "total_error_replies").unwrap(), "3");
    // SET SET GET GET GET INFO DEBUG GET INFO x4 (the failed ones don't run),
    // plus the harness's INFO server that checks the server is ours.
    let processed: u64 = raw_field(&mut raw, "stats", "total_commands_processed")
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(processed, 13);
    let input: u64 = raw_field(&mut raw, "stats", "total_net_input_bytes")
        .unwrap()
        .parse()
        .unwrap();
    assert!(input > 200, "{input}");
    let output: u64 = raw_field(&mut raw, "stats", "total_net_output_bytes")
        .unwrap()
        .parse()
        .unwrap();
    assert!(output > 200, "{output}");
    // The harness's readiness probe, then this connection.
    assert_eq!(raw_field(&mut raw, "stats", "total_connections_received").unwrap(), "2");

    let get = raw_field(&mut raw, "commandstats", "cmdstat_get").unwrap();
    assert!(get.starts_with("calls=4,usec="), "{get}");
    assert!(get.ends_with(",rejected_calls=1,failed_calls=0"), "{get}");
    assert!(get.contains(",usec_per_call="), "{get}");
    assert!(raw_field(&mut raw, "commandstats", "cmdstat_debug").is_some());
    let es = raw.cmd(&["INFO", "errorstats"]);
    assert!(es.contains("\r\n# Errorstats\r\nerrorstat_ERR:count=3\r\n"), "{es}");
    assert_eq!(
        raw_field(&mut raw, "persistence", "rdb_changes_since_last_save").unwrap(),
        "2"
    );

    // CONFIG RESETSTAT clears stats, command stats and error stats.
    assert_eq!(raw.cmd(&["CONFIG", "RESETSTAT"]), "+OK\r\n");
    for f in [
        "keyspace_hits",
        "keyspace_misses",
        "total_error_replies",
        "expired_keys",
    ] {
        assert_eq!(raw_field(&mut raw, "stats", f).unwrap(), "0", "{f}");
    }
    let cs = raw.cmd(&["INFO", "commandstats"]);
    assert!(info_field(&cs, "cmdstat_get").is_none(), "{cs}");
    assert!(info_field(&cs, "cmdstat_info").is_some(), "{cs}");
    let es = raw.cmd(&["INFO", "errorstats"]);
    assert!(es.ends_with("\r\n# Errorstats\r\n\r\n"), "{es}");
}

#[test]
fn info_subcommand_stats_and_resp3_verbatim() {
    let srv = TestServer::start(&[]);
    let mut raw = srv.raw();
    raw.cmd(&["CONFIG", "GET", "port"]);
    raw.cmd(&["CONFIG", "NOPE"]);
    let r = raw.cmd(&["INFO", "commandstats"]);
    assert!(r.starts_with('$'), "{r}");
    assert!(r.contains("cmdstat_config|get:calls=1,"), "{r}");
    assert!(
        r.contains("cmdstat_config:calls=0,usec=0,usec_per_call=0.00,rejected_calls=1,failed_calls=0"),
        "{r}"
    );
    raw.cmd(&["HELLO", "3"]);
    let r = raw.cmd(&["INFO", "keyspace"]);
    assert_eq!(r, "=16\r\ntxt:# Keyspace\r\n\r\n");
}

#[test]
fn config_get_set_errors() {
    let srv = TestServer::start(&[]);
    let mut raw = srv.raw();
    assert_eq!(
        raw.cmd(&["CONFIG", "SET", "xyz", "1"]),
        "-ERR Unknown option or number of arguments for CONFIG SET - 'xyz'\r\n"
    );
    assert_eq!(
        raw.cmd(&["CONFIG", "SET", "port", "abc"]),
        "-ERR CONFIG SET failed (possibly related to argument 'port') - can't set immutable config\r\n"
    );
    assert_eq!(
        raw.cmd(&["CONFIG", "SET", "maxmemory", "1x"]),
        "-ERR CONFIG SET failed (possibly related to argument 'maxmemory') - argument must be a memory value\r\n"
    );
    assert_eq!(
        raw.cmd(&["CONFIG", "SET", "timeout", "-1"]),
        "-ERR CONFIG SET failed (possibly related to argument 'timeout') - argument must be between 0 and 2147483647 inclusive\r\n"
    );
    assert_eq!(
        raw.cmd(&["CONFIG", "SET", "hz", "5", "HZ", "6"]),
        "-ERR CONFIG SET failed (possibly related to argument 'HZ') - duplicate parameter\r\n"
    );
    assert_eq!(
        raw.cmd(&["CONFIG", "SET", "hz", "5", "maxmemory"]),
        "-ERR syntax error\r\n"
    );
    assert_eq!(
        raw.cmd(&["CONFIG", "SET", "dir", "/tmp"]),
        "-ERR CONFIG SET failed (possibly related to argument 'dir') - can't set protected config\r\n"
    );
    assert_eq!(
        raw.cmd(&["CONFIG", "SET", "appendfsync", "sometimes"]),
        "-ERR CONFIG SET failed (possibly related to argument 'appendfsync') - argument(s) must be one of the following: everysec, always, no\r\n"
    );
    assert_eq!(
        raw.cmd(&["CONFIG", "GET"]),
        "-ERR wrong number of arguments for 'config|get' command\r\n"
    );
    assert_eq!(
        raw.cmd(&["CONFIG", "FOO"]),
        "-ERR unknown subcommand 'FOO'. Try CONFIG HELP.\r\n"
    );
    assert_eq!(
        raw.cmd(&["CONFIG", "REWRITE"]),
        "-ERR The server is running without a config file\r\n"
    );
    // A failed multi-set changes nothing.
    assert!(raw
        .cmd(&["CONFIG", "SET", "maxmemory", "10mb", "hz", "x"])
        .starts_with("-ERR"));
    assert_eq!(
        raw.cmd(&["CONFIG", "GET", "maxmemory"]),
        "*2\r\n$9\r\nmaxmemory\r\n$1\r\n0\r\n"
    );
    assert_eq!(
        raw.cmd(&["CONFIG", "SET", "maxmemory", "10MB", "maxmemory-policy", "allkeys-lru"]),
        "+OK\r\n"
    );
    assert_eq!(
        raw.cmd(&["CONFIG", "GET", "maxmemory", "maxmemory-policy", "MAXMEMORY"]),
        "*4\r\n$9\r\nmaxmemory\r\n$8\r\n10485760\r\n$16\r\nmaxmemory-policy\r\n$11\r\nallkeys-lru\r\n"
    );
    let help = raw.cmd(&["CONFIG", "HELP"]);
    assert!(help.starts_with("*11\r\n+CONFIG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:\r\n"));
    raw.cmd(&["HELLO", "3"]);
    assert_eq!(
        raw.cmd(&["CONFIG", "GET", "hz", "nosuch"]),
        "%1\r\n$2\r\nhz\r\n$2\r\n10\r\n"
    );
}

#[test]
fn config_get_glob_and_directives() {
    let srv = TestServer::start(&[]);
    let mut c = srv.conn();
    let v: Vec<String> = redis::cmd("CONFIG").arg("GET").arg("maxmemory*").query(&mut c).unwrap();
    let names: Vec<&String> = v.iter().step_by(2).collect();
    for n in [
        "maxmemory",
        "maxmemory-policy",
        "maxmemory-samples",
        "maxmemory-eviction-tenacity",
        "maxmemory-clients",
    ] {
        assert!(names.iter().any(|x| *x == n), "{n} missing from {names:?}");
    }
    let all: Vec<String> = redis::cmd("CONFIG").arg("GET").arg("*").query(&mut c).unwrap();
    assert!(all.len() > 150, "{}", all.len());
    for n in [
        "tcp-backlog",
        "supervised",
        "latency-tracking",
        "lazyfree-lazy-eviction",
        "lfu-log-factor",
        "activerehashing",
        "slave-read-only",
    ] {
        assert!(all.iter().any(|x| x == n), "{n}");
    }
    let () = redis::cmd("CONFIG")
        .arg("SET")
        .arg("lfu-log-factor")
        .arg("7")
        .query(&mut c)
        .unwrap();
    let v: Vec<String> = redis::cmd("CONFIG")
        .arg("GET")
        .arg("lfu-log-factor")
        .query(&mut c)
        .unwrap();
    assert_eq!(v, ["lfu-log-factor", "7"]);
}

#[test]
fn config_set_requirepass_takes_effect() {
    let srv = TestServer::start(&[]);
    let mut raw = srv.raw();
    assert_eq!(raw.cmd(&["CONFIG", "SET", "requirepass", "secret"]), "+OK\r\n");
    let mut other = srv.raw();
    assert_eq!(other.cmd(&["GET", "x"]), "-NOAUTH Authentication required.\r\n");
    assert_eq!(other.cmd(&["AUTH", "secret"]), "+OK\r\n");
    assert_eq!(other.cmd(&["CONFIG", "SET", "requirepass", ""]), "+OK\r\n");
    let mut third = srv.raw();
    assert_eq!(third.cmd(&["GET", "x"]), "$-1\r\n");
}

#[test]
fn time_reply() {
    let srv = TestServer::start(&[]);
    let mut c = srv.conn();
    let (secs, us): (u64, u64) = redis::cmd("TIME").query(&mut c).unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    assert!(secs.abs_diff(now) <= 2);
    assert!(us < 1_000_000);
    let mut raw = srv.raw();
    assert_eq!(
        raw.cmd(&["TIME", "x"]),
        "-ERR wrong number of arguments for 'time' command\r\n"
    );
}

#[test]
fn shutdown_arguments() {
    let mut srv = TestServer::start(&["--enable-protected-configs", "yes"]);
    let mut raw = srv.raw();
    assert_eq!(raw.cmd(&["SHUTDOWN", "ABORT"]), "-ERR No shutdown in progress.\r\n");
    assert_eq!(raw.cmd(&["SHUTDOWN", "NOSAVE", "SAVE"]), "-ERR syntax error\r\n");
    assert_eq!(raw.cmd(&["SHUTDOWN", "SAVE", "ABORT"]), "-ERR syntax error\r\n");
    assert_eq!(raw.cmd(&["SHUTDOWN", "FOO"]), "-ERR syntax error\r\n");
    // A save that fails (the directory is gone) keeps the server up.
    let gone = srv.dir.join("gone");
    std::fs::create_dir_all(&gone).unwrap();
    assert_eq!(raw.cmd(&["CONFIG", "SET", "dir", gone.to_str().unwrap()]), "+OK\r\n");
    std::fs::remove_dir_all(&gone).unwrap();
    assert_eq!(
        raw.cmd(&["SHUTDOWN", "SAVE"]),
        "-ERR Errors trying to SHUTDOWN. Check logs.\r\n"
    );
    assert!(srv.alive());
    // FORCE goes ahead despite the failed save.
    raw.send(b"*3\r\n$8\r\nSHUTDOWN\r\n$4\r\nSAVE\r\n$5\r\nFORCE\r\n");
    assert!(raw.is_closed());
    assert_eq!(srv.wait_exit(10), Some(0));
}

#[test]
fn shutdown_with_save_points_saves_or_stays_up() {
    let mut srv = TestServer::start(&["--save", "3600 1", "--enable-protected-configs", "yes"]);
    let mut raw = srv.raw();
    let dir = srv.dir.clone();
    let gone = dir.join("gone");
    std::fs::create_dir_all(&gone).unwrap();
    assert_eq!(raw.cmd(&["CONFIG", "SET", "dir", gone.to_str().unwrap()]), "+OK\r\n");
    std::fs::remove_dir_all(&gone).unwrap();
    assert_eq!(
        raw.cmd(&["SHUTDOWN"]),
        "-ERR Errors trying to SHUTDOWN. Check logs.\r\n"
    );
    assert_eq!(raw.cmd(&["CONFIG", "SET", "dir", dir.to_str().unwrap()]), "+OK\r\n");
    raw.send(b"*1\r\n$8\r\nSHUTDOWN\r\n");
    assert!(raw.is_closed());
    assert_eq!(srv.wait_exit(10), Some(0));
    assert!(dir.join("dump.rdb").exists());
}

#[test]
fn shutdown_plain() {
    let mut srv = TestServer::start(&[]);
    let mut raw = srv.raw();
    raw.send(b"*1\r\n$8\r\nSHUTDOWN\r\n");
    assert!(raw.is_closed());
    assert_eq!(srv.wait_exit(10), Some(0));
}

#[test]
fn command_info_shape() {
    let srv = TestServer::start(&[]);
    let mut raw = srv.raw();
    // Byte-identical to Redis 7's reply.
    assert_eq!(
        raw.cmd(&["COMMAND", "INFO", "get"]),
        "*1\r\n*10\r\n$3\r\nget\r\n:2\r\n*2\r\n+readonly\r\n+fast\r\n:1\r\n:1\r\n:1\r\n*3\r\n+@read\r\n+@string\r\n+@fast\r\n*0\r\n*1\r\n*6\r\n$5\r\nflags\r\n*2\r\n+RO\r\n+access\r\n$12\r\nbegin_search\r\n*4\r\n$4\r\ntype\r\n$5\r\nindex\r\n$4\r\nspec\r\n*2\r\n$5\r\nindex\r\n:1\r\n$9\r\nfind_keys\r\n*4\r\n$4\r\ntype\r\n$5\r\nrange\r\n$4\r\nspec\r\n*6\r\n$7\r\nlastkey\r\n:0\r\n$7\r\nkeystep\r\n:1\r\n$5\r\nlimit\r\n:0\r\n*0\r\n"
    );
    assert_eq!(raw.cmd(&["COMMAND", "INFO", "nosuch"]), "*1\r\n$-1\r\n");
    raw.cmd(&["HELLO", "3"]);
    assert_eq!(
        raw.cmd(&["COMMAND", "INFO", "dbsize"]),
        "*1\r\n*10\r\n$6\r\ndbsize\r\n:1\r\n~2\r\n+readonly\r\n+fast\r\n:0\r\n:0\r\n:0\r\n~3\r\n+@keyspace\r\n+@read\r\n+@fast\r\n~2\r\n$25\r\nrequest_policy:all_shards\r\n$23\r\nresponse_policy:agg_sum\r\n~0\r\n~0\r\n"
    );
    assert_eq!(
        raw.cmd(&["COMMAND", "INFO", "config|help"]),
        "*1\r\n*10\r\n$11\r\nconfig|help\r\n:2\r\n~2\r\n+loading\r\n+stale\r\n:0\r\n:0\r\n:0\r\n~1\r\n+@slow\r\n~0\r\n~0\r\n~0\r\n"
    );
    assert_eq!(raw.cmd(&["COMMAND", "INFO", "nosuch"]), "*1\r\n_\r\n");
    // A container lists its subcommands.
    let r = raw.cmd(&["COMMAND", "INFO", "CONFIG"]);
    assert!(
        r.starts_with("*1\r\n*10\r\n$6\r\nconfig\r\n:-2\r\n~0\r\n:0\r\n:0\r\n:0\r\n~1\r\n+@slow\r\n~0\r\n~0\r\n*5\r\n"),
        "{r}"
    );
    assert!(
        r.contains("$10\r\nconfig|set\r\n:-4\r\n~4\r\n+admin\r\n+noscript\r\n+loading\r\n+stale\r\n"),
        "{r}"
    );
}

#[test]
fn command_count_list_all() {
    let srv = TestServer::start(&[]);
    let mut c = srv.conn();
    let count: usize = redis::cmd("COMMAND").arg("COUNT").query(&mut c).unwrap();
    let all: Vec<redis::Value> = redis::cmd("COMMAND").query(&mut c).unwrap();
    let list: Vec<String> = redis::cmd("COMMAND").arg("LIST").query(&mut c).unwrap();
    assert_eq!(all.len(), count);
    // LIST names subcommands too (COUNT does not), as Redis.
    let subs = list.iter().filter(|n| n.contains('|')).count();
    assert!(subs > 50, "{subs}");
    assert_eq!(list.len(), count + subs);
    for n in [
        "get",
        "set",
        "info",
        "config",
        "command",
        "ping",
        "config|get",
        "client|list",
    ] {
        assert!(list.iter().any(|x| x == n), "{n}");
    }
    let conf: Vec<String> = redis::cmd("COMMAND")
        .arg("LIST")
        .arg("FILTERBY")
        .arg("PATTERN")
        .arg("CONF*")
        .query(&mut c)
        .unwrap();
    let mut conf = conf;
    conf.sort();
    assert_eq!(
        conf,
        [
            "config",
            "config|get",
            "config|help",
            "config|resetstat",
            "config|rewrite",
            "config|set"
        ]
    );
    let admin: Vec<String> = redis::cmd("COMMAND")
        .arg("LIST")
        .arg("FILTERBY")
        .arg("ACLCAT")
        .arg("admin")
        .query(&mut c)
        .unwrap();
    assert!(admin.iter().any(|x| x == "config|set"));
    assert!(!admin.iter().any(|x| x == "get"));
    let string: Vec<String> = redis::cmd("COMMAND")
        .arg("LIST")
        .arg("FILTERBY")
        .arg("ACLCAT")
        .arg("string")
        .query(&mut c)
        .unwrap();
    assert!(string.iter().any(|x| x == "get"));
    let none: Vec<String> = redis::cmd("COMMAND")
        .arg("LIST")
        .arg("FILTERBY")
        .arg("MODULE")
        .arg("x")
        .query(&mut c)
        .unwrap();
    assert!(none.is_empty());
    let mut raw = srv.raw();
    assert_eq!(
        raw.cmd(&["COMMAND", "LIST", "FILTERBY", "xx", "y"]),
        "-ERR syntax error\r\n"
    );
    assert_eq!(raw.cmd(&["COMMAND", "LIST", "foo"]), "-ERR syntax error\r\n");
    assert_eq!(
        raw.cmd(&["COMMAND", "COUNT", "x"]),
        "-ERR wrong number of arguments for 'command|count' command\r\n"
    );
    assert_eq!(
        raw.cmd(&["COMMAND", "NOPE"]),
        "-ERR unknown subcommand 'NOPE'. Try COMMAND HELP.\r\n"
    );
    let help = raw.cmd(&["COMMAND", "HELP"]);
    assert!(help.starts_with("*21\r\n+COMMAND <subcommand>"), "{help}");
}

#[test]
fn command_docs() {
    let srv = TestServer::start(&[]);
    let mut raw = srv.raw();
    assert_eq!(raw.cmd(&["COMMAND", "DOCS", "nosuch"]), "*0\r\n");
    raw.cmd(&["HELLO", "3"]);
    let r = raw.cmd(&["COMMAND", "DOCS", "config|help"]);
    assert_eq!(
        r,
        "%1\r\n$11\r\nconfig|help\r\n%4\r\n$7\r\nsummary\r\n$49\r\nShow helpful text about the different subcommands\r\n$5\r\nsince\r\n$5\r\n5.0.0\r\n$5\r\ngroup\r\n$6\r\nserver\r\n$10\r\ncomplexity\r\n$4\r\nO(1)\r\n"
    );
    let r = raw.cmd(&["COMMAND", "DOCS", "get", "CONFIG"]);
    // GET: summary, since, group, complexity, arguments.
    assert!(r.starts_with("%2\r\n$3\r\nget\r\n%5\r\n$7\r\nsummary\r\n"), "{r}");
    assert!(r.contains("$5\r\ngroup\r\n$6\r\nstring\r\n"), "{r}");
    assert!(r.contains("$11\r\nsubcommands\r\n%5\r\n"), "{r}");
    let mut c = srv.conn();
    let all: redis::Value = redis::cmd("COMMAND").arg("DOCS").query(&mut c).unwrap();
    let count: usize = redis::cmd("COMMAND").arg("COUNT").query(&mut c).unwrap();
    match all {
        redis::Value::Array(v) => assert_eq!(v.len(), 2 * count),
        other => panic!("{other:?}"),
    }
}

#[test]
fn command_getkeys() {
    let srv = TestServer::start(&[]);
    let mut raw = srv.raw();
    assert_eq!(raw.cmd(&["COMMAND", "GETKEYS", "GET", "k"]), "*1\r\n$1\r\nk\r\n");
    assert_eq!(
        raw.cmd(&["COMMAND", "GETKEYS", "DEL", "a", "b", "c"]),
        "*3\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n"
    );
    assert_eq!(
        raw.cmd(&["COMMAND", "GETKEYS", "nosuch", "a"]),
        "-ERR Invalid command specified\r\n"
    );
    assert_eq!(
        raw.cmd(&["COMMAND", "GETKEYS", "config|get", "a"]),
        "-ERR Invalid command specified\r\n"
    );
    assert_eq!(
        raw.cmd(&["COMMAND", "GETKEYS", "config", "get", "x"]),
        "-ERR The command has no key arguments\r\n"
    );
    assert_eq!(
        raw.cmd(&["COMMAND", "GETKEYS", "get", "a", "b"]),
        "-ERR Invalid number of arguments specified for command\r\n"
    );
    assert_eq!(
        raw.cmd(&["COMMAND", "GETKEYS"]),
        "-ERR wrong number of arguments for 'command|getkeys' command\r\n"
    );
    assert_eq!(
        raw.cmd(&["COMMAND", "GETKEYSANDFLAGS", "GET", "k"]),
        "*1\r\n*2\r\n$1\r\nk\r\n*2\r\n+RO\r\n+access\r\n"
    );
    raw.cmd(&["HELLO", "3"]);
    assert_eq!(
        raw.cmd(&["COMMAND", "GETKEYSANDFLAGS", "DEL", "k"]),
        "*1\r\n*2\r\n$1\r\nk\r\n~2\r\n+RM\r\n+delete\r\n"
    );
}

#[test]
fn loglevel_changes_at_run_time() {
    let log = std::env::temp_dir().join(format!("larder-loglevel-{}.log", std::process::id()));
    let _ = std::fs::remove_file(&log);
    let srv = TestServer::start(&["--loglevel", "warning", "--logfile", log.to_str().unwrap()]);
    let mut raw = srv.raw();
    raw.cmd(&["CONFIG", "SET", "requirepass", ""]);
    raw.cmd(&["CONFIG", "REWRITE"]); // logs a warning: no config file
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(!text.contains("Ready to accept connections"), "{text}");
    assert!(text.contains("# CONFIG REWRITE failed"), "{text}");
    assert_eq!(raw.cmd(&["CONFIG", "SET", "loglevel", "notice"]), "+OK\r\n");
    assert_eq!(
        raw.cmd(&["CONFIG", "GET", "loglevel"]),
        "*2\r\n$8\r\nloglevel\r\n$6\r\nnotice\r\n"
    );
    raw.cmd(&["SHUTDOWN", "ABORT"]);
    raw.send(b"*1\r\n$8\r\nSHUTDOWN\r\n");
    assert!(raw.is_closed());
    std::thread::sleep(std::time::Duration::from_millis(300));
    let text = std::fs::read_to_string(&log).unwrap();
    // Redis's line format: pid:M dd Mon yyyy hh:mm:ss.mmm <mark> message
    let line = text.lines().find(|l| l.contains("User requested shutdown")).unwrap();
    let pid = srv.pid().to_string();
    assert!(line.starts_with(&format!("{pid}:M ")), "{line}");
    assert!(line.contains(" # User requested shutdown..."), "{line}");
    let bye = text.lines().find(|l| l.contains("ready to exit")).unwrap();
    assert!(bye.contains(" * "), "{bye}");
    let _ = std::fs::remove_file(&log);
}

/// The commands whose COMMAND INFO is Redis 7.2's rather than the
/// installed 7.0's, with what 7.2 changed.
const INFO_72: &[(&str, &str)] = &[
    ("acl|deluser", "7.2 tips: all_nodes, all_succeeded"),
    ("acl|load", "7.2 tips: all_nodes, all_succeeded"),
    ("acl|save", "7.2 tips: all_nodes, all_succeeded"),
    ("acl|setuser", "7.2 tips: all_nodes, all_succeeded"),
    ("client|setname", "7.2 tips: all_nodes, all_succeeded"),
    ("command|getkeys", "7.2 arity -3"),
    ("command|getkeysandflags", "7.2 arity -3"),
    ("randomkey", "7.2 tips: response_policy:special"),
    ("scan", "7.2 tips: response_policy:special"),
    ("zrank", "7.2 arity -3 (WITHSCORE)"),
    ("zrevrank", "7.2 arity -3 (WITHSCORE)"),
];

/// COMMAND LIST on Larder (in order) and on Redis (as a set).
fn shared_commands(
    l: &mut common::RawConn,
    r: &mut common::RawConn,
) -> (Vec<String>, std::collections::HashSet<String>) {
    let names = |c: &mut common::RawConn| -> Vec<String> {
        c.cmd(&["COMMAND", "LIST"])
            .split("\r\n")
            .filter(|x| !x.is_empty() && !x.starts_with('*') && !x.starts_with('$'))
            .map(String::from)
            .collect()
    };
    (names(l), names(r).into_iter().collect())
}

/// COMMAND INFO of every command (and subcommand) both servers have is
/// the same bytes as Redis's, but for the 7.2 changes listed above:
/// arity, flags, key positions, ACL categories, tips, key specs.
#[test]
fn command_info_same_as_redis() {
    if !real_redis::available() {
        return;
    }
    let srv = TestServer::start(&[]);
    let r = real_redis::Redis::start(&[]);
    let (mut l, mut rr) = (srv.raw(), r.raw());
    let (ours, theirs) = shared_commands(&mut l, &mut rr);
    let mut compared = 0;
    // A container's subcommands (in Redis's dict order) are compared one
    // by one.
    let info = |c: &mut common::RawConn, n: &str| -> larder_protocol::Frame {
        use larder_protocol::Frame;
        let raw = c.cmd(&["COMMAND", "INFO", n]);
        let mut f = larder_protocol::parse_frame(raw.as_bytes()).unwrap().unwrap().0;
        if let Frame::Array(outer) = &mut f {
            if let Some(Frame::Array(fields)) = outer.get_mut(0) {
                if let Some(subs) = fields.get_mut(9) {
                    *subs = Frame::Array(Vec::new());
                }
            }
        }
        f
    };
    for n in ours.iter().filter(|n| theirs.contains(*n)) {
        let (a, b) = (info(&mut l, n), info(&mut rr, n));
        if INFO_72.iter().any(|(c, _)| c == n) {
            assert_ne!(a, b, "{n} is listed as changed in 7.2 but matches 7.0");
            continue;
        }
        assert_eq!(a, b, "COMMAND INFO {n}");
        compared += 1;
    }
    assert!(compared > 250, "{compared}");
}

/// INFO fields Redis 7.0 prints that Larder leaves out, and why.
const INFO_OMITTED: &[(&str, &str)] = &[
    ("redis_build_id", "no Redis build"),
    ("monotonic_clock", "Rust's Instant"),
    ("atomicvar_api", "Rust atomics"),
    ("gcc_version", "built by rustc"),
    (
        "dump_payload_sanitizations",
        "RESTORE decodes every payload whole; not counted",
    ),
    ("io_threaded_reads_processed", "no Redis-style I/O thread offload"),
    ("io_threaded_writes_processed", "no Redis-style I/O thread offload"),
    ("reply_buffer_shrinks", "no Redis reply buffers"),
    ("reply_buffer_expands", "no Redis reply buffers"),
    (
        "used_cpu_sys_main_thread",
        "no main thread: every I/O thread runs commands",
    ),
    (
        "used_cpu_user_main_thread",
        "no main thread: every I/O thread runs commands",
    ),
];

/// Fields Larder prints that Redis 7.0 does not (7.2's, and Larder's own).
const INFO_ADDED: &[&str] = &[
    "larder_version",
    "listener0",
    "total_blocking_keys",
    "total_blocking_keys_on_nokey",
    "acl_access_denied_auth",
    "acl_access_denied_cmd",
    "acl_access_denied_key",
    "acl_access_denied_channel",
];

/// Each INFO section's field names, in order (per-command, per-error and
/// per-db lines left out).
fn info_fields(c: &mut common::RawConn) -> Vec<(String, Vec<String>)> {
    let text = c.cmd(&["INFO", "everything"]);
    let mut out: Vec<(String, Vec<String>)> = Vec::new();
    for line in text.split("\r\n") {
        if let Some(sec) = line.strip_prefix("# ") {
            out.push((sec.to_string(), Vec::new()));
        } else if let Some((k, _)) = line.split_once(':') {
            let skip = ["cmdstat_", "errorstat_", "latency_percentiles_usec_", "db"];
            if !skip.iter().any(|p| k.starts_with(p)) {
                if let Some(last) = out.last_mut() {
                    last.1.push(k.to_string());
                }
            }
        }
    }
    out
}

/// INFO has Redis's sections and fields in Redis's order, but for the
/// fields listed above; the counters added for it move.
#[test]
fn info_fields_as_redis() {
    let srv = TestServer::start(&[]);
    let mut l = srv.raw();
    let before = info_field(&l.cmd(&["INFO", "stats"]), "total_reads_processed").unwrap();
    l.cmd(&["PING"]);
    let after = info_field(&l.cmd(&["INFO", "stats"]), "total_reads_processed").unwrap();
    assert!(after.parse::<u64>().unwrap() > before.parse::<u64>().unwrap());
    assert!(
        l.cmd(&["CONFIG", "SET", "activedefrag", "yes"])
            .starts_with("-ERR CONFIG SET failed (possibly related to argument 'activedefrag') - Active defragmentation cannot be enabled"),
    );
    assert_eq!(l.cmd(&["CONFIG", "SET", "activedefrag", "no"]), "+OK\r\n");
    // FLUSHALL ASYNC of more than 1024 keys frees them on a thread and
    // counts them.
    let mut mset = vec!["MSET".to_string()];
    for i in 0..3000 {
        mset.push(format!("k{i}"));
        mset.push("v".into());
    }
    let mset: Vec<&str> = mset.iter().map(String::as_str).collect();
    assert_eq!(l.cmd(&mset), "+OK\r\n");
    assert_eq!(l.cmd(&["FLUSHALL", "ASYNC"]), "+OK\r\n");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let mem = l.cmd(&["INFO", "memory"]);
        if info_field(&mem, "lazyfreed_objects").as_deref() == Some("3000") {
            assert_eq!(info_field(&mem, "lazyfree_pending_objects").as_deref(), Some("0"));
            break;
        }
        assert!(std::time::Instant::now() < deadline, "{mem}");
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    if !real_redis::available() {
        return;
    }
    let r = real_redis::Redis::start(&[]);
    let ours = info_fields(&mut l);
    let theirs = info_fields(&mut r.raw());
    let omitted = |k: &String| INFO_OMITTED.iter().any(|(f, _)| f == k);
    let added = |k: &String| INFO_ADDED.contains(&k.as_str());
    assert_eq!(
        ours.iter().map(|s| &s.0).collect::<Vec<_>>(),
        theirs.iter().map(|s| &s.0).collect::<Vec<_>>()
    );
    for ((sec, a), (_, b)) in ours.iter().zip(&theirs) {
        let a: Vec<&String> = a.iter().filter(|k| !added(k)).collect();
        let b: Vec<&String> = b.iter().filter(|k| !omitted(k)).collect();
        assert_eq!(a, b, "INFO {sec}");
    }
}

/// Documentation Larder takes from Redis 7.2 rather than the installed
/// 7.0: the command and the fields that differ.
const DOCS_72: &[(&str, &str)] = &[
    ("client|pause", "since"),
    ("geodist", "complexity"),
    ("geohash", "complexity"),
    ("geopos", "complexity"),
    ("psubscribe", "complexity"),
    ("punsubscribe", "complexity"),
    ("sscan", "complexity"),
    ("sunsubscribe", "complexity"),
    ("unsubscribe", "complexity"),
    ("zrandmember", "complexity"),
    ("zscan", "complexity"),
    ("zrank", "arguments"),
    ("zrank", "history"),
    ("zrevrank", "arguments"),
    ("zrevrank", "history"),
];

/// COMMAND DOCS matches Redis for every shared command: arguments (with
/// their field and flag order), history, doc flags, deprecation, group,
/// since, complexity; summaries are 7.2's wording, and the fields listed
/// above 7.2's.
#[test]
fn command_docs_same_as_redis() {
    use larder_protocol::Frame;
    if !real_redis::available() {
        return;
    }
    let srv = TestServer::start(&[]);
    let r = real_redis::Redis::start(&[]);
    let (mut l, mut rr) = (srv.raw(), r.raw());
    // name -> the doc's fields but summary and subcommands.
    let docs = |c: &mut common::RawConn, n: &str| -> Vec<(String, Frame)> {
        let raw = c.cmd(&["COMMAND", "DOCS", n]);
        let Frame::Array(top) = larder_protocol::parse_frame(raw.as_bytes()).unwrap().unwrap().0 else {
            panic!("{raw}")
        };
        let Some(Frame::Array(fields)) = top.get(1) else {
            panic!("{raw}")
        };
        fields
            .chunks(2)
            .filter_map(|kv| {
                let Frame::Bulk(k) = &kv[0] else { panic!("{raw}") };
                let k = String::from_utf8_lossy(k).into_owned();
                (k != "summary" && k != "subcommands").then(|| (k, kv[1].clone()))
            })
            .collect()
    };
    let (ours, theirs) = shared_commands(&mut l, &mut rr);
    let mut compared = 0;
    for n in ours.iter().filter(|n| theirs.contains(*n)) {
        let (a, b) = (docs(&mut l, n), docs(&mut rr, n));
        let changed = |k: &str| DOCS_72.iter().any(|(c, f)| c == n && *f == k);
        let keep = |v: &Vec<(String, Frame)>| v.iter().filter(|(k, _)| !changed(k)).cloned().collect::<Vec<_>>();
        assert_eq!(keep(&a), keep(&b), "COMMAND DOCS {n}");
        for (c, f) in DOCS_72.iter().filter(|(c, _)| c == n) {
            let get = |v: &Vec<(String, Frame)>| v.iter().find(|(k, _)| k == f).cloned();
            assert_ne!(get(&a), get(&b), "{c} {f} is listed as 7.2's but matches 7.0");
        }
        compared += 1;
    }
    assert!(compared > 250, "{compared}");
}

/// Cluster commands answer as a Redis with cluster support disabled:
/// its error, after arity and unknown-subcommand checks.
#[test]
fn cluster_commands_say_cluster_is_disabled() {
    let srv = TestServer::start(&[]);
    let mut l = srv.raw();
    let steps: &[&[&str]] = &[
        &["CLUSTER", "INFO"],
        &["CLUSTER", "SLOTS"],
        &["CLUSTER", "SHARDS"],
        &["CLUSTER", "NODES"],
        &["CLUSTER", "KEYSLOT", "foo"],
        &["CLUSTER", "HELP"],
        &["CLUSTER", "KEYSLOT"],
        &["CLUSTER"],
        &["CLUSTER", "nosuch"],
        &["READONLY"],
        &["READWRITE"],
        &["ASKING"],
    ];
    let ours: Vec<String> = steps.iter().map(|s| l.cmd(s)).collect();
    assert_eq!(ours[0], "-ERR This instance has cluster support disabled\r\n");
    assert_eq!(ours[9], "-ERR This instance has cluster support disabled\r\n");
    assert_eq!(
        ours[6],
        "-ERR wrong number of arguments for 'cluster|keyslot' command\r\n"
    );
    if !real_redis::available() {
        return;
    }
    let r = real_redis::Redis::start(&[]);
    let mut rr = r.raw();
    let theirs: Vec<String> = steps.iter().map(|s| rr.cmd(s)).collect();
    assert_eq!(ours, theirs);
}

/// The containers' HELP texts are Redis's (CLIENT's with 7.2's SETINFO
/// and NO-TOUCH entries, which 7.0 lacks).
#[test]
fn help_texts_as_redis() {
    if !real_redis::available() {
        return;
    }
    let srv = TestServer::start(&[]);
    let r = real_redis::Redis::start(&[]);
    let (mut l, mut rr) = (srv.raw(), r.raw());
    for c in [
        "OBJECT", "MEMORY", "CONFIG", "SCRIPT", "FUNCTION", "PUBSUB", "SLOWLOG", "LATENCY", "ACL", "COMMAND",
    ] {
        assert_eq!(l.cmd(&[c, "HELP"]), rr.cmd(&[c, "HELP"]), "{c} HELP");
    }
    let ours = l.cmd(&["CLIENT", "HELP"]);
    let without_72 = ours
        .replace(
            "+SETINFO <option> <value>\r\n+    Set client meta attr. Options are:\r\n+    * LIB-NAME: the client lib name.\r\n+    * LIB-VER: the client lib version.\r\n",
            "",
        )
        .replace(
            "+NO-TOUCH (ON|OFF)\r\n+    Will not touch LRU/LFU stats when this mode is on.\r\n",
            "",
        );
    let theirs = rr.cmd(&["CLIENT", "HELP"]);
    assert_eq!(
        without_72.lines().skip(1).collect::<Vec<_>>(),
        theirs.lines().skip(1).collect::<Vec<_>>()
    );
}
