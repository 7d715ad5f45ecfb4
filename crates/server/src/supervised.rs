//! `supervised` (Redis's redisSupervisedSystemd / upstart support): tells
//! the service manager the server is ready. `systemd` (or `auto` with
//! NOTIFY_SOCKET set) sends `READY=1` to $NOTIFY_SOCKET, as a
//! `Type=notify` unit waits for; `upstart` (or `auto` with UPSTART_JOB
//! set) stops the process with SIGSTOP, which upstart's `expect stop`
//! waits for.

use std::os::unix::net::UnixDatagram;
use std::sync::OnceLock;

use crate::config::Config;

/// The mode, fixed at start (`supervised` is immutable).
static MODE: OnceLock<Mode> = OnceLock::new();

/// Reads `supervised` once, at start.
pub fn init(cfg: &Config) {
    let _ = MODE.set(mode(cfg));
}

fn current() -> Mode {
    MODE.get().copied().unwrap_or(Mode::None)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    None,
    Systemd,
    Upstart,
}

fn mode(cfg: &Config) -> Mode {
    match cfg.extras.get("supervised").map_or("no", String::as_str) {
        "systemd" => Mode::Systemd,
        "upstart" => Mode::Upstart,
        "auto" if std::env::var_os("UPSTART_JOB").is_some() => Mode::Upstart,
        "auto" if std::env::var_os("NOTIFY_SOCKET").is_some() => Mode::Systemd,
        _ => Mode::None,
    }
}

/// Sends `msg` to $NOTIFY_SOCKET (a path, or `@name` in the abstract
/// namespace).
fn notify_systemd(msg: &str) -> Result<(), String> {
    let Some(path) = std::env::var_os("NOTIFY_SOCKET") else {
        return Err("systemd supervision requested or auto-detected, but NOTIFY_SOCKET not found!".into());
    };
    let sock = UnixDatagram::unbound().map_err(|e| format!("Can't create a socket for systemd: {e}"))?;
    let path = path.to_string_lossy().into_owned();
    let sent = match path.strip_prefix('@') {
        Some(name) => {
            use std::os::linux::net::SocketAddrExt;
            let addr = std::os::unix::net::SocketAddr::from_abstract_name(name.as_bytes())
                .map_err(|e| format!("Bad NOTIFY_SOCKET: {e}"))?;
            sock.send_to_addr(msg.as_bytes(), &addr)
        }
        None => sock.send_to(msg.as_bytes(), &path),
    };
    sent.map(|_| ())
        .map_err(|e| format!("Can't send notification to systemd: {e}"))
}

/// Called once the server accepts connections.
pub fn ready() {
    match current() {
        Mode::None => {}
        Mode::Systemd => {
            tracing::info!("Supervised by systemd. Please make sure you set appropriate values for TimeoutStartSec and TimeoutStopSec in your service unit.");
            for msg in ["STATUS=Ready to accept connections\n", "READY=1\n"] {
                if let Err(e) = notify_systemd(msg) {
                    tracing::warn!("{e}");
                    return;
                }
            }
        }
        Mode::Upstart => {
            tracing::info!("Supervised by upstart, will stop to signal readiness.");
            // SAFETY: raising a signal on our own process.
            unsafe {
                libc::raise(libc::SIGSTOP);
            }
            std::env::remove_var("UPSTART_JOB");
        }
    }
}

/// Called when a shutdown starts.
pub fn stopping() {
    if current() == Mode::Systemd {
        let _ = notify_systemd("STOPPING=1\n");
    }
}
