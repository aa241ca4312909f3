//! THE durable write path: every catalog file is replaced through [`write_atomic`], so a
//! crash at any moment leaves either the old file or the new one, never a torn one.
//!
//! Write to a temporary name in the same folder, fsync it, rename it over the target, then
//! fsync the folder so the rename itself survives a power loss (PostgreSQL's
//! `durable_rename`; Barman fsyncs only the folder, we also fsync the file first).

use std::convert::Infallible;
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Replace `path` with `bytes` durably.
///
/// # Errors
/// Any failure leaves the previous file untouched and removes the temporary file.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    write_atomic_with(path, |file| file.write_all(bytes))
}

/// Replace `path` durably with what `fill` writes (streamed through a buffer, so a large
/// catalog file such as the xlog db is never held in memory).
///
/// # Errors
/// Any failure, from `fill` or the file system, leaves the previous file untouched and
/// removes the temporary file.
pub fn write_atomic_with(
    path: &Path,
    fill: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> std::io::Result<()> {
    io_only(replace_with(path, |out| Ok(fill(out)?)))
}

/// The I/O error of a write whose filler cannot fail otherwise.
fn io_only(result: Result<(), ReplaceError<Infallible>>) -> std::io::Result<()> {
    match result {
        Ok(()) => Ok(()),
        Err(ReplaceError::Io(e)) => Err(e),
        Err(ReplaceError::Fill(never)) => match never {},
    }
}

/// Why [`replace_with`] failed; either way the previous file is untouched.
#[derive(Debug)]
pub enum ReplaceError<E> {
    /// The filler's own error, returned as it was.
    Fill(E),
    /// The file system's (writing included: `?` on a write in the filler lands here).
    Io(std::io::Error),
}

impl<E> From<std::io::Error> for ReplaceError<E> {
    fn from(e: std::io::Error) -> Self {
        ReplaceError::Io(e)
    }
}

/// [`write_atomic_with`] for a filler that can fail for reasons of its own (a scan of the
/// archive, a payload to fetch): its error comes back as itself, not as an I/O error.
///
/// # Errors
/// As [`write_atomic_with`].
pub fn replace_with<E>(
    path: &Path,
    fill: impl FnOnce(&mut dyn Write) -> Result<(), ReplaceError<E>>,
) -> Result<(), ReplaceError<E>> {
    write_atomic_inner(path, None, fill)
}

/// Replace `path` with `bytes` durably, keeping the permission bits of the file it
/// replaces (configuration files edited by `config-update` may be readable by the barman
/// group only).
///
/// # Errors
/// As [`write_atomic`].
pub fn write_atomic_keeping_mode(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(path)
        .ok()
        .map(|m| m.permissions().mode() & 0o7777);
    io_only(write_atomic_inner(path, mode, |file| {
        Ok(file.write_all(bytes)?)
    }))
}

fn write_atomic_inner<E>(
    path: &Path,
    mode: Option<u32>,
    fill: impl FnOnce(&mut dyn Write) -> Result<(), ReplaceError<E>>,
) -> Result<(), ReplaceError<E>> {
    use std::os::unix::fs::PermissionsExt;
    let dir = parent_of(path);
    // Dropping `tmp` on any error below removes the temporary file.
    let mut tmp = temp_file(path, &dir)?;
    if let Some(mode) = mode {
        tmp.as_file()
            .set_permissions(std::fs::Permissions::from_mode(mode))?;
    }
    let mut writer = std::io::BufWriter::new(tmp.as_file_mut());
    fill(&mut writer)?;
    writer.flush()?;
    drop(writer);
    failpoint("durable.before_fsync");
    tmp.as_file().sync_all()?;
    failpoint("durable.before_rename");
    tmp.persist(path).map_err(|e| e.error)?;
    failpoint("durable.after_rename");
    Ok(fsync_dir(&dir)?)
}

/// Rename `from` to `to` and make the rename durable (both folders fsynced).
pub fn rename_durable(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::rename(from, to)?;
    fsync_dir(&parent_of(to))?;
    let from_dir = parent_of(from);
    if from_dir != parent_of(to) {
        fsync_dir(&from_dir)?;
    }
    Ok(())
}

/// Ask the kernel to start writing `len` bytes of `file` from `offset` out now (0 and 0:
/// the whole file), without waiting: by the time the writer fsyncs it, most of it is on
/// disk. Advisory; a refusal changes nothing, the fsync that follows is what counts.
pub fn start_writeback(file: &File, offset: u64, len: u64) {
    use std::os::fd::AsRawFd;
    let (Ok(offset), Ok(len)) = (i64::try_from(offset), i64::try_from(len)) else {
        return;
    };
    // SAFETY: a plain syscall on a descriptor `file` owns for the whole call; it reads
    // and writes no memory of ours.
    let _ = unsafe {
        libc::sync_file_range(file.as_raw_fd(), offset, len, libc::SYNC_FILE_RANGE_WRITE)
    };
}

/// fsync a folder, so entries created, renamed or removed in it are on disk.
pub fn fsync_dir(dir: &Path) -> std::io::Result<()> {
    File::open(dir)?.sync_all()
}

/// Create `dir` and any missing parents, fsyncing each parent after creating a child.
pub fn create_dir_all_durable(dir: &Path) -> std::io::Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    if let Some(parent) = dir.parent().filter(|p| !p.as_os_str().is_empty()) {
        create_dir_all_durable(parent)?;
    }
    match std::fs::create_dir(dir) {
        Ok(()) => fsync_dir(&parent_of(dir)),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && dir.is_dir() => Ok(()),
        Err(e) => Err(e),
    }
}

fn parent_of(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// A new `.<name>.<random>.tmp` next to the target: hidden (Barman and our scans skip
/// dot-files and `.tmp`), on the same file system, and created exclusively with a random
/// part, so a leftover from a killed run never blocks a later one (a PID-based name did
/// when the PID came round again). Mode 0666 minus the umask, as a plain `open` gives.
fn temp_file(path: &Path, dir: &Path) -> std::io::Result<tempfile::NamedTempFile> {
    use std::os::unix::fs::PermissionsExt;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    tempfile::Builder::new()
        .prefix(&format!(".{name}."))
        .suffix(".tmp")
        .permissions(std::fs::Permissions::from_mode(0o666))
        .tempfile_in(dir)
}

/// Kill the process right here when built with the `failpoints` feature and
/// `BARMAN_FAILPOINT` names this point: the crash tests use it to stop between write,
/// fsync and rename. A no-op in normal builds.
pub fn failpoint(name: &str) {
    #[cfg(feature = "failpoints")]
    if std::env::var("BARMAN_FAILPOINT").is_ok_and(|wanted| wanted == name) {
        // SIGKILL: no destructors, no buffered writes flushed, as a real crash.
        let _ = nix::sys::signal::kill(nix::unistd::Pid::this(), nix::sys::signal::Signal::SIGKILL);
    }
    #[cfg(not(feature = "failpoints"))]
    let _ = name;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durable_write_replaces_content_and_leaves_no_temp() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("backup.info");
        write_atomic(&path, b"one\n").unwrap();
        write_atomic(&path, b"two\n").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"two\n");
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec!["backup.info"]);
    }

    #[test]
    fn durable_write_is_not_blocked_by_a_killed_runs_leftover() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("backup.info");
        // What a run killed between write and rename left, with this very PID.
        let leftover = dir
            .path()
            .join(format!(".backup.info.{}.tmp", std::process::id()));
        std::fs::write(&leftover, b"torn").unwrap();
        write_atomic(&path, b"whole\n").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"whole\n");
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        let umask = nix::sys::stat::umask(nix::sys::stat::Mode::empty());
        nix::sys::stat::umask(umask);
        assert_eq!(mode, 0o666 & !umask.bits(), "{mode:o}");
    }

    #[test]
    fn durable_write_failure_keeps_the_old_file() {
        use std::os::unix::fs::PermissionsExt;
        if nix::unistd::geteuid().is_root() {
            // Root ignores directory permissions; use a missing folder instead.
            assert!(write_atomic(Path::new("/nonexistent/dir/file"), b"x").is_err());
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("xlog.db");
        write_atomic(&path, b"old").unwrap();
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o500)).unwrap();
        assert!(write_atomic(&path, b"new").is_err());
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o700)).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"old");
    }

    #[test]
    fn durable_create_dir_all_and_rename() {
        let dir = tempfile::tempdir().unwrap();
        let deep = dir.path().join("a/b/c");
        create_dir_all_durable(&deep).unwrap();
        create_dir_all_durable(&deep).unwrap();
        let from = deep.join("x");
        std::fs::write(&from, b"x").unwrap();
        let to = dir.path().join("a/y");
        rename_durable(&from, &to).unwrap();
        assert!(to.exists() && !from.exists());
    }
}
