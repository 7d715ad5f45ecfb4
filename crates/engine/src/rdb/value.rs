//! One value's RDB encoding: `write_value` picks the type Redis 7.0 would
//! save for our encoding; `read_value` loads any type up to RDB 11.

use std::io::Read;

use super::blobs::{intset_bytes, intset_values, listpack_items, ziplist_items, zipmap_pairs, Item, ListpackWriter};
use super::double::{d2string, double2ll};
use super::{parse_double, types as t, write_int_string, write_len, write_string, Input, RdbError, Result};
use crate::encoding::Limits;
use crate::types::set::Member;
use crate::types::{Hash, List, Set, ZSet};
use crate::Value;

/// The RDB type byte `write_value` uses for `v`.
pub fn type_of(v: &Value) -> u8 {
    match v {
        Value::Int(_) | Value::Str(_) | Value::Raw(_) => t::STRING,
        Value::List(_) => t::LIST_QUICKLIST_2,
        Value::Set(s) => {
            if s.intset_width().is_some() {
                t::SET_INTSET
            } else {
                t::SET
            }
        }
        Value::Hash(h) => {
            if h.is_listpack() {
                t::HASH_LISTPACK
            } else {
                t::HASH
            }
        }
        Value::ZSet(z) => {
            if z.encoding() == "listpack" {
                t::ZSET_LISTPACK
            } else {
                t::ZSET_2
            }
        }
    }
}

const QUICKLIST_NODE_PLAIN: u64 = 1;
const QUICKLIST_NODE_PACKED: u64 = 2;

/// Appends the type byte and the value (rdbSaveObjectType + rdbSaveObject).
pub fn write_value(out: &mut Vec<u8>, v: &Value, compress: bool) {
    out.push(type_of(v));
    write_value_body(out, v, compress);
}

/// The value without its type byte.
pub fn write_value_body(out: &mut Vec<u8>, v: &Value, compress: bool) {
    match v {
        Value::Int(n) => write_int_string(out, *n),
        Value::Str(b) => write_string(out, b, compress),
        Value::Raw(b) => write_string(out, b, compress),
        Value::List(l) => {
            let nodes: Vec<_> = l.nodes().collect();
            write_len(out, nodes.len() as u64);
            for (plain, items) in nodes {
                if plain {
                    write_len(out, QUICKLIST_NODE_PLAIN);
                    for it in items {
                        write_string(out, it, compress);
                    }
                } else {
                    write_len(out, QUICKLIST_NODE_PACKED);
                    let mut lp = ListpackWriter::new();
                    for it in items {
                        lp.push(it);
                    }
                    write_string(out, &lp.finish(), compress);
                }
            }
        }
        Value::Set(s) => {
            if let Some(w) = s.intset_width() {
                let vals: Vec<i64> = s.iter().filter_map(|m| m.as_int()).collect();
                write_string(out, &intset_bytes(vals.into_iter(), w), compress);
            } else {
                write_len(out, s.len() as u64);
                for m in s.iter() {
                    match m {
                        Member::Int(n) => write_int_string(out, n),
                        Member::Bytes(b) => write_string(out, b, compress),
                    }
                }
            }
        }
        Value::Hash(h) => {
            if h.is_listpack() {
                let mut lp = ListpackWriter::new();
                for (f, v) in h.iter() {
                    lp.push(f);
                    lp.push(v);
                }
                write_string(out, &lp.finish(), compress);
            } else {
                write_len(out, h.len() as u64);
                for (f, v) in h.iter() {
                    write_string(out, f, compress);
                    write_string(out, v, compress);
                }
            }
        }
        Value::ZSet(z) => {
            if z.encoding() == "listpack" {
                let mut lp = ListpackWriter::new();
                // zzlInsertAt: integral scores as integers, others as text.
                z.for_each(&mut |m, s| {
                    lp.push(m);
                    match double2ll(s) {
                        Some(n) => lp.push_int(n),
                        None => lp.push_str(d2string(s).as_bytes()),
                    }
                });
                write_string(out, &lp.finish(), compress);
            } else {
                write_len(out, z.len() as u64);
                // Highest first, so loading inserts at the head (Redis's order).
                z.for_range(0, usize::MAX, true, &mut |m, s| {
                    write_string(out, m, compress);
                    out.extend_from_slice(&s.to_le_bytes());
                });
            }
        }
    }
}

/// Caps a hint taken from the input (it sizes encodings and tables).
fn hint(n: u64) -> usize {
    usize::try_from(n).unwrap_or(usize::MAX).min(1 << 16)
}

fn corrupt(m: &'static str) -> RdbError {
    RdbError::Corrupt(m)
}

/// Reads a value of RDB type `ty` (rdbLoadObject), converting encodings at
/// `limits`' thresholds.
pub fn read_value<R: Read>(inp: &mut Input<R>, ty: u8, limits: &Limits) -> Result<Value> {
    match ty {
        t::STRING => Ok(Value::from_bytes(&inp.string()?)),
        t::LIST => {
            let n = inp.length()?;
            let mut items = Vec::with_capacity(hint(n).min(1024));
            for _ in 0..n {
                items.push(inp.string()?);
            }
            list_from(items, limits)
        }
        t::SET => {
            let n = inp.length()?;
            if n == 0 {
                return Err(RdbError::EmptyKey);
            }
            let first = inp.string()?;
            // The hint picks the encoding; past both compact limits it only
            // sizes the table, so keep it small until the members arrive.
            let cap = limits
                .set_max_intset_entries
                .max(limits.set_max_listpack_entries)
                .saturating_add(1);
            let mut s = Set::with_hint(&first, hint(n).min(cap), limits);
            s.insert(&first, limits);
            for _ in 1..n {
                if !s.insert(&inp.string()?, limits) {
                    return Err(corrupt("duplicate set members"));
                }
            }
            Ok(Value::Set(Box::new(s)))
        }
        t::ZSET | t::ZSET_2 => {
            let n = inp.length()?;
            if n == 0 {
                return Err(RdbError::EmptyKey);
            }
            let mut z = ZSet::with_hint(hint(n), 0, limits);
            for _ in 0..n {
                let m = inp.string()?;
                let s = if ty == t::ZSET_2 {
                    inp.binary_double()?
                } else {
                    inp.string_double()?
                };
                if s.is_nan() {
                    return Err(corrupt("zset with NaN score"));
                }
                if z.insert(&m, s, limits).is_some() {
                    return Err(corrupt("duplicate zset members"));
                }
            }
            z.fit_encoding(limits);
            Ok(Value::ZSet(Box::new(z)))
        }
        t::HASH => {
            let n = inp.length()?;
            if n == 0 {
                return Err(RdbError::EmptyKey);
            }
            let mut h = Hash::new();
            if hint(n) > limits.hash_max_listpack_entries {
                h.convert();
            }
            for _ in 0..n {
                let f = inp.string()?;
                let v = inp.string()?;
                if !h.insert(&f, &v, limits) {
                    return Err(corrupt("duplicate hash fields"));
                }
            }
            Ok(Value::Hash(Box::new(h)))
        }
        t::LIST_QUICKLIST | t::LIST_QUICKLIST_2 => {
            let nodes = inp.length()?;
            let mut items: Vec<Vec<u8>> = Vec::new();
            for _ in 0..nodes {
                let container = if ty == t::LIST_QUICKLIST_2 {
                    inp.length()?
                } else {
                    QUICKLIST_NODE_PACKED
                };
                let blob = inp.string()?;
                match container {
                    QUICKLIST_NODE_PLAIN => items.push(blob),
                    QUICKLIST_NODE_PACKED => {
                        let parsed = if ty == t::LIST_QUICKLIST_2 {
                            listpack_items(&blob)
                        } else {
                            ziplist_items(&blob)
                        }
                        .ok_or(corrupt("quicklist node integrity check failed"))?;
                        items.extend(parsed.into_iter().map(Item::to_vec));
                    }
                    _ => return Err(corrupt("quicklist node container")),
                }
            }
            list_from(items, limits)
        }
        t::LIST_ZIPLIST => {
            let blob = inp.string()?;
            let parsed = ziplist_items(&blob).ok_or(corrupt("ziplist integrity check failed"))?;
            list_from(parsed.into_iter().map(Item::to_vec).collect(), limits)
        }
        t::SET_INTSET => {
            let blob = inp.string()?;
            let vals = intset_values(&blob).ok_or(corrupt("intset integrity check failed"))?;
            if vals.is_empty() {
                return Err(RdbError::EmptyKey);
            }
            let mut s = Set::new_intset();
            s.maybe_convert(vals.len(), limits);
            for v in vals {
                s.insert_member(Member::Int(v), limits);
            }
            Ok(Value::Set(Box::new(s)))
        }
        t::SET_LISTPACK => {
            let blob = inp.string()?;
            let items = listpack_items(&blob).ok_or(corrupt("set listpack integrity check failed"))?;
            let first = items.first().ok_or(RdbError::EmptyKey)?.to_vec();
            let mut s = Set::with_hint(&first, items.len(), limits);
            for it in items {
                if !s.insert(&it.to_vec(), limits) {
                    return Err(corrupt("duplicate set members"));
                }
            }
            Ok(Value::Set(Box::new(s)))
        }
        t::ZSET_ZIPLIST | t::ZSET_LISTPACK => {
            let blob = inp.string()?;
            let items = if ty == t::ZSET_LISTPACK {
                listpack_items(&blob)
            } else {
                ziplist_items(&blob)
            }
            .ok_or(corrupt("zset listpack integrity check failed"))?;
            if items.is_empty() {
                return Err(RdbError::EmptyKey);
            }
            if items.len() % 2 != 0 {
                return Err(corrupt("zset listpack with an odd number of elements"));
            }
            let mut z = ZSet::with_hint(items.len() / 2, 0, limits);
            for pair in items.chunks_exact(2) {
                let m = pair[0].to_vec();
                let s = match pair[1] {
                    Item::Int(n) => n as f64,
                    Item::Str(b) => parse_double(b).ok_or(corrupt("zset listpack score"))?,
                };
                if s.is_nan() {
                    return Err(corrupt("zset with NaN score"));
                }
                if z.insert(&m, s, limits).is_some() {
                    return Err(corrupt("duplicate zset members"));
                }
            }
            Ok(Value::ZSet(Box::new(z)))
        }
        t::HASH_ZIPLIST | t::HASH_LISTPACK => {
            let blob = inp.string()?;
            let items = if ty == t::HASH_LISTPACK {
                listpack_items(&blob)
            } else {
                ziplist_items(&blob)
            }
            .ok_or(corrupt("hash listpack integrity check failed"))?;
            if items.is_empty() {
                return Err(RdbError::EmptyKey);
            }
            if items.len() % 2 != 0 {
                return Err(corrupt("hash listpack with an odd number of elements"));
            }
            let mut h = Hash::new();
            if items.len() / 2 > limits.hash_max_listpack_entries {
                h.convert();
            }
            for pair in items.chunks_exact(2) {
                if !h.insert(&pair[0].to_vec(), &pair[1].to_vec(), limits) {
                    return Err(corrupt("duplicate hash fields"));
                }
            }
            Ok(Value::Hash(Box::new(h)))
        }
        t::HASH_ZIPMAP => {
            let blob = inp.string()?;
            let pairs = zipmap_pairs(&blob).ok_or(corrupt("zipmap integrity check failed"))?;
            if pairs.is_empty() {
                return Err(RdbError::EmptyKey);
            }
            let mut h = Hash::new();
            for (f, v) in pairs {
                if !h.insert(f, v, limits) {
                    return Err(corrupt("duplicate hash fields"));
                }
            }
            Ok(Value::Hash(Box::new(h)))
        }
        t::MODULE_PRE_GA | t::MODULE_2 => Err(RdbError::Unsupported("modules")),
        t::STREAM_LISTPACKS | t::STREAM_LISTPACKS_2 | t::STREAM_LISTPACKS_3 => Err(RdbError::Unsupported("streams")),
        _ => Err(corrupt("unknown value type")),
    }
}

fn list_from(items: Vec<Vec<u8>>, limits: &Limits) -> Result<Value> {
    if items.is_empty() {
        return Err(RdbError::EmptyKey);
    }
    Ok(Value::List(Box::new(List::from_items(
        &items,
        limits.list_max_listpack_size,
    ))))
}
