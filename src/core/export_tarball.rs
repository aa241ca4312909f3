//! The `export-backup` tarball, as Barman 3.19+ defines it (`Server.export_backup`,
//! `BackupManager._extract_tarball`): its file name (server, backup id, UTC timestamp, the
//! first 8 hex digits of the file's sha256, the compression's extension), the compression
//! choices and levels, and which members an import accepts. Pure: the adapters read and
//! write the bytes, this module only decides.

use crate::core::backup_id::{BackupId, BackupIdError};
use crate::core::wal_name::WalFileName;

/// `--compression` of `export-backup`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TarballCompression {
    /// A plain `.tar`.
    None,
    /// `.tar.gz`.
    Gzip,
    /// `.tar.bz2`.
    Bzip2,
    /// `.tar.xz`.
    Xz,
}

impl TarballCompression {
    /// The file name's extension (Barman's `file_extensions`).
    pub fn extension(self) -> &'static str {
        match self {
            TarballCompression::None => ".tar",
            TarballCompression::Gzip => ".tar.gz",
            TarballCompression::Bzip2 => ".tar.bz2",
            TarballCompression::Xz => ".tar.xz",
        }
    }

    /// The name on the command line (`gzip`, `bzip2`, `xz`).
    pub fn name(self) -> &'static str {
        match self {
            TarballCompression::None => "None",
            TarballCompression::Gzip => "gzip",
            TarballCompression::Bzip2 => "bzip2",
            TarballCompression::Xz => "xz",
        }
    }

    /// The levels `--compression-level` accepts: 1-9, 0-9 for xz.
    pub fn valid_levels(self) -> std::ops::RangeInclusive<u32> {
        match self {
            TarballCompression::Xz => 0..=9,
            _ => 1..=9,
        }
    }

    /// The level used without `--compression-level`: Python's `tarfile` streams default to
    /// 9 for gzip and bzip2 and to preset 6 for xz, so the same tarball size comes out.
    pub fn default_level(self) -> u32 {
        match self {
            TarballCompression::Xz => 6,
            _ => 9,
        }
    }
}

/// `Invalid compression level …` when `level` is out of range for `compression`.
pub fn check_level(compression: TarballCompression, level: i64) -> Result<u32, String> {
    let valid = compression.valid_levels();
    match u32::try_from(level) {
        Ok(n) if valid.contains(&n) => Ok(n),
        _ => Err(format!(
            "Invalid compression level '{level}' for algorithm '{}'. Valid levels are: {}",
            compression.name(),
            valid.map(|n| n.to_string()).collect::<Vec<_>>().join(", ")
        )),
    }
}

/// `backup-export-<srv>-<ID>-<timestamp>.tmp`: the name the tarball is written under.
pub fn temp_name(server: &str, backup_id: &str, timestamp: &str) -> String {
    format!("backup-export-{server}-{backup_id}-{timestamp}.tmp")
}

/// `backup-export-<srv>-<ID>-<timestamp>-<checksum8><ext>`: the final name.
pub fn final_name(
    server: &str,
    backup_id: &str,
    timestamp: &str,
    checksum: &str,
    compression: TarballCompression,
) -> String {
    format!(
        "backup-export-{server}-{backup_id}-{timestamp}-{}{}",
        checksum.get(..8).unwrap_or(checksum),
        compression.extension()
    )
}

/// What a valid tarball name says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportName {
    /// The backup id it holds.
    pub backup_id: BackupId,
    /// When it was exported (`YYYYMMDDTHHMMSS`, UTC).
    pub timestamp: String,
    /// The first 8 hex digits of the file's sha256.
    pub checksum: String,
}

/// True for `%Y%m%dT%H%M%S` text that is a real date and time (Python's `strptime`).
fn is_timestamp(text: &str) -> bool {
    text.len() == 15
        && chrono::NaiveDateTime::parse_from_str(text, "%Y%m%dT%H%M%S").is_ok()
        && text
            .bytes()
            .enumerate()
            .all(|(i, b)| i == 8 || b.is_ascii_digit())
}

/// Barman's `_validate_import_tarball_name`: the file name of a tarball for `server`, or
/// the error line it prints.
pub fn parse_name(file_name: &str, server: &str) -> Result<ExportName, String> {
    let base = format!(
        "Tarball filename does not match the expected export format \
         'backup-export-SERVER_NAME-BACKUP_ID-TIMESTAMP-CHECKSUM.tar': '{file_name}'"
    );
    // Longest first, so `.tar` does not pre-match `.tar.gz` and friends.
    let Some(stem) = [".tar.gz", ".tar.bz2", ".tar.xz", ".tar"]
        .iter()
        .find_map(|ext| file_name.strip_suffix(ext))
    else {
        return Err(format!(
            "{base}. Expected a .tar, .tar.gz, .tar.bz2, or .tar.xz file extension."
        ));
    };
    let prefix = format!("backup-export-{server}-");
    let Some(rest) = stem.strip_prefix(&prefix) else {
        return Err(format!(
            "{base}. Expected filename to start with '{prefix}'."
        ));
    };
    let parts: Vec<&str> = rest.split('-').collect();
    let [backup_id, timestamp, checksum] = parts[..] else {
        return Err(format!(
            "{base}. Expected filename to contain the backup ID, timestamp, and checksum \
             after the server name."
        ));
    };
    for (label, value) in [("BACKUP_ID", backup_id), ("TIMESTAMP", timestamp)] {
        if !is_timestamp(value) {
            return Err(format!(
                "{base}. Expected {label} to be in the format 'YYYYMMDDTHHMMSS', got '{value}'."
            ));
        }
    }
    Ok(ExportName {
        backup_id: backup_id
            .parse()
            .map_err(|e: BackupIdError| e.to_string())?,
        timestamp: timestamp.into(),
        checksum: checksum.into(),
    })
}

/// `Tarball checksum mismatch …` unless the name's checksum starts the file's sha256.
pub fn check_checksum(expected: &str, actual_hex: &str) -> Result<(), String> {
    let actual = actual_hex.get(..8).unwrap_or(actual_hex);
    if expected == actual {
        Ok(())
    } else {
        Err(format!(
            "Tarball checksum mismatch: filename contains '{expected}' but actual checksum \
             is '{actual}'. The file may have been modified or corrupted."
        ))
    }
}

/// The type of a tar member, as far as an import cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MemberKind {
    /// A regular file.
    File,
    /// A folder.
    Dir,
    /// A symbolic link.
    Symlink,
    /// Anything else (hard link, device, fifo…).
    Other,
}

/// What to do with an accepted member.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MemberPlan {
    /// Write it under the staging folder at this relative path.
    Extract(String),
    /// A `pg_tblspc/<oid>` link: skipped, recreated from `backup.info` afterwards.
    SkipTablespaceLink,
}

/// The root files of an export.
pub const ROOT_FILES: [&str; 4] = ["identity.json", "backup.info", "barman.json", "xlog.db"];

/// Where pg_basebackup's tablespace links sit in the tarball.
const TBLSPC_PREFIX: &str = "backup/data/pg_tblspc/";

/// Classify one member of an export: the path rules of Barman's `_extract_tarball` (no
/// absolute path, no `..`, only files, folders and `pg_tblspc` links), and, stricter than
/// Barman, only the places an export fills: the root files, `backup/…`, and
/// `wals/<hash>/<segment>` with the segment in its own hash folder.
///
/// # Errors
/// The one-line reason the tarball is refused.
pub fn classify(raw: &str, kind: MemberKind) -> Result<MemberPlan, String> {
    let path = raw.strip_suffix('/').unwrap_or(raw);
    let parts: Vec<&str> = path.split('/').collect();
    if raw.starts_with('/')
        || parts
            .iter()
            .any(|p| p.is_empty() || *p == "." || *p == "..")
    {
        return Err(format!("Tarball contains unsafe path: '{raw}'"));
    }
    let unsafe_type = || Err(format!("Tarball contains unsafe member type: '{raw}'"));
    match kind {
        MemberKind::Other => return unsafe_type(),
        MemberKind::Symlink => {
            return match path.strip_prefix(TBLSPC_PREFIX) {
                Some(oid) if !oid.contains('/') => Ok(MemberPlan::SkipTablespaceLink),
                _ => unsafe_type(),
            };
        }
        MemberKind::File | MemberKind::Dir => {}
    }
    let accepted = match (parts.as_slice(), kind) {
        ([name], MemberKind::File) => ROOT_FILES.contains(name),
        (["backup", ..], _) => true,
        (["wals"] | ["wals", _], MemberKind::Dir) => parts.get(1).is_none_or(|h| is_hash_dir(h)),
        (["wals", hash, name], MemberKind::File) => matches!(
            name.parse::<WalFileName>(),
            Ok(WalFileName::Segment(seg)) if seg.hash_dir() == *hash
        ),
        _ => false,
    };
    if accepted {
        Ok(MemberPlan::Extract(path.to_string()))
    } else {
        Err(format!("Tarball contains unexpected member: '{raw}'"))
    }
}

fn is_hash_dir(name: &str) -> bool {
    name.len() == 16 && name.bytes().all(|b| b.is_ascii_hexdigit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn export_names_round_trip_through_the_parser() {
        let name = final_name(
            "pg",
            "20261201T100000",
            "20261205T204501",
            "fa9086bcdeadbeef",
            TarballCompression::Gzip,
        );
        assert_eq!(
            name,
            "backup-export-pg-20261201T100000-20261205T204501-fa9086bc.tar.gz"
        );
        assert_eq!(
            parse_name(&name, "pg").unwrap(),
            ExportName {
                backup_id: "20261201T100000".parse().unwrap(),
                timestamp: "20261205T204501".into(),
                checksum: "fa9086bc".into()
            }
        );
        assert_eq!(
            temp_name("pg", "20261201T100000", "20261205T204501"),
            "backup-export-pg-20261201T100000-20261205T204501.tmp"
        );
    }

    #[test]
    fn export_name_errors_are_barmans() {
        let e = parse_name("x.zip", "pg").unwrap_err();
        assert!(
            e.ends_with("'x.zip'. Expected a .tar, .tar.gz, .tar.bz2, or .tar.xz file extension."),
            "{e}"
        );
        let e = parse_name("backup-export-other-1-2-3.tar", "pg").unwrap_err();
        assert!(
            e.ends_with("Expected filename to start with 'backup-export-pg-'."),
            "{e}"
        );
        let e = parse_name("backup-export-pg-1-2.tar", "pg").unwrap_err();
        assert!(
            e.contains("contain the backup ID, timestamp, and checksum"),
            "{e}"
        );
        let e = parse_name(
            "backup-export-pg-20261301T100000-20261205T204501-aa.tar",
            "pg",
        )
        .unwrap_err();
        assert!(
            e.ends_with(
                "Expected BACKUP_ID to be in the format 'YYYYMMDDTHHMMSS', got '20261301T100000'."
            ),
            "{e}"
        );
        assert_eq!(
            check_checksum("00000000", "fa9086bc1234").unwrap_err(),
            "Tarball checksum mismatch: filename contains '00000000' but actual checksum is 'fa9086bc'. The file may have been modified or corrupted."
        );
        assert!(check_checksum("fa9086bc", "fa9086bc1234").is_ok());
    }

    #[test]
    fn export_levels_match_barmans_ranges() {
        assert_eq!(check_level(TarballCompression::Xz, 0), Ok(0));
        assert_eq!(
            check_level(TarballCompression::Gzip, 0).unwrap_err(),
            "Invalid compression level '0' for algorithm 'gzip'. Valid levels are: 1, 2, 3, 4, 5, 6, 7, 8, 9"
        );
        assert!(check_level(TarballCompression::Bzip2, 10).is_err());
    }

    #[test]
    fn export_members_are_classified() {
        use MemberKind::*;
        let ok = |p: &str, k| classify(p, k).unwrap();
        assert_eq!(
            ok("identity.json", File),
            MemberPlan::Extract("identity.json".into())
        );
        assert_eq!(ok("backup/", Dir), MemberPlan::Extract("backup".into()));
        assert_eq!(
            ok("backup/data/base/1/123", File),
            MemberPlan::Extract("backup/data/base/1/123".into())
        );
        assert_eq!(
            ok("wals/0000000100000000/000000010000000000000003", File),
            MemberPlan::Extract("wals/0000000100000000/000000010000000000000003".into())
        );
        assert_eq!(
            ok("wals/0000000100000000", Dir),
            MemberPlan::Extract("wals/0000000100000000".into())
        );
        assert_eq!(
            ok("backup/data/pg_tblspc/16385", Symlink),
            MemberPlan::SkipTablespaceLink
        );
        for (path, kind, why) in [
            ("../evil", File, "unsafe path"),
            ("/etc/passwd", File, "unsafe path"),
            ("backup/../../x", File, "unsafe path"),
            ("backup/data/x", Symlink, "unsafe member type"),
            ("backup/data/pg_tblspc/1/x", Symlink, "unsafe member type"),
            ("backup/data/x", Other, "unsafe member type"),
            ("README", File, "unexpected member"),
            ("identity.json", Dir, "unexpected member"),
            (
                "wals/0000000100000000/000000010000000000000003.00000028.backup",
                File,
                "unexpected member",
            ),
            (
                "wals/0000000100000001/000000010000000000000003",
                File,
                "unexpected member",
            ),
            ("wals/x", Dir, "unexpected member"),
        ] {
            let err = classify(path, kind).unwrap_err();
            assert!(err.contains(why) && err.contains(path), "{path}: {err}");
        }
    }
}
