//! Native parallel copy of a local folder tree (a restore of a plain backup into an empty
//! local destination): the same result as rsync `-rLKpts` with anchored excludes (symlinks
//! followed, modes and modification times kept, owners those of the running user, devices
//! and sockets skipped), without rsync's processes and pipes. The kernel copies: a
//! reflink (`FICLONE`) where the file system shares blocks, else `copy_file_range`, else
//! read/write. Every file and folder is fsynced before the copy reports success.

use std::ffi::OsString;
use std::fs::{DirBuilder, File, OpenOptions};
use std::io::{Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

/// A native copy failure, one line.
#[derive(Debug, thiserror::Error)]
pub enum TreeCopyError {
    /// An I/O operation on one path failed.
    #[error("{what} '{path}': {source}")]
    Io {
        what: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    /// A source file changed size while it was copied (the backup is being modified).
    #[error("'{path}' changed while copied ({expected} bytes listed, {copied} copied)")]
    Changed {
        path: PathBuf,
        expected: u64,
        copied: u64,
    },
    /// SIGINT/SIGTERM arrived.
    #[error("{0}")]
    Interrupted(&'static str),
}

fn io<'a>(what: &'static str, path: &'a Path) -> impl FnOnce(std::io::Error) -> TreeCopyError + 'a {
    move |source| TreeCopyError::Io {
        what,
        path: path.to_path_buf(),
        source,
    }
}

/// One copy: `src`'s content into the existing folder `dst`.
pub struct TreeCopy<'a> {
    pub src: &'a Path,
    pub dst: &'a Path,
    /// rsync-style anchored excludes (`/pg_wal/*`, `/postmaster.pid`); see [`supported`].
    pub exclude: &'a [String],
    /// Worker threads.
    pub jobs: usize,
}

/// True when `pattern` is one this copy understands exactly as rsync does: anchored,
/// made of literal components and whole-component `*`. Anything else stays with rsync.
pub fn supported(pattern: &str) -> bool {
    let Some(rest) = pattern.strip_prefix('/') else {
        return false;
    };
    !rest.is_empty()
        && rest
            .split('/')
            .all(|c| !c.is_empty() && (c == "*" || !c.contains(['*', '?', '[', '\\'])) && c != "..")
}

fn excluded(patterns: &[Vec<&str>], rel: &[OsString]) -> bool {
    patterns.iter().any(|p| {
        p.len() == rel.len()
            && p.iter()
                .zip(rel)
                .all(|(pat, comp)| *pat == "*" || std::ffi::OsStr::new(pat) == comp)
    })
}

/// A folder or file found in the source.
struct Entry {
    rel: PathBuf,
    size: u64,
    mode: u32,
    mtime: (i64, i64),
}

#[derive(Default)]
struct Listing {
    dirs: Vec<Entry>,
    files: Vec<Entry>,
}

fn entry(rel: PathBuf, meta: &std::fs::Metadata) -> Entry {
    Entry {
        rel,
        size: meta.len(),
        mode: meta.mode() & 0o7777,
        mtime: (meta.mtime(), meta.mtime_nsec()),
    }
}

/// Walk `src` (folders in pre-order), following symlinks as rsync `-L` does.
fn walk(job: &TreeCopy<'_>) -> Result<Listing, TreeCopyError> {
    let patterns: Vec<Vec<&str>> = job
        .exclude
        .iter()
        .map(|p| p.trim_start_matches('/').split('/').collect())
        .collect();
    let mut listing = Listing::default();
    let root = std::fs::metadata(job.src).map_err(io("cannot read", job.src))?;
    listing.dirs.push(entry(PathBuf::new(), &root));
    let mut next = 0;
    while next < listing.dirs.len() {
        let rel = listing.dirs[next].rel.clone();
        next += 1;
        let dir = job.src.join(&rel);
        let mut names: Vec<OsString> = std::fs::read_dir(&dir)
            .map_err(io("cannot list", &dir))?
            .map(|e| e.map(|e| e.file_name()))
            .collect::<Result<_, _>>()
            .map_err(io("cannot list", &dir))?;
        names.sort();
        for name in names {
            let child = rel.join(&name);
            let parts: Vec<OsString> = child.iter().map(|c| c.to_os_string()).collect();
            if excluded(&patterns, &parts) {
                continue;
            }
            let path = job.src.join(&child);
            let meta = std::fs::metadata(&path).map_err(io("cannot read", &path))?;
            if meta.is_dir() {
                listing.dirs.push(entry(child, &meta));
            } else if meta.is_file() {
                listing.files.push(entry(child, &meta));
            }
            // Devices, fifos and sockets: rsync without -D skips them too.
        }
    }
    Ok(listing)
}

/// Copy the tree; `on_bytes(size)` is called (from the workers) for every file done.
pub fn copy(job: &TreeCopy<'_>, on_bytes: &(dyn Fn(u64) + Sync)) -> Result<(), TreeCopyError> {
    let mut listing = walk(job)?;
    // Folders writable by us while they fill; their modes and times come at the end.
    let mut builder = DirBuilder::new();
    builder.mode(0o700);
    // The destination itself too, as rsync makes it when missing (a tablespace relocated
    // inside the data directory).
    for dir in &listing.dirs {
        let path = job.dst.join(&dir.rel);
        match builder.create(&path) {
            Err(e) if !(e.kind() == std::io::ErrorKind::AlreadyExists && path.is_dir()) => {
                return Err(io("cannot create folder", &path)(e));
            }
            _ => {}
        }
    }
    // Largest first, taken by whichever worker is free: the bytes balance themselves.
    listing
        .files
        .sort_by(|a, b| b.size.cmp(&a.size).then(a.rel.cmp(&b.rel)));
    copy_files(job, &listing.files, on_bytes)?;
    // Deepest first, so a folder's time is set after its content stopped changing it.
    for dir in listing.dirs.iter().rev() {
        finish_dir(&job.dst.join(&dir.rel), dir)?;
    }
    // One syncfs makes every file and folder written above durable: the kernel writes
    // them back in one sweep, where an fsync per file (a journal commit each) made the
    // copy slower than rsync's unsynced one.
    syncfs(job.dst)?;
    // The destination's own entry in its parent (another file system when it is a mount).
    if let Some(parent) = job.dst.parent().filter(|p| !p.as_os_str().is_empty()) {
        fsync_dir(parent)?;
    }
    Ok(())
}

fn syncfs(path: &Path) -> Result<(), TreeCopyError> {
    let dir = open_dir(path)?;
    // SAFETY: an open descriptor on the file system to flush.
    if unsafe { libc::syncfs(dir.as_raw_fd()) } != 0 {
        return Err(io("cannot sync the file system of", path)(
            std::io::Error::last_os_error(),
        ));
    }
    Ok(())
}

fn copy_files(
    job: &TreeCopy<'_>,
    files: &[Entry],
    on_bytes: &(dyn Fn(u64) + Sync),
) -> Result<(), TreeCopyError> {
    let next = AtomicUsize::new(0);
    let failed = AtomicBool::new(false);
    let worker = || -> Result<(), TreeCopyError> {
        loop {
            if failed.load(Ordering::SeqCst) {
                return Ok(());
            }
            if let Some(signal) = super::interrupt::received() {
                return Err(TreeCopyError::Interrupted(super::interrupt::reason(signal)));
            }
            let Some(file) = files.get(next.fetch_add(1, Ordering::SeqCst)) else {
                return Ok(());
            };
            let result = copy_file(&job.src.join(&file.rel), &job.dst.join(&file.rel), file);
            if result.is_err() {
                failed.store(true, Ordering::SeqCst);
                return result;
            }
            on_bytes(file.size);
        }
    };
    let results: Vec<Result<(), TreeCopyError>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..job.jobs.clamp(1, files.len().max(1)))
            .map(|_| scope.spawn(worker))
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join().unwrap_or_else(|_| {
                    Err(TreeCopyError::Io {
                        what: "copy worker panicked in",
                        path: job.dst.to_path_buf(),
                        source: std::io::Error::other("panic"),
                    })
                })
            })
            .collect()
    });
    results.into_iter().collect()
}

/// One file: content, mode, mtime (made durable by the final `syncfs`).
fn copy_file(src: &Path, dst: &Path, file: &Entry) -> Result<(), TreeCopyError> {
    let mut input = File::open(src).map_err(io("cannot open", src))?;
    let mut output = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(dst)
        .map_err(io("cannot create", dst))?;
    let copied = if reflink(&input, &output) {
        output.metadata().map_err(io("cannot read", dst))?.len()
    } else {
        copy_content(&mut input, &mut output, src, dst)?
    };
    if copied != file.size {
        return Err(TreeCopyError::Changed {
            path: src.to_path_buf(),
            expected: file.size,
            copied,
        });
    }
    set_attributes(&output, file).map_err(io("cannot set mode and time of", dst))
}

/// A reflink clone of the whole file, where the file system supports it.
fn reflink(input: &File, output: &File) -> bool {
    // SAFETY: FICLONE takes the source descriptor as its argument; both are open files.
    unsafe { libc::ioctl(output.as_raw_fd(), libc::FICLONE, input.as_raw_fd()) == 0 }
}

/// The bytes by `copy_file_range` (the kernel copies), by read/write where the file
/// systems do not allow it; returns the bytes copied.
fn copy_content(
    input: &mut File,
    output: &mut File,
    src: &Path,
    dst: &Path,
) -> Result<u64, TreeCopyError> {
    let mut copied = 0u64;
    loop {
        // SAFETY: both descriptors are open; null offsets use and advance the file offsets.
        let n = unsafe {
            libc::copy_file_range(
                input.as_raw_fd(),
                std::ptr::null_mut(),
                output.as_raw_fd(),
                std::ptr::null_mut(),
                1 << 30,
                0,
            )
        };
        if n > 0 {
            copied += n as u64;
            continue;
        }
        if n == 0 {
            return Ok(copied);
        }
        let err = std::io::Error::last_os_error();
        match err.raw_os_error() {
            Some(libc::EINTR) => continue,
            // Unsupported here (cross-device on old kernels, some file systems): the
            // offsets have not moved past what was copied, so read/write goes on from there.
            Some(libc::EXDEV | libc::EINVAL | libc::ENOSYS | libc::EOPNOTSUPP | libc::EPERM) => {
                return read_write(input, output, src, dst).map(|n| copied + n);
            }
            _ => return Err(io("cannot copy into", dst)(err)),
        }
    }
}

fn read_write(
    input: &mut File,
    output: &mut File,
    src: &Path,
    dst: &Path,
) -> Result<u64, TreeCopyError> {
    let mut buffer = vec![0u8; 1 << 20];
    let mut copied = 0u64;
    loop {
        let n = match input.read(&mut buffer) {
            Ok(0) => return Ok(copied),
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(io("cannot read", src)(e)),
        };
        output
            .write_all(&buffer[..n])
            .map_err(io("cannot write", dst))?;
        copied += n as u64;
    }
}

fn set_attributes(file: &File, entry: &Entry) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    file.set_permissions(std::fs::Permissions::from_mode(entry.mode))?;
    let times = [
        libc::timespec {
            tv_sec: 0,
            tv_nsec: libc::UTIME_OMIT,
        },
        libc::timespec {
            tv_sec: entry.mtime.0 as libc::time_t,
            tv_nsec: entry.mtime.1 as libc::c_long,
        },
    ];
    // SAFETY: an open descriptor and a two-element timespec array, as futimens wants.
    if unsafe { libc::futimens(file.as_raw_fd(), times.as_ptr()) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

/// A folder's mode and time.
fn finish_dir(path: &Path, dir: &Entry) -> Result<(), TreeCopyError> {
    let handle = open_dir(path)?;
    set_attributes(&handle, dir).map_err(io("cannot set mode and time of", path))
}

fn open_dir(path: &Path) -> Result<File, TreeCopyError> {
    OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_DIRECTORY)
        .open(path)
        .map_err(io("cannot open", path))
}

fn fsync_dir(path: &Path) -> Result<(), TreeCopyError> {
    open_dir(path)?.sync_all().map_err(io("cannot fsync", path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn supported_patterns_are_anchored_literals_or_whole_stars() {
        assert!(supported("/pg_wal/*"));
        assert!(supported("/postmaster.pid"));
        assert!(supported("/pg_tblspc/16384"));
        assert!(supported("/inside/tbs one"));
        assert!(!supported("pg_wal"));
        assert!(!supported("/PG_15_*"));
        assert!(!supported("/a/b?"));
        assert!(!supported("/a/[x]"));
        assert!(!supported("/"));
        assert!(!supported("/a//b"));
        assert!(!supported("/a/"));
    }

    #[test]
    fn copy_keeps_modes_times_and_leaves_out_excluded_paths() {
        let src = tempfile::tempdir().unwrap();
        let dst = tempfile::tempdir().unwrap();
        let s = src.path();
        std::fs::create_dir_all(s.join("pg_wal/archive_status")).unwrap();
        std::fs::create_dir_all(s.join("base/1")).unwrap();
        std::fs::create_dir_all(s.join("empty")).unwrap();
        std::fs::write(s.join("pg_wal/000000010000000000000001"), "w").unwrap();
        std::fs::write(s.join("postmaster.pid"), "1").unwrap();
        std::fs::write(s.join("base/1/1259"), vec![7u8; 100_000]).unwrap();
        std::fs::write(s.join("base/postmaster.pid"), "kept: not at the root").unwrap();
        std::os::unix::fs::symlink(s.join("base/1/1259"), s.join("linked")).unwrap();
        let set = |p: &str, mode: u32| {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(s.join(p), std::fs::Permissions::from_mode(mode)).unwrap()
        };
        set("base/1/1259", 0o640);
        set("empty", 0o750);
        let exclude = ["/pg_wal/*".to_string(), "/postmaster.pid".to_string()];
        let total = AtomicUsize::new(0);
        let job = TreeCopy {
            src: s,
            dst: dst.path(),
            exclude: &exclude,
            jobs: 2,
        };
        copy(&job, &|b| {
            total.fetch_add(b as usize, Ordering::SeqCst);
        })
        .unwrap();
        let d = dst.path();
        assert!(d.join("pg_wal").is_dir());
        assert!(!d.join("pg_wal/archive_status").exists());
        assert!(!d.join("postmaster.pid").exists());
        assert!(d.join("base/postmaster.pid").exists());
        let linked = std::fs::symlink_metadata(d.join("linked")).unwrap();
        assert!(linked.is_file(), "symlinks are followed, as rsync -L does");
        let (a, b) = (
            std::fs::metadata(s.join("base/1/1259")).unwrap(),
            std::fs::metadata(d.join("base/1/1259")).unwrap(),
        );
        assert_eq!(b.mode() & 0o7777, 0o640);
        assert_eq!((a.mtime(), a.mtime_nsec()), (b.mtime(), b.mtime_nsec()));
        assert_eq!(
            std::fs::read(d.join("base/1/1259")).unwrap(),
            vec![7u8; 100_000]
        );
        let e = std::fs::metadata(d.join("empty")).unwrap();
        assert_eq!(e.mode() & 0o7777, 0o750);
        assert_eq!(total.load(Ordering::SeqCst), 100_000 * 2 + 21);
    }

    #[test]
    fn copy_refuses_an_existing_file_and_names_it() {
        let src = tempfile::tempdir().unwrap();
        let dst = tempfile::tempdir().unwrap();
        std::fs::write(src.path().join("PG_VERSION"), "15\n").unwrap();
        std::fs::write(dst.path().join("PG_VERSION"), "14\n").unwrap();
        let job = TreeCopy {
            src: src.path(),
            dst: dst.path(),
            exclude: &[],
            jobs: 2,
        };
        let err = copy(&job, &|_| {}).unwrap_err().to_string();
        assert!(err.starts_with("cannot create '"), "{err}");
        assert!(err.contains("PG_VERSION"), "{err}");
    }
}
