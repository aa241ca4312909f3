//! `verify-backup` (alias `verify`) and `generate-manifest`: Barman's `cli.verify_backup` +
//! `BackupManager.verify_backup` (run `pg_verifybackup` on a backup's data folder) and
//! `cli.generate_manifest` (write a `backup_manifest` for a backup that has none, e.g. an
//! rsync backup). Neither takes a lock or checks the backup's status, as in Barman.
//!
//! Both print the server as `['<name>']`: Barman interpolates its `args.server_name`, which
//! `get_server` has replaced with a one-element list by then. Kept, since scripts may match
//! these lines.

use crate::adapters::catalog::backup_dir::is_version_1;
use crate::adapters::catalog::manifest;
use crate::adapters::pg_tools;
use crate::commands::catalog::ServerCatalog;
use crate::commands::{select, Context};
use crate::core::backup_id::BackupId;
use crate::core::backup_info::Field;
use crate::core::config::ServerConfig;
use crate::core::py_literal::str_repr;
use crate::output::Output;
use std::path::PathBuf;

/// `verify-backup` shows every server whatever its state (Barman's `get_server` flags all off).
const VERIFY_POLICY: select::Policy = select::Policy {
    inactive_is_error: false,
    skip_inactive: false,
    disabled_is_error: false,
};

/// The server name as Barman prints it here: the repr of a one-element list.
fn listed(name: &str) -> String {
    format!("[{}]", str_repr(name))
}

/// `<basebackups_directory>/<ID>/data` (`pgdata` for the first backup layout), Barman's
/// `get_data_directory`.
fn data_directory(catalog: &ServerCatalog<'_>, id: &BackupId) -> PathBuf {
    let base = catalog.dirs.backup_base(id);
    base.join(if is_version_1(&catalog.dirs, id) {
        "pgdata"
    } else {
        "data"
    })
}

/// Resolve `backup_id` on `server`, printing Barman's error when it is unknown.
fn resolve<'a>(
    ctx: &Context,
    server: &'a ServerConfig,
    backup_id: &str,
    out: &mut Output,
) -> crate::Result<Option<(ServerCatalog<'a>, BackupId)>> {
    let lock_dir = PathBuf::from(&ctx.config.global.barman_lock_directory);
    let catalog = ServerCatalog::load(server, &lock_dir, *ctx.now.offset())?;
    Ok(catalog.resolve(backup_id, out).map(|id| (catalog, id)))
}

/// `verify-backup SERVER BACKUP_ID`.
///
/// # Errors
/// The catalog cannot be read, or `pg_verifybackup` cannot be started.
pub fn verify_backup(
    ctx: &Context,
    out: &mut Output,
    server_name: &str,
    backup_id: &str,
) -> crate::Result<()> {
    let Some(server) = select::single(&ctx.config, server_name, out, VERIFY_POLICY) else {
        return Ok(());
    };
    let Some((catalog, id)) = resolve(ctx, server, backup_id, out)? else {
        return Ok(());
    };
    out.info(&format!(
        "Verifying backup '{backup_id}' on server {}",
        listed(server_name)
    ));
    if server.uses_backup_cloud_storage() || server.uses_wal_cloud_storage() {
        out.error("Backup verification is not supported for servers using cloud storage");
        return Ok(());
    }
    let info = &catalog.backups[&id];
    if info.raw(Field::Encryption).is_some() {
        out.error("Backup verification is not supported for encrypted backups");
        return Ok(());
    }
    out.info("Calling pg_verifybackup");
    let tool = pg_tools::version_info(&["pg_verifybackup"], server.path_prefix());
    let Some(program) = tool.path else {
        out.error("pg_verifybackup not found");
        return Ok(());
    };
    // A compressed backup is in tar format, which pg_verifybackup reads from 18 on.
    let tar = info.raw(Field::Compression).is_some();
    let too_old = tool
        .major_version
        .as_deref()
        .is_none_or(|major| !pg_tools::version_le("18", major));
    if tar && too_old {
        out.error(&format!(
            "Verification of tar format backups requires pg_verifybackup from Postgres 18 \
             or newer (found {})",
            tool.full_version.as_deref().unwrap_or("None")
        ));
        return Ok(());
    }
    let data = data_directory(&catalog, &id);
    let result = pg_tools::verify_backup(&program, &data, tar).map_err(|e| {
        crate::Error::Uncaught(format!("{e}: {}", str_repr(&program.to_string_lossy())))
    })?;
    if result.status.success() {
        out.info(String::from_utf8_lossy(&result.stdout).trim());
    } else {
        out.error(&format!(
            "verify backup failure on directory '{}'",
            data.display()
        ));
        // Barman prints the tool's stderr as it came, final newline included.
        out.error(&String::from_utf8_lossy(&result.stderr));
    }
    Ok(())
}

/// `generate-manifest SERVER BACKUP_ID`.
///
/// # Errors
/// The catalog cannot be read; the manifest exists already or cannot be written (Barman's
/// uncaught exceptions, `EXCEPTION: …`).
pub fn generate_manifest(
    ctx: &Context,
    out: &mut Output,
    server_name: &str,
    backup_id: &str,
) -> crate::Result<()> {
    let policy = select::Policy::SKIP_INACTIVE;
    let Some(server) = select::single(&ctx.config, server_name, out, policy) else {
        return Ok(());
    };
    let Some((catalog, id)) = resolve(ctx, server, backup_id, out)? else {
        return Ok(());
    };
    if server.uses_backup_cloud_storage() {
        out.error(&format!(
            "Cannot generate backup manifest for backup '{backup_id}' of server '{}' because \
             a cloud backup storage is configured. The manifest generation is only supported \
             for local backup storage.",
            listed(server_name)
        ));
        return Ok(());
    }
    manifest::write(&data_directory(&catalog, &id))
        .map_err(|e| crate::Error::Uncaught(e.to_string()))?;
    out.info(&format!(
        "Backup manifest for backup '{backup_id}' successfully generated for server {}",
        listed(server_name)
    ));
    Ok(())
}
