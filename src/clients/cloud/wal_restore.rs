//! `barman-cloud-wal-restore`: PostgreSQL's `restore_command` fetching one WAL file from
//! object storage whatever compression suffix it was archived with, as Barman's
//! `CloudWalDownloader` does: a complete segment wins over its `.partial`, `--no-partial`
//! skips partial files, `-p N` fetches the next N-1 segments of the same folder into the
//! spool directory, where the next call finds them.

use super::{CommonArgs, Log};
use crate::adapters::cloud::{CloudError, CloudStore};
use crate::adapters::codec::Codec;
use crate::adapters::durable;
use crate::app::exit::exit_code;
use crate::core::wal_name::WalFileName;
use crate::error::ExitKind;
use clap::Parser;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Barman's default spool folder for prefetched WAL files.
pub const DEFAULT_SPOOL_DIR: &str = "/var/tmp/walrestore";

/// The suffixes barman-cloud archives with and their codecs (`ALLOWED_COMPRESSIONS`).
const SUFFIXES: [(&str, Codec); 6] = [
    (".gz", Codec::Gzip),
    (".bz2", Codec::Bzip2),
    (".xz", Codec::Xz),
    (".snappy", Codec::Snappy),
    (".zst", Codec::Zstd),
    (".lz4", Codec::Lz4),
];

/// Command line of `barman-cloud-wal-restore`.
#[derive(Debug, Parser)]
#[command(
    name = "barman-cloud-wal-restore",
    version = crate::BARMAN_VERSION,
    disable_help_flag = true,
    about = "This script can be used as a `restore_command` to download WAL files previously archived with barman-cloud-wal-archive command. Currently AWS S3 and S3-compatible servers are supported (Azure Blob Storage and Google Cloud Storage are not built yet)."
)]
pub struct Args {
    /// URL of the cloud source, such as a bucket in AWS S3. For example:
    /// `s3://bucket/path/to/folder`.
    pub source_url: String,
    /// the name of the server as configured in Barman.
    pub server_name: String,
    /// The value of the '%f' keyword (according to 'restore_command').
    pub wal_name: String,
    /// The value of the '%p' keyword (according to 'restore_command').
    pub wal_dest: PathBuf,
    /// Options shared by the barman-cloud tools.
    #[command(flatten)]
    pub common: CommonArgs,
    /// Path to a file containing the customer-provided encryption key (SSE-C) (not
    /// supported yet)
    #[arg(
        long = "sse-customer-key",
        help_heading = "Extra options for the aws-s3 cloud provider"
    )]
    pub sse_customer_key: Option<String>,
    /// Do not download partial WAL files
    #[arg(long = "no-partial")]
    pub no_partial: bool,
    /// Specifies the number of files to peek and download in parallel. Default is 0
    /// (disabled)
    #[arg(short = 'p', long, default_value_t = 0, allow_negative_numbers = true)]
    pub parallel: i64,
    /// Specifies a spool directory for extra WAL files that are downloaded in parallel.
    /// Defaults to '/var/tmp/walrestore'.
    #[arg(long = "spool-dir", value_name = "SPOOL_DIR", default_value = DEFAULT_SPOOL_DIR)]
    pub spool_dir: PathBuf,
}

/// Why a restore run stopped.
struct Failure(ExitKind, String);

/// One WAL to fetch: the typed options of barman-cloud-wal-restore, shared with Barman's
/// own `barman cloud-wal-restore` (Barman's `CloudWalDownloader.download_wal`).
#[derive(Debug, Clone, Copy)]
pub struct Fetch<'a> {
    /// The server's folder under the store's path.
    pub server_name: &'a str,
    /// `%f`.
    pub wal_name: &'a str,
    /// `%p`.
    pub wal_dest: &'a Path,
    /// Skip `.partial` files.
    pub no_partial: bool,
    /// Files to fetch at once (the requested one and `parallel - 1` more into the spool).
    pub parallel: i64,
    /// Where prefetched files wait for the next call.
    pub spool_dir: &'a Path,
}

/// Why a fetch failed.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    /// The requested WAL is not in the store (logged already).
    #[error("WAL file not found")]
    NotFound,
    /// The spool folder could not be created or a spooled file moved (logged already).
    #[error("{0}")]
    Spool(String),
    /// The store failed.
    #[error("{0}")]
    Cloud(#[from] CloudError),
}

/// Run the client.
pub fn run(args: Args) -> ExitCode {
    let log = args.common.log();
    match restore(&args, log) {
        Ok(code) => code,
        Err(Failure(kind, message)) => {
            log.error(&message);
            exit_code(kind)
        }
    }
}

/// barman-cloud's handler for exceptions: network errors exit 2, the rest 4.
fn exception(e: &CloudError) -> Failure {
    let kind = match e.is_connectivity() {
        true => ExitKind::CloudNetwork,
        false => ExitKind::CloudGeneral,
    };
    Failure(kind, format!("Barman cloud WAL restore exception: {e}"))
}

fn restore(args: &Args, log: Log) -> Result<ExitCode, Failure> {
    let base = Path::new(&args.wal_name)
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    if base.parse::<WalFileName>().is_err() {
        return Err(Failure(
            ExitKind::CloudUsage,
            format!("{} is an invalid name for a WAL file", args.wal_name),
        ));
    }
    let mut options = args.common.options();
    options.sse_customer_key = args.sse_customer_key.clone();
    let store =
        super::open_store(&args.common, &args.source_url, options).map_err(|e| exception(&e))?;
    if args.common.test {
        return Ok(super::verify(&store, log));
    }
    let request = Fetch {
        server_name: &args.server_name,
        wal_name: &args.wal_name,
        wal_dest: &args.wal_dest,
        no_partial: args.no_partial,
        parallel: args.parallel,
        spool_dir: &args.spool_dir,
    };
    match fetch(&store, &request, log) {
        Ok(()) => Ok(ExitCode::SUCCESS),
        Err(FetchError::NotFound) => Ok(exit_code(ExitKind::CloudOperation)),
        Err(FetchError::Spool(_)) => Ok(exit_code(ExitKind::CloudNetwork)),
        Err(FetchError::Cloud(e)) => Err(exception(&e)),
    }
}

/// Deliver `request.wal_name` to `request.wal_dest`: from the spool when an earlier call
/// prefetched it, else from the store (decompressed by its suffix), prefetching the next
/// files of the same folder into the spool when `parallel > 1`.
///
/// # Errors
/// [`FetchError::NotFound`] when the store does not hold it; the spool or the store
/// failing otherwise.
pub fn fetch(store: &CloudStore, request: &Fetch, log: Log) -> Result<(), FetchError> {
    let Ok(name) = base_name(request.wal_name).parse::<WalFileName>() else {
        log.error(&format!(
            "WAL file {} for server {} does not exist",
            request.wal_name, request.server_name
        ));
        return Err(FetchError::NotFound);
    };
    if deliver_from_spool(request, log)? {
        return Ok(());
    }
    let mut wanted = to_download(store, request, &name, log)?;
    if wanted.is_empty() {
        log.error(&format!(
            "WAL file {} for server {} does not exist",
            request.wal_name, request.server_name
        ));
        return Err(FetchError::NotFound);
    }
    let requested = wanted.remove(0);
    if !wanted.is_empty() && !request.spool_dir.exists() {
        log.info(&format!(
            "Creating spool directory {}",
            request.spool_dir.display()
        ));
        if let Err(e) = durable::create_dir_all_durable(request.spool_dir) {
            let message = format!(
                "Cannot create {} directory: {e}",
                request.spool_dir.display()
            );
            log.error(&message);
            return Err(FetchError::Spool(message));
        }
    }
    download(store, &requested, request.wal_dest, log)?;
    for key in wanted {
        let file = strip_suffix(key.rsplit('/').next().unwrap_or(&key)).replace(".partial", "");
        // Prefetching is best effort: the requested file is already delivered.
        let _ = download(store, &key, &request.spool_dir.join(file), log);
    }
    Ok(())
}

fn base_name(path: &str) -> String {
    Path::new(path)
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// A file prefetched by an earlier call: moved to the destination (exit 2 when it cannot).
fn deliver_from_spool(request: &Fetch, log: Log) -> Result<bool, FetchError> {
    let spooled = request.spool_dir.join(request.wal_name);
    if !spooled.is_file() {
        return Ok(false);
    }
    log.debug(&format!(
        "Moving WAL file {} for server {} from spool to destination {}",
        request.wal_name,
        request.server_name,
        request.wal_dest.display()
    ));
    let moved = durable::rename_durable(&spooled, request.wal_dest).or_else(|_| {
        let bytes = std::fs::read(&spooled)?;
        durable::write_atomic(request.wal_dest, &bytes)?;
        std::fs::remove_file(&spooled)
    });
    moved.map(|_| true).map_err(|e| {
        let message = format!(
            "Failure moving {} to {}: {e}",
            spooled.display(),
            request.wal_dest.display()
        );
        log.error(&message);
        FetchError::Spool(message)
    })
}

/// The keys to fetch, the requested one first; empty when it is not archived.
fn to_download(
    store: &CloudStore,
    args: &Fetch,
    name: &WalFileName,
    log: Log,
) -> Result<Vec<String>, CloudError> {
    let mut folder = store.url.key(&[args.server_name, "wals", &name.hash_dir()]);
    folder.push('/');
    let parallel = if matches!(name, WalFileName::History(_)) {
        0
    } else {
        args.parallel
    };
    let requested_path = format!("{folder}{}", args.wal_name);
    let prefix = if parallel > 1 {
        &folder
    } else {
        &requested_path
    };
    let partial = format!("{}.partial", args.wal_name);
    let mut found = false;
    let mut keys: Vec<String> = Vec::new();
    for key in store.list(prefix)? {
        let base = strip_suffix(key.rsplit('/').next().unwrap_or(&key));
        let is_requested = base == args.wal_name || base == partial;
        if !(is_requested || (key > requested_path && (keys.len() as i64) < parallel)) {
            continue;
        }
        if !valid(base, args.no_partial, log) {
            continue;
        }
        found |= is_requested;
        log.info(&format!(
            "Found WAL {} for server {} as {key}",
            key.rsplit('/').next().unwrap_or(&key),
            args.server_name
        ));
        keys.push(key);
    }
    if !found {
        return Ok(Vec::new());
    }
    // A segment and its .partial: the complete one prevails.
    let complete: Vec<String> = keys.clone();
    keys.retain(|k| {
        !(strip_suffix(k).ends_with(".partial") && complete.contains(&k.replace(".partial", "")))
    });
    Ok(keys)
}

/// Barman's `_validate_wal_path`: a WAL name, not a backup label, not partial if refused.
fn valid(base: &str, no_partial: bool, log: Log) -> bool {
    match base.parse::<WalFileName>() {
        Err(_) => false,
        Ok(WalFileName::BackupLabel { .. }) => {
            log.info(&format!("Skipping backup file: {base}"));
            false
        }
        Ok(WalFileName::Partial(_)) if no_partial => {
            log.info(&format!("Skipping partial file: {base}"));
            false
        }
        Ok(_) => true,
    }
}

/// `name` without a barman-cloud compression suffix.
fn strip_suffix(name: &str) -> &str {
    SUFFIXES
        .iter()
        .find_map(|(suffix, _)| name.strip_suffix(suffix))
        .unwrap_or(name)
}

/// Fetch `key`, decompress it by its suffix and write it durably at `dest`.
fn download(store: &CloudStore, key: &str, dest: &Path, log: Log) -> Result<(), CloudError> {
    let codec = SUFFIXES
        .iter()
        .find(|(suffix, _)| key.ends_with(suffix))
        .map(|(_, codec)| codec);
    log.debug(&format!("Downloading {key} to {}", dest.display()));
    let failure = |e: &dyn std::fmt::Display| {
        CloudError::Other(format!(
            "Failure downloading WAL {key} to {}: {e}",
            dest.display()
        ))
    };
    let data = store
        .get(key)?
        .ok_or_else(|| failure(&"the object is gone"))?;
    let plain = match codec {
        None => data,
        Some(codec) => {
            let mut out = Vec::with_capacity(data.len() * 2);
            codec
                .decompress(&mut data.as_slice(), &mut out)
                .map_err(|e| failure(&e))?;
            out
        }
    };
    durable::write_atomic(dest, &plain).map_err(|e| failure(&e))
}
