//! What `verify-archive` reads from disk: the archive's file list (one directory listing
//! per hash folder, one `stat` per file) and the files themselves, read and decompressed
//! on every core.

use crate::adapters::catalog::store::CatalogError;
use crate::adapters::catalog::wal_checksums::{self, Content};
use crate::adapters::codec::Codec;
use crate::core::wal_checksums::FileStamp;
use crate::core::wal_name::WalFileName;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

/// One file of the archive.
#[derive(Debug, Clone)]
pub struct ArchivedFile {
    /// Its name, parsed.
    pub name: WalFileName,
    /// Its name as on disk.
    pub text: String,
    /// Where it is.
    pub path: PathBuf,
    /// Its size and modification time.
    pub stamp: FileStamp,
}

fn io<'a>(op: &'static str, path: &'a Path) -> impl FnOnce(std::io::Error) -> CatalogError + 'a {
    move |source| CatalogError::Io {
        op,
        path: path.to_path_buf(),
        source,
    }
}

/// Every WAL-like file of `wals`: `.history` files at the top, segments, `.partial` and
/// `.backup` files in the hash folders. Other names (temporary files, the xlog db and
/// its companions) are not archive content and are left out. Sorted by name.
///
/// # Errors
/// A folder cannot be listed.
pub fn list_archive(wals: &Path) -> Result<Vec<ArchivedFile>, CatalogError> {
    let mut files = Vec::new();
    for entry in read_dir(wals)? {
        let name = entry.file_name().to_string_lossy().into_owned();
        let is_dir = entry.file_type().is_ok_and(|t| t.is_dir());
        if is_dir && name.len() == 16 && name.bytes().all(|b| b.is_ascii_hexdigit()) {
            for inner in read_dir(&entry.path())? {
                let text = inner.file_name().to_string_lossy().into_owned();
                match text.parse::<WalFileName>() {
                    Ok(WalFileName::History(_)) | Err(_) => {}
                    Ok(parsed) => push(&mut files, parsed, text, &inner),
                }
            }
        } else if let Ok(parsed @ WalFileName::History(_)) = name.parse::<WalFileName>() {
            push(&mut files, parsed, name, &entry);
        }
    }
    files.sort_by(|a, b| a.text.cmp(&b.text));
    Ok(files)
}

fn read_dir(dir: &Path) -> Result<Vec<std::fs::DirEntry>, CatalogError> {
    match std::fs::read_dir(dir) {
        Ok(entries) => Ok(entries.filter_map(Result::ok).collect()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(io("list", dir)(e)),
    }
}

fn push(files: &mut Vec<ArchivedFile>, name: WalFileName, text: String, entry: &std::fs::DirEntry) {
    // A file removed since the listing (retention) simply drops out.
    let Ok(meta) = entry.metadata() else {
        return;
    };
    if !meta.is_file() {
        return;
    }
    files.push(ArchivedFile {
        name,
        text,
        path: entry.path(),
        stamp: FileStamp {
            size: meta.len(),
            mtime_ns: i128::from(meta.mtime()) * 1_000_000_000 + i128::from(meta.mtime_nsec()),
        },
    });
}

/// What reading one file gave.
#[derive(Debug)]
pub enum Reading {
    /// Its plain content's digest, or that it is encrypted.
    Read(Content),
    /// It was removed while we worked (retention): it drops out.
    Vanished,
    /// It cannot be read or decompressed.
    Failed(String),
}

/// Read every file of `files` (decompressed; `custom` for those whose catalog entry says
/// `custom`), on `workers` threads; results in the same order.
pub fn read_all(
    files: &[&ArchivedFile],
    custom: &(dyn Fn(&str) -> Option<Codec> + Sync),
    workers: usize,
) -> Vec<Reading> {
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<Reading>>> = Mutex::new(files.iter().map(|_| None).collect());
    std::thread::scope(|scope| {
        for _ in 0..workers.max(1) {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(file) = files.get(i) else {
                    break;
                };
                let reading = read_one(file, custom(&file.text).as_ref());
                if let Ok(mut slots) = results.lock() {
                    slots[i] = Some(reading);
                }
            });
        }
    });
    results
        .into_inner()
        .unwrap_or_default()
        .into_iter()
        .map(|r| r.unwrap_or_else(|| Reading::Failed("not read (worker failed)".into())))
        .collect()
}

fn read_one(file: &ArchivedFile, custom: Option<&Codec>) -> Reading {
    tracing::debug!(target: "barman.verify_archive", "reading {}", file.path.display());
    match wal_checksums::digest_file(&file.path, custom) {
        Ok(content) => Reading::Read(content),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Reading::Vanished,
        Err(e) => Reading::Failed(e.to_string()),
    }
}

/// The plain text of a history file (`None` when encrypted).
///
/// # Errors
/// It cannot be read or decompressed.
pub fn history_text(path: &Path, custom: Option<&Codec>) -> std::io::Result<Option<String>> {
    let mut head = [0u8; 16];
    let bytes = std::fs::read(path)?;
    let n = bytes.len().min(16);
    head[..n].copy_from_slice(&bytes[..n]);
    if crate::core::encryption::is_gpg(&head[..n]) {
        return Ok(None);
    }
    let mut plain = Vec::new();
    match Codec::detect(&head[..n]).as_ref().or(custom) {
        Some(codec) => {
            codec.decompress(&mut bytes.as_slice(), &mut plain)?;
        }
        None => plain = bytes,
    }
    Ok(Some(String::from_utf8_lossy(&plain).into_owned()))
}
