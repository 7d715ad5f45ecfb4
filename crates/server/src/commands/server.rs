//! Server commands: INFO, CONFIG, DBSIZE, TIME, SHUTDOWN, DEBUG.

use std::fmt::Write as _;
use std::sync::atomic::Ordering;
use std::time::{SystemTime, UNIX_EPOCH};

use super::{acl, flags::*, CommandSpec};
use crate::dispatch::Ctx;
use crate::server::{Server, LARDER_VERSION, REDIS_VERSION};
use crate::stats::{bytes_to_human, cpu_times, total_system_memory};
use crate::util::{int_arg, is};

const CONFIG_SUB: u64 = ADMIN | NOSCRIPT | LOADING | STALE;
const CONFIG_ACL: u64 = acl::ADMIN | acl::SLOW | acl::DANGEROUS;

static CONFIG_SUBCOMMANDS: &[CommandSpec] = &[
    CommandSpec::new("config|get", -3, CONFIG_SUB, CONFIG_ACL, config_get).doc(
        "server",
        "2.0.0",
        "Get the values of configuration parameters",
        "O(N) when N is the number of configuration parameters provided",
    ),
    CommandSpec::new("config|set", -4, CONFIG_SUB, CONFIG_ACL, config_set)
        .doc(
            "server",
            "2.0.0",
            "Set configuration parameters to the given values",
            "O(N) when N is the number of configuration parameters provided",
        )
        .tips(&["request_policy:all_nodes", "response_policy:all_succeeded"]),
    CommandSpec::new("config|resetstat", 2, CONFIG_SUB, CONFIG_ACL, config_resetstat).doc(
        "server",
        "2.0.0",
        "Reset the stats returned by INFO",
        "O(1)",
    ),
    CommandSpec::new("config|rewrite", 2, CONFIG_SUB, CONFIG_ACL, config_rewrite).doc(
        "server",
        "2.8.0",
        "Rewrite the configuration file with the in memory configuration",
        "O(1)",
    ),
    CommandSpec::new("config|help", 2, LOADING | STALE, acl::SLOW, config_help).doc(
        "server",
        "5.0.0",
        "Show helpful text about the different subcommands",
        "O(1)",
    ),
];

pub static COMMANDS: &[CommandSpec] = &[
    CommandSpec::new("info", -1, LOADING | STALE, acl::SLOW | acl::DANGEROUS, info)
        .doc(
            "server",
            "1.0.0",
            "Get information and statistics about the server",
            "O(1)",
        )
        .tips(&[
            "nondeterministic_output",
            "request_policy:all_shards",
            "response_policy:special",
        ]),
    CommandSpec::container("config", -2, acl::SLOW, CONFIG_SUBCOMMANDS).doc(
        "server",
        "2.0.0",
        "A container for server configuration commands",
        "Depends on subcommand.",
    ),
    CommandSpec::new("time", 1, LOADING | STALE | FAST, acl::FAST, time)
        .doc("server", "2.6.0", "Return the current server time", "O(1)")
        .tips(&["nondeterministic_output"]),
    CommandSpec::new(
        "monitor",
        1,
        ADMIN | NOSCRIPT | LOADING | STALE,
        acl::ADMIN | acl::SLOW | acl::DANGEROUS,
        monitor,
    )
    .doc(
        "server",
        "1.0.0",
        "Listens for all requests received by the server in real-time.",
        "",
    ),
    CommandSpec::new(
        "shutdown",
        -1,
        ADMIN | NOSCRIPT | LOADING | STALE | NO_MULTI | ALLOW_BUSY,
        acl::ADMIN | acl::SLOW | acl::DANGEROUS,
        shutdown,
    )
    .doc(
        "server",
        "1.0.0",
        "Synchronously save the dataset to disk and then shut down the server",
        "O(N) when saving, where N is the total number of keys in all databases when saving data, otherwise O(1)",
    ),
    CommandSpec::new(
        "dbsize",
        1,
        READONLY | FAST,
        acl::KEYSPACE | acl::READ | acl::FAST,
        dbsize,
    )
    .doc("server", "1.0.0", "Returns the number of keys in the database.", "O(1)")
    .tips(&["request_policy:all_shards", "response_policy:agg_sum"]),
    CommandSpec::new(
        "debug",
        -2,
        ADMIN | NOSCRIPT | LOADING | STALE | PROTECTED,
        acl::ADMIN | acl::SLOW | acl::DANGEROUS,
        debug,
    )
    .doc(
        "server",
        "1.0.0",
        "A container for debugging commands.",
        "Depends on subcommand.",
    ),
];

/// DEBUG's flag in Redis (protected by enable-debug-command).
const PROTECTED: u64 = 0;

fn dbsize(ctx: &mut Ctx<'_>, _args: &[&[u8]]) {
    let dbi = ctx.client.db;
    let n = if let crate::dispatch::Locks::All(guards) = &ctx.locks {
        // Inside EXEC every shard is already held.
        guards.iter().map(|g| g.dbs[dbi].len()).sum()
    } else {
        ctx.server.keyspace.dbsize(dbi)
    };
    ctx.out.integer(n as i64);
}

fn debug_allowed(ctx: &Ctx<'_>) -> bool {
    let mode = ctx.server.config.read().enable_debug_command.clone();
    match mode.as_str() {
        "yes" => true,
        "local" => ctx.client.info.is_local(),
        _ => false,
    }
}

/// DEBUG: the subcommands tests rely on. `ADVANCE-CLOCK ms` is
/// Larder's own: it moves the server clock forward so TTL tests need no
/// sleeps; so is `AOF-HOLD-FSYNC 0|1`, which shows what waits for an
/// `always` fsync.
fn debug(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    if !debug_allowed(ctx) {
        ctx.out.error("DEBUG command not allowed. If the enable-debug-command option is set to \"local\", you can run it from a local connection, otherwise you need to set this option in the configuration file, and then restart the server.");
        return;
    }
    let sub = args[1];
    if is(sub, "help") {
        let lines = [
            "DEBUG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
            "ADVANCE-CLOCK <milliseconds>",
            "    Move the server's clock forward (Larder only).",
            "AOF-HOLD-FSYNC <0|1>",
            "    Hold the AOF's fsyncs under appendfsync always (Larder only).",
            "SET-ACTIVE-EXPIRE <0|1>",
            "    Setting it to 0 disables expiring keys in background when they are not accessed.",
            "SLEEP <seconds>",
            "    Stop the server for <seconds>. Decimals allowed.",
            "HELP",
            "    Prints this help.",
        ];
        help_reply(ctx, &lines);
    } else if is(sub, "advance-clock") && args.len() == 3 {
        match int_arg(args[2]) {
            Ok(ms) if ms >= 0 => {
                ctx.server.clock.advance(ms as u64);
                ctx.out.ok();
            }
            _ => ctx.out.error("value is not an integer or out of range"),
        }
    } else if is(sub, "aof-hold-fsync") && args.len() == 3 {
        match (int_arg(args[2]), ctx.server.aof.handle()) {
            (Ok(v), Some(aof)) => {
                aof.writer().hold_fsync(v != 0);
                ctx.out.ok();
            }
            (Ok(_), None) => ctx.out.error("AOF is off"),
            (Err(e), _) => ctx.out.error(e),
        }
    } else if is(sub, "set-active-expire") && args.len() == 3 {
        match int_arg(args[2]) {
            Ok(v) => {
                ctx.server.active_expire_enabled.store(v != 0, Ordering::Relaxed);
                ctx.out.ok();
            }
            Err(e) => ctx.out.error(e),
        }
    } else if is(sub, "sleep") && args.len() == 3 {
        let secs = crate::util::parse_f64(args[2]).unwrap_or(0.0).clamp(0.0, 3600.0);
        std::thread::sleep(std::time::Duration::from_secs_f64(secs));
        ctx.out.ok();
    } else {
        ctx.out.error(&format!(
            "unknown subcommand or wrong number of arguments for '{}'. Try DEBUG HELP.",
            String::from_utf8_lossy(sub)
        ));
    }
}

/// A HELP subcommand's reply: one status line per text line.
pub(crate) fn help_reply(ctx: &mut Ctx<'_>, lines: &[&str]) {
    ctx.out.array(lines.len());
    for l in lines {
        ctx.out.simple(l);
    }
}

// ---------------------------------------------------------------- INFO

/// Sections in the order INFO prints them; `true`: part of the default set.
const SECTIONS: &[(&str, bool)] = &[
    ("server", true),
    ("clients", true),
    ("memory", true),
    ("persistence", true),
    ("stats", true),
    ("replication", true),
    ("cpu", true),
    ("modules", true),
    ("commandstats", false),
    ("errorstats", true),
    ("latencystats", false),
    ("cluster", true),
    ("keyspace", true),
];

fn info(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    let mut wanted = [false; SECTIONS.len()];
    if args.len() == 1 {
        for (w, (_, default)) in wanted.iter_mut().zip(SECTIONS) {
            *w = *default;
        }
    }
    for a in &args[1..] {
        if is(a, "default") {
            for (w, (_, default)) in wanted.iter_mut().zip(SECTIONS) {
                *w |= *default;
            }
        } else if is(a, "all") || is(a, "everything") {
            wanted = [true; SECTIONS.len()];
        } else if let Some(i) = SECTIONS.iter().position(|(n, _)| is(a, n)) {
            wanted[i] = true;
        }
    }
    let ks = keyspace_numbers(ctx);
    let text = info_text(ctx.server, &ks, &wanted);
    ctx.out.verbatim(&text);
}

/// What INFO reports about the keyspace, summed over every shard.
#[derive(Debug, Default)]
pub struct KeyspaceNumbers {
    /// (keys, keys with a TTL) per database.
    pub sizes: Vec<(usize, usize)>,
    pub hits: u64,
    pub misses: u64,
    pub expired: u64,
    /// The databases' table and expiry-index overhead (MEMORY STATS).
    pub db_overhead: u64,
}

/// Visits every shard's databases. Uses the shard guards the command
/// already holds (a transaction holding every shard), otherwise locks
/// one shard at a time.
fn for_each_shard(ctx: &mut Ctx<'_>, mut f: impl FnMut(&mut larder_engine::Shard)) {
    if let crate::dispatch::Locks::All(guards) = &mut ctx.locks {
        for g in guards.iter_mut() {
            f(g);
        }
        return;
    }
    let ks = &ctx.server.keyspace;
    for i in 0..ks.shard_count() {
        f(&mut ks.lock(i));
    }
}

fn keyspace_numbers(ctx: &mut Ctx<'_>) -> KeyspaceNumbers {
    let mut n = KeyspaceNumbers {
        sizes: vec![(0, 0); ctx.server.keyspace.databases()],
        ..Default::default()
    };
    for_each_shard(ctx, |shard| {
        for (i, db) in shard.dbs.iter().enumerate() {
            if let Some(s) = n.sizes.get_mut(i) {
                s.0 += db.len();
                s.1 += db.volatile_len();
            }
            n.hits += db.stats.hits;
            n.misses += db.stats.misses;
            n.expired += db.stats.expired;
            let (main, expires) = super::memory::db_overhead(db);
            n.db_overhead += main + expires;
        }
    });
    n
}

/// Appends `name:value\r\n`.
macro_rules! field {
    ($out:expr, $name:expr, $($arg:tt)*) => {{
        let _ = write!($out, "{}:", $name);
        let _ = write!($out, $($arg)*);
        $out.push_str("\r\n");
    }};
}

/// The INFO text for the selected sections.
pub fn info_text(server: &Server, ks: &KeyspaceNumbers, wanted: &[bool]) -> String {
    let mut out = String::with_capacity(4096);
    for (i, (name, _)) in SECTIONS.iter().enumerate() {
        if !wanted.get(i).copied().unwrap_or(false) {
            continue;
        }
        if !out.is_empty() {
            out.push_str("\r\n");
        }
        match *name {
            "server" => info_server(server, &mut out),
            "clients" => info_clients(server, &mut out),
            "memory" => info_memory(server, ks, &mut out),
            "persistence" => info_persistence(server, &mut out),
            "stats" => info_stats(server, ks, &mut out),
            "replication" => info_replication(server, &mut out),
            "cpu" => info_cpu(&mut out),
            "modules" => out.push_str("# Modules\r\n"),
            "commandstats" => info_commandstats(server, &mut out),
            "errorstats" => info_errorstats(server, &mut out),
            "latencystats" => info_latencystats(server, &mut out),
            "cluster" => out.push_str("# Cluster\r\ncluster_enabled:0\r\n"),
            "keyspace" => info_keyspace(ks, &mut out),
            _ => {}
        }
    }
    out
}

fn uname() -> String {
    // SAFETY: an all-zero utsname is valid; uname fills it in.
    let mut u: libc::utsname = unsafe { std::mem::zeroed() };
    // SAFETY: `u` is a valid, writable utsname.
    if unsafe { libc::uname(&mut u) } != 0 {
        return std::env::consts::OS.to_string();
    }
    let field = |f: &[libc::c_char]| -> String {
        let bytes: Vec<u8> = f.iter().take_while(|&&c| c != 0).map(|&c| c as u8).collect();
        String::from_utf8_lossy(&bytes).into_owned()
    };
    format!("{} {} {}", field(&u.sysname), field(&u.release), field(&u.machine))
}

fn unix_us() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_micros() as u64)
        .unwrap_or(0)
}

fn info_server(server: &Server, out: &mut String) {
    let cfg = server.config.read();
    let uptime = server.started.elapsed().as_secs();
    out.push_str("# Server\r\n");
    field!(out, "redis_version", "{REDIS_VERSION}");
    field!(out, "larder_version", "{LARDER_VERSION}");
    field!(out, "redis_git_sha1", "00000000");
    field!(out, "redis_git_dirty", "0");
    field!(out, "redis_mode", "standalone");
    field!(out, "os", "{}", uname());
    field!(out, "arch_bits", "{}", usize::BITS);
    field!(
        out,
        "multiplexing_api",
        "{}",
        if cfg!(target_os = "linux") { "epoll" } else { "kqueue" }
    );
    field!(out, "process_id", "{}", std::process::id());
    field!(out, "process_supervised", "no");
    field!(out, "run_id", "{}", server.run_id);
    field!(out, "tcp_port", "{}", server.bound_port.load(Ordering::Relaxed));
    let now_us = unix_us() + server.clock.offset() * 1000;
    field!(out, "server_time_usec", "{now_us}");
    field!(out, "uptime_in_seconds", "{uptime}");
    field!(out, "uptime_in_days", "{}", uptime / 86400);
    field!(out, "hz", "{}", cfg.hz);
    field!(out, "configured_hz", "{}", cfg.hz);
    field!(out, "lru_clock", "{}", (now_us / 1_000_000) & ((1 << 24) - 1));
    let exe = std::env::current_exe()
        .map(|p| p.display().to_string())
        .unwrap_or_default();
    field!(out, "executable", "{exe}");
    let file = cfg.file.as_ref().map(|p| p.display().to_string()).unwrap_or_default();
    field!(out, "config_file", "{file}");
    field!(out, "io_threads_active", "{}", u8::from(cfg.io_threads > 1));
    let mut n = 0;
    if cfg.port != 0 || cfg.unixsocket.is_none() {
        let binds: String = cfg.bind.iter().map(|b| format!(",bind={b}")).collect();
        field!(
            out,
            "listener0",
            "name=tcp{binds},port={}",
            server.bound_port.load(Ordering::Relaxed)
        );
        n += 1;
    }
    if let Some(path) = &cfg.unixsocket {
        field!(out, format!("listener{n}"), "name=unix,bind={path}");
    }
}

fn info_clients(server: &Server, out: &mut String) {
    let (max_in, max_out) = server.clients.lock().values().fold((0, 0), |(i, o), c| {
        (
            i.max(c.qbuf.load(Ordering::Relaxed)),
            o.max(c.obuf.load(Ordering::Relaxed) + c.outbox.queued()),
        )
    });
    out.push_str("# Clients\r\n");
    field!(
        out,
        "connected_clients",
        "{}",
        server.stats.connected_clients.load(Ordering::Relaxed)
    );
    field!(out, "cluster_connections", "0");
    field!(out, "maxclients", "{}", server.config.read().maxclients);
    field!(out, "client_recent_max_input_buffer", "{max_in}");
    field!(out, "client_recent_max_output_buffer", "{max_out}");
    let (blocking_keys, timed) = server.blocking.stats();
    field!(out, "blocked_clients", "{}", server.blocking.blocked_clients());
    field!(out, "tracking_clients", "{}", server.tracking.clients());
    field!(out, "clients_in_timeout_table", "{timed}");
    field!(out, "total_blocking_keys", "{blocking_keys}");
    field!(out, "total_blocking_keys_on_nokey", "0");
}

/// (used_memory, rss, client buffers) for INFO memory.
fn memory_numbers(server: &Server) -> (u64, u64, u64) {
    let rss = crate::stats::rss().unwrap_or(0);
    let used = crate::stats::used_memory().unwrap_or(rss);
    let clients: u64 = server
        .clients
        .lock()
        .values()
        .map(|c| (c.qbuf.load(Ordering::Relaxed) + c.obuf.load(Ordering::Relaxed) + c.outbox.queued()) as u64)
        .sum();
    (used, rss, clients)
}

fn info_memory(server: &Server, ks: &KeyspaceNumbers, out: &mut String) {
    let (used, rss, clients) = memory_numbers(server);
    let (allocated, active, resident) = super::memory::allocator_stats();
    let ratio = |a: u64, b: u64| if b == 0 { 0.0 } else { a as f64 / b as f64 };
    let diff = |a: u64, b: u64| a as i64 - b as i64;
    let peak = server
        .stats
        .used_memory_peak
        .fetch_max(used, Ordering::Relaxed)
        .max(used);
    let startup = server.startup_memory.min(used);
    let overhead = (startup + clients + ks.db_overhead).min(used);
    let dataset = used - overhead;
    let net = used - startup;
    let sys = total_system_memory();
    let cfg = server.config.read();
    out.push_str("# Memory\r\n");
    field!(out, "used_memory", "{used}");
    field!(out, "used_memory_human", "{}", bytes_to_human(used));
    field!(out, "used_memory_rss", "{rss}");
    field!(out, "used_memory_rss_human", "{}", bytes_to_human(rss));
    field!(out, "used_memory_peak", "{peak}");
    field!(out, "used_memory_peak_human", "{}", bytes_to_human(peak));
    field!(
        out,
        "used_memory_peak_perc",
        "{:.2}%",
        used as f64 * 100.0 / peak.max(1) as f64
    );
    field!(out, "used_memory_overhead", "{overhead}");
    field!(out, "used_memory_startup", "{startup}");
    field!(out, "used_memory_dataset", "{dataset}");
    field!(
        out,
        "used_memory_dataset_perc",
        "{:.2}%",
        if net == 0 {
            0.0
        } else {
            dataset as f64 * 100.0 / net as f64
        }
    );
    field!(out, "allocator_allocated", "{allocated}");
    field!(out, "allocator_active", "{active}");
    field!(out, "allocator_resident", "{resident}");
    field!(out, "total_system_memory", "{sys}");
    field!(out, "total_system_memory_human", "{}", bytes_to_human(sys));
    server.scripting.info_memory(out);
    field!(out, "maxmemory", "{}", cfg.maxmemory);
    field!(out, "maxmemory_human", "{}", bytes_to_human(cfg.maxmemory));
    field!(out, "maxmemory_policy", "{}", cfg.maxmemory_policy.name());
    field!(out, "allocator_frag_ratio", "{:.2}", ratio(active, allocated));
    field!(out, "allocator_frag_bytes", "{}", diff(active, allocated));
    field!(out, "allocator_rss_ratio", "{:.2}", ratio(resident, active));
    field!(out, "allocator_rss_bytes", "{}", diff(resident, active));
    field!(out, "rss_overhead_ratio", "{:.2}", ratio(rss, resident));
    field!(out, "rss_overhead_bytes", "{}", diff(rss, resident));
    field!(
        out,
        "mem_fragmentation_ratio",
        "{:.2}",
        if used == 0 { 0.0 } else { rss as f64 / used as f64 }
    );
    field!(out, "mem_fragmentation_bytes", "{}", rss as i64 - used as i64);
    field!(out, "mem_not_counted_for_evict", "0");
    field!(out, "mem_replication_backlog", "0");
    field!(out, "mem_total_replication_buffers", "0");
    field!(out, "mem_clients_slaves", "0");
    field!(out, "mem_clients_normal", "{clients}");
    field!(out, "mem_cluster_links", "0");
    field!(
        out,
        "mem_aof_buffer",
        "{}",
        server.aof.handle().map_or(0, |a| a.writer().buffered())
    );
    field!(out, "mem_allocator", "{}", crate::stats::allocator_name());
    field!(out, "active_defrag_running", "0");
    let ld = |a: &std::sync::atomic::AtomicU64| a.load(Ordering::Relaxed);
    field!(
        out,
        "lazyfree_pending_objects",
        "{}",
        ld(&server.stats.lazyfree_pending)
    );
    field!(out, "lazyfreed_objects", "{}", ld(&server.stats.lazyfreed));
}

fn info_persistence(server: &Server, out: &mut String) {
    out.push_str("# Persistence\r\n");
    crate::persist::info(server, out);
}

fn info_stats(server: &Server, ks: &KeyspaceNumbers, out: &mut String) {
    let st = &server.stats;
    let ld = |a: &std::sync::atomic::AtomicU64| a.load(Ordering::Relaxed);
    let (hits, misses, expired) = (ks.hits, ks.misses, ks.expired);
    let kbps = |s: &parking_lot::Mutex<crate::stats::OpsSampler>| s.lock().ops_per_sec() as f64 / 1024.0;
    out.push_str("# Stats\r\n");
    field!(
        out,
        "total_connections_received",
        "{}",
        ld(&st.total_connections_received)
    );
    field!(out, "total_commands_processed", "{}", ld(&st.total_commands_processed));
    field!(out, "instantaneous_ops_per_sec", "{}", st.ops.lock().ops_per_sec());
    field!(out, "total_net_input_bytes", "{}", ld(&st.net_input_bytes));
    field!(out, "total_net_output_bytes", "{}", ld(&st.net_output_bytes));
    field!(out, "total_net_repl_input_bytes", "0");
    field!(out, "total_net_repl_output_bytes", "0");
    field!(out, "instantaneous_input_kbps", "{:.2}", kbps(&st.net_input_rate));
    field!(out, "instantaneous_output_kbps", "{:.2}", kbps(&st.net_output_rate));
    field!(out, "instantaneous_input_repl_kbps", "0.00");
    field!(out, "instantaneous_output_repl_kbps", "0.00");
    field!(out, "rejected_connections", "{}", ld(&st.rejected_connections));
    field!(out, "sync_full", "0");
    field!(out, "sync_partial_ok", "0");
    field!(out, "sync_partial_err", "0");
    field!(out, "expired_keys", "{expired}");
    // Expiry is exact (an index of deadlines, every due key removed each
    // pass, no time cap), so no stale share is estimated.
    field!(out, "expired_stale_perc", "0.00");
    field!(out, "expired_time_cap_reached_count", "0");
    field!(
        out,
        "expire_cycle_cpu_milliseconds",
        "{}",
        ld(&st.expire_cycle_usec) / 1000
    );
    field!(out, "evicted_keys", "{}", ld(&server.eviction.evicted_keys));
    field!(out, "evicted_clients", "0");
    field!(
        out,
        "total_eviction_exceeded_time",
        "{}",
        ld(&server.eviction.exceeded_total_ms)
    );
    field!(
        out,
        "current_eviction_exceeded_time",
        "{}",
        server.eviction.exceeded_current_ms(server.started)
    );
    field!(out, "keyspace_hits", "{hits}");
    field!(out, "keyspace_misses", "{misses}");
    field!(out, "pubsub_channels", "{}", server.pubsub.channel_count());
    field!(out, "pubsub_patterns", "{}", server.pubsub.pattern_count());
    field!(out, "pubsubshard_channels", "{}", server.pubsub.shard_channel_count());
    field!(out, "latest_fork_usec", "0");
    field!(out, "total_forks", "0");
    field!(out, "migrate_cached_sockets", "0");
    field!(out, "slave_expires_tracked_keys", "0");
    // `activedefrag yes` is refused: nothing is defragmented.
    for f in [
        "active_defrag_hits",
        "active_defrag_misses",
        "active_defrag_key_hits",
        "active_defrag_key_misses",
        "total_active_defrag_time",
        "current_active_defrag_time",
    ] {
        field!(out, f, "0");
    }
    field!(out, "tracking_total_keys", "{}", server.tracking.total_keys());
    field!(out, "tracking_total_items", "{}", server.tracking.total_items());
    field!(out, "tracking_total_prefixes", "{}", server.tracking.total_prefixes());
    field!(out, "unexpected_error_replies", "{}", ld(&st.unexpected_error_replies));
    field!(out, "total_error_replies", "{}", ld(&st.total_error_replies));
    field!(out, "total_reads_processed", "{}", ld(&st.reads_processed));
    field!(out, "total_writes_processed", "{}", ld(&st.writes_processed));
    let d = &server.acl.denials;
    field!(out, "acl_access_denied_auth", "{}", ld(&d.auth));
    field!(out, "acl_access_denied_cmd", "{}", ld(&d.cmd));
    field!(out, "acl_access_denied_key", "{}", ld(&d.key));
    field!(out, "acl_access_denied_channel", "{}", ld(&d.channel));
}

fn info_replication(server: &Server, out: &mut String) {
    out.push_str("# Replication\r\n");
    field!(out, "role", "master");
    field!(out, "connected_slaves", "0");
    field!(out, "master_failover_state", "no-failover");
    field!(out, "master_replid", "{}", server.replid);
    field!(out, "master_replid2", "0000000000000000000000000000000000000000");
    field!(out, "master_repl_offset", "0");
    field!(out, "second_repl_offset", "-1");
    field!(out, "repl_backlog_active", "0");
    let backlog = server
        .config
        .read()
        .get_matching(&[b"repl-backlog-size"])
        .first()
        .map(|(_, v)| v.clone())
        .unwrap_or_default();
    field!(out, "repl_backlog_size", "{backlog}");
    field!(out, "repl_backlog_first_byte_offset", "0");
    field!(out, "repl_backlog_histlen", "0");
}

fn info_cpu(out: &mut String) {
    let (user, sys) = cpu_times(libc::RUSAGE_SELF);
    let (cuser, csys) = cpu_times(libc::RUSAGE_CHILDREN);
    out.push_str("# CPU\r\n");
    field!(out, "used_cpu_sys", "{sys:.6}");
    field!(out, "used_cpu_user", "{user:.6}");
    field!(out, "used_cpu_sys_children", "{csys:.6}");
    field!(out, "used_cpu_user_children", "{cuser:.6}");
}

fn info_commandstats(server: &Server, out: &mut String) {
    let mut rows: Vec<(&str, u64, u64, u64, u64)> = Vec::new();
    for cmd in server.commands.commands.values() {
        cmd.walk(&mut |c| {
            let s = &c.stats;
            let (calls, usec) = (s.calls.load(Ordering::Relaxed), s.usec.load(Ordering::Relaxed));
            let rejected = s.rejected_calls.load(Ordering::Relaxed);
            let failed = s.failed_calls.load(Ordering::Relaxed);
            if calls != 0 || rejected != 0 || failed != 0 {
                rows.push((c.spec.name, calls, usec, rejected, failed));
            }
        });
    }
    rows.sort_unstable();
    out.push_str("# Commandstats\r\n");
    for (name, calls, usec, rejected, failed) in rows {
        let per = if calls == 0 { 0.0 } else { usec as f64 / calls as f64 };
        field!(
            out,
            format!("cmdstat_{name}"),
            "calls={calls},usec={usec},usec_per_call={per:.2},rejected_calls={rejected},failed_calls={failed}"
        );
    }
}

/// Each command's latency percentiles (none while `latency-tracking` is
/// off, as Redis).
fn info_latencystats(server: &Server, out: &mut String) {
    out.push_str("# Latencystats\r\n");
    if !server.latency_tracking.enabled() {
        return;
    }
    for (name, snap) in latency_snapshots(server) {
        field!(
            out,
            format!("latency_percentiles_usec_{name}"),
            "{}",
            server.latency_tracking.info_value(&snap)
        );
    }
}

/// The commands with latency samples, by name.
pub(crate) fn latency_snapshots(server: &Server) -> Vec<(&'static str, crate::latency_hist::Snapshot)> {
    let mut rows = Vec::new();
    for cmd in server.commands.commands.values() {
        cmd.walk(&mut |c| {
            if let Some(snap) = c.stats.latency_snapshot() {
                rows.push((c.spec.name, snap));
            }
        });
    }
    rows.sort_unstable_by_key(|r| r.0);
    rows
}

fn info_errorstats(server: &Server, out: &mut String) {
    let mut rows: Vec<(String, u64)> = server.errorstats.lock().iter().map(|(k, v)| (k.clone(), *v)).collect();
    rows.sort_unstable();
    out.push_str("# Errorstats\r\n");
    for (code, n) in rows {
        field!(out, format!("errorstat_{code}"), "count={n}");
    }
}

fn info_keyspace(ks: &KeyspaceNumbers, out: &mut String) {
    out.push_str("# Keyspace\r\n");
    for (i, &(keys, expires)) in ks.sizes.iter().enumerate() {
        if keys > 0 {
            field!(out, format!("db{i}"), "keys={keys},expires={expires},avg_ttl=0");
        }
    }
}

// -------------------------------------------------------------- CONFIG

fn config_get(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    let pairs = ctx.server.config.read().get_matching(&args[2..]);
    ctx.out.map(pairs.len());
    for (k, v) in pairs {
        ctx.out.bulk_str(&k);
        ctx.out.bulk_str(&v);
    }
}

fn config_set(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    if args.len() & 1 != 0 {
        ctx.out.error(crate::util::ERR_SYNTAX);
        return;
    }
    let pairs: Vec<(&[u8], &[u8])> = args[2..].chunks(2).map(|c| (c[0], c[1])).collect();
    let tls = pairs.iter().find(|(n, _)| crate::tls::affects(n)).map(|(n, _)| *n);
    let before = tls.map(|_| ctx.server.config.read().clone());
    let result = ctx.server.config.write().set_many(&pairs);
    if let (Ok(_), Some(name), Some(before)) = (&result, tls, before) {
        // The new files must load before they are used (Redis's applyTlsCfg).
        let built = crate::tls::build(&ctx.server.config.read());
        match built {
            Ok(acceptor) => ctx.server.tls.set(acceptor),
            Err(e) => {
                tracing::warn!("{e}");
                *ctx.server.config.write() = before;
                ctx.out.error(&format!(
                    "CONFIG SET failed (possibly related to argument '{}') - Unable to update TLS configuration. Check server logs.",
                    String::from_utf8_lossy(name).to_ascii_lowercase()
                ));
                return;
            }
        }
    }
    match result {
        Ok(_) => {
            match &ctx.locks {
                // Inside EXEC every shard is already held.
                crate::dispatch::Locks::All(guards) => ctx.server.config_changed_held(Some(guards)),
                _ => ctx.server.config_changed(),
            }
            ctx.out.ok();
        }
        Err(e) => ctx.out.error(&e),
    }
}

fn config_resetstat(ctx: &mut Ctx<'_>, _args: &[&[u8]]) {
    ctx.server.reset_stats();
    for_each_shard(ctx, |shard| {
        for db in shard.dbs.iter_mut() {
            db.stats = Default::default();
        }
    });
    ctx.out.ok();
}

fn config_rewrite(ctx: &mut Ctx<'_>, _args: &[&[u8]]) {
    let users = crate::commands::aclcmd::user_lines(ctx.server);
    let result = ctx.server.config.read().rewrite(&users);
    match result {
        Ok(()) => {
            tracing::info!("CONFIG REWRITE executed with success.");
            ctx.out.ok();
        }
        Err(e) => {
            tracing::warn!("CONFIG REWRITE failed: {e}");
            ctx.out.error(&e);
        }
    }
}

fn config_help(ctx: &mut Ctx<'_>, _args: &[&[u8]]) {
    help_reply(
        ctx,
        &[
            "CONFIG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
            "GET <pattern>",
            "    Return parameters matching the glob-like <pattern> and their values.",
            "SET <directive> <value>",
            "    Set the configuration <directive> to <value>.",
            "RESETSTAT",
            "    Reset statistics reported by the INFO command.",
            "REWRITE",
            "    Rewrite the configuration file.",
            "HELP",
            "    Prints this help.",
        ],
    );
}

// ------------------------------------------------------- TIME, SHUTDOWN

fn time(ctx: &mut Ctx<'_>, _args: &[&[u8]]) {
    let us = unix_us() + ctx.server.clock.offset() * 1000;
    ctx.out.array(2);
    ctx.out.bulk_str(&(us / 1_000_000).to_string());
    ctx.out.bulk_str(&(us % 1_000_000).to_string());
}

/// MONITOR (monitorCommand): from now on the client sees every command
/// (`monitor.rs`).
fn monitor(ctx: &mut Ctx<'_>, _args: &[&[u8]]) {
    if ctx.client.deny_blocking {
        return ctx.out.error("MONITOR isn't allowed for DENY BLOCKING client");
    }
    if ctx.client.info.monitor.swap(true, Ordering::Relaxed) {
        // Already monitoring: ignored, no reply (as Redis).
        return;
    }
    ctx.server.monitors.add(ctx.client.info.clone());
    ctx.out.ok();
}

fn shutdown(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    let (mut nosave, mut save, mut force, mut abort, mut any) = (false, false, false, false, false);
    for a in &args[1..] {
        if is(a, "nosave") {
            nosave = true;
        } else if is(a, "save") {
            save = true;
        } else if is(a, "now") {
        } else if is(a, "force") {
            force = true;
        } else if is(a, "abort") {
            abort = true;
            continue;
        } else {
            ctx.out.error(crate::util::ERR_SYNTAX);
            return;
        }
        any = true;
    }
    if (abort && any) || (nosave && save) {
        ctx.out.error(crate::util::ERR_SYNTAX);
        return;
    }
    if abort {
        // Larder's shutdown never waits (no replicas), so there is never
        // one in progress to abort.
        ctx.out.error("No shutdown in progress.");
        return;
    }
    tracing::warn!("User requested shutdown...");
    if !crate::persist::prepare_shutdown(ctx.server, save, nosave, force) {
        ctx.out.error("Errors trying to SHUTDOWN. Check logs.");
        return;
    }
    ctx.server.request_shutdown();
    ctx.client.close_after_reply = true;
}
