//! Transactions: MULTI, EXEC, DISCARD, WATCH, UNWATCH (Redis's multi.c).
//!
//! While a client is in MULTI, dispatch checks each command as usual
//! (unknown command, arity, authentication, `no-multi`, OOM) and, instead
//! of running it, queues an owned copy of its arguments here ([`queue`]).
//! A rejected command flags the transaction, so EXEC answers EXECABORT.
//!
//! EXEC is flagged `ALL_SHARDS`: dispatch locks every shard for the whole
//! transaction, and the handler runs each queued command's handler in
//! order through [`crate::dispatch::call`] inside those locks, so no other
//! client's command can interleave. Blocking commands answer as a timeout
//! (`client.deny_blocking`); blocked clients are served once, after the
//! whole transaction (dispatch's `serve_ready` after `ALL_SHARDS`).
//!
//! WATCH: the server keeps a registry of watched (db, key) -> watching
//! clients ([`Watches`]), and each client a dirty flag. Dispatch "touches"
//! the keys of every command flagged `write` when anyone watches anything
//! (one atomic load otherwise): the watchers of those keys are marked
//! dirty. FLUSHDB, FLUSHALL and SWAPDB touch the watched keys of the
//! affected databases that exist before they run. Expiry and eviction
//! are not hooked: EXEC instead checks that every watched key that
//! existed (unexpired) at WATCH time still exists.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;

use hashbrown::HashMap;
use parking_lot::Mutex;

use super::{acl, flags::*, Command, CommandSpec, KeySpec};
use crate::client::Client;
use crate::dispatch::{Ctx, Locks};
use crate::server::Server;
use larder_engine::Keyspace;

const TX: u64 = acl::TRANSACTION;

pub static COMMANDS: &[CommandSpec] = &[
    CommandSpec::new(
        "multi",
        1,
        NOSCRIPT | LOADING | STALE | FAST | ALLOW_BUSY,
        TX | acl::FAST,
        multi,
    )
    .doc("transactions", "1.2.0", "Starts a transaction.", "O(1)"),
    CommandSpec::new(
        "exec",
        1,
        NOSCRIPT | LOADING | STALE | SKIP_SLOWLOG | ALL_SHARDS,
        TX | acl::SLOW,
        exec,
    )
    .doc(
        "transactions",
        "1.2.0",
        "Executes all commands in a transaction.",
        "Depends on commands in the transaction",
    ),
    CommandSpec::new(
        "discard",
        1,
        NOSCRIPT | LOADING | STALE | FAST | ALLOW_BUSY,
        TX | acl::FAST,
        discard,
    )
    .doc(
        "transactions",
        "2.0.0",
        "Discards a transaction.",
        "O(N), when N is the number of queued commands",
    ),
    CommandSpec::new(
        "watch",
        -2,
        NOSCRIPT | LOADING | STALE | FAST | ALLOW_BUSY,
        TX | acl::FAST,
        watch,
    )
    .keys(&[KeySpec::range(1, -1, 1, &["RO"])])
    .doc(
        "transactions",
        "2.2.0",
        "Monitors changes to keys to determine the execution of a transaction.",
        "O(1) for every key.",
    ),
    CommandSpec::new(
        "unwatch",
        1,
        NOSCRIPT | LOADING | STALE | FAST | ALLOW_BUSY,
        TX | acl::FAST,
        unwatch,
    )
    .doc(
        "transactions",
        "2.2.0",
        "Forgets about watched keys of a transaction.",
        "O(1)",
    ),
];

pub const ERR_EXECABORT: &str = "-EXECABORT Transaction discarded because of previous errors.";

/// The commands queued by MULTI.
#[derive(Debug, Default)]
pub struct Queue {
    pub cmds: Vec<Box<[Box<[u8]>]>>,
    /// A command was rejected while queueing: EXEC aborts.
    pub aborted: bool,
    /// The union of the queued commands' flags.
    pub flags: u64,
    /// Bytes of queued arguments (CLIENT LIST `multi-mem`).
    pub bytes: usize,
}

/// The keys a client watches, (db, key) -> whether the key existed
/// (unexpired) at WATCH time: if such a key is gone at EXEC (expired,
/// evicted) the transaction fails.
type Watched = HashMap<(usize, Box<[u8]>), bool>;

/// A client's transaction state.
#[derive(Debug, Default)]
pub struct TxState {
    /// Some while in MULTI.
    pub queue: Option<Queue>,
    watched: Watched,
    /// Set by other clients' (or our own) writes to a watched key.
    dirty: Arc<AtomicBool>,
    /// EXEC is running the queue (CLIENT LIST shows `cmd=exec`).
    pub in_exec: bool,
    /// DEL/UNLINK: the keys that existed before it ran (only those are
    /// touched, as Redis signals only the keys it deleted).
    deleting: Vec<Vec<u8>>,
}

impl TxState {
    pub fn in_multi(&self) -> bool {
        self.queue.is_some()
    }

    /// Marks the transaction (if any) to abort at EXEC.
    pub fn flag_error(&mut self) {
        if let Some(q) = &mut self.queue {
            q.aborted = true;
        }
    }
}

type Watchers = Vec<(u64, Arc<AtomicBool>)>;
/// One database's watched keys.
type DbWatches = HashMap<Box<[u8]>, Watchers>;

/// The server's registry of watched keys.
#[derive(Debug, Default)]
pub struct Watches {
    /// How many (db, key) entries the map holds; writes check it first.
    count: AtomicUsize,
    map: Mutex<HashMap<usize, DbWatches>>,
}

impl Watches {
    /// Whether any client watches any key.
    pub fn active(&self) -> bool {
        self.count.load(Ordering::Acquire) > 0
    }

    fn add(&self, db: usize, key: &[u8], id: u64, flag: &Arc<AtomicBool>) {
        let mut map = self.map.lock();
        let keys = map.entry(db).or_default();
        match keys.get_mut(key) {
            Some(w) => w.push((id, flag.clone())),
            None => {
                keys.insert(key.into(), vec![(id, flag.clone())]);
                self.count.fetch_add(1, Ordering::AcqRel);
            }
        }
    }

    fn remove_client(&self, id: u64, watched: &Watched) {
        if watched.is_empty() {
            return;
        }
        let mut map = self.map.lock();
        for (db, key) in watched.keys() {
            let Some(keys) = map.get_mut(db) else { continue };
            let Some(list) = keys.get_mut(key) else { continue };
            list.retain(|(c, _)| *c != id);
            if list.is_empty() {
                keys.remove(key);
                self.count.fetch_sub(1, Ordering::AcqRel);
                if keys.is_empty() {
                    map.remove(db);
                }
            }
        }
    }

    /// Marks the watchers of `key` in `db` dirty.
    pub fn touch(&self, db: usize, key: &[u8]) {
        let map = self.map.lock();
        if let Some(list) = map.get(&db).and_then(|k| k.get(key)) {
            for (_, f) in list {
                f.store(true, Ordering::Release);
            }
        }
    }

    /// Marks dirty the watchers of every watched key for which `pred`
    /// (db, key) holds.
    pub fn touch_where(&self, mut pred: impl FnMut(usize, &[u8]) -> bool) {
        let map = self.map.lock();
        for (&db, keys) in map.iter() {
            for (key, list) in keys.iter() {
                if pred(db, key) {
                    for (_, f) in list {
                        f.store(true, Ordering::Release);
                    }
                }
            }
        }
    }
}

/// Forgets every key `client` watches and clears its dirty flag.
pub fn unwatch_all(server: &Server, client: &mut Client) {
    let tx = &mut client.tx;
    server.watches.remove_client(client.id, &tx.watched);
    tx.watched.clear();
    tx.dirty.store(false, Ordering::Release);
}

/// Leaves MULTI without running anything and forgets the watches
/// (DISCARD, RESET, EXEC's end, disconnection).
pub fn discard_transaction(server: &Server, client: &mut Client) {
    client.tx.queue = None;
    client.info.multi.store(-1, Ordering::Relaxed);
    client.info.multi_mem.store(0, Ordering::Relaxed);
    unwatch_all(server, client);
}

/// Whether `spec` runs at once even inside MULTI (Redis's processCommand:
/// EXEC, DISCARD, MULTI, WATCH, QUIT, RESET).
pub fn runs_in_multi(spec: &CommandSpec) -> bool {
    matches!(spec.name, "exec" | "discard" | "multi" | "watch" | "quit" | "reset")
}

/// Inside MULTI, after the checks every command gets: rejects `no-multi`
/// commands and, when memory cannot be freed, every command (flagging
/// the transaction), else queues the command and replies QUEUED.
pub fn queue(server: &Server, client: &mut Client, out: &mut larder_protocol::Reply, args: &[&[u8]], cmd: &Command) {
    let spec = cmd.spec;
    if spec.has(NO_MULTI) {
        out.error("Command not allowed inside a transaction");
        server.count_rejected(out, Some(cmd));
        client.tx.flag_error();
        return;
    }
    if server.eviction.maxmemory() != 0
        && server.eviction.perform(&server.keyspace, server.started) == crate::evict::Outcome::Fail
    {
        out.error("-OOM command not allowed when used memory > 'maxmemory'.");
        server.count_rejected(out, Some(cmd));
        client.tx.flag_error();
        return;
    }
    let Some(q) = &mut client.tx.queue else { return };
    let argv: Box<[Box<[u8]>]> = args.iter().map(|a| Box::<[u8]>::from(*a)).collect();
    q.bytes += args
        .iter()
        .map(|a| a.len() + std::mem::size_of::<Box<[u8]>>())
        .sum::<usize>()
        + std::mem::size_of::<Box<[Box<[u8]>]>>();
    q.cmds.push(argv);
    q.flags |= crate::scripting::command_flags(server, spec, args);
    client.info.multi.store(q.cmds.len() as i64, Ordering::Relaxed);
    client.info.multi_mem.store(q.bytes, Ordering::Relaxed);
    out.simple("QUEUED");
}

/// Touches the watched keys a command flagged `write` changed; called by
/// dispatch when [`Watches::active`], once before the handler (`before`:
/// FLUSHDB, FLUSHALL and SWAPDB look at what exists then) and once after
/// it if it counted a change (`ctx.dirty`).
pub fn touch_for_write(ctx: &mut Ctx<'_>, spec: &CommandSpec, args: &[&[u8]], before: bool) {
    let server = ctx.server;
    let db = ctx.client.db;
    let ndbs = server.keyspace.databases();
    let dbs: Vec<usize> = match spec.name {
        "flushall" => (0..ndbs).collect(),
        "flushdb" => vec![db],
        "swapdb" => {
            let parse = |a: &[u8]| {
                std::str::from_utf8(a)
                    .ok()
                    .and_then(|s| s.parse::<usize>().ok())
                    .filter(|&d| d < ndbs)
            };
            match (args.get(1).and_then(|a| parse(a)), args.get(2).and_then(|a| parse(a))) {
                // Swapping a db with itself changes nothing.
                (Some(a), Some(b)) if a != b => vec![a, b],
                _ => return,
            }
        }
        "del" | "unlink" => {
            let now = ctx.now;
            if before {
                let existing: Vec<Vec<u8>> = args[1..]
                    .iter()
                    .filter(|k| ctx.db(k).get(k, now).is_some())
                    .map(|k| k.to_vec())
                    .collect();
                ctx.client.tx.deleting = existing;
            } else {
                for k in std::mem::take(&mut ctx.client.tx.deleting) {
                    server.watches.touch(db, &k);
                }
            }
            return;
        }
        _ => {
            if !before {
                touch_keys(server, spec, args, db, ndbs);
            }
            return;
        }
    };
    if !before {
        return;
    }
    // Before a flush or swap, with every shard locked: a watched key is
    // affected if it exists in one of the dbs (SWAPDB: in either, since
    // it moves in or out), as Redis's touchAllWatchedKeysInDb.
    let ks = &server.keyspace;
    let now = ctx.now;
    let locks = &mut ctx.locks;
    server
        .watches
        .touch_where(|wdb, key| dbs.contains(&wdb) && dbs.iter().any(|&d| exists(locks, ks, d, key, now)));
}

/// Touches the keys a write command names (its key specs).
fn touch_keys(server: &Server, spec: &CommandSpec, args: &[&[u8]], db: usize, ndbs: usize) {
    // Keys the command only reads (COPY's source) are not touched.
    let mut positions = Vec::new();
    for ks in spec.key_specs {
        if !ks.flags.contains(&"RO") {
            ks.positions(args, &mut positions);
        }
    }
    let db_arg = |a: &[u8]| {
        std::str::from_utf8(a)
            .ok()
            .and_then(|s| s.parse::<usize>().ok())
            .filter(|&d| d < ndbs)
    };
    match spec.name {
        // MOVE key db: the key leaves this db for that one.
        "move" => {
            server.watches.touch(db, args[1]);
            if let Some(d) = args.get(2).and_then(|a| db_arg(a)) {
                server.watches.touch(d, args[1]);
            }
        }
        // COPY src dst [DB n] [REPLACE]: only dst changes, in db n.
        "copy" => {
            let mut dst_db = db;
            for i in 3..args.len() {
                if args[i].eq_ignore_ascii_case(b"db") {
                    if let Some(d) = args.get(i + 1).and_then(|a| db_arg(a)) {
                        dst_db = d;
                    }
                }
            }
            server.watches.touch(dst_db, args[2]);
        }
        _ => {
            for p in positions {
                server.watches.touch(db, args[p]);
            }
        }
    }
}

fn exists<'a>(locks: &mut Locks<'a>, ks: &'a Keyspace, db: usize, key: &[u8], now: u64) -> bool {
    let idx = ks.shard_of(key);
    locks.shard(ks, idx).db(db).get(key, now).is_some()
}

fn multi(ctx: &mut Ctx<'_>, _args: &[&[u8]]) {
    if ctx.client.tx.in_multi() {
        return ctx.out.error("MULTI calls can not be nested");
    }
    ctx.client.tx.queue = Some(Queue::default());
    ctx.client.info.multi.store(0, Ordering::Relaxed);
    ctx.out.ok();
}

fn discard(ctx: &mut Ctx<'_>, _args: &[&[u8]]) {
    if !ctx.client.tx.in_multi() {
        return ctx.out.error("DISCARD without MULTI");
    }
    discard_transaction(ctx.server, ctx.client);
    ctx.out.ok();
}

fn watch(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    if ctx.client.tx.in_multi() {
        return ctx.out.error("WATCH inside MULTI is not allowed");
    }
    let db = ctx.client.db;
    let now = ctx.now;
    let server = ctx.server;
    for key in &args[1..] {
        let entry = (db, Box::<[u8]>::from(*key));
        if ctx.client.tx.watched.contains_key(&entry) {
            continue;
        }
        let existed = exists(&mut ctx.locks, &server.keyspace, db, key, now);
        server.watches.add(db, key, ctx.client.id, &ctx.client.tx.dirty);
        ctx.client.tx.watched.insert(entry, existed);
    }
    ctx.out.ok();
}

fn unwatch(ctx: &mut Ctx<'_>, _args: &[&[u8]]) {
    unwatch_all(ctx.server, ctx.client);
    ctx.out.ok();
}

/// Whether a watched key that existed at WATCH time is gone (expired,
/// evicted); every shard is locked.
fn watched_key_vanished(ctx: &mut Ctx<'_>) -> bool {
    let ks = &ctx.server.keyspace;
    let now = ctx.now;
    let locks = &mut ctx.locks;
    ctx.client
        .tx
        .watched
        .iter()
        .any(|((db, key), &existed)| existed && !exists(locks, ks, *db, key, now))
}

fn exec(ctx: &mut Ctx<'_>, _args: &[&[u8]]) {
    let server = ctx.server;
    let Some(queue) = ctx.client.tx.queue.take() else {
        return ctx.out.error("EXEC without MULTI");
    };
    let dirty = ctx.client.tx.dirty.load(Ordering::Acquire) || watched_key_vanished(ctx);
    unwatch_all(server, ctx.client);
    if queue.aborted || dirty {
        ctx.client.info.multi.store(-1, Ordering::Relaxed);
        ctx.client.info.multi_mem.store(0, Ordering::Relaxed);
        return if queue.aborted {
            ctx.out.error(ERR_EXECABORT)
        } else {
            ctx.out.null_array()
        };
    }
    let deny = std::mem::replace(&mut ctx.client.deny_blocking, true);
    ctx.client.tx.in_exec = true;
    ctx.out.array(queue.cmds.len());
    for argv in queue.cmds.iter() {
        let args: Vec<&[u8]> = argv.iter().map(|a| &**a).collect();
        let Some(cmd) = server.commands.resolve(&args) else {
            // Checked when queued; the table does not change.
            ctx.out.error("unknown command");
            continue;
        };
        if !ctx.client.aof_loader {
            if let Err(e) = crate::commands::aclcmd::check_in_exec(ctx, cmd.spec, &args) {
                ctx.out.error(&e);
                server.count_rejected(ctx.out, Some(cmd));
                continue;
            }
        }
        let started = Instant::now();
        crate::dispatch::call(ctx, cmd.spec, &args, true);
        let usec = started.elapsed().as_micros() as u64;
        server.count_call(ctx.out, cmd, usec);
        if !ctx.client.aof_loader {
            server.log_call(cmd.spec, &args, usec, Some(&ctx.client.info));
        }
    }
    ctx.client.deny_blocking = deny;
    ctx.client.tx.in_exec = false;
    crate::propagate::after_exec(ctx);
    // CLIENT LIST showed `x` and the queued count during EXEC, as Redis.
    if !ctx.client.tx.in_multi() {
        ctx.client.info.multi.store(-1, Ordering::Relaxed);
        ctx.client.info.multi_mem.store(0, Ordering::Relaxed);
    }
}
