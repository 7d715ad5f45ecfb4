//! From parsed arguments to a reply: find the command in the table, check
//! arity and authentication, lock the shards of the keys its spec names
//! (in shard order, so multi-key commands are atomic and never deadlock),
//! run the handler, and count it.

use std::time::Instant;

use parking_lot::MutexGuard;

use larder_engine::{Db, Keyspace, Shard};
use larder_protocol::Reply;

use crate::client::{Client, ReplyMode};
use crate::commands::{flags, Command, CommandSpec};
use crate::server::Server;

/// Shards locked for one command.
pub enum Locks<'a> {
    None,
    One(usize, MutexGuard<'a, Shard>),
    Many(Vec<(usize, MutexGuard<'a, Shard>)>),
    /// Every shard, indexed by shard number.
    All(Vec<MutexGuard<'a, Shard>>),
}

impl<'a> Locks<'a> {
    /// Locks the given shards (sorted, deduplicated by this function).
    pub fn acquire(ks: &'a Keyspace, shards: &mut Vec<usize>) -> Locks<'a> {
        shards.sort_unstable();
        shards.dedup();
        match shards.len() {
            0 => Locks::None,
            1 => Locks::One(shards[0], ks.lock(shards[0])),
            _ => Locks::Many(shards.iter().map(|&i| (i, ks.lock(i))).collect()),
        }
    }

    pub fn all(ks: &'a Keyspace) -> Locks<'a> {
        Locks::All(ks.lock_all())
    }

    /// The locked shard `idx`. A shard the command did not declare is
    /// locked on demand; that is only deadlock-free when no shard with a
    /// higher index is held, so commands must declare their keys.
    pub fn shard(&mut self, ks: &'a Keyspace, idx: usize) -> &mut Shard {
        let held = match self {
            Locks::None => false,
            Locks::One(i, _) => *i == idx,
            Locks::Many(v) => v.iter().any(|(i, _)| *i == idx),
            Locks::All(_) => true,
        };
        if !held {
            debug_assert!(false, "shard {idx} used without being locked");
            let guard = ks.lock(idx);
            let mut v = match std::mem::replace(self, Locks::None) {
                Locks::One(i, g) => vec![(i, g)],
                Locks::Many(v) => v,
                Locks::None | Locks::All(_) => Vec::new(),
            };
            v.push((idx, guard));
            *self = Locks::Many(v);
        }
        match self {
            Locks::All(v) => &mut v[idx],
            Locks::One(_, g) => g,
            Locks::Many(v) => {
                let pos = v.iter().position(|(i, _)| *i == idx).unwrap_or(0);
                &mut v[pos].1
            }
            Locks::None => unreachable!("a lock was just taken"),
        }
    }

    /// The shards held, in ascending order (`shards`: how many exist).
    pub fn held(&self, shards: usize) -> Vec<usize> {
        match self {
            Locks::None => Vec::new(),
            Locks::One(i, _) => vec![*i],
            Locks::Many(v) => v.iter().map(|(i, _)| *i).collect(),
            Locks::All(_) => (0..shards).collect(),
        }
    }

    /// Also locks `shards`, but only with `try_lock`, so it never waits
    /// (and cannot deadlock whatever the order). False if one was busy;
    /// the locks taken so far are kept.
    pub fn try_extend(&mut self, ks: &'a Keyspace, shards: &[usize]) -> bool {
        for &idx in shards {
            let held = match self {
                Locks::None => false,
                Locks::One(i, _) => *i == idx,
                Locks::Many(v) => v.iter().any(|(i, _)| *i == idx),
                Locks::All(_) => true,
            };
            if held {
                continue;
            }
            let Some(guard) = ks.try_lock(idx) else {
                return false;
            };
            let mut v = match std::mem::replace(self, Locks::None) {
                Locks::One(i, g) => vec![(i, g)],
                Locks::Many(v) => v,
                Locks::None | Locks::All(_) => Vec::new(),
            };
            v.push((idx, guard));
            v.sort_unstable_by_key(|(i, _)| *i);
            *self = Locks::Many(v);
        }
        true
    }

    /// Releases every lock.
    pub fn release(&mut self) {
        *self = Locks::None;
    }
}

/// What a handler works with.
pub struct Ctx<'a> {
    pub server: &'a Server,
    pub client: &'a mut Client,
    pub out: &'a mut Reply,
    /// The time of this command, read once (ms since the epoch).
    pub now: u64,
    pub locks: Locks<'a>,
    /// Changes counted by `dirty` during this context (a command that
    /// counted none modified nothing: its keys' watchers stay clean).
    pub changes: std::cell::Cell<u64>,
}

impl<'a> Ctx<'a> {
    /// The client's selected database's part holding `key`.
    pub fn db(&mut self, key: &[u8]) -> &mut Db {
        let dbi = self.client.db;
        self.db_in(dbi, key)
    }

    /// Database `dbi`'s part holding `key` (MOVE, COPY ... DB).
    pub fn db_in(&mut self, dbi: usize, key: &[u8]) -> &mut Db {
        let ks = &self.server.keyspace;
        let idx = ks.shard_of(key);
        self.locks.shard(ks, idx).db(dbi)
    }

    /// The locked part of the selected database holding `key`, and the
    /// reply buffer, borrowed together.
    pub fn db_out(&mut self, key: &[u8]) -> (&mut Db, &mut Reply) {
        let dbi = self.client.db;
        let ks = &self.server.keyspace;
        let db = self.locks.shard(ks, ks.shard_of(key)).db(dbi);
        (db, &mut *self.out)
    }

    /// Shard `idx`, locked.
    pub fn shard(&mut self, idx: usize) -> &mut Shard {
        let ks = &self.server.keyspace;
        self.locks.shard(ks, idx)
    }

    /// Counts `n` changes to the dataset (for save points and INFO).
    pub fn dirty(&self, n: u64) {
        self.changes.set(self.changes.get() + n);
        self.server.add_dirty(n);
    }
}

/// `a` as C's `printf("%.Ns", a)` prints it: up to the first NUL byte and
/// at most `max` bytes (Redis quotes arguments back this way, raw bytes).
fn c_prefix(a: &[u8], max: usize) -> &[u8] {
    let a = a.iter().position(|&b| b == 0).map_or(a, |z| &a[..z]);
    &a[..a.len().min(max)]
}

fn unknown_command(out: &mut Reply, args: &[&[u8]]) {
    // Redis: for each argument while the list is under 128 bytes,
    // sdscatprintf(args, "'%.*s' ", 128 - sdslen(args), arg).
    let mut list = Vec::new();
    for a in args.iter().skip(1) {
        if list.len() >= 128 {
            break;
        }
        let room = 128 - list.len();
        list.push(b'\'');
        list.extend_from_slice(c_prefix(a, room));
        list.extend_from_slice(b"' ");
    }
    let mut msg = b"unknown command '".to_vec();
    msg.extend_from_slice(c_prefix(args[0], 128));
    msg.extend_from_slice(b"', with args beginning with: ");
    msg.extend_from_slice(&list);
    out.error_bytes(&msg);
}

/// Runs one command, writing its reply to `out`.
pub fn execute(server: &Server, client: &mut Client, out: &mut Reply, args: &[&[u8]]) {
    if args.is_empty() {
        return;
    }
    let reply_start = out.len();
    let Some(cmd) = server.commands.resolve(args) else {
        unknown_command(out, args);
        server.count_rejected(out, None);
        client.tx.flag_error();
        client.finish_command(out, reply_start);
        return;
    };
    run(server, client, out, args, cmd, reply_start);
}

fn run(server: &Server, client: &mut Client, out: &mut Reply, args: &[&[u8]], cmd: &Command, reply_start: usize) {
    let spec = cmd.spec;
    if !spec.subcommands.is_empty() && args.len() >= 2 {
        // A container whose subcommand is unknown.
        let mut msg = b"unknown subcommand '".to_vec();
        msg.extend_from_slice(c_prefix(args[1], 128));
        msg.extend_from_slice(format!("'. Try {} HELP.", spec.name.to_ascii_uppercase()).as_bytes());
        out.error_bytes(&msg);
        server.count_rejected(out, Some(cmd));
        client.tx.flag_error();
        client.finish_command(out, reply_start);
        return;
    }
    let argc = args.len() as i32;
    if (spec.arity > 0 && argc != spec.arity) || argc < -spec.arity {
        out.error(&format!("wrong number of arguments for '{}' command", spec.name));
        server.count_rejected(out, Some(cmd));
        client.tx.flag_error();
        client.finish_command(out, reply_start);
        return;
    }
    if !client.authenticated && !spec.has(flags::NO_AUTH) && server.auth_required() {
        out.error("-NOAUTH Authentication required.");
        server.count_rejected(out, Some(cmd));
        client.tx.flag_error();
        client.finish_command(out, reply_start);
        return;
    }
    // ACL: the command, its keys and channels, for the connection's user
    // (the default user, allowed everything, costs an atomic load). A
    // command refused inside MULTI for being no-multi says so instead.
    let acl_exempt = client.aof_loader
        || client.acl_user(&server.acl).unrestricted
        || (client.tx.in_multi() && spec.has(flags::NO_MULTI));
    if !acl_exempt {
        let checked = {
            let mut ctx = Ctx {
                server,
                client: &mut *client,
                out: &mut *out,
                now: server.now_ms(),
                locks: Locks::None,
                changes: std::cell::Cell::new(0),
            };
            crate::commands::aclcmd::check(&mut ctx, spec, args)
        };
        if let Err(e) = checked {
            out.error(&e);
            server.count_rejected(out, Some(cmd));
            client.tx.flag_error();
            client.finish_command(out, reply_start);
            return;
        }
    }
    // A RESP2 subscriber may only (un)subscribe, PING, QUIT and RESET.
    if client.subs.any() && !out.is_resp3() && !crate::pubsub::allowed_in_subscribed_mode(spec.name) {
        out.error(&format!(
            "Can't execute '{}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context",
            spec.name
        ));
        server.count_rejected(out, Some(cmd));
        client.tx.flag_error();
        client.finish_command(out, reply_start);
        return;
    }

    if server.persist.loading.load(std::sync::atomic::Ordering::Relaxed)
        && !spec.has(flags::LOADING)
        && !client.aof_loader
    {
        out.error(crate::persist::LOADING);
        server.count_rejected(out, Some(cmd));
        client.tx.flag_error();
        client.finish_command(out, reply_start);
        return;
    }

    // A script running past busy-reply-threshold holds every shard: answer
    // -BUSY before waiting on any lock (SCRIPT KILL, SHUTDOWN: allow-busy).
    if server.scripting.running() && !client.aof_loader && server.scripting.wait_or_busy(server, spec) {
        out.error(server.scripting.busy_error());
        server.count_rejected(out, Some(cmd));
        client.tx.flag_error();
        client.finish_command(out, reply_start);
        return;
    }

    // A monitor is a replica to Redis: it may not touch the keyspace.
    if (spec.has(flags::WRITE) || spec.has(flags::READONLY))
        && client.info.monitor.load(std::sync::atomic::Ordering::Relaxed)
    {
        out.error("Replica can't interact with the keyspace");
        server.count_rejected(out, Some(cmd));
        client.finish_command(out, reply_start);
        return;
    }

    if client.tx.in_multi() && !crate::commands::multi::runs_in_multi(spec) {
        crate::commands::multi::queue(server, client, out, args, cmd);
        client.note_command(spec.name);
        client.finish_command(out, reply_start);
        return;
    }

    client.oom = false;
    if server.eviction.maxmemory() != 0 && !client.aof_loader {
        let outcome = server.eviction.perform(&server.keyspace, server.started);
        let usec = server.eviction.take_cycle_usec();
        if usec != 0 {
            server
                .latency
                .observe("eviction-cycle", usec, || server.now_ms() / 1000);
        }
        client.oom = outcome == crate::evict::Outcome::Fail;
        let evicted = server.eviction.take_evicted_shards();
        if !evicted.is_empty() {
            // No lock is held here: the evicted keys' DELs, events and
            // invalidations go out now, before this command.
            crate::propagate::drain_shards(server, &evicted, true);
        }
        // EXEC is refused when it queued a denyoom command.
        let exec_oom = spec.name == "exec" && client.tx.queue.as_ref().is_some_and(|q| q.flags & flags::DENYOOM != 0);
        if outcome == crate::evict::Outcome::Fail
            && (exec_oom || crate::scripting::command_flags(server, spec, args) & flags::DENYOOM != 0)
        {
            if exec_oom {
                crate::commands::multi::discard_transaction(server, client);
                out.error("-EXECABORT Transaction discarded because of: OOM command not allowed when used memory > 'maxmemory'.");
            } else {
                out.error("-OOM command not allowed when used memory > 'maxmemory'.");
            }
            server.count_rejected(out, Some(cmd));
            client.finish_command(out, reply_start);
            return;
        }
    }

    // A failed background save or AOF write stops writes (and PING, as
    // in Redis).
    // A script declaring flags is a write unless `no-writes`.
    let script = crate::scripting::is_script(spec.name);
    let denied = if (spec.has(flags::WRITE) || spec.name == "ping" || exec_writes(spec, client) || script)
        && !client.aof_loader
    {
        if server.persist.writes_denied(server) {
            Some(crate::persist::MISCONF.to_string())
        } else {
            server.aof.write_error()
        }
    } else {
        None
    };
    let denied = denied.filter(|_| !script || crate::scripting::command_flags(server, spec, args) & flags::WRITE != 0);
    if let Some(err) = denied {
        if spec.name == "exec" {
            crate::commands::multi::discard_transaction(server, client);
            out.error(&format!("-EXECABORT Transaction discarded because of: {}", &err[1..]));
        } else {
            out.error(&err);
        }
        server.count_rejected(out, Some(cmd));
        client.finish_command(out, reply_start);
        return;
    }

    let ks = &server.keyspace;
    let locks = if spec.has(flags::ALL_SHARDS) {
        Locks::all(ks)
    } else if spec.key_specs.is_empty() {
        Locks::None
    } else {
        let mut positions = std::mem::take(&mut client.scratch_positions);
        positions.clear();
        spec.key_positions(args, &mut positions);
        let mut shards = std::mem::take(&mut client.scratch_shards);
        shards.clear();
        shards.extend(positions.iter().map(|&p| ks.shard_of(args[p])));
        let locks = Locks::acquire(ks, &mut shards);
        client.scratch_positions = positions;
        client.scratch_shards = shards;
        locks
    };

    let started = Instant::now();
    let now = ks.now_ms();
    {
        let mut ctx = Ctx {
            server,
            client: &mut *client,
            out: &mut *out,
            now,
            locks,
            changes: std::cell::Cell::new(0),
        };
        call(&mut ctx, spec, args, false);
        ctx.locks.release();
    }
    let usec = started.elapsed().as_micros() as u64;
    server.count_call(out, cmd, usec);
    // A command that blocked is logged when it is served (EXEC's are
    // logged one by one, as Redis: it is `skip_slowlog`).
    // (Nothing from loading the AOF, as Redis.)
    if client.blocked.is_none() && !client.aof_loader {
        server.log_call(spec, args, usec, Some(&client.info));
    }
    if !client.served_slowlog.is_empty() {
        server.slowlog_served(client);
    }
    client.note_command(spec.name);
    client.finish_command(out, reply_start);
}

/// Whether `spec` is an EXEC whose queue holds a write.
fn exec_writes(spec: &CommandSpec, client: &Client) -> bool {
    spec.name == "exec" && client.tx.queue.as_ref().is_some_and(|q| q.flags & flags::WRITE != 0)
}

/// Runs a command's handler with its locks already held (by `run`, or
/// every shard by EXEC), then what follows a write: touching watched
/// keys, and (unless `in_exec`: EXEC does it once at its end) serving
/// blocked clients whose keys became ready.
pub(crate) fn call(ctx: &mut Ctx<'_>, spec: &CommandSpec, args: &[&[u8]], in_exec: bool) {
    let server = ctx.server;
    let write = spec.has(flags::WRITE);
    let watched = write && server.watches.active();
    if watched {
        crate::commands::multi::touch_for_write(ctx, spec, args, true);
    }
    let changes = ctx.changes.get();
    let reply_start = ctx.out.len();
    let notify = server.notify.flags();
    let before = if notify != 0 && !spec.key_specs.is_empty() {
        crate::notify::existence(ctx, spec, args)
    } else {
        Vec::new()
    };
    (spec.handler)(ctx, args);
    if let Some(req) = ctx.client.block_request.take() {
        crate::blocking::register(ctx, args, spec, req);
    }
    if server.monitors.any() {
        crate::monitor::feed(ctx, spec, args);
    }
    effects(ctx, spec, args, changes, reply_start, &before, notify);
    let signalled = std::mem::take(&mut ctx.client.signal_modified);
    if watched && (ctx.changes.get() != changes || signalled) {
        crate::commands::multi::touch_for_write(ctx, spec, args, false);
    }
    // Writes may create keys clients wait on (EXEC and scripts lock
    // every shard and may write without the WRITE flag).
    if !in_exec && (write || spec.has(flags::ALL_SHARDS)) && server.blocking.count() > 0 {
        crate::blocking::serve_ready(ctx);
    }
}

/// What follows a command that ran (`changes`: the change count before it,
/// `reply_start`: where its reply began, `before`: its keys' existence when
/// `notify` is on): lease cancellation, the AOF, keyspace notifications and
/// tracking invalidations. Also for a blocked command served by another
/// client's write.
pub(crate) fn effects(
    ctx: &mut Ctx<'_>,
    spec: &CommandSpec,
    args: &[&[u8]],
    changes: u64,
    reply_start: usize,
    before: &[(usize, bool)],
    notify: u32,
) {
    let server = ctx.server;
    // Any write to a key cancels its lease, a DEL of a missing key too:
    // that is the invalidation a cache-aside updater sends.
    if spec.has(flags::WRITE) && server.leases.any() {
        crate::commands::lease::after_write(ctx, spec, args);
    }
    let aof = server.aof.is_on();
    let tracking = server.tracking.active();
    if aof || notify != 0 || tracking {
        let removed = crate::propagate::take_removed(ctx);
        let changed = ctx.changes.get() != changes;
        if aof {
            crate::propagate::after_command(ctx, spec, args, changes, reply_start, &removed);
        }
        if notify != 0 {
            crate::notify::after_command(ctx, spec, args, changed, before, &removed, notify);
        }
        if tracking {
            crate::tracking::after_command(ctx, spec, args, changed, &removed);
        }
    }
    ctx.client.propagate_as = None;
}

impl Client {
    /// Applies CLIENT REPLY OFF/SKIP to what the command just wrote.
    fn finish_command(&mut self, out: &mut Reply, reply_start: usize) {
        match self.reply_mode {
            ReplyMode::On => {}
            ReplyMode::Off => out.buf.truncate(reply_start),
            ReplyMode::Skip => {
                out.buf.truncate(reply_start);
                self.reply_mode = ReplyMode::On;
            }
            ReplyMode::SkipNext => self.reply_mode = ReplyMode::Skip,
        }
    }
}
