//! Barman 3.20's own cloud WAL storage (`wals_directory = s3://…`): `barman
//! cloud-wal-archive` (PostgreSQL's `archive_command` for `backup_method = local-to-cloud`)
//! and `barman cloud-wal-restore` (the `restore_command` of a recovery), over the object
//! layout and code of the barman-cloud WAL tools (`clients::cloud`), with Barman's
//! messages, exit codes and its local `<server>-xlog.db` (in `meta/` unless moved).
//!
//! It owns the server → store mapping (`get_cloud_interface_from_server_config`); it does
//! not print object data nor touch the local WAL archive.

mod archive;
mod incoming;

pub use archive::{archive, ArchiveRequest};
pub use incoming::{archive_files, CloudBatch};

use super::{select, Context};
use crate::adapters::cloud::{AwsFiles, CloudError, CloudOptions, CloudProvider, CloudStore};
use crate::clients::cloud::wal_restore::{self, Fetch, FetchError};
use crate::clients::cloud::Log;
use crate::core::config::ServerConfig;
use crate::core::wal_name::WalFileName;
use crate::error::ExitKind;
use crate::output::Output;
use std::path::{Path, PathBuf};

/// `barman cloud-wal-restore SERVER WAL_NAME WAL_DEST`.
#[derive(Debug, Clone)]
pub struct RestoreRequest {
    /// `%f`.
    pub wal_name: String,
    /// `%p`.
    pub wal_dest: PathBuf,
    /// `-p/--parallel` (default: `cloud_wal_restore_parallel`).
    pub parallel: Option<i64>,
    /// `--spool-dir`.
    pub spool_dir: PathBuf,
}

/// The cloud provider of a storage URL (Barman's `recognize_cloud_provider`).
pub(crate) fn provider_of(url: &str) -> CloudProvider {
    if url.starts_with("s3://") {
        CloudProvider::AwsS3
    } else if url.starts_with("gs://") {
        CloudProvider::GoogleCloudStorage
    } else {
        CloudProvider::AzureBlobStorage
    }
}

/// The store behind `url` as the server's `aws_*` options describe it; the endpoint,
/// credentials and region come from the environment as boto3 finds them, `aws_region`
/// overriding the region.
pub fn open_store(server: &ServerConfig, url: &str) -> Result<CloudStore, CloudError> {
    let options = CloudOptions {
        endpoint_url: None,
        profile: server.aws_profile().map(str::to_string),
        read_timeout: server
            .aws_read_timeout()
            .and_then(|t| u64::try_from(t).ok()),
        addressing_style: None,
        encryption: server.aws_encryption().map(str::to_string),
        sse_kms_key_id: server.aws_sse_kms_key_id().map(str::to_string),
        sse_customer_key: server.aws_sse_customer_key().map(str::to_string),
    };
    let mut files = AwsFiles::from_env();
    if let Some(region) = server.aws_region() {
        files.env_region = Some(region.to_string());
    }
    CloudStore::open(provider_of(url), url, &options, &files)
}

/// True when `path` names a WAL-like file (Barman's `is_any_xlog_file`).
fn is_wal_file(path: &Path) -> bool {
    path.file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n.parse::<WalFileName>().is_ok())
}

/// Run `barman cloud-wal-restore` (Barman's `cli.cloud_wal_restore` and
/// `BackupManager.cloud_wal_restore`): the WAL is looked up as barman-cloud-wal-restore
/// looks it up, partial files included; a missing WAL exits 1 with the reason in the log
/// only, as Barman's `OperationErrorExit` does.
pub fn restore(
    ctx: &Context,
    out: &mut Output,
    server_name: &str,
    request: &RestoreRequest,
) -> crate::Result<()> {
    if !is_wal_file(Path::new(&request.wal_name)) {
        out.error(&format!(
            "File is not a valid WAL file: {}",
            request.wal_name
        ));
        return Ok(());
    }
    let policy = select::Policy {
        inactive_is_error: false,
        skip_inactive: false,
        disabled_is_error: true,
    };
    let Some(server) = select::single(&ctx.config, server_name, out, policy) else {
        return Ok(());
    };
    if !server.uses_wal_cloud_storage() {
        out.error(&format!(
            "cloud-wal-restore is not supported for server {} because no cloud storage \
             configuration is set in 'wals_directory'. Please check the configuration of \
             the server.",
            server.name()
        ));
        return Ok(());
    }
    let parallel = request
        .parallel
        .or(server.cloud_wal_restore_parallel())
        .unwrap_or(0);
    let store = open_store(server, server.wals_dir()).map_err(uncaught)?;
    let fetch = Fetch {
        server_name: server.name(),
        wal_name: &request.wal_name,
        wal_dest: &request.wal_dest,
        no_partial: false,
        parallel,
        spool_dir: &request.spool_dir,
    };
    match wal_restore::fetch(&store, &fetch, Log::barman()) {
        Ok(()) => Ok(()),
        Err(FetchError::NotFound) => {
            out.set_errored();
            Ok(())
        }
        Err(FetchError::Spool(_)) => {
            out.set_exit_kind(ExitKind::CloudNetwork);
            out.set_errored();
            Ok(())
        }
        Err(FetchError::Cloud(e)) => Err(uncaught(e)),
    }
}

/// A cloud failure Barman does not catch: `EXCEPTION: <message>`.
fn uncaught(e: CloudError) -> crate::Error {
    crate::Error::Uncaught(e.to_string())
}
