//! `archive-wal` (and `cron`) for a server whose WALs are in the cloud: the files in
//! `incoming/` or `streaming/` go to the bucket instead of `wals/` (Barman's
//! `FileWalArchiver` with its `CloudWalStorageStrategy`), compressed in memory with
//! `compression`; the xlog.db line records the stored size and compression. An identical
//! object already there drops the file; a different one sends it to `errors/`.

use super::archive::{same_as_stored, target, with_hooks};
use super::open_store;
use crate::adapters::catalog::{store, wal_archive, xlog_db};
use crate::adapters::durable;
use crate::clients::cloud::wal_archive::{object_key, read_wal};
use crate::commands::hooks::Hooks;
use crate::core::config::ServerConfig;
use crate::core::wal_name::WalFileName;
use crate::output::Output;
use std::path::Path;

/// One batch of files waiting in a folder.
pub struct CloudBatch<'a> {
    /// The server.
    pub server: &'a ServerConfig,
    /// `barman_lock_directory`.
    pub lock_dir: &'a Path,
    /// `incoming/` or `streaming/`.
    pub dir: &'a Path,
    /// File names, in archive order.
    pub files: &'a [String],
    /// `errors/`.
    pub errors_dir: &'a Path,
    /// The UTC stamp of error file names.
    pub stamp: &'a str,
    /// The archive hooks, when any is configured.
    pub hooks: Option<Hooks<'a>>,
}

/// Archive the batch's files to the server's cloud `wals_directory`, in order.
pub fn archive_files(out: &mut Output, batch: &CloudBatch) -> crate::Result<()> {
    if batch.files.is_empty() {
        return Ok(());
    }
    let server = batch.server;
    let dirs = crate::commands::status::server_dirs(server);
    let mut target = target(server)?;
    target.hooks = batch.hooks;
    let uncaught = |e: &dyn std::fmt::Display| crate::Error::Uncaught(e.to_string());
    let store = open_store(server, server.wals_dir()).map_err(|e| uncaught(&e))?;
    for file in batch.files {
        out.info_unlogged(&format!("\t{file}"));
        let path = batch.dir.join(file);
        let name: WalFileName = file.parse().map_err(|e| uncaught(&e))?;
        let mut entry = store::wal_file_info(&path, file)?;
        let data =
            read_wal(&path, target.codec.as_ref(), &target.level).map_err(|e| uncaught(&e))?;
        let key = object_key(&store, server.name(), &name, target.codec.as_ref());
        if target.codec.is_some() {
            entry.size = data.len() as u64;
            entry.compression = server.compression().map(str::to_string);
        }
        let stored_size = target.codec.as_ref().map(|_| data.len() as u64);
        let stored = with_hooks(&target, &path, stored_size, || {
            store.put_if_absent(&key, data).map_err(|e| e.to_string())
        });
        if stored.map_err(|e| uncaught(&e))? {
            // Listed before the source goes: a crash in between leaves a file that the
            // next run finds identical in the bucket and simply drops.
            xlog_db::append(&dirs, batch.lock_dir, &[entry])?;
        } else if !same_as_stored(&store, &key, target.codec.as_ref(), &path)
            .map_err(|e| uncaught(&e))?
        {
            wal_archive::move_to_errors(batch.errors_dir, &path, "duplicate", batch.stamp)?;
            out.info_unlogged(&format!(
                "\tError: {file} is already present in server {}. File moved to errors directory.",
                server.name()
            ));
            continue;
        }
        std::fs::remove_file(&path).map_err(|e| uncaught(&e))?;
        durable::fsync_dir(batch.dir).map_err(|e| uncaught(&e))?;
    }
    Ok(())
}
