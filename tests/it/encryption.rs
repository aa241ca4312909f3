//! `encryption = gpg` with a real gpg and a throwaway passphrase-protected RSA key per
//! test: WAL encrypted at archive time by us and by Python Barman 3.20.1, each served by
//! the other's get-wal; wrong, failing or missing passphrases and a missing secret key
//! fail as Barman fails and leave nothing behind; a kill after gpg loses nothing. The
//! backup and restore side is in `encryption_restore.rs`, which shares these helpers.
//!
//! Both implementations find the key the same way: gpg reads `GNUPGHOME`. Each test's
//! `GNUPGHOME` is set by a `gpg` wrapper in a folder the server's `path_prefix` names
//! (both Barmans search `path_prefix` first for gpg), so it also holds for the `get-wal`
//! that `barman-wal-restore` runs over ssh, whose environment sshd does not pass on.

use crate::harness::pg_cluster::shared_tempdir;
use crate::harness::{python_barman, BarmanHome, Run};
use crate::require;
use std::path::{Path, PathBuf};
use std::process::Command;

pub(crate) const KEY: &str = "barman-test@example.invalid";
const PASSPHRASE: &str = "correct horse battery staple";

/// A private `GNUPGHOME`, with or without the test key, and the `gpg` wrapper using it.
pub(crate) struct GpgHome {
    dir: tempfile::TempDir,
}

pub(crate) fn gpg_available() -> bool {
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
    pub(crate) fn new(with_key: bool) -> GpgHome {
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

    pub(crate) fn home(&self) -> PathBuf {
        self.dir.path().join("gnupg")
    }

    /// The folder holding the `gpg` wrapper (the server's `path_prefix`).
    pub(crate) fn prefix(&self) -> PathBuf {
        self.dir.path().join("bin")
    }

    pub(crate) fn pass_file(&self) -> PathBuf {
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
pub(crate) fn encryption_conf(gpg: &GpgHome, passphrase_command: Option<&str>) -> String {
    let mut text = format!(
        "encryption = gpg\nencryption_key_id = {KEY}\npath_prefix = {}\nbackup_compression = gzip\nbackup_compression_format = tar\n",
        gpg.prefix().display()
    );
    if let Some(cmd) = passphrase_command {
        text.push_str(&format!("encryption_passphrase_command = {cmd}\n"));
    }
    text
}

pub(crate) fn ours(home: &BarmanHome, args: &[&str]) -> Run {
    Run::of(home.barman().args(args))
}

pub(crate) fn python(home: &BarmanHome, args: &[&str]) -> Run {
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
pub(crate) fn is_pgp(path: &Path) -> bool {
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

pub(crate) fn xlog_db(home: &BarmanHome) -> String {
    std::fs::read_to_string(home.server_dir("pg").join("wals/pg-xlog.db")).unwrap()
}

pub(crate) fn exception_lines(stderr: &str) -> Vec<&str> {
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
    // Another file under an archived name is a duplicate for both (neither can decrypt to
    // compare without the passphrase).
    put_incoming(&home, WAL1, &noise(9, 1 << 20));
    let run = ours(&home, &["archive-wal", "pg"]).ok();
    put_incoming(&home, WAL2, &noise(10, 1 << 20));
    let theirs = python(&home, &["archive-wal", "pg"]).ok();
    for (out, name) in [(&run.stdout, WAL1), (&theirs.stdout, WAL2)] {
        assert!(
            out.contains(&format!(
                "\tError: {name} is already present in server pg. File moved to errors directory."
            )),
            "{out}"
        );
    }
    let errors: Vec<String> = std::fs::read_dir(home.server_dir("pg").join("errors"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(errors.len(), 2, "{errors:?}");
    assert!(
        errors.iter().all(|e| e.ends_with(".duplicate")),
        "{errors:?}"
    );
    // rebuild-xlogdb sees the encryption (not the compression under it), as Barman's does
    // when file(1) recognises the files.
    ours(&home, &["rebuild-xlogdb", "pg"]).ok();
    let rebuilt = xlog_db(&home);
    assert_eq!(rebuilt.matches("\tNone\tgpg\n").count(), 2, "{rebuilt}");
    if [WAL1, WAL2]
        .iter()
        .all(|n| file_says_encrypted(&archived(&home, n)))
    {
        python(&home, &["rebuild-xlogdb", "pg"]).ok();
        assert_eq!(xlog_db(&home), rebuilt);
    }
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
    // Barman's exception (its text names gpg's input file, a temporary: not compared).
    let lines = exception_lines(&run.stderr);
    assert!(
        lines.len() == 1
            && lines[0].starts_with("EXCEPTION: {'ret': 2, 'out': '', 'err': ")
            && lines[0].contains("nobody@example.invalid"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.ends_with("See log file for more details.\n"));
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

/// Segments from streaming/ are encrypted too; an archive-wal killed at any step after gpg
/// (temporary written, stored, catalogued) leaves the segment in streaming/, and the next
/// run completes: the WAL archived and catalogued once, temporaries reclaimed, nothing in
/// errors/ (Barman would call the stored encrypted copy a duplicate and move the source
/// there).
#[cfg(feature = "failpoints")]
#[test]
fn encryption_archive_from_streaming_survives_a_kill_at_any_step() {
    require!("gpg and file", gpg_available());
    let gpg = GpgHome::new(true);
    let pass = format!("cat {}", gpg.pass_file().display());
    for failpoint in [
        "archive.after_encrypt",
        "archive.after_store",
        "archive.after_catalog",
    ] {
        let home = wal_home(&gpg, Some(&pass));
        let conf = std::fs::read_to_string(home.config_path()).unwrap();
        std::fs::write(
            home.config_path(),
            conf.replace(
                "archiver = on\n",
                "archiver = on\nstreaming_archiver = on\n",
            ),
        )
        .unwrap();
        let streaming = home.server_dir("pg").join("streaming");
        std::fs::create_dir_all(&streaming).unwrap();
        let plain = noise(5, 1 << 20);
        std::fs::write(streaming.join(WAL1), &plain).unwrap();
        // What pg_receivewal is writing (without it, the newest segment waits, as in Barman).
        std::fs::write(streaming.join(format!("{WAL2}.partial")), b"x").unwrap();
        let killed = Run::of(
            home.barman()
                .args(["archive-wal", "pg"])
                .env("BARMAN_FAILPOINT", failpoint),
        );
        assert_eq!(killed.code, -1, "{failpoint} did not kill the process");
        assert!(streaming.join(WAL1).exists(), "{failpoint}");
        let dir = archived(&home, WAL1).parent().unwrap().to_path_buf();
        let listing = || -> Vec<String> {
            let mut names: Vec<String> = std::fs::read_dir(&dir)
                .unwrap()
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect();
            names.sort();
            names
        };
        if failpoint == "archive.after_encrypt" {
            let temps = listing();
            assert!(
                temps.iter().any(|n| n.ends_with(".gpg")) && !temps.contains(&WAL1.to_string()),
                "{temps:?}"
            );
        }
        ours(&home, &["archive-wal", "pg"]).ok();
        assert_eq!(listing(), [WAL1], "{failpoint}");
        assert!(!streaming.join(WAL1).exists(), "{failpoint}");
        let errors = home.server_dir("pg").join("errors");
        let moved = std::fs::read_dir(&errors).map_or(0, |d| d.count());
        assert_eq!(moved, 0, "{failpoint}: source sent to errors/");
        assert!(is_pgp(&archived(&home, WAL1)));
        let db = xlog_db(&home);
        assert_eq!(db.lines().count(), 1, "{failpoint}: {db}");
        assert!(db.ends_with("\tgzip\tgpg\n"), "{db}");
        let served = home
            .barman()
            .args(["get-wal", "pg", WAL1])
            .output()
            .unwrap();
        assert!(served.stdout == plain, "{failpoint}");
    }
}

/// An ECC key (gpg's default since 2.3): `file` cannot tell its messages are encrypted,
/// we read the OpenPGP packet header: archive, get-wal and rebuild-xlogdb all know it.
#[test]
fn encryption_with_an_ecc_key_is_recognised_from_the_packet_header() {
    require!("gpg and file", gpg_available());
    let gpg = GpgHome::new(false);
    let run = Run::of(gpg.command().args([
        "--batch",
        "--pinentry-mode",
        "loopback",
        "--passphrase",
        PASSPHRASE,
        "--quick-generate-key",
        KEY,
        "future-default",
        "default",
        "never",
    ]));
    assert_eq!(run.code, 0, "{}", run.stderr);
    let pass = format!("cat {}", gpg.pass_file().display());
    let home = wal_home(&gpg, Some(&pass));
    let plain = noise(6, 1 << 20);
    put_incoming(&home, WAL1, &plain);
    ours(&home, &["archive-wal", "pg"]).ok();
    let stored = std::fs::read(archived(&home, WAL1)).unwrap();
    assert!(barman::core::encryption::is_gpg(&stored[..16]));
    assert_eq!(stored[0], 0x84, "not an old-format ECC session key packet");
    let served = home
        .barman()
        .args(["get-wal", "pg", WAL1])
        .output()
        .unwrap();
    assert!(
        served.stdout == plain,
        "{}",
        String::from_utf8_lossy(&served.stderr)
    );
    ours(&home, &["rebuild-xlogdb", "pg"]).ok();
    let db = xlog_db(&home);
    assert!(
        db.starts_with(WAL1) && db.ends_with("\tNone\tgpg\n"),
        "{db}"
    );
}
