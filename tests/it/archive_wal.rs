//! `archive-wal` and `rebuild-xlogdb` against a real PostgreSQL whose `archive_command`
//! feeds `incoming/`; the archive is then read by Python Barman (`get-wal`,
//! `rebuild-xlogdb`), and a kill at each fail-point is followed by a run that completes the
//! work with every segment archived exactly once.

use crate::harness::pg_cluster::{give_to_postgres, pg_available};
use crate::harness::{python_barman, BarmanHome, PgCluster};
use crate::require;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub(crate) struct Setup {
    pub(crate) home: BarmanHome,
    pub(crate) pg: PgCluster,
    /// A second copy of every segment PostgreSQL archived, to check contents against.
    pub(crate) shadow: PathBuf,
}

pub(crate) fn setup(compression: &str) -> Setup {
    let home = BarmanHome::new();
    let incoming = home.home().join("pg/incoming");
    std::fs::create_dir_all(&incoming).unwrap();
    let shadow = home.dir().join("shadow");
    std::fs::create_dir_all(&shadow).unwrap();
    give_to_postgres(&incoming);
    give_to_postgres(&shadow);
    let command = format!(
        "'test ! -f {inc}/%f && cp %p {sh}/%f && cp %p {inc}/.%f.tmp && mv {inc}/.%f.tmp {inc}/%f'",
        inc = incoming.display(),
        sh = shadow.display()
    );
    let pg = crate::archive_wal::archiving_cluster(&command);
    home.write_config(
        "",
        &[(
            "pg",
            &format!(
                "conninfo = {}\nssh_command = ssh postgres@127.0.0.1\narchiver = on\n\
                 backup_options = concurrent_backup\ncompression = {compression}\n",
                pg.conninfo()
            ),
        )],
    );
    Setup { home, pg, shadow }
}

pub(crate) use crate::harness::archiving_cluster;

/// Make PostgreSQL complete and archive `n` segments.
pub(crate) fn generate_wal(pg: &PgCluster, n: usize) {
    pg.execute("CREATE TABLE IF NOT EXISTS t (i int, filler text)");
    for _ in 0..n {
        pg.execute("INSERT INTO t SELECT g, repeat('x', 100) FROM generate_series(1, 2000) g");
        pg.execute("SELECT pg_switch_wal()");
    }
    let want = pg.query_scalar("SELECT archived_count FROM pg_stat_archiver");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let pending = pg.query_scalar(
            "SELECT count(*) FROM pg_ls_dir('pg_wal/archive_status') f WHERE f LIKE '%.ready'",
        );
        if pending == "0" {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "archiving stuck ({want} archived)"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

fn xlog_db(home: &BarmanHome) -> String {
    std::fs::read_to_string(home.home().join("pg/wals/pg-xlog.db")).unwrap_or_default()
}

pub(crate) fn names_in_db(home: &BarmanHome) -> Vec<String> {
    xlog_db(home)
        .lines()
        .map(|l| l.split('\t').next().unwrap().to_string())
        .collect()
}

/// Every segment of the shadow copy is in the archive, once, with the same content.
pub(crate) fn check_archive_matches(setup: &Setup) {
    let names = names_in_db(&setup.home);
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for name in &names {
        *counts.entry(name).or_default() += 1;
    }
    assert!(
        counts.values().all(|c| *c == 1),
        "duplicated catalog lines: {counts:?}"
    );
    let mut checked = 0;
    for entry in std::fs::read_dir(&setup.shadow).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        assert!(
            counts.contains_key(name.as_str()),
            "{name} missing from xlog.db"
        );
        let archived = archived_path(&setup.home.home().join("pg/wals"), &name);
        assert_eq!(
            plain(&archived),
            std::fs::read(setup.shadow.join(&name)).unwrap(),
            "{name} content differs"
        );
        checked += 1;
    }
    assert!(checked >= 3, "only {checked} segments archived");
    assert!(
        std::fs::read_dir(setup.home.home().join("pg/incoming"))
            .unwrap()
            .next()
            .is_none(),
        "incoming not emptied"
    );
}

fn archived_path(wals: &Path, name: &str) -> PathBuf {
    if name.ends_with(".history") {
        wals.join(name)
    } else {
        wals.join(&name[..16]).join(name)
    }
}

fn plain(path: &Path) -> Vec<u8> {
    let data = std::fs::read(path).unwrap();
    match barman::adapters::codec::Codec::detect(&data) {
        Some(codec) => {
            let mut out = Vec::new();
            codec.decompress(&mut data.as_slice(), &mut out).unwrap();
            out
        }
        None => data,
    }
}

#[test]
fn archive_wal_archives_every_segment_and_python_barman_serves_them() {
    require!("PostgreSQL 15 binaries", pg_available());
    require!(
        "Python Barman (scripts/python-barman)",
        python_barman::available()
    );
    let setup = setup("gzip");
    generate_wal(&setup.pg, 4);
    let run = setup.home.run(&["archive-wal", "pg"]).ok();
    assert!(
        run.stdout
            .starts_with("Processing xlog segments from file archival for pg\n\t"),
        "{}",
        run.stdout
    );
    check_archive_matches(&setup);
    assert!(
        xlog_db(&setup.home)
            .lines()
            .all(|l| l.ends_with("\tgzip\tNone")),
        "{}",
        xlog_db(&setup.home)
    );
    // Nothing left: a second run says so.
    let again = setup.home.run(&["archive-wal", "pg"]).ok();
    assert_eq!(
        again.stdout,
        "Processing xlog segments from file archival for pg\n\tno file found\n"
    );

    // Python Barman serves what we archived, decompressed.
    let first = names_in_db(&setup.home)[0].clone();
    let mut cmd = python_barman::command().unwrap();
    let out = cmd
        .arg("-c")
        .arg(setup.home.config_path())
        .args(["get-wal", "pg", &first])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.stdout == std::fs::read(setup.shadow.join(&first)).unwrap(),
        "Python get-wal content differs"
    );

    // Python's rebuild of our archive gives the catalog our rebuild gives.
    setup
        .home
        .run_python(&["rebuild-xlogdb", "pg"])
        .unwrap()
        .ok();
    let theirs = xlog_db(&setup.home);
    let ours_run = setup.home.run(&["rebuild-xlogdb", "pg"]).ok();
    assert_eq!(
        ours_run.stdout,
        format!(
            "Rebuilding xlogdb for server pg\nDone rebuilding xlogdb for server pg (history: 0, backup_labels: 0, wal_file: {})\n",
            theirs.lines().count()
        )
    );
    assert_eq!(xlog_db(&setup.home), theirs);
}

#[test]
fn archive_wal_reads_what_python_barman_archived_with_each_codec() {
    require!("PostgreSQL 15 binaries", pg_available());
    require!(
        "Python Barman (scripts/python-barman)",
        python_barman::available()
    );
    for codec in ["bzip2", "zstd", "lz4", "snappy", "xz"] {
        let setup = setup(codec);
        generate_wal(&setup.pg, 2);
        // Python archives half, we archive the rest; the catalog stays one file.
        setup.home.run_python(&["archive-wal", "pg"]).unwrap().ok();
        generate_wal(&setup.pg, 2);
        setup.home.run(&["archive-wal", "pg"]).ok();
        check_archive_matches(&setup);
        assert!(
            xlog_db(&setup.home)
                .lines()
                .all(|l| l.ends_with(&format!("\t{codec}\tNone"))),
            "{codec}: {}",
            xlog_db(&setup.home)
        );
    }
}

#[test]
fn archive_wal_sends_duplicates_and_junk_to_errors() {
    require!("PostgreSQL 15 binaries", pg_available());
    let setup = setup("gzip");
    generate_wal(&setup.pg, 1);
    setup.home.run(&["archive-wal", "pg"]).ok();
    let incoming = setup.home.home().join("pg/incoming");
    let first = names_in_db(&setup.home)[0].clone();
    // Same name, other content; same name, same content; a file that is not WAL.
    std::fs::write(incoming.join(&first), b"not the same").unwrap();
    std::fs::write(incoming.join("junkfile"), b"junk").unwrap();
    let run = setup.home.run(&["archive-wal", "pg"]).ok();
    assert_eq!(
        run.stdout,
        format!(
            // Barman's total (2 entries) exceeds its run size (1 file): the suffix.
            "Processing xlog segments from file archival for pg (batch size: 1)\n\t{first}\n\
             \tError: {first} is already present in server pg. File moved to errors directory.\n\
             Some unknown objects have been found while processing xlog segments for pg. Objects moved to errors directory:\n\tjunkfile\n"
        )
    );
    let errors: Vec<String> = std::fs::read_dir(setup.home.home().join("pg/errors"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        errors
            .iter()
            .any(|e| e.starts_with(&format!("{first}.")) && e.ends_with("Z.duplicate")),
        "{errors:?}"
    );
    assert!(
        errors
            .iter()
            .any(|e| e.starts_with("junkfile.") && e.ends_with("Z.unknown")),
        "{errors:?}"
    );
    assert_eq!(
        names_in_db(&setup.home)
            .iter()
            .filter(|n| **n == first)
            .count(),
        1
    );
    std::fs::copy(setup.shadow.join(&first), incoming.join(&first)).unwrap();
    setup.home.run(&["archive-wal", "pg"]).ok();
    assert!(
        !incoming.join(&first).exists(),
        "an identical duplicate is dropped"
    );
}

#[test]
fn archive_wal_inactive_and_all_are_handled_like_barman() {
    let home = BarmanHome::new();
    home.write_config(
        "",
        &[(
            "pg",
            "conninfo = host=x\nssh_command = ssh x\narchiver = on\nactive = false",
        )],
    );
    assert_eq!(
        home.run(&["archive-wal", "pg"]).ok().stdout,
        "Skipping inactive server 'pg'\n"
    );
    let run = home.run(&["archive-wal", "all"]);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr
            .contains("ERROR: You cannot use 'all' in a single server context"),
        "{}",
        run.stderr
    );
}

#[cfg(feature = "failpoints")]
#[test]
fn archive_wal_killed_at_any_step_completes_on_the_next_run() {
    require!("PostgreSQL 15 binaries", pg_available());
    for point in [
        "durable.before_rename",
        "archive.after_store",
        "archive.after_catalog",
    ] {
        let setup = setup("gzip");
        generate_wal(&setup.pg, 3);
        let killed = crate::harness::Run::of(
            setup
                .home
                .barman()
                .args(["archive-wal", "pg"])
                .env("BARMAN_FAILPOINT", point),
        );
        assert_eq!(
            killed.code, -1,
            "{point}: the fail-point did not kill the process"
        );
        setup.home.run(&["archive-wal", "pg"]).ok();
        check_archive_matches(&setup);
    }
}

#[test]
fn switch_wal_closes_a_segment_and_waits_for_its_archiving() {
    require!("PostgreSQL 15 binaries", pg_available());
    require!(
        "Python Barman (scripts/python-barman)",
        python_barman::available()
    );
    let s = setup("gzip");
    s.pg.execute("CREATE TABLE sw (i int); INSERT INTO sw VALUES (1)");
    let before =
        s.pg.query_scalar("SELECT pg_walfile_name(pg_current_wal_insert_lsn())");
    let run = s
        .home
        .run(&[
            "switch-wal",
            "--force",
            "--archive",
            "--archive-timeout",
            "60",
            "pg",
        ])
        .ok();
    let mut lines = run.stdout.lines();
    assert_eq!(
        lines.next(),
        Some(format!("The WAL file {before} has been closed on server 'pg'").as_str())
    );
    assert_eq!(
        lines.next(),
        Some(
            format!("Waiting for the WAL file {before} from server 'pg' (max: 60 seconds)")
                .as_str()
        )
    );
    assert!(names_in_db(&s.home).contains(&before), "{}", run.stdout);
    // Nothing written since: no switch, the same words as Barman.
    let ours = s.home.run(&["switch-xlog", "pg"]).ok();
    let theirs = s.home.run_python(&["switch-wal", "pg"]).unwrap().ok();
    assert_eq!(ours.stdout, "No switch required for server 'pg'\n");
    assert_eq!(ours.stdout, theirs.stdout);
    // Python switches after new writes the same way.
    s.pg.execute("INSERT INTO sw VALUES (2)");
    let theirs = s.home.run_python(&["switch-wal", "pg"]).unwrap().ok();
    assert!(
        theirs.stdout.starts_with("The WAL file ")
            && theirs.stdout.ends_with(" has been closed on server 'pg'\n")
    );
}
