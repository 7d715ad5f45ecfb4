//! The append path: encoding commands as Redis does
//! (`catAppendOnlyGenericCommand`, `feedAppendOnlyFile`) and a writer
//! thread that owns the current incr file and applies `appendfsync`.
//!
//! Appending ([`AofWriter::append`]) only encodes into a mutex-protected
//! buffer and returns the command's end offset in the writer's logical
//! byte stream (it keeps growing across files). The writer thread drains
//! the buffer continuously: it writes whatever is there in one go, then
//! per policy fsyncs: `always` in the writer thread after every batch, so
//! concurrent appenders share one fsync (group commit); `everysec` by
//! handing the file to a background fsync thread (Redis's bio) when a
//! second has passed and something is unsynced, skipping while one is
//! still running, as Redis does; `no` never, except the old file after a
//! rotation and everything at shutdown. It publishes how far the stream
//! is written and durable ([`Progress`]). Callers wait with
//! [`AofWriter::wait_durable`] / [`AofWriter::wait_written`] (blocking)
//! or [`AofWriter::wait_durable_async`] / [`AofWriter::subscribe`] (tokio
//! `watch`).
//!
//! A failed write is kept, retried (every 100 ms) and reported: the
//! writer's [`AofWriter::write_error`] is Redis's `aof_last_write_status`
//! (while set, Redis refuses writes with `-MISCONF Errors writing to the
//! AOF file: ...`; with `appendfsync always` Redis exits), and waiters for
//! offsets not yet durable get the error instead of hanging. A short write
//! is cut back with `ftruncate` as Redis does so no partial command stays
//! in the file.

use std::collections::VecDeque;
use std::fs::{File, OpenOptions};
use std::io::{self, Seek, SeekFrom, Write};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use parking_lot::{Condvar, Mutex};
use tokio::sync::watch;

/// `appendfsync`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FsyncPolicy {
    Always,
    EverySec,
    No,
}

impl FsyncPolicy {
    pub fn name(self) -> &'static str {
        match self {
            FsyncPolicy::Always => "always",
            FsyncPolicy::EverySec => "everysec",
            FsyncPolicy::No => "no",
        }
    }

    /// Parses a config value (case-insensitive).
    pub fn parse(s: &str) -> Option<FsyncPolicy> {
        match s.to_ascii_lowercase().as_str() {
            "always" => Some(FsyncPolicy::Always),
            "everysec" => Some(FsyncPolicy::EverySec),
            "no" => Some(FsyncPolicy::No),
            _ => None,
        }
    }

    fn to_u8(self) -> u8 {
        self as u8
    }

    fn from_u8(v: u8) -> FsyncPolicy {
        match v {
            0 => FsyncPolicy::Always,
            1 => FsyncPolicy::EverySec,
            _ => FsyncPolicy::No,
        }
    }
}

/// Appends `*<argc>\r\n` and each argument as `$<len>\r\n<bytes>\r\n`
/// (Redis's `catAppendOnlyGenericCommand`).
pub fn encode_command<A: AsRef<[u8]>>(out: &mut Vec<u8>, argv: &[A]) {
    let mut n = itoa::Buffer::new();
    out.push(b'*');
    out.extend_from_slice(n.format(argv.len()).as_bytes());
    out.extend_from_slice(b"\r\n");
    for a in argv {
        let a = a.as_ref();
        out.push(b'$');
        out.extend_from_slice(n.format(a.len()).as_bytes());
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(a);
        out.extend_from_slice(b"\r\n");
    }
}

/// `SELECT <db>` as `feedAppendOnlyFile` writes it.
pub fn encode_select(out: &mut Vec<u8>, db: usize) {
    let mut n = itoa::Buffer::new();
    encode_command(out, &[b"SELECT" as &[u8], n.format(db).as_bytes()]);
}

/// Opens an incr file for appending as Redis does: the last incr at
/// start-up is reopened (`truncate` false: `O_WRONLY|O_APPEND|O_CREAT`), a
/// new one is created empty (`truncate` true: `O_TRUNC` too). Mode 0644.
pub fn open_incr(path: &Path, truncate: bool) -> io::Result<File> {
    let mut o = OpenOptions::new();
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        o.mode(0o644);
    }
    if truncate {
        // std refuses O_APPEND with O_TRUNC: truncate first.
        o.clone().write(true).create(true).truncate(true).open(path)?;
    }
    o.append(true).create(true).open(path)
}

/// A write or fsync failure, as reported to callers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WriteError {
    pub kind: io::ErrorKind,
    /// The OS error text (`strerror(errno)`), for `-MISCONF Errors writing
    /// to the AOF file: <message>` and INFO.
    pub message: String,
    /// The raw errno, when there is one.
    pub errno: Option<i32>,
}

impl WriteError {
    fn from_io(e: &io::Error) -> WriteError {
        WriteError {
            kind: e.kind(),
            message: strerror(e),
            errno: e.raw_os_error(),
        }
    }

    fn closed() -> WriteError {
        WriteError {
            kind: io::ErrorKind::BrokenPipe,
            message: "AOF writer is closed".to_string(),
            errno: None,
        }
    }

    /// The writer was shut down (AOF turned off) before the offset was
    /// durable, rather than a write or fsync failing.
    pub fn is_closed(&self) -> bool {
        *self == WriteError::closed()
    }
}

impl std::fmt::Display for WriteError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for WriteError {}

/// `strerror(errno)` without Rust's " (os error N)" suffix.
fn strerror(e: &io::Error) -> String {
    let s = e.to_string();
    match s.find(" (os error ") {
        Some(i) => s[..i].to_string(),
        None => s,
    }
}

/// How far the logical stream has got.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Progress {
    /// Bytes handed to `write(2)` successfully.
    pub written: u64,
    /// Bytes known to be on disk (fsynced).
    pub durable: u64,
    /// The last write or fsync failed (cleared by the next success).
    pub error: Option<WriteError>,
    /// The writer thread has stopped.
    pub closed: bool,
    /// File switches done (see [`AofWriter::rotate`]).
    pub rotations: u64,
    /// An fsync failed: the bytes from this offset on may never reach the
    /// disk, whatever later fsyncs (of a newer file, or of the same file:
    /// the kernel may have dropped the pages) report. `durable` stays
    /// below it and waiting for durability past it fails with its error;
    /// `error` alone is cleared by the next success, as Redis's status.
    pub unsynced_from: Option<(u64, WriteError)>,
}

/// A requested file switch: where in the stream, and its number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rotation {
    /// The stream offset of the switch: bytes before it go to the old file.
    pub offset: u64,
    /// The switch's number (1 for the writer's first), compared with
    /// [`Progress::rotations`].
    pub seq: u64,
}

/// Byte counters for INFO persistence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Sizes {
    /// `aof_current_size`: base plus incr files (as written so far).
    pub current_size: u64,
    /// `aof_base_size` (Redis's `aof_rewrite_base_size`).
    pub base_size: u64,
    /// `aof_last_incr_size`: the current incr file's size.
    pub incr_size: u64,
}

/// Options for [`AofWriter::open`].
#[derive(Debug, Clone, Copy)]
pub struct WriterOptions {
    pub fsync: FsyncPolicy,
    /// `aof-timestamp-enabled`: a `#TS:<unix>` line before the first
    /// command of every new second.
    pub timestamps: bool,
}

impl Default for WriterOptions {
    fn default() -> WriterOptions {
        WriterOptions {
            fsync: FsyncPolicy::EverySec,
            timestamps: false,
        }
    }
}

enum Item {
    Bytes(Vec<u8>),
    Rotate(File, String),
}

struct State {
    buf: Vec<u8>,
    /// Data and file switches queued before `buf` (only when rotating).
    queue: Vec<Item>,
    appended: u64,
    selected_db: Option<usize>,
    last_ts: u64,
    timestamps: bool,
    shutdown: bool,
    rotations: u64,
}

struct Shared {
    state: Mutex<State>,
    wake: Condvar,
    progress: Mutex<ProgressCell>,
    progress_cv: Condvar,
    fsync: Mutex<FsyncQueue>,
    fsync_cv: Condvar,
    watch: watch::Sender<Progress>,
    policy: AtomicU8,
    sizes: Mutex<Sizes>,
    file_name: Mutex<String>,
    /// DEBUG AOF-HOLD-FSYNC (tests): `always` fsyncs wait while set.
    hold_fsync: AtomicBool,
    /// Told how long each `write(2)` and `always` fsync took (the
    /// server's latency monitor: "aof-write", "aof-fsync-always").
    latency: Mutex<Option<LatencyHook>>,
}

/// Receives (event, microseconds).
pub type LatencyHook = Arc<dyn Fn(&'static str, u64) + Send + Sync>;

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared").finish_non_exhaustive()
    }
}

impl Shared {
    fn latency(&self, event: &'static str, started: Instant) {
        if let Some(h) = &*self.latency.lock() {
            h(event, started.elapsed().as_micros() as u64);
        }
    }
}

/// The writer of the current incr file. Cheap to share (`Arc` it); all
/// methods take `&self`.
pub struct AofWriter {
    shared: Arc<Shared>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

impl AofWriter {
    /// Starts the writer thread on `file` (opened with [`open_incr`]),
    /// named `file_name` in the manifest. `sizes.base_size` and
    /// `sizes.current_size` seed the counters (from the load summary);
    /// `incr_size` is taken from the file.
    pub fn open(file: File, file_name: &str, opts: WriterOptions, sizes: Sizes) -> io::Result<AofWriter> {
        let incr = file.metadata()?.len();
        let (tx, _) = watch::channel(Progress::default());
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                buf: Vec::new(),
                queue: Vec::new(),
                appended: 0,
                selected_db: None,
                last_ts: 0,
                timestamps: opts.timestamps,
                shutdown: false,
                rotations: 0,
            }),
            wake: Condvar::new(),
            progress: Mutex::new(ProgressCell::new()),
            progress_cv: Condvar::new(),
            fsync: Mutex::new(FsyncQueue::default()),
            fsync_cv: Condvar::new(),
            watch: tx,
            policy: AtomicU8::new(opts.fsync.to_u8()),
            sizes: Mutex::new(Sizes {
                current_size: sizes.current_size.max(sizes.base_size + incr),
                base_size: sizes.base_size,
                incr_size: incr,
            }),
            file_name: Mutex::new(file_name.to_string()),
            hold_fsync: AtomicBool::new(false),
            latency: Mutex::new(None),
        });
        let th = {
            let shared = shared.clone();
            std::thread::Builder::new()
                .name("aof-writer".into())
                .spawn(move || Thread::new(shared, file).run())?
        };
        Ok(AofWriter {
            shared,
            thread: Mutex::new(Some(th)),
        })
    }

    /// Appends one command that ran in `db` (`None`: no SELECT is needed,
    /// as Redis's dictid -1), preceded by `SELECT db` when the db differs
    /// from the previous command's (and by a `#TS:` annotation if
    /// enabled). Returns the offset just after it.
    pub fn append<A: AsRef<[u8]>>(&self, db: Option<usize>, argv: &[A]) -> u64 {
        let mut st = self.shared.state.lock();
        let wake = self.must_wake(&st);
        Self::feed(&mut st, db, argv);
        let off = st.appended;
        drop(st);
        if wake {
            self.shared.wake.notify_one();
        }
        off
    }

    /// Whether an append must wake the writer: always under `always`
    /// (a client waits for the fsync); otherwise only the first append
    /// after the writer took the buffer (it batches the rest: waking it
    /// per command cost a context switch per write).
    fn must_wake(&self, st: &State) -> bool {
        st.buf.is_empty() || FsyncPolicy::from_u8(self.shared.policy.load(Ordering::Relaxed)) == FsyncPolicy::Always
    }

    /// Appends several commands with nothing from other threads between
    /// them (MULTI ... EXEC). Returns the offset after the last.
    pub fn append_many<'a, A: AsRef<[u8]> + 'a>(
        &self,
        cmds: impl IntoIterator<Item = (Option<usize>, &'a [A])>,
    ) -> u64 {
        let mut st = self.shared.state.lock();
        let wake = self.must_wake(&st);
        for (db, argv) in cmds {
            Self::feed(&mut st, db, argv);
        }
        let off = st.appended;
        drop(st);
        if wake {
            self.shared.wake.notify_one();
        }
        off
    }

    fn feed<A: AsRef<[u8]>>(st: &mut State, db: Option<usize>, argv: &[A]) {
        let before = st.buf.len();
        if st.timestamps {
            let now = unix_now();
            if st.last_ts < now {
                st.last_ts = now;
                st.buf.extend_from_slice(format!("#TS:{now}\r\n").as_bytes());
            }
        }
        if let Some(db) = db {
            if st.selected_db != Some(db) {
                encode_select(&mut st.buf, db);
                st.selected_db = Some(db);
            }
        }
        encode_command(&mut st.buf, argv);
        st.appended += (st.buf.len() - before) as u64;
        if st.shutdown {
            // Never written: keep the memory bounded.
            st.buf.truncate(before);
        }
    }

    /// The offset after everything appended so far.
    pub fn appended(&self) -> u64 {
        self.shared.state.lock().appended
    }

    /// Bytes appended but not yet handed to the writer thread
    /// (`aof_buffer_length`).
    pub fn buffered(&self) -> usize {
        self.shared.state.lock().buf.len()
    }

    /// Switches to a new incr file (`file`, named `file_name`, opened with
    /// [`open_incr`]): everything appended before this call goes to the
    /// old file (which is then fsynced and closed), everything after to
    /// the new one, which starts with a SELECT (as Redis resets
    /// `aof_selected_db` on rewrite). Does not wait for the switch:
    /// [`AofWriter::wait_rotated`] does.
    pub fn rotate(&self, file: File, file_name: &str) -> Rotation {
        let mut st = self.shared.state.lock();
        let bytes = std::mem::take(&mut st.buf);
        if !bytes.is_empty() {
            st.queue.push(Item::Bytes(bytes));
        }
        st.queue.push(Item::Rotate(file, file_name.to_string()));
        st.selected_db = None;
        st.rotations += 1;
        let r = Rotation {
            offset: st.appended,
            seq: st.rotations,
        };
        drop(st);
        self.shared.wake.notify_one();
        r
    }

    /// Blocks until the writer has switched files for `r` (after writing
    /// everything before it to the old file), or the writer has stopped.
    pub fn wait_rotated(&self, r: Rotation) -> Result<(), WriteError> {
        let mut c = self.shared.progress.lock();
        loop {
            if c.p.rotations >= r.seq {
                return Ok(());
            }
            if c.p.closed {
                return Err(c.p.error.clone().unwrap_or_else(WriteError::closed));
            }
            self.shared.progress_cv.wait(&mut c);
        }
    }

    /// The name of the file being written (after the last rotation done).
    pub fn file_name(&self) -> String {
        self.shared.file_name.lock().clone()
    }

    /// Records that the current file was renamed (the open file goes on).
    pub fn set_file_name(&self, name: &str) {
        *self.shared.file_name.lock() = name.to_string();
    }

    /// Forces the next command to be preceded by SELECT.
    pub fn reset_selected_db(&self) {
        self.shared.state.lock().selected_db = None;
    }

    /// `appendfsync` at run time.
    pub fn set_fsync(&self, p: FsyncPolicy) {
        self.shared.policy.store(p.to_u8(), Ordering::Relaxed);
        self.shared.wake.notify_one();
    }

    pub fn fsync_policy(&self) -> FsyncPolicy {
        FsyncPolicy::from_u8(self.shared.policy.load(Ordering::Relaxed))
    }

    /// Sets who is told the duration of writes and `always` fsyncs.
    pub fn set_latency_hook(&self, hook: LatencyHook) {
        *self.shared.latency.lock() = Some(hook);
    }

    /// Holds (or releases) the fsyncs of `always` (DEBUG AOF-HOLD-FSYNC):
    /// tests use it to see what waits for durability.
    pub fn hold_fsync(&self, on: bool) {
        self.shared.hold_fsync.store(on, Ordering::Release);
    }

    /// `aof-timestamp-enabled` at run time.
    pub fn set_timestamps(&self, on: bool) {
        self.shared.state.lock().timestamps = on;
    }

    pub fn progress(&self) -> Progress {
        self.shared.progress.lock().p.clone()
    }

    /// Redis's `aof_last_write_status`: the error of the last failed write
    /// or fsync, `None` once a write succeeds again.
    pub fn write_error(&self) -> Option<WriteError> {
        self.shared.progress.lock().p.error.clone()
    }

    pub fn sizes(&self) -> Sizes {
        *self.shared.sizes.lock()
    }

    /// After a rewrite: the new base is `base_size` bytes and the files
    /// before the current incr are history, so `aof_current_size` is the
    /// base plus the current incr (Redis's `backgroundRewriteDoneHandler`).
    /// Call after the rotation that started the rewrite has happened.
    pub fn rewrite_done(&self, base_size: u64) {
        let mut s = self.shared.sizes.lock();
        s.base_size = base_size;
        s.current_size = base_size + s.incr_size;
    }

    /// A receiver of progress updates, for async waiting.
    pub fn subscribe(&self) -> watch::Receiver<Progress> {
        self.shared.watch.subscribe()
    }

    fn check(p: &Progress, offset: u64, durable: bool) -> Option<Result<(), WriteError>> {
        let got = if durable { p.durable } else { p.written };
        if got >= offset {
            return Some(Ok(()));
        }
        if let (true, Some((from, e))) = (durable, &p.unsynced_from) {
            if offset > *from {
                return Some(Err(e.clone()));
            }
        }
        if let Some(e) = &p.error {
            return Some(Err(e.clone()));
        }
        if p.closed {
            return Some(Err(WriteError::closed()));
        }
        None
    }

    fn wait(&self, offset: u64, durable: bool) -> Result<(), WriteError> {
        let mut c = self.shared.progress.lock();
        loop {
            if let Some(r) = Self::check(&c.p, offset, durable) {
                return r;
            }
            self.shared.progress_cv.wait(&mut c);
        }
    }

    /// Blocks until `offset` is fsynced (for `appendfsync always`, before
    /// replying). Fails at once, without waiting, while the writer is in
    /// error. Under `everysec` this waits up to about a second; under
    /// `no`, until a rotation or shutdown.
    pub fn wait_durable(&self, offset: u64) -> Result<(), WriteError> {
        self.wait(offset, true)
    }

    /// Blocks until `offset` is written to the file (not necessarily
    /// synced): Redis's write-before-reply.
    pub fn wait_written(&self, offset: u64) -> Result<(), WriteError> {
        self.wait(offset, false)
    }

    /// [`AofWriter::wait_durable`] for async callers.
    pub async fn wait_durable_async(&self, offset: u64) -> Result<(), WriteError> {
        let mut rx = self.subscribe();
        let r = rx
            .wait_for(|p| Self::check(p, offset, true).is_some())
            .await
            .map(|p| Self::check(&p, offset, true));
        match r {
            Ok(Some(r)) => r,
            _ => Err(WriteError::closed()),
        }
    }

    /// Writes and fsyncs everything appended, stops the thread, and
    /// reports the final status (Redis flushes and fsyncs at shutdown).
    /// Later appends are ignored.
    pub fn shutdown(&self) -> Result<(), WriteError> {
        self.shared.state.lock().shutdown = true;
        self.shared.wake.notify_one();
        if let Some(t) = self.thread.lock().take() {
            let _ = t.join();
        }
        let p = self.progress();
        match p.error.or(p.unsynced_from.map(|(_, e)| e)) {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }
}

impl Drop for AofWriter {
    fn drop(&mut self) {
        let _ = self.shutdown();
    }
}

const SPARE_MAX: usize = 1 << 20;
const RETRY: Duration = Duration::from_millis(100);
/// How long the writer lets appends gather under `everysec` / `no`.
const BATCH_WAIT: Duration = Duration::from_millis(1);
const WRITE_ERROR_LOG_RATE: Duration = Duration::from_secs(30);

/// The published progress and the two error sources behind its `error`.
struct ProgressCell {
    p: Progress,
    /// Set by a failed write, cleared by the next successful one
    /// (Redis's `aof_last_write_status`).
    write_error: Option<WriteError>,
    /// Set by a failed fsync, cleared by the next successful one
    /// (Redis's `aof_bio_fsync_status`).
    fsync_error: Option<WriteError>,
}

impl ProgressCell {
    fn new() -> ProgressCell {
        ProgressCell {
            p: Progress::default(),
            write_error: None,
            fsync_error: None,
        }
    }

    /// An fsync succeeded: the stream is on disk up to `upto`, unless an
    /// earlier fsync failed below that.
    fn synced(&mut self, upto: u64) {
        let mut durable = self.p.durable.max(upto);
        if let Some((from, _)) = &self.p.unsynced_from {
            durable = durable.min(*from);
        }
        self.p.durable = durable;
        self.fsync_error = None;
    }

    /// An fsync failed. Fsyncs complete in stream order, so everything
    /// past what is durable now is in doubt.
    fn fsync_failed(&mut self, e: WriteError) {
        if self.p.unsynced_from.is_none() {
            self.p.unsynced_from = Some((self.p.durable, e.clone()));
        }
        self.fsync_error = Some(e);
    }
}

impl Shared {
    /// Changes the progress and wakes waiters if it changed.
    fn update(&self, f: impl FnOnce(&mut ProgressCell)) {
        let p = {
            let mut c = self.progress.lock();
            let before = c.p.clone();
            f(&mut c);
            c.p.error = c.write_error.clone().or_else(|| c.fsync_error.clone());
            if c.p == before {
                return;
            }
            c.p.clone()
        };
        self.progress_cv.notify_all();
        self.watch.send_replace(p);
    }
}

/// An fsync for the background fsync thread (Redis's bio jobs): once
/// `file` is synced, the stream is durable up to `upto`.
struct FsyncJob {
    file: Arc<File>,
    upto: u64,
}

#[derive(Default)]
struct FsyncQueue {
    jobs: VecDeque<FsyncJob>,
    busy: bool,
    quit: bool,
}

/// The background fsync thread: runs the jobs in order.
fn fsync_thread(shared: Arc<Shared>) {
    loop {
        let job = {
            let mut q = shared.fsync.lock();
            loop {
                if let Some(j) = q.jobs.pop_front() {
                    q.busy = true;
                    break j;
                }
                if q.quit {
                    return;
                }
                shared.fsync_cv.wait(&mut q);
            }
        };
        let r = job.file.sync_data();
        drop(job.file);
        shared.update(|c| match &r {
            Ok(()) => c.synced(job.upto),
            Err(e) => {
                // Redis: "Fail to fsync the AOF file" from the bio thread.
                tracing::warn!("Fail to fsync the AOF file: {}", strerror(e));
                c.fsync_failed(WriteError::from_io(e));
            }
        });
        shared.fsync.lock().busy = false;
        shared.fsync_cv.notify_all();
    }
}

struct Thread {
    shared: Arc<Shared>,
    file: Arc<File>,
    backlog: VecDeque<Item>,
    written: u64,
    /// Up to where an fsync was done or handed to the fsync thread.
    synced_or_queued: u64,
    /// When the last `everysec` fsync was queued.
    last_fsync: Instant,
    /// The backlog's first item failed to write.
    write_failed: bool,
    /// The last inline (`always`) fsync failed.
    fsync_failed: bool,
    last_error_log: Option<Instant>,
    rotations: u64,
    /// The fsync thread runs (else fsyncs are done inline).
    has_fsyncer: bool,
    /// A drained buffer handed back to appenders, so steady appending
    /// does not allocate a new one per batch.
    spare: Option<Vec<u8>>,
}

impl Thread {
    fn new(shared: Arc<Shared>, file: File) -> Thread {
        Thread {
            shared,
            file: Arc::new(file),
            backlog: VecDeque::new(),
            written: 0,
            synced_or_queued: 0,
            last_fsync: Instant::now(),
            write_failed: false,
            fsync_failed: false,
            last_error_log: None,
            rotations: 0,
            has_fsyncer: false,
            spare: None,
        }
    }

    fn policy(&self) -> FsyncPolicy {
        FsyncPolicy::from_u8(self.shared.policy.load(Ordering::Relaxed))
    }

    fn run(mut self) {
        let fsyncer = {
            let shared = self.shared.clone();
            std::thread::Builder::new()
                .name("aof-fsync".into())
                .spawn(move || fsync_thread(shared))
        };
        match &fsyncer {
            Ok(_) => self.has_fsyncer = true,
            Err(e) => tracing::warn!("Can't start the AOF fsync thread: {e}; fsyncing inline"),
        }
        loop {
            let shutdown = self.take_work();
            self.process();
            if shutdown {
                // One last attempt; the queued fsyncs; a final fsync.
                self.process();
                self.shared.fsync.lock().quit = true;
                self.shared.fsync_cv.notify_all();
                if let Ok(t) = fsyncer {
                    let _ = t.join();
                }
                self.has_fsyncer = false;
                self.fsync_inline(true);
                let (written, rotations) = (self.written, self.rotations);
                self.shared.update(|c| {
                    c.p.written = written;
                    c.p.rotations = rotations;
                    c.p.closed = true;
                });
                return;
            }
            match self.policy() {
                FsyncPolicy::Always => self.fsync_inline(false),
                FsyncPolicy::EverySec => {
                    let idle = {
                        let q = self.shared.fsync.lock();
                        q.jobs.is_empty() && !q.busy
                    };
                    // As Redis, skip (postpone) while an fsync is running.
                    if self.synced_or_queued < self.written
                        && self.last_fsync.elapsed() >= Duration::from_secs(1)
                        && idle
                    {
                        if self.has_fsyncer {
                            self.queue_fsync(self.file.clone(), self.written);
                        } else {
                            self.fsync_inline(false);
                        }
                        self.last_fsync = Instant::now();
                    }
                }
                FsyncPolicy::No => {}
            }
            self.publish();
        }
    }

    fn queue_fsync(&mut self, file: Arc<File>, upto: u64) {
        self.synced_or_queued = self.synced_or_queued.max(upto);
        self.shared.fsync.lock().jobs.push_back(FsyncJob { file, upto });
        self.shared.fsync_cv.notify_all();
    }

    /// Waits for something to do; moves queued data into the backlog.
    /// True when shutting down.
    fn take_work(&mut self) -> bool {
        let mut st = self.shared.state.lock();
        loop {
            if !st.buf.is_empty() || !st.queue.is_empty() || st.shutdown {
                break;
            }
            let unsynced = self.synced_or_queued < self.written;
            let timeout = if !self.backlog.is_empty() || self.fsync_failed {
                Some(RETRY)
            } else if unsynced {
                match self.policy() {
                    FsyncPolicy::Always => Some(Duration::ZERO),
                    FsyncPolicy::EverySec => Some(Duration::from_secs(1).saturating_sub(self.last_fsync.elapsed())),
                    FsyncPolicy::No => None,
                }
            } else {
                None
            };
            match timeout {
                Some(t) if t.is_zero() => break,
                Some(t) => {
                    if self.shared.wake.wait_for(&mut st, t).timed_out() {
                        break;
                    }
                }
                None => self.shared.wake.wait(&mut st),
            }
        }
        if !st.shutdown && st.queue.is_empty() && self.policy() != FsyncPolicy::Always {
            // Let a millisecond of appends gather (they do not wake us).
            drop(st);
            std::thread::sleep(BATCH_WAIT);
            st = self.shared.state.lock();
        }
        self.backlog.extend(st.queue.drain(..));
        if !st.buf.is_empty() {
            let b = std::mem::replace(&mut st.buf, self.spare.take().unwrap_or_default());
            self.backlog.push_back(Item::Bytes(b));
        }
        st.shutdown
    }

    /// Writes the backlog in order, switching files at rotations. On a
    /// write error the unwritten bytes stay first in the backlog; if a
    /// rotation is queued they move into the new file (as Redis's buffer
    /// does when it opens a new incr with unwritten data).
    fn process(&mut self) {
        while let Some(item) = self.backlog.pop_front() {
            match item {
                Item::Rotate(f, name) => self.switch(f, name),
                Item::Bytes(b) => {
                    if let Err(rest) = self.write(b) {
                        match self.backlog.iter().position(|i| matches!(i, Item::Rotate(..))) {
                            Some(ri) => {
                                // Everything queued for the old file follows
                                // into the new one, in order.
                                let mut carry = rest;
                                for _ in 0..ri {
                                    if let Some(Item::Bytes(b)) = self.backlog.pop_front() {
                                        carry.extend_from_slice(&b);
                                    }
                                }
                                if let Some(Item::Rotate(f, name)) = self.backlog.pop_front() {
                                    self.switch(f, name);
                                }
                                self.backlog.push_front(Item::Bytes(carry));
                            }
                            None => {
                                self.backlog.push_front(Item::Bytes(rest));
                                return;
                            }
                        }
                    }
                }
            }
        }
    }

    fn switch(&mut self, f: File, name: String) {
        // Redis fsyncs and closes the old file in the background (bio); the
        // fsync thread does, after any fsync queued before.
        let old = std::mem::replace(&mut self.file, Arc::new(f));
        if self.synced_or_queued < self.written {
            if self.has_fsyncer {
                self.queue_fsync(old, self.written);
            } else if let Err(e) = old.sync_data() {
                tracing::warn!("Fail to fsync the AOF file: {}", strerror(&e));
                self.shared.update(|c| c.fsync_failed(WriteError::from_io(&e)));
            } else {
                let upto = self.written;
                self.synced_or_queued = upto;
                self.shared.update(|c| c.synced(upto));
            }
        }
        let incr = self.file.metadata().map(|m| m.len()).unwrap_or(0);
        {
            let mut s = self.shared.sizes.lock();
            s.incr_size = incr;
            s.current_size += incr;
        }
        *self.shared.file_name.lock() = name;
        self.rotations += 1;
    }

    fn can_log(&mut self) -> bool {
        let ok = self.last_error_log.is_none_or(|t| t.elapsed() > WRITE_ERROR_LOG_RATE);
        if ok {
            self.last_error_log = Some(Instant::now());
        }
        ok
    }

    /// Writes `b` fully; on failure returns the bytes not in the file.
    fn write(&mut self, b: Vec<u8>) -> Result<(), Vec<u8>> {
        let before = self.shared.sizes.lock().incr_size;
        let mut done = 0usize;
        let mut err = None;
        let started = Instant::now();
        while done < b.len() {
            match (&*self.file).write(&b[done..]) {
                Ok(0) => {
                    err = Some(io::Error::from_raw_os_error(libc::ENOSPC));
                    break;
                }
                Ok(n) => done += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    err = Some(e);
                    break;
                }
            }
        }
        self.shared.latency("aof-write", started);
        let Some(e) = err else {
            if self.write_failed {
                self.write_failed = false;
                tracing::warn!("AOF write error looks solved, Redis can write again.");
                self.shared.update(|c| c.write_error = None);
            }
            self.account(done);
            // Keep a modest buffer for reuse; a burst's big one is freed.
            if b.capacity() <= SPARE_MAX {
                let mut b = b;
                b.clear();
                self.spare = Some(b);
            }
            return Ok(());
        };
        let log = self.can_log();
        let mut werr = WriteError::from_io(&e);
        if done == 0 {
            if log {
                tracing::warn!("Error writing to the AOF file: {}", werr.message);
            }
        } else {
            if log {
                tracing::warn!(
                    "Short write while writing to the AOF file: (nwritten={done}, expected={})",
                    b.len()
                );
            }
            match self
                .file
                .set_len(before)
                .and_then(|_| (&*self.file).seek(SeekFrom::End(0)))
            {
                Ok(_) => done = 0,
                Err(te) => {
                    if log {
                        tracing::warn!(
                            "Could not remove short write from the append-only file.  Redis may refuse to load the AOF the next time it starts.  ftruncate: {}",
                            strerror(&te)
                        );
                    }
                }
            }
            werr = WriteError::from_io(&io::Error::from_raw_os_error(libc::ENOSPC));
        }
        if self.policy() == FsyncPolicy::Always && log {
            tracing::warn!("Can't recover from AOF write error when the AOF fsync policy is 'always'. Exiting...");
        }
        self.write_failed = true;
        self.shared.update(|c| c.write_error = Some(werr));
        self.account(done);
        Err(b[done..].to_vec())
    }

    fn account(&mut self, n: usize) {
        if n == 0 {
            return;
        }
        self.written += n as u64;
        let mut s = self.shared.sizes.lock();
        s.incr_size += n as u64;
        s.current_size += n as u64;
    }

    /// fsync of the current file in this thread (`always`; `force` at
    /// shutdown, unless everything is known durable). The fsyncs queued
    /// before (an older file's, after a rotation) finish first, so
    /// everything written is then durable.
    fn fsync_inline(&mut self, force: bool) {
        let done = if force {
            self.shared.progress.lock().p.durable >= self.written
        } else {
            self.synced_or_queued >= self.written && !self.fsync_failed
        };
        if done {
            return;
        }
        {
            let mut q = self.shared.fsync.lock();
            while self.has_fsyncer && (!q.jobs.is_empty() || q.busy) {
                self.shared.fsync_cv.wait(&mut q);
            }
        }
        while !force && self.shared.hold_fsync.load(Ordering::Acquire) {
            std::thread::sleep(Duration::from_millis(1));
        }
        let upto = self.written;
        let started = Instant::now();
        let synced = self.file.sync_data();
        if !force {
            self.shared.latency("aof-fsync-always", started);
        }
        match synced {
            Ok(()) => {
                self.fsync_failed = false;
                self.synced_or_queued = upto;
                self.shared.update(|c| c.synced(upto));
            }
            Err(e) => {
                let w = WriteError::from_io(&e);
                if self.policy() == FsyncPolicy::Always {
                    tracing::warn!(
                        "Can't persist AOF for fsync error when the AOF fsync policy is 'always': {}. Exiting...",
                        w.message
                    );
                } else {
                    tracing::warn!("Fail to fsync the AOF file: {}", w.message);
                }
                self.fsync_failed = true;
                self.shared.update(|c| c.fsync_failed(w));
            }
        }
    }

    fn publish(&mut self) {
        let (written, rotations) = (self.written, self.rotations);
        self.shared.update(|c| {
            c.p.written = written;
            c.p.rotations = rotations;
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aof::load::CommandReader;

    fn tmpdir(tag: &str) -> std::path::PathBuf {
        let d = std::env::temp_dir().join(format!("larder-aof-writer-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    fn read_cmds(path: &Path) -> Vec<Vec<Vec<u8>>> {
        let data = std::fs::read(path).unwrap();
        let mut r = CommandReader::new(&data[..]);
        let mut v = Vec::new();
        while let Some(c) = r.next_command().unwrap() {
            v.push(c.argv);
        }
        v
    }

    /// A failed fsync (the old file's, after a rotation) is not papered
    /// over by a later successful one: durability never passes it and
    /// waiting past it fails, while the error status clears as Redis's.
    #[test]
    fn a_failed_fsync_leaves_a_hole_later_fsyncs_do_not_close() {
        let eio = WriteError::from_io(&io::Error::from_raw_os_error(libc::EIO));
        let mut c = ProgressCell::new();
        c.synced(100);
        assert_eq!(c.p.durable, 100);
        // The old file (bytes 100..250) fails, the new one (..400) syncs.
        c.fsync_failed(eio.clone());
        assert!(c.fsync_error.is_some());
        c.synced(400);
        assert_eq!(c.p.durable, 100, "durable must not cross the failed range");
        assert!(c.fsync_error.is_none(), "the status clears, as Redis's");
        assert_eq!(AofWriter::check(&c.p, 100, true), Some(Ok(())));
        assert_eq!(AofWriter::check(&c.p, 101, true), Some(Err(eio.clone())));
        assert_eq!(AofWriter::check(&c.p, 400, true), Some(Err(eio.clone())));
        // Written-ness is not affected.
        c.p.written = 400;
        assert_eq!(AofWriter::check(&c.p, 400, false), Some(Ok(())));
        // A second failure keeps the first, lower, bound.
        c.fsync_failed(WriteError::from_io(&io::Error::from_raw_os_error(libc::ENOSPC)));
        assert_eq!(c.p.unsynced_from, Some((100, eio)));
    }

    fn a(s: &[&str]) -> Vec<Vec<u8>> {
        s.iter().map(|x| x.as_bytes().to_vec()).collect()
    }

    #[test]
    fn encoding_matches_redis() {
        let mut b = Vec::new();
        encode_command(&mut b, &["set", "k", ""]);
        assert_eq!(b, b"*3\r\n$3\r\nset\r\n$1\r\nk\r\n$0\r\n\r\n");
        b.clear();
        encode_select(&mut b, 12);
        assert_eq!(b, b"*2\r\n$6\r\nSELECT\r\n$2\r\n12\r\n");
        assert_eq!(FsyncPolicy::parse("EverySec"), Some(FsyncPolicy::EverySec));
        assert_eq!(FsyncPolicy::parse("x"), None);
    }

    #[test]
    fn always_select_offsets_and_durability() {
        let dir = tmpdir("always");
        let p = dir.join("a.1.incr.aof");
        let w = AofWriter::open(
            open_incr(&p, true).unwrap(),
            "a.1.incr.aof",
            WriterOptions {
                fsync: FsyncPolicy::Always,
                timestamps: false,
            },
            Sizes::default(),
        )
        .unwrap();
        let o1 = w.append(Some(0), &["set", "a", "1"]);
        // SELECT 0 (23 bytes) + the SET (27).
        assert_eq!(o1, 23 + 27);
        let o2 = w.append(Some(0), &["set", "b", "2"]);
        assert_eq!(o2, o1 + 27);
        let o3 = w.append(Some(3), &["del", "x"]);
        let o4 = w.append(None, &["ping"]);
        w.wait_durable(o4).unwrap();
        assert!(w.progress().durable >= o4);
        assert_eq!(std::fs::metadata(&p).unwrap().len(), o4);
        assert_eq!(w.sizes().incr_size, o4);
        assert!(o3 < o4);
        assert_eq!(
            read_cmds(&p),
            vec![
                a(&["SELECT", "0"]),
                a(&["set", "a", "1"]),
                a(&["set", "b", "2"]),
                a(&["SELECT", "3"]),
                a(&["del", "x"]),
                a(&["ping"])
            ]
        );
        w.shutdown().unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn many_threads_group_commit() {
        let dir = tmpdir("group");
        let p = dir.join("g.aof");
        let w = Arc::new(
            AofWriter::open(
                open_incr(&p, true).unwrap(),
                "g.aof",
                WriterOptions {
                    fsync: FsyncPolicy::Always,
                    timestamps: false,
                },
                Sizes::default(),
            )
            .unwrap(),
        );
        let ths: Vec<_> = (0..4)
            .map(|t| {
                let w = w.clone();
                std::thread::spawn(move || {
                    for i in 0..200 {
                        let off = w.append(Some(t % 2), &["set".to_string(), format!("k{t}-{i}"), i.to_string()]);
                        w.wait_durable(off).unwrap();
                    }
                })
            })
            .collect();
        for t in ths {
            t.join().unwrap();
        }
        w.shutdown().unwrap();
        let cmds = read_cmds(&p);
        // Replaying SELECTs: every SET lands in the db its thread used.
        let mut db = 0usize;
        let mut n = 0;
        for c in &cmds {
            if c[0] == b"SELECT" {
                db = std::str::from_utf8(&c[1]).unwrap().parse().unwrap();
            } else {
                let t: usize = std::str::from_utf8(&c[1][1..2]).unwrap().parse().unwrap();
                assert_eq!(db, t % 2);
                n += 1;
            }
        }
        assert_eq!(n, 800);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn everysec_and_no_write_promptly() {
        let dir = tmpdir("everysec");
        for policy in [FsyncPolicy::EverySec, FsyncPolicy::No] {
            let p = dir.join(format!("{}.aof", policy.name()));
            let w = AofWriter::open(
                open_incr(&p, true).unwrap(),
                "x",
                WriterOptions {
                    fsync: policy,
                    timestamps: true,
                },
                Sizes::default(),
            )
            .unwrap();
            let off = w.append(Some(0), &["incr", "n"]);
            w.wait_written(off).unwrap();
            assert_eq!(std::fs::metadata(&p).unwrap().len(), off);
            if policy == FsyncPolicy::EverySec {
                // The background fsync happens within about a second.
                let t = Instant::now();
                w.wait_durable(off).unwrap();
                assert!(t.elapsed() < Duration::from_secs(3));
            }
            w.shutdown().unwrap();
            assert_eq!(w.progress().durable, off);
            let data = std::fs::read(&p).unwrap();
            assert!(data.starts_with(b"#TS:"));
            assert_eq!(read_cmds(&p), vec![a(&["SELECT", "0"]), a(&["incr", "n"])]);
            // Appends after shutdown are not written; waiting fails.
            let late = w.append(Some(0), &["incr", "n"]);
            assert!(w.wait_written(late).is_err());
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn rotate_splits_at_the_call() {
        let dir = tmpdir("rotate");
        let p1 = dir.join("r.1.incr.aof");
        let p2 = dir.join("r.2.incr.aof");
        std::fs::write(&p1, b"*1\r\n$4\r\nping\r\n").unwrap();
        let w = AofWriter::open(
            open_incr(&p1, false).unwrap(),
            "r.1.incr.aof",
            WriterOptions::default(),
            Sizes {
                current_size: 100 + 14,
                base_size: 100,
                incr_size: 0,
            },
        )
        .unwrap();
        assert_eq!(w.sizes().incr_size, 14);
        w.append(Some(2), &["set", "a", "1"]);
        let rot = w.rotate(open_incr(&p2, true).unwrap(), "r.2.incr.aof");
        assert_eq!(rot.seq, 1);
        w.wait_rotated(rot).unwrap();
        assert_eq!(w.file_name(), "r.2.incr.aof");
        let at = rot.offset;
        let end = w.append(Some(2), &["set", "b", "2"]);
        w.wait_written(end).unwrap();
        w.shutdown().unwrap();
        assert_eq!(w.file_name(), "r.2.incr.aof");
        assert_eq!(
            read_cmds(&p1),
            vec![a(&["ping"]), a(&["SELECT", "2"]), a(&["set", "a", "1"])]
        );
        // The new file starts with its own SELECT.
        assert_eq!(read_cmds(&p2), vec![a(&["SELECT", "2"]), a(&["set", "b", "2"])]);
        let s = w.sizes();
        let len2 = std::fs::metadata(&p2).unwrap().len();
        assert_eq!(s.incr_size, len2);
        assert_eq!(len2, end - at);
        assert_eq!(s.current_size, 100 + std::fs::metadata(&p1).unwrap().len() + len2);
        w.rewrite_done(50);
        assert_eq!(w.sizes().current_size, 50 + len2);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn write_errors_are_reported_and_data_moves_to_the_next_file() {
        let Ok(full) = OpenOptions::new().append(true).open("/dev/full") else {
            return;
        };
        let dir = tmpdir("errors");
        let w = AofWriter::open(
            full,
            "full",
            WriterOptions {
                fsync: FsyncPolicy::Always,
                timestamps: false,
            },
            Sizes::default(),
        )
        .unwrap();
        let off = w.append(Some(0), &["set", "a", "1"]);
        let e = w.wait_durable(off).unwrap_err();
        assert_eq!(e.errno, Some(libc::ENOSPC));
        assert_eq!(e.message, "No space left on device");
        assert!(w.write_error().is_some());
        // A rotation takes the unwritten data along and clears the error.
        let p = dir.join("ok.aof");
        w.rotate(open_incr(&p, true).unwrap(), "ok.aof");
        let off2 = w.append(Some(0), &["set", "b", "2"]);
        let t = Instant::now();
        loop {
            if w.wait_durable(off2).is_ok() {
                break;
            }
            assert!(t.elapsed() < Duration::from_secs(5), "still failing");
            std::thread::sleep(Duration::from_millis(20));
        }
        assert!(w.write_error().is_none());
        w.shutdown().unwrap();
        assert_eq!(
            read_cmds(&p),
            vec![
                a(&["SELECT", "0"]),
                a(&["set", "a", "1"]),
                a(&["SELECT", "0"]),
                a(&["set", "b", "2"])
            ]
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn async_wait() {
        let dir = tmpdir("async");
        let p = dir.join("x.aof");
        let w = AofWriter::open(
            open_incr(&p, true).unwrap(),
            "x.aof",
            WriterOptions {
                fsync: FsyncPolicy::Always,
                timestamps: false,
            },
            Sizes::default(),
        )
        .unwrap();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let off = w.append(Some(0), &["set", "a", "1"]);
        rt.block_on(w.wait_durable_async(off)).unwrap();
        assert!(w.progress().durable >= off);
        w.shutdown().unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn rotation_fsyncs_the_old_file_in_the_background() {
        let dir = tmpdir("rotsync");
        let w = AofWriter::open(
            open_incr(&dir.join("1"), true).unwrap(),
            "1",
            WriterOptions {
                fsync: FsyncPolicy::No,
                timestamps: false,
            },
            Sizes::default(),
        )
        .unwrap();
        let off = w.append(Some(0), &["set", "a", "1"]);
        w.wait_written(off).unwrap();
        assert_eq!(w.progress().durable, 0);
        let r = w.rotate(open_incr(&dir.join("2"), true).unwrap(), "2");
        w.wait_rotated(r).unwrap();
        // The old file's fsync covers everything before the switch.
        w.wait_durable(r.offset).unwrap();
        let off2 = w.append(Some(0), &["set", "b", "2"]);
        w.wait_written(off2).unwrap();
        assert!(w.progress().durable < off2);
        // Switching to always: the next batch is synced inline.
        w.set_fsync(FsyncPolicy::Always);
        let off3 = w.append(Some(0), &["set", "c", "3"]);
        w.wait_durable(off3).unwrap();
        w.shutdown().unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
