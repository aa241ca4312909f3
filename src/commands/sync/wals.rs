//! `sync-wals SERVER` on a passive node (Barman's `Server.sync_wals`): copy the WAL files
//! `primary.info` lists after the last one synchronised.
//!
//! Unlike Barman (rsync `--inplace` straight into the archive, then the catalog), a file
//! is catalogued only once it is whole and on disk: rsync writes each under a temporary
//! name and renames it, we fsync the files and their folders, append the catalog lines
//! not already there, and only then move the resume point (`sync-wals.info`). A run
//! killed at any point is completed by the next one, with no duplicate catalog line.

use super::{load_primary_info, load_sync_wals_info, SYNC_WALS_INFO_FILE};
use crate::adapters::catalog::{store, xlog_db};
use crate::adapters::lock::LockKind;
use crate::adapters::rsync::{self, Transport};
use crate::commands::status::server_dirs;
use crate::commands::{select, Context};
use crate::core::backup_info::BackupStatus;
use crate::core::backup_info::Field;
use crate::core::config::ServerConfig;
use crate::core::sync::{self, SyncError};
use crate::core::xlog_db::XlogDbEntry;
use crate::output::Output;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// `sync-wals SERVER`.
pub fn sync_wals(ctx: &Context, out: &mut Output, name: &str) -> crate::Result<()> {
    let Some(server) = select::single(&ctx.config, name, out, select::Policy::SKIP_INACTIVE) else {
        return Ok(());
    };
    if !server.passive_node() {
        out.error(&format!("server {name} is not passive"));
        return Ok(());
    }
    let lock_dir = PathBuf::from(&ctx.config.global.barman_lock_directory);
    let Some(_lock) = crate::commands::locks::take(
        out,
        &lock_dir,
        &LockKind::SyncWal(name.into()),
        &crate::commands::locks::SYNC_WALS,
    )?
    else {
        return Ok(());
    };
    match sync_locked(out, server, &lock_dir) {
        Ok(()) => Ok(()),
        Err(WalSyncFailure::Skip(warning)) => {
            out.warning(&warning);
            Ok(())
        }
        Err(WalSyncFailure::Rsync(e)) => {
            out.error(&format!(
                "WAL synchronisation for server {name} failed: {e}"
            ));
            Ok(())
        }
        Err(WalSyncFailure::Other(e)) => {
            let first = e.lines().next().unwrap_or("error").to_string();
            out.error(&format!(
                "WAL synchronisation for server {name} failed with: {first}\n"
            ));
            Ok(())
        }
    }
}

enum WalSyncFailure {
    /// Nothing copied, for a reason Barman reports as a warning.
    Skip(String),
    Rsync(rsync::RsyncError),
    Other(String),
}

impl From<SyncError> for WalSyncFailure {
    fn from(e: SyncError) -> Self {
        WalSyncFailure::Other(e.0)
    }
}

fn other(e: impl std::fmt::Display) -> WalSyncFailure {
    WalSyncFailure::Other(e.to_string())
}

fn sync_locked(
    out: &mut Output,
    server: &ServerConfig,
    lock_dir: &Path,
) -> Result<(), WalSyncFailure> {
    let name = server.name();
    let resume = load_sync_wals_info(server)?;
    let primary = load_primary_info(server)?;
    let remote_compression = primary["config"]["compression"].as_str();
    let local_compression = server.compression();
    if remote_compression != local_compression {
        return Err(WalSyncFailure::Other(format!(
            "Compression method on server {name} ({}) does not match local compression method ({}) ",
            remote_compression.unwrap_or("None"),
            local_compression.unwrap_or("None")
        )));
    }
    let listed = primary["wals"]
        .as_array()
        .map(|w| {
            w.iter()
                .map(sync::wal_from_json)
                .collect::<Result<Vec<_>, _>>()
        })
        .transpose()?
        .unwrap_or_default();
    let first_remote = listed
        .iter()
        .find(|w| {
            w.name
                .parse::<crate::core::wal_name::WalSegmentName>()
                .is_ok()
        })
        .map(|w| w.name.clone());
    let dirs = server_dirs(server);
    let backups = store::load_backups(&dirs).map_err(other)?;
    let first_backup = backups.values().find(|b| {
        matches!(
            b.status(),
            BackupStatus::Done | BackupStatus::WaitingForWals
        )
    });
    let Some(first_backup) = first_backup else {
        return Err(WalSyncFailure::Skip(format!(
            "No base backup for server {name}"
        )));
    };
    if let (Some(begin), Some(first)) = (first_backup.raw(Field::BeginWal), &first_remote) {
        if begin > first.as_str() {
            return Err(WalSyncFailure::Skip(format!(
                "Skipping WAL synchronisation for server {name}: no available local backup for {first}"
            )));
        }
    }
    let wanted: Vec<XlogDbEntry> = listed
        .into_iter()
        .filter(|w| {
            resume
                .last_wal
                .as_deref()
                .is_none_or(|last| w.name.as_str() > last)
        })
        .collect();
    copy_and_catalog(out, server, &dirs, lock_dir, &primary, &wanted)?;
    let last_name = primary["last_name"].as_str().unwrap_or_default();
    let last_position = primary["last_position"].as_u64().unwrap_or(0);
    let path = Path::new(server.wals_dir()).join(SYNC_WALS_INFO_FILE);
    crate::adapters::durable::write_atomic(
        &path,
        sync::SyncWalsInfo::to_text(last_name, last_position).as_bytes(),
    )
    .map_err(|_| {
        WalSyncFailure::Other(format!(
            "Unable to write {SYNC_WALS_INFO_FILE} file for server {name}"
        ))
    })
}

/// rsync the files, make them durable, then catalogue those not catalogued yet.
fn copy_and_catalog(
    out: &mut Output,
    server: &ServerConfig,
    dirs: &crate::adapters::catalog::layout::ServerDirs,
    lock_dir: &Path,
    primary: &serde_json::Value,
    wanted: &[XlogDbEntry],
) -> Result<(), WalSyncFailure> {
    if wanted.is_empty() {
        return Ok(());
    }
    let relpaths: Vec<String> = wanted.iter().map(relpath).collect();
    let ssh = shell_words::split(&super::primary_ssh_command(server).unwrap_or_default())
        .map_err(other)?;
    let transport = Transport {
        ssh: Some(ssh),
        compress: server.network_compression(),
        path: crate::adapters::pg_tools::search_path(server.path_prefix()),
    };
    let remote_wals = primary["config"]["wals_directory"]
        .as_str()
        .unwrap_or_default();
    let wals_dir = PathBuf::from(server.wals_dir());
    crate::adapters::durable::create_dir_all_durable(&wals_dir).map_err(other)?;
    let list = tempfile::NamedTempFile::new_in(server.backup_dir()).map_err(other)?;
    rsync::copy_listed_whole(
        &transport,
        &transport.source(&format!("{remote_wals}/")),
        &format!("{}/", wals_dir.display()),
        &relpaths,
        list.path(),
        server.bandwidth_limit().map(|k| k as u64),
    )
    .map_err(|e| match e {
        rsync::RsyncError::Interrupted(why) => WalSyncFailure::Other(why.into()),
        e => WalSyncFailure::Rsync(e),
    })?;
    crate::adapters::durable::failpoint("sync-wals-copied");
    let mut folders = BTreeSet::new();
    for rel in &relpaths {
        let path = wals_dir.join(rel);
        std::fs::File::open(&path)
            .and_then(|f| f.sync_all())
            .map_err(|e| other(format!("{}: {e}", path.display())))?;
        folders.insert(path.parent().map(Path::to_path_buf).unwrap_or_default());
    }
    for folder in &folders {
        crate::adapters::durable::fsync_dir(folder).map_err(other)?;
    }
    let mut known = BTreeSet::new();
    store::for_each_wal(dirs, |e| {
        known.insert(e.name.clone());
    })
    .map_err(other)?;
    let new: Vec<XlogDbEntry> = wanted
        .iter()
        .filter(|w| !known.contains(&w.name))
        .cloned()
        .collect();
    xlog_db::append(dirs, lock_dir, &new).map_err(other)?;
    crate::adapters::durable::failpoint("sync-wals-catalogued");
    out.debug(&format!(
        "{} WAL files synchronised for server {}",
        new.len(),
        server.name()
    ));
    Ok(())
}

/// `WalFileInfo.relpath()`: `<hash dir>/<name>`, the bare name for history files.
fn relpath(entry: &XlogDbEntry) -> String {
    // Names come from `wal_from_json`, which accepts archive names only.
    let dir = entry
        .name
        .parse::<crate::core::wal_name::WalFileName>()
        .map(|n| n.hash_dir())
        .unwrap_or_default();
    if dir.is_empty() {
        entry.name.clone()
    } else {
        format!("{dir}/{}", entry.name)
    }
}
