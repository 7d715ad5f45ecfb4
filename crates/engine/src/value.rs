//! The values a key can hold: strings (in Redis's three encodings) and the
//! collection types of [`crate::types`], boxed so a `Value` stays small.

pub use crate::small_bytes::SmallBytes;
use crate::types::{Hash, List, Set, ZSet};

/// Longest string Redis stores as `embstr` (OBJ_ENCODING_EMBSTR_SIZE_LIMIT).
pub const EMBSTR_MAX: usize = 44;

#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// A string that is the canonical decimal form of an i64 ("int").
    Int(i64),
    /// A string stored as set ("embstr" when short, "raw" otherwise);
    /// up to 22 bytes inline, longer ones boxed.
    Str(SmallBytes),
    /// A string that has been modified in place (APPEND, SETRANGE...):
    /// keeps spare capacity, always "raw". Boxed so `Value` stays 24
    /// bytes (the inline string takes them all).
    Raw(Box<Vec<u8>>),
    List(Box<List>),
    Hash(Box<Hash>),
    Set(Box<Set>),
    ZSet(Box<ZSet>),
}

/// The type name TYPE replies with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ValueType {
    String,
    List,
    Hash,
    Set,
    ZSet,
}

impl ValueType {
    pub fn name(self) -> &'static str {
        match self {
            ValueType::String => "string",
            ValueType::List => "list",
            ValueType::Hash => "hash",
            ValueType::Set => "set",
            ValueType::ZSet => "zset",
        }
    }

    /// Whether clients can block on a key of this type (BLPOP, BZPOPMIN):
    /// creating such a key wakes them.
    pub fn is_blockable(self) -> bool {
        matches!(self, ValueType::List | ValueType::ZSet)
    }
}

impl Value {
    /// A string value in the encoding Redis would pick for it
    /// (tryObjectEncoding): an integer if the bytes are one's canonical
    /// form and at most 20 long, otherwise the bytes.
    pub fn from_bytes(data: &[u8]) -> Value {
        if let Some(n) = canonical_i64(data) {
            return Value::Int(n);
        }
        Value::Str(data.into())
    }

    pub fn value_type(&self) -> ValueType {
        match self {
            Value::Int(_) | Value::Str(_) | Value::Raw(_) => ValueType::String,
            Value::List(_) => ValueType::List,
            Value::Hash(_) => ValueType::Hash,
            Value::Set(_) => ValueType::Set,
            Value::ZSet(_) => ValueType::ZSet,
        }
    }

    /// OBJECT ENCODING's answer.
    pub fn encoding(&self) -> &'static str {
        match self {
            Value::Int(_) => "int",
            Value::Str(b) if b.len() <= EMBSTR_MAX => "embstr",
            Value::Str(_) | Value::Raw(_) => "raw",
            Value::List(l) => l.encoding(),
            Value::Hash(h) => h.encoding(),
            Value::Set(x) => x.encoding(),
            Value::ZSet(z) => z.encoding(),
        }
    }

    pub fn is_string(&self) -> bool {
        matches!(self, Value::Int(_) | Value::Str(_) | Value::Raw(_))
    }

    /// The bytes of a string value, formatting an integer into `scratch`.
    /// `None` if the value is not a string.
    pub fn as_bytes<'a>(&'a self, scratch: &'a mut itoa_buf::Buf) -> Option<&'a [u8]> {
        match self {
            Value::Int(n) => Some(scratch.format(*n)),
            Value::Str(b) => Some(b),
            Value::Raw(v) => Some(v),
            _ => None,
        }
    }

    /// Length of a string value in bytes.
    pub fn str_len(&self) -> Option<usize> {
        match self {
            Value::Int(n) => Some(itoa_buf::Buf::default().format(*n).len()),
            Value::Str(b) => Some(b.len()),
            Value::Raw(v) => Some(v.len()),
            _ => None,
        }
    }

    /// Turns a string value into an owned, growable byte vector (for
    /// APPEND / SETRANGE), switching it to the `raw` encoding.
    pub fn make_raw(&mut self) -> Option<&mut Vec<u8>> {
        match self {
            Value::Int(n) => {
                *self = Value::Raw(Box::new(itoa_buf::Buf::default().format(*n).to_vec()));
            }
            Value::Str(b) => {
                *self = Value::Raw(Box::new(std::mem::take(b).into_vec()));
            }
            Value::Raw(_) => {}
            _ => return None,
        }
        match self {
            Value::Raw(v) => Some(v),
            _ => None,
        }
    }

    /// Bytes of heap memory this value owns, for memory accounting.
    pub fn heap_size(&self) -> usize {
        match self {
            Value::Int(_) => 0,
            Value::Str(b) => b.heap_size(),
            Value::Raw(v) => std::mem::size_of::<Vec<u8>>() + v.capacity(),
            Value::List(l) => std::mem::size_of::<List>() + l.heap_size(),
            Value::Hash(h) => std::mem::size_of::<Hash>() + h.heap_size(),
            Value::Set(x) => std::mem::size_of::<Set>() + x.heap_size(),
            Value::ZSet(z) => std::mem::size_of::<ZSet>() + z.heap_size(),
        }
    }
}

/// If `data` is the canonical decimal form of an i64 (no sign on zero, no
/// leading zeros, no '+', no spaces) returns it: Redis's string2ll rules.
pub fn canonical_i64(data: &[u8]) -> Option<i64> {
    if data.is_empty() || data.len() > 20 {
        return None;
    }
    if data.len() == 1 && data[0] == b'0' {
        return Some(0);
    }
    let (neg, digits) = match data[0] {
        b'-' => (true, &data[1..]),
        _ => (false, data),
    };
    if digits.is_empty() || digits[0] == b'0' {
        return None;
    }
    let mut v: i64 = 0;
    for &d in digits {
        if !d.is_ascii_digit() {
            return None;
        }
        let n = (d - b'0') as i64;
        v = v.checked_mul(10)?;
        v = if neg { v.checked_sub(n)? } else { v.checked_add(n)? };
    }
    Some(v)
}

/// A tiny integer formatter so string values can lend out their bytes
/// without allocating (the engine keeps no dependency on itoa).
pub mod itoa_buf {
    #[derive(Default)]
    pub struct Buf {
        bytes: [u8; 20],
    }

    impl Buf {
        pub fn format(&mut self, n: i64) -> &[u8] {
            let mut i = self.bytes.len();
            let neg = n < 0;
            let mut u = n.unsigned_abs();
            loop {
                i -= 1;
                self.bytes[i] = b'0' + (u % 10) as u8;
                u /= 10;
                if u == 0 {
                    break;
                }
            }
            if neg {
                i -= 1;
                self.bytes[i] = b'-';
            }
            &self.bytes[i..]
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodings_follow_redis() {
        assert_eq!(Value::from_bytes(b"123").encoding(), "int");
        assert_eq!(Value::from_bytes(b"-9223372036854775808").encoding(), "int");
        assert_eq!(Value::from_bytes(b"9223372036854775808").encoding(), "embstr");
        assert_eq!(Value::from_bytes(b"0123").encoding(), "embstr");
        assert_eq!(Value::from_bytes(b"+1").encoding(), "embstr");
        assert_eq!(Value::from_bytes(&[b'a'; 44]).encoding(), "embstr");
        assert_eq!(Value::from_bytes(&[b'a'; 45]).encoding(), "raw");
        let mut v = Value::from_bytes(b"12");
        v.make_raw().unwrap().push(b'3');
        assert_eq!(v.encoding(), "raw");
        let mut s = itoa_buf::Buf::default();
        assert_eq!(v.as_bytes(&mut s).unwrap(), b"123");
    }

    #[test]
    fn value_is_24_bytes() {
        assert_eq!(std::mem::size_of::<Value>(), 24);
        assert_eq!(std::mem::size_of::<Option<Value>>(), 24);
    }

    #[test]
    fn short_strings_are_inline_and_keep_redis_encodings() {
        for n in [1usize, 16, 22, 23, 44, 45, 100] {
            let v = Value::from_bytes(&vec![b'x'; n]);
            assert_eq!(v.encoding(), if n <= EMBSTR_MAX { "embstr" } else { "raw" });
            assert_eq!(v.heap_size(), if n <= 22 { 0 } else { n });
            assert_eq!(v.str_len(), Some(n));
            let mut s = itoa_buf::Buf::default();
            assert_eq!(v.as_bytes(&mut s).unwrap(), &vec![b'x'; n][..]);
        }
    }

    #[test]
    fn itoa_extremes() {
        let mut b = itoa_buf::Buf::default();
        assert_eq!(b.format(i64::MIN), b"-9223372036854775808");
        assert_eq!(b.format(0), b"0");
        assert_eq!(b.format(42), b"42");
    }
}
