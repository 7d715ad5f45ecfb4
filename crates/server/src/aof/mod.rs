//! The append-only file, as Redis 7's multi-part AOF: files, not command
//! execution. Nothing here runs a command; the caller feeds loaded
//! commands to its dispatcher and appends the commands it applied.
//!
//! Layout: the AOF directory (`dir/appenddirname`, default
//! `appendonlydir`) holds a manifest `{appendfilename}.manifest`, at most
//! one base `{appendfilename}.{seq}.base.rdb` (or `.base.aof` without the
//! RDB preamble), and incr files `{appendfilename}.{seq}.incr.aof` of
//! commands in RESP. The pieces:
//!
//! - [`manifest`]: [`Manifest`] (load/parse with Redis's rules and
//!   messages, naming of new base/incr files, history, atomic persist,
//!   history deletion, upgrade of a pre-7.0 single AOF).
//! - [`load`]: [`CommandReader`] (one AOF stream, command by command, with
//!   end offsets) and [`load_files`] / [`load_single_file`] (Redis's
//!   loading semantics into a [`LoadSink`]: RDB base, truncation,
//!   unterminated MULTI, only the last file may be truncated).
//! - [`writer`]: [`AofWriter`] (append from any thread, background writer
//!   thread, `appendfsync` policies, group commit, durable-offset waits,
//!   rotation, sizes, write errors, shutdown).
//! - [`Aof`] here: the manifest and the writer together, for start-up,
//!   BGREWRITEAOF, run-time enabling and shutdown.
//!
//! # How the server uses it
//!
//! **Start-up** (Redis's `loadDataFromDisk` + `aofOpenIfNeededOnServerStart`):
//!
//! ```ignore
//! let aofdir = config.dir.join(&config.appenddirname);
//! let mut manifest = Manifest::load(&aofdir, &config.appendfilename)?; // Err: log e.log_lines(), exit(1)
//! manifest.upgrade_if_needed(&config.dir, &aofdir)?;                 // a pre-7.0 appendonly.aof
//! let summary = load_files(&aofdir, &manifest, LoadOptions { load_truncated }, &mut sink)?;
//! //   sink.rdb(name, reader)  -> larder_engine::rdb::read_file(reader, ...)
//! //   sink.command(name, cmd) -> run cmd.argv as the AOF client (no
//! //                              replies, never blocks; MULTI queues until EXEC)
//! // Err(_): log and exit(1). Ok: unless NotExist, log "DB loaded from append only
//! // file: %.3f seconds". With appendonly yes Redis never loads dump.rdb.
//! let aof = Aof::open(cfg, manifest, &summary, |tmp| write_snapshot(tmp))?;
//! ```
//!
//! `write_snapshot` is only called when the manifest is empty (first
//! start): Redis writes a base of the (empty or RDB-loaded) dataset.
//!
//! **Each write command**, while the shard locks of the write are still
//! held (so the log order of writes to one key is their apply order):
//! `let off = aof.writer().append(Some(db), &argv);` (`append_many` for a
//! MULTI/EXEC block, so nothing interleaves), then with `appendfsync
//! always` reply only after `aof.writer().wait_durable(off)` (or
//! `wait_durable_async(off).await`; many clients share one fsync). Redis
//! also `write(2)`s before replying under `everysec`/`no`; `wait_written`
//! gives that if wanted. While `aof.writer().write_error()` is `Some`,
//! Redis refuses write commands with `-MISCONF Errors writing to the AOF
//! file: <message>`; with `always` a failed write or fsync makes Redis
//! exit (the writer logs Redis's message but leaves exiting to the
//! caller; waiters get the error).
//!
//! **BGREWRITEAOF** (Redis's `rewriteAppendOnlyFileBackground` and
//! `backgroundRewriteDoneHandler`):
//!
//! 1. With every shard locked (no write in flight), `aof.begin_rewrite()`:
//!    a new incr file is created and put in the manifest, and the writer
//!    switches to it at that point of the stream. The snapshot must be of
//!    exactly that point: everything appended before is in the snapshot,
//!    everything after only in the new incr (a snapshot that also saw a
//!    later INCR would replay it twice).
//! 2. Write the snapshot to the temporary path `begin_rewrite` returned
//!    (an RDB with the `aof-base` aux field set when
//!    `aof-use-rdb-preamble yes`, else commands), fsync it.
//! 3. `aof.finish_rewrite(&tmp)`: it becomes the new base, the old base
//!    and incrs become history, the manifest is persisted, history files
//!    are deleted, `aof_current_size`/`aof_base_size` are reset. On
//!    failure, `aof.abort_rewrite(&tmp)` (the new incr stays, as in Redis).
//!
//! **CONFIG SET appendonly yes** (Redis's `startAppendOnly`):
//! `Aof::enable(cfg, Manifest::load(..)?)` starts appending to the temp
//! incr and returns the base's temp path; snapshot and `finish_rewrite`
//! as above. If that rewrite fails, `abort_rewrite` then `discard`.
//! **appendonly no**: `shutdown` (flush + fsync) and drop.
//!
//! **Shutdown**: `aof.shutdown()` flushes and fsyncs.
//!
//! # Differences from Redis
//!
//! - Redis writes the AOF buffer from the event loop before replying and
//!   fsyncs (`everysec`) in a bio thread; here a writer thread writes
//!   (callers wait for it only if they choose to) and a second thread
//!   fsyncs for `everysec` and rotations. Redis postpones writes up to 2 s
//!   while a bio fsync runs (`aof_delayed_fsync`); this writer does not
//!   postpone. No `no-appendfsync-on-rewrite`, no
//!   `aof-rewrite-incremental-fsync` (the snapshot writer's concern).
//! - After a failed write the data is kept and retried every 100 ms (Redis
//!   retries from its cron/beforeSleep); when a rotation is pending it
//!   goes to the new file, as Redis's buffer does.
//! - Manifest file names must be UTF-8 (Redis takes any bytes), and a
//!   name with a `'` is written quoted (Redis writes it bare and then
//!   cannot parse its own manifest); a
//!   negative `$<len>` in an AOF is a format error (Redis would abort on
//!   the allocation). Otherwise parsing follows `fgets`/`atoi`/`strtol`/
//!   `sdssplitargs` exactly, including the unchecked CRLF after an
//!   argument and the 1023-byte line pieces.
//! - A command cut inside MULTI/EXEC is cut off with its whole
//!   transaction, from the MULTI on (Redis cuts after the last complete
//!   command, leaving a MULTI without EXEC that swallows, and at the next
//!   load reverts, everything appended after it; `redis-check-aof --fix`
//!   cuts before the MULTI).
//! - After an RDB base or preamble, the truncation point of a cut AOF
//!   tail with no complete command is the end of the RDB (Redis starts
//!   `valid_up_to` at 0 and would cut the whole file).
//! - The temp base of a rewrite is written in the AOF directory (Redis's
//!   child writes `temp-rewriteaof-bg-<pid>.aof` in the working directory
//!   and renames it in); history files are unlinked synchronously (Redis:
//!   `bg_unlink`).
//! - No rewrite-failure rate limiting (`aofRewriteLimited`) and no
//!   automatic rewrite (`auto-aof-rewrite-percentage`): the caller's, with
//!   `writer().sizes()`.

pub mod load;
pub mod manifest;
pub mod writer;

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use parking_lot::Mutex;

pub use load::{
    load_files, load_single_file, CommandReader, FileStatus, LoadError, LoadOptions, LoadSink, LoadStatus, LoadSummary,
};
pub use manifest::{AofInfo, FileType, Manifest, ManifestError};
pub use writer::{open_incr, AofWriter, FsyncPolicy, Progress, Rotation, Sizes, WriteError, WriterOptions};

/// What [`Aof`] needs from the configuration.
#[derive(Debug, Clone)]
pub struct AofConfig {
    /// The AOF directory: `dir` joined with `appenddirname`.
    pub dir: PathBuf,
    /// `appendfilename`.
    pub aof_filename: String,
    /// `aof-use-rdb-preamble`: the base is an RDB file (`.base.rdb`).
    pub use_rdb_preamble: bool,
    /// `aof-disable-auto-gc`: keep history files after a rewrite.
    pub disable_auto_gc: bool,
    pub writer: WriterOptions,
}

/// The live AOF: the manifest and the writer of its last incr file.
pub struct Aof {
    cfg: AofConfig,
    manifest: Mutex<Manifest>,
    writer: AofWriter,
    /// Serialises rewrites' manifest changes.
    rewrite: Mutex<RewriteState>,
}

#[derive(Default)]
struct RewriteState {
    /// The last rewrite's switch to a new incr.
    switch: Option<Rotation>,
    /// Enabled at run time and the first rewrite has not completed
    /// (Redis's `AOF_WAIT_REWRITE`): the writer is on the temp incr.
    waiting: bool,
}

impl Aof {
    /// Opens the AOF for appending after loading (Redis's
    /// `aofOpenIfNeededOnServerStart`): creates the directory if missing;
    /// with no base and no incr (an empty dataset) writes a base first,
    /// through `write_base(path)` (the caller writes a snapshot of its
    /// dataset to `path`); reopens the last incr or creates the first;
    /// persists the manifest; starts the writer with the load's sizes.
    pub fn open(
        cfg: AofConfig,
        mut manifest: Manifest,
        summary: &LoadSummary,
        write_base: impl FnOnce(&Path) -> io::Result<()>,
    ) -> io::Result<Aof> {
        fs::create_dir_all(&cfg.dir)
            .inspect_err(|e| tracing::warn!("Can't open or create append-only dir {}: {e}", cfg.dir.display()))?;
        let mut base_size = summary.base_size;
        let mut current_size = summary.total_size;
        let had_incrs = !manifest.incrs.is_empty();
        if manifest.base.is_none() && !had_incrs {
            let name = manifest.new_base_file(cfg.use_rdb_preamble);
            let tmp = cfg.dir.join(format!("temp-rewriteaof-{}.aof", std::process::id()));
            let res = write_base(&tmp).and_then(|_| fs::rename(&tmp, cfg.dir.join(&name)));
            if let Err(e) = res {
                let _ = fs::remove_file(&tmp);
                tracing::warn!("Write error writing append only file on disk: {e}");
                return Err(e);
            }
            tracing::info!("Creating AOF base file {name} on server start");
            base_size = fs::metadata(cfg.dir.join(&name)).map(|m| m.len()).unwrap_or(0);
            current_size = base_size;
        }
        let incr = manifest.last_incr_file_or_new();
        let file = open_incr(&cfg.dir.join(&incr), false)
            .inspect_err(|e| tracing::warn!("Can't open the append-only file {incr}: {e}"))?;
        manifest.persist(&cfg.dir)?;
        let writer = AofWriter::open(
            file,
            &incr,
            cfg.writer,
            Sizes {
                current_size,
                base_size,
                incr_size: 0,
            },
        )?;
        if had_incrs {
            tracing::info!("Opening AOF incr file {incr} on server start");
        } else {
            tracing::info!("Creating AOF incr file {incr} on server start");
        }
        Ok(Aof {
            cfg,
            manifest: Mutex::new(manifest),
            writer,
            rewrite: Mutex::new(RewriteState::default()),
        })
    }

    /// Turns AOF on at run time (`CONFIG SET appendonly yes`, Redis's
    /// `startAppendOnly`): the writer starts on the temp incr
    /// `temp-{appendfilename}.incr` and the returned path is where the
    /// first rewrite's base goes; take the snapshot at this point of the
    /// stream (every shard locked), write it there, then
    /// [`Aof::finish_rewrite`] makes the temp incr a real one and persists
    /// the manifest. Until then nothing on disk refers to the new files.
    /// If that rewrite fails, drop this `Aof` (its temp incr is removed
    /// with [`Aof::discard`]) and enable again.
    pub fn enable(cfg: AofConfig, manifest: Manifest) -> io::Result<(Aof, PathBuf)> {
        fs::create_dir_all(&cfg.dir)
            .inspect_err(|e| tracing::warn!("Can't open or create append-only dir {}: {e}", cfg.dir.display()))?;
        let temp_name = manifest::temp_incr_file_name(&cfg.aof_filename);
        let file = open_incr(&cfg.dir.join(&temp_name), true)
            .inspect_err(|e| tracing::warn!("Can't open the append-only file {temp_name}: {e}"))?;
        tracing::info!("Creating AOF incr file {temp_name} on background rewrite");
        let writer = AofWriter::open(file, &temp_name, cfg.writer, Sizes::default())?;
        let tmp = cfg.dir.join(manifest::temp_rewrite_file_name(std::process::id()));
        Ok((
            Aof {
                cfg,
                manifest: Mutex::new(manifest),
                writer,
                rewrite: Mutex::new(RewriteState {
                    switch: None,
                    waiting: true,
                }),
            },
            tmp,
        ))
    }

    /// BGREWRITEAOF with the AOF off (Redis's rewrite while `AOF_OFF`):
    /// no incr is opened; `write_base(path)` writes a snapshot that becomes
    /// the new base of the manifest in `cfg.dir` (created if missing), and
    /// every incr it listed turns into history, deleted unless
    /// `aof-disable-auto-gc`. Nothing is appended afterwards: the files are
    /// what `appendonly yes` at the next start would load.
    pub fn rewrite_base_only(cfg: &AofConfig, write_base: impl FnOnce(&Path) -> io::Result<()>) -> io::Result<()> {
        fs::create_dir_all(&cfg.dir)
            .inspect_err(|e| tracing::warn!("Can't open or create append-only dir {}: {e}", cfg.dir.display()))?;
        let mut temp = Manifest::load(&cfg.dir, &cfg.aof_filename).map_err(|e| io::Error::other(e.to_string()))?;
        let tmp = cfg.dir.join(manifest::temp_rewrite_file_name(std::process::id()));
        if let Err(e) = write_base(&tmp) {
            let _ = fs::remove_file(&tmp);
            return Err(e);
        }
        let base = temp.new_base_file(cfg.use_rdb_preamble);
        let base_path = cfg.dir.join(&base);
        if let Err(e) = fs::rename(&tmp, &base_path) {
            tracing::warn!(
                "Error trying to rename the temporary AOF base file {} into {}: {e}",
                tmp.display(),
                base_path.display()
            );
            let _ = fs::remove_file(&tmp);
            return Err(e);
        }
        tracing::info!(
            "Successfully renamed the temporary AOF base file {} into {base}",
            tmp.display()
        );
        temp.mark_rewritten_incrs_as_history(false);
        if let Err(e) = temp.persist(&cfg.dir) {
            let _ = fs::remove_file(&base_path);
            return Err(e);
        }
        if !cfg.disable_auto_gc {
            let _ = temp.delete_history(&cfg.dir);
        }
        Ok(())
    }

    /// Stops the writer and, if AOF was being enabled, removes the temp
    /// incr (Redis's `aofDelTempIncrAofFile` after a failed first rewrite).
    pub fn discard(self) {
        let _ = self.writer.shutdown();
        if self.rewrite.lock().waiting {
            let name = manifest::temp_incr_file_name(&self.cfg.aof_filename);
            tracing::info!("Removing the temp incr aof file {name} in the background");
            let _ = fs::remove_file(self.cfg.dir.join(name));
        }
    }

    /// Whether AOF is still waiting for its first rewrite after
    /// [`Aof::enable`] (INFO's `aof_enabled` is 1 but the files are not
    /// in the manifest yet).
    pub fn waiting_rewrite(&self) -> bool {
        self.rewrite.lock().waiting
    }

    pub fn writer(&self) -> &AofWriter {
        &self.writer
    }

    /// A copy of the current manifest.
    pub fn manifest(&self) -> Manifest {
        self.manifest.lock().clone()
    }

    pub fn config(&self) -> &AofConfig {
        &self.cfg
    }

    /// Starts a rewrite (Redis's `openNewIncrAofForAppend`): a new incr
    /// file is created and persisted in the manifest, and the writer
    /// switches to it at this point of the stream. Returns the path the
    /// new base should be written to. Call with no write in flight (every
    /// shard locked) and take the snapshot at that same point.
    pub fn begin_rewrite(&self) -> io::Result<PathBuf> {
        let mut rw = self.rewrite.lock();
        if rw.waiting {
            return Err(io::Error::other("AOF is being enabled: its first rewrite is not done"));
        }
        let mut temp = self.manifest.lock().clone();
        let name = temp.new_incr_file();
        let file = open_incr(&self.cfg.dir.join(&name), true)
            .inspect_err(|e| tracing::warn!("Can't open the append-only file {name}: {e}"))?;
        temp.persist(&self.cfg.dir)?;
        tracing::info!("Creating AOF incr file {name} on background rewrite");
        rw.switch = Some(self.writer.rotate(file, &name));
        *self.manifest.lock() = temp;
        Ok(self.cfg.dir.join(manifest::temp_rewrite_file_name(std::process::id())))
    }

    /// Completes a rewrite whose base was written to `tmp`
    /// (Redis's `backgroundRewriteDoneHandler`): renames it to a new base
    /// name, turns the old base and the incrs before the current one into
    /// history, persists the manifest, then deletes the history files.
    /// On error the manifest is unchanged and the temp file removed.
    pub fn finish_rewrite(&self, tmp: &Path) -> io::Result<()> {
        let mut rw = self.rewrite.lock();
        // The sizes below need the writer on the new incr (errors are the
        // writer's to report).
        if let Some(r) = rw.switch {
            let _ = self.writer.wait_rotated(r);
        }
        let mut temp = self.manifest.lock().clone();
        let base = temp.new_base_file(self.cfg.use_rdb_preamble);
        let base_path = self.cfg.dir.join(&base);
        if let Err(e) = fs::rename(tmp, &base_path) {
            tracing::warn!(
                "Error trying to rename the temporary AOF base file {} into {}: {e}",
                tmp.display(),
                base_path.display()
            );
            let _ = fs::remove_file(tmp);
            return Err(e);
        }
        tracing::info!(
            "Successfully renamed the temporary AOF base file {} into {base}",
            tmp.display()
        );
        let mut new_incr = None;
        if rw.waiting {
            // The temp incr the writer has been appending to since the
            // enable becomes a real incr (the open file is unaffected).
            let temp_name = manifest::temp_incr_file_name(&self.cfg.aof_filename);
            let name = temp.new_incr_file();
            let to = self.cfg.dir.join(&name);
            if let Err(e) = fs::rename(self.cfg.dir.join(&temp_name), &to) {
                tracing::warn!(
                    "Error trying to rename the temporary AOF incr file {temp_name} into {}: {e}",
                    to.display()
                );
                let _ = fs::remove_file(&base_path);
                return Err(e);
            }
            tracing::info!("Successfully renamed the temporary AOF incr file {temp_name} into {name}");
            new_incr = Some((name, to));
        }
        temp.mark_rewritten_incrs_as_history(true);
        if let Err(e) = temp.persist(&self.cfg.dir) {
            let _ = fs::remove_file(&base_path);
            if let Some((_, p)) = &new_incr {
                let _ = fs::remove_file(p);
            }
            return Err(e);
        }
        if let Some((name, _)) = new_incr {
            self.writer.set_file_name(&name);
            rw.waiting = false;
        }
        let base_size = fs::metadata(&base_path).map(|m| m.len()).unwrap_or(0);
        self.writer.reset_selected_db();
        self.writer.rewrite_done(base_size);
        let mut m = self.manifest.lock();
        *m = temp;
        // History deletion failures do not fail the rewrite.
        if !self.cfg.disable_auto_gc {
            let _ = m.delete_history(&self.cfg.dir);
        }
        tracing::info!("Background AOF rewrite finished successfully");
        Ok(())
    }

    /// A failed rewrite: removes the temp base. The incr opened by
    /// `begin_rewrite` stays (Redis keeps it; the next rewrite covers it).
    pub fn abort_rewrite(&self, tmp: &Path) {
        let _ = fs::remove_file(tmp);
        tracing::warn!("Background AOF rewrite terminated with error");
    }

    /// Flushes and fsyncs everything appended and stops the writer.
    pub fn shutdown(&self) -> Result<(), WriteError> {
        self.writer.shutdown()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Collect(Vec<Vec<Vec<u8>>>, usize);

    impl LoadSink for Collect {
        type Error = String;
        fn rdb(&mut self, _: &str, r: &mut dyn io::Read) -> Result<(), String> {
            let mut v = Vec::new();
            r.read_to_end(&mut v).map_err(|e| e.to_string())?;
            self.1 += 1;
            Ok(())
        }
        fn command(&mut self, _: &str, cmd: load::Command) -> Result<(), String> {
            self.0.push(cmd.argv);
            Ok(())
        }
    }

    fn cfg(dir: &Path) -> AofConfig {
        AofConfig {
            dir: dir.to_path_buf(),
            aof_filename: "appendonly.aof".into(),
            use_rdb_preamble: false,
            disable_auto_gc: false,
            writer: WriterOptions {
                fsync: FsyncPolicy::Always,
                timestamps: false,
            },
        }
    }

    fn load(dir: &Path) -> (Manifest, LoadSummary, Vec<Vec<Vec<u8>>>) {
        let m = Manifest::load(dir, "appendonly.aof").unwrap();
        let mut c = Collect(Vec::new(), 0);
        let s = load_files(dir, &m, LoadOptions::default(), &mut c).unwrap();
        (m, s, c.0)
    }

    #[test]
    fn start_append_rewrite_restart() {
        let dir = std::env::temp_dir().join(format!("larder-aof-facade-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        let (m, s, _) = load(&dir);
        assert_eq!(s.status, LoadStatus::NotExist);
        // First start: an (empty) AOF base is written, then incr 1.
        let aof = Aof::open(cfg(&dir), m, &s, |p| fs::write(p, b"")).unwrap();
        assert_eq!(
            aof.manifest().to_text(),
            "file appendonly.aof.1.base.aof seq 1 type b\nfile appendonly.aof.1.incr.aof seq 1 type i\n"
        );
        let o = aof.writer().append(Some(0), &["set", "a", "1"]);
        aof.writer().wait_durable(o).unwrap();
        // Rewrite: the base holds `a`, `b` goes to the new incr.
        let tmp = aof.begin_rewrite().unwrap();
        let o = aof.writer().append(Some(0), &["set", "b", "2"]);
        aof.writer().wait_durable(o).unwrap();
        fs::write(
            &tmp,
            b"*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n*3\r\n$3\r\nSET\r\n$1\r\na\r\n$1\r\n1\r\n",
        )
        .unwrap();
        aof.finish_rewrite(&tmp).unwrap();
        assert_eq!(
            aof.manifest().to_text(),
            "file appendonly.aof.2.base.aof seq 2 type b\nfile appendonly.aof.2.incr.aof seq 2 type i\n"
        );
        assert!(!dir.join("appendonly.aof.1.incr.aof").exists());
        assert!(!dir.join("appendonly.aof.1.base.aof").exists());
        let sizes = aof.writer().sizes();
        aof.shutdown().unwrap();
        let base_len = fs::metadata(dir.join("appendonly.aof.2.base.aof")).unwrap().len();
        let incr_len = fs::metadata(dir.join("appendonly.aof.2.incr.aof")).unwrap().len();
        assert_eq!(sizes.base_size, base_len);
        assert_eq!(sizes.current_size, base_len + incr_len);

        // Restart: load base + incr, reopen incr 2 for appending.
        let (m, s, cmds) = load(&dir);
        assert_eq!(s.total_size, base_len + incr_len);
        let names: Vec<&[u8]> = cmds.iter().map(|c| c[1].as_slice()).collect();
        assert_eq!(names, [&b"0"[..], b"a", b"0", b"b"]);
        let aof = Aof::open(cfg(&dir), m, &s, |_| panic!("no base needed")).unwrap();
        let o = aof.writer().append(Some(1), &["set", "c", "3"]);
        aof.writer().wait_durable(o).unwrap();
        aof.shutdown().unwrap();
        let (_, _, cmds) = load(&dir);
        assert_eq!(cmds.len(), 6);
        assert_eq!(cmds[5][1], b"c");
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn enable_at_run_time() {
        let dir = std::env::temp_dir().join(format!("larder-aof-enable-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        // An AOF from an earlier session, then turned off.
        let (m, s, _) = load(&dir);
        let aof = Aof::open(cfg(&dir), m, &s, |p| fs::write(p, b"")).unwrap();
        let o = aof.writer().append(Some(0), &["set", "old", "1"]);
        aof.writer().wait_durable(o).unwrap();
        aof.shutdown().unwrap();

        let m = Manifest::load(&dir, "appendonly.aof").unwrap();
        let (aof, tmp) = Aof::enable(cfg(&dir), m).unwrap();
        assert!(aof.waiting_rewrite());
        assert!(aof.begin_rewrite().is_err());
        let o = aof.writer().append(Some(1), &["set", "new", "2"]);
        aof.writer().wait_durable(o).unwrap();
        assert_eq!(aof.writer().file_name(), "temp-appendonly.aof.incr");
        // Nothing on disk refers to the temp incr yet.
        assert_eq!(
            fs::read_to_string(dir.join("appendonly.aof.manifest")).unwrap(),
            "file appendonly.aof.1.base.aof seq 1 type b\nfile appendonly.aof.1.incr.aof seq 1 type i\n"
        );
        fs::write(
            &tmp,
            b"*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n*3\r\n$3\r\nset\r\n$3\r\nold\r\n$1\r\n1\r\n",
        )
        .unwrap();
        aof.finish_rewrite(&tmp).unwrap();
        assert!(!aof.waiting_rewrite());
        assert_eq!(aof.writer().file_name(), "appendonly.aof.2.incr.aof");
        let o = aof.writer().append(Some(1), &["set", "newer", "3"]);
        aof.writer().wait_durable(o).unwrap();
        aof.shutdown().unwrap();
        assert_eq!(
            fs::read_to_string(dir.join("appendonly.aof.manifest")).unwrap(),
            "file appendonly.aof.2.base.aof seq 2 type b\nfile appendonly.aof.2.incr.aof seq 2 type i\n"
        );
        assert!(!dir.join("temp-appendonly.aof.incr").exists());
        assert!(!dir.join("appendonly.aof.1.incr.aof").exists());
        let (_, s, cmds) = load(&dir);
        assert_eq!(s.status, LoadStatus::Ok);
        let keys: Vec<&[u8]> = cmds
            .iter()
            .filter(|c| c[0] == b"set")
            .map(|c| c[1].as_slice())
            .collect();
        assert_eq!(keys, [&b"old"[..], b"new", b"newer"]);

        // A failed first rewrite: the temp incr goes away.
        let m = Manifest::load(&dir, "appendonly.aof").unwrap();
        let (aof, tmp) = Aof::enable(cfg(&dir), m).unwrap();
        aof.abort_rewrite(&tmp);
        aof.discard();
        assert!(!dir.join("temp-appendonly.aof.incr").exists());
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn disable_auto_gc_keeps_history() {
        let dir = std::env::temp_dir().join(format!("larder-aof-nogc-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        let (m, s, _) = load(&dir);
        let mut c = cfg(&dir);
        c.disable_auto_gc = true;
        let aof = Aof::open(c, m, &s, |p| fs::write(p, b"")).unwrap();
        let tmp = aof.begin_rewrite().unwrap();
        fs::write(&tmp, b"").unwrap();
        aof.finish_rewrite(&tmp).unwrap();
        aof.shutdown().unwrap();
        assert_eq!(
            fs::read_to_string(dir.join("appendonly.aof.manifest")).unwrap(),
            "file appendonly.aof.2.base.aof seq 2 type b\n\
             file appendonly.aof.1.incr.aof seq 1 type h\n\
             file appendonly.aof.1.base.aof seq 1 type h\n\
             file appendonly.aof.2.incr.aof seq 2 type i\n"
        );
        assert!(dir.join("appendonly.aof.1.incr.aof").exists());
        assert!(dir.join("appendonly.aof.1.base.aof").exists());
        fs::remove_dir_all(&dir).unwrap();
    }
}
