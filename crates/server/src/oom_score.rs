//! `oom-score-adj` and `oom-score-adj-values` (Redis's setOOMScoreAdj):
//! with `relative` (or `yes`) the process's /proc/self/oom_score_adj is
//! its value at the first adjustment plus the master value (the first of
//! the three; Larder has no replicas and no child processes), with
//! `absolute` the master value itself, clamped to [-1000, 1000]; `no`
//! after an adjustment puts the first value back.

use parking_lot::Mutex;

use crate::config::Config;

const PATH: &str = "/proc/self/oom_score_adj";

/// The score before Larder first changed it (None: never changed).
static BASE: Mutex<Option<i64>> = Mutex::new(None);

/// Applies the configuration. Err(why) when /proc could not be read or
/// written (the caller logs it, as Redis does).
pub fn apply(cfg: &Config) -> Result<(), String> {
    let mode = cfg.extras.get("oom-score-adj").map_or("no", String::as_str);
    let master: i64 = cfg
        .extras
        .get("oom-score-adj-values")
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let mut base = BASE.lock();
    let value = match mode {
        "no" => match base.take() {
            Some(b) => b,
            None => return Ok(()),
        },
        _ => {
            let b = match *base {
                Some(b) => b,
                None => {
                    let text =
                        std::fs::read_to_string(PATH).map_err(|e| format!("Unable to read oom_score_adj: {e}"))?;
                    let b = text.trim().parse().unwrap_or(0);
                    *base = Some(b);
                    b
                }
            };
            let v = if mode == "absolute" { master } else { master + b };
            v.clamp(-1000, 1000)
        }
    };
    std::fs::write(PATH, format!("{value}\n")).map_err(|e| format!("Unable to write oom_score_adj: {e}"))
}
