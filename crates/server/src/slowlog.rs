//! The slow log (Redis's slowlog.c): the last `slowlog-max-len` commands
//! that ran for `slowlog-log-slower-than` microseconds or more, each with
//! its arguments (at most 32, strings cut at 128 bytes, passwords
//! redacted), the client's address and name. Dispatch, EXEC and scripts
//! offer every command they run; a blocked command is logged when it is
//! served (with the time serving it took), as Redis does, and not when it
//! times out.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};

use parking_lot::Mutex;

use crate::commands::{flags, CommandSpec};
use crate::config::Config;
use crate::util::is;

/// Redis's SLOWLOG_ENTRY_MAX_ARGC and SLOWLOG_ENTRY_MAX_STRING.
const MAX_ARGC: usize = 32;
const MAX_STRING: usize = 128;
const REDACTED: &[u8] = b"(redacted)";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub id: u64,
    /// Unix time in seconds.
    pub time: u64,
    pub usec: u64,
    pub args: Vec<Vec<u8>>,
    pub peer: String,
    pub name: String,
}

/// A served blocked command waiting to be offered to the log.
#[derive(Debug)]
pub struct Served {
    pub spec: &'static CommandSpec,
    pub args: Vec<Box<[u8]>>,
    pub usec: u64,
    pub info: std::sync::Arc<crate::client::ClientInfo>,
}

#[derive(Debug)]
pub struct Slowlog {
    /// `slowlog-log-slower-than`: negative disables.
    slower_than: AtomicI64,
    /// `slowlog-max-len`.
    max_len: AtomicUsize,
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    /// Newest first.
    entries: VecDeque<Entry>,
    next_id: u64,
}

impl Default for Slowlog {
    fn default() -> Self {
        Slowlog {
            slower_than: AtomicI64::new(10_000),
            max_len: AtomicUsize::new(128),
            inner: Mutex::new(Inner::default()),
        }
    }
}

impl Slowlog {
    /// Reads the two directives (at start and after CONFIG SET); a
    /// shorter `slowlog-max-len` drops the oldest entries at once.
    pub fn configure(&self, cfg: &Config) {
        let get = |name: &str, default: i64| {
            cfg.extras
                .get(name)
                .and_then(|v| v.parse::<i64>().ok())
                .unwrap_or(default)
        };
        self.slower_than
            .store(get("slowlog-log-slower-than", 10_000), Ordering::Relaxed);
        let max = get("slowlog-max-len", 128).max(0) as usize;
        self.max_len.store(max, Ordering::Relaxed);
        self.inner.lock().entries.truncate(max);
    }

    /// Whether a command of `spec` that took `usec` is logged: one atomic
    /// load on the fast path.
    #[inline]
    pub fn wants(&self, spec: &CommandSpec, usec: u64) -> bool {
        let t = self.slower_than.load(Ordering::Relaxed);
        t >= 0 && usec >= t as u64 && !spec.has(flags::SKIP_SLOWLOG)
    }

    /// Logs a command (call only when [`Slowlog::wants`] it).
    pub fn push(&self, spec: &CommandSpec, args: &[&[u8]], usec: u64, peer: &str, name: &str, unix_secs: u64) {
        let max = self.max_len.load(Ordering::Relaxed);
        if max == 0 {
            return;
        }
        let entry_args = entry_args(spec, args);
        let mut inner = self.inner.lock();
        let id = inner.next_id;
        inner.next_id += 1;
        inner.entries.push_front(Entry {
            id,
            time: unix_secs,
            usec,
            args: entry_args,
            peer: peer.to_string(),
            name: name.to_string(),
        });
        inner.entries.truncate(max);
    }

    pub fn len(&self) -> usize {
        self.inner.lock().entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn reset(&self) {
        self.inner.lock().entries.clear();
    }

    /// The newest `count` entries (all for None).
    pub fn get(&self, count: Option<usize>) -> Vec<Entry> {
        let inner = self.inner.lock();
        let n = count.unwrap_or(usize::MAX).min(inner.entries.len());
        inner.entries.iter().take(n).cloned().collect()
    }
}

/// Which arguments Redis redacts (redactClientCommandArgument): AUTH's,
/// HELLO's AUTH username and password, CONFIG SET's values of
/// `requirepass` and `masterauth`, ACL SETUSER's arguments.
fn redacted(spec: &CommandSpec, args: &[&[u8]], i: usize) -> bool {
    match spec.name {
        "auth" => i >= 1,
        "hello" => args
            .iter()
            .position(|a| is(a, "auth"))
            .is_some_and(|p| p > 1 && (i == p + 1 || i == p + 2)),
        "config|set" => {
            i >= 3 && (i - 3).is_multiple_of(2) && (is(args[i - 1], "requirepass") || is(args[i - 1], "masterauth"))
        }
        // ACL SETUSER: everything after the subcommand.
        "acl|setuser" => i >= 2,
        _ => false,
    }
}

/// Redis's slowlogCreateEntry: the arguments as sent, at most 32 (the
/// last saying how many more there were), each cut at 128 bytes.
fn entry_args(spec: &CommandSpec, args: &[&[u8]]) -> Vec<Vec<u8>> {
    let n = args.len().min(MAX_ARGC);
    let mut out = Vec::with_capacity(n);
    for (i, a) in args.iter().take(n).enumerate() {
        if n != args.len() && i == n - 1 {
            out.push(format!("... ({} more arguments)", args.len() - n + 1).into_bytes());
        } else if redacted(spec, args, i) {
            out.push(REDACTED.to_vec());
        } else if a.len() > MAX_STRING {
            let mut s = a[..MAX_STRING].to_vec();
            s.extend_from_slice(format!("... ({} more bytes)", a.len() - MAX_STRING).as_bytes());
            out.push(s);
        } else {
            out.push(a.to_vec());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(name: &'static str) -> CommandSpec {
        fn h(_: &mut crate::dispatch::Ctx<'_>, _: &[&[u8]]) {}
        CommandSpec::new(name, -1, 0, 0, h)
    }

    #[test]
    fn arguments_are_cut_as_redis_cuts_them() {
        let long = vec![b'x'; 200];
        let args: Vec<&[u8]> = vec![b"SET", b"k", &long];
        let got = entry_args(&spec("set"), &args);
        let mut want = vec![b'x'; 128];
        want.extend_from_slice(b"... (72 more bytes)");
        assert_eq!(got, vec![b"SET".to_vec(), b"k".to_vec(), want]);

        let many: Vec<String> = (0..41).map(|i| i.to_string()).collect();
        let mut args: Vec<&[u8]> = vec![b"rpush"];
        args.extend(many.iter().map(|s| s.as_bytes()));
        let got = entry_args(&spec("rpush"), &args);
        assert_eq!(got.len(), 32);
        assert_eq!(got[30], b"29");
        assert_eq!(got[31], b"... (11 more arguments)");
    }

    #[test]
    fn passwords_are_redacted() {
        let a = |v: &[&str]| v.iter().map(|s| s.as_bytes().to_vec()).collect::<Vec<_>>();
        let run = |name: &'static str, v: &[&str]| {
            let args: Vec<&[u8]> = v.iter().map(|s| s.as_bytes()).collect();
            entry_args(&spec(name), &args)
        };
        assert_eq!(run("auth", &["auth", "pw"]), a(&["auth", "(redacted)"]));
        assert_eq!(
            run("hello", &["hello", "3", "AUTH", "u", "p", "SETNAME", "n"]),
            a(&["hello", "3", "AUTH", "(redacted)", "(redacted)", "SETNAME", "n"])
        );
        assert_eq!(
            run("config|set", &["config", "set", "requirepass", "pw", "hz", "10"]),
            a(&["config", "set", "requirepass", "(redacted)", "hz", "10"])
        );
    }

    #[test]
    fn newest_first_bounded_by_max_len() {
        let log = Slowlog::default();
        log.max_len.store(2, Ordering::Relaxed);
        for i in 0..3u64 {
            log.push(&spec("get"), &[b"get", b"k"], i, "1.2.3.4:5", "", 7);
        }
        let got = log.get(None);
        assert_eq!(got.iter().map(|e| (e.id, e.usec)).collect::<Vec<_>>(), [(2, 2), (1, 1)]);
        assert_eq!(log.get(Some(1)).len(), 1);
        log.reset();
        assert!(log.is_empty());
        log.push(&spec("get"), &[b"get"], 9, "", "", 7);
        assert_eq!(log.get(None)[0].id, 3, "ids keep counting after a reset");
    }
}
