//! String commands (Redis's t_string.c).

use larder_engine::value::itoa_buf;
use larder_engine::Value;

use super::{acl, flags::*, CommandSpec, KeySpec};
use crate::dispatch::Ctx;
use crate::util::{int_arg, is, ERR_SYNTAX, ERR_WRONGTYPE};

const KEY_RO: &[KeySpec] = &[KeySpec::single(1, &["RO", "ACCESS"])];
const KEY_SET: &[KeySpec] = &[KeySpec::single(1, &["RW", "ACCESS", "UPDATE", "VARIABLE_FLAGS"])];

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
];

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

/// SET's TTL choice.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Expiry {
    None,
    /// Absolute deadline in ms.
    At(u64),
    KeepTtl,
}

#[derive(Clone, Copy, Debug)]
pub struct SetOptions {
    pub condition: Condition,
    pub expiry: Expiry,
    pub get: bool,
}

/// Parses an expire time argument into an absolute deadline (ms), with
/// Redis's "invalid expire time in 'set' command" on overflow or <= 0.
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

fn parse_set_options(args: &[&[u8]], now: u64) -> Result<SetOptions, String> {
    let mut o = SetOptions {
        condition: Condition::Always,
        expiry: Expiry::None,
        get: false,
    };
    let mut i = 3;
    while i < args.len() {
        let a = args[i];
        let has_next = i + 1 < args.len();
        if is(a, "nx") && o.condition == Condition::Always {
            o.condition = Condition::IfMissing;
        } else if is(a, "xx") && o.condition == Condition::Always {
            o.condition = Condition::IfExists;
        } else if is(a, "get") {
            o.get = true;
        } else if is(a, "keepttl") && o.expiry == Expiry::None {
            o.expiry = Expiry::KeepTtl;
        } else if o.expiry == Expiry::None && has_next && (is(a, "ex") || is(a, "px") || is(a, "exat") || is(a, "pxat"))
        {
            let (unit, abs) = match a[..].to_ascii_lowercase().as_slice() {
                b"ex" => (1000, false),
                b"px" => (1, false),
                b"exat" => (1000, true),
                _ => (1, true),
            };
            o.expiry = Expiry::At(expire_deadline(args[i + 1], unit, abs, now, "set")?);
            i += 1;
        } else {
            return Err(ERR_SYNTAX.into());
        }
        i += 1;
    }
    Ok(o)
}

/// SET and its variants lower to this. Writes the reply.
pub fn set_generic(ctx: &mut Ctx<'_>, key: &[u8], value: &[u8], o: SetOptions, ok_reply: bool) {
    let now = ctx.now;
    let db = ctx.db(key);
    let existing = db.lookup_write(key, now);
    let exists = existing.is_some();
    let mut old: Option<Option<Vec<u8>>> = None;
    if o.get {
        match existing {
            None => old = Some(None),
            Some(e) => {
                let mut scratch = itoa_buf::Buf::default();
                match e.value().as_bytes(&mut scratch) {
                    Some(b) => old = Some(Some(b.to_vec())),
                    None => {
                        ctx.out.error(ERR_WRONGTYPE);
                        return;
                    }
                }
            }
        }
    }
    let proceed = match o.condition {
        Condition::Always => true,
        Condition::IfMissing => !exists,
        Condition::IfExists => exists,
    };
    if proceed {
        let (exp, keep) = match o.expiry {
            Expiry::None => (None, false),
            Expiry::At(t) => (Some(t), false),
            Expiry::KeepTtl => (None, true),
        };
        if matches!(exp, Some(t) if t <= now) {
            // A deadline already past: the key is written and expires at
            // once (Redis deletes it and propagates a DEL).
            db.remove(key, now);
        } else {
            db.set(key, Value::from_bytes(value), exp, keep, now);
        }
        ctx.dirty(1);
    }
    match old {
        Some(v) => ctx.out.bulk_or_null(v.as_deref()),
        None if proceed => {
            if ok_reply {
                ctx.out.ok()
            }
        }
        None => ctx.out.null(),
    }
}

fn set(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    match parse_set_options(args, ctx.now) {
        Ok(o) => set_generic(ctx, args[1], args[2], o, true),
        Err(e) => ctx.out.error(&e),
    }
}
