//! The libraries Redis bundles with its Lua (none is part of Lua 5.1):
//! `cjson`, `bit` (LuaBitOp), `cmsgpack` and `struct`, written in Rust.
//!
//! Errors are raised as `luaL_error` raises them from C: the message
//! prefixed with the calling script's position.

pub mod bit;
pub mod cjson;
pub mod cmsgpack;
pub mod struct_;

use mlua::{Lua, MultiValue, Table, Value};

/// A library function: the arguments, then the results or an error
/// message.
pub type LibFn = fn(&Lua, &[Value]) -> Result<Vec<Value>, String>;

/// Builds a module table of functions that raise their errors as
/// `luaL_error` does (prefixed with the caller's position).
pub fn module(lua: &Lua, fns: &[(&'static str, LibFn)]) -> mlua::Result<Table> {
    let t = lua.create_table()?;
    for &(name, f) in fns {
        let func = lua.create_function(move |lua, args: MultiValue| {
            let args: Vec<Value> = args.into_iter().collect();
            match f(lua, &args) {
                Ok(vals) => Ok(MultiValue::from_iter(vals)),
                Err(msg) => Err(super::raise(lua, format!("{}{}", super::where_(lua), msg))),
            }
        })?;
        t.raw_set(name, func)?;
    }
    Ok(t)
}

/// Lua's type name of an argument ("no value" when absent).
pub fn type_name(v: Option<&Value>) -> &'static str {
    match v {
        None => "no value",
        Some(Value::Nil) => "nil",
        Some(Value::Boolean(_)) => "boolean",
        Some(Value::Integer(_)) | Some(Value::Number(_)) => "number",
        Some(Value::String(_)) => "string",
        Some(Value::Table(_)) => "table",
        Some(Value::Function(_)) => "function",
        Some(Value::Thread(_)) => "thread",
        Some(_) => "userdata",
    }
}

/// Lua 5.1's string-to-number conversion (decimal or hex, spaces around).
pub fn str_to_number(s: &[u8]) -> Option<f64> {
    let s = std::str::from_utf8(s).ok()?.trim();
    if s.is_empty() {
        return None;
    }
    let (neg, body) = match s.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    if let Some(hex) = body.strip_prefix("0x").or_else(|| body.strip_prefix("0X")) {
        let v = u64::from_str_radix(hex, 16).ok()? as f64;
        return Some(if neg { -v } else { v });
    }
    if s.contains(|c: char| c.is_ascii_alphabetic() && c != 'e' && c != 'E') {
        return None;
    }
    s.parse::<f64>().ok()
}

/// `luaL_checknumber`: argument `i` (0-based) of function `fname`.
pub fn check_number(args: &[Value], i: usize, fname: &str) -> Result<f64, String> {
    match args.get(i) {
        Some(Value::Integer(n)) => Ok(*n as f64),
        Some(Value::Number(n)) => Ok(*n),
        Some(Value::String(s)) => {
            if let Some(n) = str_to_number(&s.as_bytes()) {
                return Ok(n);
            }
            Err(bad_arg(i, fname, "number", args.get(i)))
        }
        other => Err(bad_arg(i, fname, "number", other)),
    }
}

/// `luaL_checklstring`: a string (numbers are converted).
pub fn check_string(args: &[Value], i: usize, fname: &str) -> Result<Vec<u8>, String> {
    match args.get(i) {
        Some(Value::String(s)) => Ok(s.as_bytes().to_vec()),
        Some(Value::Integer(n)) => Ok(n.to_string().into_bytes()),
        Some(Value::Number(n)) => Ok(lua_number_string(*n).into_bytes()),
        other => Err(bad_arg(i, fname, "string", other)),
    }
}

/// "bad argument #N to 'f' (T expected, got U)".
pub fn bad_arg(i: usize, fname: &str, expected: &str, got: Option<&Value>) -> String {
    format!(
        "bad argument #{} to '{}' ({} expected, got {})",
        i + 1,
        fname,
        expected,
        type_name(got)
    )
}

/// A number as Lua 5.1's `tostring` prints it (`%.14g`).
pub fn lua_number_string(n: f64) -> String {
    if n.is_nan() {
        return if n.is_sign_negative() {
            "-nan".into()
        } else {
            "nan".into()
        };
    }
    if n.is_infinite() {
        return if n < 0.0 { "-inf".into() } else { "inf".into() };
    }
    if n.fract() == 0.0 && n.abs() < 1e14 && !(n == 0.0 && n.is_sign_negative()) {
        return format!("{}", n as i64);
    }
    fmt_g(n, 14)
}

/// C's `%.<prec>g`.
pub fn fmt_g(n: f64, prec: usize) -> String {
    if n == 0.0 {
        return if n.is_sign_negative() { "-0".into() } else { "0".into() };
    }
    let exp = format!("{:.*e}", prec.saturating_sub(1), n);
    let (mant, e) = exp.split_once('e').unwrap_or((&exp, "0"));
    let e: i32 = e.parse().unwrap_or(0);
    if e < -4 || e >= prec as i32 {
        let mant = trim_zeros(mant);
        format!("{}e{}{:02}", mant, if e < 0 { '-' } else { '+' }, e.abs())
    } else {
        let decimals = (prec as i32 - 1 - e).max(0) as usize;
        trim_zeros(&format!("{:.*}", decimals, n)).to_string()
    }
}

fn trim_zeros(s: &str) -> &str {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.')
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn number_formatting() {
        assert_eq!(lua_number_string(1.0), "1");
        assert_eq!(lua_number_string(0.1), "0.1");
        assert_eq!(lua_number_string(1e100), "1e+100");
        assert_eq!(lua_number_string(1.5e-7), "1.5e-07");
        assert_eq!(lua_number_string(123456.789), "123456.789");
        assert_eq!(str_to_number(b" 0x10 "), Some(16.0));
        assert_eq!(str_to_number(b"1e3"), Some(1000.0));
        assert_eq!(str_to_number(b"abc"), None);
    }
}
