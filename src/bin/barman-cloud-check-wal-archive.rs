//! `barman-cloud-check-wal-archive`: see `barman::clients::cloud::check_wal_archive`.
use std::process::ExitCode;

fn main() -> ExitCode {
    barman::clients::cloud::check_wal_archive::run(barman::clients::cloud::parse())
}
