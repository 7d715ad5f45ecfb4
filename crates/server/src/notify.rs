//! Keyspace notifications (Redis's notify.c): `notify-keyspace-events`
//! and the events commands, expiry and eviction publish on
//! `__keyspace@<db>__:<key>` (the event as message) and
//! `__keyevent@<db>__:<event>` (the key as message).
//!
//! Events are derived after each command, with its locks still held
//! (dispatch calls [`after_command`]): the command's table entry names
//! the event of each key it wrote; a key that did not exist before and
//! does now also gets `new`, one that existed and is gone gets `del`
//! (a collection emptied by a pop or remove, as Redis fires it); a read
//! of a missing key is a `keymiss`. Keys removed by expiry and eviction
//! come from the dbs' removal logs as `expired` / `evicted`.

use std::sync::atomic::{AtomicU32, Ordering};

use crate::commands::{flags, CommandSpec};
use crate::dispatch::Ctx;
use crate::propagate::Removed;
use crate::server::Server;
use crate::util::is;

pub const KEYSPACE: u32 = 1 << 0;
pub const KEYEVENT: u32 = 1 << 1;
pub const GENERIC: u32 = 1 << 2;
pub const STRING: u32 = 1 << 3;
pub const LIST: u32 = 1 << 4;
pub const SET: u32 = 1 << 5;
pub const HASH: u32 = 1 << 6;
pub const ZSET: u32 = 1 << 7;
pub const EXPIRED: u32 = 1 << 8;
pub const EVICTED: u32 = 1 << 9;
pub const STREAM: u32 = 1 << 10;
pub const KEY_MISS: u32 = 1 << 11;
pub const MODULE: u32 = 1 << 13;
pub const NEW: u32 = 1 << 14;
/// `A`: every class but `m` and `n`.
pub const ALL: u32 = GENERIC | STRING | LIST | SET | HASH | ZSET | EXPIRED | EVICTED | STREAM | MODULE;

/// keyspaceEventsStringToFlags; None for a character outside the set.
pub fn parse(classes: &str) -> Option<u32> {
    let mut f = 0;
    for c in classes.chars() {
        f |= match c {
            'A' => ALL,
            'g' => GENERIC,
            '$' => STRING,
            'l' => LIST,
            's' => SET,
            'h' => HASH,
            'z' => ZSET,
            'x' => EXPIRED,
            'e' => EVICTED,
            'K' => KEYSPACE,
            'E' => KEYEVENT,
            't' => STREAM,
            'm' => KEY_MISS,
            'd' => MODULE,
            'n' => NEW,
            _ => return None,
        };
    }
    Some(f)
}

/// keyspaceEventsFlagsToString.
pub fn to_string(f: u32) -> String {
    let mut s = String::new();
    if f & ALL == ALL {
        s.push('A');
    } else {
        for (bit, c) in [
            (GENERIC, 'g'),
            (STRING, '$'),
            (LIST, 'l'),
            (SET, 's'),
            (HASH, 'h'),
            (ZSET, 'z'),
            (EXPIRED, 'x'),
            (EVICTED, 'e'),
            (STREAM, 't'),
            (MODULE, 'd'),
            (NEW, 'n'),
        ] {
            if f & bit != 0 {
                s.push(c);
            }
        }
    }
    for (bit, c) in [(KEYSPACE, 'K'), (KEYEVENT, 'E'), (KEY_MISS, 'm')] {
        if f & bit != 0 {
            s.push(c);
        }
    }
    s
}

/// The flags in force, read on every command.
#[derive(Debug, Default)]
pub struct Notify(AtomicU32);

impl Notify {
    /// The configured flags, or 0 when nothing would be published (no
    /// K or E).
    #[inline]
    pub fn flags(&self) -> u32 {
        self.0.load(Ordering::Relaxed)
    }

    pub fn set(&self, f: u32) {
        let f = if f & (KEYSPACE | KEYEVENT) == 0 { 0 } else { f };
        self.0.store(f, Ordering::Relaxed);
    }

    /// Whether expiry and eviction must log the keys they remove.
    pub fn wants_removals(&self) -> bool {
        self.flags() & (EXPIRED | EVICTED) != 0
    }
}

/// notifyKeyspaceEvent.
pub fn event(server: &Server, flags: u32, class: u32, event: &str, key: &[u8], db: usize) {
    if flags & class == 0 {
        return;
    }
    if flags & KEYSPACE != 0 {
        let mut chan = format!("__keyspace@{db}__:").into_bytes();
        chan.extend_from_slice(key);
        crate::pubsub::publish(server, &chan, event.as_bytes());
    }
    if flags & KEYEVENT != 0 {
        let chan = format!("__keyevent@{db}__:{event}");
        crate::pubsub::publish(server, chan.as_bytes(), key);
    }
}

/// `expired` / `evicted` for what the removal logs held.
pub fn removed(server: &Server, flags: u32, removed: &[Removed]) {
    if flags == 0 {
        return;
    }
    for r in removed {
        if r.evicted {
            event(server, flags, EVICTED, "evicted", &r.key, r.db);
        } else {
            event(server, flags, EXPIRED, "expired", &r.key, r.db);
        }
    }
}

/// Whether each key of the command existed before it ran (taken by
/// dispatch only while notifications are on).
pub(crate) fn existence(ctx: &mut Ctx<'_>, spec: &CommandSpec, args: &[&[u8]]) -> Vec<(usize, bool)> {
    let mut positions = Vec::new();
    // (SORT's STORE destination included: its spec has a finder.)
    spec.key_positions(args, &mut positions);
    let now = ctx.now;
    let db = ctx.client.db;
    positions
        .into_iter()
        .map(|p| {
            let exists = ctx.db_in(db, args[p]).get(args[p], now).is_some();
            (p, exists)
        })
        .collect()
}

/// The event a command fires on the key at `pos`, with its class.
fn command_event(spec: &CommandSpec, args: &[&[u8]], pos: usize, first: bool) -> Option<(u32, &'static str)> {
    let side = |a: Option<&&[u8]>| a.is_some_and(|a| is(a, "left"));
    Some(match spec.name {
        "set" | "setnx" | "setex" | "psetex" | "getset" | "mset" | "msetnx" => (STRING, "set"),
        "setrange" => (STRING, "setrange"),
        "append" => (STRING, "append"),
        "incr" | "decr" | "incrby" | "decrby" => (STRING, "incrby"),
        "incrbyfloat" => (STRING, "incrbyfloat"),
        "setbit" | "bitfield" => (STRING, "setbit"),
        "bitop" => (STRING, "set"),
        "del" | "unlink" | "getdel" => (GENERIC, "del"),
        "rename" | "renamenx" => (GENERIC, if first { "rename_from" } else { "rename_to" }),
        "copy" => (GENERIC, if first { return None } else { "copy_to" }),
        "expire" | "pexpire" | "expireat" | "pexpireat" => (GENERIC, "expire"),
        "persist" => (GENERIC, "persist"),
        "restore" => (GENERIC, "restore"),
        "sort" => (LIST, "sortstore"),
        "lpush" | "lpushx" => (LIST, "lpush"),
        "rpush" | "rpushx" => (LIST, "rpush"),
        "lpop" | "blpop" => (LIST, "lpop"),
        "rpop" | "brpop" => (LIST, "rpop"),
        "linsert" => (LIST, "linsert"),
        "lset" => (LIST, "lset"),
        "lrem" => (LIST, "lrem"),
        "ltrim" => (LIST, "ltrim"),
        "rpoplpush" | "brpoplpush" => (LIST, if first { "rpop" } else { "lpush" }),
        "lmove" | "blmove" => {
            // LMOVE src dst wherefrom whereto (BLMOVE: the same then timeout)
            let (from, to) = (side(args.get(3)), side(args.get(4)));
            if first {
                (LIST, if from { "lpop" } else { "rpop" })
            } else {
                (LIST, if to { "lpush" } else { "rpush" })
            }
        }
        "lmpop" | "blmpop" => {
            let n = args
                .get(if spec.name == "lmpop" { 1 } else { 2 })
                .and_then(|a| crate::util::parse_i64(a))
                .unwrap_or(0)
                .max(0) as usize;
            let base = if spec.name == "lmpop" { 2 } else { 3 };
            (LIST, if side(args.get(base + n)) { "lpop" } else { "rpop" })
        }
        "sadd" => (SET, "sadd"),
        "srem" => (SET, "srem"),
        "spop" => (SET, "spop"),
        "smove" => (SET, if first { "srem" } else { "sadd" }),
        "sinterstore" => (SET, "sinterstore"),
        "sunionstore" => (SET, "sunionstore"),
        "sdiffstore" => (SET, "sdiffstore"),
        "hset" | "hsetnx" | "hmset" => (HASH, "hset"),
        "hdel" => (HASH, "hdel"),
        "hincrby" => (HASH, "hincrby"),
        "hincrbyfloat" => (HASH, "hincrbyfloat"),
        "zadd" => (
            ZSET,
            if args.iter().skip(2).any(|a| is(a, "incr")) {
                "zincr"
            } else {
                "zadd"
            },
        ),
        "zincrby" => (ZSET, "zincr"),
        "zrem" => (ZSET, "zrem"),
        "zremrangebyscore" => (ZSET, "zremrangebyscore"),
        "zremrangebyrank" => (ZSET, "zremrangebyrank"),
        "zremrangebylex" => (ZSET, "zremrangebylex"),
        "zpopmin" | "bzpopmin" => (ZSET, "zpopmin"),
        "zpopmax" | "bzpopmax" => (ZSET, "zpopmax"),
        "zmpop" | "bzmpop" => {
            let n = args
                .get(if spec.name == "zmpop" { 1 } else { 2 })
                .and_then(|a| crate::util::parse_i64(a))
                .unwrap_or(0)
                .max(0) as usize;
            let base = if spec.name == "zmpop" { 2 } else { 3 };
            (
                ZSET,
                if args.get(base + n).is_some_and(|a| is(a, "min")) {
                    "zpopmin"
                } else {
                    "zpopmax"
                },
            )
        }
        "zunionstore" => (ZSET, "zunionstore"),
        "zinterstore" => (ZSET, "zinterstore"),
        "zdiffstore" => (ZSET, "zdiffstore"),
        "zrangestore" => (ZSET, "zrangestore"),
        // PFMERGE fires pfadd on its destination only.
        "pfadd" => (STRING, "pfadd"),
        "pfmerge" => (STRING, if first { "pfadd" } else { return None }),
        "geoadd" => (ZSET, "zadd"),
        "geosearchstore" => (ZSET, "geosearchstore"),
        // Only the key GEORADIUS actually stored into (the last STORE or
        // STOREDIST); the source is skipped by the caller.
        "georadius" | "georadiusbymember" => {
            let stored = crate::commands::geo::radius_store_pos(spec.name, args).map(|p| args[p]);
            if stored != args.get(pos).copied() {
                return None;
            }
            (ZSET, "georadiusstore")
        }
        _ => {
            let _ = pos;
            return None;
        }
    })
}

/// Commands that store a result in their first key, computed from the
/// keys after it.
const STORES_FIRST: &[&str] = &[
    "sinterstore",
    "sunionstore",
    "sdiffstore",
    "zunionstore",
    "zinterstore",
    "zdiffstore",
    "zrangestore",
    "bitop",
    "geosearchstore",
];

/// The events of one command (see the module docs). `before`: each key
/// position and whether the key existed.
pub(crate) fn after_command(
    ctx: &mut Ctx<'_>,
    spec: &CommandSpec,
    args: &[&[u8]],
    changed: bool,
    before: &[(usize, bool)],
    removed: &[Removed],
    flags: u32,
) {
    let server = ctx.server;
    crate::notify::removed(server, flags, removed);
    let db = ctx.client.db;
    let now = ctx.now;
    // Sources read by commands that store a result: a missing one is a
    // keymiss (lookupKeyRead), before the store's events.
    let reads_sources = STORES_FIRST.contains(&spec.name)
        || matches!(spec.name, "sort" | "pfmerge" | "georadius" | "georadiusbymember");
    if reads_sources && flags & KEY_MISS != 0 {
        let sources: Vec<usize> = if matches!(spec.name, "sort" | "georadius" | "georadiusbymember") {
            vec![0]
        } else if spec.name == "pfmerge" {
            // PFMERGE reads its destination too, first.
            (0..before.len()).collect()
        } else {
            (1..before.len()).collect()
        };
        for i in sources {
            if let Some(&(p, false)) = before.get(i) {
                event(server, flags, KEY_MISS, "keymiss", args[p], db);
            }
        }
    }
    if !changed {
        // A BITFIELD of GETs (and OVERFLOWs) reads its key as BITFIELD_RO
        // does (bitfieldGeneric's lookupKeyRead).
        let reads_only =
            spec.has(flags::READONLY) || (spec.name == "bitfield" && crate::commands::bitmap::reads_only(args));
        if reads_only && flags & KEY_MISS != 0 {
            for &(p, existed) in before {
                if !existed {
                    event(server, flags, KEY_MISS, "keymiss", args[p], db);
                }
            }
        }
        return;
    }
    // MOVE and COPY ... DB n write to another db.
    let target_db = |i: usize| -> usize {
        match spec.name {
            "move" if i > 0 => args.get(2).and_then(|a| crate::util::parse_i64(a)).unwrap_or(0) as usize,
            "copy" if i > 0 => args
                .iter()
                .position(|a| is(a, "db"))
                .and_then(|p| args.get(p + 1))
                .and_then(|a| crate::util::parse_i64(a))
                .map_or(db, |d| d as usize),
            _ => db,
        }
    };
    if spec.name == "move" {
        if let Some(&(p, _)) = before.first() {
            event(server, flags, NEW, "new", args[p], target_db(1));
            event(server, flags, GENERIC, "move_from", args[p], db);
            event(server, flags, GENERIC, "move_to", args[p], target_db(1));
        }
        return;
    }
    // RENAME and COPY add the destination (`new`) before their events.
    let hoist_new = matches!(spec.name, "rename" | "renamenx" | "copy");
    if hoist_new {
        if let Some(&(p, existed)) = before.get(1) {
            let kdb = target_db(1);
            if !existed && ctx.db_in(kdb, args[p]).get(args[p], now).is_some() {
                event(server, flags, NEW, "new", args[p], kdb);
            }
        }
    }
    // LMOVE and friends push first, then pop.
    let order: Vec<usize> = if matches!(spec.name, "rpoplpush" | "brpoplpush" | "lmove" | "blmove") {
        (0..before.len()).rev().collect()
    } else {
        (0..before.len()).collect()
    };
    // Keys the command names that it may write, with their state after.
    let mut seen: Vec<&[u8]> = Vec::new();
    for i in order {
        let (p, existed) = before[i];
        let key = args[p];
        if seen.contains(&key) && !matches!(spec.name, "rpoplpush" | "brpoplpush" | "lmove" | "blmove" | "smove") {
            continue;
        }
        seen.push(key);
        let kdb = target_db(i);
        let exists = ctx.db_in(kdb, key).get(key, now).is_some();
        if spec.name == "getex" {
            let persist = args.iter().skip(2).any(|a| is(a, "persist"));
            event(
                server,
                flags,
                GENERIC,
                if persist { "persist" } else { "expire" },
                key,
                kdb,
            );
            continue;
        }
        let Some((class, name)) = command_event(spec, args, p, i == 0) else {
            continue;
        };
        if name == "del" {
            if existed {
                event(server, flags, class, name, key, kdb);
            }
            continue;
        }
        // Commands that store a result fire on the destination only (the
        // first key, or SORT's STORE key), and a result that is empty
        // deletes it: `del` alone.
        let store = STORES_FIRST.contains(&spec.name);
        // GEORADIUS's source comes first, its STORE key after.
        let store_after_source = matches!(spec.name, "georadius" | "georadiusbymember");
        if (store && i > 0) || ((spec.name == "sort" || store_after_source) && i == 0) {
            continue;
        }
        if !exists && (store || store_after_source || spec.name == "sort" || name == "expire") {
            if existed {
                event(server, flags, GENERIC, "del", key, kdb);
            }
            continue;
        }
        if !existed && exists && !hoist_new {
            event(server, flags, NEW, "new", key, kdb);
        }
        if exists {
            event(server, flags, class, name, key, kdb);
        } else if existed {
            // Moved away (RENAME's source) or emptied by this command
            // (its event, then del).
            event(server, flags, class, name, key, kdb);
            if !matches!(spec.name, "rename" | "renamenx") {
                event(server, flags, GENERIC, "del", key, kdb);
            }
        }
        if matches!(spec.name, "set" | "setex" | "psetex") && exists {
            let with_ttl = spec.name != "set"
                || args
                    .iter()
                    .skip(3)
                    .any(|a| is(a, "ex") || is(a, "px") || is(a, "exat") || is(a, "pxat"));
            if with_ttl {
                event(server, flags, GENERIC, "expire", key, kdb);
            }
        }
    }
}
