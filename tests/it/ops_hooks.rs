//! Hook scripts: each family fires with Barman's environment (a script records it), in
//! Barman's order, compared with Python Barman 3.20.1 doing the same operation on an
//! identical copy; retry hooks with scripts exiting 1, 62 and 63.

use crate::harness::{python_barman, BarmanHome, Run};
use crate::require;
use std::collections::BTreeMap;
use std::path::Path;

const SEGMENTS: [&str; 2] = ["000000010000000000000002", "000000010000000000000003"];

/// A recorder: appends `<phase>-<hook>` to `order` and writes the BARMAN_* environment
/// of the call to `<dir>/<n>-<phase>-<hook>`; exits with `code`.
fn recorder(dir: &Path, code: &str) -> String {
    format!(
        "n=$(ls {d} | wc -l); env | grep ^BARMAN_ | sort > {d}/$(expr 10 + $n)-$BARMAN_PHASE-$BARMAN_HOOK; exit {code}",
        d = dir.display()
    )
}

/// A server `pg` with two backups and WAL for them, plus two WAL files in incoming/, and
/// every archive/delete/wal_delete hook set to the recorder.
fn home_with_hooks(extra: &str) -> BarmanHome {
    let home = BarmanHome::new();
    let record = home.dir().join("record");
    std::fs::create_dir_all(&record).unwrap();
    let mut hooks = String::new();
    for family in ["archive", "delete", "wal_delete"] {
        for phase in ["pre", "post"] {
            for kind in ["script", "retry_script"] {
                let key = format!("{phase}_{family}_{kind}");
                if !extra.contains(&format!("{key} =")) {
                    hooks.push_str(&format!("{key} = {}\n", recorder(&record, "0")));
                }
            }
        }
    }
    home.write_config(
        "log_file = /dev/null",
        &[(
            "pg",
            &format!("conninfo = host=x\nssh_command = ssh x\narchiver = on\nbackup_options = concurrent_backup\n{hooks}{extra}"),
        )],
    );
    let server = home.server_dir("pg");
    for dir in [
        "meta",
        "wals/0000000100000000",
        "incoming",
        "errors",
        "base",
    ] {
        std::fs::create_dir_all(server.join(dir)).unwrap();
    }
    let mut db = String::new();
    for (i, id) in ["20250101T010000", "20250102T010000"].iter().enumerate() {
        let wal = format!("0000000100000000000000{:02X}", i);
        let info = format!(
            "backup_label=None\nbegin_offset=40\nbegin_time=2025-01-0{d} 01:00:00+00:00\nbegin_wal={wal}\n\
             begin_xlog=0/{i}000028\nend_offset=256\nend_time=2025-01-0{d} 01:05:00+00:00\nend_wal={wal}\n\
             end_xlog=0/{i}000100\nerror=None\nmode=postgres\nparent_backup_id=None\npgdata=/srv/pg/data\n\
             server_name=pg\nsize=1000\nstatus=DONE\nsystemid=7711537136028797555\ntablespaces=None\n\
             timeline=1\nversion=150018\nxlog_segment_size=16777216\n",
            d = i + 1
        );
        std::fs::write(server.join(format!("meta/{id}-backup.info")), info).unwrap();
        std::fs::create_dir_all(server.join(format!("base/{id}/data"))).unwrap();
        std::fs::write(server.join(format!("wals/0000000100000000/{wal}")), "w").unwrap();
        db.push_str(&format!("{wal}\t1\t1735693200.0\tNone\n"));
    }
    std::fs::write(server.join("wals/pg-xlog.db"), db).unwrap();
    for name in SEGMENTS {
        let path = server.join("incoming").join(name);
        std::fs::write(&path, vec![7u8; 4096]).unwrap();
        let time = std::time::UNIX_EPOCH + std::time::Duration::from_millis(1_735_700_000_250);
        std::fs::File::options()
            .write(true)
            .open(&path)
            .unwrap()
            .set_modified(time)
            .unwrap();
    }
    home
}

/// The recorded calls, in order: (file name without the counter, environment with the
/// home folder masked).
fn recorded(home: &BarmanHome) -> Vec<(String, BTreeMap<String, String>)> {
    let dir = home.dir().join("record");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    let prefix = home.dir().display().to_string();
    names
        .iter()
        .map(|n| {
            let text = std::fs::read_to_string(dir.join(n)).unwrap();
            let env = text
                .lines()
                .filter_map(|l| l.split_once('='))
                .map(|(k, v)| (k.to_string(), v.replace(&prefix, "HOME")))
                .collect();
            (n[3..].to_string(), env)
        })
        .collect()
}

fn compare(args: &[&str], extra: &str) -> Vec<(String, BTreeMap<String, String>)> {
    let ours = home_with_hooks(extra);
    let theirs = home_with_hooks(extra);
    let a = ours.run(args);
    let b = theirs.run_python(args).unwrap();
    assert_eq!(a.code, b.code, "{}\n{}", a.stderr, b.stderr);
    // The two runs happen one after the other: their start times may differ by a second.
    let timeless = |text: &str| -> String {
        text.lines()
            .map(|l| match l.find("(start time: ") {
                Some(at) => &l[..at],
                None => l,
            })
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert_eq!(timeless(&a.stdout), timeless(&b.stdout));
    let (ra, rb) = (recorded(&ours), recorded(&theirs));
    assert_eq!(ra, rb);
    assert!(!ra.is_empty());
    ra
}

#[test]
fn ops_hooks_archive_environment_matches_barman() {
    require!(python_barman::REQUIREMENT, python_barman::available());
    let calls = compare(&["archive-wal", "pg"], "");
    let order: Vec<&str> = calls.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        order,
        [
            "pre-archive_script",
            "pre-archive_retry_script",
            "post-archive_retry_script",
            "post-archive_script",
        ]
        .repeat(2)
    );
    let pre = &calls[0].1;
    assert_eq!(pre["BARMAN_SEGMENT"], SEGMENTS[0]);
    assert_eq!(
        pre["BARMAN_FILE"],
        format!("HOME/home/pg/incoming/{}", SEGMENTS[0])
    );
    assert_eq!(pre["BARMAN_SIZE"], "4096");
    assert_eq!(pre["BARMAN_TIMESTAMP"], "1735700000.25");
    let post = &calls[3].1;
    assert_eq!(
        post["BARMAN_FILE"],
        format!("HOME/home/pg/wals/0000000100000000/{}", SEGMENTS[0])
    );
}

#[test]
fn ops_hooks_delete_and_wal_delete_environment_matches_barman() {
    require!(python_barman::REQUIREMENT, python_barman::available());
    let calls = compare(&["delete", "pg", "20250101T010000"], "");
    let order: Vec<&str> = calls.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        order,
        [
            "pre-delete_script",
            "pre-delete_retry_script",
            "pre-wal_delete_script",
            "pre-wal_delete_retry_script",
            "post-wal_delete_retry_script",
            "post-wal_delete_script",
            "post-delete_retry_script",
            "post-delete_script",
        ]
    );
    let pre = &calls[0].1;
    assert_eq!(pre["BARMAN_BACKUP_ID"], "20250101T010000");
    assert_eq!(pre["BARMAN_NEXT_ID"], "20250102T010000");
    assert_eq!(pre["BARMAN_STATUS"], "DONE");
    assert_eq!(calls[2].1["BARMAN_SEGMENT"], "000000010000000000000000");
}

#[test]
fn ops_hooks_pre_delete_retry_63_aborts_like_barman() {
    require!(python_barman::REQUIREMENT, python_barman::available());
    let ours = home_with_hooks("pre_delete_retry_script = exit 63");
    let theirs = home_with_hooks("pre_delete_retry_script = exit 63");
    let a = ours.run(&["delete", "pg", "20250101T010000"]);
    let b = theirs
        .run_python(&["delete", "pg", "20250101T010000"])
        .unwrap();
    assert_eq!(
        (a.code, &a.stdout, &a.stderr),
        (b.code, &b.stdout, &b.stderr)
    );
    assert!(
        a.stderr.contains(
            "EXCEPTION: Abort 'pre_delete_retry_script' retry hook script (exit 63, exit code: 63)"
        ),
        "{}",
        a.stderr
    );
    assert!(ours
        .server_dir("pg")
        .join("meta/20250101T010000-backup.info")
        .exists());
}

#[test]
fn ops_hooks_archive_retry_semantics() {
    // 63 in the pre retry hook stops the batch: nothing archived.
    let home = home_with_hooks("pre_archive_retry_script = exit 63");
    let run = home.run(&["archive-wal", "pg"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let incoming = home.server_dir("pg").join("incoming");
    assert!(incoming.join(SEGMENTS[0]).exists() && incoming.join(SEGMENTS[1]).exists());
    let calls = recorded(&home);
    assert_eq!(calls.last().unwrap().0, "post-archive_script");
    assert_eq!(calls.len(), 3, "one file only: pre, post retry, post");
    assert!(calls[1].1["BARMAN_ERROR"].contains("Abort 'pre_archive_retry_script'"));

    // 62 continues; 1 is retried until the script succeeds.
    let counter = tempfile::tempdir().unwrap();
    let flaky = format!(
        "c={0}/n; echo x >> $c; [ $(wc -l < $c) -ge 3 ] && exit 0; exit 1",
        counter.path().display()
    );
    for script in ["exit 62".to_string(), flaky] {
        let home = home_with_hooks(&format!("pre_archive_retry_script = {script}"));
        let run = Run::of(
            home.barman()
                .args(["archive-wal", "pg"])
                .env("BARMAN_TEST_HOOK_BREAK_MS", "10"),
        );
        assert_eq!(run.code, 0, "{}", run.stderr);
        let wals = home.server_dir("pg").join("wals/0000000100000000");
        assert!(
            wals.join(SEGMENTS[0]).exists() && wals.join(SEGMENTS[1]).exists(),
            "{script}"
        );
    }
    let attempts = std::fs::read_to_string(counter.path().join("n")).unwrap();
    assert_eq!(
        attempts.lines().count(),
        4,
        "3 attempts for the first file, 1 for the second"
    );
}

#[test]
fn ops_hooks_missing_script_is_a_logged_warning() {
    let home = home_with_hooks("pre_archive_script = /nonexistent/hook.sh");
    home.write_config(
        &format!("log_file = {}", home.dir().join("barman.log").display()),
        &[(
            "pg",
            "conninfo = host=x\nssh_command = ssh x\narchiver = on\npre_archive_script = /nonexistent/hook.sh",
        )],
    );
    let run = home.run(&["archive-wal", "pg"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let log = std::fs::read_to_string(home.dir().join("barman.log")).unwrap();
    assert!(
        log.contains("/nonexistent/hook.sh returned 127\nOutput details:\n"),
        "{log}"
    );
}
