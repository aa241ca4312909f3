//! `barman-cloud-backup`: see `barman::clients::cloud::backup`.
use std::process::ExitCode;

fn main() -> ExitCode {
    barman::clients::cloud::backup_run::run(barman::clients::cloud::parse())
}
