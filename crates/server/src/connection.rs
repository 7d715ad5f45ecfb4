//! One client connection: read bytes, parse every complete request in the
//! buffer, execute them in order, and send all their replies in one write.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use bytes::{Buf, BytesMut};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use larder_protocol::{Parsed, Reply, RequestLimits, RequestParser, Resp};

use crate::client::{Client, ClientInfo};
use crate::dispatch::execute;
use crate::server::Server;

/// Replies larger than this are flushed mid-batch, bounding the output
/// buffer of a client that pipelines many large reads.
const FLUSH_THRESHOLD: usize = 256 * 1024;
/// Smallest read buffer growth.
const READ_CHUNK: usize = 16 * 1024;

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
        let timeout = server.config.read().timeout;
        let read = tokio::select! {
            r = stream.read_buf(&mut rbuf) => r,
            _ = info.kill.notified() => break 'conn,
            _ = idle(timeout) => {
                tracing::debug!("Closing idle client");
                break 'conn;
            }
        };
        let n = match read {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        server.stats.net_input_bytes.fetch_add(n as u64, Ordering::Relaxed);
        info.last_interaction_ms.store(server.now_ms(), Ordering::Relaxed);

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
            let parsed = parser.parse(&rbuf[off..], &mut ranges, limits);
            match parsed {
                Ok(Some(Parsed::Multibulk { consumed })) => {
                    let base = &rbuf[off..off + consumed];
                    wait_if_paused(&server, &client, base, &ranges).await;
                    let mut stack: [&[u8]; 16] = [&[]; 16];
                    if ranges.len() <= stack.len() {
                        for (slot, r) in stack.iter_mut().zip(ranges.iter()) {
                            *slot = &base[r.clone()];
                        }
                        execute(&server, &mut client, &mut out, &stack[..ranges.len()]);
                    } else {
                        let args: Vec<&[u8]> = ranges.iter().map(|r| &base[r.clone()]).collect();
                        execute(&server, &mut client, &mut out, &args);
                    }
                    off += consumed;
                }
                Ok(Some(Parsed::Inline { consumed, args })) => {
                    let args: Vec<&[u8]> = args.iter().map(|a| a.as_slice()).collect();
                    execute(&server, &mut client, &mut out, &args);
                    off += consumed;
                }
                Ok(Some(Parsed::Empty { consumed })) => off += consumed,
                Ok(None) => break,
                Err(e) => {
                    out.error(&e.0);
                    let _ = out.take_errors();
                    server.stats.total_error_replies.fetch_add(1, Ordering::Relaxed);
                    *server.errorstats.lock().entry("ERR".into()).or_insert(0) += 1;
                    tracing::debug!("Protocol error from client: {}", e.0);
                    close = true;
                    break;
                }
            }
            if client.close_after_reply {
                close = true;
                break;
            }
            if out.len() >= FLUSH_THRESHOLD && !flush(&mut stream, &mut out, &server).await {
                break 'conn;
            }
        }
        rbuf.advance(off);
        info.qbuf.store(rbuf.len(), Ordering::Relaxed);
        if rbuf.len() as u64 > server.config.read().client_query_buffer_limit {
            tracing::warn!(
                "Closing client that reached max query buffer length: id={} addr={} (qbuf initial bytes: {:?})",
                info.id,
                info.addr,
                String::from_utf8_lossy(&rbuf[..rbuf.len().min(64)])
            );
            break;
        }
        if !flush(&mut stream, &mut out, &server).await || close {
            break;
        }
    }
    let _ = stream.shutdown().await;
    server.clients.lock().remove(&info.id);
    server.stats.connected_clients.fetch_sub(1, Ordering::Relaxed);
}

async fn flush<S: AsyncWrite + Unpin>(stream: &mut S, out: &mut Reply, server: &Server) -> bool {
    if out.buf.is_empty() {
        return true;
    }
    let ok = stream.write_all(&out.buf).await.is_ok();
    server
        .stats
        .net_output_bytes
        .fetch_add(out.buf.len() as u64, Ordering::Relaxed);
    out.buf.clear();
    if out.buf.capacity() > 4 * FLUSH_THRESHOLD {
        out.buf.shrink_to(READ_CHUNK);
    }
    ok
}

async fn idle(timeout_secs: u64) {
    if timeout_secs == 0 {
        std::future::pending::<()>().await;
    }
    tokio::time::sleep(Duration::from_secs(timeout_secs)).await;
}

/// Holds a command back while CLIENT PAUSE is in force for it.
async fn wait_if_paused(server: &Server, client: &Client, base: &[u8], ranges: &[std::ops::Range<usize>]) {
    loop {
        let pause = *server.pause.lock();
        if pause.until_ms == 0 || server.shutting_down.load(Ordering::Relaxed) {
            return;
        }
        let now = server.now_ms();
        if now >= pause.until_ms {
            return;
        }
        if pause.write_only {
            let args: Vec<&[u8]> = ranges.iter().map(|r| &base[r.clone()]).collect();
            let is_write = server.commands.resolve(&args).is_some_and(|c| {
                c.spec.has(crate::commands::flags::WRITE) || c.spec.has(crate::commands::flags::MAY_REPLICATE)
            });
            if !is_write {
                return;
            }
        }
        let _ = client;
        let wait = Duration::from_millis((pause.until_ms - now).min(100));
        tokio::select! {
            _ = server.unpaused.notified() => {}
            _ = tokio::time::sleep(wait) => {}
        }
    }
}
