//! Pub/Sub: the server-wide subscription registry, message delivery and
//! the per-client outgoing queue.
//!
//! The registry maps each channel (global or shard) and each pattern to
//! its subscribers' shared [`ClientInfo`]. [`publish`] may be called from
//! any thread (a command handler, later keyspace events from the engine
//! side): it never blocks on a connection. It encodes the message once
//! per protocol and appends it to each subscriber's [`Outbox`], a byte
//! queue the connection task drains and writes (it selects on the queue
//! next to the socket). The queue is bounded by
//! `client-output-buffer-limit pubsub`: a push that would take the
//! client's pending output past the hard limit, or that finds it over the
//! soft limit for longer than the soft seconds, closes the client instead
//! (Redis's "scheduled to be closed ASAP for overcoming of output buffer
//! limits"), so a subscriber that never reads costs at most the limit.
//!
//! Lock order: registry maps, then an outbox. Nothing is taken while an
//! outbox is held.

use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use hashbrown::HashMap;
use parking_lot::{Mutex, RwLock};
use tokio::sync::Notify;

use larder_protocol::Reply;

use crate::client::{Client, ClientInfo};
use crate::server::Server;

type Subscribers = HashMap<u64, Arc<ClientInfo>>;

/// The three kinds of subscription.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Channel,
    Pattern,
    Shard,
}

impl Kind {
    fn subscribe_word(self) -> &'static [u8] {
        match self {
            Kind::Channel => b"subscribe",
            Kind::Pattern => b"psubscribe",
            Kind::Shard => b"ssubscribe",
        }
    }

    fn unsubscribe_word(self) -> &'static [u8] {
        match self {
            Kind::Channel => b"unsubscribe",
            Kind::Pattern => b"punsubscribe",
            Kind::Shard => b"sunsubscribe",
        }
    }
}

/// The server-wide registry (`Server::pubsub`).
#[derive(Debug, Default)]
pub struct PubSub {
    channels: RwLock<HashMap<Vec<u8>, Subscribers>>,
    patterns: RwLock<HashMap<Vec<u8>, Subscribers>>,
    shard: RwLock<HashMap<Vec<u8>, Subscribers>>,
}

impl PubSub {
    fn map(&self, kind: Kind) -> &RwLock<HashMap<Vec<u8>, Subscribers>> {
        match kind {
            Kind::Channel => &self.channels,
            Kind::Pattern => &self.patterns,
            Kind::Shard => &self.shard,
        }
    }

    /// Channels with at least one subscriber (INFO `pubsub_channels`).
    pub fn channel_count(&self) -> usize {
        self.channels.read().len()
    }

    /// Distinct patterns subscribed (INFO `pubsub_patterns`, NUMPAT).
    pub fn pattern_count(&self) -> usize {
        self.patterns.read().len()
    }

    /// Shard channels with at least one subscriber.
    pub fn shard_channel_count(&self) -> usize {
        self.shard.read().len()
    }

    /// Active channels (global or shard) matching `pattern` (all if None).
    pub fn channel_names(&self, shard: bool, pattern: Option<&[u8]>) -> Vec<Vec<u8>> {
        let map = if shard { &self.shard } else { &self.channels };
        map.read()
            .keys()
            .filter(|c| pattern.is_none_or(|p| crate::glob::glob_match(p, c, false)))
            .cloned()
            .collect()
    }

    /// Subscribers of one channel (NUMSUB / SHARDNUMSUB).
    pub fn subscriber_count(&self, shard: bool, channel: &[u8]) -> usize {
        let map = if shard { &self.shard } else { &self.channels };
        map.read().get(channel).map_or(0, |s| s.len())
    }
}

/// A connection's own record of its subscriptions (in [`Client`]).
#[derive(Debug, Default)]
pub struct Subscriptions {
    channels: HashSet<Vec<u8>>,
    patterns: HashSet<Vec<u8>>,
    shard: HashSet<Vec<u8>>,
}

impl Subscriptions {
    fn set(&mut self, kind: Kind) -> &mut HashSet<Vec<u8>> {
        match kind {
            Kind::Channel => &mut self.channels,
            Kind::Pattern => &mut self.patterns,
            Kind::Shard => &mut self.shard,
        }
    }

    /// Whether there is any subscription of any kind.
    pub fn any(&self) -> bool {
        !(self.channels.is_empty() && self.patterns.is_empty() && self.shard.is_empty())
    }

    /// The count a (un)subscribe confirmation shows: channels + patterns,
    /// or shard channels alone (Redis's subscriptionCount per type).
    fn count(&self, kind: Kind) -> usize {
        match kind {
            Kind::Channel | Kind::Pattern => self.channels.len() + self.patterns.len(),
            Kind::Shard => self.shard.len(),
        }
    }
}

/// `client-output-buffer-limit pubsub`: hard bytes, soft bytes, soft
/// seconds (0 disables a limit).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct OutputLimits {
    pub hard: u64,
    pub soft: u64,
    pub soft_secs: u64,
}

impl OutputLimits {
    /// The pubsub class of the configured limits.
    pub fn pubsub(server: &Server) -> OutputLimits {
        // Unset, the directive has Redis's default (the fallback below).
        let config = server.config.read();
        let text = config
            .extras
            .get("client-output-buffer-limit")
            .map_or("", |s| s.as_str());
        parse_limits(text, "pubsub").unwrap_or(OutputLimits {
            hard: 32 << 20,
            soft: 8 << 20,
            soft_secs: 60,
        })
    }
}

/// The `class hard soft secs` group of a client-output-buffer-limit value.
fn parse_limits(text: &str, class: &str) -> Option<OutputLimits> {
    let words: Vec<&str> = text.split_whitespace().collect();
    words.chunks(4).find_map(|c| match c {
        [n, h, s, t] if *n == class => Some(OutputLimits {
            hard: h.parse().ok()?,
            soft: s.parse().ok()?,
            soft_secs: t.parse().ok()?,
        }),
        _ => None,
    })
}

/// A client's queue of pushed messages, drained by its connection task.
#[derive(Debug, Default)]
pub struct Outbox {
    state: Mutex<OutboxState>,
    /// Bytes queued (readable without the lock).
    queued: AtomicUsize,
    /// Woken when bytes are queued.
    pub notify: Notify,
}

#[derive(Debug, Default)]
struct OutboxState {
    buf: Vec<u8>,
    /// When the pending output first exceeded the soft limit (ms), or 0.
    soft_since_ms: u64,
}

impl Outbox {
    /// Bytes waiting in the queue.
    pub fn queued(&self) -> usize {
        self.queued.load(Ordering::Relaxed)
    }

    /// Moves the queued bytes to the end of `out`.
    pub fn drain_into(&self, out: &mut Reply) {
        if self.queued() == 0 {
            return;
        }
        let mut st = self.state.lock();
        out.raw(&st.buf);
        st.buf.clear();
        // Idle subscribers keep no big buffer around.
        if st.buf.capacity() > 4096 {
            st.buf = Vec::new();
        }
        self.queued.store(0, Ordering::Relaxed);
    }

    /// Queues the client's own push replies (subscription confirmations
    /// under CLIENT REPLY OFF/SKIP, which Redis 7.2 still sends); the
    /// connection drains them after the command.
    pub fn push_own(&self, bytes: &[u8]) {
        let mut st = self.state.lock();
        st.buf.extend_from_slice(bytes);
        self.queued.store(st.buf.len(), Ordering::Relaxed);
    }

    /// Queues a message another client's command produced for this one
    /// (tracking invalidations) and wakes its connection; not bounded by
    /// the pubsub class limits (a normal client's class has none).
    pub fn push_notify(&self, bytes: &[u8]) {
        self.push_own(bytes);
        self.notify.notify_one();
    }

    /// Queues `bytes` for `info`'s connection, or closes the client if
    /// that would overcome the output buffer limits. False if the client
    /// is (now) closing.
    fn push(&self, info: &ClientInfo, bytes: &[u8], limits: OutputLimits, now_ms: u64) -> bool {
        if info.killed.load(Ordering::Relaxed) {
            return false;
        }
        let mut st = self.state.lock();
        // Pending output: what is queued plus what the connection is
        // writing right now.
        let pending = (st.buf.len() + info.obuf.load(Ordering::Relaxed) + bytes.len()) as u64;
        let mut over = limits.hard > 0 && pending >= limits.hard;
        if limits.soft > 0 && pending >= limits.soft {
            if st.soft_since_ms == 0 {
                st.soft_since_ms = now_ms.max(1);
            } else if now_ms.saturating_sub(st.soft_since_ms) > limits.soft_secs.saturating_mul(1000) {
                over = true;
            }
        } else {
            st.soft_since_ms = 0;
        }
        if over {
            st.buf = Vec::new();
            self.queued.store(0, Ordering::Relaxed);
            drop(st);
            tracing::warn!(
                "Client id={} addr={} laddr={} fd={} name={} scheduled to be closed ASAP for overcoming of output buffer limits.",
                info.id,
                info.addr,
                info.laddr,
                info.fd,
                info.name.lock().clone().unwrap_or_default()
            );
            info.kill();
            return false;
        }
        st.buf.extend_from_slice(bytes);
        self.queued.store(st.buf.len(), Ordering::Relaxed);
        drop(st);
        self.notify.notify_one();
        true
    }
}

/// Commands a RESP2 client may run while subscribed (Redis's
/// processCommand check).
pub fn allowed_in_subscribed_mode(name: &str) -> bool {
    matches!(
        name,
        "ping"
            | "subscribe"
            | "ssubscribe"
            | "unsubscribe"
            | "sunsubscribe"
            | "psubscribe"
            | "punsubscribe"
            | "quit"
            | "reset"
    )
}

/// One message, encoded lazily for each protocol.
struct Encoded<'a> {
    parts: &'a [&'a [u8]],
    v2: Option<Vec<u8>>,
    v3: Option<Vec<u8>>,
}

impl<'a> Encoded<'a> {
    fn new(parts: &'a [&'a [u8]]) -> Self {
        Encoded {
            parts,
            v2: None,
            v3: None,
        }
    }

    fn get(&mut self, resp3: bool) -> &[u8] {
        let parts = self.parts;
        let slot = if resp3 { &mut self.v3 } else { &mut self.v2 };
        slot.get_or_insert_with(|| {
            let mut r = Reply::new(if resp3 {
                larder_protocol::Resp::V3
            } else {
                larder_protocol::Resp::V2
            });
            r.push(parts.len());
            for p in parts {
                r.bulk(p);
            }
            r.buf
        })
    }
}

fn deliver(info: &ClientInfo, msg: &mut Encoded<'_>, limits: OutputLimits, now_ms: u64) {
    let resp3 = info.resp.load(Ordering::Relaxed) >= 3;
    info.outbox.push(info, msg.get(resp3), limits, now_ms);
}

/// Publishes `message` on `channel` to its subscribers and to the
/// subscribers of matching patterns; returns how many received it (one
/// per channel subscriber plus one per matching (client, pattern)), as
/// PUBLISH replies. Callable from any thread; never blocks on a client.
pub fn publish(server: &Server, channel: &[u8], message: &[u8]) -> usize {
    let ps = &server.pubsub;
    let mut receivers = 0;
    let mut limits = None;
    let now = server.now_ms();
    {
        let map = ps.channels.read();
        if let Some(subs) = map.get(channel) {
            let lim = *limits.get_or_insert_with(|| OutputLimits::pubsub(server));
            let parts: [&[u8]; 3] = [b"message", channel, message];
            let mut msg = Encoded::new(&parts);
            for info in subs.values() {
                deliver(info, &mut msg, lim, now);
                receivers += 1;
            }
        }
    }
    let map = ps.patterns.read();
    for (pattern, subs) in map.iter() {
        if !crate::glob::glob_match(pattern, channel, false) {
            continue;
        }
        let lim = *limits.get_or_insert_with(|| OutputLimits::pubsub(server));
        let parts: [&[u8]; 4] = [b"pmessage", pattern, channel, message];
        let mut msg = Encoded::new(&parts);
        for info in subs.values() {
            deliver(info, &mut msg, lim, now);
            receivers += 1;
        }
    }
    receivers
}

/// SPUBLISH: publishes to a shard channel's subscribers (patterns do not
/// apply); returns how many received it.
pub fn spublish(server: &Server, channel: &[u8], message: &[u8]) -> usize {
    let map = server.pubsub.shard.read();
    let Some(subs) = map.get(channel) else {
        return 0;
    };
    let lim = OutputLimits::pubsub(server);
    let now = server.now_ms();
    let parts: [&[u8]; 3] = [b"smessage", channel, message];
    let mut msg = Encoded::new(&parts);
    for info in subs.values() {
        deliver(info, &mut msg, lim, now);
    }
    subs.len()
}

fn update_counts(client: &Client) {
    let s = &client.subs;
    client.info.sub.store(s.channels.len(), Ordering::Relaxed);
    client.info.psub.store(s.patterns.len(), Ordering::Relaxed);
    client.info.ssub.store(s.shard.len(), Ordering::Relaxed);
}

/// Writes a (un)subscribe confirmation (a push in RESP3).
fn confirm(out: &mut Reply, word: &[u8], name: Option<&[u8]>, count: usize) {
    out.push(3);
    out.bulk(word);
    match name {
        Some(n) => out.bulk(n),
        None => out.null(),
    }
    out.integer(count as i64);
}

/// Subscribes the client to `name`, confirming it in `out`.
pub fn subscribe(server: &Server, client: &mut Client, out: &mut Reply, kind: Kind, name: &[u8]) {
    if client.subs.set(kind).insert(name.to_vec()) {
        server
            .pubsub
            .map(kind)
            .write()
            .entry(name.to_vec())
            .or_default()
            .insert(client.id, client.info.clone());
        update_counts(client);
    }
    confirm(out, kind.subscribe_word(), Some(name), client.subs.count(kind));
}

/// Unsubscribes the client from `name`, confirming it in `out` if given.
pub fn unsubscribe(server: &Server, client: &mut Client, out: Option<&mut Reply>, kind: Kind, name: &[u8]) -> bool {
    let removed = client.subs.set(kind).remove(name);
    if removed {
        let mut map = server.pubsub.map(kind).write();
        if let Some(subs) = map.get_mut(name) {
            subs.remove(&client.id);
            if subs.is_empty() {
                map.remove(name);
            }
        }
        drop(map);
        update_counts(client);
    }
    if let Some(out) = out {
        confirm(out, kind.unsubscribe_word(), Some(name), client.subs.count(kind));
    }
    removed
}

/// Unsubscribes from every subscription of `kind`, confirming each in
/// `out` if given (one confirmation with a null name if there was none).
pub fn unsubscribe_all(server: &Server, client: &mut Client, mut out: Option<&mut Reply>, kind: Kind) {
    let names: Vec<Vec<u8>> = client.subs.set(kind).iter().cloned().collect();
    for name in &names {
        unsubscribe(server, client, out.as_deref_mut(), kind, name);
    }
    if names.is_empty() {
        if let Some(out) = out {
            confirm(out, kind.unsubscribe_word(), None, client.subs.count(kind));
        }
    }
}

/// Drops every subscription without replies (RESET, disconnection).
pub fn forget_client(server: &Server, client: &mut Client) {
    if !client.subs.any() {
        return;
    }
    for kind in [Kind::Channel, Kind::Pattern, Kind::Shard] {
        unsubscribe_all(server, client, None, kind);
    }
}

/// A subscriber, its channels (shard channels too) and its patterns.
pub type UserSubscriptions = (Arc<ClientInfo>, Vec<Vec<u8>>, Vec<Vec<u8>>);

/// The channels (with shard channels) and patterns held by clients
/// logged in as `user`, for ACL SETUSER narrowing a user's channels.
pub fn subscriptions_of_user(server: &crate::server::Server, user: &[u8]) -> Vec<UserSubscriptions> {
    let mut out: Vec<UserSubscriptions> = Vec::new();
    let mut add = |info: &Arc<ClientInfo>, name: &[u8], pattern: bool| {
        if info.user.lock().as_slice() != user {
            return;
        }
        let i = match out.iter().position(|(c, _, _)| c.id == info.id) {
            Some(i) => i,
            None => {
                out.push((info.clone(), Vec::new(), Vec::new()));
                out.len() - 1
            }
        };
        if pattern {
            out[i].2.push(name.to_vec());
        } else {
            out[i].1.push(name.to_vec());
        }
    };
    for (kind, pattern) in [(Kind::Channel, false), (Kind::Shard, false), (Kind::Pattern, true)] {
        for (name, subs) in server.pubsub.map(kind).read().iter() {
            for info in subs.values() {
                add(info, name, pattern);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_pubsub_limits() {
        let l = parse_limits(
            "normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60",
            "pubsub",
        );
        assert_eq!(
            l,
            Some(OutputLimits {
                hard: 33554432,
                soft: 8388608,
                soft_secs: 60
            })
        );
        assert_eq!(parse_limits("normal 0 0 0", "pubsub"), None);
    }

    #[test]
    fn encodes_messages_per_protocol() {
        let parts: [&[u8]; 3] = [b"message", b"ch", b"hi"];
        let mut m = Encoded::new(&parts);
        assert_eq!(m.get(false), b"*3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$2\r\nhi\r\n");
        assert_eq!(m.get(true), b">3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$2\r\nhi\r\n");
    }

    #[test]
    fn outbox_enforces_hard_limit() {
        let info = ClientInfo::new(1, "127.0.0.1:1".into(), "127.0.0.1:2".into(), 5, false, 0);
        let lim = OutputLimits {
            hard: 100,
            soft: 0,
            soft_secs: 0,
        };
        assert!(info.outbox.push(&info, &[0; 60], lim, 1));
        assert_eq!(info.outbox.queued(), 60);
        assert!(!info.outbox.push(&info, &[0; 60], lim, 1));
        assert!(info.killed.load(Ordering::Relaxed));
        assert_eq!(info.outbox.queued(), 0);
    }

    #[test]
    fn outbox_enforces_soft_limit_after_seconds() {
        let info = ClientInfo::new(1, "a".into(), "b".into(), 5, false, 0);
        let lim = OutputLimits {
            hard: 0,
            soft: 10,
            soft_secs: 1,
        };
        assert!(info.outbox.push(&info, &[0; 20], lim, 1000));
        assert!(info.outbox.push(&info, &[0; 20], lim, 1900));
        assert!(info.outbox.push(&info, &[0; 20], lim, 2000));
        assert!(!info.outbox.push(&info, &[0; 20], lim, 2001));
    }
}
