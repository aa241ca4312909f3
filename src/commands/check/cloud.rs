//! The `cloud storage configuration` check (Barman's
//! `Server.check_cloud_storage_configuration`), shown only for servers whose backups or
//! WALs live in the cloud: settings the cloud storage cannot honour, then whether each
//! store answers.

use super::catalogue::{Probe, Recorder};
use crate::commands::cloud_wal::open_store;
use crate::core::config::ServerConfig;

/// `cloud storage configuration`: OK, or FAILED with the first problem.
pub(super) fn check_cloud_storage(p: &mut Probe, rec: &mut Recorder) {
    let server = p.server;
    let (backups, wals) = (
        server.uses_backup_cloud_storage(),
        server.uses_wal_cloud_storage(),
    );
    if !backups && !wals {
        return;
    }
    rec.init("cloud storage configuration");
    match problem(server, backups, wals) {
        Some(hint) => rec.result(false, Some(hint)),
        None => rec.result(true, None),
    }
}

/// The first setting the cloud storage cannot honour, or the store that does not answer.
fn problem(server: &ServerConfig, backups: bool, wals: bool) -> Option<String> {
    if backups && !matches!(server.backup_compression(), None | Some("none")) {
        return Some(
            "compression is not supported when the backup destination is a cloud storage".into(),
        );
    }
    if let Some(compression) = server.compression().filter(|_| wals) {
        if !matches!(
            compression,
            "gzip" | "bzip2" | "pygzip" | "pybzip2" | "xz" | "zstd" | "lz4" | "snappy"
        ) {
            return Some(format!(
                "cloud WAL storage only supports in-memory compression algorithms (gzip, \
                 bzip2, xz, zstd, lz4, snappy). '{compression}' is not supported"
            ));
        }
    }
    if backups && crate::commands::encryption::configured(server) {
        return Some(
            "encryption is not supported when the backup destination is a cloud storage".into(),
        );
    }
    if backups && !matches!(server.method(), "local-to-cloud" | "postgres") {
        return Some(
            "cloud backup destination is only supported with 'backup_method = postgres' or \
             'backup_method = local-to-cloud'"
                .into(),
        );
    }
    if server.worm_mode() {
        return Some(
            "WORM mode is not supported when the backup or WAL destination is a cloud storage"
                .into(),
        );
    }
    let stores = [
        (backups, server.basebackups_dir(), "backup"),
        (wals, server.wals_dir(), "WAL"),
    ];
    for (used, url, what) in stores {
        if used && !reachable(server, url, what) {
            return Some(format!(
                "Could not connect to the cloud provider for {what} storage. Check your \
                 credentials and configuration"
            ));
        }
    }
    None
}

/// Barman's `test_connectivity`: the bucket may be missing, but the provider must answer.
fn reachable(server: &ServerConfig, url: &str, what: &str) -> bool {
    let answered = open_store(server, url).and_then(|store| store.bucket_exists());
    match answered {
        Ok(_) => true,
        Err(e) => {
            tracing::error!(target: "barman.server", "Exception occurred while testing cloud connectivity for {what} storage: {e}");
            false
        }
    }
}
