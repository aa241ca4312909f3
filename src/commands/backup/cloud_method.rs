//! `backup_method = local-to-cloud` (Barman's `CloudBackupExecutor`): PGDATA and the
//! tablespaces go straight to `basebackups_directory` through barman-cloud-backup's own
//! upload ([`crate::clients::cloud::backup_run::CloudBackup`]), with Barman's
//! `backup.info` in `meta/` (mirrored to `<path>/<server>/base/<ID>/backup.info` at each
//! save, as Python's `CloudLocalBackupInfo` does).

use super::{Running, StepError};
use crate::adapters::cloud::CloudStore;
use crate::adapters::pg_backup::BackupSession;
use crate::clients::cloud::backup_run::{CloudBackup, UploadSettings};
use crate::clients::cloud::Log;
use crate::core::backup_info::Field;
use crate::core::config::ServerConfig;
use crate::output::Output;

/// The mode Barman records (`local-to-cloud` executor, concurrent strategy).
pub const MODE: &str = "local-to-cloud-concurrent";

/// The store behind `basebackups_directory`.
pub(crate) fn open_store(server: &ServerConfig) -> Result<CloudStore, String> {
    crate::commands::cloud_wal::open_store(server, server.basebackups_dir())
        .map_err(|e| e.to_string())
}

/// Where the backup's objects go, as Barman prints it (`<path>/<server>/base/<ID>`).
pub(crate) fn backup_key(store: &CloudStore, server: &str, id: &str) -> String {
    store.url.key(&[server, "base", id])
}

/// Python's `CloudBackupUploader` arguments from the server's configuration.
pub(super) fn upload_settings(running: &Running<'_>) -> UploadSettings {
    let server = running.server;
    let size = |v: Option<i64>| v.and_then(|v| u64::try_from(v).ok());
    UploadSettings {
        server_name: server.name().to_string(),
        backup_name: running.info.raw(Field::BackupName).map(str::to_string),
        compression: None,
        immediate_checkpoint: running.settings.immediate,
        jobs: running.settings.jobs.max(1) as usize,
        keepalive_interval: running.settings.keepalive_interval,
        max_archive_size: size(server.cloud_upload_max_archive_size()).unwrap_or(100 << 30),
        min_chunk_size: size(server.cloud_upload_min_chunk_size()),
        // `bandwidth_limit` is in kB/s; Python multiplies by 1000 for the upload.
        max_bandwidth: running.settings.bwlimit.map(|kb| kb * 1000),
        tags: Vec::new(),
    }
}

/// The upload and what Barman's executor does around it: sizes, then the purge of older
/// WAL after a first backup.
pub(crate) fn run(
    out: &mut Output,
    running: &mut Running<'_>,
    session: &mut BackupSession,
) -> Result<(), StepError> {
    let store = running
        .cloud
        .ok_or_else(|| StepError::new(&running.action, "no cloud storage for backups"))?;
    let settings = upload_settings(running);
    let mut upload = CloudBackup::new(
        store,
        &settings,
        Log::barman(),
        running.id.to_string(),
        running.info.clone(),
    );
    let result = upload.coordinate(session);
    running.info = upload.info;
    running.copy_start = upload.copy_start;
    if result.is_err() {
        return Err(StepError::new(
            &running.action,
            "Cloud backup failed with error. Please check the logs for details.",
        ));
    }
    running
        .info
        .set_raw(Field::Size, Some(upload.size.to_string()));
    running
        .info
        .set_raw(Field::DeduplicatedSize, Some(upload.size.to_string()));
    running.purge_if_first(out)
}

/// Python's `CloudLocalBackupInfo.save`: the local `backup.info` is also uploaded to
/// `<path>/<server>/base/<ID>/backup.info`, so the barman-cloud tools see the same.
pub(crate) fn mirror_info(
    store: &CloudStore,
    server: &str,
    id: &crate::core::backup_id::BackupId,
    info: &crate::core::backup_info::BackupInfo,
) -> Result<(), crate::adapters::cloud::CloudError> {
    tracing::debug!(target: "barman.infofile", "Updating backup.info of backup {id} in the cloud storage");
    let key = store.url.key(&[server, "base", id.as_str(), "backup.info"]);
    store.put(&key, info.to_text().into_bytes(), &[])
}

/// Save a backup's `backup.info` in `meta/` and, for a server whose backups are in the
/// cloud, in the bucket too (Python's `CloudLocalBackupInfo.save`).
pub(crate) fn save_info(
    server: &ServerConfig,
    dirs: &crate::adapters::catalog::layout::ServerDirs,
    id: &crate::core::backup_id::BackupId,
    info: &crate::core::backup_info::BackupInfo,
) -> crate::Result<()> {
    crate::adapters::catalog::store::save_backup(dirs, id, info)?;
    if server.uses_backup_cloud_storage() {
        let store = open_store(server).map_err(crate::Error::Fatal)?;
        mirror_info(&store, server.name(), id, info)
            .map_err(|e| crate::Error::Fatal(e.to_string()))?;
    }
    Ok(())
}
