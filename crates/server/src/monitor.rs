//! MONITOR (Redis's replicationFeedMonitors): every command a client runs
//! (not the admin ones, nor those flagged skip_monitor) is shown to the
//! clients in monitor mode as `+<unix>.<usec> [<db> <addr>] "arg" ...`,
//! queued on their outboxes.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use parking_lot::Mutex;

use crate::client::ClientInfo;
use crate::commands::{flags, CommandSpec};
use crate::dispatch::Ctx;

#[derive(Debug, Default)]
pub struct Monitors {
    clients: Mutex<Vec<Arc<ClientInfo>>>,
    count: AtomicUsize,
}

impl Monitors {
    #[inline]
    pub fn any(&self) -> bool {
        self.count.load(Ordering::Relaxed) > 0
    }

    pub fn add(&self, info: Arc<ClientInfo>) {
        let mut v = self.clients.lock();
        v.push(info);
        self.count.store(v.len(), Ordering::Relaxed);
    }

    pub fn remove(&self, id: u64) {
        let mut v = self.clients.lock();
        v.retain(|c| c.id != id);
        self.count.store(v.len(), Ordering::Relaxed);
    }
}

/// sdscatrepr: a quoted string with C escapes.
pub fn repr(out: &mut Vec<u8>, s: &[u8]) {
    out.push(b'"');
    for &c in s {
        match c {
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'"' => out.extend_from_slice(b"\\\""),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            0x07 => out.extend_from_slice(b"\\a"),
            0x08 => out.extend_from_slice(b"\\b"),
            0x20..=0x7e => out.push(c),
            _ => out.extend_from_slice(format!("\\x{c:02x}").as_bytes()),
        }
    }
    out.push(b'"');
}

/// Feeds the command just run to the monitors (dispatch, after it ran).
pub(crate) fn feed(ctx: &Ctx<'_>, spec: &CommandSpec, args: &[&[u8]]) {
    if spec.has(flags::ADMIN) || spec.has(flags::SKIP_MONITOR) {
        return;
    }
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let info = &ctx.client.info;
    let mut line = format!("+{}.{:06} [{} ", now.as_secs(), now.subsec_micros(), ctx.client.db).into_bytes();
    if info.unix {
        let path = ctx.server.config.read().unixsocket.clone().unwrap_or_default();
        line.extend_from_slice(format!("unix:{path}] ").as_bytes());
    } else {
        line.extend_from_slice(format!("{}] ", info.addr).as_bytes());
    }
    for (i, a) in args.iter().enumerate() {
        if i > 0 {
            line.push(b' ');
        }
        repr(&mut line, a);
    }
    line.extend_from_slice(b"\r\n");
    let monitors = ctx.server.monitors.clients.lock().clone();
    for m in monitors {
        if m.id != info.id {
            m.outbox.push_notify(&line);
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn repr_escapes_as_sdscatrepr() {
        let mut out = Vec::new();
        super::repr(&mut out, b"a b\n\"\\\x01\xff");
        assert_eq!(out, b"\"a b\\n\\\"\\\\\\x01\\xff\"");
    }
}
