//! Server-wide counters for INFO stats. Keyspace hits, misses and expired
//! keys live in the engine's per-database counters and are summed on read.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

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
    pub expired_stale_perc: AtomicU64,
    pub expire_cycle_cpu_ms: AtomicU64,
    pub ops: Mutex<OpsSampler>,
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
    pub fn reset(&self) {
        for c in [
            &self.total_connections_received,
            &self.total_commands_processed,
            &self.rejected_connections,
            &self.net_input_bytes,
            &self.net_output_bytes,
            &self.total_error_replies,
            &self.unexpected_error_replies,
        ] {
            c.store(0, Ordering::Relaxed);
        }
        *self.ops.lock() = OpsSampler::default();
    }
}
