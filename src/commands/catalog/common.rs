//! What every catalog command needs about one server: its catalog loaded from disk, user
//! input resolved to a backup, previous/next backups, keep targets, retention statuses and
//! the WAL statistics of a backup (Barman's `BackupManager` + `Server` queries).

use crate::adapters::catalog::layout::ServerDirs;
use crate::adapters::catalog::{annotations, store, xlog_db};
use crate::commands::status::server_dirs;
use crate::core::backup_id::{self, BackupId, BackupSummary};
use crate::core::backup_info::Field;
use crate::core::backup_info::{BackupInfo, BackupStatus};
use crate::core::backup_wals::{self, Step, WalInfo};
use crate::core::config::ServerConfig;
use crate::core::retention::{self, KeepTarget, RetentionInput, RetentionStatus};
use crate::core::wal_segment_size::WalSegmentSize;
use crate::output::Output;
use chrono::{DateTime, FixedOffset};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// A server's catalog, loaded once per command.
pub struct ServerCatalog<'a> {
    /// The server's configuration.
    pub server: &'a ServerConfig,
    /// Its catalog paths.
    pub dirs: ServerDirs,
    /// `barman_lock_directory`.
    pub lock_dir: PathBuf,
    /// Every backup (all statuses), by id.
    pub backups: BTreeMap<BackupId, BackupInfo>,
    /// Backups whose `backup.info` cannot be read, with why (see
    /// [`store::UnreadableBackup`]): no WAL is removed while there is one.
    pub unreadable: Vec<(BackupId, String)>,
    /// The zone naive backup times are read in.
    pub local_offset: FixedOffset,
}

/// Barman's `backup_type` property (mode prefix, then parent id).
pub fn backup_type(info: &BackupInfo) -> &'static str {
    let mode = info.raw(Field::Mode).unwrap_or_default();
    if mode.starts_with("snapshot") {
        "snapshot"
    } else if mode.starts_with("rsync") {
        "rsync"
    } else if info.raw(Field::ParentBackupId).is_some() {
        "incremental"
    } else {
        "full"
    }
}

/// The oids of the backup's tablespaces (from `tablespaces`), as text.
pub fn tablespace_oids(info: &BackupInfo) -> Vec<String> {
    super::show_render::tablespace_list(info)
        .into_iter()
        .map(|(_, oid, _)| oid)
        .collect()
}

/// `children_backup_ids` as a list (`None` when null).
pub fn children(info: &BackupInfo) -> Option<Vec<String>> {
    info.raw(Field::ChildrenBackupIds)
        .map(|ids| ids.split(',').map(str::to_string).collect())
}

/// `xlog_segment_size` of a backup (16 MiB when absent or invalid).
pub fn segment_size(info: &BackupInfo) -> WalSegmentSize {
    info.int(Field::XlogSegmentSize)
        .and_then(|n| u64::try_from(n).ok())
        .and_then(|n| WalSegmentSize::new(n).ok())
        .unwrap_or_default()
}

impl<'a> ServerCatalog<'a> {
    /// Load the catalog of `server`.
    pub fn load(
        server: &'a ServerConfig,
        lock_dir: &Path,
        local_offset: FixedOffset,
    ) -> crate::Result<Self> {
        let dirs = server_dirs(server);
        let (backups, unreadable) = store::load_catalog(&dirs)?;
        let unreadable = unreadable
            .into_iter()
            .map(|bad| {
                tracing::warn!(target: "barman.backup", "Cannot read backup {} of server {}: {}", bad.id, server.name(), bad.error);
                (bad.id, bad.error.to_string())
            })
            .collect();
        Ok(ServerCatalog {
            server,
            dirs,
            lock_dir: lock_dir.to_path_buf(),
            backups,
            unreadable,
            local_offset,
        })
    }

    /// Resolve what the user typed to an existing backup id, printing Barman's error
    /// (`Unknown backup '<arg>' for server '<srv>'`, ambiguous names) when it cannot.
    pub fn resolve(&self, input: &str, out: &mut Output) -> Option<BackupId> {
        let summaries: Vec<BackupSummary> = self
            .backups
            .iter()
            .map(|(id, info)| BackupSummary {
                id: id.clone(),
                status: info.status(),
                backup_type: backup_type(info).to_string(),
                name: info.raw(Field::BackupName).map(str::to_string),
            })
            .collect();
        match backup_id::resolve(input, self.server.name(), &summaries) {
            Ok(id) if self.backups.contains_key(&id) => Some(id),
            Ok(_) => {
                out.error(&format!(
                    "Unknown backup '{input}' for server '{}'",
                    self.server.name()
                ));
                None
            }
            Err(e) => {
                out.error(&e.to_string());
                None
            }
        }
    }

    /// The backup's time field in its own zone.
    pub fn time(&self, info: &BackupInfo, field: Field) -> Option<DateTime<FixedOffset>> {
        info.time(field, self.local_offset)
    }

    /// The raw keep annotation (`None` when absent).
    pub fn keep_raw(&self, id: &BackupId) -> crate::Result<Option<String>> {
        Ok(annotations::read(&self.dirs, id, annotations::KEEP)?)
    }

    /// The keep target as retention reads it.
    pub fn keep_target(&self, id: &BackupId) -> crate::Result<Option<KeepTarget>> {
        Ok(self
            .keep_raw(id)?
            .and_then(|v| KeepTarget::from_annotation(&v)))
    }

    /// The previous (`forward` false) or next backup whose copy is done, from `id`.
    pub fn neighbour(&self, id: &BackupId, forward: bool) -> Option<&BackupId> {
        let done = |(_, info): &(&BackupId, &BackupInfo)| info.status().copy_done();
        if forward {
            self.backups
                .range::<BackupId, _>((std::ops::Bound::Excluded(id), std::ops::Bound::Unbounded))
                .find(done)
                .map(|(k, _)| k)
        } else {
            self.backups
                .range::<BackupId, _>((std::ops::Bound::Unbounded, std::ops::Bound::Excluded(id)))
                .rev()
                .find(done)
                .map(|(k, _)| k)
        }
    }

    /// Retention statuses of every non-EMPTY backup, `None` when no policy is enforced.
    pub fn retention(
        &self,
        now: DateTime<FixedOffset>,
    ) -> crate::Result<Option<BTreeMap<String, RetentionStatus>>> {
        let Some(policy) = self.server.retention_policy() else {
            return Ok(None);
        };
        let mut inputs = Vec::new();
        for (id, info) in &self.backups {
            if info.status() == BackupStatus::Empty {
                continue;
            }
            inputs.push(RetentionInput {
                id: id.to_string(),
                status: info.status(),
                end_time: self.time(info, Field::EndTime),
                keep: if info.status() == BackupStatus::Done {
                    self.keep_target(id)?
                } else {
                    None
                },
                parent: info.raw(Field::ParentBackupId).map(str::to_string),
                children: children(info),
            });
        }
        Ok(Some(retention::evaluate(
            policy,
            self.server.minimum_redundancy_count(),
            &inputs,
            now,
        )))
    }

    /// Make sure the xlog db exists (Barman rebuilds a missing one on first access).
    pub fn ensure_xlog_db(&self) -> crate::Result<()> {
        xlog_db::ensure(&self.dirs, &self.lock_dir).map_err(crate::Error::from)
    }

    /// Walk the WALs of `id` until the next backup (`get_wal_until_next_backup`).
    ///
    /// # Errors
    /// `Err(Ok(name))` for an xlog db name that is not a WAL name; `Err(Err(e))` for I/O.
    pub fn for_each_wal_until_next(
        &self,
        id: &BackupId,
        include_history: bool,
        mut visit: impl FnMut(&crate::core::xlog_db::XlogDbEntry),
    ) -> Result<(), Result<String, crate::Error>> {
        let Some(info) = self.backups.get(id) else {
            return Ok(());
        };
        let begin = info.raw(Field::BeginWal).unwrap_or_default().to_string();
        let next_end = self
            .neighbour(id, true)
            .and_then(|next| self.backups.get(next))
            .and_then(|next| next.raw(Field::EndWal))
            .map(str::to_string);
        self.ensure_xlog_db().map_err(Err)?;
        let mut failure = None;
        let mut stopped = false;
        store::for_each_wal(&self.dirs, |entry| {
            if stopped || failure.is_some() {
                return;
            }
            match backup_wals::until_next_step(
                &entry.name,
                &begin,
                next_end.as_deref(),
                include_history,
            ) {
                Ok(Step::Take) => visit(&entry),
                Ok(Step::Skip) => {}
                Ok(Step::Stop) => stopped = true,
                Err(name) => failure = Some(name),
            }
        })
        .map_err(|e| Err(e.into()))?;
        failure.map_or(Ok(()), |name| Err(Ok(name)))
    }

    /// `Server.get_wal_info` of a backup.
    pub fn wal_info(&self, id: &BackupId) -> Result<WalInfo, Result<String, crate::Error>> {
        let mut wal_info = WalInfo::default();
        let Some(info) = self.backups.get(id) else {
            return Ok(wal_info);
        };
        let begin = info.raw(Field::BeginWal).unwrap_or_default().to_string();
        let end = info.raw(Field::EndWal).unwrap_or_default().to_string();
        self.for_each_wal_until_next(id, false, |entry| wal_info.add(entry, &begin, &end))?;
        wal_info.finish(segment_size(info).bytes());
        Ok(wal_info)
    }

    /// [`Self::wal_info`] of every backup whose copy is done, in ONE pass over the xlog db
    /// (list-backups of a large catalog would otherwise read it once per backup, as Barman
    /// does). Each entry is offered only to the backups whose window has started: windows
    /// overlap only around backup boundaries, so the pass is linear in the db.
    ///
    /// # Errors
    /// As [`Self::wal_info`].
    pub fn all_wal_info(
        &self,
    ) -> Result<BTreeMap<BackupId, WalInfo>, Result<String, crate::Error>> {
        struct Window {
            id: BackupId,
            begin: String,
            end: String,
            next_end: Option<String>,
            info: WalInfo,
            stopped: bool,
        }
        let mut windows: Vec<Window> = self
            .backups
            .iter()
            .filter(|(_, info)| info.status().copy_done())
            .map(|(id, info)| Window {
                id: id.clone(),
                begin: info.raw(Field::BeginWal).unwrap_or_default().to_string(),
                end: info.raw(Field::EndWal).unwrap_or_default().to_string(),
                next_end: self
                    .neighbour(id, true)
                    .and_then(|next| self.backups.get(next))
                    .and_then(|next| next.raw(Field::EndWal))
                    .map(str::to_string),
                info: WalInfo::default(),
                stopped: false,
            })
            .collect();
        windows.sort_by(|a, b| a.begin.cmp(&b.begin));
        self.ensure_xlog_db().map_err(Err)?;
        let mut started = 0;
        let mut active: Vec<usize> = Vec::new();
        let mut failure = None;
        store::for_each_wal(&self.dirs, |entry| {
            if failure.is_some() {
                return;
            }
            while started < windows.len() && windows[started].begin.as_str() <= entry.name.as_str()
            {
                active.push(started);
                started += 1;
            }
            for &i in &active {
                let w = &mut windows[i];
                match backup_wals::until_next_step(
                    &entry.name,
                    &w.begin,
                    w.next_end.as_deref(),
                    false,
                ) {
                    Ok(Step::Take) => w.info.add(&entry, &w.begin, &w.end),
                    Ok(Step::Skip) => {}
                    Ok(Step::Stop) => w.stopped = true,
                    Err(name) => failure = Some(name),
                }
            }
            active.retain(|&i| !windows[i].stopped);
        })
        .map_err(|e| Err(e.into()))?;
        if let Some(name) = failure {
            return Err(Ok(name));
        }
        Ok(windows
            .into_iter()
            .map(|mut w| {
                let size = self
                    .backups
                    .get(&w.id)
                    .map(segment_size)
                    .unwrap_or_default();
                w.info.finish(size.bytes());
                (w.id, w.info)
            })
            .collect())
    }

    /// `backup_options` contains `concurrent_backup`.
    pub fn concurrent_backup(&self) -> bool {
        self.server
            .backup_options()
            .iter()
            .any(|i| i == "concurrent_backup")
    }
}

/// Barman's message for an xlog db line that is not a WAL name.
pub fn bad_wal_name_message(name: &str, server: &str, kind: &str) -> String {
    format!(
        "invalid {kind} name {}\nHINT: Please run \"barman rebuild-xlogdb {server}\" to solve this issue",
        crate::core::py_literal::str_repr(name)
    )
}
