//! `restore` / `recover SERVER BACKUP_ID DESTINATION`: Barman's `cli.restore` checks,
//! `BackupManager.recover` and `RecoveryExecutor.recover`: archive pending WAL, refuse a
//! non-empty destination, copy the base backup (locally, or with rsync over
//! `--remote-ssh-command`), link the tablespaces, copy the WALs the target needs
//! (decompressed) or write a get-wal `restore_command`, write the recovery settings for
//! the server's version, neutralise dangerous settings and print Barman's report.

mod combine;
mod config;
pub(crate) mod copy;
mod decrypt;
mod delta;
mod options;
pub mod replay;
mod wals;

/// Also read by `barman-cloud-restore --target-time`.
pub use options::parse_target_time;

use crate::adapters::catalog::layout::ServerDirs;
use crate::adapters::destination::Destination;
use crate::adapters::lock::LockKind;
use crate::commands::catalog::ServerCatalog;
use crate::commands::hooks::{self, HookPhase};
use crate::commands::{select, status, Context};
use crate::core::backup_id::BackupId;
use crate::core::backup_info::Field;
use crate::core::backup_info::{BackupInfo, BackupStatus};
use crate::core::backup_record::python_datetime;
use crate::core::config::ServerConfig;
use crate::core::pg_version::PgVersion;
use crate::core::recovery::Assertion;
use crate::output::python::human_timedelta;
use crate::output::Output;
use std::path::PathBuf;

pub use copy::tablespaces as backup_tablespaces;
pub use options::RestoreOptions;

/// restore refuses disabled servers and runs on inactive ones.
const POLICY: select::Policy = select::Policy {
    inactive_is_error: false,
    skip_inactive: false,
    disabled_is_error: true,
};

/// A restore that cannot go on: Barman's message, printed as one `ERROR:` (or a hook's
/// abort, rendered as Barman's `EXCEPTION:`).
pub(crate) enum Stop {
    /// An `ERROR:` line.
    Message(String),
    /// A pre-recovery retry hook asked to stop.
    Exception(crate::Error),
    /// An exception Barman does not catch (`EXCEPTION: <text>` + the log hint).
    Uncaught(String),
}

impl<T: std::fmt::Display> From<T> for Stop {
    fn from(e: T) -> Self {
        Stop::Message(e.to_string())
    }
}

/// Barman's `env_from_recover`: the truthy restore options, as JSON.
fn hook_facts(options: &RestoreOptions, plan: &options::Plan) -> hooks::RecoveryHookFacts {
    let mut map = serde_json::Map::new();
    let mut put = |key: &str, value: Option<serde_json::Value>| {
        if let Some(v) = value {
            map.insert(key.to_string(), v);
        }
    };
    let text = |v: &Option<String>| v.clone().map(serde_json::Value::String);
    let flag = |b: bool| b.then_some(serde_json::Value::Bool(true));
    put("target_tli", text(&options.target_tli));
    put("target_time", text(&options.target_time));
    put("target_xid", text(&options.target_xid));
    put("target_lsn", text(&options.target_lsn));
    put("target_name", text(&options.target_name));
    put("target_immediate", flag(options.target_immediate));
    put("exclusive", flag(options.exclusive));
    put("target_action", text(&options.target_action));
    put("standby_mode", flag(options.standby_mode));
    put(
        "recovery_conf_filename",
        text(&options.recovery_conf_filename),
    );
    put("recovery_option_port", text(&options.recovery_option_port));
    put("custom_restore_command", text(&options.restore_command));
    put("copy_partial", flag(options.partial_wal));
    hooks::RecoveryHookFacts {
        destination: options.destination.clone(),
        tablespaces: plan.tablespaces.clone(),
        remote_command: options.remote_ssh_command.clone(),
        options: map,
    }
}

/// What every step of one restore reads: the server, its catalog, the backup and the
/// request.
pub(crate) struct Job<'a> {
    pub ctx: &'a Context,
    pub server: &'a ServerConfig,
    pub dirs: &'a ServerDirs,
    pub id: &'a BackupId,
    pub info: &'a BackupInfo,
    pub options: &'a RestoreOptions,
}

/// What the restore collected for the final report.
#[derive(Default)]
pub(crate) struct Results {
    pub changes: Vec<Assertion>,
    pub warnings: Vec<Assertion>,
    pub missing_files: Vec<String>,
    pub get_wal: bool,
    pub recovery_configuration_file: String,
}

/// `restore` / `recover`.
pub fn run(ctx: &Context, out: &mut Output, options: &RestoreOptions) -> crate::Result<()> {
    let Some(server) = select::single(&ctx.config, &options.server, out, POLICY) else {
        return Ok(());
    };
    let lock_dir = PathBuf::from(&ctx.config.global.barman_lock_directory);
    let catalog = ServerCatalog::load(server, &lock_dir, *ctx.now.offset())?;
    let Some((id, info)) = options::select_backup(out, &catalog, options) else {
        return Ok(());
    };
    let Some(plan) = options::validate(out, server, &info, options) else {
        return Ok(());
    };
    // Held shared for the whole restore: a `delete` (ours, Python Barman's, cron's
    // retention), which takes it exclusively, cannot remove the backup being copied.
    let kind = LockKind::Backup(server.name().to_string(), id.to_string());
    let Some(_reading) =
        crate::commands::locks::take(out, &lock_dir, &kind, &crate::commands::locks::RECOVER)?
    else {
        return Ok(());
    };
    if !options.skip_archive_wal {
        crate::commands::wal::archive_server(ctx, out, server, false)?;
    }
    let job = Job {
        ctx,
        server,
        dirs: &catalog.dirs,
        id: &id,
        info: &info,
        options,
    };
    match restore(out, &job, &plan) {
        Ok(()) => Ok(()),
        Err(Stop::Message(message)) => {
            out.error(&message);
            Ok(())
        }
        Err(Stop::Exception(e)) => Err(e),
        Err(Stop::Uncaught(text)) => {
            out.exception(&format!("{text}\nSee log file for more details."));
            Ok(())
        }
    }
}

/// Seconds an idle shared ssh connection to the restore's destination outlives its last
/// command: long enough to span the pauses between commands, short after the restore.
const RESTORE_CONTROL_PERSIST: u32 = 10;

/// The restore proper, once the arguments are known to be valid.
fn restore(out: &mut Output, job: &Job<'_>, plan: &options::Plan) -> Result<(), Stop> {
    let Job {
        ctx,
        server,
        id,
        info,
        options,
        ..
    } = *job;
    let start = chrono::Local::now();
    let dest = options.destination.as_str();
    // The remote commands of one restore (a dozen checks and small copies besides the
    // rsync streams) share one ssh connection instead of a handshake each: an extension
    // to Barman; a command that sets its own ControlMaster/ControlPath is used as written.
    let target = Destination::new(options.remote_ssh_command.as_deref())
        .map_err(Stop::Message)?
        .with_ssh_words(|words| {
            crate::clients::control_dir::shared_connection_words(words, RESTORE_CONTROL_PERSIST)
        });
    // A delta restore reuses what the destination holds (Barman skips the check).
    if !plan.delta {
        check_empty(&target, dest, info, plan)?;
    }
    let hook_facts = hook_facts(options, plan);
    if let Err(abort) =
        hooks::run_recovery_hooks(&ctx.config, server, HookPhase::Pre, id, &hook_facts)
    {
        return Err(Stop::Exception(crate::Error::from(abort)));
    }
    let version = info.version().unwrap_or(PgVersion::from_num(0));
    let mut results = Results {
        recovery_configuration_file: options.recovery_conf_filename.clone().unwrap_or_else(|| {
            if version < PgVersion::V12 {
                "recovery.conf".into()
            } else {
                "postgresql.auto.conf".into()
            }
        }),
        ..Results::default()
    };
    announce(out, job, &target, plan);
    let horizon = plan
        .delta
        .then(|| delta::safe_horizon(out, &target, dest, info))
        .flatten()
        .map(|h| delta::rsync_time(&h));
    let plan = &options::Plan {
        horizon,
        ..plan.clone()
    };
    copy_base(out, job, &target, plan)?;
    if !plan.get_wal {
        copy_wals(out, job, &target, plan)?;
    }
    let lines = if plan.is_pitr || plan.get_wal || options.standby_mode {
        out.info("Generating recovery configuration");
        let lines = config::recovery_lines(ctx, out, server, info, options, plan, &target)?;
        results.get_wal = plan.get_wal;
        Some(lines)
    } else {
        None
    };
    target
        .create_dir(&format!("{}/archive_status", plan.wal_dest), None)
        .map_err(|e| {
            Stop::Message(format!(
                "unable to create the archive_status directory '{}/archive_status': {e}",
                plan.wal_dest
            ))
        })?;
    out.info("Identify dangerous settings in destination directory.");
    config::mangle(server, info, &target, dest, lines.as_deref(), &mut results)?;
    if let Err(abort) =
        hooks::run_recovery_hooks(&ctx.config, server, HookPhase::Post, id, &hook_facts)
    {
        tracing::warn!(target: "barman.backup", "Ignoring stop request after receiving abort from post-recovery retry hook script: {abort}");
    }
    report(out, &results, start);
    Ok(())
}

/// Barman's opening lines: where the restore goes, and the warnings about the request.
fn announce(out: &mut Output, job: &Job<'_>, target: &Destination, plan: &options::Plan) {
    let options = job.options;
    let where_ = if target.is_remote() {
        "remote"
    } else {
        "local"
    };
    out.info(&format!(
        "Starting {where_} restore for server {} using backup {}",
        job.server.name(),
        job.id
    ));
    out.info(&format!("Destination directory: {}", options.destination));
    if let Some(cmd) = &options.remote_ssh_command {
        out.info(&format!("Remote command: {cmd}"));
    }
    if !plan.get_wal && job.info.status() == BackupStatus::WaitingForWals {
        out.warning("IMPORTANT: You have requested a recovery operation for a backup that does not have yet all the WAL files that are required for consistency.");
    }
    if options.partial_wal {
        if plan.get_wal {
            out.warning("The --partial-wal option was ignored as it only works with --no-get-wal.");
        } else if options.target_immediate {
            out.warning(
                "The --partial-wal option was ignored as it has no effect with --target-immediate.",
            );
        }
    }
    if let Some(summary) = &plan.pitr_summary {
        out.info(&format!("Doing PITR. Recovery target {summary}"));
    }
}

/// The base backup into the destination: decrypted first when encrypted, combined when
/// incremental, then its tablespaces linked and `.barman-recover.info` written.
fn copy_base(
    out: &mut Output,
    job: &Job<'_>,
    target: &Destination,
    plan: &options::Plan,
) -> Result<(), Stop> {
    out.info("Copying the base backup.");
    // Kept until the copy is done: dropping it removes the decrypted files.
    let decrypted = decrypt::backup(out, job.server, job.dirs, job.id, job.info, plan)?;
    let plan = &options::Plan {
        decrypted_base: decrypted.as_ref().map(|d| d.path().to_path_buf()),
        ..plan.clone()
    };
    let mut restored = job.info.clone();
    if combine::is_incremental(job.info) {
        let time = combine::base_backup(out, job, target, plan)?;
        if let Some(seconds) = time {
            restored.set_raw(Field::CopyStats, Some(combine::combine_copy_stats(seconds)));
        }
    } else if job.server.uses_backup_cloud_storage() {
        download_base(job, target)?;
    } else if let Err(e) = copy::base_backup(out, job, target, plan) {
        return Err(Stop::Message(format!(
            "Failure copying base backup: {}",
            e.0
        )));
    }
    drop(decrypted);
    let dest = job.options.destination.as_str();
    copy::finish_copy(job.server, job.dirs, job.id, &restored, target, dest)
}

/// A backup in the bucket (Barman's `DownloadOperation`): its tars are downloaded and
/// extracted into the destination by barman-cloud-restore's own code.
fn download_base(job: &Job<'_>, target: &Destination) -> Result<(), Stop> {
    use crate::clients::cloud::restore::{download_backup, Placement};
    if target.is_remote() {
        return Err(Stop::Message(
            "a backup stored in the cloud can only be restored locally".into(),
        ));
    }
    let server = job.server;
    let store = crate::commands::cloud_wal::open_store(server, server.basebackups_dir())
        .map_err(|e| Stop::Message(format!("Failure copying base backup: {e}")))?;
    let relocations = job
        .options
        .tablespaces
        .iter()
        .filter_map(|rule| rule.split_once(':'))
        .map(|(name, location)| (name.to_string(), location.to_string()))
        .collect();
    let destination = std::path::PathBuf::from(&job.options.destination);
    let place = Placement {
        server_name: server.name(),
        destination: &destination,
        relocations: &relocations,
    };
    download_backup(
        &store,
        &place,
        (job.id.as_str(), job.info),
        crate::clients::cloud::Log::barman(),
    )
    .map_err(|e| Stop::Message(format!("Failure copying base backup: {e}")))
}

/// The WAL the backup needs (and up to the target), with `archive_status` for a restore
/// without point-in-time target.
fn copy_wals(
    out: &mut Output,
    job: &Job<'_>,
    target: &Destination,
    plan: &options::Plan,
) -> Result<(), Stop> {
    let status = job.info.status();
    if status == BackupStatus::WaitingForWals {
        let now = crate::adapters::catalog::store::load_backup(job.dirs, job.id)
            .map(|b| b.status())
            .unwrap_or(status);
        if now == BackupStatus::WaitingForWals {
            out.warning("IMPORTANT: The backup we have restored IS NOT VALID. Required WAL files for consistency are missing. Please verify that WAL archiving is working correctly or evaluate using the 'get-wal' option for recovery");
        }
    }
    target
        .create_dir(&plan.wal_dest, Some(0o700))
        .map_err(|e| {
            Stop::Message(format!(
                "unable to initialise WAL destination directory '{}': {e}",
                plan.wal_dest
            ))
        })?;
    out.info("Copying required WAL segments.");
    let required = wals::required(job.server, job.dirs, job.info, job.options, plan)?;
    let show_estimate = job.ctx.config.global.recovery_estimates;
    let required = replay::plan(out, job.dirs, job.info, plan, required, show_estimate);
    wals::copy(out, job.server, job.dirs, &required, target, plan)?;
    if !plan.is_pitr {
        out.info("Generating archive status files");
        wals::archive_status(target, &plan.wal_dest, &required)?;
    }
    Ok(())
}

/// Barman refuses a destination (or tablespace location) that already holds files.
fn check_empty(
    target: &Destination,
    dest: &str,
    info: &BackupInfo,
    plan: &options::Plan,
) -> Result<(), Stop> {
    if target.has_content(dest)? {
        return Err(Stop::Message(format!("The restore operation cannot proceed because the destination folder '{dest}' is not empty. To prevent accidental data loss, the destination must be empty. Please choose a different location or manually empty the folder.")));
    }
    for t in copy::tablespaces(info) {
        let location = plan.tablespaces.get(&t.0).cloned().unwrap_or(t.2.clone());
        if target.has_content(&location)? {
            return Err(Stop::Message(format!("The restore operation cannot proceed. The destination path '{location}' for the tablespace '{}' is not empty. To prevent accidental data loss, the tablespace destination must be empty. Please choose a different location or manually empty the folder.", t.0)));
        }
    }
    Ok(())
}

/// `result_recovery` (console; JSON mirrors Barman's keys).
fn report(out: &mut Output, results: &Results, start: chrono::DateTime<chrono::Local>) {
    report_settings(out, results);
    out.info("");
    let elapsed = (chrono::Local::now() - start).num_milliseconds() as f64 / 1000.0;
    out.info(&format!(
        "Restore operation completed (start time: {}, elapsed time: {})",
        python_datetime(&start.fixed_offset()),
        human_timedelta(elapsed)
    ));
    out.info("Your PostgreSQL server has been successfully prepared for recovery!");
    report_json(out, results, start, elapsed);
}

/// The changed and dangerous settings, the configuration files not restored and the
/// get-wal reminder, as Barman lists them.
fn report_settings(out: &mut Output, results: &Results) {
    let render = |a: &Assertion| {
        format!(
            "{} line {}: {} = {}",
            a.filename,
            a.line,
            a.key,
            a.value.as_deref().unwrap_or("None")
        )
    };
    if !results.changes.is_empty() {
        out.info("");
        out.info("IMPORTANT");
        out.info("These settings have been modified to prevent data losses");
        out.info("");
        for a in &results.changes {
            out.info(&render(a));
        }
    }
    if !results.warnings.is_empty() {
        out.info("");
        out.info("WARNING");
        out.info("You are required to review the following options as potentially dangerous");
        out.info("");
        for a in &results.warnings {
            out.info(&render(a));
        }
    }
    if !results.missing_files.is_empty() {
        out.info("");
        out.info("WARNING");
        out.info("The following configuration files have not been saved during backup, hence they have not been restored.");
        out.info(
            "You need to manually restore them in order to start the restored PostgreSQL instance:",
        );
        out.info("");
        for f in &results.missing_files {
            out.info(&format!("    {f}"));
        }
    }
    if results.get_wal {
        out.info("");
        out.info("WARNING: 'get-wal' is in the specified 'recovery_options'.");
        out.info(&format!(
            "Before you start up the PostgreSQL server, please review the {} file",
            results.recovery_configuration_file
        ));
        out.info("inside the target directory. Make sure that 'restore_command' can be executed by the PostgreSQL user.");
    }
}

/// The `-f json` keys of Barman's `result_recovery`.
fn report_json(
    out: &mut Output,
    results: &Results,
    start: chrono::DateTime<chrono::Local>,
    elapsed: f64,
) {
    let assertion_json = |a: &Assertion| serde_json::json!([a.filename, a.line, a.key, a.value]);
    out.json_set("changes_count", serde_json::json!(results.changes.len()));
    out.json_set(
        "changes",
        serde_json::Value::Array(results.changes.iter().map(assertion_json).collect()),
    );
    out.json_set("warnings_count", serde_json::json!(results.warnings.len()));
    out.json_set(
        "warnings",
        serde_json::Value::Array(results.warnings.iter().map(assertion_json).collect()),
    );
    out.json_set("missing_files", serde_json::json!(results.missing_files));
    out.json_set(
        "recovery_start_time",
        serde_json::json!(python_datetime(&start.fixed_offset())),
    );
    out.json_set(
        "recovery_start_time_timestamp",
        serde_json::json!(start.timestamp().to_string()),
    );
    out.json_set(
        "recovery_elapsed_time",
        serde_json::json!(human_timedelta(elapsed)),
    );
    out.json_set("recovery_elapsed_time_seconds", serde_json::json!(elapsed));
}

/// The server's directories (used by the sub-modules).
pub(crate) fn dirs_of(server: &ServerConfig) -> ServerDirs {
    status::server_dirs(server)
}
