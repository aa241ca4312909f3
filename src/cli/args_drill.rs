//! Arguments of `drill` (ours: Barman has no such command).

use clap::Args;

/// `drill` arguments.
#[derive(Debug, Args)]
pub struct DrillArgs {
    /// specifies the server name for the command
    #[arg(value_name = "server_name")]
    pub server_name: String,
    /// specifies the backup ID to drill (default: latest)
    #[arg(value_name = "backup_id")]
    pub backup_id: Option<String>,
    /// target time for the drill's recovery
    #[arg(long, value_name = "TARGET_TIME", group = "target")]
    pub target_time: Option<String>,
    /// target transaction ID for the drill's recovery
    #[arg(long, value_name = "TARGET_XID", group = "target")]
    pub target_xid: Option<String>,
    /// target LSN (Log Sequence Number) for the drill's recovery
    #[arg(long, value_name = "TARGET_LSN", group = "target")]
    pub target_lsn: Option<String>,
    /// target name created previously with pg_create_restore_point()
    #[arg(long, value_name = "TARGET_NAME", group = "target")]
    pub target_name: Option<String>,
    /// end recovery as soon as a consistent state is reached
    #[arg(long, group = "target")]
    pub target_immediate: bool,
    /// parallel workers for the restore copy and pg_amcheck
    #[arg(short = 'j', long, value_name = "JOBS")]
    pub jobs: Option<u32>,
}
