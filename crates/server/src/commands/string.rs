//! String commands (Redis's t_string.c).

use larder_engine::value::itoa_buf;
use larder_engine::Value;

use super::{acl, flags::*, CommandSpec, KeySpec};
use crate::dispatch::Ctx;
use crate::util::{int_arg, is, parse_i64, ERR_NOT_FLOAT, ERR_NOT_INT, ERR_OVERFLOW, ERR_SYNTAX, ERR_WRONGTYPE};

const KEY_RO: &[KeySpec] = &[KeySpec::single(1, &["RO", "ACCESS"])];
const KEY_RO_NOACCESS: &[KeySpec] = &[KeySpec::single(1, &["RO"])];
const KEY_SET: &[KeySpec] = &[KeySpec::single_noted(
    1,
    "RW and ACCESS due to the optional `GET` argument",
    &["RW", "ACCESS", "UPDATE", "VARIABLE_FLAGS"],
)];
const KEY_GETEX: &[KeySpec] = &[KeySpec::single_noted(
    1,
    "RW and UPDATE because it changes the TTL",
    &["RW", "ACCESS", "UPDATE"],
)];
const KEY_OW_INSERT: &[KeySpec] = &[KeySpec::single(1, &["OW", "INSERT"])];
const KEY_OW_UPDATE: &[KeySpec] = &[KeySpec::single(1, &["OW", "UPDATE"])];
const KEY_RW_ACCESS_UPDATE: &[KeySpec] = &[KeySpec::single(1, &["RW", "ACCESS", "UPDATE"])];
const KEY_RW_ACCESS_DELETE: &[KeySpec] = &[KeySpec::single(1, &["RW", "ACCESS", "DELETE"])];
const KEY_RW_INSERT: &[KeySpec] = &[KeySpec::single(1, &["RW", "INSERT"])];
const KEY_RW_UPDATE: &[KeySpec] = &[KeySpec::single(1, &["RW", "UPDATE"])];
const KEYS_MGET: &[KeySpec] = &[KeySpec::range(1, -1, 1, &["RO", "ACCESS"])];
const KEYS_MSET: &[KeySpec] = &[KeySpec::range(1, -1, 2, &["OW", "UPDATE"])];
const KEYS_MSETNX: &[KeySpec] = &[KeySpec::range(1, -1, 2, &["OW", "INSERT"])];
const KEYS_LCS: &[KeySpec] = &[KeySpec::range(1, 1, 1, &["RO", "ACCESS"])];

const RANGE_COMPLEXITY: &str = "O(N) where N is the length of the returned string. The complexity is ultimately determined by the returned length, but because creating a substring from an existing string is very cheap, it can be considered O(1) for small strings.";

pub static COMMANDS: &[CommandSpec] = &[
    CommandSpec::new("get", 2, READONLY | FAST, acl::READ | acl::STRING | acl::FAST, get)
        .keys(KEY_RO)
        .doc("string", "1.0.0", "Returns the string value of a key.", "O(1)"),
    CommandSpec::new("set", -3, WRITE | DENYOOM, acl::WRITE | acl::STRING | acl::SLOW, set)
        .keys(KEY_SET)
        .doc(
            "string",
            "1.0.0",
            "Sets the string value of a key, ignoring its type. The key is created if it doesn't exist.",
            "O(1)",
        ),
    CommandSpec::new("setnx", 3, WRITE | DENYOOM | FAST, acl::WRITE | acl::STRING | acl::FAST, setnx)
        .keys(KEY_OW_INSERT)
        .doc(
            "string",
            "1.0.0",
            "Set the string value of a key only when the key doesn't exist.",
            "O(1)",
        ),
    CommandSpec::new("setex", 4, WRITE | DENYOOM, acl::WRITE | acl::STRING | acl::SLOW, setex)
        .keys(KEY_OW_UPDATE)
        .doc(
            "string",
            "2.0.0",
            "Sets the string value and expiration time of a key. Creates the key if it doesn't exist.",
            "O(1)",
        ),
    CommandSpec::new("psetex", 4, WRITE | DENYOOM, acl::WRITE | acl::STRING | acl::SLOW, psetex)
        .keys(KEY_OW_UPDATE)
        .doc(
            "string",
            "2.6.0",
            "Sets both string value and expiration time in milliseconds of a key. The key is created if it doesn't exist.",
            "O(1)",
        ),
    CommandSpec::new("getset", 3, WRITE | DENYOOM | FAST, acl::WRITE | acl::STRING | acl::FAST, getset)
        .keys(KEY_RW_ACCESS_UPDATE)
        .doc(
            "string",
            "1.0.0",
            "Returns the previous string value of a key after setting it to a new value.",
            "O(1)",
        ),
    CommandSpec::new("getdel", 2, WRITE | FAST, acl::WRITE | acl::STRING | acl::FAST, getdel)
        .keys(KEY_RW_ACCESS_DELETE)
        .doc(
            "string",
            "6.2.0",
            "Returns the string value of a key after deleting the key.",
            "O(1)",
        ),
    CommandSpec::new("getex", -2, WRITE | FAST, acl::WRITE | acl::STRING | acl::FAST, getex)
        .keys(KEY_GETEX)
        .doc(
            "string",
            "6.2.0",
            "Returns the string value of a key after setting its expiration time.",
            "O(1)",
        ),
    CommandSpec::new("mget", -2, READONLY | FAST, acl::READ | acl::STRING | acl::FAST, mget)
        .keys(KEYS_MGET)
        .doc(
            "string",
            "1.0.0",
            "Atomically returns the string values of one or more keys.",
            "O(N) where N is the number of keys to retrieve.",
        )
        .tips(&["request_policy:multi_shard"]),
    CommandSpec::new("mset", -3, WRITE | DENYOOM, acl::WRITE | acl::STRING | acl::SLOW, mset)
        .keys(KEYS_MSET)
        .doc(
            "string",
            "1.0.1",
            "Atomically creates or modifies the string values of one or more keys.",
            "O(N) where N is the number of keys to set.",
        )
        .tips(&["request_policy:multi_shard", "response_policy:all_succeeded"]),
    CommandSpec::new("msetnx", -3, WRITE | DENYOOM, acl::WRITE | acl::STRING | acl::SLOW, msetnx)
        .keys(KEYS_MSETNX)
        .doc(
            "string",
            "1.0.1",
            "Atomically modifies the string values of one or more keys only when all keys don't exist.",
            "O(N) where N is the number of keys to set.",
        )
        .tips(&["request_policy:multi_shard", "response_policy:agg_min"]),
    CommandSpec::new("append", 3, WRITE | DENYOOM | FAST, acl::WRITE | acl::STRING | acl::FAST, append)
        .keys(KEY_RW_INSERT)
        .doc(
            "string",
            "2.0.0",
            "Appends a string to the value of a key. Creates the key if it doesn't exist.",
            "O(1). The amortized time complexity is O(1) assuming the appended value is small and the already present value is of any size, since the dynamic string library used by Redis will double the free space available on every reallocation.",
        ),
    CommandSpec::new("strlen", 2, READONLY | FAST, acl::READ | acl::STRING | acl::FAST, strlen)
        .keys(KEY_RO_NOACCESS)
        .doc("string", "2.2.0", "Returns the length of a string value.", "O(1)"),
    CommandSpec::new("getrange", 4, READONLY, acl::READ | acl::STRING | acl::SLOW, getrange)
        .keys(KEY_RO)
        .doc(
            "string",
            "2.4.0",
            "Returns a substring of the string stored at a key.",
            RANGE_COMPLEXITY,
        ),
    CommandSpec::new("substr", 4, READONLY, acl::READ | acl::STRING | acl::SLOW, getrange)
        .keys(KEY_RO)
        .doc(
            "string",
            "1.0.0",
            "Returns a substring from string value.",
            RANGE_COMPLEXITY,
        ),
    CommandSpec::new("setrange", 4, WRITE | DENYOOM, acl::WRITE | acl::STRING | acl::SLOW, setrange)
        .keys(KEY_RW_UPDATE)
        .doc(
            "string",
            "2.2.0",
            "Overwrites a part of a string value with another by an offset. Creates the key if it doesn't exist.",
            "O(1), not counting the time taken to copy the new string in place. Usually, this string is very small so the amortized complexity is O(1). Otherwise, complexity is O(M) with M being the length of the value argument.",
        ),
    CommandSpec::new("incr", 2, WRITE | DENYOOM | FAST, acl::WRITE | acl::STRING | acl::FAST, incr)
        .keys(KEY_RW_ACCESS_UPDATE)
        .doc(
            "string",
            "1.0.0",
            "Increments the integer value of a key by one. Uses 0 as initial value if the key doesn't exist.",
            "O(1)",
        ),
    CommandSpec::new("decr", 2, WRITE | DENYOOM | FAST, acl::WRITE | acl::STRING | acl::FAST, decr)
        .keys(KEY_RW_ACCESS_UPDATE)
        .doc(
            "string",
            "1.0.0",
            "Decrements the integer value of a key by one. Uses 0 as initial value if the key doesn't exist.",
            "O(1)",
        ),
    CommandSpec::new("incrby", 3, WRITE | DENYOOM | FAST, acl::WRITE | acl::STRING | acl::FAST, incrby)
        .keys(KEY_RW_ACCESS_UPDATE)
        .doc(
            "string",
            "1.0.0",
            "Increments the integer value of a key by a number. Uses 0 as initial value if the key doesn't exist.",
            "O(1)",
        ),
    CommandSpec::new("decrby", 3, WRITE | DENYOOM | FAST, acl::WRITE | acl::STRING | acl::FAST, decrby)
        .keys(KEY_RW_ACCESS_UPDATE)
        .doc(
            "string",
            "1.0.0",
            "Decrements a number from the integer value of a key. Uses 0 as initial value if the key doesn't exist.",
            "O(1)",
        ),
    CommandSpec::new(
        "incrbyfloat",
        3,
        WRITE | DENYOOM | FAST,
        acl::WRITE | acl::STRING | acl::FAST,
        incrbyfloat,
    )
    .keys(KEY_RW_ACCESS_UPDATE)
    .doc(
        "string",
        "2.6.0",
        "Increment the floating point value of a key by a number. Uses 0 as initial value if the key doesn't exist.",
        "O(1)",
    ),
    CommandSpec::new("lcs", -3, READONLY, acl::READ | acl::STRING | acl::SLOW, lcs)
        .keys(KEYS_LCS)
        .doc(
            "string",
            "7.0.0",
            "Finds the longest common substring.",
            "O(N*M) where N and M are the lengths of s1 and s2, respectively",
        ),
];

/// The bytes of a string value, copied out. `Err` if the value is not a
/// string (WRONGTYPE).
fn string_bytes(v: &Value) -> Result<Vec<u8>, ()> {
    let mut scratch = itoa_buf::Buf::default();
    v.as_bytes(&mut scratch).map(<[u8]>::to_vec).ok_or(())
}

/// Redis's `proto-max-bulk-len`: the largest string a command may build.
fn max_string_len(ctx: &Ctx<'_>) -> u64 {
    ctx.server.config.read().proto_max_bulk_len.max(0) as u64
}

const ERR_TOO_BIG: &str = "string exceeds maximum allowed size (proto-max-bulk-len)";

/// Redis's checkStringLength: `size + append` must not exceed the limit.
fn check_string_length(size: u64, append: u64, max: u64) -> Result<(), &'static str> {
    match size.checked_add(append) {
        Some(total) if total <= max => Ok(()),
        _ => Err(ERR_TOO_BIG),
    }
}

fn get(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    let now = ctx.now;
    let touch = !ctx.client.no_touch;
    let out = &mut *ctx.out;
    let dbi = ctx.client.db;
    let ks = &ctx.server.keyspace;
    let db = ctx.locks.shard(ks, ks.shard_of(args[1])).db(dbi);
    match db.lookup_read(args[1], now, touch) {
        None => out.null(),
        Some(e) => {
            let mut scratch = itoa_buf::Buf::default();
            match e.value().as_bytes(&mut scratch) {
                Some(b) => out.bulk(b),
                None => out.error(ERR_WRONGTYPE),
            }
        }
    }
}

/// SET's condition.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Condition {
    Always,
    IfMissing,
    IfExists,
}

/// The unit of an expire time argument.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExpireUnit {
    /// EX: relative seconds.
    Ex,
    /// PX: relative milliseconds.
    Px,
    /// EXAT: absolute unix seconds.
    ExAt,
    /// PXAT: absolute unix milliseconds.
    PxAt,
}

impl ExpireUnit {
    fn ms(self) -> u64 {
        match self {
            ExpireUnit::Ex | ExpireUnit::ExAt => 1000,
            ExpireUnit::Px | ExpireUnit::PxAt => 1,
        }
    }
    fn absolute(self) -> bool {
        matches!(self, ExpireUnit::ExAt | ExpireUnit::PxAt)
    }
}

/// The TTL part of SET / GETEX options, still unparsed: Redis checks the
/// option syntax of the whole command before it parses the time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Expiry<'a> {
    None,
    KeepTtl,
    /// GETEX PERSIST.
    Persist,
    Time(ExpireUnit, &'a [u8]),
}

#[derive(Clone, Copy, Debug)]
pub struct SetOptions<'a> {
    pub condition: Condition,
    pub expiry: Expiry<'a>,
    pub get: bool,
}

/// What SET-like commands reply when they set, or when NX/XX stopped them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SetReply {
    /// `+OK`, or a null when the condition failed (SET, SETEX, PSETEX).
    Ok,
    /// `:1` or `:0` (SETNX).
    OneZero,
}

/// Parses an expire time argument into an absolute deadline (ms), with
/// Redis's "invalid expire time in '<cmd>' command" when it is not
/// positive or overflows (getExpireMillisecondsOrReply).
pub fn expire_deadline(arg: &[u8], unit_ms: u64, absolute: bool, now: u64, cmd: &str) -> Result<u64, String> {
    let n = int_arg(arg).map_err(String::from)?;
    let invalid = || format!("invalid expire time in '{cmd}' command");
    if n <= 0 {
        return Err(invalid());
    }
    let ms = (n as u64)
        .checked_mul(unit_ms)
        .filter(|&v| v <= i64::MAX as u64)
        .ok_or_else(invalid)?;
    if absolute {
        Ok(ms)
    } else {
        now.checked_add(ms)
            .filter(|&v| v <= i64::MAX as u64)
            .ok_or_else(invalid)
    }
}

/// Which command's options `parse_extended_options` reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum OptsFor {
    Set,
    GetEx,
}

/// Redis's parseExtendedStringArgumentsOrReply: SET's options from
/// argument 3, GETEX's from argument 2. Only the syntax is checked here.
fn parse_extended_options<'a>(args: &[&'a [u8]], which: OptsFor) -> Result<SetOptions<'a>, &'static str> {
    let set = which == OptsFor::Set;
    let mut o = SetOptions {
        condition: Condition::Always,
        expiry: Expiry::None,
        get: false,
    };
    let mut unit: Option<ExpireUnit> = None;
    let mut i = if set { 3 } else { 2 };
    while i < args.len() {
        let a = args[i];
        let next = args.get(i + 1).copied();
        let keep = o.expiry == Expiry::KeepTtl;
        let persist = o.expiry == Expiry::Persist;
        let unit_ok = |u: ExpireUnit| !keep && !persist && (unit.is_none() || unit == Some(u)) && next.is_some();
        let time_unit = if is(a, "ex") {
            Some(ExpireUnit::Ex)
        } else if is(a, "px") {
            Some(ExpireUnit::Px)
        } else if is(a, "exat") {
            Some(ExpireUnit::ExAt)
        } else if is(a, "pxat") {
            Some(ExpireUnit::PxAt)
        } else {
            None
        };
        if set && is(a, "nx") && o.condition != Condition::IfExists {
            o.condition = Condition::IfMissing;
        } else if set && is(a, "xx") && o.condition != Condition::IfMissing {
            o.condition = Condition::IfExists;
        } else if set && is(a, "get") {
            o.get = true;
        } else if set && is(a, "keepttl") && !persist && unit.is_none() {
            o.expiry = Expiry::KeepTtl;
        } else if !set && is(a, "persist") && unit.is_none() && !keep {
            o.expiry = Expiry::Persist;
        } else if let (Some(u), Some(n)) = (time_unit.filter(|&u| unit_ok(u)), next) {
            unit = Some(u);
            o.expiry = Expiry::Time(u, n);
            i += 1;
        } else {
            return Err(ERR_SYNTAX);
        }
        i += 1;
    }
    Ok(o)
}

/// SET and its variants (SETNX, SETEX, PSETEX, GETSET) lower to this:
/// Redis's setGenericCommand. Writes the reply.
pub fn set_generic(ctx: &mut Ctx<'_>, cmd: &str, key: &[u8], value: &[u8], o: SetOptions<'_>, reply: SetReply) {
    let now = ctx.now;
    // The expire time is validated first.
    let (deadline, keep_ttl) = match o.expiry {
        Expiry::None | Expiry::Persist => (None, false),
        Expiry::KeepTtl => (None, true),
        Expiry::Time(unit, arg) => match expire_deadline(arg, unit.ms(), unit.absolute(), now, cmd) {
            Ok(t) => (Some(t), false),
            Err(e) => {
                ctx.out.error(&e);
                return;
            }
        },
    };
    let touch = !ctx.client.no_touch;
    let db = ctx.db(key);
    // GET: the old value, read like GET does (counting a hit or miss).
    let mut old: Option<Option<Vec<u8>>> = None;
    if o.get {
        match db.lookup_read(key, now, touch) {
            None => old = Some(None),
            Some(e) => match string_bytes(e.value()) {
                Ok(b) => old = Some(Some(b)),
                Err(()) => {
                    ctx.out.error(ERR_WRONGTYPE);
                    return;
                }
            },
        }
    }
    let exists = db.lookup_write(key, now).is_some();
    let proceed = match o.condition {
        Condition::Always => true,
        Condition::IfMissing => !exists,
        Condition::IfExists => exists,
    };
    if proceed {
        if matches!(deadline, Some(t) if t <= now) {
            // A deadline already past: the key is written and expires at
            // once (Redis deletes it and propagates a DEL).
            db.remove(key, now);
        } else {
            db.set(key, Value::from_bytes(value), deadline, keep_ttl, now);
        }
        ctx.dirty(1);
    }
    match (old, reply) {
        (Some(v), _) => ctx.out.bulk_or_null(v.as_deref()),
        (None, SetReply::Ok) if proceed => ctx.out.ok(),
        (None, SetReply::Ok) => ctx.out.null(),
        (None, SetReply::OneZero) => ctx.out.integer(proceed as i64),
    }
}

fn set(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    match parse_extended_options(args, OptsFor::Set) {
        Ok(o) => set_generic(ctx, "set", args[1], args[2], o, SetReply::Ok),
        Err(e) => ctx.out.error(e),
    }
}

fn setnx(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    let o = SetOptions {
        condition: Condition::IfMissing,
        expiry: Expiry::None,
        get: false,
    };
    set_generic(ctx, "setnx", args[1], args[2], o, SetReply::OneZero);
}

fn setex(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    let o = SetOptions {
        condition: Condition::Always,
        expiry: Expiry::Time(ExpireUnit::Ex, args[2]),
        get: false,
    };
    set_generic(ctx, "setex", args[1], args[3], o, SetReply::Ok);
}

fn psetex(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    let o = SetOptions {
        condition: Condition::Always,
        expiry: Expiry::Time(ExpireUnit::Px, args[2]),
        get: false,
    };
    set_generic(ctx, "psetex", args[1], args[3], o, SetReply::Ok);
}

fn getset(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    let o = SetOptions {
        condition: Condition::Always,
        expiry: Expiry::None,
        get: true,
    };
    set_generic(ctx, "getset", args[1], args[2], o, SetReply::Ok);
}

fn getdel(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    let now = ctx.now;
    let touch = !ctx.client.no_touch;
    let key = args[1];
    let db = ctx.db(key);
    let bytes = match db.lookup_read(key, now, touch) {
        None => {
            ctx.out.null();
            return;
        }
        Some(e) => match string_bytes(e.value()) {
            Ok(b) => b,
            Err(()) => {
                ctx.out.error(ERR_WRONGTYPE);
                return;
            }
        },
    };
    db.remove(key, now);
    ctx.dirty(1);
    ctx.out.bulk(&bytes);
}

fn getex(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    let o = match parse_extended_options(args, OptsFor::GetEx) {
        Ok(o) => o,
        Err(e) => {
            ctx.out.error(e);
            return;
        }
    };
    let now = ctx.now;
    let touch = !ctx.client.no_touch;
    let key = args[1];
    let db = ctx.db(key);
    let (bytes, had_ttl) = match db.lookup_read(key, now, touch) {
        None => {
            ctx.out.null();
            return;
        }
        Some(e) => match string_bytes(e.value()) {
            Ok(b) => (b, e.expire_at().is_some()),
            Err(()) => {
                ctx.out.error(ERR_WRONGTYPE);
                return;
            }
        },
    };
    let mut changed = false;
    match o.expiry {
        Expiry::Time(unit, arg) => match expire_deadline(arg, unit.ms(), unit.absolute(), now, "getex") {
            Err(e) => {
                ctx.out.error(&e);
                return;
            }
            Ok(t) if unit.absolute() && t <= now => {
                db.remove(key, now);
                changed = true;
            }
            Ok(t) => {
                db.set_expire(key, Some(t), now);
                changed = true;
            }
        },
        Expiry::Persist if had_ttl => {
            db.set_expire(key, None, now);
            changed = true;
        }
        Expiry::None | Expiry::KeepTtl | Expiry::Persist => {}
    }
    if changed {
        ctx.dirty(1);
    }
    ctx.out.bulk(&bytes);
}

fn mget(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    let now = ctx.now;
    let touch = !ctx.client.no_touch;
    ctx.out.array(args.len() - 1);
    for key in &args[1..] {
        let dbi = ctx.client.db;
        let ks = &ctx.server.keyspace;
        let db = ctx.locks.shard(ks, ks.shard_of(key)).db(dbi);
        let out = &mut *ctx.out;
        match db.lookup_read(key, now, touch) {
            None => out.null(),
            Some(e) => {
                let mut scratch = itoa_buf::Buf::default();
                // A key of another type reads as a null, not an error.
                out.bulk_or_null(e.value().as_bytes(&mut scratch));
            }
        }
    }
}

fn mset_generic(ctx: &mut Ctx<'_>, args: &[&[u8]], nx: bool) {
    if args.len() & 1 == 0 {
        let name = if nx { "msetnx" } else { "mset" };
        ctx.out
            .error(&format!("wrong number of arguments for '{name}' command"));
        return;
    }
    let now = ctx.now;
    if nx {
        for pair in args[1..].chunks_exact(2) {
            if ctx.db(pair[0]).lookup_write(pair[0], now).is_some() {
                ctx.out.integer(0);
                return;
            }
        }
    }
    for pair in args[1..].chunks_exact(2) {
        ctx.db(pair[0])
            .set(pair[0], Value::from_bytes(pair[1]), None, false, now);
    }
    ctx.dirty((args.len() as u64 - 1) / 2);
    if nx {
        ctx.out.integer(1);
    } else {
        ctx.out.ok();
    }
}

fn mset(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    mset_generic(ctx, args, false);
}

fn msetnx(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    mset_generic(ctx, args, true);
}

fn append(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    let now = ctx.now;
    let max = max_string_len(ctx);
    let (key, tail) = (args[1], args[2]);
    let db = ctx.db(key);
    let total = match db.lookup_write(key, now) {
        None => {
            db.set(key, Value::from_bytes(tail), None, false, now);
            tail.len()
        }
        Some(e) => {
            let Some(len) = e.value().str_len() else {
                ctx.out.error(ERR_WRONGTYPE);
                return;
            };
            if let Err(msg) = check_string_length(len as u64, tail.len() as u64, max) {
                ctx.out.error(msg);
                return;
            }
            match e.value_mut().make_raw() {
                Some(v) => {
                    v.extend_from_slice(tail);
                    v.len()
                }
                None => {
                    ctx.out.error(ERR_WRONGTYPE);
                    return;
                }
            }
        }
    };
    ctx.dirty(1);
    ctx.out.integer(total as i64);
}

fn strlen(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    let now = ctx.now;
    let touch = !ctx.client.no_touch;
    let key = args[1];
    match ctx.db(key).lookup_read(key, now, touch) {
        None => ctx.out.integer(0),
        Some(e) => match e.value().str_len() {
            Some(n) => ctx.out.integer(n as i64),
            None => ctx.out.error(ERR_WRONGTYPE),
        },
    }
}

/// The byte range GETRANGE returns for `start..=end` over a string of
/// `len` bytes (Redis's index rules), or `None` for an empty reply.
fn range_of(start: i64, end: i64, len: usize) -> Option<(usize, usize)> {
    let len = len as i64;
    if start < 0 && end < 0 && start > end {
        return None;
    }
    let mut start = if start < 0 { start.saturating_add(len) } else { start };
    let mut end = if end < 0 { end.saturating_add(len) } else { end };
    if start < 0 {
        start = 0;
    }
    if end < 0 {
        end = 0;
    }
    if end >= len {
        end = len - 1;
    }
    if start > end || len == 0 {
        return None;
    }
    Some((start as usize, end as usize))
}

fn getrange(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    let (start, end) = match (int_arg(args[2]), int_arg(args[3])) {
        (Ok(s), Ok(e)) => (s, e),
        (Err(m), _) | (_, Err(m)) => {
            ctx.out.error(m);
            return;
        }
    };
    let now = ctx.now;
    let touch = !ctx.client.no_touch;
    let key = args[1];
    let dbi = ctx.client.db;
    let ks = &ctx.server.keyspace;
    let db = ctx.locks.shard(ks, ks.shard_of(key)).db(dbi);
    let out = &mut *ctx.out;
    match db.lookup_read(key, now, touch) {
        None => out.bulk(b""),
        Some(e) => {
            let mut scratch = itoa_buf::Buf::default();
            match e.value().as_bytes(&mut scratch) {
                None => out.error(ERR_WRONGTYPE),
                Some(s) => match range_of(start, end, s.len()) {
                    None => out.bulk(b""),
                    Some((a, b)) => out.bulk(&s[a..=b]),
                },
            }
        }
    }
}

fn setrange(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    let offset = match int_arg(args[2]) {
        Ok(n) => n,
        Err(m) => {
            ctx.out.error(m);
            return;
        }
    };
    if offset < 0 {
        ctx.out.error("offset is out of range");
        return;
    }
    let offset = offset as u64;
    let now = ctx.now;
    let max = max_string_len(ctx);
    let (key, value) = (args[1], args[3]);
    let db = ctx.db(key);
    let new_len = match db.lookup_write(key, now) {
        None => {
            if value.is_empty() {
                ctx.out.integer(0);
                return;
            }
            if let Err(m) = check_string_length(offset, value.len() as u64, max) {
                ctx.out.error(m);
                return;
            }
            // Bounded by proto-max-bulk-len just above.
            let mut v = vec![0u8; offset as usize + value.len()];
            v[offset as usize..].copy_from_slice(value);
            let n = v.len();
            db.set(key, Value::Raw(Box::new(v)), None, false, now);
            n
        }
        Some(e) => {
            let Some(olen) = e.value().str_len() else {
                ctx.out.error(ERR_WRONGTYPE);
                return;
            };
            if value.is_empty() {
                ctx.out.integer(olen as i64);
                return;
            }
            if let Err(m) = check_string_length(offset, value.len() as u64, max) {
                ctx.out.error(m);
                return;
            }
            let Some(v) = e.value_mut().make_raw() else {
                ctx.out.error(ERR_WRONGTYPE);
                return;
            };
            let off = offset as usize;
            let end = off + value.len();
            if v.len() < end {
                v.resize(end, 0);
            }
            v[off..end].copy_from_slice(value);
            v.len()
        }
    };
    ctx.dirty(1);
    ctx.out.integer(new_len as i64);
}

/// Redis's incrDecrCommand.
fn incr_decr(ctx: &mut Ctx<'_>, key: &[u8], by: i64) {
    let now = ctx.now;
    let db = ctx.db(key);
    let entry = db.lookup_write(key, now);
    let old = match &entry {
        None => 0,
        Some(e) => match e.value() {
            Value::Int(n) => *n,
            v => match string_bytes(v) {
                Err(()) => {
                    ctx.out.error(ERR_WRONGTYPE);
                    return;
                }
                Ok(b) => match parse_i64(&b) {
                    Some(n) => n,
                    None => {
                        ctx.out.error(ERR_NOT_INT);
                        return;
                    }
                },
            },
        },
    };
    let Some(new) = old.checked_add(by) else {
        ctx.out.error(ERR_OVERFLOW);
        return;
    };
    match entry {
        Some(e) => e.set_value(Value::Int(new)),
        None => {
            db.set(key, Value::Int(new), None, false, now);
        }
    }
    ctx.dirty(1);
    ctx.out.integer(new);
}

fn incr(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    incr_decr(ctx, args[1], 1);
}

fn decr(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    incr_decr(ctx, args[1], -1);
}

fn incrby(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    match int_arg(args[2]) {
        Ok(n) => incr_decr(ctx, args[1], n),
        Err(m) => ctx.out.error(m),
    }
}

fn decrby(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    match int_arg(args[2]) {
        Ok(i64::MIN) => ctx.out.error("decrement would overflow"),
        Ok(n) => incr_decr(ctx, args[1], -n),
        Err(m) => ctx.out.error(m),
    }
}

fn incrbyfloat(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    let now = ctx.now;
    let key = args[1];
    let db = ctx.db(key);
    let entry = db.lookup_write(key, now);
    let old = match &entry {
        None => Some(ld::Ld::ZERO),
        Some(e) => match e.value() {
            Value::Int(n) => Some(ld::Ld::from_i64(*n)),
            v => match string_bytes(v) {
                Err(()) => {
                    ctx.out.error(ERR_WRONGTYPE);
                    return;
                }
                Ok(b) => ld::Ld::parse(&b),
            },
        },
    };
    let (Some(old), Some(by)) = (old, ld::Ld::parse(args[2])) else {
        ctx.out.error(ERR_NOT_FLOAT);
        return;
    };
    let Some(sum) = old.checked_add(by) else {
        ctx.out.error("increment would produce NaN or Infinity");
        return;
    };
    let text = sum.format_human();
    // Stored as a plain string (embstr or raw), as createStringObject does.
    let value = Value::Str(text.as_bytes().into());
    match entry {
        Some(e) => e.set_value(value),
        None => {
            db.set(key, value, None, false, now);
        }
    }
    ctx.dirty(1);
    ctx.out.bulk(text.as_bytes());
}

/// One LCS match: ranges in the first and second string, and its length.
type LcsMatch = ((u32, u32), (u32, u32), u32);

/// Redis's LCS dynamic program and its backtrack, with the same tie
/// breaking so ranges come out identical. Returns (length, LCS string if
/// wanted, matches if wanted).
fn lcs_compute(
    a: &[u8],
    b: &[u8],
    want_string: bool,
    want_idx: bool,
    min_len: u64,
    table: &mut [u32],
) -> (u32, Vec<u8>, Vec<LcsMatch>) {
    let alen = a.len();
    let blen = b.len();
    let w = blen + 1;
    // table has (alen+1)*(blen+1) zeroed cells.
    for i in 1..=alen {
        for j in 1..=blen {
            table[i * w + j] = if a[i - 1] == b[j - 1] {
                table[(i - 1) * w + j - 1] + 1
            } else {
                table[(i - 1) * w + j].max(table[i * w + j - 1])
            };
        }
    }
    let total = table[alen * w + blen];
    let mut result = if want_string || want_idx {
        vec![0u8; total as usize]
    } else {
        Vec::new()
    };
    let mut matches = Vec::new();
    let compute = want_string || want_idx;
    let unset = alen as u32;
    let (mut astart, mut aend, mut bstart, mut bend) = (unset, 0u32, 0u32, 0u32);
    let mut idx = total as usize;
    let (mut i, mut j) = (alen, blen);
    while compute && i > 0 && j > 0 {
        let mut emit = false;
        if a[i - 1] == b[j - 1] {
            result[idx - 1] = a[i - 1];
            if astart == unset {
                astart = (i - 1) as u32;
                aend = (i - 1) as u32;
                bstart = (j - 1) as u32;
                bend = (j - 1) as u32;
            } else if astart == i as u32 && bstart == j as u32 {
                astart -= 1;
                bstart -= 1;
            } else {
                emit = true;
            }
            if astart == 0 || bstart == 0 {
                emit = true;
            }
            idx -= 1;
            i -= 1;
            j -= 1;
        } else {
            let l1 = table[(i - 1) * w + j];
            let l2 = table[i * w + j - 1];
            if l1 > l2 {
                i -= 1;
            } else {
                j -= 1;
            }
            if astart != unset {
                emit = true;
            }
        }
        let match_len = aend.wrapping_sub(astart).wrapping_add(1);
        if emit {
            if (min_len == 0 || match_len as u64 >= min_len) && want_idx {
                matches.push(((astart, aend), (bstart, bend), match_len));
            }
            astart = unset;
        }
    }
    (total, result, matches)
}

fn lcs(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    let now = ctx.now;
    let touch = !ctx.client.no_touch;
    let mut vals: [Option<Vec<u8>>; 2] = [None, None];
    let mut wrong = false;
    for (k, slot) in vals.iter_mut().enumerate() {
        let key = args[1 + k];
        if let Some(e) = ctx.db(key).lookup_read(key, now, touch) {
            match string_bytes(e.value()) {
                Ok(b) => *slot = Some(b),
                Err(()) => wrong = true,
            }
        }
    }
    if wrong {
        ctx.out.error("The specified keys must contain string values");
        return;
    }
    let [a, b] = vals;
    let (a, b) = (a.unwrap_or_default(), b.unwrap_or_default());
    let (mut getidx, mut getlen, mut withmatchlen) = (false, false, false);
    let mut min_len: i64 = 0;
    let mut j = 3;
    while j < args.len() {
        let opt = args[j];
        let more = j + 1 < args.len();
        if is(opt, "idx") {
            getidx = true;
        } else if is(opt, "len") {
            getlen = true;
        } else if is(opt, "withmatchlen") {
            withmatchlen = true;
        } else if is(opt, "minmatchlen") && more {
            match int_arg(args[j + 1]) {
                Ok(n) => min_len = n.max(0),
                Err(m) => {
                    ctx.out.error(m);
                    return;
                }
            }
            j += 1;
        } else {
            ctx.out.error(ERR_SYNTAX);
            return;
        }
        j += 1;
    }
    if getidx && getlen {
        ctx.out
            .error("If you want both the length and indexes, please just use IDX.");
        return;
    }
    if a.len() as u64 >= u32::MAX as u64 - 1 || b.len() as u64 >= u32::MAX as u64 - 1 {
        ctx.out.error("String too long for LCS");
        return;
    }
    let cells = (a.len() as u64 + 1) * (b.len() as u64 + 1);
    let bytes = cells.checked_mul(4);
    if let Some(bytes) = bytes {
        if bytes > max_string_len(ctx) {
            ctx.out
                .error("Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len");
            return;
        }
    }
    let mut table: Vec<u32> = Vec::new();
    let ok = bytes.is_some() && usize::try_from(cells).is_ok_and(|c| table.try_reserve_exact(c).is_ok());
    if !ok {
        ctx.out
            .error("Insufficient memory, failed allocating transient memory for LCS");
        return;
    }
    table.resize(cells as usize, 0);
    let (total, result, matches) = lcs_compute(&a, &b, !getlen, getidx, min_len as u64, &mut table);
    let out = &mut *ctx.out;
    if getidx {
        out.map(2);
        out.bulk(b"matches");
        out.array(matches.len());
        for ((a0, a1), (b0, b1), len) in matches {
            out.array(2 + withmatchlen as usize);
            out.array(2);
            out.integer(a0 as i64);
            out.integer(a1 as i64);
            out.array(2);
            out.integer(b0 as i64);
            out.integer(b1 as i64);
            if withmatchlen {
                out.integer(len as i64);
            }
        }
        out.bulk(b"len");
        out.integer(total as i64);
    } else if getlen {
        out.integer(total as i64);
    } else {
        out.bulk(&result);
    }
}

/// An emulation of the x86-64 `long double` (80-bit extended precision:
/// a 64-bit significand) that INCRBYFLOAT computes with: `strtold`
/// parsing, one correctly rounded addition, and `%.17Lf` printing, all
/// exact (round half to even) using a small big-integer type.
pub mod ld {
    use std::cmp::Ordering;

    /// A non-negative big integer, little-endian 32-bit limbs, no
    /// trailing zero limbs.
    #[derive(Clone, Debug, Default, PartialEq, Eq)]
    struct Big(Vec<u32>);

    impl Big {
        fn from_u64(v: u64) -> Big {
            let mut b = Big(vec![v as u32, (v >> 32) as u32]);
            b.trim();
            b
        }

        fn one() -> Big {
            Big(vec![1])
        }

        fn trim(&mut self) {
            while self.0.last() == Some(&0) {
                self.0.pop();
            }
        }

        fn is_zero(&self) -> bool {
            self.0.is_empty()
        }

        fn bitlen(&self) -> u64 {
            match self.0.last() {
                None => 0,
                Some(&top) => (self.0.len() as u64 - 1) * 32 + (32 - top.leading_zeros() as u64),
            }
        }

        /// self = self * m + a
        fn mul_add_small(&mut self, m: u32, a: u32) {
            let mut carry = a as u64;
            for limb in &mut self.0 {
                let v = *limb as u64 * m as u64 + carry;
                *limb = v as u32;
                carry = v >> 32;
            }
            if carry != 0 {
                self.0.push(carry as u32);
            }
            self.trim();
        }

        fn divmod_small(&mut self, d: u32) -> u32 {
            let mut rem = 0u64;
            for limb in self.0.iter_mut().rev() {
                let cur = (rem << 32) | *limb as u64;
                *limb = (cur / d as u64) as u32;
                rem = cur % d as u64;
            }
            self.trim();
            rem as u32
        }

        fn shl(&mut self, bits: u64) {
            if self.is_zero() || bits == 0 {
                return;
            }
            let limbs = (bits / 32) as usize;
            let r = (bits % 32) as u32;
            if r != 0 {
                let mut carry = 0u32;
                for limb in &mut self.0 {
                    let v = *limb;
                    *limb = (v << r) | carry;
                    carry = v >> (32 - r);
                }
                if carry != 0 {
                    self.0.push(carry);
                }
            }
            if limbs > 0 {
                let mut v = vec![0u32; limbs];
                v.extend_from_slice(&self.0);
                self.0 = v;
            }
        }

        fn shr(&mut self, bits: u64) {
            let limbs = (bits / 32) as usize;
            let r = (bits % 32) as u32;
            if limbs >= self.0.len() {
                self.0.clear();
                return;
            }
            self.0.drain(0..limbs);
            if r != 0 {
                let n = self.0.len();
                for i in 0..n {
                    let hi = if i + 1 < n { self.0[i + 1] } else { 0 };
                    self.0[i] = (self.0[i] >> r) | (hi << (32 - r));
                }
            }
            self.trim();
        }

        fn bit(&self, i: u64) -> bool {
            self.0.get((i / 32) as usize).is_some_and(|l| (l >> (i % 32)) & 1 == 1)
        }

        /// Whether any bit below position `i` is set.
        fn any_below(&self, i: u64) -> bool {
            let full = (i / 32) as usize;
            if self.0.iter().take(full).any(|&l| l != 0) {
                return true;
            }
            let r = (i % 32) as u32;
            r != 0 && self.0.get(full).is_some_and(|&l| l & ((1u32 << r) - 1) != 0)
        }

        fn cmp(&self, o: &Big) -> Ordering {
            self.0
                .len()
                .cmp(&o.0.len())
                .then_with(|| self.0.iter().rev().cmp(o.0.iter().rev()))
        }

        /// self -= o, with self >= o.
        fn sub_assign(&mut self, o: &Big) {
            let mut borrow = 0i64;
            for i in 0..self.0.len() {
                let mut v = self.0[i] as i64 - o.0.get(i).copied().unwrap_or(0) as i64 - borrow;
                borrow = 0;
                if v < 0 {
                    v += 1 << 32;
                    borrow = 1;
                }
                self.0[i] = v as u32;
            }
            self.trim();
        }

        fn add_assign(&mut self, o: &Big) {
            if self.0.len() < o.0.len() {
                self.0.resize(o.0.len(), 0);
            }
            let mut carry = 0u64;
            for i in 0..self.0.len() {
                let v = self.0[i] as u64 + o.0.get(i).copied().unwrap_or(0) as u64 + carry;
                self.0[i] = v as u32;
                carry = v >> 32;
            }
            if carry != 0 {
                self.0.push(carry as u32);
            }
        }

        fn pow10(n: u64) -> Big {
            let mut b = Big::one();
            let mut left = n;
            while left >= 9 {
                b.mul_add_small(1_000_000_000, 0);
                left -= 9;
            }
            b.mul_add_small(10u32.pow(left as u32), 0);
            b
        }

        fn to_decimal(&self) -> String {
            if self.is_zero() {
                return "0".into();
            }
            let mut x = self.clone();
            let mut chunks = Vec::new();
            while !x.is_zero() {
                chunks.push(x.divmod_small(1_000_000_000));
            }
            let mut s = String::new();
            for (k, c) in chunks.iter().rev().enumerate() {
                if k == 0 {
                    s.push_str(&c.to_string());
                } else {
                    s.push_str(&format!("{c:09}"));
                }
            }
            s
        }
    }

    /// Exponent of the least significant bit of the smallest subnormal.
    const EMIN: i64 = -16445;
    /// Largest exponent of the most significant bit of a finite value.
    const PMAX: i64 = 16383;

    /// A finite long double: `(-1)^neg * m * 2^e`.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub struct Ld {
        neg: bool,
        m: u64,
        e: i32,
    }

    /// Why a value does not fit a long double.
    #[derive(Debug, PartialEq, Eq)]
    enum Range {
        Overflow,
        Underflow,
    }

    /// A parsed number: finite, or an infinity (`true` if negative).
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    enum Parsed {
        Finite(Ld),
        Inf(bool),
    }

    /// Rounds `n * 2^b2 / d` (n, d > 0) to the nearest long double, ties
    /// to even, handling subnormals.
    fn round(neg: bool, n: &Big, b2: i64, d: &Big) -> Result<Ld, Range> {
        if n.is_zero() {
            return Ok(Ld { neg, m: 0, e: 0 });
        }
        let (ln, ldn) = (n.bitlen() as i64, d.bitlen() as i64);
        // Is n/d >= 2^(ln-ldn)?
        let ge = {
            let (mut x, mut y) = (n.clone(), d.clone());
            if ln >= ldn {
                y.shl((ln - ldn) as u64);
            } else {
                x.shl((ldn - ln) as u64);
            }
            x.cmp(&y) != Ordering::Less
        };
        let p = ln - ldn + b2 - if ge { 0 } else { 1 };
        if p > PMAX {
            return Err(Range::Overflow);
        }
        let e = (p - 63).max(EMIN);
        // q = floor(value / 2^(e-1)): 64 significand bits and a guard bit.
        let s = b2 - e + 1;
        let (mut num, mut den) = (n.clone(), d.clone());
        if s >= 0 {
            num.shl(s as u64);
        } else {
            den.shl((-s) as u64);
        }
        let mut q: u128 = 0;
        den.shl(65);
        for i in (0..=65).rev() {
            if num.cmp(&den) != Ordering::Less {
                num.sub_assign(&den);
                q |= 1u128 << i;
            }
            den.shr(1);
        }
        let sticky = !num.is_zero();
        let guard = q & 1 == 1;
        let mut m = q >> 1;
        let mut e = e;
        if guard && (sticky || m & 1 == 1) {
            m += 1;
        }
        if m == 1u128 << 64 {
            m >>= 1;
            e += 1;
        }
        if m == 0 {
            return Err(Range::Underflow);
        }
        let msb = e + 127 - m.leading_zeros() as i64;
        if msb > PMAX {
            return Err(Range::Overflow);
        }
        Ok(Ld {
            neg,
            m: m as u64,
            e: e as i32,
        })
    }

    /// glibc's strtold over the whole input (C locale).
    fn strtold(s: &[u8]) -> Option<Parsed> {
        let (neg, rest) = match s.first() {
            Some(b'-') => (true, &s[1..]),
            Some(b'+') => (false, &s[1..]),
            _ => (false, s),
        };
        let lower: Vec<u8> = rest.iter().map(u8::to_ascii_lowercase).collect();
        if lower == b"inf" || lower == b"infinity" {
            return Some(Parsed::Inf(neg));
        }
        if lower.starts_with(b"nan") {
            return None;
        }
        let hex = lower.len() > 2 && lower.starts_with(b"0x");
        let body = if hex { &lower[2..] } else { &lower[..] };
        let radix = if hex { 16 } else { 10 };
        let mut digits = Vec::new();
        let mut frac = 0i64;
        let mut seen_point = false;
        let mut any_digit = false;
        let mut i = 0;
        while i < body.len() {
            let c = body[i];
            if c == b'.' && !seen_point {
                seen_point = true;
            } else if let Some(d) = (c as char).to_digit(radix) {
                any_digit = true;
                if !(digits.is_empty() && d == 0) {
                    digits.push(d);
                }
                if seen_point {
                    frac += 1;
                }
            } else {
                break;
            }
            i += 1;
        }
        if !any_digit {
            // Also "0x" alone: strtold reads "0" and stops at the 'x'.
            return None;
        }
        let mut exp: i64 = 0;
        if i < body.len() {
            let marker = if hex { b'p' } else { b'e' };
            if body[i] != marker {
                return None;
            }
            let mut k = i + 1;
            let eneg = match body.get(k) {
                Some(b'-') => {
                    k += 1;
                    true
                }
                Some(b'+') => {
                    k += 1;
                    false
                }
                _ => false,
            };
            let start = k;
            while k < body.len() && body[k].is_ascii_digit() {
                exp = (exp * 10 + (body[k] - b'0') as i64).min(1_000_000_000);
                k += 1;
            }
            if k == start || k != body.len() {
                return None;
            }
            if eneg {
                exp = -exp;
            }
        }
        if digits.is_empty() {
            return Some(Parsed::Finite(Ld { neg, m: 0, e: 0 }));
        }
        let nd = digits.len() as i64;
        let result = if hex {
            let mut n = Big::default();
            for d in &digits {
                n.mul_add_small(16, *d);
            }
            let b2 = exp - 4 * frac;
            let msb = n.bitlen() as i64 - 1 + b2;
            if msb > PMAX {
                Err(Range::Overflow)
            } else if msb < EMIN - 1 {
                Err(Range::Underflow)
            } else {
                round(neg, &n, b2, &Big::one())
            }
        } else {
            let x = exp - frac;
            if nd - 1 + x > 4932 {
                Err(Range::Overflow)
            } else if nd + x < -4952 {
                Err(Range::Underflow)
            } else {
                let mut n = Big::default();
                for chunk in digits.chunks(9) {
                    let mut v = 0u32;
                    for d in chunk {
                        v = v * 10 + d;
                    }
                    n.mul_add_small(10u32.pow(chunk.len() as u32), v);
                }
                if x >= 0 {
                    let p = Big::pow10(x as u64);
                    let mut prod = Big::default();
                    // n * 10^x by schoolbook multiplication.
                    for (k, &limb) in p.0.iter().enumerate() {
                        let mut part = n.clone();
                        part.mul_add_small(limb, 0);
                        part.shl(32 * k as u64);
                        prod.add_assign(&part);
                    }
                    round(neg, &prod, 0, &Big::one())
                } else {
                    round(neg, &n, 0, &Big::pow10((-x) as u64))
                }
            }
        };
        // strtold's ERANGE with HUGE_VAL or zero: string2ld refuses it.
        result.ok().map(Parsed::Finite)
    }

    impl Ld {
        pub const ZERO: Ld = Ld { neg: false, m: 0, e: 0 };

        /// Redis's string2ld: `None` where Redis says "not a valid float".
        /// Infinities parse (the sum then fails), NaN does not.
        pub fn parse(s: &[u8]) -> Option<Ld> {
            match Ld::parse_any(s)? {
                Parsed::Finite(v) => Some(v),
                Parsed::Inf(neg) => Some(Ld {
                    neg,
                    m: u64::MAX,
                    e: i32::MAX,
                }),
            }
        }

        fn parse_any(s: &[u8]) -> Option<Parsed> {
            if s.is_empty() || s.len() >= 5120 {
                return None;
            }
            if matches!(s[0], b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r') {
                return None;
            }
            // strtold stops at a NUL, and Redis's string2ld then rejects
            // the string: `(size_t)(eptr-buf) != slen`.
            if s.contains(&0) {
                return None;
            }
            strtold(s)
        }

        fn is_inf(&self) -> bool {
            self.e == i32::MAX
        }

        pub fn from_i64(n: i64) -> Ld {
            round(n < 0, &Big::from_u64(n.unsigned_abs()), 0, &Big::one()).unwrap_or(Ld::ZERO)
        }

        /// The correctly rounded sum; `None` for an infinite or NaN result.
        pub fn checked_add(self, o: Ld) -> Option<Ld> {
            if self.is_inf() || o.is_inf() {
                return None;
            }
            if self.m == 0 {
                return Some(if o.m == 0 {
                    Ld {
                        neg: self.neg && o.neg,
                        ..Ld::ZERO
                    }
                } else {
                    o
                });
            }
            if o.m == 0 {
                return Some(self);
            }
            let emin = self.e.min(o.e);
            let mut a = Big::from_u64(self.m);
            a.shl((self.e - emin) as u64);
            let mut b = Big::from_u64(o.m);
            b.shl((o.e - emin) as u64);
            let (n, neg) = if self.neg == o.neg {
                a.add_assign(&b);
                (a, self.neg)
            } else {
                match a.cmp(&b) {
                    Ordering::Equal => return Some(Ld::ZERO),
                    Ordering::Greater => {
                        a.sub_assign(&b);
                        (a, self.neg)
                    }
                    Ordering::Less => {
                        b.sub_assign(&a);
                        (b, o.neg)
                    }
                }
            };
            round(neg, &n, emin as i64, &Big::one()).ok()
        }

        /// `%.17Lf` with trailing zeros (and a trailing point) removed,
        /// and "-0" turned into "0": Redis's ld2string LD_STR_HUMAN.
        pub fn format_human(&self) -> String {
            let mut x = Big::from_u64(self.m);
            let digits = if self.e >= 0 {
                x.shl(self.e as u64);
                let mut d = x.to_decimal();
                d.push_str("00000000000000000");
                d
            } else {
                x.mul_add_small(1_000_000_000, 0);
                x.mul_add_small(100_000_000, 0);
                let k = (-(self.e as i64)) as u64;
                let half = x.bit(k - 1);
                let sticky = x.any_below(k - 1);
                x.shr(k);
                if half && (sticky || x.bit(0)) {
                    x.mul_add_small(1, 1);
                }
                x.to_decimal()
            };
            let digits = format!("{digits:0>18}");
            let (int, frac) = digits.split_at(digits.len() - 17);
            let frac = frac.trim_end_matches('0');
            let mut s = String::new();
            if self.neg {
                s.push('-');
            }
            s.push_str(int);
            if !frac.is_empty() {
                s.push('.');
                s.push_str(frac);
            }
            if s == "-0" {
                s = "0".into();
            }
            s
        }
    }
}

#[cfg(test)]
mod tests {
    use super::ld::Ld;
    use super::*;

    fn incr(a: &str, b: &str) -> Option<String> {
        let a = Ld::parse(a.as_bytes())?;
        let b = Ld::parse(b.as_bytes())?;
        a.checked_add(b).map(|s| s.format_human())
    }

    #[test]
    fn long_double_sums_match_redis() {
        assert_eq!(incr("10.5", "0.1").as_deref(), Some("10.6"));
        assert_eq!(incr("3.0e3", "0").as_deref(), Some("3000"));
        assert_eq!(incr("1e10", "0.1").as_deref(), Some("10000000000.09999999962747097"));
        assert_eq!(incr("0", "0x10").as_deref(), Some("16"));
        assert_eq!(incr("16", "1.5e-20").as_deref(), Some("16"));
        assert_eq!(incr("0", "-0.0").as_deref(), Some("0"));
        assert_eq!(incr("0", "1e-4950").as_deref(), Some("0"));
        assert_eq!(incr("5.0e3", "2.0e2").as_deref(), Some("5200"));
        assert_eq!(incr("1", "-1").as_deref(), Some("0"));
        assert_eq!(incr("-1.5", "0.25").as_deref(), Some("-1.25"));
        assert_eq!(incr("0", "-0.00000000000000000001").as_deref(), Some("0"));
        assert_eq!(incr("0", "0x1.8p1").as_deref(), Some("3"));
        assert_eq!(incr("0", ".5").as_deref(), Some("0.5"));
        assert_eq!(incr("0", "5.").as_deref(), Some("5"));
        assert_eq!(incr("0", "+2").as_deref(), Some("2"));
        // Infinity parses but the sum is refused.
        assert_eq!(incr("1", "inf"), None);
        assert_eq!(incr("1", "1e4932").map(|s| s.len()), Some(4933));
        let big = incr("1", "1e4932").unwrap_or_default();
        assert!(big.starts_with("10000000000000000000060189493879638913238"), "{big}");
        assert!(Ld::parse(b"1.2e4932").is_none());
        assert!(Ld::parse(b"1e-5000").is_none());
        assert!(Ld::parse(b"1e-4950").is_some());
    }

    #[test]
    fn long_double_parse_follows_string2ld() {
        for bad in [
            "", " 1", "abc", "nan", "-nan", "1e", "1e+", ".", "-", "0x", "0x1p", "1.5x", "1 ",
        ] {
            assert!(Ld::parse(bad.as_bytes()).is_none(), "{bad:?}");
        }
        // A NUL anywhere: strtold stops there and string2ld refuses.
        for bad in [&b"\0"[..], b"\0\0bar", b"1\0", b"1.5\x002", b"1\0junk"] {
            assert!(Ld::parse(bad).is_none(), "{bad:?}");
        }
        for good in ["1", "-1", "1.5", "1E5", "1e-5", "0x1A", "INF", "-Infinity", "00012"] {
            assert!(Ld::parse(good.as_bytes()).is_some(), "{good:?}");
        }
        assert!(Ld::parse(&vec![b'1'; 5120]).is_none());
        assert_eq!(Ld::from_i64(i64::MIN).format_human(), "-9223372036854775808");
        assert_eq!(Ld::from_i64(i64::MAX).format_human(), "9223372036854775807");
        assert_eq!(Ld::parse(b"0.1").map(|v| v.format_human()).as_deref(), Some("0.1"));
    }

    #[test]
    fn getrange_indexes() {
        assert_eq!(range_of(0, -1, 5), Some((0, 4)));
        assert_eq!(range_of(-3, -1, 5), Some((2, 4)));
        assert_eq!(range_of(-1, -3, 5), None);
        assert_eq!(range_of(3, 1, 5), None);
        assert_eq!(range_of(0, 100, 5), Some((0, 4)));
        assert_eq!(range_of(-100, 1, 5), Some((0, 1)));
        assert_eq!(range_of(0, 0, 0), None);
        assert_eq!(range_of(i64::MIN, i64::MAX, 3), Some((0, 2)));
    }

    #[test]
    fn set_option_syntax() {
        fn p(s: &'static str) -> Result<(Condition, bool, Expiry<'static>), &'static str> {
            let v: Vec<&[u8]> = s.split(' ').map(str::as_bytes).collect();
            parse_extended_options(&v, OptsFor::Set).map(|o| (o.condition, o.get, o.expiry))
        }
        assert!(p("set k v NX XX").is_err());
        assert!(p("set k v EX 1 PX 1").is_err());
        assert!(p("set k v KEEPTTL EX 1").is_err());
        assert!(p("set k v EX").is_err());
        assert!(p("set k v PERSIST").is_err());
        assert_eq!(
            p("set k v NX NX GET").map(|o| (o.0, o.1)),
            Ok((Condition::IfMissing, true))
        );
        assert_eq!(
            p("set k v EX 1 EX 2").map(|o| o.2),
            Ok(Expiry::Time(ExpireUnit::Ex, b"2"))
        );
        fn g(s: &'static str) -> Result<Expiry<'static>, &'static str> {
            let v: Vec<&[u8]> = s.split(' ').map(str::as_bytes).collect();
            parse_extended_options(&v, OptsFor::GetEx).map(|o| o.expiry)
        }
        assert_eq!(g("getex k PERSIST PERSIST"), Ok(Expiry::Persist));
        assert!(g("getex k NX").is_err());
        assert!(g("getex k KEEPTTL").is_err());
        assert!(g("getex k PERSIST EX 1").is_err());
    }

    #[test]
    fn lcs_matches_redis_example() {
        let (a, b) = (b"ohmytext", b"mynewtext");
        let mut t = vec![0u32; (a.len() + 1) * (b.len() + 1)];
        let (len, s, m) = lcs_compute(a, b, true, true, 0, &mut t);
        assert_eq!(len, 6);
        assert_eq!(s, b"mytext");
        assert_eq!(m, vec![((4, 7), (5, 8), 4), ((2, 3), (0, 1), 2)]);
    }

    #[test]
    fn specs_declare_every_key() {
        let spec = |name: &str| COMMANDS.iter().find(|c| c.name == name).unwrap();
        let args: Vec<&[u8]> = vec![b"msetnx", b"a", b"1", b"b", b"2", b"c", b"3"];
        let mut pos = Vec::new();
        spec("msetnx").key_positions(&args, &mut pos);
        assert_eq!(pos, vec![1, 3, 5]);
        assert_eq!(spec("mset").legacy_range(), (1, -1, 2));
        assert_eq!(spec("mget").legacy_range(), (1, -1, 1));
        let args: Vec<&[u8]> = vec![b"lcs", b"k1", b"k2", b"IDX"];
        pos.clear();
        spec("lcs").key_positions(&args, &mut pos);
        assert_eq!(pos, vec![1, 2]);
        assert_eq!(spec("lcs").legacy_range(), (1, 2, 1));
        for c in COMMANDS {
            assert_eq!(c.group, "string", "{}", c.name);
            assert!(!c.summary.is_empty() && !c.complexity.is_empty(), "{}", c.name);
            assert_eq!(c.has(WRITE), !c.has(READONLY), "{}", c.name);
            assert_eq!(c.key_specs.len(), 1, "{}", c.name);
        }
        assert_eq!(COMMANDS.len(), 22);
    }
}
