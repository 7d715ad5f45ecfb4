//! hash commands (Redis's t_hash.c). Filled in by the collections work.

use super::CommandSpec;

pub static COMMANDS: &[CommandSpec] = &[];
