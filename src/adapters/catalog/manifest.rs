//! Writes a backup's `backup_manifest` (format in `core::backup_manifest`): the data
//! directory walked in Python's `os.walk` order (directory entries in readdir order, files
//! of a directory before its subdirectories), each file hashed with SHA-256. Refuses to
//! replace an existing manifest, as Barman does. Errors read as the exceptions Barman's
//! `BackupManifest` raises (`LocalFileManager`), since `generate-manifest` prints them.

use crate::core::backup_manifest::{body, with_checksum, ManifestFile};
use sha2::{Digest, Sha256};
use std::io::Read;
use std::path::{Path, PathBuf};

/// Why no manifest was written.
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    /// A manifest is already there.
    #[error("File {0} already exists.")]
    Exists(PathBuf),
    /// The data directory is missing (Python's `NotADirectoryError(path)`).
    #[error("{0}")]
    NotADirectory(PathBuf),
    /// Something the walk listed is not a regular file (a broken link, a FIFO...).
    #[error("Missing file {0}")]
    MissingFile(PathBuf),
    /// Reading the backup or writing the manifest failed (Python's `str(OSError)`).
    #[error("{}", python_os_error(source, path))]
    Io {
        /// The path involved.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
}

/// `[Errno 2] No such file or directory: '<path>'`, as Python prints an `OSError`.
fn python_os_error(source: &std::io::Error, path: &Path) -> String {
    let path = crate::core::py_literal::str_repr(&path.to_string_lossy());
    match source.raw_os_error() {
        Some(code) => format!(
            "[Errno {code}] {}: {path}",
            nix::errno::Errno::from_raw(code).desc()
        ),
        None => format!("{source}: {path}"),
    }
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> ManifestError + '_ {
    move |source| ManifestError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Write `<data_dir>/backup_manifest` durably.
pub fn write(data_dir: &Path) -> Result<(), ManifestError> {
    let target = data_dir.join("backup_manifest");
    // Barman tests `os.path.isfile` and `os.path.isdir`, following links.
    if target.is_file() {
        return Err(ManifestError::Exists(target));
    }
    if !data_dir.is_dir() {
        return Err(ManifestError::NotADirectory(data_dir.to_path_buf()));
    }
    let mut files = Vec::new();
    walk(data_dir, data_dir, &mut files)?;
    let text = body(&files);
    let checksum = crate::core::checksums::hex(&Sha256::digest(text.as_bytes()));
    let full = with_checksum(&text, &checksum);
    crate::adapters::durable::write_atomic(&target, full.as_bytes()).map_err(io(&target))
}

fn walk(root: &Path, dir: &Path, files: &mut Vec<ManifestFile>) -> Result<(), ManifestError> {
    let mut subdirs = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(io(dir))? {
        let entry = entry.map_err(io(dir))?;
        let path = entry.path();
        // os.walk classifies with is_dir(), which follows links, but does not descend them;
        // anything else is a "file", and one that is not a regular file fails the stat.
        let meta = std::fs::metadata(&path).ok();
        if meta.as_ref().is_some_and(|m| m.is_dir()) {
            if !entry.file_type().map_err(io(&path))?.is_symlink() {
                subdirs.push(path);
            }
            continue;
        }
        let Some(meta) = meta.filter(|m| m.is_file()) else {
            return Err(ManifestError::MissingFile(path));
        };
        let relative = path
            .strip_prefix(root)
            .map(|p| p.to_string_lossy().into_owned())
            .unwrap_or_default();
        let modified = meta.modified().map_err(io(&path))?;
        let utc: chrono::DateTime<chrono::Utc> = modified.into();
        files.push(ManifestFile {
            path: relative,
            size: meta.len(),
            last_modified: utc.format("%Y-%m-%d %H:%M:%S").to_string(),
            sha256: sha256_file(&path)?,
        });
    }
    for sub in subdirs {
        walk(root, &sub, files)?;
    }
    Ok(())
}

fn sha256_file(path: &Path) -> Result<String, ManifestError> {
    let mut file = std::fs::File::open(path).map_err(io(path))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = file.read(&mut buf).map_err(io(path))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(crate::core::checksums::hex(&hasher.finalize()))
}
