//! Per-command latency histograms: Redis 7's latency tracking
//! (`latency-tracking`, INFO latencystats, LATENCY HISTOGRAM).
//!
//! Redis keeps an HdrHistogram per command (lowest value 1 ns, highest
//! 1 s, 2 significant figures) and records each call's duration in
//! microseconds times 1000. The replies show the histogram's own values
//! (a percentile is the highest value equivalent to the sample found,
//! 8 µs shows as `8.031`), so this is the same bucket layout and the same
//! arithmetic as HdrHistogram_c's `hdr_value_at_percentile` and log
//! iterator, over atomic counters: recording is one relaxed `fetch_add`
//! from any thread, with no lock. A command's 24 KiB of counters are
//! allocated at its first call.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use parking_lot::RwLock;

use crate::config::Config;

/// The recorded range, in nanoseconds (Redis's LATENCY_HISTOGRAM_MIN_VALUE
/// and _MAX_VALUE); values outside are clamped into it.
pub const MIN_NS: u64 = 1;
pub const MAX_NS: u64 = 1_000_000_000;

// hdr_init(1, 1e9, 2): 2 significant figures need 200 values at unit
// resolution, so 256 sub-buckets (half: 128); unit magnitude 0; 23
// buckets reach 1e9.
const SUB_BUCKET_HALF_COUNT_MAGNITUDE: u32 = 7;
const SUB_BUCKET_HALF_COUNT: i64 = 1 << SUB_BUCKET_HALF_COUNT_MAGNITUDE;
const SUB_BUCKET_COUNT: i64 = 2 * SUB_BUCKET_HALF_COUNT;
const SUB_BUCKET_MASK: i64 = SUB_BUCKET_COUNT - 1;
const BUCKET_COUNT: usize = 23;
/// Counters per histogram.
pub const COUNTS_LEN: usize = (BUCKET_COUNT + 1) * SUB_BUCKET_HALF_COUNT as usize;

fn bucket_index(v: i64) -> i32 {
    // The smallest power of two holding v, less the sub-bucket bits.
    64 - (v | SUB_BUCKET_MASK).leading_zeros() as i32 - (SUB_BUCKET_HALF_COUNT_MAGNITUDE as i32 + 1)
}

fn counts_index(v: i64) -> usize {
    let b = bucket_index(v);
    let sub = v >> b;
    // (b + 1) * half + (sub - half): sub is below half in bucket 0.
    ((((b + 1) as i64) << SUB_BUCKET_HALF_COUNT_MAGNITUDE) + (sub - SUB_BUCKET_HALF_COUNT)) as usize
}

fn value_at_index(index: usize) -> i64 {
    let mut b = (index as i64 >> SUB_BUCKET_HALF_COUNT_MAGNITUDE) - 1;
    let mut sub = (index as i64 & (SUB_BUCKET_HALF_COUNT - 1)) + SUB_BUCKET_HALF_COUNT;
    if b < 0 {
        sub -= SUB_BUCKET_HALF_COUNT;
        b = 0;
    }
    sub << b
}

fn lowest_equivalent(v: i64) -> i64 {
    let b = bucket_index(v);
    (v >> b) << b
}

fn highest_equivalent(v: i64) -> i64 {
    let b = bucket_index(v);
    let sub = v >> b;
    let size = if sub >= SUB_BUCKET_COUNT {
        1i64 << (b + 1)
    } else {
        1i64 << b
    };
    lowest_equivalent(v) + size - 1
}

/// One command's histogram: counters shared by every thread.
#[derive(Debug)]
pub struct Histogram {
    counts: Box<[AtomicU64]>,
}

impl Default for Histogram {
    fn default() -> Self {
        Histogram {
            counts: (0..COUNTS_LEN).map(|_| AtomicU64::new(0)).collect(),
        }
    }
}

impl Histogram {
    /// Records one duration in nanoseconds, clamped to [MIN_NS, MAX_NS].
    #[inline]
    pub fn record(&self, ns: u64) {
        let v = ns.clamp(MIN_NS, MAX_NS) as i64;
        self.counts[counts_index(v)].fetch_add(1, Ordering::Relaxed);
    }

    /// CONFIG RESETSTAT: a histogram with no samples is not shown, as
    /// Redis frees it.
    pub fn reset(&self) {
        for c in self.counts.iter() {
            c.store(0, Ordering::Relaxed);
        }
    }

    /// The counters as they are now (recording may go on meanwhile).
    pub fn snapshot(&self) -> Snapshot {
        let counts: Vec<u64> = self.counts.iter().map(|c| c.load(Ordering::Relaxed)).collect();
        let total = counts.iter().sum();
        Snapshot { counts, total }
    }
}

/// A histogram's counters, read once.
#[derive(Debug, Clone)]
pub struct Snapshot {
    counts: Vec<u64>,
    total: u64,
}

impl Snapshot {
    pub fn total(&self) -> u64 {
        self.total
    }

    /// hdr_value_at_percentile, in nanoseconds.
    pub fn value_at_percentile(&self, percentile: f64) -> i64 {
        let requested = percentile.min(100.0);
        let count_at = (((requested / 100.0) * self.total as f64) + 0.5) as i64;
        let count_at = count_at.max(1) as u64;
        let mut seen = 0u64;
        let mut value = 0i64;
        for (i, &c) in self.counts.iter().enumerate() {
            seen += c;
            if seen >= count_at {
                value = value_at_index(i);
                break;
            }
        }
        if percentile == 0.0 {
            lowest_equivalent(value)
        } else {
            highest_equivalent(value)
        }
    }

    /// LATENCY HISTOGRAM's `histogram_usec`: HdrHistogram's log iterator
    /// from 1024 ns by powers of 2, as (the step's highest equivalent
    /// value in µs, cumulative count), only steps that added samples.
    pub fn cumulative_usec(&self) -> Vec<(i64, u64)> {
        let mut out = Vec::new();
        let mut it = LogIter::new(self, 1024, 2);
        let mut previous = 0;
        while it.next_step() {
            if it.cumulative > previous {
                out.push((it.highest_equivalent / 1000, it.cumulative));
            }
            previous = it.cumulative;
        }
        out
    }
}

/// HdrHistogram_c's `hdr_iter` with `log_iter_next`, as Redis runs it.
struct LogIter<'a> {
    snap: &'a Snapshot,
    /// -1 before the first step.
    index: i64,
    count: u64,
    cumulative: u64,
    value: i64,
    highest_equivalent: i64,
    log_base: i64,
    next_level: i64,
    next_level_lowest: i64,
}

impl<'a> LogIter<'a> {
    fn new(snap: &'a Snapshot, first: i64, log_base: i64) -> LogIter<'a> {
        LogIter {
            snap,
            index: -1,
            count: 0,
            cumulative: 0,
            value: 0,
            highest_equivalent: 0,
            log_base,
            next_level: first,
            next_level_lowest: lowest_equivalent(first),
        }
    }

    fn has_next(&self) -> bool {
        self.cumulative < self.snap.total
    }

    fn next_value_above(&self, level: i64) -> bool {
        let next = self.index + 1;
        (next as usize) < COUNTS_LEN && value_at_index(next as usize) > level
    }

    fn move_next(&mut self) -> bool {
        self.index += 1;
        let Some(&c) = self.snap.counts.get(self.index as usize) else {
            return false;
        };
        self.count = c;
        self.cumulative += c;
        self.value = value_at_index(self.index as usize);
        self.highest_equivalent = highest_equivalent(self.value);
        true
    }

    fn next_step(&mut self) -> bool {
        if !(self.has_next() || self.next_value_above(self.next_level_lowest)) {
            return false;
        }
        loop {
            if self.value >= self.next_level_lowest {
                self.next_level *= self.log_base;
                self.next_level_lowest = lowest_equivalent(self.next_level);
                return true;
            }
            if !self.move_next() {
                return false;
            }
        }
    }
}

/// `latency-tracking` and `latency-tracking-info-percentiles`.
#[derive(Debug)]
pub struct Tracking {
    enabled: AtomicBool,
    percentiles: RwLock<Vec<f64>>,
}

impl Default for Tracking {
    fn default() -> Self {
        Tracking {
            enabled: AtomicBool::new(true),
            percentiles: RwLock::new(vec![50.0, 99.0, 99.9]),
        }
    }
}

impl Tracking {
    pub fn configure(&self, cfg: &Config) {
        self.enabled
            .store(cfg.flag("latency-tracking", true), Ordering::Relaxed);
        let text = cfg
            .extras
            .get("latency-tracking-info-percentiles")
            .map_or("50 99 99.9", String::as_str);
        let words: Vec<String> = text.split_whitespace().map(String::from).collect();
        if let Ok(p) = parse_percentiles(&words) {
            *self.percentiles.write() = p;
        }
    }

    #[inline]
    pub fn enabled(&self) -> bool {
        self.enabled.load(Ordering::Relaxed)
    }

    /// INFO latencystats' value for one histogram:
    /// `p50=8.031,p99=11.007,p99.9=13.055`.
    pub fn info_value(&self, snap: &Snapshot) -> String {
        let ps = self.percentiles.read();
        let parts: Vec<String> = ps
            .iter()
            .map(|&p| {
                format!(
                    "p{}={:.3}",
                    format_percentile(p),
                    snap.value_at_percentile(p) as f64 / 1000.0
                )
            })
            .collect();
        parts.join(",")
    }
}

/// A percentile as Redis prints it: `%f` with trailing zeros (and a
/// trailing point) cut (trimDoubleString).
pub fn format_percentile(p: f64) -> String {
    let s = format!("{p:.6}");
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

/// `latency-tracking-info-percentiles`' arguments (each may hold several
/// words; a single empty one is the empty list), as Redis checks them.
pub fn parse_percentiles(args: &[String]) -> Result<Vec<f64>, String> {
    if args.len() == 1 && args[0].is_empty() {
        return Ok(Vec::new());
    }
    let mut out = Vec::new();
    for w in args.iter().flat_map(|a| a.split_whitespace()) {
        let p = crate::util::parse_f64(w.as_bytes())
            .ok_or_else(|| "Invalid latency-tracking-info-percentiles parameters".to_string())?;
        if !(0.0..=100.0).contains(&p) {
            return Err("latency-tracking-info-percentiles parameters should sit between [0.0,100.0]".into());
        }
        out.push(p);
    }
    Ok(out)
}

/// The canonical text of a percentile list (CONFIG GET, CONFIG REWRITE).
pub fn percentiles_text(ps: &[f64]) -> String {
    ps.iter().map(|&p| format_percentile(p)).collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn hist(values_ns: &[u64]) -> Snapshot {
        let h = Histogram::default();
        for &v in values_ns {
            h.record(v);
        }
        h.snapshot()
    }

    /// The model of HdrHistogram's equivalence with 2 significant
    /// figures: values below 256 are exact; above, a value's range is
    /// 2^(bits - 8) wide.
    fn model_highest(v: i64) -> i64 {
        if v < 256 {
            return v;
        }
        let bits = 64 - v.leading_zeros() as i64;
        let step = 1i64 << (bits - 8);
        v | (step - 1)
    }

    fn model_lowest(v: i64) -> i64 {
        if v < 256 {
            return v;
        }
        let bits = 64 - v.leading_zeros() as i64;
        v & !((1i64 << (bits - 8)) - 1)
    }

    #[test]
    fn layout_matches_hdr_init() {
        assert_eq!(COUNTS_LEN, 3072);
        assert!(counts_index(MAX_NS as i64) < COUNTS_LEN);
        for i in [0, 1, 127, 128, 255, 256, 1000, 3071] {
            assert_eq!(counts_index(value_at_index(i)), i);
        }
    }

    /// Figures read from Redis 7.0 after the same calls.
    #[test]
    fn what_redis_shows() {
        // 100 SETs of 4 to 16 µs: p50=8.031.
        let s = hist(&[8000]);
        assert_eq!(s.value_at_percentile(50.0), 8031);
        assert_eq!(s.value_at_percentile(0.0), 8000);
        // A 286 µs CONFIG RESETSTAT lands in the 528 µs step, a 91 µs
        // CONFIG GET in the 132 µs step, a 1 µs command in the 1 µs one.
        assert_eq!(hist(&[286_000]).cumulative_usec(), vec![(528, 1)]);
        assert_eq!(hist(&[91_000]).cumulative_usec(), vec![(132, 1)]);
        assert_eq!(hist(&[1000]).cumulative_usec(), vec![(1, 1)]);
        let mut v = vec![3000; 2];
        v.extend(vec![7000; 71]);
        v.extend(vec![12000; 27]);
        assert_eq!(hist(&v).cumulative_usec(), vec![(4, 2), (8, 73), (16, 100)]);
        // A 0 µs call counts as 1 ns.
        assert_eq!(hist(&[0]).value_at_percentile(99.0), 1);
        assert_eq!(hist(&[0]).cumulative_usec(), vec![(1, 1)]);
    }

    #[test]
    fn durations_past_the_last_step_are_counted_not_drawn() {
        // Past about 539 ms the log iterator runs out of counters before
        // its next step (1.07 s), in Redis too.
        let s = hist(&[1000, 900_000_000, 5_000_000_000]);
        assert_eq!(s.total(), 3);
        assert_eq!(s.cumulative_usec(), vec![(1, 1)]);
        assert_eq!(s.value_at_percentile(100.0), highest_equivalent(MAX_NS as i64));
    }

    #[test]
    fn percentiles_print_and_parse_as_redis() {
        assert_eq!(format_percentile(50.0), "50");
        assert_eq!(format_percentile(99.9), "99.9");
        assert_eq!(format_percentile(99.99999), "99.99999");
        assert_eq!(format_percentile(0.0), "0");
        let words = |s: &str| vec![s.to_string()];
        assert_eq!(parse_percentiles(&words("50.5 0 100")), Ok(vec![50.5, 0.0, 100.0]));
        assert_eq!(parse_percentiles(&words("")), Ok(vec![]));
        assert!(parse_percentiles(&words("101")).unwrap_err().contains("between"));
        assert!(parse_percentiles(&words("-1")).unwrap_err().contains("between"));
        assert!(parse_percentiles(&words("abc")).unwrap_err().contains("Invalid"));
        assert_eq!(percentiles_text(&[50.0, 99.0, 99.9]), "50 99 99.9");
    }

    proptest! {
        /// Percentiles against a sorted list: the sample HdrHistogram
        /// picks (rank p/100*n rounded, at least 1), shown as the highest
        /// value equivalent to it.
        #[test]
        fn percentiles_match_a_sorted_model(
            mut values in proptest::collection::vec(1u64..2_000_000, 1..300),
            p in 0.0f64..=100.0,
        ) {
            let s = hist(&values);
            values.sort_unstable();
            let n = values.len() as f64;
            let rank = ((((p / 100.0) * n) + 0.5) as usize).max(1);
            let exact = values[rank - 1] as i64;
            let want = if p == 0.0 { model_lowest(exact) } else { model_highest(exact) };
            prop_assert_eq!(s.value_at_percentile(p), want);
            prop_assert_eq!(s.total(), values.len() as u64);
        }

        /// The cumulative steps against a model: at step 2^k µs (1024 ns
        /// doubling), the samples up to that level's highest equivalent
        /// value; steps that add nothing left out; ends with every sample.
        #[test]
        fn cumulative_steps_match_a_model(values in proptest::collection::vec(1u64..500_000_000, 1..300)) {
            let s = hist(&values);
            let mut want = Vec::new();
            let (mut level, mut previous) = (1024i64, 0u64);
            while previous < values.len() as u64 {
                let top = model_highest(level);
                let cum = values.iter().filter(|&&v| model_highest(v as i64) <= top).count() as u64;
                if cum > previous {
                    want.push((top / 1000, cum));
                }
                previous = cum;
                level *= 2;
            }
            prop_assert_eq!(s.cumulative_usec(), want);
        }
    }
}
