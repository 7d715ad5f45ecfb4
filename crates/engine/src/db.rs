//! One database's share of one shard: the key table, TTLs and the
//! statistics counted under the shard's lock.

use hashbrown::hash_table::Entry as TableEntry;
use hashbrown::HashTable;
use std::hash::BuildHasher;
use std::sync::Arc;

pub use crate::entry::Entry;
use crate::evict::{in_fifo_small, FastRng, GhostHit, Mode, Tracking};
use crate::expire::ExpiryIndex;
use crate::snapshot::DbSnap;
use crate::value::Value;

/// What one [`Db::scan_from`] step did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScanStep {
    /// Live keys whose hash fell in the range walked (matching `keep` or
    /// not): the work done, which SCAN's COUNT bounds.
    pub visited: usize,
    /// Where the next step starts in the hash space, or None when every
    /// hash from `from` on has been covered.
    pub next: Option<u64>,
}

/// Counters kept per database and summed by INFO.
#[derive(Debug, Default, Clone, Copy)]
pub struct DbStats {
    pub hits: u64,
    pub misses: u64,
    pub expired: u64,
}

#[derive(Debug, Default)]
pub struct Db {
    table: HashTable<Entry>,
    hasher: hashbrown::DefaultHashBuilder,
    expires: ExpiryIndex,
    volatile: usize,
    pub stats: DbStats,
    /// Keys removed by expiry or eviction since the last drain, kept only
    /// when `log_expired` is set (the AOF's DELs; whoever next holds the
    /// shard's lock drains them, so they are logged in order).
    pub expired_log: Vec<Box<[u8]>>,
    /// Keys removed by eviction, logged as `expired_log` is.
    pub evicted_log: Vec<Box<[u8]>>,
    pub log_expired: bool,
    /// The eviction policy's access tracking, shared by the keyspace.
    tracking: Arc<Tracking>,
    rng: FastRng,
    /// Keys not in S3-FIFO's main queue (every key, under other
    /// policies, whose keys never join it).
    fifo_small: usize,
    /// S3-FIFO's ghost: fingerprints of keys recently evicted from the
    /// small queue, direct-mapped by hash (empty unless that policy
    /// evicts here).
    ghost: Vec<u16>,
    /// The running snapshot's state here, if it has entries pending in
    /// this db (`snapshot.rs`).
    pub(crate) snap: Option<Box<DbSnap>>,
    /// Entries whose snapshot bit equals this are not pending.
    pub(crate) snap_parity: bool,
}

/// The caller's view of a `Db` while it holds one of its entries.
struct Aux<'a> {
    stats: &'a mut DbStats,
    tracking: &'a Tracking,
    rng: &'a mut FastRng,
}

impl Db {
    pub fn new() -> Self {
        Db::default()
    }

    /// A db whose keys track access as `tracking` says.
    pub fn with_tracking(tracking: Arc<Tracking>) -> Self {
        Db {
            tracking,
            ..Db::default()
        }
    }

    pub fn tracking(&self) -> &Arc<Tracking> {
        &self.tracking
    }

    #[inline]
    pub fn hash(&self, key: &[u8]) -> u64 {
        self.hasher.hash_one(key)
    }

    pub fn len(&self) -> usize {
        self.table.len()
    }

    pub fn is_empty(&self) -> bool {
        self.table.is_empty()
    }

    /// Keys with a TTL.
    pub fn volatile_len(&self) -> usize {
        self.volatile
    }

    /// Keys in S3-FIFO's small queue (all keys under other policies).
    pub fn fifo_small_len(&self) -> usize {
        self.fifo_small
    }

    /// A key of the small queue was promoted to main.
    pub(crate) fn fifo_promoted(&mut self) {
        fifo_count(&mut self.fifo_small, &self.tracking, 0, -1);
    }

    fn note_expired(&mut self, key: Box<[u8]>) {
        self.stats.expired += 1;
        if self.log_expired {
            self.expired_log.push(key);
        }
    }

    /// Finds a live key, removing it first if its TTL has passed. One
    /// probe of the table either way.
    fn find_live(&mut self, key: &[u8], now: u64) -> Option<&mut Entry> {
        let (e, _) = self.find_live_split(key, now);
        e
    }

    /// `find_live` that also lends out the stats and access tracking, so
    /// callers can count and touch while holding the entry.
    fn find_live_split(&mut self, key: &[u8], now: u64) -> (Option<&mut Entry>, Aux<'_>) {
        let hash = self.hasher.hash_one(key);
        let aux = Aux {
            stats: &mut self.stats,
            tracking: &self.tracking,
            rng: &mut self.rng,
        };
        let Ok(occ) = self.table.find_entry(hash, |e| e.key() == key) else {
            return (None, aux);
        };
        if !occ.get().is_live(now) {
            let (e, _) = occ.remove();
            Db::snap_forget(&mut self.snap, self.snap_parity, &e);
            self.volatile -= 1;
            fifo_count(&mut self.fifo_small, aux.tracking, -1, -isize::from(in_fifo_small(&e)));
            aux.stats.expired += 1;
            if self.log_expired {
                self.expired_log.push(e.key().into());
            }
            return (None, aux);
        }
        (Some(occ.into_mut()), aux)
    }

    /// Lookup for a command that reads the key: counts a hit or a miss and
    /// records the access for the eviction policy unless `touch` is false.
    pub fn lookup_read(&mut self, key: &[u8], now: u64, touch: bool) -> Option<&mut Entry> {
        let (e, aux) = self.find_live_split(key, now);
        match e {
            Some(e) => {
                aux.stats.hits += 1;
                if touch {
                    aux.tracking.touch(e, now, aux.rng);
                }
                Some(e)
            }
            None => {
                aux.stats.misses += 1;
                None
            }
        }
    }

    /// Before a write to `key`: a running snapshot that still needs its
    /// current state gets it now.
    #[inline]
    fn snap_save_key(&mut self, key: &[u8], now: u64) {
        if self.snap.is_none() {
            return;
        }
        let hash = self.hasher.hash_one(key);
        if let Some(e) = self.table.find_mut(hash, |e| e.key() == key) {
            if e.is_live(now) {
                Db::snap_save(&mut self.snap, self.snap_parity, &self.tracking, e);
            }
        }
    }

    /// `lookup_read` for a read that may change the value in place
    /// (PFCOUNT's cached cardinality): a running snapshot gets the key's
    /// current state first.
    pub fn lookup_read_mut(&mut self, key: &[u8], now: u64, touch: bool) -> Option<&mut Entry> {
        self.snap_save_key(key, now);
        self.lookup_read(key, now, touch)
    }

    /// Lookup for a command about to write the key: no hit/miss counting.
    pub fn lookup_write(&mut self, key: &[u8], now: u64) -> Option<&mut Entry> {
        self.snap_save_key(key, now);
        let (e, aux) = self.find_live_split(key, now);
        let e = e?;
        aux.tracking.touch(e, now, aux.rng);
        Some(e)
    }

    /// A live entry by mutable reference, without counting or touching.
    pub(crate) fn peek_mut(&mut self, key: &[u8], now: u64) -> Option<&mut Entry> {
        self.find_live(key, now)
    }

    /// Lookup that neither counts nor touches (EXISTS-like internals,
    /// OBJECT, TTL, TYPE).
    pub fn peek(&mut self, key: &[u8], now: u64) -> Option<&Entry> {
        self.find_live(key, now).map(|e| &*e)
    }

    /// A live entry by shared reference: no expiry, counting or touching
    /// (for commands that read several keys at once after looking each up
    /// with `lookup_read`).
    pub fn get(&self, key: &[u8], now: u64) -> Option<&Entry> {
        let hash = self.hasher.hash_one(key);
        self.table.find(hash, |e| e.key() == key).filter(|e| e.is_live(now))
    }

    pub fn contains(&mut self, key: &[u8], now: u64) -> bool {
        self.find_live(key, now).is_some()
    }

    /// Updates the access time only (TOUCH).
    pub fn touch(&mut self, key: &[u8], now: u64) -> bool {
        match self.find_live_split(key, now) {
            (Some(e), aux) => {
                aux.tracking.touch(e, now, aux.rng);
                true
            }
            (None, _) => false,
        }
    }

    /// RESTORE's IDLETIME / FREQ (Redis's objectSetLRUOrLFU): under an LFU
    /// policy `freq` becomes the key's counter; otherwise `idle_ms` makes
    /// it look idle that long. The other argument is ignored, as in Redis.
    /// Returns whether the key exists.
    pub fn set_access_data(&mut self, key: &[u8], idle_ms: Option<u64>, freq: Option<u8>, now: u64) -> bool {
        let mode = self.tracking.mode();
        let Some(e) = self.find_live(key, now) else {
            return false;
        };
        // S3-FIFO's word is a logical clock: neither applies there.
        match (mode, idle_ms, freq) {
            (Mode::Lfu, _, Some(f)) => e.set_access(crate::evict::lfu_word(now, f)),
            (Mode::Lru, Some(idle), _) => e.set_access(crate::evict::lru_clock(now.saturating_sub(idle))),
            _ => {}
        }
        true
    }

    /// Stores `value` under `key`, replacing any old value. The TTL
    /// becomes `expire_at` (None: no TTL), or stays as it was when
    /// `keep_ttl` is set and the key existed. Returns the old value.
    pub fn set(&mut self, key: &[u8], value: Value, expire_at: Option<u64>, keep_ttl: bool, now: u64) -> Option<Value> {
        let hash = self.hash(key);
        let new_exp = expire_at.unwrap_or(0);
        let hasher = &self.hasher;
        let tracking = &*self.tracking;
        match self.table.entry(hash, |e| e.key() == key, |e| hasher.hash_one(e.key())) {
            TableEntry::Occupied(mut occ) => {
                let e = occ.get_mut();
                let was_expired = !e.is_live(now);
                if was_expired {
                    Db::snap_forget(&mut self.snap, self.snap_parity, e);
                    e.set_snap_bit(self.snap_parity);
                } else {
                    Db::snap_save(&mut self.snap, self.snap_parity, tracking, e);
                }
                let old = std::mem::replace(e.value_mut(), value);
                let old_exp = e.deadline();
                if !keep_ttl || was_expired {
                    e.set_deadline(new_exp);
                }
                if was_expired {
                    // A new key in the old one's place.
                    let (access, bits) = tracking.initial(now, GhostHit::None);
                    let was_small = isize::from(in_fifo_small(e));
                    e.set_access(access);
                    e.set_policy_bits(bits);
                    fifo_count(
                        &mut self.fifo_small,
                        tracking,
                        0,
                        isize::from(in_fifo_small(e)) - was_small,
                    );
                } else {
                    tracking.touch(e, now, &mut self.rng);
                }
                let cur_exp = e.deadline();
                if old_exp != 0 && cur_exp == 0 {
                    self.volatile -= 1;
                } else if old_exp == 0 && cur_exp != 0 {
                    self.volatile += 1;
                }
                if cur_exp != 0 && cur_exp != old_exp {
                    self.expires.push(cur_exp, hash);
                    self.bound_expiry_index();
                }
                if was_expired {
                    self.stats.expired += 1;
                    if self.log_expired {
                        self.expired_log.push(key.into());
                    }
                    None
                } else {
                    Some(old)
                }
            }
            TableEntry::Vacant(vac) => {
                let ghost = if tracking.mode() == Mode::Fifo {
                    ghost_take(&mut self.ghost, hash)
                } else {
                    GhostHit::None
                };
                let (access, bits) = tracking.initial(now, ghost);
                let mut e = Entry::new(key, value, access, new_exp);
                if bits != 0 {
                    e.set_policy_bits(bits);
                }
                if self.snap_parity {
                    e.set_snap_bit(true);
                }
                fifo_count(&mut self.fifo_small, tracking, 1, isize::from(in_fifo_small(&e)));
                vac.insert(e);
                if new_exp != 0 {
                    self.volatile += 1;
                    self.expires.push(new_exp, hash);
                    self.bound_expiry_index();
                }
                None
            }
        }
    }

    /// Removes a live key, returning its entry.
    pub fn remove(&mut self, key: &[u8], now: u64) -> Option<Entry> {
        let hash = self.hash(key);
        let occ = self.table.find_entry(hash, |e| e.key() == key).ok()?;
        let (mut e, _) = occ.remove();
        if e.is_live(now) {
            Db::snap_save(&mut self.snap, self.snap_parity, &self.tracking, &mut e);
        } else {
            Db::snap_forget(&mut self.snap, self.snap_parity, &e);
        }
        fifo_count(
            &mut self.fifo_small,
            &self.tracking,
            -1,
            -isize::from(in_fifo_small(&e)),
        );
        if e.deadline() != 0 {
            self.volatile -= 1;
        }
        if !e.is_live(now) {
            self.note_expired(e.key().into());
            return None;
        }
        Some(e)
    }

    /// `remove` for eviction: the key is logged as `expired_log` keys are.
    pub(crate) fn remove_evicted(&mut self, key: &[u8], now: u64) -> Option<Entry> {
        let e = self.remove(key, now)?;
        if self.log_expired {
            self.evicted_log.push(key.into());
        }
        Some(e)
    }

    /// Inserts an entry taken from elsewhere (RENAME, MOVE, COPY) keeping
    /// its TTL and access time, under `key`.
    pub fn insert_entry(&mut self, key: &[u8], entry: Entry, now: u64) {
        let exp = entry.deadline();
        let (access, bits) = (entry.access(), entry.policy_bits());
        self.set(key, entry.into_value(), (exp != 0).then_some(exp), false, now);
        let mut small = 0;
        if let Some(e) = self.find_live(key, now) {
            small -= isize::from(in_fifo_small(e));
            e.set_access(access);
            e.set_policy_bits(bits);
            small += isize::from(in_fifo_small(e));
        }
        fifo_count(&mut self.fifo_small, &self.tracking, 0, small);
    }

    /// Sets or clears the TTL of a live key. Returns false if it is missing.
    pub fn set_expire(&mut self, key: &[u8], expire_at: Option<u64>, now: u64) -> bool {
        let hash = self.hash(key);
        self.snap_save_key(key, now);
        let Some(e) = self.find_live(key, now) else {
            return false;
        };
        let old = e.deadline();
        let new = expire_at.unwrap_or(0);
        e.set_deadline(new);
        if old == 0 && new != 0 {
            self.volatile += 1;
        } else if old != 0 && new == 0 {
            self.volatile -= 1;
        }
        if new != 0 && new != old {
            self.expires.push(new, hash);
            self.bound_expiry_index();
        }
        true
    }

    /// Removes every key. Returns how many there were.
    pub fn clear(&mut self) -> usize {
        let n = self.table.len();
        self.ghost = Vec::new();
        let small = self.fifo_small as isize;
        fifo_count(&mut self.fifo_small, &self.tracking, -(n as isize), -small);
        let table = std::mem::take(&mut self.table);
        drop(self.snap_orphan(table));
        self.expires = ExpiryIndex::default();
        self.volatile = 0;
        n
    }

    /// Active expiry: removes keys whose deadline is at or before `now`,
    /// at most `budget` index records examined. Returns (removed, more
    /// records due).
    pub fn expire_due(&mut self, now: u64, budget: usize) -> (usize, bool) {
        let mut removed = 0;
        let mut examined = 0;
        while examined < budget {
            let Some(hash) = self.expires.pop_due(now) else {
                return (removed, false);
            };
            examined += 1;
            // Any expired entry on this hash's probe path can go: whether
            // it is the key the record was made for does not matter, its
            // time has passed.
            while let Ok(occ) = self.table.find_entry(hash, |e| !e.is_live(now)) {
                let (e, _) = occ.remove();
                Db::snap_forget(&mut self.snap, self.snap_parity, &e);
                self.volatile -= 1;
                fifo_count(
                    &mut self.fifo_small,
                    &self.tracking,
                    -1,
                    -isize::from(in_fifo_small(&e)),
                );
                self.note_expired(e.key().into());
                removed += 1;
            }
        }
        self.bound_expiry_index();
        (removed, self.expires.has_due(now))
    }

    /// Rebuilds the expiry index from the table, dropping records left by
    /// TTLs that were changed or keys that were deleted.
    /// Rebuilds the expiry index when stale records (for keys deleted,
    /// evicted or given a new TTL) outnumber the live ones by more than
    /// an eighth of the table: the index stays within about 2 records per
    /// key with a TTL plus 2 bytes per key, and the O(table) rebuild is
    /// paid for by at least table/8 changes.
    #[inline]
    fn bound_expiry_index(&mut self) {
        if self.expires.len() > 2 * self.volatile + self.table.len() / 8 + 4 {
            self.rebuild_expiry_index();
        }
    }

    fn rebuild_expiry_index(&mut self) {
        let mut idx = ExpiryIndex::default();
        for e in self.table.iter() {
            if let Some(d) = e.expire_at() {
                idx.push(d, self.hasher.hash_one(e.key()));
            }
        }
        self.expires = idx;
    }

    /// Iterates live and not-yet-reclaimed entries.
    pub fn iter(&self) -> impl Iterator<Item = &Entry> {
        self.table.iter()
    }

    /// Number of buckets in the table: the cursor space SCAN walks.
    pub fn buckets(&self) -> usize {
        self.table.capacity()
    }

    /// Number of bucket positions (a power of two, or 0), for sampling.
    pub(crate) fn num_buckets(&self) -> usize {
        self.table.num_buckets()
    }

    /// The entry in bucket `i`, if that bucket is full.
    #[inline]
    pub(crate) fn bucket(&self, i: usize) -> Option<&Entry> {
        self.table.get_bucket(i)
    }

    #[inline]
    pub(crate) fn bucket_mut(&mut self, i: usize) -> Option<&mut Entry> {
        self.table.get_bucket_mut(i)
    }

    /// The expiry index (key hashes of keys with a TTL, some stale), for
    /// sampling keys with a TTL.
    pub(crate) fn expiry_index(&self) -> &ExpiryIndex {
        &self.expires
    }

    /// The entry whose key has `hash`, if any (the first if several).
    pub(crate) fn find_by_hash(&self, hash: u64) -> Option<&Entry> {
        self.table.find(hash, |e| self.hasher.hash_one(e.key()) == hash)
    }

    /// Remembers `key` in the S3-FIFO ghost, with the queue it was
    /// evicted from. The ghost has `GHOST_PER_KEY` slots per key (2 bytes
    /// each; it is rebuilt empty when the db has grown by half or shrunk
    /// by half since it was sized).
    pub(crate) fn ghost_insert(&mut self, key: &[u8], small: bool) {
        let want = (self.table.len() * GHOST_PER_KEY).max(2);
        if self.ghost.len() * 2 < want || self.ghost.len() > want * 2 {
            self.ghost = vec![0; want + want / 4];
        }
        let hash = self.hash(key);
        let slot = ghost_slot(hash, self.ghost.len());
        self.ghost[slot] = ghost_fingerprint(hash) | if small { GHOST_SMALL } else { 0 };
    }

    /// Keys of every entry, for SCAN-like walks that must not hold
    /// references across calls.
    pub fn keys_where(&self, now: u64, mut f: impl FnMut(&Entry) -> bool) -> Vec<Box<[u8]>> {
        self.table
            .iter()
            .filter(|e| e.is_live(now) && f(e))
            .map(|e| e.key().into())
            .collect()
    }

    /// Keys of live entries whose hash lies in `[lo, hi)` (`hi` None: to
    /// the end of the hash space) and that `keep` accepts, appended to
    /// `out`. Returns how many live entries were in the range. One walk
    /// of the table.
    pub fn scan_hash_range(
        &self,
        lo: u64,
        hi: Option<u64>,
        now: u64,
        out: &mut Vec<Box<[u8]>>,
        mut keep: impl FnMut(&Entry) -> bool,
    ) -> usize {
        let mut n = 0;
        for e in self.table.iter() {
            if !e.is_live(now) {
                continue;
            }
            let h = self.hasher.hash_one(e.key());
            if h < lo || hi.is_some_and(|hi| h >= hi) {
                continue;
            }
            n += 1;
            if keep(e) {
                out.push(e.key().into());
            }
        }
        n
    }

    /// One SCAN step over this db: covers the hash range starting at
    /// `from` just wide enough to hold `count` live keys (all of them if
    /// fewer remain), with its end aligned to `2^align_bits` so a cursor
    /// can store it with its low bits dropped. Keys `keep` accepts are
    /// appended to `out`.
    ///
    /// Positions are in the space of `self.hash`, which is fixed for the
    /// life of this `Db` and independent of the table's layout, so
    /// growing or shrinking the table between steps moves nothing: a key
    /// present for a whole iteration (steps from 0 until `next` is None)
    /// is returned exactly once, and no key is returned twice.
    pub fn scan_from(
        &self,
        from: u64,
        count: usize,
        align_bits: u32,
        now: u64,
        out: &mut Vec<Box<[u8]>>,
        keep: impl FnMut(&Entry) -> bool,
    ) -> ScanStep {
        let count = count.max(1);
        let align_bits = align_bits.min(63);
        let mut hashes: Vec<u64> = self
            .table
            .iter()
            .filter(|e| e.is_live(now))
            .map(|e| self.hasher.hash_one(e.key()))
            .filter(|&h| h >= from)
            .collect();
        if hashes.len() <= count {
            let visited = self.scan_hash_range(from, None, now, out, keep);
            return ScanStep { visited, next: None };
        }
        let (_, cut, _) = hashes.select_nth_unstable(count - 1);
        // Every key whose hash shares the cut's aligned block is taken,
        // so the next start is the following block.
        let block = *cut >> align_bits;
        if block == u64::MAX >> align_bits {
            let visited = self.scan_hash_range(from, None, now, out, keep);
            return ScanStep { visited, next: None };
        }
        let next = (block + 1) << align_bits;
        let visited = self.scan_hash_range(from, Some(next), now, out, keep);
        ScanStep {
            visited,
            next: Some(next),
        }
    }

    /// Moves every entry out, leaving the db empty (FLUSH ASYNC drops
    /// the result on another thread). Returns the entries and how many
    /// there were.
    pub fn take_all(&mut self) -> (HashTable<Entry>, usize) {
        let n = self.table.len();
        let t = std::mem::take(&mut self.table);
        let t = self.snap_orphan(t).unwrap_or_default();
        self.ghost = Vec::new();
        let small = self.fifo_small as isize;
        fifo_count(&mut self.fifo_small, &self.tracking, -(n as isize), -small);
        self.expires = ExpiryIndex::default();
        self.volatile = 0;
        (t, n)
    }

    /// A random live key, or None if the db holds none.
    pub fn random_key(&mut self, rng: &mut impl rand::Rng, now: u64) -> Option<Box<[u8]>> {
        // Sample a few times; expired keys met on the way are reclaimed.
        for _ in 0..100 {
            let n = self.table.len();
            if n == 0 {
                return None;
            }
            let idx = rng.gen_range(0..n);
            let key: Box<[u8]> = self.table.iter().nth(idx).map(|e| e.key().into())?;
            if self.find_live(&key, now).is_some() {
                return Some(key);
            }
        }
        None
    }

    /// Drains the log of keys removed by expiry.
    pub fn take_expired_log(&mut self) -> Vec<Box<[u8]>> {
        std::mem::take(&mut self.expired_log)
    }

    /// Approximate heap bytes held by this db (table + keys + values).
    pub fn memory_estimate(&self) -> usize {
        let slots = self.table.capacity() * (std::mem::size_of::<Entry>() + 1);
        let data: usize = self.table.iter().map(|e| e.block_size() + e.value().heap_size()).sum();
        slots + data + self.expires.len() * 16 + self.ghost.len() * 2
    }
}

/// Applies a change of `keys` keys, `small` of them in S3-FIFO's small
/// queue, to a db's small-queue count and (under S3-FIFO) the keyspace's.
#[inline]
fn fifo_count(db_small: &mut usize, tracking: &Tracking, keys: isize, small: isize) {
    *db_small = db_small.wrapping_add_signed(small);
    if tracking.mode() == Mode::Fifo {
        tracking.fifo_add(keys, small);
    }
}

/// Ghost slots per key. The research's optimum was 1.5-2 slots of 32
/// bits; 16-bit slots (a 15-bit fingerprint: one false hit in 32768
/// lookups) buy a longer memory for the same bytes, which the server's
/// byte budgets need (`docs/eviction.md`).
const GHOST_PER_KEY: usize = 3;

/// A ghost slot: a 15-bit fingerprint (never 0) and, in the top bit,
/// whether the key left from the small queue.
const GHOST_SMALL: u16 = 1 << 15;

/// The slot of `hash` in a ghost of `len` slots (Lemire's range
/// reduction of the low 32 bits; the fingerprint uses the high bits).
fn ghost_slot(hash: u64, len: usize) -> usize {
    (((hash & 0xffff_ffff) * len as u64) >> 32) as usize
}

fn ghost_fingerprint(hash: u64) -> u16 {
    ((hash >> 48) as u16 & !GHOST_SMALL) | 1
}

/// Whether the ghost remembers the key with `hash`, and from which
/// queue; forgets it if so.
fn ghost_take(ghost: &mut [u16], hash: u64) -> GhostHit {
    if ghost.is_empty() {
        return GhostHit::None;
    }
    let slot = ghost_slot(hash, ghost.len());
    let g = ghost[slot];
    if g != 0 && g & !GHOST_SMALL == ghost_fingerprint(hash) {
        ghost[slot] = 0;
        return if g & GHOST_SMALL != 0 {
            GhostHit::Small
        } else {
            GhostHit::Main
        };
    }
    GhostHit::None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> Value {
        Value::from_bytes(s.as_bytes())
    }

    #[test]
    fn set_get_remove() {
        let mut db = Db::new();
        assert!(db.set(b"a", v("1"), None, false, 0).is_none());
        assert_eq!(db.lookup_read(b"a", 0, true).unwrap().value(), &Value::Int(1));
        assert_eq!(db.set(b"a", v("x"), None, false, 0), Some(Value::Int(1)));
        assert!(db.remove(b"a", 0).is_some());
        assert!(db.lookup_read(b"a", 0, true).is_none());
        assert_eq!(db.stats.hits, 1);
        assert_eq!(db.stats.misses, 1);
    }

    #[test]
    fn lazy_expiry() {
        let mut db = Db::new();
        db.set(b"a", v("1"), Some(1000), false, 0);
        assert_eq!(db.volatile_len(), 1);
        assert!(db.peek(b"a", 999).is_some());
        assert!(db.peek(b"a", 1000).is_none());
        assert_eq!(db.len(), 0);
        assert_eq!(db.volatile_len(), 0);
        assert_eq!(db.stats.expired, 1);
    }

    #[test]
    fn keep_ttl_and_persist() {
        let mut db = Db::new();
        db.set(b"a", v("1"), Some(5000), false, 0);
        db.set(b"a", v("2"), None, true, 0);
        assert_eq!(db.peek(b"a", 0).unwrap().expire_at(), Some(5000));
        db.set(b"a", v("3"), None, false, 0);
        assert_eq!(db.peek(b"a", 0).unwrap().expire_at(), None);
        assert_eq!(db.volatile_len(), 0);
        db.set_expire(b"a", Some(10), 0);
        assert_eq!(db.volatile_len(), 1);
        db.set_expire(b"a", None, 0);
        assert_eq!(db.volatile_len(), 0);
    }

    #[test]
    fn active_expiry_reclaims_everything_due() {
        let mut db = Db::new();
        for i in 0..10_000u64 {
            db.set(format!("k{i}").as_bytes(), v("x"), Some(1 + i), false, 0);
        }
        for i in 0..100u64 {
            db.set(format!("p{i}").as_bytes(), v("x"), None, false, 0);
        }
        let (removed, more) = db.expire_due(5_000, usize::MAX);
        assert_eq!(removed, 5_000);
        assert!(!more);
        assert_eq!(db.len(), 5_100);
        let (removed, _) = db.expire_due(1_000_000, usize::MAX);
        assert_eq!(removed, 5_000);
        assert_eq!(db.len(), 100);
        assert_eq!(db.volatile_len(), 0);
    }

    #[test]
    fn refreshed_ttls_do_not_expire_early_and_index_stays_bounded() {
        let mut db = Db::new();
        db.set(b"s", v("x"), Some(100), false, 0);
        for t in 1..50_000u64 {
            db.set_expire(b"s", Some(100 + t), t);
            if t % 1000 == 0 {
                db.expire_due(t, usize::MAX);
            }
        }
        assert!(db.peek(b"s", 50_000).is_some());
        assert!(db.expires.len() < 4_000, "index grew to {}", db.expires.len());
    }

    fn scan_all(db: &Db, count: usize, bits: u32, now: u64) -> Vec<Box<[u8]>> {
        let mut out = Vec::new();
        let mut pos = 0;
        loop {
            let step = db.scan_from(pos, count, bits, now, &mut out, |_| true);
            match step.next {
                Some(n) => {
                    assert!(n > pos, "scan must advance");
                    assert_eq!(n % (1u64 << bits), 0, "next is aligned");
                    pos = n;
                }
                None => return out,
            }
        }
    }

    #[test]
    fn scan_hash_range_splits_the_space() {
        let mut db = Db::new();
        for i in 0..1000 {
            db.set(format!("k{i}").as_bytes(), v("x"), None, false, 0);
        }
        let mid = 1u64 << 63;
        let mut lo = Vec::new();
        let mut hi = Vec::new();
        let a = db.scan_hash_range(0, Some(mid), 0, &mut lo, |_| true);
        let b = db.scan_hash_range(mid, None, 0, &mut hi, |_| true);
        assert_eq!(a + b, 1000);
        assert_eq!(lo.len() + hi.len(), 1000);
        assert!(lo.iter().all(|k| db.hash(k) < mid));
        assert!(hi.iter().all(|k| db.hash(k) >= mid));
        // `keep` filters what is returned but not what is counted.
        let mut some = Vec::new();
        let n = db.scan_hash_range(0, None, 0, &mut some, |e| e.key().ends_with(b"7"));
        assert_eq!(n, 1000);
        assert_eq!(some.len(), 100);
    }

    #[test]
    fn scan_from_steps_by_count_and_skips_expired() {
        let mut db = Db::new();
        for i in 0..500 {
            let exp = (i % 5 == 0).then_some(10);
            db.set(format!("k{i}").as_bytes(), v("x"), exp, false, 0);
        }
        let mut out = Vec::new();
        let step = db.scan_from(0, 10, 0, 20, &mut out, |_| true);
        assert_eq!(step.visited, 10);
        assert_eq!(out.len(), 10);
        assert!(step.next.is_some());
        for bits in [0, 4, 8, 14] {
            let mut all = scan_all(&db, 7, bits, 20);
            all.sort();
            let before = all.len();
            all.dedup();
            assert_eq!(before, all.len(), "no duplicates");
            assert_eq!(all.len(), 400, "expired keys skipped");
        }
        // A count larger than the db finishes in one step.
        let mut out = Vec::new();
        let step = db.scan_from(0, usize::MAX, 8, 20, &mut out, |_| true);
        assert_eq!((step.visited, step.next, out.len()), (400, None, 400));
        // Empty db.
        let empty = Db::new();
        let step = empty.scan_from(0, 10, 0, 0, &mut out, |_| true);
        assert_eq!(step, ScanStep { visited: 0, next: None });
    }

    #[test]
    fn take_all_empties() {
        let mut db = Db::new();
        db.set(b"a", v("1"), Some(100), false, 0);
        db.set(b"b", v("1"), None, false, 0);
        let (t, n) = db.take_all();
        assert_eq!((t.len(), n), (2, 2));
        assert_eq!((db.len(), db.volatile_len()), (0, 0));
        assert_eq!(db.expire_due(1000, usize::MAX), (0, false));
    }

    mod model {
        use super::super::*;
        use crate::evict::FifoStep;
        use proptest::prelude::*;
        use std::collections::HashMap;

        #[derive(Debug, Clone)]
        enum Op {
            Set(u8, u8, Option<u64>, bool),
            Remove(u8),
            Expire(u8, Option<u64>),
            Read(u8),
            Rename(u8, u8),
            Tick(u64),
            ExpireDue,
            /// An S3-FIFO eviction step on a key (as picked from the
            /// small queue, then as from main).
            Evict(u8),
        }

        fn key(k: u8) -> Vec<u8> {
            // Short and long keys (the long ones exceed the test's
            // out-of-line length threshold in entry.rs).
            if k.is_multiple_of(4) {
                format!("long-key-{k}-{}", "x".repeat(40)).into_bytes()
            } else {
                format!("k{k}").into_bytes()
            }
        }

        fn val(v: u8) -> Value {
            Value::from_bytes(format!("{v}-{}", "v".repeat(v as usize % 40)).as_bytes())
        }

        fn op() -> impl Strategy<Value = Op> {
            let ttl = prop_oneof![Just(None), (1u64..200).prop_map(Some), Just(Some(u64::MAX - 1))];
            prop_oneof![
                (0u8..16, any::<u8>(), ttl.clone(), any::<bool>()).prop_map(|(k, v, t, keep)| Op::Set(k, v, t, keep)),
                (0u8..16).prop_map(Op::Remove),
                (0u8..16, ttl).prop_map(|(k, t)| Op::Expire(k, t)),
                (0u8..16).prop_map(Op::Read),
                (0u8..16, 0u8..16).prop_map(|(a, b)| Op::Rename(a, b)),
                (0u64..30).prop_map(Op::Tick),
                Just(Op::ExpireDue),
                (0u8..16).prop_map(Op::Evict),
            ]
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(if cfg!(miri) { 3 } else { 200 }))]
            #[test]
            fn db_matches_a_hashmap(ops in proptest::collection::vec(op(), 1..120), fifo in any::<bool>()) {
                // Under S3-FIFO tracking (with evictions) or the default LRU.
                let tracking = Arc::new(Tracking::default());
                if fifo {
                    tracking.set_mode(Mode::Fifo);
                }
                let mut db = Db::with_tracking(tracking);
                // key -> (value, deadline or 0)
                let mut m: HashMap<Vec<u8>, (Value, u64)> = HashMap::new();
                let mut now = 1u64;
                for op in ops {
                    m.retain(|_, (_, d)| *d == 0 || *d > now);
                    match op {
                        Op::Set(k, v, t, keep) => {
                            let k = key(k);
                            let old = db.set(&k, val(v), t, keep, now);
                            let prev = m.get(&k).cloned();
                            prop_assert_eq!(old, prev.as_ref().map(|p| p.0.clone()));
                            let d = match (keep, prev) {
                                (true, Some((_, d))) => d,
                                _ => t.unwrap_or(0),
                            };
                            m.insert(k, (val(v), d));
                        }
                        Op::Remove(k) => {
                            let k = key(k);
                            let got = db.remove(&k, now).map(|e| (e.key().to_vec(), e.into_value()));
                            prop_assert_eq!(got, m.remove(&k).map(|(v, _)| (k.clone(), v)));
                        }
                        Op::Expire(k, t) => {
                            let k = key(k);
                            let ok = db.set_expire(&k, t, now);
                            prop_assert_eq!(ok, m.contains_key(&k));
                            if let Some(e) = m.get_mut(&k) {
                                e.1 = t.unwrap_or(0);
                            }
                        }
                        Op::Read(k) => {
                            let k = key(k);
                            let got = db.lookup_read(&k, now, true).map(|e| (e.value().clone(), e.expire_at()));
                            prop_assert_eq!(got, m.get(&k).map(|(v, d)| (v.clone(), (*d != 0).then_some(*d))));
                        }
                        Op::Rename(a, b) => {
                            let (a, b) = (key(a), key(b));
                            if let Some(e) = db.remove(&a, now) {
                                db.remove(&b, now);
                                db.insert_entry(&b, e, now);
                                let x = m.remove(&a);
                                m.remove(&b);
                                if let Some(x) = x {
                                    m.insert(b, x);
                                }
                            } else {
                                prop_assert!(!m.contains_key(&a));
                            }
                        }
                        Op::Tick(n) => now += n,
                        Op::ExpireDue => {
                            db.expire_due(now, usize::MAX);
                            prop_assert_eq!(db.len(), m.len());
                        }
                        Op::Evict(k) => {
                            if fifo {
                                let k = key(k);
                                for s in [true, false] {
                                    let small = db.peek(&k, now).map(crate::evict::in_fifo_small);
                                    let step = db.fifo_step(&k, now, 9, s, false);
                                    match step {
                                        FifoStep::Evicted(e) => {
                                            prop_assert_eq!(small, Some(s));
                                            prop_assert!(m.remove(e.key()).is_some());
                                        }
                                        FifoStep::Moved => prop_assert_eq!(small, Some(s)),
                                        FifoStep::Gone => prop_assert_ne!(small, Some(s)),
                                    }
                                }
                            }
                        }
                    }
                    prop_assert_eq!(db.fifo_small_len(), db.iter().filter(|e| crate::evict::in_fifo_small(e)).count());
                    prop_assert!(db.len() >= m.len());
                    prop_assert_eq!(db.volatile_len(), db.iter().filter(|e| e.expire_at().is_some()).count());
                }
                m.retain(|_, (_, d)| *d == 0 || *d > now);
                let mut live: Vec<(Vec<u8>, Value, Option<u64>)> = db
                    .iter()
                    .filter(|e| e.is_live(now))
                    .map(|e| (e.key().to_vec(), e.value().clone(), e.expire_at()))
                    .collect();
                live.sort_by(|a, b| a.0.cmp(&b.0));
                let mut want: Vec<(Vec<u8>, Value, Option<u64>)> =
                    m.into_iter().map(|(k, (v, d))| (k, v, (d != 0).then_some(d))).collect();
                want.sort_by(|a, b| a.0.cmp(&b.0));
                prop_assert_eq!(live, want);
                let (t, _) = db.take_all();
                std::thread::spawn(move || drop(t)).join().ok();
                prop_assert_eq!(db.len(), 0);
            }
        }
    }
}
