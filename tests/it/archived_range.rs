//! `check-archived-wal-range` side by side with Python Barman 3.20.1 on the same catalog
//! (a backup.info Python Barman wrote, WAL files in the archive's hash folders): complete
//! ranges, gaps, segment sizes crossing a log boundary, and every refusal, console and
//! `-f json`, with the exit codes.

use crate::harness::{python_barman, BarmanHome};
use crate::require;

const BACKUP_INFO: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/barman-3.20/catalog/pg-20261124T004711-backup.info"
);

/// A server whose newest usable backup has `segment_size`, and the given WAL files.
fn home_with(segment_size: u64, wals: &[&str]) -> BarmanHome {
    let home = BarmanHome::new();
    home.write_config(
        "",
        &[(
            "pg",
            "conninfo = host=127.0.0.1 port=1 user=postgres\n\
             streaming_conninfo = host=127.0.0.1 port=1 user=postgres\n\
             backup_method = postgres\narchiver = on\n",
        )],
    );
    let meta = home.server_dir("pg").join("meta");
    std::fs::create_dir_all(&meta).unwrap();
    let info = std::fs::read_to_string(BACKUP_INFO).unwrap().replace(
        "xlog_segment_size=16777216",
        &format!("xlog_segment_size={segment_size}"),
    );
    std::fs::write(meta.join("20261124T004711-backup.info"), &info).unwrap();
    // A newer FAILED backup with another segment size must not be used.
    let failed = info.replace("status=DONE", "status=FAILED").replace(
        &format!("xlog_segment_size={segment_size}"),
        "xlog_segment_size=1048576",
    );
    std::fs::write(meta.join("20261125T000000-backup.info"), failed).unwrap();
    for wal in wals {
        let dir = home.server_dir("pg").join("wals").join(&wal[..16]);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(wal), b"wal").unwrap();
    }
    home
}

/// Our and Python's stdout, `ERROR:` lines and exit code for `args`, asserted equal.
fn same(home: &BarmanHome, args: &[&str]) -> (String, Vec<String>, i32) {
    let errors = |stderr: &str| {
        stderr
            .lines()
            .filter(|l| l.starts_with("ERROR: "))
            .map(str::to_string)
            .collect::<Vec<_>>()
    };
    let ours = home.run(args);
    let theirs = home.run_python(args).unwrap();
    let ours = (ours.stdout, errors(&ours.stderr), ours.code);
    assert_eq!(
        ours,
        (theirs.stdout, errors(&theirs.stderr), theirs.code),
        "{args:?}"
    );
    ours
}

#[test]
fn archived_range_without_a_gap_passes_as_python() {
    require!(python_barman::REQUIREMENT, python_barman::available());
    let home = home_with(
        16 << 20,
        &[
            "000000010000000000000030",
            "000000010000000000000031",
            "000000010000000000000032",
        ],
    );
    let (stdout, errors, code) = same(
        &home,
        &[
            "check-archived-wal-range",
            "pg",
            "000000010000000000000030",
            "000000010000000000000032",
        ],
    );
    assert_eq!(
        (stdout.as_str(), errors.len(), code),
        (
            "Server pg:\n\tWAL sequence check for server pg: all segments are present\n",
            0,
            0
        )
    );
    let (json, _, code) = same(
        &home,
        &[
            "-f",
            "json",
            "check-archived-wal-range",
            "pg",
            "000000010000000000000030",
            "000000010000000000000030",
        ],
    );
    assert_eq!(code, 0);
    assert_eq!(
        json,
        r#"{"pg": {"begin_wal": "000000010000000000000030", "end_wal": "000000010000000000000030", "missing_wals": []}}"#
    );
}

#[test]
fn archived_range_with_gaps_lists_them_and_fails_as_python() {
    require!(python_barman::REQUIREMENT, python_barman::available());
    let home = home_with(
        16 << 20,
        &["000000010000000000000030", "000000010000000000000033"],
    );
    let args = [
        "check-archived-wal-range",
        "pg",
        "000000010000000000000030",
        "000000010000000000000034",
    ];
    let (stdout, errors, code) = same(&home, &args);
    assert_eq!(code, 1);
    assert_eq!(
        stdout,
        "Server pg:\n\tWAL sequence check for server pg: 3 missing segment(s):\n\
         \t\t000000010000000000000031\n\t\t000000010000000000000032\n\t\t000000010000000000000034\n"
    );
    assert_eq!(
        errors,
        vec!["ERROR: WAL sequence check failed for server 'pg': 3 missing segment(s) in range 000000010000000000000030..000000010000000000000034"]
    );
    let mut json_args = vec!["-f", "json"];
    json_args.extend(args);
    let (json, _, code) = same(&home, &json_args);
    assert_eq!(code, 1);
    assert!(json.contains(r#""missing_wals": ["000000010000000000000031", "000000010000000000000032", "000000010000000000000034"]"#), "{json}");
    // -d adds Barman's debug line.
    same(
        &home,
        &[
            "-d",
            "check-archived-wal-range",
            "pg",
            "000000010000000000000030",
            "000000010000000000000031",
        ],
    );
}

#[test]
fn archived_range_uses_the_last_backups_segment_size_across_logs() {
    require!(python_barman::REQUIREMENT, python_barman::available());
    // 64 MiB segments: a log holds segments 00..3F, then the next log starts.
    let home = home_with(
        64 << 20,
        &["00000001000000000000003E", "000000010000000100000000"],
    );
    let (stdout, _, code) = same(
        &home,
        &[
            "check-archived-wal-range",
            "pg",
            "00000001000000000000003E",
            "000000010000000100000001",
        ],
    );
    assert_eq!(code, 1);
    assert_eq!(
        stdout,
        "Server pg:\n\tWAL sequence check for server pg: 2 missing segment(s):\n\
         \t\t00000001000000000000003F\n\t\t000000010000000100000001\n"
    );
    // Lower-case names are accepted; the missing ones are listed in upper case.
    same(
        &home,
        &[
            "check-archived-wal-range",
            "pg",
            "00000001000000000000003e",
            "00000001000000000000003f",
        ],
    );
}

#[test]
fn archived_range_refusals_match_python() {
    require!(python_barman::REQUIREMENT, python_barman::available());
    let home = home_with(16 << 20, &[]);
    let a = "000000010000000000000030";
    for args in [
        ["pg", "bad", a],
        ["pg", a, "00000001000000000000003Z"],
        ["pg", "000000010000000000000030.partial", a],
        ["pg", "00000001.history", a],
        ["pg", a, "000000020000000000000031"],
        ["pg", "000000010000000000000031", a],
        ["pg", "00000001000000000000003b", "00000001000000000000003C"],
        ["nope", a, a],
        ["all", a, a],
    ] {
        for format in ["console", "json"] {
            let mut full = vec!["-f", format, "check-archived-wal-range"];
            full.extend(args);
            let (_, errors, code) = same(&home, &full);
            if format == "console" {
                assert_eq!((code, errors.len()), (1, 1), "{args:?}");
            }
        }
    }
    // No usable backup: the segment size is unknown.
    std::fs::remove_file(
        home.server_dir("pg")
            .join("meta/20261124T004711-backup.info"),
    )
    .unwrap();
    let (stdout, errors, code) = same(&home, &["check-archived-wal-range", "pg", a, a]);
    assert_eq!(
        (stdout.as_str(), errors, code),
        (
            "Server pg:\n",
            vec![
                "ERROR: No backup found for server 'pg': cannot determine WAL segment size"
                    .to_string()
            ],
            1
        )
    );
}
