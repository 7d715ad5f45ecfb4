//! Eviction: the maxmemory policies, the per-key access data they keep,
//! and choosing victims by sampling.
//!
//! Each key's block has one 32-bit `access` word and three policy bits
//! (`entry.rs`). What they hold depends on the tracking [`Mode`], which
//! follows the policy as in Redis (switching policy at runtime leaves old
//! keys' words to be reinterpreted; Redis warns about the same):
//!
//! - `Lru` (every policy but the LFU and S3-FIFO ones): the time of the
//!   last access in milliseconds, modulo 2^32 (wraps after 49.7 days;
//!   Redis keeps seconds in 24 bits). OBJECT IDLETIME reads it.
//! - `Lfu`: Redis's layout, `minutes << 8 | log counter` (16-bit decay
//!   time in minutes, 8-bit logarithmic counter with `lfu-log-factor`
//!   and `lfu-decay-time`). OBJECT FREQ reads it.
//! - `Fifo` (`*-s3fifo`): a logical time (the keyspace's insertion
//!   counter) when the key entered its queue, refreshed by hits while it
//!   is in the main queue; in the policy bits a 2-bit access counter and
//!   a "main queue" flag. S3-FIFO (Yang et al., SOSP'23) with its queues
//!   replaced by sampling, as chosen in `docs/eviction.md`.
//!
//! The keyspace is a set of hash tables with no per-key list, so victims
//! are found as Redis finds them: sample a few keys (`maxmemory-samples`)
//! from shards in a random rotation, keep the best in a small pool across rounds, and
//! evict the best. The engine only chooses and removes; the server
//! decides when (memory over `maxmemory`) and measures what was freed.

use std::sync::atomic::{AtomicIsize, AtomicU32, AtomicU8, Ordering};

use rand::Rng;

use crate::db::{Db, Entry};

/// The `maxmemory-policy` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Policy {
    NoEviction,
    AllKeysLru,
    AllKeysLfu,
    AllKeysRandom,
    AllKeysS3Fifo,
    VolatileLru,
    VolatileLfu,
    VolatileRandom,
    VolatileTtl,
    VolatileS3Fifo,
}

/// Every policy by its config name (Redis's eight, then Larder's).
pub const POLICIES: &[(&str, Policy)] = &[
    ("volatile-lru", Policy::VolatileLru),
    ("volatile-lfu", Policy::VolatileLfu),
    ("volatile-random", Policy::VolatileRandom),
    ("volatile-ttl", Policy::VolatileTtl),
    ("allkeys-lru", Policy::AllKeysLru),
    ("allkeys-lfu", Policy::AllKeysLfu),
    ("allkeys-random", Policy::AllKeysRandom),
    ("noeviction", Policy::NoEviction),
    ("allkeys-s3fifo", Policy::AllKeysS3Fifo),
    ("volatile-s3fifo", Policy::VolatileS3Fifo),
];

impl Policy {
    pub fn from_name(name: &str) -> Option<Policy> {
        POLICIES
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|&(_, p)| p)
    }

    pub fn name(self) -> &'static str {
        POLICIES
            .iter()
            .find(|(_, p)| *p == self)
            .map_or("noeviction", |(n, _)| n)
    }

    /// Whether only keys with a TTL may be evicted.
    pub fn volatile_only(self) -> bool {
        matches!(
            self,
            Policy::VolatileLru
                | Policy::VolatileLfu
                | Policy::VolatileRandom
                | Policy::VolatileTtl
                | Policy::VolatileS3Fifo
        )
    }

    /// Redis's MAXMEMORY_FLAG_NO_SHARED_INTEGERS: the LRU and LFU
    /// policies need access data per object, so small integers are not
    /// shared objects under them (OBJECT REFCOUNT).
    pub fn no_shared_integers(self) -> bool {
        matches!(
            self,
            Policy::AllKeysLru | Policy::VolatileLru | Policy::AllKeysLfu | Policy::VolatileLfu
        )
    }

    /// What the keys' access words hold under this policy.
    pub fn mode(self) -> Mode {
        match self {
            Policy::AllKeysLfu | Policy::VolatileLfu => Mode::Lfu,
            Policy::AllKeysS3Fifo | Policy::VolatileS3Fifo => Mode::Fifo,
            _ => Mode::Lru,
        }
    }
}

/// What the per-key access word holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Mode {
    Lru = 0,
    Lfu = 1,
    Fifo = 2,
}

/// Redis's LFU_INIT_VAL: the counter a new key starts with.
pub const LFU_INIT_VAL: u8 = 5;

/// The LRU clock: milliseconds modulo 2^32.
#[inline]
pub fn lru_clock(now_ms: u64) -> u32 {
    now_ms as u32
}

/// Milliseconds since `access` (an LRU clock value) at `now_ms`.
#[inline]
pub fn lru_idle_ms(access: u32, now_ms: u64) -> u64 {
    u64::from(lru_clock(now_ms).wrapping_sub(access))
}

/// Redis's LFUGetTimeInMinutes: minutes modulo 2^16.
#[inline]
fn lfu_minutes(now_ms: u64) -> u32 {
    ((now_ms / 60_000) & 0xffff) as u32
}

/// Redis's LFUDecrAndReturn: the counter after the decay due since its
/// last decrement time (one per `decay_time` minutes).
pub fn lfu_decayed(access: u32, now_ms: u64, decay_time: u32) -> u8 {
    let ldt = access >> 8;
    let counter = (access & 0xff) as u8;
    if decay_time == 0 {
        return counter;
    }
    let now = lfu_minutes(now_ms);
    let elapsed = if now >= ldt { now - ldt } else { 65535 - ldt + now };
    let periods = elapsed / decay_time;
    if periods >= u32::from(counter) {
        0
    } else {
        counter - periods as u8
    }
}

/// Redis's LFULogIncr: increments with probability 1/((c - 5) * factor + 1).
fn lfu_log_incr(counter: u8, factor: u32, r: f64) -> u8 {
    if counter == 255 {
        return 255;
    }
    let base = f64::from(counter.saturating_sub(LFU_INIT_VAL));
    let p = 1.0 / (base * f64::from(factor) + 1.0);
    if r < p {
        counter + 1
    } else {
        counter
    }
}

pub(crate) fn lfu_word(now_ms: u64, counter: u8) -> u32 {
    lfu_minutes(now_ms) << 8 | u32::from(counter)
}

/// S3-FIFO policy bits: a 2-bit access counter and the main-queue flag.
const FIFO_FREQ: u8 = 0b011;
const FIFO_MAIN: u8 = 0b100;

/// The small queue's share of the keys (the research settled on 12%).
const FIFO_SMALL_TARGET: f64 = 0.12;
/// Keys S3-FIFO samples per round, at least (with Redis's 5 the policy
/// loses its edge; see `docs/eviction.md`).
pub const FIFO_MIN_SAMPLES: usize = 16;

/// Where the S3-FIFO ghost last saw a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum GhostHit {
    None,
    /// Evicted from the small queue.
    Small,
    /// Evicted from the main queue.
    Main,
}

/// The tracking settings every `Db` of a keyspace reads on each access.
#[derive(Debug)]
pub struct Tracking {
    mode: AtomicU8,
    lfu_log_factor: AtomicU32,
    lfu_decay_time: AtomicU32,
    /// S3-FIFO's clock: advances by one per key inserted.
    fifo_clock: AtomicU32,
    /// S3-FIFO: keys, and keys in the small queue, over the keyspace
    /// (kept while the mode is `Fifo`; recounted when it is set).
    fifo_keys: AtomicIsize,
    fifo_small: AtomicIsize,
}

impl Default for Tracking {
    fn default() -> Self {
        Tracking {
            mode: AtomicU8::new(Mode::Lru as u8),
            lfu_log_factor: AtomicU32::new(10),
            lfu_decay_time: AtomicU32::new(1),
            fifo_clock: AtomicU32::new(0),
            fifo_keys: AtomicIsize::new(0),
            fifo_small: AtomicIsize::new(0),
        }
    }
}

/// A cheap random number generator state for LFU's probabilistic
/// increments (xorshift64*), one per `Db`.
#[derive(Debug, Clone)]
pub(crate) struct FastRng(u64);

impl Default for FastRng {
    fn default() -> Self {
        FastRng(rand::random::<u64>() | 1)
    }
}

impl FastRng {
    fn next_f64(&mut self) -> f64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        (x.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64 / (1u64 << 53) as f64
    }
}

impl Tracking {
    pub fn mode(&self) -> Mode {
        match self.mode.load(Ordering::Relaxed) {
            1 => Mode::Lfu,
            2 => Mode::Fifo,
            _ => Mode::Lru,
        }
    }

    pub fn set_mode(&self, mode: Mode) {
        self.mode.store(mode as u8, Ordering::Relaxed);
    }

    pub fn set_lfu_log_factor(&self, v: u32) {
        self.lfu_log_factor.store(v, Ordering::Relaxed);
    }

    pub fn set_lfu_decay_time(&self, v: u32) {
        self.lfu_decay_time.store(v, Ordering::Relaxed);
    }

    pub fn lfu_decay_time(&self) -> u32 {
        self.lfu_decay_time.load(Ordering::Relaxed)
    }

    /// The access word and policy bits of a key created at `now`.
    /// `ghost` says whether S3-FIFO recently evicted it, and from where:
    /// such keys go straight to the main queue, with one access to their
    /// credit (small) or three (main).
    #[inline]
    pub(crate) fn initial(&self, now_ms: u64, ghost: GhostHit) -> (u32, u8) {
        match self.mode() {
            Mode::Lru => (lru_clock(now_ms), 0),
            Mode::Lfu => (lfu_word(now_ms, LFU_INIT_VAL), 0),
            Mode::Fifo => {
                let t = self.fifo_clock.fetch_add(1, Ordering::Relaxed).wrapping_add(1);
                let bits = match ghost {
                    GhostHit::None => 0,
                    GhostHit::Small => FIFO_MAIN | 1,
                    GhostHit::Main => FIFO_MAIN | 3,
                };
                (t, bits)
            }
        }
    }

    /// S3-FIFO's clock now.
    #[inline]
    pub(crate) fn fifo_now(&self) -> u32 {
        self.fifo_clock.load(Ordering::Relaxed)
    }

    #[inline]
    pub(crate) fn fifo_add(&self, keys: isize, small: isize) {
        if keys != 0 {
            self.fifo_keys.fetch_add(keys, Ordering::Relaxed);
        }
        if small != 0 {
            self.fifo_small.fetch_add(small, Ordering::Relaxed);
        }
    }

    /// S3-FIFO's (keys, keys in the small queue) over the keyspace.
    pub fn fifo_counts(&self) -> (usize, usize) {
        let k = self.fifo_keys.load(Ordering::Relaxed).max(0) as usize;
        let s = self.fifo_small.load(Ordering::Relaxed).max(0) as usize;
        (k, s.min(k))
    }

    /// Records an access to `e` (Redis's updateLFU / LRU touch).
    #[inline]
    pub(crate) fn touch(&self, e: &mut Entry, now_ms: u64, rng: &mut FastRng) {
        match self.mode() {
            Mode::Lru => e.set_access(lru_clock(now_ms)),
            Mode::Lfu => {
                let c = lfu_decayed(e.access(), now_ms, self.lfu_decay_time());
                let c = lfu_log_incr(c, self.lfu_log_factor.load(Ordering::Relaxed), rng.next_f64());
                e.set_access(lfu_word(now_ms, c));
            }
            Mode::Fifo => {
                let b = e.policy_bits();
                if b & FIFO_FREQ < FIFO_FREQ {
                    e.set_policy_bits(b + 1);
                }
                if b & FIFO_MAIN != 0 {
                    // The main queue is kept in order of last access.
                    e.set_access(self.fifo_now());
                }
            }
        }
    }

    /// OBJECT FREQ: the decayed LFU counter.
    pub fn lfu_freq(&self, e: &Entry, now_ms: u64) -> u8 {
        lfu_decayed(e.access(), now_ms, self.lfu_decay_time())
    }

    /// How strongly `e` should be evicted under `policy` (higher first):
    /// Redis's eviction-pool "idle" score.
    pub fn score(&self, policy: Policy, e: &Entry, now_ms: u64) -> u64 {
        match policy {
            Policy::VolatileTtl => u64::MAX - e.expire_at().unwrap_or(u64::MAX),
            Policy::AllKeysLfu | Policy::VolatileLfu => 255 - u64::from(self.lfu_freq(e, now_ms)),
            _ => lru_idle_ms(e.access(), now_ms),
        }
    }
}

/// A key the pool would evict.
#[derive(Debug, Clone)]
struct Candidate {
    score: u64,
    shard: usize,
    db: usize,
    key: Box<[u8]>,
}

/// Redis's eviction pool: the best candidates seen over recent sampling
/// rounds, kept sorted by score (best last). S3-FIFO keeps one for each
/// queue, by age.
#[derive(Debug, Default)]
pub struct EvictionPool {
    cands: Vec<Candidate>,
    fifo: [Vec<FifoCandidate>; 2],
}

/// An S3-FIFO candidate: its time, to be aged against the clock when
/// compared.
#[derive(Debug, Clone)]
struct FifoCandidate {
    time: u32,
    shard: usize,
    db: usize,
    key: Box<[u8]>,
}

/// Redis's EVPOOL_SIZE.
const POOL_SIZE: usize = 16;

impl EvictionPool {
    fn insert(&mut self, c: Candidate) {
        if self.cands.len() == POOL_SIZE && self.cands[0].score >= c.score {
            return;
        }
        if let Some(i) = self
            .cands
            .iter()
            .position(|x| x.shard == c.shard && x.db == c.db && x.key == c.key)
        {
            self.cands.remove(i);
        }
        if self.cands.len() == POOL_SIZE {
            self.cands.remove(0);
        }
        let at = self.cands.partition_point(|x| x.score <= c.score);
        self.cands.insert(at, c);
    }

    pub fn len(&self) -> usize {
        self.cands.len()
    }

    pub fn is_empty(&self) -> bool {
        self.cands.is_empty()
    }

    pub fn clear(&mut self) {
        self.cands.clear();
        self.fifo[0].clear();
        self.fifo[1].clear();
    }
}

/// A key removed by eviction. Dropping it frees its memory.
#[derive(Debug)]
pub struct Evicted {
    pub db: usize,
    pub entry: Entry,
}

impl Db {
    /// Calls `f` with up to `n` live keys sampled at random: any key, or
    /// only keys with a TTL when `volatile`.
    pub fn sample(&self, rng: &mut impl Rng, n: usize, volatile: bool, now: u64, mut f: impl FnMut(&Entry)) {
        if volatile {
            let idx = self.expiry_index();
            if idx.is_empty() || self.volatile_len() == 0 {
                return;
            }
            // The index may hold stale records; bound the tries, then (if
            // they found nothing) fall back to the walk below.
            let mut found = 0;
            for _ in 0..n * 4 {
                let Some(hash) = idx.hash_at(rng.gen_range(0..idx.len())) else {
                    continue;
                };
                if let Some(e) = self.find_by_hash(hash) {
                    if e.expire_at().is_some() && e.is_live(now) {
                        f(e);
                        found += 1;
                    }
                }
            }
            if found > 0 {
                return;
            }
        }
        let buckets = self.num_buckets();
        if self.is_empty() || buckets == 0 {
            return;
        }
        // A walk from a random bucket: positions are in hash order, so
        // neighbours are unrelated keys (Redis's dictGetSomeKeys walks
        // the same way).
        let start = rng.gen_range(0..buckets);
        let mut got = 0;
        for i in 0..buckets {
            if let Some(e) = self.bucket((start + i) & (buckets - 1)) {
                if e.is_live(now) && (!volatile || e.expire_at().is_some()) {
                    f(e);
                    got += 1;
                    if got == n {
                        break;
                    }
                }
            }
        }
    }
}

impl crate::Keyspace {
    /// Evicts one key under `policy`, or returns None when no key may be
    /// evicted (noeviction, or a volatile policy and no key has a TTL).
    /// Locks one shard at a time; the caller holds no shard lock.
    pub fn evict_one(
        &self,
        policy: Policy,
        samples: usize,
        pool: &mut EvictionPool,
        rng: &mut impl Rng,
    ) -> Option<Evicted> {
        let samples = samples.max(1);
        let volatile = policy.volatile_only();
        match policy {
            Policy::NoEviction => None,
            Policy::AllKeysRandom | Policy::VolatileRandom => self.evict_random(volatile, rng),
            Policy::AllKeysS3Fifo | Policy::VolatileS3Fifo => self.evict_fifo(volatile, samples, pool, rng),
            _ => self.evict_pooled(policy, samples, pool, rng),
        }
    }

    /// Shards in a random rotation, so every shard is tried once.
    fn shard_order(&self, rng: &mut impl Rng) -> impl Iterator<Item = usize> {
        let n = self.shard_count();
        let start = rng.gen_range(0..n);
        (0..n).map(move |i| (start + i) & (n - 1))
    }

    /// Calls `f(shard, db, entry)` for `samples` live keys (with a TTL
    /// when `volatile`) sampled from shards in a random rotation, as many
    /// shards as it takes: in a small keyspace one shard holds few keys.
    /// Returns how many keys it saw.
    fn sample_across(
        &self,
        samples: usize,
        volatile: bool,
        now: u64,
        rng: &mut impl Rng,
        mut f: impl FnMut(usize, usize, &Entry),
    ) -> usize {
        let mut got = 0;
        for s in self.shard_order(rng) {
            let shard = self.lock(s);
            for (dbi, db) in shard.dbs.iter().enumerate() {
                if got >= samples || !Self::has_candidates(db, volatile) {
                    continue;
                }
                db.sample(rng, samples - got, volatile, now, |e| {
                    got += 1;
                    f(s, dbi, e);
                });
            }
            if got >= samples {
                break;
            }
        }
        got
    }

    fn has_candidates(db: &Db, volatile: bool) -> bool {
        if volatile {
            db.volatile_len() > 0
        } else {
            !db.is_empty()
        }
    }

    fn evict_random(&self, volatile: bool, rng: &mut impl Rng) -> Option<Evicted> {
        let now = self.now_ms();
        for s in self.shard_order(rng) {
            let mut shard = self.lock(s);
            for dbi in 0..shard.dbs.len() {
                let db = &mut shard.dbs[dbi];
                if !Self::has_candidates(db, volatile) {
                    continue;
                }
                let mut key = None;
                db.sample(rng, 1, volatile, now, |e| key = Some(Box::<[u8]>::from(e.key())));
                if let Some(entry) = key.and_then(|k| db.remove_evicted(&k, now)) {
                    return Some(Evicted { db: dbi, entry });
                }
            }
        }
        None
    }

    fn evict_pooled(
        &self,
        policy: Policy,
        samples: usize,
        pool: &mut EvictionPool,
        rng: &mut impl Rng,
    ) -> Option<Evicted> {
        let volatile = policy.volatile_only();
        let tracking = self.tracking();
        // A few populate rounds; each samples `samples` keys, from as
        // many shards as it takes (a shard of a small keyspace holds few).
        for _round in 0..16 {
            let now = self.now_ms();
            let got = self.sample_across(samples, volatile, now, rng, |s, dbi, e| {
                pool.insert(Candidate {
                    score: tracking.score(policy, e, now),
                    shard: s,
                    db: dbi,
                    key: e.key().into(),
                })
            });
            if got == 0 {
                pool.clear();
                return None;
            }
            while let Some(c) = pool.cands.pop() {
                let mut shard = self.lock(c.shard);
                let Some(db) = shard.dbs.get_mut(c.db) else {
                    continue;
                };
                let eligible = db
                    .peek(&c.key, now)
                    .is_some_and(|e| !volatile || e.expire_at().is_some());
                if !eligible {
                    continue;
                }
                if let Some(entry) = db.remove_evicted(&c.key, now) {
                    return Some(Evicted { db: c.db, entry });
                }
            }
        }
        None
    }

    /// Sampled S3-FIFO (`docs/eviction.md`). While the small queue holds
    /// 12% of the keys or more, the oldest small-queue key in the pool
    /// (refilled from samples of `samples`, at least 16, random keys)
    /// goes: promoted to main if it was accessed while in small, else
    /// evicted and remembered in the ghost. Otherwise the oldest
    /// main-queue key goes: reinserted with its counter decremented if
    /// the counter is not zero, else evicted (and remembered). Steps
    /// repeat until one evicts; a key moves at most four times, and
    /// after 64 steps the candidate goes regardless.
    fn evict_fifo(
        &self,
        volatile: bool,
        samples: usize,
        pool: &mut EvictionPool,
        rng: &mut impl Rng,
    ) -> Option<Evicted> {
        let samples = samples.max(FIFO_MIN_SAMPLES);
        let tracking = self.tracking();
        for step in 0..64 {
            let (keys, small) = tracking.fifo_counts();
            let want_small = small > 0 && (small as f64 >= FIFO_SMALL_TARGET * keys as f64 || small >= keys);
            let mut cand = None;
            if want_small {
                for _round in 0..16 {
                    cand = self.fifo_pick(pool, true, volatile, samples, rng, tracking);
                    if cand.is_some() {
                        break;
                    }
                }
            }
            if cand.is_none() {
                cand = self.fifo_pick(pool, false, volatile, samples, rng, tracking);
            }
            if cand.is_none() && !want_small {
                cand = self.fifo_pick(pool, true, volatile, samples, rng, tracking);
            }
            let (c, in_small) = cand?;
            let now = self.now_ms();
            let mut shard = self.lock(c.shard);
            let Some(db) = shard.dbs.get_mut(c.db) else {
                continue;
            };
            if let FifoStep::Evicted(entry) = db.fifo_step(&c.key, now, tracking.fifo_now(), in_small, step == 63) {
                return Some(Evicted { db: c.db, entry });
            }
        }
        None
    }

    /// Samples keys into the pool of one queue and returns its oldest
    /// candidate that is still in that queue, with the queue.
    fn fifo_pick(
        &self,
        pool: &mut EvictionPool,
        small: bool,
        volatile: bool,
        samples: usize,
        rng: &mut impl Rng,
        tracking: &Tracking,
    ) -> Option<(FifoCandidate, bool)> {
        let now = self.now_ms();
        let clock = tracking.fifo_now();
        let list = &mut pool.fifo[usize::from(small)];
        // The list is kept youngest first: when it is full, a sample no
        // older than its youngest would be dropped, so skip it before
        // copying its key.
        let floor = (list.len() >= POOL_SIZE).then(|| clock.wrapping_sub(list[0].time));
        self.sample_across(samples, volatile, now, rng, |s, dbi, e| {
            if in_fifo_small(e) == small
                && floor.is_none_or(|f| clock.wrapping_sub(e.access()) > f)
                && !list.iter().any(|c| c.shard == s && c.db == dbi && *c.key == *e.key())
            {
                list.push(FifoCandidate {
                    time: e.access(),
                    shard: s,
                    db: dbi,
                    key: e.key().into(),
                });
            }
        });
        // Oldest last.
        let clock = tracking.fifo_now();
        list.sort_by_key(|c| clock.wrapping_sub(c.time));
        let excess = list.len().saturating_sub(POOL_SIZE);
        list.drain(..excess);
        while let Some(c) = list.pop() {
            let mut shard = self.lock(c.shard);
            let still = shard
                .dbs
                .get_mut(c.db)
                .and_then(|db| db.peek(&c.key, now))
                .is_some_and(|e| in_fifo_small(e) == small && (!volatile || e.expire_at().is_some()));
            if still {
                return Some((c, small));
            }
        }
        None
    }

    /// Sets the S3-FIFO key counts from the dbs (when the mode becomes
    /// `Fifo`; from then on every change keeps them).
    pub fn fifo_recount(&self) {
        let shards = self.lock_all();
        self.fifo_recount_in(shards.iter().map(|g| &**g));
    }

    /// `fifo_recount` over shards the caller already holds (all of them:
    /// a transaction running CONFIG SET).
    pub fn fifo_recount_in<'s>(&self, shards: impl Iterator<Item = &'s crate::keyspace::Shard>) {
        let (mut keys, mut small) = (0usize, 0usize);
        for sh in shards {
            for db in &sh.dbs {
                keys += db.len();
                small += db.fifo_small_len();
            }
        }
        let t = self.tracking();
        t.fifo_keys.store(keys as isize, Ordering::Relaxed);
        t.fifo_small.store(small as isize, Ordering::Relaxed);
    }
}

/// Whether `e` is in S3-FIFO's small queue (every key is, under other
/// policies).
#[inline]
pub(crate) fn in_fifo_small(e: &Entry) -> bool {
    e.policy_bits() & FIFO_MAIN == 0
}

/// What one S3-FIFO step did to its key.
#[derive(Debug)]
pub(crate) enum FifoStep {
    Evicted(Entry),
    Moved,
    /// The key is gone or no longer in the queue it was picked from.
    Gone,
}

impl Db {
    /// One S3-FIFO step on `key`, picked from the small queue (`small`)
    /// or main: evicts it if it was not accessed since it entered (or was
    /// reinserted into) its queue, or if `force`; else moves it along
    /// (small: promoted to main; main: reinserted with its counter
    /// decremented). `clock` is S3-FIFO's time now.
    pub(crate) fn fifo_step(&mut self, key: &[u8], now: u64, clock: u32, small: bool, force: bool) -> FifoStep {
        let Some(e) = self.peek_mut(key, now) else {
            return FifoStep::Gone;
        };
        if in_fifo_small(e) != small {
            return FifoStep::Gone;
        }
        let freq = e.policy_bits() & FIFO_FREQ;
        if freq == 0 || force {
            let Some(entry) = self.remove_evicted(key, now) else {
                return FifoStep::Gone;
            };
            self.ghost_insert(key, small);
            return FifoStep::Evicted(entry);
        }
        e.set_access(clock);
        if small {
            e.set_policy_bits(FIFO_MAIN);
            self.fifo_promoted();
        } else {
            e.set_policy_bits(FIFO_MAIN | (freq - 1));
        }
        FifoStep::Moved
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policy_names_round_trip() {
        for &(n, p) in POLICIES {
            assert_eq!(Policy::from_name(n), Some(p));
            assert_eq!(p.name(), n);
        }
        assert_eq!(Policy::from_name("ALLKEYS-LRU"), Some(Policy::AllKeysLru));
        assert_eq!(Policy::from_name("lru"), None);
        assert!(Policy::VolatileTtl.volatile_only() && !Policy::AllKeysLfu.volatile_only());
    }

    #[test]
    fn lfu_counter_follows_redis() {
        // Decay: one per decay_time minutes since the stored minute.
        let t0 = 10 * 60_000;
        let w = lfu_word(t0, 20);
        assert_eq!(lfu_decayed(w, t0, 1), 20);
        assert_eq!(lfu_decayed(w, t0 + 3 * 60_000, 1), 17);
        assert_eq!(lfu_decayed(w, t0 + 3 * 60_000, 2), 19);
        assert_eq!(lfu_decayed(w, t0 + 100 * 60_000, 1), 0);
        assert_eq!(lfu_decayed(w, t0 + 100 * 60_000, 0), 20);
        // Wrap of the 16-bit minute clock: Redis counts 65535 - ldt + now
        // (one short of the 8 minutes that passed here).
        let late = lfu_word(65_530 * 60_000, 9);
        assert_eq!(lfu_decayed(late, 65_538 * 60_000, 1), 9 - 7);
        // Increment probability 1/((c-5)*factor+1).
        assert_eq!(lfu_log_incr(4, 10, 0.99), 5);
        assert_eq!(lfu_log_incr(5, 10, 0.99), 6);
        assert_eq!(lfu_log_incr(15, 10, 0.5), 15);
        assert_eq!(lfu_log_incr(15, 10, 0.005), 16);
        assert_eq!(lfu_log_incr(255, 0, 0.0), 255);
    }

    #[test]
    fn lru_idle_wraps() {
        assert_eq!(lru_idle_ms(lru_clock(1000), 1500), 500);
        let t = u64::from(u32::MAX) - 10;
        assert_eq!(lru_idle_ms(lru_clock(t), t + 20), 20);
    }

    #[test]
    fn fifo_counts_follow_every_change_and_eviction_protects_reused_keys() {
        use crate::{Keyspace, MockClock, Value};
        use rand::SeedableRng;
        let clock = MockClock::new(1_000);
        let ks = Keyspace::new(2, 8, clock.clone());
        ks.tracking().set_mode(Mode::Fifo);
        ks.fifo_recount();
        let mut rng = rand::rngs::SmallRng::seed_from_u64(3);
        let mut pool = EvictionPool::default();
        let set = |k: &str, db: usize, ttl: Option<u64>| {
            let mut sh = ks.lock(ks.shard_of(k.as_bytes()));
            sh.db(db)
                .set(k.as_bytes(), Value::from_bytes(b"v"), ttl, false, ks.now_ms());
        };
        let read = |k: &str| {
            let mut sh = ks.lock(ks.shard_of(k.as_bytes()));
            sh.db(0).lookup_read(k.as_bytes(), ks.now_ms(), true).is_some()
        };
        for i in 0..200 {
            set(&format!("hot{i}"), 0, None);
        }
        for i in 0..200 {
            assert!(read(&format!("hot{i}")));
        }
        for i in 0..100 {
            set(&format!("ttl{i}"), 1, Some(2_000));
        }
        // A scan of one-time keys: 200 while there is room, then evicting
        // one key per insert.
        for i in 0..2200 {
            set(&format!("scan{i}"), 0, None);
            if i < 200 {
                continue;
            }
            assert!(ks.evict_one(Policy::AllKeysS3Fifo, 5, &mut pool, &mut rng).is_some());
            if i == 1000 {
                clock.advance(5_000); // the TTL keys expire and are reclaimed
                ks.active_expire(usize::MAX);
            }
        }
        let counted = ks.tracking().fifo_counts();
        ks.fifo_recount();
        assert_eq!(counted, ks.tracking().fifo_counts());
        assert_eq!(counted.0, ks.fold_dbs(0, |n, db| n + db.len()));
        let hot = (0..200).filter(|i| read(&format!("hot{i}"))).count();
        assert!(hot >= 190, "{hot} of 200 reused keys survived the scan");
    }

    #[test]
    fn pool_keeps_the_best_sixteen() {
        let mut p = EvictionPool::default();
        for i in 0..40u64 {
            p.insert(Candidate {
                score: (i * 7) % 40,
                shard: 0,
                db: 0,
                key: i.to_string().into_bytes().into(),
            });
        }
        assert_eq!(p.len(), POOL_SIZE);
        let scores: Vec<u64> = p.cands.iter().map(|c| c.score).collect();
        assert_eq!(scores, (24..40).collect::<Vec<_>>());
        // The same key again replaces its old record.
        p.insert(Candidate {
            score: 100,
            shard: 0,
            db: 0,
            key: p.cands[0].key.clone(),
        });
        assert_eq!(p.len(), POOL_SIZE);
        assert_eq!(p.cands.last().map(|c| c.score), Some(100));
    }
}
