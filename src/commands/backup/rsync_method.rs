//! `backup_method = rsync` / `local-rsync`: a concurrent backup through ONE PostgreSQL
//! session (`pg_backup_start` … `pg_backup_stop`), or with `backup_options =
//! exclusive_backup` an exclusive one (`pg_start_backup` … `pg_stop_backup()`, PostgreSQL 14
//! and older: PostgreSQL writes `backup_label` into PGDATA and rsync copies it, as Barman's
//! `ExclusiveBackupStrategy`), files copied with rsync (over
//! `ssh_command` for rsync), as Barman's `RsyncBackupExecutor` + `RsyncCopyController`:
//! tablespaces (only `PG_<major>_*`), PGDATA minus PostgreSQL's exclusions, `global/pg_control`
//! last, configuration files kept outside PGDATA; `reuse_backup` links or copies unchanged
//! files from the previous backup (files modified since that backup started are compared
//! by checksum); `parallel_jobs` rsync processes share each directory's file list; the
//! session is kept alive with a query every `keepalive_interval` seconds.

use super::{reported, BackupOptions, Running, StepError};
use crate::adapters::catalog::store;
use crate::adapters::pg_backup::{BackupSession, ServerFacts};
use crate::adapters::pg_tools;
use crate::adapters::rsync::{
    self, CopyRun, Filters, ListedEntry, RsyncError, Transport, TreeCopy,
};
use crate::core::backup_id::BackupId;
use crate::core::backup_info::Field;
use crate::core::backup_record::{self, RsyncCopyStats};
use crate::core::path_rules::{EXCLUDE, PGDATA_EXCLUDE};
use crate::output::progress::Progress;
use crate::output::python::human_timedelta;
use crate::output::Output;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// One directory (or file) to copy.
struct Item {
    label: String,
    src: String,
    dst: PathBuf,
    filters: Filters,
    reuse: Option<PathBuf>,
    is_dir: bool,
    optional: bool,
}

/// Run the method: start, copy, stop, write backup_label.
pub(super) fn run(
    out: &mut Output,
    running: &mut Running<'_>,
    session: &mut BackupSession,
    facts: ServerFacts,
    _options: &BackupOptions,
) -> Result<(), StepError> {
    running.set_action("detecting data directory");
    running.record_facts(&facts);
    running.set_action("issuing start backup command");
    let label = format!("Barman backup {} {}", running.server.name(), running.id);
    let start = if running.settings.exclusive {
        tracing::debug!(target: "barman.backup_executor", "Start of exclusive backup");
        session.start_exclusive(&label, running.settings.immediate)
    } else {
        session.start_concurrent(&label, running.settings.immediate)
    }
    .map_err(|e| StepError::new(&running.action, e))?;
    backup_record::record_start(&mut running.info, &reported(&start));
    running.save()?;
    running.report_start(out);
    running.purge_if_first(out)?;
    running.set_action("copying files");
    let jobs = running.settings.jobs;
    let via = if running.settings.method == super::Method::LocalRsync {
        "local rsync"
    } else {
        "rsync/SSH"
    };
    let mut message = format!("Starting backup copy via {via} for {}", running.id);
    if jobs > 1 {
        message.push_str(&format!(" ({jobs} jobs)"));
    }
    out.info(&message);
    let copied = copy(out, running, session, &facts).and_then(|()| running.purge_if_first(out));
    if let Err(e) = &copied {
        out.error(&format!("The backup has failed {}", e.action));
    }
    // Barman always asks PostgreSQL to finalise, even after a failed copy, so the server
    // does not keep a backup open.
    out.info("Asking PostgreSQL server to finalize the backup.");
    let stopped = stop(running, session);
    copied?;
    stopped
}

fn stop(running: &mut Running<'_>, session: &mut BackupSession) -> Result<(), StepError> {
    if running.settings.exclusive {
        return stop_exclusive(running, session);
    }
    let action = "issuing stop backup command (native concurrent)".to_string();
    let stop = session
        .stop_concurrent()
        .map_err(|e| StepError::new(&action, e))?;
    let label = stop.backup_label.clone().unwrap_or_default();
    running.info.set_raw(
        Field::BackupLabel,
        Some(crate::core::py_literal::str_repr(&label)),
    );
    let timeline = running.info.timeline().map_or(1, |t| t.get());
    backup_record::record_stop(&mut running.info, &reported(&stop), timeline);
    session
        .switch_wal()
        .map_err(|e| StepError::new(&action, e))?;
    running.set_action("writing backup label");
    let path = running.data_dir().join("backup_label");
    tracing::debug!(target: "barman.backup_executor", "Writing backup label: {}", path.display());
    std::fs::write(&path, label.as_bytes()).map_err(|e| StepError::new(&running.action, e))?;
    running.save()
}

/// `ExclusiveBackupStrategy.stop_backup`: `pg_stop_backup()` switches WAL itself; the
/// `backup_label` is the one rsync copied from PGDATA (backup.info keeps `None`).
fn stop_exclusive(running: &mut Running<'_>, session: &mut BackupSession) -> Result<(), StepError> {
    running.set_action("issuing stop backup command");
    tracing::debug!(target: "barman.backup_executor", "Stop of exclusive backup");
    let stop = session
        .stop_exclusive()
        .map_err(|e| StepError::new(&running.action, e))?;
    let timeline = running.info.timeline().map_or(1, |t| t.get());
    backup_record::record_stop(&mut running.info, &reported(&stop), timeline);
    running.save()
}

fn items(running: &Running<'_>, facts: &ServerFacts, transport: &Transport) -> Vec<Item> {
    let previous = previous_backup(running);
    let reuse_dir = |sub: &str| {
        running.settings.reuse.rsync_word()?;
        previous
            .as_ref()
            .map(|(id, _)| running.dirs.backup_base(id).join(sub))
    };
    let major = facts.version.major_text();
    let mut items = Vec::new();
    let mut protect = Vec::new();
    for t in &facts.tablespaces {
        if let Some(inside) = t.location.strip_prefix(&format!("{}/", facts.pgdata)) {
            protect.push(format!("/{inside}"));
        }
        protect.push(format!("/pg_tblspc/{}", t.oid));
        let mut exclude = vec!["/*".to_string()];
        exclude.extend(EXCLUDE.iter().map(|s| s.to_string()));
        items.push(Item {
            label: t.name.clone(),
            src: format!("{}/", transport.source(&t.location)),
            dst: running.base().join(t.oid.to_string()),
            filters: Filters {
                include: vec![format!("/PG_{major}_*")],
                exclude,
                exclude_and_protect: Vec::new(),
                bwlimit: running.settings.bwlimit_for(&t.name),
            },
            reuse: reuse_dir(&t.oid.to_string()),
            is_dir: true,
            optional: false,
        });
    }
    let mut exclude: Vec<String> = PGDATA_EXCLUDE.iter().map(|s| s.to_string()).collect();
    exclude.extend(EXCLUDE.iter().map(|s| s.to_string()));
    items.push(Item {
        label: "pgdata".into(),
        src: format!("{}/", transport.source(&facts.pgdata)),
        dst: running.data_dir(),
        filters: Filters {
            include: Vec::new(),
            exclude,
            exclude_and_protect: protect,
            bwlimit: running.settings.bwlimit,
        },
        reuse: reuse_dir("data"),
        is_dir: true,
        optional: false,
    });
    items.push(Item {
        label: "pg_control".into(),
        src: transport.source(&format!("{}/global/pg_control", facts.pgdata)),
        dst: running.data_dir().join("global/pg_control"),
        filters: Filters::default(),
        reuse: None,
        is_dir: false,
        optional: false,
    });
    for (kind, path) in &facts.config_files {
        if path.starts_with(&format!("{}/", facts.pgdata)) {
            continue;
        }
        items.push(Item {
            label: kind.clone(),
            src: transport.source(path),
            dst: running.data_dir(),
            filters: Filters::default(),
            reuse: None,
            is_dir: false,
            optional: kind == "ident_file",
        });
    }
    items
}

/// The newest earlier backup whose copy is done (the reuse source and safe horizon).
fn previous_backup(
    running: &Running<'_>,
) -> Option<(BackupId, crate::core::backup_info::BackupInfo)> {
    let backups = store::load_backups(running.dirs).ok()?;
    backups
        .into_iter()
        .rev()
        .find(|(id, b)| id < &running.id && b.status().copy_done())
}

/// Copy every item (tablespaces, PGDATA, `pg_control`, outside configuration files) and
/// record the copy statistics.
fn copy(
    out: &mut Output,
    running: &mut Running<'_>,
    session: &mut BackupSession,
    facts: &ServerFacts,
) -> Result<(), StepError> {
    let action = running.action.clone();
    running.copy_start = Some(chrono::Local::now());
    let started = Instant::now();
    let transport = transport(running).map_err(|e| StepError::new(&action, e))?;
    let shared = shared_transport(&transport);
    let horizon = checksum_horizon(running);
    let items = items(running, facts, &transport);
    let total = facts
        .cluster_size
        .as_deref()
        .and_then(|s| s.split('.').next()?.parse().ok());
    let progress = Progress::bytes(out, total, "rsync");
    std::fs::create_dir_all(running.base()).map_err(|e| StepError::new(&action, e))?;
    let lists = tempfile::Builder::new()
        .prefix(".barman-rsync-")
        .tempdir_in(running.base())
        .map_err(|e| StepError::new(&action, e))?;
    let job = CopyJob {
        action: &action,
        transport: &transport,
        shared: &shared,
        horizon: horizon.as_deref(),
        lists_dir: lists.path(),
        progress: &progress,
    };
    let mut stats = RsyncCopyStats {
        number_of_workers: running.settings.jobs,
        ..RsyncCopyStats::default()
    };
    for item in &items {
        copy_timed(out, running, session, &job, item, &mut stats)?;
    }
    progress.finish();
    drop(lists);
    stats.total_time = started.elapsed().as_secs_f64();
    running
        .info
        .set_raw(Field::CopyStats, Some(stats.literal()));
    let copy_time: f64 = stats.copy_time_per_item.iter().map(|(_, t)| t).sum();
    out.info(&format!("Copy done (time: {})", human_timedelta(copy_time)));
    warn_includes_outside_pgdata(out, running, facts);
    Ok(())
}

/// How rsync reaches the server: `ssh_command` (non-interactive) for `rsync`, none for
/// `local-rsync`.
fn transport(running: &Running<'_>) -> Result<Transport, shell_words::ParseError> {
    let ssh = match (running.settings.method, running.server.ssh_command()) {
        (super::Method::Rsync, Some(cmd)) => {
            let mut words = shell_words::split(cmd)?;
            words.extend(
                ["-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no"].map(String::from),
            );
            Some(words)
        }
        _ => None,
    };
    Ok(Transport {
        ssh,
        compress: running.settings.network_compression,
        path: pg_tools::search_path(running.server.path_prefix()),
    })
}

/// `transport` with the ssh options that share one master connection (opened by the
/// backup's `ssh` check) when `ssh_command` is OpenSSH's `ssh` without control options of
/// its own. The listings and single-file copies go through it, each then a round trip
/// instead of a handshake (a quarter of a second each on loopback), and so does the first
/// rsync stream. An extension to Barman, which opens a connection per command.
fn shared_transport(transport: &Transport) -> Transport {
    Transport {
        ssh: transport.ssh.as_ref().map(|words| {
            crate::clients::control_dir::shared_connection_words(
                words,
                crate::clients::control_dir::BACKUP_PERSIST_SECONDS,
            )
        }),
        ..transport.clone()
    }
}

/// The previous backup's start as rsync lists times: files modified since then may have
/// changed within the same second as the reused copy, so they are compared by checksum.
fn checksum_horizon(running: &Running<'_>) -> Option<String> {
    previous_backup(running).and_then(|(_, b)| {
        let local = *chrono::Local::now().offset();
        b.time(Field::BeginTime, local).map(|t| {
            t.with_timezone(&chrono::Local)
                .format("%Y/%m/%d %H:%M:%S")
                .to_string()
        })
    })
}

/// What the copy of every item shares.
struct CopyJob<'a> {
    /// The step named in errors.
    action: &'a str,
    transport: &'a Transport,
    /// The transport through the shared ssh master ([`shared_transport`]).
    shared: &'a Transport,
    /// See [`checksum_horizon`].
    horizon: Option<&'a str>,
    /// Where the `--files-from` lists go.
    lists_dir: &'a Path,
    progress: &'a Progress,
}

/// List (a directory) and copy one item, recording how long each took.
fn copy_timed(
    out: &mut Output,
    running: &Running<'_>,
    session: &mut BackupSession,
    job: &CopyJob<'_>,
    item: &Item,
    stats: &mut RsyncCopyStats,
) -> Result<(), StepError> {
    let action = job.action;
    let item_started = Instant::now();
    let listing = if item.is_dir {
        std::fs::create_dir_all(&item.dst).map_err(|e| StepError::new(action, e))?;
        let listing = with_retries(out, running, &item.label, || {
            rsync::list(job.shared, &item.filters, &item.src)
        })
        .map_err(|e| StepError::new(action, e))?;
        stats
            .analysis_time_per_item
            .push((item.label.clone(), item_started.elapsed().as_secs_f64()));
        make_tree(&item.dst, &listing).map_err(|e| StepError::new(action, e))?;
        Some(listing)
    } else {
        if let Some(parent) = item.dst.parent() {
            std::fs::create_dir_all(parent).map_err(|e| StepError::new(action, e))?;
        }
        None
    };
    let copy_started = Instant::now();
    let serialized = copy_item(out, running, session, job, item, listing.as_deref())
        .map_err(|e| StepError::new(action, e))?;
    stats
        .copy_time_per_item
        .push((item.label.clone(), copy_started.elapsed().as_secs_f64()));
    stats
        .serialized_copy_time_per_item
        .push((item.label.clone(), serialized));
    Ok(())
}

/// Barman's warning for `include` directives pointing outside PGDATA (rsync copies PGDATA
/// only), unless `backup_options = external_configuration` says they are handled.
fn warn_includes_outside_pgdata(out: &mut Output, running: &Running<'_>, facts: &ServerFacts) {
    if !facts.included_files.is_empty()
        && facts
            .included_files
            .iter()
            .any(|f| !f.starts_with(&format!("{}/", facts.pgdata)))
        && !running
            .server
            .backup_options()
            .iter()
            .any(|o| o == "external_configuration")
    {
        let outside: Vec<&str> = facts
            .included_files
            .iter()
            .filter(|f| !f.starts_with(&format!("{}/", facts.pgdata)))
            .map(String::as_str)
            .collect();
        out.warning(&format!(
            "The usage of include directives is not supported for files that reside outside PGDATA.\nPlease manually backup the following files:\n\t{}\n",
            outside.join("\n\t")
        ));
    }
}

/// Create the directory tree of a listing (modes from the listing) so that empty
/// directories exist and parallel rsyncs never race to create a parent.
fn make_tree(root: &Path, listing: &[ListedEntry]) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    for entry in listing.iter().filter(|e| e.is_dir) {
        let dir = if entry.path == "." {
            root.to_path_buf()
        } else {
            root.join(&entry.path)
        };
        std::fs::create_dir_all(&dir)?;
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700))?;
    }
    Ok(())
}

/// Copy one item; returns the sum of the workers' times.
fn copy_item(
    out: &mut Output,
    running: &Running<'_>,
    session: &mut BackupSession,
    job: &CopyJob<'_>,
    item: &Item,
    listing: Option<&[ListedEntry]>,
) -> Result<f64, RsyncError> {
    let CopyJob {
        transport,
        shared,
        horizon,
        lists_dir,
        progress,
        ..
    } = *job;
    let reuse_word = running.settings.reuse.rsync_word();
    let reuse = match (reuse_word, &item.reuse) {
        (Some(word), Some(dir)) if dir.exists() => Some((word, dir.as_path())),
        _ => None,
    };
    let dst = item.dst.display().to_string();
    let Some(listing) = listing else {
        let started = Instant::now();
        let run = CopyRun {
            optional: item.optional,
            ..CopyRun::whole(&item.src, &dst)
        };
        with_retries(out, running, &item.label, || {
            rsync::copy(shared, &item.filters, &run, &mut |n| progress.add(n))
        })?;
        return Ok(started.elapsed().as_secs_f64());
    };
    let settings = running.settings;
    let tree = TreeCopy {
        src: &item.src,
        dst: &dst,
        reuse,
        checksum_from: horizon,
        jobs: settings.jobs as usize,
        first_worker: Some(shared),
        batch_size: settings.jobs_start_batch_size as usize,
        batch_period: settings.jobs_start_batch_period,
        retry_times: settings.retry_times,
        retry_sleep: settings.retry_sleep,
        lists_dir,
        label: &item.label,
    };
    let keepalive = Duration::from_secs(settings.keepalive_interval);
    let mut last_keepalive = Instant::now();
    // What the workers write is handed to the disk as they go, so the fsync after the copy
    // has little left to wait for; the main thread keeps the PostgreSQL session alive.
    let _writeback = crate::adapters::writeback::BackgroundWriteback::start(&item.dst);
    let mut tick = || {
        if !keepalive.is_zero() && last_keepalive.elapsed() >= keepalive {
            if let Err(e) = session.keepalive() {
                tracing::warn!(target: "barman.postgres", "keepalive failed: {e}");
            }
            last_keepalive = Instant::now();
        }
    };
    rsync::copy_tree(
        transport,
        &item.filters,
        &tree,
        listing,
        &|b| progress.add(b),
        &mut tick,
    )
}

/// Retry an rsync step `basebackup_retry_times` times with Barman's warnings.
fn with_retries<T>(
    out: &mut Output,
    running: &Running<'_>,
    label: &str,
    mut step: impl FnMut() -> Result<T, RsyncError>,
) -> Result<T, RsyncError> {
    let mut attempt = 0;
    loop {
        match step() {
            Ok(v) => return Ok(v),
            Err(e)
                if attempt < running.settings.retry_times
                    && !matches!(e, RsyncError::Interrupted(_)) =>
            {
                attempt += 1;
                out.warning(&format!(
                    "Failure executing rsync on {label} (attempt {attempt}): {e}"
                ));
                out.warning(&format!(
                    "Retrying in {} seconds",
                    running.settings.retry_sleep
                ));
                std::thread::sleep(Duration::from_secs(running.settings.retry_sleep));
            }
            Err(e) => return Err(e),
        }
    }
}
