//! Retention enforcement inside `cron` (Barman's `BackupManager.cron_retention_policy`):
//! backups marked `delete_this` by an interrupted delete are OBSOLETE again, orphans are
//! reported and skipped, and every OBSOLETE backup is deleted under its
//! `.<server>-<ID>.lock` with WAL clean-up allowed past standalone backups. `OBSOLETE*`
//! (kept for `minimum_redundancy`) is never deleted.

use crate::adapters::catalog::layout::ServerDirs;
use crate::adapters::catalog::{annotations, store};
use crate::adapters::lock::LockKind;
use crate::commands::catalog::{delete_backup_locked, ServerCatalog};
use crate::commands::hooks::Hooks;
use crate::commands::Context;
use crate::core::backup_id::BackupId;
use crate::core::backup_info::{BackupInfo, BackupStatus};
use crate::core::config::ServerConfig;
use crate::core::retention::RetentionStatus;
use crate::output::Output;
use std::path::Path;

/// Barman's `LocalBackupInfo.is_orphan`: a backup.info in `meta/` without its folder, or
/// a legacy folder holding nothing but its backup.info.
pub(crate) fn is_orphan(dirs: &ServerDirs, id: &BackupId, info: &BackupInfo) -> bool {
    // A backup in the cloud has no local folder: its objects are the bucket's business
    // (Python lists them; here the delete that follows removes whatever is there).
    if info.status() == BackupStatus::Empty
        || dirs.basebackups_directory.to_string_lossy().contains("://")
    {
        return false;
    }
    let base = dirs.backup_base(id);
    if dirs.backup_info(id).exists() && !base.exists() {
        return true;
    }
    if base.exists() && dirs.legacy_backup_info(id).exists() {
        return std::fs::read_dir(&base).is_ok_and(|entries| entries.count() == 1);
    }
    false
}

/// Enforce the server's retention policy (mode `auto` only; nothing without a policy).
pub fn enforce(
    ctx: &Context,
    out: &mut Output,
    server: &ServerConfig,
    lock_dir: &Path,
) -> crate::Result<()> {
    if server.retention_policy_mode() != Some("auto") {
        return Ok(());
    }
    let catalog = ServerCatalog::load(server, lock_dir, *ctx.now.offset())?;
    let Some(mut report) = catalog.retention(ctx.now)? else {
        return Ok(());
    };
    let dirs = &catalog.dirs;
    for (id, info) in &catalog.backups {
        if annotations::read(dirs, id, annotations::DELETE_THIS)?.is_some() {
            report.insert(id.to_string(), RetentionStatus::Obsolete);
            annotations::delete(dirs, id, annotations::DELETE_THIS)?;
        } else if is_orphan(dirs, id, info) {
            out.warning(&format!(
                "Backup '{id}' is an orphan backup, this is possibly the result of an incomplete delete operation. Please manually delete the following files or directories if present:\n* {} \n* {} \n",
                dirs.backup_base(id).display(),
                info_filename(dirs, id).display()
            ));
        }
    }
    let name = server.name();
    let hooks = Hooks::new(&ctx.config, server);
    for (id, status) in &report {
        if *status != RetentionStatus::Obsolete {
            continue;
        }
        let Some((id, info)) = catalog.backups.get_key_value(id.as_str()) else {
            continue;
        };
        let Some(_lock) = crate::commands::locks::take(
            out,
            lock_dir,
            &LockKind::Backup(name.into(), id.to_string()),
            &crate::commands::locks::CRON_RETENTION,
        )?
        else {
            continue;
        };
        if is_orphan(dirs, id, info) {
            out.debug(&format!(
                "Skipping deletion of orphan backup: '{id}' at '{}'.",
                dirs.backup_base(id).display()
            ));
            continue;
        }
        out.info(&format!(
            "Enforcing retention policy: removing backup {id} for server {name}"
        ));
        delete_backup_locked(server, lock_dir, &hooks, id, out, false)?;
    }
    Ok(())
}

/// `get_filename()`: the `meta/` backup.info unless only the legacy one exists.
fn info_filename(dirs: &ServerDirs, id: &BackupId) -> std::path::PathBuf {
    let meta = dirs.backup_info(id);
    if meta.exists() || !dirs.legacy_backup_info(id).exists() {
        meta
    } else {
        store::backup_info_path(dirs, id)
    }
}
