//! `check-wal-archive` decides and prints as Python Barman does.

use crate::harness::{python_barman, BarmanHome};
use crate::require;

fn home(with_wals: bool) -> BarmanHome {
    let home = BarmanHome::new();
    home.write_config("", &[("pg", "conninfo = host=x\nssh_command = ssh x\narchiver = on\nbackup_options = concurrent_backup")]);
    let wals = home.home().join("pg/wals");
    std::fs::create_dir_all(&wals).unwrap();
    let db = if with_wals {
        std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/barman-3.20/catalog/pg-xlog.db"
        ))
        .unwrap()
    } else {
        String::new()
    };
    std::fs::write(wals.join("pg-xlog.db"), db).unwrap();
    home
}

#[test]
fn check_wal_archive_matches_barman() {
    require!(
        "Python Barman (scripts/python-barman)",
        python_barman::available()
    );
    for with_wals in [false, true] {
        let home = home(with_wals);
        for args in [
            vec!["check-wal-archive", "pg"],
            vec!["check-wal-archive", "--timeline", "1", "pg"],
            vec!["check-wal-archive", "--timeline", "2", "pg"],
            vec!["-f", "json", "check-wal-archive", "pg"],
        ] {
            let ours = home.run(&args);
            let theirs = home.run_python(&args).unwrap();
            assert_eq!(ours.code, theirs.code, "{args:?} {with_wals}");
            assert_eq!(ours.stdout, theirs.stdout, "{args:?} {with_wals}");
            let errors = |s: &str| {
                s.lines()
                    .filter(|l| l.starts_with("ERROR"))
                    .map(str::to_string)
                    .collect::<Vec<_>>()
            };
            assert_eq!(
                errors(&ours.stderr),
                errors(&theirs.stderr),
                "{args:?} {with_wals}"
            );
        }
    }
}
