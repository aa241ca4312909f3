//! `barman-wal-archive`: see `barman::clients::wal_archive`.
use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    barman::clients::wal_archive::run(barman::clients::wal_archive::Args::parse())
}
