//! `import-backup` refusing bad tarballs — truncated, foreign (another system id),
//! tampered (checksum mismatch), malformed (`../`, absolute paths, links pointing out, hard
//! links, unexpected members, a WAL missing) — with one clear error line and the catalog
//! unchanged (Python Barman refuses the same ones with the same words where it checks them);
//! and an import killed at every step: nothing half-imported is ever listed, the xlog db
//! never holds a line twice, and the re-run completes; an export killed before its end
//! leaves only its `.tmp` file.

use crate::export_import::{export, generated, peer, run, ID, SYSTEMID};
use crate::harness::pg_cluster::shared_tempdir;
use crate::harness::{python_barman, BarmanHome, Run};
use crate::require;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Every file and link under the home (lock files and the log aside): path → content hash
/// or link target.
fn snapshot(home: &BarmanHome) -> BTreeMap<String, String> {
    fn walk(dir: &Path, root: &Path, map: &mut BTreeMap<String, String>) {
        for entry in std::fs::read_dir(dir).unwrap().flatten() {
            let path = entry.path();
            let rel = path.strip_prefix(root).unwrap().display().to_string();
            let name = entry.file_name().to_string_lossy().into_owned();
            let meta = std::fs::symlink_metadata(&path).unwrap();
            if meta.is_symlink() {
                map.insert(
                    rel,
                    format!("-> {}", std::fs::read_link(&path).unwrap().display()),
                );
            } else if meta.is_dir() {
                map.insert(rel.clone() + "/", String::new());
                walk(&path, root, map);
            } else if !(name.ends_with(".lock") || name == "barman.log") {
                map.insert(rel, hex(&std::fs::read(&path).unwrap()));
            }
        }
    }
    let mut map = BTreeMap::new();
    walk(home.dir(), home.dir(), &mut map);
    map
}

fn hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Save `bytes` under the export name whose checksum matches them.
fn named(dir: &Path, bytes: &[u8], ext: &str) -> PathBuf {
    let sum = hex(bytes);
    let path = dir.join(format!(
        "backup-export-pg-{ID}-20261205T000000-{}{ext}",
        &sum[..8]
    ));
    std::fs::write(&path, bytes).unwrap();
    path
}

/// A member to add to a rewritten tarball.
enum Extra {
    File(&'static str),
    Symlink(&'static str, &'static str),
    HardLink(&'static str, &'static str),
}

/// Rewrite the plain tarball `src` without the members `drop` and with `extra` appended,
/// writing names as given (the tar crate's path checks bypassed, as an attacker would).
fn rewrite(src: &Path, drop: &[&str], extra: &[Extra]) -> Vec<u8> {
    let mut archive = tar::Archive::new(std::fs::File::open(src).unwrap());
    let mut builder = tar::Builder::new(Vec::new());
    for entry in archive.entries().unwrap() {
        let mut entry = entry.unwrap();
        let name = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        if drop.contains(&name.as_str()) {
            continue;
        }
        let header = entry.header().clone();
        let mut data = Vec::new();
        std::io::Read::read_to_end(&mut entry, &mut data).unwrap();
        builder.append(&header, data.as_slice()).unwrap();
    }
    for extra in extra {
        let mut header = tar::Header::new_gnu();
        header.set_mode(0o644);
        header.set_mtime(0);
        let (name, kind, link) = match extra {
            Extra::File(name) => (*name, tar::EntryType::Regular, None),
            Extra::Symlink(name, to) => (*name, tar::EntryType::Symlink, Some(*to)),
            Extra::HardLink(name, to) => (*name, tar::EntryType::Link, Some(*to)),
        };
        header.set_entry_type(kind);
        let raw = &mut header.as_old_mut().name;
        raw[..name.len()].copy_from_slice(name.as_bytes());
        if let Some(link) = link {
            header.as_old_mut().linkname[..link.len()].copy_from_slice(link.as_bytes());
        }
        let body: &[u8] = if link.is_some() { b"" } else { b"owned\n" };
        header.set_size(body.len() as u64);
        header.set_cksum();
        builder.append(&header, body).unwrap();
    }
    builder.into_inner().unwrap()
}

fn refused_line(run: &Run) -> String {
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    run.stderr
        .lines()
        .find(|l| l.starts_with("ERROR: ") || l.starts_with("EXCEPTION: "))
        .unwrap_or_else(|| panic!("no error line in {}", run.stderr))
        .to_string()
}

#[test]
fn import_refuses_bad_tarballs_and_changes_nothing() {
    require!(python_barman::REQUIREMENT, python_barman::available());
    let src = generated(SYSTEMID);
    let foreign = generated("1111111111111111111");
    let out_dir = shared_tempdir();
    let out = out_dir.path();
    let good = export(&src, false, ID, &[], out);
    let gz = export(&src, false, ID, &["--compression", "gzip"], out);
    let alien = export(&foreign, false, ID, &["--compression", "xz"], out);
    let wal4 = "wals/0000000100000000/000000010000000000000004";
    let mut tampered = std::fs::read(&good).unwrap();
    let at = tampered.len() / 3;
    tampered[at] ^= 0xff;
    let tampered_path = out.join("t").join(good.file_name().unwrap());
    std::fs::create_dir(out.join("t")).unwrap();
    std::fs::write(&tampered_path, &tampered).unwrap();
    let gz_bytes = std::fs::read(&gz).unwrap();
    let cases: Vec<(&str, PathBuf, String, bool)> = vec![
        ("foreign", alien, format!("EXCEPTION: Server identity mismatch: exported backup has systemid '1111111111111111111' but target server has systemid '{SYSTEMID}'"), true),
        ("tampered", tampered_path, "ERROR: Tarball checksum mismatch: filename contains '".into(), true),
        ("truncated", named(out, &gz_bytes[..gz_bytes.len() / 2], ".tar.gz"), format!("EXCEPTION: Failed to extract tarball '{}", out.display()), false),
        ("traversal", named(out, &rewrite(&good, &[], &[Extra::File("../evil")]), ".tar"), "EXCEPTION: Tarball contains unsafe path: '../evil'".into(), true),
        ("absolute", named(out, &rewrite(&good, &[], &[Extra::File("/tmp/evil")]), ".tar"), "EXCEPTION: Tarball contains unsafe path: '/tmp/evil'".into(), true),
        ("link out", named(out, &rewrite(&good, &[], &[Extra::Symlink("backup/data/evil", "/etc")]), ".tar"), "EXCEPTION: Tarball contains unsafe member type: 'backup/data/evil'".into(), true),
        ("hard link", named(out, &rewrite(&good, &[], &[Extra::HardLink("backup/data/hl", "/etc/passwd")]), ".tar"), "EXCEPTION: Tarball contains unsafe member type: 'backup/data/hl'".into(), true),
        ("unexpected", named(out, &rewrite(&good, &[], &[Extra::File("README")]), ".tar"), "EXCEPTION: Tarball contains unexpected member: 'README'".into(), false),
        ("missing wal", named(out, &rewrite(&good, &[wal4], &[]), ".tar"), "EXCEPTION: WAL file listed in tarball's xlog.db but not found under its wals/ directory: 000000010000000000000004".into(), true),
        ("no xlog.db", named(out, &rewrite(&good, &["xlog.db"], &[]), ".tar"), "EXCEPTION: Exported tarball does not contain a 'xlog.db' file".into(), true),
    ];
    for (kind, tarball, expected, python_agrees) in cases {
        let dst = peer(&src);
        let before = snapshot(&dst);
        let arg = tarball.to_str().unwrap();
        let line = refused_line(&dst.run(&["import-backup", "pg", arg]));
        assert!(line.starts_with(&expected), "{kind}: {line}");
        assert_eq!(snapshot(&dst), before, "{kind}: the catalog changed");
        if python_agrees {
            let theirs = peer(&src);
            let py = refused_line(&run(&theirs, true, &["import-backup", "pg", arg]));
            assert!(py.starts_with(&expected), "{kind}: Python says {py}");
        }
    }
}

/// Kill points need the `failpoints` build.
#[cfg(feature = "failpoints")]
mod killed {
    use super::*;
    use crate::export_import::members;
    use crate::harness::ok;

    /// The lines of the server's xlog db.
    fn xlog_lines(home: &BarmanHome) -> Vec<String> {
        let db = home.server_dir("pg").join("wals/pg-xlog.db");
        std::fs::read_to_string(db)
            .unwrap_or_default()
            .lines()
            .map(str::to_string)
            .collect()
    }

    fn listed(home: &BarmanHome, python: bool) -> Vec<String> {
        let run = ok(
            run(home, python, &["list-backups", "pg", "--minimal"]),
            "list",
        );
        run.stdout.lines().map(str::to_string).collect()
    }

    /// A peer already holding WALs 2 and 5 (same bytes, same lines), so the import merges.
    fn peer_with_wals(src: &BarmanHome) -> BarmanHome {
        let dst = peer(src);
        let (from, to) = (
            src.server_dir("pg").join("wals"),
            dst.server_dir("pg").join("wals"),
        );
        std::fs::create_dir_all(to.join("0000000100000000")).unwrap();
        let mut db = String::new();
        for line in std::fs::read_to_string(from.join("pg-xlog.db"))
            .unwrap()
            .lines()
        {
            let name = line.split('\t').next().unwrap();
            if name.ends_with("02") || name.ends_with("05") {
                let rel = format!("0000000100000000/{name}");
                std::fs::copy(from.join(&rel), to.join(&rel)).unwrap();
                db.push_str(line);
                db.push('\n');
            }
        }
        std::fs::write(to.join("pg-xlog.db"), db).unwrap();
        dst
    }

    #[test]
    fn import_killed_at_each_step_leaves_nothing_listed_and_resumes() {
        require!(python_barman::REQUIREMENT, python_barman::available());
        let src = generated(SYSTEMID);
        let out_dir = shared_tempdir();
        let tarball = export(&src, false, ID, &["--compression", "gzip"], out_dir.path());
        let arg = tarball.to_str().unwrap();
        assert!(members(&tarball).contains(&"backup/data/pg_tblspc/16386".to_string()));
        let expected: Vec<String> = xlog_lines(&src)
            .into_iter()
            .filter(|l| !l.contains(".backup"))
            .collect();
        for point in [
            "import.extracting",
            "durable.before_rename",
            "import.staged",
            "import.wals_moved",
            "import.xlogdb_written",
            "import.data_moved",
            "durable.after_rename",
            "import.committed",
        ] {
            let dst = peer_with_wals(&src);
            let killed = Run::of(
                dst.barman()
                    .args(["import-backup", "pg", arg])
                    .env("BARMAN_FAILPOINT", point),
            );
            assert_eq!(killed.code, -1, "{point}: not killed\n{}", killed.stderr);
            let committed = point == "import.committed";
            let want: Vec<String> = if committed { vec![ID.into()] } else { vec![] };
            assert_eq!(listed(&dst, false), want, "{point}: ours lists");
            assert_eq!(listed(&dst, true), want, "{point}: Python lists");
            let lines = xlog_lines(&dst);
            let unique: std::collections::BTreeSet<_> = lines.iter().collect();
            assert_eq!(unique.len(), lines.len(), "{point}: duplicate xlog.db line");
            let again = dst.run(&["import-backup", "pg", arg]);
            if committed {
                assert!(
                    again.stderr.contains("already exists in the catalog"),
                    "{}",
                    again.stderr
                );
            } else {
                ok(again, point);
            }
            assert_eq!(listed(&dst, true), [ID], "{point}: after the re-run");
            assert_eq!(
                xlog_lines(&dst),
                expected,
                "{point}: xlog.db after the re-run"
            );
            let base = dst.server_dir("pg").join("base");
            let names: Vec<_> = std::fs::read_dir(&base)
                .unwrap()
                .flatten()
                .map(|e| e.file_name())
                .collect();
            assert_eq!(names, [ID], "{point}: leftovers in base/");
            let link = std::fs::read_link(base.join(ID).join("data/pg_tblspc/16386")).unwrap();
            assert_eq!(
                link,
                base.join(ID).join("16386"),
                "{point}: tablespace link"
            );
            let show = ok(
                run(&dst, true, &["show-backup", "pg", ID]),
                "python show-backup",
            );
            assert!(
                show.stdout.contains("Status                 : DONE"),
                "{}",
                show.stdout
            );
        }
    }

    /// An export killed before its end leaves a `.tmp` file only: a name with a checksum
    /// always names a whole tarball.
    #[test]
    fn export_killed_leaves_no_tarball_under_a_final_name() {
        let src = generated(SYSTEMID);
        let out_dir = shared_tempdir();
        let out = out_dir.path().to_str().unwrap();
        let killed = Run::of(
            src.barman()
                .args(["export-backup", "pg", ID, out, "--compression", "xz"])
                .env("BARMAN_FAILPOINT", "export.before_finish"),
        );
        assert_eq!(killed.code, -1, "{}", killed.stderr);
        let names: Vec<String> = std::fs::read_dir(out_dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names.len(), 1, "{names:?}");
        assert!(names[0].ends_with(".tmp"), "{names:?}");
        let tarball = export(&src, false, ID, &["--compression", "xz"], out_dir.path());
        let dst = peer(&src);
        ok(
            dst.run(&["import-backup", "pg", tarball.to_str().unwrap()]),
            "import",
        );
    }
}
