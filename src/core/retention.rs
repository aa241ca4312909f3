//! Retention policies (`retention_policy` key): `REDUNDANCY n` and
//! `RECOVERY WINDOW OF n DAYS|WEEKS|MONTHS`, parsed and printed as Barman does
//! (`barman/retention_policies.py`). A month is 31 days there, and here.

use crate::core::backup_info::BackupStatus;
use chrono::{DateTime, Duration, FixedOffset};
use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

/// Unit of a recovery window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WindowUnit {
    /// Days.
    Days,
    /// Weeks.
    Weeks,
    /// Months of 31 days.
    Months,
}

/// A base-backup retention policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetentionPolicy {
    /// Keep the newest `n` backups.
    Redundancy(u32),
    /// Keep what is needed to recover to any point in the last `n` units.
    RecoveryWindow(u32, WindowUnit),
}

impl RetentionPolicy {
    /// Length of a recovery window in days (`None` for redundancy).
    pub fn window_days(&self) -> Option<u64> {
        match *self {
            RetentionPolicy::Redundancy(_) => None,
            RetentionPolicy::RecoveryWindow(n, unit) => Some(
                u64::from(n)
                    * match unit {
                        WindowUnit::Days => 1,
                        WindowUnit::Weeks => 7,
                        WindowUnit::Months => 31,
                    },
            ),
        }
    }
}

/// The text is not a retention policy Barman understands.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown retention policy syntax (expected 'REDUNDANCY <n>' or 'RECOVERY WINDOW OF <n> DAYS|WEEKS|MONTHS')")]
pub struct RetentionPolicyError;

impl FromStr for RetentionPolicy {
    type Err = RetentionPolicyError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let words: Vec<String> = text
            .split_whitespace()
            .map(str::to_ascii_lowercase)
            .collect();
        let words: Vec<&str> = words.iter().map(String::as_str).collect();
        let number = |w: &str| -> Result<u32, RetentionPolicyError> {
            if w.is_empty() || !w.bytes().all(|b| b.is_ascii_digit()) {
                return Err(RetentionPolicyError);
            }
            w.parse().map_err(|_| RetentionPolicyError)
        };
        match words.as_slice() {
            ["redundancy", n] => Ok(RetentionPolicy::Redundancy(number(n)?)),
            ["recovery", "window", "of", n, unit] => {
                let unit = match *unit {
                    "day" | "days" => WindowUnit::Days,
                    "week" | "weeks" => WindowUnit::Weeks,
                    "month" | "months" => WindowUnit::Months,
                    _ => return Err(RetentionPolicyError),
                };
                Ok(RetentionPolicy::RecoveryWindow(number(n)?, unit))
            }
            _ => Err(RetentionPolicyError),
        }
    }
}

impl fmt::Display for RetentionPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RetentionPolicy::Redundancy(n) => write!(f, "REDUNDANCY {n}"),
            RetentionPolicy::RecoveryWindow(n, unit) => {
                let unit = match unit {
                    WindowUnit::Days => "DAYS",
                    WindowUnit::Weeks => "WEEKS",
                    WindowUnit::Months => "MONTHS",
                };
                write!(f, "RECOVERY WINDOW OF {n} {unit}")
            }
        }
    }
}

/// A keep annotation (`meta/<ID>-keep`), as retention reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeepTarget {
    /// `full`: keep the backup and every WAL after it.
    Full,
    /// `standalone`: keep the backup and the WALs it needs to be consistent.
    Standalone,
}

impl KeepTarget {
    /// Barman's reading of an annotation value: `standalone`, or any other non-empty text
    /// is treated as `full` "for safety"; an empty file is no keep target.
    pub fn from_annotation(value: &str) -> Option<KeepTarget> {
        match value {
            "" => None,
            "standalone" => Some(KeepTarget::Standalone),
            _ => Some(KeepTarget::Full),
        }
    }

    /// The annotation value (`full` / `standalone`).
    pub fn as_str(self) -> &'static str {
        match self {
            KeepTarget::Full => "full",
            KeepTarget::Standalone => "standalone",
        }
    }
}

/// A backup's status under the retention policy (Barman's `BackupInfo.RETENTION_STATUS`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetentionStatus {
    /// Needed by the policy.
    Valid,
    /// Beyond the policy: cron deletes it.
    Obsolete,
    /// Beyond the policy but kept for `minimum_redundancy` (`OBSOLETE*`).
    PotentiallyObsolete,
    /// Kept by a `full` keep annotation.
    KeepFull,
    /// Kept by a `standalone` keep annotation.
    KeepStandalone,
    /// Not evaluated (backup not DONE): `-`.
    None,
}

impl fmt::Display for RetentionStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RetentionStatus::Valid => "VALID",
            RetentionStatus::Obsolete => "OBSOLETE",
            RetentionStatus::PotentiallyObsolete => "OBSOLETE*",
            RetentionStatus::KeepFull => "KEEP:FULL",
            RetentionStatus::KeepStandalone => "KEEP:STANDALONE",
            RetentionStatus::None => "-",
        })
    }
}

impl From<KeepTarget> for RetentionStatus {
    fn from(target: KeepTarget) -> Self {
        match target {
            KeepTarget::Full => RetentionStatus::KeepFull,
            KeepTarget::Standalone => RetentionStatus::KeepStandalone,
        }
    }
}

/// What retention needs to know about one backup.
#[derive(Debug, Clone)]
pub struct RetentionInput {
    /// Backup id (ids sort chronologically).
    pub id: String,
    /// Its status.
    pub status: BackupStatus,
    /// `end_time`, when known.
    pub end_time: Option<DateTime<FixedOffset>>,
    /// Its keep annotation.
    pub keep: Option<KeepTarget>,
    /// `parent_backup_id`: the backup is incremental.
    pub parent: Option<String>,
    /// `children_backup_ids` (`None` when the field is null).
    pub children: Option<Vec<String>>,
}

/// Evaluate `policy` over `backups` (every backup except EMPTY ones) at time `now`, as
/// Barman's `RetentionPolicy.report()` does: newest first, incremental backups skipped and
/// given their root's status afterwards, non-DONE backups `-`, keep annotations winning
/// over the computed label. Under REDUNDANCY kept backups still consume a slot, and the
/// redundancy is raised to `minimum_redundancy`; under a RECOVERY WINDOW the backups older
/// than the first one out of the window are OBSOLETE, or OBSOLETE* while fewer than
/// `minimum_redundancy` have been kept.
pub fn evaluate(
    policy: RetentionPolicy,
    minimum_redundancy: u32,
    backups: &[RetentionInput],
    now: DateTime<FixedOffset>,
) -> BTreeMap<String, RetentionStatus> {
    let by_id: BTreeMap<&str, &RetentionInput> =
        backups.iter().map(|b| (b.id.as_str(), b)).collect();
    let mut report = BTreeMap::new();
    let mut state = WalkState::default();
    for backup in by_id.values().rev() {
        if backup.parent.is_some() {
            continue;
        }
        let status = if backup.status == BackupStatus::Done {
            match policy {
                RetentionPolicy::Redundancy(n) => {
                    state.redundancy(backup, n.max(minimum_redundancy))
                }
                RetentionPolicy::RecoveryWindow(..) => state.window(
                    backup,
                    minimum_redundancy,
                    recoverability_point(policy, now),
                ),
            }
        } else {
            RetentionStatus::None
        };
        report.insert(backup.id.clone(), status);
        if backup.children.is_some() {
            let beyond = match policy {
                RetentionPolicy::Redundancy(n) => state.seen > n.max(minimum_redundancy),
                RetentionPolicy::RecoveryWindow(..) => state.found,
            };
            let child_status = match status {
                RetentionStatus::KeepStandalone if beyond => RetentionStatus::Obsolete,
                RetentionStatus::KeepStandalone | RetentionStatus::KeepFull => {
                    RetentionStatus::Valid
                }
                other => other,
            };
            propagate(backup, &by_id, child_status, &mut report);
        }
    }
    report
}

/// `now` minus the window; `None` when the window reaches before any representable time.
fn recoverability_point(
    policy: RetentionPolicy,
    now: DateTime<FixedOffset>,
) -> Option<DateTime<FixedOffset>> {
    let days = i64::try_from(policy.window_days()?).ok()?;
    now.checked_sub_signed(Duration::try_days(days)?)
}

/// Counters carried along the newest-to-oldest walk.
#[derive(Debug, Default)]
struct WalkState {
    /// DONE backups seen (REDUNDANCY).
    seen: u32,
    /// The first backup out of the recovery window was met.
    found: bool,
    /// Backups kept so far (RECOVERY WINDOW).
    valid: u32,
}

impl WalkState {
    fn redundancy(&mut self, backup: &RetentionInput, redundancy: u32) -> RetentionStatus {
        let status = match backup.keep {
            Some(target) => target.into(),
            None if self.seen < redundancy => RetentionStatus::Valid,
            None => RetentionStatus::Obsolete,
        };
        self.seen += 1;
        status
    }

    fn window(
        &mut self,
        backup: &RetentionInput,
        minimum_redundancy: u32,
        point: Option<DateTime<FixedOffset>>,
    ) -> RetentionStatus {
        let keep = backup.keep.map(RetentionStatus::from);
        if self.found {
            if self.valid < minimum_redundancy {
                self.valid += 1;
                keep.unwrap_or(RetentionStatus::PotentiallyObsolete)
            } else {
                keep.unwrap_or(RetentionStatus::Obsolete)
            }
        } else {
            self.valid += 1;
            if matches!((backup.end_time, point), (Some(end), Some(point)) if end < point) {
                self.found = true;
            }
            keep.unwrap_or(RetentionStatus::Valid)
        }
    }
}

/// Give every descendant of `backup` the status `status` (Barman's
/// `_propagate_retention_status_to_children`, which walks `children_backup_ids`).
fn propagate(
    backup: &RetentionInput,
    by_id: &BTreeMap<&str, &RetentionInput>,
    status: RetentionStatus,
    report: &mut BTreeMap<String, RetentionStatus>,
) {
    for child in backup.children.iter().flatten() {
        if let Some(child_backup) = by_id.get(child.as_str()) {
            propagate(child_backup, by_id, status, report);
        }
        report.insert(child.clone(), status);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retention_policy_parses_barman_syntax_case_insensitively() {
        assert_eq!("REDUNDANCY 3".parse(), Ok(RetentionPolicy::Redundancy(3)));
        assert_eq!(
            " redundancy   2 ".parse(),
            Ok(RetentionPolicy::Redundancy(2))
        );
        assert_eq!(
            "recovery window of 2 week".parse(),
            Ok(RetentionPolicy::RecoveryWindow(2, WindowUnit::Weeks))
        );
    }

    #[test]
    fn retention_policy_displays_like_barman() {
        let p: RetentionPolicy = "Recovery Window Of 1 month".parse().unwrap();
        assert_eq!(p.to_string(), "RECOVERY WINDOW OF 1 MONTHS");
        assert_eq!(p.window_days(), Some(31));
    }

    #[test]
    fn retention_policy_rejects_unknown_syntax() {
        for bad in [
            "KEEP 3",
            "REDUNDANCY",
            "REDUNDANCY -1",
            "REDUNDANCY 2 3",
            "RECOVERY WINDOW OF 2 YEARS",
            "",
        ] {
            assert_eq!(
                bad.parse::<RetentionPolicy>(),
                Err(RetentionPolicyError),
                "{bad}"
            );
        }
    }

    fn input(id: &str, status: BackupStatus, day: u32, keep: Option<KeepTarget>) -> RetentionInput {
        RetentionInput {
            id: id.into(),
            status,
            end_time: Some(
                DateTime::parse_from_rfc3339(&format!("2026-01-{day:02}T12:00:00+00:00")).unwrap(),
            ),
            keep,
            parent: None,
            children: None,
        }
    }

    /// Five backups, one a day (Jan 1..5): FAILED on day 3, keep:full on day 2.
    fn catalog() -> Vec<RetentionInput> {
        vec![
            input("20260101T000000", BackupStatus::Done, 1, None),
            input(
                "20260102T000000",
                BackupStatus::Done,
                2,
                Some(KeepTarget::Full),
            ),
            input("20260103T000000", BackupStatus::Failed, 3, None),
            input("20260104T000000", BackupStatus::Done, 4, None),
            input("20260105T000000", BackupStatus::WaitingForWals, 5, None),
            input("20260106T000000", BackupStatus::Done, 6, None),
        ]
    }

    fn labels(report: &BTreeMap<String, RetentionStatus>) -> Vec<String> {
        report.values().map(ToString::to_string).collect()
    }

    fn now() -> DateTime<FixedOffset> {
        DateTime::parse_from_rfc3339("2026-01-07T00:00:00+00:00").unwrap()
    }

    #[test]
    fn retention_evaluate_table() {
        let w = |n, u| RetentionPolicy::RecoveryWindow(n, u);
        let cases: Vec<(RetentionPolicy, u32, [&str; 6])> = vec![
            // Kept backups consume redundancy slots.
            (
                RetentionPolicy::Redundancy(2),
                0,
                ["OBSOLETE", "KEEP:FULL", "-", "VALID", "-", "VALID"],
            ),
            (
                RetentionPolicy::Redundancy(3),
                0,
                ["OBSOLETE", "KEEP:FULL", "-", "VALID", "-", "VALID"],
            ),
            (
                RetentionPolicy::Redundancy(4),
                0,
                ["VALID", "KEEP:FULL", "-", "VALID", "-", "VALID"],
            ),
            (
                RetentionPolicy::Redundancy(1),
                0,
                ["OBSOLETE", "KEEP:FULL", "-", "OBSOLETE", "-", "VALID"],
            ),
            // minimum_redundancy raises the redundancy.
            (
                RetentionPolicy::Redundancy(1),
                4,
                ["VALID", "KEEP:FULL", "-", "VALID", "-", "VALID"],
            ),
            (
                RetentionPolicy::Redundancy(0),
                0,
                ["OBSOLETE", "KEEP:FULL", "-", "OBSOLETE", "-", "OBSOLETE"],
            ),
            // Window of 2 days: point = Jan 5 00:00; day 4 is the first one older, still VALID.
            (
                w(2, WindowUnit::Days),
                0,
                ["OBSOLETE", "KEEP:FULL", "-", "VALID", "-", "VALID"],
            ),
            (
                w(2, WindowUnit::Days),
                3,
                ["OBSOLETE", "KEEP:FULL", "-", "VALID", "-", "VALID"],
            ),
            (
                w(2, WindowUnit::Days),
                4,
                ["OBSOLETE*", "KEEP:FULL", "-", "VALID", "-", "VALID"],
            ),
            (
                w(5, WindowUnit::Days),
                0,
                ["VALID", "KEEP:FULL", "-", "VALID", "-", "VALID"],
            ),
            (
                w(1, WindowUnit::Weeks),
                0,
                ["VALID", "KEEP:FULL", "-", "VALID", "-", "VALID"],
            ),
            (
                w(0, WindowUnit::Days),
                0,
                ["OBSOLETE", "KEEP:FULL", "-", "OBSOLETE", "-", "VALID"],
            ),
            (
                w(0, WindowUnit::Days),
                2,
                ["OBSOLETE", "KEEP:FULL", "-", "OBSOLETE*", "-", "VALID"],
            ),
        ];
        for (policy, minimum, expected) in cases {
            let report = evaluate(policy, minimum, &catalog(), now());
            assert_eq!(labels(&report), expected, "{policy} minimum {minimum}");
        }
    }

    #[test]
    fn retention_keep_standalone_label_and_window_of_months() {
        let mut backups = catalog();
        backups[0].keep = Some(KeepTarget::Standalone);
        let report = evaluate(RetentionPolicy::Redundancy(1), 0, &backups, now());
        assert_eq!(report["20260101T000000"], RetentionStatus::KeepStandalone);
        let policy = RetentionPolicy::RecoveryWindow(u32::MAX, WindowUnit::Months);
        let report = evaluate(policy, 0, &backups, now());
        assert_eq!(report["20260104T000000"], RetentionStatus::Valid);
    }

    #[test]
    fn retention_propagates_to_incremental_children() {
        let mut backups = catalog();
        backups[0].keep = Some(KeepTarget::Standalone);
        backups[0].children = Some(vec!["20260101T010000".into()]);
        let mut child = input("20260101T010000", BackupStatus::Done, 1, None);
        child.parent = Some("20260101T000000".into());
        child.children = Some(vec!["20260101T020000".into()]);
        let mut grandchild = input("20260101T020000", BackupStatus::Done, 1, None);
        grandchild.parent = Some("20260101T010000".into());
        backups.push(child);
        backups.push(grandchild);
        // Standalone root beyond the redundancy: children are OBSOLETE.
        let report = evaluate(RetentionPolicy::Redundancy(2), 0, &backups, now());
        assert_eq!(report["20260101T010000"], RetentionStatus::Obsolete);
        assert_eq!(report["20260101T020000"], RetentionStatus::Obsolete);
        // Within the redundancy: VALID.
        let report = evaluate(RetentionPolicy::Redundancy(5), 0, &backups, now());
        assert_eq!(report["20260101T000000"], RetentionStatus::KeepStandalone);
        assert_eq!(report["20260101T010000"], RetentionStatus::Valid);
        // keep:full root: VALID children even when beyond.
        backups[0].keep = Some(KeepTarget::Full);
        let report = evaluate(RetentionPolicy::Redundancy(1), 0, &backups, now());
        assert_eq!(report["20260101T020000"], RetentionStatus::Valid);
        // No keep: the root's own label.
        backups[0].keep = None;
        let report = evaluate(RetentionPolicy::Redundancy(1), 0, &backups, now());
        assert_eq!(report["20260101T020000"], RetentionStatus::Obsolete);
        let window = RetentionPolicy::RecoveryWindow(2, WindowUnit::Days);
        let report = evaluate(window, 0, &backups, now());
        assert_eq!(report["20260101T010000"], RetentionStatus::Obsolete);
    }

    #[test]
    fn keep_target_reads_annotations_like_barman() {
        assert_eq!(
            KeepTarget::from_annotation("standalone"),
            Some(KeepTarget::Standalone)
        );
        assert_eq!(KeepTarget::from_annotation("full"), Some(KeepTarget::Full));
        assert_eq!(KeepTarget::from_annotation("other"), Some(KeepTarget::Full));
        assert_eq!(KeepTarget::from_annotation(""), None);
        assert_eq!(KeepTarget::Standalone.as_str(), "standalone");
    }
}
