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
pub mod py_worker;
pub mod python_barman;
pub mod s3;
pub mod sshd;

pub use barman_home::{BarmanHome, Run};
pub use pg_cluster::PgCluster;
pub use sshd::Sshd;

/// Create the server `pg`'s `incoming/` in `home` (PostgreSQL may write there) and return
/// the `archive_command` that copies a segment into it under a temporary name first, as an
/// operator's plain `cp` command does.
pub fn incoming_archive_command(home: &BarmanHome) -> String {
    let incoming = home.home().join("pg/incoming");
    std::fs::create_dir_all(&incoming).unwrap();
    pg_cluster::give_to_postgres(&incoming);
    format!(
        "'test ! -f {inc}/%f && cp %p {inc}/.%f.tmp && mv {inc}/.%f.tmp {inc}/%f'",
        inc = incoming.display()
    )
}

/// A cluster with 1 MiB segments whose `archive_command` is `command` (already quoted).
pub fn archiving_cluster(command: &str) -> PgCluster {
    PgCluster::start(
        pg_cluster::PgOptions {
            wal_segsize_mb: Some(1),
            ..pg_cluster::PgOptions::default()
        }
        .set("archive_mode", "on")
        .set("archive_command", command),
    )
}

/// Assert that `run` exited 0, naming the step and showing both streams when it did not.
pub fn ok(run: Run, what: &str) -> Run {
    assert_eq!(
        run.code, 0,
        "{what}\nstdout:\n{}\nstderr:\n{}",
        run.stdout, run.stderr
    );
    run
}

/// Poll `done` every 300 ms until it holds; fail after two minutes naming `what`.
pub fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    while !done() {
        assert!(
            std::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        std::thread::sleep(std::time::Duration::from_millis(300));
    }
}

/// Switch WAL on `pg` and run `cron` in `home` until each of `servers` holds a WAL in its
/// xlog.db. With nothing archived yet, Barman's `WAL archive` check switches a WAL and waits
/// up to a third of check_timeout (10 s) for it, on every `check` a test loops on; each round
/// here costs milliseconds. pg_switch_wal() does nothing when no WAL was written since the
/// last switch (then only the standby snapshot, every 15 s, would move it): a logical
/// message writes a record first.
pub fn archive_a_first_wal(
    home: &barman_home::BarmanHome,
    pg: &pg_cluster::PgCluster,
    servers: &[&str],
) {
    let has_wal = |server: &&str| {
        let db = home.home().join(format!("{server}/wals/{server}-xlog.db"));
        std::fs::metadata(db).is_ok_and(|m| m.len() > 0)
    };
    wait_until("a WAL archived by every server", || {
        if servers.iter().all(has_wal) {
            return true;
        }
        pg.execute("SELECT pg_logical_emit_message(false, 'settle', ''), pg_switch_wal()");
        ok(home.run(&["cron"]), "cron");
        servers.iter().all(has_wal)
    });
}

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
