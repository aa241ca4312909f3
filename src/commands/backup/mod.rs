//! `backup SERVER|all`: take a base backup with the server's `backup_method`.

use crate::commands::Context;
use crate::output::Output;

/// `--reuse-backup`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReuseBackup {
    /// copy everything
    Off,
    /// rsync --copy-dest against the previous backup
    Copy,
    /// rsync --link-dest against the previous backup
    Link,
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
}

/// `backup`.
pub fn run(
    ctx: &Context,
    out: &mut Output,
    servers: &[String],
    options: &BackupOptions,
) -> crate::Result<()> {
    let _ = (ctx, out, servers, options);
    Err(crate::Error::Fatal("SCAFFOLD backup".into()))
}
