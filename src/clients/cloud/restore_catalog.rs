//! What `barman-cloud-restore` needs of Barman's `CloudBackupCatalog`: the backups of a
//! server under `<prefix>/<server>/base/<id>/`, their `backup.info`, a backup id, name or
//! shortcut resolved as Python resolves it, the `auto` choice from the recovery targets,
//! and the tar objects of one backup (`get_backup_files`).

use super::Log;
use crate::adapters::cloud::{CloudError, CloudStore};
use crate::core::backup_info::{BackupInfo, BackupStatus, Field};
use crate::core::lsn::Lsn;
use chrono::{DateTime, FixedOffset};
use std::collections::BTreeMap;

/// One server's backups in a bucket.
pub struct Catalog<'a> {
    store: &'a CloudStore,
    server: &'a str,
    log: Log,
    /// `<path>/<server>/base`.
    pub prefix: String,
    backups: Option<BTreeMap<String, BackupInfo>>,
}

/// A tar object of the backup: `data` (PGDATA) or a tablespace oid, and its parts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupFile {
    /// `None` for PGDATA, the tablespace's oid otherwise.
    pub oid: Option<u32>,
    /// The key without the extension (`.../data`, `.../16385`).
    pub base: String,
    /// The main object's key, once found.
    pub path: Option<String>,
    /// `gzip`, `bzip2`, `snappy`, `lz4`, `zstd` or none.
    pub compression: Option<&'static str>,
    /// Further parts (`data_0001.tar...`), extracted after the main one.
    pub additional: Vec<(String, Option<&'static str>)>,
}

/// How `auto` picks a backup.
#[derive(Debug, Clone, Default)]
pub struct Targets {
    /// `--target-tli` (a number, `current` or `latest`).
    pub tli: Option<String>,
    /// `--target-lsn`.
    pub lsn: Option<String>,
    /// `--target-time`.
    pub time: Option<String>,
}

impl<'a> Catalog<'a> {
    /// The catalog of `server` in `store`.
    pub fn new(store: &'a CloudStore, server: &'a str, log: Log) -> Catalog<'a> {
        Catalog {
            prefix: store.url.key(&[server, "base"]),
            store,
            server,
            log,
            backups: None,
        }
    }

    /// The `backup.info` of `id`, `None` when there is none.
    pub fn backup_info(&self, id: &str) -> Result<Option<BackupInfo>, CloudError> {
        let key = format!("{}/{id}/backup.info", self.prefix);
        let Some(bytes) = self.store.get(&key)? else {
            return Ok(None);
        };
        let text = String::from_utf8_lossy(&bytes);
        BackupInfo::parse(&text)
            .map(Some)
            .map_err(|e| CloudError::Other(e.to_string()))
    }

    /// Every readable backup by id (Python warns about and skips the unreadable ones).
    pub fn backups(&mut self) -> Result<&BTreeMap<String, BackupInfo>, CloudError> {
        if self.backups.is_none() {
            let folder = format!("{}/", self.prefix);
            let mut ids: Vec<String> = self
                .store
                .list(&folder)?
                .iter()
                .filter_map(|k| {
                    k[folder.len()..]
                        .split_once('/')
                        .map(|(d, _)| d.to_string())
                })
                .collect();
            ids.dedup();
            let mut backups = BTreeMap::new();
            for id in ids {
                match self.backup_info(&id) {
                    Ok(Some(info)) => {
                        backups.insert(id, info);
                    }
                    Ok(None) => {}
                    Err(e) => self
                        .log
                        .warning(&format!("Unable to open backup.info file for {id}: {e}")),
                }
            }
            self.backups = Some(backups);
        }
        Ok(self.backups.get_or_insert_with(BTreeMap::new))
    }

    /// A backup id, shortcut or name → the backup id (`parse_backup_id`).
    pub fn parse_backup_id(&mut self, text: &str) -> Result<String, CloudError> {
        if text.parse::<crate::core::backup_id::BackupId>().is_ok() {
            return Ok(text.to_string());
        }
        let server = self.server.to_string();
        let backups = self.backups()?;
        let done = |status: BackupStatus| status != BackupStatus::Started;
        let found = match text {
            "last" | "latest" => backups.iter().rev().find(|(_, b)| done(b.status())),
            "first" | "oldest" => backups.iter().find(|(_, b)| done(b.status())),
            "last-failed" => backups
                .iter()
                .rev()
                .find(|(_, b)| b.status() == BackupStatus::Failed),
            _ => None,
        };
        if let Some((id, _)) = found {
            return Ok(id.clone());
        }
        let named: Vec<&String> = backups
            .iter()
            .filter(|(_, b)| b.raw(Field::BackupName) == Some(text))
            .map(|(id, _)| id)
            .collect();
        match named.as_slice() {
            [id] => Ok((*id).clone()),
            [] => Err(CloudError::Other(format!(
                "Unknown backup '{text}' for server '{server}'"
            ))),
            ids => Err(CloudError::Other(format!(
                "Multiple backups found matching name '{text}' (try using backup ID instead): {}",
                ids.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(" ")
            ))),
        }
    }

    /// `auto`: the newest backup that fits the targets, `None` when none does.
    pub fn auto_backup_id(
        &mut self,
        targets: &Targets,
        local: FixedOffset,
    ) -> Result<Option<String>, CloudError> {
        let tli =
            match targets.tli.as_deref() {
                None => None,
                Some("current") => return Err(CloudError::Other(
                    "'current' is not a valid timeline keyword when recovering without a backup_id"
                        .into(),
                )),
                Some("latest") => Some(self.latest_timeline()?),
                Some(n) => n.parse::<u32>().ok(),
            };
        // Python parses the LSN and the time before looking at any backup.
        let lsn = match &targets.lsn {
            Some(text) => Some(
                text.parse::<Lsn>()
                    .map_err(|_| CloudError::Other(format!("('Invalid LSN: %s', '{text}')")))?,
            ),
            None => None,
        };
        let time = match &targets.time {
            Some(text) => Some(parse_time(text, local)?),
            None => None,
        };
        let backups = self.backups()?;
        let fits = |b: &BackupInfo| {
            let tli_ok = tli.is_none_or(|t| b.timeline().map(|x| x.get()) == Some(t));
            let target_ok = match (lsn, time) {
                (Some(lsn), _) => b.end_xlog().is_some_and(|end| end <= lsn),
                (None, Some(time)) => b.end_time(local).is_some_and(|end| end <= time),
                (None, None) => true,
            };
            tli_ok && target_ok
        };
        Ok(backups
            .iter()
            .rev()
            .filter(|(_, b)| b.status() != BackupStatus::Started)
            .find(|(_, b)| fits(b))
            .map(|(id, _)| id.clone()))
    }

    /// `--target-tli latest`: the timeline of the newest WAL name in the archive (Python's
    /// `get_latest_archived_wals_info`, which stops at the first name in reverse order).
    fn latest_timeline(&self) -> Result<u32, CloudError> {
        let folder = format!("{}/", self.store.url.key(&[self.server, "wals"]));
        let mut names: Vec<String> = self
            .store
            .list(&folder)?
            .iter()
            .filter_map(|k| wal_name(k.rsplit('/').next().unwrap_or(k)))
            .collect();
        names.sort();
        names
            .last()
            .and_then(|n| u32::from_str_radix(&n[..8], 16).ok())
            .ok_or_else(|| CloudError::Other("max() arg is an empty sequence".into()))
    }

    /// The tar objects of `info`'s backup, as Python's `get_backup_files` finds them.
    pub fn backup_files(
        &self,
        id: &str,
        tablespaces: &[(String, u32, String)],
    ) -> Result<Vec<BackupFile>, CloudError> {
        let source = format!("{}/{id}", self.prefix);
        let new = |oid: Option<u32>, name: String| BackupFile {
            oid,
            base: format!("{source}/{name}"),
            path: None,
            compression: None,
            additional: Vec::new(),
        };
        let mut files = vec![new(None, "data".into())];
        files.extend(tablespaces.iter().map(|t| new(Some(t.1), t.1.to_string())));
        let folder = format!("{source}/");
        for item in self.store.list(&folder)? {
            if item[folder.len()..].contains('/') {
                continue;
            }
            self.match_item(&mut files, &item, id);
        }
        Ok(files)
    }

    fn match_item(&self, files: &mut [BackupFile], item: &str, id: &str) {
        for file in files.iter_mut() {
            let Some(suffix) = item.strip_prefix(&file.base) else {
                continue;
            };
            if !(suffix.starts_with('.') || suffix.starts_with('_')) {
                self.log.debug(&format!(
                    "Skipping spurious prefix match: {}|{suffix}",
                    file.base
                ));
                continue;
            }
            let additional = suffix.starts_with('_');
            let ext = if additional {
                suffix.split_once('.').map(|(_, e)| e).unwrap_or(suffix)
            } else {
                &suffix[1..]
            };
            let Some(compression) = compression_of(ext) else {
                self.log
                    .warning(&format!("Skipping unknown extension: {ext}"));
                continue;
            };
            if additional {
                file.additional.push((item.to_string(), compression));
            } else {
                file.path = Some(item.to_string());
                file.compression = compression;
            }
            self.log.info(&format!(
                "Found file from backup '{id}' of server '{}': {item}",
                self.server
            ));
            break;
        }
    }
}

/// The compression a tar extension names (`Some(None)` for a plain tar).
fn compression_of(ext: &str) -> Option<Option<&'static str>> {
    Some(match ext {
        "tar" => None,
        "tar.gz" => Some("gzip"),
        "tar.bz2" => Some("bzip2"),
        "tar.snappy" => Some("snappy"),
        "tar.lz4" => Some("lz4"),
        "tar.zst" => Some("zstd"),
        _ => return None,
    })
}

/// The WAL name of an object name, with at most one compression suffix.
fn wal_name(name: &str) -> Option<String> {
    use crate::core::wal_name::WalFileName;
    let is_wal = |n: &str| n.parse::<WalFileName>().is_ok();
    if is_wal(name) {
        return Some(name.to_string());
    }
    let (stem, suffix) = name.rsplit_once('.')?;
    let allowed = ["gz", "bz2", "xz", "snappy", "zst", "lz4"].contains(&suffix);
    (allowed && is_wal(stem)).then(|| stem.to_string())
}

/// `load_datetime_tz`: a naive time is in the local zone.
fn parse_time(text: &str, local: FixedOffset) -> Result<DateTime<FixedOffset>, CloudError> {
    crate::commands::recover::parse_target_time(text, local)
        .map(|(t, _)| t)
        // dateutil's wording for what it cannot read.
        .map_err(|_| {
            CloudError::Other(format!(
                "Unable to parse the target time parameter '{text}': Unknown string format: {text}"
            ))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tar_extensions_and_wal_names_as_python_reads_them() {
        assert_eq!(compression_of("tar"), Some(None));
        assert_eq!(compression_of("tar.zst"), Some(Some("zstd")));
        assert_eq!(compression_of("tar.gz"), Some(Some("gzip")));
        // Python's restore has no xz for tars.
        assert_eq!(compression_of("tar.xz"), None);
        assert_eq!(
            wal_name("000000010000000000000003.gz").as_deref(),
            Some("000000010000000000000003")
        );
        assert_eq!(
            wal_name("00000002.history").as_deref(),
            Some("00000002.history")
        );
        assert_eq!(wal_name("000000010000000000000003.gz.gz"), None);
        assert_eq!(wal_name("backup.info"), None);
    }
}
