//! Arguments of `verify-archive` (ours: Barman has no such command).

use clap::Args;

/// `verify-archive` arguments.
#[derive(Debug, Args)]
pub struct VerifyArchiveArgs {
    /// specifies the server name for the command
    #[arg(value_name = "server_name")]
    pub server_name: String,
    /// read every archived file again, not only those new or changed since the last run
    #[arg(long)]
    pub full: bool,
    /// Nagios plugin compatible output
    #[arg(long)]
    pub nagios: bool,
}
