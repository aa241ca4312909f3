//! Writing the WAL catalog (`<server>-xlog.db`) under Barman's `.<server>-xlogdb.lock`:
//! durable appends, and the rebuild from a scan of the archive (`rebuild-xlogdb`), which is
//! also how a Barman 2.19 `xlog.db` is replaced by the new file, as Barman 3.20 does.

use super::layout::ServerDirs;
use super::store::{self, CatalogError};
use crate::adapters::durable;
use crate::adapters::lock::{LockError, LockFile, LockKind};
use crate::core::xlog_db::XlogDbEntry;
use std::fs::OpenOptions;
use std::io::Write;
use std::path::Path;

/// A failure while writing the WAL catalog.
#[derive(Debug, thiserror::Error)]
pub enum XlogDbWriteError {
    /// Reading or writing files failed.
    #[error(transparent)]
    Catalog(#[from] CatalogError),
    /// The xlogdb lock could not be taken.
    #[error(transparent)]
    Lock(#[from] LockError),
}

fn io<'a>(op: &'static str, path: &'a Path) -> impl FnOnce(std::io::Error) -> CatalogError + 'a {
    move |source| CatalogError::Io {
        op,
        path: path.to_path_buf(),
        source,
    }
}

/// Counts reported by a rebuild.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct RebuildCounts {
    /// `.history` files.
    pub history: usize,
    /// `.backup` labels.
    pub backup_labels: usize,
    /// WAL segments.
    pub wal_files: usize,
}

/// Make sure the db exists: a missing one is rebuilt from the archive, as Barman does (this
/// is also how a 2.19 `xlog.db` is replaced). Call it before adding files to the archive,
/// or the rebuild would list them too.
pub fn ensure(dirs: &ServerDirs, lock_dir: &Path) -> Result<(), XlogDbWriteError> {
    if !dirs.xlog_db().exists() {
        rebuild(dirs, lock_dir)?;
    }
    Ok(())
}

/// Append entries durably (write, fsync) under the xlogdb lock.
pub fn append(
    dirs: &ServerDirs,
    lock_dir: &Path,
    entries: &[XlogDbEntry],
) -> Result<(), XlogDbWriteError> {
    ensure(dirs, lock_dir)?;
    let _lock = LockFile::acquire(lock_dir, &LockKind::XlogDb(dirs.name.clone()))?;
    let path = dirs.xlog_db();
    let mut file = OpenOptions::new()
        .append(true)
        .create(true)
        .open(&path)
        .map_err(io("open", &path))?;
    let text: String = entries.iter().map(XlogDbEntry::to_line).collect();
    file.write_all(text.as_bytes())
        .map_err(io("append to", &path))?;
    file.sync_all().map_err(io("fsync", &path))?;
    Ok(())
}

/// True when the db lists `name`.
pub fn contains(dirs: &ServerDirs, name: &str) -> Result<bool, CatalogError> {
    let mut found = false;
    store::for_each_wal(dirs, |entry| found |= entry.name == name)?;
    Ok(found)
}

/// Rewrite the db from the archive content: segments and `.backup` labels in the hash
/// folders, `.history` files at the top, compression detected from each file.
pub fn rebuild(dirs: &ServerDirs, lock_dir: &Path) -> Result<RebuildCounts, XlogDbWriteError> {
    durable::create_dir_all_durable(&dirs.xlogdb_directory)
        .map_err(io("create", &dirs.xlogdb_directory))?;
    let _lock = LockFile::acquire(lock_dir, &LockKind::XlogDb(dirs.name.clone()))?;
    let mut counts = RebuildCounts::default();
    let mut text = String::new();
    let db_name = format!("{}-xlog.db", dirs.name);
    for name in sorted_names(&dirs.wals_directory)? {
        if name.starts_with(&db_name) || name == "xlog.db" {
            continue;
        }
        let path = dirs.wals_directory.join(&name);
        if path.is_dir() {
            for file in sorted_names(&path)? {
                let full = path.join(&file);
                let kind = file.parse::<crate::core::wal_name::WalFileName>();
                match kind {
                    Ok(crate::core::wal_name::WalFileName::Segment(_)) if full.is_file() => {
                        counts.wal_files += 1
                    }
                    Ok(crate::core::wal_name::WalFileName::BackupLabel { .. })
                        if full.is_file() =>
                    {
                        counts.backup_labels += 1
                    }
                    _ => {
                        tracing::warn!(target: "barman.server", "unexpected file rebuilding the wal database: {}", full.display());
                        continue;
                    }
                }
                text.push_str(&store::wal_file_info(&full, &file)?.to_line());
            }
        } else if matches!(
            name.parse(),
            Ok(crate::core::wal_name::WalFileName::History(_))
        ) {
            counts.history += 1;
            text.push_str(&store::wal_file_info(&path, &name)?.to_line());
        } else {
            tracing::warn!(target: "barman.server", "unexpected file rebuilding the wal database: {}", path.display());
        }
    }
    let db = dirs.xlog_db();
    durable::write_atomic(&db, text.as_bytes()).map_err(io("write", &db))?;
    let legacy = dirs.legacy_xlog_db();
    if legacy.exists() {
        std::fs::remove_file(&legacy).map_err(io("remove", &legacy))?;
        durable::fsync_dir(&dirs.wals_directory).map_err(io("fsync", &dirs.wals_directory))?;
    }
    Ok(counts)
}

fn sorted_names(dir: &Path) -> Result<Vec<String>, CatalogError> {
    let mut names: Vec<String> = match std::fs::read_dir(dir) {
        Ok(entries) => entries
            .filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
            .collect(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(e) => return Err(io("list", dir)(e)),
    };
    names.sort();
    Ok(names)
}
