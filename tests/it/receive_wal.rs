//! `receive-wal` streams through a replication slot it creates (`create_slot = auto`),
//! holds Barman's lock while running, stops on `--stop`, and `archive-wal` files what it
//! received; slot management speaks Barman's words.

use crate::harness::pg_cluster::{give_to_postgres, pg_available, PgOptions};
use crate::harness::{python_barman, BarmanHome, PgCluster, Run};
use crate::require;
use std::process::Stdio;
use std::time::{Duration, Instant};

fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn receive_wal_streams_through_its_slot_and_archive_wal_files_it() {
    require!("PostgreSQL 15 binaries", pg_available());
    require!(
        "Python Barman (scripts/python-barman)",
        python_barman::available()
    );
    let home = BarmanHome::new();
    let shadow = home.dir().join("shadow");
    std::fs::create_dir_all(&shadow).unwrap();
    give_to_postgres(&shadow);
    let pg = PgCluster::start(
        PgOptions {
            wal_segsize_mb: Some(1),
            ..PgOptions::default()
        }
        .set("archive_mode", "on")
        .set(
            "archive_command",
            &format!("'cp %p {}/%f'", shadow.display()),
        ),
    );
    home.write_config(
        "",
        &[(
            "pg",
            &format!(
                "conninfo = {c}\nstreaming_conninfo = {c}\nbackup_method = postgres\nstreaming_archiver = on\n\
                 slot_name = barman\ncreate_slot = auto\npath_prefix = /usr/lib/postgresql/15/bin\ncompression = gzip\n",
                c = pg.conninfo()
            ),
        )],
    );
    // The first stop signal is lost, as when it reaches pg_receivewal between its check
    // of the stop flag and its wait on the socket: `--stop` must still end it in time.
    let child = home
        .barman()
        .args(["receive-wal", "pg"])
        .env("BARMAN_FAILPOINT", "receive-wal.first-stop-lost")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Reap it as soon as it exits, as cron's detached process would be.
    let waiter = std::thread::spawn(move || child.wait_with_output().unwrap());
    wait_for("the slot to be active", || {
        pg.query_scalar(
            "SELECT count(*) FROM pg_replication_slots WHERE slot_name = 'barman' AND active",
        ) == "1"
    });
    // A second one is refused while the first holds the lock.
    let second = home.run(&["receive-wal", "pg"]);
    assert!(
        second
            .stderr
            .contains("ERROR: Another receive-wal process is already running for server pg."),
        "{}",
        second.stderr
    );
    crate::archive_wal::generate_wal(&pg, 4);
    let streaming = home.home().join("pg/streaming");
    wait_for("segments in streaming/", || {
        std::fs::read_dir(&streaming)
            .map(|d| {
                d.filter(|e| e.as_ref().is_ok_and(|e| e.file_name().len() == 24))
                    .count()
            })
            .unwrap_or(0)
            >= 4
    });
    let stop = home.run(&["receive-wal", "--stop", "pg"]);
    assert!(
        stop.stdout.contains("Stopped process receive-wal("),
        "{}{}",
        stop.stdout,
        stop.stderr
    );
    let output = waiter.join().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.starts_with(
            "Starting receive-wal for server pg\nCreating replication slot 'barman'\n"
        ),
        "{stdout}"
    );
    assert!(
        stdout.ends_with("SIGINT received. Terminate gracefully.\n"),
        "{stdout}"
    );

    let run = home.run(&["archive-wal", "pg"]).ok();
    // Barman's header counts the segment streaming/ keeps back: "(batch size: N)".
    assert!(
        run.stdout
            .starts_with("Processing xlog segments from streaming for pg (batch size: "),
        "{}",
        run.stdout
    );
    let db = std::fs::read_to_string(home.home().join("pg/wals/pg-xlog.db")).unwrap();
    let mut checked = 0;
    for line in db.lines() {
        let name = line.split('\t').next().unwrap();
        let Ok(expected) = std::fs::read(shadow.join(name)) else {
            continue;
        };
        let stored =
            std::fs::read(home.home().join("pg/wals").join(&name[..16]).join(name)).unwrap();
        let mut plain = Vec::new();
        barman::adapters::codec::Codec::detect(&stored)
            .unwrap()
            .decompress(&mut stored.as_slice(), &mut plain)
            .unwrap();
        assert!(
            plain == expected,
            "{name} streamed content differs from the archived one"
        );
        checked += 1;
    }
    assert!(checked >= 3, "{db}");
}

#[test]
fn receive_wal_slot_management_matches_barman() {
    require!("PostgreSQL 15 binaries", pg_available());
    require!(
        "Python Barman (scripts/python-barman)",
        python_barman::available()
    );
    let pg = PgCluster::start(PgOptions::default());
    let home = BarmanHome::new();
    home.write_config(
        "",
        &[(
            "pg",
            &format!(
                "conninfo = {c}\nstreaming_conninfo = {c}\nbackup_method = postgres\nstreaming_archiver = on\nslot_name = barman\n",
                c = pg.conninfo()
            ),
        )],
    );
    let steps: [(&[&str], bool); 5] = [
        (&["receive-wal", "--create-slot", "pg"], true),
        (&["receive-wal", "--create-slot", "pg"], false),
        (
            &["receive-wal", "--create-slot", "--if-not-exists", "pg"],
            true,
        ),
        (&["receive-wal", "--drop-slot", "pg"], true),
        (&["receive-wal", "--drop-slot", "pg"], false),
    ];
    for (args, ok) in steps {
        let ours = home.run(args);
        assert_eq!(ours.code == 0, ok, "{args:?}: {}", ours.stderr);
        // Undo, then let Python do the same step from the same state.
        if args.contains(&"--create-slot") && ok && !args.contains(&"--if-not-exists") {
            pg.execute("SELECT pg_drop_replication_slot('barman')");
        } else if args.contains(&"--drop-slot") && ok {
            pg.execute("SELECT pg_create_physical_replication_slot('barman')");
        }
        let theirs = home.run_python(args).unwrap();
        assert_eq!(
            ours.code, theirs.code,
            "{args:?}: {} / {}",
            ours.stderr, theirs.stderr
        );
        assert_eq!(ours.stdout, theirs.stdout, "{args:?}");
        let errors = |r: &Run| {
            r.stderr
                .lines()
                .filter(|l| l.starts_with("ERROR"))
                .map(str::to_string)
                .collect::<Vec<_>>()
        };
        assert_eq!(errors(&ours), errors(&theirs), "{args:?}");
    }
}

#[test]
fn replication_status_shows_the_streamer_like_barman() {
    require!("PostgreSQL 15 binaries", pg_available());
    require!(
        "Python Barman (scripts/python-barman)",
        python_barman::available()
    );
    let pg = PgCluster::start(PgOptions::default());
    let home = BarmanHome::new();
    home.write_config(
        "",
        &[(
            "pg",
            &format!(
                "conninfo = {c}\nstreaming_conninfo = {c}\nbackup_method = postgres\nstreaming_archiver = on\n\
                 slot_name = barman\ncreate_slot = auto\npath_prefix = /usr/lib/postgresql/15/bin\n",
                c = pg.conninfo()
            ),
        )],
    );
    // Nobody attached yet.
    for args in [
        &["replication-status", "pg"][..],
        &["-f", "json", "replication-status", "pg"],
        &["replication-status", "--minimal", "pg"],
    ] {
        assert_eq!(
            home.run(args).ok().stdout,
            home.run_python(args).unwrap().ok().stdout,
            "{args:?}"
        );
    }
    // The first stop signal is lost, as when it reaches pg_receivewal between its check
    // of the stop flag and its wait on the socket: `--stop` must still end it in time.
    let child = home
        .barman()
        .args(["receive-wal", "pg"])
        .env("BARMAN_FAILPOINT", "receive-wal.first-stop-lost")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let waiter = std::thread::spawn(move || child.wait_with_output().unwrap());
    wait_for("the streamer", || {
        // pg_receivewal itself: receive-wal's own status probe is a short-lived walsender too.
        pg.query_scalar(
            "SELECT count(*) FROM pg_stat_replication WHERE application_name = 'barman_receive_wal'",
        ) == "1"
    });
    wait_for("a settled position", || {
        pg.query_scalar(
            "SELECT coalesce(bool_and(sent_lsn = write_lsn), false)::text FROM pg_stat_replication",
        ) == "true"
    });
    for args in [
        &["replication-status", "pg"][..],
        &["replication-status", "--target", "wal-streamer", "pg"],
        &["replication-status", "--target", "hot-standby", "pg"],
        &["replication-status", "--minimal", "pg"],
    ] {
        // The server may log a record between the two runs (bgwriter's standby snapshot
        // every 15 s), moving every LSN: compare again until both saw the same position.
        let mut attempt = 0;
        loop {
            let ours = home.run(args).ok();
            let theirs = home.run_python(args).unwrap().ok();
            attempt += 1;
            if ours.stdout == theirs.stdout || attempt == 5 {
                assert_eq!(ours.stdout, theirs.stdout, "{args:?}");
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(300));
        }
    }
    let ours: serde_json::Value = serde_json::from_str(
        &home
            .run(&["-f", "json", "replication-status", "pg"])
            .ok()
            .stdout,
    )
    .unwrap();
    let theirs: serde_json::Value = serde_json::from_str(
        &home
            .run_python(&["-f", "json", "replication-status", "pg"])
            .unwrap()
            .ok()
            .stdout,
    )
    .unwrap();
    assert_eq!(ours, theirs);
    home.run(&["receive-wal", "--stop", "pg"]).ok();
    waiter.join().unwrap();
}

#[test]
fn receive_wal_drop_slot_of_an_active_slot_says_it_is_in_use_like_barman() {
    require!("PostgreSQL 15 binaries", pg_available());
    require!(
        "Python Barman (scripts/python-barman)",
        python_barman::available()
    );
    let pg = PgCluster::start(PgOptions::default());
    let home = BarmanHome::new();
    home.write_config(
        "",
        &[(
            "pg",
            &format!(
                "conninfo = {c}\nstreaming_conninfo = {c}\nbackup_method = postgres\nstreaming_archiver = on\nslot_name = barman\n",
                c = pg.conninfo()
            ),
        )],
    );
    pg.execute("SELECT pg_create_physical_replication_slot('barman')");
    let target = home.dir().join("received");
    std::fs::create_dir_all(&target).unwrap();
    // A real walsender holds the slot.
    let mut receiver = std::process::Command::new("/usr/lib/postgresql/15/bin/pg_receivewal")
        .args(["--no-loop", "-S", "barman", "-d", &pg.conninfo(), "-D"])
        .arg(&target)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_for("the slot to be active", || {
        pg.query_scalar(
            "SELECT count(*) FROM pg_replication_slots WHERE slot_name = 'barman' AND active",
        ) == "1"
    });
    let ours = home.run(&["receive-wal", "--drop-slot", "pg"]);
    let theirs = home
        .run_python(&["receive-wal", "--drop-slot", "pg"])
        .unwrap();
    let _ = receiver.kill();
    let _ = receiver.wait();
    let error = |r: &Run| {
        r.stderr
            .lines()
            .filter(|l| l.starts_with("ERROR"))
            .map(str::to_string)
            .collect::<Vec<_>>()
    };
    assert_eq!(
        error(&ours),
        ["ERROR: Cannot drop replication slot 'barman' on server 'pg' because it is in use."]
    );
    assert_eq!(error(&ours), error(&theirs));
    assert_eq!(ours.stdout, theirs.stdout);
    assert_eq!((ours.code, theirs.code), (1, 1));
}

/// Before it starts, receive-wal checks the connections quietly, as Barman 3's
/// `_check_wal_streaming_preflight`: unreachable, it says only "Impossible to start WAL
/// streaming" (the failed checks go to the log), takes no lock and creates no folder;
/// ours said the slot did not exist, which it could not know.
#[test]
fn receive_wal_refuses_to_start_when_the_preflight_checks_fail_as_barman() {
    let home = BarmanHome::new();
    let log = home.log_path();
    home.write_config(
        &home.log_file_line(),
        &[(
            "pg",
            "conninfo = host=127.0.0.1 port=1 user=postgres dbname=postgres connect_timeout=1\n\
             streaming_conninfo = host=127.0.0.1 port=1 user=postgres connect_timeout=1\n\
             backup_method = postgres\nstreaming_archiver = on\nslot_name = barman\n",
        )],
    );
    let failed_checks = |log: &str| -> Vec<String> {
        log.lines()
            .filter_map(|l| l.split_once(" ERROR: ").map(|(_, m)| m.to_string()))
            .collect()
    };
    let ours = home.run(&["receive-wal", "pg"]);
    let want = "ERROR: Impossible to start WAL streaming. Check the log for more details, or run 'barman check pg'\n";
    assert_eq!(
        (ours.code, ours.stdout.as_str(), ours.stderr.as_str()),
        (1, "", want)
    );
    let our_log = std::fs::read_to_string(&log).unwrap();
    let expected = [
        "Check 'no access to monitoring functions' failed for server 'pg'",
        "Check 'PostgreSQL streaming (WAL streaming)' failed for server 'pg'",
    ];
    assert_eq!(failed_checks(&our_log)[..2], expected, "{our_log}");
    assert!(!home.server_dir("pg").join("streaming").exists());
    std::fs::remove_file(&log).unwrap();
    if let Some(theirs) = home.run_python(&["receive-wal", "pg"]) {
        assert_eq!(
            (theirs.code, theirs.stdout.as_str(), theirs.stderr.as_str()),
            (1, "", want)
        );
        let their_log = std::fs::read_to_string(&log).unwrap();
        assert_eq!(failed_checks(&their_log)[..2], expected, "{their_log}");
    }
}
