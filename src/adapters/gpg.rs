//! The `gpg` program, driven as Barman's `command_wrappers.GPG` drives it (same argv, so a
//! user's gpg set-up — `GNUPGHOME`, agent, keyrings — serves both), and the
//! `encryption_passphrase_command` that gives the passphrase for decryption
//! (`encryption.get_passphrase_from_command`). It never prints; callers word failures
//! through [`GpgError::barman_text`].

use crate::core::encryption;
use crate::core::py_literal::str_repr;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

/// A failed gpg run.
#[derive(Debug, thiserror::Error)]
pub enum GpgError {
    /// gpg could not be started (not installed, not in `PATH`).
    #[error("cannot run gpg: {0}")]
    Spawn(std::io::Error),
    /// gpg exited non-zero.
    #[error("{}", self.barman_text())]
    Failed {
        /// Exit code (None: killed by a signal).
        code: Option<i32>,
        /// What gpg printed on stdout.
        stdout: String,
        /// What gpg printed on stderr.
        stderr: String,
    },
}

impl GpgError {
    /// The text Barman shows for this failure: its passphrase messages for a wrong or
    /// missing passphrase, else the `CommandFailedException` dict
    /// (`{'ret': 2, 'out': '', 'err': 'gpg: ...'}`).
    pub fn barman_text(&self) -> String {
        match self {
            // Python's `FileNotFoundError` text when gpg is not installed.
            GpgError::Spawn(e) if e.kind() == std::io::ErrorKind::NotFound => {
                "[Errno 2] No such file or directory: 'gpg'".to_string()
            }
            GpgError::Spawn(e) => e.to_string(),
            GpgError::Failed {
                code,
                stdout,
                stderr,
            } => {
                if let Some(text) = encryption::decrypt_failure_text(stderr) {
                    return text.to_string();
                }
                let ret = code.map_or_else(|| "None".to_string(), |c| c.to_string());
                format!(
                    "{{'ret': {ret}, 'out': {}, 'err': {}}}",
                    str_repr(stdout),
                    str_repr(stderr)
                )
            }
        }
    }

    /// True for a wrong or missing passphrase (Barman's `ValueError`s).
    pub fn is_passphrase(&self) -> bool {
        matches!(self, GpgError::Failed { stderr, .. } if encryption::decrypt_failure_text(stderr).is_some())
    }
}

/// Barman's common options: answer yes, never prompt, take passphrases from us.
const COMMON: [&str; 4] = ["--yes", "--batch", "--pinentry-mode", "loopback"];

fn gpg(path_prefix: Option<&str>) -> Command {
    let mut cmd = crate::adapters::spawn::child_command("gpg");
    cmd.env("PATH", crate::adapters::pg_tools::search_path(path_prefix));
    cmd
}

fn run(mut cmd: Command, stdin: Option<&[u8]>) -> Result<(), GpgError> {
    crate::adapters::spawn::log_command(&cmd);
    cmd.stdin(if stdin.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    })
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    let mut child = cmd.spawn().map_err(GpgError::Spawn)?;
    if let (Some(bytes), Some(mut pipe)) = (stdin, child.stdin.take()) {
        // gpg may exit before reading (no secret key): a broken pipe is not the failure.
        let _ = pipe.write_all(bytes);
    }
    let out = child.wait_with_output().map_err(GpgError::Spawn)?;
    crate::adapters::spawn::log_output(&out);
    if out.status.success() {
        return Ok(());
    }
    Err(GpgError::Failed {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    })
}

/// `gpg --yes --batch --pinentry-mode loopback --compress-level 0 --recipient KEY
/// --encrypt --output OUTPUT INPUT`: encrypt `input` for `key_id` into `output`
/// (`--compress-level 0`: Barman compresses before, gpg must not spend time on it).
///
/// # Errors
/// gpg missing or failing (unknown key, unusable key, full disk).
pub fn encrypt(
    key_id: &str,
    input: &Path,
    output: &Path,
    path_prefix: Option<&str>,
) -> Result<(), GpgError> {
    let mut cmd = gpg(path_prefix);
    cmd.args(COMMON)
        .args(["--compress-level", "0", "--recipient", key_id, "--encrypt"])
        .arg("--output")
        .arg(output)
        .arg(input);
    run(cmd, None)
}

/// `gpg --yes --batch --pinentry-mode loopback --passphrase-fd 0 --decrypt --output
/// OUTPUT INPUT`, the passphrase on standard input (never in the argv or the log).
///
/// # Errors
/// gpg missing or failing; [`GpgError::is_passphrase`] tells a wrong passphrase.
pub fn decrypt(
    input: &Path,
    output: &Path,
    passphrase: &Passphrase,
    path_prefix: Option<&str>,
) -> Result<(), GpgError> {
    let mut cmd = gpg(path_prefix);
    cmd.args(COMMON)
        .args(["--passphrase-fd", "0", "--decrypt"])
        .arg("--output")
        .arg(output)
        .arg(input);
    run(cmd, Some(&passphrase.0))
}

/// A passphrase, wiped from memory when dropped (Barman keeps it in a `bytearray` for the
/// same reason).
pub struct Passphrase(Vec<u8>);

impl Passphrase {
    /// Wrap bytes.
    pub fn new(bytes: Vec<u8>) -> Passphrase {
        Passphrase(bytes)
    }
}

impl std::fmt::Debug for Passphrase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Passphrase(..)")
    }
}

impl Drop for Passphrase {
    fn drop(&mut self) {
        for byte in self.0.iter_mut() {
            // SAFETY: a valid, aligned, exclusive reference; volatile so the wipe is not
            // optimised away as a dead store.
            unsafe { std::ptr::write_volatile(byte, 0) };
        }
    }
}

/// Why `encryption_passphrase_command` gave no passphrase.
#[derive(Debug, thiserror::Error)]
pub enum PassphraseError {
    /// The shell could not be started.
    #[error("{0}")]
    Spawn(std::io::Error),
    /// The command exited non-zero (Barman's `EncryptionCommandException`).
    #[error("Command failed with code {0}")]
    Failed(i32),
    /// It printed nothing but blanks (Barman's `ValueError`).
    #[error("The command returned an empty passphrase")]
    Empty,
}

/// Run `command` through the shell, as Barman does (`shell=True`), and take its standard
/// output, stripped of surrounding white space, as the passphrase. Its output is never
/// logged.
///
/// # Errors
/// The command fails or prints an empty passphrase.
pub fn passphrase_from_command(command: &str) -> Result<Passphrase, PassphraseError> {
    tracing::debug!(target: "barman.encryption", "Retrieving passphrase using encryption_passphrase_command");
    // Not through spawn::output: the passphrase on its stdout must never be logged.
    let out = crate::adapters::spawn::child_command("/bin/sh")
        .arg("-c")
        .arg(command)
        .stdin(Stdio::null())
        .output()
        .map_err(PassphraseError::Spawn)?;
    let code = out.status.code().unwrap_or(-1);
    let raw = Passphrase(out.stdout);
    if !out.status.success() {
        return Err(PassphraseError::Failed(code));
    }
    tracing::debug!(target: "barman.encryption", "encryption_passphrase_command returned code {code}");
    let trimmed = raw.0.trim_ascii();
    if trimmed.is_empty() {
        return Err(PassphraseError::Empty);
    }
    Ok(Passphrase(trimmed.to_vec()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passphrase_from_command_strips_and_rejects_empty_or_failing_commands() {
        let p = passphrase_from_command("printf '  s3cret \\n'").unwrap();
        assert_eq!(p.0, b"s3cret");
        assert!(matches!(
            passphrase_from_command("printf '\\n'"),
            Err(PassphraseError::Empty)
        ));
        let failed = passphrase_from_command("exit 4").unwrap_err();
        assert_eq!(failed.to_string(), "Command failed with code 4");
    }

    #[test]
    fn barman_text_is_the_command_failed_dict_or_the_passphrase_message() {
        let failed = GpgError::Failed {
            code: Some(2),
            stdout: String::new(),
            stderr: "gpg: decryption failed: No secret key\n".into(),
        };
        assert_eq!(
            failed.barman_text(),
            "{'ret': 2, 'out': '', 'err': 'gpg: decryption failed: No secret key\\n'}"
        );
        assert!(!failed.is_passphrase());
        let bad = GpgError::Failed {
            code: Some(2),
            stdout: String::new(),
            stderr: "gpg: public key decryption failed: Bad passphrase\n".into(),
        };
        assert_eq!(
            bad.barman_text(),
            "Error: Bad passphrase provided for decryption."
        );
        assert!(bad.is_passphrase());
    }
}
