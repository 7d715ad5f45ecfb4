//! The server's shared state: configuration, keyspace, command table,
//! connected clients and statistics. One `Arc<Server>` is shared by every
//! I/O thread and the cron thread.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use hashbrown::HashMap;
use parking_lot::{Mutex, RwLock};
use tokio::sync::Notify;

use larder_engine::{Clock, EncodingLimits, Keyspace, Limits, OffsetClock};
use larder_protocol::Reply;

use crate::client::ClientInfo;
use crate::commands::{Command, CommandSpec, CommandTable};
use crate::config::Config;
use crate::stats::Stats;

/// Redis version reported to clients for feature detection.
pub const REDIS_VERSION: &str = "7.2.4";
pub const LARDER_VERSION: &str = env!("CARGO_PKG_VERSION");

/// CLIENT PAUSE state.
#[derive(Debug, Default, Clone, Copy)]
pub struct Pause {
    /// ms since the epoch until which clients are paused; 0: not paused.
    pub until_ms: u64,
    /// Only writes are paused (CLIENT PAUSE ... WRITE).
    pub write_only: bool,
}

#[derive(Debug)]
pub struct Server {
    pub config: RwLock<Config>,
    pub keyspace: Keyspace,
    /// Collection encoding thresholds (CONFIG SET-able).
    pub encoding_limits: EncodingLimits,
    /// The clock the keyspace reads; DEBUG can move it forward.
    pub clock: Arc<OffsetClock>,
    pub commands: CommandTable,
    pub clients: Mutex<HashMap<u64, Arc<ClientInfo>>>,
    next_client_id: AtomicU64,
    pub stats: Stats,
    pub errorstats: Mutex<HashMap<String, u64>>,
    dirty: AtomicU64,
    auth_required: AtomicBool,
    pub started: Instant,
    pub start_ms: u64,
    pub run_id: String,
    pub pause: Mutex<Pause>,
    /// Woken when a pause ends or the server shuts down.
    pub unpaused: Notify,
    pub shutting_down: AtomicBool,
    /// DEBUG SET-ACTIVE-EXPIRE: whether the cron reclaims expired keys.
    pub active_expire_enabled: AtomicBool,
    pub shutdown: Notify,
    /// used_memory when the server was created (used_memory_startup).
    pub startup_memory: u64,
    /// When the statistics were last reset (or the server started).
    pub last_reset_ms: Mutex<u64>,
    /// Replication ID reported by INFO replication.
    pub replid: String,
    /// TCP port actually bound (differs from the config when it was 0).
    pub bound_port: AtomicU64,
    /// Clients blocked on keys (BLPOP, BZPOPMIN...).
    pub blocking: crate::blocking::Registry,
    /// maxmemory and the eviction policy.
    pub eviction: crate::evict::Eviction,
    /// Keys WATCHed by clients (MULTI/EXEC).
    pub watches: crate::commands::multi::Watches,
    /// RDB saves, save points, loading (`persist.rs`).
    pub persist: crate::persist::Persistence,
    /// The AOF (`appendonly.rs`).
    pub aof: crate::appendonly::AofState,
    /// Lua scripts: the cache, the Lua state, the running script.
    pub scripting: crate::scripting::Scripting,
    /// notify-keyspace-events (`notify.rs`).
    pub notify: crate::notify::Notify,
    /// CLIENT TRACKING's tables (`tracking.rs`).
    pub tracking: crate::tracking::Tracking,
    /// Clients in MONITOR mode (`monitor.rs`).
    pub monitors: crate::monitor::Monitors,
    /// Outstanding LEASE.GET leases (`commands/lease.rs`).
    pub leases: crate::commands::lease::Leases,
    /// Pub/Sub channels and patterns (`pubsub.rs`).
    pub pubsub: crate::pubsub::PubSub,
    /// SLOWLOG's entries (`slowlog.rs`).
    pub slowlog: crate::slowlog::Slowlog,
    /// LATENCY's event samples (`latency.rs`).
    pub latency: Arc<crate::latency::LatencyMonitor>,
    /// Per-command latency histograms' settings (`latency_hist.rs`; the
    /// histograms are in each command's stats).
    pub latency_tracking: crate::latency_hist::Tracking,
    /// The TLS acceptor for `tls-port` connections (`tls.rs`); rebuilt by
    /// CONFIG SET tls-*.
    pub tls: crate::tls::TlsState,
    /// ACL users and the ACL log (`acl.rs`).
    pub acl: crate::acl::Acl,
    /// This server's own handle, for work handed to other threads.
    me: std::sync::Weak<Server>,
}

impl Server {
    pub fn new(config: Config) -> Arc<Server> {
        let clock = OffsetClock::new();
        let keyspace = Keyspace::new(config.databases, config.shards, clock.clone());
        let start_ms = clock.now_ms();
        let hex40 = || -> String {
            (0..40)
                .map(|_| {
                    let n = rand::random::<u8>() % 16;
                    char::from_digit(n as u32, 16).unwrap_or('0')
                })
                .collect()
        };
        let run_id = hex40();
        let replid = hex40();
        let acl = crate::acl::Acl::default();
        acl.apply_requirepass(config.requirepass.as_deref());
        configure_acl(&acl, &config);
        let auth = default_requires_auth(&acl);
        let encoding_limits = EncodingLimits::default();
        encoding_limits.set(&config.encoding_limits());
        let eviction = crate::evict::Eviction::default();
        eviction.configure(&config, &keyspace, None);
        let slowlog = crate::slowlog::Slowlog::default();
        slowlog.configure(&config);
        let latency = Arc::new(crate::latency::LatencyMonitor::default());
        latency.configure(&config);
        crate::supervised::init(&config);
        let latency_tracking = crate::latency_hist::Tracking::default();
        latency_tracking.configure(&config);
        if let Err(e) = crate::oom_score::apply(&config) {
            tracing::warn!("{e}");
        }
        let notify = crate::notify::Notify::default();
        notify.set(config.notify_keyspace_events);
        if notify.wants_removals() {
            for mut g in keyspace.lock_all() {
                for db in g.dbs.iter_mut() {
                    db.log_expired = true;
                }
            }
        }
        Arc::new_cyclic(|me| Server {
            me: me.clone(),
            persist: crate::persist::Persistence::new(start_ms / 1000),
            aof: Default::default(),
            notify,
            tracking: Default::default(),
            monitors: Default::default(),
            leases: Default::default(),
            config: RwLock::new(config),
            keyspace,
            encoding_limits,
            clock,
            commands: CommandTable::new(),
            clients: Mutex::new(HashMap::new()),
            next_client_id: AtomicU64::new(1),
            stats: Stats::default(),
            errorstats: Mutex::new(HashMap::new()),
            dirty: AtomicU64::new(0),
            auth_required: AtomicBool::new(auth),
            started: Instant::now(),
            start_ms,
            run_id,
            pause: Mutex::new(Pause::default()),
            unpaused: Notify::new(),
            shutting_down: AtomicBool::new(false),
            active_expire_enabled: AtomicBool::new(true),
            shutdown: Notify::new(),
            startup_memory: crate::stats::used_memory().unwrap_or(0),
            last_reset_ms: Mutex::new(start_ms),
            replid,
            bound_port: AtomicU64::new(0),
            blocking: crate::blocking::Registry::default(),
            eviction,
            watches: Default::default(),
            scripting: Default::default(),
            pubsub: Default::default(),
            slowlog,
            latency,
            latency_tracking,
            tls: Default::default(),
            acl,
        })
    }

    pub fn next_client_id(&self) -> u64 {
        self.next_client_id.fetch_add(1, Ordering::Relaxed)
    }

    pub fn auth_required(&self) -> bool {
        self.auth_required.load(Ordering::Relaxed)
    }

    /// After any change to the users: whether new connections must
    /// authenticate (the default user has a password or is off).
    pub fn acl_changed(&self) {
        self.auth_required
            .store(default_requires_auth(&self.acl), Ordering::Relaxed);
    }

    /// Call after any CONFIG SET: applies what takes effect at once
    /// (requirepass, loglevel).
    pub fn config_changed(&self) {
        self.config_changed_held(None);
    }

    /// `config_changed` by a command holding every shard (`held`).
    pub fn config_changed_held(&self, held: Option<&[parking_lot::MutexGuard<'_, larder_engine::Shard>]>) {
        let cfg = self.config.read();
        self.encoding_limits.set(&cfg.encoding_limits());
        self.acl.apply_requirepass(cfg.requirepass.as_deref());
        configure_acl(&self.acl, &cfg);
        self.acl_changed();
        crate::log::set_level(cfg.loglevel);
        self.eviction.configure(&cfg, &self.keyspace, held);
        let aof_on = cfg.appendonly;
        let was_logging = self.notify.wants_removals();
        self.notify.set(cfg.notify_keyspace_events);
        self.slowlog.configure(&cfg);
        self.latency.configure(&cfg);
        self.latency_tracking.configure(&cfg);
        if let Err(e) = crate::oom_score::apply(&cfg) {
            tracing::warn!("{e}");
        }
        let now_logging = self.notify.wants_removals();
        drop(cfg);
        if was_logging != now_logging {
            crate::appendonly::sync_removal_logging(self, held.is_some());
        }
        if let Some(me) = self.arc() {
            if let Err(e) = crate::appendonly::set_enabled(&me, aof_on) {
                tracing::warn!("appendonly: {e}");
            }
        }
        crate::appendonly::configure(self);
    }

    /// CONFIG RESETSTAT: server, command and error statistics. (The
    /// keyspace's hit/miss/expired counters live in the shards; the
    /// command resets them under its locks.)
    pub fn reset_stats(&self) {
        self.stats.reset();
        self.eviction.reset_stats();
        self.errorstats.lock().clear();
        for cmd in self.commands.commands.values() {
            cmd.walk(&mut |c| c.stats.reset());
        }
        *self.last_reset_ms.lock() = self.now_ms();
    }

    /// The encoding thresholds now in force.
    pub fn limits(&self) -> Limits {
        self.encoding_limits.get()
    }

    pub fn add_dirty(&self, n: u64) {
        self.dirty.fetch_add(n, Ordering::Relaxed);
    }

    pub fn dirty(&self) -> u64 {
        self.dirty.load(Ordering::Relaxed)
    }

    pub fn now_ms(&self) -> u64 {
        self.clock.now_ms()
    }

    pub(crate) fn count_errors(&self, out: &mut Reply) -> u32 {
        let (n, code) = out.take_errors();
        if n > 0 {
            self.stats.total_error_replies.fetch_add(n as u64, Ordering::Relaxed);
            if let Some(code) = code {
                *self.errorstats.lock().entry(code).or_insert(0) += n as u64;
            }
        }
        n
    }

    /// Counts a command rejected before it ran (unknown, arity, auth).
    pub fn count_rejected(&self, out: &mut Reply, cmd: Option<&Command>) {
        self.count_errors(out);
        if let Some(cmd) = cmd {
            cmd.stats.rejected_calls.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Counts a command that ran.
    /// Offers a command that ran for `usec` to the latency monitor and the
    /// slow log, as client `info` (None: a script's own client, `?:0` to
    /// Redis).
    #[inline]
    pub fn log_call(&self, spec: &CommandSpec, args: &[&[u8]], usec: u64, info: Option<&ClientInfo>) {
        let event = if spec.has(crate::commands::flags::FAST) {
            "fast-command"
        } else {
            "command"
        };
        self.latency.observe(event, usec, || self.now_ms() / 1000);
        if !self.slowlog.wants(spec, usec) {
            return;
        }
        let (peer, name) = match info {
            Some(i) => (i.addr.as_str(), i.name.lock().clone().unwrap_or_default()),
            None => ("?:0", String::new()),
        };
        self.slowlog.push(spec, args, usec, peer, &name, self.now_ms() / 1000);
    }

    /// Offers the blocked commands `client`'s command served (after that
    /// command's own entry, as Redis logs them).
    pub fn slowlog_served(&self, client: &mut crate::client::Client) {
        for s in client.served_slowlog.drain(..) {
            let args: Vec<&[u8]> = s.args.iter().map(|a| &**a).collect();
            self.log_call(s.spec, &args, s.usec, Some(&s.info));
        }
    }

    pub fn count_call(&self, out: &mut Reply, cmd: &Command, usec: u64) {
        let failed = self.count_errors(out) > 0;
        cmd.stats.calls.fetch_add(1, Ordering::Relaxed);
        cmd.stats.usec.fetch_add(usec, Ordering::Relaxed);
        if self.latency_tracking.enabled() {
            // As Redis: the microseconds, in nanoseconds.
            cmd.stats
                .latency
                .get_or_init(Default::default)
                .record(usec.saturating_mul(1000));
        }
        if failed {
            cmd.stats.failed_calls.fetch_add(1, Ordering::Relaxed);
        }
        self.stats.total_commands_processed.fetch_add(1, Ordering::Relaxed);
    }

    /// Starts a graceful shutdown: listeners stop, the process exits.
    pub fn request_shutdown(&self) {
        if !self.shutting_down.load(Ordering::SeqCst) {
            crate::supervised::stopping();
        }
        self.shutting_down.store(true, Ordering::SeqCst);
        self.shutdown.notify_waiters();
        self.unpaused.notify_waiters();
    }

    /// This server as an `Arc` (None only while it is being dropped).
    pub fn arc(&self) -> Option<Arc<Server>> {
        self.me.upgrade()
    }

    /// Periodic work (Redis's serverCron): active expiry, ops/sec samples,
    /// save points.
    pub fn cron(&self) {
        if let Some(me) = self.arc() {
            crate::persist::cron(&me);
            crate::appendonly::cron(&me);
        }
        if self.active_expire_enabled.load(Ordering::Relaxed) {
            let started = Instant::now();
            self.keyspace.active_expire(256);
            let usec = started.elapsed().as_micros() as u64;
            self.stats.expire_cycle_usec.fetch_add(usec, Ordering::Relaxed);
            self.latency.observe("expire-cycle", usec, || self.now_ms() / 1000);
        }
        if self.eviction.maxmemory() != 0 {
            // Finishes what commands left when their time budget ran out.
            self.eviction.continue_unfinished(&self.keyspace, self.started);
        }
        // DELs and notifications for what active expiry and eviction
        // removed.
        crate::propagate::drain_all(self);
        let now = self.now_ms();
        self.blocking.expire(now);
        // Rates use a monotonic clock (DEBUG ADVANCE-CLOCK must not skew them).
        self.stats.sample(self.started.elapsed().as_millis() as u64 + 1);
        let mut pause = self.pause.lock();
        if pause.until_ms != 0 && now >= pause.until_ms {
            *pause = Pause::default();
            self.unpaused.notify_waiters();
        }
    }
}

/// Redis's authRequired without the client: the default user needs a
/// password or is disabled.
fn default_requires_auth(acl: &crate::acl::Acl) -> bool {
    let d = acl.default_user();
    !d.nopass() || !d.enabled()
}

/// acllog-max-len and acl-pubsub-default.
fn configure_acl(acl: &crate::acl::Acl, cfg: &Config) {
    let max = cfg
        .extras
        .get("acllog-max-len")
        .and_then(|v| v.parse().ok())
        .unwrap_or(128);
    acl.set_log_max(max);
    let all = cfg.extras.get("acl-pubsub-default").is_some_and(|v| v == "allchannels");
    acl.pubsub_all.store(all, Ordering::Relaxed);
}
