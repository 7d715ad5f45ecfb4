//! The AOF in the running server: loading it at start, opening it for
//! appends, BGREWRITEAOF (a fork-free snapshot as the new base, taken at
//! the same instant the writer switches to a new incr file), automatic
//! rewrites, turning it on and off at run time, and INFO's AOF fields.
//! The files themselves are `aof/`'s; what each command logs is
//! `propagate.rs`'s.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

use parking_lot::{Mutex, RwLock};

use larder_protocol::{Reply, Resp};

use crate::aof::{self, Aof, AofConfig, FsyncPolicy, LoadOptions, LoadSink, LoadStatus, Manifest, WriterOptions};
use crate::client::{Client, ClientInfo};
use crate::persist::{self, SaveError};
use crate::server::Server;

/// The AOF's state in the server.
#[derive(Default)]
pub struct AofState {
    handle: RwLock<Option<Arc<Aof>>>,
    on: AtomicBool,
    rewriting: AtomicBool,
    scheduled: AtomicBool,
    /// `appendonly yes` was set at run time; the next rewrite opens it.
    enabling: AtomicBool,
    stats: Mutex<RewriteStats>,
}

impl std::fmt::Debug for AofState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AofState").field("on", &self.on).finish_non_exhaustive()
    }
}

#[derive(Debug, Default)]
struct RewriteStats {
    last_secs: Option<u64>,
    current_start: Option<Instant>,
    last_ok: bool,
    rewrites: u64,
    consecutive_failures: u64,
    last_peak_buffered: usize,
    ever_ran: bool,
}

impl AofState {
    /// The open AOF, when appends go to one.
    #[inline]
    pub fn handle(&self) -> Option<Arc<Aof>> {
        if !self.on.load(Ordering::Acquire) {
            return None;
        }
        self.handle.read().clone()
    }

    pub fn is_on(&self) -> bool {
        self.on.load(Ordering::Acquire)
    }

    pub fn rewrite_in_progress(&self) -> bool {
        self.rewriting.load(Ordering::Acquire)
    }

    fn install(&self, aof: Option<Arc<Aof>>, server: &Server) {
        if let Some(a) = &aof {
            let (monitor, clock) = (server.latency.clone(), server.clock.clone());
            a.writer().set_latency_hook(Arc::new(move |event, usec| {
                monitor.observe(event, usec, || larder_engine::Clock::now_ms(&*clock) / 1000);
            }));
        }
        let on = aof.is_some();
        *self.handle.write() = aof;
        self.on.store(on, Ordering::Release);
    }

    /// The AOF's last write failed: writes are refused with this
    /// -MISCONF text (Redis's writeCommandsGetDiskErrorMessage).
    pub fn write_error(&self) -> Option<String> {
        let aof = self.handle()?;
        let e = aof.writer().write_error()?;
        Some(format!("-MISCONF Errors writing to the AOF file: {e}"))
    }
}

fn aof_config(server: &Server) -> AofConfig {
    let cfg = server.config.read();
    let extra = |name: &str, default: &str| cfg.extras.get(name).cloned().unwrap_or_else(|| default.to_string());
    AofConfig {
        dir: Path::new(&cfg.dir).join(extra("appenddirname", "appendonlydir")),
        aof_filename: extra("appendfilename", "appendonly.aof"),
        use_rdb_preamble: cfg.flag("aof-use-rdb-preamble", true),
        disable_auto_gc: cfg.flag("aof-disable-auto-gc", false),
        writer: WriterOptions {
            fsync: FsyncPolicy::parse(&extra("appendfsync", "everysec")).unwrap_or(FsyncPolicy::EverySec),
            timestamps: cfg.flag("aof-timestamp-enabled", false),
        },
    }
}

/// Keys removed by expiry and eviction are logged for the AOF's DELs,
/// the `expired` / `evicted` notifications and tracking invalidations:
/// on while any of them wants them (`also`: the AOF is about to open).
fn log_removals(server: &Server, also: bool) {
    let on = also
        || server.aof.is_on()
        || server.aof.enabling.load(Ordering::Acquire)
        || server.notify.wants_removals()
        || server.tracking.ever();
    for mut g in server.keyspace.lock_all() {
        for db in g.dbs.iter_mut() {
            db.log_expired = on;
            if !on {
                db.expired_log.clear();
                db.evicted_log.clear();
            }
        }
    }
}

/// Re-applies the removal logging the AOF, notifications and tracking
/// want after one of them changed. A caller holding shard locks (CONFIG
/// SET inside EXEC) has it done on a thread, which waits for them.
pub fn sync_removal_logging(server: &Server, locks_held: bool) {
    if !locks_held {
        log_removals(server, false);
        return;
    }
    let Some(me) = server.arc() else {
        return;
    };
    let _ = std::thread::Builder::new()
        .name("log-removals".into())
        .spawn(move || log_removals(&me, false));
}

/// Replays loaded commands as Redis's fake AOF client: no replies, the
/// db it SELECTs kept, MULTI queued until EXEC.
struct Replay<'a> {
    server: &'a Server,
    client: Client,
    out: Reply,
    loaded: u64,
}

#[derive(Debug)]
enum ReplayError {
    Rdb(larder_engine::rdb::RdbError),
    Unknown(String),
}

impl std::fmt::Display for ReplayError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReplayError::Rdb(e) => write!(f, "{e}"),
            ReplayError::Unknown(m) => f.write_str(m),
        }
    }
}

impl LoadSink for Replay<'_> {
    type Error = ReplayError;

    fn rdb(&mut self, _file_name: &str, r: &mut dyn std::io::Read) -> Result<(), ReplayError> {
        persist::load_rdb(self.server, r).map(|_| ()).map_err(|e| {
            let e = ReplayError::Rdb(e);
            tracing::warn!("Error reading the RDB base of the AOF: {e}");
            e
        })
    }

    fn command(&mut self, file_name: &str, cmd: aof::load::Command) -> Result<(), ReplayError> {
        let args: Vec<&[u8]> = cmd.argv.iter().map(|a| a.as_slice()).collect();
        if args.is_empty() {
            return Ok(());
        }
        if self.server.commands.resolve(&args).is_none() {
            let name = String::from_utf8_lossy(args[0]).into_owned();
            let msg = format!("Unknown command '{name}' reading the append only file {file_name}");
            tracing::warn!("{msg}");
            return Err(ReplayError::Unknown(msg));
        }
        crate::dispatch::execute(self.server, &mut self.client, &mut self.out, &args);
        self.out.buf.clear();
        let _ = self.out.take_errors();
        self.loaded += 1;
        Ok(())
    }
}

/// Loads the AOF at start and opens it for appends (appendonly yes).
/// With no AOF on disk, a base of the (empty) dataset is written first,
/// as Redis does; dump.rdb is not read when the AOF is on.
pub fn load_at_start(server: &Arc<Server>) -> Result<(), String> {
    let cfg = aof_config(server);
    let filename = cfg.aof_filename.clone();
    let mut manifest = Manifest::load(&cfg.dir, &filename).map_err(|e| {
        for l in e.log_lines() {
            tracing::warn!("{l}");
        }
        e.to_string()
    })?;
    let server_dir = PathBuf::from(server.config.read().dir.clone());
    manifest
        .upgrade_if_needed(&server_dir, &cfg.dir)
        .map_err(|e| format!("Failed to upgrade the AOF: {e}"))?;
    let started = Instant::now();
    let info = Arc::new(ClientInfo::new(u64::MAX, "aof".into(), String::new(), -1, false, 0));
    let mut client = Client::new(info, true);
    client.aof_loader = true;
    let mut sink = Replay {
        server,
        client,
        out: Reply::new(Resp::V2),
        loaded: 0,
    };
    let load_truncated = server.config.read().flag("aof-load-truncated", true);
    let summary =
        aof::load_files(&cfg.dir, &manifest, LoadOptions { load_truncated }, &mut sink).map_err(|e| format!("{e}"))?;
    if summary.status != LoadStatus::NotExist {
        tracing::info!(
            "DB loaded from append only file: {:.3} seconds",
            started.elapsed().as_secs_f64()
        );
    }
    let srv: &Server = server;
    let preamble = cfg.use_rdb_preamble;
    let opened = Aof::open(cfg, manifest, &summary, |tmp| write_base(srv, tmp, preamble)).map_err(|e| e.to_string())?;
    log_removals(server, true);
    server.aof.install(Some(Arc::new(opened)), server);
    Ok(())
}

/// A base file of the current dataset (only at first start: nothing else
/// runs yet).
fn write_base(server: &Server, path: &Path, preamble: bool) -> std::io::Result<()> {
    let res = if preamble {
        persist::save_to(server, path, true, None)
    } else {
        match server.keyspace.begin_snapshot(persist::record_format(server)) {
            Some(snap) => write_command_base(server, snap, path),
            None => Err(SaveError::Busy),
        }
    };
    match res {
        Ok(_) => Ok(()),
        Err(SaveError::Io(e)) => Err(e),
        Err(e) => Err(std::io::Error::other(e.to_string())),
    }
}

/// BGREWRITEAOF: Err(Busy) when a snapshot runs (the caller schedules).
pub fn start_rewrite(server: &Arc<Server>) -> Result<(), SaveError> {
    let st = &server.aof;
    if st.rewriting.swap(true, Ordering::AcqRel) {
        return Err(SaveError::Busy);
    }
    if server.keyspace.snapshot_in_progress() || server.persist.bgsave_in_progress() {
        st.rewriting.store(false, Ordering::Release);
        return Err(SaveError::Busy);
    }
    st.scheduled.store(false, Ordering::Relaxed);
    {
        let mut s = st.stats.lock();
        s.current_start = Some(Instant::now());
        s.ever_ran = true;
    }
    let srv = server.clone();
    let spawned = std::thread::Builder::new().name("aof-rewrite".into()).spawn(move || {
        persist::background_priority();
        let started = Instant::now();
        let res = rewrite(&srv);
        let st = &srv.aof;
        let mut s = st.stats.lock();
        s.current_start = None;
        s.last_secs = Some(started.elapsed().as_secs());
        match res {
            Ok(peak) => {
                s.last_ok = true;
                s.rewrites += 1;
                s.consecutive_failures = 0;
                s.last_peak_buffered = peak;
                tracing::info!("Background AOF rewrite finished successfully");
            }
            Err(e) => {
                s.last_ok = false;
                s.consecutive_failures += 1;
                tracing::warn!("Background AOF rewrite failed: {e}");
            }
        }
        drop(s);
        st.rewriting.store(false, Ordering::Release);
        crate::alloc::flush_thread();
    });
    if let Err(e) = spawned {
        st.rewriting.store(false, Ordering::Release);
        return Err(SaveError::Io(e));
    }
    tracing::info!("Background append only file rewriting started");
    Ok(())
}

/// The rewrite itself: with every shard locked, the writer switches to a
/// new incr file and the snapshot starts, at one instant; the snapshot
/// becomes the new base. A pending run-time `appendonly yes` opens the
/// AOF (on its temp incr) at that same instant.
fn rewrite(server: &Server) -> Result<usize, String> {
    let format = persist::record_format(server);
    let mut guards = server.keyspace.lock_all();
    let Some(snap) = server.keyspace.begin_snapshot_locked(&mut guards, format) else {
        return Err("another snapshot is running".into());
    };
    let (aof, tmp) = match server.aof.handle() {
        Some(aof) => match aof.begin_rewrite() {
            Ok(tmp) => (aof, tmp),
            Err(e) => return Err(e.to_string()),
        },
        None if server.aof.enabling.load(Ordering::Acquire) => {
            let cfg = aof_config(server);
            let manifest = Manifest::load(&cfg.dir, &cfg.aof_filename).map_err(|e| e.to_string())?;
            let (aof, tmp) = Aof::enable(cfg, manifest).map_err(|e| e.to_string())?;
            for g in guards.iter_mut() {
                for db in g.dbs.iter_mut() {
                    db.log_expired = true;
                    db.expired_log.clear();
                }
            }
            let aof = Arc::new(aof);
            server.aof.install(Some(aof.clone()), server);
            server.aof.enabling.store(false, Ordering::Release);
            (aof, tmp)
        }
        None => {
            // BGREWRITEAOF with the AOF off: a base and a manifest only.
            drop(guards);
            let cfg = aof_config(server);
            let mut peak = 0;
            Aof::rewrite_base_only(&cfg, |tmp| {
                let written = if cfg.use_rdb_preamble {
                    persist::write_snapshot(server, snap, tmp, true, None, true)
                } else {
                    write_command_base(server, snap, tmp)
                };
                let report = written.map_err(|e| match e {
                    SaveError::Io(e) => e,
                    e => std::io::Error::other(e.to_string()),
                })?;
                peak = report.peak_buffered;
                Ok(())
            })
            .map_err(|e| e.to_string())?;
            return Ok(peak);
        }
    };
    drop(guards);
    let preamble = aof.config().use_rdb_preamble;
    let written = if preamble {
        persist::write_snapshot(server, snap, &tmp, true, None, true)
    } else {
        write_command_base(server, snap, &tmp)
    };
    let report = match written {
        Ok(r) => r,
        Err(e) => {
            if aof.waiting_rewrite() {
                // The first rewrite of an enabling failed: off again (as
                // Redis: stopAppendOnly after a failed first rewrite).
                server.aof.install(None, server);
                log_removals(server, false);
                if let Ok(a) = Arc::try_unwrap(aof) {
                    a.abort_rewrite(&tmp);
                    a.discard();
                }
            } else {
                aof.abort_rewrite(&tmp);
            }
            return Err(e.to_string());
        }
    };
    aof.finish_rewrite(&tmp).map_err(|e| e.to_string())?;
    Ok(report.peak_buffered)
}

/// A base of commands (`aof-use-rdb-preamble no`, Redis's
/// rewriteAppendOnlyFileRio): the snapshot is written as an RDB file
/// next to `path`, then read back key by key into SELECT, SET, RPUSH,
/// SADD, ZADD, HMSET (64 items a command) and PEXPIREAT.
fn write_command_base(
    server: &Server,
    snap: larder_engine::Snapshot<'_>,
    path: &Path,
) -> Result<persist::SaveReport, SaveError> {
    use larder_engine::Value;
    use std::io::Write;
    const ITEMS: usize = 64;
    let rdb = path.with_extension("rdb-tmp");
    let report = persist::write_snapshot(server, snap, &rdb, true, None, true)?;
    let res = (|| -> std::io::Result<()> {
        let input = std::io::BufReader::new(std::fs::File::open(&rdb)?);
        let file = std::fs::File::create(path)?;
        let mut out = std::io::BufWriter::new(file);
        let mut buf = Vec::new();
        // Function libraries first (rewriteFunctions).
        for lib in server.scripting.functions.libraries() {
            aof::writer::encode_command(&mut buf, &[&b"FUNCTION"[..], b"LOAD", &lib.code]);
        }
        out.write_all(&buf)?;
        buf.clear();
        let mut db = None;
        let mut io_err = None;
        let limits = server.limits();
        let read = larder_engine::rdb::read_file(input, &limits, |e| {
            buf.clear();
            if db != Some(e.db) {
                aof::writer::encode_select(&mut buf, e.db as usize);
                db = Some(e.db);
            }
            let key = e.key.as_slice();
            let batches = |buf: &mut Vec<u8>, cmd: &[u8], items: Vec<Vec<Vec<u8>>>| {
                for chunk in items.chunks(ITEMS) {
                    let mut argv: Vec<&[u8]> = vec![cmd, key];
                    argv.extend(chunk.iter().flatten().map(Vec::as_slice));
                    aof::writer::encode_command(buf, &argv);
                }
            };
            match &e.value {
                Value::List(l) => batches(&mut buf, b"RPUSH", l.iter().map(|i| vec![i.to_vec()]).collect()),
                Value::Set(s) => batches(&mut buf, b"SADD", s.iter().map(|m| vec![m.to_vec()]).collect()),
                Value::Hash(h) => batches(
                    &mut buf,
                    b"HMSET",
                    h.iter().map(|(f, v)| vec![f.to_vec(), v.to_vec()]).collect(),
                ),
                Value::ZSet(z) => batches(
                    &mut buf,
                    b"ZADD",
                    z.to_vec()
                        .into_iter()
                        .map(|(m, s)| vec![larder_engine::rdb::fmt_17g(s).into_bytes(), m])
                        .collect(),
                ),
                v => {
                    let mut scratch = larder_engine::value::itoa_buf::Buf::default();
                    let bytes = v.as_bytes(&mut scratch).unwrap_or_default().to_vec();
                    aof::writer::encode_command(&mut buf, &[b"SET".as_slice(), key, &bytes]);
                }
            }
            if let Some(at) = e.expire_ms {
                let at = at.to_string();
                aof::writer::encode_command(&mut buf, &[b"PEXPIREAT".as_slice(), key, at.as_bytes()]);
            }
            if let Err(err) = out.write_all(&buf) {
                io_err = Some(err);
                return Err(larder_engine::rdb::RdbError::Corrupt("write error"));
            }
            Ok(())
        });
        if let Some(e) = io_err {
            return Err(e);
        }
        read.map_err(|e| std::io::Error::other(e.to_string()))?;
        let file = out.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()
    })();
    let _ = std::fs::remove_file(&rdb);
    res.map(|_| report).map_err(SaveError::Io)
}

/// CONFIG SET of `appendfsync` or `aof-timestamp-enabled`: the open AOF
/// follows at once.
pub fn configure(server: &Server) {
    let Some(aof) = server.aof.handle() else {
        return;
    };
    let opts = aof_config(server).writer;
    if aof.writer().fsync_policy() != opts.fsync {
        aof.writer().set_fsync(opts.fsync);
    }
    aof.writer().set_timestamps(opts.timestamps);
}

/// `CONFIG SET appendonly yes|no` at run time. `yes` starts a rewrite
/// that opens the AOF at the instant its snapshot starts (scheduled if a
/// snapshot runs).
pub fn set_enabled(server: &Arc<Server>, on: bool) -> Result<(), String> {
    if server.persist.loading.load(Ordering::Acquire) {
        // The loader opens the AOF when it is done (appendonly yes at start).
        return Ok(());
    }
    if on == (server.aof.is_on() || server.aof.enabling.load(Ordering::Acquire)) {
        return Ok(());
    }
    if on {
        server.aof.enabling.store(true, Ordering::Release);
        if start_rewrite(server).is_err() {
            tracing::info!(
                "AOF was enabled but there is already another background operation. An AOF background was scheduled to start when possible."
            );
            server.aof.scheduled.store(true, Ordering::Relaxed);
        }
        Ok(())
    } else {
        server.aof.enabling.store(false, Ordering::Release);
        let old = server.aof.handle.write().take();
        server.aof.on.store(false, Ordering::Release);
        if let Some(aof) = old {
            let _ = aof.shutdown();
        }
        // Stop logging removals (unless notifications or tracking want
        // them); CONFIG SET may run inside EXEC, which holds every shard.
        sync_removal_logging(server, true);
        Ok(())
    }
}

/// Flushes and fsyncs the AOF (shutdown).
pub fn shutdown(server: &Server) {
    if let Some(aof) = server.aof.handle() {
        if let Err(e) = aof.shutdown() {
            tracing::warn!("Error flushing the AOF at shutdown: {e}");
        }
    }
}

/// serverCron's part: scheduled and automatic rewrites, the fsync policy
/// following CONFIG SET, DELs of keys the cron expired.
pub fn cron(server: &Arc<Server>) {
    let Some(aof) = server.aof.handle() else {
        if server.aof.scheduled.load(Ordering::Relaxed)
            && !server.aof.rewrite_in_progress()
            && !server.keyspace.snapshot_in_progress()
        {
            let _ = start_rewrite(server);
        }
        return;
    };
    let (policy, pct, min) = {
        let cfg = server.config.read();
        let extra = |n: &str, d: &str| cfg.extras.get(n).cloned().unwrap_or_else(|| d.to_string());
        (
            FsyncPolicy::parse(&extra("appendfsync", "everysec")).unwrap_or(FsyncPolicy::EverySec),
            extra("auto-aof-rewrite-percentage", "100")
                .parse::<u64>()
                .unwrap_or(100),
            crate::config::parse_memory(&extra("auto-aof-rewrite-min-size", "67108864")).unwrap_or(64 << 20),
        )
    };
    if aof.writer().fsync_policy() != policy {
        aof.writer().set_fsync(policy);
    }
    if server.aof.rewrite_in_progress() || server.keyspace.snapshot_in_progress() {
        return;
    }
    if server.aof.scheduled.load(Ordering::Relaxed) {
        let _ = start_rewrite(server);
        return;
    }
    let sizes = aof.writer().sizes();
    if pct > 0 && sizes.current_size >= min {
        let base = sizes.base_size.max(1);
        let growth = (sizes.current_size.saturating_sub(base)) * 100 / base;
        if growth >= pct {
            tracing::info!("Starting automatic rewriting of AOF on {growth}% growth");
            let _ = start_rewrite(server);
        }
    }
}

/// BGREWRITEAOF with a snapshot running: start when it ends.
pub fn schedule_rewrite(server: &Server) {
    server.aof.scheduled.store(true, Ordering::Relaxed);
}

/// INFO persistence's AOF lines.
pub fn info(server: &Server, f: &mut dyn FnMut(&str, &dyn std::fmt::Display)) {
    let st = &server.aof;
    let s = st.stats.lock();
    let aof = st.handle();
    f(
        "aof_enabled",
        &u8::from(aof.is_some() || st.enabling.load(Ordering::Relaxed)),
    );
    f("aof_rewrite_in_progress", &u8::from(st.rewrite_in_progress()));
    f("aof_rewrite_scheduled", &u8::from(st.scheduled.load(Ordering::Relaxed)));
    f("aof_last_rewrite_time_sec", &s.last_secs.map_or(-1, |x| x as i64));
    f(
        "aof_current_rewrite_time_sec",
        &s.current_start.map_or(-1, |t| t.elapsed().as_secs() as i64),
    );
    f(
        "aof_last_bgrewrite_status",
        &if s.last_ok || !s.ever_ran { "ok" } else { "err" },
    );
    f("aof_rewrites", &s.rewrites);
    f("aof_rewrites_consecutive_failures", &s.consecutive_failures);
    let write_ok = aof.as_ref().is_none_or(|a| a.writer().write_error().is_none());
    f("aof_last_write_status", &if write_ok { "ok" } else { "err" });
    f("aof_last_cow_size", &s.last_peak_buffered);
    f("module_fork_in_progress", &0);
    f("module_fork_last_cow_size", &0);
    if let Some(a) = aof {
        let sizes = a.writer().sizes();
        f("aof_current_size", &sizes.current_size);
        f("aof_base_size", &sizes.base_size);
        f("aof_pending_rewrite", &u8::from(st.scheduled.load(Ordering::Relaxed)));
        f("aof_buffer_length", &a.writer().buffered());
        f("aof_pending_bio_fsync", &0);
        f("aof_delayed_fsync", &0);
    }
}
