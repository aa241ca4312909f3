//! `backup` against a real PostgreSQL 15 with a tablespace: the postgres method
//! (pg_basebackup), local-rsync twice with `reuse_backup = link` (unchanged files are hard
//! links), rsync over the harness's sshd with two jobs, a killed copy that leaves a FAILED
//! backup and every earlier backup untouched, and a changed system id refused. Python
//! Barman 3.20.1 reads every backup we took.

use crate::harness::pg_cluster::{pg_available, PgOptions};
use crate::harness::sshd::{ssh_available, Sshd};
use crate::harness::{python_barman, BarmanHome, PgCluster};
use crate::require;
use std::path::{Path, PathBuf};

struct Lab {
    home: BarmanHome,
    pg: PgCluster,
    tablespace: PathBuf,
}

/// A cluster archiving into the barman home's incoming folder, with a tablespace and rows.
fn lab(server_extra: &dyn Fn(&PgCluster) -> String) -> Lab {
    let home = BarmanHome::new();
    let command = crate::harness::incoming_archive_command(&home);
    let pg = PgCluster::start(
        PgOptions {
            wal_segsize_mb: Some(1),
            data_checksums: true,
            ..PgOptions::default()
        }
        .set("archive_mode", "on")
        .set("archive_command", &command),
    );
    let tablespace = pg.create_tablespace("tbs1");
    pg.execute("CREATE TABLE t (i int, filler text) TABLESPACE tbs1");
    pg.execute("INSERT INTO t SELECT g, repeat('x', 200) FROM generate_series(1, 20000) g");
    pg.execute("CREATE TABLE u AS SELECT g AS i FROM generate_series(1, 50000) g");
    let extra = server_extra(&pg);
    home.write_config(
        "",
        &[(
            "pg",
            &format!(
                "conninfo = {}\narchiver = on\nimmediate_checkpoint = true\n{extra}",
                pg.conninfo()
            ),
        )],
    );
    Lab {
        home,
        pg,
        tablespace,
    }
}

fn backup_ids(home: &BarmanHome) -> Vec<String> {
    let meta = home.home().join("pg/meta");
    let mut ids: Vec<String> = std::fs::read_dir(meta)
        .map(|d| {
            d.filter_map(|e| {
                let name = e.ok()?.file_name().to_string_lossy().into_owned();
                name.strip_suffix("-backup.info").map(str::to_string)
            })
            .collect()
        })
        .unwrap_or_default();
    ids.sort();
    ids
}

fn info_field(home: &BarmanHome, id: &str, key: &str) -> String {
    let text =
        std::fs::read_to_string(home.home().join(format!("pg/meta/{id}-backup.info"))).unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{key}=")))
        .unwrap_or_else(|| panic!("{key} missing in {text}"))
        .to_string()
}

/// Python Barman lists the backup with the status we recorded.
fn python_lists(home: &BarmanHome, id: &str) {
    let Some(run) = home.run_python(&["list-backups", "pg", "--minimal"]) else {
        return;
    };
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stdout.lines().any(|l| l == id), "{}", run.stdout);
    let show = home
        .run_python(&["-f", "json", "show-backup", "pg", id])
        .unwrap();
    assert_eq!(show.code, 0, "{}", show.stderr);
    let doc: serde_json::Value = serde_json::from_str(&show.stdout).unwrap();
    assert_eq!(doc["pg"]["backup_id"], id);
}

fn count_linked(dir: &Path) -> (usize, usize) {
    use std::os::unix::fs::MetadataExt;
    let (mut files, mut linked) = (0, 0);
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(d).unwrap() {
            let e = e.unwrap();
            let meta = std::fs::symlink_metadata(e.path()).unwrap();
            if meta.is_dir() {
                stack.push(e.path());
            } else if meta.is_file() {
                files += 1;
                if meta.nlink() > 1 {
                    linked += 1;
                }
            }
        }
    }
    (files, linked)
}

/// The common checks of a completed backup: files, tablespace, label, fields.
fn check_backup(lab: &Lab, id: &str, mode: &str) {
    let base = lab.home.home().join(format!("pg/base/{id}"));
    assert!(base.join("data/PG_VERSION").is_file());
    assert!(base.join("data/global/pg_control").is_file());
    assert!(base.join("data/backup_label").is_file());
    assert!(!base.join("data/postmaster.pid").exists());
    let oid = lab
        .pg
        .query_scalar("SELECT oid FROM pg_tablespace WHERE spcname = 'tbs1'");
    let tbs = base.join(&oid);
    let version_dir = std::fs::read_dir(&tbs)
        .unwrap()
        .next()
        .expect("tablespace copied")
        .unwrap()
        .file_name();
    assert!(version_dir.to_string_lossy().starts_with("PG_15_"));
    assert_eq!(info_field(&lab.home, id, "mode"), mode);
    assert_eq!(
        info_field(&lab.home, id, "tablespaces"),
        format!("[('tbs1', {oid}, '{}')]", lab.tablespace.display())
    );
    assert_eq!(info_field(&lab.home, id, "data_checksums"), "on");
    assert_eq!(
        info_field(&lab.home, id, "version"),
        lab.pg.query_scalar("SHOW server_version_num")
    );
    assert_eq!(
        info_field(&lab.home, id, "systemid"),
        lab.pg
            .query_scalar("SELECT system_identifier::text FROM pg_control_system()")
    );
    assert!(info_field(&lab.home, id, "begin_wal").len() == 24);
    assert!(info_field(&lab.home, id, "end_wal") >= info_field(&lab.home, id, "begin_wal"));
    assert!(info_field(&lab.home, id, "size").parse::<u64>().unwrap() > 1_000_000);
    let label = std::fs::read_to_string(base.join("data/backup_label")).unwrap();
    assert!(label.starts_with("START WAL LOCATION: "), "{label}");
    let identity = std::fs::read_to_string(lab.home.home().join("pg/identity.json")).unwrap();
    assert!(identity.contains(&info_field(&lab.home, id, "systemid")));
    python_lists(&lab.home, id);
}

#[test]
fn backup_postgres_method_copies_data_and_tablespace() {
    require!("PostgreSQL 15", pg_available());
    let lab = lab(&|pg| {
        format!(
            "backup_method = postgres\nstreaming_conninfo = {}\n",
            pg.conninfo()
        )
    });
    let run = lab.home.run(&["backup", "pg"]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert!(
        run.stdout
            .contains("Starting backup using postgres method for server pg"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("Starting backup copy via pg_basebackup for"),
        "{}",
        run.stdout
    );
    let ids = backup_ids(&lab.home);
    assert_eq!(ids.len(), 1);
    let id = &ids[0];
    check_backup(&lab, id, "postgres");
    assert!(info_field(&lab.home, id, "copy_stats").starts_with("{'copy_time': "));
    assert!(info_field(&lab.home, id, "backup_label").contains("BACKUP METHOD: streamed"));
    // pg_basebackup maps the tablespace into the backup: the symlink points inside it.
    let oid = lab
        .pg
        .query_scalar("SELECT oid FROM pg_tablespace WHERE spcname = 'tbs1'");
    let link = std::fs::read_link(
        lab.home
            .home()
            .join(format!("pg/base/{id}/data/pg_tblspc/{oid}")),
    )
    .unwrap();
    assert!(
        link.starts_with(lab.home.home().join(format!("pg/base/{id}"))),
        "{link:?}"
    );
}

#[test]
fn backup_local_rsync_reuses_unchanged_files_with_links() {
    require!("PostgreSQL 15", pg_available());
    let lab = lab(&|_| "backup_method = local-rsync\nreuse_backup = link\n".to_string());
    let first = lab.home.run(&["backup", "pg", "--name", "first rsync"]);
    assert_eq!(first.code, 0, "{}\n{}", first.stdout, first.stderr);
    assert!(
        first
            .stdout
            .contains("Starting backup copy via local rsync for"),
        "{}",
        first.stdout
    );
    lab.pg
        .execute("INSERT INTO u SELECT g FROM generate_series(1, 1000) g");
    let second = lab.home.run(&["backup", "pg", "-j", "2"]);
    assert_eq!(second.code, 0, "{}\n{}", second.stdout, second.stderr);
    assert!(
        second.stdout.contains("deduplication ratio"),
        "{}",
        second.stdout
    );
    let ids = backup_ids(&lab.home);
    assert_eq!(ids.len(), 2, "{ids:?}");
    check_backup(&lab, &ids[0], "rsync-concurrent");
    check_backup(&lab, &ids[1], "rsync-concurrent");
    assert_eq!(info_field(&lab.home, &ids[0], "backup_name"), "first rsync");
    let (files, linked) = count_linked(&lab.home.home().join(format!("pg/base/{}", ids[1])));
    assert!(linked > files / 2, "{linked} of {files} files linked");
    let size: u64 = info_field(&lab.home, &ids[1], "size").parse().unwrap();
    let dedup: u64 = info_field(&lab.home, &ids[1], "deduplicated_size")
        .parse()
        .unwrap();
    assert!(dedup < size / 2, "deduplicated {dedup} of {size}");
    assert!(info_field(&lab.home, &ids[1], "copy_stats").contains("'number_of_workers': 2"));
}

#[test]
fn backup_rsync_over_ssh_with_two_jobs() {
    require!("PostgreSQL 15", pg_available());
    require!("sshd", ssh_available());
    let sshd = Sshd::start("postgres");
    let command = sshd.ssh_command();
    let lab = lab(&|_| {
        format!("backup_method = rsync\nssh_command = {command}\nparallel_jobs = 2\nnetwork_compression = true\n")
    });
    // A home of its own: the shared ssh master's socket goes in its ~/.cache/barman-ssh.
    let ssh_home = tempfile::Builder::new()
        .prefix("h")
        .tempdir_in("/tmp")
        .unwrap();
    let run = crate::harness::Run::of(
        lab.home
            .barman()
            .args(["backup", "pg"])
            .env("HOME", ssh_home.path())
            .env_remove("XDG_RUNTIME_DIR"),
    );
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert!(
        run.stdout
            .contains("Starting backup copy via rsync/SSH for"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("(2 jobs)"), "{}", run.stdout);
    // Barman connects eight times: the ssh check, then for the tablespace and for PGDATA a
    // listing and two streams, then pg_control. Ours shares one master among all but each
    // item's second stream.
    assert_eq!(sshd.accepted_connections(), 3, "ssh connections");
    let ids = backup_ids(&lab.home);
    check_backup(&lab, &ids[0], "rsync-concurrent");
}

/// Kill with SIGKILL the `program` process working for this test's barman home (other
/// tests run their own rsync at the same time).
fn kill_when_running(program: &str, home: &BarmanHome) -> std::thread::JoinHandle<bool> {
    let pattern = format!("^[^ ]*{program} .*{}", home.home().display());
    std::thread::spawn(move || {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        while std::time::Instant::now() < deadline {
            let killed = std::process::Command::new("pkill")
                .args(["-9", "-f", &pattern])
                .status()
                .map(|s| s.success())
                .unwrap_or(false);
            if killed {
                return true;
            }
            std::thread::sleep(std::time::Duration::from_millis(200));
        }
        false
    })
}

#[test]
fn backup_killed_rsync_leaves_a_failed_backup_and_earlier_ones_intact() {
    require!("PostgreSQL 15", pg_available());
    let lab = lab(&|_| "backup_method = local-rsync\n".to_string());
    let first = lab.home.run(&["backup", "pg"]);
    assert_eq!(first.code, 0, "{}\n{}", first.stdout, first.stderr);
    let before = std::fs::read_to_string(
        lab.home
            .home()
            .join(format!("pg/meta/{}-backup.info", backup_ids(&lab.home)[0])),
    )
    .unwrap();
    // A slow copy (bandwidth limit), killed once rsync runs.
    let killer = kill_when_running("rsync", &lab.home);
    let run = lab.home.run(&["backup", "pg", "--bwlimit", "200"]);
    assert!(killer.join().unwrap(), "rsync never ran");
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    assert!(
        run.stderr.contains("ERROR: Backup failed copying files."),
        "{}",
        run.stderr
    );
    let ids = backup_ids(&lab.home);
    assert_eq!(ids.len(), 2);
    assert_eq!(info_field(&lab.home, &ids[1], "status"), "FAILED");
    assert!(
        info_field(&lab.home, &ids[1], "error").starts_with("failure copying files (rsync error"),
        "{}",
        info_field(&lab.home, &ids[1], "error")
    );
    let after = std::fs::read_to_string(
        lab.home
            .home()
            .join(format!("pg/meta/{}-backup.info", ids[0])),
    )
    .unwrap();
    assert_eq!(before, after);
    // The server is not left in backup mode: a new backup starts and completes.
    let again = lab.home.run(&["backup", "pg"]);
    assert_eq!(again.code, 0, "{}\n{}", again.stdout, again.stderr);
    let py = lab.home.run_python(&["list-backups", "pg"]);
    if let Some(py) = py {
        assert!(
            py.stdout.contains(&format!("pg {} - R - FAILED", ids[1])),
            "{}",
            py.stdout
        );
    }
}

#[test]
fn backup_killed_pg_basebackup_leaves_a_failed_backup() {
    require!("PostgreSQL 15", pg_available());
    let lab = lab(&|pg| {
        format!(
            "backup_method = postgres\nstreaming_conninfo = {}\nbandwidth_limit = 100\n",
            pg.conninfo()
        )
    });
    let killer = kill_when_running("pg_basebackup", &lab.home);
    let run = lab.home.run(&["backup", "pg"]);
    assert!(killer.join().unwrap(), "pg_basebackup never ran");
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    let ids = backup_ids(&lab.home);
    assert_eq!(info_field(&lab.home, &ids[0], "status"), "FAILED");
    assert!(
        info_field(&lab.home, &ids[0], "error")
            .starts_with("failure copying files (data transfer failure on directory"),
        "{}",
        info_field(&lab.home, &ids[0], "error")
    );
}

#[test]
fn backup_refuses_a_server_whose_system_id_changed() {
    require!("PostgreSQL 15", pg_available());
    let lab = lab(&|_| "backup_method = local-rsync\n".to_string());
    std::fs::create_dir_all(lab.home.home().join("pg")).unwrap();
    std::fs::write(
        lab.home.home().join("pg/identity.json"),
        "{\n    \"systemid\": \"1\",\n    \"version\": \"15\"\n}\n",
    )
    .unwrap();
    let run = lab.home.run(&["backup", "pg"]);
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    assert!(backup_ids(&lab.home).is_empty());
}

/// Python Barman and we take backups of the same server into the same catalog: each
/// reuses the other's previous backup, both list both, and our backup.info has exactly
/// the fields Python writes, with values of the same shape.
#[test]
fn backup_interop_with_python_barman_in_one_catalog() {
    require!("PostgreSQL 15", pg_available());
    require!(python_barman::REQUIREMENT, python_barman::available());
    let lab = lab(&|_| "backup_method = local-rsync\nreuse_backup = link\n".to_string());
    let py = lab.home.run_python(&["backup", "pg"]).unwrap();
    assert_eq!(py.code, 0, "{}\n{}", py.stdout, py.stderr);
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let ours = lab.home.run(&["backup", "pg"]);
    assert_eq!(ours.code, 0, "{}\n{}", ours.stdout, ours.stderr);
    let ids = backup_ids(&lab.home);
    assert_eq!(ids.len(), 2, "{ids:?}");
    let (theirs, mine) = (&ids[0], &ids[1]);
    let fields = |id: &str| -> Vec<(String, String)> {
        std::fs::read_to_string(lab.home.home().join(format!("pg/meta/{id}-backup.info")))
            .unwrap()
            .lines()
            .map(|l| {
                let (k, v) = l.split_once('=').unwrap();
                (k.to_string(), v.to_string())
            })
            .collect()
    };
    let (a, b) = (fields(theirs), fields(mine));
    let keys = |f: &[(String, String)]| f.iter().map(|(k, _)| k.clone()).collect::<Vec<_>>();
    assert_eq!(keys(&a), keys(&b));
    for ((key, x), (_, y)) in a.iter().zip(&b) {
        let same_shape = match key.as_str() {
            "begin_time" | "end_time" => x.len().abs_diff(y.len()) <= 7 && y.contains('+'),
            "copy_stats" => y.starts_with("{'total_time': "),
            "backup_label" => y.starts_with("'START WAL LOCATION: "),
            "begin_wal" | "end_wal" => y.len() == 24,
            "begin_xlog" | "end_xlog" => y.contains('/'),
            "size" | "deduplicated_size" | "begin_offset" | "end_offset" | "cluster_size" => {
                y.parse::<u64>().is_ok()
            }
            "status" => y == "DONE" || y == "WAITING_FOR_WALS",
            _ => x == y,
        };
        assert!(same_shape, "{key}: python {x:?} vs ours {y:?}");
    }
    // Our second backup linked Python's files.
    let (files, linked) = count_linked(&lab.home.home().join(format!("pg/base/{mine}")));
    assert!(linked > files / 2, "{linked} of {files} files linked");
    // And Python Barman's next backup reuses ours.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let py2 = lab.home.run_python(&["backup", "pg"]).unwrap();
    assert_eq!(py2.code, 0, "{}\n{}", py2.stdout, py2.stderr);
    let listed = lab
        .home
        .run_python(&["list-backups", "pg", "--minimal"])
        .unwrap();
    assert_eq!(listed.stdout.lines().count(), 3, "{}", listed.stdout);
    python_lists(&lab.home, mine);
    // Python checks, keeps and releases the backup we took; we keep Python's.
    let checked = lab.home.run_python(&["check-backup", "pg", mine]).unwrap();
    assert_eq!(checked.code, 0, "{}", checked.stderr);
    let kept = lab
        .home
        .run_python(&["keep", "pg", mine, "--target", "standalone"])
        .unwrap();
    assert_eq!(kept.code, 0, "{}", kept.stderr);
    let status = lab.home.run(&["keep", "pg", mine, "--status"]);
    assert_eq!(
        status.stdout, "Server pg:\n\tKeep: standalone\n",
        "{}",
        status.stderr
    );
    let ours_keep = lab.home.run(&["keep", "pg", theirs, "--target", "full"]);
    assert_eq!(ours_keep.code, 0, "{}", ours_keep.stderr);
    let py_status = lab
        .home
        .run_python(&["keep", "pg", theirs, "--status"])
        .unwrap();
    assert_eq!(py_status.stdout, "Server pg:\n\tKeep: full\n");
    // Python deletes the backup we took (released first), we delete the one it took.
    lab.home
        .run_python(&["keep", "pg", mine, "--release"])
        .unwrap();
    lab.home.run(&["keep", "pg", theirs, "--release"]).ok();
    let py_delete = lab.home.run_python(&["delete", "pg", mine]).unwrap();
    assert_eq!(
        py_delete.code, 0,
        "{}\n{}",
        py_delete.stdout, py_delete.stderr
    );
    let our_delete = lab.home.run(&["delete", "pg", theirs]);
    assert_eq!(
        our_delete.code, 0,
        "{}\n{}",
        our_delete.stdout, our_delete.stderr
    );
    assert_eq!(backup_ids(&lab.home).len(), 1);
    assert!(!lab.home.home().join(format!("pg/base/{mine}")).exists());
    assert!(!lab.home.home().join(format!("pg/base/{theirs}")).exists());
}

/// A backup that cannot start (PostgreSQL down, ssh refused) is refused by the pre-checks
/// with Barman's message, and leaves no trace in the catalog.
#[test]
fn backup_refuses_to_start_when_postgres_or_ssh_is_unreachable() {
    require!("PostgreSQL 15", pg_available());
    let mut lab = lab(&|_| {
        "backup_method = rsync\nssh_command = ssh -p 1 -o ConnectTimeout=2 postgres@127.0.0.1\n"
            .to_string()
    });
    let run = lab.home.run(&["backup", "pg"]);
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    assert!(
        run.stderr.contains("ERROR: Impossible to start the backup. Check the log for more details, or run 'barman check pg'"),
        "{}",
        run.stderr
    );
    assert!(backup_ids(&lab.home).is_empty());
    lab.pg.stop();
    let conf = std::fs::read_to_string(lab.home.config_path()).unwrap();
    let local = conf
        .replace("backup_method = rsync", "backup_method = local-rsync")
        .replace(
            "ssh_command = ssh -p 1 -o ConnectTimeout=2 postgres@127.0.0.1\n",
            "",
        );
    std::fs::write(lab.home.config_path(), local).unwrap();
    let run = lab.home.run(&["backup", "pg"]);
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    assert!(
        run.stderr
            .contains("ERROR: Impossible to start the backup."),
        "{}",
        run.stderr
    );
    assert!(backup_ids(&lab.home).is_empty());
}

/// Progress (bytes, rate) is drawn on a terminal, and nowhere else.
#[test]
fn backup_progress_shows_on_a_terminal_only() {
    require!("PostgreSQL 15", pg_available());
    let lab = lab(&|_| "backup_method = local-rsync\n".to_string());
    let plain = lab.home.run(&["backup", "pg", "--bwlimit", "8000"]);
    assert_eq!(plain.code, 0, "{}\n{}", plain.stdout, plain.stderr);
    assert!(!plain.stderr.contains("B/s"), "{}", plain.stderr);
    // `script` gives the command a pseudo-terminal.
    let cmd = format!(
        "{} -c {} backup pg --bwlimit 8000",
        env!("CARGO_BIN_EXE_barman"),
        lab.home.config_path().display()
    );
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let tty = std::process::Command::new("script")
        .args(["-qec", &cmd, "/dev/null"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&tty.stdout);
    assert!(tty.status.success(), "{text}");
    assert!(text.contains("rsync [") && text.contains("B/s"), "{text}");
}

/// Ctrl-C (SIGINT to barman alone) during the copy: the copy stops, the backup is FAILED
/// with Barman's `KeyboardInterrupt` reason, and PostgreSQL is not left in backup mode.
#[test]
fn backup_interrupted_by_sigint_is_failed_and_stopped() {
    require!("PostgreSQL 15", pg_available());
    let lab = lab(&|_| "backup_method = local-rsync\n".to_string());
    let mut child = lab
        .home
        .barman()
        .args(["backup", "pg", "--bwlimit", "200"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let pattern = format!("^[^ ]*rsync .*{}", lab.home.home().display());
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while !std::process::Command::new("pgrep")
        .args(["-f", &pattern])
        .status()
        .unwrap()
        .success()
    {
        assert!(std::time::Instant::now() < deadline, "rsync never started");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    // SAFETY: signalling our own child.
    unsafe {
        libc::kill(child.id() as i32, libc::SIGINT);
    }
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(1));
    let ids = backup_ids(&lab.home);
    assert_eq!(info_field(&lab.home, &ids[0], "status"), "FAILED");
    assert_eq!(
        info_field(&lab.home, &ids[0], "error"),
        "failure copying files (KeyboardInterrupt)"
    );
    assert_eq!(lab.pg.query_scalar("SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend' AND pid <> pg_backend_pid() AND query ILIKE '%pg_backup_start%'"), "0");
    let again = lab.home.run(&["backup", "pg"]);
    assert_eq!(again.code, 0, "{}\n{}", again.stdout, again.stderr);
}

/// `-f json backup`: the backup's fields as Barman's JSON writer prints them (same keys and
/// value types as Python Barman's own backup of the same server).
#[test]
fn backup_json_result_matches_barman_shape() {
    require!("PostgreSQL 15", pg_available());
    require!(python_barman::REQUIREMENT, python_barman::available());
    let lab = lab(&|_| "backup_method = local-rsync\n".to_string());
    let py = lab
        .home
        .run_python(&["-f", "json", "backup", "pg"])
        .unwrap();
    assert_eq!(py.code, 0, "{}\n{}", py.stdout, py.stderr);
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let ours = lab.home.run(&["-f", "json", "backup", "pg"]);
    assert_eq!(ours.code, 0, "{}\n{}", ours.stdout, ours.stderr);
    let parse = |text: &str| -> serde_json::Map<String, serde_json::Value> {
        match serde_json::from_str(text).unwrap() {
            serde_json::Value::Object(map) => map,
            other => panic!("{other}"),
        }
    };
    let (a, b) = (parse(&py.stdout), parse(&ours.stdout));
    let shape = |m: &serde_json::Map<String, serde_json::Value>| -> Vec<(String, &'static str)> {
        m.iter()
            .filter(|(k, _)| !k.starts_with('_'))
            .map(|(k, v)| {
                let t = match v {
                    serde_json::Value::Null => "null",
                    serde_json::Value::Bool(_) => "bool",
                    serde_json::Value::Number(n) if n.is_f64() => "float",
                    serde_json::Value::Number(_) => "int",
                    serde_json::Value::String(_) => "str",
                    serde_json::Value::Array(_) => "list",
                    serde_json::Value::Object(_) => "dict",
                };
                (k.clone(), t)
            })
            .collect()
    };
    assert_eq!(shape(&a), shape(&b), "python {a:?}\nours {b:?}");
    assert_eq!(a["mode"], b["mode"]);
    assert_eq!(a["server_name"], b["server_name"]);
    let end = b["end_time"].as_str().unwrap();
    assert_eq!(end.split_whitespace().count(), 5, "ctime: {end}");
}

/// Seconds in Barman's `human_readable_timedelta` text ("1 minute, 2 seconds").
fn timedelta_seconds(text: &str) -> u64 {
    if text == "less than one second" {
        return 0;
    }
    text.split(", ")
        .map(|part| {
            let (n, unit) = part.split_once(' ').unwrap();
            let n: u64 = n.parse().unwrap();
            n * match unit.trim_end_matches('s') {
                "day" => 86400,
                "hour" => 3600,
                "minute" => 60,
                _ => 1,
            }
        })
        .sum()
}

#[test]
fn backup_elapsed_time_counts_from_the_copy_start_like_barman() {
    require!("PostgreSQL 15", pg_available());
    // A pre-backup hook that takes 6 seconds: Barman's elapsed time (now - the executor's
    // copy_start_time) does not include it.
    let lab = lab(&|_| "backup_method = local-rsync\npre_backup_script = sleep 6\n".to_string());
    let run = lab.home.run(&["backup", "pg"]).ok();
    let line = run
        .stdout
        .lines()
        .find(|l| l.starts_with("Backup completed (start time: "))
        .unwrap_or_else(|| panic!("{}", run.stdout));
    let elapsed = line
        .split("elapsed time: ")
        .nth(1)
        .unwrap()
        .trim_end_matches(')');
    assert!(timedelta_seconds(elapsed) < 6, "{line}");
}

#[test]
fn backup_archives_what_arrived_with_barmans_header() {
    require!("PostgreSQL 15", pg_available());
    require!(python_barman::REQUIREMENT, python_barman::available());
    let lab = lab(&|_| "backup_method = local-rsync\n".to_string());
    let incoming = lab.home.home().join("pg/incoming");
    // What Barman's archive_wal(verbose=False) prints after the backup, WAL names redacted.
    let tail = |run: &crate::harness::Run| -> Vec<String> {
        run.stdout
            .lines()
            .skip_while(|l| !l.starts_with("Backup completed"))
            .skip(1)
            .map(|l| {
                let hex = l.trim_start_matches('\t');
                match hex.get(..24) {
                    Some(h) if h.chars().all(|c| c.is_ascii_hexdigit()) => {
                        format!("\t<WAL>{}", &hex[24..])
                    }
                    _ => l.to_string(),
                }
            })
            .collect()
    };
    let mut outputs = Vec::new();
    for python in [true, false] {
        std::fs::write(incoming.join("junkfile"), b"junk").unwrap();
        std::fs::write(incoming.join(".000000010000000000000099.Ab3xYz"), b"x").unwrap();
        std::thread::sleep(std::time::Duration::from_millis(1100));
        let run = if python {
            lab.home.run_python(&["backup", "pg"]).unwrap()
        } else {
            lab.home.run(&["backup", "pg"])
        };
        assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
        outputs.push(tail(&run));
    }
    assert_eq!(outputs[1], outputs[0]);
    assert!(
        outputs[1]
            .iter()
            .any(|l| l
                .starts_with("Processing xlog segments from file archival for pg (batch size: ")),
        "{:?}",
        outputs[1]
    );
}
