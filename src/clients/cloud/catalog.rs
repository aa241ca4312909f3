//! The backup catalog of one server in object storage, as barman-cloud's
//! `CloudBackupCatalog` reads it: backups are the folders under `<path>/<server>/base/`
//! holding a `backup.info`, keep requests are `base/<id>/annotations/keep` objects, and
//! WALs are the objects under `<path>/<server>/wals/`.

use crate::adapters::cloud::{CloudError, CloudStore};
use crate::core::backup_id::BackupId;
use crate::core::backup_info::{BackupInfo, BackupStatus, Field};
use crate::core::wal_name::WalFileName;
use std::collections::{BTreeMap, BTreeSet};

/// The compression suffixes barman-cloud allows after a WAL name (`ALLOWED_COMPRESSIONS`).
const WAL_SUFFIXES: [&str; 6] = [".gz", ".bz2", ".xz", ".snappy", ".zst", ".lz4"];

/// Why the catalog could not answer; the text is Python's exception text.
#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    /// The store failed.
    #[error("{0}")]
    Cloud(#[from] CloudError),
    /// A word that is neither an id, a shortcut nor a backup name (Python's ValueError).
    #[error("Unknown backup '{word}' for server '{server}'")]
    UnknownBackup {
        /// What the user gave.
        word: String,
        /// The server.
        server: String,
    },
    /// A backup.info with a field this version does not know: Python prints an error and
    /// exits 1 (`output.close_and_exit`), whatever the tool was doing.
    #[error("Unsupported field '{0}' found in backup metadata. This indicates the backup was created with a newer version of Barman. Please upgrade to a compatible or newer version.")]
    Unsupported(String),
    /// A backup.info that cannot be read, or any other failure worded as Python's.
    #[error("{0}")]
    BadInfo(String),
}

/// One server's catalog, read lazily and cached as Python's is.
pub struct CloudCatalog<'s> {
    /// The bucket.
    pub store: &'s CloudStore,
    /// The server name.
    pub server: String,
    /// `<path>/<server>/base`.
    pub prefix: String,
    /// `<path>/<server>/wals`.
    pub wal_prefix: String,
    backups: Option<BTreeMap<String, BackupInfo>>,
    /// Backups whose backup.info could not be read (`unreadable_backups`).
    pub unreadable: Vec<String>,
    annotations: Option<BTreeSet<(String, String)>>,
    wal_paths: Option<BTreeMap<String, String>>,
}

impl<'s> CloudCatalog<'s> {
    /// The catalog of `server` in `store`.
    pub fn new(store: &'s CloudStore, server: &str) -> Self {
        CloudCatalog {
            store,
            server: server.to_string(),
            prefix: store.url.key(&[server, "base"]),
            wal_prefix: store.url.key(&[server, "wals"]),
            backups: None,
            unreadable: Vec::new(),
            annotations: None,
            wal_paths: None,
        }
    }

    /// Every readable backup by id (`get_backup_list`); unreadable ones are logged as
    /// Python logs them and remembered in [`CloudCatalog::unreadable`].
    pub fn backup_list(
        &mut self,
        log: super::Log,
    ) -> Result<&BTreeMap<String, BackupInfo>, CatalogError> {
        if self.backups.is_none() {
            let base = format!("{}/", self.prefix);
            let folders: BTreeSet<String> = self
                .store
                .list(&base)?
                .iter()
                .filter_map(|key| key[base.len()..].split_once('/'))
                .map(|(folder, _)| folder.to_string())
                .collect();
            let mut list = BTreeMap::new();
            for id in folders {
                match self.backup_info(&id) {
                    Ok(Some(info)) => {
                        list.insert(id, info);
                    }
                    Ok(None) => {}
                    Err(e @ CatalogError::Unsupported(_)) => return Err(e),
                    Err(e) => {
                        log.warning(&format!("Unable to open backup.info file for {id}: {e}"));
                        self.unreadable.push(id);
                    }
                }
            }
            self.backups = Some(list);
        }
        Ok(self.backups.as_ref().expect("invariant: filled above"))
    }

    /// Forget a deleted backup (`remove_backup_from_cache`).
    pub fn forget_backup(&mut self, id: &str) {
        if let Some(list) = self.backups.as_mut() {
            list.remove(id);
        }
    }

    /// The backup.info of `id`, `None` when there is none (`get_backup_info`).
    pub fn backup_info(&self, id: &str) -> Result<Option<BackupInfo>, CatalogError> {
        let key = format!("{}/{id}/backup.info", self.prefix);
        let Some(bytes) = self.store.get(&key)? else {
            return Ok(None);
        };
        let text = String::from_utf8_lossy(&bytes);
        let mut info = BackupInfo::parse(&text).map_err(|e| match e.key {
            Some(key) if e.reason.starts_with("Unsupported field") => {
                CatalogError::Unsupported(key)
            }
            // Python's wording for a line without `=` (the object has no file name).
            None if e.reason.starts_with("line is not key=value") => {
                let line = text.lines().nth(e.line.saturating_sub(1)).unwrap_or("");
                CatalogError::BadInfo(format!("invalid line {} in file <UNKNOWN>", line.trim()))
            }
            _ => CatalogError::BadInfo(e.reason),
        })?;
        // Python's field default applies when the line is absent (not when it says None).
        if !text
            .lines()
            .any(|l| l.trim_start().starts_with("xlog_segment_size"))
        {
            info.set_raw(Field::XlogSegmentSize, Some("16777216".into()));
        }
        Ok(Some(info))
    }

    /// An id, a shortcut (`latest`, `last`, `oldest`, `first`, `last-failed`) or a backup
    /// name, resolved to an id as `parse_backup_id` does (an id is taken as is).
    pub fn parse_backup_id(&mut self, word: &str, log: super::Log) -> Result<String, CatalogError> {
        if word.parse::<BackupId>().is_ok() {
            return Ok(word.to_string());
        }
        let server = self.server.clone();
        let list = self.backup_list(log)?;
        let not_started = |(id, info): (&String, &BackupInfo)| {
            (info.status() != BackupStatus::Started).then(|| id.clone())
        };
        let shortcut = match word {
            "last" | "latest" => list.iter().rev().find_map(not_started),
            "first" | "oldest" => list.iter().find_map(not_started),
            "last-failed" => list
                .iter()
                .rev()
                .find(|(_, info)| info.status() == BackupStatus::Failed)
                .map(|(id, _)| id.clone()),
            _ => None,
        };
        if let Some(id) = shortcut {
            return Ok(id);
        }
        // Barman's get_backup_info_from_name: exactly one backup with that name.
        let named: Vec<&String> = list
            .iter()
            .filter(|(_, info)| info.raw(Field::BackupName) == Some(word))
            .map(|(id, _)| id)
            .collect();
        match named.as_slice() {
            [id] => Ok((*id).clone()),
            [] => Err(CatalogError::UnknownBackup {
                word: word.to_string(),
                server,
            }),
            many => {
                Err(CatalogError::BadInfo(format!(
                "Multiple backups found matching name '{word}' (try using backup ID instead): {}",
                many.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(" ")
            )))
            }
        }
    }

    fn annotation_key(&self, id: &str, key: &str) -> String {
        format!("{}/{id}/annotations/{key}", self.prefix)
    }

    /// The keep target of `id` (the annotation's first line), `None` without one. With
    /// `use_cache`, one listing of the catalog tells which annotations exist (Python's
    /// annotation cache); without, the object is read directly.
    pub fn keep_target(
        &mut self,
        id: &str,
        use_cache: bool,
    ) -> Result<Option<String>, CatalogError> {
        if use_cache {
            if self.annotations.is_none() {
                let base = format!("{}/", self.prefix);
                let found = self
                    .store
                    .list(&base)?
                    .iter()
                    .filter_map(|key| {
                        let parts: Vec<&str> = key.split('/').collect();
                        (parts.len() > 3 && parts[parts.len() - 2] == "annotations").then(|| {
                            (
                                parts[parts.len() - 3].to_string(),
                                parts[parts.len() - 1].to_string(),
                            )
                        })
                    })
                    .collect();
                self.annotations = Some(found);
            }
            let cached = self.annotations.as_ref().expect("invariant: filled above");
            if !cached.contains(&(id.to_string(), "keep".to_string())) {
                return Ok(None);
            }
        }
        let Some(bytes) = self.store.get(&self.annotation_key(id, "keep"))? else {
            return Ok(None);
        };
        // Python reads one line (`readline()`), newline included.
        let end = bytes
            .iter()
            .position(|b| *b == b'\n')
            .map_or(bytes.len(), |i| i + 1);
        Ok(Some(String::from_utf8_lossy(&bytes[..end]).into_owned()))
    }

    /// Write the keep annotation of `id` (`keep_backup`).
    pub fn keep(&self, id: &str, target: &str) -> Result<(), CatalogError> {
        Ok(self.store.put(
            &self.annotation_key(id, "keep"),
            target.as_bytes().to_vec(),
            &[],
        )?)
    }

    /// Remove the keep annotation of `id` (`release_keep`).
    pub fn release(&self, id: &str) -> Result<(), CatalogError> {
        Ok(self.store.delete(&self.annotation_key(id, "keep"))?)
    }

    /// WAL name → object key of every WAL object (`get_wal_paths`): a WAL name, or one
    /// with one compression suffix; anything else is ignored.
    pub fn wal_paths(&mut self) -> Result<&BTreeMap<String, String>, CatalogError> {
        if self.wal_paths.is_none() {
            let mut paths = BTreeMap::new();
            for key in self.store.list(&format!("{}/", self.wal_prefix))? {
                let base = key.rsplit('/').next().unwrap_or(&key);
                let name = if is_wal_name(base) {
                    Some(base)
                } else {
                    WAL_SUFFIXES
                        .iter()
                        .find_map(|s| base.strip_suffix(s))
                        .filter(|n| is_wal_name(n))
                };
                if let Some(name) = name {
                    paths.insert(name.to_string(), key.clone());
                }
            }
            self.wal_paths = Some(paths);
        }
        Ok(self.wal_paths.as_ref().expect("invariant: filled above"))
    }

    /// Forget a deleted WAL (`remove_wal_from_cache`).
    pub fn forget_wal(&mut self, name: &str) {
        if let Some(paths) = self.wal_paths.as_mut() {
            paths.remove(name);
        }
    }

    /// The "folders" right under `wals/` (`get_wal_prefixes`), each ending with `/`.
    pub fn wal_prefixes(&self) -> Result<Vec<String>, CatalogError> {
        let base = format!("{}/", self.wal_prefix);
        let folders: BTreeSet<String> = self
            .store
            .list(&base)?
            .iter()
            .filter_map(|key| key[base.len()..].split_once('/'))
            .map(|(folder, _)| format!("{base}{folder}/"))
            .collect();
        Ok(folders.into_iter().collect())
    }
}

/// Python's `xlog.is_any_xlog_file`.
fn is_wal_name(name: &str) -> bool {
    name.parse::<WalFileName>().is_ok()
}

/// How a catalog tool ends when it does not succeed.
#[derive(Debug)]
pub enum Fail {
    /// An exception: logged as `<tool> exception: <text>`, exit 4 (`GeneralErrorExit`).
    General(String),
    /// Already logged; exit 1 (`OperationErrorExit`).
    Operation,
    /// Already logged; exit 3 (`CLIErrorExit`).
    Usage,
    /// `output.error` then exit 1: `ERROR: <text>` on stderr, and the log line.
    Exit(String),
}

impl From<CatalogError> for Fail {
    fn from(e: CatalogError) -> Self {
        match e {
            CatalogError::Unsupported(_) => Fail::Exit(e.to_string()),
            e => Fail::General(e.to_string()),
        }
    }
}

impl From<CloudError> for Fail {
    fn from(e: CloudError) -> Self {
        Fail::General(e.to_string())
    }
}

/// What the catalog tools share: open the store (refusing what is not built), answer
/// `--test`, and end as Python ends (`label` is e.g. `Barman cloud backup list`).
pub fn run_tool(
    common: &super::CommonArgs,
    url: &str,
    sse_customer_key: Option<&str>,
    label: &str,
    body: impl FnOnce(&CloudStore, super::Log) -> Result<(), Fail>,
) -> std::process::ExitCode {
    use crate::app::exit::exit_code;
    use crate::error::ExitKind;
    let log = common.log();
    let result = (|| {
        let mut options = common.options();
        options.sse_customer_key = sse_customer_key.map(str::to_string);
        let store =
            super::open_store(common, url, options).map_err(|e| Fail::General(e.to_string()))?;
        if common.test {
            return Ok(Some(super::verify(&store, log)));
        }
        body(&store, log).map(|()| None)
    })();
    match result {
        Ok(Some(code)) => code,
        Ok(None) => std::process::ExitCode::SUCCESS,
        Err(Fail::General(text)) => {
            log.error(&format!("{label} exception: {text}"));
            exit_code(ExitKind::CloudGeneral)
        }
        Err(Fail::Operation) => exit_code(ExitKind::CloudOperation),
        Err(Fail::Usage) => exit_code(ExitKind::CloudUsage),
        Err(Fail::Exit(text)) => {
            crate::output::eprint_raw(&format!("ERROR: {text}\n"));
            log.error(&text);
            exit_code(ExitKind::CloudOperation)
        }
    }
}
