//! Committing prepared WAL files in batches: the same steps and the same order per file as
//! [`wal_archive::commit`], each step done once for the whole batch. Every file's archived
//! copy is fsynced and renamed, then each archive folder is fsynced once; then xlog.db gets
//! all the batch's lines in one fsynced append (the checksum and commit-time indexes
//! likewise); only then are the sources removed, and their folder fsynced once. So a WAL
//! is still catalogued only once its copy and folder entry are durable, and removed from
//! `incoming/` only once it is catalogued; a kill between steps leaves what a re-run
//! completes, as with one file at a time. (Five fsyncs per file become five per batch: they
//! were what kept the compressing cores idle.)

use super::commit_index;
use super::layout::ServerDirs;
use super::store::CatalogError;
use super::wal_archive::{self, ArchiveError, Archived, Prepared, Step};
use super::wal_checksums::{self, PlainDigest};
use super::xlog_db;
use crate::adapters::durable::{self, failpoint};
use crate::core::commit_index::IndexLine;
use crate::core::xlog_db::XlogDbEntry;
use std::collections::BTreeSet;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

type Outcome = Result<Archived, ArchiveError>;

/// One file of a batch, in place under its final name but not yet catalogued.
struct Placed {
    /// Its position in the batch.
    at: usize,
    src: PathBuf,
    dst: PathBuf,
    digest: Option<PlainDigest>,
    commits: Option<IndexLine>,
    /// Its xlog.db line, from the copy in place.
    entry: XlogDbEntry,
}

fn io<'a>(op: &'static str, path: &'a Path) -> impl FnOnce(std::io::Error) -> CatalogError + 'a {
    move |source| CatalogError::Io {
        op,
        path: path.to_path_buf(),
        source,
    }
}

fn parent(path: &Path) -> PathBuf {
    path.parent().map(Path::to_path_buf).unwrap_or_default()
}

/// Commit `batch` in its order; one outcome per file, in the same order. Files that store
/// nothing new (already archived, duplicates) go through [`wal_archive::commit`] one at a
/// time, after the files before them, so xlog.db keeps the archive order.
pub fn commit_batch(dirs: &ServerDirs, lock_dir: &Path, batch: Vec<Prepared>) -> Vec<Outcome> {
    let mut outcomes = Vec::with_capacity(batch.len());
    let mut run = Vec::new();
    for prepared in batch {
        if prepared.stores() {
            run.push(prepared);
        } else {
            outcomes.extend(commit_run(dirs, lock_dir, std::mem::take(&mut run)));
            outcomes.push(wal_archive::commit(dirs, lock_dir, prepared));
        }
    }
    outcomes.extend(commit_run(dirs, lock_dir, run));
    outcomes
}

/// Commit files that each store a new archived copy.
fn commit_run(dirs: &ServerDirs, lock_dir: &Path, run: Vec<Prepared>) -> Vec<Outcome> {
    let mut outcomes: Vec<Option<Outcome>> = (0..run.len()).map(|_| None).collect();
    let mut placed = Vec::with_capacity(run.len());
    let several = run.len() > 1;
    for (at, prepared) in run.into_iter().enumerate() {
        if at == 1 {
            // Tests kill here: one file of the batch in place, the next not yet.
            failpoint("archive.batch.mid_place");
        }
        match place(at, prepared) {
            Ok(p) => placed.push(p),
            Err(e) => outcomes[at] = Some(Err(e)),
        }
    }
    if !placed.is_empty() {
        let folders: BTreeSet<PathBuf> = placed.iter().map(|p| parent(&p.dst)).collect();
        for folder in folders {
            if let Err(e) = durable::fsync_dir(&folder) {
                let text = io("fsync", &folder)(e).to_string();
                let failed = |p: &Placed| parent(&p.dst) == folder;
                fail_where(&mut placed, &mut outcomes, failed, || {
                    ArchiveError::Batch(text.clone())
                });
            }
        }
        failpoint("archive.after_store");
        if several {
            failpoint("archive.batch.after_store");
        }
        catalog(dirs, lock_dir, &mut placed, &mut outcomes);
        failpoint("archive.after_catalog");
        if several {
            failpoint("archive.batch.after_catalog");
        }
        drop_sources(&mut placed, &mut outcomes);
    }
    for p in placed {
        outcomes[p.at] = Some(Ok(Archived::Stored(p.entry)));
    }
    outcomes
        .into_iter()
        .map(|o| o.expect("every file of the batch has an outcome"))
        .collect()
}

/// Fsync the file's copy and rename it into place (or link the source as it is).
fn place(at: usize, prepared: Prepared) -> Result<Placed, ArchiveError> {
    let Prepared {
        src,
        name,
        dst,
        step,
        digest,
        commits,
        unsynced,
    } = prepared;
    let (recorded, encrypted) = match step {
        Step::Transformed(tmp, compression, encryption) => {
            let synced = unsynced.map_or(Ok(()), |file| file.sync_all());
            if let Err(e) = synced.and_then(|()| std::fs::rename(&tmp, &dst)) {
                let _ = std::fs::remove_file(&tmp);
                return Err(io("store", &tmp)(e).into());
            }
            (compression, encryption)
        }
        Step::AsIs(detected) => {
            wal_archive::link_or_copy(&src, &dst)?;
            (detected, None)
        }
        Step::AlreadyArchived(_) | Step::Duplicate => {
            unreachable!("commit_batch sends only files that store a copy")
        }
    };
    let meta = std::fs::metadata(&dst).map_err(io("stat", &dst))?;
    let entry = XlogDbEntry {
        name: name.to_string(),
        size: meta.len(),
        time: meta.mtime() as f64 + meta.mtime_nsec() as f64 * 1e-9,
        compression: recorded,
        encryption: encrypted,
    };
    Ok(Placed {
        at,
        src,
        dst,
        digest,
        commits,
        entry,
    })
}

/// Take the files `which` selects out of the batch, failing each with `error()`.
fn fail_where(
    placed: &mut Vec<Placed>,
    outcomes: &mut [Option<Outcome>],
    which: impl Fn(&Placed) -> bool,
    error: impl Fn() -> ArchiveError,
) {
    placed.retain(|p| {
        if which(p) {
            outcomes[p.at] = Some(Err(error()));
            false
        } else {
            true
        }
    });
}

/// Append all the placed files' lines to xlog.db at once, then their checksums and
/// commit-time lines.
fn catalog(
    dirs: &ServerDirs,
    lock_dir: &Path,
    placed: &mut Vec<Placed>,
    outcomes: &mut [Option<Outcome>],
) {
    let entries: Vec<XlogDbEntry> = placed.iter().map(|p| p.entry.clone()).collect();
    if let Err(e) = xlog_db::append(dirs, lock_dir, &entries) {
        let text = e.to_string();
        fail_where(
            placed,
            outcomes,
            |_| true,
            || ArchiveError::Batch(text.clone()),
        );
        return;
    }
    let digests: Vec<(&str, &PlainDigest)> = placed
        .iter()
        .filter_map(|p| p.digest.as_ref().map(|d| (p.entry.name.as_str(), d)))
        .collect();
    wal_checksums::record_all(dirs, lock_dir, &digests);
    let lines: Vec<IndexLine> = placed.iter().filter_map(|p| p.commits.clone()).collect();
    commit_index::append_all(dirs, &lines);
}

/// Remove the catalogued files' sources, then fsync their folders once.
fn drop_sources(placed: &mut Vec<Placed>, outcomes: &mut [Option<Outcome>]) {
    placed.retain(|p| match std::fs::remove_file(&p.src) {
        Ok(()) => true,
        Err(e) => {
            outcomes[p.at] = Some(Err(io("remove", &p.src)(e).into()));
            false
        }
    });
    let folders: BTreeSet<PathBuf> = placed.iter().map(|p| parent(&p.src)).collect();
    for folder in folders {
        if let Err(e) = durable::fsync_dir(&folder) {
            let text = io("fsync", &folder)(e).to_string();
            let failed = |p: &Placed| parent(&p.src) == folder;
            fail_where(placed, outcomes, failed, || {
                ArchiveError::Batch(text.clone())
            });
        }
    }
}
