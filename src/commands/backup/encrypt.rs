//! Encryption of a finished `backup_method = postgres` tar backup (Barman's
//! `BackupManager._encrypt_backup`): after the copy and the restore point, before the
//! sizes are computed, every `*.tar` / `*.tar.<ext>` of the data folder becomes
//! `<name>.gpg` and the plain file is removed; backup.info records `encryption=gpg`.
//!
//! Each encrypted file is fsynced before its plain copy is removed, so a crash leaves one
//! of the two whole; the backup is not DONE until the end anyway.

use super::{Running, StepError};
use crate::adapters::gpg;
use crate::commands::encryption;
use crate::core::backup_info::Field;
use crate::core::encryption::{is_encryptable_tar, GPG};
use crate::output::Output;
use std::path::{Path, PathBuf};

/// Encrypt the backup when the server sets `encryption = gpg`.
pub(crate) fn encrypt_if_configured(
    out: &mut Output,
    running: &mut Running<'_>,
) -> Result<(), StepError> {
    if !encryption::configured(running.server) {
        return Ok(());
    }
    let fail =
        |running: &Running<'_>, e: &dyn std::fmt::Display| StepError::new(&running.action, e);
    let key_id = encryption::validate(running.server).map_err(|e| fail(running, &e))?;
    out.info(&format!("Encrypting backup using {GPG} encryption"));
    let data = running.data_dir();
    let files = tar_files(&data).map_err(|e| fail(running, &e))?;
    let prefix = running.server.path_prefix();
    for file in &files {
        out.debug(&format!("Encrypting file {}", file.display()));
        encrypt_one(&key_id, file, prefix).map_err(|e| fail(running, &e))?;
        out.debug(&format!(
            "File encrypted. Deleting unencrypted file {}",
            file.display()
        ));
    }
    crate::adapters::durable::fsync_dir(&data).map_err(|e| fail(running, &e))?;
    running.info.set_raw(Field::Encryption, Some(GPG.into()));
    running.save()
}

/// The data folder's files Barman encrypts, in name order.
fn tar_files(data: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(data)?
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
        .filter(|e| is_encryptable_tar(&e.file_name().to_string_lossy()))
        .map(|e| e.path())
        .collect();
    files.sort();
    Ok(files)
}

/// `<file>` → `<file>.gpg` (fsynced), then `<file>` removed.
fn encrypt_one(key_id: &str, file: &Path, prefix: Option<&str>) -> Result<(), String> {
    let mut name = file.as_os_str().to_owned();
    name.push(".gpg");
    let encrypted = PathBuf::from(name);
    if let Err(e) = gpg::encrypt(key_id, file, &encrypted, prefix) {
        let _ = std::fs::remove_file(&encrypted);
        return Err(e.barman_text());
    }
    std::fs::File::open(&encrypted)
        .and_then(|f| f.sync_all())
        .map_err(|e| format!("fsync '{}': {e}", encrypted.display()))?;
    std::fs::remove_file(file).map_err(|e| format!("remove '{}': {e}", file.display()))
}
