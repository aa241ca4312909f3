//! `backup SERVER|all`: take a base backup with the server's `backup_method`, following
//! Barman's `Server.backup` + `BackupManager.backup`: silent pre-checks, directories,
//! identity, the server backup lock, a `backup.info` that goes EMPTY → STARTED →
//! WAITING_FOR_WALS (or FAILED with `failure <action> (<reason>)`), a restore point, the
//! fsync of every copied file, then archive-wal, check-backup and, for the first backup,
//! the removal of older WAL.

pub mod abandoned;
pub(crate) mod cloud_method;
mod encrypt;
mod incremental;
mod postgres_cloud;
mod postgres_method;
mod rsync_method;
mod settings;

use crate::adapters::catalog::layout::ServerDirs;
use crate::adapters::catalog::store;
use crate::adapters::lock::LockKind;
use crate::adapters::pg_backup::{BackupSession, Position, ServerFacts};
use crate::commands::{select, status, Context};
use crate::core::backup_id::BackupId;
use crate::core::backup_info::Field;
use crate::core::backup_info::{BackupInfo, BackupStatus};
use crate::core::backup_record::{self, ReportedPosition};
use crate::core::config::ServerConfig;
use crate::core::hooks::{HookFamily, Phase};
use crate::core::identity::Identity;
use crate::output::python::{human_timedelta, pretty_size};
use crate::output::Output;
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::time::Instant;

pub use settings::{BackupOptions, CopyTuning, CopyTuningOverrides, ReuseBackup};
use settings::{Method, Settings};

/// A failed step: Barman's current action and the reason.
#[derive(Debug)]
pub(crate) struct StepError {
    /// What was being done (`copying files`, `issuing start backup command`, ...).
    pub action: String,
    /// Why it failed.
    pub message: String,
}

impl StepError {
    pub(crate) fn new(action: &str, message: impl std::fmt::Display) -> StepError {
        StepError {
            action: action.to_string(),
            message: message.to_string(),
        }
    }
}

/// `backup`: every selected server in name order.
pub fn run(
    ctx: &Context,
    out: &mut Output,
    servers: &[String],
    options: &BackupOptions,
) -> crate::Result<()> {
    for (name, server) in select::servers(&ctx.config, servers, out) {
        let Some(server) = server else {
            out.error(&format!("Unknown server '{name}'"));
            continue;
        };
        select::announce(server, out);
        if !select::usable(server, out, select::Policy::SKIP_INACTIVE) {
            continue;
        }
        if server.passive_node() {
            out.info(&format!("Skipping passive server '{name}'"));
            continue;
        }
        backup_server(ctx, out, server, options)?;
    }
    Ok(())
}

/// One server's `backup`: what the steps before, during and after the backup share.
struct Job<'a> {
    ctx: &'a Context,
    server: &'a ServerConfig,
    options: &'a BackupOptions,
    settings: Settings,
    dirs: ServerDirs,
    lock_dir: PathBuf,
    hooks: crate::commands::hooks::Hooks<'a>,
}

fn backup_server(
    ctx: &Context,
    out: &mut Output,
    server: &ServerConfig,
    options: &BackupOptions,
) -> crate::Result<()> {
    crate::adapters::interrupt::install();
    let settings = match Settings::resolve(server, options) {
        Ok(settings) => settings,
        Err(message) => {
            out.error(&format!("failed to start backup: {message}"));
            return Ok(());
        }
    };
    let job = Job {
        ctx,
        server,
        options,
        settings,
        dirs: status::server_dirs(server),
        lock_dir: PathBuf::from(&ctx.config.global.barman_lock_directory),
        hooks: crate::commands::hooks::Hooks::new(&ctx.config, server),
    };
    let ControlFlow::Continue(parent) = incremental::incremental_parent(out, &job)? else {
        return Ok(());
    };
    if !pre_checks_pass(out, &job) {
        return Ok(());
    }
    if let Err((path, e)) = make_directories(server, &job.dirs) {
        out.error(&format!(
            "failed to create {} directory: {e}",
            path.display()
        ));
        return Ok(());
    }
    let Some(lock) = crate::commands::locks::take(
        out,
        &job.lock_dir,
        &LockKind::ServerBackup(server.name().to_string()),
        &crate::commands::locks::BACKUP,
    )?
    else {
        return Ok(());
    };
    let Some((id, info)) = take_backup(out, &job, parent.as_ref())? else {
        return Ok(());
    };
    json_result(out, &id, &info, *ctx.now.offset());
    wait_if_asked(out, &job, &id, &info)?;
    drop(lock);
    after_backup(out, &job, &id, &info)
}

/// Barman's silent pre-checks: a failed critical check stops the backup before it starts.
fn pre_checks_pass(out: &mut Output, job: &Job<'_>) -> bool {
    let name = job.server.name();
    let failed = crate::commands::check::run_checks(job.ctx, job.server)
        .into_iter()
        .filter(|c| !c.ok && crate::commands::check::is_critical(&c.name))
        .map(|c| c.name)
        .collect::<Vec<_>>();
    if failed.is_empty() {
        return true;
    }
    tracing::error!(target: "barman.server", "Backup pre-checks failed for {name}: {}", failed.join(", "));
    out.error(&format!(
        "Impossible to start the backup. Check the log for more details, or run 'barman check {name}'"
    ));
    false
}

/// `--wait`: still under the backup lock, wait for the backup's last WAL and re-check it.
fn wait_if_asked(
    out: &mut Output,
    job: &Job<'_>,
    id: &BackupId,
    info: &BackupInfo,
) -> crate::Result<()> {
    if !job.options.wait || info.status() != BackupStatus::WaitingForWals {
        return Ok(());
    }
    if let Some(end_wal) = info.raw(Field::EndWal) {
        let timeout = job.options.wait_timeout.unwrap_or(0);
        crate::commands::wal::wait_for_wal(job.ctx, out, job.server, Some(end_wal), timeout)?;
        crate::commands::catalog::check_backup_status(job.server, &job.lock_dir, id, out)?;
    }
    Ok(())
}

/// After the lock is released, as Barman's `Server.backup`: archive what arrived, settle
/// the backup's status, purge older WAL after a first backup, warn while WAL is missing.
fn after_backup(
    out: &mut Output,
    job: &Job<'_>,
    id: &BackupId,
    info: &BackupInfo,
) -> crate::Result<()> {
    let (server, dirs) = (job.server, &job.dirs);
    crate::commands::wal::archive_server(job.ctx, out, server, false)?;
    let mut status = info.status();
    if status == BackupStatus::WaitingForWals {
        crate::commands::catalog::check_backup_status(server, &job.lock_dir, id, out)?;
        status = store::load_backup(dirs, id)?.status();
    }
    let backups = store::load_backups(dirs)?;
    let has_previous = backups
        .iter()
        .any(|(other, b)| other < id && b.status().copy_done());
    if !has_previous && store::unreadable_backups(dirs).is_empty() {
        // Barman's `Server.backup` repeats the purge silently once the backup's WAL is in.
        let mut silent = Output::new(
            crate::output::Format::Console,
            true,
            false,
            crate::output::ColorChoice::Never,
        );
        silent.mute();
        purge_before_first_backup(&mut silent, server, &job.hooks, dirs, &job.lock_dir, info)?;
    }
    if status == BackupStatus::WaitingForWals {
        out.warning(
            "IMPORTANT: this backup is classified as WAITING_FOR_WALS, meaning that Barman has not received yet all the required WAL files for the backup consistency.\n\
             This is a common behaviour in concurrent backup scenarios, and Barman automatically set the backup as DONE once all the required WAL files have been archived.\n\
             Hint: execute the backup command with '--wait'",
        );
    }
    Ok(())
}

/// `-f json`: Barman's `result_backup` merges `BackupInfo.to_dict()` into the document,
/// encoded by its `BarmanEncoder` (times as `ctime()`, the cluster size a float).
fn json_result(out: &mut Output, id: &BackupId, info: &BackupInfo, local: chrono::FixedOffset) {
    let serde_json::Value::Object(map) = info.to_json(id.as_str(), local) else {
        return;
    };
    for (key, value) in map {
        let value = match key.as_str() {
            "begin_time" | "end_time" => Field::from_name(&key)
                .and_then(|field| info.time(field, local))
                .map(|t| serde_json::Value::String(crate::output::python::ctime(&t)))
                .unwrap_or(serde_json::Value::Null),
            "cluster_size" => value
                .as_i64()
                .map(|n| serde_json::json!(n as f64))
                .unwrap_or(value),
            _ => value,
        };
        out.json_set(&key, value);
    }
}

/// The first backup of a server makes every older WAL useless: remove it (Barman's
/// `_purge_unused_wal_files`), unless `worm_mode` keeps the archive immutable.
fn purge_before_first_backup(
    out: &mut Output,
    server: &ServerConfig,
    hooks: &crate::commands::hooks::Hooks,
    dirs: &ServerDirs,
    lock_dir: &Path,
    info: &BackupInfo,
) -> crate::Result<()> {
    let Some(begin_wal) = info.raw(Field::BeginWal) else {
        return Ok(());
    };
    let name = server.name();
    out.info(&format!("This is the first backup for server {name}"));
    if server.worm_mode() {
        out.info("'worm_mode' is enabled, skip purging of unused WAL files.");
        return Ok(());
    }
    let protection = crate::core::backup_wals::WalProtection {
        keep_from: Some(begin_wal.to_string()),
        ..Default::default()
    };
    let mut first = true;
    let (_, aborted) = crate::commands::catalog::remove_wals_for(
        dirs,
        lock_dir,
        server,
        hooks,
        &protection,
        &mut |wal| {
            if first {
                out.info_unlogged("WAL segments preceding the current backup have been found:");
                first = false;
            }
            out.info(&format!("\t{wal} from server {name} has been removed"));
        },
    )?;
    if let Some(abort) = aborted {
        return Err(abort.into());
    }
    Ok(())
}

/// Create the server's directories as Barman's `_make_directories` does.
fn make_directories(
    server: &ServerConfig,
    dirs: &ServerDirs,
) -> Result<(), (PathBuf, std::io::Error)> {
    let mut wanted = vec![
        PathBuf::from(server.backup_dir()),
        dirs.basebackups_directory.clone(),
        dirs.wals_directory.clone(),
        PathBuf::from(server.errors_dir()),
        dirs.meta_directory(),
    ];
    if server.archiver() {
        wanted.push(PathBuf::from(server.incoming_dir()));
    }
    if server.streaming_archiver() {
        wanted.push(PathBuf::from(server.streaming_dir()));
    }
    // Cloud storage URLs (`wals_directory = s3://…`) are not local folders.
    let local = |dir: &PathBuf| !dir.to_str().is_some_and(|d| d.contains("://"));
    for dir in wanted.into_iter().filter(local) {
        crate::adapters::durable::create_dir_all_durable(&dir).map_err(|e| (dir.clone(), e))?;
    }
    Ok(())
}

/// A new backup id from the local clock, never one already in the catalog (two backups
/// in the same second wait for the next one).
fn new_backup_id(dirs: &ServerDirs) -> BackupId {
    loop {
        let id: BackupId = chrono::Local::now()
            .format("%Y%m%dT%H%M%S")
            .to_string()
            .parse()
            .expect("the %Y%m%dT%H%M%S format makes a backup id");
        let taken = dirs.backup_base(&id).exists() || dirs.backup_info(&id).exists();
        if !taken {
            return id;
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
}

/// Everything the methods share while one backup runs.
pub(crate) struct Running<'a> {
    pub server: &'a ServerConfig,
    pub dirs: &'a ServerDirs,
    pub hooks: &'a crate::commands::hooks::Hooks<'a>,
    pub lock_dir: PathBuf,
    pub settings: &'a Settings,
    pub id: BackupId,
    pub info: BackupInfo,
    pub action: String,
    pub copy_start: Option<chrono::DateTime<chrono::Local>>,
    /// The parent of an incremental backup.
    pub parent: Option<BackupId>,
    /// The bucket of a cloud `basebackups_directory` (each save is mirrored there).
    pub cloud: Option<&'a crate::adapters::cloud::CloudStore>,
}

impl Running<'_> {
    /// `_purge_unused_wal_files`: on the first backup of a server, remove older WAL (the
    /// rsync methods call it before and after the copy, the postgres method after it).
    pub(crate) fn purge_if_first(&self, out: &mut Output) -> Result<(), StepError> {
        let backups =
            store::load_backups(self.dirs).map_err(|e| StepError::new(&self.action, e))?;
        let has_previous = backups
            .iter()
            .any(|(other, b)| other.as_str() < self.id.as_str() && b.status().copy_done());
        if has_previous {
            return Ok(());
        }
        if !store::unreadable_backups(self.dirs).is_empty() {
            // An older backup whose backup.info cannot be read may need that WAL.
            tracing::warn!(target: "barman.backup", "WAL preceding backup {} kept: an unreadable backup.info may need it", self.id);
            return Ok(());
        }
        purge_before_first_backup(
            out,
            self.server,
            self.hooks,
            self.dirs,
            &self.lock_dir,
            &self.info,
        )
        .map_err(|e| StepError::new(&self.action, e))
    }

    /// Move to the next step (named in errors), logged as Barman logs its
    /// `current_action`.
    pub(crate) fn set_action(&mut self, action: &str) {
        tracing::debug!(target: "barman.backup_executor", "{action}");
        self.action = action.to_string();
    }

    pub(crate) fn save(&self) -> Result<(), StepError> {
        store::save_backup(self.dirs, &self.id, &self.info)
            .map_err(|e| StepError::new(&self.action, e))?;
        if let Some(store) = self.cloud {
            cloud_method::mirror_info(store, self.server.name(), &self.id, &self.info)
                .map_err(|e| StepError::new(&self.action, e))?;
        }
        Ok(())
    }

    pub(crate) fn base(&self) -> PathBuf {
        self.dirs.backup_base(&self.id)
    }

    pub(crate) fn data_dir(&self) -> PathBuf {
        self.base().join("data")
    }

    /// `Backup start at LSN: <lsn> (<wal>, <offset>)` once the start is recorded.
    pub(crate) fn report_start(&self, out: &mut Output) {
        let info = &self.info;
        out.info(&format!(
            "Backup start at LSN: {} ({}, {:08X})",
            info.raw(Field::BeginXlog).unwrap_or("None"),
            info.raw(Field::BeginWal).unwrap_or("None"),
            info.int(Field::BeginOffset).unwrap_or(0)
        ));
    }

    /// Record the server facts of `_pg_get_metadata`.
    pub(crate) fn record_facts(&mut self, facts: &ServerFacts) {
        record_server_facts(&mut self.info, facts);
    }
}

/// `_pg_get_metadata`'s fields of `backup.info` (also barman-cloud-backup's).
pub(crate) fn record_server_facts(info: &mut BackupInfo, facts: &ServerFacts) {
    info.set_raw(Field::Pgdata, Some(facts.pgdata.clone()));
    info.set_raw(Field::Version, Some(facts.version.to_string()));
    info.set_raw(
        Field::XlogSegmentSize,
        Some(facts.xlog_segment_size.to_string()),
    );
    // `config_file`, `hba_file`, `ident_file`: the query asks for these three only.
    for (key, value) in &facts.config_files {
        if let Some(field) = Field::from_name(key) {
            info.set_raw(field, Some(value.clone()));
        }
    }
    info.set_raw(
        Field::IncludedFiles,
        backup_record::string_list_literal(&facts.included_files),
    );
    let tablespaces: Vec<(String, u32, String)> = facts
        .tablespaces
        .iter()
        .map(|t| (t.name.clone(), t.oid, t.location.clone()))
        .collect();
    info.set_raw(
        Field::Tablespaces,
        backup_record::tablespaces_literal(&tablespaces),
    );
    info.set_raw(Field::DataChecksums, facts.data_checksums.clone());
    info.set_raw(Field::SummarizeWal, facts.summarize_wal.clone());
    let size = facts
        .cluster_size
        .as_deref()
        .map(|s| s.split('.').next().unwrap_or(s).to_string());
    info.set_raw(Field::ClusterSize, size);
}

pub(crate) fn reported(position: &Position) -> ReportedPosition {
    ReportedPosition {
        location: position.location,
        timeline: position.timeline,
        file_name: position.file_name.clone(),
        file_offset: position.file_offset,
        timestamp: position.timestamp,
    }
}

/// Take the backup under the server lock. `None` when it could not even be created.
fn take_backup(
    out: &mut Output,
    job: &Job<'_>,
    parent: Option<&(BackupId, BackupInfo)>,
) -> crate::Result<Option<(BackupId, BackupInfo)>> {
    let (server, settings) = (job.server, &job.settings);
    tracing::debug!(target: "barman.backup", "initialising backup information");
    let Some((mut session, facts)) = open_session(out, job, parent)? else {
        return Ok(None);
    };
    let id = new_backup_id(&job.dirs);
    let cloud = match settings.method {
        Method::LocalToCloud | Method::PostgresToCloud => match cloud_method::open_store(server) {
            Ok(store) => Some(store),
            Err(e) => {
                out.error(&format!("failed to start backup: {e}"));
                return Ok(None);
            }
        },
        _ => None,
    };
    let mut running = Running {
        server,
        dirs: &job.dirs,
        hooks: &job.hooks,
        lock_dir: job.lock_dir.clone(),
        settings,
        id: id.clone(),
        info: initial_info(job, &facts, parent),
        parent: parent.map(|(id, _)| id.clone()),
        action: "starting backup".into(),
        copy_start: None,
        cloud: cloud.as_ref(),
    };
    running.save().map_err(|e| crate::Error::Fatal(e.message))?;
    out.info(&format!(
        "Starting backup using {} method for server {} in {}",
        settings.method.mode(settings.exclusive),
        server.name(),
        match &cloud {
            Some(store) => cloud_method::backup_key(store, server.name(), id.as_str()),
            None => running.base().display().to_string(),
        }
    ));
    let started = Instant::now();
    let result = run_pre_hooks(&job.hooks, &running).and_then(|()| match settings.method {
        Method::Postgres | Method::PostgresToCloud => {
            postgres_method::run(out, &mut running, &mut session, facts)
        }
        Method::Rsync | Method::LocalRsync => {
            rsync_method::run(out, &mut running, &mut session, facts, job.options)
        }
        Method::LocalToCloud => cloud_method::run(out, &mut running, &mut session),
    });
    let result = result.and_then(|()| finish(out, &mut running, &mut session));
    drop(session);
    let succeeded = result.is_ok();
    record_outcome(out, &mut running, result, started)?;
    if let Some(parent_id) = &running.parent {
        // Barman records the child on its parent even when the child failed, so the
        // failed child can still be found (and deleted with its parent).
        incremental::add_child(&job.dirs, parent_id, &id)?;
    }
    // Post hooks run whatever happened, before the manifest (Barman's `finally`); a post
    // retry hook's 63 is only logged.
    let _ = job
        .hooks
        .backup(HookFamily::Backup, Phase::Post, &hook_facts(&running));
    if succeeded
        && settings.manifest
        && matches!(settings.method, Method::Rsync | Method::LocalRsync)
    {
        write_manifest(out, &running);
    }
    Ok(Some((id, running.info)))
}

/// Connect and read the server's facts, then refuse an ineligible incremental parent or
/// a server whose system id changed; `None` when the backup cannot start (reported).
fn open_session(
    out: &mut Output,
    job: &Job<'_>,
    parent: Option<&(BackupId, BackupInfo)>,
) -> crate::Result<Option<(BackupSession, ServerFacts)>> {
    let mut session = match BackupSession::connect(job.server.conninfo().unwrap_or("")) {
        Ok(s) => s,
        Err(e) => {
            out.error(&format!("failed to start backup: {e}"));
            return Ok(None);
        }
    };
    let facts = match session.facts() {
        Ok(f) => f,
        Err(e) => {
            out.error(&format!("failed to start backup: {e}"));
            return Ok(None);
        }
    };
    if let Some((parent_id, parent_info)) = parent {
        if let Err(problem) =
            incremental::validate_incremental(&job.settings, &facts, parent_id, parent_info)
        {
            out.error(&format!("failed to start backup: {problem}"));
            return Ok(None);
        }
    }
    if let Some(problem) = write_identity(&job.dirs, &facts)? {
        out.error(&problem);
        return Ok(None);
    }
    Ok(Some((session, facts)))
}

/// The backup.info written before anything is copied (status EMPTY).
fn initial_info(
    job: &Job<'_>,
    facts: &ServerFacts,
    parent: Option<&(BackupId, BackupInfo)>,
) -> BackupInfo {
    let settings = &job.settings;
    let mut info = BackupInfo::empty();
    info.set_raw(Field::ServerName, Some(job.server.name().to_string()));
    info.set_raw(
        Field::Mode,
        Some(settings.method.mode(settings.exclusive).to_string()),
    );
    info.set_raw(Field::Systemid, facts.systemid.clone());
    info.set_raw(Field::BackupName, job.options.name.clone());
    info.set_raw(Field::ParentBackupId, parent.map(|(id, _)| id.to_string()));
    info
}

/// Record how the backup ended: WAITING_FOR_WALS and Barman's summary, or FAILED with
/// `failure <action> (<reason>)` and its error line.
fn record_outcome(
    out: &mut Output,
    running: &mut Running<'_>,
    result: Result<(), StepError>,
    started: Instant,
) -> crate::Result<()> {
    match result {
        Ok(()) => {
            running
                .info
                .set_raw(Field::Status, Some("WAITING_FOR_WALS".into()));
            running.save().map_err(|e| crate::Error::Fatal(e.message))?;
            report_success(out, running, started);
        }
        Err(e) => {
            running.info.set_raw(Field::Status, Some("FAILED".into()));
            running.info.set_raw(
                Field::Error,
                Some(backup_record::failure_text(&e.action, &e.message)),
            );
            // Saved locally first: a bucket gone away cannot hide why the backup failed.
            let saved = running.save();
            let details = e.message.trim();
            out.error(&format!(
                "Backup failed {}.\nDETAILS: {}",
                e.action,
                if details.is_empty() { "Error" } else { details }
            ));
            saved.map_err(|e| crate::Error::Fatal(e.message))?;
        }
    }
    Ok(())
}

/// `autogenerate_manifest` / `--manifest`: the rsync methods write `backup_manifest`
/// themselves (pg_basebackup writes its own).
fn write_manifest(out: &mut Output, running: &Running<'_>) {
    match crate::adapters::catalog::manifest::write(&running.data_dir()) {
        Ok(()) => out.info(&format!(
            "Backup manifest for backup '{}' successfully generated for server {}",
            running.id,
            running.server.name()
        )),
        Err(e) => out.error(&format!("Cannot generate the backup manifest: {e}")),
    }
}

/// The hook environment of the running backup (its neighbours from the catalog on disk).
fn hook_facts(running: &Running<'_>) -> crate::core::hooks::BackupFacts {
    let mut backups = store::load_backups(running.dirs).unwrap_or_default();
    backups.insert(running.id.clone(), running.info.clone());
    crate::commands::hooks::backup_facts(running.dirs, &backups, &running.id, &running.info)
}

/// `pre_backup_script` then `pre_backup_retry_script` (status EMPTY); a retry hook's 63
/// fails the backup while `starting backup`.
fn run_pre_hooks(
    hooks: &crate::commands::hooks::Hooks,
    running: &Running<'_>,
) -> Result<(), StepError> {
    hooks
        .backup(HookFamily::Backup, Phase::Pre, &hook_facts(running))
        .map_err(|abort| StepError::new(&running.action, abort))
}

/// Restore point, fsync of every file and the sizes (Barman's `backup_fsync_and_set_sizes`).
fn finish(
    out: &mut Output,
    running: &mut Running<'_>,
    session: &mut BackupSession,
) -> Result<(), StepError> {
    if let Err(e) = session.create_restore_point(&format!("barman_{}", running.id)) {
        tracing::debug!(target: "barman.postgres", "Error issuing pg_create_restore_point() command: {e}");
    }
    if running.cloud.is_some() {
        // Cloud backups are sized by the upload and have nothing local to fsync.
        let size = running.info.int(Field::Size).unwrap_or(0);
        out.info(&format!("Backup size: {}", pretty_size(size as f64)));
        return Ok(());
    }
    // Barman encrypts after the restore point, before the sizes (they are the encrypted
    // files' sizes).
    encrypt::encrypt_if_configured(out, running)?;
    running.set_action("calculating backup size");
    let (size, dedup) =
        fsync_and_size(&running.base()).map_err(|e| StepError::new(&running.action, e))?;
    running.info.set_raw(Field::Size, Some(size.to_string()));
    running
        .info
        .set_raw(Field::DeduplicatedSize, Some(dedup.to_string()));
    running.save()?;
    if running.settings.reuse == ReuseBackup::Link {
        let ratio = if size > 0 {
            1.0 - dedup as f64 / size as f64
        } else {
            0.0
        };
        out.info(&format!(
            "Backup size: {}. Actual size on disk: {} (-{:.2}% deduplication ratio).",
            pretty_size(size as f64),
            pretty_size(dedup as f64),
            ratio * 100.0
        ));
    } else {
        out.info(&format!("Backup size: {}", pretty_size(size as f64)));
    }
    Ok(())
}

/// Walk the backup, fsync every file and folder, and return (size, deduplicated size):
/// files with more than one link (shared with another backup) are not counted as new.
pub(crate) fn fsync_and_size(root: &Path) -> std::io::Result<(u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    let mut size = 0;
    let mut dedup = 0;
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir)? {
            let entry = entry?;
            let kind = entry.file_type()?;
            if kind.is_dir() {
                stack.push(entry.path());
            } else if kind.is_file() {
                let file = std::fs::File::open(entry.path())?;
                file.sync_all()?;
                let meta = file.metadata()?;
                size += meta.len();
                if meta.nlink() == 1 {
                    dedup += meta.len();
                }
            }
        }
        crate::adapters::durable::fsync_dir(&dir)?;
    }
    Ok((size, dedup))
}

fn report_success(out: &mut Output, running: &Running<'_>, started: Instant) {
    let info = &running.info;
    let offset = info.int(Field::EndOffset).unwrap_or(0);
    out.info(&format!(
        "Backup end at LSN: {} ({}, {:08X})",
        info.raw(Field::EndXlog).unwrap_or("None"),
        info.raw(Field::EndWal).unwrap_or("None"),
        offset
    ));
    let start = running
        .copy_start
        .map(|t| python_naive(&t))
        .unwrap_or_else(|| "None".into());
    // Barman counts from its executor's copy_start_time, not from the command's start: the
    // pre-backup hooks and the checkpoint of the rsync methods' start_backup are not in it.
    let elapsed = match running.copy_start {
        Some(copy_start) => (chrono::Local::now() - copy_start).as_seconds_f64(),
        None => started.elapsed().as_secs_f64(),
    };
    out.info(&format!(
        "Backup completed (start time: {start}, elapsed time: {})",
        human_timedelta(elapsed)
    ));
}

/// Python's `str(datetime.now())` (naive local time).
pub(crate) fn python_naive(t: &chrono::DateTime<chrono::Local>) -> String {
    if t.timestamp_subsec_micros() == 0 {
        t.format("%Y-%m-%d %H:%M:%S").to_string()
    } else {
        t.format("%Y-%m-%d %H:%M:%S%.6f").to_string()
    }
}

/// Write identity.json at the first backup; refuse a server whose system id changed.
fn write_identity(dirs: &ServerDirs, facts: &ServerFacts) -> crate::Result<Option<String>> {
    let Some(systemid) = facts.systemid.clone() else {
        return Ok(None);
    };
    let version = facts.version.major_text();
    match store::load_identity(dirs)? {
        Some(identity) if identity.systemid != systemid => Ok(Some(format!(
            "failed to start backup: the PostgreSQL system id {systemid} differs from the one stored in {} ({}): this is not the server this catalog belongs to",
            dirs.identity().display(),
            identity.systemid
        ))),
        Some(_) => Ok(None),
        None => {
            store::save_identity(dirs, &Identity { systemid, version })?;
            Ok(None)
        }
    }
}
