//! When `backup` reports a concurrent backup done, PostgreSQL has archived the WAL it needs:
//! the segment holding the stop point and the backup history file, as Barman's
//! `pg_backup_stop()` (which waits for the archive) guarantees. Ours polls the archive status
//! itself when the role may list `pg_wal` (superuser or `pg_monitor`) rather than paying
//! PostgreSQL's one-second re-check, and leaves the wait to PostgreSQL otherwise. Both paths
//! run against an `archive_command` that takes half a second per file, so a stop that did
//! not wait would return before the files are archived.

use crate::harness::pg_cluster::{pg_available, PgOptions};
use crate::harness::{BarmanHome, PgCluster};
use crate::require;

fn info_field(home: &BarmanHome, id: &str, key: &str) -> String {
    let path = home.home().join(format!("pg/meta/{id}-backup.info"));
    let text = std::fs::read_to_string(&path).unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{key}=")))
        .unwrap_or_else(|| panic!("no {key} in {}", path.display()))
        .to_string()
}

/// Back up with `conninfo`, then check that the stop segment and the history file had been
/// archived when the command returned; gives the debug log's text.
fn backup_and_check_archived(home: &BarmanHome, conninfo: &str, log: &std::path::Path) -> String {
    home.write_include(
        "pg.conf",
        &format!(
            "[pg]\nconninfo = {conninfo}\nbackup_method = local-rsync\narchiver = on\n\
             immediate_checkpoint = true\n"
        ),
    );
    let _ = std::fs::remove_file(log);
    let run = home.run(&["-d", "--log-level", "DEBUG", "backup", "pg"]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let id = run
        .stdout
        .lines()
        .find_map(|l| {
            l.strip_prefix("Starting backup using rsync-concurrent method for server pg in ")
        })
        .and_then(|rest| rest.rsplit('/').next())
        .unwrap_or_else(|| panic!("no backup id in:\n{}", run.stdout))
        .to_string();
    let offset: u64 = info_field(home, &id, "begin_offset").parse().unwrap();
    let history = format!("{}.{offset:08X}.backup", info_field(home, &id, "begin_wal"));
    let end_wal = info_field(home, &id, "end_wal");
    // The backup's own archive-wal run may already have moved them from incoming/.
    for file in [&history, &end_wal] {
        let in_archive = home.home().join("pg/wals").join(&file[..16]).join(file);
        assert!(
            home.home().join("pg/incoming").join(file).exists() || in_archive.exists(),
            "{file} was not archived when backup returned:\n{}",
            run.stdout
        );
    }
    std::fs::read_to_string(log).unwrap_or_default()
}

#[test]
fn backup_returns_once_its_wal_is_archived_with_or_without_pg_monitor() {
    require!("PostgreSQL 15", pg_available());
    let home = BarmanHome::new();
    let archive = crate::harness::incoming_archive_command(&home);
    // Half a second per file: PostgreSQL's quoted command, with a pause in front.
    let slow = format!("'sleep 0.5 && {}", &archive[1..]);
    let pg = PgCluster::start(
        PgOptions {
            wal_segsize_mb: Some(1),
            ..PgOptions::default()
        }
        .set("archive_mode", "on")
        .set("archive_command", &slow),
    );
    pg.execute("CREATE TABLE t AS SELECT g AS i FROM generate_series(1, 1000) g");
    let log = home.log_path();
    home.write_config(&home.log_file_line(), &[]);

    // The superuser may list pg_wal: ours polls the archive status.
    let text = backup_and_check_archived(&home, &pg.conninfo(), &log);
    assert!(
        text.contains("Waiting for PostgreSQL to archive "),
        "{text}"
    );
    assert!(
        text.contains("All required WAL segments have been archived"),
        "{text}"
    );

    // A role with Barman's documented backup privileges but not pg_monitor: PostgreSQL waits.
    pg.create_user("bk", "");
    pg.execute(
        "GRANT EXECUTE ON FUNCTION pg_backup_start(text, boolean) TO bk; \
         GRANT EXECUTE ON FUNCTION pg_backup_stop(boolean) TO bk; \
         GRANT EXECUTE ON FUNCTION pg_switch_wal() TO bk; \
         GRANT EXECUTE ON FUNCTION pg_create_restore_point(text) TO bk; \
         GRANT pg_read_all_settings TO bk; GRANT pg_read_all_stats TO bk;",
    );
    let text = backup_and_check_archived(&home, &pg.conninfo_as("bk", "postgres"), &log);
    assert!(
        !text.contains("Waiting for PostgreSQL to archive "),
        "{text}"
    );
}
