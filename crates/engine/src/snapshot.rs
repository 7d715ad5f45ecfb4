//! Point-in-time snapshots of the keyspace without fork and without a
//! copy of the data: the body of an RDB file as the keyspace was at one
//! instant, produced while commands keep running.
//!
//! [`Keyspace::begin_snapshot`] locks every shard for a moment and flips
//! each db's *parity*. Every entry carries a snapshot bit
//! (`Entry::snap_bit`); an entry whose bit differs from its db's parity
//! is *pending*: its state as of the start has not been written yet. At
//! the start every entry is pending; entries created afterwards get the
//! new parity and are never written.
//!
//! Two parties write pending entries, each then flipping the bit:
//! - the walker ([`Snapshot::step`]) visits the dbs in order, and in each
//!   db every shard's table a chunk of buckets at a time under the shard's
//!   lock;
//! - a command about to change or delete a pending entry (every `Db` path
//!   that modifies an entry: `lookup_write`, `set`, `remove`,
//!   `set_expire`, eviction through `remove`) first encodes it into the
//!   snapshot's per-db buffer ([`Sink`]), which the walker copies into its
//!   output between chunks, while it is in that db's section.
//!
//! So the file holds each key exactly once with the value it had at the
//! start, and the extra memory is the buffered records of keys written
//! while the walk had not reached them (about their serialized size, not
//! a copy of whole pages as with fork's copy-on-write).
//!
//! Keys that expire during the walk are dropped rather than written (they
//! would be dropped when the file loads). FLUSHDB/FLUSHALL hand their
//! tables with pending entries to the sink (`orphans`) for the walker.
//! SWAPDB moves a db's state with it: each db remembers the index it had
//! at the start (`origin`) and the walker looks dbs up by it.
//!
//! Invariant between snapshots: every entry's bit equals its db's parity.
//! The walk always completes (an abandoned snapshot finishes by marking
//! without encoding), so the next snapshot can flip and start again.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;

use crate::Value;

use hashbrown::HashTable;
use parking_lot::Mutex;

use crate::db::{Db, Entry};
use crate::evict::{lru_idle_ms, Tracking};
use crate::keyspace::Keyspace;
use crate::rdb::{encode_db_header, encode_entry};

/// What access data each record carries (Redis saves the LRU idle time
/// under the LRU policies and the LFU counter under the LFU ones).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum AccessField {
    #[default]
    None,
    Idle,
    Freq,
}

/// How records are encoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RecordFormat {
    pub compress: bool,
    pub access: AccessField,
}

/// Buckets walked under one lock hold.
const CHUNK_BUCKETS: usize = 64;

/// A value at least this big (bytes of a string, elements of a
/// collection) is copied under its shard lock and encoded after the lock
/// is released: a copy is a memcpy per node or element, the encoding
/// (with LZF) several times slower, and other commands on the shard wait
/// for whatever happens under the lock.
const DEFER_STRING_BYTES: usize = 64 * 1024;
const DEFER_ELEMENTS: usize = 2048;

fn is_huge(v: &Value) -> bool {
    match v {
        Value::Int(_) => false,
        Value::Str(_) | Value::Raw(_) => v.str_len().is_some_and(|n| n >= DEFER_STRING_BYTES),
        Value::List(l) => l.len() >= DEFER_ELEMENTS,
        Value::Hash(h) => h.len() >= DEFER_ELEMENTS,
        Value::Set(st) => st.len() >= DEFER_ELEMENTS,
        Value::ZSet(z) => z.len() >= DEFER_ELEMENTS,
    }
}

/// A huge entry's record, copied under the lock, encoded outside it.
#[derive(Debug)]
struct Deferred {
    key: Vec<u8>,
    value: Value,
    expire_ms: Option<i64>,
    idle: Option<u64>,
    freq: Option<u8>,
}

/// The snapshot's shared state: what commands write pending entries to.
#[derive(Debug)]
pub struct Sink {
    format: RecordFormat,
    /// When the snapshot started (idle times are measured from it).
    start_ms: u64,
    /// Records of pending entries written by commands, per origin db.
    records: Box<[Mutex<Vec<u8>>]>,
    /// Huge pending entries copied by commands, per origin db, encoded
    /// by the walker.
    deferred: Box<[Mutex<Vec<Deferred>>]>,
    /// Tables taken by FLUSHDB/FLUSHALL while they had pending entries:
    /// (origin db, table, the parity that marks written entries).
    orphans: Mutex<Vec<(usize, HashTable<Entry>, bool)>>,
    /// Bytes in `records` now, and the most there ever were.
    buffered: AtomicUsize,
    peak_buffered: AtomicUsize,
    /// Keys written by commands rather than by the walker.
    by_writers: AtomicU64,
}

impl Sink {
    /// The access field (idle seconds or LFU counter) the format wants.
    fn access(&self, tracking: &Tracking, e: &Entry) -> (Option<u64>, Option<u8>) {
        match self.format.access {
            AccessField::None => (None, None),
            AccessField::Idle => (Some(lru_idle_ms(e.access(), self.start_ms) / 1000), None),
            AccessField::Freq => (None, Some(tracking.lfu_freq(e, self.start_ms))),
        }
    }

    fn encode(&self, tracking: &Tracking, e: &Entry, out: &mut Vec<u8>) {
        let (idle, freq) = self.access(tracking, e);
        encode_entry(
            out,
            e.key(),
            e.value(),
            e.expire_at().map(|d| d as i64),
            idle,
            freq,
            self.format.compress,
        );
    }

    /// A huge entry copied as it is now, to encode later.
    fn copy(&self, tracking: &Tracking, e: &Entry) -> Deferred {
        let (idle, freq) = self.access(tracking, e);
        Deferred {
            key: e.key().to_vec(),
            value: e.value().clone(),
            expire_ms: e.expire_at().map(|d| d as i64),
            idle,
            freq,
        }
    }

    fn encode_deferred(&self, d: &Deferred, out: &mut Vec<u8>) {
        encode_entry(out, &d.key, &d.value, d.expire_ms, d.idle, d.freq, self.format.compress);
    }

    /// A command's write reached a pending entry: its record goes to the
    /// buffer of its origin db.
    fn save(&self, origin: usize, tracking: &Tracking, e: &Entry) {
        if is_huge(e.value()) {
            let d = self.copy(tracking, e);
            self.deferred[origin].lock().push(d);
            self.by_writers.fetch_add(1, Ordering::Relaxed);
            return;
        }
        let mut buf = self.records[origin].lock();
        let before = buf.len();
        self.encode(tracking, e, &mut buf);
        let added = buf.len() - before;
        drop(buf);
        let now = self.buffered.fetch_add(added, Ordering::Relaxed) + added;
        self.peak_buffered.fetch_max(now, Ordering::Relaxed);
        self.by_writers.fetch_add(1, Ordering::Relaxed);
    }

    fn drain(&self, origin: usize, out: &mut Vec<u8>) {
        let deferred = std::mem::take(&mut *self.deferred[origin].lock());
        for d in &deferred {
            self.encode_deferred(d, out);
        }
        let mut buf = self.records[origin].lock();
        if buf.is_empty() {
            return;
        }
        self.buffered.fetch_sub(buf.len(), Ordering::Relaxed);
        if out.is_empty() {
            std::mem::swap(&mut *buf, out);
        } else {
            out.extend_from_slice(&buf);
            buf.clear();
        }
    }
}

/// A db's part in a running snapshot (`Db::snap`).
#[derive(Debug)]
pub(crate) struct DbSnap {
    pub(crate) sink: Arc<Sink>,
    /// The db's index when the snapshot started.
    pub(crate) origin: usize,
    /// Pending entries left in this db's table.
    pub(crate) unhandled: usize,
}

/// Snapshot hooks on `Db`, called by its modifying paths.
impl Db {
    /// Writes a pending entry to the sink before it changes or goes.
    #[inline]
    pub(crate) fn snap_save(snap: &mut Option<Box<DbSnap>>, parity: bool, tracking: &Tracking, e: &mut Entry) {
        if let Some(s) = snap {
            if e.snap_bit() != parity {
                s.sink.save(s.origin, tracking, e);
                e.set_snap_bit(parity);
                s.unhandled -= 1;
            }
        }
    }

    /// A pending entry leaves without being written (it expired).
    #[inline]
    pub(crate) fn snap_forget(snap: &mut Option<Box<DbSnap>>, parity: bool, e: &Entry) {
        if let Some(s) = snap {
            if e.snap_bit() != parity {
                s.unhandled -= 1;
            }
        }
    }

    /// The table is being emptied (FLUSHDB): its pending entries go to
    /// the walker with the table.
    pub(crate) fn snap_orphan(&mut self, table: HashTable<Entry>) -> Option<HashTable<Entry>> {
        match self.snap.take() {
            Some(s) if s.unhandled > 0 => {
                s.sink.orphans.lock().push((s.origin, table, self.snap_parity));
                None
            }
            _ => Some(table),
        }
    }
}

/// Where the walker is.
#[derive(Debug, Clone, Copy)]
enum Pos {
    /// Next: the header of db `dbs[i]`.
    Header(usize),
    /// Walking db `dbs[i]` in shard `shard` from bucket `bucket`.
    Walk {
        i: usize,
        shard: usize,
        bucket: usize,
    },
    /// Writing the orphans and the last records of db `dbs[i]`.
    Tail(usize),
    Done,
}

/// Progress figures of a snapshot.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SnapshotStats {
    /// Keys when the snapshot started.
    pub keys_total: u64,
    /// Keys written so far (by the walker or by commands).
    pub keys_written: u64,
    /// Of those, written by commands that were about to change them.
    pub by_writers: u64,
    /// The most record bytes commands had buffered at once.
    pub peak_buffered: usize,
}

/// A running snapshot; see the module docs. Drive it with [`step`]
/// until it returns false. Dropping it before the end finishes the walk
/// without output.
///
/// [`step`]: Snapshot::step
#[derive(Debug)]
pub struct Snapshot<'k> {
    ks: &'k Keyspace,
    sink: Arc<Sink>,
    /// Dbs that had keys at the start: (index, keys, keys with a TTL).
    dbs: Vec<(usize, u64, u64)>,
    pos: Pos,
    keys_total: u64,
    walked: u64,
}

impl Keyspace {
    /// Starts a snapshot of every db as it is now, or None if one is
    /// already running. Takes every shard's lock for the time it takes to
    /// flip a flag per db.
    pub fn begin_snapshot(&self, format: RecordFormat) -> Option<Snapshot<'_>> {
        if self.snapshot_in_progress() {
            return None;
        }
        let mut guards = self.lock_all();
        self.begin_snapshot_locked(&mut guards, format)
    }

    /// `begin_snapshot` for a caller that holds every shard's lock
    /// (`guards`, from `lock_all`), so something else can happen at the
    /// same instant (the AOF switching files for a rewrite).
    pub fn begin_snapshot_locked(
        &self,
        guards: &mut [parking_lot::MutexGuard<'_, crate::keyspace::Shard>],
        format: RecordFormat,
    ) -> Option<Snapshot<'_>> {
        if self.snapshot_running().swap(true, Ordering::AcqRel) {
            return None;
        }
        let sink = Arc::new(Sink {
            format,
            start_ms: self.now_ms(),
            records: (0..self.databases()).map(|_| Mutex::new(Vec::new())).collect(),
            deferred: (0..self.databases()).map(|_| Mutex::new(Vec::new())).collect(),
            orphans: Mutex::new(Vec::new()),
            buffered: AtomicUsize::new(0),
            peak_buffered: AtomicUsize::new(0),
            by_writers: AtomicU64::new(0),
        });
        let mut sizes = vec![(0u64, 0u64); self.databases()];
        for g in guards.iter_mut() {
            for (i, db) in g.dbs.iter_mut().enumerate() {
                db.snap_parity = !db.snap_parity;
                let n = db.len();
                if n > 0 {
                    sizes[i].0 += n as u64;
                    sizes[i].1 += db.volatile_len() as u64;
                    db.snap = Some(Box::new(DbSnap {
                        sink: sink.clone(),
                        origin: i,
                        unhandled: n,
                    }));
                }
            }
        }
        let dbs: Vec<(usize, u64, u64)> = sizes
            .into_iter()
            .enumerate()
            .filter(|(_, (k, _))| *k > 0)
            .map(|(i, (k, e))| (i, k, e))
            .collect();
        let keys_total = dbs.iter().map(|d| d.1).sum();
        let pos = if dbs.is_empty() { Pos::Done } else { Pos::Header(0) };
        let snap = Snapshot {
            ks: self,
            sink,
            dbs,
            pos,
            keys_total,
            walked: 0,
        };
        if matches!(snap.pos, Pos::Done) {
            self.snapshot_running().store(false, Ordering::Release);
        }
        Some(snap)
    }
}

impl Snapshot<'_> {
    /// Appends the next part of the file body (db headers and key
    /// records, in file order) to `out`: at most one chunk of buckets
    /// under one shard lock, plus what commands buffered meanwhile.
    /// Returns false once everything has been produced.
    pub fn step(&mut self, out: &mut Vec<u8>) -> bool {
        self.advance(Some(out))
    }

    pub fn is_done(&self) -> bool {
        matches!(self.pos, Pos::Done)
    }

    pub fn stats(&self) -> SnapshotStats {
        let by_writers = self.sink.by_writers.load(Ordering::Relaxed);
        SnapshotStats {
            keys_total: self.keys_total,
            keys_written: self.walked + by_writers,
            by_writers,
            peak_buffered: self.sink.peak_buffered.load(Ordering::Relaxed),
        }
    }

    /// One step; with `out` None, entries are only marked (abandoning).
    fn advance(&mut self, mut out: Option<&mut Vec<u8>>) -> bool {
        match self.pos {
            Pos::Done => false,
            Pos::Header(i) => {
                let (db, keys, expires) = self.dbs[i];
                if let Some(o) = out {
                    encode_db_header(o, db as u64, keys, expires);
                }
                self.pos = Pos::Walk { i, shard: 0, bucket: 0 };
                true
            }
            Pos::Walk { i, shard, bucket } => {
                let origin = self.dbs[i].0;
                let next = self.walk_chunk(origin, shard, bucket, out.as_deref_mut());
                self.pos = match next {
                    Some(b) => Pos::Walk { i, shard, bucket: b },
                    None if shard + 1 < self.ks.shard_count() => Pos::Walk {
                        i,
                        shard: shard + 1,
                        bucket: 0,
                    },
                    None => Pos::Tail(i),
                };
                if let Some(o) = out {
                    self.sink.drain(origin, o);
                }
                true
            }
            Pos::Tail(i) => {
                let origin = self.dbs[i].0;
                self.write_orphans(origin, out.as_deref_mut());
                match out {
                    Some(o) => self.sink.drain(origin, o),
                    None => {
                        let mut b = Vec::new();
                        self.sink.drain(origin, &mut b);
                    }
                }
                self.pos = if i + 1 < self.dbs.len() {
                    Pos::Header(i + 1)
                } else {
                    self.ks.snapshot_running().store(false, Ordering::Release);
                    Pos::Done
                };
                true
            }
        }
    }

    /// Walks up to `CHUNK_BUCKETS` buckets of db `origin`'s table in
    /// `shard` from `bucket`. Returns where to go on in this shard, or
    /// None when the shard has nothing pending left for this db.
    fn walk_chunk(
        &mut self,
        origin: usize,
        shard: usize,
        bucket: usize,
        mut out: Option<&mut Vec<u8>>,
    ) -> Option<usize> {
        let mut g = self.ks.lock(shard);
        let db = g
            .dbs
            .iter_mut()
            .find(|d| d.snap.as_ref().is_some_and(|s| s.origin == origin))?;
        let parity = db.snap_parity;
        let tracking = db.tracking().clone();
        let sink = self.sink.clone();
        let buckets = db.num_buckets();
        let end = (bucket + CHUNK_BUCKETS).min(buckets);
        let mut done = 0usize;
        let mut deferred = Vec::new();
        for b in bucket..end {
            let Some(e) = db.bucket_mut(b) else { continue };
            if e.snap_bit() == parity {
                continue;
            }
            if let Some(o) = out.as_deref_mut() {
                if is_huge(e.value()) {
                    deferred.push(sink.copy(&tracking, e));
                } else {
                    sink.encode(&tracking, e, o);
                }
            }
            e.set_snap_bit(parity);
            done += 1;
        }
        self.walked += done as u64;
        let next = match db.snap.as_mut() {
            None => None,
            Some(s) => {
                s.unhandled -= done;
                if s.unhandled == 0 {
                    db.snap = None;
                    None
                } else {
                    // Pending entries remain: go on, or start over if the
                    // table was resized under the walk and moved some
                    // behind it.
                    Some(if end >= buckets { 0 } else { end })
                }
            }
        };
        // The huge ones are encoded once the shard is free again.
        drop(g);
        if let Some(o) = out {
            for d in &deferred {
                sink.encode_deferred(d, o);
            }
        }
        next
    }

    fn write_orphans(&mut self, origin: usize, mut out: Option<&mut Vec<u8>>) {
        let mine: Vec<(usize, HashTable<Entry>, bool)> = {
            let mut o = self.sink.orphans.lock();
            let (mine, rest) = std::mem::take(&mut *o).into_iter().partition(|(d, _, _)| *d == origin);
            *o = rest;
            mine
        };
        let tracking = self.ks.tracking().clone();
        for (_, table, parity) in mine {
            for e in table.iter() {
                if e.snap_bit() != parity {
                    if let Some(o) = out.as_deref_mut() {
                        self.sink.encode(&tracking, e, o);
                    }
                    self.walked += 1;
                }
            }
        }
    }
}

impl Drop for Snapshot<'_> {
    fn drop(&mut self) {
        while self.advance(None) {}
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::clock::MockClock;
    use crate::encoding::Limits;
    use crate::rdb::{read_file, FileWriter, SaveOptions};
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    type Model = BTreeMap<(usize, Vec<u8>), (Vec<u8>, Option<u64>)>;

    #[derive(Debug, Clone)]
    enum Op {
        Set(usize, u8, u8, Option<u64>),
        Append(usize, u8),
        Del(usize, u8),
        Expire(usize, u8, Option<u64>),
        Flush(usize),
        Swap(usize, usize),
        Advance(u64),
        ActiveExpire,
        Step(u8),
    }

    fn op() -> impl Strategy<Value = Op> {
        let db = 0..3usize;
        let key = 0..40u8;
        prop_oneof![
            6 => (db.clone(), key.clone(), any::<u8>(), proptest::option::of(1..50u64)).prop_map(|(d, k, v, t)| Op::Set(d, k, v, t)),
            2 => (db.clone(), key.clone()).prop_map(|(d, k)| Op::Append(d, k)),
            3 => (db.clone(), key.clone()).prop_map(|(d, k)| Op::Del(d, k)),
            2 => (db.clone(), key, proptest::option::of(1..50u64)).prop_map(|(d, k, t)| Op::Expire(d, k, t)),
            1 => db.clone().prop_map(Op::Flush),
            1 => (db.clone(), db).prop_map(|(a, b)| Op::Swap(a, b)),
            1 => (1..20u64).prop_map(Op::Advance),
            1 => Just(Op::ActiveExpire),
            6 => any::<u8>().prop_map(Op::Step),
        ]
    }

    fn key(k: u8) -> Vec<u8> {
        format!("key:{k}").into_bytes()
    }

    fn bytes(v: &Value) -> Vec<u8> {
        let mut scratch = crate::value::itoa_buf::Buf::default();
        v.as_bytes(&mut scratch).unwrap().to_vec()
    }

    /// Applies `op` to the keyspace and the model; Step drives the
    /// snapshot.
    fn apply(ks: &Keyspace, clock: &MockClock, model: &mut Model, op: &Op) {
        let now = ks.now_ms();
        let with_db = |d: usize, k: &[u8], f: &mut dyn FnMut(&mut Db)| {
            let mut g = ks.lock(ks.shard_of(k));
            f(g.db(d));
        };
        match *op {
            Op::Set(d, k, v, ttl) => {
                let (k, val) = (key(k), vec![v; 1 + v as usize % 7]);
                let exp = ttl.map(|t| now + t);
                with_db(d, &k, &mut |db| {
                    db.set(&k, Value::from_bytes(&val), exp, false, now);
                });
                model.insert((d, k), (val, exp));
            }
            Op::Append(d, k) => {
                let k = key(k);
                with_db(d, &k, &mut |db| {
                    if let Some(e) = db.lookup_write(&k, now) {
                        e.value_mut().make_raw().unwrap().push(b'+');
                    }
                });
                if let Some((v, exp)) = model.get_mut(&(d, k)) {
                    if exp.is_none_or(|t| t > now) {
                        v.push(b'+');
                    }
                }
            }
            Op::Del(d, k) => {
                let k = key(k);
                with_db(d, &k, &mut |db| {
                    db.remove(&k, now);
                });
                model.remove(&(d, k));
            }
            Op::Expire(d, k, ttl) => {
                let k = key(k);
                let exp = ttl.map(|t| now + t);
                let mut found = false;
                with_db(d, &k, &mut |db| found = db.set_expire(&k, exp, now));
                if found {
                    model.get_mut(&(d, k)).unwrap().1 = exp;
                }
            }
            Op::Flush(d) => {
                for s in 0..ks.shard_count() {
                    ks.lock(s).db(d).clear();
                }
                model.retain(|(md, _), _| *md != d);
            }
            Op::Swap(a, b) => {
                let mut guards = ks.lock_all();
                for g in guards.iter_mut() {
                    g.swap_dbs(a, b);
                }
                let old = std::mem::take(model);
                for ((d, k), v) in old {
                    let d = if d == a {
                        b
                    } else if d == b {
                        a
                    } else {
                        d
                    };
                    model.insert((d, k), v);
                }
            }
            Op::Advance(ms) => clock.advance(ms),
            Op::ActiveExpire => {
                ks.active_expire(1000);
            }
            Op::Step(_) => {}
        }
        // Expired keys are gone for the model.
        let now = ks.now_ms();
        model.retain(|_, (_, exp)| exp.is_none_or(|t| t > now));
    }

    /// A compressed snapshot without access fields.
    fn begin(ks: &Keyspace) -> Snapshot<'_> {
        ks.begin_snapshot(RecordFormat {
            compress: true,
            access: AccessField::None,
        })
        .unwrap()
    }

    fn loaded(body: &[u8]) -> Model {
        let mut w = FileWriter::new(Vec::new(), SaveOptions::default()).unwrap();
        w.raw(body).unwrap();
        let file = w.finish().unwrap();
        let mut m = Model::new();
        read_file(&file[..], &Limits::default(), |e| {
            let prev = m.insert((e.db as usize, e.key), (bytes(&e.value), e.expire_ms.map(|t| t as u64)));
            assert!(prev.is_none(), "a key written twice");
            Ok(())
        })
        .unwrap();
        m
    }

    fn live(m: &Model, now: u64) -> Model {
        m.iter()
            .filter(|(_, (_, exp))| exp.is_none_or(|t| t > now))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(if cfg!(miri) { 3 } else { 300 }))]
        /// Whatever commands do while it runs, the snapshot holds exactly
        /// the keys live at its start, with their values then.
        #[test]
        fn snapshot_is_point_in_time(before in proptest::collection::vec(op(), 0..80),
                                     during in proptest::collection::vec(op(), 0..160)) {
            let clock = MockClock::new(1_000_000);
            let ks = Keyspace::new(3, 4, clock.clone());
            let mut model = Model::new();
            for o in &before {
                apply(&ks, &clock, &mut model, o);
            }
            let at_start = model.clone();
            let format = RecordFormat { compress: true, access: AccessField::None };
            let mut snap = ks.begin_snapshot(format).unwrap();
            prop_assert!(snap.is_done() || ks.begin_snapshot(format).is_none());
            let mut body = Vec::new();
            for o in &during {
                if let Op::Step(n) = o {
                    for _ in 0..(*n % 4) {
                        snap.step(&mut body);
                    }
                } else {
                    apply(&ks, &clock, &mut model, o);
                }
            }
            while snap.step(&mut body) {}
            let stats = snap.stats();
            drop(snap);
            prop_assert!(!ks.snapshot_in_progress());
            let end = ks.now_ms();
            prop_assert_eq!(live(&loaded(&body), end), live(&at_start, end));
            prop_assert!(stats.keys_written <= stats.keys_total);
            // The invariant holds again: a second snapshot right away is
            // the current state.
            let mut snap = ks.begin_snapshot(format).unwrap();
            let mut body = Vec::new();
            while snap.step(&mut body) {}
            drop(snap);
            prop_assert_eq!(live(&loaded(&body), end), live(&model, end));
        }

        /// Dropping a snapshot half way leaves the keyspace ready for the
        /// next one.
        #[test]
        fn abandoned_snapshot_leaves_no_trace(before in proptest::collection::vec(op(), 0..80),
                                              steps in 0..20usize,
                                              during in proptest::collection::vec(op(), 0..40)) {
            let clock = MockClock::new(1_000_000);
            let ks = Keyspace::new(3, 4, clock.clone());
            let mut model = Model::new();
            for o in &before {
                apply(&ks, &clock, &mut model, o);
            }
            let format = RecordFormat { compress: false, access: AccessField::None };
            let mut snap = ks.begin_snapshot(format).unwrap();
            let mut body = Vec::new();
            for _ in 0..steps {
                snap.step(&mut body);
            }
            for o in &during {
                apply(&ks, &clock, &mut model, o);
            }
            drop(snap);
            let mut snap = ks.begin_snapshot(format).unwrap();
            let mut body = Vec::new();
            while snap.step(&mut body) {}
            drop(snap);
            let end = ks.now_ms();
            prop_assert_eq!(live(&loaded(&body), end), live(&model, end));
        }
    }

    /// Huge values (copied under the lock, encoded after it) are in the
    /// file as they were at the start, whether the walker reached them or
    /// a command changed them first.
    #[test]
    fn huge_values_are_point_in_time() {
        let clock = MockClock::new(1_000_000);
        let ks = Keyspace::new(1, 2, clock.clone());
        let now = ks.now_ms();
        let big = |c: u8| Value::from_bytes(&vec![c; DEFER_STRING_BYTES + 10]);
        let items: Vec<Vec<u8>> = (0..DEFER_ELEMENTS + 5)
            .map(|i| format!("item{i}").into_bytes())
            .collect();
        let list = || Value::List(Box::new(crate::types::List::from_items(&items, -2)));
        let set = |k: String, v: Value| {
            let k = k.into_bytes();
            ks.lock(ks.shard_of(&k)).db(0).set(&k, v, None, false, now);
        };
        for i in 0..8 {
            set(format!("s{i}"), big(b'a'));
            set(format!("l{i}"), list());
            set(format!("k{i}"), Value::from_bytes(b"small"));
        }
        assert!(is_huge(&big(b'a')) && is_huge(&list()) && !is_huge(&Value::from_bytes(b"small")));
        let mut snap = begin(&ks);
        let mut body = Vec::new();
        // The header only: every key is still pending when commands
        // overwrite half the huge ones (the writers' path); the walker
        // copies the rest.
        snap.step(&mut body);
        for i in 0..4 {
            set(format!("s{i}"), big(b'b'));
            set(format!("l{i}"), Value::from_bytes(b"gone"));
        }
        while snap.step(&mut body) {}
        let stats = snap.stats();
        drop(snap);
        let mut w = FileWriter::new(Vec::new(), SaveOptions::default()).unwrap();
        w.raw(&body).unwrap();
        let file = w.finish().unwrap();
        let mut seen = BTreeMap::new();
        read_file(&file[..], &Limits::default(), |e| {
            assert!(seen.insert(e.key, e.value).is_none(), "a key written twice");
            Ok(())
        })
        .unwrap();
        assert_eq!(seen.len(), 24);
        for i in 0..8 {
            assert_eq!(seen[format!("s{i}").as_bytes()], big(b'a'), "s{i}");
            assert_eq!(seen[format!("l{i}").as_bytes()], list(), "l{i}");
        }
        assert_eq!(stats.keys_written, 24);
        assert_eq!(stats.by_writers, 8, "{stats:?}");
    }

    #[test]
    fn big_tables_resize_under_the_walk() {
        let clock = MockClock::new(1_000_000);
        let ks = Keyspace::new(1, 2, clock.clone());
        let now = ks.now_ms();
        let mut model = Model::new();
        for i in 0..5000u32 {
            let k = format!("k{i}").into_bytes();
            ks.lock(ks.shard_of(&k))
                .db(0)
                .set(&k, Value::from_bytes(b"old"), None, false, now);
            model.insert((0, k), (b"old".to_vec(), None));
        }
        let at_start = model.clone();
        let mut snap = begin(&ks);
        let mut body = Vec::new();
        snap.step(&mut body);
        snap.step(&mut body);
        // Grow every table several times over while the walk is early,
        // and overwrite old keys.
        for i in 0..40_000u32 {
            let k = format!("k{i}").into_bytes();
            ks.lock(ks.shard_of(&k))
                .db(0)
                .set(&k, Value::from_bytes(b"new"), None, false, now);
        }
        while snap.step(&mut body) {}
        let stats = snap.stats();
        drop(snap);
        assert_eq!(loaded(&body), at_start);
        assert_eq!(stats.keys_written, 5000);
        assert!(stats.by_writers > 0);
    }
}
