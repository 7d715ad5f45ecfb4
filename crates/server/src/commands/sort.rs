//! SORT and SORT_RO (Redis's sort.c): sorting the elements of a list, set
//! or sorted set numerically or lexicographically, by the element itself
//! or by an external key (`BY weight_*`, `BY obj_*->field`), returning
//! them or other keys' values (`GET #`, `GET data_*`, `GET obj_*->field`),
//! with LIMIT, ASC|DESC, ALPHA and (SORT only) STORE into a list.
//!
//! BY and GET read keys named by the data, and STORE's destination can
//! be anywhere in the arguments, so both commands lock every shard.

use std::cmp::Ordering;

use larder_engine::types::List;
use larder_engine::value::itoa_buf;
use larder_engine::{Limits, Value, ValueType};

use super::{acl, flags::*, BeginSearch, CommandSpec, FindKeys, KeySpec};
use crate::dispatch::Ctx;
use crate::util::{is, parse_i64, ERR_NOT_INT, ERR_SYNTAX, ERR_WRONGTYPE};

const NOTES_BY_GET: &str =
    "For the optional BY/GET keyword. It is marked 'unknown' because the key names derive from the content of the key we sort";
const NOTES_STORE: &str =
    "For the optional STORE keyword. It is marked 'unknown' because the keyword can appear anywhere in the argument array";

const KEYS_SORT: &[KeySpec] = &[
    KeySpec::single(1, &["RO", "ACCESS"]),
    KeySpec {
        begin: BeginSearch::Unknown { notes: NOTES_BY_GET },
        find: FindKeys::Unknown,
        flags: &["RO", "ACCESS"],
    },
    KeySpec {
        begin: BeginSearch::Unknown { notes: NOTES_STORE },
        find: FindKeys::Proc(store_position),
        flags: &["OW", "UPDATE"],
    },
];
const KEYS_SORT_RO: &[KeySpec] = &[
    KeySpec::single(1, &["RO", "ACCESS"]),
    KeySpec {
        begin: BeginSearch::Unknown { notes: NOTES_BY_GET },
        find: FindKeys::Unknown,
        flags: &["RO", "ACCESS"],
    },
];

/// Where SORT's STORE destination is (Redis's sortGetKeys): the last
/// STORE with an argument, skipping LIMIT's, GET's and BY's arguments.
pub fn store_position(args: &[&[u8]]) -> Option<usize> {
    let mut found = None;
    let mut i = 2;
    while i < args.len() {
        let a = args[i];
        if is(a, "limit") {
            i += 2;
        } else if is(a, "get") || is(a, "by") {
            i += 1;
        } else if is(a, "store") && i + 1 < args.len() {
            found = Some(i + 1);
        }
        i += 1;
    }
    found
}

const SORT_COMPLEXITY: &str = "O(N+M*log(M)) where N is the number of elements in the list or set to sort, and M the number of returned elements. When the elements are not sorted, complexity is O(N).";
const SORT_ACL: u64 = acl::SET | acl::SORTEDSET | acl::LIST | acl::SLOW | acl::DANGEROUS;

pub static COMMANDS: &[CommandSpec] = &[
    CommandSpec::new("sort", -2, WRITE | DENYOOM | ALL_SHARDS, acl::WRITE | SORT_ACL, sort)
        .keys(KEYS_SORT)
        .doc(
            "generic",
            "1.0.0",
            "Sorts the elements in a list, a set, or a sorted set, optionally storing the result.",
            SORT_COMPLEXITY,
        ),
    CommandSpec::new("sort_ro", -2, READONLY | ALL_SHARDS, acl::READ | SORT_ACL, sort_ro)
        .keys(KEYS_SORT_RO)
        .doc(
            "generic",
            "7.0.0",
            "Returns the sorted elements of a list, a set, or a sorted set.",
            SORT_COMPLEXITY,
        ),
];

const ERR_NOT_DOUBLE: &str = "One or more scores can't be converted into double";

/// The elements SORT works on, in the key's native order (list order,
/// sorted set by rank, a set in its iteration order); `None` for a type
/// SORT refuses (WRONGTYPE).
fn sort_elements(value: &Value) -> Option<Vec<Vec<u8>>> {
    match value {
        Value::List(l) => Some(l.iter().map(<[u8]>::to_vec).collect()),
        Value::Set(s) => Some(s.iter().map(|m| m.to_vec()).collect()),
        Value::ZSet(z) => Some(z.to_vec().into_iter().map(|(m, _)| m).collect()),
        Value::Int(_) | Value::Str(_) | Value::Raw(_) | Value::Hash(_) => None,
    }
}

/// The list STORE writes (listpack or quicklist per
/// `list-max-listpack-size`, as Redis builds it).
fn list_value(items: Vec<Vec<u8>>, limits: &Limits) -> Option<Value> {
    Some(Value::List(Box::new(List::from_items(
        &items,
        limits.list_max_listpack_size,
    ))))
}

/// Parsed SORT options.
#[derive(Debug, Default)]
struct Options<'a> {
    desc: bool,
    alpha: bool,
    limit_start: i64,
    limit_count: i64,
    by: Option<&'a [u8]>,
    /// BY a pattern without '*': keep the native order.
    dontsort: bool,
    gets: Vec<&'a [u8]>,
    store: Option<&'a [u8]>,
}

/// Redis's option loop: the first error wins. Without `full_key_access`
/// (a selector allowing the command that may read every key), BY with a
/// pattern and GET are refused: their keys are not in the key specs, so
/// the ACL check never saw them.
fn parse_options<'a>(args: &[&'a [u8]], readonly: bool, full_key_access: bool) -> Result<Options<'a>, &'static str> {
    let mut o = Options {
        limit_count: -1,
        ..Options::default()
    };
    let mut j = 2;
    while j < args.len() {
        let left = args.len() - j - 1;
        let a = args[j];
        if is(a, "asc") {
            o.desc = false;
        } else if is(a, "desc") {
            o.desc = true;
        } else if is(a, "alpha") {
            o.alpha = true;
        } else if is(a, "limit") && left >= 2 {
            o.limit_start = parse_i64(args[j + 1]).ok_or(ERR_NOT_INT)?;
            o.limit_count = parse_i64(args[j + 2]).ok_or(ERR_NOT_INT)?;
            j += 2;
        } else if !readonly && is(a, "store") && left >= 1 {
            o.store = Some(args[j + 1]);
            j += 1;
        } else if is(a, "by") && left >= 1 {
            o.by = Some(args[j + 1]);
            o.dontsort = !args[j + 1].contains(&b'*');
            if !o.dontsort && !full_key_access {
                return Err("BY option of SORT denied due to insufficient ACL permissions.");
            }
            j += 1;
        } else if is(a, "get") && left >= 1 {
            if !full_key_access {
                return Err("GET option of SORT denied due to insufficient ACL permissions.");
            }
            o.gets.push(args[j + 1]);
            j += 1;
        } else {
            return Err(ERR_SYNTAX);
        }
        j += 1;
    }
    Ok(o)
}

/// Where a BY/GET pattern points for one element: the key with the first
/// '*' replaced by the element, and the hash field after a `->` that
/// follows the '*' (when something follows it). `None` when the pattern
/// has no '*' (Redis's lookupKeyByPattern; "#" is handled by the caller).
fn expand_pattern(pattern: &[u8], subst: &[u8]) -> Option<(Vec<u8>, Option<Vec<u8>>)> {
    let star = pattern.iter().position(|&c| c == b'*')?;
    let after = &pattern[star + 1..];
    let arrow = after.windows(2).position(|w| w == b"->");
    let (post, field) = match arrow {
        Some(a) if a + 2 < after.len() => (&after[..a], Some(after[a + 2..].to_vec())),
        _ => (after, None),
    };
    let mut key = Vec::with_capacity(star + subst.len() + post.len());
    key.extend_from_slice(&pattern[..star]);
    key.extend_from_slice(subst);
    key.extend_from_slice(post);
    Some((key, field))
}

/// Redis's lookupKeyByPattern: `#` is the element itself; otherwise the
/// string at the expanded key, or the field of the hash there. Anything
/// else (missing, other types) is `None`.
fn lookup_by_pattern(ctx: &mut Ctx<'_>, pattern: &[u8], subst: &[u8]) -> Option<Vec<u8>> {
    if pattern == b"#" {
        return Some(subst.to_vec());
    }
    let (key, field) = expand_pattern(pattern, subst)?;
    let now = ctx.now;
    let touch = !ctx.client.no_touch;
    let e = ctx.db(&key).lookup_read(&key, now, touch)?;
    match (e.value(), field) {
        (Value::Hash(h), Some(f)) => h.get(&f).map(<[u8]>::to_vec),
        (v, None) => {
            let mut scratch = itoa_buf::Buf::default();
            v.as_bytes(&mut scratch).map(<[u8]>::to_vec)
        }
        _ => None,
    }
}

/// C's `strtod` as SORT uses it: leading white space skipped, the longest
/// valid prefix converted, and the score refused (None) if anything but
/// the end of the C string follows, on ERANGE, or for NaN. No digits at
/// all in an empty string reads as 0.
fn strtod(s: &[u8]) -> Option<f64> {
    // The C string ends at the first NUL.
    let s = match s.iter().position(|&c| c == 0) {
        Some(p) => &s[..p],
        None => s,
    };
    let (i, neg) = crate::util::c_number_start(s);
    let rest = &s[i..];
    let lower: Vec<u8> = rest.iter().take(8).map(u8::to_ascii_lowercase).collect();
    let sign = |v: f64| if neg { -v } else { v };
    if lower.starts_with(b"inf") {
        let used = if lower.starts_with(b"infinity") { 8 } else { 3 };
        return (rest.len() == used).then_some(sign(f64::INFINITY));
    }
    if lower.starts_with(b"nan") {
        return None;
    }
    if lower.starts_with(b"0x") && rest.get(2).is_some_and(|c| c.is_ascii_hexdigit() || *c == b'.') {
        return hex_float(&rest[2..]).map(sign);
    }
    // Decimal: digits [. digits] [e [sign] digits].
    let mut p = 0;
    let int_start = p;
    while p < rest.len() && rest[p].is_ascii_digit() {
        p += 1;
    }
    let int = &rest[int_start..p];
    let mut frac: &[u8] = &[];
    if rest.get(p) == Some(&b'.') {
        let fs = p + 1;
        let mut q = fs;
        while q < rest.len() && rest[q].is_ascii_digit() {
            q += 1;
        }
        if !int.is_empty() || q > fs {
            frac = &rest[fs..q];
            p = q;
        }
    }
    if int.is_empty() && frac.is_empty() {
        // No conversion: strtod points back at the start of the string.
        return s.is_empty().then_some(0.0);
    }
    let mut exp: i64 = 0;
    if matches!(rest.get(p), Some(b'e' | b'E')) {
        let mut q = p + 1;
        let eneg = match rest.get(q) {
            Some(b'-') => {
                q += 1;
                true
            }
            Some(b'+') => {
                q += 1;
                false
            }
            _ => false,
        };
        let ds = q;
        while q < rest.len() && rest[q].is_ascii_digit() {
            exp = exp.saturating_mul(10).saturating_add(i64::from(rest[q] - b'0'));
            q += 1;
        }
        if q > ds {
            p = q;
            if eneg {
                exp = -exp;
            }
        } else {
            exp = 0;
        }
    }
    if p != rest.len() {
        return None;
    }
    let text = format!(
        "{}.{}e{}",
        if int.is_empty() {
            "0"
        } else {
            std::str::from_utf8(int).ok()?
        },
        if frac.is_empty() {
            "0"
        } else {
            std::str::from_utf8(frac).ok()?
        },
        exp.clamp(-100_000, 100_000)
    );
    let v: f64 = text.parse().ok()?;
    let nonzero = int.iter().chain(frac).any(|&c| c != b'0');
    // ERANGE: overflow, or underflow to zero or a subnormal.
    if v.is_infinite() || (nonzero && v.abs() < f64::MIN_POSITIVE) {
        return None;
    }
    Some(sign(v))
}

/// The part of a hexadecimal float after "0x": hex digits, an optional
/// fraction and an optional binary exponent `p[sign]digits`; the whole
/// rest must be used.
fn hex_float(s: &[u8]) -> Option<f64> {
    let mut mant: u64 = 0;
    let mut exp2: i64 = 0;
    let mut digits = 0;
    let mut p = 0;
    let mut seen_point = false;
    while p < s.len() {
        let c = s[p];
        if c == b'.' && !seen_point {
            seen_point = true;
        } else if let Some(d) = (c as char).to_digit(16) {
            digits += 1;
            if mant >> 56 == 0 {
                mant = mant * 16 + u64::from(d);
                if seen_point {
                    exp2 -= 4;
                }
            } else if !seen_point {
                exp2 += 4;
            }
        } else {
            break;
        }
        p += 1;
    }
    if digits == 0 {
        return None;
    }
    if matches!(s.get(p), Some(b'p' | b'P')) {
        let mut q = p + 1;
        let neg = match s.get(q) {
            Some(b'-') => {
                q += 1;
                true
            }
            Some(b'+') => {
                q += 1;
                false
            }
            _ => false,
        };
        let ds = q;
        let mut e: i64 = 0;
        while q < s.len() && s[q].is_ascii_digit() {
            e = e.saturating_mul(10).saturating_add(i64::from(s[q] - b'0'));
            q += 1;
        }
        if q > ds {
            p = q;
            exp2 = exp2.saturating_add(if neg { -e } else { e });
        }
    }
    if p != s.len() {
        return None;
    }
    let v = (mant as f64) * 2f64.powi(exp2.clamp(-2000, 2000) as i32);
    if v.is_infinite() || (mant != 0 && v.abs() < f64::MIN_POSITIVE) {
        return None;
    }
    Some(v)
}

/// One element with what it is compared by.
struct Item {
    elem: Vec<u8>,
    score: f64,
    /// ALPHA with BY: the BY value (None when the key is missing).
    cmp: Option<Vec<u8>>,
}

/// Redis's sortCompare for the chosen mode (before DESC is applied).
fn compare(a: &Item, b: &Item, alpha: bool, by: bool) -> Ordering {
    if !alpha {
        return match a.score.partial_cmp(&b.score) {
            Some(Ordering::Equal) | None => a.elem.cmp(&b.elem),
            Some(o) => o,
        };
    }
    if by {
        return match (&a.cmp, &b.cmp) {
            (None, None) => Ordering::Equal,
            (None, Some(_)) => Ordering::Less,
            (Some(_), None) => Ordering::Greater,
            (Some(x), Some(y)) => x.cmp(y),
        };
    }
    a.elem.cmp(&b.elem)
}

/// The `[start, end]` window LIMIT selects over `len` elements, as
/// Redis computes it (empty when end < start).
fn limit_window(len: usize, limit_start: i64, limit_count: i64) -> (i64, i64) {
    let vlen = len as i64;
    let mut start = limit_start.max(0).min(vlen);
    let count = limit_count.max(-1).min(vlen);
    let mut end = if count < 0 { vlen - 1 } else { start + count - 1 };
    if start >= vlen {
        start = vlen - 1;
        end = vlen - 2;
    }
    if end >= vlen {
        end = vlen - 1;
    }
    (start, end)
}

/// The sorted (or natively ordered) window of elements. `by_value` looks
/// a BY pattern up for one element.
fn sorted_window(
    elems: Vec<Vec<u8>>,
    ordered: bool,
    o: &Options<'_>,
    mut by_value: impl FnMut(&[u8], &[u8]) -> Option<Vec<u8>>,
) -> Result<Vec<Vec<u8>>, &'static str> {
    let (start, end) = limit_window(elems.len(), o.limit_start, o.limit_count);
    if end < start {
        return Ok(Vec::new());
    }
    let (start, end) = (start as usize, end as usize);
    if o.dontsort {
        let mut elems = elems;
        // Lists and sorted sets keep their order, reversed by DESC; a set
        // has none to reverse.
        if ordered && o.desc {
            elems.reverse();
        }
        return Ok(elems.into_iter().skip(start).take(end - start + 1).collect());
    }
    let by = o.by;
    let mut bad_score = false;
    let mut items: Vec<Item> = Vec::with_capacity(elems.len());
    for elem in elems {
        let mut it = Item {
            elem,
            score: 0.0,
            cmp: None,
        };
        let val = match by {
            Some(p) => by_value(p, &it.elem),
            None => None,
        };
        if by.is_none() || val.is_some() {
            if o.alpha {
                it.cmp = val;
            } else {
                let src = val.as_deref().unwrap_or(&it.elem);
                match strtod(src) {
                    Some(s) => it.score = s,
                    None => bad_score = true,
                }
            }
        }
        items.push(it);
    }
    if bad_score {
        return Err(ERR_NOT_DOUBLE);
    }
    let (alpha, desc, has_by) = (o.alpha, o.desc, by.is_some());
    items.sort_by(|a, b| {
        let c = compare(a, b, alpha, has_by);
        if desc {
            c.reverse()
        } else {
            c
        }
    });
    Ok(items
        .into_iter()
        .skip(start)
        .take(end - start + 1)
        .map(|i| i.elem)
        .collect())
}

fn sort(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    sort_generic(ctx, args, false);
}

fn sort_ro(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    sort_generic(ctx, args, true);
}

fn sort_generic(ctx: &mut Ctx<'_>, args: &[&[u8]], readonly: bool) {
    let full_key_access = ctx
        .client
        .acl_user(&ctx.server.acl)
        .full_read_access(if readonly { "sort_ro" } else { "sort" }, args);
    let mut o = match parse_options(args, readonly, full_key_access) {
        Ok(o) => o,
        Err(e) => return ctx.out.error(e),
    };
    let key = args[1];
    let now = ctx.now;
    let touch = !ctx.client.no_touch;
    let (elems, vtype) = match ctx.db(key).lookup_read(key, now, touch) {
        None => (Vec::new(), ValueType::List),
        Some(e) => match sort_elements(e.value()) {
            Some(v) => (v, e.value().value_type()),
            None => return ctx.out.error(ERR_WRONGTYPE),
        },
    };
    // An unsorted set would store (or replicate) in an arbitrary order:
    // Redis sorts it alphabetically instead.
    if o.dontsort && vtype == ValueType::Set && o.store.is_some() {
        o.dontsort = false;
        o.alpha = true;
        o.by = None;
    }
    let ordered = vtype != ValueType::Set;
    let window = match sorted_window(elems, ordered, &o, |p, e| lookup_by_pattern(ctx, p, e)) {
        Ok(w) => w,
        Err(e) => return ctx.out.error(e),
    };
    // Each element, or what each GET pattern finds for it.
    let mut output: Vec<Option<Vec<u8>>> = Vec::new();
    for elem in window {
        if o.gets.is_empty() {
            output.push(Some(elem));
        } else {
            for g in &o.gets {
                output.push(lookup_by_pattern(ctx, g, &elem));
            }
        }
    }
    let Some(dst) = o.store else {
        ctx.out.array(output.len());
        for v in &output {
            ctx.out.bulk_or_null(v.as_deref());
        }
        return;
    };
    let n = output.len();
    if n > 0 {
        let items: Vec<Vec<u8>> = output.into_iter().map(Option::unwrap_or_default).collect();
        let limits = ctx.server.limits();
        let Some(list) = list_value(items, &limits) else {
            return ctx.out.error("SORT STORE is not available: lists are not implemented");
        };
        ctx.db(dst).set(dst, list, None, false, now);
        ctx.dirty(n as u64);
    } else if ctx.db(dst).remove(dst, now).is_some() {
        ctx.dirty(1);
    }
    ctx.out.integer(n as i64);
}

#[cfg(test)]
mod tests {
    #[test]
    fn store_key_as_sort_get_keys_finds_it() {
        let p = |a: &[&[u8]]| store_position(a);
        assert_eq!(p(&[b"sort", b"l"]), None);
        assert_eq!(p(&[b"sort", b"l", b"STORE"]), None);
        assert_eq!(p(&[b"sort", b"l", b"store", b"d"]), Some(3));
        assert_eq!(
            p(&[b"sort", b"l", b"STORE", b"d", b"BY", b"x", b"STORE", b"e"]),
            Some(7)
        );
        assert_eq!(p(&[b"sort", b"l", b"GET", b"store", b"x"]), None);
        assert_eq!(
            p(&[b"sort", b"l", b"LIMIT", b"store", b"store", b"store", b"x"]),
            Some(6)
        );
    }

    use super::*;
    use std::collections::HashMap;

    fn v(items: &[&str]) -> Vec<Vec<u8>> {
        items.iter().map(|s| s.as_bytes().to_vec()).collect()
    }

    fn opts(args: &[&'static str]) -> Options<'static> {
        let mut all: Vec<&'static [u8]> = vec![b"sort", b"k"];
        all.extend(args.iter().map(|s| s.as_bytes()));
        let leaked: &'static [&'static [u8]] = Box::leak(all.into_boxed_slice());
        parse_options(leaked, false, true).unwrap()
    }

    fn run(
        elems: &[&str],
        ordered: bool,
        args: &[&'static str],
        db: &HashMap<&str, &str>,
    ) -> Result<Vec<String>, &'static str> {
        let o = opts(args);
        let out = sorted_window(v(elems), ordered, &o, |p, e| {
            // Hash fields are stored in the fake db as "key->field".
            let (mut k, f) = expand_pattern(p, e)?;
            if let Some(f) = f {
                k.extend_from_slice(b"->");
                k.extend_from_slice(&f);
            }
            db.get(std::str::from_utf8(&k).ok()?).map(|s| s.as_bytes().to_vec())
        })?;
        Ok(out.into_iter().map(|x| String::from_utf8(x).unwrap()).collect())
    }

    #[test]
    fn option_parsing() {
        let p = |a: &[&'static [u8]], ro| {
            parse_options(a, ro, true).map(|o| (o.desc, o.alpha, o.limit_start, o.limit_count))
        };
        assert_eq!(p(&[b"sort", b"k"], false), Ok((false, false, 0, -1)));
        assert_eq!(
            p(&[b"sort", b"k", b"DESC", b"alpha", b"LIMIT", b"1", b"2"], false),
            Ok((true, true, 1, 2))
        );
        assert_eq!(p(&[b"sort", b"k", b"desc", b"asc"], false), Ok((false, false, 0, -1)));
        assert_eq!(p(&[b"sort", b"k", b"LIMIT", b"1"], false), Err(ERR_SYNTAX));
        assert_eq!(p(&[b"sort", b"k", b"LIMIT", b"x", b"1"], false), Err(ERR_NOT_INT));
        assert_eq!(p(&[b"sort", b"k", b"LIMIT", b"1", b"1.5"], false), Err(ERR_NOT_INT));
        assert_eq!(p(&[b"sort", b"k", b"BY"], false), Err(ERR_SYNTAX));
        assert_eq!(p(&[b"sort", b"k", b"GET"], false), Err(ERR_SYNTAX));
        assert_eq!(p(&[b"sort", b"k", b"foo"], false), Err(ERR_SYNTAX));
        // Without full key access: BY with a pattern and any GET refused.
        let limited = |a: &[&'static [u8]]| parse_options(a, false, false).map(|o| o.gets.len());
        assert_eq!(limited(&[b"sort", b"k", b"BY", b"nosort"]), Ok(0));
        assert!(limited(&[b"sort", b"k", b"BY", b"w_*"])
            .unwrap_err()
            .starts_with("BY option"));
        assert!(limited(&[b"sort", b"k", b"GET", b"#"])
            .unwrap_err()
            .starts_with("GET option"));
        assert!(limited(&[b"sort", b"k", b"GET", b"#", b"BY", b"w_*"])
            .unwrap_err()
            .starts_with("GET option"));
        assert_eq!(p(&[b"sort", b"k", b"STORE", b"d"], true), Err(ERR_SYNTAX));
        let o = parse_options(
            &[
                b"sort", b"k", b"STORE", b"d", b"GET", b"#", b"GET", b"x_*", b"BY", b"nosort",
            ],
            false,
            true,
        )
        .unwrap();
        assert_eq!(o.store, Some(&b"d"[..]));
        assert_eq!(o.gets, vec![&b"#"[..], &b"x_*"[..]]);
        assert!(o.dontsort);
        let o = parse_options(&[b"sort", b"k", b"BY", b"w_*"], false, true).unwrap();
        assert!(!o.dontsort);
    }

    #[test]
    fn patterns_expand_like_lookup_key_by_pattern() {
        let e = |p: &str, s: &str| {
            expand_pattern(p.as_bytes(), s.as_bytes())
                .map(|(k, f)| (String::from_utf8(k).unwrap(), f.map(|f| String::from_utf8(f).unwrap())))
        };
        assert_eq!(e("w_*", "3"), Some(("w_3".into(), None)));
        assert_eq!(e("*_w", "3"), Some(("3_w".into(), None)));
        assert_eq!(e("h_*->f", "3"), Some(("h_3".into(), Some("f".into()))));
        assert_eq!(e("h_*->f->g", "3"), Some(("h_3".into(), Some("f->g".into()))));
        // "->" with nothing after it is part of the key.
        assert_eq!(e("h_*->", "3"), Some(("h_3->".into(), None)));
        // "->" before the '*' does not count.
        assert_eq!(e("a->b*", "3"), Some(("a->b3".into(), None)));
        // Only the first '*' is replaced.
        assert_eq!(e("*x*", "3"), Some(("3x*".into(), None)));
        assert_eq!(e("nostar", "3"), None);
    }

    #[test]
    fn strtod_follows_c() {
        assert_eq!(strtod(b"1.5"), Some(1.5));
        assert_eq!(strtod(b"  -2"), Some(-2.0));
        assert_eq!(strtod(b"1e3"), Some(1000.0));
        assert_eq!(strtod(b"1e"), None);
        assert_eq!(strtod(b".5"), Some(0.5));
        assert_eq!(strtod(b"5."), Some(5.0));
        assert_eq!(strtod(b""), Some(0.0));
        assert_eq!(strtod(b" "), None);
        assert_eq!(strtod(b"abc"), None);
        assert_eq!(strtod(b"1 "), None);
        assert_eq!(strtod(b"1\0junk"), Some(1.0));
        assert_eq!(strtod(b"inf"), Some(f64::INFINITY));
        assert_eq!(strtod(b"-Infinity"), Some(f64::NEG_INFINITY));
        assert_eq!(strtod(b"nan"), None);
        assert_eq!(strtod(b"1e400"), None);
        assert_eq!(strtod(b"1e-400"), None);
        assert_eq!(strtod(b"0e-400"), Some(0.0));
        assert_eq!(strtod(b"0x1A"), Some(26.0));
        assert_eq!(strtod(b"0x1p4"), Some(16.0));
        assert_eq!(strtod(b"-0x.8"), Some(-0.5));
        assert_eq!(strtod(b"0x"), None);
        assert_eq!(strtod(b"9223372036854775807"), Some(9223372036854775807.0));
    }

    #[test]
    fn limit_window_matches_redis() {
        assert_eq!(limit_window(5, 0, -1), (0, 4));
        assert_eq!(limit_window(5, 1, 2), (1, 2));
        assert_eq!(limit_window(5, -3, 2), (0, 1));
        assert_eq!(limit_window(5, 3, 100), (3, 4));
        assert_eq!(limit_window(5, 5, 1), (4, 3));
        assert_eq!(limit_window(5, 2, 0), (2, 1));
        assert_eq!(limit_window(5, 2, -7), (2, 4));
        assert_eq!(limit_window(0, 0, -1), (-1, -2));
        assert_eq!(limit_window(3, i64::MAX, i64::MAX), (2, 1));
    }

    #[test]
    fn numeric_alpha_desc_limit() {
        let db = HashMap::new();
        assert_eq!(
            run(&["3", "1", "2", "10"], true, &[], &db).unwrap(),
            ["1", "2", "3", "10"]
        );
        assert_eq!(
            run(&["3", "1", "2", "10"], true, &["DESC"], &db).unwrap(),
            ["10", "3", "2", "1"]
        );
        assert_eq!(
            run(&["3", "1", "2", "10"], true, &["ALPHA"], &db).unwrap(),
            ["1", "10", "2", "3"]
        );
        assert_eq!(
            run(&["3", "1", "2", "10"], true, &["LIMIT", "1", "2"], &db).unwrap(),
            ["2", "3"]
        );
        assert_eq!(
            run(&["b", "a", "c"], false, &["ALPHA", "DESC", "LIMIT", "0", "2"], &db).unwrap(),
            ["c", "b"]
        );
        // Equal scores are ordered by the element.
        assert_eq!(
            run(&["1.0", "1", "01", "0.5"], true, &[], &db).unwrap(),
            ["0.5", "01", "1", "1.0"]
        );
        assert_eq!(run(&["1", "x", "2"], true, &[], &db), Err(ERR_NOT_DOUBLE));
        assert_eq!(run(&["1", "x", "2"], true, &["ALPHA"], &db).unwrap(), ["1", "2", "x"]);
        assert!(run(&[], true, &[], &db).unwrap().is_empty());
    }

    #[test]
    fn by_patterns() {
        let db: HashMap<&str, &str> = [("w_a", "3"), ("w_b", "1"), ("w_c", "2"), ("n_a", "z"), ("n_b", "y")].into();
        assert_eq!(
            run(&["a", "b", "c"], true, &["BY", "w_*"], &db).unwrap(),
            ["b", "c", "a"]
        );
        assert_eq!(
            run(&["a", "b", "c"], true, &["BY", "w_*", "DESC"], &db).unwrap(),
            ["a", "c", "b"]
        );
        // A missing BY key scores 0 (ties by element).
        assert_eq!(
            run(&["a", "b", "c", "d"], true, &["BY", "w_*"], &db).unwrap(),
            ["d", "b", "c", "a"]
        );
        // ALPHA BY: missing values first.
        assert_eq!(
            run(&["a", "b", "c"], true, &["BY", "n_*", "ALPHA"], &db).unwrap(),
            ["c", "b", "a"]
        );
        // Non-numeric BY values fail without ALPHA.
        assert_eq!(run(&["a", "b"], true, &["BY", "n_*"], &db), Err(ERR_NOT_DOUBLE));
        // BY without '*' keeps the native order, reversed by DESC for
        // ordered types, and LIMIT applies to it.
        assert_eq!(
            run(&["b", "a", "c"], true, &["BY", "nosort"], &db).unwrap(),
            ["b", "a", "c"]
        );
        assert_eq!(
            run(&["b", "a", "c"], true, &["BY", "nosort", "DESC"], &db).unwrap(),
            ["c", "a", "b"]
        );
        assert_eq!(
            run(
                &["b", "a", "c"],
                true,
                &["BY", "nosort", "DESC", "LIMIT", "1", "1"],
                &db
            )
            .unwrap(),
            ["a"]
        );
        assert_eq!(
            run(&["b", "a", "c"], false, &["BY", "nosort", "DESC"], &db).unwrap(),
            ["b", "a", "c"]
        );
        // BY a hash field (checked against Redis: c d b a).
        let db: HashMap<&str, &str> = [("obj_a->f", "5"), ("obj_b->f", "4")].into();
        assert_eq!(
            run(&["a", "b", "c", "d"], true, &["BY", "obj_*->f"], &db).unwrap(),
            ["c", "d", "b", "a"]
        );
        assert_eq!(
            run(&["a", "b", "c", "d"], true, &["BY", "obj_*->f", "LIMIT", "2", "5"], &db).unwrap(),
            ["b", "a"]
        );
        // With BY nosort no score is parsed, so non-numbers are fine.
        assert_eq!(run(&["x", "y"], true, &["BY", "nosort"], &db).unwrap(), ["x", "y"]);
    }

    #[test]
    fn specs() {
        for c in COMMANDS {
            assert_eq!(c.group, "generic");
            assert!(c.has(ALL_SHARDS), "{} reads keys named by data", c.name);
            assert_eq!(c.legacy_range(), (1, 1, 1), "{}", c.name);
            let mut pos = Vec::new();
            c.key_positions(&[b"sort", b"k", b"STORE", b"d"], &mut pos);
            // SORT_RO has no STORE (its STORE is a syntax error).
            let want = if c.name == "sort" { vec![1, 3] } else { vec![1] };
            assert_eq!(pos, want, "{}", c.name);
        }
    }
}
