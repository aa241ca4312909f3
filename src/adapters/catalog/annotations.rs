//! Backup annotations (`barman/annotations.py`, `AnnotationManagerFile`): one file per key,
//! `<backup_directory>/meta/<ID>-<key>` holding the value (`keep` → `full`/`standalone`,
//! `delete_this` → `delete`). Annotations older than Barman 3.13.3 lived in
//! `<basebackups_directory>/<ID>/annotations/<key>`; every access first moves such a file
//! to the new place, as Barman does.

use super::layout::ServerDirs;
use super::store::CatalogError;
use crate::adapters::durable;
use crate::core::backup_id::BackupId;
use std::path::{Path, PathBuf};

/// The keep annotation key.
pub const KEEP: &str = "keep";
/// The in-progress delete marker key.
pub const DELETE_THIS: &str = "delete_this";
/// Ours: the last `barman drill` of the backup (`meta/<ID>-drill.json`; Barman's
/// `*-backup.info` scan ignores it).
pub const DRILL_RECORD: &str = "drill.json";

fn io<'a>(op: &'static str, path: &'a Path) -> impl FnOnce(std::io::Error) -> CatalogError + 'a {
    move |source| CatalogError::Io {
        op,
        path: path.to_path_buf(),
        source,
    }
}

/// `meta/<ID>-<key>`.
pub fn path(dirs: &ServerDirs, id: &BackupId, key: &str) -> PathBuf {
    dirs.meta_directory().join(format!("{id}-{key}"))
}

/// `base/<ID>/annotations/<key>` (before Barman 3.13.3).
pub fn legacy_path(dirs: &ServerDirs, id: &BackupId, key: &str) -> PathBuf {
    dirs.backup_base(id).join("annotations").join(key)
}

/// Move a legacy annotation to `meta/` (Barman's `_check_and_relocate_old_annotation`).
fn relocate(dirs: &ServerDirs, id: &BackupId, key: &str) -> Result<(), CatalogError> {
    let old = legacy_path(dirs, id, key);
    if !old.exists() {
        return Ok(());
    }
    let meta = dirs.meta_directory();
    durable::create_dir_all_durable(&meta).map_err(io("create", &meta))?;
    let new = path(dirs, id, key);
    durable::rename_durable(&old, &new).map_err(io("move", &old))
}

/// The annotation's value, `None` when absent.
pub fn read(dirs: &ServerDirs, id: &BackupId, key: &str) -> Result<Option<String>, CatalogError> {
    relocate(dirs, id, key)?;
    let file = path(dirs, id, key);
    match std::fs::read_to_string(&file) {
        Ok(text) => Ok(Some(text)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io("read", &file)(e)),
    }
}

/// The backups that have annotation `key` in `meta/`, from one listing of the folder
/// (for our own annotations, which never lived in the legacy place: a catalog of 10,000
/// backups costs one `readdir`, not 10,000 failed opens).
pub fn ids_with(dirs: &ServerDirs, key: &str) -> Result<Vec<String>, CatalogError> {
    let meta = dirs.meta_directory();
    let entries = match std::fs::read_dir(&meta) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(io("list", &meta)(e)),
    };
    let suffix = format!("-{key}");
    let mut ids = Vec::new();
    for entry in entries {
        let entry = entry.map_err(io("list", &meta))?;
        if let Some(id) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.strip_suffix(&suffix))
        {
            ids.push(id.to_string());
        }
    }
    ids.sort();
    Ok(ids)
}

/// Write the annotation durably (value without a newline, as Barman writes it).
pub fn write(dirs: &ServerDirs, id: &BackupId, key: &str, value: &str) -> Result<(), CatalogError> {
    let meta = dirs.meta_directory();
    durable::create_dir_all_durable(&meta).map_err(io("create", &meta))?;
    let file = path(dirs, id, key);
    durable::write_atomic(&file, value.as_bytes()).map_err(io("write", &file))
}

/// Remove the annotation (absent is fine). Like Barman, then try to remove `meta/` itself,
/// which only succeeds when it has become empty.
pub fn delete(dirs: &ServerDirs, id: &BackupId, key: &str) -> Result<(), CatalogError> {
    relocate(dirs, id, key)?;
    let file = path(dirs, id, key);
    match std::fs::remove_file(&file) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(io("remove", &file)(e)),
    }
    let meta = dirs.meta_directory();
    match std::fs::remove_dir(&meta) {
        Ok(()) => durable::fsync_dir(&dirs.backup_directory).map_err(io("fsync", &meta)),
        Err(e) if e.kind() == std::io::ErrorKind::DirectoryNotEmpty => {
            durable::fsync_dir(&meta).map_err(io("fsync", &meta))
        }
        Err(e) => Err(io("remove", &meta)(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dirs(root: &Path) -> ServerDirs {
        ServerDirs {
            name: "pg".into(),
            backup_directory: root.to_path_buf(),
            basebackups_directory: root.join("base"),
            wals_directory: root.join("wals"),
            xlogdb_directory: root.join("wals"),
        }
    }

    #[test]
    fn annotations_write_read_delete_and_migrate() {
        let root = tempfile::tempdir().unwrap();
        let d = dirs(root.path());
        let id = &"20260101T000000".parse::<BackupId>().unwrap();
        assert_eq!(read(&d, id, KEEP).unwrap(), None);
        write(&d, id, KEEP, "standalone").unwrap();
        assert_eq!(std::fs::read(path(&d, id, KEEP)).unwrap(), b"standalone");
        assert_eq!(read(&d, id, KEEP).unwrap().as_deref(), Some("standalone"));
        std::fs::write(d.backup_info(id), "status=DONE\n").unwrap();
        delete(&d, id, KEEP).unwrap();
        assert_eq!(read(&d, id, KEEP).unwrap(), None);
        assert!(d.meta_directory().is_dir());
        // Legacy location: moved on first access; meta/ removed when emptied.
        std::fs::remove_file(d.backup_info(id)).unwrap();
        let old = legacy_path(&d, id, KEEP);
        std::fs::create_dir_all(old.parent().unwrap()).unwrap();
        std::fs::write(&old, "full").unwrap();
        assert_eq!(read(&d, id, KEEP).unwrap().as_deref(), Some("full"));
        assert!(!old.exists());
        delete(&d, id, KEEP).unwrap();
        assert!(!d.meta_directory().exists());
        delete(&d, id, KEEP).unwrap();
    }
}
