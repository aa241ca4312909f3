//! Arguments of `metrics` (ours: Barman has no such command).

use clap::Args;

/// `metrics` arguments.
#[derive(Debug, Args)]
pub struct MetricsArgs {
    /// specifies the server names to report ('all' or none: every server)
    #[arg(value_name = "server_name")]
    pub server_name: Vec<String>,
}
