//! `barman metrics`: what each server's catalog says, as Prometheus text exposition format
//! (version 0.0.4, the format node_exporter's textfile collector reads). Pure: the facts
//! come in as a [`ServerFacts`] gathered by the command, the text goes out.
//!
//! Every metric is a gauge named `barman_…` with a `server` label; a metric without a value
//! for a server (no backup yet, no WAL archived) is left out for that server rather than
//! written as a made-up zero, so an alert on "absent" tells the truth.

use std::collections::BTreeMap;
use std::fmt::Write;

/// What one server's catalog says, at one instant.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ServerFacts {
    /// Server name (the `server` label).
    pub name: String,
    /// `active` and not disabled.
    pub active: bool,
    /// A passive node (`primary_ssh_command`).
    pub passive: bool,
    /// Backups per status (`DONE`, `FAILED`, …).
    pub backups_by_status: BTreeMap<String, u64>,
    /// The newest DONE (or WAITING_FOR_WALS) backup.
    pub last_backup: Option<BackupFacts>,
    /// End time (Unix seconds) of the oldest DONE backup: the start of the recovery window.
    pub first_backup_end: Option<f64>,
    /// Backups the retention policy marks OBSOLETE (None: no policy enforced).
    pub obsolete_backups: Option<u64>,
    /// `minimum_redundancy` and how many DONE full backups there are.
    pub minimum_redundancy: u64,
    /// DONE backups (full and incremental) counted against `minimum_redundancy`.
    pub done_backups: u64,
    /// The WAL archive, from the xlog db.
    pub wal: WalFacts,
    /// Files in the `errors/` folder (WAL the archiver refused).
    pub wal_errors: u64,
    /// Bytes of every backup's data as recorded in backup.info (`size`).
    pub backups_bytes: u64,
    /// Passive node: Unix time of the last `primary.info` received from the primary.
    pub last_sync: Option<f64>,
}

/// The figures of one backup.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BackupFacts {
    /// `begin_time`, Unix seconds.
    pub begin: f64,
    /// `end_time`, Unix seconds.
    pub end: f64,
    /// `size` in bytes.
    pub size: u64,
}

/// The WAL archive's figures.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct WalFacts {
    /// Files in the xlog db.
    pub files: u64,
    /// Their bytes on disk.
    pub bytes: u64,
    /// Archive time (file mtime Barman records) of the newest entry, Unix seconds.
    pub last_time: Option<f64>,
    /// Entries archived in the hour before `now`.
    pub last_hour: u64,
}

/// One sample's extra label (besides `server`), if any.
type Label = Option<(&'static str, String)>;

/// A metric family: its name, help line, and the samples of one server at a time.
struct Family {
    name: &'static str,
    help: &'static str,
    value: fn(&ServerFacts, f64) -> Vec<(Label, f64)>,
}

fn one(value: Option<f64>) -> Vec<(Label, f64)> {
    value.map(|v| vec![(None, v)]).unwrap_or_default()
}

fn flag(b: bool) -> f64 {
    if b {
        1.0
    } else {
        0.0
    }
}

const FAMILIES: &[Family] = &[
    Family {
        name: "barman_server_active",
        help: "1 when the server is active and not disabled.",
        value: |f, _| one(Some(flag(f.active))),
    },
    Family {
        name: "barman_server_passive",
        help: "1 when the server is a passive node (primary_ssh_command).",
        value: |f, _| one(Some(flag(f.passive))),
    },
    Family {
        name: "barman_backups",
        help: "Backups in the catalog, by status.",
        value: |f, _| {
            f.backups_by_status
                .iter()
                .map(|(status, n)| (Some(("status", status.clone())), *n as f64))
                .collect()
        },
    },
    Family {
        name: "barman_last_backup_end_timestamp_seconds",
        help: "End time of the newest DONE backup, Unix seconds.",
        value: |f, _| one(f.last_backup.as_ref().map(|b| b.end)),
    },
    Family {
        name: "barman_last_backup_age_seconds",
        help: "Seconds since the newest DONE backup ended.",
        value: |f, now| one(f.last_backup.as_ref().map(|b| (now - b.end).max(0.0))),
    },
    Family {
        name: "barman_last_backup_duration_seconds",
        help: "How long the newest DONE backup took, begin to end.",
        value: |f, _| one(f.last_backup.as_ref().map(|b| (b.end - b.begin).max(0.0))),
    },
    Family {
        name: "barman_last_backup_size_bytes",
        help: "Size of the newest DONE backup's data.",
        value: |f, _| one(f.last_backup.as_ref().map(|b| b.size as f64)),
    },
    Family {
        name: "barman_first_backup_end_timestamp_seconds",
        help: "End time of the oldest DONE backup: the recovery window starts there.",
        value: |f, _| one(f.first_backup_end),
    },
    Family {
        name: "barman_backups_obsolete",
        help: "Backups the retention policy marks OBSOLETE (absent: no policy enforced).",
        value: |f, _| one(f.obsolete_backups.map(|n| n as f64)),
    },
    Family {
        name: "barman_minimum_redundancy_satisfied",
        help: "1 when the DONE backups are at least minimum_redundancy.",
        value: |f, _| one(Some(flag(f.done_backups >= f.minimum_redundancy))),
    },
    Family {
        name: "barman_wal_files",
        help: "WAL files in the archive (xlog db entries).",
        value: |f, _| one(Some(f.wal.files as f64)),
    },
    Family {
        name: "barman_wal_last_archived_timestamp_seconds",
        help: "Time of the newest archived WAL file, Unix seconds.",
        value: |f, _| one(f.wal.last_time),
    },
    Family {
        name: "barman_wal_archive_lag_seconds",
        help: "Seconds since the newest WAL file was archived.",
        value: |f, now| one(f.wal.last_time.map(|t| (now - t).max(0.0))),
    },
    Family {
        name: "barman_wal_archived_last_hour",
        help: "WAL files archived in the last hour.",
        value: |f, _| one(Some(f.wal.last_hour as f64)),
    },
    Family {
        name: "barman_wal_errors",
        help: "Files the WAL archiver moved to the errors directory.",
        value: |f, _| one(Some(f.wal_errors as f64)),
    },
    Family {
        name: "barman_disk_usage_bytes",
        help: "Bytes used by the server's backups and WAL archive.",
        value: |f, _| {
            vec![
                (Some(("kind", "backups".into())), f.backups_bytes as f64),
                (Some(("kind", "wals".into())), f.wal.bytes as f64),
            ]
        },
    },
    Family {
        name: "barman_passive_last_sync_age_seconds",
        help: "Passive node: seconds since the primary's state was last received.",
        value: |f, now| one(f.last_sync.map(|t| (now - t).max(0.0))),
    },
];

/// The exposition text for `servers` at Unix time `now`: each family once, with its HELP
/// and TYPE lines, then one sample per server (and label).
pub fn render(servers: &[ServerFacts], now: f64) -> String {
    let mut text = String::new();
    for family in FAMILIES {
        let samples: Vec<String> = servers
            .iter()
            .flat_map(|server| {
                (family.value)(server, now)
                    .into_iter()
                    .map(move |(label, value)| sample(family.name, &server.name, label, value))
            })
            .collect();
        if samples.is_empty() {
            continue;
        }
        let _ = writeln!(text, "# HELP {} {}", family.name, family.help);
        let _ = writeln!(text, "# TYPE {} gauge", family.name);
        for line in samples {
            text.push_str(&line);
        }
    }
    text
}

fn sample(name: &str, server: &str, label: Option<(&str, String)>, value: f64) -> String {
    let mut labels = format!("server=\"{}\"", escape_label(server));
    if let Some((key, text)) = label {
        let _ = write!(labels, ",{key}=\"{}\"", escape_label(&text));
    }
    format!("{name}{{{labels}}} {}\n", number(value))
}

/// Label values escape `\`, `"` and newlines (the exposition format's rules).
fn escape_label(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// Integers without a fraction, the rest with the digits they need.
fn number(value: f64) -> String {
    if value.fract() == 0.0 && value.abs() < 1e15 {
        format!("{}", value as i64)
    } else {
        format!("{value}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts() -> ServerFacts {
        ServerFacts {
            name: "pg".into(),
            active: true,
            backups_by_status: [("DONE".to_string(), 2), ("FAILED".to_string(), 1)].into(),
            last_backup: Some(BackupFacts {
                begin: 1000.0,
                end: 1060.5,
                size: 4096,
            }),
            first_backup_end: Some(500.0),
            obsolete_backups: Some(0),
            minimum_redundancy: 1,
            done_backups: 2,
            wal: WalFacts {
                files: 3,
                bytes: 3 * 16 * 1024 * 1024,
                last_time: Some(1990.0),
                last_hour: 2,
            },
            ..ServerFacts::default()
        }
    }

    #[test]
    fn metrics_render_each_family_once_with_server_labels() {
        let mut other = facts();
        other.name = "a \"quoted\"\\name".into();
        other.last_backup = None;
        let text = render(&[facts(), other], 2000.0);
        assert_eq!(text.matches("# TYPE barman_backups gauge").count(), 1);
        assert!(text.contains("barman_backups{server=\"pg\",status=\"FAILED\"} 1\n"));
        assert!(text.contains("barman_last_backup_age_seconds{server=\"pg\"} 939.5\n"));
        assert!(text.contains("barman_last_backup_duration_seconds{server=\"pg\"} 60.5\n"));
        assert!(text.contains("barman_wal_archive_lag_seconds{server=\"pg\"} 10\n"));
        assert!(text.contains("barman_disk_usage_bytes{server=\"pg\",kind=\"wals\"} 50331648\n"));
        assert!(
            text.contains("server=\"a \\\"quoted\\\"\\\\name\""),
            "{text}"
        );
        // No backup: its metrics are absent, not zero.
        assert_eq!(text.matches("barman_last_backup_size_bytes{").count(), 1);
        assert!(!text.contains("barman_passive_last_sync_age_seconds"));
    }

    #[test]
    fn metrics_minimum_redundancy_flag() {
        let mut f = facts();
        f.minimum_redundancy = 3;
        let text = render(&[f], 2000.0);
        assert!(text.contains("barman_minimum_redundancy_satisfied{server=\"pg\"} 0\n"));
    }
}
