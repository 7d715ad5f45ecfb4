-- Larder's Lua sandbox, run once when the Lua state is created (the
-- Rust side is scripting/mod.rs). Arguments: the real globals table, the
-- table of Rust helpers, and `rt`, the per-run table where the Rust side
-- puts the functions that need the running script's context (call,
-- setresp, set_repl) for the length of one script.
local G, lib, rt = ...
local dbg = G.debug
local type, tostring, error, select, unpack, rawget, rawset, setmetatable =
    G.type, G.tostring, G.error, G.select, G.unpack, G.rawget, G.rawset, G.setmetatable
local rawpcall, sfind, ssub, sgsub = G.pcall, G.string.find, G.string.sub, G.string.gsub

local function pack(...) return {n = select('#', ...), ...} end

-- Redis's luaPushErrorBuff: "-CODE msg" or "msg" to "CODE msg".
local function errtext(s)
  local code, msg
  if ssub(s, 1, 1) == '-' then
    local sp = sfind(s, ' ', 1, true)
    if sp then
      code, msg = ssub(s, 2, sp - 1), ssub(s, sp + 1)
    else
      code, msg = 'ERR', ssub(s, 2)
    end
  else
    code, msg = 'ERR', s
  end
  msg = sgsub(sgsub(msg, '^[\r\n]+', ''), '[\r\n]+$', '')
  return code .. ' ' .. msg
end

-- The error handler every script runs under (Redis's
-- __redis__err__handler): errors become {err=, source=, line=}, the
-- position being the first Lua frame of the script (not this file's).
local function handler(err)
  local lvl = 2
  local i = dbg.getinfo(lvl, 'nSl')
  while i and (i.what == 'C' or i.source == '=larder') do
    lvl = lvl + 1
    i = dbg.getinfo(lvl, 'nSl')
  end
  if type(err) == 'userdata' then
    local p = lib.take_pending()
    if p ~= nil then err = p end
  end
  if lib.killed() then
    err = {err = 'ERR Script killed by user with SCRIPT KILL...'}
  elseif type(err) ~= 'table' then
    err = {err = 'ERR ' .. tostring(err)}
  end
  if i then
    err['source'] = i.source
    err['line'] = i.currentline
  end
  return err
end

-- call, pcall, setresp and set_repl are set by the Rust side for each run.
local redis = {}
redis.sha1hex = lib.sha1hex
redis.error_reply = function(...)
  local s = ...
  if select('#', ...) ~= 1 or type(s) ~= 'string' then
    return {err = 'ERR wrong number or type of arguments'}
  end
  if ssub(s, 1, 1) ~= '-' then s = '-' .. s end
  return {err = errtext(s)}
end
redis.status_reply = function(...)
  local s = ...
  if select('#', ...) ~= 1 or type(s) ~= 'string' then
    return {err = 'ERR wrong number or type of arguments'}
  end
  return {ok = s}
end
redis.log = lib.log
redis.LOG_DEBUG, redis.LOG_VERBOSE, redis.LOG_NOTICE, redis.LOG_WARNING = 0, 1, 2, 3
redis.REPL_NONE, redis.REPL_AOF, redis.REPL_SLAVE, redis.REPL_REPLICA, redis.REPL_ALL = 0, 1, 2, 2, 3
redis.replicate_commands = function() return true end
redis.breakpoint = function() return false end
redis.debug = function() end
redis.acl_check_cmd = function(...)
  if select('#', ...) == 0 then
    error({err = 'ERR Please specify at least one argument for this redis lib call'})
  end
  return true
end
redis.REDIS_VERSION = lib.version
redis.REDIS_VERSION_NUM = lib.version_num

-- Redis's pcall: an error table is returned as its message.
local function pcall(f, ...)
  local r = pack(rawpcall(f, ...))
  -- SCRIPT KILL's error is not caught.
  if not r[1] and lib.killed() then error(r[2], 0) end
  if not r[1] and type(r[2]) == 'userdata' then
    local p = lib.take_pending()
    if p ~= nil then r[2] = p end
  end
  if not r[1] and type(r[2]) == 'table' and type(r[2].err) == 'string' then
    return false, r[2].err
  end
  return unpack(r, 1, r.n)
end

-- Read-only proxies: reads go to the real table, writes fail as Redis 7's
-- read-only tables do.
local function readonly(real, missing_is_error)
  local mt = {
    __newindex = function() error('Attempt to modify a readonly table', 2) end,
    __metatable = false,
  }
  if missing_is_error then
    mt.__index = function(_, k)
      local v = rawget(real, k)
      if v == nil then
        error("Script attempted to access nonexistent global variable '" .. tostring(k) .. "'", 2)
      end
      return v
    end
  else
    mt.__index = real
  end
  return setmetatable({}, mt)
end

-- The globals scripts see.
local env = {}
for _, name in G.ipairs({'tostring', 'getfenv', 'setmetatable', 'next', 'assert',
    'tonumber', 'rawequal', 'collectgarbage', 'getmetatable', 'rawset', 'type',
    'select', 'unpack', 'gcinfo', 'pairs', 'rawget', 'ipairs', '_VERSION',
    'setfenv', 'error', 'newproxy'}) do
  env[name] = G[name]
end
env.pcall = pcall
local rawxpcall = G.xpcall
env.xpcall = function(f, h)
  local r = pack(rawxpcall(f, function(e)
    if lib.killed() then return e end
    if type(e) == 'userdata' then
      local p = lib.take_pending()
      if p ~= nil then e = p end
    end
    return h(e)
  end))
  if not r[1] and lib.killed() then error(r[2], 0) end
  return unpack(r, 1, r.n)
end
-- Chunks loaded by a script run in the script's globals too.
local proxy
env.loadstring = function(...)
  local f, e = G.loadstring(...)
  if f then G.setfenv(f, proxy) end
  return f, e
end
env.load = function(...)
  local f, e = G.load(...)
  if f then G.setfenv(f, proxy) end
  return f, e
end
-- Coroutines run under the SCRIPT KILL check too (the Rust hook is the
-- main thread's).
local co = {}
for k, v in G.pairs(G.coroutine) do co[k] = v end
local cocreate, coresume, sethook = G.coroutine.create, G.coroutine.resume, dbg.sethook
local function killhook()
  if lib.killed() then error('Script killed by user with SCRIPT KILL...', 0) end
end
co.create = function(f)
  local c = cocreate(f)
  sethook(c, killhook, '', 1000)
  return c
end
co.wrap = function(f)
  local c = co.create(f)
  return function(...)
    local r = pack(coresume(c, ...))
    if not r[1] then error(r[2], type(r[2]) == 'string' and 2 or 0) end
    return unpack(r, 2, r.n)
  end
end
env.coroutine = readonly(co)
env.string = readonly(G.string)
env.table = readonly(G.table)
env.math = readonly(G.math)
env.redis = readonly(redis)
env.cjson = readonly(lib.cjson)
env.bit = readonly(lib.bit)
env.cmsgpack = readonly(lib.cmsgpack)
env.struct = readonly(lib.struct)
env.os = readonly({clock = G.os.clock})
proxy = readonly(env, true)
env._G = proxy

-- Runs one script function `f` with KEYS and ARGV set: (true, result) or
-- (false, error table).
local function run(f, keys, argv)
  env.KEYS, env.ARGV = keys, argv
  return G.xpcall(f, handler)
end

-- FUNCTION libraries (Redis's function_lua.c). While a library's code
-- runs at FUNCTION LOAD, `floading` collects its registrations and the
-- globals are only the library API (`redis.register_function`, `log`,
-- the versions); callbacks run later with the script globals.
local floading
local FFLAGS = {['no-writes'] = true, ['allow-oom'] = true, ['allow-stale'] = true,
  ['no-cluster'] = true, ['allow-cross-slot-keys'] = true}
local slower = G.string.lower
local function ferr(m) error({err = 'ERR ' .. m}) end
local function isstr(v) return type(v) == 'string' or type(v) == 'number' end
local lredis = {}
lredis.register_function = function(...)
  local regs = floading
  if not regs then ferr('redis.register_function can only be called on FUNCTION LOAD command') end
  local n = select('#', ...)
  if n < 1 or n > 2 then ferr('wrong number of arguments to redis.register_function') end
  local name, cb, flags, desc = nil, nil, {}, nil
  if n == 2 then
    local a, b = ...
    if not isstr(a) then ferr('first argument to redis.register_function must be a string') end
    if type(b) ~= 'function' then ferr('second argument to redis.register_function must be a function') end
    name, cb = tostring(a), b
  else
    local t = ...
    if type(t) ~= 'table' then
      ferr('calling redis.register_function with a single argument is only applicable to Lua table (representing named arguments).')
    end
    for k, v in G.pairs(t) do
      if not isstr(k) then ferr('named argument key given to redis.register_function is not a string') end
      local key = slower(tostring(k))
      if key == 'function_name' then
        if not isstr(v) then ferr('function_name argument given to redis.register_function must be a string') end
        name = tostring(v)
      elseif key == 'description' then
        if not isstr(v) then ferr('description argument given to redis.register_function must be a string') end
        desc = tostring(v)
      elseif key == 'callback' then
        if type(v) ~= 'function' then ferr('callback argument given to redis.register_function must be a function') end
        cb = v
      elseif key == 'flags' then
        if type(v) ~= 'table' then
          ferr('flags argument to redis.register_function must be a table representing function flags')
        end
        local j = 1
        while v[j] ~= nil do
          local f = v[j]
          if not isstr(f) or not FFLAGS[slower(tostring(f))] then ferr('unknown flag given') end
          flags[slower(tostring(f))] = true
          j = j + 1
        end
      else
        ferr('unknown argument given to redis.register_function')
      end
    end
    if not name then ferr('redis.register_function must get a function name argument') end
    if not cb then ferr('redis.register_function must get a callback argument') end
  end
  -- Redis checks function names with the library names' message.
  if not sfind(name, '^[%w_]+$') then
    ferr('Library names can only contain letters, numbers, or underscores(_) and must be at least one character long')
  end
  if regs.seen[name] then ferr('Function already exists in the library') end
  regs.seen[name] = true
  regs.list[#regs.list + 1] = {name = name, callback = cb, flags = flags, description = desc}
end
lredis.log = lib.log
lredis.LOG_DEBUG, lredis.LOG_VERBOSE, lredis.LOG_NOTICE, lredis.LOG_WARNING = 0, 1, 2, 3
lredis.REDIS_VERSION = lib.version
lredis.REDIS_VERSION_NUM = lib.version_num
local loadapi = {redis = readonly(lredis, true)}
-- The globals of library code: the load API while loading, the script
-- globals afterwards (Redis swaps the globals' __index the same way).
local fproxy = setmetatable({}, {
  __newindex = function() error('Attempt to modify a readonly table', 2) end,
  __metatable = false,
  __index = function(_, k)
    local v = rawget(floading and loadapi or env, k)
    if v == nil then
      error("Script attempted to access nonexistent global variable '" .. tostring(k) .. "'", 2)
    end
    return v
  end,
})

-- Runs a library's compiled chunk: (true, registrations) or (false, error table).
local function fload(chunk)
  floading = {seen = {}, list = {}}
  local ok, r = G.xpcall(chunk, handler)
  local regs = floading
  floading = nil
  if ok then return true, regs.list end
  return false, r
end

-- Runs a function's callback with its keys and args tables.
local function frun(f, keys, argv)
  return G.xpcall(function() return f(keys, argv) end, handler)
end

-- Nothing unsafe stays reachable through getfenv(0).
G.debug, G.os, G.print, G.dofile, G.loadfile, G.require, G.package, G.io = nil, nil, nil, nil, nil, nil, nil, nil
return run, proxy, redis, fload, frun, fproxy
