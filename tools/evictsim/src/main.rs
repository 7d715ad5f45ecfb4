#![allow(clippy::unwrap_used)] // a research tool over trusted trace files
//! Trace-driven eviction-policy simulator: a research tool for choosing
//! Larder's eviction policy (issue 5), not part of the server.
//!
//! Decompress the traces first (`xz -dkc ../shared/traces/X.trace.xz > /tmp/X.trace`), then:
//!
//! ```text
//! # capacity in objects (1% and 10% of the unique keys)
//! cargo run --release -p evictsim -- lru,sampled-lru,sieve,s3fifo,wtinylfu-1,wtinylfu-adaptive /tmp/*.trace
//! # capacity in bytes (1% and 10% of the footprint; only adaptsize has sizes)
//! cargo run --release -p evictsim -- bytes lru,s3:10:0.5:0,gdsf:1,gdsf:0.5 /tmp/*.trace
//! # through Larder's own eviction code (engine.rs)
//! cargo run --release -p evictsim -- engine allkeys-lru,allkeys-s3fifo /tmp/*.trace
//! ```
//!
//! The LRU, sampled-LRU, SIEVE and S3-FIFO figures reproduce the reference
//! table in the traces' README. Policies: `s3:<small%>:<thresh>:<ghost>`
//! parameterises S3-FIFO; in bytes mode `s3:<small%>:<ghost x keys>:<large>`
//! and `gdsf:<size exponent>` (sampled, Redis-style pool).
//!
//! Server-shaped sampled policies (module `sampled`, see its docs and
//! docs/eviction-research.md): `ss3:...` (sampled S3-FIFO, also in bytes
//! mode), `hyper:...`, `plru:...`, `lru2:...`, `lhd:...`; `arc` is an exact
//! reference. With `sampled-lru` in the list, a per-case gain table with
//! median and worst case is printed. EVICTSIM_SEED changes the sampling
//! seed, EVICTSIM_THREADS the number of worker threads (default 2).

use hashbrown::HashMap;
use std::io::Read;
mod bytes;
mod engine;
mod sampled;
use bytes::*;

fn load(path: &str) -> Vec<u32> {
    load_sized(path).into_iter().map(|x| x.0).collect()
}

fn load_sized(path: &str) -> Vec<(u32, u64)> {
    let mut data = Vec::new();
    std::fs::File::open(path).unwrap().read_to_end(&mut data).unwrap();
    let mut ids: HashMap<u64, u32> = HashMap::new();
    let mut out = Vec::new();
    let mut push = |k: u64, sz: u64, out: &mut Vec<(u32, u64)>| {
        let n = ids.len() as u32;
        let id = *ids.entry(k).or_insert(n);
        out.push((id, sz));
    };
    if path.contains("adaptsize") {
        for line in std::str::from_utf8(&data).unwrap().lines() {
            let mut it = line.split_whitespace();
            let _seq = it.next();
            let id: u64 = it.next().unwrap().parse().unwrap();
            let size: u64 = it.next().unwrap().parse().unwrap();
            push(id.wrapping_mul(0x9E3779B97F4A7C15) ^ size, size.max(1), &mut out);
        }
    } else if path.contains("scarab") {
        for c in data.chunks_exact(8) {
            push(u64::from_be_bytes(c.try_into().unwrap()), 1, &mut out);
        }
    } else {
        for c in data.chunks_exact(4) {
            push(u32::from_be_bytes(c.try_into().unwrap()) as u64, 1, &mut out);
        }
    }
    out
}

trait Policy {
    fn name(&self) -> String;
    /// Returns true on a hit. On a miss the key is inserted.
    fn access(&mut self, k: u32) -> bool;
}

const NIL: u32 = u32::MAX;

/// Intrusive doubly linked lists over dense ids.
pub struct Lists {
    pub prev: Vec<u32>,
    pub next: Vec<u32>,
    /// which list (0 = none)
    pub owner: Vec<u8>,
    pub head: Vec<u32>,
    pub tail: Vec<u32>,
    pub len: Vec<usize>,
}

impl Lists {
    pub fn new(n: usize, lists: usize) -> Self {
        Lists {
            prev: vec![NIL; n],
            next: vec![NIL; n],
            owner: vec![0; n],
            head: vec![NIL; lists + 1],
            tail: vec![NIL; lists + 1],
            len: vec![0; lists + 1],
        }
    }
    pub fn push_front(&mut self, l: u8, k: u32) {
        let li = l as usize;
        self.owner[k as usize] = l;
        self.prev[k as usize] = NIL;
        self.next[k as usize] = self.head[li];
        if self.head[li] != NIL {
            self.prev[self.head[li] as usize] = k;
        } else {
            self.tail[li] = k;
        }
        self.head[li] = k;
        self.len[li] += 1;
    }
    pub fn remove(&mut self, k: u32) {
        let li = self.owner[k as usize] as usize;
        let (p, n) = (self.prev[k as usize], self.next[k as usize]);
        if p != NIL {
            self.next[p as usize] = n;
        } else {
            self.head[li] = n;
        }
        if n != NIL {
            self.prev[n as usize] = p;
        } else {
            self.tail[li] = p;
        }
        self.len[li] -= 1;
        self.owner[k as usize] = 0;
    }
    pub fn pop_back(&mut self, l: u8) -> Option<u32> {
        let t = self.tail[l as usize];
        if t == NIL {
            return None;
        }
        self.remove(t);
        Some(t)
    }
    pub fn back(&self, l: u8) -> Option<u32> {
        let t = self.tail[l as usize];
        (t != NIL).then_some(t)
    }
}

struct Lru {
    cap: usize,
    l: Lists,
}
impl Policy for Lru {
    fn name(&self) -> String {
        "lru".into()
    }
    fn access(&mut self, k: u32) -> bool {
        if self.l.owner[k as usize] == 1 {
            self.l.remove(k);
            self.l.push_front(1, k);
            return true;
        }
        if self.l.len[1] >= self.cap {
            self.l.pop_back(1);
        }
        self.l.push_front(1, k);
        false
    }
}

/// Redis-style sampled LRU with an eviction pool.
struct SampledLru {
    cap: usize,
    keys: Vec<u32>,
    pos: Vec<u32>,
    last: Vec<u64>,
    t: u64,
    rng: u64,
    samples: usize,
    pool: Vec<(u64, u32)>,
}
pub fn xorshift(s: &mut u64) -> u64 {
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    *s
}
impl Policy for SampledLru {
    fn name(&self) -> String {
        "sampled-lru".into()
    }
    fn access(&mut self, k: u32) -> bool {
        self.t += 1;
        if self.pos[k as usize] != NIL {
            self.last[k as usize] = self.t;
            return true;
        }
        if self.keys.len() >= self.cap {
            // Fill the pool with samples, keep the 16 idlest.
            for _ in 0..self.samples {
                let i = (xorshift(&mut self.rng) % self.keys.len() as u64) as usize;
                let c = self.keys[i];
                let idle = self.t - self.last[c as usize];
                if !self.pool.iter().any(|&(_, x)| x == c) {
                    self.pool.push((idle, c));
                }
            }
            // refresh idles, drop stale
            let t = self.t;
            let pos = &self.pos;
            let last = &self.last;
            self.pool.retain(|&(_, c)| pos[c as usize] != NIL);
            for e in self.pool.iter_mut() {
                e.0 = t - last[e.1 as usize];
            }
            self.pool.sort_unstable_by_key(|e| std::cmp::Reverse(e.0));
            self.pool.truncate(16);
            let (_, victim) = self.pool.remove(0);
            let i = self.pos[victim as usize] as usize;
            let lastk = *self.keys.last().unwrap();
            self.keys.swap_remove(i);
            if i < self.keys.len() {
                self.pos[lastk as usize] = i as u32;
            }
            self.pos[victim as usize] = NIL;
        }
        self.pos[k as usize] = self.keys.len() as u32;
        self.keys.push(k);
        self.last[k as usize] = self.t;
        false
    }
}

struct Sieve {
    cap: usize,
    l: Lists,
    visited: Vec<bool>,
    hand: u32,
}
impl Policy for Sieve {
    fn name(&self) -> String {
        "sieve".into()
    }
    fn access(&mut self, k: u32) -> bool {
        if self.l.owner[k as usize] == 1 {
            self.visited[k as usize] = true;
            return true;
        }
        if self.l.len[1] >= self.cap {
            let mut h = if self.hand == NIL { self.l.tail[1] } else { self.hand };
            loop {
                if self.visited[h as usize] {
                    self.visited[h as usize] = false;
                    h = self.l.prev[h as usize];
                    if h == NIL {
                        h = self.l.tail[1];
                    }
                } else {
                    break;
                }
            }
            let p = self.l.prev[h as usize];
            self.hand = p;
            self.l.remove(h);
        }
        self.l.push_front(1, k);
        self.visited[k as usize] = false;
        false
    }
}

/// S3-FIFO: small FIFO (10%), main FIFO with 2-bit counters, ghost of
/// keys evicted from small.
struct S3Fifo {
    cap: usize,
    thresh: u8,
    ghost_cap: usize,
    label: String,
    small_cap: usize,
    l: Lists, // 1 = small, 2 = main, 3 = ghost
    freq: Vec<u8>,
}
impl S3Fifo {
    fn evict(&mut self) {
        loop {
            if self.l.len[1] >= self.small_cap || self.l.len[2] == 0 {
                if let Some(t) = self.l.pop_back(1) {
                    if self.freq[t as usize] >= self.thresh {
                        self.freq[t as usize] = 0;
                        self.l.push_front(2, t);
                        continue;
                    }
                    self.l.push_front(3, t);
                    if self.l.len[3] > self.ghost_cap {
                        self.l.pop_back(3);
                    }
                    return;
                }
            }
            let t = self.l.pop_back(2).unwrap();
            if self.freq[t as usize] > 0 {
                self.freq[t as usize] -= 1;
                self.l.push_front(2, t);
                continue;
            }
            return;
        }
    }
}
impl Policy for S3Fifo {
    fn name(&self) -> String {
        self.label.clone()
    }
    fn access(&mut self, k: u32) -> bool {
        let o = self.l.owner[k as usize];
        if o == 1 || o == 2 {
            self.freq[k as usize] = (self.freq[k as usize] + 1).min(3);
            return true;
        }
        while self.l.len[1] + self.l.len[2] >= self.cap {
            self.evict();
        }
        self.freq[k as usize] = 0;
        if o == 3 {
            self.l.remove(k);
            self.l.push_front(2, k);
        } else {
            self.l.push_front(1, k);
        }
        false
    }
}

/// ARC (Megiddo & Modha), exact reference: T1/T2 resident, B1/B2 ghosts.
struct Arc {
    cap: usize,
    p: usize,
    l: Lists, // 1 = T1, 2 = T2, 3 = B1, 4 = B2
}
impl Arc {
    fn replace(&mut self, in_b2: bool) {
        let t1 = self.l.len[1];
        if t1 > 0 && (t1 > self.p || (in_b2 && t1 == self.p)) {
            let v = self.l.pop_back(1).unwrap();
            self.l.push_front(3, v);
        } else if let Some(v) = self.l.pop_back(2) {
            self.l.push_front(4, v);
        } else {
            let v = self.l.pop_back(1).unwrap();
            self.l.push_front(3, v);
        }
    }
}
impl Policy for Arc {
    fn name(&self) -> String {
        "arc".into()
    }
    fn access(&mut self, k: u32) -> bool {
        let c = self.cap;
        match self.l.owner[k as usize] {
            1 | 2 => {
                self.l.remove(k);
                self.l.push_front(2, k);
                true
            }
            3 => {
                let d = (self.l.len[4] / self.l.len[3]).max(1);
                self.p = (self.p + d).min(c);
                self.replace(false);
                self.l.remove(k);
                self.l.push_front(2, k);
                false
            }
            4 => {
                let d = (self.l.len[3] / self.l.len[4]).max(1);
                self.p = self.p.saturating_sub(d);
                self.replace(true);
                self.l.remove(k);
                self.l.push_front(2, k);
                false
            }
            _ => {
                let l1 = self.l.len[1] + self.l.len[3];
                let total = l1 + self.l.len[2] + self.l.len[4];
                if l1 == c {
                    if self.l.len[1] < c {
                        self.l.pop_back(3);
                        self.replace(false);
                    } else {
                        self.l.pop_back(1);
                    }
                } else if total >= c {
                    if total >= 2 * c {
                        self.l.pop_back(4);
                    }
                    self.replace(false);
                }
                self.l.push_front(1, k);
                false
            }
        }
    }
}

/// 4-bit count-min sketch with periodic halving (TinyLFU).
struct Sketch {
    table: Vec<u64>,
    mask: usize,
    size: usize,
    sample: usize,
}
impl Sketch {
    fn new(cap: usize) -> Self {
        let n = (cap.max(16)).next_power_of_two();
        Sketch {
            table: vec![0; n],
            mask: n - 1,
            size: 0,
            sample: 10 * cap.max(16),
        }
    }
    fn h(k: u32, i: u64) -> u64 {
        let mut x = (k as u64).wrapping_add(i.wrapping_mul(0x9E3779B97F4A7C15));
        x ^= x >> 33;
        x = x.wrapping_mul(0xff51afd7ed558ccd);
        x ^= x >> 33;
        x = x.wrapping_mul(0xc4ceb9fe1a85ec53);
        x ^= x >> 33;
        x
    }
    fn freq(&self, k: u32) -> u8 {
        let mut m = 15u8;
        for i in 0..4 {
            let h = Self::h(k, i);
            let idx = (h as usize) & self.mask;
            let sh = ((h >> 40) & 15) * 4;
            m = m.min(((self.table[idx] >> sh) & 15) as u8);
        }
        m
    }
    fn incr(&mut self, k: u32) {
        let mut added = false;
        for i in 0..4 {
            let h = Self::h(k, i);
            let idx = (h as usize) & self.mask;
            let sh = ((h >> 40) & 15) * 4;
            if (self.table[idx] >> sh) & 15 < 15 {
                self.table[idx] += 1 << sh;
                added = true;
            }
        }
        if added {
            self.size += 1;
            if self.size >= self.sample {
                for w in self.table.iter_mut() {
                    *w = (*w >> 1) & 0x7777_7777_7777_7777;
                }
                self.size /= 2;
            }
        }
    }
}

/// W-TinyLFU with optional hill-climbing adaptation of the window.
struct WTinyLfu {
    cap: usize,
    win_cap: usize,
    prot_cap: usize,
    l: Lists, // 1 = window, 2 = probation, 3 = protected
    sketch: Sketch,
    adaptive: bool,
    // climber
    hits: usize,
    reqs: usize,
    prev_rate: f64,
    step: f64,
    rng: u64,
}
impl WTinyLfu {
    fn new(cap: usize, n: usize, win_pct: f64, adaptive: bool) -> Self {
        let win_cap = ((cap as f64 * win_pct) as usize).max(1);
        let main = cap - win_cap;
        WTinyLfu {
            cap,
            win_cap,
            prot_cap: (main as f64 * 0.8) as usize,
            l: Lists::new(n, 3),
            sketch: Sketch::new(cap),
            adaptive,
            hits: 0,
            reqs: 0,
            prev_rate: 0.0,
            step: -(cap as f64) * 0.0625,
            rng: 0x1234567,
        }
    }
    fn climb(&mut self) {
        let period = 10 * self.cap;
        if self.reqs < period {
            return;
        }
        let rate = self.hits as f64 / self.reqs as f64;
        let change = rate - self.prev_rate;
        let amount = if change >= 0.0 { self.step } else { -self.step };
        let next_step = if change.abs() >= 0.05 {
            (self.cap as f64) * 0.0625 * amount.signum()
        } else {
            0.98 * amount
        };
        self.prev_rate = rate;
        self.hits = 0;
        self.reqs = 0;
        self.step = next_step;
        // positive amount grows the window
        let delta = amount as isize;
        let nw = (self.win_cap as isize + delta).clamp(1, self.cap as isize - 1) as usize;
        self.win_cap = nw;
        let main = self.cap - nw;
        self.prot_cap = (main as f64 * 0.8) as usize;
        // shrink window immediately by moving its LRU into probation
        while self.l.len[1] > self.win_cap {
            let t = self.l.pop_back(1).unwrap();
            self.l.push_front(2, t);
        }
        while self.l.len[3] > self.prot_cap {
            let t = self.l.pop_back(3).unwrap();
            self.l.push_front(2, t);
        }
    }
}
impl Policy for WTinyLfu {
    fn name(&self) -> String {
        if self.adaptive {
            "wtinylfu-adaptive".into()
        } else {
            format!("wtinylfu-{}", (self.win_cap * 100).div_ceil(self.cap))
        }
    }
    fn access(&mut self, k: u32) -> bool {
        self.sketch.incr(k);
        self.reqs += 1;
        let o = self.l.owner[k as usize];
        let hit = o != 0;
        match o {
            1 => {
                self.l.remove(k);
                self.l.push_front(1, k);
            }
            2 => {
                self.l.remove(k);
                self.l.push_front(3, k);
                if self.l.len[3] > self.prot_cap {
                    let t = self.l.pop_back(3).unwrap();
                    self.l.push_front(2, t);
                }
            }
            3 => {
                self.l.remove(k);
                self.l.push_front(3, k);
            }
            _ => {
                self.l.push_front(1, k);
                let mut cands: Vec<u32> = Vec::new();
                while self.l.len[1] > self.win_cap {
                    cands.push(self.l.pop_back(1).unwrap());
                }
                for cand in cands {
                    if self.l.len[1] + self.l.len[2] + self.l.len[3] < self.cap {
                        self.l.push_front(2, cand);
                        continue;
                    }
                    let victim = self.l.back(2).or_else(|| self.l.back(3)).unwrap();
                    let fc = self.sketch.freq(cand);
                    let fv = self.sketch.freq(victim);
                    let admit = fc > fv || (fc >= 6 && xorshift(&mut self.rng) & 127 == 0);
                    if admit {
                        self.l.remove(victim);
                        self.l.push_front(2, cand);
                    }
                }
                while self.l.len[1] + self.l.len[2] + self.l.len[3] > self.cap {
                    let victim = self
                        .l
                        .back(2)
                        .or_else(|| self.l.back(3))
                        .or_else(|| self.l.back(1))
                        .unwrap();
                    self.l.remove(victim);
                }
            }
        }
        if hit {
            self.hits += 1;
        }
        if self.adaptive {
            self.climb();
        }
        hit
    }
}

/// Sampled S3-FIFO from its name:
/// ss3:<samples>:<pool>:<small%>:<thresh>:<ghost x cap>[:flags] (see sampled.rs).
fn make_ss3(name: &str, cap: usize, n: usize) -> Box<sampled::Ss3> {
    // ss3:<samples>:<pool>:<small%>:<thresh>:<ghost x cap>[:lru][:adapt]
    let v: Vec<&str> = name[4..].split(':').collect();
    let f = |i: usize| v[i].parse::<f64>().unwrap();
    let mut p = Box::new(sampled::Ss3::new(
        name,
        cap,
        n,
        f(0) as usize,
        f(1) as usize,
        f(2) / 100.0,
        f(3) as u8,
        f(4),
        v.contains(&"lru"),
        v.contains(&"adapt"),
    ));
    // rule flags: lfu = rule 1, b<x> = rule 2 with bonus x * cap
    if v.contains(&"lfu") {
        p.rule = 1;
    }
    if let Some(x) = v.iter().find_map(|x| x.strip_prefix('g')) {
        p.main_ghost = x.parse().unwrap();
    }
    if let Some(x) = v.iter().find_map(|x| x.strip_prefix('f')) {
        p.fmax = x.parse().unwrap();
    }
    if let Some(x) = v.iter().find_map(|x| x.strip_prefix('h')) {
        p.small_ghost = x.parse().unwrap();
    }
    p.halve = v.contains(&"half");
    if v.contains(&"keep") {
        p.rule = 3;
    }
    // adapt step (x 1/cap per ghost hit) and max small share: s<x>, m<x>
    if let Some(x) = v.iter().find_map(|x| x.strip_prefix('s')) {
        p.adapt_step = x.parse().unwrap();
    }
    if let Some(x) = v.iter().find_map(|x| x.strip_prefix('m')) {
        p.adapt_max = x.parse().unwrap();
    }
    if let Some(b) = v.iter().find_map(|x| x.strip_prefix('b')) {
        p.rule = 2;
        p.bonus = (b.parse::<f64>().unwrap() * cap as f64) as u32;
    }
    p
}

fn make(name: &str, cap: usize, n: usize) -> Box<dyn Policy> {
    match name {
        "lru" => Box::new(Lru {
            cap,
            l: Lists::new(n, 1),
        }),
        "sampled-lru" => Box::new(SampledLru {
            cap,
            keys: Vec::new(),
            pos: vec![NIL; n],
            last: vec![0; n],
            t: 0,
            rng: sampled::seed(),
            samples: 5,
            pool: Vec::new(),
        }),
        "sieve" => Box::new(Sieve {
            cap,
            l: Lists::new(n, 1),
            visited: vec![false; n],
            hand: NIL,
        }),
        "s3fifo" => Box::new(S3Fifo {
            cap,
            thresh: 1,
            ghost_cap: cap - (cap / 10).max(1),
            label: "s3fifo".into(),
            small_cap: (cap / 10).max(1),
            l: Lists::new(n, 3),
            freq: vec![0; n],
        }),
        "arc" => Box::new(Arc {
            cap,
            p: 0,
            l: Lists::new(n, 4),
        }),
        "wtinylfu-1" => Box::new(WTinyLfu::new(cap, n, 0.01, false)),
        "wtinylfu-20" => Box::new(WTinyLfu::new(cap, n, 0.95, false)),
        "wtinylfu-adaptive" => Box::new(WTinyLfu::new(cap, n, 0.01, true)),
        _ if name.starts_with("s3:") => {
            let v: Vec<f64> = name[3..].split(':').map(|x| x.parse().unwrap()).collect();
            let small_cap = ((cap as f64 * v[0] / 100.0) as usize).max(1);
            Box::new(S3Fifo {
                cap,
                thresh: v[1] as u8,
                ghost_cap: ((cap as f64 * v[2]) as usize).max(1),
                label: name.to_string(),
                small_cap,
                l: Lists::new(n, 3),
                freq: vec![0; n],
            })
        }
        _ if name.starts_with("ss3:") => make_ss3(name, cap, n),
        _ if name.starts_with("hyper:") => {
            // hyper:<samples>:<pool>:<counter bits>[:<ghost x cap>]
            let v: Vec<f64> = name[6..].split(':').map(|x| x.parse().unwrap()).collect();
            let g = v.get(3).copied().unwrap_or(0.0);
            Box::new(sampled::Hyper::new(
                name,
                cap,
                n,
                v[0] as usize,
                v[1] as usize,
                v[2] as u32,
                g,
            ))
        }
        _ if name.starts_with("plru:") => {
            // plru:<samples>:<pool>:<k>:<a>:<ghost x cap>[:all]
            let v: Vec<&str> = name[5..].split(':').collect();
            let f = |i: usize| v[i].parse::<f64>().unwrap();
            let mut p = Box::new(sampled::Plru::new(
                name,
                cap,
                n,
                f(0) as usize,
                f(1) as usize,
                f(2),
                f(3),
                f(4),
            ));
            p.all_ghost = v.contains(&"all");
            p
        }
        _ if name.starts_with("lru2:") => {
            // lru2:<samples>:<pool>:<k>:<ghost x cap>:<ghost irr x cap>[:q][:max]
            let v: Vec<&str> = name[5..].split(':').collect();
            let f = |i: usize| v[i].parse::<f64>().unwrap();
            let mut p = Box::new(sampled::Lru2::new(
                name,
                cap,
                n,
                f(0) as usize,
                f(1) as usize,
                f(2),
                f(3),
                f(4),
            ));
            p.quant = v.contains(&"q");
            p.max = v.contains(&"max");
            p
        }
        _ if name.starts_with("lhd:") => {
            // lhd:<samples>:<pool>:<age span x cap>:<period x cap>[:<ghost x cap>]
            let v: Vec<f64> = name[4..].split(':').map(|x| x.parse().unwrap()).collect();
            let g = v.get(4).copied().unwrap_or(0.0);
            Box::new(sampled::Lhd::new(
                name,
                cap,
                n,
                v[0] as usize,
                v[1] as usize,
                v[2],
                v[3],
                g,
            ))
        }
        _ => panic!("unknown policy {name}"),
    }
}

fn make_b(name: &str, cap: u64, n: usize) -> Box<dyn BPolicy> {
    if name == "sampled-lru" {
        return Box::new(sampled::BSampledLru::new(cap, n));
    }
    if name.starts_with("ss3:") {
        // the key-count capacity only sizes the ghost before the first eviction
        let p = make_ss3(name, 1, n);
        return Box::new(p.with_bytes(cap));
    }
    if name == "lru" {
        return Box::new(BLru {
            cap,
            used: 0,
            l: Lists::new(n, 1),
            size: vec![0; n],
        });
    }
    if let Some(p) = name.strip_prefix("gdsf:") {
        return Box::new(BGdsf {
            cap,
            used: 0,
            keys: Vec::new(),
            pos: vec![u32::MAX; n],
            freq: vec![0; n],
            prio: vec![0.0; n],
            size: vec![0; n],
            clock: 0.0,
            rng: 88172645463325252,
            pool: Vec::new(),
            samples: 5,
            pow: p.parse().unwrap(),
        });
    }
    if let Some(p) = name.strip_prefix("s3:") {
        let v: Vec<f64> = p.split(':').map(|x| x.parse().unwrap()).collect();
        return Box::new(BS3 {
            cap,
            small_cap: ((cap as f64) * v[0] / 100.0) as u64,
            used_s: 0,
            used_m: 0,
            ghost_cap: ((n as f64) * v[1]) as usize,
            l: Lists::new(n, 3),
            freq: vec![0; n],
            size: vec![0; n],
            label: name.to_string(),
            large_frac: v[2],
            rng: 1,
        });
    }
    panic!("unknown {name}")
}

fn main_bytes(args: &[String]) {
    let policies: Vec<&str> = args[2].split(',').collect();
    let base = policies.iter().position(|&p| p == "sampled-lru");
    let mut gains: Vec<Vec<f64>> = vec![Vec::new(); policies.len()];
    for path in &args[3..] {
        let trace = load_sized(path);
        let n = trace.iter().map(|x| x.0).max().unwrap() as usize + 1;
        let mut sizes = vec![0u64; n];
        for &(k, s) in &trace {
            sizes[k as usize] = s;
        }
        let foot: u64 = sizes.iter().sum();
        for pct in [1.0, 10.0] {
            let cap = ((foot as f64) * pct / 100.0) as u64;
            let mut line = format!("{:<28} {:>4}% cap={:<10}", path.rsplit('/').next().unwrap(), pct, cap);
            let mut mrs = Vec::new();
            for p in &policies {
                let mut pol = make_b(p, cap.max(2), n);
                let mut miss = 0usize;
                for &(k, s) in &trace {
                    if !pol.access(k, s) {
                        miss += 1;
                    }
                }
                let mr = miss as f64 / trace.len() as f64;
                mrs.push(mr);
                line += &format!(" {}={:.4}", pol.name(), mr);
            }
            println!("{line}");
            if let Some(b) = base {
                for (i, mr) in mrs.iter().enumerate() {
                    gains[i].push(100.0 * (1.0 - mr / mrs[b]));
                }
            }
        }
    }
    if base.is_some() {
        println!("\ngain vs sampled-lru (%), cases in the order above");
        for (p, g) in policies.iter().zip(&gains) {
            let cells: Vec<String> = g.iter().map(|x| format!("{x:6.2}")).collect();
            println!("{:<34} {}", p, cells.join(" "));
        }
    }
}

fn main() {
    let a: Vec<String> = std::env::args().collect();
    if a[1] == "bytes" {
        return main_bytes(&a);
    }
    if a[1] == "engine" {
        return engine::main_engine(&a[2..]);
    }
    let policies: Vec<&str> = a[1].split(',').collect();
    let traces: Vec<(String, Vec<u32>)> = a[2..]
        .iter()
        .map(|p| (p.rsplit('/').next().unwrap().to_string(), load(p)))
        .collect();
    // cases: (trace, pct); jobs: (case, policy), run on 2 threads
    let cases: Vec<(usize, f64)> = (0..traces.len()).flat_map(|t| [(t, 1.0), (t, 10.0)]).collect();
    let jobs: Vec<(usize, usize)> = (0..cases.len())
        .flat_map(|c| (0..policies.len()).map(move |p| (c, p)))
        .collect();
    let res: Vec<std::sync::Mutex<(f64, String)>> = jobs.iter().map(|_| Default::default()).collect();
    let next = std::sync::atomic::AtomicUsize::new(0);
    let threads = std::env::var("EVICTSIM_THREADS")
        .ok()
        .and_then(|x| x.parse().ok())
        .unwrap_or(2);
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| loop {
                let j = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if j >= jobs.len() {
                    break;
                }
                let (c, p) = jobs[j];
                let (t, pct) = cases[c];
                let trace = &traces[t].1;
                let n = trace.iter().copied().max().unwrap() as usize + 1;
                let cap = ((n as f64) * pct / 100.0) as usize;
                let mut pol = make(policies[p], cap.max(2), n);
                let miss = trace.iter().filter(|&&k| !pol.access(k)).count();
                *res[j].lock().unwrap() = (miss as f64 / trace.len() as f64, pol.name());
            });
        }
    });
    let mr = |c: usize, p: usize| res[c * policies.len() + p].lock().unwrap().0;
    let names: Vec<String> = (0..policies.len()).map(|p| res[p].lock().unwrap().1.clone()).collect();
    for (c, &(t, pct)) in cases.iter().enumerate() {
        let mut line = format!("{:<26} {:>3}%", traces[t].0, pct);
        for (p, name) in names.iter().enumerate() {
            line += &format!(" {}={:.4}", name, mr(c, p));
        }
        println!("{line}");
    }
    // Relative gain vs sampled-lru (positive = fewer misses), per case.
    if let Some(base) = policies.iter().position(|&p| p == "sampled-lru") {
        println!("\ngain vs sampled-lru (%), cases in the order above; median, worst");
        for (p, name) in names.iter().enumerate() {
            let mut g: Vec<f64> = (0..cases.len())
                .map(|c| 100.0 * (1.0 - mr(c, p) / mr(c, base)))
                .collect();
            let cells: Vec<String> = g.iter().map(|x| format!("{x:6.2}")).collect();
            g.sort_by(|a, b| a.total_cmp(b));
            let m = g.len();
            let med = if m & 1 == 0 {
                (g[m / 2 - 1] + g[m / 2]) / 2.0
            } else {
                g[m / 2]
            };
            println!(
                "{:<34} {} | median {:6.2} worst {:6.2}",
                name,
                cells.join(" "),
                med,
                g[0]
            );
        }
    }
}
