//! lua-cjson 2.1's `cjson.encode` / `cjson.decode` as Redis bundles it,
//! with its default settings: numbers as `%.14g`, `/` escaped, an empty
//! table encodes as `{}`, tables whose keys are all positive integers are
//! arrays (nil holes become `null`; excessively sparse ones are refused),
//! nesting limited to 1000, `cjson.null` is a NULL light userdata.

use mlua::{LightUserData, Lua, Table, Value};

use super::{lua_number_string, LibFn};

const MAX_DEPTH: usize = 1000;

const FNS: &[(&str, LibFn)] = &[("encode", encode), ("decode", decode)];

pub fn module(lua: &Lua) -> mlua::Result<Table> {
    let t = super::module(lua, FNS)?;
    t.raw_set("null", Value::LightUserData(LightUserData(std::ptr::null_mut())))?;
    t.raw_set("_NAME", "cjson")?;
    t.raw_set("_VERSION", "2.1.0")?;
    Ok(t)
}

fn encode(_lua: &Lua, args: &[Value]) -> Result<Vec<Value>, String> {
    if args.len() != 1 {
        return Err("bad argument #1 to 'encode' (expected 1 argument)".into());
    }
    let mut out = Vec::new();
    encode_value(&args[0], &mut out, 0)?;
    let s = _lua.create_string(&out).map_err(|e| e.to_string())?;
    Ok(vec![Value::String(s)])
}

fn encode_number(n: f64, out: &mut Vec<u8>) -> Result<(), String> {
    if n.is_nan() || n.is_infinite() {
        return Err("Cannot serialise number: must not be NaN or Inf".into());
    }
    out.extend_from_slice(lua_number_string(n).as_bytes());
    Ok(())
}

fn encode_string(s: &[u8], out: &mut Vec<u8>) {
    out.push(b'"');
    for &b in s {
        match b {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'/' => out.extend_from_slice(b"\\/"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            0x08 => out.extend_from_slice(b"\\b"),
            0x0c => out.extend_from_slice(b"\\f"),
            0..=0x1f | 0x7f => out.extend_from_slice(format!("\\u{b:04x}").as_bytes()),
            _ => out.push(b),
        }
    }
    out.push(b'"');
}

fn type_of(v: &Value) -> &'static str {
    super::type_name(Some(v))
}

fn encode_value(v: &Value, out: &mut Vec<u8>, depth: usize) -> Result<(), String> {
    match v {
        Value::Nil => out.extend_from_slice(b"null"),
        Value::LightUserData(p) if p.0.is_null() => out.extend_from_slice(b"null"),
        Value::Boolean(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
        Value::Integer(n) => encode_number(*n as f64, out)?,
        Value::Number(n) => encode_number(*n, out)?,
        Value::String(s) => encode_string(&s.as_bytes(), out),
        Value::Table(t) => {
            let depth = depth + 1;
            if depth > MAX_DEPTH {
                return Err(format!("Cannot serialise, excessive nesting ({depth})"));
            }
            match array_length(t)? {
                Some(len) if len > 0 => {
                    out.push(b'[');
                    for i in 1..=len {
                        if i > 1 {
                            out.push(b',');
                        }
                        let item: Value = t.raw_get(i).map_err(|e| e.to_string())?;
                        encode_value(&item, out, depth)?;
                    }
                    out.push(b']');
                }
                _ => {
                    out.push(b'{');
                    let mut first = true;
                    for pair in t.clone().pairs::<Value, Value>() {
                        let (k, val) = pair.map_err(|e| e.to_string())?;
                        if !first {
                            out.push(b',');
                        }
                        first = false;
                        match &k {
                            Value::String(s) => encode_string(&s.as_bytes(), out),
                            Value::Integer(_) | Value::Number(_) => {
                                let n = match k {
                                    Value::Integer(i) => i as f64,
                                    Value::Number(n) => n,
                                    _ => 0.0,
                                };
                                out.push(b'"');
                                encode_number(n, out)?;
                                out.push(b'"');
                            }
                            other => {
                                return Err(format!(
                                    "Cannot serialise {}: table key must be a number or string",
                                    type_of(other)
                                ))
                            }
                        }
                        out.push(b':');
                        encode_value(&val, out, depth)?;
                    }
                    out.push(b'}');
                }
            }
        }
        other => return Err(format!("Cannot serialise {}: type not supported", type_of(other))),
    }
    Ok(())
}

/// lua-cjson's lua_array_length: Some(max key) when every key is a
/// positive integer, None otherwise; excessively sparse arrays fail.
fn array_length(t: &Table) -> Result<Option<usize>, String> {
    let mut max = 0usize;
    let mut items = 0usize;
    for pair in t.clone().pairs::<Value, Value>() {
        let (k, _) = pair.map_err(|e| e.to_string())?;
        let n = match k {
            Value::Integer(i) => i as f64,
            Value::Number(n) => n,
            _ => return Ok(None),
        };
        if n.fract() != 0.0 || n < 1.0 {
            return Ok(None);
        }
        max = max.max(n as usize);
        items += 1;
    }
    // encode_sparse_ratio 2, encode_sparse_safe 10, convert off.
    if max > items * 2 && max > 10 {
        return Err("Cannot serialise table: excessively sparse array".into());
    }
    Ok(Some(max))
}

struct Parser<'a> {
    s: &'a [u8],
    pos: usize,
}

/// A token's name in lua-cjson's error messages.
fn token_name(s: &[u8], pos: usize) -> &'static str {
    match s.get(pos) {
        None => "T_END",
        Some(b'{') => "T_OBJ_BEGIN",
        Some(b'}') => "T_OBJ_END",
        Some(b'[') => "T_ARR_BEGIN",
        Some(b']') => "T_ARR_END",
        Some(b'"') => "T_STRING",
        Some(b'-' | b'0'..=b'9') => "T_NUMBER",
        Some(b't' | b'f') => "T_BOOLEAN",
        Some(b'n') => "T_NULL",
        Some(b':') => "T_COLON",
        Some(b',') => "T_COMMA",
        _ => "invalid token",
    }
}

impl<'a> Parser<'a> {
    fn ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.s.get(self.pos) {
            self.pos += 1;
        }
    }

    fn err(&self, expected: &str) -> String {
        format!(
            "Expected {} but found {} at character {}",
            expected,
            token_name(self.s, self.pos),
            self.pos + 1
        )
    }

    fn value(&mut self, lua: &Lua, depth: usize) -> Result<Value, String> {
        self.ws();
        let lerr = |e: mlua::Error| e.to_string();
        match self.s.get(self.pos) {
            Some(b'{') => {
                let depth = depth + 1;
                if depth > MAX_DEPTH {
                    return Err(format!(
                        "Found too many nested data structures ({}) at character {}",
                        depth,
                        self.pos + 1
                    ));
                }
                self.pos += 1;
                let t = lua.create_table().map_err(lerr)?;
                self.ws();
                if self.s.get(self.pos) == Some(&b'}') {
                    self.pos += 1;
                    return Ok(Value::Table(t));
                }
                loop {
                    self.ws();
                    if self.s.get(self.pos) != Some(&b'"') {
                        return Err(self.err("object key string"));
                    }
                    let k = self.string()?;
                    self.ws();
                    if self.s.get(self.pos) != Some(&b':') {
                        return Err(self.err("colon"));
                    }
                    self.pos += 1;
                    let v = self.value(lua, depth)?;
                    t.raw_set(lua.create_string(&k).map_err(lerr)?, v).map_err(lerr)?;
                    self.ws();
                    match self.s.get(self.pos) {
                        Some(b',') => self.pos += 1,
                        Some(b'}') => {
                            self.pos += 1;
                            return Ok(Value::Table(t));
                        }
                        _ => return Err(self.err("comma or object end")),
                    }
                }
            }
            Some(b'[') => {
                let depth = depth + 1;
                if depth > MAX_DEPTH {
                    return Err(format!(
                        "Found too many nested data structures ({}) at character {}",
                        depth,
                        self.pos + 1
                    ));
                }
                self.pos += 1;
                let t = lua.create_table().map_err(lerr)?;
                self.ws();
                if self.s.get(self.pos) == Some(&b']') {
                    self.pos += 1;
                    return Ok(Value::Table(t));
                }
                let mut i = 1;
                loop {
                    let v = self.value(lua, depth)?;
                    t.raw_set(i, v).map_err(lerr)?;
                    i += 1;
                    self.ws();
                    match self.s.get(self.pos) {
                        Some(b',') => self.pos += 1,
                        Some(b']') => {
                            self.pos += 1;
                            return Ok(Value::Table(t));
                        }
                        _ => return Err(self.err("comma or array end")),
                    }
                }
            }
            Some(b'"') => {
                let s = self.string()?;
                Ok(Value::String(lua.create_string(&s).map_err(lerr)?))
            }
            Some(b't') if self.s[self.pos..].starts_with(b"true") => {
                self.pos += 4;
                Ok(Value::Boolean(true))
            }
            Some(b'f') if self.s[self.pos..].starts_with(b"false") => {
                self.pos += 5;
                Ok(Value::Boolean(false))
            }
            Some(b'n') if self.s[self.pos..].starts_with(b"null") => {
                self.pos += 4;
                Ok(Value::LightUserData(LightUserData(std::ptr::null_mut())))
            }
            Some(b'-' | b'0'..=b'9') => {
                // The longest prefix strtod accepts.
                let start = self.pos;
                let at = |i: usize| self.s.get(i).copied().unwrap_or(0);
                let mut i = start;
                if at(i) == b'-' {
                    i += 1;
                }
                let digits_start = i;
                while at(i).is_ascii_digit() {
                    i += 1;
                }
                let mut mantissa_digits = i - digits_start;
                if at(i) == b'.' {
                    let frac = i + 1;
                    let mut j = frac;
                    while at(j).is_ascii_digit() {
                        j += 1;
                    }
                    mantissa_digits += j - frac;
                    if mantissa_digits > 0 {
                        i = j;
                    }
                }
                if mantissa_digits == 0 {
                    return Err(format!(
                        "Expected value but found invalid number at character {}",
                        start + 1
                    ));
                }
                if matches!(at(i), b'e' | b'E') {
                    let mut j = i + 1;
                    if matches!(at(j), b'+' | b'-') {
                        j += 1;
                    }
                    let exp_start = j;
                    while at(j).is_ascii_digit() {
                        j += 1;
                    }
                    if j > exp_start {
                        i = j;
                    }
                }
                let text = std::str::from_utf8(&self.s[start..i]).unwrap_or("");
                self.pos = i;
                match text.parse::<f64>() {
                    Ok(n) => Ok(Value::Number(n)),
                    Err(_) => Err(format!(
                        "Expected value but found invalid number at character {}",
                        start + 1
                    )),
                }
            }
            _ => Err(self.err("value")),
        }
    }

    fn hex4(&self, at: usize) -> Option<u32> {
        let h = self.s.get(at..at + 4)?;
        u32::from_str_radix(std::str::from_utf8(h).ok()?, 16).ok()
    }

    /// A string starting at the opening quote.
    fn string(&mut self) -> Result<Vec<u8>, String> {
        let start = self.pos;
        self.pos += 1;
        let mut out = Vec::new();
        let invalid = |p: usize| format!("Expected value but found invalid token at character {}", p + 1);
        loop {
            match self.s.get(self.pos) {
                None => {
                    return Err(format!(
                        "Expected value but found unexpected end of string at character {}",
                        self.s.len() + 1
                    ))
                }
                Some(b'"') => {
                    self.pos += 1;
                    return Ok(out);
                }
                Some(b'\\') => {
                    let c = self.s.get(self.pos + 1).copied();
                    match c {
                        Some(b'"') => out.push(b'"'),
                        Some(b'\\') => out.push(b'\\'),
                        Some(b'/') => out.push(b'/'),
                        Some(b'b') => out.push(8),
                        Some(b'f') => out.push(12),
                        Some(b'n') => out.push(b'\n'),
                        Some(b'r') => out.push(b'\r'),
                        Some(b't') => out.push(b'\t'),
                        Some(b'u') => {
                            let Some(mut cp) = self.hex4(self.pos + 2) else {
                                return Err(invalid(start));
                            };
                            let mut used = 6;
                            if (0xD800..0xDC00).contains(&cp) {
                                // A surrogate pair.
                                if self.s.get(self.pos + 6..self.pos + 8) != Some(b"\\u") {
                                    return Err(invalid(start));
                                }
                                let Some(lo) = self.hex4(self.pos + 8) else {
                                    return Err(invalid(start));
                                };
                                if !(0xDC00..0xE000).contains(&lo) {
                                    return Err(invalid(start));
                                }
                                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                                used = 12;
                            } else if (0xDC00..0xE000).contains(&cp) {
                                return Err(invalid(start));
                            }
                            let ch = char::from_u32(cp).unwrap_or('\u{fffd}');
                            let mut buf = [0u8; 4];
                            out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
                            self.pos += used;
                            continue;
                        }
                        _ => return Err(invalid(start)),
                    }
                    self.pos += 2;
                }
                Some(&b) => {
                    out.push(b);
                    self.pos += 1;
                }
            }
        }
    }
}

fn decode(lua: &Lua, args: &[Value]) -> Result<Vec<Value>, String> {
    if args.len() != 1 {
        return Err("bad argument #1 to 'decode' (expected 1 argument)".into());
    }
    let s = super::check_string(args, 0, "decode")?;
    let mut p = Parser { s: &s, pos: 0 };
    let v = p.value(lua, 0)?;
    p.ws();
    if p.pos < s.len() {
        return Err(p.err("the end"));
    }
    Ok(vec![v])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enc(lua: &Lua, src: &str) -> String {
        let v: Value = lua.load(src).eval().unwrap_or(Value::Nil);
        let mut out = Vec::new();
        match encode_value(&v, &mut out, 0) {
            Ok(()) => String::from_utf8_lossy(&out).into_owned(),
            Err(e) => e,
        }
    }

    #[test]
    fn encodes_like_lua_cjson() {
        let lua = Lua::new();
        assert_eq!(enc(&lua, "{}"), "{}");
        assert_eq!(enc(&lua, "{1,2,'a'}"), "[1,2,\"a\"]");
        assert_eq!(enc(&lua, "{a=1}"), "{\"a\":1}");
        assert_eq!(enc(&lua, "'a/b\"\\n'"), "\"a\\/b\\\"\\n\"");
        assert_eq!(enc(&lua, "{[1]=1,[3]=3}"), "[1,null,3]");
        assert_eq!(
            enc(&lua, "{[20]=1}"),
            "Cannot serialise table: excessively sparse array"
        );
        assert_eq!(enc(&lua, "0.1"), "0.1");
        assert_eq!(enc(&lua, "1/0"), "Cannot serialise number: must not be NaN or Inf");
    }

    #[test]
    fn decodes_and_reports_errors() {
        let lua = Lua::new();
        let s = lua.create_string("x").unwrap_or_else(|_| unreachable!());
        let e = decode(&lua, &[Value::String(s)]).err();
        assert_eq!(
            e.as_deref(),
            Some("Expected value but found invalid token at character 1")
        );
        let s = lua.create_string("[1,2").unwrap_or_else(|_| unreachable!());
        let e = decode(&lua, &[Value::String(s)]).err();
        assert_eq!(
            e.as_deref(),
            Some("Expected comma or array end but found T_END at character 5")
        );
        let s = lua
            .create_string(r#"{"a":[1,"\u00e9\ud83d\ude00"]}"#)
            .unwrap_or_else(|_| unreachable!());
        let v = decode(&lua, &[Value::String(s)]).unwrap_or_default();
        let Some(Value::Table(t)) = v.first() else {
            panic!("not a table")
        };
        let a: Table = t.raw_get("a").unwrap_or_else(|_| unreachable!());
        let s: mlua::String = a.raw_get(2).unwrap_or_else(|_| unreachable!());
        assert_eq!(&*s.as_bytes(), "é😀".as_bytes());
    }
}
