//! Application entry: being written.
use std::process::ExitCode;
/// Run a parsed command line.
pub fn run(_cli: crate::cli::Cli) -> ExitCode {
    ExitCode::SUCCESS
}
