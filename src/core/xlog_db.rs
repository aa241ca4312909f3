//! One line of the WAL catalog (`<server>-xlog.db`, formerly `xlog.db`): Barman's
//! `WalFileInfo.to_xlogdb_line` / `from_xlogdb_line`.
//!
//! `name\tsize\ttime\tcompression\tencryption\n`; `time` is the file's mtime as Python's
//! `repr(float)`; older files have 3 or 4 columns.

use crate::core::py_literal::float_repr;

/// One archived WAL-like file.
#[derive(Debug, Clone, PartialEq)]
pub struct XlogDbEntry {
    /// File name (segment, `.history`, `.backup` or `.partial`).
    pub name: String,
    /// Size on disk in bytes.
    pub size: u64,
    /// Modification time (seconds since the epoch).
    pub time: f64,
    /// Compression name as recorded (`gzip`, `pygzip`, ...), `None` for plain files.
    pub compression: Option<String>,
    /// `gpg` or `None`.
    pub encryption: Option<String>,
}

/// A line that is not an xlog.db entry.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid xlog.db line '{line}': {reason}")]
pub struct XlogDbError {
    /// The offending line.
    pub line: String,
    /// What is wrong.
    pub reason: String,
}

fn optional(word: Option<&str>) -> Option<String> {
    word.filter(|w| *w != "None").map(str::to_string)
}

impl XlogDbEntry {
    /// Parse a line (split on white space; 3, 4 or 5 columns).
    ///
    /// # Errors
    /// Fewer than 3 or more than 5 columns, or a bad size or time.
    pub fn parse(line: &str) -> Result<Self, XlogDbError> {
        let words: Vec<&str> = line.split_whitespace().collect();
        let bad = |reason: &str| XlogDbError {
            line: line.trim_end().to_string(),
            reason: reason.to_string(),
        };
        if !(3..=5).contains(&words.len()) {
            return Err(bad("expected 3 to 5 columns"));
        }
        Ok(XlogDbEntry {
            name: words[0].to_string(),
            size: words[1]
                .parse()
                .map_err(|_| bad("size is not an integer"))?,
            time: words[2].parse().map_err(|_| bad("time is not a number"))?,
            compression: optional(words.get(3).copied()),
            encryption: optional(words.get(4).copied()),
        })
    }

    /// The 5-column line Barman 3.20 writes, with its newline.
    pub fn to_line(&self) -> String {
        format!(
            "{}\t{}\t{}\t{}\t{}\n",
            self.name,
            self.size,
            float_repr(self.time),
            self.compression.as_deref().unwrap_or("None"),
            self.encryption.as_deref().unwrap_or("None")
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn xlog_db_round_trips_barman_lines() {
        for line in [
            "000000010000000000000003\t3328126\t1795482307.9576452\tgzip\tNone\n",
            "000000010000000000000003.00000028.backup\t253\t1795482307.9884167\tgzip\tNone\n",
            "00000002.history\t42\t1700000000.0\tNone\tNone\n",
        ] {
            assert_eq!(XlogDbEntry::parse(line).unwrap().to_line(), line);
        }
    }

    #[test]
    fn xlog_db_reads_older_formats() {
        let four = XlogDbEntry::parse("000000010000000000000045\t16466\t1795481544.7416615\tgzip")
            .unwrap();
        assert_eq!(four.compression.as_deref(), Some("gzip"));
        assert_eq!(four.encryption, None);
        let three = XlogDbEntry::parse("000000010000000000000045 16466 1795481544.5").unwrap();
        assert_eq!(three.compression, None);
    }

    #[test]
    fn xlog_db_rejects_bad_lines() {
        assert!(XlogDbEntry::parse("only two").is_err());
        assert!(XlogDbEntry::parse("a b c d e f").is_err());
        assert!(XlogDbEntry::parse("000000010000000000000045 big 1.0").is_err());
    }

    proptest! {
        #[test]
        fn xlog_db_entry_round_trips(size in any::<u32>(), secs in 0u32..4_000_000_000, frac in 0u32..10_000_000) {
            let entry = XlogDbEntry {
                name: "000000010000000000000001".into(),
                size: u64::from(size),
                time: f64::from(secs) + f64::from(frac) / 1e7,
                compression: Some("gzip".into()),
                encryption: None,
            };
            prop_assert_eq!(XlogDbEntry::parse(&entry.to_line()).unwrap(), entry);
        }
    }
}
