//! `shipfront completions SHELL`: the shell completion script for every command and flag.

use clap::CommandFactory;

use crate::cli::Cli;
use crate::core::error::Result;
use crate::run::output;

/// Prints the completion script of `shell` for every command and flag.
pub(crate) fn run(shell: clap_complete::Shell) -> Result<()> {
    // Generated into memory first: the generators panic on a failed write (a closed pipe).
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "shipfront", &mut script);
    output::to_stdout(|out| out.write_all(&script))
}
