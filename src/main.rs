//! The `shipfront` binary: parse, run, map the outcome to an exit code (0 done, 1 a deploy
//! failed, 2 bad usage, config or input).

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    // clap exits with 2 on bad usage, as documented.
    let cli = shipfront::Cli::parse();
    match shipfront::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err}");
            ExitCode::from(u8::try_from(err.exit_code()).unwrap_or(1))
        }
    }
}
