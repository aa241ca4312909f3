//! Lock files shared with Python Barman (`barman/lockfile.py`): same names in
//! `barman_lock_directory`, same call (`open(O_CREAT|O_RDWR, 0600)` + `flock(LOCK_EX)`),
//! same content (`<pid>\n`). So our binary and Python Barman never run the same exclusive
//! job at once on one `barman_home`. The file stays after release, as in Barman.

use nix::errno::Errno;
use nix::fcntl::{Flock, FlockArg};
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

/// Every lock Barman takes, by the file name it uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LockKind {
    /// `.cron.lock`.
    GlobalCron,
    /// `.<server>-cron.lock`: a whole per-server cron pass.
    ServerCron(String),
    /// `.<server>-backup.lock`: backup, delete, import-backup.
    ServerBackup(String),
    /// `.<server>-<ID>.lock`: per-backup operations.
    Backup(String, String),
    /// `.<server>-archive-wal.lock`.
    ArchiveWal(String),
    /// `.<server>-receive-wal.lock`.
    ReceiveWal(String),
    /// `.<server>-xlogdb.lock` (blocking).
    XlogDb(String),
    /// `.<server>-<ID>-sync-backup.lock`.
    SyncBackup(String, String),
    /// `.<server>-sync-wal.lock` (blocking).
    SyncWal(String),
    /// `.config-update.lock`.
    ConfigUpdate,
    /// `.<server>-drill.lock` (ours): one `barman drill` at a time per server.
    Drill(String),
    /// `.<server>-verify-archive.lock` (ours): one `barman verify-archive` at a time per
    /// server, since each run rewrites the server's verification state.
    VerifyArchive(String),
}

impl LockKind {
    /// The server the lock is for (`None` for the global locks).
    pub fn server(&self) -> Option<&str> {
        match self {
            LockKind::GlobalCron | LockKind::ConfigUpdate => None,
            LockKind::ServerCron(s)
            | LockKind::ServerBackup(s)
            | LockKind::Drill(s)
            | LockKind::Backup(s, _)
            | LockKind::ArchiveWal(s)
            | LockKind::ReceiveWal(s)
            | LockKind::XlogDb(s)
            | LockKind::SyncBackup(s, _)
            | LockKind::SyncWal(s)
            | LockKind::VerifyArchive(s) => Some(s),
        }
    }

    /// The backup the lock is for, for the per-backup locks.
    pub fn backup_id(&self) -> Option<&str> {
        match self {
            LockKind::Backup(_, id) | LockKind::SyncBackup(_, id) => Some(id),
            _ => None,
        }
    }

    /// The lock file's name.
    pub fn file_name(&self) -> String {
        match self {
            LockKind::GlobalCron => ".cron.lock".into(),
            LockKind::ServerCron(s) => format!(".{s}-cron.lock"),
            LockKind::ServerBackup(s) => format!(".{s}-backup.lock"),
            LockKind::Drill(s) => format!(".{s}-drill.lock"),
            LockKind::VerifyArchive(s) => format!(".{s}-verify-archive.lock"),
            LockKind::Backup(s, id) => format!(".{s}-{id}.lock"),
            LockKind::ArchiveWal(s) => format!(".{s}-archive-wal.lock"),
            LockKind::ReceiveWal(s) => format!(".{s}-receive-wal.lock"),
            LockKind::XlogDb(s) => format!(".{s}-xlogdb.lock"),
            LockKind::SyncBackup(s, id) => format!(".{s}-{id}-sync-backup.lock"),
            LockKind::SyncWal(s) => format!(".{s}-sync-wal.lock"),
            LockKind::ConfigUpdate => ".config-update.lock".into(),
        }
    }

    /// Barman waits for these locks instead of failing fast.
    pub fn blocking(&self) -> bool {
        matches!(self, LockKind::XlogDb(_) | LockKind::SyncWal(_))
    }
}

/// Why a lock could not be taken.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// Another process holds it (Barman's `LockFileBusy`).
    #[error("lock file '{}' is held by another process", .0.display())]
    Busy(PathBuf),
    /// We may not create or open it (Barman's `LockFilePermissionDenied`).
    #[error("permission denied on lock file '{}'", .0.display())]
    PermissionDenied(PathBuf),
    /// Any other failure.
    #[error("lock file '{path}': {source}", path = .0.display(), source = .1)]
    Io(PathBuf, std::io::Error),
}

/// A held lock; released (not deleted) on drop.
#[derive(Debug)]
pub struct LockFile {
    path: PathBuf,
    _lock: Flock<File>,
}

fn open(path: &Path) -> Result<File, LockError> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .open(path)
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::PermissionDenied => LockError::PermissionDenied(path.to_path_buf()),
            _ => LockError::Io(path.to_path_buf(), e),
        })
}

fn lock(path: &Path, file: File, wait: bool) -> Result<Flock<File>, LockError> {
    let arg = if wait {
        FlockArg::LockExclusive
    } else {
        FlockArg::LockExclusiveNonblock
    };
    lock_with(path, file, arg)
}

fn lock_with(path: &Path, file: File, arg: FlockArg) -> Result<Flock<File>, LockError> {
    Flock::lock(file, arg).map_err(|(_, errno)| match errno {
        Errno::EWOULDBLOCK => LockError::Busy(path.to_path_buf()),
        Errno::EACCES => LockError::PermissionDenied(path.to_path_buf()),
        other => LockError::Io(path.to_path_buf(), std::io::Error::from(other)),
    })
}

fn same_file(held: &File, path: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (held.metadata(), std::fs::metadata(path)) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    }
}

impl LockFile {
    /// Take `kind` in `directory`, waiting only for the kinds Barman waits for, and write
    /// our pid into it.
    pub fn acquire(directory: &Path, kind: &LockKind) -> Result<LockFile, LockError> {
        Self::acquire_path(&directory.join(kind.file_name()), kind.blocking())
    }

    /// Take the lock file at `path`.
    pub fn acquire_path(path: &Path, wait: bool) -> Result<LockFile, LockError> {
        let mut held = loop {
            let held = lock(path, open(path)?, wait)?;
            // `cron`/`lock-directory-cleanup` unlink lock files nobody holds: if that
            // happened between our open and our flock, we hold a lock on a file no one else
            // will ever open, and a second process could lock the new file at the same
            // path. Only a lock on the file the path still names counts; else retry.
            if same_file(&held, path) {
                break held;
            }
        };
        let io = |e| LockError::Io(path.to_path_buf(), e);
        held.seek(SeekFrom::Start(0)).map_err(io)?;
        let pid = format!("{}\n", std::process::id());
        held.write_all(pid.as_bytes()).map_err(io)?;
        held.set_len(pid.len() as u64).map_err(io)?;
        tracing::debug!(target: "barman.lockfile", "Acquired lock file {}", path.display());
        Ok(LockFile {
            path: path.to_path_buf(),
            _lock: held,
        })
    }

    /// Take `kind` shared, without waiting: many readers of one backup (restores) hold it
    /// together, while Barman's and our `delete`, which take it exclusively, are refused
    /// until the last reader is done. The file's pid is left as it is (several holders).
    pub fn acquire_shared(directory: &Path, kind: &LockKind) -> Result<LockFile, LockError> {
        let path = directory.join(kind.file_name());
        let held = loop {
            let held = lock_with(&path, open(&path)?, FlockArg::LockSharedNonblock)?;
            if same_file(&held, &path) {
                break held;
            }
        };
        Ok(LockFile { path, _lock: held })
    }

    /// The lock file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for LockFile {
    fn drop(&mut self) {
        // The lock goes with the descriptor, closed right after this.
        tracing::debug!(target: "barman.lockfile", "Releasing lock file {}", self.path.display());
    }
}

/// The pid of the process holding the lock at `path`, `None` when nobody holds it.
/// Probes without rewriting the pid, as Barman's `get_owner_pid` does.
pub fn owner_pid(path: &Path) -> Result<Option<u32>, LockError> {
    if !path.exists() {
        return Ok(None);
    }
    match lock(path, open(path)?, false) {
        Ok(_free) => Ok(None),
        Err(LockError::Busy(_)) => {
            let mut text = String::new();
            File::open(path)
                .and_then(|mut f| f.read_to_string(&mut text))
                .map_err(|e| LockError::Io(path.to_path_buf(), e))?;
            Ok(text.trim().parse().ok())
        }
        Err(other) => Err(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lock_names_match_barman() {
        assert_eq!(
            LockKind::ArchiveWal("pg".into()).file_name(),
            ".pg-archive-wal.lock"
        );
        assert_eq!(
            LockKind::Backup("pg".into(), "20261124T010519".into()).file_name(),
            ".pg-20261124T010519.lock"
        );
        assert_eq!(
            LockKind::SyncBackup("pg".into(), "20261124T010519".into()).file_name(),
            ".pg-20261124T010519-sync-backup.lock"
        );
        assert!(LockKind::XlogDb("pg".into()).blocking());
        assert!(!LockKind::ServerBackup("pg".into()).blocking());
    }

    #[test]
    fn lock_is_exclusive_even_within_one_process() {
        let dir = tempfile::tempdir().unwrap();
        let kind = LockKind::ServerBackup("pg".into());
        let held = LockFile::acquire(dir.path(), &kind).unwrap();
        assert!(matches!(
            LockFile::acquire(dir.path(), &kind),
            Err(LockError::Busy(_))
        ));
        let content = std::fs::read_to_string(held.path()).unwrap();
        assert_eq!(content, format!("{}\n", std::process::id()));
        assert_eq!(owner_pid(held.path()).unwrap(), Some(std::process::id()));
        drop(held);
        let path = dir.path().join(kind.file_name());
        assert!(path.exists(), "the file stays after release");
        assert_eq!(owner_pid(&path).unwrap(), None);
        assert!(LockFile::acquire(dir.path(), &kind).is_ok());
    }

    #[test]
    fn lock_rewrites_a_longer_stale_pid() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(".pg-cron.lock");
        std::fs::write(&path, "123456789012\n").unwrap();
        let _held = LockFile::acquire_path(&path, false).unwrap();
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            format!("{}\n", std::process::id())
        );
    }

    #[test]
    fn lock_in_missing_directory_is_an_error() {
        let err =
            LockFile::acquire(Path::new("/nonexistent/dir"), &LockKind::ConfigUpdate).unwrap_err();
        assert!(matches!(err, LockError::Io(..)), "{err:?}");
    }
}
