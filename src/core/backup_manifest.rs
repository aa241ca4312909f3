//! The `backup_manifest` Barman writes for rsync backups (`autogenerate_manifest`,
//! `--manifest`, `generate-manifest`): PostgreSQL's manifest format version 1 with one
//! JSON object per file (sorted keys, Python's `json.dumps` separators), `Last-Modified` in
//! UTC without PostgreSQL's ` GMT` suffix, no `WAL-Ranges`, and a final SHA-256 of
//! everything before the checksum line. `pg_verifybackup` accepts it.

/// One file of the backup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManifestFile {
    /// Path relative to the data directory.
    pub path: String,
    /// Size in bytes.
    pub size: u64,
    /// Modification time, UTC, `YYYY-MM-DD HH:MM:SS`.
    pub last_modified: String,
    /// SHA-256 of the content, lower-case hex.
    pub sha256: String,
}

/// The manifest text up to (not including) the `Manifest-Checksum` line.
///
/// Barman builds it by appending `<entry>,\n` per file and cutting the last two characters,
/// so a data directory without files loses the `[\n` instead (`"Files": ],`): kept, since
/// the text is what the checksum covers.
pub fn body(files: &[ManifestFile]) -> String {
    let mut text = String::from("{\"PostgreSQL-Backup-Manifest-Version\": 1,\n\"Files\": [\n");
    if files.is_empty() {
        text.truncate(text.len() - 2);
    }
    let entries: Vec<String> = files
        .iter()
        .map(|f| {
            format!(
                "{{\"Checksum\": {}, \"Checksum-Algorithm\": \"SHA256\", \"Last-Modified\": {}, \"Path\": {}, \"Size\": {}}}",
                json_str(&f.sha256),
                json_str(&f.last_modified),
                json_str(&f.path),
                f.size
            )
        })
        .collect();
    text.push_str(&entries.join(",\n"));
    text.push_str("],\n");
    text
}

/// A JSON string as Python's `json.dumps` writes it (`ensure_ascii`: non-ASCII as `\\uXXXX`).
fn json_str(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 || (c as u32) > 0x7e => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    out.push_str(&format!("\\u{unit:04x}"));
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The whole manifest, given the SHA-256 (hex) of [`body`].
pub fn with_checksum(body: &str, body_sha256: &str) -> String {
    format!("{body}\"Manifest-Checksum\": \"{body_sha256}\"}}\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manifest_lines_match_barmans_format() {
        let files = [
            ManifestFile {
                path: "PG_VERSION".into(),
                size: 3,
                last_modified: "2026-11-24 01:05:19".into(),
                sha256: "ab".into(),
            },
            ManifestFile {
                path: "global/pg_control".into(),
                size: 8192,
                last_modified: "2026-11-24 01:05:20".into(),
                sha256: "cd".into(),
            },
        ];
        let b = body(&files);
        assert_eq!(
            b,
            "{\"PostgreSQL-Backup-Manifest-Version\": 1,\n\"Files\": [\n\
             {\"Checksum\": \"ab\", \"Checksum-Algorithm\": \"SHA256\", \"Last-Modified\": \"2026-11-24 01:05:19\", \"Path\": \"PG_VERSION\", \"Size\": 3},\n\
             {\"Checksum\": \"cd\", \"Checksum-Algorithm\": \"SHA256\", \"Last-Modified\": \"2026-11-24 01:05:20\", \"Path\": \"global/pg_control\", \"Size\": 8192}],\n"
        );
        assert!(with_checksum(&b, "ff").ends_with("\"Manifest-Checksum\": \"ff\"}\n"));
        assert_eq!(
            body(&[]),
            "{\"PostgreSQL-Backup-Manifest-Version\": 1,\n\"Files\": ],\n"
        );
        assert_eq!(json_str("a\"é\u{1F600}"), "\"a\\\"\\u00e9\\ud83d\\ude00\"");
    }
}
