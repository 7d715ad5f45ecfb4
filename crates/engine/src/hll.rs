//! HyperLogLog as Redis 7.2 keeps it (hyperloglog.c): a string value in
//! the "HYLL" format, so GET, DUMP and RDB files carry the same bytes as
//! Redis's and PFCOUNT gives the same numbers.
//!
//! Layout: a 16-byte header (`HYLL`, the encoding byte, three unused
//! bytes, the cached cardinality as a little-endian u64 whose top bit
//! marks it stale), then the registers: 16384 registers of 6 bits packed
//! LSB first (dense, 12288 bytes), or a run-length form of ZERO
//! (`00xxxxxx`), XZERO (`01xxxxxx yyyyyyyy`) and VAL (`1vvvvvxx`) opcodes
//! (sparse), promoted to dense when a register exceeds 32 or the string
//! would pass `hll-sparse-max-bytes`. Elements hash with MurmurHash64A
//! (seed 0xadc83b19); the estimate is Ertl's improved estimator over the
//! register histogram, as Redis 7.
//!
//! Everything here works on the value's bytes and never panics on them:
//! a malformed sparse string is reported as [`Corrupt`] (Redis's
//! INVALIDOBJ), as Redis detects it: with the register-overflow checks of
//! the CVE-2025-32023 fix (7.2.10), any opcode running past register
//! 16383 makes the whole value invalid.

/// Header bytes before the registers.
pub const HDR_SIZE: usize = 16;
/// Bits of the hash that pick a register.
const P: u32 = 14;
/// Bits left for the run of zeroes.
const Q: usize = 64 - P as usize;
/// Number of registers.
pub const REGISTERS: usize = 1 << P;
const P_MASK: u64 = REGISTERS as u64 - 1;
const BITS: usize = 6;
const REGISTER_MAX: u32 = (1 << BITS) - 1;
/// Length of a dense HLL string.
pub const DENSE_SIZE: usize = HDR_SIZE + (REGISTERS * BITS).div_ceil(8);
/// Encoding byte values.
pub const DENSE: u8 = 0;
pub const SPARSE: u8 = 1;
const MAX_ENCODING: u8 = 1;

const SPARSE_VAL_MAX_VALUE: u8 = 32;
const SPARSE_VAL_MAX_LEN: usize = 4;
const SPARSE_ZERO_MAX_LEN: usize = 64;
const SPARSE_XZERO_MAX_LEN: usize = 16384;

/// 0.5 / ln(2), the estimator's alpha for m -> infinity.
const ALPHA_INF: f64 = 0.721_347_520_444_481_7;

/// The value is not a well-formed HLL (Redis: "-INVALIDOBJ Corrupted HLL
/// object detected").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Corrupt;

/// Redis's MurmurHash64A, endian-neutral (little-endian words).
pub fn murmur64a(key: &[u8], seed: u64) -> u64 {
    const M: u64 = 0xc6a4_a793_5bd1_e995;
    const R: u32 = 47;
    // `len * m` with C's int promotion: len is an int, so it widens to
    // u64 before the (wrapping) multiply.
    let mut h = seed ^ (key.len() as u64).wrapping_mul(M);
    let mut chunks = key.chunks_exact(8);
    for c in &mut chunks {
        let mut k = u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]);
        k = k.wrapping_mul(M);
        k ^= k >> R;
        k = k.wrapping_mul(M);
        h ^= k;
        h = h.wrapping_mul(M);
    }
    let tail = chunks.remainder();
    if !tail.is_empty() {
        for (i, &b) in tail.iter().enumerate() {
            h ^= u64::from(b) << (8 * i);
        }
        h = h.wrapping_mul(M);
    }
    h ^= h >> R;
    h = h.wrapping_mul(M);
    h ^= h >> R;
    h
}

/// hllPatLen: the register `ele` hashes to and the length of its
/// `000..1` pattern (1..=51).
pub fn pat_len(ele: &[u8]) -> (usize, u8) {
    let hash = murmur64a(ele, 0xadc8_3b19);
    let index = (hash & P_MASK) as usize;
    let rest = (hash >> P) | (1u64 << Q);
    (index, rest.trailing_zeros() as u8 + 1)
}

// ---- Header ----

/// isHLLObjectOrReply's checks on a string's bytes.
pub fn is_valid(v: &[u8]) -> bool {
    v.len() >= HDR_SIZE && &v[..4] == b"HYLL" && v[4] <= MAX_ENCODING && (v[4] != DENSE || v.len() == DENSE_SIZE)
}

/// The encoding byte (callers checked [`is_valid`]).
pub fn encoding(v: &[u8]) -> u8 {
    v[4]
}

/// The cached cardinality, if it is valid.
pub fn cached_card(v: &[u8]) -> Option<u64> {
    if v[15] & 0x80 != 0 {
        return None;
    }
    let mut b = [0u8; 8];
    b.copy_from_slice(&v[8..16]);
    Some(u64::from_le_bytes(b))
}

pub fn set_cached_card(v: &mut [u8], card: u64) {
    v[8..16].copy_from_slice(&card.to_le_bytes());
}

/// HLL_INVALIDATE_CACHE.
pub fn invalidate_cache(v: &mut [u8]) {
    v[15] |= 0x80;
}

/// createHLLObject: an empty sparse HLL (one XZERO of 16384).
pub fn new_sparse() -> Vec<u8> {
    let mut v = Vec::with_capacity(HDR_SIZE + 2);
    v.extend_from_slice(b"HYLL");
    v.push(SPARSE);
    v.extend_from_slice(&[0; 11]);
    let mut left = REGISTERS;
    while left > 0 {
        let n = left.min(SPARSE_XZERO_MAX_LEN);
        push_xzero(&mut v, n);
        left -= n;
    }
    v
}

// ---- Dense registers ----

/// HLL_DENSE_GET_REGISTER over the register bytes (the byte after the
/// last one reads as 0, as the sds terminator does for Redis).
pub fn dense_get(regs: &[u8], i: usize) -> u8 {
    let byte = i * BITS / 8;
    let fb = (i * BITS) & 7;
    let b0 = u32::from(regs.get(byte).copied().unwrap_or(0));
    let b1 = u32::from(regs.get(byte + 1).copied().unwrap_or(0));
    (((b0 >> fb) | (b1 << (8 - fb))) & REGISTER_MAX) as u8
}

/// HLL_DENSE_SET_REGISTER.
fn dense_put(regs: &mut [u8], i: usize, val: u8) {
    let byte = i * BITS / 8;
    let fb = (i * BITS) & 7;
    let fb8 = 8 - fb;
    let v = u32::from(val);
    regs[byte] &= !((REGISTER_MAX << fb) as u8);
    regs[byte] |= (v << fb) as u8;
    if let Some(b) = regs.get_mut(byte + 1) {
        *b &= !((REGISTER_MAX >> fb8) as u8);
        *b |= (v >> fb8) as u8;
    }
}

/// hllDenseSet: raises register `i` to `count`; true if it changed.
pub fn dense_set(regs: &mut [u8], i: usize, count: u8) -> bool {
    if count > dense_get(regs, i) {
        dense_put(regs, i, count);
        true
    } else {
        false
    }
}

/// hllDenseRegHisto.
fn dense_histo(regs: &[u8], histo: &mut [u32; 64]) {
    for chunk in regs.chunks_exact(3) {
        let (a, b, c) = (chunk[0], chunk[1], chunk[2]);
        histo[usize::from(a & 63)] += 1;
        histo[usize::from((a >> 6 | b << 2) & 63)] += 1;
        histo[usize::from((b >> 4 | c << 4) & 63)] += 1;
        histo[usize::from((c >> 2) & 63)] += 1;
    }
}

// ---- Sparse opcodes ----

fn is_zero(b: u8) -> bool {
    b & 0xc0 == 0
}
fn is_xzero(b: u8) -> bool {
    b & 0xc0 == 0x40
}
fn is_val(b: u8) -> bool {
    b & 0x80 != 0
}
fn zero_len(b: u8) -> usize {
    usize::from(b & 0x3f) + 1
}
/// The XZERO at `p` (its second byte reads as 0 past the end).
fn xzero_len(v: &[u8], p: usize) -> usize {
    ((usize::from(v[p] & 0x3f) << 8) | usize::from(v.get(p + 1).copied().unwrap_or(0))) + 1
}
fn val_value(b: u8) -> u8 {
    ((b >> 2) & 0x1f) + 1
}
fn val_len(b: u8) -> usize {
    usize::from(b & 0x3) + 1
}
fn val_op(val: u8, len: usize) -> u8 {
    ((val - 1) << 2 | (len as u8 - 1)) | 0x80
}
fn zero_op(len: usize) -> u8 {
    (len - 1) as u8
}
fn push_xzero(out: &mut Vec<u8>, len: usize) {
    let l = len - 1;
    out.push((l >> 8) as u8 | 0x40);
    out.push((l & 0xff) as u8);
}

/// One opcode of a sparse body: (registers covered, value, bytes).
fn sparse_op(v: &[u8], p: usize) -> (usize, u8, usize) {
    let b = v[p];
    if is_zero(b) {
        (zero_len(b), 0, 1)
    } else if is_xzero(b) {
        (xzero_len(v, p), 0, 2)
    } else {
        (val_len(b), val_value(b), 1)
    }
}

/// hllSparseToDense: converts `v` in place (nothing if already dense).
/// Returns whether it converted.
pub fn sparse_to_dense(v: &mut Vec<u8>) -> Result<bool, Corrupt> {
    if v[4] == DENSE {
        return Ok(false);
    }
    let mut dense = vec![0u8; DENSE_SIZE];
    dense[..HDR_SIZE].copy_from_slice(&v[..HDR_SIZE]);
    dense[4] = DENSE;
    let regs = &mut dense[HDR_SIZE..];
    let mut idx = 0usize;
    let mut p = HDR_SIZE;
    while p < v.len() {
        let (run, val, len) = sparse_op(v, p);
        if idx + run > REGISTERS {
            return Err(Corrupt);
        }
        if val != 0 {
            for i in idx..idx + run {
                dense_put(regs, i, val);
            }
        }
        idx += run;
        p += len;
    }
    if idx != REGISTERS {
        return Err(Corrupt);
    }
    *v = dense;
    Ok(true)
}

/// hllSparseSet: raises register `index` to `count` in the sparse HLL
/// `v`, promoting it to dense when the value does not fit a VAL opcode
/// or the string would grow past `max_bytes`. True if a register changed.
pub fn sparse_set(v: &mut Vec<u8>, index: usize, count: u8, max_bytes: usize) -> Result<bool, Corrupt> {
    if count > SPARSE_VAL_MAX_VALUE {
        return promote(v, index, count);
    }
    // Step 1: the opcode covering `index`.
    let mut end = v.len();
    let mut p = HDR_SIZE;
    let mut first = 0usize;
    let mut prev: Option<usize> = None;
    let mut span = 0usize;
    while p < end {
        let (run, _, len) = sparse_op(v, p);
        span = run;
        if index < first + span {
            break;
        }
        prev = Some(p);
        p += len;
        first += span;
    }
    if span == 0 || p >= end {
        return Err(Corrupt);
    }
    let op = v[p];
    let oldlen = if is_xzero(op) { 2 } else { 1 };
    let runlen = span;

    let updated_in_place = if is_val(op) {
        if val_value(op) >= count {
            return Ok(false);
        }
        runlen == 1
    } else {
        is_zero(op) && runlen == 1
    };
    if updated_in_place {
        v[p] = val_op(count, 1);
    } else {
        // Step 2: split the opcode into up to three.
        let mut seq: Vec<u8> = Vec::with_capacity(5);
        let last = first + span - 1;
        if is_val(op) {
            let cur = val_value(op);
            if index != first {
                seq.push(val_op(cur, index - first));
            }
            seq.push(val_op(count, 1));
            if index != last {
                seq.push(val_op(cur, last - index));
            }
        } else {
            let zeros = |seq: &mut Vec<u8>, len: usize| {
                if len > SPARSE_ZERO_MAX_LEN {
                    push_xzero(seq, len);
                } else {
                    seq.push(zero_op(len));
                }
            };
            if index != first {
                zeros(&mut seq, index - first);
            }
            seq.push(val_op(count, 1));
            if index != last {
                zeros(&mut seq, last - index);
            }
        }
        // Step 3: put it in place of the old opcode.
        if seq.len() > oldlen && v.len() + (seq.len() - oldlen) > max_bytes {
            return promote(v, index, count);
        }
        if p + oldlen <= v.len() {
            v.splice(p..p + oldlen, seq.iter().copied());
        } else {
            // A truncated XZERO at the end (its second byte was Redis's
            // string terminator): Redis still counts it as two bytes.
            let new_len = v.len() + seq.len() - oldlen;
            v.truncate(p);
            v.extend_from_slice(&seq);
            v.truncate(new_len);
        }
        end = v.len();
    }

    // Step 4: merge adjacent VAL opcodes of the same value, scanning up
    // to five opcodes from the previous one.
    let mut p = prev.unwrap_or(HDR_SIZE);
    let mut scan = 5;
    while p < end {
        if scan == 0 {
            break;
        }
        scan -= 1;
        let b = v[p];
        if is_xzero(b) {
            p += 2;
            continue;
        } else if is_zero(b) {
            p += 1;
            continue;
        }
        if p + 1 < end && is_val(v[p + 1]) {
            let v1 = val_value(b);
            let v2 = val_value(v[p + 1]);
            if v1 == v2 {
                let len = val_len(b) + val_len(v[p + 1]);
                if len <= SPARSE_VAL_MAX_LEN {
                    v[p + 1] = val_op(v1, len);
                    v.remove(p);
                    end -= 1;
                    continue;
                }
            }
        }
        p += 1;
    }
    invalidate_cache(v);
    Ok(true)
}

fn promote(v: &mut Vec<u8>, index: usize, count: u8) -> Result<bool, Corrupt> {
    sparse_to_dense(v)?;
    dense_set(&mut v[HDR_SIZE..], index, count);
    Ok(true)
}

/// hllAdd: adds `ele` to the HLL `v` (either encoding). True if a
/// register changed.
pub fn add(v: &mut Vec<u8>, ele: &[u8], max_bytes: usize) -> Result<bool, Corrupt> {
    let (index, count) = pat_len(ele);
    set(v, index, count, max_bytes)
}

/// Raises register `index` to `count` in either encoding.
pub fn set(v: &mut Vec<u8>, index: usize, count: u8, max_bytes: usize) -> Result<bool, Corrupt> {
    match v[4] {
        DENSE => Ok(dense_set(&mut v[HDR_SIZE..], index, count)),
        SPARSE => sparse_set(v, index, count, max_bytes),
        _ => Err(Corrupt),
    }
}

// ---- Counting ----

/// Ertl's sigma (arXiv:1702.01284).
fn sigma(mut x: f64) -> f64 {
    if x == 1.0 {
        return f64::INFINITY;
    }
    let mut y = 1.0;
    let mut z = x;
    loop {
        x *= x;
        let z_prime = z;
        z += x * y;
        y += y;
        if z_prime == z {
            return z;
        }
    }
}

/// Ertl's tau.
fn tau(mut x: f64) -> f64 {
    if x == 0.0 || x == 1.0 {
        return 0.0;
    }
    let mut y = 1.0;
    let mut z = 1.0 - x;
    loop {
        x = x.sqrt();
        let z_prime = z;
        y *= 0.5;
        // pow(1 - x, 2), which C compilers emit as a multiply.
        let d = 1.0 - x;
        z -= d * d * y;
        if z_prime == z {
            return z / 3.0;
        }
    }
}

/// The cardinality estimate from a register histogram (hllCount's tail).
fn estimate(histo: &[u32; 64]) -> u64 {
    let m = REGISTERS as f64;
    let mut z = m * tau((m - f64::from(histo[Q + 1])) / m);
    for j in (1..=Q).rev() {
        z += f64::from(histo[j]);
        z *= 0.5;
    }
    z += m * sigma(f64::from(histo[0]) / m);
    // llroundl: halves away from zero, as f64::round.
    (ALPHA_INF * m * m / z).round() as u64
}

/// hllCount over a valid HLL string (either encoding); a sparse body
/// that does not cover exactly 16384 registers is [`Corrupt`].
pub fn count(v: &[u8]) -> Result<u64, Corrupt> {
    let mut histo = [0u32; 64];
    match v[4] {
        DENSE => dense_histo(&v[HDR_SIZE..], &mut histo),
        SPARSE => {
            let mut idx = 0usize;
            let mut p = HDR_SIZE;
            while p < v.len() {
                let (run, val, len) = sparse_op(v, p);
                if idx + run > REGISTERS {
                    return Err(Corrupt);
                }
                idx += run;
                histo[usize::from(val)] += run as u32;
                p += len;
            }
            if idx != REGISTERS {
                return Err(Corrupt);
            }
        }
        _ => return Err(Corrupt),
    }
    Ok(estimate(&histo))
}

/// hllCount over registers of one byte each (PFCOUNT of several keys).
pub fn count_raw(regs: &[u8; REGISTERS]) -> u64 {
    let mut histo = [0u32; 64];
    for &r in regs.iter() {
        histo[usize::from(r & 63)] += 1;
    }
    estimate(&histo)
}

/// hllMerge: `max[i] = max(max[i], register i of v)`.
pub fn merge(max: &mut [u8; REGISTERS], v: &[u8]) -> Result<(), Corrupt> {
    if v[4] == DENSE {
        let regs = &v[HDR_SIZE..];
        for (i, m) in max.iter_mut().enumerate() {
            let r = dense_get(regs, i);
            if r > *m {
                *m = r;
            }
        }
        return Ok(());
    }
    let mut i = 0usize;
    let mut p = HDR_SIZE;
    while p < v.len() {
        let (run, val, len) = sparse_op(v, p);
        if i + run > REGISTERS {
            return Err(Corrupt);
        }
        if val != 0 {
            for m in &mut max[i..i + run] {
                if val > *m {
                    *m = val;
                }
            }
        }
        i += run;
        p += len;
    }
    if i != REGISTERS {
        return Err(Corrupt);
    }
    Ok(())
}

/// PFDEBUG DECODE's text for a sparse HLL: `z:<n>`, `Z:<n>`, `v:<val>,<n>`.
pub fn decode_sparse(v: &[u8]) -> String {
    let mut out = String::new();
    let mut p = HDR_SIZE;
    while p < v.len() {
        let b = v[p];
        let (run, val, len) = sparse_op(v, p);
        if !out.is_empty() {
            out.push(' ');
        }
        if is_zero(b) {
            out.push_str(&format!("z:{run}"));
        } else if is_xzero(b) {
            out.push_str(&format!("Z:{run}"));
        } else {
            out.push_str(&format!("v:{val},{run}"));
        }
        p += len;
    }
    out
}

/// PFSELFTEST: register access, then dense and sparse estimates agreeing
/// and within six standard errors up to 10 million elements. `rand`
/// supplies random 32-bit numbers. The error text is Redis's.
pub fn self_test(sparse_max_bytes: usize, rand: &mut impl FnMut() -> u32) -> Result<(), String> {
    const CYCLES: usize = 1000;
    let mut dense = vec![0u8; DENSE_SIZE];
    let mut bytes = vec![0u8; REGISTERS];
    for _ in 0..CYCLES {
        let regs = &mut dense[HDR_SIZE..];
        for (i, b) in bytes.iter_mut().enumerate() {
            let r = (rand() & REGISTER_MAX) as u8;
            *b = r;
            dense_put(regs, i, r);
        }
        for (i, &b) in bytes.iter().enumerate() {
            let val = dense_get(regs, i);
            if val != b {
                return Err(format!("TESTFAILED Register {i} should be {b} but is {val}"));
            }
        }
    }
    dense[HDR_SIZE..].fill(0);
    let mut sparse = new_sparse();
    let relerr = 1.04 / (REGISTERS as f64).sqrt();
    let mut checkpoint: u64 = 1;
    let seed = u64::from(rand()) | u64::from(rand()) << 32;
    for j in 1..=10_000_000u64 {
        let ele = (j ^ seed).to_ne_bytes();
        let (index, cnt) = pat_len(&ele);
        dense_set(&mut dense[HDR_SIZE..], index, cnt);
        set(&mut sparse, index, cnt, sparse_max_bytes).map_err(|_| "TESTFAILED corrupted sparse HLL".to_string())?;
        if j != checkpoint {
            continue;
        }
        if j < (sparse_max_bytes / 2) as u64 && sparse[4] != SPARSE {
            return Err("TESTFAILED sparse encoding not used".into());
        }
        let d = count(&dense).unwrap_or(0);
        if Ok(d) != count(&sparse) {
            return Err("TESTFAILED dense/sparse disagree".into());
        }
        let abserr = (checkpoint as i64 - d as i64).unsigned_abs();
        let mut maxerr = (relerr * 6.0 * checkpoint as f64).ceil() as u64;
        if j == 10 {
            maxerr = 1;
        }
        if abserr > maxerr {
            return Err(format!("TESTFAILED Too big error. card:{checkpoint} abserr:{abserr}"));
        }
        checkpoint *= 10;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn add_all(v: &mut Vec<u8>, items: impl IntoIterator<Item = String>) -> usize {
        let mut changed = 0;
        for s in items {
            if add(v, s.as_bytes(), 3000).unwrap() {
                changed += 1;
            }
        }
        changed
    }

    #[test]
    fn murmur_known_values() {
        // MurmurHash64A reference outputs (seed 0).
        assert_eq!(murmur64a(b"", 0), 0);
        // Every tail length and a full word take distinct paths.
        let hs: Vec<u64> = (0..17)
            .map(|n| murmur64a(&b"abcdefghijklmnopq"[..n], 0xadc8_3b19))
            .collect();
        for (i, a) in hs.iter().enumerate() {
            for b in &hs[i + 1..] {
                assert_ne!(a, b);
            }
        }
    }

    #[test]
    fn empty_sparse_layout() {
        let v = new_sparse();
        assert_eq!(v.len(), 18);
        assert_eq!(&v[..5], b"HYLL\x01");
        assert_eq!(&v[16..], &[0x7f, 0xff]);
        assert!(is_valid(&v));
        assert_eq!(count(&v), Ok(0));
        assert_eq!(decode_sparse(&v), "Z:16384");
        assert_eq!(cached_card(&v), Some(0));
    }

    #[test]
    fn dense_registers_round_trip() {
        let mut regs = vec![0u8; DENSE_SIZE - HDR_SIZE];
        for i in 0..REGISTERS {
            dense_put(&mut regs, i, (i % 64) as u8);
        }
        for i in 0..REGISTERS {
            assert_eq!(dense_get(&regs, i), (i % 64) as u8, "register {i}");
        }
    }

    #[test]
    fn sparse_and_dense_agree() {
        let mut sparse = new_sparse();
        let mut dense = new_sparse();
        sparse_to_dense(&mut dense).unwrap();
        assert_eq!(dense.len(), DENSE_SIZE);
        for i in 0..5000 {
            let s = format!("ele:{i}");
            let a = add(&mut sparse, s.as_bytes(), 3000).unwrap();
            let b = add(&mut dense, s.as_bytes(), 3000).unwrap();
            assert_eq!(a, b);
            if i % 97 == 0 {
                assert_eq!(count(&sparse), count(&dense));
            }
        }
        assert_eq!(sparse[4], DENSE, "promoted past hll-sparse-max-bytes");
        let mut a = [0u8; REGISTERS];
        let mut b = [0u8; REGISTERS];
        merge(&mut a, &sparse).unwrap();
        merge(&mut b, &dense).unwrap();
        assert_eq!(a[..], b[..]);
    }

    #[test]
    fn sparse_stays_under_the_limit() {
        let mut v = new_sparse();
        for i in 0..300 {
            add(&mut v, format!("{i}").as_bytes(), 200).unwrap();
            assert!(v[4] == DENSE || v.len() <= 200);
        }
        assert_eq!(v[4], DENSE);
    }

    #[test]
    fn known_cardinalities() {
        // PFADD of "0".."n-1", then PFCOUNT, on Redis 7.0.15.
        for (n, want, enc) in [(1000, 1001, SPARSE), (5000, 4985, DENSE), (100_000, 99565, DENSE)] {
            let mut v = new_sparse();
            add_all(&mut v, (0..n).map(|i| i.to_string()));
            assert_eq!(count(&v), Ok(want), "{n}");
            assert_eq!(v[4], enc, "{n}");
        }
        // PFADD abc a b c; PFCOUNT abc; GET abc.
        let mut v = new_sparse();
        assert_eq!(add_all(&mut v, ["a", "b", "c"].iter().map(|s| s.to_string())), 3);
        let c = count(&v).unwrap();
        assert_eq!(c, 3);
        set_cached_card(&mut v, c);
        let mut want = b"HYLL\x01\0\0\0\x03\0\0\0\0\0\0\0".to_vec();
        want.extend_from_slice(&[0x60, 0xf3, 0x80, 0x50, 0xb1, 0x84, 0x4b, 0xfb, 0x80, 0x42, 0x5a]);
        assert_eq!(v, want);
    }

    #[test]
    fn corrupt_sparse_is_reported() {
        let mut v = new_sparse();
        v.truncate(17); // half an XZERO of 16128 registers
        v[16] = 0x7e;
        assert_eq!(count(&v), Err(Corrupt));
        let mut m = [0u8; REGISTERS];
        assert_eq!(merge(&mut m, &v), Err(Corrupt));
        assert_eq!(sparse_to_dense(&mut v.clone()), Err(Corrupt));
        // Too many registers.
        let mut v = new_sparse();
        v.extend_from_slice(&[0x80; 3]);
        assert_eq!(count(&v), Err(Corrupt));
        assert_eq!(sparse_set(&mut v, 16383, 3, 3000).map(|_| ()), Ok(()));
        // No registers at all.
        let mut v = new_sparse();
        v.truncate(HDR_SIZE);
        assert_eq!(sparse_set(&mut v, 0, 3, 3000), Err(Corrupt));
    }

    #[test]
    fn self_test_passes() {
        let mut x: u32 = 12345;
        let mut rand = || {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x
        };
        if cfg!(debug_assertions) {
            // The full run is ten million adds; in a debug build check
            // the register part only through a smaller equivalent.
            let mut sparse = new_sparse();
            let mut dense = new_sparse();
            sparse_to_dense(&mut dense).unwrap();
            for j in 0..20_000u64 {
                let e = (j ^ 0x1234_5678_9abc).to_ne_bytes();
                add(&mut sparse, &e, 3000).unwrap();
                add(&mut dense, &e, 3000).unwrap();
            }
            assert_eq!(count(&sparse), count(&dense));
        } else {
            assert_eq!(self_test(3000, &mut rand), Ok(()));
        }
    }
}
