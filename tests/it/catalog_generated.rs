//! list-backups and show-backup on a generated catalog of many backups (DONE, FAILED,
//! WAITING_FOR_WALS, keeps, two timelines, compressed WAL sizes) compared with Python
//! Barman 3.20.1 under REDUNDANCY and RECOVERY WINDOW policies: the one-pass WAL
//! accounting of list-backups must give Barman's per-backup figures.

use crate::harness::{python_barman, BarmanHome};
use crate::require;

const BACKUPS: usize = 40;

fn segment(tli: u32, n: u32) -> String {
    format!("{tli:08X}{:08X}{:08X}", n / 256, n % 256)
}

/// A home whose server `pg` holds BACKUPS generated backups and their WALs.
fn generated(policy: &str) -> BarmanHome {
    let home = BarmanHome::new();
    home.write_config(
        "",
        &[(
            "pg",
            &format!("conninfo = host=x\nssh_command = ssh x\narchiver = on\nbackup_options = concurrent_backup\nretention_policy = {policy}\nminimum_redundancy = 2"),
        )],
    );
    let server = home.server_dir("pg");
    std::fs::create_dir_all(server.join("meta")).unwrap();
    std::fs::create_dir_all(server.join("wals")).unwrap();
    let mut db = String::new();
    let mut seg = 3u32;
    for i in 0..BACKUPS {
        // One backup every 11 hours in late 2026, spanning 1-3 segments, 0-5 after it.
        let day = 1 + i / 2;
        let hour = if i % 2 == 0 { 1 } else { 12 };
        let id = format!("202610{day:02}T{hour:02}0000");
        let tli = if i >= BACKUPS - 5 { 2 } else { 1 };
        let span = 1 + (i as u32 % 3);
        let (begin, end) = (segment(tli, seg), segment(tli, seg + span - 1));
        let status = if i == BACKUPS - 2 {
            "WAITING_FOR_WALS"
        } else if i % 9 == 4 {
            "FAILED"
        } else {
            "DONE"
        };
        let info = format!(
            "backup_label='START WAL LOCATION: 0/{seg:X}000028 (file {begin})\\n'\n\
             begin_offset=40\nbegin_time=2026-10-{day:02} {hour:02}:00:00+00:00\nbegin_wal={begin}\n\
             begin_xlog=0/{seg:X}000028\nchildren_backup_ids=None\ncluster_size=33758921\ncompression=None\n\
             config_file=/srv/pg/postgresql.conf\ncopy_stats={{'copy_time': 12.5, 'total_time': 13.25}}\n\
             data_checksums=on\ndeduplicated_size={dedup}\nencryption=None\nend_offset=256\n\
             end_time=2026-10-{day:02} {hour:02}:05:{sec:02}+00:00\nend_wal={end}\nend_xlog=0/{endseg:X}000100\n\
             error={error}\nhba_file=/srv/pg/pg_hba.conf\nident_file=/srv/pg/pg_ident.conf\n\
             included_files=None\nmode=rsync-concurrent\nparent_backup_id=None\npgdata=/srv/pg/data\n\
             server_name=pg\nsize={size}\nstatus={status}\nsummarize_wal=None\nsystemid=7711537136028797555\n\
             tablespaces=None\ntimeline={tli}\nversion=150018\nxlog_segment_size=16777216\n",
            sec = i % 60,
            endseg = seg + span - 1,
            dedup = 30_000_000 + i * 1000,
            size = 33_000_000 + i * 1000,
            error = if status == "FAILED" { "failure copying files (rsync error)" } else { "None" },
        );
        std::fs::write(server.join(format!("meta/{id}-backup.info")), info).unwrap();
        std::fs::create_dir_all(server.join(format!("base/{id}/data"))).unwrap();
        if i % 10 == 3 {
            std::fs::write(server.join(format!("meta/{id}-keep")), "standalone").unwrap();
        }
        if i % 10 == 6 {
            std::fs::write(server.join(format!("meta/{id}-keep")), "full").unwrap();
        }
        if i == BACKUPS - 5 {
            db.push_str("00000002.history\t42\t1790000000.0\tNone\n");
        }
        let after = (i as u32 * 7) % 6;
        for n in seg..seg + span + after {
            let size = if n % 4 == 0 {
                16_777_216
            } else {
                3_000_000 + n as u64 * 17
            };
            let time = 1_790_000_000 + n as u64 * 600;
            let compression = if n % 4 == 0 { "None" } else { "gzip" };
            db.push_str(&format!(
                "{}\t{size}\t{time}.5\t{compression}\n",
                segment(tli, n)
            ));
        }
        seg += span + after;
    }
    std::fs::write(server.join("wals/pg-xlog.db"), db).unwrap();
    home
}

fn compare(policy: &str) {
    let home = generated(policy);
    for args in [
        vec!["list-backups", "pg"],
        vec!["-f", "json", "list-backups", "pg"],
        vec!["show-backup", "pg", "latest"],
        vec!["show-backup", "pg", "oldest"],
        vec!["-f", "json", "show-backup", "pg", "20261010T120000"],
        vec!["show-backup", "pg", "20261015T010000"],
    ] {
        let ours = home.run(&args);
        let theirs = home.run_python(&args).unwrap();
        assert_eq!(ours.code, theirs.code, "{args:?}: {}", ours.stderr);
        assert_eq!(ours.stdout, theirs.stdout, "{args:?}");
    }
}

#[test]
fn catalog_generated_redundancy_matches_barman() {
    require!(python_barman::REQUIREMENT, python_barman::available());
    compare("REDUNDANCY 4");
}

#[test]
fn catalog_generated_recovery_window_matches_barman() {
    require!(python_barman::REQUIREMENT, python_barman::available());
    compare("RECOVERY WINDOW OF 3 WEEKS");
}

#[test]
fn catalog_generated_listing_is_not_empty() {
    let home = generated("REDUNDANCY 4");
    let run = home.run(&["list-backups", "pg"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.stdout.lines().count(), BACKUPS, "{}", run.stdout);
    assert!(run.stdout.contains(" - OBSOLETE"), "{}", run.stdout);
    assert!(run.stdout.contains(" - KEEP:STANDALONE"), "{}", run.stdout);
    assert!(run.stdout.contains(" - R - FAILED"), "{}", run.stdout);
    assert!(run.stdout.contains("WAITING_FOR_WALS"), "{}", run.stdout);
}

/// With 1 MiB segments one hash folder holds 4096 segments. Deleting the oldest backup
/// removes the 270 WALs before the next one; Barman removes the whole folder once 256 of
/// its files go, losing the WALs the remaining backup needs. We remove only what goes.
#[test]
fn catalog_delete_keeps_needed_wals_sharing_a_folder_with_removed_ones() {
    let home = BarmanHome::new();
    home.write_config(
        "",
        &[("pg", "conninfo = host=x\nssh_command = ssh x\narchiver = on\nbackup_options = concurrent_backup\nminimum_redundancy = 0")],
    );
    let server = home.server_dir("pg");
    std::fs::create_dir_all(server.join("meta")).unwrap();
    let folder = server.join("wals/0000000100000000");
    std::fs::create_dir_all(&folder).unwrap();
    let name = |n: u32| format!("0000000100000000{n:08X}");
    let mut db = String::new();
    for n in 0..300 {
        std::fs::write(folder.join(name(n)), b"x").unwrap();
        db.push_str(&format!("{}\t1\t1790000000.0\tNone\n", name(n)));
    }
    std::fs::write(server.join("wals/pg-xlog.db"), db).unwrap();
    for (id, begin) in [("20261001T000000", 10u32), ("20261002T000000", 270)] {
        let info = format!(
            "backup_label=None\nbegin_offset=40\nbegin_time=2026-10-01 00:00:00+00:00\nbegin_wal={b}\nbegin_xlog=0/1\n\
             children_backup_ids=None\ncluster_size=1\ncompression=None\nconfig_file=/c\ncopy_stats=None\ndata_checksums=on\n\
             deduplicated_size=1\nencryption=None\nend_offset=1\nend_time=2026-10-01 00:05:00+00:00\nend_wal={e}\nend_xlog=0/2\n\
             error=None\nhba_file=/h\nident_file=/i\nincluded_files=None\nmode=rsync-concurrent\nparent_backup_id=None\npgdata=/d\n\
             server_name=pg\nsize=1\nstatus=DONE\nsummarize_wal=None\nsystemid=1\ntablespaces=None\ntimeline=1\nversion=150018\n\
             xlog_segment_size=1048576\n",
            b = name(begin),
            e = name(begin + 1)
        );
        std::fs::write(server.join(format!("meta/{id}-backup.info")), info).unwrap();
        std::fs::create_dir_all(server.join(format!("base/{id}/data"))).unwrap();
    }
    let run = home.run(&["delete", "pg", "oldest"]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    for n in 270..300 {
        assert!(folder.join(name(n)).exists(), "{} was lost", name(n));
    }
    assert!(!folder.join(name(0)).exists());
    let db = std::fs::read_to_string(server.join("wals/pg-xlog.db")).unwrap();
    assert_eq!(db.lines().count(), 30);
}
