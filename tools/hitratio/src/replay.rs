//! The cache-aside replay and the footprint measurement.

use crate::resp::{write_cmd, Reply};
use crate::server::{Conn, Res};
use crate::trace::Workload;

/// What the tool itself saw during one replay.
#[derive(Debug, Default, Clone)]
pub struct Replay {
    pub gets: u64,
    /// GETs answered with a null bulk (the tool's own miss count).
    pub misses: u64,
    pub sets: u64,
    /// SETs answered with an error (e.g. OOM under noeviction).
    pub set_errors: u64,
    pub first_set_error: Option<String>,
    /// GETs answered with an error.
    pub get_errors: u64,
    /// Round trips (one write + reading all its replies).
    pub round_trips: u64,
}

/// The payload all values are cut from.
pub fn value_buffer(w: &Workload) -> Vec<u8> {
    let max = w.sizes.iter().copied().max().unwrap_or(0) as usize;
    vec![b'v'; max]
}

/// Replays `w` as the cache-aside loop: GET key; on a miss SET key to a
/// value of the object's size.
///
/// Pipelining: one write carries the SETs for the previous batch's misses
/// followed by the GETs of the next batch (at most `batch` requests). The
/// server runs them in order, so a GET sees every earlier SET. A batch is cut
/// at the first key that already occurs in it, so no batch holds a key twice:
/// every request gets exactly the answer the sequential loop would give,
/// except that within one batch all GETs run before that batch's SETs (the
/// eviction the SETs cause comes up to `batch` requests late, and the LRU/LFU
/// touch of the batch's hits comes before those SETs).
///
/// `rate` > 0 paces the replay to at most that many requests per second
/// (sleeping before each write), to see how a policy behaves when requests
/// are spread out in time (Redis's LRU clock ticks once per second).
pub fn replay(c: &mut Conn, w: &Workload, batch: usize, value: &[u8], rate: f64, ttl: u64) -> Res<Replay> {
    let ttl_s = ttl.to_string();
    let batch = batch.max(1);
    let start = std::time::Instant::now();
    let mut st = Replay::default();
    let mut out: Vec<u8> = Vec::with_capacity(1 << 16);
    let mut pending: Vec<u32> = Vec::with_capacity(batch);
    let mut in_batch: Vec<u32> = Vec::with_capacity(batch);
    let n = w.reqs.len();
    let mut i = 0;
    let io = |e: std::io::Error| format!("replay {}: {e}", w.name);
    while i < n || !pending.is_empty() {
        out.clear();
        for &id in &pending {
            let size = w.sizes[id as usize] as usize;
            set_cmd(&mut out, &w.keys[id as usize], &value[..size], ttl, &ttl_s);
        }
        let nsets = pending.len();
        pending.clear();
        in_batch.clear();
        while i < n && in_batch.len() < batch {
            let id = w.reqs[i];
            if in_batch.contains(&id) {
                break;
            }
            in_batch.push(id);
            write_cmd(&mut out, &[b"GET", &w.keys[id as usize]]);
            i += 1;
        }
        if rate > 0.0 {
            let due = std::time::Duration::from_secs_f64(i as f64 / rate);
            if let Some(wait) = due.checked_sub(start.elapsed()) {
                std::thread::sleep(wait);
            }
        }
        c.write_raw(&out).map_err(io)?;
        st.round_trips += 1;
        for _ in 0..nsets {
            st.sets += 1;
            if let Reply::Error(e) = c.read().map_err(io)? {
                st.set_errors += 1;
                st.first_set_error.get_or_insert(e);
            }
        }
        for &id in &in_batch {
            st.gets += 1;
            match c.read().map_err(io)? {
                Reply::Bulk(None) | Reply::Null => {
                    st.misses += 1;
                    pending.push(id);
                }
                Reply::Error(_) => st.get_errors += 1,
                _ => {}
            }
        }
    }
    Ok(st)
}

/// `SET key value`, with `EX ttl` when `ttl` > 0 (so the volatile-*
/// policies have keys to evict).
fn set_cmd(out: &mut Vec<u8>, key: &[u8], value: &[u8], ttl: u64, ttl_s: &str) {
    if ttl > 0 {
        write_cmd(out, &[b"SET", key, value, b"EX", ttl_s.as_bytes()]);
    } else {
        write_cmd(out, &[b"SET", key, value]);
    }
}

/// SETs every unique object once, pipelined in chunks of about 1 MiB or
/// 256 commands. Returns the number of error replies.
pub fn load_all(c: &mut Conn, w: &Workload, value: &[u8], ttl: u64) -> Res<u64> {
    let ttl_s = ttl.to_string();
    let io = |e: std::io::Error| format!("loading {}: {e}", w.name);
    let mut out = Vec::with_capacity(1 << 20);
    let mut errors = 0;
    let mut id = 0;
    while id < w.keys.len() {
        out.clear();
        let start = id;
        while id < w.keys.len() && out.len() < (1 << 20) && id - start < 256 {
            set_cmd(&mut out, &w.keys[id], &value[..w.sizes[id] as usize], ttl, &ttl_s);
            id += 1;
        }
        c.write_raw(&out).map_err(io)?;
        for _ in start..id {
            if let Reply::Error(_) = c.read().map_err(io)? {
                errors += 1;
            }
        }
    }
    Ok(errors)
}
