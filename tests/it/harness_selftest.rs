//! Proof that each harness piece works: a cluster answers SQL with its settings, two
//! clusters get different ports, ssh logs in as `postgres` and rsync copies over it, a
//! BarmanHome writes a configuration, Python Barman runs.

use crate::harness::pg_cluster::{pg_available, PgOptions};
use crate::harness::sshd::ssh_available;
use crate::harness::{python_barman, BarmanHome, PgCluster, Run, Sshd};
use crate::require;
use std::process::Command;

#[test]
fn harness_cluster_starts_answers_sql_and_applies_settings() {
    require!("PostgreSQL 15 binaries", pg_available());
    let a = PgCluster::start(
        PgOptions::default()
            .set("archive_mode", "on")
            .set("archive_command", "'/bin/true'"),
    );
    let b = PgCluster::start(PgOptions::default());
    assert_ne!(a.port(), b.port());
    assert_eq!(a.query_scalar("SELECT 1 + 1"), "2");
    assert_eq!(a.query_scalar("SHOW archive_mode"), "on");
    assert_eq!(b.query_scalar("SHOW archive_mode"), "off");
    assert_eq!(a.query_scalar("SHOW wal_level"), "replica");
    a.execute("CREATE TABLE t (i int); INSERT INTO t VALUES (1), (2)");
    assert_eq!(a.query_scalar("SELECT count(*) FROM t"), "2");
}

#[test]
fn harness_cluster_with_small_segments_and_checksums() {
    require!("PostgreSQL 15 binaries", pg_available());
    let pg = PgCluster::start(PgOptions {
        wal_segsize_mb: Some(1),
        data_checksums: true,
        ..PgOptions::default()
    });
    assert_eq!(pg.query_scalar("SHOW wal_segment_size"), "1MB");
    assert_eq!(pg.query_scalar("SHOW data_checksums"), "on");
}

#[test]
fn harness_ssh_runs_commands_as_postgres_and_rsync_copies() {
    require!("sshd, ssh and rsync", ssh_available());
    let sshd = Sshd::start("postgres");
    let out = sshd.run("id -un");
    assert!(
        out.status.success(),
        "ssh failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "postgres");

    let dir = tempfile::tempdir().unwrap();
    let source = dir.path().join("source.txt");
    std::fs::write(&source, "copied over ssh\n").unwrap();
    let remote_dir = crate::harness::pg_cluster::shared_tempdir();
    crate::harness::pg_cluster::give_to_postgres(remote_dir.path());
    let target = remote_dir.path().join("target.txt");
    let status = Command::new("rsync")
        .arg("-e")
        .arg(
            sshd.ssh_command()
                .trim_end_matches("postgres@127.0.0.1")
                .trim(),
        )
        .arg(&source)
        .arg(format!("postgres@127.0.0.1:{}", target.display()))
        .status()
        .unwrap();
    assert!(status.success());
    assert_eq!(
        std::fs::read_to_string(&target).unwrap(),
        "copied over ssh\n"
    );
}

#[test]
fn harness_barman_home_writes_a_config_our_binary_reads() {
    let home = BarmanHome::new();
    home.write_config(
        "",
        &[(
            "pg",
            "description = test server\nconninfo = host=x\nssh_command = ssh x\narchiver = on",
        )],
    );
    let run = home.run(&["list-servers"]).ok();
    assert_eq!(run.stdout, "pg - test server\n");
}

#[test]
fn harness_python_barman_runs() {
    require!(
        "Python Barman (scripts/python-barman)",
        python_barman::available()
    );
    let mut cmd = python_barman::command().unwrap();
    let run = Run::of(cmd.arg("-v")).ok();
    assert!(
        run.stdout.contains("Barman by EnterpriseDB"),
        "{}",
        run.stdout
    );
}
