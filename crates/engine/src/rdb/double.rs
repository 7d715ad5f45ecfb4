//! Doubles as Redis 7.0 prints them into RDB blobs: `%.17g` and
//! `d2string` (zset listpack scores).

/// C's `printf("%.17g", v)` for finite `v`.
pub fn fmt_17g(v: f64) -> String {
    if v.is_nan() {
        return "nan".into();
    }
    if v.is_infinite() {
        return if v < 0.0 { "-inf".into() } else { "inf".into() };
    }
    if v == 0.0 {
        return if v.is_sign_negative() { "-0".into() } else { "0".into() };
    }
    let e = format!("{:.16e}", v);
    let (mant, exp) = e.split_once('e').unwrap_or((&e, "0"));
    let x: i32 = exp.parse().unwrap_or(0);
    if !(-4..17).contains(&x) {
        let mant = strip_zeros(mant);
        let sign = if x < 0 { '-' } else { '+' };
        format!("{mant}e{sign}{:02}", x.abs())
    } else {
        let s = format!("{:.*}", (16 - x) as usize, v);
        strip_zeros(&s).to_string()
    }
}

fn strip_zeros(s: &str) -> &str {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.')
    } else {
        s
    }
}

/// Redis 7.0's d2string: integral values within ±2^52 as integers,
/// others with `%.17g`.
pub fn d2string(v: f64) -> String {
    if v.is_finite() && v != 0.0 && v > -4503599627370495.0 && v < 4503599627370496.0 && v == (v as i64) as f64 {
        return (v as i64).to_string();
    }
    fmt_17g(v)
}

/// Redis 7.0's double2ll: an integral score within ±2^62 as an integer
/// (a zset listpack stores those as integers, -0 included).
pub fn double2ll(d: f64) -> Option<i64> {
    let lim = (i64::MAX / 2) as f64;
    if d.is_nan() || d < -lim || d > lim {
        return None;
    }
    let ll = d as i64;
    (ll as f64 == d).then_some(ll)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_printf() {
        assert_eq!(fmt_17g(0.1), "0.10000000000000001");
        assert_eq!(fmt_17g(1.5), "1.5");
        assert_eq!(fmt_17g(1e17), "1e+17");
        assert_eq!(fmt_17g(1e16), "10000000000000000");
        assert_eq!(fmt_17g(1.25e-5), "1.2500000000000001e-05");
        assert_eq!(fmt_17g(0.0001), "0.0001");
        assert_eq!(fmt_17g(-2.5e300), "-2.5000000000000001e+300");
        assert_eq!(fmt_17g(123.456), "123.456");
        assert_eq!(d2string(2.0), "2");
        assert_eq!(d2string(-0.0), "-0");
        assert_eq!(d2string(3.5), "3.5");
        assert_eq!(d2string(f64::INFINITY), "inf");
        assert_eq!(double2ll(6.0891839e17), Some(608918390000000000));
        assert_eq!(double2ll(-0.0), Some(0));
        assert_eq!(double2ll(1.248115824e19), None);
        assert_eq!(double2ll(1.5), None);
        assert_eq!(double2ll(f64::NEG_INFINITY), None);
        for v in [0.1, 1.0 / 3.0, 1e-300, 5e-324, f64::MAX, -7.25] {
            assert_eq!(fmt_17g(v).parse::<f64>().unwrap(), v);
        }
    }
}
