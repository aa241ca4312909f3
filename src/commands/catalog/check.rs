//! `check-backup`: the WAITING_FOR_WALS → DONE / FAILED state machine (Barman's
//! `Server.check_backup` + `BackupManager.check_backup`), also run by `backup` after a copy.

use super::common::{segment_size, ServerCatalog};
use super::show::NO_FILTER;
use crate::adapters::catalog::{layout::ServerDirs, store};
use crate::adapters::lock::LockKind;
use crate::commands::{select, Context};
use crate::core::backup_id::BackupId;
use crate::core::backup_info::Field;
use crate::core::backup_info::{BackupInfo, BackupStatus};
use crate::core::backup_wals::{check_backup, required_segments, CheckOutcome};
use crate::core::config::ServerConfig;
use crate::core::wal_name::WalFileName;
use crate::output::Output;
use std::path::{Path, PathBuf};

/// `check-backup SERVER ID`.
pub fn run(ctx: &Context, out: &mut Output, server: &str, backup_id: &str) -> crate::Result<()> {
    let Some(server) = select::single(&ctx.config, server, out, NO_FILTER) else {
        return Ok(());
    };
    let lock_dir = PathBuf::from(&ctx.config.global.barman_lock_directory);
    let catalog = ServerCatalog::load(server, &lock_dir, *ctx.now.offset())?;
    let Some(id) = catalog.resolve(backup_id, out) else {
        return Ok(());
    };
    check_backup_status(server, &lock_dir, &id, out)
}

/// Re-evaluate the status of backup `id` of `server` from the WAL archive, under the
/// backup's lock, saving backup.info when it changes state. A FAILED backup is refused
/// with Barman's error; a busy lock is reported as info (another process checks it).
pub fn check_backup_status(
    server: &ServerConfig,
    lock_dir: &Path,
    id: &BackupId,
    out: &mut Output,
) -> crate::Result<()> {
    let dirs = crate::commands::status::server_dirs(server);
    let mut info = store::load_backup(&dirs, id)?;
    out.debug(&format!("Checking backup {id} of server {}", server.name()));
    if info.status() == BackupStatus::Failed {
        out.error("The validity of a failed backup cannot be checked");
        return Ok(());
    }
    let kind = LockKind::Backup(server.name().to_string(), id.to_string());
    let Some(_lock) =
        crate::commands::locks::take(out, lock_dir, &kind, &crate::commands::locks::CHECK_BACKUP)?
    else {
        return Ok(());
    };
    let (Some(begin), Some(end)) = (
        info.raw(Field::BeginWal).map(str::to_string),
        info.raw(Field::EndWal).map(str::to_string),
    ) else {
        return Ok(());
    };
    let outcome = evaluate(&dirs, &info, &begin, &end, server.uses_wal_cloud_storage())?;
    let status = match &outcome {
        CheckOutcome::Done => BackupStatus::Done,
        CheckOutcome::WaitingForWals => BackupStatus::WaitingForWals,
        CheckOutcome::Failed(error) => {
            info.set_raw(Field::Error, Some(error.clone()));
            BackupStatus::Failed
        }
    };
    let before = info.status();
    info.set_raw(Field::Status, Some(status.to_string()));
    crate::commands::backup::cloud_method::save_info(server, &dirs, id, &info)?;
    out.debug(&if before == status {
        format!(
            "Check finished: the status of backup {id} of server {} remains {status}",
            server.name()
        )
    } else {
        format!(
            "Check finished: the status of backup {id} of server {} changed from {before} to {status}",
            server.name()
        )
    });
    if let CheckOutcome::Failed(error) = outcome {
        out.error(&format!(
            "This backup has been marked as FAILED due to the following reason: {error}"
        ));
    }
    Ok(())
}

fn evaluate(
    dirs: &ServerDirs,
    info: &BackupInfo,
    begin: &str,
    end: &str,
    cloud: bool,
) -> crate::Result<CheckOutcome> {
    let timelines = store::last_wal_per_timeline(dirs)?;
    let last = begin
        .get(..8)
        .and_then(|tli| timelines.get(tli))
        .map(|entry| entry.name.clone());
    let required = if begin.get(..8) == end.get(..8) {
        required_segments(begin, end, info.int(Field::Version), segment_size(info))
    } else {
        Vec::new()
    };
    // WALs in the cloud are known by the xlog.db lines written after each upload.
    let mut catalogued = std::collections::HashSet::new();
    if cloud {
        store::for_each_wal(dirs, |entry| {
            catalogued.insert(entry.name.clone());
        })?;
    }
    let exists = |wal: &str| {
        if cloud {
            return catalogued.contains(wal);
        }
        let hash = wal
            .parse::<WalFileName>()
            .map(|n| n.hash_dir())
            .unwrap_or_default();
        dirs.wals_directory.join(hash).join(wal).exists()
    };
    Ok(check_backup(begin, end, last.as_deref(), &required, exists))
}
