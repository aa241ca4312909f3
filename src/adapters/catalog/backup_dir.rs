//! A backup's folder `base/<ID>/`: walking it the way Python's `os.walk` does (list-files,
//! sizes), and removing it (delete).
//!
//! `os.walk` order matters for byte-identical `list-files` output: file names are sorted
//! within a folder (Barman sorts them) but sub-folders come in directory-read order, and
//! symbolic links to folders (`pg_tblspc/<oid>`) are neither listed nor followed.

use super::layout::ServerDirs;
use super::store::CatalogError;
use crate::adapters::durable;
use crate::core::backup_id::BackupId;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

fn io<'a>(op: &'static str, path: &'a Path) -> impl FnOnce(std::io::Error) -> CatalogError + 'a {
    move |source| CatalogError::Io {
        op,
        path: path.to_path_buf(),
        source,
    }
}

/// One folder of the walk: its path, sub-folders (read order), files (sorted).
struct Level {
    root: PathBuf,
    dirs: Vec<PathBuf>,
    files: Vec<String>,
}

fn read_level(root: &Path) -> Option<Level> {
    let entries = std::fs::read_dir(root).ok()?;
    let mut level = Level {
        root: root.to_path_buf(),
        dirs: Vec::new(),
        files: Vec::new(),
    };
    for entry in entries.flatten() {
        let path = entry.path();
        // `DirEntry.is_dir()` in Python follows symbolic links.
        if path.is_dir() {
            level.dirs.push(path);
        } else {
            level
                .files
                .push(entry.file_name().to_string_lossy().into_owned());
        }
    }
    level.files.sort();
    Some(level)
}

/// Walk `top` top-down, calling `visit` for each folder (`os.walk(top)`, links not followed).
fn walk(top: &Path, visit: &mut dyn FnMut(&Level)) {
    let Some(level) = read_level(top) else {
        return;
    };
    visit(&level);
    for dir in &level.dirs {
        if !dir.is_symlink() {
            walk(dir, visit);
        }
    }
}

/// The entries `list-files` prints for the data part: every file of `base/<ID>/`, and
/// each empty folder too when `empty_dirs` is set.
pub fn list_entries(dirs: &ServerDirs, id: &BackupId, empty_dirs: bool) -> Vec<String> {
    let mut lines = Vec::new();
    walk(&dirs.backup_base(id), &mut |level| {
        if empty_dirs && level.dirs.is_empty() && level.files.is_empty() {
            lines.push(level.root.to_string_lossy().into_owned());
        }
        for file in &level.files {
            lines.push(level.root.join(file).to_string_lossy().into_owned());
        }
    });
    lines
}

/// `(size, deduplicated_size)` of a backup folder: every file's size, and the size of the
/// files not hard-linked elsewhere (Barman's `_set_backup_sizes`).
pub fn sizes(dirs: &ServerDirs, id: &BackupId) -> (u64, u64) {
    let (mut size, mut dedup) = (0, 0);
    walk(&dirs.backup_base(id), &mut |level| {
        for file in &level.files {
            if let Ok(meta) = std::fs::metadata(level.root.join(file)) {
                size += meta.len();
                if meta.nlink() == 1 {
                    dedup += meta.len();
                }
            }
        }
    });
    (size, dedup)
}

/// True for a backup of the first layout (`base/<ID>/pgdata/`, "backup_version 1").
pub fn is_version_1(dirs: &ServerDirs, id: &BackupId) -> bool {
    dirs.backup_base(id).join("pgdata").exists()
}

fn remove_tree(path: &Path) -> Result<(), CatalogError> {
    if path.exists() || path.is_symlink() {
        std::fs::remove_dir_all(path).map_err(io("remove", path))?;
        if let Some(parent) = path.parent() {
            durable::fsync_dir(parent).map_err(io("fsync", parent))?;
        }
    }
    Ok(())
}

/// Remove the data of a backup (Barman's `delete_backup_data`): tablespace folders first,
/// then the PGDATA copy.
pub fn delete_data(
    dirs: &ServerDirs,
    id: &BackupId,
    tablespace_oids: &[i64],
) -> Result<(), CatalogError> {
    let base = dirs.backup_base(id);
    let version_1 = is_version_1(dirs, id);
    for oid in tablespace_oids {
        let dir = if version_1 {
            base.join("pgdata").join("pg_tblspc").join(oid.to_string())
        } else {
            base.join(oid.to_string())
        };
        remove_tree(&dir)?;
    }
    remove_tree(&base.join(if version_1 { "pgdata" } else { "data" }))
}

/// Remove what is left of `base/<ID>/` (Barman's `delete_basebackup`).
pub fn delete_base(dirs: &ServerDirs, id: &BackupId) -> Result<(), CatalogError> {
    remove_tree(&dirs.backup_base(id))
}

/// Remove the backup.info (meta/ or legacy place), the last step of a delete.
pub fn delete_backup_info(dirs: &ServerDirs, id: &BackupId) -> Result<(), CatalogError> {
    let path = super::store::backup_info_path(dirs, id);
    match std::fs::remove_file(&path) {
        Ok(()) => {
            if let Some(parent) = path.parent() {
                durable::fsync_dir(parent).map_err(io("fsync", parent))?;
            }
            Ok(())
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(io("remove", &path)(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bid(text: &str) -> BackupId {
        text.parse().unwrap()
    }

    #[test]
    fn walk_lists_sorted_files_skips_dir_links_and_reports_empty_dirs() {
        let root = tempfile::tempdir().unwrap();
        let d = ServerDirs {
            name: "pg".into(),
            backup_directory: root.path().into(),
            basebackups_directory: root.path().join("base"),
            wals_directory: root.path().join("wals"),
            xlogdb_directory: root.path().join("wals"),
        };
        let base = d.backup_base(&bid("20260101T000000"));
        std::fs::create_dir_all(base.join("data/pg_wal")).unwrap();
        std::fs::create_dir_all(base.join("data/pg_tblspc")).unwrap();
        std::fs::create_dir_all(base.join("16384/PG_15")).unwrap();
        std::fs::write(base.join("data/b"), "bb").unwrap();
        std::fs::write(base.join("data/a"), "a").unwrap();
        std::fs::write(base.join("16384/PG_15/x"), "x").unwrap();
        std::os::unix::fs::symlink(base.join("16384"), base.join("data/pg_tblspc/16384")).unwrap();
        let files = list_entries(&d, &bid("20260101T000000"), false);
        assert_eq!(files.len(), 3);
        let data_a = files.iter().position(|f| f.ends_with("data/a")).unwrap();
        assert!(files[data_a + 1].ends_with("data/b"));
        let with_empty = list_entries(&d, &bid("20260101T000000"), true);
        assert!(with_empty.iter().any(|f| f.ends_with("data/pg_wal")));
        assert!(!with_empty.iter().any(|f| f.ends_with("data/pg_tblspc")));
        assert_eq!(sizes(&d, &bid("20260101T000000")), (4, 4));
        delete_data(&d, &bid("20260101T000000"), &[16384]).unwrap();
        assert_eq!(std::fs::read_dir(&base).unwrap().count(), 0);
        delete_base(&d, &bid("20260101T000000")).unwrap();
        assert!(!base.exists());
    }
}
