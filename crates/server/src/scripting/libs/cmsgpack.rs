//! lua-cmsgpack's `cmsgpack.pack` / `cmsgpack.unpack`, as Redis bundles
//! it: integral numbers as the smallest integer type, others as float32
//! when exact else float64; strings as fixstr/str8/16/32; tables whose
//! keys are exactly 1..n as arrays, others as maps; nesting past 16
//! levels packs nil; functions and other types pack nil.

use mlua::{Lua, Table, Value};

use super::LibFn;

const MAX_NESTING: usize = 16;

const FNS: &[(&str, LibFn)] = &[("pack", pack), ("unpack", unpack)];

pub fn module(lua: &Lua) -> mlua::Result<Table> {
    let t = super::module(lua, FNS)?;
    t.raw_set("_NAME", "cmsgpack")?;
    t.raw_set("_VERSION", "lua-cmsgpack 0.4.0")?;
    Ok(t)
}

fn pack(lua: &Lua, args: &[Value]) -> Result<Vec<Value>, String> {
    if args.is_empty() {
        return Err("bad argument #0 to 'pack' (MessagePack pack needs input.)".into());
    }
    let mut out = Vec::new();
    for a in args {
        encode(a, &mut out, 0)?;
    }
    Ok(vec![Value::String(lua.create_string(&out).map_err(|e| e.to_string())?)])
}

fn encode_int(n: i64, out: &mut Vec<u8>) {
    if n >= 0 {
        let u = n as u64;
        if u < 128 {
            out.push(u as u8);
        } else if u <= 0xff {
            out.extend_from_slice(&[0xcc, u as u8]);
        } else if u <= 0xffff {
            out.push(0xcd);
            out.extend_from_slice(&(u as u16).to_be_bytes());
        } else if u <= 0xffff_ffff {
            out.push(0xce);
            out.extend_from_slice(&(u as u32).to_be_bytes());
        } else {
            out.push(0xcf);
            out.extend_from_slice(&u.to_be_bytes());
        }
    } else if n >= -32 {
        out.push(n as i8 as u8);
    } else if n >= -128 {
        out.extend_from_slice(&[0xd0, n as i8 as u8]);
    } else if n >= -32768 {
        out.push(0xd1);
        out.extend_from_slice(&(n as i16).to_be_bytes());
    } else if n >= -2_147_483_648 {
        out.push(0xd2);
        out.extend_from_slice(&(n as i32).to_be_bytes());
    } else {
        out.push(0xd3);
        out.extend_from_slice(&n.to_be_bytes());
    }
}

fn encode_number(n: f64, out: &mut Vec<u8>) {
    if n.is_finite() && (n as i64) as f64 == n {
        return encode_int(n as i64, out);
    }
    let f = n as f32;
    if f as f64 == n || (n.is_nan() && f.is_nan()) {
        out.push(0xca);
        out.extend_from_slice(&f.to_be_bytes());
    } else {
        out.push(0xcb);
        out.extend_from_slice(&n.to_be_bytes());
    }
}

fn encode_len(len: usize, out: &mut Vec<u8>, fix: u8, fix_max: usize, small: Option<u8>, b16: u8, b32: u8) {
    if len < fix_max {
        out.push(fix | len as u8);
    } else if let (Some(tag), true) = (small, len <= 0xff) {
        out.extend_from_slice(&[tag, len as u8]);
    } else if len <= 0xffff {
        out.push(b16);
        out.extend_from_slice(&(len as u16).to_be_bytes());
    } else {
        out.push(b32);
        out.extend_from_slice(&(len as u32).to_be_bytes());
    }
}

/// lua-cmsgpack's table_is_an_array: every key a positive integer and
/// as many keys as the largest.
fn array_len(t: &Table) -> Result<Option<usize>, String> {
    let mut max = 0f64;
    let mut count = 0usize;
    for pair in t.clone().pairs::<Value, Value>() {
        let (k, _) = pair.map_err(|e| e.to_string())?;
        let n = match k {
            Value::Integer(i) => i as f64,
            Value::Number(n) => n,
            _ => return Ok(None),
        };
        if n <= 0.0 || n.fract() != 0.0 {
            return Ok(None);
        }
        max = max.max(n);
        count += 1;
    }
    Ok((max == count as f64).then_some(count))
}

fn encode(v: &Value, out: &mut Vec<u8>, depth: usize) -> Result<(), String> {
    match v {
        Value::Boolean(b) => out.push(if *b { 0xc3 } else { 0xc2 }),
        Value::Integer(n) => encode_int(*n, out),
        Value::Number(n) => encode_number(*n, out),
        Value::String(s) => {
            let b = s.as_bytes();
            encode_len(b.len(), out, 0xa0, 32, Some(0xd9), 0xda, 0xdb);
            out.extend_from_slice(&b);
        }
        Value::Table(t) if depth < MAX_NESTING => match array_len(t)? {
            Some(n) => {
                encode_len(n, out, 0x90, 16, None, 0xdc, 0xdd);
                for i in 1..=n {
                    let item: Value = t.raw_get(i).map_err(|e| e.to_string())?;
                    encode(&item, out, depth + 1)?;
                }
            }
            None => {
                let pairs: Vec<(Value, Value)> = t
                    .clone()
                    .pairs::<Value, Value>()
                    .collect::<mlua::Result<_>>()
                    .map_err(|e| e.to_string())?;
                encode_len(pairs.len(), out, 0x80, 16, None, 0xde, 0xdf);
                for (k, val) in &pairs {
                    encode(k, out, depth + 1)?;
                    encode(val, out, depth + 1)?;
                }
            }
        },
        _ => out.push(0xc0),
    }
    Ok(())
}

struct Reader<'a> {
    s: &'a [u8],
    pos: usize,
}

const MISSING: &str = "Missing bytes in input.";
const BAD: &str = "Bad data format in input.";

impl Reader<'_> {
    fn take(&mut self, n: usize) -> Result<&[u8], String> {
        let end = self.pos.checked_add(n).ok_or(MISSING)?;
        let b = self.s.get(self.pos..end).ok_or(MISSING)?;
        self.pos = end;
        Ok(b)
    }

    fn uint(&mut self, n: usize) -> Result<u64, String> {
        Ok(self.take(n)?.iter().fold(0u64, |acc, &b| (acc << 8) | b as u64))
    }

    fn str(&mut self, lua: &Lua, n: usize) -> Result<Value, String> {
        let b = self.take(n)?;
        Ok(Value::String(lua.create_string(b).map_err(|e| e.to_string())?))
    }

    fn array(&mut self, lua: &Lua, n: usize, depth: usize) -> Result<Value, String> {
        let t = lua.create_table().map_err(|e| e.to_string())?;
        for i in 1..=n {
            let v = self.value(lua, depth + 1)?;
            t.raw_set(i, v).map_err(|e| e.to_string())?;
        }
        Ok(Value::Table(t))
    }

    fn map(&mut self, lua: &Lua, n: usize, depth: usize) -> Result<Value, String> {
        let t = lua.create_table().map_err(|e| e.to_string())?;
        for _ in 0..n {
            let k = self.value(lua, depth + 1)?;
            let v = self.value(lua, depth + 1)?;
            if !k.is_nil() {
                t.raw_set(k, v).map_err(|e| e.to_string())?;
            }
        }
        Ok(Value::Table(t))
    }

    fn value(&mut self, lua: &Lua, depth: usize) -> Result<Value, String> {
        if depth > 1000 {
            return Err(BAD.into());
        }
        let tag = self.take(1)?[0];
        let num = |n: f64| Ok(Value::Number(n));
        match tag {
            0x00..=0x7f => num(tag as f64),
            0x80..=0x8f => self.map(lua, (tag & 0x0f) as usize, depth),
            0x90..=0x9f => self.array(lua, (tag & 0x0f) as usize, depth),
            0xa0..=0xbf => self.str(lua, (tag & 0x1f) as usize),
            0xc0 => Ok(Value::Nil),
            0xc2 => Ok(Value::Boolean(false)),
            0xc3 => Ok(Value::Boolean(true)),
            0xc4 | 0xd9 => {
                let n = self.uint(1)? as usize;
                self.str(lua, n)
            }
            0xc5 | 0xda => {
                let n = self.uint(2)? as usize;
                self.str(lua, n)
            }
            0xc6 | 0xdb => {
                let n = self.uint(4)? as usize;
                self.str(lua, n)
            }
            0xca => {
                let b = self.take(4)?;
                num(f32::from_be_bytes([b[0], b[1], b[2], b[3]]) as f64)
            }
            0xcb => num(f64::from_bits(self.uint(8)?)),
            0xcc => num(self.uint(1)? as f64),
            0xcd => num(self.uint(2)? as f64),
            0xce => num(self.uint(4)? as f64),
            0xcf => num(self.uint(8)? as f64),
            0xd0 => num(self.uint(1)? as u8 as i8 as f64),
            0xd1 => num(self.uint(2)? as u16 as i16 as f64),
            0xd2 => num(self.uint(4)? as u32 as i32 as f64),
            0xd3 => num(self.uint(8)? as i64 as f64),
            0xdc => {
                let n = self.uint(2)? as usize;
                self.array(lua, n, depth)
            }
            0xdd => {
                let n = self.uint(4)? as usize;
                self.array(lua, n, depth)
            }
            0xde => {
                let n = self.uint(2)? as usize;
                self.map(lua, n, depth)
            }
            0xdf => {
                let n = self.uint(4)? as usize;
                self.map(lua, n, depth)
            }
            0xe0..=0xff => num(tag as i8 as f64),
            _ => Err(BAD.into()),
        }
    }
}

fn unpack(lua: &Lua, args: &[Value]) -> Result<Vec<Value>, String> {
    let s = super::check_string(args, 0, "unpack")?;
    let mut r = Reader { s: &s, pos: 0 };
    let mut out = Vec::new();
    while r.pos < s.len() {
        out.push(r.value(lua, 0)?);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn packed(lua: &Lua, src: &str) -> Vec<u8> {
        let v: Value = lua.load(src).eval().unwrap_or(Value::Nil);
        let mut out = Vec::new();
        encode(&v, &mut out, 0).unwrap_or_default();
        out
    }

    #[test]
    fn encodings() {
        let lua = Lua::new();
        assert_eq!(packed(&lua, "1"), [0x01]);
        assert_eq!(packed(&lua, "-1"), [0xff]);
        assert_eq!(packed(&lua, "200"), [0xcc, 200]);
        assert_eq!(packed(&lua, "-200"), [0xd1, 0xff, 0x38]);
        assert_eq!(packed(&lua, "0.5"), [0xca, 0x3f, 0, 0, 0]);
        assert_eq!(packed(&lua, "'ab'"), [0xa2, b'a', b'b']);
        assert_eq!(packed(&lua, "{1,2}"), [0x92, 1, 2]);
        assert_eq!(packed(&lua, "{}"), [0x90]);
        assert_eq!(packed(&lua, "{a=true}"), [0x81, 0xa1, b'a', 0xc3]);
        assert_eq!(packed(&lua, "{[2]=1}"), [0x81, 2, 1]);
    }

    #[test]
    fn round_trip_and_errors() {
        let lua = Lua::new();
        let bytes = packed(&lua, "{1, 'x', {k = -70000}, 1.25, false}");
        let s = lua.create_string(&bytes).unwrap_or_else(|_| unreachable!());
        let v = unpack(&lua, &[Value::String(s)]).unwrap_or_default();
        let mut again = Vec::new();
        encode(&v[0], &mut again, 0).unwrap_or_default();
        assert_eq!(again, bytes);
        let s = lua.create_string([0x92, 1]).unwrap_or_else(|_| unreachable!());
        assert_eq!(unpack(&lua, &[Value::String(s)]).err().as_deref(), Some(MISSING));
    }
}
