//! The run of `barman-cloud-backup` (Python's `cloud_backup.main` and
//! `CloudBackup.coordinate_backup`): connect, start the backup, publish a STARTED
//! `backup.info`, stream the tablespaces, PGDATA, `pg_control` and the configuration files
//! kept outside PGDATA, stop the backup, add `backup_label`, complete the archives, then
//! `backup.info` again with DONE (or FAILED and the first line of the cause).

use super::backup::Args;
use super::backup_tar::{Controller, ControllerOptions, TarError, Uploaded};
use super::Log;
use crate::adapters::cloud::{CloudStore, UploadOptions};
use crate::adapters::pg_backup::{BackupSession, ServerFacts};
use crate::app::exit::exit_code;
use crate::core::backup_info::{BackupInfo, Field};
use crate::core::backup_record;
use crate::core::path_rules::{EXCLUDE, PGDATA_EXCLUDE};
use crate::core::py_literal::float_repr;
use crate::error::ExitKind;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

/// S3's limits (`S3CloudInterface`): 10000 parts, 5 MiB parts, 1 TiB objects.
const MAX_CHUNKS_PER_FILE: u64 = 10_000;
const MIN_CHUNK_SIZE: u64 = 5 << 20;
const MAX_ARCHIVE_SIZE: u64 = 1 << 40;

/// Why the run stopped, and with which exit code.
pub(super) struct Failure(pub ExitKind, pub String);

/// Run the client.
pub fn run(args: Args) -> ExitCode {
    let log = args.common.log();
    match execute(&args, log) {
        Ok(code) => code,
        Err(Failure(kind, message)) => {
            if !message.is_empty() {
                log.error(&message);
            }
            exit_code(kind)
        }
    }
}

pub(super) fn general(e: impl std::fmt::Display) -> Failure {
    Failure(
        ExitKind::CloudGeneral,
        format!("Barman cloud backup exception: {e}"),
    )
}

fn execute(args: &Args, log: Log) -> Result<ExitCode, Failure> {
    args.validate().map_err(general)?;
    let mut options = args.common.options();
    options.encryption = args.encryption.clone();
    options.sse_kms_key_id = args.sse_kms_key_id.clone();
    options.sse_customer_key = args.sse_customer_key.clone();
    let store = super::open_store(&args.common, &args.destination_url, options).map_err(general)?;
    if args.common.test {
        return Ok(super::verify(&store, log));
    }
    if super::backup_hook::is_hook_script()? {
        return super::backup_hook::upload(args, &store, log);
    }
    let conninfo = with_application_name(&args.conninfo());
    let mut session = BackupSession::connect(&conninfo).map_err(|e| {
        Failure(
            ExitKind::CloudOperation,
            format!("Cannot connect to postgres: {e}"),
        )
    })?;
    let version = session.version();
    if version.to_string().parse::<u64>().unwrap_or(0) < 90600 {
        return Err(general(format!(
            "unsupported PostgresSQL version {}. Expecting 9.6 or above.",
            version.major_text()
        )));
    }
    let id = chrono::Local::now().format("%Y%m%dT%H%M%S").to_string();
    let mut info = BackupInfo::empty();
    info.set_raw(Field::ServerName, Some("cloud".into()));
    let settings = upload_settings(args);
    let mut backup = CloudBackup::new(&store, &settings, log, id, info);
    match backup.coordinate(&mut session) {
        Ok(()) => Ok(ExitCode::SUCCESS),
        Err(_) => Err(Failure(ExitKind::CloudOperation, String::new())),
    }
}

/// Python connects with `application_name=barman_cloud_backup`.
fn with_application_name(conninfo: &str) -> String {
    if conninfo.starts_with("postgres://") || conninfo.starts_with("postgresql://") {
        let sep = if conninfo.contains('?') { '&' } else { '?' };
        return format!("{conninfo}{sep}application_name=barman_cloud_backup");
    }
    format!("{conninfo} application_name=barman_cloud_backup")
        .trim_start()
        .to_string()
}

/// What an upload of a running server needs besides the store: barman-cloud-backup's
/// options, or Barman's `local-to-cloud` settings (Python's `CloudBackupUploader`
/// arguments).
#[derive(Debug, Clone)]
pub struct UploadSettings {
    /// The server's folder in the bucket (`<path>/<server>/base/<id>`).
    pub server_name: String,
    /// `-n/--name`.
    pub backup_name: Option<String>,
    /// The tar compression.
    pub compression: Option<super::backup_tar::TarCompression>,
    /// `--immediate-checkpoint`.
    pub immediate_checkpoint: bool,
    /// Upload jobs.
    pub jobs: usize,
    /// Seconds between keepalive queries (0: none).
    pub keepalive_interval: u64,
    /// Size after which an archive is cut.
    pub max_archive_size: u64,
    /// Smallest part size asked for.
    pub min_chunk_size: Option<u64>,
    /// Bytes per second (None: no limit).
    pub max_bandwidth: Option<u64>,
    /// Tags of every object.
    pub tags: Vec<(String, String)>,
}

/// Why [`CloudBackup::coordinate`] failed (already logged, and recorded in `info`).
#[derive(Debug)]
pub enum UploadFailure {
    /// The backup itself failed: the first line of the cause.
    Data(String),
    /// The final `backup.info` could not be uploaded.
    Info(String),
}

/// One backup being taken straight to the bucket.
pub struct CloudBackup<'a> {
    settings: &'a UploadSettings,
    store: &'a CloudStore,
    log: Log,
    prefix: String,
    id: String,
    /// The backup's `backup.info` (Barman passes its own, as Python's executor does).
    pub info: BackupInfo,
    /// When the copy started (`copy_start_time`).
    pub copy_start: Option<chrono::DateTime<chrono::Local>>,
    /// Bytes uploaded (the archives' sizes: Python's `controller.size`).
    pub size: u64,
}

impl<'a> CloudBackup<'a> {
    /// A backup `id` of `settings.server_name` under the store's path.
    pub fn new(
        store: &'a CloudStore,
        settings: &'a UploadSettings,
        log: Log,
        id: String,
        info: BackupInfo,
    ) -> Self {
        CloudBackup {
            prefix: store.url.key(&[&settings.server_name, "base", &id]),
            settings,
            store,
            log,
            id,
            info,
            copy_start: None,
            size: 0,
        }
    }

    /// Python's `coordinate_backup`: the final `backup.info` (DONE, or FAILED with the
    /// cause) is uploaded whatever happened.
    pub fn coordinate(&mut self, session: &mut BackupSession) -> Result<(), UploadFailure> {
        let copy_start = chrono::Local::now();
        self.copy_start = Some(copy_start);
        let started = Instant::now();
        let result = self.steps(session);
        let failure = match &result {
            Ok(()) => {
                self.info.set_raw(Field::Status, Some("DONE".into()));
                None
            }
            Err(message) => {
                let first = first_line(message);
                self.info.set_raw(Field::Status, Some("FAILED".into()));
                self.info.set_raw(
                    Field::Error,
                    Some(backup_record::failure_text("uploading data", &first)),
                );
                self.log
                    .error(&format!("Backup failed uploading data ({first})"));
                Some(first)
            }
        };
        if let Some(name) = &self.settings.backup_name {
            self.info.set_raw(Field::BackupName, Some(name.clone()));
        }
        if let Err(e) = self.upload_info() {
            let first = first_line(&e.to_string());
            self.log.error(&format!(
                "Backup failed uploading backup.info file ({first})"
            ));
            return Err(UploadFailure::Info(first));
        }
        if let Some(first) = failure {
            return Err(UploadFailure::Data(first));
        }
        let info = &self.info;
        self.log.info(&format!(
            "Backup end at LSN: {} ({}, {:08X})",
            info.raw(Field::EndXlog).unwrap_or("None"),
            info.raw(Field::EndWal).unwrap_or("None"),
            info.int(Field::EndOffset).unwrap_or(0)
        ));
        self.log.info(&format!(
            "Backup completed (start time: {}, elapsed time: {})",
            crate::commands::backup::python_naive(&copy_start),
            crate::output::python::human_timedelta(started.elapsed().as_secs_f64())
        ));
        Ok(())
    }

    /// Everything between the start and the final `backup.info`; `Err` is the cause.
    fn steps(&mut self, session: &mut BackupSession) -> Result<(), String> {
        let mut controller = Controller::new(self.store, self.controller_options(), self.log);
        self.log.info(&format!("Starting backup '{}'", self.id));
        self.log.debug("detecting data directory");
        let facts = session.facts().map_err(|e| e.to_string())?;
        self.log.debug("detecting tablespaces");
        for t in &facts.tablespaces {
            self.log
                .info(&format!("\t{}, {}, {}", t.oid, t.name, t.location));
        }
        crate::commands::backup::record_server_facts(&mut self.info, &facts);
        self.info.set_raw(Field::Systemid, facts.systemid.clone());
        self.log.debug("issuing start backup command");
        self.log.debug("Start of native concurrent backup");
        let label = format!(
            "Barman backup {} {}",
            self.info.raw(Field::ServerName).unwrap_or("cloud"),
            self.id
        );
        let start = session
            .start_concurrent(&label, self.settings.immediate_checkpoint)
            .map_err(|e| e.to_string())?;
        backup_record::record_start(&mut self.info, &crate::commands::backup::reported(&start));
        self.upload_info().map_err(|e| e.to_string())?;
        self.take_backup(&mut controller, session, &facts)?;
        self.log.info(&format!("Stopping backup '{}'", self.id));
        let stop = session.stop_concurrent().map_err(|e| e.to_string())?;
        let backup_label = stop.backup_label.clone().unwrap_or_default();
        self.info.set_raw(
            Field::BackupLabel,
            Some(crate::core::py_literal::str_repr(&backup_label)),
        );
        let timeline = self.info.timeline().map_or(1, |t| t.get());
        backup_record::record_stop(
            &mut self.info,
            &crate::commands::backup::reported(&stop),
            timeline,
        );
        session.switch_wal().map_err(|e| e.to_string())?;
        let point = format!("barman_{}", self.id);
        match session.create_restore_point(&point) {
            Ok(()) => self
                .log
                .info(&format!("Restore point '{point}' successfully created")),
            Err(e) => self.log.debug(&format!("Error issuing CHECKPOINT: {e}")),
        }
        if !backup_label.is_empty() {
            let gid = std::fs::metadata(&facts.pgdata)
                .map(|m| std::os::unix::fs::MetadataExt::gid(&m))
                .map_err(|e| e.to_string())?;
            controller
                .add_bytes(
                    "backup_label",
                    backup_label.as_bytes(),
                    "data",
                    "backup_label",
                    gid,
                )
                .map_err(|e| e.to_string())?;
        }
        let started = controller.started;
        let archives = controller.close().map_err(|e| e.to_string())?;
        self.log.info("Calculating backup statistics");
        self.size = archives
            .iter()
            .flat_map(|(_, list)| list.iter().map(|(size, _)| size))
            .sum();
        let stats = copy_stats(started, self.settings.jobs, &archives);
        self.info.set_raw(Field::CopyStats, Some(stats));
        Ok(())
    }

    fn controller_options(&self) -> ControllerOptions {
        options_for(self.settings, &self.prefix, self.log)
    }

    /// Python's `_upload_backup_info`.
    fn upload_info(&self) -> Result<(), crate::adapters::cloud::CloudError> {
        let key = format!("{}/backup.info", self.prefix);
        self.log.info(&format!("Uploading '{key}'"));
        self.store
            .put(&key, self.info.to_text().into_bytes(), &self.settings.tags)
    }

    /// Python's `_backup_data_files` and `_backup_config_files`, with the keepalive query
    /// sent between files every `--keepalive-interval` seconds.
    fn take_backup(
        &self,
        controller: &mut Controller<'_>,
        session: &mut BackupSession,
        facts: &ServerFacts,
    ) -> Result<(), String> {
        let interval = Duration::from_secs(self.settings.keepalive_interval);
        let mut last = Instant::now();
        let mut lost = None;
        let mut tick = || {
            if interval.is_zero() || last.elapsed() < interval || lost.is_some() {
                return;
            }
            last = Instant::now();
            match session.keepalive() {
                Ok(()) => {}
                Err(e) => lost = Some(e.to_string()),
            }
        };
        let copied = copy_files(controller, &Source::live(facts), &mut tick);
        if let Some(e) = lost {
            tracing::debug!(target: "barman.postgres", "keepalive failed: {e}");
            return Err("Connection to the Postgres server was lost during the backup.".into());
        }
        copied.map_err(|e| e.to_string())?;
        external_config_files(controller, facts, self.log).map_err(|e| e.to_string())
    }
}

/// The command line as the upload reads it.
pub(super) fn upload_settings(args: &Args) -> UploadSettings {
    UploadSettings {
        server_name: args.server_name.clone(),
        backup_name: args.backup_name.clone(),
        compression: args.compression(),
        immediate_checkpoint: args.immediate_checkpoint,
        jobs: args.jobs,
        keepalive_interval: args.keepalive_interval,
        max_archive_size: args.max_archive_size,
        min_chunk_size: args.min_chunk_size,
        max_bandwidth: args.max_bandwidth,
        tags: args.object_tags(),
    }
}

/// How the archives are cut: Python's `CloudUploadController` sizes.
pub(super) fn controller_options(args: &Args, prefix: &str, log: Log) -> ControllerOptions {
    options_for(&upload_settings(args), prefix, log)
}

pub(crate) fn options_for(settings: &UploadSettings, prefix: &str, log: Log) -> ControllerOptions {
    let max_archive_size = if settings.max_archive_size < MAX_ARCHIVE_SIZE {
        settings.max_archive_size
    } else {
        log.warning("max-archive-size too big. Capping it to to 1.0 TiB");
        MAX_ARCHIVE_SIZE
    };
    // Python aims at no more than half the parts S3 allows per object.
    let calculated = 2 * (settings.max_archive_size / MAX_CHUNKS_PER_FILE);
    let chunk = calculated
        .max(MIN_CHUNK_SIZE)
        .max(settings.min_chunk_size.unwrap_or(0));
    ControllerOptions {
        prefix: prefix.to_string(),
        compression: settings.compression,
        max_archive_size,
        upload: UploadOptions {
            chunk_size: chunk as usize,
            jobs: settings.jobs,
            max_bandwidth: settings.max_bandwidth,
            tags: settings.tags.clone(),
        },
    }
}

/// What to read: a live server's PGDATA and tablespaces, or a backup Barman took.
pub(super) struct Source {
    /// PGDATA as recorded in backup.info (tablespaces inside it are left out of it).
    pub original_pgdata: String,
    /// Where PGDATA is read from.
    pub pgdata: PathBuf,
    /// Tablespaces: name, oid, recorded location, where it is read from.
    pub tablespaces: Vec<(String, u32, String, PathBuf)>,
    /// PostgreSQL's major version (`15`, `9.6`).
    pub major: String,
}

impl Source {
    fn live(facts: &ServerFacts) -> Source {
        Source {
            original_pgdata: facts.pgdata.clone(),
            pgdata: PathBuf::from(&facts.pgdata),
            tablespaces: facts
                .tablespaces
                .iter()
                .map(|t| {
                    (
                        t.name.clone(),
                        t.oid,
                        t.location.clone(),
                        PathBuf::from(&t.location),
                    )
                })
                .collect(),
            major: facts.version.major_text(),
        }
    }
}

/// Python's `_backup_data_files`: tablespaces (only `PG_<major>_*`), PGDATA minus the
/// exclusions, then `pg_control`.
pub(super) fn copy_files(
    controller: &mut Controller<'_>,
    source: &Source,
    tick: &mut dyn FnMut(),
) -> Result<(), TarError> {
    let mut protect = Vec::new();
    let mut tablespace_exclude = vec!["/*".to_string()];
    tablespace_exclude.extend(EXCLUDE.iter().map(|s| s.to_string()));
    for (name, oid, location, read_from) in &source.tablespaces {
        if let Some(inside) = location.strip_prefix(&format!("{}/", source.original_pgdata)) {
            protect.push(format!("/{inside}"));
        }
        protect.push(format!("/pg_tblspc/{oid}"));
        let include = vec![format!("/PG_{}_*", source.major)];
        controller.upload_directory(
            name,
            read_from,
            &oid.to_string(),
            (&tablespace_exclude, &include),
            tick,
        )?;
    }
    let mut pgdata = source.pgdata.clone();
    if pgdata.is_symlink() {
        pgdata = std::fs::canonicalize(&pgdata)?;
    }
    let mut exclude: Vec<String> = PGDATA_EXCLUDE.iter().map(|s| s.to_string()).collect();
    exclude.extend(EXCLUDE.iter().map(|s| s.to_string()));
    exclude.extend(protect);
    controller.upload_directory("pgdata", &pgdata, "data", (&exclude, &[]), tick)?;
    controller.add_file(
        "pg_control",
        &pgdata.join("global/pg_control"),
        "data",
        "global/pg_control",
        false,
    )
}

/// `config_file`, `hba_file`, `ident_file` kept outside PGDATA go into `data.tar` under
/// their base name; included files outside PGDATA are only listed in a warning.
fn external_config_files(
    controller: &mut Controller<'_>,
    facts: &ServerFacts,
    log: Log,
) -> Result<(), TarError> {
    for kind in ["config_file", "hba_file", "ident_file"] {
        let Some((_, path)) = facts.config_files.iter().find(|(k, _)| k == kind) else {
            continue;
        };
        if path.starts_with(&facts.pgdata) {
            log.debug(&format!(
                "Config file '{}' already in PGDATA",
                path.get(facts.pgdata.len() + 1..).unwrap_or("")
            ));
            continue;
        }
        let name = Path::new(path)
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        controller.add_file(kind, Path::new(path), "data", &name, kind == "ident_file")?;
    }
    let outside: Vec<&String> = facts
        .included_files
        .iter()
        .filter(|f| !f.starts_with(&facts.pgdata))
        .collect();
    if !outside.is_empty() {
        let list: Vec<&str> = outside.iter().map(|s| s.as_str()).collect();
        log.warning(&format!(
            "The usage of include directives is not supported for files that reside outside PGDATA.\nPlease manually backup the following files:\n\t{}\n",
            list.join("\n\t")
        ));
    }
    Ok(())
}

/// The first line of an error text (the type name when empty, as Python does).
fn first_line(message: &str) -> String {
    message
        .trim()
        .lines()
        .next()
        .map(str::to_string)
        .unwrap_or_else(|| "Exception".into())
}

/// Python's `CloudUploadController.statistics` (its running sum of the per-archive
/// serialized times included, so the numbers compare with Python's).
pub(crate) fn copy_stats(started: Instant, jobs: usize, archives: &[Uploaded]) -> String {
    let secs = |d: Duration| float_repr(d.as_micros() as f64 / 1e6);
    let now = Instant::now();
    let mut first: Option<Instant> = None;
    let mut last: Option<Instant> = None;
    let mut serialized_total = Duration::ZERO;
    let (mut analysis, mut copy, mut serialized) = (Vec::new(), Vec::new(), Vec::new());
    for (name, list) in archives {
        let mut name_first: Option<Instant> = None;
        let mut name_last: Option<Instant> = None;
        let mut running = Duration::ZERO;
        for (_, stats) in list {
            first = Some(first.map_or(stats.start, |f| f.min(stats.start)));
            last = Some(last.map_or(stats.end, |l| l.max(stats.end)));
            name_first = Some(name_first.map_or(stats.start, |f| f.min(stats.start)));
            name_last = Some(name_last.map_or(stats.end, |l| l.max(stats.end)));
            running += stats.serialized;
            serialized_total += running;
        }
        let quoted = crate::core::py_literal::str_repr(name);
        serialized.push(format!("{quoted}: {}", secs(running)));
        analysis.push(format!("{quoted}: 0"));
        let span = match (name_first, name_last) {
            (Some(f), Some(l)) => l.saturating_duration_since(f),
            _ => Duration::ZERO,
        };
        copy.push(format!("{quoted}: {}", secs(span)));
    }
    let copy_time = match (first, last) {
        (Some(f), Some(l)) => l.saturating_duration_since(f),
        _ => Duration::ZERO,
    };
    format!(
        "{{'total_time': {}, 'number_of_workers': {jobs}, 'analysis_time': 0, 'analysis_time_per_item': {{{}}}, 'copy_time_per_item': {{{}}}, 'serialized_copy_time_per_item': {{{}}}, 'copy_time': {}, 'serialized_copy_time': {}}}",
        secs(now.saturating_duration_since(started)),
        analysis.join(", "),
        copy.join(", "),
        serialized.join(", "),
        secs(copy_time),
        secs(serialized_total)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cloud_backup_copy_stats_read_as_python_dict() {
        let t0 = Instant::now();
        let stats = |start_ms: u64, end_ms: u64, serial_ms: u64| {
            UploadStatsFor {
                start: t0 + Duration::from_millis(start_ms),
                end: t0 + Duration::from_millis(end_ms),
                serialized: Duration::from_millis(serial_ms),
            }
            .build()
        };
        let archives = vec![
            ("16391".to_string(), vec![(10, stats(0, 500, 250))]),
            (
                "data".to_string(),
                vec![(10, stats(100, 1000, 500)), (10, stats(1000, 2500, 1000))],
            ),
        ];
        let text = copy_stats(t0, 2, &archives);
        let parsed = crate::core::py_literal::parse(&text).expect("a Python literal");
        let json = parsed.to_json();
        assert_eq!(json["number_of_workers"], 2);
        assert_eq!(json["copy_time"], 2.5);
        assert_eq!(json["copy_time_per_item"]["data"], 2.4);
        assert_eq!(json["serialized_copy_time_per_item"]["data"], 1.5);
        // Python adds each archive's running sum: 0.25 + (0.5 + 1.5).
        assert_eq!(json["serialized_copy_time"], 2.25);
        assert_eq!(json["analysis_time_per_item"]["16391"], 0);
        assert!(text.starts_with("{'total_time': "), "{text}");
    }

    #[test]
    fn cloud_backup_application_name_is_added() {
        assert_eq!(
            with_application_name("host=h dbname=postgres"),
            "host=h dbname=postgres application_name=barman_cloud_backup"
        );
        assert_eq!(
            with_application_name(""),
            "application_name=barman_cloud_backup"
        );
        assert_eq!(
            with_application_name("postgresql://h/db?sslmode=require"),
            "postgresql://h/db?sslmode=require&application_name=barman_cloud_backup"
        );
    }

    struct UploadStatsFor {
        start: Instant,
        end: Instant,
        serialized: Duration,
    }

    impl UploadStatsFor {
        fn build(self) -> crate::adapters::cloud::UploadStats {
            crate::adapters::cloud::UploadStats {
                start: self.start,
                end: self.end,
                serialized: self.serialized,
                parts: 1,
            }
        }
    }
}
