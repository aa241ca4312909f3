//! A real PostgreSQL 15 whose `archive_command` is `barman cloud-wal-archive pg %p`
//! (moto on loopback): a backup, rows written after it, a restore that turns get-wal on
//! with Barman's warning and writes `restore_command = 'barman cloud-wal-restore pg %f
//! %p'`, and the recovered cluster fetching its WAL from the bucket through that command
//! and starting with every row. Python Barman restores the same backup from the same
//! configuration and writes the same recovery settings.

use crate::harness::pg_cluster::{give_to_postgres, pg_available};
use crate::harness::python_barman;
use crate::harness::s3::{self, S3Server};
use crate::harness::{BarmanHome, PgCluster, Run};
use crate::require;
use std::path::{Path, PathBuf};
use std::process::Command;

const BUCKET: &str = "pgcloud";

/// The environment the archive and restore commands need, as `VAR=value` words.
fn aws_words(s3: &S3Server) -> String {
    format!(
        "AWS_ACCESS_KEY_ID={} AWS_SECRET_ACCESS_KEY={} AWS_DEFAULT_REGION=us-east-1 AWS_ENDPOINT_URL={}",
        s3.key_id,
        s3.secret,
        s3.endpoint()
    )
}

/// A configuration of server `pg` (WALs in the bucket) run as `postgres`.
fn write_config(home: &BarmanHome, path: &Path, server: &str) {
    let text = format!(
        "[barman]\nbarman_home = {}\nbarman_user = postgres\nlog_file = {}\nlog_level = DEBUG\n\
         [pg]\nwals_directory = s3://{BUCKET}/cluster\narchiver = on\n{server}\n",
        home.home().display(),
        home.dir().join("barman.log").display()
    );
    std::fs::write(path, text).unwrap();
    give_to_postgres(path);
}

/// `cmd` with the bucket's environment and a password file `postgres` can read.
fn prepared<'a>(s3: &S3Server, home: &BarmanHome, cmd: &'a mut Command) -> &'a mut Command {
    s3.env(cmd)
        .env("AWS_ENDPOINT_URL", s3.endpoint())
        .env("PGPASSFILE", home.dir().join("pgpass"))
}

fn ours(s3: &S3Server, home: &BarmanHome, config: &Path, args: &[&str]) -> Run {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_barman"));
    cmd.arg("-c").arg(config).args(args);
    Run::of(prepared(s3, home, &mut cmd))
}

fn pythons(s3: &S3Server, home: &BarmanHome, config: &Path, args: &[&str]) -> Run {
    let mut cmd = python_barman::python_barman(config);
    cmd.args(args);
    Run::of(prepared(s3, home, &mut cmd))
}

/// Switch to a new segment and wait until PostgreSQL archived everything.
fn ship(pg: &PgCluster) {
    pg.execute("SELECT pg_switch_wal()");
    crate::harness::wait_until("WAL archived", || {
        pg.query_scalar(
            "SELECT count(*) FROM pg_ls_dir('pg_wal/archive_status') f WHERE f LIKE '%.ready'",
        ) == "0"
    });
    let failed = pg.query_scalar("SELECT failed_count FROM pg_stat_archiver");
    assert_eq!(failed, "0", "archive_command failed:\n{}", pg.log());
}

/// A `barman` on `PATH` for the recovered cluster: ours with the cloud configuration and
/// the bucket's environment (PostgreSQL gives restore_command neither).
fn barman_on_path(s3: &S3Server, home: &BarmanHome, config: &Path) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let dir = home.dir().join("bin");
    std::fs::create_dir_all(&dir).unwrap();
    let script = dir.join("barman");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\nexport {}\nexec {} -c {} \"$@\"\n",
            aws_words(s3),
            env!("CARGO_BIN_EXE_barman"),
            config.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    give_to_postgres(&dir);
    dir
}

fn restore_command(dest: &Path) -> String {
    let conf = std::fs::read_to_string(dest.join("postgresql.auto.conf")).unwrap();
    conf.lines()
        .filter(|l| l.starts_with("restore_command"))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn cloud_barman_postgres_archives_to_the_bucket_and_a_restore_replays_from_it() {
    require!("PostgreSQL binaries", pg_available());
    require!(
        python_barman::REQUIREMENT,
        python_barman::usable_by("postgres") && s3::available()
    );
    let s3 = S3Server::start(true);
    s3.create_bucket(BUCKET);
    let home = BarmanHome::new();
    std::fs::copy(crate::harness::auth::passfile(), home.dir().join("pgpass")).unwrap();
    let cloud = home.dir().join("cloud.conf");
    // cloud-wal-archive does not connect: the server only needs a conninfo to be enabled.
    write_config(
        &home,
        &cloud,
        "backup_method = local-to-cloud\nconninfo = host=127.0.0.1 port=1\n",
    );
    give_to_postgres(home.dir());
    let command = format!(
        "'{} {} -c {} cloud-wal-archive pg %p'",
        aws_words(&s3),
        env!("CARGO_BIN_EXE_barman"),
        cloud.display()
    );
    let pg = crate::harness::archiving_cluster(&command);
    pg.execute("CREATE TABLE marks (tag text, n int)");
    pg.execute("INSERT INTO marks SELECT 'base', g FROM generate_series(1, 100) g");
    ship(&pg);
    // The base backup is local (postgres method); its WALs are in the bucket.
    let local = home.dir().join("backup.conf");
    write_config(
        &home,
        &local,
        &format!(
            "backup_method = postgres\nconninfo = {0}\nstreaming_conninfo = {0}\nimmediate_checkpoint = true\n",
            pg.conninfo()
        ),
    );
    crate::harness::ok(ours(&s3, &home, &local, &["backup", "pg"]), "backup");
    pg.execute("INSERT INTO marks SELECT 'after', g FROM generate_series(1, 100) g");
    ship(&pg);
    let keys = s3.keys(BUCKET);
    assert!(
        keys.iter()
            .filter(|k| k.starts_with("cluster/pg/wals/0000000100000000/"))
            .count()
            >= 3,
        "{keys:?}"
    );
    let id = ours(&s3, &home, &local, &["list-backups", "pg", "--minimal"])
        .stdout
        .trim()
        .to_string();
    let warning = "WARNING: get-wal is required for servers with WALs stored in cloud storage. \
                   Automatically enabling --get-wal.";
    let expected = "restore_command = 'barman cloud-wal-restore pg %f %p'";
    let (mine, theirs) = (home.dir().join("mine"), home.dir().join("theirs"));
    let runs = [
        ours(
            &s3,
            &home,
            &cloud,
            &["restore", "pg", &id, mine.to_str().unwrap()],
        ),
        pythons(
            &s3,
            &home,
            &cloud,
            &["restore", "pg", &id, theirs.to_str().unwrap()],
        ),
    ];
    for (run, dest) in runs.into_iter().zip([&mine, &theirs]) {
        let run = crate::harness::ok(run, "restore");
        assert!(run.stderr.contains(warning), "{}", run.stderr);
        assert_eq!(restore_command(dest), expected);
    }
    // The recovered cluster runs `barman cloud-wal-restore pg %f %p` from its PATH.
    let bin = barman_on_path(&s3, &home, &cloud);
    let auto = mine.join("postgresql.auto.conf");
    let text = std::fs::read_to_string(&auto).unwrap().replace(
        expected,
        &format!(
            "restore_command = 'PATH={}:/usr/bin:/bin barman cloud-wal-restore pg %f %p'",
            bin.display()
        ),
    );
    std::fs::write(&auto, text).unwrap();
    let mut restored = PgCluster::start_in_place(&mine, &[]);
    crate::harness::wait_until("recovery ended", || {
        restored.query_scalar("SELECT pg_is_in_recovery()") == "f"
    });
    let tags = restored.query_rows("SELECT tag, count(*) FROM marks GROUP BY tag ORDER BY tag");
    assert_eq!(
        tags,
        [["after", "100"], ["base", "100"]].map(|r| r.map(String::from).to_vec()),
        "{}",
        restored.log()
    );
    restored.stop();
}
