//! Lua scripting (EVAL and friends), on Lua 5.1 as Redis embeds it.
//!
//! One Lua state for the whole server, behind a mutex and created on first
//! use ([`Scripting::engine`]). A script runs with every shard locked
//! (EVAL is `ALL_SHARDS`), so scripts are atomic and run one at a time
//! anyway; one state is the simplest choice that keeps Redis's semantics
//! (scripts are serialised, SCRIPT FLUSH resets the state).
//!
//! The sandbox (`prelude.lua`) gives scripts a read-only global table with
//! Redis's allowed builtins, `redis.*`, `cjson`, `bit`, `cmsgpack`,
//! `struct`, `KEYS` and `ARGV`; reads of a missing global and writes of
//! any raise Redis 7's errors. Each `redis.call` runs through
//! [`crate::dispatch::call`] (as EXEC runs its queue) into a scratch reply
//! buffer that is parsed back ([`larder_protocol::parse_frame`]) and
//! converted as Redis's script_lua.c does (`convert.rs`).
//!
//! Long scripts: while one runs, [`Scripting::running_since`] holds its
//! start; dispatch answers other clients -BUSY past
//! `busy-reply-threshold` (before taking any lock), and SCRIPT KILL sets a
//! flag an instruction-count hook turns into an error.
//!
//! Redis 7 functions (FUNCTION LOAD, FCALL) are in [`functions`]: a second
//! Lua state built the same way, whose callbacks run through the same
//! `execute` as EVAL's scripts.

pub mod convert;
pub mod functions;
pub mod libs;
pub mod sha1;

use std::cell::RefCell;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use hashbrown::HashMap;
use mlua::{ChunkMode, Function, HookTriggers, Lua, LuaOptions, MultiValue, StdLib, Table, Value, VmState};
use parking_lot::Mutex;

use larder_protocol::{Reply, Resp};

use crate::commands::{flags, CommandSpec};
use crate::dispatch::Ctx;
use crate::server::Server;

pub use sha1::sha1hex;

/// Redis's -BUSY error.
pub const BUSY: &str = "-BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.";
/// -BUSY while a FUNCTION runs.
pub const BUSY_FUNCTION: &str =
    "-BUSY Redis is busy running a script. You can only call FUNCTION KILL or SHUTDOWN NOSAVE.";
pub const NOSCRIPT: &str = "-NOSCRIPT No matching script. Please use EVAL.";
/// A redis.* function re-entered (from a `__gc` finaliser or a hook).
const RECURSIVE: &str =
    "ERR luaRedisGenericCommand() recursive call detected. Are you doing funny stuff with Lua debug hooks?";
const KILLED_MSG: &str = "Script killed by user with SCRIPT KILL...";

/// The server's scripting state.
#[derive(Default)]
pub struct Scripting {
    /// Script bodies by lowercase hex SHA-1.
    scripts: Mutex<HashMap<String, Arc<[u8]>>>,
    engine: Mutex<Option<Engine>>,
    /// When the running script started (ms on the server clock), 0 if none.
    running_since: AtomicU64,
    /// Set by SCRIPT KILL; the Lua hook aborts the script.
    kill: Arc<AtomicBool>,
    /// The running script has written to the dataset (SCRIPT KILL refuses).
    wrote: AtomicBool,
    /// math.random's rand48 state, XOR [`RAND48_INIT`] (so 0 is the
    /// initial state, as Redis's never-seeded redisLrand48).
    rand48: Arc<AtomicU64>,
    /// Notified when a script ends (commands waiting for it wake at once).
    ended: (Mutex<()>, parking_lot::Condvar),
    /// The Lua state's memory after the last script (INFO memory reads it
    /// without waiting for a running script).
    lua_memory: AtomicU64,
    /// FUNCTION libraries, in their own Lua state as in Redis.
    pub(crate) functions: functions::Functions,
    /// The running FUNCTION's name and command (FUNCTION STATS, KILL).
    running_fn: Mutex<Option<(String, Vec<Vec<u8>>)>>,
}

/// rand48's initial state (X2 X1 X0 = 0x1234 0xABCD 0x330E).
const RAND48_INIT: u64 = 0x1234_ABCD_330E;

/// Redis's redisLrand48: the 48-bit LCG, the top 31 bits.
fn lrand48(state: &AtomicU64) -> i64 {
    let x = state.load(Ordering::Relaxed) ^ RAND48_INIT;
    let next = x.wrapping_mul(0x5_DEEC_E66D).wrapping_add(0xB) & ((1 << 48) - 1);
    state.store(next ^ RAND48_INIT, Ordering::Relaxed);
    (next >> 17) as i64
}

/// math.random and math.randomseed on Redis's rand48, so scripts see the
/// same sequence as on Redis.
fn install_random(lua: &Lua, state: Arc<AtomicU64>) -> mlua::Result<()> {
    let math: Table = lua.globals().raw_get("math")?;
    let st = state.clone();
    let random = lua.create_function(move |lua, a: MultiValue| {
        const MAX: i64 = i32::MAX as i64;
        let r = (lrand48(&st) % MAX) as f64 / MAX as f64;
        let args: Vec<Value> = a.into_iter().collect();
        let int = |i: usize| -> mlua::Result<i64> {
            libs::check_number(&args, i, "random")
                .map(|n| n as i32 as i64)
                .map_err(|m| raise(lua, format!("{}{}", where_(lua), m)))
        };
        let bad = |i: usize| {
            raise(
                lua,
                format!("{}bad argument #{} to 'random' (interval is empty)", where_(lua), i),
            )
        };
        match args.len() {
            0 => Ok(r),
            1 => {
                let u = int(0)?;
                if u < 1 {
                    return Err(bad(1));
                }
                Ok((r * u as f64).floor() + 1.0)
            }
            2 => {
                let (l, u) = (int(0)?, int(1)?);
                if l > u {
                    return Err(bad(2));
                }
                Ok((r * (u - l + 1) as f64).floor() + l as f64)
            }
            _ => Err(raise(lua, format!("{}wrong number of arguments", where_(lua)))),
        }
    })?;
    let randomseed = lua.create_function(move |lua, a: MultiValue| {
        let args: Vec<Value> = a.into_iter().collect();
        let seed = libs::check_number(&args, 0, "randomseed")
            .map_err(|m| raise(lua, format!("{}{}", where_(lua), m)))? as i32 as u32 as u64;
        state.store(((seed << 16) | 0x330E) ^ RAND48_INIT, Ordering::Relaxed);
        Ok(())
    })?;
    math.raw_set("random", random)?;
    math.raw_set("randomseed", randomseed)?;
    Ok(())
}

impl std::fmt::Debug for Scripting {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scripting")
            .field("scripts", &self.scripts.lock().len())
            .field("running_since", &self.running_since)
            .finish()
    }
}

/// The Lua state and what was compiled in it.
struct Engine {
    lua: Lua,
    /// `run(f, KEYS, ARGV)` from the prelude: (ok, result or error table).
    run: Function,
    /// The script globals' proxy, every script function's environment.
    env: Table,
    /// The real `redis` table: `call`, `pcall`, `setresp` and `set_repl`
    /// are set in it for each run (they need the running command's context).
    redis: Table,
    functions: HashMap<String, Function>,
    /// FUNCTION libraries (prelude.lua): `fload(chunk)` runs a library's
    /// code, `frun(f, keys, args)` a callback, `fenv` is their globals.
    fload: Function,
    frun: Function,
    fenv: Table,
}

impl Scripting {
    /// Whether a script is running (one atomic load).
    pub fn running(&self) -> bool {
        self.running_since.load(Ordering::Acquire) != 0
    }

    /// Dispatch's check before locking: while a script has run past
    /// `busy-reply-threshold`, only `allow-busy` commands run.
    pub fn rejects_busy(&self, server: &Server, spec: &CommandSpec) -> bool {
        let since = self.running_since.load(Ordering::Acquire);
        if since == 0 || spec.has(flags::ALLOW_BUSY) {
            return false;
        }
        let threshold = busy_threshold(server);
        threshold > 0 && server.keyspace.now_ms().saturating_sub(since) >= threshold
    }

    /// Dispatch's check while a script runs, before any lock: true to
    /// answer -BUSY. Other commands (but `allow-busy` ones) wait here
    /// until the script ends or passes the threshold, as they would wait
    /// in Redis, rather than blocking their I/O thread on a shard lock
    /// (many commands lock shards without declaring keys) for the
    /// script's whole run.
    pub fn wait_or_busy(&self, server: &Server, spec: &CommandSpec) -> bool {
        if spec.has(flags::ALLOW_BUSY) {
            return false;
        }
        loop {
            if !self.running() {
                return false;
            }
            if self.rejects_busy(server, spec) {
                return true;
            }
            let threshold = busy_threshold(server);
            if threshold == 0 {
                return false;
            }
            let since = self.running_since.load(Ordering::Acquire);
            let left = (since + threshold)
                .saturating_sub(server.keyspace.now_ms())
                .clamp(1, 50);
            let mut g = self.ended.0.lock();
            if !self.running() {
                return false;
            }
            self.ended.1.wait_for(&mut g, std::time::Duration::from_millis(left));
        }
    }

    /// A script ended: wakes the commands waiting for it.
    fn script_ended(&self) {
        self.running_since.store(0, Ordering::Release);
        let _g = self.ended.0.lock();
        self.ended.1.notify_all();
    }

    pub fn exists(&self, sha: &str) -> bool {
        self.scripts.lock().contains_key(&sha.to_ascii_lowercase())
    }

    pub fn body(&self, sha: &str) -> Option<Arc<[u8]>> {
        self.scripts.lock().get(&sha.to_ascii_lowercase()).cloned()
    }

    /// SCRIPT FLUSH: forgets every script and resets the Lua state.
    pub fn flush(&self) {
        self.scripts.lock().clear();
        let old = self.engine.lock().take();
        drop(old);
        self.lua_memory.store(0, Ordering::Relaxed);
    }

    /// The scripting fields of INFO memory, as Redis 7 names them (no
    /// FUNCTION support: its figures are zero).
    pub fn info_memory(&self, out: &mut String) {
        let lua = self.lua_memory.load(Ordering::Relaxed);
        let (count, bytes) = {
            let scripts = self.scripts.lock();
            let bytes: usize = scripts.values().map(|b| b.len() + 40 + 64).sum();
            (scripts.len(), bytes as u64)
        };
        let human = crate::stats::bytes_to_human;
        let mut f = |k: &str, v: String| {
            out.push_str(k);
            out.push(':');
            out.push_str(&v);
            out.push_str("\r\n");
        };
        f("used_memory_lua", lua.to_string());
        f("used_memory_vm_eval", lua.to_string());
        f("used_memory_lua_human", human(lua));
        f("used_memory_scripts_eval", bytes.to_string());
        f("number_of_cached_scripts", count.to_string());
        let (libs, fns) = self.functions.counts();
        let (fvm, fbytes) = self.functions.memory();
        f("number_of_functions", fns.to_string());
        f("number_of_libraries", libs.to_string());
        f("used_memory_vm_functions", fvm.to_string());
        f("used_memory_vm_total", (lua + fvm).to_string());
        f("used_memory_vm_total_human", human(lua + fvm));
        f("used_memory_functions", fbytes.to_string());
        f("used_memory_scripts", (bytes + fbytes).to_string());
        f("used_memory_scripts_human", human(bytes + fbytes));
    }

    /// The -BUSY error for the running script's kind.
    pub fn busy_error(&self) -> &'static str {
        if self.running_fn.lock().is_some() {
            BUSY_FUNCTION
        } else {
            BUSY
        }
    }

    /// The running FUNCTION: (name, command, start ms).
    pub fn running_function(&self) -> Option<(String, Vec<Vec<u8>>, u64)> {
        let since = self.running_since.load(Ordering::Acquire);
        let r = self.running_fn.lock().clone()?;
        (since != 0).then_some((r.0, r.1, since))
    }

    /// SCRIPT KILL (`eval`) or FUNCTION KILL: each kills only its kind.
    pub fn kill(&self, eval: bool) -> Result<(), &'static str> {
        if !self.running() {
            return Err("-NOTBUSY No scripts in execution right now.");
        }
        if self.wrote.load(Ordering::Acquire) {
            return Err("-UNKILLABLE Sorry the script already executed write commands against the dataset. You can either wait the script termination or kill the server in a hard way using the SHUTDOWN NOSAVE command.");
        }
        if eval == self.running_fn.lock().is_some() {
            return Err(self.busy_error());
        }
        self.kill.store(true, Ordering::Release);
        Ok(())
    }

    /// Compiles `body` (SCRIPT LOAD, EVAL) and caches it; the SHA-1, or
    /// the error reply.
    pub fn load(&self, body: &[u8]) -> Result<String, String> {
        let sha = sha1hex(body);
        shebang_flags(body)?;
        let mut guard = self.engine.lock();
        let engine = self.engine_in(&mut guard)?;
        engine.function(&sha, body)?;
        self.lua_memory
            .store(engine.lua.used_memory() as u64, Ordering::Relaxed);
        self.scripts.lock().entry(sha.clone()).or_insert_with(|| body.into());
        Ok(sha)
    }

    fn engine_in<'g>(&self, guard: &'g mut Option<Engine>) -> Result<&'g mut Engine, String> {
        if guard.is_none() {
            let engine = Engine::new(self.kill.clone(), self.rand48.clone());
            *guard = Some(engine.map_err(|e| format!("Lua initialisation failed: {e}"))?);
        }
        guard.as_mut().ok_or_else(|| "Lua initialisation failed".to_string())
    }
}

/// The commands that run a script or a function.
const SCRIPT_COMMANDS: [&str; 6] = ["eval", "evalsha", "eval_ro", "evalsha_ro", "fcall", "fcall_ro"];

/// Whether command `name` (the table's lower-case name) runs a script or
/// function.
pub fn is_script(name: &str) -> bool {
    SCRIPT_COMMANDS.contains(&name)
}

/// Whether `args` is an EVAL-family call (the connection runs it off its
/// I/O thread).
pub fn runs_script(args: &[&[u8]]) -> bool {
    args.first()
        .is_some_and(|a| SCRIPT_COMMANDS.iter().any(|n| a.eq_ignore_ascii_case(n.as_bytes())))
}

/// The flags the script of EVAL-family or FCALL-family `args` declares
/// (a `#!lua` shebang, a library function's flags); `None` for a script
/// without a shebang, an unknown script or function, or anything else.
/// Redis's getCommandFlags for these commands reads them: see
/// [`ScriptFlags::writes`] and [`ScriptFlags::deny_oom`].
pub fn declared_flags(server: &Server, name: &str, args: &[&[u8]]) -> Option<ScriptFlags> {
    let arg = *args.get(1)?;
    let body = match name {
        "eval" | "eval_ro" => Arc::<[u8]>::from(arg),
        "evalsha" | "evalsha_ro" => server
            .scripting
            .body(&String::from_utf8_lossy(arg).to_ascii_lowercase())?,
        "fcall" | "fcall_ro" => return functions::declared_flags(server, arg),
        _ => return None,
    };
    shebang_flags(&body).ok().filter(|f| f.declared)
}

/// Redis's getCommandFlags: `spec`'s flags, except that a script which
/// declared flags is `write` and `denyoom` by them (scriptFlagsToCmdFlags).
pub fn command_flags(server: &Server, spec: &crate::commands::CommandSpec, args: &[&[u8]]) -> u64 {
    use crate::commands::flags;
    let Some(f) = declared_flags(server, spec.name, args) else {
        return spec.flags;
    };
    let mut out = spec.flags & !(flags::DENYOOM | flags::WRITE | flags::MAY_REPLICATE);
    if f.deny_oom() {
        out |= flags::DENYOOM;
    }
    if f.writes() {
        out |= flags::WRITE;
    }
    out
}

/// Whether EVAL / EVALSHA / FCALL `args` may write (CLIENT PAUSE WRITE
/// holds it, on an I/O thread): not the `_RO` forms, nor a script flagged
/// `no-writes`.
pub fn may_write(server: &Server, name: &str, args: &[&[u8]]) -> bool {
    match name {
        "eval" | "evalsha" => declared_flags(server, name, args).is_none_or(|f| f.writes()),
        "fcall" => functions::may_write(server, args),
        _ => false,
    }
}

fn busy_threshold(server: &Server) -> u64 {
    server
        .config
        .read()
        .extras
        .get("busy-reply-threshold")
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or(5000)
}

/// The flags a `#!lua` shebang line sets.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ScriptFlags {
    /// A shebang (or a function's registration) declared the flags; a
    /// script without one runs in Redis's compatibility mode.
    pub declared: bool,
    pub no_writes: bool,
    pub allow_oom: bool,
    /// Where the body after the shebang starts (its newline is kept, so
    /// line numbers stay right).
    pub skip: usize,
}

/// Parses a `#!lua [flags=a,b]` first line, with Redis's errors.
pub fn shebang_flags(body: &[u8]) -> Result<ScriptFlags, String> {
    if !body.starts_with(b"#!") {
        return Ok(ScriptFlags::default());
    }
    let end = body.iter().position(|&b| b == b'\n').unwrap_or(body.len());
    let line = String::from_utf8_lossy(&body[..end]).into_owned();
    let mut parts = line.split(' ').filter(|s| !s.is_empty());
    let engine = parts.next().unwrap_or("");
    if engine != "#!lua" {
        return Err(format!("Unexpected engine in script shebang: {line}"));
    }
    let mut flags = ScriptFlags {
        declared: true,
        skip: end,
        ..ScriptFlags::default()
    };
    for part in parts {
        let Some(list) = part.strip_prefix("flags=") else {
            return Err(format!("Unknown lua shebang option: {part}"));
        };
        for f in list.split(',').filter(|s| !s.is_empty()) {
            match f {
                "no-writes" => flags.no_writes = true,
                "allow-oom" => flags.allow_oom = true,
                "allow-stale" | "no-cluster" | "allow-cross-slot-keys" => {}
                _ => return Err(format!("Unexpected flag in script shebang: {f}")),
            }
        }
    }
    Ok(flags)
}

impl ScriptFlags {
    /// Redis's scriptFlagsToCmdFlags: a script that declared flags is a
    /// write command unless `no-writes`...
    pub fn writes(&self) -> bool {
        !self.no_writes
    }

    /// ... and deny-oom unless `allow-oom` or `no-writes`.
    pub fn deny_oom(&self) -> bool {
        !(self.allow_oom || self.no_writes)
    }
}

impl Engine {
    fn new(kill: Arc<AtomicBool>, rand48: Arc<AtomicU64>) -> mlua::Result<Engine> {
        let libs = StdLib::TABLE | StdLib::STRING | StdLib::MATH | StdLib::OS | StdLib::DEBUG;
        // SAFETY: the debug library is only reachable by the prelude's
        // error handler (the prelude removes it from the globals before
        // any script runs); nothing loads C modules or bytecode.
        let lua = unsafe { Lua::unsafe_new_with(libs, LuaOptions::default()) };
        let lib = lua.create_table()?;
        let killed = kill.clone();
        lib.raw_set(
            "killed",
            lua.create_function(move |_, ()| Ok(killed.load(Ordering::Acquire)))?,
        )?;
        lib.raw_set(
            "take_pending",
            lua.create_function(|lua, ()| {
                let v: Value = lua.named_registry_value(PENDING)?;
                lua.set_named_registry_value(PENDING, Value::Nil)?;
                Ok(v)
            })?,
        )?;
        lib.raw_set(
            "sha1hex",
            lua.create_function(|lua, a: MultiValue| {
                if a.len() != 1 {
                    return Err(raise_table(lua, "ERR wrong number of arguments"));
                }
                let v = a.into_iter().next().unwrap_or(Value::Nil);
                let s = match &v {
                    Value::String(s) => sha1hex(&s.as_bytes()),
                    Value::Integer(_) | Value::Number(_) => {
                        let t = lua
                            .coerce_string(v.clone())?
                            .map(|s| s.as_bytes().to_vec())
                            .unwrap_or_default();
                        sha1hex(&t)
                    }
                    _ => sha1hex(b""),
                };
                Ok(s)
            })?,
        )?;
        lib.raw_set(
            "log",
            lua.create_function(|lua, args: MultiValue| {
                if args.len() < 2 {
                    return Err(raise_table(lua, "ERR redis.log() requires two arguments or more."));
                }
                let mut it = args.into_iter();
                let Some(level) = it.next().and_then(|v| lua.coerce_number(v).ok().flatten()) else {
                    return Err(raise_table(lua, "ERR First argument must be a number (log level)."));
                };
                let level = level as i64;
                if !(0..=3).contains(&level) {
                    return Err(raise_table(lua, "ERR Invalid debug level."));
                }
                let mut msg = Vec::new();
                for (i, v) in it.enumerate() {
                    if let Ok(Some(s)) = lua.coerce_string(v) {
                        if i > 0 {
                            msg.push(b' ');
                        }
                        msg.extend_from_slice(&s.as_bytes());
                    }
                }
                let text = String::from_utf8_lossy(&msg);
                match level {
                    0 => tracing::debug!("{text}"),
                    1 => tracing::debug!("{text}"),
                    2 => tracing::info!("{text}"),
                    _ => tracing::warn!("{text}"),
                }
                Ok(())
            })?,
        )?;
        lib.raw_set("version", crate::server::REDIS_VERSION)?;
        lib.raw_set("version_num", version_num(crate::server::REDIS_VERSION))?;
        lib.raw_set("cjson", libs::cjson::module(&lua)?)?;
        lib.raw_set("bit", libs::bit::module(&lua)?)?;
        lib.raw_set("cmsgpack", libs::cmsgpack::module(&lua)?)?;
        lib.raw_set("struct", libs::struct_::module(&lua)?)?;
        install_random(&lua, rand48)?;
        let prelude = lua
            .load(include_str!("prelude.lua"))
            .set_name("=larder")
            .set_mode(ChunkMode::Text)
            .into_function()?;
        let (run, env, redis, fload, frun, fenv): (Function, Table, Table, Function, Function, Table) =
            prelude.call((lua.globals(), lib))?;
        kill_hook(&lua, kill);
        Ok(Engine {
            lua,
            run,
            env,
            redis,
            functions: HashMap::new(),
            fload,
            frun,
            fenv,
        })
    }

    /// The compiled function of script `sha`, compiling `body` if needed.
    fn function(&mut self, sha: &str, body: &[u8]) -> Result<Function, String> {
        if let Some(f) = self.functions.get(sha) {
            return Ok(f.clone());
        }
        let flags = shebang_flags(body)?;
        let f = self
            .lua
            .load(&body[flags.skip..])
            .set_name("@user_script")
            .set_mode(ChunkMode::Text)
            .set_environment(self.env.clone())
            .into_function()
            .map_err(|e| {
                let msg = match e {
                    mlua::Error::SyntaxError { message, .. } => message,
                    other => other.to_string(),
                };
                format!("Error compiling script (new function): {msg}")
            })?;
        self.functions.insert(sha.to_string(), f.clone());
        Ok(f)
    }
}

/// The hook turning SCRIPT KILL / FUNCTION KILL into an error.
fn kill_hook(lua: &Lua, kill: Arc<AtomicBool>) {
    lua.set_hook(HookTriggers::new().every_nth_instruction(1000), move |_, _| {
        if kill.load(Ordering::Acquire) {
            Err(mlua::Error::runtime(KILLED_MSG))
        } else {
            Ok(VmState::Continue)
        }
    });
}

/// "7.2.4" -> 0x070204.
fn version_num(v: &str) -> i64 {
    v.split('.')
        .take(3)
        .fold(0, |acc, p| (acc << 8) | p.parse::<i64>().unwrap_or(0))
}

/// Where a Rust function's pending error value waits for the handler.
const PENDING: &str = "larder.pending_error";

/// Raises `v` as the Lua error value: stored in the registry, where the
/// prelude's error handler and `pcall` take it back from the failure.
pub fn raise(lua: &Lua, v: impl mlua::IntoLua) -> mlua::Error {
    if let Err(e) = lua.set_named_registry_value(PENDING, v) {
        return e;
    }
    mlua::Error::runtime("script error")
}

/// Raises `{err = msg}` (Redis's luaPushError + luaError).
pub fn raise_table(lua: &Lua, msg: &str) -> mlua::Error {
    match convert::err_table(lua, msg) {
        Ok(t) => raise(lua, t),
        Err(e) => e,
    }
}

/// `luaL_where(L, 1)`: "chunk:line: " of the Lua function calling the
/// running C function, or "" if unknown.
pub fn where_(lua: &Lua) -> String {
    match lua.inspect_stack(1) {
        Some(d) => {
            let line = d.curr_line();
            let src = d.source().short_src.map(|s| s.into_owned()).unwrap_or_default();
            if line > 0 {
                format!("{src}:{line}: ")
            } else {
                String::new()
            }
        }
        None => String::new(),
    }
}

fn clear_run_functions(redis: &Table) -> mlua::Result<()> {
    for name in ["call", "pcall", "setresp", "set_repl"] {
        redis.raw_set(name, Value::Nil)?;
    }
    Ok(())
}

/// State of one script run, shared by the per-run Lua functions.
struct Run<'c, 'a> {
    ctx: &'c mut Ctx<'a>,
    sha: &'c str,
    read_only: bool,
    /// Declared `allow-oom`: deny-oom commands run even over maxmemory.
    allow_oom: bool,
    /// A write command has run (Redis's SCRIPT_WRITE_DIRTY): from then on
    /// the script is not stopped for memory, it could not be undone.
    dirty: bool,
    resp: Resp,
}

/// EVAL / EVALSHA / EVAL_RO / EVALSHA_RO.
pub fn eval(ctx: &mut Ctx<'_>, args: &[&[u8]], by_sha: bool, read_only: bool) {
    let server = ctx.server;
    let numkeys = match crate::util::parse_i64(args[2]) {
        Some(n) => n,
        None => return ctx.out.error("value is not an integer or out of range"),
    };
    if numkeys > (args.len() - 3) as i64 {
        return ctx.out.error("Number of keys can't be greater than number of args");
    }
    if numkeys < 0 {
        return ctx.out.error("Number of keys can't be negative");
    }
    let scripting = &server.scripting;
    let (sha, body) = if by_sha {
        let sha = String::from_utf8_lossy(args[1]).to_ascii_lowercase();
        match scripting.body(&sha) {
            Some(b) if sha.len() == 40 => (sha, b),
            _ => return ctx.out.error(NOSCRIPT),
        }
    } else {
        (sha1hex(args[1]), Arc::<[u8]>::from(args[1]))
    };
    let flags = match shebang_flags(&body) {
        Ok(f) => f,
        Err(e) => return ctx.out.error(&e),
    };
    let mut guard = scripting.engine.lock();
    let engine = match scripting.engine_in(&mut guard) {
        Ok(e) => e,
        Err(e) => return ctx.out.error(&e),
    };
    let f = match engine.function(&sha, &body) {
        Ok(f) => f,
        Err(e) => return ctx.out.error(&e),
    };
    if !by_sha {
        scripting.scripts.lock().entry(sha.clone()).or_insert(body);
    }
    let Ok(engine) = parking_lot::MutexGuard::try_map(guard, |g| g.as_mut()) else {
        return ctx.out.error("Lua initialisation failed");
    };
    execute(
        ctx,
        args,
        engine,
        f,
        numkeys as usize,
        read_only || flags.no_writes,
        flags.allow_oom,
        &sha,
        false,
    );
}

/// Runs script function `f` (EVAL's body, or a library function's
/// callback when `function`) with `args[3..3 + nk]` as keys and the rest
/// as arguments; `name` is the script's name in error replies.
#[allow(clippy::too_many_arguments)]
fn execute(
    ctx: &mut Ctx<'_>,
    args: &[&[u8]],
    mut guard: parking_lot::MappedMutexGuard<'_, Engine>,
    f: Function,
    nk: usize,
    read_only: bool,
    allow_oom: bool,
    name: &str,
    function: bool,
) {
    let server = ctx.server;
    let scripting = &server.scripting;
    let engine = &mut *guard;
    let sha = name;
    let lua = &engine.lua;
    let build = |items: &[&[u8]]| -> mlua::Result<Table> {
        let t = lua.create_table_with_capacity(items.len(), 0)?;
        for (i, a) in items.iter().enumerate() {
            t.raw_set(i + 1, lua.create_string(a)?)?;
        }
        Ok(t)
    };
    let (keys, argv) = match (build(&args[3..3 + nk]), build(&args[3 + nk..])) {
        (Ok(k), Ok(a)) => (k, a),
        _ => return ctx.out.error("Lua out of memory"),
    };

    // Run it: writes are logged inside MULTI ... EXEC (effects
    // replication), blocking commands do not block, SELECT stays local.
    let db = ctx.client.db;
    let deny = std::mem::replace(&mut ctx.client.deny_blocking, true);
    let outer_exec = std::mem::replace(&mut ctx.client.tx.in_exec, true);
    let changes = ctx.changes.get();
    scripting.kill.store(false, Ordering::Release);
    scripting.wrote.store(false, Ordering::Release);
    if function {
        *scripting.running_fn.lock() = Some((name.to_string(), args.iter().map(|a| a.to_vec()).collect()));
    }
    scripting
        .running_since
        .store(server.keyspace.now_ms().max(1), Ordering::Release);

    let run = RefCell::new(Run {
        ctx: &mut *ctx,
        sha,
        read_only,
        allow_oom,
        dirty: false,
        resp: Resp::V2,
    });
    let result: mlua::Result<bool> = lua.scope(|scope| {
        let call = scope.create_function(|lua, a: MultiValue| {
            let mut r = run.try_borrow_mut().map_err(|_| raise_table(lua, RECURSIVE))?;
            match script_call(&mut r, lua, a)? {
                (v, true) => Err(raise(lua, v)),
                (v, false) => Ok(v),
            }
        })?;
        let pcall = scope.create_function(|lua, a: MultiValue| {
            let mut r = run.try_borrow_mut().map_err(|_| raise_table(lua, RECURSIVE))?;
            Ok(script_call(&mut r, lua, a)?.0)
        })?;
        let setresp = scope.create_function(|lua, a: MultiValue| {
            let mut r = run.try_borrow_mut().map_err(|_| raise_table(lua, RECURSIVE))?;
            if a.len() != 1 {
                return Err(raise_table(lua, "ERR redis.setresp() requires one argument."));
            }
            let n = a
                .into_iter()
                .next()
                .and_then(|v| lua.coerce_number(v).ok().flatten())
                .unwrap_or(0.0) as i64;
            match n {
                2 => r.resp = Resp::V2,
                3 => r.resp = Resp::V3,
                _ => return Err(raise_table(lua, "ERR RESP version must be 2 or 3.")),
            }
            Ok(())
        })?;
        let set_repl = scope.create_function(|lua, a: MultiValue| {
            if a.len() != 1 {
                return Err(raise_table(lua, "ERR redis.set_repl() requires two arguments."));
            }
            let n = a
                .into_iter()
                .next()
                .and_then(|v| lua.coerce_number(v).ok().flatten())
                .unwrap_or(0.0) as i64;
            if n & !3 != 0 {
                return Err(raise_table(
                    lua,
                    "ERR Invalid replication flags. Use REPL_AOF, REPL_REPLICA, REPL_ALL or REPL_NONE.",
                ));
            }
            Ok(())
        })?;
        let redis = &engine.redis;
        redis.raw_set("call", call)?;
        redis.raw_set("pcall", pcall)?;
        redis.raw_set("setresp", setresp)?;
        redis.raw_set("set_repl", set_repl)?;
        let runner = if function { &engine.frun } else { &engine.run };
        let (ok, value): (bool, Value) = runner.call((f, keys, argv))?;
        clear_run_functions(redis)?;
        let mut r = run.try_borrow_mut().map_err(|_| mlua::Error::runtime(RECURSIVE))?;
        let resp = r.resp;
        let sha = r.sha;
        let out = &mut *r.ctx.out;
        // An error that came from redis.call/pcall was counted there
        // (Redis's ignore_error_stats_update).
        let counted = if let Value::Table(t) = &value {
            matches!(
                t.raw_get::<Value>("ignore_error_stats_update"),
                Ok(Value::Boolean(true))
            )
        } else {
            false
        };
        let start = out.len();
        if ok {
            convert::lua_to_reply(out, &value, resp, 0);
        } else {
            convert::script_error(out, &value, sha);
        }
        Ok(counted && out.buf.get(start) == Some(&b'-'))
    });
    let _ = clear_run_functions(&engine.redis);
    *scripting.running_fn.lock() = None;
    let _ = engine.lua.set_named_registry_value(PENDING, Value::Nil);
    let _ = lua.gc_step();
    scripting.lua_memory.store(lua.used_memory() as u64, Ordering::Relaxed);
    drop(guard);
    match result {
        Err(e) => ctx.out.error(&format!("Error running script {sha}, {e}")),
        Ok(true) => {
            // Not counted again; EVAL's own call still failed.
            ctx.out.take_errors();
            if let Some(cmd) = server.commands.resolve(args) {
                cmd.stats.failed_calls.fetch_add(1, Ordering::Relaxed);
            }
        }
        Ok(false) => {}
    }
    scripting.kill.store(false, Ordering::Release);
    scripting.script_ended();
    ctx.client.select(db);
    ctx.client.deny_blocking = deny;
    ctx.client.tx.in_exec = outer_exec;
    if !outer_exec {
        crate::propagate::after_exec(ctx);
    }
    // The script's writes were logged one by one; EVAL itself is not
    // (dispatch logs a command whose context counted changes).
    ctx.changes.set(changes);
}

/// `redis.call` / `redis.pcall`: (value, failed).
fn script_call(r: &mut Run<'_, '_>, lua: &Lua, a: MultiValue) -> mlua::Result<(Value, bool)> {
    let server = r.ctx.server;
    // Errors found before running the command are counted here, once.
    let fail = |msg: &str| -> mlua::Result<(Value, bool)> {
        let mut counted = Reply::new(Resp::V2);
        counted.error(&format!("-{msg}"));
        server.count_errors(&mut counted);
        let t = convert::err_table(lua, msg)?;
        t.raw_set("ignore_error_stats_update", true)?;
        Ok((Value::Table(t), true))
    };
    if a.is_empty() {
        return fail("ERR Please specify at least one argument for this redis lib call");
    }
    let mut argv: Vec<Vec<u8>> = Vec::with_capacity(a.len());
    for v in a.iter() {
        match v {
            Value::String(s) => argv.push(s.as_bytes().to_vec()),
            Value::Integer(n) => argv.push(n.to_string().into_bytes()),
            Value::Number(n) => argv.push(convert::fmt_number(*n).into_bytes()),
            _ => return fail("ERR Lua redis lib command arguments must be strings or integers"),
        }
    }
    let args: Vec<&[u8]> = argv.iter().map(|v| v.as_slice()).collect();
    let Some(cmd) = server.commands.resolve(&args) else {
        return fail("ERR Unknown Redis command called from script");
    };
    let spec = cmd.spec;
    if !spec.subcommands.is_empty() && args.len() >= 2 {
        return fail("ERR Unknown Redis command called from script");
    }
    let argc = args.len() as i32;
    if (spec.arity > 0 && argc != spec.arity) || argc < -spec.arity {
        return fail("ERR Wrong number of args calling Redis command from script");
    }
    if spec.has(flags::NOSCRIPT) {
        return fail("ERR This Redis command is not allowed from script");
    }
    if !r.ctx.client.aof_loader {
        // The log's client-info is the calling client's, running EVAL.
        if let Err(e) = crate::commands::aclcmd::check_in_script(r.ctx, spec, &args, &[b"eval"]) {
            return fail(&e);
        }
    }
    // Redis 7.2 counts may-replicate commands (PFCOUNT) as writes here.
    if (spec.has(flags::WRITE) || spec.has(flags::MAY_REPLICATE)) && r.read_only {
        return fail("ERR Write commands are not allowed from read-only scripts.");
    }
    // Memory over the limit when the script started: its deny-oom
    // commands are refused until it has written (scriptVerifyOOM with
    // pre_command_oom_state), unless it declared `allow-oom`.
    if spec.has(flags::DENYOOM) && r.ctx.client.oom && !r.allow_oom && !r.dirty {
        return fail("OOM command not allowed when used memory > 'maxmemory'.");
    }
    if spec.has(flags::WRITE) && !r.ctx.client.aof_loader {
        // A failed background save or AOF write stops scripts' writes too.
        let denied = if server.persist.writes_denied(server) {
            Some(crate::persist::MISCONF.to_string())
        } else {
            server.aof.write_error()
        };
        if let Some(e) = denied {
            return fail(&String::from_utf8_lossy(&convert::error_text(e.as_bytes())));
        }
    }
    if spec.has(flags::WRITE) {
        r.dirty = true;
    }
    let ctx = &mut *r.ctx;
    let mut scratch = Reply::new(r.resp);
    std::mem::swap(ctx.out, &mut scratch);
    let before = ctx.changes.get();
    let started = Instant::now();
    crate::dispatch::call(ctx, spec, &args, true);
    std::mem::swap(ctx.out, &mut scratch);
    let usec = started.elapsed().as_micros() as u64;
    server.count_call(&mut scratch, cmd, usec);
    server.log_call(spec, &args, usec, None);
    if ctx.changes.get() != before {
        server.scripting.wrote.store(true, Ordering::Release);
    }
    convert::reply_to_lua(lua, &scratch.buf, r.resp)
}
