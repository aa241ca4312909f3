//! `barman-cloud-backup-delete`: see `barman::clients::cloud::backup_delete`.
use std::process::ExitCode;

fn main() -> ExitCode {
    barman::clients::cloud::backup_delete::run(barman::clients::cloud::parse())
}
