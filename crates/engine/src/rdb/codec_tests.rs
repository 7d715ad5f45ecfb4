//! Whole-codec tests: payloads byte for byte as Redis 7.0 produces them,
//! value round trips against std-collection models, files, and hostile
//! input.

use std::collections::{BTreeMap, BTreeSet};

use proptest::prelude::*;

use super::*;
use crate::types::list::End;
use crate::types::{Hash, List, Set, ZSet};

fn limits() -> Limits {
    Limits::default()
}

fn list_of(items: &[&[u8]], fill: i64) -> Value {
    Value::List(Box::new(List::from_items(items, fill)))
}

/// DUMP payloads captured from redis-server 7.0.15 for the same values.
#[test]
fn payloads_match_redis_7_0() {
    let l = limits();
    let cases: Vec<(Value, &[u8])> = vec![
        (Value::from_bytes(b"hello"), b"\x00\x05hello\n\x00cr\xdfve4 \n"),
        (
            Value::from_bytes(b"12345678901234"),
            b"\x00\x0e12345678901234\n\x00\xaf\xcb\x8c{v\xa0\x8bj",
        ),
        (Value::from_bytes(b"-70000"), b"\x00\xc2\x90\xee\xfe\xff\n\x00(u\xde{\x13\xeb(\x00"),
        (
            Value::from_bytes("abcdefghij".repeat(30).as_bytes()),
            b"\x00\xc3\x15A,\nabcdefghija\xe0\xff\t\xe1\x0e\r\x01ij\n\x008\xca\x02Z\xda\xf5@\x90",
        ),
        (
            list_of(&[b"a", b"1", b"300", b"70000", b"-5"], -2),
            b"\x12\x01\x02\x17\x17\x00\x00\x00\x05\x00\x81a\x02\x01\x01\xc1,\x02\xf2p\x11\x01\x04\xdf\xfb\x02\xff\n\x00\xebh\xf0\x9b,\xf6s+",
        ),
        (
            list_of(&[b"a", b"b", b"c", b"d", b"e", b"f", b"g", b"100000"], 3),
            b"\x12\x03\x02\x10\x10\x00\x00\x00\x03\x00\x81a\x02\x81b\x02\x81c\x02\xff\x02\x10\x10\x00\x00\x00\x03\x00\x81d\x02\x81e\x02\x81f\x02\xff\x02\x0f\x0f\x00\x00\x00\x02\x00\x81g\x02\xf2\xa0\x86\x01\x04\xff\n\x00\x1d\x84\x98\xca\xda\xec\xb04",
        ),
        (
            {
                let mut z = ZSet::new();
                z.insert(b"a", 1.5, &l);
                z.insert(b"b", 2.0, &l);
                z.insert(b"c", 0.1, &l);
                Value::ZSet(Box::new(z))
            },
            b"\x11\xc3#,\r,\x00\x00\x00\x06\x00\x81c\x02\x930.10\xe0\x05\x00\x0f1\x14\x81a\x02\x831.5\x04\x81b\x02\x02\x01\xff\n\x00\x85\x99\xb8]\xdaq\x83I",
        ),
        (
            {
                let mut small = l;
                small.zset_max_listpack_entries = 2;
                let mut z = ZSet::new();
                for (m, s) in [(&b"a"[..], 1.0), (b"b", 2.5), (b"c", 3.0), (b"d", -1e100)] {
                    z.insert(m, s, &small);
                }
                assert_eq!(z.encoding(), "skiplist");
                Value::ZSet(Box::new(z))
            },
            b"\x05\x04\x01c\x00\x00\x00\x00\x00\x00\x08@\x01b\x00\x00\x00\x00\x00\x00\x04@\x01a\x00\x00\x00\x00\x00\x00\xf0?\x01d}\xc3\x94%\xadI\xb2\xd4\n\x00\xaam\xe9\x95\x03\xc5\x11\xf6",
        ),
        (
            {
                let mut h = Hash::new();
                h.insert(b"f", b"v", &l);
                Value::Hash(Box::new(h))
            },
            b"\x10\r\r\x00\x00\x00\x02\x00\x81f\x02\x81v\x02\xff\n\x00 \xf1=D#T\x08\x9d",
        ),
        (
            {
                let mut s = Set::new_intset();
                for m in [&b"1"[..], b"2", b"70000"] {
                    s.insert(m, &l);
                }
                Value::Set(Box::new(s))
            },
            b"\x0b\x14\x04\x00\x00\x00\x03\x00\x00\x00\x01\x00\x00\x00\x02\x00\x00\x00p\x11\x01\x00\n\x00\x85\xd5\xc1\x06[\x1d\xd0U",
        ),
    ];
    for (i, (v, want)) in cases.iter().enumerate() {
        let got = dump_payload(v, true);
        assert_eq!(got, *want, "case {i}: {v:?}");
        assert!(verify_payload(&got, false));
        let mut lim = l;
        if i == 5 {
            lim.list_max_listpack_size = 3;
        }
        if i == 7 {
            lim.zset_max_listpack_entries = 2;
        }
        let back = restore_payload(&got, &lim).unwrap();
        assert_eq!(dump_payload(&back, true), got, "case {i} re-dumped");
    }
}

#[test]
fn empty_and_duplicate_collections_are_refused() {
    let l = limits();
    // A hash listpack with a duplicated field.
    let mut lp = blobs::ListpackWriter::new();
    for it in [&b"f"[..], b"1", b"f", b"2"] {
        lp.push(it);
    }
    let mut body = vec![types::HASH_LISTPACK];
    write_string(&mut body, &lp.finish(), false);
    assert!(matches!(
        read_value(&mut Input::new(&body[1..]), body[0], &l),
        Err(RdbError::Corrupt(_))
    ));
    // An empty set.
    let body = [0u8];
    assert!(matches!(
        read_value(&mut Input::new(&body[..]), types::SET, &l),
        Err(RdbError::EmptyKey)
    ));
    // A NaN score.
    let mut body = Vec::new();
    write_len(&mut body, 1);
    write_string(&mut body, b"m", false);
    body.extend_from_slice(&f64::NAN.to_le_bytes());
    assert!(read_value(&mut Input::new(&body[..]), types::ZSET_2, &l).is_err());
    // Modules and streams are named.
    let e = read_value(&mut Input::new(&[0u8; 16][..]), types::MODULE_2, &l).unwrap_err();
    assert_eq!(e.to_string(), "unsupported: modules");
}

/// A ziplist of short strings, as Redis <= 6 wrote them.
fn ziplist(items: &[&[u8]]) -> Vec<u8> {
    let mut zl = vec![0u8; 10];
    let mut prev = 0usize;
    let mut last = 10;
    for it in items {
        assert!(it.len() < 64 && prev < 254);
        last = zl.len();
        zl.push(prev as u8);
        zl.push(it.len() as u8);
        zl.extend_from_slice(it);
        prev = it.len() + 2;
    }
    zl.push(0xFF);
    let n = zl.len() as u32;
    zl[0..4].copy_from_slice(&n.to_le_bytes());
    zl[4..8].copy_from_slice(&(last as u32).to_le_bytes());
    zl[8..10].copy_from_slice(&(items.len() as u16).to_le_bytes());
    zl
}

#[test]
fn reads_redis_6_ziplist_types() {
    let l = limits();
    let load = |ty: u8, body: &[u8]| read_value(&mut Input::new(body), ty, &l);
    // hash as ziplist (type 13)
    let mut body = Vec::new();
    write_string(&mut body, &ziplist(&[b"f", b"v", b"g", b"12"]), true);
    let Value::Hash(h) = load(types::HASH_ZIPLIST, &body).unwrap() else {
        panic!()
    };
    assert_eq!(h.get(b"g"), Some(&b"12"[..]));
    assert_eq!(h.encoding(), "listpack");
    // zset as ziplist (type 12), scores as strings
    let mut body = Vec::new();
    write_string(&mut body, &ziplist(&[b"a", b"1.5", b"b", b"-2"]), true);
    let Value::ZSet(z) = load(types::ZSET_ZIPLIST, &body).unwrap() else {
        panic!()
    };
    assert_eq!(z.to_vec(), vec![(b"b".to_vec(), -2.0), (b"a".to_vec(), 1.5)]);
    // list as quicklist of ziplists (type 14)
    let mut body = Vec::new();
    write_len(&mut body, 2);
    write_string(&mut body, &ziplist(&[b"a", b"b"]), true);
    write_string(&mut body, &ziplist(&[b"c"]), true);
    let Value::List(li) = load(types::LIST_QUICKLIST, &body).unwrap() else {
        panic!()
    };
    assert_eq!(li.iter().collect::<Vec<_>>(), vec![&b"a"[..], b"b", b"c"]);
    // list as one ziplist (type 10)
    let mut body = Vec::new();
    write_string(&mut body, &ziplist(&[b"x"]), true);
    assert!(matches!(load(types::LIST_ZIPLIST, &body).unwrap(), Value::List(_)));
    // hash as zipmap (type 9)
    let mut body = Vec::new();
    write_string(&mut body, b"\x01\x01k\x01\x00v\xff", true);
    let Value::Hash(h) = load(types::HASH_ZIPMAP, &body).unwrap() else {
        panic!()
    };
    assert_eq!(h.get(b"k"), Some(&b"v"[..]));
    // old zset (type 3, string doubles) and list (type 1)
    let mut body = Vec::new();
    write_len(&mut body, 1);
    write_string(&mut body, b"m", true);
    body.push(3);
    body.extend_from_slice(b"2.5");
    let Value::ZSet(z) = load(types::ZSET, &body).unwrap() else {
        panic!()
    };
    assert_eq!(z.score(b"m"), Some(2.5));
    let mut body = Vec::new();
    write_len(&mut body, 2);
    write_string(&mut body, b"p", true);
    write_string(&mut body, b"q", true);
    assert!(matches!(load(types::LIST, &body).unwrap(), Value::List(_)));
    // A ziplist with a wrong count is refused.
    let mut zl = ziplist(&[b"f", b"v"]);
    zl[8] = 3;
    let mut body = Vec::new();
    write_string(&mut body, &zl, false);
    assert!(load(types::HASH_ZIPLIST, &body).is_err());
}

#[test]
fn reads_redis_7_2_listpack_sets() {
    let mut lp = blobs::ListpackWriter::new();
    for it in [&b"x"[..], b"7", b"yy"] {
        lp.push(it);
    }
    let mut body = Vec::new();
    write_string(&mut body, &lp.finish(), true);
    let v = read_value(&mut Input::new(&body[..]), types::SET_LISTPACK, &limits()).unwrap();
    let Value::Set(s) = v else { panic!() };
    assert_eq!(s.len(), 3);
    assert!(s.contains(b"yy") && s.contains(b"7"));
    assert_eq!(s.encoding(), "listpack");
    // and writes them as a plain set, which 7.0 reads
    assert_eq!(type_of(&Value::Set(s)), types::SET);
}

#[test]
fn file_round_trip_with_expiry_and_dbs() {
    let aux = Aux {
        redis_ver: "7.0.15".into(),
        ctime_secs: 1_700_000_000,
        used_mem: 123456,
        aof_base: false,
    };
    let dbs = vec![
        (
            0u64,
            vec![
                (b"a".to_vec(), Value::from_bytes(b"1"), None),
                (b"b".to_vec(), Value::from_bytes(b"x"), Some(4_000_000_000_000i64)),
            ],
        ),
        (3u64, vec![(b"c".to_vec(), list_of(&[b"p", b"q"], -2), None)]),
    ];
    for opts in [
        SaveOptions::default(),
        SaveOptions {
            compression: false,
            checksum: false,
        },
    ] {
        let bytes = write_to_vec(opts, Some(&aux), &dbs).unwrap();
        assert_eq!(&bytes[..9], b"REDIS0010");
        let mut got = Vec::new();
        let sum = read_file(&bytes[..], &limits(), |e| {
            got.push(e);
            Ok(())
        })
        .unwrap();
        assert_eq!(sum.checksum_verified, opts.checksum);
        assert_eq!(sum.aux[0], (b"redis-ver".to_vec(), b"7.0.15".to_vec()));
        assert_eq!(sum.aux[2], (b"ctime".to_vec(), b"1700000000".to_vec()));
        assert_eq!(got.len(), 3);
        assert_eq!(got[1].expire_ms, Some(4_000_000_000_000));
        assert_eq!(got[2].db, 3);
        assert_eq!(got[2].value, dbs[1].1[0].1);
        // A flipped byte fails the checksum (or the parse), never panics.
        if opts.checksum {
            for i in 9..bytes.len() {
                let mut bad = bytes.clone();
                bad[i] ^= 0x10;
                assert!(read_file(&bad[..], &limits(), |_| Ok(())).is_err(), "flip at {i}");
            }
        }
        for n in 0..bytes.len() {
            assert!(read_file(&bytes[..n], &limits(), |_| Ok(())).is_err());
        }
    }
}

#[test]
fn version_11_files_functions_and_modules() {
    // A Redis 7.2 file: version 11, a FUNCTION2 record, a listpack set.
    let mut f = b"REDIS0011".to_vec();
    f.push(opcodes::FUNCTION2);
    write_string(
        &mut f,
        b"#!lua name=lib\nredis.register_function('f', function() return 1 end)",
        false,
    );
    f.push(opcodes::SELECTDB);
    write_len(&mut f, 0);
    f.push(types::SET_LISTPACK);
    write_string(&mut f, b"s", false);
    let mut lp = blobs::ListpackWriter::new();
    lp.push(b"a");
    lp.push(b"b");
    write_string(&mut f, &lp.finish(), false);
    f.push(opcodes::EOF);
    let crc = crc64(&f);
    f.extend_from_slice(&crc.to_le_bytes());
    let mut keys = Vec::new();
    let sum = read_file(&f[..], &limits(), |e| {
        keys.push(e.key);
        Ok(())
    })
    .unwrap();
    assert_eq!(sum.version, 11);
    assert_eq!(sum.functions_skipped, 1);
    assert_eq!(sum.functions.len(), 1);
    assert!(sum.functions[0].starts_with(b"#!lua name=lib\n"));
    assert!(sum.checksum_verified);
    assert_eq!(keys, vec![b"s".to_vec()]);

    // Version 12 is refused; a module AUX record is named.
    let mut newer = f.clone();
    newer[8] = b'2';
    assert!(matches!(
        read_file(&newer[..], &limits(), |_| Ok(())),
        Err(RdbError::Unsupported(_))
    ));
    let mut m = b"REDIS0010".to_vec();
    m.push(opcodes::MODULE_AUX);
    m.extend_from_slice(&[0u8; 16]);
    let e = read_file(&m[..], &limits(), |_| Ok(())).unwrap_err();
    assert_eq!(e.to_string(), "unsupported: modules");
    // Not an RDB at all.
    assert!(read_file(&b"HELLO0010"[..], &limits(), |_| Ok(())).is_err());
}

#[test]
fn idle_and_freq_opcodes_round_trip() {
    let mut w = FileWriter::new(Vec::new(), SaveOptions::default()).unwrap();
    w.select_db(0).unwrap();
    w.entry(b"k", &Value::from_bytes(b"v"), None, Some(77), None).unwrap();
    w.entry(b"j", &Value::from_bytes(b"v"), None, None, Some(9)).unwrap();
    let bytes = w.finish().unwrap();
    let mut got = Vec::new();
    read_file(&bytes[..], &limits(), |e| {
        got.push((e.idle_secs, e.freq));
        Ok(())
    })
    .unwrap();
    assert_eq!(got, vec![(Some(77), None), (None, Some(9))]);
}

// ---------------------------------------------------------------------
// round trips against models

#[derive(Debug, Clone)]
enum Model {
    Str(Vec<u8>),
    List(Vec<Vec<u8>>),
    Set(BTreeSet<Vec<u8>>),
    Hash(BTreeMap<Vec<u8>, Vec<u8>>),
    ZSet(BTreeMap<Vec<u8>, u64>),
}

fn elem() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        (-100_000i64..100_000).prop_map(|n| n.to_string().into_bytes()),
        any::<i64>().prop_map(|n| n.to_string().into_bytes()),
        proptest::collection::vec(any::<u8>(), 0..12),
        proptest::collection::vec(prop_oneof![Just(b'a'), Just(b'b')], 20..120),
    ]
}

fn score() -> impl Strategy<Value = f64> {
    prop_oneof![
        (-50i64..50).prop_map(|n| n as f64),
        any::<f64>().prop_filter("no NaN", |f| !f.is_nan()),
        Just(0.1)
    ]
}

fn model() -> impl Strategy<Value = Model> {
    prop_oneof![
        elem().prop_map(Model::Str),
        proptest::collection::vec(elem(), 1..60).prop_map(Model::List),
        proptest::collection::btree_set(elem(), 1..40).prop_map(Model::Set),
        proptest::collection::btree_map(elem(), elem(), 1..40).prop_map(Model::Hash),
        proptest::collection::btree_map(elem(), score().prop_map(f64::to_bits), 1..40).prop_map(Model::ZSet),
    ]
}

fn build(m: &Model, l: &Limits) -> Value {
    match m {
        Model::Str(s) => Value::from_bytes(s),
        Model::List(items) => {
            let mut list = List::new();
            for it in items {
                list.push_all(&[it], End::Tail, l.list_max_listpack_size);
            }
            Value::List(Box::new(list))
        }
        Model::Set(items) => {
            let mut s = Set::with_hint(items.iter().next().map_or(&b""[..], |v| v), items.len(), l);
            for it in items {
                s.insert(it, l);
            }
            Value::Set(Box::new(s))
        }
        Model::Hash(map) => {
            let mut h = Hash::new();
            for (f, v) in map {
                h.insert(f, v, l);
            }
            Value::Hash(Box::new(h))
        }
        Model::ZSet(map) => {
            let mut z = ZSet::new();
            for (m, s) in map {
                z.insert(m, f64::from_bits(*s), l);
            }
            Value::ZSet(Box::new(z))
        }
    }
}

fn observe(v: &Value) -> Model {
    match v {
        Value::Int(_) | Value::Str(_) | Value::Raw(_) => {
            let mut b = crate::value::itoa_buf::Buf::default();
            Model::Str(v.as_bytes(&mut b).unwrap_or_default().to_vec())
        }
        Value::List(l) => Model::List(l.iter().map(<[u8]>::to_vec).collect()),
        Value::Set(s) => Model::Set(s.iter().map(|m| m.to_vec()).collect()),
        Value::Hash(h) => Model::Hash(h.iter().map(|(f, v)| (f.to_vec(), v.to_vec())).collect()),
        Value::ZSet(z) => Model::ZSet(
            z.to_vec()
                .into_iter()
                .map(|(m, s)| (m, if s == 0.0 { 0 } else { s.to_bits() }))
                .collect(),
        ),
    }
}

fn same(a: &Model, b: &Model) -> bool {
    format!("{a:?}") == format!("{b:?}")
}

fn small_limits() -> impl Strategy<Value = Limits> {
    (
        1usize..20,
        1usize..80,
        prop_oneof![(1i64..6), (-5i64..=-1)],
        1usize..20,
        1usize..20,
    )
        .prop_map(|(entries, value, fill, intset, lp)| Limits {
            hash_max_listpack_entries: entries,
            hash_max_listpack_value: value,
            list_max_listpack_size: fill,
            set_max_intset_entries: intset,
            set_max_listpack_entries: lp,
            set_max_listpack_value: value,
            zset_max_listpack_entries: entries,
            zset_max_listpack_value: value,
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn values_round_trip(m in model(), l in prop_oneof![Just(Limits::default()), small_limits()], compress in any::<bool>()) {
        let v = build(&m, &l);
        let want = observe(&v);
        let p = dump_payload(&v, compress);
        prop_assert!(verify_payload(&p, false));
        let back = restore_payload(&p, &l).unwrap();
        prop_assert!(same(&observe(&back), &want), "{:?} vs {:?}", observe(&back), want);
        prop_assert_eq!(back.encoding(), v.encoding());
        // Loading under other limits still gives the same contents.
        let back2 = restore_payload(&p, &Limits::default()).unwrap();
        prop_assert!(same(&observe(&back2), &want));
    }

    #[test]
    fn hostile_payloads_never_panic(m in model(), cut in any::<prop::sample::Index>(), flips in proptest::collection::vec((any::<prop::sample::Index>(), 0u8..8), 0..4)) {
        let v = build(&m, &Limits::default());
        let p = dump_payload(&v, true);
        let mut bad = p.clone();
        for (i, bit) in &flips {
            let i = i.index(bad.len());
            bad[i] ^= 1 << bit;
        }
        let _ = restore_payload(&bad, &Limits::default());
        let n = cut.index(p.len());
        let _ = restore_payload(&p[..n], &Limits::default());
        let _ = read_value(&mut Input::new(&bad[1..]), bad[0], &Limits::default());
    }

    #[test]
    fn random_bytes_never_panic(ty in any::<u8>(), data in proptest::collection::vec(any::<u8>(), 0..300)) {
        let _ = read_value(&mut Input::new(&data[..]), ty, &Limits::default());
        let mut f = b"REDIS0010".to_vec();
        f.extend_from_slice(&data);
        let _ = read_file(&f[..], &Limits::default(), |_| Ok(()));
    }
}
