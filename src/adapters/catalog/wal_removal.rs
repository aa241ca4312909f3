//! Removing archived WALs a deleted backup no longer needs (Barman's
//! `remove_wal_before_backup` + `LocalWalStorageStrategy.delete`), under the xlogdb lock.
//!
//! The xlog db is streamed: kept lines go to a new file replaced atomically. Unlike Barman,
//! which deletes the files first and rewrites the db after, the db is replaced first: a crash
//! in between leaves unlisted files (harmless, `rebuild-xlogdb` lists them again), never a
//! db listing files that are gone.

use super::layout::ServerDirs;
use super::store::{self, CatalogError};
use super::xlog_db::{self, XlogDbWriteError};
use crate::adapters::durable;
use crate::adapters::lock::{LockFile, LockKind};
use crate::core::backup_wals::WalProtection;
use crate::core::wal_name::{is_any_xlog_file, WalFileName};
use crate::core::xlog_db::XlogDbEntry;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

/// One step of the removal of one WAL file, for the wal_delete hooks.
#[derive(Debug)]
pub enum WalEvent<'a> {
    /// About to remove this file (its xlog db entry, its path in the archive).
    Pre(&'a XlogDbEntry, &'a Path),
    /// Removed it, or failed to (the warning text Barman passes as `BARMAN_ERROR`).
    Post(&'a XlogDbEntry, &'a Path, Option<&'a str>),
}

/// What the caller answers to a [`WalEvent`]: `false` after a `Pre` stops the removal
/// (a pre retry hook exited 63).
pub type WalEventHandler<'h> = dyn FnMut(WalEvent<'_>) -> bool + 'h;

/// What a removal did.
#[derive(Debug, Default)]
pub struct Removal {
    /// How many files were removed (each was reported through [`WalEvent::Post`]).
    pub removed: u64,
    /// xlog db lines whose name is not a WAL name (dropped from the db, as Barman does).
    pub bad_names: Vec<String>,
    /// Files that could not be unlinked: (name, OS error text).
    pub failures: Vec<(String, String)>,
    /// The event handler stopped the removal before this file (nothing after it removed).
    pub stopped_at: Option<String>,
}

fn io<'a>(op: &'static str, path: &'a Path) -> impl FnOnce(std::io::Error) -> CatalogError + 'a {
    move |source| CatalogError::Io {
        op,
        path: path.to_path_buf(),
        source,
    }
}

/// Remove every archived WAL `protection` does not keep, and its xlog db line.
pub fn remove_wals(
    dirs: &ServerDirs,
    lock_dir: &Path,
    protection: &WalProtection,
) -> Result<Removal, XlogDbWriteError> {
    remove_wals_with(dirs, lock_dir, protection, &mut |_| true)
}

/// [`remove_wals`], telling `on_event` before and after each file goes (Barman runs the
/// wal_delete hooks there).
pub fn remove_wals_with(
    dirs: &ServerDirs,
    lock_dir: &Path,
    protection: &WalProtection,
    on_event: &mut WalEventHandler<'_>,
) -> Result<Removal, XlogDbWriteError> {
    xlog_db::ensure(dirs, lock_dir)?;
    let _lock = LockFile::acquire(lock_dir, &LockKind::XlogDb(dirs.name.clone()))?;
    let db = store::xlog_db_path(dirs);
    let file = std::fs::File::open(&db).map_err(io("open", &db))?;
    let mut removal = Removal::default();
    // Pass 1 streams the db: kept lines into the new db, the others into a spill file, so
    // memory stays flat whatever the size of the archive.
    // The spill file is a list of names, not catalog data: it lives in the temporary
    // folder, never in `wals/` where a crash could leave it for rebuild-xlogdb to trip on.
    let spill_dir = std::env::temp_dir();
    let mut spill = tempfile::Builder::new()
        .prefix(".xlogdb-removed-")
        .tempfile_in(&spill_dir)
        .map_err(io("create", &spill_dir))?;
    {
        let mut spill_out = std::io::BufWriter::new(spill.as_file_mut());
        durable::write_atomic_with(&db, |out: &mut dyn Write| {
            for line in BufReader::new(file).lines() {
                let line = line?;
                if line.trim().is_empty() {
                    continue;
                }
                let entry = XlogDbEntry::parse(&line)
                    .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))?;
                if !is_any_xlog_file(&entry.name) {
                    removal.bad_names.push(entry.name);
                    continue;
                }
                if protection.keeps(&entry.name) {
                    out.write_all(entry.to_line().as_bytes())?;
                } else {
                    spill_out.write_all(entry.to_line().as_bytes())?;
                }
            }
            Ok(())
        })
        .map_err(io("rewrite", &db))?;
        spill_out.flush().map_err(io("write", &spill_dir))?;
    }
    // Pass 2 removes the files folder by folder (the db is in archive order, so a folder's
    // files are contiguous; one folder's entries at most are in memory).
    let spilled = std::fs::File::open(spill.path()).map_err(io("open", &spill_dir))?;
    let mut group: Option<(PathBuf, Vec<XlogDbEntry>)> = None;
    for line in BufReader::new(spilled).lines() {
        let line = line.map_err(io("read", &spill_dir))?;
        let Ok(entry) = XlogDbEntry::parse(&line) else {
            continue;
        };
        let folder = wal_folder(dirs, &entry.name);
        match &mut group {
            Some((current, entries)) if *current == folder => entries.push(entry),
            _ => {
                if let Some((current, entries)) = group.take() {
                    if !delete_group(&current, entries, &mut removal, on_event) {
                        return Ok(removal);
                    }
                }
                group = Some((folder, vec![entry]));
            }
        }
    }
    if let Some((current, entries)) = group {
        delete_group(&current, entries, &mut removal, on_event);
    }
    Ok(removal)
}

/// The folder holding an archived file (`wals/<hash>/`, or `wals/` for history files).
fn wal_folder(dirs: &ServerDirs, name: &str) -> PathBuf {
    let hash = name
        .parse::<WalFileName>()
        .map(|n| n.hash_dir())
        .unwrap_or_default();
    if hash.is_empty() {
        dirs.wals_directory.clone()
    } else {
        dirs.wals_directory.join(hash)
    }
}

/// Barman removes the whole hash folder when every file in it goes, else file by file
/// (then the folders left empty, upwards, like `os.removedirs`). Returns `false` when the
/// event handler stopped the removal.
fn delete_group(
    folder: &Path,
    entries: Vec<XlogDbEntry>,
    removal: &mut Removal,
    on_event: &mut WalEventHandler<'_>,
) -> bool {
    if folder.to_string_lossy().contains("://") {
        // WALs in the cloud: only the xlog.db lines go here; the caller removes the
        // objects of the names it was told about.
        for entry in &entries {
            let path = folder.join(&entry.name);
            if !on_event(WalEvent::Pre(entry, &path)) {
                removal.stopped_at = Some(entry.name.clone());
                return false;
            }
            on_event(WalEvent::Post(entry, &path, None));
            removal.removed += 1;
        }
        return true;
    }
    let present: Option<Vec<String>> = std::fs::read_dir(folder).ok().map(|dir| {
        dir.filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
            .collect()
    });
    // Barman also removes the whole folder whenever 256 files of it go: with segments
    // smaller than 16 MiB a folder holds more than 256 of them, and the rest (still needed)
    // would be lost. Only a folder whose every file goes is removed whole.
    let going: std::collections::HashSet<&str> = entries.iter().map(|e| e.name.as_str()).collect();
    let whole = present.is_some_and(|present| present.iter().all(|p| going.contains(p.as_str())));
    let paths: Vec<PathBuf> = entries.iter().map(|e| folder.join(&e.name)).collect();
    if whole {
        for (entry, path) in entries.iter().zip(&paths) {
            if !on_event(WalEvent::Pre(entry, path)) {
                removal.stopped_at = Some(entry.name.clone());
                return false;
            }
        }
        if std::fs::remove_dir_all(folder).is_ok() {
            if let Some(parent) = folder.parent() {
                let _ = durable::fsync_dir(parent);
            }
            for (entry, path) in entries.iter().zip(&paths) {
                on_event(WalEvent::Post(entry, path, None));
                removal.removed += 1;
            }
            return true;
        }
    }
    for (entry, path) in entries.iter().zip(&paths) {
        if !whole && !on_event(WalEvent::Pre(entry, path)) {
            removal.stopped_at = Some(entry.name.clone());
            let _ = durable::fsync_dir(folder);
            return false;
        }
        let error = match std::fs::remove_file(path) {
            Ok(()) => {
                remove_empty_parents(folder);
                None
            }
            Err(e) => {
                removal.failures.push((entry.name.clone(), e.to_string()));
                Some(e.to_string())
            }
        };
        on_event(WalEvent::Post(entry, path, error.as_deref()));
        removal.removed += 1;
    }
    let _ = durable::fsync_dir(folder);
    true
}

/// `os.removedirs`: remove `dir`, then each parent, stopping at the first that fails.
fn remove_empty_parents(dir: &Path) {
    let mut current = Some(dir);
    while let Some(d) = current {
        if std::fs::remove_dir(d).is_err() {
            break;
        }
        current = d.parent().filter(|p| !p.as_os_str().is_empty());
    }
}
