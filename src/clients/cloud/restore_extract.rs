//! The streaming extraction of `barman-cloud-restore`: each tar object goes from the
//! socket through a read-ahead thread (the network overlaps decompression and writing,
//! as Python's `ReadAheadIO`), the decompressor its suffix names, and the untar, straight
//! into its target folder; nothing is held whole in memory or staged on disk. Several
//! objects (tablespaces, further parts) are extracted at once; the first failure stops
//! the others. The restored folders are flushed to disk before success is reported.

use crate::adapters::cloud::{CloudStore, ObjectReader};
use crate::adapters::untar;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::{sync_channel, Receiver};
use std::sync::{Arc, Mutex};

/// How many objects are extracted at once.
const WORKERS: usize = 4;
/// Read-ahead: chunks of this size, at most `QUEUE` of them waiting.
const CHUNK: usize = 1 << 16;
const QUEUE: usize = 16;

/// One tar object and the folder it is extracted into.
#[derive(Debug, Clone)]
pub struct Job {
    /// The object's key.
    pub key: String,
    /// Its compression (`gzip`, `bzip2`, `snappy`, `lz4`, `zstd`), by its suffix.
    pub compression: Option<&'static str>,
    /// The folder its members land in.
    pub target: PathBuf,
}

/// Why an extraction failed: the message Python's exception handler prints after
/// `Barman cloud restore exception: `.
#[derive(Debug)]
pub struct ExtractError(pub String);

/// Extract every job; `on_start` is told of each job as it starts (Python's debug line).
pub fn extract_all(
    store: &CloudStore,
    jobs: &[Job],
    on_start: &(dyn Fn(&Job) + Sync),
) -> Result<(), ExtractError> {
    let next = AtomicUsize::new(0);
    let cancelled = AtomicBool::new(false);
    let first_error: Mutex<Option<ExtractError>> = Mutex::new(None);
    std::thread::scope(|scope| {
        for _ in 0..WORKERS.min(jobs.len()) {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                if i >= jobs.len() || cancelled.load(Ordering::SeqCst) {
                    return;
                }
                on_start(&jobs[i]);
                if let Err(e) = extract(store, &jobs[i], &cancelled) {
                    let mut slot = first_error.lock().unwrap_or_else(|p| p.into_inner());
                    // A job stopped by another's failure does not hide the cause.
                    if !cancelled.swap(true, Ordering::SeqCst) {
                        *slot = Some(e);
                    }
                    return;
                }
            });
        }
    });
    match first_error.into_inner().unwrap_or_else(|p| p.into_inner()) {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

/// Download, decompress and untar one object into its folder.
fn extract(store: &CloudStore, job: &Job, cancelled: &AtomicBool) -> Result<(), ExtractError> {
    let failed = |e: &dyn std::fmt::Display| {
        ExtractError(format!(
            "extraction of {} into {} failed: {e}",
            job.key,
            job.target.display()
        ))
    };
    let object = store
        .open_read(&job.key)
        .map_err(|e| ExtractError(e.to_string()))?
        .ok_or_else(|| failed(&"the object is gone"))?;
    std::fs::create_dir_all(&job.target).map_err(|e| failed(&e))?;
    std::thread::scope(|scope| {
        let (tx, rx) = sync_channel::<io::Result<Vec<u8>>>(QUEUE);
        scope.spawn(move || read_ahead(object, tx, cancelled));
        let plain =
            decompressor(job.compression, ChannelReader::new(rx)).map_err(|e| failed(&e))?;
        untar(plain, &job.target).map_err(|e| failed(&chain(&e)))
    })
}

/// An error with its causes (tar's errors keep the I/O cause as their source).
fn chain(error: &io::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.get_ref().and_then(|e| e.source());
    while let Some(e) = source {
        let part = e.to_string();
        if !text.contains(&part) {
            text.push_str(": ");
            text.push_str(&part);
        }
        source = e.source();
    }
    text
}

/// The network side: chunks of the object into the bounded queue, until the end, an error
/// or the consumer going away.
fn read_ahead(
    mut object: ObjectReader<'_>,
    tx: std::sync::mpsc::SyncSender<io::Result<Vec<u8>>>,
    cancelled: &AtomicBool,
) {
    loop {
        if cancelled.load(Ordering::SeqCst) {
            let _ = tx.send(Err(io::Error::other("stopped: another extraction failed")));
            return;
        }
        let mut chunk = vec![0u8; CHUNK];
        let sent = match object.read(&mut chunk) {
            Ok(0) => return,
            Ok(n) => {
                chunk.truncate(n);
                tx.send(Ok(chunk))
            }
            Err(e) => {
                let _ = tx.send(Err(e));
                return;
            }
        };
        if sent.is_err() {
            return;
        }
    }
}

/// The consumer side of the read-ahead queue.
struct ChannelReader {
    rx: Receiver<io::Result<Vec<u8>>>,
    chunk: Vec<u8>,
    at: usize,
}

impl ChannelReader {
    fn new(rx: Receiver<io::Result<Vec<u8>>>) -> ChannelReader {
        ChannelReader {
            rx,
            chunk: Vec::new(),
            at: 0,
        }
    }
}

impl Read for ChannelReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.at == self.chunk.len() {
            match self.rx.recv() {
                Ok(chunk) => {
                    self.chunk = chunk?;
                    self.at = 0;
                }
                // The sender is gone: the object ended.
                Err(_) => return Ok(0),
            }
        }
        let n = buf.len().min(self.chunk.len() - self.at);
        buf[..n].copy_from_slice(&self.chunk[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

/// The decompressor the object's suffix names (Python's `get_compressor`).
fn decompressor<'r>(
    compression: Option<&str>,
    input: impl Read + 'r,
) -> io::Result<Box<dyn Read + 'r>> {
    let input = io::BufReader::with_capacity(CHUNK, input);
    Ok(match compression {
        None => Box::new(input),
        Some("gzip") => Box::new(flate2::bufread::MultiGzDecoder::new(input)),
        Some("bzip2") => Box::new(bzip2::bufread::MultiBzDecoder::new(input)),
        Some("snappy") => Box::new(snap::read::FrameDecoder::new(input)),
        Some("lz4") => Box::new(lz4_flex::frame::FrameDecoder::new(input)),
        Some("zstd") => Box::new(zstd::stream::read::Decoder::with_buffer(input)?),
        Some(other) => {
            return Err(io::Error::other(format!(
                "unknown compression type: {other}"
            )))
        }
    })
}

/// A reader that remembers hitting its end: a tar stream that ends before its
/// end-of-archive blocks was cut short, even when the cut falls between two members.
struct EofWatch<R> {
    inner: R,
    hit: Arc<AtomicBool>,
}

impl<R: Read> Read for EofWatch<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if n == 0 && !buf.is_empty() {
            self.hit.store(true, Ordering::SeqCst);
        }
        Ok(n)
    }
}

/// Untar `input` into `target` as GNU tar does for its user: as root, owners and modes
/// are kept whole; otherwise files belong to the caller. The archive's `./` member (Python
/// writes one for PGDATA, mode 0700) gives `target` its mode, as PostgreSQL requires.
fn untar(input: Box<dyn Read + '_>, target: &Path) -> io::Result<()> {
    let hit = Arc::new(AtomicBool::new(false));
    let watched = EofWatch {
        inner: input,
        hit: Arc::clone(&hit),
    };
    let root = nix::unistd::geteuid().is_root();
    let mut archive = tar::Archive::new(watched);
    archive.set_preserve_permissions(root);
    archive.set_preserve_ownerships(root);
    archive.set_preserve_mtime(true);
    archive.set_overwrite(true);
    let dst = target.canonicalize()?;
    let keep = untar::Keep {
        owner: root,
        all_mode_bits: root,
    };
    // As tar's own `unpack`: folders last, deepest first, so that a read-only folder
    // does not stop its members from landing.
    let mut dirs = Vec::new();
    let mut top = None;
    for entry in archive.entries()? {
        let mut entry = entry?;
        if entry.header().entry_type() != tar::EntryType::Directory {
            untar::unpack_in(&mut entry, &dst, keep)?;
        } else if entry
            .path()?
            .components()
            .all(|c| c == std::path::Component::CurDir)
        {
            let header = entry.header();
            top = Some((
                header.mode()?,
                header.uid()?,
                header.gid()?,
                header.mtime()?,
            ));
        } else {
            dirs.push(entry);
        }
    }
    if hit.load(Ordering::SeqCst) {
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "the archive ends before its end-of-archive marker (truncated object?)",
        ));
    }
    dirs.sort_by(|a, b| b.path_bytes().cmp(&a.path_bytes()));
    for mut dir in dirs {
        let path = dst.join(dir.path()?);
        let mtime = dir.header().mtime()?;
        if dir.unpack_in(&dst)? {
            set_mtime(&path, mtime)?;
        }
    }
    if let Some((mode, uid, gid, mtime)) = top {
        set_mtime(&dst, mtime)?;
        use std::os::unix::fs::PermissionsExt;
        let mode = if root { mode & 0o7777 } else { mode & 0o777 };
        std::fs::set_permissions(&dst, std::fs::Permissions::from_mode(mode))?;
        if root {
            let id = |n: u64| u32::try_from(n).ok();
            std::os::unix::fs::chown(&dst, id(uid), id(gid))?;
        }
    }
    Ok(())
}

/// A folder's mtime as the archive has it (tar's unpack leaves folders at "now", GNU tar
/// does not).
fn set_mtime(path: &Path, mtime: u64) -> io::Result<()> {
    use nix::sys::stat::{utimensat, UtimensatFlags};
    use nix::sys::time::TimeSpec;
    let secs = i64::try_from(mtime).unwrap_or(i64::MAX);
    let time = TimeSpec::new(secs, 0);
    utimensat(
        None,
        path,
        &TimeSpec::UTIME_OMIT,
        &time,
        UtimensatFlags::NoFollowSymlink,
    )
    .map_err(io::Error::from)
}

/// Flush the restored folders: one `syncfs(2)` per file system flushes every file and
/// folder at once (PostgreSQL's `recovery_init_sync_method = syncfs` choice); where
/// syncfs is missing, each file and folder is fsynced.
pub fn sync_trees(dirs: &[&Path]) -> io::Result<()> {
    use std::os::fd::AsRawFd;
    for dir in dirs {
        let handle = std::fs::File::open(dir)?;
        match nix::unistd::syncfs(handle.as_raw_fd()) {
            Ok(()) => {}
            Err(nix::errno::Errno::ENOSYS) => fsync_walk(dir)?,
            Err(e) => return Err(e.into()),
        }
        if let Some(parent) = dir.parent().filter(|p| !p.as_os_str().is_empty()) {
            crate::adapters::durable::fsync_dir(parent)?;
        }
    }
    Ok(())
}

fn fsync_walk(dir: &Path) -> io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let kind = entry.file_type()?;
        if kind.is_dir() {
            fsync_walk(&entry.path())?;
        } else if kind.is_file() {
            std::fs::File::open(entry.path())?.sync_all()?;
        }
    }
    crate::adapters::durable::fsync_dir(dir)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::adapters::untar::tar_of;

    #[test]
    fn untar_extracts_and_refuses_a_cut_archive() {
        let tar = tar_of(&[("a/one", b"1111"), ("two", &[7u8; 2000])]);
        let dir = tempfile::tempdir().unwrap();
        untar(Box::new(tar.as_slice()), dir.path()).unwrap();
        assert_eq!(std::fs::read(dir.path().join("a/one")).unwrap(), b"1111");
        assert_eq!(std::fs::read(dir.path().join("two")).unwrap().len(), 2000);
        // Cut inside the last member, and cut exactly between two members.
        for cut in [1024 + 512, 1024] {
            let dir = tempfile::tempdir().unwrap();
            assert!(untar(Box::new(&tar[..cut]), dir.path()).is_err(), "{cut}");
        }
    }

    #[test]
    fn decompressors_follow_the_suffix() {
        let tar = tar_of(&[("f", b"payload")]);
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        io::Write::write_all(&mut gz, &tar).unwrap();
        let gz = gz.finish().unwrap();
        let dir = tempfile::tempdir().unwrap();
        untar(
            decompressor(Some("gzip"), gz.as_slice()).unwrap(),
            dir.path(),
        )
        .unwrap();
        assert_eq!(std::fs::read(dir.path().join("f")).unwrap(), b"payload");
        let dir = tempfile::tempdir().unwrap();
        let cut = decompressor(Some("gzip"), &gz[..gz.len() / 2]).unwrap();
        assert!(untar(cut, dir.path()).is_err());
        assert!(decompressor(Some("xz"), &b""[..]).is_err());
    }
}
