//! Per-command metadata the dispatcher applies (pgBackRest's command table idea), instead of
//! repeating the same checks in every command.

use crate::cli::Command;

/// What the dispatcher must do around a command.
#[derive(Debug, Clone, Copy)]
pub struct CommandSpec {
    /// Barman's command name.
    pub name: &'static str,
    /// Global configuration errors (e.g. two servers sharing a directory) are printed and
    /// stop the command. Only `diagnose` reports them instead.
    pub stops_on_global_errors: bool,
}

/// The spec of a parsed command.
pub fn of(command: &Command) -> CommandSpec {
    let name = match command {
        Command::Backup(_) => "backup",
        Command::Check(_) => "check",
        Command::CheckBackup(_) => "check-backup",
        Command::CheckArchivedWalRange(_) => "check-archived-wal-range",
        Command::CloudWalArchive(_) => "cloud-wal-archive",
        Command::CloudWalRestore(_) => "cloud-wal-restore",
        Command::ConfigSwitch(_) => "config-switch",
        Command::ConfigUpdate(_) => "config-update",
        Command::Help => "help",
        Command::Metrics(_) => "metrics",
        Command::Drill(_) => "drill",
        Command::VerifyArchive(_) => "verify-archive",
        Command::Cron(_) => "cron",
        Command::ListProcesses(_) => "list-processes",
        Command::LockDirectoryCleanup => "lock-directory-cleanup",
        Command::TerminateProcess(_) => "terminate-process",
        Command::Delete(_) => "delete",
        Command::Keep(_) => "keep",
        Command::ListBackups(_) => "list-backups",
        Command::ListFiles(_) => "list-files",
        Command::Restore(_) => "restore",
        Command::ShowBackup(_) => "show-backup",
        Command::Status(_) => "status",
        Command::SyncBackup(_) => "sync-backup",
        Command::SyncInfo(_) => "sync-info",
        Command::SyncWals(_) => "sync-wals",
        Command::ArchiveWal(_) => "archive-wal",
        Command::GetWal(_) => "get-wal",
        Command::PutWal(_) => "put-wal",
        Command::ReceiveWal(_) => "receive-wal",
        Command::RebuildXlogdb(_) => "rebuild-xlogdb",
        Command::CheckWalArchive(_) => "check-wal-archive",
        Command::Diagnose(_) => "diagnose",
        Command::ListServers(_) => "list-servers",
        Command::SwitchWal(_) => "switch-wal",
        Command::ReplicationStatus(_) => "replication-status",
        Command::GenerateManifest(_) => "generate-manifest",
        Command::VerifyBackup(_) => "verify-backup",
        Command::ExportBackup(_) => "export-backup",
        Command::ImportBackup(_) => "import-backup",
        Command::ShowServers(_) => "show-servers",
    };
    CommandSpec {
        name,
        // `diagnose` reports global configuration errors instead; `help` needs no server.
        stops_on_global_errors: !matches!(command, Command::Help | Command::Diagnose(_)),
    }
}
