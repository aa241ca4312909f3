//! `restore --delta-restore` (Barman 3.16+): a real PostgreSQL 15 (TLS) is backed up,
//! restored, started, changed and stopped, and the stale copy is then tampered with
//! (files added, deleted, one rewritten with its size and mtime kept). A delta restore over
//! it must leave exactly what a full restore into an empty folder leaves, copy only part of
//! the bytes (untouched files keep their ctime), and start reading the backup's rows. Also:
//! remote delta restore through the harness sshd, `recovery_options = delta-restore` and
//! `--no-delta-restore` precedence, Barman's refusals, and console output compared with
//! Python Barman's on the same catalog.

use crate::harness::pg_cluster::{give_to_postgres, pg_available, shared_tempdir, PgOptions};
use crate::harness::sshd::ssh_available;
use crate::harness::{python_barman, BarmanHome, PgCluster, Run, Sshd};
use crate::require;
use std::collections::BTreeMap;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

struct Source {
    home: BarmanHome,
    /// The source cluster, running until the test ends.
    _pg: PgCluster,
    server: String,
    id: String,
    /// `pg_relation_filepath('ballast')`: a big table nobody touches after the backup.
    ballast: String,
}

/// A cluster archiving into the barman home with a `marks` table in a tablespace, a frozen
/// ballast table, and one local-rsync backup.
fn source() -> Source {
    let home = BarmanHome::new();
    let archive_command = crate::harness::incoming_archive_command(&home);
    let pg = PgCluster::start(
        PgOptions::default()
            .set("archive_mode", "on")
            .set("archive_command", &archive_command),
    );
    pg.create_tablespace("tbs1");
    pg.execute("CREATE TABLE marks (tag text, n int) TABLESPACE tbs1");
    pg.execute("INSERT INTO marks SELECT 'base', g FROM generate_series(1, 100) g");
    pg.execute("CREATE TABLE ballast AS SELECT g, repeat('x', 200) AS pad FROM generate_series(1, 40000) g");
    pg.execute("VACUUM (FREEZE, ANALYZE) ballast");
    let ballast = pg.query_scalar("SELECT pg_relation_filepath('ballast')");
    let server = format!(
        "conninfo = {}\nbackup_method = local-rsync\narchiver = on\nimmediate_checkpoint = true\n",
        pg.conninfo()
    );
    home.write_config("", &[("pg", &server)]);
    let run = home.run(&["backup", "pg"]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let id = home.run(&["list-backups", "pg", "--minimal"]).stdout;
    let id = id.lines().next().expect("a backup").to_string();
    Source {
        home,
        _pg: pg,
        server,
        id,
        ballast,
    }
}

impl Source {
    fn with_config(&self, extra: &str) {
        self.home
            .write_config("", &[("pg", &format!("{}{extra}", self.server))]);
    }

    /// `restore pg <id> <dest> --tablespace tbs1:<dest>-tbs1 <args>` with ours or Python's.
    fn restore(&self, python: bool, dest: &Path, args: &[&str]) -> Run {
        let rule = format!("tbs1:{}-tbs1", dest.display());
        let mut full = vec![
            "restore",
            "pg",
            self.id.as_str(),
            dest.to_str().unwrap(),
            "--tablespace",
            &rule,
        ];
        full.extend_from_slice(args);
        if python {
            self.home.run_python(&full).unwrap()
        } else {
            self.home.run(&full)
        }
    }

    fn backup_info(&self) -> PathBuf {
        self.home
            .home()
            .join(format!("pg/meta/{}-backup.info", self.id))
    }

    fn backup_data(&self) -> PathBuf {
        self.home.home().join(format!("pg/base/{}/data", self.id))
    }
}

/// Every entry under `root`: files with their bytes, folders, links with their target
/// (`<tbs>` standing for the restore's own tablespace folder).
fn tree(root: &Path, tbs: &Path) -> BTreeMap<String, String> {
    fn walk(root: &Path, dir: &Path, tbs: &str, out: &mut BTreeMap<String, String>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let rel = path.strip_prefix(root).unwrap().display().to_string();
            let meta = std::fs::symlink_metadata(&path).unwrap();
            if meta.file_type().is_symlink() {
                let target = std::fs::read_link(&path).unwrap().display().to_string();
                out.insert(rel, format!("link {}", target.replace(tbs, "<tbs>")));
            } else if meta.is_dir() {
                out.insert(rel, "dir".into());
                walk(root, &path, tbs, out);
            } else {
                let bytes = std::fs::read(&path).unwrap();
                out.insert(rel, format!("file {:x}", md5ish(&bytes)));
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(root, root, &tbs.display().to_string(), &mut out);
    out
}

/// A content fingerprint (FNV-1a, 64 bits) with the length: enough to tell files apart.
fn md5ish(bytes: &[u8]) -> u128 {
    let mut h: u64 = 0xcbf29ce484222325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x100000001b3);
    }
    (u128::from(bytes.len() as u64) << 64) | u128::from(h)
}

/// Both the data folder and its tablespace folder, in one map (`tbs/` for the latter).
fn restored(dest: &Path) -> BTreeMap<String, String> {
    let tbs = PathBuf::from(format!("{}-tbs1", dest.display()));
    let mut all = tree(dest, &tbs);
    for (path, what) in tree(&tbs, &tbs) {
        all.insert(format!("tbs/{path}"), what);
    }
    all
}

/// The entries that differ from a full restore (empty when the trees are identical).
fn differences(dest: &Path, expected: &BTreeMap<String, String>) -> Vec<String> {
    let actual = restored(dest);
    let mut diff: Vec<String> = expected
        .iter()
        .filter(|(p, w)| actual.get(*p) != Some(w))
        .map(|(p, w)| format!("{p}: expected {w}, found {:?}", actual.get(p)))
        .collect();
    diff.extend(
        actual
            .keys()
            .filter(|p| !expected.contains_key(*p))
            .map(|p| format!("{p}: not in a full restore")),
    );
    diff
}

fn ctimes(root: &Path) -> BTreeMap<String, (i64, i64)> {
    let mut out = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let meta = std::fs::symlink_metadata(&path).unwrap();
            if meta.is_dir() {
                stack.push(path);
            } else if meta.is_file() {
                let rel = path.strip_prefix(root).unwrap().display().to_string();
                out.insert(rel, (meta.ctime(), meta.ctime_nsec()));
            }
        }
    }
    out
}

/// Start the restored cluster and return its marks, as (tag, count) rows.
fn marks(dest: &Path) -> Vec<Vec<String>> {
    let mut pg = PgCluster::start_in_place(dest, &[("autovacuum", "off")]);
    let rows = pg.query_rows("SELECT tag, count(*)::text FROM marks GROUP BY tag ORDER BY tag");
    pg.stop();
    rows
}

/// Start the restored cluster, change rows (a stale copy), stop it.
fn make_stale(dest: &Path) {
    let mut pg = PgCluster::start_in_place(dest, &[("autovacuum", "off")]);
    pg.execute("INSERT INTO marks SELECT 'stale', g FROM generate_series(1, 500) g");
    pg.execute("UPDATE marks SET n = -n WHERE tag = 'base'");
    pg.execute("CHECKPOINT");
    pg.stop();
}

/// Files of the backup changed at or after its `begin_time` (Barman compares them by
/// checksum over a previous restore of the same backup), relative paths.
fn newer_than_begin(src: &Source) -> Vec<String> {
    let info = std::fs::read_to_string(src.backup_info()).unwrap();
    let begin = info
        .lines()
        .find_map(|l| l.strip_prefix("begin_time="))
        .unwrap();
    let begin = chrono::DateTime::parse_from_str(begin, "%Y-%m-%d %H:%M:%S%.f%:z")
        .unwrap()
        .timestamp();
    let data = src.backup_data();
    let mut found = Vec::new();
    let mut stack = vec![data.clone()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let meta = std::fs::symlink_metadata(&path).unwrap();
            if meta.is_dir() {
                stack.push(path);
            } else if meta.is_file() && meta.mtime() >= begin && meta.len() > 0 {
                let rel = path.strip_prefix(&data).unwrap().display().to_string();
                if !rel.starts_with("pg_wal") && rel != "backup_label" {
                    found.push(rel);
                }
            }
        }
    }
    found.sort();
    found
}

/// Added, deleted and silently rewritten files in the stale copy. Returns the file that
/// was rewritten with the backup's size and mtime.
fn tamper(src: &Source, dest: &Path) -> String {
    std::fs::write(dest.join("base/stale_extra"), b"left over").unwrap();
    std::fs::create_dir_all(dest.join("junk/deeper")).unwrap();
    std::fs::write(dest.join("junk/deeper/x"), b"x").unwrap();
    std::fs::write(dest.join("pg_wal/000000010000000000000099"), b"not a wal").unwrap();
    std::fs::remove_file(dest.join("global/pg_filenode.map")).unwrap();
    let candidates = newer_than_begin(src);
    let victim = candidates
        .iter()
        .find(|p| p.as_str() == "global/pg_control")
        .or_else(|| candidates.iter().find(|p| dest.join(p).exists()))
        .unwrap_or_else(|| panic!("no backup file newer than begin_time: {candidates:?}"))
        .clone();
    let original = src.backup_data().join(&victim);
    let mut bytes = std::fs::read(&original).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0xff;
    bytes[0] ^= 0xff;
    std::fs::write(dest.join(&victim), &bytes).unwrap();
    let touch = std::process::Command::new("touch")
        .arg("-r")
        .arg(&original)
        .arg(dest.join(&victim))
        .status()
        .unwrap();
    assert!(touch.success());
    victim
}

/// Console output with the restore's own times masked.
fn masked(text: &str) -> String {
    text.lines()
        .map(
            |l| match l.find("Restore operation completed (start time:") {
                Some(_) => "Restore operation completed (<times>)".to_string(),
                None => l.to_string(),
            },
        )
        .collect::<Vec<_>>()
        .join("\n")
}

/// `Delta restore of pgdata: F of N files updated (B of T bytes), …` → (B, T).
fn delta_bytes(stderr: &str) -> (u64, u64) {
    let line = stderr
        .lines()
        .find(|l| l.contains("Delta restore of pgdata: "))
        .unwrap_or_else(|| panic!("no delta statistics in:\n{stderr}"));
    let inside = line.split('(').nth(1).unwrap();
    let words: Vec<&str> = inside.split_whitespace().collect();
    (words[0].parse().unwrap(), words[2].parse().unwrap())
}

#[test]
fn delta_restore_over_a_stale_copy_equals_a_full_restore_and_reads_the_backup_rows() {
    require!("PostgreSQL 15", pg_available());
    require!(python_barman::REQUIREMENT, python_barman::available());
    let src = source();
    let work = shared_tempdir();
    let full = work.path().join("full");
    let run = src.restore(false, &full, &[]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let expected = restored(&full);

    let dest = work.path().join("dest");
    let run = src.restore(false, &dest, &[]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    make_stale(&dest);
    let victim = tamper(&src, &dest);
    let before = ctimes(&dest);

    // Without delta mode the stale copy is refused, by both.
    let not_empty = format!("ERROR: The restore operation cannot proceed because the destination folder '{}' is not empty.", dest.display());
    for python in [false, true] {
        let run = src.restore(python, &dest, &[]);
        assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
        assert!(run.stderr.contains(&not_empty), "{python}: {}", run.stderr);
    }
    assert_eq!(ctimes(&dest), before, "a refused restore changed nothing");

    let run = src.restore(false, &dest, &["--delta-restore", "-j", "2"]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert!(
        run.stdout
            .contains("Using safe horizon time for smart rsync copy: "),
        "{}",
        run.stdout
    );
    assert_eq!(
        differences(&dest, &expected),
        Vec::<String>::new(),
        "rewritten: {victim}"
    );
    let (copied, total) = delta_bytes(&run.stderr);
    assert!(copied * 4 < total, "{copied} of {total} bytes copied");
    let after = ctimes(&dest);
    assert_eq!(
        after.get(&src.ballast),
        before.get(&src.ballast),
        "the untouched ballast table was rewritten"
    );
    let kept = before
        .iter()
        .filter(|(p, c)| after.get(*p) == Some(c))
        .count();
    assert!(
        kept * 2 > after.len(),
        "{kept} of {} files kept",
        after.len()
    );
    assert_eq!(
        marks(&dest),
        [vec!["base".to_string(), "100".to_string()]],
        "the stale rows survived"
    );

    // Python Barman delta-restores the (again stale) copy to the same result, and our
    // console output over the same state matches its own.
    let py = src.restore(true, &dest, &["--delta-restore"]);
    assert_eq!(py.code, 0, "{}\n{}", py.stdout, py.stderr);
    assert_eq!(differences(&dest, &expected), Vec::<String>::new());
    let ours = src.restore(false, &dest, &["--delta-restore"]);
    assert_eq!(ours.code, 0, "{}\n{}", ours.stdout, ours.stderr);
    assert_eq!(masked(&ours.stdout), masked(&py.stdout));
    assert_eq!(differences(&dest, &expected), Vec::<String>::new());

    // `recovery_options = delta-restore` turns it on; `--no-delta-restore` wins over it.
    src.with_config("recovery_options = delta-restore\n");
    for python in [false, true] {
        let run = src.restore(python, &dest, &["--no-delta-restore"]);
        assert_eq!(run.code, 1, "{python}: {}\n{}", run.stdout, run.stderr);
        assert!(run.stderr.contains(&not_empty), "{python}: {}", run.stderr);
        let run = src.restore(python, &dest, &["--delta-restore", "--no-delta-restore"]);
        assert_eq!(run.code, 1, "{python}: {}\n{}", run.stdout, run.stderr);
    }
    let run = src.restore(false, &dest, &[]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert!(
        run.stdout.contains("Using safe horizon time"),
        "{}",
        run.stdout
    );
    assert_eq!(differences(&dest, &expected), Vec::<String>::new());
    assert_eq!(marks(&dest), [vec!["base".to_string(), "100".to_string()]]);

    refusals(&src, work.path());
}

/// Barman's refusals, same message and exit code as Python Barman, nothing written.
fn refusals(src: &Source, work: &Path) {
    // A compressed backup (its backup.info is enough: both refuse before copying).
    let fake = "20990101T000000";
    let fake_dir = src.home.home().join(format!("pg/base/{fake}"));
    std::fs::create_dir_all(&fake_dir).unwrap();
    let info = std::fs::read_to_string(src.backup_info()).unwrap();
    let info = info
        .replace("compression=None", "compression=gzip")
        .replace(
            &format!("backup_id={}", src.id),
            &format!("backup_id={fake}"),
        );
    assert!(info.contains("compression=gzip"));
    let fake_info = src.home.home().join(format!("pg/meta/{fake}-backup.info"));
    std::fs::write(&fake_info, info).unwrap();
    let staging = work.join("staging");
    std::fs::create_dir_all(&staging).unwrap();
    src.with_config(&format!("staging_path = {}\n", staging.display()));
    let target = work.join("refused");
    let cases: [(&[&str], &str, &str); 2] = [
        (
            &["--delta-restore"],
            fake,
            "ERROR: Cannot restore a backup locally with delta mode when the backup is not plain.",
        ),
        (
            &["--delta-restore", "--remote-ssh-command", "ssh nobody@127.0.0.1"],
            src.id.as_str(),
            "ERROR: Cannot restore a backup remotely with delta mode when 'staging_location=remote'.",
        ),
    ];
    for (n, (args, id, message)) in cases.iter().enumerate() {
        if n == 1 {
            src.with_config(&format!(
                "staging_path = {}\nstaging_location = remote\n",
                staging.display()
            ));
        }
        let mut full = vec!["restore", "pg", id, target.to_str().unwrap()];
        full.extend_from_slice(args);
        let ours = src.home.run(&full);
        let py = src.home.run_python(&full).unwrap();
        assert_eq!(
            (ours.code, py.code),
            (1, 1),
            "{}\n{}",
            ours.stderr,
            py.stderr
        );
        assert!(ours.stderr.contains(message), "{}", ours.stderr);
        assert_eq!(ours.stdout, py.stdout);
        assert_eq!(
            ours.stderr
                .lines()
                .filter(|l| l.starts_with("ERROR"))
                .collect::<Vec<_>>(),
            py.stderr
                .lines()
                .filter(|l| l.starts_with("ERROR"))
                .collect::<Vec<_>>()
        );
        assert!(!target.exists());
    }
    std::fs::remove_dir_all(&fake_dir).unwrap();
    std::fs::remove_file(&fake_info).unwrap();
}

#[test]
fn delta_restore_remote_over_ssh_equals_a_full_restore() {
    require!("PostgreSQL 15", pg_available());
    require!("sshd", ssh_available());
    let src = source();
    let work = shared_tempdir();
    let full = work.path().join("full");
    let run = src.restore(false, &full, &[]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let expected = restored(&full);

    let sshd = Sshd::start("postgres");
    let remote = shared_tempdir();
    give_to_postgres(remote.path());
    let dest = remote.path().join("dest");
    let ssh = sshd.ssh_command();
    let run = src.restore(false, &dest, &["--remote-ssh-command", &ssh]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    make_stale(&dest);
    let victim = tamper(&src, &dest);
    give_to_postgres(remote.path());
    let before = ctimes(&dest);
    let run = src.restore(
        false,
        &dest,
        &["--remote-ssh-command", &ssh, "--delta-restore"],
    );
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert!(
        run.stdout.contains("Starting remote restore for server pg")
            && run
                .stdout
                .contains("Using safe horizon time for smart rsync copy: "),
        "{}",
        run.stdout
    );
    assert_eq!(
        differences(&dest, &expected),
        Vec::<String>::new(),
        "rewritten: {victim}"
    );
    let (copied, total) = delta_bytes(&run.stderr);
    assert!(copied * 4 < total, "{copied} of {total} bytes copied");
    let after = ctimes(&dest);
    assert_eq!(after.get(&src.ballast), before.get(&src.ballast));
    assert_eq!(marks(&dest), [vec!["base".to_string(), "100".to_string()]]);
}
