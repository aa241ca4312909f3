//! `verify-backup` and `generate-manifest` on real clusters: PostgreSQL 15 (Debian, TLS,
//! its own client tools) and 13 and 18 (scripts/pg-majors, no TLS, PostgreSQL 18's client
//! tools incl. `pg_verifybackup`). Each case runs ours and Python Barman 3.20.1 on the same
//! catalog and asserts the same stdout, stderr and exit code: a postgres-method backup
//! verifies; a corrupted file fails it; an rsync backup without manifest fails; a generated
//! manifest is byte for byte Python's and verifies; `autogenerate_manifest` writes one
//! `pg_verifybackup` accepts; a compressed (tar) backup needs pg_verifybackup 18.

use crate::harness::pg_cluster::{pg_available, pg_bin, PgOptions};
use crate::harness::{python_barman, BarmanHome, PgCluster, Run};
use crate::majors::server_bin;
use crate::require;
use std::path::PathBuf;

/// Client tools: Debian's for 15, PostgreSQL 18's (from the wheel) for 13 and 18.
fn tools(major: u32) -> PathBuf {
    if major == 15 {
        pg_bin()
    } else {
        server_bin(18)
    }
}

struct Lab {
    home: BarmanHome,
    pg: PgCluster,
    major: u32,
}

impl Lab {
    /// A cluster of `major` archiving into the home's `pg/incoming`.
    fn new(major: u32) -> Lab {
        let home = BarmanHome::new();
        let command = crate::harness::incoming_archive_command(&home);
        let mut options = PgOptions::default()
            .wal_segsize_mb(1)
            .bin_dir(server_bin(major))
            .set("archive_mode", "on")
            .set("archive_command", &command);
        if major != 15 {
            options = options.without_tls();
        }
        let pg = PgCluster::start(options);
        pg.execute("CREATE TABLE t AS SELECT g AS i FROM generate_series(1, 20000) g");
        let lab = Lab { home, pg, major };
        lab.configure("backup_method = postgres\n");
        lab
    }

    /// Rewrite the `pg` section with `extra` (the backup method and friends).
    fn configure(&self, extra: &str) {
        let body = format!(
            "conninfo = {}\narchiver = on\nimmediate_checkpoint = true\n\
             backup_options = concurrent_backup\npath_prefix = {}\n{extra}",
            self.pg.conninfo(),
            tools(self.major).display()
        );
        self.home
            .write_config(&log_file(&self.home), &[("pg", &body)]);
    }

    /// Take a backup and return its id.
    fn backup(&self) -> String {
        let run = self.home.run(&["backup", "pg"]);
        assert_eq!(run.code, 0, "backup\n{}\n{}", run.stdout, run.stderr);
        let list = self.home.run(&["list-backups", "--minimal", "pg"]).ok();
        list.stdout.lines().next().unwrap().to_string()
    }

    fn data(&self, id: &str) -> PathBuf {
        self.home.home().join(format!("pg/base/{id}/data"))
    }
}

/// A `log_file` line, so log records stay out of the compared stderr.
fn log_file(home: &BarmanHome) -> String {
    format!("log_file = {}", home.dir().join("barman.log").display())
}

/// Run `args` with ours and with Python Barman (each given `env`), assert the same exit code,
/// stdout and stderr, and return ours.
fn same_with(home: &BarmanHome, args: &[&str], env: &[(&str, &str)]) -> Run {
    let ours = Run::of(home.barman().args(args).envs(env.iter().copied()));
    let python = Run::of(home.python_barman().args(args).envs(env.iter().copied()));
    assert_eq!(
        (ours.code, &ours.stdout, &ours.stderr),
        (python.code, &python.stdout, &python.stderr),
        "barman {args:?}: ours (left) vs Python Barman (right)"
    );
    ours
}

fn same(home: &BarmanHome, args: &[&str]) -> Run {
    same_with(home, args, &[])
}

fn requirements(major: u32) -> bool {
    let present = server_bin(major).join("initdb").is_file()
        && tools(major).join("pg_verifybackup").is_file()
        && (major != 15 || pg_available());
    crate::harness::available(
        &format!("PostgreSQL {major} and its pg_verifybackup (scripts/pg-majors)"),
        present,
    ) && crate::harness::available(python_barman::REQUIREMENT, python_barman::available())
}

/// The scenario every major runs.
fn scenario(major: u32) {
    if !requirements(major) {
        return;
    }
    let lab = Lab::new(major);
    let home = &lab.home;

    // A postgres-method backup carries PostgreSQL's manifest: it verifies.
    let postgres_id = lab.backup();
    let run = same(home, &["verify-backup", "pg", "latest"]);
    assert_eq!(
        run.stdout,
        "Verifying backup 'latest' on server ['pg']\nCalling pg_verifybackup\n\
         backup successfully verified\n"
    );
    same(home, &["-f", "json", "verify", "pg", &postgres_id]);
    // ... and already has a manifest, which generate-manifest refuses to replace.
    let run = same(home, &["generate-manifest", "pg", &postgres_id]);
    assert_eq!(run.code, 1);
    let manifest = lab.data(&postgres_id).join("backup_manifest");
    assert_eq!(
        run.stderr,
        format!(
            "EXCEPTION: File {} already exists.\nSee log file for more details.\n",
            manifest.display()
        )
    );

    // An rsync backup has no manifest: pg_verifybackup fails, Barman shows why.
    lab.configure("backup_method = local-rsync\n");
    let rsync_id = lab.backup();
    let run = same(home, &["verify-backup", "pg", "last"]);
    assert_eq!(run.code, 1);
    let expected = format!(
        "ERROR: verify backup failure on directory '{}'\nERROR: pg_verifybackup: error: ",
        lab.data(&rsync_id).display()
    );
    assert!(run.stderr.starts_with(&expected), "{}", run.stderr);
    assert!(run.stderr.contains("backup_manifest"), "{}", run.stderr);

    // generate-manifest writes the same bytes as Python Barman, and the result verifies.
    let run = home.run(&["generate-manifest", "pg", "latest"]).ok();
    assert_eq!(
        run.stdout,
        "Backup manifest for backup 'latest' successfully generated for server ['pg']\n"
    );
    let generated = lab.data(&rsync_id).join("backup_manifest");
    let ours = std::fs::read(&generated).unwrap();
    std::fs::remove_file(&generated).unwrap();
    let python = home
        .run_python(&["generate-manifest", "pg", "latest"])
        .unwrap();
    assert_eq!((python.code, &python.stdout), (0, &run.stdout));
    assert_eq!(std::fs::read(&generated).unwrap(), ours, "manifest bytes");
    same(home, &["verify-backup", "pg", &rsync_id]).ok();

    // A corrupted file in the postgres-method backup fails the verification.
    let version = lab.data(&postgres_id).join("PG_VERSION");
    let text = std::fs::read_to_string(&version).unwrap();
    std::fs::write(&version, text.replace(|c: char| c.is_ascii_digit(), "9")).unwrap();
    let run = same(home, &["verify-backup", "pg", &postgres_id]);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr
            .contains("checksum mismatch for file \"PG_VERSION\""),
        "{}",
        run.stderr
    );
    same(home, &["-f", "json", "verify-backup", "pg", &postgres_id]);

    // autogenerate_manifest: the rsync backup ends with a manifest pg_verifybackup accepts.
    lab.configure("backup_method = local-rsync\nautogenerate_manifest = true\n");
    let auto_id = lab.backup();
    assert!(lab.data(&auto_id).join("backup_manifest").is_file());
    same(home, &["verify-backup", "pg", &auto_id]).ok();

    compressed(&lab);
}

/// A gzip-compressed postgres-method backup is in tar format: pg_verifybackup 18 (the tool
/// of 13 and 18 here) verifies it with `-F tar`; 15's is refused with Barman's message.
fn compressed(lab: &Lab) {
    lab.configure("backup_method = postgres\nbackup_compression = gzip\n");
    let id = lab.backup();
    let run = same(&lab.home, &["verify-backup", "pg", &id]);
    if lab.major != 15 {
        assert_eq!(run.code, 0, "{}", run.stderr);
    } else {
        assert_eq!(run.code, 1);
        assert!(
            run.stderr.starts_with(
                "ERROR: Verification of tar format backups requires pg_verifybackup from \
                 Postgres 18 or newer (found 15."
            ),
            "{}",
            run.stderr
        );
    }
}

#[test]
fn manifests_pg15_verify_corrupt_generate_autogenerate() {
    scenario(15);
}

#[test]
fn manifests_pg13_verify_corrupt_generate_autogenerate() {
    scenario(13);
}

#[test]
fn manifests_pg18_verify_corrupt_generate_autogenerate() {
    scenario(18);
}

/// A catalog with one DONE backup (a fake data folder, no PostgreSQL needed), for the error
/// paths that stop before pg_verifybackup runs or find no tool.
fn fake_catalog(home: &BarmanHome, server_extra: &str) -> String {
    let id = "20260102T030405";
    let meta = home.home().join("pg/meta");
    std::fs::create_dir_all(&meta).unwrap();
    std::fs::create_dir_all(home.home().join(format!("pg/base/{id}/data/global"))).unwrap();
    std::fs::write(
        home.home().join(format!("pg/base/{id}/data/PG_VERSION")),
        "15\n",
    )
    .unwrap();
    std::fs::write(
        meta.join(format!("{id}-backup.info")),
        std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/barman-3.20/catalog/pgr-20261124T004344-backup.info"
        ))
        .unwrap()
        .replace("20261124T004344", id)
        .replace("server_name=pgr", "server_name=pg")
        .replace(
            "tablespaces=[('ts1', 16386, '/srv/pg/ts1')]",
            "tablespaces=None",
        ),
    )
    .unwrap();
    let empty = home.dir().join("no-tools");
    std::fs::create_dir_all(&empty).unwrap();
    home.write_config(
        &log_file(home),
        &[(
            "pg",
            &format!(
                "conninfo = host=127.0.0.1 port=1\nbackup_method = local-rsync\narchiver = on\n\
                 backup_options = concurrent_backup\npath_prefix = {}\n{server_extra}",
                empty.display()
            ),
        )],
    );
    id.to_string()
}

#[test]
fn manifests_error_paths_match_barman() {
    require!(python_barman::REQUIREMENT, python_barman::available());
    let home = BarmanHome::new();
    let id = fake_catalog(&home, "");
    // No pg_verifybackup on path_prefix nor PATH.
    let no_tools: &[(&str, &str)] = &[("PATH", "/usr/bin:/bin")];
    let run = same_with(&home, &["verify-backup", "pg", "oldest"], no_tools);
    assert_eq!(run.code, 1);
    assert_eq!(run.stderr, "ERROR: pg_verifybackup not found\n");
    same_with(&home, &["-f", "json", "verify", "pg", &id], no_tools);
    for command in ["verify-backup", "generate-manifest"] {
        let run = same(&home, &[command, "pg", "nope"]);
        assert_eq!(
            (run.code, run.stderr.as_str()),
            (1, "ERROR: Unknown backup 'nope' for server 'pg'\n")
        );
        same(&home, &[command, "pg", "20990101T000000"]);
        same(&home, &[command, "all", &id]);
        same(&home, &[command, "missing", &id]);
    }

    // generate-manifest: the data folder vanished, then a broken link inside it.
    let data = home.home().join(format!("pg/base/{id}/data"));
    let moved = home.dir().join("moved");
    std::fs::rename(&data, &moved).unwrap();
    let run = same(&home, &["generate-manifest", "pg", &id]);
    assert_eq!(
        run.stderr,
        format!(
            "EXCEPTION: {}\nSee log file for more details.\n",
            data.display()
        )
    );
    std::fs::rename(&moved, &data).unwrap();
    std::os::unix::fs::symlink("/nowhere", data.join("global/dangling")).unwrap();
    let run = same(&home, &["generate-manifest", "pg", &id]);
    assert!(
        run.stderr.starts_with("EXCEPTION: Missing file "),
        "{}",
        run.stderr
    );
    std::fs::remove_file(data.join("global/dangling")).unwrap();

    // An encrypted backup is refused; an inactive server is skipped by generate-manifest
    // only.
    let info = home.home().join(format!("pg/meta/{id}-backup.info"));
    let text = std::fs::read_to_string(&info).unwrap();
    std::fs::write(&info, text.replace("encryption=None", "encryption=gpg")).unwrap();
    let run = same(&home, &["verify-backup", "pg", &id]);
    assert!(
        run.stderr
            .ends_with("ERROR: Backup verification is not supported for encrypted backups\n"),
        "{}",
        run.stderr
    );
    std::fs::write(&info, text).unwrap();
    fake_catalog(&home, "active = false\n");
    let run = same(&home, &["generate-manifest", "pg", &id]);
    assert_eq!(
        (run.code, run.stdout.as_str()),
        (0, "Skipping inactive server 'pg'\n")
    );
    same_with(&home, &["verify-backup", "pg", &id], no_tools);
    assert!(!data.join("backup_manifest").exists());
    fake_catalog(&home, "");
    // The manifest of a data folder holding one file, byte for byte Python's.
    let run = home.run(&["generate-manifest", "pg", &id]).ok();
    assert!(run
        .stdout
        .ends_with("successfully generated for server ['pg']\n"));
    let ours = std::fs::read(data.join("backup_manifest")).unwrap();
    std::fs::remove_file(data.join("backup_manifest")).unwrap();
    let python = home.run_python(&["generate-manifest", "pg", &id]).unwrap();
    assert_eq!((python.code, &python.stdout), (0, &run.stdout));
    assert_eq!(std::fs::read(data.join("backup_manifest")).unwrap(), ours);
}
