//! Keeping `used_memory` under `maxmemory` (Redis's performEvictions).
//!
//! Before every command, when a limit is set and the counted memory
//! (`alloc::used`) is above it, the executing thread evicts keys chosen
//! by the engine (`Keyspace::evict_one`) until it has freed the excess,
//! measuring what each eviction freed with its own exact allocation
//! count. The work per command is bounded by `maxmemory-eviction-tenacity`
//! as in Redis (500 us at the default 10); what is left is done by the
//! next command or the cron. When nothing can be evicted (noeviction, or
//! a volatile policy and no key has a TTL), commands flagged `denyoom`
//! get `-OOM`; reads and deletes go on.

use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicU8, Ordering};
use std::time::{Duration, Instant};

use larder_engine::{EvictionPool, Keyspace, Policy};
use parking_lot::Mutex;

use crate::config::Config;

/// What an eviction pass achieved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Under the limit (or no limit).
    Ok,
    /// Still over, but the time budget ran out while keys were being
    /// evicted: commands proceed, eviction continues later.
    Running,
    /// Over the limit and nothing can be evicted.
    Fail,
}

#[derive(Debug)]
pub struct Eviction {
    /// How long the last eviction pass took (µs), for the latency
    /// monitor's "eviction-cycle" (taken by dispatch).
    last_cycle_usec: AtomicU64,
    maxmemory: AtomicU64,
    policy: AtomicU8,
    samples: AtomicU32,
    tenacity: AtomicU32,
    pool: Mutex<EvictionPool>,
    /// INFO stats evicted_keys.
    pub evicted_keys: AtomicU64,
    /// When the server first found itself over the limit in the current
    /// stretch (ms, monotonic; 0: not over), and the total time spent
    /// over it (INFO total/current_eviction_exceeded_time).
    over_since_ms: AtomicU64,
    pub exceeded_total_ms: AtomicU64,
    /// A pass ran out of time with memory still over the limit: the cron
    /// continues it (Redis's eviction time proc). Only then: the cron's
    /// view of the counter misses other threads' last few KiB, and
    /// evicting on it would evict keys the limit does not require.
    unfinished: AtomicBool,
    /// Shards keys were evicted from, not yet drained
    /// (`take_evicted_shards`).
    evicted_shards: Mutex<Vec<usize>>,
}

impl Default for Eviction {
    fn default() -> Self {
        Eviction {
            last_cycle_usec: AtomicU64::new(0),
            maxmemory: AtomicU64::new(0),
            policy: AtomicU8::new(policy_index(Policy::NoEviction)),
            samples: AtomicU32::new(5),
            tenacity: AtomicU32::new(10),
            pool: Mutex::new(EvictionPool::default()),
            evicted_keys: AtomicU64::new(0),
            over_since_ms: AtomicU64::new(0),
            exceeded_total_ms: AtomicU64::new(0),
            unfinished: AtomicBool::new(false),
            evicted_shards: Mutex::new(Vec::new()),
        }
    }
}

fn mono_ms(epoch: Instant) -> u64 {
    epoch.elapsed().as_millis() as u64 + 1
}

fn policy_index(p: Policy) -> u8 {
    larder_engine::evict::POLICIES
        .iter()
        .position(|(_, q)| *q == p)
        .unwrap_or(0) as u8
}

/// Redis's evictionTimeLimitUs: 50 us per tenacity step up to 10, then
/// growing 15% a step; 100 means no limit.
fn time_limit(tenacity: u32) -> Option<Duration> {
    if tenacity <= 10 {
        return Some(Duration::from_micros(50 * u64::from(tenacity)));
    }
    if tenacity < 100 {
        return Some(Duration::from_micros(
            (500.0 * 1.15f64.powi(tenacity as i32 - 10)) as u64,
        ));
    }
    None
}

impl Eviction {
    /// Takes the settings from the configuration (at start and after
    /// CONFIG SET), including the keyspace's access tracking.
    /// `held`: every shard, when the caller holds them (EXEC).
    pub fn configure(
        &self,
        cfg: &Config,
        ks: &Keyspace,
        held: Option<&[parking_lot::MutexGuard<'_, larder_engine::Shard>]>,
    ) {
        let policy = cfg.maxmemory_policy;
        let old = self.policy();
        self.maxmemory.store(cfg.maxmemory, Ordering::Relaxed);
        self.policy.store(policy_index(policy), Ordering::Relaxed);
        let int = |name: &str, default: u32| -> u32 {
            cfg.get_matching(&[name.as_bytes()])
                .first()
                .and_then(|(_, v)| v.parse::<u32>().ok())
                .unwrap_or(default)
        };
        self.samples
            .store(int("maxmemory-samples", 5).max(1), Ordering::Relaxed);
        self.tenacity
            .store(int("maxmemory-eviction-tenacity", 10), Ordering::Relaxed);
        let t = ks.tracking();
        let was = t.mode();
        t.set_mode(policy.mode());
        if policy.mode() == larder_engine::Mode::Fifo && was != larder_engine::Mode::Fifo {
            // The S3-FIFO key counts are kept only in that mode.
            match held {
                Some(guards) => ks.fifo_recount_in(guards.iter().map(|g| &**g)),
                None => ks.fifo_recount(),
            }
        }
        t.set_lfu_log_factor(int("lfu-log-factor", 10));
        t.set_lfu_decay_time(int("lfu-decay-time", 1));
        if old != policy {
            // Scores of another policy mean nothing to this one.
            self.pool.lock().clear();
        }
    }

    pub fn maxmemory(&self) -> u64 {
        self.maxmemory.load(Ordering::Relaxed)
    }

    pub fn policy(&self) -> Policy {
        larder_engine::evict::POLICIES
            .get(self.policy.load(Ordering::Relaxed) as usize)
            .map_or(Policy::NoEviction, |(_, p)| *p)
    }

    /// Memory counted against the limit: everything allocated (Redis
    /// subtracts replica and AOF buffers, which Larder does not have yet).
    pub fn used(&self) -> Option<u64> {
        crate::alloc::used()
    }

    /// The shards keys were evicted from since the last call (their
    /// removal logs hold the keys for the AOF, notifications, tracking).
    pub fn take_evicted_shards(&self) -> Vec<usize> {
        std::mem::take(&mut *self.evicted_shards.lock())
    }

    /// Brings memory under the limit if it is over (Redis's
    /// performEvictions). `epoch` is the server's start, for the
    /// exceeded-time statistics.
    pub fn perform(&self, ks: &Keyspace, epoch: Instant) -> Outcome {
        let max = self.maxmemory();
        if max == 0 {
            return Outcome::Ok;
        }
        let Some(used) = self.used() else {
            return Outcome::Ok;
        };
        if used <= max {
            if self.over_since_ms.load(Ordering::Relaxed) != 0 {
                self.note_under(mono_ms(epoch));
            }
            return Outcome::Ok;
        }
        self.note_over(mono_ms(epoch));
        let policy = self.policy();
        if policy == Policy::NoEviction {
            return Outcome::Fail;
        }
        let to_free = (used - max) as i64;
        let samples = self.samples.load(Ordering::Relaxed) as usize;
        let limit = time_limit(self.tenacity.load(Ordering::Relaxed));
        let start = Instant::now();
        let mut freed: i64 = 0;
        let mut evicted = 0u64;
        let mut rng = rand::thread_rng();
        let mut pool = self.pool.lock();
        let outcome = loop {
            if freed >= to_free {
                break Outcome::Ok;
            }
            let before = crate::alloc::thread_net();
            let Some(ev) = ks.evict_one(policy, samples, &mut pool, &mut rng) else {
                break Outcome::Fail;
            };
            let shard = ks.shard_of(ev.entry.key());
            {
                let mut s = self.evicted_shards.lock();
                if !s.contains(&shard) {
                    s.push(shard);
                }
            }
            drop(ev);
            freed += before - crate::alloc::thread_net();
            evicted += 1;
            if evicted.is_multiple_of(16) && limit.is_some_and(|l| start.elapsed() > l) {
                break Outcome::Running;
            }
        };
        drop(pool);
        self.last_cycle_usec
            .store(start.elapsed().as_micros() as u64, Ordering::Relaxed);
        self.unfinished.store(outcome == Outcome::Running, Ordering::Relaxed);
        self.evicted_keys.fetch_add(evicted, Ordering::Relaxed);
        if outcome == Outcome::Fail && evicted > 0 {
            // Something was freed; other threads' frees may have done
            // the rest.
            return match self.used() {
                Some(u) if u <= max => Outcome::Ok,
                _ => Outcome::Fail,
            };
        }
        outcome
    }

    /// The duration of an eviction pass since the last call (0: none).
    pub fn take_cycle_usec(&self) -> u64 {
        if self.last_cycle_usec.load(Ordering::Relaxed) == 0 {
            return 0;
        }
        self.last_cycle_usec.swap(0, Ordering::Relaxed)
    }

    fn note_over(&self, now_ms: u64) {
        let _ = self
            .over_since_ms
            .compare_exchange(0, now_ms.max(1), Ordering::Relaxed, Ordering::Relaxed);
    }

    fn note_under(&self, now_ms: u64) {
        let since = self.over_since_ms.swap(0, Ordering::Relaxed);
        if since != 0 {
            self.exceeded_total_ms
                .fetch_add(now_ms.saturating_sub(since), Ordering::Relaxed);
        }
    }

    /// INFO current_eviction_exceeded_time (ms).
    pub fn exceeded_current_ms(&self, epoch: Instant) -> u64 {
        match self.over_since_ms.load(Ordering::Relaxed) {
            0 => 0,
            since => mono_ms(epoch).saturating_sub(since),
        }
    }

    /// The cron's part: continues a pass that ran out of time.
    pub fn continue_unfinished(&self, ks: &Keyspace, epoch: Instant) {
        if self.unfinished.load(Ordering::Relaxed) {
            self.perform(ks, epoch);
        }
    }

    pub fn reset_stats(&self) {
        self.evicted_keys.store(0, Ordering::Relaxed);
        self.exceeded_total_ms.store(0, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_limit_follows_tenacity() {
        assert_eq!(time_limit(0), Some(Duration::ZERO));
        assert_eq!(time_limit(10), Some(Duration::from_micros(500)));
        assert_eq!(time_limit(11), Some(Duration::from_micros(575)));
        assert_eq!(time_limit(100), None);
    }

    #[test]
    fn policy_round_trips_through_the_atomic() {
        let e = Eviction::default();
        assert_eq!(e.policy(), Policy::NoEviction);
        for &(_, p) in larder_engine::evict::POLICIES {
            e.policy.store(policy_index(p), Ordering::Relaxed);
            assert_eq!(e.policy(), p);
        }
    }
}
