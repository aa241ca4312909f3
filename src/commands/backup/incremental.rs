//! `backup --incremental`: the parent named on the command line, Barman's checks that it
//! can be one, and the parent's record of its children.

use super::settings::{Method, Settings};
use super::Job;
use crate::adapters::catalog::layout::ServerDirs;
use crate::adapters::catalog::store;
use crate::adapters::pg_backup::ServerFacts;
use crate::core::backup_id::BackupId;
use crate::core::backup_info::{BackupInfo, Field};
use crate::core::pg_version::PgVersion;
use crate::output::Output;
use std::ops::ControlFlow;

/// The parent named by `--incremental`, resolved against the catalog; `Break` when it
/// names no backup (already reported).
pub(super) fn incremental_parent(
    out: &mut Output,
    job: &Job<'_>,
) -> crate::Result<ControlFlow<(), Option<(BackupId, BackupInfo)>>> {
    let Some(arg) = &job.options.incremental else {
        return Ok(ControlFlow::Continue(None));
    };
    let catalog = crate::commands::catalog::ServerCatalog::load(
        job.server,
        &job.lock_dir,
        *job.ctx.now.offset(),
    )?;
    let Some(id) = catalog.resolve(arg, out) else {
        return Ok(ControlFlow::Break(()));
    };
    let info = catalog
        .backups
        .get(&id)
        .cloned()
        .unwrap_or_else(BackupInfo::empty);
    Ok(ControlFlow::Continue(Some((id, info))))
}

/// Append `child` to the parent's `children_backup_ids`.
pub(super) fn add_child(
    dirs: &ServerDirs,
    parent_id: &BackupId,
    child: &BackupId,
) -> crate::Result<()> {
    let mut parent_info = store::load_backup(dirs, parent_id)?;
    let mut children: Vec<String> = parent_info
        .raw(Field::ChildrenBackupIds)
        .map(|c| c.split(',').map(str::to_string).collect())
        .unwrap_or_default();
    children.push(child.to_string());
    parent_info.set_raw(Field::ChildrenBackupIds, Some(children.join(",")));
    store::save_backup(dirs, parent_id, &parent_info)?;
    Ok(())
}

/// Barman's `_validate_incremental_backup_configs`.
pub(super) fn validate_incremental(
    settings: &Settings,
    facts: &ServerFacts,
    parent_id: &BackupId,
    parent: &BackupInfo,
) -> Result<(), String> {
    if facts.version < PgVersion::V17 {
        return Err("Postgres version 17 or greater is required for incremental backups using the Postgres backup method".into());
    }
    if !matches!(settings.method, Method::Postgres | Method::PostgresToCloud) {
        return Err("Backup using the `--incremental` flag is available only for 'backup_method = postgres'. Check Barman's documentation for more help on this topic.".into());
    }
    if facts.summarize_wal.as_deref() != Some("on") {
        return Err("'summarize_wal' option has to be enabled in the Postgres server to perform an incremental backup using the Postgres backup method".into());
    }
    if parent.raw(Field::SummarizeWal) != Some("on") {
        return Err(format!("Backup ID {parent_id} is not eligible as a parent for an incremental backup because WAL summaries were not enabled when that backup was taken."));
    }
    Ok(())
}
