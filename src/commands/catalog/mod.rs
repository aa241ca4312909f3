//! Catalog commands: list-backups, show-backup, list-files, delete, keep, check-backup.

mod check;
mod cloud_objects;
mod common;
mod delete;
mod delete_repr;
mod files;
mod list;
mod show;
mod show_json;
pub(crate) mod show_render;
mod show_window;

pub use check::check_backup_status;
pub use common::{segment_size, tablespace_oids, ServerCatalog};
pub use delete::{delete_backup, delete_backup_locked, remove_wals_for};
pub use show::last_drill;

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
    list::run(ctx, out, servers, minimal)
}

/// `show-backup`.
pub fn show_backup(
    ctx: &Context,
    out: &mut Output,
    server: &str,
    backup_id: &str,
) -> crate::Result<()> {
    show::run(ctx, out, server, backup_id)
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
    files::list_files(ctx, out, server, backup_id, target, list_empty_directories)
}

/// `delete`.
pub fn delete(ctx: &Context, out: &mut Output, server: &str, backup_id: &str) -> crate::Result<()> {
    delete::run(ctx, out, server, backup_id)
}

/// `keep`.
pub fn keep(
    ctx: &Context,
    out: &mut Output,
    server: &str,
    backup_id: &str,
    action: KeepAction,
) -> crate::Result<()> {
    files::keep(ctx, out, server, backup_id, action)
}

/// `check-backup`.
pub fn check_backup(
    ctx: &Context,
    out: &mut Output,
    server: &str,
    backup_id: &str,
) -> crate::Result<()> {
    check::run(ctx, out, server, backup_id)
}
