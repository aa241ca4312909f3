//! barman-cloud-restore against a real S3 server (moto on loopback), side by side with
//! Python's barman-cli-cloud 3.20.1: Python's barman-cloud-backup of a PostgreSQL 15
//! cluster with a tablespace, in every compression (and ours with zstd, compressed on
//! worker threads), restored by ours into the same tree Python's restore makes; the restored cluster replays the WAL Python archived (through
//! ours and Python's barman-cloud-wal-restore) and holds the rows. Faults exit as Python's.

use crate::harness::pg_cluster::{PgCluster, PgOptions};
use crate::harness::s3::{peers_ready as ready, python_tool as python, run, S3Server};
use crate::harness::{python_barman, Run};
use crate::require;
use std::path::{Path, PathBuf};
use std::process::Command;

const OURS: &str = env!("CARGO_BIN_EXE_barman-cloud-restore");
const OURS_WAL_RESTORE: &str = env!("CARGO_BIN_EXE_barman-cloud-wal-restore");
const OURS_BACKUP: &str = env!("CARGO_BIN_EXE_barman-cloud-backup");

/// Each file, folder and link under `root` with its mode, and the file contents' length
/// and a checksum; links as their target.
fn tree(root: &Path) -> Vec<String> {
    use std::os::unix::fs::MetadataExt;
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let meta = std::fs::symlink_metadata(&path).unwrap();
            let rel = path.strip_prefix(root).unwrap().display().to_string();
            let what = if meta.file_type().is_symlink() {
                format!("-> {}", std::fs::read_link(&path).unwrap().display())
            } else if meta.is_dir() {
                stack.push(path.clone());
                "dir".into()
            } else {
                let data = std::fs::read(&path).unwrap();
                let sum = data
                    .iter()
                    .fold(0u64, |h, b| h.wrapping_mul(31).wrapping_add(u64::from(*b)));
                format!("{} bytes {sum:x}", data.len())
            };
            let mode = meta.mode() & 0o7777;
            out.push(format!(
                "{rel} {mode:o} {}:{} {what}",
                meta.uid(),
                meta.gid()
            ));
        }
    }
    out.sort();
    out
}

/// The `restore_command` fetching WAL from `prefix` with `tool`.
fn restore_command(s3: &S3Server, tool: &Path, prefix: &str) -> String {
    format!(
        "AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_DEFAULT_REGION=us-east-1 {} --endpoint-url {} {prefix} pg %f %p",
        tool.display(),
        s3.endpoint()
    )
}

/// A cluster archiving through Python's barman-cloud-wal-archive, with a tablespace.
fn source_cluster(s3: &S3Server) -> (PgCluster, PathBuf) {
    let archive = format!(
        "'AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_DEFAULT_REGION=us-east-1 {} --endpoint-url {} s3://pgbackups/c pg %p'",
        python("barman-cloud-wal-archive").display(),
        s3.endpoint()
    );
    let pg = PgCluster::start(
        PgOptions::default()
            .set("archive_mode", "on")
            .set("archive_command", &archive),
    );
    let ts = pg.create_tablespace("ts1");
    pg.execute(
        "CREATE TABLE t (i int) TABLESPACE ts1; INSERT INTO t SELECT generate_series(1, 1000);\
         CREATE TABLE u AS SELECT generate_series(1, 20000) AS i;",
    );
    (pg, ts)
}

/// Python's barman-cloud-backup of `pg` with `options` (compression...): its id.
fn python_backup(s3: &S3Server, pg: &PgCluster, options: &[&str]) -> String {
    backup_by(s3, pg, &python("barman-cloud-backup"), options)
}

/// `tool`'s barman-cloud-backup of `pg` with `options`: its id.
fn backup_by(s3: &S3Server, pg: &PgCluster, tool: &Path, options: &[&str]) -> String {
    let port = pg.port().to_string();
    let socket = pg.socket_dir();
    let mut args = vec![
        "-h",
        socket.to_str().unwrap(),
        "-p",
        &port,
        "-U",
        "postgres",
        "--immediate-checkpoint",
    ];
    args.extend(options);
    args.extend(["s3://pgbackups/c", "pg"]);
    crate::harness::ok(
        run(s3, tool, &args),
        &format!("{} {options:?}", tool.display()),
    );
    let list = run(
        s3,
        &python("barman-cloud-backup-list"),
        &["--format", "json", "s3://pgbackups/c", "pg"],
    );
    let listed: serde_json::Value = serde_json::from_str(&list.stdout).unwrap();
    let ids: Vec<String> = listed["backups_list"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["backup_id"].as_str().unwrap().to_string())
        .collect();
    ids.into_iter().max().unwrap()
}

/// Restore `id` with `tool` into `dir/<label>` (tablespace relocated to `dir/<label>_ts`).
fn restore(s3: &S3Server, tool: &Path, id: &str, dir: &Path, label: &str) -> (PathBuf, Run) {
    let data = dir.join(label);
    let ts = dir.join(format!("{label}_ts"));
    let rule = format!("ts1:{}", ts.display());
    let result = run(
        s3,
        tool,
        &[
            "s3://pgbackups/c",
            "pg",
            id,
            data.to_str().unwrap(),
            "--tablespace",
            &rule,
        ],
    );
    (data, result)
}

/// Ours and Python's restore of `id` give the same files, modes, owners and contents,
/// the tablespace link aside (each restore has its own location).
fn same_restore(s3: &S3Server, id: &str, dir: &Path, label: &str) -> PathBuf {
    let (mine, result) = restore(s3, Path::new(OURS), id, dir, label);
    crate::harness::ok(result, &format!("ours restores {label}"));
    let theirs_label = format!("{label}_python");
    let (theirs, result) = restore(s3, &python("barman-cloud-restore"), id, dir, &theirs_label);
    crate::harness::ok(result, &format!("python restores {label}"));
    let strip = |lines: Vec<String>| -> Vec<String> {
        lines
            .into_iter()
            .map(|l| match l.split_once(" -> ") {
                Some((head, _)) if head.starts_with("pg_tblspc/") => head.to_string(),
                _ => l,
            })
            .collect()
    };
    assert_eq!(strip(tree(&mine)), strip(tree(&theirs)), "{label}: PGDATA");
    let ts = |d: &Path| PathBuf::from(format!("{}_ts", d.display()));
    assert_eq!(tree(&ts(&mine)), tree(&ts(&theirs)), "{label}: tablespace");
    let links: Vec<PathBuf> = std::fs::read_dir(mine.join("pg_tblspc"))
        .unwrap()
        .map(|e| std::fs::read_link(e.unwrap().path()).unwrap())
        .collect();
    assert_eq!(links, vec![ts(&mine)], "{label}: the tablespace link");
    mine
}

/// Start the restored `data` replaying WAL through `wal_restore`; check the rows.
fn start_and_count(s3: &S3Server, data: &Path, wal_restore: &Path) {
    std::fs::write(data.join("recovery.signal"), "").unwrap();
    let command = restore_command(s3, wal_restore, "s3://pgbackups/c");
    let pg = PgCluster::start_in_place(
        data,
        &[
            ("restore_command", &format!("'{command}'")),
            ("archive_mode", "off"),
        ],
    );
    crate::harness::wait_until("recovery to end and promotion", || {
        pg.query_scalar("SELECT pg_is_in_recovery()") == "f"
    });
    assert_eq!(
        pg.query_scalar("SELECT count(*) FROM t"),
        "2000",
        "{}",
        pg.log()
    );
    assert_eq!(pg.query_scalar("SELECT count(*) FROM u"), "20000");
}

#[test]
fn cloud_restore_python_backups_in_every_compression_start_with_their_rows() {
    require!(
        "PostgreSQL binaries",
        crate::harness::pg_cluster::pg_available()
    );
    require!(python_barman::REQUIREMENT, ready());
    let s3 = S3Server::start(false);
    s3.create_bucket("pgbackups");
    let (pg, _ts) = source_cluster(&s3);
    let mut ids = Vec::new();
    // The zstd backup comes in parts (data.tar.zst, data_0001.tar.zst...).
    let options: [&[&str]; 6] = [
        &[],
        &["--gzip"],
        &["--bzip2"],
        &["--snappy"],
        &["--lz4"],
        &["--zstd", "--max-archive-size", "1MB"],
    ];
    for options in options {
        ids.push((
            options.first().copied().unwrap_or(""),
            python_backup(&s3, &pg, options),
        ));
    }
    // Ours at the default --max-archive-size, where zstd compresses on worker threads:
    // one archive, and both restores agree on it.
    ids.push((
        "zstd_ours",
        backup_by(&s3, &pg, Path::new(OURS_BACKUP), &["--zstd"]),
    ));
    let keys = s3.keys("pgbackups");
    assert!(
        keys.iter().any(|k| k.ends_with("/data_0001.tar.zst")),
        "{keys:?}"
    );
    let ours = &ids.last().unwrap().1;
    assert!(
        keys.contains(&format!("c/pg/base/{ours}/data.tar.zst")),
        "{keys:?}"
    );
    // Rows after the last backup: only the archived WAL brings them back.
    pg.execute("INSERT INTO t SELECT generate_series(1001, 2000)");
    let switched = pg.query_scalar("SELECT pg_walfile_name(pg_switch_wal())");
    crate::harness::wait_until("the last segment archived", || {
        pg.query_scalar("SELECT coalesce(last_archived_wal, '') FROM pg_stat_archiver") >= switched
    });
    let dir = crate::harness::pg_cluster::shared_tempdir();
    let mut restored = Vec::new();
    for (compression, id) in &ids {
        let label = format!("r{}", compression.trim_start_matches('-'));
        restored.push(same_restore(&s3, id, dir.path(), &label));
    }
    drop(pg);
    // The plain backup replays through ours, the gzip one through Python's WAL restore.
    start_and_count(&s3, &restored[0], Path::new(OURS_WAL_RESTORE));
    start_and_count(&s3, &restored[1], &python("barman-cloud-wal-restore"));
}

/// Python code storing a small fake backup `ID` (named `NAME`, ended at `END`) under
/// `s3://fake/p/pg/base/ID/`: its backup.info and a gzipped PGDATA tar, cut to `CUT` bytes
/// when `CUT` is not None, left out when `TAR` is False.
const FAKE_BACKUP: &str = r#"
import boto3, io, tarfile, gzip
s3 = boto3.client('s3', endpoint_url=URL, aws_access_key_id=KEY, aws_secret_access_key=SECRET, region_name='us-east-1')
def fake(ID, NAME, END, LSN, CUT=None, TAR=True, EXTRA=''):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode='w|') as tar:
        for name, kind in (('./', tarfile.DIRTYPE), ('pg_wal/', tarfile.DIRTYPE), ('base/', tarfile.DIRTYPE)):
            info = tarfile.TarInfo(name); info.type = kind; info.mode = 0o700; info.mtime = 1700000000
            tar.addfile(info)
        for name, data in (('PG_VERSION', b'15\n'), ('base/big', bytes(range(256)) * 4000)):
            info = tarfile.TarInfo(name); info.size = len(data); info.mode = 0o600; info.mtime = 1700000000
            tar.addfile(info, io.BytesIO(data))
    body = gzip.compress(buf.getvalue())
    if CUT is not None:
        body = body[:CUT]
    prefix = 'p/pg/base/%s/' % ID
    info = ('backup_name=%s\nbegin_time=%s\nend_time=%s\nbegin_xlog=0/2000028\nend_xlog=%s\n'
            'status=DONE\ntablespaces=None\ntimeline=1\nversion=150004\n%s') % (NAME, END, END, LSN, EXTRA)
    s3.put_object(Bucket='fake', Key=prefix + 'backup.info', Body=info.encode())
    if TAR:
        s3.put_object(Bucket='fake', Key=prefix + 'data.tar.gz', Body=body)
s3.create_bucket(Bucket='fake')
fake('20260101T000000', 'first', '2026-01-01 00:00:10+00:00', '0/2000100')
fake('20260102T000000', 'second', '2026-01-02 00:00:10+00:00', '0/3000100')
fake('20260103T000000', 'cut', '2026-01-03 00:00:10+00:00', '0/4000100', CUT=2000)
fake('20260104T000000', 'notar', '2026-01-04 00:00:10+00:00', '0/5000100', TAR=False)
fake('20260105T000000', 'snap', '2026-01-05 00:00:10+00:00', '0/6000100', TAR=False,
     EXTRA="snapshots_info={'provider': 'aws', 'provider_info': {'account_id': '1', 'region': 'us-east-1'}, 'snapshots': []}\n")
"#;

/// A signature-checking server holding the fake backups, and a folder to restore into.
struct Fake {
    s3: S3Server,
    dir: tempfile::TempDir,
}

impl Fake {
    fn new() -> Fake {
        let s3 = S3Server::start(true);
        s3.python(FAKE_BACKUP);
        Fake {
            s3,
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn path(&self, name: &str) -> String {
        self.dir.path().join(name).to_str().unwrap().to_string()
    }

    /// Restore `id` from `url` with `tool` into `dir/<into>`, with `extra` options first.
    fn restore(&self, tool: &Path, url: &str, id: &str, into: &str, extra: &[&str]) -> Run {
        let mut args = extra.to_vec();
        let dest = self.path(into);
        args.extend([url, "pg", id, &dest]);
        run(&self.s3, tool, &args)
    }

    /// Ours and Python's fail alike: exit `code`, our one ERROR line containing `words`,
    /// and (unless told) nothing written.
    fn both_fail(&self, url: &str, id: &str, extra: &[&str], code: i32, words: &str) {
        for (tool, into) in [
            (python("barman-cloud-restore"), "py"),
            (OURS.into(), "ours"),
        ] {
            let result = self.restore(&tool, url, id, into, extra);
            assert_eq!(
                result.code, code,
                "{tool:?} {id} {extra:?}: {}",
                result.stderr
            );
            if into == "ours" {
                let logged = result.stderr.lines().filter(|l| l.contains("] "));
                assert_eq!(logged.count(), 1, "{}", result.stderr);
                assert!(
                    result.stderr.contains(" ERROR: ") && result.stderr.contains(words),
                    "{id} {extra:?}: {}",
                    result.stderr
                );
            }
            // A failed extraction leaves what it wrote, as Python's tar does.
            if !words.starts_with("extraction of") {
                assert!(!Path::new(&self.path(into)).exists(), "{id}: {into} wrote");
            }
            let _ = std::fs::remove_dir_all(self.path(into));
        }
    }
}

#[test]
fn cloud_restore_resolves_ids_names_and_targets_as_python() {
    require!(python_barman::REQUIREMENT, ready());
    let fake = Fake::new();
    let url = "s3://fake/p";
    // (backup id argument, options, the backup Python restores)
    let cases: [(&str, &[&str]); 6] = [
        ("second", &[]),
        ("oldest", &[]),
        ("20260102T000000", &[]),
        ("auto", &["--target-time", "2026-01-02 12:00:00+00:00"]),
        ("auto", &["--target-lsn", "0/3500000", "--target-tli", "1"]),
        ("first", &["-v"]),
    ];
    for (i, (id, extra)) in cases.iter().enumerate() {
        let theirs = fake.restore(
            &python("barman-cloud-restore"),
            url,
            id,
            &format!("p{i}"),
            extra,
        );
        let mine = fake.restore(Path::new(OURS), url, id, &format!("o{i}"), extra);
        assert_eq!(
            (mine.code, theirs.code),
            (0, 0),
            "{id}: {}\n{}",
            mine.stderr,
            theirs.stderr
        );
        let restored = |line: &str| line.contains("Restoring from backup_id");
        assert_eq!(
            mine.stderr
                .lines()
                .filter(|l| restored(l))
                .map(|l| l.split("INFO: ").nth(1))
                .collect::<Vec<_>>(),
            theirs
                .stderr
                .lines()
                .filter(|l| restored(l))
                .map(|l| l.split("INFO: ").nth(1))
                .collect::<Vec<_>>(),
        );
        assert_eq!(
            tree(Path::new(&fake.path(&format!("o{i}")))),
            tree(Path::new(&fake.path(&format!("p{i}")))),
            "{id} {extra:?}"
        );
    }
    let pgdata = std::fs::metadata(fake.path("o0")).unwrap();
    assert_eq!(
        std::os::unix::fs::PermissionsExt::mode(&pgdata.permissions()) & 0o777,
        0o700
    );
    crate::harness::ok(
        fake.restore(Path::new(OURS), url, "x", "t", &["-t"]),
        "--test",
    );
}

#[test]
fn cloud_restore_faults_exit_as_python_and_write_nothing() {
    require!(python_barman::REQUIREMENT, ready());
    let fake = Fake::new();
    let url = "s3://fake/p";
    fake.both_fail(
        url,
        "20991231T000000",
        &[],
        1,
        "Backup 20991231T000000 for server pg does not exists",
    );
    fake.both_fail(
        url,
        "nosuchname",
        &[],
        4,
        "Unknown backup 'nosuchname' for server 'pg'",
    );
    fake.both_fail(
        url,
        "notar",
        &[],
        1,
        "Missing file p/pg/base/20260104T000000/data.* for server pg",
    );
    fake.both_fail(
        "s3://nobucket/p",
        "20260101T000000",
        &[],
        4,
        "(NoSuchBucket) when calling the GetObject operation",
    );
    fake.both_fail(
        url,
        "auto",
        &["--target-time", "2025-01-01"],
        1,
        "Cannot find any candidate backup for recovery.",
    );
    fake.both_fail(
        url,
        "first",
        &["--tablespace", "nocolon"],
        3,
        "Invalid tablespace relocation rule 'nocolon'",
    );
    fake.both_fail(
        url,
        "snap",
        &["--tablespace", "a:/b"],
        4,
        "is a snapshot backup therefore tablespace relocation rules cannot be used.",
    );
    fake.both_fail(
        url,
        "auto",
        &["--target-tli", "current"],
        4,
        "'current' is not a valid timeline keyword",
    );
    // Ours refuses snapshot backups (Python would need the provider's disk APIs).
    let snap = fake.restore(Path::new(OURS), url, "snap", "s", &[]);
    assert_eq!(snap.code, 4, "{}", snap.stderr);
    assert!(
        snap.stderr.contains("is a snapshot backup"),
        "{}",
        snap.stderr
    );
    // A non-empty destination is refused and left as it was.
    std::fs::create_dir(fake.path("full")).unwrap();
    std::fs::write(fake.path("full/keep"), "x").unwrap();
    for tool in [python("barman-cloud-restore"), OURS.into()] {
        let refused = fake.restore(&tool, url, "first", "full", &[]);
        assert_eq!(refused.code, 1, "{}", refused.stderr);
        assert!(
            refused
                .stderr
                .contains("already exists and it is not empty"),
            "{}",
            refused.stderr
        );
        assert_eq!(std::fs::read_dir(fake.path("full")).unwrap().count(), 1);
    }
    // A truncated object: an error, never a success.
    fake.both_fail(
        url,
        "cut",
        &[],
        4,
        "extraction of p/pg/base/20260103T000000/data.tar.gz into",
    );
    // Wrong credentials.
    let mut wrong = Command::new(OURS);
    fake.s3
        .env(&mut wrong)
        .env("AWS_SECRET_ACCESS_KEY", "wrong");
    let mut theirs = Command::new(python("barman-cloud-restore"));
    fake.s3
        .env(&mut theirs)
        .env("AWS_SECRET_ACCESS_KEY", "wrong");
    for (cmd, into) in [(&mut wrong, "w1"), (&mut theirs, "w2")] {
        let dest = fake.path(into);
        cmd.args([
            "--endpoint-url",
            &fake.s3.endpoint(),
            url,
            "pg",
            "first",
            &dest,
        ]);
        let result = Run::of(cmd);
        assert_eq!(result.code, 4, "{}", result.stderr);
        assert!(
            result.stderr.contains("SignatureDoesNotMatch"),
            "{}",
            result.stderr
        );
        assert!(!Path::new(&dest).exists());
    }
    // An unreachable server: 4 in both (restore has no network exit code of its own).
    for tool in [python("barman-cloud-restore"), OURS.into()] {
        let mut cmd = Command::new(&tool);
        let dest = fake.path("down");
        fake.s3.env(&mut cmd).args([
            "--endpoint-url",
            "http://127.0.0.1:1",
            url,
            "pg",
            "20260101T000000",
            &dest,
        ]);
        let result = Run::of(&mut cmd);
        assert_eq!(result.code, 4, "{tool:?}: {}", result.stderr);
        let unreachable = "Could not connect to the endpoint URL: \"http://127.0.0.1:1/fake/p/pg/base/20260101T000000/backup.info\"";
        assert!(
            result.stderr.contains(unreachable),
            "{tool:?}: {}",
            result.stderr
        );
        assert!(!Path::new(&dest).exists());
    }
}
