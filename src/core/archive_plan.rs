//! Which files of `incoming/` or `streaming/` one `archive-wal` run takes (Barman's
//! `FileWalArchiver.get_next_batch` / `StreamingWalArchiver.get_next_batch`). Pure: it gets
//! the sorted listing with a flag telling regular files apart.

use crate::core::wal_name::{is_any_xlog_file, WalFileName};

/// One directory entry: its name and whether it is a regular file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    /// File name.
    pub name: String,
    /// Regular file (not a folder, socket, ...).
    pub is_file: bool,
}

/// The work of one run over one folder.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Batch {
    /// Files to archive, in order.
    pub files: Vec<String>,
    /// Files to move to `errors/` as `unknown`.
    pub errors: Vec<String>,
    /// Visible entries in the folder (including temporary and junk ones), for the batch
    /// header (Barman's `total_size`).
    pub total: usize,
    /// How many files this run archives (Barman's `run_size`, the length of its queue).
    pub run_size: usize,
}

impl Batch {
    /// Barman's header suffix rule: `(batch size: N)` when files are archived and the
    /// folder held more entries than that (a batch limit, junk, a `.tmp`, or the segment
    /// streaming keeps back).
    pub fn header_suffix(&self) -> Option<usize> {
        (self.run_size > 0 && self.total > self.run_size).then_some(self.run_size)
    }
}

/// Barman lists the folder with `glob("*")`, which never returns names starting with a
/// dot: rsync's in-flight `.NAME.XXXXXX`, put-wal's `.PID-NAME`, or any other hidden file
/// is still being written by someone and must be left alone (moving it to `errors/` makes
/// the writer's final rename fail, and PostgreSQL then retries forever).
pub fn is_hidden(name: &str) -> bool {
    name.starts_with('.')
}

fn take(listing: &[Listed], batch_size: usize) -> (Vec<&Listed>, usize) {
    let visible: Vec<&Listed> = listing.iter().filter(|e| !is_hidden(&e.name)).collect();
    let total = visible.len();
    let taken = if batch_size > 0 && batch_size < total {
        visible[..batch_size].to_vec()
    } else {
        visible
    };
    (taken, total)
}

/// `incoming/`: every WAL-like regular file; hidden and `.tmp` files are ignored; the
/// rest is junk.
pub fn plan_incoming(listing: &[Listed], batch_size: usize) -> Batch {
    let (taken, total) = take(listing, batch_size);
    let mut batch = Batch {
        total,
        ..Batch::default()
    };
    for entry in taken {
        if entry.name.ends_with(".tmp") {
            continue;
        }
        if entry.is_file && is_any_xlog_file(&entry.name) {
            batch.files.push(entry.name.clone());
        } else {
            batch.errors.push(entry.name.clone());
        }
    }
    batch.run_size = batch.files.len();
    batch
}

/// `streaming/`: like incoming, but the newest `.partial` (pg_receivewal's current segment)
/// stays, older partials are archived, and without any partial the newest full segment
/// stays so pg_receivewal can find its position after a restart.
pub fn plan_streaming(listing: &[Listed], batch_size: usize) -> Batch {
    let (taken, total) = take(listing, batch_size);
    let mut batch = Batch {
        total,
        ..Batch::default()
    };
    let mut partials = Vec::new();
    for entry in taken {
        if entry.name.ends_with(".tmp") {
            continue;
        }
        if !entry.is_file {
            batch.errors.push(entry.name.clone());
        } else if matches!(entry.name.parse(), Ok(WalFileName::Partial(_))) {
            partials.push(entry.name.clone());
        } else if is_any_xlog_file(&entry.name) {
            batch.files.push(entry.name.clone());
        } else {
            batch.errors.push(entry.name.clone());
        }
    }
    if partials.len() > 1 {
        partials.pop();
        batch.files.extend(partials);
    } else if partials.is_empty() {
        batch.files.pop();
    }
    batch.run_size = batch.files.len();
    batch
}

/// Barman's `check_archive_usable`, fed one catalog name at a time so a huge xlog.db is
/// checked in constant memory: may a (new) server archive into an archive that already
/// lists these files? Without a timeline it must be empty; with one, no file may be on that
/// timeline or a later one.
#[derive(Debug, Clone)]
pub struct ArchiveUsability {
    timeline: Option<u32>,
    seen: usize,
    unexpected: usize,
}

impl ArchiveUsability {
    /// Start a check for `timeline` (None: the archive must be empty).
    pub fn new(timeline: Option<u32>) -> Self {
        ArchiveUsability {
            timeline,
            seen: 0,
            unexpected: 0,
        }
    }

    /// Account for one archived file name.
    pub fn add(&mut self, name: &str) -> Result<(), String> {
        self.seen += 1;
        let Some(timeline) = self.timeline else {
            return Ok(());
        };
        let tli = match name.parse::<WalFileName>() {
            Ok(WalFileName::History(tli)) => tli,
            Ok(
                WalFileName::Segment(s)
                | WalFileName::Partial(s)
                | WalFileName::BackupLabel { segment: s, .. },
            ) => s.tli,
            Err(_) => return Err(format!("Unexpected file {name} found in WAL archive")),
        };
        if tli >= timeline {
            self.unexpected += 1;
        }
        Ok(())
    }

    /// The verdict, in Barman's words.
    pub fn finish(&self) -> Result<(), String> {
        match self.timeline {
            None if self.seen > 0 => Err("Expected empty archive".into()),
            Some(timeline) if self.unexpected > 0 => Err(format!(
                "Found {} file{} in WAL archive equal to or newer than timeline {timeline}",
                self.unexpected,
                if self.unexpected > 1 { "s" } else { "" }
            )),
            _ => Ok(()),
        }
    }
}

/// Check a list of names at once (see [`ArchiveUsability`]).
pub fn check_archive_usable(existing: &[String], timeline: Option<u32>) -> Result<(), String> {
    let mut check = ArchiveUsability::new(timeline);
    for name in existing {
        check.add(name)?;
    }
    check.finish()
}

#[cfg(test)]
mod usable_tests {
    use super::*;

    #[test]
    fn archive_usable_rules_match_barman() {
        let names = vec![
            "000000010000000000000001".to_string(),
            "00000002.history".to_string(),
            "000000020000000000000002".to_string(),
        ];
        assert_eq!(check_archive_usable(&[], None), Ok(()));
        assert_eq!(
            check_archive_usable(&names, None),
            Err("Expected empty archive".into())
        );
        assert_eq!(check_archive_usable(&names, Some(3)), Ok(()));
        assert_eq!(
            check_archive_usable(&names, Some(2)),
            Err("Found 2 files in WAL archive equal to or newer than timeline 2".into())
        );
        assert_eq!(
            check_archive_usable(&names[..1], Some(1)),
            Err("Found 1 file in WAL archive equal to or newer than timeline 1".into())
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn listing(names: &[&str]) -> Vec<Listed> {
        names
            .iter()
            .map(|n| Listed {
                name: n.to_string(),
                is_file: !n.ends_with('/'),
            })
            .collect()
    }

    #[test]
    fn archive_plan_incoming_sorts_out_junk_and_temp_files() {
        let batch = plan_incoming(
            &listing(&[
                "000000010000000000000001",
                "000000010000000000000002.tmp",
                "00000002.history",
                "junk",
                "sub/",
            ]),
            0,
        );
        assert_eq!(
            batch.files,
            ["000000010000000000000001", "00000002.history"]
        );
        assert_eq!(batch.errors, ["junk", "sub/"]);
        assert_eq!((batch.total, batch.run_size), (5, 2));
        assert_eq!(batch.header_suffix(), Some(2));
    }

    #[test]
    fn archive_plan_incoming_ignores_hidden_files_like_python_glob() {
        // rsync's temporary name, put-wal's, and any other hidden file.
        let batch = plan_incoming(
            &listing(&[
                ".000000010000000000000008.Xa1b2C",
                ".4242-000000010000000000000009",
                ".hidden/",
                "000000010000000000000001",
            ]),
            0,
        );
        assert_eq!(batch.files, ["000000010000000000000001"]);
        assert!(batch.errors.is_empty());
        assert_eq!((batch.total, batch.run_size), (1, 1));
        assert_eq!(batch.header_suffix(), None);
    }

    #[test]
    fn archive_plan_streaming_header_counts_the_kept_segment() {
        // Barman: total 3 > run size 2, so "(batch size: 2)".
        let batch = plan_streaming(
            &listing(&[
                "000000010000000000000001",
                "000000010000000000000002",
                "000000010000000000000003.partial",
            ]),
            0,
        );
        assert_eq!(batch.header_suffix(), Some(2));
        let only_partial = plan_streaming(&listing(&["000000010000000000000003.partial"]), 0);
        assert_eq!(only_partial.header_suffix(), None);
    }

    #[test]
    fn archive_plan_incoming_honours_batch_size() {
        let batch = plan_incoming(
            &listing(&[
                "000000010000000000000001",
                "000000010000000000000002",
                "000000010000000000000003",
            ]),
            2,
        );
        assert_eq!(batch.files.len(), 2);
        assert_eq!((batch.total, batch.run_size), (3, 2));
    }

    #[test]
    fn archive_plan_streaming_keeps_the_newest_partial() {
        let batch = plan_streaming(
            &listing(&[
                "000000010000000000000001",
                "000000010000000000000002.partial",
                "000000010000000000000003.partial",
            ]),
            0,
        );
        assert_eq!(
            batch.files,
            [
                "000000010000000000000001",
                "000000010000000000000002.partial"
            ]
        );
    }

    #[test]
    fn archive_plan_streaming_without_partial_keeps_the_newest_segment() {
        let batch = plan_streaming(
            &listing(&["000000010000000000000001", "000000010000000000000002"]),
            0,
        );
        assert_eq!(batch.files, ["000000010000000000000001"]);
        let single = plan_streaming(&listing(&["000000010000000000000002.partial"]), 0);
        assert!(single.files.is_empty());
    }
}
