#![allow(clippy::unwrap_used)]
//! SORT and SORT_RO: option errors, WRONGTYPE, missing keys and STORE's
//! deletion of the destination, checked against Redis 7.2's replies.
//! (Sorting itself is unit-tested in `commands/sort.rs` until the list,
//! set and sorted set types are merged.)

mod common;

use common::{RawConn, TestServer};

fn server() -> TestServer {
    TestServer::start(&[])
}

const WRONGTYPE: &str = "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n";
const SYNTAX: &str = "-ERR syntax error\r\n";
const NOT_INT: &str = "-ERR value is not an integer or out of range\r\n";

fn setup(r: &mut RawConn) {
    assert_eq!(r.cmd(&["SET", "s", "x"]), "+OK\r\n");
    assert_eq!(r.cmd(&["HSET", "h", "a", "1"]), ":1\r\n");
    assert_eq!(r.cmd(&["SET", "dst", "v"]), "+OK\r\n");
}

#[test]
fn missing_key_sorts_to_nothing() {
    let srv = server();
    let mut r = srv.raw();
    setup(&mut r);
    assert_eq!(r.cmd(&["SORT", "nokey"]), "*0\r\n");
    assert_eq!(r.cmd(&["SORT_RO", "nokey"]), "*0\r\n");
    assert_eq!(
        r.cmd(&["SORT", "nokey", "LIMIT", "0", "1", "GET", "#", "BY", "w_*", "DESC", "ALPHA"]),
        "*0\r\n"
    );
    assert_eq!(r.cmd(&["SORT", "nokey", "BY", "h_*->f", "GET", "h_*->g"]), "*0\r\n");
    assert_eq!(
        r.cmd(&["SORT", "nokey", "ASC", "DESC", "alpha", "limit", "-5", "-5"]),
        "*0\r\n"
    );
    let mut r3 = srv.raw();
    assert!(r3.cmd(&["HELLO", "3"]).starts_with('%'));
    assert_eq!(r3.cmd(&["SORT", "nokey", "GET", "#"]), "*0\r\n");
}

#[test]
fn wrong_types_and_option_errors() {
    let srv = server();
    let mut r = srv.raw();
    setup(&mut r);
    assert_eq!(r.cmd(&["SORT", "s"]), WRONGTYPE);
    assert_eq!(r.cmd(&["SORT", "h"]), WRONGTYPE);
    assert_eq!(r.cmd(&["SORT_RO", "s"]), WRONGTYPE);
    assert_eq!(r.cmd(&["SORT", "s", "BY", "nosort"]), WRONGTYPE);
    // Options are checked before the key.
    assert_eq!(r.cmd(&["SORT", "s", "foo"]), SYNTAX);
    assert_eq!(r.cmd(&["SORT", "nokey", "foo"]), SYNTAX);
    assert_eq!(r.cmd(&["SORT", "nokey", "LIMIT", "1"]), SYNTAX);
    assert_eq!(r.cmd(&["SORT", "nokey", "LIMIT", "x", "1"]), NOT_INT);
    assert_eq!(r.cmd(&["SORT", "s", "LIMIT", "1", "y"]), NOT_INT);
    assert_eq!(r.cmd(&["SORT", "nokey", "BY"]), SYNTAX);
    assert_eq!(r.cmd(&["SORT", "nokey", "GET"]), SYNTAX);
    assert_eq!(r.cmd(&["SORT", "nokey", "STORE"]), SYNTAX);
    // SORT_RO has no STORE.
    assert_eq!(r.cmd(&["SORT_RO", "nokey", "STORE", "dst"]), SYNTAX);
    assert_eq!(r.cmd(&["SORT_RO", "s", "STORE", "dst"]), SYNTAX);
    assert_eq!(
        r.cmd(&["SORT"]),
        "-ERR wrong number of arguments for 'sort' command\r\n"
    );
    assert_eq!(
        r.cmd(&["SORT_RO"]),
        "-ERR wrong number of arguments for 'sort_ro' command\r\n"
    );
}

#[test]
fn store_of_nothing_deletes_the_destination() {
    let srv = server();
    let mut r = srv.raw();
    setup(&mut r);
    // A failed SORT leaves the destination alone.
    assert_eq!(r.cmd(&["SORT", "s", "STORE", "dst"]), WRONGTYPE);
    assert_eq!(r.cmd(&["GET", "dst"]), "$1\r\nv\r\n");
    let info = r.cmd(&["INFO", "persistence"]);
    let dirty = |info: &str| -> i64 {
        let l = info
            .lines()
            .find(|l| l.starts_with("rdb_changes_since_last_save:"))
            .unwrap();
        l.split(':').nth(1).unwrap().trim().parse().unwrap()
    };
    let d0 = dirty(&info);
    assert_eq!(r.cmd(&["SORT", "nokey", "STORE", "dst"]), ":0\r\n");
    assert_eq!(r.cmd(&["EXISTS", "dst"]), ":0\r\n");
    assert_eq!(dirty(&r.cmd(&["INFO", "persistence"])) - d0, 1);
    // Nothing to delete: no change counted.
    assert_eq!(r.cmd(&["SORT", "nokey", "STORE", "dst"]), ":0\r\n");
    assert_eq!(dirty(&r.cmd(&["INFO", "persistence"])) - d0, 1);
    // Any type of destination goes.
    assert_eq!(r.cmd(&["SORT", "nokey", "BY", "nosort", "STORE", "h"]), ":0\r\n");
    assert_eq!(r.cmd(&["EXISTS", "h"]), ":0\r\n");
}

#[test]
fn command_info_has_unknown_key_specs() {
    let srv = server();
    let mut r = srv.raw();
    let info = r.cmd(&["COMMAND", "INFO", "sort"]);
    assert!(
        info.starts_with(
            "*1\r\n*10\r\n$4\r\nsort\r\n:-2\r\n*3\r\n+write\r\n+denyoom\r\n+movablekeys\r\n:1\r\n:1\r\n:1\r\n"
        ),
        "{info}"
    );
    assert!(info.contains("$5\r\nnotes\r\n$120\r\nFor the optional BY/GET keyword. It is marked 'unknown' because the key names derive from the content of the key we sort\r\n"), "{info}");
    assert!(info.contains("$5\r\nnotes\r\n$116\r\nFor the optional STORE keyword. It is marked 'unknown' because the keyword can appear anywhere in the argument array\r\n"), "{info}");
    assert!(
        info.contains("$4\r\ntype\r\n$7\r\nunknown\r\n$4\r\nspec\r\n*0\r\n"),
        "{info}"
    );
    let ro = r.cmd(&["COMMAND", "INFO", "sort_ro"]);
    assert!(ro.contains("+readonly\r\n+movablekeys\r\n"), "{ro}");
    assert!(!ro.contains("STORE"), "{ro}");
}
