//! `rsync` as Barman drives it for the rsync and local-rsync backup methods: argv built from
//! the same options (`-rLKpts --delete-excluded --inplace`, `-e <ssh_command> -o
//! BatchMode=yes -o StrictHostKeyChecking=no`, `-z`, `--bwlimit`, `--link-dest` /
//! `--copy-dest`, include / exclude / protect filters), a `--list-only` analysis of the
//! source, and copies of explicit file lists (`--files-from`) so several rsync processes can
//! share one directory. Exit code 24 (files vanished during the copy) is accepted, as Barman
//! accepts it: PostgreSQL removes files while it runs and WAL replay recreates them.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// A failed rsync run.
#[derive(Debug, thiserror::Error)]
pub enum RsyncError {
    /// rsync could not be started.
    #[error("cannot run rsync: {0}")]
    Spawn(std::io::Error),
    /// rsync ended with an error.
    #[error("rsync error (exit code {code}): {stderr}")]
    Failed {
        /// The exit code (-1 when killed by a signal).
        code: i32,
        /// The last lines rsync wrote on stderr.
        stderr: String,
    },
    /// The file list could not be written.
    #[error("cannot write the rsync file list {path}: {source}")]
    FileList {
        /// The list's path.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The user interrupted the copy (Ctrl-C, SIGTERM).
    #[error("{0}")]
    Interrupted(&'static str),
    /// A `--list-only` line could not be understood.
    #[error("Unable to parse rsync --list-only output line: '{0}'")]
    Listing(String),
}

/// How rsync reaches the source.
#[derive(Debug, Clone)]
pub struct Transport {
    /// `ssh_command` split into words (None for local-rsync).
    pub ssh: Option<Vec<String>>,
    /// `network_compression` (`-z`).
    pub compress: bool,
    /// PATH for the child (path_prefix first).
    pub path: String,
}

impl Transport {
    /// The source spelled for rsync (`:<path>` over ssh).
    pub fn source(&self, path: &str) -> String {
        if self.ssh.is_some() {
            format!(":{path}")
        } else {
            path.to_string()
        }
    }
}

/// Filters and options of one copied item (a tablespace, PGDATA, a file).
#[derive(Debug, Clone, Default)]
pub struct Filters {
    /// `--include=` patterns (given first).
    pub include: Vec<String>,
    /// `--exclude=` patterns.
    pub exclude: Vec<String>,
    /// `--exclude=` + `--filter=P_` patterns (other items own these paths).
    pub exclude_and_protect: Vec<String>,
    /// `--bwlimit=` in KiB/s.
    pub bwlimit: Option<u64>,
}

/// One entry of a `--list-only` listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedEntry {
    /// Path relative to the listed directory (`.` for itself).
    pub path: String,
    /// Size in bytes.
    pub size: u64,
    /// Modification time, `YYYY/MM/DD HH:MM:SS` in the source host's local time.
    pub mtime: String,
    /// True for a directory.
    pub is_dir: bool,
}

fn base_args(transport: &Transport, filters: &Filters) -> Vec<String> {
    let mut args = vec![
        "-rLKpts".to_string(),
        "--delete-excluded".to_string(),
        "--inplace".to_string(),
    ];
    if let Some(ssh) = &transport.ssh {
        args.push("-e".into());
        args.push(shell_words::join(ssh));
    }
    if transport.compress {
        args.push("-z".into());
    }
    for pattern in &filters.include {
        args.push(format!("--include={pattern}"));
    }
    for pattern in &filters.exclude {
        args.push(format!("--exclude={pattern}"));
    }
    for pattern in &filters.exclude_and_protect {
        args.push(format!("--exclude={pattern}"));
        args.push(format!("--filter=P_{pattern}"));
    }
    if let Some(kbps) = filters.bwlimit.filter(|k| *k > 0) {
        args.push(format!("--bwlimit={kbps}"));
    }
    args
}

fn command(transport: &Transport, args: &[String]) -> Command {
    let mut cmd = super::spawn::child_command("rsync");
    cmd.args(args).env("PATH", &transport.path);
    cmd
}

/// List `src` (a directory spelled with a trailing `/`) recursively with the item's
/// filters applied, as Barman's analysis phase does.
pub fn list(
    transport: &Transport,
    filters: &Filters,
    src: &str,
) -> Result<Vec<ListedEntry>, RsyncError> {
    tracing::debug!(
        target: "barman.copy_controller",
        "list_files: {}",
        crate::core::py_literal::str_repr(src)
    );
    let mut args = base_args(transport, filters);
    args.extend(["--no-human-readable".into(), "--list-only".into()]);
    args.push(src.to_string());
    let output = super::spawn::output(command(transport, &args).stdin(Stdio::null()))
        .map_err(RsyncError::Spawn)?;
    check_status(output.status, &output.stderr)?;
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(parse_listing_line)
        .collect()
}

/// Parse one `--list-only` line: `<mode> <size> <YYYY/MM/DD> <HH:MM:SS> <path>`.
pub fn parse_listing_line(line: &str) -> Result<ListedEntry, RsyncError> {
    let bad = || RsyncError::Listing(line.to_string());
    let mut rest = line;
    let mut next = || {
        let trimmed = rest.trim_start();
        let end = trimmed.find(' ').unwrap_or(trimmed.len());
        let (word, tail) = trimmed.split_at(end);
        rest = tail;
        word.to_string()
    };
    let mode = next();
    let size = next().replace(',', "").parse().map_err(|_| bad())?;
    let date = next();
    let time = next();
    let path = rest.strip_prefix(' ').ok_or_else(bad)?.to_string();
    if mode.is_empty() || date.len() != 10 || time.len() != 8 || path.is_empty() {
        return Err(bad());
    }
    Ok(ListedEntry {
        is_dir: mode.starts_with('d'),
        path,
        size,
        mtime: format!("{date} {time}"),
    })
}

/// Options of one copy run.
#[derive(Debug, Clone)]
pub struct CopyRun<'a> {
    /// The source directory (with a trailing `/`) or file.
    pub src: &'a str,
    /// The destination directory (or file, for a single file), spelled for rsync
    /// (`:<path>` when remote).
    pub dst: &'a str,
    /// Relative paths to copy (None: the whole source, recursively).
    pub files: Option<&'a [String]>,
    /// Compare content (`--checksum`) instead of size and time.
    pub checksum: bool,
    /// `--link-dest=` / `--copy-dest=` directory, with its mode word (`link` / `copy`).
    pub reuse: Option<(&'a str, &'a Path)>,
    /// Only directories (build the tree before the parallel file copies).
    pub dirs_only: bool,
    /// Where to write the `--files-from` list.
    pub list_path: Option<&'a Path>,
    /// A missing source is not an error (`--ignore-missing-args`).
    pub optional: bool,
}

impl<'a> CopyRun<'a> {
    /// A plain copy of `src` to `dst`: no file list, no reuse, every file compared by size
    /// and time, a missing source an error.
    pub fn whole(src: &'a str, dst: &'a str) -> Self {
        CopyRun {
            src,
            dst,
            files: None,
            checksum: false,
            reuse: None,
            dirs_only: false,
            list_path: None,
            optional: false,
        }
    }
}

/// Copy `src` to `dst` with no filters (a file, or a folder's content with a trailing `/`).
pub fn copy_plain(transport: &Transport, src: &str, dst: &str) -> Result<(), RsyncError> {
    copy(
        transport,
        &Filters::default(),
        &CopyRun::whole(src, dst),
        &mut |_| {},
    )
}

/// Run one rsync copy; `on_file(bytes)` is called for every file rsync reports done.
pub fn copy(
    transport: &Transport,
    filters: &Filters,
    run: &CopyRun<'_>,
    on_file: &mut dyn FnMut(u64),
) -> Result<(), RsyncError> {
    let mut args = base_args(transport, filters);
    if let Some((mode, dir)) = run.reuse {
        args.push(format!("--{mode}-dest={}", dir.display()));
    }
    if run.checksum {
        args.push("--checksum".into());
    }
    if run.optional {
        args.push("--ignore-missing-args".into());
    }
    if run.dirs_only {
        args.push("--include=*/".into());
        args.push("--exclude=*".into());
    }
    if let (Some(files), Some(list_path)) = (run.files, run.list_path) {
        write_list(list_path, files)?;
        args.push(format!("--files-from={}", list_path.display()));
    }
    args.extend([
        "--itemize-changes".into(),
        "--itemize-changes".into(),
        "--out-format=%i %l %n".into(),
    ]);
    args.push(run.src.to_string());
    args.push(run.dst.to_string());
    let mut child = super::spawn::logged(&mut command(transport, &args))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(RsyncError::Spawn)?;
    let stderr = child.stderr.take();
    let (finished, done) = std::sync::mpsc::channel::<()>();
    let watcher = {
        let pid = child.id();
        std::thread::spawn(move || super::interrupt::watch_child(pid, &done))
    };
    let stderr_reader = std::thread::spawn(move || {
        let mut text = Vec::new();
        if let Some(mut e) = stderr {
            let _ = std::io::Read::read_to_end(&mut e, &mut text);
        }
        text
    });
    if let Some(stdout) = child.stdout.take() {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let mut words = line.split_whitespace();
            let item = words.next().unwrap_or("");
            if item.len() == 11 && item.as_bytes().get(1) == Some(&b'f') {
                if let Some(size) = words.next().and_then(|s| s.parse().ok()) {
                    on_file(size);
                }
            }
        }
    }
    let status = child
        .wait()
        .inspect(super::spawn::log_status)
        .map_err(RsyncError::Spawn);
    drop(finished);
    let _ = watcher.join();
    let stderr = stderr_reader.join().unwrap_or_default();
    if let Some(signal) = super::interrupt::received() {
        return Err(RsyncError::Interrupted(super::interrupt::reason(signal)));
    }
    check_status(status?, &stderr)
}

/// A directory copied by several rsync processes sharing its file list.
#[derive(Debug, Clone)]
pub struct TreeCopy<'a> {
    /// Source directory with a trailing `/` (spelled for rsync).
    pub src: &'a str,
    /// Destination directory (spelled for rsync).
    pub dst: &'a str,
    /// `--link-dest` / `--copy-dest` (mode word, directory).
    pub reuse: Option<(&'a str, &'a Path)>,
    /// Files whose mtime (`YYYY/MM/DD HH:MM:SS`) is at or after this are compared by
    /// checksum (they may have changed within the same second as the reused copy).
    pub checksum_from: Option<&'a str>,
    /// Parallel rsync processes.
    pub jobs: usize,
    /// The transport of the first worker (the largest share of the files) when it differs:
    /// a backup's shared ssh master, already open, so that stream starts without a
    /// handshake while the others open connections of their own (each its own cipher
    /// process, so the streams still spread over the cores).
    pub first_worker: Option<&'a Transport>,
    /// Workers started per `batch_period`.
    pub batch_size: usize,
    /// Seconds between batches of starts.
    pub batch_period: u64,
    /// Retries of a failed rsync.
    pub retry_times: u32,
    /// Seconds between retries.
    pub retry_sleep: u64,
    /// Where the `--files-from` lists go.
    pub lists_dir: &'a Path,
    /// A label for the list names.
    pub label: &'a str,
}

/// Split files across `jobs` lists of similar total size (largest first).
pub fn split(files: &[&ListedEntry], jobs: usize) -> Vec<Vec<String>> {
    let mut sorted: Vec<&&ListedEntry> = files.iter().collect();
    sorted.sort_by(|a, b| b.size.cmp(&a.size).then(a.path.cmp(&b.path)));
    let mut buckets: Vec<(u64, Vec<String>)> = vec![(0, Vec::new()); jobs.max(1)];
    for file in sorted {
        if let Some(bucket) = buckets.iter_mut().min_by_key(|(size, _)| *size) {
            bucket.0 += file.size.max(1);
            bucket.1.push(file.path.clone());
        }
    }
    buckets
        .into_iter()
        .map(|(_, l)| l)
        .filter(|l| !l.is_empty())
        .collect()
}

/// Copy the files of `listing` in `jobs` parallel rsync processes (each with its own
/// file list; retried as configured). `on_bytes` is called from the workers for every
/// file done; `tick` runs on the calling thread while they work (the backup keeps its
/// PostgreSQL session alive there). Returns the sum of the workers' times.
pub fn copy_tree(
    transport: &Transport,
    filters: &Filters,
    tree: &TreeCopy<'_>,
    listing: &[ListedEntry],
    on_bytes: &(dyn Fn(u64) + Sync),
    tick: &mut dyn FnMut(),
) -> Result<f64, RsyncError> {
    let files: Vec<&ListedEntry> = listing.iter().filter(|e| !e.is_dir).collect();
    let (check, safe): (Vec<&ListedEntry>, Vec<&ListedEntry>) =
        match (tree.reuse, tree.checksum_from) {
            (Some(_), Some(h)) => files.iter().partition(|e| e.mtime.as_str() >= h),
            (Some(_), None) => (files.clone(), Vec::new()),
            (None, _) => (Vec::new(), files.clone()),
        };
    copy_lists(transport, filters, tree, &safe, &check, on_bytes, tick)
}

/// Copy `safe` (compared by size and time) and `check` (compared by `--checksum`) in
/// `tree.jobs` parallel rsync processes, as [`copy_tree`] does once it has split the
/// listing. Returns the sum of the workers' times.
pub fn copy_lists(
    transport: &Transport,
    filters: &Filters,
    tree: &TreeCopy<'_>,
    safe: &[&ListedEntry],
    check: &[&ListedEntry],
    on_bytes: &(dyn Fn(u64) + Sync),
    tick: &mut dyn FnMut(),
) -> Result<f64, RsyncError> {
    let mut work: Vec<(Vec<String>, bool)> = Vec::new();
    work.extend(split(safe, tree.jobs).into_iter().map(|l| (l, false)));
    work.extend(split(check, tree.jobs).into_iter().map(|l| (l, true)));
    let mut serialized = 0.0;
    for (batch_no, batch) in work.chunks(tree.jobs.max(1)).enumerate() {
        let results: Vec<Result<f64, RsyncError>> = std::thread::scope(|scope| {
            let handles: Vec<_> = batch
                .iter()
                .enumerate()
                .map(|(n, (files, checksum))| {
                    let list_path = tree
                        .lists_dir
                        .join(format!("{}-{batch_no}-{n}.list", tree.label));
                    // batch_size workers start per batch_period, so a large -j does
                    // not open every ssh connection at once.
                    let delay = std::time::Duration::from_secs(
                        (n / tree.batch_size.max(1)) as u64 * tree.batch_period,
                    );
                    let transport = match (batch_no, n, tree.first_worker) {
                        (0, 0, Some(first)) => first,
                        _ => transport,
                    };
                    scope.spawn(move || {
                        std::thread::sleep(delay);
                        let started = std::time::Instant::now();
                        let run = CopyRun {
                            src: tree.src,
                            dst: tree.dst,
                            files: Some(files),
                            checksum: *checksum,
                            reuse: tree.reuse,
                            dirs_only: false,
                            list_path: Some(&list_path),
                            optional: true,
                        };
                        copy_retried(transport, filters, tree, &run, on_bytes)
                            .map(|()| started.elapsed().as_secs_f64())
                    })
                })
                .collect();
            // Polled often: the next item (pg_control last) starts as soon as this one ends.
            while !handles.iter().all(|h| h.is_finished()) {
                tick();
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
            handles
                .into_iter()
                .map(|h| {
                    h.join().unwrap_or_else(|_| {
                        Err(RsyncError::Failed {
                            code: -1,
                            stderr: "rsync worker panicked".into(),
                        })
                    })
                })
                .collect()
        });
        for result in results {
            serialized += result?;
        }
    }
    Ok(serialized)
}

/// One worker's copy, retried `tree.retry_times` times (not after an interruption) with
/// Barman's warning.
fn copy_retried(
    transport: &Transport,
    filters: &Filters,
    tree: &TreeCopy<'_>,
    run: &CopyRun<'_>,
    on_bytes: &(dyn Fn(u64) + Sync),
) -> Result<(), RsyncError> {
    let mut attempt = 0;
    loop {
        match copy(transport, filters, run, &mut |b| on_bytes(b)) {
            Ok(()) => return Ok(()),
            Err(e) if attempt < tree.retry_times && !matches!(e, RsyncError::Interrupted(_)) => {
                attempt += 1;
                tracing::warn!(target: "barman.copy_controller", "Failure executing rsync (attempt {attempt}): {e}");
                std::thread::sleep(std::time::Duration::from_secs(tree.retry_sleep));
            }
            Err(e) => return Err(e),
        }
    }
}

/// Barman's `_create_dir_and_purge`: create every folder of `dirs` under the tree's `dst`
/// and delete what `dst` holds that its `src` has not (`--delete`, and `--delete-excluded`
/// for the item's excludes such as `pg_wal/*`). The files in `keep` are protected from
/// deletion and left out of this run (the copy proper brings them); with `keep` empty every
/// file of `dst` goes, as in a restore into an empty folder. The lists are written in the
/// tree's `lists_dir` under its `label`.
pub fn purge(
    transport: &Transport,
    filters: &Filters,
    tree: &TreeCopy<'_>,
    dirs: &[String],
    keep: &[String],
) -> Result<(), RsyncError> {
    let dir_list = tree.lists_dir.join(format!("{}_dir.list", tree.label));
    let filter = tree
        .lists_dir
        .join(format!("{}_exclude_and_protect.filter", tree.label));
    let mut rules = String::new();
    if keep.is_empty() {
        rules.push_str("+ */\n- *\n");
    }
    for file in keep {
        rules.push_str(&format!("P /{file}\n- /{file}\n"));
    }
    std::fs::write(&filter, rules).map_err(|source| RsyncError::FileList {
        path: filter.clone(),
        source,
    })?;
    write_list(&dir_list, dirs)?;
    let mut args = base_args(transport, filters);
    args.extend([
        "--recursive".to_string(),
        "--delete".to_string(),
        format!("--files-from={}", dir_list.display()),
        "--filter".to_string(),
        format!("merge {}", filter.display()),
        tree.src.to_string(),
        tree.dst.to_string(),
    ]);
    let output = super::spawn::output(command(transport, &args).stdin(Stdio::null()))
        .map_err(RsyncError::Spawn)?;
    check_status(output.status, &output.stderr)
}

/// Copy the listed files (paths relative to `src`) into `dst`, each written under a
/// temporary name and renamed when whole (no `--inplace`), every listed file copied again
/// (`--ignore-times`): a file a crash left torn has the right size and time, but not the
/// right bytes. The caller fsyncs what arrived.
pub fn copy_listed_whole(
    transport: &Transport,
    src: &str,
    dst: &str,
    files: &[String],
    list_path: &Path,
    bwlimit: Option<u64>,
) -> Result<(), RsyncError> {
    write_list(list_path, files)?;
    let mut args = vec![
        "--recursive".to_string(),
        "--perms".into(),
        "--times".into(),
        "--protect-args".into(),
        "--ignore-times".into(),
    ];
    if let Some(ssh) = &transport.ssh {
        args.push("-e".into());
        args.push(shell_words::join(ssh));
    }
    if transport.compress {
        args.push("-z".into());
    }
    if let Some(kbps) = bwlimit.filter(|k| *k > 0) {
        args.push(format!("--bwlimit={kbps}"));
    }
    args.push(format!("--files-from={}", list_path.display()));
    args.push(src.to_string());
    args.push(dst.to_string());
    let output = super::spawn::output(command(transport, &args).stdin(Stdio::null()))
        .map_err(RsyncError::Spawn)?;
    if let Some(signal) = super::interrupt::received() {
        return Err(RsyncError::Interrupted(super::interrupt::reason(signal)));
    }
    check_status(output.status, &output.stderr)
}

fn write_list(path: &Path, files: &[String]) -> Result<(), RsyncError> {
    let mut text = Vec::new();
    for file in files {
        text.extend_from_slice(file.as_bytes());
        text.push(b'\n');
    }
    std::fs::File::create(path)
        .and_then(|mut f| f.write_all(&text))
        .map_err(|source| RsyncError::FileList {
            path: path.to_path_buf(),
            source,
        })
}

fn check_status(status: std::process::ExitStatus, stderr: &[u8]) -> Result<(), RsyncError> {
    match status.code() {
        Some(0) | Some(24) => Ok(()),
        code => {
            let text = String::from_utf8_lossy(stderr);
            let tail: Vec<&str> = text.lines().rev().take(5).collect();
            let tail: Vec<&str> = tail.into_iter().rev().collect();
            Err(RsyncError::Failed {
                code: code.unwrap_or(-1),
                stderr: tail.join("\n"),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(path: &str, size: u64) -> ListedEntry {
        ListedEntry {
            path: path.into(),
            size,
            mtime: "2026/01/01 00:00:00".into(),
            is_dir: false,
        }
    }

    #[test]
    fn split_balances_sizes_and_keeps_every_file() {
        let files = [
            entry("a", 100),
            entry("b", 60),
            entry("c", 50),
            entry("d", 10),
        ];
        let refs: Vec<&ListedEntry> = files.iter().collect();
        let lists = split(&refs, 2);
        assert_eq!(lists.len(), 2);
        let mut all: Vec<String> = lists.concat();
        all.sort();
        assert_eq!(all, ["a", "b", "c", "d"]);
        assert_eq!(lists[0], ["a", "d"]);
        assert_eq!(lists[1], ["b", "c"]);
        assert!(split(&[], 3).is_empty());
    }

    #[test]
    fn rsync_listing_line_parses_files_dirs_and_spaces() {
        let e = parse_listing_line("-rw-------           8192 2026/11/24 01:05:19 base/1/1259")
            .unwrap();
        assert_eq!(e.path, "base/1/1259");
        assert_eq!(e.size, 8192);
        assert_eq!(e.mtime, "2026/11/24 01:05:19");
        assert!(!e.is_dir);
        let d = parse_listing_line("drwx------ 4096 2026/11/24 01:05:19 my dir").unwrap();
        assert!(d.is_dir);
        assert_eq!(d.path, "my dir");
        assert!(parse_listing_line("garbage").is_err());
    }

    #[test]
    fn rsync_args_follow_barman() {
        let transport = Transport {
            ssh: Some(vec!["ssh".into(), "-p".into(), "22".into()]),
            compress: true,
            path: "/usr/bin".into(),
        };
        let filters = Filters {
            include: vec!["/PG_15_*".into()],
            exclude: vec!["/*".into()],
            exclude_and_protect: vec!["/pg_tblspc/16384".into()],
            bwlimit: Some(100),
        };
        let args = base_args(&transport, &filters);
        assert_eq!(
            args,
            [
                "-rLKpts",
                "--delete-excluded",
                "--inplace",
                "-e",
                "ssh -p 22",
                "-z",
                "--include=/PG_15_*",
                "--exclude=/*",
                "--exclude=/pg_tblspc/16384",
                "--filter=P_/pg_tblspc/16384",
                "--bwlimit=100"
            ]
        );
        assert_eq!(transport.source("/data/"), ":/data/");
    }
}
