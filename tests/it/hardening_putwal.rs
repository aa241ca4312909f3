//! Hardening of `put-wal` and `barman-wal-archive` (issue #14): hostile or broken tar
//! streams never panic, never leave a temporary file in `incoming/`, and are refused with
//! one printable line; received WAL files get Barman's fixed mode, not the member's. Where
//! Python Barman 3.20 does otherwise, the test says so.

use crate::harness::barman_home::current_user;
use crate::harness::python_barman;
use crate::harness::sshd::ssh_available;
use crate::harness::{BarmanHome, Run, Sshd};
use crate::put_wal::{error_lines, feed, home, incoming, ours, theirs, WAL};
use crate::require;
use sha2::{Digest, Sha256};
use std::io::Write;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::process::{Command, Stdio};

/// One tar header block for a regular file `name` (raw bytes) of `size`; `tweak` may change
/// any field before the checksum is set.
fn header(name: &[u8], size: u64, tweak: impl FnOnce(&mut tar::Header)) -> tar::Header {
    let mut h = tar::Header::new_gnu();
    h.as_old_mut().name[..name.len()].copy_from_slice(name);
    h.set_size(size);
    h.set_mode(0o600);
    h.set_mtime(1_700_000_000);
    h.set_entry_type(tar::EntryType::Regular);
    tweak(&mut h);
    h.set_cksum();
    h
}

/// A PAX extended header carrying `records` (`key=value`), for the member that follows.
fn pax(builder: &mut tar::Builder<Vec<u8>>, records: &[(&str, &str)]) {
    let mut data = Vec::new();
    for (key, value) in records {
        let body = format!(" {key}={value}\n");
        // The length counts itself: try the digit count until it is stable.
        let mut len = body.len() + 1;
        while format!("{len}{body}").len() != len {
            len += 1;
        }
        data.extend(format!("{len}{body}").into_bytes());
    }
    let h = header(b"PaxHeaders/x", data.len() as u64, |h| {
        h.set_entry_type(tar::EntryType::XHeader)
    });
    builder.append(&h, data.as_slice()).unwrap();
}

/// A stream as a client (or someone posing as one) could send it: `WAL` holding `data`,
/// its header changed by `tweak`, optionally preceded by PAX records, then `sums` as the
/// `SHA256SUMS` member (the right one when `None`).
fn crafted(
    data: &[u8],
    tweak: impl FnOnce(&mut tar::Header),
    pax_records: &[(&str, &str)],
    sums: Option<&[u8]>,
) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    if !pax_records.is_empty() {
        pax(&mut builder, pax_records);
    }
    let h = header(WAL.as_bytes(), data.len() as u64, tweak);
    builder.append(&h, data).unwrap();
    let right = format!("{} *{WAL}\n", sha256_hex(data)).into_bytes();
    let sums = sums.unwrap_or(&right);
    let h = header(b"SHA256SUMS", sums.len() as u64, |_| {});
    builder.append(&h, sums).unwrap();
    builder.into_inner().unwrap()
}

fn sha256_hex(data: &[u8]) -> String {
    barman::core::checksums::hex(&Sha256::digest(data))
}

/// A GNU base-256 `mtime` field holding `value`.
fn base256(value: i128) -> [u8; 12] {
    let mut field = [0u8; 12];
    let bytes = value.to_be_bytes();
    field[1..].copy_from_slice(&bytes[16 - 11..]);
    field[0] = if value < 0 { 0xff } else { 0x80 };
    field
}

/// `put_wal::home` with a `log_file`, so only the console messages reach stderr.
fn logged_home() -> BarmanHome {
    let home = BarmanHome::new();
    home.write_config(
        &format!("log_file = {}", home.dir().join("barman.log").display()),
        &[("pg", "conninfo = host=127.0.0.1 port=1\nssh_command = ssh x\narchiver = on\nbackup_options = concurrent_backup")],
    );
    home
}

fn stored_mtime(home: &BarmanHome) -> i64 {
    std::fs::metadata(home.home().join("pg/incoming").join(WAL))
        .unwrap()
        .mtime()
}

/// The run failed cleanly: exit 1, one printable `ERROR:` line naming the server, no
/// panic, nothing at all (no hidden temporary file) in `incoming/`.
fn assert_refused(home: &BarmanHome, run: &Run) {
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
    let errors = error_lines(&run.stderr);
    assert_eq!(errors.len(), 1, "{}", run.stderr);
    assert!(
        errors[0].ends_with(" in put-wal for server 'pg'"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .chars()
            .all(|c| c == '\n' || (' '..='~').contains(&c)),
        "not printable: {:?}",
        run.stderr
    );
    assert!(incoming(home).is_empty(), "left {:?}", incoming(home));
}

#[test]
fn hardening_putwal_member_mtime_minus_one_is_accepted_as_barman_does() {
    let gnu = crafted(b"wal", |h| h.as_old_mut().mtime = base256(-1), &[], None);
    let pax_minus_one = crafted(b"wal", |_| {}, &[("mtime", "-1")], None);
    for input in [gnu, pax_minus_one] {
        let (a, b) = (home(), home());
        let run = ours(&a, &input);
        assert_eq!((run.code, run.stderr.as_str()), (0, ""));
        assert_eq!(incoming(&a), vec![WAL]);
        assert_eq!(stored_mtime(&a), -1);
        if python_barman::available() {
            theirs(&b, &input).unwrap().ok();
            assert_eq!(stored_mtime(&b), -1);
        }
    }
}

#[test]
fn hardening_putwal_member_mtime_beyond_time_t_is_refused_in_one_line() {
    let limit = 1i128 << 63;
    let cases = [
        (
            crafted(b"wal", |h| h.as_old_mut().mtime = base256(limit), &[], None),
            "9223372036854775808",
        ),
        (
            crafted(
                b"wal",
                |h| h.as_old_mut().mtime = base256(-limit - 1),
                &[],
                None,
            ),
            "-9223372036854775809",
        ),
        (
            crafted(b"wal", |_| {}, &[("mtime", "9223372036854775808")], None),
            "9223372036854775808",
        ),
        // Python reads PAX times as floats: 2^63-1 rounds to 2^63, refused too.
        (
            crafted(b"wal", |_| {}, &[("mtime", "9223372036854775807")], None),
            "9223372036854775807",
        ),
    ];
    for (input, shown) in cases {
        let (a, b) = (home(), home());
        let run = ours(&a, &input);
        assert_refused(&a, &run);
        assert_eq!(
            error_lines(&run.stderr),
            [format!(
                "ERROR: Timestamp {shown} out of range for file '{WAL}' in put-wal for server 'pg'"
            )]
        );
        // Python refuses these too, but with an uncaught OverflowError ("EXCEPTION:
        // timestamp out of range for platform time_t" plus a second line) and leaves its
        // `.PID-<wal>` temporary file in incoming/.
        if python_barman::available() {
            let python = theirs(&b, &input).unwrap();
            assert_eq!(python.code, 1);
            assert!(python.stderr.contains("out of range"), "{}", python.stderr);
        }
    }
}

#[test]
fn hardening_putwal_empty_stdin_is_barmans_empty_file_exception() {
    let (a, b) = (logged_home(), logged_home());
    let run = ours(&a, b"");
    assert_eq!(
        (run.code, run.stdout.as_str(), run.stderr.as_str()),
        (
            1,
            "",
            "EXCEPTION: empty file\nSee log file for more details.\n"
        )
    );
    assert!(incoming(&a).is_empty());
    if python_barman::available() {
        let python = theirs(&b, b"").unwrap();
        assert_eq!(
            (python.code, python.stdout.as_str(), python.stderr.as_str()),
            (run.code, run.stdout.as_str(), run.stderr.as_str())
        );
    }
}

/// The umask of this process (children inherit it).
fn umask() -> u32 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("Umask:")).unwrap();
    u32::from_str_radix(line.split_whitespace().nth(1).unwrap(), 8).unwrap()
}

#[test]
fn hardening_putwal_ignores_the_members_mode_bits() {
    for mode in [0o6777, 0o0000] {
        let input = crafted(b"wal", |h| h.set_mode(mode), &[], None);
        let (a, b) = (home(), home());
        ours(&a, &input).ok();
        let stored = |home: &BarmanHome| {
            std::fs::metadata(home.home().join("pg/incoming").join(WAL))
                .unwrap()
                .mode()
                & 0o7777
        };
        // Barman writes with open(path, "wb"): 0666 less the umask.
        assert_eq!(stored(&a), 0o666 & !umask(), "member mode {mode:o}");
        if python_barman::available() {
            theirs(&b, &input).unwrap().ok();
            assert_eq!(stored(&a), stored(&b), "member mode {mode:o}");
        }
        // And archive-wal can take it (a 0000 file would be unreadable to a non-root user).
        let run = a.run(&["archive-wal", "pg"]).ok();
        assert!(run.stdout.contains(WAL), "{}", run.stdout);
    }
}

/// Deterministic noise (xorshift), so a failure can be replayed.
fn noise(len: usize, mut seed: u64) -> Vec<u8> {
    (0..len)
        .map(|_| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed >> 24) as u8
        })
        .collect()
}

#[test]
fn hardening_putwal_quotes_hostile_bytes_escaped_on_one_line() {
    let evil_name = b"\x1b[31mevil\nERROR: fake\r\xff";
    let with_evil_name = {
        let mut builder = tar::Builder::new(Vec::new());
        let h = header(evil_name, 1, |_| {});
        builder.append(&h, &b"x"[..]).unwrap();
        builder.into_inner().unwrap()
    };
    let evil_sums = crafted(b"wal", |_| {}, &[], Some(b"\x1b]0;title\x07 *\x1b[2J\n"));
    let evil_digest = crafted(
        b"wal",
        |_| {},
        &[],
        Some(b"\x1b[2J\x7f *000000010000000000000042\n"),
    );
    let mut cases = vec![
        (with_evil_name, Some("ERROR: Unsupported filename '\\x1b[31mevil\\x0aERROR: fake\\x0d\\xff' in put-wal for server 'pg'")),
        (evil_sums, Some("ERROR: Checksum without corresponding file '\\x1b[2J' in put-wal for server 'pg'")),
        (evil_digest, None),
    ];
    for seed in 1..=8 {
        cases.push((noise(4096, seed), None));
    }
    for (input, expected) in cases {
        let home = home();
        let run = ours(&home, &input);
        assert_refused(&home, &run);
        if let Some(expected) = expected {
            assert_eq!(error_lines(&run.stderr), [expected]);
        }
    }
}

#[test]
fn hardening_putwal_bad_checksum_lines_are_warned_escaped() {
    let line = format!("{} *{WAL}\n\x1b[31mjunk\x07\n", sha256_hex(b"wal"));
    let input = crafted(b"wal", |_| {}, &[], Some(line.as_bytes()));
    let home = logged_home();
    let run = ours(&home, &input).ok();
    assert_eq!(
        run.stderr,
        "WARNING: Bad checksum line '\\x1b[31mjunk\\x07' found in put-wal for server 'pg'\n"
    );
    assert_eq!(incoming(&home), vec![WAL]);
}

#[test]
fn hardening_putwal_truncated_or_interrupted_stream_leaves_nothing() {
    let data = noise(1 << 20, 42);
    let whole = crafted(&data, |_| {}, &[], None);
    // Cut inside the data, inside the first header, inside the sums member (the stream
    // ends with the sums member's data block and two zero blocks).
    for cut in [300_000, 100, whole.len() - 1536 + 50] {
        let home = home();
        let run = ours(&home, &whole[..cut]);
        assert_refused(&home, &run);
    }
    let home = home();
    let run = ours(&home, &whole[..300_000]);
    assert_eq!(
        error_lines(&run.stderr),
        [format!(
            "ERROR: Unexpected end of data for file '{WAL}' in put-wal for server 'pg'"
        )]
    );
    // A client that stops writing mid-file and goes away while put-wal waits for more.
    let home = crate::put_wal::home();
    let mut child = home
        .barman()
        .args(["put-wal", "pg"])
        .env_remove("BARMAN_CONFIG_FILE")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(&whole[..200_000]).unwrap();
    stdin.flush().unwrap();
    std::thread::sleep(std::time::Duration::from_millis(300));
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    let run = Run {
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        code: out.status.code().unwrap_or(-1),
    };
    assert_refused(&home, &run);
    // The whole stream still goes through.
    let mut cmd = home.barman();
    cmd.args(["put-wal", "pg"]);
    assert_eq!(feed(cmd, &whole).code, 0);
    assert_eq!(incoming(&home), vec![WAL]);
}

/// Our `barman-wal-archive` sending `wal` to `home`'s server `pg` through `sshd`.
fn wal_archive(sshd: &Sshd, home: &BarmanHome, extra: &[&str], wal: &Path) -> Run {
    let user = current_user();
    let path = format!(
        "{}:{}",
        sshd.client_path_dir(&user).display(),
        std::env::var("PATH").unwrap_or_default()
    );
    Run::of(
        Command::new(env!("CARGO_BIN_EXE_barman-wal-archive"))
            .env("PATH", path)
            .args([
                "--no-ssh-reuse",
                "-U",
                &user,
                "--port",
                &sshd.port().to_string(),
                "-c",
            ])
            .arg(home.config_path())
            .args(extra)
            .args(["127.0.0.1", "pg"])
            .arg(wal),
    )
}

#[test]
fn hardening_wal_archive_sends_a_symlinked_wal_as_a_link_and_fails_as_barman() {
    require!("sshd, ssh and rsync", ssh_available());
    let sshd = Sshd::start(&current_user());
    let home = home();
    let work = tempfile::tempdir().unwrap();
    let secret = work.path().join("secret");
    std::fs::write(&secret, b"top secret").unwrap();
    let pg_wal = work.path().join("pg_wal");
    std::fs::create_dir(&pg_wal).unwrap();
    std::os::unix::fs::symlink(&secret, pg_wal.join(WAL)).unwrap();
    // Barman (3.20, uncompressed) sends the link as a link member, put-wal refuses it and
    // the client exits 1; compressed, Barman reads through the link: we refuse then too.
    for extra in [&[][..], &["--gzip"][..]] {
        let run = wal_archive(&sshd, &home, extra, &pg_wal.join(WAL));
        assert_eq!(run.code, 1, "{extra:?}: {}", run.stderr);
        assert!(
            run.stderr.contains(&format!(
                "ERROR: Unsupported file type '2' for file '{WAL}' in put-wal for server 'pg'"
            )),
            "{}",
            run.stderr
        );
        assert!(
            run.stderr
                .ends_with("ERROR: Remote 'barman put-wal' command has failed!\n"),
            "{}",
            run.stderr
        );
        assert!(incoming(&home).is_empty(), "{:?}", incoming(&home));
    }
    // A symlinked pg_wal folder (a common layout) is fine: only the last component counts.
    let real = work.path().join("real_wal");
    std::fs::create_dir(&real).unwrap();
    std::fs::write(real.join(WAL), b"wal data").unwrap();
    std::os::unix::fs::symlink(&real, work.path().join("linked_wal")).unwrap();
    wal_archive(&sshd, &home, &[], &work.path().join("linked_wal").join(WAL)).ok();
    assert_eq!(incoming(&home), vec![WAL]);
    // A folder, or a link to one: Barman's own check (os.path.isdir), exit 2.
    for dir in [pg_wal, work.path().join("linked_wal")] {
        let run = wal_archive(&sshd, &home, &[], &dir);
        assert_eq!(
            (run.code, run.stderr),
            (
                2,
                format!("ERROR: WAL_PATH cannot be a directory: {}\n", dir.display())
            )
        );
    }
}

#[test]
fn hardening_archive_wal_names_unknown_files_escaped_on_one_line() {
    let home = home();
    let incoming_dir = home.home().join("pg/incoming");
    std::fs::create_dir_all(&incoming_dir).unwrap();
    // A name an rsync archive_command (or anyone who can write there) may leave.
    std::fs::write(incoming_dir.join("junk\x1b[31mred\nERROR: fake"), b"x").unwrap();
    let run = home.run(&["archive-wal", "pg"]).ok();
    assert!(
        run.stdout
            .ends_with("Objects moved to errors directory:\n\tjunk\\x1b[31mred\\x0aERROR: fake\n"),
        "{:?}",
        run.stdout
    );
    assert!(incoming(&home).is_empty(), "{:?}", incoming(&home));
}
