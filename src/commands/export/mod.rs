//! `export-backup` and `import-backup` (Barman 3.19+): move one DONE, non-incremental,
//! local backup between Barman servers as a single tarball (`identity.json`, `backup.info`,
//! `barman.json`, `backup/…`, the WALs from `begin_wal` to `end_wal` and their xlog.db
//! lines). Same options, messages, exit codes, file name and member order as Barman 3.20.1
//! (`cli.export_backup`, `Server.export_backup`, `BackupManager.export_backup`).
//!
//! Export writes `<name>.tmp`, fsyncs it and renames it to its final name (checksum
//! included), so a name with a checksum always names a whole file.

mod import;
mod import_wals;

pub use import::import_backup;

use crate::adapters::catalog::layout::ServerDirs;
use crate::adapters::catalog::store;
use crate::adapters::durable;
use crate::adapters::export_tar::TarballWriter;
use crate::adapters::lock::LockKind;
use crate::commands::catalog::ServerCatalog;
use crate::commands::{select, Context};
use crate::core::backup_id::BackupId;
use crate::core::backup_info::Field;
use crate::core::backup_info::{python_isoformat, BackupInfo, BackupStatus};
use crate::core::backup_wals::required_segments;
use crate::core::export_tarball::{self as naming, TarballCompression};
use crate::output::Output;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// `export-backup` runs on every server whatever its state (Barman's `get_server` flags off).
const EXPORT_POLICY: select::Policy = select::Policy {
    inactive_is_error: false,
    skip_inactive: false,
    disabled_is_error: false,
};

/// What `export-backup` was asked.
#[derive(Debug, Clone)]
pub struct ExportRequest {
    /// Server name.
    pub server: String,
    /// Backup id or shortcut (`latest`, a name…), as typed.
    pub backup_id: String,
    /// Where the tarball goes.
    pub output_directory: PathBuf,
    /// `--compression`.
    pub compression: TarballCompression,
    /// `--compression-level`.
    pub level: Option<i64>,
}

/// `export-backup SERVER BACKUP_ID OUTPUT_DIRECTORY`.
///
/// # Errors
/// The catalog cannot be read, or the tarball cannot be written (Barman's uncaught
/// `ExportBackupException`/`OSError`: `EXCEPTION: …`; the `.tmp` file is removed).
pub fn export_backup(ctx: &Context, out: &mut Output, req: &ExportRequest) -> crate::Result<()> {
    let Some(server) = select::single(&ctx.config, &req.server, out, EXPORT_POLICY) else {
        return Ok(());
    };
    let lock_dir = PathBuf::from(&ctx.config.global.barman_lock_directory);
    let catalog = ServerCatalog::load(server, &lock_dir, *ctx.now.offset())?;
    let Some(id) = catalog.resolve(&req.backup_id, out) else {
        return Ok(());
    };
    let info = &catalog.backups[&id];
    let name = server.name();
    let Some(level) = check_request(out, req, name, &id, info) else {
        return Ok(());
    };
    out.info(&format!(
        "Exporting backup '{}' from server '{name}' to '{}'",
        req.backup_id,
        req.output_directory.display()
    ));
    if server.uses_backup_cloud_storage() || server.uses_wal_cloud_storage() {
        out.error("Backup export is not supported for cloud storage");
        return Ok(());
    }
    let Some(identity) = read_identity_text(&catalog.dirs, out)? else {
        return Ok(());
    };
    let Some(_lock) = crate::commands::locks::take(
        out,
        &lock_dir,
        &LockKind::Backup(name.into(), id.to_string()),
        &crate::commands::locks::EXPORT,
    )?
    else {
        return Ok(());
    };
    let timestamp = chrono::Utc::now().format("%Y%m%dT%H%M%S").to_string();
    let tmp = req
        .output_directory
        .join(naming::temp_name(name, id.as_str(), &timestamp));
    let job = Job {
        dirs: &catalog.dirs,
        id: &id,
        info,
        identity: &identity,
        system: barman_json(ctx),
    };
    let checksum = match write_tarball(&job, &tmp, req.compression, level) {
        Ok(sum) => sum,
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            return Err(crate::Error::Uncaught(e));
        }
    };
    let final_path = req.output_directory.join(naming::final_name(
        name,
        id.as_str(),
        &timestamp,
        &checksum,
        req.compression,
    ));
    durable::rename_durable(&tmp, &final_path).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        crate::Error::Uncaught(e.to_string())
    })?;
    out.info(&format!(
        "Export completed successfully: {}",
        final_path.display()
    ));
    Ok(())
}

/// Barman's checks before an export, in its order, each printing its error; the level to
/// use when all pass.
fn check_request(
    out: &mut Output,
    req: &ExportRequest,
    server: &str,
    id: &BackupId,
    info: &BackupInfo,
) -> Option<u32> {
    let dir = req.output_directory.display();
    let error = if info.raw(Field::ParentBackupId).is_some() {
        format!(
            "Cannot export backup {id} from server {server}: it is an incremental backup.\n\
             Only full backups are eligible for exporting."
        )
    } else if info.status() != BackupStatus::Done {
        format!(
            "Cannot export backup '{}' from server '{server}': backup status is '{}', expected 'DONE'",
            req.backup_id,
            info.status()
        )
    } else if !req.output_directory.exists() {
        format!("Output directory '{dir}' does not exist")
    } else if !req.output_directory.is_dir() {
        format!("Output directory '{dir}' is not a directory")
    } else if !writable_dir(&req.output_directory) {
        format!("Output directory '{dir}' does not have the required write and execute permissions")
    } else if req.compression == TarballCompression::None && req.level.is_some() {
        "--compression-level requires --compression to be set".to_string()
    } else {
        return match req.level {
            None => Some(req.compression.default_level()),
            Some(level) => naming::check_level(req.compression, level)
                .map_err(|e| out.error(&e))
                .ok(),
        };
    };
    out.error(&error);
    None
}

fn writable_dir(dir: &Path) -> bool {
    use nix::unistd::{access, AccessFlags};
    access(dir, AccessFlags::W_OK | AccessFlags::X_OK).is_ok()
}

/// `identity.json` as the tarball holds it: Python's `json.dumps(indent=4, sort_keys=True)`
/// of the file's content, without a final newline. `None` (after Barman's error) when the
/// server has none.
fn read_identity_text(dirs: &ServerDirs, out: &mut Output) -> crate::Result<Option<String>> {
    let path = dirs.identity();
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(source) => {
            return Err(crate::Error::Io {
                op: "read",
                path,
                source,
            })
        }
    };
    match serde_json::from_str::<Value>(&text) {
        Ok(value @ Value::Object(_)) if value.as_object().is_some_and(|m| !m.is_empty()) => {
            Ok(Some(crate::output::json::dumps_indented(&value)))
        }
        _ => {
            out.error(&missing_identity(&dirs.name));
            Ok(None)
        }
    }
}

fn missing_identity(server: &str) -> String {
    format!(
        "No identity file found for server '{server}'. The identity file is required to \
         validate the backup during import."
    )
}

/// `barman.json`: Barman's `get_barman_system_info()` (the `diagnose` facts of this host,
/// `barman_ver`, `timestamp`).
fn barman_json(ctx: &Context) -> String {
    let mut info: BTreeMap<String, Value> = crate::adapters::system_info::collect()
        .into_iter()
        .collect();
    info.insert(
        "barman_ver".into(),
        Value::String(crate::BARMAN_VERSION.into()),
    );
    let now = chrono::Local::now().with_timezone(ctx.now.offset());
    info.insert("timestamp".into(), Value::String(python_isoformat(&now)));
    crate::output::json::dumps_indented(&Value::Object(info.into_iter().collect()))
}

/// Everything one export writes.
struct Job<'a> {
    dirs: &'a ServerDirs,
    id: &'a BackupId,
    info: &'a BackupInfo,
    identity: &'a str,
    system: String,
}

/// Write the tarball at `path` in Barman's member order; returns its sha256.
fn write_tarball(
    job: &Job,
    path: &Path,
    compression: TarballCompression,
    level: u32,
) -> Result<String, String> {
    let io = |e: std::io::Error| e.to_string();
    let mut tar = TarballWriter::create(path, compression, level).map_err(io)?;
    tar.add_bytes("identity.json", job.identity.as_bytes())
        .map_err(io)?;
    tar.add_path("backup.info", &store::backup_info_path(job.dirs, job.id))
        .map_err(io)?;
    tar.add_bytes("barman.json", job.system.as_bytes())
        .map_err(io)?;
    tar.add_tree("backup", &job.dirs.backup_base(job.id))
        .map_err(io)?;
    let lines = wal_lines(job)?;
    for (name, _) in &lines {
        let rel = format!("{}/{name}", &name[..16]);
        let src = job.dirs.wals_directory.join(&rel);
        if !src.is_file() {
            return Err(format!(
                "WAL file required for backup consistency not found for backup '{}': {name}",
                job.id
            ));
        }
        tar.add_path(&format!("wals/{rel}"), &src).map_err(io)?;
    }
    let xlog: String = lines.iter().map(|(_, line)| line.as_str()).collect();
    tar.add_bytes("xlog.db", xlog.as_bytes()).map_err(io)?;
    durable::failpoint("export.before_finish");
    tar.finish().map_err(io)
}

/// The xlog.db lines of the backup's WALs (begin..end), as the server's xlog.db has them
/// (first occurrence of each), in name order (Barman's `_collect_wal_files_for_export`,
/// which also needs the db sorted; we pick by name, so an unsorted db works too).
fn wal_lines(job: &Job) -> Result<Vec<(String, String)>, String> {
    let info = job.info;
    let required = required_segments(
        info.raw(Field::BeginWal).unwrap_or_default(),
        info.raw(Field::EndWal).unwrap_or_default(),
        info.int(Field::Version),
        crate::commands::catalog::segment_size(info),
    );
    let wanted: std::collections::BTreeSet<&str> = required.iter().map(String::as_str).collect();
    let mut found: BTreeMap<String, String> = BTreeMap::new();
    store::for_each_raw_wal_line(job.dirs, |name, line| {
        if wanted.contains(name) && !found.contains_key(name) {
            found.insert(name.to_string(), line.to_string());
        }
    })
    .map_err(|e| e.to_string())?;
    if let Some(missing) = required.iter().find(|r| !found.contains_key(*r)) {
        return Err(format!(
            "WAL file required for backup consistency not found in xlog.db for backup '{}': {missing}",
            job.id
        ));
    }
    Ok(found.into_iter().collect())
}
