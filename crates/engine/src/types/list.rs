//! The list value type, with Redis 7.2's two encodings.
//!
//! The elements live in compact nodes, like Redis's quicklist of
//! listpacks: each node is one byte buffer of entries (`[len][bytes]
//! [len reversed]`, LEB128 lengths, so it can be walked both ways), and
//! the list is a `VecDeque` of nodes. Push and pop at both ends touch one
//! node (a memmove of at most one node's bytes, as in Redis); indexing
//! walks the node counts, then one node. Next to its bytes each node
//! keeps the size Redis's listpack would have, so OBJECT ENCODING answers
//! as Redis does and the conversions happen at the same points:
//!
//! - `listpack` while the whole list fits one quicklist node by
//!   `list-max-listpack-size` (positive: entries; -1..-5: 4..64 KiB of
//!   listpack bytes), its size being Redis's `lpBytes`;
//! - `quicklist` once a push would exceed that (listTypeTryConvertListpack),
//!   the nodes filled by quicklist's insertion rules (a listpack is the
//!   same thing with a single node and no limit);
//! - back to `listpack` when a removal leaves a single packed node with
//!   at most half the limit (listTypeTryConvertQuicklist, shrinking).
//!
//! Node splits on insertion in the middle (LINSERT, LSET) are simplified
//! (split at the position, no merging), which can only matter for when a
//! shrinking list turns back into a listpack.

use std::collections::VecDeque;

use crate::value::canonical_i64;

/// Which end of a list.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum End {
    /// The head (LEFT).
    Head,
    /// The tail (RIGHT).
    Tail,
}

/// quicklist's `optimization_level`: node sizes for fill -1..-5.
const OPTIMIZATION_LEVEL: [usize; 5] = [4096, 8192, 16384, 32768, 65536];
/// quicklist's SIZE_SAFETY_LIMIT: the size cap of count-limited nodes.
const SIZE_SAFETY_LIMIT: usize = 8192;
/// quicklist's SIZE_ESTIMATE_OVERHEAD.
const SIZE_ESTIMATE_OVERHEAD: usize = 8;
/// Elements above this become plain nodes when the fill is positive.
const PACKED_THRESHOLD: usize = 1 << 30;
/// An empty listpack: 6 bytes of header, 1 terminator.
const LP_HDR: usize = 7;

/// quicklistNodeLimit: (size limit, count limit) of one node.
fn node_limit(fill: i64) -> (usize, usize) {
    if fill >= 0 {
        (usize::MAX, fill.max(1) as usize)
    } else {
        let off = ((-(fill + 1)) as usize).min(OPTIMIZATION_LEVEL.len() - 1);
        (OPTIMIZATION_LEVEL[off], usize::MAX)
    }
}

/// quicklistNodeExceedsLimit.
fn exceeds_limit(fill: i64, new_sz: usize, new_count: usize) -> bool {
    let (sz, count) = node_limit(fill);
    if sz != usize::MAX {
        new_sz > sz
    } else {
        new_sz > SIZE_SAFETY_LIMIT || new_count > count
    }
}

/// isLargeElement: such an element gets a plain node of its own.
fn is_large(sz: usize, fill: i64) -> bool {
    if fill >= 0 {
        sz > PACKED_THRESHOLD
    } else {
        sz > node_limit(fill).0
    }
}

/// Bytes one element takes in a listpack (encoding, data, back-length).
pub fn lp_entry_size(item: &[u8]) -> usize {
    let enc = match canonical_i64(item) {
        Some(v) if (0..=127).contains(&v) => 1,
        Some(v) if (-4096..=4095).contains(&v) => 2,
        Some(v) if (-32768..=32767).contains(&v) => 3,
        Some(v) if (-8_388_608..=8_388_607).contains(&v) => 4,
        Some(v) if (i32::MIN as i64..=i32::MAX as i64).contains(&v) => 5,
        Some(_) => 9,
        None => {
            let n = item.len();
            if n < 64 {
                1 + n
            } else if n < 4096 {
                2 + n
            } else {
                5 + n
            }
        }
    };
    let back = if enc < 128 {
        1
    } else if enc < 16384 {
        2
    } else if enc < 2_097_152 {
        3
    } else if enc < 268_435_456 {
        4
    } else {
        5
    };
    enc + back
}

/// Appends `n` as LEB128.
fn put_len(out: &mut Vec<u8>, mut n: usize) {
    loop {
        let b = (n & 0x7f) as u8;
        n >>= 7;
        if n == 0 {
            out.push(b);
            return;
        }
        out.push(b | 0x80);
    }
}

/// Bytes of `n` as LEB128.
fn len_size(mut n: usize) -> usize {
    let mut k = 1;
    while n >= 0x80 {
        n >>= 7;
        k += 1;
    }
    k
}

/// One entry's encoding: length, bytes, length again reversed.
fn encode(item: &[u8], out: &mut Vec<u8>) {
    let start = out.len();
    put_len(out, item.len());
    let h = out.len() - start;
    out.extend_from_slice(item);
    for i in (0..h).rev() {
        let b = out[start + i];
        out.push(b);
    }
}

fn encoded_size(item: &[u8]) -> usize {
    2 * len_size(item.len()) + item.len()
}

/// Reads the entry starting at `off`: (data range start, len, next offset).
fn read_fwd(data: &[u8], off: usize) -> (usize, usize, usize) {
    let mut n = 0usize;
    let mut shift = 0;
    let mut i = off;
    loop {
        let b = data[i];
        n |= ((b & 0x7f) as usize) << shift;
        i += 1;
        if b & 0x80 == 0 {
            break;
        }
        shift += 7;
    }
    let h = i - off;
    (i, n, i + n + h)
}

/// Reads the entry ending at `end`: (entry start, data start, len).
fn read_back(data: &[u8], end: usize) -> (usize, usize, usize) {
    let mut n = 0usize;
    let mut shift = 0;
    let mut i = end;
    loop {
        i -= 1;
        let b = data[i];
        n |= ((b & 0x7f) as usize) << shift;
        if b & 0x80 == 0 {
            break;
        }
        shift += 7;
    }
    let h = end - i;
    let data_start = i - n;
    (data_start - h, data_start, n)
}

/// One node: its entries' bytes and the listpack size Redis would have.
#[derive(Clone, Debug, PartialEq)]
struct Node {
    data: Vec<u8>,
    count: usize,
    /// The node's listpack bytes (or the element's size if plain).
    bytes: usize,
    /// A plain node holds one large element outside any listpack.
    plain: bool,
}

/// Iterates one node's entries, both ways.
#[derive(Clone)]
pub struct NodeIter<'a> {
    data: &'a [u8],
    front: usize,
    back: usize,
    left: usize,
}

impl<'a> Iterator for NodeIter<'a> {
    type Item = &'a [u8];
    fn next(&mut self) -> Option<&'a [u8]> {
        if self.left == 0 {
            return None;
        }
        let (s, n, next) = read_fwd(self.data, self.front);
        self.front = next;
        self.left -= 1;
        Some(&self.data[s..s + n])
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.left, Some(self.left))
    }
}

impl DoubleEndedIterator for NodeIter<'_> {
    fn next_back(&mut self) -> Option<Self::Item> {
        if self.left == 0 {
            return None;
        }
        let (start, s, n) = read_back(self.data, self.back);
        self.back = start;
        self.left -= 1;
        Some(&self.data[s..s + n])
    }
}

impl Node {
    fn new(item: &[u8], fill: i64) -> Node {
        let mut data = Vec::with_capacity(encoded_size(item));
        encode(item, &mut data);
        let plain = is_large(item.len(), fill);
        Node {
            data,
            count: 1,
            bytes: if plain {
                item.len()
            } else {
                LP_HDR + lp_entry_size(item)
            },
            plain,
        }
    }

    fn empty() -> Node {
        Node {
            data: Vec::new(),
            count: 0,
            bytes: LP_HDR,
            plain: false,
        }
    }

    fn iter(&self) -> NodeIter<'_> {
        NodeIter {
            data: &self.data,
            front: 0,
            back: self.data.len(),
            left: self.count,
        }
    }

    /// _quicklistNodeAllowInsert.
    fn allows(&self, fill: i64, sz: usize) -> bool {
        !self.plain
            && !is_large(sz, fill)
            && !exceeds_limit(fill, self.bytes + sz + SIZE_ESTIMATE_OVERHEAD, self.count + 1)
    }

    fn entry_bytes(&self, item: &[u8]) -> usize {
        if self.plain {
            item.len()
        } else {
            lp_entry_size(item)
        }
    }

    /// Byte offset of entry `k` (`count` gives the end).
    fn offset_of(&self, k: usize) -> usize {
        if k >= self.count {
            return self.data.len();
        }
        if k <= self.count / 2 {
            let mut off = 0;
            for _ in 0..k {
                off = read_fwd(&self.data, off).2;
            }
            off
        } else {
            let mut end = self.data.len();
            for _ in 0..self.count - k {
                end = read_back(&self.data, end).0;
            }
            end
        }
    }

    fn get(&self, k: usize) -> &[u8] {
        let off = self.offset_of(k);
        let (s, n, _) = read_fwd(&self.data, off);
        &self.data[s..s + n]
    }

    /// Inserts `item` so it becomes entry `k`.
    fn insert_at(&mut self, k: usize, item: &[u8]) {
        let off = self.offset_of(k);
        let mut enc = Vec::with_capacity(encoded_size(item));
        encode(item, &mut enc);
        self.data.splice(off..off, enc);
        self.count += 1;
        self.bytes += self.entry_bytes(item);
    }

    /// Removes entries `from..to`.
    fn remove_range(&mut self, from: usize, to: usize) {
        if from >= to {
            return;
        }
        let a = self.offset_of(from);
        let b = self.offset_of(to);
        let gone: usize = NodeIter {
            data: &self.data[a..b],
            front: 0,
            back: b - a,
            left: to - from,
        }
        .map(|e| self.entry_bytes(e))
        .sum();
        self.data.drain(a..b);
        self.count -= to - from;
        self.bytes = self.bytes.saturating_sub(gone);
        if self.data.capacity() > 2 * self.data.len() + 64 {
            self.data.shrink_to_fit();
        }
    }

    /// Splits off entries `k..` into a new node.
    fn split_off(&mut self, k: usize) -> Node {
        let off = self.offset_of(k);
        let data = self.data.split_off(off);
        let count = self.count - k;
        let right_bytes: usize = NodeIter {
            data: &data,
            front: 0,
            back: data.len(),
            left: count,
        }
        .map(lp_entry_size)
        .sum();
        self.count = k;
        self.bytes = self.bytes.saturating_sub(right_bytes);
        Node {
            data,
            count,
            bytes: LP_HDR + right_bytes,
            plain: false,
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct List {
    nodes: VecDeque<Node>,
    len: usize,
    /// Encoded as a quicklist (else a listpack: at most one node).
    quicklist: bool,
    /// The fill the quicklist was created with (quicklistSetOptions).
    fill: i64,
}

impl Default for List {
    fn default() -> List {
        List::new()
    }
}

impl List {
    pub fn new() -> List {
        List {
            nodes: VecDeque::new(),
            len: 0,
            quicklist: false,
            fill: -2,
        }
    }

    /// OBJECT ENCODING's answer.
    pub fn encoding(&self) -> &'static str {
        if self.quicklist {
            "quicklist"
        } else {
            "listpack"
        }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Heap bytes owned, for memory accounting: the node table and each
    /// node's buffer.
    pub fn heap_size(&self) -> usize {
        self.nodes.capacity() * std::mem::size_of::<Node>()
            + self.nodes.iter().map(|n| n.data.capacity()).sum::<usize>()
    }

    /// Number of quicklist nodes (0 while a listpack).
    pub fn node_count(&self) -> usize {
        if self.quicklist {
            self.nodes.len()
        } else {
            0
        }
    }

    /// The nodes, head first, as (plain, elements): what RDB saves (a
    /// listpack is one node).
    pub fn nodes(&self) -> impl Iterator<Item = (bool, NodeIter<'_>)> {
        self.nodes.iter().filter(|n| n.count > 0).map(|n| (n.plain, n.iter()))
    }

    /// lpBytes of the listpack encoding.
    fn lp_bytes(&self) -> usize {
        self.nodes.front().map_or(LP_HDR, |n| n.bytes)
    }

    /// listTypeTryConvertListpack: before adding `add_count` elements of
    /// `add_bytes` total string length, turns a listpack that would
    /// exceed one node into a quicklist (its one node becomes the first).
    pub fn try_grow(&mut self, fill: i64, add_bytes: usize, add_count: usize) {
        if self.quicklist {
            return;
        }
        if exceeds_limit(
            fill,
            self.lp_bytes().saturating_add(add_bytes),
            self.len.saturating_add(add_count),
        ) {
            self.quicklist = true;
            self.fill = fill;
            self.nodes.retain(|n| n.count > 0);
        }
    }

    /// A list built from `items` in order the way SORT ... STORE builds
    /// one: pushed into a quicklist, then turned into a listpack if it
    /// fits one node (listTypeTryConversion with LIST_CONV_AUTO).
    pub fn from_items<T: AsRef<[u8]>>(items: &[T], fill: i64) -> List {
        let mut l = List::new();
        l.quicklist = true;
        l.fill = fill;
        for it in items {
            l.push(it.as_ref(), End::Tail);
        }
        l.convert_back(fill, false);
        l
    }

    /// listTypeTryConvertQuicklist (shrinking): call once after removing
    /// elements. A single packed node of at most half the limit becomes
    /// a listpack again.
    pub fn try_shrink(&mut self, fill: i64) {
        self.convert_back(fill, true);
    }

    fn convert_back(&mut self, fill: i64, shrinking: bool) {
        if !self.quicklist || self.nodes.len() > 1 {
            return;
        }
        let (mut sz, mut count) = node_limit(fill);
        if shrinking {
            sz /= 2;
            count /= 2;
        }
        let (bytes, n) = match self.nodes.front() {
            None => (LP_HDR, 0),
            Some(node) if node.plain => return,
            Some(node) => (node.bytes, node.count),
        };
        if bytes > sz || n > count {
            return;
        }
        self.quicklist = false;
    }

    /// Pushes elements one by one at `end` (LPUSH a b c leaves c first),
    /// converting first as Redis does for a push of these arguments.
    pub fn push_all(&mut self, items: &[&[u8]], end: End, fill: i64) {
        let add: usize = items.iter().map(|i| i.len()).sum();
        self.try_grow(fill, add, items.len());
        for it in items {
            self.push(it, end);
        }
    }

    /// Pushes one element moved from elsewhere (LMOVE): Redis counts an
    /// integer-looking element as adding no bytes before converting.
    pub fn push_moved(&mut self, item: Box<[u8]>, end: End, fill: i64) {
        let add = if canonical_i64(&item).is_some() { 0 } else { item.len() };
        self.try_grow(fill, add, 1);
        self.push(&item, end);
    }

    /// Pushes without a conversion check (the caller did `try_grow`).
    pub fn push(&mut self, item: &[u8], end: End) {
        self.len += 1;
        let fill = self.fill;
        if !self.quicklist {
            match self.nodes.front_mut() {
                Some(node) => {
                    let k = if end == End::Head { 0 } else { node.count };
                    node.insert_at(k, item);
                }
                None => {
                    let mut node = Node::empty();
                    node.insert_at(0, item);
                    self.nodes.push_back(node);
                }
            }
            return;
        }
        let edge = match end {
            End::Head => self.nodes.front_mut(),
            End::Tail => self.nodes.back_mut(),
        };
        match edge {
            Some(node) if node.allows(fill, item.len()) => {
                let k = if end == End::Head { 0 } else { node.count };
                node.insert_at(k, item);
            }
            edge => {
                // The full edge node will not grow again: give back its
                // spare capacity.
                if let Some(full) = edge {
                    full.data.shrink_to_fit();
                }
                let node = Node::new(item, fill);
                match end {
                    End::Head => self.nodes.push_front(node),
                    End::Tail => self.nodes.push_back(node),
                }
            }
        }
    }

    /// Removes and returns the element at `end`. Call `try_shrink` after
    /// a batch of removals.
    pub fn pop(&mut self, end: End) -> Option<Box<[u8]>> {
        let node = match end {
            End::Head => self.nodes.front_mut()?,
            End::Tail => self.nodes.back_mut()?,
        };
        if node.count == 0 {
            return None;
        }
        let k = if end == End::Head { 0 } else { node.count - 1 };
        let item: Box<[u8]> = node.get(k).into();
        node.remove_range(k, k + 1);
        if node.count == 0 {
            match end {
                End::Head => self.nodes.pop_front(),
                End::Tail => self.nodes.pop_back(),
            };
        }
        self.len -= 1;
        Some(item)
    }

    /// Resolves a Redis index (negative counts from the tail).
    pub fn resolve_index(&self, index: i64) -> Option<usize> {
        let len = self.len as i64;
        let i = if index < 0 { len.checked_add(index)? } else { index };
        (0..len).contains(&i).then_some(i as usize)
    }

    /// Node holding element `i` and `i`'s position in it.
    fn locate(&self, i: usize) -> Option<(usize, usize)> {
        if i >= self.len {
            return None;
        }
        if i < self.len / 2 {
            let mut base = 0;
            for (n, node) in self.nodes.iter().enumerate() {
                if i < base + node.count {
                    return Some((n, i - base));
                }
                base += node.count;
            }
        } else {
            let mut top = self.len;
            for (n, node) in self.nodes.iter().enumerate().rev() {
                let base = top - node.count;
                if i >= base {
                    return Some((n, i - base));
                }
                top = base;
            }
        }
        None
    }

    /// The element at a Redis index.
    pub fn get(&self, index: i64) -> Option<&[u8]> {
        let (n, k) = self.locate(self.resolve_index(index)?)?;
        Some(self.nodes[n].get(k))
    }

    /// Iterates from head to tail (reversible).
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &[u8]> {
        self.nodes.iter().flat_map(|n| n.iter())
    }

    /// Elements `start..=end` (already clamped by the caller).
    pub fn range(&self, start: usize, end: usize) -> impl Iterator<Item = &[u8]> {
        let (n0, k0) = self.locate(start).unwrap_or((self.nodes.len(), 0));
        let take = (end + 1).saturating_sub(start);
        self.nodes
            .range(n0.min(self.nodes.len())..)
            .enumerate()
            .flat_map(move |(j, node)| node.iter().skip(if j == 0 { k0 } else { 0 }))
            .take(take)
    }

    /// Replaces the element at a Redis index (LSET). False if out of range.
    pub fn set(&mut self, index: i64, value: &[u8], fill: i64) -> bool {
        // Like Redis, the conversion check comes first, whether or not
        // the index is in range.
        self.try_grow(fill, value.len(), 1);
        let Some((n, k)) = self.resolve_index(index).and_then(|i| self.locate(i)) else {
            return false;
        };
        let qfill = self.fill;
        let node = &mut self.nodes[n];
        if node.count == 1 && self.quicklist && (node.plain || is_large(value.len(), qfill)) {
            *node = Node::new(value, qfill);
        } else {
            node.remove_range(k, k + 1);
            node.insert_at(k, value);
        }
        self.try_shrink(fill);
        true
    }

    /// Inserts `value` before or after the first element equal to
    /// `pivot` (LINSERT). Returns false if there is no such element.
    pub fn insert(&mut self, pivot: &[u8], value: &[u8], after: bool, fill: i64) -> bool {
        // Like Redis, converts first, assuming the pivot will be found.
        self.try_grow(fill, value.len(), 1);
        let Some(p) = self.iter().position(|e| e == pivot) else {
            return false;
        };
        let at = if after { p + 1 } else { p };
        self.insert_at(at, value);
        true
    }

    /// Inserts `value` so it becomes element `at` (0..=len).
    fn insert_at(&mut self, at: usize, value: &[u8]) {
        if at == 0 || !self.quicklist {
            if at == 0 {
                return self.push(value, End::Head);
            }
            if at == self.len {
                return self.push(value, End::Tail);
            }
            // A listpack: its single node.
            self.len += 1;
            if let Some(node) = self.nodes.front_mut() {
                node.insert_at(at, value);
            }
            return;
        }
        if at >= self.len {
            return self.push(value, End::Tail);
        }
        let fill = self.fill;
        let sz = value.len();
        let Some((n, off)) = self.locate(at) else {
            return self.push(value, End::Tail);
        };
        self.len += 1;
        if self.nodes[n].allows(fill, sz) {
            self.nodes[n].insert_at(off, value);
        } else if off == 0 && n > 0 && self.nodes[n - 1].allows(fill, sz) {
            let prev = &mut self.nodes[n - 1];
            let c = prev.count;
            prev.insert_at(c, value);
        } else if off == 0 {
            self.nodes.insert(n, Node::new(value, fill));
        } else {
            let right = self.nodes[n].split_off(off);
            self.nodes.insert(n + 1, right);
            self.nodes.insert(n + 1, Node::new(value, fill));
        }
    }

    /// LREM: removes up to `count` elements equal to `value` (all when
    /// 0), from the head when `count >= 0`, from the tail otherwise.
    /// Returns how many were removed. Call `try_shrink` after.
    pub fn remove(&mut self, value: &[u8], count: i64) -> usize {
        let limit = if count == 0 {
            usize::MAX
        } else {
            count.unsigned_abs() as usize
        };
        // Per node, the positions to drop.
        let mut hits: Vec<Vec<usize>> = vec![Vec::new(); self.nodes.len()];
        let mut found = 0;
        if count >= 0 {
            'fwd: for (n, node) in self.nodes.iter().enumerate() {
                for (k, e) in node.iter().enumerate() {
                    if found >= limit {
                        break 'fwd;
                    }
                    if e == value {
                        hits[n].push(k);
                        found += 1;
                    }
                }
            }
        } else {
            'back: for (n, node) in self.nodes.iter().enumerate().rev() {
                for (j, e) in node.iter().rev().enumerate() {
                    if found >= limit {
                        break 'back;
                    }
                    if e == value {
                        hits[n].push(node.count - 1 - j);
                        found += 1;
                    }
                }
            }
        }
        if found == 0 {
            return 0;
        }
        for (n, ks) in hits.iter_mut().enumerate() {
            ks.sort_unstable();
            // From the back, so earlier positions stay valid.
            for &k in ks.iter().rev() {
                self.nodes[n].remove_range(k, k + 1);
            }
        }
        self.nodes.retain(|n| n.count > 0);
        self.len -= found;
        found
    }

    /// LTRIM: removes `left` elements from the head and `right` from the
    /// tail. Call `try_shrink` after.
    pub fn trim(&mut self, left: usize, right: usize) {
        let mut left = left.min(self.len);
        self.len -= left;
        while left > 0 {
            let Some(node) = self.nodes.front_mut() else { break };
            if node.count <= left {
                left -= node.count;
                self.nodes.pop_front();
            } else {
                node.remove_range(0, left);
                left = 0;
            }
        }
        let mut right = right.min(self.len);
        self.len -= right;
        while right > 0 {
            let Some(node) = self.nodes.back_mut() else { break };
            if node.count <= right {
                right -= node.count;
                self.nodes.pop_back();
            } else {
                let c = node.count;
                node.remove_range(c - right, c);
                right = 0;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn collect(l: &List) -> Vec<Vec<u8>> {
        l.iter().map(|e| e.to_vec()).collect()
    }

    #[test]
    fn entry_sizes_follow_listpack() {
        assert_eq!(lp_entry_size(b"1"), 2);
        assert_eq!(lp_entry_size(b"127"), 2);
        assert_eq!(lp_entry_size(b"128"), 3);
        assert_eq!(lp_entry_size(b"-4096"), 3);
        assert_eq!(lp_entry_size(b"40000"), 5);
        assert_eq!(lp_entry_size(b"9223372036854775807"), 10);
        assert_eq!(lp_entry_size(b"01"), 4);
        assert_eq!(lp_entry_size(b"abc"), 5);
        assert_eq!(lp_entry_size(&[b'a'; 63]), 65);
        assert_eq!(lp_entry_size(&[b'a'; 64]), 67);
        assert_eq!(lp_entry_size(&[b'a'; 200]), 204);
    }

    #[test]
    fn push_pop_both_ends() {
        let mut l = List::new();
        l.push_all(&[b"a", b"b", b"c"], End::Head, -2);
        assert_eq!(collect(&l), vec![b"c".to_vec(), b"b".to_vec(), b"a".to_vec()]);
        l.push_all(&[b"z"], End::Tail, -2);
        assert_eq!(l.pop(End::Tail).as_deref(), Some(&b"z"[..]));
        assert_eq!(l.pop(End::Head).as_deref(), Some(&b"c"[..]));
        assert_eq!(l.len(), 2);
        assert_eq!(l.get(-1), Some(&b"a"[..]));
        assert_eq!(l.get(2), None);
        assert_eq!(l.encoding(), "listpack");
    }

    #[test]
    fn converts_by_count_and_back_at_half() {
        let mut l = List::new();
        for i in 0..4 {
            l.push_all(&[format!("{i}").as_bytes()], End::Tail, 4);
        }
        assert_eq!(l.encoding(), "listpack");
        l.push_all(&[b"x"], End::Tail, 4);
        assert_eq!(l.encoding(), "quicklist");
        // Nodes of at most 4: the old listpack and a new node.
        assert_eq!(l.node_count(), 2);
        l.pop(End::Tail);
        l.try_shrink(4);
        // One node of 4 entries: more than half the limit.
        assert_eq!(l.encoding(), "quicklist");
        l.pop(End::Tail);
        l.pop(End::Tail);
        l.try_shrink(4);
        assert_eq!(l.encoding(), "listpack");
        assert_eq!(collect(&l), vec![b"0".to_vec(), b"1".to_vec()]);
    }

    #[test]
    fn converts_by_bytes() {
        let mut l = List::new();
        let big = vec![b'x'; 5000];
        l.push_all(&[&big], End::Tail, -2);
        assert_eq!(l.encoding(), "listpack");
        l.push_all(&[&big], End::Tail, -2);
        assert_eq!(l.encoding(), "quicklist");
        // A single element above the node size gets a plain node.
        let huge = vec![b'y'; 9000];
        l.push_all(&[&huge], End::Head, -2);
        assert_eq!(l.node_count(), 3);
        assert!(l.heap_size() >= 19000);
    }

    #[test]
    fn insert_remove_trim_set() {
        let mut l = List::new();
        l.push_all(&[b"a", b"b", b"a", b"c", b"a"], End::Tail, -2);
        assert!(l.insert(b"b", b"x", true, -2));
        assert!(!l.insert(b"nope", b"x", true, -2));
        assert_eq!(l.remove(b"a", -2), 2);
        assert_eq!(
            collect(&l),
            vec![b"a".to_vec(), b"b".to_vec(), b"x".to_vec(), b"c".to_vec()]
        );
        assert!(l.set(-1, b"d", -2));
        assert!(!l.set(4, b"d", -2));
        l.trim(1, 1);
        assert_eq!(collect(&l), vec![b"b".to_vec(), b"x".to_vec()]);
    }

    #[test]
    fn built_lists_pick_their_encoding() {
        let small: Vec<String> = (0..10).map(|i| i.to_string()).collect();
        let l = List::from_items(&small, -2);
        assert_eq!(l.encoding(), "listpack");
        assert_eq!(
            l.iter().map(|e| e.to_vec()).collect::<Vec<_>>(),
            small.iter().map(|s| s.as_bytes().to_vec()).collect::<Vec<_>>()
        );
        // Unlike shrinking, building keeps a listpack up to the full limit.
        let four = List::from_items(&["a", "b", "c", "d"], 4);
        assert_eq!(four.encoding(), "listpack");
        let five = List::from_items(&["a", "b", "c", "d", "e"], 4);
        assert_eq!(five.encoding(), "quicklist");
        assert_eq!(five.len(), 5);
        let mut five = five;
        five.pop(End::Head);
        five.pop(End::Head);
        five.try_shrink(4);
        assert_eq!(five.encoding(), "quicklist", "3 entries in 2 nodes");
    }

    #[derive(Debug, Clone)]
    enum Op {
        Push(bool, Vec<u8>),
        Pop(bool),
        Set(i64, Vec<u8>),
        Insert(Vec<u8>, Vec<u8>, bool),
        Remove(Vec<u8>, i64),
        Trim(usize, usize),
        Get(i64),
        Range(usize, usize),
    }

    fn elem() -> impl Strategy<Value = Vec<u8>> {
        prop_oneof![
            4 => prop::collection::vec(b'a'..b'd', 0..3),
            4 => (0i64..300).prop_map(|n| n.to_string().into_bytes()),
            4 => prop::collection::vec(any::<u8>(), 0..200),
            1 => prop::collection::vec(b'z'..=b'z', 4000..4200),
        ]
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            4 => (any::<bool>(), elem()).prop_map(|(h, e)| Op::Push(h, e)),
            2 => any::<bool>().prop_map(Op::Pop),
            1 => (-20i64..20, elem()).prop_map(|(i, e)| Op::Set(i, e)),
            1 => (elem(), elem(), any::<bool>()).prop_map(|(p, e, a)| Op::Insert(p, e, a)),
            1 => (elem(), -3i64..3).prop_map(|(e, c)| Op::Remove(e, c)),
            1 => (0usize..4, 0usize..4).prop_map(|(a, b)| Op::Trim(a, b)),
            1 => (-30i64..30).prop_map(Op::Get),
            1 => (0usize..30, 0usize..30).prop_map(|(a, b)| Op::Range(a, b)),
        ]
    }

    /// Every node's bytes decode to its count, its listpack size is
    /// Redis's, and a listpack is a single node.
    fn check_model(l: &List) {
        let mut total = 0;
        for node in &l.nodes {
            assert!(node.count > 0 || !l.quicklist);
            let items: Vec<&[u8]> = node.iter().collect();
            assert_eq!(items.len(), node.count);
            let back: Vec<&[u8]> = node.iter().rev().collect();
            assert_eq!(back.len(), node.count);
            let mut off = 0;
            for _ in 0..node.count {
                off = read_fwd(&node.data, off).2;
            }
            assert_eq!(off, node.data.len());
            if node.plain {
                assert_eq!(node.count, 1);
            } else {
                assert_eq!(
                    node.bytes,
                    LP_HDR + items.iter().map(|e| lp_entry_size(e)).sum::<usize>()
                );
            }
            total += node.count;
        }
        assert_eq!(total, l.len());
        if !l.quicklist {
            assert!(l.nodes.len() <= 1);
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(96))]
        #[test]
        fn matches_vecdeque(ops in prop::collection::vec(op(), 0..300), fill in prop_oneof![Just(-1i64), Just(-2), Just(3), Just(5)]) {
            let mut l = List::new();
            let mut m: VecDeque<Vec<u8>> = VecDeque::new();
            for op in ops {
                match op {
                    Op::Push(head, e) => {
                        let end = if head { End::Head } else { End::Tail };
                        l.push_all(&[&e], end, fill);
                        if head { m.push_front(e) } else { m.push_back(e) }
                    }
                    Op::Pop(head) => {
                        let end = if head { End::Head } else { End::Tail };
                        let got = l.pop(end).map(|b| b.to_vec());
                        l.try_shrink(fill);
                        let want = if head { m.pop_front() } else { m.pop_back() };
                        prop_assert_eq!(got, want);
                    }
                    Op::Set(i, e) => {
                        let len = m.len() as i64;
                        let idx = if i < 0 { len + i } else { i };
                        let ok = l.set(i, &e, fill);
                        prop_assert_eq!(ok, (0..len).contains(&idx));
                        if ok { m[idx as usize] = e; }
                    }
                    Op::Insert(p, e, after) => {
                        let ok = l.insert(&p, &e, after, fill);
                        let pos = m.iter().position(|x| *x == p);
                        prop_assert_eq!(ok, pos.is_some());
                        if let Some(pos) = pos {
                            m.insert(if after { pos + 1 } else { pos }, e);
                        }
                    }
                    Op::Remove(e, c) => {
                        let n = l.remove(&e, c);
                        l.try_shrink(fill);
                        let limit = if c == 0 { usize::MAX } else { c.unsigned_abs() as usize };
                        let mut removed = 0;
                        if c >= 0 {
                            let mut out = VecDeque::new();
                            for x in m.drain(..) {
                                if removed < limit && x == e { removed += 1 } else { out.push_back(x) }
                            }
                            m = out;
                        } else {
                            let mut out = VecDeque::new();
                            for x in m.drain(..).rev() {
                                if removed < limit && x == e { removed += 1 } else { out.push_front(x) }
                            }
                            m = out;
                        }
                        prop_assert_eq!(n, removed);
                    }
                    Op::Trim(a, b) => {
                        l.trim(a, b);
                        l.try_shrink(fill);
                        for _ in 0..a.min(m.len()) { m.pop_front(); }
                        for _ in 0..b.min(m.len()) { m.pop_back(); }
                    }
                    Op::Get(i) => {
                        let len = m.len() as i64;
                        let idx = if i < 0 { len + i } else { i };
                        let want = if (0..len).contains(&idx) { Some(m[idx as usize].clone()) } else { None };
                        prop_assert_eq!(l.get(i).map(|e| e.to_vec()), want);
                    }
                    Op::Range(a, b) => {
                        if a <= b && b < m.len() {
                            let got: Vec<Vec<u8>> = l.range(a, b).map(|e| e.to_vec()).collect();
                            let want: Vec<Vec<u8>> = m.range(a..=b).cloned().collect();
                            prop_assert_eq!(got, want);
                        }
                    }
                }
                prop_assert_eq!(l.len(), m.len());
                check_model(&l);
                let back: Vec<Vec<u8>> = l.iter().rev().map(|e| e.to_vec()).collect();
                let want: Vec<Vec<u8>> = m.iter().rev().cloned().collect();
                prop_assert_eq!(back, want);
            }
            prop_assert_eq!(collect(&l), m.into_iter().collect::<Vec<_>>());
        }
    }
}
