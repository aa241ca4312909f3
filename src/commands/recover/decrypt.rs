//! Decryption of a `encryption = gpg` backup before it is restored (Barman's
//! `DecryptOperation`): always on this host, where gpg and the key are, into a folder of
//! the staging path laid out as the backup (`data/` with the `*.tar*` files decrypted and
//! the others copied), from which the usual extraction and copy proceed. The folder is
//! removed when the restore is done, whether it succeeded or not.

use super::options::Plan;
use super::Stop;
use crate::adapters::catalog::layout::ServerDirs;
use crate::adapters::gpg::{self, Passphrase};
use crate::core::backup_id::BackupId;
use crate::core::backup_info::BackupInfo;
use crate::core::backup_info::Field;
use crate::core::config::ServerConfig;
use crate::core::encryption;
use crate::output::Output;
use std::path::Path;

/// `encryption_passphrase_command`'s passphrase, or the restore stops with `missing`.
pub(super) fn passphrase(server: &ServerConfig, missing: &str) -> Result<Passphrase, Stop> {
    let Some(command) = server.encryption_passphrase_command() else {
        return Err(Stop::Message(missing.to_string()));
    };
    tracing::debug!(target: "barman.recovery_executor", "The 'encryption_passphrase_command' setting is present in the configuration. This implies that the catalog contains encrypted backup or WAL files. The private key will be retrieved to perform decryption as needed.");
    // A failing or empty command is an exception Barman lets reach `cli.main`.
    gpg::passphrase_from_command(command).map_err(|e| Stop::Uncaught(e.to_string()))
}

/// Decrypt backup `id` into a new folder of the staging path; None for a backup that is
/// not encrypted.
pub(super) fn backup(
    out: &mut Output,
    server: &ServerConfig,
    dirs: &ServerDirs,
    id: &BackupId,
    info: &BackupInfo,
    plan: &Plan,
) -> Result<Option<tempfile::TempDir>, Stop> {
    if info.raw(Field::Encryption).is_none() {
        return Ok(None);
    }
    let name = server.name();
    let passphrase = passphrase(
        server,
        &format!("Encrypted backup '{id}' was found for server '{name}', but 'encryption_passphrase_command' is not configured correctly. Please fix it before attempting a restore."),
    )?;
    if plan.staging.remote {
        out.warning("'staging_location' is set to 'remote', but decryption requires GPG,which is configured on the Barman host. For this reason, decryption will be performed locally, as if 'staging_location' were set to 'local'. This applies only to decryption, other steps will still honor the configured 'staging_location'.");
    }
    // `staging_path`, or the deprecated `local_staging_path` (Barman maps every operation
    // but decompression to it).
    let root = &plan.staging.combine_path;
    let staged = tempfile::Builder::new()
        .prefix(&format!("barman-decryption-{name}-{id}-"))
        .tempdir_in(root)
        .map_err(|e| {
            Stop::Message(format!(
                "Failure copying base backup: cannot create a staging folder in '{root}': {e}"
            ))
        })?;
    out.info(&format!(
        "Decrypting files from backup '{id}' for server '{name}'."
    ));
    decrypt_data(
        out,
        server,
        &dirs.backup_base(id),
        staged.path(),
        &passphrase,
    )?;
    // The tablespace folders of the layout (their content is in data/<oid>.tar*).
    for (_, oid, _) in super::copy::tablespaces(info) {
        std::fs::create_dir_all(staged.path().join(oid.to_string()))?;
    }
    Ok(Some(staged))
}

/// Every file of `<base>/data` into `<staged>/data`: `.gpg` ones decrypted, others copied.
fn decrypt_data(
    out: &mut Output,
    server: &ServerConfig,
    base: &Path,
    staged: &Path,
    passphrase: &Passphrase,
) -> Result<(), Stop> {
    let data = base.join("data");
    let into = staged.join("data");
    std::fs::create_dir_all(&into)?;
    let mut entries: Vec<_> = std::fs::read_dir(&data)?
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    entries.sort();
    for file in entries {
        let src = data.join(&file);
        if file.ends_with(".gpg") {
            out.debug(&format!(
                "Decrypting file {} at {}",
                src.display(),
                into.display()
            ));
            let dst = into.join(encryption::decrypted_name(&file));
            gpg::decrypt(&src, &dst, passphrase, server.path_prefix())
                .map_err(|e| Stop::Uncaught(e.barman_text()))?;
        } else {
            std::fs::copy(&src, into.join(&file))?;
        }
    }
    Ok(())
}
