//! `import-backup SERVER TARBALL` (Barman's `cli.import_backup`, `Server.import_backup`,
//! `BackupManager.import_backup`): every check runs before anything reaches the catalog —
//! name, checksum, identity, then the whole tarball is extracted into a staging folder
//! inside the server's `base/` (each member checked first, everything fsynced) and its
//! layout and WAL set verified. Only then: WALs into `wals/`, their lines into the xlog db,
//! the data folder renamed to `base/<ID>`, the keep annotation, and last `backup.info`,
//! which is what makes the backup exist.
//!
//! Crash safety (ours; Barman rolls back in-process only): the staging folder is
//! `base/.import-<ID>` (hidden from both catalogs' listings), so a re-run finds what a killed
//! run left — a `base/<ID>` it had moved but not yet described is removed with it — and
//! starts again; WALs already moved are recognised byte for byte and kept once.

use super::import_wals::{self, StagedWals};
use super::missing_identity;
use crate::adapters::catalog::layout::ServerDirs;
use crate::adapters::catalog::{annotations, store};
use crate::adapters::durable::{self, failpoint};
use crate::adapters::export_tar;
use crate::adapters::lock::LockKind;
use crate::commands::catalog::tablespace_oids;
use crate::commands::status::server_dirs;
use crate::commands::{select, Context};
use crate::core::backup_id::BackupId;
use crate::core::backup_info::Field;
use crate::core::backup_info::{BackupInfo, BackupStatus};
use crate::core::export_tarball;
use crate::core::identity::Identity;
use crate::output::Output;
use std::path::{Path, PathBuf};

/// The refusal of an import, Barman's `ImportBackupException` (`EXCEPTION: …`).
fn refuse(message: impl Into<String>) -> crate::Error {
    crate::Error::Uncaught(message.into())
}

/// `import-backup SERVER TARBALL`.
///
/// # Errors
/// A refused tarball or a failed step (Barman's `ImportBackupException`, `EXCEPTION: …`).
pub fn import_backup(
    ctx: &Context,
    out: &mut Output,
    server_name: &str,
    tarball: &Path,
) -> crate::Result<()> {
    let Some(server) = select::single(
        &ctx.config,
        server_name,
        out,
        select::Policy::REFUSE_INACTIVE,
    ) else {
        return Ok(());
    };
    if let Some(error) = tarball_problem(tarball) {
        out.error(&error);
        return Ok(());
    }
    let name = server.name();
    out.info(&format!(
        "Importing backup from '{}' to server '{name}'",
        tarball.display()
    ));
    if server.uses_backup_cloud_storage() || server.uses_wal_cloud_storage() {
        out.error("Backup import is not supported for cloud storage");
        return Ok(());
    }
    let dirs = server_dirs(server);
    let Some(local) = store::load_identity(&dirs).ok().flatten() else {
        out.error(&missing_identity(name));
        return Ok(());
    };
    let Some(parsed) = checked_name(tarball, name, out)? else {
        return Ok(());
    };
    let lock_dir = PathBuf::from(&ctx.config.global.barman_lock_directory);
    let import = &crate::commands::locks::IMPORT;
    let server_lock = LockKind::ServerBackup(name.into());
    let Some(_server_lock) = crate::commands::locks::take(out, &lock_dir, &server_lock, import)?
    else {
        return Ok(());
    };
    let backup_lock = LockKind::Backup(name.into(), parsed.backup_id.to_string());
    let Some(_backup_lock) = crate::commands::locks::take(out, &lock_dir, &backup_lock, import)?
    else {
        return Ok(());
    };
    let job = Import {
        dirs: &dirs,
        lock_dir: &lock_dir,
        tarball,
        id: &parsed.backup_id,
        local: &local,
    };
    job.run(out)?;
    out.info(&format!(
        "Successfully imported backup '{}' into server '{name}'",
        parsed.backup_id
    ));
    Ok(())
}

/// Barman's `_validate_import_tarball_name`: the name's format, then its checksum against
/// the file's sha256; `None` after printing the error.
fn checked_name(
    tarball: &Path,
    server: &str,
    out: &mut Output,
) -> crate::Result<Option<export_tarball::ExportName>> {
    let file_name = tarball
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let parsed = match export_tarball::parse_name(&file_name, server) {
        Ok(parsed) => parsed,
        Err(e) => {
            out.error(&e);
            return Ok(None);
        }
    };
    out.debug("Verifying tarball checksum");
    let actual = export_tar::sha256_file(tarball).map_err(|source| crate::Error::Io {
        op: "read",
        path: tarball.to_path_buf(),
        source,
    })?;
    if let Err(e) = export_tarball::check_checksum(&parsed.checksum, &actual) {
        out.error(&e);
        return Ok(None);
    }
    Ok(Some(parsed))
}

/// Barman's checks of the tarball path, in its order.
fn tarball_problem(tarball: &Path) -> Option<String> {
    use nix::unistd::{access, AccessFlags};
    let shown = tarball.display();
    if !tarball.exists() {
        Some(format!("Tarball file '{shown}' does not exist"))
    } else if !tarball.is_file() {
        Some(format!("Tarball path '{shown}' is not a file"))
    } else if access(tarball, AccessFlags::R_OK).is_err() {
        Some(format!("Tarball file '{shown}' is not readable"))
    } else if !export_tar::is_tarfile(tarball) {
        Some(format!("File '{shown}' is not a valid tar file"))
    } else {
        None
    }
}

/// One import, under the server's backup lock and the backup's lock.
struct Import<'a> {
    dirs: &'a ServerDirs,
    lock_dir: &'a Path,
    tarball: &'a Path,
    id: &'a BackupId,
    local: &'a Identity,
}

impl Import<'_> {
    /// `base/.import-<ID>`: hidden (`glob("*")` and our listing skip it), on the same file
    /// system as `base/<ID>`, and found again by a re-run.
    fn staging(&self) -> PathBuf {
        self.dirs
            .basebackups_directory
            .join(format!(".import-{}", self.id))
    }

    fn run(&self, out: &mut Output) -> crate::Result<()> {
        let staging = self.staging();
        self.clean_leftovers(&staging)?;
        if store::backup_ids(self.dirs)?.iter().any(|i| i == self.id) {
            return Err(refuse(format!(
                "Backup '{}' already exists in the catalog for server '{}'",
                self.id, self.dirs.name
            )));
        }
        let target = self.dirs.backup_base(self.id);
        if target.exists() {
            return Err(refuse(format!(
                "Failed to move backup data to '{}': the folder exists and is not a backup of the catalog",
                target.display()
            )));
        }
        self.check_identity(out)?;
        // Created only now, and removed again on a refusal, so a refused tarball leaves
        // the server's folder as it was (Barman creates its folders before any check).
        let base = &self.dirs.basebackups_directory;
        let created_base = !base.exists();
        durable::create_dir_all_durable(&staging).map_err(|e| {
            refuse(format!(
                "Failed to create backup directory '{}': {e}",
                base.display()
            ))
        })?;
        let result = self.stage_and_publish(&staging, out);
        if result.is_err() {
            // Undo what is not yet described by a backup.info (a moved data folder, the
            // keep); moved WALs stay, they are the server's own and a re-run adopts them.
            if let Err(e) = self.clean_leftovers(&staging) {
                tracing::warn!(target: "barman.backup", "cleaning up the failed import: {e}");
            }
            if created_base {
                let _ = std::fs::remove_dir(base);
            }
        }
        result
    }

    /// What a killed import left: its staging folder, and a `base/<ID>` it had moved in
    /// without a `backup.info` yet (then its keep annotation too).
    fn clean_leftovers(&self, staging: &Path) -> crate::Result<()> {
        if !staging.exists() {
            return Ok(());
        }
        let described = self.dirs.backup_info(self.id).exists()
            || self.dirs.legacy_backup_info(self.id).exists();
        if !described {
            let base = self.dirs.backup_base(self.id);
            if base.exists() {
                tracing::warn!(target: "barman.backup", "removing {} left by an interrupted import", base.display());
                std::fs::remove_dir_all(&base).map_err(io_err("remove", &base))?;
            }
            annotations::delete(self.dirs, self.id, annotations::KEEP)?;
        }
        std::fs::remove_dir_all(staging).map_err(io_err("remove", staging))?;
        durable::fsync_dir(&self.dirs.basebackups_directory)
            .map_err(io_err("fsync", &self.dirs.basebackups_directory))
    }

    /// `identity.json` of the tarball against the server's: another system id is refused,
    /// another major version only warned about (Barman's `_validate_import_identity`).
    fn check_identity(&self, out: &mut Output) -> crate::Result<()> {
        let bytes = export_tar::read_member(self.tarball, "identity.json", 1 << 20)
            .map_err(|e| refuse(format!("Failed to read identity.json from tarball: {e}")))?
            .ok_or_else(|| refuse("Exported tarball does not contain identity.json"))?;
        let theirs: Identity = serde_json::from_slice(&bytes)
            .map_err(|e| refuse(format!("Failed to parse identity.json from tarball: {e}")))?;
        if theirs.systemid != self.local.systemid {
            return Err(refuse(format!(
                "Server identity mismatch: exported backup has systemid '{}' but target server has systemid '{}'",
                theirs.systemid, self.local.systemid
            )));
        }
        if theirs.version != self.local.version {
            out.warning(&format!(
                "PostgreSQL version mismatch: exported backup has version '{}' but target server has version '{}'",
                theirs.version, self.local.version
            ));
        }
        Ok(())
    }

    fn stage_and_publish(&self, staging: &Path, out: &mut Output) -> crate::Result<()> {
        out.debug(&format!(
            "Extracting tarball to staging directory '{}'",
            staging.display()
        ));
        let extracted = export_tar::extract(self.tarball, staging).map_err(|e| match e {
            export_tar::ExtractError::Refused(m) => refuse(m),
            export_tar::ExtractError::Io(e) => refuse(format!(
                "Failed to extract tarball '{}': {e}",
                self.tarball.display()
            )),
        })?;
        let info = self.verify_staging(staging)?;
        let wals = import_wals::verify(self.dirs, staging, &info, &extracted.files)?;
        failpoint("import.staged");
        self.tablespace_links(staging, &info)?;
        self.publish(staging, &info, &wals)
    }

    /// Barman's `_verify_staging_layout` and `backup.info` checks, plus ours: the
    /// backup.info describes a DONE backup of this system.
    fn verify_staging(&self, staging: &Path) -> crate::Result<BackupInfo> {
        for (entry, is_dir) in [
            ("backup", true),
            ("backup.info", false),
            ("wals", true),
            ("xlog.db", false),
        ] {
            let path = staging.join(entry);
            if is_dir && !path.is_dir() {
                return Err(refuse(format!(
                    "Exported tarball does not contain a '{entry}/' directory"
                )));
            }
            if !is_dir && !path.is_file() {
                return Err(refuse(format!(
                    "Exported tarball does not contain a '{entry}' file"
                )));
            }
        }
        let text = std::fs::read_to_string(staging.join("backup.info"))
            .map_err(|e| refuse(format!("Failed to load backup.info: {e}")))?;
        let info = BackupInfo::parse(&text)
            .map_err(|e| refuse(format!("Failed to load backup.info: {e}")))?;
        if info.raw(Field::ParentBackupId).is_some() {
            return Err(refuse(format!(
                "Cannot import backup {} into server {}: it is an incremental backup.\n\
                 Only full backups are eligible for importing.",
                self.id, self.dirs.name
            )));
        }
        if info.status() != BackupStatus::Done {
            return Err(refuse(format!(
                "Cannot import backup {}: backup status is '{}', expected 'DONE'",
                self.id,
                info.status()
            )));
        }
        match info.raw(Field::Systemid) {
            Some(id) if id != self.local.systemid => Err(refuse(format!(
                "Server identity mismatch: backup.info has systemid '{id}' but target server has systemid '{}'",
                self.local.systemid
            ))),
            _ => Ok(info),
        }
    }

    /// Barman's `_reconstruct_tablespace_symlinks`: `data/pg_tblspc/<oid>` → the
    /// tablespace's folder in the imported backup.
    fn tablespace_links(&self, staging: &Path, info: &BackupInfo) -> crate::Result<()> {
        let oids = tablespace_oids(info);
        if oids.is_empty() {
            return Ok(());
        }
        let dir = staging.join("backup/data/pg_tblspc");
        durable::create_dir_all_durable(&dir).map_err(io_err("create", &dir))?;
        for oid in oids {
            let link = dir.join(&oid);
            let target = self.dirs.backup_base(self.id).join(&oid);
            if link.is_dir() && !link.is_symlink() {
                return Err(refuse(format!(
                    "Cannot replace existing directory at tablespace link path '{}'",
                    link.display()
                )));
            }
            std::os::unix::fs::symlink(&target, &link).map_err(|e| {
                refuse(format!(
                    "Failed to create tablespace symlink '{}' -> '{}': {e}",
                    link.display(),
                    target.display()
                ))
            })?;
        }
        durable::fsync_dir(&dir).map_err(io_err("fsync", &dir))
    }

    /// Move everything in, the commit (`backup.info`) last.
    fn publish(&self, staging: &Path, info: &BackupInfo, wals: &StagedWals) -> crate::Result<()> {
        import_wals::publish(self.dirs, self.lock_dir, staging, wals)?;
        let target = self.dirs.backup_base(self.id);
        durable::rename_durable(&staging.join("backup"), &target).map_err(|e| {
            refuse(format!(
                "Failed to move backup data to '{}': {e}",
                target.display()
            ))
        })?;
        failpoint("import.data_moved");
        // Before backup.info, so the backup never exists without its protection from
        // retention (Barman adds it after, and only warns when that fails).
        annotations::write(self.dirs, self.id, annotations::KEEP, "standalone")?;
        store::save_backup(self.dirs, self.id, info)?;
        failpoint("import.committed");
        std::fs::remove_dir_all(staging).map_err(io_err("remove", staging))?;
        durable::fsync_dir(&self.dirs.basebackups_directory)
            .map_err(io_err("fsync", &self.dirs.basebackups_directory))
    }
}

fn io_err<'a>(
    op: &'static str,
    path: &'a Path,
) -> impl FnOnce(std::io::Error) -> crate::Error + 'a {
    move |source| crate::Error::Io {
        op,
        path: path.to_path_buf(),
        source,
    }
}
