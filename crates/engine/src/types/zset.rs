//! The sorted set type (Redis's t_zset.c data side).
//!
//! Elements are ordered by (score, member bytes). Two encodings, as Redis:
//!
//! - `listpack`: a sorted `Vec` of (score, member), used while the set has
//!   at most `zset-max-listpack-entries` elements and no member is longer
//!   than `zset-max-listpack-value` bytes. Every operation is a binary or
//!   linear search over at most a few hundred entries.
//! - `skiplist`: an order-statistic treap (a randomized balanced binary
//!   search tree whose nodes carry their subtree size) in an arena, plus a
//!   hash index from member to node. Lookup by member is O(1); insert,
//!   delete, rank, select-by-rank and range bounds are O(log n); visiting a
//!   range of m elements is O(log n + m). It answers to Redis's name
//!   "skiplist" since that is what OBJECT ENCODING must report.
//!
//! Conversion listpack -> skiplist happens when a threshold is crossed and
//! never goes back for a live value; [`ZSet::fit_encoding`] lets commands
//! that build a fresh result (ZUNIONSTORE, ZRANGESTORE...) pick the
//! encoding Redis would pick for it.

use std::cmp::Ordering;
use std::hash::BuildHasher;

use hashbrown::HashTable;

use crate::encoding::Limits;

/// Compares two elements by (score, member). Scores are never NaN.
#[inline]
pub fn cmp_elem(s1: f64, m1: &[u8], s2: f64, m2: &[u8]) -> Ordering {
    match s1.partial_cmp(&s2) {
        Some(Ordering::Equal) | None => m1.cmp(m2),
        Some(o) => o,
    }
}

const NIL: u32 = u32::MAX;

#[derive(Clone, Debug)]
struct Node {
    score: f64,
    member: Box<[u8]>,
    hash: u64,
    left: u32,
    right: u32,
    size: u32,
    prio: u32,
    /// The first 8 member bytes, big-endian, zero padded: most member
    /// comparisons are decided here without touching the member's memory.
    pfx: u64,
}

fn prefix(m: &[u8]) -> u64 {
    let mut b = [0u8; 8];
    let n = m.len().min(8);
    b[..n].copy_from_slice(&m[..n]);
    u64::from_be_bytes(b)
}

/// The large encoding: an arena treap with subtree sizes, plus a hash
/// index from member to arena slot.
#[derive(Clone)]
struct Tree {
    nodes: Vec<Node>,
    free: Vec<u32>,
    root: u32,
    index: HashTable<u32>,
    hasher: hashbrown::DefaultHashBuilder,
    rng: u64,
}

impl std::fmt::Debug for Tree {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tree").field("len", &self.len()).finish()
    }
}

impl Tree {
    fn new() -> Tree {
        Tree {
            nodes: Vec::new(),
            free: Vec::new(),
            root: NIL,
            index: HashTable::new(),
            hasher: hashbrown::DefaultHashBuilder::default(),
            rng: rand::random::<u64>() | 1,
        }
    }

    fn len(&self) -> usize {
        self.sz(self.root)
    }

    #[inline]
    fn sz(&self, t: u32) -> usize {
        if t == NIL {
            0
        } else {
            self.nodes[t as usize].size as usize
        }
    }

    #[inline]
    fn n(&self, t: u32) -> &Node {
        &self.nodes[t as usize]
    }

    #[inline]
    fn upd(&mut self, t: u32) {
        let (l, r) = (self.nodes[t as usize].left, self.nodes[t as usize].right);
        let s = 1 + self.sz(l) + self.sz(r);
        self.nodes[t as usize].size = s as u32;
    }

    fn next_prio(&mut self) -> u32 {
        // xorshift64*
        let mut x = self.rng;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.rng = x;
        (x.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 32) as u32
    }

    /// Splits `t` into (first k elements, the rest).
    fn split_rank(&mut self, t: u32, k: usize) -> (u32, u32) {
        if t == NIL {
            return (NIL, NIL);
        }
        let l = self.n(t).left;
        let ls = self.sz(l);
        if k <= ls {
            let (a, b) = self.split_rank(l, k);
            self.nodes[t as usize].left = b;
            self.upd(t);
            (a, t)
        } else {
            let r = self.n(t).right;
            let (a, b) = self.split_rank(r, k - ls - 1);
            self.nodes[t as usize].right = a;
            self.upd(t);
            (t, b)
        }
    }

    /// Joins two treaps where every element of `a` precedes every one of `b`.
    fn merge(&mut self, a: u32, b: u32) -> u32 {
        if a == NIL {
            return b;
        }
        if b == NIL {
            return a;
        }
        if self.n(a).prio > self.n(b).prio {
            let r = self.n(a).right;
            let m = self.merge(r, b);
            self.nodes[a as usize].right = m;
            self.upd(a);
            a
        } else {
            let l = self.n(b).left;
            let m = self.merge(a, l);
            self.nodes[b as usize].left = m;
            self.upd(b);
            b
        }
    }

    fn find(&self, member: &[u8]) -> Option<u32> {
        let h = self.hasher.hash_one(member);
        let nodes = &self.nodes;
        self.index.find(h, |&i| &*nodes[i as usize].member == member).copied()
    }

    fn score(&self, member: &[u8]) -> Option<f64> {
        self.find(member).map(|i| self.n(i).score)
    }

    /// Whether node `a` orders before node `b`.
    #[inline]
    fn before(&self, a: u32, b: u32) -> bool {
        let (x, y) = (self.n(a), self.n(b));
        match x.score.partial_cmp(&y.score) {
            Some(Ordering::Less) => true,
            Some(Ordering::Greater) => false,
            _ => match x.pfx.cmp(&y.pfx) {
                Ordering::Less => true,
                Ordering::Greater => false,
                Ordering::Equal => x.member < y.member,
            },
        }
    }

    /// Splits `t` into (elements before node `i`, node `i` and after),
    /// comparing by node so no key needs copying out.
    fn split_node(&mut self, t: u32, i: u32) -> (u32, u32) {
        if t == NIL {
            return (NIL, NIL);
        }
        if self.before(t, i) {
            let r = self.n(t).right;
            let (a, b) = self.split_node(r, i);
            self.nodes[t as usize].right = a;
            self.upd(t);
            (t, b)
        } else {
            let l = self.n(t).left;
            let (a, b) = self.split_node(l, i);
            self.nodes[t as usize].left = b;
            self.upd(t);
            (a, t)
        }
    }

    /// Inserts detached node `i` into subtree `t` (top-down: descends to
    /// where `i`'s priority belongs, then splits only what lies below).
    fn ins(&mut self, t: u32, i: u32) -> u32 {
        if t == NIL {
            return i;
        }
        if self.n(i).prio > self.n(t).prio {
            let (l, r) = self.split_node(t, i);
            let n = &mut self.nodes[i as usize];
            n.left = l;
            n.right = r;
            self.upd(i);
            return i;
        }
        if self.before(i, t) {
            let l = self.n(t).left;
            let nl = self.ins(l, i);
            self.nodes[t as usize].left = nl;
        } else {
            let r = self.n(t).right;
            let nr = self.ins(r, i);
            self.nodes[t as usize].right = nr;
        }
        self.upd(t);
        t
    }

    /// Removes node `i` from subtree `t`.
    fn del(&mut self, t: u32, i: u32) -> u32 {
        if t == NIL {
            return NIL;
        }
        if t == i {
            let (l, r) = (self.n(t).left, self.n(t).right);
            return self.merge(l, r);
        }
        if self.before(i, t) {
            let l = self.n(t).left;
            let nl = self.del(l, i);
            self.nodes[t as usize].left = nl;
        } else {
            let r = self.n(t).right;
            let nr = self.del(r, i);
            self.nodes[t as usize].right = nr;
        }
        self.upd(t);
        t
    }

    /// Links node `i` (detached, size 1) into the tree by its key.
    fn link(&mut self, i: u32) {
        self.root = self.ins(self.root, i);
    }

    /// Unlinks node `i` from the tree (it stays in the arena and index).
    fn unlink(&mut self, i: u32) {
        self.root = self.del(self.root, i);
        let n = &mut self.nodes[i as usize];
        n.left = NIL;
        n.right = NIL;
        n.size = 1;
    }

    /// 0-based rank of node `i`.
    fn rank_of(&self, i: u32) -> usize {
        let mut t = self.root;
        let mut r = 0;
        while t != NIL {
            if t == i {
                return r + self.sz(self.n(t).left);
            }
            let n = self.n(t);
            if self.before(i, t) {
                t = n.left;
            } else {
                r += self.sz(n.left) + 1;
                t = n.right;
            }
        }
        r
    }

    /// Inserts or updates; returns the old score.
    fn insert(&mut self, member: &[u8], score: f64) -> Option<f64> {
        if let Some(i) = self.find(member) {
            let old = self.n(i).score;
            if old.to_bits() == score.to_bits() {
                return Some(old);
            }
            self.unlink(i);
            self.nodes[i as usize].score = score;
            self.link(i);
            return Some(old);
        }
        let h = self.hasher.hash_one(member);
        let prio = self.next_prio();
        let node = Node {
            score,
            member: member.into(),
            hash: h,
            pfx: prefix(member),
            left: NIL,
            right: NIL,
            size: 1,
            prio,
        };
        let i = match self.free.pop() {
            Some(i) => {
                self.nodes[i as usize] = node;
                i
            }
            None => {
                self.nodes.push(node);
                (self.nodes.len() - 1) as u32
            }
        };
        let nodes = &self.nodes;
        self.index.insert_unique(h, i, |&j| nodes[j as usize].hash);
        self.link(i);
        None
    }

    fn release(&mut self, i: u32) -> (Box<[u8]>, f64) {
        let h = self.nodes[i as usize].hash;
        if let Ok(e) = self.index.find_entry(h, |&j| j == i) {
            e.remove();
        }
        let n = &mut self.nodes[i as usize];
        let member = std::mem::take(&mut n.member);
        n.left = NIL;
        n.right = NIL;
        n.size = 0;
        self.free.push(i);
        (member, n.score)
    }

    fn remove(&mut self, member: &[u8]) -> Option<f64> {
        let i = self.find(member)?;
        self.unlink(i);
        Some(self.release(i).1)
    }

    /// Number of leading elements for which `pred` holds (pred must be
    /// true on a prefix of the order and false after).
    fn count_while(&self, pred: &dyn Fn(f64, &[u8]) -> bool) -> usize {
        let mut t = self.root;
        let mut count = 0;
        while t != NIL {
            let n = self.n(t);
            if pred(n.score, &n.member) {
                count += self.sz(n.left) + 1;
                t = n.right;
            } else {
                t = n.left;
            }
        }
        count
    }

    fn select(&self, mut k: usize) -> Option<u32> {
        let mut t = self.root;
        while t != NIL {
            let n = self.n(t);
            let ls = self.sz(n.left);
            match k.cmp(&ls) {
                Ordering::Less => t = n.left,
                Ordering::Equal => return Some(t),
                Ordering::Greater => {
                    k -= ls + 1;
                    t = n.right;
                }
            }
        }
        None
    }

    /// Visits ranks [lo, hi) of subtree `t` (whose first rank is `base`).
    /// Visits ranks [lo, hi) of subtree `t` (whose first rank is `base`)
    /// until `f` returns false; returns false once stopped.
    fn visit(
        &self,
        t: u32,
        base: usize,
        lo: usize,
        hi: usize,
        rev: bool,
        f: &mut dyn FnMut(&[u8], f64) -> bool,
    ) -> bool {
        if t == NIL || lo >= hi {
            return true;
        }
        let n = self.n(t);
        let end = base + n.size as usize;
        if end <= lo || base >= hi {
            return true;
        }
        let me = base + self.sz(n.left);
        let (first, first_base, second, second_base) = if rev {
            (n.right, me + 1, n.left, base)
        } else {
            (n.left, base, n.right, me + 1)
        };
        if !self.visit(first, first_base, lo, hi, rev, f) {
            return false;
        }
        if me >= lo && me < hi && !f(&n.member, n.score) {
            return false;
        }
        self.visit(second, second_base, lo, hi, rev, f)
    }

    fn collect_nodes(&self, t: u32, out: &mut Vec<u32>) {
        if t == NIL {
            return;
        }
        let n = self.n(t);
        self.collect_nodes(n.left, out);
        out.push(t);
        self.collect_nodes(n.right, out);
    }

    fn remove_range(&mut self, start: usize, end: usize) -> Vec<(Box<[u8]>, f64)> {
        let (a, rest) = self.split_rank(self.root, start);
        let (mid, c) = self.split_rank(rest, end - start);
        self.root = self.merge(a, c);
        let mut ids = Vec::with_capacity(self.sz(mid));
        self.collect_nodes(mid, &mut ids);
        ids.into_iter().map(|i| self.release(i)).collect()
    }

    fn heap_size(&self) -> usize {
        self.nodes.capacity() * std::mem::size_of::<Node>()
            + self.free.capacity() * 4
            + self.index.capacity() * (std::mem::size_of::<u32>() + 1)
    }

    /// Checks the tree invariants (tests).
    #[cfg(test)]
    fn check(&self) {
        fn walk(t: &Tree, i: u32, prio_bound: u32) -> usize {
            if i == NIL {
                return 0;
            }
            let n = t.n(i);
            assert!(n.prio <= prio_bound);
            assert_eq!(n.pfx, prefix(&n.member));
            let s = 1 + walk(t, n.left, n.prio) + walk(t, n.right, n.prio);
            assert_eq!(s, n.size as usize);
            s
        }
        let s = walk(self, self.root, u32::MAX);
        assert_eq!(s, self.index.len());
        let mut ids = Vec::new();
        self.collect_nodes(self.root, &mut ids);
        for w in ids.windows(2) {
            let (a, b) = (self.n(w[0]), self.n(w[1]));
            assert_eq!(cmp_elem(a.score, &a.member, b.score, &b.member), Ordering::Less);
        }
        for &i in &ids {
            assert_eq!(self.find(&self.n(i).member), Some(i));
        }
    }
}

#[derive(Clone, Debug)]
enum Repr {
    /// Sorted by (score, member).
    Listpack(Vec<(f64, Box<[u8]>)>),
    Skiplist(Box<Tree>),
}

#[derive(Clone, Debug)]
pub struct ZSet {
    repr: Repr,
    /// Total bytes of all members (for heap_size).
    member_bytes: usize,
}

impl Default for ZSet {
    fn default() -> Self {
        ZSet::new()
    }
}

impl PartialEq for ZSet {
    fn eq(&self, other: &Self) -> bool {
        if self.len() != other.len() {
            return false;
        }
        let a = self.to_vec();
        let b = other.to_vec();
        a.iter()
            .zip(b.iter())
            .all(|(x, y)| x.0 == y.0 && x.1.to_bits() == y.1.to_bits())
    }
}

impl ZSet {
    /// An empty listpack-encoded sorted set.
    pub fn new() -> ZSet {
        ZSet {
            repr: Repr::Listpack(Vec::new()),
            member_bytes: 0,
        }
    }

    /// An empty sorted set in the encoding Redis's zsetTypeCreate picks
    /// for about `size_hint` elements whose longest member is
    /// `len_hint` bytes.
    pub fn with_hint(size_hint: usize, len_hint: usize, limits: &Limits) -> ZSet {
        if size_hint <= limits.zset_max_listpack_entries && len_hint <= limits.zset_max_listpack_value {
            ZSet::new()
        } else {
            ZSet {
                repr: Repr::Skiplist(Box::new(Tree::new())),
                member_bytes: 0,
            }
        }
    }

    /// OBJECT ENCODING's answer.
    pub fn encoding(&self) -> &'static str {
        match self.repr {
            Repr::Listpack(_) => "listpack",
            Repr::Skiplist(_) => "skiplist",
        }
    }

    pub fn len(&self) -> usize {
        match &self.repr {
            Repr::Listpack(v) => v.len(),
            Repr::Skiplist(t) => t.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Heap bytes owned, for memory accounting.
    pub fn heap_size(&self) -> usize {
        self.member_bytes
            + match &self.repr {
                Repr::Listpack(v) => v.capacity() * std::mem::size_of::<(f64, Box<[u8]>)>(),
                Repr::Skiplist(t) => std::mem::size_of::<Tree>() + t.heap_size(),
            }
    }

    /// Converts to the large encoding (one way).
    fn convert(&mut self) {
        if let Repr::Listpack(v) = &mut self.repr {
            let mut t = Tree::new();
            for (s, m) in std::mem::take(v) {
                t.insert(&m, s);
            }
            self.repr = Repr::Skiplist(Box::new(t));
        }
    }

    /// Converts to the large encoding ahead of adding about `size_hint`
    /// elements, as Redis's zsetTypeMaybeConvert.
    pub fn maybe_convert(&mut self, size_hint: usize, limits: &Limits) {
        if matches!(self.repr, Repr::Listpack(_)) && size_hint > limits.zset_max_listpack_entries {
            self.convert();
        }
    }

    /// For a freshly built result: switches to listpack if Redis's
    /// zsetConvertToListpackIfNeeded would.
    pub fn fit_encoding(&mut self, limits: &Limits) {
        if let Repr::Skiplist(t) = &self.repr {
            if t.len() <= limits.zset_max_listpack_entries {
                let maxlen = t.nodes.iter().map(|n| n.member.len()).max().unwrap_or(0);
                if maxlen <= limits.zset_max_listpack_value {
                    let v = self
                        .to_vec()
                        .into_iter()
                        .map(|(m, s)| (if s == 0.0 { 0.0 } else { s }, m.into_boxed_slice()))
                        .collect();
                    self.repr = Repr::Listpack(v);
                }
            }
        }
    }

    fn lp_find(v: &[(f64, Box<[u8]>)], member: &[u8]) -> Option<usize> {
        v.iter().position(|(_, m)| &**m == member)
    }

    pub fn score(&self, member: &[u8]) -> Option<f64> {
        match &self.repr {
            Repr::Listpack(v) => Self::lp_find(v, member).map(|i| v[i].0),
            Repr::Skiplist(t) => t.score(member),
        }
    }

    pub fn contains(&self, member: &[u8]) -> bool {
        self.score(member).is_some()
    }

    /// Sets `member`'s score, adding it if missing (converting to the
    /// large encoding when a threshold is crossed). Returns the old score.
    pub fn insert(&mut self, member: &[u8], score: f64, limits: &Limits) -> Option<f64> {
        if let Repr::Listpack(v) = &mut self.repr {
            // A listpack stores an integral score as an integer: -0 reads
            // back as 0.
            let score = if score == 0.0 { 0.0 } else { score };
            if let Some(i) = Self::lp_find(v, member) {
                let old = v[i].0;
                let (_, m) = v.remove(i);
                let pos = v.partition_point(|(s, mm)| cmp_elem(*s, mm, score, member) == Ordering::Less);
                v.insert(pos, (score, m));
                return Some(old);
            }
            if v.len() < limits.zset_max_listpack_entries && member.len() <= limits.zset_max_listpack_value {
                let pos = v.partition_point(|(s, mm)| cmp_elem(*s, mm, score, member) == Ordering::Less);
                v.insert(pos, (score, member.into()));
                self.member_bytes += member.len();
                return None;
            }
            self.convert();
        }
        match &mut self.repr {
            Repr::Skiplist(t) => {
                let old = t.insert(member, score);
                if old.is_none() {
                    self.member_bytes += member.len();
                }
                old
            }
            Repr::Listpack(_) => None,
        }
    }

    /// Removes `member`; returns its score.
    pub fn remove(&mut self, member: &[u8]) -> Option<f64> {
        let r = match &mut self.repr {
            Repr::Listpack(v) => Self::lp_find(v, member).map(|i| v.remove(i).0),
            Repr::Skiplist(t) => t.remove(member),
        };
        if r.is_some() {
            self.member_bytes -= member.len();
        }
        r
    }

    /// 0-based ascending rank and score of `member`.
    pub fn rank(&self, member: &[u8]) -> Option<(usize, f64)> {
        if let Repr::Skiplist(t) = &self.repr {
            let i = t.find(member)?;
            return Some((t.rank_of(i), t.n(i).score));
        }
        let score = self.score(member)?;
        let r = self.count_while(&|s, m| cmp_elem(s, m, score, member) == Ordering::Less);
        Some((r, score))
    }

    /// Number of leading elements (in ascending order) for which `pred`
    /// holds; `pred` must hold on a prefix of the order and not after.
    pub fn count_while(&self, pred: &dyn Fn(f64, &[u8]) -> bool) -> usize {
        match &self.repr {
            Repr::Listpack(v) => v.partition_point(|(s, m)| pred(*s, m)),
            Repr::Skiplist(t) => t.count_while(pred),
        }
    }

    /// The element at ascending rank `k`.
    pub fn get_by_rank(&self, k: usize) -> Option<(&[u8], f64)> {
        match &self.repr {
            Repr::Listpack(v) => v.get(k).map(|(s, m)| (&**m, *s)),
            Repr::Skiplist(t) => t.select(k).map(|i| {
                let n = t.n(i);
                (&*n.member, n.score)
            }),
        }
    }

    /// Visits the elements of ascending ranks [start, end) (clamped), in
    /// ascending order or, with `rev`, descending.
    pub fn for_range(&self, start: usize, end: usize, rev: bool, f: &mut dyn FnMut(&[u8], f64)) {
        let end = end.min(self.len());
        if start >= end {
            return;
        }
        match &self.repr {
            Repr::Listpack(v) => {
                let slice = &v[start..end];
                if rev {
                    slice.iter().rev().for_each(|(s, m)| f(m, *s));
                } else {
                    slice.iter().for_each(|(s, m)| f(m, *s));
                }
            }
            Repr::Skiplist(t) => {
                t.visit(t.root, 0, start, end, rev, &mut |m, s| {
                    f(m, s);
                    true
                });
            }
        }
    }

    /// Walks from ascending rank `from` towards the high end (or, with
    /// `rev`, towards rank 0), until `f` returns false.
    pub fn walk(&self, from: usize, rev: bool, f: &mut dyn FnMut(&[u8], f64) -> bool) {
        let len = self.len();
        if from >= len {
            return;
        }
        let (lo, hi) = if rev { (0, from + 1) } else { (from, len) };
        match &self.repr {
            Repr::Listpack(v) => {
                let slice = &v[lo..hi];
                if rev {
                    for (s, m) in slice.iter().rev() {
                        if !f(m, *s) {
                            return;
                        }
                    }
                } else {
                    for (s, m) in slice {
                        if !f(m, *s) {
                            return;
                        }
                    }
                }
            }
            Repr::Skiplist(t) => {
                t.visit(t.root, 0, lo, hi, rev, f);
            }
        }
    }

    /// Visits every element in ascending order.
    pub fn for_each(&self, f: &mut dyn FnMut(&[u8], f64)) {
        self.for_range(0, usize::MAX, false, f);
    }

    /// Every (member, score) in ascending order.
    pub fn to_vec(&self) -> Vec<(Vec<u8>, f64)> {
        let mut out = Vec::with_capacity(self.len());
        self.for_each(&mut |m, s| out.push((m.to_vec(), s)));
        out
    }

    /// Removes the elements of ascending ranks [start, end) (clamped) and
    /// returns them in ascending order.
    pub fn remove_range(&mut self, start: usize, end: usize) -> Vec<(Box<[u8]>, f64)> {
        let end = end.min(self.len());
        if start >= end {
            return Vec::new();
        }
        let out: Vec<(Box<[u8]>, f64)> = match &mut self.repr {
            Repr::Listpack(v) => v.drain(start..end).map(|(s, m)| (m, s)).collect(),
            Repr::Skiplist(t) => t.remove_range(start, end),
        };
        self.member_bytes -= out.iter().map(|(m, _)| m.len()).sum::<usize>();
        out
    }

    /// One ZSCAN step from `cursor`: visits about `count` elements (all of
    /// them for the compact encoding) and returns the next cursor (0 when
    /// done). Every element present for the whole iteration is visited
    /// exactly once: the large encoding walks ranges of its members' hash
    /// space, which does not move as the set changes.
    pub fn scan(&self, cursor: u64, count: usize, f: &mut dyn FnMut(&[u8], f64)) -> u64 {
        match &self.repr {
            Repr::Listpack(v) => {
                v.iter().for_each(|(s, m)| f(m, *s));
                0
            }
            Repr::Skiplist(t) => {
                let len = t.len().max(1) as u128;
                // Larger batches for large sets keep the total work of a
                // full iteration at O(n * 256).
                let batch = (count.max(1) as u128).max(len / 256);
                let width = (((1u128 << 64) * batch) / len).max(1);
                let end = cursor as u128 + width;
                for &i in t.index.iter() {
                    let n = t.n(i);
                    if (n.hash as u128) >= cursor as u128 && (n.hash as u128) < end {
                        f(&n.member, n.score);
                    }
                }
                if end >= 1u128 << 64 {
                    0
                } else {
                    end as u64
                }
            }
        }
    }

    /// Checks internal invariants (tests).
    #[cfg(test)]
    fn check(&self) {
        match &self.repr {
            Repr::Listpack(v) => {
                for w in v.windows(2) {
                    assert_eq!(cmp_elem(w[0].0, &w[0].1, w[1].0, &w[1].1), Ordering::Less);
                }
            }
            Repr::Skiplist(t) => t.check(),
        }
        let mut bytes = 0;
        self.for_each(&mut |m, _| bytes += m.len());
        assert_eq!(bytes, self.member_bytes);
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use proptest::prelude::*;
    use std::collections::{BTreeSet, HashMap};

    fn limits(entries: usize, value: usize) -> Limits {
        Limits {
            zset_max_listpack_entries: entries,
            zset_max_listpack_value: value,
            ..Limits::default()
        }
    }

    #[test]
    fn basic_listpack() {
        let l = Limits::default();
        let mut z = ZSet::new();
        assert_eq!(z.insert(b"b", 2.0, &l), None);
        assert_eq!(z.insert(b"a", 1.0, &l), None);
        assert_eq!(z.insert(b"c", 1.0, &l), None);
        assert_eq!(z.insert(b"a", 3.0, &l), Some(1.0));
        assert_eq!(z.encoding(), "listpack");
        let v: Vec<_> = z.to_vec().into_iter().map(|(m, _)| m).collect();
        assert_eq!(v, vec![b"c".to_vec(), b"b".to_vec(), b"a".to_vec()]);
        assert_eq!(z.rank(b"a"), Some((2, 3.0)));
        assert_eq!(z.remove(b"b"), Some(2.0));
        assert_eq!(z.len(), 2);
        z.check();
    }

    #[test]
    fn converts_on_entries_and_value() {
        let l = limits(3, 4);
        let mut z = ZSet::new();
        for (i, m) in [b"a", b"b", b"c"].iter().enumerate() {
            z.insert(*m, i as f64, &l);
        }
        assert_eq!(z.encoding(), "listpack");
        z.insert(b"d", 0.5, &l);
        assert_eq!(z.encoding(), "skiplist");
        z.check();
        assert_eq!(z.rank(b"d"), Some((1, 0.5)));
        let mut z = ZSet::new();
        z.insert(b"abcde", 1.0, &l);
        assert_eq!(z.encoding(), "skiplist");
        z.remove(b"abcde");
        z.insert(b"x", 1.0, &l);
        assert_eq!(z.encoding(), "skiplist");
        assert_eq!(ZSet::with_hint(4, 1, &l).encoding(), "skiplist");
        assert_eq!(ZSet::with_hint(3, 4, &l).encoding(), "listpack");
        let mut z = ZSet::with_hint(10, 1, &l);
        z.insert(b"a", 1.0, &l);
        z.fit_encoding(&l);
        assert_eq!(z.encoding(), "listpack");
        assert_eq!(z.score(b"a"), Some(1.0));
    }

    #[test]
    fn clones_are_independent_and_usable() {
        let l = limits(0, 0);
        let mut z = ZSet::new();
        for i in 0..100 {
            z.insert(format!("m{i}").as_bytes(), i as f64, &l);
        }
        let mut c = z.clone();
        assert_eq!(c, z);
        assert_eq!(c.score(b"m42"), Some(42.0));
        c.remove(b"m42");
        c.insert(b"new", -1.0, &l);
        c.check();
        z.check();
        assert_eq!(z.score(b"m42"), Some(42.0));
        assert_eq!(z.score(b"new"), None);
        assert_eq!(c.rank(b"new"), Some((0, -1.0)));
        assert_ne!(c, z);
        assert!(z.heap_size() > 100 * 2);
    }

    #[test]
    fn big_tree_ranks_and_ranges() {
        let l = limits(0, 0);
        let mut z = ZSet::new();
        for i in 0..2000u32 {
            z.insert(format!("m{i:05}").as_bytes(), (i % 100) as f64, &l);
        }
        z.check();
        assert_eq!(z.len(), 2000);
        // score 0: m00000, m00100, ... (20 of them)
        assert_eq!(z.count_while(&|s, _| s < 1.0), 20);
        assert_eq!(z.get_by_rank(0).unwrap().0, b"m00000");
        assert_eq!(z.get_by_rank(1).unwrap().0, b"m00100");
        let mut seen = Vec::new();
        z.for_range(18, 22, true, &mut |m, _| seen.push(m.to_vec()));
        assert_eq!(
            seen,
            vec![
                b"m00101".to_vec(),
                b"m00001".to_vec(),
                b"m01900".to_vec(),
                b"m01800".to_vec()
            ]
        );
        let mut walked = Vec::new();
        z.walk(1998, false, &mut |m, _| {
            walked.push(m.to_vec());
            true
        });
        assert_eq!(walked.len(), 2);
        let mut walked = Vec::new();
        z.walk(21, true, &mut |m, _| {
            walked.push(m.to_vec());
            walked.len() < 4
        });
        assert_eq!(
            walked,
            vec![
                b"m00101".to_vec(),
                b"m00001".to_vec(),
                b"m01900".to_vec(),
                b"m01800".to_vec()
            ]
        );
        let removed = z.remove_range(0, 20);
        assert_eq!(removed.len(), 20);
        z.check();
        assert_eq!(z.len(), 1980);
        assert_eq!(z.score(b"m00000"), None);
        // scan visits everything once
        let mut cursor = 0;
        let mut all = Vec::new();
        loop {
            cursor = z.scan(cursor, 10, &mut |m, _| all.push(m.to_vec()));
            if cursor == 0 {
                break;
            }
        }
        all.sort();
        all.dedup();
        assert_eq!(all.len(), 1980);
    }

    #[test]
    fn many_random_ops_against_model() {
        use rand::{Rng, SeedableRng};
        let l = limits(0, 0);
        let mut rng = rand::rngs::SmallRng::seed_from_u64(7);
        let mut z = ZSet::new();
        let mut set: BTreeSet<(i64, Vec<u8>)> = BTreeSet::new();
        let mut scores: HashMap<Vec<u8>, i64> = HashMap::new();
        for step in 0..20_000 {
            let k = format!("k{}", rng.gen_range(0..3000)).into_bytes();
            if rng.gen_range(0..4) == 0 {
                if let Some(o) = scores.remove(&k) {
                    set.remove(&(o, k.clone()));
                }
                z.remove(&k);
            } else {
                let s = rng.gen_range(-100..100);
                if let Some(o) = scores.insert(k.clone(), s) {
                    set.remove(&(o, k.clone()));
                }
                set.insert((s, k.clone()));
                z.insert(&k, s as f64, &l);
            }
            if step % 5000 == 0 {
                z.check();
            }
        }
        z.check();
        let got: Vec<(i64, Vec<u8>)> = z.to_vec().into_iter().map(|(m, s)| (s as i64, m)).collect();
        let want: Vec<(i64, Vec<u8>)> = set.iter().cloned().collect();
        assert_eq!(got, want);
        for (r, (s, m)) in want.iter().enumerate().step_by(97) {
            assert_eq!(z.rank(m), Some((r, *s as f64)));
        }
    }

    /// Timing smoke test: `cargo test --release -p larder-engine
    /// perf_smoke -- --ignored --nocapture`.
    #[test]
    #[ignore = "timing only"]
    fn perf_smoke() {
        let l = Limits::default();
        let n = 1_000_000u32;
        let mut z = ZSet::new();
        let t = std::time::Instant::now();
        for i in 0..n {
            let k = format!("member:{}", i.wrapping_mul(2_654_435_761));
            z.insert(k.as_bytes(), (i % 1000) as f64, &l);
        }
        eprintln!("insert {n}: {:?}", t.elapsed());
        let t = std::time::Instant::now();
        let mut b = std::collections::BTreeSet::new();
        let mut h = std::collections::HashMap::new();
        for i in 0..n {
            let k = format!("member:{}", i.wrapping_mul(2_654_435_761)).into_bytes();
            b.insert(((i % 1000) as u64, k.clone()));
            h.insert(k, i);
        }
        eprintln!("baseline BTreeSet+HashMap insert {n}: {:?}", t.elapsed());
        drop((b, h));
        let t = std::time::Instant::now();
        let mut acc = 0;
        for i in 0..n {
            let k = format!("member:{}", i.wrapping_mul(2_654_435_761));
            acc += z.rank(k.as_bytes()).map_or(0, |r| r.0 & 1);
        }
        eprintln!("rank {n}: {:?} ({acc})", t.elapsed());
        let t = std::time::Instant::now();
        let mut cnt = 0;
        for i in 0..10_000 {
            z.for_range(i * 50, i * 50 + 10, false, &mut |_, _| cnt += 1);
        }
        eprintln!("10k ranges of 10: {:?} ({cnt})", t.elapsed());
        let t = std::time::Instant::now();
        while !z.is_empty() {
            z.remove_range(0, 1000);
        }
        eprintln!("pop all by 1000: {:?}", t.elapsed());
    }

    #[derive(Debug, Clone)]
    enum Op {
        Insert(u8, i8),
        Remove(u8),
        RemoveRange(u8, u8),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            4 => (any::<u8>(), -5i8..5).prop_map(|(m, s)| Op::Insert(m, s)),
            2 => any::<u8>().prop_map(Op::Remove),
            1 => (any::<u8>(), 0u8..5).prop_map(|(a, n)| Op::RemoveRange(a, n)),
        ]
    }

    fn key(m: u8) -> Vec<u8> {
        format!("{}", m % 64).into_bytes()
    }

    proptest! {
        #[test]
        fn matches_btreeset(ops in proptest::collection::vec(op(), 1..300), entries in 0usize..20) {
            let l = limits(entries, 64);
            let mut z = ZSet::new();
            let mut set: BTreeSet<(i64, Vec<u8>)> = BTreeSet::new();
            let mut scores: HashMap<Vec<u8>, i64> = HashMap::new();
            for o in ops {
                match o {
                    Op::Insert(m, s) => {
                        let k = key(m);
                        let old = scores.insert(k.clone(), s as i64);
                        if let Some(o) = old { set.remove(&(o, k.clone())); }
                        set.insert((s as i64, k.clone()));
                        prop_assert_eq!(z.insert(&k, s as f64, &l), old.map(|o| o as f64));
                    }
                    Op::Remove(m) => {
                        let k = key(m);
                        let old = scores.remove(&k);
                        if let Some(o) = old { set.remove(&(o, k.clone())); }
                        prop_assert_eq!(z.remove(&k), old.map(|o| o as f64));
                    }
                    Op::RemoveRange(a, n) => {
                        let start = a as usize % (set.len() + 1);
                        let end = start + n as usize;
                        let want: Vec<_> = set.iter().skip(start).take(n as usize).cloned().collect();
                        let got = z.remove_range(start, end);
                        prop_assert_eq!(got.len(), want.len());
                        for ((gm, gs), (ws, wm)) in got.iter().zip(want.iter()) {
                            prop_assert_eq!(&**gm, &wm[..]);
                            prop_assert_eq!(*gs, *ws as f64);
                            set.remove(&(*ws, wm.clone()));
                            scores.remove(wm);
                        }
                    }
                }
                z.check();
                prop_assert_eq!(z.len(), set.len());
            }
            let model: Vec<_> = set.iter().cloned().collect();
            for (r, (s, m)) in model.iter().enumerate() {
                prop_assert_eq!(z.rank(m), Some((r, *s as f64)));
                let (gm, gs) = z.get_by_rank(r).unwrap();
                prop_assert_eq!(gm, &m[..]);
                prop_assert_eq!(gs, *s as f64);
            }
            for b in -6i64..6 {
                let want = model.iter().filter(|(s, _)| *s < b).count();
                prop_assert_eq!(z.count_while(&|s, _| s < b as f64), want);
            }
            let n = model.len();
            for (lo, hi) in [(0, n), (1, n / 2 + 1), (n / 3, n)] {
                let mut fwd = Vec::new();
                z.for_range(lo, hi, false, &mut |m, _| fwd.push(m.to_vec()));
                let want: Vec<_> = model.iter().skip(lo).take(hi.saturating_sub(lo)).map(|(_, m)| m.clone()).collect();
                prop_assert_eq!(&fwd, &want);
                let mut back = Vec::new();
                z.for_range(lo, hi, true, &mut |m, _| back.push(m.to_vec()));
                back.reverse();
                prop_assert_eq!(back, want);
            }
            prop_assert_eq!(z.get_by_rank(n), None);
            for from in [0, n / 2, n.saturating_sub(1), n] {
                let mut fwd = Vec::new();
                z.walk(from, false, &mut |m, _| { fwd.push(m.to_vec()); true });
                let want: Vec<_> = model.iter().skip(from).map(|(_, m)| m.clone()).collect();
                prop_assert_eq!(fwd, want);
                let mut back = Vec::new();
                z.walk(from, true, &mut |m, _| { back.push(m.to_vec()); back.len() < 3 });
                let want: Vec<_> = if from < n {
                    model.iter().take(from + 1).rev().take(3).map(|(_, m)| m.clone()).collect()
                } else {
                    Vec::new()
                };
                prop_assert_eq!(back, want);
            }
        }
    }
}
