//! Blocking commands (BLPOP, BLMOVE, BZPOPMIN, ...): the API handlers use
//! and the machinery that parks and wakes clients.
//!
//! A blocking handler first tries to serve the request at once. If it
//! cannot (every key is missing) it calls [`Ctx::block`] and writes no
//! reply. Dispatch then registers a *waiter* in the server-wide
//! [`Registry`] while the command's shard locks are still held: the
//! client's id, db, protocol, the command's arguments (owned), its keys,
//! the value type it waits for (list, or zset for the `@sortedset`
//! commands), the deadline, and a oneshot channel to its connection.
//! Waiters are queued FIFO per (db, key), indexed by shard.
//!
//! Waking: after every write command, while its shard locks are still
//! held and only if anyone is blocked (one atomic load otherwise),
//! dispatch looks at the waited keys of the shards it holds. A key that
//! now exists with the type its waiters want is *ready* (blocked clients
//! only wait on missing keys, so creation is the only event that matters,
//! as Redis's signalKeyAsReady in dbAdd). Its first waiter is served on
//! its behalf: its command is run again with its db and protocol into a
//! reply buffer; if it wrote a reply rather than blocking again, the bytes
//! go down the waiter's channel and the waiter is removed from every key.
//! Served commands can make more keys ready (BLMOVE pushes), so this
//! repeats until nothing is ready. A waiter's command may need shards the
//! writer does not hold: they are taken with `try_lock` (never waits, so
//! no lock order issue); only if one is busy are all locks released and
//! the union taken again in shard order (then another client may get to
//! the key first, and the waiter simply stays blocked).
//!
//! The blocked connection stops executing its pipeline and waits for the
//! channel, its deadline (tokio timer; the deadline is on the server
//! clock, and the cron also times out waiters whose deadline the clock
//! has passed, so DEBUG ADVANCE-CLOCK works), CLIENT UNBLOCK (which sends
//! the timeout reply or an `-UNBLOCKED` error down the channel), being
//! killed, or the peer closing. Timeouts, kills and disconnects remove the waiter under the
//! registry lock; a waiter being served at that moment cannot be removed,
//! and the outcome is settled when its run finishes.
//!
//! Lock order: shard locks, then the registry mutex; the registry mutex
//! is never held while waiting for a shard lock.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;

use hashbrown::{HashMap, HashSet};
use parking_lot::Mutex;
use tokio::sync::oneshot;

use larder_engine::ValueType;
use larder_protocol::{Reply, Resp};

use crate::client::{Client, ClientInfo, ReplyMode};
use crate::commands::{acl, CommandSpec};
use crate::dispatch::{Ctx, Locks};
use crate::util::parse_f64;

/// What a blocked command replies when its timeout passes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimeoutReply {
    /// `*-1` (RESP2) / `_` (RESP3): BLPOP, BRPOP, BLMPOP, BZPOPMIN, ...
    NullArray,
    /// `$-1` (RESP2) / `_` (RESP3): BLMOVE, BRPOPLPUSH.
    NullBulk,
}

impl TimeoutReply {
    /// The reply's bytes in the given protocol.
    pub fn bytes(self, resp3: bool) -> &'static [u8] {
        match (self, resp3) {
            (_, true) => b"_\r\n",
            (TimeoutReply::NullArray, false) => b"*-1\r\n",
            (TimeoutReply::NullBulk, false) => b"$-1\r\n",
        }
    }
}

/// The error CLIENT UNBLOCK ... ERROR makes the blocked command reply.
pub const UNBLOCKED_ERROR: &[u8] = b"-UNBLOCKED client unblocked via CLIENT UNBLOCK\r\n";

/// Parses a blocking timeout in seconds (fractions allowed) into an
/// absolute deadline in ms, or `None` for 0 (block forever). Like Redis's
/// getTimeoutFromObjectOrReply, milliseconds are rounded up (0.0001 is
/// 1 ms, not forever). Errors: "timeout is not a float or out of range",
/// "timeout is negative", "timeout is out of range".
pub fn parse_timeout(arg: &[u8], now_ms: u64) -> Result<Option<u64>, &'static str> {
    let secs = parse_f64(arg).ok_or("timeout is not a float or out of range")?;
    let ms = secs * 1000.0;
    if ms > i64::MAX as f64 {
        return Err("timeout is out of range");
    }
    let ms = ms.ceil();
    if ms < 0.0 {
        return Err("timeout is negative");
    }
    let ms = ms as u64;
    if ms == 0 {
        return Ok(None);
    }
    if ms > i64::MAX as u64 - now_ms {
        return Err("timeout is out of range");
    }
    Ok(Some(now_ms + ms))
}

/// What a handler asked for with [`Ctx::block`]; dispatch turns it into a
/// waiter.
#[derive(Debug)]
pub struct BlockRequest {
    pub keys: Vec<Box<[u8]>>,
    pub deadline: Option<u64>,
    pub on_timeout: TimeoutReply,
}

/// What a blocked connection receives: its command's reply and, when
/// serving it wrote to the AOF, the offset that must be durable before
/// the reply goes out (`appendfsync always`).
#[derive(Debug, PartialEq, Eq)]
pub struct Served {
    pub reply: Vec<u8>,
    pub aof_offset: u64,
}

impl Served {
    /// A reply that wrote nothing (a timeout, an unblock).
    fn plain(reply: Vec<u8>) -> Served {
        Served { reply, aof_offset: 0 }
    }
}

/// A blocked connection's side of its waiter.
#[derive(Debug)]
pub struct BlockedWait {
    pub id: u64,
    pub rx: oneshot::Receiver<Served>,
    pub deadline: Option<u64>,
    pub on_timeout: TimeoutReply,
    /// CLIENT REPLY OFF/SKIP was in force for the command: its eventual
    /// reply is dropped.
    pub silent: bool,
}

impl Ctx<'_> {
    /// Blocks the client on `keys` until `deadline_ms` (None: forever).
    /// The handler must not have written a reply. Where blocking is not
    /// allowed (inside MULTI/EXEC, scripts) it replies as a timeout.
    pub fn block(&mut self, keys: &[&[u8]], deadline_ms: Option<u64>, on_timeout: TimeoutReply) {
        if self.client.deny_blocking {
            self.out.raw(on_timeout.bytes(self.out.is_resp3()));
            return;
        }
        self.client.block_request = Some(BlockRequest {
            keys: keys.iter().map(|k| Box::<[u8]>::from(*k)).collect(),
            deadline: deadline_ms,
            on_timeout,
        });
    }
}

/// Why a waiter is being taken away without being served.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cancel {
    /// Its deadline passed (or CLIENT UNBLOCK ... TIMEOUT).
    Timeout,
    /// CLIENT UNBLOCK ... ERROR.
    Error,
    /// The connection is gone.
    Gone,
}

/// What `cancel` did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cancelled {
    /// The waiter was removed; the caller replies.
    Removed,
    /// It is being served right now; its reply will come on the channel.
    InFlight,
    /// No such waiter (already served).
    NotFound,
}

#[derive(Debug)]
struct Waiter {
    client_id: u64,
    info: Arc<ClientInfo>,
    db: usize,
    resp3: bool,
    no_touch: bool,
    args: Vec<Box<[u8]>>,
    /// (shard, key) of every key it waits on.
    keys: Vec<(usize, Box<[u8]>)>,
    wants: ValueType,
    on_timeout: TimeoutReply,
    deadline: Option<u64>,
    tx: Option<oneshot::Sender<Served>>,
    serving: bool,
    /// A cancellation that arrived while it was being served.
    cancel: Option<Cancel>,
}

impl Waiter {
    fn cancel_reply(&self, why: Cancel) -> Option<Vec<u8>> {
        match why {
            Cancel::Timeout => Some(self.on_timeout.bytes(self.resp3).to_vec()),
            Cancel::Error => Some(UNBLOCKED_ERROR.to_vec()),
            Cancel::Gone => None,
        }
    }
}

type KeyQueues = HashMap<(usize, Box<[u8]>), VecDeque<u64>>;

#[derive(Debug, Default)]
struct Inner {
    next_id: u64,
    waiters: HashMap<u64, Waiter>,
    by_client: HashMap<u64, u64>,
    /// shard -> (db, key) -> waiter ids in arrival order.
    by_shard: HashMap<usize, KeyQueues>,
}

impl Inner {
    /// Removes a waiter from every queue and the maps.
    fn remove(&mut self, id: u64) -> Option<Waiter> {
        let w = self.waiters.remove(&id)?;
        self.by_client.remove(&w.client_id);
        for (shard, key) in &w.keys {
            if let Some(queues) = self.by_shard.get_mut(shard) {
                let k = (w.db, key.clone());
                if let Some(q) = queues.get_mut(&k) {
                    q.retain(|&x| x != id);
                    if q.is_empty() {
                        queues.remove(&k);
                    }
                }
                if queues.is_empty() {
                    self.by_shard.remove(shard);
                }
            }
        }
        Some(w)
    }
}

/// A waiter picked to be served.
struct Candidate {
    id: u64,
    info: Arc<ClientInfo>,
    db: usize,
    resp3: bool,
    no_touch: bool,
    args: Vec<Box<[u8]>>,
}

/// Bits in the map of shards with waiters (shards beyond share bits).
const SHARD_BITS: usize = 4096;

/// Every blocked client, server-wide.
#[derive(Debug)]
pub struct Registry {
    inner: Mutex<Inner>,
    count: AtomicUsize,
    /// Bit `shard % SHARD_BITS` is set while some key of that shard has
    /// waiters, so writes elsewhere skip the registry lock.
    shards: Vec<AtomicU64>,
    /// Clients in WAIT / WAITAOF (they wait on no key).
    pub repl_waiting: AtomicUsize,
}

impl Default for Registry {
    fn default() -> Self {
        Registry {
            inner: Mutex::new(Inner::default()),
            count: AtomicUsize::new(0),
            repl_waiting: AtomicUsize::new(0),
            shards: (0..SHARD_BITS / 64).map(|_| AtomicU64::new(0)).collect(),
        }
    }
}

impl Registry {
    fn mark(&self, shard: usize, on: bool) {
        let bit = shard % SHARD_BITS;
        let word = &self.shards[bit / 64];
        if on {
            word.fetch_or(1 << (bit % 64), Ordering::AcqRel);
        } else {
            word.fetch_and(!(1 << (bit % 64)), Ordering::AcqRel);
        }
    }

    /// Whether any of `held` may have waiters (no lock taken).
    pub fn any_in(&self, held: &[usize]) -> bool {
        held.iter().any(|&s| {
            let bit = s % SHARD_BITS;
            self.shards[bit / 64].load(Ordering::Acquire) & (1 << (bit % 64)) != 0
        })
    }

    /// Removes a waiter for good: from its queues, the count and the
    /// shard marks.
    fn take(&self, inner: &mut Inner, id: u64) -> Option<Waiter> {
        let w = inner.remove(id)?;
        self.count.fetch_sub(1, Ordering::AcqRel);
        let shards: Vec<usize> = w.keys.iter().map(|(s, _)| *s).collect();
        self.unmark_empty(inner, &shards);
        Some(w)
    }

    /// Clears the marks of shards that no longer have waiters.
    fn unmark_empty(&self, inner: &Inner, shards: &[usize]) {
        for &s in shards {
            let bit = s % SHARD_BITS;
            if !inner.by_shard.keys().any(|&k| k % SHARD_BITS == bit) {
                self.mark(s, false);
            }
        }
    }

    /// Number of blocked clients (INFO `blocked_clients`).
    pub fn count(&self) -> usize {
        self.count.load(Ordering::Acquire)
    }

    /// INFO's `blocked_clients`: waiters on keys and in WAIT / WAITAOF.
    pub fn blocked_clients(&self) -> usize {
        self.count() + self.repl_waiting.load(Ordering::Relaxed)
    }

    /// (keys with waiters, waiters with a timeout), for INFO clients'
    /// `total_blocking_keys` and `clients_in_timeout_table`.
    pub fn stats(&self) -> (usize, usize) {
        let inner = self.inner.lock();
        let keys = inner.by_shard.values().map(|q| q.len()).sum();
        let timed = inner.waiters.values().filter(|w| w.deadline.is_some()).count();
        (keys, timed)
    }

    fn register(&self, mut w: Waiter) -> BlockedWait {
        let (tx, rx) = oneshot::channel();
        w.tx = Some(tx);
        let deadline_info = (w.on_timeout, w.client_id);
        let mut inner = self.inner.lock();
        inner.next_id += 1;
        let id = inner.next_id;
        for (shard, key) in &w.keys {
            inner
                .by_shard
                .entry(*shard)
                .or_default()
                .entry((w.db, key.clone()))
                .or_default()
                .push_back(id);
        }
        for (shard, _) in &w.keys {
            self.mark(*shard, true);
        }
        inner.by_client.insert(w.client_id, id);
        inner.waiters.insert(id, w);
        self.count.fetch_add(1, Ordering::AcqRel);
        BlockedWait {
            id,
            rx,
            deadline: None,
            on_timeout: deadline_info.0,
            silent: false,
        }
    }

    /// Takes a waiter away without serving it (timeout, kill, the peer
    /// closing). The blocked connection calls this for itself.
    pub fn cancel(&self, id: u64, why: Cancel) -> Cancelled {
        let mut inner = self.inner.lock();
        match inner.waiters.get_mut(&id) {
            None => Cancelled::NotFound,
            Some(w) if w.serving => {
                w.cancel = Some(why);
                Cancelled::InFlight
            }
            Some(_) => {
                self.take(&mut inner, id);
                Cancelled::Removed
            }
        }
    }

    /// CLIENT UNBLOCK: wakes client `client_id` if it is blocked on keys,
    /// making its command reply as a timeout or with the UNBLOCKED error.
    pub fn unblock(&self, client_id: u64, why: Cancel) -> bool {
        let mut inner = self.inner.lock();
        let Some(&id) = inner.by_client.get(&client_id) else {
            return false;
        };
        if let Some(w) = inner.waiters.get_mut(&id) {
            if w.serving {
                w.cancel = Some(why);
                return true;
            }
        }
        if let Some(mut w) = self.take(&mut inner, id) {
            if let (Some(tx), Some(bytes)) = (w.tx.take(), w.cancel_reply(why)) {
                let _ = tx.send(Served::plain(bytes));
            }
        }
        true
    }

    /// Times out every waiter whose deadline (server clock) is at or
    /// before `now` (the cron calls this, so a clock moved by DEBUG
    /// ADVANCE-CLOCK is honoured too; the connection's own timer covers
    /// the precise case).
    pub fn expire(&self, now: u64) {
        if self.count() == 0 {
            return;
        }
        let mut inner = self.inner.lock();
        let due: Vec<u64> = inner
            .waiters
            .iter()
            .filter(|(_, w)| !w.serving && w.deadline.is_some_and(|d| d <= now))
            .map(|(&id, _)| id)
            .collect();
        for id in due {
            if let Some(mut w) = self.take(&mut inner, id) {
                if let (Some(tx), Some(bytes)) = (w.tx.take(), w.cancel_reply(Cancel::Timeout)) {
                    let _ = tx.send(Served::plain(bytes));
                }
            }
        }
    }

    /// Finds the first waiter, in arrival order, of a waited key in the
    /// `held` shards that `ready` reports holding the type it wants;
    /// marks it as being served.
    fn pick_ready(
        &self,
        held: &[usize],
        skip: &HashSet<u64>,
        mut ready: impl FnMut(usize, usize, &[u8]) -> Option<ValueType>,
    ) -> Option<Candidate> {
        let mut inner = self.inner.lock();
        let inner = &mut *inner;
        for shard in held {
            let Some(queues) = inner.by_shard.get(shard) else {
                continue;
            };
            for ((db, key), q) in queues {
                let Some(t) = ready(*shard, *db, key) else {
                    continue;
                };
                for id in q {
                    if skip.contains(id) {
                        continue;
                    }
                    let Some(w) = inner.waiters.get_mut(id) else {
                        continue;
                    };
                    // A killed client's connection is going away: it must
                    // not take an element it can never receive.
                    if w.serving || w.wants != t || w.info.killed.load(Ordering::Relaxed) {
                        continue;
                    }
                    w.serving = true;
                    return Some(Candidate {
                        id: *id,
                        info: w.info.clone(),
                        db: w.db,
                        resp3: w.resp3,
                        no_touch: w.no_touch,
                        args: w.args.clone(),
                    });
                }
            }
        }
        None
    }

    /// Settles a waiter that was being served: `reply` is what its
    /// command wrote, or None if it blocked again.
    fn finish(&self, id: u64, reply: Option<Served>) {
        let mut inner = self.inner.lock();
        let Some(w) = inner.waiters.get_mut(&id) else {
            return;
        };
        w.serving = false;
        let outcome = match (reply, w.cancel) {
            (Some(served), _) => Some(Some(served)),
            (None, Some(why)) => Some(w.cancel_reply(why).map(Served::plain)),
            (None, None) => None,
        };
        if let Some(bytes) = outcome {
            if let Some(mut w) = self.take(&mut inner, id) {
                if let (Some(tx), Some(bytes)) = (w.tx.take(), bytes) {
                    let _ = tx.send(bytes);
                }
            }
        }
    }
}

/// The value type a blocking command waits for.
fn wanted_type(spec: &CommandSpec) -> ValueType {
    if spec.acl & acl::SORTEDSET != 0 {
        ValueType::ZSet
    } else {
        ValueType::List
    }
}

/// Called by dispatch after a handler asked to block: registers the
/// waiter while the command's shard locks are still held, so a writer
/// that takes them next is sure to see it.
pub(crate) fn register(ctx: &mut Ctx<'_>, args: &[&[u8]], spec: &CommandSpec, req: BlockRequest) {
    let ks = &ctx.server.keyspace;
    let w = Waiter {
        client_id: ctx.client.id,
        info: ctx.client.info.clone(),
        db: ctx.client.db,
        resp3: ctx.out.is_resp3(),
        no_touch: ctx.client.no_touch,
        args: args.iter().map(|a| Box::<[u8]>::from(*a)).collect(),
        keys: req.keys.into_iter().map(|k| (ks.shard_of(&k), k)).collect(),
        wants: wanted_type(spec),
        on_timeout: req.on_timeout,
        deadline: req.deadline,
        tx: None,
        serving: false,
        cancel: None,
    };
    let mut wait = ctx.server.blocking.register(w);
    wait.deadline = req.deadline;
    wait.silent = matches!(ctx.client.reply_mode, ReplyMode::Off | ReplyMode::Skip);
    ctx.client.blocked = Some(wait);
}

/// Called by dispatch after a write command, its locks still held:
/// serves every waiter whose key became ready, in arrival order.
pub(crate) fn serve_ready(ctx: &mut Ctx<'_>) {
    let server = ctx.server;
    let ks = &server.keyspace;
    let now = ctx.now;
    let mut tried: HashSet<u64> = HashSet::new();
    loop {
        let held = ctx.locks.held(ks.shard_count());
        if !server.blocking.any_in(&held) {
            break;
        }
        let cand = {
            let locks = &mut ctx.locks;
            server.blocking.pick_ready(&held, &tried, |shard, db, key| {
                locks
                    .shard(ks, shard)
                    .db(db)
                    .peek(key, now)
                    .map(|e| e.value().value_type())
            })
        };
        let Some(c) = cand else { break };
        let args: Vec<&[u8]> = c.args.iter().map(|a| &**a).collect();
        let Some(cmd) = server.commands.resolve(&args) else {
            server
                .blocking
                .finish(c.id, Some(Served::plain(b"-ERR unknown command\r\n".to_vec())));
            continue;
        };
        let spec = cmd.spec;
        // Every shard the waiter's command names must be held.
        let mut positions = Vec::new();
        spec.key_positions(&args, &mut positions);
        let mut shards: Vec<usize> = positions.iter().map(|&p| ks.shard_of(args[p])).collect();
        if !ctx.locks.try_extend(ks, &shards) {
            shards.extend(ctx.locks.held(ks.shard_count()));
            ctx.locks.release();
            ctx.locks = Locks::acquire(ks, &mut shards);
        }
        // Run it as the waiter: its db, protocol and reply buffer.
        let mut client = Client::new(c.info.clone(), true);
        client.db = c.db;
        client.no_touch = c.no_touch;
        let mut out = Reply::new(if c.resp3 { Resp::V3 } else { Resp::V2 });
        std::mem::swap(ctx.client, &mut client);
        std::mem::swap(ctx.out, &mut out);
        let started = std::time::Instant::now();
        let changes = ctx.changes.get();
        let notify = server.notify.flags();
        let before = if notify != 0 {
            crate::notify::existence(ctx, spec, &args)
        } else {
            Vec::new()
        };
        (spec.handler)(ctx, &args);
        if ctx.client.block_request.is_none() {
            // Its pop (or move) is a write like any other: the AOF, events,
            // invalidations and leases follow.
            crate::dispatch::effects(ctx, spec, &args, changes, 0, &before, notify);
        }
        if spec.has(crate::commands::flags::WRITE) && server.watches.active() {
            crate::commands::multi::touch_for_write(ctx, spec, &args, false);
        }
        std::mem::swap(ctx.client, &mut client);
        std::mem::swap(ctx.out, &mut out);
        if client.block_request.take().is_some() {
            tried.insert(c.id);
            server.blocking.finish(c.id, None);
        } else {
            // Its call was counted when it blocked; errors count now, and
            // the slow log sees it now, with the time serving it took.
            if server.count_errors(&mut out) > 0 {
                cmd.stats.failed_calls.fetch_add(1, Ordering::Relaxed);
            }
            if server.slowlog.wants(spec, started.elapsed().as_micros() as u64) {
                ctx.client.served_slowlog.push(crate::slowlog::Served {
                    spec,
                    args: c.args.clone(),
                    usec: started.elapsed().as_micros() as u64,
                    info: c.info.clone(),
                });
            }
            // Its pop is in the AOF at `client.aof_offset`: under `always`
            // the waiter replies once that is on disk.
            let served = Served {
                reply: std::mem::take(&mut out.buf),
                aof_offset: client.aof_offset,
            };
            server.blocking.finish(c.id, Some(served));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn waiter(client_id: u64, keys: &[&[u8]], deadline: Option<u64>) -> Waiter {
        Waiter {
            client_id,
            info: Arc::new(ClientInfo::new(client_id, "a".into(), "l".into(), 0, false, 0)),
            db: 0,
            resp3: false,
            no_touch: false,
            args: vec![Box::from(&b"blpop"[..])],
            keys: keys.iter().map(|k| (7, Box::<[u8]>::from(*k))).collect(),
            wants: ValueType::List,
            on_timeout: TimeoutReply::NullArray,
            deadline,
            tx: None,
            serving: false,
            cancel: None,
        }
    }

    /// Only key `k` holds a list.
    fn list_ready(_: usize, _: usize, key: &[u8]) -> Option<ValueType> {
        (key == b"k").then_some(ValueType::List)
    }

    #[test]
    fn fifo_pick_and_serve() {
        let r = Registry::default();
        let mut a = r.register(waiter(1, &[b"k"], None));
        let mut b = r.register(waiter(2, &[b"k", b"j"], None));
        assert_eq!(r.count(), 2);
        assert!(r.any_in(&[7]));
        assert!(!r.any_in(&[8]));
        assert_eq!(r.stats(), (2, 0));
        let c = r.pick_ready(&[7], &HashSet::new(), list_ready).unwrap();
        assert_eq!(c.id, a.id);
        // Being served: not picked twice.
        let c2 = r.pick_ready(&[7], &HashSet::new(), list_ready).unwrap();
        assert_eq!(c2.id, b.id);
        r.finish(c.id, Some(Served::plain(b"+A\r\n".to_vec())));
        assert_eq!(a.rx.try_recv().unwrap().reply, b"+A\r\n");
        // Blocked again: stays, no reply.
        r.finish(c2.id, None);
        assert!(b.rx.try_recv().is_err());
        assert_eq!(r.count(), 1);
        assert_eq!(r.cancel(b.id, Cancel::Gone), Cancelled::Removed);
        assert_eq!(r.count(), 0);
        assert!(!r.any_in(&[7]), "mark cleared with the last waiter");
        assert_eq!(r.cancel(b.id, Cancel::Gone), Cancelled::NotFound);
    }

    #[test]
    fn cancel_while_serving_settles_at_finish() {
        let r = Registry::default();
        let mut a = r.register(waiter(1, &[b"k"], Some(5)));
        let c = r.pick_ready(&[7], &HashSet::new(), list_ready).unwrap();
        assert_eq!(r.cancel(a.id, Cancel::Timeout), Cancelled::InFlight);
        assert!(r.unblock(1, Cancel::Error), "still blocked while in flight");
        r.finish(c.id, None);
        // The last request (ERROR) wins once the run blocked again.
        assert_eq!(a.rx.try_recv().unwrap().reply, UNBLOCKED_ERROR);
        assert_eq!(r.count(), 0);
        assert!(!r.unblock(1, Cancel::Error));
    }

    #[test]
    fn unblock_and_expire() {
        let r = Registry::default();
        let mut a = r.register(waiter(1, &[b"k"], None));
        let mut b = r.register(waiter(2, &[b"k"], Some(100)));
        assert_eq!(r.stats(), (1, 1));
        r.expire(99);
        assert_eq!(r.count(), 2);
        r.expire(100);
        assert_eq!(b.rx.try_recv().unwrap().reply, b"*-1\r\n");
        assert!(r.unblock(1, Cancel::Timeout));
        assert_eq!(a.rx.try_recv().unwrap().reply, b"*-1\r\n");
        assert_eq!(r.count(), 0);
        assert_eq!(r.stats(), (0, 0));
    }

    #[test]
    fn timeouts_parse_as_redis() {
        assert_eq!(parse_timeout(b"0", 1000), Ok(None));
        assert_eq!(parse_timeout(b"1.5", 1000), Ok(Some(2500)));
        assert_eq!(parse_timeout(b"0.0001", 1000), Ok(Some(1001)));
        assert_eq!(parse_timeout(b"-1", 0), Err("timeout is negative"));
        assert_eq!(parse_timeout(b"x", 0), Err("timeout is not a float or out of range"));
        assert_eq!(parse_timeout(b"inf", 0), Err("timeout is out of range"));
        assert_eq!(parse_timeout(b"-inf", 0), Err("timeout is negative"));
    }
}
