//! `larder-server [config-file] [--directive value ...]`

#[cfg(not(target_env = "msvc"))]
#[global_allocator]
static GLOBAL: larder_server::alloc::Counting<tikv_jemallocator::Jemalloc> =
    larder_server::alloc::Counting(tikv_jemallocator::Jemalloc);

use larder_server::{config::Config, log, net, server::Server};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    // Like Redis, only as the first argument (a value may be "-v").
    let first = args.first().map(String::as_str);
    if matches!(first, Some("--version" | "-v")) {
        println!(
            "Larder server v={} (Redis compatible v={}) bits=64",
            larder_server::server::LARDER_VERSION,
            larder_server::server::REDIS_VERSION
        );
        return;
    }
    if matches!(first, Some("--help" | "-h")) {
        println!("Usage: larder-server [/path/to/redis.conf] [--directive value ...]");
        println!("       larder-server --version");
        println!(
            "Examples:\n       larder-server --port 7777\n       larder-server /etc/redis/6379.conf --loglevel verbose"
        );
        return;
    }
    let mut cfg = match Config::from_args(&args) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(1);
        }
    };
    // As Redis: a supervised server stays in the foreground; a
    // daemonized one has a pid file (by default /var/run/redis.pid).
    let supervised = cfg.extras.get("supervised").is_some_and(|v| v != "no");
    let background = cfg.daemonize && !supervised;
    if background {
        daemonize();
        if cfg.pidfile.is_empty() {
            cfg.pidfile = "/var/run/redis.pid".into();
        }
    }
    let pidfile = cfg.pidfile.clone();
    #[cfg(not(target_env = "msvc"))]
    larder_server::stats::set_jemalloc_global();
    #[cfg(not(target_env = "msvc"))]
    larder_server::alloc::set_installed();
    if let Err(e) = log::init(cfg.loglevel, &cfg.logfile) {
        eprintln!("Can't open the log file: {e}");
        std::process::exit(1);
    }
    tracing::info!("oO0OoO0OoO0Oo Larder is starting oO0OoO0OoO0Oo");
    tracing::info!(
        "Larder version={}, redis_version={}, bits=64, pid={}, just started",
        larder_server::server::LARDER_VERSION,
        larder_server::server::REDIS_VERSION,
        std::process::id()
    );
    if let Some(f) = &cfg.file {
        tracing::info!("Configuration loaded from {}", f.display());
    }
    tracing::info!("Server initialized, port={}, io-threads={}", cfg.port, cfg.io_threads);
    let server = Server::new(cfg);
    if let Err(e) = larder_server::commands::aclcmd::load_at_startup(&server) {
        tracing::warn!("{e}");
        eprintln!("{e}");
        std::process::exit(1);
    }
    if !pidfile.is_empty() {
        if let Err(e) = std::fs::write(&pidfile, format!("{}\n", std::process::id())) {
            tracing::warn!("Failed to write PID file: {e}");
        }
    }
    larder_server::persist::start_loading(&server);
    let result = net::run(server);
    if !pidfile.is_empty() {
        let _ = std::fs::remove_file(&pidfile);
    }
    if let Err(e) = result {
        tracing::warn!("{e:#}");
        eprintln!("{e:#}");
        std::process::exit(1);
    }
    std::process::exit(0);
}

/// Redis's daemonize(): the parent exits, the child leaves the terminal's
/// session with /dev/null as its standard streams. Called before any
/// thread starts.
fn daemonize() {
    // SAFETY: the process is single-threaded here (no runtime, no
    // server threads yet), so fork is safe; the other calls only touch
    // this process's descriptors and session.
    unsafe {
        match libc::fork() {
            -1 => {
                eprintln!("Can't fork: {}", std::io::Error::last_os_error());
                std::process::exit(1);
            }
            0 => {}
            _ => libc::_exit(0),
        }
        libc::setsid();
        let fd = libc::open(c"/dev/null".as_ptr(), libc::O_RDWR);
        if fd != -1 {
            libc::dup2(fd, libc::STDIN_FILENO);
            libc::dup2(fd, libc::STDOUT_FILENO);
            libc::dup2(fd, libc::STDERR_FILENO);
            if fd > libc::STDERR_FILENO {
                libc::close(fd);
            }
        }
    }
}
