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
    match command {
        Command::Backup(_) => CommandSpec {
            name: "backup",
            stops_on_global_errors: true,
        },
        Command::Check(_) => CommandSpec {
            name: "check",
            stops_on_global_errors: true,
        },
        Command::CheckBackup(_) => CommandSpec {
            name: "check-backup",
            stops_on_global_errors: true,
        },
        Command::CheckArchivedWalRange(_) => CommandSpec {
            name: "check-archived-wal-range",
            stops_on_global_errors: true,
        },
        Command::ConfigSwitch(_) => CommandSpec {
            name: "config-switch",
            stops_on_global_errors: true,
        },
        Command::ConfigUpdate(_) => CommandSpec {
            name: "config-update",
            stops_on_global_errors: true,
        },
        Command::Help => CommandSpec {
            name: "help",
            stops_on_global_errors: false,
        },
        Command::Metrics(_) => CommandSpec {
            name: "metrics",
            stops_on_global_errors: true,
        },
        Command::VerifyArchive(_) => CommandSpec {
            name: "verify-archive",
            stops_on_global_errors: true,
        },
        Command::Drill(_) => CommandSpec {
            name: "drill",
            stops_on_global_errors: true,
        },
        Command::Cron(_) => CommandSpec {
            name: "cron",
            stops_on_global_errors: true,
        },
        Command::ListProcesses(_) => CommandSpec {
            name: "list-processes",
            stops_on_global_errors: true,
        },
        Command::LockDirectoryCleanup => CommandSpec {
            name: "lock-directory-cleanup",
            stops_on_global_errors: true,
        },
        Command::TerminateProcess(_) => CommandSpec {
            name: "terminate-process",
            stops_on_global_errors: true,
        },
        Command::Delete(_) => CommandSpec {
            name: "delete",
            stops_on_global_errors: true,
        },
        Command::Keep(_) => CommandSpec {
            name: "keep",
            stops_on_global_errors: true,
        },
        Command::ListBackups(_) => CommandSpec {
            name: "list-backups",
            stops_on_global_errors: true,
        },
        Command::ListFiles(_) => CommandSpec {
            name: "list-files",
            stops_on_global_errors: true,
        },
        Command::Restore(_) => CommandSpec {
            name: "restore",
            stops_on_global_errors: true,
        },
        Command::ShowBackup(_) => CommandSpec {
            name: "show-backup",
            stops_on_global_errors: true,
        },
        Command::Status(_) => CommandSpec {
            name: "status",
            stops_on_global_errors: true,
        },
        Command::SyncBackup(_) => CommandSpec {
            name: "sync-backup",
            stops_on_global_errors: true,
        },
        Command::SyncInfo(_) => CommandSpec {
            name: "sync-info",
            stops_on_global_errors: true,
        },
        Command::SyncWals(_) => CommandSpec {
            name: "sync-wals",
            stops_on_global_errors: true,
        },
        Command::ArchiveWal(_) => CommandSpec {
            name: "archive-wal",
            stops_on_global_errors: true,
        },
        Command::GetWal(_) => CommandSpec {
            name: "get-wal",
            stops_on_global_errors: true,
        },
        Command::PutWal(_) => CommandSpec {
            name: "put-wal",
            stops_on_global_errors: true,
        },
        Command::ReceiveWal(_) => CommandSpec {
            name: "receive-wal",
            stops_on_global_errors: true,
        },
        Command::RebuildXlogdb(_) => CommandSpec {
            name: "rebuild-xlogdb",
            stops_on_global_errors: true,
        },
        Command::CheckWalArchive(_) => CommandSpec {
            name: "check-wal-archive",
            stops_on_global_errors: true,
        },
        Command::Diagnose(_) => CommandSpec {
            name: "diagnose",
            stops_on_global_errors: false,
        },
        Command::ListServers(_) => CommandSpec {
            name: "list-servers",
            stops_on_global_errors: true,
        },
        Command::SwitchWal(_) => CommandSpec {
            name: "switch-wal",
            stops_on_global_errors: true,
        },
        Command::ReplicationStatus(_) => CommandSpec {
            name: "replication-status",
            stops_on_global_errors: true,
        },
        Command::GenerateManifest(_) => CommandSpec {
            name: "generate-manifest",
            stops_on_global_errors: true,
        },
        Command::VerifyBackup(_) => CommandSpec {
            name: "verify-backup",
            stops_on_global_errors: true,
        },
        Command::ExportBackup(_) => CommandSpec {
            name: "export-backup",
            stops_on_global_errors: true,
        },
        Command::ImportBackup(_) => CommandSpec {
            name: "import-backup",
            stops_on_global_errors: true,
        },
        Command::ShowServers(_) => CommandSpec {
            name: "show-servers",
            stops_on_global_errors: true,
        },
    }
}
