//! barman-cloud-wal-archive and barman-cloud-wal-restore against a real S3 server (moto on
//! loopback), side by side with Python's barman-cli-cloud 3.20.1: same object layout, each
//! restoring what the other archived byte for byte, same exit codes on faults.

use crate::harness::s3::{peers_ready as ready, python_tool as pythons, run, S3Server};
use crate::harness::{python_barman, Run};
use crate::require;
use std::path::{Path, PathBuf};
use std::process::Command;

const SEGMENT: &str = "000000010000000000000003";
const HISTORY: &str = "00000002.history";
const COMPRESSIONS: [&str; 7] = ["", "-z", "-j", "--xz", "--snappy", "--zstd", "--lz4"];

fn ours(tool: &str) -> PathBuf {
    PathBuf::from(match tool {
        "barman-cloud-wal-archive" => env!("CARGO_BIN_EXE_barman-cloud-wal-archive"),
        "barman-cloud-check-wal-archive" => env!("CARGO_BIN_EXE_barman-cloud-check-wal-archive"),
        _ => env!("CARGO_BIN_EXE_barman-cloud-wal-restore"),
    })
}

/// A WAL-like segment: compressible (mostly zeros and a pattern) with some noise.
fn write_wal_files(dir: &Path) {
    let mut segment = vec![0u8; 1 << 20];
    let mut x: u32 = 12345;
    for (i, byte) in segment.iter_mut().enumerate().take(300_000) {
        x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
        *byte = if i % 7 == 0 {
            (x >> 16) as u8
        } else {
            (i % 251) as u8
        };
    }
    std::fs::write(dir.join(SEGMENT), segment).unwrap();
    std::fs::write(
        dir.join(HISTORY),
        "1\t0/3000000\tno recovery target specified\n",
    )
    .unwrap();
}

/// The keys under `prefix/`, without it.
fn keys_under(s3: &S3Server, bucket: &str, prefix: &str) -> Vec<String> {
    s3.keys(bucket)
        .into_iter()
        .filter_map(|k| k.strip_prefix(&format!("{prefix}/")).map(str::to_string))
        .collect()
}

fn same_file(a: &Path, b: &Path) {
    assert!(
        std::fs::read(a).unwrap() == std::fs::read(b).unwrap(),
        "{} and {} differ",
        a.display(),
        b.display()
    );
}

#[test]
fn cloud_wal_each_compression_same_layout_and_restored_by_the_other() {
    require!(python_barman::REQUIREMENT, ready());
    let s3 = S3Server::start(false);
    s3.create_bucket("wals");
    let dir = tempfile::tempdir().unwrap();
    write_wal_files(dir.path());
    let seg = dir.path().join(SEGMENT);
    let hist = dir.path().join(HISTORY);
    for (i, flag) in COMPRESSIONS.iter().enumerate() {
        let (mine, theirs) = (format!("s3://wals/ours{i}/x"), format!("s3://wals/py{i}/x"));
        for (tool, url) in [
            (ours("barman-cloud-wal-archive"), &mine),
            (pythons("barman-cloud-wal-archive"), &theirs),
        ] {
            for file in [&seg, &hist] {
                let mut args: Vec<&str> = flag.split_whitespace().collect();
                args.extend([url.as_str(), "pg", file.to_str().unwrap()]);
                crate::harness::ok(
                    run(&s3, &tool, &args),
                    &format!("{} {flag}", tool.display()),
                );
            }
        }
        // Same object names as Python's, e.g. x/pg/wals/0000000100000000/<seg>.gz and
        // x/pg/wals/00000002.history.
        let layout = keys_under(&s3, "wals", &format!("ours{i}"));
        assert_eq!(layout, keys_under(&s3, "wals", &format!("py{i}")), "{flag}");
        // History files (compressed too) live straight under wals/.
        assert!(
            layout
                .iter()
                .any(|k| k.starts_with("x/pg/wals/00000002.history")),
            "{layout:?}"
        );
        // Each restores the other's, byte for byte.
        for (tool, url, who) in [
            (pythons("barman-cloud-wal-restore"), &mine, "python"),
            (ours("barman-cloud-wal-restore"), &theirs, "ours"),
        ] {
            for name in [SEGMENT, HISTORY] {
                let dest = dir.path().join(format!("{who}-{i}-{name}"));
                let args = [url.as_str(), "pg", name, dest.to_str().unwrap()];
                crate::harness::ok(run(&s3, &tool, &args), &format!("{who} restore {flag}"));
                same_file(&dest, &dir.path().join(name));
            }
        }
    }
    let gz = keys_under(&s3, "wals", "ours1");
    assert!(
        gz.contains(&format!("x/pg/wals/0000000100000000/{SEGMENT}.gz")),
        "{gz:?}"
    );
}

/// Run the same arguments through ours and Python's `tool`: both exit `code`, ours with
/// one ERROR line containing `words`. Returns our stderr.
fn both_fail(s3: &S3Server, tool: &str, args: &[&str], code: i32, words: &str) -> String {
    let theirs = run(s3, &pythons(tool), args);
    let mine = run(s3, &ours(tool), args);
    assert_eq!(
        theirs.code, code,
        "python {tool} {args:?}: {}",
        theirs.stderr
    );
    assert_eq!(mine.code, code, "ours {tool} {args:?}: {}", mine.stderr);
    assert_eq!(mine.stderr.lines().count(), 1, "{}", mine.stderr);
    assert!(
        mine.stderr.contains(" ERROR: ") && mine.stderr.contains(words),
        "{}\npython: {}",
        mine.stderr,
        theirs.stderr
    );
    mine.stderr
}

const ARCHIVE: &str = "barman-cloud-wal-archive";
const RESTORE: &str = "barman-cloud-wal-restore";

/// A signature-checking server with one archived segment, and where restores would write.
struct Faults {
    s3: S3Server,
    dir: tempfile::TempDir,
}

impl Faults {
    fn new() -> Faults {
        let s3 = S3Server::start(true);
        s3.create_bucket("wals");
        let dir = tempfile::tempdir().unwrap();
        write_wal_files(dir.path());
        std::fs::write(dir.path().join("notawal"), "x").unwrap();
        let faults = Faults { s3, dir };
        let archived = run(
            &faults.s3,
            &ours(ARCHIVE),
            &["s3://wals/p", "pg", &faults.path(SEGMENT)],
        );
        crate::harness::ok(archived, "archive");
        faults
    }

    fn path(&self, name: &str) -> String {
        self.dir.path().join(name).to_str().unwrap().to_string()
    }

    /// Restore arguments for `name` from `url` into the test's folder and spool.
    fn restore(&self, url: &str, name: &str) -> Vec<String> {
        let spool = self.path("spool");
        [
            "--spool-dir",
            &spool,
            url,
            "pg",
            name,
            &self.path("restored"),
        ]
        .map(str::to_string)
        .to_vec()
    }

    /// Each case (tool, arguments, exit code, words) fails alike in ours and Python's.
    fn check(&self, cases: &[(&str, Vec<String>, i32, &str)]) {
        for (tool, args, code, words) in cases {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            both_fail(&self.s3, tool, &args, *code, words);
        }
        let written =
            Path::new(&self.path("restored")).exists() || Path::new(&self.path("spool")).exists();
        assert!(!written, "a failed restore wrote locally");
    }
}

fn strings(args: &[&str]) -> Vec<String> {
    args.iter().map(|a| a.to_string()).collect()
}

#[test]
fn cloud_wal_faults_exit_as_python_and_write_nothing() {
    require!(python_barman::REQUIREMENT, ready());
    let f = Faults::new();
    let (seg, bad) = (f.path(SEGMENT), f.path("notawal"));
    f.check(&[
        // Not a WAL name: command-line error.
        (
            ARCHIVE,
            strings(&["s3://wals/p", "pg", &bad]),
            3,
            "notawal is an invalid name for a WAL file",
        ),
        (
            RESTORE,
            f.restore("s3://wals/p", "notawal"),
            3,
            "is an invalid name",
        ),
        // Not archived.
        (
            RESTORE,
            f.restore("s3://wals/p", "000000010000000000000009"),
            1,
            "WAL file 000000010000000000000009 for server pg does not exist",
        ),
        // A missing bucket (1 for --test).
        (
            ARCHIVE,
            strings(&["s3://nobucket/p", "pg", &seg]),
            4,
            "(NoSuchBucket) when calling the PutObject operation",
        ),
        (
            RESTORE,
            f.restore("s3://nobucket/p", SEGMENT),
            4,
            "NoSuchBucket",
        ),
        (
            ARCHIVE,
            strings(&["-t", "s3://nobucket/p", "pg", &seg]),
            1,
            "Bucket nobucket does not exist",
        ),
        // Not an s3:// URL.
        (
            ARCHIVE,
            strings(&["gs://wals/p", "pg", &seg]),
            4,
            "Invalid s3 URL address: gs://wals/p",
        ),
    ]);
    // A truncated object: Python fails with 4 (leaving the part it decompressed at the
    // destination); ours fails alike and writes nothing.
    let wal = "000000010000000000000007";
    let key = format!("p/pg/wals/0000000100000000/{wal}.gz");
    let gz = "__import__('gzip').compress(__import__('os').urandom(100000))[:2000]";
    f.s3.put_object("wals", &key, gz);
    let theirs = run(
        &f.s3,
        &pythons(RESTORE),
        &["s3://wals/p", "pg", wal, &f.path("theirs")],
    );
    assert_eq!(theirs.code, 4, "{}", theirs.stderr);
    let args: Vec<String> = f.restore("s3://wals/p", wal);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let mine = run(&f.s3, &ours(RESTORE), &args);
    assert_eq!(mine.code, 4, "{}", mine.stderr);
    assert!(
        mine.stderr.contains("Failure downloading WAL"),
        "{}",
        mine.stderr
    );
    assert!(!Path::new(&f.path("restored")).exists());
}

#[test]
fn cloud_wal_wrong_credentials_and_a_stopped_server_exit_as_python() {
    require!(python_barman::REQUIREMENT, ready());
    let mut f = Faults::new();
    let seg = f.path(SEGMENT);
    let good_secret = std::mem::replace(&mut f.s3.secret, "wrong".into());
    f.check(&[
        (
            ARCHIVE,
            strings(&["s3://wals/p", "pg", &seg]),
            4,
            "(SignatureDoesNotMatch) when calling the PutObject operation",
        ),
        (
            RESTORE,
            f.restore("s3://wals/p", SEGMENT),
            4,
            "SignatureDoesNotMatch",
        ),
    ]);
    f.s3.secret = good_secret;
    // The server stopped: archive 4, restore 2 (network error), --test 2.
    f.s3.stop();
    let test = strings(&["-t", "s3://wals/p", "pg", SEGMENT, &f.path("restored")]);
    f.check(&[
        (
            ARCHIVE,
            strings(&["s3://wals/p", "pg", &seg]),
            4,
            "Could not connect to the endpoint URL",
        ),
        (
            RESTORE,
            f.restore("s3://wals/p", SEGMENT),
            2,
            "Could not connect to the endpoint URL",
        ),
        (RESTORE, test, 2, "Can't connect to cloud provider"),
    ]);
}

#[test]
fn cloud_wal_credentials_from_a_profile() {
    require!(python_barman::REQUIREMENT, ready());
    let s3 = S3Server::start(true);
    s3.create_bucket("wals");
    let dir = tempfile::tempdir().unwrap();
    write_wal_files(dir.path());
    std::fs::write(
        s3.aws_file("credentials"),
        format!("[default]\naws_access_key_id = nobody\naws_secret_access_key = nothing\n\n[barman]\naws_access_key_id = {}\naws_secret_access_key = {}\n", s3.key_id, s3.secret),
    )
    .unwrap();
    std::fs::write(
        s3.aws_file("config"),
        "[profile barman]\nregion = us-east-1\n",
    )
    .unwrap();
    let with_profile = |tool: PathBuf, args: &[&str]| {
        let mut cmd = Command::new(tool);
        s3.env_without_keys(&mut cmd)
            .args(["--endpoint-url", &s3.endpoint()])
            .args(args);
        Run::of(&mut cmd)
    };
    let seg = dir.path().join(SEGMENT);
    crate::harness::ok(
        with_profile(
            ours("barman-cloud-wal-archive"),
            &[
                "-P",
                "barman",
                "--zstd",
                "s3://wals/p",
                "pg",
                seg.to_str().unwrap(),
            ],
        ),
        "archive with -P",
    );
    let dest = dir.path().join("restored");
    crate::harness::ok(
        with_profile(
            pythons("barman-cloud-wal-restore"),
            &[
                "--aws-profile",
                "barman",
                "s3://wals/p",
                "pg",
                SEGMENT,
                dest.to_str().unwrap(),
            ],
        ),
        "python restore with profile",
    );
    same_file(&dest, &seg);
    // The [default] profile's keys are refused; an unknown profile is an error; both 4.
    for profile in [None, Some("nope")] {
        let mut args = vec![];
        if let Some(p) = profile {
            args.extend(["-P", p]);
        }
        args.extend(["s3://wals/q", "pg", seg.to_str().unwrap()]);
        let mine = with_profile(ours("barman-cloud-wal-archive"), &args);
        let theirs = with_profile(pythons("barman-cloud-wal-archive"), &args);
        assert_eq!(
            (mine.code, theirs.code),
            (4, 4),
            "{}\n{}",
            mine.stderr,
            theirs.stderr
        );
    }
    assert!(keys_under(&s3, "wals", "q").is_empty());
}

#[test]
fn cloud_wal_postgres_archives_and_python_checks_the_archive() {
    require!(
        "PostgreSQL binaries",
        crate::harness::pg_cluster::pg_available()
    );
    require!(python_barman::REQUIREMENT, ready());
    let s3 = S3Server::start(false);
    s3.create_bucket("pgwals");
    let command = format!(
        "'AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_DEFAULT_REGION=us-east-1 {} --endpoint-url {} --gzip s3://pgwals/cluster pg %p'",
        ours("barman-cloud-wal-archive").display(),
        s3.endpoint()
    );
    let pg = crate::harness::archiving_cluster(&command);
    crate::archive_wal::generate_wal(&pg, 3);
    let failed = pg.query_scalar("SELECT failed_count FROM pg_stat_archiver");
    assert_eq!(failed, "0", "archive_command failed:\n{}", pg.log());
    let keys = keys_under(&s3, "pgwals", "cluster/pg/wals");
    assert!(
        keys.len() >= 3 && keys.iter().all(|k| k.ends_with(".gz")),
        "{keys:?}"
    );
    // Python's pre-flight check reads what we archived as WALs of timeline 1: a new
    // server may archive there from timeline 2 on, not on timeline 1, and not with no
    // timeline given (the archive must then be empty); an untouched prefix is fine.
    let check = |args: &[&str]| check_both(&s3, args);
    let refused = check(&["s3://pgwals/cluster", "pg"]);
    assert_eq!(refused.code, 1, "{}", refused.stderr);
    assert!(
        refused.stderr.contains("Expected empty archive"),
        "{}",
        refused.stderr
    );
    let refused = check(&["--timeline", "1", "s3://pgwals/cluster", "pg"]);
    assert_eq!(refused.code, 1, "{}", refused.stderr);
    assert!(
        refused
            .stderr
            .contains("in WAL archive equal to or newer than timeline 1"),
        "{}",
        refused.stderr
    );
    crate::harness::ok(
        check(&["--timeline", "2", "s3://pgwals/cluster", "pg"]),
        "check from timeline 2",
    );
    crate::harness::ok(
        check(&["s3://pgwals/other", "pg"]),
        "check of an empty prefix",
    );
    // A bad timeline is a usage error (3); a stopped server a network error (2).
    assert_eq!(
        check(&["--timeline", "0", "s3://pgwals/cluster", "pg"]).code,
        3
    );
    drop(pg);
    let mut s3 = s3;
    s3.stop();
    assert_eq!(check_both(&s3, &["s3://pgwals/cluster", "pg"]).code, 2);
}

#[test]
fn cloud_wal_restore_prefetches_into_the_spool_and_skips_partial_files() {
    require!(python_barman::REQUIREMENT, ready());
    let s3 = S3Server::start(false);
    s3.create_bucket("wals");
    let dir = tempfile::tempdir().unwrap();
    let names = [
        "000000010000000000000003",
        "000000010000000000000004",
        "000000010000000000000005",
        "000000010000000000000006.partial",
    ];
    for (i, name) in names.iter().enumerate() {
        let path = dir.path().join(name);
        std::fs::write(&path, vec![i as u8 + 1; 64 * 1024]).unwrap();
        let args = ["--lz4", "s3://wals/p", "pg", path.to_str().unwrap()];
        crate::harness::ok(run(&s3, &ours("barman-cloud-wal-archive"), &args), name);
    }
    for (who, tool) in [
        ("ours", ours("barman-cloud-wal-restore")),
        ("python", pythons("barman-cloud-wal-restore")),
    ] {
        let spool = dir.path().join(format!("spool-{who}"));
        let dest = |name: &str| dir.path().join(format!("{who}-{name}"));
        let restore = |extra: &[&str], name: &str| {
            let target = dest(name);
            let mut args = vec!["--spool-dir", spool.to_str().unwrap()];
            args.extend(extra);
            args.extend(["s3://wals/p", "pg", name, target.to_str().unwrap()]);
            run(&s3, &tool, &args)
        };
        // -p 3: the requested segment and the next two, into the spool.
        crate::harness::ok(restore(&["-p", "3"], names[0]), who);
        same_file(&dest(names[0]), &dir.path().join(names[0]));
        for name in &names[1..3] {
            same_file(&spool.join(name), &dir.path().join(name));
        }
        // The next call is served from the spool (and takes the file out of it).
        crate::harness::ok(restore(&[], names[1]), who);
        same_file(&dest(names[1]), &dir.path().join(names[1]));
        assert!(!spool.join(names[1]).exists(), "{who}");
        // A segment only archived as .partial: restored under the segment's name, unless
        // --no-partial, which finds nothing (exit 1).
        let segment = "000000010000000000000006";
        let refused = restore(&["--no-partial"], segment);
        assert_eq!(refused.code, 1, "{who}: {}", refused.stderr);
        assert!(!dest(segment).exists());
        crate::harness::ok(restore(&[], segment), who);
        same_file(&dest(segment), &dir.path().join(names[3]));
    }
}

/// Python's and our `barman-cloud-check-wal-archive` with `args`: same exit code and same
/// ERROR message (timestamps aside); Python's run.
fn check_both(s3: &S3Server, args: &[&str]) -> Run {
    let theirs = run(s3, &pythons("barman-cloud-check-wal-archive"), args);
    let mine = run(s3, &ours("barman-cloud-check-wal-archive"), args);
    assert_eq!(
        mine.code, theirs.code,
        "{args:?}\nours: {}\npython: {}",
        mine.stderr, theirs.stderr
    );
    let line = |r: &Run| r.stderr.split_once(" ERROR: ").map(|(_, m)| m.to_string());
    assert_eq!(line(&mine), line(&theirs), "{args:?}");
    theirs
}

#[test]
fn cloud_wal_archive_tags_objects_as_python_does() {
    require!(python_barman::REQUIREMENT, ready());
    let s3 = S3Server::start(false);
    s3.create_bucket("wals");
    let dir = tempfile::tempdir().unwrap();
    write_wal_files(dir.path());
    for (who, tool) in [
        ("ours", ours("barman-cloud-wal-archive")),
        ("py", pythons("barman-cloud-wal-archive")),
    ] {
        for name in [SEGMENT, HISTORY] {
            let path = dir.path().join(name);
            let url = format!("s3://wals/{who}");
            let args = [
                "--tags",
                "team,dba",
                "\"cost centre\",\"42\"",
                "--history-tag",
                "kind,history",
                &url,
                "pg",
                path.to_str().unwrap(),
            ];
            crate::harness::ok(run(&s3, &tool, &args), who);
        }
        // Bad tags and compression levels are command-line errors (3), nothing is sent.
        let bad = run(
            &s3,
            &tool,
            &["--tag", "aws:x,1", "s3://wals/bad", "pg", HISTORY],
        );
        assert_eq!(bad.code, 3, "{who}: {}", bad.stderr);
        let segment = dir.path().join(SEGMENT);
        let segment = segment.to_str().unwrap();
        let bad = run(
            &s3,
            &tool,
            &[
                "-z",
                "--compression-level",
                "best",
                "s3://wals/bad",
                "pg",
                segment,
            ],
        );
        assert_eq!(bad.code, 3, "{who}: {}", bad.stderr);
        // A level word in any case, as Barman's parse_compression_level lower-cases it.
        let url = format!("s3://wals/{who}-high");
        let high = ["-z", "--compression-level", "HIGH", &url, "pg", segment];
        crate::harness::ok(run(&s3, &tool, &high), who);
    }
    for key in [
        format!("pg/wals/0000000100000000/{SEGMENT}"),
        format!("pg/wals/{HISTORY}"),
    ] {
        let mine = s3.tags("wals", &format!("ours/{key}"));
        assert_eq!(mine, s3.tags("wals", &format!("py/{key}")), "{key}");
        let want = if key.ends_with("history") {
            "kind=history\n"
        } else {
            "cost centre=42\nteam=dba\n"
        };
        assert_eq!(mine, want, "{key}");
    }
    assert!(keys_under(&s3, "wals", "bad").is_empty());
}

/// `tool` run as [`run`] does, with `AWS_CA_BUNDLE` set to `bundle`.
fn run_with_bundle(s3: &S3Server, tool: &Path, bundle: &Path, args: &[&str]) -> Run {
    let mut cmd = Command::new(tool);
    s3.env(&mut cmd)
        .env("AWS_CA_BUNDLE", bundle)
        .args(["--endpoint-url", &s3.endpoint()])
        .args(args);
    Run::of(&mut cmd)
}

#[test]
fn cloud_wal_tls_endpoint_is_verified_against_the_ca_bundle_as_python() {
    require!(python_barman::REQUIREMENT, ready());
    let s3 = S3Server::start_tls();
    s3.create_bucket("tls");
    let ca = s3.tls_ca().expect("a TLS server").to_path_buf();
    let dir = tempfile::tempdir().unwrap();
    write_wal_files(dir.path());
    let segment = dir.path().join(SEGMENT);
    let seg = segment.to_str().unwrap();
    // With the harness's CA as AWS_CA_BUNDLE, each archives and restores the other's.
    crate::harness::ok(
        run_with_bundle(&s3, &ours(ARCHIVE), &ca, &["s3://tls/ours", "pg", seg]),
        "ours archives over TLS",
    );
    crate::harness::ok(
        run_with_bundle(&s3, &pythons(ARCHIVE), &ca, &["s3://tls/py", "pg", seg]),
        "python archives over TLS",
    );
    for (tool, prefix) in [
        (pythons(RESTORE), "s3://tls/ours"),
        (ours(RESTORE), "s3://tls/py"),
    ] {
        let to = dir
            .path()
            .join(format!("from-{}", prefix.rsplit('/').next().unwrap()));
        let restored = run_with_bundle(
            &s3,
            &tool,
            &ca,
            &["--no-partial", prefix, "pg", SEGMENT, to.to_str().unwrap()],
        );
        crate::harness::ok(restored, &format!("{} restores {prefix}", tool.display()));
        same_file(&segment, &to);
    }
    // The profile's ca_bundle in the config file does as the variable does.
    std::fs::write(
        s3.aws_file("config"),
        format!("[default]\nca_bundle = {}\n", ca.display()),
    )
    .unwrap();
    let check = run(
        &s3,
        &ours("barman-cloud-check-wal-archive"),
        &["s3://tls/ours", "pg"],
    );
    assert_eq!(check.code, 1, "{}", check.stderr); // the archive is there: not empty
    std::fs::remove_file(s3.aws_file("config")).unwrap();
    let check = run(
        &s3,
        &ours("barman-cloud-check-wal-archive"),
        &["s3://tls/ours", "pg"],
    );
    assert_eq!(check.code, 4, "without the bundle: {}", check.stderr);
    let expected = format!(
        "SSL validation failed for {}/tls invalid peer",
        s3.endpoint()
    );
    assert!(check.stderr.contains(&expected), "{}", check.stderr);
    // Without it the certificate is refused; a bundle that is not there is an error.
    let refused = both_fail(
        &s3,
        ARCHIVE,
        &["s3://tls/x", "pg", seg],
        4,
        "SSL validation failed for https://127.0.0.1:",
    );
    assert!(refused.contains("certificate"), "{refused}");
    let missing = Path::new("/nonexistent/ca.pem");
    for tool in [ours(ARCHIVE), pythons(ARCHIVE)] {
        let run = run_with_bundle(&s3, &tool, missing, &["s3://tls/x", "pg", seg]);
        assert_eq!(run.code, 4, "{}: {}", tool.display(), run.stderr);
    }
    assert!(!s3.keys("tls").iter().any(|k| k.starts_with("x/")));
}

/// A machine-wide `AWS_CA_BUNDLE` (even one that is not there) does not matter to a
/// plain-http endpoint: botocore opens it only for https, and so does ours.
#[test]
fn cloud_wal_plain_http_endpoint_ignores_the_ca_bundle_as_python() {
    require!(python_barman::REQUIREMENT, ready());
    let s3 = S3Server::start(true);
    s3.create_bucket("plain");
    let dir = tempfile::tempdir().unwrap();
    write_wal_files(dir.path());
    let seg = dir.path().join(SEGMENT);
    let missing = Path::new("/nonexistent/ca.pem");
    for (tool, prefix) in [(ours(ARCHIVE), "ours"), (pythons(ARCHIVE), "py")] {
        let url = format!("s3://plain/{prefix}");
        let run = run_with_bundle(&s3, &tool, missing, &[&url, "pg", seg.to_str().unwrap()]);
        crate::harness::ok(run, &format!("{} archives over http", tool.display()));
    }
    let to = dir.path().join("restored");
    let restored = run_with_bundle(
        &s3,
        &ours(RESTORE),
        missing,
        &["s3://plain/py", "pg", SEGMENT, to.to_str().unwrap()],
    );
    crate::harness::ok(restored, "ours restores over http");
    same_file(&seg, &to);
}
