//! Barman 3.20's cloud-stored backups (`basebackups_directory = s3://...`,
//! `backup_method = local-to-cloud`): a real PostgreSQL 15 archiving through `barman
//! cloud-wal-archive` into moto, backups taken by Python Barman 3.20.1 and by ours on the
//! same configuration and bucket, each listed, shown and restored by the other.

use crate::harness::pg_cluster::{give_to_postgres, pg_available};
use crate::harness::python_barman;
use crate::harness::s3::{self, S3Server};
use crate::harness::{BarmanHome, PgCluster, Run};
use crate::require;
use std::path::{Path, PathBuf};
use std::process::Command;

const BUCKET: &str = "pgbackups";

fn aws_words(s3: &S3Server) -> String {
    format!(
        "AWS_ACCESS_KEY_ID={} AWS_SECRET_ACCESS_KEY={} AWS_DEFAULT_REGION=us-east-1 AWS_ENDPOINT_URL={}",
        s3.key_id,
        s3.secret,
        s3.endpoint()
    )
}

/// Server `pg` with backups and WALs in the bucket, run as `postgres`.
fn write_config(home: &BarmanHome, path: &Path, extra: &str) {
    let text = format!(
        "[barman]\nbarman_home = {}\nbarman_user = postgres\nlog_file = {}\nlog_level = DEBUG\n\
         [pg]\nwals_directory = s3://{BUCKET}/cluster\nbasebackups_directory = s3://{BUCKET}/cluster\n\
         archiver = on\nbackup_method = local-to-cloud\n{extra}\n",
        home.home().display(),
        home.dir().join("barman.log").display()
    );
    std::fs::write(path, text).unwrap();
    give_to_postgres(path);
}

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

struct Setup {
    s3: S3Server,
    home: BarmanHome,
    config: std::path::PathBuf,
    pg: PgCluster,
}

fn setup() -> Setup {
    setup_with(false)
}

/// [`setup`], the bucket with S3 Object Lock enabled when `object_lock`.
fn setup_with(object_lock: bool) -> Setup {
    let s3 = S3Server::start(true);
    if object_lock {
        s3.python(&format!(
            "import boto3\n\
             s3 = boto3.client('s3', endpoint_url=URL, aws_access_key_id=KEY, aws_secret_access_key=SECRET, region_name='us-east-1')\n\
             s3.create_bucket(Bucket={BUCKET:?}, ObjectLockEnabledForBucket=True)\n"
        ));
    } else {
        s3.create_bucket(BUCKET);
    }
    let home = BarmanHome::new();
    std::fs::copy(crate::harness::auth::passfile(), home.dir().join("pgpass")).unwrap();
    let config = home.dir().join("cloud.conf");
    write_config(&home, &config, "conninfo = host=127.0.0.1 port=1\n");
    give_to_postgres(home.dir());
    let command = format!(
        "'{} {} -c {} cloud-wal-archive pg %p'",
        aws_words(&s3),
        env!("CARGO_BIN_EXE_barman"),
        config.display()
    );
    let pg = crate::harness::archiving_cluster(&command);
    write_config(
        &home,
        &config,
        &format!(
            "conninfo = {}\nimmediate_checkpoint = true\n",
            pg.conninfo()
        ),
    );
    pg.execute("CREATE TABLE marks (tag text, n int)");
    pg.execute("INSERT INTO marks SELECT 'base', g FROM generate_series(1, 100) g");
    ship(&pg);
    Setup {
        s3,
        home,
        config,
        pg,
    }
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

/// Start the cluster restored in `dest` (its WAL fetched from the bucket by our `barman
/// cloud-wal-restore`) and return its rows per tag.
fn start_restored(
    s3: &S3Server,
    home: &BarmanHome,
    config: &Path,
    dest: &Path,
) -> Vec<Vec<String>> {
    let expected = "restore_command = 'barman cloud-wal-restore pg %f %p'";
    let auto = dest.join("postgresql.auto.conf");
    let text = std::fs::read_to_string(&auto).unwrap();
    assert!(text.contains(expected), "{text}");
    let bin = barman_on_path(s3, home, config);
    let text = text.replace(
        expected,
        &format!(
            "restore_command = 'PATH={}:/usr/bin:/bin barman cloud-wal-restore pg %f %p'",
            bin.display()
        ),
    );
    std::fs::write(&auto, text).unwrap();
    let mut restored = PgCluster::start_in_place(dest, &[]);
    crate::harness::wait_until("recovery ended", || {
        restored.query_scalar("SELECT pg_is_in_recovery()") == "f"
    });
    let rows = restored.query_rows("SELECT tag, count(*) FROM marks GROUP BY tag ORDER BY tag");
    restored.stop();
    rows
}

fn rows(pairs: &[(&str, &str)]) -> Vec<Vec<String>> {
    pairs
        .iter()
        .map(|(a, b)| vec![a.to_string(), b.to_string()])
        .collect()
}

#[test]
fn cloud_backups_local_to_cloud_by_ours_is_listed_shown_and_restored_by_python() {
    require!("PostgreSQL binaries", pg_available());
    require!(
        python_barman::REQUIREMENT,
        python_barman::usable_by("postgres") && s3::available()
    );
    let Setup {
        s3,
        home,
        config,
        pg,
    } = setup();
    let run = crate::harness::ok(
        ours(&s3, &home, &config, &["backup", "pg", "--wait"]),
        "backup",
    );
    let id = ours(&s3, &home, &config, &["list-backups", "pg", "--minimal"])
        .stdout
        .trim()
        .to_string();
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(
        lines[0],
        format!("Starting backup using local-to-cloud-concurrent method for server pg in cluster/pg/base/{id}"),
        "{}",
        run.stdout
    );
    for wanted in [
        "This is the first backup for server pg",
        "Backup size: ",
        "Backup end at LSN: ",
        "Backup completed (start time: ",
    ] {
        assert!(run.stdout.contains(wanted), "{wanted}: {}", run.stdout);
    }
    let keys = s3.keys(BUCKET);
    for object in ["backup.info", "data.tar"] {
        let key = format!("cluster/pg/base/{id}/{object}");
        assert!(keys.contains(&key), "{key} not in {keys:?}");
    }
    let meta =
        std::fs::read_to_string(home.home().join(format!("pg/meta/{id}-backup.info"))).unwrap();
    assert!(meta.contains("mode=local-to-cloud-concurrent\n"), "{meta}");
    assert!(
        meta.contains("status=DONE\n"),
        "{meta}\n{}\n{}",
        run.stdout,
        run.stderr
    );
    assert!(
        meta.contains(&format!("LABEL: Barman backup pg {id}")),
        "{meta}"
    );
    let cloud_info = s3.python(&format!(
        "import boto3\ns3 = boto3.client('s3', endpoint_url=URL, aws_access_key_id=KEY, aws_secret_access_key=SECRET, region_name='us-east-1')\n\
         print(s3.get_object(Bucket='{BUCKET}', Key='cluster/pg/base/{id}/backup.info')['Body'].read().decode(), end='')"
    ));
    assert_eq!(cloud_info, meta);
    pg.execute("INSERT INTO marks SELECT 'after', g FROM generate_series(1, 100) g");
    ship(&pg);
    for args in [
        vec!["list-backups", "pg"],
        vec!["show-backup", "pg", &id],
        vec!["-f", "json", "list-backups", "pg"],
    ] {
        let (mine, theirs) = (
            ours(&s3, &home, &config, &args),
            pythons(&s3, &home, &config, &args),
        );
        assert_eq!(
            (mine.code, &mine.stdout),
            (theirs.code, &theirs.stdout),
            "{args:?}\n{}",
            mine.stderr
        );
    }
    let dest = home.dir().join("theirs");
    crate::harness::ok(
        pythons(
            &s3,
            &home,
            &config,
            &["restore", "pg", &id, dest.to_str().unwrap()],
        ),
        "Python's restore",
    );
    let found = start_restored(&s3, &home, &config, &dest);
    assert_eq!(found, rows(&[("after", "100"), ("base", "100")]));
}

#[test]
fn cloud_backups_delete_removes_the_backup_and_wal_objects() {
    require!("PostgreSQL binaries", pg_available());
    require!(
        python_barman::REQUIREMENT,
        python_barman::usable_by("postgres") && s3::available()
    );
    let Setup {
        s3,
        home,
        config,
        pg,
    } = setup_with(true);
    crate::harness::ok(
        ours(&s3, &home, &config, &["backup", "pg", "--wait"]),
        "first backup",
    );
    let first = ours(&s3, &home, &config, &["list-backups", "pg", "--minimal"])
        .stdout
        .trim()
        .to_string();
    pg.execute("INSERT INTO marks SELECT 'between', g FROM generate_series(1, 100) g");
    ship(&pg);
    std::thread::sleep(std::time::Duration::from_millis(1100));
    crate::harness::ok(
        ours(&s3, &home, &config, &["backup", "pg", "--wait"]),
        "second backup",
    );
    ship(&pg);
    let meta = home.home().join("pg/meta");
    let second_info = std::fs::read_to_string(
        std::fs::read_dir(&meta)
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| {
                p.to_string_lossy().ends_with("-backup.info")
                    && !p.to_string_lossy().contains(&first)
            })
            .unwrap(),
    )
    .unwrap();
    let begin = second_info
        .lines()
        .find_map(|l| l.strip_prefix("begin_wal="))
        .unwrap()
        .to_string();
    // keep writes (and release removes) the annotation in the bucket too, as Python's.
    let second = second_info
        .lines()
        .find_map(|l| l.strip_prefix("backup_label="))
        .and_then(|l| l.split("LABEL: Barman backup pg ").nth(1))
        .map(|rest| rest[..15].to_string())
        .unwrap();
    let annotation = format!("cluster/pg/base/{second}/annotations/keep");
    crate::harness::ok(
        ours(
            &s3,
            &home,
            &config,
            &["keep", "pg", &second, "--target", "full"],
        ),
        "keep",
    );
    assert!(s3.keys(BUCKET).contains(&annotation));
    let status = pythons(&s3, &home, &config, &["keep", "pg", &second, "--status"]);
    assert!(status.stdout.contains("Keep: full"), "{}", status.stdout);
    crate::harness::ok(
        ours(&s3, &home, &config, &["keep", "pg", &second, "--release"]),
        "release",
    );
    assert!(!s3.keys(BUCKET).contains(&annotation));
    // With aws_check_object_lock, a legal hold on the first backup's archive keeps it,
    // for both Barmans; without the hold it goes.
    let hold = |status: &str| {
        s3.python(&format!(
            "import boto3\n\
             s3 = boto3.client('s3', endpoint_url=URL, aws_access_key_id=KEY, aws_secret_access_key=SECRET, region_name='us-east-1')\n\
             s3.put_object_legal_hold(Bucket={BUCKET:?}, Key='cluster/pg/base/{first}/data.tar', LegalHold={{'Status': {status:?}}})\n"
        ))
    };
    hold("ON");
    let text = std::fs::read_to_string(&config).unwrap();
    std::fs::write(&config, format!("{text}aws_check_object_lock = on\n")).unwrap();
    let held = s3.keys(BUCKET);
    let locked = format!(
        "Cannot delete locked object cluster/pg/base/{first}/data.tar: Object has a legal hold \
         and can't be deleted until the legal hold is removed"
    );
    let logged = || {
        std::fs::read_to_string(home.dir().join("barman.log"))
            .unwrap_or_default()
            .matches(&locked)
            .count()
    };
    let mine = ours(&s3, &home, &config, &["delete", "pg", &first]);
    assert_eq!(logged(), 1, "ours logs the lock");
    let theirs = pythons(&s3, &home, &config, &["delete", "pg", &first]);
    assert_eq!(logged(), 2, "Python logs the same line");
    assert_eq!(
        (mine.code, theirs.code),
        (1, 1),
        "{}\n{}\n{}\n{}",
        mine.stdout,
        mine.stderr,
        theirs.stdout,
        theirs.stderr
    );
    // Python's ends in an uncaught exception ("EXCEPTION: ... See log file for more
    // details."); ours says the same as an error.
    assert!(
        mine.stderr.contains(
            "ERROR: Error from cloud provider while deleting objects - please check the command output."
        ),
        "{}",
        mine.stderr
    );
    assert_eq!(s3.keys(BUCKET), held, "nothing deleted under a legal hold");
    assert!(meta.join(format!("{first}-backup.info")).exists());
    hold("OFF");
    let before = s3.keys(BUCKET);
    let run = crate::harness::ok(
        ours(&s3, &home, &config, &["delete", "pg", &first]),
        "delete",
    );
    assert!(
        run.stdout.contains(&format!("Deleted backup {first}")),
        "{}",
        run.stdout
    );
    let after = s3.keys(BUCKET);
    let gone: Vec<&String> = before.iter().filter(|k| !after.contains(k)).collect();
    assert!(
        gone.contains(&&format!("cluster/pg/base/{first}/data.tar")),
        "{gone:?}"
    );
    assert!(
        gone.contains(&&format!("cluster/pg/base/{first}/backup.info")),
        "{gone:?}"
    );
    for key in &after {
        assert!(!key.contains(&first), "{key} left");
        if let Some(wal) = key.strip_prefix("cluster/pg/wals/0000000100000000/") {
            assert!(
                wal >= begin.as_str(),
                "{wal} older than {begin} left: {after:?}"
            );
        }
    }
    assert!(
        gone.iter().any(|k| k.starts_with("cluster/pg/wals/")),
        "no WAL object removed: {before:?} -> {after:?}"
    );
    assert!(!meta.join(format!("{first}-backup.info")).exists());
    for args in [
        vec!["list-backups", "pg"],
        vec!["-f", "json", "list-backups", "pg"],
    ] {
        let (mine, theirs) = (
            ours(&s3, &home, &config, &args),
            pythons(&s3, &home, &config, &args),
        );
        assert_eq!(
            (mine.code, &mine.stdout),
            (theirs.code, &theirs.stdout),
            "{args:?}"
        );
    }
}

#[test]
fn cloud_backups_local_to_cloud_by_python_is_restored_by_ours() {
    require!("PostgreSQL binaries", pg_available());
    require!(
        python_barman::REQUIREMENT,
        python_barman::usable_by("postgres") && s3::available()
    );
    let Setup {
        s3,
        home,
        config,
        pg,
    } = setup();
    crate::harness::ok(
        pythons(&s3, &home, &config, &["backup", "pg", "--wait"]),
        "Python's backup",
    );
    let id = pythons(&s3, &home, &config, &["list-backups", "pg", "--minimal"])
        .stdout
        .trim()
        .to_string();
    pg.execute("INSERT INTO marks SELECT 'after', g FROM generate_series(1, 100) g");
    ship(&pg);
    let dest = home.dir().join("mine");
    let run = crate::harness::ok(
        ours(
            &s3,
            &home,
            &config,
            &["restore", "pg", &id, dest.to_str().unwrap()],
        ),
        "our restore",
    );
    assert!(
        run.stdout.contains("Copying the base backup."),
        "{}",
        run.stdout
    );
    assert!(dest.join("backup_label").exists());
    let found = start_restored(&s3, &home, &config, &dest);
    assert_eq!(found, rows(&[("after", "100"), ("base", "100")]));
}

#[test]
fn cloud_backups_retention_in_cron_removes_the_obsolete_backup_objects() {
    require!("PostgreSQL binaries", pg_available());
    require!(
        python_barman::REQUIREMENT,
        python_barman::usable_by("postgres") && s3::available()
    );
    let Setup {
        s3,
        home,
        config,
        pg,
    } = setup();
    crate::harness::ok(
        ours(&s3, &home, &config, &["backup", "pg", "--wait"]),
        "first backup",
    );
    let first = ours(&s3, &home, &config, &["list-backups", "pg", "--minimal"])
        .stdout
        .trim()
        .to_string();
    pg.execute("INSERT INTO marks SELECT 'between', g FROM generate_series(1, 100) g");
    ship(&pg);
    std::thread::sleep(std::time::Duration::from_millis(1100));
    crate::harness::ok(
        ours(&s3, &home, &config, &["backup", "pg", "--wait"]),
        "second backup",
    );
    ship(&pg);
    write_config(
        &home,
        &config,
        &format!(
            "conninfo = {}\nimmediate_checkpoint = true\nretention_policy = REDUNDANCY 1\n",
            pg.conninfo()
        ),
    );
    let run = crate::harness::ok(ours(&s3, &home, &config, &["cron"]), "cron");
    crate::harness::wait_until("retention applied", || {
        !s3.keys(BUCKET).iter().any(|k| k.contains(&first))
    });
    let keys = s3.keys(BUCKET);
    assert!(
        !keys
            .iter()
            .any(|k| k.ends_with("/000000010000000000000007")),
        "{keys:?}\n{}\n{}",
        run.stdout,
        run.stderr
    );
    let args = ["list-backups", "pg"];
    let (mine, theirs) = (
        ours(&s3, &home, &config, &args),
        pythons(&s3, &home, &config, &args),
    );
    assert_eq!(mine.stdout, theirs.stdout);
    assert_eq!(mine.stdout.lines().count(), 1, "{}", mine.stdout);
}
