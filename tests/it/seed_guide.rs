//! The user's guide (`shared/seed/barman-guide-ko.adoc`, section 6) followed literally, as
//! one long scenario: its `barman.conf` (4.1) and `barman.d/hypersql.conf` (4.2) with only
//! paths, ports and host names changed, the barman role's password only in `~/.pgpass`
//! (2.2, the guide's own line format), the guide's **rsync** `archive_command` (4.4),
//! `streaming_archiver` with `create_slot = auto` (4.5), then the guide's commands in its
//! order and with its spellings (`switch-xlog`, `list-backup`, `--reuse=link`,
//! `--remote-ssh`): check, switch-xlog, cron, backup, a second backup reusing the first,
//! list-backup, show-backup, list-files, get-wal, keep, delete, status,
//! replication-status, diagnose, then a remote recovery to the end of the latest backup
//! (4.8), whose cluster is started and must hold the guide's `incremental_test` row.
//!
//! What differs from the guide, and why: PostgreSQL 15 instead of 14 (the machine's), so the
//! barman role gets the 15 names of the backup functions; `barman_user` is the user
//! running the tests (the harness runs barman as itself); the ssh port and key of the
//! harness's sshd are in `ssh_command` and in rsync's `-e`.

use crate::harness::auth;
use crate::harness::barman_home::current_user;
use crate::harness::pg_cluster::{give_to_postgres, pg_available, shared_tempdir, PgOptions};
use crate::harness::sshd::ssh_available;
use crate::harness::{ok, wait_until};
use crate::harness::{python_barman, BarmanHome, PgCluster, Run, Sshd};
use crate::require;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::{Duration, Instant};

/// The guide's 4.1 `barman.conf`, comments and all, with this test's paths.
fn barman_conf(home: &BarmanHome) -> String {
    let root = home.dir().display();
    format!(
        "; Barman, Backup and Recovery Manager for PostgreSQL
; http://www.pgbarman.org/ - http://www.enterprisedb.com/
;
; Main configuration file

[barman]
; System user
barman_user = {user}

; Directory of configuration files. Place your sections in separate files with .conf extension
; For example place the 'main' server section in /etc/barman.d/main.conf
configuration_files_directory = {root}/barman.d

; Main directory
barman_home = {root}/home

; Log location
log_file = {root}/barman.log

; Log level (see https://docs.python.org/3/library/logging.html#levels)
log_level = INFO

; Default compression level: possible values are None (default), bzip2, gzip, pigz, pygzip or pybzip2
;compression = gzip

; Global bandwidth limit in kilobytes per second - default 0 (meaning no limit)
;bandwidth_limit = 4000

; Number of parallel jobs for backup and recovery via rsync (default 1)
;parallel_jobs = 1

; Immediate checkpoint for backup command - default false
;immediate_checkpoint = false

; Enable network compression for data transfers - default false
;network_compression = false

; Minimum number of required backups (redundancy)
;minimum_redundancy = 1

; Global retention policy (REDUNDANCY or RECOVERY WINDOW)
;retention_policy = REDUNDANCY 2
",
        user = current_user()
    )
}

/// The guide's 4.2 `barman.d/hypersql.conf`, with this test's host, ports and paths.
fn hypersql_conf(root: &Path, pg_port: u16, ssh_command: &str) -> String {
    let root = root.display();
    format!(
        "[hypersql]
description =  \"Hypersql for PostgreSQL Server version 14\"

; ;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;
; PostgreSQL connection string (mandatory)
; ;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;
conninfo = host=127.0.0.1 port={pg_port} user=barman dbname=postgres

; ;;;;;;;;;;;;;;;;;;;;;;;;
; SSH command
;;;;;;;;;;;;;;;;;;;;;;;;;;
ssh_command = {ssh_command}

; ;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;
; PostgreSQL streaming connection string
; ;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;
; To be used by pg_basebackup for backup and pg_receivewal for WAL streaming
; NOTE: streaming_barman is a regular user with REPLICATION privilege
streaming_conninfo = host=127.0.0.1 port={pg_port} user=barman

; ;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;
; Backup settings (via pg_basebackup)
; ;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;
backup_method = rsync
backup_directory = {root}/backup/barman/backup_files/hypersql
;streaming_backup_name = barman_streaming_backup

; ;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;
; WAL streaming settings (via pg_receivewal)
; ;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;
streaming_archiver = on
slot_name = barman_slot
create_slot = auto
streaming_archiver_name = barman_receive_wal
streaming_wals_directory = {root}/backup/barman/streaming_wals/hypersql


; ;;;;;;;;;;;;;;;;;;;;;;
; WAL archiving (via 'archive_command')
; ;;;;;;;;;;;;;;;;;;;;;;
archiver = true
incoming_wals_directory = {root}/backup/barman/incoming_wals/hypersql

; PATH setting for this server
path_prefix = \"/usr/lib/postgresql/15/bin\"
"
    )
}

/// The barman command of this scenario: the password comes from `~/.pgpass` of the user
/// barman runs as (HOME), and from nowhere else.
fn barman(home: &BarmanHome, user_home: &Path, args: &[&str]) -> Run {
    let mut cmd = home.barman();
    cmd.env("HOME", user_home)
        .env_remove("PGPASSFILE")
        .args(args);
    Run::of(&mut cmd)
}

fn python(home: &BarmanHome, user_home: &Path, args: &[&str]) -> Run {
    let mut cmd = home.python_barman();
    cmd.env("HOME", user_home)
        .env_remove("PGPASSFILE")
        .args(args);
    Run::of(&mut cmd)
}

#[test]
fn seed_guide_section_6_end_to_end() {
    require!("PostgreSQL 15", pg_available());
    require!("sshd", ssh_available());
    require!(python_barman::REQUIREMENT, python_barman::available());
    let home = BarmanHome::new();
    let root = home.dir().to_path_buf();
    let incoming = root.join("backup/barman/incoming_wals/hypersql");
    std::fs::create_dir_all(&incoming).unwrap();

    // 4.3: the backup server reaches the PostgreSQL host as its OS user, and the PostgreSQL
    // host reaches the backup server as the barman user (rsync archive_command).
    let pg_host = Sshd::start("postgres");
    let backup_host = Sshd::start(&current_user());
    let client = backup_host.client_path_dir("postgres");

    // 4.4: the guide's rsync archive_command.
    let archive_command = format!(
        "rsync -a -e '{ssh} -p {port}' %p {user}@127.0.0.1:{incoming}/%f",
        ssh = client.join("ssh").display(),
        port = backup_host.port(),
        user = current_user(),
        incoming = incoming.display()
    );
    let pg = PgCluster::start(
        PgOptions::default()
            .set("archive_mode", "on")
            .archive_command(&archive_command),
    );
    // 2.2: the barman role, its grants (PostgreSQL 15 names), its password only in .pgpass.
    pg.create_user("barman", "REPLICATION");
    pg.execute(
        "GRANT EXECUTE ON FUNCTION pg_backup_start(text, boolean) TO barman;
         GRANT EXECUTE ON FUNCTION pg_backup_stop(boolean) TO barman;
         GRANT EXECUTE ON FUNCTION pg_switch_wal() TO barman;
         GRANT EXECUTE ON FUNCTION pg_create_restore_point(text) TO barman;
         GRANT pg_read_all_settings TO barman;
         GRANT pg_read_all_stats TO barman;",
    );
    pg.execute(
        "CREATE TABLE one (id int PRIMARY KEY, first_name text, last_name text);
         INSERT INTO one SELECT g, 'name' || g, 'last' || g FROM generate_series(1, 1000) g;",
    );
    let user_home = root.join("barman-user-home");
    std::fs::create_dir(&user_home).unwrap();
    let pgpass = user_home.join(".pgpass");
    std::fs::write(
        &pgpass,
        format!(
            "# hostname:port:databasename:username:userpassword\n127.0.0.1:{}:*:barman:{}\n",
            pg.port(),
            auth::PASSWORD
        ),
    )
    .unwrap();
    std::fs::set_permissions(&pgpass, std::fs::Permissions::from_mode(0o600)).unwrap();

    std::fs::write(home.config_path(), barman_conf(&home)).unwrap();
    home.write_include(
        "hypersql.conf",
        &hypersql_conf(&root, pg.port(), &pg_host.ssh_command()),
    );
    let run = |args: &[&str]| barman(&home, &user_home, args);

    // 4.4: check, before anything was archived or streamed: same lines as Python Barman.
    let ours = run(&["check", "hypersql"]);
    let theirs = python(&home, &user_home, &["check", "hypersql"]);
    assert_eq!(
        ours.stdout, theirs.stdout,
        "check\n{}\n{}",
        ours.stderr, theirs.stderr
    );
    for expected in [
        "\tPostgreSQL: OK",
        "\tsuperuser or standard user with backup privileges: OK",
        "\tPostgreSQL streaming: OK",
        "\tssh: OK (PostgreSQL server)",
        "\tarchive_mode: OK",
        "\tarchive_command: OK",
    ] {
        assert!(
            ours.stdout.lines().any(|l| l == expected),
            "{expected}\n{}",
            ours.stdout
        );
    }

    // "continuous archiving" fails until a WAL arrives: switch-xlog, then cron (4.5 starts
    // streaming). Cron runs until every check passes.
    ok(run(&["switch-xlog", "hypersql"]), "switch-xlog");
    let mut last = String::new();
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        ok(run(&["cron"]), "cron");
        let check = run(&["check", "hypersql"]);
        if check.code == 0 {
            break;
        }
        last = format!("{}{}", check.stdout, check.stderr);
        assert!(Instant::now() < deadline, "check never passed:\n{last}");
        std::thread::sleep(Duration::from_millis(500));
    }
    let _ = last;
    let check = ok(run(&["check", "hypersql"]), "check");
    assert!(!check.stdout.contains("FAILED"), "{}", check.stdout);
    // Nothing of rsync's in-flight files was ever moved aside.
    let errors = root.join("backup/barman/backup_files/hypersql/errors");
    let rejected: Vec<_> = std::fs::read_dir(&errors)
        .map(|d| d.flatten().map(|e| e.file_name()).collect())
        .unwrap_or_default();
    assert!(rejected.is_empty(), "errors/: {rejected:?}");

    // 4.6: the full backup.
    let first = ok(run(&["backup", "hypersql"]), "backup");
    assert!(
        first
            .stdout
            .contains("Starting backup using rsync-concurrent method for server hypersql"),
        "{}",
        first.stdout
    );
    // 4.7: change a row, checkpoint, back up again reusing the first backup by links.
    pg.execute("UPDATE one SET first_name='incremental_test' where id=1; CHECKPOINT;");
    let second = ok(
        run(&["backup", "--reuse=link", "hypersql"]),
        "backup --reuse=link",
    );
    assert!(
        second.stdout.contains("deduplication ratio"),
        "{}",
        second.stdout
    );
    let list = ok(run(&["list-backup", "hypersql"]), "list-backup");
    assert_eq!(list.stdout.lines().count(), 2, "{}", list.stdout);
    let ids: Vec<String> = ok(run(&["list-backup", "--minimal", "hypersql"]), "ids")
        .stdout
        .lines()
        .map(str::to_string)
        .collect();
    let (latest, oldest) = (&ids[0], &ids[1]);

    let show = ok(run(&["show-backup", "hypersql", latest]), "show-backup");
    assert!(
        show.stdout.contains("Status                 : DONE"),
        "{}",
        show.stdout
    );
    let files = ok(run(&["list-files", "hypersql", "latest"]), "list-files");
    assert!(
        files.stdout.contains("/data/PG_VERSION"),
        "{}",
        files.stdout
    );
    let begin_wal = show
        .stdout
        .lines()
        .find_map(|l| l.trim().strip_prefix("Begin WAL            : "))
        .expect("Begin WAL line")
        .to_string();
    let wal = home
        .barman()
        .env("HOME", &user_home)
        .args(["get-wal", "hypersql", &begin_wal])
        .output()
        .unwrap();
    assert!(wal.status.success());
    assert_eq!(wal.stdout.len(), 16 * 1024 * 1024);

    // keep, then delete: a kept backup is not deleted until released.
    ok(
        run(&["keep", "hypersql", oldest, "--target", "standalone"]),
        "keep",
    );
    let kept = run(&["delete", "hypersql", oldest]);
    assert!(
        std::fs::metadata(root.join(format!("backup/barman/backup_files/hypersql/base/{oldest}")))
            .is_ok(),
        "a kept backup was deleted: {}{}",
        kept.stdout,
        kept.stderr
    );
    ok(
        run(&["keep", "--release", "hypersql", oldest]),
        "keep --release",
    );
    ok(run(&["delete", "hypersql", oldest]), "delete");
    let list = ok(
        run(&["list-backup", "--minimal", "hypersql"]),
        "list-backup",
    );
    assert_eq!(list.stdout.trim(), latest.as_str());

    let status = ok(run(&["status", "hypersql"]), "status");
    assert!(status.stdout.contains("Active: True"), "{}", status.stdout);
    let replication = ok(
        run(&["replication-status", "hypersql"]),
        "replication-status",
    );
    assert!(
        replication.stdout.contains("barman_receive_wal"),
        "{}",
        replication.stdout
    );
    let diagnose = ok(run(&["diagnose"]), "diagnose");
    let report: serde_json::Value = serde_json::from_str(&diagnose.stdout).expect("diagnose JSON");
    assert!(report["servers"]["hypersql"].is_object());

    // 4.8: remote recovery to the end of the latest backup, the guide's spelling.
    let target = shared_tempdir();
    give_to_postgres(target.path());
    let dest = target.path().join("recover");
    let recovered = ok(
        run(&[
            "recover",
            "--target-immediate",
            "--remote-ssh",
            &pg_host.ssh_command(),
            "hypersql",
            "latest",
            dest.to_str().unwrap(),
        ]),
        "recover",
    );
    assert!(
        recovered
            .stdout
            .contains("Your PostgreSQL server has been successfully prepared for recovery!"),
        "{}",
        recovered.stdout
    );
    assert!(
        recovered.stdout.contains("archive_command = false"),
        "{}",
        recovered.stdout
    );
    ok(
        run(&["receive-wal", "--stop", "hypersql"]),
        "receive-wal --stop",
    );
    let mut copy = PgCluster::start_in_place(&dest, &[]);
    wait_until("recovery to finish", || {
        copy.query_scalar("SELECT pg_is_in_recovery()") == "f"
            || copy.query_scalar(
                "SELECT CASE WHEN pg_is_in_recovery() THEN pg_get_wal_replay_pause_state() ELSE 'no' END",
            ) == "paused"
    });
    assert_eq!(
        copy.query_scalar("SELECT first_name FROM one WHERE id=1"),
        "incremental_test"
    );
    assert_eq!(copy.query_scalar("SELECT count(*) FROM one"), "1000");
    copy.stop();
}
