//! The keyspace: every database, partitioned into shards by hash slot.
//!
//! A key's shard is `slot(key) % shards`, where `slot` is Redis Cluster's
//! CRC16 hash slot (honouring `{hash tags}`), so keys that share a tag share
//! a shard, and a later cluster mode can hand out slots without rehashing.
//! Each shard holds its part of all databases behind one mutex; commands
//! on keys in different shards never wait for each other.

use parking_lot::{Mutex, MutexGuard};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use crate::clock::Clock;
use crate::db::{Db, Entry};
use crate::evict::Tracking;

pub const CLUSTER_SLOTS: usize = 16384;

/// One shard: its part of every database.
#[derive(Debug)]
pub struct Shard {
    pub dbs: Vec<Db>,
}

impl Shard {
    fn new(databases: usize, tracking: &Arc<Tracking>) -> Self {
        Shard {
            dbs: (0..databases).map(|_| Db::with_tracking(tracking.clone())).collect(),
        }
    }

    /// The shard's part of database `db`.
    #[inline]
    pub fn db(&mut self, db: usize) -> &mut Db {
        &mut self.dbs[db]
    }

    /// SWAPDB's part in this shard: the contents of databases `a` and `b`
    /// trade places; per-database settings (the expired-key log) stay.
    pub fn swap_dbs(&mut self, a: usize, b: usize) {
        if a == b {
            return;
        }
        self.dbs.swap(a, b);
        let (la, lb) = (self.dbs[a].log_expired, self.dbs[b].log_expired);
        self.dbs[a].log_expired = lb;
        self.dbs[b].log_expired = la;
        let ea = std::mem::take(&mut self.dbs[a].expired_log);
        let eb = std::mem::take(&mut self.dbs[b].expired_log);
        self.dbs[a].expired_log = eb;
        self.dbs[b].expired_log = ea;
        let ea = std::mem::take(&mut self.dbs[a].evicted_log);
        let eb = std::mem::take(&mut self.dbs[b].evicted_log);
        self.dbs[a].evicted_log = eb;
        self.dbs[b].evicted_log = ea;
    }
}

#[derive(Debug)]
pub struct Keyspace {
    shards: Box<[Mutex<Shard>]>,
    databases: usize,
    clock: Arc<dyn Clock>,
    tracking: Arc<Tracking>,
    /// A snapshot is running (`snapshot.rs`).
    snapshot_running: AtomicBool,
}

const CRC16: crc::Crc<u16> = crc::Crc::<u16>::new(&crc::CRC_16_XMODEM);

/// Redis Cluster's hash slot of a key (keyHashSlot).
pub fn key_slot(key: &[u8]) -> usize {
    let tagged = key.iter().position(|&c| c == b'{').and_then(|s| {
        let rest = &key[s + 1..];
        let e = rest.iter().position(|&c| c == b'}')?;
        (e > 0).then(|| &rest[..e])
    });
    (CRC16.checksum(tagged.unwrap_or(key)) as usize) & (CLUSTER_SLOTS - 1)
}

impl Keyspace {
    /// `shards` is rounded up to a power of two no larger than the slot
    /// count.
    pub fn new(databases: usize, shards: usize, clock: Arc<dyn Clock>) -> Self {
        let n = shards.clamp(1, CLUSTER_SLOTS).next_power_of_two();
        let tracking = Arc::new(Tracking::default());
        Keyspace {
            shards: (0..n).map(|_| Mutex::new(Shard::new(databases, &tracking))).collect(),
            databases,
            clock,
            tracking,
            snapshot_running: AtomicBool::new(false),
        }
    }

    /// The access tracking every db of this keyspace uses (set from the
    /// eviction policy and the LFU settings).
    pub fn tracking(&self) -> &Arc<Tracking> {
        &self.tracking
    }

    pub(crate) fn snapshot_running(&self) -> &AtomicBool {
        &self.snapshot_running
    }

    /// Whether a snapshot is being taken.
    pub fn snapshot_in_progress(&self) -> bool {
        self.snapshot_running.load(std::sync::atomic::Ordering::Acquire)
    }

    pub fn databases(&self) -> usize {
        self.databases
    }

    pub fn shard_count(&self) -> usize {
        self.shards.len()
    }

    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    pub fn now_ms(&self) -> u64 {
        self.clock.now_ms()
    }

    /// The shard that owns `key`.
    #[inline]
    pub fn shard_of(&self, key: &[u8]) -> usize {
        key_slot(key) & (self.shards.len() - 1)
    }

    pub fn lock(&self, shard: usize) -> MutexGuard<'_, Shard> {
        self.shards[shard].lock()
    }

    pub fn try_lock(&self, shard: usize) -> Option<MutexGuard<'_, Shard>> {
        self.shards[shard].try_lock()
    }

    /// Locks every shard, in index order (the order every multi-shard
    /// lock takes, so two of them never deadlock).
    pub fn lock_all(&self) -> Vec<MutexGuard<'_, Shard>> {
        self.shards.iter().map(|s| s.lock()).collect()
    }

    /// Bits at the top of a SCAN cursor that hold the shard index.
    fn cursor_shard_bits(&self) -> u32 {
        self.shards.len().trailing_zeros()
    }

    /// One SCAN call over database `db`: continues the iteration at
    /// `cursor` (0 starts one), visiting about `count` live keys, and
    /// appends those `keep` accepts to `out`. Returns the next cursor,
    /// 0 when the iteration is complete.
    ///
    /// The cursor holds a shard index in its top bits and a position in
    /// that shard's hash space (see [`Db::scan_from`]) below. Shards are
    /// walked in order, one lock at a time, so a full iteration returns
    /// every key that existed for its whole duration exactly once, however
    /// the tables grow or shrink between calls.
    pub fn scan(
        &self,
        db: usize,
        cursor: u64,
        count: usize,
        now: u64,
        out: &mut Vec<Box<[u8]>>,
        keep: impl FnMut(&Entry) -> bool,
    ) -> u64 {
        self.scan_with(|i| self.shards[i].lock(), db, cursor, count, now, out, keep)
    }

    /// `scan` reaching each shard through `shard` (which locks it, or
    /// lends one the caller already holds: SCAN inside a transaction).
    #[allow(clippy::too_many_arguments)]
    pub fn scan_with<G: std::ops::Deref<Target = Shard>>(
        &self,
        mut shard_at: impl FnMut(usize) -> G,
        db: usize,
        cursor: u64,
        count: usize,
        now: u64,
        out: &mut Vec<Box<[u8]>>,
        mut keep: impl FnMut(&Entry) -> bool,
    ) -> u64 {
        let bits = self.cursor_shard_bits();
        let n = self.shards.len();
        let count = count.max(1);
        let (mut shard, mut pos) = if bits == 0 {
            (0usize, cursor)
        } else {
            ((cursor >> (64 - bits)) as usize, cursor << bits)
        };
        let encode = |shard: usize, pos: u64| {
            if bits == 0 {
                pos
            } else {
                ((shard as u64) << (64 - bits)) | (pos >> bits)
            }
        };
        let mut visited = 0usize;
        while shard < n {
            let step = {
                let s = shard_at(shard);
                s.dbs[db].scan_from(pos, count - visited, bits, now, out, &mut keep)
            };
            visited += step.visited;
            match step.next {
                Some(next) => pos = next,
                None => {
                    shard += 1;
                    pos = 0;
                }
            }
            if visited >= count && shard < n {
                return encode(shard, pos);
            }
        }
        0
    }

    /// Total keys in database `db` (locks one shard at a time).
    pub fn dbsize(&self, db: usize) -> usize {
        self.shards.iter().map(|s| s.lock().dbs[db].len()).sum()
    }

    /// (keys, keys with TTL) per database, for INFO keyspace.
    pub fn db_sizes(&self) -> Vec<(usize, usize)> {
        let mut out = vec![(0, 0); self.databases];
        for s in self.shards.iter() {
            let s = s.lock();
            for (i, db) in s.dbs.iter().enumerate() {
                out[i].0 += db.len();
                out[i].1 += db.volatile_len();
            }
        }
        out
    }

    /// Sums a statistic over every shard and database.
    pub fn fold_dbs<T>(&self, init: T, mut f: impl FnMut(T, &Db) -> T) -> T {
        let mut acc = init;
        for s in self.shards.iter() {
            let s = s.lock();
            for db in &s.dbs {
                acc = f(acc, db);
            }
        }
        acc
    }

    /// One pass of active expiry over every shard: reclaims due keys,
    /// taking each shard's lock for at most `per_lock` index records at a
    /// time so clients are never stalled behind a long sweep. Returns the
    /// number of keys removed.
    pub fn active_expire(&self, per_lock: usize) -> usize {
        let mut removed = 0;
        for s in self.shards.iter() {
            loop {
                let now = self.clock.now_ms();
                let mut shard = s.lock();
                let mut more = false;
                for db in shard.dbs.iter_mut() {
                    let (r, m) = db.expire_due(now, per_lock);
                    removed += r;
                    more |= m;
                }
                drop(shard);
                if !more {
                    break;
                }
            }
        }
        removed
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::MockClock;
    use crate::value::Value;

    #[test]
    fn slots_match_redis() {
        // Values from Redis's CLUSTER KEYSLOT.
        assert_eq!(key_slot(b"foo"), 12182);
        assert_eq!(key_slot(b"bar"), 5061);
        assert_eq!(key_slot(b"{user1000}.following"), key_slot(b"user1000"));
        assert_eq!(key_slot(b"foo{}{bar}"), key_slot(b"foo{}{bar}"));
        assert_eq!(key_slot(b""), 0);
    }

    #[test]
    fn active_expiry_with_mock_clock() {
        let clock = MockClock::new(1_000);
        let ks = Keyspace::new(16, 8, clock.clone());
        for i in 0..1000u64 {
            let key = format!("k{i}");
            let shard = ks.shard_of(key.as_bytes());
            ks.lock(shard)
                .db(0)
                .set(key.as_bytes(), Value::Int(1), Some(1_000 + i), false, 1_000);
        }
        assert_eq!(ks.dbsize(0), 1000);
        clock.advance(500);
        assert_eq!(ks.active_expire(16), 501);
        assert_eq!(ks.dbsize(0), 499);
        clock.advance(10_000);
        assert_eq!(ks.active_expire(16), 499);
        assert_eq!(ks.db_sizes()[0], (0, 0));
    }

    fn put(ks: &Keyspace, key: &[u8], exp: Option<u64>) {
        let shard = ks.shard_of(key);
        ks.lock(shard).db(0).set(key, Value::Int(1), exp, false, 0);
    }

    fn del(ks: &Keyspace, key: &[u8]) {
        let shard = ks.shard_of(key);
        ks.lock(shard).db(0).remove(key, 0);
    }

    #[test]
    fn scan_covers_every_shard_once() {
        for shards in [1, 2, 16, 256] {
            let ks = Keyspace::new(2, shards, MockClock::new(0));
            for i in 0..3000 {
                put(&ks, format!("key:{i}").as_bytes(), None);
            }
            for count in [1, 10, 1000, 100_000] {
                let mut cursor = 0;
                let mut seen = Vec::new();
                let mut calls = 0;
                loop {
                    let before = seen.len();
                    cursor = ks.scan(0, cursor, count, 0, &mut seen, |_| true);
                    calls += 1;
                    if cursor == 0 {
                        break;
                    }
                    assert!(
                        seen.len() - before >= count.min(3000),
                        "a call returns at least COUNT keys"
                    );
                }
                let n = seen.len();
                seen.sort();
                seen.dedup();
                assert_eq!((n, seen.len()), (3000, 3000), "shards {shards} count {count}");
                if count >= 3000 {
                    assert_eq!(calls, 1);
                }
            }
            let mut other = Vec::new();
            assert_eq!(ks.scan(1, 0, 10, 0, &mut other, |_| true), 0);
            assert!(other.is_empty());
        }
    }

    #[derive(Debug, Clone)]
    enum Op {
        Scan(usize),
        Insert(u16, u16),
        Delete(u16),
    }

    fn op() -> impl proptest::strategy::Strategy<Value = Op> {
        use proptest::prelude::*;
        prop_oneof![
            (1usize..50).prop_map(Op::Scan),
            (0u16..2000, 1u16..400).prop_map(|(a, n)| Op::Insert(a, n)),
            (0u16..2000).prop_map(Op::Delete),
        ]
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]
        /// SCAN's guarantee against a model: with inserts (enough to grow
        /// the tables several times) and deletes between calls, every key
        /// present from the first call to the last is returned exactly
        /// once, and nothing that never existed is returned.
        #[test]
        fn scan_guarantee(shards in proptest::sample::select(vec![1usize, 4, 32]),
                          initial in 0u16..600,
                          ops in proptest::collection::vec(op(), 1..60)) {
            use std::collections::{BTreeMap, BTreeSet};
            let ks = Keyspace::new(1, shards, MockClock::new(0));
            let mut present: BTreeSet<u32> = BTreeSet::new();
            let mut ever: BTreeSet<u32> = BTreeSet::new();
            let key = |i: u32| format!("k{i}").into_bytes();
            for i in 0..initial as u32 {
                put(&ks, &key(i), None);
                present.insert(i);
                ever.insert(i);
            }
            let throughout_start = present.clone();
            let mut deleted: BTreeSet<u32> = BTreeSet::new();
            let mut returned: BTreeMap<Vec<u8>, usize> = BTreeMap::new();
            let mut cursor = 0u64;
            let mut ops = ops.into_iter();
            loop {
                let o = ops.next().unwrap_or(Op::Scan(10));
                match o {
                    Op::Scan(count) => {
                        let mut out = Vec::new();
                        cursor = ks.scan(0, cursor, count, 0, &mut out, |_| true);
                        for k in out {
                            *returned.entry(k.to_vec()).or_default() += 1;
                        }
                        if cursor == 0 {
                            break;
                        }
                    }
                    Op::Insert(a, n) => {
                        for i in a as u32..a as u32 + n as u32 {
                            put(&ks, &key(i), None);
                            present.insert(i);
                            ever.insert(i);
                        }
                    }
                    Op::Delete(a) => {
                        // Deletes a run of keys to shrink the tables too.
                        for i in a as u32..a as u32 + 300 {
                            if present.remove(&i) {
                                del(&ks, &key(i));
                                deleted.insert(i);
                            }
                        }
                    }
                }
            }
            for i in &throughout_start {
                if !deleted.contains(i) {
                    proptest::prop_assert_eq!(returned.get(&key(*i)).copied(), Some(1), "key {} present throughout", i);
                }
            }
            for (k, n) in &returned {
                proptest::prop_assert_eq!(*n, 1usize, "returned twice: {:?}", String::from_utf8_lossy(k));
                let i: u32 = std::str::from_utf8(&k[1..]).unwrap().parse().unwrap();
                proptest::prop_assert!(ever.contains(&i));
            }
        }
    }
}
