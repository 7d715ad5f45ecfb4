//! LuaBitOp 1.0's `bit` module, as Redis bundles it: 32-bit operations on
//! Lua numbers, results as signed 32-bit numbers.

use mlua::{Lua, Table, Value};

use super::{check_number, LibFn};

/// LuaBitOp's normalisation: the low 32 bits of the number rounded to the
/// nearest integer (by adding 2^52 + 2^51, as the C code does).
pub fn tobit(n: f64) -> i32 {
    (n + 6_755_399_441_055_744.0).to_bits() as u32 as i32
}

fn arg(args: &[Value], i: usize, f: &str) -> Result<i32, String> {
    check_number(args, i, f).map(tobit)
}

fn num(v: i32) -> Vec<Value> {
    vec![Value::Number(v as f64)]
}

fn fold(args: &[Value], f: &str, op: fn(i32, i32) -> i32) -> Result<Vec<Value>, String> {
    let mut acc = arg(args, 0, f)?;
    for i in 1..args.len() {
        acc = op(acc, arg(args, i, f)?);
    }
    Ok(num(acc))
}

fn shift(args: &[Value], f: &str, op: fn(i32, u32) -> i32) -> Result<Vec<Value>, String> {
    let x = arg(args, 0, f)?;
    let n = arg(args, 1, f)? as u32 & 31;
    Ok(num(op(x, n)))
}

const FNS: &[(&str, LibFn)] = &[
    ("tobit", |_, a| Ok(num(arg(a, 0, "tobit")?))),
    ("bnot", |_, a| Ok(num(!arg(a, 0, "bnot")?))),
    ("band", |_, a| fold(a, "band", |x, y| x & y)),
    ("bor", |_, a| fold(a, "bor", |x, y| x | y)),
    ("bxor", |_, a| fold(a, "bxor", |x, y| x ^ y)),
    ("lshift", |_, a| shift(a, "lshift", |x, n| ((x as u32) << n) as i32)),
    ("rshift", |_, a| shift(a, "rshift", |x, n| ((x as u32) >> n) as i32)),
    ("arshift", |_, a| shift(a, "arshift", |x, n| x >> n)),
    ("rol", |_, a| shift(a, "rol", |x, n| (x as u32).rotate_left(n) as i32)),
    ("ror", |_, a| shift(a, "ror", |x, n| (x as u32).rotate_right(n) as i32)),
    ("bswap", |_, a| {
        Ok(num((arg(a, 0, "bswap")? as u32).swap_bytes() as i32))
    }),
    ("tohex", tohex),
];

fn tohex(lua: &Lua, a: &[Value]) -> Result<Vec<Value>, String> {
    let x = arg(a, 0, "tohex")? as u32;
    let mut n = if a.len() > 1 && !matches!(a[1], Value::Nil) {
        arg(a, 1, "tohex")?
    } else {
        8
    };
    let upper = n < 0;
    if upper {
        n = n.wrapping_neg();
    }
    let n = (n as u32).min(8) as usize;
    let s = if upper { format!("{x:08X}") } else { format!("{x:08x}") };
    let s = &s[8 - n..];
    Ok(vec![Value::String(lua.create_string(s).map_err(|e| e.to_string())?)])
}

pub fn module(lua: &Lua) -> mlua::Result<Table> {
    super::module(lua, FNS)
}

#[cfg(test)]
mod tests {
    use super::tobit;

    #[test]
    fn tobit_wraps_and_rounds() {
        assert_eq!(tobit(0xffff_ffff_u32 as f64), -1);
        assert_eq!(tobit(4294967296.0 + 5.0), 5);
        assert_eq!(tobit(-1.0), -1);
        assert_eq!(tobit(2.5), 2);
        assert_eq!(tobit(3.5), 4);
    }
}
