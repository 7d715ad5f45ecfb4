//! Configuration: Redis's directive names and syntax, from a file
//! (`larder-server redis.conf`), the command line (`--port 7000`), and at
//! run time through CONFIG GET/SET/REWRITE.
//!
//! Every directive is one row of [`DIRECTIVES`]: its name, whether CONFIG
//! SET may change it at run time, and how to read and write it. The file
//! parser, the command line, CONFIG GET/SET and CONFIG REWRITE all go
//! through that one table.

use std::path::{Path, PathBuf};

use larder_protocol::split_args;

#[derive(Clone, Debug)]
pub struct Config {
    pub port: u16,
    pub bind: Vec<String>,
    pub unixsocket: Option<String>,
    pub unixsocketperm: u32,
    pub protected_mode: bool,
    pub requirepass: Option<String>,
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
    pub maxmemory_policy: String,
    pub dir: String,
    pub dbfilename: String,
    pub save: String,
    pub appendonly: bool,
    pub daemonize: bool,
    pub pidfile: String,
    pub enable_debug_command: String,
    pub lazyfree_lazy_user_flush: bool,
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
            maxmemory_policy: "noeviction".into(),
            dir: ".".into(),
            dbfilename: "dump.rdb".into(),
            save: String::new(),
            appendonly: false,
            daemonize: false,
            pidfile: String::new(),
            enable_debug_command: "no".into(),
            lazyfree_lazy_user_flush: false,
            file: None,
        }
    }
}

/// Parses a Redis memory value: `1gb`, `512mb`, `100k`, `1024`.
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
    let n: i64 = num.parse().ok()?;
    if n < 0 {
        return None;
    }
    (n as u64).checked_mul(mul)
}

fn parse_bool(s: &str) -> Result<bool, String> {
    match s.to_ascii_lowercase().as_str() {
        "yes" => Ok(true),
        "no" => Ok(false),
        _ => Err("argument must be 'yes' or 'no'".into()),
    }
}

fn parse_int<T: std::str::FromStr>(s: &str, min: i64, max: i64) -> Result<T, String> {
    let v: i64 = s
        .parse()
        .map_err(|_| "argument couldn't be parsed into an integer".to_string())?;
    if v < min || v > max {
        return Err(format!("argument must be between {min} and {max} inclusive"));
    }
    v.to_string()
        .parse()
        .map_err(|_| "argument couldn't be parsed into an integer".to_string())
}

fn yes_no(b: bool) -> String {
    if b { "yes" } else { "no" }.into()
}

type Getter = fn(&Config) -> String;
type Setter = fn(&mut Config, &[String]) -> Result<(), String>;

/// One configuration directive.
pub struct Directive {
    pub name: &'static str,
    pub aliases: &'static [&'static str],
    /// Whether CONFIG SET may change it while running.
    pub mutable: bool,
    pub get: Getter,
    pub set: Setter,
}

fn one(args: &[String]) -> Result<&str, String> {
    match args {
        [a] => Ok(a.as_str()),
        _ => Err("wrong number of arguments".into()),
    }
}

macro_rules! d {
    ($name:expr, $mutable:expr, |$c:ident| $get:expr, |$c2:ident, $a:ident| $set:expr) => {
        Directive {
            name: $name,
            aliases: &[],
            mutable: $mutable,
            get: |$c: &Config| $get,
            set: |$c2: &mut Config, $a: &[String]| $set,
        }
    };
}

pub static DIRECTIVES: &[Directive] = &[
    d!("port", false, |c| c.port.to_string(), |c, a| {
        c.port = parse_int(one(a)?, 0, 65535)?;
        Ok(())
    }),
    d!("bind", false, |c| c.bind.join(" "), |c, a| {
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
        false,
        |c| c.unixsocket.clone().unwrap_or_default(),
        |c, a| {
            let s = one(a)?;
            c.unixsocket = (!s.is_empty()).then(|| s.to_string());
            Ok(())
        }
    ),
    d!(
        "unixsocketperm",
        false,
        |c| format!("{:o}", c.unixsocketperm),
        |c, a| {
            c.unixsocketperm =
                u32::from_str_radix(one(a)?, 8).map_err(|_| "Invalid socket file permissions".to_string())?;
            Ok(())
        }
    ),
    d!("protected-mode", true, |c| yes_no(c.protected_mode), |c, a| {
        c.protected_mode = parse_bool(one(a)?)?;
        Ok(())
    }),
    d!(
        "requirepass",
        true,
        |c| c.requirepass.clone().unwrap_or_default(),
        |c, a| {
            let s = one(a)?;
            c.requirepass = (!s.is_empty()).then(|| s.to_string());
            Ok(())
        }
    ),
    d!("databases", false, |c| c.databases.to_string(), |c, a| {
        c.databases = parse_int(one(a)?, 1, i32::MAX as i64)?;
        Ok(())
    }),
    d!("maxclients", true, |c| c.maxclients.to_string(), |c, a| {
        c.maxclients = parse_int(one(a)?, 1, i32::MAX as i64)?;
        Ok(())
    }),
    d!("timeout", true, |c| c.timeout.to_string(), |c, a| {
        c.timeout = parse_int(one(a)?, 0, i32::MAX as i64)?;
        Ok(())
    }),
    d!("tcp-keepalive", true, |c| c.tcp_keepalive.to_string(), |c, a| {
        c.tcp_keepalive = parse_int(one(a)?, 0, i32::MAX as i64)?;
        Ok(())
    }),
    d!("tcp-backlog", false, |c| c.tcp_backlog.to_string(), |c, a| {
        c.tcp_backlog = parse_int(one(a)?, 0, i32::MAX as i64)?;
        Ok(())
    }),
    d!("io-threads", false, |c| c.io_threads.to_string(), |c, a| {
        c.io_threads = parse_int(one(a)?, 1, 128)?;
        Ok(())
    }),
    d!("larder-shards", false, |c| c.shards.to_string(), |c, a| {
        c.shards = parse_int(one(a)?, 1, 16384)?;
        Ok(())
    }),
    d!("hz", true, |c| c.hz.to_string(), |c, a| {
        c.hz = parse_int::<u32>(one(a)?, 0, i32::MAX as i64)?.clamp(1, 500);
        Ok(())
    }),
    d!("loglevel", true, |c| c.loglevel.name().to_string(), |c, a| {
        c.loglevel = match one(a)?.to_ascii_lowercase().as_str() {
            "debug" => LogLevel::Debug,
            "verbose" => LogLevel::Verbose,
            "notice" => LogLevel::Notice,
            "warning" => LogLevel::Warning,
            "nothing" => LogLevel::Nothing,
            _ => {
                return Err("argument(s) must be one of the following: debug, verbose, notice, warning, nothing".into())
            }
        };
        Ok(())
    }),
    d!("logfile", false, |c| c.logfile.clone(), |c, a| {
        c.logfile = one(a)?.to_string();
        Ok(())
    }),
    d!(
        "proto-max-bulk-len",
        true,
        |c| c.proto_max_bulk_len.to_string(),
        |c, a| {
            let v = parse_memory(one(a)?).ok_or("argument must be a memory value")?;
            if v < 1024 * 1024 {
                return Err("argument must be between 1048576 and 9223372036854775807 inclusive".into());
            }
            c.proto_max_bulk_len = v.min(i64::MAX as u64) as i64;
            Ok(())
        }
    ),
    d!(
        "client-query-buffer-limit",
        true,
        |c| c.client_query_buffer_limit.to_string(),
        |c, a| {
            let v = parse_memory(one(a)?).ok_or("argument must be a memory value")?;
            if v < 1024 * 1024 {
                return Err("argument must be between 1048576 and 9223372036854775807 inclusive".into());
            }
            c.client_query_buffer_limit = v;
            Ok(())
        }
    ),
    d!("maxmemory", true, |c| c.maxmemory.to_string(), |c, a| {
        c.maxmemory = parse_memory(one(a)?).ok_or("argument must be a memory value")?;
        Ok(())
    }),
    d!("maxmemory-policy", true, |c| c.maxmemory_policy.clone(), |c, a| {
        let v = one(a)?.to_ascii_lowercase();
        const P: &[&str] = &[
            "volatile-lru",
            "volatile-lfu",
            "volatile-random",
            "volatile-ttl",
            "allkeys-lru",
            "allkeys-lfu",
            "allkeys-random",
            "noeviction",
        ];
        if !P.contains(&v.as_str()) {
            return Err("argument(s) must be one of the following: volatile-lru, volatile-lfu, volatile-random, volatile-ttl, allkeys-lru, allkeys-lfu, allkeys-random, noeviction".into());
        }
        c.maxmemory_policy = v;
        Ok(())
    }),
    d!("dir", true, |c| c.dir.clone(), |c, a| {
        c.dir = one(a)?.to_string();
        Ok(())
    }),
    d!("dbfilename", true, |c| c.dbfilename.clone(), |c, a| {
        c.dbfilename = one(a)?.to_string();
        Ok(())
    }),
    d!("save", true, |c| c.save.clone(), |c, a| {
        c.save = a.join(" ");
        Ok(())
    }),
    d!("appendonly", true, |c| yes_no(c.appendonly), |c, a| {
        if parse_bool(one(a)?)? {
            return Err("appendonly is not supported yet".into());
        }
        c.appendonly = false;
        Ok(())
    }),
    d!("daemonize", false, |c| yes_no(c.daemonize), |c, a| {
        if parse_bool(one(a)?)? {
            return Err("daemonize is not supported; run larder-server under a supervisor".into());
        }
        c.daemonize = false;
        Ok(())
    }),
    d!("pidfile", false, |c| c.pidfile.clone(), |c, a| {
        c.pidfile = one(a)?.to_string();
        Ok(())
    }),
    d!(
        "enable-debug-command",
        false,
        |c| c.enable_debug_command.clone(),
        |c, a| {
            let v = one(a)?.to_ascii_lowercase();
            if !["yes", "no", "local"].contains(&v.as_str()) {
                return Err("argument(s) must be one of the following: no, yes, local".into());
            }
            c.enable_debug_command = v;
            Ok(())
        }
    ),
    d!(
        "lazyfree-lazy-user-flush",
        true,
        |c| yes_no(c.lazyfree_lazy_user_flush),
        |c, a| {
            c.lazyfree_lazy_user_flush = parse_bool(one(a)?)?;
            Ok(())
        }
    ),
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

impl Config {
    /// Applies one directive (file line or command-line option).
    pub fn apply(&mut self, name: &str, args: &[String]) -> Result<(), String> {
        let d = find_directive(name).ok_or_else(|| "Bad directive or wrong number of arguments".to_string())?;
        (d.set)(self, args)
    }

    /// Applies the text of a configuration file. `origin` names it in
    /// errors.
    pub fn load_str(&mut self, text: &str, origin: &str, depth: usize) -> Result<(), ConfigError> {
        for (lineno, raw) in text.lines().enumerate() {
            let line = raw.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let fail = |msg: &str| {
                ConfigError(format!(
                    "\n*** FATAL CONFIG FILE ERROR (Redis 7.2.4) ***\nReading the configuration file, at line {}\n>>> '{}'\n{}\n(in {})",
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
                let path = args.first().ok_or_else(|| fail("wrong number of arguments"))?;
                self.load_file(Path::new(path), depth + 1)?;
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
}

/// Quotes a value so `split_args` gives it back unchanged.
pub fn quote(s: &str) -> String {
    if !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_graphic() && b != b'"' && b != b'\'' && b != b'\\')
    {
        return s.to_string();
    }
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_units() {
        assert_eq!(parse_memory("1gb"), Some(1 << 30));
        assert_eq!(parse_memory("512MB"), Some(512 << 20));
        assert_eq!(parse_memory("1k"), Some(1000));
        assert_eq!(parse_memory("100"), Some(100));
        assert_eq!(parse_memory("x"), None);
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
        assert!(err.0.contains("bogus"), "{}", err.0);
        assert!(err.0.contains("test.conf"), "{}", err.0);
    }
}
