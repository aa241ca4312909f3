//! The WAL checksum index and `verify-archive`'s incremental state: pure text formats.
//!
//! The index (`<server>-xlog.db.sha256`, beside the xlog db) holds one line per archived
//! file, appended in archive order: `name<TAB>sha256<TAB>plain size<TAB>origin\n`, where
//! `sha256` is the lower-case hex SHA-256 of the file's *plain* content (decompressed) and
//! `origin` says who computed it: `archived` (while archiving) or `first-seen` (by
//! `verify-archive`, for WAL archived before the index existed, by Python Barman or by
//! `sync-wals`). A later line for the same name replaces an earlier one. A last line
//! without its newline is a torn append (a crash mid-write) and is ignored here; the
//! writer cuts it off before appending.
//!
//! The state (`<server>-xlog.db.verified`, rewritten whole by each run) says which files
//! a run read and found good, with their size and modification time, so the next run
//! reads only files that are new or changed.
//!
//! Python Barman ignores both files: its `rebuild-xlogdb` skips every name starting with
//! the xlog db's name.

use std::collections::BTreeMap;
use std::fmt;

/// Suffix of the checksum index after the xlog db's file name.
pub const INDEX_SUFFIX: &str = ".sha256";
/// Suffix of the incremental state after the xlog db's file name.
pub const STATE_SUFFIX: &str = ".verified";

/// Who recorded a checksum.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// Computed while archiving, from the very bytes that were stored.
    Archived,
    /// Computed by `verify-archive` the first time it read a file that had none.
    FirstSeen,
}

impl Origin {
    fn as_str(self) -> &'static str {
        match self {
            Origin::Archived => "archived",
            Origin::FirstSeen => "first-seen",
        }
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One line of the index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChecksumEntry {
    /// The archived file's name (segment, `.history`, `.backup`, `.partial`).
    pub name: String,
    /// Lower-case hex SHA-256 of the plain content.
    pub sha256: String,
    /// Bytes of plain content.
    pub plain_size: u64,
    /// Who computed it.
    pub origin: Origin,
}

/// A line that is not an index entry.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid checksum index line '{0}'")]
pub struct ChecksumLineError(pub String);

impl ChecksumEntry {
    /// Parse one line (without its newline).
    ///
    /// # Errors
    /// Not four tab-separated fields, a digest that is not 64 lower-case hex digits, a bad
    /// size or an unknown origin.
    pub fn parse(line: &str) -> Result<Self, ChecksumLineError> {
        let bad = || ChecksumLineError(line.to_string());
        let fields: Vec<&str> = line.split('\t').collect();
        let [name, sha256, size, origin] = fields[..] else {
            return Err(bad());
        };
        let hex_ok = sha256.len() == 64
            && sha256
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        if name.is_empty() || !hex_ok {
            return Err(bad());
        }
        let origin = match origin {
            "archived" => Origin::Archived,
            "first-seen" => Origin::FirstSeen,
            _ => return Err(bad()),
        };
        Ok(ChecksumEntry {
            name: name.to_string(),
            sha256: sha256.to_string(),
            plain_size: size.parse().map_err(|_| bad())?,
            origin,
        })
    }

    /// The line, with its newline.
    pub fn to_line(&self) -> String {
        format!(
            "{}\t{}\t{}\t{}\n",
            self.name, self.sha256, self.plain_size, self.origin
        )
    }
}

/// The index as read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChecksumIndex {
    /// Name → its latest entry.
    pub entries: BTreeMap<String, ChecksumEntry>,
    /// Complete lines read (including replaced and bad ones).
    pub lines: usize,
    /// Complete lines that could not be parsed, with their 1-based number.
    pub bad_lines: Vec<(usize, String)>,
    /// A last line without its newline (a torn append), ignored.
    pub torn_tail: Option<String>,
}

impl ChecksumIndex {
    /// Parse the whole file.
    pub fn parse(text: &str) -> Self {
        let mut index = ChecksumIndex::default();
        let (complete, torn) = match text.rfind('\n') {
            Some(at) => (&text[..=at], &text[at + 1..]),
            None => ("", text),
        };
        if !torn.is_empty() {
            index.torn_tail = Some(torn.to_string());
        }
        for (number, line) in complete.lines().enumerate() {
            index.lines += 1;
            if line.is_empty() {
                continue;
            }
            match ChecksumEntry::parse(line) {
                Ok(entry) => {
                    index.entries.insert(entry.name.clone(), entry);
                }
                Err(_) => index.bad_lines.push((number + 1, line.to_string())),
            }
        }
        index
    }

    /// The whole index with only `keep`'s names, one line each, in name order: what a
    /// compaction writes once retention has removed files.
    pub fn compacted(&self, keep: impl Fn(&str) -> bool) -> String {
        self.entries
            .values()
            .filter(|e| keep(&e.name))
            .map(ChecksumEntry::to_line)
            .collect()
    }
}

impl ChecksumIndex {
    /// Whether a compaction pays: the lines of files no longer in the archive (`live`
    /// says which are) exceed 1,000 and outnumber the live ones.
    pub fn needs_compaction(&self, live: impl Fn(&str) -> bool) -> bool {
        let kept = self.entries.keys().filter(|n| live(n)).count();
        let stale = self.lines.saturating_sub(kept);
        stale > 1000 && stale > kept
    }
}

/// How a file looked when it was verified: re-read when either changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileStamp {
    /// Bytes on disk.
    pub size: u64,
    /// Modification time in nanoseconds since the epoch.
    pub mtime_ns: i128,
}

/// What the last `verify-archive` run read and found good.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VerifyState {
    /// When that run started (RFC 3339), if there was one.
    pub verified_at: Option<String>,
    /// Name → how it looked when verified.
    pub files: BTreeMap<String, FileStamp>,
}

const STATE_HEADER: &str = "# barman verify-archive state v1";

impl VerifyState {
    /// Parse the state file; unreadable lines are dropped (their files are read again).
    pub fn parse(text: &str) -> Self {
        let mut state = VerifyState::default();
        for line in text.lines() {
            if let Some(at) = line.strip_prefix("verified_at\t") {
                state.verified_at = Some(at.to_string());
                continue;
            }
            let mut fields = line.split('\t');
            let (Some(name), Some(size), Some(mtime), None) =
                (fields.next(), fields.next(), fields.next(), fields.next())
            else {
                continue;
            };
            if let (Ok(size), Ok(mtime_ns)) = (size.parse(), mtime.parse()) {
                state
                    .files
                    .insert(name.to_string(), FileStamp { size, mtime_ns });
            }
        }
        state
    }

    /// The file's text.
    pub fn to_text(&self) -> String {
        let mut text = format!("{STATE_HEADER}\n");
        if let Some(at) = &self.verified_at {
            text.push_str(&format!("verified_at\t{at}\n"));
        }
        for (name, stamp) in &self.files {
            text.push_str(&format!("{name}\t{}\t{}\n", stamp.size, stamp.mtime_ns));
        }
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SUM: &str = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

    fn entry(name: &str, origin: Origin) -> ChecksumEntry {
        ChecksumEntry {
            name: name.into(),
            sha256: SUM.into(),
            plain_size: 16 << 20,
            origin,
        }
    }

    #[test]
    fn checksum_entry_round_trips() {
        for origin in [Origin::Archived, Origin::FirstSeen] {
            let e = entry("000000010000000000000003", origin);
            let line = e.to_line();
            assert!(line.ends_with('\n'));
            assert_eq!(
                ChecksumEntry::parse(line.trim_end_matches('\n')).unwrap(),
                e
            );
        }
        assert_eq!(
            entry("00000002.history", Origin::Archived).to_line(),
            format!("00000002.history\t{SUM}\t16777216\tarchived\n")
        );
    }

    #[test]
    fn checksum_entry_rejects_malformed_lines() {
        let good = entry("000000010000000000000003", Origin::Archived).to_line();
        let good = good.trim_end();
        assert!(ChecksumEntry::parse(good).is_ok());
        for bad in [
            "",
            "000000010000000000000003",
            &good.replace("archived", "guessed"),
            &good.replace(SUM, &SUM.to_uppercase()),
            &good.replace(SUM, &SUM[..63]),
            &good.replace("16777216", "-1"),
            &format!("{good}\textra"),
            &good.replace('\t', " "),
        ] {
            assert!(ChecksumEntry::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn checksum_index_ignores_a_torn_last_line_and_keeps_the_latest_entry() {
        let first = entry("000000010000000000000003", Origin::FirstSeen);
        let mut second = entry("000000010000000000000003", Origin::Archived);
        second.sha256 = "0".repeat(64);
        let other = entry("000000010000000000000004", Origin::Archived);
        let torn = &other.to_line()[..30];
        let text = format!(
            "{}garbage line\n\n{}{}{torn}",
            first.to_line(),
            other.to_line(),
            second.to_line()
        );
        let index = ChecksumIndex::parse(&text);
        assert_eq!(index.entries.len(), 2);
        assert_eq!(index.entries["000000010000000000000003"], second);
        assert_eq!(index.bad_lines, vec![(2, "garbage line".to_string())]);
        assert_eq!(index.torn_tail.as_deref(), Some(torn));
        assert_eq!(index.lines, 5);
        // A file that is one torn line holds nothing.
        let only = ChecksumIndex::parse(torn);
        assert!(only.entries.is_empty());
        assert_eq!(only.torn_tail.as_deref(), Some(torn));
        assert_eq!(ChecksumIndex::parse(""), ChecksumIndex::default());
    }

    #[test]
    fn checksum_index_compaction_keeps_only_live_names_once() {
        let a = entry("000000010000000000000003", Origin::Archived);
        let b = entry("000000010000000000000004", Origin::FirstSeen);
        let text = format!("{}{}{}", a.to_line(), b.to_line(), a.to_line());
        let index = ChecksumIndex::parse(&text);
        let kept = index.compacted(|n| n.ends_with('4'));
        assert_eq!(kept, b.to_line());
        assert_eq!(ChecksumIndex::parse(&kept).entries.len(), 1);
    }

    #[test]
    fn checksum_index_compacts_once_stale_lines_dominate() {
        let text: String = (0..3000)
            .map(|n| entry(&format!("{n:024X}"), Origin::Archived).to_line())
            .collect();
        let index = ChecksumIndex::parse(&text);
        assert!(!index.needs_compaction(|_| true));
        // 1,500 live, 1,500 stale: not yet.
        assert!(!index.needs_compaction(|n| n > "0000000000000000000005DB"));
        // 1,000 live, 2,000 stale.
        assert!(index.needs_compaction(|n| n > "0000000000000000000007CF"));
        // Few lines: never worth it.
        assert!(!ChecksumIndex::parse(&text[..text.len() / 10]).needs_compaction(|_| false));
    }

    #[test]
    fn verify_state_round_trips_and_drops_bad_lines() {
        let mut state = VerifyState {
            verified_at: Some("2026-12-05T23:00:00+00:00".into()),
            ..VerifyState::default()
        };
        state.files.insert(
            "000000010000000000000003".into(),
            FileStamp {
                size: 4096,
                mtime_ns: 1_795_482_307_957_645_200,
            },
        );
        let text = state.to_text();
        assert!(text.starts_with(STATE_HEADER));
        assert_eq!(VerifyState::parse(&text), state);
        let damaged = format!("{text}000000010000000000000004\tx\t1\n00000001000000000000000");
        assert_eq!(VerifyState::parse(&damaged), state);
        assert_eq!(VerifyState::parse(""), VerifyState::default());
    }
}
