//! Listeners and I/O threads.
//!
//! `io-threads` threads each run their own single-threaded tokio runtime;
//! the main thread accepts connections and hands each to a thread in turn.
//! A connection stays on its thread for life, so its reads, command
//! executions and writes happen in order without cross-thread handoffs.
//! Threads share only the keyspace (sharded locks) and the server state.

use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context};
use tokio::io::AsyncWriteExt;
use tokio::sync::mpsc;

use crate::client::ClientInfo;
use crate::connection::serve;
use crate::server::Server;

const DENIED: &str = "-DENIED Redis is running in protected mode because protected mode is enabled and no password is set for the default user. In this mode connections are only accepted from the loopback interface. If you want to connect from external computers to Redis you may adopt one of the following solutions: 1) Just disable protected mode sending the command 'CONFIG SET protected-mode no' from the loopback interface by connecting to Redis from the same host the server is running, however MAKE SURE Redis is not publicly accessible from internet if you do so. Use CONFIG REWRITE to make this change permanent. 2) Alternatively you can just disable the protected mode by editing the Redis configuration file, and setting the protected mode option to 'no', and then restarting the server. 3) If you started the server manually just for testing, restart it with the '--protected-mode no' option. 4) Set up an authentication password for the default user. NOTE: You only need to do one of the above things in order for the server to start accepting connections from the outside.\r\n";

/// A connection handed to an I/O thread.
enum Conn {
    Tcp(std::net::TcpStream, Arc<ClientInfo>),
    Unix(std::os::unix::net::UnixStream, Arc<ClientInfo>),
    /// A `tls-port` connection: the handshake runs on the I/O thread.
    Tls(std::net::TcpStream, Arc<ClientInfo>),
}

fn spawn_io_threads(server: &Arc<Server>, n: usize) -> anyhow::Result<Vec<mpsc::UnboundedSender<Conn>>> {
    let mut senders = Vec::with_capacity(n);
    for i in 0..n {
        let (tx, mut rx) = mpsc::unbounded_channel::<Conn>();
        let server = server.clone();
        std::thread::Builder::new()
            .name(format!("io-{i}"))
            .spawn(move || {
                let rt = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
                    Ok(rt) => rt,
                    Err(e) => {
                        tracing::warn!("I/O thread {i} failed to start its runtime: {e}");
                        return;
                    }
                };
                rt.block_on(async move {
                    while let Some(conn) = rx.recv().await {
                        let server = server.clone();
                        match conn {
                            Conn::Tcp(s, info) => {
                                if let Ok(s) = tokio::net::TcpStream::from_std(s) {
                                    tokio::spawn(serve(s, server, info));
                                }
                            }
                            Conn::Unix(s, info) => {
                                if let Ok(s) = tokio::net::UnixStream::from_std(s) {
                                    tokio::spawn(serve(s, server, info));
                                }
                            }
                            Conn::Tls(s, info) => {
                                tokio::spawn(handshake(s, server, info));
                            }
                        }
                    }
                });
            })
            .context("spawning I/O thread")?;
        senders.push(tx);
    }
    Ok(senders)
}

/// A TLS connection: the handshake (bounded in time), then the ordinary
/// connection loop over the encrypted stream. A failed handshake closes
/// the connection, as Redis ("Error accepting a client connection").
async fn handshake(s: std::net::TcpStream, server: Arc<Server>, info: Arc<ClientInfo>) {
    let accepted = match (tokio::net::TcpStream::from_std(s), server.tls.acceptor()) {
        (Ok(s), Some(acceptor)) => match tokio::time::timeout(Duration::from_secs(10), acceptor.accept(s)).await {
            Ok(Ok(tls)) => Some(tls),
            Ok(Err(e)) => {
                tracing::debug!("Error accepting a client connection: {e} (addr={})", info.addr);
                None
            }
            Err(_) => {
                tracing::debug!(
                    "Error accepting a client connection: handshake timed out (addr={})",
                    info.addr
                );
                None
            }
        },
        _ => None,
    };
    match accepted {
        Some(tls) => serve(tls, server, info).await,
        None => {
            server.clients.lock().remove(&info.id);
            server.stats.connected_clients.fetch_sub(1, Ordering::Relaxed);
        }
    }
}

fn bind_tcp(addr: &str, port: u16, backlog: u32) -> anyhow::Result<std::net::TcpListener> {
    let ip: IpAddr = addr
        .parse()
        .or_else(|_| {
            if addr == "*" {
                Ok("0.0.0.0".parse()?)
            } else {
                Err(anyhow::anyhow!("invalid address"))
            }
        })
        .with_context(|| format!("invalid bind address '{addr}'"))?;
    let sa = SocketAddr::new(ip, port);
    let domain = socket2::Domain::for_address(sa);
    let sock = socket2::Socket::new(domain, socket2::Type::STREAM, Some(socket2::Protocol::TCP))?;
    sock.set_reuse_address(true)?;
    if ip.is_ipv6() {
        sock.set_only_v6(true)?;
    }
    sock.bind(&sa.into())?;
    sock.listen(backlog as i32)?;
    sock.set_nonblocking(true)?;
    Ok(sock.into())
}

/// Binds every configured listener, starts the I/O threads and the cron
/// thread, and serves until shutdown. Returns when the server should exit.
pub fn run(server: Arc<Server>) -> anyhow::Result<()> {
    let cfg = server.config.read().clone();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("building the accept runtime")?;
    let senders = spawn_io_threads(&server, cfg.io_threads.max(1))?;

    let mut tcp = Vec::new();
    // `port 0` with a unix socket or a TLS port: no plain TCP listener.
    if cfg.port != 0 || (cfg.unixsocket.is_none() && crate::tls::port(&cfg) == 0) {
        for addr in &cfg.bind {
            let (optional, a) = match addr.strip_prefix('-') {
                Some(a) => (true, a),
                None => (false, addr.as_str()),
            };
            match bind_tcp(a, cfg.port, cfg.tcp_backlog) {
                Ok(l) => {
                    if let Ok(local) = l.local_addr() {
                        server.bound_port.store(local.port() as u64, Ordering::Relaxed);
                    }
                    tcp.push(l);
                }
                Err(e) if optional => {
                    tracing::debug!("Skipping optional bind address {a}: {e}");
                }
                Err(e) => bail!(
                    "Warning: Could not create server TCP listening socket {a}:{}: {e}",
                    cfg.port
                ),
            }
        }
        if tcp.is_empty() {
            bail!("Failed listening on port {} (tcp), aborting.", cfg.port);
        }
    }
    // TLS listeners on `tls-port`, on the same addresses.
    let tls_port = crate::tls::port(&cfg);
    let mut tls = Vec::new();
    if tls_port != 0 {
        let acceptor = crate::tls::build(&cfg).map_err(|e| anyhow::anyhow!("{e}"))?;
        server.tls.set(acceptor);
        for addr in &cfg.bind {
            let (optional, a) = match addr.strip_prefix('-') {
                Some(a) => (true, a),
                None => (false, addr.as_str()),
            };
            match bind_tcp(a, tls_port, cfg.tcp_backlog) {
                Ok(l) => tls.push(l),
                Err(e) if optional => tracing::debug!("Skipping optional bind address {a}: {e}"),
                Err(e) => bail!("Warning: Could not create server TLS listening socket {a}:{tls_port}: {e}"),
            }
        }
        if tls.is_empty() {
            bail!("Failed listening on port {tls_port} (tls), aborting.");
        }
    }
    let unix = match &cfg.unixsocket {
        Some(path) => {
            let _ = std::fs::remove_file(path);
            let l = std::os::unix::net::UnixListener::bind(path)
                .with_context(|| format!("Failed opening Unix socket: {path}"))?;
            if cfg.unixsocketperm != 0 {
                use std::os::unix::fs::PermissionsExt;
                std::fs::set_permissions(path, std::fs::Permissions::from_mode(cfg.unixsocketperm))?;
            }
            l.set_nonblocking(true)?;
            Some(l)
        }
        None => None,
    };

    {
        let server = server.clone();
        std::thread::Builder::new()
            .name("cron".into())
            .spawn(move || loop {
                if server.shutting_down.load(Ordering::Relaxed) {
                    return;
                }
                server.cron();
                let hz = server.config.read().hz.max(1);
                std::thread::sleep(Duration::from_millis(1000 / hz as u64));
            })
            .context("spawning cron thread")?;
    }

    let unix_path = cfg.unixsocket.clone().unwrap_or_default();
    rt.block_on(async move {
        let mut next = 0usize;
        let senders = Arc::new(senders);
        for l in tcp {
            let l = tokio::net::TcpListener::from_std(l)?;
            let server = server.clone();
            let senders = senders.clone();
            tokio::spawn(async move {
                loop {
                    let Ok((stream, peer)) = l.accept().await else {
                        tokio::time::sleep(Duration::from_millis(10)).await;
                        continue;
                    };
                    let local = stream.local_addr().ok();
                    let Some(info) = admit_tcp(&server, stream, peer, local, false).await else {
                        continue;
                    };
                    let (s, info) = info;
                    next = next.wrapping_add(1);
                    let _ = senders[next % senders.len()].send(Conn::Tcp(s, info));
                }
            });
        }
        for l in tls {
            let l = tokio::net::TcpListener::from_std(l)?;
            let server = server.clone();
            let senders = senders.clone();
            tokio::spawn(async move {
                let mut next = 0usize;
                loop {
                    let Ok((stream, peer)) = l.accept().await else {
                        tokio::time::sleep(Duration::from_millis(10)).await;
                        continue;
                    };
                    let local = stream.local_addr().ok();
                    let Some((s, info)) = admit_tcp(&server, stream, peer, local, true).await else {
                        continue;
                    };
                    next = next.wrapping_add(1);
                    let _ = senders[next % senders.len()].send(Conn::Tls(s, info));
                }
            });
        }
        if let Some(l) = unix {
            let l = tokio::net::UnixListener::from_std(l)?;
            let server = server.clone();
            let senders = senders.clone();
            let path = unix_path;
            tokio::spawn(async move {
                let mut next = 0usize;
                loop {
                    let Ok((stream, _)) = l.accept().await else {
                        tokio::time::sleep(Duration::from_millis(10)).await;
                        continue;
                    };
                    let Some((s, info)) = admit_unix(&server, stream, &path).await else {
                        continue;
                    };
                    next = next.wrapping_add(1);
                    let _ = senders[next % senders.len()].send(Conn::Unix(s, info));
                }
            });
        }
        tracing::info!("Ready to accept connections tcp");
        crate::supervised::ready();

        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
        loop {
            let shutdown = server.shutdown.notified();
            tokio::pin!(shutdown);
            if server.shutting_down.load(Ordering::SeqCst) {
                return Ok(());
            }
            let signal = tokio::select! {
                _ = tokio::signal::ctrl_c() => {
                    tracing::warn!("Received SIGINT scheduling shutdown...");
                    "SIGINT"
                }
                _ = term.recv() => {
                    tracing::warn!("Received SIGTERM scheduling shutdown...");
                    "SIGTERM"
                }
                _ = &mut shutdown => break,
            };
            // A signal saves as SHUTDOWN does (SHUTDOWN saved already).
            let srv = server.clone();
            let ok = tokio::task::spawn_blocking(move || crate::persist::prepare_shutdown(&srv, false, false, false))
                .await
                .unwrap_or(false);
            if ok {
                break;
            }
            tracing::warn!(
                "{signal} received but errors trying to shut down the server, check the logs for more information"
            );
        }
        server.request_shutdown();
        anyhow::Ok(())
    })?;
    if let Some(path) = &cfg.unixsocket {
        let _ = std::fs::remove_file(path);
    }
    tracing::info!("Redis is now ready to exit, bye bye...");
    Ok(())
}

/// Refuses a connection with `msg` before it is handed to a thread.
async fn refuse(mut stream: tokio::net::TcpStream, msg: &[u8]) {
    let _ = tokio::time::timeout(Duration::from_millis(100), stream.write_all(msg)).await;
}

/// Whether a new connection may be served, and if not, why.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Admission {
    Accept,
    /// `-ERR max number of clients reached`
    TooManyClients,
    /// `-DENIED Redis is running in protected mode...`
    ProtectedMode,
}

impl Admission {
    /// The reply sent before a refused connection is closed.
    pub fn refusal(self) -> Option<&'static [u8]> {
        match self {
            Admission::Accept => None,
            Admission::TooManyClients => Some(b"-ERR max number of clients reached\r\n"),
            Admission::ProtectedMode => Some(DENIED.as_bytes()),
        }
    }
}

/// Redis's admission rules for a new connection: over `maxclients` is
/// refused first; then, in protected mode with no password for the default
/// user, only local peers are let in (`peer` is `None` for the unix socket,
/// which is always local; TCP peers are local when they are 127.0.0.0/8 or
/// ::1, as Redis's `connIsLocal` tests them).
pub fn admission(
    connected: usize,
    maxclients: usize,
    protected_mode: bool,
    password_set: bool,
    peer: Option<IpAddr>,
) -> Admission {
    if connected >= maxclients {
        return Admission::TooManyClients;
    }
    let local = match peer {
        None => true,
        Some(IpAddr::V4(v4)) => v4.is_loopback(),
        Some(IpAddr::V6(v6)) => v6.is_loopback(),
    };
    if protected_mode && !password_set && !local {
        return Admission::ProtectedMode;
    }
    Admission::Accept
}

fn decide(server: &Server, peer: Option<IpAddr>) -> Admission {
    let cfg = server.config.read();
    admission(
        server.stats.connected_clients.load(Ordering::Relaxed),
        cfg.maxclients,
        cfg.protected_mode,
        server.auth_required(),
        peer,
    )
}

async fn admit_tcp(
    server: &Arc<Server>,
    stream: tokio::net::TcpStream,
    peer: SocketAddr,
    local: Option<SocketAddr>,
    tls: bool,
) -> Option<(std::net::TcpStream, Arc<ClientInfo>)> {
    server.stats.total_connections_received.fetch_add(1, Ordering::Relaxed);
    if let Some(msg) = decide(server, Some(peer.ip())).refusal() {
        server.stats.rejected_connections.fetch_add(1, Ordering::Relaxed);
        // (No plaintext error on a TLS port: the peer expects a handshake.)
        if !tls {
            refuse(stream, msg).await;
        }
        return None;
    }
    let keepalive = server.config.read().tcp_keepalive;
    let _ = stream.set_nodelay(true);
    if keepalive > 0 {
        let ka = socket2::TcpKeepalive::new().with_time(Duration::from_secs(keepalive));
        let _ = socket2::SockRef::from(&stream).set_tcp_keepalive(&ka);
    }
    let std = stream.into_std().ok()?;
    use std::os::fd::AsRawFd;
    let fd = std.as_raw_fd() as i64;
    let id = server.next_client_id();
    let info = Arc::new(ClientInfo::new(
        id,
        fmt_addr(peer),
        local.map(fmt_addr).unwrap_or_default(),
        fd,
        false,
        server.now_ms(),
    ));
    register(server, &info);
    Some((std, info))
}

async fn admit_unix(
    server: &Arc<Server>,
    stream: tokio::net::UnixStream,
    path: &str,
) -> Option<(std::os::unix::net::UnixStream, Arc<ClientInfo>)> {
    server.stats.total_connections_received.fetch_add(1, Ordering::Relaxed);
    let mut stream = stream;
    if let Some(msg) = decide(server, None).refusal() {
        server.stats.rejected_connections.fetch_add(1, Ordering::Relaxed);
        let _ = tokio::time::timeout(Duration::from_millis(100), stream.write_all(msg)).await;
        return None;
    }
    let std = stream.into_std().ok()?;
    use std::os::fd::AsRawFd;
    let fd = std.as_raw_fd() as i64;
    let id = server.next_client_id();
    let info = Arc::new(ClientInfo::new(
        id,
        format!("{path}:0"),
        format!("{path}:0"),
        fd,
        true,
        server.now_ms(),
    ));
    register(server, &info);
    Some((std, info))
}

fn register(server: &Server, info: &Arc<ClientInfo>) {
    server.stats.connected_clients.fetch_add(1, Ordering::Relaxed);
    server.clients.lock().insert(info.id, info.clone());
}

fn fmt_addr(a: SocketAddr) -> String {
    match a {
        SocketAddr::V4(v4) => format!("{}:{}", v4.ip(), v4.port()),
        SocketAddr::V6(v6) => format!("[{}]:{}", v6.ip(), v6.port()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> Option<IpAddr> {
        Some(s.parse().expect("ip"))
    }

    #[test]
    fn admission_rules() {
        // Under the limit, loopback peers always get in.
        assert_eq!(admission(0, 10, true, false, ip("127.0.0.1")), Admission::Accept);
        assert_eq!(admission(0, 10, true, false, ip("127.5.6.7")), Admission::Accept);
        assert_eq!(admission(0, 10, true, false, ip("::1")), Admission::Accept);
        assert_eq!(admission(0, 10, true, false, None), Admission::Accept);
        // Protected mode without a password refuses remote peers...
        assert_eq!(admission(0, 10, true, false, ip("10.1.2.3")), Admission::ProtectedMode);
        assert_eq!(
            admission(0, 10, true, false, ip("2001:db8::1")),
            Admission::ProtectedMode
        );
        // ...like Redis, an IPv4-mapped loopback is not "127." to it.
        assert_eq!(
            admission(0, 10, true, false, ip("::ffff:127.0.0.1")),
            Admission::ProtectedMode
        );
        // ...but not with a password or with protected mode off.
        assert_eq!(admission(0, 10, true, true, ip("10.1.2.3")), Admission::Accept);
        assert_eq!(admission(0, 10, false, false, ip("10.1.2.3")), Admission::Accept);
        // maxclients comes first, for every peer.
        assert_eq!(
            admission(10, 10, true, false, ip("127.0.0.1")),
            Admission::TooManyClients
        );
        assert_eq!(admission(11, 10, false, false, None), Admission::TooManyClients);
        assert_eq!(
            admission(10, 10, true, false, ip("10.1.2.3")),
            Admission::TooManyClients
        );
        assert_eq!(admission(9, 10, true, false, ip("10.1.2.3")), Admission::ProtectedMode);
        assert!(Admission::ProtectedMode
            .refusal()
            .unwrap_or_default()
            .starts_with(b"-DENIED Redis is running in protected mode"));
        assert_eq!(
            Admission::TooManyClients.refusal(),
            Some(&b"-ERR max number of clients reached\r\n"[..])
        );
        assert_eq!(Admission::Accept.refusal(), None);
    }
}
