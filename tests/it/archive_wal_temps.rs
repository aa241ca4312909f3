//! What `archive-wal` must leave alone, or clean up, around the files it archives: other
//! writers' in-flight temporary files in `incoming/` (rsync's `.NAME.XXXXXX`, put-wal's
//! `.PID-NAME`), which Barman's `glob("*")` never sees, and its own half-written
//! `.NAME.PID.compressed` in `wals/` after it was killed.

use crate::archive_wal::{check_archive_matches, generate_wal, Setup};
use crate::harness::pg_cluster::{give_to_postgres, pg_available};
use crate::harness::BarmanHome;
use crate::require;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

fn listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|r| {
            r.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

#[test]
fn archive_wal_leaves_hidden_in_flight_files_in_incoming() {
    let home = BarmanHome::new();
    home.write_config(
        "",
        &[(
            "pg",
            "conninfo = host=x\nssh_command = ssh x\narchiver = on\n",
        )],
    );
    let incoming = home.home().join("pg/incoming");
    std::fs::create_dir_all(&incoming).unwrap();
    // Named exactly as rsync (`.%f.XXXXXX`) and put-wal (`.PID-%f`) name theirs.
    let rsync_tmp = ".000000010000000000000008.Ab3xYz";
    let put_wal_tmp = format!(".{}-000000010000000000000009", std::process::id());
    std::fs::write(incoming.join(rsync_tmp), b"half a segment").unwrap();
    std::fs::write(incoming.join(&put_wal_tmp), b"half a segment").unwrap();
    let run = home.run(&["archive-wal", "pg"]).ok();
    assert_eq!(
        run.stdout,
        "Processing xlog segments from file archival for pg\n\tno file found\n"
    );
    assert_eq!(listing(&incoming), [rsync_tmp, put_wal_tmp.as_str()]);
    assert!(listing(&home.home().join("pg/errors")).is_empty());
}

#[test]
fn archive_wal_runs_alongside_an_rsync_archive_command() {
    require!("PostgreSQL 15 binaries", pg_available());
    let home = BarmanHome::new();
    let incoming = home.home().join("pg/incoming");
    let shadow = home.dir().join("shadow");
    for dir in [&incoming, &shadow] {
        std::fs::create_dir_all(dir).unwrap();
        give_to_postgres(dir);
    }
    // The archive_command Barman's documentation shows, to a local path: rsync writes
    // `.%f.XXXXXX` in incoming/ and renames it when complete. The bandwidth limit keeps
    // each temporary file there for a quarter of a second, so the loop below meets it.
    let command = format!(
        "'cp %p {sh}/%f && rsync -a --bwlimit=4000 %p {inc}/%f'",
        sh = shadow.display(),
        inc = incoming.display()
    );
    let pg = crate::archive_wal::archiving_cluster(&command);
    home.write_config(
        "",
        &[(
            "pg",
            &format!(
                "conninfo = {}\nssh_command = ssh x\narchiver = on\ncompression = gzip\n",
                pg.conninfo()
            ),
        )],
    );
    let setup = Setup { home, pg, shadow };
    let stop = AtomicBool::new(false);
    std::thread::scope(|scope| {
        scope.spawn(|| {
            while !stop.load(Ordering::Relaxed) {
                setup.home.run(&["archive-wal", "pg"]).ok();
            }
        });
        generate_wal(&setup.pg, 12);
        stop.store(true, Ordering::Relaxed);
    });
    setup.home.run(&["archive-wal", "pg"]).ok();
    check_archive_matches(&setup);
    assert!(
        listing(&setup.home.home().join("pg/errors")).is_empty(),
        "rsync's temporary files were moved to errors/"
    );
    assert_eq!(
        setup
            .pg
            .query_scalar("SELECT failed_count FROM pg_stat_archiver"),
        "0",
        "the archive_command failed at least once"
    );
}

#[cfg(feature = "failpoints")]
#[test]
fn archive_wal_reclaims_the_temporary_file_of_a_killed_run() {
    use crate::archive_wal::{names_in_db, setup};
    require!("PostgreSQL 15 binaries", pg_available());
    let setup = setup("gzip");
    generate_wal(&setup.pg, 3);
    let killed = crate::harness::Run::of(
        setup
            .home
            .barman()
            .args(["archive-wal", "pg"])
            .env("BARMAN_FAILPOINT", "archive.after_compress"),
    );
    assert_eq!(killed.code, -1, "the fail-point did not kill the process");
    let temps = |setup: &Setup| -> Vec<String> {
        let wals = setup.home.home().join("pg/wals");
        listing(&wals)
            .into_iter()
            .filter(|d| wals.join(d).is_dir())
            .flat_map(|d| listing(&wals.join(d)))
            .filter(|f| f.ends_with(".compressed"))
            .collect()
    };
    assert!(!temps(&setup).is_empty(), "no temporary file to reclaim");
    setup.home.run(&["archive-wal", "pg"]).ok();
    assert!(temps(&setup).is_empty(), "left: {:?}", temps(&setup));
    check_archive_matches(&setup);
    assert!(!names_in_db(&setup.home).is_empty());
}

/// Fill a fresh home's `folder` with `files` (16 MiB of zeros each, hidden ones a byte).
fn home_with(folder: &str, files: &[&str]) -> BarmanHome {
    let home = BarmanHome::new();
    home.write_config(
        "",
        &[(
            "pg",
            "conninfo = host=x\nstreaming_conninfo = host=x\nssh_command = ssh x\n\
             archiver = on\nstreaming_archiver = on\n",
        )],
    );
    let dir = home.home().join("pg").join(folder);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::create_dir_all(home.home().join("pg/errors")).unwrap();
    for name in files {
        let size = if name.starts_with('.') { 1 } else { 16 << 20 };
        std::fs::write(dir.join(name), vec![0u8; size]).unwrap();
    }
    home
}

#[test]
fn archive_wal_headers_match_python_barman() {
    require!(
        crate::harness::python_barman::REQUIREMENT,
        crate::harness::python_barman::available()
    );
    let cases: [(&str, &[&str]); 3] = [
        (
            "streaming",
            &[
                "000000010000000000000001",
                "000000010000000000000002",
                "000000010000000000000003.partial",
                ".hidden",
            ],
        ),
        (
            "incoming",
            &[
                "000000010000000000000001",
                "junkfile",
                ".000000010000000000000002.Ab3xYz",
            ],
        ),
        ("incoming", &["000000010000000000000001", ".hidden"]),
    ];
    for (folder, files) in cases {
        let theirs = home_with(folder, files)
            .run_python(&["archive-wal", "pg"])
            .unwrap()
            .ok();
        let ours = home_with(folder, files).run(&["archive-wal", "pg"]).ok();
        assert_eq!(ours.stdout, theirs.stdout, "{folder}: {files:?}");
    }
}
