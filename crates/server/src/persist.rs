//! RDB persistence: SAVE and BGSAVE on the engine's fork-free snapshots
//! (`larder_engine::snapshot`), save points, loading at startup, and the
//! state INFO persistence reports.
//!
//! A save writes `temp-<pid>.rdb` in `dir`, fsyncs it, renames it over
//! `dbfilename` and fsyncs the directory, so a crash or a full disk
//! never leaves a torn file where the last good one was. BGSAVE runs the
//! same walk on a thread of its own while commands go on; SAVE runs it on
//! the caller's thread (other clients are served meanwhile, the snapshot
//! is point-in-time all the same). One snapshot runs at a time.

use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;

use larder_engine::rdb::{read_file, Aux, FileWriter, LoadedEntry, RdbError, SaveOptions};
use larder_engine::{AccessField, Policy, RecordFormat, Snapshot};

use crate::server::Server;

/// Redis's CONFIG_BGSAVE_RETRY_DELAY: seconds before a save point
/// retries after a failed background save.
const BGSAVE_RETRY_DELAY: u64 = 5;

/// What INFO persistence, LASTSAVE and the save points read.
#[derive(Debug)]
pub struct Persistence {
    state: Mutex<State>,
    /// The dataset is being loaded (commands without the `loading` flag
    /// get -LOADING).
    pub loading: AtomicBool,
    /// Set when the last background save failed and writes should be
    /// refused (`stop-writes-on-bgsave-error` decides at the check).
    bgsave_failed: AtomicBool,
    /// A background save is running.
    bgsave_running: AtomicBool,
    /// Asks the running background save to stop (shutdown, FLUSHALL).
    cancel: AtomicBool,
    /// Held while a save puts its file in place, so a cancelled save
    /// cannot rename over a newer file.
    rename_lock: Mutex<()>,
    /// Keys of the running save: total and written so far.
    save_keys_total: AtomicU64,
    save_keys_done: AtomicU64,
}

#[derive(Debug)]
struct State {
    /// Unix seconds of the last successful save (start time at first).
    last_save: u64,
    /// Unix seconds of the last background save attempt.
    last_bgsave_try: u64,
    last_bgsave_ok: bool,
    last_bgsave_secs: Option<u64>,
    current_start: Option<Instant>,
    saves: u64,
    /// The server's change counter at the last successful save.
    dirty_at_save: u64,
    /// BGSAVE SCHEDULE (or BGSAVE inside EXEC) is waiting to start.
    scheduled: bool,
    /// The most bytes commands had to buffer during the last save.
    last_peak_buffered: usize,
    last_load_keys_loaded: u64,
    last_load_keys_expired: u64,
    loading_start: u64,
    loading_total_bytes: u64,
}

impl Persistence {
    pub fn new(now_secs: u64) -> Persistence {
        Persistence {
            state: Mutex::new(State {
                last_save: now_secs,
                last_bgsave_try: 0,
                last_bgsave_ok: true,
                last_bgsave_secs: None,
                current_start: None,
                saves: 0,
                dirty_at_save: 0,
                scheduled: false,
                last_peak_buffered: 0,
                last_load_keys_loaded: 0,
                last_load_keys_expired: 0,
                loading_start: 0,
                loading_total_bytes: 0,
            }),
            loading: AtomicBool::new(false),
            bgsave_failed: AtomicBool::new(false),
            bgsave_running: AtomicBool::new(false),
            cancel: AtomicBool::new(false),
            rename_lock: Mutex::new(()),
            save_keys_total: AtomicU64::new(0),
            save_keys_done: AtomicU64::new(0),
        }
    }

    pub fn last_save(&self) -> u64 {
        self.state.lock().last_save
    }

    pub fn bgsave_in_progress(&self) -> bool {
        self.bgsave_running.load(Ordering::Acquire)
    }

    /// Whether writes are refused with -MISCONF: the last background save
    /// failed, save points are set and `stop-writes-on-bgsave-error` is on.
    #[inline]
    pub fn writes_denied(&self, server: &Server) -> bool {
        if !self.bgsave_failed.load(Ordering::Relaxed) {
            return false;
        }
        let cfg = server.config.read();
        !cfg.save.is_empty() && cfg.flag("stop-writes-on-bgsave-error", true)
    }
}

impl Persistence {
    /// A save succeeded: the changes counter restarts from `dirty` (its
    /// value when the snapshot started), LASTSAVE moves, -MISCONF clears.
    fn saved(&self, st: &mut State, dirty: u64, peak_buffered: usize) {
        st.dirty_at_save = dirty;
        st.last_save = unix_secs();
        st.last_bgsave_ok = true;
        st.saves += 1;
        st.last_peak_buffered = peak_buffered;
        self.bgsave_failed.store(false, Ordering::Relaxed);
    }
}

/// The AUX fields of a file written now.
fn aux_now(aof_base: bool) -> Aux {
    Aux {
        redis_ver: crate::server::REDIS_VERSION.to_string(),
        ctime_secs: unix_secs() as i64,
        used_mem: crate::stats::used_memory().unwrap_or(0) as i64,
        aof_base,
    }
}

/// Renames a complete, fsynced `tmp` over `path` and fsyncs `dir`, so
/// the new file is there after a crash and the old one until then.
fn put_in_place(tmp: &Path, path: &Path, dir: &Path) -> std::io::Result<()> {
    std::fs::rename(tmp, path)?;
    if let Ok(d) = File::open(dir) {
        d.sync_all()?;
    }
    Ok(())
}

/// The -MISCONF error of writeCommandsGetDiskErrorMessage.
pub const MISCONF: &str = "-MISCONF Redis is configured to save RDB snapshots, but it's currently unable to persist to disk. Commands that may modify the data set are disabled, because this instance is configured to report errors during writes if RDB snapshotting fails (stop-writes-on-bgsave-error option). Please check the Redis logs for details about the RDB error.";

pub const LOADING: &str = "-LOADING Redis is loading the dataset in memory";

fn unix_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// `dir`/`dbfilename`.
pub fn rdb_path(server: &Server) -> PathBuf {
    let cfg = server.config.read();
    Path::new(&cfg.dir).join(&cfg.dbfilename)
}

/// Why a save did not happen.
#[derive(Debug)]
pub enum SaveError {
    /// Another snapshot (BGSAVE, rewrite) is running.
    Busy,
    /// Stopped on request (shutdown, FLUSHALL): not a failure.
    Cancelled,
    Io(std::io::Error),
}

impl std::fmt::Display for SaveError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SaveError::Busy => f.write_str("another save is in progress"),
            SaveError::Cancelled => f.write_str("the save was cancelled"),
            SaveError::Io(e) => write!(f, "{e}"),
        }
    }
}

/// What a finished save measured.
#[derive(Debug, Clone, Copy, Default)]
pub struct SaveReport {
    pub keys: u64,
    pub bytes: u64,
    pub peak_buffered: usize,
}

/// Writes a snapshot of every db to `path` (through a temp file, fsync,
/// rename, fsync of the directory). Returns `Busy` at once if another
/// snapshot is running. `cancel`, when set, stops it (an error).
pub fn save_to(
    server: &Server,
    path: &Path,
    aof_base: bool,
    cancel: Option<&AtomicBool>,
) -> Result<SaveReport, SaveError> {
    let Some(snap) = server.keyspace.begin_snapshot(record_format(server)) else {
        return Err(SaveError::Busy);
    };
    // A background save (it can be cancelled) is paced; SAVE is not.
    write_snapshot(server, snap, path, aof_base, cancel, cancel.is_some())
}

/// The record format saves use now (`rdbcompression`, the policy's
/// access data).
pub fn record_format(server: &Server) -> RecordFormat {
    let cfg = server.config.read();
    let access = match cfg.maxmemory_policy {
        Policy::AllKeysLru | Policy::VolatileLru => AccessField::Idle,
        Policy::AllKeysLfu | Policy::VolatileLfu => AccessField::Freq,
        _ => AccessField::None,
    };
    RecordFormat {
        compress: cfg.flag("rdbcompression", true),
        access,
    }
}

/// Writes a started snapshot to `path` as an RDB file (through a temp
/// file in the same directory, fsync, rename, fsync of the directory);
/// `aof_base` sets the aux field of AOF base files.
pub fn write_snapshot(
    server: &Server,
    mut snap: Snapshot<'_>,
    path: &Path,
    aof_base: bool,
    cancel: Option<&AtomicBool>,
    paced: bool,
) -> Result<SaveReport, SaveError> {
    let format = record_format(server);
    let checksum = server.config.read().flag("rdbchecksum", true);
    let p = &server.persist;
    p.save_keys_total.store(snap.stats().keys_total, Ordering::Relaxed);
    p.save_keys_done.store(0, Ordering::Relaxed);
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let tmp = dir.join(format!("temp-{}.rdb", std::process::id()));
    let result = (|| -> std::io::Result<SaveReport> {
        let file = File::create(&tmp)?;
        let mut w = FileWriter::new(
            BufWriter::with_capacity(1 << 16, file),
            SaveOptions {
                compression: format.compress,
                checksum,
            },
        )?;
        w.aux_fields(&aux_now(aof_base))?;
        // The function libraries, after the AUX fields (rdbSaveFunctions).
        w.raw(&server.scripting.functions.rdb_records(format.compress))?;
        let mut buf = Vec::with_capacity(1 << 16);
        let mut bytes = 0u64;
        let mut steps = 0u32;
        let mut worked = Duration::ZERO;
        loop {
            let step_start = Instant::now();
            let more = snap.step(&mut buf);
            worked += step_start.elapsed();
            if !buf.is_empty() {
                w.raw(&buf)?;
                bytes += buf.len() as u64;
                buf.clear();
            }
            steps = steps.wrapping_add(1);
            // A background snapshot works half the time: every shard lock
            // it takes delays the commands waiting for that shard, and on
            // a busy machine its CPU is theirs.
            if paced && steps.is_multiple_of(16) {
                std::thread::sleep(std::mem::take(&mut worked).min(Duration::from_millis(20)));
            }
            if steps.is_multiple_of(64) {
                p.save_keys_done.store(snap.stats().keys_written, Ordering::Relaxed);
                if cancel.is_some_and(|c| c.load(Ordering::Relaxed)) {
                    return Err(std::io::Error::other("the save was cancelled"));
                }
            }
            if !more {
                break;
            }
        }
        let stats = snap.stats();
        let out = w.finish()?;
        let file = out.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()?;
        drop(file);
        let _placing = p.rename_lock.lock();
        if cancel.is_some_and(|c| c.load(Ordering::Relaxed)) {
            return Err(std::io::Error::other("the save was cancelled"));
        }
        put_in_place(&tmp, path, dir)?;
        Ok(SaveReport {
            keys: stats.keys_written,
            bytes,
            peak_buffered: stats.peak_buffered,
        })
    })();
    // Dropping an unfinished snapshot completes its walk without output.
    drop(snap);
    p.save_keys_done.store(0, Ordering::Relaxed);
    p.save_keys_total.store(0, Ordering::Relaxed);
    result.map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        if cancel.is_some_and(|c| c.load(Ordering::Relaxed)) {
            SaveError::Cancelled
        } else {
            SaveError::Io(e)
        }
    })
}

/// SAVE (and SHUTDOWN's save): a save on this thread. On success the
/// changes counter restarts and LASTSAVE moves.
pub fn save(server: &Server) -> Result<SaveReport, SaveError> {
    let dirty = server.dirty();
    let path = rdb_path(server);
    match save_to(server, &path, false, None) {
        Ok(r) => {
            server
                .persist
                .saved(&mut server.persist.state.lock(), dirty, r.peak_buffered);
            tracing::info!("DB saved on disk");
            Ok(r)
        }
        Err(e) => {
            tracing::warn!("Failed saving the DB: {e}");
            Err(e)
        }
    }
}

/// BGSAVE: starts a save on its own thread. Err(Busy) if a snapshot is
/// running.
pub fn bgsave(server: &Arc<Server>) -> Result<(), SaveError> {
    let p = &server.persist;
    if p.bgsave_running.swap(true, Ordering::AcqRel) {
        return Err(SaveError::Busy);
    }
    if server.keyspace.snapshot_in_progress() || server.aof.rewrite_in_progress() {
        p.bgsave_running.store(false, Ordering::Release);
        return Err(SaveError::Busy);
    }
    let dirty = server.dirty();
    {
        let mut st = p.state.lock();
        st.last_bgsave_try = unix_secs();
        st.current_start = Some(Instant::now());
        st.scheduled = false;
    }
    p.cancel.store(false, Ordering::Relaxed);
    let srv = server.clone();
    let spawned = std::thread::Builder::new().name("bgsave".into()).spawn(move || {
        background_priority();
        let started = Instant::now();
        let path = rdb_path(&srv);
        let res = save_to(&srv, &path, false, Some(&srv.persist.cancel));
        let p = &srv.persist;
        {
            let mut st = p.state.lock();
            st.current_start = None;
            st.last_bgsave_secs = Some(started.elapsed().as_secs());
            match &res {
                Ok(r) => {
                    p.saved(&mut st, dirty, r.peak_buffered);
                    tracing::info!("Background saving terminated with success");
                }
                Err(SaveError::Cancelled) => {
                    tracing::warn!("Background saving terminated by request");
                }
                Err(e) => {
                    st.last_bgsave_ok = false;
                    p.bgsave_failed.store(true, Ordering::Relaxed);
                    tracing::warn!("Background saving error: {e}");
                }
            }
        }
        p.bgsave_running.store(false, Ordering::Release);
        crate::alloc::flush_thread();
    });
    if let Err(e) = spawned {
        p.bgsave_running.store(false, Ordering::Release);
        p.state.lock().current_start = None;
        return Err(SaveError::Io(e));
    }
    tracing::info!("Background saving started");
    Ok(())
}

/// Lowers the calling thread's scheduling priority (nice 10), so a
/// background snapshot takes the CPU time commands leave rather than
/// competing with them for it.
pub fn background_priority() {
    #[cfg(target_os = "linux")]
    // SAFETY: setpriority on the calling thread's own id; no memory is
    // touched, and a failure (returned, not signalled) is ignored.
    unsafe {
        let tid = libc::gettid();
        let _ = libc::setpriority(libc::PRIO_PROCESS, tid as libc::id_t, 10);
    }
}

/// BGSAVE SCHEDULE: start when the running snapshot ends.
pub fn schedule_bgsave(server: &Server) {
    server.persist.state.lock().scheduled = true;
}

/// Stops a running background save and waits for it (shutdown).
pub fn cancel_bgsave(server: &Server) {
    let p = &server.persist;
    if !p.bgsave_in_progress() {
        return;
    }
    tracing::warn!("There is a child saving an .rdb. Killing it!");
    p.cancel.store(true, Ordering::Relaxed);
    while p.bgsave_in_progress() {
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// FLUSHALL with save points set (flushAllDataAndResetRDB): a running
/// background save is stopped and an empty file replaces the old one,
/// as the dataset is empty now. Call with the flush's changes counted.
pub fn save_flushed(server: &Server) {
    let p = &server.persist;
    if p.bgsave_in_progress() {
        p.cancel.store(true, Ordering::Relaxed);
    }
    let path = rdb_path(server);
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let tmp = dir.join(format!("temp-flush-{}.rdb", std::process::id()));
    let checksum = server.config.read().flag("rdbchecksum", true);
    let opts = SaveOptions {
        compression: true,
        checksum,
    };
    let aux = aux_now(false);
    let _placing = p.rename_lock.lock();
    let res = (|| -> std::io::Result<()> {
        let bytes = larder_engine::rdb::write_to_vec(opts, Some(&aux), &[])?;
        let mut f = File::create(&tmp)?;
        std::io::Write::write_all(&mut f, &bytes)?;
        f.sync_all()?;
        put_in_place(&tmp, &path, dir)
    })();
    let mut st = p.state.lock();
    match res {
        Ok(()) => {
            let peak = st.last_peak_buffered;
            p.saved(&mut st, server.dirty(), peak);
        }
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            tracing::warn!("Failed saving the DB after FLUSHALL: {e}");
        }
    }
}

/// The save points part of serverCron: starts a BGSAVE when one is due,
/// or a scheduled one when nothing else runs.
pub fn cron(server: &Arc<Server>) {
    let p = &server.persist;
    if p.bgsave_in_progress()
        || server.keyspace.snapshot_in_progress()
        || server.aof.rewrite_in_progress()
        || p.loading.load(Ordering::Relaxed)
    {
        return;
    }
    let (due, scheduled) = {
        let st = p.state.lock();
        let changes = server.dirty().saturating_sub(st.dirty_at_save);
        let now = unix_secs();
        let elapsed = now.saturating_sub(st.last_save);
        let may_retry = st.last_bgsave_ok || now.saturating_sub(st.last_bgsave_try) > BGSAVE_RETRY_DELAY;
        let save = server.config.read().save.clone();
        let mut due = None;
        if may_retry {
            for pair in parse_save_points(&save).chunks(2) {
                if let [secs, min_changes] = *pair {
                    if changes >= min_changes && elapsed > secs {
                        due = Some((changes, secs));
                        break;
                    }
                }
            }
        }
        (due, st.scheduled)
    };
    if let Some((changes, secs)) = due {
        tracing::info!("{changes} changes in {secs} seconds. Saving...");
        let _ = bgsave(server);
    } else if scheduled {
        let _ = bgsave(server);
    }
}

fn parse_save_points(s: &str) -> Vec<u64> {
    s.split_whitespace().filter_map(|w| w.parse().ok()).collect()
}

/// Loads `dbfilename` at startup if it exists, as rdbLoad: keys whose
/// TTL has passed are skipped. Errors are fatal to the caller (Redis
/// exits on a corrupt file). Returns whether a file was loaded.
pub fn load_at_start(server: &Server) -> Result<bool, String> {
    let path = rdb_path(server);
    let file = match File::open(&path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(format!("Fatal error loading the DB: {e}. Exiting.")),
    };
    let started = Instant::now();
    let (loaded, expired) = load_rdb(server, std::io::BufReader::with_capacity(1 << 16, file))
        .map_err(|e| format!("Fatal error loading the DB {}: {e}. Exiting.", path.display()))?;
    tracing::info!(
        "Done loading RDB, keys loaded: {loaded}, keys expired: {expired}.\nDB loaded from disk: {:.3} seconds",
        started.elapsed().as_secs_f64()
    );
    Ok(true)
}

/// Reads an RDB stream into the keyspace. Returns (keys loaded, keys
/// skipped because their TTL had passed).
pub fn load_rdb(server: &Server, r: impl std::io::Read) -> Result<(u64, u64), RdbError> {
    let ks = &server.keyspace;
    let limits = server.limits();
    let dbs = ks.databases() as u64;
    let (mut loaded, mut expired) = (0u64, 0u64);
    let too_many = "Data file was created with a Redis server configured to handle more databases";
    let summary = read_file(r, &limits, |e: LoadedEntry| {
        if e.db >= dbs {
            return Err(RdbError::Corrupt(too_many));
        }
        let now = ks.now_ms();
        if let Some(t) = e.expire_ms {
            if t <= now as i64 {
                expired += 1;
                return Ok(());
            }
        }
        let mut g = ks.lock(ks.shard_of(&e.key));
        let db = g.db(e.db as usize);
        let exp = e.expire_ms.map(|t| t.max(1) as u64);
        db.set(&e.key, e.value, exp, false, now);
        if e.idle_secs.is_some() || e.freq.is_some() {
            let idle = e.idle_secs.map(|s| s.saturating_mul(1000));
            db.set_access_data(&e.key, idle, e.freq, now);
        }
        loaded += 1;
        Ok(())
    })?;
    // Function libraries (FUNCTION2 records) replace those of the same name.
    if !summary.functions.is_empty() {
        let sc = &server.scripting;
        let policy = crate::scripting::functions::Policy::Replace;
        if let Err(e) = sc.functions.install(sc, summary.functions, policy) {
            tracing::warn!("Failed loading the RDB's function libraries: {e}");
            return Err(RdbError::Corrupt("failed loading a function library"));
        }
    }
    let mut st = server.persist.state.lock();
    st.last_load_keys_loaded = loaded;
    st.last_load_keys_expired = expired;
    Ok((loaded, expired))
}

/// Marks the start and end of loading (INFO's loading fields).
pub fn set_loading(server: &Server, on: bool, total_bytes: u64) {
    if on {
        let mut st = server.persist.state.lock();
        st.loading_start = unix_secs();
        st.loading_total_bytes = total_bytes;
    }
    server.persist.loading.store(on, Ordering::Release);
}

/// INFO persistence.
pub fn info(server: &Server, out: &mut String) {
    use std::fmt::Write as _;
    let p = &server.persist;
    let st = p.state.lock();
    let loading = p.loading.load(Ordering::Relaxed);
    let bg = p.bgsave_in_progress();
    let changes = server.dirty().saturating_sub(st.dirty_at_save);
    let mut f = |k: &str, v: &dyn std::fmt::Display| {
        let _ = write!(out, "{k}:{v}\r\n");
    };
    f("loading", &u8::from(loading));
    f("async_loading", &0);
    f("current_cow_peak", &0);
    f("current_cow_size", &0);
    f("current_cow_size_age", &0);
    f("current_fork_perc", &"0.00");
    f("current_save_keys_processed", &p.save_keys_done.load(Ordering::Relaxed));
    f("current_save_keys_total", &p.save_keys_total.load(Ordering::Relaxed));
    if loading {
        f("loading_start_time", &st.loading_start);
        f("loading_total_bytes", &st.loading_total_bytes);
        f("loading_rdb_used_mem", &0);
        f("loading_loaded_bytes", &0);
        f("loading_loaded_perc", &"0.00");
        f("loading_eta_seconds", &1);
    }
    f("rdb_changes_since_last_save", &changes);
    f("rdb_bgsave_in_progress", &u8::from(bg));
    f("rdb_last_save_time", &st.last_save);
    f("rdb_last_bgsave_status", &if st.last_bgsave_ok { "ok" } else { "err" });
    f(
        "rdb_last_bgsave_time_sec",
        &st.last_bgsave_secs.map_or(-1, |s| s as i64),
    );
    f(
        "rdb_current_bgsave_time_sec",
        &st.current_start.map_or(-1, |t| t.elapsed().as_secs() as i64),
    );
    f("rdb_saves", &st.saves);
    f("rdb_last_cow_size", &st.last_peak_buffered);
    f("rdb_last_load_keys_expired", &st.last_load_keys_expired);
    f("rdb_last_load_keys_loaded", &st.last_load_keys_loaded);
    drop(st);
    crate::appendonly::info(server, &mut f);
}

/// prepareForShutdown's save: a running background save is stopped, then
/// the dataset is saved when save points are set (or `save`), unless
/// `nosave`. Returns false when the save failed and `force` is not set:
/// the server must not exit.
pub fn prepare_shutdown(server: &Server, save: bool, nosave: bool, force: bool) -> bool {
    cancel_bgsave(server);
    let save_points = !server.config.read().save.is_empty();
    if save || (save_points && !nosave) {
        tracing::info!("Saving the final RDB snapshot before exiting.");
        match crate::persist::save(server) {
            Ok(_) => {}
            Err(e) => {
                tracing::warn!("Error trying to save the DB, can't exit: {e}");
                if !force {
                    tracing::warn!("Errors trying to shut down the server. Check the logs for more information.");
                    return false;
                }
            }
        }
    }
    // Last, once the server is sure to exit: the AOF's tail on disk.
    crate::appendonly::shutdown(server);
    true
}

/// Loads `dbfilename` on a thread of its own if it exists, with the
/// server answering -LOADING meanwhile; a file that cannot be loaded
/// stops the process, as in Redis.
pub fn start_loading(server: &Arc<Server>) {
    let aof = server.config.read().appendonly;
    let size = if aof {
        0
    } else {
        let Ok(meta) = std::fs::metadata(rdb_path(server)) else {
            return;
        };
        meta.len()
    };
    set_loading(server, true, size);
    let srv = server.clone();
    let spawned = std::thread::Builder::new().name("loader".into()).spawn(move || {
        // With the AOF on, it alone is loaded, as in Redis.
        let res = if aof {
            crate::appendonly::load_at_start(&srv).map(|_| true)
        } else {
            load_at_start(&srv)
        };
        crate::alloc::flush_thread();
        match res {
            Ok(_) => set_loading(&srv, false, 0),
            Err(e) => {
                tracing::warn!("{e}");
                eprintln!("{e}");
                std::process::exit(1);
            }
        }
    });
    if let Err(e) = spawned {
        tracing::warn!("Can't start loading the DB: {e}");
        std::process::exit(1);
    }
}
