//! Configuration: Redis's directive names and syntax, from a file
//! (`larder-server redis.conf`), the command line (`--port 7000`), and at
//! run time through CONFIG GET/SET/REWRITE.
//!
//! Every directive is one row of [`DIRECTIVES`]: its name, whether CONFIG
//! SET may change it at run time, and how to read and write it. The file
//! parser, the command line, CONFIG GET/SET and CONFIG REWRITE all go
//! through that one table.
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use larder_protocol::split_args;

use crate::glob::glob_match;

#[derive(Clone, Debug)]
pub struct Config {
    pub port: u16,
    pub bind: Vec<String>,
    pub unixsocket: Option<String>,
    pub unixsocketperm: u32,
    pub protected_mode: bool,
    pub requirepass: Option<String>,
    /// `user <name> <rules...>` lines (ACL users, loaded at start-up).
    pub users: Vec<Vec<String>>,
    pub databases: usize,
    pub maxclients: usize,
    pub timeout: u64,
    pub tcp_keepalive: u64,
    pub tcp_backlog: u32,
    pub io_threads: usize,
    pub shards: usize,
    pub hz: u32,
    pub loglevel: LogLevel,
    pub logfile: String,
    pub proto_max_bulk_len: i64,
    pub client_query_buffer_limit: u64,
    pub maxmemory: u64,
    pub maxmemory_policy: larder_engine::Policy,
    pub dir: String,
    pub dbfilename: String,
    pub save: String,
    pub appendonly: bool,
    pub daemonize: bool,
    pub pidfile: String,
    pub enable_debug_command: String,
    pub lazyfree_lazy_user_flush: bool,
    /// notify-keyspace-events as flags (`notify.rs`).
    pub notify_keyspace_events: u32,
    /// Directives Larder accepts and reports but does not act on yet
    /// (tuning knobs of features that are harmless to ignore), by
    /// canonical name. Absent: the default.
    pub extras: BTreeMap<&'static str, String>,
    /// The file this configuration came from, for CONFIG REWRITE.
    pub file: Option<PathBuf>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum LogLevel {
    Debug,
    Verbose,
    Notice,
    Warning,
    Nothing,
}

impl LogLevel {
    pub fn name(self) -> &'static str {
        match self {
            LogLevel::Debug => "debug",
            LogLevel::Verbose => "verbose",
            LogLevel::Notice => "notice",
            LogLevel::Warning => "warning",
            LogLevel::Nothing => "nothing",
        }
    }

    pub fn parse(s: &str) -> Option<LogLevel> {
        Some(match s.to_ascii_lowercase().as_str() {
            "debug" => LogLevel::Debug,
            "verbose" => LogLevel::Verbose,
            "notice" => LogLevel::Notice,
            "warning" => LogLevel::Warning,
            "nothing" => LogLevel::Nothing,
            _ => return None,
        })
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            port: 6379,
            bind: vec!["127.0.0.1".into(), "-::1".into()],
            unixsocket: None,
            unixsocketperm: 0,
            protected_mode: true,
            requirepass: None,
            users: Vec::new(),
            databases: 16,
            maxclients: 10000,
            timeout: 0,
            tcp_keepalive: 300,
            tcp_backlog: 511,
            io_threads: std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
            shards: 256,
            hz: 10,
            loglevel: LogLevel::Notice,
            logfile: String::new(),
            proto_max_bulk_len: 512 * 1024 * 1024,
            client_query_buffer_limit: 1024 * 1024 * 1024,
            maxmemory: 0,
            maxmemory_policy: larder_engine::Policy::NoEviction,
            dir: ".".into(),
            dbfilename: "dump.rdb".into(),
            save: "3600 1 300 100 60 10000".into(),
            appendonly: false,
            daemonize: false,
            pidfile: String::new(),
            enable_debug_command: "no".into(),
            lazyfree_lazy_user_flush: false,
            notify_keyspace_events: 0,
            extras: BTreeMap::new(),
            file: None,
        }
    }
}

/// Parses a Redis memory value (Redis's `memtoull`): `1gb`, `512mb`,
/// `100k` (1000), `1kb` (1024), `1024`; units are case-insensitive.
pub fn parse_memory(s: &str) -> Option<u64> {
    let lower = s.to_ascii_lowercase();
    let (num, mul): (&str, u64) = if let Some(n) = lower.strip_suffix("gb") {
        (n, 1 << 30)
    } else if let Some(n) = lower.strip_suffix("mb") {
        (n, 1 << 20)
    } else if let Some(n) = lower.strip_suffix("kb") {
        (n, 1 << 10)
    } else if let Some(n) = lower.strip_suffix('g') {
        (n, 1_000_000_000)
    } else if let Some(n) = lower.strip_suffix('m') {
        (n, 1_000_000)
    } else if let Some(n) = lower.strip_suffix('k') {
        (n, 1_000)
    } else if let Some(n) = lower.strip_suffix('b') {
        (n, 1)
    } else {
        (lower.as_str(), 1)
    };
    if num.is_empty() || !num.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n: u64 = num.parse().ok()?;
    n.checked_mul(mul)
}

fn parse_bool(s: &str) -> Result<bool, String> {
    match s.to_ascii_lowercase().as_str() {
        "yes" => Ok(true),
        "no" => Ok(false),
        _ => Err("argument must be 'yes' or 'no'".into()),
    }
}

/// An integer directive's value: plain integers, or memory units where
/// Redis allows them, within `min..=max`.
fn parse_int<T: std::str::FromStr>(s: &str, min: i64, max: i64) -> Result<T, String> {
    let v: i64 = crate::util::parse_i64(s.as_bytes())
        .ok_or_else(|| "argument couldn't be parsed into an integer".to_string())?;
    if v < min || v > max {
        return Err(format!("argument must be between {min} and {max} inclusive"));
    }
    v.to_string()
        .parse()
        .map_err(|_| "argument couldn't be parsed into an integer".to_string())
}

fn parse_enum(s: &str, allowed: &[&str]) -> Result<String, String> {
    let v = s.to_ascii_lowercase();
    if allowed.contains(&v.as_str()) {
        Ok(v)
    } else {
        Err(format!(
            "argument(s) must be one of the following: {}",
            allowed.join(", ")
        ))
    }
}

fn yes_no(b: bool) -> String {
    if b { "yes" } else { "no" }.into()
}

type Getter = fn(&Config) -> String;
type Setter = fn(&mut Config, &[String]) -> Result<(), String>;

/// Whether and how CONFIG SET may change a directive.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Mutable,
    /// Only at startup ("can't set immutable config").
    Immutable,
    /// Only with enable-protected-configs ("can't set protected config").
    Protected,
}

/// How CONFIG REWRITE writes a directive's value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Written as is (numbers, yes/no, enums, lists of words).
    Plain,
    /// A string, always quoted like Redis's `sdscatrepr`.
    Str,
    /// `save`: `save ""` when empty.
    Save,
    /// client-output-buffer-limit: one line per class.
    ClientOutputBufferLimit,
}

/// One configuration directive.
pub struct Directive {
    pub name: &'static str,
    pub aliases: &'static [&'static str],
    pub mode: Mode,
    pub kind: Kind,
    pub get: Getter,
    pub set: Setter,
}

fn one(args: &[String]) -> Result<&str, String> {
    match args {
        [a] => Ok(a.as_str()),
        _ => Err("wrong number of arguments".into()),
    }
}

use Kind::{Plain, Str};
use Mode::{Immutable, Mutable, Protected};

macro_rules! d {
    ($name:expr, $mode:expr, $kind:expr, |$c:ident| $get:expr, |$c2:ident, $a:ident| $set:expr) => {
        Directive {
            name: $name,
            aliases: &[],
            mode: $mode,
            kind: $kind,
            get: |$c: &Config| $get,
            set: |$c2: &mut Config, $a: &[String]| $set,
        }
    };
}

/// A stored-only yes/no directive.
macro_rules! xbool {
    ($name:expr, $mode:expr, $default:expr) => {
        xbool!($name, $mode, $default, &[])
    };
    ($name:expr, $mode:expr, $default:expr, $aliases:expr) => {
        Directive {
            name: $name,
            aliases: $aliases,
            mode: $mode,
            kind: Plain,
            get: |c: &Config| c.extra($name, if $default { "yes" } else { "no" }),
            set: |c: &mut Config, a: &[String]| {
                let v = parse_bool(one(a)?)?;
                c.extras.insert($name, yes_no(v));
                Ok(())
            },
        }
    };
}

/// A stored-only integer directive.
macro_rules! xint {
    ($name:expr, $mode:expr, $default:expr, $min:expr, $max:expr) => {
        xint!($name, $mode, $default, $min, $max, &[])
    };
    ($name:expr, $mode:expr, $default:expr, $min:expr, $max:expr, $aliases:expr) => {
        Directive {
            name: $name,
            aliases: $aliases,
            mode: $mode,
            kind: Plain,
            get: |c: &Config| c.extra($name, stringify!($default)),
            set: |c: &mut Config, a: &[String]| {
                let v: i64 = parse_int(one(a)?, $min, $max)?;
                c.extras.insert($name, v.to_string());
                Ok(())
            },
        }
    };
}

/// A stored-only memory directive (units allowed, shown in bytes).
macro_rules! xmem {
    ($name:expr, $mode:expr, $default:expr) => {
        Directive {
            name: $name,
            aliases: &[],
            mode: $mode,
            kind: Plain,
            get: |c: &Config| c.extra($name, stringify!($default)),
            set: |c: &mut Config, a: &[String]| {
                let v = parse_memory(one(a)?).ok_or("argument must be a memory value")?;
                if v > i64::MAX as u64 {
                    return Err("argument must be a memory value".into());
                }
                c.extras.insert($name, v.to_string());
                Ok(())
            },
        }
    };
}

/// A stored-only enumerated directive.
macro_rules! xenum {
    ($name:expr, $mode:expr, $default:expr, $values:expr) => {
        Directive {
            name: $name,
            aliases: &[],
            mode: $mode,
            kind: Plain,
            get: |c: &Config| c.extra($name, $default),
            set: |c: &mut Config, a: &[String]| {
                let v = parse_enum(one(a)?, $values)?;
                c.extras.insert($name, v);
                Ok(())
            },
        }
    };
}

/// A stored-only string directive.
macro_rules! xstr {
    ($name:expr, $mode:expr, $default:expr) => {
        xstr!($name, $mode, $default, &[])
    };
    ($name:expr, $mode:expr, $default:expr, $aliases:expr) => {
        Directive {
            name: $name,
            aliases: $aliases,
            mode: $mode,
            kind: Str,
            get: |c: &Config| c.extra($name, $default),
            set: |c: &mut Config, a: &[String]| {
                let v = one(a)?;
                c.extras.insert($name, v.to_string());
                Ok(())
            },
        }
    };
}

/// A directive of a feature Larder does not have yet: only the value
/// that leaves the feature off is accepted; anything else is refused
/// with `$why` instead of silently doing nothing.
macro_rules! off_only {
    ($name:expr, $off:expr, $why:expr) => {
        off_only!($name, $off, $why, &[])
    };
    ($name:expr, $off:expr, $why:expr, $aliases:expr) => {
        only_value!($name, Immutable, Str, $off, $why, $aliases)
    };
}

/// `off_only!` for a directive Redis lets CONFIG SET change (or not, by
/// `$mode`): only `$off` is accepted.
macro_rules! only_value {
    ($name:expr, $mode:expr, $off:expr, $why:expr) => {
        only_value!($name, $mode, Plain, $off, $why, &[])
    };
    ($name:expr, $mode:expr, $kind:expr, $off:expr, $why:expr, $aliases:expr) => {
        Directive {
            name: $name,
            aliases: $aliases,
            mode: $mode,
            kind: $kind,
            get: |_c: &Config| $off.to_string(),
            set: |_c: &mut Config, a: &[String]| {
                if a.join(" ").eq_ignore_ascii_case($off) {
                    Ok(())
                } else {
                    Err($why.into())
                }
            },
        }
    };
}

const COBL_DEFAULT: &str = "normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60";

/// client-output-buffer-limit `<class> <hard> <soft> <seconds>` groups,
/// merged into the stored three-class value.
fn set_cobl(c: &mut Config, a: &[String]) -> Result<(), String> {
    let words: Vec<&str> = a.iter().flat_map(|s| s.split_whitespace()).collect();
    if words.is_empty() || words.len() & 3 != 0 {
        return Err("Wrong number of arguments in buffer limit configuration.".into());
    }
    let current = c.extra("client-output-buffer-limit", COBL_DEFAULT);
    let mut classes: Vec<(String, [u64; 3])> = Vec::new();
    for chunk in current.split_whitespace().collect::<Vec<_>>().chunks(4) {
        if let [class, h, s, t] = chunk {
            classes.push((
                class.to_string(),
                [h.parse().unwrap_or(0), s.parse().unwrap_or(0), t.parse().unwrap_or(0)],
            ));
        }
    }
    for chunk in words.chunks(4) {
        let [class, h, s, t] = chunk else {
            return Err("Wrong number of arguments in buffer limit configuration.".into());
        };
        let class = match class.to_ascii_lowercase().as_str() {
            "normal" => "normal",
            "replica" | "slave" => "slave",
            "pubsub" => "pubsub",
            _ => return Err("Invalid client class specified in buffer limit configuration.".into()),
        };
        let hard = parse_memory(h);
        let soft = parse_memory(s);
        let secs = crate::util::parse_i64(t.as_bytes()).filter(|&v| v >= 0);
        let (Some(hard), Some(soft), Some(secs)) = (hard, soft, secs) else {
            return Err("Error in hard, soft or soft_seconds setting in buffer limit configuration.".into());
        };
        if let Some(entry) = classes.iter_mut().find(|(n, _)| n == class) {
            entry.1 = [hard, soft, secs as u64];
        }
    }
    let text = classes
        .iter()
        .map(|(n, v)| format!("{n} {} {} {}", v[0], v[1], v[2]))
        .collect::<Vec<_>>()
        .join(" ");
    c.extras.insert("client-output-buffer-limit", text);
    Ok(())
}

fn set_save(c: &mut Config, a: &[String]) -> Result<(), String> {
    let words: Vec<&str> = a.iter().flat_map(|s| s.split_whitespace()).collect();
    if words.len() & 1 != 0
        || words
            .iter()
            .any(|w| !matches!(crate::util::parse_i64(w.as_bytes()), Some(v) if v >= 0))
    {
        return Err("Invalid save parameters".into());
    }
    c.save = words.join(" ");
    Ok(())
}

pub static DIRECTIVES: &[Directive] = &[
    d!("port", Immutable, Plain, |c| c.port.to_string(), |c, a| {
        c.port = parse_int(one(a)?, 0, 65535)?;
        Ok(())
    }),
    d!("bind", Immutable, Plain, |c| c.bind.join(" "), |c, a| {
        if a.is_empty() {
            return Err("wrong number of arguments".into());
        }
        c.bind = a
            .iter()
            .flat_map(|s| s.split_whitespace().map(String::from).collect::<Vec<_>>())
            .collect();
        Ok(())
    }),
    d!(
        "unixsocket",
        Immutable,
        Str,
        |c| c.unixsocket.clone().unwrap_or_default(),
        |c, a| {
            let s = one(a)?;
            c.unixsocket = (!s.is_empty()).then(|| s.to_string());
            Ok(())
        }
    ),
    d!(
        "unixsocketperm",
        Immutable,
        Plain,
        |c| format!("{:o}", c.unixsocketperm),
        |c, a| {
            let v = u32::from_str_radix(one(a)?, 8).map_err(|_| "Invalid socket file permissions".to_string())?;
            if v > 0o777 {
                return Err("Invalid socket file permissions".into());
            }
            c.unixsocketperm = v;
            Ok(())
        }
    ),
    d!(
        "protected-mode",
        Mutable,
        Plain,
        |c| yes_no(c.protected_mode),
        |c, a| {
            c.protected_mode = parse_bool(one(a)?)?;
            Ok(())
        }
    ),
    d!(
        "requirepass",
        Mutable,
        Str,
        |c| c.requirepass.clone().unwrap_or_default(),
        |c, a| {
            let s = one(a)?;
            c.requirepass = (!s.is_empty()).then(|| s.to_string());
            Ok(())
        }
    ),
    d!("databases", Immutable, Plain, |c| c.databases.to_string(), |c, a| {
        c.databases = parse_int(one(a)?, 1, i32::MAX as i64)?;
        Ok(())
    }),
    d!("maxclients", Mutable, Plain, |c| c.maxclients.to_string(), |c, a| {
        c.maxclients = parse_int(one(a)?, 1, i32::MAX as i64)?;
        Ok(())
    }),
    d!("timeout", Mutable, Plain, |c| c.timeout.to_string(), |c, a| {
        c.timeout = parse_int(one(a)?, 0, i32::MAX as i64)?;
        Ok(())
    }),
    d!(
        "tcp-keepalive",
        Mutable,
        Plain,
        |c| c.tcp_keepalive.to_string(),
        |c, a| {
            c.tcp_keepalive = parse_int(one(a)?, 0, i32::MAX as i64)?;
            Ok(())
        }
    ),
    d!(
        "tcp-backlog",
        Immutable,
        Plain,
        |c| c.tcp_backlog.to_string(),
        |c, a| {
            c.tcp_backlog = parse_int(one(a)?, 0, i32::MAX as i64)?;
            Ok(())
        }
    ),
    d!("io-threads", Immutable, Plain, |c| c.io_threads.to_string(), |c, a| {
        c.io_threads = parse_int(one(a)?, 1, 128)?;
        Ok(())
    }),
    d!("larder-shards", Immutable, Plain, |c| c.shards.to_string(), |c, a| {
        c.shards = parse_int(one(a)?, 1, 16384)?;
        Ok(())
    }),
    d!("hz", Mutable, Plain, |c| c.hz.to_string(), |c, a| {
        c.hz = parse_int::<u32>(one(a)?, 0, i32::MAX as i64)?.clamp(1, 500);
        Ok(())
    }),
    d!("loglevel", Mutable, Plain, |c| c.loglevel.name().to_string(), |c, a| {
        c.loglevel = LogLevel::parse(one(a)?)
            .ok_or("argument(s) must be one of the following: debug, verbose, notice, warning, nothing")?;
        Ok(())
    }),
    d!("logfile", Immutable, Str, |c| c.logfile.clone(), |c, a| {
        c.logfile = one(a)?.to_string();
        Ok(())
    }),
    d!(
        "proto-max-bulk-len",
        Mutable,
        Plain,
        |c| c.proto_max_bulk_len.to_string(),
        |c, a| {
            let v = parse_memory(one(a)?).ok_or("argument must be a memory value")?;
            if !(1024 * 1024..=i64::MAX as u64).contains(&v) {
                return Err("argument must be between 1048576 and 9223372036854775807 inclusive".into());
            }
            c.proto_max_bulk_len = v as i64;
            Ok(())
        }
    ),
    d!(
        "client-query-buffer-limit",
        Mutable,
        Plain,
        |c| c.client_query_buffer_limit.to_string(),
        |c, a| {
            let v = parse_memory(one(a)?).ok_or("argument must be a memory value")?;
            if !(1024 * 1024..=i64::MAX as u64).contains(&v) {
                return Err("argument must be between 1048576 and 9223372036854775807 inclusive".into());
            }
            c.client_query_buffer_limit = v;
            Ok(())
        }
    ),
    d!("maxmemory", Mutable, Plain, |c| c.maxmemory.to_string(), |c, a| {
        let v = parse_memory(one(a)?).ok_or("argument must be a memory value")?;
        if v > i64::MAX as u64 {
            return Err("argument must be a memory value".into());
        }
        c.maxmemory = v;
        Ok(())
    }),
    d!(
        "maxmemory-policy",
        Mutable,
        Plain,
        |c| c.maxmemory_policy.name().to_string(),
        |c, a| {
            let names: Vec<&str> = larder_engine::evict::POLICIES.iter().map(|(n, _)| *n).collect();
            c.maxmemory_policy = larder_engine::Policy::from_name(&parse_enum(one(a)?, &names)?)
                .ok_or_else(|| "unknown policy".to_string())?;
            Ok(())
        }
    ),
    d!("dir", Protected, Str, |c| c.dir.clone(), |c, a| {
        c.dir = one(a)?.to_string();
        Ok(())
    }),
    d!("dbfilename", Protected, Str, |c| c.dbfilename.clone(), |c, a| {
        let v = one(a)?;
        if v.contains('/') {
            return Err("dbfilename can't be a path, just a filename".into());
        }
        c.dbfilename = v.to_string();
        Ok(())
    }),
    Directive {
        name: "save",
        aliases: &[],
        mode: Mutable,
        kind: Kind::Save,
        get: |c: &Config| c.save.clone(),
        set: set_save,
    },
    d!("appendonly", Mutable, Plain, |c| yes_no(c.appendonly), |c, a| {
        c.appendonly = parse_bool(one(a)?)?;
        Ok(())
    }),
    d!("daemonize", Immutable, Plain, |c| yes_no(c.daemonize), |c, a| {
        c.daemonize = parse_bool(one(a)?)?;
        Ok(())
    }),
    d!("pidfile", Immutable, Str, |c| c.pidfile.clone(), |c, a| {
        c.pidfile = one(a)?.to_string();
        Ok(())
    }),
    d!(
        "enable-debug-command",
        Immutable,
        Plain,
        |c| c.enable_debug_command.clone(),
        |c, a| {
            c.enable_debug_command = parse_enum(one(a)?, &["no", "yes", "local"])?;
            Ok(())
        }
    ),
    d!(
        "lazyfree-lazy-user-flush",
        Mutable,
        Plain,
        |c| yes_no(c.lazyfree_lazy_user_flush),
        |c, a| {
            c.lazyfree_lazy_user_flush = parse_bool(one(a)?)?;
            Ok(())
        }
    ),
    // Accepted and reported; Larder has nothing to tune with them (yet).
    xbool!("always-show-logo", Immutable, false),
    xbool!("set-proc-title", Immutable, true),
    xstr!("proc-title-template", Mutable, "{title} {listen-addr} {server-mode}"),
    xenum!("supervised", Immutable, "no", &["upstart", "systemd", "auto", "no"]),
    xbool!("syslog-enabled", Immutable, false),
    xstr!("syslog-ident", Immutable, "redis"),
    xenum!(
        "syslog-facility",
        Immutable,
        "local0",
        &["user", "local0", "local1", "local2", "local3", "local4", "local5", "local6", "local7"]
    ),
    xbool!("crash-log-enabled", Mutable, true),
    xbool!("crash-memcheck-enabled", Mutable, true),
    xbool!("disable-thp", Immutable, true),
    xbool!("jemalloc-bg-thread", Mutable, true),
    xbool!("latency-tracking", Mutable, true),
    d!(
        "latency-tracking-info-percentiles",
        Mutable,
        Plain,
        |c| c.extra("latency-tracking-info-percentiles", "50 99 99.9"),
        |c, a| {
            let ps = crate::latency_hist::parse_percentiles(a)?;
            c.extras.insert(
                "latency-tracking-info-percentiles",
                crate::latency_hist::percentiles_text(&ps),
            );
            Ok(())
        }
    ),
    xint!("latency-monitor-threshold", Mutable, 0, 0, i64::MAX),
    xint!("slowlog-log-slower-than", Mutable, 10000, -1, i64::MAX),
    xint!("slowlog-max-len", Mutable, 128, 0, i64::MAX),
    xint!("acllog-max-len", Mutable, 128, 0, i64::MAX),
    xbool!("activerehashing", Mutable, true),
    xbool!("dynamic-hz", Mutable, true),
    d!("activedefrag", Mutable, Plain, |_c| "no".to_string(), |_c, a| {
        // As a Redis built without its own jemalloc (Debian's) refuses it.
        if parse_bool(one(a)?)? {
            return Err("Active defragmentation cannot be enabled: Larder has no active defragmentation".into());
        }
        Ok(())
    }),
    xint!("active-expire-effort", Mutable, 1, 1, 10),
    xbool!("lazyfree-lazy-eviction", Mutable, false),
    xbool!("lazyfree-lazy-expire", Mutable, false),
    xbool!("lazyfree-lazy-server-del", Mutable, false),
    xbool!("lazyfree-lazy-user-del", Mutable, false),
    xbool!("replica-lazy-flush", Mutable, false, &["slave-lazy-flush"]),
    xint!("maxmemory-samples", Mutable, 5, 1, i32::MAX as i64),
    xint!("maxmemory-eviction-tenacity", Mutable, 10, 0, 100),
    xmem!("maxmemory-clients", Mutable, 0),
    xint!("lfu-log-factor", Mutable, 10, 0, i32::MAX as i64),
    xint!("lfu-decay-time", Mutable, 1, 0, i32::MAX as i64),
    xbool!("io-threads-do-reads", Immutable, false),
    xenum!("enable-protected-configs", Immutable, "no", &["no", "yes", "local"]),
    xenum!("enable-module-command", Immutable, "no", &["no", "yes", "local"]),
    xenum!("oom-score-adj", Mutable, "no", &["no", "yes", "relative", "absolute"]),
    d!(
        "oom-score-adj-values",
        Mutable,
        Plain,
        |c| c.extra("oom-score-adj-values", "0 200 800"),
        |c, a| {
            // Three values, as one argument (CONFIG SET) or three (a file).
            let words: Vec<&str> = a.iter().flat_map(|w| w.split_whitespace()).collect();
            if words.len() != 3 {
                return Err("wrong number of arguments".into());
            }
            let in_range = |w: &&str| w.parse::<i64>().is_ok_and(|v| (-2000..=2000).contains(&v));
            if !words.iter().all(in_range) {
                return Err("Invalid oom-score-adj-values, elements must be between -2000 and 2000.".into());
            }
            c.extras.insert("oom-score-adj-values", words.join(" "));
            Ok(())
        }
    ),
    xstr!("locale-collate", Mutable, ""),
    xstr!("ignore-warnings", Mutable, ""),
    xint!("busy-reply-threshold", Mutable, 5000, 0, i64::MAX, &["lua-time-limit"]),
    xint!("shutdown-timeout", Mutable, 10, 0, i32::MAX as i64),
    xint!("tracking-table-max-keys", Mutable, 1000000, 0, i64::MAX),
    Directive {
        name: "client-output-buffer-limit",
        aliases: &[],
        mode: Mutable,
        kind: Kind::ClientOutputBufferLimit,
        get: |c: &Config| c.extra("client-output-buffer-limit", COBL_DEFAULT),
        set: set_cobl,
    },
    // Encoding thresholds of the data types.
    xint!(
        "hash-max-listpack-entries",
        Mutable,
        128,
        0,
        i64::MAX,
        &["hash-max-ziplist-entries"]
    ),
    xint!(
        "hash-max-listpack-value",
        Mutable,
        64,
        0,
        i64::MAX,
        &["hash-max-ziplist-value"]
    ),
    xint!(
        "list-max-listpack-size",
        Mutable,
        -2,
        i32::MIN as i64,
        i32::MAX as i64,
        &["list-max-ziplist-size"]
    ),
    xint!("list-compress-depth", Mutable, 0, 0, i32::MAX as i64),
    xint!("set-max-intset-entries", Mutable, 512, 0, i64::MAX),
    xint!("set-max-listpack-entries", Mutable, 128, 0, i64::MAX),
    xint!("set-max-listpack-value", Mutable, 64, 0, i64::MAX),
    xint!(
        "zset-max-listpack-entries",
        Mutable,
        128,
        0,
        i64::MAX,
        &["zset-max-ziplist-entries"]
    ),
    xint!(
        "zset-max-listpack-value",
        Mutable,
        64,
        0,
        i64::MAX,
        &["zset-max-ziplist-value"]
    ),
    xmem!("hll-sparse-max-bytes", Mutable, 3000),
    xint!("stream-node-max-bytes", Mutable, 4096, 0, i64::MAX),
    xint!("stream-node-max-entries", Mutable, 100, 0, i64::MAX),
    // Persistence tuning (no effect while there is no persistence).
    xbool!("stop-writes-on-bgsave-error", Mutable, true),
    xbool!("rdbcompression", Mutable, true),
    xbool!("rdbchecksum", Mutable, true),
    xbool!("rdb-del-sync-files", Mutable, false),
    xbool!("rdb-save-incremental-fsync", Mutable, true),
    xstr!("appendfilename", Immutable, "appendonly.aof"),
    xstr!("appenddirname", Immutable, "appendonlydir"),
    xenum!("appendfsync", Mutable, "everysec", &["everysec", "always", "no"]),
    xbool!("no-appendfsync-on-rewrite", Mutable, false),
    xint!("auto-aof-rewrite-percentage", Mutable, 100, 0, i32::MAX as i64),
    xmem!("auto-aof-rewrite-min-size", Mutable, 67108864),
    xbool!("aof-load-truncated", Mutable, true),
    xbool!("aof-use-rdb-preamble", Mutable, true),
    xbool!("aof-timestamp-enabled", Mutable, false),
    xbool!("aof-rewrite-incremental-fsync", Mutable, true),
    // Replication tuning (no effect while this server is not a replica).
    xstr!("masterauth", Mutable, ""),
    xstr!("masteruser", Mutable, ""),
    xbool!("replica-serve-stale-data", Mutable, true, &["slave-serve-stale-data"]),
    xbool!("replica-read-only", Mutable, true, &["slave-read-only"]),
    xbool!("repl-diskless-sync", Mutable, true),
    xint!("repl-diskless-sync-delay", Mutable, 5, 0, i32::MAX as i64),
    xenum!(
        "repl-diskless-load",
        Mutable,
        "disabled",
        &["disabled", "on-empty-db", "swapdb"]
    ),
    xbool!("repl-disable-tcp-nodelay", Mutable, false),
    xint!(
        "repl-ping-replica-period",
        Mutable,
        10,
        1,
        i32::MAX as i64,
        &["repl-ping-slave-period"]
    ),
    xint!("repl-timeout", Mutable, 60, 1, i32::MAX as i64),
    xmem!("repl-backlog-size", Mutable, 1048576),
    xint!("repl-backlog-ttl", Mutable, 3600, 0, i32::MAX as i64),
    xint!(
        "replica-priority",
        Mutable,
        100,
        0,
        i32::MAX as i64,
        &["slave-priority"]
    ),
    xint!(
        "min-replicas-to-write",
        Mutable,
        0,
        0,
        i32::MAX as i64,
        &["min-slaves-to-write"]
    ),
    xint!(
        "min-replicas-max-lag",
        Mutable,
        10,
        0,
        i32::MAX as i64,
        &["min-slaves-max-lag"]
    ),
    xbool!("replica-ignore-maxmemory", Mutable, true, &["slave-ignore-maxmemory"]),
    // Features Larder does not have: only "off" is accepted.
    off_only!(
        "replicaof",
        "",
        "replicaof is not supported: Larder has no replication yet",
        &["slaveof"]
    ),
    off_only!(
        "cluster-enabled",
        "no",
        "cluster-enabled yes is not supported: Larder has no cluster mode yet"
    ),
    // Replication and cluster settings are kept (CONFIG GET shows them, a
    // stock redis.conf loads) and inert: with no replicas and
    // cluster-enabled no, Redis ignores them too.
    xstr!("bind-source-addr", Mutable, ""),
    xint!("repl-diskless-sync-max-replicas", Mutable, 0, 0, i32::MAX as i64),
    xstr!("replica-announce-ip", Mutable, "", &["slave-announce-ip"]),
    xint!("replica-announce-port", Mutable, 0, 0, 65535, &["slave-announce-port"]),
    xbool!("replica-announced", Mutable, true),
    xbool!("replica-ignore-disk-write-errors", Mutable, false),
    xenum!(
        "propagation-error-behavior",
        Mutable,
        "ignore",
        &["ignore", "panic", "panic-on-replicas"]
    ),
    xint!("cluster-port", Immutable, 0, 0, 65535),
    xstr!("cluster-config-file", Immutable, "nodes.conf"),
    xint!("cluster-node-timeout", Mutable, 15000, 0, i64::MAX),
    xint!("cluster-announce-port", Mutable, 0, 0, 65535),
    xint!("cluster-announce-bus-port", Mutable, 0, 0, 65535),
    xint!("cluster-announce-tls-port", Mutable, 0, 0, 65535),
    xstr!("cluster-announce-ip", Mutable, ""),
    xstr!("cluster-announce-hostname", Mutable, ""),
    xenum!(
        "cluster-preferred-endpoint-type",
        Mutable,
        "ip",
        &["ip", "hostname", "unknown-endpoint"]
    ),
    xint!("cluster-migration-barrier", Mutable, 1, 0, i32::MAX as i64),
    xint!(
        "cluster-replica-validity-factor",
        Mutable,
        10,
        0,
        i32::MAX as i64,
        &["cluster-slave-validity-factor"]
    ),
    xbool!(
        "cluster-replica-no-failover",
        Mutable,
        false,
        &["cluster-slave-no-failover"]
    ),
    xbool!("cluster-require-full-coverage", Mutable, true),
    xbool!("cluster-allow-reads-when-down", Mutable, false),
    xbool!("cluster-allow-replica-migration", Mutable, true),
    xbool!("cluster-allow-pubsubshard-when-down", Mutable, true),
    xmem!("cluster-link-sendbuf-limit", Mutable, 0),
    // Defragmentation's tuning, inert as `activedefrag yes` is refused
    // (as in a Redis built without its jemalloc).
    xmem!("active-defrag-ignore-bytes", Mutable, 104857600),
    xint!("active-defrag-threshold-lower", Mutable, 10, 0, 1000),
    xint!("active-defrag-threshold-upper", Mutable, 100, 0, 1000),
    xint!("active-defrag-cycle-min", Mutable, 1, 1, 99),
    xint!("active-defrag-cycle-max", Mutable, 25, 1, 99),
    xint!("active-defrag-max-scan-fields", Mutable, 1000, 1, i64::MAX),
    // RESTORE and replication payloads are always decoded whole, which is
    // what `yes` asks for; every setting is honest.
    xenum!("sanitize-dump-payload", Mutable, "no", &["no", "yes", "clients"]),
    // What Larder does not do: only the default is accepted.
    only_value!(
        "aof-disable-auto-gc",
        Mutable,
        "no",
        "aof-disable-auto-gc yes is not supported: Larder always deletes history AOF files"
    ),
    only_value!(
        "shutdown-on-sigterm",
        Mutable,
        "default",
        "shutdown-on-sigterm is not supported: SIGTERM always shuts down as `default`"
    ),
    only_value!(
        "shutdown-on-sigint",
        Mutable,
        "default",
        "shutdown-on-sigint is not supported: SIGINT always shuts down as `default`"
    ),
    only_value!(
        "socket-mark-id",
        Immutable,
        "0",
        "socket-mark-id is not supported: Larder does not mark sockets"
    ),
    only_value!(
        "server_cpulist",
        Immutable,
        "",
        "server_cpulist is not supported: Larder does not pin threads"
    ),
    only_value!(
        "bio_cpulist",
        Immutable,
        "",
        "bio_cpulist is not supported: Larder does not pin threads"
    ),
    only_value!(
        "aof_rewrite_cpulist",
        Immutable,
        "",
        "aof_rewrite_cpulist is not supported: Larder does not pin threads"
    ),
    only_value!(
        "bgsave_cpulist",
        Immutable,
        "",
        "bgsave_cpulist is not supported: Larder does not pin threads"
    ),
    d!(
        "notify-keyspace-events",
        Mutable,
        Str,
        |c| crate::notify::to_string(c.notify_keyspace_events),
        |c, a| {
            match crate::notify::parse(&a.join(" ")) {
                Some(f) => c.notify_keyspace_events = f,
                None => return Err("Invalid event class character. Use 'Ag$lshzxeKEtmdn'.".into()),
            }
            Ok(())
        }
    ),
    xstr!("aclfile", Immutable, ""),
    xenum!(
        "acl-pubsub-default",
        Mutable,
        "resetchannels",
        &["allchannels", "resetchannels"]
    ),
    // TLS (`tls.rs`): what rustls cannot honour is refused.
    xint!("tls-port", Immutable, 0, 0, 65535),
    xstr!("tls-cert-file", Mutable, ""),
    xstr!("tls-key-file", Mutable, ""),
    off_only!(
        "tls-key-file-pass",
        "",
        "tls-key-file-pass is not supported: Larder reads unencrypted private keys only"
    ),
    xstr!("tls-client-cert-file", Mutable, ""),
    xstr!("tls-client-key-file", Mutable, ""),
    off_only!(
        "tls-client-key-file-pass",
        "",
        "tls-client-key-file-pass is not supported: Larder reads unencrypted private keys only"
    ),
    xstr!("tls-dh-params-file", Mutable, ""),
    xstr!("tls-ca-cert-file", Mutable, ""),
    xstr!("tls-ca-cert-dir", Mutable, ""),
    xenum!("tls-auth-clients", Mutable, "yes", &["yes", "no", "optional"]),
    off_only!(
        "tls-replication",
        "no",
        "tls-replication yes is not supported: Larder has no replication yet"
    ),
    off_only!(
        "tls-cluster",
        "no",
        "tls-cluster yes is not supported: Larder has no cluster mode yet"
    ),
    xstr!("tls-protocols", Mutable, ""),
    off_only!(
        "tls-ciphers",
        "",
        "tls-ciphers is not supported: rustls offers only its own modern cipher suites"
    ),
    off_only!(
        "tls-ciphersuites",
        "",
        "tls-ciphersuites is not supported: rustls offers only its own modern cipher suites"
    ),
    xbool!("tls-prefer-server-ciphers", Mutable, false),
    xbool!("tls-session-caching", Mutable, true),
    xint!("tls-session-cache-size", Mutable, 20480, 1, i64::MAX),
    xint!("tls-session-cache-timeout", Mutable, 300, 1, i64::MAX),
];

/// Directives that exist in Redis but cannot be honoured, refused with a
/// clear reason when they appear in a file or on the command line.
const REFUSED: &[(&str, &str)] = &[
    (
        "rename-command",
        "rename-command is not supported yet: the command would stay available under its name",
    ),
    ("loadmodule", "modules are not supported"),
];

pub fn find_directive(name: &str) -> Option<&'static Directive> {
    DIRECTIVES
        .iter()
        .find(|d| d.name.eq_ignore_ascii_case(name) || d.aliases.iter().any(|a| a.eq_ignore_ascii_case(name)))
}

/// A startup configuration error, worded like Redis's.
#[derive(Debug)]
pub struct ConfigError(pub String);

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ConfigError {}

/// Redis's CONFIG SET error for argument `name`.
fn set_failed(name: &str, why: &str) -> String {
    format!("CONFIG SET failed (possibly related to argument '{name}') - {why}")
}

impl Config {
    /// A stored-only directive's value.
    fn extra(&self, name: &str, default: &str) -> String {
        self.extras.get(name).cloned().unwrap_or_else(|| default.to_string())
    }

    /// A yes/no directive kept among the extras (`rdbcompression`, ...).
    pub fn flag(&self, name: &str, default: bool) -> bool {
        self.extra(name, if default { "yes" } else { "no" }) == "yes"
    }

    /// The collection types' encoding thresholds.
    pub fn encoding_limits(&self) -> larder_engine::Limits {
        let d = larder_engine::Limits::default();
        let get =
            |name: &str, default: i64| -> i64 { self.extras.get(name).and_then(|v| v.parse().ok()).unwrap_or(default) };
        let u = |name: &str, default: usize| get(name, default as i64).max(0) as usize;
        larder_engine::Limits {
            hash_max_listpack_entries: u("hash-max-listpack-entries", d.hash_max_listpack_entries),
            hash_max_listpack_value: u("hash-max-listpack-value", d.hash_max_listpack_value),
            list_max_listpack_size: get("list-max-listpack-size", d.list_max_listpack_size),
            set_max_intset_entries: u("set-max-intset-entries", d.set_max_intset_entries),
            set_max_listpack_entries: u("set-max-listpack-entries", d.set_max_listpack_entries),
            set_max_listpack_value: u("set-max-listpack-value", d.set_max_listpack_value),
            zset_max_listpack_entries: u("zset-max-listpack-entries", d.zset_max_listpack_entries),
            zset_max_listpack_value: u("zset-max-listpack-value", d.zset_max_listpack_value),
        }
    }

    /// Applies one directive (file line or command-line option).
    pub fn apply(&mut self, name: &str, args: &[String]) -> Result<(), String> {
        if name.eq_ignore_ascii_case("user") && !args.is_empty() {
            // Checked now, applied at start-up (ACLAppendUserForLoading).
            let mut words = vec!["user".to_string()];
            words.extend(args.iter().cloned());
            if self.users.iter().any(|u| u[1] == args[0]) {
                return Err(format!(
                    "Error in user declaration '{}': Duplicate user found. A user can only be defined once in config files",
                    args[0]
                ));
            }
            if let Err((j, e)) = crate::acl::validate_config_user(&words) {
                return Err(format!("Error in user declaration '{}': {e}", words[j]));
            }
            self.users.push(words);
            return Ok(());
        }
        if let Some((_, why)) = REFUSED.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)) {
            return Err((*why).to_string());
        }
        let d = find_directive(name).ok_or_else(|| "Bad directive or wrong number of arguments".to_string())?;
        if args.is_empty() {
            return Err("wrong number of arguments".into());
        }
        (d.set)(self, args)
    }

    /// CONFIG GET: every directive whose name (or alias) matches one of
    /// `patterns`, as (name, value) pairs, each name once.
    pub fn get_matching(&self, patterns: &[&[u8]]) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = Vec::new();
        let seen = |out: &Vec<(String, String)>, n: &str| out.iter().any(|(k, _)| k.eq_ignore_ascii_case(n));
        for p in patterns {
            let is_glob = p.iter().any(|b| matches!(b, b'*' | b'?' | b'['));
            if !is_glob {
                let name = String::from_utf8_lossy(p).into_owned();
                if seen(&out, &name) {
                    continue;
                }
                if let Some(d) = find_directive(&name) {
                    out.push((name, (d.get)(self)));
                }
                continue;
            }
            for d in DIRECTIVES {
                for n in std::iter::once(&d.name).chain(d.aliases.iter()) {
                    if !seen(&out, n) && glob_match(p, n.as_bytes(), true) {
                        out.push((n.to_string(), (d.get)(self)));
                    }
                }
            }
        }
        out
    }

    /// CONFIG SET name value [name value ...], all or nothing. Returns
    /// the canonical names changed, or Redis's error message.
    pub fn set_many(&mut self, pairs: &[(&[u8], &[u8])]) -> Result<Vec<&'static str>, String> {
        let mut found: Vec<(&'static Directive, String, String)> = Vec::with_capacity(pairs.len());
        for (name, value) in pairs {
            let name = String::from_utf8_lossy(name).into_owned();
            let Some(d) = find_directive(&name) else {
                return Err(format!(
                    "Unknown option or number of arguments for CONFIG SET - '{name}'"
                ));
            };
            match d.mode {
                Mode::Mutable => {}
                Mode::Immutable => return Err(set_failed(&name, "can't set immutable config")),
                Mode::Protected => {
                    if self.extra("enable-protected-configs", "no") == "no" {
                        return Err(set_failed(&name, "can't set protected config"));
                    }
                }
            }
            if found.iter().any(|(f, _, _)| std::ptr::eq(*f, d)) {
                return Err(set_failed(&name, "duplicate parameter"));
            }
            found.push((d, name, String::from_utf8_lossy(value).into_owned()));
        }
        let mut next = self.clone();
        for (d, name, value) in &found {
            (d.set)(&mut next, std::slice::from_ref(value)).map_err(|e| set_failed(name, &e))?;
        }
        *self = next;
        Ok(found.iter().map(|(d, _, _)| d.name).collect())
    }

    /// Applies the text of a configuration file. `origin` names it in
    /// errors.
    pub fn load_str(&mut self, text: &str, origin: &str, depth: usize) -> Result<(), ConfigError> {
        let mut save_seen = false;
        for (lineno, raw) in text.lines().enumerate() {
            let line = raw.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let fail = |msg: &str| {
                ConfigError(format!(
                    "\n*** FATAL CONFIG FILE ERROR (Redis {}) ***\nReading the configuration file, at line {}\n>>> '{}'\n{}\n(in {})",
                    crate::server::REDIS_VERSION,
                    lineno + 1,
                    line,
                    msg,
                    origin
                ))
            };
            let words = split_args(line.as_bytes()).ok_or_else(|| fail("Unbalanced quotes in configuration line"))?;
            let words: Vec<String> = words
                .into_iter()
                .map(|w| String::from_utf8_lossy(&w).into_owned())
                .collect();
            let Some((name, args)) = words.split_first() else {
                continue;
            };
            if name.eq_ignore_ascii_case("include") {
                if depth > 16 {
                    return Err(fail("include nesting too deep"));
                }
                let [path] = args else {
                    return Err(fail("wrong number of arguments"));
                };
                for p in expand_include(path).map_err(|e| fail(&e))? {
                    self.load_file(&p, depth + 1)?;
                }
                continue;
            }
            if name.eq_ignore_ascii_case("save") {
                // Each `save` line adds a save point; `save ""` clears them.
                let mut all: Vec<String> = Vec::new();
                if save_seen && !(args.len() == 1 && args[0].is_empty()) {
                    all.push(self.save.clone());
                }
                all.extend(args.iter().cloned());
                save_seen = true;
                set_save(self, &all).map_err(|e| fail(&e))?;
                continue;
            }
            self.apply(name, args).map_err(|e| fail(&e))?;
        }
        Ok(())
    }

    pub fn load_file(&mut self, path: &Path, depth: usize) -> Result<(), ConfigError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| ConfigError(format!("Fatal error, can't open config file '{}': {e}", path.display())))?;
        self.load_str(&text, &path.display().to_string(), depth)
    }

    /// `larder-server [config-file] [--directive value ...]`.
    pub fn from_args(args: &[String]) -> Result<Config, ConfigError> {
        let mut cfg = Config::default();
        let mut rest = args;
        if let Some(first) = rest.first() {
            if !first.starts_with("--") {
                let path = PathBuf::from(first);
                cfg.load_file(&path, 0)?;
                cfg.file = Some(std::fs::canonicalize(&path).unwrap_or(path));
                rest = &rest[1..];
            }
        }
        // Options become config-file lines, as Redis does.
        let mut text = String::new();
        for a in rest {
            if let Some(name) = a.strip_prefix("--") {
                if !text.is_empty() {
                    text.push('\n');
                }
                text.push_str(name);
            } else {
                text.push(' ');
                text.push_str(&quote(a));
            }
        }
        cfg.load_str(&text, "command line", 0)?;
        Ok(cfg)
    }

    /// The lines CONFIG REWRITE writes for directive `d`.
    fn rewrite_lines(&self, d: &Directive) -> Vec<String> {
        let v = (d.get)(self);
        match d.kind {
            Kind::Plain => vec![format!("{} {}", d.name, v)],
            Kind::Str => vec![format!("{} {}", d.name, repr(&v))],
            Kind::Save => {
                // One line per save point, as Redis writes them.
                let words: Vec<&str> = v.split_whitespace().collect();
                if words.is_empty() {
                    vec!["save \"\"".to_string()]
                } else {
                    words.chunks(2).map(|p| format!("save {}", p.join(" "))).collect()
                }
            }
            Kind::ClientOutputBufferLimit => {
                let words: Vec<&str> = v.split_whitespace().collect();
                words
                    .chunks(4)
                    .map(|c| {
                        let class = if c[0] == "slave" { "replica" } else { c[0] };
                        format!(
                            "{} {}",
                            d.name,
                            std::iter::once(class)
                                .chain(c[1..].iter().copied())
                                .collect::<Vec<_>>()
                                .join(" ")
                        )
                    })
                    .collect()
            }
        }
    }

    /// CONFIG REWRITE: rewrites the file this configuration was loaded
    /// from, keeping comments, blank lines and lines it does not know,
    /// replacing the lines of known directives with their current values
    /// and appending changed directives the file did not mention. `users`
    /// are the ACL's `user` lines (Redis's rewriteConfigUserOption: every
    /// user, by name; none when an aclfile holds them), written over the
    /// file's own `user` lines in order.
    pub fn rewrite(&self, users: &[String]) -> Result<(), String> {
        let Some(path) = &self.file else {
            return Err("The server is running without a config file".into());
        };
        let old = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(e) => return Err(format!("Rewriting config file: {e}")),
        };
        let text = self.rewrite_text(&old, users);
        write_replacing(path, &text).map_err(|e| format!("Rewriting config file: {e}"))
    }

    /// The new text of a configuration file whose old text is `old`.
    pub fn rewrite_text(&self, old: &str, users: &[String]) -> String {
        const MARKER: &str = "# Generated by CONFIG REWRITE";
        let mut lines: Vec<Option<String>> = Vec::new();
        // Line indexes of each known directive, by canonical name.
        let mut at: BTreeMap<&'static str, Vec<usize>> = BTreeMap::new();
        let mut user_at: Vec<usize> = Vec::new();
        let mut has_marker = false;
        for raw in old.lines() {
            let t = raw.trim();
            if t == MARKER {
                has_marker = true;
            }
            if !t.is_empty() && !t.starts_with('#') {
                if let Some(words) = split_args(t.as_bytes()) {
                    let first = words.first().map(|w| String::from_utf8_lossy(w).into_owned());
                    if first.as_deref().is_some_and(|w| w.eq_ignore_ascii_case("user")) {
                        user_at.push(lines.len());
                    } else if let Some(d) = first.as_deref().and_then(find_directive) {
                        at.entry(d.name).or_default().push(lines.len());
                    }
                }
            }
            lines.push(Some(raw.to_string()));
        }
        let defaults = Config::default();
        let mut appended: Vec<String> = Vec::new();
        for d in DIRECTIVES {
            let new = self.rewrite_lines(d);
            match at.get(d.name) {
                Some(idx) => {
                    for (k, &i) in idx.iter().enumerate() {
                        lines[i] = if k == 0 { Some(new.join("\n")) } else { None };
                    }
                }
                None => {
                    if new != defaults.rewrite_lines(d) {
                        appended.extend(new);
                    }
                }
            }
        }
        // The users take the old `user` lines' places; more are appended,
        // fewer leave the rest out.
        for (k, &i) in user_at.iter().enumerate() {
            lines[i] = users.get(k).cloned();
        }
        appended.extend(users.iter().skip(user_at.len()).cloned());
        let mut out: Vec<String> = lines.into_iter().flatten().collect();
        while out.last().is_some_and(|l| l.trim().is_empty()) {
            out.pop();
        }
        if !appended.is_empty() {
            if !has_marker {
                out.push(MARKER.to_string());
            }
            out.extend(appended);
        }
        let mut text = out.join("\n");
        text.push('\n');
        text
    }
}

/// An `include` argument: a path, or a glob over file names in one
/// directory (`include /etc/redis/conf.d/*.conf`), sorted like Redis.
fn expand_include(path: &str) -> Result<Vec<PathBuf>, String> {
    let p = Path::new(path);
    let name = p
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    if !name.contains(['*', '?', '[']) {
        return Ok(vec![p.to_path_buf()]);
    }
    let dir = p
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let rd =
        std::fs::read_dir(dir).map_err(|e| format!("Fatal error, can't open config dir '{}': {e}", dir.display()))?;
    let mut out: Vec<PathBuf> = rd
        .flatten()
        .filter(|e| e.file_type().map(|t| t.is_file()).unwrap_or(false))
        .filter(|e| glob_match(name.as_bytes(), e.file_name().to_string_lossy().as_bytes(), false))
        .map(|e| e.path())
        .collect();
    out.sort();
    Ok(out)
}

/// Writes `text` to `path` through a temporary file and a rename, so a
/// crash never leaves a half-written configuration.
fn write_replacing(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    let tmp = path.with_extension(format!("larder-rewrite-{}", std::process::id()));
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(text.as_bytes())?;
        f.sync_all()?;
        if let Ok(meta) = std::fs::metadata(path) {
            std::fs::set_permissions(&tmp, meta.permissions())?;
        }
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// Redis's `sdscatrepr`: a double-quoted string with escapes.
pub fn repr(s: &str) -> String {
    let mut out = String::from("\"");
    for b in s.bytes() {
        match b {
            b'"' => out.push_str("\\\""),
            b'\\' => out.push_str("\\\\"),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b'\t' => out.push_str("\\t"),
            7 => out.push_str("\\a"),
            8 => out.push_str("\\b"),
            b if b.is_ascii_graphic() || b == b' ' => out.push(b as char),
            b => out.push_str(&format!("\\x{b:02x}")),
        }
    }
    out.push('"');
    out
}

/// Quotes a value so `split_args` gives it back unchanged.
pub fn quote(s: &str) -> String {
    if !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_graphic() && b != b'"' && b != b'\'' && b != b'\\')
    {
        return s.to_string();
    }
    repr(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_units() {
        assert_eq!(parse_memory("1gb"), Some(1 << 30));
        assert_eq!(parse_memory("512MB"), Some(512 << 20));
        assert_eq!(parse_memory("1k"), Some(1000));
        assert_eq!(parse_memory("1Kb"), Some(1024));
        assert_eq!(parse_memory("2G"), Some(2_000_000_000));
        assert_eq!(parse_memory("100"), Some(100));
        assert_eq!(parse_memory("x"), None);
        assert_eq!(parse_memory("-1"), None);
        assert_eq!(parse_memory("gb"), None);
    }

    #[test]
    fn args_and_file() {
        let cfg = Config::from_args(&[
            "--port".into(),
            "7000".into(),
            "--bind".into(),
            "127.0.0.1".into(),
            "::1".into(),
        ])
        .unwrap();
        assert_eq!(cfg.port, 7000);
        assert_eq!(cfg.bind, vec!["127.0.0.1", "::1"]);
        let mut cfg = Config::default();
        let err = cfg.load_str("port 1\nbogus yes\n", "test.conf", 0).unwrap_err();
        assert!(err.0.contains("at line 2"), "{}", err.0);
        assert!(err.0.contains(">>> 'bogus yes'"), "{}", err.0);
        assert!(
            err.0.contains("Bad directive or wrong number of arguments"),
            "{}",
            err.0
        );
        assert!(err.0.contains("test.conf"), "{}", err.0);
        let err = cfg.load_str("port\n", "t", 0).unwrap_err();
        assert!(err.0.contains("\nwrong number of arguments\n"), "{}", err.0);
    }

    #[test]
    fn save_lines_accumulate() {
        let mut cfg = Config::default();
        cfg.load_str("save 3600 1\nsave 300 100\n", "t", 0).unwrap();
        assert_eq!(cfg.save, "3600 1 300 100");
        cfg.load_str("save \"\"\n", "t", 0).unwrap();
        assert_eq!(cfg.save, "");
        assert!(cfg.load_str("save 1\n", "t", 0).is_err());
    }

    #[test]
    fn unsupported_features_refused() {
        let mut cfg = Config::default();
        for line in [
            "cluster-enabled yes",
            "replicaof 127.0.0.1 6379",
            "rename-command FLUSHALL \"\"",
        ] {
            assert!(cfg.load_str(line, "t", 0).is_err(), "{line}");
        }
        cfg.load_str("appendonly no\ncluster-enabled no\n", "t", 0).unwrap();
    }

    #[test]
    fn set_many_is_atomic() {
        let mut cfg = Config::default();
        let err = cfg.set_many(&[(b"maxmemory", b"10mb"), (b"hz", b"x")]).unwrap_err();
        assert_eq!(
            err,
            "CONFIG SET failed (possibly related to argument 'hz') - argument couldn't be parsed into an integer"
        );
        assert_eq!(cfg.maxmemory, 0);
        cfg.set_many(&[(b"maxmemory", b"10mb"), (b"lfu-log-factor", b"5")])
            .unwrap();
        assert_eq!(cfg.maxmemory, 10 << 20);
        assert_eq!(
            cfg.get_matching(&[b"lfu-log*"]),
            vec![("lfu-log-factor".into(), "5".into())]
        );
        assert_eq!(
            cfg.set_many(&[(b"xyz", b"1")]).unwrap_err(),
            "Unknown option or number of arguments for CONFIG SET - 'xyz'"
        );
        assert_eq!(
            cfg.set_many(&[(b"port", b"1")]).unwrap_err(),
            "CONFIG SET failed (possibly related to argument 'port') - can't set immutable config"
        );
        assert_eq!(
            cfg.set_many(&[(b"hz", b"1"), (b"HZ", b"2")]).unwrap_err(),
            "CONFIG SET failed (possibly related to argument 'HZ') - duplicate parameter"
        );
    }

    #[test]
    fn rewrite_save_points_one_per_line() {
        let mut cfg = Config::default();
        cfg.load_str("save 3600 1 300 100\n", "t", 0).unwrap();
        let text = cfg.rewrite_text("save 1 1\n", &[]);
        assert_eq!(text, "save 3600 1\nsave 300 100\n");
        let mut again = Config::default();
        again.load_str(&text, "t", 0).unwrap();
        assert_eq!(again.save, "3600 1 300 100");
    }

    #[test]
    fn client_output_buffer_limit() {
        let mut cfg = Config::default();
        cfg.load_str("client-output-buffer-limit pubsub 64mb 16mb 90\n", "t", 0)
            .unwrap();
        assert_eq!(
            cfg.get_matching(&[b"client-output-buffer-limit"])[0].1,
            "normal 0 0 0 slave 268435456 67108864 60 pubsub 67108864 16777216 90"
        );
    }

    #[test]
    fn rewrite_keeps_comments_and_unknown_lines() {
        let mut cfg = Config::default();
        let old = "# my config\nport 7000\ninclude /x.conf\n\nmaxmemory 1mb\nmaxmemory 2mb\n";
        cfg.load_str("port 7000\nmaxmemory 2mb\n", "t", 0).unwrap();
        cfg.set_many(&[(b"maxmemory", b"3mb"), (b"hz", b"20")]).unwrap();
        cfg.logfile = "/tmp/x y.log".into();
        let text = cfg.rewrite_text(old, &[]);
        assert_eq!(
            text,
            "# my config\nport 7000\ninclude /x.conf\n\nmaxmemory 3145728\n# Generated by CONFIG REWRITE\nhz 20\nlogfile \"/tmp/x y.log\"\n"
        );
        // A rewritten file loads back to the same values.
        let mut again = Config::default();
        again.load_str(&text.replace("include /x.conf\n", ""), "t", 0).unwrap();
        assert_eq!(again.maxmemory, 3 << 20);
        assert_eq!(again.hz, 20);
        assert_eq!(again.logfile, "/tmp/x y.log");
    }
}
