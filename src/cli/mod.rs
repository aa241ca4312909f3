//! Command-line definitions (clap). Being written.
/// Parsed command line.
pub struct Cli;
/// Parse the process arguments.
pub fn parse() -> Cli {
    Cli
}
