//! `--latency`: SET latency with and without eviction pressure, and whether
//! used_memory stays within maxmemory.

use crate::resp::Reply;
use crate::server::{info_field, Conn, Res};
use crate::trace::Rng;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(Debug, Clone)]
pub struct LatParams {
    pub conns: usize,
    /// Total SETs over all connections.
    pub requests: usize,
    pub small: usize,
    pub large: usize,
    /// Percentage of SETs with the large size.
    pub large_pct: u32,
    /// maxmemory for the pressure run, in bytes above the baseline.
    pub limit_bytes: u64,
    pub policy: String,
    pub seed: u64,
}

impl LatParams {
    /// Keys (over all connections) whose values, at the average size plus
    /// ~100 bytes of per-key overhead, take about `limit_bytes`: the bounded
    /// key space of the no-eviction comparison run.
    pub fn bounded_keys(&self) -> usize {
        let pct = self.large_pct.min(100) as f64 / 100.0;
        let avg = pct * self.large as f64 + (1.0 - pct) * self.small as f64 + 100.0;
        ((self.limit_bytes as f64 / avg) as usize).max(self.conns.max(1))
    }
}

#[derive(Debug, Clone)]
pub struct LatResult {
    pub label: String,
    pub maxmemory: u64,
    pub sets: u64,
    pub errors: u64,
    pub p50_us: f64,
    pub p99_us: f64,
    pub p999_us: f64,
    pub max_us: f64,
    pub mean_us: f64,
    pub secs: f64,
    pub peak_used_memory: u64,
    pub evicted_keys: u64,
    /// Peak used_memory minus maxmemory (0 when not over, or no limit).
    pub peak_over: u64,
    /// Allowed overshoot: max(1 MiB, 1% of maxmemory).
    pub allowed_over: u64,
    pub polls: u64,
}

impl LatResult {
    pub fn limit_held(&self) -> bool {
        self.maxmemory == 0 || self.peak_over <= self.allowed_over
    }
}

/// Quantile of sorted nanoseconds, in microseconds.
pub fn quantile_us(sorted: &[u64], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let idx = ((sorted.len() as f64 * q).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[idx] as f64 / 1000.0
}

/// One run: FLUSHALL, CONFIG RESETSTAT, policy, maxmemory (0 = none); `conns`
/// threads each doing sequential SETs (90/10 small/large by default) of fresh
/// keys, or with `key_space` = Some(n) cycling over n keys in all (so
/// memory stops growing once they exist); a poller reads INFO memory every
/// 10 ms.
pub fn run(addr: &str, p: &LatParams, maxmemory: u64, key_space: Option<usize>, label: &str) -> Res<LatResult> {
    let mut c = Conn::connect(addr)?;
    c.ok(&[b"CONFIG", b"SET", b"maxmemory", b"0"])?;
    c.ok(&[b"FLUSHALL"])?;
    c.ok(&[b"CONFIG", b"RESETSTAT"])?;
    c.config_set("maxmemory-policy", &p.policy)?;
    c.config_set("maxmemory", &maxmemory.to_string())?;

    let stop = Arc::new(AtomicBool::new(false));
    let poller = {
        let stop = stop.clone();
        let addr = addr.to_string();
        std::thread::spawn(move || -> Res<(u64, u64)> {
            let mut pc = Conn::connect(&addr)?;
            let (mut peak, mut polls) = (0u64, 0u64);
            while !stop.load(Ordering::Relaxed) {
                peak = peak.max(pc.info_u64("memory", "used_memory")?);
                polls += 1;
                std::thread::sleep(Duration::from_millis(10));
            }
            Ok((peak, polls))
        })
    };
    let start = Instant::now();
    let per = p.requests / p.conns.max(1);
    let mut workers = Vec::new();
    for t in 0..p.conns.max(1) {
        let addr = addr.to_string();
        let p = p.clone();
        workers.push(std::thread::spawn(move || -> Res<(Vec<u64>, u64)> {
            let mut wc = Conn::connect(&addr)?;
            let mut rng = Rng::new(p.seed.wrapping_add(t as u64));
            let value = vec![b'v'; p.small.max(p.large)];
            let mut lat = Vec::with_capacity(per);
            let mut errors = 0;
            for j in 0..per {
                let size = if (rng.next_u64() % 100) < p.large_pct as u64 {
                    p.large
                } else {
                    p.small
                };
                let k = match key_space {
                    Some(n) => j % (n / p.conns.max(1)).max(1),
                    None => j,
                };
                let key = format!("lat:{t}:{k}");
                let t0 = Instant::now();
                wc.send(&[b"SET", key.as_bytes(), &value[..size]])
                    .map_err(|e| e.to_string())?;
                let r = wc.read().map_err(|e| e.to_string())?;
                lat.push(t0.elapsed().as_nanos() as u64);
                if let Reply::Error(_) = r {
                    errors += 1;
                }
            }
            Ok((lat, errors))
        }));
    }
    let mut all = Vec::with_capacity(p.requests);
    let mut errors = 0;
    let mut failure = None;
    for h in workers {
        match h.join() {
            Ok(Ok((l, e))) => {
                all.extend(l);
                errors += e;
            }
            Ok(Err(e)) => failure = Some(e),
            Err(_) => failure = Some("latency worker panicked".into()),
        }
    }
    let secs = start.elapsed().as_secs_f64();
    // One last sample after the load, then stop the poller.
    std::thread::sleep(Duration::from_millis(20));
    stop.store(true, Ordering::Relaxed);
    let (peak, polls) = poller.join().map_err(|_| "poller panicked".to_string())??;
    if let Some(e) = failure {
        return Err(e);
    }
    let stats = c.info("stats")?;
    let mem = c.info("memory")?;
    let maxmem = info_field(&mem, "maxmemory")?;
    all.sort_unstable();
    let mean = all.iter().sum::<u64>() as f64 / all.len().max(1) as f64 / 1000.0;
    Ok(LatResult {
        label: label.to_string(),
        maxmemory: maxmem,
        sets: all.len() as u64,
        errors,
        p50_us: quantile_us(&all, 0.50),
        p99_us: quantile_us(&all, 0.99),
        p999_us: quantile_us(&all, 0.999),
        max_us: quantile_us(&all, 1.0),
        mean_us: mean,
        secs,
        peak_used_memory: peak,
        evicted_keys: info_field(&stats, "evicted_keys").unwrap_or(0),
        peak_over: if maxmem == 0 { 0 } else { peak.saturating_sub(maxmem) },
        allowed_over: (1u64 << 20).max(maxmem / 100),
        polls,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles() {
        let v: Vec<u64> = (1..=1000).map(|x| x * 1000).collect();
        assert_eq!(quantile_us(&v, 0.5), 500.0);
        assert_eq!(quantile_us(&v, 0.99), 990.0);
        assert_eq!(quantile_us(&v, 1.0), 1000.0);
        assert_eq!(quantile_us(&[], 0.5), 0.0);
        assert_eq!(quantile_us(&[5000], 0.0), 5.0);
    }

    #[test]
    fn bounded_key_space() {
        let p = LatParams {
            conns: 4,
            requests: 0,
            small: 100,
            large: 16384,
            large_pct: 10,
            limit_bytes: 64 << 20,
            policy: String::new(),
            seed: 1,
        };
        // avg = 0.1 * 16384 + 0.9 * 100 + 100 = 1828.4 bytes
        assert_eq!(p.bounded_keys(), ((64u64 << 20) as f64 / 1828.4) as usize);
        assert_eq!(LatParams { limit_bytes: 0, ..p }.bounded_keys(), 4);
    }

    #[test]
    fn limit_check() {
        let mut r = LatResult {
            label: String::new(),
            maxmemory: 100 << 20,
            sets: 0,
            errors: 0,
            p50_us: 0.0,
            p99_us: 0.0,
            p999_us: 0.0,
            max_us: 0.0,
            mean_us: 0.0,
            secs: 0.0,
            peak_used_memory: 0,
            evicted_keys: 0,
            peak_over: 1 << 20,
            allowed_over: 1 << 20,
            polls: 0,
        };
        assert!(r.limit_held());
        r.peak_over += 1;
        assert!(!r.limit_held());
        r.maxmemory = 0;
        assert!(r.limit_held());
    }
}
