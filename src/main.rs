//! The `barman` binary: parse, run, exit. Everything else lives in the library.
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = barman::cli::parse();
    barman::app::run(cli)
}
