//! `check` and `status` against Python Barman 3.20.1 on the same configuration: a real
//! PostgreSQL 15 archiving into `incoming/` with a streaming slot (postgres method), an
//! rsync server reached through the harness's sshd, a PostgreSQL that is down, inactive and
//! disabled servers, and `check_timeout`. Console lines, `-f json` (parsed), `--nagios`
//! and exit codes must match.

use crate::harness::pg_cluster::{give_to_postgres, pg_available};
use crate::harness::sshd::ssh_available;
use crate::harness::{python_barman, BarmanHome, PgCluster, Run, Sshd};
use crate::require;
use serde_json::Value;

/// A cluster archiving into `pg/incoming` (and `pgr/incoming`) of `home`, with a slot.
fn archiving_setup(home: &BarmanHome) -> PgCluster {
    let mut copies = Vec::new();
    for server in ["pg", "pgr"] {
        let incoming = home.home().join(server).join("incoming");
        std::fs::create_dir_all(&incoming).unwrap();
        give_to_postgres(&incoming);
        copies.push(format!("cp %p {}/%f", incoming.display()));
    }
    let pg = crate::archive_wal::archiving_cluster(&format!("'{}'", copies.join(" && ")));
    pg.execute("SELECT pg_create_physical_replication_slot('barman')");
    pg
}

fn postgres_server(pg: &PgCluster) -> String {
    format!(
        "description = postgres method\nconninfo = {c}\nstreaming_conninfo = {c}\n\
         backup_method = postgres\narchiver = on\nstreaming_archiver = on\nslot_name = barman\n\
         path_prefix = /usr/lib/postgresql/15/bin\nminimum_redundancy = 1\n\
         retention_policy = REDUNDANCY 2\nlast_backup_maximum_age = 1 day\n",
        c = pg.conninfo()
    )
}

/// Hints whose numbers may move between the two runs (sizes of WAL still arriving, ages
/// that grow by a second).
fn stable(line: &str) -> String {
    if line.starts_with("\twal size: ") {
        return "\twal size: <size>".into();
    }
    for marker in ["latest backup age: ", "latest wal age: "] {
        if let Some(at) = line.find(marker) {
            return format!("{}<age>", &line[..at + marker.len()]);
        }
    }
    line.to_string()
}

const FIXTURES: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/barman-3.20/catalog"
);

/// Python Barman's catalog of the lab's `pg` server (three DONE backups and its xlog.db),
/// plus a FAILED backup and two rejected WAL files.
fn seed_catalog(home: &BarmanHome, server: &str) {
    let dir = home.home().join(server);
    let (meta, wals, errors) = (dir.join("meta"), dir.join("wals"), dir.join("errors"));
    for d in [&meta, &wals, &errors] {
        std::fs::create_dir_all(d).unwrap();
    }
    for id in ["20261124T004001", "20261124T004434", "20261124T004711"] {
        std::fs::copy(
            format!("{FIXTURES}/pg-{id}-backup.info"),
            meta.join(format!("{id}-backup.info")),
        )
        .unwrap();
    }
    let failed = std::fs::read_to_string(format!("{FIXTURES}/pg-20261124T004711-backup.info"))
        .unwrap()
        .replace("status=DONE", "status=FAILED")
        .replace("backup_id=20261124T004711", "backup_id=20261125T000000");
    std::fs::write(meta.join("20261125T000000-backup.info"), failed).unwrap();
    std::fs::copy(
        format!("{FIXTURES}/pg-xlog.db"),
        wals.join(format!("{server}-xlog.db")),
    )
    .unwrap();
    std::fs::write(errors.join("000000010000000000000001.duplicate"), b"x").unwrap();
    std::fs::write(errors.join("000000010000000000000002.unknown"), b"x").unwrap();
}

fn lines(run: &Run) -> Vec<String> {
    run.stdout.lines().map(stable).collect()
}

fn json(text: &str) -> Value {
    let mut v: Value =
        serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"));
    if let Some(servers) = v.as_object_mut() {
        for (_, checks) in servers.iter_mut() {
            if let Some(size) = checks.get_mut("wal_size") {
                size["hint"] = Value::String("<size>".into());
            }
            for key in ["backup_maximum_age", "wal_maximum_age"] {
                if let Some(hint) = checks.get_mut(key).and_then(|c| c.get_mut("hint")) {
                    *hint = Value::String(stable(hint.as_str().unwrap_or_default()));
                }
            }
        }
    }
    v
}

/// Run `args` with both implementations; same exit code, same console lines.
fn compare_console(home: &BarmanHome, args: &[&str]) -> (Run, Run) {
    let ours = home.run(args);
    let theirs = home.run_python(args).unwrap();
    assert_eq!(
        lines(&ours),
        lines(&theirs),
        "{args:?}\nours stderr: {}\ntheirs stderr: {}",
        ours.stderr,
        theirs.stderr
    );
    assert_eq!(ours.code, theirs.code, "{args:?}");
    (ours, theirs)
}

fn compare_json(home: &BarmanHome, args: &[&str]) {
    let ours = home.run(args);
    let theirs = home.run_python(args).unwrap();
    assert_eq!(json(&ours.stdout), json(&theirs.stdout), "{args:?}");
    assert_eq!(ours.code, theirs.code, "{args:?}");
}

/// The nagios line without the `pg_wals=` perfdata value, which moves with the archive.
fn nagios(run: &Run) -> Vec<String> {
    run.stdout
        .lines()
        .map(|l| {
            l.split(' ')
                .map(|w| match w.split_once("_wals=") {
                    Some((s, _)) => format!("{s}_wals=<n>B"),
                    None => w.to_string(),
                })
                .collect::<Vec<_>>()
                .join(" ")
        })
        .map(|l| stable(&l))
        .collect()
}

fn compare_nagios(home: &BarmanHome, args: &[&str]) -> Run {
    let ours = home.run(args);
    let theirs = home.run_python(args).unwrap();
    assert_eq!(nagios(&ours), nagios(&theirs), "{args:?}");
    assert_eq!(ours.code, theirs.code, "{args:?}");
    // The Nagios writer shows no message: only log lines may reach stderr.
    assert!(
        !ours
            .stderr
            .lines()
            .any(|l| l.starts_with("ERROR: ") || l.starts_with("WARNING: ")),
        "{args:?}: {}",
        ours.stderr
    );
    ours
}

/// Status rows whose values move between two calls.
const MOVING_STATUS: [&str; 5] = [
    "Current WAL segment",
    "Current data size",
    "Last archived WAL",
    "Server WAL archiving rate",
    "Failures of WAL archiver",
];

fn compare_status(home: &BarmanHome, servers: &[&str]) {
    let mut args = vec!["status"];
    args.extend_from_slice(servers);
    let ours = home.run(&args);
    let theirs = home.run_python(&args).unwrap();
    let mask = |run: &Run| -> Vec<String> {
        run.stdout
            .lines()
            .map(|l| match l.split_once(": ") {
                Some((label, _)) if MOVING_STATUS.contains(&label.trim()) => label.to_string(),
                _ => l.to_string(),
            })
            .collect()
    };
    assert_eq!(mask(&ours), mask(&theirs), "{args:?}\n{}", ours.stderr);
    assert_eq!(ours.code, theirs.code);
    let mut args = vec!["-f", "json", "status"];
    args.extend_from_slice(servers);
    let ours = json(&home.run(&args).stdout);
    let theirs = json(&home.run_python(&args).unwrap().stdout);
    let keys = |v: &Value| -> Vec<(String, Vec<String>)> {
        v.as_object()
            .unwrap()
            .iter()
            .map(|(s, rows)| {
                (
                    s.clone(),
                    rows.as_object().unwrap().keys().cloned().collect(),
                )
            })
            .collect()
    };
    assert_eq!(keys(&ours), keys(&theirs));
    for (server, rows) in theirs.as_object().unwrap() {
        for (key, row) in rows.as_object().unwrap() {
            let label = row["description"].as_str().unwrap();
            if !MOVING_STATUS.contains(&label) {
                assert_eq!(&ours[server][key], row, "{server}.{key}");
            }
        }
    }
}

#[test]
fn check_and_status_postgres_method_match_python() {
    require!("PostgreSQL 15 binaries", pg_available());
    require!(
        "Python Barman (scripts/python-barman)",
        python_barman::available()
    );
    let home = BarmanHome::new();
    let pg = archiving_setup(&home);
    home.write_config("", &[("pg", &postgres_server(&pg))]);
    crate::archive_wal::generate_wal(&pg, 2);
    home.run(&["archive-wal", "pg"]).ok();
    let (ours, _) = compare_console(&home, &["check", "pg"]);
    // The slot exists but receive-wal does not run: a real failure, exit 1.
    assert_eq!(ours.code, 1);
    assert!(
        ours.stdout
            .contains("\treceive-wal running: FAILED (See the Barman log file for more details)"),
        "{}",
        ours.stdout
    );
    assert!(
        ours.stdout.contains(
            "\treplication slot: FAILED (slot 'barman' not initialised: is 'receive-wal' running?)"
        ),
        "{}",
        ours.stdout
    );
    compare_json(&home, &["-f", "json", "check", "pg"]);
    let run = compare_nagios(&home, &["check", "--nagios", "pg"]);
    assert_eq!(run.code, 2);
    compare_status(&home, &["pg"]);
}

#[test]
fn check_and_status_rsync_over_ssh_match_python() {
    require!("PostgreSQL 15 binaries", pg_available());
    require!("sshd, ssh and rsync", ssh_available());
    require!(
        "Python Barman (scripts/python-barman)",
        python_barman::available()
    );
    let sshd = Sshd::start(&crate::harness::barman_home::current_user());
    let home = BarmanHome::new();
    let pg = archiving_setup(&home);
    home.write_config(
        "",
        &[(
            "pgr",
            &format!(
                "conninfo = {}\nssh_command = {}\nbackup_method = rsync\narchiver = on\n\
                 backup_options = concurrent_backup\nmax_incoming_wals_queue = 100\n",
                pg.conninfo(),
                sshd.ssh_command()
            ),
        )],
    );
    crate::archive_wal::generate_wal(&pg, 2);
    home.run(&["archive-wal", "pgr"]).ok();
    let (ours, _) = compare_console(&home, &["check", "pgr"]);
    assert_eq!(ours.code, 0, "{}", ours.stdout);
    assert!(
        ours.stdout.contains("\tssh: OK (PostgreSQL server)"),
        "{}",
        ours.stdout
    );
    assert!(
        ours.stdout.contains("\tcontinuous archiving: OK"),
        "{}",
        ours.stdout
    );
    compare_json(&home, &["-f", "json", "check", "pgr"]);
    let run = compare_nagios(&home, &["check", "--nagios", "pgr"]);
    assert_eq!(run.code, 0);
    assert!(run
        .stdout
        .starts_with("BARMAN OK - Ready to serve the Espresso backup for pgr|pgr=0B"));
    compare_status(&home, &["pgr"]);
}

#[test]
fn check_and_status_with_postgres_down_inactive_and_disabled_servers() {
    require!(
        "Python Barman (scripts/python-barman)",
        python_barman::available()
    );
    let home = BarmanHome::new();
    let down = "host=127.0.0.1 port=1 user=postgres dbname=postgres connect_timeout=2";
    home.write_config(
        "",
        &[
            (
                "down",
                &format!(
                    "conninfo = {down}\nstreaming_conninfo = {down}\nbackup_method = postgres\n\
                     archiver = on\npath_prefix = /usr/lib/postgresql/15/bin\n\
                     last_backup_maximum_age = 1 day\nlast_backup_minimum_size = 1 Gi\n\
                     last_wal_maximum_age = 1 hour\nminimum_redundancy = 5\n\
                     retention_policy = RECOVERY WINDOW OF 2 WEEKS\n"
                ),
            ),
            (
                "off",
                &format!("conninfo = {down}\nssh_command = ssh nobody@127.0.0.1\nactive = false\narchiver = on\n"),
            ),
            ("broken", "conninfo = host=127.0.0.1 port=1\nbackup_method = rsync\narchiver = on\n"),
        ],
    );
    seed_catalog(&home, "down");
    for args in [
        &["check", "all"][..],
        &["check", "off"],
        &["check", "broken"],
        &["check", "off", "nosuch"],
    ] {
        compare_console(&home, args);
        let mut json_args = vec!["-f", "json"];
        json_args.extend_from_slice(args);
        compare_json(&home, &json_args);
        let mut nagios_args = vec!["check", "--nagios"];
        nagios_args.extend_from_slice(&args[1..]);
        compare_nagios(&home, &nagios_args);
    }
    // Failures of an inactive server do not change the exit code.
    let run = home.run(&["check", "off"]);
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert!(
        run.stdout.starts_with("Server off (inactive):\n"),
        "{}",
        run.stdout
    );
    compare_status(&home, &["all"]);
}

#[test]
fn check_timeout_bounds_the_whole_check() {
    require!(
        "Python Barman (scripts/python-barman)",
        python_barman::available()
    );
    let home = BarmanHome::new();
    // An ssh_command that hangs: the ssh check never ends by itself.
    let slow = home.dir().join("slow-ssh");
    std::fs::write(&slow, "#!/bin/sh\nsleep 30\n").unwrap();
    std::fs::set_permissions(&slow, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    home.write_config(
        "",
        &[(
            "slow",
            &format!(
                "conninfo = host=127.0.0.1 port=1 user=postgres connect_timeout=1\n\
                 ssh_command = {}\nbackup_method = rsync\narchiver = on\ncheck_timeout = 3\n",
                slow.display()
            ),
        )],
    );
    let started = std::time::Instant::now();
    let (ours, _) = compare_console(&home, &["check", "slow"]);
    assert!(started.elapsed() < std::time::Duration::from_secs(25));
    assert_eq!(ours.code, 1);
    assert!(
        ours.stdout
            .ends_with("\tcheck timeout: FAILED (barman check command timed out)\n"),
        "{}",
        ours.stdout
    );
    let run = home.run(&["check", "--check-timeout", "2", "slow"]);
    assert!(
        run.stdout.contains("check timeout: FAILED"),
        "{}",
        run.stdout
    );
}

#[test]
fn check_wal_archive_probe_switches_and_archives_a_wal() {
    require!("PostgreSQL 15 binaries", pg_available());
    let home = BarmanHome::new();
    let pg = archiving_setup(&home);
    home.write_config(
        "",
        &[(
            "pgr",
            &format!(
                "conninfo = {}\nssh_command = ssh postgres@127.0.0.1\nbackup_method = rsync\n\
                 archiver = on\nbackup_options = concurrent_backup\ncheck_timeout = 30\n",
                pg.conninfo()
            ),
        )],
    );
    pg.execute("CREATE TABLE t AS SELECT g FROM generate_series(1, 1000) g");
    let xlog_db = home.home().join("pgr/wals/pgr-xlog.db");
    assert!(std::fs::metadata(&xlog_db).map_or(true, |m| m.len() == 0));
    // The catalog is empty: check switches a WAL, waits for it and archives it, so the
    // `WAL archive` line (shown only on failure) does not appear.
    let run = home.run(&["check", "pgr"]);
    assert!(!run.stdout.contains("WAL archive"), "{}", run.stdout);
    assert!(std::fs::metadata(&xlog_db).unwrap().len() > 0);
}
