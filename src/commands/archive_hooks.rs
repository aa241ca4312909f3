//! `archive-wal` with archive hooks configured: files go one at a time, each wrapped in
//! `pre_archive_script`/`pre_archive_retry_script` and the post pair (Barman's
//! `WalStorageStrategy.save`). A pre retry hook exiting 63 stops the batch after the post
//! hooks of that file ran (they see the abort as `BARMAN_ERROR`).

use crate::adapters::catalog::layout::ServerDirs;
use crate::adapters::catalog::wal_archive::{self, Archived, Storage};
use crate::commands::hooks::{wal_facts, Hooks};
use crate::core::hooks::{HookFamily, Phase};
use crate::core::xlog_db::XlogDbEntry;
use std::path::Path;

/// What archiving one file came to.
pub enum Hooked {
    /// Archived (or already there): the catalog result.
    Done(Archived),
    /// It failed with this message.
    Failed(String),
    /// A pre retry hook asked to stop: the warning Barman logs.
    Stop(String),
}

/// The xlog db facts of a file waiting in incoming/ or streaming/.
fn source_entry(src: &Path, name: &str) -> XlogDbEntry {
    use std::os::unix::fs::MetadataExt;
    let meta = std::fs::metadata(src).ok();
    XlogDbEntry {
        name: name.to_string(),
        size: meta.as_ref().map_or(0, |m| m.len()),
        time: meta
            .as_ref()
            .map_or(0.0, |m| m.mtime() as f64 + m.mtime_nsec() as f64 * 1e-9),
        compression: None,
        encryption: None,
    }
}

/// Archive `file` of `dir` with its hooks.
pub fn archive_one(
    hooks: &Hooks,
    server_name: &str,
    dirs: &ServerDirs,
    lock_dir: &Path,
    dir: &Path,
    file: &str,
    storage: &Storage,
) -> Hooked {
    let src = dir.join(file);
    let pre = source_entry(&src, file);
    let wal = match file.parse::<crate::core::wal_name::WalFileName>() {
        Ok(wal) => wal,
        Err(e) => return Hooked::Failed(e.to_string()),
    };
    let dst = wal_archive::archive_path(dirs, &wal);
    if let Err(abort) = hooks.wal(
        HookFamily::Archive,
        Phase::Pre,
        &wal_facts(&pre, &src),
        None,
    ) {
        let error = abort.to_string();
        let _ = hooks.wal(
            HookFamily::Archive,
            Phase::Post,
            &wal_facts(&pre, &dst),
            Some(&error),
        );
        return Hooked::Stop(format!(
            "Archiving of {server_name}/{file} aborted by pre_archive_retry_script.Reason: {error}"
        ));
    }
    let result = wal_archive::prepare(dirs, &src, &wal, storage)
        .and_then(|p| wal_archive::commit(dirs, lock_dir, p))
        .map_err(|e| e.to_string());
    let (post, error) = match &result {
        Ok(Archived::Stored(entry)) => (entry.clone(), None),
        Ok(Archived::AlreadyArchived) => (pre.clone(), Some(format!("{file} already archived"))),
        Ok(Archived::Duplicate) => (pre.clone(), Some(format!("{file} is a duplicate"))),
        Err(e) => (pre.clone(), Some(e.clone())),
    };
    let _ = hooks.wal(
        HookFamily::Archive,
        Phase::Post,
        &wal_facts(&post, &dst),
        error.as_deref(),
    );
    match result {
        Ok(archived) => Hooked::Done(archived),
        Err(e) => Hooked::Failed(e),
    }
}
