//! Barman 3.20's own cloud WAL storage (`wals_directory = s3://…`, `backup_method =
//! local-to-cloud`): `barman cloud-wal-archive`, `barman cloud-wal-restore`, check's
//! `cloud storage configuration` line and a restore whose cluster fetches its WALs from
//! the cloud, ours and Python Barman 3.20.1 side by side on the same configuration and
//! bucket (moto on loopback).

use crate::harness::python_barman;
use crate::harness::s3::{self, S3Server};
use crate::harness::{BarmanHome, Run};
use crate::require;
use std::path::Path;
use std::process::Command;

const BUCKET: &str = "barman";

fn ready() -> bool {
    python_barman::available() && crate::harness::available(s3::REQUIREMENT, s3::available())
}

/// `cmd` talking to `s3` as boto3 would find it from the environment.
fn with_s3<'a>(s3: &S3Server, cmd: &'a mut Command) -> &'a mut Command {
    s3.env(cmd).env("AWS_ENDPOINT_URL", s3.endpoint())
}

fn ours(home: &BarmanHome, s3: &S3Server, args: &[&str]) -> Run {
    Run::of(with_s3(s3, &mut home.barman()).args(args))
}

fn pythons(home: &BarmanHome, s3: &S3Server, args: &[&str]) -> Run {
    Run::of(with_s3(s3, &mut home.python_barman()).args(args))
}

/// Both implementations: same exit code and output, ours returned.
fn same(home: &BarmanHome, s3: &S3Server, args: &[&str]) -> Run {
    let theirs = pythons(home, s3, args);
    let mine = ours(home, s3, args);
    assert_eq!(
        (mine.code, &mine.stdout, &mine.stderr),
        (theirs.code, &theirs.stdout, &theirs.stderr),
        "barman {args:?}: ours then Python's"
    );
    mine
}

/// A segment-sized file of pseudo-random bytes.
fn write_segment(path: &Path, seed: u32) {
    let mut x = seed;
    let data: Vec<u8> = (0..(1 << 20))
        .map(|i| {
            x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
            if i % 5 == 0 {
                (x >> 16) as u8
            } else {
                0
            }
        })
        .collect();
    std::fs::write(path, data).unwrap();
}

/// Logs go to a file, so both implementations print only their console messages.
fn log_file(home: &BarmanHome) -> String {
    format!("log_file = {}", home.dir().join("barman.log").display())
}

fn cloud_server(extra: &str) -> String {
    format!(
        "conninfo = host=127.0.0.1 port=1 user=postgres dbname=postgres connect_timeout=1\n\
         backup_method = local-to-cloud\narchiver = on\n\
         wals_directory = s3://{BUCKET}/prefix\n{extra}"
    )
}

#[test]
fn cloud_barman_wal_commands_and_check_match_python_each_reading_the_other() {
    require!(python_barman::REQUIREMENT, ready());
    let s3 = S3Server::start(true);
    s3.create_bucket(BUCKET);
    let home = BarmanHome::new();
    home.write_config(
        &log_file(&home),
        &[
            ("pg", &cloud_server("compression = gzip\n")),
            (
                "local",
                "conninfo = host=127.0.0.1 port=1\nbackup_method = postgres\narchiver = on\n",
            ),
            (
                "rsync",
                &cloud_server("backup_method = rsync\nssh_command = ssh pg\n"),
            ),
        ],
    );
    let wal = home.dir().join("pg_wal");
    std::fs::create_dir_all(wal.join("archive_status")).unwrap();
    let (first, second) = ("000000010000000000000002", "000000010000000000000003");
    write_segment(&wal.join(first), 1);
    write_segment(&wal.join(second), 2);
    let path = |name: &str| wal.join(name).to_string_lossy().into_owned();
    // Refusals, before and after the server is looked up.
    for args in [
        vec!["cloud-wal-archive", "pg", wal.to_str().unwrap()],
        vec!["cloud-wal-archive", "pg", &path("000000010000000000000009")],
        vec!["cloud-wal-archive", "nosuch", &path(first)],
        vec!["cloud-wal-archive", "local", &path(first)],
        vec!["cloud-wal-archive", "rsync", &path(first)],
        vec!["cloud-wal-restore", "pg", "foo", "/tmp/x"],
        vec!["cloud-wal-restore", "local", first, "/tmp/x"],
        vec![
            "cloud-wal-restore",
            "pg",
            "000000010000000000000009",
            "/tmp/x",
        ],
        vec!["get-wal", "pg", first],
    ] {
        let run = same(&home, &s3, &args);
        assert_eq!(run.code, 1, "{args:?}: {}", run.stderr);
    }
    // Ours archives the first segment, Python the second: one layout, one xlog.db format.
    ours(&home, &s3, &["cloud-wal-archive", "pg", &path(first)]).ok();
    pythons(&home, &s3, &["cloud-wal-archive", "pg", &path(second)]).ok();
    let keys = s3.keys(BUCKET);
    for name in [first, second] {
        assert!(
            keys.contains(&format!("prefix/pg/wals/0000000100000000/{name}.gz")),
            "{keys:?}"
        );
    }
    // Each archives the other's again: an identical object is no error, and is listed again.
    ours(&home, &s3, &["cloud-wal-archive", "pg", &path(second)]).ok();
    pythons(&home, &s3, &["cloud-wal-archive", "pg", &path(first)]).ok();
    let db = std::fs::read_to_string(home.server_dir("pg").join("meta/pg-xlog.db")).unwrap();
    let names: Vec<&str> = db.lines().map(|l| l.split('\t').next().unwrap()).collect();
    assert_eq!(names, [first, second, second, first], "{db}");
    // Plain size and no compression recorded, as Barman records the file in pg_wal.
    assert!(
        db.lines().all(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            f.len() == 5 && f[1] == "1048576" && f[3..] == ["None", "None"]
        }),
        "{db}"
    );
    // rebuild-xlogdb refuses a cloud archive and keeps the catalog.
    let rebuild = same(&home, &s3, &["rebuild-xlogdb", "pg"]);
    assert_eq!(rebuild.code, 1);
    let kept = std::fs::read_to_string(home.server_dir("pg").join("meta/pg-xlog.db")).unwrap();
    assert_eq!(kept, db);
    // Each restores what the other archived.
    for (restore, name) in [("ours", second), ("python", first)] {
        let dest = home.dir().join(format!("restored-{name}"));
        let args = ["cloud-wal-restore", "pg", name, dest.to_str().unwrap()];
        match restore {
            "ours" => ours(&home, &s3, &args).ok(),
            _ => pythons(&home, &s3, &args).ok(),
        };
        assert!(std::fs::read(&dest).unwrap() == std::fs::read(wal.join(name)).unwrap());
    }
    // check: the same lines, `cloud storage configuration` among them.
    let check = same(&home, &s3, &["check", "pg"]);
    assert!(
        check.stdout.contains("\tcloud storage configuration: OK\n"),
        "{}",
        check.stdout
    );
    assert!(!home.server_dir("pg").join("wals").exists());
    let rsync = same(&home, &s3, &["check", "rsync"]);
    assert!(
        rsync.stdout.contains("cloud storage configuration: OK"),
        "{}",
        rsync.stdout
    );
    same(&home, &s3, &["show-servers", "pg"]);
}

#[test]
fn cloud_barman_check_fails_on_settings_and_an_unreachable_store_as_python() {
    require!(python_barman::REQUIREMENT, ready());
    let mut s3 = S3Server::start(false);
    s3.create_bucket(BUCKET);
    let home = BarmanHome::new();
    home.write_config(
        &log_file(&home),
        &[
            ("pigz", &cloud_server("compression = pigz\n")),
            ("worm", &cloud_server("worm_mode = on\n")),
            (
                "base",
                &cloud_server("basebackups_directory = s3://barman/base\nbackup_method = rsync\nssh_command = ssh pg\n"),
            ),
        ],
    );
    for server in ["pigz", "worm", "base"] {
        let run = same(&home, &s3, &["check", server]);
        assert!(
            run.stdout.contains("cloud storage configuration: FAILED"),
            "{}",
            run.stdout
        );
    }
    s3.stop();
    home.write_config(&log_file(&home), &[("pg", &cloud_server(""))]);
    let run = same(&home, &s3, &["check", "pg"]);
    assert!(
        run.stdout.contains(
            "cloud storage configuration: FAILED (Could not connect to the cloud provider for WAL storage"
        ),
        "{}",
        run.stdout
    );
}

#[test]
fn cloud_barman_parallel_archive_prefetches_ready_segments_as_python() {
    require!(python_barman::REQUIREMENT, ready());
    // Ours talks to a server that keeps connections alive, as S3 does. Python's cannot:
    // Barman 3.20 archives the requested segment, then forks its prefetch workers, which
    // go on with the parent's boto3 client and so share its pooled keep-alive socket; two
    // workers' requests then interleave on it. Against the keep-alive server a third of the
    // runs stalled 60 s (the read timeout), failed a worker, or lost a segment: listed in
    // Python's xlog.db and its cache, absent from the bucket. Python's gets a server that
    // closes every connection, where its workers each open their own.
    let s3 = S3Server::start(false);
    let s3_closing = S3Server::start_closing_connections();
    s3.create_bucket(BUCKET);
    s3_closing.create_bucket(BUCKET);
    let home = BarmanHome::new();
    home.write_config(
        &log_file(&home),
        &[("mine", &cloud_server("")), ("theirs", &cloud_server(""))],
    );
    let wal = home.dir().join("pg_wal");
    std::fs::create_dir_all(wal.join("archive_status")).unwrap();
    let names: Vec<String> = (4..=8)
        .map(|n| format!("0000000100000000000000{n:02X}"))
        .collect();
    for (i, name) in names.iter().enumerate() {
        write_segment(&wal.join(name), i as u32 + 10);
        // Segments 4 to 7 are ready; 8 is not: prefetching stops at the gap.
        if i < 4 {
            std::fs::write(wal.join("archive_status").join(format!("{name}.ready")), "").unwrap();
        }
    }
    let path = |name: &str| wal.join(name).to_string_lossy().into_owned();
    let catalog = |server: &str| {
        let db = home
            .server_dir(server)
            .join("meta")
            .join(format!("{server}-xlog.db"));
        let text = std::fs::read_to_string(db).unwrap_or_default();
        text.lines()
            .map(|l| l.split('\t').next().unwrap().to_string())
            .collect::<Vec<_>>()
    };
    for (server, run, s3) in [
        (
            "mine",
            ours as fn(&BarmanHome, &S3Server, &[&str]) -> Run,
            &s3,
        ),
        ("theirs", pythons, &s3_closing),
    ] {
        // -p 3: the requested segment and the next two ready ones.
        run(
            &home,
            s3,
            &["cloud-wal-archive", "-p", "3", server, &path(&names[0])],
        )
        .ok();
        assert_eq!(catalog(server), names[..3], "{server}");
        let cache = home.server_dir(server).join("meta/cloud-wal-last-archived");
        assert_eq!(
            std::fs::read_to_string(cache).unwrap(),
            names[2],
            "{server}"
        );
        // PostgreSQL then asks for the prefetched ones: nothing to do, nothing listed twice.
        run(
            &home,
            s3,
            &["cloud-wal-archive", "-p", "3", server, &path(&names[1])],
        )
        .ok();
        assert_eq!(catalog(server), names[..3], "{server}");
        // The next one past the cache is archived, with what is ready after it.
        run(
            &home,
            s3,
            &["cloud-wal-archive", "-p", "3", server, &path(&names[3])],
        )
        .ok();
        assert_eq!(catalog(server), names[..4], "{server}");
    }
    let objects = |server: &str, s3: &S3Server| {
        s3.keys(BUCKET)
            .into_iter()
            .filter_map(|k| {
                k.strip_prefix(&format!("prefix/{server}/wals/"))
                    .map(str::to_string)
            })
            .collect::<Vec<_>>()
    };
    let expected: Vec<String> = names[..4]
        .iter()
        .map(|n| format!("0000000100000000/{n}"))
        .collect();
    assert_eq!(objects("mine", &s3), expected);
    assert_eq!(objects("theirs", &s3_closing), expected);
}

#[test]
fn cloud_barman_archive_wal_ships_incoming_files_to_the_bucket_as_python() {
    require!(python_barman::REQUIREMENT, ready());
    let s3 = S3Server::start(false);
    s3.create_bucket(BUCKET);
    let home = BarmanHome::new();
    home.write_config(
        &log_file(&home),
        &[
            ("mine", &cloud_server("compression = gzip\n")),
            ("theirs", &cloud_server("compression = gzip\n")),
        ],
    );
    let names = ["000000010000000000000002", "000000010000000000000003"];
    let mut outputs = Vec::new();
    for server in ["mine", "theirs"] {
        let incoming = home.server_dir(server).join("incoming");
        std::fs::create_dir_all(&incoming).unwrap();
        for (i, name) in names.iter().enumerate() {
            write_segment(&incoming.join(name), i as u32 + 40);
        }
        let run = match server {
            "mine" => ours(&home, &s3, &["archive-wal", server]),
            _ => pythons(&home, &s3, &["archive-wal", server]),
        };
        assert_eq!(run.code, 0, "{}", run.stderr);
        assert_eq!(std::fs::read_dir(&incoming).unwrap().count(), 0, "{server}");
        let db = home
            .server_dir(server)
            .join(format!("meta/{server}-xlog.db"));
        // name, compression, encryption (the time is the file's); the size is the stored
        // one (gzip bytes differ between zlib and ours, so only "compressed" is compared).
        let lines: Vec<Vec<String>> = std::fs::read_to_string(db)
            .unwrap()
            .lines()
            .map(|l| {
                let f: Vec<&str> = l.split('\t').collect();
                assert!(f[1].parse::<u64>().unwrap() < 1 << 19, "{l}");
                [f[0], f[3], f[4]].map(String::from).to_vec()
            })
            .collect();
        outputs.push((run.stdout.replace(server, "SERVER"), lines));
    }
    assert_eq!(outputs[0], outputs[1]);
    assert_eq!(outputs[0].1[0][1], "gzip");
    let objects = |server: &str| {
        s3.keys(BUCKET)
            .into_iter()
            .filter_map(|k| {
                k.strip_prefix(&format!("prefix/{server}/"))
                    .map(str::to_string)
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(objects("mine"), objects("theirs"));
    // Each restores the other's with get-wal's cloud counterpart.
    let dest = home.dir().join("from-python");
    ours(
        &home,
        &s3,
        &[
            "cloud-wal-restore",
            "theirs",
            names[1],
            dest.to_str().unwrap(),
        ],
    )
    .ok();
    write_segment(&home.dir().join("expected"), 41);
    assert!(std::fs::read(&dest).unwrap() == std::fs::read(home.dir().join("expected")).unwrap());
}

#[test]
fn cloud_barman_archive_hooks_see_what_pythons_see() {
    require!(python_barman::REQUIREMENT, ready());
    use std::os::unix::fs::PermissionsExt;
    let s3 = S3Server::start(false);
    s3.create_bucket(BUCKET);
    let home = BarmanHome::new();
    let hook = home.dir().join("hook.sh");
    std::fs::write(
        &hook,
        format!(
            "#!/bin/sh\nenv | grep ^BARMAN_ | grep -v '^BARMAN_CONFIGURATION=\\|^BARMAN_SERVER=' | sort > {}/hook.$BARMAN_PHASE.$BARMAN_SERVER\n",
            home.dir().display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&hook, std::fs::Permissions::from_mode(0o755)).unwrap();
    let hooks = format!(
        "compression = gzip\npre_archive_script = {0}\npost_archive_retry_script = {0}\n",
        hook.display()
    );
    home.write_config(
        &log_file(&home),
        &[
            ("mine", &cloud_server(&hooks)),
            ("theirs", &cloud_server(&hooks)),
        ],
    );
    let wal = home.dir().join("000000010000000000000004");
    write_segment(&wal, 7);
    ours(
        &home,
        &s3,
        &["cloud-wal-archive", "mine", wal.to_str().unwrap()],
    )
    .ok();
    pythons(
        &home,
        &s3,
        &["cloud-wal-archive", "theirs", wal.to_str().unwrap()],
    )
    .ok();
    for phase in ["pre", "post"] {
        // The stored size differs only because zlib's gzip bytes are not ours.
        let read = |server: &str| {
            std::fs::read_to_string(home.dir().join(format!("hook.{phase}.{server}")))
                .unwrap()
                .lines()
                .filter(|l| phase == "pre" || !l.starts_with("BARMAN_SIZE="))
                .map(str::to_string)
                .collect::<Vec<_>>()
        };
        assert_eq!(read("mine"), read("theirs"), "{phase}");
        assert!(read("mine")
            .iter()
            .any(|l| l == "BARMAN_HOOK=archive_script" || l == "BARMAN_HOOK=archive_retry_script"));
    }
}
