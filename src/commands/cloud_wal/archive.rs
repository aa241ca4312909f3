//! `barman cloud-wal-archive SERVER WAL_PATH [-p N]` (Barman's `cli.cloud_wal_archive`,
//! `Server.cloud_wal_archive` and `CloudWalArchiver`): the WAL goes from `pg_wal` straight
//! to the server's cloud `wals_directory`, compressed in memory with `compression`, never
//! overwriting an object that is already there (an identical one is fine, a different one
//! leaves a copy of the file in `errors/`); the file itself is left to PostgreSQL. With
//! `-p N` the next `.ready` segments are archived alongside on threads, and
//! `meta/cloud-wal-last-archived` lets PostgreSQL's later calls for them return at once.
//! Every archived file gets its line in `<server>-xlog.db`, in WAL order, up to the first
//! failure.

use super::{is_wal_file, open_store, select, Context};
use crate::adapters::catalog::{store, xlog_db};
use crate::adapters::cloud::CloudStore;
use crate::adapters::codec::Codec;
use crate::adapters::durable;
use crate::clients::cloud::wal_archive::{object_key, read_wal, suffix};
use crate::commands::hooks::{wal_facts, Hooks};
use crate::core::config::ServerConfig;
use crate::core::hooks::{HookFamily, Phase};
use crate::core::wal_name::WalFileName;
use crate::core::wal_segment_size::WalSegmentSize;
use crate::output::Output;
use std::os::unix::fs::{DirBuilderExt, MetadataExt};
use std::path::{Path, PathBuf};

/// The cache of the last WAL archived by a parallel run, in `meta/`.
const LAST_ARCHIVED: &str = "cloud-wal-last-archived";

/// `barman cloud-wal-archive SERVER WAL_PATH`.
#[derive(Debug, Clone)]
pub struct ArchiveRequest {
    /// `%p`.
    pub wal_path: PathBuf,
    /// `-p/--parallel` (default: `cloud_wal_archive_parallel`).
    pub parallel: Option<i64>,
}

/// What the archive of one file needs (one store per thread: each has its own runtime).
pub(super) struct Target<'a> {
    server: &'a ServerConfig,
    /// The archive hooks, when any is configured.
    pub(super) hooks: Option<Hooks<'a>>,
    /// The in-memory codec, if `compression` is set.
    pub(super) codec: Option<Codec>,
    /// `compression_level` as text.
    pub(super) level: String,
}

/// Run `barman cloud-wal-archive`.
pub fn archive(
    ctx: &Context,
    out: &mut Output,
    server_name: &str,
    request: &ArchiveRequest,
) -> crate::Result<()> {
    let path = &request.wal_path;
    let shown = path.display();
    if path.is_dir() {
        out.error(&format!("wal_path cannot be a directory: {shown}"));
        return Ok(());
    }
    if !path.exists() {
        out.error(&format!("WAL file does not exist: {shown}"));
        return Ok(());
    }
    if !is_wal_file(path) {
        out.error(&format!("File is not a valid WAL file: {shown}"));
        return Ok(());
    }
    let Some(server) = server_for_archive(ctx, out, server_name) else {
        return Ok(());
    };
    let mut target = target(server)?;
    let hooks = Hooks::new(&ctx.config, server);
    target.hooks = hooks.any(HookFamily::Archive).then_some(hooks);
    let mut parallel = request
        .parallel
        .or(server.cloud_wal_archive_parallel())
        .unwrap_or(0);
    let meta = PathBuf::from(server.backup_dir()).join("meta");
    if parallel > 1 && !cache_dir_secure(&meta) {
        tracing::warn!(target: "barman.wal_archiver", "Cache directory {} is not secure; disabling parallel WAL archiving.", meta.display());
        parallel = 0;
    }
    let name = file_name(path);
    if parallel > 1 && already_archived(&meta, &name) {
        tracing::debug!(target: "barman.wal_archiver", "WAL file {name} is already archived, skipping.");
        return Ok(());
    }
    let prefetch = ready_after(path, parallel - 1);
    if let Err(e) = archive_one(&target, path) {
        tracing::error!(target: "barman.wal_archiver", "Archival of WAL file {shown} failed: {e}");
        return Err(crate::Error::Uncaught(e));
    }
    let done = archive_in_parallel(&target, &prefetch);
    let archived: Vec<&PathBuf> = std::iter::once(path)
        .chain(
            prefetch
                .iter()
                .zip(&done)
                .take_while(|(_, ok)| **ok)
                .map(|(p, _)| p),
        )
        .collect();
    if !prefetch.is_empty() {
        remember_last(&meta, archived.last().map(|p| file_name(p)));
    }
    record(ctx, server, &archived)
}

/// The server, as Barman's `get_server(skip_inactive=True, skip_passive=True)` gives it,
/// and only when its configuration allows this command.
fn server_for_archive<'a>(
    ctx: &'a Context,
    out: &mut Output,
    server_name: &str,
) -> Option<&'a ServerConfig> {
    let server = select::single(&ctx.config, server_name, out, select::Policy::SKIP_INACTIVE)?;
    if server.passive_node() {
        out.info(&format!("Skipping passive server '{}'", server.name()));
        return None;
    }
    let name = server.name();
    if server.method() != "local-to-cloud" {
        out.error(&format!(
            "cloud-wal-archive is only supported for servers with 'backup_method' set to \
             'local-to-cloud'. Please check the configuration of server {name}."
        ));
        return None;
    }
    if !server.uses_wal_cloud_storage() {
        out.error(&format!(
            "cloud-wal-archive is not supported for server {name} because no cloud storage \
             configuration is set in 'wals_directory'. Please check the server configuration."
        ));
        return None;
    }
    Some(server)
}

/// The compression to archive with; pigz and custom cannot compress in memory.
pub(super) fn target(server: &ServerConfig) -> crate::Result<Target<'_>> {
    let codec = match server.compression() {
        None => None,
        Some(name) => {
            let codec = Codec::from_name(name, None, None).filter(|c| suffix(c).is_some());
            Some(codec.ok_or_else(|| {
                crate::Error::Uncaught(
                    "Cloud WAL storage only supports in-memory compression algorithms \
                     (gzip, bzip2, xz, zstd, lz4, snappy). pigz and custom compressors are \
                     not supported."
                        .into(),
                )
            })?)
        }
    };
    let level = server
        .compression_level()
        .map(|v| v.python_str())
        .unwrap_or_else(|| "medium".into());
    Ok(Target {
        server,
        hooks: None,
        codec,
        level,
    })
}

/// Run `upload` of the file at `path` between the archive hooks, as Barman's
/// `CloudWalStorageStrategy.save` does: the post hooks see the failure, a pre retry hook
/// exiting 63 fails the archive (after the post hooks ran).
/// The post hooks see the stored size and compression (`stored_size`, when compressed).
pub(super) fn with_hooks<T>(
    target: &Target,
    path: &Path,
    stored_size: Option<u64>,
    upload: impl FnOnce() -> Result<T, String>,
) -> Result<T, String> {
    let Some(hooks) = target.hooks else {
        return upload();
    };
    let mut entry = store::wal_file_info(path, &file_name(path)).map_err(|e| e.to_string())?;
    let facts = wal_facts(&entry, path);
    if let Some(size) = stored_size {
        entry.size = size;
        entry.compression = target.server.compression().map(str::to_string);
    }
    let post = wal_facts(&entry, path);
    if let Err(abort) = hooks.wal(HookFamily::Archive, Phase::Pre, &facts, None) {
        let error = abort.to_string();
        let _ = hooks.wal(HookFamily::Archive, Phase::Post, &post, Some(&error));
        return Err(error);
    }
    let result = upload();
    let error = result.as_ref().err().map(String::as_str);
    let _ = hooks.wal(HookFamily::Archive, Phase::Post, &post, error);
    result
}

/// Upload one file unless the store holds it already (between the archive hooks).
fn archive_one(target: &Target, path: &Path) -> Result<(), String> {
    let data = read_wal(path, target.codec.as_ref(), &target.level)?;
    let stored_size = target.codec.as_ref().map(|_| data.len() as u64);
    with_hooks(target, path, stored_size, || upload_one(target, path, data))
}

fn upload_one(target: &Target, path: &Path, data: bytes::Bytes) -> Result<(), String> {
    let server = target.server;
    let name: WalFileName = file_name(path).parse().map_err(|e| format!("{e}"))?;
    let store = open_store(server, server.wals_dir()).map_err(|e| e.to_string())?;
    let key = object_key(&store, server.name(), &name, target.codec.as_ref());
    tracing::debug!(target: "barman.wal_archiver", "Uploading {} to {key}", path.display());
    if store.put_if_absent(&key, data).map_err(|e| e.to_string())? {
        return Ok(());
    }
    if same_as_stored(&store, &key, target.codec.as_ref(), path)? {
        tracing::info!(target: "barman.wal_archiver", "WAL file {name} is already archived in cloud storage, skipping.");
    } else {
        tracing::warn!(target: "barman.wal_archiver", "WAL file {name} is already archived in cloud storage of server {} but with different content. Copying it to the errors directory.", server.name());
        copy_to_errors(server, path, &name.to_string());
    }
    Ok(())
}

/// Whether the object at `key`, decompressed, equals the file.
pub(super) fn same_as_stored(
    store: &CloudStore,
    key: &str,
    codec: Option<&Codec>,
    path: &Path,
) -> Result<bool, String> {
    let stored = store
        .get(key)
        .map_err(|e| e.to_string())?
        .unwrap_or_default();
    let stored = match codec {
        None => stored,
        Some(codec) => {
            let mut plain = Vec::new();
            codec
                .decompress(&mut stored.as_slice(), &mut plain)
                .map_err(|e| e.to_string())?;
            plain
        }
    };
    let local = std::fs::read(path).map_err(|e| format!("{e}: '{}'", path.display()))?;
    Ok(stored == local)
}

/// Barman copies (never moves: the file is PostgreSQL's) a conflicting WAL to
/// `errors/<name>.<UTC stamp>.duplicate`.
fn copy_to_errors(server: &ServerConfig, path: &Path, name: &str) {
    let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%SZ");
    let dst = Path::new(server.errors_dir()).join(format!("{name}.{stamp}.duplicate"));
    let copied = std::fs::read(path).and_then(|bytes| durable::write_atomic(&dst, &bytes));
    if let Err(e) = copied {
        tracing::warn!(target: "barman.wal_archiver", "{} not copied to the errors directory: {e}", path.display());
    }
}

/// The next segments after `path` with a `.ready` mark, up to `count`, stopping at the
/// first one without (Barman's `_get_wals_to_prefetch`); recycled files are skipped.
fn ready_after(path: &Path, count: i64) -> Vec<PathBuf> {
    let Ok(WalFileName::Segment(mut segment)) = file_name(path).parse::<WalFileName>() else {
        return Vec::new();
    };
    if count <= 0 {
        return Vec::new();
    }
    let dir = path.parent().unwrap_or(Path::new("."));
    let status = dir.join("archive_status");
    if !status.is_dir() {
        tracing::warn!(target: "barman.wal_archiver", "archive_status directory {} does not exist; prefetching skipped.", status.display());
        return Vec::new();
    }
    // The archive_command is called on complete segments: the file size is the segment size.
    let size = std::fs::metadata(path)
        .ok()
        .and_then(|m| WalSegmentSize::new(m.len()).ok())
        .unwrap_or_default();
    let mut found = Vec::new();
    while (found.len() as i64) < count {
        segment = segment.next(size);
        let name = segment.to_string();
        if !status.join(format!("{name}.ready")).exists() {
            break;
        }
        let candidate = dir.join(&name);
        if candidate.exists() {
            found.push(candidate);
        }
    }
    found
}

/// Archive `paths` at once, one thread each: which succeeded, in order.
fn archive_in_parallel(target: &Target, paths: &[PathBuf]) -> Vec<bool> {
    std::thread::scope(|scope| {
        let handles: Vec<_> = paths
            .iter()
            .map(|path| {
                scope.spawn(move || match archive_one(target, path) {
                    Ok(()) => true,
                    Err(e) => {
                        tracing::warn!(target: "barman.wal_archiver", "Prefetch of WAL file {} failed: {e}", path.display());
                        false
                    }
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or(false))
            .collect()
    })
}

/// Append the archived files to the xlog db (plain size and mtime, as Barman records
/// them), under the xlogdb lock.
fn record(ctx: &Context, server: &ServerConfig, archived: &[&PathBuf]) -> crate::Result<()> {
    let entries = archived
        .iter()
        .map(|path| store::wal_file_info(path, &file_name(path)))
        .collect::<Result<Vec<_>, _>>()?;
    let dirs = crate::commands::status::server_dirs(server);
    let lock_dir = PathBuf::from(&ctx.config.global.barman_lock_directory);
    xlog_db::append(&dirs, &lock_dir, &entries)?;
    Ok(())
}

/// Barman's `_is_cache_dir_secure`: the cache folder (created 0700 when missing) must be a
/// real folder of ours that nobody else can write, or a planted cache could make us skip
/// real WALs.
fn cache_dir_secure(dir: &Path) -> bool {
    let _ = std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir);
    let Ok(meta) = std::fs::symlink_metadata(dir) else {
        return false;
    };
    meta.is_dir() && meta.uid() == nix::unistd::getuid().as_raw() && meta.mode() & 0o022 == 0
}

/// Whether a parallel run already archived `name` (segments compare by name).
fn already_archived(meta: &Path, name: &str) -> bool {
    let Ok(cached) = std::fs::read_to_string(meta.join(LAST_ARCHIVED)) else {
        return false;
    };
    let cached = cached.trim();
    !cached.is_empty()
        && matches!(name.parse::<WalFileName>(), Ok(WalFileName::Segment(_)))
        && name <= cached
}

/// Cache the last of the consecutive successes, segments only (a `.history` sorts
/// before older timelines' segments and would make them look archived).
fn remember_last(meta: &Path, last: Option<String>) {
    let Some(last) = last else { return };
    if !matches!(last.parse::<WalFileName>(), Ok(WalFileName::Segment(_))) {
        return;
    }
    if let Err(e) = durable::write_atomic(&meta.join(LAST_ARCHIVED), last.as_bytes()) {
        tracing::warn!(target: "barman.wal_archiver", "Failed to write last archived WAL file name to cache file {}: {e}", meta.join(LAST_ARCHIVED).display());
    }
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}
