//! Roberto Ierusalimschy's `struct` library 0.2 (pack/unpack/size), as
//! Redis bundles it: `>` `<` `=` endianness, `!n` alignment, `x` padding,
//! `b/B h/H l/L T i[n]/I[n]` integers, `f` `d` floats, `s` zero-terminated
//! and `c[n]` fixed strings. Native is little-endian, 64-bit.

use mlua::{Lua, Table, Value};

use super::{check_number, check_string, LibFn};

const MAXINTSIZE: usize = 32;
const MAXALIGN: usize = 8;

const FNS: &[(&str, LibFn)] = &[("pack", pack), ("unpack", unpack), ("size", size)];

pub fn module(lua: &Lua) -> mlua::Result<Table> {
    super::module(lua, FNS)
}

struct Header {
    little: bool,
    align: usize,
}

struct Fmt<'a> {
    f: &'a [u8],
    pos: usize,
}

impl Fmt<'_> {
    fn getnum(&mut self, default: usize) -> Result<usize, String> {
        if !self.f.get(self.pos).is_some_and(|c| c.is_ascii_digit()) {
            return Ok(default);
        }
        let mut a: usize = 0;
        while let Some(c) = self.f.get(self.pos).filter(|c| c.is_ascii_digit()) {
            a = a
                .checked_mul(10)
                .and_then(|a| a.checked_add((c - b'0') as usize))
                .filter(|&a| a <= i32::MAX as usize)
                .ok_or("integral size overflow")?;
            self.pos += 1;
        }
        Ok(a)
    }

    /// The size of option `opt`, reading its number if it takes one.
    fn optsize(&mut self, opt: u8) -> Result<usize, String> {
        Ok(match opt {
            b'B' | b'b' | b'x' => 1,
            b'H' | b'h' => 2,
            b'L' | b'l' | b'T' | b'd' => 8,
            b'f' => 4,
            b'c' => self.getnum(1)?,
            b'i' | b'I' => {
                let sz = self.getnum(4)?;
                if sz > MAXINTSIZE {
                    return Err(format!("integral size {sz} is larger than limit of {MAXINTSIZE}"));
                }
                sz
            }
            _ => 0,
        })
    }
}

fn gettoalign(len: usize, h: &Header, opt: u8, size: usize) -> Result<usize, String> {
    if size <= 1 || opt == b'c' {
        return Ok(0);
    }
    let size = size.min(h.align);
    if !size.is_power_of_two() {
        return Err("format asks for alignment not power of 2".into());
    }
    Ok((size - (len & (size - 1))) & (size - 1))
}

/// Handles a control option (`fname` for the error on anything else).
fn control(opt: u8, fmt: &mut Fmt<'_>, h: &mut Header, fname: &str) -> Result<(), String> {
    match opt {
        b' ' => {}
        b'>' => h.little = false,
        b'<' | b'=' => h.little = true,
        b'!' => {
            let a = fmt.getnum(MAXALIGN)?;
            if !a.is_power_of_two() {
                return Err(format!("alignment {a} is not a power of 2"));
            }
            h.align = a;
        }
        _ => {
            return Err(format!(
                "bad argument #1 to '{fname}' (invalid format option '{}')",
                opt as char
            ))
        }
    }
    Ok(())
}

fn put_int(out: &mut Vec<u8>, n: f64, little: bool, size: usize) {
    let mut value: u64 = if n < 0.0 { n as i64 as u64 } else { n as u64 };
    let mut buf = vec![0u8; size];
    for b in buf.iter_mut() {
        *b = (value & 0xff) as u8;
        value = value.checked_shr(8).unwrap_or(0);
    }
    if !little {
        buf.reverse();
    }
    out.extend_from_slice(&buf);
}

fn pack(lua: &Lua, args: &[Value]) -> Result<Vec<Value>, String> {
    let f = check_string(args, 0, "pack")?;
    let mut fmt = Fmt { f: &f, pos: 0 };
    let mut h = Header { little: true, align: 1 };
    let mut arg = 1;
    let mut out = Vec::new();
    while fmt.pos < f.len() {
        let opt = f[fmt.pos];
        fmt.pos += 1;
        let size = fmt.optsize(opt)?;
        let toalign = gettoalign(out.len(), &h, opt, size)?;
        out.resize(out.len() + toalign, 0);
        match opt {
            b'b' | b'B' | b'h' | b'H' | b'l' | b'L' | b'T' | b'i' | b'I' => {
                let n = check_number(args, arg, "pack")?;
                arg += 1;
                put_int(&mut out, n, h.little, size);
            }
            b'x' => out.push(0),
            b'f' => {
                let n = check_number(args, arg, "pack")? as f32;
                arg += 1;
                let b = if h.little { n.to_le_bytes() } else { n.to_be_bytes() };
                out.extend_from_slice(&b);
            }
            b'd' => {
                let n = check_number(args, arg, "pack")?;
                arg += 1;
                let b = if h.little { n.to_le_bytes() } else { n.to_be_bytes() };
                out.extend_from_slice(&b);
            }
            b'c' | b's' => {
                let s = check_string(args, arg, "pack")?;
                let mut size = size;
                if opt == b'c' {
                    if size == 0 {
                        size = s.len();
                    }
                    if s.len() < size {
                        return Err(format!("bad argument #{} to 'pack' (string too short)", arg + 1));
                    }
                    out.extend_from_slice(&s[..size]);
                } else {
                    if s.contains(&0) {
                        return Err(format!("bad argument #{} to 'pack' (string contains zeros)", arg + 1));
                    }
                    out.extend_from_slice(&s);
                    out.push(0);
                }
                arg += 1;
            }
            _ => control(opt, &mut fmt, &mut h, "pack")?,
        }
    }
    Ok(vec![Value::String(lua.create_string(&out).map_err(|e| e.to_string())?)])
}

fn get_int(data: &[u8], little: bool, signed: bool, size: usize) -> f64 {
    let mut l: u64 = 0;
    for i in 0..size {
        let b = if little { data[size - 1 - i] } else { data[i] };
        l = l.checked_shl(8).unwrap_or(0) | b as u64;
    }
    if signed {
        if size < 8 {
            let mask = 1u64 << (size * 8 - 1);
            l = (l ^ mask).wrapping_sub(mask);
        }
        l as i64 as f64
    } else {
        l as f64
    }
}

fn unpack(lua: &Lua, args: &[Value]) -> Result<Vec<Value>, String> {
    let f = check_string(args, 0, "unpack")?;
    let data = check_string(args, 1, "unpack")?;
    let init = match args.get(2) {
        None | Some(Value::Nil) => 1.0,
        _ => check_number(args, 2, "unpack")?,
    };
    let ld = data.len();
    let mut pos = (init as i64 - 1) as usize;
    if init < 1.0 || pos > ld {
        return Err("bad argument #3 to 'unpack' (offset must be 1 or greater)".into());
    }
    let mut fmt = Fmt { f: &f, pos: 0 };
    let mut h = Header { little: true, align: 1 };
    let mut out: Vec<Value> = Vec::new();
    let short = || "bad argument #2 to 'unpack' (data string too short)".to_string();
    while fmt.pos < f.len() {
        let opt = f[fmt.pos];
        fmt.pos += 1;
        let mut size = fmt.optsize(opt)?;
        pos += gettoalign(pos, &h, opt, size)?;
        if pos.checked_add(size).is_none_or(|e| e > ld) {
            return Err(short());
        }
        match opt {
            b'b' | b'B' | b'h' | b'H' | b'l' | b'L' | b'T' | b'i' | b'I' => {
                let signed = opt.is_ascii_lowercase();
                out.push(Value::Number(get_int(&data[pos..pos + size], h.little, signed, size)));
            }
            b'x' => {}
            b'f' => {
                let b = [data[pos], data[pos + 1], data[pos + 2], data[pos + 3]];
                let n = if h.little {
                    f32::from_le_bytes(b)
                } else {
                    f32::from_be_bytes(b)
                };
                out.push(Value::Number(n as f64));
            }
            b'd' => {
                let mut b = [0u8; 8];
                b.copy_from_slice(&data[pos..pos + 8]);
                let n = if h.little {
                    f64::from_le_bytes(b)
                } else {
                    f64::from_be_bytes(b)
                };
                out.push(Value::Number(n));
            }
            b'c' => {
                if size == 0 {
                    let n = match out.pop() {
                        Some(Value::Number(n)) => n,
                        Some(Value::Integer(n)) => n as f64,
                        _ => return Err("format 'c0' needs a previous size".into()),
                    };
                    size = n.max(0.0) as usize;
                    if pos.checked_add(size).is_none_or(|e| e > ld) {
                        return Err(short());
                    }
                }
                let s = lua.create_string(&data[pos..pos + size]).map_err(|e| e.to_string())?;
                out.push(Value::String(s));
            }
            b's' => {
                let Some(z) = data[pos..].iter().position(|&b| b == 0) else {
                    return Err("unfinished string in data".into());
                };
                let s = lua.create_string(&data[pos..pos + z]).map_err(|e| e.to_string())?;
                out.push(Value::String(s));
                size = z + 1;
            }
            _ => control(opt, &mut fmt, &mut h, "unpack")?,
        }
        pos += size;
    }
    out.push(Value::Number((pos + 1) as f64));
    Ok(out)
}

fn size(_lua: &Lua, args: &[Value]) -> Result<Vec<Value>, String> {
    let f = check_string(args, 0, "size")?;
    let mut fmt = Fmt { f: &f, pos: 0 };
    let mut h = Header { little: true, align: 1 };
    let mut total: usize = 0;
    while fmt.pos < f.len() {
        let opt = f[fmt.pos];
        fmt.pos += 1;
        let size = fmt.optsize(opt)?;
        total += gettoalign(total, &h, opt, size)?;
        if opt == b's' {
            return Err("bad argument #1 to 'size' (option 's' has no fixed size)".into());
        } else if opt == b'c' && size == 0 {
            return Err("bad argument #1 to 'size' (option 'c0' has no fixed size)".into());
        }
        if !matches!(
            opt,
            b'b' | b'B' | b'h' | b'H' | b'l' | b'L' | b'T' | b'i' | b'I' | b'x' | b'f' | b'd' | b'c'
        ) {
            control(opt, &mut fmt, &mut h, "size")?;
        }
        total += size;
    }
    Ok(vec![Value::Number(total as f64)])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(lua: &Lua, b: &[u8]) -> Value {
        Value::String(lua.create_string(b).unwrap_or_else(|_| unreachable!()))
    }

    #[test]
    fn pack_unpack_size() {
        let lua = Lua::new();
        let packed = pack(
            &lua,
            &[
                s(&lua, b">hBi"),
                Value::Number(-2.0),
                Value::Number(200.0),
                Value::Number(7.0),
            ],
        )
        .unwrap_or_default();
        let Some(Value::String(p)) = packed.first() else {
            panic!("no string")
        };
        assert_eq!(&*p.as_bytes(), &[0xff, 0xfe, 200, 0, 0, 0, 7]);
        let vals = unpack(&lua, &[s(&lua, b">hBi"), Value::String(p.clone())]).unwrap_or_default();
        let nums: Vec<f64> = vals
            .iter()
            .map(|v| if let Value::Number(n) = v { *n } else { f64::NAN })
            .collect();
        assert_eq!(nums, [-2.0, 200.0, 7.0, 8.0]);
        let sz = size(&lua, &[s(&lua, b"!<bi")]).unwrap_or_default();
        assert!(matches!(sz.first(), Some(Value::Number(n)) if *n == 8.0));
        let e = pack(&lua, &[s(&lua, b"y")]).err();
        assert_eq!(
            e.as_deref(),
            Some("bad argument #1 to 'pack' (invalid format option 'y')")
        );
        let packed = pack(&lua, &[s(&lua, b"sc3"), s(&lua, b"ab"), s(&lua, b"xyz")]).unwrap_or_default();
        let Some(Value::String(p)) = packed.first() else {
            panic!("no string")
        };
        assert_eq!(&*p.as_bytes(), b"ab\0xyz");
    }
}
