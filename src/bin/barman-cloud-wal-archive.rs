//! `barman-cloud-wal-archive`: see `barman::clients::cloud::wal_archive`.
use std::process::ExitCode;

fn main() -> ExitCode {
    barman::clients::cloud::wal_archive::run(barman::clients::cloud::parse())
}
