//! lua-cmsgpack's `cmsgpack.pack` / `cmsgpack.unpack`, as Redis bundles it.

use mlua::{Lua, Table};

use super::LibFn;

const FNS: &[(&str, LibFn)] = &[];

pub fn module(lua: &Lua) -> mlua::Result<Table> {
    super::module(lua, FNS)
}
