//! Unpacking tar members, as the `tar` crate's `Entry::unpack_in` does, with the data of
//! regular files written in 1 MiB writes: tar's own copy goes through an 8 KiB buffer, and
//! 8 KiB writes cost this machine four times the system time of 1 MiB ones (1.06 vs 0.28 s
//! for 800 MB), most of a compressed restore's time. Used by `barman-cloud-restore` and by
//! the recovery of tar-format backups.

use std::io::{self, Read};
use std::path::Path;

/// Size of the writes of a member's data.
const WRITE_BUFFER: usize = 1 << 20;

/// What of a member's header is applied beside its mtime.
#[derive(Debug, Clone, Copy)]
pub struct Keep {
    /// Its owner and group (as root).
    pub owner: bool,
    /// Its setuid, setgid and sticky bits, not only the permission bits.
    pub all_mode_bits: bool,
}

/// Unpack `entry` into `dst` (canonical) as tar's `Entry::unpack_in` does, regular files
/// through [`unpack_regular`]; the archive's own settings (`set_preserve_*`) must say what
/// `keep` says, for the members tar unpacks itself.
///
/// # Errors
/// As tar's: a path leading out of `dst`, or the file system's.
pub fn unpack_in<R: Read>(entry: &mut tar::Entry<'_, R>, dst: &Path, keep: Keep) -> io::Result<()> {
    let kind = entry.header().entry_type();
    // Old headers name folders with a trailing slash whatever their type: tar's business.
    if matches!(kind, tar::EntryType::Regular | tar::EntryType::Continuous)
        && !entry.path_bytes().ends_with(b"/")
    {
        return unpack_regular(entry, dst, keep);
    }
    entry.unpack_in(dst).map(|_| ())
}

/// Unpack a regular member as tar's `unpack_in` does, but in 1 MiB writes: the same path
/// rules (a `..` component skips the member, leading `/` and `.` parts are dropped, every
/// folder created and the parent must resolve inside `dst`), an existing file replaced,
/// never written through (it may be a link), then mtime, owner and mode.
fn unpack_regular<R: Read>(
    entry: &mut tar::Entry<'_, R>,
    dst: &Path,
    keep: Keep,
) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    use std::path::Component;
    let mut file_dst = dst.to_path_buf();
    for part in entry.path()?.components() {
        match part {
            Component::Prefix(..) | Component::RootDir | Component::CurDir => {}
            Component::ParentDir => return Ok(()),
            Component::Normal(part) => file_dst.push(part),
        }
    }
    let Some(parent) = file_dst.parent().filter(|_| file_dst != dst) else {
        return Ok(());
    };
    let failed = |e: io::Error| {
        io::Error::new(
            e.kind(),
            format!("failed to unpack `{}`: {e}", file_dst.display()),
        )
    };
    create_folders_inside(dst, parent).map_err(failed)?;
    let mut out =
        io::BufWriter::with_capacity(WRITE_BUFFER, create_replacing(&file_dst).map_err(failed)?);
    let size = entry.size();
    if io::copy(entry, &mut out).map_err(failed)? != size {
        return Err(failed(io::Error::other("failed to write entire file")));
    }
    let file = out.into_inner().map_err(|e| failed(e.into_error()))?;
    let header = entry.header();
    // tar's rule: an mtime of 0 is set as 1.
    let mtime = std::time::UNIX_EPOCH + std::time::Duration::from_secs(header.mtime()?.max(1));
    file.set_times(
        std::fs::FileTimes::new()
            .set_accessed(mtime)
            .set_modified(mtime),
    )
    .map_err(failed)?;
    let mode = header.mode()?;
    if keep.owner {
        let id = |n: u64| u32::try_from(n).ok();
        std::os::unix::fs::fchown(&file, id(header.uid()?), id(header.gid()?)).map_err(failed)?;
    }
    let mode = if keep.all_mode_bits {
        mode & 0o7777
    } else {
        mode & 0o777
    };
    file.set_permissions(std::fs::Permissions::from_mode(mode))
        .map_err(failed)
}

/// Create `dir` and its missing parents, each only where its parent resolves inside `dst`
/// (a link in the archive must not lead a member out), then check `dir` itself.
fn create_folders_inside(dst: &Path, dir: &Path) -> io::Result<()> {
    let inside = |path: &Path| -> io::Result<()> {
        if path.canonicalize()?.starts_with(dst) {
            return Ok(());
        }
        Err(io::Error::other(format!(
            "trying to unpack outside of destination path: {}",
            dst.display()
        )))
    };
    let missing: Vec<&Path> = dir
        .ancestors()
        .take_while(|a| a.symlink_metadata().is_err())
        .collect();
    for folder in missing.into_iter().rev() {
        if let Some(parent) = folder.parent() {
            inside(parent)?;
        }
        std::fs::create_dir_all(folder)?;
    }
    inside(dir)
}

/// A new file at `path`; what was there (a file, a link) is removed first.
fn create_replacing(path: &Path) -> io::Result<std::fs::File> {
    let create = || {
        std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(path)
    };
    match create() {
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => match std::fs::remove_file(path) {
            Ok(()) => create(),
            Err(e) if e.kind() == io::ErrorKind::NotFound => create(),
            Err(e) => Err(e),
        },
        other => other,
    }
}

/// A tar stream of `files` (mode 0600, owned by the caller, a fixed mtime), for tests.
#[cfg(test)]
pub(crate) fn tar_of(files: &[(&str, &[u8])]) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    for (name, data) in files {
        let mut header = tar::Header::new_gnu();
        header.set_size(data.len() as u64);
        header.set_mode(0o600);
        header.set_uid(u64::from(nix::unistd::geteuid().as_raw()));
        header.set_gid(u64::from(nix::unistd::getegid().as_raw()));
        header.set_mtime(1_700_000_000);
        header.set_cksum();
        builder
            .append_data(&mut header, name, *data)
            .expect("in memory");
    }
    builder.into_inner().expect("in memory")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unpack_all(tar: &[u8], target: &Path) -> io::Result<()> {
        let dst = target.canonicalize()?;
        let keep = Keep {
            owner: false,
            all_mode_bits: false,
        };
        for entry in tar::Archive::new(tar).entries()? {
            unpack_in(&mut entry?, &dst, keep)?;
        }
        Ok(())
    }

    #[test]
    fn untar_writes_members_as_tar_would_and_keeps_inside_the_target() {
        use std::os::unix::fs::{MetadataExt, PermissionsExt};
        let big: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8).collect();
        let mut tar = tar_of(&[("base/1/big", &big), ("empty", b"")]);
        // A member named `../evil`, which tar's Builder refuses to write: skipped.
        let mut evil = tar::Header::new_old();
        evil.as_old_mut().name[..7].copy_from_slice(b"../evil");
        evil.set_size(4);
        evil.set_mode(0o644);
        evil.set_cksum();
        let mut raw = tar::Builder::new(Vec::new());
        raw.append(&evil, &b"evil"[..]).unwrap();
        tar.truncate(tar.len() - 1024);
        tar.extend(raw.into_inner().unwrap());
        let outside = tempfile::tempdir().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("t");
        std::fs::create_dir(&target).unwrap();
        // A link where a member lands is replaced, never written through.
        let victim = outside.path().join("victim");
        std::fs::write(&victim, b"keep").unwrap();
        std::os::unix::fs::symlink(&victim, target.join("empty")).unwrap();
        unpack_all(&tar, &target).unwrap();
        assert_eq!(std::fs::read(target.join("base/1/big")).unwrap(), big);
        let meta = std::fs::metadata(target.join("base/1/big")).unwrap();
        assert_eq!(
            (meta.permissions().mode() & 0o7777, meta.mtime()),
            (0o600, 1_700_000_000)
        );
        assert!(std::fs::symlink_metadata(target.join("empty"))
            .unwrap()
            .is_file());
        assert_eq!(std::fs::read(&victim).unwrap(), b"keep");
        assert!(!dir.path().join("evil").exists());
        // A member whose folder is a link leading out of the target is refused.
        let escape = tempfile::tempdir().unwrap();
        let target = escape.path().join("t");
        std::fs::create_dir(&target).unwrap();
        std::os::unix::fs::symlink(outside.path(), target.join("base")).unwrap();
        let err = unpack_all(&tar, &target).unwrap_err();
        assert!(err.to_string().contains("outside of destination"), "{err}");
        assert!(!outside.path().join("1").exists());
    }
}
