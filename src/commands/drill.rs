//! `barman drill SERVER [BACKUP_ID] [targets] [--jobs N]`: prove that a backup restores.
//! Restore it (our own `restore`, WAL copied, no get-wal) into a scratch directory under
//! `drill_directory`, start it as a throw-away PostgreSQL, wait until it has replayed to its
//! target and left recovery, run `pg_amcheck` (heap and btree, every database) and count
//! the rows of every user table; record the outcome beside the backup's info
//! (`<meta>/<id>-drill.json`), stop the server and remove everything.

use super::catalog::ServerCatalog;
use super::recover::{self, RestoreOptions};
use super::select;
use super::status::server_dirs;
use super::Context;
use crate::adapters::catalog::{annotations, commit_index};
use crate::adapters::durable;
use crate::adapters::lock::LockKind;
use crate::adapters::pg_tools;
use crate::adapters::scratch_cluster::{find_tool, ScratchCluster, ScratchError};
use crate::core::backup_id::BackupId;
use crate::core::drill::{amcheck_relation, DatabaseProbe, DrillRecord};
use crate::output::{ColorChoice, Format, Output};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// What to drill.
#[derive(Debug, Clone, Default)]
pub struct DrillRequest {
    /// Server name.
    pub server: String,
    /// Backup id or shortcut (`latest` when not given).
    pub backup_id: Option<String>,
    /// `--target-time`.
    pub target_time: Option<String>,
    /// `--target-lsn`.
    pub target_lsn: Option<String>,
    /// `--target-xid`.
    pub target_xid: Option<String>,
    /// `--target-name`.
    pub target_name: Option<String>,
    /// `--target-immediate`.
    pub target_immediate: bool,
    /// `--jobs`: restore and amcheck parallelism.
    pub jobs: Option<u32>,
}

impl DrillRequest {
    fn target(&self) -> Option<String> {
        let pairs = [
            ("time", &self.target_time),
            ("lsn", &self.target_lsn),
            ("xid", &self.target_xid),
            ("name", &self.target_name),
        ];
        pairs
            .iter()
            .find_map(|(k, v)| v.as_ref().map(|v| format!("{k} {v}")))
            .or_else(|| self.target_immediate.then(|| "immediate".to_string()))
    }
}

const POLICY: select::Policy = select::Policy {
    inactive_is_error: false,
    skip_inactive: false,
    disabled_is_error: true,
};

/// How long a drill waits for PostgreSQL to start, and then to finish replaying.
const START_TIMEOUT: Duration = Duration::from_secs(600);
const REPLAY_TIMEOUT: Duration = Duration::from_secs(6 * 3600);

/// Run one drill and report it; a failed drill exits 1.
pub fn run(ctx: &Context, out: &mut Output, request: &DrillRequest) -> crate::Result<()> {
    let Some(server) = select::single(&ctx.config, &request.server, out, POLICY) else {
        return Ok(());
    };
    let lock_dir = PathBuf::from(&ctx.config.global.barman_lock_directory);
    let catalog = ServerCatalog::load(server, &lock_dir, *ctx.now.offset())?;
    let wanted = request.backup_id.as_deref().unwrap_or("latest");
    let Some(id) = catalog.resolve(wanted, out) else {
        return Ok(());
    };
    let Some(_drilling) = crate::commands::locks::take(
        out,
        &lock_dir,
        &LockKind::Drill(server.name().into()),
        &crate::commands::locks::DRILL,
    )?
    else {
        return Ok(());
    };
    let root = PathBuf::from(&ctx.config.global.drill_directory);
    let scratch = root.join(format!("{}-{id}-{}", server.name(), std::process::id()));
    if let Err(e) = durable::create_dir_all_durable(&scratch) {
        out.error(&format!(
            "Cannot create the drill directory {}: {e}",
            scratch.display()
        ));
        return Ok(());
    }
    let mut record = DrillRecord {
        backup_id: id.to_string(),
        started_at: ctx.now.to_rfc3339(),
        target: request.target(),
        ..DrillRecord::default()
    };
    drill_into(ctx, out, server, &catalog, request, &scratch, &mut record);
    if let Err(e) = std::fs::remove_dir_all(&scratch) {
        out.warning(&format!(
            "Cannot remove the drill directory {}: {e}",
            scratch.display()
        ));
    }
    let text = serde_json::to_string_pretty(&record).unwrap_or_default() + "\n";
    let dirs = server_dirs(server);
    if let Err(e) = annotations::write(&dirs, &id, annotations::DRILL_RECORD, &text) {
        out.error(&format!("Cannot record the drill of backup {id}: {e}"));
    }
    report(out, server.name(), &record);
    Ok(())
}

fn report(out: &mut Output, server: &str, record: &DrillRecord) {
    let headline = format!(
        "Drill of backup {} of server {server}: {}",
        record.backup_id,
        record.verdict()
    );
    if out.is_json() {
        out.json_set(server, serde_json::to_value(record).unwrap_or_default());
    } else {
        out.line(&headline);
        for line in record.lines() {
            out.line(&line);
        }
    }
    if !record.passed() {
        tracing::error!(target: "barman.drill", "{headline}");
        out.set_errored();
    }
}

/// Restore, start, replay, check: each phase timed into `record`; the first failure stops
/// the drill and is recorded.
fn drill_into(
    ctx: &Context,
    out: &mut Output,
    server: &crate::core::config::ServerConfig,
    catalog: &ServerCatalog,
    request: &DrillRequest,
    scratch: &Path,
    record: &mut DrillRecord,
) {
    let data = scratch.join("data");
    let started = Instant::now();
    // The record was made from a catalog entry: its key is the typed id.
    let Some((id, _)) = catalog.backups.get_key_value(record.backup_id.as_str()) else {
        record.failure = Some(format!("backup {} is not in the catalog", record.backup_id));
        return;
    };
    if let Err(e) = restore(ctx, catalog, request, id, scratch) {
        record.failure = Some(format!("the restore failed: {e}"));
        return;
    }
    record.copy_seconds = started.elapsed().as_secs_f64();
    record.wal_files = count_wal(&data);
    record.replay_estimate = replay_estimate(catalog, id, &data);
    if let (Some(estimate), false) = (&record.replay_estimate, out.is_json()) {
        out.info(&format!("Replay estimate: {estimate}"));
    }
    let path = pg_tools::search_path(server.path_prefix());
    let Some(bin_dir) = find_tool("pg_ctl", &path).and_then(|p| p.parent().map(Path::to_path_buf))
    else {
        record.failure = Some(format!("pg_ctl not found in {path}"));
        return;
    };
    let run_as = nix::unistd::geteuid()
        .is_root()
        .then_some(ctx.config.global.drill_user.as_str());
    let replay = Instant::now();
    let cluster = match ScratchCluster::start(&data, scratch, &bin_dir, run_as, START_TIMEOUT) {
        Ok(cluster) => cluster,
        Err(e) => {
            record.failure = Some(e.to_string());
            return;
        }
    };
    let Some(user) = superuser(&cluster, catalog) else {
        record.failure = Some("no role to connect to the restored cluster as".into());
        return;
    };
    if let Err(e) = cluster.wait_promoted(&user, REPLAY_TIMEOUT) {
        record.failure = Some(format!("the replay did not finish: {e}"));
        return;
    }
    record.replay_seconds = replay.elapsed().as_secs_f64();
    let checks = Instant::now();
    match cluster.amcheck(&user, request.jobs.unwrap_or(1)) {
        Ok(problems) => record.corruption = with_files(&cluster, &user, problems),
        Err(e) => record.failure = Some(e.to_string()),
    }
    record.databases = probe_rows(&cluster, &user);
    record.check_seconds = checks.elapsed().as_secs_f64();
}

fn restore(
    ctx: &Context,
    catalog: &ServerCatalog,
    request: &DrillRequest,
    id: &BackupId,
    scratch: &Path,
) -> Result<(), String> {
    let info = catalog.backups.get(id).ok_or("the backup vanished")?;
    // Tablespaces go inside the scratch directory, never to their original places.
    let tablespaces = recover::backup_tablespaces(info)
        .into_iter()
        .map(|(name, _, _)| {
            format!(
                "{name}:{}",
                scratch.join("tablespaces").join(&name).display()
            )
        })
        .collect();
    let has_target = request.target().is_some();
    let options = RestoreOptions {
        server: catalog.server.name().to_string(),
        backup_id: id.to_string(),
        destination: scratch.join("data").display().to_string(),
        target_time: request.target_time.clone(),
        target_lsn: request.target_lsn.clone(),
        target_xid: request.target_xid.clone(),
        target_name: request.target_name.clone(),
        target_immediate: request.target_immediate,
        target_action: has_target.then(|| "promote".to_string()),
        tablespaces,
        get_wal: Some(false),
        jobs: request.jobs,
        ..RestoreOptions::default()
    };
    let mut quiet = Output::new(Format::Console, true, false, ColorChoice::Never);
    quiet.mute();
    recover::run(ctx, &mut quiet, &options).map_err(|e| e.to_string())?;
    match quiet.last_error() {
        Some(message) => Err(message.to_string()),
        None if quiet.errored() => Err("see the log file".into()),
        None => Ok(()),
    }
}

/// WAL files the restore put where recovery reads them.
fn count_wal(data: &Path) -> u64 {
    restored_wal(data).len() as u64
}

fn restored_wal(data: &Path) -> Vec<String> {
    ["barman_wal", "pg_wal"]
        .iter()
        .filter_map(|dir| std::fs::read_dir(data.join(dir)).ok())
        .flatten()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|name| name.len() >= 24)
        .collect()
}

/// What the commit-time index says of the WAL the restore copied (None when it knows none
/// of it).
fn replay_estimate(catalog: &ServerCatalog, id: &BackupId, data: &Path) -> Option<String> {
    let info = catalog.backups.get(id)?;
    let index = commit_index::read(&catalog.dirs);
    let mut names = restored_wal(data);
    names.sort();
    let estimate = recover::replay::estimate(&index, info, names.iter().map(String::as_str));
    (estimate.segments > estimate.unindexed).then(|| estimate.describe())
}

/// The bootstrap superuser (OID 10), found by connecting as the server's `conninfo` user.
fn superuser(cluster: &ScratchCluster, catalog: &ServerCatalog) -> Option<String> {
    let conninfo = catalog.server.conninfo().unwrap_or_default();
    let pairs = crate::adapters::libpq::parse_conninfo(conninfo).unwrap_or_default();
    let configured = pairs
        .iter()
        .find(|(k, _)| k == "user")
        .map(|(_, v)| v.clone());
    let candidates = configured.into_iter().chain(["postgres".to_string()]);
    for user in candidates {
        let deadline = Instant::now() + START_TIMEOUT;
        while Instant::now() < deadline {
            match cluster.connect(&user, "template1") {
                Ok(mut conn) => {
                    let rows = conn
                        .query("SELECT rolname FROM pg_roles WHERE oid = 10")
                        .ok()?;
                    return rows.first().and_then(|r| r.first().cloned().flatten());
                }
                // Not yet consistent: hot standby accepts connections once it is.
                Err(ScratchError::Connect(e))
                    if e.contains("not yet accepting") || e.contains("starting up") =>
                {
                    std::thread::sleep(Duration::from_millis(200));
                }
                Err(_) => break,
            }
        }
    }
    None
}

/// pg_amcheck's findings, each naming the file of the relation it is about.
fn with_files(cluster: &ScratchCluster, user: &str, problems: Vec<String>) -> Vec<String> {
    problems
        .into_iter()
        .map(|line| {
            let Some((db, relation)) = amcheck_relation(&line) else {
                return line;
            };
            let file = cluster.connect(user, &db).ok().and_then(|mut c| {
                c.query_params("SELECT pg_relation_filepath($1::regclass)", &[&relation])
                    .ok()?
                    .first()?
                    .first()
                    .cloned()
                    .flatten()
            });
            match file {
                Some(file) => format!("{line} (file {file})"),
                None => line,
            }
        })
        .collect()
}

/// Rows of every user table, database by database.
fn probe_rows(cluster: &ScratchCluster, user: &str) -> Vec<DatabaseProbe> {
    let Ok(mut conn) = cluster.connect(user, "template1") else {
        return Vec::new();
    };
    let databases = conn
        .query(
            "SELECT datname FROM pg_database WHERE datallowconn AND NOT datistemplate ORDER BY 1",
        )
        .map(|rows| {
            rows.into_iter()
                .filter_map(|r| r.into_iter().next().flatten())
                .collect::<Vec<_>>()
        })
        .unwrap_or_default();
    databases
        .into_iter()
        .map(|name| {
            let mut probe = DatabaseProbe {
                name: name.clone(),
                ..DatabaseProbe::default()
            };
            let Ok(mut db) = cluster.connect(user, &name) else {
                return probe;
            };
            let tables = db
                .query(
                    "SELECT format('%I.%I', schemaname, relname) FROM pg_stat_user_tables ORDER BY 1",
                )
                .map(|rows| rows.into_iter().filter_map(|r| r.into_iter().next().flatten()).collect::<Vec<_>>())
                .unwrap_or_default();
            for table in tables {
                let count = db
                    .query(&format!("SELECT count(*) FROM {table}"))
                    .ok()
                    .and_then(|rows| rows.first().and_then(|r| r.first().cloned().flatten()))
                    .and_then(|n| n.parse::<u64>().ok());
                if let Some(n) = count {
                    probe.tables += 1;
                    probe.rows += n;
                }
            }
            probe
        })
        .collect()
}

/// Start time of the newest drill that passed, over every backup of the catalog.
pub fn last_successful_drill(
    catalog: &ServerCatalog,
) -> Option<chrono::DateTime<chrono::FixedOffset>> {
    catalog
        .backups
        .keys()
        .filter_map(|id| super::catalog::last_drill(catalog, id))
        .filter(DrillRecord::passed)
        .filter_map(|record| chrono::DateTime::parse_from_rfc3339(&record.started_at).ok())
        .max()
}

/// `cron`: a server due for a drill (`drill_schedule`) with a DONE backup gets one, in the
/// background, unless one is running.
///
/// # Errors
/// The catalog cannot be read.
pub fn due(ctx: &Context, server: &crate::core::config::ServerConfig) -> crate::Result<bool> {
    let Some(schedule) = ctx.config.global.drill_schedule else {
        return Ok(false);
    };
    let lock_dir = PathBuf::from(&ctx.config.global.barman_lock_directory);
    let catalog = ServerCatalog::load(server, &lock_dir, *ctx.now.offset())?;
    let has_backup = catalog
        .backups
        .values()
        .any(|b| b.status() == crate::core::backup_info::BackupStatus::Done);
    let fresh = last_successful_drill(&catalog)
        .is_some_and(|last| (ctx.now - last).num_seconds() < schedule);
    Ok(has_backup && !fresh)
}
