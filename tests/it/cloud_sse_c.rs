//! SSE-C (`--sse-customer-key file://...`) side by side with Python's barman-cli-cloud
//! 3.20.1 on moto. S3 keeps an SSE-C object readable only by requests that carry its key
//! (algorithm, key, key MD5); moto stores the object but does not check the key, so the
//! harness writes every request's SSE-C headers down and the test reads them: each object
//! PUT, upload part, GET and HEAD of both tools carries `AES256` and the key's MD5. The key
//! file is checked as Python checks it, with its messages.

use crate::harness::pg_cluster::PgCluster;
use crate::harness::python_barman::venv_tool;
use crate::harness::s3::{peers_ready as ready, python_tool as python, run, S3Server};
use crate::harness::{python_barman, Run};
use crate::require;
use std::path::{Path, PathBuf};
use std::process::Command;

const SEGMENT: &str = "000000010000000000000005";

fn ours(tool: &str) -> PathBuf {
    PathBuf::from(match tool {
        "barman-cloud-wal-archive" => env!("CARGO_BIN_EXE_barman-cloud-wal-archive"),
        "barman-cloud-wal-restore" => env!("CARGO_BIN_EXE_barman-cloud-wal-restore"),
        "barman-cloud-backup" => env!("CARGO_BIN_EXE_barman-cloud-backup"),
        "barman-cloud-backup-list" => env!("CARGO_BIN_EXE_barman-cloud-backup-list"),
        _ => env!("CARGO_BIN_EXE_barman-cloud-restore"),
    })
}

/// A 32-byte key in `dir/key.b64` (base64, with a final newline as `base64` writes it):
/// its `file://` URI and the MD5 S3 is sent, base64.
fn key_file(dir: &Path) -> (String, String) {
    let code = "import base64, hashlib, sys\n\
                key = bytes(range(7, 39))\n\
                open(sys.argv[1], 'w').write(base64.b64encode(key).decode() + '\\n')\n\
                print(base64.b64encode(hashlib.md5(key).digest()).decode())\n";
    let path = dir.join("key.b64");
    let out = Command::new(venv_tool("python").unwrap())
        .args(["-c", code])
        .arg(&path)
        .output()
        .unwrap();
    let md5 = String::from_utf8(out.stdout).unwrap().trim().to_string();
    (format!("file://{}", path.display()), md5)
}

/// The recorded object requests (PUT, GET, HEAD, and multipart POSTs) under
/// `/bucket/prefix/`, as `method path query algorithm md5` lines.
fn object_requests(s3: &S3Server, bucket: &str, prefix: &str) -> Vec<String> {
    let under = format!("/{bucket}/{prefix}/");
    s3.requests()
        .into_iter()
        .filter(|line| {
            let mut words = line.split(' ');
            let method = words.next().unwrap_or("");
            let path = words.next().unwrap_or("");
            path.starts_with(&under) && ["PUT", "GET", "HEAD", "POST"].contains(&method)
        })
        .collect()
}

/// Every one of `lines` carries the SSE-C headers with `md5`; there is at least one of
/// each of `methods`.
fn all_carry_the_key(who: &str, lines: &[String], md5: &str, methods: &[&str]) {
    for method in methods {
        assert!(
            lines.iter().any(|l| l.starts_with(&format!("{method} "))),
            "{who}: no {method} in {lines:#?}"
        );
    }
    for line in lines {
        // A multipart completion carries no key in S3's API (nor in boto3's calls).
        if line.starts_with("POST ") && line.contains("uploadId=") {
            continue;
        }
        assert!(
            line.ends_with(&format!(" AES256 {md5}")),
            "{who}: a request without the key: {line}"
        );
    }
}

#[test]
fn cloud_sse_c_wal_archive_and_restore_send_the_key_as_python_and_check_it_alike() {
    require!(python_barman::REQUIREMENT, ready());
    let s3 = S3Server::start(false);
    s3.create_bucket("wals");
    let dir = tempfile::tempdir().unwrap();
    let (key, md5) = key_file(dir.path());
    let seg = dir.path().join(SEGMENT);
    std::fs::write(&seg, vec![9u8; 1 << 20]).unwrap();
    for (who, other) in [("ours", "python"), ("python", "ours")] {
        let tool = |name: &str, by: &str| {
            if by == "ours" {
                ours(name)
            } else {
                python(name)
            }
        };
        let prefix = format!("s3://wals/{who}");
        let archive = [
            "--sse-customer-key",
            &key,
            "--gzip",
            &prefix,
            "pg",
            seg.to_str().unwrap(),
        ];
        crate::harness::ok(
            run(&s3, &tool("barman-cloud-wal-archive", who), &archive),
            who,
        );
        let dest = dir.path().join(format!("restored-by-{other}"));
        let restore = [
            "--sse-customer-key",
            &key,
            &prefix,
            "pg",
            SEGMENT,
            dest.to_str().unwrap(),
        ];
        crate::harness::ok(
            run(&s3, &tool("barman-cloud-wal-restore", other), &restore),
            other,
        );
        assert!(std::fs::read(&dest).unwrap() == std::fs::read(&seg).unwrap());
    }
    for who in ["ours", "python"] {
        all_carry_the_key(
            who,
            &object_requests(&s3, "wals", who),
            &md5,
            &["PUT", "GET"],
        );
    }
    // A key file as Python refuses it: same exit, same words, in four tools.
    std::fs::write(dir.path().join("short.b64"), "c2hvcnQ=\n").unwrap();
    std::fs::write(dir.path().join("bad.b64"), "not base64!\n").unwrap();
    let d = dir.path().display();
    let cases = [
        (
            format!("{d}/key.b64"),
            "SSE-C customer key must be provided as a file:// URI (e.g. file:///path/to/key.b64)"
                .to_string(),
        ),
        (
            "file://key.b64".into(),
            "SSE-C key file path must be absolute: key.b64".into(),
        ),
        (
            format!("file://{d}/none"),
            format!("SSE-C key file not found: {d}/none"),
        ),
        (
            format!("file://{d}/short.b64"),
            format!(
                "SSE-C key file {d}/short.b64 must contain a 256-bit (32-byte) key, got 5 bytes"
            ),
        ),
        (
            format!("file://{d}/bad.b64"),
            format!("SSE-C key file {d}/bad.b64 does not contain a valid base64-encoded key"),
        ),
    ];
    let out = dir.path().join("out");
    for (uri, message) in &cases {
        let tools: [(&str, Vec<&str>); 3] = [
            (
                "barman-cloud-wal-archive",
                vec!["s3://wals/bad", "pg", seg.to_str().unwrap()],
            ),
            (
                "barman-cloud-wal-restore",
                vec!["s3://wals/ours", "pg", SEGMENT, out.to_str().unwrap()],
            ),
            ("barman-cloud-backup-list", vec!["s3://wals/ours", "pg"]),
        ];
        for (name, rest) in tools {
            let mut args = vec!["--sse-customer-key", uri.as_str()];
            args.extend(rest);
            let mine = run(&s3, &ours(name), &args);
            let theirs = run(&s3, &python(name), &args);
            assert_eq!((mine.code, theirs.code), (4, 4), "{name} {uri}");
            let tail = |r: &Run| {
                r.stderr
                    .split(" exception: ")
                    .nth(1)
                    .unwrap_or_default()
                    .trim()
                    .to_string()
            };
            assert_eq!(tail(&mine), *message, "{name}: {}", mine.stderr);
            assert_eq!(tail(&theirs), *message, "{name}: {}", theirs.stderr);
        }
    }
    assert!(!out.exists());
    assert!(object_requests(&s3, "wals", "bad").is_empty());
}

#[test]
fn cloud_sse_c_backup_parts_carry_the_key_and_python_restores_it() {
    require!(
        "PostgreSQL binaries",
        crate::harness::pg_cluster::pg_available()
    );
    require!(python_barman::REQUIREMENT, ready());
    let s3 = S3Server::start(false);
    s3.create_bucket("pgbk");
    let dir = tempfile::tempdir().unwrap();
    let (key, md5) = key_file(dir.path());
    let pg = PgCluster::start(Default::default());
    pg.execute("CREATE TABLE t AS SELECT g AS i FROM generate_series(1, 50000) g");
    let conninfo = pg.conninfo();
    // 1 MB archives: several multipart uploads, each of several parts.
    crate::harness::ok(
        run(
            &s3,
            &ours("barman-cloud-backup"),
            &[
                "--immediate-checkpoint",
                "-d",
                &conninfo,
                "-S",
                "1MB",
                "--sse-customer-key",
                &key,
                "s3://pgbk/ours",
                "pg",
            ],
        ),
        "our SSE-C backup",
    );
    let listed = crate::harness::ok(
        run(
            &s3,
            &python("barman-cloud-backup-list"),
            &[
                "--sse-customer-key",
                &key,
                "--format",
                "json",
                "s3://pgbk/ours",
                "pg",
            ],
        ),
        "Python lists it",
    );
    let json: serde_json::Value = serde_json::from_str(&listed.stdout).unwrap();
    let id = json["backups_list"][0]["backup_id"]
        .as_str()
        .unwrap()
        .to_string();
    let uploads = object_requests(&s3, "pgbk", "ours");
    assert!(
        uploads
            .iter()
            .any(|l| l.starts_with("PUT ") && l.contains("partNumber=")),
        "multipart parts: {uploads:#?}"
    );
    all_carry_the_key("our backup", &uploads, &md5, &["PUT", "POST"]);
    // Each tool restores it, sending the key on each read.
    for (who, tool) in [
        ("Python", python("barman-cloud-restore")),
        ("ours", ours("barman-cloud-restore")),
    ] {
        let before = s3.requests().len();
        let target = dir.path().join(format!("restored-by-{who}"));
        let args = [
            "--sse-customer-key",
            &key,
            "s3://pgbk/ours",
            "pg",
            &id,
            target.to_str().unwrap(),
        ];
        crate::harness::ok(run(&s3, &tool, &args), &format!("{who} restores it"));
        assert!(target.join("PG_VERSION").is_file());
        let reads: Vec<String> = s3.requests()[before..]
            .iter()
            .filter(|l| l.starts_with("GET /pgbk/ours/") || l.starts_with("HEAD /pgbk/ours/"))
            .cloned()
            .collect();
        all_carry_the_key(&format!("{who}'s restore"), &reads, &md5, &["GET"]);
    }
}
