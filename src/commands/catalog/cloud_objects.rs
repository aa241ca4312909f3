//! The objects a delete removes from the bucket when a server keeps its backups or WALs in
//! the cloud (Barman's `_delete_cloud_backup_data` and its cloud WAL storage's `remove`):
//! the local catalog (xlog.db lines, `meta/<ID>-backup.info`) goes as for any server.

use crate::adapters::cloud::CloudStore;
use crate::core::backup_id::BackupId;
use crate::core::config::ServerConfig;
use crate::core::wal_name::WalFileName;
use std::collections::{BTreeMap, HashSet};

/// The suffixes `cloud-wal-archive` gives compressed WALs.
const SUFFIXES: [&str; 6] = ["gz", "bz2", "xz", "snappy", "zst", "lz4"];

/// Objects per DeleteObjects request (`cloud_delete_batch_size`, S3's 1000 by default).
fn batch(server: &ServerConfig) -> usize {
    server
        .cloud_delete_batch_size()
        .and_then(|n| usize::try_from(n).ok())
        .filter(|n| *n > 0)
        .unwrap_or(1000)
}

fn open(server: &ServerConfig, url: &str) -> crate::Result<CloudStore> {
    crate::commands::cloud_wal::open_store(server, url)
        .map_err(|e| crate::Error::Fatal(e.to_string()))
}

/// Remove every object under `<path>/<server>/base/<ID>/`.
pub fn delete_backup_objects(server: &ServerConfig, id: &BackupId) -> crate::Result<()> {
    let store = open(server, server.basebackups_dir())?;
    let prefix = format!("{}/", store.url.key(&[server.name(), "base", id.as_str()]));
    let keys = store
        .list(&prefix)
        .map_err(|e| crate::Error::Fatal(e.to_string()))?;
    tracing::debug!(target: "barman.backup", "Deleting all backup data from cloud path: {}", prefix.trim_end_matches('/'));
    let deleted = match server.aws_check_object_lock() {
        // Barman's delete_objects(check_locks=True): every object, backup.info included.
        true => store.delete_many_unless_locked(
            &keys,
            batch(server),
            &mut |why| tracing::error!(target: "barman.cloud_providers.aws_s3", "{why}"),
        ),
        false => store.delete_many(&keys, batch(server)),
    };
    deleted.map_err(|e| crate::Error::Fatal(e.to_string()))?;
    // Lastly the manifest a postgres-method backup keeps in `meta/`, as Barman does.
    let manifest = crate::commands::status::server_dirs(server)
        .meta_directory()
        .join(format!("{id}-backup_manifest"));
    if manifest.exists() {
        tracing::debug!(target: "barman.backup", "Deleting backup manifest file: {}", manifest.display());
        if std::fs::remove_file(&manifest).is_err() {
            tracing::warn!(target: "barman.backup", "Failed to delete backup manifest file: {}. Please manually delete this file if it still exists.", manifest.display());
        }
    }
    Ok(())
}

/// Remove the objects of the WALs named in `names` (whatever their compression suffix),
/// listing each hash folder once.
pub fn delete_wal_objects(server: &ServerConfig, names: &[String]) -> crate::Result<()> {
    if names.is_empty() {
        return Ok(());
    }
    let store = open(server, server.wals_dir())?;
    let mut folders: BTreeMap<String, HashSet<&str>> = BTreeMap::new();
    for name in names {
        let hash = name
            .parse::<WalFileName>()
            .map(|n| n.hash_dir())
            .unwrap_or_default();
        let folder = store.url.key(&[server.name(), "wals", &hash]);
        folders.entry(folder).or_default().insert(name.as_str());
    }
    let mut keys = Vec::new();
    for (folder, wanted) in &folders {
        let listed = store
            .list(&format!("{folder}/"))
            .map_err(|e| crate::Error::Fatal(e.to_string()))?;
        keys.extend(listed.into_iter().filter(|key| {
            let base = key.rsplit('/').next().unwrap_or(key);
            wanted.contains(base)
                || SUFFIXES.iter().any(|s| {
                    base.strip_suffix(&format!(".{s}"))
                        .is_some_and(|n| wanted.contains(n))
                })
        }));
    }
    store
        .delete_many(&keys, batch(server))
        .map_err(|e| crate::Error::Fatal(e.to_string()))
}

/// Python's `KeepManagerMixinCloud`: the keep annotation also lives at
/// `<path>/<server>/base/<ID>/annotations/keep` (written before the local one), so
/// `barman-cloud-backup-keep` and `-delete` honour it. `None` releases it.
pub fn mirror_keep(
    server: &ServerConfig,
    id: &BackupId,
    target: Option<&str>,
) -> crate::Result<()> {
    let store = open(server, server.basebackups_dir())?;
    let key = store
        .url
        .key(&[server.name(), "base", id.as_str(), "annotations", "keep"]);
    let result = match target {
        Some(target) => store.put(&key, target.as_bytes().to_vec(), &[]),
        None => match store.delete(&key) {
            Err(crate::adapters::cloud::CloudError::NotFound(_)) => Ok(()),
            other => other,
        },
    };
    result.map_err(|e| crate::Error::Fatal(e.to_string()))
}
