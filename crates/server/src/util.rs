//! Argument parsing with Redis's exact error strings.

use larder_engine::canonical_i64;

pub const ERR_SYNTAX: &str = "syntax error";
pub const ERR_NOT_INT: &str = "value is not an integer or out of range";
pub const ERR_NOT_FLOAT: &str = "value is not a valid float";
pub const ERR_WRONGTYPE: &str = "-WRONGTYPE Operation against a key holding the wrong kind of value";
pub const ERR_NO_KEY: &str = "no such key";
pub const ERR_OVERFLOW: &str = "increment or decrement would overflow";
pub const ERR_DB_INDEX: &str = "DB index is out of range";

/// Redis's string2ll: the whole argument must be an integer (leading
/// zeros refused, no spaces, no '+').
pub fn parse_i64(arg: &[u8]) -> Option<i64> {
    canonical_i64(arg)
}

/// Parses an integer or yields Redis's "not an integer" error message.
pub fn int_arg(arg: &[u8]) -> Result<i64, &'static str> {
    parse_i64(arg).ok_or(ERR_NOT_INT)
}

/// Redis's string2ld/strtod checks for float arguments: no spaces, not
/// empty, `inf`/`-inf` allowed, NaN refused.
pub fn parse_f64(arg: &[u8]) -> Option<f64> {
    let s = std::str::from_utf8(arg).ok()?;
    if s.is_empty() || s.len() > 5120 || s.starts_with(char::is_whitespace) || s.ends_with(char::is_whitespace) {
        return None;
    }
    let v: f64 = match s.to_ascii_lowercase().as_str() {
        "inf" | "+inf" | "infinity" | "+infinity" => f64::INFINITY,
        "-inf" | "-infinity" => f64::NEG_INFINITY,
        _ => s.parse().ok()?,
    };
    if v.is_nan() {
        return None;
    }
    Some(v)
}

/// The arguments of LMPOP/BLMPOP/ZMPOP/BZMPOP from `numkeys_idx` on:
/// `numkeys key... <where> [COUNT count]`, where `<where>` is one of the
/// two `words` (LEFT|RIGHT, MIN|MAX). Returns the keys, whether `<where>`
/// is the second word, and the count (default 1), with Redis's errors in
/// its order (mpopGenericCommand: numkeys, where, COUNT).
pub fn parse_mpop<'a>(
    args: &[&'a [u8]],
    numkeys_idx: usize,
    words: [&str; 2],
) -> Result<(Vec<&'a [u8]>, bool, usize), &'static str> {
    let numkeys = match parse_i64(args[numkeys_idx]) {
        Some(n) if n >= 1 => usize::try_from(n).unwrap_or(usize::MAX),
        _ => return Err("numkeys should be greater than 0"),
    };
    let where_idx = numkeys_idx.saturating_add(numkeys).saturating_add(1);
    if where_idx >= args.len() {
        return Err(ERR_SYNTAX);
    }
    let second = if is(args[where_idx], words[0]) {
        false
    } else if is(args[where_idx], words[1]) {
        true
    } else {
        return Err(ERR_SYNTAX);
    };
    let mut count: Option<usize> = None;
    let mut j = where_idx + 1;
    while j < args.len() {
        if count.is_none() && is(args[j], "count") && j + 1 < args.len() {
            j += 1;
            match parse_i64(args[j]) {
                Some(n) if n >= 1 => count = Some(usize::try_from(n).unwrap_or(usize::MAX)),
                _ => return Err("count should be greater than 0"),
            }
        } else {
            return Err(ERR_SYNTAX);
        }
        j += 1;
    }
    Ok((args[numkeys_idx + 1..where_idx].to_vec(), second, count.unwrap_or(1)))
}

/// Case-insensitive comparison of an argument with an ASCII keyword.
#[inline]
pub fn is(arg: &[u8], keyword: &str) -> bool {
    arg.eq_ignore_ascii_case(keyword.as_bytes())
}

/// C's `atoll` / `strtol(s, NULL, 10)`: leading white space, a sign, then
/// digits; 0 without digits; saturating where C would overflow (the AOF
/// and its manifest are parsed with these in Redis).
pub fn c_atoll(s: &[u8]) -> i64 {
    let mut i = 0;
    while i < s.len() && matches!(s[i], b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r') {
        i += 1;
    }
    let neg = match s.get(i) {
        Some(b'-') => {
            i += 1;
            true
        }
        Some(b'+') => {
            i += 1;
            false
        }
        _ => false,
    };
    let mut v: i64 = 0;
    while let Some(d) = s.get(i).filter(|c| c.is_ascii_digit()) {
        let d = i64::from(d - b'0');
        v = if neg {
            v.saturating_mul(10).saturating_sub(d)
        } else {
            v.saturating_mul(10).saturating_add(d)
        };
        i += 1;
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ints_follow_string2ll() {
        assert_eq!(parse_i64(b"10"), Some(10));
        assert_eq!(parse_i64(b"-10"), Some(-10));
        assert_eq!(parse_i64(b"010"), None);
        assert_eq!(parse_i64(b" 1"), None);
        assert_eq!(parse_i64(b"+1"), None);
        assert_eq!(parse_i64(b"9223372036854775808"), None);
    }

    #[test]
    fn floats() {
        assert_eq!(parse_f64(b"1.5"), Some(1.5));
        assert_eq!(parse_f64(b"-inf"), Some(f64::NEG_INFINITY));
        assert_eq!(parse_f64(b"nan"), None);
        assert_eq!(parse_f64(b" 1"), None);
        assert_eq!(parse_f64(b""), None);
    }
}
