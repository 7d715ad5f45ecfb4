//! The list value type, with Redis 7.2's two encodings.
//!
//! The elements live in one `VecDeque<Box<[u8]>>`: O(1) push and pop at
//! both ends, O(1) indexing, O(n) insertion and removal in the middle.
//! Next to them the list keeps a byte-exact model of the layout Redis
//! would use, so OBJECT ENCODING answers as Redis does and the
//! conversions happen at the same points:
//!
//! - `listpack` while the whole list fits one quicklist node by
//!   `list-max-listpack-size` (positive: entries; -1..-5: 4..64 KiB of
//!   listpack bytes), its size being Redis's `lpBytes`;
//! - `quicklist` once a push would exceed that (listTypeTryConvertListpack),
//!   modelled as a chain of nodes (entry count and listpack bytes each)
//!   filled by quicklist's insertion rules;
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

/// One modelled quicklist node.
#[derive(Clone, Debug, PartialEq)]
struct Node {
    count: usize,
    /// The node's listpack bytes (or the element's size if plain).
    bytes: usize,
    /// A plain node holds one large element outside any listpack.
    plain: bool,
}

impl Node {
    fn plain(item: &[u8]) -> Node {
        Node {
            count: 1,
            bytes: item.len(),
            plain: true,
        }
    }
    fn packed(item: &[u8]) -> Node {
        Node {
            count: 1,
            bytes: LP_HDR + lp_entry_size(item),
            plain: false,
        }
    }
    /// _quicklistNodeAllowInsert.
    fn allows(&self, fill: i64, sz: usize) -> bool {
        !self.plain
            && !is_large(sz, fill)
            && !exceeds_limit(fill, self.bytes + sz + SIZE_ESTIMATE_OVERHEAD, self.count + 1)
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct List {
    items: VecDeque<Box<[u8]>>,
    /// Sum of the elements' lengths.
    data_bytes: usize,
    /// lpBytes while the encoding is listpack.
    lp_bytes: usize,
    /// The quicklist model; `None` while the encoding is listpack.
    nodes: Option<VecDeque<Node>>,
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
            items: VecDeque::new(),
            data_bytes: 0,
            lp_bytes: LP_HDR,
            nodes: None,
            fill: -2,
        }
    }

    /// OBJECT ENCODING's answer.
    pub fn encoding(&self) -> &'static str {
        if self.nodes.is_some() {
            "quicklist"
        } else {
            "listpack"
        }
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Heap bytes owned, for memory accounting: the deque's slots, each
    /// element's allocation and the node model.
    pub fn heap_size(&self) -> usize {
        let slots = self.items.capacity() * std::mem::size_of::<Box<[u8]>>();
        let nodes = self
            .nodes
            .as_ref()
            .map_or(0, |n| n.capacity() * std::mem::size_of::<Node>());
        slots + self.data_bytes + nodes
    }

    /// Number of modelled quicklist nodes (0 while a listpack).
    pub fn node_count(&self) -> usize {
        self.nodes.as_ref().map_or(0, |n| n.len())
    }

    /// listTypeTryConvertListpack: before adding `add_count` elements of
    /// `add_bytes` total string length, turns a listpack that would
    /// exceed one node into a quicklist.
    pub fn try_grow(&mut self, fill: i64, add_bytes: usize, add_count: usize) {
        if self.nodes.is_some() {
            return;
        }
        if exceeds_limit(
            fill,
            self.lp_bytes.saturating_add(add_bytes),
            self.len().saturating_add(add_count),
        ) {
            let mut nodes = VecDeque::new();
            if !self.items.is_empty() {
                nodes.push_back(Node {
                    count: self.items.len(),
                    bytes: self.lp_bytes,
                    plain: false,
                });
            }
            self.nodes = Some(nodes);
            self.fill = fill;
            self.lp_bytes = 0;
        }
    }

    /// A list built from `items` in order the way SORT ... STORE builds
    /// one: pushed into a quicklist, then turned into a listpack if it
    /// fits one node (listTypeTryConversion with LIST_CONV_AUTO).
    pub fn from_items<T: AsRef<[u8]>>(items: &[T], fill: i64) -> List {
        let mut l = List::new();
        l.nodes = Some(VecDeque::new());
        l.fill = fill;
        l.lp_bytes = 0;
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
        let Some(nodes) = &self.nodes else { return };
        if nodes.len() > 1 {
            return;
        }
        let (mut sz, mut count) = node_limit(fill);
        if shrinking {
            sz /= 2;
            count /= 2;
        }
        let (bytes, n) = match nodes.front() {
            None => (LP_HDR, 0),
            Some(node) if node.plain => return,
            Some(node) => (node.bytes, node.count),
        };
        if bytes > sz || n > count {
            return;
        }
        self.nodes = None;
        self.lp_bytes = bytes;
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
        self.push_owned(item, end);
    }

    /// Pushes without a conversion check (the caller did `try_grow`).
    pub fn push(&mut self, item: &[u8], end: End) {
        self.push_owned(item.into(), end);
    }

    fn push_owned(&mut self, item: Box<[u8]>, end: End) {
        self.data_bytes += item.len();
        let fill = self.fill;
        match &mut self.nodes {
            None => self.lp_bytes += lp_entry_size(&item),
            Some(nodes) => {
                let sz = item.len();
                let edge = match end {
                    End::Head => nodes.front_mut(),
                    End::Tail => nodes.back_mut(),
                };
                match edge {
                    Some(node) if !is_large(sz, fill) && node.allows(fill, sz) => {
                        node.count += 1;
                        node.bytes += lp_entry_size(&item);
                    }
                    _ => {
                        let node = if is_large(sz, fill) {
                            Node::plain(&item)
                        } else {
                            Node::packed(&item)
                        };
                        match end {
                            End::Head => nodes.push_front(node),
                            End::Tail => nodes.push_back(node),
                        }
                    }
                }
            }
        }
        match end {
            End::Head => self.items.push_front(item),
            End::Tail => self.items.push_back(item),
        }
    }

    /// Removes and returns the element at `end`. Call `try_shrink` after
    /// a batch of removals.
    pub fn pop(&mut self, end: End) -> Option<Box<[u8]>> {
        let item = match end {
            End::Head => self.items.pop_front()?,
            End::Tail => self.items.pop_back()?,
        };
        self.data_bytes -= item.len();
        match &mut self.nodes {
            None => self.lp_bytes -= lp_entry_size(&item),
            Some(nodes) => {
                let node = match end {
                    End::Head => nodes.front_mut(),
                    End::Tail => nodes.back_mut(),
                };
                if let Some(node) = node {
                    node.count -= 1;
                    node.bytes = node.bytes.saturating_sub(entry_bytes(node, &item));
                    if node.count == 0 {
                        match end {
                            End::Head => nodes.pop_front(),
                            End::Tail => nodes.pop_back(),
                        };
                    }
                }
            }
        }
        Some(item)
    }

    /// Resolves a Redis index (negative counts from the tail).
    pub fn resolve_index(&self, index: i64) -> Option<usize> {
        let len = self.len() as i64;
        let i = if index < 0 { len.checked_add(index)? } else { index };
        (0..len).contains(&i).then_some(i as usize)
    }

    /// The element at a Redis index.
    pub fn get(&self, index: i64) -> Option<&[u8]> {
        self.resolve_index(index).map(|i| &*self.items[i])
    }

    /// Iterates from head to tail (reversible).
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &[u8]> + ExactSizeIterator {
        self.items.iter().map(|b| &**b)
    }

    /// Elements `start..=end` (already clamped by the caller).
    pub fn range(&self, start: usize, end: usize) -> impl Iterator<Item = &[u8]> {
        self.items.range(start..=end).map(|b| &**b)
    }

    /// Node index holding element `i`, and `i`'s offset in it.
    fn locate(nodes: &VecDeque<Node>, i: usize) -> Option<(usize, usize)> {
        let mut base = 0;
        for (n, node) in nodes.iter().enumerate() {
            if i < base + node.count {
                return Some((n, i - base));
            }
            base += node.count;
        }
        None
    }

    /// Replaces the element at a Redis index (LSET). False if out of range.
    pub fn set(&mut self, index: i64, value: &[u8], fill: i64) -> bool {
        // Like Redis, the conversion check comes first, whether or not
        // the index is in range.
        self.try_grow(fill, value.len(), 1);
        let Some(i) = self.resolve_index(index) else {
            return false;
        };
        let old = std::mem::replace(&mut self.items[i], value.into());
        self.data_bytes = self.data_bytes - old.len() + value.len();
        let qfill = self.fill;
        match &mut self.nodes {
            None => self.lp_bytes = self.lp_bytes - lp_entry_size(&old) + lp_entry_size(value),
            Some(nodes) => {
                if let Some((n, _)) = Self::locate(nodes, i) {
                    let node = &mut nodes[n];
                    if node.count == 1 && (node.plain || is_large(value.len(), qfill)) {
                        *node = if is_large(value.len(), qfill) {
                            Node::plain(value)
                        } else {
                            Node::packed(value)
                        };
                    } else {
                        node.bytes = (node.bytes + lp_entry_size(value)).saturating_sub(entry_bytes(node, &old));
                    }
                }
            }
        }
        self.try_shrink(fill);
        true
    }

    /// Inserts `value` before or after the first element equal to
    /// `pivot` (LINSERT). Returns false if there is no such element.
    pub fn insert(&mut self, pivot: &[u8], value: &[u8], after: bool, fill: i64) -> bool {
        // Like Redis, converts first, assuming the pivot will be found.
        self.try_grow(fill, value.len(), 1);
        let Some(p) = self.items.iter().position(|e| &**e == pivot) else {
            return false;
        };
        let at = if after { p + 1 } else { p };
        self.model_insert(at, value);
        self.items.insert(at, value.into());
        self.data_bytes += value.len();
        true
    }

    /// Updates the layout model for `value` inserted at position `at`.
    fn model_insert(&mut self, at: usize, value: &[u8]) {
        let fill = self.fill;
        let Some(nodes) = &mut self.nodes else {
            self.lp_bytes += lp_entry_size(value);
            return;
        };
        let sz = value.len();
        let new_node = || {
            if is_large(sz, fill) {
                Node::plain(value)
            } else {
                Node::packed(value)
            }
        };
        if nodes.is_empty() {
            nodes.push_back(new_node());
            return;
        }
        // The node holding the element now at `at` (or the last one).
        let (n, off) = match Self::locate(nodes, at) {
            Some(x) => x,
            None => {
                let last = nodes.len() - 1;
                (last, nodes[last].count)
            }
        };
        if nodes[n].allows(fill, sz) {
            nodes[n].count += 1;
            nodes[n].bytes += lp_entry_size(value);
            return;
        }
        if off == 0 && n > 0 && nodes[n - 1].allows(fill, sz) {
            nodes[n - 1].count += 1;
            nodes[n - 1].bytes += lp_entry_size(value);
            return;
        }
        if off == 0 {
            nodes.insert(n, new_node());
            return;
        }
        if off == nodes[n].count {
            nodes.insert(n + 1, new_node());
            return;
        }
        // Split node n at `off`: [0, off) stays, [off, count) moves to a
        // new node after the inserted one. Element positions: the node
        // starts at `at - off` in the (pre-insert) items.
        let start = at - off;
        let right: usize = (at..start + nodes[n].count)
            .map(|i| lp_entry_size(&self.items[i]))
            .sum();
        let right_count = nodes[n].count - off;
        nodes[n].count = off;
        nodes[n].bytes = nodes[n].bytes.saturating_sub(right);
        nodes.insert(
            n + 1,
            Node {
                count: right_count,
                bytes: LP_HDR + right,
                plain: false,
            },
        );
        nodes.insert(n + 1, new_node());
    }

    /// Updates the layout model for element `i` (equal to `item`) removed.
    fn model_remove(&mut self, i: usize, item: &[u8]) {
        let Some(nodes) = &mut self.nodes else {
            self.lp_bytes -= lp_entry_size(item);
            return;
        };
        if let Some((n, _)) = Self::locate(nodes, i) {
            let node = &mut nodes[n];
            node.count -= 1;
            node.bytes = node.bytes.saturating_sub(entry_bytes(node, item));
            if node.count == 0 {
                nodes.remove(n);
            }
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
        let mut hits: Vec<usize> = Vec::new();
        if count >= 0 {
            for (i, e) in self.items.iter().enumerate() {
                if hits.len() >= limit {
                    break;
                }
                if &**e == value {
                    hits.push(i);
                }
            }
        } else {
            for (i, e) in self.items.iter().enumerate().rev() {
                if hits.len() >= limit {
                    break;
                }
                if &**e == value {
                    hits.push(i);
                }
            }
            hits.reverse();
        }
        // From the back, so earlier positions stay valid.
        for &i in hits.iter().rev() {
            if let Some(item) = self.items.remove(i) {
                self.data_bytes -= item.len();
                self.model_remove(i, &item);
            }
        }
        hits.len()
    }

    /// LTRIM: removes `left` elements from the head and `right` from the
    /// tail. Call `try_shrink` after.
    pub fn trim(&mut self, left: usize, right: usize) {
        for _ in 0..left.min(self.len()) {
            self.pop(End::Head);
        }
        for _ in 0..right.min(self.len()) {
            self.pop(End::Tail);
        }
    }
}

/// Bytes an element accounts for in its node.
fn entry_bytes(node: &Node, item: &[u8]) -> usize {
    if node.plain {
        item.len()
    } else {
        lp_entry_size(item)
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
        ]
    }

    /// The model's node counts must add up, and a listpack must never
    /// hold more than the count limit after a conversion check.
    fn check_model(l: &List) {
        match &l.nodes {
            None => {
                let bytes: usize = l.items.iter().map(|e| lp_entry_size(e)).sum();
                assert_eq!(l.lp_bytes, LP_HDR + bytes);
            }
            Some(nodes) => {
                assert_eq!(nodes.iter().map(|n| n.count).sum::<usize>(), l.len());
                assert!(nodes.iter().all(|n| n.count > 0));
            }
        }
        assert_eq!(l.data_bytes, l.items.iter().map(|e| e.len()).sum::<usize>());
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(96))]
        #[test]
        fn matches_vecdeque(ops in prop::collection::vec(op(), 0..200), fill in prop_oneof![Just(-1i64), Just(-2), Just(3), Just(5)]) {
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
                }
                prop_assert_eq!(l.len(), m.len());
                check_model(&l);
            }
            prop_assert_eq!(collect(&l), m.into_iter().collect::<Vec<_>>());
        }
    }
}
