//! What a command writes to the AOF (Redis's propagation): after each
//! command, with its shard locks still held, the keys expiry or eviction
//! removed from those shards become `DEL`s, then the command itself, as
//! Redis rewrites it for replay: relative TTLs become absolute
//! (`SET ... PXAT`, `PEXPIREAT`, `RESTORE ... ABSTTL`), random or
//! float results become what they produced (`SPOP` -> `SREM`,
//! `INCRBYFLOAT` -> `SET ... KEEPTTL`, `HINCRBYFLOAT` -> `HSET`), and
//! blocking pops become the pops they did. A command that changed
//! nothing (its dirty count is unchanged) is not logged. Commands run by
//! EXEC are wrapped in MULTI ... EXEC.
//!
//! Ordering: a key's entries are appended while its shard is locked, so
//! the log order of writes to one key is their apply order; the expired /
//! evicted keys a db logged are drained by whoever next holds its shard,
//! before that holder's own command.

use larder_protocol::{parse_frame, Frame};

use crate::commands::CommandSpec;
use crate::dispatch::Ctx;
use crate::util::{is, parse_i64};

type Argv = Vec<Vec<u8>>;

/// Called by dispatch after a handler ran (AOF on). `changes` is the
/// context's dirty count before it, `reply_start` where its reply began.
pub(crate) fn after_command(
    ctx: &mut Ctx<'_>,
    spec: &CommandSpec,
    args: &[&[u8]],
    changes: u64,
    reply_start: usize,
    removed: &[Removed],
) {
    let Some(aof) = ctx.server.aof.handle() else {
        return;
    };
    let mut cmds: Vec<(usize, Argv)> = removed.iter().map(|r| (r.db, del(&r.key))).collect();
    // EXEC's commands were logged one by one, in MULTI ... EXEC.
    let replaced = ctx.client.propagate_as.take();
    if ctx.changes.get() != changes && spec.name != "exec" {
        let db = ctx.client.db;
        let logged = match replaced {
            Some(v) => v,
            None => translate(spec, args, ctx.now, &ctx.out.buf[reply_start.min(ctx.out.buf.len())..]),
        };
        for argv in logged {
            cmds.push((db, argv));
        }
    }
    if cmds.is_empty() {
        return;
    }
    if ctx.client.tx.in_exec && !ctx.client.aof_in_multi {
        ctx.client.aof_in_multi = true;
        cmds.insert(0, (ctx.client.db, vec![b"MULTI".to_vec()]));
    }
    let off = aof
        .writer()
        .append_many(cmds.iter().map(|(db, argv)| (Some(*db), argv.as_slice())));
    ctx.client.aof_offset = ctx.client.aof_offset.max(off);
    ctx.client.woff = ctx.client.woff.max(off);
}

/// EXEC is over: closes the MULTI block if anything was logged in it.
pub(crate) fn after_exec(ctx: &mut Ctx<'_>) {
    if !ctx.client.aof_in_multi {
        return;
    }
    ctx.client.aof_in_multi = false;
    if let Some(aof) = ctx.server.aof.handle() {
        let off = aof.writer().append(Some(ctx.client.db), &[b"EXEC"]);
        ctx.client.aof_offset = ctx.client.aof_offset.max(off);
        ctx.client.woff = ctx.client.woff.max(off);
    }
}

/// A key that expiry or eviction removed, drained from its db's log.
#[derive(Debug)]
pub struct Removed {
    pub db: usize,
    pub key: Vec<u8>,
    pub evicted: bool,
}

/// Drains the removal logs of one shard's dbs.
pub fn take_removed_shard(shard: &mut larder_engine::Shard, out: &mut Vec<Removed>) {
    for (dbi, db) in shard.dbs.iter_mut().enumerate() {
        if !db.expired_log.is_empty() {
            for key in db.take_expired_log() {
                out.push(Removed {
                    db: dbi,
                    key: key.into_vec(),
                    evicted: false,
                });
            }
        }
        if !db.evicted_log.is_empty() {
            for key in std::mem::take(&mut db.evicted_log) {
                out.push(Removed {
                    db: dbi,
                    key: key.into_vec(),
                    evicted: true,
                });
            }
        }
    }
}

/// Drains the removal logs of the held shards.
pub(crate) fn take_removed(ctx: &mut Ctx<'_>) -> Vec<Removed> {
    let ks = &ctx.server.keyspace;
    let mut out = Vec::new();
    for s in ctx.locks.held(ks.shard_count()) {
        take_removed_shard(ctx.locks.shard(ks, s), &mut out);
    }
    out
}

/// What expiry and eviction removed in every shard, logged and notified
/// under each shard's lock (the cron, after active expiry and eviction;
/// never waits for a lock).
pub fn drain_all(server: &crate::server::Server) {
    let all: Vec<usize> = (0..server.keyspace.shard_count()).collect();
    drain_shards(server, &all, false);
}

/// `drain_all` for some shards; `wait`: lock them even if busy (after
/// an eviction, so its events go out at once).
pub fn drain_shards(server: &crate::server::Server, shards: &[usize], wait: bool) {
    let aof = server.aof.handle();
    let notify = server.notify.flags();
    let tracking = server.tracking.active();
    if aof.is_none() && notify == 0 && !tracking {
        return;
    }
    let ks = &server.keyspace;
    let mut removed = Vec::new();
    for &s in shards {
        let mut g = if wait {
            ks.lock(s)
        } else {
            let Some(g) = ks.try_lock(s) else { continue };
            g
        };
        removed.clear();
        take_removed_shard(&mut g, &mut removed);
        if removed.is_empty() {
            continue;
        }
        if let Some(aof) = &aof {
            let dels: Vec<(usize, Argv)> = removed.iter().map(|r| (r.db, del(&r.key))).collect();
            aof.writer()
                .append_many(dels.iter().map(|(db, a)| (Some(*db), a.as_slice())));
        }
        crate::notify::removed(server, notify, &removed);
        if tracking {
            for r in &removed {
                crate::tracking::invalidate(server, &r.key, None);
            }
        }
    }
}

fn del(key: &[u8]) -> Argv {
    vec![b"DEL".to_vec(), key.to_vec()]
}

fn owned(args: &[&[u8]]) -> Argv {
    args.iter().map(|a| a.to_vec()).collect()
}

fn num(n: i64) -> Vec<u8> {
    n.to_string().into_bytes()
}

/// The command as it should be replayed.
fn translate(spec: &CommandSpec, args: &[&[u8]], now: u64, reply: &[u8]) -> Vec<Argv> {
    let now = now as i64;
    let parsed = || parse_frame(reply).ok().flatten().map(|(f, _)| f);
    match spec.name {
        "set" => {
            // SET k v [NX|XX] [GET] [EX s|PX ms|EXAT s|PXAT ms|KEEPTTL]
            let mut i = 3;
            while i < args.len() {
                let abs = if is(args[i], "ex") {
                    args.get(i + 1).and_then(|a| parse_i64(a)).map(|s| now + s * 1000)
                } else if is(args[i], "px") {
                    args.get(i + 1).and_then(|a| parse_i64(a)).map(|ms| now + ms)
                } else if is(args[i], "exat") {
                    args.get(i + 1).and_then(|a| parse_i64(a)).map(|s| s * 1000)
                } else {
                    None
                };
                if let Some(at) = abs {
                    return vec![vec![
                        b"SET".to_vec(),
                        args[1].to_vec(),
                        args[2].to_vec(),
                        b"PXAT".to_vec(),
                        num(at),
                    ]];
                }
                i += 1;
            }
            vec![owned(args)]
        }
        "setex" | "psetex" => {
            let unit = if spec.name == "setex" { 1000 } else { 1 };
            match parse_i64(args[2]) {
                Some(t) => vec![vec![
                    b"SET".to_vec(),
                    args[1].to_vec(),
                    args[3].to_vec(),
                    b"PXAT".to_vec(),
                    num(now + t * unit),
                ]],
                None => vec![owned(args)],
            }
        }
        "getex" => {
            let (opt, val) = (args.get(2), args.get(3).and_then(|a| parse_i64(a)));
            let at = match (opt, val) {
                (Some(o), Some(v)) if is(o, "ex") => Some(now + v * 1000),
                (Some(o), Some(v)) if is(o, "px") => Some(now + v),
                (Some(o), Some(v)) if is(o, "exat") => Some(v * 1000),
                (Some(o), Some(v)) if is(o, "pxat") => Some(v),
                _ => None,
            };
            match at {
                Some(at) => vec![vec![b"PEXPIREAT".to_vec(), args[1].to_vec(), num(at)]],
                None if opt.is_some_and(|o| is(o, "persist")) => vec![vec![b"PERSIST".to_vec(), args[1].to_vec()]],
                None => vec![owned(args)],
            }
        }
        "expire" | "pexpire" | "expireat" | "pexpireat" => {
            let Some(t) = parse_i64(args[2]) else {
                return vec![owned(args)];
            };
            let at = match spec.name {
                "expire" => now + t * 1000,
                "pexpire" => now + t,
                "expireat" => t * 1000,
                _ => t,
            };
            if at <= now {
                vec![vec![b"DEL".to_vec(), args[1].to_vec()]]
            } else {
                vec![vec![b"PEXPIREAT".to_vec(), args[1].to_vec(), num(at)]]
            }
        }
        "restore" => {
            let abs = args[4..].iter().any(|a| is(a, "absttl"));
            match parse_i64(args[2]) {
                Some(ttl) if ttl > 0 && !abs => {
                    let mut v = owned(args);
                    v[2] = num(now + ttl);
                    v.push(b"ABSTTL".to_vec());
                    vec![v]
                }
                _ => vec![owned(args)],
            }
        }
        "incrbyfloat" => match parsed() {
            Some(Frame::Bulk(v)) => vec![vec![b"SET".to_vec(), args[1].to_vec(), v, b"KEEPTTL".to_vec()]],
            _ => vec![owned(args)],
        },
        "hincrbyfloat" => match parsed() {
            Some(Frame::Bulk(v)) => vec![vec![b"HSET".to_vec(), args[1].to_vec(), args[2].to_vec(), v]],
            _ => vec![owned(args)],
        },
        "spop" => {
            let members: Vec<Vec<u8>> = match parsed() {
                Some(Frame::Bulk(m)) => vec![m],
                Some(Frame::Array(v) | Frame::Set(v)) => v
                    .into_iter()
                    .filter_map(|f| match f {
                        Frame::Bulk(m) => Some(m),
                        _ => None,
                    })
                    .collect(),
                _ => Vec::new(),
            };
            if members.is_empty() {
                return Vec::new();
            }
            let mut v = vec![b"SREM".to_vec(), args[1].to_vec()];
            v.extend(members);
            vec![v]
        }
        "blpop" | "brpop" => match parsed() {
            Some(Frame::Array(v)) if !v.is_empty() => match &v[0] {
                Frame::Bulk(k) => {
                    let cmd: &[u8] = if spec.name == "blpop" { b"LPOP" } else { b"RPOP" };
                    vec![vec![cmd.to_vec(), k.clone()]]
                }
                _ => Vec::new(),
            },
            _ => Vec::new(),
        },
        "bzpopmin" | "bzpopmax" => match parsed() {
            Some(Frame::Array(v)) if !v.is_empty() => match &v[0] {
                Frame::Bulk(k) => {
                    let cmd: &[u8] = if spec.name == "bzpopmin" {
                        b"ZPOPMIN"
                    } else {
                        b"ZPOPMAX"
                    };
                    vec![vec![cmd.to_vec(), k.clone()]]
                }
                _ => Vec::new(),
            },
            _ => Vec::new(),
        },
        "brpoplpush" => vec![vec![b"RPOPLPUSH".to_vec(), args[1].to_vec(), args[2].to_vec()]],
        "blmove" => vec![vec![
            b"LMOVE".to_vec(),
            args[1].to_vec(),
            args[2].to_vec(),
            args[3].to_vec(),
            args[4].to_vec(),
        ]],
        "blmpop" | "bzmpop" => {
            // BLMPOP timeout numkeys key... LEFT|RIGHT [COUNT n]: the reply
            // is [key, [elements]]; replayed as [LR]POP / ZPOP{MIN,MAX}.
            let Some(Frame::Array(v)) = parsed() else {
                return Vec::new();
            };
            let (Some(Frame::Bulk(key)), Some(Frame::Array(items))) = (v.first(), v.get(1)) else {
                return Vec::new();
            };
            let n = parse_i64(args[2]).unwrap_or(0).max(0) as usize;
            let side = args.get(3 + n).copied().unwrap_or(b"left");
            let cmd: &[u8] = match (spec.name, is(side, "left") || is(side, "min")) {
                ("blmpop", true) => b"LPOP",
                ("blmpop", false) => b"RPOP",
                (_, true) => b"ZPOPMIN",
                (_, false) => b"ZPOPMAX",
            };
            vec![vec![cmd.to_vec(), key.clone(), num(items.len() as i64)]]
        }
        _ => vec![owned(args)],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(name: &str) -> &'static CommandSpec {
        let table = Box::leak(Box::new(crate::commands::CommandTable::new()));
        let args: [&[u8]; 1] = [name.as_bytes()];
        table.resolve(&args).map(|c| c.spec).unwrap_or_else(|| panic!("{name}"))
    }

    fn t(args: &[&str], reply: &[u8]) -> Vec<Vec<String>> {
        let a: Vec<&[u8]> = args.iter().map(|s| s.as_bytes()).collect();
        translate(spec(args[0]), &a, 1_000_000, reply)
            .into_iter()
            .map(|v| {
                v.into_iter()
                    .map(|b| String::from_utf8(b).unwrap_or_default())
                    .collect()
            })
            .collect()
    }

    #[test]
    fn relative_times_become_absolute() {
        assert_eq!(
            t(&["set", "k", "v", "EX", "10"], b"+OK\r\n"),
            vec![vec!["SET", "k", "v", "PXAT", "1010000"]]
        );
        assert_eq!(
            t(&["set", "k", "v", "nx", "px", "5"], b"+OK\r\n"),
            vec![vec!["SET", "k", "v", "PXAT", "1000005"]]
        );
        assert_eq!(
            t(&["set", "k", "v", "keepttl"], b"+OK\r\n"),
            vec![vec!["set", "k", "v", "keepttl"]]
        );
        assert_eq!(
            t(&["setex", "k", "2", "v"], b"+OK\r\n"),
            vec![vec!["SET", "k", "v", "PXAT", "1002000"]]
        );
        assert_eq!(
            t(&["pexpire", "k", "7"], b":1\r\n"),
            vec![vec!["PEXPIREAT", "k", "1000007"]]
        );
        assert_eq!(t(&["expireat", "k", "5"], b":1\r\n"), vec![vec!["DEL", "k"]]);
        assert_eq!(
            t(&["getex", "k", "persist"], b"$1\r\nv\r\n"),
            vec![vec!["PERSIST", "k"]]
        );
        assert_eq!(
            t(&["restore", "k", "100", "payload", "REPLACE"], b"+OK\r\n"),
            vec![vec!["restore", "k", "1000100", "payload", "REPLACE", "ABSTTL"]]
        );
    }

    #[test]
    fn results_replace_random_and_float_commands() {
        assert_eq!(
            t(&["incrbyfloat", "k", "1.5"], b"$3\r\n2.5\r\n"),
            vec![vec!["SET", "k", "2.5", "KEEPTTL"]]
        );
        assert_eq!(
            t(&["spop", "s", "2"], b"*2\r\n$1\r\na\r\n$1\r\nb\r\n"),
            vec![vec!["SREM", "s", "a", "b"]]
        );
        assert_eq!(
            t(&["blpop", "a", "b", "0"], b"*2\r\n$1\r\nb\r\n$1\r\nx\r\n"),
            vec![vec!["LPOP", "b"]]
        );
        assert_eq!(
            t(
                &["blmpop", "0", "2", "a", "b", "RIGHT", "COUNT", "5"],
                b"*2\r\n$1\r\na\r\n*2\r\n$1\r\nx\r\n$1\r\ny\r\n"
            ),
            vec![vec!["RPOP", "a", "2"]]
        );
        assert_eq!(
            t(&["hset", "h", "f", "v"], b":1\r\n"),
            vec![vec!["hset", "h", "f", "v"]]
        );
    }
}
