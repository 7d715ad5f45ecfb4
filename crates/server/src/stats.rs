//! Server-wide counters for INFO stats. Keyspace hits, misses and expired
//! keys live in the engine's per-database counters and are summed on read.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};

use parking_lot::Mutex;

/// How many samples instantaneous_ops_per_sec averages (Redis: 16).
const OPS_SAMPLES: usize = 16;

#[derive(Debug, Default)]
pub struct Stats {
    pub total_connections_received: AtomicU64,
    pub total_commands_processed: AtomicU64,
    pub rejected_connections: AtomicU64,
    pub net_input_bytes: AtomicU64,
    pub net_output_bytes: AtomicU64,
    pub total_error_replies: AtomicU64,
    pub unexpected_error_replies: AtomicU64,
    pub connected_clients: AtomicUsize,
    /// Time spent in the cron's expiry passes (expire_cycle_cpu_milliseconds).
    pub expire_cycle_usec: AtomicU64,
    /// Reads from and writes to client sockets (total_reads_processed,
    /// total_writes_processed).
    pub reads_processed: AtomicU64,
    pub writes_processed: AtomicU64,
    /// Keys handed to a background thread to free (FLUSHALL/FLUSHDB
    /// ASYNC) and not freed yet; keys it freed.
    pub lazyfree_pending: AtomicU64,
    pub lazyfreed: AtomicU64,
    pub ops: Mutex<OpsSampler>,
    /// Bytes read per second (instantaneous_input_kbps).
    pub net_input_rate: Mutex<OpsSampler>,
    /// Bytes written per second (instantaneous_output_kbps).
    pub net_output_rate: Mutex<OpsSampler>,
    /// Highest used_memory seen (INFO memory used_memory_peak).
    pub used_memory_peak: AtomicU64,
}

#[derive(Debug, Default)]
pub struct OpsSampler {
    last_ms: u64,
    last_count: u64,
    samples: [u64; OPS_SAMPLES],
    idx: usize,
}

impl OpsSampler {
    /// Records a sample of the command counter at `now_ms`.
    pub fn sample(&mut self, now_ms: u64, count: u64) {
        if self.last_ms != 0 && now_ms > self.last_ms {
            let dt = now_ms - self.last_ms;
            let ops = count.saturating_sub(self.last_count) * 1000 / dt;
            self.samples[self.idx] = ops;
            self.idx = (self.idx + 1) % OPS_SAMPLES;
        }
        self.last_ms = now_ms;
        self.last_count = count;
    }

    pub fn ops_per_sec(&self) -> u64 {
        self.samples.iter().sum::<u64>() / OPS_SAMPLES as u64
    }
}

impl Stats {
    /// One read of `n` bytes from a client socket.
    #[inline]
    pub fn read_done(&self, n: usize) {
        self.net_input_bytes.fetch_add(n as u64, Ordering::Relaxed);
        self.reads_processed.fetch_add(1, Ordering::Relaxed);
    }

    /// One write of `n` bytes to a client socket.
    #[inline]
    pub fn written(&self, n: usize) {
        self.net_output_bytes.fetch_add(n as u64, Ordering::Relaxed);
        self.writes_processed.fetch_add(1, Ordering::Relaxed);
    }

    pub fn reset(&self) {
        for c in [
            &self.total_connections_received,
            &self.total_commands_processed,
            &self.rejected_connections,
            &self.net_input_bytes,
            &self.net_output_bytes,
            &self.total_error_replies,
            &self.unexpected_error_replies,
            &self.expire_cycle_usec,
            &self.reads_processed,
            &self.writes_processed,
            &self.lazyfreed,
        ] {
            c.store(0, Ordering::Relaxed);
        }
        *self.ops.lock() = OpsSampler::default();
        *self.net_input_rate.lock() = OpsSampler::default();
        *self.net_output_rate.lock() = OpsSampler::default();
    }

    /// Takes one sample of each rate (called from the cron). `now_ms` is
    /// a monotonic time, never 0.
    pub fn sample(&self, now_ms: u64) {
        let ops = self.total_commands_processed.load(Ordering::Relaxed);
        self.ops.lock().sample(now_ms, ops);
        let input = self.net_input_bytes.load(Ordering::Relaxed);
        self.net_input_rate.lock().sample(now_ms, input);
        let output = self.net_output_bytes.load(Ordering::Relaxed);
        self.net_output_rate.lock().sample(now_ms, output);
        if let Some(used) = used_memory() {
            self.used_memory_peak.fetch_max(used, Ordering::Relaxed);
        }
    }
}

/// Set by the binary when jemalloc is the global allocator, so its
/// statistics describe the whole process.
static JEMALLOC_GLOBAL: AtomicBool = AtomicBool::new(false);

/// Declares that jemalloc is the global allocator (called by `main`).
pub fn set_jemalloc_global() {
    JEMALLOC_GLOBAL.store(true, Ordering::Relaxed);
}

/// The allocator INFO reports (`mem_allocator`).
pub fn allocator_name() -> String {
    #[cfg(not(target_env = "msvc"))]
    if JEMALLOC_GLOBAL.load(Ordering::Relaxed) {
        let v = tikv_jemalloc_ctl::version::read().unwrap_or("5");
        return format!("jemalloc-{}", v.split('-').next().unwrap_or(v));
    }
    "libc".to_string()
}

/// Bytes allocated by the process (jemalloc's `stats.allocated`), or
/// `None` when jemalloc is not the global allocator (library tests).
pub fn allocated() -> Option<u64> {
    #[cfg(not(target_env = "msvc"))]
    if JEMALLOC_GLOBAL.load(Ordering::Relaxed) {
        tikv_jemalloc_ctl::epoch::advance().ok()?;
        return tikv_jemalloc_ctl::stats::allocated::read().ok().map(|v| v as u64);
    }
    None
}

/// INFO's used_memory: the counting allocator's total (what maxmemory
/// is checked against), else jemalloc's count of allocated bytes, else
/// the resident set size.
pub fn used_memory() -> Option<u64> {
    crate::alloc::used().or_else(allocated).or_else(rss)
}

fn page_size() -> u64 {
    // SAFETY: sysconf has no preconditions.
    let n = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    if n > 0 {
        n as u64
    } else {
        4096
    }
}

/// Resident set size, from /proc/self/statm.
pub fn rss() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = text.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * page_size())
}

/// Physical memory of the machine.
pub fn total_system_memory() -> u64 {
    // SAFETY: sysconf has no preconditions.
    let pages = unsafe { libc::sysconf(libc::_SC_PHYS_PAGES) };
    if pages > 0 {
        pages as u64 * page_size()
    } else {
        0
    }
}

/// (user, system) CPU seconds of this process (`who` = RUSAGE_SELF) or
/// its waited-for children (RUSAGE_CHILDREN).
pub fn cpu_times(who: libc::c_int) -> (f64, f64) {
    // SAFETY: an all-zero rusage is a valid value to be overwritten.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `ru` is a valid, writable rusage.
    if unsafe { libc::getrusage(who, &mut ru) } != 0 {
        return (0.0, 0.0);
    }
    let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    (secs(ru.ru_utime), secs(ru.ru_stime))
}

/// Redis's bytesToHuman: `1.20M`, `512B`.
pub fn bytes_to_human(n: u64) -> String {
    let d = n as f64;
    const K: f64 = 1024.0;
    if d < K {
        format!("{n}B")
    } else if d < K * K {
        format!("{:.2}K", d / K)
    } else if d < K * K * K {
        format!("{:.2}M", d / (K * K))
    } else if d < K * K * K * K {
        format!("{:.2}G", d / (K * K * K))
    } else if d < K * K * K * K * K {
        format!("{:.2}T", d / (K * K * K * K))
    } else {
        format!("{:.2}P", d / (K * K * K * K * K))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human_sizes() {
        assert_eq!(bytes_to_human(0), "0B");
        assert_eq!(bytes_to_human(1023), "1023B");
        assert_eq!(bytes_to_human(1262040), "1.20M");
        assert_eq!(bytes_to_human(1 << 30), "1.00G");
    }

    #[test]
    fn memory_without_jemalloc_falls_back_to_rss() {
        // Library tests do not use jemalloc as the global allocator.
        assert_eq!(allocated(), None);
        assert!(used_memory().is_some_and(|m| m > 0));
        assert!(total_system_memory() > 0);
    }

    #[test]
    fn ops_sampling() {
        let mut s = OpsSampler::default();
        s.sample(1000, 0);
        s.sample(1100, 16);
        // 160 ops/s in one of 16 slots.
        assert_eq!(s.ops_per_sec(), 10);
    }
}
