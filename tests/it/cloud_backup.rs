//! barman-cloud-backup against a real PostgreSQL 15 and a real S3 server (moto on
//! loopback), side by side with Python's barman-cli-cloud 3.20.1: Python lists and restores
//! what ours uploaded (compressed, split in several archives, with a tablespace), the
//! recovered cluster replays the WAL our barman-cloud-wal-archive shipped and holds the
//! rows; a backup cut short is left FAILED (never DONE) and a re-run works; missing bucket
//! and wrong credentials exit as Python's.

use crate::harness::pg_cluster::{give_to_postgres, shared_tempdir, PgCluster};
use crate::harness::s3::{self, python_tool as python, run, S3Server};
use crate::harness::Run;
use crate::require;
use std::path::Path;
use std::process::Command;

const OURS: &str = env!("CARGO_BIN_EXE_barman-cloud-backup");
const OURS_WAL_ARCHIVE: &str = env!("CARGO_BIN_EXE_barman-cloud-wal-archive");

/// A cluster archiving its WAL with our barman-cloud-wal-archive to `s3://<bucket>/cl`.
fn ready() -> bool {
    crate::harness::pg_cluster::pg_available() && s3::peers_ready()
}

fn archiving_cluster(s3: &S3Server, bucket: &str) -> PgCluster {
    let command = format!(
        "'AWS_ACCESS_KEY_ID={} AWS_SECRET_ACCESS_KEY={} AWS_DEFAULT_REGION=us-east-1 {OURS_WAL_ARCHIVE} --endpoint-url {} s3://{bucket}/cl pg %p'",
        s3.key_id,
        s3.secret,
        s3.endpoint()
    );
    crate::harness::archiving_cluster(&command)
}

/// Python's `barman-cloud-backup-list --format json` of `url`.
fn python_list(s3: &S3Server, url: &str) -> Vec<serde_json::Value> {
    let listed = crate::harness::ok(
        run(
            s3,
            &python("barman-cloud-backup-list"),
            &["--format", "json", url, "pg"],
        ),
        "python backup-list",
    );
    let json: serde_json::Value = serde_json::from_str(&listed.stdout).unwrap();
    json["backups_list"].as_array().unwrap().clone()
}

#[test]
fn cloud_backup_python_lists_and_restores_ours_and_the_cluster_recovers() {
    require!("PostgreSQL, Python barman-cloud and moto", ready());
    let s3 = S3Server::start(false);
    s3.create_bucket("pgbk");
    let pg = archiving_cluster(&s3, "pgbk");
    let ts_dir = shared_tempdir();
    give_to_postgres(ts_dir.path());
    // CREATE TABLESPACE cannot run inside the implicit transaction of a batch.
    pg.execute(&format!(
        "CREATE TABLESPACE ts LOCATION '{}'",
        ts_dir.path().display()
    ));
    pg.execute(
        "CREATE TABLE t AS SELECT g AS i, md5(g::text) AS m FROM generate_series(1, 20000) g; \
         CREATE TABLE u TABLESPACE ts AS SELECT g AS i FROM generate_series(1, 3000) g;",
    );
    let conninfo = pg.conninfo();
    // Ours, zstd-compressed and cut in 1 MiB archives; Python's, plain, for comparison.
    let ours = run(
        &s3,
        Path::new(OURS),
        &[
            "--immediate-checkpoint",
            "-d",
            &conninfo,
            "--zstd",
            "-S",
            "1MB",
            "-J",
            "3",
            "--name",
            "mine",
            "--tag",
            "team,dba",
            "s3://pgbk/cl",
            "pg",
        ],
    );
    crate::harness::ok(ours, "our barman-cloud-backup");
    crate::harness::ok(
        run(
            &s3,
            &python("barman-cloud-backup"),
            &[
                "--immediate-checkpoint",
                "-d",
                &conninfo,
                "-n",
                "theirs",
                "s3://pgbk/py",
                "pg",
            ],
        ),
        "Python's barman-cloud-backup",
    );
    // Rows written after the backup come back from the WAL archive.
    pg.execute("INSERT INTO t SELECT g, 'after' FROM generate_series(1, 500) g");
    let wal = pg.query_scalar("SELECT pg_walfile_name(pg_switch_wal())");
    crate::harness::wait_until("WAL archived", || {
        pg.query_scalar("SELECT coalesce(last_archived_wal, '') FROM pg_stat_archiver") >= wal
    });
    let listed = python_list(&s3, "s3://pgbk/cl");
    let theirs = python_list(&s3, "s3://pgbk/py");
    assert_eq!(listed.len(), 1, "{listed:?}");
    let (mine, py) = (&listed[0], &theirs[0]);
    let keys = |v: &serde_json::Value| {
        let mut k: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
        k.sort();
        k
    };
    assert_eq!(keys(mine), keys(py));
    for field in [
        "status",
        "server_name",
        "pgdata",
        "version",
        "systemid",
        "timeline",
        "mode",
        "compression",
        "tablespaces",
        "xlog_segment_size",
        "data_checksums",
    ] {
        assert_eq!(mine[field], py[field], "{field}");
    }
    assert_eq!(mine["status"], "DONE");
    assert_eq!(mine["backup_name"], "mine");
    let id = mine["backup_id"].as_str().unwrap().to_string();
    let objects: Vec<String> = s3
        .keys("pgbk")
        .into_iter()
        .filter(|k| k.starts_with(&format!("cl/pg/base/{id}/")))
        .collect();
    let oid = pg.query_scalar("SELECT oid FROM pg_tablespace WHERE spcname = 'ts'");
    for name in [
        "backup.info",
        "data.tar.zst",
        "data_0001.tar.zst",
        &format!("{oid}.tar.zst"),
    ] {
        assert!(
            objects.contains(&format!("cl/pg/base/{id}/{name}")),
            "{name} missing: {objects:?}"
        );
    }
    // Every object carries the tag, the multipart archives too.
    for name in ["backup.info", "data.tar.zst", &format!("{oid}.tar.zst")] {
        let key = format!("cl/pg/base/{id}/{name}");
        assert_eq!(s3.tags("pgbk", &key), "team=dba\n", "{key}");
    }
    // Python restores it (tablespace relocated) and the cluster replays our WAL.
    let dest = shared_tempdir();
    let data = dest.path().join("data");
    let ts_new = dest.path().join("ts");
    crate::harness::ok(
        run(
            &s3,
            &python("barman-cloud-restore"),
            &[
                "s3://pgbk/cl",
                "pg",
                "mine",
                data.to_str().unwrap(),
                "--tablespace",
                &format!("ts:{}", ts_new.display()),
            ],
        ),
        "Python's barman-cloud-restore",
    );
    drop(pg);
    std::fs::write(data.join("recovery.signal"), "").unwrap();
    let restore_command = format!(
        "'AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_DEFAULT_REGION=us-east-1 {} --endpoint-url {} s3://pgbk/cl pg %f %p'",
        python("barman-cloud-wal-restore").display(),
        s3.endpoint()
    );
    let restored = PgCluster::start_in_place(
        &data,
        &[
            ("restore_command", &restore_command),
            ("archive_mode", "off"),
        ],
    );
    crate::harness::wait_until("recovery ends", || {
        restored.query_scalar("SELECT pg_is_in_recovery()") == "f"
    });
    assert_eq!(restored.query_scalar("SELECT count(*) FROM t"), "20500");
    assert_eq!(restored.query_scalar("SELECT count(*) FROM u"), "3000");
}

#[test]
fn cloud_backup_cut_short_is_failed_and_a_rerun_works() {
    require!("PostgreSQL, Python barman-cloud and moto", ready());
    let mut s3 = S3Server::start(false);
    s3.create_bucket("pgbk");
    // WAL is not restored here; an archive_command needing the stopped S3 server would
    // hold pg_backup_stop of the re-run for a minute (the archiver's retry pause).
    let pg = crate::harness::archiving_cluster("'/bin/true'");
    pg.execute(
        "CREATE TABLE t AS SELECT g AS i, md5(g::text) AS m FROM generate_series(1, 200000) g;",
    );
    let conninfo = pg.conninfo();
    // The second part of an archive fails while the server stays up: the archive is
    // never completed and backup.info says FAILED.
    let mut cmd = Command::new(OURS);
    s3.env(&mut cmd)
        .env("BARMAN_FAILPOINT", "cloud-upload-part-2")
        .args([
            "--endpoint-url",
            &s3.endpoint(),
            "--immediate-checkpoint",
            "-d",
            &conninfo,
            "s3://pgbk/cl",
            "pg",
        ]);
    let cut = Run::of(&mut cmd);
    assert_eq!(cut.code, 1, "{}", cut.stderr);
    assert!(
        cut.stderr
            .contains("ERROR: Backup failed uploading data (injected failure of part 2)"),
        "{}",
        cut.stderr
    );
    let listed = python_list(&s3, "s3://pgbk/cl");
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["status"], "FAILED");
    assert_eq!(
        listed[0]["error"],
        "failure uploading data (injected failure of part 2)"
    );
    let id = listed[0]["backup_id"].as_str().unwrap();
    let objects: Vec<String> = s3
        .keys("pgbk")
        .into_iter()
        .filter(|k| k.contains("/base/"))
        .collect();
    assert_eq!(objects, vec![format!("cl/pg/base/{id}/backup.info")]);
    // The server stops mid-upload (parts held back by --max-bandwidth): exit 1, both the
    // data and the final backup.info fail, named as Python names them.
    let mut cmd = Command::new(OURS);
    s3.env(&mut cmd).args([
        "--endpoint-url",
        &s3.endpoint(),
        "--max-bandwidth",
        "2MB",
        "--immediate-checkpoint",
        "-d",
        &conninfo,
        "s3://pgbk/slow",
        "pg",
    ]);
    let child = cmd
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    crate::harness::wait_until("backup started", || {
        s3.keys("pgbk")
            .iter()
            .any(|k| k.starts_with("slow/pg/base/"))
    });
    s3.stop();
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("ERROR: Backup failed uploading data ("),
        "{stderr}"
    );
    assert!(
        stderr.contains("ERROR: Backup failed uploading backup.info file ("),
        "{stderr}"
    );
    s3.restart();
    s3.create_bucket("pgbk");
    assert!(python_list(&s3, "s3://pgbk/slow").is_empty());
    crate::harness::ok(
        run(
            &s3,
            Path::new(OURS),
            &[
                "--immediate-checkpoint",
                "-d",
                &conninfo,
                "s3://pgbk/slow",
                "pg",
            ],
        ),
        "re-run after the restart",
    );
    let listed = python_list(&s3, "s3://pgbk/slow");
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["status"], "DONE");
}

#[test]
fn cloud_backup_missing_bucket_and_wrong_credentials_exit_as_python() {
    require!("PostgreSQL, Python barman-cloud and moto", ready());
    let s3 = S3Server::start(true);
    s3.create_bucket("pgbk");
    let pg = crate::harness::archiving_cluster("'/bin/true'");
    let conninfo = pg.conninfo();
    let both = |s3: &S3Server, env_secret: Option<&str>, url: &str| {
        [Path::new(OURS).to_path_buf(), python("barman-cloud-backup")].map(|tool| {
            let mut cmd = Command::new(tool);
            s3.env(&mut cmd);
            if let Some(secret) = env_secret {
                cmd.env("AWS_SECRET_ACCESS_KEY", secret);
            }
            Run::of(cmd.args([
                "--endpoint-url",
                &s3.endpoint(),
                "--immediate-checkpoint",
                "-d",
                &conninfo,
                url,
                "pg",
            ]))
        })
    };
    let [ours, theirs] = both(&s3, None, "s3://nobucket/cl");
    assert_eq!(
        ours.code, theirs.code,
        "ours: {}\nPython: {}",
        ours.stderr, theirs.stderr
    );
    assert_eq!(ours.code, 1);
    assert!(
        ours.stderr
            .contains("Backup failed uploading data (An error occurred (NoSuchBucket)"),
        "{}",
        ours.stderr
    );
    let [ours, theirs] = both(&s3, Some("wrong"), "s3://pgbk/cl");
    assert_eq!(
        ours.code, theirs.code,
        "ours: {}\nPython: {}",
        ours.stderr, theirs.stderr
    );
    // PostgreSQL unreachable: "Cannot connect to postgres", 1, as Python.
    let mut cmd = Command::new(OURS);
    s3.env(&mut cmd).args([
        "--endpoint-url",
        &s3.endpoint(),
        "-d",
        "host=127.0.0.1 port=1 user=x connect_timeout=2",
        "s3://pgbk/cl",
        "pg",
    ]);
    let down = Run::of(&mut cmd);
    assert_eq!(down.code, 1);
    assert!(
        down.stderr.contains("ERROR: Cannot connect to postgres: "),
        "{}",
        down.stderr
    );
    // Snapshot options are refused before anything is done (4).
    let mut cmd = Command::new(OURS);
    s3.env(&mut cmd).args([
        "--snapshot-instance",
        "vm",
        "--snapshot-disk",
        "d1",
        "s3://pgbk/cl",
        "pg",
    ]);
    let snap = Run::of(&mut cmd);
    assert_eq!(snap.code, 4, "{}", snap.stderr);
    assert!(snap.stderr.contains("snapshot backups"), "{}", snap.stderr);
    assert!(s3.keys("pgbk").is_empty());
}

/// Every file under `root` (relative path → content), links as their target.
fn tree(root: &Path) -> std::collections::BTreeMap<String, Vec<u8>> {
    let mut out = std::collections::BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap().flatten() {
            let path = entry.path();
            let rel = path.strip_prefix(root).unwrap().display().to_string();
            let kind = entry.file_type().unwrap();
            if kind.is_dir() {
                stack.push(path);
                out.insert(format!("{rel}/"), Vec::new());
            } else if kind.is_symlink() {
                let target = std::fs::read_link(&path).unwrap();
                out.insert(rel, target.display().to_string().into_bytes());
            } else {
                out.insert(rel, std::fs::read(&path).unwrap());
            }
        }
    }
    out
}

#[test]
fn cloud_backup_as_a_post_backup_hook_uploads_as_python() {
    require!("PostgreSQL, Python barman-cloud and moto", ready());
    let s3 = S3Server::start(false);
    s3.create_bucket("pgbk");
    let pg = crate::harness::archiving_cluster("'/bin/true'");
    pg.execute("CREATE TABLE t AS SELECT g AS i FROM generate_series(1, 5000) g");
    let conninfo = pg.conninfo();
    crate::harness::ok(
        run(
            &s3,
            Path::new(OURS),
            &[
                "--immediate-checkpoint",
                "-d",
                &conninfo,
                "s3://pgbk/live",
                "pg",
            ],
        ),
        "live backup",
    );
    drop(pg);
    // A "Barman backup": the restored files and the backup.info.
    let barman = shared_tempdir();
    let dir = barman.path().join("20260101T000000");
    crate::harness::ok(
        run(
            &s3,
            &python("barman-cloud-restore"),
            &[
                "s3://pgbk/live",
                "pg",
                "latest",
                dir.join("data").to_str().unwrap(),
            ],
        ),
        "restore of the live backup",
    );
    let info_key = s3
        .keys("pgbk")
        .into_iter()
        .find(|k| k.ends_with("backup.info"))
        .unwrap();
    let info_path = dir.join("backup.info");
    s3.python(&format!(
        "import boto3\ns3 = boto3.client('s3', endpoint_url=URL, aws_access_key_id=KEY, aws_secret_access_key=SECRET, region_name='us-east-1')\nopen({:?}, 'wb').write(s3.get_object(Bucket='pgbk', Key={info_key:?})['Body'].read())\n",
        info_path.display()
    ));
    let hook = |tool: &Path, url: &str, status: &str, phase: &str| {
        let mut cmd = Command::new(tool);
        s3.env(&mut cmd)
            .env("BARMAN_HOOK", "backup_script")
            .env("BARMAN_PHASE", phase)
            .env("BARMAN_BACKUP_DIR", &dir)
            .env("BARMAN_BACKUP_ID", "20260101T000000")
            .env("BARMAN_STATUS", status)
            .env("BARMAN_BACKUP_INFO_PATH", &info_path)
            .args(["--endpoint-url", &s3.endpoint(), url, "pg"]);
        Run::of(&mut cmd)
    };
    let ours = Path::new(OURS);
    let theirs = python("barman-cloud-backup");
    crate::harness::ok(
        hook(ours, "s3://pgbk/ours", "DONE", "post"),
        "our hook upload",
    );
    crate::harness::ok(
        hook(&theirs, "s3://pgbk/py", "DONE", "post"),
        "Python's hook upload",
    );
    let names = |prefix: &str| -> Vec<String> {
        s3.keys("pgbk")
            .into_iter()
            .filter_map(|k| k.strip_prefix(prefix).map(str::to_string))
            .collect()
    };
    assert_eq!(names("ours/"), names("py/"));
    let listed = python_list(&s3, "s3://pgbk/ours");
    assert_eq!(listed[0]["backup_id"], "20260101T000000");
    let back = barman.path().join("back");
    crate::harness::ok(
        run(
            &s3,
            &python("barman-cloud-restore"),
            &["s3://pgbk/ours", "pg", "latest", back.to_str().unwrap()],
        ),
        "restore of our hook upload",
    );
    assert!(
        tree(&dir.join("data")) == tree(&back),
        "restored files differ"
    );
    // Not DONE: 63 (stop retrying); another hook phase: 4; both as Python.
    for (status, phase, code) in [("FAILED", "post", 63), ("DONE", "pre", 4)] {
        let (a, b) = (
            hook(ours, "s3://pgbk/x", status, phase),
            hook(&theirs, "s3://pgbk/x", status, phase),
        );
        assert_eq!(
            (a.code, b.code),
            (code, code),
            "ours: {}\nPython: {}",
            a.stderr,
            b.stderr
        );
    }
}
