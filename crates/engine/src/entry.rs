//! [`Entry`]: one key and what it holds, in a single heap block reached
//! through a thin (8-byte) pointer, so the key table's slots are 8 bytes.
//!
//! Block layout (alignment 8):
//!
//! ```text
//! Header { value: Value (24), access: u32, meta: u32 }   32 bytes
//! [key length: u64]        only for keys of LONG_KEY bytes or more
//! key bytes
//! [deadline: 6 or 8 bytes] only for keys with a TTL (little-endian,
//!                          unaligned; 6 bytes while it is below 2^48 ms)
//! ```
//!
//! `access` is the eviction policy's per-key word (a millisecond LRU
//! clock, Redis's LFU counter and decay time, or an insertion time; see
//! `evict.rs`). `meta` holds the key length (bits 0..26, or `LONG_KEY`
//! when the length is in the extra word), the snapshot bit (26), three
//! bits the eviction policy may use (bits 27..30) and two flags: `TTL` (a deadline follows the
//! key) and `WIDE` (it takes 8 bytes rather than 6). A key without a TTL
//! pays nothing for it; setting or clearing one reallocates the block
//! (the deadline is last, so `realloc` keeps everything before it).
//!
//! All unsafe code of the keyspace is in this file. Invariants: `ptr`
//! always points to a live block allocated with `layout(meta)` whose
//! header is initialised and whose key bytes are initialised; the
//! `Entry` owns the block uniquely (like a `Box`).

use std::alloc::{self, Layout};
use std::fmt;
use std::marker::PhantomData;
use std::mem::{align_of, size_of, ManuallyDrop};
use std::ptr::{self, NonNull};

use crate::value::Value;

#[repr(C)]
struct Header {
    value: Value,
    access: u32,
    meta: u32,
}

const HDR: usize = size_of::<Header>();
const TTL: u32 = 1 << 31;
const WIDE: u32 = 1 << 30;
const POLICY_SHIFT: u32 = 27;
const POLICY_MASK: u32 = 0b111 << POLICY_SHIFT;
/// The snapshot bit (see `snapshot.rs`): whether this key's state as of
/// the running snapshot's start has been written (compared with its
/// db's parity).
const SNAP: u32 = 1 << 26;
const LEN_MASK: u32 = SNAP - 1;
/// Key lengths from this one on are stored in an extra u64 word (small
/// under test so the tests cover that path).
#[cfg(not(test))]
const LONG_KEY: u32 = LEN_MASK;
#[cfg(test)]
const LONG_KEY: u32 = 40;
/// Deadlines below this fit in 6 bytes (year 10889).
const NARROW_LIMIT: u64 = 1 << 48;

/// A key, its value, its access time and its TTL, in one heap block.
pub struct Entry {
    ptr: NonNull<Header>,
    _owns: PhantomData<Header>,
}

// SAFETY: an Entry owns its block uniquely, like a Box<Header> with the
// key bytes after it; the block holds a Value (Send + Sync, asserted
// below) and plain bytes, so sending or sharing an Entry is as safe as
// sending or sharing a Box of them.
unsafe impl Send for Entry {}
// SAFETY: as above; `&Entry` only gives `&Value` and `&[u8]`.
unsafe impl Sync for Entry {}

const _: () = {
    const fn send_sync<T: Send + Sync>() {}
    send_sync::<Value>();
    assert!(HDR == 32);
};

fn deadline_width(meta: u32) -> usize {
    match (meta & TTL != 0, meta & WIDE != 0) {
        (false, _) => 0,
        (true, false) => 6,
        (true, true) => 8,
    }
}

/// Offset of the key bytes for this key length.
fn key_offset(key_len: usize) -> usize {
    if key_len >= LONG_KEY as usize {
        HDR + 8
    } else {
        HDR
    }
}

/// The block layout for a key of `key_len` bytes and `meta`'s flags.
fn layout(key_len: usize, meta: u32) -> Layout {
    let size = key_offset(key_len)
        .checked_add(key_len)
        .and_then(|s| s.checked_add(deadline_width(meta)));
    match size.map(|s| Layout::from_size_align(s, align_of::<Header>())) {
        Some(Ok(l)) => l,
        // Only reachable for a key near isize::MAX bytes, which cannot
        // exist in memory: treat as allocation failure.
        _ => alloc::handle_alloc_error(Layout::new::<Header>()),
    }
}

/// The flags for a deadline (0: none).
fn ttl_flags(deadline: u64) -> u32 {
    match deadline {
        0 => 0,
        d if d < NARROW_LIMIT => TTL,
        _ => TTL | WIDE,
    }
}

impl Entry {
    /// A new entry. `deadline` 0 means no TTL.
    pub(crate) fn new(key: &[u8], value: Value, access: u32, deadline: u64) -> Entry {
        let len_bits = if key.len() >= LONG_KEY as usize {
            LONG_KEY
        } else {
            key.len() as u32
        };
        let meta = len_bits | ttl_flags(deadline);
        debug_assert_eq!(meta & POLICY_MASK, 0);
        let lay = layout(key.len(), meta);
        // SAFETY: `lay` has a non-zero size (at least HDR).
        let raw = unsafe { alloc::alloc(lay) };
        let Some(p) = NonNull::new(raw) else {
            alloc::handle_alloc_error(lay)
        };
        let hdr = p.cast::<Header>();
        let koff = key_offset(key.len());
        // SAFETY: the block is `lay.size()` bytes, aligned for Header,
        // and holds HDR + [8] + key.len() + deadline width bytes: every
        // write below is in bounds, to memory not yet initialised.
        unsafe {
            hdr.as_ptr().write(Header { value, access, meta });
            if len_bits == LONG_KEY {
                raw.add(HDR).cast::<u64>().write(key.len() as u64);
            }
            ptr::copy_nonoverlapping(key.as_ptr(), raw.add(koff), key.len());
            // Zero the deadline bytes so every byte of the block is
            // initialised before `tail_mut` makes a slice of them.
            ptr::write_bytes(raw.add(koff + key.len()), 0, deadline_width(meta));
        }
        let mut e = Entry {
            ptr: hdr,
            _owns: PhantomData,
        };
        e.write_deadline(deadline);
        e
    }

    fn header(&self) -> &Header {
        // SAFETY: `ptr` points to an initialised header we own.
        unsafe { self.ptr.as_ref() }
    }

    fn header_mut(&mut self) -> &mut Header {
        // SAFETY: as `header`, and `&mut self` makes the access unique.
        unsafe { self.ptr.as_mut() }
    }

    #[inline]
    fn key_len(&self) -> usize {
        let bits = self.header().meta & LEN_MASK;
        if bits == LONG_KEY {
            // SAFETY: a LONG_KEY block has the length word right after
            // the header, aligned to 8, written by `new`.
            unsafe { self.ptr.as_ptr().cast::<u8>().add(HDR).cast::<u64>().read() as usize }
        } else {
            bits as usize
        }
    }

    /// The bytes after the header: [length word], key, [deadline].
    fn tail(&self) -> &[u8] {
        let klen = self.key_len();
        let lay = layout(klen, self.header().meta);
        // SAFETY: the block is `lay.size()` bytes, all initialised (`new`
        // writes every byte after the header; `set_deadline` zeroes the
        // bytes it adds).
        unsafe { std::slice::from_raw_parts(self.ptr.as_ptr().cast::<u8>().add(HDR), lay.size() - HDR) }
    }

    fn tail_mut(&mut self) -> &mut [u8] {
        let klen = self.key_len();
        let lay = layout(klen, self.header().meta);
        // SAFETY: as `tail`; `&mut self` makes the access unique.
        unsafe { std::slice::from_raw_parts_mut(self.ptr.as_ptr().cast::<u8>().add(HDR), lay.size() - HDR) }
    }

    #[inline]
    pub fn key(&self) -> &[u8] {
        let klen = self.key_len();
        // SAFETY: the key's `klen` bytes start at `key_offset(klen)` in
        // the block and were initialised by `new`; the slice borrows
        // `self`, which owns the block.
        unsafe { std::slice::from_raw_parts(self.ptr.as_ptr().cast::<u8>().add(key_offset(klen)), klen) }
    }

    pub fn value(&self) -> &Value {
        &self.header().value
    }

    pub fn value_mut(&mut self) -> &mut Value {
        &mut self.header_mut().value
    }

    pub fn set_value(&mut self, v: Value) {
        self.header_mut().value = v;
    }

    pub fn into_value(self) -> Value {
        let me = ManuallyDrop::new(self);
        let lay = layout(me.key_len(), me.header().meta);
        // SAFETY: the value is read out exactly once and the block freed
        // with the layout it was allocated with; `me` is never used or
        // dropped afterwards.
        unsafe {
            let v = ptr::addr_of!((*me.ptr.as_ptr()).value).read();
            alloc::dealloc(me.ptr.as_ptr().cast(), lay);
            v
        }
    }

    /// The TTL deadline (ms since the epoch), if any.
    #[inline]
    pub fn expire_at(&self) -> Option<u64> {
        let w = deadline_width(self.header().meta);
        if w == 0 {
            return None;
        }
        let t = self.tail();
        let mut b = [0u8; 8];
        b[..w].copy_from_slice(&t[t.len() - w..]);
        Some(u64::from_le_bytes(b))
    }

    /// The deadline, 0 if none.
    pub(crate) fn deadline(&self) -> u64 {
        self.expire_at().unwrap_or(0)
    }

    /// The eviction policy's access word (see `evict.rs`).
    #[inline]
    pub fn access(&self) -> u32 {
        self.header().access
    }

    #[inline]
    pub(crate) fn set_access(&mut self, access: u32) {
        self.header_mut().access = access;
    }

    /// The eviction policy's three spare bits.
    #[inline]
    pub fn policy_bits(&self) -> u8 {
        ((self.header().meta & POLICY_MASK) >> POLICY_SHIFT) as u8
    }

    #[inline]
    pub(crate) fn set_policy_bits(&mut self, bits: u8) {
        let h = self.header_mut();
        h.meta = (h.meta & !POLICY_MASK) | ((u32::from(bits) << POLICY_SHIFT) & POLICY_MASK);
    }

    /// The snapshot bit (`snapshot.rs`).
    #[inline]
    pub(crate) fn snap_bit(&self) -> bool {
        self.header().meta & SNAP != 0
    }

    #[inline]
    pub(crate) fn set_snap_bit(&mut self, on: bool) {
        let h = self.header_mut();
        h.meta = if on { h.meta | SNAP } else { h.meta & !SNAP };
    }

    fn is_expired(&self, now: u64) -> bool {
        self.expire_at().is_some_and(|d| d <= now)
    }

    /// Whether the key is still live at `now` (its TTL, if any, has not
    /// passed). Entries met by iteration may be expired but not yet
    /// reclaimed.
    pub fn is_live(&self, now: u64) -> bool {
        !self.is_expired(now)
    }

    /// Sets the deadline (0: no TTL), resizing the block when the space
    /// the deadline needs changes.
    pub(crate) fn set_deadline(&mut self, deadline: u64) {
        let meta = self.header().meta;
        let new_meta = (meta & !(TTL | WIDE)) | ttl_flags(deadline);
        if new_meta != meta {
            let klen = self.key_len();
            let old = layout(klen, meta);
            let new = layout(klen, new_meta);
            // SAFETY: the block was allocated with `old`; `new` has the
            // same alignment and a non-zero size. realloc keeps the first
            // min(old, new) bytes: the header, length word and key, which
            // come before the deadline.
            let raw = unsafe { alloc::realloc(self.ptr.as_ptr().cast(), old, new.size()) };
            let Some(p) = NonNull::new(raw) else {
                alloc::handle_alloc_error(new)
            };
            if new.size() > old.size() {
                // SAFETY: the bytes from old.size() to new.size() are in
                // the new block; zeroing them keeps the whole block
                // initialised (`write_deadline` then fills them).
                unsafe { ptr::write_bytes(raw.add(old.size()), 0, new.size() - old.size()) };
            }
            self.ptr = p.cast();
            self.header_mut().meta = new_meta;
        }
        self.write_deadline(deadline);
    }

    /// Writes the deadline bytes (the flags must already match it).
    fn write_deadline(&mut self, deadline: u64) {
        let w = deadline_width(self.header().meta);
        if w > 0 {
            let t = self.tail_mut();
            let n = t.len();
            t[n - w..].copy_from_slice(&deadline.to_le_bytes()[..w]);
        }
    }

    /// Bytes of the block (before the allocator rounds it up).
    pub(crate) fn block_size(&self) -> usize {
        layout(self.key_len(), self.header().meta).size()
    }

    /// Bytes this key costs (MEMORY USAGE): its block as jemalloc
    /// rounds it, the value's heap, and its table slot plus control byte.
    pub fn memory_usage(&self) -> usize {
        size_class(self.block_size()) + self.value().heap_size() + size_of::<Entry>() + 1
    }
}

/// jemalloc's size class for `n` bytes (16-byte quantum, four classes
/// per doubling above 128 bytes).
fn size_class(n: usize) -> usize {
    if n <= 8 {
        return 8;
    }
    if n <= 128 {
        return n.div_ceil(16) * 16;
    }
    let lg = usize::BITS - 1 - (n - 1).leading_zeros();
    let delta = 1usize << (lg - 2);
    n.div_ceil(delta) * delta
}

impl Drop for Entry {
    fn drop(&mut self) {
        let lay = layout(self.key_len(), self.header().meta);
        // SAFETY: we own the block; the value is dropped once in place and
        // the block freed with the layout it was allocated with.
        unsafe {
            ptr::drop_in_place(ptr::addr_of_mut!((*self.ptr.as_ptr()).value));
            alloc::dealloc(self.ptr.as_ptr().cast(), lay);
        }
    }
}

impl fmt::Debug for Entry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Entry")
            .field("key", &self.key())
            .field("value", self.value())
            .field("expire_at", &self.expire_at())
            .field("access", &self.access())
            .field("policy_bits", &self.policy_bits())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn jemalloc_size_classes() {
        let cases = [
            (1, 8),
            (8, 8),
            (9, 16),
            (42, 48),
            (128, 128),
            (129, 160),
            (257, 320),
            (4097, 5120),
        ];
        for (n, class) in cases {
            assert_eq!(size_class(n), class, "{n}");
        }
        let e = Entry::new(b"key:123456", Value::from_bytes(&[b'v'; 16]), 7, 0);
        assert_eq!(e.memory_usage(), 48 + 9);
    }

    #[test]
    fn sizes() {
        assert_eq!(size_of::<Entry>(), 8);
        assert_eq!(size_of::<Option<Entry>>(), 8);
        let e = Entry::new(b"key:123456", Value::from_bytes(&[b'v'; 16]), 7, 0);
        assert_eq!(e.block_size(), 42);
        let e = Entry::new(b"key:123456", Value::from_bytes(&[b'v'; 16]), 7, 1_700_000_000_000);
        assert_eq!(e.block_size(), 48);
    }

    #[test]
    fn fields_round_trip_through_ttl_changes() {
        let mut e = Entry::new(b"abc", Value::from_bytes(b"hello"), 5, 0);
        assert_eq!((e.key(), e.expire_at(), e.access()), (&b"abc"[..], None, 5));
        for d in [1, NARROW_LIMIT - 1, NARROW_LIMIT, u64::MAX, 0, 42, 0] {
            e.set_deadline(d);
            assert_eq!(e.expire_at(), (d != 0).then_some(d));
            assert_eq!(e.key(), b"abc");
            assert_eq!(e.value(), &Value::from_bytes(b"hello"));
        }
        e.set_access(9);
        e.set_policy_bits(0b101);
        e.set_deadline(77);
        assert_eq!(
            (e.policy_bits(), e.expire_at(), e.key()),
            (0b101, Some(77), &b"abc"[..])
        );
        e.set_policy_bits(0xff);
        assert_eq!(
            (e.policy_bits(), e.expire_at(), e.key()),
            (0b111, Some(77), &b"abc"[..])
        );
        e.set_policy_bits(0);
        e.set_deadline(0);
        *e.value_mut() = Value::from_bytes(&[b'x'; 100]);
        assert_eq!(e.access(), 9);
        assert_eq!(e.into_value(), Value::from_bytes(&[b'x'; 100]));
        let e = Entry::new(&[b'k'; 100], Value::Int(1), 0, 5);
        assert_eq!((e.key(), e.expire_at()), (&[b'k'; 100][..], Some(5)));
        assert_eq!(e.block_size(), HDR + 8 + 100 + 6);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(if cfg!(miri) { 20 } else { 256 }))]
        #[test]
        fn any_key_value_deadline(key in proptest::collection::vec(any::<u8>(), 0..80),
                                  val in proptest::collection::vec(any::<u8>(), 0..80),
                                  d1 in prop_oneof![Just(0u64), any::<u64>()],
                                  d2 in prop_oneof![Just(0u64), any::<u64>(), 1u64..NARROW_LIMIT],
                                  access in any::<u32>(),
                                  bits in 0u8..8) {
            let mut e = Entry::new(&key, Value::from_bytes(&val), access, d1);
            e.set_policy_bits(bits);
            prop_assert_eq!(e.key(), &key[..]);
            prop_assert_eq!(e.deadline(), d1);
            e.set_deadline(d2);
            prop_assert_eq!(e.key(), &key[..]);
            prop_assert_eq!(e.deadline(), d2);
            prop_assert_eq!(e.access(), access);
            prop_assert_eq!(e.policy_bits(), bits);
            prop_assert_eq!(e.value(), &Value::from_bytes(&val));
            let moved = std::thread::spawn(move || (e.key().to_vec(), e.into_value())).join();
            prop_assert_eq!(moved.ok(), Some((key, Value::from_bytes(&val))));
        }
    }
}
