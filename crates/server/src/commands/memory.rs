//! MEMORY (Redis's object.c `memoryCommand`): USAGE, STATS, DOCTOR,
//! MALLOC-STATS, PURGE and HELP, plus the overhead figures INFO memory
//! shares with MEMORY STATS.

use std::sync::atomic::Ordering;

use super::{acl, flags::*, CommandSpec, KeySpec};
use crate::dispatch::{Ctx, Locks};
use crate::util::{is, parse_i64, ERR_SYNTAX};

const KEY_USAGE: &[KeySpec] = &[KeySpec::single(2, &["RO"])];
const TIPS_SPECIAL: &[&str] = &[
    "nondeterministic_output",
    "request_policy:all_shards",
    "response_policy:special",
];
const TIPS_PURGE: &[&str] = &["request_policy:all_shards", "response_policy:all_succeeded"];
const SLOW_COMPLEXITY: &str = "Depends on how much memory is allocated, could be slow";

/// MEMORY's subcommands.
static MEMORY_SUBCOMMANDS: &[CommandSpec] = &[
    CommandSpec::new("memory|doctor", 2, 0, acl::SLOW, memory_doctor)
        .doc("server", "4.0.0", "Outputs a memory problems report.", "O(1)")
        .tips(TIPS_SPECIAL),
    CommandSpec::new("memory|help", 2, LOADING | STALE, acl::SLOW, memory_help).doc(
        "server",
        "4.0.0",
        "Returns helpful text about the different subcommands.",
        "O(1)",
    ),
    CommandSpec::new("memory|malloc-stats", 2, 0, acl::SLOW, memory_malloc_stats)
        .doc("server", "4.0.0", "Returns the allocator statistics.", SLOW_COMPLEXITY)
        .tips(TIPS_SPECIAL),
    CommandSpec::new("memory|purge", 2, 0, acl::SLOW, memory_purge)
        .doc(
            "server",
            "4.0.0",
            "Asks the allocator to release memory.",
            SLOW_COMPLEXITY,
        )
        .tips(TIPS_PURGE),
    CommandSpec::new("memory|stats", 2, 0, acl::SLOW, memory_stats)
        .doc("server", "4.0.0", "Returns details about memory usage.", "O(1)")
        .tips(TIPS_SPECIAL),
    CommandSpec::new("memory|usage", -3, READONLY, acl::READ | acl::SLOW, memory_usage)
        .keys(KEY_USAGE)
        .doc(
            "server",
            "4.0.0",
            "Estimates the memory usage of a key.",
            "O(N) where N is the number of samples.",
        ),
];

pub static COMMANDS: &[CommandSpec] = &[CommandSpec::container("memory", -2, acl::SLOW, MEMORY_SUBCOMMANDS).doc(
    "server",
    "4.0.0",
    "A container for memory diagnostics commands.",
    "Depends on subcommand.",
)];

// ---------------------------------------------------------------------
// Figures

/// A database's (main table, expiry index) overhead in bytes: the
/// table's slots (8-byte entry pointer plus a control byte each) and the
/// expiry index's records.
pub fn db_overhead(db: &larder_engine::Db) -> (u64, u64) {
    let main = db.buckets() * (std::mem::size_of::<larder_engine::Entry>() + 1);
    let expires = db.volatile_len() * 16;
    (main as u64, expires as u64)
}

/// jemalloc's (allocated, active, resident), or zeros when jemalloc is
/// not the global allocator.
pub fn allocator_stats() -> (u64, u64, u64) {
    #[cfg(not(target_env = "msvc"))]
    if crate::stats::allocated().is_some() {
        use tikv_jemalloc_ctl::stats;
        let allocated = stats::allocated::read().unwrap_or(0) as u64;
        let active = stats::active::read().unwrap_or(0) as u64;
        let resident = stats::resident::read().unwrap_or(0) as u64;
        return (allocated, active, resident);
    }
    (0, 0, 0)
}

fn jemalloc_global() -> bool {
    crate::stats::allocated().is_some()
}

/// Redis's `redisMemOverhead`, the figures MEMORY STATS and DOCTOR use.
struct Overhead {
    peak: u64,
    used: u64,
    startup: u64,
    clients: u64,
    /// (db index, main, expires) for each database holding keys.
    dbs: Vec<(usize, u64, u64)>,
    total: u64,
    keys: u64,
    bytes_per_key: u64,
    dataset: u64,
    dataset_perc: f32,
    peak_perc: f32,
    allocated: u64,
    active: u64,
    resident: u64,
    rss: u64,
}

/// Ratio and difference of `a` over `b` as Redis reports them (floats).
fn ratio(a: u64, b: u64) -> f32 {
    if b == 0 {
        0.0
    } else {
        (a as f64 / b as f64) as f32
    }
}

impl Overhead {
    fn collect(ctx: &mut Ctx<'_>) -> Overhead {
        let server = ctx.server;
        let rss = crate::stats::rss().unwrap_or(0);
        let used = crate::stats::used_memory().unwrap_or(rss);
        let peak = server
            .stats
            .used_memory_peak
            .fetch_max(used, Ordering::Relaxed)
            .max(used);
        let clients: u64 = server
            .clients
            .lock()
            .values()
            .map(|c| (c.qbuf.load(Ordering::Relaxed) + c.obuf.load(Ordering::Relaxed)) as u64)
            .sum();
        let ndb = server.keyspace.databases();
        let mut per_db = vec![(0u64, 0u64, 0u64); ndb];
        let mut visit = |shard: &mut larder_engine::Shard| {
            for (i, db) in shard.dbs.iter().enumerate() {
                if let Some(d) = per_db.get_mut(i) {
                    let (m, e) = db_overhead(db);
                    d.0 += db.len() as u64;
                    d.1 += m;
                    d.2 += e;
                }
            }
        };
        if let Locks::All(guards) = &mut ctx.locks {
            for g in guards.iter_mut() {
                visit(g);
            }
        } else {
            let ks = &server.keyspace;
            for i in 0..ks.shard_count() {
                visit(&mut ks.lock(i));
            }
        }
        let startup = server.startup_memory.min(used);
        let mut total = startup + clients;
        let mut keys = 0;
        let mut dbs = Vec::new();
        for (i, (n, m, e)) in per_db.into_iter().enumerate() {
            if n == 0 {
                continue;
            }
            keys += n;
            total += m + e;
            dbs.push((i, m, e));
        }
        let total = total.min(used);
        let net = used - startup;
        let dataset = used - total;
        let (allocated, active, resident) = allocator_stats();
        Overhead {
            peak,
            used,
            startup,
            clients,
            dbs,
            total,
            keys,
            bytes_per_key: net.checked_div(keys).unwrap_or(0),
            dataset,
            dataset_perc: ratio(dataset * 100, net),
            peak_perc: ratio(used * 100, peak),
            allocated,
            active,
            resident,
            rss,
        }
    }
}

// ---------------------------------------------------------------------
// Handlers

fn memory_help(ctx: &mut Ctx<'_>, _args: &[&[u8]]) {
    let lines = [
        "MEMORY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "DOCTOR",
        "    Return memory problems reports.",
        "MALLOC-STATS",
        "    Return internal statistics report from the memory allocator.",
        "PURGE",
        "    Attempt to purge dirty pages for reclamation by the allocator.",
        "STATS",
        "    Return information about the memory usage of the server.",
        "USAGE <key> [SAMPLES <count>]",
        "    Return memory in bytes used by <key> and its value. Nested values are",
        "    sampled up to <count> times (default: 5, 0 means sample all).",
        "HELP",
        "    Prints this help.",
    ];
    super::server::help_reply(ctx, &lines);
}

fn memory_usage(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    // Our sizes are exact, so SAMPLES is checked and otherwise unused.
    let mut j = 3;
    while j < args.len() {
        if is(args[j], "samples") && j + 1 < args.len() {
            match parse_i64(args[j + 1]) {
                Some(n) if n >= 0 => {}
                Some(_) => return ctx.out.error(ERR_SYNTAX),
                None => return ctx.out.error(crate::util::ERR_NOT_INT),
            }
            j += 2;
        } else {
            return ctx.out.error(ERR_SYNTAX);
        }
    }
    // Redis finds the key in the dict directly: no hit/miss, no touch.
    let now = ctx.now;
    let usage = ctx.db(args[2]).get(args[2], now).map(|e| e.memory_usage());
    match usage {
        Some(n) => ctx.out.integer(n as i64),
        None => ctx.out.null(),
    }
}

fn memory_stats(ctx: &mut Ctx<'_>, _args: &[&[u8]]) {
    let mh = Overhead::collect(ctx);
    let out = &mut *ctx.out;
    let int = |out: &mut larder_protocol::Reply, name: &str, v: i64| {
        out.bulk_str(name);
        out.integer(v);
    };
    let dbl = |out: &mut larder_protocol::Reply, name: &str, v: f32| {
        out.bulk_str(name);
        out.double(f64::from(v));
    };
    let i = |v: u64| v as i64;
    out.map(27 + mh.dbs.len());
    int(out, "peak.allocated", i(mh.peak));
    int(out, "total.allocated", i(mh.used));
    int(out, "startup.allocated", i(mh.startup));
    int(out, "replication.backlog", 0);
    int(out, "clients.slaves", 0);
    int(out, "clients.normal", i(mh.clients));
    int(out, "cluster.links", 0);
    int(out, "aof.buffer", 0);
    int(out, "lua.caches", 0);
    int(out, "functions.caches", 0);
    for &(db, main, expires) in &mh.dbs {
        out.bulk_str(&format!("db.{db}"));
        out.map(2);
        int(out, "overhead.hashtable.main", i(main));
        int(out, "overhead.hashtable.expires", i(expires));
    }
    int(out, "overhead.total", i(mh.total));
    int(out, "keys.count", i(mh.keys));
    int(out, "keys.bytes-per-key", i(mh.bytes_per_key));
    int(out, "dataset.bytes", i(mh.dataset));
    dbl(out, "dataset.percentage", mh.dataset_perc);
    dbl(out, "peak.percentage", mh.peak_perc);
    int(out, "allocator.allocated", i(mh.allocated));
    int(out, "allocator.active", i(mh.active));
    int(out, "allocator.resident", i(mh.resident));
    dbl(out, "allocator-fragmentation.ratio", ratio(mh.active, mh.allocated));
    int(out, "allocator-fragmentation.bytes", i(mh.active) - i(mh.allocated));
    dbl(out, "allocator-rss.ratio", ratio(mh.resident, mh.active));
    int(out, "allocator-rss.bytes", i(mh.resident) - i(mh.active));
    dbl(out, "rss-overhead.ratio", ratio(mh.rss, mh.resident));
    int(out, "rss-overhead.bytes", i(mh.rss) - i(mh.resident));
    dbl(out, "fragmentation", ratio(mh.rss, mh.used));
    int(out, "fragmentation.bytes", i(mh.rss) - i(mh.used));
}

const DOCTOR_EMPTY: &str = "Hi Sam, this instance is empty or is using very little memory, my issues detector can't be used in these conditions. Please, leave for your mission on Earth and fill it with some data. The new Sam and I will be back to our programming as soon as I finished rebooting.\n";
const DOCTOR_FINE: &str =
    "Hi Sam, I can't find any memory issue in your instance. I can only account for what occurs on this base.\n";

/// Redis's getMemoryDoctorReport, with the checks that apply here
/// (no replicas, scripts or modules).
fn doctor_report(mh: &Overhead, numclients: u64) -> String {
    const MB10: u64 = 10 << 20;
    if mh.used < 5 * 1024 * 1024 {
        return DOCTOR_EMPTY.to_string();
    }
    let big_peak = ratio(mh.peak, mh.used) > 1.5;
    let high_frag = ratio(mh.rss, mh.used) > 1.4 && mh.rss.saturating_sub(mh.used) > MB10;
    let high_alloc_frag = ratio(mh.active, mh.allocated) > 1.1 && mh.active.saturating_sub(mh.allocated) > MB10;
    let high_alloc_rss = ratio(mh.resident, mh.active) > 1.1 && mh.resident.saturating_sub(mh.active) > MB10;
    let high_proc_rss = ratio(mh.rss, mh.resident) > 1.1 && mh.rss.saturating_sub(mh.resident) > MB10;
    let big_client_buf = numclients > 0 && mh.clients / numclients > 1024 * 200;
    if !(big_peak || high_frag || high_alloc_frag || high_alloc_rss || high_proc_rss || big_client_buf) {
        return DOCTOR_FINE.to_string();
    }
    let mut s = String::from("Sam, I detected a few issues in this Redis instance memory implants:\n\n");
    if big_peak {
        s.push_str(" * Peak memory: In the past this instance used more than 150% the memory that is currently using. The allocator is normally not able to release memory after a peak, so you can expect to see a big fragmentation ratio, however this is actually harmless and is only due to the memory peak, and if the Redis instance Resident Set Size (RSS) is currently bigger than expected, the memory will be used as soon as you fill the Redis instance with more data. If the memory peak was only occasional and you want to try to reclaim memory, please try the MEMORY PURGE command, otherwise the only other option is to shutdown and restart the instance.\n\n");
    }
    if high_frag {
        s.push_str(&format!(" * High total RSS: This instance has a memory fragmentation and RSS overhead greater than 1.4 (this means that the Resident Set Size of the Redis process is much larger than the sum of the logical allocations Redis performed). This problem is usually due either to a large peak memory (check if there is a peak memory entry above in the report) or may result from a workload that causes the allocator to fragment memory a lot. If the problem is a large peak memory, then there is no issue. Otherwise, make sure you are using the Jemalloc allocator and not the default libc malloc. Note: The currently used allocator is \"{}\".\n\n", crate::stats::allocator_name()));
    }
    if high_alloc_frag {
        s.push_str(" * High allocator fragmentation: This instance has an allocator external fragmentation greater than 1.1. This problem is usually due either to a large peak memory (check if there is a peak memory entry above in the report) or may result from a workload that causes the allocator to fragment memory a lot. You can try enabling 'activedefrag' config option.\n\n");
    }
    if high_alloc_rss {
        s.push_str(" * High allocator RSS overhead: This instance has an RSS memory overhead is greater than 1.1 (this means that the Resident Set Size of the allocator is much larger than the sum what the allocator actually holds). This problem is usually due to a large peak memory (check if there is a peak memory entry above in the report), you can try the MEMORY PURGE command to reclaim it.\n\n");
    }
    if high_proc_rss {
        s.push_str(" * High process RSS overhead: This instance has non-allocator RSS memory overhead is greater than 1.1 (this means that the Resident Set Size of the Redis process is much larger than the RSS the allocator holds). This problem may be due to Lua scripts or Modules.\n\n");
    }
    if big_client_buf {
        s.push_str(" * Big client buffers: The clients output buffers in this instance are greater than 200K per client (on average). This may result from different causes, like Pub/Sub clients subscribed to channels bot not receiving data fast enough, so that data piles on the Redis instance output buffer, or clients sending commands with large replies or very large sequences of commands in the same pipeline. Please use the CLIENT LIST command in order to investigate the issue if it causes problems in your instance, or to understand better why certain clients are using a big amount of memory.\n\n");
    }
    s.push_str("I'm here to keep you safe, Sam. I want to help you.\n");
    s
}

fn memory_doctor(ctx: &mut Ctx<'_>, _args: &[&[u8]]) {
    let mh = Overhead::collect(ctx);
    let numclients = ctx.server.clients.lock().len() as u64;
    let report = doctor_report(&mh, numclients);
    ctx.out.verbatim(&report);
}

/// jemalloc's statistics text, or None when jemalloc is not in use.
fn malloc_stats_text() -> Option<String> {
    #[cfg(not(target_env = "msvc"))]
    if jemalloc_global() {
        let mut buf: Vec<u8> = Vec::new();
        // SAFETY: jemalloc calls `collect` synchronously, before
        // malloc_stats_print returns, with `buf` as the opaque pointer
        // and NUL-terminated text; the options string is NULL.
        unsafe {
            tikv_jemalloc_sys::malloc_stats_print(Some(collect), (&mut buf as *mut Vec<u8>).cast(), std::ptr::null());
        }
        return Some(String::from_utf8_lossy(&buf).into_owned());
    }
    None
}

/// malloc_stats_print's write callback: appends the text to the Vec<u8>
/// behind `opaque`.
#[cfg(not(target_env = "msvc"))]
unsafe extern "C" fn collect(opaque: *mut std::ffi::c_void, text: *const std::ffi::c_char) {
    if opaque.is_null() || text.is_null() {
        return;
    }
    // SAFETY: `opaque` is the `&mut Vec<u8>` malloc_stats_text passed,
    // alive for the whole call; `text` is a NUL-terminated string.
    unsafe {
        let buf = &mut *opaque.cast::<Vec<u8>>();
        buf.extend_from_slice(std::ffi::CStr::from_ptr(text).to_bytes());
    }
}

fn memory_malloc_stats(ctx: &mut Ctx<'_>, _args: &[&[u8]]) {
    match malloc_stats_text() {
        Some(text) => ctx.out.verbatim(&text),
        None => ctx.out.bulk_str("Stats not supported for the current allocator"),
    }
}

/// Purges every arena's dirty pages (Redis's jemalloc_purge).
fn purge() {
    #[cfg(not(target_env = "msvc"))]
    if jemalloc_global() {
        // MALLCTL_ARENAS_ALL is 4096.
        let name = c"arena.4096.purge";
        // SAFETY: a void mallctl takes no old or new value; the name is a
        // NUL-terminated string that outlives the call.
        unsafe {
            tikv_jemalloc_sys::mallctl(
                name.as_ptr(),
                std::ptr::null_mut(),
                std::ptr::null_mut(),
                std::ptr::null_mut(),
                0,
            );
        }
    }
}

fn memory_purge(ctx: &mut Ctx<'_>, _args: &[&[u8]]) {
    purge();
    ctx.out.ok();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_subcommands_are_named_under_memory() {
        for s in MEMORY_SUBCOMMANDS {
            assert!(s.name.starts_with("memory|"));
        }
    }

    fn base() -> Overhead {
        Overhead {
            peak: 100 << 20,
            used: 100 << 20,
            startup: 1 << 20,
            clients: 0,
            dbs: Vec::new(),
            total: 1 << 20,
            keys: 0,
            bytes_per_key: 0,
            dataset: 99 << 20,
            dataset_perc: 99.0,
            peak_perc: 100.0,
            allocated: 100 << 20,
            active: 100 << 20,
            resident: 100 << 20,
            rss: 100 << 20,
        }
    }

    #[test]
    fn doctor_reports() {
        let mut mh = base();
        assert_eq!(doctor_report(&mh, 1), DOCTOR_FINE);
        mh.used = 1 << 20;
        assert_eq!(doctor_report(&mh, 1), DOCTOR_EMPTY);
        let mut mh = base();
        mh.peak = 200 << 20;
        let r = doctor_report(&mh, 1);
        assert!(r.starts_with("Sam, I detected a few issues"));
        assert!(r.contains(" * Peak memory:"));
        assert!(r.ends_with("I'm here to keep you safe, Sam. I want to help you.\n"));
        let mut mh = base();
        mh.clients = 300 * 1024;
        assert!(doctor_report(&mh, 1).contains(" * Big client buffers:"));
        assert_eq!(doctor_report(&mh, 2), DOCTOR_FINE);
        let mut mh = base();
        mh.rss = 200 << 20;
        let r = doctor_report(&mh, 1);
        assert!(r.contains(" * High total RSS:"));
        assert!(r.contains(" * High process RSS overhead:"));
    }
}
