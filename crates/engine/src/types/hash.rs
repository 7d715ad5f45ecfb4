//! The hash value type, in Redis's two encodings:
//!
//! - `listpack`: every field and value packed one after the other into a
//!   single byte buffer (each a LEB128 length then the bytes), in
//!   insertion order, searched linearly. Used while the hash has at most
//!   `hash-max-listpack-entries` fields and no field or value longer than
//!   `hash-max-listpack-value` bytes.
//! - `hashtable`: a dense vector of entries (field, value and the field's
//!   hash) indexed by a `hashbrown` table of positions. Random fields are
//!   O(1), and the stored hashes give HSCAN a cursor that stays valid
//!   whatever the table does between calls.
//!
//! Conversion is one-way, listpack to hashtable, as in Redis.

use std::hash::BuildHasher;

use hashbrown::HashTable;

use crate::encoding::Limits;

/// A Redis hash.
#[derive(Clone, Default)]
pub struct Hash {
    repr: Repr,
}

#[derive(Clone)]
enum Repr {
    Listpack(Listpack),
    /// Boxed so a small (listpack) hash is 32 bytes, not the table's 80.
    Table(Box<Table>),
}

impl Default for Repr {
    fn default() -> Self {
        Repr::Listpack(Listpack::default())
    }
}

// ---------------------------------------------------------------------
// listpack

/// Fields and values packed into one buffer: `len field len value ...`,
/// lengths as LEB128.
#[derive(Clone, Default)]
struct Listpack {
    buf: Vec<u8>,
    /// Number of (field, value) pairs.
    len: usize,
}

/// Where one pair lies in the buffer.
struct Slot {
    /// Start of the field's length.
    start: usize,
    /// Start of the value's length.
    value_at: usize,
    /// One past the value's last byte.
    end: usize,
}

fn put_len(buf: &mut Vec<u8>, mut n: usize) {
    loop {
        let b = (n & 0x7f) as u8;
        n >>= 7;
        if n == 0 {
            buf.push(b);
            return;
        }
        buf.push(b | 0x80);
    }
}

/// Bytes `put_item` writes for `n` bytes of data.
fn item_size(n: usize) -> usize {
    let mut len = 1;
    let mut v = n >> 7;
    while v != 0 {
        len += 1;
        v >>= 7;
    }
    len + n
}

fn put_item(buf: &mut Vec<u8>, data: &[u8]) {
    put_len(buf, data.len());
    buf.extend_from_slice(data);
}

/// Reads one item at `pos`: (its bytes, the position after it). `None`
/// only at the end of the buffer (or on a corrupt buffer, which the
/// writers never produce).
fn get_item(buf: &[u8], mut pos: usize) -> Option<(&[u8], usize)> {
    let mut n: usize = 0;
    let mut shift = 0u32;
    loop {
        let b = *buf.get(pos)?;
        pos += 1;
        n |= usize::from(b & 0x7f).checked_shl(shift)?;
        if b & 0x80 == 0 {
            break;
        }
        shift += 7;
    }
    let end = pos.checked_add(n)?;
    Some((buf.get(pos..end)?, end))
}

struct LpIter<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Iterator for LpIter<'a> {
    type Item = (&'a [u8], &'a [u8]);

    fn next(&mut self) -> Option<Self::Item> {
        let (f, p) = get_item(self.buf, self.pos)?;
        let (v, p) = get_item(self.buf, p)?;
        self.pos = p;
        Some((f, v))
    }
}

impl Listpack {
    fn iter(&self) -> LpIter<'_> {
        LpIter { buf: &self.buf, pos: 0 }
    }

    fn find(&self, field: &[u8]) -> Option<Slot> {
        let mut pos = 0;
        while let Some((f, value_at)) = get_item(&self.buf, pos) {
            let (_, end) = get_item(&self.buf, value_at)?;
            if f == field {
                return Some(Slot {
                    start: pos,
                    value_at,
                    end,
                });
            }
            pos = end;
        }
        None
    }

    fn get(&self, field: &[u8]) -> Option<&[u8]> {
        self.iter().find(|(f, _)| *f == field).map(|(_, v)| v)
    }

    /// Sets a field; returns true if it was new.
    fn set(&mut self, field: &[u8], value: &[u8]) -> bool {
        match self.find(field) {
            Some(s) => {
                let mut enc = Vec::with_capacity(value.len() + 4);
                put_item(&mut enc, value);
                self.buf.splice(s.value_at..s.end, enc);
                false
            }
            None => {
                // Exact growth, as Redis's listpack: a small hash's buffer
                // is the size of its contents (jemalloc reallocs within a
                // size class in place).
                self.buf.reserve_exact(item_size(field.len()) + item_size(value.len()));
                put_item(&mut self.buf, field);
                put_item(&mut self.buf, value);
                self.len += 1;
                true
            }
        }
    }

    fn remove(&mut self, field: &[u8]) -> bool {
        match self.find(field) {
            Some(s) => {
                self.buf.drain(s.start..s.end);
                self.len -= 1;
                if self.len == 0 {
                    self.buf = Vec::new();
                }
                true
            }
            None => false,
        }
    }
}

// ---------------------------------------------------------------------
// hashtable

#[derive(Clone)]
struct TEntry {
    hash: u64,
    field: Box<[u8]>,
    value: Box<[u8]>,
}

#[derive(Clone, Default)]
struct Table {
    entries: Vec<TEntry>,
    /// Positions in `entries`, hashed by the entry's field.
    index: HashTable<usize>,
    hasher: hashbrown::DefaultHashBuilder,
    /// Bytes of all fields and values.
    data: usize,
}

impl Table {
    fn with_capacity(n: usize) -> Table {
        Table {
            entries: Vec::with_capacity(n),
            index: HashTable::with_capacity(n),
            ..Table::default()
        }
    }

    fn hash(&self, field: &[u8]) -> u64 {
        self.hasher.hash_one(field)
    }

    fn position(&self, field: &[u8]) -> Option<usize> {
        let h = self.hash(field);
        let entries = &self.entries;
        self.index.find(h, |&i| *entries[i].field == *field).copied()
    }

    fn get(&self, field: &[u8]) -> Option<&[u8]> {
        self.position(field).map(|i| &*self.entries[i].value)
    }

    fn set(&mut self, field: &[u8], value: &[u8]) -> bool {
        let hash = self.hash(field);
        let entries = &self.entries;
        if let Some(&i) = self.index.find(hash, |&i| *entries[i].field == *field) {
            let e = &mut self.entries[i];
            self.data = self.data - e.value.len() + value.len();
            e.value = value.into();
            return false;
        }
        let pos = self.entries.len();
        self.entries.push(TEntry {
            hash,
            field: field.into(),
            value: value.into(),
        });
        self.data += field.len() + value.len();
        let entries = &self.entries;
        self.index.insert_unique(hash, pos, |&i| entries[i].hash);
        true
    }

    fn remove(&mut self, field: &[u8]) -> bool {
        let h = self.hash(field);
        let entries = &self.entries;
        let Ok(occ) = self.index.find_entry(h, |&i| *entries[i].field == *field) else {
            return false;
        };
        let (pos, _) = occ.remove();
        let last = self.entries.len() - 1;
        let e = self.entries.swap_remove(pos);
        self.data -= e.field.len() + e.value.len();
        if pos != last {
            // The last entry moved into the hole: repoint its index slot.
            let moved = self.entries[pos].hash;
            if let Some(slot) = self.index.find_mut(moved, |&i| i == last) {
                *slot = pos;
            }
        }
        true
    }

    fn heap_size(&self) -> usize {
        self.entries.capacity() * std::mem::size_of::<TEntry>()
            + self.data
            + self.index.capacity() * (std::mem::size_of::<usize>() + 1)
    }
}

// ---------------------------------------------------------------------
// Hash

/// Iterator over a hash's (field, value) pairs.
pub struct Iter<'a>(IterInner<'a>);

enum IterInner<'a> {
    Listpack(LpIter<'a>),
    Table(std::slice::Iter<'a, TEntry>),
}

impl<'a> Iterator for Iter<'a> {
    type Item = (&'a [u8], &'a [u8]);

    fn next(&mut self) -> Option<Self::Item> {
        match &mut self.0 {
            IterInner::Listpack(it) => it.next(),
            IterInner::Table(it) => it.next().map(|e| (&*e.field, &*e.value)),
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        match &self.0 {
            IterInner::Listpack(_) => (0, None),
            IterInner::Table(it) => it.size_hint(),
        }
    }
}

impl Hash {
    pub fn new() -> Hash {
        Hash::default()
    }

    /// OBJECT ENCODING's answer.
    pub fn encoding(&self) -> &'static str {
        match self.repr {
            Repr::Listpack(_) => "listpack",
            Repr::Table(_) => "hashtable",
        }
    }

    pub fn is_listpack(&self) -> bool {
        matches!(self.repr, Repr::Listpack(_))
    }

    pub fn len(&self) -> usize {
        match &self.repr {
            Repr::Listpack(lp) => lp.len,
            Repr::Table(t) => t.entries.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Heap bytes owned, for memory accounting.
    pub fn heap_size(&self) -> usize {
        match &self.repr {
            Repr::Listpack(lp) => lp.buf.capacity(),
            Repr::Table(t) => std::mem::size_of::<Table>() + t.heap_size(),
        }
    }

    pub fn get(&self, field: &[u8]) -> Option<&[u8]> {
        match &self.repr {
            Repr::Listpack(lp) => lp.get(field),
            Repr::Table(t) => t.get(field),
        }
    }

    pub fn contains(&self, field: &[u8]) -> bool {
        self.get(field).is_some()
    }

    /// The (field, value) pairs: insertion order for a listpack, the
    /// table's order (insertion order disturbed by deletions) otherwise.
    pub fn iter(&self) -> Iter<'_> {
        match &self.repr {
            Repr::Listpack(lp) => Iter(IterInner::Listpack(lp.iter())),
            Repr::Table(t) => Iter(IterInner::Table(t.entries.iter())),
        }
    }

    /// The pair at position `i` of [`Hash::iter`]'s order: O(1) for a
    /// hashtable, O(n) for a listpack.
    pub fn pair_at(&self, i: usize) -> Option<(&[u8], &[u8])> {
        match &self.repr {
            Repr::Listpack(lp) => lp.iter().nth(i),
            Repr::Table(t) => t.entries.get(i).map(|e| (&*e.field, &*e.value)),
        }
    }

    /// Redis's hashTypeTryConversion, before a command adds the
    /// field/value arguments `pairs`: converts a listpack when more new
    /// fields than `hash-max-listpack-entries` may arrive, or when one
    /// argument is longer than `hash-max-listpack-value`.
    pub fn prepare_for(&mut self, pairs: &[&[u8]], limits: &Limits) {
        if !self.is_listpack() {
            return;
        }
        let new_fields = pairs.len() / 2;
        if new_fields > limits.hash_max_listpack_entries {
            self.convert_with_capacity(self.len() + new_fields);
            return;
        }
        if pairs.iter().any(|a| a.len() > limits.hash_max_listpack_value) {
            self.convert();
        }
    }

    /// Sets `field` to `value`; returns true if the field is new.
    /// Converts to a hashtable when the pair is too long for a listpack
    /// or the hash grows past the entry limit.
    pub fn insert(&mut self, field: &[u8], value: &[u8], limits: &Limits) -> bool {
        if self.is_listpack()
            && (field.len() > limits.hash_max_listpack_value || value.len() > limits.hash_max_listpack_value)
        {
            self.convert();
        }
        let new = match &mut self.repr {
            Repr::Listpack(lp) => lp.set(field, value),
            Repr::Table(t) => t.set(field, value),
        };
        if self.is_listpack() && self.len() > limits.hash_max_listpack_entries {
            self.convert();
        }
        new
    }

    /// Removes `field`; returns whether it was there.
    pub fn remove(&mut self, field: &[u8]) -> bool {
        match &mut self.repr {
            Repr::Listpack(lp) => lp.remove(field),
            Repr::Table(t) => t.remove(field),
        }
    }

    /// Converts to the hashtable encoding (no-op if already there).
    pub fn convert(&mut self) {
        self.convert_with_capacity(self.len());
    }

    fn convert_with_capacity(&mut self, cap: usize) {
        let Repr::Listpack(lp) = &self.repr else {
            return;
        };
        let mut t = Table::with_capacity(cap.max(lp.len));
        for (f, v) in lp.iter() {
            t.set(f, v);
        }
        self.repr = Repr::Table(Box::new(t));
    }

    /// A uniformly random pair, or None if empty.
    pub fn random_pair(&self, rng: &mut impl rand::Rng) -> Option<(&[u8], &[u8])> {
        let n = self.len();
        if n == 0 {
            return None;
        }
        self.pair_at(rng.gen_range(0..n))
    }

    /// One HSCAN step of a hashtable-encoded hash. `cursor` is a position
    /// in the 64-bit space of field hashes (0 to start); each step calls
    /// `emit` for the fields whose hash lies in the next range holding
    /// about `count` fields (at least 1/64 of the hash, so a full
    /// iteration costs O(64 n) whatever COUNT is) and returns the cursor
    /// to continue from, 0 when done. A field's hash is fixed for the life
    /// of the hash, so every field present during a whole iteration is
    /// emitted exactly once. A listpack is emitted whole with cursor 0.
    pub fn scan<'a>(&'a self, cursor: u64, count: usize, mut emit: impl FnMut(&'a [u8], &'a [u8])) -> u64 {
        let t = match &self.repr {
            Repr::Listpack(lp) => {
                for (f, v) in lp.iter() {
                    emit(f, v);
                }
                return 0;
            }
            Repr::Table(t) => t,
        };
        let count = count.max(t.entries.len() / 64).max(1);
        let mut hashes: Vec<u64> = t.entries.iter().map(|e| e.hash).filter(|&h| h >= cursor).collect();
        let hi = if hashes.len() <= count {
            None
        } else {
            let (_, cut, _) = hashes.select_nth_unstable(count - 1);
            cut.checked_add(1)
        };
        for e in &t.entries {
            if e.hash >= cursor && hi.is_none_or(|hi| e.hash < hi) {
                emit(&e.field, &e.value);
            }
        }
        hi.unwrap_or(0)
    }
}

impl PartialEq for Hash {
    /// Same fields with the same values, whatever the encoding or order.
    fn eq(&self, other: &Hash) -> bool {
        self.len() == other.len() && self.iter().all(|(f, v)| other.get(f) == Some(v))
    }
}

impl std::fmt::Debug for Hash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut m = f.debug_map();
        for (k, v) in self.iter() {
            m.entry(&String::from_utf8_lossy(k), &String::from_utf8_lossy(v));
        }
        m.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::HashMap;

    fn limits(entries: usize, value: usize) -> Limits {
        Limits {
            hash_max_listpack_entries: entries,
            hash_max_listpack_value: value,
            ..Limits::default()
        }
    }

    #[test]
    fn listpack_keeps_insertion_order_and_replaces_in_place() {
        let l = Limits::default();
        let mut h = Hash::new();
        assert!(h.insert(b"b", b"1", &l));
        assert!(h.insert(b"a", b"2", &l));
        assert!(h.insert(b"c", b"", &l));
        assert!(!h.insert(b"a", b"a much longer value than before", &l));
        assert_eq!(h.encoding(), "listpack");
        let pairs: Vec<_> = h.iter().collect();
        assert_eq!(
            pairs,
            vec![
                (&b"b"[..], &b"1"[..]),
                (&b"a"[..], &b"a much longer value than before"[..]),
                (&b"c"[..], &b""[..])
            ]
        );
        assert_eq!(h.get(b"c"), Some(&b""[..]));
        assert_eq!(h.get(b"zz"), None);
        assert!(h.remove(b"a"));
        assert!(!h.remove(b"a"));
        assert_eq!(h.len(), 2);
        assert_eq!(h.pair_at(1), Some((&b"c"[..], &b""[..])));
        assert!(h.remove(b"b") && h.remove(b"c"));
        assert!(h.is_empty());
        assert_eq!(h.heap_size(), 0);
    }

    #[test]
    fn long_items_use_multibyte_lengths() {
        let l = limits(128, 100_000);
        let mut h = Hash::new();
        let big = vec![b'x'; 70_000];
        h.insert(&big, &big, &l);
        h.insert(b"k", b"v", &l);
        assert_eq!(h.encoding(), "listpack");
        assert_eq!(h.get(&big), Some(&big[..]));
        assert_eq!(h.get(b"k"), Some(&b"v"[..]));
        assert!(h.heap_size() >= 140_000);
    }

    #[test]
    fn converts_on_entry_count_and_value_length() {
        let l = limits(4, 8);
        let mut h = Hash::new();
        for i in 0..4 {
            h.insert(format!("f{i}").as_bytes(), b"v", &l);
        }
        assert_eq!(h.encoding(), "listpack");
        h.insert(b"f4", b"v", &l);
        assert_eq!(h.encoding(), "hashtable");
        // One-way: shrinking does not convert back.
        for i in 0..5 {
            h.remove(format!("f{i}").as_bytes());
        }
        h.insert(b"x", b"y", &l);
        assert_eq!(h.encoding(), "hashtable");

        let mut h = Hash::new();
        h.insert(b"12345678", b"12345678", &l);
        assert_eq!(h.encoding(), "listpack");
        h.insert(b"f", b"123456789", &l);
        assert_eq!(h.encoding(), "hashtable");
        assert_eq!(h.get(b"12345678"), Some(&b"12345678"[..]));

        let mut h = Hash::new();
        h.insert(b"123456789", b"v", &l);
        assert_eq!(h.encoding(), "hashtable");
    }

    #[test]
    fn prepare_for_follows_hash_type_try_conversion() {
        let l = limits(2, 8);
        let mut h = Hash::new();
        // Three pairs (even duplicates) exceed two entries: converted.
        h.prepare_for(&[b"a", b"1", b"a", b"1", b"a", b"1"], &l);
        assert_eq!(h.encoding(), "hashtable");
        let mut h = Hash::new();
        h.prepare_for(&[b"a", b"1", b"b", b"1"], &l);
        assert_eq!(h.encoding(), "listpack");
        h.prepare_for(&[b"a", b"123456789"], &l);
        assert_eq!(h.encoding(), "hashtable");
    }

    #[test]
    fn table_swap_remove_keeps_index_consistent() {
        let l = limits(0, 64);
        let mut h = Hash::new();
        for i in 0..1000 {
            h.insert(format!("f{i}").as_bytes(), format!("v{i}").as_bytes(), &l);
        }
        assert_eq!(h.encoding(), "hashtable");
        for i in (0..1000).step_by(3) {
            assert!(h.remove(format!("f{i}").as_bytes()));
        }
        for i in 0..1000 {
            let want = (i % 3 != 0).then(|| format!("v{i}").into_bytes());
            assert_eq!(h.get(format!("f{i}").as_bytes()).map(<[u8]>::to_vec), want, "f{i}");
        }
        assert_eq!(h.len(), 666);
        assert_eq!(h.iter().count(), 666);
        let mut rng = rand::thread_rng();
        let (f, v) = h.random_pair(&mut rng).unwrap();
        assert_eq!(h.get(f), Some(v));
    }

    #[test]
    fn small_hashes_are_compact() {
        assert_eq!(std::mem::size_of::<Hash>(), 32);
        let l = limits(128, 64);
        let mut h = Hash::new();
        for i in 0..5 {
            h.insert(format!("f{i}").as_bytes(), format!("value{i}").as_bytes(), &l);
        }
        assert_eq!(h.encoding(), "listpack");
        // 5 x (1 + 2 + 1 + 6): no spare capacity.
        assert_eq!(h.heap_size(), 50);
        assert_eq!(item_size(127), 128);
        assert_eq!(item_size(128), 130);
    }

    #[test]
    fn heap_size_tracks_contents() {
        let l = limits(0, 64);
        let mut h = Hash::new();
        for i in 0..100 {
            h.insert(format!("field{i}").as_bytes(), &[b'v'; 50], &l);
        }
        let full = h.heap_size();
        assert!(full >= 100 * (50 + 6), "{full}");
        for i in 0..100 {
            h.remove(format!("field{i}").as_bytes());
        }
        assert!(h.heap_size() < full - 100 * 50);
    }

    #[test]
    fn scan_covers_everything_once_even_when_table_changes() {
        let l = limits(0, 64);
        let mut h = Hash::new();
        for i in 0..5000 {
            h.insert(format!("f{i}").as_bytes(), b"v", &l);
        }
        let mut seen: Vec<Vec<u8>> = Vec::new();
        let mut cursor = 0;
        let mut steps = 0;
        loop {
            cursor = h.scan(cursor, 10, |f, _| seen.push(f.to_vec()));
            steps += 1;
            // Grow the table between steps: new fields may or may not
            // be seen; old ones must be seen exactly once.
            if steps < 20 {
                for j in 0..200 {
                    h.insert(format!("n{steps}-{j}").as_bytes(), b"v", &l);
                }
            }
            if cursor == 0 {
                break;
            }
        }
        assert!(steps > 10 && steps < 200, "{steps}");
        let total = seen.len();
        seen.sort();
        seen.dedup();
        assert_eq!(total, seen.len(), "duplicates");
        for i in 0..5000 {
            assert!(seen.binary_search(&format!("f{i}").into_bytes()).is_ok(), "f{i} missed");
        }
        // A listpack is returned whole.
        let mut lp = Hash::new();
        lp.insert(b"a", b"1", &Limits::default());
        let mut n = 0;
        assert_eq!(lp.scan(12345, 1, |_, _| n += 1), 0);
        assert_eq!(n, 1);
    }

    #[derive(Debug, Clone)]
    enum Op {
        Set(u8, Vec<u8>),
        Del(u8),
        Prepare(usize, usize),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            4 => (0u8..40, proptest::collection::vec(any::<u8>(), 0..12)).prop_map(|(f, v)| Op::Set(f, v)),
            2 => (0u8..40).prop_map(Op::Del),
            1 => (0usize..12, 0usize..12).prop_map(|(n, len)| Op::Prepare(n, len)),
        ]
    }

    proptest! {
        #[test]
        fn behaves_like_a_map(ops in proptest::collection::vec(op(), 1..200),
                              max_entries in 0usize..20, max_value in 0usize..10) {
            let l = limits(max_entries, max_value);
            let mut h = Hash::new();
            let mut model: HashMap<Vec<u8>, Vec<u8>> = HashMap::new();
            let mut converted = false;
            for op in ops {
                match op {
                    Op::Set(f, v) => {
                        let field = vec![b'f'; f as usize % 7 + 1];
                        let field = [field, vec![f]].concat();
                        let new = h.insert(&field, &v, &l);
                        prop_assert_eq!(new, model.insert(field, v).is_none());
                    }
                    Op::Del(f) => {
                        let field = [vec![b'f'; f as usize % 7 + 1], vec![f]].concat();
                        prop_assert_eq!(h.remove(&field), model.remove(&field).is_some());
                    }
                    Op::Prepare(n, len) => {
                        let arg = vec![b'x'; len];
                        let args: Vec<&[u8]> = (0..n).map(|_| &arg[..]).collect();
                        h.prepare_for(&args, &l);
                    }
                }
                if converted {
                    prop_assert_eq!(h.encoding(), "hashtable", "conversion is one-way");
                }
                converted = h.encoding() == "hashtable";
                if h.is_listpack() {
                    prop_assert!(h.len() <= max_entries);
                    prop_assert!(h.iter().all(|(f, v)| f.len() <= max_value && v.len() <= max_value));
                }
                prop_assert_eq!(h.len(), model.len());
            }
            for (f, v) in &model {
                prop_assert_eq!(h.get(f), Some(&v[..]));
            }
            prop_assert_eq!(h.iter().count(), model.len());
            for (i, (f, v)) in h.iter().enumerate() {
                prop_assert_eq!(model.get(f).map(|x| &x[..]), Some(v));
                prop_assert_eq!(h.pair_at(i), Some((f, v)));
            }
            let mut scanned = HashMap::new();
            let mut cursor = 0;
            loop {
                cursor = h.scan(cursor, 3, |f, v| { scanned.insert(f.to_vec(), v.to_vec()); });
                if cursor == 0 { break; }
            }
            prop_assert_eq!(scanned, model);
        }
    }
}
