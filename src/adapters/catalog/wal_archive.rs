//! Archiving one WAL file into `wals/`, durably: the file is in the catalog only after it
//! and its folder are on disk, and the source in `incoming/`/`streaming/` is removed only
//! after that. A kill at any step leaves a state that a re-run completes, archiving every
//! file exactly once. (Barman removes the source before fsyncing the compressed copy.)
//!
//! With `encryption = gpg` the file is compressed first, then encrypted with gpg (Barman's
//! order), both into temporary files next to the destination; a failing gpg leaves the
//! source in place and no temporary behind (Barman leaves its `.compressed` file).

use super::commit_index::{self, SegmentScan};
use super::layout::ServerDirs;
use super::store::{self, CatalogError};
use super::wal_checksums::{self, PlainDigest};
use super::xlog_db::{self, XlogDbWriteError};
use crate::adapters::codec::Codec;
use crate::adapters::durable::{self, failpoint};
use crate::adapters::gpg::{self, GpgError};
use crate::core::commit_index::IndexLine;
use crate::core::compression;
use crate::core::wal_name::WalFileName;
use crate::core::xlog_db::XlogDbEntry;
use std::fs::File;
use std::io::{BufReader, BufWriter, Read};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// The server's WAL compression, as configured.
#[derive(Debug, Clone)]
pub struct Compression {
    /// The configured name, recorded in xlog.db (`gzip`, `pygzip`, ...).
    pub name: String,
    /// The codec.
    pub codec: Codec,
    /// The level.
    pub level: i32,
}

/// GPG encryption of archived WAL (`encryption = gpg`).
#[derive(Debug, Clone)]
pub struct Encryption {
    /// `encryption_key_id`: the gpg recipient.
    pub key_id: String,
    /// The server's `path_prefix`, searched first for `gpg`.
    pub path_prefix: Option<String>,
}

/// How a server stores its WAL: compressed and/or encrypted.
#[derive(Debug, Clone, Default)]
pub struct Storage {
    /// `compression`, when set.
    pub compression: Option<Compression>,
    /// `encryption = gpg`, when set.
    pub encryption: Option<Encryption>,
}

/// What happened to one file.
#[derive(Debug, Clone, PartialEq)]
pub enum Archived {
    /// Newly archived with this catalog entry.
    Stored(XlogDbEntry),
    /// The archive already had the same content: the source was dropped.
    AlreadyArchived,
    /// The archive has different content under this name: the source went to `errors/`.
    Duplicate,
}

/// A failure to archive one file.
#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    /// File system or catalog failure.
    #[error(transparent)]
    Catalog(#[from] CatalogError),
    /// xlog.db could not be written.
    #[error(transparent)]
    XlogDb(#[from] XlogDbWriteError),
    /// gpg could not encrypt the file.
    #[error(transparent)]
    Encrypt(#[from] GpgError),
    /// A step done once for a whole batch of files failed (the same error for each).
    #[error("{0}")]
    Batch(String),
}

fn io<'a>(op: &'static str, path: &'a Path) -> impl FnOnce(std::io::Error) -> CatalogError + 'a {
    move |source| CatalogError::Io {
        op,
        path: path.to_path_buf(),
        source,
    }
}

/// Where `name` lives in the archive.
pub fn archive_path(dirs: &ServerDirs, name: &WalFileName) -> PathBuf {
    let hash = name.hash_dir();
    if hash.is_empty() {
        dirs.wals_directory.join(name.to_string())
    } else {
        dirs.wals_directory.join(hash).join(name.to_string())
    }
}

/// `errors/<name>.<UTC stamp>.<suffix>` (Barman's `get_errors_dst`).
pub fn move_to_errors(
    errors_dir: &Path,
    src: &Path,
    suffix: &str,
    stamp: &str,
) -> Result<PathBuf, CatalogError> {
    durable::create_dir_all_durable(errors_dir).map_err(io("create", errors_dir))?;
    let name = src
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let dst = errors_dir.join(format!("{name}.{stamp}.{suffix}"));
    durable::rename_durable(src, &dst).map_err(io("move", src))?;
    Ok(dst)
}

fn head(path: &Path) -> Result<Vec<u8>, CatalogError> {
    let mut buf = vec![0u8; 16];
    let mut file = File::open(path).map_err(io("open", path))?;
    let n = file.read(&mut buf).map_err(io("read", path))?;
    buf.truncate(n);
    Ok(buf)
}

/// The plain content of an archived or incoming file.
fn plain_content(path: &Path) -> Result<Vec<u8>, CatalogError> {
    let mut data = Vec::new();
    let mut reader = BufReader::new(File::open(path).map_err(io("open", path))?);
    match Codec::detect(&head(path)?) {
        Some(codec) => {
            codec
                .decompress(&mut reader, &mut data)
                .map_err(io("decompress", path))?;
        }
        None => {
            reader.read_to_end(&mut data).map_err(io("read", path))?;
        }
    }
    Ok(data)
}

/// Whether the encrypted `dst` was made from `src`. It cannot be decrypted here (the
/// passphrase is not needed to archive), so Barman calls any encrypted copy a duplicate;
/// but the copy we encrypt carries its source's modification time to the nanosecond
/// ([`copy_stat`]), so the same time means a run of ours stored this very file and was
/// stopped before removing the source: the re-run completes it instead of sending the
/// source to errors/.
fn encrypted_from(dst: &Path, src: &Path) -> Result<bool, CatalogError> {
    let dst_meta = std::fs::metadata(dst).map_err(io("stat", dst))?;
    let src_meta = std::fs::metadata(src).map_err(io("stat", src))?;
    Ok(dst_meta.mtime() == src_meta.mtime() && dst_meta.mtime_nsec() == src_meta.mtime_nsec())
}

/// Archive `src` (named `name`) into the server's archive and catalog.
pub fn archive_one(
    dirs: &ServerDirs,
    lock_dir: &Path,
    src: &Path,
    name: &WalFileName,
    storage: &Storage,
) -> Result<Archived, ArchiveError> {
    xlog_db::ensure(dirs, lock_dir)?;
    let prepared = prepare(dirs, src, name, storage)?;
    commit(dirs, lock_dir, prepared)
}

/// The first, parallelisable half of archiving one file: everything that does not touch
/// the catalog (duplicate check, compression into a fsynced temporary file).
#[derive(Debug)]
pub struct Prepared {
    pub(super) src: PathBuf,
    pub(super) name: WalFileName,
    pub(super) dst: PathBuf,
    pub(super) step: Step,
    /// SHA-256 of the plain content, computed while compressing (see [`wal_checksums`]).
    pub(super) digest: Option<PlainDigest>,
    /// The segment's commit-time index line, read while preparing it.
    pub(super) commits: Option<IndexLine>,
    /// The compressed temporary file, written but not yet fsynced: the committer fsyncs
    /// it just before the rename, so the preparing core goes on compressing meanwhile.
    pub(super) unsynced: Option<File>,
}

#[derive(Debug)]
pub(super) enum Step {
    /// Compressed and/or encrypted into this temporary file, recorded under these
    /// compression and encryption names.
    Transformed(PathBuf, Option<String>, Option<String>),
    /// To be linked (or copied) as it is; the compression it already has, if any.
    AsIs(Option<String>),
    /// The archive already has it with the same content. For an encrypted copy, the
    /// compression under the encryption (its bytes cannot show it): `Some(compression)`.
    AlreadyArchived(Option<Option<String>>),
    /// The archive has other content under this name.
    Duplicate,
}

/// Prepare `src` for archiving. Safe to run for several files at once; the catalog must
/// exist beforehand ([`xlog_db::ensure`]).
pub fn prepare(
    dirs: &ServerDirs,
    src: &Path,
    name: &WalFileName,
    storage: &Storage,
) -> Result<Prepared, ArchiveError> {
    let dst = archive_path(dirs, name);
    let dst_dir = dst
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| dirs.wals_directory.clone());
    durable::create_dir_all_durable(&dst_dir).map_err(io("create", &dst_dir))?;
    let mut digest = None;
    let mut unsynced = None;
    let mut scan = SegmentScan::new(name);
    let step = if dst.exists() {
        if crate::core::encryption::is_gpg(&head(&dst)?) {
            if encrypted_from(&dst, src)? {
                // What this run would have recorded: the server's compression unless the
                // source came compressed.
                let detected = compression::identify(&head(src)?).map(str::to_string);
                let compression =
                    detected.or_else(|| storage.compression.as_ref().map(|c| c.name.clone()));
                Step::AlreadyArchived(Some(compression))
            } else {
                Step::Duplicate
            }
        } else if plain_content(&dst)? == plain_content(src)? {
            Step::AlreadyArchived(None)
        } else {
            Step::Duplicate
        }
    } else {
        let detected = compression::identify(&head(src)?).map(str::to_string);
        let compressed = match (&storage.compression, &detected) {
            (Some(c), None) => {
                let (tmp, file, plain) = compress_to_temp(src, &dst, c, &mut scan)?;
                digest = Some(plain);
                unsynced = Some(file);
                Some((tmp, c.name.clone()))
            }
            _ => None,
        };
        if digest.is_none() {
            // One read of the source gives both its checksum and its commit-time scan.
            digest = wal_checksums::digest_of_source_scanning(src, &mut scan);
        }
        match (&storage.encryption, compressed) {
            (Some(e), compressed) => {
                // gpg reads the compressed temporary itself: it must be complete on disk,
                // and the encrypted copy is what gets stored.
                unsynced = None;
                let input = compressed.as_ref().map_or(src, |(tmp, _)| tmp.as_path());
                let encrypted = encrypt_to_temp(src, input, &dst, e);
                if let Some((tmp, _)) = &compressed {
                    let _ = std::fs::remove_file(tmp);
                }
                let recorded = compressed.map(|(_, name)| name).or(detected);
                Step::Transformed(
                    encrypted?,
                    recorded,
                    Some(crate::core::encryption::GPG.into()),
                )
            }
            (None, Some((tmp, name))) => Step::Transformed(tmp, Some(name), None),
            (None, None) => Step::AsIs(detected),
        }
    };
    let stored = matches!(step, Step::Transformed(..) | Step::AsIs(_));
    Ok(Prepared {
        src: src.to_path_buf(),
        name: name.clone(),
        dst,
        step,
        digest,
        commits: stored.then(|| scan.finish(src)).flatten(),
        unsynced,
    })
}

impl Prepared {
    /// Whether committing it stores a new file (rather than dropping a source the archive
    /// already holds, or reporting a duplicate): such files can be committed in batches.
    pub fn stores(&self) -> bool {
        matches!(self.step, Step::Transformed(..) | Step::AsIs(_))
    }

    /// Give up on this file: remove its temporary file, leave the source where it is.
    pub fn discard(self) {
        if let Step::Transformed(tmp, _, _) = self.step {
            let _ = std::fs::remove_file(tmp);
        }
    }
}

/// The second half, run in archive order: put the file in place, add it to the catalog,
/// then drop the source.
pub fn commit(
    dirs: &ServerDirs,
    lock_dir: &Path,
    prepared: Prepared,
) -> Result<Archived, ArchiveError> {
    let Prepared {
        src,
        name,
        dst,
        step,
        digest,
        commits,
        unsynced,
    } = prepared;
    let dst_dir = dst
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| dirs.wals_directory.clone());
    let src_dir = src.parent().map(Path::to_path_buf).unwrap_or_default();
    let (recorded, encrypted) = match step {
        Step::Duplicate => return Ok(Archived::Duplicate),
        Step::AlreadyArchived(under_encryption) => {
            // Same content: a previous run stored it and stopped before finishing. Make sure
            // the catalog lists it, then drop the source.
            if !xlog_db::contains(dirs, &name.to_string())? {
                let mut entry = store::wal_file_info(&dst, &name.to_string())?;
                if let Some(compression) = under_encryption {
                    entry.compression = compression;
                }
                xlog_db::append(dirs, lock_dir, &[entry])?;
            }
            std::fs::remove_file(&src).map_err(io("remove", &src))?;
            durable::fsync_dir(&src_dir).map_err(io("fsync", &src_dir))?;
            return Ok(Archived::AlreadyArchived);
        }
        Step::Transformed(tmp, compression, encryption) => {
            if let Some(file) = unsynced {
                file.sync_all().map_err(io("fsync", &tmp))?;
            }
            std::fs::rename(&tmp, &dst).map_err(io("rename", &tmp))?;
            (compression, encryption)
        }
        Step::AsIs(detected) => {
            link_or_copy(&src, &dst)?;
            (detected, None)
        }
    };
    durable::fsync_dir(&dst_dir).map_err(io("fsync", &dst_dir))?;
    failpoint("archive.after_store");
    let meta = std::fs::metadata(&dst).map_err(io("stat", &dst))?;
    let entry = XlogDbEntry {
        name: name.to_string(),
        size: meta.len(),
        time: meta.mtime() as f64 + meta.mtime_nsec() as f64 * 1e-9,
        compression: recorded,
        encryption: encrypted,
    };
    xlog_db::append(dirs, lock_dir, std::slice::from_ref(&entry))?;
    wal_checksums::record(dirs, lock_dir, &entry.name, digest.as_ref());
    if let Some(line) = &commits {
        commit_index::append(dirs, line);
    }
    failpoint("archive.after_catalog");
    std::fs::remove_file(&src).map_err(io("remove", &src))?;
    durable::fsync_dir(&src_dir).map_err(io("fsync", &src_dir))?;
    Ok(Archived::Stored(entry))
}

/// Remove the temporary files ([`compress_to_temp`]'s `.NAME.PID.compressed`,
/// [`encrypt_to_temp`]'s `.NAME.PID.gpg`, [`link_or_copy`]'s `.NAME.PID.copy`) that an
/// `archive-wal` killed mid-file left in `dir`, when process PID is gone. The killed run's source is still in `incoming/` or
/// `streaming/`, so the next run archives it again into this same folder and calls this
/// first. A live PID's file is never touched. Returns what was removed.
pub fn reclaim_stale_temps(dir: &Path) -> Result<Vec<PathBuf>, CatalogError> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(io("list", dir)(e)),
    };
    let mut removed = Vec::new();
    for entry in entries.filter_map(Result::ok) {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(pid) = stale_temp_pid(&name) else {
            continue;
        };
        if crate::adapters::signals::is_gone(pid) && entry.file_type().is_ok_and(|t| t.is_file()) {
            let path = entry.path();
            std::fs::remove_file(&path).map_err(io("remove", &path))?;
            removed.push(path);
        }
    }
    if !removed.is_empty() {
        durable::fsync_dir(dir).map_err(io("fsync", dir))?;
    }
    Ok(removed)
}

/// The PID in `.NAME.PID.compressed` / `.gpg` / `.copy`, for a NAME that is a WAL name.
fn stale_temp_pid(file: &str) -> Option<u32> {
    let rest = file.strip_prefix('.')?;
    let rest = rest
        .strip_suffix(".compressed")
        .or_else(|| rest.strip_suffix(".gpg"))
        .or_else(|| rest.strip_suffix(".copy"))?;
    let (wal, pid) = rest.rsplit_once('.')?;
    wal.parse::<WalFileName>().ok()?;
    pid.parse().ok()
}

/// `.<name>.<pid>.<suffix>` next to `dst`: the temporary names a later run recognises and
/// cleans up after a kill.
fn temp_beside(dst: &Path, suffix: &str) -> PathBuf {
    let name = dst
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    dst.with_file_name(format!(".{name}.{}.{suffix}", std::process::id()))
}

/// Compress `src` to a temporary file next to `dst`, with the source's mode and times
/// (Barman's `copystat`). Its write-back is started here but not waited for: [`commit`]
/// fsyncs the returned file, then renames it into place.
fn compress_to_temp(
    src: &Path,
    dst: &Path,
    compression: &Compression,
    scan: &mut SegmentScan,
) -> Result<(PathBuf, File, PlainDigest), CatalogError> {
    let tmp = temp_beside(dst, "compressed");
    let result = (|| {
        // One read of the source feeds the compressor, the checksum and the commit scan.
        let mut reader = wal_checksums::HashingReader::new(
            scan.tee(BufReader::new(File::open(src).map_err(io("open", src))?)),
        );
        let file = File::create(&tmp).map_err(io("create", &tmp))?;
        let mut writer = BufWriter::with_capacity(1 << 20, file);
        compression
            .codec
            .compress(compression.level, &mut reader, &mut writer)
            .map_err(io("compress", src))?;
        let file = writer
            .into_inner()
            .map_err(|e| io("write", &tmp)(e.into_error()))?;
        copy_stat(src, &tmp)?;
        durable::start_writeback(&file, 0, 0);
        failpoint("archive.after_compress");
        Ok((file, reader.finish()))
    })();
    match result {
        Ok((file, plain)) => Ok((tmp, file, plain)),
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            Err(e)
        }
    }
}

/// Encrypt `input` (the source, or its compressed temporary) with gpg into a fsynced
/// temporary file next to `dst`, with the source's mode and times; [`commit`] renames it
/// into place. gpg writes the file itself (Barman's argv), so on failure whatever it left
/// is removed here.
fn encrypt_to_temp(
    src: &Path,
    input: &Path,
    dst: &Path,
    encryption: &Encryption,
) -> Result<PathBuf, ArchiveError> {
    let tmp = temp_beside(dst, "gpg");
    let result = (|| -> Result<(), ArchiveError> {
        gpg::encrypt(
            &encryption.key_id,
            input,
            &tmp,
            encryption.path_prefix.as_deref(),
        )?;
        copy_stat(src, &tmp)?;
        File::open(&tmp)
            .and_then(|f| f.sync_all())
            .map_err(io("fsync", &tmp))?;
        failpoint("archive.after_encrypt");
        Ok(())
    })();
    match result {
        Ok(()) => Ok(tmp),
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            Err(e)
        }
    }
}

fn copy_stat(src: &Path, dst: &Path) -> Result<(), CatalogError> {
    let meta = std::fs::metadata(src).map_err(io("stat", src))?;
    std::fs::set_permissions(dst, meta.permissions()).map_err(io("chmod", dst))?;
    let times = std::fs::FileTimes::new()
        .set_accessed(meta.accessed().map_err(io("stat", src))?)
        .set_modified(meta.modified().map_err(io("stat", src))?);
    File::options()
        .write(true)
        .open(dst)
        .and_then(|f| f.set_times(times))
        .map_err(io("set times of", dst))
}

/// Put an uncompressed (or already compressed) file in place without losing the source
/// until the catalog lists it: a hard link on the same file system, a fsynced copy
/// otherwise.
pub(super) fn link_or_copy(src: &Path, dst: &Path) -> Result<(), CatalogError> {
    File::open(src)
        .and_then(|f| f.sync_all())
        .map_err(io("fsync", src))?;
    if std::fs::hard_link(src, dst).is_ok() {
        return Ok(());
    }
    let tmp = dst.with_file_name(format!(
        ".{}.{}.copy",
        dst.file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
        std::process::id()
    ));
    std::fs::copy(src, &tmp).map_err(io("copy", src))?;
    copy_stat(src, &tmp)?;
    File::open(&tmp)
        .and_then(|f| f.sync_all())
        .map_err(io("fsync", &tmp))?;
    std::fs::rename(&tmp, dst).map_err(io("rename", &tmp))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reclaim_stale_temps_removes_only_dead_processes_temporaries() {
        let dir = tempfile::tempdir().unwrap();
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let dead = child.id();
        child.wait().unwrap();
        let live = std::process::id();
        let wal = "000000010000000000000003";
        let names = [
            format!(".{wal}.{dead}.compressed"),
            format!(".{wal}.{dead}.copy"),
            format!(".{wal}.{dead}.gpg"),
            format!(".00000002.history.{dead}.compressed"),
            format!(".{wal}.{live}.compressed"),
            format!(".{wal}.XyZ123"),
            format!(".notawal.{dead}.compressed"),
            wal.to_string(),
        ];
        for name in &names {
            std::fs::write(dir.path().join(name), b"x").unwrap();
        }
        let mut removed: Vec<String> = reclaim_stale_temps(dir.path())
            .unwrap()
            .iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        removed.sort();
        let mut want = names[..4].to_vec();
        want.sort();
        assert_eq!(removed, want);
        for kept in &names[4..] {
            assert!(dir.path().join(kept).exists(), "{kept} was removed");
        }
        assert!(reclaim_stale_temps(&dir.path().join("missing"))
            .unwrap()
            .is_empty());
    }
}
