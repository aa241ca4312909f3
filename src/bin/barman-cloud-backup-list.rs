//! `barman-cloud-backup-list`: see `barman::clients::cloud::backup_list`.
use std::process::ExitCode;

fn main() -> ExitCode {
    barman::clients::cloud::backup_list::run(barman::clients::cloud::parse())
}
