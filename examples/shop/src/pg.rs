//! A throwaway PostgreSQL cluster for the tests and the demo: `initdb` into
//! a temporary directory, a postmaster listening only on a Unix socket in
//! that directory (no port to collide on), stopped and removed on drop.
//!
//! The server binaries are looked for in `$PG_BIN`, then
//! `/usr/lib/postgresql/<newest>/bin` (Debian's packages), then `PATH`.
//! PostgreSQL refuses to run as root, so as root the commands run as the
//! `postgres` user that Debian's package creates (`runuser`).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};

use anyhow::{bail, Context};

pub struct Postgres {
    dir: PathBuf,
    bin: PathBuf,
    as_postgres: bool,
}

/// The user the cluster is created for (trust authentication, loopback
/// socket only).
pub const USER: &str = "shop";

/// Whether PostgreSQL's server binaries are installed.
pub fn installed() -> bool {
    bin_dir().is_ok()
}

fn bin_dir() -> anyhow::Result<PathBuf> {
    if let Some(d) = std::env::var_os("PG_BIN") {
        let d = PathBuf::from(d);
        if !d.join("initdb").exists() {
            bail!("PG_BIN={} holds no initdb", d.display());
        }
        return Ok(d);
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let v = e.file_name().to_str()?.parse::<u32>().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").exists().then_some((v, bin))
        })
        .collect();
    versions.sort();
    if let Some((_, bin)) = versions.pop() {
        return Ok(bin);
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    for d in std::env::split_paths(&path) {
        if d.join("initdb").exists() && d.join("pg_ctl").exists() {
            return Ok(d);
        }
    }
    bail!("PostgreSQL's initdb was not found: install Debian's postgresql package or set PG_BIN")
}

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

impl Postgres {
    /// Creates and starts a new cluster. Takes about a second (`initdb`).
    pub fn start() -> anyhow::Result<Postgres> {
        static SEQ: AtomicU64 = AtomicU64::new(0);
        let bin = bin_dir()?;
        let as_postgres = is_root();
        let dir = std::env::temp_dir().join(format!(
            "larder-shop-pg-{}-{}",
            std::process::id(),
            SEQ.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir)?;
        let pg = Postgres { dir, bin, as_postgres };
        if as_postgres {
            let out = Command::new("id")
                .args(["-u", "postgres"])
                .output()
                .context("id -u postgres")?;
            let uid: u32 = String::from_utf8_lossy(&out.stdout).trim().parse().context(
                "running as root, PostgreSQL needs the postgres user (Debian's postgresql package creates it)",
            )?;
            std::os::unix::fs::chown(&pg.dir, Some(uid), None)?;
        }
        let data = pg.dir.join("data");
        pg.run(
            "initdb",
            &[
                "-D".as_ref(),
                data.as_os_str(),
                "-U".as_ref(),
                USER.as_ref(),
                "--auth=trust".as_ref(),
                "-E".as_ref(),
                "UTF8".as_ref(),
                "--no-sync".as_ref(),
            ],
        )?;
        // Only a Unix socket, in our directory; durability off (the data is
        // thrown away).
        let opts = format!(
            "-c listen_addresses='' -k {} -c fsync=off -c synchronous_commit=off -c full_page_writes=off",
            pg.dir.display()
        );
        let log = pg.dir.join("postgres.log");
        pg.run(
            "pg_ctl",
            &[
                "-D".as_ref(),
                data.as_os_str(),
                "-l".as_ref(),
                log.as_os_str(),
                "-w".as_ref(),
                "-o".as_ref(),
                opts.as_ref(),
                "start".as_ref(),
            ],
        )?;
        pg.watchdog();
        Ok(pg)
    }

    /// Stops the cluster and removes its directory once this process is
    /// gone, however it ends (a killed test run included); `Drop` does it
    /// sooner when it gets to run.
    fn watchdog(&self) {
        let data = self.dir.join("data");
        let pg_ctl = self.bin.join("pg_ctl");
        let sudo = if self.as_postgres {
            "runuser -u postgres -- "
        } else {
            ""
        };
        let script = format!(
            "while kill -0 {pid} 2>/dev/null; do sleep 1; done; {sudo}'{ctl}' -D '{data}' -m immediate stop; rm -rf '{dir}'",
            pid = std::process::id(),
            ctl = pg_ctl.display(),
            data = data.display(),
            dir = self.dir.display(),
        );
        let spawned = Command::new("sh")
            .arg("-c")
            .arg(script)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn();
        if let Err(e) = spawned {
            tracing::warn!("no watchdog for the PostgreSQL cluster: {e}");
        }
    }

    fn run(&self, tool: &str, args: &[&std::ffi::OsStr]) -> anyhow::Result<()> {
        let exe = self.bin.join(tool);
        let mut cmd = if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&exe);
            c
        } else {
            Command::new(&exe)
        };
        let out = cmd
            .args(args)
            .current_dir(&self.dir)
            .output()
            .with_context(|| format!("running {}", exe.display()))?;
        if !out.status.success() {
            bail!(
                "{} failed: {}{}",
                exe.display(),
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        Ok(())
    }

    /// The directory holding the cluster and its socket.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// A libpq connection string for `dbname`.
    pub fn url(&self, dbname: &str) -> String {
        format!("host={} user={USER} dbname={dbname}", self.dir.display())
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        let data = self.dir.join("data");
        let _ = self.run(
            "pg_ctl",
            &[
                "-D".as_ref(),
                data.as_os_str(),
                "-m".as_ref(),
                "immediate".as_ref(),
                "stop".as_ref(),
            ],
        );
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
