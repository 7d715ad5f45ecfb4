//! Redis's RDB format: the codec for values (what DUMP / RESTORE carry)
//! and for whole snapshot files, with no I/O of its own (callers hand in
//! `std::io::Read` / `Write` streams).
//!
//! What we write is what Redis 7.0 writes (RDB version 10), so our files
//! and DUMP payloads load into Redis 7.0 and compare byte for byte where
//! the encodings agree: strings (int / LZF encodings), lists as
//! quicklist2 of listpack nodes, sets as intset or a plain set (7.0
//! knows no listpack sets), hashes and zsets as listpack or plain.
//! We read every value type up to RDB version 11 (Redis 7.2) including
//! the older ziplist / zipmap / quicklist forms; streams and modules are
//! refused with a clear error.
//!
//! Reading is safe against hostile input: no panics, no allocation sized
//! by a length before the bytes exist, every packed blob checked in full,
//! duplicates and empty collections rejected as Redis rejects them.

pub mod blobs;
mod double;
mod file;
pub mod lzf;
mod value;

use std::io::Read;

pub use double::fmt_17g;
pub use file::{
    encode_db_header, encode_entry, read_file, write_to_vec, Aux, DbEntries, FileSummary, FileWriter, LoadedEntry,
    SaveOptions,
};
pub use value::{read_value, type_of, write_value};

use crate::encoding::Limits;
use crate::Value;

/// The RDB version we write (Redis 7.0's).
pub const RDB_VERSION: u16 = 10;
/// The newest version we read (Redis 7.2's).
pub const RDB_VERSION_MAX_READ: u16 = 11;

/// Value types (rdb.h).
pub mod types {
    pub const STRING: u8 = 0;
    pub const LIST: u8 = 1;
    pub const SET: u8 = 2;
    pub const ZSET: u8 = 3;
    pub const HASH: u8 = 4;
    pub const ZSET_2: u8 = 5;
    pub const MODULE_PRE_GA: u8 = 6;
    pub const MODULE_2: u8 = 7;
    pub const HASH_ZIPMAP: u8 = 9;
    pub const LIST_ZIPLIST: u8 = 10;
    pub const SET_INTSET: u8 = 11;
    pub const ZSET_ZIPLIST: u8 = 12;
    pub const HASH_ZIPLIST: u8 = 13;
    pub const LIST_QUICKLIST: u8 = 14;
    pub const STREAM_LISTPACKS: u8 = 15;
    pub const HASH_LISTPACK: u8 = 16;
    pub const ZSET_LISTPACK: u8 = 17;
    pub const LIST_QUICKLIST_2: u8 = 18;
    pub const STREAM_LISTPACKS_2: u8 = 19;
    pub const SET_LISTPACK: u8 = 20;
    pub const STREAM_LISTPACKS_3: u8 = 21;
}

/// Opcodes (rdb.h).
pub mod opcodes {
    pub const FUNCTION2: u8 = 245;
    pub const FUNCTION_PRE_GA: u8 = 246;
    pub const MODULE_AUX: u8 = 247;
    pub const IDLE: u8 = 248;
    pub const FREQ: u8 = 249;
    pub const AUX: u8 = 250;
    pub const RESIZEDB: u8 = 251;
    pub const EXPIRETIME_MS: u8 = 252;
    pub const EXPIRETIME: u8 = 253;
    pub const SELECTDB: u8 = 254;
    pub const EOF: u8 = 255;
}

/// Why reading failed.
#[derive(Debug)]
pub enum RdbError {
    /// The stream failed or ended early.
    Io(std::io::Error),
    /// The bytes are not a valid RDB.
    Corrupt(&'static str),
    /// Valid, but something we do not load (modules, streams...).
    Unsupported(&'static str),
    /// A collection with no elements (Redis refuses to load those).
    EmptyKey,
}

impl std::fmt::Display for RdbError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RdbError::Io(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
                write!(f, "short read: unexpected end of data")
            }
            RdbError::Io(e) => write!(f, "I/O error: {e}"),
            RdbError::Corrupt(m) => write!(f, "corrupt RDB: {m}"),
            RdbError::Unsupported(m) => write!(f, "unsupported: {m}"),
            RdbError::EmptyKey => write!(f, "empty key"),
        }
    }
}

impl std::error::Error for RdbError {}

impl From<std::io::Error> for RdbError {
    fn from(e: std::io::Error) -> Self {
        RdbError::Io(e)
    }
}

pub type Result<T> = std::result::Result<T, RdbError>;

/// Redis's CRC64 (Jones polynomial, reflected), as crc64.c.
pub static CRC64: crc::Crc<u64, crc::Table<16>> = crc::Crc::<u64, crc::Table<16>>::new(&crc::CRC_64_REDIS);

pub fn crc64(data: &[u8]) -> u64 {
    CRC64.checksum(data)
}

// ---------------------------------------------------------------------
// primitive writers

const ENC_INT8: u8 = 0;
const ENC_INT16: u8 = 1;
const ENC_INT32: u8 = 2;
const ENC_LZF: u8 = 3;

/// rdbSaveLen.
pub fn write_len(out: &mut Vec<u8>, len: u64) {
    if len < (1 << 6) {
        out.push(len as u8);
    } else if len < (1 << 14) {
        out.push(((len >> 8) as u8) | 0x40);
        out.push(len as u8);
    } else if len <= u64::from(u32::MAX) {
        out.push(0x80);
        out.extend_from_slice(&(len as u32).to_be_bytes());
    } else {
        out.push(0x81);
        out.extend_from_slice(&len.to_be_bytes());
    }
}

/// rdbEncodeInteger: the int8/16/32 string encodings.
fn write_encoded_int(out: &mut Vec<u8>, v: i64) -> bool {
    if let Ok(b) = i8::try_from(v) {
        out.push(0xC0 | ENC_INT8);
        out.push(b as u8);
    } else if let Ok(b) = i16::try_from(v) {
        out.push(0xC0 | ENC_INT16);
        out.extend_from_slice(&b.to_le_bytes());
    } else if let Ok(b) = i32::try_from(v) {
        out.push(0xC0 | ENC_INT32);
        out.extend_from_slice(&b.to_le_bytes());
    } else {
        return false;
    }
    true
}

/// rdbSaveLongLongAsStringObject.
pub fn write_int_string(out: &mut Vec<u8>, v: i64) {
    if !write_encoded_int(out, v) {
        let mut b = crate::value::itoa_buf::Buf::default();
        let s = b.format(v);
        write_len(out, s.len() as u64);
        out.extend_from_slice(s);
    }
}

/// rdbSaveRawString: integer encoding for short canonical integers, LZF
/// for compressible strings over 20 bytes when `compress`, else verbatim.
pub fn write_string(out: &mut Vec<u8>, s: &[u8], compress: bool) {
    if s.len() <= 11 {
        if let Some(n) = crate::value::canonical_i64(s) {
            if write_encoded_int(out, n) {
                return;
            }
        }
    }
    if compress && s.len() > 20 {
        if let Some(c) = lzf::compress(s, s.len() - 4) {
            out.push(0xC0 | ENC_LZF);
            write_len(out, c.len() as u64);
            write_len(out, s.len() as u64);
            out.extend_from_slice(&c);
            return;
        }
    }
    write_len(out, s.len() as u64);
    out.extend_from_slice(s);
}

// ---------------------------------------------------------------------
// primitive readers

/// A reader over the RDB stream that keeps the running CRC64 of what it
/// has read and the number of bytes read.
pub struct Input<R> {
    inner: R,
    digest: crc::Digest<'static, u64, crc::Table<16>>,
    read: u64,
}

/// Pre-allocation cap for buffers whose size the input declares.
const PREALLOC_MAX: usize = 64 * 1024;

impl<R: Read> Input<R> {
    pub fn new(inner: R) -> Input<R> {
        Input {
            inner,
            digest: CRC64.digest(),
            read: 0,
        }
    }

    /// Bytes consumed so far.
    pub fn position(&self) -> u64 {
        self.read
    }

    /// CRC64 of everything read so far.
    pub fn checksum(&self) -> u64 {
        self.digest.clone().finalize()
    }

    pub fn into_inner(self) -> R {
        self.inner
    }

    pub fn exact<const N: usize>(&mut self) -> Result<[u8; N]> {
        let mut b = [0u8; N];
        self.inner.read_exact(&mut b)?;
        self.digest.update(&b);
        self.read += N as u64;
        Ok(b)
    }

    pub fn u8(&mut self) -> Result<u8> {
        Ok(self.exact::<1>()?[0])
    }

    /// `n` bytes, read as they arrive (the buffer grows with the data, not
    /// with the declared length).
    pub fn bytes(&mut self, n: u64) -> Result<Vec<u8>> {
        let mut v = Vec::with_capacity((n as usize).min(PREALLOC_MAX));
        let got = (&mut self.inner).take(n).read_to_end(&mut v)?;
        if got as u64 != n {
            return Err(RdbError::Io(std::io::ErrorKind::UnexpectedEof.into()));
        }
        self.digest.update(&v);
        self.read += n;
        Ok(v)
    }

    /// rdbLoadLenByRef: `(len, is_encoded)`.
    pub fn len_enc(&mut self) -> Result<(u64, bool)> {
        let b = self.u8()?;
        Ok(match b >> 6 {
            0 => (u64::from(b & 0x3F), false),
            1 => (u64::from(b & 0x3F) << 8 | u64::from(self.u8()?), false),
            3 => (u64::from(b & 0x3F), true),
            _ => match b {
                0x80 => (u64::from(u32::from_be_bytes(self.exact()?)), false),
                0x81 => (u64::from_be_bytes(self.exact()?), false),
                _ => return Err(RdbError::Corrupt("unknown length encoding")),
            },
        })
    }

    /// A plain length (rdbLoadLen without special encodings).
    pub fn length(&mut self) -> Result<u64> {
        match self.len_enc()? {
            (n, false) => Ok(n),
            _ => Err(RdbError::Corrupt("encoded length where a length was expected")),
        }
    }

    /// A string in any of its encodings, as bytes.
    pub fn string(&mut self) -> Result<Vec<u8>> {
        match self.len_enc()? {
            (n, false) => self.bytes(n),
            (enc, true) => {
                let v = match enc as u8 {
                    ENC_INT8 => i64::from(i8::from_le_bytes(self.exact()?)),
                    ENC_INT16 => i64::from(i16::from_le_bytes(self.exact()?)),
                    ENC_INT32 => i64::from(i32::from_le_bytes(self.exact()?)),
                    ENC_LZF => {
                        let clen = self.length()?;
                        let len = self.length()?;
                        let c = self.bytes(clen)?;
                        let len =
                            usize::try_from(len).map_err(|_| RdbError::Corrupt("invalid LZF compressed string"))?;
                        return lzf::decompress(&c, len).ok_or(RdbError::Corrupt("invalid LZF compressed string"));
                    }
                    _ => return Err(RdbError::Corrupt("unknown string encoding")),
                };
                Ok(crate::value::itoa_buf::Buf::default().format(v).to_vec())
            }
        }
    }

    /// rdbLoadBinaryDoubleValue.
    pub fn binary_double(&mut self) -> Result<f64> {
        Ok(f64::from_le_bytes(self.exact()?))
    }

    /// rdbLoadDoubleValue (RDB < 8 zsets): a length-prefixed decimal.
    pub fn string_double(&mut self) -> Result<f64> {
        match self.u8()? {
            255 => Ok(f64::NEG_INFINITY),
            254 => Ok(f64::INFINITY),
            253 => Ok(f64::NAN),
            n => {
                let b = self.bytes(u64::from(n))?;
                parse_double(&b).ok_or(RdbError::Corrupt("invalid double"))
            }
        }
    }
}

/// strtod-like parse of a score as stored in RDB blobs ("inf", "-inf",
/// "nan" included, any case).
pub(crate) fn parse_double(b: &[u8]) -> Option<f64> {
    std::str::from_utf8(b).ok()?.trim_start().parse::<f64>().ok()
}

// ---------------------------------------------------------------------
// DUMP payloads

/// DUMP's payload: the value's type and encoding, the RDB version (2
/// bytes LE) and the CRC64 of all that (8 bytes LE), as Redis's
/// createDumpPayload (with `rdbcompression` on unless `compress` is
/// false).
pub fn dump_payload(v: &Value, compress: bool) -> Vec<u8> {
    let mut out = Vec::new();
    write_value(&mut out, v, compress);
    out.extend_from_slice(&RDB_VERSION.to_le_bytes());
    let crc = crc64(&out);
    out.extend_from_slice(&crc.to_le_bytes());
    out
}

/// verifyDumpPayload: the footer's version is one we read and the
/// checksum matches (unless `skip_checksum`).
pub fn verify_payload(p: &[u8], skip_checksum: bool) -> bool {
    if p.len() < 10 {
        return false;
    }
    let f = p.len() - 10;
    let ver = u16::from_le_bytes([p[f], p[f + 1]]);
    if ver > RDB_VERSION_MAX_READ {
        return false;
    }
    if skip_checksum {
        return true;
    }
    let mut crc = [0u8; 8];
    crc.copy_from_slice(&p[p.len() - 8..]);
    crc64(&p[..p.len() - 8]) == u64::from_le_bytes(crc)
}

/// RESTORE's decoding of a payload already checked by [`verify_payload`].
pub fn restore_payload(p: &[u8], limits: &Limits) -> Result<Value> {
    let body = &p[..p.len().saturating_sub(10)];
    let mut input = Input::new(body);
    let ty = input.u8()?;
    read_value(&mut input, ty, limits)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc64_matches_redis_test_vector() {
        assert_eq!(crc64(b"123456789"), 0xe9c6d914c4b8d9ca);
    }

    #[test]
    fn lengths_round_trip() {
        for n in [
            0u64,
            63,
            64,
            16383,
            16384,
            u32::MAX as u64,
            u32::MAX as u64 + 1,
            u64::MAX,
        ] {
            let mut out = Vec::new();
            write_len(&mut out, n);
            let mut inp = Input::new(&out[..]);
            assert_eq!(inp.length().unwrap(), n);
            assert_eq!(inp.position(), out.len() as u64);
        }
    }

    #[test]
    fn strings_use_redis_encodings() {
        let enc = |s: &[u8], c: bool| {
            let mut out = Vec::new();
            write_string(&mut out, s, c);
            out
        };
        assert_eq!(enc(b"12", true), vec![0xC0, 12]);
        assert_eq!(enc(b"-300", true), vec![0xC1, 0xD4, 0xFE]);
        assert_eq!(enc(b"70000", true), vec![0xC2, 0x70, 0x11, 0x01, 0x00]);
        assert_eq!(enc(b"012", true), b"\x03012".to_vec());
        assert_eq!(enc(b"hello", true), b"\x05hello".to_vec());
        let long = vec![b'a'; 100];
        let c = enc(&long, true);
        assert_eq!(c[0], 0xC3);
        assert!(c.len() < 20);
        assert_eq!(enc(&long, false).len(), 102);
        for s in [&b"12"[..], b"-300", b"012", b"hello", &long, b"99999999999"] {
            let e = enc(s, true);
            assert_eq!(Input::new(&e[..]).string().unwrap(), s);
        }
    }

    #[test]
    fn payload_verification() {
        let p = dump_payload(&Value::from_bytes(b"hello"), true);
        // Byte for byte what Redis 7.0 answers to DUMP of "hello".
        assert_eq!(p, b"\x00\x05hello\n\x00cr\xdfve4 \n");
        assert!(verify_payload(&p, false));
        let mut bad = p.clone();
        bad[2] ^= 1;
        assert!(!verify_payload(&bad, false));
        assert!(verify_payload(&bad, true));
        let mut newer = p.clone();
        newer[7] = 12;
        assert!(!verify_payload(&newer, true));
        assert!(!verify_payload(&p[..9], true));
        let v = restore_payload(&p, &Limits::default()).unwrap();
        assert_eq!(v, Value::from_bytes(b"hello"));
    }

    #[test]
    fn short_input_is_an_error_not_a_panic() {
        let mut i = Input::new(&[0xC3u8, 0x05][..]);
        assert!(i.string().is_err());
        let mut i = Input::new(&[0x80u8, 0xff, 0xff, 0xff, 0xff][..]);
        assert!(i.string().is_err());
    }
}

#[cfg(test)]
mod codec_tests;
