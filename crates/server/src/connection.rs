//! One client connection: read bytes, parse every complete request in the
//! buffer, execute them in order, and send all their replies in one write.
//!
//! Memory per connection is bounded by what the peer actually sends and
//! reads: the read buffer grows at most by doubling what has arrived (never
//! by a declared length), and replies are flushed every [`FLUSH_THRESHOLD`]
//! bytes, so a client that pipelines without reading stalls on its own
//! socket instead of piling replies up in the server.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use bytes::{Buf, BytesMut};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use larder_protocol::{Parsed, Reply, RequestLimits, RequestParser, Resp};

use crate::blocking::{Cancel, Cancelled};
use crate::client::{Client, ClientInfo};
use crate::commands::flags;
use crate::dispatch::execute;
use crate::server::Server;

/// Replies larger than this are flushed mid-batch, bounding the output
/// buffer of a client that pipelines many large reads.
const FLUSH_THRESHOLD: usize = 256 * 1024;
/// Smallest read buffer growth.
const READ_CHUNK: usize = 16 * 1024;
/// Most bytes taken in one read outside a big bulk.
const MAX_READ: usize = 256 * 1024;
/// How long a connection closed by the server after an error keeps
/// reading (and discarding) what the peer still sends, so the error reply
/// is not lost to a TCP reset.
const LINGER: Duration = Duration::from_millis(200);
/// At most this much is discarded while lingering.
const LINGER_BYTES: usize = 1024 * 1024;

/// What to do after a request.
enum Next {
    Continue,
    /// Send what is pending, then close (QUIT, CLIENT KILL of itself).
    CloseAfterReply,
    /// Close now (killed, write error).
    Drop,
    /// The command blocked (BLPOP...): the pipeline waits until it is served.
    Blocked,
}

/// Serves one connection until it closes, is killed or times out.
pub async fn serve<S>(mut stream: S, server: Arc<Server>, info: Arc<ClientInfo>)
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let mut client = Client::new(info.clone(), !server.auth_required());
    let mut rbuf = BytesMut::with_capacity(READ_CHUNK);
    let mut out = Reply::new(Resp::V2);
    let mut parser = RequestParser::new();
    let mut ranges = Vec::new();
    let mut linger = false;

    'conn: loop {
        // Grow the buffer with what has arrived, never by a declared
        // length alone: at most double what is already buffered.
        if rbuf.capacity() - rbuf.len() < READ_CHUNK / 4 {
            let want = parser
                .pending_bulk(rbuf.len())
                .unwrap_or(0)
                .min(rbuf.len())
                .max(READ_CHUNK);
            rbuf.reserve(want);
        }
        info.qbuf_free.store(rbuf.capacity() - rbuf.len(), Ordering::Relaxed);
        // One read takes at most MAX_READ, or what the bulk being received
        // still needs: the query buffer then only exceeds the configured
        // limit when a single request does.
        let read_max = parser.pending_bulk(rbuf.len()).unwrap_or(0).max(MAX_READ);
        let timeout = server.config.read().timeout;
        let mut reader = (&mut stream).take(read_max as u64);
        let read = tokio::select! {
            r = reader.read_buf(&mut rbuf) => Some(r),
            // Pub/Sub messages and tracking invalidations queued by other
            // clients' commands on any thread.
            _ = info.outbox.notify.notified() => None,
            _ = info.kill.notified() => break 'conn,
            _ = idle(timeout) => {
                // Like Redis, subscribers are never idle.
                if info.is_pubsub() {
                    continue 'conn;
                }
                tracing::debug!("Closing idle client");
                break 'conn;
            }
        };
        let Some(read) = read else {
            info.outbox.drain_into(&mut out);
            if !flush(&mut stream, &mut out, &server, &info).await {
                break 'conn;
            }
            continue 'conn;
        };
        let n = match read {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        server.stats.read_done(n);
        info.last_interaction_ms.store(server.now_ms(), Ordering::Relaxed);
        // While its requests run, a client's query buffer holds them.
        info.qbuf.store(rbuf.len(), Ordering::Relaxed);
        info.qbuf_free.store(rbuf.capacity() - rbuf.len(), Ordering::Relaxed);
        // Like Redis, the limit applies to what has been read, before it
        // is processed: an argument bigger than the limit always trips it.
        if rbuf.len() as u64 > server.config.read().client_query_buffer_limit {
            tracing::warn!(
                "Closing client that reached max query buffer length: id={} addr={} (qbuf initial bytes: {:?})",
                info.id,
                info.addr,
                String::from_utf8_lossy(&rbuf[..rbuf.len().min(64)])
            );
            linger = true;
            break;
        }

        let mut close = false;
        let mut off = 0;
        loop {
            if info.killed.load(Ordering::Relaxed) {
                break 'conn;
            }
            let limits = RequestLimits {
                max_bulk_len: server.config.read().proto_max_bulk_len,
                authenticated: client.authenticated || !server.auth_required(),
            };
            let next = match parser.parse(&rbuf[off..], &mut ranges, limits) {
                Ok(Some(Parsed::Multibulk { consumed })) => {
                    let base = &rbuf[off..off + consumed];
                    off += consumed;
                    let mut stack: [&[u8]; 16] = [&[]; 16];
                    let heap: Vec<&[u8]>;
                    let args: &[&[u8]] = if ranges.len() <= stack.len() {
                        for (slot, r) in stack.iter_mut().zip(ranges.iter()) {
                            *slot = &base[r.clone()];
                        }
                        &stack[..ranges.len()]
                    } else {
                        heap = ranges.iter().map(|r| &base[r.clone()]).collect();
                        &heap
                    };
                    run_request(&mut stream, &server, &mut client, &mut out, args).await
                }
                Ok(Some(Parsed::Inline { consumed, args })) => {
                    off += consumed;
                    let args: Vec<&[u8]> = args.iter().map(|a| a.as_slice()).collect();
                    run_request(&mut stream, &server, &mut client, &mut out, &args).await
                }
                Ok(Some(Parsed::Empty { consumed })) => {
                    off += consumed;
                    Next::Continue
                }
                Ok(None) => break,
                Err(e) => {
                    out.error(&e.0);
                    let _ = out.take_errors();
                    server.stats.total_error_replies.fetch_add(1, Ordering::Relaxed);
                    *server.errorstats.lock().entry("ERR".into()).or_insert(0) += 1;
                    tracing::debug!(
                        "Protocol error ({}) from client: id={} addr={}",
                        e.0,
                        info.id,
                        info.addr
                    );
                    close = true;
                    linger = true;
                    break;
                }
            };
            match next {
                Next::Continue => {}
                Next::CloseAfterReply => {
                    close = true;
                    break;
                }
                Next::Drop => break 'conn,
                Next::Blocked => {
                    // Replies so far go out first; what follows in the
                    // buffer (and what arrives meanwhile) runs after.
                    durable(&server, &mut client).await;
                    if !flush(&mut stream, &mut out, &server, &info).await
                        || !wait_blocked(&mut stream, &mut rbuf, &server, &mut client, &mut out).await
                    {
                        break 'conn;
                    }
                }
            }
            if out.len() >= FLUSH_THRESHOLD {
                durable(&server, &mut client).await;
            }
            if out.len() >= FLUSH_THRESHOLD && !flush(&mut stream, &mut out, &server, &info).await {
                break 'conn;
            }
        }
        rbuf.advance(off);
        info.qbuf.store(rbuf.len(), Ordering::Relaxed);
        durable(&server, &mut client).await;
        if !flush(&mut stream, &mut out, &server, &info).await || close {
            break;
        }
        // A buffer that held one huge request goes back to normal size.
        if rbuf.is_empty() && rbuf.capacity() > 4 * READ_CHUNK {
            rbuf = BytesMut::with_capacity(READ_CHUNK);
        }
    }
    if let Some(w) = client.blocked.take() {
        server.blocking.cancel(w.id, Cancel::Gone);
    }
    crate::commands::multi::discard_transaction(&server, &mut client);
    crate::pubsub::forget_client(&server, &mut client);
    crate::tracking::disable(&server, &info);
    server.monitors.remove(info.id);
    // Unregister first: CLIENT LIST must not show a closing client.
    server.clients.lock().remove(&info.id);
    server.stats.connected_clients.fetch_sub(1, Ordering::Relaxed);
    let _ = stream.shutdown().await;
    if linger {
        drain(&mut stream).await;
    }
}

/// Runs one parsed request: waits while CLIENT PAUSE holds it, executes
/// it, and says whether the connection goes on.
async fn run_request<S>(stream: &mut S, server: &Server, client: &mut Client, out: &mut Reply, args: &[&[u8]]) -> Next
where
    S: AsyncWrite + Unpin,
{
    if pause_applies(server, client, args) {
        // Replies to earlier commands go out before we wait (the client
        // that sent CLIENT PAUSE gets its +OK).
        if !flush(stream, out, server, &client.info).await {
            return Next::Drop;
        }
        if !wait_pause(server, client, args).await {
            return Next::Drop;
        }
    }
    // Messages published before this request ran go out before its reply.
    client.info.outbox.drain_into(out);
    if crate::scripting::runs_script(args) {
        execute_script(server, client, out, args).await;
    } else {
        execute(server, client, out, args);
    }
    // Messages published meanwhile follow the reply.
    client.info.outbox.drain_into(out);
    if client.info.killed.load(Ordering::Relaxed) {
        return Next::Drop;
    }
    if client.blocked.is_some() || client.repl_wait.is_some() {
        return Next::Blocked;
    }
    if client.close_after_reply {
        return Next::CloseAfterReply;
    }
    Next::Continue
}

/// Runs EVAL and friends on a blocking thread: a script may run long,
/// and this I/O thread's other connections must be served meanwhile
/// (-BUSY, SCRIPT KILL). The client and its reply buffer move to that
/// thread and back.
async fn execute_script(server: &Server, client: &mut Client, out: &mut Reply, args: &[&[u8]]) {
    let Some(srv) = server.arc() else {
        return execute(server, client, out, args);
    };
    let owned: Vec<Vec<u8>> = args.iter().map(|a| a.to_vec()).collect();
    let placeholder = Client::new(client.info.clone(), client.authenticated);
    let mut c = std::mem::replace(client, placeholder);
    let mut o = std::mem::take(out);
    let task = tokio::task::spawn_blocking(move || {
        let args: Vec<&[u8]> = owned.iter().map(|a| a.as_slice()).collect();
        execute(&srv, &mut c, &mut o, &args);
        (c, o)
    });
    match task.await {
        Ok((c, o)) => {
            *client = c;
            *out = o;
        }
        Err(e) => {
            // The script's thread panicked: the connection cannot go on.
            tracing::warn!("a script's thread failed: {e}");
            client.info.kill();
        }
    }
}

/// Waits while the client is blocked on keys (BLPOP...): until its
/// waiter is served (the reply arrives on its channel), its deadline
/// passes, it is killed, or the peer closes. Bytes the peer sends
/// meanwhile are buffered, not executed. False if the connection is to
/// close.
async fn wait_blocked<S>(
    stream: &mut S,
    rbuf: &mut BytesMut,
    server: &Server,
    client: &mut Client,
    out: &mut Reply,
) -> bool
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    if let Some(w) = client.repl_wait.take() {
        return wait_repl(stream, rbuf, server, client, out, w).await;
    }
    let Some(mut w) = client.blocked.take() else {
        return true;
    };
    let info = client.info.clone();
    info.blocked.store(true, Ordering::Relaxed);
    let mut deadline = w.deadline;
    // Under CLIENT REPLY OFF/SKIP the reply goes to a scratch buffer.
    let mut dropped = Reply::new(out.resp);
    let out = if w.silent { &mut dropped } else { out };
    // A (RESP3) subscriber keeps receiving messages while blocked.
    let mut pushes = Reply::new(out.resp);
    let alive = loop {
        if !pushes.buf.is_empty() && !flush(stream, &mut pushes, server, &info).await {
            server.blocking.cancel(w.id, Cancel::Gone);
            break false;
        }
        if rbuf.capacity() - rbuf.len() < READ_CHUNK / 4 {
            rbuf.reserve(READ_CHUNK);
        }
        let wait_ms = deadline.map(|d| d.saturating_sub(server.now_ms()));
        tokio::select! {
            r = &mut w.rx => {
                if let Ok(served) = r {
                    out.raw(&served.reply);
                    client.aof_offset = client.aof_offset.max(served.aof_offset);
                    client.woff = client.woff.max(served.aof_offset);
                }
                break true;
            }
            _ = sleep_ms(wait_ms) => {
                if wait_ms.is_some_and(|ms| ms > 0) {
                    continue;
                }
                match server.blocking.cancel(w.id, Cancel::Timeout) {
                    Cancelled::Removed => {
                        out.raw(w.on_timeout.bytes(out.is_resp3()));
                        break true;
                    }
                    // Served or unblocked just now: the reply is waiting.
                    Cancelled::NotFound => {
                        match w.rx.try_recv() {
                            Ok(served) => {
                                out.raw(&served.reply);
                                client.aof_offset = client.aof_offset.max(served.aof_offset);
                                client.woff = client.woff.max(served.aof_offset);
                            }
                            Err(_) => out.raw(w.on_timeout.bytes(out.is_resp3())),
                        }
                        break true;
                    }
                    // Being served right now: the outcome comes on the channel.
                    Cancelled::InFlight => deadline = None,
                }
            }
            _ = info.kill.notified() => {
                server.blocking.cancel(w.id, Cancel::Gone);
                break false;
            }
            _ = info.outbox.notify.notified() => info.outbox.drain_into(&mut pushes),
            r = stream.read_buf(rbuf) => match r {
                Ok(0) | Err(_) => {
                    server.blocking.cancel(w.id, Cancel::Gone);
                    break false;
                }
                Ok(n) => {
                    server.stats.read_done(n);
                    info.qbuf.store(rbuf.len(), Ordering::Relaxed);
                    if rbuf.len() as u64 > server.config.read().client_query_buffer_limit {
                        server.blocking.cancel(w.id, Cancel::Gone);
                        break false;
                    }
                }
            }
        }
    };
    info.blocked.store(false, Ordering::Relaxed);
    info.last_interaction_ms.store(server.now_ms(), Ordering::Relaxed);
    alive
}

/// WAIT / WAITAOF: until the connection's writes are fsynced (WAITAOF 1
/// 0), the deadline, CLIENT UNBLOCK, or the connection's end. Input that
/// arrives meanwhile is buffered, as for a blocked command.
async fn wait_repl<S>(
    stream: &mut S,
    rbuf: &mut BytesMut,
    server: &Server,
    client: &mut Client,
    out: &mut Reply,
    w: crate::commands::replication::ReplWait,
) -> bool
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let info = client.info.clone();
    info.blocked.store(true, Ordering::Relaxed);
    info.repl_waiting.store(true, Ordering::Release);
    server.blocking.repl_waiting.fetch_add(1, Ordering::Relaxed);
    let writer = server.aof.handle();
    let fsynced = async {
        match (&writer, w.until_local) {
            (Some(aof), true) => {
                let _ = aof.writer().wait_durable_async(w.woff).await;
            }
            _ => std::future::pending::<()>().await,
        }
    };
    tokio::pin!(fsynced);
    let mut dropped = Reply::new(out.resp);
    let target = if w.silent { &mut dropped } else { &mut *out };
    let alive = loop {
        let wait_ms = w.deadline.map(|d| d.saturating_sub(server.now_ms()));
        tokio::select! {
            _ = &mut fsynced => {
                w.reply(server, target);
                break true;
            }
            _ = sleep_ms(wait_ms) => {
                if wait_ms.is_some_and(|ms| ms > 0) {
                    continue;
                }
                w.reply(server, target);
                break true;
            }
            _ = info.unblock.notified() => {
                if info.unblock_error.load(Ordering::Acquire) {
                    target.raw(crate::blocking::UNBLOCKED_ERROR);
                } else {
                    w.reply(server, target);
                }
                break true;
            }
            _ = info.kill.notified() => break false,
            r = stream.read_buf(rbuf) => match r {
                Ok(0) | Err(_) => break false,
                Ok(n) => {
                    server.stats.read_done(n);
                    info.qbuf.store(rbuf.len(), Ordering::Relaxed);
                    if rbuf.len() as u64 > server.config.read().client_query_buffer_limit {
                        break false;
                    }
                }
            }
        }
    };
    info.repl_waiting.store(false, Ordering::Release);
    server.blocking.repl_waiting.fetch_sub(1, Ordering::Relaxed);
    info.blocked.store(false, Ordering::Relaxed);
    info.last_interaction_ms.store(server.now_ms(), Ordering::Relaxed);
    alive
}

/// Sleeps `ms` milliseconds, or forever for None.
async fn sleep_ms(ms: Option<u64>) {
    match ms {
        Some(ms) => tokio::time::sleep(Duration::from_millis(ms)).await,
        None => std::future::pending::<()>().await,
    }
}

/// Writes the pending replies. False when the connection is gone or was
/// killed while the peer was not reading.
/// With `appendfsync always`, replies to writes go out only once the AOF
/// holds them on disk (one fsync serves every client waiting). If the AOF
/// cannot be written or fsynced, the process exits without replying, as
/// Redis does ("Can't recover from AOF write error when the AOF fsync
/// policy is 'always'. Exiting...", logged by the writer): the write must
/// not be acknowledged.
async fn durable(server: &Server, client: &mut Client) {
    if client.aof_offset == 0 {
        return;
    }
    let off = std::mem::take(&mut client.aof_offset);
    if let Some(aof) = server.aof.handle() {
        if aof.writer().fsync_policy() == crate::aof::FsyncPolicy::Always {
            if let Err(e) = aof.writer().wait_durable_async(off).await {
                // A write acknowledged now could be lost: Redis exits
                // (unless the writer was only closed: AOF turned off).
                if !e.is_closed() {
                    tracing::warn!(
                        "Can't recover from AOF write error when the AOF fsync policy is 'always'. Exiting... ({e})"
                    );
                    std::process::exit(1);
                }
            }
        }
    }
}

async fn flush<S: AsyncWrite + Unpin>(stream: &mut S, out: &mut Reply, server: &Server, info: &ClientInfo) -> bool {
    if out.buf.is_empty() {
        return true;
    }
    let len = out.buf.len();
    info.obuf.store(len, Ordering::Relaxed);
    if len > info.rbp.load(Ordering::Relaxed) {
        info.rbp.store(len, Ordering::Relaxed);
    }
    let ok = tokio::select! {
        r = stream.write_all(&out.buf) => r.is_ok(),
        _ = info.kill.notified() => false,
    };
    server.stats.written(len);
    out.buf.clear();
    info.obuf.store(0, Ordering::Relaxed);
    if out.buf.capacity() > 4 * FLUSH_THRESHOLD {
        out.buf.shrink_to(READ_CHUNK);
    }
    info.rbs.store(out.buf.capacity(), Ordering::Relaxed);
    ok && !info.killed.load(Ordering::Relaxed)
}

/// Reads and discards what the peer still sends for a short while, so
/// closing does not reset the connection before it has read our error.
async fn drain<S: AsyncRead + Unpin>(stream: &mut S) {
    let mut buf = [0u8; 8192];
    let mut total = 0;
    let _ = tokio::time::timeout(LINGER, async {
        while total < LINGER_BYTES {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => total += n,
            }
        }
    })
    .await;
}

async fn idle(timeout_secs: u64) {
    if timeout_secs == 0 {
        std::future::pending::<()>().await;
    }
    tokio::time::sleep(Duration::from_secs(timeout_secs)).await;
}

/// Whether CLIENT PAUSE holds this request back now. Like Redis, requests
/// that fail before execution (unknown command, arity, authentication)
/// are answered at once; under `WRITE` only commands that may write or
/// replicate wait.
pub(crate) fn pause_applies(server: &Server, client: &Client, args: &[&[u8]]) -> bool {
    let pause = *server.pause.lock();
    if pause.until_ms == 0 || server.shutting_down.load(Ordering::Relaxed) {
        return false;
    }
    if server.now_ms() >= pause.until_ms {
        return false;
    }
    let Some(cmd) = server.commands.resolve(args) else {
        return false;
    };
    let spec = cmd.spec;
    if !spec.subcommands.is_empty() && args.len() >= 2 {
        return false;
    }
    let argc = args.len() as i32;
    if (spec.arity > 0 && argc != spec.arity) || argc < -spec.arity {
        return false;
    }
    if !client.authenticated && !spec.has(flags::NO_AUTH) && server.auth_required() {
        return false;
    }
    // EXEC may write if it queued a command that may (Redis's mstate.cmd_flags).
    let queued = match (&client.tx.queue, spec.name) {
        (Some(q), "exec") => q.flags,
        _ => 0,
    };
    // A script decides by the flags it declares (getCommandFlags), read
    // without waiting for a running function.
    let script = crate::scripting::is_script(spec.name);
    let own = if script { 0 } else { spec.flags };
    !pause.write_only
        || (own | queued) & (flags::WRITE | flags::MAY_REPLICATE) != 0
        || (script && crate::scripting::may_write(server, spec.name, args))
}

/// Waits until the pause no longer holds the request: it ends, or
/// CLIENT UNPAUSE runs. False if the client was killed meanwhile.
async fn wait_pause(server: &Server, client: &Client, args: &[&[u8]]) -> bool {
    let info = &client.info;
    info.blocked.store(true, Ordering::Relaxed);
    let alive = loop {
        // Register for the wake-up before looking at the state, so an
        // UNPAUSE between the two is not missed.
        let unpaused = server.unpaused.notified();
        tokio::pin!(unpaused);
        unpaused.as_mut().enable();
        if !pause_applies(server, client, args) {
            break true;
        }
        let until = server.pause.lock().until_ms;
        let wait = until.saturating_sub(server.now_ms()).clamp(1, 100);
        tokio::select! {
            _ = &mut unpaused => {}
            _ = tokio::time::sleep(Duration::from_millis(wait)) => {}
            _ = info.kill.notified() => break false,
        }
        if info.killed.load(Ordering::Relaxed) {
            break false;
        }
    };
    info.blocked.store(false, Ordering::Relaxed);
    info.last_interaction_ms.store(server.now_ms(), Ordering::Relaxed);
    alive
}
