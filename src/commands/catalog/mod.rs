//! Catalog commands: list-backups, show-backup, list-files, delete, keep, check-backup.

use crate::commands::Context;
use crate::output::Output;

/// `list-files --target`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListFilesTarget {
    /// base backup files, including required WAL files
    Standalone,
    /// just the data files
    Data,
    /// WAL files from the backup's begin to the next backup
    Wal,
    /// data + wal
    Full,
}

/// What `keep` does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeepAction {
    /// `--release`
    Release,
    /// `--status`
    Status,
    /// `--target full`
    Full,
    /// `--target standalone`
    Standalone,
}

/// `list-backups`.
pub fn list_backups(
    ctx: &Context,
    out: &mut Output,
    servers: &[String],
    minimal: bool,
) -> crate::Result<()> {
    let _ = (ctx, out, servers, minimal);
    Err(crate::Error::Fatal("SCAFFOLD list-backups".into()))
}

/// `show-backup`.
pub fn show_backup(
    ctx: &Context,
    out: &mut Output,
    server: &str,
    backup_id: &str,
) -> crate::Result<()> {
    let _ = (ctx, out, server, backup_id);
    Err(crate::Error::Fatal("SCAFFOLD show-backup".into()))
}

/// `list-files`.
pub fn list_files(
    ctx: &Context,
    out: &mut Output,
    server: &str,
    backup_id: &str,
    target: ListFilesTarget,
    list_empty_directories: bool,
) -> crate::Result<()> {
    let _ = (ctx, out, server, backup_id, target, list_empty_directories);
    Err(crate::Error::Fatal("SCAFFOLD list-files".into()))
}

/// `delete`.
pub fn delete(ctx: &Context, out: &mut Output, server: &str, backup_id: &str) -> crate::Result<()> {
    let _ = (ctx, out, server, backup_id);
    Err(crate::Error::Fatal("SCAFFOLD delete".into()))
}

/// `keep`.
pub fn keep(
    ctx: &Context,
    out: &mut Output,
    server: &str,
    backup_id: &str,
    action: KeepAction,
) -> crate::Result<()> {
    let _ = (ctx, out, server, backup_id, action);
    Err(crate::Error::Fatal("SCAFFOLD keep".into()))
}

/// `check-backup`.
pub fn check_backup(
    ctx: &Context,
    out: &mut Output,
    server: &str,
    backup_id: &str,
) -> crate::Result<()> {
    let _ = (ctx, out, server, backup_id);
    Err(crate::Error::Fatal("SCAFFOLD check-backup".into()))
}

// INTEGRATION-STUB (replaced by the catalog branch)
/// stub
pub fn check_backup_status(
    _server: &crate::core::config::ServerConfig,
    _id: &str,
    _out: &mut Output,
) -> crate::Result<()> {
    Ok(())
}
/// stub
pub fn remove_wal_before_backup(
    _server: &crate::core::config::ServerConfig,
    _id: &str,
    _out: &mut Output,
) -> crate::Result<()> {
    Ok(())
}
