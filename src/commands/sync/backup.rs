//! `sync-backup SERVER BACKUP_ID` on a passive node (Barman's `Server.sync_backup`): copy one
//! backup listed in `primary.info` from the primary with rsync over `primary_ssh_command`.
//!
//! The local entry says SYNCING while the copy runs and DONE only once every file is on
//! disk (fsync'd); a failure or an interruption leaves it FAILED with the reason, and a
//! process killed outright leaves it SYNCING, which the next `sync-backup` (or `cron`)
//! resumes: rsync copies only what is missing or different.

use super::load_primary_info;
use crate::adapters::catalog::store;
use crate::adapters::lock::LockKind;
use crate::adapters::rsync::{self, CopyRun, Filters, RsyncError, Transport};
use crate::commands::catalog::ServerCatalog;
use crate::commands::status::server_dirs;
use crate::commands::{select, Context};
use crate::core::backup_id::BackupId;
use crate::core::backup_info::Field;
use crate::core::backup_info::{BackupInfo, BackupStatus};
use crate::core::config::ServerConfig;
use crate::core::retention::RetentionStatus;
use crate::core::sync::{self, SyncDecision};
use crate::output::Output;
use serde_json::Value;
use std::path::PathBuf;

/// `sync-backup SERVER BACKUP_ID`.
pub fn sync_backup(ctx: &Context, out: &mut Output, name: &str, id: &str) -> crate::Result<()> {
    let Some(server) = select::single(&ctx.config, name, out, select::Policy::SKIP_INACTIVE) else {
        return Ok(());
    };
    if !server.passive_node() {
        out.error(&format!("server {name} is not passive"));
        return Ok(());
    }
    // Text that is not a backup id names no backup of the primary either.
    let id = match id.parse::<BackupId>() {
        Ok(id) => id,
        Err(_) => {
            if let SyncDecision::Absent(e) = sync::sync_decision(name, id, false, None) {
                out.error(&e.to_string());
            }
            return Ok(());
        }
    };
    let id = &id;
    let dirs = server_dirs(server);
    let local = store::load_backup(&dirs, id).ok();
    tracing::info!(target: "barman.server", "Synchronising with server {name} backup {id}: step 1/3: parse server information");
    let primary = match load_primary_info(server) {
        Ok(info) => info,
        Err(e) => {
            out.error(&e.to_string());
            return Ok(());
        }
    };
    match decision(ctx, server, id, &primary, local.as_ref())? {
        SyncDecision::Sync => {}
        SyncDecision::Absent(e) => {
            out.error(&e.to_string());
            return Ok(());
        }
        SyncDecision::ToBeDeleted(msg) => {
            out.warning(&format!("{msg}, purging local backup"));
            let lock_dir = PathBuf::from(&ctx.config.global.barman_lock_directory);
            let hooks = crate::commands::hooks::Hooks::new(&ctx.config, server);
            crate::commands::catalog::delete_backup(server, &lock_dir, &hooks, id, out, false)?;
            return Ok(());
        }
        SyncDecision::NothingToDo(msg) => {
            out.info(&msg);
            return Ok(());
        }
    }
    let lock_dir = PathBuf::from(&ctx.config.global.barman_lock_directory);
    let Some(_lock) = crate::commands::locks::take(
        out,
        &lock_dir,
        &LockKind::SyncBackup(name.into(), id.to_string()),
        &crate::commands::locks::SYNC_BACKUP,
    )?
    else {
        return Ok(());
    };
    copy_backup(ctx, out, server, id, &primary)
}

/// Barman's `check_sync_required`, with the local retention policy's verdict.
pub(super) fn decision(
    ctx: &Context,
    server: &ServerConfig,
    id: &BackupId,
    primary: &Value,
    local: Option<&BackupInfo>,
) -> crate::Result<SyncDecision> {
    let remote = primary["backups"].get(id.as_str());
    let decided = sync::sync_decision(
        server.name(),
        id.as_str(),
        remote.is_some(),
        local.map(BackupInfo::status),
    );
    let Some(remote) = remote.filter(|_| decided == SyncDecision::Sync) else {
        return Ok(decided);
    };
    if server.retention_policy_mode() != Some("auto") || server.retention_policy().is_none() {
        return Ok(decided);
    }
    let lock_dir = PathBuf::from(&ctx.config.global.barman_lock_directory);
    let mut catalog = ServerCatalog::load(server, &lock_dir, *ctx.now.offset())?;
    let info = sync::backup_from_json(remote, *ctx.now.offset())
        .map_err(|e| crate::Error::Fatal(e.to_string()))?;
    catalog.backups.insert(id.clone(), info);
    let obsolete = catalog
        .retention(ctx.now)?
        .is_some_and(|report| report.get(id.as_str()) == Some(&RetentionStatus::Obsolete));
    if obsolete {
        let primary_name = primary["config"]["name"].as_str().unwrap_or(server.name());
        return Ok(SyncDecision::NothingToDo(format!(
            "Remote backup {primary_name}/{id} is obsolete for local retention policies."
        )));
    }
    Ok(decided)
}

/// Copy the backup under its sync lock: SYNCING, rsync, fsync, DONE (or FAILED).
fn copy_backup(
    ctx: &Context,
    out: &mut Output,
    server: &ServerConfig,
    id: &BackupId,
    primary: &Value,
) -> crate::Result<()> {
    let name = server.name();
    let dirs = server_dirs(server);
    let remote = &primary["backups"][id.as_str()];
    let mut info = match sync::backup_from_json(remote, *ctx.now.offset()) {
        Ok(info) => info,
        Err(e) => {
            out.error(&e.to_string());
            return Ok(());
        }
    };
    info.set_raw(Field::Status, Some("SYNCING".into()));
    store::save_backup(&dirs, id, &info)?;
    tracing::info!(target: "barman.server", "Synchronising with server {name} backup {id}: step 2/3: file copy");
    match copy_files(server, id, primary, &info, out) {
        Ok(()) => {
            tracing::info!(target: "barman.server", "Synchronising with server {name} backup {id}: step 3/3: finalise sync");
            info.set_raw(Field::Status, Some("DONE".into()));
            store::save_backup(&dirs, id, &info)?;
        }
        Err(SyncFailure::Rsync(e)) => {
            let msg = format!("failure syncing server {name} backup {id}: {e}");
            out.error(&msg);
            fail(&dirs, id, &mut info, msg)?;
        }
        Err(SyncFailure::Other(e)) => {
            let first = e.lines().next().unwrap_or("error").to_string();
            out.error(&format!("Backup failed syncing with {name}: {first}\n"));
            fail(
                &dirs,
                id,
                &mut info,
                format!("failure syncing server {name} backup {id}: {first}"),
            )?;
        }
    }
    Ok(())
}

fn fail(
    dirs: &crate::adapters::catalog::layout::ServerDirs,
    id: &BackupId,
    info: &mut BackupInfo,
    msg: String,
) -> crate::Result<()> {
    info.set_raw(Field::Status, Some(BackupStatus::Failed.to_string()));
    info.set_raw(Field::Error, Some(msg));
    store::save_backup(dirs, id, info)?;
    Ok(())
}

enum SyncFailure {
    Rsync(RsyncError),
    Other(String),
}

/// rsync `:<primary basebackups_directory>/<ID>/` into the local backup folder, without
/// the primary's own metadata, reusing the nearest local backup as `reuse_backup` says.
fn copy_files(
    server: &ServerConfig,
    id: &BackupId,
    primary: &Value,
    info: &BackupInfo,
    out: &mut Output,
) -> Result<(), SyncFailure> {
    let dirs = server_dirs(server);
    let ssh_command = super::primary_ssh_command(server).unwrap_or_default();
    let ssh = shell_words::split(&ssh_command).map_err(|e| SyncFailure::Other(e.to_string()))?;
    let transport = Transport {
        ssh: Some(ssh),
        compress: server.network_compression(),
        path: crate::adapters::pg_tools::search_path(server.path_prefix()),
    };
    let mut protect = vec!["/backup.info".to_string(), "/.backup.lock".to_string()];
    if let Some(crate::core::py_literal::PyValue::List(spaces)) = info.literal(Field::Tablespaces) {
        for space in spaces {
            if let crate::core::py_literal::PyValue::Tuple(parts) = space {
                if let Some(crate::core::py_literal::PyValue::Int(oid)) = parts.get(1) {
                    protect.push(format!("/data/pg_tblspc/{oid}"));
                }
            }
        }
    }
    let filters = Filters {
        exclude_and_protect: protect,
        bwlimit: server.bandwidth_limit().map(|k| k as u64),
        ..Filters::default()
    };
    let remote_dir = primary["config"]["basebackups_directory"]
        .as_str()
        .unwrap_or_default();
    let src = transport.source(&format!("{remote_dir}/{id}/"));
    let base = dirs.backup_base(id);
    std::fs::create_dir_all(&base).map_err(|e| SyncFailure::Other(e.to_string()))?;
    let dst = format!("{}/", base.display());
    let reuse_dir = reuse_source(server, id);
    let reuse = reuse_dir
        .as_ref()
        .and_then(|dir| reuse_word(server).map(|word| (word, dir.as_path())));
    let run = CopyRun {
        reuse,
        // A reused file of the same size and time may still differ: compare contents.
        checksum: reuse.is_some(),
        ..CopyRun::whole(&src, &dst)
    };
    let total = info.size();
    let progress = crate::output::progress::Progress::bytes(out, total, "sync-backup");
    rsync::copy(&transport, &filters, &run, &mut |n| progress.add(n)).map_err(|e| match e {
        RsyncError::Interrupted(why) => SyncFailure::Other(why.to_string()),
        other => SyncFailure::Rsync(other),
    })?;
    progress.finish();
    crate::adapters::durable::failpoint("sync-backup-copied");
    crate::commands::backup::fsync_and_size(&base)
        .map_err(|e| SyncFailure::Other(e.to_string()))?;
    Ok(())
}

/// Barman's reuse source for a synced backup: the next local backup if there is one (it
/// stays valid longer), else the previous one.
fn reuse_source(server: &ServerConfig, id: &BackupId) -> Option<PathBuf> {
    reuse_word(server)?;
    let dirs = server_dirs(server);
    let done: Vec<BackupId> = store::load_backups(&dirs)
        .ok()?
        .into_iter()
        .filter(|(_, b)| b.status() == BackupStatus::Done)
        .map(|(i, _)| i)
        .collect();
    let next = done.iter().find(|i| *i > id);
    let prev = done.iter().rev().find(|i| *i < id);
    next.or(prev).map(|i| dirs.backup_base(i))
}

/// `reuse_backup` as rsync's `--link-dest` / `--copy-dest` word.
fn reuse_word(server: &ServerConfig) -> Option<&'static str> {
    match server.reuse_backup() {
        Some("link") => Some("link"),
        Some("copy") => Some("copy"),
        _ => None,
    }
}
