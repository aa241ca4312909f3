//! `verify-archive` on a real archive: PostgreSQL 15 archiving through `archive-wal` with
//! gzip, a backup taken with `pg_basebackup`. A clean archive verifies; then each fault is
//! planted and named (a flipped byte, a truncated file, a deleted middle segment, a
//! timeline whose parent has no history file), a segment archived by Python Barman is
//! first seen without being an error (but still checked to hold a whole segment), and
//! incremental runs read only new files.

use crate::archive_wal::{archiving_cluster, generate_wal};
use crate::harness::pg_cluster::pg_available;
use crate::harness::{python_barman, BarmanHome, PgCluster, Run};
use crate::require;
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

fn lab() -> (BarmanHome, PgCluster) {
    let home = BarmanHome::new();
    let command = crate::harness::incoming_archive_command(&home);
    let pg = archiving_cluster(&command);
    home.write_config(
        &format!("log_file = {}", home.dir().join("barman.log").display()),
        &[(
            "pg",
            &format!(
                "conninfo = {c}\nstreaming_conninfo = {c}\nbackup_method = postgres\narchiver = on\n\
                 immediate_checkpoint = true\ncompression = gzip",
                c = pg.conninfo()
            ),
        )],
    );
    (home, pg)
}

fn wals(home: &BarmanHome) -> PathBuf {
    home.server_dir("pg").join("wals")
}

fn xlog_names(home: &BarmanHome) -> Vec<String> {
    std::fs::read_to_string(wals(home).join("pg-xlog.db"))
        .unwrap()
        .lines()
        .map(|l| l.split('\t').next().unwrap().to_string())
        .collect()
}

fn segment_path(home: &BarmanHome, name: &str) -> PathBuf {
    wals(home).join(&name[..16]).join(name)
}

fn gunzip(path: &Path) -> Vec<u8> {
    let mut plain = Vec::new();
    flate2::read::MultiGzDecoder::new(std::fs::File::open(path).unwrap())
        .read_to_end(&mut plain)
        .unwrap();
    plain
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(data).unwrap();
    enc.finish().unwrap()
}

fn verify_json(home: &BarmanHome, extra: &[&str]) -> (Value, Run) {
    let mut args = vec!["-f", "json", "verify-archive", "pg"];
    args.extend_from_slice(extra);
    let run = home.run(&args);
    let doc: Value = serde_json::from_str(&run.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}\n{}", run.stdout, run.stderr));
    (doc["pg"].clone(), run)
}

/// Segments of timeline 1 in the archive, in order.
fn segments(home: &BarmanHome) -> Vec<String> {
    xlog_names(home)
        .into_iter()
        .filter(|n| n.len() == 24 && n.starts_with("00000001"))
        .collect()
}

#[test]
fn verify_archive_checks_checksums_sizes_gaps_and_timelines() {
    require!("PostgreSQL 15", pg_available());
    let (home, pg) = lab();
    home.run(&["backup", "pg"]).ok();
    generate_wal(&pg, 4);
    home.run(&["archive-wal", "pg"]).ok();

    // The archiver recorded one checksum per catalogued file, of the plain content.
    let index = std::fs::read_to_string(wals(&home).join("pg-xlog.db.sha256")).unwrap();
    let lines: Vec<Vec<&str>> = index.lines().map(|l| l.split('\t').collect()).collect();
    // (The backup's purge of older WAL dropped some catalogued files: their lines stay
    // until verify-archive compacts the index.)
    let indexed: Vec<String> = lines.iter().map(|l| l[0].to_string()).collect();
    let listed = xlog_names(&home);
    assert!(
        listed.iter().all(|n| indexed.contains(n)),
        "{indexed:?} {listed:?}"
    );
    for line in lines.iter().filter(|l| listed.iter().any(|n| n == l[0])) {
        assert_eq!(line[3], "archived", "{line:?}");
        let path = if line[0].ends_with(".history") {
            wals(&home).join(line[0])
        } else {
            segment_path(&home, line[0])
        };
        let plain = gunzip(&path);
        assert_eq!(
            line[1],
            barman::core::checksums::hex(&Sha256::digest(&plain)),
            "{line:?}"
        );
        assert_eq!(line[2], plain.len().to_string());
    }

    // Clean: everything read the first time, nothing the second.
    let run = home.run(&["verify-archive", "pg"]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert!(
        run.stdout
            .contains("WAL archive verification for server pg: OK"),
        "{}",
        run.stdout
    );
    let total = xlog_names(&home).len() as u64;
    let (doc, run) = verify_json(&home, &[]);
    assert_eq!(run.code, 0);
    assert_eq!(
        (doc["read"].as_u64(), doc["unchanged"].as_u64()),
        (Some(0), Some(total))
    );
    assert_eq!(doc["status"], "OK");

    // Incremental: only the new files are read; --full reads them all.
    generate_wal(&pg, 2);
    home.run(&["archive-wal", "pg"]).ok();
    let now = xlog_names(&home).len() as u64;
    let (doc, _) = verify_json(&home, &[]);
    assert_eq!(doc["read"].as_u64(), Some(now - total), "{doc}");
    assert_eq!(doc["mode"], "incremental");
    let (doc, _) = verify_json(&home, &["--full"]);
    assert_eq!(
        (doc["read"].as_u64(), doc["mode"].as_str()),
        (Some(now), Some("full"))
    );

    let segs = segments(&home);
    let middle = segs[segs.len() / 2].clone();
    let path = segment_path(&home, &middle);
    let original = std::fs::read(&path).unwrap();

    // A flipped byte (re-compressed, so the file still decompresses): mismatch, named.
    let mut plain = gunzip(&path);
    plain[100_000] ^= 0x40;
    std::fs::write(&path, gzip(&plain)).unwrap();
    let (doc, run) = verify_json(&home, &[]);
    assert_eq!(run.code, 1);
    assert_eq!(doc["faults"][0]["kind"], "checksum_mismatch", "{doc}");
    assert_eq!(doc["faults"][0]["file"], middle.as_str());
    let run = home.run(&["verify-archive", "pg"]);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.contains(&format!(
            "ERROR: Checksum mismatch for WAL file {middle} of server pg"
        )),
        "{}",
        run.stderr
    );
    let nagios = home.run(&["verify-archive", "--nagios", "pg"]);
    assert_eq!(nagios.code, 2, "{}", nagios.stdout);
    assert!(
        nagios.stdout.starts_with(
            "BARMAN CRITICAL - WAL archive of server pg: 1 fault(s): Checksum mismatch"
        ),
        "{}",
        nagios.stdout
    );
    assert_eq!(nagios.stdout.lines().count(), 1);
    assert!(nagios.stderr.is_empty(), "{}", nagios.stderr);

    // Truncated: it no longer decompresses.
    std::fs::write(&path, &original[..original.len() / 2]).unwrap();
    let run = home.run(&["verify-archive", "pg"]);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.contains(&format!(
            "ERROR: Cannot read WAL file {middle} of server pg"
        )),
        "{}",
        run.stderr
    );

    // Deleted: a gap between the backup's first WAL and the newest, and a catalog entry
    // without its file.
    std::fs::remove_file(&path).unwrap();
    let (doc, run) = verify_json(&home, &[]);
    assert_eq!(run.code, 1);
    let kinds: Vec<&str> = doc["faults"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["not_in_archive", "gap"], "{doc}");
    assert_eq!(doc["faults"][1]["first"], middle.as_str());
    assert_eq!(doc["faults"][1]["count"], 1);
    let run = home.run(&["verify-archive", "pg"]);
    assert!(
        run.stderr.contains(&format!(
            "ERROR: Missing WAL for server pg: {middle} (1 segment(s)), needed by backup(s) "
        )),
        "{}",
        run.stderr
    );

    // Put back as it was: clean again, even with --full, and Nagios says OK.
    std::fs::write(&path, &original).unwrap();
    home.run(&["verify-archive", "--full", "pg"]).ok();
    let nagios = home.run(&["verify-archive", "--nagios", "pg"]);
    assert_eq!(nagios.code, 0);
    assert!(
        nagios
            .stdout
            .starts_with("BARMAN OK - WAL archive of server pg verified ("),
        "{}",
        nagios.stdout
    );

    // A timeline whose parent has no history file, archived like any history file.
    let incoming = home.server_dir("pg").join("incoming");
    std::fs::write(
        incoming.join("00000003.history"),
        "1\t0/3000000\tx\n2\t0/4000000\tplanted\n",
    )
    .unwrap();
    home.run(&["archive-wal", "pg"]).ok();
    let run = home.run(&["verify-archive", "pg"]);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.contains("ERROR: Timeline 3 of server pg: parent timeline 2 has no history file 00000002.history"),
        "{}",
        run.stderr
    );
}

#[test]
fn verify_archive_records_python_archived_wal_as_first_seen() {
    require!("PostgreSQL 15", pg_available());
    require!(python_barman::REQUIREMENT, python_barman::available());
    let (home, pg) = lab();
    home.run(&["backup", "pg"]).ok();
    generate_wal(&pg, 1);
    home.run(&["archive-wal", "pg"]).ok();
    home.run(&["verify-archive", "pg"]).ok();
    // Python Barman archives the next ones: it records no checksum.
    generate_wal(&pg, 2);
    home.run_python(&["archive-wal", "pg"]).unwrap().ok();
    let index = std::fs::read_to_string(wals(&home).join("pg-xlog.db.sha256")).unwrap();
    let unrecorded: Vec<String> = xlog_names(&home)
        .into_iter()
        .filter(|n| !index.contains(n.as_str()))
        .collect();
    assert!(unrecorded.len() >= 2, "{unrecorded:?}");
    // Without a checksum, a file is still checked to hold a whole segment.
    let short = unrecorded[0].clone();
    let path = segment_path(&home, &short);
    let original = std::fs::read(&path).unwrap();
    std::fs::write(&path, gzip(&gunzip(&path)[..8192])).unwrap();
    let run = home.run(&["verify-archive", "pg"]);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.contains(&format!(
            "ERROR: WAL file {short} of server pg ({}) holds 8192 bytes once decompressed, not a whole segment of 1048576",
            path.display()
        )),
        "{}",
        run.stderr
    );
    let first_seen = |run: &Run, name: &str| {
        assert!(
            run.stdout.contains(&format!(
                "\t\t{name}: first seen, no checksum was recorded: recorded now"
            )),
            "{}",
            run.stdout
        )
    };
    // The others were good: first seen in that run already.
    for name in &unrecorded[1..] {
        first_seen(&run, name);
    }
    std::fs::write(&path, &original).unwrap();
    let run = home.run(&["verify-archive", "pg"]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    first_seen(&run, &short);
    let index = std::fs::read_to_string(wals(&home).join("pg-xlog.db.sha256")).unwrap();
    for name in &unrecorded {
        let line = index
            .lines()
            .find(|l| l.starts_with(name.as_str()))
            .unwrap();
        assert!(line.ends_with("\tfirst-seen"), "{line}");
    }
    // From now on they are checked like any other: a --full run finds none first seen,
    // and Python Barman still rebuilds its xlog db around our files.
    let (doc, run) = verify_json(&home, &["--full"]);
    assert_eq!(run.code, 0);
    assert_eq!(doc["first_seen"], serde_json::json!([]));
    let rebuilt = home.run_python(&["rebuild-xlogdb", "pg"]).unwrap().ok();
    assert!(!rebuilt.stderr.contains("sha256"), "{}", rebuilt.stderr);
    let log = std::fs::read_to_string(home.dir().join("barman.log")).unwrap_or_default();
    assert!(
        !log.contains("unexpected file rebuilding the wal database"),
        "{log}"
    );
}

#[test]
fn verify_archive_of_an_empty_archive_is_ok_and_runs_one_at_a_time() {
    let home = BarmanHome::new();
    home.write_config(
        &format!("log_file = {}", home.dir().join("barman.log").display()),
        &[(
            "pg",
            "conninfo = host=x\nssh_command = ssh x\narchiver = on\nbackup_options = concurrent_backup",
        )],
    );
    let (doc, run) = verify_json(&home, &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        (doc["files"].as_u64(), doc["status"].as_str()),
        (Some(0), Some("OK"))
    );
    // Another run holds the server's verify-archive lock.
    let lock = home.home().join(".pg-verify-archive.lock");
    let _holder = Holder(
        // --no-fork: flock execs sleep itself, so killing it releases the lock.
        std::process::Command::new("flock")
            .arg("--no-fork")
            .arg(&lock)
            .args(["sleep", "30"])
            .spawn()
            .unwrap(),
    );
    crate::harness::wait_until("the lock to be held", || {
        std::process::Command::new("flock")
            .args(["-n"])
            .arg(&lock)
            .arg("true")
            .status()
            .is_ok_and(|s| !s.success())
    });
    let run = home.run(&["verify-archive", "pg"]);
    assert_eq!(run.code, 1);
    assert_eq!(
        run.stderr,
        "ERROR: Another verify-archive is already running for server pg\n"
    );
    let nagios = home.run(&["verify-archive", "--nagios", "pg"]);
    assert_eq!((nagios.code, nagios.stderr.as_str()), (2, ""));
    assert_eq!(
        nagios.stdout,
        "BARMAN CRITICAL - WAL archive of server pg not verified: Another verify-archive is already running for server pg\n"
    );
    let run = home.run(&["verify-archive", "nope"]);
    assert_eq!(
        (run.code, run.stderr.as_str()),
        (1, "ERROR: Unknown server 'nope'\n")
    );
}

/// A child process killed when the test ends, whichever way.
struct Holder(std::process::Child);

impl Drop for Holder {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
