//! Retention enforced by `cron` on generated catalogs (months of backups, keep
//! annotations, failed backups, an interrupted delete, an orphan), compared with Python
//! Barman 3.20.1's `cron` on an identical copy: same output, same backups deleted, same
//! xlog.db and WAL files left.

use crate::harness::{python_barman, BarmanHome};
use crate::require;
use std::path::Path;

fn segment(tli: u32, n: u32) -> String {
    format!("{tli:08X}{:08X}{:08X}", n / 256, n % 256)
}

/// A home whose server `pg` holds `count` backups (one every ~4 days over months), with
/// their WAL files on disk and in xlog.db.
fn generated(policy: &str, minimum: u32, count: usize) -> BarmanHome {
    let home = BarmanHome::new();
    home.write_config(
        "log_file = /dev/null",
        &[(
            "pg",
            &format!("conninfo = host=x\nssh_command = ssh x\narchiver = on\nbackup_options = concurrent_backup\nretention_policy = {policy}\nminimum_redundancy = {minimum}"),
        )],
    );
    let server = home.server_dir("pg");
    for dir in ["meta", "wals", "incoming", "errors", "streaming", "base"] {
        std::fs::create_dir_all(server.join(dir)).unwrap();
    }
    let mut db = String::new();
    let mut seg = 3u32;
    let start = chrono::NaiveDate::from_ymd_opt(2025, 1, 3).unwrap();
    for i in 0..count {
        let day = start + chrono::Days::new(4 * i as u64);
        let id = format!("{}T{:02}0000", day.format("%Y%m%d"), 1 + i % 20);
        let date = day.format("%Y-%m-%d");
        let hour = 1 + i % 20;
        let span = 1 + (i as u32 % 3);
        let (begin, end) = (segment(1, seg), segment(1, seg + span - 1));
        let status = if i % 7 == 5 { "FAILED" } else { "DONE" };
        let info = format!(
            "backup_label=None\nbegin_offset=40\nbegin_time={date} {hour:02}:00:00+00:00\nbegin_wal={begin}\n\
             begin_xlog=0/{seg:X}000028\nchildren_backup_ids=None\ncompression=None\n\
             config_file=/srv/pg/postgresql.conf\ndeduplicated_size=1000\nencryption=None\nend_offset=256\n\
             end_time={date} {hour:02}:05:00+00:00\nend_wal={end}\nend_xlog=0/{endseg:X}000100\n\
             error={error}\nhba_file=/srv/pg/pg_hba.conf\nident_file=/srv/pg/pg_ident.conf\n\
             mode=postgres\nparent_backup_id=None\npgdata=/srv/pg/data\n\
             server_name=pg\nsize=1000\nstatus={status}\nsystemid=7711537136028797555\n\
             tablespaces=None\ntimeline=1\nversion=150018\nxlog_segment_size=16777216\n",
            endseg = seg + span - 1,
            error = if status == "FAILED" { "failure copying files (x)" } else { "None" },
        );
        std::fs::write(server.join(format!("meta/{id}-backup.info")), info).unwrap();
        let data = server.join(format!("base/{id}/data"));
        std::fs::create_dir_all(&data).unwrap();
        std::fs::write(data.join("PG_VERSION"), "15\n").unwrap();
        match i % 11 {
            3 => std::fs::write(server.join(format!("meta/{id}-keep")), "standalone").unwrap(),
            8 => std::fs::write(server.join(format!("meta/{id}-keep")), "full").unwrap(),
            _ => {}
        }
        // An interrupted delete (cron deletes it again) and an orphan (warned, skipped).
        if i == 4 {
            std::fs::write(server.join(format!("meta/{id}-delete_this")), "delete").unwrap();
        }
        if i == 9 {
            std::fs::remove_dir_all(server.join(format!("base/{id}"))).unwrap();
        }
        let after = (i as u32 * 5) % 4;
        for n in seg..seg + span + after {
            let name = segment(1, n);
            let hash = server.join("wals").join(&name[..16]);
            std::fs::create_dir_all(&hash).unwrap();
            std::fs::write(hash.join(&name), format!("wal {n}")).unwrap();
            db.push_str(&format!(
                "{name}\t{}\t{}.5\tNone\n",
                6 + n.to_string().len(),
                1_740_000_000 + n as u64 * 600
            ));
        }
        seg += span + after;
    }
    std::fs::write(
        server.join("wals/00000002.history"),
        "1\t0/3000000\tno reason\n",
    )
    .unwrap();
    db.push_str("00000002.history\t21\t1790000000.0\tNone\n");
    std::fs::write(server.join("wals/pg-xlog.db"), db).unwrap();
    home
}

/// Every file under `dir`, relative, sorted (lock files excluded).
fn tree(dir: &Path) -> Vec<String> {
    let mut files = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p.clone());
            }
            let rel = p.strip_prefix(dir).unwrap().display().to_string();
            if !rel.ends_with(".lock") {
                files.push(rel);
            }
        }
    }
    files.sort();
    files
}

/// Console output with the delete timings masked.
fn masked(text: &str) -> String {
    text.lines()
        .map(|l| match l.find(" (start time: ") {
            Some(at) if l.starts_with("Deleted backup ") => format!("{}…", &l[..at]),
            _ => l.to_string(),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn compare(policy: &str, minimum: u32, count: usize) {
    let ours = generated(policy, minimum, count);
    let theirs = generated(policy, minimum, count);
    let before = tree(&ours.server_dir("pg"));
    let a = ours.run(&["cron"]);
    let b = theirs.run_python(&["cron"]).unwrap();
    // The background archive-wal children only find empty queues; let them end.
    std::thread::sleep(std::time::Duration::from_millis(1500));
    assert_eq!(a.code, b.code, "{}\n{}", a.stderr, b.stderr);
    assert_eq!(masked(&a.stdout), masked(&b.stdout));
    assert!(
        a.stdout.contains("Enforcing retention policy"),
        "{}",
        a.stdout
    );
    // Without log_file the log goes to stderr too: compare the console messages only
    // (Barman names its loggers after modules, we log console messages as barman.cli).
    let console = |t: &str| {
        t.split("\n20")
            .filter(|chunk| !chunk.starts_with(|c: char| c.is_ascii_digit()))
            .collect::<Vec<_>>()
            .join("\n")
    };
    let home_a = ours.dir().display().to_string();
    let home_b = theirs.dir().display().to_string();
    assert_eq!(
        console(&a.stderr).replace(&home_a, "HOME"),
        console(&b.stderr).replace(&home_b, "HOME")
    );
    let after = tree(&ours.server_dir("pg"));
    assert_eq!(after, tree(&theirs.server_dir("pg")));
    assert_ne!(
        before, after,
        "cron deleted nothing: the test proves nothing"
    );
    let db = |h: &BarmanHome| {
        std::fs::read_to_string(h.server_dir("pg").join("wals/pg-xlog.db")).unwrap()
    };
    assert_eq!(db(&ours), db(&theirs));
}

#[test]
fn ops_cron_retention_redundancy_matches_barman() {
    require!(python_barman::REQUIREMENT, python_barman::available());
    compare("REDUNDANCY 3", 1, 40);
}

#[test]
fn ops_cron_retention_window_matches_barman() {
    require!(python_barman::REQUIREMENT, python_barman::available());
    compare("RECOVERY WINDOW OF 2 MONTHS", 5, 60);
}

#[test]
fn ops_cron_retention_deletes_obsolete_and_keeps_kept() {
    let home = generated("REDUNDANCY 2", 0, 25);
    let run = home.run(&["cron"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stdout
            .contains("Enforcing retention policy: removing backup 20250103T010000 for server pg"),
        "{}",
        run.stdout
    );
    assert!(run.stderr.contains("is an orphan backup"), "{}", run.stderr);
    let meta = home.server_dir("pg").join("meta");
    // Kept backups (i % 11 == 3 or 8) survive.
    assert!(meta.join("20250115T040000-backup.info").exists());
    assert!(!meta.join("20250103T010000-backup.info").exists());
    // The interrupted delete was finished.
    assert!(!meta.join("20250119T050000-backup.info").exists());
}
