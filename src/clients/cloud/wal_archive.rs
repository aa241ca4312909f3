//! `barman-cloud-wal-archive`: PostgreSQL's `archive_command` (or a Barman
//! `archive_script` pre hook) shipping one WAL file to object storage, as
//! `<path>/<server>/wals/<hash dir>/<name>[.gz|.bz2|.xz|.snappy|.zst|.lz4]` (history files
//! straight under `wals/`).

use super::{CommonArgs, Log};
use crate::adapters::cloud::CloudStore;
use crate::adapters::codec::Codec;
use crate::app::exit::exit_code;
use crate::core::config::value::compression_level_text;
use crate::core::wal_name::WalFileName;
use crate::error::ExitKind;
use bytes::Bytes;
use clap::Parser;
use std::path::Path;
use std::process::ExitCode;

/// Command line of `barman-cloud-wal-archive`.
#[derive(Debug, Parser)]
#[command(
    name = "barman-cloud-wal-archive",
    version = crate::BARMAN_VERSION,
    disable_help_flag = true,
    about = "This script can be used in the `archive_command` of a PostgreSQL server to ship WAL files to the Cloud. Currently AWS S3 and S3-compatible servers are supported (Azure Blob Storage and Google Cloud Storage are not built yet)."
)]
pub struct Args {
    /// URL of the cloud destination, such as a bucket in AWS S3. For example:
    /// `s3://bucket/path/to/folder`.
    pub destination_url: String,
    /// the name of the server as configured in Barman.
    pub server_name: String,
    /// the value of the '%p' keyword (according to 'archive_command').
    pub wal_path: Option<String>,
    /// Options shared by the barman-cloud tools.
    #[command(flatten)]
    pub common: CommonArgs,
    /// gzip-compress the WAL while uploading to the cloud
    #[arg(short = 'z', long = "gzip", group = "compression")]
    pub gzip: bool,
    /// bzip2-compress the WAL while uploading to the cloud
    #[arg(short = 'j', long = "bzip2", group = "compression")]
    pub bzip2: bool,
    /// xz-compress the WAL while uploading to the cloud
    #[arg(long, group = "compression")]
    pub xz: bool,
    /// snappy-compress the WAL while uploading to the cloud
    #[arg(long, group = "compression")]
    pub snappy: bool,
    /// zstd-compress the WAL while uploading to the cloud
    #[arg(long, group = "compression")]
    pub zstd: bool,
    /// lz4-compress the WAL while uploading to the cloud
    #[arg(long, group = "compression")]
    pub lz4: bool,
    /// A compression level for the specified compression algorithm
    #[arg(long = "compression-level", value_parser = compression_level_text)]
    pub compression_level: Option<String>,
    /// Tags to be added to all uploaded files in cloud storage
    #[arg(long = "tags", num_args = 0.., value_parser = parse_csv_tag, conflicts_with = "tag")]
    pub tags: Option<Vec<(String, String)>>,
    /// Tags to be added to archived WAL files in cloud storage
    #[arg(long = "tag", value_parser = check_tag)]
    pub tag: Vec<(String, String)>,
    /// Tags to be added to archived history files in cloud storage
    #[arg(
        long = "history-tags",
        num_args = 0..,
        value_parser = parse_csv_tag,
        conflicts_with = "history_tag"
    )]
    pub history_tags: Option<Vec<(String, String)>>,
    /// Tags to be added to archived history files in cloud storage
    #[arg(long = "history-tag", value_parser = check_tag)]
    pub history_tag: Vec<(String, String)>,
    /// The encryption algorithm used when storing the uploaded data in S3. Allowed values:
    /// 'AES256'|'aws:kms'.
    #[arg(
        short = 'e',
        long,
        value_name = "ENCRYPTION",
        value_parser = ["AES256", "aws:kms"],
        help_heading = "Extra options for the aws-s3 cloud provider"
    )]
    pub encryption: Option<String>,
    /// The AWS KMS key ID that should be used for encrypting the uploaded data in S3. Only
    /// allowed if `-e/--encryption` is set to `aws:kms`.
    #[arg(
        long = "sse-kms-key-id",
        help_heading = "Extra options for the aws-s3 cloud provider"
    )]
    pub sse_kms_key_id: Option<String>,
    /// Path to a file containing the customer-provided encryption key (SSE-C) (not
    /// supported yet)
    #[arg(
        long = "sse-customer-key",
        help_heading = "Extra options for the aws-s3 cloud provider"
    )]
    pub sse_customer_key: Option<String>,
}

impl Args {
    fn codec(&self) -> Option<(Codec, &'static str)> {
        [
            (self.gzip, Codec::Gzip, "gz"),
            (self.bzip2, Codec::Bzip2, "bz2"),
            (self.xz, Codec::Xz, "xz"),
            (self.snappy, Codec::Snappy, "snappy"),
            (self.zstd, Codec::Zstd, "zst"),
            (self.lz4, Codec::Lz4, "lz4"),
        ]
        .into_iter()
        .find_map(|(on, codec, suffix)| on.then_some((codec, suffix)))
    }

    /// The object tags for `name`: Barman's `--tag` list or else `--tags`; history files
    /// take `--history-tag`/`--history-tags` when given.
    fn tags_for(&self, name: &WalFileName) -> Vec<(String, String)> {
        let pick = |append: &Vec<(String, String)>, list: &Option<Vec<(String, String)>>| {
            if append.is_empty() {
                list.clone().unwrap_or_default()
            } else {
                append.clone()
            }
        };
        let history = pick(&self.history_tag, &self.history_tags);
        if matches!(name, WalFileName::History(_)) && !history.is_empty() {
            history
        } else {
            pick(&self.tag, &self.tags)
        }
    }
}

/// Why an archive run stopped (before `ExitKind`).
struct Failure(ExitKind, String);

/// Run the client.
pub fn run(args: Args) -> ExitCode {
    let log = args.common.log();
    match archive(&args, log) {
        Ok(code) => code,
        Err(Failure(kind, message)) => {
            log.error(&message);
            exit_code(kind)
        }
    }
}

fn archive(args: &Args, log: Log) -> Result<ExitCode, Failure> {
    let wal_path = wal_path(args)?;
    let base = Path::new(&wal_path)
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let Ok(name) = base.parse::<WalFileName>() else {
        return Err(Failure(
            ExitKind::CloudUsage,
            format!("{wal_path} is an invalid name for a WAL file"),
        ));
    };
    let general = |e: &dyn std::fmt::Display| {
        Failure(
            ExitKind::CloudGeneral,
            format!("Barman cloud WAL archiver exception: {e}"),
        )
    };
    let mut options = args.common.options();
    if args.sse_kms_key_id.is_some() && args.encryption.as_deref() != Some("aws:kms") {
        return Err(general(
            &"Encryption type must be \"aws:kms\" if SSE KMS Key ID is specified",
        ));
    }
    options.encryption = args.encryption.clone();
    options.sse_kms_key_id = args.sse_kms_key_id.clone();
    options.sse_customer_key = args.sse_customer_key.clone();
    let store =
        super::open_store(&args.common, &args.destination_url, options).map_err(|e| general(&e))?;
    if args.common.test {
        return Ok(super::verify(&store, log));
    }
    let codec = args.codec().map(|(codec, _)| codec);
    let level = args.compression_level.as_deref().unwrap_or("medium");
    let data = read_wal(Path::new(&wal_path), codec.as_ref(), level).map_err(|e| general(&e))?;
    let key = object_key(&store, &args.server_name, &name, codec.as_ref());
    log.debug(&format!("Uploading {wal_path} to {key}"));
    store
        .put(&key, data, &args.tags_for(&name))
        .map_err(|e| general(&e))?;
    Ok(ExitCode::SUCCESS)
}

/// The WAL file: the argument, or `BARMAN_FILE` when run as Barman's archive hook.
fn wal_path(args: &Args) -> Result<String, Failure> {
    let hook = std::env::var("BARMAN_HOOK").ok();
    let phase = std::env::var("BARMAN_PHASE").ok();
    // Barman raises these uncaught: Python exits 1.
    let uncaught = |m: String| Failure(ExitKind::Failure, m);
    if let (Some(hook), Some(phase)) = (hook, phase) {
        if !matches!(hook.as_str(), "archive_script" | "archive_retry_script") || phase != "pre" {
            return Err(uncaught(format!(
                "barman-cloud-wal-archive called as unsupported hook script: {phase}_{hook}"
            )));
        }
        return std::env::var("BARMAN_FILE")
            .map_err(|_| uncaught("Expected environment variable BARMAN_FILE not set".into()));
    }
    args.wal_path
        .clone()
        .ok_or_else(|| uncaught("the following arguments are required: wal_path".into()))
}

/// The object key of WAL `name` of `server_name` stored with `codec`:
/// `<path>/<server>/wals/<hash dir>/<name>[.gz|.bz2|.xz|.snappy|.zst|.lz4]`, the layout
/// barman-cloud-wal-archive and Barman's own cloud WAL storage share.
pub fn object_key(
    store: &CloudStore,
    server_name: &str,
    name: &WalFileName,
    codec: Option<&Codec>,
) -> String {
    let object = match codec.and_then(suffix) {
        Some(suffix) => format!("{name}.{suffix}"),
        None => name.to_string(),
    };
    store
        .url
        .key(&[server_name, "wals", &name.hash_dir(), &object])
}

/// The object suffix of the codecs barman-cloud compresses WALs with in memory (Barman's
/// `InternalCompressor.EXTENSION`); `None` for the others (pigz, custom).
pub fn suffix(codec: &Codec) -> Option<&'static str> {
    match codec {
        Codec::Gzip => Some("gz"),
        Codec::Bzip2 => Some("bz2"),
        Codec::Xz => Some("xz"),
        Codec::Snappy => Some("snappy"),
        Codec::Zstd => Some("zst"),
        Codec::Lz4 => Some("lz4"),
        Codec::Pigz | Codec::Custom { .. } => None,
    }
}

/// The file's bytes, compressed with `codec` at `compression_level` (`low`, `medium`,
/// `high` or a number) when one is given.
///
/// The file is mapped, not read: a 16 MiB segment read into a fresh buffer cost ~10 ms of
/// page zeroing and copying, a fifth of a per-WAL archive's CPU time; the mapping shares
/// the page cache's pages. PostgreSQL neither truncates nor recycles a segment before its
/// `archive_command` has succeeded, so the mapping stays valid while it is used.
pub fn read_wal(
    wal_path: &Path,
    codec: Option<&Codec>,
    compression_level: &str,
) -> Result<Bytes, String> {
    let cannot = |e: std::io::Error| format!("{e}: '{}'", wal_path.display());
    let file = std::fs::File::open(wal_path).map_err(cannot)?;
    let plain = if file.metadata().map_err(cannot)?.len() == 0 {
        Bytes::new()
    } else {
        // SAFETY: the file is not truncated while mapped (see above); a concurrent writer
        // could only change bytes we then upload, as a read would have.
        let map = unsafe { memmap2::MmapOptions::new().populate().map(&file) }.map_err(cannot)?;
        Bytes::from_owner(map)
    };
    let Some(codec) = codec else {
        return Ok(plain);
    };
    let level = codec.level(compression_level);
    let mut out = Vec::with_capacity(plain.len() / 2);
    codec
        .compress(level, &mut plain.as_ref(), &mut out)
        .map_err(|e| format!("compression failed: {e}"))?;
    Ok(Bytes::from(out))
}

/// `--tags` items: one CSV row of exactly two fields (barman-cloud's `__parse_tag`).
pub(crate) fn parse_csv_tag(tag: &str) -> Result<(String, String), String> {
    let mut fields = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = tag.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted && chars.peek() == Some(&'"') => {
                field.push('"');
                chars.next();
            }
            '"' => quoted = !quoted,
            ',' if !quoted => fields.push(std::mem::take(&mut field)),
            c => field.push(c),
        }
    }
    fields.push(field);
    match <[String; 2]>::try_from(fields) {
        Ok([key, value]) => Ok((key, value)),
        Err(_) => Err(format!("Invalid tag format: {tag}")),
    }
}

/// `--tag key,value` (Barman's `check_tag`: AWS's limits on keys and values).
pub(crate) fn check_tag(tag: &str) -> Result<(String, String), String> {
    let (key, value) = tag
        .split_once(',')
        .ok_or("Invalid tag format. Expected 'key,value'.")?;
    let (key, value) = (key.trim(), value.trim());
    let allowed = |s: &str| {
        s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c.is_whitespace() || "_.:/=+-@".contains(c))
    };
    if !(1..=128).contains(&key.chars().count()) {
        return Err("Tag key must be between 1 and 128 characters.".into());
    }
    if key.to_lowercase().starts_with("aws:") {
        return Err("Tag key cannot start with the reserved prefix 'aws:'.".into());
    }
    if !allowed(key) {
        return Err("Tag key contains invalid characters. Allowed are letters, numbers, spaces, and _.:/=+-@".into());
    }
    if value.chars().count() > 256 {
        return Err("Tag value must be 256 characters or less.".into());
    }
    if !allowed(value) {
        return Err("Tag value contains invalid characters. Allowed are letters, numbers, spaces, and _.:/=+-@".into());
    }
    Ok((key.to_string(), value.to_string()))
}
