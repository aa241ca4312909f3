//! Where `barman-wal-archive`/`barman-wal-restore` keep the ssh control sockets they share
//! between calls: a folder only this user can reach, or none (each call then opens its own
//! connection, as Barman's clients always do).
//!
//! A fixed name under `/tmp` is not private: another local user can create it first (and
//! watch or refuse our connections) or plant a symlink there. The folder is
//! `$XDG_RUNTIME_DIR/barman-ssh` when that runtime folder is set and belongs to us
//! (systemd makes it 0700, per user, cleaned at logout), else `~/.cache/barman-ssh`;
//! it is created 0700 and used only if it is a real folder (not a symlink), owned by us,
//! with no access for group or others.

use std::os::unix::fs::{DirBuilderExt, MetadataExt};
use std::path::{Path, PathBuf};

/// The longest folder name that leaves room in a Unix socket path (108 bytes with the
/// final NUL) for ssh's `/%C` (41 bytes) and the `.XXXXXXXXXXXXXXXX` suffix of the
/// temporary name it binds first (17 bytes): a longer path makes ssh exit with 255
/// instead of running without a master.
const MAX_DIR_LEN: usize = 107 - 41 - 17;

/// Seconds a master shared by one backup's ssh calls (its `ssh` check, listings, small
/// copies, first rsync stream) outlives its last call: enough to bridge the steps of a
/// backup, short after it. A long copy outlives it; the next step then opens a new one.
pub const BACKUP_PERSIST_SECONDS: u32 = 10;

/// The private folder for this process's user, from the environment and the user database.
pub fn control_dir() -> Option<PathBuf> {
    let uid = nix::unistd::geteuid().as_raw();
    let runtime = std::env::var_os("XDG_RUNTIME_DIR").map(PathBuf::from);
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .filter(|h| h.is_absolute())
        .or_else(|| {
            nix::unistd::User::from_uid(nix::unistd::geteuid())
                .ok()
                .flatten()
                .map(|u| u.dir)
        });
    control_dir_in(runtime.as_deref(), home.as_deref(), uid)
}

/// `words` (an ssh command split into words) with options that make its calls share one
/// master connection, kept `persist_seconds` after the last call, when the program is
/// OpenSSH's `ssh`, the command sets no control option of its own and a private control
/// folder exists; else `words` unchanged. The options go right after the program, before
/// the destination, where ssh reads options.
pub fn shared_connection_words(words: &[String], persist_seconds: u32) -> Vec<String> {
    share_through(words, persist_seconds, control_dir)
}

/// [`shared_connection_words`] with the control folder from `dir` (asked only for ssh).
fn share_through(
    words: &[String],
    persist_seconds: u32,
    dir: impl FnOnce() -> Option<PathBuf>,
) -> Vec<String> {
    let Some(program) = words.first() else {
        return words.to_vec();
    };
    let is_ssh = Path::new(program).file_name().is_some_and(|n| n == "ssh");
    let sets_control = words[1..].iter().any(|w| {
        let lower = w.to_ascii_lowercase();
        w.starts_with("-S") || lower.contains("controlmaster") || lower.contains("controlpath")
    });
    let dir = (is_ssh && !sets_control).then(dir).flatten();
    let Some(dir) = dir else {
        return words.to_vec();
    };
    let mut shared = vec![program.clone()];
    shared.extend(master_options(&dir, persist_seconds));
    shared.extend(words[1..].iter().cloned());
    shared
}

/// ssh's options to share one master connection through a socket in `dir` (named by
/// ssh's `%C` hash of host, port and user), kept `persist_seconds` after the last call.
pub fn master_options(dir: &Path, persist_seconds: u32) -> [String; 6] {
    [
        "-o".to_string(),
        "ControlMaster=auto".to_string(),
        "-o".to_string(),
        format!("ControlPath={}/%C", dir.display()),
        "-o".to_string(),
        format!("ControlPersist={persist_seconds}"),
    ]
}

/// [`control_dir`] for given runtime and home folders and user id.
pub fn control_dir_in(runtime: Option<&Path>, home: Option<&Path>, uid: u32) -> Option<PathBuf> {
    if let Some(runtime) = runtime.filter(|r| r.is_absolute() && trusted_parent(r, uid)) {
        return private_dir(&runtime.join("barman-ssh"), uid);
    }
    let cache = home
        .filter(|h| h.is_absolute() && trusted_parent(h, uid))?
        .join(".cache");
    if !cache.exists() {
        std::fs::DirBuilder::new().mode(0o700).create(&cache).ok()?;
    }
    if !trusted_parent(&cache, uid) {
        return None;
    }
    private_dir(&cache.join("barman-ssh"), uid)
}

/// A folder we may create entries in without anyone else replacing them: ours, and not
/// writable by group or others.
fn trusted_parent(dir: &Path, uid: u32) -> bool {
    std::fs::metadata(dir).is_ok_and(|m| m.is_dir() && m.uid() == uid && m.mode() & 0o022 == 0)
}

/// `dir`, created 0700 when missing, if it is now a real folder of ours that nobody else
/// can enter.
fn private_dir(dir: &Path, uid: u32) -> Option<PathBuf> {
    if dir.as_os_str().len() > MAX_DIR_LEN {
        return None;
    }
    match std::fs::DirBuilder::new().mode(0o700).create(dir) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(_) => return None,
    }
    // lstat: a symlink, even to a folder of ours, is refused.
    let meta = std::fs::symlink_metadata(dir).ok()?;
    (meta.is_dir() && meta.uid() == uid && meta.mode() & 0o077 == 0).then(|| dir.to_path_buf())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn uid() -> u32 {
        nix::unistd::geteuid().as_raw()
    }

    fn mode(path: &Path) -> u32 {
        std::fs::symlink_metadata(path).unwrap().mode() & 0o777
    }

    fn short_tempdir() -> tempfile::TempDir {
        tempfile::Builder::new()
            .prefix("cd")
            .tempdir_in("/tmp")
            .unwrap()
    }

    fn words(line: &str) -> Vec<String> {
        line.split_whitespace().map(str::to_string).collect()
    }

    #[test]
    fn ssh_commands_share_a_connection_unless_they_set_their_own() {
        let dir = || Some(PathBuf::from("/run/user/0/barman-ssh"));
        assert_eq!(
            share_through(&words("/usr/bin/ssh -p 2222 postgres@db1"), 10, dir),
            words(
                "/usr/bin/ssh -o ControlMaster=auto -o ControlPath=/run/user/0/barman-ssh/%C \
                 -o ControlPersist=10 -p 2222 postgres@db1"
            )
        );
        for own in [
            "ssh -o ControlMaster=no postgres@db1",
            "ssh -oControlPath=none postgres@db1",
            "ssh -S /tmp/mux postgres@db1",
            "autossh postgres@db1",
        ] {
            assert_eq!(share_through(&words(own), 10, dir), words(own), "{own}");
        }
        // No private folder: the command as written.
        let plain = words("ssh postgres@db1");
        assert_eq!(share_through(&plain, 10, || None), plain);
    }

    #[test]
    fn control_dir_is_created_0700_under_home_cache() {
        let home = short_tempdir();
        let dir = control_dir_in(None, Some(home.path()), uid()).unwrap();
        assert_eq!(dir, home.path().join(".cache/barman-ssh"));
        assert_eq!(mode(&dir), 0o700);
        assert_eq!(mode(&home.path().join(".cache")), 0o700);
        // Idempotent.
        assert_eq!(control_dir_in(None, Some(home.path()), uid()), Some(dir));
    }

    #[test]
    fn control_dir_prefers_our_runtime_dir() {
        let runtime = short_tempdir();
        let home = short_tempdir();
        let dir = control_dir_in(Some(runtime.path()), Some(home.path()), uid()).unwrap();
        assert_eq!(dir, runtime.path().join("barman-ssh"));
        // A runtime folder others may write to is ignored: home is used.
        std::fs::set_permissions(runtime.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
        let dir = control_dir_in(Some(runtime.path()), Some(home.path()), uid()).unwrap();
        assert_eq!(dir, home.path().join(".cache/barman-ssh"));
    }

    #[test]
    fn control_dir_refuses_a_symlink_or_a_folder_it_does_not_own() {
        let home = short_tempdir();
        let cache = home.path().join(".cache");
        std::fs::create_dir(&cache).unwrap();
        let elsewhere = home.path().join("elsewhere");
        std::fs::DirBuilder::new()
            .mode(0o700)
            .create(&elsewhere)
            .unwrap();
        std::os::unix::fs::symlink(&elsewhere, cache.join("barman-ssh")).unwrap();
        assert_eq!(control_dir_in(None, Some(home.path()), uid()), None);
        std::fs::remove_file(cache.join("barman-ssh")).unwrap();
        // Group/other access on a folder of ours.
        std::fs::DirBuilder::new()
            .mode(0o755)
            .create(cache.join("barman-ssh"))
            .unwrap();
        std::fs::set_permissions(
            cache.join("barman-ssh"),
            std::fs::Permissions::from_mode(0o755),
        )
        .unwrap();
        assert_eq!(control_dir_in(None, Some(home.path()), uid()), None);
        // Another user's folder (as root we can make one; otherwise claim another uid).
        std::fs::set_permissions(
            cache.join("barman-ssh"),
            std::fs::Permissions::from_mode(0o700),
        )
        .unwrap();
        if nix::unistd::geteuid().is_root() {
            nix::unistd::chown(
                &cache.join("barman-ssh"),
                Some(nix::unistd::Uid::from_raw(65534)),
                None,
            )
            .unwrap();
            assert_eq!(control_dir_in(None, Some(home.path()), uid()), None);
        } else {
            assert_eq!(control_dir_in(None, Some(home.path()), uid() + 1), None);
        }
    }

    #[test]
    fn control_dir_gives_up_on_a_path_too_long_for_a_socket() {
        let home = short_tempdir();
        let deep = home.path().join("x".repeat(60));
        std::fs::DirBuilder::new()
            .mode(0o700)
            .create(&deep)
            .unwrap();
        assert_eq!(control_dir_in(None, Some(&deep), uid()), None);
    }
}
