//! The AOF manifest of Redis 7's multi-part AOF (`src/aof.c`).
//!
//! The manifest `{appendfilename}.manifest` in the AOF directory lists the
//! files that make up the AOF, one per line:
//!
//! ```text
//! file appendonly.aof.2.base.rdb seq 2 type b
//! file appendonly.aof.1.incr.aof seq 1 type h
//! file appendonly.aof.3.incr.aof seq 3 type i
//! ```
//!
//! At most one BASE (`b`, a snapshot from the last rewrite, RDB or AOF
//! format), then HISTORY files (`h`, the previous base and incrs, deleted
//! after a rewrite), then the INCR files (`i`, commands appended since,
//! strictly increasing `seq`). Loading reads the base and then the incrs in
//! order ([`Manifest::files_to_load`]).
//!
//! Changes go through a copy, as Redis's `aofManifestDup`: clone the
//! manifest, change the clone, [`Manifest::persist`] it (temp file, fsync,
//! rename, fsync of the directory), and only then replace the live one.

use std::fmt;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// Redis's `MANIFEST_MAX_LINE`: longer lines are an error.
pub const MANIFEST_MAX_LINE: usize = 1024;

const BASE_FILE_SUFFIX: &str = ".base";
const INCR_FILE_SUFFIX: &str = ".incr";
const RDB_FORMAT_SUFFIX: &str = ".rdb";
const AOF_FORMAT_SUFFIX: &str = ".aof";
const MANIFEST_NAME_SUFFIX: &str = ".manifest";
const TEMP_FILE_NAME_PREFIX: &str = "temp-";

/// The kind of a file in the manifest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileType {
    /// `b`: the snapshot the incrs apply on.
    Base,
    /// `h`: obsolete after a rewrite, to delete.
    History,
    /// `i`: commands appended after the base.
    Incr,
}

impl FileType {
    /// The manifest letter.
    pub fn letter(self) -> char {
        match self {
            FileType::Base => 'b',
            FileType::History => 'h',
            FileType::Incr => 'i',
        }
    }

    fn from_byte(b: u8) -> Option<FileType> {
        match b {
            b'b' => Some(FileType::Base),
            b'h' => Some(FileType::History),
            b'i' => Some(FileType::Incr),
            _ => None,
        }
    }
}

/// One line of the manifest (Redis's `aofInfo`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AofInfo {
    /// A bare file name inside the AOF directory.
    pub file_name: String,
    pub file_seq: i64,
    pub file_type: FileType,
}

impl AofInfo {
    /// The manifest line, with its `\n` (Redis's `aofInfoFormat`): the
    /// name is quoted as `sdscatrepr` does when it needs it.
    pub fn format(&self, out: &mut String) {
        out.push_str("file ");
        let name = self.file_name.as_bytes();
        if needs_repr(name) {
            out.push_str(&repr(name));
        } else {
            out.push_str(&self.file_name);
        }
        out.push_str(" seq ");
        out.push_str(&self.file_seq.to_string());
        out.push_str(" type ");
        out.push(self.file_type.letter());
        out.push('\n');
    }
}

/// A manifest that cannot be read, with what Redis logs for it.
#[derive(Debug)]
pub struct ManifestError {
    /// Redis's message ("Invalid AOF manifest file format", ...).
    pub message: String,
    /// The 1-based line number and the (trimmed) line, when Redis shows it.
    pub line: Option<(usize, String)>,
    /// The I/O error behind an open or read failure.
    pub io: Option<io::Error>,
}

impl ManifestError {
    fn at(message: &str, linenum: usize, line: &str) -> ManifestError {
        ManifestError {
            message: message.to_string(),
            line: Some((linenum, line.to_string())),
            io: None,
        }
    }

    fn plain(message: &str) -> ManifestError {
        ManifestError {
            message: message.to_string(),
            line: None,
            io: None,
        }
    }

    /// The lines Redis logs (at warning level) before exiting.
    pub fn log_lines(&self) -> Vec<String> {
        let mut v = Vec::new();
        if self.io.is_some() && self.line.is_none() && self.message.starts_with("Fatal error") {
            v.push(self.message.clone());
            return v;
        }
        v.push("*** FATAL AOF MANIFEST FILE ERROR ***".to_string());
        if let Some((n, l)) = &self.line {
            v.push(format!("Reading the manifest file, at line {n}"));
            v.push(format!(">>> '{l}'"));
        }
        v.push(self.message.clone());
        v
    }
}

impl fmt::Display for ManifestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.line {
            Some((n, l)) => write!(f, "{} (manifest line {n}: '{l}')", self.message),
            None => f.write_str(&self.message),
        }
    }
}

impl std::error::Error for ManifestError {}

/// The AOF manifest (Redis's `aofManifest`) plus the `appendfilename` its
/// file names derive from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Manifest {
    /// `appendfilename` (e.g. `appendonly.aof`).
    pub aof_filename: String,
    pub base: Option<AofInfo>,
    /// INCR files, in load order.
    pub incrs: Vec<AofInfo>,
    pub history: Vec<AofInfo>,
    pub curr_base_file_seq: i64,
    pub curr_incr_file_seq: i64,
    /// Changed since the last successful persist.
    pub dirty: bool,
}

/// `{appendfilename}.manifest`.
pub fn manifest_file_name(aof_filename: &str) -> String {
    format!("{aof_filename}{MANIFEST_NAME_SUFFIX}")
}

/// `temp-{appendfilename}.manifest`, where the manifest is written before
/// its rename.
pub fn temp_manifest_file_name(aof_filename: &str) -> String {
    format!("{TEMP_FILE_NAME_PREFIX}{aof_filename}{MANIFEST_NAME_SUFFIX}")
}

/// `temp-{appendfilename}.incr`: the incr file used while AOF is being
/// turned on (Redis's `AOF_WAIT_REWRITE`), renamed into a real incr name
/// when the first rewrite completes.
pub fn temp_incr_file_name(aof_filename: &str) -> String {
    format!("{TEMP_FILE_NAME_PREFIX}{aof_filename}{INCR_FILE_SUFFIX}")
}

/// `temp-rewriteaof-bg-{pid}.aof`: where Redis's rewrite child writes the
/// new base before it is renamed (in the working directory, not the AOF
/// directory).
pub fn temp_rewrite_file_name(pid: u32) -> String {
    format!("temp-rewriteaof-bg-{pid}.aof")
}

impl Manifest {
    /// An empty manifest (no files), as Redis has when there is no AOF
    /// directory or manifest yet.
    pub fn new(aof_filename: &str) -> Manifest {
        Manifest {
            aof_filename: aof_filename.to_string(),
            base: None,
            incrs: Vec::new(),
            history: Vec::new(),
            curr_base_file_seq: 0,
            curr_incr_file_seq: 0,
            dirty: false,
        }
    }

    /// Loads `dir/{aof_filename}.manifest` (Redis's `aofLoadManifestFromDisk`):
    /// an empty manifest when the directory or the manifest does not exist,
    /// an error (Redis exits) when it cannot be read or parsed.
    pub fn load(dir: &Path, aof_filename: &str) -> Result<Manifest, ManifestError> {
        if !dir.is_dir() {
            return Ok(Manifest::new(aof_filename));
        }
        let path = dir.join(manifest_file_name(aof_filename));
        if !path.exists() {
            return Ok(Manifest::new(aof_filename));
        }
        Manifest::load_file(&path, aof_filename)
    }

    /// Reads and parses one manifest file (Redis's `aofLoadManifestFromFile`).
    pub fn load_file(path: &Path, aof_filename: &str) -> Result<Manifest, ManifestError> {
        let data = fs::read(path).map_err(|e| ManifestError {
            message: format!(
                "Fatal error: can't open the AOF manifest file {} for reading: {e}",
                path.display()
            ),
            line: None,
            io: Some(e),
        })?;
        Manifest::parse(&data, aof_filename)
    }

    /// Parses manifest contents with Redis's rules: lines are read as
    /// `fgets` with a 1025-byte buffer; `#` lines are comments; a line
    /// without `\n` (too long, or the last line unterminated) is an error;
    /// blank lines are errors; each line is split as `sdssplitargs` does
    /// into an even number (at least 6) of key/value words; `file`, `seq`
    /// and `type` (case-insensitive) are required, other keys ignored.
    pub fn parse(data: &[u8], aof_filename: &str) -> Result<Manifest, ManifestError> {
        let mut am = Manifest::new(aof_filename);
        let mut maxseq: i64 = 0;
        let mut linenum = 0usize;
        let mut pos = 0usize;
        loop {
            if pos >= data.len() {
                if linenum == 0 {
                    return Err(ManifestError::plain("Found an empty AOF manifest"));
                }
                break;
            }
            // fgets(buf, MANIFEST_MAX_LINE+1): at most 1024 bytes, up to and
            // including a '\n'.
            let limit = (pos + MANIFEST_MAX_LINE).min(data.len());
            let end = match data[pos..limit].iter().position(|&b| b == b'\n') {
                Some(i) => pos + i + 1,
                None => limit,
            };
            let mut chunk = &data[pos..end];
            pos = end;
            linenum += 1;
            // The C string stops at a NUL.
            if let Some(z) = chunk.iter().position(|&b| b == 0) {
                chunk = &chunk[..z];
            }
            if chunk.first() == Some(&b'#') {
                continue;
            }
            if !chunk.contains(&b'\n') {
                return Err(ManifestError::plain("The AOF manifest file contains too long line"));
            }
            let line = trim(chunk, b" \t\r\n");
            let shown = String::from_utf8_lossy(line).into_owned();
            if line.is_empty() {
                return Err(ManifestError::at("Invalid AOF manifest file format", linenum, &shown));
            }
            let argv = match split_args(line) {
                Some(a) if a.len() >= 6 && a.len() % 2 == 0 => a,
                _ => return Err(ManifestError::at("Invalid AOF manifest file format", linenum, &shown)),
            };
            let mut name: Option<Vec<u8>> = None;
            let mut seq: i64 = 0;
            let mut ftype: u8 = 0;
            for kv in argv.chunks_exact(2) {
                let (k, v) = (&kv[0], &kv[1]);
                if k.eq_ignore_ascii_case(b"file") {
                    if v.contains(&b'/') || v.contains(&b'\\') {
                        return Err(ManifestError::at(
                            "File can't be a path, just a filename",
                            linenum,
                            &shown,
                        ));
                    }
                    name = Some(v.clone());
                } else if k.eq_ignore_ascii_case(b"seq") {
                    seq = crate::util::c_atoll(v);
                } else if k.eq_ignore_ascii_case(b"type") {
                    ftype = v.first().copied().unwrap_or(0);
                }
            }
            let name = match name {
                Some(n) if !n.is_empty() && seq != 0 && ftype != 0 => n,
                _ => return Err(ManifestError::at("Invalid AOF manifest file format", linenum, &shown)),
            };
            let Ok(file_name) = String::from_utf8(name) else {
                // Redis takes any bytes; file names here are UTF-8.
                return Err(ManifestError::at("Invalid AOF manifest file format", linenum, &shown));
            };
            let Some(file_type) = FileType::from_byte(ftype) else {
                return Err(ManifestError::at("Unknown AOF file type", linenum, &shown));
            };
            let info = AofInfo {
                file_name,
                file_seq: seq,
                file_type,
            };
            match file_type {
                FileType::Base => {
                    if am.base.is_some() {
                        return Err(ManifestError::at(
                            "Found duplicate base file information",
                            linenum,
                            &shown,
                        ));
                    }
                    am.curr_base_file_seq = seq;
                    am.base = Some(info);
                }
                FileType::History => am.history.push(info),
                FileType::Incr => {
                    if seq <= maxseq {
                        return Err(ManifestError::at(
                            "Found a non-monotonic sequence number",
                            linenum,
                            &shown,
                        ));
                    }
                    am.curr_incr_file_seq = seq;
                    maxseq = seq;
                    am.incrs.push(info);
                }
            }
        }
        Ok(am)
    }

    /// No base and no incr: nothing to load.
    pub fn is_empty(&self) -> bool {
        self.base.is_none() && self.incrs.is_empty()
    }

    /// The manifest's text (Redis's `getAofManifestAsString`): base, then
    /// history, then incrs.
    pub fn to_text(&self) -> String {
        let mut s = String::new();
        if let Some(b) = &self.base {
            b.format(&mut s);
        }
        for h in &self.history {
            h.format(&mut s);
        }
        for i in &self.incrs {
            i.format(&mut s);
        }
        s
    }

    /// `{appendfilename}.manifest`.
    pub fn file_name(&self) -> String {
        manifest_file_name(&self.aof_filename)
    }

    /// The files to load, in order: the base (if any), then the incrs.
    pub fn files_to_load(&self) -> Vec<&AofInfo> {
        self.base.iter().chain(self.incrs.iter()).collect()
    }

    /// Redis's `getNewBaseFileNameAndMarkPreAsHistory`: the current base
    /// (if any) becomes the first history file, and a new base
    /// `{appendfilename}.{seq}.base.rdb` (`.base.aof` without the RDB
    /// preamble) takes its place. Returns the new base's name.
    pub fn new_base_file(&mut self, rdb_preamble: bool) -> String {
        if let Some(mut old) = self.base.take() {
            old.file_type = FileType::History;
            self.history.insert(0, old);
        }
        self.curr_base_file_seq += 1;
        let suffix = if rdb_preamble {
            RDB_FORMAT_SUFFIX
        } else {
            AOF_FORMAT_SUFFIX
        };
        let name = format!(
            "{}.{}{BASE_FILE_SUFFIX}{suffix}",
            self.aof_filename, self.curr_base_file_seq
        );
        self.base = Some(AofInfo {
            file_name: name.clone(),
            file_seq: self.curr_base_file_seq,
            file_type: FileType::Base,
        });
        self.dirty = true;
        name
    }

    /// Redis's `getNewIncrAofName`: appends a new incr
    /// `{appendfilename}.{seq}.incr.aof` and returns its name.
    pub fn new_incr_file(&mut self) -> String {
        self.curr_incr_file_seq += 1;
        let name = format!(
            "{}.{}{INCR_FILE_SUFFIX}{AOF_FORMAT_SUFFIX}",
            self.aof_filename, self.curr_incr_file_seq
        );
        self.incrs.push(AofInfo {
            file_name: name.clone(),
            file_seq: self.curr_incr_file_seq,
            file_type: FileType::Incr,
        });
        self.dirty = true;
        name
    }

    /// Redis's `getLastIncrAofName`: the last incr's name, or a new incr.
    pub fn last_incr_file_or_new(&mut self) -> String {
        match self.incrs.last() {
            Some(i) => i.file_name.clone(),
            None => self.new_incr_file(),
        }
    }

    /// Redis's `markRewrittenIncrAofAsHistory`: after a successful rewrite
    /// the incrs the new base covers become history. With `keep_last`
    /// (AOF is on: the last incr is the one being written) the last incr
    /// stays.
    pub fn mark_rewritten_incrs_as_history(&mut self, keep_last: bool) {
        if self.incrs.is_empty() {
            return;
        }
        let keep = if keep_last { self.incrs.pop() } else { None };
        // Redis walks from the tail adding each at the head of the history:
        // the history keeps the incrs' order.
        let moved: Vec<AofInfo> = self
            .incrs
            .drain(..)
            .map(|mut i| {
                i.file_type = FileType::History;
                i
            })
            .collect();
        self.history.splice(0..0, moved);
        self.incrs.extend(keep);
        self.dirty = true;
    }

    /// Writes the manifest into `dir` if it changed (Redis's
    /// `persistAofManifest`); clears `dirty` on success.
    pub fn persist(&mut self, dir: &Path) -> io::Result<()> {
        if !self.dirty {
            return Ok(());
        }
        write_manifest_file(dir, &self.aof_filename, &self.to_text())?;
        self.dirty = false;
        Ok(())
    }

    /// Redis's upgrade from a pre-7.0 single AOF (`loadAppendOnlyFiles`
    /// and `aofUpgradePrepare`): when `server_dir/{appendfilename}` exists
    /// and the AOF directory does not, or its manifest lists nothing, or it
    /// lists only that file as base and the file is not yet in the
    /// directory: creates the directory, makes the old file the base (seq
    /// 1), persists the manifest, then moves the file in. True if it did.
    /// Safe to retry after a crash at any step, as Redis's.
    pub fn upgrade_if_needed(&mut self, server_dir: &Path, aof_dir: &Path) -> io::Result<bool> {
        let old = server_dir.join(&self.aof_filename);
        if !old.is_file() {
            return Ok(false);
        }
        let needed = !aof_dir.is_dir()
            || self.is_empty()
            || (self.incrs.is_empty()
                && self.base.as_ref().is_some_and(|b| b.file_name == self.aof_filename)
                && !aof_dir.join(&self.aof_filename).exists());
        if !needed {
            return Ok(false);
        }
        fs::create_dir_all(aof_dir)
            .inspect_err(|e| tracing::warn!("Can't open or create append-only dir {}: {e}", aof_dir.display()))?;
        self.base = Some(AofInfo {
            file_name: self.aof_filename.clone(),
            file_seq: 1,
            file_type: FileType::Base,
        });
        self.curr_base_file_seq = 1;
        self.dirty = true;
        self.persist(aof_dir)?;
        fs::rename(&old, aof_dir.join(&self.aof_filename)).inspect_err(|e| {
            tracing::warn!(
                "Error trying to move the old AOF file {} into dir {}: {e}",
                self.aof_filename,
                aof_dir.display()
            )
        })?;
        tracing::info!(
            "Successfully migrated an old-style AOF file ({}) into the AOF directory ({}).",
            self.aof_filename,
            aof_dir.display()
        );
        Ok(true)
    }

    /// Redis's `aofDelHistoryFiles`: removes the history files (a missing
    /// file is not an error) and persists the manifest without them.
    /// Returns the names removed. Redis unlinks in a background thread;
    /// callers that care can run this off the hot path.
    pub fn delete_history(&mut self, dir: &Path) -> io::Result<Vec<String>> {
        if self.history.is_empty() {
            return Ok(Vec::new());
        }
        let mut removed = Vec::new();
        for h in self.history.drain(..) {
            tracing::info!("Removing the history file {} in the background", h.file_name);
            match fs::remove_file(dir.join(&h.file_name)) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => tracing::warn!("Failed to remove the history file {}: {e}", h.file_name),
            }
            removed.push(h.file_name);
        }
        self.dirty = true;
        self.persist(dir)?;
        Ok(removed)
    }

    /// The path of a file of this manifest.
    pub fn path_of(dir: &Path, info: &AofInfo) -> PathBuf {
        dir.join(&info.file_name)
    }
}

/// Redis's `writeAofManifestFile`: writes `temp-{aof}.manifest`, fsyncs it,
/// renames it over `{aof}.manifest` and fsyncs the directory. Logs as Redis
/// does on failure and returns the error.
pub fn write_manifest_file(dir: &Path, aof_filename: &str, text: &str) -> io::Result<()> {
    let am_name = manifest_file_name(aof_filename);
    let tmp_name = temp_manifest_file_name(aof_filename);
    let am_path = dir.join(&am_name);
    let tmp_path = dir.join(&tmp_name);
    let mut f = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .open(&tmp_path)
        .inspect_err(|e| tracing::warn!("Can't open the AOF manifest file {tmp_name}: {e}"))?;
    f.write_all(text.as_bytes())
        .inspect_err(|e| tracing::warn!("Error trying to write the temporary AOF manifest file {tmp_name}: {e}"))?;
    f.sync_all()
        .inspect_err(|e| tracing::warn!("Fail to fsync the temp AOF file {tmp_name}: {e}."))?;
    drop(f);
    fs::rename(&tmp_path, &am_path).inspect_err(|e| {
        tracing::warn!("Error trying to rename the temporary AOF manifest file {tmp_name} into {am_name}: {e}")
    })?;
    fsync_dir(dir).inspect_err(|e| tracing::warn!("Fail to fsync AOF directory {}: {e}.", am_path.display()))?;
    Ok(())
}

/// fsync of a directory, so renames and new files in it are durable.
pub fn fsync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// `sdsneedsrepr`: the name has a byte `sdscatrepr` would escape, or a
/// space; and, unlike Redis, a single quote (which `sdssplitargs` would
/// take as the start of a quoted word, so Redis cannot read back the
/// manifest it wrote for such a name).
fn needs_repr(s: &[u8]) -> bool {
    s.iter().any(|&c| {
        matches!(c, b'\\' | b'"' | b'\'' | b'\n' | b'\r' | b'\t' | 0x07 | 0x08)
            || !(0x20..=0x7e).contains(&c)
            || matches!(c, b' ' | 0x0b | 0x0c)
    })
}

/// `sdscatrepr`: a double-quoted, escaped form of `s`.
fn repr(s: &[u8]) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for &c in s {
        match c {
            b'\\' => out.push_str("\\\\"),
            b'"' => out.push_str("\\\""),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b'\t' => out.push_str("\\t"),
            0x07 => out.push_str("\\a"),
            0x08 => out.push_str("\\b"),
            0x20..=0x7e => out.push(c as char),
            _ => out.push_str(&format!("\\x{c:02x}")),
        }
    }
    out.push('"');
    out
}

fn trim<'a>(mut s: &'a [u8], set: &[u8]) -> &'a [u8] {
    while let Some((f, rest)) = s.split_first() {
        if set.contains(f) {
            s = rest;
        } else {
            break;
        }
    }
    while let Some((l, rest)) = s.split_last() {
        if set.contains(l) {
            s = rest;
        } else {
            break;
        }
    }
    s
}

fn is_c_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

fn hex_val(c: u8) -> Option<u8> {
    (c as char).to_digit(16).map(|d| d as u8)
}

/// `sdssplitargs`: words separated by spaces, with "double quotes" (and
/// `\n`, `\xHH`, ... escapes) and 'single quotes'. `None` for unbalanced
/// quotes or a closing quote followed by something other than a space.
pub fn split_args(line: &[u8]) -> Option<Vec<Vec<u8>>> {
    let at = |i: usize| line.get(i).copied().unwrap_or(0);
    let mut out = Vec::new();
    let mut p = 0usize;
    loop {
        while p < line.len() && is_c_space(line[p]) {
            p += 1;
        }
        if p >= line.len() {
            return Some(out);
        }
        let (mut inq, mut insq, mut done) = (false, false, false);
        let mut cur = Vec::new();
        while !done {
            let c = at(p);
            if inq {
                if c == b'\\' && at(p + 1) == b'x' && hex_val(at(p + 2)).is_some() && hex_val(at(p + 3)).is_some() {
                    let v = hex_val(at(p + 2)).unwrap_or(0) * 16 + hex_val(at(p + 3)).unwrap_or(0);
                    cur.push(v);
                    p += 3;
                } else if c == b'\\' && at(p + 1) != 0 {
                    p += 1;
                    cur.push(match at(p) {
                        b'n' => b'\n',
                        b'r' => b'\r',
                        b't' => b'\t',
                        b'b' => 0x08,
                        b'a' => 0x07,
                        o => o,
                    });
                } else if c == b'"' {
                    if at(p + 1) != 0 && !is_c_space(at(p + 1)) {
                        return None;
                    }
                    done = true;
                } else if c == 0 {
                    return None;
                } else {
                    cur.push(c);
                }
            } else if insq {
                if c == b'\\' && at(p + 1) == b'\'' {
                    p += 1;
                    cur.push(b'\'');
                } else if c == b'\'' {
                    if at(p + 1) != 0 && !is_c_space(at(p + 1)) {
                        return None;
                    }
                    done = true;
                } else if c == 0 {
                    return None;
                } else {
                    cur.push(c);
                }
            } else {
                match c {
                    b' ' | b'\n' | b'\r' | b'\t' | 0 => done = true,
                    b'"' => inq = true,
                    b'\'' => insq = true,
                    _ => cur.push(c),
                }
            }
            if p < line.len() {
                p += 1;
            }
        }
        out.push(cur);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<Manifest, ManifestError> {
        Manifest::parse(s.as_bytes(), "appendonly.aof")
    }

    fn err(s: &str) -> String {
        parse(s).err().map(|e| e.message).unwrap_or_default()
    }

    #[test]
    fn parses_redis_example() {
        let text = "file appendonly.aof.2.base.rdb seq 2 type b\n\
                    file appendonly.aof.1.incr.aof seq 1 type h\n\
                    file appendonly.aof.2.incr.aof seq 2 type h\n\
                    file appendonly.aof.3.incr.aof seq 3 type h\n\
                    file appendonly.aof.4.incr.aof seq 4 type i\n\
                    file appendonly.aof.5.incr.aof seq 5 type i\n";
        let m = parse(text).unwrap();
        assert_eq!(m.base.as_ref().unwrap().file_name, "appendonly.aof.2.base.rdb");
        assert_eq!(m.history.len(), 3);
        assert_eq!(m.incrs.len(), 2);
        assert_eq!(m.curr_base_file_seq, 2);
        assert_eq!(m.curr_incr_file_seq, 5);
        assert_eq!(m.to_text(), text);
        let names: Vec<&str> = m.files_to_load().iter().map(|i| i.file_name.as_str()).collect();
        assert_eq!(
            names,
            [
                "appendonly.aof.2.base.rdb",
                "appendonly.aof.4.incr.aof",
                "appendonly.aof.5.incr.aof"
            ]
        );
    }

    #[test]
    fn comments_unknown_keys_case_and_order() {
        let m = parse("# hello\nSEQ 3 TYPE i FILE x.aof extra 1\n").unwrap();
        assert_eq!(m.incrs[0].file_name, "x.aof");
        assert_eq!(m.incrs[0].file_seq, 3);
        // Only comments: an empty manifest, not an error.
        assert!(parse("# only\n").unwrap().is_empty());
    }

    #[test]
    fn errors_as_redis() {
        assert_eq!(err(""), "Found an empty AOF manifest");
        assert_eq!(err("\n"), "Invalid AOF manifest file format");
        assert_eq!(err("file a seq 1\n"), "Invalid AOF manifest file format");
        assert_eq!(err("file a seq 1 type\n"), "Invalid AOF manifest file format");
        assert_eq!(err("file a seq 0 type i\n"), "Invalid AOF manifest file format");
        assert_eq!(err("file a seq x type i\n"), "Invalid AOF manifest file format");
        assert_eq!(
            err("file a seq 1 type i"),
            "The AOF manifest file contains too long line"
        );
        assert_eq!(err("file a seq 1 type x\n"), "Unknown AOF file type");
        assert_eq!(err("file a/b seq 1 type i\n"), "File can't be a path, just a filename");
        assert_eq!(
            err("file a seq 1 type b\nfile b seq 2 type b\n"),
            "Found duplicate base file information"
        );
        assert_eq!(
            err("file a seq 2 type i\nfile b seq 2 type i\n"),
            "Found a non-monotonic sequence number"
        );
        assert_eq!(err("file \"a seq 1 type i\n"), "Invalid AOF manifest file format");
        let long = format!("file {} seq 1 type i\n", "a".repeat(1100));
        assert_eq!(err(&long), "The AOF manifest file contains too long line");
        let e = parse("file a seq 1 type i\nfile b seq 1 type i\n").unwrap_err();
        assert_eq!(e.line, Some((2, "file b seq 1 type i".to_string())));
        let lines = e.log_lines();
        assert_eq!(lines[0], "*** FATAL AOF MANIFEST FILE ERROR ***");
        assert_eq!(lines[1], "Reading the manifest file, at line 2");
        assert_eq!(lines[2], ">>> 'file b seq 1 type i'");
    }

    #[test]
    fn quoted_names_round_trip() {
        let mut m = Manifest::new("my file\t\"x\"\u{1}.aof");
        let name = m.new_incr_file();
        let text = m.to_text();
        assert_eq!(text, "file \"my file\\t\\\"x\\\"\\x01.aof.1.incr.aof\" seq 1 type i\n");
        let back = Manifest::parse(text.as_bytes(), &m.aof_filename).unwrap();
        assert_eq!(back.incrs[0].file_name, name);
        assert_eq!(
            split_args(b"a 'b c' \"d\\ne\"").unwrap(),
            vec![b"a".to_vec(), b"b c".to_vec(), b"d\ne".to_vec()]
        );
        assert!(split_args(b"\"a\"b").is_none());
        assert!(split_args(b"'a").is_none());
    }

    proptest::proptest! {
        /// Any UTF-8 `appendfilename` (no path separators) survives the
        /// manifest text, quoted or not, through a rewrite's changes.
        #[test]
        fn names_round_trip(name in "[^/\\\\]{1,60}", incrs in 0usize..4, rewrites in 0usize..3, rdb: bool) {
            let mut m = Manifest::new(&name);
            m.new_base_file(rdb);
            for _ in 0..incrs {
                m.new_incr_file();
            }
            for _ in 0..rewrites {
                m.new_incr_file();
                m.new_base_file(rdb);
                m.mark_rewritten_incrs_as_history(true);
            }
            let text = m.to_text();
            let mut back = Manifest::parse(text.as_bytes(), &name).map_err(|e| proptest::test_runner::TestCaseError::fail(e.to_string()))?;
            back.dirty = m.dirty;
            proptest::prop_assert_eq!(back, m);
        }
    }

    #[test]
    fn rewrite_lifecycle() {
        let mut m = Manifest::new("appendonly.aof");
        // Server start with an empty dataset: a base, then an incr.
        assert_eq!(m.new_base_file(true), "appendonly.aof.1.base.rdb");
        assert_eq!(m.last_incr_file_or_new(), "appendonly.aof.1.incr.aof");
        assert_eq!(m.last_incr_file_or_new(), "appendonly.aof.1.incr.aof");
        // BGREWRITEAOF: a new incr, then on success a new base; the old
        // base and incr become history.
        assert_eq!(m.new_incr_file(), "appendonly.aof.2.incr.aof");
        assert_eq!(m.new_base_file(false), "appendonly.aof.2.base.aof");
        m.mark_rewritten_incrs_as_history(true);
        assert_eq!(
            m.to_text(),
            "file appendonly.aof.2.base.aof seq 2 type b\n\
             file appendonly.aof.1.incr.aof seq 1 type h\n\
             file appendonly.aof.1.base.rdb seq 1 type h\n\
             file appendonly.aof.2.incr.aof seq 2 type i\n"
        );
        // Two incrs left behind by a failed rewrite, AOF off: all history.
        let mut m2 = m.clone();
        m2.new_incr_file();
        m2.mark_rewritten_incrs_as_history(false);
        assert!(m2.incrs.is_empty());
        // Redis adds the old base at the head of the history first, then
        // the rewritten incrs before it, in their order.
        let h: Vec<&str> = m2.history.iter().map(|i| i.file_name.as_str()).collect();
        assert_eq!(
            h,
            [
                "appendonly.aof.2.incr.aof",
                "appendonly.aof.3.incr.aof",
                "appendonly.aof.1.incr.aof",
                "appendonly.aof.1.base.rdb"
            ]
        );
    }

    #[test]
    fn upgrade_from_single_file() {
        let root = std::env::temp_dir().join(format!("larder-aof-upgrade-{}", std::process::id()));
        let _ = fs::remove_dir_all(&root);
        fs::create_dir_all(&root).unwrap();
        let aofdir = root.join("appendonlydir");
        let mut m = Manifest::load(&aofdir, "appendonly.aof").unwrap();
        assert!(!m.upgrade_if_needed(&root, &aofdir).unwrap());
        fs::write(root.join("appendonly.aof"), b"*1\r\n$4\r\nping\r\n").unwrap();
        assert!(m.upgrade_if_needed(&root, &aofdir).unwrap());
        assert!(!root.join("appendonly.aof").exists());
        assert!(aofdir.join("appendonly.aof").exists());
        let back = Manifest::load(&aofdir, "appendonly.aof").unwrap();
        assert_eq!(back.to_text(), "file appendonly.aof seq 1 type b\n");
        // Done: nothing more to do.
        let mut back = back;
        assert!(!back.upgrade_if_needed(&root, &aofdir).unwrap());
        fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn persist_load_and_delete_history() {
        let dir = std::env::temp_dir().join(format!("larder-aof-manifest-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        // No directory: an empty manifest.
        assert!(Manifest::load(&dir, "appendonly.aof").unwrap().is_empty());
        fs::create_dir_all(&dir).unwrap();
        assert!(Manifest::load(&dir, "appendonly.aof").unwrap().is_empty());
        let mut m = Manifest::new("appendonly.aof");
        let b1 = m.new_base_file(true);
        let i1 = m.new_incr_file();
        m.persist(&dir).unwrap();
        assert!(!m.dirty);
        assert!(!dir.join("temp-appendonly.aof.manifest").exists());
        assert_eq!(Manifest::load(&dir, "appendonly.aof").unwrap(), m);
        fs::write(dir.join(&b1), b"x").unwrap();
        fs::write(dir.join(&i1), b"y").unwrap();
        m.new_incr_file();
        m.new_base_file(true);
        m.mark_rewritten_incrs_as_history(true);
        m.persist(&dir).unwrap();
        let removed = m.delete_history(&dir).unwrap();
        assert_eq!(removed, vec![i1.clone(), b1.clone()]);
        assert!(!dir.join(&b1).exists() && !dir.join(&i1).exists());
        let back = Manifest::load(&dir, "appendonly.aof").unwrap();
        assert!(back.history.is_empty());
        assert_eq!(back, m);
        fs::remove_dir_all(&dir).unwrap();
    }
}
