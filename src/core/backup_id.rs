//! Backup ids (`YYYYMMDDTHHMMSS`) and the words users give instead (`latest`, `oldest`,
//! `last-failed`, names), resolved against a catalog as Barman's
//! `get_backup_id_using_shortcut` does.

use crate::core::backup_info::BackupStatus;
use std::fmt;
use std::str::FromStr;

/// A backup id: `YYYYMMDDTHHMMSS`, sorting chronologically. In JSON it is its text, and
/// text of another shape is refused when read.
#[derive(
    Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(try_from = "String", into = "String")]
pub struct BackupId(String);

impl TryFrom<String> for BackupId {
    type Error = BackupIdError;
    fn try_from(text: String) -> Result<Self, Self::Error> {
        text.parse()
    }
}

/// Not a backup id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid backup id '{0}': expected YYYYMMDDTHHMMSS")]
pub struct BackupIdError(pub String);

impl FromStr for BackupId {
    type Err = BackupIdError;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let b = text.as_bytes();
        let ok = b.len() == 15
            && b[8] == b'T'
            && b.iter()
                .enumerate()
                .all(|(i, c)| i == 8 || c.is_ascii_digit());
        if ok {
            Ok(BackupId(text.to_string()))
        } else {
            Err(BackupIdError(text.to_string()))
        }
    }
}

impl fmt::Display for BackupId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl BackupId {
    /// The id text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Maps keyed by id are looked up with the text a file name or a user gave: the order and
/// equality of a `BackupId` are those of its text, as `Borrow` requires.
impl std::borrow::Borrow<str> for BackupId {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl From<BackupId> for String {
    fn from(id: BackupId) -> String {
        id.0
    }
}

impl AsRef<str> for BackupId {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// A backup's folder is `base/<ID>`: the id joins paths as it is.
impl AsRef<std::path::Path> for BackupId {
    fn as_ref(&self) -> &std::path::Path {
        std::path::Path::new(&self.0)
    }
}

impl PartialEq<str> for BackupId {
    fn eq(&self, other: &str) -> bool {
        self.0 == other
    }
}

impl PartialEq<&str> for BackupId {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}

/// Words that cannot be used as a backup name.
pub const RESERVED_WORDS: [&str; 8] = [
    "latest",
    "last",
    "oldest",
    "first",
    "last-failed",
    "latest-full",
    "last-full",
    "auto",
];

/// What the catalog tells about one backup, for resolving user input.
#[derive(Debug, Clone)]
pub struct BackupSummary {
    /// The id.
    pub id: BackupId,
    /// Its status.
    pub status: BackupStatus,
    /// Barman's backup type (`full`, `incremental`, `rsync`, `snapshot`).
    pub backup_type: String,
    /// `backup_name`, when set.
    pub name: Option<String>,
}

/// Why user input does not name a backup.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResolveError {
    /// Nothing matches (Barman: `Unknown backup '<arg>' for server '<srv>'`).
    #[error("Unknown backup '{input}' for server '{server}'")]
    Unknown {
        /// What the user typed.
        input: String,
        /// The server.
        server: String,
    },
    /// A name matches several backups.
    #[error("Multiple backups found matching name '{name}' (try using backup ID instead): {ids}")]
    Ambiguous {
        /// The name.
        name: String,
        /// Space-separated ids.
        ids: String,
    },
}

/// Resolve `input` against `backups` (sorted or not) of `server`.
///
/// Keeps Barman's quirk: `last-failed` is tested as a substring test on a plain string
/// (`shortcut in ("last-failed")`), so any substring of it (`fail`, `a`, `-`) means the
/// last failed backup.
pub fn resolve(
    input: &str,
    server: &str,
    backups: &[BackupSummary],
) -> Result<BackupId, ResolveError> {
    let unknown = || ResolveError::Unknown {
        input: input.to_string(),
        server: server.to_string(),
    };
    let mut sorted: Vec<&BackupSummary> = backups.iter().collect();
    sorted.sort_by(|a, b| a.id.cmp(&b.id));
    let restorable = || sorted.iter().filter(|b| b.status.copy_done());
    let found = match input {
        "latest" | "last" => restorable().next_back().map(|b| b.id.clone()),
        "oldest" | "first" => restorable().next().map(|b| b.id.clone()),
        "latest-full" | "last-full" => restorable()
            .rfind(|b| b.backup_type != "incremental" && b.backup_type != "snapshot")
            .map(|b| b.id.clone()),
        _ if !input.is_empty() && "last-failed".contains(input) => sorted
            .iter()
            .rfind(|b| b.status == BackupStatus::Failed)
            .map(|b| b.id.clone()),
        _ => {
            if let Ok(id) = input.parse::<BackupId>() {
                return Ok(id);
            }
            let named: Vec<&&BackupSummary> = sorted
                .iter()
                .filter(|b| b.name.as_deref() == Some(input))
                .collect();
            match named.as_slice() {
                [] => None,
                [one] => Some(one.id.clone()),
                many => {
                    return Err(ResolveError::Ambiguous {
                        name: input.to_string(),
                        ids: many
                            .iter()
                            .map(|b| b.id.to_string())
                            .collect::<Vec<_>>()
                            .join(" "),
                    })
                }
            }
        }
    };
    found.ok_or_else(unknown)
}

/// Barman's checks of `backup --name`.
pub fn validate_backup_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("Backup name cannot be empty".into());
    }
    if name.parse::<BackupId>().is_ok() {
        return Err(format!("Backup name '{name}' is not allowed: backup ID"));
    }
    if RESERVED_WORDS.contains(&name) {
        return Err(format!(
            "Backup name '{name}' is not allowed: reserved word"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary(id: &str, status: BackupStatus, name: Option<&str>) -> BackupSummary {
        BackupSummary {
            id: id.parse().unwrap(),
            status,
            backup_type: "rsync".into(),
            name: name.map(str::to_string),
        }
    }

    fn catalog() -> Vec<BackupSummary> {
        vec![
            summary("20261124T010519", BackupStatus::Done, Some("first rsync")),
            summary("20261123T235959", BackupStatus::Failed, None),
            summary("20261124T010525", BackupStatus::WaitingForWals, Some("dup")),
            summary("20261124T020000", BackupStatus::Started, Some("dup")),
        ]
    }

    #[test]
    fn backup_id_parses_only_the_timestamp_shape() {
        assert!("20261124T010519".parse::<BackupId>().is_ok());
        for bad in [
            "2026112T010519",
            "20261124010519",
            "20261124T01051x",
            "latest",
        ] {
            assert!(bad.parse::<BackupId>().is_err(), "{bad}");
        }
    }

    #[test]
    fn backup_id_words_resolve_like_barman() {
        let c = catalog();
        assert_eq!(
            resolve("latest", "pgr", &c).unwrap().as_str(),
            "20261124T010525"
        );
        assert_eq!(
            resolve("last", "pgr", &c).unwrap().as_str(),
            "20261124T010525"
        );
        assert_eq!(
            resolve("oldest", "pgr", &c).unwrap().as_str(),
            "20261124T010519"
        );
        assert_eq!(
            resolve("first", "pgr", &c).unwrap().as_str(),
            "20261124T010519"
        );
        assert_eq!(
            resolve("last-failed", "pgr", &c).unwrap().as_str(),
            "20261123T235959"
        );
        assert_eq!(
            resolve("latest-full", "pgr", &c).unwrap().as_str(),
            "20261124T010525"
        );
        assert_eq!(
            resolve("first rsync", "pgr", &c).unwrap().as_str(),
            "20261124T010519"
        );
        assert_eq!(
            resolve("20990101T000000", "pgr", &c).unwrap().as_str(),
            "20990101T000000"
        );
    }

    #[test]
    fn backup_id_last_failed_substring_quirk() {
        let c = catalog();
        for quirk in ["fail", "a", "-", "st-f"] {
            assert_eq!(
                resolve(quirk, "pgr", &c).unwrap().as_str(),
                "20261123T235959",
                "{quirk}"
            );
        }
    }

    #[test]
    fn backup_id_errors_use_barmans_texts() {
        let c = catalog();
        assert_eq!(
            resolve("nope", "pgr", &c).unwrap_err().to_string(),
            "Unknown backup 'nope' for server 'pgr'"
        );
        assert_eq!(
            resolve("dup", "pgr", &c).unwrap_err().to_string(),
            "Multiple backups found matching name 'dup' (try using backup ID instead): 20261124T010525 20261124T020000"
        );
        assert!(resolve("latest", "pgr", &[]).is_err());
    }

    #[test]
    fn backup_name_validation() {
        assert_eq!(
            validate_backup_name(""),
            Err("Backup name cannot be empty".into())
        );
        assert_eq!(
            validate_backup_name("20261124T010519"),
            Err("Backup name '20261124T010519' is not allowed: backup ID".into())
        );
        assert_eq!(
            validate_backup_name("latest"),
            Err("Backup name 'latest' is not allowed: reserved word".into())
        );
        assert!(validate_backup_name("nightly").is_ok());
    }
}
