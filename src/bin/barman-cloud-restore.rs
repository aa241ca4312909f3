//! `barman-cloud-restore`: see `barman::clients::cloud::restore`.
use std::process::ExitCode;

fn main() -> ExitCode {
    barman::clients::cloud::restore::run(barman::clients::cloud::parse())
}
