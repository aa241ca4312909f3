//! `export-backup` / `import-backup` against Python Barman 3.20.1: our tarball imported by
//! Python Barman into another barman home and recovered there, Python's tarball imported
//! and recovered by us — the recovered clusters start and hold the rows; every compression;
//! the same members in the same order; the same console and `-f json` output, successes
//! and refusals alike. Bad tarballs and killed imports are in `export_import_bad.rs`.

use crate::harness::pg_cluster::{pg_available, shared_tempdir};
use crate::harness::{ok, python_barman, BarmanHome, PgCluster, Run};
use crate::require;
use std::path::{Path, PathBuf};

/// The backup of the generated catalog.
pub const ID: &str = "20261201T100000";
/// Its system identifier.
pub const SYSTEMID: &str = "7711537136028797555";

/// A home whose server `pg` (no PostgreSQL behind it) holds the backup [`ID`] (DONE, with
/// a tablespace link as the postgres method leaves it), a FAILED one and an incremental
/// one, and WALs 2..5 of which the backup needs 3 and 4 (plus a `.backup` label).
pub fn generated(systemid: &str) -> BarmanHome {
    let home = BarmanHome::new();
    home.write_config(
        &home.log_file_line(),
        &[(
            "pg",
            "conninfo = host=x\nssh_command = ssh x\nbackup_method = rsync\n\
             backup_options = concurrent_backup\narchiver = on",
        )],
    );
    let srv = home.server_dir("pg");
    std::fs::create_dir_all(srv.join("meta")).unwrap();
    std::fs::write(
        srv.join("identity.json"),
        format!("{{\n    \"systemid\": \"{systemid}\",\n    \"version\": \"15\"\n}}\n"),
    )
    .unwrap();
    let template = include_str!("../fixtures/barman-3.20/catalog/pg-20261124T004001-backup.info");
    let info = |status: &str, parent: &str| {
        template
            .lines()
            .map(|l| match l.split_once('=').map(|(k, _)| k) {
                Some("begin_wal") => "begin_wal=000000010000000000000003".to_string(),
                Some("end_wal") => "end_wal=000000010000000000000004".to_string(),
                Some("systemid") => format!("systemid={systemid}"),
                Some("status") => format!("status={status}"),
                Some("parent_backup_id") => format!("parent_backup_id={parent}"),
                _ => l.to_string(),
            })
            .map(|l| l + "\n")
            .collect::<String>()
    };
    std::fs::write(
        srv.join(format!("meta/{ID}-backup.info")),
        info("DONE", "None"),
    )
    .unwrap();
    std::fs::write(
        srv.join("meta/20261202T100000-backup.info"),
        info("FAILED", "None"),
    )
    .unwrap();
    std::fs::write(
        srv.join("meta/20261203T100000-backup.info"),
        info("DONE", "'20261201T100000'"),
    )
    .unwrap();
    let base = srv.join("base").join(ID);
    for (path, bytes) in [
        ("data/PG_VERSION", &b"15\n"[..]),
        ("data/global/pg_control", &[7u8; 8192][..]),
        ("data/base/1/1259", &[1u8; 16384][..]),
        ("16386/PG_15_202209061/5/16390", &[2u8; 8192][..]),
    ] {
        std::fs::create_dir_all(base.join(path).parent().unwrap()).unwrap();
        std::fs::write(base.join(path), bytes).unwrap();
    }
    std::fs::create_dir_all(base.join("data/pg_tblspc")).unwrap();
    std::os::unix::fs::symlink(base.join("16386"), base.join("data/pg_tblspc/16386")).unwrap();
    let wals = srv.join("wals/0000000100000000");
    std::fs::create_dir_all(&wals).unwrap();
    let mut db = String::new();
    for (i, name) in [
        "000000010000000000000002",
        "000000010000000000000003",
        "000000010000000000000003.00000028.backup",
        "000000010000000000000004",
        "000000010000000000000005",
    ]
    .iter()
    .enumerate()
    {
        let bytes: Vec<u8> = (0..4096u32).map(|b| (b as usize * 7 + i) as u8).collect();
        std::fs::write(wals.join(name), &bytes).unwrap();
        db.push_str(&format!("{name}\t4096\t1764583200.{i}\tNone\tNone\n"));
    }
    std::fs::write(srv.join("wals/pg-xlog.db"), db).unwrap();
    home
}

/// A home with the same server section and `identity.json` as `src`, no backup.
pub fn peer(src: &BarmanHome) -> BarmanHome {
    let home = BarmanHome::new();
    let conf = std::fs::read_to_string(src.config_path()).unwrap();
    let conf = conf.replace(
        &src.dir().display().to_string(),
        &home.dir().display().to_string(),
    );
    std::fs::write(home.config_path(), conf).unwrap();
    std::fs::create_dir_all(home.server_dir("pg")).unwrap();
    std::fs::copy(
        src.server_dir("pg").join("identity.json"),
        home.server_dir("pg").join("identity.json"),
    )
    .unwrap();
    home
}

/// Run ours or Python's.
pub fn run(home: &BarmanHome, python: bool, args: &[&str]) -> Run {
    if python {
        home.run_python(args).unwrap()
    } else {
        home.run(args)
    }
}

/// Export `id` into `out`; the tarball's path.
pub fn export(home: &BarmanHome, python: bool, id: &str, extra: &[&str], out: &Path) -> PathBuf {
    let mut args = vec!["export-backup", "pg", id, out.to_str().unwrap()];
    args.extend_from_slice(extra);
    let run = ok(run(home, python, &args), "export-backup");
    let path = run
        .stdout
        .lines()
        .find_map(|l| l.strip_prefix("Export completed successfully: "))
        .unwrap_or_else(|| panic!("no tarball in {}", run.stdout));
    PathBuf::from(path)
}

/// Member names of a tarball, in order (Python's tarfile reads every compression).
pub fn members(tarball: &Path) -> Vec<String> {
    let python = python_barman::venv_tool("python3").unwrap();
    let out = std::process::Command::new(python)
        .args([
            "-c",
            "import sys,tarfile\nfor m in tarfile.open(sys.argv[1]): print(m.name)",
        ])
        .arg(tarball)
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect()
}

fn backup_ids(home: &BarmanHome, python: bool) -> Vec<String> {
    let run = ok(
        run(home, python, &["list-backups", "pg", "--minimal"]),
        "list",
    );
    run.stdout.lines().map(str::to_string).collect()
}

struct Source {
    home: BarmanHome,
    pg: PgCluster,
}

/// A cluster archiving into the home, a `marks` table in a tablespace with `base` rows,
/// one DONE postgres-method backup, then `after` rows archived too.
fn source() -> Source {
    let home = BarmanHome::new();
    let archive_command = crate::harness::incoming_archive_command(&home);
    let pg = crate::harness::archiving_cluster(&archive_command);
    pg.create_tablespace("tbs1");
    pg.execute("CREATE TABLE marks (tag text, n int) TABLESPACE tbs1");
    pg.execute("INSERT INTO marks SELECT 'base', g FROM generate_series(1, 100) g");
    home.write_config(
        "",
        &[(
            "pg",
            &format!(
                "conninfo = {c}\nstreaming_conninfo = {c}\nbackup_method = postgres\narchiver = on\nimmediate_checkpoint = true\n",
                c = pg.conninfo()
            ),
        )],
    );
    ok(home.run(&["backup", "pg"]), "backup");
    let src = Source { home, pg };
    ship(&src);
    let id = backup_ids(&src.home, false).remove(0);
    ok(src.home.run(&["check-backup", "pg", &id]), "check-backup");
    src
}

fn ship(src: &Source) {
    src.pg.execute("SELECT pg_switch_wal()");
    crate::harness::wait_until("archiving", || {
        src.pg.query_scalar(
            "SELECT count(*) FROM pg_ls_dir('pg_wal/archive_status') f WHERE f LIKE '%.ready'",
        ) == "0"
    });
    ok(src.home.run(&["archive-wal", "pg"]), "archive-wal");
}

/// Restore `id` from `home` (ours or Python's), start it, return its tags.
fn restore_rows(home: &BarmanHome, python: bool, id: &str) -> Vec<String> {
    let (dest_dir, reloc_dir) = (shared_tempdir(), shared_tempdir());
    let dest = dest_dir.path().join("data");
    let reloc = reloc_dir.path().join("t");
    let rule = format!("tbs1:{}", reloc.display());
    let args = [
        "restore",
        "pg",
        id,
        dest.to_str().unwrap(),
        "--tablespace",
        &rule,
    ];
    ok(run(home, python, &args), "restore");
    let mut pg = PgCluster::start_in_place(&dest, &[]);
    crate::harness::wait_until("recovery", || {
        pg.query_scalar("SELECT pg_is_in_recovery()") == "f"
    });
    let tags = pg
        .query_rows("SELECT tag FROM marks GROUP BY tag ORDER BY tag")
        .into_iter()
        .map(|r| r[0].clone())
        .collect();
    pg.stop();
    tags
}

/// Ours → Python (every compression) and Python → ours, each recovered and started.
#[test]
fn export_import_interop_with_python_recovers_the_rows() {
    require!("PostgreSQL 15", pg_available());
    require!(python_barman::REQUIREMENT, python_barman::available());
    let src = source();
    let id = backup_ids(&src.home, false).remove(0);
    let out_dir = shared_tempdir();
    let out = out_dir.path();
    let theirs = export(&src.home, true, &id, &[], out);
    for compression in ["none", "gzip", "bzip2", "xz"] {
        let extra: &[&str] = match compression {
            "none" => &[],
            c => &["--compression", c],
        };
        let tarball = export(&src.home, false, "latest", extra, out);
        assert_eq!(
            members(&tarball),
            members(&theirs),
            "{compression}: member order"
        );
        let dst = peer(&src.home);
        let arg = tarball.to_str().unwrap();
        let imported = ok(
            run(&dst, true, &["import-backup", "pg", arg]),
            "python import",
        );
        assert!(imported
            .stdout
            .contains(&format!("Successfully imported backup '{id}'")));
        assert_eq!(
            backup_ids(&dst, true),
            std::slice::from_ref(&id),
            "{compression}"
        );
        assert_eq!(
            backup_ids(&dst, false),
            std::slice::from_ref(&id),
            "{compression}"
        );
        if compression == "gzip" {
            assert_eq!(
                restore_rows(&dst, true, &id),
                ["base"],
                "Python recovering ours"
            );
        }
    }
    for (python_exports, compression) in [(true, "xz"), (false, "bzip2")] {
        let tarball = export(
            &src.home,
            python_exports,
            &id,
            &["--compression", compression],
            out,
        );
        let dst = peer(&src.home);
        ok(
            dst.run(&["import-backup", "pg", tarball.to_str().unwrap()]),
            "our import",
        );
        assert_eq!(backup_ids(&dst, true), std::slice::from_ref(&id));
        let keep = run(&dst, true, &["keep", "pg", &id, "--status"]);
        assert!(keep.stdout.contains("Keep: standalone"), "{}", keep.stdout);
        assert_eq!(
            restore_rows(&dst, false, &id),
            ["base"],
            "we recover an import"
        );
    }
}

/// Normalise what differs by design between two runs: the export's time and checksum, and
/// the temporary folders.
fn normalise(text: &str, dirs: &[&Path]) -> String {
    let mut text = text.to_string();
    for dir in dirs {
        text = text.replace(&dir.display().to_string(), "<DIR>");
    }
    let re_name = |s: &str| {
        let mut out = String::new();
        let mut rest = s;
        while let Some(at) = rest.find(&format!("pg-{ID}-")) {
            out.push_str(&rest[..at + 19]);
            rest = &rest[at + 19..];
            // <timestamp>-<checksum>: 15 + 1 + 8 characters.
            if rest.len() >= 24 && rest.as_bytes()[15] == b'-' {
                out.push_str("<TS>-<SUM>");
                rest = &rest[24..];
            }
        }
        out + rest
    };
    re_name(&text)
}

fn compare(a: &Run, b: &Run, what: &str, dirs: &[&Path]) {
    assert_eq!(
        (
            normalise(&a.stdout, dirs),
            normalise(&a.stderr, dirs),
            a.code
        ),
        (
            normalise(&b.stdout, dirs),
            normalise(&b.stderr, dirs),
            b.code
        ),
        "{what}: ours (left) vs Python (right)"
    );
}

/// Console and JSON output of both commands, successes and refusals, next to Python's.
#[test]
fn export_import_output_matches_python() {
    require!(python_barman::REQUIREMENT, python_barman::available());
    let ours = generated(SYSTEMID);
    let theirs = generated(SYSTEMID);
    let dirs = [ours.dir(), theirs.dir()];
    let file = ours.dir().join("a-file");
    std::fs::write(&file, b"x").unwrap();
    let out_dir = shared_tempdir();
    let out = out_dir.path().to_path_buf();
    let out_s = out.to_str().unwrap();
    let cases: Vec<Vec<&str>> = vec![
        vec!["export-backup", "pg", "latest", out_s],
        vec![
            "export-backup",
            "pg",
            ID,
            out_s,
            "--compression",
            "gzip",
            "--compression-level",
            "1",
        ],
        vec!["export-backup", "pg", "nope", out_s],
        vec!["export-backup", "pg", "20261202T100000", out_s],
        vec!["export-backup", "pg", "20261203T100000", out_s],
        vec!["export-backup", "pg", ID, "/nonexistent/x"],
        vec!["export-backup", "pg", ID, file.to_str().unwrap()],
        vec!["export-backup", "pg", ID, out_s, "--compression-level", "3"],
        vec![
            "export-backup",
            "pg",
            ID,
            out_s,
            "--compression",
            "bzip2",
            "--compression-level",
            "0",
        ],
        vec![
            "export-backup",
            "pg",
            ID,
            out_s,
            "--compression",
            "xz",
            "--compression-level",
            "10",
        ],
        vec!["export-backup", "other", ID, out_s],
    ];
    for format in ["console", "json"] {
        for case in &cases {
            let mut args = vec!["-f", format];
            args.extend_from_slice(case);
            let a = ours.run(&args);
            let b = theirs.run_python(&args).unwrap();
            compare(&a, &b, &format!("{args:?}"), &dirs);
        }
    }
    let tarball = export(&ours, false, ID, &["--compression", "gzip"], &out);
    let tar_s = tarball.to_str().unwrap().to_string();
    let renamed = out.join(format!(
        "backup-export-pg-{ID}-20261205T000000-00000000.tar.gz"
    ));
    std::fs::copy(&tarball, &renamed).unwrap();
    let bad_name = out.join("whatever.tar");
    std::fs::copy(&tarball, &bad_name).unwrap();
    for format in ["console", "json"] {
        let (a_home, b_home) = (peer(&ours), peer(&ours));
        let dirs = [a_home.dir(), b_home.dir(), out.as_path()];
        for case in [
            vec!["import-backup", "pg", &tar_s],
            vec!["import-backup", "pg", &tar_s],
            vec!["import-backup", "pg", renamed.to_str().unwrap()],
            vec!["import-backup", "pg", bad_name.to_str().unwrap()],
            vec!["import-backup", "pg", "/nonexistent.tar"],
            vec!["import-backup", "pg", out_s],
            vec!["import-backup", "pg", file.to_str().unwrap()],
        ] {
            let mut args = vec!["-f", format];
            args.extend_from_slice(&case);
            compare(
                &a_home.run(&args),
                &b_home.run_python(&args).unwrap(),
                &format!("{args:?}"),
                &dirs,
            );
        }
    }
}

/// Every member of a plain tarball: name → (type, content; a link's target).
fn contents(tarball: &Path) -> Vec<(String, String, Vec<u8>)> {
    let mut archive = tar::Archive::new(std::fs::File::open(tarball).unwrap());
    archive
        .entries()
        .unwrap()
        .map(|entry| {
            let mut entry = entry.unwrap();
            let name = entry.path().unwrap().display().to_string();
            let kind = format!("{:?}", entry.header().entry_type());
            let mut data = Vec::new();
            std::io::Read::read_to_end(&mut entry, &mut data).unwrap();
            if let Some(link) = entry.link_name().unwrap() {
                data = link.display().to_string().into_bytes();
            }
            (name, kind, data)
        })
        .collect()
}

/// Our tarball and Python's for the same backup: same members in the same order, same
/// types, same bytes (`barman.json` aside, which describes the host: same keys there).
#[test]
fn export_tarball_matches_pythons_member_for_member() {
    require!(python_barman::REQUIREMENT, python_barman::available());
    let home = generated(SYSTEMID);
    let out_dir = shared_tempdir();
    let ours = contents(&export(&home, false, ID, &[], out_dir.path()));
    let theirs = contents(&export(&home, true, ID, &[], out_dir.path()));
    let names = |c: &[(String, String, Vec<u8>)]| c.iter().map(|m| m.0.clone()).collect::<Vec<_>>();
    assert_eq!(names(&ours), names(&theirs));
    for (a, b) in ours.iter().zip(&theirs) {
        if a.0 == "barman.json" {
            let keys = |d: &[u8]| {
                let v: serde_json::Value = serde_json::from_slice(d).unwrap();
                v.as_object().unwrap().keys().cloned().collect::<Vec<_>>()
            };
            assert_eq!(keys(&a.2), keys(&b.2));
        } else {
            assert_eq!(a, b, "member {}", a.0);
        }
    }
}
