//! barman-cloud-restore against a real S3 server (moto on loopback), side by side with
//! Python's barman-cli-cloud 3.20.1: Python's barman-cloud-backup of a PostgreSQL 15
//! cluster with a tablespace, in every compression, restored by ours into the same tree
//! Python's restore makes; the restored cluster replays the WAL Python archived (through
//! ours and Python's barman-cloud-wal-restore) and holds the rows. Faults exit as Python's.

use crate::harness::pg_cluster::{PgCluster, PgOptions};
use crate::harness::python_barman::venv_tool;
use crate::harness::s3::{self, S3Server};
use crate::harness::{python_barman, Run};
use crate::require;
use std::path::{Path, PathBuf};
use std::process::Command;

const OURS: &str = env!("CARGO_BIN_EXE_barman-cloud-restore");
const OURS_WAL_RESTORE: &str = env!("CARGO_BIN_EXE_barman-cloud-wal-restore");

fn python(tool: &str) -> PathBuf {
    venv_tool(tool).expect("Python barman-cloud installed")
}

fn ready() -> bool {
    python_barman::available() && crate::harness::available(s3::REQUIREMENT, s3::available())
}

/// Run `tool` with the server's endpoint and credentials, then `args`.
fn run(s3: &S3Server, tool: &Path, args: &[&str]) -> Run {
    let mut cmd = Command::new(tool);
    s3.env(&mut cmd)
        .args(["--endpoint-url", &s3.endpoint()])
        .args(args);
    Run::of(&mut cmd)
}

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

/// Python's barman-cloud-backup of `pg` with `compression` (a flag or empty): its id.
fn python_backup(s3: &S3Server, pg: &PgCluster, compression: &str) -> String {
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
    if !compression.is_empty() {
        args.push(compression);
    }
    args.extend(["s3://pgbackups/c", "pg"]);
    crate::harness::ok(
        run(s3, &python("barman-cloud-backup"), &args),
        &format!("python barman-cloud-backup {compression}"),
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
    for compression in ["", "--gzip", "--bzip2", "--snappy", "--lz4", "--zstd"] {
        ids.push((compression, python_backup(&s3, &pg, compression)));
    }
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
