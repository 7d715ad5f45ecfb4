//! Whole RDB files: the header, AUX fields, database selectors, keys with
//! their expiry and access data, the EOF marker and the CRC64 trailer.

use std::io::{Read, Write};

use super::value::read_value;
use super::{
    opcodes as op, write_int_string, write_len, write_string, Input, RdbError, Result, CRC64, RDB_VERSION,
    RDB_VERSION_MAX_READ,
};
use crate::encoding::Limits;
use crate::Value;

/// `rdbcompression` and `rdbchecksum`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SaveOptions {
    pub compression: bool,
    pub checksum: bool,
}

impl Default for SaveOptions {
    fn default() -> Self {
        SaveOptions {
            compression: true,
            checksum: true,
        }
    }
}

/// The AUX fields Redis writes at the top of every file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Aux {
    pub redis_ver: String,
    pub ctime_secs: i64,
    pub used_mem: i64,
    pub aof_base: bool,
}

/// Writes an RDB file to `out`, one call per element, in file order:
/// `new` (header), `aux_fields`/`aux`, then per database `select_db`,
/// `resize_db`, `entry`..., and `finish`.
pub struct FileWriter<W: Write> {
    out: W,
    digest: crc::Digest<'static, u64, crc::Table<16>>,
    opts: SaveOptions,
    buf: Vec<u8>,
}

impl<W: Write> FileWriter<W> {
    /// Writes the `REDIS0010` header.
    pub fn new(out: W, opts: SaveOptions) -> std::io::Result<FileWriter<W>> {
        let mut w = FileWriter {
            out,
            digest: CRC64.digest(),
            opts,
            buf: Vec::with_capacity(256),
        };
        let magic = format!("REDIS{RDB_VERSION:04}");
        w.buf.extend_from_slice(magic.as_bytes());
        w.flush_buf()?;
        Ok(w)
    }

    fn flush_buf(&mut self) -> std::io::Result<()> {
        self.digest.update(&self.buf);
        self.out.write_all(&self.buf)?;
        self.buf.clear();
        Ok(())
    }

    /// One AUX field (rdbSaveAuxField: both sides as strings).
    pub fn aux(&mut self, key: &[u8], value: &[u8]) -> std::io::Result<()> {
        self.buf.push(op::AUX);
        write_string(&mut self.buf, key, self.opts.compression);
        write_string(&mut self.buf, value, self.opts.compression);
        self.flush_buf()
    }

    fn aux_int(&mut self, key: &[u8], v: i64) -> std::io::Result<()> {
        self.buf.push(op::AUX);
        write_string(&mut self.buf, key, self.opts.compression);
        write_int_string(&mut self.buf, v);
        self.flush_buf()
    }

    /// rdbSaveInfoAuxFields: redis-ver, redis-bits, ctime, used-mem,
    /// aof-base.
    pub fn aux_fields(&mut self, aux: &Aux) -> std::io::Result<()> {
        self.aux(b"redis-ver", aux.redis_ver.as_bytes())?;
        self.aux_int(b"redis-bits", 64)?;
        self.aux_int(b"ctime", aux.ctime_secs)?;
        self.aux_int(b"used-mem", aux.used_mem)?;
        self.aux_int(b"aof-base", i64::from(aux.aof_base))
    }

    pub fn select_db(&mut self, db: u64) -> std::io::Result<()> {
        self.buf.push(op::SELECTDB);
        write_len(&mut self.buf, db);
        self.flush_buf()
    }

    /// The sizes hint for the database just selected.
    pub fn resize_db(&mut self, keys: u64, expires: u64) -> std::io::Result<()> {
        self.buf.push(op::RESIZEDB);
        write_len(&mut self.buf, keys);
        write_len(&mut self.buf, expires);
        self.flush_buf()
    }

    /// One key (rdbSaveKeyValuePair): its expiry (unix ms), LRU idle
    /// seconds or LFU counter when given, then type, key and value.
    pub fn entry(
        &mut self,
        key: &[u8],
        value: &Value,
        expire_ms: Option<i64>,
        idle_secs: Option<u64>,
        freq: Option<u8>,
    ) -> std::io::Result<()> {
        encode_entry(
            &mut self.buf,
            key,
            value,
            expire_ms,
            idle_secs,
            freq,
            self.opts.compression,
        );
        self.flush_buf()
    }

    /// Bytes already in RDB form (records made by [`encode_entry`] or
    /// the select/resize opcodes), written as they are.
    pub fn raw(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.digest.update(bytes);
        self.out.write_all(bytes)
    }

    pub fn finish(mut self) -> std::io::Result<W> {
        self.buf.push(op::EOF);
        self.flush_buf()?;
        let crc = if self.opts.checksum {
            self.digest.clone().finalize()
        } else {
            0
        };
        self.out.write_all(&crc.to_le_bytes())?;
        self.out.flush()?;
        Ok(self.out)
    }
}

/// One key's record (rdbSaveKeyValuePair) appended to `buf`: its expiry
/// (unix ms), LRU idle seconds or LFU counter when given, then type, key
/// and value.
pub fn encode_entry(
    buf: &mut Vec<u8>,
    key: &[u8],
    value: &Value,
    expire_ms: Option<i64>,
    idle_secs: Option<u64>,
    freq: Option<u8>,
    compress: bool,
) {
    if let Some(ms) = expire_ms {
        buf.push(op::EXPIRETIME_MS);
        buf.extend_from_slice(&ms.to_le_bytes());
    }
    if let Some(idle) = idle_secs {
        buf.push(op::IDLE);
        write_len(buf, idle);
    }
    if let Some(f) = freq {
        buf.push(op::FREQ);
        buf.push(f);
    }
    // rdbSaveObjectType, then the key (rdbSaveStringObject), then the
    // value: the type byte is written first and the body after the key.
    buf.push(super::value::type_of(value));
    write_string(buf, key, compress);
    super::value::write_value_body(buf, value, compress);
}

/// The opcodes that open database `db`'s section: SELECTDB and the
/// RESIZEDB sizes hint.
pub fn encode_db_header(buf: &mut Vec<u8>, db: u64, keys: u64, expires: u64) {
    buf.push(op::SELECTDB);
    write_len(buf, db);
    buf.push(op::RESIZEDB);
    write_len(buf, keys);
    write_len(buf, expires);
}

/// One key read from a file.
#[derive(Debug, Clone, PartialEq)]
pub struct LoadedEntry {
    pub db: u64,
    pub key: Vec<u8>,
    pub value: Value,
    /// Absolute unix time in ms.
    pub expire_ms: Option<i64>,
    /// LRU idle time in seconds (RDB_OPCODE_IDLE).
    pub idle_secs: Option<u64>,
    /// LFU counter (RDB_OPCODE_FREQ).
    pub freq: Option<u8>,
}

/// What a file held besides its keys.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FileSummary {
    pub version: u16,
    pub aux: Vec<(Vec<u8>, Vec<u8>)>,
    /// RESIZEDB hints seen: (db, keys, expires).
    pub resize_hints: Vec<(u64, u64, u64)>,
    pub keys_loaded: u64,
    /// Empty collections skipped, as Redis does.
    pub empty_keys_skipped: u64,
    /// FUNCTION2 records (function libraries) read.
    pub functions_skipped: u64,
    /// Their code, in file order (the caller loads them).
    pub functions: Vec<Vec<u8>>,
    /// Whether the trailer carried a checksum that was verified.
    pub checksum_verified: bool,
}

/// Reads a whole RDB file (rdbLoadRio), handing each key to `on_entry`
/// (an error from it stops the load). Verifies the checksum unless the
/// file stores 0.
pub fn read_file<R: Read>(
    r: R,
    limits: &Limits,
    mut on_entry: impl FnMut(LoadedEntry) -> Result<()>,
) -> Result<FileSummary> {
    let mut inp = Input::new(r);
    let magic: [u8; 9] = inp.exact()?;
    if &magic[..5] != b"REDIS" {
        return Err(RdbError::Corrupt("wrong signature trying to load DB from file"));
    }
    let version = std::str::from_utf8(&magic[5..])
        .ok()
        .and_then(|s| s.parse::<u16>().ok())
        .ok_or(RdbError::Corrupt("bad RDB version"))?;
    if !(1..=RDB_VERSION_MAX_READ).contains(&version) {
        return Err(RdbError::Unsupported("RDB format version newer than 11"));
    }
    let mut sum = FileSummary {
        version,
        ..FileSummary::default()
    };
    let mut db = 0u64;
    let mut expire_ms: Option<i64> = None;
    let mut idle: Option<u64> = None;
    let mut freq: Option<u8> = None;
    loop {
        let ty = inp.u8()?;
        match ty {
            op::EXPIRETIME => {
                expire_ms = Some(i64::from(i32::from_le_bytes(inp.exact()?)) * 1000);
                continue;
            }
            op::EXPIRETIME_MS => {
                expire_ms = Some(i64::from_le_bytes(inp.exact()?));
                continue;
            }
            op::FREQ => {
                freq = Some(inp.u8()?);
                continue;
            }
            op::IDLE => {
                idle = Some(inp.length()?);
                continue;
            }
            op::EOF => break,
            op::SELECTDB => {
                db = inp.length()?;
                continue;
            }
            op::RESIZEDB => {
                let keys = inp.length()?;
                let expires = inp.length()?;
                sum.resize_hints.push((db, keys, expires));
                continue;
            }
            op::AUX => {
                let k = inp.string()?;
                let v = inp.string()?;
                sum.aux.push((k, v));
                continue;
            }
            op::MODULE_AUX => return Err(RdbError::Unsupported("modules")),
            op::FUNCTION_PRE_GA => return Err(RdbError::Unsupported("pre-GA function format")),
            op::FUNCTION2 => {
                sum.functions.push(inp.string()?);
                sum.functions_skipped += 1;
                continue;
            }
            _ => {}
        }
        let key = inp.string()?;
        match read_value(&mut inp, ty, limits) {
            Ok(value) => {
                sum.keys_loaded += 1;
                on_entry(LoadedEntry {
                    db,
                    key,
                    value,
                    expire_ms: expire_ms.take(),
                    idle_secs: idle.take(),
                    freq: freq.take(),
                })?;
            }
            Err(RdbError::EmptyKey) => {
                sum.empty_keys_skipped += 1;
                expire_ms = None;
                idle = None;
                freq = None;
            }
            Err(e) => return Err(e),
        }
    }
    if version >= 5 {
        let expected = inp.checksum();
        let stored = u64::from_le_bytes(inp.exact()?);
        if stored != 0 {
            if stored != expected {
                return Err(RdbError::Corrupt("wrong RDB checksum"));
            }
            sum.checksum_verified = true;
        }
    }
    Ok(sum)
}

/// One database's keys for [`write_to_vec`]: (key, value, expire ms).
pub type DbEntries = Vec<(Vec<u8>, Value, Option<i64>)>;

/// A whole file in memory (tests, small tools).
pub fn write_to_vec(opts: SaveOptions, aux: Option<&Aux>, dbs: &[(u64, DbEntries)]) -> std::io::Result<Vec<u8>> {
    let mut w = FileWriter::new(Vec::new(), opts)?;
    if let Some(a) = aux {
        w.aux_fields(a)?;
    }
    for (db, entries) in dbs {
        w.select_db(*db)?;
        let expires = entries.iter().filter(|e| e.2.is_some()).count();
        w.resize_db(entries.len() as u64, expires as u64)?;
        for (k, v, exp) in entries {
            w.entry(k, v, *exp, None, None)?;
        }
    }
    w.finish()
}
