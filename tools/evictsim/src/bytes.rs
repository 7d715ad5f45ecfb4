//! Byte-capacity policies: each key has a size; capacity is in bytes.

use crate::{xorshift, Lists};

pub trait BPolicy {
    fn name(&self) -> String;
    fn access(&mut self, k: u32, size: u64) -> bool;
}

pub struct BLru {
    pub cap: u64,
    pub used: u64,
    pub l: Lists,
    pub size: Vec<u64>,
}
impl BPolicy for BLru {
    fn name(&self) -> String {
        "lru".into()
    }
    fn access(&mut self, k: u32, size: u64) -> bool {
        if self.l.owner[k as usize] == 1 {
            self.l.remove(k);
            self.l.push_front(1, k);
            return true;
        }
        if size > self.cap {
            return false;
        }
        while self.used + size > self.cap {
            let t = self.l.pop_back(1).unwrap();
            self.used -= self.size[t as usize];
        }
        self.size[k as usize] = size;
        self.used += size;
        self.l.push_front(1, k);
        false
    }
}

/// S3-FIFO in bytes; `admit_c` > 0 enables AdaptSize-style probabilistic
/// admission to the small queue (probability exp(-size/c)), 0 disables.
pub struct BS3 {
    pub cap: u64,
    pub small_cap: u64,
    pub used_s: u64,
    pub used_m: u64,
    pub ghost_cap: usize,
    pub l: Lists,
    pub freq: Vec<u8>,
    pub size: Vec<u64>,
    pub label: String,
    pub large_frac: f64,
    pub rng: u64,
}
impl BS3 {
    fn evict_one(&mut self) {
        loop {
            if self.used_s >= self.small_cap || self.l.len[2] == 0 {
                if let Some(t) = self.l.pop_back(1) {
                    let sz = self.size[t as usize];
                    self.used_s -= sz;
                    if self.freq[t as usize] >= 1 {
                        self.freq[t as usize] = 0;
                        self.l.push_front(2, t);
                        self.used_m += sz;
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
            self.used_m -= self.size[t as usize];
            return;
        }
    }
}
impl BPolicy for BS3 {
    fn name(&self) -> String {
        self.label.clone()
    }
    fn access(&mut self, k: u32, size: u64) -> bool {
        let o = self.l.owner[k as usize];
        if o == 1 || o == 2 {
            self.freq[k as usize] = (self.freq[k as usize] + 1).min(3);
            return true;
        }
        if size > self.cap {
            return false;
        }
        // Size-aware: an object larger than large_frac of the small queue
        // enters only via the ghost (i.e. on its second miss).
        let large = self.large_frac > 0.0 && (size as f64) > self.large_frac * self.small_cap as f64;
        if large && o != 3 {
            self.l.push_front(3, k);
            if self.l.len[3] > self.ghost_cap {
                self.l.pop_back(3);
            }
            return false;
        }
        while self.used_s + self.used_m + size > self.cap {
            self.evict_one();
        }
        self.freq[k as usize] = 0;
        self.size[k as usize] = size;
        if o == 3 {
            self.l.remove(k);
            self.l.push_front(2, k);
            self.used_m += size;
        } else {
            self.l.push_front(1, k);
            self.used_s += size;
        }
        let _ = xorshift(&mut self.rng);
        false
    }
}

/// Sampled GDSF-like: priority = clock + freq / size; evict the lowest
/// among a 16-entry pool fed by 5 random samples (as Redis samples).
pub struct BGdsf {
    pub cap: u64,
    pub used: u64,
    pub keys: Vec<u32>,
    pub pos: Vec<u32>,
    pub freq: Vec<u32>,
    pub prio: Vec<f64>,
    pub size: Vec<u64>,
    pub clock: f64,
    pub rng: u64,
    pub pool: Vec<u32>,
    pub samples: usize,
    pub pow: f64,
}
impl BPolicy for BGdsf {
    fn name(&self) -> String {
        format!("gdsf^{}", self.pow)
    }
    fn access(&mut self, k: u32, size: u64) -> bool {
        let ku = k as usize;
        if self.pos[ku] != u32::MAX {
            self.freq[ku] = self.freq[ku].saturating_add(1);
            self.prio[ku] = self.clock + self.freq[ku] as f64 / (self.size[ku] as f64).powf(self.pow);
            return true;
        }
        if size > self.cap {
            return false;
        }
        while self.used + size > self.cap {
            for _ in 0..self.samples {
                let i = (xorshift(&mut self.rng) % self.keys.len() as u64) as usize;
                let c = self.keys[i];
                if !self.pool.contains(&c) {
                    self.pool.push(c);
                }
            }
            let pos = &self.pos;
            self.pool.retain(|&c| pos[c as usize] != u32::MAX);
            let prio = &self.prio;
            self.pool
                .sort_unstable_by(|a, b| prio[*a as usize].total_cmp(&prio[*b as usize]));
            self.pool.truncate(16);
            let v = self.pool.remove(0);
            self.clock = self.prio[v as usize];
            let i = self.pos[v as usize] as usize;
            let last = *self.keys.last().unwrap();
            self.keys.swap_remove(i);
            if i < self.keys.len() {
                self.pos[last as usize] = i as u32;
            }
            self.pos[v as usize] = u32::MAX;
            self.used -= self.size[v as usize];
        }
        self.pos[ku] = self.keys.len() as u32;
        self.keys.push(k);
        self.size[ku] = size;
        self.freq[ku] = 1;
        self.prio[ku] = self.clock + 1.0 / (size as f64).powf(self.pow);
        self.used += size;
        false
    }
}
