//! Redis's packed blobs as they appear inside RDB values: listpack
//! (written and read), and the older ziplist, intset and zipmap (read).
//! Every reader checks the whole blob (header, every entry's bounds,
//! back-lengths, counts, terminator) before trusting a byte of it:
//! these come from DUMP payloads, that is from clients.

use crate::value::{canonical_i64, itoa_buf};

/// One element of a packed blob.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Item<'a> {
    Int(i64),
    Str(&'a [u8]),
}

impl Item<'_> {
    pub fn to_vec(self) -> Vec<u8> {
        match self {
            Item::Int(n) => itoa_buf::Buf::default().format(n).to_vec(),
            Item::Str(s) => s.to_vec(),
        }
    }
}

// ---------------------------------------------------------------------
// listpack

const LP_HDR: usize = 6;
const LP_EOF: u8 = 0xFF;

fn lp_backlen(l: usize, out: &mut Vec<u8>) {
    if l <= 127 {
        out.push(l as u8);
    } else if l < 16383 {
        out.push((l >> 7) as u8);
        out.push((l & 127) as u8 | 128);
    } else if l < 2097151 {
        out.push((l >> 14) as u8);
        out.push(((l >> 7) & 127) as u8 | 128);
        out.push((l & 127) as u8 | 128);
    } else if l < 268435455 {
        out.push((l >> 21) as u8);
        out.push(((l >> 14) & 127) as u8 | 128);
        out.push(((l >> 7) & 127) as u8 | 128);
        out.push((l & 127) as u8 | 128);
    } else {
        out.push((l >> 28) as u8);
        out.push(((l >> 21) & 127) as u8 | 128);
        out.push(((l >> 14) & 127) as u8 | 128);
        out.push(((l >> 7) & 127) as u8 | 128);
        out.push((l & 127) as u8 | 128);
    }
}

/// Builds a listpack byte for byte as Redis's lpAppend would.
#[derive(Debug)]
pub struct ListpackWriter {
    buf: Vec<u8>,
    count: usize,
}

impl Default for ListpackWriter {
    fn default() -> Self {
        ListpackWriter::new()
    }
}

impl ListpackWriter {
    pub fn new() -> ListpackWriter {
        ListpackWriter {
            buf: vec![0; LP_HDR],
            count: 0,
        }
    }

    /// Appends a string element, stored as an integer when it is one's
    /// canonical form (lpStringToInt64), as Redis does.
    pub fn push(&mut self, item: &[u8]) {
        match canonical_i64(item) {
            Some(n) => self.push_int(n),
            None => self.push_str(item),
        }
    }

    pub fn push_int(&mut self, v: i64) {
        let start = self.buf.len();
        let b = &mut self.buf;
        if (0..=127).contains(&v) {
            b.push(v as u8);
        } else if (-4096..=4095).contains(&v) {
            let uv = if v < 0 { (1i64 << 13) + v } else { v } as u64;
            b.push(((uv >> 8) as u8) | 0xC0);
            b.push(uv as u8);
        } else if (-32768..=32767).contains(&v) {
            b.push(0xF1);
            b.extend_from_slice(&(v as i16).to_le_bytes());
        } else if (-8388608..=8388607).contains(&v) {
            b.push(0xF2);
            b.extend_from_slice(&(v as i32).to_le_bytes()[..3]);
        } else if i32::try_from(v).is_ok() {
            b.push(0xF3);
            b.extend_from_slice(&(v as i32).to_le_bytes());
        } else {
            b.push(0xF4);
            b.extend_from_slice(&v.to_le_bytes());
        }
        let l = self.buf.len() - start;
        lp_backlen(l, &mut self.buf);
        self.count += 1;
    }

    pub fn push_str(&mut self, s: &[u8]) {
        let start = self.buf.len();
        let b = &mut self.buf;
        let n = s.len();
        if n < 64 {
            b.push(0x80 | n as u8);
        } else if n < 4096 {
            b.push(0xE0 | (n >> 8) as u8);
            b.push(n as u8);
        } else {
            b.push(0xF0);
            b.extend_from_slice(&(n as u32).to_le_bytes());
        }
        b.extend_from_slice(s);
        let l = self.buf.len() - start;
        lp_backlen(l, &mut self.buf);
        self.count += 1;
    }

    pub fn finish(mut self) -> Vec<u8> {
        self.buf.push(LP_EOF);
        let total = self.buf.len() as u32;
        self.buf[0..4].copy_from_slice(&total.to_le_bytes());
        let count = self.count.min(65535) as u16;
        self.buf[4..6].copy_from_slice(&count.to_le_bytes());
        self.buf
    }
}

fn le(b: &[u8]) -> u64 {
    b.iter().rev().fold(0u64, |a, &x| (a << 8) | u64::from(x))
}

fn sign_extend(v: u64, bits: u32) -> i64 {
    let shift = 64 - bits;
    ((v << shift) as i64) >> shift
}

/// Checks a whole listpack and returns its elements.
pub fn listpack_items(lp: &[u8]) -> Option<Vec<Item<'_>>> {
    if lp.len() < LP_HDR + 1 || le(&lp[0..4]) != lp.len() as u64 || lp[lp.len() - 1] != LP_EOF {
        return None;
    }
    let declared = le(&lp[4..6]) as usize;
    let end = lp.len() - 1;
    let mut items = Vec::with_capacity(declared.min(lp.len() / 2));
    let mut p = LP_HDR;
    let mut backlen = Vec::with_capacity(5);
    while p < end {
        let b0 = lp[p];
        let (item, size) = match b0 {
            0x00..=0x7F => (Item::Int(i64::from(b0)), 1),
            0x80..=0xBF => {
                let n = usize::from(b0 & 0x3F);
                (Item::Str(lp.get(p + 1..p + 1 + n)?), 1 + n)
            }
            0xC0..=0xDF => {
                let b1 = *lp.get(p + 1)?;
                let uv = (u64::from(b0 & 0x1F) << 8) | u64::from(b1);
                (Item::Int(sign_extend(uv, 13)), 2)
            }
            0xE0..=0xEF => {
                let b1 = *lp.get(p + 1)?;
                let n = (usize::from(b0 & 0x0F) << 8) | usize::from(b1);
                (Item::Str(lp.get(p + 2..p + 2 + n)?), 2 + n)
            }
            0xF0 => {
                let n = le(lp.get(p + 1..p + 5)?) as usize;
                let data = lp.get(p + 5..(p + 5).checked_add(n)?)?;
                (Item::Str(data), 5 + n)
            }
            0xF1 => (Item::Int(sign_extend(le(lp.get(p + 1..p + 3)?), 16)), 3),
            0xF2 => (Item::Int(sign_extend(le(lp.get(p + 1..p + 4)?), 24)), 4),
            0xF3 => (Item::Int(sign_extend(le(lp.get(p + 1..p + 5)?), 32)), 5),
            0xF4 => (Item::Int(le(lp.get(p + 1..p + 9)?) as i64), 9),
            _ => return None,
        };
        backlen.clear();
        lp_backlen(size, &mut backlen);
        let bl_start = p + size;
        if lp.get(bl_start..bl_start + backlen.len())? != &backlen[..] {
            return None;
        }
        p = bl_start + backlen.len();
        if p > end {
            return None;
        }
        items.push(item);
    }
    if declared != 65535 && declared != items.len() {
        return None;
    }
    Some(items)
}

// ---------------------------------------------------------------------
// ziplist (read only)

const ZL_HDR: usize = 10;

/// Checks a whole ziplist and returns its elements.
pub fn ziplist_items(zl: &[u8]) -> Option<Vec<Item<'_>>> {
    if zl.len() < ZL_HDR + 1 || le(&zl[0..4]) != zl.len() as u64 || zl[zl.len() - 1] != 0xFF {
        return None;
    }
    let tail = le(&zl[4..8]) as usize;
    let declared = le(&zl[8..10]) as usize;
    let end = zl.len() - 1;
    let mut items = Vec::with_capacity(declared.min(zl.len() / 2));
    let mut p = ZL_HDR;
    let mut prev_len = 0usize;
    let mut last = ZL_HDR;
    while p < end {
        let start = p;
        // prevlen
        let pl = if zl[p] < 254 {
            p += 1;
            usize::from(zl[p - 1])
        } else if zl[p] == 254 {
            let v = le(zl.get(p + 1..p + 5)?) as usize;
            p += 5;
            v
        } else {
            return None;
        };
        if pl != prev_len {
            return None;
        }
        let b0 = *zl.get(p)?;
        let (item, hdr, data) = match b0 >> 6 {
            0 => {
                let n = usize::from(b0 & 0x3F);
                (None, 1, n)
            }
            1 => {
                let n = (usize::from(b0 & 0x3F) << 8) | usize::from(*zl.get(p + 1)?);
                (None, 2, n)
            }
            2 => {
                if b0 != 0x80 {
                    return None;
                }
                let b = zl.get(p + 1..p + 5)?;
                let n = u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize;
                (None, 5, n)
            }
            _ => match b0 {
                0xC0 => (Some(sign_extend(le(zl.get(p + 1..p + 3)?), 16)), 1, 2),
                0xD0 => (Some(sign_extend(le(zl.get(p + 1..p + 5)?), 32)), 1, 4),
                0xE0 => (Some(le(zl.get(p + 1..p + 9)?) as i64), 1, 8),
                0xF0 => (Some(sign_extend(le(zl.get(p + 1..p + 4)?), 24)), 1, 3),
                0xFE => (Some(i64::from(*zl.get(p + 1)? as i8)), 1, 1),
                0xF1..=0xFD => (Some(i64::from(b0 & 0x0F) - 1), 1, 0),
                _ => return None,
            },
        };
        let data_start = p + hdr;
        let data_end = data_start.checked_add(data)?;
        if data_end > end {
            return None;
        }
        items.push(match item {
            Some(n) => Item::Int(n),
            None => Item::Str(&zl[data_start..data_end]),
        });
        prev_len = data_end - start;
        last = start;
        p = data_end;
    }
    if tail != last || (declared != 65535 && declared != items.len()) {
        return None;
    }
    Some(items)
}

// ---------------------------------------------------------------------
// intset (read and written)

/// Checks an intset (sorted, unique, width 2/4/8) and returns its values.
pub fn intset_values(is: &[u8]) -> Option<Vec<i64>> {
    if is.len() < 8 {
        return None;
    }
    let width = le(&is[0..4]) as usize;
    let count = le(&is[4..8]) as usize;
    if !matches!(width, 2 | 4 | 8) || (is.len() - 8) != count.checked_mul(width)? {
        return None;
    }
    let mut out: Vec<i64> = Vec::with_capacity(count);
    for c in is[8..].chunks_exact(width) {
        let v = sign_extend(le(c), (width * 8) as u32);
        if out.last().is_some_and(|&p| p >= v) {
            return None;
        }
        out.push(v);
    }
    Some(out)
}

/// An intset of sorted, unique `values` with `width` bytes each.
pub fn intset_bytes(values: impl ExactSizeIterator<Item = i64>, width: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(8 + values.len() * width);
    out.extend_from_slice(&(width as u32).to_le_bytes());
    out.extend_from_slice(&(values.len() as u32).to_le_bytes());
    for v in values {
        out.extend_from_slice(&v.to_le_bytes()[..width]);
    }
    out
}

// ---------------------------------------------------------------------
// zipmap (read only: Redis < 2.6 hashes)

/// Checks a zipmap and returns its (field, value) pairs.
pub fn zipmap_pairs(zm: &[u8]) -> Option<Vec<(&[u8], &[u8])>> {
    let mut p = 1usize; // zmlen
    if zm.is_empty() {
        return None;
    }
    let mut out = Vec::new();
    let read_len = |p: &mut usize| -> Option<Option<usize>> {
        let b = *zm.get(*p)?;
        match b {
            0..=253 => {
                *p += 1;
                Some(Some(usize::from(b)))
            }
            254 => {
                let v = le(zm.get(*p + 1..*p + 5)?) as usize;
                *p += 5;
                Some(Some(v))
            }
            255 => Some(None),
        }
    };
    while let Some(klen) = read_len(&mut p)? {
        let key = zm.get(p..p.checked_add(klen)?)?;
        p += klen;
        let vlen = read_len(&mut p)??;
        let free = usize::from(*zm.get(p)?);
        p += 1;
        let val = zm.get(p..p.checked_add(vlen)?)?;
        p += vlen.checked_add(free)?;
        out.push((key, val));
    }
    (p + 1 == zm.len()).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn listpack_matches_redis_bytes() {
        // RPUSH l a 1 300 70000 -5 in Redis 7.0: the node's listpack.
        let mut w = ListpackWriter::new();
        for it in [&b"a"[..], b"1", b"300", b"70000", b"-5"] {
            w.push(it);
        }
        let lp = w.finish();
        let expect = b"\x17\x00\x00\x00\x05\x00\x81a\x02\x01\x01\xc1,\x02\xf2p\x11\x01\x04\xdf\xfb\x02\xff";
        assert_eq!(lp, expect);
        let items = listpack_items(&lp).unwrap();
        assert_eq!(
            items,
            vec![
                Item::Str(b"a"),
                Item::Int(1),
                Item::Int(300),
                Item::Int(70000),
                Item::Int(-5)
            ]
        );
    }

    #[test]
    fn listpack_corruption_is_caught() {
        let mut w = ListpackWriter::new();
        w.push(b"hello");
        w.push(b"12345678901");
        let lp = w.finish();
        for i in 0..lp.len() {
            for bit in 0..8 {
                let mut bad = lp.clone();
                bad[i] ^= 1 << bit;
                let _ = listpack_items(&bad);
            }
            assert!(listpack_items(&lp[..i]).is_none());
        }
    }

    #[test]
    fn intset_checks_order_and_width() {
        let b = intset_bytes([1i64, 5, 70000].into_iter(), 4);
        assert_eq!(intset_values(&b).unwrap(), vec![1, 5, 70000]);
        let bad = intset_bytes([5i64, 1].into_iter(), 2);
        assert!(intset_values(&bad).is_none());
        let mut bad = intset_bytes([1i64].into_iter(), 2);
        bad[0] = 3;
        assert!(intset_values(&bad).is_none());
    }

    #[test]
    fn ziplist_reads_all_encodings() {
        // A ziplist built by hand: "ab", 7 (immediate), -2 (int8), 1000 (int16).
        let mut zl = vec![0u8; 10];
        let mut prev = 0u8;
        let mut last = 10;
        for e in [&[0x02u8, b'a', b'b'][..], &[0xF8], &[0xFE, 0xFE], &[0xC0, 0xE8, 0x03]] {
            last = zl.len();
            zl.push(prev);
            zl.extend_from_slice(e);
            prev = (e.len() + 1) as u8;
        }
        zl.push(0xFF);
        let n = zl.len() as u32;
        zl[0..4].copy_from_slice(&n.to_le_bytes());
        zl[4..8].copy_from_slice(&(last as u32).to_le_bytes());
        zl[8..10].copy_from_slice(&4u16.to_le_bytes());
        assert_eq!(
            ziplist_items(&zl).unwrap(),
            vec![Item::Str(b"ab"), Item::Int(7), Item::Int(-2), Item::Int(1000)]
        );
        zl[8] = 3;
        assert!(ziplist_items(&zl).is_none());
    }

    #[test]
    fn zipmap_reads_pairs() {
        let zm = b"\x02\x01a\x02\x00xy\x02bb\x01\x02zqq\xff";
        assert_eq!(
            zipmap_pairs(zm).unwrap(),
            vec![(&b"a"[..], &b"xy"[..]), (&b"bb"[..], &b"z"[..])]
        );
        assert!(zipmap_pairs(&zm[..zm.len() - 1]).is_none());
    }

    proptest! {
        #[test]
        fn listpack_round_trips(items in proptest::collection::vec(
            prop_oneof![
                any::<i64>().prop_map(|n| n.to_string().into_bytes()),
                (-5000i64..5000).prop_map(|n| n.to_string().into_bytes()),
                proptest::collection::vec(any::<u8>(), 0..70),
                proptest::collection::vec(any::<u8>(), 4000..4200),
            ], 0..20)) {
            let mut w = ListpackWriter::new();
            for it in &items {
                w.push(it);
            }
            let lp = w.finish();
            let got: Vec<Vec<u8>> = listpack_items(&lp).unwrap().into_iter().map(Item::to_vec).collect();
            prop_assert_eq!(got, items);
        }

        #[test]
        fn readers_never_panic(data in proptest::collection::vec(any::<u8>(), 0..100)) {
            let _ = listpack_items(&data);
            let _ = ziplist_items(&data);
            let _ = intset_values(&data);
            let _ = zipmap_pairs(&data);
        }
    }
}
