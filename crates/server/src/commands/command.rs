//! COMMAND and its subcommands, answered from the command table.

use super::CommandSpec;

pub static COMMANDS: &[CommandSpec] = &[];
