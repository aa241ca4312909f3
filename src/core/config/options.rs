//! THE table of configuration options: every key Barman 3.20 reads, its scope, type,
//! default, whether it is inherited from `[barman]`, whether a model may set it, and a doc
//! line. The parser, `show-servers` and `doc/configuration.md` (with its drift test) all read
//! this table, so they cannot disagree.

use super::server::ServerConfig;
use super::value::{Kind, OptionValue};
use crate::core::retention::RetentionPolicy;

/// Builds [`SERVER_OPTIONS`] and, from the same lines, one typed accessor per option on
/// [`ServerConfig`], typed by the option's [`Kind`]: a misspelt option is a compile error,
/// not a silent `None`.
macro_rules! server_options {
    ($( opt($name:ident, Kind::$kind:ident $(($($arg:tt)*))?, $default:expr, $inherited:expr, $model:expr, $doc:expr $(,)?) ),* $(,)?) => {
        /// Every server option, in Barman's `ServerConfig.KEYS` order (defaults are
        /// expanded in this order, so `backup_directory` precedes the directories derived
        /// from it).
        pub const SERVER_OPTIONS: &[ServerOption] = &[
            $( opt(stringify!($name), Kind::$kind $(($($arg)*))?, $default, $inherited, $model, $doc) ),*
        ];

        /// The typed accessors, one per option (generated from [`SERVER_OPTIONS`]).
        impl ServerConfig {
            $( server_accessor!($name, $kind, $doc); )*
        }
    };
}

/// One accessor: its return type follows the value [`Kind`] parses to.
macro_rules! server_accessor {
    ($name:ident, Bool, $doc:expr) => {
        #[doc = $doc]
        pub fn $name(&self) -> bool {
            self.bool(stringify!($name))
        }
    };
    ($name:ident, Int, $doc:expr) => { server_accessor!(@int $name, $doc); };
    ($name:ident, SiSize, $doc:expr) => { server_accessor!(@int $name, $doc); };
    // Parsed as text, turned into an integer once every file is read (Barman does the same).
    ($name:ident, LaterInt, $doc:expr) => { server_accessor!(@int $name, $doc); };
    (@int $name:ident, $doc:expr) => {
        #[doc = $doc]
        pub fn $name(&self) -> Option<i64> {
            self.int(stringify!($name))
        }
    };
    ($name:ident, Interval, $doc:expr) => {
        #[doc = $doc]
        #[doc = ""]
        #[doc = "In seconds."]
        pub fn $name(&self) -> Option<i64> {
            self.interval(stringify!($name))
        }
    };
    ($name:ident, Retention, $doc:expr) => {
        #[doc = $doc]
        pub fn $name(&self) -> Option<RetentionPolicy> {
            self.retention(stringify!($name))
        }
    };
    ($name:ident, CompressionLevel, $doc:expr) => {
        #[doc = $doc]
        pub fn $name(&self) -> Option<&OptionValue> {
            self.value(stringify!($name))
        }
    };
    ($name:ident, BackupOptions, $doc:expr) => { server_accessor!(@list $name, $doc); };
    ($name:ident, RecoveryOptions, $doc:expr) => { server_accessor!(@list $name, $doc); };
    ($name:ident, DiskList, $doc:expr) => { server_accessor!(@list $name, $doc); };
    (@list $name:ident, $doc:expr) => {
        #[doc = $doc]
        pub fn $name(&self) -> &[String] {
            self.list(stringify!($name))
        }
    };
    // Str, AbsPath, DirOrUrl, Choice, ChoiceExact, SlotName, Encryption: text.
    ($name:ident, $other:ident, $doc:expr) => {
        #[doc = $doc]
        pub fn $name(&self) -> Option<&str> {
            self.str(stringify!($name))
        }
    };
}

/// One server (or model) option.
#[derive(Debug, Clone, Copy)]
pub struct ServerOption {
    /// Key name as written in the files.
    pub name: &'static str,
    /// How its text is parsed.
    pub kind: Kind,
    /// Default, a `%(key)s` template expanded against the keys before it (Barman's
    /// `DEFAULTS`), or `None` for unset.
    pub default: Option<&'static str>,
    /// Looked up in `[barman]` when the server section lacks it (Barman's `BARMAN_KEYS`).
    pub inherited: bool,
    /// May be overridden by a model section.
    pub model: bool,
    /// One-line description.
    pub doc: &'static str,
}

const fn opt(
    name: &'static str,
    kind: Kind,
    default: Option<&'static str>,
    inherited: bool,
    model: bool,
    doc: &'static str,
) -> ServerOption {
    ServerOption {
        name,
        kind,
        default,
        inherited,
        model,
        doc,
    }
}

server_options! {
    opt(active, Kind::Bool, Some("true"), false, true, "When false the server is inactive: listed and checked, but no backup or WAL work is done."),
    opt(archiver, Kind::Bool, Some("off"), true, true, "Archive WAL shipped by PostgreSQL's archive_command into the incoming directory."),
    opt(archiver_batch_size, Kind::Int, Some("0"), true, true, "Files processed per archive-wal run from the incoming directory (0: all)."),
    opt(autogenerate_manifest, Kind::Bool, Some("false"), true, true, "Write a backup_manifest after each rsync backup."),
    opt(aws_check_object_lock, Kind::Bool, Some("off"), true, true, "Check for S3 Object Lock before deleting cloud backups."),
    opt(aws_encryption, Kind::ChoiceExact(&["AES256", "aws:kms"]), None, true, true, "Server-side encryption for S3 uploads (AES256 or aws:kms)."),
    opt(aws_read_timeout, Kind::Int, None, true, true, "AWS read timeout in seconds."),
    opt(aws_await_snapshots_timeout, Kind::Int, Some("3600"), true, true, "Seconds to wait for AWS snapshots to complete."),
    opt(aws_snapshot_lock_mode, Kind::Str, None, true, true, "AWS snapshot lock mode (governance or compliance)."),
    opt(aws_snapshot_lock_duration, Kind::Int, None, true, true, "Days an AWS snapshot lock lasts (1-36500)."),
    opt(aws_snapshot_lock_cool_off_period, Kind::Int, None, true, true, "Cool-off period in hours for AWS snapshot locks (1-72)."),
    opt(aws_snapshot_lock_expiration_date, Kind::Str, None, true, true, "Expiration date of AWS snapshot locks (YYYY-MM-DDThh:mm:ss.sssZ)."),
    opt(aws_profile, Kind::Str, None, true, true, "AWS profile name for cloud operations."),
    opt(aws_region, Kind::Str, None, true, true, "AWS region of snapshot resources."),
    opt(aws_sse_kms_key_id, Kind::Str, None, true, true, "KMS key id for aws:kms encryption."),
    opt(aws_sse_customer_key, Kind::Str, None, true, true, "S3 SSE-C customer key."),
    opt(azure_credential, Kind::Str, None, true, true, "Azure credential type for cloud operations."),
    opt(azure_resource_group, Kind::Str, None, true, true, "Azure resource group of snapshot resources."),
    opt(azure_subscription_id, Kind::Str, None, true, true, "Azure subscription id of snapshot resources."),
    opt(backup_compression, Kind::Choice(&["gzip", "lz4", "zstd", "none"]), None, true, true, "pg_basebackup compression (postgres method): gzip, lz4, zstd or none."),
    opt(backup_compression_format, Kind::Choice(&["plain", "tar"]), None, true, true, "Format of compressed postgres-method backups: plain or tar."),
    opt(backup_compression_level, Kind::Int, None, true, true, "Compression level for backup_compression."),
    opt(backup_compression_location, Kind::Choice(&["client", "server"]), None, true, true, "Where backup_compression runs: client or server."),
    opt(backup_compression_workers, Kind::Int, None, true, true, "Compression threads for zstd backup_compression."),
    opt(backup_directory, Kind::Str, Some("%(barman_home)s/%(name)s"), false, false, "Directory of this server's backups, WAL archive and catalog."),
    opt(backup_method, Kind::Choice(&["rsync", "postgres", "local-rsync", "snapshot", "local-to-cloud"]), Some("rsync"), true, true, "How base backups are taken: rsync, postgres, local-rsync, snapshot or local-to-cloud."),
    opt(backup_options, Kind::BackupOptions, Some(""), true, true, "Comma list of exclusive_backup, concurrent_backup, external_configuration."),
    opt(bandwidth_limit, Kind::LaterInt, None, true, true, "Maximum transfer rate in kB/s for backup and recovery (0: no limit)."),
    opt(basebackup_retry_sleep, Kind::Int, Some("30"), true, true, "Seconds between retries of a failed base backup copy."),
    opt(basebackup_retry_times, Kind::Int, Some("0"), true, true, "Retries of a failed base backup copy."),
    opt(basebackups_directory, Kind::DirOrUrl, Some("%(backup_directory)s/base"), false, false, "Directory of the base backups (or a cloud URL)."),
    opt(check_timeout, Kind::Int, Some("30"), true, true, "Seconds after which a check of this server gives up (0: no timeout)."),
    opt(cloud_delete_batch_size, Kind::Int, None, true, true, "Objects deleted per cloud request."),
    opt(cloud_staging_directory, Kind::AbsPath, Some("/tmp/barman/cloud-staging"), true, true, "Local staging directory for cloud uploads."),
    opt(cloud_staging_max_size, Kind::SiSize, Some("30Gi"), true, true, "Maximum size of the cloud staging directory."),
    opt(cloud_upload_max_archive_size, Kind::SiSize, Some("100Gi"), false, true, "Maximum size of one uploaded backup archive."),
    opt(cloud_upload_min_chunk_size, Kind::SiSize, None, false, true, "Minimum chunk size of multipart cloud uploads."),
    opt(cloud_wal_archive_parallel, Kind::Int, Some("0"), true, true, "Parallel workers of cloud-wal-archive."),
    opt(cloud_wal_restore_parallel, Kind::Int, Some("0"), true, true, "Parallel workers of cloud-wal-restore."),
    opt(cluster, Kind::Str, Some("%(name)s"), false, true, "Cluster this server belongs to (models must match it)."),
    opt(compression, Kind::Choice(&["gzip", "bzip2", "pygzip", "pybzip2", "pigz", "xz", "zstd", "lz4", "snappy", "custom"]), None, true, true, "WAL compression: gzip, bzip2, pygzip, pybzip2, pigz, xz, zstd, lz4, snappy or custom."),
    opt(compression_level, Kind::CompressionLevel, Some("medium"), true, true, "WAL compression level: low, medium, high or an integer."),
    opt(conninfo, Kind::Str, None, false, true, "libpq connection string to PostgreSQL."),
    opt(custom_compression_filter, Kind::Str, None, true, true, "Command compressing WAL for compression = custom (deprecated)."),
    opt(custom_decompression_filter, Kind::Str, None, true, true, "Command decompressing WAL for compression = custom (deprecated)."),
    opt(custom_compression_magic, Kind::Str, None, true, true, "Hex magic bytes identifying custom-compressed WAL (deprecated)."),
    opt(description, Kind::Str, None, false, true, "Free text shown by list-servers."),
    opt(disabled, Kind::Bool, Some("false"), false, true, "Set internally when the configuration has errors; never read from files."),
    opt(encryption, Kind::Encryption, Some("none"), true, true, "Encryption of WAL and postgres-method tar backups: none or gpg (see doc/encryption.md)."),
    opt(encryption_key_id, Kind::Str, None, true, true, "GPG key (id, fingerprint or e-mail) that WAL and backups are encrypted for."),
    opt(encryption_passphrase_command, Kind::Str, None, true, true, "Shell command printing the secret key's passphrase, run to decrypt (get-wal, restore)."),
    opt(errors_directory, Kind::Str, Some("%(backup_directory)s/errors"), false, false, "Directory where rejected WAL files are moved."),
    opt(forward_config_path, Kind::Bool, Some("false"), true, true, "Pass this configuration path to the primary in passive-node commands."),
    opt(gcp_project, Kind::Str, None, true, true, "Google Cloud project of snapshot resources."),
    opt(gcp_zone, Kind::Str, None, false, true, "Google Cloud zone of snapshot resources."),
    opt(immediate_checkpoint, Kind::Bool, Some("false"), true, true, "Ask PostgreSQL for an immediate checkpoint at backup start."),
    opt(incoming_wals_directory, Kind::Str, Some("%(backup_directory)s/incoming"), false, false, "Directory where archive_command / put-wal deliver WAL files."),
    opt(keepalive_interval, Kind::Int, Some("60"), false, true, "Seconds between keepalive queries during long backups (0: off). Not inherited from [barman]."),
    opt(last_backup_maximum_age, Kind::Interval, None, true, true, "check fails when the newest backup is older than this interval."),
    opt(last_backup_minimum_size, Kind::SiSize, None, true, true, "check fails when the newest backup is smaller than this size."),
    opt(last_wal_maximum_age, Kind::Interval, None, true, true, "check fails when the newest archived WAL is older than this interval."),
    opt(combine_mode, Kind::Choice(&["copy", "link", "clone", "copy-file-range"]), Some("copy"), true, true, "pg_combinebackup mode: copy, link, clone or copy-file-range."),
    opt(local_staging_path, Kind::AbsPath, None, true, true, "Local staging directory for incremental/compressed restores (deprecated)."),
    opt(max_incoming_wals_queue, Kind::Int, None, true, true, "check fails when more WAL files than this wait in incoming."),
    opt(minimum_redundancy, Kind::LaterInt, Some("0"), true, true, "Minimum number of backups that are never deleted."),
    opt(network_compression, Kind::Bool, Some("false"), true, true, "Compress rsync network traffic (-z)."),
    opt(parallel_jobs, Kind::Int, Some("1"), true, true, "Parallel rsync workers for backup and recovery (copy threads for a local restore of a plain backup)."),
    opt(parallel_jobs_start_batch_period, Kind::Int, Some("1"), true, true, "Seconds between starts of batches of parallel workers."),
    opt(parallel_jobs_start_batch_size, Kind::Int, Some("10"), true, true, "Parallel workers started per batch."),
    opt(path_prefix, Kind::Str, None, true, true, "Directories prepended to PATH to find PostgreSQL client tools."),
    opt(post_archive_retry_script, Kind::Str, None, true, false, "Retry hook run after archive until it exits 0, 62 or 63."),
    opt(post_archive_script, Kind::Str, None, true, false, "Hook run after archive (environment BARMAN_*)."),
    opt(post_backup_retry_script, Kind::Str, None, true, false, "Retry hook run after backup until it exits 0, 62 or 63."),
    opt(post_backup_script, Kind::Str, None, true, false, "Hook run after backup (environment BARMAN_*)."),
    opt(post_delete_script, Kind::Str, None, true, false, "Hook run after delete (environment BARMAN_*)."),
    opt(post_delete_retry_script, Kind::Str, None, true, false, "Retry hook run after delete until it exits 0, 62 or 63."),
    opt(post_recovery_retry_script, Kind::Str, None, true, false, "Retry hook run after recovery until it exits 0, 62 or 63."),
    opt(post_recovery_script, Kind::Str, None, true, false, "Hook run after recovery (environment BARMAN_*)."),
    opt(post_wal_delete_script, Kind::Str, None, true, false, "Hook run after wal delete (environment BARMAN_*)."),
    opt(post_wal_delete_retry_script, Kind::Str, None, true, false, "Retry hook run after wal delete until it exits 0, 62 or 63."),
    opt(pre_archive_retry_script, Kind::Str, None, true, false, "Retry hook run before archive until it exits 0, 62 or 63."),
    opt(pre_archive_script, Kind::Str, None, true, false, "Hook run before archive (environment BARMAN_*)."),
    opt(pre_backup_retry_script, Kind::Str, None, true, false, "Retry hook run before backup until it exits 0, 62 or 63."),
    opt(pre_backup_script, Kind::Str, None, true, false, "Hook run before backup (environment BARMAN_*)."),
    opt(pre_delete_script, Kind::Str, None, true, false, "Hook run before delete (environment BARMAN_*)."),
    opt(pre_delete_retry_script, Kind::Str, None, true, false, "Retry hook run before delete until it exits 0, 62 or 63."),
    opt(pre_recovery_retry_script, Kind::Str, None, true, false, "Retry hook run before recovery until it exits 0, 62 or 63."),
    opt(pre_recovery_script, Kind::Str, None, true, false, "Hook run before recovery (environment BARMAN_*)."),
    opt(pre_wal_delete_script, Kind::Str, None, true, false, "Hook run before wal delete (environment BARMAN_*)."),
    opt(pre_wal_delete_retry_script, Kind::Str, None, true, false, "Retry hook run before wal delete until it exits 0, 62 or 63."),
    opt(primary_checkpoint_timeout, Kind::Int, Some("0"), false, true, "Seconds to wait for a checkpoint on the primary when backing up a standby."),
    opt(primary_conninfo, Kind::Str, None, false, true, "Connection string of the primary when conninfo points to a standby."),
    opt(primary_ssh_command, Kind::Str, None, true, true, "ssh command to the primary Barman: makes this server a passive node."),
    opt(recovery_options, Kind::RecoveryOptions, Some(""), true, true, "Comma list of get-wal, delta-restore."),
    opt(recovery_staging_path, Kind::AbsPath, None, true, true, "Staging directory for compressed backups at recovery (deprecated)."),
    opt(create_slot, Kind::Choice(&["manual", "auto"]), Some("manual"), true, true, "Create the replication slot automatically (auto) or not (manual)."),
    opt(retention_policy, Kind::Retention, None, true, true, "REDUNDANCY n or RECOVERY WINDOW OF n DAYS|WEEKS|MONTHS."),
    opt(retention_policy_mode, Kind::Str, Some("auto"), true, true, "Only auto is supported."),
    opt(reuse_backup, Kind::Choice(&["copy", "link", "off"]), None, true, true, "Reuse the previous backup for rsync: off, copy or link."),
    opt(slot_name, Kind::SlotName, None, true, true, "Replication slot used by receive-wal / pg_basebackup."),
    opt(snapshot_disks, Kind::DiskList, None, false, true, "Comma list of disks to snapshot."),
    opt(snapshot_gcp_project, Kind::Str, None, true, true, "Google Cloud project for snapshots (deprecated: gcp_project)."),
    opt(snapshot_instance, Kind::Str, None, false, true, "Cloud instance whose disks are snapshotted."),
    opt(snapshot_provider, Kind::Str, None, true, true, "Cloud provider for snapshot backups."),
    opt(snapshot_zone, Kind::Str, None, false, true, "Google Cloud zone for snapshots (deprecated: gcp_zone)."),
    opt(ssh_command, Kind::Str, None, false, true, "ssh command reaching the PostgreSQL host (rsync method)."),
    opt(staging_path, Kind::AbsPath, None, true, true, "Staging directory for restores that need one."),
    opt(staging_location, Kind::Choice(&["local", "remote"]), Some("local"), true, true, "Where staging_path lives: local or remote."),
    opt(streaming_archiver, Kind::Bool, Some("off"), true, true, "Stream WAL with pg_receivewal (receive-wal)."),
    opt(streaming_archiver_batch_size, Kind::Int, Some("0"), true, true, "Files processed per archive-wal run from the streaming directory (0: all)."),
    opt(streaming_archiver_name, Kind::Str, Some("barman_receive_wal"), true, true, "application_name of pg_receivewal."),
    opt(streaming_backup_name, Kind::Str, Some("barman_streaming_backup"), true, true, "application_name of pg_basebackup."),
    opt(streaming_conninfo, Kind::Str, Some("%(conninfo)s"), false, true, "libpq connection string for streaming replication."),
    opt(streaming_wals_directory, Kind::Str, Some("%(backup_directory)s/streaming"), false, false, "Directory where pg_receivewal writes WAL."),
    opt(tablespace_bandwidth_limit, Kind::Str, None, true, true, "Per-tablespace rsync limits: space-separated name:kbps rules."),
    opt(wal_conninfo, Kind::Str, None, false, true, "Connection string for WAL-only operations."),
    opt(wal_retention_policy, Kind::Str, Some("main"), true, true, "Only main is supported."),
    opt(wal_streaming_conninfo, Kind::Str, None, false, true, "Streaming connection string for WAL-only operations."),
    opt(wals_directory, Kind::DirOrUrl, Some("%(backup_directory)s/wals"), false, false, "Directory of the WAL archive (or a cloud URL)."),
    opt(warehousepg_dbid, Kind::Int, None, true, true, "WarehousePG segment dbid."),
    opt(worm_mode, Kind::Bool, Some("off"), true, true, "Write-once storage: never delete or rewrite archived files."),
    opt(xlogdb_directory, Kind::Str, Some("%(wals_directory)s"), true, false, "Directory of <server>-xlog.db."),
}

/// One option of the `[barman]` section only.
#[derive(Debug, Clone, Copy)]
pub struct GlobalOption {
    /// Key name.
    pub name: &'static str,
    /// Default text (templates use `barman_home`).
    pub default: Option<&'static str>,
    /// One-line description.
    pub doc: &'static str,
}

/// Keys only the `[barman]` section has (any server key may also be set there, as a default
/// for every server when it is inherited).
pub const GLOBAL_OPTIONS: &[GlobalOption] = &[
    GlobalOption {
        name: "barman_home",
        default: None,
        doc: "Main data directory (required).",
    },
    GlobalOption {
        name: "barman_lock_directory",
        default: Some("%(barman_home)s"),
        doc: "Directory of the lock files.",
    },
    GlobalOption {
        name: "barman_user",
        default: Some("barman"),
        doc: "System user Barman runs as; root switches to it.",
    },
    GlobalOption {
        name: "config_changes_queue",
        default: Some("%(barman_home)s/cfg_changes.queue"),
        doc: "Queue file of config-update changes.",
    },
    GlobalOption {
        name: "configuration_files_directory",
        default: None,
        doc: "Directory whose *.conf files are read after the main file, in name order.",
    },
    GlobalOption {
        name: "drill_directory",
        default: Some("%(barman_home)s/drills"),
        doc: "Ours (Barman warns that it is not a known key): where `barman drill` restores a backup to prove it, then removes it.",
    },
    GlobalOption {
        name: "drill_maximum_age",
        default: None,
        doc: "Ours (Barman warns that it is not a known key): check fails when a server's last successful drill is older than this interval (e.g. `8 DAYS`).",
    },
    GlobalOption {
        name: "recovery_estimates",
        default: Some("off"),
        doc: "Ours (Barman warns that it is not a known key): when on, show-backup prints the recovery window and restore prints a replay estimate, both from the commit-time index; off keeps their output exactly Barman's.",
    },
    GlobalOption {
        name: "drill_schedule",
        default: None,
        doc: "Ours (Barman warns that it is not a known key): cron starts `barman drill` of a server whose last successful drill is older than this interval (e.g. `7 DAYS`), one at a time per server.",
    },
    GlobalOption {
        name: "drill_user",
        default: Some("postgres"),
        doc: "Ours (Barman warns that it is not a known key): the OS user a drill starts PostgreSQL as when barman runs as root.",
    },
    GlobalOption {
        name: "lock_directory_cleanup",
        default: Some("true"),
        doc: "cron removes unused lock files at the end of each run.",
    },
    GlobalOption {
        name: "log_file",
        default: None,
        doc: "Log file (standard error when unset).",
    },
    GlobalOption {
        name: "log_format",
        default: Some("%(asctime)s [%(process)s] %(name)s %(levelname)s: %(message)s"),
        doc: "Python logging format of log lines (Barman warns that it is not a known key).",
    },
    GlobalOption {
        name: "log_level",
        default: Some("INFO"),
        doc: "DEBUG, INFO, WARNING, ERROR or CRITICAL (or a number).",
    },
    GlobalOption {
        name: "metrics_file",
        default: None,
        doc: "Ours (Barman warns that it is not a known key): cron rewrites this file with `barman metrics` after each pass, for node_exporter's textfile collector.",
    },
];

/// Keys Barman accepts in `[barman]` without warning: the global ones (but not
/// `log_format`, which Barman's validation list lacks) and every server key.
pub fn known_in_global(key: &str) -> bool {
    (key != "log_format" && GLOBAL_OPTIONS.iter().any(|o| o.name == key))
        || SERVER_OPTIONS.iter().any(|o| o.name == key)
}

/// The server option named `key`.
pub fn server_option(key: &str) -> Option<&'static ServerOption> {
    SERVER_OPTIONS.iter().find(|o| o.name == key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_table_has_barmans_122_server_keys_once() {
        assert_eq!(SERVER_OPTIONS.len(), 122);
        let mut names: Vec<&str> = SERVER_OPTIONS.iter().map(|o| o.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), 122);
    }

    #[test]
    fn options_table_keeps_barmans_keepalive_inheritance_typo() {
        // Barman's BARMAN_KEYS says `keepalive_internval`, so [barman] cannot set it.
        assert!(!server_option("keepalive_interval").unwrap().inherited);
    }

    #[test]
    fn options_defaults_reference_only_earlier_keys() {
        for (i, option) in SERVER_OPTIONS.iter().enumerate() {
            let Some(default) = option.default else {
                continue;
            };
            for reference in default.split("%(").skip(1) {
                let name = reference.split(")s").next().unwrap();
                let earlier = ["barman_home", "name"].contains(&name)
                    || SERVER_OPTIONS[..i].iter().any(|o| o.name == name);
                assert!(
                    earlier,
                    "{} default uses {name} before it is computed",
                    option.name
                );
            }
        }
    }
}
