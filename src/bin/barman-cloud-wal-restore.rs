//! `barman-cloud-wal-restore`: see `barman::clients::cloud::wal_restore`.
use std::process::ExitCode;

fn main() -> ExitCode {
    barman::clients::cloud::wal_restore::run(barman::clients::cloud::parse())
}
