//! `archive-wal` without hooks, as a pipeline: one preparing thread per core (compression,
//! encryption, checksum, commit-time scan, each file read once) feeds this thread, which
//! commits the files in archive order, in batches of whatever is ready
//! ([`wal_commit::commit_batch`]: one fsync per step per batch). Committing waits on the
//! disk while the cores go on compressing the next files; a worker runs at most a few
//! files ahead of the last commit, so a slow disk bounds the temporaries on it.

use super::{log_segment, record, Pass};
use crate::adapters::catalog::wal_archive::{self, Prepared};
use crate::adapters::catalog::wal_commit;
use crate::output::Output;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Condvar, Mutex, PoisonError};

/// Files a worker may prepare ahead of the last commit, per worker: enough that a commit
/// batch never leaves a core idle, few enough to bound the uncommitted temporaries.
const AHEAD_PER_WORKER: usize = 4;

/// Why one file was not archived.
pub(super) enum FileError {
    /// gpg could not encrypt it: Barman's exception text.
    Gpg(String),
    /// Anything else, reported for this file only.
    Other(String),
}

impl From<wal_archive::ArchiveError> for FileError {
    fn from(e: wal_archive::ArchiveError) -> Self {
        match e {
            wal_archive::ArchiveError::Encrypt(g) => FileError::Gpg(g.barman_text()),
            other => FileError::Other(other.to_string()),
        }
    }
}

type Ready = (usize, Result<Prepared, FileError>);

/// What the workers and the committer share.
struct Shared {
    /// The next file to hand to a worker.
    next: AtomicUsize,
    /// Set when the run ends early (gpg failed): workers take no more files.
    stop: AtomicBool,
    /// Files committed so far (a prefix of the batch).
    committed: Mutex<usize>,
    moved: Condvar,
    window: usize,
}

impl Shared {
    /// The next file to prepare, once it is within the window; `None` when there is none
    /// left or the run stopped.
    fn claim(&self, total: usize) -> Option<usize> {
        let i = self.next.fetch_add(1, Ordering::SeqCst);
        if i >= total {
            return None;
        }
        let mut committed = self
            .committed
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        while i >= *committed + self.window && !self.stop.load(Ordering::SeqCst) {
            committed = self
                .moved
                .wait(committed)
                .unwrap_or_else(PoisonError::into_inner);
        }
        (!self.stop.load(Ordering::SeqCst)).then_some(i)
    }

    fn advance(&self, to: usize) {
        *self
            .committed
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = to;
        self.moved.notify_all();
    }

    fn halt(&self) {
        self.stop.store(true, Ordering::SeqCst);
        // Under the lock, so a worker between its check and its wait still sees it.
        let _guard = self
            .committed
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        self.moved.notify_all();
    }
}

/// Archive the pass's files: prepared on every core, committed here in archive order.
pub(super) fn archive_parallel(out: &mut Output, pass: &Pass<'_>) -> crate::Result<()> {
    let total = pass.batch.files.len();
    if total == 0 {
        return Ok(());
    }
    let workers = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(total);
    let shared = Shared {
        next: AtomicUsize::new(0),
        stop: AtomicBool::new(false),
        committed: Mutex::new(0),
        moved: Condvar::new(),
        window: workers * AHEAD_PER_WORKER,
    };
    let (tx, rx) = mpsc::channel::<Ready>();
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                let tx = tx.clone();
                let shared = &shared;
                scope.spawn(move || prepare_loop(shared, pass, &tx))
            })
            .collect();
        drop(tx);
        let result = commit_in_order(out, pass, &rx, &shared);
        shared.halt();
        // What was prepared beyond a stop stays in incoming/ for the next run.
        for (_, prepared) in rx.iter() {
            if let Ok(p) = prepared {
                p.discard();
            }
        }
        // Joined here so a panicked worker is the error below, not a panic of the scope.
        let panicked = handles.into_iter().any(|h| h.join().is_err());
        match result {
            Ok(()) if panicked => Err(crate::Error::Uncaught(
                "compression worker panicked".to_string(),
            )),
            other => other,
        }
    })
}

fn prepare_loop(shared: &Shared, pass: &Pass<'_>, tx: &mpsc::Sender<Ready>) {
    let files = &pass.batch.files;
    while let Some(i) = shared.claim(files.len()) {
        let file = &files[i];
        let prepared = file
            .parse::<crate::core::wal_name::WalFileName>()
            .map_err(|e| FileError::Other(e.to_string()))
            .and_then(|wal| {
                wal_archive::prepare(pass.dirs, &pass.dir.join(file), &wal, pass.storage)
                    .map_err(FileError::from)
            });
        if let Err(mpsc::SendError((_, Ok(p)))) = tx.send((i, prepared)) {
            p.discard();
            return;
        }
    }
}

/// Receive prepared files and commit each run of consecutive ones that is ready.
fn commit_in_order(
    out: &mut Output,
    pass: &Pass<'_>,
    rx: &mpsc::Receiver<Ready>,
    shared: &Shared,
) -> crate::Result<()> {
    let total = pass.batch.files.len();
    let mut ready = BTreeMap::new();
    let mut next = 0;
    while next < total {
        // Every sender gone before the last file came: a worker panicked.
        let Ok((i, prepared)) = rx.recv() else {
            break;
        };
        ready.insert(i, prepared);
        ready.extend(rx.try_iter());
        #[cfg(feature = "failpoints")]
        gather_a_pair_for_failpoints(rx, &mut ready, next, total);
        let start = next;
        let mut batch = Vec::new();
        while let Some(prepared) = ready.remove(&next) {
            batch.push(prepared);
            next += 1;
        }
        let result = commit_and_report(out, pass, start, batch);
        shared.advance(next);
        if result.is_err() {
            ready
                .into_values()
                .filter_map(Result::ok)
                .for_each(Prepared::discard);
            return result;
        }
    }
    Ok(())
}

/// How many files a batch holds depends on which worker finishes first, so tests that kill
/// inside a batch of several files (`BARMAN_FAILPOINT=archive.batch.*`) make the committer
/// wait until the next two files are both ready. Failpoint builds only.
#[cfg(feature = "failpoints")]
fn gather_a_pair_for_failpoints(
    rx: &mpsc::Receiver<Ready>,
    ready: &mut BTreeMap<usize, Result<Prepared, FileError>>,
    next: usize,
    total: usize,
) {
    let wanted = std::env::var("BARMAN_FAILPOINT").is_ok_and(|f| f.starts_with("archive.batch."));
    // The pair is within every worker's window (at least AHEAD_PER_WORKER files).
    while wanted
        && next + 1 < total
        && !(ready.contains_key(&next) && ready.contains_key(&(next + 1)))
    {
        match rx.recv() {
            Ok((i, prepared)) => {
                ready.insert(i, prepared);
            }
            Err(_) => break,
        }
    }
}

/// Commit `batch` (the files from `start` on) and report each file as Barman does.
fn commit_and_report(
    out: &mut Output,
    pass: &Pass<'_>,
    start: usize,
    mut batch: Vec<Result<Prepared, FileError>>,
) -> crate::Result<()> {
    // Barman's archiver lets gpg's failure end the run: the files before it are archived,
    // those after it stay in incoming/ or streaming/ for the next one.
    let stop = batch
        .iter()
        .position(|r| matches!(r, Err(FileError::Gpg(_))));
    let after = stop.map(|k| batch.split_off(k)).unwrap_or_default();
    let mut failures = Vec::with_capacity(batch.len());
    let mut prepared = Vec::with_capacity(batch.len());
    for item in batch {
        match item {
            Ok(p) => {
                prepared.push(p);
                failures.push(None);
            }
            Err(e) => failures.push(Some(e)),
        }
    }
    let mut committed = wal_commit::commit_batch(pass.dirs, pass.lock_dir, prepared).into_iter();
    let mut first_error = Ok(());
    for (k, failure) in failures.into_iter().enumerate() {
        let outcome = match failure {
            Some(e) => Err(e),
            None => committed
                .next()
                .expect("commit_batch gives one outcome per file")
                .map_err(FileError::from),
        };
        let reported = report(out, pass, start + k, outcome);
        if first_error.is_ok() {
            first_error = reported;
        }
    }
    first_error?;
    let mut after = after.into_iter();
    if let Some(Err(FileError::Gpg(text))) = after.next() {
        let n = start + stop.unwrap_or_default();
        let file = &pass.batch.files[n];
        out.info_unlogged(&format!("\t{file}"));
        log_segment(n, pass.name, pass.source, pass.batch, file);
        after.filter_map(Result::ok).for_each(Prepared::discard);
        return Err(crate::Error::Uncaught(text));
    }
    Ok(())
}

/// Barman's lines for the `n`-th file of the pass.
fn report(
    out: &mut Output,
    pass: &Pass<'_>,
    n: usize,
    outcome: Result<wal_archive::Archived, FileError>,
) -> crate::Result<()> {
    let (name, file) = (pass.name, &pass.batch.files[n]);
    out.info_unlogged(&format!("\t{file}"));
    log_segment(n, name, pass.source, pass.batch, file);
    match outcome {
        Ok(archived) => record(
            out,
            name,
            pass.errors_dir,
            &pass.dir.join(file),
            file,
            pass.stamp,
            archived,
        ),
        Err(FileError::Gpg(text)) => Err(crate::Error::Uncaught(text)),
        Err(FileError::Other(e)) => {
            out.error(&format!(
                "Archiving of {file} for server {name} failed: {e}"
            ));
            Ok(())
        }
    }
}
