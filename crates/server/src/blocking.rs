//! Blocking commands (BLPOP, BLMOVE, BZPOPMIN, ...): the API handlers use.
//!
//! A blocking handler first tries to serve the request at once. If it
//! cannot (every key is missing) it calls [`Ctx::block`] and writes no
//! reply; the connection then waits until one of the keys is created by
//! another client, the timeout passes, or CLIENT UNBLOCK arrives, and the
//! command runs again. Creating a key of a blockable type (list, zset) is
//! what wakes waiters: blocked clients only ever wait on missing keys,
//! since a non-empty list or zset would have served them at once.
//!
//! STUB: the waiting machinery is not built yet; `block` answers with the
//! timeout reply at once. The list work replaces this.

use crate::dispatch::Ctx;
use crate::util::parse_f64;

/// What a blocked command replies when its timeout passes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimeoutReply {
    /// `*-1` (RESP2) / `_` (RESP3): BLPOP, BRPOP, BLMPOP, BZPOPMIN, ...
    NullArray,
    /// `$-1` (RESP2) / `_` (RESP3): BLMOVE, BRPOPLPUSH.
    NullBulk,
}

/// Parses a blocking timeout in seconds (fractions allowed) into an
/// absolute deadline in ms, or `None` for 0 (block forever). Redis's
/// errors: "timeout is not a float or out of range", "timeout is negative".
pub fn parse_timeout(arg: &[u8], now_ms: u64) -> Result<Option<u64>, &'static str> {
    let secs = parse_f64(arg).ok_or("timeout is not a float or out of range")?;
    if secs < 0.0 {
        return Err("timeout is negative");
    }
    if !secs.is_finite() || secs * 1000.0 > i64::MAX as f64 / 2.0 {
        return Err("timeout is out of range");
    }
    let ms = (secs * 1000.0) as u64;
    if ms == 0 {
        return Ok(None);
    }
    Ok(Some(now_ms.saturating_add(ms)))
}

impl Ctx<'_> {
    /// Blocks the client on `keys` until `deadline_ms` (None: forever).
    /// The handler must not have written a reply.
    pub fn block(&mut self, keys: &[&[u8]], deadline_ms: Option<u64>, on_timeout: TimeoutReply) {
        let _ = (keys, deadline_ms);
        match on_timeout {
            TimeoutReply::NullArray => self.out.null_array(),
            TimeoutReply::NullBulk => self.out.null(),
        }
    }
}
