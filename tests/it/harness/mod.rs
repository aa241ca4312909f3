//! Test harness: real services started per test and stopped on drop.
//!
//! A test needing something this machine lacks (PostgreSQL binaries, sshd, rsync, Python
//! Barman) is skipped with a message locally, and fails when `BARMAN_TEST_REQUIRE_ALL=1`
//! (CI), so a skip can never hide a broken set-up there.

#![allow(dead_code)]

pub mod auth;
pub mod barman_home;
pub mod pg_cluster;
pub mod ports;
pub mod python_barman;
pub mod sshd;

pub use barman_home::{BarmanHome, Run};
pub use pg_cluster::PgCluster;
pub use sshd::Sshd;

/// `true` when the test may run; otherwise prints why it is skipped, or panics under CI.
pub fn available(what: &str, present: bool) -> bool {
    if present {
        return true;
    }
    if std::env::var("BARMAN_TEST_REQUIRE_ALL").is_ok_and(|v| v == "1") {
        panic!("{what} is required (BARMAN_TEST_REQUIRE_ALL=1) but missing");
    }
    eprintln!("SKIP: {what} is missing on this machine");
    false
}

/// Skip (or fail under CI) the calling test when `$present` is false.
#[macro_export]
macro_rules! require {
    ($what:expr, $present:expr) => {
        if !$crate::harness::available($what, $present) {
            return;
        }
    };
}

/// True when running as root (PostgreSQL tools then run through `runuser -u postgres`).
pub fn is_root() -> bool {
    nix::unistd::geteuid().is_root()
}
