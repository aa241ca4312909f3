//! Command-line definitions (clap derive). clap types live only here; `app` turns them into
//! typed, resolved requests. Only commands that work are defined: a Barman command we do not
//! support yet is absent from `--help` (and clap rejects it with exit 2).

pub mod abbrev;
mod args;
mod args_cfgcmds;
mod args_drill;
mod args_export;
mod args_metrics;
mod args_verify_archive;
pub mod checks;

pub use args::*;
pub use args_cfgcmds::*;
pub use args_drill::*;
pub use args_export::*;
pub use args_metrics::*;
pub use args_verify_archive::*;

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

/// The `barman` command line.
#[derive(Debug, Parser)]
#[command(
    name = "barman",
    about = "Barman: Backup and Recovery Manager for PostgreSQL",
    disable_version_flag = true,
    disable_help_subcommand = true,
    after_help = "Barman by EnterpriseDB (www.enterprisedb.com), reimplemented in Rust."
)]
pub struct Cli {
    /// Global options.
    #[command(flatten)]
    pub global: GlobalArgs,
    /// The command to run (none prints this help).
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Options accepted before any command (Barman's top-level parser).
#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// show program's version number and exit
    #[arg(short = 'v', long = "version", global = true)]
    pub version: bool,
    /// uses a configuration file (defaults: ~/.barman.conf, /etc/barman.conf,
    /// /etc/barman/barman.conf)
    #[arg(
        short = 'c',
        long = "config",
        value_name = "CONFIG",
        global = true,
        env = "BARMAN_CONFIG_FILE"
    )]
    pub config: Option<PathBuf>,
    /// use coloured output
    #[arg(long = "color", visible_alias = "colour", value_enum, default_value_t = ColorArg::Auto, global = true)]
    pub color: ColorArg,
    /// override the default log level
    #[arg(long = "log-level", value_enum, global = true)]
    pub log_level: Option<LogLevelArg>,
    /// be quiet
    #[arg(short = 'q', long = "quiet", global = true)]
    pub quiet: bool,
    /// debug output
    #[arg(short = 'd', long = "debug", global = true)]
    pub debug: bool,
    /// output format
    #[arg(short = 'f', long = "format", value_enum, default_value_t = FormatArg::Console, global = true)]
    pub format: FormatArg,
}

/// `--color` choices.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorArg {
    /// never colour
    Never,
    /// always colour
    Always,
    /// colour when stdout and stderr are terminals
    Auto,
}

/// `--log-level` choices (Python logging level names).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
#[value(rename_all = "UPPER")]
pub enum LogLevelArg {
    /// NOTSET
    Notset,
    /// DEBUG
    Debug,
    /// INFO
    Info,
    /// WARNING
    Warning,
    /// ERROR
    Error,
    /// CRITICAL
    Critical,
}

impl LogLevelArg {
    /// The Python level name.
    pub fn name(self) -> &'static str {
        match self {
            LogLevelArg::Notset => "NOTSET",
            LogLevelArg::Debug => "DEBUG",
            LogLevelArg::Info => "INFO",
            LogLevelArg::Warning => "WARNING",
            LogLevelArg::Error => "ERROR",
            LogLevelArg::Critical => "CRITICAL",
        }
    }
}

/// `-f/--format` choices.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FormatArg {
    /// human-readable lines
    Console,
    /// one JSON object
    Json,
}

/// The supported commands, with Barman's names and aliases.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Execute maintenance operations on WAL files for a given server. This command
    /// processes any incoming WAL files for the server and archives them along the
    /// catalogue.
    ArchiveWal(ServerArg),
    /// Perform a full backup for the given server (supports 'all')
    Backup(BackupArgs),
    /// Check if the server configuration is working. This command returns success if every
    /// checks pass, or failure if any of these fails
    Check(CheckArgs),
    /// Verify that all WAL segments between begin_wal and end_wal are present in the
    /// server's WAL archive.
    CheckArchivedWalRange(CheckArchivedWalRangeArgs),
    /// Make sure that all the required WAL files to check the consistency of a physical
    /// backup (that is, from the beginning to the end of the full backup) are correctly
    /// archived. This command is automatically invoked by the cron command and at the end of
    /// every backup operation.
    CheckBackup(BackupRef),
    /// Check the WAL archive can be safely used for a new server. This will fail if there are
    /// any existing WALs in the archive. If the --timeline option is used then any WALs on
    /// earlier timelines than that specified will not cause the check to fail.
    CheckWalArchive(CheckWalArchiveArgs),
    /// Push a WAL file from the local disk to a configured cloud object storage. This command
    /// is intended to be used as 'archive_command' in Postgres when using the
    /// 'local-to-cloud' backup method for taking base backups.
    CloudWalArchive(CloudWalArchiveArgs),
    /// Pull a WAL file from a configured cloud object storage to the local disk. This command
    /// is intended to be used as 'restore_command' in Postgres when restoring WALs from a
    /// cloud object storage.
    CloudWalRestore(CloudWalRestoreArgs),
    /// Change the active configuration for a server by applying a named model on top of it,
    /// or by resetting the active model.
    ConfigSwitch(ConfigSwitchArgs),
    /// Receives a set of configuration changes in json format and applies them.
    ConfigUpdate(ConfigUpdateArgs),
    /// Run maintenance tasks (global command)
    Cron(CronArgs),
    /// Delete a backup
    Delete(BackupRef),
    /// Diagnostic command (for support and problems detection purpose)
    Diagnose(DiagnoseArgs),
    /// Prove that a backup restores: restore it into a scratch directory, start it, wait
    /// for its target, run pg_amcheck and count rows, record the outcome, remove it all.
    Drill(DrillArgs),
    /// Export a backup for the given server and backup ID to a tarball.
    ExportBackup(ExportBackupArgs),
    /// Generate a manifest-backup for the given server and backup id
    GenerateManifest(BackupRef),
    /// Retrieve WAL_NAME file from SERVER_NAME archive. The content will be streamed on
    /// standard output unless the --output-directory option is specified.
    GetWal(GetWalArgs),
    /// show this help message and exit
    Help,
    /// Import a previously exported backup tarball into the Barman catalog.
    ImportBackup(ImportBackupArgs),
    /// Tag the specified backup so that it will never be deleted
    Keep(KeepArgs),
    /// List available backups for the given server (supports 'all')
    #[command(visible_alias = "list-backup")]
    ListBackups(ListBackupsArgs),
    /// List all the files for a single backup
    ListFiles(ListFilesArgs),
    /// List all the active subprocesses started by the specified server.
    #[command(visible_alias = "list-process")]
    ListProcesses(ServerArg),
    /// List available servers, with useful information
    #[command(visible_alias = "list-server")]
    ListServers(ListServersArgs),
    /// Cleanup command for the lock directory, takes care of leftover lock files.
    LockDirectoryCleanup,
    /// Print each server's catalog as Prometheus metrics (backup age and size, WAL archive
    /// lag and rate, archiver errors, disk usage, retention) for node_exporter's textfile
    /// collector.
    Metrics(MetricsArgs),
    /// Receive a WAL file from SERVER_NAME and securely store it in the incoming directory.
    /// The file will be read from standard input in tar format.
    PutWal(PutWalArgs),
    /// Start a receive-wal process. The process uses the streaming protocol to receive WAL
    /// files from the PostgreSQL server.
    ReceiveWal(ReceiveWalArgs),
    /// Rebuild the WAL file database guessing it from the disk content.
    #[command(name = "rebuild-xlogdb")]
    RebuildXlogdb(ServersArg),
    /// Shows live information and status of any streaming client
    ReplicationStatus(ReplicationStatusArgs),
    /// Restore a server at a given time, name, LSN or xid
    #[command(visible_alias = "recover")]
    Restore(Box<RestoreArgs>),
    /// This method shows a single backup information
    #[command(visible_alias = "show-backups")]
    ShowBackup(BackupRef),
    /// Show all configuration parameters for the specified servers
    #[command(visible_alias = "show-server")]
    ShowServers(ShowServersArgs),
    /// Shows live information and status of the PostgreSQL server
    Status(ServersArg),
    /// Execute the switch-wal command on the target server
    #[command(visible_alias = "switch-xlog")]
    SwitchWal(SwitchWalArgs),
    /// Command that synchronises a backup from a master to a passive node
    SyncBackup(SyncBackupArgs),
    /// Output the internal synchronisation status. Used to sync_backup with a passive node
    SyncInfo(SyncInfoArgs),
    /// Command that synchronises WAL files from a master to a passive node
    SyncWals(ServerArg),
    /// Terminate a Barman server subprocess specified by task name.
    TerminateProcess(TerminateProcessArgs),
    /// Verify the WAL archive: checksums recorded at archive time, files that do not
    /// decompress to a whole segment, timeline history files, gaps between each backup's
    /// first WAL and the newest one. Reads only files new since the last run unless --full.
    VerifyArchive(VerifyArchiveArgs),
    /// verify a backup for the given server and backup id
    #[command(visible_alias = "verify")]
    VerifyBackup(BackupRef),
}

/// Parse the process arguments, abbreviated long options included ([`abbrev`]); usage
/// errors print clap's message and exit 2 (argparse's code).
pub fn parse() -> Cli {
    abbrev::parse_with(command())
}

/// The clap command tree, laid out as argparse prints help (the parser, the help text and
/// the shell completions all use it).
pub fn command() -> clap::Command {
    let mut cmd = <Cli as clap::CommandFactory>::command();
    // Built first, so the global options are already copied into every command.
    cmd.build();
    cmd.mut_args(argparse_help_flag)
        .mut_subcommands(argparse_command_help)
}

/// The global options accepted after a command name (argparse refuses them there), shown
/// after the command's own options instead of mixed with them.
const GLOBAL_HEADING: &str = "Global options";

/// argparse's `-h, --help` line.
fn argparse_help_flag(arg: clap::Arg) -> clap::Arg {
    if arg.get_id() == "help" {
        let text = "show this help message and exit";
        arg.help(text).long_help(text).display_order(0)
    } else {
        arg
    }
}

/// A command's help as argparse lays it out: usage, description, positional arguments,
/// then its own options as one group starting with `-h, --help`; the global options follow
/// under their own heading.
fn argparse_command_help(sub: clap::Command) -> clap::Command {
    let mut order = 0;
    sub.help_template("{usage-heading} {usage}\n\n{about-with-newline}\n{all-args}{after-help}")
        .mut_args(|arg| {
            if arg.is_global_set() {
                return arg.help_heading(GLOBAL_HEADING);
            }
            if arg.get_id() == "help" {
                return argparse_help_flag(arg);
            }
            order += 1;
            arg.display_order(order)
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cli_definition_is_consistent() {
        command().debug_assert();
    }

    #[test]
    fn cli_accepts_aliases_and_global_options_after_command() {
        let cli = Cli::try_parse_from(["barman", "list-server", "-q", "--minimal"]).unwrap();
        assert!(cli.global.quiet);
        assert!(matches!(
            cli.command,
            Some(Command::ListServers(ListServersArgs { minimal: true }))
        ));
    }

    #[test]
    fn cli_show_servers_requires_a_name() {
        let err = Cli::try_parse_from(["barman", "show-servers"]).unwrap_err();
        assert_eq!(err.exit_code(), 2);
    }

    #[test]
    fn cli_cloud_wal_commands_take_barmans_arguments() {
        let cli =
            Cli::try_parse_from(["barman", "cloud-wal-archive", "pg", "x", "-p", "3"]).unwrap();
        assert!(matches!(
            cli.command,
            Some(Command::CloudWalArchive(CloudWalArchiveArgs {
                parallel: Some(3),
                ..
            }))
        ));
        let cli = Cli::try_parse_from(["barman", "cloud-wal-restore", "pg", "f", "p"]).unwrap();
        let Some(Command::CloudWalRestore(args)) = cli.command else {
            panic!("not cloud-wal-restore");
        };
        assert_eq!(
            args.spool_dir,
            std::path::PathBuf::from("/var/tmp/walrestore")
        );
        let err = Cli::try_parse_from(["barman", "cloud-wal-archive", "pg"]).unwrap_err();
        assert_eq!(err.exit_code(), 2);
    }
}
