//! Conversions between RESP replies and Lua values, as Redis's
//! script_lua.c does them (redisProtocolToLuaType, luaReplyToRedisReply).

use larder_protocol::{parse_frame, Frame, Reply, Resp};
use mlua::{Lua, Table, Value};

/// Tables nested deeper than this are answered with an error (Redis
/// fails on its Lua stack limit).
const MAX_DEPTH: usize = 1000;

/// A Lua number as an argument: `%.17g`, as Redis formats it.
pub fn fmt_number(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 1e15 && !(n == 0.0 && n.is_sign_negative()) {
        return (n as i64).to_string();
    }
    larder_engine::rdb::fmt_17g(n)
}

/// Redis's luaPushErrorBuff text: "-CODE msg" or "msg" -> "CODE msg".
pub fn error_text(raw: &[u8]) -> Vec<u8> {
    let (code, msg): (&[u8], &[u8]) = match raw.strip_prefix(b"-") {
        Some(rest) => match rest.iter().position(|&b| b == b' ') {
            Some(sp) => (&rest[..sp], &rest[sp + 1..]),
            None => (b"ERR", rest),
        },
        None => (b"ERR", raw),
    };
    let start = msg.iter().position(|&b| b != b'\r' && b != b'\n').unwrap_or(msg.len());
    let end = msg
        .iter()
        .rposition(|&b| b != b'\r' && b != b'\n')
        .map_or(start, |e| e + 1);
    let mut out = code.to_vec();
    out.push(b' ');
    out.extend_from_slice(&msg[start..end.max(start)]);
    out
}

/// `{err = msg}` (msg already "CODE text").
pub fn err_table(lua: &Lua, msg: &str) -> mlua::Result<Table> {
    let t = lua.create_table()?;
    t.raw_set("err", msg)?;
    Ok(t)
}

/// A command's reply bytes to the Lua value `redis.call` returns, and
/// whether it was an error.
pub fn reply_to_lua(lua: &Lua, buf: &[u8], resp: Resp) -> mlua::Result<(Value, bool)> {
    match parse_frame(buf) {
        Ok(Some((frame, _))) => {
            let failed = matches!(frame, Frame::Error(_));
            Ok((frame_to_lua(lua, frame, resp)?, failed))
        }
        _ => Ok((Value::Boolean(false), false)),
    }
}

fn frame_to_lua(lua: &Lua, frame: Frame, resp: Resp) -> mlua::Result<Value> {
    Ok(match frame {
        Frame::Integer(n) => Value::Number(n as f64),
        Frame::Bulk(b) => Value::String(lua.create_string(&b)?),
        Frame::Null => {
            if resp == Resp::V3 {
                Value::Nil
            } else {
                Value::Boolean(false)
            }
        }
        Frame::Simple(s) => {
            let t = lua.create_table()?;
            t.raw_set("ok", lua.create_string(&s)?)?;
            Value::Table(t)
        }
        Frame::Error(e) => {
            let mut raw = b"-".to_vec();
            raw.extend_from_slice(&e);
            let t = lua.create_table()?;
            t.raw_set("err", lua.create_string(error_text(&raw))?)?;
            t.raw_set("ignore_error_stats_update", true)?;
            Value::Table(t)
        }
        Frame::Array(items) | Frame::Push(items) => {
            let t = lua.create_table_with_capacity(items.len(), 0)?;
            for (i, f) in items.into_iter().enumerate() {
                t.raw_set(i + 1, frame_to_lua(lua, f, resp)?)?;
            }
            Value::Table(t)
        }
        Frame::Map(pairs) => {
            let inner = lua.create_table()?;
            for (k, v) in pairs {
                let k = frame_to_lua(lua, k, resp)?;
                let v = frame_to_lua(lua, v, resp)?;
                if !k.is_nil() {
                    inner.raw_set(k, v)?;
                }
            }
            let t = lua.create_table()?;
            t.raw_set("map", inner)?;
            Value::Table(t)
        }
        Frame::Set(items) => {
            let inner = lua.create_table()?;
            for f in items {
                let k = frame_to_lua(lua, f, resp)?;
                if !k.is_nil() {
                    inner.raw_set(k, true)?;
                }
            }
            let t = lua.create_table()?;
            t.raw_set("set", inner)?;
            Value::Table(t)
        }
        Frame::Double(d) => {
            let t = lua.create_table()?;
            t.raw_set("double", d)?;
            Value::Table(t)
        }
        Frame::Boolean(b) => Value::Boolean(b),
        Frame::BigNumber(n) => {
            let t = lua.create_table()?;
            t.raw_set("big_number", lua.create_string(&n)?)?;
            Value::Table(t)
        }
        Frame::Verbatim(s) => {
            let inner = lua.create_table()?;
            inner.raw_set("string", lua.create_string(&s)?)?;
            inner.raw_set("format", "txt")?;
            let t = lua.create_table()?;
            t.raw_set("verbatim_string", inner)?;
            Value::Table(t)
        }
    })
}

fn number(v: &Value) -> Option<f64> {
    match v {
        Value::Integer(n) => Some(*n as f64),
        Value::Number(n) => Some(*n),
        _ => None,
    }
}

fn string_field(t: &Table, name: &str) -> Option<Vec<u8>> {
    match t.raw_get::<Value>(name).ok()? {
        Value::String(s) => Some(s.as_bytes().to_vec()),
        _ => None,
    }
}

fn lua_string_like(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.to_string_lossy()),
        Value::Integer(n) => Some(n.to_string()),
        Value::Number(n) => Some(fmt_number(*n)),
        _ => None,
    }
}

/// The value a script returned, as its reply (luaReplyToRedisReply);
/// `resp` is the protocol the script chose with `redis.setresp`.
pub fn lua_to_reply(out: &mut Reply, v: &Value, resp: Resp, depth: usize) {
    if depth > MAX_DEPTH {
        return out.error("reached lua stack limit");
    }
    match v {
        Value::String(s) => out.bulk(&s.as_bytes()),
        Value::Boolean(b) => {
            if resp == Resp::V2 {
                if *b {
                    out.integer(1)
                } else {
                    out.null()
                }
            } else {
                out.boolean(*b)
            }
        }
        Value::Integer(n) => out.integer(*n),
        Value::Number(n) => out.integer(c_double_to_ll(*n)),
        Value::Table(t) => table_to_reply(out, t, resp, depth),
        _ => out.null(),
    }
}

fn table_to_reply(out: &mut Reply, t: &Table, resp: Resp, depth: usize) {
    if let Some(err) = string_field(t, "err") {
        let mut msg = b"-".to_vec();
        msg.extend_from_slice(&err);
        return out.error_bytes(&msg);
    }
    if let Some(ok) = string_field(t, "ok") {
        out.buf.push(b'+');
        out.buf
            .extend(ok.iter().map(|&b| if b == b'\r' || b == b'\n' { b' ' } else { b }));
        out.buf.extend_from_slice(b"\r\n");
        return;
    }
    if let Ok(Value::Number(d)) = t.raw_get::<Value>("double") {
        return out.double(d);
    }
    if let Ok(Value::Integer(d)) = t.raw_get::<Value>("double") {
        return out.double(d as f64);
    }
    if let Some(n) = string_field(t, "big_number") {
        let n: String = String::from_utf8_lossy(&n)
            .chars()
            .map(|c| if c == '\r' || c == '\n' { ' ' } else { c })
            .collect();
        return out.big_number(&n);
    }
    if let Ok(Value::Table(vt)) = t.raw_get::<Value>("verbatim_string") {
        if let (Some(_), Some(s)) = (string_field(&vt, "format"), string_field(&vt, "string")) {
            return out.verbatim(&String::from_utf8_lossy(&s));
        }
    }
    if let Ok(Value::Table(m)) = t.raw_get::<Value>("map") {
        let pairs: Vec<(Value, Value)> = m.pairs::<Value, Value>().filter_map(|p| p.ok()).collect();
        out.map(pairs.len());
        for (k, v) in &pairs {
            lua_to_reply(out, k, resp, depth + 1);
            lua_to_reply(out, v, resp, depth + 1);
        }
        return;
    }
    if let Ok(Value::Table(s)) = t.raw_get::<Value>("set") {
        let keys: Vec<Value> = s
            .pairs::<Value, Value>()
            .filter_map(|p| p.ok().map(|(k, _)| k))
            .collect();
        out.set(keys.len());
        for k in &keys {
            lua_to_reply(out, k, resp, depth + 1);
        }
        return;
    }
    // An array, up to the first nil.
    let mut items = Vec::new();
    loop {
        match t.raw_get::<Value>(items.len() + 1) {
            Ok(Value::Nil) | Err(_) => break,
            Ok(v) => items.push(v),
        }
    }
    out.array(items.len());
    for v in &items {
        lua_to_reply(out, v, resp, depth + 1);
    }
}

/// A script's error (the table the error handler built) as the reply:
/// "-CODE msg script: <sha>, on @user_script:<line>." as Redis 7.
pub fn script_error(out: &mut Reply, v: &Value, sha: &str) {
    let Value::Table(t) = v else {
        let msg = lua_string_like(v).unwrap_or_else(|| "execution failure".to_string());
        let msg: String = msg.chars().take(100).collect();
        return out.error(&format!("Error running script {sha}, {msg}"));
    };
    let mut msg = b"-".to_vec();
    match t.raw_get::<Value>("err") {
        Ok(e) => match lua_string_like(&e) {
            Some(s) => msg.extend_from_slice(s.as_bytes()),
            None => msg.extend_from_slice(b"ERR unknown error"),
        },
        Err(_) => msg.extend_from_slice(b"ERR unknown error"),
    }
    let source = t.raw_get::<Value>("source").ok().and_then(|v| lua_string_like(&v));
    let line = t
        .raw_get::<Value>("line")
        .ok()
        .and_then(|v| number(&v).map(fmt_number).or_else(|| lua_string_like(&v)));
    if let (Some(source), Some(line)) = (source, line) {
        msg.extend_from_slice(format!(" script: {sha}, on {source}:{line}.").as_bytes());
    }
    out.error_bytes(&msg);
}

/// C's `(long long)` of a double as Redis's x86-64 builds compute it
/// (cvttsd2si): truncation toward zero, and for NaN or a value outside
/// the i64 range the "integer indefinite" value, i64::MIN (Rust's `as`
/// saturates instead). So `return 2^63` answers -9223372036854775808,
/// as Redis does.
pub fn c_double_to_ll(d: f64) -> i64 {
    const LIMIT: f64 = 9_223_372_036_854_775_808.0; // 2^63
    if d.is_nan() || !(-LIMIT..LIMIT).contains(&d) {
        i64::MIN
    } else {
        d as i64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_texts() {
        assert_eq!(error_text(b"-WRONGTYPE Operation"), b"WRONGTYPE Operation");
        assert_eq!(error_text(b"-x"), b"ERR x");
        assert_eq!(error_text(b"plain msg\r\n"), b"ERR plain msg");
    }

    #[test]
    fn numbers() {
        assert_eq!(fmt_number(3.0), "3");
        assert_eq!(fmt_number(-7.0), "-7");
        assert_eq!(fmt_number(0.5), "0.5");
    }
}
