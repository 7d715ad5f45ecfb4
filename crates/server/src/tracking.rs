//! Client-side caching (Redis's tracking.c): CLIENT TRACKING and the
//! invalidation messages.
//!
//! A tracking client's reads remember (key -> client ids) in one table;
//! a write, an expiry or an eviction of a key sends every client in its
//! entry an invalidation and drops the entry. BCAST clients register key
//! prefixes instead and hear about every key under them. FLUSHDB and
//! FLUSHALL invalidate everything (a null). Messages are RESP3 pushes
//! (`>2 invalidate [keys]`), or, for a client redirecting to a RESP2
//! connection subscribed to `__redis__:invalidate`, pub/sub messages on
//! that channel; they go through the target's pub/sub outbox, so the
//! writer never waits and a client's own invalidations follow its reply.
//!
//! Dispatch calls [`after_command`] with the command's locks held (so an
//! invalidation for a key is sent before anyone else can write it).

use std::collections::{BTreeSet, HashSet};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;

use hashbrown::HashMap;
use parking_lot::Mutex;

use crate::client::ClientInfo;
use crate::commands::{flags, CommandSpec};
use crate::dispatch::Ctx;
use crate::propagate::Removed;
use crate::server::Server;

/// One client's tracking settings (`ClientInfo::tracking`).
#[derive(Debug, Default, Clone)]
pub struct TrackState {
    pub on: bool,
    pub bcast: bool,
    pub optin: bool,
    pub optout: bool,
    pub noloop: bool,
    /// CLIENT CACHING given for the next command.
    pub caching: bool,
    pub broken_redirect: bool,
    /// 0: none.
    pub redirect: u64,
    pub prefixes: BTreeSet<Vec<u8>>,
}

/// The server's tracking tables (`Server::tracking`).
#[derive(Debug, Default)]
pub struct Tracking {
    /// Clients with tracking on.
    clients: AtomicUsize,
    /// Whether any client ever turned tracking on (expiry and eviction
    /// then log the keys they remove, for the invalidations).
    ever: AtomicBool,
    table: Mutex<HashMap<Vec<u8>, HashSet<u64>>>,
    items: AtomicU64,
    prefixes: Mutex<HashMap<Vec<u8>, HashSet<u64>>>,
}

impl Tracking {
    #[inline]
    pub fn active(&self) -> bool {
        self.clients.load(Ordering::Relaxed) > 0
    }

    pub fn ever(&self) -> bool {
        self.ever.load(Ordering::Relaxed)
    }

    pub fn clients(&self) -> usize {
        self.clients.load(Ordering::Relaxed)
    }

    pub fn total_keys(&self) -> usize {
        self.table.lock().len()
    }

    pub fn total_items(&self) -> u64 {
        self.items.load(Ordering::Relaxed)
    }

    pub fn total_prefixes(&self) -> usize {
        self.prefixes.lock().len()
    }
}

/// CLIENT TRACKING ON with validated options.
pub fn enable(server: &Server, info: &ClientInfo, new: TrackState) {
    let mut st = info.tracking.lock();
    if !st.on {
        server.tracking.clients.fetch_add(1, Ordering::Relaxed);
        info.tracking_on.store(true, Ordering::Relaxed);
    }
    if !server.tracking.ever.swap(true, Ordering::Relaxed) {
        crate::appendonly::sync_removal_logging(server, true);
    }
    let mut prefixes = std::mem::take(&mut st.prefixes);
    *st = TrackState {
        on: true,
        prefixes: BTreeSet::new(),
        ..new.clone()
    };
    if new.bcast {
        let mut table = server.tracking.prefixes.lock();
        let wanted: Vec<Vec<u8>> = if new.prefixes.is_empty() {
            vec![Vec::new()]
        } else {
            new.prefixes.into_iter().collect()
        };
        for p in wanted {
            table.entry(p.clone()).or_default().insert(info.id);
            prefixes.insert(p);
        }
        st.prefixes = prefixes;
    }
}

/// CLIENT TRACKING OFF, RESET, disconnection.
pub fn disable(server: &Server, info: &ClientInfo) {
    let mut st = info.tracking.lock();
    if !st.on {
        return;
    }
    if st.bcast {
        let mut table = server.tracking.prefixes.lock();
        for p in &st.prefixes {
            if let Some(ids) = table.get_mut(p) {
                ids.remove(&info.id);
                if ids.is_empty() {
                    table.remove(p);
                }
            }
        }
    }
    *st = TrackState::default();
    info.tracking_on.store(false, Ordering::Relaxed);
    server.tracking.clients.fetch_sub(1, Ordering::Relaxed);
}

/// Prefix collisions (checkPrefixCollisionsOrReply): the error text.
pub fn prefix_collision(existing: &BTreeSet<Vec<u8>>, new: &[Vec<u8>]) -> Option<String> {
    let overlap = |a: &[u8], b: &[u8]| {
        let n = a.len().min(b.len());
        a[..n] == b[..n]
    };
    let s = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    for (i, p) in new.iter().enumerate() {
        if let Some(e) = existing.iter().find(|e| overlap(e, p)) {
            return Some(format!(
                "Prefix '{}' overlaps with an existing prefix '{}'. Prefixes for a single client must not overlap.",
                s(p),
                s(e)
            ));
        }
        if let Some(q) = new[i + 1..].iter().find(|q| overlap(p, q)) {
            return Some(format!(
                "Prefix '{}' overlaps with another provided prefix '{}'. Prefixes for a single client must not overlap.",
                s(p),
                s(q)
            ));
        }
    }
    None
}

fn client_by_id(server: &Server, id: u64) -> Option<Arc<ClientInfo>> {
    server.clients.lock().get(&id).cloned()
}

/// The keys part of an invalidation: `*1 $n key`, or a null (flush) in
/// the tracking client's protocol.
enum Keys<'a> {
    One(&'a [u8]),
    All,
}

/// sendTrackingMessage.
fn send(server: &Server, target: &ClientInfo, keys: &Keys<'_>) {
    let (redirect, target_resp3) = {
        let st = target.tracking.lock();
        (st.redirect, target.resp.load(Ordering::Relaxed) >= 3)
    };
    let dest: Arc<ClientInfo>;
    let dest_ref: &ClientInfo = if redirect != 0 {
        match client_by_id(server, redirect) {
            Some(d) => {
                dest = d;
                &dest
            }
            None => {
                target.tracking.lock().broken_redirect = true;
                if target_resp3 {
                    let msg = format!(">2\r\n$21\r\ntracking-redir-broken\r\n:{redirect}\r\n");
                    target.outbox.push_notify(msg.as_bytes());
                }
                return;
            }
        }
    } else {
        target
    };
    let mut msg = Vec::with_capacity(64);
    if dest_ref.resp.load(Ordering::Relaxed) >= 3 {
        msg.extend_from_slice(b">2\r\n$10\r\ninvalidate\r\n");
    } else if redirect != 0 && dest_ref.is_pubsub() {
        msg.extend_from_slice(b"*3\r\n$7\r\nmessage\r\n$20\r\n__redis__:invalidate\r\n");
    } else {
        return;
    }
    match keys {
        Keys::One(k) => {
            msg.extend_from_slice(format!("*1\r\n${}\r\n", k.len()).as_bytes());
            msg.extend_from_slice(k);
            msg.extend_from_slice(b"\r\n");
        }
        Keys::All => msg.extend_from_slice(if target_resp3 { b"_\r\n" } else { b"$-1\r\n" }),
    }
    dest_ref.outbox.push_notify(&msg);
}

/// trackingInvalidateKey: `current` is the client whose command changed
/// the key (for NOLOOP), None for expiry and eviction.
pub fn invalidate(server: &Server, key: &[u8], current: Option<u64>) {
    let t = &server.tracking;
    // BCAST clients under a matching prefix.
    let bcast: Vec<u64> = {
        let p = t.prefixes.lock();
        if p.is_empty() {
            Vec::new()
        } else {
            p.iter()
                .filter(|(pre, _)| key.starts_with(pre))
                .flat_map(|(_, ids)| ids.iter().copied())
                .collect()
        }
    };
    let ids = {
        let mut table = t.table.lock();
        match table.remove(key) {
            Some(ids) => {
                t.items.fetch_sub(ids.len() as u64, Ordering::Relaxed);
                ids
            }
            None => HashSet::new(),
        }
    };
    for (id, want_bcast) in ids
        .into_iter()
        .map(|i| (i, false))
        .chain(bcast.into_iter().map(|i| (i, true)))
    {
        let Some(info) = client_by_id(server, id) else {
            continue;
        };
        let skip = {
            let st = info.tracking.lock();
            !st.on || st.bcast != want_bcast || (st.noloop && Some(id) == current)
        };
        if !skip {
            send(server, &info, &Keys::One(key));
        }
    }
}

/// A flush: every tracking client hears that all keys are invalid, and
/// the table is emptied.
pub fn invalidate_all(server: &Server) {
    let t = &server.tracking;
    t.table.lock().clear();
    t.items.store(0, Ordering::Relaxed);
    let clients: Vec<Arc<ClientInfo>> = server
        .clients
        .lock()
        .values()
        .filter(|c| c.tracking_on.load(Ordering::Relaxed))
        .cloned()
        .collect();
    for c in clients {
        send(server, &c, &Keys::All);
    }
}

/// Keeps the table within `tracking-table-max-keys` by invalidating
/// keys (trackingLimitUsedSlots).
fn limit(server: &Server) {
    let max = server
        .config
        .read()
        .extras
        .get("tracking-table-max-keys")
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(1_000_000);
    if max == 0 {
        return;
    }
    for _ in 0..100 {
        let victim = {
            let table = server.tracking.table.lock();
            if table.len() <= max {
                return;
            }
            table.keys().next().cloned()
        };
        match victim {
            Some(k) => invalidate(server, &k, None),
            None => return,
        }
    }
}

/// After a command (tracking clients exist): remember what a tracking
/// client read, invalidate what was written, expired or evicted.
pub(crate) fn after_command(ctx: &mut Ctx<'_>, spec: &CommandSpec, args: &[&[u8]], changed: bool, removed: &[Removed]) {
    let server = ctx.server;
    for r in removed {
        invalidate(server, &r.key, None);
    }
    if changed && matches!(spec.name, "flushdb" | "flushall") {
        invalidate_all(server);
        return;
    }
    let me = ctx.client.info.clone();
    if spec.has(flags::READONLY) && me.tracking_on.load(Ordering::Relaxed) && !spec.has(flags::PUBSUB) {
        let remember = {
            let st = me.tracking.lock();
            let skip = st.bcast || (st.optin && !st.caching) || (st.optout && st.caching);
            !skip
        };
        if remember {
            let mut positions = Vec::new();
            spec.key_positions(args, &mut positions);
            if !positions.is_empty() {
                let mut table = server.tracking.table.lock();
                for p in positions {
                    if table.entry(args[p].to_vec()).or_default().insert(me.id) {
                        server.tracking.items.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
            limit(server);
        }
    }
    if changed && spec.has(flags::WRITE) {
        let mut positions = Vec::new();
        spec.key_positions(args, &mut positions);
        for p in positions {
            invalidate(server, args[p], Some(me.id));
        }
    }
    // CLIENT CACHING applies to the next command only (outside MULTI;
    // CLIENT subcommands keep it, as Redis's resetClient).
    if me.tracking_on.load(Ordering::Relaxed) && !spec.name.starts_with("client|") && !ctx.client.tx.in_multi() {
        me.tracking.lock().caching = false;
    }
}
