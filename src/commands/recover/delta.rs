//! Delta restore (`restore --delta-restore`, `recovery_options = delta-restore`): the copy
//! over a destination that already holds files, as Barman's `RsyncCopyController` does it.
//! The safe horizon (the earlier `begin_time` of the backup being restored and of the one
//! recorded in the destination's `.barman-recover.info`) splits the backup's files: older
//! ones are compared by size and time, newer ones that look unchanged by `--checksum`.
//! Before the copy, the destination loses every file the backup has not (stale relation
//! files, `pg_wal/*`, `postmaster.pid`, an old `.barman-recover.info`).

use crate::adapters::destination::Destination;
use crate::adapters::rsync::{self, Filters, ListedEntry, RsyncError, Transport, TreeCopy};
use crate::core::backup_info::BackupInfo;
use crate::core::backup_info::Field;
use crate::core::backup_record::python_datetime;
use crate::output::progress::Progress;
use crate::output::Output;
use chrono::{DateTime, FixedOffset};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};

/// Barman's `_retrieve_safe_horizon`: the earlier of the two backups' `begin_time`, or
/// None (every file that looks unchanged is then compared by checksum) when the
/// destination holds no readable `.barman-recover.info`. Prints Barman's info line.
pub fn safe_horizon(
    out: &mut Output,
    target: &Destination,
    dest: &str,
    info: &BackupInfo,
) -> Option<DateTime<FixedOffset>> {
    let path = format!("{}/.barman-recover.info", dest.trim_end_matches('/'));
    let text = match target.read_file(&path) {
        Ok(text) => text,
        Err(e) => {
            tracing::warn!(target: "barman.recovery_executor", "Unable to retrieve safe horizon time for smart rsync copy: {}", e.message);
            return None;
        }
    };
    let local = *chrono::Local::now().offset();
    let previous = BackupInfo::parse(&text)
        .map_err(|e| e.to_string())
        .and_then(|p| {
            p.time(Field::BeginTime, local)
                .ok_or_else(|| "no begin_time".to_string())
        });
    let (previous, ours) = match (previous, info.time(Field::BeginTime, local)) {
        (Ok(previous), Some(ours)) => (previous, ours),
        (Err(e), _) => {
            tracing::error!(target: "barman.recovery_executor", "Error retrieving safe horizon time for smart rsync copy: {e}");
            return None;
        }
        (_, None) => {
            tracing::error!(target: "barman.recovery_executor", "Error retrieving safe horizon time for smart rsync copy: no begin_time");
            return None;
        }
    };
    let horizon = if previous < ours { previous } else { ours };
    out.info(&format!(
        "Using safe horizon time for smart rsync copy: {}",
        python_datetime(&horizon)
    ));
    Some(horizon)
}

/// The horizon as rsync lists times on this host (`YYYY/MM/DD HH:MM:SS`, local time).
/// Listings have whole seconds: a file listed in the horizon's own second counts as newer
/// (checked by checksum), one second more careful than Barman's comparison.
pub fn rsync_time(horizon: &DateTime<FixedOffset>) -> String {
    horizon
        .with_timezone(&chrono::Local)
        .format("%Y/%m/%d %H:%M:%S")
        .to_string()
}

/// One item of a delta restore.
pub struct Delta<'a> {
    /// How rsync reaches the destination.
    pub transport: &'a Transport,
    /// The item's filters.
    pub filters: &'a Filters,
    /// Source, destination and parallelism.
    pub tree: &'a TreeCopy<'a>,
    /// The safe horizon ([`rsync_time`]), None when unknown.
    pub horizon: Option<&'a str>,
}

/// Barman's `_analyze_directory`: (compared by size and time, compared by checksum).
/// A file older than the horizon is safe; a newer one is safe when the destination
/// lacks it or differs in size or time (rsync copies it anyway); the rest, newer and
/// looking the same, must be compared by content. `dest` None: the destination could
/// not be listed, so every newer file is compared by content.
pub fn classify<'a>(
    listing: &'a [ListedEntry],
    dest: Option<&HashMap<&str, &ListedEntry>>,
    horizon: Option<&str>,
) -> (Vec<&'a ListedEntry>, Vec<&'a ListedEntry>) {
    let mut safe = Vec::new();
    let mut check = Vec::new();
    for entry in listing.iter().filter(|e| !e.is_dir) {
        let old = horizon.is_some_and(|h| entry.mtime.as_str() < h);
        let looks_same = |d: &HashMap<&str, &ListedEntry>| {
            d.get(entry.path.as_str())
                .is_some_and(|e| e.size == entry.size && e.mtime == entry.mtime)
        };
        match dest {
            _ if old => safe.push(entry),
            Some(d) if !looks_same(d) => safe.push(entry),
            _ => check.push(entry),
        }
    }
    (safe, check)
}

/// Purge the destination of what the backup has not, then copy the files that differ.
pub fn delta_copy(
    delta: &Delta<'_>,
    listing: &[ListedEntry],
    progress: &Progress,
) -> Result<(), RsyncError> {
    let tree = delta.tree;
    let ref_listing = match rsync::list(delta.transport, delta.filters, &format!("{}/", tree.dst)) {
        Ok(l) => Some(l),
        Err(e) => {
            tracing::error!(target: "barman.copy_controller", "Unable to retrieve reference directory file list. Using only source file information to decide which files need to be copied with checksums enabled: {e}");
            None
        }
    };
    let ref_has_content = ref_listing
        .iter()
        .flatten()
        .any(|e| e.path != "." && !(tree.label == "pgdata" && e.path == "pg_tblspc"));
    let ref_files: Option<HashMap<&str, &ListedEntry>> = ref_listing.as_ref().map(|l| {
        l.iter()
            .filter(|e| !e.is_dir)
            .map(|e| (e.path.as_str(), e))
            .collect()
    });
    let dirs: Vec<String> = listing
        .iter()
        .filter(|e| e.is_dir)
        .map(|e| e.path.clone())
        .collect();
    let keep: Vec<String> = if ref_has_content {
        listing
            .iter()
            .filter(|e| !e.is_dir)
            .map(|e| e.path.clone())
            .collect()
    } else {
        Vec::new()
    };
    rsync::purge(delta.transport, delta.filters, tree, &dirs, &keep)?;
    let (safe, check) = classify(listing, ref_files.as_ref(), delta.horizon);
    let files = AtomicU64::new(0);
    let bytes = AtomicU64::new(0);
    let count = |b: u64| {
        files.fetch_add(1, Ordering::Relaxed);
        bytes.fetch_add(b, Ordering::Relaxed);
        progress.add(b);
    };
    rsync::copy_lists(
        delta.transport,
        delta.filters,
        tree,
        &safe,
        &check,
        &count,
        &mut || {},
    )?;
    let total: u64 = listing.iter().filter(|e| !e.is_dir).map(|e| e.size).sum();
    tracing::info!(
        target: "barman.copy_controller",
        "Delta restore of {}: {} of {} files updated ({} of {} bytes), {} compared by checksum",
        tree.label,
        files.load(Ordering::Relaxed),
        safe.len() + check.len(),
        bytes.load(Ordering::Relaxed),
        total,
        check.len()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(path: &str, size: u64, mtime: &str) -> ListedEntry {
        ListedEntry {
            path: path.into(),
            size,
            mtime: mtime.into(),
            is_dir: false,
        }
    }

    fn paths(list: &[&ListedEntry]) -> Vec<String> {
        list.iter().map(|e| e.path.clone()).collect()
    }

    #[test]
    fn classify_checksums_newer_files_that_look_unchanged() {
        let old = "2026/01/01 09:00:00";
        let new = "2026/01/01 10:00:05";
        let listing = vec![
            file("old", 8192, old),
            file("same", 8192, new),
            file("resized", 8192, new),
            file("retimed", 8192, new),
            file("missing", 8192, new),
        ];
        let dest_entries = [
            file("old", 8192, old),
            file("same", 8192, new),
            file("resized", 16384, new),
            file("retimed", 8192, "2026/01/01 11:00:00"),
        ];
        let dest: HashMap<&str, &ListedEntry> =
            dest_entries.iter().map(|e| (e.path.as_str(), e)).collect();
        let horizon = "2026/01/01 10:00:00";
        let (safe, check) = classify(&listing, Some(&dest), Some(horizon));
        assert_eq!(paths(&safe), ["old", "resized", "retimed", "missing"]);
        assert_eq!(paths(&check), ["same"]);
        // A file in the horizon's own second is newer (checked), not older.
        let (safe, check) = classify(&listing, Some(&dest), Some(new));
        assert_eq!(paths(&check), ["same"]);
        assert_eq!(safe.len(), 4);
        // No horizon: even old-looking unchanged files are compared by content.
        let (_, check) = classify(&listing, Some(&dest), None);
        assert_eq!(paths(&check), ["old", "same"]);
        // Destination unknown: every file newer than the horizon is checked.
        let (safe, check) = classify(&listing, None, Some(horizon));
        assert_eq!(paths(&safe), ["old"]);
        assert_eq!(check.len(), 4);
    }

    #[test]
    fn rsync_time_is_local_and_whole_seconds() {
        let t = DateTime::parse_from_rfc3339("2026-01-01T10:00:05.9+00:00").unwrap();
        let local = t.with_timezone(&chrono::Local);
        assert_eq!(
            rsync_time(&t),
            local.format("%Y/%m/%d %H:%M:%S").to_string()
        );
        assert!(rsync_time(&t).ends_with(":05"));
    }
}
