//! [`SmallBytes`]: an immutable byte string that keeps up to
//! [`INLINE_MAX`] bytes inline (no heap allocation) and boxes longer ones,
//! in 24 bytes with a spare niche so `Value` stays 24 bytes too.
//!
//! Layout: the inline variant is `#[repr(C)]` with its length byte first;
//! the length is an enum of the 23 valid lengths, so the other 233 byte
//! values are a niche the compiler uses for the `Heap` variant's tag and
//! for `Value`'s own tag, and the `Heap` box sits in bytes 8..24. No
//! unsafe code: the layout is the compiler's, checked by a size test.

use std::fmt;
use std::ops::Deref;

/// Longest byte string kept inline.
pub const INLINE_MAX: usize = 22;

macro_rules! inline_len {
    ($($v:ident = $n:literal),* $(,)?) => {
        /// A length 0..=INLINE_MAX; the invalid byte values are a niche.
        #[derive(Clone, Copy, PartialEq, Eq)]
        #[repr(u8)]
        enum InlineLen { $($v = $n),* }
        const LENS: [InlineLen; INLINE_MAX + 1] = [$(InlineLen::$v),*];
    };
}
inline_len!(
    L0 = 0,
    L1 = 1,
    L2 = 2,
    L3 = 3,
    L4 = 4,
    L5 = 5,
    L6 = 6,
    L7 = 7,
    L8 = 8,
    L9 = 9,
    L10 = 10,
    L11 = 11,
    L12 = 12,
    L13 = 13,
    L14 = 14,
    L15 = 15,
    L16 = 16,
    L17 = 17,
    L18 = 18,
    L19 = 19,
    L20 = 20,
    L21 = 21,
    L22 = 22,
);

#[derive(Clone, Copy)]
#[repr(C)]
struct Inline {
    len: InlineLen,
    data: [u8; INLINE_MAX],
}

/// Bytes, inline when short. Derefs to `[u8]`.
#[derive(Clone)]
pub struct SmallBytes(Repr);

#[derive(Clone)]
enum Repr {
    Inline(Inline),
    Heap(Box<[u8]>),
}

impl SmallBytes {
    /// Whether the bytes are stored inline (no heap block).
    pub fn is_inline(&self) -> bool {
        matches!(self.0, Repr::Inline(_))
    }

    /// Heap bytes owned (0 when inline).
    pub fn heap_size(&self) -> usize {
        match &self.0 {
            Repr::Inline(_) => 0,
            Repr::Heap(b) => b.len(),
        }
    }

    /// The bytes as an owned vector.
    pub fn into_vec(self) -> Vec<u8> {
        match self.0 {
            Repr::Inline(i) => i.data[..i.len as usize].to_vec(),
            Repr::Heap(b) => b.into_vec(),
        }
    }
}

impl Default for SmallBytes {
    fn default() -> Self {
        SmallBytes::from(&[][..])
    }
}

impl Deref for SmallBytes {
    type Target = [u8];
    #[inline]
    fn deref(&self) -> &[u8] {
        match &self.0 {
            Repr::Inline(i) => &i.data[..i.len as usize],
            Repr::Heap(b) => b,
        }
    }
}

impl AsRef<[u8]> for SmallBytes {
    fn as_ref(&self) -> &[u8] {
        self
    }
}

impl From<&[u8]> for SmallBytes {
    #[inline]
    fn from(b: &[u8]) -> Self {
        if b.len() <= INLINE_MAX {
            let mut data = [0u8; INLINE_MAX];
            data[..b.len()].copy_from_slice(b);
            SmallBytes(Repr::Inline(Inline {
                len: LENS[b.len()],
                data,
            }))
        } else {
            SmallBytes(Repr::Heap(b.into()))
        }
    }
}

impl From<Vec<u8>> for SmallBytes {
    fn from(v: Vec<u8>) -> Self {
        if v.len() <= INLINE_MAX {
            SmallBytes::from(&v[..])
        } else {
            SmallBytes(Repr::Heap(v.into_boxed_slice()))
        }
    }
}

impl From<Box<[u8]>> for SmallBytes {
    fn from(b: Box<[u8]>) -> Self {
        if b.len() <= INLINE_MAX {
            SmallBytes::from(&b[..])
        } else {
            SmallBytes(Repr::Heap(b))
        }
    }
}

impl PartialEq for SmallBytes {
    fn eq(&self, other: &Self) -> bool {
        **self == **other
    }
}
impl Eq for SmallBytes {}

impl fmt::Debug for SmallBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(std::mem::size_of::<SmallBytes>(), 24);
        assert_eq!(std::mem::size_of::<Option<SmallBytes>>(), 24);
    }

    #[test]
    fn round_trips_every_length_around_the_limit() {
        for n in 0..=64usize {
            let src: Vec<u8> = (0..n as u8).collect();
            let a = SmallBytes::from(&src[..]);
            let b = SmallBytes::from(src.clone());
            let c = SmallBytes::from(src.clone().into_boxed_slice());
            for x in [&a, &b, &c] {
                assert_eq!(&**x, &src[..]);
                assert_eq!(x.is_inline(), n <= INLINE_MAX);
                assert_eq!(x.heap_size(), if n <= INLINE_MAX { 0 } else { n });
            }
            assert_eq!(a, b);
            assert_eq!(a.clone().into_vec(), src);
        }
        assert!(SmallBytes::default().is_empty());
    }
}
