//! Workloads: the real traces in /tmp/traces (formats in
//! /work/shared/traces/README.md, loading as in tools/evictsim `load_sized`)
//! and seeded synthetic ones (Zipf, Zipf plus sequential scans).

use std::collections::HashMap;

/// A request sequence over dense object ids, with each object's key and
/// value size.
#[derive(Debug, Clone)]
pub struct Workload {
    pub name: String,
    /// One dense id per request.
    pub reqs: Vec<u32>,
    /// Key bytes per dense id.
    pub keys: Vec<Vec<u8>>,
    /// Value size in bytes per dense id (after `--size-scale`).
    pub sizes: Vec<u32>,
    /// True when the sizes come from the trace (adaptsize), false when every
    /// value has the fixed `--value-size`.
    pub sized: bool,
}

impl Workload {
    pub fn unique(&self) -> usize {
        self.keys.len()
    }
    /// Sum of the value sizes of the unique objects (payload only, no
    /// per-key overhead; the server-measured footprint includes that).
    pub fn payload_bytes(&self) -> u64 {
        self.sizes.iter().map(|&s| s as u64).sum()
    }
}

/// Assigns dense ids in order of first appearance.
struct Builder {
    ids: HashMap<(u64, u64), u32>,
    w: Workload,
}

impl Builder {
    fn new(name: &str, sized: bool) -> Self {
        Builder {
            ids: HashMap::new(),
            w: Workload {
                name: name.to_string(),
                reqs: Vec::new(),
                keys: Vec::new(),
                sizes: Vec::new(),
                sized,
            },
        }
    }
    /// One request for object `raw` (with `size` bytes; part of the
    /// identity, as the adaptsize README says); `key` makes its key on first
    /// sight.
    fn push(&mut self, raw: (u64, u64), size: u32, key: impl FnOnce() -> String) {
        let next = self.w.keys.len() as u32;
        let id = *self.ids.entry(raw).or_insert(next);
        if id == next {
            self.w.keys.push(key().into_bytes());
            self.w.sizes.push(size);
        }
        self.w.reqs.push(id);
    }
}

/// Big-endian 64-bit keys (scarab), at most `max` requests.
pub fn parse_be64(data: &[u8], max: usize) -> Vec<u64> {
    data.chunks_exact(8)
        .take(max)
        .map(|c| {
            let mut b = [0u8; 8];
            b.copy_from_slice(c);
            u64::from_be_bytes(b)
        })
        .collect()
}

/// Big-endian 32-bit keys (cache2k traces), at most `max` requests.
pub fn parse_be32(data: &[u8], max: usize) -> Vec<u64> {
    data.chunks_exact(4)
        .take(max)
        .map(|c| {
            let mut b = [0u8; 4];
            b.copy_from_slice(c);
            u32::from_be_bytes(b) as u64
        })
        .collect()
}

/// adaptsize text lines `seq object_id size`, at most `max` requests.
/// Blank lines are skipped; anything else malformed is an error.
pub fn parse_adaptsize(text: &str, max: usize) -> Result<Vec<(u64, u64)>, String> {
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        if out.len() >= max {
            break;
        }
        if line.trim().is_empty() {
            continue;
        }
        let f: Vec<&str> = line.split_whitespace().collect();
        let parsed = match f.as_slice() {
            [_seq, id, size] => id.parse::<u64>().ok().zip(size.parse::<u64>().ok()),
            _ => None,
        };
        match parsed {
            Some(p) => out.push(p),
            None => return Err(format!("line {}: expected `seq object_id size`, got {line:?}", n + 1)),
        }
    }
    Ok(out)
}

/// Short name of a trace file: `cache2k-orm-busy.trace` -> `orm-busy`.
pub fn short_name(path: &str) -> String {
    let file = path.rsplit('/').next().unwrap_or(path);
    let stem = file.strip_suffix(".trace").unwrap_or(file);
    let stem = stem.strip_prefix("cache2k-").unwrap_or(stem);
    match stem {
        "scarab-recs" => "scarab".into(),
        "adaptsize-request" => "adaptsize".into(),
        s => s.to_string(),
    }
}

/// Loads a trace file; the format is chosen by the file name as in evictsim
/// (`adaptsize` text with sizes, `scarab` 64-bit keys, otherwise 32-bit keys).
/// Values get `value_size` bytes, or for adaptsize the object's size divided
/// by `size_scale` (at least 1 byte).
pub fn load(path: &str, max: usize, value_size: u32, size_scale: u64) -> Result<Workload, String> {
    let data = std::fs::read(path).map_err(|e| format!("{path}: {e}"))?;
    let name = short_name(path);
    let file = path.rsplit('/').next().unwrap_or(path);
    if file.contains("adaptsize") {
        let text = std::str::from_utf8(&data).map_err(|e| format!("{path}: {e}"))?;
        let reqs = parse_adaptsize(text, max).map_err(|e| format!("{path}: {e}"))?;
        Ok(from_sized(&name, &reqs, size_scale))
    } else if file.contains("scarab") {
        let mut b = Builder::new(&name, false);
        for k in parse_be64(&data, max) {
            b.push((k, 0), value_size, || format!("s:{}", k as i64));
        }
        Ok(b.w)
    } else {
        let mut b = Builder::new(&name, false);
        for k in parse_be32(&data, max) {
            b.push((k, 0), value_size, || format!("k:{k}"));
        }
        Ok(b.w)
    }
}

/// Builds a sized workload; (object_id, size) is the object's identity.
pub fn from_sized(name: &str, reqs: &[(u64, u64)], size_scale: u64) -> Workload {
    let scale = size_scale.max(1);
    let mut b = Builder::new(name, true);
    for &(id, size) in reqs {
        let v = (size / scale).clamp(1, u32::MAX as u64) as u32;
        b.push((id, size), v, || format!("a:{id}:{size}"));
    }
    b.w
}

/// splitmix64: small, seeded, good enough for workload generation.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in [0, 1).
    pub fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// Zipf(alpha) sampler over ranks 0..n (rank 0 most popular), by inverse
/// CDF with binary search.
pub struct Zipf {
    cdf: Vec<f64>,
}

impl Zipf {
    pub fn new(n: usize, alpha: f64) -> Self {
        let mut cdf = Vec::with_capacity(n);
        let mut sum = 0.0;
        for i in 0..n {
            sum += 1.0 / ((i + 1) as f64).powf(alpha);
            cdf.push(sum);
        }
        for c in &mut cdf {
            *c /= sum;
        }
        Zipf { cdf }
    }
    pub fn sample(&self, rng: &mut Rng) -> usize {
        let u = rng.next_f64();
        self.cdf
            .partition_point(|&c| c <= u)
            .min(self.cdf.len().saturating_sub(1))
    }
}

/// Parameters of the synthetic workloads.
#[derive(Debug, Clone)]
pub struct SynParams {
    pub requests: usize,
    pub keys: usize,
    pub seed: u64,
    pub value_size: u32,
    /// Fraction of the `scan` workload's requests that are scan requests.
    pub scan_fraction: f64,
    /// Length of one sequential scan.
    pub scan_len: usize,
}

/// `zipf<alpha>` (e.g. `zipf0.8`) or `scan` (Zipf 1.0 with periodic scans:
/// every period of `scan_len / scan_fraction` requests ends with a scan of
/// `scan_len` sequential keys that are never requested again).
pub fn synthetic(spec: &str, p: &SynParams) -> Result<Workload, String> {
    let (alpha, scan) = if spec == "scan" {
        (1.0, true)
    } else if let Some(a) = spec.strip_prefix("zipf") {
        let a: f64 = a.parse().map_err(|_| format!("bad synthetic workload {spec:?}"))?;
        (a, false)
    } else {
        return Err(format!("unknown synthetic workload {spec:?} (zipf<alpha> or scan)"));
    };
    if p.keys == 0 {
        return Err("--syn-keys must be > 0".into());
    }
    let zipf = Zipf::new(p.keys, alpha);
    let mut rng = Rng::new(p.seed ^ alpha.to_bits());
    let mut b = Builder::new(spec, false);
    let period = if scan && p.scan_fraction > 0.0 {
        ((p.scan_len as f64 / p.scan_fraction).round() as usize).max(p.scan_len + 1)
    } else {
        usize::MAX
    };
    let zipf_per_period = period.saturating_sub(p.scan_len);
    let mut next_scan_key: u64 = 0;
    let mut i = 0;
    while i < p.requests {
        let in_period = i % period;
        if in_period >= zipf_per_period {
            let k = next_scan_key;
            next_scan_key += 1;
            // Scan keys live in their own id space (tag 1).
            b.push((k, 1), p.value_size, || format!("scan:{k}"));
        } else {
            let r = zipf.sample(&mut rng) as u64;
            b.push((r, 0), p.value_size, || format!("z:{r}"));
        }
        i += 1;
    }
    Ok(b.w)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn be64_and_be32() {
        let mut d = Vec::new();
        d.extend_from_slice(&(-2i64).to_be_bytes());
        d.extend_from_slice(&7u64.to_be_bytes());
        d.push(1); // trailing partial record ignored
        assert_eq!(parse_be64(&d, usize::MAX), vec![(-2i64) as u64, 7]);
        assert_eq!(parse_be64(&d, 1), vec![(-2i64) as u64]);
        let d = [0, 0, 1, 0, 0xff, 0xff, 0xff, 0xff, 9];
        assert_eq!(parse_be32(&d, usize::MAX), vec![256, 0xffff_ffff]);
    }

    #[test]
    fn adaptsize_lines() {
        let t = "1 0 68\n2 1 7454\n\n3 0 68\n";
        assert_eq!(parse_adaptsize(t, usize::MAX), Ok(vec![(0, 68), (1, 7454), (0, 68)]));
        assert_eq!(parse_adaptsize(t, 2), Ok(vec![(0, 68), (1, 7454)]));
        assert!(parse_adaptsize("1 2\n", usize::MAX).is_err());
        assert!(parse_adaptsize("1 x 3\n", usize::MAX).is_err());
    }

    #[test]
    fn sized_identity_and_scale() {
        // Same id with another size is another object (README).
        let w = from_sized("a", &[(5, 100), (5, 100), (5, 300), (6, 7)], 10);
        assert_eq!(w.reqs, vec![0, 0, 1, 2]);
        assert_eq!(
            w.keys,
            vec![b"a:5:100".to_vec(), b"a:5:300".to_vec(), b"a:6:7".to_vec()]
        );
        assert_eq!(w.sizes, vec![10, 30, 1]); // at least 1 byte
        assert!(w.sized);
        assert_eq!(w.payload_bytes(), 41);
    }

    #[test]
    fn load_files() {
        let dir = std::env::temp_dir().join(format!("hitratio-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).ok();
        let p32 = dir.join("cache2k-x.trace");
        std::fs::write(&p32, [0, 0, 0, 3, 0, 0, 0, 4, 0, 0, 0, 3]).ok();
        let w = load(p32.to_str().unwrap_or(""), usize::MAX, 200, 1);
        let w = w.as_ref().map_err(|e| e.clone());
        assert_eq!(
            w.map(|w| (w.name.clone(), w.reqs.clone(), w.keys.clone(), w.sizes.clone())),
            Ok((
                "x".to_string(),
                vec![0, 1, 0],
                vec![b"k:3".to_vec(), b"k:4".to_vec()],
                vec![200, 200]
            ))
        );
        let p64 = dir.join("scarab-recs.trace");
        let mut d = (-1i64).to_be_bytes().to_vec();
        d.extend_from_slice(&(-1i64).to_be_bytes());
        std::fs::write(&p64, d).ok();
        let w = load(p64.to_str().unwrap_or(""), usize::MAX, 50, 1).map_err(|e| e.clone());
        assert_eq!(
            w.map(|w| (w.name, w.reqs, w.keys)),
            Ok(("scarab".to_string(), vec![0, 0], vec![b"s:-1".to_vec()]))
        );
        let pa = dir.join("adaptsize-request.trace");
        std::fs::write(&pa, "1 9 1000\n2 9 1000\n3 8 10\n").ok();
        let w = load(pa.to_str().unwrap_or(""), 2, 50, 100).map_err(|e| e.clone());
        assert_eq!(w.map(|w| (w.reqs, w.sizes)), Ok((vec![0, 0], vec![10])));
        assert!(load(dir.join("missing.trace").to_str().unwrap_or(""), 1, 1, 1).is_err());
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn names() {
        assert_eq!(short_name("/tmp/traces/cache2k-orm-busy.trace"), "orm-busy");
        assert_eq!(short_name("/tmp/traces/scarab-recs.trace"), "scarab");
        assert_eq!(short_name("adaptsize-request.trace"), "adaptsize");
    }

    fn params() -> SynParams {
        SynParams {
            requests: 100_000,
            keys: 1000,
            seed: 7,
            value_size: 100,
            scan_fraction: 0.2,
            scan_len: 100,
        }
    }

    #[test]
    fn zipf_is_seeded_and_skewed() {
        let a = synthetic("zipf1.0", &params()).map_err(|e| e.clone());
        let b = synthetic("zipf1.0", &params()).map_err(|e| e.clone());
        let (a, b) = (a.ok().map(|w| w.reqs), b.ok().map(|w| w.reqs));
        assert!(a.is_some());
        assert_eq!(a, b);
        let w = synthetic("zipf1.2", &params()).ok();
        let w = w.as_ref();
        // Rank 0 under Zipf 1.2 over 1000 keys has probability ~0.2.
        let top = w.map(|w| w.reqs.iter().filter(|&&r| w.keys[r as usize] == b"z:0").count());
        assert!(top.is_some_and(|t| (15_000..25_000).contains(&t)), "{top:?}");
        let flat = synthetic("zipf0.8", &params()).ok().map(|w| w.unique());
        let steep = w.map(|w| w.unique());
        assert!(flat >= steep);
        assert!(synthetic("zipfx", &params()).is_err());
        assert!(synthetic("uniform", &params()).is_err());
    }

    #[test]
    fn scan_workload_shape() {
        let w = synthetic("scan", &params()).ok();
        let w = w.as_ref();
        let scans = w.map(|w| {
            w.reqs
                .iter()
                .filter(|&&r| w.keys[r as usize].starts_with(b"scan:"))
                .count()
        });
        assert_eq!(scans, Some(20_000));
        // Scan keys are never reused: each appears once.
        let uniq_scan = w.map(|w| w.keys.iter().filter(|k| k.starts_with(b"scan:")).count());
        assert_eq!(uniq_scan, Some(20_000));
        // Period 500: requests 400..500 are the first scan, sequential.
        let k = w.map(|w| {
            (
                w.keys[w.reqs[400] as usize].clone(),
                w.keys[w.reqs[401] as usize].clone(),
            )
        });
        assert_eq!(k, Some((b"scan:0".to_vec(), b"scan:1".to_vec())));
    }

    #[test]
    fn zipf_sampler_bounds() {
        let z = Zipf::new(3, 1.0);
        let mut r = Rng::new(1);
        for _ in 0..1000 {
            assert!(z.sample(&mut r) < 3);
        }
    }
}
