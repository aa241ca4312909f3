//! `cron` against a real PostgreSQL 15 with streaming (`streaming_archiver = on`, a slot
//! created by receive-wal) and an archive_command: cron starts receive-wal (seen by
//! list-processes, stopped by terminate-process), archives, our `backup` runs its hooks,
//! and with `REDUNDANCY 1` a later cron deletes the obsolete backups and their WAL. Two
//! crons started at once archive every segment exactly once. An idle server gets no
//! archive-wal child from cron.

use crate::harness::pg_cluster::pg_available;
use crate::harness::{BarmanHome, PgCluster};
use crate::require;
use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(90);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A cluster archiving into `<home>/pg/incoming`, 1 MiB segments, replication allowed.
fn lab(streaming: bool, extra: &str) -> (BarmanHome, PgCluster) {
    let home = BarmanHome::new();
    let command = crate::harness::incoming_archive_command(&home);
    let pg = crate::archive_wal::archiving_cluster(&command);
    write_config(&home, &pg, streaming, extra);
    (home, pg)
}

fn write_config(home: &BarmanHome, pg: &PgCluster, streaming: bool, extra: &str) {
    let streaming = if streaming {
        "streaming_archiver = on\nslot_name = barman\ncreate_slot = auto\n"
    } else {
        ""
    };
    home.write_config(
        &format!("log_file = {}", home.dir().join("barman.log").display()),
        &[(
            "pg",
            &format!(
                "conninfo = {c}\nstreaming_conninfo = {c}\nbackup_method = postgres\narchiver = on\n\
                 immediate_checkpoint = true\npath_prefix = /usr/lib/postgresql/15/bin\n{streaming}{extra}",
                c = pg.conninfo()
            ),
        )],
    );
}

/// `(pid, task)` pairs of list-processes.
fn processes(home: &BarmanHome) -> Vec<(u32, String)> {
    let run = home.run(&["-f", "json", "list-processes", "pg"]).ok();
    let doc: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    doc["pg"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["pid"].as_u64().unwrap() as u32,
                p["name"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn has_task(home: &BarmanHome, task: &str) -> bool {
    processes(home).iter().any(|(_, t)| t == task)
}

fn db_names(home: &BarmanHome) -> Vec<String> {
    crate::archive_wal::names_in_db(home)
}

fn ids(home: &BarmanHome) -> Vec<String> {
    let mut ids: Vec<String> = std::fs::read_dir(home.home().join("pg/meta"))
        .map(|d| {
            d.filter_map(|e| {
                let n = e.ok()?.file_name().to_string_lossy().into_owned();
                n.strip_suffix("-backup.info").map(str::to_string)
            })
            .collect()
        })
        .unwrap_or_default();
    ids.sort();
    ids
}

/// The hook recorder of backup hooks: `<dir>/<phase>-<n>` holds the BARMAN_* variables.
fn recorder(dir: &Path) -> String {
    format!(
        "env | grep ^BARMAN_ > {d}/$BARMAN_PHASE-$BARMAN_HOOK-$(ls {d} | wc -l)",
        d = dir.display()
    )
}

fn env_of(path: &Path) -> BTreeMap<String, String> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn ops_cron_cycle_streams_archives_backs_up_and_enforces_retention() {
    require!("PostgreSQL 15 binaries", pg_available());
    let record = tempfile::tempdir().unwrap();
    let hooks = format!(
        "pre_backup_script = {r}\npost_backup_retry_script = {r}\n",
        r = recorder(record.path())
    );
    let (home, pg) = lab(true, &hooks);
    let run = home.run(&["cron"]).ok();
    assert_eq!(
        run.stdout,
        "Starting WAL archiving for server pg\nStarting streaming archiver for server pg\n"
    );
    wait_for("receive-wal to run", || has_task(&home, "receive-wal"));
    let listed = home.run(&["list-processes", "pg"]).ok();
    let pid = processes(&home)
        .into_iter()
        .find(|(_, t)| t == "receive-wal")
        .unwrap()
        .0;
    assert!(
        listed
            .stdout
            .starts_with("Active subprocesses for server pg:\n")
            && listed.stdout.contains(&format!("{pid} receive-wal\n")),
        "{}",
        listed.stdout
    );
    wait_for("the slot to be active", || {
        pg.query_scalar(
            "SELECT count(*) FROM pg_replication_slots WHERE slot_name = 'barman' AND active",
        ) == "1"
    });
    crate::archive_wal::generate_wal(&pg, 3);
    // Another cron while receive-wal runs: it is not started twice.
    let run = home.run(&["cron"]).ok();
    assert_eq!(run.stdout, "Starting WAL archiving for server pg\n");
    wait_for("WAL in the archive", || db_names(&home).len() >= 3);

    for _ in 0..3 {
        crate::archive_wal::generate_wal(&pg, 1);
        let run = home.run(&["backup", "--wait", "pg"]);
        assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    }
    let backups = ids(&home);
    assert_eq!(backups.len(), 3);
    let pre = env_of(&record.path().join("pre-backup_script-0"));
    assert_eq!(pre["BARMAN_STATUS"], "EMPTY");
    assert_eq!(pre["BARMAN_BACKUP_ID"], backups[0]);
    assert_eq!(pre["BARMAN_PREVIOUS_ID"], "");
    let post = env_of(&record.path().join("post-backup_retry_script-1"));
    assert_eq!(post["BARMAN_RETRY"], "1");
    assert!(
        ["DONE", "WAITING_FOR_WALS"].contains(&post["BARMAN_STATUS"].as_str()),
        "{post:?}"
    );
    let third_pre = env_of(&record.path().join("pre-backup_script-4"));
    assert_eq!(third_pre["BARMAN_PREVIOUS_ID"], backups[1]);

    // A pre backup retry hook exiting 63 fails the backup.
    write_config(&home, &pg, true, "pre_backup_retry_script = exit 63\n");
    let run = home.run(&["backup", "pg"]);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.contains("ERROR: Backup failed starting backup.\nDETAILS: Abort 'pre_backup_retry_script' retry hook script (exit 63, exit code: 63)"),
        "{}",
        run.stderr
    );
    let failed = ids(&home).last().unwrap().clone();
    let info =
        std::fs::read_to_string(home.home().join(format!("pg/meta/{failed}-backup.info"))).unwrap();
    assert!(info.contains("status=FAILED"), "{info}");

    // Retention: REDUNDANCY 1 makes the two older DONE backups obsolete.
    let wal_before = db_names(&home);
    write_config(&home, &pg, true, "retention_policy = REDUNDANCY 1\n");
    let run = home.run(&["cron"]).ok();
    for old in &backups[..2] {
        assert!(
            run.stdout.contains(&format!(
                "Enforcing retention policy: removing backup {old} for server pg\nDeleting backup {old} for server pg\n"
            )),
            "{}",
            run.stdout
        );
        assert!(!home.home().join(format!("pg/base/{old}")).exists());
    }
    assert!(
        run.stdout.contains("Delete associated WAL segments:\n\t"),
        "{}",
        run.stdout
    );
    let kept = std::fs::read_to_string(
        home.home()
            .join(format!("pg/meta/{}-backup.info", backups[2])),
    )
    .unwrap();
    let begin = kept
        .lines()
        .find_map(|l| l.strip_prefix("begin_wal="))
        .unwrap()
        .to_string();
    let wal_after = db_names(&home);
    assert!(wal_after.len() < wal_before.len());
    assert!(
        wal_after
            .iter()
            .all(|w| w.ends_with(".history") || w.as_str() >= begin.as_str()),
        "{wal_after:?} (begin {begin})"
    );
    for w in wal_before.iter().filter(|w| !wal_after.contains(w)) {
        assert!(
            !home.home().join("pg/wals").join(&w[..16]).join(w).exists(),
            "{w}"
        );
    }

    // terminate-process stops receive-wal; then nothing is listed.
    let run = home.run(&["terminate-process", "pg", "receive-wal"]).ok();
    assert_eq!(run.stdout, format!("Stopped process receive-wal({pid})\n"));
    let run = home.run(&["list-processes", "pg"]).ok();
    assert_eq!(run.stdout, "No active subprocesses found for server pg.\n");
    let run = home.run(&["terminate-process", "pg", "receive-wal"]);
    assert_eq!(run.code, 1);
    assert_eq!(
        run.stderr,
        "ERROR: Termination of receive-wal failed: no such process for server pg\n"
    );

    // A stale lock left by a dead process is taken over by the next cron.
    std::fs::write(home.home().join(".pg-receive-wal.lock"), "999999\n").unwrap();
    assert!(!has_task(&home, "receive-wal"));
    let run = home.run(&["cron"]).ok();
    assert!(
        run.stdout
            .contains("Starting streaming archiver for server pg\n"),
        "{}",
        run.stdout
    );
    wait_for("receive-wal to run again", || {
        has_task(&home, "receive-wal")
    });
    // Turning streaming off makes cron stop it.
    write_config(&home, &pg, false, "");
    let run = home.run(&["cron"]).ok();
    assert!(
        run.stdout.contains("Stopped process receive-wal("),
        "{}",
        run.stdout
    );
    assert!(!has_task(&home, "receive-wal"));
}

#[test]
fn ops_two_crons_at_once_archive_each_segment_once() {
    require!("PostgreSQL 15 binaries", pg_available());
    let (home, pg) = lab(false, "");
    for round in 0..3 {
        crate::archive_wal::generate_wal(&pg, 6);
        let mut a = home.barman();
        let mut b = home.barman();
        let mut manual = home.barman();
        let children = [
            a.arg("cron").spawn().unwrap(),
            b.arg("cron").spawn().unwrap(),
            manual.args(["-q", "archive-wal", "pg"]).spawn().unwrap(),
        ];
        for mut child in children {
            assert!(child.wait().unwrap().success(), "round {round}");
        }
        let incoming = home.home().join("pg/incoming");
        wait_for("incoming/ to be empty", || {
            std::fs::read_dir(&incoming).unwrap().count() == 0 && !has_task(&home, "archive-wal")
        });
    }
    let names = db_names(&home);
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for n in &names {
        *counts.entry(n).or_default() += 1;
    }
    assert!(names.len() >= 18, "{names:?}");
    assert!(counts.values().all(|c| *c == 1), "{counts:?}");
    let errors = home.home().join("pg/errors");
    let rejected = std::fs::read_dir(&errors).map(|d| d.count()).unwrap_or(0);
    assert_eq!(rejected, 0, "nothing may be rejected as a duplicate");
}

/// A fleet's idle cron starts no archive-wal: only the server with something in
/// incoming/ gets one (its junk file goes to errors/ as Barman's would), and cron still
/// prints Barman's "Starting WAL archiving" line for both.
#[test]
fn ops_cron_starts_archive_wal_only_where_something_waits() {
    let home = BarmanHome::new();
    let server =
        "conninfo = host=x\nssh_command = ssh x\narchiver = on\nbackup_options = concurrent_backup";
    home.write_config(
        &format!(
            "log_file = {}\nlog_level = DEBUG",
            home.dir().join("barman.log").display()
        ),
        &[("idle", server), ("busy", server)],
    );
    for name in ["idle", "busy"] {
        for dir in ["meta", "wals", "incoming", "errors", "streaming", "base"] {
            std::fs::create_dir_all(home.server_dir(name).join(dir)).unwrap();
        }
    }
    std::fs::write(home.server_dir("busy").join("incoming/README"), "junk").unwrap();
    let run = home.run(&["cron"]).ok();
    for name in ["idle", "busy"] {
        let line = format!("Starting WAL archiving for server {name}");
        assert!(run.stdout.contains(&line), "{}", run.stdout);
    }
    let errors = home.server_dir("busy").join("errors");
    wait_for("the junk file in errors/", || {
        std::fs::read_dir(&errors).unwrap().count() == 1
    });
    // The busy server's child has logged; the idle one never had a child to log.
    let log = home.dir().join("barman.log");
    wait_for("archive-wal of busy to finish", || {
        home.run(&["-f", "json", "list-processes", "busy"])
            .stdout
            .contains("[]")
    });
    let log = std::fs::read_to_string(log).unwrap();
    assert!(
        log.contains("Starting archive-wal for server busy"),
        "{log}"
    );
    assert!(
        !log.contains("Starting archive-wal for server idle"),
        "{log}"
    );
}
