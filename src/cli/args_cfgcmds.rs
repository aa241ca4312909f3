//! Arguments of `config-switch`, `config-update` and `check-archived-wal-range` (help texts
//! are Barman 3.20's).

use clap::Args;

/// `config-switch` arguments.
#[derive(Debug, Args)]
pub struct ConfigSwitchArgs {
    /// specifies the name of the server which configuration should be overriden by the
    /// model
    #[arg(value_name = "server_name")]
    pub server_name: String,
    /// specifies the name of the model which configuration should override the server
    /// configuration. This is an optional argument and will not be used when called with
    /// the '--reset' flag.
    #[arg(value_name = "model_name")]
    pub model_name: Option<String>,
    /// indicates that we should unapply the currently active model for the server
    #[arg(long)]
    pub reset: bool,
}

/// `config-update` arguments.
#[derive(Debug, Args)]
pub struct ConfigUpdateArgs {
    /// specifies the configuration changes to apply, in json format
    #[arg(value_name = "json_changes")]
    pub json_changes: String,
}

/// `check-archived-wal-range` arguments.
#[derive(Debug, Args)]
pub struct CheckArchivedWalRangeArgs {
    /// specifies the server name for the command
    #[arg(value_name = "server_name")]
    pub server_name: String,
    /// first WAL segment in the range to verify (inclusive)
    #[arg(value_name = "begin_wal")]
    pub begin_wal: String,
    /// last WAL segment in the range to verify (inclusive)
    #[arg(value_name = "end_wal")]
    pub end_wal: String,
}
