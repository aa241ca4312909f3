//! The WAL half of `import-backup`: check the staged WAL set against the backup and the
//! server's archive (Barman's `_verify_staged_wals`), then move the new files into `wals/`
//! and merge their lines into the xlog db (Barman's `_import_backup_wals` merge-step, so
//! the db comes out as Barman's would) — every file renamed durably before the db names it,
//! the db replaced atomically under the xlogdb lock, no line ever written twice.

use crate::adapters::catalog::layout::ServerDirs;
use crate::adapters::catalog::{store, xlog_db};
use crate::adapters::durable::{self, failpoint};
use crate::adapters::export_tar::same_content;
use crate::adapters::lock::{LockFile, LockKind};
use crate::core::backup_info::BackupInfo;
use crate::core::backup_info::Field;
use crate::core::backup_wals::required_segments;
use crate::core::xlog_db::XlogDbEntry;
use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::{Path, PathBuf};

fn refuse(message: impl Into<String>) -> crate::Error {
    crate::Error::Uncaught(message.into())
}

/// What happens to one staged WAL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Action {
    /// Not in the archive: move the file, add the line.
    New,
    /// The file is already in `wals/` with the same bytes but the db lacks it (an import
    /// killed between the two steps): add the line only. Barman would call it a conflict.
    Adopt,
    /// File and line already there and equal (Barman's idempotent re-import): nothing.
    Present,
}

/// The verified WAL set of a staged tarball, in name order.
#[derive(Debug, Default)]
pub struct StagedWals {
    items: Vec<(XlogDbEntry, String, Action)>,
}

fn relpath(name: &str) -> String {
    format!("{}/{name}", &name[..16])
}

/// The tarball's xlog.db entries with their stripped lines.
fn staged_lines(staging: &Path) -> crate::Result<Vec<(XlogDbEntry, String)>> {
    let text = std::fs::read_to_string(staging.join("xlog.db"))
        .map_err(|e| refuse(format!("Failed to read xlog.db from tarball: {e}")))?;
    let mut lines = Vec::new();
    for (number, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() {
            continue;
        }
        let entry = XlogDbEntry::parse(line).map_err(|e| {
            refuse(format!(
                "Malformed tarball's xlog.db entry at line {}: {e}",
                number + 1
            ))
        })?;
        lines.push((entry, line.to_string()));
    }
    Ok(lines)
}

/// Check the staged WALs: exactly the backup's `begin_wal..end_wal`, each file present,
/// none in conflict with the archive (same name, other bytes or other metadata).
///
/// # Errors
/// The first problem, in Barman's words where it has them.
pub fn verify(
    dirs: &ServerDirs,
    staging: &Path,
    info: &BackupInfo,
    files: &BTreeSet<String>,
) -> crate::Result<StagedWals> {
    let required = required_segments(
        info.raw(Field::BeginWal).unwrap_or_default(),
        info.raw(Field::EndWal).unwrap_or_default(),
        info.int(Field::Version),
        crate::commands::catalog::segment_size(info),
    );
    if required.is_empty() {
        return Err(refuse("Failed to load backup.info: no begin_wal/end_wal"));
    }
    let lines = staged_lines(staging)?;
    check_coverage(&required, &lines, staging)?;
    for file in files.iter().filter(|f| f.starts_with("wals/")) {
        if !required
            .iter()
            .any(|r| format!("wals/{}", relpath(r)) == *file)
        {
            return Err(refuse(format!(
                "Tarball contains unexpected member: '{file}'"
            )));
        }
    }
    let wanted: BTreeSet<&str> = required.iter().map(String::as_str).collect();
    let mut server: BTreeMap<String, XlogDbEntry> = BTreeMap::new();
    store::for_each_wal(dirs, |entry| {
        if wanted.contains(entry.name.as_str()) && !server.contains_key(&entry.name) {
            server.insert(entry.name.clone(), entry);
        }
    })?;
    let mut staged = StagedWals::default();
    let mut conflicts = Vec::new();
    for (entry, line) in lines {
        let ours = staging.join("wals").join(relpath(&entry.name));
        let theirs = dirs.wals_directory.join(relpath(&entry.name));
        match classify(&entry, &ours, &theirs, server.get(&entry.name))? {
            Some(action) => staged.items.push((entry, line, action)),
            None => conflicts.push(entry.name),
        }
    }
    if conflicts.is_empty() {
        return Ok(staged);
    }
    let mut msg = format!(
        "WAL file(s) already exist in target server with conflicting content: {}",
        conflicts[..conflicts.len().min(5)].join(", ")
    );
    if conflicts.len() > 5 {
        msg.push_str(&format!(" (and {} more)", conflicts.len() - 5));
    }
    Err(refuse(msg))
}

/// Every required WAL listed once, in order, with its file; nothing else listed.
fn check_coverage(
    required: &[String],
    lines: &[(XlogDbEntry, String)],
    staging: &Path,
) -> crate::Result<()> {
    let mut listed = lines.iter().map(|(e, _)| e.name.as_str());
    for name in required {
        match listed.next() {
            Some(got) if got == name => {
                if !staging.join("wals").join(relpath(name)).is_file() {
                    return Err(refuse(format!(
                        "WAL file listed in tarball's xlog.db but not found under its wals/ directory: {name}"
                    )));
                }
            }
            Some(got) if got > name.as_str() => {
                return Err(refuse(format!(
                "WAL file required for backup consistency not found in tarball's xlog.db: {name}"
            )))
            }
            Some(got) => {
                return Err(refuse(format!(
                    "Tarball's xlog.db lists a WAL file the backup does not need: {got}"
                )))
            }
            None => {
                return Err(refuse(format!(
                "WAL file required for backup consistency not found in tarball's xlog.db: {name}"
            )))
            }
        }
    }
    match listed.next() {
        Some(extra) => Err(refuse(format!(
            "Tarball's xlog.db lists a WAL file the backup does not need: {extra}"
        ))),
        None => Ok(()),
    }
}

/// Barman's `_wal_conflicts_with_server` (compression left out of the comparison, as
/// there), plus the adopt case; `None` for a conflict.
fn classify(
    entry: &XlogDbEntry,
    ours: &Path,
    theirs: &Path,
    server: Option<&XlogDbEntry>,
) -> crate::Result<Option<Action>> {
    let has_file = theirs.exists();
    let same_bytes = || {
        same_content(ours, theirs).map_err(|source| crate::Error::Io {
            op: "compare",
            path: theirs.to_path_buf(),
            source,
        })
    };
    Ok(match (server, has_file) {
        (None, false) => Some(Action::New),
        (None, true) => same_bytes()?.then_some(Action::Adopt),
        (Some(s), true) => (s.size == entry.size
            && s.time == entry.time
            && s.encryption == entry.encryption
            && same_bytes()?)
        .then_some(Action::Present),
        (Some(_), false) => None,
    })
}

/// Move the new WAL files into the archive, then merge their lines into the xlog db.
///
/// # Errors
/// A file cannot be moved or the db cannot be written; what was moved stays (it is the
/// server's own WAL, and a re-run adopts it).
pub fn publish(
    dirs: &ServerDirs,
    lock_dir: &Path,
    staging: &Path,
    wals: &StagedWals,
) -> crate::Result<()> {
    xlog_db::ensure(dirs, lock_dir).map_err(crate::Error::from)?;
    for (entry, _, action) in &wals.items {
        if *action == Action::New {
            let from = staging.join("wals").join(relpath(&entry.name));
            move_wal(&from, &dirs.wals_directory.join(relpath(&entry.name)))
                .map_err(|e| refuse(format!("Failed to import WAL files: {e}")))?;
        }
    }
    failpoint("import.wals_moved");
    merge_xlog_db(dirs, lock_dir, wals)?;
    failpoint("import.xlogdb_written");
    Ok(())
}

/// Rename (or, across file systems, copy to a temporary name, fsync, rename) durably.
fn move_wal(from: &Path, to: &Path) -> std::io::Result<()> {
    let dir = to.parent().map(Path::to_path_buf).unwrap_or_default();
    durable::create_dir_all_durable(&dir)?;
    match durable::rename_durable(from, to) {
        Err(e) if e.raw_os_error() == Some(libc::EXDEV) => {
            let tmp: PathBuf = dir.join(format!(
                ".{}.import.tmp",
                crate::adapters::catalog::layout::file_name(to)
            ));
            std::fs::copy(from, &tmp)?;
            std::fs::File::open(&tmp)?.sync_all()?;
            durable::rename_durable(&tmp, to)
        }
        other => other,
    }
}

/// Barman's single-pass merge of the sorted tarball lines into the server's db (its order
/// kept, lines stripped and newline-ended), streamed into a new file renamed over the old.
fn merge_xlog_db(dirs: &ServerDirs, lock_dir: &Path, wals: &StagedWals) -> crate::Result<()> {
    use std::io::BufRead;
    let _lock = LockFile::acquire(lock_dir, &LockKind::XlogDb(dirs.name.clone()))
        .map_err(crate::Error::from)?;
    let path = dirs.xlog_db();
    let io = |op, source| crate::Error::Io {
        op,
        path: path.clone(),
        source,
    };
    let current = std::fs::File::open(&path).map_err(|e| io("open", e))?;
    let mut pending = wals
        .items
        .iter()
        .filter(|(_, _, action)| *action != Action::Present)
        .peekable();
    durable::write_atomic_with(&path, |w: &mut dyn Write| {
        for raw in std::io::BufReader::new(current).lines() {
            let raw = raw?;
            let line = raw.trim();
            let Some(name) = line.split_whitespace().next() else {
                continue;
            };
            while let Some((_, staged, _)) = pending.next_if(|(e, _, _)| e.name.as_str() < name) {
                writeln!(w, "{staged}")?;
            }
            pending.next_if(|(e, _, _)| e.name == name);
            writeln!(w, "{line}")?;
        }
        for (_, staged, _) in pending.by_ref() {
            writeln!(w, "{staged}")?;
        }
        Ok(())
    })
    .map_err(|e| io("write", e))
}
