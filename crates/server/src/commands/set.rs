//! set commands (Redis's t_set.c). Filled in by the collections work.

use super::CommandSpec;

pub static COMMANDS: &[CommandSpec] = &[];
