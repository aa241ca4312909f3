//! Writing the WAL catalog (`<server>-xlog.db`) under Barman's `.<server>-xlogdb.lock`:
//! durable appends, and the rebuild from a scan of the archive (`rebuild-xlogdb`), which is
//! also how a Barman 2.19 `xlog.db` is replaced by the new file, as Barman 3.20 does.

use super::layout::ServerDirs;
use super::store::{self, CatalogError};
use crate::adapters::durable::{self, ReplaceError};
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
///
/// The file must end at a line boundary before anything is added, or the new entry would
/// be glued to a torn one and both lost (a disk that filled up mid-append, a crash, or
/// Python Barman's own torn write): a torn tail is cut off first, and the WAL it named,
/// if the archive holds it, is catalogued again from the file itself. A failed write is
/// undone (the file is cut back to its length before the append).
pub fn append(
    dirs: &ServerDirs,
    lock_dir: &Path,
    entries: &[XlogDbEntry],
) -> Result<(), XlogDbWriteError> {
    ensure(dirs, lock_dir)?;
    let _lock = LockFile::acquire(lock_dir, &LockKind::XlogDb(dirs.name.clone()))?;
    let path = dirs.xlog_db();
    let mut file = OpenOptions::new()
        .read(true)
        .append(true)
        .create(true)
        .open(&path)
        .map_err(io("open", &path))?;
    let repaired = repair_torn_tail(dirs, &mut file, &path)?;
    let before = file.metadata().map_err(io("stat", &path))?.len();
    let text: String = repaired
        .iter()
        .chain(entries)
        .map(XlogDbEntry::to_line)
        .collect();
    let written = write_all_failpoint(&mut file, text.as_bytes()).and_then(|()| file.sync_all());
    if let Err(source) = written {
        // Leave no partial line behind for the next append to glue onto.
        let _ = file.set_len(before);
        let _ = file.sync_all();
        return Err(io("append to", &path)(source).into());
    }
    Ok(())
}

/// Write `bytes`; with the `failpoints` feature, `BARMAN_FAILPOINT=xlogdb-append-enospc`
/// writes half of them and then fails as a full disk does.
fn write_all_failpoint(file: &mut std::fs::File, bytes: &[u8]) -> std::io::Result<()> {
    #[cfg(feature = "failpoints")]
    if std::env::var("BARMAN_FAILPOINT").as_deref() == Ok("xlogdb-append-enospc") {
        file.write_all(&bytes[..bytes.len() / 2])?;
        return Err(std::io::Error::from_raw_os_error(libc::ENOSPC));
    }
    file.write_all(bytes)
}

/// Cut a torn last line (no newline at the end) off the db; returns the entry to add back
/// when the fragment names a WAL file the archive holds.
fn repair_torn_tail(
    dirs: &ServerDirs,
    file: &mut std::fs::File,
    path: &Path,
) -> Result<Vec<XlogDbEntry>, CatalogError> {
    use std::io::{Read, Seek, SeekFrom};
    let len = file.metadata().map_err(io("stat", path))?.len();
    if len == 0 {
        return Ok(Vec::new());
    }
    // Lines are short (name, size, time, compression, encryption): a 4 KiB tail holds the
    // last newline unless the file is one torn line.
    let start = len.saturating_sub(4096);
    file.seek(SeekFrom::Start(start))
        .map_err(io("seek", path))?;
    let mut tail = Vec::new();
    file.read_to_end(&mut tail).map_err(io("read", path))?;
    if tail.last() == Some(&b'\n') {
        return Ok(Vec::new());
    }
    let cut = tail
        .iter()
        .rposition(|b| *b == b'\n')
        .map_or(start, |at| start + at as u64 + 1);
    let fragment = String::from_utf8_lossy(&tail[(cut - start) as usize..]).into_owned();
    file.set_len(cut).map_err(io("truncate", path))?;
    file.sync_all().map_err(io("fsync", path))?;
    tracing::warn!(
        target: "barman.xlogdb",
        "{}: the last line was torn ({fragment:?}); cut at byte {cut}",
        path.display()
    );
    let name = fragment.split_whitespace().next().unwrap_or_default();
    let Ok(kind) = name.parse::<crate::core::wal_name::WalFileName>() else {
        return Ok(Vec::new());
    };
    let archived = match kind {
        crate::core::wal_name::WalFileName::History(_) => dirs.wals_directory.join(name),
        _ => dirs
            .wals_directory
            .join(name.get(..16).unwrap_or_default())
            .join(name),
    };
    if !archived.is_file() {
        return Ok(Vec::new());
    }
    let entry = store::wal_file_info(&archived, name)?;
    tracing::warn!(target: "barman.xlogdb", "{name} catalogued again from {}", archived.display());
    Ok(vec![entry])
}

/// True when the db lists `name`.
pub fn contains(dirs: &ServerDirs, name: &str) -> Result<bool, CatalogError> {
    let mut found = false;
    store::for_each_wal(dirs, |entry| found |= entry.name == name)?;
    Ok(found)
}

/// Rewrite the db from the archive content: segments and `.backup` labels in the hash
/// folders, `.history` files at the top, compression detected from each file. The lines
/// are streamed into the new db (10^6 archived files made a 50 MiB text in memory).
pub fn rebuild(dirs: &ServerDirs, lock_dir: &Path) -> Result<RebuildCounts, XlogDbWriteError> {
    durable::create_dir_all_durable(&dirs.xlogdb_directory)
        .map_err(io("create", &dirs.xlogdb_directory))?;
    let _lock = LockFile::acquire(lock_dir, &LockKind::XlogDb(dirs.name.clone()))?;
    let mut counts = RebuildCounts::default();
    // A scan failure aborts the write (the old db stays) and is reported as itself.
    let db = dirs.xlog_db();
    let written = durable::replace_with(&db, |out| {
        scan_archive(dirs, &mut counts, out).map_err(ReplaceError::Fill)
    });
    match written {
        Ok(()) => {}
        Err(ReplaceError::Fill(e)) => return Err(e.into()),
        Err(ReplaceError::Io(e)) => return Err(io("write", &db)(e).into()),
    }
    let legacy = dirs.legacy_xlog_db();
    if legacy.exists() {
        std::fs::remove_file(&legacy).map_err(io("remove", &legacy))?;
        durable::fsync_dir(&dirs.wals_directory).map_err(io("fsync", &dirs.wals_directory))?;
    }
    Ok(counts)
}

/// Write the db line of every archived file, in name order, into `out`.
fn scan_archive(
    dirs: &ServerDirs,
    counts: &mut RebuildCounts,
    out: &mut dyn std::io::Write,
) -> Result<(), CatalogError> {
    use crate::core::wal_name::WalFileName;
    let db_name = format!("{}-xlog.db", dirs.name);
    // WALs in the cloud leave nothing local to scan: Barman starts an empty db (its
    // `rebuild_xlogdb` returns early for cloud storage, `xlogdb("a")` creates the file).
    let cloud = dirs
        .wals_directory
        .to_str()
        .is_some_and(crate::core::config::value::is_cloud_url);
    if cloud {
        return Ok(());
    }
    let mut emit = |path: &Path, name: &str| -> Result<(), CatalogError> {
        let line = store::wal_file_info(path, name)?.to_line();
        out.write_all(line.as_bytes()).map_err(io("write", path))
    };
    // The db's own temporary files (`.NAME-xlog.db.XXXXXX.tmp`, the one this rebuild
    // is writing included) are not archive content either.
    let db_temp = format!(".{db_name}");
    for name in sorted_names(&dirs.wals_directory)? {
        if name.starts_with(&db_name) || name.starts_with(&db_temp) || name == "xlog.db" {
            continue;
        }
        let path = dirs.wals_directory.join(&name);
        if path.is_dir() {
            for file in sorted_names(&path)? {
                let full = path.join(&file);
                match file.parse::<WalFileName>() {
                    Ok(WalFileName::Segment(_)) if full.is_file() => counts.wal_files += 1,
                    Ok(WalFileName::BackupLabel { .. }) if full.is_file() => {
                        counts.backup_labels += 1
                    }
                    _ => {
                        tracing::warn!(target: "barman.server", "unexpected file rebuilding the wal database: {}", full.display());
                        continue;
                    }
                }
                emit(&full, &file)?;
            }
        } else if matches!(name.parse(), Ok(WalFileName::History(_))) {
            counts.history += 1;
            emit(&path, &name)?;
        } else {
            tracing::warn!(target: "barman.server", "unexpected file rebuilding the wal database: {}", path.display());
        }
    }
    Ok(())
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
