//! The commit-time index (doc/commit-index.md) on real PostgreSQL 15: archiving records each
//! segment's transaction end times; a `--target-time` restore copies only the WAL up to the
//! segment where the target is passed and the recovered cluster still holds exactly the rows
//! committed before the target; without the index every WAL is copied; `show-backup` prints
//! the recovery window and `drill` the replay estimate.

use crate::harness::pg_cluster::{pg_available, shared_tempdir};
use crate::harness::{BarmanHome, PgCluster};
use crate::require;
use std::path::Path;

struct Lab {
    home: BarmanHome,
    pg: PgCluster,
    _drills: tempfile::TempDir,
}

fn lab() -> Lab {
    let home = BarmanHome::new();
    let command = crate::harness::incoming_archive_command(&home);
    let pg = crate::harness::archiving_cluster(&command);
    let drills = shared_tempdir();
    home.write_config(
        &format!(
            "log_file = {}\ndrill_directory = {}\nrecovery_estimates = on\n",
            home.dir().join("barman.log").display(),
            drills.path().display()
        ),
        &[(
            "pg",
            &format!(
                "conninfo = {c}\nstreaming_conninfo = {c}\nbackup_method = postgres\narchiver = on\n\
                 immediate_checkpoint = true\npath_prefix = /usr/lib/postgresql/15/bin\ncompression = gzip",
                c = pg.conninfo()
            ),
        )],
    );
    pg.execute("CREATE TABLE marks (tag text, n int)");
    mark(&pg, "base");
    Lab {
        home,
        pg,
        _drills: drills,
    }
}

fn mark(pg: &PgCluster, tag: &str) {
    pg.execute(&format!(
        "INSERT INTO marks SELECT '{tag}', g FROM generate_series(1, 100) g"
    ));
}

/// Close the current segment, wait until PostgreSQL archived it, file it.
fn ship(lab: &Lab) {
    lab.pg.execute("SELECT pg_switch_wal()");
    crate::harness::wait_until("archiving", || {
        lab.pg.query_scalar(
            "SELECT count(*) FROM pg_ls_dir('pg_wal/archive_status') f WHERE f LIKE '%.ready'",
        ) == "0"
    });
    lab.home.run(&["archive-wal", "pg"]).ok();
}

fn index_path(lab: &Lab) -> std::path::PathBuf {
    lab.home.server_dir("pg").join("wals/pg-xlog.db.commits")
}

/// Restore to `time` into `name`, start it, return (tags, WAL files copied, stdout).
fn restore_to(lab: &Lab, id: &str, name: &str, time: &str) -> (Vec<String>, usize, String) {
    let dest = lab.home.dir().join(name);
    let run = lab.home.run(&[
        "-d",
        "restore",
        "pg",
        id,
        dest.to_str().unwrap(),
        "--target-time",
        time,
        "--target-action",
        "promote",
    ]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let copied = wal_files(&dest.join("barman_wal"));
    let mut pg = PgCluster::start_in_place(&dest, &[]);
    crate::harness::wait_until("promotion", || {
        pg.query_scalar("SELECT pg_is_in_recovery()") == "f"
    });
    let tags = pg
        .query_rows("SELECT tag FROM marks GROUP BY tag ORDER BY tag")
        .into_iter()
        .map(|r| r[0].clone())
        .collect();
    pg.stop();
    (tags, copied, run.stdout + &run.stderr)
}

fn wal_files(dir: &Path) -> usize {
    std::fs::read_dir(dir)
        .unwrap()
        .filter(|e| e.as_ref().unwrap().file_name().len() == 24)
        .count()
}

#[test]
fn commit_index_target_time_restore_copies_less_and_reaches_the_target() {
    require!("PostgreSQL 15", pg_available());
    let lab = lab();
    lab.home.run(&["backup", "pg"]).ok();
    let id = lab
        .home
        .run(&["list-backups", "--minimal", "pg"])
        .ok()
        .stdout
        .lines()
        .next()
        .unwrap()
        .to_string();
    mark(&lab.pg, "before");
    ship(&lab);
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let time = lab.pg.query_scalar("SELECT now()::text");
    let epoch: f64 = lab
        .pg
        .query_scalar("SELECT extract(epoch FROM now())::text")
        .parse()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1100));
    for _ in 0..4 {
        mark(&lab.pg, "after");
        ship(&lab);
    }

    // Every archived segment has a line; the ones with our inserts carry commit times.
    let index = std::fs::read_to_string(index_path(&lab)).unwrap();
    assert!(!index.contains("unknown"), "{index}");
    let with_commits = index.lines().filter(|l| !l.ends_with(" 0")).count();
    assert!(with_commits >= 5, "{index}");
    // The times are PostgreSQL's: commits before the target in one segment, after it in
    // four others.
    let seconds = |t: &str| {
        chrono::DateTime::parse_from_rfc3339(t)
            .unwrap()
            .timestamp_micros() as f64
            / 1e6
    };
    let spans: Vec<(f64, f64)> = index
        .lines()
        .filter(|l| !l.ends_with(" 0"))
        .map(|l| {
            let f: Vec<&str> = l.split(' ').collect();
            (seconds(f[1]), seconds(f[2]))
        })
        .collect();
    assert!(
        spans
            .iter()
            .any(|(_, last)| *last < epoch && epoch - last < 5.0),
        "{index}"
    );
    assert!(
        spans.iter().filter(|(first, _)| *first > epoch).count() >= 4,
        "{index}"
    );

    let (tags, cut, stdout) = restore_to(&lab, &id, "r-index", &time);
    assert_eq!(tags, ["base", "before"], "{stdout}");
    assert!(stdout.contains("Replay estimate: "), "{stdout}");
    assert!(
        stdout.contains("The commit-time index shows the target time is passed in "),
        "{stdout}"
    );

    // Without the index every WAL after the backup is copied (today's behaviour).
    std::fs::rename(index_path(&lab), lab.home.dir().join("commits.saved")).unwrap();
    let (tags, all, stdout) = restore_to(&lab, &id, "r-all", &time);
    assert_eq!(tags, ["base", "before"], "{stdout}");
    assert!(!stdout.contains("Replay estimate: "), "{stdout}");
    assert!(cut < all, "with the index {cut} WAL files, without {all}");
    assert!(
        all - cut >= 3,
        "with the index {cut} WAL files, without {all}"
    );
    std::fs::rename(lab.home.dir().join("commits.saved"), index_path(&lab)).unwrap();

    // The recovery window runs from the backup's end to the last commit archived.
    let show = lab.home.run(&["show-backup", "pg", &id]).ok().stdout;
    assert!(show.contains("  Recovery window      : "), "{show}");
    let json = lab
        .home
        .run(&["-f", "json", "show-backup", "pg", &id])
        .ok()
        .stdout;
    let doc: serde_json::Value = serde_json::from_str(&json).unwrap();
    let window = &doc["pg"]["recovery_window"];
    let latest = window["latest"].as_str().unwrap();
    assert!(latest > window["earliest"].as_str().unwrap(), "{doc}");
    assert!(latest > time.as_str(), "{latest} {time}");

    // Off (the default), show-backup and restore print exactly what Barman prints.
    let config = std::fs::read_to_string(lab.home.config_path()).unwrap();
    let off = config.replace("recovery_estimates = on", "recovery_estimates = off");
    std::fs::write(lab.home.config_path(), off).unwrap();
    let show = lab.home.run(&["show-backup", "pg", &id]).ok().stdout;
    assert!(!show.contains("Recovery window"), "{show}");
    let json = lab
        .home
        .run(&["-f", "json", "show-backup", "pg", &id])
        .ok()
        .stdout;
    assert!(!json.contains("recovery_window"), "{json}");
    let (tags, _, stdout) = restore_to(&lab, &id, "r-quiet", &time);
    assert_eq!(tags, ["base", "before"], "{stdout}");
    // Only under -d (which restore_to passes) and in the log.
    assert!(
        !stdout.lines().any(|l| l.starts_with("Replay estimate: ")),
        "{stdout}"
    );
    assert!(stdout.contains("DEBUG: Replay estimate: "), "{stdout}");
    std::fs::write(lab.home.config_path(), config).unwrap();

    // A drill to the same time prints the estimate before replaying and records it.
    let run = lab.home.run(&["drill", "pg", &id, "--target-time", &time]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert!(
        run.stdout.starts_with("Replay estimate: "),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("  Replayed: "), "{}", run.stdout);
    assert!(
        run.stdout
            .contains("Database postgres: 200 rows in 1 tables"),
        "{}",
        run.stdout
    );
}
