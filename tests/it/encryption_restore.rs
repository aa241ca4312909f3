//! Encrypted backups (`encryption = gpg`, postgres method, gzip tar) taken by us and by
//! Python Barman 3.20.1, each restored by the other, locally and over ssh, WAL included
//! (copied, or fetched through barman-wal-restore → get-wal); the recovered clusters start
//! and hold every row. Helpers from `encryption.rs`.

use crate::encryption::{
    encryption_conf, exception_lines, gpg_available, is_pgp, ours, python, xlog_db, GpgHome,
};
use crate::harness::pg_cluster::{give_to_postgres, pg_available, shared_tempdir};
use crate::harness::sshd::ssh_available;
use crate::harness::{python_barman, BarmanHome, PgCluster, Sshd};
use crate::require;
use std::process::Command;

/// A cluster backed up with `backup_method = postgres`, gzip tar, gpg: WAL archived into
/// the home through incoming/.
struct Source {
    home: BarmanHome,
    pg: PgCluster,
    gpg: GpgHome,
}

fn source() -> Source {
    let gpg = GpgHome::new(true);
    let home = BarmanHome::new();
    let archive_command = crate::harness::incoming_archive_command(&home);
    let pg = crate::harness::archiving_cluster(&archive_command);
    pg.create_tablespace("tbs1");
    pg.execute("CREATE TABLE marks (tag text, n int) TABLESPACE tbs1");
    mark(&pg, "base");
    home.write_config(
        "",
        &[(
            "pg",
            &format!(
                "conninfo = {c}\nstreaming_conninfo = {c}\nbackup_method = postgres\narchiver = on\nimmediate_checkpoint = true\ncompression = gzip\n{}",
                encryption_conf(&gpg, Some(&format!("cat {}", gpg.pass_file().display()))),
                c = pg.conninfo()
            ),
        )],
    );
    Source { home, pg, gpg }
}

fn mark(pg: &PgCluster, tag: &str) {
    pg.execute(&format!(
        "INSERT INTO marks SELECT '{tag}', g FROM generate_series(1, 100) g"
    ));
}

/// Close the current segment, wait until PostgreSQL archived it, archive it (encrypted).
fn ship(src: &Source) {
    src.pg.execute("SELECT pg_switch_wal()");
    crate::harness::wait_until("archiving", || {
        src.pg.query_scalar(
            "SELECT count(*) FROM pg_ls_dir('pg_wal/archive_status') f WHERE f LIKE '%.ready'",
        ) == "0"
    });
    ours(&src.home, &["archive-wal", "pg"]).ok();
}

fn newest_backup(home: &BarmanHome) -> String {
    let run = ours(home, &["list-backups", "pg", "--minimal"]);
    run.stdout.lines().next().expect("a backup").to_string()
}

fn tags(pg: &PgCluster) -> Vec<String> {
    pg.query_rows("SELECT tag FROM marks GROUP BY tag ORDER BY tag")
        .into_iter()
        .map(|r| r[0].clone())
        .collect()
}

fn wait_promoted(pg: &PgCluster) {
    crate::harness::wait_until("the end of recovery", || {
        pg.query_scalar("SELECT pg_is_in_recovery()") == "f"
    });
}

/// What an encrypted backup holds on disk: the tar files only as `.gpg`, OpenPGP.
fn assert_encrypted_backup(home: &BarmanHome, id: &str, tablespace_oid: &str) {
    let base = home.server_dir("pg").join("base").join(id);
    let meta = home.server_dir("pg").join(format!("meta/{id}-backup.info"));
    let info = std::fs::read_to_string(&meta)
        .or_else(|_| std::fs::read_to_string(base.join("backup.info")))
        .unwrap();
    assert!(info.lines().any(|l| l == "encryption=gpg"), "{info}");
    assert!(info.lines().any(|l| l == "compression=gzip"), "{info}");
    let data = base.join("data");
    for stem in ["base", tablespace_oid] {
        let enc = data.join(format!("{stem}.tar.gz.gpg"));
        assert!(
            is_pgp(&enc),
            "{} is not OpenPGP: {:?} in {:?}",
            enc.display(),
            Command::new("file").arg(&enc).output().unwrap(),
            std::fs::read_dir(&data).unwrap().collect::<Vec<_>>()
        );
        assert!(!data.join(format!("{stem}.tar.gz")).exists());
    }
    // Backup sizes are those of the encrypted files.
    let size: u64 = info
        .lines()
        .find_map(|l| l.strip_prefix("size="))
        .unwrap()
        .parse()
        .unwrap();
    assert!(size > 0);
}

/// An encrypted backup taken by us is restored by Python Barman, one taken by Python is
/// restored by us; both recovered clusters start and hold every row. Also: verify-backup
/// refuses, a wrong passphrase stops our restore before anything is written.
#[test]
fn encryption_backup_interop_with_python_barman() {
    require!("PostgreSQL 15", pg_available());
    require!("gpg and file", gpg_available());
    require!(python_barman::REQUIREMENT, python_barman::available());
    let src = source();
    let run = ours(&src.home, &["backup", "pg"]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert!(
        run.stdout
            .contains("Encrypting backup using gpg encryption"),
        "{}",
        run.stdout
    );
    let ours_id = newest_backup(&src.home);
    let oid = src
        .pg
        .query_scalar("SELECT oid FROM pg_tablespace WHERE spcname = 'tbs1'");
    assert_encrypted_backup(&src.home, &ours_id, &oid);
    mark(&src.pg, "between");
    ship(&src);
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let py = python(&src.home, &["backup", "pg"]);
    assert_eq!(py.code, 0, "{}\n{}", py.stdout, py.stderr);
    let theirs_id = newest_backup(&src.home);
    assert_ne!(ours_id, theirs_id);
    assert_encrypted_backup(&src.home, &theirs_id, &oid);
    mark(&src.pg, "after");
    ship(&src);
    // Every archived WAL is encrypted.
    let db = xlog_db(&src.home);
    assert!(
        db.lines()
            .all(|l| l.ends_with("\tgpg") || l.contains(".backup\t") || l.contains(".history\t")),
        "{db}"
    );
    let verify = ours(&src.home, &["verify-backup", "pg", &ours_id]);
    assert!(
        verify
            .stderr
            .contains("Backup verification is not supported for encrypted backups"),
        "{}\n{}",
        verify.stdout,
        verify.stderr
    );
    assert_eq!(verify.code, 1);
    let encryption_line = |run: crate::harness::Run| {
        run.stdout
            .lines()
            .find(|l| l.trim_start().starts_with("Encryption"))
            .map(str::to_string)
    };
    let shown = encryption_line(ours(&src.home, &["show-backup", "pg", &ours_id]));
    assert!(
        shown.as_deref().is_some_and(|l| l.ends_with(": gpg")),
        "{shown:?}"
    );
    assert_eq!(
        shown,
        encryption_line(python(&src.home, &["show-backup", "pg", &ours_id]))
    );

    for (who, id) in [("python", ours_id.as_str()), ("rust", theirs_id.as_str())] {
        let dest = src.home.dir().join(format!("restored-by-{who}"));
        let reloc = shared_tempdir();
        let staging = shared_tempdir();
        let rule = format!("tbs1:{}", reloc.path().join("t").display());
        let args = [
            "restore",
            "pg",
            id,
            dest.to_str().unwrap(),
            "--tablespace",
            &rule,
            "--staging-path",
            staging.path().to_str().unwrap(),
            "--target-action",
            "promote",
            "--target-tli",
            "latest",
        ];
        let run = if who == "python" {
            python(&src.home, &args)
        } else {
            ours(&src.home, &args)
        };
        assert_eq!(run.code, 0, "{who}: {}\n{}", run.stdout, run.stderr);
        if who == "rust" {
            assert!(
                run.stdout.contains(&format!(
                    "Decrypting files from backup '{id}' for server 'pg'."
                )),
                "{}",
                run.stdout
            );
            let left = std::fs::read_dir(staging.path()).unwrap().count();
            assert_eq!(left, 0, "staging left behind");
        }
        let mut pg = PgCluster::start_in_place(&dest, &[]);
        wait_promoted(&pg);
        assert_eq!(
            tags(&pg),
            ["after", "base", "between"],
            "{who} restoring {id}"
        );
        pg.stop();
    }

    // Wrong passphrase: our restore stops before the destination is written.
    let conf = std::fs::read_to_string(src.home.config_path()).unwrap();
    std::fs::write(
        src.home.config_path(),
        conf.replace(
            &format!("cat {}", src.gpg.pass_file().display()),
            "echo wrong",
        ),
    )
    .unwrap();
    let dest = src.home.dir().join("wrong-passphrase");
    let staging = shared_tempdir();
    let rule = format!("tbs1:{}", src.home.dir().join("wrong-tbs").display());
    let args = [
        "restore",
        "pg",
        ours_id.as_str(),
        dest.to_str().unwrap(),
        "--tablespace",
        &rule,
        "--staging-path",
        staging.path().to_str().unwrap(),
    ];
    let run = ours(&src.home, &args);
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    assert_eq!(
        exception_lines(&run.stderr),
        ["EXCEPTION: Error: Bad passphrase provided for decryption."]
    );
    assert!(
        !dest.join("PG_VERSION").exists() && !dest.join("global").exists(),
        "half-restored PGDATA"
    );
    assert_eq!(std::fs::read_dir(staging.path()).unwrap().count(), 0);
    let their_staging = shared_tempdir();
    let mut their_args = args;
    their_args[7] = their_staging.path().to_str().unwrap();
    let theirs = python(&src.home, &their_args);
    assert_eq!(theirs.code, 1);
    assert_eq!(
        exception_lines(&run.stderr),
        exception_lines(&theirs.stderr)
    );

    // No passphrase command at all: Barman's error, from both.
    std::fs::write(
        src.home.config_path(),
        conf.lines()
            .filter(|l| !l.starts_with("encryption_passphrase_command"))
            .map(|l| format!("{l}\n"))
            .collect::<String>(),
    )
    .unwrap();
    let run = ours(&src.home, &args);
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    assert_eq!(
        exception_lines(&run.stderr),
        [format!("ERROR: Encrypted backup '{ours_id}' was found for server 'pg', but 'encryption_passphrase_command' is not configured correctly. Please fix it before attempting a restore.")]
    );
    assert!(!dest.join("PG_VERSION").exists());
    let their_staging = shared_tempdir();
    their_args[7] = their_staging.path().to_str().unwrap();
    let theirs = python(&src.home, &their_args);
    assert_eq!(theirs.code, 1);
    assert_eq!(
        exception_lines(&run.stderr),
        exception_lines(&theirs.stderr)
    );
}

/// Remote restores: decrypted on this host, copied over ssh (WAL included), started; then
/// with get-wal, the recovered server fetches encrypted WAL through our barman-wal-restore
/// over ssh, which runs our get-wal, which decrypts.
#[test]
fn encryption_remote_restore_and_wal_restore_over_ssh_decrypt() {
    require!("PostgreSQL 15", pg_available());
    require!("gpg and file", gpg_available());
    require!("sshd", ssh_available());
    let src = source();
    ours(&src.home, &["backup", "pg"]).ok();
    let id = newest_backup(&src.home);
    mark(&src.pg, "after");
    ship(&src);

    let sshd = Sshd::start("postgres");
    let target_dir = shared_tempdir();
    give_to_postgres(target_dir.path());
    let remote = target_dir.path().join("remote-data");
    let rule = format!("tbs1:{}", target_dir.path().join("remote-tbs1").display());
    let staging = shared_tempdir();
    let run = ours(
        &src.home,
        &[
            "restore",
            "pg",
            &id,
            remote.to_str().unwrap(),
            "--remote-ssh-command",
            &sshd.ssh_command(),
            "--tablespace",
            &rule,
            "--staging-path",
            staging.path().to_str().unwrap(),
            "--target-action",
            "promote",
            "--target-tli",
            "latest",
        ],
    );
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert_eq!(std::fs::read_dir(staging.path()).unwrap().count(), 0);
    let mut pg = PgCluster::start_in_place(&remote, &[]);
    wait_promoted(&pg);
    assert_eq!(tags(&pg), ["after", "base"]);
    pg.stop();
    let back = Sshd::start(&crate::harness::barman_home::current_user());
    let client = back.client_path_dir("postgres");
    let restore_command = format!(
        "PATH={client}:/usr/bin:/bin {bin} -P -U {user} --port {port} -c {config} 127.0.0.1 pg %f %p",
        client = client.display(),
        bin = env!("CARGO_BIN_EXE_barman-wal-restore"),
        user = crate::harness::barman_home::current_user(),
        port = back.port(),
        config = src.home.config_path().display(),
    );
    let dest = src.home.dir().join("getwal");
    let rule = format!("tbs1:{}", src.home.dir().join("getwal-tbs1").display());
    let run = ours(
        &src.home,
        &[
            "restore",
            "pg",
            &id,
            dest.to_str().unwrap(),
            "--get-wal",
            "--restore-command",
            &restore_command,
            "--target-action",
            "promote",
            "--target-tli",
            "latest",
            "--tablespace",
            &rule,
            "--staging-path",
            staging.path().to_str().unwrap(),
        ],
    );
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let mut pg = PgCluster::start_in_place(&dest, &[]);
    wait_promoted(&pg);
    assert_eq!(tags(&pg), ["after", "base"]);
    pg.stop();
}
