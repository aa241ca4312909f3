//! `encryption = gpg` with a real gpg and a throwaway passphrase-protected RSA key per
//! test: WAL encrypted at archive time and backups encrypted after the copy, by us and by
//! Python Barman 3.20.1, each read back by the other (get-wal, restore, the recovered
//! cluster started and its rows read); wrong, failing or missing passphrases and a
//! missing secret key fail as Barman fails and leave nothing behind.
//!
//! Both implementations find the key the same way: gpg reads `GNUPGHOME`. Each test's
//! `GNUPGHOME` is set by a `gpg` wrapper in a folder the server's `path_prefix` names
//! (both Barmans search `path_prefix` first for gpg), so it also holds for the `get-wal`
//! that `barman-wal-restore` runs over ssh, whose environment sshd does not pass on.

use crate::harness::pg_cluster::{give_to_postgres, pg_available, shared_tempdir, PgOptions};
use crate::harness::sshd::ssh_available;
use crate::harness::{python_barman, BarmanHome, PgCluster, Run, Sshd};
use crate::require;
use std::path::{Path, PathBuf};
use std::process::Command;

const KEY: &str = "barman-test@example.invalid";
const PASSPHRASE: &str = "correct horse battery staple";

/// A private `GNUPGHOME`, with or without the test key, and the `gpg` wrapper using it.
struct GpgHome {
    dir: tempfile::TempDir,
}

fn gpg_available() -> bool {
    Command::new("gpg")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
        && Command::new("file")
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
}

impl GpgHome {
    fn new(with_key: bool) -> GpgHome {
        use std::os::unix::fs::PermissionsExt;
        let dir = shared_tempdir();
        let home = dir.path().join("gnupg");
        std::fs::create_dir(&home).unwrap();
        std::fs::set_permissions(&home, std::fs::Permissions::from_mode(0o700)).unwrap();
        let bin = dir.path().join("bin");
        std::fs::create_dir(&bin).unwrap();
        let real = String::from_utf8(
            Command::new("sh")
                .args(["-c", "command -v gpg"])
                .output()
                .unwrap()
                .stdout,
        )
        .unwrap();
        let wrapper = bin.join("gpg");
        std::fs::write(
            &wrapper,
            format!(
                "#!/bin/sh\nGNUPGHOME='{}' exec {} \"$@\"\n",
                home.display(),
                real.trim()
            ),
        )
        .unwrap();
        std::fs::set_permissions(&wrapper, std::fs::Permissions::from_mode(0o755)).unwrap();
        let gpg = GpgHome { dir };
        if with_key {
            let params = gpg.dir.path().join("key-params");
            std::fs::write(
                &params,
                format!("Key-Type: RSA\nKey-Length: 2048\nSubkey-Type: RSA\nSubkey-Length: 2048\nName-Real: Barman Test\nName-Email: {KEY}\nExpire-Date: 0\nPassphrase: {PASSPHRASE}\n%commit\n"),
            )
            .unwrap();
            let run = Run::of(
                gpg.command()
                    .args(["--batch", "--pinentry-mode", "loopback", "--generate-key"])
                    .arg(&params),
            );
            assert_eq!(run.code, 0, "gpg --generate-key: {}", run.stderr);
        } else {
            // Create the keyring, so gpg's first-use notice does not show in messages.
            Run::of(gpg.command().args(["--batch", "--list-keys"]));
        }
        // No passphrase cache from now on: every decryption must prove its passphrase (a
        // cached one would let the wrong-passphrase cases pass). Key generation needed it.
        std::fs::write(
            gpg.home().join("gpg-agent.conf"),
            "default-cache-ttl 0\nmax-cache-ttl 0\nallow-loopback-pinentry\n",
        )
        .unwrap();
        let _ = Command::new("gpgconf")
            .args(["--kill", "gpg-agent"])
            .env("GNUPGHOME", gpg.home())
            .output();
        std::fs::write(gpg.pass_file(), format!("{PASSPHRASE}\n")).unwrap();
        gpg
    }

    fn home(&self) -> PathBuf {
        self.dir.path().join("gnupg")
    }

    /// The folder holding the `gpg` wrapper (the server's `path_prefix`).
    fn prefix(&self) -> PathBuf {
        self.dir.path().join("bin")
    }

    fn pass_file(&self) -> PathBuf {
        self.dir.path().join("passphrase")
    }

    fn command(&self) -> Command {
        let mut cmd = Command::new(self.prefix().join("gpg"));
        cmd.env_remove("GNUPGHOME");
        cmd
    }
}

impl Drop for GpgHome {
    fn drop(&mut self) {
        let _ = Command::new("gpgconf")
            .args(["--kill", "gpg-agent"])
            .env("GNUPGHOME", self.home())
            .output();
    }
}

/// The encryption settings of a server using `gpg`'s key, with `passphrase_command`.
fn encryption_conf(gpg: &GpgHome, passphrase_command: Option<&str>) -> String {
    let mut text = format!(
        "encryption = gpg\nencryption_key_id = {KEY}\npath_prefix = {}\nbackup_compression = gzip\nbackup_compression_format = tar\n",
        gpg.prefix().display()
    );
    if let Some(cmd) = passphrase_command {
        text.push_str(&format!("encryption_passphrase_command = {cmd}\n"));
    }
    text
}

fn ours(home: &BarmanHome, args: &[&str]) -> Run {
    Run::of(home.barman().args(args))
}

fn python(home: &BarmanHome, args: &[&str]) -> Run {
    Run::of(home.python_barman().args(args))
}

/// `size` pseudo-random bytes (incompressible, so gzip cannot hide a missing encryption).
fn noise(seed: u64, size: usize) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..size)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

/// An OpenPGP message encrypted to an RSA key: a Public-Key Encrypted Session Key packet
/// (old format, two length octets, version 3), as gpg 2.2 writes it.
fn is_pgp(path: &Path) -> bool {
    let head = std::fs::read(path).unwrap();
    head.len() > 4 && head[0] == 0x85 && head[3] == 3
}

/// What Python Barman relies on to know a file is encrypted (`file --brief` saying "PGP"
/// and "ENCRYPTED"). libmagic only knows the packet lengths of full-size RSA session keys:
/// when the encrypted session key happens to start with a zero byte (about 1 message in
/// 256), `file` says `data` and Python Barman serves the file undecrypted.
fn file_says_encrypted(path: &Path) -> bool {
    let out = Command::new("file")
        .arg("--brief")
        .arg(path)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).to_uppercase();
    text.contains("PGP") && text.contains("ENCRYPTED")
}

fn xlog_db(home: &BarmanHome) -> String {
    std::fs::read_to_string(home.server_dir("pg").join("wals/pg-xlog.db")).unwrap()
}

fn exception_lines(stderr: &str) -> Vec<&str> {
    stderr
        .lines()
        .filter(|l| l.starts_with("ERROR: ") || l.starts_with("EXCEPTION: "))
        .collect()
}

/// A server with WAL in incoming/ only (no PostgreSQL needed for archive-wal/get-wal).
fn wal_home(gpg: &GpgHome, passphrase_command: Option<&str>) -> BarmanHome {
    let home = BarmanHome::new();
    home.write_config(
        "",
        &[(
            "pg",
            &format!(
                "conninfo = host=127.0.0.1 port=1 dbname=postgres\nstreaming_conninfo = host=127.0.0.1 port=1\nbackup_method = postgres\narchiver = on\ncompression = gzip\n{}",
                encryption_conf(gpg, passphrase_command)
            ),
        )],
    );
    std::fs::create_dir_all(home.server_dir("pg").join("incoming")).unwrap();
    home
}

fn put_incoming(home: &BarmanHome, name: &str, bytes: &[u8]) {
    std::fs::write(home.server_dir("pg").join("incoming").join(name), bytes).unwrap();
}

fn archived(home: &BarmanHome, name: &str) -> PathBuf {
    home.server_dir("pg")
        .join("wals")
        .join(&name[..16])
        .join(name)
}

const WAL1: &str = "000000010000000000000001";
const WAL2: &str = "000000010000000000000002";
const WAL3: &str = "000000010000000000000003";

/// WAL archived encrypted by us is served by Python's get-wal, and the reverse; both
/// record `gzip` + `gpg` in xlog.db; the files on disk are OpenPGP, not gzip nor WAL.
#[test]
fn encryption_wal_archived_by_either_is_served_by_the_other() {
    require!("gpg and file", gpg_available());
    require!(python_barman::REQUIREMENT, python_barman::available());
    let gpg = GpgHome::new(true);
    let pass = format!("cat {}", gpg.pass_file().display());
    let home = wal_home(&gpg, Some(&pass));
    let (one, two) = (noise(1, 1 << 20), noise(2, 1 << 20));
    put_incoming(&home, WAL1, &one);
    ours(&home, &["archive-wal", "pg"]).ok();
    put_incoming(&home, WAL2, &two);
    python(&home, &["archive-wal", "pg"]).ok();
    let db = xlog_db(&home);
    let lines: Vec<Vec<&str>> = db.lines().map(|l| l.split('\t').collect()).collect();
    assert_eq!(lines.len(), 2, "{db}");
    for (line, name) in lines.iter().zip([WAL1, WAL2]) {
        assert_eq!(line[0], name);
        assert_eq!(&line[3..], ["gzip", "gpg"], "{db}");
        let path = archived(&home, name);
        assert!(is_pgp(&path), "{name} is not OpenPGP on disk");
        let stored = std::fs::read(&path).unwrap();
        assert_eq!(line[1], stored.len().to_string());
        assert_ne!(&stored[..2], &[0x1f, 0x8b], "{name} stored as gzip");
    }
    // Nothing left behind by either archiver.
    let left: Vec<_> = std::fs::read_dir(archived(&home, WAL1).parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(left.len(), 2, "{left:?}");
    for (name, plain) in [(WAL1, &one), (WAL2, &two)] {
        let served = Command::new(env!("CARGO_BIN_EXE_barman"))
            .arg("-c")
            .arg(home.config_path())
            .args(["get-wal", "pg", name])
            .output()
            .unwrap();
        assert!(served.stdout == *plain, "ours served {name} wrong");
        let theirs = home
            .python_barman()
            .args(["get-wal", "pg", name])
            .output()
            .unwrap();
        if file_says_encrypted(&archived(&home, name)) {
            assert!(theirs.stdout == *plain, "python served {name} wrong");
        } else {
            eprintln!("file(1) does not recognise {name}: Python Barman serves it encrypted");
        }
        // Re-compressed on request, after decryption.
        let gz = home
            .barman()
            .args(["get-wal", "-z", "pg", name])
            .output()
            .unwrap();
        let mut unpacked = Vec::new();
        std::io::Read::read_to_end(
            &mut flate2::read::GzDecoder::new(gz.stdout.as_slice()),
            &mut unpacked,
        )
        .unwrap();
        assert!(unpacked == *plain, "-z {name}");
    }
    // The decryption folders under wals/ are gone.
    let hidden: Vec<_> = std::fs::read_dir(home.server_dir("pg").join("wals"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.'))
        .collect();
    assert!(hidden.is_empty(), "{hidden:?}");
    // `check` reports the encryption test as Barman does.
    let line = |run: Run| {
        run.stdout
            .lines()
            .find(|l| l.contains("encryption:"))
            .map(str::to_string)
    };
    let our_check = line(ours(&home, &["check", "pg"]));
    assert_eq!(
        our_check.as_deref(),
        Some("\tencryption: OK (encryption test succeeded)")
    );
    assert_eq!(our_check, line(python(&home, &["check", "pg"])));
}

/// Wrong, failing and missing passphrases, and a missing secret key: Barman's messages,
/// exit 1, nothing written into the output folder.
#[test]
fn encryption_get_wal_refuses_without_the_right_passphrase() {
    require!("gpg and file", gpg_available());
    require!(python_barman::REQUIREMENT, python_barman::available());
    let gpg = GpgHome::new(true);
    let home = wal_home(&gpg, None);
    put_incoming(&home, WAL1, &noise(3, 1 << 20));
    ours(&home, &["archive-wal", "pg"]).ok();
    // Python Barman only decrypts what file(1) recognises (see `file_says_encrypted`).
    let compared: &[&str] = if file_says_encrypted(&archived(&home, WAL1)) {
        &["rust", "python"]
    } else {
        &["rust"]
    };
    let nokey = GpgHome::new(false);
    let cases: Vec<(&str, String, &GpgHome)> = vec![
        ("no command", String::new(), &gpg),
        (
            "wrong",
            "encryption_passphrase_command = echo wrong\n".into(),
            &gpg,
        ),
        (
            "failing",
            "encryption_passphrase_command = exit 3\n".into(),
            &gpg,
        ),
        (
            "empty",
            "encryption_passphrase_command = echo\n".into(),
            &gpg,
        ),
        (
            "no secret key",
            format!(
                "encryption_passphrase_command = cat {}\n",
                gpg.pass_file().display()
            ),
            &nokey,
        ),
    ];
    for (case, extra, keys) in cases {
        let conf = std::fs::read_to_string(home.config_path()).unwrap();
        let base: String = conf
            .lines()
            .filter(|l| {
                !l.starts_with("encryption_passphrase_command") && !l.starts_with("path_prefix")
            })
            .map(|l| format!("{l}\n"))
            .collect();
        std::fs::write(
            home.config_path(),
            format!("{base}{extra}path_prefix = {}\n", keys.prefix().display()),
        )
        .unwrap();
        let mut results = Vec::new();
        for &who in compared {
            let out_dir = shared_tempdir();
            let dir = out_dir.path().to_str().unwrap();
            let args = ["get-wal", "-o", dir, "pg", WAL1];
            let run = if who == "rust" {
                ours(&home, &args)
            } else {
                python(&home, &args)
            };
            assert_eq!(run.code, 1, "{case} {who}: {}\n{}", run.stdout, run.stderr);
            let written: Vec<_> = std::fs::read_dir(out_dir.path())
                .unwrap()
                .map(|e| e.unwrap().path())
                .filter(|p| std::fs::metadata(p).unwrap().len() > 0)
                .collect();
            assert!(written.is_empty(), "{case} {who} wrote {written:?}");
            results.push(run.stderr);
        }
        if let [ours, theirs] = &results[..] {
            assert_eq!(exception_lines(ours), exception_lines(theirs), "{case}");
        }
        let ours_first = exception_lines(&results[0]).first().map(|l| l.to_string());
        let want = match case {
            "no command" => "ERROR: Encrypted WAL file '000000010000000000000001' detected, but no 'encryption_passphrase_command' is configured.",
            "wrong" => "EXCEPTION: Error: Bad passphrase provided for decryption.",
            "failing" => "EXCEPTION: Command failed with code 3",
            "empty" => "EXCEPTION: The command returned an empty passphrase",
            _ => "EXCEPTION: {'ret': 2, 'out': '', 'err': 'gpg: encrypted with",
        };
        assert!(
            ours_first.as_deref().is_some_and(|l| l.starts_with(want)),
            "{case}: {ours_first:?}"
        );
    }
    // Our runs left no decryption folder under wals/ (Python leaves its own: removed
    // here so the check is about ours).
    let wals = home.server_dir("pg").join("wals");
    for entry in std::fs::read_dir(&wals).unwrap() {
        let path = entry.unwrap().path();
        if path.file_name().unwrap().to_string_lossy().starts_with('.') {
            std::fs::remove_dir_all(&path).unwrap();
        }
    }
    let conf = std::fs::read_to_string(home.config_path()).unwrap();
    std::fs::write(
        home.config_path(),
        conf.replace(
            &nokey.prefix().display().to_string(),
            &gpg.prefix().display().to_string(),
        )
        .replace(
            "encryption_passphrase_command = cat",
            "encryption_passphrase_command = echo wrong #",
        ),
    )
    .unwrap();
    let out_dir = shared_tempdir();
    let run = ours(
        &home,
        &[
            "get-wal",
            "-o",
            out_dir.path().to_str().unwrap(),
            "pg",
            WAL1,
        ],
    );
    assert_eq!(run.code, 1);
    let hidden = std::fs::read_dir(&wals)
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .starts_with('.')
        })
        .count();
    assert_eq!(hidden, 0, "decryption folder left behind");
}

/// A key gpg cannot encrypt to: `check` fails as Barman's does, and archive-wal leaves the
/// WAL in incoming/, nothing in the archive nor in xlog.db.
#[test]
fn encryption_unknown_key_fails_check_and_archives_nothing() {
    require!("gpg and file", gpg_available());
    require!(python_barman::REQUIREMENT, python_barman::available());
    let gpg = GpgHome::new(true);
    let home = wal_home(&gpg, None);
    let conf = std::fs::read_to_string(home.config_path()).unwrap();
    std::fs::write(
        home.config_path(),
        conf.replace(KEY, "nobody@example.invalid"),
    )
    .unwrap();
    let line = |run: Run| {
        run.stdout
            .lines()
            .find(|l| l.contains("encryption:"))
            .map(str::to_string)
    };
    let ours_check = line(ours(&home, &["check", "pg"]));
    assert_eq!(
        ours_check.as_deref(),
        Some("\tencryption: FAILED (encryption test failed. Check the log file for more details)")
    );
    assert_eq!(ours_check, line(python(&home, &["check", "pg"])));
    put_incoming(&home, WAL3, &noise(4, 1 << 20));
    let run = ours(&home, &["archive-wal", "pg"]);
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    assert!(home.server_dir("pg").join("incoming").join(WAL3).exists());
    assert!(!archived(&home, WAL3).exists());
    let dir = archived(&home, WAL3).parent().unwrap().to_path_buf();
    let left: Vec<_> = std::fs::read_dir(&dir)
        .map(|d| d.map(|e| e.unwrap().file_name()).collect())
        .unwrap_or_default();
    assert!(left.is_empty(), "{left:?}");
    let db = home.server_dir("pg").join("wals/pg-xlog.db");
    assert_eq!(std::fs::read_to_string(db).unwrap_or_default(), "");
    // Missing settings are named as Barman names them.
    std::fs::write(
        home.config_path(),
        conf.replace("backup_compression_format = tar\n", ""),
    )
    .unwrap();
    let ours_check = line(ours(&home, &["check", "pg"]));
    assert_eq!(
        ours_check.as_deref(),
        Some(
            "\tencryption: FAILED (Encryption is set as gpg, but backup_compression_format != tar)"
        )
    );
    assert_eq!(ours_check, line(python(&home, &["check", "pg"])));
}

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
    let incoming = home.home().join("pg/incoming");
    std::fs::create_dir_all(&incoming).unwrap();
    give_to_postgres(&incoming);
    let archive_command = format!(
        "'test ! -f {inc}/%f && cp %p {inc}/.%f.tmp && mv {inc}/.%f.tmp {inc}/%f'",
        inc = incoming.display()
    );
    let pg = PgCluster::start(
        PgOptions {
            wal_segsize_mb: Some(1),
            ..PgOptions::default()
        }
        .set("archive_mode", "on")
        .set("archive_command", &archive_command),
    );
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
