//! `barman-wal-restore`: see `barman::clients::wal_restore`.
use std::process::ExitCode;

fn main() -> ExitCode {
    barman::clients::wal_restore::run(barman::cli::abbrev::parse())
}
