//! The `encryption` check (Barman's `Server.check_encryption`): the settings GPG needs,
//! then a real encryption of a small temporary file with the configured key, so a missing
//! key or gpg shows in `check` (and stops `backup`) before any WAL or backup needs it.

use super::catalogue::{Probe, Recorder};
use crate::adapters::gpg;
use crate::commands::encryption;
use std::io::Write;

/// What Barman writes into the test file.
const MESSAGE: &[u8] = b"I am a secret message. Encrypt me!";

/// `encryption`: OK (encryption test succeeded) or FAILED with the reason.
pub(super) fn check_encryption(p: &mut Probe, rec: &mut Recorder) {
    if !encryption::configured(p.server) {
        return;
    }
    rec.init("encryption");
    let key_id = match encryption::validate(p.server) {
        Ok(key_id) => key_id,
        Err(reason) => return rec.result(false, Some(reason)),
    };
    match encrypt_test_file(&key_id, p.server.path_prefix()) {
        Ok(()) => rec.result(true, Some("encryption test succeeded".into())),
        Err(e) => {
            tracing::debug!(target: "barman.server", "encryption test failed: {e}");
            rec.result(
                false,
                Some("encryption test failed. Check the log file for more details".into()),
            );
        }
    }
}

/// Encrypt a `barman-encrypt-test-*` file of the temporary folder next to itself, then
/// remove both.
fn encrypt_test_file(key_id: &str, path_prefix: Option<&str>) -> Result<(), String> {
    let mut file = tempfile::Builder::new()
        .prefix("barman-encrypt-test-")
        .tempfile()
        .map_err(|e| e.to_string())?;
    file.write_all(MESSAGE)
        .and_then(|()| file.flush())
        .map_err(|e| e.to_string())?;
    let mut encrypted = file.path().as_os_str().to_owned();
    encrypted.push(".gpg");
    let encrypted = std::path::PathBuf::from(encrypted);
    let result = gpg::encrypt(key_id, file.path(), &encrypted, path_prefix);
    let _ = std::fs::remove_file(&encrypted);
    result.map_err(|e| e.barman_text())
}
