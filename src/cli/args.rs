//! Per-command argument structs (clap derive), in Barman's argparse spellings and help texts.
//! `mod.rs` holds the top-level parser and the command enum; this file only the arguments.

use clap::{Args, ValueEnum};

/// `sync-backup` arguments.
#[derive(Debug, Args)]
pub struct SyncBackupArgs {
    /// specifies the server name for the command
    #[arg(value_name = "server_name")]
    pub server_name: String,
    /// specifies the backup ID to be copied on the passive node
    #[arg(value_name = "backup_id")]
    pub backup_id: String,
}

/// `sync-info` arguments.
#[derive(Debug, Args)]
pub struct SyncInfoArgs {
    /// execute the sync-info on the primary node (if set)
    #[arg(long = "primary")]
    pub primary: bool,
    /// specifies the server name for the command
    #[arg(value_name = "server_name")]
    pub server_name: String,
    /// specifies the name of the latest WAL read
    #[arg(value_name = "last_wal")]
    pub last_wal: Option<String>,
    /// the last position read from xlog database (in bytes)
    #[arg(value_name = "last_position", value_parser = check_positive)]
    pub last_position: Option<u64>,
}

/// Barman's `check_positive`: a non-negative integer.
fn check_positive(text: &str) -> Result<u64, String> {
    text.parse::<u64>()
        .map_err(|_| format!("'{text}' is not a valid positive integer"))
}

/// `cron` options.
#[derive(Debug, Args)]
pub struct CronArgs {
    /// Keep the stdout and the stderr streams attached to Barman subprocesses
    #[arg(long = "keep-descriptors")]
    pub keep_descriptors: bool,
}

/// `terminate-process` arguments.
#[derive(Debug, Args)]
pub struct TerminateProcessArgs {
    /// specifies the server name
    #[arg(value_name = "server_name")]
    pub server_name: String,
    /// the task name to terminate (e.g. backup, receive-wal)
    #[arg(value_name = "task")]
    pub task: String,
}

/// `--reuse-backup` choices.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReuseBackupArg {
    /// copy unchanged files from the previous backup
    Copy,
    /// hard-link unchanged files from the previous backup
    Link,
    /// copy everything from the server
    Off,
}

/// `backup` arguments.
#[derive(Debug, Args)]
pub struct BackupArgs {
    /// specifies the server names for the backup command ('all' will show all available
    /// servers)
    #[arg(value_name = "server_name", required = true, num_args = 1..)]
    pub server_name: Vec<String>,
    /// forces the initial checkpoint to be done as quickly as possible
    #[arg(
        long = "immediate-checkpoint",
        overrides_with = "no_immediate_checkpoint"
    )]
    pub immediate_checkpoint: bool,
    /// forces the initial checkpoint to be spread
    #[arg(long = "no-immediate-checkpoint")]
    pub no_immediate_checkpoint: bool,
    /// performs an incremental backup. An ID of a previous backup must be provided
    /// ('latest' and 'latest-full' are also available options)
    #[arg(long = "incremental", value_name = "BACKUP_ID")]
    pub incremental: Option<String>,
    /// use the previous backup to improve transfer-rate. If no argument is given "link" is
    /// assumed
    #[arg(long = "reuse-backup", value_enum, num_args = 0..=1, default_missing_value = "link")]
    pub reuse_backup: Option<ReuseBackupArg>,
    /// Number of retries after an error if base backup copy fails.
    #[arg(long = "retry-times", value_name = "RETRY_TIMES")]
    pub retry_times: Option<u32>,
    /// Wait time after a failed base backup copy, before retrying.
    #[arg(long = "retry-sleep", value_name = "RETRY_SLEEP")]
    pub retry_sleep: Option<u64>,
    /// Disable base backup copy retry logic.
    #[arg(long = "no-retry", conflicts_with = "retry_times")]
    pub no_retry: bool,
    /// Run the copy in parallel using NJOBS processes.
    #[arg(short = 'j', long = "jobs", value_name = "NJOBS", value_parser = clap::value_parser!(u32).range(1..))]
    pub jobs: Option<u32>,
    /// The time period in seconds over which a single batch of jobs will be started.
    #[arg(long = "jobs-start-batch-period", value_name = "JOBS_START_BATCH_PERIOD", value_parser = clap::value_parser!(u64).range(1..))]
    pub jobs_start_batch_period: Option<u64>,
    /// The maximum number of parallel Rsync jobs to start in a single batch.
    #[arg(long = "jobs-start-batch-size", value_name = "JOBS_START_BATCH_SIZE", value_parser = clap::value_parser!(u32).range(1..))]
    pub jobs_start_batch_size: Option<u32>,
    /// maximum transfer rate in kilobytes per second. A value of 0 means no limit. Overrides
    /// 'bandwidth_limit' configuration option.
    #[arg(long = "bwlimit", value_name = "KBPS")]
    pub bwlimit: Option<u64>,
    /// wait for all the required WAL files to be archived
    #[arg(short = 'w', long)]
    pub wait: bool,
    /// the time, in seconds, spent waiting for the required WAL files to be archived before
    /// timing out
    #[arg(long = "wait-timeout", value_name = "TIMEOUT")]
    pub wait_timeout: Option<u64>,
    /// An interval, in seconds, at which a heartbeat query will be sent to the server to keep
    /// the libpq connection alive during an Rsync backup.
    #[arg(long = "keepalive-interval", value_name = "KEEPALIVE_INTERVAL")]
    pub keepalive_interval: Option<u64>,
    /// a name which can be used to reference this backup in barman commands such as restore
    /// and delete
    #[arg(long = "name", value_name = "BACKUP_NAME", value_parser = super::checks::check_backup_name)]
    pub name: Option<String>,
    /// forces the creation of the backup manifest file for the rsync backup method
    #[arg(long = "manifest", overrides_with = "no_manifest")]
    pub manifest: bool,
    /// disables the creation of the backup manifest file for the rsync backup method
    #[arg(long = "no-manifest")]
    pub no_manifest: bool,
    /// Specifies the time limit, in seconds, for the check operation. Set to zero to disable
    /// the timeout.
    #[arg(long = "check-timeout", value_name = "CHECK_TIMEOUT")]
    pub check_timeout: Option<u64>,
    /// A staging directory for when sending backups to a cloud destination
    #[arg(long = "cloud-staging-directory", value_name = "CLOUD_STAGING_DIRECTORY", value_parser = parse_staging_path)]
    pub cloud_staging_directory: Option<String>,
    /// Max size that `--cloud-staging-directory` can reach. If this value is ever surparsed
    /// then the backup process is paused and only resumed when enough space is available.
    /// Default is 30Gi.
    #[arg(long = "cloud-staging-max-size", value_name = "CLOUD_STAGING_MAX_SIZE", value_parser = parse_si_suffix)]
    pub cloud_staging_max_size: Option<u64>,
}

/// Barman's `parse_staging_path`: an absolute path.
fn parse_staging_path(value: &str) -> Result<String, String> {
    if value.starts_with('/') {
        Ok(value.to_string())
    } else {
        Err(format!(
            "Invalid value : '{value}' (must be an absolute path)"
        ))
    }
}

/// Barman's `parse_si_suffix` (`30Gi`, `500M`, `1024`).
fn parse_si_suffix(value: &str) -> Result<u64, String> {
    crate::core::config::value::parse_si_size(value)
        .and_then(|n| u64::try_from(n).map_err(|e| e.to_string()))
}

/// `restore` / `recover` arguments.
#[derive(Debug, Args)]
pub struct RestoreArgs {
    /// specifies the server name for the command
    #[arg(value_name = "server_name")]
    pub server_name: String,
    /// specifies the backup ID to restore
    #[arg(value_name = "backup_id")]
    pub backup_id: String,
    /// the directory where the new server is created
    #[arg(value_name = "destination_directory")]
    pub destination_directory: String,
    /// target timeline
    #[arg(long = "target-tli", value_name = "TARGET_TLI", value_parser = super::checks::check_tli)]
    pub target_tli: Option<String>,
    /// target time. You can use any valid unambiguous representation. e.g: "YYYY-MM-DD
    /// HH:MM:SS.mmm"
    #[arg(long = "target-time", value_name = "TARGET_TIME")]
    pub target_time: Option<String>,
    /// target transaction ID
    #[arg(long = "target-xid", value_name = "TARGET_XID")]
    pub target_xid: Option<String>,
    /// target LSN (Log Sequence Number)
    #[arg(long = "target-lsn", value_name = "TARGET_LSN")]
    pub target_lsn: Option<String>,
    /// target name created previously with pg_create_restore_point() function call
    #[arg(long = "target-name", value_name = "TARGET_NAME")]
    pub target_name: Option<String>,
    /// end recovery as soon as a consistent state is reached
    #[arg(long = "target-immediate")]
    pub target_immediate: bool,
    /// set target to be non inclusive
    #[arg(long)]
    pub exclusive: bool,
    /// tablespace relocation rule
    #[arg(long = "tablespace", value_name = "NAME:LOCATION")]
    pub tablespace: Vec<String>,
    /// This options activates remote recovery, by specifying the secure shell command to be
    /// launched on a remote host. It is the equivalent of the "ssh_command" server option in
    /// the configuration file for remote recovery. Example: "ssh postgres@db2"
    #[arg(long = "remote-ssh-command", value_name = "SSH_COMMAND")]
    pub remote_ssh_command: Option<String>,
    /// a staging directory in the target host for WAL files when performing PITR. If
    /// unspecified, it uses a `barman_wal` directory inside the destination directory.
    #[arg(long = "staging-wal-directory", value_name = "STAGING_WAL_DIRECTORY")]
    pub staging_wal_directory: Option<String>,
    /// maximum transfer rate in kilobytes per second. A value of 0 means no limit.
    /// Overrides 'bandwidth_limit' configuration option.
    #[arg(long = "bwlimit", value_name = "KBPS")]
    pub bwlimit: Option<u64>,
    /// Number of retries after an error if base backup copy fails.
    #[arg(long = "retry-times", value_name = "RETRY_TIMES")]
    pub retry_times: Option<u32>,
    /// Wait time after a failed base backup copy, before retrying.
    #[arg(long = "retry-sleep", value_name = "RETRY_SLEEP")]
    pub retry_sleep: Option<u64>,
    /// Disable base backup copy retry logic.
    #[arg(long = "no-retry", conflicts_with = "retry_times")]
    pub no_retry: bool,
    /// Run the copy in parallel using NJOBS processes.
    #[arg(short = 'j', long = "jobs", value_name = "NJOBS", value_parser = clap::value_parser!(u32).range(1..))]
    pub jobs: Option<u32>,
    /// The time period in seconds over which a single batch of jobs will be started.
    #[arg(long = "jobs-start-batch-period", value_name = "JOBS_START_BATCH_PERIOD", value_parser = clap::value_parser!(u64).range(1..))]
    pub jobs_start_batch_period: Option<u64>,
    /// The maximum number of Rsync jobs to start in a single batch.
    #[arg(long = "jobs-start-batch-size", value_name = "JOBS_START_BATCH_SIZE", value_parser = clap::value_parser!(u32).range(1..))]
    pub jobs_start_batch_size: Option<u32>,
    /// Enable the get-wal option during the recovery.
    #[arg(long = "get-wal", overrides_with = "no_get_wal")]
    pub get_wal: bool,
    /// Disable the get-wal option during recovery.
    #[arg(long = "no-get-wal")]
    pub no_get_wal: bool,
    /// Copy .partial WAL files, if any, to the recovery destination. Only applicable when
    /// --no-get-wal is used.
    #[arg(long = "partial-wal")]
    pub partial_wal: bool,
    /// Do not archive staged WALs before the restore
    #[arg(long = "skip-archive-wal")]
    pub skip_archive_wal: bool,
    /// Enable network compression during remote recovery.
    #[arg(
        long = "network-compression",
        overrides_with = "no_network_compression"
    )]
    pub network_compression: bool,
    /// Disable network compression during remote recovery.
    #[arg(long = "no-network-compression")]
    pub no_network_compression: bool,
    /// Specifies what action the server should take once the recovery target is reached.
    /// This option is not allowed for PostgreSQL < 9.1. If PostgreSQL is between 9.1 and 9.4
    /// included the only allowed value is "pause". If PostgreSQL is 9.5 or newer the
    /// possible values are "shutdown", "pause", "promote".
    #[arg(long = "target-action", value_name = "TARGET_ACTION", value_parser = super::checks::check_target_action)]
    pub target_action: Option<String>,
    /// Enable standby mode when starting the restored PostgreSQL instance
    #[arg(long = "standby-mode")]
    pub standby_mode: bool,
    /// A path to a location on the recovery host where compressed backup files will be
    /// staged during the recovery.
    #[arg(long = "recovery-staging-path", value_name = "RECOVERY_STAGING_PATH")]
    pub recovery_staging_path: Option<String>,
    /// Where incremental backups are combined (deprecated: use --staging-path).
    #[arg(long = "local-staging-path", value_name = "LOCAL_STAGING_PATH")]
    pub local_staging_path: Option<String>,
    /// Where compressed backups are decompressed and incremental backups combined before
    /// the copy to the destination (default /tmp).
    #[arg(long = "staging-path", value_name = "STAGING_PATH")]
    pub staging_path: Option<String>,
    /// Specifies whether `--staging-path` is a local or remote path.
    #[arg(long = "staging-location", value_name = "STAGING_LOCATION", value_parser = ["local", "remote"])]
    pub staging_location: Option<String>,
    /// Specifies a copy mode for `pg_combinebackup` when combining incremental backups
    /// during a restore.
    #[arg(long = "combine-mode", value_name = "COMBINE_MODE", value_parser = ["copy", "link", "clone", "copy-file-range"], ignore_case = true)]
    pub combine_mode: Option<String>,
    /// Name of the file to which recovery configuration options will be added for PostgreSQL
    /// 12 and later (default: postgresql.auto.conf).
    #[arg(long = "recovery-conf-filename", value_name = "RECOVERY_CONF_FILENAME")]
    pub recovery_conf_filename: Option<String>,
    /// Port to be passed to the barman-wal-restore command in the recovery configuration.
    #[arg(long = "recovery-option-port", value_name = "RECOVERY_OPTION_PORT")]
    pub recovery_option_port: Option<String>,
    /// Restore command to be used in the recovery configuration, instead of the one Barman
    /// generates (get-wal mode only).
    #[arg(long = "restore-command", value_name = "RESTORE_COMMAND")]
    pub restore_command: Option<String>,
    /// Enable delta restore mode.
    #[arg(long = "delta-restore", overrides_with = "no_delta_restore")]
    pub delta_restore: bool,
    /// Disable delta restore mode.
    #[arg(long = "no-delta-restore", overrides_with = "delta_restore")]
    pub no_delta_restore: bool,
}

/// A server and one of its backups (an ID, a name or a shortcut such as `latest`).
#[derive(Debug, Args)]
pub struct BackupRef {
    /// specifies the server name for the command
    #[arg(value_name = "server_name")]
    pub server_name: String,
    /// specifies the backup ID
    #[arg(value_name = "backup_id")]
    pub backup_id: String,
}

/// `check` arguments.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// specifies the server names to check ('all' will check all available servers)
    #[arg(value_name = "server_name", required = true, num_args = 1..)]
    pub server_name: Vec<String>,
    /// Nagios plugin compatible output
    #[arg(long)]
    pub nagios: bool,
    /// Specifies the time limit, in seconds, for the check operation. Set to zero to disable
    /// the timeout.
    #[arg(long = "check-timeout", value_name = "TIMEOUT")]
    pub check_timeout: Option<u64>,
}

/// `keep --target` choices.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum KeepTargetArg {
    /// keep the backup and every WAL after it (point-in-time recovery stays possible)
    Full,
    /// keep the backup and only the WALs needed to make it consistent
    Standalone,
}

/// `keep` arguments. One action is needed, but its absence is Barman's own error (exit 1),
/// not argparse's (exit 2): see `handlers::keep`.
#[derive(Debug, Args)]
#[command(group = clap::ArgGroup::new("action").args(["release", "status", "target"]))]
pub struct KeepArgs {
    /// specifies the server name for the command
    #[arg(value_name = "server_name")]
    pub server_name: String,
    /// specifies the backup ID
    #[arg(value_name = "backup_id")]
    pub backup_id: String,
    /// remove the keep annotation
    #[arg(short = 'r', long)]
    pub release: bool,
    /// return the keep status of the backup
    #[arg(short = 's', long)]
    pub status: bool,
    /// keep this backup with the specified recovery target
    #[arg(long, value_enum)]
    pub target: Option<KeepTargetArg>,
}

/// `list-backups` arguments.
#[derive(Debug, Args)]
pub struct ListBackupsArgs {
    /// specifies the server name for the command ('all' will show all available servers)
    #[arg(value_name = "server_name", required = true, num_args = 1..)]
    pub server_name: Vec<String>,
    /// machine readable output
    #[arg(long)]
    pub minimal: bool,
}

/// `list-files --target` choices.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ListFilesTargetArg {
    /// base backup files, including required WAL files
    Standalone,
    /// just the data files
    Data,
    /// just WAL files between the beginning of base backup and the following one (if any) or
    /// the end of the log
    Wal,
    /// same as data + wal
    Full,
}

/// `list-files` arguments.
#[derive(Debug, Args)]
pub struct ListFilesArgs {
    /// specifies the server name for the command
    #[arg(value_name = "server_name")]
    pub server_name: String,
    /// specifies the backup ID
    #[arg(value_name = "backup_id")]
    pub backup_id: String,
    /// Possible values are: data (just the data files), standalone (base backup files,
    /// including required WAL files), wal (just WAL files between the beginning of base backup
    /// and the following one (if any) or the end of the log) and full (same as data + wal).
    /// Defaults to standalone
    #[arg(long, value_enum, default_value_t = ListFilesTargetArg::Standalone)]
    pub target: ListFilesTargetArg,
    /// Also includes empty directories in the list.
    #[arg(long = "list-empty-directories")]
    pub list_empty_directories: bool,
}

/// `check-wal-archive` arguments.
#[derive(Debug, Args)]
pub struct CheckWalArchiveArgs {
    /// specifies the server name for the command
    #[arg(value_name = "server_name")]
    pub server_name: String,
    /// the earliest timeline whose WALs should cause the check to fail
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    pub timeline: Option<u32>,
}

/// `receive-wal` arguments.
#[derive(Debug, Args)]
pub struct ReceiveWalArgs {
    /// specifies the server name for the command
    #[arg(value_name = "server_name")]
    pub server_name: String,
    /// stop the receive-wal subprocess for the server
    #[arg(long)]
    pub stop: bool,
    /// reset the status of receive-wal removing any status files
    #[arg(long)]
    pub reset: bool,
    /// create the replication slot, if it does not exist
    #[arg(long = "create-slot", conflicts_with = "drop_slot")]
    pub create_slot: bool,
    /// Do not error out if the slot already exists (with --create-slot)
    #[arg(long = "if-not-exists", requires = "create_slot")]
    pub if_not_exists: bool,
    /// drop the replication slot, if it exists
    #[arg(long = "drop-slot")]
    pub drop_slot: bool,
}

/// `replication-status --target` choices.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReplicationTarget {
    /// every streaming client
    All,
    /// hot standby servers
    HotStandby,
    /// WAL streamers
    WalStreamer,
}

/// `replication-status --source` choices.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReplicationSource {
    /// the server Barman backs up (conninfo)
    BackupHost,
    /// the server WAL comes from (wal_conninfo)
    WalHost,
}

/// `replication-status` arguments.
#[derive(Debug, Args)]
pub struct ReplicationStatusArgs {
    /// specifies the server name for the command
    #[arg(value_name = "server_name", required = true, num_args = 1..)]
    pub server_name: Vec<String>,
    /// machine readable output
    #[arg(long)]
    pub minimal: bool,
    /// Possible values are: 'hot-standby' (only hot standby servers), 'wal-streamer' (only
    /// WAL streaming clients, such as pg_receivewal), 'all' (any of them). Defaults to 'all'.
    #[arg(long, value_enum, default_value_t = ReplicationTarget::All)]
    pub target: ReplicationTarget,
    /// The source of the connection: 'backup-host' (conninfo) or 'wal-host' (wal_conninfo).
    #[arg(long, value_enum, default_value_t = ReplicationSource::BackupHost)]
    pub source: ReplicationSource,
}

/// `switch-wal` arguments.
#[derive(Debug, Args)]
pub struct SwitchWalArgs {
    /// specifies the server name target of the switch-wal command
    #[arg(value_name = "server_name", required = true, num_args = 1..)]
    pub server_name: Vec<String>,
    /// forces the switch of a WAL by executing a checkpoint before
    #[arg(long)]
    pub force: bool,
    /// wait for one WAL file to be archived
    #[arg(long)]
    pub archive: bool,
    /// the time, in seconds, the archiver will wait for a new WAL file to be archived
    /// before timing out
    #[arg(long = "archive-timeout", default_value_t = 30)]
    pub archive_timeout: u64,
}

/// `cloud-wal-archive` arguments.
#[derive(Debug, Args)]
pub struct CloudWalArchiveArgs {
    /// specifies the server name for the command
    #[arg(value_name = "server_name")]
    pub server_name: String,
    /// the value of the '%p' keyword (according to 'archive_command').
    #[arg(value_name = "wal_path")]
    pub wal_path: std::path::PathBuf,
    /// Specifies the maximum number of WALs to archive in parallel. Defaults to the server
    /// configuration value (cloud_wal_archive_parallel), which itself defaults to 0
    /// (disabled).
    #[arg(
        short = 'p',
        long,
        value_name = "PARALLEL",
        allow_negative_numbers = true
    )]
    pub parallel: Option<i64>,
}

/// `cloud-wal-restore` arguments.
#[derive(Debug, Args)]
pub struct CloudWalRestoreArgs {
    /// specifies the server name for the command
    #[arg(value_name = "server_name")]
    pub server_name: String,
    /// The value of the '%f' keyword (according to 'restore_command')
    #[arg(value_name = "wal_name")]
    pub wal_name: String,
    /// The value of the '%p' keyword (according to 'restore_command')
    #[arg(value_name = "wal_dest")]
    pub wal_dest: std::path::PathBuf,
    /// Specifies the number of files to peek and download in parallel. Default is 0
    /// (disabled)
    #[arg(
        short = 'p',
        long,
        value_name = "PARALLEL",
        allow_negative_numbers = true
    )]
    pub parallel: Option<i64>,
    /// Specifies a spool directory for extra WAL files that are downloaded in parallel.
    /// Defaults to '/var/tmp/walrestore'.
    #[arg(
        long = "spool-dir",
        value_name = "SPOOL_DIR",
        default_value = crate::clients::cloud::wal_restore::DEFAULT_SPOOL_DIR
    )]
    pub spool_dir: std::path::PathBuf,
}

/// `get-wal` arguments.
#[derive(Debug, Args)]
pub struct GetWalArgs {
    /// specifies the server name for the command
    #[arg(value_name = "server_name")]
    pub server_name: String,
    /// the WAL file to get
    #[arg(value_name = "wal_name")]
    pub wal_name: String,
    /// put the retrieved WAL file in this directory with the original name
    #[arg(short = 'o', long = "output-directory")]
    pub output_directory: Option<std::path::PathBuf>,
    /// retrieve only partial WAL files (.partial)
    #[arg(short = 'P', long)]
    pub partial: bool,
    /// compress the output with gzip
    #[arg(
        short = 'z',
        short_alias = 'x',
        long = "gzip",
        overrides_with = "bzip2"
    )]
    pub gzip: bool,
    /// compress the output with bzip2
    #[arg(short = 'j', long = "bzip2", overrides_with = "gzip")]
    pub bzip2: bool,
    /// do not decompress the output if compressed
    #[arg(long = "keep-compression")]
    pub keep_compression: bool,
    /// peek from the WAL archive up to 'SIZE' WAL files, starting from the requested one.
    /// 'SIZE' must be an integer >= 1. When invoked with this option, get-wal returns a
    /// list of zero to 'SIZE' WAL segment names, one per row.
    #[arg(short = 'p', long = "peek", value_name = "SIZE", value_parser = clap::value_parser!(u32).range(1..))]
    pub peek: Option<u32>,
    /// test both the connection and the configuration of the requested PostgreSQL server in
    /// Barman for WAL retrieval. With this option, the 'wal_name' mandatory argument is
    /// ignored.
    #[arg(short = 't', long)]
    pub test: bool,
}

/// `put-wal` arguments.
#[derive(Debug, Args)]
pub struct PutWalArgs {
    /// specifies the server name for the command
    #[arg(value_name = "server_name")]
    pub server_name: String,
    /// test both the connection and the configuration of the requested PostgreSQL server in
    /// Barman to make sure it is ready to receive WAL files
    #[arg(short = 't', long)]
    pub test: bool,
}

/// One server name.
#[derive(Debug, Args)]
pub struct ServerArg {
    /// specifies the server name for the command
    #[arg(value_name = "server_name")]
    pub server_name: String,
}

/// One or more server names (`all` for every server).
#[derive(Debug, Args)]
pub struct ServersArg {
    /// specifies the server names for the command ('all' will use all available servers)
    #[arg(value_name = "server_name", required = true, num_args = 1..)]
    pub server_name: Vec<String>,
}

/// `diagnose` options.
#[derive(Debug, Args)]
pub struct DiagnoseArgs {
    /// Include the source file which provides the effective value for each configuration
    /// option
    #[arg(long = "show-config-source")]
    pub show_config_source: bool,
}

/// `list-servers` options.
#[derive(Debug, Args)]
pub struct ListServersArgs {
    /// machine readable output
    #[arg(long)]
    pub minimal: bool,
}

/// `show-servers` arguments.
#[derive(Debug, Args)]
pub struct ShowServersArgs {
    /// specifies the server names to show ('all' will show all available servers)
    #[arg(value_name = "server_name", required = true, num_args = 1..)]
    pub server_name: Vec<String>,
}
