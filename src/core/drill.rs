//! A restore drill's record: what `barman drill` did to prove a backup restores (copy,
//! replay and check times, WAL replayed, amcheck's findings, rows seen per database) and its
//! verdict. Stored as `<meta>/<id>-drill.json` beside the backup's info, a name Barman's
//! `*-backup.info` scan ignores. Pure: the command fills it, this module judges and renders.

use serde::{Deserialize, Serialize};

/// Findings printed on the console (the record keeps them all).
const SHOWN_FINDINGS: usize = 10;

/// Everything one drill found.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DrillRecord {
    /// The backup drilled.
    pub backup_id: String,
    /// When the drill started (ISO 8601, local zone).
    pub started_at: String,
    /// The recovery target, as given (`None`: end of the archived WAL).
    pub target: Option<String>,
    /// Seconds spent restoring the backup and its WAL into the scratch directory.
    pub copy_seconds: f64,
    /// Seconds from starting PostgreSQL until it left recovery.
    pub replay_seconds: f64,
    /// Seconds spent in pg_amcheck and the row probe.
    pub check_seconds: f64,
    /// WAL files the restore copied for replay.
    pub wal_files: u64,
    /// The commit-time index's estimate of that WAL (segments, bytes, span of transaction
    /// end times), when it knows any of it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replay_estimate: Option<String>,
    /// pg_amcheck's findings, one line each (relation, block, what is wrong, file).
    pub corruption: Vec<String>,
    /// Rows counted in each database's user tables.
    pub databases: Vec<DatabaseProbe>,
    /// Why the drill failed before its checks could run (restore, start, replay).
    pub failure: Option<String>,
}

/// One database's row probe.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DatabaseProbe {
    /// Database name.
    pub name: String,
    /// User tables counted.
    pub tables: u64,
    /// Rows in them.
    pub rows: u64,
}

impl DrillRecord {
    /// A drill passes when nothing failed and amcheck found nothing.
    pub fn passed(&self) -> bool {
        self.failure.is_none() && self.corruption.is_empty()
    }

    /// `PASSED` or `FAILED`, as printed.
    pub fn verdict(&self) -> &'static str {
        if self.passed() {
            "PASSED"
        } else {
            "FAILED"
        }
    }

    /// The console lines of the report (after the headline).
    pub fn lines(&self) -> Vec<String> {
        let mut lines = vec![format!(
            "  Copy: {:.1} s, replay: {:.1} s ({} WAL files), checks: {:.1} s",
            self.copy_seconds, self.replay_seconds, self.wal_files, self.check_seconds
        )];
        if let Some(estimate) = &self.replay_estimate {
            lines.push(format!("  Replayed: {estimate}"));
        }
        if let Some(target) = &self.target {
            lines.push(format!("  Target: {target}"));
        }
        if let Some(failure) = &self.failure {
            lines.push(format!("  Failure: {failure}"));
        }
        // The first findings name the damage; all of them are in the record.
        for problem in self.corruption.iter().take(SHOWN_FINDINGS) {
            lines.push(format!("  Corruption: {problem}"));
        }
        if self.corruption.len() > SHOWN_FINDINGS {
            lines.push(format!(
                "  … and {} more findings (see the drill record)",
                self.corruption.len() - SHOWN_FINDINGS
            ));
        }
        if self.failure.is_none() && self.corruption.is_empty() {
            lines.push("  amcheck: no corruption found (heap and btree, all databases)".into());
        }
        for db in &self.databases {
            lines.push(format!(
                "  Database {}: {} rows in {} tables",
                db.name, db.rows, db.tables
            ));
        }
        lines
    }
}

/// The relation pg_amcheck names in a finding (`heap table "db.schema.rel", block …` or
/// `btree index "db.schema.rel":`), as (database, schema-qualified relation).
pub fn amcheck_relation(line: &str) -> Option<(String, String)> {
    let start = line.find('"')? + 1;
    let end = start + line[start..].find('"')?;
    let (db, rel) = line[start..end].split_once('.')?;
    Some((db.to_string(), rel.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drill_verdict_and_lines() {
        let mut record = DrillRecord {
            backup_id: "20260101T000000".into(),
            copy_seconds: 1.25,
            wal_files: 3,
            databases: vec![DatabaseProbe {
                name: "postgres".into(),
                tables: 2,
                rows: 1000,
            }],
            ..DrillRecord::default()
        };
        assert!(record.passed());
        assert_eq!(record.verdict(), "PASSED");
        assert!(record.lines()[0].starts_with("  Copy: 1.2 s, replay: 0.0 s (3 WAL files)"));
        assert!(record
            .lines()
            .contains(&"  Database postgres: 1000 rows in 2 tables".into()));
        record
            .corruption
            .push("heap table \"postgres.public.t\", block 0".into());
        assert_eq!(record.verdict(), "FAILED");
        let text = serde_json::to_string(&record).unwrap();
        assert_eq!(serde_json::from_str::<DrillRecord>(&text).unwrap(), record);
    }

    #[test]
    fn amcheck_relation_names() {
        assert_eq!(
            amcheck_relation("heap table \"postgres.public.t\", block 0, offset 1:"),
            Some(("postgres".into(), "public.t".into()))
        );
        assert_eq!(amcheck_relation("nothing here"), None);
    }
}
