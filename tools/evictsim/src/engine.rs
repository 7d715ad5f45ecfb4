//! `evictsim engine ...`: replays the traces through Larder's own
//! keyspace and eviction code (no server, no network), as the
//! cache-aside loop (read; on a miss, insert), with a capacity in keys.
//! The published numbers come from the server (`tools/hitratio`); this
//! is the fast check that the engine's sampled policies behave like the
//! reference algorithms simulated in `main.rs` and the traces' README.
//!
//! ```text
//! cargo run --release -p evictsim -- engine allkeys-lru,allkeys-s3fifo /tmp/traces/*.trace
//! ```
//!
//! Capacities are 1% and 10% of each trace's unique keys (override with
//! `--fractions 0.01,0.1`, or `--capacity N` keys). Time advances 1 ms per
//! request.

use std::collections::HashSet;

use larder_engine::{EvictionPool, Keyspace, MockClock, Policy, Value};
use rand::SeedableRng;

fn replay(trace: &[u32], policy: Policy, cap: usize, samples: usize) -> f64 {
    let clock = MockClock::new(1_700_000_000_000);
    let ks = Keyspace::new(1, 256, clock.clone());
    ks.tracking().set_mode(policy.mode());
    ks.fifo_recount();
    let mut pool = EvictionPool::default();
    let mut rng = rand::rngs::SmallRng::seed_from_u64(1);
    let mut len = 0usize;
    let mut misses = 0u64;
    let value = Value::from_bytes(b"v");
    for &k in trace {
        clock.advance(1);
        let now = ks.now_ms();
        let key = k.to_string();
        let key = key.as_bytes();
        let mut shard = ks.lock(ks.shard_of(key));
        let db = shard.db(0);
        if db.lookup_read(key, now, true).is_some() {
            continue;
        }
        misses += 1;
        db.set(key, value.clone(), None, false, now);
        drop(shard);
        len += 1;
        while len > cap {
            match ks.evict_one(policy, samples, &mut pool, &mut rng) {
                Some(_) => len -= 1,
                None => break,
            }
        }
    }
    misses as f64 / trace.len() as f64
}

/// `evictsim engine <policies> [--fractions F,..] [--samples N] [--capacity N] <traces>`
pub fn main_engine(args: &[String]) {
    let mut fractions = vec![0.01, 0.1];
    let mut samples = 5;
    let mut capacity = None;
    let mut policies = Vec::new();
    let mut traces = Vec::new();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--fractions" => fractions = it.next().unwrap().split(',').map(|f| f.parse().unwrap()).collect(),
            "--samples" => samples = it.next().unwrap().parse().unwrap(),
            "--capacity" => capacity = Some(it.next().unwrap().parse::<usize>().unwrap()),
            a if policies.is_empty() => {
                policies = a.split(',').map(|p| Policy::from_name(p).expect("policy")).collect()
            }
            a => traces.push(a.to_string()),
        }
    }
    print!("| trace | size |");
    for p in &policies {
        print!(" {} |", p.name());
    }
    println!();
    for t in &traces {
        let trace = crate::load(t);
        let unique = trace.iter().collect::<HashSet<_>>().len();
        let name = std::path::Path::new(t)
            .file_stem()
            .unwrap()
            .to_string_lossy()
            .to_string();
        let caps: Vec<(String, usize)> = match capacity {
            Some(c) => vec![(format!("{c} keys"), c)],
            None => fractions
                .iter()
                .map(|f| (format!("{}%", f * 100.0), ((unique as f64 * f) as usize).max(1)))
                .collect(),
        };
        for (label, cap) in caps {
            print!("| {name} | {label} |");
            for &p in &policies {
                print!(" {:.3} |", replay(&trace, p, cap, samples));
            }
            println!();
        }
    }
}
