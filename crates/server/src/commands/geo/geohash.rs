//! Redis's geohash math (geohash.c, geohash_helper.c as of 7.2), ported
//! operation for operation so that scores, search boxes and distances
//! are the same doubles Redis computes: 52-bit interleaved hashes over
//! the EPSG:900913 latitude range, the 3x3 neighbour search with Redis's
//! step estimation, and the haversine distance with its earth radius.
//! No I/O, no sorted sets: `geo.rs` drives these.

/// Longitude and latitude limits (EPSG:900913 / EPSG:3785).
pub const LONG_MIN: f64 = -180.0;
pub const LONG_MAX: f64 = 180.0;
pub const LAT_MIN: f64 = -85.05112878;
pub const LAT_MAX: f64 = 85.05112878;
/// Steps (bits per coordinate) of a stored score: 26, so 52 bits.
pub const STEP_MAX: u8 = 26;

const D_R: f64 = std::f64::consts::PI / 180.0;
/// Earth's quadratic mean radius for WGS-84, as Redis has it.
const EARTH_RADIUS_IN_METERS: f64 = 6372797.560856;
const MERCATOR_MAX: f64 = 20037726.37;

fn deg_rad(ang: f64) -> f64 {
    ang * D_R
}

fn rad_deg(ang: f64) -> f64 {
    ang / D_R
}

/// A hash of `step` bits per coordinate (GeoHashBits).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HashBits {
    pub bits: u64,
    pub step: u8,
}

impl HashBits {
    pub const ZERO: HashBits = HashBits { bits: 0, step: 0 };

    /// HASHISZERO: both bits and step zero (a neighbour excluded from
    /// the search).
    pub fn is_zero(&self) -> bool {
        self.bits == 0 && self.step == 0
    }

    /// geohashAlign52Bits: the hash as a 52-bit score prefix.
    pub fn align52(&self) -> u64 {
        self.bits << (52 - u32::from(self.step) * 2)
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Range {
    pub min: f64,
    pub max: f64,
}

#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Area {
    pub longitude: Range,
    pub latitude: Range,
}

const WGS84_LONG: Range = Range {
    min: LONG_MIN,
    max: LONG_MAX,
};
const WGS84_LAT: Range = Range {
    min: LAT_MIN,
    max: LAT_MAX,
};
/// The standard geohash ranges GEOHASH re-encodes with.
pub const STD_LAT: Range = Range { min: -90.0, max: 90.0 };

/// Spreads the low 32 bits of `x` to the even bits and `y` to the odd.
fn interleave64(xlo: u32, ylo: u32) -> u64 {
    const B: [u64; 5] = [
        0x5555555555555555,
        0x3333333333333333,
        0x0F0F0F0F0F0F0F0F,
        0x00FF00FF00FF00FF,
        0x0000FFFF0000FFFF,
    ];
    const S: [u32; 5] = [1, 2, 4, 8, 16];
    let mut x = u64::from(xlo);
    let mut y = u64::from(ylo);
    for i in (0..5).rev() {
        x = (x | (x << S[i])) & B[i];
        y = (y | (y << S[i])) & B[i];
    }
    x | (y << 1)
}

/// The inverse of [`interleave64`]: even bits in the low word, odd bits
/// in the high word.
fn deinterleave64(interleaved: u64) -> u64 {
    const B: [u64; 6] = [
        0x5555555555555555,
        0x3333333333333333,
        0x0F0F0F0F0F0F0F0F,
        0x00FF00FF00FF00FF,
        0x0000FFFF0000FFFF,
        0x00000000FFFFFFFF,
    ];
    const S: [u32; 6] = [0, 1, 2, 4, 8, 16];
    let mut x = interleaved;
    let mut y = interleaved >> 1;
    for i in 0..6 {
        x = (x | (x >> S[i])) & B[i];
        y = (y | (y >> S[i])) & B[i];
    }
    x | (y << 32)
}

/// C's conversion of a non-negative double below 2^32 to `uint32_t`
/// (truncation). Encoding only converts offsets in [0, 2^step].
fn to_u32(d: f64) -> u32 {
    d as u32
}

/// geohashEncode. None for coordinates outside the WGS84 limits or the
/// given ranges.
pub fn encode(long_range: Range, lat_range: Range, longitude: f64, latitude: f64, step: u8) -> Option<HashBits> {
    if step > 32 || step == 0 || (lat_range.min == 0.0 && lat_range.max == 0.0) {
        return None;
    }
    if !(LONG_MIN..=LONG_MAX).contains(&longitude) || !(LAT_MIN..=LAT_MAX).contains(&latitude) {
        return None;
    }
    if latitude < lat_range.min || latitude > lat_range.max || longitude < long_range.min || longitude > long_range.max
    {
        return None;
    }
    let mut lat_offset = (latitude - lat_range.min) / (lat_range.max - lat_range.min);
    let mut long_offset = (longitude - long_range.min) / (long_range.max - long_range.min);
    lat_offset *= (1u64 << step) as f64;
    long_offset *= (1u64 << step) as f64;
    Some(HashBits {
        bits: interleave64(to_u32(lat_offset), to_u32(long_offset)),
        step,
    })
}

/// geohashEncodeWGS84.
pub fn encode_wgs84(longitude: f64, latitude: f64, step: u8) -> Option<HashBits> {
    encode(WGS84_LONG, WGS84_LAT, longitude, latitude, step)
}

/// geohashDecode: the cell `hash` names.
pub fn decode(long_range: Range, lat_range: Range, hash: HashBits) -> Option<Area> {
    if hash.is_zero() {
        return None;
    }
    let step = hash.step;
    let hash_sep = deinterleave64(hash.bits);
    let lat_scale = lat_range.max - lat_range.min;
    let long_scale = long_range.max - long_range.min;
    let ilato = hash_sep as u32;
    let ilono = (hash_sep >> 32) as u32;
    let div = (1u64 << step) as f64;
    // `ilato + 1` is computed in 32 bits in C (it wraps).
    Some(Area {
        latitude: Range {
            min: lat_range.min + (f64::from(ilato) * 1.0 / div) * lat_scale,
            max: lat_range.min + (f64::from(ilato.wrapping_add(1)) * 1.0 / div) * lat_scale,
        },
        longitude: Range {
            min: long_range.min + (f64::from(ilono) * 1.0 / div) * long_scale,
            max: long_range.min + (f64::from(ilono.wrapping_add(1)) * 1.0 / div) * long_scale,
        },
    })
}

/// geohashDecodeAreaToLongLat: the cell's centre, clamped to the limits.
fn area_to_long_lat(area: &Area) -> [f64; 2] {
    let lon = ((area.longitude.min + area.longitude.max) / 2.0).clamp(LONG_MIN, LONG_MAX);
    let lat = ((area.latitude.min + area.latitude.max) / 2.0).clamp(LAT_MIN, LAT_MAX);
    [lon, lat]
}

/// x86-64 C's `(uint64_t)score` (gcc's sequence: cvttsd2si below 2^63,
/// else on `score - 2^63` with the top bit flipped; out of range gives
/// 0x8000000000000000 before the flip).
pub fn score_to_bits(score: f64) -> u64 {
    const TWO63: f64 = 9223372036854775808.0;
    const INDEFINITE: u64 = 0x8000000000000000;
    let cvtt = |d: f64| -> u64 {
        if d.is_nan() || !(-TWO63..TWO63).contains(&d) {
            INDEFINITE
        } else {
            d as i64 as u64
        }
    };
    // NaN compares unordered: the "below 2^63" branch is taken.
    if score.is_nan() || score < TWO63 {
        cvtt(score)
    } else {
        cvtt(score - TWO63) ^ INDEFINITE
    }
}

/// decodeGeohash (geo.c): a score's longitude and latitude.
pub fn decode_score(score: f64) -> Option<[f64; 2]> {
    let hash = HashBits {
        bits: score_to_bits(score),
        step: STEP_MAX,
    };
    decode(WGS84_LONG, WGS84_LAT, hash).map(|a| area_to_long_lat(&a))
}

/// The 52-bit score of a position (GEOADD).
pub fn score_of(longitude: f64, latitude: f64) -> Option<u64> {
    encode_wgs84(longitude, latitude, STEP_MAX).map(|h| h.align52())
}

/// The 11-character standard geohash of a score (GEOHASH).
pub fn geohash_string(score: f64) -> Option<[u8; 11]> {
    const ALPHABET: &[u8; 32] = b"0123456789bcdefghjkmnpqrstuvwxyz";
    let [lon, lat] = decode_score(score)?;
    let long_range = Range {
        min: -180.0,
        max: 180.0,
    };
    // Re-encoding at the clamped centre of a decoded cell always works;
    // zero bits mirror C's zeroed hash if it ever did not.
    let bits = encode(long_range, STD_LAT, lon, lat, 26).map_or(0, |h| h.bits);
    let mut buf = [b'0'; 11];
    for (i, c) in buf.iter_mut().enumerate().take(10) {
        *c = ALPHABET[((bits >> (52 - (i + 1) * 5)) & 0x1f) as usize];
    }
    Some(buf)
}

fn move_x(hash: &mut HashBits, d: i8) {
    if d == 0 {
        return;
    }
    let shift = 64 - u32::from(hash.step) * 2;
    let mut x = hash.bits & 0xaaaaaaaaaaaaaaaa;
    let y = hash.bits & 0x5555555555555555;
    let zz = 0x5555555555555555u64 >> shift;
    if d > 0 {
        x = x.wrapping_add(zz + 1);
    } else {
        x |= zz;
        x = x.wrapping_sub(zz + 1);
    }
    x &= 0xaaaaaaaaaaaaaaaau64 >> shift;
    hash.bits = x | y;
}

fn move_y(hash: &mut HashBits, d: i8) {
    if d == 0 {
        return;
    }
    let shift = 64 - u32::from(hash.step) * 2;
    let x = hash.bits & 0xaaaaaaaaaaaaaaaa;
    let mut y = hash.bits & 0x5555555555555555;
    let zz = 0xaaaaaaaaaaaaaaaau64 >> shift;
    if d > 0 {
        y = y.wrapping_add(zz + 1);
    } else {
        y |= zz;
        y = y.wrapping_sub(zz + 1);
    }
    y &= 0x5555555555555555u64 >> shift;
    hash.bits = x | y;
}

/// The eight cells around one (GeoHashNeighbors).
#[derive(Clone, Copy, Debug)]
pub struct Neighbors {
    pub north: HashBits,
    pub east: HashBits,
    pub west: HashBits,
    pub south: HashBits,
    pub north_east: HashBits,
    pub south_east: HashBits,
    pub north_west: HashBits,
    pub south_west: HashBits,
}

/// geohashNeighbors.
pub fn neighbors(hash: &HashBits) -> Neighbors {
    let at = |dx: i8, dy: i8| {
        let mut h = *hash;
        move_x(&mut h, dx);
        move_y(&mut h, dy);
        h
    };
    Neighbors {
        east: at(1, 0),
        west: at(-1, 0),
        south: at(0, -1),
        north: at(0, 1),
        north_west: at(-1, 1),
        north_east: at(1, 1),
        south_east: at(1, -1),
        south_west: at(-1, -1),
    }
}

/// geohashEstimateStepsByRadius.
pub fn estimate_steps_by_radius(range_meters: f64, lat: f64) -> u8 {
    if range_meters == 0.0 {
        return 26;
    }
    let mut range = range_meters;
    let mut step: i32 = 1;
    while range < MERCATOR_MAX {
        range *= 2.0;
        step += 1;
    }
    step -= 2;
    if !(-66.0..=66.0).contains(&lat) {
        step -= 1;
        if !(-80.0..=80.0).contains(&lat) {
            step -= 1;
        }
    }
    step.clamp(1, 26) as u8
}

/// The search area of GEOSEARCH / GEORADIUS (GeoShape).
#[derive(Clone, Copy, Debug)]
pub struct Shape {
    /// Centre: longitude, latitude.
    pub xy: [f64; 2],
    /// Meters per unit of the radius / width / height.
    pub conversion: f64,
    pub kind: ShapeKind,
}

#[derive(Clone, Copy, Debug)]
pub enum ShapeKind {
    Circle { radius: f64 },
    Box { width: f64, height: f64 },
}

impl Shape {
    /// geohashBoundingBox: min lon, min lat, max lon, max lat.
    fn bounding_box(&self) -> [f64; 4] {
        let (height, width) = match self.kind {
            ShapeKind::Circle { radius } => (self.conversion * radius, self.conversion * radius),
            ShapeKind::Box { width, height } => (self.conversion * height / 2.0, self.conversion * width / 2.0),
        };
        let [longitude, latitude] = self.xy;
        let lat_delta = rad_deg(height / EARTH_RADIUS_IN_METERS);
        let long_delta_top = rad_deg(width / EARTH_RADIUS_IN_METERS / deg_rad(latitude + lat_delta).cos());
        let long_delta_bottom = rad_deg(width / EARTH_RADIUS_IN_METERS / deg_rad(latitude - lat_delta).cos());
        let southern = latitude < 0.0;
        [
            if southern {
                longitude - long_delta_bottom
            } else {
                longitude - long_delta_top
            },
            latitude - lat_delta,
            if southern {
                longitude + long_delta_bottom
            } else {
                longitude + long_delta_top
            },
            latitude + lat_delta,
        ]
    }

    /// geoWithinShape's test: the point's distance from the centre (in
    /// meters) if it is inside.
    pub fn contains(&self, lon: f64, lat: f64) -> Option<f64> {
        let [x1, y1] = self.xy;
        match self.kind {
            ShapeKind::Circle { radius } => {
                let d = distance(x1, y1, lon, lat);
                (d <= radius * self.conversion).then_some(d)
            }
            ShapeKind::Box { width, height } => {
                distance_if_in_rectangle(width * self.conversion, height * self.conversion, x1, y1, lon, lat)
            }
        }
    }
}

/// The centre cell and its neighbours to scan (GeoHashRadius); excluded
/// neighbours are [`HashBits::ZERO`].
#[derive(Clone, Copy, Debug)]
pub struct SearchArea {
    pub hash: HashBits,
    pub neighbors: Neighbors,
}

impl SearchArea {
    /// The nine cells in Redis's scan order (membersOfAllNeighbors).
    pub fn cells(&self) -> [HashBits; 9] {
        let n = &self.neighbors;
        [
            self.hash,
            n.north,
            n.south,
            n.east,
            n.west,
            n.north_east,
            n.north_west,
            n.south_east,
            n.south_west,
        ]
    }
}

/// geohashCalculateAreasByShapeWGS84.
pub fn areas_by_shape(shape: &Shape) -> SearchArea {
    let [min_lon, min_lat, max_lon, max_lat] = shape.bounding_box();
    let [longitude, latitude] = shape.xy;
    let radius_meters = match shape.kind {
        ShapeKind::Circle { radius } => radius,
        ShapeKind::Box { width, height } => ((width / 2.0) * (width / 2.0) + (height / 2.0) * (height / 2.0)).sqrt(),
    } * shape.conversion;

    let mut steps = estimate_steps_by_radius(radius_meters, latitude);
    let cell = |steps: u8| {
        let hash =
            encode(WGS84_LONG, WGS84_LAT, longitude, latitude, steps).unwrap_or(HashBits { bits: 0, step: steps });
        let neighbors = neighbors(&hash);
        let area = decode(WGS84_LONG, WGS84_LAT, hash).unwrap_or_default();
        (hash, neighbors, area)
    };
    let (mut hash, mut neighbors, mut area) = cell(steps);

    // Is the step small enough at the edges of the covered area?
    let dec = |h: HashBits| decode(WGS84_LONG, WGS84_LAT, h).unwrap_or_default();
    let north = dec(neighbors.north);
    let south = dec(neighbors.south);
    let east = dec(neighbors.east);
    let west = dec(neighbors.west);
    let decrease_step = north.latitude.max < max_lat
        || south.latitude.min > min_lat
        || east.longitude.max < max_lon
        || west.longitude.min > min_lon;
    if steps > 1 && decrease_step {
        steps -= 1;
        (hash, neighbors, area) = cell(steps);
    }

    // Exclude the cells that cannot hold results.
    if steps >= 2 {
        let z = HashBits::ZERO;
        if area.latitude.min < min_lat {
            neighbors.south = z;
            neighbors.south_west = z;
            neighbors.south_east = z;
        }
        if area.latitude.max > max_lat {
            neighbors.north = z;
            neighbors.north_east = z;
            neighbors.north_west = z;
        }
        if area.longitude.min < min_lon {
            neighbors.west = z;
            neighbors.south_west = z;
            neighbors.north_west = z;
        }
        if area.longitude.max > max_lon {
            neighbors.east = z;
            neighbors.south_east = z;
            neighbors.north_east = z;
        }
    }
    SearchArea { hash, neighbors }
}

/// The [min, max) score range a cell covers (scoresOfGeoHashBox).
pub fn score_range(hash: HashBits) -> (f64, f64) {
    let min = hash.align52();
    let next = HashBits {
        bits: hash.bits.wrapping_add(1),
        step: hash.step,
    };
    (min as f64, next.align52() as f64)
}

/// geohashGetLatDistance.
fn lat_distance(lat1d: f64, lat2d: f64) -> f64 {
    EARTH_RADIUS_IN_METERS * (deg_rad(lat2d) - deg_rad(lat1d)).abs()
}

/// geohashGetDistance: haversine great-circle distance in meters (with
/// 7.2's shortcut when the longitudes are the same).
pub fn distance(lon1d: f64, lat1d: f64, lon2d: f64, lat2d: f64) -> f64 {
    let lon1r = deg_rad(lon1d);
    let lon2r = deg_rad(lon2d);
    let v = ((lon2r - lon1r) / 2.0).sin();
    if v == 0.0 {
        return lat_distance(lat1d, lat2d);
    }
    let lat1r = deg_rad(lat1d);
    let lat2r = deg_rad(lat2d);
    let u = ((lat2r - lat1r) / 2.0).sin();
    let a = u * u + lat1r.cos() * lat2r.cos() * v * v;
    2.0 * EARTH_RADIUS_IN_METERS * a.sqrt().asin()
}

/// geohashGetDistanceIfInRectangle: the box is `width_m` x `height_m`
/// meters centred on (x1, y1).
fn distance_if_in_rectangle(width_m: f64, height_m: f64, x1: f64, y1: f64, x2: f64, y2: f64) -> Option<f64> {
    if lat_distance(y2, y1) > height_m / 2.0 {
        return None;
    }
    if distance(x2, y2, x1, y2) > width_m / 2.0 {
        return None;
    }
    Some(distance(x1, y1, x2, y2))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interleave_roundtrip() {
        for (x, y) in [(0u32, 0u32), (1, 0), (0, 1), (0x3ffffff, 0x1234567), (u32::MAX, 7)] {
            let d = deinterleave64(interleave64(x, y));
            assert_eq!(d as u32, x);
            assert_eq!((d >> 32) as u32, y);
        }
        assert_eq!(interleave64(1, 0), 1);
        assert_eq!(interleave64(0, 1), 2);
        assert_eq!(interleave64(0b11, 0), 0b101);
    }

    #[test]
    fn scores_match_redis() {
        // GEOADD Sicily 13.361389 38.115556 "Palermo" 15.087269 37.502669
        // "Catania", then ZSCORE (Redis's documentation example).
        assert_eq!(score_of(13.361389, 38.115556), Some(3479099956230698));
        assert_eq!(score_of(15.087269, 37.502669), Some(3479447370796909));
        assert_eq!(score_of(180.1, 0.0), None);
        assert_eq!(score_of(0.0, 85.06), None);
        assert_eq!(score_of(-180.0, LAT_MIN), Some(0));
    }

    #[test]
    fn decode_and_distance_match_redis() {
        let p = decode_score(3479099956230698.0).unwrap();
        let c = decode_score(3479447370796909.0).unwrap();
        // GEOPOS Sicily Palermo: 13.36138933897018433 38.11555639549629859
        assert_eq!(format!("{:.17}", p[0]), "13.36138933897018433");
        assert_eq!(format!("{:.17}", p[1]), "38.11555639549629859");
        // GEODIST Sicily Palermo Catania: "166274.1516"
        assert_eq!(format!("{:.4}", distance(p[0], p[1], c[0], c[1])), "166274.1516");
    }

    #[test]
    fn geohash_strings_match_redis() {
        // GEOHASH Sicily Palermo Catania: sqc8b49rny0 sqdtr74hyu0
        assert_eq!(&geohash_string(3479099956230698.0).unwrap(), b"sqc8b49rny0");
        assert_eq!(&geohash_string(3479447370796909.0).unwrap(), b"sqdtr74hyu0");
    }

    #[test]
    fn weird_scores_convert_as_x86_c_does() {
        assert_eq!(score_to_bits(-1.0), u64::MAX);
        assert_eq!(score_to_bits(f64::INFINITY), 0);
        assert_eq!(score_to_bits(f64::NEG_INFINITY), 0x8000000000000000);
        assert_eq!(score_to_bits(1.9), 1);
        assert_eq!(score_to_bits(1e19), 10000000000000000000);
        assert_eq!(score_to_bits(1e20), 0);
        // Every score decodes to a clamped position.
        for s in [-1.0, 1e300, f64::INFINITY, f64::NEG_INFINITY, 4503599627370496.0] {
            let [lon, lat] = decode_score(s).unwrap();
            assert!((LONG_MIN..=LONG_MAX).contains(&lon) && (LAT_MIN..=LAT_MAX).contains(&lat));
        }
    }

    #[test]
    fn steps_estimate() {
        assert_eq!(estimate_steps_by_radius(0.0, 0.0), 26);
        assert_eq!(estimate_steps_by_radius(1.0, 0.0), 24);
        assert_eq!(estimate_steps_by_radius(1000.0, 0.0), 14);
        assert_eq!(estimate_steps_by_radius(1000.0, 70.0), 13);
        assert_eq!(estimate_steps_by_radius(1000.0, -85.0), 12);
        assert_eq!(estimate_steps_by_radius(1e9, 0.0), 1);
    }

    #[test]
    fn neighbours_surround_the_cell() {
        let h = encode_wgs84(10.0, 10.0, 10).unwrap();
        let n = neighbors(&h);
        let a = decode(WGS84_LONG, WGS84_LAT, h).unwrap();
        let north = decode(WGS84_LONG, WGS84_LAT, n.north).unwrap();
        let east = decode(WGS84_LONG, WGS84_LAT, n.east).unwrap();
        let sw = decode(WGS84_LONG, WGS84_LAT, n.south_west).unwrap();
        assert_eq!(north.latitude.min, a.latitude.max);
        assert_eq!(north.longitude, a.longitude);
        assert_eq!(east.longitude.min, a.longitude.max);
        assert_eq!(sw.latitude.max, a.latitude.min);
        assert_eq!(sw.longitude.max, a.longitude.min);
    }

    #[test]
    fn search_area_covers_the_circle() {
        let shape = Shape {
            xy: [15.0, 37.0],
            conversion: 1000.0,
            kind: ShapeKind::Circle { radius: 200.0 },
        };
        let sa = areas_by_shape(&shape);
        let p = decode_score(3479099956230698.0).unwrap();
        let score = 3479099956230698.0;
        let d = shape.contains(p[0], p[1]).unwrap();
        assert!(d < 200_000.0);
        assert!(sa.cells().iter().filter(|h| !h.is_zero()).any(|h| {
            let (lo, hi) = score_range(*h);
            lo <= score && score < hi
        }));
    }

    #[test]
    fn box_test_uses_both_half_sides() {
        let shape = Shape {
            xy: [0.0, 0.0],
            conversion: 1.0,
            kind: ShapeKind::Box {
                width: 200_000.0,
                height: 20_000.0,
            },
        };
        assert!(shape.contains(0.5, 0.0).is_some());
        assert!(shape.contains(0.0, 0.5).is_none());
        assert!(shape.contains(1.0, 0.0).is_none());
    }
}
