//! `get-wal` serves what the archive holds exactly as Python Barman does: plain, re-compressed,
//! kept compressed, into a folder, peeked, with Barman's errors and exit codes.

use crate::archive_wal::{generate_wal, names_in_db, setup};
use crate::harness::pg_cluster::pg_available;
use crate::harness::{python_barman, Run};
use crate::require;
use std::process::Command;

fn raw(cmd: &mut Command) -> (Vec<u8>, String, i32) {
    let out = cmd.env_remove("BARMAN_CONFIG_FILE").output().unwrap();
    (
        out.stdout,
        String::from_utf8_lossy(&out.stderr).into_owned(),
        out.status.code().unwrap_or(-1),
    )
}

fn errors(stderr: &str) -> Vec<&str> {
    stderr
        .lines()
        .filter(|l| l.starts_with("ERROR: "))
        .collect()
}

#[test]
fn get_wal_serves_like_python_barman() {
    require!("PostgreSQL 15 binaries", pg_available());
    require!(
        "Python Barman (scripts/python-barman)",
        python_barman::available()
    );
    let s = setup("gzip");
    generate_wal(&s.pg, 3);
    s.home.run(&["archive-wal", "pg"]).ok();
    let names = names_in_db(&s.home);
    let wal = names[0].clone();
    let plain = std::fs::read(s.shadow.join(&wal)).unwrap();
    let config = s.home.config_path();
    let ours = |args: &[&str]| raw(s.home.barman().arg("get-wal").args(args));
    let theirs = |args: &[&str]| {
        raw(python_barman::command()
            .unwrap()
            .arg("-c")
            .arg(&config)
            .arg("get-wal")
            .args(args))
    };

    // Plain on stdout.
    let (bytes, _, code) = ours(&["pg", &wal]);
    assert_eq!(code, 0);
    assert!(bytes == plain, "plain content differs");
    // Stored bytes, unchanged.
    let (ours_kept, _, _) = ours(&["--keep-compression", "pg", &wal]);
    let (theirs_kept, _, _) = theirs(&["--keep-compression", "pg", &wal]);
    assert!(ours_kept == theirs_kept, "--keep-compression differs");
    // Re-compressed: gzip (already gzip: sent as is) and bzip2.
    for flag in ["-z", "-j"] {
        let (packed, _, code) = ours(&[flag, "pg", &wal]);
        assert_eq!(code, 0);
        let codec = barman::adapters::codec::Codec::detect(&packed).unwrap();
        let mut unpacked = Vec::new();
        codec
            .decompress(&mut packed.as_slice(), &mut unpacked)
            .unwrap();
        assert!(unpacked == plain, "{flag}");
    }
    // Both: the last one given, as Barman (one `dest` for both flags).
    let (packed, _, code) = ours(&["-z", "-j", "pg", &wal]);
    assert_eq!(code, 0);
    let (their_packed, _, their_code) = theirs(&["-z", "-j", "pg", &wal]);
    assert_eq!(their_code, 0);
    for bytes in [&packed, &their_packed] {
        assert_eq!(
            barman::adapters::codec::Codec::detect(bytes),
            Some(barman::adapters::codec::Codec::Bzip2)
        );
    }
    // Into a folder.
    let dir = tempfile::tempdir().unwrap();
    let run = Run::of(
        s.home
            .barman()
            .args(["get-wal", "-o"])
            .arg(dir.path())
            .args(["pg", &wal]),
    )
    .ok();
    assert!(
        run.stdout
            .starts_with(&format!("Sending WAL '{wal}' for server 'pg' into '")),
        "{}",
        run.stdout
    );
    assert!(std::fs::read(dir.path().join(&wal)).unwrap() == plain);
    // Peek.
    for args in [
        vec!["-p", "10", "pg", wal.as_str()],
        vec!["--peek", "2", "pg", wal.as_str()],
        vec!["-p", "3", "pg", "0000000100000000000000AA"],
    ] {
        assert_eq!(ours(&args).0, theirs(&args).0, "{args:?}");
    }
    // Errors and their exit codes.
    for args in [
        vec!["pg", "not-a-wal"],
        vec!["pg", "0000000100000000000000AA"],
        vec!["-z", "--keep-compression", "pg", wal.as_str()],
        vec!["all", wal.as_str()],
    ] {
        let (_, our_err, our_code) = ours(&args);
        let (_, their_err, their_code) = theirs(&args);
        assert_eq!(our_code, their_code, "{args:?}: {our_err} / {their_err}");
        assert_eq!(errors(&our_err), errors(&their_err), "{args:?}");
    }
    // --test.
    assert_eq!(ours(&["-t", "pg", "x"]).0, theirs(&["-t", "pg", "x"]).0);
}

#[test]
fn get_wal_serves_partial_files_only_when_asked() {
    require!("PostgreSQL 15 binaries", pg_available());
    let s = setup("gzip");
    let streaming = s.home.home().join("pg/streaming");
    std::fs::create_dir_all(&streaming).unwrap();
    let partial = "000000010000000000000099";
    std::fs::write(
        streaming.join(format!("{partial}.partial")),
        b"partial bytes",
    )
    .unwrap();
    let (bytes, _, code) = raw(s.home.barman().args(["get-wal", "pg", partial]));
    assert_eq!((bytes.len(), code), (0, 1));
    let (bytes, _, code) = raw(s.home.barman().args(["get-wal", "-P", "pg", partial]));
    assert_eq!((bytes.as_slice(), code), (b"partial bytes".as_slice(), 0));
}
