//! The files `config-update` and `config-switch` write: the changes queue
//! (`config_changes_queue`), the configuration files being edited, and a server's
//! `.active-model.auto`. Every write goes through `durable`, so a crash leaves the old or
//! the new file, never a torn one (Barman rewrites configuration files in place).

use crate::adapters::durable;
use crate::core::config_update::{self, ChangeSet};
use std::path::{Path, PathBuf};

/// A file operation that failed, with its path.
#[derive(Debug, thiserror::Error)]
#[error("{op} '{}': {source}", path.display())]
pub struct EditError {
    /// What we were doing.
    pub op: &'static str,
    /// The file.
    pub path: PathBuf,
    /// The OS error.
    pub source: std::io::Error,
}

fn fail<'a>(op: &'static str, path: &'a Path) -> impl FnOnce(std::io::Error) -> EditError + 'a {
    move |source| EditError {
        op,
        path: path.to_path_buf(),
        source,
    }
}

/// The queued change sets: empty when the file does not exist, `None` when it is not a
/// valid queue.
///
/// # Errors
/// The file exists but cannot be read.
pub fn read_queue(path: &Path) -> Result<Option<Vec<ChangeSet>>, EditError> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(config_update::queue_from_text(&text)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Some(Vec::new())),
        Err(e) => Err(fail("read", path)(e)),
    }
}

/// Replace the queue durably.
///
/// # Errors
/// The write failed (the previous queue is intact).
pub fn write_queue(path: &Path, queue: &[ChangeSet]) -> Result<(), EditError> {
    let text = config_update::queue_to_text(queue);
    durable::write_atomic(path, text.as_bytes()).map_err(fail("write", path))
}

/// A configuration file's text (empty when it does not exist yet, as
/// `.barman.auto.conf` before the first change).
///
/// # Errors
/// The file exists but cannot be read.
pub fn read_config(path: &Path) -> Result<String, EditError> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(text),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(String::new()),
        Err(e) => Err(fail("read", path)(e)),
    }
}

/// Replace a configuration file durably, keeping its permissions. A symbolic link is
/// followed (Barman writes through it), so the link itself stays.
///
/// # Errors
/// The write failed (the previous file is intact).
pub fn write_config(path: &Path, text: &str) -> Result<(), EditError> {
    let target = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    durable::failpoint("config-update.before_write");
    durable::write_atomic_keeping_mode(&target, text.as_bytes()).map_err(fail("write", &target))?;
    durable::failpoint("config-update.after_write");
    Ok(())
}

/// Write `<backup_directory>/.active-model.auto` (the model name, no newline), creating
/// the server's folder when needed.
///
/// # Errors
/// The folder or the file cannot be written.
pub fn write_active_model(backup_directory: &Path, model: &str) -> Result<(), EditError> {
    durable::create_dir_all_durable(backup_directory).map_err(fail("create", backup_directory))?;
    let path = backup_directory.join(".active-model.auto");
    durable::write_atomic(&path, model.as_bytes()).map_err(fail("write", &path))
}

/// Remove `<backup_directory>/.active-model.auto` if present, durably.
///
/// # Errors
/// The file exists but cannot be removed.
pub fn remove_active_model(backup_directory: &Path) -> Result<(), EditError> {
    let path = backup_directory.join(".active-model.auto");
    match std::fs::remove_file(&path) {
        Ok(()) => durable::fsync_dir(backup_directory).map_err(fail("sync", backup_directory)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(fail("remove", &path)(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn config_write_keeps_the_mode_and_follows_a_symlink() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real.conf");
        std::fs::write(&real, "[pg]\n").unwrap();
        std::fs::set_permissions(&real, std::fs::Permissions::from_mode(0o640)).unwrap();
        let link = dir.path().join("barman.conf");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        write_config(&link, "[pg]\na = 1\n").unwrap();
        assert!(std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink());
        assert_eq!(std::fs::read_to_string(&real).unwrap(), "[pg]\na = 1\n");
        let mode = std::fs::metadata(&real).unwrap().permissions().mode() & 0o7777;
        assert_eq!(mode, 0o640);
    }

    #[test]
    fn queue_missing_is_empty_and_malformed_is_none() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cfg_changes.queue");
        assert_eq!(read_queue(&path).unwrap(), Some(Vec::new()));
        std::fs::write(&path, "not json").unwrap();
        assert_eq!(read_queue(&path).unwrap(), None);
        write_queue(&path, &[]).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "[]");
    }

    #[test]
    fn active_model_file_is_written_without_newline_and_removed() {
        let dir = tempfile::tempdir().unwrap();
        let server = dir.path().join("pg");
        write_active_model(&server, "pg:fast").unwrap();
        assert_eq!(
            std::fs::read_to_string(server.join(".active-model.auto")).unwrap(),
            "pg:fast"
        );
        remove_active_model(&server).unwrap();
        assert!(!server.join(".active-model.auto").exists());
        remove_active_model(&server).unwrap();
    }
}
