//! Where a server's catalog files live, in both layouts users have: Barman 3.20's
//! (`meta/<ID>-backup.info`, `wals/<server>-xlog.db`) and the older one Barman 2.19 wrote
//! (`base/<ID>/backup.info`, `wals/xlog.db`), which we read when the new one is absent.

use crate::core::backup_id::BackupId;
use std::path::{Path, PathBuf};

/// A server's catalog paths.
#[derive(Debug, Clone)]
pub struct ServerDirs {
    /// Server name.
    pub name: String,
    /// `backup_directory`.
    pub backup_directory: PathBuf,
    /// `basebackups_directory`.
    pub basebackups_directory: PathBuf,
    /// `wals_directory`.
    pub wals_directory: PathBuf,
    /// `xlogdb_directory`.
    pub xlogdb_directory: PathBuf,
}

impl ServerDirs {
    /// `<backup_directory>/meta` (fixed in Barman).
    pub fn meta_directory(&self) -> PathBuf {
        self.backup_directory.join("meta")
    }

    /// `meta/<ID>-backup.info` (Barman ≥ 3.13.2).
    pub fn backup_info(&self, id: &BackupId) -> PathBuf {
        self.meta_directory().join(format!("{id}-backup.info"))
    }

    /// `base/<ID>/backup.info` (older Barman).
    pub fn legacy_backup_info(&self, id: &BackupId) -> PathBuf {
        self.basebackups_directory.join(id).join("backup.info")
    }

    /// `<xlogdb_directory>/<server>-xlog.db` (Barman ≥ 3.13).
    pub fn xlog_db(&self) -> PathBuf {
        self.xlogdb_directory.join(format!("{}-xlog.db", self.name))
    }

    /// `<wals_directory>/xlog.db` (older Barman).
    pub fn legacy_xlog_db(&self) -> PathBuf {
        self.wals_directory.join("xlog.db")
    }

    /// `<backup_directory>/identity.json`.
    pub fn identity(&self) -> PathBuf {
        self.backup_directory.join("identity.json")
    }

    /// The base backup folder of a backup.
    pub fn backup_base(&self, id: &BackupId) -> PathBuf {
        self.basebackups_directory.join(id)
    }
}

/// File name → backup id for `meta/<ID>-backup.info`.
pub fn id_from_meta_name(name: &str) -> Option<BackupId> {
    name.strip_suffix("-backup.info")?.parse().ok()
}

/// Used by callers that only have a path.
pub fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_recognises_backup_ids() {
        assert_eq!(
            id_from_meta_name("20261124T004001-backup.info")
                .map(String::from)
                .as_deref(),
            Some("20261124T004001")
        );
        assert_eq!(id_from_meta_name("20261124X004001-backup.info"), None);
        assert_eq!(id_from_meta_name("2026112T0040011-backup.info"), None);
        assert_eq!(id_from_meta_name("20261124T004001-keep"), None);
    }
}
