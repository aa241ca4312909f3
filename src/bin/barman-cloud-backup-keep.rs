//! `barman-cloud-backup-keep`: see `barman::clients::cloud::backup_keep`.
use std::process::ExitCode;

fn main() -> ExitCode {
    barman::clients::cloud::backup_keep::run(barman::clients::cloud::parse())
}
