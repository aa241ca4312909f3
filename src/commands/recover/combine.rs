//! Restore of an incremental backup (PostgreSQL 17+, `backup --incremental`): Barman's
//! `CombineOperation` and the staging rules of `cli.restore`. The chain, from the full
//! backup to the one restored, is merged by `pg_combinebackup`:
//! * local restore: straight into the destination (tablespaces mapped to their final
//!   locations), then the files a restore must not bring back are removed;
//! * remote restore, `staging_location = local`: into `<staging_path>/barman-combine<pid>`
//!   on this host, then copied like a plain backup and the staging folder removed;
//! * remote restore, `staging_location = remote`: every backup of the chain copied into
//!   `<staging_path>/barman-rsync-copy<pid>` on the restore host, combined there into the
//!   destination, the staging folder removed.
//!
//! It does not write the recovery settings nor copy WALs: `recover::restore` goes on as
//! for a full backup.

use super::options::{Plan, RestoreOptions};
use super::Stop;
use crate::adapters::catalog::layout::ServerDirs;
use crate::adapters::catalog::store;
use crate::adapters::destination::Destination;
use crate::adapters::pg_combinebackup::{self as tool, CombineRun};
use crate::adapters::pg_tools;
use crate::core::backup_id::BackupId;
use crate::core::backup_info::BackupInfo;
use crate::core::backup_info::Field;
use crate::core::config::ServerConfig;
use crate::core::pg_version::PgVersion;
use crate::core::py_literal::{self, PyValue};
use crate::output::Output;

/// Where a restore stages its intermediate files (Barman's `staging_path`,
/// `staging_location` and their deprecated predecessors, resolved).
#[derive(Debug, Clone, Default)]
pub struct Staging {
    /// Where compressed backups are extracted (`staging_path`, else the deprecated
    /// `recovery_staging_path`, else `/tmp`).
    pub decompress_path: String,
    /// Where incremental backups are combined (`staging_path`, else the deprecated
    /// `local_staging_path`, else `/tmp`).
    pub combine_path: String,
    /// `staging_location = remote` (only with `--remote-ssh-command`).
    pub remote: bool,
    /// `--combine-mode`, else `combine_mode` (default `copy`).
    pub combine_mode: String,
}

/// Barman's `is_incremental`: a backup with a parent.
pub fn is_incremental(info: &BackupInfo) -> bool {
    info.raw(Field::ParentBackupId).is_some()
}

fn absolute(what: &str, value: Option<&str>) -> Result<Option<String>, String> {
    match value {
        Some(p) if !p.starts_with('/') => Err(format!(
            "Cannot parse {what}: Invalid value : '{p}' (must be an absolute path)"
        )),
        other => Ok(other.map(str::to_string)),
    }
}

/// `cli.restore`'s staging checks (its messages verbatim) and the `/tmp` default.
pub fn staging(
    out: &mut Output,
    server: &ServerConfig,
    info: &BackupInfo,
    options: &RestoreOptions,
) -> Result<Staging, String> {
    let cli_path = absolute("staging path", options.staging_path.as_deref())?;
    if options.staging_location.as_deref() == Some("remote") && options.remote_ssh_command.is_none()
    {
        return Err("--staging-location as remote requires --remote-ssh-command to be set".into());
    }
    let recovery = absolute(
        "recovery staging path",
        options.recovery_staging_path.as_deref(),
    )?
    .or_else(|| server.recovery_staging_path().map(str::to_string));
    let local = absolute("local staging path", options.local_staging_path.as_deref())?
        .or_else(|| server.local_staging_path().map(str::to_string));
    let mut path = cli_path.or_else(|| server.staging_path().map(str::to_string));
    let location = options
        .staging_location
        .clone()
        .or_else(|| server.staging_location().map(str::to_string))
        .unwrap_or_else(|| "local".into());
    let combine_mode = options
        .combine_mode
        .clone()
        .or_else(|| server.combine_mode().map(str::to_string))
        .unwrap_or_else(|| "copy".into());
    let (id, name) = (&options.backup_id, server.name());
    let compression = info.raw(Field::Compression);
    let encryption = info.raw(Field::Encryption);
    let incremental = is_incremental(info);
    if (incremental || compression.is_some() || encryption.is_some()) && path.is_none() {
        if recovery.is_none() && local.is_none() {
            path = Some("/tmp".into());
        } else {
            if let (Some(enc), None) = (encryption, &local) {
                return Err(format!("Cannot restore from backup '{id}' of server '{name}': backup is encrypted with '{enc}' and it will be decrypted in the barman host but no staging path and location was provided. Please set staging_path and staging_location in the server configuration file, or use their equivalent CLI options --staging-path and --staging-location"));
            }
            if let (Some(c), None) = (compression, &recovery) {
                return Err(format!("Cannot restore from backup '{id}' of server '{name}': backup is compressed with {c} compression and it will be decompressed in a staging area but no staging path was provided. Please set staging_path and staging_location in the server configuration file, or use their equivalent CLI options --staging-path and --staging-location"));
            }
            if incremental && local.is_none() {
                return Err(format!("Cannot restore from backup '{id}' of server '{name}': backup has to be combined with pg_combinebackup in a staging area but no staging path and location was provided. Please set staging_path and staging_location in the server configuration file, or use their equivalent CLI options --staging-path and --staging-location"));
            }
            out.warning("recovery_staging_path and local_staging_path, and their equivalent CLI options --recovery-staging-path and --local-staging-path, are deprecated and will be removed in a future release. Please use staging_path and staging_location, and their equivalent CLI options --staging-path and --staging-location, instead.");
        }
    }
    // `_handle_deprecated_staging_options`: without `staging_path` each operation uses
    // its old option, always on this host.
    Ok(match path {
        Some(p) => Staging {
            decompress_path: p.clone(),
            combine_path: p,
            remote: location == "remote",
            combine_mode,
        },
        None => Staging {
            decompress_path: recovery.unwrap_or_else(|| "/tmp".into()),
            combine_path: local.unwrap_or_else(|| "/tmp".into()),
            remote: false,
            combine_mode,
        },
    })
}

/// The chain from the full backup to `id` (Barman's `walk_to_root`, reversed).
fn chain(dirs: &ServerDirs, id: &BackupId, info: &BackupInfo) -> Vec<(BackupId, BackupInfo)> {
    let mut chain = vec![(id.clone(), info.clone())];
    while let Some(parent) = chain.last().and_then(|(_, b)| b.raw(Field::ParentBackupId)) {
        let Ok(parent) = parent.parse::<BackupId>() else {
            break;
        };
        match store::load_backup(dirs, &parent) {
            Ok(parent_info) => chain.push((parent, parent_info)),
            Err(_) => break,
        }
    }
    chain.reverse();
    chain
}

/// Barman's `pg_major_version` of a backup (`17`, or `9.6` before 10).
fn backup_major(info: &BackupInfo) -> String {
    info.version()
        .unwrap_or(PgVersion::from_num(0))
        .major_text()
}

/// What a combine needs to know about where it runs.
struct Combiner<'a> {
    ssh: Option<Vec<String>>,
    program: String,
    major: String,
    dirs: &'a ServerDirs,
    search_path: String,
}

/// Find pg_combinebackup (on the restore host for a remote staging location) and check
/// its major version matches the backup's.
fn combiner<'a>(
    server: &ServerConfig,
    dirs: &'a ServerDirs,
    id: &BackupId,
    info: &BackupInfo,
    ssh: Option<Vec<String>>,
) -> Result<Combiner<'a>, Stop> {
    let not_found =
        || Stop::Uncaught("pg_combinebackup could not be found on the target server".into());
    let (program, version) = match &ssh {
        Some(words) => tool::find_remote(words).ok_or_else(not_found)?,
        None => {
            let found = pg_tools::version_info(&[tool::PROGRAM], server.path_prefix());
            let path = found.path.ok_or_else(not_found)?;
            (path.display().to_string(), found.full_version)
        }
    };
    let major = version
        .as_deref()
        .map(pg_tools::major_of)
        .unwrap_or_else(|| "None".into());
    let wanted = backup_major(info);
    if major != wanted {
        return Err(Stop::Message(format!("Postgres version mismatch: The backup '{id}' was taken from Postgres version '{wanted}', but pg_combinebackup version is '{major}'. To restore successfully is necessary to use pg_combinebackup with the same version used when the backup was taken ({wanted}).")));
    }
    Ok(Combiner {
        ssh,
        program,
        major,
        dirs,
        search_path: pg_tools::search_path(server.path_prefix()),
    })
}

/// `_fallback_to_copy_if_link_is_not_supported`.
fn link_or_copy(
    out: &mut Output,
    c: &Combiner<'_>,
    remote_restore: bool,
    output_dest: &str,
    leaf_data: &str,
    staging_is_local: bool,
) -> &'static str {
    if !remote_restore {
        out.warning("'link' mode is not supported for local restore. Falling back to 'copy' mode to prevent modification of original backup files through hard-links.");
        return "copy";
    }
    if pg_tools::version_le(&c.major, "17") {
        out.warning(
            "'link' mode is not supported on Postgres 17 or older. Falling back to 'copy' mode.",
        );
        return "copy";
    }
    let ssh = c.ssh.as_deref();
    if tool::device_of(ssh, output_dest) != tool::device_of(ssh, leaf_data) {
        out.warning("'link' mode is not supported with files across different file systems. Falling back to 'copy' mode.");
        return "copy";
    }
    if staging_is_local {
        out.warning("CAUTION: Using 'link' mode with a local staging area. Files in the staging path may be hard-linked to files from your Barman backup catalog. Modifying these files, by any means, can lead to permanent backup(s) corruption.");
    }
    "link"
}

/// Where one combine reads and writes.
struct CombineJob<'a> {
    /// Data directory of each backup of the chain, the full one first.
    chain: Vec<String>,
    /// Where the combined data directory goes.
    output: &'a str,
    /// Tablespace folders of the last backup → where they go.
    mapping: Vec<(String, String)>,
    /// The copy mode asked for.
    mode: &'a str,
    /// A remote restore (for the link-mode checks).
    remote_restore: bool,
    /// The staging area is on this host.
    staging_is_local: bool,
}

/// Run pg_combinebackup with Barman's messages; the copy time in seconds.
fn combine(
    out: &mut Output,
    server: &ServerConfig,
    dirs: &ServerDirs,
    (id, info): (&BackupId, &BackupInfo),
    ssh: Option<&[String]>,
    job: &CombineJob<'_>,
) -> Result<f64, Stop> {
    let start = std::time::Instant::now();
    out.info(&format!(
        "Start combining backup via pg_combinebackup for backup {id} on {}",
        job.output
    ));
    // Found (and its version checked) only now, after the message, as Barman does.
    let c = &combiner(server, dirs, id, info, ssh.map(<[String]>::to_vec))?;
    let leaf_data = job.chain.last().cloned().unwrap_or_default();
    let mode = if job.mode == "link" {
        link_or_copy(
            out,
            c,
            job.remote_restore,
            job.output,
            &leaf_data,
            job.staging_is_local,
        )
    } else {
        job.mode
    };
    let run = CombineRun {
        program: &c.program,
        output: job.output,
        tablespace_mapping: &job.mapping,
        mode,
        chain: &job.chain,
    };
    let result = match &c.ssh {
        Some(words) => tool::run_remote(&run, words),
        None => tool::run_local(&run, &c.search_path),
    };
    match result {
        Ok(text) => text
            .lines()
            .for_each(|l| tracing::info!(target: "barman.command_wrappers", "{l}")),
        Err(f) => {
            return Err(Stop::Message(format!(
                "Failure copying base backup: Combine action failure on directory '{}'\npg_combinebackup error:\n{}{}",
                job.output, f.out, f.err
            )))
        }
    }
    out.info(&format!(
        "End combining backup via pg_combinebackup for backup {id}"
    ));
    if !checksums_consistent(c.dirs, id, info) {
        out.warning("You are restoring from an incremental backup where checksums were enabled on that backup, but not all backups in the chain. It is advised to disable, and optionally re-enable, checksums on the destination directory to avoid failures.");
    }
    Ok(start.elapsed().as_secs_f64())
}

/// `is_checksum_consistent`: checksums on here but off in an ancestor is not.
fn checksums_consistent(dirs: &ServerDirs, id: &BackupId, info: &BackupInfo) -> bool {
    if info.raw(Field::DataChecksums) != Some("on") || !is_incremental(info) {
        return true;
    }
    chain(dirs, id, info)
        .iter()
        .all(|(_, b)| b.raw(Field::DataChecksums) != Some("off"))
}

/// `copy_stats` of the restored backup's `.barman-recover.info` after a local combine.
pub fn combine_copy_stats(seconds: f64) -> String {
    py_literal::repr(&PyValue::Dict(vec![(
        PyValue::Str("combine_time".into()),
        PyValue::Float(seconds),
    )]))
}

/// The final location of each tablespace (relocated or as at backup time).
fn final_location(plan: &Plan, name: &str, original: &str) -> String {
    plan.tablespaces
        .get(name)
        .cloned()
        .unwrap_or_else(|| original.to_string())
}

fn data_dirs(
    dirs: &ServerDirs,
    chain: &[(BackupId, BackupInfo)],
    root: Option<&str>,
) -> Vec<String> {
    chain
        .iter()
        .map(|(id, _)| match root {
            Some(root) => format!("{root}/{id}/data"),
            None => dirs.backup_base(id).join("data").display().to_string(),
        })
        .collect()
}

/// The backup being restored, its incremental chain (newest first) and the plan: what
/// every restore path below needs.
struct Chain<'a> {
    server: &'a ServerConfig,
    dirs: &'a ServerDirs,
    id: &'a BackupId,
    info: &'a BackupInfo,
    links: Vec<(BackupId, BackupInfo)>,
    plan: &'a Plan,
}

/// Restore an incremental backup's data directory (and tablespaces) into the
/// destination. Returns the combine time when the combine wrote the destination on this
/// host (Barman then records it in `.barman-recover.info`).
pub fn base_backup(
    out: &mut Output,
    job: &super::Job<'_>,
    target: &Destination,
    plan: &Plan,
) -> Result<Option<f64>, Stop> {
    let super::Job {
        server,
        dirs,
        id,
        info,
        options,
        ..
    } = *job;
    let links = chain(dirs, id, info);
    if let Some((bad, _)) = links
        .iter()
        .find(|(_, b)| b.raw(Field::Compression).is_some())
    {
        return Err(Stop::Message(format!("Failure copying base backup: backup {bad} of the incremental chain is compressed: combining compressed incremental backups is not supported")));
    }
    let chain = Chain {
        server,
        dirs,
        id,
        info,
        links,
        plan,
    };
    let dest = options.destination.trim_end_matches('/');
    match (target.ssh(), plan.staging.remote) {
        (None, _) => local(out, &chain, dest).map(Some),
        (Some(_), false) => {
            staged_here(out, &chain, target, options)?;
            Ok(None)
        }
        (Some(ssh), true) => {
            staged_there(out, &chain, &ssh, dest)?;
            Ok(None)
        }
    }
}

fn fs_error(e: impl std::fmt::Display) -> Stop {
    Stop::Message(format!("File system error: {e}"))
}

fn local(out: &mut Output, chain: &Chain, dest: &str) -> Result<f64, Stop> {
    let Chain {
        server,
        dirs,
        id,
        info,
        links,
        plan,
    } = chain;
    let target = Destination::Local;
    let mut mapping = Vec::new();
    target.create_dir(dest, Some(0o700)).map_err(fs_error)?;
    for (name, oid, original) in super::copy::tablespaces(info) {
        let location = final_location(plan, &name, &original);
        if !location.starts_with(&format!("{dest}/")) {
            target
                .create_dir(&location, Some(0o700))
                .map_err(fs_error)?;
        }
        let source = dirs.backup_base(id).join(oid.to_string());
        mapping.push((source.display().to_string(), location));
    }
    let job = CombineJob {
        chain: data_dirs(dirs, links, None),
        output: dest,
        mapping,
        mode: &plan.staging.combine_mode,
        remote_restore: false,
        staging_is_local: true,
    };
    let seconds = combine(out, server, dirs, (id, info), None, &job)?;
    cleanup_restored(out, None, dest);
    Ok(seconds)
}

/// Barman's `_post_recovery_cleanup`: what pg_combinebackup wrote that a restore must not
/// keep (the same list the rsync copy excludes).
fn cleanup_restored(out: &mut Output, ssh: Option<&[String]>, dest: &str) {
    for item in [
        "pg_log/*",
        "log/*",
        "pg_xlog/*",
        "pg_wal/*",
        "postmaster.pid",
        "recovery.conf",
        "tablespace_map",
    ] {
        let path = format!("{dest}/{item}");
        let result = match ssh {
            Some(words) => {
                let quoted = match item.strip_suffix("/*") {
                    Some(dir) => format!("{}/*", shell_words::quote(&format!("{dest}/{dir}"))),
                    None => shell_words::quote(&path).into_owned(),
                };
                tool::remote_script(words, &format!("rm -fr {quoted}"))
                    .map(|_| ())
                    .map_err(|f| f.err)
            }
            None => remove_local(&path).map_err(|e| e.to_string()),
        };
        if let Err(e) = result {
            out.warning(&format!("Cleanup operation failed to delete {path} after backup copy: {e}\nIf this file or directory is irrelevant for the recovery, please remove it manually."));
        }
    }
}

/// `rm -fr` of a path, or of a folder's entries for `<dir>/*`.
fn remove_local(path: &str) -> std::io::Result<()> {
    let remove = |p: &std::path::Path| -> std::io::Result<()> {
        match std::fs::symlink_metadata(p) {
            Ok(m) if m.is_dir() => std::fs::remove_dir_all(p),
            Ok(_) => std::fs::remove_file(p),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(e),
        }
    };
    match path.strip_suffix("/*") {
        Some(dir) => match std::fs::read_dir(dir) {
            Ok(mut entries) => entries.try_for_each(|e| e.and_then(|e| remove(&e.path()))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(e),
        },
        None => remove(std::path::Path::new(path)),
    }
}

/// Remote restore with a local staging area: combine here, copy the result.
fn staged_here(
    out: &mut Output,
    chain: &Chain,
    target: &Destination,
    options: &RestoreOptions,
) -> Result<(), Stop> {
    let Chain {
        server,
        dirs,
        id,
        info,
        links,
        plan,
    } = chain;
    let root = format!(
        "{}/barman-combine{}",
        plan.staging.combine_path.trim_end_matches('/'),
        std::process::id()
    );
    let volatile = format!("{root}/{id}");
    let output = format!("{volatile}/data");
    let here = Destination::Local;
    let _ = remove_local(&output);
    here.create_dir(&output, Some(0o700)).map_err(fs_error)?;
    let mut mapping = Vec::new();
    for (_, oid, _) in super::copy::tablespaces(info) {
        let staged = format!("{volatile}/{oid}");
        let _ = remove_local(&staged);
        here.create_dir(&staged, Some(0o700)).map_err(fs_error)?;
        let source = dirs.backup_base(id).join(oid.to_string());
        mapping.push((source.display().to_string(), staged));
    }
    let job = CombineJob {
        chain: data_dirs(dirs, links, None),
        output: &output,
        mapping,
        mode: &plan.staging.combine_mode,
        remote_restore: true,
        staging_is_local: true,
    };
    let result = combine(out, server, dirs, (id, info), None, &job).and_then(|_| {
        super::copy::staged_backup(
            out,
            server,
            std::path::Path::new(&volatile),
            info,
            target,
            options,
            plan,
        )
        .map_err(|e| Stop::Message(format!("Failure copying base backup: {}", e.0)))
    });
    if let Err(e) = remove_local(&root) {
        out.warning(&format!(
            "Staging path cleanup operation failed to delete {root}: {e}\n"
        ));
    }
    result
}

/// Remote restore with the staging area on the restore host: copy the chain there,
/// combine there into the destination.
fn staged_there(out: &mut Output, chain: &Chain, ssh: &[String], dest: &str) -> Result<(), Stop> {
    let Chain {
        server,
        dirs,
        links,
        plan,
        ..
    } = chain;
    let root = format!(
        "{}/barman-rsync-copy{}",
        plan.staging.combine_path.trim_end_matches('/'),
        std::process::id()
    );
    let result = copy_chain_there(server, dirs, links, ssh, &root)
        .and_then(|()| combine_there(out, chain, ssh, &root, dest));
    if let Err(f) = tool::remote_script(ssh, &format!("rm -fr {}", shell_words::quote(&root))) {
        out.warning(&format!(
            "Staging path cleanup operation failed to delete {root}: {}\n",
            f.err.trim()
        ));
    }
    result
}

/// Barman's `_copy_backup_dir` for each backup of the chain, then its tablespace links.
fn copy_chain_there(
    server: &ServerConfig,
    dirs: &ServerDirs,
    links: &[(BackupId, BackupInfo)],
    ssh: &[String],
    root: &str,
) -> Result<(), Stop> {
    let transport = crate::adapters::rsync::Transport {
        ssh: Some(ssh.to_vec()),
        compress: false,
        path: pg_tools::search_path(server.path_prefix()),
    };
    let q = |p: &str| shell_words::quote(p).into_owned();
    for (bid, binfo) in links.iter().rev() {
        let volatile = format!("{root}/{bid}");
        tool::remote_script(
            ssh,
            &format!(
                "rm -fr {v} && mkdir -p {v} && chmod 700 {v}",
                v = q(&volatile)
            ),
        )
        .map_err(|f| fs_error(f.err.trim()))?;
        let src = format!("{}/", dirs.backup_base(bid).display());
        crate::adapters::rsync::copy_plain(&transport, &src, &format!(":{volatile}/")).map_err(
            |e| {
                Stop::Message(format!(
                    "Failure copying base backup: data transfer failure: {e}"
                ))
            },
        )?;
        for (_, oid, _) in super::copy::tablespaces(binfo) {
            let link = format!("{volatile}/data/pg_tblspc/{oid}");
            let script = format!(
                "mkdir -p {d} && rm -fr {l} && ln -s {t} {l}",
                d = q(&format!("{volatile}/data/pg_tblspc")),
                l = q(&link),
                t = q(&format!("{volatile}/{oid}"))
            );
            tool::remote_script(ssh, &script).map_err(|f| fs_error(f.err.trim()))?;
        }
    }
    Ok(())
}

fn combine_there(
    out: &mut Output,
    chain: &Chain,
    ssh: &[String],
    root: &str,
    dest: &str,
) -> Result<(), Stop> {
    let Chain {
        server,
        dirs,
        id,
        info,
        links,
        plan,
    } = chain;
    let target = Destination::Remote(ssh.to_vec());
    target.create_dir(dest, Some(0o700)).map_err(fs_error)?;
    let mut mapping = Vec::new();
    for (name, oid, original) in super::copy::tablespaces(info) {
        let location = final_location(plan, &name, &original);
        if !location.starts_with(&format!("{dest}/")) {
            target
                .create_dir(&location, Some(0o700))
                .map_err(fs_error)?;
        }
        mapping.push((format!("{root}/{id}/{oid}"), location));
    }
    let job = CombineJob {
        chain: data_dirs(dirs, links, Some(root)),
        output: dest,
        mapping,
        mode: &plan.staging.combine_mode,
        remote_restore: true,
        staging_is_local: false,
    };
    combine(out, server, dirs, (id, info), Some(ssh), &job)?;
    cleanup_restored(out, Some(ssh), dest);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn combine_copy_stats_is_a_python_dict() {
        assert_eq!(combine_copy_stats(1.5), "{'combine_time': 1.5}");
    }

    #[test]
    fn remove_local_empties_a_folder_or_removes_a_path() {
        let dir = tempfile::tempdir().unwrap();
        let wal = dir.path().join("pg_wal");
        std::fs::create_dir_all(wal.join("archive_status")).unwrap();
        std::fs::write(wal.join("000000010000000000000001"), "x").unwrap();
        std::fs::write(dir.path().join("tablespace_map"), "x").unwrap();
        remove_local(&format!("{}/*", wal.display())).unwrap();
        remove_local(&format!("{}/tablespace_map", dir.path().display())).unwrap();
        remove_local(&format!("{}/missing/*", dir.path().display())).unwrap();
        assert!(wal.is_dir());
        assert_eq!(std::fs::read_dir(&wal).unwrap().count(), 0);
        assert!(!dir.path().join("tablespace_map").exists());
    }
}
