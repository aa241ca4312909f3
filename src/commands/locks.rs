//! Every lock a command takes, with the words Barman says when another process holds it,
//! in one table; and the one function that takes a lock and reports a failure, so a busy
//! or forbidden lock reads the same whichever command meets it (Barman's
//! `LockFileBusy` / `LockFilePermissionDenied` handlers).

use crate::adapters::lock::{LockError, LockFile, LockKind};
use crate::output::Output;
use std::path::Path;

/// How a command reports a lock another process holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Busy {
    /// An `INFO` line that is not logged (the cron's progress lines).
    InfoUnlogged,
    /// An `INFO` line: skipping is normal (another cron, archive-wal).
    Info,
    /// A `WARNING`.
    Warning,
    /// An `ERROR`: the run exits 1.
    Error,
    /// Barman lets `LockFileBusy` reach `cli.main`: `EXCEPTION: <lock path>`.
    Exception,
}

/// One command's lock: how it is taken and what a failure prints. In the messages,
/// `{server}` and `{id}` stand for the server and backup the lock is for.
#[derive(Debug, Clone, Copy)]
pub struct LockSpec {
    /// Shared (readers of one backup may run together) rather than exclusive.
    pub shared: bool,
    /// How a busy lock is reported.
    pub busy: Busy,
    /// The busy message.
    pub busy_message: &'static str,
    /// The permission-denied message; `None` for Barman's
    /// `Permission denied, unable to access '<lock path>'`.
    pub denied_message: Option<&'static str>,
}

const fn exclusive(busy: Busy, busy_message: &'static str) -> LockSpec {
    LockSpec {
        shared: false,
        busy,
        busy_message,
        denied_message: None,
    }
}

/// `backup`: the server's backup lock.
pub const BACKUP: LockSpec = exclusive(Busy::Error, "Another backup process is running");
/// `delete`: the server's backup lock, then [`DELETE_BACKUP`].
pub const DELETE_SERVER: LockSpec = exclusive(
    Busy::Error,
    "Another process in running on server {server}. Impossible to delete the backup.",
);
/// `delete`: the backup's own lock.
pub const DELETE_BACKUP: LockSpec = exclusive(
    Busy::Error,
    "Another process is holding the lock for backup {id} of server {server}.",
);
/// `check-backup`.
pub const CHECK_BACKUP: LockSpec = exclusive(
    Busy::Info,
    "Another process is holding the lock for backup {id} of server {server}.",
);
/// `recover`/`restore`: shared, several restores of one backup may run together.
pub const RECOVER: LockSpec = LockSpec {
    shared: true,
    ..exclusive(
        Busy::Error,
        "Another process is holding the lock for backup {id} of server {server}.",
    )
};
/// `archive-wal`.
pub const ARCHIVE_WAL: LockSpec = exclusive(
    Busy::Info,
    "Another archive-wal process is already running on server {server}. Skipping to the next server",
);
/// `receive-wal`.
pub const RECEIVE_WAL: LockSpec = exclusive(
    Busy::Error,
    "Another receive-wal process is already running for server {server}.",
);
/// `receive-wal --reset`.
pub const RECEIVE_WAL_RESET: LockSpec = exclusive(
    Busy::Error,
    "Unable to reset the status of receive-wal for server {server}. Process is still running",
);
/// `cron`: one pass per server at a time.
pub const CRON_SERVER: LockSpec = exclusive(
    Busy::Info,
    "Another cron process is already running on server {server}. Skipping to the next server",
);
/// `cron`: the queued `config-update` changes are applied under its lock.
pub const CRON_CONFIG_QUEUE: LockSpec = exclusive(
    Busy::Warning,
    "another process is updating barman configuration files",
);
/// `cron` retention: each backup it deletes.
pub const CRON_RETENTION: LockSpec = exclusive(
    Busy::Warning,
    "Another action is in progress for the backup {id} of server {server}, skipping retention policy application",
);
/// `cron` on a passive node: probing a backup's sync lock before starting `sync-backup`.
pub const CRON_SYNC_BACKUP: LockSpec = exclusive(
    Busy::InfoUnlogged,
    "A synchronisation process for backup {id} on server {server} is already in progress",
);
/// `config-update`.
pub const CONFIG_UPDATE: LockSpec = exclusive(Busy::Exception, "");
/// `sync-backup`.
pub const SYNC_BACKUP: LockSpec = exclusive(
    Busy::Error,
    "Another synchronisation process for backup {id} of server {server} is already running.",
);
/// `sync-wals`.
pub const SYNC_WALS: LockSpec = exclusive(
    Busy::Error,
    "Another sync-wal operation is running for server {server} ",
);
/// `verify-archive` (ours).
pub const VERIFY_ARCHIVE: LockSpec = exclusive(
    Busy::Error,
    "Another verify-archive is already running for server {server}",
);
/// `drill` (ours).
pub const DRILL: LockSpec = exclusive(
    Busy::Error,
    "Another drill is already running for server {server}",
);
/// `export-backup` (ours): the backup's lock.
pub const EXPORT: LockSpec = LockSpec {
    denied_message: Some(
        "Permission denied while acquiring backup export lock for backup '{id}' on server '{server}'",
    ),
    ..exclusive(
        Busy::Error,
        "Another backup operation is already running on backup '{id}' for server '{server}'",
    )
};
/// `import-backup` (ours): the server's backup lock and the backup's.
pub const IMPORT: LockSpec = LockSpec {
    denied_message: Some(
        "Permission denied while acquiring backup import lock for server '{server}'",
    ),
    ..exclusive(
        Busy::Error,
        "Another backup operation is already running on server '{server}'",
    )
};

/// Take `kind` in `lock_dir` as `spec` says. `Ok(None)`: busy or forbidden, already
/// reported; the caller skips its work. Other failures are errors of the command.
pub fn take(
    out: &mut Output,
    lock_dir: &Path,
    kind: &LockKind,
    spec: &LockSpec,
) -> crate::Result<Option<LockFile>> {
    let taken = if spec.shared {
        LockFile::acquire_shared(lock_dir, kind)
    } else {
        LockFile::acquire(lock_dir, kind)
    };
    match taken {
        Ok(lock) => Ok(Some(lock)),
        Err(e) => report(out, kind, spec, e).map(|()| None),
    }
}

/// Report a lock that could not be taken: busy and permission denied in Barman's words
/// (`Ok`, the command skips its work); anything else is the command's error.
fn report(out: &mut Output, kind: &LockKind, spec: &LockSpec, err: LockError) -> crate::Result<()> {
    match err {
        LockError::Busy(path) => {
            let text = fill(spec.busy_message, kind);
            match spec.busy {
                Busy::InfoUnlogged => out.info_unlogged(&text),
                Busy::Info => out.info(&text),
                Busy::Warning => out.warning(&text),
                Busy::Error => out.error(&text),
                Busy::Exception => return Err(crate::Error::Uncaught(path.display().to_string())),
            }
            Ok(())
        }
        LockError::PermissionDenied(path) => {
            out.error(&match spec.denied_message {
                Some(message) => fill(message, kind),
                None => format!("Permission denied, unable to access '{}'", path.display()),
            });
            Ok(())
        }
        e => Err(e.into()),
    }
}

/// A message with the lock's server and backup id filled in.
fn fill(message: &str, kind: &LockKind) -> String {
    message
        .replace("{server}", kind.server().unwrap_or_default())
        .replace("{id}", kind.backup_id().unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_the_lock_server_and_backup() {
        let kind = LockKind::Backup("pg".into(), "20261205T100000".into());
        assert_eq!(
            fill(DELETE_BACKUP.busy_message, &kind),
            "Another process is holding the lock for backup 20261205T100000 of server pg."
        );
        assert_eq!(
            fill(ARCHIVE_WAL.busy_message, &LockKind::ArchiveWal("pg".into())),
            "Another archive-wal process is already running on server pg. Skipping to the next server"
        );
    }

    fn json_output() -> Output {
        Output::new(
            crate::output::Format::Json,
            true,
            false,
            crate::output::ColorChoice::Never,
        )
    }

    /// Barman's `"Permission denied, unable to access '%s'" % e`, where the exception's text
    /// is the lock's path: the path once, not our error's own sentence inside the quotes.
    #[test]
    fn a_forbidden_lock_names_its_path_once() {
        let kind = LockKind::ServerBackup("pg".into());
        let path = std::path::PathBuf::from("/var/lib/barman/.pg-backup.lock");
        for spec in [
            &BACKUP,
            &DELETE_SERVER,
            &CRON_SERVER,
            &ARCHIVE_WAL,
            &RECOVER,
        ] {
            let mut out = json_output();
            report(
                &mut out,
                &kind,
                spec,
                LockError::PermissionDenied(path.clone()),
            )
            .unwrap();
            assert_eq!(
                out.last_error(),
                Some("Permission denied, unable to access '/var/lib/barman/.pg-backup.lock'")
            );
        }
        let mut out = json_output();
        let export = LockKind::Backup("pg".into(), "20261205T100000".into());
        report(
            &mut out,
            &export,
            &EXPORT,
            LockError::PermissionDenied(path),
        )
        .unwrap();
        assert_eq!(
            out.last_error(),
            Some("Permission denied while acquiring backup export lock for backup '20261205T100000' on server 'pg'")
        );
    }

    #[test]
    fn config_update_lets_a_busy_lock_end_the_command() {
        let mut out = json_output();
        let path = std::path::PathBuf::from("/b/.config-update.lock");
        let err = report(
            &mut out,
            &LockKind::ConfigUpdate,
            &CONFIG_UPDATE,
            LockError::Busy(path),
        );
        assert!(matches!(err, Err(crate::Error::Uncaught(p)) if p == "/b/.config-update.lock"));
    }

    #[test]
    fn a_busy_lock_is_reported_once_and_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let kind = LockKind::ServerBackup("pg".into());
        let mut out = json_output();
        let held = take(&mut out, dir.path(), &kind, &BACKUP).unwrap();
        assert!(held.is_some());
        let again = take(&mut out, dir.path(), &kind, &BACKUP).unwrap();
        assert!(again.is_none());
        assert!(out.errored());
        assert_eq!(out.last_error(), Some("Another backup process is running"));
    }
}
