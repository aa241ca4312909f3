//! The barman-cloud tools (Barman's `barman-cli-cloud`): `barman-cloud-wal-archive`,
//! `barman-cloud-wal-restore` and `barman-cloud-restore`, with barman-cloud's options, messages, object layout and
//! exit codes (`cloud_cli.py`: 1 operation failed, 2 network, 3 command line, 4 other).

pub mod backup;
pub mod backup_delete;
mod backup_hook;
pub mod backup_keep;
pub mod backup_list;
pub mod backup_run;
pub mod backup_show;
pub mod backup_tar;
pub mod catalog;
pub mod check_wal_archive;
mod delete_wals;
mod info_json;
pub mod restore;
mod restore_catalog;
mod restore_extract;
pub mod wal_archive;
pub mod wal_restore;

use crate::adapters::cloud::{AwsFiles, CloudOptions, CloudProvider, CloudStore};
use crate::error::ExitKind;
use std::process::ExitCode;

/// The options every barman-cloud tool takes (`cloud_cli.create_argument_parser`).
#[derive(Debug, Clone, clap::Args)]
pub struct CommonArgs {
    /// show this help message and exit
    #[arg(long, action = clap::ArgAction::Help)]
    pub help: Option<bool>,
    /// increase output verbosity (e.g., -vv is more than -v)
    #[arg(short = 'v', long, action = clap::ArgAction::Count, conflicts_with = "quiet")]
    pub verbose: u8,
    /// decrease output verbosity (e.g., -qq is less than -q)
    #[arg(short = 'q', long, action = clap::ArgAction::Count)]
    pub quiet: u8,
    /// Test cloud connectivity and exit
    #[arg(short = 't', long)]
    pub test: bool,
    /// The cloud provider to use as a storage backend
    #[arg(long = "cloud-provider", value_enum, default_value = "aws-s3")]
    pub cloud_provider: CloudProvider,
    /// Override default S3 endpoint URL with the given one
    #[arg(
        long = "endpoint-url",
        help_heading = "Extra options for the aws-s3 cloud provider"
    )]
    pub endpoint_url: Option<String>,
    /// profile name (e.g. INI section in AWS credentials file)
    #[arg(
        short = 'P',
        long = "aws-profile",
        visible_alias = "profile",
        help_heading = "Extra options for the aws-s3 cloud provider"
    )]
    pub aws_profile: Option<String>,
    /// the time in seconds until a timeout is raised when waiting to read from a connection
    /// (defaults to 60 seconds)
    #[arg(
        long = "read-timeout",
        help_heading = "Extra options for the aws-s3 cloud provider"
    )]
    pub read_timeout: Option<u64>,
    /// the addressing style to use for S3 requests. Valid values are 'auto' (default),
    /// 'virtual' (virtual-hosted-style), or 'path' (path-style)
    #[arg(
        long = "addressing-style",
        value_parser = ["auto", "virtual", "path"],
        help_heading = "Extra options for the aws-s3 cloud provider"
    )]
    pub addressing_style: Option<String>,
    /// Optionally specify the type of credential to use when authenticating with Azure
    /// (accepted for compatibility; Azure is not supported yet).
    #[arg(
        long = "azure-credential",
        visible_aliases = ["credential", "default"],
        value_parser = ["azure-cli", "managed-identity", "default"],
        help_heading = "Extra options for the azure-blob-storage cloud provider"
    )]
    pub azure_credential: Option<String>,
}

impl CommonArgs {
    /// The store options these flags ask for.
    pub fn options(&self) -> CloudOptions {
        CloudOptions {
            endpoint_url: self.endpoint_url.clone(),
            profile: self.aws_profile.clone(),
            read_timeout: self.read_timeout,
            addressing_style: self.addressing_style.clone(),
            encryption: None,
            sse_kms_key_id: None,
            sse_customer_key: None,
        }
    }

    /// Python's log level: WARNING shifted by `-v`/`-q` (10 per step, at least DEBUG).
    pub fn log(&self) -> Log {
        let level = 30 - 10 * (i32::from(self.verbose) - i32::from(self.quiet));
        Log {
            level: level.max(10),
            to_log_file: false,
        }
    }
}

/// barman-cloud's logging: `%(asctime)s [%(process)s] %(levelname)s: %(message)s` on stderr.
#[derive(Debug, Clone, Copy)]
pub struct Log {
    level: i32,
    /// Barman's own commands (`barman cloud-wal-restore`) log to Barman's log file, as
    /// their Python code logs through `logging` with no console handler.
    to_log_file: bool,
}

impl Log {
    /// The log of a `barman` command: every line goes to Barman's log file (its level
    /// decides), none to the console.
    pub fn barman() -> Log {
        Log {
            level: 10,
            to_log_file: true,
        }
    }

    fn emit(&self, level: i32, name: &str, message: &str) {
        if self.to_log_file {
            match level {
                40.. => tracing::error!(target: "barman.cloud", "{message}"),
                30..=39 => tracing::warn!(target: "barman.cloud", "{message}"),
                20..=29 => tracing::info!(target: "barman.cloud", "{message}"),
                _ => tracing::debug!(target: "barman.cloud", "{message}"),
            }
            return;
        }
        if level >= self.level {
            let now = chrono::Local::now().format("%Y-%m-%d %H:%M:%S,%3f");
            crate::output::eprint_raw(&format!(
                "{now} [{}] {name}: {message}\n",
                std::process::id()
            ));
        }
    }
    /// An ERROR line.
    pub fn error(&self, message: &str) {
        self.emit(40, "ERROR", message);
    }
    /// A WARNING line.
    pub fn warning(&self, message: &str) {
        self.emit(30, "WARNING", message);
    }
    /// An INFO line.
    pub fn info(&self, message: &str) {
        self.emit(20, "INFO", message);
    }
    /// A DEBUG line.
    pub fn debug(&self, message: &str) {
        self.emit(10, "DEBUG", message);
    }
}

/// Open the store the tool names.
pub fn open_store(
    common: &CommonArgs,
    url: &str,
    options: CloudOptions,
) -> Result<CloudStore, crate::adapters::cloud::CloudError> {
    CloudStore::open(common.cloud_provider, url, &options, &AwsFiles::from_env())
}

/// `--test`: barman-cloud's `verify_cloud_connectivity_and_bucket_existence`.
pub fn verify(store: &CloudStore, log: Log) -> ExitCode {
    match store.bucket_exists() {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => {
            log.error(&format!("Bucket {} does not exist", store.url.bucket));
            crate::app::exit::exit_code(ExitKind::CloudOperation)
        }
        Err(e) if e.is_connectivity() => {
            log.error(&format!("Can't connect to cloud provider: {e}"));
            crate::app::exit::exit_code(ExitKind::CloudNetwork)
        }
        Err(e) => {
            log.error(&format!("{e}"));
            crate::app::exit::exit_code(ExitKind::CloudGeneral)
        }
    }
}

/// Parse the command line as argparse would, with abbreviations; usage errors exit 3
/// (`CLIErrorExit`), `--help` and `--version` exit 0.
pub fn parse<P: clap::Parser>() -> P {
    let mut cmd = P::command();
    cmd.build();
    let result = crate::cli::abbrev::expand(&cmd, std::env::args_os().collect())
        .and_then(|args| cmd.try_get_matches_from_mut(args))
        .and_then(|mut matches| P::from_arg_matches_mut(&mut matches));
    match result {
        Ok(parsed) => parsed,
        Err(e) if e.use_stderr() => {
            let _ = e.print();
            std::process::exit(3)
        }
        Err(e) => e.exit(),
    }
}

/// The host's UTC offset now: Python reads naive backup times in the local zone.
pub fn local_offset() -> chrono::FixedOffset {
    *chrono::Local::now().offset()
}
