//! WAL archive commands: `archive-wal` and `rebuild-xlogdb`.

use super::{select, status::server_dirs, Context};
use crate::adapters::catalog::incoming::{self, Received};
use crate::adapters::catalog::layout::ServerDirs;
use crate::adapters::catalog::wal_archive::{self, Archived, Compression, Encryption, Storage};
use crate::adapters::catalog::xlog_db;
use crate::adapters::codec::Codec;
use crate::adapters::lock::LockKind;
use crate::adapters::postgres::{self, SwitchError, SwitchOutcome};
use crate::core::archive_plan::{self, Batch, Listed};
use crate::core::config::ServerConfig;
use crate::output::Output;
use std::path::{Path, PathBuf};

mod pipeline;

/// `archive-wal SERVER`: move what `pg_receivewal` (streaming/) and `archive_command`
/// (incoming/) delivered into the archive and its catalog.
pub fn archive_wal(ctx: &Context, out: &mut Output, name: &str) -> crate::Result<()> {
    let Some(server) = select::single(&ctx.config, name, out, select::Policy::SKIP_INACTIVE) else {
        return Ok(());
    };
    archive_server(ctx, out, server, true)
}

/// Archive one server's pending WAL; without `verbose` a source prints nothing when it
/// had nothing to do (as `cron` and `switch-wal --archive` run it).
pub fn archive_server(
    ctx: &Context,
    out: &mut Output,
    server: &ServerConfig,
    verbose: bool,
) -> crate::Result<()> {
    out.debug(&format!(
        "Starting archive-wal for server {}",
        server.name()
    ));
    let lock_dir = PathBuf::from(&ctx.config.global.barman_lock_directory);
    let Some(_lock) = crate::commands::locks::take(
        out,
        &lock_dir,
        &LockKind::ArchiveWal(server.name().to_string()),
        &crate::commands::locks::ARCHIVE_WAL,
    )?
    else {
        return Ok(());
    };
    let storage = storage_of(server);
    let dirs = server_dirs(server);
    let hooks = super::hooks::Hooks::new(&ctx.config, server);
    let hooks = hooks
        .any(crate::core::hooks::HookFamily::Archive)
        .then_some(&hooks);
    let run = ServerRun {
        server,
        dirs: &dirs,
        lock_dir: &lock_dir,
        storage: &storage,
        verbose,
        hooks,
    };
    // Barman's archivers run streaming first, then file archival.
    if server.streaming_archiver() {
        let batch_size = server.streaming_archiver_batch_size().unwrap_or(0).max(0) as usize;
        let dir = PathBuf::from(server.streaming_dir());
        let batch = archive_plan::plan_streaming(&listing(&dir)?, batch_size);
        let stop = run_batch(out, &run, &dir, "streaming", &batch)?;
        if stop {
            return Ok(());
        }
    }
    if server.archiver() {
        let batch_size = server.archiver_batch_size().unwrap_or(0).max(0) as usize;
        let dir = PathBuf::from(server.incoming_dir());
        let batch = archive_plan::plan_incoming(&listing(&dir)?, batch_size);
        run_batch(out, &run, &dir, "file archival", &batch)?;
    }
    Ok(())
}

/// The server's WAL storage: `compression`, and `encryption = gpg` with its key.
fn storage_of(server: &ServerConfig) -> Storage {
    let encryption =
        (server.encryption() == Some(crate::core::encryption::GPG)).then(|| Encryption {
            key_id: server.encryption_key_id().unwrap_or_default().to_string(),
            path_prefix: server.path_prefix().map(str::to_string),
        });
    Storage {
        compression: compression_of(server),
        encryption,
    }
}

fn compression_of(server: &ServerConfig) -> Option<Compression> {
    let name = server.compression()?;
    let codec = Codec::from_name(
        name,
        server.custom_compression_filter(),
        server.custom_decompression_filter(),
    )?;
    let level_text = server
        .compression_level()
        .map(|v| v.python_str())
        .unwrap_or_else(|| "medium".into());
    Some(Compression {
        level: codec.level(&level_text),
        name: name.to_string(),
        codec,
    })
}

fn listing(dir: &Path) -> crate::Result<Vec<Listed>> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => {
            return Err(crate::Error::Io {
                op: "list",
                path: dir.to_path_buf(),
                source,
            })
        }
    };
    let mut listed: Vec<Listed> = entries
        .filter_map(Result::ok)
        .map(|e| Listed {
            name: e.file_name().to_string_lossy().into_owned(),
            is_file: e.file_type().is_ok_and(|t| t.is_file()),
        })
        .collect();
    listed.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(listed)
}

/// One server's archive-wal run: what the batches of both sources share.
struct ServerRun<'a> {
    server: &'a ServerConfig,
    dirs: &'a ServerDirs,
    lock_dir: &'a Path,
    storage: &'a Storage,
    /// Print a source's header even when it had nothing to do.
    verbose: bool,
    /// The archive hooks, when any is configured.
    hooks: Option<&'a super::hooks::Hooks<'a>>,
}

/// Archive one source's batch; `true` when a pre retry hook asked to stop.
/// The batch into the local archive; true when a hook asked to stop.
fn archive_local(
    out: &mut Output,
    pass: &Pass<'_>,
    hooks: Option<&super::hooks::Hooks>,
) -> crate::Result<bool> {
    match hooks {
        Some(hooks) => archive_hooked(out, pass, hooks),
        None => pipeline::archive_parallel(out, pass).map(|()| false),
    }
}

fn run_batch(
    out: &mut Output,
    run: &ServerRun<'_>,
    dir: &Path,
    source: &str,
    batch: &Batch,
) -> crate::Result<bool> {
    let ServerRun {
        server,
        dirs,
        lock_dir,
        storage,
        verbose,
        hooks,
    } = *run;
    let name = server.name();
    log_batch(name, source, batch);
    if !verbose && batch.files.is_empty() && batch.errors.is_empty() {
        return Ok(false);
    }
    let mut header = format!("Processing xlog segments from {source} for {name}");
    if let Some(size) = batch.header_suffix() {
        header.push_str(&format!(" (batch size: {size})"));
    }
    // Without `verbose` Barman prints the header only before the first file it archives.
    if verbose || !batch.files.is_empty() {
        out.info_unlogged(&header);
    }
    let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%SZ").to_string();
    let errors_dir = PathBuf::from(server.errors_dir());
    if server.uses_wal_cloud_storage() {
        let cloud = super::cloud_wal::CloudBatch {
            server,
            lock_dir,
            dir,
            files: &batch.files,
            errors_dir: &errors_dir,
            stamp: &stamp,
            hooks: hooks.copied(),
        };
        super::cloud_wal::archive_files(out, &cloud)?;
    } else {
        if !batch.files.is_empty() {
            wal_archive_ensure(dirs, lock_dir)?;
            reclaim_temps(dirs, &batch.files);
        }
        let pass = Pass {
            name,
            dirs,
            lock_dir,
            dir,
            source,
            batch,
            storage,
            errors_dir: &errors_dir,
            stamp: &stamp,
        };
        if archive_local(out, &pass, hooks)? {
            return Ok(true);
        }
    }
    if batch.files.is_empty() && verbose {
        out.info_unlogged("\tno file found");
    } else if !batch.files.is_empty() {
        log_archived(name, source, batch);
    }
    if !batch.errors.is_empty() {
        out.info_unlogged(&format!(
            "Some unknown objects have been found while processing xlog segments for {name}. Objects moved to errors directory:"
        ));
        for junk in &batch.errors {
            // Escaped: anyone who can write to incoming/ chooses this name (Barman prints
            // it raw, control characters and newlines included).
            out.info_unlogged(&format!("\t{}", crate::core::escape::text(junk)));
            wal_archive::move_to_errors(&errors_dir, &dir.join(junk), "unknown", &stamp)
                .map_err(catalog)?;
        }
    }
    Ok(false)
}

/// One source's batch being archived: what every file shares.
struct Pass<'a> {
    name: &'a str,
    dirs: &'a ServerDirs,
    lock_dir: &'a Path,
    dir: &'a Path,
    source: &'a str,
    batch: &'a Batch,
    storage: &'a Storage,
    errors_dir: &'a Path,
    stamp: &'a str,
}

/// With archive hooks: each file wrapped in its hooks, one at a time, in order; `true`
/// when a pre retry hook asked to stop.
fn archive_hooked(
    out: &mut Output,
    pass: &Pass<'_>,
    hooks: &super::hooks::Hooks,
) -> crate::Result<bool> {
    use super::archive_hooks::{archive_one, Hooked};
    let name = pass.name;
    for (n, file) in pass.batch.files.iter().enumerate() {
        out.info_unlogged(&format!("\t{file}"));
        log_segment(n, name, pass.source, pass.batch, file);
        let hooked = archive_one(
            hooks,
            name,
            pass.dirs,
            pass.lock_dir,
            pass.dir,
            file,
            pass.storage,
        );
        match hooked {
            Hooked::Done(archived) => record(
                out,
                name,
                pass.errors_dir,
                &pass.dir.join(file),
                file,
                pass.stamp,
                archived,
            )?,
            Hooked::Failed(e) => out.error(&format!(
                "Archiving of {file} for server {name} failed: {e}"
            )),
            Hooked::Stop(warning) => {
                tracing::warn!(target: "barman.wal_archiver", "{warning}");
                return Ok(true);
            }
        }
    }
    Ok(false)
}

/// Barman's log line about what a source holds.
fn log_batch(name: &str, source: &str, batch: &Batch) {
    const TARGET: &str = "barman.wal_archiver";
    if batch.run_size == 0 {
        tracing::info!(target: TARGET, "No xlog segments found from {source} for {name}.");
    } else if batch.total > batch.run_size {
        tracing::info!(
            target: TARGET,
            "Found {} xlog segments from {source} for {name}. Archive a batch of {} segments in this run.",
            batch.total,
            batch.run_size
        );
    } else {
        tracing::info!(
            target: TARGET,
            "Found {} xlog segments from {source} for {name}. Archive all segments in one run.",
            batch.total
        );
    }
}

/// Barman's log lines once a source's batch is archived.
fn log_archived(name: &str, source: &str, batch: &Batch) {
    const TARGET: &str = "barman.wal_archiver";
    if batch.total > batch.run_size {
        tracing::debug!(
            target: TARGET,
            "Batch size reached ({}) - Exit {source} process for {name}",
            batch.run_size
        );
    }
    tracing::debug!(
        target: TARGET,
        "Archived {} out of {} xlog segments from {source} for {name}",
        batch.files.len(),
        batch.total
    );
}

/// Barman's log line for the `n`-th (from 0) file archived from a source.
fn log_segment(n: usize, name: &str, source: &str, batch: &Batch, file: &str) {
    tracing::info!(
        target: "barman.wal_archiver",
        "Archiving segment {} of {} from {source}: {name}/{file}",
        n + 1,
        batch.run_size
    );
}

/// Drop what a killed `archive-wal` left half-written in the archive folders this batch
/// writes to (its sources are in the batch again). Best effort: a failure is logged.
fn reclaim_temps(dirs: &ServerDirs, files: &[String]) {
    let folders: std::collections::BTreeSet<PathBuf> = files
        .iter()
        .filter_map(|f| f.parse::<crate::core::wal_name::WalFileName>().ok())
        .filter_map(|w| {
            wal_archive::archive_path(dirs, &w)
                .parent()
                .map(Path::to_path_buf)
        })
        .collect();
    for folder in folders {
        match wal_archive::reclaim_stale_temps(&folder) {
            Ok(removed) => {
                for path in removed {
                    tracing::info!(target: "barman.wal_archiver",
                        "Removed {} left by an interrupted archive-wal", path.display());
                }
            }
            Err(e) => tracing::warn!(target: "barman.wal_archiver", "{e}"),
        }
    }
}

/// Report one archived file; a duplicate goes to `errors/`.
fn record(
    out: &mut Output,
    name: &str,
    errors_dir: &Path,
    src: &Path,
    file: &str,
    stamp: &str,
    archived: Archived,
) -> crate::Result<()> {
    if let Archived::Duplicate = archived {
        wal_archive::move_to_errors(errors_dir, src, "duplicate", stamp).map_err(catalog)?;
        out.info_unlogged(&format!(
            "\tError: {file} is already present in server {name}. File moved to errors directory."
        ));
    }
    Ok(())
}

fn catalog(e: crate::adapters::catalog::store::CatalogError) -> crate::Error {
    crate::Error::Catalog(e)
}

/// `rebuild-xlogdb SERVER...|all`: rewrite each catalog from the archive's content.
pub fn rebuild_xlogdb(ctx: &Context, out: &mut Output, names: &[String]) -> crate::Result<()> {
    let selected = select::servers(&ctx.config, names, out);
    let lock_dir = PathBuf::from(&ctx.config.global.barman_lock_directory);
    for server in select::known(selected, out) {
        if !select::usable(server, out, select::Policy::SKIP_INACTIVE) {
            continue;
        }
        out.info(&format!("Rebuilding xlogdb for server {}", server.name()));
        if server.uses_wal_cloud_storage() {
            // The archive is not local: the catalog cannot be guessed from a folder, and
            // the one kept by cloud-wal-archive must survive.
            xlog_db::ensure(&server_dirs(server), &lock_dir)?;
            out.error("Rebuilding xlogdb is not supported for servers using cloud storage");
            continue;
        }
        match xlog_db::rebuild(&server_dirs(server), &lock_dir) {
            Ok(counts) => out.info(&format!(
                "Done rebuilding xlogdb for server {} (history: {}, backup_labels: {}, wal_file: {})",
                server.name(),
                counts.history,
                counts.backup_labels,
                counts.wal_files
            )),
            Err(e) => out.error(&format!("Rebuilding xlogdb for server {} failed: {e}", server.name())),
        }
    }
    Ok(())
}

/// `put-wal SERVER [--test]`: receive a tar stream of WAL files (from
/// `barman-wal-archive`) on standard input into `incoming/`.
pub fn put_wal(
    ctx: &Context,
    out: &mut Output,
    name: &str,
    test: bool,
    stdin: impl std::io::Read,
) -> crate::Result<()> {
    let Some(server) = select::single(&ctx.config, name, out, select::Policy::REFUSE_INACTIVE)
    else {
        return Ok(());
    };
    if test {
        out.info(&format!(
            "Ready to accept WAL files for the server {}",
            server.name()
        ));
        return Ok(());
    }
    // Barman names the client when the stream arrives over ssh.
    let suffix = super::ssh_suffix();
    let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%SZ").to_string();
    let incoming = PathBuf::from(server.incoming_dir());
    let errors = PathBuf::from(server.errors_dir());
    match incoming::receive(stdin, &incoming, &errors, &stamp) {
        Ok((received, bad_lines)) => {
            for line in bad_lines {
                out.warning(&format!(
                    "Bad checksum line '{}' found in put-wal for server '{}'{suffix}",
                    crate::core::escape::text(&line),
                    server.name()
                ));
            }
            for item in received {
                if let Received::Mismatch {
                    name,
                    existing,
                    incoming,
                } = item
                {
                    // Barman's text, including its missing space before the new checksum.
                    out.info(&format!(
                        "\tError: Duplicate Files Detected with Mismatched Checksums. File {name} already exists on server {} with checksum {existing}, but the checksum of the incoming file is{incoming}. The file has been moved to the errors directory.",
                        server.name()
                    ));
                }
            }
        }
        // Barman lets tarfile's ReadError end the command (no server name, exit 1).
        Err(incoming::PutWalError::Empty) => {
            out.exception(&format!(
                "{}\nSee log file for more details.",
                incoming::PutWalError::Empty
            ));
        }
        Err(e) => out.error(&format!(
            "{e} in put-wal for server '{}'{suffix}",
            server.name()
        )),
    }
    Ok(())
}

/// `check-wal-archive SERVER [--timeline N]`: is the archive safe for a new server?
pub fn check_wal_archive(
    ctx: &Context,
    out: &mut Output,
    name: &str,
    timeline: Option<u32>,
) -> crate::Result<()> {
    let policy = select::Policy {
        inactive_is_error: false,
        skip_inactive: false,
        disabled_is_error: false,
    };
    let Some(server) = select::single(&ctx.config, name, out, policy) else {
        return Ok(());
    };
    let lock_dir = PathBuf::from(&ctx.config.global.barman_lock_directory);
    let dirs = server_dirs(server);
    xlog_db::ensure(&dirs, &lock_dir).map_err(crate::Error::from)?;
    let mut check = archive_plan::ArchiveUsability::new(timeline);
    let mut bad = None;
    crate::adapters::catalog::store::for_each_wal(&dirs, |entry| {
        if bad.is_none() {
            bad = check.add(&entry.name).err();
        }
    })?;
    let verdict = match bad {
        Some(reason) => Err(reason),
        None => check.finish(),
    };
    match verdict {
        Ok(()) => {
            out.line(&format!("Server {}:", server.name()));
            out.line(&format!(
                " - WAL archive check for server {} passed",
                server.name()
            ));
            out.json_set(
                server.name(),
                serde_json::Value::String(format!(
                    "WAL archive check for server {} passed",
                    server.name()
                )),
            );
        }
        Err(reason) => {
            out.line(&format!("Server {}:", server.name()));
            // Barman's JSON writer has already opened the server's (empty) object.
            out.json_set(
                server.name(),
                serde_json::Value::Object(serde_json::Map::new()),
            );
            out.error(&format!(
                "WAL archive check failed for server {}: {reason}",
                server.name()
            ));
        }
    }
    Ok(())
}

/// `switch-wal SERVER...|all [--force] [--archive [--archive-timeout N]]`.
pub fn switch_wal(
    ctx: &Context,
    out: &mut Output,
    names: &[String],
    force: bool,
    archive: bool,
    timeout: u64,
) -> crate::Result<()> {
    let selected = select::servers(&ctx.config, names, out);
    for server in select::known(selected, out) {
        if !select::usable(server, out, select::Policy::SKIP_INACTIVE) {
            continue;
        }
        let name = server.name();
        if server.passive_node() {
            // Barman fails with an AttributeError here (a passive node has no PostgreSQL
            // connection); an empty conninfo would reach a local server instead.
            out.error(&format!(
                "Unable to perform pg_switch_wal for server '{name}': it is a passive node"
            ));
            continue;
        }
        let conninfo = server.conninfo().unwrap_or_default();
        let closed = match postgres::switch_wal(conninfo, force) {
            Ok(SwitchOutcome::Closed(wal)) => {
                out.info(&format!(
                    "The WAL file {wal} has been closed on server '{name}'"
                ));
                Some(wal)
            }
            Ok(SwitchOutcome::NotNeeded) => {
                out.info(&format!("No switch required for server '{name}'"));
                None
            }
            Ok(SwitchOutcome::Standby) => {
                out.info(&format!(
                    "No switch performed because server '{name}' is a standby."
                ));
                None
            }
            Err(SwitchError::CheckpointPrivileges) => {
                out.error("Barman switch-wal --force requires superuser rights or the 'pg_checkpoint' role");
                continue;
            }
            Err(SwitchError::Failed(reason)) => {
                tracing::warn!(target: "barman.postgres", "pg_switch_wal failed: {reason}");
                out.error(&format!(
                    "Unable to perform pg_switch_wal for server '{name}'."
                ));
                continue;
            }
        };
        if archive {
            wait_for_wal(ctx, out, server, closed.as_deref(), timeout)?;
        }
    }
    Ok(())
}

/// Barman's `wait_for_wal`: run the archiver until the closed segment (or any new one)
/// is in the archive, or the timeout passes (0 = forever).
pub fn wait_for_wal(
    ctx: &Context,
    out: &mut Output,
    server: &ServerConfig,
    wal: Option<&str>,
    timeout: u64,
) -> crate::Result<()> {
    let name = server.name();
    let max = if timeout > 0 {
        format!(" (max: {timeout} seconds)")
    } else {
        String::new()
    };
    let dirs = server_dirs(server);
    let initial = crate::adapters::catalog::store::last_wal_per_timeline(&dirs)?;
    match wal {
        Some(wal) => out.info(&format!(
            "Waiting for the WAL file {wal} from server '{name}'{max}"
        )),
        None => out.info(&format!(
            "Waiting for a WAL file from server '{name}' to be archived{max}"
        )),
    }
    let deadline =
        (timeout > 0).then(|| std::time::Instant::now() + std::time::Duration::from_secs(timeout));
    while deadline.is_none_or(|d| std::time::Instant::now() < d) {
        archive_server(ctx, out, server, false)?;
        let done = match wal {
            // WALs in the cloud are known by the xlog.db line written after each upload.
            Some(wal) if server.uses_wal_cloud_storage() => {
                crate::adapters::catalog::xlog_db::contains(&dirs, wal)?
            }
            Some(wal) => wal
                .parse::<crate::core::wal_name::WalFileName>()
                .is_ok_and(|w| wal_archive::archive_path(&dirs, &w).exists()),
            None => crate::adapters::catalog::store::last_wal_per_timeline(&dirs)? != initial,
        };
        if done {
            return Ok(());
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    match wal {
        Some(wal) => out.error(&format!(
            "The WAL file {wal} has not been received in {timeout} seconds"
        )),
        None => out.info(&format!(
            "A WAL file has not been received in {timeout} seconds"
        )),
    }
    Ok(())
}

fn wal_archive_ensure(dirs: &ServerDirs, lock_dir: &Path) -> crate::Result<()> {
    xlog_db::ensure(dirs, lock_dir).map_err(crate::Error::from)
}
