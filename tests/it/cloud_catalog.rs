//! barman-cloud-backup-list, -show, -keep and -delete against a real S3 server (moto on
//! loopback), side by side with Python's barman-cli-cloud 3.20.1 on backups Python's
//! barman-cloud-backup took of a real PostgreSQL 15 cluster: same stdout byte for byte,
//! same exit codes, keep annotations seen across, and deletions (run on identical copies of
//! the bucket) leaving the same objects.

use crate::harness::s3::{peers_ready as ready, python_tool as pythons, run, S3Server};
use crate::harness::{python_barman, Run};
use crate::require;
use std::path::PathBuf;
use std::process::Command;

const BUCKET: &str = "catalog";
const URL: &str = "s3://catalog/cluster";

fn ours(tool: &str) -> PathBuf {
    PathBuf::from(match tool {
        "barman-cloud-backup-list" => env!("CARGO_BIN_EXE_barman-cloud-backup-list"),
        "barman-cloud-backup-show" => env!("CARGO_BIN_EXE_barman-cloud-backup-show"),
        "barman-cloud-backup-keep" => env!("CARGO_BIN_EXE_barman-cloud-backup-keep"),
        _ => env!("CARGO_BIN_EXE_barman-cloud-backup-delete"),
    })
}

/// Log lines without their time stamp and pid (`2026-12-06 01:08:26,940 [PID] `).
fn messages(stderr: &str) -> Vec<String> {
    stderr
        .lines()
        .filter(|l| !l.contains("Found credentials in environment variables"))
        .map(|l| match l.find("] ") {
            Some(i) if l.starts_with("20") => l[i + 2..].to_string(),
            _ => l.to_string(),
        })
        .map(|l| match (l.find("(older than "), l.find(") due to")) {
            // The point of recoverability is "now" minus the window: it moves.
            (Some(a), Some(b)) if a < b => format!("{}(older than T{}", &l[..a], &l[b..]),
            _ => l,
        })
        .collect()
}

/// Run `tool` both ways on the same arguments: same exit code, stdout and log messages.
fn same(s3: &S3Server, tool: &str, args: &[&str]) -> Run {
    let theirs = run(s3, &pythons(tool), args);
    let mine = run(s3, &ours(tool), args);
    assert_eq!(
        (mine.code, &mine.stdout),
        (theirs.code, &theirs.stdout),
        "{tool} {args:?}\nours stderr: {}\npython stderr: {}",
        mine.stderr,
        theirs.stderr
    );
    assert_eq!(
        messages(&mine.stderr),
        messages(&theirs.stderr),
        "{tool} {args:?} log lines"
    );
    mine
}

/// Copy every object of `from` into a fresh bucket `to`.
fn copy_bucket(s3: &S3Server, from: &str, to: &str) {
    s3.python(&format!(
        "import boto3\ns3 = boto3.client('s3', endpoint_url=URL, aws_access_key_id=KEY, aws_secret_access_key=SECRET, region_name='us-east-1')\n\
         s3.create_bucket(Bucket={to:?})\n\
         for page in s3.get_paginator('list_objects_v2').paginate(Bucket={from:?}):\n    \
             for o in page.get('Contents', []):\n        \
                 s3.copy_object(Bucket={to:?}, Key=o['Key'], CopySource={{'Bucket': {from:?}, 'Key': o['Key']}})\n"
    ));
}

/// A cluster archiving with Python's barman-cloud-wal-archive, and three backups taken by
/// Python's barman-cloud-backup (the second named `named2`); returns the backup ids.
fn three_backups(s3: &S3Server) -> (crate::harness::pg_cluster::PgCluster, Vec<String>) {
    s3.create_bucket(BUCKET);
    let command = format!(
        "'AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_DEFAULT_REGION=us-east-1 {} --endpoint-url {} {URL} pg %p'",
        pythons("barman-cloud-wal-archive").display(),
        s3.endpoint()
    );
    let pg = crate::harness::archiving_cluster(&command);
    for n in 0..3 {
        crate::archive_wal::generate_wal(&pg, 2);
        let socket = pg.socket_dir().display().to_string();
        let port = pg.port().to_string();
        let mut args = vec!["-h", &socket, "-p", &port, "-U", "postgres"];
        args.extend(["--immediate-checkpoint", "-z"]);
        if n == 1 {
            args.extend(["-n", "named2"]);
        }
        args.extend([URL, "pg"]);
        crate::harness::ok(
            run(s3, &pythons("barman-cloud-backup"), &args),
            "python barman-cloud-backup",
        );
        // Backup ids are per second.
        std::thread::sleep(std::time::Duration::from_millis(1100));
    }
    crate::archive_wal::generate_wal(&pg, 1);
    let list = run(s3, &pythons("barman-cloud-backup-list"), &[URL, "pg"]);
    let ids: Vec<String> = list
        .stdout
        .lines()
        .skip(1)
        .filter_map(|l| l.split_whitespace().next().map(str::to_string))
        .collect();
    assert_eq!(ids.len(), 3, "{}", list.stdout);
    (pg, ids)
}

#[test]
fn cloud_catalog_list_show_keep_and_delete_match_python() {
    require!(
        "PostgreSQL binaries",
        crate::harness::pg_cluster::pg_available()
    );
    require!(python_barman::REQUIREMENT, ready());
    let s3 = S3Server::start(false);
    let (_pg, ids) = three_backups(&s3);
    listing_and_showing(&s3, &ids);
    keeping(&s3, &ids);
    deleting(&s3, &ids);
}

fn listing_and_showing(s3: &S3Server, ids: &[String]) {
    let list = same(s3, "barman-cloud-backup-list", &[URL, "pg"]);
    assert!(list.stdout.contains("named2"), "{}", list.stdout);
    same(
        s3,
        "barman-cloud-backup-list",
        &["--format", "json", URL, "pg"],
    );
    for word in [
        ids[0].as_str(),
        "named2",
        "latest",
        "oldest",
        "first",
        "last",
    ] {
        let shown = same(s3, "barman-cloud-backup-show", &[URL, "pg", word]);
        assert!(shown.stdout.starts_with("Backup "), "{}", shown.stdout);
        same(
            s3,
            "barman-cloud-backup-show",
            &["--format", "json", URL, "pg", word],
        );
    }
    // Unknown words and ids, an empty server, a missing bucket.
    assert_eq!(
        same(s3, "barman-cloud-backup-show", &[URL, "pg", "nosuchname"]).code,
        4
    );
    assert_eq!(
        same(
            s3,
            "barman-cloud-backup-show",
            &[URL, "pg", "20200101T000000"]
        )
        .code,
        1
    );
    assert_eq!(
        same(s3, "barman-cloud-backup-show", &[URL, "pg", "last-failed"]).code,
        4
    );
    same(s3, "barman-cloud-backup-list", &[URL, "other"]);
    same(
        s3,
        "barman-cloud-backup-list",
        &["--format", "json", URL, "other"],
    );
    let missing = same(
        s3,
        "barman-cloud-backup-list",
        &["s3://nosuchbucket/x", "pg"],
    );
    assert_eq!(missing.code, 4);
    assert!(
        missing.stderr.contains("NoSuchBucket"),
        "{}",
        missing.stderr
    );
}

fn keeping(s3: &S3Server, ids: &[String]) {
    let keep = "barman-cloud-backup-keep";
    // Python keeps the oldest standalone, ours keeps named2 full: each sees the other's.
    crate::harness::ok(
        run(
            s3,
            &pythons(keep),
            &["--target", "standalone", URL, "pg", "oldest"],
        ),
        "python keep",
    );
    crate::harness::ok(
        run(s3, &ours(keep), &["--target", "full", URL, "pg", "named2"]),
        "our keep",
    );
    assert_eq!(
        s3.keys(BUCKET)
            .iter()
            .filter(|k| k.ends_with("/annotations/keep"))
            .count(),
        2
    );
    for (word, status) in [
        (ids[0].as_str(), "Keep: standalone\n"),
        ("named2", "Keep: full\n"),
        ("latest", "Keep: nokeep\n"),
    ] {
        assert_eq!(same(s3, keep, &["-s", URL, "pg", word]).stdout, status);
    }
    let list = same(s3, "barman-cloud-backup-list", &[URL, "pg"]);
    assert!(list.stdout.contains("KEEP:STANDALONE"), "{}", list.stdout);
    assert!(list.stdout.contains("KEEP:FULL"), "{}", list.stdout);
    // Ours releases Python's keep and Python sees it gone; then it is put back.
    crate::harness::ok(
        run(s3, &ours(keep), &["-r", URL, "pg", "oldest"]),
        "release",
    );
    assert_eq!(
        run(s3, &pythons(keep), &["-s", URL, "pg", "oldest"]).stdout,
        "Keep: nokeep\n"
    );
    crate::harness::ok(
        run(
            s3,
            &ours(keep),
            &["--target", "standalone", URL, "pg", "oldest"],
        ),
        "our keep standalone",
    );
    // Faults: no target (3), a backup that does not exist (4), an unknown name (4).
    assert_eq!(run(s3, &ours(keep), &[URL, "pg", "latest"]).code, 3);
    assert_eq!(
        same(
            s3,
            keep,
            &["--target", "full", URL, "pg", "20200101T000000"]
        )
        .code,
        4
    );
    assert_eq!(same(s3, keep, &["-s", URL, "pg", "nosuchname"]).code, 4);
}

/// Delete with `args` on two identical copies of the bucket, Python's on one, ours on the
/// other: same output, same exit code, same objects left. Returns our run.
fn delete_both(s3: &S3Server, source: &str, case: usize, args: &[&str]) -> Run {
    let (theirs_bucket, ours_bucket) = (format!("py{case}-{source}"), format!("rs{case}-{source}"));
    copy_bucket(s3, source, &theirs_bucket);
    copy_bucket(s3, source, &ours_bucket);
    let with = |bucket: &str| {
        let url = format!("s3://{bucket}/cluster");
        let mut all: Vec<&str> = args.to_vec();
        all.extend([url.as_str(), "pg"]);
        all.iter().map(|s| s.to_string()).collect::<Vec<_>>()
    };
    let theirs_args = with(&theirs_bucket);
    let ours_args = with(&ours_bucket);
    let tool = "barman-cloud-backup-delete";
    let theirs = run(s3, &pythons(tool), &refs(&theirs_args));
    let mine = run(s3, &ours(tool), &refs(&ours_args));
    assert_eq!(
        (mine.code, mine.stdout.replace(&ours_bucket, "B")),
        (theirs.code, theirs.stdout.replace(&theirs_bucket, "B")),
        "delete {args:?}\nours: {}\npython: {}",
        mine.stderr,
        theirs.stderr
    );
    assert_eq!(
        messages(&mine.stderr.replace(&ours_bucket, "B")),
        messages(&theirs.stderr.replace(&theirs_bucket, "B")),
        "delete {args:?} log lines"
    );
    assert_eq!(
        s3.keys(&ours_bucket),
        s3.keys(&theirs_bucket),
        "delete {args:?}: objects left"
    );
    mine
}

fn refs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

fn deleting(s3: &S3Server, ids: &[String]) {
    let all = s3.keys(BUCKET).len();
    // With oldest keep:standalone and named2 keep:full.
    let dry = delete_both(s3, BUCKET, 1, &["--dry-run", "-b", "latest"]);
    assert!(
        dry.stdout.contains("due to --dry-run option"),
        "{}",
        dry.stdout
    );
    assert_eq!(s3.keys("rs1-catalog").len(), all);
    delete_both(s3, BUCKET, 2, &["-b", "latest"]);
    assert!(s3.keys("rs2-catalog").len() < all);
    assert_eq!(delete_both(s3, BUCKET, 3, &["-b", "named2"]).code, 1);
    assert_eq!(
        delete_both(s3, BUCKET, 4, &["-b", "latest", "-m", "3"]).code,
        1
    );
    delete_both(s3, BUCKET, 5, &["-r", "REDUNDANCY 1"]);
    assert_eq!(
        delete_both(s3, BUCKET, 6, &["-r", "REDUNDANCY one"]).code,
        3
    );
    // Without named2's keep: retention removes it, and the WALs the standalone backup does
    // not need, up to the latest backup.
    crate::harness::ok(
        run(
            s3,
            &ours("barman-cloud-backup-keep"),
            &["-r", URL, "pg", "named2"],
        ),
        "release named2",
    );
    let dry = delete_both(s3, BUCKET, 7, &["--dry-run", "-r", "REDUNDANCY 1"]);
    assert_eq!(dry.stdout.lines().count(), 2, "{}", dry.stdout);
    delete_both(s3, BUCKET, 8, &["-r", "REDUNDANCY 1", "--batch-size", "2"]);
    delete_both(s3, BUCKET, 17, &["-r", "REDUNDANCY 1", "--batch-size", "0"]);
    delete_both(s3, BUCKET, 9, &["-r", "REDUNDANCY 1", "-m", "2"]);
    // Without any keep: everything but the newest goes, in order, with its WALs.
    crate::harness::ok(
        run(
            s3,
            &ours("barman-cloud-backup-keep"),
            &["-r", URL, "pg", "oldest"],
        ),
        "release oldest",
    );
    let dry = delete_both(
        s3,
        BUCKET,
        10,
        &["--dry-run", "-r", "RECOVERY WINDOW OF 0 DAYS"],
    );
    assert_eq!(dry.stdout.lines().count(), 4, "{}", dry.stdout);
    delete_both(s3, BUCKET, 11, &["-r", "RECOVERY WINDOW OF 0 DAYS"]);
    let kept = delete_both(
        s3,
        BUCKET,
        16,
        &["-r", "RECOVERY WINDOW OF 0 DAYS", "-m", "2"],
    );
    assert!(
        kept.stderr
            .contains("due to minimum redundancy requirements (2)"),
        "{}",
        kept.stderr
    );
    delete_both(
        s3,
        BUCKET,
        12,
        &["-r", "recovery window of 1 weeks", "-m", "1"],
    );
    delete_both(s3, BUCKET, 13, &["-b", &ids[0]]);
    delete_both(s3, BUCKET, 14, &["-b", "named2"]);
    delete_both(s3, BUCKET, 15, &["-b", "20200101T000000"]);
}

#[test]
fn cloud_catalog_wrong_credentials_and_unreadable_backups_exit_as_python() {
    require!(python_barman::REQUIREMENT, ready());
    let s3 = S3Server::start(true);
    s3.create_bucket(BUCKET);
    let info = "backup_label=None\nbegin_time=2026-12-06 02:49:51.615076+00:00\nbegin_wal=000000010000000000000003\nend_time=2026-12-06 02:49:54.851301+00:00\nend_wal=000000010000000000000003\nserver_name=pg\nstatus=DONE\ntimeline=1\n";
    s3.put_object(
        BUCKET,
        "cluster/pg/base/20261206T024951/backup.info",
        &format!("{info:?}.encode()"),
    );
    s3.put_object(BUCKET, "cluster/pg/base/20261206T024951/data.tar", "b'x'");
    same(&s3, "barman-cloud-backup-list", &[URL, "pg"]);
    same(&s3, "barman-cloud-backup-show", &[URL, "pg", "latest"]);
    // A failed backup: listed with its status, shown with its error, found by
    // `last-failed`, and refused a keep (exit 1).
    let failed = "backup_label=None\nbegin_time=2026-12-05 00:00:01+00:00\nbegin_wal=None\nend_time=None\nend_wal=None\nerror=failure during backup (exit 2)\nserver_name=pg\nstatus=FAILED\ntimeline=None\n";
    s3.put_object(
        BUCKET,
        "cluster/pg/base/20261205T000001/backup.info",
        &format!("{failed:?}.encode()"),
    );
    let list = same(&s3, "barman-cloud-backup-list", &[URL, "pg"]);
    assert!(list.stdout.contains("FAILED"), "{}", list.stdout);
    same(
        &s3,
        "barman-cloud-backup-list",
        &["--format", "json", URL, "pg"],
    );
    let shown = same(&s3, "barman-cloud-backup-show", &[URL, "pg", "last-failed"]);
    assert!(
        shown.stdout.contains("failure during backup"),
        "{}",
        shown.stdout
    );
    same(
        &s3,
        "barman-cloud-backup-show",
        &["--format", "json", URL, "pg", "oldest"],
    );
    let refused = same(
        &s3,
        "barman-cloud-backup-keep",
        &["--target", "full", URL, "pg", "20261205T000001"],
    );
    assert_eq!(refused.code, 1, "{}", refused.stderr);
    // A backup.info with a field this version does not know: an error, exit 1, for all.
    s3.put_object(
        BUCKET,
        "cluster/pg/base/20261208T000000/backup.info",
        "b'status=DONE\\nno_such_field=1\\n'",
    );
    let newer = same(&s3, "barman-cloud-backup-list", &[URL, "pg"]);
    assert_eq!(newer.code, 1, "{}", newer.stderr);
    s3.python(
        "import boto3\nboto3.client('s3', endpoint_url=URL, aws_access_key_id=KEY, aws_secret_access_key=SECRET, region_name='us-east-1').delete_object(Bucket='catalog', Key='cluster/pg/base/20261208T000000/backup.info')\n",
    );
    // A backup.info that cannot be parsed: listed as a warning, and delete refuses.
    s3.put_object(
        BUCKET,
        "cluster/pg/base/20261207T000000/backup.info",
        "b'status=DONE\\ngarbage\\n'",
    );
    let list = same(&s3, "barman-cloud-backup-list", &[URL, "pg"]);
    assert_eq!(list.code, 0);
    assert!(
        list.stderr.contains(
            "Unable to open backup.info file for 20261207T000000: invalid line garbage in file"
        ),
        "{}",
        list.stderr
    );
    let refused = same(
        &s3,
        "barman-cloud-backup-delete",
        &["-b", "20261206T024951", URL, "pg"],
    );
    assert_eq!(refused.code, 1, "{}", refused.stderr);
    assert!(
        refused
            .stderr
            .contains("Cannot read the following backups: ['20261207T000000']"),
        "{}",
        refused.stderr
    );
    // Wrong secret: botocore's words, exit 4, for each tool.
    let mut cmd_args: Vec<(&str, Vec<&str>)> = vec![
        ("barman-cloud-backup-list", vec![URL, "pg"]),
        ("barman-cloud-backup-show", vec![URL, "pg", "latest"]),
        ("barman-cloud-backup-keep", vec!["-s", URL, "pg", "latest"]),
        (
            "barman-cloud-backup-delete",
            vec!["-b", "latest", URL, "pg"],
        ),
    ];
    for (tool, args) in cmd_args.drain(..) {
        let with_bad_secret = |path: PathBuf| {
            let mut cmd = Command::new(path);
            s3.env(&mut cmd)
                .env("AWS_SECRET_ACCESS_KEY", "wrong")
                .args(["--endpoint-url", &s3.endpoint()])
                .args(&args);
            Run::of(&mut cmd)
        };
        let theirs = with_bad_secret(pythons(tool));
        let mine = with_bad_secret(ours(tool));
        assert_eq!(
            (mine.code, &mine.stdout),
            (theirs.code, &theirs.stdout),
            "{tool}"
        );
        assert_eq!(mine.code, 4, "{tool}: {}", mine.stderr);
        assert_eq!(messages(&mine.stderr), messages(&theirs.stderr), "{tool}");
    }
    // A stopped server: 4 for the tools, 2 for `-t` (connectivity), as Python's.
    let mut s3 = s3;
    s3.stop();
    for (tool, args) in [
        ("barman-cloud-backup-list", vec![URL, "pg"]),
        (
            "barman-cloud-backup-show",
            vec![URL, "pg", "20261206T024951"],
        ),
        (
            "barman-cloud-backup-keep",
            vec!["-s", URL, "pg", "20261206T024951"],
        ),
        (
            "barman-cloud-backup-delete",
            vec!["-b", "20261206T024951", URL, "pg"],
        ),
        ("barman-cloud-backup-list", vec!["-t", URL, "pg"]),
    ] {
        let theirs = run(&s3, &pythons(tool), &args);
        let mine = run(&s3, &ours(tool), &args);
        assert_eq!(
            mine.code, theirs.code,
            "{tool} {args:?}: {}\n{}",
            mine.stderr, theirs.stderr
        );
        assert!(
            mine.stderr
                .contains("Could not connect to the endpoint URL"),
            "{tool}: {}",
            mine.stderr
        );
    }
}
