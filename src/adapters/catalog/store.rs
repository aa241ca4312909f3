//! Reading a server's catalog from disk, in either layout (Barman 3.20's `meta/` and
//! `<server>-xlog.db`, or the 2.19 `base/<ID>/backup.info` and `xlog.db`).

use super::layout::{self, ServerDirs};
use crate::adapters::durable;
use crate::core::backup_id::BackupId;
use crate::core::backup_info::{BackupInfo, BackupInfoError};
use crate::core::identity::Identity;
use crate::core::xlog_db::{XlogDbEntry, XlogDbError};
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};

/// A catalog file that cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    /// The file system refused.
    #[error("cannot {op} '{path}': {source}")]
    Io {
        /// What we were doing.
        op: &'static str,
        /// The path.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// A backup.info is malformed.
    #[error("{path}: {source}")]
    BackupInfo {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        source: BackupInfoError,
    },
    /// An xlog.db line is malformed.
    #[error("{path}, line {line}: {source}")]
    XlogDb {
        /// The file.
        path: PathBuf,
        /// The 1-based line number.
        line: usize,
        /// What is wrong.
        source: XlogDbError,
    },
}

fn io<'a>(op: &'static str, path: &'a Path) -> impl FnOnce(std::io::Error) -> CatalogError + 'a {
    move |source| CatalogError::Io {
        op,
        path: path.to_path_buf(),
        source,
    }
}

fn list_dir(dir: &Path) -> Result<Vec<String>, CatalogError> {
    match std::fs::read_dir(dir) {
        Ok(entries) => Ok(entries
            .filter_map(|e| e.ok().map(|e| layout::file_name(&e.path())))
            .collect()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(io("list", dir)(e)),
    }
}

/// The path of a backup's backup.info: `meta/` wins over the legacy place.
pub fn backup_info_path(dirs: &ServerDirs, id: &BackupId) -> PathBuf {
    let meta = dirs.backup_info(id);
    if meta.exists() {
        meta
    } else {
        dirs.legacy_backup_info(id)
    }
}

/// Every backup id of the server (both layouts), sorted (= chronological).
pub fn backup_ids(dirs: &ServerDirs) -> Result<Vec<BackupId>, CatalogError> {
    let mut ids: Vec<BackupId> = list_dir(&dirs.meta_directory())?
        .iter()
        .filter_map(|n| layout::id_from_meta_name(n))
        .collect();
    for name in list_dir(&dirs.basebackups_directory)? {
        if let Ok(id) = name.parse::<BackupId>() {
            if dirs.legacy_backup_info(&id).is_file() {
                ids.push(id);
            }
        }
    }
    ids.sort();
    ids.dedup();
    Ok(ids)
}

/// Load one backup.info.
pub fn load_backup(dirs: &ServerDirs, id: &BackupId) -> Result<BackupInfo, CatalogError> {
    let path = backup_info_path(dirs, id);
    let text = std::fs::read_to_string(&path).map_err(io("read", &path))?;
    BackupInfo::parse(&text).map_err(|source| CatalogError::BackupInfo { path, source })
}

/// A backup whose `backup.info` cannot be read (binary or truncated text, an unknown
/// status, a field that is not what it must be). It is kept out of every listing and
/// decision, never hides the others, is reported by `check` and `list-backups`, and stops
/// any WAL removal (it may need WAL nobody can tell).
#[derive(Debug)]
pub struct UnreadableBackup {
    /// The backup id.
    pub id: BackupId,
    /// Why it cannot be read.
    pub error: CatalogError,
}

/// Every backup of the server by id, and apart the ones that cannot be read.
pub fn load_catalog(
    dirs: &ServerDirs,
) -> Result<(BTreeMap<BackupId, BackupInfo>, Vec<UnreadableBackup>), CatalogError> {
    let mut backups = BTreeMap::new();
    let mut unreadable = Vec::new();
    for id in backup_ids(dirs)? {
        match load_backup(dirs, &id) {
            Ok(info) => {
                backups.insert(id, info);
            }
            Err(error) => unreadable.push(UnreadableBackup { id, error }),
        }
    }
    Ok((backups, unreadable))
}

/// Every readable backup of the server, by id (the unreadable ones are logged).
pub fn load_backups(dirs: &ServerDirs) -> Result<BTreeMap<BackupId, BackupInfo>, CatalogError> {
    let (backups, unreadable) = load_catalog(dirs)?;
    for bad in &unreadable {
        tracing::warn!(target: "barman.backup", "Cannot read backup {} of server {}: {}", bad.id, dirs.name, bad.error);
    }
    Ok(backups)
}

/// The backups of the server whose `backup.info` cannot be read.
pub fn unreadable_backups(dirs: &ServerDirs) -> Vec<UnreadableBackup> {
    load_catalog(dirs).map(|(_, bad)| bad).unwrap_or_default()
}

/// Write a backup's `backup.info` the Barman 3.20 way (`meta/<ID>-backup.info`), durably.
/// A legacy `base/<ID>/backup.info` is left as it is: readers prefer `meta/`.
pub fn save_backup(
    dirs: &ServerDirs,
    id: &BackupId,
    info: &BackupInfo,
) -> Result<(), CatalogError> {
    let meta = dirs.meta_directory();
    durable::create_dir_all_durable(&meta).map_err(io("create", &meta))?;
    let path = dirs.backup_info(id);
    durable::write_atomic(&path, info.to_text().as_bytes()).map_err(io("write", &path))
}

/// Read `identity.json`, `None` when the server has none yet.
pub fn load_identity(dirs: &ServerDirs) -> Result<Option<Identity>, CatalogError> {
    let path = dirs.identity();
    match std::fs::read_to_string(&path) {
        Ok(text) => Identity::parse(&text)
            .map(Some)
            .map_err(|e| CatalogError::Io {
                op: "parse",
                path,
                source: std::io::Error::new(std::io::ErrorKind::InvalidData, e),
            }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io("read", &path)(e)),
    }
}

/// Write `identity.json` durably.
pub fn save_identity(dirs: &ServerDirs, identity: &Identity) -> Result<(), CatalogError> {
    durable::create_dir_all_durable(&dirs.backup_directory)
        .map_err(io("create", &dirs.backup_directory))?;
    let path = dirs.identity();
    durable::write_atomic(&path, identity.to_text().as_bytes()).map_err(io("write", &path))
}

/// The xlog db in use: the new name, or the legacy `xlog.db` when only that exists.
pub fn xlog_db_path(dirs: &ServerDirs) -> PathBuf {
    let new = dirs.xlog_db();
    let legacy = dirs.legacy_xlog_db();
    if !new.exists() && legacy.exists() {
        legacy
    } else {
        new
    }
}

/// Stream the xlog db entries through `visit` (constant memory). A missing db is empty.
pub fn for_each_wal(
    dirs: &ServerDirs,
    mut visit: impl FnMut(XlogDbEntry),
) -> Result<(), CatalogError> {
    let path = xlog_db_path(dirs);
    let file = match std::fs::File::open(&path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(io("open", &path)(e)),
    };
    for (number, line) in BufReader::new(file).lines().enumerate() {
        let line = line.map_err(io("read", &path))?;
        if line.trim().is_empty() {
            continue;
        }
        let entry = XlogDbEntry::parse(&line).map_err(|source| CatalogError::XlogDb {
            path: path.clone(),
            line: number + 1,
            source,
        })?;
        visit(entry);
    }
    Ok(())
}

/// Stream the xlog db's raw lines (newline kept, blank lines skipped) with the file name
/// each starts with, for copying lines as they are (export-backup).
pub fn for_each_raw_wal_line(
    dirs: &ServerDirs,
    mut visit: impl FnMut(&str, &str),
) -> Result<(), CatalogError> {
    let path = xlog_db_path(dirs);
    let file = match std::fs::File::open(&path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(io("open", &path)(e)),
    };
    let mut reader = BufReader::new(file);
    let mut line = String::new();
    loop {
        line.clear();
        if reader.read_line(&mut line).map_err(io("read", &path))? == 0 {
            return Ok(());
        }
        if let Some(name) = line.split_whitespace().next() {
            visit(name, &line);
        }
    }
}

/// The last archived WAL segment of each timeline, found by scanning the archive's hash
/// folders newest first, as Barman's `get_latest_archived_wals_info` does (keyed by the
/// 8-hex timeline; sizes, times and compression come from the files themselves).
pub fn last_wal_per_timeline(
    dirs: &ServerDirs,
) -> Result<BTreeMap<String, XlogDbEntry>, CatalogError> {
    let mut last = BTreeMap::new();
    if dirs.wals_directory.to_string_lossy().contains("://") {
        // WALs in the cloud: the xlog.db, written after each upload, is the local record.
        for_each_wal(dirs, |entry| {
            let name = &entry.name;
            if name.len() != 24 || !name.bytes().all(|b| b.is_ascii_hexdigit()) {
                return;
            }
            let timeline = name[..8].to_string();
            if last
                .get(&timeline)
                .is_none_or(|e: &XlogDbEntry| e.name < *name)
            {
                last.insert(timeline, entry);
            }
        })?;
        return Ok(last);
    }
    let mut hash_dirs = list_dir(&dirs.wals_directory)?;
    hash_dirs.sort_unstable_by(|a, b| b.cmp(a));
    for name in hash_dirs {
        let dir = dirs.wals_directory.join(&name);
        let timeline = name.get(..8).unwrap_or_default();
        if !dir.is_dir()
            || timeline.len() != 8
            || u32::from_str_radix(timeline, 16).is_err()
            || last.contains_key(timeline)
        {
            continue;
        }
        let mut files = list_dir(&dir)?;
        files.sort_unstable_by(|a, b| b.cmp(a));
        for file in files {
            let path = dir.join(&file);
            let is_segment = file.len() == 24 && file.bytes().all(|b| b.is_ascii_hexdigit());
            if is_segment && path.is_file() {
                last.insert(timeline.to_string(), wal_file_info(&path, &file)?);
                break;
            }
        }
    }
    Ok(last)
}

/// Barman's `WalFileInfo.from_file`: size and mtime from the file, encryption or else
/// compression from its first bytes (an encrypted file's compression cannot be seen).
pub fn wal_file_info(path: &Path, name: &str) -> Result<XlogDbEntry, CatalogError> {
    use std::io::Read;
    use std::os::unix::fs::MetadataExt;
    let meta = std::fs::metadata(path).map_err(io("stat", path))?;
    let mut head = [0u8; 10];
    let mut file = std::fs::File::open(path).map_err(io("open", path))?;
    let read = file.read(&mut head).map_err(io("read", path))?;
    let encrypted = crate::core::encryption::is_gpg(&head[..read]);
    Ok(XlogDbEntry {
        name: name.to_string(),
        size: meta.len(),
        // Python's st_mtime: seconds + nanoseconds * 1e-9, in that order, as a double.
        time: meta.mtime() as f64 + meta.mtime_nsec() as f64 * 1e-9,
        compression: (!encrypted)
            .then(|| crate::core::compression::identify(&head[..read]).map(str::to_string))
            .flatten(),
        encryption: encrypted.then(|| crate::core::encryption::GPG.to_string()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bid(text: &str) -> BackupId {
        text.parse().unwrap()
    }

    #[test]
    fn wal_file_info_names_gpg_and_hides_the_compression_under_it() {
        let dir = tempfile::tempdir().unwrap();
        let encrypted = dir.path().join("000000010000000000000001");
        // gpg's RSA session-key packet, then ciphertext (gzip inside cannot be seen).
        std::fs::write(&encrypted, [0x85, 0x01, 0x0c, 0x03, 0xae, 0x06, 0x1f, 0x8b]).unwrap();
        let entry = wal_file_info(&encrypted, "000000010000000000000001").unwrap();
        assert_eq!(entry.encryption.as_deref(), Some("gpg"));
        assert_eq!(entry.compression, None);
        let gzip = dir.path().join("000000010000000000000002");
        std::fs::write(&gzip, [0x1f, 0x8b, 0x08, 0x00]).unwrap();
        let entry = wal_file_info(&gzip, "000000010000000000000002").unwrap();
        assert_eq!(entry.encryption, None);
        assert_eq!(entry.compression.as_deref(), Some("gzip"));
    }

    fn dirs(root: &Path) -> ServerDirs {
        ServerDirs {
            name: "pg".into(),
            backup_directory: root.to_path_buf(),
            basebackups_directory: root.join("base"),
            wals_directory: root.join("wals"),
            xlogdb_directory: root.join("wals"),
        }
    }

    const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");

    #[test]
    fn store_reads_the_2_19_layout() {
        let root = tempfile::tempdir().unwrap();
        let d = dirs(root.path());
        std::fs::create_dir_all(d.backup_base(&bid("20261124T005223"))).unwrap();
        std::fs::create_dir_all(&d.wals_directory).unwrap();
        std::fs::copy(
            format!("{FIXTURES}/barman-2.19/pg-base-ID-backup.info"),
            d.legacy_backup_info(&bid("20261124T005223")),
        )
        .unwrap();
        std::fs::copy(
            format!("{FIXTURES}/barman-2.19/pg-xlog.db"),
            d.legacy_xlog_db(),
        )
        .unwrap();
        assert_eq!(backup_ids(&d).unwrap(), vec!["20261124T005223"]);
        assert_eq!(load_backups(&d).unwrap().len(), 1);
        let hash = d.wals_directory.join("0000000100000000");
        std::fs::create_dir_all(&hash).unwrap();
        std::fs::write(hash.join("000000010000000000000045"), b"\x1f\x8b\x08rest").unwrap();
        std::fs::write(hash.join("000000010000000000000046"), b"BZh91AY").unwrap();
        std::fs::write(
            hash.join("000000010000000000000046.00000028.backup"),
            b"label",
        )
        .unwrap();
        let last = last_wal_per_timeline(&d).unwrap();
        assert_eq!(last["00000001"].name, "000000010000000000000046");
        assert_eq!(last["00000001"].compression.as_deref(), Some("bzip2"));
        assert_eq!(last["00000001"].size, 7);
    }

    #[test]
    fn store_prefers_meta_and_new_xlog_db() {
        let root = tempfile::tempdir().unwrap();
        let d = dirs(root.path());
        std::fs::create_dir_all(d.meta_directory()).unwrap();
        std::fs::create_dir_all(d.backup_base(&bid("20261124T004344"))).unwrap();
        std::fs::create_dir_all(&d.wals_directory).unwrap();
        let sample = format!("{FIXTURES}/barman-3.20/catalog/pgr-20261124T004344-backup.info");
        std::fs::copy(&sample, d.backup_info(&bid("20261124T004344"))).unwrap();
        std::fs::write(
            d.legacy_backup_info(&bid("20261124T004344")),
            "status=FAILED\n",
        )
        .unwrap();
        std::fs::copy(
            format!("{FIXTURES}/barman-3.20/catalog/pg-xlog.db"),
            d.xlog_db(),
        )
        .unwrap();
        std::fs::write(d.legacy_xlog_db(), "garbage\n").unwrap();
        let backups = load_backups(&d).unwrap();
        assert_eq!(backups["20261124T004344"].status().to_string(), "DONE");
        let mut count = 0;
        for_each_wal(&d, |_| count += 1).unwrap();
        assert!(count > 10);
    }

    #[test]
    fn store_writes_backup_info_and_identity_barman_can_read_back() {
        let root = tempfile::tempdir().unwrap();
        let d = dirs(root.path());
        let text = std::fs::read_to_string(format!(
            "{FIXTURES}/barman-3.20/catalog/pgr-20261124T004344-backup.info"
        ))
        .unwrap();
        let info = BackupInfo::parse(&text).unwrap();
        save_backup(&d, &bid("20261124T004344"), &info).unwrap();
        assert_eq!(
            std::fs::read_to_string(d.backup_info(&bid("20261124T004344"))).unwrap(),
            text
        );
        assert_eq!(load_backups(&d).unwrap()["20261124T004344"], info);
        assert_eq!(load_identity(&d).unwrap(), None);
        let identity = Identity {
            systemid: "7711537136028797555".into(),
            version: "15".into(),
        };
        save_identity(&d, &identity).unwrap();
        assert_eq!(load_identity(&d).unwrap(), Some(identity));
    }

    #[test]
    fn store_missing_catalog_is_empty() {
        let root = tempfile::tempdir().unwrap();
        let d = dirs(&root.path().join("nothing"));
        assert!(backup_ids(&d).unwrap().is_empty());
        assert!(last_wal_per_timeline(&d).unwrap().is_empty());
    }

    #[test]
    fn store_reports_malformed_backup_info_with_its_path() {
        let root = tempfile::tempdir().unwrap();
        let d = dirs(root.path());
        std::fs::create_dir_all(d.meta_directory()).unwrap();
        std::fs::write(d.backup_info(&bid("20260101T000000")), "bogus=1\n").unwrap();
        // Reported apart, never hiding the readable ones.
        assert!(load_backups(&d).unwrap().is_empty());
        let bad = unreadable_backups(&d);
        assert_eq!(bad.len(), 1);
        let err = bad[0].error.to_string();
        assert!(err.contains("20260101T000000-backup.info"), "{err}");
        assert!(err.contains("Unsupported field 'bogus'"), "{err}");
    }
}
