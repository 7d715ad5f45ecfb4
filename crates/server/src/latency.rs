//! The latency monitor (LATENCY LATEST, HISTORY, RESET, DOCTOR, GRAPH;
//! Redis's latency.c): with `latency-monitor-threshold` N > 0 ms, every
//! event that took N ms or more is kept per event class, one sample per
//! second (the worst of that second), the last 160 of them, plus the class's
//! all-time maximum.
//!
//! Classes recorded: `command` and `fast-command` (commands flagged `fast`)
//! by dispatch, EXEC and scripts; `expire-cycle` (the cron's active
//! expiry); `eviction-cycle` (one eviction pass before a command);
//! `aof-write` and `aof-fsync-always` (the AOF writer's `write(2)` and, under
//! `always`, its fsync). Times are the server clock's seconds.

use std::sync::atomic::{AtomicU64, Ordering};

use parking_lot::Mutex;

use crate::config::Config;

/// Samples kept per class (Redis's LATENCY_TS_LEN).
pub const TS_LEN: usize = 160;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Sample {
    /// Unix seconds; 0 for an unused slot.
    pub time: u64,
    pub ms: u64,
}

#[derive(Debug, Clone)]
struct Series {
    samples: Vec<Sample>,
    /// Where the next new-second sample goes.
    idx: usize,
    max: u64,
}

impl Series {
    fn new() -> Series {
        Series {
            samples: vec![Sample::default(); TS_LEN],
            idx: 0,
            max: 0,
        }
    }

    fn add(&mut self, ms: u64, now: u64) {
        self.max = self.max.max(ms);
        let prev = (self.idx + TS_LEN - 1) % TS_LEN;
        if self.samples[prev].time == now {
            self.samples[prev].ms = self.samples[prev].ms.max(ms);
            return;
        }
        self.samples[self.idx] = Sample { time: now, ms };
        self.idx = (self.idx + 1) % TS_LEN;
    }

    /// Samples oldest first.
    fn history(&self) -> Vec<Sample> {
        (0..TS_LEN)
            .map(|j| self.samples[(self.idx + j) % TS_LEN])
            .filter(|s| s.time != 0)
            .collect()
    }

    fn latest(&self) -> Sample {
        self.samples[(self.idx + TS_LEN - 1) % TS_LEN]
    }
}

/// One class's figures for the doctor (Redis's latencyStats).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    pub samples: u64,
    pub avg: u64,
    pub mad: u64,
    pub min: u64,
    pub max: u64,
    /// Seconds from the oldest sample to now (at least 1).
    pub period: u64,
    pub all_time_high: u64,
}

#[derive(Debug)]
pub struct LatencyMonitor {
    threshold_ms: AtomicU64,
    /// Classes in the order they first appeared.
    events: Mutex<Vec<(String, Series)>>,
}

impl Default for LatencyMonitor {
    fn default() -> Self {
        LatencyMonitor {
            threshold_ms: AtomicU64::new(0),
            events: Mutex::new(Vec::new()),
        }
    }
}

impl LatencyMonitor {
    pub fn configure(&self, cfg: &Config) {
        let t = cfg
            .extras
            .get("latency-monitor-threshold")
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0);
        self.threshold_ms.store(t, Ordering::Relaxed);
    }

    pub fn threshold_ms(&self) -> u64 {
        self.threshold_ms.load(Ordering::Relaxed)
    }

    /// Records `event` if monitoring is on and `usec` reaches the
    /// threshold: one atomic load otherwise (`now_secs` is only called
    /// then).
    #[inline]
    pub fn observe(&self, event: &str, usec: u64, now_secs: impl FnOnce() -> u64) {
        let t = self.threshold_ms.load(Ordering::Relaxed);
        let ms = usec / 1000;
        if t > 0 && ms >= t {
            self.add(event, ms, now_secs());
        }
    }

    pub fn add(&self, event: &str, ms: u64, now_secs: u64) {
        let mut events = self.events.lock();
        match events.iter_mut().find(|(e, _)| e == event) {
            Some((_, s)) => s.add(ms, now_secs),
            None => {
                let mut s = Series::new();
                s.add(ms, now_secs);
                events.push((event.to_string(), s));
            }
        }
    }

    /// LATENCY RESET: all classes, or those named (case-insensitively);
    /// how many were reset.
    pub fn reset(&self, names: Option<&[&[u8]]>) -> usize {
        let mut events = self.events.lock();
        let before = events.len();
        match names {
            None => events.clear(),
            Some(names) => events.retain(|(e, _)| !names.iter().any(|n| n.eq_ignore_ascii_case(e.as_bytes()))),
        }
        before - events.len()
    }

    /// LATENCY LATEST: (class, time of the latest sample, its ms, all-time max).
    pub fn latest(&self) -> Vec<(String, u64, u64, u64)> {
        self.events
            .lock()
            .iter()
            .map(|(e, s)| {
                let l = s.latest();
                (e.clone(), l.time, l.ms, s.max)
            })
            .collect()
    }

    /// LATENCY HISTORY: the samples of a class (exact name), oldest first.
    pub fn history(&self, event: &[u8]) -> Option<Vec<Sample>> {
        self.events
            .lock()
            .iter()
            .find(|(e, _)| e.as_bytes() == event)
            .map(|(_, s)| s.history())
    }

    /// (class, stats) for every class.
    pub fn stats(&self, now_secs: u64) -> Vec<(String, Stats)> {
        self.events
            .lock()
            .iter()
            .map(|(e, s)| (e.clone(), stats_of(s, now_secs)))
            .collect()
    }

    /// LATENCY GRAPH's text for a class, or None without samples.
    pub fn graph(&self, event: &[u8], now_secs: u64) -> Option<String> {
        let events = self.events.lock();
        let (name, s) = events.iter().find(|(e, _)| e.as_bytes() == event)?;
        Some(graph(name, s, now_secs))
    }
}

fn stats_of(s: &Series, now: u64) -> Stats {
    let h = s.history();
    let mut st = Stats {
        all_time_high: s.max,
        ..Stats::default()
    };
    if h.is_empty() {
        return st;
    }
    st.samples = h.len() as u64;
    st.min = h.iter().map(|x| x.ms).min().unwrap_or(0);
    st.max = h.iter().map(|x| x.ms).max().unwrap_or(0);
    st.avg = h.iter().map(|x| x.ms).sum::<u64>() / st.samples;
    let oldest = h.iter().map(|x| x.time).min().unwrap_or(now);
    st.period = now.saturating_sub(oldest).max(1);
    st.mad = h.iter().map(|x| x.ms.abs_diff(st.avg)).sum::<u64>() / st.samples;
    st
}

const GRAPH_COLS: usize = 80;
const GRAPH_ROWS: usize = 4;

/// A column chart of the samples, oldest left: a header as Redis's
/// ("<event> - high N ms, low N ms (all time high N ms)"), a rule, rows of
/// `#` (filled) with `_` marking the lowest level, and under each column
/// how long ago the sample was taken, written downwards.
fn graph(name: &str, s: &Series, now: u64) -> String {
    let h = s.history();
    let h = &h[h.len().saturating_sub(GRAPH_COLS)..];
    let (lo, hi) = (
        h.iter().map(|x| x.ms).min().unwrap_or(0),
        h.iter().map(|x| x.ms).max().unwrap_or(0),
    );
    let mut out = format!("{name} - high {hi} ms, low {lo} ms (all time high {} ms)\n", s.max);
    out.push_str(&"-".repeat(GRAPH_COLS));
    out.push('\n');
    // Height of each column in eighths of a row... kept simple: whole rows.
    let levels: Vec<usize> = h
        .iter()
        .map(|x| {
            if hi == lo {
                GRAPH_ROWS
            } else {
                1 + ((x.ms - lo) as usize * (GRAPH_ROWS - 1) + (hi - lo) as usize / 2) / (hi - lo) as usize
            }
        })
        .collect();
    for row in (1..=GRAPH_ROWS).rev() {
        let line: String = levels
            .iter()
            .map(|&l| {
                if l >= row {
                    if row == 1 && l == 1 {
                        '_'
                    } else {
                        '#'
                    }
                } else {
                    ' '
                }
            })
            .collect();
        out.push_str(line.trim_end());
        out.push('\n');
    }
    let labels: Vec<Vec<char>> = h
        .iter()
        .map(|x| {
            let ago = now.saturating_sub(x.time);
            let l = if ago < 60 {
                format!("{ago}s")
            } else if ago < 3600 {
                format!("{}m", ago / 60)
            } else if ago < 86400 {
                format!("{}h", ago / 3600)
            } else {
                format!("{}d", ago / 86400)
            };
            l.chars().collect()
        })
        .collect();
    let depth = labels.iter().map(Vec::len).max().unwrap_or(0);
    for i in 0..depth {
        let line: String = labels.iter().map(|l| l.get(i).copied().unwrap_or(' ')).collect();
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_sample_per_second_the_worst_kept() {
        let m = LatencyMonitor::default();
        m.threshold_ms.store(5, Ordering::Relaxed);
        m.observe("command", 4_999, || 100); // below the threshold
        m.observe("command", 7_000, || 100);
        m.observe("command", 6_000, || 100);
        m.observe("command", 9_000, || 100);
        m.observe("command", 5_000, || 101);
        m.observe("fast-command", 8_000, || 101);
        assert_eq!(
            m.latest(),
            vec![
                ("command".to_string(), 101, 5, 9),
                ("fast-command".to_string(), 101, 8, 8)
            ]
        );
        assert_eq!(
            m.history(b"command").unwrap(),
            vec![Sample { time: 100, ms: 9 }, Sample { time: 101, ms: 5 }]
        );
        let st = m.stats(104);
        assert_eq!(
            st[0].1,
            Stats {
                samples: 2,
                avg: 7,
                mad: 2,
                min: 5,
                max: 9,
                period: 4,
                all_time_high: 9
            }
        );
        assert_eq!(m.reset(Some(&[b"COMMAND", b"nothing"])), 1);
        assert_eq!(m.reset(None), 1);
        assert!(m.latest().is_empty());
    }

    #[test]
    fn the_ring_keeps_the_last_160_seconds() {
        let m = LatencyMonitor::default();
        for t in 1..=200u64 {
            m.add("e", t, t);
        }
        let h = m.history(b"e").unwrap();
        assert_eq!(h.len(), TS_LEN);
        assert_eq!(h[0], Sample { time: 41, ms: 41 });
        assert_eq!(h[TS_LEN - 1], Sample { time: 200, ms: 200 });
        let g = m.graph(b"e", 200).unwrap();
        assert!(
            g.starts_with("e - high 200 ms, low 121 ms (all time high 200 ms)\n"),
            "{g}"
        );
    }
}
