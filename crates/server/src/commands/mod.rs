//! The command table. Every command is one [`CommandSpec`]: its arity,
//! flags, ACL categories, key specs, documentation and handler. Dispatch
//! (arity, auth, locking), `COMMAND`, `COMMAND GETKEYS` and later ACL and
//! cluster routing read these specs and nothing else.
//!
//! Each family file (`string.rs`, `keyspace.rs`, ...) exports a `COMMANDS`
//! slice; [`CommandTable::new`] joins them.

pub mod bitmap;
// ACL's commands (`acl` below is the category bits).
#[path = "acl.rs"]
pub mod aclcmd;
pub mod cluster;
pub mod command;
pub mod connection;
pub mod docs;
mod docs_data;
pub mod dump;
pub mod geo;
pub mod hash;
pub mod hll;
pub mod keyspace;
pub mod latency;
pub mod lease;
pub mod list;
pub mod memory;
pub mod multi;
pub mod persist;
pub mod pubsub;
pub mod replication;
pub mod scripting;
pub mod server;
pub mod set;
pub mod slowlog;
pub mod sort;
pub mod string;
pub mod throttle;
pub mod zset;

use std::sync::atomic::{AtomicU64, Ordering};

use hashbrown::HashMap;

use crate::dispatch::Ctx;

/// A handler writes its reply into `ctx.out`. `args[0]` is the command
/// name as sent (for subcommands, `args[1]` is the subcommand).
pub type Handler = fn(&mut Ctx<'_>, &[&[u8]]);

/// Command flags, as Redis names them in COMMAND INFO.
pub mod flags {
    pub const WRITE: u64 = 1 << 0;
    pub const READONLY: u64 = 1 << 1;
    pub const DENYOOM: u64 = 1 << 2;
    pub const ADMIN: u64 = 1 << 3;
    pub const PUBSUB: u64 = 1 << 4;
    pub const NOSCRIPT: u64 = 1 << 5;
    pub const BLOCKING: u64 = 1 << 6;
    pub const LOADING: u64 = 1 << 7;
    pub const STALE: u64 = 1 << 8;
    pub const SKIP_MONITOR: u64 = 1 << 9;
    pub const SKIP_SLOWLOG: u64 = 1 << 10;
    pub const FAST: u64 = 1 << 11;
    pub const NO_AUTH: u64 = 1 << 12;
    pub const MAY_REPLICATE: u64 = 1 << 13;
    pub const NO_MANDATORY_KEYS: u64 = 1 << 14;
    pub const NO_ASYNC_LOADING: u64 = 1 << 15;
    pub const NO_MULTI: u64 = 1 << 16;
    pub const MOVABLE_KEYS: u64 = 1 << 17;
    pub const ALLOW_BUSY: u64 = 1 << 18;
    /// Larder-only: the handler needs every shard locked (KEYS, FLUSHDB,
    /// SWAPDB...). Not shown by COMMAND.
    pub const ALL_SHARDS: u64 = 1 << 40;

    pub const NAMES: &[(u64, &str)] = &[
        (WRITE, "write"),
        (READONLY, "readonly"),
        (DENYOOM, "denyoom"),
        (ADMIN, "admin"),
        (PUBSUB, "pubsub"),
        (NOSCRIPT, "noscript"),
        (BLOCKING, "blocking"),
        (LOADING, "loading"),
        (STALE, "stale"),
        (SKIP_MONITOR, "skip_monitor"),
        (SKIP_SLOWLOG, "skip_slowlog"),
        (FAST, "fast"),
        (NO_AUTH, "no_auth"),
        (MAY_REPLICATE, "may_replicate"),
        (NO_MANDATORY_KEYS, "no_mandatory_keys"),
        (NO_ASYNC_LOADING, "no_async_loading"),
        (NO_MULTI, "no_multi"),
        (MOVABLE_KEYS, "movablekeys"),
        (ALLOW_BUSY, "allow_busy"),
    ];
}

/// ACL categories (`@string`, `@keyspace`, ...).
pub mod acl {
    pub const KEYSPACE: u64 = 1 << 0;
    pub const READ: u64 = 1 << 1;
    pub const WRITE: u64 = 1 << 2;
    pub const SET: u64 = 1 << 3;
    pub const SORTEDSET: u64 = 1 << 4;
    pub const LIST: u64 = 1 << 5;
    pub const HASH: u64 = 1 << 6;
    pub const STRING: u64 = 1 << 7;
    pub const BITMAP: u64 = 1 << 8;
    pub const HYPERLOGLOG: u64 = 1 << 9;
    pub const GEO: u64 = 1 << 10;
    pub const STREAM: u64 = 1 << 11;
    pub const PUBSUB: u64 = 1 << 12;
    pub const ADMIN: u64 = 1 << 13;
    pub const FAST: u64 = 1 << 14;
    pub const SLOW: u64 = 1 << 15;
    pub const BLOCKING: u64 = 1 << 16;
    pub const DANGEROUS: u64 = 1 << 17;
    pub const CONNECTION: u64 = 1 << 18;
    pub const TRANSACTION: u64 = 1 << 19;
    pub const SCRIPTING: u64 = 1 << 20;

    pub const NAMES: &[(u64, &str)] = &[
        (KEYSPACE, "keyspace"),
        (READ, "read"),
        (WRITE, "write"),
        (SET, "set"),
        (SORTEDSET, "sortedset"),
        (LIST, "list"),
        (HASH, "hash"),
        (STRING, "string"),
        (BITMAP, "bitmap"),
        (HYPERLOGLOG, "hyperloglog"),
        (GEO, "geo"),
        (STREAM, "stream"),
        (PUBSUB, "pubsub"),
        (ADMIN, "admin"),
        (FAST, "fast"),
        (SLOW, "slow"),
        (BLOCKING, "blocking"),
        (DANGEROUS, "dangerous"),
        (CONNECTION, "connection"),
        (TRANSACTION, "transaction"),
        (SCRIPTING, "scripting"),
    ];
}

/// Where the search for a command's keys begins (Redis 7 key specs).
#[derive(Clone, Copy, Debug)]
pub enum BeginSearch {
    /// At a fixed argument index (1 = first argument after the name).
    Index(i32),
    /// `Index`, with notes COMMAND INFO shows (EVAL's).
    IndexNoted { index: i32, notes: &'static str },
    /// After the first occurrence of `keyword`, searching from
    /// `start_from` (negative: from the end).
    Keyword { keyword: &'static str, start_from: i32 },
    /// Keys that cannot be found from the arguments alone (SORT's BY,
    /// GET and STORE); `notes` is shown by COMMAND INFO.
    Unknown { notes: &'static str },
}

/// How keys are found once the search begins.
#[derive(Clone, Copy, Debug)]
pub enum FindKeys {
    /// `last_key` relative to the start (-1: the last argument),
    /// every `step` arguments; `limit` divides the rest when last is -1.
    Range { last_key: i32, step: i32, limit: i32 },
    /// The number of keys is at `keynum_idx`; keys start at `first_key`.
    Keynum { keynum_idx: i32, first_key: i32, step: i32 },
    /// Paired with [`BeginSearch::Unknown`].
    Unknown,
    /// Paired with [`BeginSearch::Unknown`] too (COMMAND INFO shows
    /// `unknown`), with the command's own finder of the key's position:
    /// Redis's getkeys_proc, which it falls back on for such specs (SORT's
    /// STORE).
    Proc(fn(&[&[u8]]) -> Option<usize>),
}

/// One key specification.
#[derive(Clone, Copy, Debug)]
pub struct KeySpec {
    pub begin: BeginSearch,
    pub find: FindKeys,
    /// Redis's key-spec flags: RW, RO, OW, RM, ACCESS, UPDATE, INSERT,
    /// DELETE, NOT_KEY, INCOMPLETE, VARIABLE_FLAGS.
    pub flags: &'static [&'static str],
}

impl KeySpec {
    /// Keys at argument `index` to the end (or `last`), every `step`.
    pub const fn range(index: i32, last_key: i32, step: i32, flags: &'static [&'static str]) -> KeySpec {
        KeySpec {
            begin: BeginSearch::Index(index),
            find: FindKeys::Range {
                last_key,
                step,
                limit: 0,
            },
            flags,
        }
    }

    /// One key at argument `index`.
    pub const fn single(index: i32, flags: &'static [&'static str]) -> KeySpec {
        KeySpec::range(index, 0, 1, flags)
    }

    /// One key at `index`, with COMMAND INFO's `notes`.
    pub const fn single_noted(index: i32, notes: &'static str, flags: &'static [&'static str]) -> KeySpec {
        KeySpec {
            begin: BeginSearch::IndexNoted { index, notes },
            find: FindKeys::Range {
                last_key: 0,
                step: 1,
                limit: 0,
            },
            flags,
        }
    }

    /// Appends the argument positions of this spec's keys to `out`.
    /// Malformed arguments (a bad key count) yield no keys; the handler
    /// reports the error.
    pub fn positions(&self, args: &[&[u8]], out: &mut Vec<usize>) {
        if let FindKeys::Proc(find) = self.find {
            out.extend(find(args));
            return;
        }
        let argc = args.len() as i32;
        let start = match self.begin {
            BeginSearch::Index(i) | BeginSearch::IndexNoted { index: i, .. } => i,
            BeginSearch::Keyword { keyword, start_from } => {
                let found = if start_from >= 0 {
                    (start_from..argc).find(|&i| args[i as usize].eq_ignore_ascii_case(keyword.as_bytes()))
                } else {
                    (1..=(argc + start_from))
                        .rev()
                        .find(|&i| args[i as usize].eq_ignore_ascii_case(keyword.as_bytes()))
                };
                match found {
                    Some(i) => i + 1,
                    None => return,
                }
            }
            BeginSearch::Unknown { .. } => return,
        };
        if start >= argc || start < 1 {
            return;
        }
        match self.find {
            FindKeys::Range { last_key, step, limit } => {
                let last = if last_key >= 0 {
                    start + last_key
                } else if last_key == -1 && limit > 1 {
                    start + (argc - start) / limit - 1
                } else {
                    argc + last_key
                };
                let step = step.max(1);
                let mut i = start;
                while i <= last && i < argc {
                    out.push(i as usize);
                    i += step;
                }
            }
            FindKeys::Keynum {
                keynum_idx,
                first_key,
                step,
            } => {
                let idx = start + keynum_idx;
                let Some(n) = args
                    .get(idx as usize)
                    .and_then(|a| std::str::from_utf8(a).ok())
                    .and_then(|s| s.parse::<i64>().ok())
                else {
                    return;
                };
                if n <= 0 {
                    return;
                }
                let first = start + first_key;
                let step = step.max(1) as i64;
                for k in 0..n {
                    let i = first as i64 + k * step;
                    if i >= argc as i64 {
                        out.clear();
                        return;
                    }
                    out.push(i as usize);
                }
            }
            FindKeys::Unknown | FindKeys::Proc(_) => {}
        }
    }
}

/// A command's whole description.
#[derive(Debug)]
pub struct CommandSpec {
    /// Lower-case name; subcommands are named `container|sub`.
    pub name: &'static str,
    /// Redis arity: positive is exact, negative is a minimum.
    pub arity: i32,
    pub flags: u64,
    pub acl: u64,
    pub key_specs: &'static [KeySpec],
    pub handler: Handler,
    pub group: &'static str,
    pub since: &'static str,
    pub summary: &'static str,
    pub complexity: &'static str,
    pub tips: &'static [&'static str],
    pub subcommands: &'static [CommandSpec],
}

fn unimplemented_handler(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    let name = String::from_utf8_lossy(args.first().copied().unwrap_or_default());
    ctx.out.error(&format!("'{name}' is not implemented"));
}

impl CommandSpec {
    pub const fn new(name: &'static str, arity: i32, flags: u64, acl: u64, handler: Handler) -> CommandSpec {
        CommandSpec {
            name,
            arity,
            flags,
            acl,
            key_specs: &[],
            handler,
            group: "generic",
            since: "1.0.0",
            summary: "",
            complexity: "",
            tips: &[],
            subcommands: &[],
        }
    }

    /// A container command (CLIENT, CONFIG, OBJECT...) whose work is done
    /// by its subcommands.
    pub const fn container(
        name: &'static str,
        arity: i32,
        acl: u64,
        subcommands: &'static [CommandSpec],
    ) -> CommandSpec {
        let mut s = CommandSpec::new(name, arity, 0, acl, unimplemented_handler);
        s.subcommands = subcommands;
        s
    }

    pub const fn keys(mut self, specs: &'static [KeySpec]) -> Self {
        self.key_specs = specs;
        self
    }

    pub const fn doc(
        mut self,
        group: &'static str,
        since: &'static str,
        summary: &'static str,
        complexity: &'static str,
    ) -> Self {
        self.group = group;
        self.since = since;
        self.summary = summary;
        self.complexity = complexity;
        self
    }

    pub const fn tips(mut self, tips: &'static [&'static str]) -> Self {
        self.tips = tips;
        self
    }

    pub fn has(&self, flag: u64) -> bool {
        self.flags & flag != 0
    }

    /// Argument positions of the keys this invocation names.
    pub fn key_positions(&self, args: &[&[u8]], out: &mut Vec<usize>) {
        for ks in self.key_specs {
            ks.positions(args, out);
        }
    }

    /// The legacy (first, last, step) triple COMMAND INFO shows.
    pub fn legacy_range(&self) -> (i32, i32, i32) {
        let mut first = 0;
        let mut last = 0;
        let mut step = 0;
        for (i, ks) in self.key_specs.iter().enumerate() {
            let (BeginSearch::Index(idx) | BeginSearch::IndexNoted { index: idx, .. }) = ks.begin else {
                break;
            };
            let FindKeys::Range { last_key, step: s, .. } = ks.find else {
                break;
            };
            let l = if last_key < 0 { last_key } else { idx + last_key };
            if i == 0 {
                first = idx;
                last = l;
                step = s;
            } else if last >= 0 && idx == last + step && (l < 0 || s == step) {
                last = l;
            } else {
                break;
            }
        }
        (first, last, step)
    }
}

/// Per-command counters for INFO commandstats.
#[derive(Debug, Default)]
pub struct CommandStats {
    pub calls: AtomicU64,
    pub usec: AtomicU64,
    pub rejected_calls: AtomicU64,
    pub failed_calls: AtomicU64,
    /// The latency histogram, from the first call while
    /// `latency-tracking` is on.
    pub latency: std::sync::OnceLock<crate::latency_hist::Histogram>,
}

impl CommandStats {
    /// The latency histogram's counters, if it has any samples.
    pub fn latency_snapshot(&self) -> Option<crate::latency_hist::Snapshot> {
        let snap = self.latency.get()?.snapshot();
        (snap.total() > 0).then_some(snap)
    }

    pub fn reset(&self) {
        if let Some(h) = self.latency.get() {
            h.reset();
        }
        self.calls.store(0, Ordering::Relaxed);
        self.usec.store(0, Ordering::Relaxed);
        self.rejected_calls.store(0, Ordering::Relaxed);
        self.failed_calls.store(0, Ordering::Relaxed);
    }
}

/// A command found in the table with its counters.
#[derive(Debug)]
pub struct Command {
    pub spec: &'static CommandSpec,
    pub stats: CommandStats,
    pub subcommands: HashMap<&'static str, Command>,
}

impl Command {
    fn new(spec: &'static CommandSpec) -> Command {
        Command {
            spec,
            stats: CommandStats::default(),
            subcommands: spec
                .subcommands
                .iter()
                .map(|s| (s.name.split('|').nth(1).unwrap_or(s.name), Command::new(s)))
                .collect(),
        }
    }

    /// Visits this command and its subcommands.
    pub fn walk<'a>(&'a self, f: &mut impl FnMut(&'a Command)) {
        f(self);
        for sub in self.subcommands.values() {
            sub.walk(f);
        }
    }
}

/// All commands, by lower-case name.
#[derive(Debug)]
pub struct CommandTable {
    pub commands: HashMap<&'static str, Command>,
}

/// Every family's commands.
pub fn all_specs() -> impl Iterator<Item = &'static CommandSpec> {
    [
        string::COMMANDS,
        bitmap::COMMANDS,
        keyspace::COMMANDS,
        connection::COMMANDS,
        server::COMMANDS,
        command::COMMANDS,
        cluster::COMMANDS,
        list::COMMANDS,
        hash::COMMANDS,
        set::COMMANDS,
        zset::COMMANDS,
        geo::COMMANDS,
        sort::COMMANDS,
        memory::COMMANDS,
        slowlog::COMMANDS,
        latency::COMMANDS,
        replication::COMMANDS,
        dump::COMMANDS,
        multi::COMMANDS,
        persist::COMMANDS,
        scripting::COMMANDS,
        pubsub::COMMANDS,
        throttle::COMMANDS,
        lease::COMMANDS,
        hll::COMMANDS,
        aclcmd::COMMANDS,
    ]
    .into_iter()
    .flatten()
}

impl CommandTable {
    pub fn new() -> CommandTable {
        CommandTable {
            commands: all_specs().map(|s| (s.name, Command::new(s))).collect(),
        }
    }

    /// Looks a command up by name, in any case.
    pub fn get(&self, name: &[u8]) -> Option<&Command> {
        let mut buf = [0u8; 32];
        if name.len() > buf.len() {
            return None;
        }
        let lower = &mut buf[..name.len()];
        lower.copy_from_slice(name);
        lower.make_ascii_lowercase();
        let s = std::str::from_utf8(lower).ok()?;
        self.commands.get(s)
    }

    /// A command by name, or a subcommand as `container|sub`, in any case.
    pub fn lookup(&self, name: &[u8]) -> Option<&Command> {
        let name = String::from_utf8_lossy(name).to_ascii_lowercase();
        match name.split_once('|') {
            None => self.get(name.as_bytes()),
            Some((top, sub)) => self.get(top.as_bytes())?.subcommands.get(sub),
        }
    }

    /// The command or subcommand `args` invoke.
    pub fn resolve(&self, args: &[&[u8]]) -> Option<&Command> {
        let cmd = self.get(args.first()?)?;
        if cmd.subcommands.is_empty() {
            return Some(cmd);
        }
        // A container alone (COMMAND) runs its own handler or fails arity.
        let Some(sub) = args.get(1) else {
            return Some(cmd);
        };
        let lower = String::from_utf8_lossy(sub).to_ascii_lowercase();
        cmd.subcommands.get(lower.as_str()).or(Some(cmd))
    }
}

impl Default for CommandTable {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_positions() {
        let mset = KeySpec::range(1, -1, 2, &["OW", "UPDATE"]);
        let args: Vec<&[u8]> = vec![b"mset", b"a", b"1", b"b", b"2"];
        let mut out = Vec::new();
        mset.positions(&args, &mut out);
        assert_eq!(out, vec![1, 3]);
        let keynum = KeySpec {
            begin: BeginSearch::Index(1),
            find: FindKeys::Keynum {
                keynum_idx: 0,
                first_key: 1,
                step: 1,
            },
            flags: &["RO"],
        };
        let args: Vec<&[u8]> = vec![b"eval", b"2", b"k1", b"k2", b"x"];
        let mut out = Vec::new();
        keynum.positions(&args, &mut out);
        assert_eq!(out, vec![2, 3]);
    }

    #[test]
    fn table_has_unique_names_and_valid_specs() {
        let t = CommandTable::new();
        let total = all_specs().count();
        assert_eq!(t.commands.len(), total, "duplicate command names");
        for c in t.commands.values() {
            c.walk(&mut |c| {
                assert_eq!(c.spec.name, c.spec.name.to_ascii_lowercase());
                assert!(c.spec.arity != 0, "{} has arity 0", c.spec.name);
            });
        }
    }
}
