//! Catalog commands (list-backups, show-backup, list-files, keep, delete, check-backup)
//! against Python Barman 3.20.1 on identical copies of a real catalog with fake WAL files.

use crate::harness::{python_barman, BarmanHome, Run};
use crate::require;
use std::path::Path;

const FIXTURES: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/barman-3.20/catalog"
);
const IDS: [&str; 3] = ["20261124T004001", "20261124T004434", "20261124T004711"];

/// A home with server `pg`: the three real backup.info files, the real xlog.db, a small data
/// folder per backup and one fake file per archived WAL.
fn home(policy: &str, minimum_redundancy: u32) -> BarmanHome {
    let home = BarmanHome::new();
    home.write_config(
        "",
        &[(
            "pg",
            &format!("conninfo = host=x\nssh_command = ssh x\narchiver = on\nbackup_options = concurrent_backup\nretention_policy = {policy}\nminimum_redundancy = {minimum_redundancy}"),
        )],
    );
    let server = home.server_dir("pg");
    std::fs::create_dir_all(server.join("meta")).unwrap();
    for id in IDS {
        std::fs::copy(
            format!("{FIXTURES}/pg-{id}-backup.info"),
            server.join(format!("meta/{id}-backup.info")),
        )
        .unwrap();
        let data = server.join(format!("base/{id}/data"));
        std::fs::create_dir_all(data.join("pg_wal")).unwrap();
        std::fs::create_dir_all(server.join(format!("base/{id}/16386/PG_15"))).unwrap();
        std::fs::write(data.join("PG_VERSION"), "15\n").unwrap();
        std::fs::write(data.join("backup_label"), id).unwrap();
        std::fs::write(server.join(format!("base/{id}/16386/PG_15/1")), id).unwrap();
    }
    let db = std::fs::read_to_string(format!("{FIXTURES}/pg-xlog.db")).unwrap();
    let wals = server.join("wals");
    for line in db.lines() {
        let name = line.split_whitespace().next().unwrap();
        let dir = if name.ends_with(".history") {
            wals.clone()
        } else {
            wals.join(&name[..16])
        };
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(name), name).unwrap();
    }
    std::fs::write(wals.join("pg-xlog.db"), db).unwrap();
    home
}

/// Output lines that do not depend on the process (log lines and timings dropped).
fn normal(run: &Run) -> (i32, String, Vec<String>) {
    let stderr = run
        .stderr
        .lines()
        .filter(|l| l.starts_with("ERROR") || l.starts_with("WARNING"))
        .map(str::to_string)
        .collect();
    let stdout = run
        .stdout
        .lines()
        .filter(|l| !l.contains(" barman."))
        .map(|l| match l.find("(start time:") {
            Some(at) => l[..at].to_string(),
            None => l.to_string(),
        })
        .collect::<Vec<_>>()
        .join("\n");
    (run.code, stdout, stderr)
}

fn same(ours: &BarmanHome, theirs: &BarmanHome, args: &[&str]) {
    let a = ours.run(args);
    let b = theirs.run_python(args).unwrap();
    assert_eq!(normal(&a), normal(&b), "{args:?}");
}

/// Every file under the server folder with its content (lock files are outside it).
fn tree(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p.clone());
                out.push((
                    p.strip_prefix(dir).unwrap().display().to_string(),
                    Vec::new(),
                ));
            } else {
                out.push((
                    p.strip_prefix(dir).unwrap().display().to_string(),
                    std::fs::read(&p).unwrap(),
                ));
            }
        }
    }
    out.sort();
    out
}

#[test]
fn catalog_read_commands_match_barman() {
    require!(
        "Python Barman (scripts/python-barman)",
        python_barman::available()
    );
    for policy in ["REDUNDANCY 2", "REDUNDANCY 1", "RECOVERY WINDOW OF 1 DAYS"] {
        // Read-only commands run on the same home (list-files prints folders in
        // directory-read order, which differs between two copies).
        let ours = home(policy, 0);
        let theirs = &ours;
        ours.run(&["keep", "pg", "20261124T004434", "--target", "standalone"])
            .ok();
        for args in [
            vec!["list-backups", "pg"],
            vec!["-f", "json", "list-backups", "all"],
            vec!["list-backups", "--minimal", "pg"],
            vec!["-f", "json", "list-backups", "--minimal", "pg"],
            vec!["show-backup", "pg", "latest"],
            vec!["show-backup", "pg", "oldest"],
            vec!["show-backup", "pg", "20261124T004434"],
            vec!["-f", "json", "show-backup", "pg", "first"],
            vec!["-f", "json", "show-backup", "pg", "last"],
            vec!["show-backup", "pg", "nope"],
            vec!["list-files", "pg", "oldest"],
            vec![
                "list-files",
                "pg",
                "oldest",
                "--target",
                "data",
                "--list-empty-directories",
            ],
            vec!["list-files", "pg", "20261124T004434", "--target", "wal"],
            vec!["list-files", "pg", "latest", "--target", "full"],
            vec!["keep", "pg", "20261124T004434", "--status"],
            vec!["-f", "json", "keep", "pg", "latest", "--status"],
        ] {
            same(&ours, theirs, &args);
        }
    }
}

#[test]
fn catalog_keep_is_shared_with_barman() {
    require!(
        "Python Barman (scripts/python-barman)",
        python_barman::available()
    );
    let home = home("REDUNDANCY 1", 0);
    home.run(&["keep", "pg", "oldest", "--target", "full"]).ok();
    let status = home
        .run_python(&["keep", "pg", "oldest", "--status"])
        .unwrap();
    assert_eq!(status.stdout, "Server pg:\n\tKeep: full\n");
    home.run_python(&["keep", "pg", "oldest", "--release"])
        .unwrap()
        .ok();
    home.run_python(&["keep", "pg", "latest", "--target", "standalone"])
        .unwrap()
        .ok();
    assert_eq!(
        home.run(&["keep", "pg", "latest", "-s"]).stdout,
        "Server pg:\n\tKeep: standalone\n"
    );
    assert_eq!(
        home.run(&["keep", "pg", "oldest", "-s"]).stdout,
        "Server pg:\n\tKeep: nokeep\n"
    );
}

#[test]
fn catalog_delete_matches_barman_and_refusals_change_nothing() {
    require!(
        "Python Barman (scripts/python-barman)",
        python_barman::available()
    );
    let ours = home("REDUNDANCY 2", 2);
    let theirs = home("REDUNDANCY 2", 2);
    same(
        &ours,
        &theirs,
        &["keep", "pg", "oldest", "--target", "standalone"],
    );
    let before = tree(&ours.server_dir("pg"));
    same(&ours, &theirs, &["delete", "pg", "oldest"]); // kept
    same(&ours, &theirs, &["delete", "pg", "unknown"]);
    same(&ours, &theirs, &["keep", "pg", "oldest", "--release"]);
    ours.write_config(
        "",
        &[(
            "pg",
            "conninfo = host=x\nssh_command = ssh x\narchiver = on\nminimum_redundancy = 3",
        )],
    );
    theirs.write_config(
        "",
        &[(
            "pg",
            "conninfo = host=x\nssh_command = ssh x\narchiver = on\nminimum_redundancy = 3",
        )],
    );
    same(&ours, &theirs, &["delete", "pg", "latest"]); // minimum redundancy
    assert_eq!(
        tree(&ours.server_dir("pg")).len(),
        before.len() - 1,
        "only the keep file went"
    );
    ours.write_config("", &[("pg", "conninfo = host=x\nssh_command = ssh x\narchiver = on\nbackup_options = concurrent_backup")]);
    theirs.write_config("", &[("pg", "conninfo = host=x\nssh_command = ssh x\narchiver = on\nbackup_options = concurrent_backup")]);
    for id in ["20261124T004434", "oldest", "latest"] {
        same(&ours, &theirs, &["delete", "pg", id]);
        assert_eq!(
            tree(&ours.server_dir("pg")),
            tree(&theirs.server_dir("pg")),
            "after delete {id}"
        );
        same(&ours, &theirs, &["list-backups", "pg"]);
    }
}

#[test]
fn catalog_check_backup_transitions() {
    require!(
        "Python Barman (scripts/python-barman)",
        python_barman::available()
    );
    let ours = home("REDUNDANCY 2", 0);
    let theirs = home("REDUNDANCY 2", 0);
    for h in [&ours, &theirs] {
        let path = h.server_dir("pg").join("meta/20261124T004434-backup.info");
        let text = std::fs::read_to_string(&path).unwrap();
        std::fs::write(
            &path,
            text.replace("status=DONE", "status=WAITING_FOR_WALS"),
        )
        .unwrap();
    }
    same(&ours, &theirs, &["check-backup", "pg", "20261124T004434"]);
    same(&ours, &theirs, &["show-backup", "pg", "20261124T004434"]);
    for h in [&ours, &theirs] {
        let path = h.server_dir("pg").join("meta/20261124T004711-backup.info");
        let text = std::fs::read_to_string(&path).unwrap();
        std::fs::write(
            &path,
            text.replace("status=DONE", "status=WAITING_FOR_WALS"),
        )
        .unwrap();
        std::fs::remove_file(
            h.server_dir("pg")
                .join("wals/0000000100000000/000000010000000000000035"),
        )
        .unwrap();
    }
    same(&ours, &theirs, &["check-backup", "pg", "latest"]);
    same(&ours, &theirs, &["show-backup", "pg", "20261124T004711"]);
    same(&ours, &theirs, &["check-backup", "pg", "20261124T004711"]);
    assert_eq!(tree(&ours.server_dir("pg")), tree(&theirs.server_dir("pg")));
}
