//! The settings one backup runs with: the server's configuration with the command line's
//! overrides applied (Barman's `cli.backup` assigns them onto `server.config` for the run).

use crate::core::config::ServerConfig;
use std::collections::BTreeMap;

/// `--reuse-backup` / `reuse_backup`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReuseBackup {
    /// copy everything
    Off,
    /// rsync `--copy-dest` against the previous backup
    Copy,
    /// rsync `--link-dest` against the previous backup (unchanged files are hard links)
    Link,
}

impl ReuseBackup {
    /// rsync's word for the `--<word>-dest` option.
    pub fn rsync_word(self) -> Option<&'static str> {
        match self {
            ReuseBackup::Off => None,
            ReuseBackup::Copy => Some("copy"),
            ReuseBackup::Link => Some("link"),
        }
    }
}

/// Command-line overrides of the server's configuration for this run.
#[derive(Debug, Clone, Default)]
pub struct BackupOptions {
    /// `--immediate-checkpoint` (Some(true)) / `--no-immediate-checkpoint` (Some(false))
    pub immediate_checkpoint: Option<bool>,
    /// `--reuse-backup`
    pub reuse_backup: Option<ReuseBackup>,
    /// `--retry-times` / `--no-retry`
    pub retry_times: Option<u32>,
    /// `--retry-sleep`
    pub retry_sleep: Option<u64>,
    /// `-j/--jobs`
    pub jobs: Option<u32>,
    /// `--bwlimit`
    pub bwlimit: Option<u64>,
    /// `-w/--wait`
    pub wait: bool,
    /// `--wait-timeout`
    pub wait_timeout: Option<u64>,
    /// `--name`
    pub name: Option<String>,
    /// `--check-timeout`
    pub check_timeout: Option<u64>,
    /// `--incremental PARENT` (an id, a name or a shortcut)
    pub incremental: Option<String>,
    /// `--jobs-start-batch-period`
    pub jobs_start_batch_period: Option<u64>,
    /// `--jobs-start-batch-size`
    pub jobs_start_batch_size: Option<u32>,
    /// `--keepalive-interval`
    pub keepalive_interval: Option<u64>,
    /// `--manifest` (Some(true)) / `--no-manifest` (Some(false))
    pub manifest: Option<bool>,
    /// `--cloud-staging-directory`
    pub cloud_staging_directory: Option<String>,
    /// `--cloud-staging-max-size` (bytes)
    pub cloud_staging_max_size: Option<u64>,
}

/// The rsync tuning backup and restore share: Barman's `parallel_jobs`, the start batches,
/// `bandwidth_limit` and the `basebackup_retry_*` settings, each overridable on the
/// command line for one run.
#[derive(Debug, Clone, Copy, Default)]
pub struct CopyTuning {
    /// `parallel_jobs` / `-j`.
    pub jobs: u32,
    /// `bandwidth_limit` / `--bwlimit` (KiB/s; None when 0 or unset).
    pub bwlimit: Option<u64>,
    /// `basebackup_retry_times` / `--retry-times` / `--no-retry`.
    pub retry_times: u32,
    /// `basebackup_retry_sleep` / `--retry-sleep` (seconds).
    pub retry_sleep: u64,
    /// `parallel_jobs_start_batch_size` / `--jobs-start-batch-size`.
    pub batch_size: u32,
    /// `parallel_jobs_start_batch_period` / `--jobs-start-batch-period` (seconds).
    pub batch_period: u64,
}

impl CopyTuning {
    /// The server's values with the command line's overrides (fields of `overrides` that
    /// are `Some`), Barman's defaults otherwise.
    pub fn resolve(server: &ServerConfig, overrides: &CopyTuningOverrides) -> CopyTuning {
        let uint = |value: Option<i64>| value.and_then(|v| u64::try_from(v).ok());
        CopyTuning {
            jobs: overrides
                .jobs
                .unwrap_or_else(|| uint(server.parallel_jobs()).unwrap_or(1).max(1) as u32),
            bwlimit: overrides
                .bwlimit
                .or_else(|| uint(server.bandwidth_limit()))
                .filter(|b| *b > 0),
            retry_times: overrides
                .retry_times
                .unwrap_or_else(|| uint(server.basebackup_retry_times()).unwrap_or(0) as u32),
            retry_sleep: overrides
                .retry_sleep
                .unwrap_or_else(|| uint(server.basebackup_retry_sleep()).unwrap_or(30)),
            batch_size: overrides.batch_size.unwrap_or_else(|| {
                uint(server.parallel_jobs_start_batch_size())
                    .unwrap_or(10)
                    .max(1) as u32
            }),
            batch_period: overrides.batch_period.unwrap_or_else(|| {
                uint(server.parallel_jobs_start_batch_period())
                    .unwrap_or(1)
                    .max(1)
            }),
        }
    }
}

/// Command-line overrides of [`CopyTuning`].
#[derive(Debug, Clone, Copy, Default)]
pub struct CopyTuningOverrides {
    /// `-j/--jobs`.
    pub jobs: Option<u32>,
    /// `--bwlimit`.
    pub bwlimit: Option<u64>,
    /// `--retry-times` / `--no-retry`.
    pub retry_times: Option<u32>,
    /// `--retry-sleep`.
    pub retry_sleep: Option<u64>,
    /// `--jobs-start-batch-size`.
    pub batch_size: Option<u32>,
    /// `--jobs-start-batch-period`.
    pub batch_period: Option<u64>,
}

/// The backup methods this implementation runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// `pg_basebackup` over the streaming connection.
    Postgres,
    /// rsync over `ssh_command`, concurrent or exclusive low-level API.
    Rsync,
    /// rsync of a local PGDATA, concurrent or exclusive low-level API.
    LocalRsync,
    /// A local PGDATA uploaded to `basebackups_directory` (concurrent API).
    LocalToCloud,
    /// `pg_basebackup` into a local staging area, uploaded to `basebackups_directory`
    /// as it is written (Barman's `CloudPostgresBackupExecutor`).
    PostgresToCloud,
}

impl Method {
    /// The `mode` Barman records (and prints in "Starting backup using ... method"): the
    /// executor's mode and, for the rsync methods, the strategy's.
    pub fn mode(self, exclusive: bool) -> &'static str {
        match (self, exclusive) {
            (Method::Postgres | Method::PostgresToCloud, _) => "postgres",
            (Method::Rsync | Method::LocalRsync, false) => "rsync-concurrent",
            (Method::Rsync | Method::LocalRsync, true) => "rsync-exclusive",
            (Method::LocalToCloud, _) => super::cloud_method::MODE,
        }
    }
}

/// Everything a backup run reads from the configuration.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The method.
    pub method: Method,
    /// `backup_options = exclusive_backup` (rsync methods, PostgreSQL 14 and older).
    pub exclusive: bool,
    /// `immediate_checkpoint`.
    pub immediate: bool,
    /// `reuse_backup`.
    pub reuse: ReuseBackup,
    /// `basebackup_retry_times`.
    pub retry_times: u32,
    /// `basebackup_retry_sleep` (seconds).
    pub retry_sleep: u64,
    /// `parallel_jobs`.
    pub jobs: u32,
    /// `bandwidth_limit` (KiB/s, 0 = none).
    pub bwlimit: Option<u64>,
    /// `tablespace_bandwidth_limit` per tablespace name.
    pub tablespace_bwlimit: BTreeMap<String, u64>,
    /// `network_compression`.
    pub network_compression: bool,
    /// `keepalive_interval` (seconds, 0 = off).
    pub keepalive_interval: u64,
    /// `parallel_jobs_start_batch_size`: rsync workers started per batch period.
    pub jobs_start_batch_size: u32,
    /// `parallel_jobs_start_batch_period` (seconds).
    pub jobs_start_batch_period: u64,
    /// `autogenerate_manifest` (rsync methods).
    pub manifest: bool,
    /// `cloud_staging_directory` / `--cloud-staging-directory` (postgres method to the cloud).
    pub cloud_staging_directory: std::path::PathBuf,
    /// `cloud_staging_max_size` / `--cloud-staging-max-size` (bytes).
    pub cloud_staging_max_size: u64,
}

impl Settings {
    /// Resolve the server's settings with the command line's overrides; an unusable
    /// setting is a one-line reason.
    pub fn resolve(server: &ServerConfig, options: &BackupOptions) -> Result<Settings, String> {
        let method = method_of(server)?;
        // Barman's `ExternalBackupExecutor`: concurrent when asked for (or by default),
        // else exclusive. The postgres method is always concurrent.
        let exclusive = matches!(method, Method::Rsync | Method::LocalRsync)
            && server
                .backup_options()
                .iter()
                .any(|o| o == "exclusive_backup")
            && !server
                .backup_options()
                .iter()
                .any(|o| o == "concurrent_backup");
        if method == Method::Rsync && server.ssh_command().is_none() {
            return Err("ssh_command is required by backup_method = rsync".into());
        }
        let reuse = match options.reuse_backup {
            Some(r) => r,
            None => match server.reuse_backup().unwrap_or("off") {
                "copy" => ReuseBackup::Copy,
                "link" => ReuseBackup::Link,
                _ => ReuseBackup::Off,
            },
        };
        let uint = |value: Option<i64>| value.and_then(|v| u64::try_from(v).ok());
        let tuning = CopyTuning::resolve(
            server,
            &CopyTuningOverrides {
                jobs: options.jobs,
                bwlimit: options.bwlimit,
                retry_times: options.retry_times,
                retry_sleep: options.retry_sleep,
                batch_size: options.jobs_start_batch_size,
                batch_period: options.jobs_start_batch_period,
            },
        );
        Ok(Settings {
            method,
            exclusive,
            immediate: options
                .immediate_checkpoint
                .unwrap_or_else(|| server.immediate_checkpoint()),
            reuse,
            retry_times: tuning.retry_times,
            retry_sleep: tuning.retry_sleep,
            jobs: tuning.jobs,
            bwlimit: tuning.bwlimit,
            tablespace_bwlimit: parse_tablespace_limits(server.tablespace_bandwidth_limit()),
            network_compression: server.network_compression(),
            keepalive_interval: options
                .keepalive_interval
                .unwrap_or_else(|| uint(server.keepalive_interval()).unwrap_or(60)),
            jobs_start_batch_size: tuning.batch_size,
            jobs_start_batch_period: tuning.batch_period,
            manifest: options
                .manifest
                .unwrap_or_else(|| server.autogenerate_manifest()),
            cloud_staging_directory: staging_directory(server, options),
            cloud_staging_max_size: options
                .cloud_staging_max_size
                .or_else(|| uint(server.cloud_staging_max_size()))
                .unwrap_or(30 << 30),
        })
    }

    /// The bandwidth limit of one tablespace (its own, else the global one).
    pub fn bwlimit_for(&self, tablespace: &str) -> Option<u64> {
        self.tablespace_bwlimit
            .get(tablespace)
            .copied()
            .or(self.bwlimit)
            .filter(|b| *b > 0)
    }
}

/// The method of `backup_method` (and where the backups go); a one-line reason otherwise.
fn method_of(server: &ServerConfig) -> Result<Method, String> {
    Ok(match server.method() {
        "postgres" if !server.uses_backup_cloud_storage() => Method::Postgres,
        "postgres" => Method::PostgresToCloud,
        "rsync" => Method::Rsync,
        "local-rsync" => Method::LocalRsync,
        "local-to-cloud" if server.uses_backup_cloud_storage() => Method::LocalToCloud,
        "local-to-cloud" => {
            return Err(format!(
                "backup_method '{}' with basebackups_directory '{}' is not supported by this implementation",
                server.method(),
                server.basebackups_dir()
            ))
        }
        other => {
            return Err(format!(
                "backup_method '{other}' is not supported by this implementation (postgres, rsync, local-rsync and local-to-cloud are)"
            ))
        }
    })
}

/// `--cloud-staging-directory`, else `cloud_staging_directory` (Barman's default).
fn staging_directory(server: &ServerConfig, options: &BackupOptions) -> std::path::PathBuf {
    options
        .cloud_staging_directory
        .as_deref()
        .or(server.cloud_staging_directory())
        .unwrap_or("/tmp/barman/cloud-staging")
        .into()
}

/// `tablespace_bandwidth_limit = tbs1:1000 tbs2:2000`.
fn parse_tablespace_limits(text: Option<&str>) -> BTreeMap<String, u64> {
    text.unwrap_or("")
        .split_whitespace()
        .filter_map(|item| {
            let (name, limit) = item.split_once(':')?;
            Some((name.to_string(), limit.parse().ok()?))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tablespace_limits_parse_pairs_and_skip_junk() {
        let limits = parse_tablespace_limits(Some("tbs1:1000 bad tbs2:20"));
        assert_eq!(limits.get("tbs1"), Some(&1000));
        assert_eq!(limits.get("tbs2"), Some(&20));
        assert_eq!(limits.len(), 2);
    }
}
