//! A passive node's `cron` pass (Barman's `Server.sync_cron`): ask the primary what it has,
//! start one `sync-backup` for the oldest backup still to copy, and `sync-wals` when the
//! primary lists WAL files.

use super::{backup::decision, load_sync_wals_info, primary_node_info};
use crate::adapters::catalog::store;
use crate::adapters::lock::{LockError, LockFile, LockKind};
use crate::commands::status::server_dirs;
use crate::commands::Context;
use crate::core::backup_id::BackupId;
use crate::core::backup_info::BackupStatus;
use crate::core::config::ServerConfig;
use crate::core::sync::SyncDecision;
use crate::output::Output;
use std::path::Path;

/// Starts a barman subcommand in the background.
pub(crate) type Start<'a> = dyn Fn(&str, &[&str]) -> crate::Result<()> + 'a;

/// Barman's `sync_cron` for one passive server.
pub(crate) fn sync_cron(
    ctx: &Context,
    out: &mut Output,
    server: &ServerConfig,
    lock_dir: &Path,
    start: &Start<'_>,
) -> crate::Result<()> {
    let name = server.name();
    let resume = load_sync_wals_info(server).map_err(|e| crate::Error::Fatal(e.0))?;
    let remote = match primary_node_info(
        ctx,
        out,
        server,
        resume.last_wal.as_deref(),
        resume.last_position.as_deref(),
    ) {
        Ok(info) => info,
        Err(e) => {
            out.error(&format!("Failed to retrieve the primary node status: {e}"));
            return Ok(());
        }
    };
    let remote_ids: Vec<String> = remote["backups"]
        .as_object()
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default();
    if remote_ids.is_empty() {
        out.info_unlogged(&format!(
            "No backup synchronisation required for server {name}"
        ));
    }
    start_one_backup_sync(ctx, out, server, lock_dir, start, &remote, &remote_ids)?;
    if remote["wals"].as_array().is_none_or(Vec::is_empty) {
        out.info_unlogged(&format!(
            "No WAL synchronisation required for server {name}"
        ));
        return Ok(());
    }
    // Barman waits here for a running sync-wals; we probe instead, so one slow WAL copy
    // does not hold up the cron pass of every other server.
    let wal_lock = lock_dir.join(LockKind::SyncWal(name.into()).file_name());
    match LockFile::acquire_path(&wal_lock, false) {
        Ok(_probe) => out.info(&format!("Started copy of WAL files for server {name}")),
        Err(LockError::Busy(_)) => {
            out.info_unlogged(&format!(
                "WAL synchronisation already running for server {name}"
            ));
            return Ok(());
        }
        Err(e) => return Err(e.into()),
    }
    start("sync-wals", &[name])
}

/// Start `sync-backup` for the oldest primary backup not yet here (one at a time, as
/// Barman), unless one is already running.
fn start_one_backup_sync(
    ctx: &Context,
    out: &mut Output,
    server: &ServerConfig,
    lock_dir: &Path,
    start: &Start<'_>,
    remote: &serde_json::Value,
    remote_ids: &[String],
) -> crate::Result<()> {
    let name = server.name();
    let local = store::load_backups(&server_dirs(server))?;
    let available = |id: &BackupId| {
        local.get(id).is_some_and(|b| {
            matches!(
                b.status(),
                BackupStatus::Done | BackupStatus::WaitingForWals
            )
        })
    };
    let remote_ids = remote_ids.iter().filter_map(|id| match id.parse::<BackupId>() {
        Ok(id) => Some(id),
        Err(e) => {
            tracing::warn!(target: "barman.server", "Skipping backup of the primary of server {name}: {e}");
            None
        }
    });
    for id in remote_ids.filter(|id| !available(id)) {
        match decision(ctx, server, &id, remote, local.get(&id))? {
            SyncDecision::Absent(e) => {
                out.exception(&format!("Unexpected state: {e}"));
                break;
            }
            SyncDecision::NothingToDo(_) => continue,
            SyncDecision::Sync | SyncDecision::ToBeDeleted(_) => {}
        }
        let kind = LockKind::SyncBackup(name.into(), id.to_string());
        let probe = crate::commands::locks::take(
            out,
            lock_dir,
            &kind,
            &crate::commands::locks::CRON_SYNC_BACKUP,
        )?;
        if probe.is_none() {
            break;
        }
        drop(probe);
        out.info(&format!("Starting copy of backup {id} for server {name}"));
        return start("sync-backup", &[name, id.as_str()]);
    }
    Ok(())
}
