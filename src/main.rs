//! The `shipfront` binary: parse, run, map the outcome to an exit code (0 done, 1 a deploy
//! failed, 2 bad usage, config or input).

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = match shipfront::cli::Cli::try_parse() {
        Ok(cli) => cli,
        // clap prints the message (or --help) and exits with 2 on bad usage, as documented.
        Err(e) => {
            shipfront::commands::usage_error(&e);
            e.exit()
        }
    };
    let command = cli.command_name();
    match shipfront::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            shipfront::commands::report_error(command, &err);
            ExitCode::from(u8::try_from(err.exit_code()).unwrap_or(1))
        }
    }
}
