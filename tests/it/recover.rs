//! `restore`/`recover` proven by starting the result: a real PostgreSQL 15 with a
//! tablespace writes marked rows around each kind of target, we back it up, recover to the
//! target, start the recovered cluster as `postgres` on a free port and read the marks
//! back. Also: tablespace relocation, remote recovery through the harness's sshd, WAL fetched
//! by our barman-wal-restore, a timeline switch, refusals, and interop with Python Barman.

use crate::harness::pg_cluster::{give_to_postgres, pg_available, shared_tempdir};
use crate::harness::sshd::ssh_available;
use crate::harness::{python_barman, BarmanHome, PgCluster, Run, Sshd};
use crate::require;

struct Source {
    home: BarmanHome,
    pg: PgCluster,
    archive_command: String,
}

/// A cluster archiving into the barman home, a `marks` table in a tablespace with the
/// `base` rows, and one backup taken with `method`.
fn source(method: &str) -> Source {
    let home = BarmanHome::new();
    let archive_command = crate::harness::incoming_archive_command(&home);
    let pg = crate::harness::archiving_cluster(&archive_command);
    pg.create_tablespace("tbs1");
    pg.execute("CREATE TABLE marks (tag text, n int) TABLESPACE tbs1");
    mark(&pg, "base");
    let streaming = if method == "postgres" {
        format!("streaming_conninfo = {}\n", pg.conninfo())
    } else {
        String::new()
    };
    home.write_config(
        "",
        &[(
            "pg",
            &format!(
                "conninfo = {}\n{streaming}backup_method = {method}\narchiver = on\nimmediate_checkpoint = true\n",
                pg.conninfo()
            ),
        )],
    );
    let run = home.run(&["backup", "pg"]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    Source {
        home,
        pg,
        archive_command,
    }
}

fn mark(pg: &PgCluster, tag: &str) {
    pg.execute(&format!(
        "INSERT INTO marks SELECT '{tag}', g FROM generate_series(1, 100) g"
    ));
}

/// Close the current segment, wait until PostgreSQL archived it, file it.
fn ship(src: &Source) {
    src.pg.execute("SELECT pg_switch_wal()");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while src.pg.query_scalar(
        "SELECT count(*) FROM pg_ls_dir('pg_wal/archive_status') f WHERE f LIKE '%.ready'",
    ) != "0"
    {
        assert!(std::time::Instant::now() < deadline, "archiving stuck");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    src.home.run(&["archive-wal", "pg"]).ok();
}

fn tags(pg: &PgCluster) -> Vec<String> {
    pg.query_rows("SELECT tag FROM marks GROUP BY tag ORDER BY tag")
        .into_iter()
        .map(|r| r[0].clone())
        .collect()
}

fn backup_id(home: &BarmanHome) -> String {
    let run = home.run(&["list-backups", "pg", "--minimal"]);
    // list-backups prints the newest first.
    run.stdout.lines().next().expect("a backup").to_string()
}

/// Recover into a new folder with `args`, start it, return the marks it holds.
fn recover_and_read(src: &Source, name: &str, args: &[&str]) -> (Vec<String>, Run) {
    let dest = src.home.dir().join(name);
    let id = backup_id(&src.home);
    // The source still uses its tablespace folder: every copy gets its own.
    let rule = format!(
        "tbs1:{}",
        src.home.dir().join(format!("{name}-tbs1")).display()
    );
    let mut full = vec![
        "restore",
        "pg",
        id.as_str(),
        dest.to_str().unwrap(),
        "--tablespace",
        &rule,
    ];
    full.extend_from_slice(args);
    let run = src.home.run(&full);
    assert_eq!(run.code, 0, "{args:?}\n{}\n{}", run.stdout, run.stderr);
    let mut pg = PgCluster::start_in_place(&dest, &[]);
    wait_recovered(&pg);
    let marks = tags(&pg);
    pg.stop();
    (marks, run)
}

/// Recovery with a target pauses or promotes once reached; either way queries work.
fn wait_recovered(pg: &PgCluster) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let in_recovery = pg.query_scalar("SELECT pg_is_in_recovery()");
        let paused = pg.query_scalar(
            "SELECT CASE WHEN pg_is_in_recovery() THEN pg_get_wal_replay_pause_state() ELSE 'no' END",
        );
        if in_recovery == "f" || paused == "paused" {
            return;
        }
        assert!(std::time::Instant::now() < deadline, "recovery never ended");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

#[test]
fn recover_to_every_kind_of_target_keeps_exactly_the_earlier_rows() {
    require!("PostgreSQL 15", pg_available());
    let src = source("local-rsync");
    // before → (time, xid, lsn, name taken here) → after
    let mut client = src.pg.client();
    let mut tx = client.transaction().unwrap();
    tx.batch_execute("INSERT INTO marks SELECT 'before', g FROM generate_series(1, 100) g")
        .unwrap();
    let xid: String = tx
        .query_one("SELECT txid_current()::text", &[])
        .unwrap()
        .get(0);
    tx.commit().unwrap();
    drop(client);
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let time = src.pg.query_scalar("SELECT now()::text");
    let lsn = src.pg.query_scalar("SELECT pg_current_wal_lsn()::text");
    src.pg
        .execute("SELECT pg_create_restore_point('barman_test_point')");
    std::thread::sleep(std::time::Duration::from_millis(1100));
    mark(&src.pg, "after");
    ship(&src);

    let (marks, run) = recover_and_read(
        &src,
        "r-time",
        &["--target-time", &time, "--target-action", "promote"],
    );
    assert_eq!(marks, ["base", "before"], "{}", run.stdout);
    assert!(
        run.stdout.contains("Doing PITR. Recovery target time: '"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("postgresql.conf line"),
        "{}",
        run.stdout
    );
    assert!(run
        .stdout
        .contains("Your PostgreSQL server has been successfully prepared for recovery!"));
    let auto = std::fs::read_to_string(src.home.dir().join("r-time/postgresql.auto.conf")).unwrap();
    assert!(auto.contains("recovery_target_time = '"), "{auto}");
    assert!(
        auto.contains("recovery_target_action = 'promote'"),
        "{auto}"
    );
    let conf = std::fs::read_to_string(src.home.dir().join("r-time/postgresql.conf")).unwrap();
    assert!(
        conf.contains("#BARMAN#archive_command = ") && conf.contains("\narchive_command = false\n")
    );
    assert!(src
        .home
        .dir()
        .join("r-time/postgresql.conf.origin")
        .exists());
    assert!(src.home.dir().join("r-time/.barman-recover.info").exists());

    let (marks, _) = recover_and_read(&src, "r-xid", &["--target-xid", &xid]);
    assert_eq!(marks, ["base", "before"]);
    let (marks, _) = recover_and_read(&src, "r-xid-excl", &["--target-xid", &xid, "--exclusive"]);
    assert_eq!(marks, ["base"]);
    let (marks, _) = recover_and_read(&src, "r-lsn", &["--target-lsn", &lsn]);
    assert_eq!(marks, ["base", "before"]);
    let (marks, _) = recover_and_read(&src, "r-name", &["--target-name", "barman_test_point"]);
    assert_eq!(marks, ["base", "before"]);
    let (marks, run) = recover_and_read(&src, "r-immediate", &["--target-immediate"]);
    assert_eq!(marks, ["base"], "{}", run.stdout);
    // No target: every archived WAL goes to pg_wal, PostgreSQL replays to the end.
    let (marks, run) = recover_and_read(&src, "r-end", &[]);
    assert_eq!(marks, ["after", "base", "before"]);
    assert!(
        run.stdout.contains("Generating archive status files"),
        "{}",
        run.stdout
    );
    assert!(!src.home.dir().join("r-end/recovery.signal").exists());
}

#[test]
fn recover_refuses_impossible_requests_before_copying() {
    require!("PostgreSQL 15", pg_available());
    let src = source("local-rsync");
    let id = backup_id(&src.home);
    let dest = src.home.dir().join("refused");
    let d = dest.to_str().unwrap();
    let cases: [(&[&str], &str); 6] = [
        (&["--target-time", "2000-01-01 00:00:00+00:00"], "ERROR: The requested target time 2000-01-01 00:00:00+00:00 is before the backup end time"),
        (&["--target-lsn", "bogus"], "ERROR: invalid LSN 'bogus'"),
        (&["--target-xid", "1", "--target-name", "x"], "ERROR: You cannot specify multiple targets for the recovery operation"),
        (&["--tablespace", "nope:/tmp/x"], "ERROR: Invalid tablespace name 'nope'"),
        (&["--target-action", "promote"], "ERROR: Can't enable recovery target action when PITR is not required"),
        (&["--network-compression"], "ERROR: Network compression can only be used with remote recovery."),
    ];
    for (args, message) in cases {
        let mut full = vec!["restore", "pg", id.as_str(), d];
        full.extend_from_slice(args);
        let run = src.home.run(&full);
        assert_eq!(run.code, 1, "{args:?}: {}", run.stderr);
        assert!(run.stderr.contains(message), "{args:?}: {}", run.stderr);
        assert!(!dest.exists(), "{args:?} wrote {}", dest.display());
    }
    // Barman's argparse type refuses a timeline that is neither a number nor a keyword.
    let run = src
        .home
        .run(&["restore", "pg", &id, d, "--target-tli", "sideways"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("'sideways' is not a valid input"),
        "{}",
        run.stderr
    );
    assert!(!dest.exists());
    let run = src.home.run(&["restore", "pg", &id, "host:/srv/x"]);
    assert!(
        run.stderr.contains("cannot contain the ':' character"),
        "{}",
        run.stderr
    );
    // A destination that holds files is left alone.
    std::fs::create_dir_all(&dest).unwrap();
    std::fs::write(dest.join("keep.me"), "x").unwrap();
    let run = src.home.run(&["restore", "pg", &id, d]);
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains("is not empty"), "{}", run.stderr);
    assert_eq!(std::fs::read_dir(&dest).unwrap().count(), 1);
    let run = src.home.run(&["recover", "pg", "20200101T000000", d]);
    assert!(
        run.stderr
            .contains("Unknown backup '20200101T000000' for server 'pg'"),
        "{}",
        run.stderr
    );
}

#[test]
fn recover_relocates_a_tablespace_and_follows_a_new_timeline() {
    require!("PostgreSQL 15", pg_available());
    let src = source("postgres");
    mark(&src.pg, "before");
    ship(&src);
    let reloc_dir = shared_tempdir();
    let reloc = reloc_dir.path().join("tbs1-moved");
    let rule = format!("tbs1:{}", reloc.display());
    let id = backup_id(&src.home);
    let dest = src.home.dir().join("r1");
    let run = src.home.run(&[
        "recover",
        "pg",
        &id,
        dest.to_str().unwrap(),
        "--tablespace",
        &rule,
        "--target-immediate",
        "--target-action",
        "promote",
    ]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let oid = src
        .pg
        .query_scalar("SELECT oid FROM pg_tablespace WHERE spcname = 'tbs1'");
    assert!(
        run.stdout
            .contains(&format!("\t{oid}, tbs1, {}", reloc.display())),
        "{}",
        run.stdout
    );
    assert_eq!(
        std::fs::read_link(dest.join(format!("pg_tblspc/{oid}"))).unwrap(),
        reloc
    );
    // The promoted copy writes a new timeline into the same archive.
    let command = src.archive_command.clone();
    let mut promoted = PgCluster::start_in_place(&dest, &[("archive_command", &command)]);
    wait_recovered(&promoted);
    assert_eq!(promoted.query_scalar("SELECT pg_is_in_recovery()"), "f");
    assert_eq!(tags(&promoted), ["base"]);
    promoted.execute("INSERT INTO marks SELECT 'tl2', g FROM generate_series(1, 10) g");
    promoted.execute("SELECT pg_switch_wal()");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while promoted.query_scalar(
        "SELECT count(*) FROM pg_ls_dir('pg_wal/archive_status') f WHERE f LIKE '%.ready'",
    ) != "0"
    {
        assert!(
            std::time::Instant::now() < deadline,
            "archiving on timeline 2 stuck"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    promoted.stop();
    src.home.run(&["archive-wal", "pg"]).ok();
    let reloc2 = reloc_dir.path().join("tbs1-tl2");
    let rule2 = format!("tbs1:{}", reloc2.display());
    let dest2 = src.home.dir().join("r2");
    let run = src.home.run(&[
        "recover",
        "pg",
        &id,
        dest2.to_str().unwrap(),
        "--tablespace",
        &rule2,
        "--target-tli",
        "2",
    ]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let mut pg = PgCluster::start_in_place(&dest2, &[]);
    wait_recovered(&pg);
    assert_eq!(tags(&pg), ["base", "tl2"]);
    pg.stop();
}

#[test]
fn recover_remote_through_ssh_and_fetch_wal_with_barman_wal_restore() {
    require!("PostgreSQL 15", pg_available());
    require!("sshd", ssh_available());
    let src = source("local-rsync");
    mark(&src.pg, "before");
    ship(&src);
    let sshd = Sshd::start("postgres");
    let target_dir = shared_tempdir();
    give_to_postgres(target_dir.path());
    let dest = target_dir.path().join("remote-data");
    let id = backup_id(&src.home);
    let rule = format!("tbs1:{}", target_dir.path().join("remote-tbs1").display());
    let run = src.home.run(&[
        "restore",
        "pg",
        &id,
        dest.to_str().unwrap(),
        "--remote-ssh-command",
        &sshd.ssh_command(),
        "-j",
        "2",
        "--tablespace",
        &rule,
    ]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert!(
        run.stdout.contains("Starting remote restore for server pg"),
        "{}",
        run.stdout
    );
    // Everything the remote side got belongs to postgres (it wrote it).
    let owner = std::process::Command::new("stat")
        .args(["-c", "%U"])
        .arg(dest.join("PG_VERSION"))
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&owner.stdout).trim(), "postgres");
    let mut pg = PgCluster::start_in_place(&dest, &[]);
    wait_recovered(&pg);
    assert_eq!(tags(&pg), ["base", "before"]);
    pg.stop();

    // get-wal mode: the recovered server asks our barman-wal-restore, over ssh, for WAL.
    mark(&src.pg, "after");
    ship(&src);
    let back = Sshd::start(&crate::harness::barman_home::current_user());
    let client = back.client_path_dir("postgres");
    let restore_command = format!(
        "PATH={client}:/usr/bin:/bin {bin} -P -U {user} --port {port} -c {config} 127.0.0.1 pg %f %p",
        client = client.display(),
        bin = env!("CARGO_BIN_EXE_barman-wal-restore"),
        user = crate::harness::barman_home::current_user(),
        port = back.port(),
        config = src.home.config_path().display(),
    );
    let dest2 = src.home.dir().join("getwal");
    let rule2 = format!("tbs1:{}", src.home.dir().join("getwal-tbs1").display());
    let run = src.home.run(&[
        "restore",
        "pg",
        &id,
        dest2.to_str().unwrap(),
        "--get-wal",
        "--restore-command",
        &restore_command,
        "--target-action",
        "promote",
        "--target-tli",
        "latest",
        "--tablespace",
        &rule2,
    ]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert!(
        run.stdout
            .contains("WARNING: 'get-wal' is in the specified 'recovery_options'."),
        "{}",
        run.stdout
    );
    assert!(
        std::fs::read_dir(dest2.join("pg_wal"))
            .unwrap()
            .filter(|e| e.as_ref().unwrap().file_name().len() == 24)
            .count()
            == 0
    );
    let mut pg = PgCluster::start_in_place(&dest2, &[]);
    wait_recovered(&pg);
    assert_eq!(tags(&pg), ["after", "base", "before"]);
    pg.stop();
}

/// Python Barman recovers a backup we took, and we recover one it took; both hold the rows.
#[test]
fn recover_interop_with_python_barman() {
    require!("PostgreSQL 15", pg_available());
    require!(python_barman::REQUIREMENT, python_barman::available());
    for method in ["local-rsync", "postgres"] {
        let src = source(method);
        mark(&src.pg, "before");
        ship(&src);
        let ours = backup_id(&src.home);
        std::thread::sleep(std::time::Duration::from_millis(1100));
        let py = src.home.run_python(&["backup", "pg"]).unwrap();
        assert_eq!(py.code, 0, "{}\n{}", py.stdout, py.stderr);
        let theirs = backup_id(&src.home);
        assert_ne!(ours, theirs);
        mark(&src.pg, "after");
        ship(&src);
        for (who, id) in [("python", ours.as_str()), ("rust", theirs.as_str())] {
            let dest = src.home.dir().join(format!("{method}-{who}"));
            let reloc = shared_tempdir();
            let rule = format!("tbs1:{}", reloc.path().join("t").display());
            let args = [
                "recover",
                "pg",
                id,
                dest.to_str().unwrap(),
                "--tablespace",
                &rule,
            ];
            let run = if who == "python" {
                src.home.run_python(&args).unwrap()
            } else {
                src.home.run(&args)
            };
            assert_eq!(
                run.code, 0,
                "{who} {method}: {}\n{}",
                run.stdout, run.stderr
            );
            let mut pg = PgCluster::start_in_place(&dest, &[]);
            wait_recovered(&pg);
            assert_eq!(
                tags(&pg),
                ["after", "base", "before"],
                "{who} recovering {id}"
            );
            pg.stop();
        }
    }
}

/// A `backup_compression = gzip` (tar) backup: extracted in a staging folder, copied, started.
#[test]
fn recover_a_compressed_postgres_backup() {
    require!("PostgreSQL 15", pg_available());
    let src = source("postgres");
    let conf = std::fs::read_to_string(src.home.config_path()).unwrap();
    std::fs::write(
        src.home.config_path(),
        format!("{conf}\nbackup_compression = gzip\nbackup_compression_format = tar\n"),
    )
    .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let run = src.home.run(&["backup", "pg"]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let id = backup_id(&src.home);
    assert!(src
        .home
        .home()
        .join(format!("pg/base/{id}/data/base.tar.gz"))
        .exists());
    mark(&src.pg, "before");
    ship(&src);
    let staging = shared_tempdir();
    let (marks, run) = recover_and_read(
        &src,
        "r-gz",
        &["--staging-path", staging.path().to_str().unwrap()],
    );
    assert_eq!(marks, ["base", "before"], "{}", run.stdout);
    assert_eq!(
        std::fs::read_dir(staging.path()).unwrap().count(),
        0,
        "staging left behind"
    );
}

/// Recovery hooks: pre and post scripts see Barman's environment (the same as Python
/// Barman gives them for the same restore); a pre retry hook exiting 63 stops the restore
/// before anything is copied.
#[test]
fn recover_runs_recovery_hooks_like_barman() {
    require!("PostgreSQL 15", pg_available());
    require!(python_barman::REQUIREMENT, python_barman::available());
    let src = source("local-rsync");
    let record = src.home.dir().join("record.sh");
    std::fs::write(
        &record,
        format!(
            "#!/bin/sh\nenv | grep '^BARMAN_' | grep -v -e BARMAN_CONFIGURATION -e BARMAN_VERSION | sort > {}/hook-$BARMAN_PHASE-$RECORD_TAG\n",
            src.home.dir().display()
        ),
    )
    .unwrap();
    let abort = src.home.dir().join("abort.sh");
    std::fs::write(&abort, "#!/bin/sh\nexit 63\n").unwrap();
    for script in [&record, &abort] {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(script, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let conf = std::fs::read_to_string(src.home.config_path()).unwrap();
    std::fs::write(
        src.home.config_path(),
        format!(
            "{conf}\npre_recovery_script = {r}\npost_recovery_script = {r}\n",
            r = record.display()
        ),
    )
    .unwrap();
    let id = backup_id(&src.home);
    let restore = |tag: &str, python: bool| {
        let dest = src.home.dir().join(format!("hooked-{tag}"));
        let rule = format!(
            "tbs1:{}",
            src.home.dir().join(format!("hooked-{tag}-tbs")).display()
        );
        let args = [
            "restore",
            "pg",
            id.as_str(),
            dest.to_str().unwrap(),
            "--tablespace",
            &rule,
            "--target-immediate",
            "--target-action",
            "promote",
        ];
        let mut cmd = if python {
            src.home.python_barman()
        } else {
            src.home.barman()
        };
        cmd.env("RECORD_TAG", tag).args(args);
        let run = Run::of(&mut cmd);
        assert_eq!(run.code, 0, "{tag}: {}\n{}", run.stdout, run.stderr);
    };
    restore("ours", false);
    restore("python", true);
    for phase in ["pre", "post"] {
        let read = |tag: &str| {
            std::fs::read_to_string(src.home.dir().join(format!("hook-{phase}-{tag}")))
                .unwrap()
                .replace(&format!("hooked-{tag}"), "hooked-X")
        };
        assert_eq!(read("ours"), read("python"), "{phase} hook environment");
    }
    assert!(read_env(&src, "pre", "ours").contains(
        "BARMAN_RECOVER_OPTIONS={\"target_action\": \"promote\", \"target_immediate\": true}"
    ));
    // A pre retry hook exiting 63 aborts before the copy.
    std::fs::write(
        src.home.config_path(),
        format!("{conf}\npre_recovery_retry_script = {}\n", abort.display()),
    )
    .unwrap();
    let dest = src.home.dir().join("aborted");
    let rule = format!("tbs1:{}", src.home.dir().join("aborted-tbs").display());
    let run = src.home.run(&[
        "restore",
        "pg",
        &id,
        dest.to_str().unwrap(),
        "--tablespace",
        &rule,
    ]);
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    assert!(run.stderr.contains("EXCEPTION: Abort"), "{}", run.stderr);
    assert!(!dest.join("PG_VERSION").exists());
}

fn read_env(src: &Source, phase: &str, tag: &str) -> String {
    std::fs::read_to_string(src.home.dir().join(format!("hook-{phase}-{tag}"))).unwrap()
}
