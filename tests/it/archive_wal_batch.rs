//! `archive-wal` commits the files it prepared in batches (one fsync per step for the
//! whole batch): a kill at any step inside a batch of several files leaves what the next
//! run completes, every file archived exactly once with its content, and `incoming/`
//! emptied.

use crate::harness::BarmanHome;
use std::collections::BTreeMap;
use std::path::Path;

const FILES: u32 = 24;

fn name(i: u32) -> String {
    format!("0000000100000000{i:08X}")
}

/// Distinct content per file, compressible like WAL.
fn content(i: u32) -> Vec<u8> {
    let mut data = vec![0u8; 1 << 20];
    let mut x = 0x9E37_79B9_7F4A_7C15u64 ^ u64::from(i);
    for chunk in data.chunks_mut(8192) {
        for b in chunk.iter_mut().take(2600) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            *b = (x % 64) as u8;
        }
    }
    data
}

/// A home whose `incoming/` holds the files; `compression` "none" leaves it unset.
fn home(compression: &str) -> BarmanHome {
    let home = BarmanHome::new();
    let mut server = "conninfo = host=x\nssh_command = ssh x\narchiver = on\n".to_string();
    if compression != "none" {
        server.push_str(&format!("compression = {compression}\n"));
    }
    home.write_config("", &[("pg", &server)]);
    let incoming = home.home().join("pg/incoming");
    std::fs::create_dir_all(&incoming).unwrap();
    for i in 1..=FILES {
        std::fs::write(incoming.join(name(i)), content(i)).unwrap();
    }
    home
}

fn plain(path: &Path) -> Vec<u8> {
    let bytes = std::fs::read(path).unwrap();
    if bytes.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::new();
        std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&bytes[..]), &mut out)
            .unwrap();
        out
    } else {
        bytes
    }
}

fn check_complete(home: &BarmanHome, what: &str) {
    let wals = home.home().join("pg/wals");
    let db = std::fs::read_to_string(wals.join("pg-xlog.db")).unwrap();
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for line in db.lines() {
        *counts.entry(line.split('\t').next().unwrap()).or_default() += 1;
    }
    let want: Vec<String> = (1..=FILES).map(name).collect();
    assert_eq!(
        counts.keys().map(|k| k.to_string()).collect::<Vec<_>>(),
        want,
        "{what}: xlog.db lists other files"
    );
    assert!(
        counts.values().all(|c| *c == 1),
        "{what}: duplicated lines {counts:?}"
    );
    for i in 1..=FILES {
        let archived = wals.join("0000000100000000").join(name(i));
        assert_eq!(plain(&archived), content(i), "{what}: {} differs", name(i));
    }
    let folder: Vec<String> = std::fs::read_dir(wals.join("0000000100000000"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.'))
        .collect();
    assert!(folder.is_empty(), "{what}: temporaries left: {folder:?}");
    let left = std::fs::read_dir(home.home().join("pg/incoming"))
        .unwrap()
        .count();
    assert_eq!(left, 0, "{what}: incoming/ not emptied");
}

#[cfg(feature = "failpoints")]
#[test]
fn archive_wal_killed_inside_a_batch_completes_on_the_next_run() {
    for compression in ["none", "gzip"] {
        for point in [
            "archive.batch.mid_place",
            "archive.batch.after_store",
            "archive.batch.after_catalog",
        ] {
            let what = format!("{compression}, {point}");
            let home = home(compression);
            let killed = crate::harness::Run::of(
                home.barman()
                    .args(["archive-wal", "pg"])
                    .env("BARMAN_FAILPOINT", point),
            );
            assert_eq!(
                killed.code, -1,
                "{what}: no batch of several files was killed"
            );
            let rerun = home.run(&["archive-wal", "pg"]);
            assert_eq!(rerun.code, 0, "{what}: {rerun:?}");
            check_complete(&home, &what);
        }
    }
}

#[test]
fn archive_wal_of_a_backlog_archives_each_file_once_in_order() {
    for compression in ["none", "gzip"] {
        let home = home(compression);
        let run = home.run(&["archive-wal", "pg"]);
        assert_eq!(run.code, 0, "{run:?}");
        let listed: Vec<&str> = run
            .stdout
            .lines()
            .filter_map(|l| l.strip_prefix('\t'))
            .collect();
        let want: Vec<String> = (1..=FILES).map(name).collect();
        assert_eq!(listed, want, "{compression}: files reported out of order");
        check_complete(&home, compression);
        let db = std::fs::read_to_string(home.home().join("pg/wals/pg-xlog.db")).unwrap();
        let order: Vec<&str> = db.lines().map(|l| l.split('\t').next().unwrap()).collect();
        assert_eq!(order, want, "{compression}: xlog.db out of archive order");
    }
}

/// With no compression the archiver reads each source once for both its checksum and its
/// commit-time scan: on real PostgreSQL WAL (with commits in it), the index lines are
/// those a scan of the archived file itself gives, and the checksums those of its bytes.
#[test]
fn archive_wal_uncompressed_checksums_and_commit_times_from_one_read() {
    use crate::archive_wal::{generate_wal, setup};
    use barman::adapters::catalog::commit_index::SegmentScan;
    use sha2::Digest;
    crate::require!(
        "PostgreSQL 15 binaries",
        crate::harness::pg_cluster::pg_available()
    );
    let setup = setup("gzip");
    // The same server without compression.
    setup.home.write_config(
        "",
        &[(
            "pg",
            &format!(
                "conninfo = {}\nssh_command = ssh postgres@127.0.0.1\narchiver = on\n\
                 backup_options = concurrent_backup\n",
                setup.pg.conninfo()
            ),
        )],
    );
    generate_wal(&setup.pg, 4);
    let run = setup.home.run(&["archive-wal", "pg"]);
    assert_eq!(run.code, 0, "{run:?}");
    let wals = setup.home.home().join("pg/wals");
    let commits = std::fs::read_to_string(wals.join("pg-xlog.db.commits")).unwrap();
    let sums = std::fs::read_to_string(wals.join("pg-xlog.db.sha256")).unwrap();
    let mut with_commits = 0;
    for line in commits.lines() {
        let name = line.split(' ').next().unwrap();
        let archived = wals.join(&name[..16]).join(name);
        let wal = name.parse().unwrap();
        let alone = SegmentScan::new(&wal).finish(&archived).unwrap();
        assert_eq!(format!("{line}\n"), alone.to_line(), "{name}");
        with_commits += usize::from(!line.ends_with(" 0") && !line.ends_with("unknown"));
        let bytes = std::fs::read(&archived).unwrap();
        let sha = sha2::Sha256::digest(&bytes);
        let hex: String = sha.iter().map(|b| format!("{b:02x}")).collect();
        let want = format!("{name}\t{hex}\t{}\t", bytes.len());
        assert!(
            sums.lines().any(|l| l.starts_with(&want)),
            "{name}: no checksum line {want:?} in\n{sums}"
        );
    }
    assert!(
        with_commits >= 3,
        "too few segments with commits:\n{commits}"
    );
}
