//! Stampede protection for cache-aside: leases, as in "Scaling Memcache
//! at Facebook" (NSDI '13), under a `LEASE.` namespace.
//!
//! - `LEASE.GET key lease-ms` answers `[status, value, token-or-wait]`:
//!   - `HIT value nil`: the key holds a string;
//!   - `MISS nil token`: the caller won the lease: it should compute the
//!     value and store it with `LEASE.SET` within `lease-ms`;
//!   - `WAIT nil ms`: another client holds the lease: retry in about `ms`
//!     (the holder's value will be there, or its lease will have run out
//!     and a new one goes out).
//! - `LEASE.SET key token value [EX s | PX ms]` stores the value only if
//!   `token` is still the key's lease: `OK`, or nil for a stale writer.
//!   Any other write to the key (SET, DEL, EXPIRE, a flush...) between
//!   the lease and the set cancels the lease, so a writer that computed
//!   from data older than that invalidation cannot put it back.
//!
//! So N clients missing the same hot key at once cause one origin call.
//! Leases are server memory only (not in the keyspace, the AOF or RDB):
//! after a restart every key simply misses once more.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use hashbrown::HashMap;
use parking_lot::Mutex;

use larder_engine::Value;

use super::{acl, flags::*, CommandSpec, KeySpec};
use crate::dispatch::Ctx;
use crate::util::{is, parse_i64, ERR_NOT_INT, ERR_SYNTAX, ERR_WRONGTYPE};

const KEY_RW: &[KeySpec] = &[KeySpec::single(1, &["RW", "ACCESS", "UPDATE"])];

pub static COMMANDS: &[CommandSpec] = &[
    CommandSpec::new("lease.get", 3, WRITE | FAST, acl::WRITE | acl::FAST, lease_get)
        .keys(KEY_RW)
        .doc(
            "generic",
            "1.0.0",
            "Cache-aside read with stampede protection: the value, or a lease to compute it, or how long to wait.",
            "O(1)",
        ),
    CommandSpec::new("lease.set", -4, WRITE | DENYOOM, acl::WRITE | acl::SLOW, lease_set)
        .keys(KEY_RW)
        .doc(
            "generic",
            "1.0.0",
            "Stores a value computed under a lease, unless the lease was invalidated or taken over.",
            "O(1)",
        ),
];

/// The outstanding leases (`Server::leases`).
#[derive(Debug, Default)]
pub struct Leases {
    map: Mutex<HashMap<(usize, Vec<u8>), Lease>>,
    count: AtomicUsize,
    next: AtomicU64,
}

#[derive(Debug, Clone, Copy)]
struct Lease {
    token: u64,
    until_ms: u64,
}

impl Leases {
    #[inline]
    pub fn any(&self) -> bool {
        self.count.load(Ordering::Relaxed) > 0
    }

    /// A write to `key` in `db` cancels its lease.
    pub fn invalidate(&self, db: usize, key: &[u8]) {
        let mut m = self.map.lock();
        if m.remove(&(db, key.to_vec())).is_some() {
            self.count.store(m.len(), Ordering::Relaxed);
        }
    }

    /// FLUSHDB / FLUSHALL / SWAPDB: every lease goes.
    pub fn clear(&self) {
        self.map.lock().clear();
        self.count.store(0, Ordering::Relaxed);
    }
}

/// After a write command (leases exist): the keys it wrote lose their
/// leases; LEASE.SET's own key is handled by the command.
pub(crate) fn after_write(ctx: &mut Ctx<'_>, spec: &CommandSpec, args: &[&[u8]]) {
    if spec.name == "lease.set" || spec.name == "lease.get" {
        return;
    }
    if matches!(spec.name, "flushdb" | "flushall" | "swapdb") {
        ctx.server.leases.clear();
        return;
    }
    let mut positions = Vec::new();
    spec.key_positions(args, &mut positions);
    for p in positions {
        ctx.server.leases.invalidate(ctx.client.db, args[p]);
    }
}

fn lease_get(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    let key = args[1];
    let lease_ms = match parse_i64(args[2]) {
        Some(n) if n > 0 => n as u64,
        _ => return ctx.out.error(ERR_NOT_INT),
    };
    let now = ctx.now;
    let dbi = ctx.client.db;
    let db = ctx.db(key);
    if let Some(e) = db.lookup_read(key, now, true) {
        let mut scratch = larder_engine::value::itoa_buf::Buf::default();
        let Some(v) = e.value().as_bytes(&mut scratch) else {
            return ctx.out.error(ERR_WRONGTYPE);
        };
        let v = v.to_vec();
        ctx.out.array(3);
        ctx.out.simple("HIT");
        ctx.out.bulk(&v);
        ctx.out.null();
        return;
    }
    let leases = &ctx.server.leases;
    let mut m = leases.map.lock();
    let k = (dbi, key.to_vec());
    if let Some(l) = m.get(&k) {
        if l.until_ms > now {
            let wait = (l.until_ms - now).min(50);
            drop(m);
            ctx.out.array(3);
            ctx.out.simple("WAIT");
            ctx.out.null();
            ctx.out.integer(wait as i64);
            return;
        }
    }
    let token = leases.next.fetch_add(1, Ordering::Relaxed) + 1 + (u64::from(rand::random::<u32>()) << 32);
    m.insert(
        k,
        Lease {
            token,
            until_ms: now + lease_ms,
        },
    );
    leases.count.store(m.len(), Ordering::Relaxed);
    drop(m);
    ctx.out.array(3);
    ctx.out.simple("MISS");
    ctx.out.null();
    ctx.out.integer(token as i64);
}

fn lease_set(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    let key = args[1];
    let Some(token) = parse_i64(args[2]) else {
        return ctx.out.error(ERR_NOT_INT);
    };
    let value = args[3];
    let now = ctx.now;
    let ttl_ms: Option<u64> = match &args[4..] {
        [] => None,
        [unit, n] if is(unit, "ex") || is(unit, "px") => match parse_i64(n) {
            Some(t) if t > 0 => Some(if is(unit, "ex") { t as u64 * 1000 } else { t as u64 }),
            _ => return ctx.out.error("invalid expire time in 'lease.set' command"),
        },
        _ => return ctx.out.error(ERR_SYNTAX),
    };
    let dbi = ctx.client.db;
    {
        let leases = &ctx.server.leases;
        let mut m = leases.map.lock();
        let k = (dbi, key.to_vec());
        match m.get(&k) {
            Some(l) if l.token == token as u64 && l.until_ms > now => {
                m.remove(&k);
                leases.count.store(m.len(), Ordering::Relaxed);
            }
            _ => {
                drop(m);
                return ctx.out.null();
            }
        }
    }
    let at = ttl_ms.map(|t| now + t);
    ctx.db(key).set(key, Value::from_bytes(value), at, false, now);
    ctx.dirty(1);
    let mut logged = vec![b"SET".to_vec(), key.to_vec(), value.to_vec()];
    if let Some(at) = at {
        logged.push(b"PXAT".to_vec());
        logged.push(at.to_string().into_bytes());
    }
    ctx.client.propagate_as = Some(vec![logged]);
    ctx.out.ok();
}
