//! Per-connection state. [`Client`] is owned by the connection's task;
//! [`ClientInfo`] is its shared, read-mostly face, registered with the
//! server so CLIENT LIST / KILL / INFO clients can see every connection.

use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;

use parking_lot::Mutex;
use tokio::sync::Notify;

/// CLIENT REPLY state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReplyMode {
    On,
    Off,
    /// Set by CLIENT REPLY SKIP; becomes `Skip` after that command.
    SkipNext,
    /// Drop the reply of the current command, then back to `On`.
    Skip,
}

/// What other connections may read or signal about a client.
#[derive(Debug)]
pub struct ClientInfo {
    pub id: u64,
    pub addr: String,
    pub laddr: String,
    pub fd: i64,
    /// Whether the peer connected over the unix socket.
    pub unix: bool,
    /// Creation time, ms since the epoch.
    pub created_ms: u64,
    /// Last command time, ms since the epoch.
    pub last_interaction_ms: AtomicU64,
    pub db: AtomicUsize,
    pub resp: AtomicUsize,
    pub name: Mutex<Option<String>>,
    pub lib_name: Mutex<Option<String>>,
    pub lib_ver: Mutex<Option<String>>,
    pub last_cmd: Mutex<&'static str>,
    /// Unprocessed bytes in the query buffer, and its free capacity.
    pub qbuf: AtomicUsize,
    pub qbuf_free: AtomicUsize,
    /// Reply bytes waiting to be written.
    pub obuf: AtomicUsize,
    /// Reply buffer capacity and the peak reply batch (CLIENT LIST
    /// `rbs`/`rbp`).
    pub rbs: AtomicUsize,
    pub rbp: AtomicUsize,
    pub no_evict: AtomicBool,
    pub no_touch: AtomicBool,
    /// Held back by CLIENT PAUSE (flag `b`).
    pub blocked: AtomicBool,
    /// Pub/Sub subscription counts, kept by the pub/sub commands; a
    /// client with any is of type `pubsub` and exempt from `timeout`.
    pub sub: AtomicUsize,
    pub psub: AtomicUsize,
    pub ssub: AtomicUsize,
    /// Commands queued by MULTI, or -1 outside a transaction.
    pub multi: AtomicI64,
    /// Bytes of the commands queued by MULTI (CLIENT LIST `multi-mem`).
    pub multi_mem: AtomicUsize,
    /// Set by CLIENT KILL; the connection closes as soon as it sees it.
    pub killed: AtomicBool,
    pub kill: Notify,
    /// In WAIT / WAITAOF (not in the key waiters' registry): CLIENT
    /// UNBLOCK sets `unblock_error` (ERROR, else TIMEOUT) and notifies.
    pub repl_waiting: AtomicBool,
    pub unblock: Notify,
    pub unblock_error: AtomicBool,
    /// Pub/Sub messages waiting for the connection to write them.
    pub outbox: crate::pubsub::Outbox,
    /// CLIENT TRACKING settings (`tracking.rs`), and whether it is on.
    pub tracking: parking_lot::Mutex<crate::tracking::TrackState>,
    pub tracking_on: AtomicBool,
    /// In MONITOR mode.
    pub monitor: AtomicBool,
    /// The ACL user the connection is authenticated as (CLIENT LIST `user=`).
    pub user: Mutex<Vec<u8>>,
}

impl ClientInfo {
    pub fn new(id: u64, addr: String, laddr: String, fd: i64, unix: bool, now_ms: u64) -> Self {
        ClientInfo {
            id,
            addr,
            laddr,
            fd,
            unix,
            created_ms: now_ms,
            last_interaction_ms: AtomicU64::new(now_ms),
            db: AtomicUsize::new(0),
            resp: AtomicUsize::new(2),
            name: Mutex::new(None),
            lib_name: Mutex::new(None),
            lib_ver: Mutex::new(None),
            last_cmd: Mutex::new("NULL"),
            qbuf: AtomicUsize::new(0),
            qbuf_free: AtomicUsize::new(0),
            obuf: AtomicUsize::new(0),
            rbs: AtomicUsize::new(0),
            rbp: AtomicUsize::new(0),
            no_evict: AtomicBool::new(false),
            no_touch: AtomicBool::new(false),
            blocked: AtomicBool::new(false),
            sub: AtomicUsize::new(0),
            psub: AtomicUsize::new(0),
            ssub: AtomicUsize::new(0),
            multi: AtomicI64::new(-1),
            multi_mem: AtomicUsize::new(0),
            killed: AtomicBool::new(false),
            kill: Notify::new(),
            repl_waiting: AtomicBool::new(false),
            unblock: Notify::new(),
            unblock_error: AtomicBool::new(false),
            outbox: Default::default(),
            tracking: Default::default(),
            tracking_on: AtomicBool::new(false),
            monitor: AtomicBool::new(false),
            user: Mutex::new(b"default".to_vec()),
        }
    }

    /// Asks the connection to close.
    pub fn kill(&self) {
        self.killed.store(true, Ordering::SeqCst);
        self.kill.notify_one();
    }

    /// Whether the peer is on this host (unix socket or loopback), as
    /// Redis's `connIsLocal` decides it.
    pub fn is_local(&self) -> bool {
        self.unix || self.addr.starts_with("127.") || self.addr.starts_with("[::1]:")
    }

    /// Whether the client has any Pub/Sub subscription.
    pub fn is_pubsub(&self) -> bool {
        self.sub.load(Ordering::Relaxed) + self.psub.load(Ordering::Relaxed) + self.ssub.load(Ordering::Relaxed) > 0
    }

    /// Redis's client type name (`CLIENT LIST TYPE`, `CLIENT KILL TYPE`).
    pub fn type_name(&self) -> &'static str {
        if self.is_pubsub() {
            "pubsub"
        } else {
            "normal"
        }
    }
}

/// The connection task's own state.
#[derive(Debug)]
pub struct Client {
    pub id: u64,
    pub db: usize,
    pub authenticated: bool,
    pub reply_mode: ReplyMode,
    /// Close once the pending replies are written (QUIT, protocol error).
    pub close_after_reply: bool,
    pub no_touch: bool,
    pub info: Arc<ClientInfo>,
    pub(crate) scratch_positions: Vec<usize>,
    pub(crate) scratch_shards: Vec<usize>,
    /// Set by `Ctx::block`; dispatch turns it into a waiter.
    pub block_request: Option<crate::blocking::BlockRequest>,
    /// Blocked commands this client's write served, for the slow log
    /// after this client's own command (Redis serves them after it).
    pub served_slowlog: Vec<crate::slowlog::Served>,
    /// The command signalled its key as modified though it changed
    /// nothing (LTRIM of an existing list keeping it whole, as Redis's
    /// signalModifiedKey): WATCH sees it as a write.
    pub signal_modified: bool,
    /// The waiter this connection is blocked on, until the connection
    /// task takes it to wait.
    pub blocked: Option<crate::blocking::BlockedWait>,
    /// Blocking commands reply as a timeout at once (MULTI/EXEC, scripts).
    pub deny_blocking: bool,
    /// MULTI queue and WATCHed keys.
    pub tx: crate::commands::multi::TxState,
    /// The AOF client replaying the file at start (no -LOADING, no
    /// propagation).
    pub aof_loader: bool,
    /// The AOF offset after this client's last logged write: with
    /// `appendfsync always` its replies wait until that is on disk.
    pub aof_offset: u64,
    /// The AOF offset after this client's last write, kept (WAITAOF's
    /// `woff`).
    pub woff: u64,
    /// Set by WAIT / WAITAOF when they must wait: the connection does.
    pub repl_wait: Option<crate::commands::replication::ReplWait>,
    /// Inside EXEC, a MULTI has been logged (EXEC closes it).
    pub aof_in_multi: bool,
    /// Pub/Sub subscriptions (`pubsub.rs`).
    pub subs: crate::pubsub::Subscriptions,
    /// Set by a handler whose effect must be logged as other commands
    /// (Redis's alsoPropagate + preventCommandPropagation).
    pub propagate_as: Option<Vec<Vec<Vec<u8>>>>,
    /// Memory was over `maxmemory` with nothing left to evict when the
    /// running command started (Redis's pre_command_oom_state): scripts
    /// refuse their deny-oom writes.
    pub oom: bool,
    /// The ACL user, as read at `user_gen` (`Acl::generation`); None
    /// until first needed (then the default user).
    pub user: Option<Arc<crate::acl::User>>,
    pub user_gen: u64,
}

impl Client {
    pub fn new(info: Arc<ClientInfo>, authenticated: bool) -> Self {
        Client {
            id: info.id,
            db: 0,
            authenticated,
            reply_mode: ReplyMode::On,
            close_after_reply: false,
            no_touch: false,
            info,
            scratch_positions: Vec::new(),
            scratch_shards: Vec::new(),
            block_request: None,
            blocked: None,
            deny_blocking: false,
            tx: Default::default(),
            aof_loader: false,
            aof_offset: 0,
            woff: 0,
            repl_wait: None,
            served_slowlog: Vec::new(),
            signal_modified: false,
            aof_in_multi: false,
            subs: Default::default(),
            propagate_as: None,
            oom: false,
            user: None,
            user_gen: 0,
        }
    }

    /// Selects database `db` (already validated).
    pub fn select(&mut self, db: usize) {
        self.db = db;
        self.info.db.store(db, Ordering::Relaxed);
    }

    /// The connection's ACL user, re-read after any ACL change. A user
    /// deleted meanwhile leaves the default user, unauthenticated (the
    /// connection is being closed), as Redis's ACLFreeUserAndKillClients.
    #[inline]
    pub fn acl_user(&mut self, acl: &crate::acl::Acl) -> &Arc<crate::acl::User> {
        let gen = acl.generation();
        if self.user.is_none() || self.user_gen != gen {
            self.refresh_user(acl, gen);
        }
        match &self.user {
            Some(u) => u,
            None => unreachable!("refresh_user always sets a user"),
        }
    }

    #[cold]
    fn refresh_user(&mut self, acl: &crate::acl::Acl, gen: u64) {
        let name = self
            .user
            .as_ref()
            .map_or_else(|| b"default".to_vec(), |u| u.name.clone());
        let user = match acl.get(&name) {
            Some(u) => u,
            None => {
                self.authenticated = false;
                *self.info.user.lock() = b"default".to_vec();
                acl.default_user()
            }
        };
        self.user = Some(user);
        self.user_gen = gen;
    }

    /// Logs the connection in as `user` (AUTH, HELLO AUTH).
    pub fn set_user(&mut self, user: Arc<crate::acl::User>) {
        *self.info.user.lock() = user.name.clone();
        // Re-read by name before the next command: the user may have
        // changed since it was checked.
        self.user_gen = 0;
        self.user = Some(user);
        self.authenticated = true;
    }

    pub(crate) fn note_command(&mut self, name: &'static str) {
        *self.info.last_cmd.lock() = name;
    }
}
