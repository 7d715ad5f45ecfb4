//! Redis 7 functions (functions.c, function_lua.c): libraries loaded by
//! FUNCTION LOAD into their own Lua state, their functions called by
//! FCALL / FCALL_RO through the same runner as EVAL ([`super::execute`]).
//!
//! A library's code runs once at load with only the library API as
//! globals (`redis.register_function`, `redis.log`, the versions:
//! prelude.lua's `fload`); the registered callbacks keep running with the
//! script globals. The state (libraries, functions, compiled callbacks
//! and the Lua state) is one mutex: FCALL holds it for the function's run,
//! as EVAL holds the EVAL state's.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;

use hashbrown::HashMap;
use mlua::{ChunkMode, Function, Table, Value};
use parking_lot::Mutex;

use super::{Engine, Scripting};
use crate::dispatch::Ctx;

/// Script flags, in Redis's scripts_flags_def order (FUNCTION LIST).
pub const FLAG_NAMES: [&str; 5] = [
    "no-writes",
    "allow-oom",
    "allow-stale",
    "no-cluster",
    "allow-cross-slot-keys",
];
pub const NO_WRITES: u8 = 1;
pub const ALLOW_OOM: u8 = 2;
/// How long a library's code may run at load (Redis's LOAD_TIMEOUT_MS).
const LOAD_TIMEOUT_MS: u64 = 500;

const BAD_NAME: &str =
    "Library names can only contain letters, numbers, or underscores(_) and must be at least one character long";

/// One registered function.
#[derive(Clone, Debug)]
pub struct FunctionInfo {
    pub name: String,
    pub description: Option<Vec<u8>>,
    /// Bit i set: [`FLAG_NAMES`]`[i]`.
    pub flags: u8,
}

/// One library.
#[derive(Clone, Debug)]
pub struct Library {
    pub name: String,
    pub code: Arc<[u8]>,
    pub functions: Vec<FunctionInfo>,
}

/// A function by lowercase name (function names are case-insensitive in
/// Redis, library names are not).
struct Entry {
    name: String,
    lib: String,
    flags: u8,
    callback: Function,
}

#[derive(Default)]
pub(crate) struct Inner {
    engine: Option<Engine>,
    libs: BTreeMap<String, Library>,
    fns: HashMap<String, Entry>,
}

/// The server's function libraries.
#[derive(Default)]
pub struct Functions {
    inner: Mutex<Inner>,
    /// Counts readable while a function runs (FUNCTION STATS).
    libraries: AtomicUsize,
    functions: AtomicUsize,
    /// The functions' Lua state's memory, and the libraries' and
    /// functions' own (INFO memory), as of the last change.
    vm_memory: AtomicU64,
    memory: AtomicU64,
}

/// functionExtractLibMetaData: (engine, library name, where the code
/// after the shebang line starts).
fn metadata(code: &[u8]) -> Result<(String, String, usize), String> {
    if !code.starts_with(b"#!") {
        return Err("Missing library metadata".into());
    }
    let Some(end) = code.iter().position(|&b| b == b'\n') else {
        return Err("Invalid library metadata".into());
    };
    let Some(parts) = larder_protocol::split_args(&code[..end]) else {
        return Err("Invalid library metadata".into());
    };
    let Some(first) = parts.first() else {
        return Err("Invalid library metadata".into());
    };
    let engine = String::from_utf8_lossy(first.get(2..).unwrap_or(b"")).into_owned();
    let mut name = None;
    for part in &parts[1..] {
        if part.len() >= 5 && part[..5].eq_ignore_ascii_case(b"name=") {
            if name.is_some() {
                return Err("Invalid metadata value, name argument was given multiple times".into());
            }
            name = Some(String::from_utf8_lossy(&part[5..]).into_owned());
            continue;
        }
        return Err(format!(
            "Invalid metadata value given: {}",
            String::from_utf8_lossy(part)
        ));
    }
    let Some(name) = name else {
        return Err("Library name was not given".into());
    };
    Ok((engine, name, end))
}

fn valid_name(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// The message of a Lua error value (the handler's `{err=...}` table).
fn error_text(v: &Value) -> String {
    match v {
        Value::Table(t) => match t.raw_get::<Value>("err") {
            Ok(Value::String(s)) => s.to_string_lossy(),
            _ => "ERR unknown error".into(),
        },
        Value::String(s) => s.to_string_lossy(),
        _ => "ERR unknown error".into(),
    }
}

impl Inner {
    fn engine(&mut self, sc: &Scripting) -> Result<&mut Engine, String> {
        if self.engine.is_none() {
            let e = Engine::new(sc.kill.clone(), sc.rand48.clone());
            self.engine = Some(e.map_err(|e| format!("Lua initialisation failed: {e}"))?);
        }
        self.engine
            .as_mut()
            .ok_or_else(|| "Lua initialisation failed".to_string())
    }

    /// functionsCreateWithLibraryCtx: the library's name, or the error.
    fn load(&mut self, sc: &Scripting, code: &[u8], replace: bool) -> Result<String, String> {
        let (engine_name, name, skip) = metadata(code)?;
        if !engine_name.eq_ignore_ascii_case("lua") {
            return Err(format!("Engine '{engine_name}' not found"));
        }
        if !valid_name(&name) {
            return Err(BAD_NAME.into());
        }
        if self.libs.contains_key(&name) && !replace {
            return Err(format!("Library '{name}' already exists"));
        }
        let engine = self.engine(sc)?;
        let chunk = engine
            .lua
            .load(&code[skip..])
            .set_name("@user_function")
            .set_mode(ChunkMode::Text)
            .set_environment(engine.fenv.clone())
            .into_function()
            .map_err(|e| {
                let msg = match e {
                    mlua::Error::SyntaxError { message, .. } => message,
                    other => other.to_string(),
                };
                format!("Error compiling function: {msg}")
            })?;
        // Library code only registers functions: past 500 ms it is
        // stopped (Redis's luaEngineLoadHook).
        let deadline = std::time::Instant::now() + std::time::Duration::from_millis(LOAD_TIMEOUT_MS);
        engine.lua.set_hook(
            mlua::HookTriggers::new().every_nth_instruction(100_000),
            move |lua, _| {
                if std::time::Instant::now() > deadline {
                    Err(super::raise_table(lua, "ERR FUNCTION LOAD timeout"))
                } else {
                    Ok(mlua::VmState::Continue)
                }
            },
        );
        let r: mlua::Result<(bool, Value)> = engine.fload.call(chunk);
        super::kill_hook(&engine.lua, sc.kill.clone());
        let (ok, v) = r.map_err(|e| format!("Error registering functions: {e}"))?;
        let _ = engine.lua.set_named_registry_value(super::PENDING, Value::Nil);
        if !ok {
            return Err(format!("Error registering functions: {}", error_text(&v)));
        }
        let Value::Table(list) = v else {
            return Err("No functions registered".into());
        };
        let mut regs: Vec<(FunctionInfo, Function)> = Vec::new();
        for t in list.sequence_values::<Table>() {
            let t = t.map_err(|e| e.to_string())?;
            let fname: String = t.raw_get("name").map_err(|e| e.to_string())?;
            let callback: Function = t.raw_get("callback").map_err(|e| e.to_string())?;
            let ftable: Table = t.raw_get("flags").map_err(|e| e.to_string())?;
            let mut flags = 0u8;
            for (i, n) in FLAG_NAMES.iter().enumerate() {
                if ftable.raw_get::<bool>(*n).unwrap_or(false) {
                    flags |= 1 << i;
                }
            }
            let description = match t.raw_get::<Value>("description") {
                Ok(Value::String(s)) => Some(s.as_bytes().to_vec()),
                _ => None,
            };
            regs.push((
                FunctionInfo {
                    name: fname,
                    description,
                    flags,
                },
                callback,
            ));
        }
        if regs.is_empty() {
            return Err("No functions registered".into());
        }
        for (f, _) in &regs {
            if self
                .fns
                .get(&f.name.to_ascii_lowercase())
                .is_some_and(|e| e.lib != name)
            {
                return Err(format!("Function {} already exists", f.name));
            }
        }
        self.remove(&name);
        let mut infos = Vec::with_capacity(regs.len());
        for (info, callback) in regs {
            self.fns.insert(
                info.name.to_ascii_lowercase(),
                Entry {
                    name: info.name.clone(),
                    lib: name.clone(),
                    flags: info.flags,
                    callback,
                },
            );
            infos.push(info);
        }
        self.libs.insert(
            name.clone(),
            Library {
                name: name.clone(),
                code: code.into(),
                functions: infos,
            },
        );
        Ok(name)
    }

    fn remove(&mut self, name: &str) -> bool {
        match self.libs.remove(name) {
            Some(old) => {
                for f in &old.functions {
                    self.fns.remove(&f.name.to_ascii_lowercase());
                }
                true
            }
            None => false,
        }
    }
}

/// Restore policies of FUNCTION RESTORE.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Policy {
    Flush,
    Append,
    Replace,
}

impl Functions {
    fn counted(&self, inner: &Inner) {
        self.libraries.store(inner.libs.len(), Ordering::Relaxed);
        self.functions.store(inner.fns.len(), Ordering::Relaxed);
        let vm = inner.engine.as_ref().map_or(0, |e| e.lua.used_memory());
        self.vm_memory.store(vm as u64, Ordering::Relaxed);
        let own: usize = inner
            .libs
            .values()
            .map(|l| {
                l.code.len()
                    + l.name.len()
                    + 64
                    + l.functions
                        .iter()
                        .map(|f| f.name.len() + f.description.as_ref().map_or(0, Vec::len) + 64)
                        .sum::<usize>()
            })
            .sum();
        self.memory.store(own as u64, Ordering::Relaxed);
    }

    /// (Lua state bytes, libraries' bytes).
    pub fn memory(&self) -> (u64, u64) {
        (
            self.vm_memory.load(Ordering::Relaxed),
            self.memory.load(Ordering::Relaxed),
        )
    }

    /// (libraries, functions).
    pub fn counts(&self) -> (usize, usize) {
        (
            self.libraries.load(Ordering::Relaxed),
            self.functions.load(Ordering::Relaxed),
        )
    }

    /// FUNCTION LOAD: the library's name or the error message.
    pub fn load(&self, sc: &Scripting, code: &[u8], replace: bool) -> Result<String, String> {
        let mut inner = self.inner.lock();
        let r = inner.load(sc, code, replace);
        self.counted(&inner);
        r
    }

    /// FUNCTION DELETE.
    pub fn delete(&self, name: &str) -> bool {
        let mut inner = self.inner.lock();
        let r = inner.remove(name);
        self.counted(&inner);
        r
    }

    /// FUNCTION FLUSH (and a fresh Lua state).
    pub fn flush(&self) {
        let old = std::mem::take(&mut *self.inner.lock());
        drop(old);
        self.libraries.store(0, Ordering::Relaxed);
        self.functions.store(0, Ordering::Relaxed);
        self.vm_memory.store(0, Ordering::Relaxed);
        self.memory.store(0, Ordering::Relaxed);
    }

    /// The libraries (FUNCTION LIST, DUMP, saves), by name.
    pub fn libraries(&self) -> Vec<Library> {
        self.inner.lock().libs.values().cloned().collect()
    }

    /// The FUNCTION2 records of an RDB file (rdbSaveFunctions).
    pub fn rdb_records(&self, compress: bool) -> Vec<u8> {
        let mut out = Vec::new();
        for lib in self.libraries() {
            out.push(larder_engine::rdb::opcodes::FUNCTION2);
            larder_engine::rdb::write_string(&mut out, &lib.code, compress);
        }
        out
    }

    /// FUNCTION DUMP's payload: a FUNCTION2 record per library, then the
    /// RDB version and CRC64 as DUMP's.
    pub fn dump(&self) -> Vec<u8> {
        use larder_engine::rdb;
        let mut out = self.rdb_records(true);
        out.extend_from_slice(&rdb::RDB_VERSION.to_le_bytes());
        let crc = rdb::crc64(&out);
        out.extend_from_slice(&crc.to_le_bytes());
        out
    }

    /// FUNCTION RESTORE: the libraries' codes in `payload`, joined with
    /// the current ones per `policy` (all or nothing: the result is built
    /// in a new Lua state, swapped in on success).
    pub fn restore(&self, sc: &Scripting, payload: &[u8], policy: Policy) -> Result<(), String> {
        use larder_engine::rdb;
        if !rdb::verify_payload(payload, false) {
            return Err("DUMP payload version or checksum are wrong".into());
        }
        let body = &payload[..payload.len() - 10];
        let mut input = rdb::Input::new(body);
        let mut codes: Vec<Vec<u8>> = Vec::new();
        while (input.position() as usize) < body.len() {
            let ty = input
                .u8()
                .map_err(|_| "DUMP payload version or checksum are wrong".to_string())?;
            if ty == rdb::opcodes::FUNCTION_PRE_GA {
                return Err("Pre-GA function format not supported".into());
            }
            if ty != rdb::opcodes::FUNCTION2 {
                return Err("given type is not a function".into());
            }
            codes.push(
                input
                    .string()
                    .map_err(|_| "Failed loading library: bad payload".to_string())?,
            );
        }
        self.install(sc, codes, policy)
    }

    /// Builds the library set of `policy` applied to `codes` in a fresh
    /// state and swaps it in.
    pub fn install(&self, sc: &Scripting, codes: Vec<Vec<u8>>, policy: Policy) -> Result<(), String> {
        let mut inner = self.inner.lock();
        let mut new = Inner::default();
        let mut names = Vec::new();
        for code in &codes {
            names.push(metadata(code).map(|m| m.1).unwrap_or_default());
        }
        if policy != Policy::Flush {
            for lib in inner.libs.values() {
                if names.contains(&lib.name) {
                    if policy == Policy::Append {
                        return Err(format!("Library {} already exists", lib.name));
                    }
                    continue;
                }
                new.load(sc, &lib.code, false)?;
            }
        }
        for code in &codes {
            new.load(sc, code, policy == Policy::Flush)?;
        }
        let old = std::mem::replace(&mut *inner, new);
        self.counted(&inner);
        drop(inner);
        drop(old);
        Ok(())
    }
}

/// FCALL / FCALL_RO.
pub fn fcall(ctx: &mut Ctx<'_>, args: &[&[u8]], read_only: bool) {
    let server = ctx.server;
    let sc = &server.scripting;
    let guard = sc.functions.inner.lock();
    let Some(entry) = guard.fns.get(&String::from_utf8_lossy(args[1]).to_ascii_lowercase()) else {
        return ctx.out.error("Function not found");
    };
    let Some(numkeys) = crate::util::parse_i64(args[2]) else {
        return ctx.out.error("Bad number of keys provided");
    };
    if numkeys > (args.len() - 3) as i64 {
        return ctx.out.error("Number of keys can't be greater than number of args");
    }
    if numkeys < 0 {
        return ctx.out.error("Number of keys can't be negative");
    }
    let no_writes = entry.flags & NO_WRITES != 0;
    let allow_oom = entry.flags & ALLOW_OOM != 0;
    if read_only && !no_writes {
        return ctx
            .out
            .error("Can not execute a script with write flag using *_ro command.");
    }
    let f = entry.callback.clone();
    let name = entry.name.clone();
    let Ok(engine) = parking_lot::MutexGuard::try_map(guard, |g| g.engine.as_mut()) else {
        return ctx.out.error("Lua initialisation failed");
    };
    super::execute(
        ctx,
        args,
        engine,
        f,
        numkeys as usize,
        no_writes,
        allow_oom,
        &name,
        true,
    );
}

/// Whether FCALL `args` may write (CLIENT PAUSE WRITE holds it).
pub fn may_write(server: &crate::server::Server, args: &[&[u8]]) -> bool {
    let Some(&name) = args.get(1) else {
        return false;
    };
    // Locked by a running function (or a load): assume the worst rather
    // than wait for it on an I/O thread.
    let Some(inner) = server.scripting.functions.inner.try_lock() else {
        return true;
    };
    inner
        .fns
        .get(&String::from_utf8_lossy(name).to_ascii_lowercase())
        .is_none_or(|e| e.flags & NO_WRITES == 0)
}

/// The flags function `name` declares, if it exists.
pub fn declared_flags(server: &crate::server::Server, name: &[u8]) -> Option<super::ScriptFlags> {
    // Waits for a running function: the caller (dispatch, off the I/O
    // threads) would wait for it anyway.
    let inner = server.scripting.functions.inner.lock();
    let e = inner.fns.get(&String::from_utf8_lossy(name).to_ascii_lowercase())?;
    Some(super::ScriptFlags {
        declared: true,
        no_writes: e.flags & NO_WRITES != 0,
        allow_oom: e.flags & ALLOW_OOM != 0,
        skip: 0,
    })
}
