//! Sampled policies that fit the server's keyspace: no per-key lists, no
//! insertion-ordered queue. Per key only a u32 (logical time, here the
//! request counter) and a few spare bits; victims are found by sampling
//! uniformly among resident keys (optionally keeping a Redis-like pool of
//! the best candidates across rounds); the ghost is a direct-mapped array of
//! 32-bit fingerprints.

use crate::{xorshift, Policy, NIL};

/// Dense set of resident ids with O(1) uniform sampling (swap-remove).
pub struct Res {
    pub keys: Vec<u32>,
    pub pos: Vec<u32>,
}
impl Res {
    pub fn new(n: usize) -> Self {
        Res {
            keys: Vec::new(),
            pos: vec![NIL; n],
        }
    }
    pub fn contains(&self, k: u32) -> bool {
        self.pos[k as usize] != NIL
    }
    pub fn insert(&mut self, k: u32) {
        self.pos[k as usize] = self.keys.len() as u32;
        self.keys.push(k);
    }
    pub fn remove(&mut self, k: u32) {
        let i = self.pos[k as usize] as usize;
        let last = *self.keys.last().unwrap();
        self.keys.swap_remove(i);
        if i < self.keys.len() {
            self.pos[last as usize] = i as u32;
        }
        self.pos[k as usize] = NIL;
    }
    pub fn len(&self) -> usize {
        self.keys.len()
    }
    pub fn sample(&self, rng: &mut u64) -> u32 {
        self.keys[(xorshift(rng) % self.keys.len() as u64) as usize]
    }
}

/// RNG seed of the sampled policies (env EVICTSIM_SEED, to check that a
/// result is not a sampling accident).
pub fn seed() -> u64 {
    std::env::var("EVICTSIM_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .map_or(88172645463325252, |s: u64| s.wrapping_mul(0x9E37_79B9_7F4A_7C15))
        | 1
}

fn mix(k: u32) -> u64 {
    let mut x = (k as u64).wrapping_add(0x9E37_79B9_7F4A_7C15);
    x ^= x >> 30;
    x = x.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x ^= x >> 27;
    x = x.wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// Ghost: direct-mapped array of 32-bit fingerprints (0 = empty). A newer
/// ghost overwrites whatever shares its slot; false positives are possible,
/// as in the server. The top bit of a slot can carry a 1-bit tag (which
/// queue the key was evicted from), leaving 31 fingerprint bits.
pub struct Ghost {
    slots: Vec<u32>,
}
impl Ghost {
    pub fn new(n: usize) -> Self {
        Ghost {
            slots: vec![0; n.max(1)],
        }
    }
    fn at(&self, k: u32) -> (usize, u32) {
        let h = mix(k);
        let slot = ((h & 0xffff_ffff) % self.slots.len() as u64) as usize;
        (slot, ((h >> 32) as u32 & 0x7fff_ffff) | 1)
    }
    pub fn insert(&mut self, k: u32, tag: bool) {
        let (s, f) = self.at(k);
        self.slots[s] = f | if tag { 0x8000_0000 } else { 0 };
    }
    /// If the key is in the ghost, remove it and return its tag.
    pub fn take(&mut self, k: u32) -> Option<bool> {
        let (s, f) = self.at(k);
        let v = self.slots[s];
        if v != 0 && v & 0x7fff_ffff == f {
            self.slots[s] = 0;
            return Some(v & 0x8000_0000 != 0);
        }
        None
    }
}

/// Redis-like candidate selection: add the eligible samples to the pool,
/// drop entries no longer eligible, keep the `cap` best (lowest score) and
/// take the best. With `cap == 0` there is no pool: best of this round only.
fn pick<S: PartialOrd + Copy>(
    pool: &mut Vec<u32>,
    samples: &[u32],
    cap: usize,
    ok: impl Fn(u32) -> bool,
    score: impl Fn(u32) -> S,
) -> Option<u32> {
    if cap == 0 {
        pool.clear();
    }
    for &c in samples {
        if ok(c) && !pool.contains(&c) {
            pool.push(c);
        }
    }
    pool.retain(|&c| ok(c));
    if pool.is_empty() {
        return None;
    }
    pool.sort_unstable_by(|&a, &b| score(a).partial_cmp(&score(b)).unwrap());
    let keep = cap.max(1);
    pool.truncate(keep);
    Some(pool.remove(0))
}

/// Sampled S3-FIFO. Per key: `time` (u32: insertion time, reset on
/// promotion/reinsertion; or last-access time with `main_lru`), `freq`
/// (2 bits, saturating at 3), `main` (1 bit). Small queue target `small`
/// (fraction of capacity). Eviction: while the small share >= target, take
/// the oldest sampled small key: freq >= `thresh` -> promote to main (time =
/// now, freq = 0), else evict it into the ghost. Otherwise take the oldest
/// sampled main key: freq > 0 -> freq -= 1, time = now, else evict. A miss
/// found in the ghost goes straight to main. `adapt` grows the small target
/// on hits of ghosts evicted from small and shrinks it on hits of ghosts
/// evicted from main (ARC-like; the ghost then also records main evictions).
pub struct Ss3 {
    pub label: String,
    pub cap: usize,
    pub res: Res,
    pub time: Vec<u32>,
    pub freq: Vec<u8>,
    pub main: Vec<bool>,
    /// units (keys, or bytes in bytes mode) in the small queue
    pub n_small: u64,
    /// units resident; capacity in units; per-key size (bytes mode only)
    pub used: u64,
    pub capu: u64,
    pub size: Vec<u64>,
    pub ghost_mult: f64,
    pub small: f64,
    pub thresh: u8,
    pub samples: usize,
    pub pool_cap: usize,
    pub pool_s: Vec<u32>,
    pub pool_m: Vec<u32>,
    pub ghost: Ghost,
    pub main_lru: bool,
    pub adapt: bool,
    /// Main-queue rule: 0 = oldest time, freq > 0 -> decrement and
    /// reinsert (CLOCK-like); 1 = lowest (freq, time), the sampled main keys
    /// passed over lose 1 freq (aging); 2 = lowest time + freq * bonus, no
    /// reinsertion (recency with a bounded frequency bonus); 3 = oldest time,
    /// freq > 0 -> decrement, keep its time (weaker protection).
    pub rule: u8,
    pub bonus: u32,
    pub adapt_step: f64,
    pub adapt_max: f64,
    /// Nonzero: main evictions also go to the ghost, and a miss found
    /// there as a main ghost re-enters main with this freq.
    pub main_ghost: u8,
    /// saturation of the frequency counter (3 = 2 bits)
    pub fmax: u8,
    /// freq given to a miss found as a small-queue ghost (enters main)
    pub small_ghost: u8,
    /// main reinsertion halves freq instead of decrementing it
    pub halve: bool,
    /// cost accounting: keys sampled, evictions
    pub sampled: u64,
    pub evictions: u64,
    pub t: u32,
    pub rng: u64,
    pub buf: Vec<u32>,
}

impl Ss3 {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        label: &str,
        cap: usize,
        n: usize,
        samples: usize,
        pool_cap: usize,
        small: f64,
        thresh: u8,
        ghost_mult: f64,
        main_lru: bool,
        adapt: bool,
    ) -> Self {
        Ss3 {
            label: label.to_string(),
            cap,
            res: Res::new(n),
            time: vec![0; n],
            freq: vec![0; n],
            main: vec![false; n],
            n_small: 0,
            used: 0,
            capu: cap as u64,
            size: Vec::new(),
            ghost_mult,
            small,
            thresh,
            samples,
            pool_cap,
            pool_s: Vec::new(),
            pool_m: Vec::new(),
            ghost: Ghost::new((cap as f64 * ghost_mult) as usize),
            main_lru,
            adapt,
            rule: 0,
            bonus: 0,
            adapt_step: 1.0,
            adapt_max: 0.9,
            main_ghost: 0,
            fmax: 3,
            small_ghost: 0,
            halve: false,
            sampled: 0,
            evictions: 0,
            t: 0,
            rng: seed(),
            buf: Vec::new(),
        }
    }

    fn sz(&self, k: u32) -> u64 {
        self.size.get(k as usize).copied().unwrap_or(1)
    }

    /// Bytes mode: capacity in bytes; the small-queue target is a share of
    /// the bytes; the ghost gets `ghost_mult` x the number of keys resident
    /// when the cache first fills.
    pub fn with_bytes(mut self, capb: u64) -> Self {
        self.capu = capb;
        self.size = vec![0; self.time.len()];
        self
    }

    /// Hit or insert `k` of `size` units; returns true on a hit.
    pub fn access_sized(&mut self, k: u32, size: u64) -> bool {
        self.t += 1;
        let ku = k as usize;
        if self.res.contains(k) {
            self.freq[ku] = (self.freq[ku] + 1).min(self.fmax);
            if self.main_lru && self.main[ku] {
                self.time[ku] = self.t;
            }
            return true;
        }
        if size > self.capu {
            return false;
        }
        if !self.size.is_empty() {
            self.size[ku] = size;
        }
        while self.used + size > self.capu {
            if self.evictions == 0 && !self.size.is_empty() {
                self.ghost = Ghost::new((self.res.len() as f64 * self.ghost_mult) as usize);
            }
            self.evict();
        }
        self.freq[ku] = 0;
        self.time[ku] = self.t;
        let g = self.ghost.take(k);
        if self.adapt {
            let step = 1.0 / self.cap as f64;
            match g {
                Some(true) => self.small = (self.small + step * self.adapt_step).min(self.adapt_max),
                Some(false) => self.small = (self.small - step * self.adapt_step).max(0.05),
                None => {}
            }
        }
        self.main[ku] = g.is_some();
        match g {
            Some(false) => self.freq[ku] = self.main_ghost,
            Some(true) => self.freq[ku] = self.small_ghost,
            None => {}
        }
        if !self.main[ku] {
            self.n_small += size;
        }
        self.used += size;
        self.res.insert(k);
        false
    }

    fn fill(&mut self) {
        self.sampled += self.samples as u64;
        self.buf.clear();
        for _ in 0..self.samples {
            let c = self.res.sample(&mut self.rng);
            self.buf.push(c);
        }
    }

    fn evict(&mut self) {
        self.evictions += 1;
        loop {
            let target = ((self.capu as f64 * self.small) as u64).max(1);
            if self.n_small >= target || self.n_small == self.used {
                // Small queue: up to 16 rounds to find a small key.
                let mut got = None;
                for _ in 0..16 {
                    self.fill();
                    let (main, time, res) = (&self.main, &self.time, &self.res);
                    got = pick(
                        &mut self.pool_s,
                        &self.buf,
                        self.pool_cap,
                        |c| res.contains(c) && !main[c as usize],
                        |c| time[c as usize],
                    );
                    if got.is_some() {
                        break;
                    }
                }
                if let Some(v) = got {
                    let vu = v as usize;
                    self.n_small -= self.sz(v);
                    if self.freq[vu] >= self.thresh {
                        self.main[vu] = true;
                        self.time[vu] = self.t;
                        self.freq[vu] = 0;
                        continue;
                    }
                    self.res.remove(v);
                    self.used -= self.sz(v);
                    self.ghost.insert(v, true);
                    return;
                }
            }
            self.fill();
            let (main, time, res, freq) = (&self.main, &self.time, &self.res, &self.freq);
            let (rule, bonus) = (self.rule, self.bonus as u64);
            let got = pick(
                &mut self.pool_m,
                &self.buf,
                self.pool_cap,
                |c| res.contains(c) && main[c as usize],
                |c| {
                    let (f, t) = (freq[c as usize] as u64, time[c as usize] as u64);
                    match rule {
                        1 => (f << 32) | t,
                        2 => t + f * bonus,
                        _ => t,
                    }
                },
            );
            let Some(v) = got else { continue };
            let vu = v as usize;
            if self.rule == 1 {
                for &c in &self.buf {
                    if c != v && self.main[c as usize] && self.freq[c as usize] > 0 {
                        self.freq[c as usize] -= 1;
                    }
                }
            } else if self.rule == 0 && self.freq[vu] > 0 {
                self.freq[vu] = if self.halve {
                    self.freq[vu] / 2
                } else {
                    self.freq[vu] - 1
                };
                self.time[vu] = self.t;
                continue;
            } else if self.rule == 3 && self.freq[vu] > 0 {
                self.freq[vu] -= 1;
                continue;
            }
            self.res.remove(v);
            self.used -= self.sz(v);
            if self.adapt || self.main_ghost > 0 {
                self.ghost.insert(v, false);
            }
            return;
        }
    }
}

impl Policy for Ss3 {
    fn name(&self) -> String {
        if std::env::var_os("EVICTSIM_COST").is_some() {
            let per = self.sampled as f64 / self.evictions.max(1) as f64;
            return format!("{}[{per:.0}/ev]", self.label);
        }
        self.label.clone()
    }
    fn access(&mut self, k: u32) -> bool {
        self.access_sized(k, 1)
    }
}

/// Sampled hyperbolic caching (Blankstein et al., ATC'17): priority =
/// hits / (now - insert time), evict the lowest among the samples (and the
/// pool). Per key: u32 insert time + a saturating hit counter of `bits`
/// bits (the count starts at 1 on insertion). `ghost` > 0: a miss found in
/// the ghost starts with a count of 2 (a small frequency hint).
pub struct Hyper {
    pub label: String,
    pub cap: usize,
    pub res: Res,
    pub t0: Vec<u32>,
    pub n: Vec<u32>,
    pub max_n: u32,
    pub samples: usize,
    pub pool_cap: usize,
    pub pool: Vec<u32>,
    pub ghost: Option<Ghost>,
    pub t: u32,
    pub rng: u64,
    pub buf: Vec<u32>,
}

impl Hyper {
    pub fn new(label: &str, cap: usize, n: usize, samples: usize, pool_cap: usize, bits: u32, ghost: f64) -> Self {
        Hyper {
            label: label.to_string(),
            cap,
            res: Res::new(n),
            t0: vec![0; n],
            n: vec![0; n],
            max_n: (1u32 << bits) - 1,
            samples,
            pool_cap,
            pool: Vec::new(),
            ghost: (ghost > 0.0).then(|| Ghost::new((cap as f64 * ghost) as usize)),
            t: 0,
            rng: seed(),
            buf: Vec::new(),
        }
    }
}

impl Policy for Hyper {
    fn name(&self) -> String {
        self.label.clone()
    }
    fn access(&mut self, k: u32) -> bool {
        self.t += 1;
        let ku = k as usize;
        if self.res.contains(k) {
            self.n[ku] = (self.n[ku] + 1).min(self.max_n);
            return true;
        }
        while self.res.len() >= self.cap {
            self.buf.clear();
            for _ in 0..self.samples {
                let c = self.res.sample(&mut self.rng);
                self.buf.push(c);
            }
            let (t0, n, t) = (&self.t0, &self.n, self.t);
            let res = &self.res;
            let v = pick(
                &mut self.pool,
                &self.buf,
                self.pool_cap,
                |c| res.contains(c),
                |c| n[c as usize] as f64 / (t - t0[c as usize]).max(1) as f64,
            )
            .unwrap();
            self.res.remove(v);
            if let Some(g) = self.ghost.as_mut() {
                g.insert(v, false);
            }
        }
        let seen = self.ghost.as_mut().and_then(|g| g.take(k)).is_some();
        self.t0[ku] = self.t;
        self.n[ku] = if seen { 2 } else { 1 };
        self.res.insert(k);
        false
    }
}

/// Sampled LRU with probation ("PLRU"): the score to evict is the idle time
/// (now - last access), multiplied by `k` for a key on probation (inserted on
/// a miss that the ghost did not know, and not hit since), divided by
/// (1 + `a` * freq) otherwise (freq: 2 bits, saturating). Evict the highest
/// score among the samples and the pool. Per key: u32 last-access time,
/// 2-bit freq, 1 probation bit. Keys evicted on probation are recorded in
/// the ghost; a miss found there is inserted off probation.
pub struct Plru {
    pub label: String,
    pub cap: usize,
    pub res: Res,
    pub time: Vec<u32>,
    pub freq: Vec<u8>,
    pub prob: Vec<bool>,
    pub k: f64,
    pub a: f64,
    pub all_ghost: bool,
    pub samples: usize,
    pub pool_cap: usize,
    pub pool: Vec<u32>,
    pub ghost: Ghost,
    pub t: u32,
    pub rng: u64,
    pub buf: Vec<u32>,
}

impl Plru {
    #[allow(clippy::too_many_arguments)]
    pub fn new(label: &str, cap: usize, n: usize, samples: usize, pool_cap: usize, k: f64, a: f64, ghost: f64) -> Self {
        Plru {
            label: label.to_string(),
            cap,
            res: Res::new(n),
            time: vec![0; n],
            freq: vec![0; n],
            prob: vec![false; n],
            k,
            a,
            all_ghost: false,
            samples,
            pool_cap,
            pool: Vec::new(),
            ghost: Ghost::new((cap as f64 * ghost) as usize),
            t: 0,
            rng: seed(),
            buf: Vec::new(),
        }
    }
}

impl Policy for Plru {
    fn name(&self) -> String {
        self.label.clone()
    }
    fn access(&mut self, k: u32) -> bool {
        self.t += 1;
        let ku = k as usize;
        if self.res.contains(k) {
            self.time[ku] = self.t;
            if self.prob[ku] {
                self.prob[ku] = false;
            } else {
                self.freq[ku] = (self.freq[ku] + 1).min(3);
            }
            return true;
        }
        while self.res.len() >= self.cap {
            self.buf.clear();
            for _ in 0..self.samples {
                let c = self.res.sample(&mut self.rng);
                self.buf.push(c);
            }
            let (time, freq, prob, res, t) = (&self.time, &self.freq, &self.prob, &self.res, self.t);
            let (kk, a) = (self.k, self.a);
            let v = pick(
                &mut self.pool,
                &self.buf,
                self.pool_cap,
                |c| res.contains(c),
                |c| {
                    let idle = (t - time[c as usize]) as f64;
                    let s = if prob[c as usize] {
                        idle * kk
                    } else {
                        idle / (1.0 + a * freq[c as usize] as f64)
                    };
                    -s
                },
            )
            .unwrap();
            self.res.remove(v);
            if self.prob[v as usize] || self.all_ghost {
                self.ghost.insert(v, false);
            }
        }
        let seen = self.ghost.take(k).is_some();
        self.time[ku] = self.t;
        self.freq[ku] = 0;
        self.prob[ku] = !seen;
        self.res.insert(k);
        false
    }
}

/// Sampled LRU-2 (backward 2-distance): per key the u32 last-access time
/// and the last inter-reference gap `irr` (exact, or with `quant` a 4-bit
/// log2 code relative to the capacity, 15 = none). Score to evict (highest
/// first) = idle + irr; a key with no known gap (seen once, not in the
/// ghost) scores idle * `k` (k = 0: infinity, i.e. always first). A miss
/// found in the ghost starts with irr = `gi` x capacity. Every eviction is
/// recorded in the ghost.
pub struct Lru2 {
    pub label: String,
    pub cap: usize,
    pub res: Res,
    pub time: Vec<u32>,
    pub irr: Vec<u32>,
    pub k: f64,
    pub gi: f64,
    pub quant: bool,
    pub max: bool,
    pub samples: usize,
    pub pool_cap: usize,
    pub pool: Vec<u32>,
    pub ghost: Ghost,
    pub t: u32,
    pub rng: u64,
    pub buf: Vec<u32>,
}

const NO_IRR: u32 = u32::MAX;

impl Lru2 {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        label: &str,
        cap: usize,
        n: usize,
        samples: usize,
        pool_cap: usize,
        k: f64,
        ghost: f64,
        gi: f64,
    ) -> Self {
        Lru2 {
            label: label.to_string(),
            cap,
            res: Res::new(n),
            time: vec![0; n],
            irr: vec![NO_IRR; n],
            k,
            gi,
            quant: false,
            max: false,
            samples,
            pool_cap,
            pool: Vec::new(),
            ghost: Ghost::new((cap as f64 * ghost) as usize),
            t: 0,
            rng: seed(),
            buf: Vec::new(),
        }
    }
    /// Store a gap: exact, or rounded through a 4-bit log2 code (codes
    /// 0..=14 cover cap/256 .. cap*64).
    fn q(&self, r: u32) -> u32 {
        if !self.quant {
            return r;
        }
        let unit = (self.cap as f64 / 256.0).max(1.0);
        let c = ((r as f64 / unit).max(1.0).log2().floor() as u32).min(14);
        (unit * 2f64.powf(c as f64 + 0.5)) as u32
    }
}

impl Policy for Lru2 {
    fn name(&self) -> String {
        self.label.clone()
    }
    fn access(&mut self, k: u32) -> bool {
        self.t += 1;
        let ku = k as usize;
        if self.res.contains(k) {
            self.irr[ku] = self.q(self.t - self.time[ku]);
            self.time[ku] = self.t;
            return true;
        }
        while self.res.len() >= self.cap {
            self.buf.clear();
            for _ in 0..self.samples {
                let c = self.res.sample(&mut self.rng);
                self.buf.push(c);
            }
            let (time, irr, res, t) = (&self.time, &self.irr, &self.res, self.t);
            let (kk, max) = (self.k, self.max);
            let v = pick(
                &mut self.pool,
                &self.buf,
                self.pool_cap,
                |c| res.contains(c),
                |c| {
                    let idle = (t - time[c as usize]) as f64;
                    let r = irr[c as usize];
                    let s = if r == NO_IRR {
                        if kk == 0.0 {
                            1e18 + idle
                        } else {
                            idle * kk
                        }
                    } else if max {
                        idle.max(r as f64)
                    } else {
                        idle + r as f64
                    };
                    -s
                },
            )
            .unwrap();
            self.res.remove(v);
            self.ghost.insert(v, false);
        }
        let seen = self.ghost.take(k).is_some();
        self.time[ku] = self.t;
        self.irr[ku] = if seen {
            self.q((self.gi * self.cap as f64) as u32)
        } else {
            NO_IRR
        };
        self.res.insert(k);
        false
    }
}

/// Sampled LHD (least hit density, Beckmann et al., NSDI'18), object
/// count version. Per key: u32 last-access time + 2-bit class (number of
/// hits since insertion, saturating at 3; with `ghost` a miss found in the
/// ghost starts in class 1). Global: per class and coarse age, EWMA counts
/// of hits and evictions, from which the hit density of each (class, age)
/// is recomputed every `period` requests; evict the lowest density among
/// `samples` random resident keys (and the pool).
pub struct Lhd {
    pub label: String,
    pub cap: usize,
    pub res: Res,
    pub time: Vec<u32>,
    pub class: Vec<u8>,
    pub hits: Vec<[f64; LHD_AGES]>,
    pub evs: Vec<[f64; LHD_AGES]>,
    pub dens: Vec<[f64; LHD_AGES]>,
    pub coarse: u32,
    pub period: u32,
    pub next: u32,
    pub samples: usize,
    pub pool_cap: usize,
    pub pool: Vec<u32>,
    pub ghost: Option<Ghost>,
    pub t: u32,
    pub rng: u64,
    pub buf: Vec<u32>,
}

pub const LHD_AGES: usize = 1024;

impl Lhd {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        label: &str,
        cap: usize,
        n: usize,
        samples: usize,
        pool_cap: usize,
        span: f64,
        period: f64,
        ghost: f64,
    ) -> Self {
        let mut dens = vec![[0.0; LHD_AGES]; 4];
        // Before any statistics: behave like LRU (density falls with age).
        for d in dens.iter_mut() {
            for (a, x) in d.iter_mut().enumerate() {
                *x = 1.0 / (a + 1) as f64;
            }
        }
        Lhd {
            label: label.to_string(),
            cap,
            res: Res::new(n),
            time: vec![0; n],
            class: vec![0; n],
            hits: vec![[0.0; LHD_AGES]; 4],
            evs: vec![[0.0; LHD_AGES]; 4],
            dens,
            coarse: ((span * cap as f64 / LHD_AGES as f64) as u32).max(1),
            period: ((period * cap as f64) as u32).max(1000),
            next: ((period * cap as f64) as u32).max(1000),
            samples,
            pool_cap,
            pool: Vec::new(),
            ghost: (ghost > 0.0).then(|| Ghost::new((cap as f64 * ghost) as usize)),
            t: 0,
            rng: seed(),
            buf: Vec::new(),
        }
    }
    fn age(&self, k: u32) -> usize {
        (((self.t - self.time[k as usize]) / self.coarse) as usize).min(LHD_AGES - 1)
    }
    fn recompute(&mut self) {
        for c in 0..4 {
            let (mut th, mut te, mut life) = (0.0, 0.0, 0.0);
            for a in (0..LHD_AGES).rev() {
                th += self.hits[c][a];
                te += self.hits[c][a] + self.evs[c][a];
                life += te;
                self.dens[c][a] = if life > 0.0 { th / life } else { 0.0 };
                self.hits[c][a] *= 0.9;
                self.evs[c][a] *= 0.9;
            }
        }
    }
}

impl Policy for Lhd {
    fn name(&self) -> String {
        self.label.clone()
    }
    fn access(&mut self, k: u32) -> bool {
        self.t += 1;
        if self.t >= self.next {
            self.next = self.t + self.period;
            self.recompute();
        }
        let ku = k as usize;
        if self.res.contains(k) {
            let a = self.age(k);
            let c = self.class[ku] as usize;
            self.hits[c][a] += 1.0;
            self.class[ku] = (self.class[ku] + 1).min(3);
            self.time[ku] = self.t;
            return true;
        }
        while self.res.len() >= self.cap {
            self.buf.clear();
            for _ in 0..self.samples {
                let c = self.res.sample(&mut self.rng);
                self.buf.push(c);
            }
            let me = &*self;
            let v = pick(
                &mut self.pool.clone(),
                &self.buf,
                self.pool_cap,
                |c| me.res.contains(c),
                |c| me.dens[me.class[c as usize] as usize][me.age(c)],
            )
            .unwrap();
            let a = self.age(v);
            let c = self.class[v as usize] as usize;
            self.evs[c][a] += 1.0;
            self.res.remove(v);
            if let Some(g) = self.ghost.as_mut() {
                g.insert(v, false);
            }
        }
        let seen = self.ghost.as_mut().and_then(|g| g.take(k)).is_some();
        self.time[ku] = self.t;
        self.class[ku] = seen as u8;
        self.res.insert(k);
        false
    }
}

impl crate::bytes::BPolicy for Ss3 {
    fn name(&self) -> String {
        self.label.clone()
    }
    fn access(&mut self, k: u32, size: u64) -> bool {
        self.access_sized(k, size)
    }
}

/// Redis-style sampled LRU (5 samples, 16-entry pool) with a byte capacity:
/// the bytes-mode baseline.
pub struct BSampledLru {
    pub cap: u64,
    pub used: u64,
    pub res: Res,
    pub time: Vec<u32>,
    pub size: Vec<u64>,
    pub pool: Vec<u32>,
    pub t: u32,
    pub rng: u64,
    pub buf: Vec<u32>,
}

impl BSampledLru {
    pub fn new(cap: u64, n: usize) -> Self {
        BSampledLru {
            cap,
            used: 0,
            res: Res::new(n),
            time: vec![0; n],
            size: vec![0; n],
            pool: Vec::new(),
            t: 0,
            rng: seed(),
            buf: Vec::new(),
        }
    }
}

impl crate::bytes::BPolicy for BSampledLru {
    fn name(&self) -> String {
        "sampled-lru".into()
    }
    fn access(&mut self, k: u32, size: u64) -> bool {
        self.t += 1;
        let ku = k as usize;
        if self.res.contains(k) {
            self.time[ku] = self.t;
            return true;
        }
        if size > self.cap {
            return false;
        }
        while self.used + size > self.cap {
            self.buf.clear();
            for _ in 0..5 {
                let c = self.res.sample(&mut self.rng);
                self.buf.push(c);
            }
            let (res, time) = (&self.res, &self.time);
            let v = pick(&mut self.pool, &self.buf, 16, |c| res.contains(c), |c| time[c as usize]).unwrap();
            self.res.remove(v);
            self.used -= self.size[v as usize];
        }
        self.size[ku] = size;
        self.time[ku] = self.t;
        self.used += size;
        self.res.insert(k);
        false
    }
}
