//! CL.THROTTLE: rate limiting in one atomic command, with the reply of
//! the redis-cell module (GCRA, the generic cell rate algorithm), so its
//! users can switch: `CL.THROTTLE key max_burst count period [quantity]`
//! answers `[limited, limit, remaining, retry_after, reset_after]`.
//!
//! The key holds the theoretical arrival time (TAT) in nanoseconds since
//! the epoch as a string, with a TTL of the time until the bucket is
//! full again, as redis-cell stores it. Unlike INCR + EXPIRE, nothing can
//! leave the key without a TTL, and the rolling window has no edge to
//! burst across. The AOF gets the resulting `SET key tat PXAT t`, not the
//! command (whose outcome depends on the time it runs).

use larder_engine::Value;

use super::{acl, flags::*, CommandSpec, KeySpec};
use crate::dispatch::Ctx;
use crate::util::{parse_i64, ERR_WRONGTYPE};

const KEY_RW: &[KeySpec] = &[KeySpec::single(1, &["RW", "ACCESS", "UPDATE"])];

pub static COMMANDS: &[CommandSpec] = &[CommandSpec::new(
    "cl.throttle",
    -1,
    WRITE | DENYOOM | FAST,
    acl::WRITE | acl::FAST,
    throttle,
)
.keys(KEY_RW)
.doc(
    "generic",
    "1.0.0",
    "Rate limits an action with GCRA (redis-cell compatible): returns [limited, limit, remaining, retry_after, reset_after].",
    "O(1)",
)];

const NS: i128 = 1_000_000_000;

/// What one call decided (durations in ns).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision {
    pub limited: bool,
    pub limit: i64,
    pub remaining: i64,
    /// -1 s when not limited (or when the request can never fit).
    pub retry_after: i128,
    pub reset_after: i128,
    /// The TAT to store, when allowed.
    pub new_tat: Option<i128>,
}

/// redis-cell's RateLimiter::rate_limit with `tat` (None: no key) at
/// `now`, both in ns. Errors are redis-cell's.
pub fn gcra(
    tat: Option<i128>,
    now: i128,
    max_burst: i64,
    count: i64,
    period_secs: i64,
    quantity: i64,
) -> Result<Decision, &'static str> {
    // Rate::per_period: the period in ns divided by the count, truncated
    // (through f64, as redis-cell does).
    let period_ns = i128::from(period_secs) * NS;
    let emission = if count == 0 || period_ns == 0 {
        0
    } else {
        ((period_ns as f64) / (count as f64)) as i128
    };
    if emission == 0 {
        return Err("Zero rates are not supported");
    }
    let limit = max_burst.saturating_add(1);
    let dvt = emission * i128::from(limit);
    let increment = emission * i128::from(quantity);
    let tat = tat.unwrap_or(now);
    let new_tat = tat.max(now) + increment;
    let allow_at = new_tat - dvt;
    let diff = now - allow_at;
    let (limited, ttl, retry_after, stored) = if diff < 0 {
        let retry = if increment <= dvt { -diff } else { -NS };
        (true, tat - now, retry, None)
    } else {
        (false, new_tat - now, -NS, Some(new_tat))
    };
    let next = dvt - ttl;
    let remaining = if next > -emission {
        // Through microseconds and f64, as redis-cell.
        ((next / 1000) as f64 / (emission / 1000).max(1) as f64) as i64
    } else {
        0
    };
    Ok(Decision {
        limited,
        limit,
        remaining,
        retry_after,
        reset_after: ttl,
        new_tat: stored,
    })
}

/// Whole seconds, a partial second rounded up (redis-cell's reply).
fn ceil_secs(ns: i128) -> i64 {
    let whole = ns / NS;
    let frac_ms = (ns % NS) / 1_000_000;
    (if frac_ms > 0 { whole + 1 } else { whole }) as i64
}

fn throttle(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    if args.len() != 5 && args.len() != 6 {
        return ctx
            .out
            .error("Usage: cl.throttle <key> <max_burst> <count per period> <period> [<quantity>]");
    }
    let mut nums = [0i64; 4];
    nums[3] = 1;
    for (slot, a) in nums.iter_mut().zip(&args[2..]) {
        match parse_i64(a) {
            Some(n) => *slot = n,
            None => {
                return ctx
                    .out
                    .error(&format!("Couldn't parse as integer: {}", String::from_utf8_lossy(a)))
            }
        }
    }
    let [max_burst, count, period, quantity] = nums;
    let key = args[1];
    let now = ctx.now;
    let db = ctx.db(key);
    let tat = match db.lookup_write(key, now) {
        None => None,
        Some(e) => {
            let mut scratch = larder_engine::value::itoa_buf::Buf::default();
            match e.value().as_bytes(&mut scratch) {
                None => return ctx.out.error(ERR_WRONGTYPE),
                Some(b) => match parse_i64(b) {
                    Some(n) => Some(i128::from(n)),
                    None => return ctx.out.error("invalid digit found in string"),
                },
            }
        }
    };
    let d = match gcra(tat, i128::from(now) * 1_000_000, max_burst, count, period, quantity) {
        Ok(d) => d,
        Err(e) => return ctx.out.error(e),
    };
    if let Some(new_tat) = d.new_tat {
        let tat = new_tat.clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64;
        // The TTL in ms (redis-cell: RedisModule_SetExpire); at least 1.
        let ttl_ms = (d.reset_after / 1_000_000).max(1);
        let at = (i128::from(now) + ttl_ms).min(i128::from(i64::MAX)) as u64;
        let db = ctx.db(key);
        db.set(key, Value::Int(tat), Some(at), false, now);
        ctx.dirty(1);
        let at = at.to_string().into_bytes();
        ctx.client.propagate_as = Some(vec![vec![
            b"SET".to_vec(),
            key.to_vec(),
            tat.to_string().into_bytes(),
            b"PXAT".to_vec(),
            at,
        ]]);
    }
    ctx.out.array(5);
    ctx.out.integer(i64::from(d.limited));
    ctx.out.integer(d.limit);
    ctx.out.integer(d.remaining);
    ctx.out.integer(ceil_secs(d.retry_after));
    ctx.out.integer(ceil_secs(d.reset_after));
}

#[cfg(test)]
mod tests {
    use super::*;

    /// redis-cell's own table (it_rate_limits): limit 5 (burst 4), one a
    /// second.
    #[test]
    fn matches_redis_cells_cases() {
        let start: i128 = 1_700_000_000 * NS;
        let ms = |n: i128| n * 1_000_000;
        // (now offset ms, quantity, remaining, reset_after ms, retry_after ms, limited)
        let cases: &[(i128, i64, i64, i128, i128, bool)] = &[
            (0, 6, 5, 0, -1000, true),
            (0, 1, 4, 1000, -1000, false),
            (0, 1, 3, 2000, -1000, false),
            (0, 1, 2, 3000, -1000, false),
            (0, 1, 1, 4000, -1000, false),
            (0, 1, 0, 5000, -1000, false),
            (0, 1, 0, 5000, 1000, true),
            (3000, 1, 2, 3000, -1000, false),
            (3100, 1, 1, 3900, -1000, false),
            (4000, 1, 1, 4000, -1000, false),
            (8000, 1, 4, 1000, -1000, false),
            (9500, 1, 4, 1000, -1000, false),
            (9500, 0, 4, 1000, -1000, false),
            (9500, 2, 2, 3000, -1000, false),
            (9500, 5, 2, 3000, 3000, true),
        ];
        let mut tat = None;
        for (i, &(off, q, remaining, reset, retry, limited)) in cases.iter().enumerate() {
            let d = gcra(tat, start + ms(off), 4, 1, 1, q).unwrap();
            assert_eq!(
                (d.limited, d.limit, d.remaining, d.reset_after, d.retry_after),
                (limited, 5, remaining, ms(reset), ms(retry)),
                "case {i}"
            );
            if let Some(t) = d.new_tat {
                tat = Some(t);
            }
        }
    }

    #[test]
    fn zero_rates_and_rounding() {
        assert_eq!(gcra(None, 0, 1, 0, 60, 1), Err("Zero rates are not supported"));
        assert_eq!(gcra(None, 0, 1, 5, 0, 1), Err("Zero rates are not supported"));
        assert_eq!(ceil_secs(-NS), -1);
        assert_eq!(ceil_secs(NS + 2_000_000), 2);
        assert_eq!(ceil_secs(NS), 1);
    }
}
