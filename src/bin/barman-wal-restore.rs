//! `barman-wal-restore`: see `barman::clients::wal_restore`.
use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    barman::clients::wal_restore::run(barman::clients::wal_restore::Args::parse())
}
