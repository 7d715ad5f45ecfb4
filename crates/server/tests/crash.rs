#![allow(clippy::unwrap_used)]
//! Crash harness: the real binary is SIGKILLed at random moments while
//! clients write, restarted on the same directory, and what it loads is
//! checked against what the clients were told.
//!
//! - `appendfsync always`: no acknowledged write is ever lost, over many
//!   crash cycles (4 pipelining writers: SET with and without TTL, INCR,
//!   RPUSH, HSET, MULTI/EXEC; two dbs), some crashes during BGREWRITEAOF
//!   or automatic rewrites, some during start-up; with an RDB and with an
//!   AOF-format base; the AOF passes `redis-check-aof` at the end. A
//!   write the AOF cannot take is never acknowledged (the server exits).
//! - `appendfsync everysec`: only writes acknowledged in the last ~2 s
//!   before the crash may be lost.
//! - A torn AOF tail (cut anywhere in a command, or in a MULTI) loads up
//!   to the tear with `aof-load-truncated yes`, and writes after it
//!   survive the next crash; `no`, or garbage, stops the server.
//! - A crash during BGSAVE leaves the previous `dump.rdb` as it was.
//!
//! What survives of one connection's unacknowledged writes must be a
//! prefix of what it sent (the AOF is written in execution order), a
//! transaction all or nothing, and nothing else may appear (DBSIZE).
//! SIGKILL tests the order and completeness of what reaches the kernel,
//! not fsync itself (a killed process loses no page cache).

mod common;

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::TestServer;
use larder_protocol::{parse_frame, Frame};
use rand::Rng;

/// A directory of our own that outlives the servers run in it; removed
/// when the test passes, kept for a look when it fails (or with
/// `LARDER_CRASH_KEEP` set).
struct Dir(PathBuf);

impl Dir {
    fn new(tag: &str) -> Dir {
        let d = std::env::temp_dir().join(format!(
            "larder-crash-{tag}-{}-{}",
            std::process::id(),
            common::free_port()
        ));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        Dir(d)
    }

    fn path(&self) -> &Path {
        &self.0
    }

    fn arg(&self) -> &str {
        self.0.to_str().unwrap()
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        if std::thread::panicking() || std::env::var_os("LARDER_CRASH_KEEP").is_some() {
            eprintln!("crash test: files kept in {}", self.0.display());
        } else {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

fn info_field(c: &mut redis::Connection, section: &str, field: &str) -> String {
    let info: String = redis::cmd("INFO").arg(section).query(c).unwrap();
    info.lines()
        .find_map(|l| l.strip_prefix(&format!("{field}:")))
        .unwrap_or_else(|| panic!("no {field} in INFO: {info}"))
        .trim()
        .to_string()
}

/// Starts a server in `dir` (overriding the harness's own dir) and waits
/// until it has loaded its files.
fn start_in(dir: &Dir, extra: &[&str]) -> TestServer {
    let mut args = vec!["--dir", dir.arg()];
    args.extend_from_slice(extra);
    let s = TestServer::start(&args);
    let mut c = s.conn();
    let deadline = Instant::now() + Duration::from_secs(30);
    while info_field(&mut c, "persistence", "loading") != "0" {
        assert!(Instant::now() < deadline, "still loading after 30 s");
        std::thread::sleep(Duration::from_millis(5));
    }
    s
}

/// Starts the server on `dir` and SIGKILLs it `after` later, whatever
/// it is doing by then.
fn crash_at_start(dir: &Dir, args: &[&str], after: Duration) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_larder-server"))
        .arg("--port")
        .arg(common::free_port().to_string())
        .arg("--bind")
        .arg("127.0.0.1")
        .arg("--dir")
        .arg(dir.arg())
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn larder-server");
    std::thread::sleep(after);
    let _ = child.kill();
    let _ = child.wait();
}

/// SIGKILLs the server and waits until it is gone.
fn crash(mut s: TestServer) {
    let pid = libc::pid_t::try_from(s.pid()).unwrap();
    // SAFETY: kill(2) on the pid of our own child, which has not been
    // waited for yet (so the pid cannot have been reused).
    let r = unsafe { libc::kill(pid, libc::SIGKILL) };
    assert_eq!(r, 0, "kill -9 {pid}");
    assert!(s.wait_exit(10).is_some(), "server survived SIGKILL");
}

fn resp(args: &[&[u8]]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", args.len()).into_bytes();
    for a in args {
        out.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
        out.extend_from_slice(a);
        out.extend_from_slice(b"\r\n");
    }
    out
}

/// A pipelining RESP client on a plain socket: the writers need to know
/// exactly which commands were answered when the connection dies.
struct Pipe {
    s: TcpStream,
    buf: Vec<u8>,
}

impl Pipe {
    fn connect(port: u16) -> std::io::Result<Pipe> {
        let s = TcpStream::connect(("127.0.0.1", port))?;
        s.set_read_timeout(Some(Duration::from_secs(20)))?;
        s.set_nodelay(true)?;
        Ok(Pipe { s, buf: Vec::new() })
    }

    fn send(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.s.write_all(bytes)
    }

    /// The next reply; an error when the connection is gone.
    fn reply(&mut self) -> std::io::Result<Frame> {
        let mut chunk = [0u8; 16384];
        loop {
            match parse_frame(&self.buf) {
                Ok(Some((f, used))) => {
                    self.buf.drain(..used);
                    return Ok(f);
                }
                Ok(None) => {}
                Err(e) => panic!("bad reply from server: {e}"),
            }
            let n = self.s.read(&mut chunk)?;
            if n == 0 {
                return Err(std::io::ErrorKind::UnexpectedEof.into());
            }
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }
}

/// One write a writer sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Op {
    /// `SET w<t>:<n> <n>`
    Set(u64),
    /// `INCR counter:<t>`
    Incr,
    /// `RPUSH list:<t> <n>`
    Rpush(u64),
    /// `HSET hash:<t> f<n> <n>`
    Hset(u64),
    /// `MULTI`, `SET w<t>:<n> <n>`, `INCR counter:<t>`,
    /// `RPUSH list:<t> <n>`, `EXEC`: all or nothing.
    Multi(u64),
}

impl Op {
    /// What it adds: (INCRs, RPUSHes, HSETs, SETs).
    fn counts(self) -> (usize, usize, usize, usize) {
        match self {
            Op::Incr => (1, 0, 0, 0),
            Op::Rpush(_) => (0, 1, 0, 0),
            Op::Hset(_) => (0, 0, 1, 0),
            Op::Set(_) => (0, 0, 0, 1),
            Op::Multi(_) => (1, 1, 0, 1),
        }
    }

    /// Replies it gets.
    fn replies(self) -> usize {
        match self {
            Op::Multi(_) => 5,
            _ => 1,
        }
    }
}

#[derive(Clone, Copy, Debug)]
struct Sent {
    op: Op,
    /// When its reply arrived.
    acked: Option<Instant>,
}

/// The TTL of the even `w<t>:<n>` keys.
const TTL_MS: i64 = 100_000_000;

/// What one writer's keys hold (every write known to have survived).
#[derive(Clone, Debug)]
struct Model {
    t: usize,
    db: i64,
    next_n: u64,
    sets: Vec<u64>,
    counter: i64,
    list: Vec<u64>,
    hash: Vec<u64>,
}

impl Model {
    fn new(t: usize) -> Model {
        Model {
            t,
            db: (t % 2) as i64,
            next_n: 0,
            sets: Vec::new(),
            counter: 0,
            list: Vec::new(),
            hash: Vec::new(),
        }
    }

    fn keys(&self) -> usize {
        self.sets.len()
            + usize::from(self.counter != 0)
            + usize::from(!self.list.is_empty())
            + usize::from(!self.hash.is_empty())
    }

    fn argv(&self, op: Op) -> Vec<u8> {
        let t = self.t;
        match op {
            // Every other key with a TTL (which must survive too).
            Op::Set(n) if n % 2 == 0 => resp(&[
                b"SET",
                format!("w{t}:{n}").as_bytes(),
                n.to_string().as_bytes(),
                b"PX",
                TTL_MS.to_string().as_bytes(),
            ]),
            Op::Set(n) => resp(&[b"SET", format!("w{t}:{n}").as_bytes(), n.to_string().as_bytes()]),
            Op::Incr => resp(&[b"INCR", format!("counter:{t}").as_bytes()]),
            Op::Rpush(n) => resp(&[b"RPUSH", format!("list:{t}").as_bytes(), n.to_string().as_bytes()]),
            Op::Hset(n) => resp(&[
                b"HSET",
                format!("hash:{t}").as_bytes(),
                format!("f{n}").as_bytes(),
                n.to_string().as_bytes(),
            ]),
            Op::Multi(n) => [
                resp(&[b"MULTI"]),
                self.argv(Op::Set(n)),
                self.argv(Op::Incr),
                self.argv(Op::Rpush(n)),
                resp(&[b"EXEC"]),
            ]
            .concat(),
        }
    }
}

/// How a writer paces itself.
#[derive(Clone, Copy)]
struct Pacing {
    /// Commands sent at once.
    batch: usize,
    /// Pause after each batch's replies.
    pause: Duration,
}

/// Writes until the connection dies (or `stop`); returns every write it
/// sent, in order, with when it was acknowledged. Replies are checked as
/// they come: INCR and RPUSH answer the new counter / length, which must
/// follow on from what the model (the loaded state) holds.
fn writer(port: u16, model: Model, pacing: Pacing, stop: Arc<AtomicBool>) -> Vec<Sent> {
    let mut sent: Vec<Sent> = Vec::new();
    let Ok(mut p) = Pipe::connect(port) else {
        return sent;
    };
    if p.send(&resp(&[b"SELECT", model.db.to_string().as_bytes()])).is_err() {
        return sent;
    }
    match p.reply() {
        Ok(Frame::Simple(s)) if s == b"OK" => {}
        Ok(other) => panic!("SELECT: {other:?}"),
        Err(_) => return sent,
    }
    let mut rng = rand::thread_rng();
    let mut n = model.next_n;
    let mut counter = model.counter;
    let mut len = model.list.len() as i64;
    while !stop.load(Ordering::Relaxed) {
        let first = sent.len();
        let mut bytes = Vec::new();
        for _ in 0..pacing.batch {
            let op = match rng.gen_range(0..9) {
                0 | 1 => Op::Set(n),
                2 | 3 => Op::Incr,
                4 | 5 => Op::Rpush(n),
                6 | 7 => Op::Hset(n),
                _ => Op::Multi(n),
            };
            n += 1;
            bytes.extend_from_slice(&model.argv(op));
            sent.push(Sent { op, acked: None });
        }
        if p.send(&bytes).is_err() {
            return sent;
        }
        for i in first..sent.len() {
            let mut replies = Vec::new();
            for _ in 0..sent[i].op.replies() {
                let Ok(reply) = p.reply() else {
                    return sent;
                };
                replies.push(reply);
            }
            let reply = replies.pop().unwrap();
            let queued = replies.iter().skip(1).all(|r| r == &Frame::Simple(b"QUEUED".to_vec()));
            let ok = match (sent[i].op, &reply) {
                (Op::Set(_), Frame::Simple(s)) => s == b"OK",
                (Op::Incr, Frame::Integer(v)) => {
                    counter += 1;
                    *v == counter
                }
                (Op::Rpush(_), Frame::Integer(v)) => {
                    len += 1;
                    *v == len
                }
                (Op::Hset(_), Frame::Integer(v)) => *v == 1,
                (Op::Multi(_), Frame::Array(r)) => {
                    counter += 1;
                    len += 1;
                    replies[0] == Frame::Simple(b"OK".to_vec())
                        && queued
                        && r[..]
                            == [
                                Frame::Simple(b"OK".to_vec()),
                                Frame::Integer(counter),
                                Frame::Integer(len),
                            ]
                }
                _ => false,
            };
            assert!(ok, "writer {}: {:?} answered {reply:?}", model.t, sent[i].op);
            sent[i].acked = Some(Instant::now());
        }
        if !pacing.pause.is_zero() {
            std::thread::sleep(pacing.pause);
        }
    }
    sent
}

fn ints(c: &mut redis::Connection, cmd: &mut redis::Cmd) -> Vec<Option<u64>> {
    cmd.query(c).unwrap()
}

/// Figures in one writer's check.
#[derive(Default, Debug)]
struct Outcome {
    /// Writes that had to survive (acknowledged, and for everysec early
    /// enough).
    must: usize,
    /// Writes that survived of those sent this cycle.
    survived: usize,
    /// Sent, not acknowledged (or too late to count).
    maybe: usize,
}

/// Checks writer `m`'s keys on the restarted server against the model
/// plus a prefix of `sent`: the first `must` writes must be there, later
/// ones may be, in order, and nothing else. Then the model takes in what
/// survived.
fn verify(c: &mut redis::Connection, m: &mut Model, sent: &[Sent], must: usize) -> Result<Outcome, String> {
    let t = m.t;
    let _: () = redis::cmd("SELECT").arg(m.db).query(c).unwrap();
    // Everything known from earlier cycles.
    for chunk in m.sets.chunks(2000) {
        let keys: Vec<String> = chunk.iter().map(|n| format!("w{t}:{n}")).collect();
        let got = ints(c, redis::cmd("MGET").arg(&keys));
        for (n, v) in chunk.iter().zip(got) {
            if v != Some(*n) {
                return Err(format!(
                    "w{t}:{n} is {v:?}, want {n} (acknowledged in an earlier cycle)"
                ));
            }
        }
    }
    let counter: Option<i64> = redis::cmd("GET").arg(format!("counter:{t}")).query(c).unwrap();
    let counter = counter.unwrap_or(0);
    let list: Vec<u64> = redis::cmd("LRANGE")
        .arg(format!("list:{t}"))
        .arg(0)
        .arg(-1)
        .query(c)
        .unwrap();
    let hash: BTreeMap<String, u64> = redis::cmd("HGETALL").arg(format!("hash:{t}")).query(c).unwrap();
    let set_ns: Vec<u64> = sent
        .iter()
        .filter_map(|s| match s.op {
            Op::Set(n) | Op::Multi(n) => Some(n),
            _ => None,
        })
        .collect();
    let mut set_there = BTreeMap::new();
    for chunk in set_ns.chunks(2000) {
        let keys: Vec<String> = chunk.iter().map(|n| format!("w{t}:{n}")).collect();
        let got = ints(c, redis::cmd("MGET").arg(&keys));
        for (n, v) in chunk.iter().zip(got) {
            match v {
                None => {}
                Some(v) if v == *n => {
                    set_there.insert(*n, ());
                }
                Some(v) => return Err(format!("w{t}:{n} is {v}, want {n}")),
            }
        }
    }
    // The older state itself must be intact.
    if counter < m.counter {
        return Err(format!("counter:{t} went back from {} to {counter}", m.counter));
    }
    if list.len() < m.list.len() || list[..m.list.len()] != m.list[..] {
        return Err(format!(
            "list:{t} lost acknowledged elements: {} known, loaded {} (first differences at {:?})",
            m.list.len(),
            list.len(),
            m.list.iter().zip(&list).position(|(a, b)| a != b)
        ));
    }
    for n in &m.hash {
        if hash.get(&format!("f{n}")) != Some(n) {
            return Err(format!(
                "hash:{t} field f{n} is {:?}, want {n}",
                hash.get(&format!("f{n}"))
            ));
        }
    }
    // Which prefix of this cycle's writes survived: the one whose
    // counts match what was loaded.
    let (d_incr, d_list, d_hash, d_set) = (
        (counter - m.counter) as usize,
        list.len() - m.list.len(),
        hash.len() - m.hash.len(),
        set_there.len(),
    );
    let mut counts = (0usize, 0usize, 0usize, 0usize);
    let mut prefix = None;
    for p in 0..=sent.len() {
        if counts == (d_incr, d_list, d_hash, d_set) {
            prefix = Some(p);
            break;
        }
        if let Some(s) = sent.get(p) {
            let c = s.op.counts();
            counts = (counts.0 + c.0, counts.1 + c.1, counts.2 + c.2, counts.3 + c.3);
        }
    }
    let describe = || {
        format!(
            "writer {t} (db {}): loaded +{d_incr} INCR, +{d_list} RPUSH, +{d_hash} HSET, +{d_set} SET of {} sent this cycle ({} acknowledged, {must} had to survive)",
            m.db,
            sent.len(),
            sent.iter().filter(|s| s.acked.is_some()).count()
        )
    };
    let Some(p) = prefix else {
        return Err(format!("no prefix of the sent writes matches: {}", describe()));
    };
    // The prefix's writes, exactly.
    let mut want_list = m.list.clone();
    let mut want_hash = m.hash.clone();
    let mut want_sets = Vec::new();
    for s in &sent[..p] {
        match s.op {
            Op::Set(n) => want_sets.push(n),
            Op::Rpush(n) => want_list.push(n),
            Op::Hset(n) => want_hash.push(n),
            Op::Multi(n) => {
                want_sets.push(n);
                want_list.push(n);
            }
            Op::Incr => {}
        }
    }
    if want_list != list {
        return Err(format!("list:{t} is not the sent prefix: {}", describe()));
    }
    for n in &want_hash {
        if hash.get(&format!("f{n}")) != Some(n) {
            return Err(format!("hash:{t} lacks f{n} of the sent prefix: {}", describe()));
        }
    }
    for n in &want_sets {
        if !set_there.contains_key(n) {
            return Err(format!("w{t}:{n} of the sent prefix is missing: {}", describe()));
        }
    }
    // The new keys' TTLs: kept on the even ones, none on the odd ones.
    let mut pipe = redis::pipe();
    for n in &want_sets {
        pipe.cmd("PTTL").arg(format!("w{t}:{n}"));
    }
    let ttls: Vec<i64> = pipe.query(c).unwrap();
    for (n, ttl) in want_sets.iter().zip(ttls) {
        let ok = if n % 2 == 0 {
            ttl > 0 && ttl <= TTL_MS
        } else {
            ttl == -1
        };
        if !ok {
            return Err(format!("w{t}:{n} has PTTL {ttl} after the restart"));
        }
    }
    if p < must {
        return Err(format!(
            "LOST {} acknowledged writes (first: {:?}): {}",
            must - p,
            sent[p].op,
            describe()
        ));
    }
    m.counter = counter;
    m.list = want_list;
    m.hash = want_hash;
    m.sets.extend(want_sets);
    m.next_n = sent.iter().fold(m.next_n, |a, s| match s.op {
        Op::Set(n) | Op::Rpush(n) | Op::Hset(n) | Op::Multi(n) => a.max(n + 1),
        Op::Incr => a,
    });
    Ok(Outcome {
        must,
        survived: p,
        maybe: sent.len() - must,
    })
}

/// Every writer's keys and nothing else.
fn verify_dbsize(c: &mut redis::Connection, models: &[Model]) {
    for db in 0..2i64 {
        let _: () = redis::cmd("SELECT").arg(db).query(c).unwrap();
        let got: usize = redis::cmd("DBSIZE").query(c).unwrap();
        let want: usize = models.iter().filter(|m| m.db == db).map(Model::keys).sum();
        assert_eq!(got, want, "db {db} holds keys nobody wrote");
    }
}

struct CycleFigures {
    cycles: usize,
    acked: usize,
    must: usize,
    maybe: usize,
    survived: usize,
    rewrites: usize,
    /// Crashes that hit a rewrite in progress.
    during_rewrite: usize,
    /// Crashes during start-up.
    start_crashes: usize,
}

/// Runs `cycles` crash cycles on `dir` with `args`; each cycle lasts a
/// random time in `run` before the SIGKILL. `grace` is how long before
/// the kill an acknowledged write may still be lost (zero: never).
fn crash_cycles(
    dir: &Dir,
    args: &[&str],
    cycles: usize,
    run: std::ops::Range<u64>,
    grace: Duration,
    pacing: Pacing,
    rewrite_every: usize,
) -> CycleFigures {
    const WRITERS: usize = 4;
    // Every run's log in one file of the (kept on failure) directory.
    let log = dir.path().join("server.log");
    let args: Vec<&str> = args
        .iter()
        .copied()
        .chain(["--logfile", log.to_str().unwrap()])
        .collect();
    let args = &args[..];
    let mut models: Vec<Model> = (0..WRITERS).map(Model::new).collect();
    let mut rng = rand::thread_rng();
    let mut fig = CycleFigures {
        cycles: 0,
        acked: 0,
        must: 0,
        maybe: 0,
        survived: 0,
        rewrites: 0,
        during_rewrite: 0,
        start_crashes: 0,
    };
    // Crashes during the very first start too (it writes the first base
    // and manifest).
    for _ in 0..3 {
        crash_at_start(dir, args, Duration::from_millis(rng.gen_range(0..15)));
        fig.start_crashes += 1;
    }
    let mut server = start_in(dir, args);
    for cycle in 0..cycles {
        let stop = Arc::new(AtomicBool::new(false));
        let port = server.port;
        let handles: Vec<_> = models
            .iter()
            .map(|m| {
                let (m, stop) = (m.clone(), stop.clone());
                std::thread::spawn(move || writer(port, m, pacing, stop))
            })
            .collect();
        let run_ms = rng.gen_range(run.clone());
        let rewrite = rewrite_every > 0 && cycle % rewrite_every == rewrite_every - 1;
        let rewriter = rewrite.then(|| {
            let at = Duration::from_millis(rng.gen_range(0..run_ms));
            std::thread::spawn(move || rewrite_until_crash(port, at))
        });
        std::thread::sleep(Duration::from_millis(run_ms));
        let killed_at = Instant::now();
        crash(server);
        stop.store(true, Ordering::Relaxed);
        let sent: Vec<Vec<Sent>> = handles.into_iter().map(|h| h.join().unwrap()).collect();
        if let Some(r) = rewriter {
            let (started, during) = r.join().unwrap();
            fig.rewrites += usize::from(started);
            fig.during_rewrite += usize::from(during);
        }

        if cycle % 4 == 2 {
            // Also crash during start-up (loading the files, opening the
            // AOF) before starting for real.
            crash_at_start(dir, args, Duration::from_millis(rng.gen_range(0..30)));
            fig.start_crashes += 1;
        }
        server = start_in(dir, args);
        let mut c = server.conn();
        let mut errors = Vec::new();
        for (m, sent) in models.iter_mut().zip(&sent) {
            let acked = sent.iter().take_while(|s| s.acked.is_some()).count();
            // With no grace, every acknowledged write counts, even one
            // whose reply was read after `killed_at`.
            let must = if grace.is_zero() {
                acked
            } else {
                sent.iter()
                    .take_while(|s| s.acked.is_some_and(|a| a + grace <= killed_at))
                    .count()
            };
            fig.acked += acked;
            match verify(&mut c, m, sent, must) {
                Ok(o) => {
                    fig.must += o.must;
                    fig.maybe += o.maybe;
                    fig.survived += o.survived;
                }
                Err(e) => errors.push(e),
            }
        }
        assert!(
            errors.is_empty(),
            "cycle {cycle} (run {run_ms} ms, rewrite {rewrite}): {}",
            errors.join("\n")
        );
        verify_dbsize(&mut c, &models);
        fig.cycles += 1;
    }
    crash(server);
    fig
}

/// At `at`, starts a BGREWRITEAOF and watches it until the server dies:
/// whether it started, and whether it was still running at the crash.
fn rewrite_until_crash(port: u16, at: Duration) -> (bool, bool) {
    std::thread::sleep(at);
    let Ok(mut p) = Pipe::connect(port) else {
        return (false, false);
    };
    if p.send(&resp(&[b"BGREWRITEAOF"])).is_err() {
        return (false, false);
    }
    // An error when one is already running: then it is not ours.
    if !matches!(p.reply(), Ok(Frame::Simple(_))) {
        return (false, false);
    }
    let mut running = true;
    loop {
        if p.send(&resp(&[b"INFO", b"persistence"])).is_err() {
            return (true, running);
        }
        match p.reply() {
            Ok(Frame::Bulk(info)) => {
                let info = String::from_utf8_lossy(&info);
                running = info.contains("aof_rewrite_in_progress:1") || info.contains("aof_rewrite_scheduled:1");
            }
            _ => return (true, running),
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}

fn check_aof(dir: &Path) {
    let manifest = dir.join("appendonlydir/appendonly.aof.manifest");
    let out = match Command::new("redis-check-aof").arg(&manifest).output() {
        Ok(out) => out,
        Err(_) => {
            eprintln!("redis-check-aof not found: AOF not checked");
            return;
        }
    };
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "redis-check-aof failed: {text}");
    assert!(
        text.contains("All AOF files and manifest are valid"),
        "redis-check-aof: {text}"
    );
}

#[test]
fn appendfsync_always_loses_no_acknowledged_write() {
    let dir = Dir::new("always");
    // A small auto-rewrite threshold: automatic rewrites as well.
    let args = [
        "--appendonly",
        "yes",
        "--appendfsync",
        "always",
        "--save",
        "",
        "--auto-aof-rewrite-min-size",
        "1mb",
    ];
    let pacing = Pacing {
        batch: 8,
        pause: Duration::ZERO,
    };
    let fig = crash_cycles(&dir, &args, 60, 10..80, Duration::ZERO, pacing, 3);
    eprintln!(
        "appendfsync always: {} crash cycles ({} BGREWRITEAOF started, {} crashes during a rewrite, {} during start-up), {} writes acknowledged, {} lost, {} unacknowledged of which {} survived",
        fig.cycles,
        fig.rewrites,
        fig.during_rewrite,
        fig.start_crashes,
        fig.acked,
        0,
        fig.maybe,
        fig.survived - fig.must
    );
    assert_eq!(fig.cycles, 60);
    assert!(fig.acked > 0);
    check_aof(dir.path());
}

#[test]
fn appendfsync_always_with_an_aof_format_base() {
    // The same with the base written as commands, not RDB.
    let dir = Dir::new("always-aofbase");
    let args = [
        "--appendonly",
        "yes",
        "--appendfsync",
        "always",
        "--save",
        "",
        "--aof-use-rdb-preamble",
        "no",
    ];
    let pacing = Pacing {
        batch: 8,
        pause: Duration::ZERO,
    };
    let fig = crash_cycles(&dir, &args, 15, 10..80, Duration::ZERO, pacing, 2);
    eprintln!(
        "appendfsync always, AOF base: {} crash cycles ({} BGREWRITEAOF started, {} crashes during a rewrite), {} writes acknowledged, 0 lost",
        fig.cycles, fig.rewrites, fig.during_rewrite, fig.acked
    );
    assert!(fig.acked > 0);
    let bases: Vec<_> = std::fs::read_dir(dir.path().join("appendonlydir"))
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.contains(".base."))
        .collect();
    assert!(bases.iter().all(|n| n.ends_with(".base.aof")), "bases: {bases:?}");
    check_aof(dir.path());
}

#[test]
fn appendfsync_everysec_loses_at_most_the_last_seconds() {
    let dir = Dir::new("everysec");
    let args = ["--appendonly", "yes", "--appendfsync", "everysec", "--save", ""];
    let pacing = Pacing {
        batch: 8,
        pause: Duration::from_millis(4),
    };
    let fig = crash_cycles(&dir, &args, 5, 2300..3300, Duration::from_secs(2), pacing, 2);
    eprintln!(
        "appendfsync everysec: {} crash cycles ({} BGREWRITEAOF started), {} writes acknowledged, {} acknowledged > 2 s before the kill, 0 of those lost, {} of {} later or unacknowledged survived",
        fig.cycles,
        fig.rewrites,
        fig.acked,
        fig.must,
        fig.survived - fig.must,
        fig.maybe
    );
    assert!(fig.must > 0);
    check_aof(dir.path());
}

/// The last incr file named by the manifest (its `type i` line).
fn last_incr(dir: &Path) -> PathBuf {
    let aofdir = dir.join("appendonlydir");
    let manifest = std::fs::read_to_string(aofdir.join("appendonly.aof.manifest")).unwrap();
    let line = manifest
        .lines()
        .rfind(|l| {
            l.split_whitespace()
                .collect::<Vec<_>>()
                .windows(2)
                .any(|w| w == ["type", "i"])
        })
        .unwrap_or_else(|| panic!("no incr file in the manifest: {manifest}"));
    let mut words = line.split_whitespace();
    while let Some(w) = words.next() {
        if w == "file" {
            return aofdir.join(words.next().unwrap());
        }
    }
    panic!("no file name in manifest line {line}");
}

/// Runs the server on `dir` expecting it to refuse to start: returns its
/// exit code and log. It must exit within 20 s and never answer a
/// command other than with -LOADING.
fn expect_exit(dir: &Dir, args: &[&str]) -> (i32, String) {
    let port = common::free_port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_larder-server"))
        .arg("--port")
        .arg(port.to_string())
        .arg("--bind")
        .arg("127.0.0.1")
        .arg("--dir")
        .arg(dir.arg())
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn larder-server");
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(st) = child.try_wait().unwrap() {
            break st;
        }
        if let Ok(mut p) = Pipe::connect(port) {
            if p.send(&resp(&[b"GET", b"k0"])).is_ok() {
                if let Ok(reply) = p.reply() {
                    let loading = matches!(&reply, Frame::Error(e) if e.starts_with(b"LOADING"));
                    if !loading {
                        let _ = child.kill();
                        let _ = child.wait();
                        panic!("server served ({reply:?}) with {args:?} on a bad AOF");
                    }
                }
            }
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("server still running after 20 s with {args:?} on a bad AOF");
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let mut log = String::new();
    child.stdout.take().unwrap().read_to_string(&mut log).unwrap();
    child.stderr.take().unwrap().read_to_string(&mut log).unwrap();
    (status.code().unwrap_or(-1), log)
}

#[test]
fn torn_aof_tail_loads_up_to_the_tear_or_stops_the_server() {
    const KEYS: usize = 200;
    let dir = Dir::new("torn");
    let args = ["--appendonly", "yes", "--appendfsync", "always", "--save", ""];
    let strict: Vec<&str> = args.iter().copied().chain(["--aof-load-truncated", "no"]).collect();
    let s = start_in(&dir, &args);
    let mut c = s.conn();
    for i in 0..KEYS {
        let _: () = redis::cmd("SET").arg(format!("k{i}")).arg(i).query(&mut c).unwrap();
    }
    let _: () = redis::cmd("RPUSH").arg("list").arg(&[1, 2, 3]).query(&mut c).unwrap();
    crash(s);
    let incr = last_incr(dir.path());
    let good = std::fs::read(&incr).unwrap();
    assert!(
        good.ends_with(b"$4\r\nlist\r\n$1\r\n1\r\n$1\r\n2\r\n$1\r\n3\r\n"),
        "incr file does not end with the last write"
    );

    let check = |s: &TestServer| {
        let mut c = s.conn();
        let got: Vec<Option<usize>> = redis::cmd("MGET")
            .arg((0..KEYS).map(|i| format!("k{i}")).collect::<Vec<_>>())
            .query(&mut c)
            .unwrap();
        assert_eq!(got, (0..KEYS).map(Some).collect::<Vec<_>>());
        let list: Vec<u32> = redis::cmd("LRANGE").arg("list").arg(0).arg(-1).query(&mut c).unwrap();
        assert_eq!(list, [1, 2, 3]);
        let n: usize = redis::cmd("DBSIZE").query(&mut c).unwrap();
        assert_eq!(n, KEYS + 1, "the torn command or something else was loaded");
    };

    let torn = resp(&[b"SET", b"torn", b"value"]);
    // A transaction without its EXEC is reverted like a torn command.
    let multi = [resp(&[b"MULTI"]), torn.clone(), resp(&[b"SET", b"torn2", b"x"])].concat();
    // Cut after the array header, inside a length, inside an argument,
    // before the last CRLF, between its two bytes; a whole command in a
    // MULTI, and one cut in the MULTI.
    let cuts = [1, 4, 6, 9, 20, torn.len() - 2, torn.len() - 1];
    let tails =
        cuts.iter()
            .map(|&cut| &torn[..cut])
            .chain([&multi[..15 + torn.len()], &multi[..multi.len() - 3], &multi[..]]);
    for (cut, tail) in tails.enumerate() {
        let mut bytes = good.clone();
        bytes.extend_from_slice(tail);
        std::fs::write(&incr, &bytes).unwrap();

        let (code, log) = expect_exit(&dir, &strict);
        assert_ne!(code, 0, "aof-load-truncated no, tail {cut}: exit code 0; log: {log}");
        assert!(log.contains("Unexpected end of file"), "tail {cut}: {log}");
        assert_eq!(
            std::fs::read(&incr).unwrap(),
            bytes,
            "aof-load-truncated no changed the file"
        );

        let s = start_in(&dir, &args);
        check(&s);
        // A write acknowledged after the repair survives the next crash.
        let mut c = s.conn();
        let _: () = redis::cmd("SET").arg("after").arg(cut).query(&mut c).unwrap();
        crash(s);
        let s = start_in(&dir, &args);
        let mut c = s.conn();
        let after: Option<usize> = redis::cmd("GET").arg("after").query(&mut c).unwrap();
        assert_eq!(
            after,
            Some(cut),
            "tail {cut}: a write acknowledged after loading the torn AOF was lost"
        );
        let _: () = redis::cmd("DEL").arg("after").query(&mut c).unwrap();
        check(&s);
        crash(s);
        let now = std::fs::read(&incr).unwrap();
        assert!(
            now.starts_with(&good) && !now[good.len()..].windows(4).any(|w| w == b"torn"),
            "tail {cut}: the torn tail was not cut off at the last complete command before it"
        );
        std::fs::write(&incr, &good).unwrap();
    }

    // Bytes that cannot start a command are a format error, fatal
    // whatever aof-load-truncated says (as in Redis).
    for garbage in [&b"garbage\r\n"[..], b"\x00\x00\x00\x00", b"*x\r\n"] {
        let mut bytes = good.clone();
        bytes.extend_from_slice(garbage);
        std::fs::write(&incr, &bytes).unwrap();
        for a in [&args[..], &strict[..]] {
            let (code, log) = expect_exit(&dir, a);
            assert_ne!(code, 0, "{garbage:?} with {a:?}: exit code 0; log: {log}");
            assert!(log.contains("Bad file format"), "{garbage:?}: {log}");
        }
    }

    // And once repaired, it loads and takes writes after the old tail.
    std::fs::write(&incr, &good).unwrap();
    let s = start_in(&dir, &args);
    check(&s);
    let mut c = s.conn();
    let _: () = redis::cmd("SET").arg("after").arg("1").query(&mut c).unwrap();
    crash(s);
    let s = start_in(&dir, &args);
    let mut c = s.conn();
    let after: String = redis::cmd("GET").arg("after").query(&mut c).unwrap();
    assert_eq!(after, "1");
    crash(s);
    check_aof(dir.path());
}

#[test]
fn crash_during_bgsave_keeps_the_previous_dump() {
    let dir = Dir::new("bgsave");
    let args = ["--save", ""];
    let s = start_in(&dir, &args);
    let mut c = s.conn();
    let mut pipe = redis::pipe();
    for i in 0..1000 {
        pipe.cmd("SET").arg(format!("a:{i}")).arg(i).ignore();
    }
    pipe.cmd("RPUSH").arg("a:list").arg(&[1, 2, 3]).ignore();
    pipe.query::<()>(&mut c).unwrap();
    let _: String = redis::cmd("SAVE").query(&mut c).unwrap();
    let dump = dir.path().join("dump.rdb");
    let saved = std::fs::read(&dump).unwrap();

    // Much more data, then a BGSAVE killed in the middle.
    let value = "v".repeat(64) + &"x".repeat(64);
    for chunk in 0..30 {
        let mut pipe = redis::pipe();
        for i in 0..10_000 {
            pipe.cmd("SET")
                .arg(format!("b:{chunk}:{i}"))
                .arg(format!("{i}{value}"))
                .ignore();
        }
        pipe.query::<()>(&mut c).unwrap();
    }
    let r: String = redis::cmd("BGSAVE").query(&mut c).unwrap();
    assert_eq!(r, "Background saving started");
    assert_eq!(
        info_field(&mut c, "persistence", "rdb_bgsave_in_progress"),
        "1",
        "BGSAVE of 300k keys was over before it could be killed"
    );
    // Kill once part of the new file is written (bounded wait).
    let pid = s.pid();
    let temp = dir.path().join(format!("temp-{pid}.rdb"));
    let deadline = Instant::now() + Duration::from_secs(5);
    while std::fs::metadata(&temp).map(|m| m.len()).unwrap_or(0) == 0 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_micros(200));
    }
    crash(s);
    let partial = std::fs::metadata(&temp).map(|m| m.len()).unwrap_or(0);
    assert_eq!(
        std::fs::read(&dump).unwrap(),
        saved,
        "dump.rdb changed by a killed BGSAVE"
    );

    let s = start_in(&dir, &args);
    let mut c = s.conn();
    let n: usize = redis::cmd("DBSIZE").query(&mut c).unwrap();
    assert_eq!(n, 1001);
    let got: Vec<Option<usize>> = redis::cmd("MGET")
        .arg((0..1000).map(|i| format!("a:{i}")).collect::<Vec<_>>())
        .query(&mut c)
        .unwrap();
    assert_eq!(got, (0..1000).map(Some).collect::<Vec<_>>());
    let list: Vec<u32> = redis::cmd("LRANGE").arg("a:list").arg(0).arg(-1).query(&mut c).unwrap();
    assert_eq!(list, [1, 2, 3]);
    eprintln!(
        "crash during BGSAVE: killed with {partial} bytes of temp-{pid}.rdb written; dump.rdb intact, 1001 keys loaded"
    );
    drop(s);
}

#[test]
fn always_never_acknowledges_a_write_the_aof_could_not_take() {
    if !Path::new("/dev/full").exists() {
        eprintln!("no /dev/full: AOF write errors not tested");
        return;
    }
    let dir = Dir::new("full");
    let args = ["--appendonly", "yes", "--appendfsync", "always", "--save", ""];
    let s = start_in(&dir, &args);
    let mut c = s.conn();
    let _: () = redis::cmd("SET").arg("a").arg("1").query(&mut c).unwrap();
    crash(s);
    // The incr file becomes /dev/full: it loads as empty, and every write
    // to it fails with ENOSPC.
    let incr = last_incr(dir.path());
    let kept = std::fs::read(&incr).unwrap();
    std::fs::remove_file(&incr).unwrap();
    std::os::unix::fs::symlink("/dev/full", &incr).unwrap();
    let mut s = start_in(&dir, &args);
    let mut p = Pipe::connect(s.port).unwrap();
    p.send(&resp(&[b"SET", b"b", b"2"])).unwrap();
    let reply = p.reply();
    assert!(reply.is_err(), "a write the AOF could not take was answered {reply:?}");
    let code = s.wait_exit(10);
    assert!(
        code.is_some_and(|c| c != 0),
        "server did not exit on the AOF write error: {code:?}"
    );
    drop(s);

    // A blocked pop served by that failing push is not answered either:
    // its own pop is in the AOF only once the push's is.
    let mut s = start_in(&dir, &args);
    let mut waiter = Pipe::connect(s.port).unwrap();
    waiter.send(&resp(&[b"BLPOP", b"q", b"0"])).unwrap();
    let mut c = s.conn();
    let start = Instant::now();
    while info_field(&mut c, "clients", "blocked_clients") != "1" {
        assert!(start.elapsed() < Duration::from_secs(10), "BLPOP never blocked");
        std::thread::sleep(Duration::from_millis(10));
    }
    let mut p = Pipe::connect(s.port).unwrap();
    p.send(&resp(&[b"RPUSH", b"q", b"x"])).unwrap();
    let reply = waiter.reply();
    assert!(reply.is_err(), "a pop the AOF could not take was answered {reply:?}");
    assert!(p.reply().is_err());
    let code = s.wait_exit(10);
    assert!(code.is_some_and(|c| c != 0), "server did not exit: {code:?}");
    drop(s);

    std::fs::remove_file(&incr).unwrap();
    std::fs::write(&incr, &kept).unwrap();
    let s = start_in(&dir, &args);
    let mut c = s.conn();
    let got: (Option<String>, Option<String>) = redis::cmd("MGET").arg("a").arg("b").query(&mut c).unwrap();
    assert_eq!(got, (Some("1".to_string()), None));
    crash(s);
}
