//! Encoding thresholds of the collection types (Redis's
//! `*-max-listpack-*`, `set-max-intset-entries`, `list-max-listpack-size`).
//! Held in atomics so CONFIG SET takes effect without locking shards.

use std::sync::atomic::{AtomicI64, Ordering};

#[derive(Debug)]
pub struct EncodingLimits {
    pub hash_max_listpack_entries: AtomicI64,
    pub hash_max_listpack_value: AtomicI64,
    pub list_max_listpack_size: AtomicI64,
    pub set_max_intset_entries: AtomicI64,
    pub set_max_listpack_entries: AtomicI64,
    pub set_max_listpack_value: AtomicI64,
    pub zset_max_listpack_entries: AtomicI64,
    pub zset_max_listpack_value: AtomicI64,
}

impl Default for EncodingLimits {
    fn default() -> Self {
        EncodingLimits {
            hash_max_listpack_entries: AtomicI64::new(128),
            hash_max_listpack_value: AtomicI64::new(64),
            list_max_listpack_size: AtomicI64::new(-2),
            set_max_intset_entries: AtomicI64::new(512),
            set_max_listpack_entries: AtomicI64::new(128),
            set_max_listpack_value: AtomicI64::new(64),
            zset_max_listpack_entries: AtomicI64::new(128),
            zset_max_listpack_value: AtomicI64::new(64),
        }
    }
}

/// A plain copy of the limits, read once per command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub hash_max_listpack_entries: usize,
    pub hash_max_listpack_value: usize,
    /// Positive: max entries per quicklist node; negative -1..-5: max node
    /// size 4/8/16/32/64 KiB.
    pub list_max_listpack_size: i64,
    pub set_max_intset_entries: usize,
    pub set_max_listpack_entries: usize,
    pub set_max_listpack_value: usize,
    pub zset_max_listpack_entries: usize,
    pub zset_max_listpack_value: usize,
}

impl Default for Limits {
    fn default() -> Self {
        EncodingLimits::default().get()
    }
}

fn u(a: &AtomicI64) -> usize {
    a.load(Ordering::Relaxed).max(0) as usize
}

impl EncodingLimits {
    pub fn get(&self) -> Limits {
        Limits {
            hash_max_listpack_entries: u(&self.hash_max_listpack_entries),
            hash_max_listpack_value: u(&self.hash_max_listpack_value),
            list_max_listpack_size: self.list_max_listpack_size.load(Ordering::Relaxed),
            set_max_intset_entries: u(&self.set_max_intset_entries),
            set_max_listpack_entries: u(&self.set_max_listpack_entries),
            set_max_listpack_value: u(&self.set_max_listpack_value),
            zset_max_listpack_entries: u(&self.zset_max_listpack_entries),
            zset_max_listpack_value: u(&self.zset_max_listpack_value),
        }
    }

    pub fn set(&self, l: &Limits) {
        let s = |a: &AtomicI64, v: i64| a.store(v, Ordering::Relaxed);
        s(&self.hash_max_listpack_entries, l.hash_max_listpack_entries as i64);
        s(&self.hash_max_listpack_value, l.hash_max_listpack_value as i64);
        s(&self.list_max_listpack_size, l.list_max_listpack_size);
        s(&self.set_max_intset_entries, l.set_max_intset_entries as i64);
        s(&self.set_max_listpack_entries, l.set_max_listpack_entries as i64);
        s(&self.set_max_listpack_value, l.set_max_listpack_value as i64);
        s(&self.zset_max_listpack_entries, l.zset_max_listpack_entries as i64);
        s(&self.zset_max_listpack_value, l.zset_max_listpack_value as i64);
    }
}
