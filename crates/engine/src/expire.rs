//! The expiry index: which keys' deadlines come next, so active expiry
//! reclaims due keys without scanning the keyspace.
//!
//! Records are `(deadline, key hash)`: 16 bytes, no copy of the key. A
//! record may be stale (the key was deleted or its TTL changed); it is
//! dropped when popped. The owning [`crate::Db`] rebuilds the index when
//! stale records pile up (`Db::bound_expiry_index`), which bounds its size
//! by about twice the number of keys with a TTL plus an eighth of the keys.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

#[derive(Debug, Default)]
pub struct ExpiryIndex {
    heap: BinaryHeap<Reverse<(u64, u64)>>,
}

impl ExpiryIndex {
    pub fn push(&mut self, deadline: u64, hash: u64) {
        self.heap.push(Reverse((deadline, hash)));
    }

    /// Pops the next record due at `now`, returning its key hash.
    pub fn pop_due(&mut self, now: u64) -> Option<u64> {
        match self.heap.peek() {
            Some(Reverse((d, _))) if *d <= now => self.heap.pop().map(|Reverse((_, h))| h),
            _ => None,
        }
    }

    pub fn has_due(&self, now: u64) -> bool {
        matches!(self.heap.peek(), Some(Reverse((d, _))) if *d <= now)
    }

    /// The next deadline, if any.
    pub fn next_deadline(&self) -> Option<u64> {
        self.heap.peek().map(|Reverse((d, _))| *d)
    }

    /// The key hash of record `i` (records are in no particular order;
    /// some may be stale), for sampling keys with a TTL.
    pub fn hash_at(&self, i: usize) -> Option<u64> {
        self.heap.as_slice().get(i).map(|Reverse((_, h))| *h)
    }

    pub fn len(&self) -> usize {
        self.heap.len()
    }

    pub fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pops_in_deadline_order() {
        let mut idx = ExpiryIndex::default();
        idx.push(30, 3);
        idx.push(10, 1);
        idx.push(20, 2);
        assert_eq!(idx.next_deadline(), Some(10));
        assert_eq!(idx.pop_due(5), None);
        assert_eq!(idx.pop_due(25), Some(1));
        assert_eq!(idx.pop_due(25), Some(2));
        assert_eq!(idx.pop_due(25), None);
        assert!(idx.has_due(30));
    }
}
