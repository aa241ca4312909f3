//! Geo-redundancy: a passive Barman node (`primary_ssh_command`) keeping a copy of a primary
//! Barman's catalog, over a real sshd, as two Barman homes on this machine. The passive
//! node reaches the primary through a small `ssh` wrapper that points the remote `barman`
//! at the primary's configuration (`BARMAN_CONFIG_FILE`), as a second host's own
//! `/etc/barman.conf` would; for a Python primary it also puts Python Barman first on the
//! remote PATH.
//!
//! Proven: our passive node's `cron` copies a backup and the WAL after it, and recoveries
//! from the passive copy (local PITR, and remote over ssh) start and hold the right rows;
//! our `sync-info` equals Python's on the same catalog; a Python passive node syncs from our
//! primary and ours from a Python primary, each catalog read by both; a kill at any step
//! of `sync-backup` or `sync-wals` is completed by the next run without a duplicate
//! catalog line; a backup deleted on the primary stays as Barman's "local copy only"; a
//! corrupt `primary.info`, an unknown backup and an unreachable primary get Barman's
//! messages.

use crate::harness::barman_home::current_user;
use crate::harness::pg_cluster::{pg_available, PgOptions};
use crate::harness::sshd::ssh_available;
use crate::harness::{ok, wait_until};
use crate::harness::{python_barman, BarmanHome, PgCluster, Run, Sshd};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// A primary Barman home (server `pg`, postgres method, WAL streamed) with one backup and
/// the `before`/`after` marks around the restore point `geo_guard` archived after it.
struct Primary {
    home: BarmanHome,
    pg: PgCluster,
    sshd: Sshd,
    backup_id: String,
    /// The segment holding the restore point, archived on the primary.
    wanted: String,
}

fn primary() -> Primary {
    let sshd = Sshd::start(&current_user());
    let home = BarmanHome::new();
    let pg = PgCluster::start(PgOptions {
        wal_segsize_mb: Some(1),
        ..PgOptions::default()
    });
    pg.create_user("barman", "SUPERUSER REPLICATION");
    let port = pg.port();
    home.write_config(
        "",
        &[(
            "pg",
            &format!(
                "conninfo = host=127.0.0.1 port={port} user=barman dbname=postgres\n\
                 streaming_conninfo = host=127.0.0.1 port={port} user=barman\n\
                 backup_method = postgres\nstreaming_archiver = on\nslot_name = barman\n\
                 create_slot = auto\nimmediate_checkpoint = true\n"
            ),
        )],
    );
    pg.execute("CREATE TABLE marks (tag text, n int)");
    pg.execute("INSERT INTO marks SELECT 'base', g FROM generate_series(1, 100) g");
    crate::harness::archive_a_first_wal(&home, &pg, &["pg"]);
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        ok(home.run(&["cron"]), "cron");
        let check = home.run(&["check", "pg"]);
        if check.code == 0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "check never passed:\n{}",
            check.stdout
        );
        pg.execute("SELECT pg_switch_wal()");
        std::thread::sleep(Duration::from_millis(500));
    }
    ok(home.run(&["backup", "pg"]), "backup");
    let backup_id = ok(home.run(&["list-backups", "pg", "--minimal"]), "list")
        .stdout
        .trim()
        .to_string();
    pg.execute("INSERT INTO marks SELECT 'before', g FROM generate_series(1, 100) g");
    pg.execute("SELECT pg_create_restore_point('geo_guard')");
    pg.execute("INSERT INTO marks SELECT 'after', g FROM generate_series(1, 100) g");
    let wanted = pg.query_scalar("SELECT pg_walfile_name(pg_current_wal_lsn())");
    pg.execute("SELECT pg_switch_wal()");
    // Barman archives the newest streamed segment only once pg_receivewal has begun the
    // next one: a record after the switch begins it now, not at the next standby snapshot.
    pg.execute("SELECT pg_logical_emit_message(false, 'geo', '')");
    wait_until("the primary to archive the restore point", || {
        ok(home.run(&["cron"]), "cron");
        std::fs::read_to_string(home.home().join("pg/wals/pg-xlog.db"))
            .is_ok_and(|db| db.lines().any(|l| l.starts_with(&format!("{wanted}\t"))))
    });
    Primary {
        home,
        pg,
        sshd,
        backup_id,
        wanted,
    }
}

/// An executable `ssh` wrapper to the harness sshd whose remote commands read `config`
/// (and find Python Barman first when `python` is set).
fn primary_ssh(dir: &Path, sshd: &Sshd, config: &Path, python: bool) -> PathBuf {
    let path_prefix = if python {
        let bin = python_barman::path().expect("Python Barman");
        format!("'PATH={}:$PATH' ", bin.parent().unwrap().display())
    } else {
        String::new()
    };
    // Named `ssh`, as most `primary_ssh_command`s start: our passive node then shares one
    // connection between its calls (ControlMaster options the wrapper hands to ssh).
    let folder = dir.join(if python {
        "to-python-primary"
    } else {
        "to-primary"
    });
    std::fs::create_dir_all(&folder).expect("wrapper folder");
    let script = folder.join("ssh");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\n\
             # Barman's ssh check adds `-o` options after the command: keep them ssh's.\n\
             opts=\n\
             while [ \"$1\" = -o ]; do opts=\"$opts -o $2\"; shift 2; done\n\
             exec {ssh} $opts {path_prefix}BARMAN_CONFIG_FILE={config} \"$@\"\n",
            ssh = sshd.ssh_command(),
            config = config.display()
        ),
    )
    .expect("write wrapper");
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    script
}

/// A passive home whose server `pg` syncs through `wrapper`.
fn passive(wrapper: &Path) -> BarmanHome {
    let home = BarmanHome::new();
    home.write_config(
        &format!("log_file = {}/barman.log", home.dir().display()),
        &[(
            "pg",
            &format!(
                "description = passive copy\nprimary_ssh_command = {}\n",
                wrapper.display()
            ),
        )],
    );
    home
}

fn xlog_db(home: &BarmanHome) -> String {
    std::fs::read_to_string(home.home().join("pg/wals/pg-xlog.db")).unwrap_or_default()
}

fn has_wal(home: &BarmanHome, wal: &str) -> bool {
    xlog_db(home)
        .lines()
        .any(|l| l.starts_with(&format!("{wal}\t")))
}

fn tags(pg: &PgCluster) -> Vec<String> {
    pg.query_rows("SELECT tag FROM marks GROUP BY tag ORDER BY tag")
        .into_iter()
        .map(|r| r[0].clone())
        .collect()
}

fn requirements() -> bool {
    crate::harness::available("PostgreSQL", pg_available())
        && crate::harness::available("sshd, ssh and rsync", ssh_available())
        && crate::harness::available(python_barman::REQUIREMENT, python_barman::available())
}

#[test]
fn geo_passive_cron_syncs_backup_and_wal_and_recovers() {
    if !requirements() {
        return;
    }
    let p = primary();
    // Our sync-info equals Python's on the same catalog (as parsed JSON: key order is
    // not kept by our JSON writer, and nothing reads it in order).
    let ours: serde_json::Value =
        serde_json::from_str(&ok(p.home.run(&["sync-info", "pg"]), "sync-info").stdout)
            .expect("our sync-info is JSON");
    let python = p.home.run_python(&["sync-info", "pg"]).unwrap();
    let theirs: serde_json::Value = serde_json::from_str(&python.stdout).expect("Python JSON");
    assert_eq!(ours["backups"], theirs["backups"]);
    assert_eq!(ours["wals"], theirs["wals"]);
    assert_eq!(ours["last_name"], theirs["last_name"]);
    assert_eq!(ours["last_position"], theirs["last_position"]);
    for key in [
        "name",
        "compression",
        "basebackups_directory",
        "wals_directory",
    ] {
        assert_eq!(ours["config"][key], theirs["config"][key], "config {key}");
    }

    let wrapper = primary_ssh(p.home.dir(), &p.sshd, &p.home.config_path(), false);
    let q = passive(&wrapper);
    // backup/receive-wal/archive are not the passive node's business.
    let refused = q.run(&["backup", "pg"]);
    assert!(
        refused.stdout.contains("Skipping passive server 'pg'"),
        "{}",
        refused.stdout
    );
    wait_until("the passive node to sync the backup and the WAL", || {
        ok(q.run(&["cron"]), "passive cron");
        let listed = q.run(&["list-backups", "pg", "--minimal"]).stdout;
        let done = q
            .run(&["show-backup", "pg", &p.backup_id])
            .stdout
            .contains("DONE");
        listed.contains(&p.backup_id) && done && has_wal(&q, &p.wanted)
    });
    let check = ok(q.run(&["check", "pg"]), "passive check");
    assert_eq!(check.stdout, q.run_python(&["check", "pg"]).unwrap().stdout);
    let info = std::fs::read_to_string(q.home().join("pg/primary.info")).expect("primary.info");
    assert!(info.contains(&p.backup_id));
    // Python reads the passive catalog.
    let listed = q.run_python(&["list-backups", "pg"]).unwrap();
    assert!(listed.stdout.contains(&p.backup_id), "{}", listed.stdout);

    // PITR from the passive copy.
    let dest = q.dir().join("restored");
    ok(
        q.run(&[
            "recover",
            "pg",
            "latest",
            dest.to_str().unwrap(),
            "--target-name",
            "geo_guard",
            "--target-action",
            "promote",
        ]),
        "recover from the passive node",
    );
    let mut copy = PgCluster::start_in_place(&dest, &[]);
    wait_until("the restored server to promote", || {
        copy.query_scalar("SELECT pg_is_in_recovery()") == "f"
    });
    assert_eq!(tags(&copy), ["base", "before"]);
    copy.stop();
    // And to another host over ssh, to the end of the backup.
    let remote_dest = q.dir().join("restored-remote");
    ok(
        q.run(&[
            "recover",
            "--remote-ssh-command",
            &p.sshd.ssh_command(),
            "pg",
            "latest",
            remote_dest.to_str().unwrap(),
            "--target-immediate",
            "--target-action",
            "promote",
        ]),
        "remote recover from the passive node",
    );
    let mut copy = PgCluster::start_in_place(&remote_dest, &[]);
    wait_until("the remotely restored server to promote", || {
        copy.query_scalar("SELECT pg_is_in_recovery()") == "f"
    });
    assert_eq!(tags(&copy), ["base"]);
    copy.stop();

    // A Python passive node syncs from our primary; ours from a Python primary.
    let r = passive(&wrapper);
    let run = r.run_python(&["sync-info", "--primary", "pg"]).unwrap();
    ok(run, "Python sync-info --primary from our primary");
    ok(
        r.run_python(&["sync-backup", "pg", &p.backup_id]).unwrap(),
        "Python sync-backup",
    );
    ok(
        r.run_python(&["sync-wals", "pg"]).unwrap(),
        "Python sync-wals",
    );
    assert!(has_wal(&r, &p.wanted), "{}", xlog_db(&r));
    for run in [
        r.run(&["list-backups", "pg"]),
        r.run_python(&["list-backups", "pg"]).unwrap(),
    ] {
        assert!(run.stdout.contains(&p.backup_id), "{}", run.stdout);
    }
    let python_wrapper = primary_ssh(p.home.dir(), &p.sshd, &p.home.config_path(), true);
    let s = passive(&python_wrapper);
    ok(
        s.run(&["sync-info", "--primary", "pg"]),
        "our sync-info --primary from Python",
    );
    ok(
        s.run(&["sync-backup", "pg", &p.backup_id]),
        "our sync-backup from Python",
    );
    ok(s.run(&["sync-wals", "pg"]), "our sync-wals from Python");
    assert!(has_wal(&s, &p.wanted), "{}", xlog_db(&s));
    for run in [
        s.run(&["show-backup", "pg", &p.backup_id]),
        s.run_python(&["show-backup", "pg", &p.backup_id]).unwrap(),
    ] {
        assert!(run.stdout.contains("DONE"), "{}", run.stdout);
    }
    drop(p.pg);
}

#[test]
fn geo_sync_faults_resume_and_report() {
    if !requirements() {
        return;
    }
    let p = primary();
    let wrapper = primary_ssh(p.home.dir(), &p.sshd, &p.home.config_path(), false);
    let q = passive(&wrapper);
    // Nothing fetched yet: Barman's message.
    let missing = q.run(&["sync-backup", "pg", &p.backup_id]);
    assert_ne!(missing.code, 0);
    assert!(
        missing
            .stderr
            .contains("Cannot open primary.info file for server pg"),
        "{}",
        missing.stderr
    );
    ok(
        q.run(&["sync-info", "--primary", "pg"]),
        "sync-info --primary",
    );

    // An unknown backup.
    let unknown = q.run(&["sync-backup", "pg", "20200101T000000"]);
    assert_ne!(unknown.code, 0);
    assert!(
        unknown
            .stderr
            .contains("Backup 20200101T000000 is absent on pg server"),
        "{}",
        unknown.stderr
    );

    // Killed after the copy, before DONE: listed as SYNCING, never DONE; the next run completes it.
    let killed = Run::of(
        q.barman()
            .env("BARMAN_FAILPOINT", "sync-backup-copied")
            .args(["sync-backup", "pg", &p.backup_id]),
    );
    assert_ne!(killed.code, 0);
    let shown = q.run(&["show-backup", "pg", &p.backup_id]).stdout;
    assert!(shown.contains("SYNCING"), "{shown}");
    ok(
        q.run(&["sync-backup", "pg", &p.backup_id]),
        "sync-backup again",
    );
    assert!(q
        .run(&["show-backup", "pg", &p.backup_id])
        .stdout
        .contains("DONE"));
    let again = ok(q.run(&["sync-backup", "pg", &p.backup_id]), "nothing to do");
    assert!(
        again.stdout.contains("is already synced with pg server"),
        "{}",
        again.stdout
    );

    // sync-wals killed after the copy, then after the catalog: no line twice.
    for point in ["sync-wals-copied", "sync-wals-catalogued"] {
        let killed = Run::of(
            q.barman()
                .env("BARMAN_FAILPOINT", point)
                .args(["sync-wals", "pg"]),
        );
        assert_ne!(killed.code, 0, "{point}");
    }
    ok(q.run(&["sync-wals", "pg"]), "sync-wals again");
    let db = xlog_db(&q);
    assert!(has_wal(&q, &p.wanted), "{db}");
    let mut names: Vec<&str> = db.lines().filter_map(|l| l.split('\t').next()).collect();
    let total = names.len();
    names.dedup();
    assert_eq!(names.len(), total, "duplicate catalog lines:\n{db}");
    let resume = std::fs::read_to_string(q.home().join("pg/wals/sync-wals.info")).unwrap();
    assert!(
        resume.contains('\t') && !resume.ends_with('\n'),
        "{resume:?}"
    );

    // The backup deleted on the primary meanwhile: the passive copy stays, as Barman keeps it.
    ok(
        p.home.run(&["delete", "pg", &p.backup_id]),
        "delete on the primary",
    );
    ok(
        q.run(&["sync-info", "--primary", "pg"]),
        "sync-info after the delete",
    );
    let kept = ok(
        q.run(&["sync-backup", "pg", &p.backup_id]),
        "sync-backup after the delete",
    );
    assert!(
        kept.stdout.contains(&format!(
            "Backup {} is absent on pg server, but present locally (local copy only)",
            p.backup_id
        )),
        "{}",
        kept.stdout
    );
    assert!(q
        .run(&["show-backup", "pg", &p.backup_id])
        .stdout
        .contains("DONE"));

    // A corrupt primary.info.
    std::fs::write(q.home().join("pg/primary.info"), "{ not json").unwrap();
    let corrupt = q.run(&["sync-wals", "pg"]);
    assert_ne!(corrupt.code, 0);
    assert!(
        corrupt.stderr.contains("primary.info"),
        "{}",
        corrupt.stderr
    );
    assert_eq!(xlog_db(&q), db, "a failed sync changes nothing");

    // The primary unreachable: check says so, cron reports it and carries on.
    let gone = passive(Path::new("/bin/false"));
    let check = gone.run(&["check", "pg"]);
    assert_ne!(check.code, 0);
    assert!(check.stdout.contains("ssh: FAILED"), "{}", check.stdout);
    let cron = gone.run(&["cron"]);
    assert!(
        cron.stderr
            .contains("Failed to retrieve the primary node status"),
        "{}",
        cron.stderr
    );
    drop(p.pg);
}

/// The console lines of a run (log lines, which carry a timestamp, left out).
fn console(run: &Run) -> String {
    format!("{}{}", run.stdout, run.stderr)
        .lines()
        .filter(|l| !l.starts_with("20"))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn geo_passive_node_commands_match_python() {
    if !crate::harness::available(python_barman::REQUIREMENT, python_barman::available()) {
        return;
    }
    let home = passive(Path::new("/bin/false"));
    for args in [
        &["archive-wal", "pg"][..],
        &["status", "pg"],
        &["list-backups", "pg"],
        &["receive-wal", "pg"],
        &["replication-status", "pg"],
        &["backup", "pg"],
        &["sync-wals", "pg"],
        &["sync-backup", "pg", "20200101T000000"],
        &["check-backup", "pg", "latest"],
    ] {
        let ours = home.run(args);
        let theirs = home.run_python(args).unwrap();
        assert_eq!(console(&ours), console(&theirs), "{args:?}");
        assert_eq!(ours.code, theirs.code, "{args:?}");
    }
    // Barman fails here with an AttributeError; we refuse without touching any server.
    let switch = home.run(&["switch-wal", "pg"]);
    assert_eq!(switch.code, 1);
    assert!(
        switch
            .stderr
            .contains("Unable to perform pg_switch_wal for server 'pg': it is a passive node"),
        "{}",
        switch.stderr
    );
    // An empty catalog: the same JSON as Python's.
    let ours: serde_json::Value =
        serde_json::from_str(&home.run(&["sync-info", "pg"]).stdout).unwrap();
    let theirs: serde_json::Value =
        serde_json::from_str(&home.run_python(&["sync-info", "pg"]).unwrap().stdout).unwrap();
    assert_eq!(ours, theirs);
}
