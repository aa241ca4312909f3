//! `barman-cloud-backup-show`: see `barman::clients::cloud::backup_show`.
use std::process::ExitCode;

fn main() -> ExitCode {
    barman::clients::cloud::backup_show::run(barman::clients::cloud::parse())
}
