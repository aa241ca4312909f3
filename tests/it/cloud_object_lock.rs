//! barman-cloud-backup-delete `--check-object-lock` side by side with Python's
//! barman-cli-cloud 3.20.1, on a moto bucket with S3 Object Lock enabled and backups taken
//! by Python's barman-cloud-backup of a real PostgreSQL: a backup whose archive is under
//! retention, and one under a legal hold, are kept by both tools with the same messages
//! and exit code (without the check, S3 would take the deletion as a delete marker and the
//! backup would leave the catalog while its data stays locked); an unlocked backup is
//! deleted.

use crate::harness::s3::{self, python_tool as python, run, S3Server};
use crate::require;
use std::path::PathBuf;

const URL: &str = "s3://locked/cluster";

fn ready() -> bool {
    crate::harness::pg_cluster::pg_available() && s3::peers_ready()
}

fn ours() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_barman-cloud-backup-delete"))
}

/// Log lines without their time stamp and pid.
fn messages(stderr: &str) -> Vec<String> {
    stderr
        .lines()
        .map(|l| match l.find("] ") {
            Some(i) if l.starts_with("20") => l[i + 2..].to_string(),
            _ => l.to_string(),
        })
        .collect()
}

/// The backup ids Python lists, oldest first.
fn listed(s3: &S3Server) -> Vec<String> {
    let list = run(s3, &python("barman-cloud-backup-list"), &[URL, "pg"]);
    list.stdout
        .lines()
        .skip(1)
        .filter_map(|l| l.split_whitespace().next().map(str::to_string))
        .collect()
}

#[test]
fn cloud_object_lock_keeps_locked_backups_as_python() {
    require!("PostgreSQL, Python barman-cloud and moto", ready());
    let s3 = S3Server::start(false);
    s3.python(
        "import boto3\n\
         s3 = boto3.client('s3', endpoint_url=URL, aws_access_key_id=KEY, aws_secret_access_key=SECRET, region_name='us-east-1')\n\
         s3.create_bucket(Bucket='locked', ObjectLockEnabledForBucket=True)\n",
    );
    let pg = crate::harness::pg_cluster::PgCluster::start(Default::default());
    for _ in 0..3 {
        let socket = pg.socket_dir().display().to_string();
        let port = pg.port().to_string();
        crate::harness::ok(
            run(
                &s3,
                &python("barman-cloud-backup"),
                &[
                    "-h",
                    &socket,
                    "-p",
                    &port,
                    "-U",
                    "postgres",
                    "--immediate-checkpoint",
                    URL,
                    "pg",
                ],
            ),
            "python barman-cloud-backup",
        );
        // Backup ids are per second.
        std::thread::sleep(std::time::Duration::from_millis(1100));
    }
    let ids = listed(&s3);
    assert_eq!(ids.len(), 3);
    // The first backup's archive under retention until 2099, the second's under a legal hold.
    s3.python(&format!(
        "import boto3, datetime\n\
         s3 = boto3.client('s3', endpoint_url=URL, aws_access_key_id=KEY, aws_secret_access_key=SECRET, region_name='us-east-1')\n\
         until = datetime.datetime(2099, 1, 1, tzinfo=datetime.timezone.utc)\n\
         s3.put_object_retention(Bucket='locked', Key='cluster/pg/base/{}/data.tar', Retention={{'Mode': 'GOVERNANCE', 'RetainUntilDate': until}})\n\
         s3.put_object_legal_hold(Bucket='locked', Key='cluster/pg/base/{}/data.tar', LegalHold={{'Status': 'ON'}})\n",
        ids[0], ids[1]
    ));
    let reasons = [
        "Object is locked and can't be deleted until 2099-01-01 00:00:00+00:00",
        "Object has a legal hold and can't be deleted until the legal hold is removed",
    ];
    for (id, reason) in ids.iter().zip(reasons) {
        let args = ["--check-object-lock", "-b", id.as_str(), URL, "pg"];
        let mine = run(&s3, &ours(), &args);
        let theirs = run(&s3, &python("barman-cloud-backup-delete"), &args);
        assert_eq!(mine.code, theirs.code, "{}\n{}", mine.stderr, theirs.stderr);
        assert_ne!(mine.code, 0);
        assert_eq!(messages(&mine.stderr), messages(&theirs.stderr));
        assert_eq!(
            messages(&mine.stderr),
            [
                format!("ERROR: Cannot delete locked object cluster/pg/base/{id}/data.tar: {reason}"),
                format!("ERROR: Could not delete backup {id}: Error from cloud provider while deleting objects - please check the command output."),
            ]
        );
        assert_eq!(listed(&s3), ids, "the locked backup stays listed");
    }
    // Nothing holds the third: deleted by ours with the check, as by Python.
    let args = ["--check-object-lock", "-b", ids[2].as_str(), URL, "pg"];
    crate::harness::ok(run(&s3, &ours(), &args), "ours deletes the unlocked backup");
    assert_eq!(listed(&s3), ids[..2]);
}
