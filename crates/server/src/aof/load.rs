//! Reading AOF files: Redis's `loadSingleAppendOnlyFile` and
//! `loadAppendOnlyFiles`, without executing anything.
//!
//! - [`CommandReader`] parses an AOF stream (RESP multibulk arrays,
//!   `#...` annotation lines such as `#TS:<unix>` skipped) one command at a
//!   time, with Redis's `fgets`-based rules: a line that should start a
//!   command or an argument and does not is a format error, a stream that
//!   ends inside a command is truncated. It reads in bounded chunks: an
//!   argument's declared length is never allocated before its bytes exist.
//!   It also implements [`Read`], so an RDB base (or an old RDB-preamble
//!   AOF) can be read through it and the AOF tail continues after it.
//! - [`load_single_file`] loads one file into a [`LoadSink`] (the caller:
//!   `rdb` gets an RDB base for the engine's `rdb::read_file`, `command`
//!   gets each command's argv to run as Redis's AOF fake client would), and
//!   handles truncation (`aof-load-truncated`) and an unterminated
//!   MULTI/EXEC as Redis does, logging Redis's messages.
//! - [`load_files`] loads what a [`Manifest`] lists: the base, then the
//!   incrs; only the last file may be truncated.

use std::fs::{self, File};
use std::io::{self, Read};
use std::path::Path;
use std::time::Instant;

use super::manifest::Manifest;

/// Redis's `AOF_ANNOTATION_LINE_MAX_LEN`: the `fgets` buffer for protocol
/// lines (so lines are read in pieces of at most 1023 bytes).
pub const AOF_ANNOTATION_LINE_MAX_LEN: usize = 1024;

const CHUNK: usize = 64 * 1024;

/// One command read from an AOF stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Command {
    pub argv: Vec<Vec<u8>>,
    /// Offset just after the command's last byte.
    pub end: u64,
}

/// Why a stream stopped before its end.
#[derive(Debug)]
pub enum ReadError {
    /// A line that should start a command (`*`) or an argument (`$`) does
    /// not; `offset` is where the bad line starts. Redis: "Bad file format
    /// reading the append only file".
    Format { offset: u64 },
    /// The stream ends inside a command (Redis's unexpected EOF).
    Truncated,
    /// An I/O error other than the end of the stream.
    Io(io::Error),
}

impl From<io::Error> for ReadError {
    fn from(e: io::Error) -> ReadError {
        ReadError::Io(e)
    }
}

/// A buffered, position-counting reader of AOF commands.
pub struct CommandReader<R> {
    inner: R,
    buf: Vec<u8>,
    start: usize,
    end: usize,
    /// Bytes consumed from the start of the stream.
    pos: u64,
    eof: bool,
    /// The iterator stopped at an error.
    failed: bool,
}

impl<R: Read> CommandReader<R> {
    pub fn new(inner: R) -> CommandReader<R> {
        CommandReader {
            inner,
            buf: vec![0; CHUNK],
            start: 0,
            end: 0,
            pos: 0,
            eof: false,
            failed: false,
        }
    }

    /// Bytes consumed so far (the offset of the next byte).
    pub fn position(&self) -> u64 {
        self.pos
    }

    /// Makes sure some bytes are buffered unless at the end; the number
    /// buffered.
    fn fill(&mut self) -> io::Result<usize> {
        if self.start == self.end && !self.eof {
            self.start = 0;
            self.end = 0;
            loop {
                match self.inner.read(&mut self.buf) {
                    Ok(0) => {
                        self.eof = true;
                        break;
                    }
                    Ok(n) => {
                        self.end = n;
                        break;
                    }
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) => return Err(e),
                }
            }
        }
        Ok(self.end - self.start)
    }

    fn consume(&mut self, n: usize) {
        self.start += n;
        self.pos += n as u64;
    }

    /// The first `n` bytes of what is left (fewer at the end), without
    /// consuming them. `n` must be small (at most the chunk size).
    pub fn peek(&mut self, n: usize) -> io::Result<&[u8]> {
        let n = n.min(CHUNK);
        if self.end - self.start < n && !self.eof {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
            while self.end < n && !self.eof {
                match self.inner.read(&mut self.buf[self.end..]) {
                    Ok(0) => self.eof = true,
                    Ok(k) => self.end += k,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => return Err(e),
                }
            }
        }
        let have = (self.end - self.start).min(n);
        Ok(&self.buf[self.start..self.start + have])
    }

    /// `fgets(buf, AOF_ANNOTATION_LINE_MAX_LEN)`: up to 1023 bytes, ending
    /// after a `\n` if one comes first. `None` at the end of the stream.
    fn fgets(&mut self, line: &mut Vec<u8>) -> io::Result<bool> {
        line.clear();
        let max = AOF_ANNOTATION_LINE_MAX_LEN - 1;
        while line.len() < max {
            if self.fill()? == 0 {
                break;
            }
            let avail = &self.buf[self.start..self.end];
            let want = (max - line.len()).min(avail.len());
            match avail[..want].iter().position(|&b| b == b'\n') {
                Some(i) => {
                    line.extend_from_slice(&avail[..=i]);
                    self.consume(i + 1);
                    return Ok(true);
                }
                None => {
                    line.extend_from_slice(&avail[..want]);
                    self.consume(want);
                }
            }
        }
        Ok(!line.is_empty())
    }

    /// Reads exactly `n` bytes into `out` (growing it as bytes arrive);
    /// false if the stream ends first.
    fn read_exact_into(&mut self, mut n: u64, out: &mut Vec<u8>) -> io::Result<bool> {
        while n > 0 {
            let avail = self.fill()?;
            if avail == 0 {
                return Ok(false);
            }
            let take = avail.min(usize::try_from(n).unwrap_or(usize::MAX));
            out.extend_from_slice(&self.buf[self.start..self.start + take]);
            self.consume(take);
            n -= take as u64;
        }
        Ok(true)
    }

    /// The next command, `None` at a clean end of the stream.
    pub fn next_command(&mut self) -> Result<Option<Command>, ReadError> {
        let mut line = Vec::with_capacity(64);
        loop {
            let line_start = self.pos;
            if !self.fgets(&mut line)? {
                return Ok(None);
            }
            if line[0] == b'#' {
                continue;
            }
            if line[0] != b'*' {
                return Err(ReadError::Format { offset: line_start });
            }
            if line.len() == 1 {
                // "*" and then the end of the file.
                return Err(ReadError::Truncated);
            }
            let argc = crate::util::c_atoll(&line[1..]);
            if argc < 1 {
                return Err(ReadError::Format { offset: line_start });
            }
            let mut argv = Vec::with_capacity(usize::try_from(argc).unwrap_or(0).min(1024));
            for _ in 0..argc {
                let arg_start = self.pos;
                if !self.fgets(&mut line)? {
                    return Err(ReadError::Truncated);
                }
                if line[0] != b'$' {
                    return Err(ReadError::Format { offset: arg_start });
                }
                let len = crate::util::c_atoll(&line[1..]);
                // Redis would try to allocate (unsigned long)len and abort.
                let Ok(len) = u64::try_from(len) else {
                    return Err(ReadError::Format { offset: arg_start });
                };
                let mut arg = Vec::with_capacity(usize::try_from(len).unwrap_or(0).min(CHUNK));
                if !self.read_exact_into(len, &mut arg)? {
                    return Err(ReadError::Truncated);
                }
                // The CRLF is discarded unchecked, as Redis does.
                let mut crlf = Vec::with_capacity(2);
                if !self.read_exact_into(2, &mut crlf)? {
                    return Err(ReadError::Truncated);
                }
                argv.push(arg);
            }
            return Ok(Some(Command { argv, end: self.pos }));
        }
    }
}

/// Commands until the end of the stream or the first error.
impl<R: Read> Iterator for CommandReader<R> {
    type Item = Result<Command, ReadError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        let r = self.next_command().transpose();
        self.failed = matches!(r, Some(Err(_)));
        r
    }
}

impl<R: Read> Read for CommandReader<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let avail = self.fill()?;
        let n = avail.min(out.len());
        out[..n].copy_from_slice(&self.buf[self.start..self.start + n]);
        self.consume(n);
        Ok(n)
    }
}

/// What the loader feeds: the caller executes (Redis's AOF fake client).
pub trait LoadSink {
    type Error;

    /// An RDB base file (or an old-style RDB preamble), positioned at its
    /// `REDIS` signature: read it with the engine's `rdb::read_file` (which
    /// reads exactly the RDB's bytes, so an AOF tail after it continues).
    fn rdb(&mut self, file_name: &str, r: &mut dyn Read) -> Result<(), Self::Error>;

    /// One command (`cmd.end`: its end offset in the file, for loading
    /// progress). Between `MULTI` and `EXEC` the sink must queue (as
    /// Redis's fake client does) and apply at `EXEC`: a file ending inside
    /// a transaction has it reverted. An unknown command is the sink's to
    /// refuse; Redis logs "Unknown command '%s' reading the append only
    /// file %s" and fails the load.
    fn command(&mut self, file_name: &str, cmd: Command) -> Result<(), Self::Error>;
}

/// `aof-load-truncated` and friends.
#[derive(Debug, Clone, Copy)]
pub struct LoadOptions {
    /// `aof-load-truncated yes`: a truncated file is cut at its last
    /// complete command and loading goes on (if it is the last file).
    pub load_truncated: bool,
}

impl Default for LoadOptions {
    fn default() -> LoadOptions {
        LoadOptions { load_truncated: true }
    }
}

/// How one file loaded (Redis's `AOF_OK`, `AOF_EMPTY`, `AOF_TRUNCATED`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileStatus {
    Ok,
    /// A zero-length file.
    Empty,
    /// Ended inside a command (or an unterminated MULTI) and, with
    /// `aof-load-truncated yes`, was cut at `valid_up_to`.
    Truncated {
        valid_up_to: u64,
    },
}

/// A failed load (Redis's `AOF_OPEN_ERR`, `AOF_NOT_EXIST`, `AOF_FAILED`).
#[derive(Debug, thiserror::Error)]
pub enum LoadError<E: std::fmt::Debug> {
    #[error("The append log file {name} doesn't exist")]
    NotExist { name: String },
    #[error("Fatal error: can't open the append log file {name} for reading: {source}")]
    Open { name: String, source: io::Error },
    #[error("Unable to obtain the AOF file {name} length. stat: {source}")]
    Stat { name: String, source: io::Error },
    #[error("Error reading the RDB base file {name}, AOF loading aborted")]
    Rdb { name: String, error: E },
    #[error("Bad file format reading the append only file {name}: make a backup of your AOF file, then use ./redis-check-aof --fix <filename.manifest>")]
    Format { name: String, offset: u64 },
    #[error("Unrecoverable error reading the append only file {name}: {source}")]
    Io { name: String, source: io::Error },
    #[error("Unexpected end of file reading the append only file {name}. You can: 1) Make a backup of your AOF file, then use ./redis-check-aof --fix <filename.manifest>. 2) Alternatively you can set the 'aof-load-truncated' configuration option to yes and restart the server.")]
    UnexpectedEof { name: String, valid_up_to: u64 },
    #[error("Fatal error: the truncated file is not the last file")]
    TruncatedNotLast { name: String },
    /// The sink refused a command (e.g. Redis's "Unknown command '%s'
    /// reading the append only file %s").
    #[error("{error:?}")]
    Sink { name: String, error: E },
}

/// Loads `dir/name` into `sink` (Redis's `loadSingleAppendOnlyFile`).
///
/// A file ending inside a command, or inside MULTI/EXEC ("Revert
/// incomplete MULTI/EXEC transaction in AOF file ..."), is truncated: with
/// `load_truncated` the file is cut (`truncate(2)`) at the end of the last
/// complete command (before the MULTI) and `Truncated` returned, else
/// `UnexpectedEof`.
pub fn load_single_file<S: LoadSink>(
    dir: &Path,
    name: &str,
    opts: LoadOptions,
    sink: &mut S,
) -> Result<FileStatus, LoadError<S::Error>>
where
    S::Error: std::fmt::Debug,
{
    load_one(dir, name, false, opts, sink)
}

/// `old_style`: the file is a pre-7.0 single AOF (named `appendfilename`,
/// moved into the directory by [`Manifest::upgrade_if_needed`]), whose
/// RDB preamble is followed by an AOF tail; only the log lines differ.
fn load_one<S: LoadSink>(
    dir: &Path,
    name: &str,
    old_style: bool,
    opts: LoadOptions,
    sink: &mut S,
) -> Result<FileStatus, LoadError<S::Error>>
where
    S::Error: std::fmt::Debug,
{
    let path = dir.join(name);
    let file = match File::open(&path) {
        Ok(f) => f,
        Err(e) => {
            if e.kind() == io::ErrorKind::NotFound {
                tracing::warn!("The append log file {name} doesn't exist: {e}");
                return Err(LoadError::NotExist { name: name.to_string() });
            }
            tracing::warn!("Fatal error: can't open the append log file {name} for reading: {e}");
            return Err(LoadError::Open {
                name: name.to_string(),
                source: e,
            });
        }
    };
    if file.metadata().map(|m| m.len() == 0).unwrap_or(false) {
        return Ok(FileStatus::Empty);
    }
    let mut r = CommandReader::new(file);
    let io_err = |e: io::Error| {
        tracing::warn!("Unrecoverable error reading the append only file {name}: {e}");
        LoadError::Io {
            name: name.to_string(),
            source: e,
        }
    };
    if r.peek(5).map_err(io_err)? == b"REDIS" {
        if old_style {
            tracing::info!("Reading RDB preamble from AOF file...");
        } else {
            tracing::info!("Reading RDB base file on AOF loading...");
        }
        if let Err(e) = sink.rdb(name, &mut r) {
            if old_style {
                tracing::warn!("Error reading the RDB preamble of the AOF file {name}, AOF loading aborted");
            } else {
                tracing::warn!("Error reading the RDB base file {name}, AOF loading aborted");
            }
            return Err(LoadError::Rdb {
                name: name.to_string(),
                error: e,
            });
        }
        if old_style {
            tracing::info!("Reading the remaining AOF tail...");
        }
    }
    let mut valid_up_to = r.position();
    let mut valid_before_multi = valid_up_to;
    let mut in_multi = false;
    let truncated = loop {
        match r.next_command() {
            Ok(Some(cmd)) => {
                let first = cmd.argv.first().map(Vec::as_slice).unwrap_or(b"");
                if first.eq_ignore_ascii_case(b"multi") {
                    valid_before_multi = valid_up_to;
                    in_multi = true;
                } else if first.eq_ignore_ascii_case(b"exec") {
                    in_multi = false;
                }
                let end = cmd.end;
                sink.command(name, cmd).map_err(|e| LoadError::Sink {
                    name: name.to_string(),
                    error: e,
                })?;
                valid_up_to = end;
            }
            Ok(None) => {
                if in_multi {
                    tracing::warn!("Revert incomplete MULTI/EXEC transaction in AOF file {name}");
                    valid_up_to = valid_before_multi;
                    break true;
                }
                break false;
            }
            Err(ReadError::Truncated) => {
                // Redis cuts at the last complete command even inside a
                // MULTI, which leaves a MULTI without EXEC in the file:
                // whatever is appended after it is queued in that
                // transaction at the next load and reverted with it,
                // acknowledged writes included. Cut before the MULTI, as
                // `redis-check-aof --fix` does (the loaded data is the
                // same: the queued commands never ran).
                if in_multi {
                    tracing::warn!("Revert incomplete MULTI/EXEC transaction in AOF file {name}");
                    valid_up_to = valid_before_multi;
                }
                break true;
            }
            Err(ReadError::Format { offset }) => {
                tracing::warn!(
                    "Bad file format reading the append only file {name}: make a backup of your AOF file, then use ./redis-check-aof --fix <filename.manifest>"
                );
                return Err(LoadError::Format {
                    name: name.to_string(),
                    offset,
                });
            }
            Err(ReadError::Io(e)) => return Err(io_err(e)),
        }
    };
    if !truncated {
        return Ok(FileStatus::Ok);
    }
    if opts.load_truncated {
        tracing::warn!("!!! Warning: short read while loading the AOF file {name}!!!");
        tracing::warn!("!!! Truncating the AOF {name} at offset {valid_up_to} !!!");
        let cut = fs::OpenOptions::new()
            .write(true)
            .open(&path)
            .and_then(|f| f.set_len(valid_up_to));
        match cut {
            Ok(()) => {
                tracing::warn!("AOF {name} loaded anyway because aof-load-truncated is enabled");
                return Ok(FileStatus::Truncated { valid_up_to });
            }
            Err(e) => tracing::warn!("Error truncating the AOF file {name}: {e}"),
        }
    }
    tracing::warn!(
        "Unexpected end of file reading the append only file {name}. You can: 1) Make a backup of your AOF file, then use ./redis-check-aof --fix <filename.manifest>. 2) Alternatively you can set the 'aof-load-truncated' configuration option to yes and restart the server."
    );
    Err(LoadError::UnexpectedEof {
        name: name.to_string(),
        valid_up_to,
    })
}

/// The outcome of [`load_files`] (Redis's `loadAppendOnlyFiles`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoadStatus {
    /// Everything loaded.
    Ok,
    /// The last file was truncated (and cut) at its last complete command.
    Truncated,
    /// The manifest lists no base and no incr: there is no AOF.
    NotExist,
    /// All the files are empty.
    Empty,
}

/// What [`load_files`] reports; the sizes seed the writer's counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoadSummary {
    pub status: LoadStatus,
    /// Sum of the base and incr file sizes before loading
    /// (`aof_current_size`).
    pub total_size: u64,
    /// The base file's size (`aof_rewrite_base_size` / `aof_base_size`).
    pub base_size: u64,
}

/// Loads the base and incr files `manifest` lists, in order. Every file
/// must exist; only the last may be truncated.
pub fn load_files<S: LoadSink>(
    dir: &Path,
    manifest: &Manifest,
    opts: LoadOptions,
    sink: &mut S,
) -> Result<LoadSummary, LoadError<S::Error>>
where
    S::Error: std::fmt::Debug,
{
    let files = manifest.files_to_load();
    if files.is_empty() {
        return Ok(LoadSummary {
            status: LoadStatus::NotExist,
            total_size: 0,
            base_size: 0,
        });
    }
    let mut total_size = 0u64;
    for f in &files {
        match fs::metadata(dir.join(&f.file_name)) {
            Ok(m) => total_size += m.len(),
            Err(e) => {
                tracing::warn!("Unable to obtain the AOF file {} length. stat: {e}", f.file_name);
                return Err(LoadError::Stat {
                    name: f.file_name.clone(),
                    source: e,
                });
            }
        }
    }
    if total_size == 0 {
        return Ok(LoadSummary {
            status: LoadStatus::Empty,
            total_size: 0,
            base_size: 0,
        });
    }
    let mut base_size = 0;
    let mut status = LoadStatus::Ok;
    let n = files.len();
    for (i, f) in files.iter().enumerate() {
        let last = i + 1 == n;
        let is_base = manifest.base.as_ref().is_some_and(|b| std::ptr::eq(b, *f));
        if is_base {
            base_size = fs::metadata(dir.join(&f.file_name)).map(|m| m.len()).unwrap_or(0);
        }
        let start = Instant::now();
        let old_style = f.file_name == manifest.aof_filename;
        let st = load_one(dir, &f.file_name, old_style, opts, sink)?;
        if st == FileStatus::Ok || (matches!(st, FileStatus::Truncated { .. }) && last) {
            tracing::info!(
                "DB loaded from {} file {}: {:.3} seconds",
                if is_base { "base" } else { "incr" },
                f.file_name,
                start.elapsed().as_secs_f32()
            );
        }
        if let FileStatus::Truncated { .. } = st {
            if !last {
                tracing::warn!("Fatal error: the truncated file is not the last file");
                return Err(LoadError::TruncatedNotLast {
                    name: f.file_name.clone(),
                });
            }
            status = LoadStatus::Truncated;
        }
    }
    Ok(LoadSummary {
        status,
        total_size,
        base_size,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cmds(data: &[u8]) -> (Vec<Vec<Vec<u8>>>, Result<(), String>) {
        let mut r = CommandReader::new(data);
        let mut v = Vec::new();
        loop {
            match r.next_command() {
                Ok(Some(c)) => v.push(c.argv),
                Ok(None) => return (v, Ok(())),
                Err(ReadError::Truncated) => return (v, Err("truncated".into())),
                Err(ReadError::Format { offset }) => return (v, Err(format!("format@{offset}"))),
                Err(ReadError::Io(e)) => return (v, Err(e.to_string())),
            }
        }
    }

    fn argv(a: &[&str]) -> Vec<Vec<u8>> {
        a.iter().map(|s| s.as_bytes().to_vec()).collect()
    }

    const TWO: &[u8] = b"*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n*3\r\n$3\r\nset\r\n$1\r\nk\r\n$1\r\nv\r\n";

    #[test]
    fn reads_commands_and_offsets() {
        let mut r = CommandReader::new(TWO);
        let a = r.next_command().unwrap().unwrap();
        assert_eq!(a.argv, argv(&["SELECT", "0"]));
        assert_eq!(a.end, 23);
        let b = r.next_command().unwrap().unwrap();
        assert_eq!(b.argv, argv(&["set", "k", "v"]));
        assert_eq!(b.end, TWO.len() as u64);
        assert!(r.next_command().unwrap().is_none());
    }

    #[test]
    fn annotations_skipped() {
        let mut d = b"#TS:1700000000\r\n".to_vec();
        d.extend_from_slice(TWO);
        d.extend_from_slice(b"#TS:1700000001\r\n");
        let (v, r) = cmds(&d);
        assert_eq!(v.len(), 2);
        assert!(r.is_ok());
    }

    #[test]
    fn every_truncation_point_is_truncated_never_format() {
        for cut in 1..TWO.len() {
            let (v, r) = cmds(&TWO[..cut]);
            if cut == 23 {
                assert!(r.is_ok(), "cut {cut}");
                assert_eq!(v.len(), 1);
            } else {
                assert_eq!(r, Err("truncated".to_string()), "cut {cut}");
                assert_eq!(v.len(), usize::from(cut > 23), "cut {cut}");
            }
        }
    }

    #[test]
    fn format_errors() {
        assert_eq!(cmds(b"set k v\r\n").1, Err("format@0".into()));
        assert_eq!(cmds(b"*0\r\n").1, Err("format@0".into()));
        assert_eq!(cmds(b"*-1\r\n").1, Err("format@0".into()));
        let mut d = TWO.to_vec();
        d.extend_from_slice(b"*1\r\n+OK\r\n");
        let (v, r) = cmds(&d);
        assert_eq!(v.len(), 2);
        assert_eq!(r, Err(format!("format@{}", TWO.len() + 4)));
        assert_eq!(cmds(b"*1\r\n$-5\r\n").1, Err("format@4".into()));
    }

    #[test]
    fn huge_declared_lengths_do_not_allocate() {
        // A declared 2^62-byte argument and 2^31 arguments: truncated, no
        // allocation by the declared size.
        assert_eq!(cmds(b"*1\r\n$4611686018427387904\r\nabc").1, Err("truncated".into()));
        assert_eq!(cmds(b"*2147483647\r\n$1\r\na\r\n").1, Err("truncated".into()));
    }

    #[test]
    fn binary_and_long_arguments() {
        let big = vec![b'x'; 200_000];
        let mut d = format!("*2\r\n$3\r\nset\r\n${}\r\n", big.len()).into_bytes();
        d.extend_from_slice(&big);
        d.extend_from_slice(b"\r\n*1\r\n$3\r\na\nb\r\n");
        let (v, r) = cmds(&d);
        assert!(r.is_ok());
        assert_eq!(v[0][1], big);
        assert_eq!(v[1][0], b"a\nb");
    }

    proptest::proptest! {
        /// Encoded commands read back; cut anywhere, the commands before
        /// the cut come back and the rest is "truncated", never a format
        /// error.
        #[test]
        fn encode_read_and_cut(
            cmds in proptest::collection::vec(
                proptest::collection::vec(proptest::collection::vec(proptest::num::u8::ANY, 0..40), 1..5),
                1..8,
            ),
            cut in proptest::num::usize::ANY,
        ) {
            let mut data = Vec::new();
            let mut ends = Vec::new();
            for c in &cmds {
                crate::aof::writer::encode_command(&mut data, c);
                ends.push(data.len() as u64);
            }
            let all: Vec<Command> = CommandReader::new(&data[..]).map(Result::unwrap).collect();
            proptest::prop_assert_eq!(all.iter().map(|c| c.argv.clone()).collect::<Vec<_>>(), cmds.clone());
            proptest::prop_assert_eq!(all.iter().map(|c| c.end).collect::<Vec<_>>(), ends.clone());
            let cut = cut % data.len();
            let it = CommandReader::new(&data[..cut]);
            let mut n = 0;
            let mut last = None;
            for r in it {
                match r {
                    Ok(c) => {
                        proptest::prop_assert_eq!(&c.argv, &cmds[n]);
                        n += 1;
                    }
                    Err(e) => last = Some(e),
                }
            }
            let complete = ends.iter().filter(|&&e| e <= cut as u64).count();
            proptest::prop_assert_eq!(n, complete);
            let at_boundary = cut == 0 || ends.contains(&(cut as u64));
            proptest::prop_assert_eq!(last.is_none(), at_boundary);
            if let Some(e) = last {
                proptest::prop_assert!(matches!(e, ReadError::Truncated), "{:?}", e);
            }
        }
    }

    struct Collect {
        rdb: Vec<u8>,
        cmds: Vec<Vec<Vec<u8>>>,
    }

    impl LoadSink for Collect {
        type Error = String;
        fn rdb(&mut self, _: &str, r: &mut dyn Read) -> Result<(), String> {
            // Pretend the RDB is 9 bytes long.
            let mut b = [0u8; 9];
            r.read_exact(&mut b).map_err(|e| e.to_string())?;
            self.rdb = b.to_vec();
            Ok(())
        }
        fn command(&mut self, _: &str, cmd: Command) -> Result<(), String> {
            let argv = cmd.argv;
            if argv[0] == b"boom" {
                return Err("Unknown command 'boom'".into());
            }
            self.cmds.push(argv);
            Ok(())
        }
    }

    fn tmpdir(tag: &str) -> std::path::PathBuf {
        let d = std::env::temp_dir().join(format!("larder-aof-load-{tag}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&d);
        fs::create_dir_all(&d).unwrap();
        d
    }

    fn sink() -> Collect {
        Collect {
            rdb: Vec::new(),
            cmds: Vec::new(),
        }
    }

    #[test]
    fn single_file_rdb_then_tail_and_truncation() {
        let dir = tmpdir("single");
        let mut d = b"REDIS0010".to_vec();
        d.extend_from_slice(TWO);
        fs::write(dir.join("a"), &d).unwrap();
        let mut s = sink();
        let st = load_single_file(&dir, "a", LoadOptions::default(), &mut s).unwrap();
        assert_eq!(st, FileStatus::Ok);
        assert_eq!(s.rdb, b"REDIS0010");
        assert_eq!(s.cmds.len(), 2);

        // Truncated tail: cut at the last complete command.
        let mut d = TWO.to_vec();
        d.extend_from_slice(b"*2\r\n$3\r\ndel\r\n$1");
        fs::write(dir.join("b"), &d).unwrap();
        let no = LoadOptions { load_truncated: false };
        let e = load_single_file(&dir, "b", no, &mut sink()).unwrap_err();
        assert!(matches!(e, LoadError::UnexpectedEof { valid_up_to, .. } if valid_up_to == TWO.len() as u64));
        assert_eq!(fs::metadata(dir.join("b")).unwrap().len(), d.len() as u64);
        let mut s = sink();
        let st = load_single_file(&dir, "b", LoadOptions::default(), &mut s).unwrap();
        assert_eq!(
            st,
            FileStatus::Truncated {
                valid_up_to: TWO.len() as u64
            }
        );
        assert_eq!(fs::read(dir.join("b")).unwrap(), TWO);

        // Unterminated MULTI: reverted to before the MULTI.
        let mut d = TWO.to_vec();
        d.extend_from_slice(b"*1\r\n$5\r\nMULTI\r\n*2\r\n$4\r\nincr\r\n$1\r\nx\r\n");
        fs::write(dir.join("c"), &d).unwrap();
        let st = load_single_file(&dir, "c", LoadOptions::default(), &mut sink()).unwrap();
        assert_eq!(
            st,
            FileStatus::Truncated {
                valid_up_to: TWO.len() as u64
            }
        );
        assert_eq!(fs::read(dir.join("c")).unwrap(), TWO);

        // A command cut inside a MULTI: also cut before the MULTI (Redis
        // would keep the MULTI and swallow what is appended after it).
        let mut d = TWO.to_vec();
        d.extend_from_slice(b"*1\r\n$5\r\nMULTI\r\n*2\r\n$4\r\nincr\r\n$1\r\nx\r\n*2\r\n$4\r\nin");
        fs::write(dir.join("c2"), &d).unwrap();
        let e = load_single_file(&dir, "c2", no, &mut sink()).unwrap_err();
        assert!(matches!(e, LoadError::UnexpectedEof { valid_up_to, .. } if valid_up_to == TWO.len() as u64));
        let mut s = sink();
        let st = load_single_file(&dir, "c2", LoadOptions::default(), &mut s).unwrap();
        assert_eq!(
            st,
            FileStatus::Truncated {
                valid_up_to: TWO.len() as u64
            }
        );
        assert_eq!(fs::read(dir.join("c2")).unwrap(), TWO);

        // Format error, missing, empty, sink error.
        fs::write(dir.join("d"), b"*1\r\n$4\r\nping\r\nxx\r\n").unwrap();
        let e = load_single_file(&dir, "d", LoadOptions::default(), &mut sink()).unwrap_err();
        assert!(matches!(e, LoadError::Format { offset: 14, .. }));
        assert!(e
            .to_string()
            .starts_with("Bad file format reading the append only file d"));
        let e = load_single_file(&dir, "nope", LoadOptions::default(), &mut sink()).unwrap_err();
        assert!(matches!(e, LoadError::NotExist { .. }));
        fs::write(dir.join("e"), b"").unwrap();
        assert_eq!(
            load_single_file(&dir, "e", LoadOptions::default(), &mut sink()).unwrap(),
            FileStatus::Empty
        );
        fs::write(dir.join("f"), b"*1\r\n$4\r\nboom\r\n").unwrap();
        let e = load_single_file(&dir, "f", LoadOptions::default(), &mut sink()).unwrap_err();
        assert!(matches!(e, LoadError::Sink { .. }));
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn files_in_manifest_order_and_last_file_rule() {
        let dir = tmpdir("files");
        let mut m = Manifest::new("appendonly.aof");
        let base = m.new_base_file(false);
        let i1 = m.new_incr_file();
        let i2 = m.new_incr_file();
        fs::write(dir.join(&base), b"*3\r\n$3\r\nset\r\n$1\r\na\r\n$1\r\n1\r\n").unwrap();
        fs::write(dir.join(&i1), b"").unwrap();
        fs::write(dir.join(&i2), b"*3\r\n$3\r\nset\r\n$1\r\nb\r\n$1\r\n2\r\n*1").unwrap();
        let mut s = sink();
        let sum = load_files(&dir, &m, LoadOptions::default(), &mut s).unwrap();
        assert_eq!(sum.status, LoadStatus::Truncated);
        assert_eq!(sum.base_size, 27);
        assert_eq!(sum.total_size, 27 + 29);
        assert_eq!(s.cmds, vec![argv(&["set", "a", "1"]), argv(&["set", "b", "2"])]);

        // A truncated file that is not the last one is fatal.
        fs::write(dir.join(&i1), b"*1\r\n$4\r\nping").unwrap();
        let e = load_files(&dir, &m, LoadOptions::default(), &mut sink()).unwrap_err();
        assert!(matches!(e, LoadError::TruncatedNotLast { ref name } if *name == i1));

        // A missing file is fatal; an empty manifest is NotExist.
        fs::remove_file(dir.join(&i2)).unwrap();
        let e = load_files(&dir, &m, LoadOptions::default(), &mut sink()).unwrap_err();
        assert!(matches!(e, LoadError::Stat { .. }));
        let sum = load_files(&dir, &Manifest::new("x"), LoadOptions::default(), &mut sink()).unwrap();
        assert_eq!(sum.status, LoadStatus::NotExist);
        fs::remove_dir_all(&dir).unwrap();
    }
}
