//! `export-backup` and `import-backup` arguments (Barman 3.19+), in Barman's argparse
//! spellings and help texts.

use clap::{Args, ValueEnum};
use std::path::PathBuf;

/// `--compression` choices of `export-backup`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ExportCompressionArg {
    /// gzip (.tar.gz)
    Gzip,
    /// bzip2 (.tar.bz2)
    Bzip2,
    /// xz (.tar.xz)
    Xz,
}

/// `export-backup` arguments.
#[derive(Debug, Args)]
pub struct ExportBackupArgs {
    /// specifies the server name for the command
    #[arg(value_name = "server_name")]
    pub server_name: String,
    /// specifies the backup ID to export
    #[arg(value_name = "backup_id")]
    pub backup_id: String,
    /// directory where the exported tarball will be saved
    #[arg(value_name = "output_directory")]
    pub output_directory: PathBuf,
    /// if specified, compress the exported tarball using the given algorithm (default: no
    /// compression)
    #[arg(long = "compression", value_enum)]
    pub compression: Option<ExportCompressionArg>,
    /// compression level for the specified algorithm, if any. Valid levels are 1-9 for
    /// gzip/bzip2, 0-9 for xz (default: algorithm default level)
    #[arg(
        long = "compression-level",
        value_name = "COMPRESSION_LEVEL",
        allow_negative_numbers = true
    )]
    pub compression_level: Option<i64>,
}

/// `import-backup` arguments.
#[derive(Debug, Args)]
pub struct ImportBackupArgs {
    /// specifies the server name for the command
    #[arg(value_name = "server_name")]
    pub server_name: String,
    /// path to the exported backup tarball to import
    #[arg(value_name = "input_tarball")]
    pub input_tarball: PathBuf,
}
