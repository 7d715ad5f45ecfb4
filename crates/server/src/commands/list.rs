//! list commands (Redis's t_list.c). Filled in by the collections work.

use super::CommandSpec;

pub static COMMANDS: &[CommandSpec] = &[];
