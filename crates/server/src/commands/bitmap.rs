//! Bitmap commands (Redis's bitops.c): SETBIT, GETBIT, BITCOUNT, BITPOS,
//! BITOP, BITFIELD, BITFIELD_RO.
//!
//! A bitmap is a string value: bit 0 is the most significant bit of the
//! first byte. Reads see an integer-encoded string as its decimal text;
//! writes turn the value into a `raw` string grown in place (as Redis's
//! dbUnshareStringValue, even when nothing changes). Every offset is
//! checked against `proto-max-bulk-len` before anything is allocated.
//!
//! The bit helpers (`popcount`, `count_bits`, `first_bit`, `get_bits`,
//! `set_bits`, the BITFIELD overflow rules) are plain functions over byte
//! slices, unit-tested below.

use larder_engine::value::itoa_buf;
use larder_engine::Value;
use larder_protocol::Reply;

use super::{acl, flags::*, CommandSpec, KeySpec};
use crate::dispatch::Ctx;
use crate::util::{parse_i64, ERR_NOT_INT, ERR_SYNTAX, ERR_WRONGTYPE};

const KEY_RW: &[KeySpec] = &[KeySpec::single(1, &["RW", "ACCESS", "UPDATE"])];
const KEY_RO: &[KeySpec] = &[KeySpec::single(1, &["RO", "ACCESS"])];
const KEYS_BITOP: &[KeySpec] = &[
    KeySpec::single(2, &["OW", "UPDATE"]),
    KeySpec::range(3, -1, 1, &["RO", "ACCESS"]),
];
const KEY_BITFIELD: &[KeySpec] = &[KeySpec::single_noted(
    1,
    "This command allows both access and modification of the key",
    &["RW", "ACCESS", "UPDATE", "VARIABLE_FLAGS"],
)];

pub static COMMANDS: &[CommandSpec] = &[
    CommandSpec::new(
        "setbit",
        4,
        WRITE | DENYOOM,
        acl::WRITE | acl::BITMAP | acl::SLOW,
        setbit,
    )
    .keys(KEY_RW)
    .doc(
        "bitmap",
        "2.2.0",
        "Sets or clears the bit at offset of the string value. Creates the key if it doesn't exist.",
        "O(1)",
    ),
    CommandSpec::new(
        "getbit",
        3,
        READONLY | FAST,
        acl::READ | acl::BITMAP | acl::FAST,
        getbit,
    )
    .keys(KEY_RO)
    .doc("bitmap", "2.2.0", "Returns a bit value by offset.", "O(1)"),
    CommandSpec::new("bitcount", -2, READONLY, acl::READ | acl::BITMAP | acl::SLOW, bitcount)
        .keys(KEY_RO)
        .doc(
            "bitmap",
            "2.6.0",
            "Counts the number of set bits (population counting) in a string.",
            "O(N)",
        ),
    CommandSpec::new("bitpos", -3, READONLY, acl::READ | acl::BITMAP | acl::SLOW, bitpos)
        .keys(KEY_RO)
        .doc(
            "bitmap",
            "2.8.7",
            "Finds the first set (1) or clear (0) bit in a string.",
            "O(N)",
        ),
    CommandSpec::new(
        "bitop",
        -4,
        WRITE | DENYOOM,
        acl::WRITE | acl::BITMAP | acl::SLOW,
        bitop,
    )
    .keys(KEYS_BITOP)
    .doc(
        "bitmap",
        "2.6.0",
        "Performs bitwise operations on multiple strings, and stores the result.",
        "O(N)",
    ),
    CommandSpec::new(
        "bitfield",
        -2,
        WRITE | DENYOOM,
        acl::WRITE | acl::BITMAP | acl::SLOW,
        bitfield,
    )
    .keys(KEY_BITFIELD)
    .doc(
        "bitmap",
        "3.2.0",
        "Performs arbitrary bitfield integer operations on strings.",
        "O(1) for each subcommand specified",
    ),
    CommandSpec::new(
        "bitfield_ro",
        -2,
        READONLY | FAST,
        acl::READ | acl::BITMAP | acl::FAST,
        bitfield_ro,
    )
    .keys(KEY_RO)
    .doc(
        "bitmap",
        "6.0.0",
        "Performs arbitrary read-only bitfield integer operations on strings.",
        "O(1) for each subcommand specified",
    ),
];

const ERR_BIT_OFFSET: &str = "bit offset is not an integer or out of range";
const ERR_BIT_VALUE: &str = "bit is not an integer or out of range";
const ERR_BIT_ARG: &str = "The bit argument must be 1 or 0.";
const ERR_BITFIELD_TYPE: &str =
    "Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is.";
const ERR_OVERFLOW_TYPE: &str = "Invalid OVERFLOW type specified";
const ERR_BITFIELD_RO: &str = "BITFIELD_RO only supports the GET subcommand";
const ERR_BITOP_NOT: &str = "BITOP NOT must be called with a single source key.";

// ---------------------------------------------------------------------
// Bit helpers

/// Set bits in `s`, eight bytes at a time.
pub fn popcount(s: &[u8]) -> u64 {
    let mut wide = s.chunks_exact(32);
    // Four independent sums, so the additions do not wait on each other.
    let mut acc = [0u64; 4];
    for c in &mut wide {
        for (a, w) in acc.iter_mut().zip(c.chunks_exact(8)) {
            *a += u64::from(word(w).count_ones());
        }
    }
    let rest = wide.remainder();
    let mut words = rest.chunks_exact(8);
    let mut n: u64 = acc.iter().sum();
    for w in &mut words {
        n += u64::from(word(w).count_ones());
    }
    n + words.remainder().iter().map(|b| u64::from(b.count_ones())).sum::<u64>()
}

/// Eight bytes as a word (byte order does not matter to a popcount or an
/// all-zeros / all-ones test).
#[inline]
fn word(w: &[u8]) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(w);
    u64::from_ne_bytes(a)
}

/// The bit at `pos` (0 when past the end).
#[inline]
pub fn bit_at(s: &[u8], pos: u64) -> bool {
    let byte = (pos >> 3) as usize;
    byte < s.len() && s[byte] & (0x80 >> (pos & 7)) != 0
}

/// Set bits from bit `first` to bit `last`, both included; `last` must be
/// inside `s`.
pub fn count_bits(s: &[u8], first: u64, last: u64) -> u64 {
    if first > last {
        return 0;
    }
    let (fb, lb) = ((first >> 3) as usize, (last >> 3) as usize);
    let mut n = popcount(&s[fb..=lb]);
    // Bits of the first byte before `first`, of the last after `last`.
    let before = !(0xffu8 >> (first & 7));
    let after = (0xffu16 >> ((last & 7) + 1)) as u8;
    n -= u64::from((s[fb] & before).count_ones());
    n -= u64::from((s[lb] & after).count_ones());
    n
}

/// The first bit equal to `bit` from bit `first` to bit `last` (both
/// included, `last` inside `s`), skipping whole words of the other value.
pub fn first_bit(s: &[u8], bit: bool, first: u64, last: u64) -> Option<u64> {
    let mut pos = first;
    // Up to a byte boundary, bit by bit.
    while pos <= last && pos & 7 != 0 {
        if bit_at(s, pos) == bit {
            return Some(pos);
        }
        pos += 1;
    }
    // Whole bytes (all inside the range), a word at a time.
    let from = (pos >> 3) as usize;
    let to = ((last + 1) >> 3) as usize;
    if pos <= last && from < to {
        let skip = if bit { 0u8 } else { 0xff };
        let bytes = &s[from..to];
        let mut i = 0;
        while i + 8 <= bytes.len() && word(&bytes[i..i + 8]) == u64::from_ne_bytes([skip; 8]) {
            i += 8;
        }
        while i < bytes.len() && bytes[i] == skip {
            i += 1;
        }
        if i < bytes.len() {
            let b = if bit { bytes[i] } else { !bytes[i] };
            return Some(((from + i) as u64) * 8 + u64::from(b.leading_zeros()));
        }
        pos = (to as u64) * 8;
    }
    // The rest of the last byte.
    while pos <= last {
        if bit_at(s, pos) == bit {
            return Some(pos);
        }
        pos += 1;
    }
    None
}

/// `bits` bits (1..=64) at bit `offset` as an unsigned number, reading
/// zeros past the end of `s`.
pub fn get_bits(s: &[u8], offset: u64, bits: u32) -> u64 {
    let mut v = 0u64;
    for i in 0..u64::from(bits) {
        v = (v << 1) | u64::from(bit_at(s, offset + i));
    }
    v
}

/// The same, sign-extended from the top bit read.
pub fn get_signed_bits(s: &[u8], offset: u64, bits: u32) -> i64 {
    let v = get_bits(s, offset, bits);
    if bits < 64 && v & (1 << (bits - 1)) != 0 {
        (v | (u64::MAX << bits)) as i64
    } else {
        v as i64
    }
}

/// Writes the low `bits` bits of `value` at bit `offset`; `s` must
/// hold them.
pub fn set_bits(s: &mut [u8], offset: u64, bits: u32, value: u64) {
    for i in 0..u64::from(bits) {
        let on = value & (1 << (u64::from(bits) - 1 - i)) != 0;
        let pos = offset + i;
        let byte = (pos >> 3) as usize;
        let mask = 0x80u8 >> (pos & 7);
        if on {
            s[byte] |= mask;
        } else {
            s[byte] &= !mask;
        }
    }
}

/// BITFIELD's OVERFLOW behaviours.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Overflow {
    Wrap,
    Sat,
    Fail,
}

/// Redis's checkUnsignedBitfieldOverflow: whether `value + incr` leaves
/// the `bits`-bit unsigned range, and the value to store instead (None
/// under FAIL).
pub fn unsigned_overflow(value: u64, incr: i64, bits: u32, ow: Overflow) -> Option<Option<u64>> {
    let max = if bits == 64 { u64::MAX } else { (1u64 << bits) - 1 };
    let maxincr = max.wrapping_sub(value) as i64;
    let minincr = value.wrapping_neg() as i64;
    let wrap = || {
        let res = value.wrapping_add(incr as u64);
        if bits == 64 {
            res
        } else {
            res & !(u64::MAX << bits)
        }
    };
    if value > max || (incr > 0 && incr > maxincr) {
        Some(match ow {
            Overflow::Wrap => Some(wrap()),
            Overflow::Sat => Some(max),
            Overflow::Fail => None,
        })
    } else if incr < 0 && incr < minincr {
        Some(match ow {
            Overflow::Wrap => Some(wrap()),
            Overflow::Sat => Some(0),
            Overflow::Fail => None,
        })
    } else {
        None
    }
}

/// Redis's checkSignedBitfieldOverflow, with its two's-complement
/// arithmetic (so its answers for the extreme SET values too).
pub fn signed_overflow(value: i64, incr: i64, bits: u32, ow: Overflow) -> Option<Option<i64>> {
    let max = if bits == 64 { i64::MAX } else { (1i64 << (bits - 1)) - 1 };
    let min = -max - 1;
    let maxincr = (max as u64).wrapping_sub(value as u64) as i64;
    let minincr = min.wrapping_sub(value);
    let wrap = || {
        let mut c = (value as u64).wrapping_add(incr as u64);
        if bits < 64 {
            let mask = u64::MAX << bits;
            if c & (1 << (bits - 1)) != 0 {
                c |= mask;
            } else {
                c &= !mask;
            }
        }
        c as i64
    };
    if value > max || (bits != 64 && incr > maxincr) || (value >= 0 && incr > 0 && incr > maxincr) {
        Some(match ow {
            Overflow::Wrap => Some(wrap()),
            Overflow::Sat => Some(max),
            Overflow::Fail => None,
        })
    } else if value < min || (bits != 64 && incr < minincr) || (value < 0 && incr < 0 && incr < minincr) {
        Some(match ow {
            Overflow::Wrap => Some(wrap()),
            Overflow::Sat => Some(min),
            Overflow::Fail => None,
        })
    } else {
        None
    }
}

/// BITCOUNT's and BITPOS's index rules: `start..=end` in units (bytes,
/// or bits) over `total` units, negatives from the end, clamped. None:
/// the range is empty.
pub fn clamp_range(start: i64, end: i64, total: i64) -> Option<(u64, u64)> {
    let mut start = if start < 0 { start.saturating_add(total) } else { start };
    let mut end = if end < 0 { end.saturating_add(total) } else { end };
    start = start.max(0);
    end = end.max(0);
    if end >= total {
        end = total - 1;
    }
    (start <= end).then_some((start as u64, end as u64))
}

// ---------------------------------------------------------------------
// Arguments

/// `proto-max-bulk-len`: bit offsets must address a byte below it. The
/// AOF's replay is not held to it (Redis's mustObeyClient): the write was
/// accepted once, maybe under a larger limit; 32 GiB still bounds it.
fn max_bulk(ctx: &Ctx<'_>) -> u64 {
    if ctx.client.aof_loader {
        return 1 << 35;
    }
    ctx.server.config.read().proto_max_bulk_len.max(0) as u64
}

/// An argument as C's string functions see it: up to the first NUL.
fn c_str(a: &[u8]) -> &[u8] {
    a.iter().position(|&b| b == 0).map_or(a, |z| &a[..z])
}

/// strcasecmp(arg, keyword) == 0.
fn kw(a: &[u8], keyword: &str) -> bool {
    c_str(a).eq_ignore_ascii_case(keyword.as_bytes())
}

/// Redis's getBitOffsetFromArgument: a non-negative integer whose byte is
/// below `max`; with `hash_bits`, `#n` means `n * bits` (multiplied as
/// Redis does, wrapping).
fn bit_offset(arg: &[u8], hash_bits: Option<u32>, max: u64) -> Result<u64, &'static str> {
    let (digits, mul) = match (arg.first(), hash_bits) {
        (Some(b'#'), Some(bits)) => (&arg[1..], Some(bits)),
        _ => (arg, None),
    };
    let mut n = parse_i64(digits).ok_or(ERR_BIT_OFFSET)?;
    if let Some(bits) = mul {
        n = n.wrapping_mul(i64::from(bits));
    }
    if n < 0 || (n as u64 >> 3) >= max {
        return Err(ERR_BIT_OFFSET);
    }
    Ok(n as u64)
}

/// A BITFIELD type: `i1`..`i64` or `u1`..`u63`; (signed, bits).
fn bitfield_type(arg: &[u8]) -> Result<(bool, u32), &'static str> {
    let signed = match arg.first() {
        Some(b'i') => true,
        Some(b'u') => false,
        _ => return Err(ERR_BITFIELD_TYPE),
    };
    let bits = parse_i64(c_str(&arg[1..])).ok_or(ERR_BITFIELD_TYPE)?;
    if bits < 1 || (signed && bits > 64) || (!signed && bits > 63) {
        return Err(ERR_BITFIELD_TYPE);
    }
    Ok((signed, bits as u32))
}

// ---------------------------------------------------------------------
// SETBIT, GETBIT

/// An existing string made "raw" (as Redis's dbUnshareStringValue) and
/// zero-padded to at least `need` bytes; whether it grew. None for another
/// type.
fn grown_raw(e: &mut larder_engine::Entry, need: usize) -> Option<(&mut Vec<u8>, bool)> {
    let v = e.value_mut().make_raw()?;
    let grew = v.len() < need;
    if grew {
        v.resize(need, 0);
    }
    Some((v, grew))
}

fn setbit(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    let max = max_bulk(ctx);
    let offset = match bit_offset(args[2], None, max) {
        Ok(o) => o,
        Err(e) => return ctx.out.error(e),
    };
    let on = match parse_i64(args[3]) {
        Some(v @ (0 | 1)) => v == 1,
        _ => return ctx.out.error(ERR_BIT_VALUE),
    };
    let now = ctx.now;
    let key = args[1];
    // Bounded by proto-max-bulk-len (checked above).
    let need = (offset >> 3) as usize + 1;
    let (db, out) = ctx.db_out(key);
    let (old, changed) = match db.lookup_write(key, now) {
        None => {
            let mut v = vec![0u8; need];
            set_bits(&mut v, offset, 1, u64::from(on));
            db.set(key, Value::Raw(Box::new(v)), None, false, now);
            (false, true)
        }
        Some(e) => {
            let Some((v, grew)) = grown_raw(e, need) else {
                return out.error(ERR_WRONGTYPE);
            };
            let old = bit_at(v, offset);
            if grew || old != on {
                set_bits(v, offset, 1, u64::from(on));
            }
            (old, grew || old != on)
        }
    };
    out.integer(i64::from(old));
    if changed {
        ctx.dirty(1);
    }
}

fn getbit(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    let offset = match bit_offset(args[2], None, max_bulk(ctx)) {
        Ok(o) => o,
        Err(e) => return ctx.out.error(e),
    };
    let now = ctx.now;
    let touch = !ctx.client.no_touch;
    let key = args[1];
    let (db, out) = ctx.db_out(key);
    match db.lookup_read(key, now, touch) {
        None => out.integer(0),
        Some(e) => {
            let mut scratch = itoa_buf::Buf::default();
            match e.value().as_bytes(&mut scratch) {
                None => out.error(ERR_WRONGTYPE),
                Some(s) => out.integer(i64::from(bit_at(s, offset))),
            }
        }
    }
}

// ---------------------------------------------------------------------
// BITCOUNT, BITPOS

/// BYTE or BIT: whether the range is in bits.
fn unit_arg(a: &[u8]) -> Option<bool> {
    if kw(a, "bit") {
        Some(true)
    } else if kw(a, "byte") {
        Some(false)
    } else {
        None
    }
}

fn bitcount(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    let now = ctx.now;
    let touch = !ctx.client.no_touch;
    let key = args[1];
    let (db, out) = ctx.db_out(key);
    // As Redis 7.2: the key is looked up before the arguments are read.
    let Some(e) = db.lookup_read(key, now, touch) else {
        return out.integer(0);
    };
    let mut scratch = itoa_buf::Buf::default();
    let Some(s) = e.value().as_bytes(&mut scratch) else {
        return out.error(ERR_WRONGTYPE);
    };
    let bits = match args.len() {
        2 => clamp_range(0, s.len() as i64 - 1, s.len() as i64).map(|(a, b)| (a * 8, b * 8 + 7)),
        4 | 5 => {
            let (Some(start), Some(end)) = (parse_i64(args[2]), parse_i64(args[3])) else {
                return out.error(ERR_NOT_INT);
            };
            if start < 0 && end < 0 && start > end {
                return out.integer(0);
            }
            let in_bits = match args.get(4) {
                None => false,
                Some(a) => match unit_arg(a) {
                    Some(b) => b,
                    None => return out.error(ERR_SYNTAX),
                },
            };
            if in_bits {
                clamp_range(start, end, s.len() as i64 * 8)
            } else {
                clamp_range(start, end, s.len() as i64).map(|(a, b)| (a * 8, b * 8 + 7))
            }
        }
        _ => return out.error(ERR_SYNTAX),
    };
    out.integer(bits.map_or(0, |(a, b)| count_bits(s, a, b)) as i64);
}

fn bitpos(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    let bit = match parse_i64(args[2]) {
        None => return ctx.out.error(ERR_NOT_INT),
        Some(b @ (0 | 1)) => b == 1,
        Some(_) => return ctx.out.error(ERR_BIT_ARG),
    };
    let now = ctx.now;
    let touch = !ctx.client.no_touch;
    let key = args[1];
    let (db, out) = ctx.db_out(key);
    // A missing key is an endless run of zeros.
    let Some(e) = db.lookup_read(key, now, touch) else {
        return out.integer(if bit { -1 } else { 0 });
    };
    let mut scratch = itoa_buf::Buf::default();
    let Some(s) = e.value().as_bytes(&mut scratch) else {
        return out.error(ERR_WRONGTYPE);
    };
    let len = s.len() as i64;
    let (range, end_given) = match args.len() {
        3 => (clamp_range(0, len - 1, len).map(|(a, b)| (a * 8, b * 8 + 7)), false),
        4..=6 => {
            let Some(start) = parse_i64(args[3]) else {
                return out.error(ERR_NOT_INT);
            };
            let in_bits = match args.get(5) {
                None => false,
                Some(a) => match unit_arg(a) {
                    Some(b) => b,
                    None => return out.error(ERR_SYNTAX),
                },
            };
            let end = match args.get(4) {
                None => len - 1,
                Some(a) => match parse_i64(a) {
                    Some(e) => e,
                    None => return out.error(ERR_NOT_INT),
                },
            };
            let range = if in_bits {
                clamp_range(start, end, len * 8)
            } else {
                clamp_range(start, end, len).map(|(a, b)| (a * 8, b * 8 + 7))
            };
            (range, args.len() >= 5)
        }
        _ => return out.error(ERR_SYNTAX),
    };
    let Some((first, last)) = range else {
        return out.integer(-1);
    };
    let pos = match first_bit(s, bit, first, last) {
        Some(p) => p as i64,
        // Looking for a 0 with no end given: the string is taken as
        // padded with zeros on the right.
        None if !bit && !end_given => last as i64 + 1,
        None => -1,
    };
    out.integer(pos);
}

// ---------------------------------------------------------------------
// BITOP

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BitOp {
    And,
    Or,
    Xor,
    Not,
}

/// Folds one more source into `acc` (the result so far, of the sources
/// before it); missing bytes count as zeros.
pub fn bitop_fold(op: BitOp, acc: &mut Vec<u8>, src: &[u8]) {
    let common = acc.len().min(src.len());
    match op {
        BitOp::And => {
            for (a, b) in acc[..common].iter_mut().zip(src) {
                *a &= *b;
            }
            acc[common..].fill(0);
            acc.resize(acc.len().max(src.len()), 0);
        }
        BitOp::Or | BitOp::Xor => {
            for (a, b) in acc[..common].iter_mut().zip(src) {
                if op == BitOp::Or {
                    *a |= *b;
                } else {
                    *a ^= *b;
                }
            }
            if src.len() > common {
                acc.extend_from_slice(&src[common..]);
            }
        }
        BitOp::Not => {}
    }
}

fn bitop(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    let op = if kw(args[1], "and") {
        BitOp::And
    } else if kw(args[1], "or") {
        BitOp::Or
    } else if kw(args[1], "xor") {
        BitOp::Xor
    } else if kw(args[1], "not") {
        BitOp::Not
    } else {
        return ctx.out.error(ERR_SYNTAX);
    };
    if op == BitOp::Not && args.len() != 4 {
        return ctx.out.error(ERR_BITOP_NOT);
    }
    let now = ctx.now;
    let touch = !ctx.client.no_touch;
    let mut acc: Vec<u8> = Vec::new();
    for (i, key) in args[3..].iter().enumerate() {
        let (db, out) = ctx.db_out(key);
        let mut scratch = itoa_buf::Buf::default();
        let src: &[u8] = match db.lookup_read(key, now, touch) {
            None => &[],
            Some(e) => match e.value().as_bytes(&mut scratch) {
                Some(s) => s,
                None => return out.error(ERR_WRONGTYPE),
            },
        };
        if i == 0 {
            acc.extend_from_slice(src);
        } else {
            bitop_fold(op, &mut acc, src);
        }
    }
    if op == BitOp::Not {
        acc.iter_mut().for_each(|b| *b = !*b);
    }
    let dst = args[2];
    let len = acc.len();
    let (db, out) = ctx.db_out(dst);
    let changed = if len > 0 {
        db.set(dst, Value::Raw(Box::new(acc)), None, false, now);
        true
    } else {
        db.remove(dst, now).is_some()
    };
    out.integer(len as i64);
    if changed {
        ctx.dirty(1);
    }
}

// ---------------------------------------------------------------------
// BITFIELD, BITFIELD_RO

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FieldOp {
    Get,
    Set(i64),
    IncrBy(i64),
}

#[derive(Debug, Clone, Copy)]
struct Field {
    op: FieldOp,
    offset: u64,
    bits: u32,
    signed: bool,
    overflow: Overflow,
}

/// Parses BITFIELD's subcommands, with Redis's errors in its order.
fn parse_fields(args: &[&[u8]], max: u64) -> Result<Vec<Field>, &'static str> {
    let mut fields = Vec::new();
    let mut overflow = Overflow::Wrap;
    let mut j = 2;
    while j < args.len() {
        let remaining = args.len() - j - 1;
        let sub = args[j];
        let op = if kw(sub, "get") && remaining >= 2 {
            FieldOp::Get
        } else if kw(sub, "set") && remaining >= 3 {
            FieldOp::Set(0)
        } else if kw(sub, "incrby") && remaining >= 3 {
            FieldOp::IncrBy(0)
        } else if kw(sub, "overflow") && remaining >= 1 {
            let t = args[j + 1];
            overflow = if kw(t, "wrap") {
                Overflow::Wrap
            } else if kw(t, "sat") {
                Overflow::Sat
            } else if kw(t, "fail") {
                Overflow::Fail
            } else {
                return Err(ERR_OVERFLOW_TYPE);
            };
            j += 2;
            continue;
        } else {
            return Err(ERR_SYNTAX);
        };
        let (signed, bits) = bitfield_type(args[j + 1])?;
        let offset = bit_offset(args[j + 2], Some(bits), max)?;
        let op = match op {
            FieldOp::Get => FieldOp::Get,
            FieldOp::Set(_) => FieldOp::Set(parse_i64(args[j + 3]).ok_or(ERR_NOT_INT)?),
            FieldOp::IncrBy(_) => FieldOp::IncrBy(parse_i64(args[j + 3]).ok_or(ERR_NOT_INT)?),
        };
        fields.push(Field {
            op,
            offset,
            bits,
            signed,
            overflow,
        });
        j += if op == FieldOp::Get { 3 } else { 4 };
    }
    Ok(fields)
}

/// GET over a value that may be shorter than the field (zeros beyond).
fn field_get(s: &[u8], f: &Field) -> i64 {
    if f.signed {
        get_signed_bits(s, f.offset, f.bits)
    } else {
        get_bits(s, f.offset, f.bits) as i64
    }
}

/// Runs the fields over a value already grown to hold every write;
/// replies to each and returns the number of changes (Redis counts a
/// write that changed the value, or any write when the value grew).
fn run_fields(v: &mut [u8], fields: &[Field], grew: bool, out: &mut Reply) -> u64 {
    let mut changes = 0;
    for f in fields {
        let (old, new, reply) = match f.op {
            FieldOp::Get => {
                out.integer(field_get(v, f));
                continue;
            }
            FieldOp::Set(x) | FieldOp::IncrBy(x) => {
                let incr = matches!(f.op, FieldOp::IncrBy(_));
                if f.signed {
                    let old = get_signed_bits(v, f.offset, f.bits);
                    let (value, by) = if incr { (old, x) } else { (x, 0) };
                    let new = match signed_overflow(value, by, f.bits, f.overflow) {
                        None => value.wrapping_add(by),
                        Some(Some(n)) => n,
                        Some(None) => {
                            out.null();
                            continue;
                        }
                    };
                    (old as u64, new as u64, if incr { new } else { old })
                } else {
                    let old = get_bits(v, f.offset, f.bits);
                    let (value, by) = if incr { (old, x) } else { (x as u64, 0) };
                    let new = match unsigned_overflow(value, by, f.bits, f.overflow) {
                        None => value.wrapping_add(by as u64),
                        Some(Some(n)) => n,
                        Some(None) => {
                            out.null();
                            continue;
                        }
                    };
                    (old, new, if incr { new as i64 } else { old as i64 })
                }
            }
        };
        out.integer(reply);
        set_bits(v, f.offset, f.bits, new);
        if grew || old != new {
            changes += 1;
        }
    }
    changes
}

fn bitfield(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    bitfield_generic(ctx, args, false);
}

fn bitfield_ro(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    bitfield_generic(ctx, args, true);
}

/// Whether BITFIELD `args` only read (GETs and OVERFLOWs): it then looks
/// its key up for reading, as BITFIELD_RO (a missing key is a keymiss).
pub(crate) fn reads_only(args: &[&[u8]]) -> bool {
    !args.iter().skip(2).any(|a| kw(a, "set") || kw(a, "incrby"))
}

fn bitfield_generic(ctx: &mut Ctx<'_>, args: &[&[u8]], read_only: bool) {
    let fields = match parse_fields(args, max_bulk(ctx)) {
        Ok(f) => f,
        Err(e) => return ctx.out.error(e),
    };
    let now = ctx.now;
    let key = args[1];
    // The last bit any write reaches (Redis's highest_write_offset).
    let highest = fields
        .iter()
        .filter(|f| f.op != FieldOp::Get)
        .map(|f| f.offset + u64::from(f.bits) - 1)
        .max();
    let Some(highest) = highest else {
        let touch = !ctx.client.no_touch;
        let (db, out) = ctx.db_out(key);
        let mut scratch = itoa_buf::Buf::default();
        let s: &[u8] = match db.lookup_read(key, now, touch) {
            None => &[],
            Some(e) => match e.value().as_bytes(&mut scratch) {
                Some(s) => s,
                None => return out.error(ERR_WRONGTYPE),
            },
        };
        out.array(fields.len());
        for f in &fields {
            out.integer(field_get(s, f));
        }
        return;
    };
    if read_only {
        return ctx.out.error(ERR_BITFIELD_RO);
    }
    // Every offset's byte is below proto-max-bulk-len, so this is at most
    // 8 bytes past it.
    let need = (highest >> 3) as usize + 1;
    let (db, out) = ctx.db_out(key);
    let changes = match db.lookup_write(key, now) {
        None => {
            // Created even if every write fails (OVERFLOW FAIL), as Redis.
            let mut v = vec![0u8; need];
            out.array(fields.len());
            let changes = run_fields(&mut v, &fields, true, out);
            db.set(key, Value::Raw(Box::new(v)), None, false, now);
            if changes == 0 {
                // Nothing counts as a change, so the derived events (see
                // notify.rs) stay silent; Redis's dbAdd still fires `new`.
                let flags = ctx.server.notify.flags();
                crate::notify::event(ctx.server, flags, crate::notify::NEW, "new", key, ctx.client.db);
            }
            changes
        }
        Some(e) => {
            let Some((v, grew)) = grown_raw(e, need) else {
                return out.error(ERR_WRONGTYPE);
            };
            out.array(fields.len());
            run_fields(v, &fields, grew, out)
        }
    };
    if changes > 0 {
        ctx.dirty(changes);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Bit by bit, the obvious way.
    fn naive_count(s: &[u8], first: u64, last: u64) -> u64 {
        (first..=last).filter(|&p| bit_at(s, p)).count() as u64
    }

    fn naive_first(s: &[u8], bit: bool, first: u64, last: u64) -> Option<u64> {
        (first..=last).find(|&p| bit_at(s, p) == bit)
    }

    fn sample(n: usize, seed: u64) -> Vec<u8> {
        let mut x = seed | 1;
        (0..n)
            .map(|i| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                // Runs of 0x00 and 0xff so the word skipping is exercised.
                match (i / 24) % 4 {
                    0 => 0,
                    1 => 0xff,
                    _ => x as u8,
                }
            })
            .collect()
    }

    #[test]
    fn popcount_matches_bytes() {
        for n in [0, 1, 7, 8, 9, 31, 32, 33, 64, 100, 257] {
            let s = sample(n, n as u64 + 3);
            let want: u64 = s.iter().map(|b| u64::from(b.count_ones())).sum();
            assert_eq!(popcount(&s), want, "len {n}");
        }
        assert_eq!(popcount(b"foobar"), 26);
    }

    #[test]
    fn count_and_first_bit_match_naive() {
        let s = sample(97, 11);
        let total = s.len() as u64 * 8;
        for first in (0..total).step_by(5) {
            for last in (first..total).step_by(7) {
                assert_eq!(count_bits(&s, first, last), naive_count(&s, first, last));
                for bit in [false, true] {
                    assert_eq!(
                        first_bit(&s, bit, first, last),
                        naive_first(&s, bit, first, last),
                        "{bit} {first}..={last}"
                    );
                }
            }
        }
        assert_eq!(first_bit(&[0xff; 40], false, 0, 319), None);
        assert_eq!(first_bit(&[0; 40], true, 3, 319), None);
        assert_eq!(first_bit(&[0, 0, 0, 0, 0, 0, 0, 0, 0, 1], true, 0, 79), Some(79));
    }

    #[test]
    fn bitfield_get_set_round_trip() {
        let mut v = vec![0u8; 10];
        set_bits(&mut v, 7, 5, 23);
        assert_eq!(&v[..2], &[0b0000_0001, 0b0111_0000]);
        assert_eq!(get_bits(&v, 7, 5), 23);
        set_bits(&mut v, 3, 64, u64::MAX - 5);
        assert_eq!(get_bits(&v, 3, 64), u64::MAX - 5);
        assert_eq!(get_signed_bits(&v, 3, 64), -6);
        set_bits(&mut v, 0, 8, 0x80);
        assert_eq!(get_signed_bits(&v, 0, 8), -128);
        assert_eq!(get_signed_bits(&v, 0, 1), -1);
        // Past the end reads zeros.
        assert_eq!(get_bits(&[0xff], 4, 8), 0xf0);
    }

    #[test]
    fn overflow_rules() {
        use Overflow::*;
        // u8: 250 + 10.
        assert_eq!(unsigned_overflow(250, 10, 8, Wrap), Some(Some(4)));
        assert_eq!(unsigned_overflow(250, 10, 8, Sat), Some(Some(255)));
        assert_eq!(unsigned_overflow(250, 10, 8, Fail), Some(None));
        assert_eq!(unsigned_overflow(5, -10, 8, Sat), Some(Some(0)));
        assert_eq!(unsigned_overflow(5, -10, 8, Wrap), Some(Some(251)));
        assert_eq!(unsigned_overflow(5, 10, 8, Wrap), None);
        // SET of a negative number into an unsigned field.
        assert_eq!(unsigned_overflow(-1i64 as u64, 0, 8, Wrap), Some(Some(255)));
        // i8: 120 + 10, -120 - 10.
        assert_eq!(signed_overflow(120, 10, 8, Wrap), Some(Some(-126)));
        assert_eq!(signed_overflow(120, 10, 8, Sat), Some(Some(127)));
        assert_eq!(signed_overflow(-120, -10, 8, Sat), Some(Some(-128)));
        assert_eq!(signed_overflow(-120, -10, 8, Wrap), Some(Some(126)));
        assert_eq!(signed_overflow(1, 1, 8, Fail), None);
        // i64 at its limits.
        assert_eq!(signed_overflow(i64::MAX, 1, 64, Sat), Some(Some(i64::MAX)));
        assert_eq!(signed_overflow(i64::MAX, 1, 64, Wrap), Some(Some(i64::MIN)));
        assert_eq!(signed_overflow(i64::MIN, -1, 64, Sat), Some(Some(i64::MIN)));
        assert_eq!(signed_overflow(i64::MIN, i64::MAX, 64, Sat), None);
        // Redis's arithmetic: SET i8 to i64::MIN saturates to the maximum.
        assert_eq!(signed_overflow(i64::MIN, 0, 8, Sat), Some(Some(127)));
    }

    #[test]
    fn ranges() {
        assert_eq!(clamp_range(0, -1, 6), Some((0, 5)));
        assert_eq!(clamp_range(-100, 100, 6), Some((0, 5)));
        assert_eq!(clamp_range(4, 2, 6), None);
        assert_eq!(clamp_range(0, -1, 0), None);
        assert_eq!(clamp_range(i64::MIN, i64::MAX, 8), Some((0, 7)));
    }

    #[test]
    fn offsets_and_types() {
        assert_eq!(bit_offset(b"8", None, 2), Ok(8));
        assert_eq!(bit_offset(b"16", None, 2), Err(ERR_BIT_OFFSET));
        assert_eq!(bit_offset(b"-1", None, 2), Err(ERR_BIT_OFFSET));
        assert_eq!(bit_offset(b"#1", None, 2), Err(ERR_BIT_OFFSET));
        assert_eq!(bit_offset(b"#1", Some(8), 2), Ok(8));
        // Redis multiplies without an overflow check: 2^61 * 8 wraps to 0.
        assert_eq!(bit_offset(b"#2305843009213693952", Some(8), 2), Ok(0));
        assert_eq!(bitfield_type(b"i64"), Ok((true, 64)));
        assert_eq!(bitfield_type(b"u63"), Ok((false, 63)));
        for bad in [&b"u64"[..], b"i65", b"i0", b"u", b"U8", b"u08", b"u+8", b""] {
            assert_eq!(bitfield_type(bad), Err(ERR_BITFIELD_TYPE));
        }
    }

    #[test]
    fn bitop_fold_pads_with_zeros() {
        let mut acc = b"ab".to_vec();
        bitop_fold(BitOp::And, &mut acc, b"a");
        assert_eq!(acc, b"a\0");
        let mut acc = b"a".to_vec();
        bitop_fold(BitOp::And, &mut acc, b"abc");
        assert_eq!(acc, b"a\0\0");
        let mut acc = b"\x01".to_vec();
        bitop_fold(BitOp::Or, &mut acc, b"\x02\x03");
        assert_eq!(acc, b"\x03\x03");
        let mut acc = b"\x03\x03".to_vec();
        bitop_fold(BitOp::Xor, &mut acc, b"\x01");
        assert_eq!(acc, b"\x02\x03");
    }
}
