//! Barman's GPG encryption rules (`barman/encryption.py`), without I/O: recognising an
//! encrypted file from its first bytes, the configuration Barman requires before it
//! encrypts a backup, which backup files it encrypts, and how it words gpg's failures.
//! Running gpg is `adapters::gpg`'s job.

/// The only encryption Barman 3.20 knows: the `encryption` option's value and the name
/// recorded in xlog.db's fifth column and in backup.info's `encryption` field.
pub const GPG: &str = "gpg";

/// True when `head` (the first bytes of a file) starts an OpenPGP message encrypted to a
/// public key or a passphrase: a Public-Key (tag 1) or Symmetric-Key (tag 3) Encrypted
/// Session Key packet, in the old or new packet format (RFC 4880 §4.2, §5.1, §5.3).
///
/// Barman asks `file --brief` and looks for "PGP" and "ENCRYPTED" in its answer, which
/// libmagic only gives for RSA keys (an ECC recipient reads as `data`). The packet header
/// names every key type, and cannot be mistaken for the formats Barman stores: WAL pages
/// start with a little-endian `0xD1xx` magic (first byte ≤ 0x20), history and backup label
/// files with ASCII, and the compressors with `1f 8b`, `BZh`, `fd 37`, `28 b5`, `04 22`, `ff 06`.
pub fn is_gpg(head: &[u8]) -> bool {
    let Some(&first) = head.first() else {
        return false;
    };
    if first & 0x80 == 0 {
        return false;
    }
    let tag = if first & 0x40 != 0 {
        first & 0x3f
    } else {
        (first >> 2) & 0x0f
    };
    // The packet body starts with a version byte: 3 for PKESK, 4 or 5 for SKESK.
    let version = body_start(head).and_then(|i| head.get(i).copied());
    matches!(
        (tag, version),
        (1, Some(3)) | (3, Some(4 | 5)) | (1 | 3, None)
    )
}

/// Where the packet body starts after the tag byte and length octets.
fn body_start(head: &[u8]) -> Option<usize> {
    let first = *head.first()?;
    if first & 0x40 != 0 {
        // New format: one, two or five length octets.
        let len0 = *head.get(1)?;
        Some(match len0 {
            0..=191 => 2,
            192..=223 => 3,
            255 => 6,
            _ => 2,
        })
    } else {
        match first & 0x03 {
            0 => Some(2),
            1 => Some(3),
            2 => Some(5),
            _ => Some(1),
        }
    }
}

/// Barman's `EncryptionManager._validate_gpg`: what GPG encryption needs, in its order
/// and with its messages (the `check` hint, the reason a backup is refused).
///
/// # Errors
/// The first requirement not met, worded as Barman words it.
pub fn validate_gpg(
    key_id: Option<&str>,
    backup_method: &str,
    backup_compression: Option<&str>,
    backup_compression_format: Option<&str>,
) -> Result<(), String> {
    if key_id.is_none_or(str::is_empty) {
        Err("Encryption is set as gpg, but encryption_key_id is unset".into())
    } else if backup_method != "postgres" {
        Err("Encryption is set as gpg, but backup_method != postgres".into())
    } else if backup_compression.is_none() {
        Err("Encryption is set as gpg, but backup_compression is unset".into())
    } else if backup_compression_format != Some("tar") {
        Err("Encryption is set as gpg, but backup_compression_format != tar".into())
    } else {
        Ok(())
    }
}

/// Barman's `_encrypt_tar_backup` filter (`\.tar(\.[^.]+)?$`): the files of a backup's
/// data folder it encrypts (`base.tar`, `16384.tar.gz`, `pg_wal.tar.zst`), not the
/// manifest.
pub fn is_encryptable_tar(file_name: &str) -> bool {
    if file_name.ends_with(".tar") {
        return true;
    }
    match file_name.rsplit_once('.') {
        Some((stem, ext)) => !ext.is_empty() && stem.ends_with(".tar"),
        None => false,
    }
}

/// The file a backup's encrypted file decrypts to: `.gpg` removed (any case), as
/// `GPGEncryption.decrypt` names its output.
pub fn decrypted_name(file_name: &str) -> &str {
    let n = file_name.len();
    if n > 4 && file_name.is_char_boundary(n - 4) && file_name[n - 4..].eq_ignore_ascii_case(".gpg")
    {
        &file_name[..n - 4]
    } else {
        file_name
    }
}

/// Barman's `GPGEncryption.decrypt` turns these gpg failures into its own messages
/// (matched on gpg's stderr); None for any other failure.
pub fn decrypt_failure_text(stderr: &str) -> Option<&'static str> {
    if stderr.contains("No passphrase given") {
        Some("Error: No passphrase provided for decryption.")
    } else if stderr.contains("Bad passphrase") {
        Some("Error: Bad passphrase provided for decryption.")
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn is_gpg_recognises_session_key_packets_of_every_key_type() {
        // gpg 2.2 output for an RSA recipient (old format, two length octets).
        assert!(is_gpg(&[0x85, 0x01, 0x0c, 0x03, 0xae]));
        // ... for a cv25519 recipient (old format, one length octet).
        assert!(is_gpg(&[0x84, 0x5e, 0x03, 0xff]));
        // New format PKESK and a symmetric (passphrase) session key.
        assert!(is_gpg(&[0xc1, 0x5e, 0x03]));
        assert!(is_gpg(&[0x8c, 0x0d, 0x04, 0x09]));
    }

    #[test]
    fn is_gpg_rejects_what_barman_stores_unencrypted() {
        let wal_page = [0x10, 0xd1, 0x05, 0x00];
        assert!(!is_gpg(&wal_page));
        assert!(!is_gpg(&[0x1f, 0x8b, 0x08]));
        assert!(!is_gpg(b"BZh91AY"));
        assert!(!is_gpg(&[0xfd, b'7', b'z', b'X']));
        assert!(!is_gpg(&[0x28, 0xb5, 0x2f, 0xfd]));
        assert!(!is_gpg(&[0x04, 0x22, 0x4d, 0x18]));
        assert!(!is_gpg(&[0xff, 0x06, 0x00, 0x00]));
        assert!(!is_gpg(b"1\t0/3000000\tno recovery target specified\n"));
        assert!(!is_gpg(b""));
        // A signature packet (tag 2) is OpenPGP but not encrypted.
        assert!(!is_gpg(&[0x89, 0x01, 0x33, 0x04]));
        // PKESK tag with a wrong version byte.
        assert!(!is_gpg(&[0x85, 0x01, 0x0c, 0x07]));
    }

    #[test]
    fn validate_gpg_reports_the_first_missing_requirement_as_barman() {
        let ok = validate_gpg(Some("k"), "postgres", Some("gzip"), Some("tar"));
        assert_eq!(ok, Ok(()));
        for (args, want) in [
            (
                (None, "postgres", Some("gzip"), Some("tar")),
                "Encryption is set as gpg, but encryption_key_id is unset",
            ),
            (
                (Some("k"), "rsync", None, None),
                "Encryption is set as gpg, but backup_method != postgres",
            ),
            (
                (Some("k"), "postgres", None, Some("tar")),
                "Encryption is set as gpg, but backup_compression is unset",
            ),
            (
                (Some("k"), "postgres", Some("gzip"), None),
                "Encryption is set as gpg, but backup_compression_format != tar",
            ),
            (
                (Some("k"), "postgres", Some("gzip"), Some("plain")),
                "Encryption is set as gpg, but backup_compression_format != tar",
            ),
        ] {
            assert_eq!(
                validate_gpg(args.0, args.1, args.2, args.3),
                Err(want.into())
            );
        }
    }

    #[test]
    fn is_encryptable_tar_follows_barmans_pattern() {
        for yes in ["base.tar", "base.tar.gz", "16384.tar.zst", "pg_wal.tar.lz4"] {
            assert!(is_encryptable_tar(yes), "{yes}");
        }
        for no in [
            "backup_manifest",
            "base.tar.gz.gpg",
            "base.tar.",
            "tar",
            "x.tgz",
        ] {
            assert!(!is_encryptable_tar(no), "{no}");
        }
    }

    #[test]
    fn decrypted_name_drops_the_gpg_extension_in_any_case() {
        assert_eq!(decrypted_name("base.tar.gz.gpg"), "base.tar.gz");
        assert_eq!(decrypted_name("base.tar.GPG"), "base.tar");
        assert_eq!(
            decrypted_name("000000010000000000000001"),
            "000000010000000000000001"
        );
        assert_eq!(decrypted_name(".gpg"), ".gpg");
    }

    #[test]
    fn decrypt_failure_text_maps_gpgs_passphrase_errors() {
        assert_eq!(
            decrypt_failure_text("gpg: public key decryption failed: Bad passphrase\n"),
            Some("Error: Bad passphrase provided for decryption.")
        );
        assert_eq!(
            decrypt_failure_text("gpg: public key decryption failed: No passphrase given\n"),
            Some("Error: No passphrase provided for decryption.")
        );
        assert_eq!(
            decrypt_failure_text("gpg: decryption failed: No secret key"),
            None
        );
    }
}
