//! `barman-wal-archive`: see `barman::clients::wal_archive`.
use std::process::ExitCode;

fn main() -> ExitCode {
    barman::clients::wal_archive::run(barman::cli::abbrev::parse())
}
