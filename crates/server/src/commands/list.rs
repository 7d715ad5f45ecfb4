//! List commands (Redis's t_list.c), including the blocking ones.

use larder_engine::types::list::End;
use larder_engine::types::List;
use larder_engine::{Db, Value};

use super::{acl, flags::*, BeginSearch, CommandSpec, FindKeys, KeySpec};
use crate::blocking::{parse_timeout, TimeoutReply};
use crate::dispatch::Ctx;
use crate::util::{int_arg, is, parse_i64, parse_mpop, ERR_NOT_INT, ERR_NO_KEY, ERR_SYNTAX, ERR_WRONGTYPE};

const KEY_RW_INSERT: &[KeySpec] = &[KeySpec::single(1, &["RW", "INSERT"])];
const KEY_RW_ACCESS_DELETE: &[KeySpec] = &[KeySpec::single(1, &["RW", "ACCESS", "DELETE"])];
const KEY_RO_ACCESS: &[KeySpec] = &[KeySpec::single(1, &["RO", "ACCESS"])];
const KEY_RO: &[KeySpec] = &[KeySpec::single(1, &["RO"])];
const KEY_RW_UPDATE: &[KeySpec] = &[KeySpec::single(1, &["RW", "UPDATE"])];
const KEY_RW_DELETE: &[KeySpec] = &[KeySpec::single(1, &["RW", "DELETE"])];
const KEYS_MOVE: &[KeySpec] = &[
    KeySpec::single(1, &["RW", "ACCESS", "DELETE"]),
    KeySpec::single(2, &["RW", "INSERT"]),
];
const KEYS_BPOP: &[KeySpec] = &[KeySpec::range(1, -2, 1, &["RW", "ACCESS", "DELETE"])];
const KEYS_LMPOP: &[KeySpec] = &[KeySpec {
    begin: BeginSearch::Index(1),
    find: FindKeys::Keynum {
        keynum_idx: 0,
        first_key: 1,
        step: 1,
    },
    flags: &["RW", "ACCESS", "DELETE"],
}];
const KEYS_BLMPOP: &[KeySpec] = &[KeySpec {
    begin: BeginSearch::Index(2),
    find: FindKeys::Keynum {
        keynum_idx: 0,
        first_key: 1,
        step: 1,
    },
    flags: &["RW", "ACCESS", "DELETE"],
}];

const W_FAST: u64 = acl::WRITE | acl::LIST | acl::FAST;
const W_SLOW: u64 = acl::WRITE | acl::LIST | acl::SLOW;
const R_SLOW: u64 = acl::READ | acl::LIST | acl::SLOW;
const W_BLOCK: u64 = acl::WRITE | acl::LIST | acl::SLOW | acl::BLOCKING;

const PUSH_COMPLEXITY: &str =
    "O(1) for each element added, so O(N) to add N elements when the command is called with multiple arguments.";

pub static COMMANDS: &[CommandSpec] = &[
    CommandSpec::new("lpush", -3, WRITE | DENYOOM | FAST, W_FAST, lpush)
        .keys(KEY_RW_INSERT)
        .doc("list", "1.0.0", "Prepends one or more elements to a list. Creates the key if it doesn't exist.", PUSH_COMPLEXITY),
    CommandSpec::new("rpush", -3, WRITE | DENYOOM | FAST, W_FAST, rpush)
        .keys(KEY_RW_INSERT)
        .doc("list", "1.0.0", "Appends one or more elements to a list. Creates the key if it doesn't exist.", PUSH_COMPLEXITY),
    CommandSpec::new("lpushx", -3, WRITE | DENYOOM | FAST, W_FAST, lpushx)
        .keys(KEY_RW_INSERT)
        .doc("list", "2.2.0", "Prepends one or more elements to a list only when the list exists.", PUSH_COMPLEXITY),
    CommandSpec::new("rpushx", -3, WRITE | DENYOOM | FAST, W_FAST, rpushx)
        .keys(KEY_RW_INSERT)
        .doc("list", "2.2.0", "Appends an element to a list only when the list exists.", PUSH_COMPLEXITY),
    CommandSpec::new("lpop", -2, WRITE | FAST, W_FAST, lpop)
        .keys(KEY_RW_ACCESS_DELETE)
        .doc("list", "1.0.0", "Returns the first elements in a list after removing it. Deletes the list if the last element was popped.", "O(N) where N is the number of elements returned"),
    CommandSpec::new("rpop", -2, WRITE | FAST, W_FAST, rpop)
        .keys(KEY_RW_ACCESS_DELETE)
        .doc("list", "1.0.0", "Returns and removes the last elements of a list. Deletes the list if the last element was popped.", "O(N) where N is the number of elements returned"),
    CommandSpec::new("lrange", 4, READONLY, R_SLOW, lrange)
        .keys(KEY_RO_ACCESS)
        .doc("list", "1.0.0", "Returns a range of elements from a list.", "O(S+N) where S is the distance of start offset from HEAD for small lists, from nearest end (HEAD or TAIL) for large lists; and N is the number of elements in the specified range."),
    CommandSpec::new("lindex", 3, READONLY, R_SLOW, lindex)
        .keys(KEY_RO_ACCESS)
        .doc("list", "1.0.0", "Returns an element from a list by its index.", "O(N) where N is the number of elements to traverse to get to the element at index. This makes asking for the first or the last element of the list O(1)."),
    CommandSpec::new("lset", 4, WRITE | DENYOOM, W_SLOW, lset)
        .keys(KEY_RW_UPDATE)
        .doc("list", "1.0.0", "Sets the value of an element in a list by its index.", "O(N) where N is the length of the list. Setting either the first or the last element of the list is O(1)."),
    CommandSpec::new("llen", 2, READONLY | FAST, acl::READ | acl::LIST | acl::FAST, llen)
        .keys(KEY_RO)
        .doc("list", "1.0.0", "Returns the length of a list.", "O(1)"),
    CommandSpec::new("lrem", 4, WRITE, W_SLOW, lrem)
        .keys(KEY_RW_DELETE)
        .doc("list", "1.0.0", "Removes elements from a list. Deletes the list if the last element was removed.", "O(N+M) where N is the length of the list and M is the number of elements removed."),
    CommandSpec::new("ltrim", 4, WRITE, W_SLOW, ltrim)
        .keys(KEY_RW_DELETE)
        .doc("list", "1.0.0", "Removes elements from both ends a list. Deletes the list if all elements were trimmed.", "O(N) where N is the number of elements to be removed by the operation."),
    CommandSpec::new("linsert", 5, WRITE | DENYOOM, W_SLOW, linsert)
        .keys(KEY_RW_INSERT)
        .doc("list", "2.2.0", "Inserts an element before or after another element in a list.", "O(N) where N is the number of elements to traverse before seeing the value pivot. This means that inserting somewhere on the left end on the list (head) can be considered O(1) and inserting somewhere on the right end (tail) is O(N)."),
    CommandSpec::new("lpos", -3, READONLY, R_SLOW, lpos)
        .keys(KEY_RO_ACCESS)
        .doc("list", "6.0.6", "Returns the index of matching elements in a list.", "O(N) where N is the number of elements in the list, for the average case. When searching for elements near the head or the tail of the list, or when the MAXLEN option is provided, the command may run in constant time."),
    CommandSpec::new("lmove", 5, WRITE | DENYOOM, W_SLOW, lmove)
        .keys(KEYS_MOVE)
        .doc("list", "6.2.0", "Returns an element after popping it from one list and pushing it to another. Deletes the list if the last element was moved.", "O(1)"),
    CommandSpec::new("rpoplpush", 3, WRITE | DENYOOM, W_SLOW, rpoplpush)
        .keys(KEYS_MOVE)
        .doc("list", "1.2.0", "Returns the last element of a list after removing and pushing it to another list. Deletes the list if the last element was popped.", "O(1)"),
    CommandSpec::new("lmpop", -4, WRITE | MOVABLE_KEYS, W_SLOW, lmpop)
        .keys(KEYS_LMPOP)
        .doc("list", "7.0.0", "Returns multiple elements from a list after removing them. Deletes the list if the last element was popped.", "O(N+M) where N is the number of provided keys and M is the number of elements returned."),
    CommandSpec::new("blpop", -3, WRITE | NOSCRIPT | BLOCKING, W_BLOCK, blpop)
        .keys(KEYS_BPOP)
        .doc("list", "2.0.0", "Removes and returns the first element in a list. Blocks until an element is available otherwise. Deletes the list if the last element was popped.", "O(N) where N is the number of provided keys."),
    CommandSpec::new("brpop", -3, WRITE | NOSCRIPT | BLOCKING, W_BLOCK, brpop)
        .keys(KEYS_BPOP)
        .doc("list", "2.0.0", "Removes and returns the last element in a list. Blocks until an element is available otherwise. Deletes the list if the last element was popped.", "O(N) where N is the number of provided keys."),
    CommandSpec::new("blmove", 6, WRITE | DENYOOM | NOSCRIPT | BLOCKING, W_BLOCK, blmove)
        .keys(KEYS_MOVE)
        .doc("list", "6.2.0", "Pops an element from a list, pushes it to another list and returns it. Blocks until an element is available otherwise. Deletes the list if the last element was moved.", "O(1)"),
    CommandSpec::new("brpoplpush", 4, WRITE | DENYOOM | NOSCRIPT | BLOCKING, W_BLOCK, brpoplpush)
        .keys(KEYS_MOVE)
        .doc("list", "2.2.0", "Pops an element from a list, pushes it to another list and returns it. Block until an element is available otherwise. Deletes the list if the last element was popped.", "O(1)"),
    CommandSpec::new("blmpop", -5, WRITE | BLOCKING | MOVABLE_KEYS, W_BLOCK, blmpop)
        .keys(KEYS_BLMPOP)
        .doc("list", "7.0.0", "Pops the first element from one of multiple lists. Blocks until an element is available otherwise. Deletes the list if the last element was popped.", "O(N+M) where N is the number of provided keys and M is the number of elements returned."),
];

/// `list-max-listpack-size` now in force.
fn fill(ctx: &Ctx<'_>) -> i64 {
    ctx.server.limits().list_max_listpack_size
}

/// The list at `key` for a write: `Ok(None)` if missing, `Err` if the
/// key holds another type.
fn list_mut<'a>(db: &'a mut Db, key: &[u8], now: u64) -> Result<Option<&'a mut List>, ()> {
    match db.lookup_write(key, now) {
        None => Ok(None),
        Some(e) => match e.value_mut() {
            Value::List(l) => Ok(Some(l)),
            _ => Err(()),
        },
    }
}

/// The list at `key` for a read (counts a hit or a miss).
fn list_read<'a>(db: &'a mut Db, key: &[u8], now: u64, touch: bool) -> Result<Option<&'a List>, ()> {
    match db.lookup_read(key, now, touch) {
        None => Ok(None),
        Some(e) => match e.value() {
            Value::List(l) => Ok(Some(l)),
            _ => Err(()),
        },
    }
}

/// After elements were removed from the list at `key`: deletes it when
/// empty, otherwise lets it shrink back to a listpack.
fn removed(db: &mut Db, key: &[u8], now: u64, fill: i64) {
    let empty = match list_mut(db, key, now) {
        Ok(Some(l)) => {
            l.try_shrink(fill);
            l.is_empty()
        }
        _ => false,
    };
    if empty {
        db.remove(key, now);
    }
}

/// LEFT / RIGHT.
fn parse_end(arg: &[u8]) -> Option<End> {
    if is(arg, "left") {
        Some(End::Head)
    } else if is(arg, "right") {
        Some(End::Tail)
    } else {
        None
    }
}

/// Redis's getPositiveLongFromObjectOrReply with its default message.
fn positive(arg: &[u8], msg: &'static str) -> Result<i64, &'static str> {
    match parse_i64(arg) {
        Some(n) if n >= 0 => Ok(n),
        _ => Err(msg),
    }
}

fn push_generic(ctx: &mut Ctx<'_>, args: &[&[u8]], end: End, only_existing: bool) {
    let key = args[1];
    let now = ctx.now;
    let fill = fill(ctx);
    let db = ctx.db(key);
    let len = match list_mut(db, key, now) {
        Err(()) => {
            ctx.out.error(ERR_WRONGTYPE);
            return;
        }
        Ok(Some(l)) => {
            l.push_all(&args[2..], end, fill);
            l.len()
        }
        Ok(None) if only_existing => {
            ctx.out.integer(0);
            return;
        }
        Ok(None) => {
            let mut l = List::new();
            l.push_all(&args[2..], end, fill);
            let len = l.len();
            db.set(key, Value::List(Box::new(l)), None, false, now);
            len
        }
    };
    ctx.dirty(args.len() as u64 - 2);
    ctx.out.integer(len as i64);
}

fn lpush(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    push_generic(ctx, args, End::Head, false);
}

fn rpush(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    push_generic(ctx, args, End::Tail, false);
}

fn lpushx(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    push_generic(ctx, args, End::Head, true);
}

fn rpushx(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    push_generic(ctx, args, End::Tail, true);
}

/// Pops up to `count` elements from `end` of the list at `key` (which
/// must exist), deleting it when emptied. Returns them in pop order.
fn pop_n(ctx: &mut Ctx<'_>, key: &[u8], end: End, count: usize) -> Vec<Box<[u8]>> {
    let now = ctx.now;
    let fill = fill(ctx);
    let db = ctx.db(key);
    let mut popped = Vec::new();
    if let Ok(Some(l)) = list_mut(db, key, now) {
        let n = count.min(l.len());
        popped.reserve(n);
        for _ in 0..n {
            if let Some(e) = l.pop(end) {
                popped.push(e);
            }
        }
    }
    removed(db, key, now, fill);
    ctx.dirty(popped.len() as u64);
    popped
}

fn pop_generic(ctx: &mut Ctx<'_>, args: &[&[u8]], end: End) {
    if args.len() > 3 {
        let name = if end == End::Head { "lpop" } else { "rpop" };
        ctx.out
            .error(&format!("wrong number of arguments for '{name}' command"));
        return;
    }
    let count = match args.get(2) {
        None => None,
        Some(a) => match positive(a, "value is out of range, must be positive") {
            Ok(n) => Some(n as usize),
            Err(e) => {
                ctx.out.error(e);
                return;
            }
        },
    };
    let key = args[1];
    let now = ctx.now;
    let db = ctx.db(key);
    match list_mut(db, key, now) {
        Err(()) => {
            ctx.out.error(ERR_WRONGTYPE);
            return;
        }
        Ok(None) => {
            match count {
                Some(_) => ctx.out.null_array(),
                None => ctx.out.null(),
            }
            return;
        }
        Ok(Some(_)) => {}
    }
    match count {
        Some(0) => ctx.out.array(0),
        Some(n) => {
            let popped = pop_n(ctx, key, end, n);
            ctx.out.array(popped.len());
            for e in &popped {
                ctx.out.bulk(e);
            }
        }
        None => {
            let popped = pop_n(ctx, key, end, 1);
            ctx.out.bulk_or_null(popped.first().map(|e| &**e));
        }
    }
}

fn lpop(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    pop_generic(ctx, args, End::Head);
}

fn rpop(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    pop_generic(ctx, args, End::Tail);
}

/// Clamps a Redis start/end pair to `len`: None if the range is empty.
fn clamp_range(start: i64, end: i64, len: usize) -> Option<(usize, usize)> {
    let len = len as i64;
    let mut start = if start < 0 { len.saturating_add(start) } else { start };
    let mut end = if end < 0 { len.saturating_add(end) } else { end };
    if start < 0 {
        start = 0;
    }
    if start > end || start >= len {
        return None;
    }
    if end >= len {
        end = len - 1;
    }
    Some((start as usize, end as usize))
}

fn lrange(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    let (start, end) = match (int_arg(args[2]), int_arg(args[3])) {
        (Ok(s), Ok(e)) => (s, e),
        _ => {
            ctx.out.error(ERR_NOT_INT);
            return;
        }
    };
    let now = ctx.now;
    let touch = !ctx.client.no_touch;
    let key = args[1];
    let ks = &ctx.server.keyspace;
    let dbi = ctx.client.db;
    let out = &mut *ctx.out;
    let db = ctx.locks.shard(ks, ks.shard_of(key)).db(dbi);
    match list_read(db, key, now, touch) {
        Err(()) => out.error(ERR_WRONGTYPE),
        Ok(None) => out.array(0),
        Ok(Some(l)) => match clamp_range(start, end, l.len()) {
            None => out.array(0),
            Some((s, e)) => {
                out.array(e - s + 1);
                for item in l.range(s, e) {
                    out.bulk(item);
                }
            }
        },
    }
}

fn lindex(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    let now = ctx.now;
    let touch = !ctx.client.no_touch;
    let key = args[1];
    let ks = &ctx.server.keyspace;
    let dbi = ctx.client.db;
    let out = &mut *ctx.out;
    let db = ctx.locks.shard(ks, ks.shard_of(key)).db(dbi);
    match list_read(db, key, now, touch) {
        Err(()) => out.error(ERR_WRONGTYPE),
        Ok(None) => out.null(),
        Ok(Some(l)) => match int_arg(args[2]) {
            Err(e) => out.error(e),
            Ok(i) => out.bulk_or_null(l.get(i)),
        },
    }
}

fn lset(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    let now = ctx.now;
    let fill = fill(ctx);
    let key = args[1];
    let db = ctx.db(key);
    match list_mut(db, key, now) {
        Err(()) => ctx.out.error(ERR_WRONGTYPE),
        Ok(None) => ctx.out.error(ERR_NO_KEY),
        Ok(Some(l)) => match int_arg(args[2]) {
            Err(e) => ctx.out.error(e),
            Ok(i) => {
                if l.set(i, args[3], fill) {
                    ctx.dirty(1);
                    ctx.out.ok();
                } else {
                    ctx.out.error("index out of range");
                }
            }
        },
    }
}

fn llen(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    let now = ctx.now;
    let touch = !ctx.client.no_touch;
    let key = args[1];
    let db = ctx.db(key);
    match list_read(db, key, now, touch) {
        Err(()) => ctx.out.error(ERR_WRONGTYPE),
        Ok(None) => ctx.out.integer(0),
        Ok(Some(l)) => {
            let n = l.len();
            ctx.out.integer(n as i64);
        }
    }
}

fn lrem(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    let count = match int_arg(args[2]) {
        Ok(n) => n,
        Err(e) => {
            ctx.out.error(e);
            return;
        }
    };
    let now = ctx.now;
    let fill = fill(ctx);
    let key = args[1];
    let db = ctx.db(key);
    let n = match list_mut(db, key, now) {
        Err(()) => {
            ctx.out.error(ERR_WRONGTYPE);
            return;
        }
        Ok(None) => 0,
        Ok(Some(l)) => l.remove(args[3], count),
    };
    if n > 0 {
        removed(db, key, now, fill);
        ctx.dirty(n as u64);
    }
    ctx.out.integer(n as i64);
}

fn ltrim(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    let (start, end) = match (int_arg(args[2]), int_arg(args[3])) {
        (Ok(s), Ok(e)) => (s, e),
        _ => {
            ctx.out.error(ERR_NOT_INT);
            return;
        }
    };
    let now = ctx.now;
    let fill = fill(ctx);
    let key = args[1];
    let db = ctx.db(key);
    let n = match list_mut(db, key, now) {
        Err(()) => {
            ctx.out.error(ERR_WRONGTYPE);
            return;
        }
        Ok(None) => {
            ctx.out.ok();
            return;
        }
        Ok(Some(l)) => {
            let len = l.len();
            let (left, right) = match clamp_range(start, end, len) {
                None => (len, 0),
                Some((s, e)) => (s, len - e - 1),
            };
            l.trim(left, right);
            left + right
        }
    };
    removed(db, key, now, fill);
    // An existing list is signalled modified even when nothing was cut
    // (a missing key is not).
    ctx.client.signal_modified = true;
    ctx.dirty(n as u64);
    ctx.out.ok();
}

fn linsert(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    let after = if is(args[2], "after") {
        true
    } else if is(args[2], "before") {
        false
    } else {
        ctx.out.error(ERR_SYNTAX);
        return;
    };
    let now = ctx.now;
    let fill = fill(ctx);
    let key = args[1];
    let db = ctx.db(key);
    match list_mut(db, key, now) {
        Err(()) => ctx.out.error(ERR_WRONGTYPE),
        Ok(None) => ctx.out.integer(0),
        Ok(Some(l)) => {
            if l.insert(args[3], args[4], after, fill) {
                let n = l.len();
                ctx.dirty(1);
                ctx.out.integer(n as i64);
            } else {
                ctx.out.integer(-1);
            }
        }
    }
}

fn lpos(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    let mut rank: i64 = 1;
    let mut count: Option<i64> = None;
    let mut maxlen: i64 = 0;
    let mut j = 3;
    while j < args.len() {
        let more = j + 1 < args.len();
        if is(args[j], "rank") && more {
            j += 1;
            match parse_i64(args[j]) {
                None => return ctx.out.error(ERR_NOT_INT),
                Some(i64::MIN) => {
                    return ctx.out.error(
                        "value is out of range, value must between -9223372036854775807 and 9223372036854775807",
                    )
                }
                Some(0) => {
                    return ctx.out.error(
                        "RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative to start from the end of the list",
                    )
                }
                Some(r) => rank = r,
            }
        } else if is(args[j], "count") && more {
            j += 1;
            match positive(args[j], "COUNT can't be negative") {
                Ok(n) => count = Some(n),
                Err(e) => return ctx.out.error(e),
            }
        } else if is(args[j], "maxlen") && more {
            j += 1;
            match positive(args[j], "MAXLEN can't be negative") {
                Ok(n) => maxlen = n,
                Err(e) => return ctx.out.error(e),
            }
        } else {
            return ctx.out.error(ERR_SYNTAX);
        }
        j += 1;
    }
    let from_tail = rank < 0;
    let rank = rank.unsigned_abs();
    let now = ctx.now;
    let touch = !ctx.client.no_touch;
    let key = args[1];
    let ks = &ctx.server.keyspace;
    let dbi = ctx.client.db;
    let out = &mut *ctx.out;
    let db = ctx.locks.shard(ks, ks.shard_of(key)).db(dbi);
    let l = match list_read(db, key, now, touch) {
        Err(()) => return out.error(ERR_WRONGTYPE),
        Ok(None) => {
            match count {
                Some(_) => out.array(0),
                None => out.null(),
            }
            return;
        }
        Ok(Some(l)) => l,
    };
    let len = l.len();
    let scan = if maxlen == 0 { len } else { (maxlen as usize).min(len) };
    let ele = args[2];
    let mut found: Vec<usize> = Vec::new();
    let want = match count {
        None => 1,
        Some(0) => usize::MAX,
        Some(n) => n as usize,
    };
    let mut matches: u64 = 0;
    let mut visit = |i: usize, e: &[u8]| -> bool {
        if e == ele {
            matches += 1;
            if matches >= rank {
                found.push(i);
                if found.len() >= want {
                    return true;
                }
            }
        }
        false
    };
    if from_tail {
        for (k, e) in l.iter().rev().take(scan).enumerate() {
            if visit(len - 1 - k, e) {
                break;
            }
        }
    } else {
        for (i, e) in l.iter().take(scan).enumerate() {
            if visit(i, e) {
                break;
            }
        }
    }
    match count {
        Some(_) => {
            out.array(found.len());
            for i in found {
                out.integer(i as i64);
            }
        }
        None => match found.first() {
            Some(&i) => out.integer(i as i64),
            None => out.null(),
        },
    }
}

/// LMOVE's work once the positions are parsed: pops from `src`, pushes
/// to `dst`, replies with the element (null if `src` is missing).
fn move_generic(ctx: &mut Ctx<'_>, src: &[u8], dst: &[u8], from: End, to: End) {
    let now = ctx.now;
    let fill = fill(ctx);
    match list_mut(ctx.db(src), src, now) {
        Err(()) => return ctx.out.error(ERR_WRONGTYPE),
        Ok(None) => return ctx.out.null(),
        Ok(Some(_)) => {}
    }
    if src != dst && matches!(list_mut(ctx.db(dst), dst, now), Err(())) {
        return ctx.out.error(ERR_WRONGTYPE);
    }
    let Ok(Some(l)) = list_mut(ctx.db(src), src, now) else {
        return ctx.out.null();
    };
    let Some(item) = l.pop(from) else {
        return ctx.out.null();
    };
    ctx.out.bulk(&item);
    let ddb = ctx.db(dst);
    match list_mut(ddb, dst, now) {
        Ok(Some(d)) => d.push_moved(item, to, fill),
        _ => {
            let mut d = List::new();
            d.push_moved(item, to, fill);
            ddb.set(dst, Value::List(Box::new(d)), None, false, now);
        }
    }
    removed(ctx.db(src), src, now, fill);
    ctx.dirty(1);
}

fn lmove(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    let (Some(from), Some(to)) = (parse_end(args[3]), parse_end(args[4])) else {
        return ctx.out.error(ERR_SYNTAX);
    };
    move_generic(ctx, args[1], args[2], from, to);
}

fn rpoplpush(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    move_generic(ctx, args[1], args[2], End::Tail, End::Head);
}

/// Pops up to `count` from the first non-empty list among `keys` and
/// replies `[key, [elements]]`. Returns false (writing nothing) if every
/// key is missing; WRONGTYPE is replied and counts as done.
fn mpop_first(ctx: &mut Ctx<'_>, keys: &[&[u8]], end: End, count: usize) -> bool {
    let now = ctx.now;
    for &key in keys {
        match list_mut(ctx.db(key), key, now) {
            Err(()) => {
                ctx.out.error(ERR_WRONGTYPE);
                return true;
            }
            Ok(None) => continue,
            Ok(Some(l)) if l.is_empty() => continue,
            Ok(Some(_)) => {
                let popped = pop_n(ctx, key, end, count);
                ctx.out.array(2);
                ctx.out.bulk(key);
                ctx.out.array(popped.len());
                for e in &popped {
                    ctx.out.bulk(e);
                }
                return true;
            }
        }
    }
    false
}

/// LMPOP/BLMPOP's `numkeys key... LEFT|RIGHT [COUNT n]` from `numkeys_idx`.
fn parse_lmpop<'a>(args: &[&'a [u8]], numkeys_idx: usize) -> Result<(Vec<&'a [u8]>, End, usize), &'static str> {
    let (keys, right, count) = parse_mpop(args, numkeys_idx, ["left", "right"])?;
    Ok((keys, if right { End::Tail } else { End::Head }, count))
}

fn lmpop(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    let (keys, end, count) = match parse_lmpop(args, 1) {
        Ok(x) => x,
        Err(e) => return ctx.out.error(e),
    };
    if !mpop_first(ctx, &keys, end, count) {
        ctx.out.null_array();
    }
}

fn blmpop(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    let (keys, end, count) = match parse_lmpop(args, 2) {
        Ok(x) => x,
        Err(e) => return ctx.out.error(e),
    };
    let deadline = match parse_timeout(args[1], ctx.now) {
        Ok(d) => d,
        Err(e) => return ctx.out.error(e),
    };
    if !mpop_first(ctx, &keys, end, count) {
        ctx.block(&keys, deadline, TimeoutReply::NullArray);
    }
}

fn bpop_generic(ctx: &mut Ctx<'_>, args: &[&[u8]], end: End) {
    let deadline = match parse_timeout(args[args.len() - 1], ctx.now) {
        Ok(d) => d,
        Err(e) => return ctx.out.error(e),
    };
    let keys = &args[1..args.len() - 1];
    let now = ctx.now;
    for &key in keys {
        match list_mut(ctx.db(key), key, now) {
            Err(()) => return ctx.out.error(ERR_WRONGTYPE),
            Ok(None) => continue,
            Ok(Some(l)) if l.is_empty() => continue,
            Ok(Some(_)) => {
                let popped = pop_n(ctx, key, end, 1);
                ctx.out.array(2);
                ctx.out.bulk(key);
                ctx.out.bulk_or_null(popped.first().map(|e| &**e));
                return;
            }
        }
    }
    ctx.block(keys, deadline, TimeoutReply::NullArray);
}

fn blpop(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    bpop_generic(ctx, args, End::Head);
}

fn brpop(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    bpop_generic(ctx, args, End::Tail);
}

fn bmove_generic(ctx: &mut Ctx<'_>, args: &[&[u8]], from: End, to: End, timeout: &[u8]) {
    let deadline = match parse_timeout(timeout, ctx.now) {
        Ok(d) => d,
        Err(e) => return ctx.out.error(e),
    };
    let now = ctx.now;
    match list_mut(ctx.db(args[1]), args[1], now) {
        Err(()) => ctx.out.error(ERR_WRONGTYPE),
        Ok(None) => ctx.block(&args[1..2], deadline, TimeoutReply::NullBulk),
        Ok(Some(_)) => move_generic(ctx, args[1], args[2], from, to),
    }
}

fn blmove(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    let (Some(from), Some(to)) = (parse_end(args[3]), parse_end(args[4])) else {
        return ctx.out.error(ERR_SYNTAX);
    };
    bmove_generic(ctx, args, from, to, args[5]);
}

fn brpoplpush(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    bmove_generic(ctx, args, End::Tail, End::Head, args[3]);
}
