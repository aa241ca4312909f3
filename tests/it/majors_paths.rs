//! The version-specific paths of every PostgreSQL major (12 to 18), ours next to Python
//! Barman 3.20.1 on the same configuration, catalog and cluster:
//! - `check` prints the same lines for a local-rsync exclusive server, a local-rsync
//!   concurrent one, a postgres-method one and (16 and later) a postgres-method one whose
//!   `pg_basebackup` (Debian's 15) is too old for the server;
//! - `backup_options = exclusive_backup`: on 12–14 an exclusive backup
//!   (`pg_start_backup(label, fast)` … `pg_stop_backup()`, `backup_label` written by
//!   PostgreSQL into PGDATA and copied) with Barman's console lines and `backup.info`
//!   fields, recovered by us and by Python into the same configuration files, and started;
//!   on 15 and later refused by the `exclusive backup supported` pre-check, writing nothing;
//! - concurrent rsync backups (`pg_start_backup(…, FALSE)` before 15, `pg_backup_start`
//!   from 15) with the same `backup.info` fields as Python's, recovered on 15 and later;
//! - a too old `pg_basebackup` refuses the backup as Barman does, writing nothing;
//! - on 14, an exclusive backup of a standby is refused as Barman refuses it.

use crate::harness::ok;
use crate::harness::pg_cluster::{give_to_postgres, pg_bin, pg_command, PgOptions};
use crate::harness::{python_barman, BarmanHome, PgCluster, Run};
use crate::majors::{client_bin, server_bin, tls};
use crate::require;
use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

struct Lab {
    home: BarmanHome,
    pg: PgCluster,
}

fn python(home: &BarmanHome, args: &[&str]) -> Run {
    home.run_python(args).expect("Python Barman")
}

/// The server sections: `old` (a postgres-method server backed by Debian's 15
/// `pg_basebackup`) only where the server is newer than 15.
fn config(major: u32, port: u16) -> Vec<(&'static str, String)> {
    let conninfo = format!("host=127.0.0.1 port={port} user=barman dbname=postgres");
    let common = format!("conninfo = {conninfo}\narchiver = on\nimmediate_checkpoint = true\n");
    let postgres = |tools: &Path| {
        format!(
            "{common}backup_method = postgres\nstreaming_conninfo = {conninfo}\npath_prefix = {}\n",
            tools.display()
        )
    };
    let mut servers = vec![
        (
            "ex",
            format!("{common}backup_method = local-rsync\nbackup_options = exclusive_backup\n"),
        ),
        (
            "rs",
            format!("{common}backup_method = local-rsync\nbackup_options = concurrent_backup\n"),
        ),
        ("pg", postgres(&client_bin(major))),
    ];
    if major >= 16 {
        // Debian's 15 pg_receivewal too: `pg_receivexlog compatible` fails as well.
        let streaming = "streaming_archiver = on\nslot_name = barman_old\n";
        servers.push(("old", format!("{}{streaming}", postgres(&pg_bin()))));
    }
    servers
}

/// A cluster of `major` whose `archive_command` copies every WAL into each server's
/// `incoming/`, with a `marks` table.
fn lab(major: u32) -> Lab {
    let home = BarmanHome::new();
    // A script: PostgreSQL 14 and older truncate an archive_command at 1024 bytes.
    let mut script = String::from("set -e\n");
    for (name, _) in config(major, 0) {
        let incoming = home.home().join(format!("{name}/incoming"));
        std::fs::create_dir_all(&incoming).unwrap();
        give_to_postgres(&incoming);
        script.push_str(&format!(
            "cp \"$1\" {inc}/.$2.tmp\nmv {inc}/.$2.tmp {inc}/$2\n",
            inc = incoming.display()
        ));
    }
    let archive = home.dir().join("archive.sh");
    std::fs::write(&archive, script).unwrap();
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
            .set(
                "archive_command",
                &format!("'sh {} %p %f'", archive.display()),
            ),
    );
    pg.create_user("barman", "SUPERUSER REPLICATION");
    let servers = config(major, pg.port());
    let sections: Vec<(&str, &str)> = servers.iter().map(|(n, b)| (*n, b.as_str())).collect();
    home.write_config("", &sections);
    pg.execute("CREATE TABLE marks (tag text, n int)");
    pg.execute("INSERT INTO marks SELECT 'base', g FROM generate_series(1, 100) g");
    Lab { home, pg }
}

/// Switch WAL, wait for PostgreSQL to archive it, and archive it into every server (in
/// the foreground: `cron`'s background archive-wal would race the checks).
fn archive_now(lab: &Lab) {
    let wanted = lab
        .pg
        .query_scalar("SELECT pg_walfile_name(pg_current_wal_lsn())");
    lab.pg.execute("SELECT pg_switch_wal()");
    let deadline = Instant::now() + Duration::from_secs(60);
    while lab
        .pg
        .query_scalar("SELECT coalesce(last_archived_wal, '') FROM pg_stat_archiver")
        < wanted
    {
        assert!(Instant::now() < deadline, "{wanted} never archived");
        std::thread::sleep(Duration::from_millis(200));
    }
    for (server, _) in config(major_of(lab), 0) {
        ok(lab.home.run(&["archive-wal", server]), "archive-wal");
    }
}

fn major_of(lab: &Lab) -> u32 {
    lab.pg
        .query_scalar("SHOW server_version_num")
        .parse::<u32>()
        .unwrap()
        / 10000
}

/// A console output with what differs between two runs replaced by `#`: any word holding
/// a digit (LSNs, WAL names, ids, sizes, times) and the free-text durations.
fn shape(text: &str) -> Vec<String> {
    text.lines()
        .map(|line| {
            let line = match line.find("time: ") {
                Some(at) => format!("{}time: #)", &line[..at]),
                None => line.to_string(),
            };
            line.split(' ')
                .map(|w| {
                    if w.chars().any(|c| c.is_ascii_digit()) {
                        "#"
                    } else {
                        w
                    }
                })
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect()
}

/// The backups of `server` (ids of `meta/*-backup.info`).
fn backup_ids(home: &BarmanHome, server: &str) -> Vec<String> {
    let mut ids: Vec<String> = std::fs::read_dir(home.home().join(format!("{server}/meta")))
        .map(|d| {
            d.filter_map(|e| {
                let name = e.ok()?.file_name().to_string_lossy().into_owned();
                name.strip_suffix("-backup.info").map(str::to_string)
            })
            .collect()
        })
        .unwrap_or_default();
    ids.sort();
    ids
}

fn info(home: &BarmanHome, server: &str, id: &str) -> BTreeMap<String, String> {
    let path = home.home().join(format!("{server}/meta/{id}-backup.info"));
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// The `backup.info` fields that do not depend on the moment of the backup.
const STABLE_FIELDS: [&str; 16] = [
    "backup_name",
    "backup_options",
    "compression",
    "config_file",
    "data_checksums",
    "error",
    "hba_file",
    "ident_file",
    "included_files",
    "mode",
    "pgdata",
    "server_name",
    "summarize_wal",
    "tablespaces",
    "timeline",
    "version",
];

/// Our backup.info and Python's have the same keys, the same stable values, and LSN-shaped
/// values where Python has them.
fn assert_same_info(ours: &BTreeMap<String, String>, theirs: &BTreeMap<String, String>) {
    assert_eq!(
        ours.keys().collect::<Vec<_>>(),
        theirs.keys().collect::<Vec<_>>(),
        "backup.info keys"
    );
    for key in STABLE_FIELDS {
        assert_eq!(ours.get(key), theirs.get(key), "backup.info {key}");
    }
    for key in ["begin_wal", "end_wal", "begin_xlog", "end_xlog", "status"] {
        assert_eq!(
            ours[key] == "None",
            theirs[key] == "None",
            "backup.info {key}: {} vs {}",
            ours[key],
            theirs[key]
        );
    }
}

/// The console lines of a backup run that do not depend on which of the two ran first:
/// without the first backup's WAL purge, the archived WAL names, and the log records
/// (both log to stderr without a `log_file`, with different internals).
fn backup_console(text: &str) -> Vec<String> {
    shape(text)
        .into_iter()
        .filter(|l| {
            !l.starts_with("# # # barman.")
                && l != "#"
                && !l.starts_with("This is the first backup for server")
                && !l.starts_with("WAL segments preceding the current backup")
                && !l.ends_with("has been removed")
        })
        .collect()
}

/// `backup SERVER` with both: the same console lines and exit code.
fn backup_both(lab: &Lab, server: &str) -> (Run, Run) {
    let ours = lab.home.run(&["backup", server]);
    // Backup ids are the start second. Ours may end within the second it began, and
    // Python Barman does not step past an id already in the catalog (ours waits for the
    // next second): it would take ours's id and write over it.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let theirs = python(&lab.home, &["backup", server]);
    assert_eq!(
        (
            ours.code,
            backup_console(&ours.stdout),
            backup_console(&ours.stderr)
        ),
        (
            theirs.code,
            backup_console(&theirs.stdout),
            backup_console(&theirs.stderr)
        ),
        "backup {server}\nours:\n{}{}\nPython:\n{}{}",
        ours.stdout,
        ours.stderr,
        theirs.stdout,
        theirs.stderr
    );
    (ours, theirs)
}

/// The lines of `text` that are not log records (without a `log_file` both implementations
/// log to stderr, with different internals).
fn not_logged(text: &str) -> Vec<&str> {
    text.lines()
        .filter(|l| {
            !shape(l)
                .first()
                .is_some_and(|l| l.starts_with("# # # barman."))
        })
        .collect()
}

/// `check` of every server, ours and Python's: stdout byte for byte, the exit code, and
/// stderr but for log records.
fn same_check(lab: &Lab, servers: &[&str]) -> String {
    let mut args = vec!["check"];
    args.extend_from_slice(servers);
    let ours = lab.home.run(&args);
    let theirs = python(&lab.home, &args);
    assert_eq!(
        (ours.code, ours.stdout.as_str(), not_logged(&ours.stderr)),
        (
            theirs.code,
            theirs.stdout.as_str(),
            not_logged(&theirs.stderr)
        ),
        "check {servers:?}"
    );
    ours.stdout
}

/// A refused backup: the same output as Python's and no backup on disk.
fn refused(lab: &Lab, server: &str, hint: &str) {
    let (ours, _) = backup_both(lab, server);
    assert_ne!(ours.code, 0);
    assert!(
        ours.stderr
            .contains("Impossible to start the backup. Check the log for more details"),
        "{}",
        ours.stderr
    );
    assert!(
        backup_ids(&lab.home, server).is_empty(),
        "{server} wrote a backup"
    );
    let check = lab.home.run(&["check", server]);
    assert!(check.stdout.contains(hint), "{}", check.stdout);
}

fn tags(pg: &PgCluster) -> Vec<String> {
    pg.query_rows("SELECT tag FROM marks GROUP BY tag ORDER BY tag")
        .into_iter()
        .map(|r| r[0].clone())
        .collect()
}

/// The recovered configuration files of `dest`, with `dest` itself written `DEST`.
fn recovered_conf(dest: &Path) -> Vec<(String, String)> {
    [
        "postgresql.conf",
        "postgresql.auto.conf",
        "recovery.signal",
        "standby.signal",
    ]
    .into_iter()
    .map(|f| {
        let text = std::fs::read_to_string(dest.join(f))
            .unwrap_or_else(|_| "<absent>".into())
            .replace(dest.to_str().unwrap(), "DEST");
        (f.to_string(), text)
    })
    .collect()
}

fn tail(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(12)..].join("\n")
}

/// Recover `server`'s latest backup with us and with Python: the same configuration
/// files; ours starts with the major's binaries and holds the `base` rows.
fn recover_both(lab: &Lab, major: u32, server: &str) {
    let args = |dest: &Path| {
        vec![
            "recover".to_string(),
            server.to_string(),
            "latest".into(),
            dest.to_str().unwrap().to_string(),
            "--target-immediate".into(),
            "--target-action".into(),
            "promote".into(),
        ]
    };
    let ours_dest = lab.home.dir().join(format!("{server}-ours"));
    let theirs_dest = lab.home.dir().join(format!("{server}-python"));
    let ours_args = args(&ours_dest);
    let theirs_args = args(&theirs_dest);
    let ours_args: Vec<&str> = ours_args.iter().map(String::as_str).collect();
    let theirs_args: Vec<&str> = theirs_args.iter().map(String::as_str).collect();
    let ours = ok(lab.home.run(&ours_args), "recover");
    ok(python(&lab.home, &theirs_args), "Python recover");
    for ((file, ours_text), (_, theirs_text)) in recovered_conf(&ours_dest)
        .into_iter()
        .zip(recovered_conf(&theirs_dest))
    {
        let differing: Vec<(&str, &str)> = ours_text
            .lines()
            .zip(theirs_text.lines())
            .filter(|(a, b)| a != b)
            .collect();
        assert!(
            ours_text == theirs_text,
            "recovered {file} differs (ours, Python): {differing:#?}\nours ends:\n{}\nPython ends:\n{}\n{}",
            tail(&ours_text),
            tail(&theirs_text),
            ours.stdout
        );
    }
    let mut copy = PgCluster::start_in_place_with(&ours_dest, &[], server_bin(major), tls(major));
    let deadline = Instant::now() + Duration::from_secs(120);
    while copy.query_scalar("SELECT pg_is_in_recovery()") != "f" {
        assert!(
            Instant::now() < deadline,
            "the recovered server never promoted"
        );
        std::thread::sleep(Duration::from_millis(300));
    }
    assert_eq!(tags(&copy), ["base"]);
    copy.stop();
}

/// 12–14: our exclusive backup, Barman's lines and fields, PostgreSQL's own label.
fn exclusive_backup(lab: &Lab, major: u32) {
    let (ours, _) = backup_both(lab, "ex");
    ok(ours, "exclusive backup");
    let ids = backup_ids(&lab.home, "ex");
    assert_eq!(ids.len(), 2, "{ids:?}");
    let (ours_info, theirs_info) = (
        info(&lab.home, "ex", &ids[0]),
        info(&lab.home, "ex", &ids[1]),
    );
    assert_same_info(&ours_info, &theirs_info);
    assert_eq!(ours_info["mode"], "rsync-exclusive");
    assert_eq!(ours_info["backup_label"], "None");
    // The label PostgreSQL wrote into PGDATA for the exclusive API, copied with the data.
    let label = std::fs::read_to_string(
        lab.home
            .home()
            .join(format!("ex/base/{}/data/backup_label", ids[0])),
    )
    .unwrap();
    assert!(label.contains("BACKUP METHOD: pg_start_backup"), "{label}");
    assert!(
        label.contains(&format!("LABEL: Barman backup ex {}", ids[0])),
        "{label}"
    );
    assert!(
        !lab.pg.data_dir().join("backup_label").exists(),
        "pg_stop_backup() left backup_label in PGDATA (major {major})"
    );
}

/// Concurrent backup of `rs`: PostgreSQL's label in backup.info as Python records it.
fn concurrent_backup(lab: &Lab) {
    let (ours, _) = backup_both(lab, "rs");
    ok(ours, "concurrent backup");
    let ids = backup_ids(&lab.home, "rs");
    assert_eq!(ids.len(), 2, "{ids:?}");
    let (ours_info, theirs_info) = (
        info(&lab.home, "rs", &ids[0]),
        info(&lab.home, "rs", &ids[1]),
    );
    assert_same_info(&ours_info, &theirs_info);
    assert_eq!(ours_info["mode"], "rsync-concurrent");
    assert!(ours_info["backup_label"].contains("BACKUP METHOD: streamed"));
    let label = std::fs::read_to_string(
        lab.home
            .home()
            .join(format!("rs/base/{}/data/backup_label", ids[0])),
    )
    .unwrap();
    assert!(
        label.contains(&format!("LABEL: Barman backup rs {}", ids[0])),
        "{label}"
    );
}

fn scenario(major: u32) {
    require!(
        &format!("PostgreSQL {major} (scripts/pg-majors)"),
        server_bin(major).join("initdb").is_file()
    );
    require!(
        "PostgreSQL client tools (scripts/pg-majors)",
        client_bin(major).join("pg_basebackup").is_file()
    );
    require!(python_barman::REQUIREMENT, python_barman::available());
    let mut lab = lab(major);
    archive_now(&lab);
    let servers: Vec<&str> = config(major, 0).iter().map(|(n, _)| *n).collect();
    let check = same_check(&lab, &servers);
    if major >= 16 {
        for line in [
            "pg_basebackup compatible: FAILED (PostgreSQL version: ",
            "pg_receivexlog compatible: FAILED (PostgreSQL version: ",
        ] {
            assert!(check.contains(line), "{check}");
        }
    }
    if major <= 14 {
        exclusive_backup(&lab, major);
    } else {
        refused(
            &lab,
            "ex",
            &format!("exclusive backup supported: FAILED (exclusive backups not supported on PostgreSQL {major})"),
        );
    }
    concurrent_backup(&lab);
    if major >= 16 {
        refused(
            &lab,
            "old",
            "pg_basebackup compatible: FAILED (PostgreSQL version: ",
        );
    }
    archive_now(&lab);
    same_check(&lab, &servers);
    recover_both(&lab, major, if major <= 14 { "ex" } else { "rs" });
    if major == 14 {
        standby_refused(&lab);
    }
    lab.pg.stop();
}

/// An exclusive backup of a standby (made with Debian's 15 `pg_basebackup -R`): Barman's
/// `not in recovery` check fails and the backup is refused, writing nothing.
fn standby_refused(lab: &Lab) {
    let standby_dir = lab.home.dir().join("standby");
    std::fs::create_dir(&standby_dir).unwrap();
    give_to_postgres(&standby_dir);
    let out = pg_command("pg_basebackup")
        .arg("-D")
        .arg(&standby_dir)
        .args(["-R", "-X", "stream", "-h"])
        .arg(lab.pg.socket_dir())
        .args(["-p", &lab.pg.port().to_string(), "-U", "postgres"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut standby = PgCluster::start_in_place_with(
        &standby_dir,
        &[("archive_mode", "off")],
        server_bin(14),
        true,
    );
    assert_eq!(standby.query_scalar("SELECT pg_is_in_recovery()"), "t");
    // A standby's WAL archive stays empty: each check waits a third of check_timeout for a
    // switched WAL that cannot come (Barman's last resort), 10 s by default.
    let mut servers = config(14, lab.pg.port());
    servers.push((
        "sb",
        format!(
            "conninfo = host=127.0.0.1 port={} user=barman dbname=postgres\narchiver = on\n\
             backup_method = local-rsync\nbackup_options = exclusive_backup\n\
             check_timeout = 9\n",
            standby.port()
        ),
    ));
    let sections: Vec<(&str, &str)> = servers.iter().map(|(n, b)| (*n, b.as_str())).collect();
    lab.home.write_config("", &sections);
    let check = same_check(lab, &["sb"]);
    assert!(
        check.contains("not in recovery: FAILED (cannot perform exclusive backup on a standby)"),
        "{check}"
    );
    refused(lab, "sb", "not in recovery: FAILED");
    standby.stop();
}

#[test]
fn major_12_paths() {
    scenario(12);
}

#[test]
fn major_13_paths() {
    scenario(13);
}

#[test]
fn major_14_paths() {
    scenario(14);
}

#[test]
fn major_15_paths() {
    scenario(15);
}

#[test]
fn major_16_paths() {
    scenario(16);
}

#[test]
fn major_17_paths() {
    scenario(17);
}

#[test]
fn major_18_paths() {
    scenario(18);
}
