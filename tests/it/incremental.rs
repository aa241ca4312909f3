//! Block-level incremental backups (PostgreSQL 17+, `backup --incremental`) end to end on
//! real servers with `summarize_wal = on` and PostgreSQL 18's client tools: a chain
//! full → inc → inc → inc with rows written between each, restored through
//! `pg_combinebackup` with each combine mode (local, remote with a local staging area,
//! remote with a remote one), every restored cluster started and ALL rows read back;
//! Barman's staging checks; `keep` refused, `list-backups`/`show-backup` byte-identical
//! to Python Barman 3.20.1's on the same catalog; Python Barman restoring our incremental
//! backup and taking one on top that we restore; delete of a parent taking its children;
//! retention over chains.

use crate::harness::ok;
use crate::harness::pg_cluster::{give_to_postgres, shared_tempdir, PgOptions};
use crate::harness::sshd::ssh_available;
use crate::harness::{python_barman, BarmanHome, PgCluster, Run, Sshd};
use crate::require;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

fn server_bin(major: u32) -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/target/pg")).join(format!("{major}/bin"))
}

struct Lab {
    major: u32,
    home: BarmanHome,
    pg: PgCluster,
    /// Every tag written so far, in order (100 rows each).
    tags: Vec<String>,
}

impl Lab {
    fn mark(&mut self, tag: &str) {
        self.pg.execute(&format!(
            "INSERT INTO marks SELECT '{tag}', g FROM generate_series(1, 100) g"
        ));
        self.pg
            .execute(&format!("INSERT INTO notes VALUES ('{tag}')"));
        self.tags.push(tag.to_string());
        self.tags.sort();
    }

    /// Close the current segment, wait until PostgreSQL archived it, file it.
    fn ship(&self) {
        self.pg.execute("SELECT pg_switch_wal()");
        let deadline = Instant::now() + Duration::from_secs(60);
        while self.pg.query_scalar(
            "SELECT count(*) FROM pg_ls_dir('pg_wal/archive_status') f WHERE f LIKE '%.ready'",
        ) != "0"
        {
            assert!(Instant::now() < deadline, "archiving stuck");
            std::thread::sleep(Duration::from_millis(100));
        }
        ok(self.home.run(&["archive-wal", "pg"]), "archive-wal");
    }

    fn backup(&self, extra: &[&str]) -> String {
        let mut args = vec!["backup", "pg"];
        args.extend_from_slice(extra);
        ok(self.home.run(&args), "backup");
        self.newest()
    }

    fn newest(&self) -> String {
        let run = ok(self.home.run(&["list-backups", "pg", "--minimal"]), "list");
        run.stdout.lines().next().expect("a backup").to_string()
    }

    fn oid(&self) -> String {
        self.pg
            .query_scalar("SELECT oid FROM pg_tablespace WHERE spcname = 'tbs1'")
    }

    /// Start the restored data directory, wait for the end of recovery, check it holds
    /// every row written before the last shipped WAL.
    fn read_back(&self, dest: &Path, expected: &[String]) {
        let mut copy = PgCluster::start_in_place_with(dest, &[], server_bin(self.major), false);
        let deadline = Instant::now() + Duration::from_secs(120);
        while copy.query_scalar("SELECT pg_is_in_recovery()") != "f" {
            assert!(Instant::now() < deadline, "recovery never ended");
            std::thread::sleep(Duration::from_millis(200));
        }
        let rows =
            copy.query_rows("SELECT tag, count(*), sum(n) FROM marks GROUP BY tag ORDER BY tag");
        let want: Vec<Vec<String>> = expected
            .iter()
            .map(|t| vec![t.clone(), "100".into(), "5050".into()])
            .collect();
        assert_eq!(rows, want, "rows of {}", dest.display());
        let notes = copy.query_rows("SELECT tag FROM notes ORDER BY tag");
        let notes: Vec<String> = notes.into_iter().map(|r| r[0].clone()).collect();
        assert_eq!(notes, expected, "notes of {}", dest.display());
        copy.stop();
    }
}

/// A cluster of `major` with `summarize_wal = on`, archiving into server `pg`
/// (postgres method, PostgreSQL 18's client tools), a `marks` table in a tablespace and a
/// `notes` table in the default one.
fn lab(major: u32) -> Lab {
    let home = BarmanHome::new();
    let archive_command = crate::harness::incoming_archive_command(&home);
    let pg = PgCluster::start(
        PgOptions {
            wal_segsize_mb: Some(1),
            ..PgOptions::default()
        }
        .without_tls()
        .bin_dir(server_bin(major))
        .set("summarize_wal", "on")
        .set("archive_mode", "on")
        .set("archive_command", &archive_command),
    );
    pg.create_tablespace("tbs1");
    pg.execute("CREATE TABLE marks (tag text, n int) TABLESPACE tbs1");
    pg.execute("CREATE TABLE notes (tag text)");
    home.write_config(
        "",
        &[(
            "pg",
            &format!(
                "conninfo = {c}\nstreaming_conninfo = {c}\nbackup_method = postgres\n\
                 archiver = on\nimmediate_checkpoint = true\npath_prefix = {p}\n",
                c = pg.conninfo(),
                p = server_bin(18).display()
            ),
        )],
    );
    Lab {
        major,
        home,
        pg,
        tags: Vec::new(),
    }
}

/// full → inc → inc → inc with rows before each, and a tail of rows after the last one
/// (shipped, so a restore replays it). Returns the ids, the full one first.
fn chain(lab: &mut Lab) -> Vec<String> {
    lab.mark("base");
    lab.ship();
    let mut ids = vec![lab.backup(&[])];
    for tag in ["i1", "i2", "i3"] {
        lab.mark(tag);
        let parent = ids.last().unwrap().clone();
        ids.push(lab.backup(&["--incremental", &parent]));
    }
    lab.mark("tail");
    lab.ship();
    ids
}

/// Our output and Python Barman's for the same arguments, compared whole.
fn same_as_python(home: &BarmanHome, args: &[&str]) -> Run {
    // Without a log file both also log to stderr, with times and pids: compared apart.
    let console = |text: &str| -> String {
        text.lines()
            .filter(|l| !l.starts_with("20") || !l.contains(" barman."))
            .map(|l| format!("{l}\n"))
            .collect()
    };
    let ours = home.run(args);
    let theirs = home.run_python(args).unwrap();
    assert_eq!(
        (ours.code, &ours.stdout, console(&ours.stderr)),
        (theirs.code, &theirs.stdout, console(&theirs.stderr)),
        "{args:?}: ours vs Python Barman"
    );
    ours
}

fn tbs_rule(lab: &Lab, name: &str) -> (String, PathBuf) {
    let dir = lab.home.dir().join(format!("{name}-tbs1"));
    (format!("tbs1:{}", dir.display()), dir)
}

/// Restore `id` locally with `extra` options; the run (not yet checked).
fn restore(lab: &Lab, id: &str, name: &str, extra: &[&str]) -> (Run, PathBuf) {
    let dest = lab.home.dir().join(name);
    let (rule, _) = tbs_rule(lab, name);
    let mut args = vec![
        "restore",
        "pg",
        id,
        dest.to_str().unwrap(),
        "--tablespace",
        &rule,
    ];
    args.extend_from_slice(extra);
    (lab.home.run(&args), dest)
}

fn staging_checks(lab: &Lab, leaf: &str) {
    let dest = lab.home.dir().join("never");
    let d = dest.to_str().unwrap();
    for extra in [
        &["--staging-path", "relative/path"][..],
        &["--staging-location", "remote"],
        &["--recovery-staging-path", "/tmp"],
    ] {
        let mut args = vec!["restore", "pg", leaf, d];
        args.extend_from_slice(extra);
        let run = same_as_python(&lab.home, &args);
        assert_eq!(run.code, 1, "{extra:?}");
        assert!(
            run.stderr.lines().any(|l| l.starts_with("ERROR: ")),
            "{}",
            run.stderr
        );
        assert!(!dest.exists());
    }
}

fn catalog_matches_python(lab: &Lab, ids: &[String]) {
    same_as_python(&lab.home, &["list-backups", "pg"]);
    same_as_python(&lab.home, &["-f", "json", "list-backups", "pg"]);
    for id in [&ids[0], &ids[2], &ids[3]] {
        let run = same_as_python(&lab.home, &["show-backup", "pg", id]);
        assert_eq!(
            run.stdout.contains("Backup chain size"),
            id != &ids[0],
            "{}",
            run.stdout
        );
        same_as_python(&lab.home, &["-f", "json", "show-backup", "pg", id]);
    }
    let run = same_as_python(&lab.home, &["-f", "json", "show-backup", "pg", &ids[2]]);
    let json: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let b = &json["pg"];
    assert_eq!(b["backup_type"], "incremental", "{json}");
    assert_eq!(
        b["catalog_information"]["parent_backup_id"],
        ids[1].as_str(),
        "{json}"
    );
    assert_eq!(
        b["catalog_information"]["root_backup_id"],
        ids[0].as_str(),
        "{json}"
    );
    assert_eq!(b["catalog_information"]["chain_size"], 3, "{json}");
    let run = same_as_python(&lab.home, &["keep", "pg", &ids[1], "--target", "full"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
}

#[test]
fn incremental_chain_restored_by_every_combine_mode_on_18() {
    require!(
        "PostgreSQL 18 (scripts/pg-majors)",
        server_bin(18).join("pg_combinebackup").is_file()
    );
    require!(python_barman::REQUIREMENT, python_barman::available());
    require!("sshd, ssh and rsync", ssh_available());
    let mut lab = lab(18);
    let ids = chain(&mut lab);
    let leaf = ids[3].clone();
    let all = lab.tags.clone();
    staging_checks(&lab, &leaf);
    catalog_matches_python(&lab, &ids);

    // Local restore, default mode (copy): pg_combinebackup writes the destination.
    let (run, dest) = restore(&lab, &leaf, "copy", &[]);
    let run = ok(run, "restore copy");
    assert!(
        run.stdout.contains(&format!(
            "Start combining backup via pg_combinebackup for backup {leaf} on {}",
            dest.display()
        )),
        "{}",
        run.stdout
    );
    let (_, tbs) = tbs_rule(&lab, "copy");
    assert_eq!(
        std::fs::read_link(dest.join(format!("pg_tblspc/{}", lab.oid()))).unwrap(),
        tbs
    );
    let recover_info = std::fs::read_to_string(dest.join(".barman-recover.info")).unwrap();
    assert!(
        recover_info.contains("copy_stats={'combine_time': "),
        "{recover_info}"
    );
    assert!(dest.join(format!("backup_manifest.{leaf}")).is_file());
    lab.read_back(&dest, &all);

    // link: Barman refuses it for a local restore (the catalog would share inodes).
    let (run, dest) = restore(&lab, &leaf, "link", &["--combine-mode", "LINK"]);
    let run = ok(run, "restore link");
    assert!(run.stderr.contains("WARNING: 'link' mode is not supported for local restore. Falling back to 'copy' mode to prevent modification of original backup files through hard-links."), "{}", run.stderr);
    lab.read_back(&dest, &all);

    // clone / copy-file-range: used when the file system can, else pg_combinebackup's
    // failure, reported as Barman does.
    for mode in ["clone", "copy-file-range"] {
        let (run, dest) = restore(&lab, &leaf, mode, &["--combine-mode", mode]);
        if run.code == 0 {
            lab.read_back(&dest, &all);
        } else {
            assert!(
                run.stderr.contains(&format!(
                    "ERROR: Failure copying base backup: Combine action failure on directory '{}'\npg_combinebackup error:\n",
                    dest.display()
                )),
                "{mode}: {}",
                run.stderr
            );
        }
    }

    remote_restores(&lab, &leaf, &all);
    python_interop(&mut lab, &leaf);
    delete_and_retention(&lab, &ids);
}

/// Restores to a "remote" host (the harness's sshd, as postgres): the combine staged here
/// (link mode honoured, with Barman's caution) or there (`--staging-location remote`).
fn remote_restores(lab: &Lab, leaf: &str, all: &[String]) {
    let sshd = Sshd::start("postgres");
    let target = shared_tempdir();
    give_to_postgres(target.path());
    let staging = lab.home.dir().join("staging");
    std::fs::create_dir(&staging).unwrap();
    let dest = target.path().join("here");
    let rule = format!("tbs1:{}", target.path().join("here-tbs1").display());
    let ssh = sshd.ssh_command();
    let run = ok(
        lab.home.run(&[
            "restore",
            "pg",
            leaf,
            dest.to_str().unwrap(),
            "--remote-ssh-command",
            &ssh,
            "--tablespace",
            &rule,
            "--staging-path",
            staging.to_str().unwrap(),
            "--combine-mode",
            "link",
        ]),
        "remote restore, local staging, link",
    );
    assert!(
        run.stderr
            .contains("WARNING: CAUTION: Using 'link' mode with a local staging area."),
        "{}",
        run.stderr
    );
    assert!(
        run.stdout
            .contains(&format!("{}/barman-combine", staging.display())),
        "{}",
        run.stdout
    );
    assert_eq!(
        std::fs::read_dir(&staging).unwrap().count(),
        0,
        "staging left behind"
    );
    lab.read_back(&dest, all);

    // The remote host finds pg_combinebackup on its PATH (set by the ssh command here).
    let remote_ssh = format!("{ssh} PATH={}:/usr/bin:/bin", server_bin(18).display());
    let remote_staging = target.path().join("remote-staging");
    std::fs::create_dir(&remote_staging).unwrap();
    give_to_postgres(&remote_staging);
    let dest = target.path().join("there");
    let rule = format!("tbs1:{}", target.path().join("there-tbs1").display());
    let run = ok(
        lab.home.run(&[
            "restore",
            "pg",
            leaf,
            dest.to_str().unwrap(),
            "--remote-ssh-command",
            &remote_ssh,
            "--tablespace",
            &rule,
            "--staging-path",
            remote_staging.to_str().unwrap(),
            "--staging-location",
            "remote",
        ]),
        "remote restore, remote staging",
    );
    assert!(
        run.stdout.contains(&format!("on {}", dest.display())),
        "{}",
        run.stdout
    );
    assert_eq!(
        std::fs::read_dir(&remote_staging).unwrap().count(),
        0,
        "remote staging left behind"
    );
    lab.read_back(&dest, all);
}

/// Python Barman restores our incremental backup, takes one on top of it, and we
/// restore that one.
fn python_interop(lab: &mut Lab, leaf: &str) {
    let dest = lab.home.dir().join("by-python");
    let (rule, _) = tbs_rule(lab, "by-python");
    let run = lab
        .home
        .run_python(&[
            "restore",
            "pg",
            leaf,
            dest.to_str().unwrap(),
            "--tablespace",
            &rule,
        ])
        .unwrap();
    ok(run, "Python Barman restores our incremental backup");
    let all = lab.tags.clone();
    lab.read_back(&dest, &all);

    lab.mark("py");
    let run = lab
        .home
        .run_python(&["backup", "pg", "--incremental", leaf])
        .unwrap();
    ok(run, "Python Barman's incremental backup on top of ours");
    let theirs = lab.newest();
    assert_ne!(theirs, leaf);
    lab.mark("tail2");
    lab.ship();
    let (run, dest) = restore(lab, &theirs, "ours-of-python", &[]);
    ok(run, "we restore Python Barman's incremental backup");
    let all = lab.tags.clone();
    lab.read_back(&dest, &all);
}

fn delete_and_retention(lab: &Lab, ids: &[String]) {
    // A second chain root; REDUNDANCY 1 makes the first chain obsolete, children included.
    let second = lab.backup(&[]);
    lab.ship();
    let config = std::fs::read_to_string(lab.home.config_path()).unwrap();
    std::fs::write(
        lab.home.config_path(),
        format!("{config}retention_policy = REDUNDANCY 1\n"),
    )
    .unwrap();
    same_as_python(&lab.home, &["list-backups", "pg"]);
    same_as_python(&lab.home, &["-f", "json", "list-backups", "pg"]);

    // Deleting a parent deletes its whole subtree.
    let run = ok(lab.home.run(&["delete", "pg", &ids[2]]), "delete a parent");
    assert!(
        run.stderr.contains(&format!(
            "WARNING: Backup {} has incremental backups which depend on it. Deleting all backups in the tree",
            ids[2]
        )),
        "{}",
        run.stderr
    );
    let left = ok(lab.home.run(&["list-backups", "pg", "--minimal"]), "list");
    let mut left: Vec<&str> = left.stdout.lines().collect();
    left.sort();
    assert_eq!(left, [ids[0].as_str(), ids[1].as_str(), second.as_str()]);

    // Retention removes the obsolete chain root and what is left of its chain.
    // cron checks the WAITING_FOR_WALS backups in the background: the new root counts
    // once DONE, on a later run.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let cron = ok(lab.home.run(&["cron"]), "cron");
        let left = ok(lab.home.run(&["list-backups", "pg", "--minimal"]), "list");
        if left.stdout.trim() == second {
            break;
        }
        let full = lab.home.run(&["list-backups", "pg"]);
        assert!(
            Instant::now() < deadline,
            "retention kept {}\n{}\ncron: {}{}",
            full.stdout,
            full.stderr,
            cron.stdout,
            cron.stderr
        );
        std::thread::sleep(Duration::from_millis(300));
    }
}

#[test]
fn incremental_chain_on_17_needs_a_matching_pg_combinebackup() {
    require!(
        "PostgreSQL 17 (scripts/pg-majors)",
        server_bin(17).join("initdb").is_file()
    );
    require!(
        "PostgreSQL 18 client tools (scripts/pg-majors)",
        server_bin(18).join("pg_combinebackup").is_file()
    );
    require!(python_barman::REQUIREMENT, python_barman::available());
    let mut lab = lab(17);
    let ids = chain(&mut lab);
    catalog_matches_python(&lab, &ids);
    staging_checks(&lab, &ids[3]);
    // Only PostgreSQL 18's pg_combinebackup is installed: Barman refuses before combining.
    let dest = lab.home.dir().join("mismatch");
    let (rule, _) = tbs_rule(&lab, "mismatch");
    let args = [
        "restore",
        "pg",
        &ids[3],
        dest.to_str().unwrap(),
        "--tablespace",
        &rule,
    ];
    let ours = lab.home.run(&args);
    assert_eq!(ours.code, 1, "{}\n{}", ours.stdout, ours.stderr);
    let message = format!("ERROR: Postgres version mismatch: The backup '{}' was taken from Postgres version '17', but pg_combinebackup version is '18'. To restore successfully is necessary to use pg_combinebackup with the same version used when the backup was taken (17).\n", ids[3]);
    assert!(ours.stderr.contains(&message), "{}", ours.stderr);
    let dest = lab.home.dir().join("mismatch-python");
    let (rule, _) = tbs_rule(&lab, "mismatch-python");
    let theirs = lab
        .home
        .run_python(&[
            "restore",
            "pg",
            &ids[3],
            dest.to_str().unwrap(),
            "--tablespace",
            &rule,
        ])
        .unwrap();
    assert_eq!(theirs.code, 1);
    assert!(theirs.stderr.contains(&message), "{}", theirs.stderr);
    assert_eq!(
        ours.stdout,
        theirs.stdout.replace("mismatch-python", "mismatch")
    );
}
