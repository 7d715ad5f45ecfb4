//! zset commands (Redis's t_zset.c). Filled in by the collections work.

use super::CommandSpec;

pub static COMMANDS: &[CommandSpec] = &[];
