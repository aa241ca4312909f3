//! One check's outcome and the rules around it that do not depend on how it was obtained:
//! which checks may fail without stopping a backup (Barman's `NON_CRITICAL_CHECKS`) and the
//! JSON key a check name becomes.

/// The outcome of one check, as Barman's check strategies record it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckResult {
    /// The check name as printed (`PostgreSQL`, `replication slot`, ...).
    pub name: String,
    /// True when the check passed.
    pub ok: bool,
    /// The text shown in parentheses after OK/FAILED, if any.
    pub hint: Option<String>,
    /// Nagios performance data in bytes (`backup minimum size`, `wal size`).
    pub perfdata: Option<u64>,
    /// Lines Barman prints right after the result (`configuration` lists the reasons a
    /// server is disabled, each as `\t\t<msg>`).
    pub details: Vec<String>,
}

impl CheckResult {
    /// A result without performance data or details.
    pub fn new(name: &str, ok: bool, hint: Option<String>) -> Self {
        CheckResult {
            name: name.to_string(),
            ok,
            hint,
            perfdata: None,
            details: Vec::new(),
        }
    }
}

/// Checks that may fail without stopping `barman backup` (`CheckStrategy.NON_CRITICAL_CHECKS`).
pub const NON_CRITICAL_CHECKS: [&str; 13] = [
    "minimum redundancy requirements",
    // Ours: an unreadable old backup.info must not stop new backups from being taken.
    "backup catalog",
    "backup maximum age",
    "backup minimum size",
    "failed backups",
    "archiver errors",
    "empty incoming directory",
    "empty streaming directory",
    "incoming WALs directory",
    "streaming WALs directory",
    "wal maximum age",
    "PostgreSQL server is standby",
    // Ours: an overdue drill is a reason to take (and drill) a backup, never to refuse one.
    "drill maximum age",
];

/// False for the checks a backup ignores when they fail, true for every other check.
pub fn is_critical(name: &str) -> bool {
    !NON_CRITICAL_CHECKS.contains(&name)
}

/// The key of a check in `check -f json` (`JsonOutputWriter._mangle_key`): lower case,
/// spaces and `-` to `_`, dots removed.
pub fn json_key(name: &str) -> String {
    name.to_lowercase()
        .replace([' ', '-'], "_")
        .replace('.', "")
}

/// Barman's `WalArchiver.summarise_error_files`: counts of the files in `errors/` by kind,
/// in the order each kind is first met (`unknown: 1, duplicates: 2`), `None` when empty.
pub fn summarise_error_files(names: &[String]) -> Option<String> {
    let mut counters: Vec<(&str, usize)> = Vec::new();
    for name in names {
        let kind = if name.ends_with(".error") {
            "not relevant"
        } else if name.ends_with(".duplicate") {
            "duplicates"
        } else if name.ends_with(".unknown") {
            "unknown"
        } else {
            "unknown failure"
        };
        match counters.iter_mut().find(|(k, _)| *k == kind) {
            Some((_, n)) => *n += 1,
            None => counters.push((kind, 1)),
        }
    }
    (!counters.is_empty()).then(|| {
        counters
            .iter()
            .map(|(k, n)| format!("{k}: {n}"))
            .collect::<Vec<_>>()
            .join(", ")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn non_critical_checks_match_barman() {
        assert!(!is_critical("failed backups"));
        assert!(!is_critical("PostgreSQL server is standby"));
        assert!(is_critical("PostgreSQL"));
        assert!(is_critical("replication slot"));
        assert!(is_critical("check timeout"));
    }

    #[test]
    fn json_keys_are_mangled_like_barman() {
        assert_eq!(json_key("PostgreSQL streaming"), "postgresql_streaming");
        assert_eq!(json_key("receive-wal running"), "receive_wal_running");
        assert_eq!(
            json_key("superuser or standard user with backup privileges"),
            "superuser_or_standard_user_with_backup_privileges"
        );
        assert_eq!(json_key("a.b"), "ab");
    }

    #[test]
    fn error_files_are_summarised_in_first_seen_order() {
        let names: Vec<String> = ["a.unknown", "b.duplicate", "c.duplicate", "d.error", "e"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(
            summarise_error_files(&names).as_deref(),
            Some("unknown: 1, duplicates: 2, not relevant: 1, unknown failure: 1")
        );
        assert_eq!(summarise_error_files(&[]), None);
    }
}
