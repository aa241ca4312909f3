//! Copy of the base backup into the destination (Barman's `RsyncCopyOperation`):
//! tablespaces to their (relocated) locations, PGDATA without the files a restore must not
//! bring back, `pg_tblspc` links, `.barman-recover.info` and the renamed `backup_manifest`.
//! Plain backups are copied with parallel rsync processes, locally or over
//! `--remote-ssh-command`; `backup_compression` tar backups are extracted (local restores).

use super::delta::{delta_copy, Delta};
use super::options::{Plan, RestoreOptions};
use super::Stop;
use crate::adapters::catalog::layout::ServerDirs;
use crate::adapters::destination::Destination;
use crate::adapters::pg_tools;
use crate::adapters::rsync::{self, CopyRun, Filters, Transport, TreeCopy};
use crate::adapters::tree_copy;
use crate::adapters::untar;
use crate::core::backup_id::BackupId;
use crate::core::backup_info::BackupInfo;
use crate::core::backup_info::Field;
use crate::core::config::ServerConfig;
use crate::core::py_literal::PyValue;
use crate::output::progress::Progress;
use crate::output::Output;
use std::io::Read;
use std::path::Path;

/// The backup's tablespaces as (name, oid, location).
pub fn tablespaces(info: &BackupInfo) -> Vec<(String, u32, String)> {
    let Some(PyValue::List(items)) = info.literal(Field::Tablespaces) else {
        return Vec::new();
    };
    items
        .into_iter()
        .filter_map(|item| match item {
            PyValue::Tuple(fields) | PyValue::List(fields) => match fields.as_slice() {
                [PyValue::Str(name), PyValue::Int(oid), PyValue::Str(location)] => {
                    Some((name.clone(), u32::try_from(*oid).ok()?, location.clone()))
                }
                _ => None,
            },
            _ => None,
        })
        .collect()
}

/// PGDATA paths a restore leaves out.
const RESTORE_EXCLUDE: [&str; 7] = [
    "/pg_log/*",
    "/log/*",
    "/pg_xlog/*",
    "/pg_wal/*",
    "/postmaster.pid",
    "/recovery.conf",
    "/tablespace_map",
];

/// A copy failure (Barman prints `Failure copying base backup: <reason>`).
pub struct CopyFailure(pub String);

/// Copy the base backup.
pub fn base_backup(
    out: &mut Output,
    job: &super::Job<'_>,
    target: &Destination,
    plan: &Plan,
) -> Result<(), CopyFailure> {
    let super::Job {
        server,
        dirs,
        id,
        info,
        options,
        ..
    } = *job;
    let dest = options.destination.trim_end_matches('/').to_string();
    let base = plan
        .decrypted_base
        .clone()
        .unwrap_or_else(|| dirs.backup_base(id));
    let total = info.size();
    let progress = Progress::bytes(out, total, "restore");
    let result = if info.raw(Field::Compression).is_some() {
        // Barman decompresses into a staging folder on this host (`staging_path`, /tmp by
        // default), then copies from there like a plain backup.
        let root = plan.staging.decompress_path.clone();
        let staged = tempfile::Builder::new()
            .prefix(&format!("barman-staging-{}-{id}-", server.name()))
            .tempdir_in(&root)
            .map_err(|e| CopyFailure(format!("cannot create a staging folder in '{root}': {e}")))?;
        let copy = PlainCopy {
            server,
            info,
            target,
            plan,
            progress: &progress,
            native: false,
        };
        extract_compressed(&base, staged.path(), info, &progress)
            .and_then(|()| copy_plain(&copy, staged.path(), &dest))
    } else {
        let copy = PlainCopy {
            server,
            info,
            target,
            plan,
            progress: &progress,
            // A plain backup straight from the catalog: the native copy may take it.
            native: plan.decrypted_base.is_none(),
        };
        copy_plain(&copy, &base, &dest)
    };
    progress.finish();
    result?;
    link_tablespaces(out, target, &dest, info, plan)
}

/// Copy a backup laid out as in the catalog (`<base>/data`, `<base>/<oid>`) but staged
/// elsewhere (a combined incremental backup), then link its tablespaces.
pub fn staged_backup(
    out: &mut Output,
    server: &ServerConfig,
    base: &Path,
    info: &BackupInfo,
    target: &Destination,
    options: &RestoreOptions,
    plan: &Plan,
) -> Result<(), CopyFailure> {
    let dest = options.destination.trim_end_matches('/');
    let progress = Progress::bytes(out, info.size(), "restore");
    let copy = PlainCopy {
        server,
        info,
        target,
        plan,
        progress: &progress,
        native: false,
    };
    let result = copy_plain(&copy, base, dest);
    progress.finish();
    result?;
    link_tablespaces(out, target, dest, info, plan)
}

/// One plain copy into the destination: the backup's folders (`<base>/data`,
/// `<base>/<oid>`) to the data directory and the tablespace locations.
struct PlainCopy<'a> {
    server: &'a ServerConfig,
    info: &'a BackupInfo,
    target: &'a Destination,
    plan: &'a Plan,
    progress: &'a Progress,
    /// The source is a plain backup in the catalog, which [`native_copy`] may copy.
    native: bool,
}

/// One folder to copy: its label, source, destination and rsync filters.
struct Folder {
    label: String,
    src: String,
    dst: String,
    filters: Filters,
}

fn copy_plain(copy: &PlainCopy<'_>, base: &Path, dest: &str) -> Result<(), CopyFailure> {
    let lists = tempfile::Builder::new()
        .prefix("barman_recovery-")
        .tempdir()
        .map_err(|e| transfer_failure(&e))?;
    for folder in &folders(copy, base, dest)? {
        if let Some(patterns) = native_patterns(copy, folder) {
            native_copy(copy, folder, &patterns)?;
            continue;
        }
        copy_folder(copy, folder, lists.path())?;
    }
    Ok(())
}

fn transfer_failure(e: &dyn std::fmt::Display) -> CopyFailure {
    CopyFailure(format!("data transfer failure: {e}"))
}

/// The folders to copy, tablespaces first; creates the destination and the tablespace
/// locations outside it. A tablespace relocated inside the data directory is protected
/// from the data directory's copy (and its deletions).
fn folders(copy: &PlainCopy<'_>, base: &Path, dest: &str) -> Result<Vec<Folder>, CopyFailure> {
    let (target, plan) = (copy.target, copy.plan);
    let mut protect = Vec::new();
    let mut folders = Vec::new();
    target
        .create_dir(dest, Some(0o700))
        .map_err(|e| transfer_failure(&e))?;
    for (name, oid, original) in tablespaces(copy.info) {
        let location = plan.tablespaces.get(&name).cloned().unwrap_or(original);
        match location.strip_prefix(&format!("{dest}/")) {
            Some(inside) => protect.push(format!("/{inside}")),
            None => target
                .create_dir(&location, None)
                .map_err(|e| transfer_failure(&e))?,
        }
        protect.push(format!("/pg_tblspc/{oid}"));
        folders.push(Folder {
            label: name,
            src: format!("{}/", base.join(oid.to_string()).display()),
            dst: location,
            filters: Filters {
                bwlimit: plan.bwlimit,
                ..Filters::default()
            },
        });
    }
    folders.push(Folder {
        label: "pgdata".into(),
        src: format!("{}/", base.join("data").display()),
        dst: dest.to_string(),
        filters: Filters {
            exclude: RESTORE_EXCLUDE.iter().map(|s| s.to_string()).collect(),
            exclude_and_protect: protect,
            bwlimit: plan.bwlimit,
            ..Filters::default()
        },
    });
    Ok(folders)
}

/// The excludes of a folder the native copy can take exactly as rsync would: a plain
/// backup from the catalog, into a local, empty destination (not a delta), without a
/// bandwidth limit, with excludes it understands. Anything else stays with rsync.
/// `BARMAN_TEST_RESTORE_COPY=rsync` forces rsync: the tests compare both copies.
fn native_patterns(copy: &PlainCopy<'_>, folder: &Folder) -> Option<Vec<String>> {
    let plan = copy.plan;
    let forced_rsync = std::env::var("BARMAN_TEST_RESTORE_COPY").is_ok_and(|v| v == "rsync");
    if !copy.native
        || forced_rsync
        || copy.target.is_remote()
        || plan.delta
        || plan.bwlimit.is_some_and(|k| k > 0)
        || !folder.filters.include.is_empty()
    {
        return None;
    }
    let patterns: Vec<String> = (folder.filters.exclude.iter())
        .chain(&folder.filters.exclude_and_protect)
        .cloned()
        .collect();
    patterns
        .iter()
        .all(|p| tree_copy::supported(p))
        .then_some(patterns)
}

/// Copy one folder with the native parallel copy (see [`tree_copy`]).
fn native_copy(
    copy: &PlainCopy<'_>,
    folder: &Folder,
    patterns: &[String],
) -> Result<(), CopyFailure> {
    let job = tree_copy::TreeCopy {
        src: Path::new(folder.src.trim_end_matches('/')),
        dst: Path::new(&folder.dst),
        exclude: patterns,
        jobs: copy.plan.jobs as usize,
    };
    tree_copy::copy(&job, &|b| copy.progress.add(b)).map_err(|e| transfer_failure(&e))
}

/// Copy one folder (in parallel, or by delta), then check every file arrived.
fn copy_folder(copy: &PlainCopy<'_>, folder: &Folder, lists: &Path) -> Result<(), CopyFailure> {
    let (target, plan) = (copy.target, copy.plan);
    let path = pg_tools::search_path(copy.server.path_prefix());
    let local = Transport {
        ssh: None,
        compress: false,
        path: path.clone(),
    };
    let remote = Transport {
        ssh: target.ssh(),
        compress: plan.network_compression && target.is_remote(),
        path,
    };
    let Folder {
        label,
        src,
        dst,
        filters,
    } = folder;
    let listing = rsync::list(&local, filters, src).map_err(|e| transfer_failure(&e))?;
    let rsync_dst = target.rsync_path(dst);
    let tree = TreeCopy {
        src,
        dst: &rsync_dst,
        reuse: None,
        checksum_from: None,
        jobs: plan.jobs as usize,
        first_worker: None,
        batch_size: plan.batch_size as usize,
        batch_period: plan.batch_period,
        retry_times: plan.retry_times,
        retry_sleep: plan.retry_sleep,
        lists_dir: lists,
        label,
    };
    if plan.delta {
        let delta = Delta {
            transport: &remote,
            filters,
            tree: &tree,
            horizon: plan.horizon.as_deref(),
        };
        delta_copy(&delta, &listing, copy.progress).map_err(|e| transfer_failure(&e))?;
    } else {
        // The folder tree first (empty folders included), then the files in parallel.
        let tree_run = CopyRun {
            dirs_only: true,
            ..CopyRun::whole(src, &rsync_dst)
        };
        rsync::copy(&remote, filters, &tree_run, &mut |_| {}).map_err(|e| transfer_failure(&e))?;
        rsync::copy_tree(
            &remote,
            filters,
            &tree,
            &listing,
            &|b| copy.progress.add(b),
            &mut || {},
        )
        .map_err(|e| transfer_failure(&e))?;
    }
    verify_arrived(target, dst, &listing).map_err(|e| transfer_failure(&e))
}

/// Every file the source listing holds must be at the destination with its size: a
/// backup deleted (or damaged) while it was copied, or files rsync skipped as vanished,
/// must fail the restore instead of leaving a data directory missing `global/pg_control`.
fn verify_arrived(
    target: &Destination,
    dst: &str,
    listing: &[rsync::ListedEntry],
) -> Result<(), String> {
    let arrived = target.file_sizes(dst).map_err(|e| e.to_string())?;
    let missing: Vec<&str> = listing
        .iter()
        .filter(|e| !e.is_dir && e.path != ".")
        .filter(|e| arrived.get(&e.path) != Some(&e.size))
        .map(|e| e.path.as_str())
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    let shown: Vec<&str> = missing.iter().take(5).copied().collect();
    Err(format!(
        "{} file(s) of the backup did not arrive whole in '{dst}' ({}{})",
        missing.len(),
        shown.join(", "),
        if missing.len() > shown.len() {
            ", …"
        } else {
            ""
        }
    ))
}

/// Extract `data/base.tar*` into `<staging>/data` and `data/<oid>.tar*` into
/// `<staging>/<oid>`: the layout of a plain backup, ready for the usual copy.
fn extract_compressed(
    base: &Path,
    staging: &Path,
    info: &BackupInfo,
    progress: &Progress,
) -> Result<(), CopyFailure> {
    let data = base.join("data");
    let fail = |e: &dyn std::fmt::Display| CopyFailure(format!("data transfer failure: {e}"));
    let staged_data = staging.join("data");
    std::fs::create_dir_all(&staged_data).map_err(|e| fail(&e))?;
    set_mode(&staged_data, 0o700).map_err(|e| fail(&e))?;
    extract(&data, "base", &staged_data, progress)?;
    for (_, oid, _) in tablespaces(info) {
        let dir = staging.join(oid.to_string());
        std::fs::create_dir_all(&dir).map_err(|e| fail(&e))?;
        extract(&data, &oid.to_string(), &dir, progress)?;
    }
    // pg_basebackup's tar format keeps the manifest beside the archives.
    let manifest = data.join("backup_manifest");
    if manifest.exists() {
        std::fs::copy(&manifest, staged_data.join("backup_manifest")).map_err(|e| fail(&e))?;
    }
    Ok(())
}

fn set_mode(path: &Path, mode: u32) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
}

fn extract(data: &Path, stem: &str, into: &Path, progress: &Progress) -> Result<(), CopyFailure> {
    let fail = |e: &dyn std::fmt::Display| CopyFailure(format!("data transfer failure: {e}"));
    let candidates = [
        (format!("{stem}.tar.gz"), "gzip"),
        (format!("{stem}.tar.lz4"), "lz4"),
        (format!("{stem}.tar.zst"), "zstd"),
        (format!("{stem}.tar"), "none"),
    ];
    let Some((path, kind)) = candidates
        .iter()
        .map(|(name, kind)| (data.join(name), *kind))
        .find(|(path, _)| path.exists())
    else {
        return Err(CopyFailure(format!(
            "data transfer failure: no archive {stem}.tar* in {}",
            data.display()
        )));
    };
    let file = std::fs::File::open(&path).map_err(|e| fail(&e))?;
    let reader: Box<dyn Read> = match kind {
        "gzip" => Box::new(flate2::read::MultiGzDecoder::new(file)),
        "lz4" => Box::new(lz4_flex::frame::FrameDecoder::new(file)),
        "zstd" => Box::new(zstd::stream::read::Decoder::new(file).map_err(|e| fail(&e))?),
        _ => Box::new(file),
    };
    let mut archive = tar::Archive::new(reader);
    archive.set_preserve_permissions(true);
    archive.set_preserve_mtime(true);
    let keep = untar::Keep {
        owner: false,
        all_mode_bits: true,
    };
    let into = into.canonicalize().map_err(|e| fail(&e))?;
    for entry in archive.entries().map_err(|e| fail(&e))? {
        let mut entry = entry.map_err(|e| fail(&e))?;
        let size = entry.size();
        // Paths that escape `into` (`..`, absolute names) are refused, as tar's `unpack_in`.
        untar::unpack_in(&mut entry, &into, keep).map_err(|e| fail(&e))?;
        progress.add(size);
    }
    Ok(())
}

/// `pg_tblspc/<oid>` links to the (relocated) tablespace folders.
fn link_tablespaces(
    out: &mut Output,
    target: &Destination,
    dest: &str,
    info: &BackupInfo,
    plan: &Plan,
) -> Result<(), CopyFailure> {
    let tblspc = format!("{dest}/pg_tblspc");
    target.create_dir(&tblspc, None).map_err(|e| {
        CopyFailure(format!(
            "unable to initialize tablespace directory '{tblspc}': {e}"
        ))
    })?;
    for (name, oid, original) in tablespaces(info) {
        let location = plan.tablespaces.get(&name).cloned().unwrap_or(original);
        target
            .symlink(&location, &format!("{tblspc}/{oid}"))
            .map_err(|e| {
                CopyFailure(format!(
                    "unable to prepare '{name}' tablespace (destination '{location}'): {e}"
                ))
            })?;
        out.info(&format!("\t{oid}, {name}, {location}"));
    }
    Ok(())
}

/// `.barman-recover.info` and `backup_manifest` → `backup_manifest.<ID>`.
pub fn finish_copy(
    server: &ServerConfig,
    dirs: &ServerDirs,
    id: &BackupId,
    info: &BackupInfo,
    target: &Destination,
    dest: &str,
) -> Result<(), Stop> {
    let dest = dest.trim_end_matches('/');
    let recover_info = format!("{dest}/.barman-recover.info");
    match target {
        Destination::Local => {
            std::fs::write(&recover_info, info.to_text())?;
        }
        Destination::Remote(_) => {
            let transport = Transport {
                ssh: target.ssh(),
                compress: false,
                path: pg_tools::search_path(server.path_prefix()),
            };
            let src = crate::adapters::catalog::store::backup_info_path(dirs, id)
                .display()
                .to_string();
            let dst = target.rsync_path(&recover_info);
            rsync::copy_plain(&transport, &src, &dst).map_err(|e| {
                Stop::Message(format!("copy of recovery metadata file failed: {e}"))
            })?;
        }
    }
    let manifest = format!("{dest}/backup_manifest");
    if target.exists(&manifest)? {
        target.rename(&manifest, &format!("{manifest}.{id}"))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(path: &str, size: u64) -> rsync::ListedEntry {
        rsync::ListedEntry {
            path: path.into(),
            size,
            mtime: String::new(),
            is_dir: false,
        }
    }

    #[test]
    fn verify_arrived_names_missing_and_short_files() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("global")).unwrap();
        std::fs::write(dir.path().join("PG_VERSION"), "15\n").unwrap();
        std::fs::write(dir.path().join("global/1262"), "x").unwrap();
        let dst = dir.path().to_str().unwrap();
        let whole = [entry("PG_VERSION", 3), entry("global/1262", 1)];
        assert!(verify_arrived(&Destination::Local, dst, &whole).is_ok());
        let listing = [
            entry("PG_VERSION", 3),
            entry("global/1262", 8192),
            entry("global/pg_control", 8192),
        ];
        let err = verify_arrived(&Destination::Local, dst, &listing).unwrap_err();
        assert!(
            err.starts_with("2 file(s) of the backup did not arrive whole"),
            "{err}"
        );
        assert!(
            err.contains("global/pg_control") && err.contains("global/1262"),
            "{err}"
        );
    }
}
