//! The set value type, in Redis 7.2's three encodings (t_set.c):
//!
//! - `intset`: every member is the canonical decimal form of an i64 and
//!   there are at most `set-max-intset-entries`: a sorted array of
//!   integers, each stored in the narrowest width (2, 4 or 8 bytes) that
//!   holds them all, as Redis's intset.c.
//! - `listpack`: at most `set-max-listpack-entries` members of at most
//!   `set-max-listpack-value` bytes: one byte buffer of length-prefixed
//!   members in insertion order, searched linearly.
//! - `hashtable`: members in a dense vector, indexed by a `hashbrown`
//!   table of positions (O(1) insert, remove and fair random choice).
//!
//! Conversions follow `setTypeAddAux`: an intset meeting a non-integer
//! becomes a listpack if the result fits, else a hashtable; an intset
//! growing past its limit and a listpack outgrowing either of its limits
//! become hashtables. Nothing ever converts back, except the explicit
//! [`Set::maybe_convert_to_intset`] SINTERSTORE uses.

use std::hash::BuildHasher;

use hashbrown::HashTable;
use rand::Rng;

use crate::encoding::Limits;
use crate::value::{canonical_i64, itoa_buf};

/// Redis caps intsets at 2^30 entries whatever the configuration says.
const INTSET_HARD_MAX: usize = 1 << 30;

/// A member as an encoding holds it: intsets yield integers, the others
/// bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Member<'a> {
    Int(i64),
    Bytes(&'a [u8]),
}

impl Member<'_> {
    /// Calls `f` with the member's bytes (formatting an integer).
    pub fn with_bytes<R>(&self, f: impl FnOnce(&[u8]) -> R) -> R {
        match *self {
            Member::Int(n) => f(itoa_buf::Buf::default().format(n)),
            Member::Bytes(b) => f(b),
        }
    }

    pub fn to_vec(&self) -> Vec<u8> {
        self.with_bytes(|b| b.to_vec())
    }

    /// The member as an integer, if it is the canonical form of one.
    pub fn as_int(&self) -> Option<i64> {
        match *self {
            Member::Int(n) => Some(n),
            Member::Bytes(b) => canonical_i64(b),
        }
    }

    fn byte_len(&self) -> usize {
        match *self {
            Member::Int(n) => digits(n),
            Member::Bytes(b) => b.len(),
        }
    }
}

/// Length of the decimal form of `n` (Redis's sdigits10).
fn digits(n: i64) -> usize {
    itoa_buf::Buf::default().format(n).len()
}

fn intset_max(l: &Limits) -> usize {
    l.set_max_intset_entries.min(INTSET_HARD_MAX)
}

// ---------------------------------------------------------------------
// intset

#[derive(Clone, Debug, PartialEq, Eq)]
struct IntSet {
    /// Bytes per value: 2, 4 or 8.
    width: usize,
    /// Sorted values, little-endian, `width` bytes each.
    data: Vec<u8>,
}

fn width_for(v: i64) -> usize {
    if v >= i64::from(i16::MIN) && v <= i64::from(i16::MAX) {
        2
    } else if v >= i64::from(i32::MIN) && v <= i64::from(i32::MAX) {
        4
    } else {
        8
    }
}

impl IntSet {
    fn new() -> IntSet {
        IntSet {
            width: 2,
            data: Vec::new(),
        }
    }

    fn len(&self) -> usize {
        self.data.len() / self.width
    }

    fn get(&self, i: usize) -> i64 {
        let w = self.width;
        let b = &self.data[i * w..(i + 1) * w];
        match w {
            2 => i64::from(i16::from_le_bytes([b[0], b[1]])),
            4 => i64::from(i32::from_le_bytes([b[0], b[1], b[2], b[3]])),
            _ => i64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]),
        }
    }

    fn encode(v: i64, w: usize) -> ([u8; 8], usize) {
        (v.to_le_bytes(), w)
    }

    fn search(&self, v: i64) -> Result<usize, usize> {
        let (mut lo, mut hi) = (0, self.len());
        while lo < hi {
            let mid = (lo + hi) / 2;
            match self.get(mid).cmp(&v) {
                std::cmp::Ordering::Less => lo = mid + 1,
                std::cmp::Ordering::Greater => hi = mid,
                std::cmp::Ordering::Equal => return Ok(mid),
            }
        }
        Err(lo)
    }

    fn contains(&self, v: i64) -> bool {
        width_for(v) <= self.width && self.search(v).is_ok()
    }

    fn insert(&mut self, v: i64) -> bool {
        let need = width_for(v);
        if need > self.width {
            // v lies outside the current range: it goes first or last.
            let n = self.len();
            let mut data = Vec::with_capacity((n + 1) * need);
            if v < 0 {
                data.extend_from_slice(&v.to_le_bytes()[..need]);
            }
            for i in 0..n {
                data.extend_from_slice(&self.get(i).to_le_bytes()[..need]);
            }
            if v >= 0 {
                data.extend_from_slice(&v.to_le_bytes()[..need]);
            }
            self.width = need;
            self.data = data;
            return true;
        }
        match self.search(v) {
            Ok(_) => false,
            Err(pos) => {
                let (bytes, w) = IntSet::encode(v, self.width);
                let at = pos * w;
                self.data.splice(at..at, bytes[..w].iter().copied());
                true
            }
        }
    }

    fn remove(&mut self, v: i64) -> bool {
        if width_for(v) > self.width {
            return false;
        }
        match self.search(v) {
            Ok(pos) => {
                let w = self.width;
                self.data.drain(pos * w..(pos + 1) * w);
                if self.data.capacity() > 2 * self.data.len() + 16 {
                    self.data.shrink_to_fit();
                }
                true
            }
            Err(_) => false,
        }
    }

    fn min(&self) -> Option<i64> {
        (self.len() > 0).then(|| self.get(0))
    }

    fn max(&self) -> Option<i64> {
        let n = self.len();
        (n > 0).then(|| self.get(n - 1))
    }
}

// ---------------------------------------------------------------------
// listpack

#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct Pack {
    /// Members in order, each as a LEB128 length then its bytes.
    buf: Vec<u8>,
    count: usize,
}

fn read_len(buf: &[u8], mut at: usize) -> (usize, usize) {
    let mut n = 0usize;
    let mut shift = 0;
    while let Some(&b) = buf.get(at) {
        at += 1;
        n |= usize::from(b & 0x7f) << shift;
        if b & 0x80 == 0 {
            break;
        }
        shift += 7;
    }
    (n, at)
}

struct PackIter<'a> {
    buf: &'a [u8],
    at: usize,
}

impl<'a> Iterator for PackIter<'a> {
    /// (start of the entry, member bytes)
    type Item = (usize, &'a [u8]);
    fn next(&mut self) -> Option<Self::Item> {
        if self.at >= self.buf.len() {
            return None;
        }
        let start = self.at;
        let (len, data) = read_len(self.buf, start);
        let end = (data + len).min(self.buf.len());
        self.at = end;
        Some((start, &self.buf[data..end]))
    }
}

impl Pack {
    fn iter(&self) -> PackIter<'_> {
        PackIter { buf: &self.buf, at: 0 }
    }

    fn find(&self, m: &[u8]) -> Option<usize> {
        self.iter().find(|(_, b)| *b == m).map(|(s, _)| s)
    }

    fn push(&mut self, m: &[u8]) {
        let mut n = m.len();
        loop {
            let b = (n & 0x7f) as u8;
            n >>= 7;
            if n == 0 {
                self.buf.push(b);
                break;
            }
            self.buf.push(b | 0x80);
        }
        self.buf.extend_from_slice(m);
        self.count += 1;
    }

    fn remove_at(&mut self, start: usize) {
        let (len, data) = read_len(&self.buf, start);
        self.buf.drain(start..data + len);
        self.count -= 1;
        if self.buf.capacity() > 2 * self.buf.len() + 32 {
            self.buf.shrink_to_fit();
        }
    }

    fn remove(&mut self, m: &[u8]) -> bool {
        match self.find(m) {
            Some(s) => {
                self.remove_at(s);
                true
            }
            None => false,
        }
    }
}

// ---------------------------------------------------------------------
// hashtable

#[derive(Clone, Debug, Default)]
struct Table {
    hasher: hashbrown::DefaultHashBuilder,
    /// Positions into `items`, hashed by the member they point at.
    index: HashTable<usize>,
    items: Vec<Box<[u8]>>,
    /// `hashes[i]` is the hash of `items[i]`: rehashing the index and
    /// SSCAN read it instead of hashing the members again.
    hashes: Vec<u64>,
    /// Sum of the members' lengths.
    bytes: usize,
}

impl PartialEq for Table {
    fn eq(&self, other: &Table) -> bool {
        self.items.len() == other.items.len() && self.items.iter().all(|m| other.contains(m))
    }
}

impl Table {
    fn with_capacity(n: usize) -> Table {
        Table {
            index: HashTable::with_capacity(n),
            items: Vec::with_capacity(n),
            hashes: Vec::with_capacity(n),
            ..Table::default()
        }
    }

    fn hash(&self, m: &[u8]) -> u64 {
        self.hasher.hash_one(m)
    }

    fn contains(&self, m: &[u8]) -> bool {
        let items = &self.items;
        self.index.find(self.hash(m), |&i| &*items[i] == m).is_some()
    }

    fn insert(&mut self, m: &[u8]) -> bool {
        let h = self.hash(m);
        let Table {
            index, items, hashes, ..
        } = self;
        match index.entry(h, |&i| &*items[i] == m, |&i| hashes[i]) {
            hashbrown::hash_table::Entry::Occupied(_) => false,
            hashbrown::hash_table::Entry::Vacant(v) => {
                v.insert(items.len());
                items.push(m.into());
                hashes.push(h);
                self.bytes += m.len();
                true
            }
        }
    }

    /// Removes the member at position `pos` of `items`.
    fn remove_at(&mut self, pos: usize) -> Box<[u8]> {
        if let Ok(e) = self.index.find_entry(self.hashes[pos], |&i| i == pos) {
            e.remove();
        }
        let last = self.items.len() - 1;
        let m = self.items.swap_remove(pos);
        self.hashes.swap_remove(pos);
        if pos != last {
            if let Some(slot) = self.index.find_mut(self.hashes[pos], |&i| i == last) {
                *slot = pos;
            }
        }
        self.bytes -= m.len();
        self.maybe_shrink();
        m
    }

    fn remove(&mut self, m: &[u8]) -> bool {
        let items = &self.items;
        match self.index.find(self.hash(m), |&i| &*items[i] == m) {
            Some(&pos) => {
                self.remove_at(pos);
                true
            }
            None => false,
        }
    }

    /// Gives memory back when the set has shrunk to an eighth of its
    /// capacity (Redis's dict resizes at 10% fill).
    fn maybe_shrink(&mut self) {
        let n = self.items.len();
        if self.items.capacity() > 64 && n * 8 < self.items.capacity() {
            self.items.shrink_to(n * 2);
            self.hashes.shrink_to(n * 2);
            let Table { index, hashes, .. } = self;
            index.shrink_to(n * 2, |&i| hashes[i]);
        }
    }

    fn heap_size(&self) -> usize {
        self.index.allocation_size()
            + self.items.capacity() * std::mem::size_of::<Box<[u8]>>()
            + self.hashes.capacity() * std::mem::size_of::<u64>()
            + self.bytes
    }
}

// ---------------------------------------------------------------------
// the set

#[derive(Clone, Debug, PartialEq)]
enum Repr {
    Int(IntSet),
    Pack(Pack),
    /// Boxed so that small sets stay small.
    Table(Box<Table>),
}

#[derive(Clone, Debug, PartialEq)]
pub struct Set {
    repr: Repr,
}

impl Default for Set {
    fn default() -> Self {
        Set::new_intset()
    }
}

/// Iterates a set's members in its encoding's order: ascending for an
/// intset, insertion order for a listpack, the dense vector's order for a
/// hashtable.
pub struct Iter<'a> {
    inner: IterInner<'a>,
}

enum IterInner<'a> {
    Int(&'a IntSet, usize),
    Pack(PackIter<'a>),
    Table(std::slice::Iter<'a, Box<[u8]>>),
}

impl<'a> Iterator for Iter<'a> {
    type Item = Member<'a>;
    fn next(&mut self) -> Option<Member<'a>> {
        match &mut self.inner {
            IterInner::Int(s, i) => {
                if *i >= s.len() {
                    return None;
                }
                *i += 1;
                Some(Member::Int(s.get(*i - 1)))
            }
            IterInner::Pack(p) => p.next().map(|(_, b)| Member::Bytes(b)),
            IterInner::Table(t) => t.next().map(|b| Member::Bytes(b)),
        }
    }
}

impl Set {
    /// An empty intset (what SUNION/SDIFF start their result from).
    pub fn new_intset() -> Set {
        Set {
            repr: Repr::Int(IntSet::new()),
        }
    }

    /// An empty listpack.
    pub fn new_listpack() -> Set {
        Set {
            repr: Repr::Pack(Pack::default()),
        }
    }

    /// Redis's setTypeCreate: a set about to receive about `size_hint`
    /// members, the first being `first`.
    pub fn with_hint(first: &[u8], size_hint: usize, limits: &Limits) -> Set {
        if canonical_i64(first).is_some() && size_hint <= limits.set_max_intset_entries {
            return Set::new_intset();
        }
        if size_hint <= limits.set_max_listpack_entries {
            return Set::new_listpack();
        }
        Set {
            repr: Repr::Table(Box::new(Table::with_capacity(size_hint))),
        }
    }

    /// OBJECT ENCODING's answer.
    pub fn encoding(&self) -> &'static str {
        match self.repr {
            Repr::Int(_) => "intset",
            Repr::Pack(_) => "listpack",
            Repr::Table(_) => "hashtable",
        }
    }

    /// An intset's bytes per value (2, 4 or 8); `None` for the other
    /// encodings. RDB saves the intset at this width, as Redis.
    pub fn intset_width(&self) -> Option<usize> {
        match &self.repr {
            Repr::Int(s) => Some(s.width),
            _ => None,
        }
    }

    pub fn len(&self) -> usize {
        match &self.repr {
            Repr::Int(s) => s.len(),
            Repr::Pack(p) => p.count,
            Repr::Table(t) => t.items.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Heap bytes owned, for memory accounting.
    pub fn heap_size(&self) -> usize {
        match &self.repr {
            Repr::Int(s) => s.data.capacity(),
            Repr::Pack(p) => p.buf.capacity(),
            Repr::Table(t) => std::mem::size_of::<Table>() + t.heap_size(),
        }
    }

    pub fn iter(&self) -> Iter<'_> {
        Iter {
            inner: match &self.repr {
                Repr::Int(s) => IterInner::Int(s, 0),
                Repr::Pack(p) => IterInner::Pack(p.iter()),
                Repr::Table(t) => IterInner::Table(t.items.iter()),
            },
        }
    }

    /// Converts to a hashtable sized for `cap` members.
    fn convert_to_table(&mut self, cap: usize) {
        if matches!(self.repr, Repr::Table(_)) {
            return;
        }
        let mut t = Table::with_capacity(cap.max(self.len()));
        for m in self.iter() {
            m.with_bytes(|b| t.insert(b));
        }
        self.repr = Repr::Table(Box::new(t));
    }

    /// Redis's setTypeMaybeConvert: before adding about `size_hint`
    /// members, goes straight to a hashtable if a compact encoding could
    /// not hold that many.
    pub fn maybe_convert(&mut self, size_hint: usize, limits: &Limits) {
        let convert = match self.repr {
            Repr::Pack(_) => size_hint > limits.set_max_listpack_entries,
            Repr::Int(_) => size_hint > limits.set_max_intset_entries,
            Repr::Table(_) => false,
        };
        if convert {
            self.convert_to_table(size_hint);
        }
    }

    /// Adds a member; true if it was not there. Converts the encoding as
    /// Redis's setTypeAddAux does.
    pub fn insert(&mut self, m: &[u8], limits: &Limits) -> bool {
        self.insert_member(Member::Bytes(m), limits)
    }

    /// [`Set::insert`] for a member taken from another set.
    pub fn insert_member(&mut self, m: Member<'_>, limits: &Limits) -> bool {
        match &mut self.repr {
            Repr::Table(t) => m.with_bytes(|b| t.insert(b)),
            Repr::Pack(p) => {
                let found = m.with_bytes(|b| p.find(b).is_some());
                if found {
                    return false;
                }
                if p.count < limits.set_max_listpack_entries && m.byte_len() <= limits.set_max_listpack_value {
                    m.with_bytes(|b| p.push(b));
                } else {
                    let cap = p.count + 1;
                    self.convert_to_table(cap);
                    self.insert_member(m, limits);
                }
                true
            }
            Repr::Int(s) => {
                if let Some(v) = m.as_int() {
                    if !s.insert(v) {
                        return false;
                    }
                    if s.len() > intset_max(limits) {
                        let cap = s.len();
                        self.convert_to_table(cap);
                    }
                    return true;
                }
                let n = s.len();
                let maxelelen = match (s.min(), s.max()) {
                    (Some(lo), Some(hi)) => digits(lo).max(digits(hi)),
                    _ => 0,
                };
                let len = m.byte_len();
                if n < limits.set_max_listpack_entries
                    && len <= limits.set_max_listpack_value
                    && maxelelen <= limits.set_max_listpack_value
                {
                    let mut p = Pack::default();
                    for i in 0..n {
                        p.push(itoa_buf::Buf::default().format(s.get(i)));
                    }
                    m.with_bytes(|b| p.push(b));
                    p.buf.shrink_to_fit();
                    self.repr = Repr::Pack(p);
                } else {
                    self.convert_to_table(n + 1);
                    self.insert_member(m, limits);
                }
                true
            }
        }
    }

    /// Removes a member; true if it was there.
    pub fn remove(&mut self, m: &[u8]) -> bool {
        match &mut self.repr {
            Repr::Int(s) => canonical_i64(m).is_some_and(|v| s.remove(v)),
            Repr::Pack(p) => p.remove(m),
            Repr::Table(t) => t.remove(m),
        }
    }

    pub fn contains(&self, m: &[u8]) -> bool {
        self.contains_member(Member::Bytes(m))
    }

    pub fn contains_member(&self, m: Member<'_>) -> bool {
        match &self.repr {
            Repr::Int(s) => m.as_int().is_some_and(|v| s.contains(v)),
            Repr::Pack(p) => m.with_bytes(|b| p.find(b).is_some()),
            Repr::Table(t) => m.with_bytes(|b| t.contains(b)),
        }
    }

    /// The member at position `i` of the iteration order (O(1) for
    /// intsets and hashtables, O(i) for listpacks).
    pub fn nth(&self, i: usize) -> Option<Member<'_>> {
        match &self.repr {
            Repr::Int(s) => (i < s.len()).then(|| Member::Int(s.get(i))),
            Repr::Pack(p) => p.iter().nth(i).map(|(_, b)| Member::Bytes(b)),
            Repr::Table(t) => t.items.get(i).map(|b| Member::Bytes(b)),
        }
    }

    /// A uniformly chosen member, None if the set is empty.
    pub fn random(&self, rng: &mut impl Rng) -> Option<Member<'_>> {
        let n = self.len();
        if n == 0 {
            return None;
        }
        self.nth(rng.gen_range(0..n))
    }

    /// Removes and returns a uniformly chosen member.
    pub fn pop_random(&mut self, rng: &mut impl Rng) -> Option<Vec<u8>> {
        let n = self.len();
        if n == 0 {
            return None;
        }
        let i = rng.gen_range(0..n);
        Some(match &mut self.repr {
            Repr::Int(s) => {
                let v = s.get(i);
                s.remove(v);
                itoa_buf::Buf::default().format(v).to_vec()
            }
            Repr::Pack(p) => {
                let (start, m) = p.iter().nth(i)?;
                let m = m.to_vec();
                p.remove_at(start);
                m
            }
            Repr::Table(t) => t.remove_at(i).into_vec(),
        })
    }

    /// `count` distinct positions in `0..len`, ascending (count < len).
    pub fn random_positions(&self, count: usize, rng: &mut impl Rng) -> Vec<usize> {
        let n = self.len();
        let count = count.min(n);
        let mut v = rand::seq::index::sample(rng, n, count).into_vec();
        v.sort_unstable();
        v
    }

    /// Redis's maybeConvertToIntset, for a set known to hold only
    /// integers: back to an intset if it is small enough.
    pub fn maybe_convert_to_intset(&mut self, limits: &Limits) {
        if matches!(self.repr, Repr::Int(_)) || self.len() > intset_max(limits) {
            return;
        }
        let mut s = IntSet::new();
        for m in self.iter() {
            match m.as_int() {
                Some(v) => {
                    s.insert(v);
                }
                None => return,
            }
        }
        self.repr = Repr::Int(s);
    }

    /// One SSCAN step over a hashtable: the members whose hash lies in
    /// `[cursor, cursor + w)`, `w` being the width of hash space that
    /// holds about `count` members; returns the next cursor (the least
    /// hash beyond the range) or 0 when none is left. Positions are in the
    /// space of the set's hasher, fixed for the set's life, so a member
    /// present for a whole iteration is returned exactly once however the
    /// table changes in between. One pass over the cached hashes, no
    /// allocation. Compact encodings return everything with cursor 0, as
    /// Redis.
    pub fn scan<'s>(&'s self, cursor: u64, count: usize, mut keep: impl FnMut(Member<'s>)) -> u64 {
        let Repr::Table(t) = &self.repr else {
            self.iter().for_each(keep);
            return 0;
        };
        let n = t.hashes.len();
        let count = count.max(1);
        let hi = if count >= n {
            None
        } else {
            cursor.checked_add((u64::MAX / n as u64).saturating_mul(count as u64))
        };
        let mut beyond: Option<u64> = None;
        for (m, &h) in t.items.iter().zip(&t.hashes) {
            if h < cursor {
                continue;
            }
            match hi {
                Some(hi) if h >= hi => beyond = Some(beyond.map_or(h, |b| b.min(h))),
                _ => keep(Member::Bytes(m)),
            }
        }
        beyond.unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::HashSet;

    fn lim() -> Limits {
        Limits::default()
    }

    fn members(s: &Set) -> Vec<Vec<u8>> {
        s.iter().map(|m| m.to_vec()).collect()
    }

    #[test]
    fn intset_widths_and_order() {
        let l = lim();
        let mut s = Set::new_intset();
        for v in [5i64, -3, 70000, 1, i64::MIN, i64::MAX, 0, 5] {
            s.insert(v.to_string().as_bytes(), &l);
        }
        assert_eq!(s.encoding(), "intset");
        assert_eq!(s.len(), 7);
        let got: Vec<i64> = s.iter().map(|m| m.as_int().unwrap()).collect();
        assert_eq!(got, vec![i64::MIN, -3, 0, 1, 5, 70000, i64::MAX]);
        let Repr::Int(is) = &s.repr else { panic!() };
        assert_eq!(is.width, 8);
        assert!(s.contains(b"70000"));
        assert!(!s.contains(b"070000"));
        assert!(s.remove(b"-3"));
        assert!(!s.remove(b"-3"));
        assert!(!s.remove(b"x"));
        assert_eq!(s.len(), 6);
        assert!(s.heap_size() >= 6 * 8 && s.heap_size() <= 2 * 6 * 8 + 16);
    }

    #[test]
    fn intset_to_listpack_to_hashtable() {
        let l = lim();
        let mut s = Set::new_intset();
        s.insert(b"1", &l);
        s.insert(b"2", &l);
        assert!(s.insert(b"a", &l));
        assert_eq!(s.encoding(), "listpack");
        assert_eq!(members(&s), vec![b"1".to_vec(), b"2".to_vec(), b"a".to_vec()]);
        assert!(!s.insert(b"2", &l));
        s.insert(&[b'x'; 65], &l);
        assert_eq!(s.encoding(), "hashtable");
        assert_eq!(s.len(), 4);
        assert!(s.contains(b"1") && s.contains(b"a") && s.contains(&[b'x'; 65]));
    }

    #[test]
    fn intset_too_big_for_listpack_goes_to_hashtable() {
        let l = lim();
        let mut s = Set::new_intset();
        for i in 0..128 {
            s.insert(i.to_string().as_bytes(), &l);
        }
        s.insert(b"a", &l);
        assert_eq!(s.encoding(), "hashtable");
        let mut s = Set::new_intset();
        for i in 0..500 {
            s.insert(i.to_string().as_bytes(), &l);
        }
        assert_eq!(s.encoding(), "intset");
        for i in 500..513 {
            s.insert(i.to_string().as_bytes(), &l);
        }
        assert_eq!(s.encoding(), "hashtable");
        assert_eq!(s.len(), 513);
        // A value longer than set-max-listpack-value among the ints.
        let l2 = Limits {
            set_max_listpack_value: 3,
            ..lim()
        };
        let mut s = Set::new_intset();
        s.insert(b"1000", &l2);
        s.insert(b"a", &l2);
        assert_eq!(s.encoding(), "hashtable");
    }

    #[test]
    fn listpack_limits_and_order() {
        let l = Limits {
            set_max_listpack_entries: 3,
            ..lim()
        };
        let mut s = Set::new_listpack();
        for m in ["c", "a", "b"] {
            s.insert(m.as_bytes(), &l);
        }
        assert_eq!(members(&s), vec![b"c".to_vec(), b"a".to_vec(), b"b".to_vec()]);
        assert!(s.remove(b"a"));
        assert_eq!(members(&s), vec![b"c".to_vec(), b"b".to_vec()]);
        s.insert(b"d", &l);
        assert_eq!(s.encoding(), "listpack");
        s.insert(b"e", &l);
        assert_eq!(s.encoding(), "hashtable");
        // Long members need multi-byte length prefixes.
        let mut s = Set::new_listpack();
        let big = vec![b'z'; 300];
        let l = Limits {
            set_max_listpack_value: 1000,
            ..lim()
        };
        s.insert(&big, &l);
        s.insert(b"q", &l);
        assert!(s.contains(&big));
        assert_eq!(members(&s), vec![big.clone(), b"q".to_vec()]);
        assert!(s.remove(&big));
        assert_eq!(members(&s), vec![b"q".to_vec()]);
    }

    #[test]
    fn create_and_maybe_convert() {
        let l = lim();
        assert_eq!(Set::with_hint(b"1", 1, &l).encoding(), "intset");
        assert_eq!(Set::with_hint(b"1", 513, &l).encoding(), "hashtable");
        assert_eq!(Set::with_hint(b"a", 128, &l).encoding(), "listpack");
        assert_eq!(Set::with_hint(b"a", 129, &l).encoding(), "hashtable");
        assert_eq!(Set::with_hint(b"1", 200, &l).encoding(), "intset");
        let mut s = Set::new_listpack();
        s.maybe_convert(128, &l);
        assert_eq!(s.encoding(), "listpack");
        s.maybe_convert(129, &l);
        assert_eq!(s.encoding(), "hashtable");
    }

    #[test]
    fn back_to_intset() {
        let l = lim();
        let mut s = Set::new_listpack();
        s.insert(b"3", &l);
        s.insert(b"1", &l);
        s.maybe_convert_to_intset(&l);
        assert_eq!(s.encoding(), "intset");
        assert_eq!(members(&s), vec![b"1".to_vec(), b"3".to_vec()]);
        let mut s = Set::new_listpack();
        s.insert(b"x", &l);
        s.maybe_convert_to_intset(&l);
        assert_eq!(s.encoding(), "listpack");
    }

    #[test]
    fn random_and_pop() {
        let l = lim();
        let mut rng = rand::thread_rng();
        for first in ["1", "a", "b"] {
            let mut s = Set::with_hint(first.as_bytes(), if first == "b" { 1000 } else { 1 }, &l);
            let mut model = HashSet::new();
            for i in 0..50 {
                let m = if first == "1" { i.to_string() } else { format!("m{i}") };
                s.insert(m.as_bytes(), &l);
                model.insert(m.into_bytes());
            }
            for _ in 0..20 {
                let r = s.random(&mut rng).unwrap().to_vec();
                assert!(model.contains(&r));
            }
            while let Some(m) = s.pop_random(&mut rng) {
                assert!(model.remove(&m), "popped a member twice or a stranger");
                assert_eq!(s.len(), model.len());
            }
            assert!(model.is_empty());
            assert!(s.random(&mut rng).is_none());
        }
    }

    #[test]
    fn scan_hashtable_covers_everything_once() {
        let l = lim();
        let mut s = Set::with_hint(b"a", 1000, &l);
        for i in 0..1000 {
            s.insert(format!("m{i}").as_bytes(), &l);
        }
        let mut seen = Vec::new();
        let mut cursor = 0;
        let mut calls = 0;
        loop {
            cursor = s.scan(cursor, 10, |m| seen.push(m.to_vec()));
            calls += 1;
            if cursor == 0 {
                break;
            }
        }
        assert!(calls > 50, "steps by count: {calls}");
        seen.sort();
        let before = seen.len();
        seen.dedup();
        assert_eq!(before, seen.len());
        assert_eq!(seen.len(), 1000);
        // Compact encodings return everything at once.
        let mut s = Set::new_intset();
        s.insert(b"1", &l);
        s.insert(b"2", &l);
        let mut n = 0;
        assert_eq!(s.scan(0, 1, |_| n += 1), 0);
        assert_eq!(n, 2);
    }

    #[test]
    fn small_sets_stay_small() {
        assert!(std::mem::size_of::<Set>() <= 40, "{}", std::mem::size_of::<Set>());
        let l = lim();
        let mut s = Set::new_intset();
        s.insert(b"1", &l);
        assert!(s.heap_size() < 64);
    }

    #[test]
    fn heap_size_tracks_contents() {
        let l = lim();
        let mut s = Set::with_hint(b"a", 1000, &l);
        let empty = s.heap_size();
        for i in 0..1000 {
            s.insert(format!("member-{i:06}").as_bytes(), &l);
        }
        assert!(s.heap_size() >= empty + 1000 * 13);
        for i in 0..1000 {
            s.remove(format!("member-{i:06}").as_bytes());
        }
        assert!(s.is_empty());
        assert!(s.heap_size() < 4096, "shrinks: {}", s.heap_size());
    }

    #[derive(Debug, Clone)]
    enum Op {
        Add(String),
        Rem(String),
        Pop,
    }

    fn member() -> impl Strategy<Value = String> {
        prop_oneof![
            (-40i64..40).prop_map(|v| v.to_string()),
            prop_oneof![Just(i64::MIN), Just(i64::MAX), Just(70000), Just(-3_000_000_000)].prop_map(|v| v.to_string()),
            "[a-c]{1,3}",
            "0[0-9]",
            "x{60,70}",
        ]
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            4 => member().prop_map(Op::Add),
            2 => member().prop_map(Op::Rem),
            1 => Just(Op::Pop),
        ]
    }

    proptest! {
        #[test]
        fn behaves_like_a_hashset(
            ops in proptest::collection::vec(op(), 0..300),
            intset_max in 0usize..40,
            lp_entries in 0usize..40,
            lp_value in 0usize..70,
        ) {
            let l = Limits {
                set_max_intset_entries: intset_max,
                set_max_listpack_entries: lp_entries,
                set_max_listpack_value: lp_value,
                ..Limits::default()
            };
            let mut rng = rand::thread_rng();
            let mut s = Set::new_intset();
            let mut model: HashSet<Vec<u8>> = HashSet::new();
            let rank = |e: &str| match e { "intset" => 0, "listpack" => 1, _ => 2 };
            for op in ops {
                let before = rank(s.encoding());
                match op {
                    Op::Add(m) => {
                        prop_assert_eq!(s.insert(m.as_bytes(), &l), model.insert(m.into_bytes()));
                    }
                    Op::Rem(m) => {
                        prop_assert_eq!(s.remove(m.as_bytes()), model.remove(m.as_bytes()));
                    }
                    Op::Pop => {
                        let p = s.pop_random(&mut rng);
                        match p {
                            Some(m) => prop_assert!(model.remove(&m)),
                            None => prop_assert!(model.is_empty()),
                        }
                    }
                }
                prop_assert!(rank(s.encoding()) >= before, "never converts back");
                prop_assert_eq!(s.len(), model.len());
                match s.encoding() {
                    "intset" => {
                        prop_assert!(s.len() <= intset_max);
                        prop_assert!(model.iter().all(|m| canonical_i64(m).is_some()));
                    }
                    "listpack" => prop_assert!(s.len() <= lp_entries.max(1)),
                    _ => {}
                }
            }
            if let Repr::Table(t) = &s.repr {
                prop_assert_eq!(t.hashes.len(), t.items.len());
                prop_assert_eq!(t.index.len(), t.items.len());
                prop_assert_eq!(t.bytes, t.items.iter().map(|m| m.len()).sum::<usize>());
                for (i, m) in t.items.iter().enumerate() {
                    prop_assert_eq!(t.hashes[i], t.hash(m));
                    prop_assert!(t.index.find(t.hashes[i], |&j| j == i).is_some());
                }
            }
            let got: HashSet<Vec<u8>> = s.iter().map(|m| m.to_vec()).collect();
            prop_assert_eq!(got.len(), s.len());
            prop_assert_eq!(&got, &model);
            for m in &model {
                prop_assert!(s.contains(m));
            }
            let mut scanned = HashSet::new();
            let mut c = 0;
            loop {
                c = s.scan(c, 3, |m| { scanned.insert(m.to_vec()); });
                if c == 0 { break; }
            }
            prop_assert_eq!(&scanned, &model);
        }
    }
}
