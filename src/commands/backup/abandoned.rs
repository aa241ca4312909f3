//! Backups left STARTED by a process that died (SIGKILL, OOM killer, power loss): `cron`
//! and `check` mark them FAILED, so `check` reports them and retention treats them as
//! failed rather than as a backup still running.
//!
//! Python Barman 3.20.1 has no such pass (a STARTED backup of a dead process stays STARTED
//! until deleted); the `error` text follows its `failure <action> (<reason>)` form.
//!
//! A backup runs under the server's `.<server>-backup.lock` from before its `backup.info`
//! is first written until after it leaves STARTED (ours and Python Barman's alike), so a
//! STARTED backup seen while we hold that lock has no process behind it. The lock is held
//! while the catalog is read and rewritten, so a backup starting meanwhile waits for us.

use crate::adapters::catalog::store;
use crate::adapters::lock::{LockError, LockFile, LockKind};
use crate::commands::status;
use crate::core::backup_id::BackupId;
use crate::core::backup_info::Field;
use crate::core::backup_info::{BackupInfo, BackupStatus};
use crate::core::config::ServerConfig;
use std::path::Path;

/// The `error` recorded in a backup found STARTED with no process behind it.
pub const ABANDONED_ERROR: &str =
    "failure backup (the process taking the backup is no longer running)";

/// Mark FAILED every STARTED backup of `server` when no process holds the server's backup
/// lock; returns the ids marked. A busy lock (a backup or delete running) marks nothing.
pub fn fail_abandoned(server: &ServerConfig, lock_dir: &Path) -> crate::Result<Vec<BackupId>> {
    let name = server.name();
    let dirs = status::server_dirs(server);
    // The lock is only probed when there is a STARTED backup: `check` runs often (Nagios)
    // and must not create lock files nor, by holding the lock an instant, make a backup
    // or delete starting at that moment fail as busy.
    let is_started = |b: &BackupInfo| b.status() == BackupStatus::Started;
    if !store::load_backups(&dirs)?.values().any(is_started) {
        return Ok(Vec::new());
    }
    // A probe with nothing to print: busy means a backup or delete is running.
    let _lock = match LockFile::acquire(lock_dir, &LockKind::ServerBackup(name.into())) {
        Ok(lock) => lock,
        Err(LockError::Busy(_)) => return Ok(Vec::new()),
        Err(e) => return Err(e.into()),
    };
    let mut marked = Vec::new();
    for (id, mut info) in store::load_backups(&dirs)? {
        if !is_started(&info) {
            continue;
        }
        tracing::warn!(
            target: "barman.backup",
            "Backup {id} of server {name} is STARTED but no process holds the backup lock: marking it as FAILED"
        );
        info.set_raw(Field::Status, Some("FAILED".into()));
        info.set_raw(Field::Error, Some(ABANDONED_ERROR.into()));
        store::save_backup(&dirs, &id, &info)?;
        marked.push(id);
    }
    Ok(marked)
}
