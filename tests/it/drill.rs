//! `barman drill`: a good backup drills green (restored, started, replayed, amcheck clean,
//! rows counted, recorded beside the backup); a backup whose table file was corrupted on
//! purpose drills red and names the file; a backup that cannot start drills red; each
//! leaves no server and no scratch files behind.

use crate::archive_wal::archiving_cluster;
use crate::harness::pg_cluster::{pg_available, shared_tempdir};
use crate::harness::{wait_until, BarmanHome, PgCluster};
use crate::require;
use std::path::{Path, PathBuf};

struct Lab {
    home: BarmanHome,
    pg: PgCluster,
    drills: tempfile::TempDir,
}

fn lab() -> Lab {
    lab_with("")
}

fn lab_with(global: &str) -> Lab {
    let home = BarmanHome::new();
    let command = crate::harness::incoming_archive_command(&home);
    let pg = archiving_cluster(&command);
    // PostgreSQL (run as `postgres` when the tests run as root) must reach the scratch data.
    let drills = shared_tempdir();
    home.write_config(
        &format!(
            "log_file = {}\ndrill_directory = {}\n{global}",
            home.dir().join("barman.log").display(),
            drills.path().display()
        ),
        &[(
            "pg",
            &format!(
                "conninfo = {c}\nstreaming_conninfo = {c}\nbackup_method = postgres\narchiver = on\n\
                 immediate_checkpoint = true\npath_prefix = /usr/lib/postgresql/15/bin",
                c = pg.conninfo()
            ),
        )],
    );
    pg.execute("CREATE TABLE t (i int PRIMARY KEY, note text)");
    pg.execute("INSERT INTO t SELECT g, 'row ' || g FROM generate_series(1, 1000) g");
    Lab { home, pg, drills }
}

fn backup(lab: &Lab) -> String {
    lab.home.run(&["backup", "pg"]).ok();
    let list = lab
        .home
        .run(&["list-backups", "--minimal", "pg"])
        .ok()
        .stdout;
    list.lines().next().unwrap().to_string()
}

/// WAL after the backup, in another table (t's pages stay as the backup has them).
fn more_wal(lab: &Lab) {
    lab.pg
        .execute("CREATE TABLE later AS SELECT g FROM generate_series(1, 500) g");
    lab.home
        .run(&["switch-wal", "--force", "--archive", "pg"])
        .ok();
}

fn sidecar(lab: &Lab, id: &str) -> serde_json::Value {
    let path = lab
        .home
        .server_dir("pg")
        .join(format!("meta/{id}-drill.json"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn assert_left_nothing(lab: &Lab) {
    let left: Vec<PathBuf> = std::fs::read_dir(lab.drills.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert!(left.is_empty(), "the drill left {left:?}");
}

#[test]
fn drill_of_a_good_backup_is_green_and_recorded() {
    require!("PostgreSQL 15", pg_available());
    let lab = lab();
    let id = backup(&lab);
    more_wal(&lab);
    let run = lab.home.run(&["drill", "pg"]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert!(
        run.stdout
            .contains(&format!("Drill of backup {id} of server pg: PASSED")),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("amcheck: no corruption found"),
        "{}",
        run.stdout
    );
    // Every archived WAL replayed: t's 1000 rows and the 500 written after the backup.
    assert!(
        run.stdout
            .contains("Database postgres: 1500 rows in 2 tables"),
        "{}",
        run.stdout
    );
    let record = sidecar(&lab, &id);
    assert_eq!(record["backup_id"], id.as_str());
    assert_eq!(record["failure"], serde_json::Value::Null);
    assert!(record["wal_files"].as_u64().unwrap() >= 1, "{record}");
    assert!(record["replay_seconds"].as_f64().unwrap() > 0.0, "{record}");
    assert_left_nothing(&lab);
    // JSON, and a point in time before the later table.
    let run = lab
        .home
        .run(&["-f", "json", "drill", "pg", &id, "--target-immediate"]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let doc: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(doc["pg"]["target"], "immediate");
    assert_eq!(doc["pg"]["databases"][0]["rows"], 1000, "{doc}");
    assert_left_nothing(&lab);
    // The record shows in show-backup and metrics, and goes with the backup.
    let show = lab.home.run(&["show-backup", "pg", &id]).ok().stdout;
    assert!(
        show.contains("  Last drill           : PASSED at "),
        "{show}"
    );
    let metrics = lab.home.run(&["metrics", "pg"]).ok().stdout;
    assert!(
        metrics.contains("barman_last_drill_passed{server=\"pg\"} 1\n"),
        "{metrics}"
    );
    lab.home.run(&["delete", "pg", &id]).ok();
    let meta = lab
        .home
        .server_dir("pg")
        .join(format!("meta/{id}-drill.json"));
    assert!(!meta.exists(), "the drill record outlived its backup");
}

/// The file of table `t` inside the backup's copy of the data directory.
fn backup_file_of_t(lab: &Lab, id: &str) -> (PathBuf, String) {
    let relative = lab.pg.query_scalar("SELECT pg_relation_filepath('t')");
    let path = lab
        .home
        .server_dir("pg")
        .join(format!("base/{id}/data"))
        .join(&relative);
    (path, relative)
}

fn corrupt(path: &Path) {
    use std::os::unix::fs::FileExt;
    let file = std::fs::OpenOptions::new().write(true).open(path).unwrap();
    // Tuple headers of the first page (its line pointers intact, so the tuples are read).
    file.write_all_at(&[0x5A; 1200], 6000).unwrap();
}

#[test]
fn drill_of_a_corrupted_backup_is_red_and_names_the_file() {
    require!("PostgreSQL 15", pg_available());
    let lab = lab();
    let id = backup(&lab);
    let (file, relative) = backup_file_of_t(&lab, &id);
    corrupt(&file);
    let run = lab.home.run(&["drill", "pg", &id, "--target-immediate"]);
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    assert!(
        run.stdout
            .contains(&format!("Drill of backup {id} of server pg: FAILED")),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("Corruption:"), "{}", run.stdout);
    assert!(
        run.stdout.contains(&format!("(file {relative})")),
        "{}",
        run.stdout
    );
    let record = sidecar(&lab, &id);
    assert!(
        !record["corruption"].as_array().unwrap().is_empty(),
        "{record}"
    );
    assert_left_nothing(&lab);
}

#[test]
fn drill_that_cannot_start_is_red_and_cleans_up() {
    require!("PostgreSQL 15", pg_available());
    let lab = lab();
    let id = backup(&lab);
    let control = lab
        .home
        .server_dir("pg")
        .join(format!("base/{id}/data/global/pg_control"));
    std::fs::write(&control, b"not a control file").unwrap();
    let run = lab.home.run(&["drill", "pg"]);
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    assert!(run.stdout.contains(": FAILED"), "{}", run.stdout);
    assert!(run.stdout.contains("Failure: "), "{}", run.stdout);
    let record = sidecar(&lab, &id);
    assert!(record["failure"].as_str().is_some(), "{record}");
    assert_left_nothing(&lab);
    let procs = std::process::Command::new("pgrep")
        .args(["-f", &lab.drills.path().display().to_string()])
        .output()
        .unwrap();
    assert!(procs.stdout.is_empty(), "a drill server is still running");
}

#[test]
fn cron_drills_on_schedule_and_check_watches_the_age() {
    require!("PostgreSQL 15", pg_available());
    let lab = lab_with("drill_schedule = 1 DAYS\ndrill_maximum_age = 2 DAYS");
    let id = backup(&lab);
    let line = |run: &crate::harness::Run| {
        run.stdout
            .lines()
            .find(|l| l.contains("drill maximum age"))
            .unwrap_or_default()
            .trim()
            .to_string()
    };
    let check = lab.home.run(&["check", "pg"]);
    assert_eq!(
        line(&check),
        "drill maximum age: FAILED (interval provided: 2 days, latest successful drill age: no successful drill)",
        "{}",
        check.stdout
    );
    let cron = lab.home.run(&["cron"]).ok();
    assert!(
        cron.stdout
            .contains("Starting a restore drill for server pg"),
        "{}",
        cron.stdout
    );
    let record = lab
        .home
        .server_dir("pg")
        .join(format!("meta/{id}-drill.json"));
    wait_until("the drill cron started", || record.exists());
    assert_eq!(sidecar(&lab, &id)["failure"], serde_json::Value::Null);
    let check = lab.home.run(&["check", "pg"]);
    assert!(
        line(&check).starts_with(
            "drill maximum age: OK (interval provided: 2 days, latest successful drill age: "
        ),
        "{}",
        check.stdout
    );
    // Drilled today: the next cron starts none.
    wait_until("the drill lock is free", || {
        !lab.home
            .run(&["list-processes", "pg"])
            .stdout
            .contains("drill")
    });
    let cron = lab.home.run(&["cron"]).ok();
    assert!(!cron.stdout.contains("restore drill"), "{}", cron.stdout);
    assert_left_nothing(&lab);
}
