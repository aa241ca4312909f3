//! `barman-cloud-backup`: a backup of a running PostgreSQL server straight to object
//! storage, as barman-cli-cloud 3.20.1 takes it (`cloud_backup.py`, `CloudBackupUploader`):
//! under `<path>/<server>/base/<backup id>/` the tablespace and data tars
//! ([`super::backup_tar`]) and a `backup.info` written with status STARTED once the backup
//! has started and again with its final status (DONE or FAILED) at the end, so a backup
//! cut short is never listed as done. Exit codes: 1 the backup failed (or PostgreSQL could
//! not be reached), 3 bad command line, 4 anything else.

use super::wal_archive::{check_tag, parse_csv_tag};
use super::CommonArgs;
use crate::cli::checks;
use clap::Parser;

/// Command line of `barman-cloud-backup`.
#[derive(Debug, Parser)]
#[command(
    name = "barman-cloud-backup",
    version = crate::BARMAN_VERSION,
    disable_help_flag = true,
    about = "This script can be used to perform a backup of a local PostgreSQL instance and ship the resulting tarball(s) to the Cloud. Currently AWS S3 and S3-compatible servers are supported (Azure Blob Storage and Google Cloud Storage are not built yet)."
)]
pub struct Args {
    /// URL of the cloud destination, such as a bucket in AWS S3. For example:
    /// `s3://bucket/path/to/folder`.
    pub destination_url: String,
    /// the name of the server as configured in Barman.
    pub server_name: String,
    /// Options shared by the barman-cloud tools.
    #[command(flatten)]
    pub common: CommonArgs,
    /// gzip-compress the backup while uploading to the cloud
    #[arg(short = 'z', long = "gzip", group = "compression")]
    pub gzip: bool,
    /// bzip2-compress the backup while uploading to the cloud
    #[arg(short = 'j', long = "bzip2", group = "compression")]
    pub bzip2: bool,
    /// snappy-compress the backup while uploading to the cloud
    #[arg(long, group = "compression")]
    pub snappy: bool,
    /// lz4-compress the backup while uploading to the cloud
    #[arg(long, group = "compression")]
    pub lz4: bool,
    /// zstd-compress the backup while uploading to the cloud
    #[arg(long, group = "compression")]
    pub zstd: bool,
    /// host or Unix socket for PostgreSQL connection (default: libpq settings)
    #[arg(short = 'h', long)]
    pub host: Option<String>,
    /// port for PostgreSQL connection (default: libpq settings)
    #[arg(short = 'p', long)]
    pub port: Option<String>,
    /// user name for PostgreSQL connection (default: libpq settings)
    #[arg(short = 'U', long)]
    pub user: Option<String>,
    /// forces the initial checkpoint to be done as quickly as possible
    #[arg(long = "immediate-checkpoint")]
    pub immediate_checkpoint: bool,
    /// number of subprocesses to upload data to cloud storage (default: 2)
    #[arg(short = 'J', long, default_value = "2", value_parser = checks::check_positive)]
    pub jobs: usize,
    /// an interval, in seconds, at which a heartbeat query is sent to the PostgreSQL
    /// server to keep the connection alive during the upload phase (default: 60)
    #[arg(long = "keepalive-interval", default_value = "60", value_parser = checks::check_non_negative)]
    pub keepalive_interval: u64,
    /// maximum size of an archive when uploading to cloud storage (default: 100GB)
    #[arg(short = 'S', long = "max-archive-size", default_value = "100GB", value_parser = checks::check_size)]
    pub max_archive_size: u64,
    /// minimum size of an individual chunk when uploading to cloud storage (default: 5MB
    /// for aws-s3, 64KB for azure-blob-storage, not applicable for google-cloud-storage)
    #[arg(long = "min-chunk-size", value_parser = checks::check_size)]
    pub min_chunk_size: Option<u64>,
    /// the maximum amount of data to be uploaded per second when backing up to either AWS
    /// S3 or Azure Blob Storage (default: no limit)
    #[arg(long = "max-bandwidth", value_parser = checks::check_size)]
    pub max_bandwidth: Option<u64>,
    /// Database name or conninfo string for Postgres connection (default: postgres)
    #[arg(short = 'd', long, default_value = "postgres")]
    pub dbname: String,
    /// a name which can be used to reference this backup in commands such as
    /// barman-cloud-restore and barman-cloud-backup-delete
    #[arg(short = 'n', long = "name", value_name = "BACKUP_NAME", value_parser = checks::check_backup_name)]
    pub backup_name: Option<String>,
    /// Instance where the disks to be backed up as snapshots are attached
    #[arg(long = "snapshot-instance")]
    pub snapshot_instance: Option<String>,
    /// Name of a disk from which snapshots should be taken
    #[arg(long = "snapshot-disk", value_name = "NAME")]
    pub snapshot_disks: Vec<String>,
    /// Zone of the disks from which snapshots should be taken (deprecated: replaced by
    /// --gcp-zone)
    #[arg(long = "snapshot-zone", value_name = "GCP_ZONE")]
    pub snapshot_zone: Option<String>,
    /// GCP project under which disk snapshots should be stored (deprecated: replaced by
    /// --gcp-project)
    #[arg(
        long = "snapshot-gcp-project",
        value_name = "GCP_PROJECT",
        help_heading = "Extra options for google-cloud-storage cloud provider"
    )]
    pub snapshot_gcp_project: Option<String>,
    /// GCP project under which disk snapshots should be stored
    #[arg(
        long = "gcp-project",
        help_heading = "Extra options for google-cloud-storage cloud provider"
    )]
    pub gcp_project: Option<String>,
    /// The name of the GCP KMS key which should be used for encrypting the uploaded data
    /// in GCS.
    #[arg(
        long = "kms-key-name",
        help_heading = "Extra options for google-cloud-storage cloud provider"
    )]
    pub kms_key_name: Option<String>,
    /// Zone of the disks from which snapshots should be taken
    #[arg(
        long = "gcp-zone",
        help_heading = "Extra options for google-cloud-storage cloud provider"
    )]
    pub gcp_zone: Option<String>,
    /// Tags to be added to all uploaded files in cloud storage
    #[arg(long = "tags", value_name = "TAGS_LIST", num_args = 0.., value_parser = parse_csv_tag, conflicts_with = "tag")]
    pub tags: Option<Vec<(String, String)>>,
    /// Tag to be added to all uploaded files in cloud storage
    #[arg(long = "tag", value_name = "TAGS_APPEND", value_parser = check_tag)]
    pub tag: Vec<(String, String)>,
    /// The encryption algorithm used when storing the uploaded data in S3. Allowed values:
    /// 'AES256'|'aws:kms'.
    #[arg(short = 'e', long, value_parser = ["AES256", "aws:kms"], help_heading = "Extra options for the aws-s3 cloud provider")]
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
    /// The name of the AWS region containing the EC2 VM and storage volumes defined by the
    /// --snapshot-instance and --snapshot-disk arguments.
    #[arg(
        long = "aws-region",
        help_heading = "Extra options for the aws-s3 cloud provider"
    )]
    pub aws_region: Option<String>,
    /// The length of time in seconds to wait for snapshots to be created in AWS before
    /// timing out (default: 3600 seconds)
    #[arg(long = "aws-await-snapshots-timeout", default_value = "3600", value_parser = checks::check_positive, help_heading = "Extra options for the aws-s3 cloud provider")]
    pub aws_await_snapshots_timeout: usize,
    /// The lock mode to apply to the snapshot. Allowed values: 'governance'|'compliance'.
    #[arg(long = "aws-snapshot-lock-mode", value_parser = ["governance", "compliance"], help_heading = "Extra options for the aws-s3 cloud provider")]
    pub aws_snapshot_lock_mode: Option<String>,
    /// Specifies the cool-off period (in hours) for a snapshot locked in 'compliance'
    /// mode (1 to 72).
    #[arg(long = "aws-snapshot-lock-cool-off-period", value_parser = clap::value_parser!(u32).range(1..=72), help_heading = "Extra options for the aws-s3 cloud provider")]
    pub aws_snapshot_lock_cool_off_period: Option<u32>,
    /// The expiration date for a locked snapshot in the format YYYY-MM-DDThh:mm:ss.sssZ.
    #[arg(
        long = "aws-snapshot-lock-expiration-date",
        conflicts_with = "aws_snapshot_lock_duration",
        help_heading = "Extra options for the aws-s3 cloud provider"
    )]
    pub aws_snapshot_lock_expiration_date: Option<String>,
    /// The duration (in days) for which the snapshot should be locked (1 to 36500).
    #[arg(long = "aws-snapshot-lock-duration", value_parser = clap::value_parser!(u32).range(1..=36500), help_heading = "Extra options for the aws-s3 cloud provider")]
    pub aws_snapshot_lock_duration: Option<u32>,
    /// The name of an encryption scope defined in the Azure Blob Storage service which is
    /// to be used to encrypt the data in Azure
    #[arg(
        long = "encryption-scope",
        help_heading = "Extra options for the azure-blob-storage cloud provider"
    )]
    pub encryption_scope: Option<String>,
    /// The ID of the Azure subscription which owns the instance and storage volumes
    /// defined by the --snapshot-instance and --snapshot-disk arguments.
    #[arg(
        long = "azure-subscription-id",
        help_heading = "Extra options for the azure-blob-storage cloud provider"
    )]
    pub azure_subscription_id: Option<String>,
    /// The name of the Azure resource group to which the compute instance and disks
    /// defined by the --snapshot-instance and --snapshot-disk arguments belong.
    #[arg(
        long = "azure-resource-group",
        help_heading = "Extra options for the azure-blob-storage cloud provider"
    )]
    pub azure_resource_group: Option<String>,
}

impl Args {
    /// The tar compression asked for.
    pub fn compression(&self) -> Option<super::backup_tar::TarCompression> {
        use super::backup_tar::TarCompression::*;
        [
            (self.gzip, Gzip),
            (self.bzip2, Bzip2),
            (self.snappy, Snappy),
            (self.lz4, Lz4),
            (self.zstd, Zstd),
        ]
        .into_iter()
        .find_map(|(on, c)| on.then_some(c))
    }

    /// `--tag` items, else `--tags`.
    pub fn object_tags(&self) -> Vec<(String, String)> {
        if self.tag.is_empty() {
            self.tags.clone().unwrap_or_default()
        } else {
            self.tag.clone()
        }
    }

    /// Python's `build_conninfo`: `-d` holding a conninfo (or empty) is used as is.
    pub fn conninfo(&self) -> String {
        if self.dbname.is_empty() || self.dbname.contains('=') {
            return self.dbname.clone();
        }
        let parts = [
            ("host", &self.host),
            ("port", &self.port),
            ("user", &self.user),
            ("dbname", &Some(self.dbname.clone())),
        ];
        parts
            .iter()
            .filter_map(|(k, v)| {
                v.as_deref()
                    .filter(|v| !v.is_empty())
                    .map(|v| format!("{k}={}", quote_conninfo(v)))
            })
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// Python's `_validate_config`, then what this build refuses. `Err` is the message of
    /// Python's exception (exit 4).
    pub fn validate(&self) -> Result<(), String> {
        let snapshot = self.snapshot_instance.is_some() || !self.snapshot_disks.is_empty();
        if snapshot && self.compression().is_some() {
            return Err("Compression options cannot be used with snapshot backups".into());
        }
        if self.aws_snapshot_lock_mode.as_deref() == Some("governance")
            && self.aws_snapshot_lock_cool_off_period.is_some()
        {
            return Err("'aws_snapshot_lock_mode' = 'governance' cannot be used with 'aws_snapshot_lock_cool_off_period'".into());
        }
        let tags = self.object_tags();
        if tags.len() > 10 {
            return Err("Maximum number of tags per object exceeded. S3 allows no more than 10 tags per object.".into());
        }
        let mut seen = std::collections::HashSet::new();
        for (key, _) in &tags {
            if !seen.insert(key) {
                return Err(format!(
                    "Duplicate tag keys found: {key}. Tag keys must be unique."
                ));
            }
        }
        if snapshot {
            return Err("snapshot backups (--snapshot-instance, --snapshot-disk) are not supported by this build".into());
        }
        if self.sse_kms_key_id.is_some() && self.encryption.as_deref() != Some("aws:kms") {
            return Err(
                "Encryption type must be \"aws:kms\" if SSE KMS Key ID is specified".into(),
            );
        }
        Ok(())
    }
}

/// Python's `quote_conninfo`.
fn quote_conninfo(value: &str) -> String {
    if value.is_empty() {
        return "''".into();
    }
    if !value.chars().any(char::is_whitespace) {
        return value.into();
    }
    format!("'{}'", value.replace('\\', "\\\\").replace('\'', "\\'"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cloud_backup_conninfo_as_python() {
        let args = Args::parse_from(["x", "s3://b/p", "srv", "-h", "/tmp/a b", "-p", "5432"]);
        assert_eq!(args.conninfo(), "host='/tmp/a b' port=5432 dbname=postgres");
        let args = Args::parse_from(["x", "s3://b/p", "srv", "-h", "h", "-d", "host=x user=y"]);
        assert_eq!(args.conninfo(), "host=x user=y");
    }
}
