//! The host a restore writes to: this one, or a remote one reached with
//! `--remote-ssh-command` (Barman's `UnixLocalCommand` / `UnixRemoteCommand`). Remote
//! operations run one shell command each through ssh, with every path quoted.

use std::path::Path;
use std::process::Stdio;

/// A failed file-system operation on the destination.
#[derive(Debug, thiserror::Error)]
#[error("{op} '{path}': {message}")]
pub struct DestinationError {
    /// What was attempted.
    pub op: &'static str,
    /// The path.
    pub path: String,
    /// Why it failed.
    pub message: String,
}

/// Where the restored files go.
#[derive(Debug, Clone)]
pub enum Destination {
    /// This host.
    Local,
    /// A host reached with these ssh words (the remote ssh command).
    Remote(Vec<String>),
}

fn quote(path: &str) -> String {
    shell_words::quote(path).into_owned()
}

impl Destination {
    /// Parse `--remote-ssh-command` (None: local).
    pub fn new(remote_ssh_command: Option<&str>) -> Result<Destination, String> {
        match remote_ssh_command {
            None => Ok(Destination::Local),
            Some(cmd) => shell_words::split(cmd)
                .map_err(|e| format!("invalid remote ssh command '{cmd}': {e}"))
                .and_then(|words| {
                    if words.is_empty() {
                        Err("empty remote ssh command".to_string())
                    } else {
                        Ok(Destination::Remote(words))
                    }
                }),
        }
    }

    /// The same destination reached with the ssh words `shared` makes of ours (a remote
    /// one only).
    pub fn with_ssh_words(self, shared: impl FnOnce(&[String]) -> Vec<String>) -> Destination {
        match self {
            Destination::Local => Destination::Local,
            Destination::Remote(words) => Destination::Remote(shared(&words)),
        }
    }

    /// True for a remote destination.
    pub fn is_remote(&self) -> bool {
        matches!(self, Destination::Remote(_))
    }

    /// A path spelled for rsync (`:<path>` when remote).
    pub fn rsync_path(&self, path: &str) -> String {
        match self {
            Destination::Local => path.to_string(),
            Destination::Remote(_) => format!(":{path}"),
        }
    }

    /// The ssh words (rsync's `-e`), when remote.
    pub fn ssh(&self) -> Option<Vec<String>> {
        match self {
            Destination::Local => None,
            Destination::Remote(words) => Some(words.clone()),
        }
    }

    fn remote(&self, words: &[String], script: &str) -> Result<String, String> {
        let mut cmd = super::spawn::child_command(&words[0]);
        cmd.args(&words[1..]).arg(script).stdin(Stdio::null());
        let output =
            super::spawn::output(&mut cmd).map_err(|e| format!("cannot run {}: {e}", words[0]))?;
        if output.status.success() {
            Ok(String::from_utf8_lossy(&output.stdout).into_owned())
        } else {
            let stderr = String::from_utf8_lossy(&output.stderr);
            Err(stderr.trim().to_string())
        }
    }

    fn fail<'a>(op: &'static str, path: &'a str) -> impl FnOnce(String) -> DestinationError + 'a {
        move |message| DestinationError {
            op,
            path: path.to_string(),
            message,
        }
    }

    /// True when `path` exists and holds at least one entry (a missing folder is empty).
    pub fn has_content(&self, path: &str) -> Result<bool, DestinationError> {
        match self {
            Destination::Local => match std::fs::read_dir(path) {
                Ok(mut entries) => Ok(entries.next().is_some()),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
                Err(e) => Err(Self::fail("list", path)(e.to_string())),
            },
            Destination::Remote(words) => {
                let script = format!("ls -A {} 2>/dev/null || true", quote(path));
                self.remote(words, &script)
                    .map(|listing| !listing.trim().is_empty())
                    .map_err(Self::fail("list", path))
            }
        }
    }

    /// Every regular file under `dir` (paths relative to it) with its size: what a copy
    /// put there, to compare with what it was asked to copy.
    pub fn file_sizes(
        &self,
        dir: &str,
    ) -> Result<std::collections::BTreeMap<String, u64>, DestinationError> {
        match self {
            Destination::Local => {
                let mut sizes = std::collections::BTreeMap::new();
                walk_sizes(Path::new(dir), Path::new(dir), &mut sizes)
                    .map_err(|e| Self::fail("list", dir)(e.to_string()))?;
                Ok(sizes)
            }
            Destination::Remote(words) => {
                let script = format!("cd {} && find . -type f -printf '%P\\t%s\\n'", quote(dir));
                let listing = self
                    .remote(words, &script)
                    .map_err(Self::fail("list", dir))?;
                Ok(listing
                    .lines()
                    .filter_map(|l| {
                        let (path, size) = l.rsplit_once('\t')?;
                        Some((path.to_string(), size.parse().ok()?))
                    })
                    .collect())
            }
        }
    }

    /// `mkdir -p` with an optional mode.
    pub fn create_dir(&self, path: &str, mode: Option<u32>) -> Result<(), DestinationError> {
        match self {
            Destination::Local => {
                std::fs::create_dir_all(path)
                    .map_err(|e| Self::fail("create", path)(e.to_string()))?;
                if let Some(mode) = mode {
                    use std::os::unix::fs::PermissionsExt;
                    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
                        .map_err(|e| Self::fail("chmod", path)(e.to_string()))?;
                }
                Ok(())
            }
            Destination::Remote(words) => {
                let mut script = format!("mkdir -p {}", quote(path));
                if let Some(mode) = mode {
                    script.push_str(&format!(" && chmod {mode:o} {}", quote(path)));
                }
                self.remote(words, &script)
                    .map(|_| ())
                    .map_err(Self::fail("create", path))
            }
        }
    }

    /// Replace `link` with a symbolic link to `target`, after checking `target` is a
    /// writable folder (Barman's `check_write_permission`).
    pub fn symlink(&self, target: &str, link: &str) -> Result<(), DestinationError> {
        match self {
            Destination::Local => {
                let probe = Path::new(target).join(".barman_write_check");
                std::fs::write(&probe, b"")
                    .and_then(|()| std::fs::remove_file(&probe))
                    .map_err(|e| Self::fail("write", target)(e.to_string()))?;
                let _ = std::fs::remove_file(link);
                std::os::unix::fs::symlink(target, link)
                    .map_err(|e| Self::fail("symlink", link)(e.to_string()))
            }
            Destination::Remote(words) => {
                let probe = format!("{target}/.barman_write_check");
                let script = format!(
                    "touch {p} && rm -f {p} && rm -f {l} && ln -s {t} {l}",
                    p = quote(&probe),
                    l = quote(link),
                    t = quote(target)
                );
                self.remote(words, &script)
                    .map(|_| ())
                    .map_err(Self::fail("symlink", link))
            }
        }
    }

    /// The content of a text file (Barman's `get_file_content`).
    pub fn read_file(&self, path: &str) -> Result<String, DestinationError> {
        let missing = || DestinationError {
            op: "read",
            path: path.to_string(),
            message: format!("The {path} file does not exist"),
        };
        match self {
            Destination::Local => std::fs::read_to_string(path).map_err(|e| {
                if e.kind() == std::io::ErrorKind::NotFound {
                    missing()
                } else {
                    Self::fail("read", path)(e.to_string())
                }
            }),
            Destination::Remote(words) => {
                if !self.exists(path)? {
                    return Err(missing());
                }
                let script = format!("cat {}", quote(path));
                self.remote(words, &script)
                    .map_err(Self::fail("read", path))
            }
        }
    }

    /// True when `path` exists.
    pub fn exists(&self, path: &str) -> Result<bool, DestinationError> {
        match self {
            Destination::Local => Ok(Path::new(path).exists()),
            Destination::Remote(words) => {
                let script = format!("test -e {} && echo yes || true", quote(path));
                self.remote(words, &script)
                    .map(|o| o.trim() == "yes")
                    .map_err(Self::fail("test", path))
            }
        }
    }

    /// Rename `from` to `to`.
    pub fn rename(&self, from: &str, to: &str) -> Result<(), DestinationError> {
        match self {
            Destination::Local => {
                std::fs::rename(from, to).map_err(|e| Self::fail("rename", from)(e.to_string()))
            }
            Destination::Remote(words) => self
                .remote(words, &format!("mv {} {}", quote(from), quote(to)))
                .map(|_| ())
                .map_err(Self::fail("rename", from)),
        }
    }
}

/// Collect the sizes of the regular files under `dir` (symlinks are not followed: a
/// tablespace link is checked through its own copy).
fn walk_sizes(
    root: &Path,
    dir: &Path,
    sizes: &mut std::collections::BTreeMap<String, u64>,
) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let kind = entry.file_type()?;
        if kind.is_dir() {
            walk_sizes(root, &entry.path(), sizes)?;
        } else if kind.is_file() {
            let rel = entry
                .path()
                .strip_prefix(root)
                .map(|p| p.to_string_lossy().into_owned())
                .unwrap_or_default();
            sizes.insert(rel, entry.metadata()?.len());
        }
    }
    Ok(())
}
