//! A server's GPG encryption settings, read once for every command that encrypts or
//! decrypts (archive-wal, backup, get-wal, restore, check).

use crate::core::config::ServerConfig;
use crate::core::encryption;

/// True when the server sets `encryption = gpg`.
pub fn configured(server: &ServerConfig) -> bool {
    server.encryption() == Some(encryption::GPG)
}

/// Barman's `EncryptionManager.validate_config` for `encryption = gpg`: the key id when
/// everything encryption needs is set.
///
/// # Errors
/// Barman's message for the first missing setting.
pub fn validate(server: &ServerConfig) -> Result<String, String> {
    let key_id = server.encryption_key_id();
    encryption::validate_gpg(
        key_id,
        server.backup_method().unwrap_or("rsync"),
        server.backup_compression(),
        server.backup_compression_format(),
    )?;
    Ok(key_id.unwrap_or_default().to_string())
}
