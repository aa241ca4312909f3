//! `TimelineId` and timeline history files (`<TLI>.history`: `parent<TAB>switchpoint<TAB>reason`).

use crate::core::lsn::Lsn;
use std::fmt;

/// A PostgreSQL timeline, never zero.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TimelineId(u32);

/// Not a valid timeline.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid timeline '{0}'")]
pub struct TimelineError(pub String);

impl TimelineId {
    /// A timeline from its number (≥ 1).
    pub fn new(n: u32) -> Result<Self, TimelineError> {
        if n == 0 {
            Err(TimelineError("0".into()))
        } else {
            Ok(TimelineId(n))
        }
    }

    /// From the 8 hex digits that start WAL names.
    pub fn from_hex(text: &str) -> Result<Self, TimelineError> {
        if text.len() != 8 || !text.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(TimelineError(text.into()));
        }
        u32::from_str_radix(text, 16)
            .map_err(|_| TimelineError(text.into()))
            .and_then(TimelineId::new)
    }

    /// The timeline a WAL or history file name starts with (its first 8 hex digits).
    pub fn of_name(name: &str) -> Option<Self> {
        TimelineId::from_hex(name.get(..8)?).ok()
    }

    /// The number.
    pub fn get(self) -> u32 {
        self.0
    }

    /// The 8 upper-case hex digits.
    pub fn hex(self) -> String {
        format!("{:08X}", self.0)
    }
}

impl fmt::Display for TimelineId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// One line of a history file: the timeline we branched from, where, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryEntry {
    /// Parent timeline.
    pub parent: TimelineId,
    /// Location where the child timeline starts.
    pub switchpoint: Lsn,
    /// Free text (e.g. `no recovery target specified`).
    pub reason: String,
}

/// Parse a `.history` file (blank lines and `#` comments skipped).
pub fn parse_history(text: &str) -> Result<Vec<HistoryEntry>, TimelineError> {
    let mut entries = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let mut fields = line.splitn(3, char::is_whitespace);
        let parent = fields.next().unwrap_or_default();
        let switchpoint = fields.next().unwrap_or_default();
        let reason = fields.next().unwrap_or_default().trim().to_string();
        let parent = parent
            .parse::<u32>()
            .map_err(|_| TimelineError(line.into()))
            .and_then(TimelineId::new)?;
        let switchpoint = switchpoint
            .parse::<Lsn>()
            .map_err(|_| TimelineError(line.into()))?;
        entries.push(HistoryEntry {
            parent,
            switchpoint,
            reason,
        });
    }
    Ok(entries)
}

/// Format history entries as PostgreSQL writes them.
pub fn format_history(entries: &[HistoryEntry]) -> String {
    entries
        .iter()
        .map(|e| format!("{}\t{}\t{}\n", e.parent, e.switchpoint, e.reason))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeline_from_hex_and_back() {
        let tli = TimelineId::from_hex("0000000A").unwrap();
        assert_eq!(tli.get(), 10);
        assert_eq!(tli.hex(), "0000000A");
        assert!(TimelineId::from_hex("00000000").is_err());
        assert!(TimelineId::from_hex("0000001").is_err());
        assert!(TimelineId::new(0).is_err());
    }

    #[test]
    fn history_file_round_trip() {
        let text = "1\t0/3000090\tno recovery target specified\n\n# comment\n2\t0/5000000\tbefore 2026-01-01 00:00:00+00\n";
        let entries = parse_history(text).unwrap();
        assert_eq!(entries.len(), 2);
        assert_eq!(entries[1].switchpoint.to_string(), "0/5000000");
        assert_eq!(
            format_history(&entries),
            "1\t0/3000090\tno recovery target specified\n2\t0/5000000\tbefore 2026-01-01 00:00:00+00\n"
        );
        assert!(parse_history("x\t0/1\tr\n").is_err());
    }
}
