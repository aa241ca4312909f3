//! The WAL checksum index (`<server>-xlog.db.sha256`) and `verify-archive`'s state
//! (`<server>-xlog.db.verified`) on disk, beside the xlog db; formats in
//! [`crate::core::wal_checksums`].
//!
//! Appends to the index run under the xlogdb lock (the archiver and `verify-archive` both
//! add lines), are fsynced, and first cut off a torn last line left by a crash so no new
//! line is glued to it. Compaction and the state file go through `durable::write_atomic`.

use super::commit_index::SegmentScan;
use super::layout::ServerDirs;
use super::store::CatalogError;
use super::xlog_db::XlogDbWriteError;
use crate::adapters::codec::Codec;
use crate::adapters::durable;
use crate::adapters::lock::{LockFile, LockKind};
use crate::core::checksums::hex;
use crate::core::wal_checksums::{
    ChecksumEntry, ChecksumIndex, Origin, VerifyState, INDEX_SUFFIX, STATE_SUFFIX,
};
use sha2::{Digest, Sha256};
use std::fs::{File, OpenOptions};
use std::io::{self, BufReader, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

fn io<'a>(op: &'static str, path: &'a Path) -> impl FnOnce(io::Error) -> CatalogError + 'a {
    move |source| CatalogError::Io {
        op,
        path: path.to_path_buf(),
        source,
    }
}

/// `<xlogdb_directory>/<server>-xlog.db.sha256`.
pub fn index_path(dirs: &ServerDirs) -> PathBuf {
    suffixed(&dirs.xlog_db(), INDEX_SUFFIX)
}

/// `<xlogdb_directory>/<server>-xlog.db.verified`.
pub fn state_path(dirs: &ServerDirs) -> PathBuf {
    suffixed(&dirs.xlog_db(), STATE_SUFFIX)
}

fn suffixed(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_os_string();
    name.push(suffix);
    PathBuf::from(name)
}

/// SHA-256 and length of a file's plain content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlainDigest {
    /// Lower-case hex SHA-256.
    pub sha256: String,
    /// Plain bytes.
    pub size: u64,
}

impl PlainDigest {
    /// The index line for `name`.
    pub fn entry(&self, name: &str, origin: Origin) -> ChecksumEntry {
        ChecksumEntry {
            name: name.to_string(),
            sha256: self.sha256.clone(),
            plain_size: self.size,
            origin,
        }
    }
}

/// A reader that hashes what passes through it: the archiver compresses through one, so
/// the checksum costs no second read of the segment.
pub struct HashingReader<R> {
    inner: R,
    sha: Sha256,
    size: u64,
}

impl<R: Read> HashingReader<R> {
    /// Wrap `inner`.
    pub fn new(inner: R) -> Self {
        HashingReader {
            inner,
            sha: Sha256::new(),
            size: 0,
        }
    }

    /// The digest of everything read so far.
    pub fn finish(self) -> PlainDigest {
        PlainDigest {
            sha256: hex(&self.sha.finalize()),
            size: self.size,
        }
    }
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.sha.update(&buf[..n]);
        self.size += n as u64;
        Ok(n)
    }
}

/// A sink that hashes what is written to it (decompressed content while verifying), and
/// shows it to an observer (the archiver's commit-time scan).
struct HashingSink<'a> {
    sha: Sha256,
    size: u64,
    observe: &'a mut dyn FnMut(&[u8]),
}

impl Write for HashingSink<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.sha.update(buf);
        self.size += buf.len() as u64;
        (self.observe)(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// What reading a file for its digest found.
#[derive(Debug)]
pub enum Content {
    /// Its plain content's digest.
    Plain(PlainDigest),
    /// It is gpg-encrypted: its plain content cannot be read without the passphrase.
    Encrypted,
}

/// Read `path` whole, decompressing it (compression detected from its magic bytes, or
/// `custom` for a file that has none but was archived with `compression = custom`), and
/// return the digest of the plain content.
///
/// # Errors
/// The file cannot be opened or read, or does not decompress (corrupt or truncated).
pub fn digest_file(path: &Path, custom: Option<&Codec>) -> io::Result<Content> {
    digest_file_observed(path, custom, &mut |_| {})
}

/// [`digest_file`], showing the plain content to `observe` as it is hashed.
fn digest_file_observed(
    path: &Path,
    custom: Option<&Codec>,
    observe: &mut dyn FnMut(&[u8]),
) -> io::Result<Content> {
    let mut file = File::open(path)?;
    let mut head = [0u8; 16];
    let n = read_head(&mut file, &mut head)?;
    let head = &head[..n];
    if crate::core::encryption::is_gpg(head) {
        return Ok(Content::Encrypted);
    }
    file.seek(SeekFrom::Start(0))?;
    let mut reader = BufReader::with_capacity(1 << 20, file);
    let mut sink = HashingSink {
        sha: Sha256::new(),
        size: 0,
        observe,
    };
    match Codec::detect(head).as_ref().or(custom) {
        Some(codec) => {
            codec.decompress(&mut reader, &mut sink)?;
        }
        None => {
            io::copy(&mut reader, &mut sink)?;
        }
    }
    Ok(Content::Plain(PlainDigest {
        sha256: hex(&sink.sha.finalize()),
        size: sink.size,
    }))
}

fn read_head(file: &mut File, head: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < head.len() {
        match file.read(&mut head[filled..])? {
            0 => break,
            n => filled += n,
        }
    }
    Ok(filled)
}

/// The digest of a source the archiver stores as it is (no compression configured, or it
/// came compressed): one read of the file, decompressed when it is compressed. `None`,
/// logged, when it cannot be read: `verify-archive` then records it when it first sees it.
pub fn digest_of_source(src: &Path) -> Option<PlainDigest> {
    match digest_file(src, None) {
        Ok(Content::Plain(digest)) => Some(digest),
        Ok(Content::Encrypted) => None,
        Err(e) => {
            tracing::warn!(target: "barman.wal_checksums", "no checksum for {}: {e}", src.display());
            None
        }
    }
}

/// [`digest_of_source`], feeding `scan` in the same read (the file is read once, not once
/// per purpose). When the read fails midway the scan starts over unfed, so it reads the
/// file itself rather than index a partial segment.
pub fn digest_of_source_scanning(src: &Path, scan: &mut SegmentScan) -> Option<PlainDigest> {
    let result = digest_file_observed(src, None, &mut |bytes| scan.feed(bytes));
    if result.is_err() {
        scan.restart();
    }
    match result {
        Ok(Content::Plain(digest)) => Some(digest),
        Ok(Content::Encrypted) => None,
        Err(e) => {
            tracing::warn!(target: "barman.wal_checksums", "no checksum for {}: {e}", src.display());
            None
        }
    }
}

/// Record the checksum of a file just catalogued (the archiver's one call). A failure is
/// logged, not raised: the file is safely archived, and `verify-archive` records a
/// missing checksum as first seen.
pub fn record(dirs: &ServerDirs, lock_dir: &Path, name: &str, digest: Option<&PlainDigest>) {
    let Some(digest) = digest else {
        return;
    };
    if let Err(e) = append(dirs, lock_dir, &[digest.entry(name, Origin::Archived)]) {
        tracing::warn!(target: "barman.wal_checksums", "cannot record the checksum of {name}: {e}");
    }
}

/// Record the checksums of the files a batch just catalogued, in one append (one fsync).
/// Failures are logged, as in [`record`].
pub fn record_all(dirs: &ServerDirs, lock_dir: &Path, files: &[(&str, &PlainDigest)]) {
    let entries: Vec<ChecksumEntry> = files
        .iter()
        .map(|(name, digest)| digest.entry(name, Origin::Archived))
        .collect();
    if let Err(e) = append(dirs, lock_dir, &entries) {
        tracing::warn!(target: "barman.wal_checksums",
            "cannot record the checksums of {} archived files: {e}", entries.len());
    }
}

/// The index as it is now (empty when absent).
///
/// # Errors
/// It exists but cannot be read.
pub fn read_index(dirs: &ServerDirs) -> Result<ChecksumIndex, CatalogError> {
    let path = index_path(dirs);
    match std::fs::read(&path) {
        Ok(bytes) => Ok(ChecksumIndex::parse(&String::from_utf8_lossy(&bytes))),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(ChecksumIndex::default()),
        Err(e) => Err(io("read", &path)(e)),
    }
}

/// Append `entries` durably under the xlogdb lock, cutting off a torn last line first.
///
/// # Errors
/// The lock cannot be taken or the file cannot be written; a failed write is cut back.
pub fn append(
    dirs: &ServerDirs,
    lock_dir: &Path,
    entries: &[ChecksumEntry],
) -> Result<(), XlogDbWriteError> {
    if entries.is_empty() {
        return Ok(());
    }
    let _lock = LockFile::acquire(lock_dir, &LockKind::XlogDb(dirs.name.clone()))?;
    let path = index_path(dirs);
    let created = !path.exists();
    let mut file = OpenOptions::new()
        .read(true)
        .append(true)
        .create(true)
        .open(&path)
        .map_err(io("open", &path))?;
    cut_torn_tail(&mut file, &path)?;
    let before = file.metadata().map_err(io("stat", &path))?.len();
    let text: String = entries.iter().map(ChecksumEntry::to_line).collect();
    if let Err(e) = file
        .write_all(text.as_bytes())
        .and_then(|()| file.sync_all())
    {
        let _ = file.set_len(before);
        let _ = file.sync_all();
        return Err(io("append to", &path)(e).into());
    }
    if created {
        durable::fsync_dir(&dirs.xlogdb_directory).map_err(io("fsync", &dirs.xlogdb_directory))?;
    }
    Ok(())
}

fn cut_torn_tail(file: &mut File, path: &Path) -> Result<(), CatalogError> {
    let len = file.metadata().map_err(io("stat", path))?.len();
    if len == 0 {
        return Ok(());
    }
    // Lines are under 200 bytes: a 4 KiB tail holds the last newline unless the whole
    // file is one torn line.
    let start = len.saturating_sub(4096);
    file.seek(SeekFrom::Start(start))
        .map_err(io("seek", path))?;
    let mut tail = Vec::new();
    file.read_to_end(&mut tail).map_err(io("read", path))?;
    if tail.last() == Some(&b'\n') {
        return Ok(());
    }
    let cut = tail
        .iter()
        .rposition(|b| *b == b'\n')
        .map_or(start, |at| start + at as u64 + 1);
    file.set_len(cut).map_err(io("truncate", path))?;
    file.sync_all().map_err(io("fsync", path))?;
    tracing::warn!(
        target: "barman.wal_checksums",
        "{}: the last line was torn; cut at byte {cut}",
        path.display()
    );
    Ok(())
}

/// Rewrite the index with one line per name that `keep` accepts (files retention removed
/// drop out), under the xlogdb lock so no concurrent append is lost.
///
/// # Errors
/// The lock cannot be taken or the file cannot be read or replaced.
pub fn compact(
    dirs: &ServerDirs,
    lock_dir: &Path,
    keep: impl Fn(&str) -> bool,
) -> Result<(), XlogDbWriteError> {
    let _lock = LockFile::acquire(lock_dir, &LockKind::XlogDb(dirs.name.clone()))?;
    let index = read_index(dirs)?;
    let path = index_path(dirs);
    durable::write_atomic(&path, index.compacted(keep).as_bytes()).map_err(io("write", &path))?;
    Ok(())
}

/// The state of the last `verify-archive` run (empty when there was none).
///
/// # Errors
/// It exists but cannot be read.
pub fn read_state(dirs: &ServerDirs) -> Result<VerifyState, CatalogError> {
    let path = state_path(dirs);
    match std::fs::read_to_string(&path) {
        Ok(text) => Ok(VerifyState::parse(&text)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(VerifyState::default()),
        Err(e) => Err(io("read", &path)(e)),
    }
}

/// Replace the state durably (creating the xlog db's folder when missing).
///
/// # Errors
/// It cannot be written.
pub fn write_state(dirs: &ServerDirs, state: &VerifyState) -> Result<(), CatalogError> {
    // A server that never archived anything has no folder yet.
    durable::create_dir_all_durable(&dirs.xlogdb_directory)
        .map_err(io("create", &dirs.xlogdb_directory))?;
    let path = state_path(dirs);
    durable::write_atomic(&path, state.to_text().as_bytes()).map_err(io("write", &path))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dirs(root: &Path) -> ServerDirs {
        ServerDirs {
            name: "pg".into(),
            backup_directory: root.into(),
            basebackups_directory: root.join("base"),
            wals_directory: root.join("wals"),
            xlogdb_directory: root.join("wals"),
        }
    }

    fn entry(name: &str) -> ChecksumEntry {
        ChecksumEntry {
            name: name.into(),
            sha256: "1".repeat(64),
            plain_size: 1 << 20,
            origin: Origin::Archived,
        }
    }

    #[test]
    fn append_cuts_a_torn_tail_before_adding_lines() {
        let root = tempfile::tempdir().unwrap();
        let dirs = dirs(root.path());
        std::fs::create_dir_all(&dirs.wals_directory).unwrap();
        let locks = root.path().join("locks");
        std::fs::create_dir_all(&locks).unwrap();
        append(&dirs, &locks, &[entry("000000010000000000000001")]).unwrap();
        // A crash mid-append leaves half a line.
        let torn = &entry("000000010000000000000002").to_line()[..20];
        let mut file = OpenOptions::new()
            .append(true)
            .open(index_path(&dirs))
            .unwrap();
        file.write_all(torn.as_bytes()).unwrap();
        append(&dirs, &locks, &[entry("000000010000000000000003")]).unwrap();
        let index = read_index(&dirs).unwrap();
        assert_eq!(
            index.entries.keys().collect::<Vec<_>>(),
            ["000000010000000000000001", "000000010000000000000003"]
        );
        assert!(index.bad_lines.is_empty() && index.torn_tail.is_none());
        compact(&dirs, &locks, |n| n.ends_with('3')).unwrap();
        assert_eq!(
            std::fs::read_to_string(index_path(&dirs)).unwrap(),
            entry("000000010000000000000003").to_line()
        );
    }

    #[test]
    fn digest_file_hashes_plain_content_and_fails_on_truncation() {
        let root = tempfile::tempdir().unwrap();
        let data: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
        let want = hex(&Sha256::digest(&data));
        let plain = root.path().join("plain");
        std::fs::write(&plain, &data).unwrap();
        let mut packed = Vec::new();
        Codec::Gzip
            .compress(6, &mut data.as_slice(), &mut packed)
            .unwrap();
        let gz = root.path().join("gz");
        std::fs::write(&gz, &packed).unwrap();
        for path in [&plain, &gz] {
            match digest_file(path, None).unwrap() {
                Content::Plain(d) => assert_eq!((d.sha256, d.size), (want.clone(), 200_000)),
                Content::Encrypted => panic!("not encrypted"),
            }
        }
        let mut hashed = HashingReader::new(data.as_slice());
        io::copy(&mut hashed, &mut io::sink()).unwrap();
        assert_eq!(hashed.finish().sha256, want);
        std::fs::write(&gz, &packed[..packed.len() / 2]).unwrap();
        assert!(digest_file(&gz, None).is_err());
    }
}
