//! LZF, as Redis 7.0 vendors it (liblzf 3.6's lzf_c.c / lzf_d.c with
//! HLOG 16, VERY_FAST, no ULTRA_FAST: matches may run to the last bytes
//! of the input, unlike later copies that add an `ip + 4 < in_end`
//! test). Hand-written rather than a crate so the compressed
//! bytes are the ones Redis produces for the same input (DUMP payloads
//! compare byte for byte); the hash table starts empty (Redis leaves its
//! stack table uninitialised, which in practice only adds matches that
//! the byte comparison rejects).

const HLOG: u32 = 16;
const HSIZE: usize = 1 << HLOG;
const MAX_LIT: usize = 1 << 5;
const MAX_OFF: usize = 1 << 13;
const MAX_REF: usize = (1 << 8) + (1 << 3);

#[inline]
fn idx(h: u32) -> usize {
    ((h >> (3 * 8 - HLOG)).wrapping_sub(h.wrapping_mul(5)) as usize) & (HSIZE - 1)
}

/// lzf_compress into at most `out_len` bytes; `None` when the result
/// would not fit (or the input is empty).
pub fn compress(input: &[u8], out_len: usize) -> Option<Vec<u8>> {
    HTAB.with(|t| {
        let mut t = t.borrow_mut();
        t.start();
        compress_with(input, out_len, &mut t)
    })
}

/// The hash table, kept per thread: a fresh zeroed 64K-slot table per
/// call cost more than compressing a short string. Each slot holds the
/// generation that wrote it in its high half, so a slot from an earlier
/// call reads as empty, exactly as a zeroed table.
struct Htab {
    gen: u32,
    slots: Vec<u64>,
}

impl Htab {
    fn start(&mut self) {
        if self.slots.is_empty() {
            self.slots = vec![0; HSIZE];
        }
        self.gen = self.gen.wrapping_add(1);
        if self.gen == 0 {
            self.slots.fill(0);
            self.gen = 1;
        }
    }

    #[inline]
    fn get(&self, slot: usize) -> usize {
        let v = self.slots[slot];
        if (v >> 32) as u32 == self.gen {
            (v & 0xffff_ffff) as usize
        } else {
            0
        }
    }

    #[inline]
    fn set(&mut self, slot: usize, pos: usize) {
        self.slots[slot] = (u64::from(self.gen) << 32) | pos as u64;
    }
}

thread_local! {
    static HTAB: std::cell::RefCell<Htab> = const { std::cell::RefCell::new(Htab { gen: 0, slots: Vec::new() }) };
}

fn compress_with(input: &[u8], out_len: usize, htab: &mut Htab) -> Option<Vec<u8>> {
    let in_len = input.len();
    if in_len == 0 || out_len == 0 {
        return None;
    }
    // Positions; 0 doubles as "empty", and a reference at position 0 is
    // never used anyway (`ref > in_data` in the C code).
    // A little slack: the tail loop writes without checks, as in C.
    let mut out = vec![0u8; out_len + 4];
    let mut ip = 0usize;
    let mut op = 1usize; // start run
    let mut lit = 0usize;
    let at = |i: usize| u32::from(input.get(i).copied().unwrap_or(0));
    let mut hval: u32 = (at(0) << 8) | at(1);
    while ip + 2 < in_len {
        hval = (hval << 8) | at(ip + 2);
        let slot = idx(hval);
        let r = htab.get(slot);
        htab.set(slot, ip);
        if r > 0
            && r < ip
            && ip - r - 1 < MAX_OFF
            && input[r] == input[ip]
            && input[r + 1] == input[ip + 1]
            && input[r + 2] == input[ip + 2]
        {
            let off = ip - r - 1;
            let mut len = 2usize;
            let maxlen = (in_len - ip - len).min(MAX_REF);
            // first a faster conservative test, then the exact one
            if op + 3 + 1 >= out_len && op - usize::from(lit == 0) + 3 + 1 >= out_len {
                return None;
            }
            out[op - lit - 1] = (lit as i64 - 1) as u8; // stop run
            if lit == 0 {
                op -= 1; // undo run if length is zero
            }
            let mut unrolled_mismatch = false;
            if maxlen > 16 {
                for _ in 0..16 {
                    len += 1;
                    if input[r + len] != input[ip + len] {
                        unrolled_mismatch = true;
                        break;
                    }
                }
            }
            if !unrolled_mismatch {
                loop {
                    len += 1;
                    if !(len < maxlen && input[r + len] == input[ip + len]) {
                        break;
                    }
                }
            }
            len -= 2; // len is now #octets - 1
            ip += 1;
            if len < 7 {
                out[op] = ((off >> 8) + (len << 5)) as u8;
                op += 1;
            } else {
                out[op] = ((off >> 8) + (7 << 5)) as u8;
                out[op + 1] = (len - 7) as u8;
                op += 2;
            }
            out[op] = off as u8;
            op += 1;
            lit = 0;
            op += 1; // start run
            ip += len + 1;
            if ip + 2 >= in_len {
                break;
            }
            ip -= 2;
            hval = (at(ip) << 8) | at(ip + 1);
            hval = (hval << 8) | at(ip + 2);
            htab.set(idx(hval), ip);
            ip += 1;
            hval = (hval << 8) | at(ip + 2);
            htab.set(idx(hval), ip);
            ip += 1;
        } else {
            if op >= out_len {
                return None;
            }
            lit += 1;
            out[op] = input[ip];
            op += 1;
            ip += 1;
            if lit == MAX_LIT {
                out[op - lit - 1] = (lit - 1) as u8;
                lit = 0;
                op += 1;
            }
        }
    }
    if op + 3 > out_len {
        return None;
    }
    while ip < in_len {
        lit += 1;
        out[op] = input[ip];
        op += 1;
        ip += 1;
        if lit == MAX_LIT {
            out[op - lit - 1] = (lit - 1) as u8;
            lit = 0;
            op += 1;
        }
    }
    out[op - lit - 1] = (lit as i64 - 1) as u8; // end run
    if lit == 0 {
        op -= 1;
    }
    if op > out_len {
        return None;
    }
    out.truncate(op);
    Some(out)
}

/// lzf_decompress, checked: `None` if the stream is malformed or does
/// not expand to exactly `out_len` bytes.
pub fn decompress(input: &[u8], out_len: usize) -> Option<Vec<u8>> {
    // Sized by what the input can plausibly expand to, not by the
    // declared length alone.
    let mut out: Vec<u8> = Vec::with_capacity(out_len.min(input.len().saturating_mul(8)).min(1 << 20));
    let mut ip = 0usize;
    while ip < input.len() {
        let ctrl = usize::from(input[ip]);
        ip += 1;
        if ctrl < (1 << 5) {
            let n = ctrl + 1;
            if out.len() + n > out_len || ip + n > input.len() {
                return None;
            }
            out.extend_from_slice(&input[ip..ip + n]);
            ip += n;
        } else {
            let mut len = ctrl >> 5;
            if len == 7 {
                len += usize::from(*input.get(ip)?);
                ip += 1;
            }
            let off = ((ctrl & 0x1f) << 8) + usize::from(*input.get(ip)?);
            ip += 1;
            len += 2;
            if out.len() + len > out_len || off + 1 > out.len() {
                return None;
            }
            let start = out.len() - off - 1;
            for i in 0..len {
                let b = out[start + i];
                out.push(b);
            }
        }
    }
    (out.len() == out_len).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn compresses_repetitive_data() {
        let data = vec![b'a'; 1000];
        let c = compress(&data, data.len() - 4).unwrap();
        assert!(c.len() < 40, "{}", c.len());
        assert_eq!(decompress(&c, 1000).unwrap(), data);
        assert!(decompress(&c, 999).is_none());
        assert!(decompress(&c, 1001).is_none());
    }

    #[test]
    fn incompressible_data_does_not_fit() {
        let data: Vec<u8> = (0..=255u8).collect();
        assert!(compress(&data, data.len() - 4).is_none());
    }

    #[test]
    fn malformed_streams_are_rejected() {
        assert!(decompress(&[0x05, b'a'], 6).is_none());
        assert!(decompress(&[0x20, 0x00], 3).is_none()); // back-ref before start
        assert!(decompress(&[0xe0], 10).is_none());
        assert!(decompress(&[], 1).is_none());
    }

    proptest! {
        #[test]
        fn round_trips(data in proptest::collection::vec(prop_oneof![Just(b'x'), Just(b'y'), any::<u8>()], 0..3000)) {
            if let Some(c) = compress(&data, data.len() + 64) {
                prop_assert_eq!(decompress(&c, data.len()).unwrap(), data);
            } else {
                prop_assert!(data.is_empty());
            }
        }

        #[test]
        fn decompress_never_panics(data in proptest::collection::vec(any::<u8>(), 0..200), n in 0usize..2000) {
            let _ = decompress(&data, n);
        }
    }
}
