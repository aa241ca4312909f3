//! `delete`: remove a backup (and its incremental descendants) with Barman's checks, locks,
//! WAL clean-up and messages (`Server.delete_backup`, `BackupManager.delete_backup`).

use super::common::{backup_type, bad_wal_name_message, children, ServerCatalog};
use super::delete_repr::backup_info_repr;
use crate::adapters::catalog::wal_removal::{self, WalEvent};
use crate::adapters::catalog::{annotations, backup_dir, store};
use crate::adapters::lock::LockKind;
use crate::commands::hooks::{backup_facts, wal_facts, HookAbort, Hooks};
use crate::commands::{select, Context};
use crate::core::backup_id::BackupId;
use crate::core::backup_info::BackupStatus;
use crate::core::backup_info::Field;
use crate::core::backup_wals::{should_remove_wals, BackupWalRange, WalProtection};
use crate::core::config::ServerConfig;
use crate::core::hooks::{HookFamily, Phase};
use crate::core::retention::KeepTarget;
use crate::output::python::{ctime, human_timedelta};
use crate::output::Output;
use std::path::{Path, PathBuf};

/// restore, get-wal and delete refuse disabled servers, run on inactive ones.
const REFUSE_DISABLED: select::Policy = select::Policy {
    inactive_is_error: false,
    skip_inactive: false,
    disabled_is_error: true,
};

/// `delete SERVER ID`.
pub fn run(ctx: &Context, out: &mut Output, server: &str, backup_id: &str) -> crate::Result<()> {
    let Some(server) = select::single(&ctx.config, server, out, REFUSE_DISABLED) else {
        return Ok(());
    };
    let lock_dir = PathBuf::from(&ctx.config.global.barman_lock_directory);
    let catalog = ServerCatalog::load(server, &lock_dir, *ctx.now.offset())?;
    let Some(id) = catalog.resolve(backup_id, out) else {
        return Ok(());
    };
    let hooks = Hooks::new(&ctx.config, server);
    let repr = backup_info_repr(&catalog.backups[&id], catalog.local_offset);
    if !delete_checked(catalog, &hooks, &id, out)? {
        out.error(&format!("Cannot delete backup ({} {repr})", server.name()));
    }
    Ok(())
}

/// Barman's `Server.delete_backup`: refuse kept backups and minimum-redundancy violations,
/// then take the server lock and delete the incremental tree bottom-up. The catalog is
/// dropped before the deletions, which each read it again under their lock (holding both
/// doubled the memory of a large catalog).
fn delete_checked(
    catalog: ServerCatalog,
    hooks: &Hooks,
    id: &BackupId,
    out: &mut Output,
) -> crate::Result<bool> {
    let name = catalog.server.name();
    let info = &catalog.backups[id];
    if catalog.keep_raw(id)?.is_some() {
        out.warning(&format!(
            "Skipping delete of backup {id} for server {name} as it has a current keep request. If you really want to delete this backup please remove the keep and try again."
        ));
        return Ok(false);
    }
    let done_full = catalog
        .backups
        .values()
        .filter(|b| b.status() == BackupStatus::Done && backup_type(b) != "incremental")
        .count();
    let minimum = catalog.server.minimum_redundancy_count();
    if info.status() == BackupStatus::Done
        && info.raw(Field::ParentBackupId).is_none()
        && minimum as usize >= done_full
    {
        out.warning(&format!(
            "Skipping delete of backup {id} for server {name} due to minimum redundancy requirements (minimum redundancy = {minimum}, current redundancy = {done_full})"
        ));
        return Ok(false);
    }
    if children(info).is_some() {
        out.warning(&format!(
            "Backup {id} has incremental backups which depend on it. Deleting all backups in the tree"
        ));
    }
    let Some(_lock) = crate::commands::locks::take(
        out,
        &catalog.lock_dir,
        &LockKind::ServerBackup(name.into()),
        &crate::commands::locks::DELETE_SERVER,
    )?
    else {
        return Ok(false);
    };
    let mut tree = Vec::new();
    walk_tree(&catalog, id, &mut tree);
    let (server, lock_dir) = (catalog.server, catalog.lock_dir.clone());
    drop(catalog);
    let mut deleted = false;
    for member in tree {
        deleted = delete_backup(server, &lock_dir, hooks, &member, out, true)?;
        if !deleted && &member != id {
            out.error("Failed to delete one of its incremental backups. Make sure all its dependent backups are deletable and try again.");
            break;
        }
    }
    Ok(deleted)
}

/// `walk_backups_tree`: descendants first (depth first), then the backup itself.
fn walk_tree(catalog: &ServerCatalog, id: &BackupId, tree: &mut Vec<BackupId>) {
    if let Some(kids) = catalog.backups.get(id).and_then(children) {
        for kid in kids {
            if let Some((kid, _)) = catalog.backups.get_key_value(kid.as_str()) {
                walk_tree(catalog, kid, tree);
            }
        }
    }
    tree.push(id.clone());
}

/// Delete one backup under its `.<server>-<ID>.lock` (Barman's `perform_delete_backup` +
/// `BackupManager.delete_backup`), without the keep/redundancy checks: retention calls it
/// directly. `skip_wal_cleanup_if_standalone` is true for `barman delete`, false for
/// retention. Returns whether the backup was deleted.
pub fn delete_backup(
    server: &ServerConfig,
    lock_dir: &Path,
    hooks: &Hooks,
    id: &BackupId,
    out: &mut Output,
    skip_wal_cleanup_if_standalone: bool,
) -> crate::Result<bool> {
    let name = server.name();
    let kind = LockKind::Backup(name.to_string(), id.to_string());
    let Some(lock) =
        crate::commands::locks::take(out, lock_dir, &kind, &crate::commands::locks::DELETE_BACKUP)?
    else {
        return Ok(false);
    };
    let deleted = delete_backup_locked(
        server,
        lock_dir,
        hooks,
        id,
        out,
        skip_wal_cleanup_if_standalone,
    )?;
    if deleted {
        let path = lock.path().to_path_buf();
        drop(lock);
        let _ = std::fs::remove_file(path);
    }
    Ok(deleted)
}

/// Barman's `BackupManager.delete_backup`: delete one backup whose `.<server>-<ID>.lock`
/// the caller holds (cron retention takes it itself), with the delete and wal_delete
/// hooks. Returns whether the backup was deleted.
///
/// # Errors
/// A pre delete (or wal_delete) retry hook exiting 63 ends it with
/// [`crate::Error::HookAborted`], as Barman's uncaught `AbortedRetryHookScript`.
pub fn delete_backup_locked(
    server: &ServerConfig,
    lock_dir: &Path,
    hooks: &Hooks,
    id: &BackupId,
    out: &mut Output,
    skip_wal_cleanup_if_standalone: bool,
) -> crate::Result<bool> {
    let offset = *chrono::Local::now().offset();
    let catalog = ServerCatalog::load(server, lock_dir, offset)?;
    delete_locked(&catalog, hooks, id, out, skip_wal_cleanup_if_standalone)
}

fn delete_locked(
    catalog: &ServerCatalog,
    hooks: &Hooks,
    id: &BackupId,
    out: &mut Output,
    skip_if_standalone: bool,
) -> crate::Result<bool> {
    let name = catalog.server.name();
    let dirs = &catalog.dirs;
    let Some(info) = catalog.backups.get(id) else {
        return Ok(false);
    };
    // The marker goes first: a crash from here on leaves a backup cron deletes again.
    annotations::write(dirs, id, annotations::DELETE_THIS, "delete")?;
    let start = chrono::Local::now();
    let clock = std::time::Instant::now();
    let facts = backup_facts(dirs, &catalog.backups, id, info);
    hooks.backup(HookFamily::Delete, Phase::Pre, &facts)?;
    out.info(&format!("Deleting backup {id} for server {name}"));
    let mut previous = Vec::new();
    let mut cursor = id.clone();
    while let Some(prev) = catalog.neighbour(&cursor, false) {
        let b = &catalog.backups[prev];
        previous.push(BackupWalRange {
            id: prev.to_string(),
            begin_wal: b.raw(Field::BeginWal).map(str::to_string),
            end_wal: b.raw(Field::EndWal).map(str::to_string),
            keep: catalog.keep_target(prev)?,
        });
        if previous
            .last()
            .is_some_and(|p| p.keep != Some(KeepTarget::Standalone))
        {
            break;
        }
        cursor = prev.clone();
    }
    let (remove, ranges) = should_remove_wals(&previous, skip_if_standalone);
    let next = catalog.neighbour(id, true).cloned();
    let oids = tablespace_oids(info);
    if catalog.server.uses_backup_cloud_storage() {
        super::cloud_objects::delete_backup_objects(catalog.server, id)?;
    }
    if let Err(e) = backup_dir::delete_data(dirs, id, &oids) {
        out.error(&format!(
            "Failure deleting backup {id} for server {name}.\n{e}"
        ));
        return Ok(false);
    }
    if remove && !catalog.unreadable.is_empty() {
        // An unreadable backup may need any WAL: keep them all until it is repaired or
        // removed by hand.
        let ids: Vec<&str> = catalog.unreadable.iter().map(|(i, _)| i.as_str()).collect();
        out.warning(&format!(
            "WAL files of server {name} are kept: backup.info of {} cannot be read and may need them",
            ids.join(", ")
        ));
    } else if remove {
        remove_wals(catalog, hooks, id, next.as_ref(), ranges, out)?;
    }
    annotations::delete(dirs, id, annotations::DELETE_THIS)?;
    if let Err(e) = backup_dir::delete_base(dirs, id) {
        out.error(&format!(
            "Failure deleting backup {id} for server {name}.\n{e}\nPlease manually remove the '{}' directory",
            dirs.backup_base(id).display()
        ));
        return Ok(false);
    }
    annotations::delete(dirs, id, annotations::DRILL_RECORD)?;
    backup_dir::delete_backup_info(dirs, id)?;
    out.info(&format!(
        "Deleted backup {id} (start time: {}, elapsed time: {})",
        ctime(&start.fixed_offset()),
        human_timedelta(clock.elapsed().as_secs_f64())
    ));
    after_delete(catalog, id, info, next.as_ref())?;
    // A post retry hook's 63 is only logged.
    let _ = hooks.backup(HookFamily::Delete, Phase::Post, &facts);
    Ok(true)
}

fn tablespace_oids(info: &crate::core::backup_info::BackupInfo) -> Vec<i64> {
    super::show_render::tablespace_list(info)
        .into_iter()
        .filter_map(|(_, oid, _)| oid.parse().ok())
        .collect()
}

fn remove_wals(
    catalog: &ServerCatalog,
    hooks: &Hooks,
    id: &BackupId,
    next: Option<&BackupId>,
    ranges: Vec<(String, String)>,
    out: &mut Output,
) -> crate::Result<()> {
    let name = catalog.server.name();
    let until = match next {
        Some(next) => Some(next.to_string()),
        None if catalog.concurrent_backup() => Some(id.to_string()),
        None => None,
    };
    let mut protection = WalProtection {
        ranges,
        ..WalProtection::default()
    };
    if let Some(until) = until.as_deref().and_then(|u| catalog.backups.get(u)) {
        protection.keep_from = until.raw(Field::BeginWal).map(str::to_string);
        let archiving = [
            BackupStatus::Started,
            BackupStatus::WaitingForWals,
            BackupStatus::Done,
            BackupStatus::Syncing,
        ];
        protection.timelines = catalog
            .backups
            .iter()
            .filter(|(bid, b)| *bid != id && archiving.contains(&b.status()))
            .filter_map(|(_, b)| b.timeline().map(|t| t.get()))
            .collect();
        if let Some(tli) = until.timeline().map(|t| t.get()) {
            protection.timelines.remove(&tli);
        }
    }
    out.info("Delete associated WAL segments:");
    let (removal, aborted) = remove_wals_hooked(catalog, hooks, &protection, &mut |wal| {
        out.info(&format!("\t{wal}"))
    })?;
    if let Some(abort) = aborted {
        return Err(abort.into());
    }
    for bad in &removal.bad_names {
        out.error(&bad_wal_name_message(bad, name, "WAL segment"));
    }
    for (wal, error) in &removal.failures {
        out.warning(&format!(
            "Ignoring deletion of WAL file {wal} for server {name}: {error}"
        ));
    }
    Ok(())
}

/// Remove WALs with the wal_delete hooks around each file; the abort of a pre retry hook,
/// if one stopped the removal.
pub(crate) fn remove_wals_hooked(
    catalog: &ServerCatalog,
    hooks: &Hooks,
    protection: &WalProtection,
    on_removed: &mut dyn FnMut(&str),
) -> crate::Result<(wal_removal::Removal, Option<HookAbort>)> {
    remove_wals_for(
        &catalog.dirs,
        &catalog.lock_dir,
        catalog.server,
        hooks,
        protection,
        on_removed,
    )
}

/// [`remove_wals_hooked`] without a loaded catalog (the first backup's purge uses it).
pub fn remove_wals_for(
    dirs: &crate::adapters::catalog::layout::ServerDirs,
    lock_dir: &Path,
    server: &ServerConfig,
    hooks: &Hooks,
    protection: &WalProtection,
    on_removed: &mut dyn FnMut(&str),
) -> crate::Result<(wal_removal::Removal, Option<HookAbort>)> {
    let name = server.name();
    let cloud = server.uses_wal_cloud_storage();
    let mut gone = Vec::new();
    let mut aborted = None;
    let hooked = hooks.any(HookFamily::WalDelete);
    let mut on_event = |event: WalEvent<'_>| {
        if let WalEvent::Post(entry, _, _) = &event {
            on_removed(&entry.name);
            if cloud {
                gone.push(entry.name.clone());
            }
        }
        if !hooked {
            return true;
        }
        match event {
            WalEvent::Pre(entry, path) => {
                let facts = wal_facts(entry, path);
                match hooks.wal(HookFamily::WalDelete, Phase::Pre, &facts, None) {
                    Ok(()) => true,
                    Err(abort) => {
                        aborted = Some(abort);
                        false
                    }
                }
            }
            WalEvent::Post(entry, path, error) => {
                let facts = wal_facts(entry, path);
                let error = error.map(|e| {
                    format!(
                        "Ignoring deletion of WAL file {} for server {name}: {e}",
                        entry.name
                    )
                });
                let _ = hooks.wal(HookFamily::WalDelete, Phase::Post, &facts, error.as_deref());
                true
            }
        }
    };
    let removal = wal_removal::remove_wals_with(dirs, lock_dir, protection, &mut on_event)
        .map_err(crate::Error::from)?;
    if cloud {
        super::cloud_objects::delete_wal_objects(server, &gone)?;
    }
    Ok((removal, aborted))
}

/// Update the parent's `children_backup_ids`, recompute the next rsync backup's sizes, drop
/// the sync lock file.
fn after_delete(
    catalog: &ServerCatalog,
    id: &BackupId,
    info: &crate::core::backup_info::BackupInfo,
    next: Option<&BackupId>,
) -> crate::Result<()> {
    let dirs = &catalog.dirs;
    if let Some(parent_id) = info.raw(Field::ParentBackupId) {
        if let Some((parent_id, parent)) = catalog
            .backups
            .get_key_value(parent_id)
            .filter(|(_, p)| p.status() != BackupStatus::Empty)
        {
            let mut parent = parent.clone();
            let kids: Vec<String> = children(&parent)
                .unwrap_or_default()
                .into_iter()
                .filter(|k| k != id.as_str())
                .collect();
            parent.set_raw(
                Field::ChildrenBackupIds,
                (!kids.is_empty()).then(|| kids.join(",")),
            );
            store::save_backup(dirs, parent_id, &parent)?;
        }
    }
    if let Some(next_id) = next {
        let mut next_info = catalog.backups[next_id].clone();
        if backup_type(&next_info) == "rsync" {
            let (size, dedup) = backup_dir::sizes(dirs, next_id);
            next_info.set_raw(Field::Size, Some(size.to_string()));
            next_info.set_raw(Field::DeduplicatedSize, Some(dedup.to_string()));
            store::save_backup(dirs, next_id, &next_info)?;
        }
    }
    let sync_lock = catalog
        .lock_dir
        .join(LockKind::SyncBackup(catalog.server.name().into(), id.to_string()).file_name());
    if sync_lock.exists() {
        let _ = std::fs::remove_file(sync_lock);
    }
    Ok(())
}
