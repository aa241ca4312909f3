//! Every supported PostgreSQL major (12 to 18) on a real server: the server binaries of
//! `scripts/pg-majors` (npm `@embedded-postgres` for 12–17 but 15, Debian's 15, the PyPI
//! wheel for 18, whose client tools serve every major through `path_prefix`), over TLS and
//! SCRAM like every harness cluster. The core scenario on each: WAL through
//! `barman-wal-archive` (ssh to `put-wal`) and through `pg_receivewal` streaming via a slot
//! `create_slot = auto` makes, a postgres-method backup and a local-rsync backup,
//! point-in-time recoveries (time, xid, LSN and restore-point name) started and read back,
//! and Python Barman 3.20.1 recovering one of our backups.

use crate::harness::barman_home::current_user;
use crate::harness::pg_cluster::{pg_bin, PgOptions};
use crate::harness::sshd::ssh_available;
use crate::harness::{ok, wait_until};
use crate::harness::{python_barman, BarmanHome, PgCluster, Run, Sshd};
use crate::require;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The server binaries of `major` (Debian's for 15).
pub(crate) fn server_bin(major: u32) -> PathBuf {
    if major == 15 {
        pg_bin()
    } else {
        PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/target/pg"))
            .join(format!("{major}/bin"))
    }
}

/// The client tools (`pg_basebackup`, `pg_receivewal`) a major is backed up with: Debian's
/// 15 for 12–15 (they serve older servers), PostgreSQL 18's from the wheel for 16–18
/// (pg_receivewal refuses a server newer than itself).
pub(crate) fn client_bin(major: u32) -> PathBuf {
    if major <= 15 {
        pg_bin()
    } else {
        server_bin(18)
    }
}

/// TLS on, except where a part was built without OpenSSL: the PyPI wheel of 18 (server and
/// client tools), which also serves as the client of 16 and 17. SCRAM passwords from the
/// password file stay on everywhere.
pub(crate) fn tls(major: u32) -> bool {
    major <= 15
}

fn tags(pg: &PgCluster) -> Vec<String> {
    pg.query_rows("SELECT tag FROM marks GROUP BY tag ORDER BY tag")
        .into_iter()
        .map(|r| r[0].clone())
        .collect()
}

/// Recover `args` into `dest`, start it with the major's binaries, promote, read the marks.
fn recovered_tags(major: u32, run: Run, dest: &Path) -> Vec<String> {
    ok(run, "recover");
    let mut copy = PgCluster::start_in_place_with(dest, &[], server_bin(major), tls(major));
    wait_until("the recovered server to promote", || {
        copy.query_scalar("SELECT pg_is_in_recovery()") == "f"
    });
    let marks = tags(&copy);
    copy.stop();
    marks
}

struct Lab {
    home: BarmanHome,
    pg: PgCluster,
    _sshd: Sshd,
}

/// A cluster of `major` archiving into server `pgr` with barman-wal-archive, streamed to
/// server `pg` by pg_receivewal, with the `base` marks.
fn lab(major: u32) -> Lab {
    let sshd = Sshd::start(&current_user());
    let home = BarmanHome::new();
    let client = sshd.client_path_dir("postgres");
    let archive = format!(
        "'PATH={client}:/usr/bin:/bin {bin} -U {user} --port {port} -c {config} 127.0.0.1 pgr %p'",
        client = client.display(),
        bin = env!("CARGO_BIN_EXE_barman-wal-archive"),
        user = current_user(),
        port = sshd.port(),
        config = home.config_path().display(),
    );
    let mut options = PgOptions {
        wal_segsize_mb: Some(1),
        ..PgOptions::default()
    };
    if !tls(major) {
        options = options.without_tls();
    }
    let pg = PgCluster::start(
        options
            .bin_dir(server_bin(major))
            .set("archive_mode", "on")
            .set("archive_command", &archive),
    );
    pg.create_user("barman", "SUPERUSER REPLICATION");
    let port = pg.port();
    let tools = client_bin(major);
    let common = format!(
        "conninfo = host=127.0.0.1 port={port} user=barman dbname=postgres\n\
         path_prefix = {}\nimmediate_checkpoint = true\n",
        tools.display()
    );
    home.write_config(
        "",
        &[
            (
                "pg",
                &format!(
                    "{common}streaming_conninfo = host=127.0.0.1 port={port} user=barman\n\
                     backup_method = postgres\nstreaming_archiver = on\nslot_name = barman\n\
                     create_slot = auto\n"
                ),
            ),
            (
                "pgr",
                &format!("{common}backup_method = local-rsync\narchiver = on\n"),
            ),
        ],
    );
    pg.execute("CREATE TABLE marks (tag text, n int)");
    pg.execute("INSERT INTO marks SELECT 'base', g FROM generate_series(1, 100) g");
    Lab {
        home,
        pg,
        _sshd: sshd,
    }
}

/// Run cron until `check` passes for both servers.
fn settle(lab: &Lab) {
    crate::harness::archive_a_first_wal(&lab.home, &lab.pg, &["pg", "pgr"]);
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        ok(lab.home.run(&["cron"]), "cron");
        let check = lab.home.run(&["check", "pg", "pgr"]);
        if check.code == 0 {
            return;
        }
        let last = format!("{}{}", check.stdout, check.stderr);
        assert!(Instant::now() < deadline, "check never passed:\n{last}");
        lab.pg.execute("SELECT pg_switch_wal()");
        std::thread::sleep(Duration::from_millis(500));
    }
}

fn core_scenario(major: u32) {
    require!(
        &format!("PostgreSQL {major} (scripts/pg-majors)"),
        server_bin(major).join("initdb").is_file()
    );
    require!(
        "PostgreSQL 18 client tools (scripts/pg-majors)",
        client_bin(major).join("pg_basebackup").is_file()
    );
    require!("sshd, ssh and rsync", ssh_available());
    require!(python_barman::REQUIREMENT, python_barman::available());
    let lab = lab(major);
    let home = &lab.home;
    let version = lab.pg.query_scalar("SHOW server_version_num");
    assert!(version.starts_with(&major.to_string()), "{version}");
    settle(&lab);
    ok(home.run(&["backup", "pg"]), "postgres-method backup");
    ok(home.run(&["backup", "pgr"]), "rsync backup");

    // Marks around a time and a restore point, then the WAL to both servers.
    // The `before` rows in one transaction whose xid is a target (txid_current() exists on
    // every major, pg_current_xact_id() only from 13), then the LSN just past its commit.
    let target_xid = lab.pg.query_scalar(
        "WITH i AS (INSERT INTO marks SELECT 'before', g FROM generate_series(1, 100) g) \
         SELECT txid_current()::text",
    );
    let target_lsn = lab.pg.query_scalar("SELECT pg_current_wal_lsn()::text");
    std::thread::sleep(Duration::from_millis(1100));
    let target_time = lab.pg.query_scalar("SELECT clock_timestamp()::text");
    lab.pg
        .execute("SELECT pg_create_restore_point('majors_guard')");
    std::thread::sleep(Duration::from_millis(1100));
    lab.pg
        .execute("INSERT INTO marks SELECT 'after', g FROM generate_series(1, 100) g");
    // The segment holding the restore point and the `after` rows: switch-wal closes it,
    // archive_command ships it to pgr, pg_receivewal streams it to pg.
    let wanted = lab
        .pg
        .query_scalar("SELECT pg_walfile_name(pg_current_wal_lsn())");
    ok(
        home.run(&["switch-wal", "--archive", "pgr"]),
        "switch-wal --archive",
    );
    // Barman archives the newest streamed segment only once pg_receivewal has begun the
    // next one (a `.partial`): a record after the switch begins it now, not at the next
    // standby snapshot (15 s).
    lab.pg
        .execute("SELECT pg_logical_emit_message(false, 'majors', '')");
    wait_until("the streamed segment", || {
        ok(home.run(&["cron"]), "cron");
        std::fs::read_to_string(home.home().join("pg/wals/pg-xlog.db"))
            .is_ok_and(|db| db.lines().any(|l| l.starts_with(&format!("{wanted}\t"))))
    });

    let by_time = home.dir().join("by-time");
    let run = home.run(&[
        "recover",
        "pgr",
        "latest",
        by_time.to_str().unwrap(),
        "--target-time",
        &target_time,
        "--target-action",
        "promote",
    ]);
    assert_eq!(recovered_tags(major, run, &by_time), ["base", "before"]);
    // The commit-time index read this major's WAL: the segment with the `after` rows has
    // its commit, streamed (pg) or archived (pgr), and no segment was unreadable.
    for server in ["pg", "pgr"] {
        let path = home
            .home()
            .join(format!("{server}/wals/{server}-xlog.db.commits"));
        let index = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(!index.contains("unknown"), "{server}: {index}");
        assert!(
            index
                .lines()
                .any(|l| l.starts_with(&format!("{wanted} ")) && !l.ends_with(" 0")),
            "{server}: {index}"
        );
    }

    let by_name = home.dir().join("by-name");
    let run = home.run(&[
        "recover",
        "pg",
        "latest",
        by_name.to_str().unwrap(),
        "--target-name",
        "majors_guard",
        "--target-action",
        "promote",
    ]);
    assert_eq!(recovered_tags(major, run, &by_name), ["base", "before"]);

    for (server, flag, target) in [
        ("pg", "--target-xid", &target_xid),
        ("pgr", "--target-lsn", &target_lsn),
    ] {
        let dest = home.dir().join(format!("by-{}", &flag[9..]));
        let run = home.run(&[
            "recover",
            server,
            "latest",
            dest.to_str().unwrap(),
            flag,
            target,
            "--target-action",
            "promote",
        ]);
        assert_eq!(
            recovered_tags(major, run, &dest),
            ["base", "before"],
            "{flag}"
        );
    }

    // Python Barman recovers our postgres-method backup to its end.
    let by_python = home.dir().join("by-python");
    let run = home.run_python(&[
        "recover",
        "pg",
        "latest",
        by_python.to_str().unwrap(),
        "--target-immediate",
        "--target-action",
        "promote",
    ]);
    assert_eq!(recovered_tags(major, run.unwrap(), &by_python), ["base"]);
    ok(
        home.run(&["receive-wal", "--stop", "pg"]),
        "receive-wal --stop",
    );
}

#[test]
fn major_12_core_scenario() {
    core_scenario(12);
}

#[test]
fn major_13_core_scenario() {
    core_scenario(13);
}

#[test]
fn major_14_core_scenario() {
    core_scenario(14);
}

#[test]
fn major_15_core_scenario() {
    core_scenario(15);
}

#[test]
fn major_16_core_scenario() {
    core_scenario(16);
}

#[test]
fn major_17_core_scenario() {
    core_scenario(17);
}

#[test]
fn major_18_core_scenario() {
    core_scenario(18);
}
