//! Issue #14's hostile inputs and faults, each proven by a test that failed before its fix:
//! torn catalog lines, unreadable catalog files, unknown statuses, interpolation bombs,
//! deletions racing readers, and children outliving a killed barman.

use crate::archive_wal::{check_archive_matches, generate_wal, setup};
use crate::harness::pg_cluster::pg_available;
use crate::harness::Run;
use crate::require;

fn xlog_db_text(setup: &crate::archive_wal::Setup) -> String {
    std::fs::read_to_string(setup.home.home().join("pg/wals/pg-xlog.db")).unwrap_or_default()
}

/// Every line has Barman's 4 or 5 fields (a glued line has more).
fn assert_whole_lines(text: &str) {
    assert!(
        text.is_empty() || text.ends_with('\n'),
        "torn tail: {text:?}"
    );
    for line in text.lines() {
        let fields = line.split('\t').count();
        assert!((4..=5).contains(&fields), "malformed line {line:?}");
    }
}

#[test]
fn xlog_db_append_on_a_full_disk_leaves_no_torn_line() {
    require!("PostgreSQL 15 binaries", pg_available());
    let setup = setup("gzip");
    generate_wal(&setup.pg, 2);
    setup.home.run(&["archive-wal", "pg"]).ok();
    generate_wal(&setup.pg, 2);
    let full = Run::of(
        setup
            .home
            .barman()
            .args(["archive-wal", "pg"])
            .env("BARMAN_FAILPOINT", "xlogdb-append-enospc"),
    );
    assert_ne!(full.code, 0, "the append did not fail: {}", full.stdout);
    assert!(
        full.stdout.contains("No space left on device")
            || full.stderr.contains("No space left on device"),
        "{}\n{}",
        full.stdout,
        full.stderr
    );
    assert_whole_lines(&xlog_db_text(&setup));
    setup.home.run(&["archive-wal", "pg"]).ok();
    assert_whole_lines(&xlog_db_text(&setup));
    check_archive_matches(&setup);
}

#[test]
fn xlog_db_torn_tail_from_elsewhere_is_cut_and_its_wal_catalogued_again() {
    require!("PostgreSQL 15 binaries", pg_available());
    let setup = setup("gzip");
    generate_wal(&setup.pg, 3);
    setup.home.run(&["archive-wal", "pg"]).ok();
    // Another writer (Python Barman, a crash) left its last line half written.
    let path = setup.home.home().join("pg/wals/pg-xlog.db");
    let text = xlog_db_text(&setup);
    let last = text.lines().last().unwrap().to_string();
    let torn = format!("{}{}", &text[..text.len() - last.len() - 1], &last[..30]);
    std::fs::write(&path, &torn).unwrap();
    generate_wal(&setup.pg, 1);
    setup.home.run(&["archive-wal", "pg"]).ok();
    let repaired = xlog_db_text(&setup);
    assert_whole_lines(&repaired);
    let name = last.split('\t').next().unwrap();
    assert!(
        repaired
            .lines()
            .any(|l| l.starts_with(&format!("{name}\t"))),
        "{name} lost:\n{repaired}"
    );
    check_archive_matches(&setup);
}

#[test]
fn xlog_db_reader_names_the_malformed_line() {
    require!("PostgreSQL 15 binaries", pg_available());
    let setup = setup("gzip");
    generate_wal(&setup.pg, 2);
    setup.home.run(&["archive-wal", "pg"]).ok();
    let path = setup.home.home().join("pg/wals/pg-xlog.db");
    let text = xlog_db_text(&setup);
    let mut lines: Vec<&str> = text.lines().collect();
    lines.insert(1, "000000010000000000000099\tbig\t1.0\tNone\tNone");
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();
    let run = setup.home.run(&["check-wal-archive", "pg"]);
    assert_ne!(run.code, 0);
    assert!(
        run.stderr.contains("pg-xlog.db, line 2:"),
        "{}\n{}",
        run.stdout,
        run.stderr
    );
}

const FIXTURES: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/barman-3.20/catalog"
);

/// Python Barman's catalog of the lab's `pg` server (three DONE backups and its xlog.db)
/// under `home`, with a server section that needs no PostgreSQL.
fn python_catalog() -> crate::harness::BarmanHome {
    let home = crate::harness::BarmanHome::new();
    let dir = home.home().join("pg");
    let (meta, wals) = (dir.join("meta"), dir.join("wals"));
    std::fs::create_dir_all(&meta).unwrap();
    std::fs::create_dir_all(&wals).unwrap();
    for id in ["20261124T004001", "20261124T004434", "20261124T004711"] {
        std::fs::copy(
            format!("{FIXTURES}/pg-{id}-backup.info"),
            meta.join(format!("{id}-backup.info")),
        )
        .unwrap();
    }
    std::fs::copy(format!("{FIXTURES}/pg-xlog.db"), wals.join("pg-xlog.db")).unwrap();
    home.write_config(
        "",
        &[(
            "pg",
            "conninfo = host=127.0.0.1 port=1 dbname=postgres connect_timeout=1\n\
             backup_method = postgres\nstreaming_conninfo = host=127.0.0.1 port=1\n\
             streaming_archiver = on\nslot_name = barman\n",
        )],
    );
    home
}

fn plant(home: &crate::harness::BarmanHome, id: &str, bytes: &[u8]) {
    std::fs::write(home.home().join(format!("pg/meta/{id}-backup.info")), bytes).unwrap();
}

#[test]
fn unreadable_backup_info_is_reported_and_hides_nothing() {
    let home = python_catalog();
    plant(
        &home,
        "20261124T010000",
        b"\x00\x01\x02garbage\xff\xfe\n\x1b[31mred",
    );
    let check = home.run(&["check", "pg"]);
    let line = check
        .stdout
        .lines()
        .find(|l| l.starts_with("\tbackup catalog: "))
        .unwrap_or_else(|| panic!("no backup catalog line:\n{}", check.stdout));
    assert!(
        line.starts_with("\tbackup catalog: FAILED (unreadable backup.info: 20261124T010000: "),
        "{line}"
    );
    assert!(
        !line.chars().any(|c| c.is_control() && c != '\t'),
        "raw bytes: {line:?}"
    );
    let nagios = home.run(&["check", "--nagios", "pg"]);
    assert!(
        nagios.stdout.starts_with("BARMAN CRITICAL"),
        "{}",
        nagios.stdout
    );
    assert!(
        nagios.stdout.contains("backup catalog"),
        "{}",
        nagios.stdout
    );
    let status = home.run(&["status", "pg"]).ok();
    assert!(
        status.stdout.contains("No. of available backups: 3"),
        "{}",
        status.stdout
    );
    let list = home.run(&["list-backups", "pg"]).ok();
    assert_eq!(list.stdout.lines().count(), 3, "{}", list.stdout);
    let all = format!("{}{}", list.stdout, list.stderr);
    assert!(
        all.contains("Backup 20261124T010000 of server pg cannot be read"),
        "{all}"
    );
}

#[test]
fn unknown_status_is_an_unknown_backup_and_bad_wal_names_keep_every_wal() {
    let home = python_catalog();
    let good =
        std::fs::read_to_string(format!("{FIXTURES}/pg-20261124T004434-backup.info")).unwrap();
    plant(
        &home,
        "20261124T004500",
        good.replace("status=DONE", "status=BOGUS")
            .replace("backup_id=20261124T004434", "backup_id=20261124T004500")
            .as_bytes(),
    );
    let delete = home.run(&["delete", "pg", "20261124T004500"]);
    assert_ne!(delete.code, 0);
    assert!(
        delete
            .stderr
            .contains("Unknown backup '20261124T004500' for server 'pg'")
            || delete
                .stdout
                .contains("Unknown backup '20261124T004500' for server 'pg'"),
        "{}\n{}",
        delete.stdout,
        delete.stderr
    );
    assert!(home
        .home()
        .join("pg/meta/20261124T004500-backup.info")
        .is_file());

    // A backup whose begin_wal is not a WAL name: deleting the oldest must keep the WAL
    // that backup may need.
    plant(
        &home,
        "20261124T004500",
        good.replace("begin_wal=00000001000000000000002F", "begin_wal=ZZZ")
            .replace("backup_id=20261124T004434", "backup_id=20261124T004500")
            .as_bytes(),
    );
    let xlog_db = home.home().join("pg/wals/pg-xlog.db");
    let before = std::fs::read_to_string(&xlog_db).unwrap();
    let run = home.run(&["delete", "pg", "oldest"]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert!(
        run.stdout.contains("WAL files of server pg are kept")
            || run.stderr.contains("WAL files of server pg are kept"),
        "{}\n{}",
        run.stdout,
        run.stderr
    );
    assert_eq!(std::fs::read_to_string(&xlog_db).unwrap(), before);
    assert!(!home
        .home()
        .join("pg/meta/20261124T004001-backup.info")
        .exists());
}

#[test]
fn an_interpolation_bomb_is_refused_naming_file_and_key() {
    let home = crate::harness::BarmanHome::new();
    let mut bomb = String::from("description = x\nconninfo = host=x\nk0 = xxxxxxxxxx\n");
    for level in 1..=10 {
        bomb.push_str(&format!(
            "k{level} = {}\n",
            format!("%(k{})s", level - 1).repeat(10)
        ));
    }
    home.write_include("bomb.conf", &format!("[pg]\n{bomb}"));
    let start = std::time::Instant::now();
    let run = home.run(&["list-servers"]);
    assert!(start.elapsed() < std::time::Duration::from_secs(10));
    assert_ne!(run.code, 0);
    assert_ne!(run.code, 101, "panicked: {}", run.stderr);
    let text = format!("{}{}", run.stdout, run.stderr);
    assert!(
        text.contains("bomb.conf") && text.contains("k6") && text.contains("expands beyond"),
        "{text}"
    );
    assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
}

#[test]
fn truncated_backup_info_is_unreadable_not_a_backup_of_nones() {
    let home = python_catalog();
    let good = std::fs::read(format!("{FIXTURES}/pg-20261124T004434-backup.info")).unwrap();
    plant(&home, "20261124T004500", &good[..200]);
    let list = home.run(&["list-backups", "pg"]).ok();
    let all = format!("{}{}", list.stdout, list.stderr);
    assert!(
        all.contains("Backup 20261124T004500 of server pg cannot be read"),
        "{all}"
    );
    // Cut at a line boundary before `status`: whole lines, but not a whole file.
    let text = String::from_utf8(good.clone()).unwrap();
    let cut = text.find("\nsize=").unwrap() + 1;
    plant(&home, "20261124T004500", &good[..cut]);
    let list = home.run(&["list-backups", "pg"]).ok();
    let all = format!("{}{}", list.stdout, list.stderr);
    assert!(all.contains("no 'status' field (truncated?)"), "{all}");
    let show = home.run(&["show-backup", "pg", "20261124T004500"]);
    assert!(
        !show.stdout.contains("Server Name            : None"),
        "{}",
        show.stdout
    );
    assert_ne!(show.code, 0);
}

#[test]
fn garbage_identity_json_is_unreadable_not_a_changed_system_id() {
    require!("PostgreSQL 15 binaries", pg_available());
    let pg = crate::harness::PgCluster::start(Default::default());
    let home = crate::harness::BarmanHome::new();
    home.write_config(
        "",
        &[(
            "pg",
            &format!(
                "conninfo = {}\nbackup_method = rsync\nssh_command = ssh x\narchiver = on\n",
                pg.conninfo()
            ),
        )],
    );
    std::fs::create_dir_all(home.home().join("pg")).unwrap();
    std::fs::write(home.home().join("pg/identity.json"), b"\x00garbage{").unwrap();
    let check = home.run(&["check", "pg"]);
    let line = check
        .stdout
        .lines()
        .find(|l| l.starts_with("\tsystemid coherence: "))
        .unwrap_or_else(|| panic!("{}", check.stdout));
    assert!(
        line.starts_with("\tsystemid coherence: FAILED (cannot read \""),
        "{line}"
    );
    assert!(!line.contains("changed"), "{line}");
}

/// A cluster with a local-rsync backup in a new home (1 MiB segments, archiving into
/// incoming/), for the restore races.
fn backed_up() -> (
    crate::harness::PgCluster,
    crate::harness::BarmanHome,
    String,
) {
    use crate::harness::pg_cluster::give_to_postgres;
    let home = crate::harness::BarmanHome::new();
    let incoming = home.home().join("pg/incoming");
    std::fs::create_dir_all(&incoming).unwrap();
    give_to_postgres(&incoming);
    let pg = crate::archive_wal::archiving_cluster(&format!(
        "'test ! -f {inc}/%f && cp %p {inc}/.%f.tmp && mv {inc}/.%f.tmp {inc}/%f'",
        inc = incoming.display()
    ));
    pg.execute("CREATE TABLE big AS SELECT g, repeat('x', 200) AS filler FROM generate_series(1, 100000) g");
    home.write_config(
        "",
        &[(
            "pg",
            &format!(
                "conninfo = {}\nbackup_method = local-rsync\narchiver = on\nimmediate_checkpoint = true\n",
                pg.conninfo()
            ),
        )],
    );
    home.run(&["backup", "pg"]).ok();
    let id = home
        .run(&["list-backups", "--minimal", "pg"])
        .ok()
        .stdout
        .trim()
        .to_string();
    (pg, home, id)
}

#[test]
fn delete_during_restore_waits_for_the_reader() {
    require!("PostgreSQL 15 binaries", pg_available());
    let (_pg, home, id) = backed_up();
    let dest = home.dir().join("restored");
    // A slow restore (bandwidth-limited), and deletes while it copies.
    let restore = home
        .barman()
        .args([
            "restore",
            "pg",
            &id,
            dest.to_str().unwrap(),
            "--bwlimit",
            "4000",
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while !dest.join("base").exists() {
        assert!(
            std::time::Instant::now() < deadline,
            "restore never started copying"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let ours = home.run(&["delete", "pg", &id]);
    let all = format!("{}{}", ours.stdout, ours.stderr);
    assert!(
        all.contains(&format!(
            "Another process is holding the lock for backup {id} of server pg"
        )),
        "{all}"
    );
    if crate::harness::python_barman::available() {
        let python = home.run_python(&["delete", "pg", &id]).unwrap();
        assert!(
            home.home().join(format!("pg/base/{id}")).is_dir(),
            "Python deleted it: {}{}",
            python.stdout,
            python.stderr
        );
    }
    let output = restore.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        stdout.contains("successfully prepared for recovery"),
        "{stdout}"
    );
    assert!(dest.join("global/pg_control").is_file());
    // Once the reader is done, the delete goes through.
    home.run(&["delete", "pg", &id]).ok();
    assert!(!home.home().join(format!("pg/base/{id}")).exists());
}
