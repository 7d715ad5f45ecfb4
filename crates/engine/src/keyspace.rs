//! The keyspace: every database, partitioned into shards by hash slot.
//!
//! A key's shard is `slot(key) % shards`, where `slot` is Redis Cluster's
//! CRC16 hash slot (honouring `{hash tags}`), so keys that share a tag share
//! a shard, and a later cluster mode can hand out slots without rehashing.
//! Each shard holds its part of all databases behind one mutex; commands
//! on keys in different shards never wait for each other.

use parking_lot::{Mutex, MutexGuard};
use std::sync::Arc;

use crate::clock::Clock;
use crate::db::Db;

pub const CLUSTER_SLOTS: usize = 16384;

/// One shard: its part of every database.
#[derive(Debug)]
pub struct Shard {
    pub dbs: Vec<Db>,
}

impl Shard {
    fn new(databases: usize) -> Self {
        Shard {
            dbs: (0..databases).map(|_| Db::new()).collect(),
        }
    }

    /// The shard's part of database `db`.
    #[inline]
    pub fn db(&mut self, db: usize) -> &mut Db {
        &mut self.dbs[db]
    }
}

#[derive(Debug)]
pub struct Keyspace {
    shards: Box<[Mutex<Shard>]>,
    databases: usize,
    clock: Arc<dyn Clock>,
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
        Keyspace {
            shards: (0..n).map(|_| Mutex::new(Shard::new(databases))).collect(),
            databases,
            clock,
        }
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
}
