//! Hardening (issue #14): children die with barman and a backup whose process died is
//! marked FAILED by the next `cron` / `check`.

use crate::harness::pg_cluster::pg_available;
use crate::harness::{BarmanHome, PgCluster};
use crate::require;
use std::path::Path;
use std::time::{Duration, Instant};

/// What our `cron` / `check` record in a STARTED backup whose process is gone.
const ABANDONED_ERROR: &str = "failure backup (the process taking the backup is no longer running)";

/// A cluster archiving into the home's incoming folder, with some data to copy.
fn lab(server_extra: &dyn Fn(&PgCluster) -> String) -> (BarmanHome, PgCluster) {
    let home = BarmanHome::new();
    let command = crate::harness::incoming_archive_command(&home);
    let pg = crate::harness::archiving_cluster(&command);
    pg.execute(
        "CREATE TABLE t AS SELECT g AS i, repeat('x', 200) AS f FROM generate_series(1, 40000) g",
    );
    let extra = server_extra(&pg);
    home.write_config(
        "",
        &[(
            "pg",
            &format!(
                "conninfo = {}\narchiver = on\nimmediate_checkpoint = true\n{extra}",
                pg.conninfo()
            ),
        )],
    );
    (home, pg)
}

/// Pids of the live processes whose program is `program` and whose command line mentions
/// `home` (other tests run their own copies at the same time). Zombies have no command
/// line and are not listed.
fn processes(program: &str, home: &Path) -> Vec<u32> {
    let needle = home.display().to_string();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(Result::ok)
        .filter_map(|e| {
            let pid: u32 = e.file_name().to_str()?.parse().ok()?;
            let cmdline = std::fs::read(e.path().join("cmdline")).ok()?;
            let words: Vec<String> = cmdline
                .split(|b| *b == 0)
                .map(|w| String::from_utf8_lossy(w).into_owned())
                .collect();
            let argv0 = Path::new(words.first()?).file_name()?.to_str()?.to_string();
            (argv0 == program && words.iter().any(|w| w.contains(&needle))).then_some(pid)
        })
        .collect()
}

/// Wait up to `limit` for `cond`.
fn wait_for(limit: Duration, cond: &dyn Fn() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if cond() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    cond()
}

/// Start `barman backup pg <extra>`, wait for `program` to copy, then SIGKILL barman.
fn kill_backup_while(home: &BarmanHome, program: &str, extra: &[&str]) {
    let mut child = home
        .barman()
        .args(["backup", "pg"])
        .args(extra)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let started = wait_for(Duration::from_secs(60), &|| {
        !processes(program, &home.home()).is_empty()
    });
    // SAFETY: SIGKILL to our own child.
    unsafe {
        libc::kill(child.id() as i32, libc::SIGKILL);
    }
    child.wait().unwrap();
    assert!(started, "{program} never ran");
}

fn only_backup_info(home: &BarmanHome) -> (String, String) {
    let meta = home.home().join("pg/meta");
    let mut infos: Vec<_> = std::fs::read_dir(&meta)
        .unwrap()
        .filter_map(|e| {
            let name = e.ok()?.file_name().to_string_lossy().into_owned();
            name.strip_suffix("-backup.info").map(str::to_string)
        })
        .collect();
    assert_eq!(infos.len(), 1, "{infos:?}");
    let id = infos.remove(0);
    let text = std::fs::read_to_string(meta.join(format!("{id}-backup.info"))).unwrap();
    (id, text)
}

fn field<'a>(text: &'a str, key: &str) -> Option<&'a str> {
    text.lines()
        .find_map(|l| l.strip_prefix(key)?.strip_prefix('='))
}

#[test]
fn children_killed_backup_takes_pg_basebackup_with_it_and_cron_marks_it_failed() {
    require!("PostgreSQL 15", pg_available());
    let (home, pg) = lab(&|pg| {
        format!(
            "backup_method = postgres\nstreaming_conninfo = {}\nbandwidth_limit = 100\n",
            pg.conninfo()
        )
    });
    kill_backup_while(&home, "pg_basebackup", &[]);
    let gone = wait_for(Duration::from_secs(5), &|| {
        processes("pg_basebackup", &home.home()).is_empty()
    });
    let left = processes("pg_basebackup", &home.home());
    for pid in &left {
        // SAFETY: cleaning up what this test started.
        unsafe {
            libc::kill(*pid as i32, libc::SIGKILL);
        }
    }
    assert!(gone, "pg_basebackup outlived barman: {left:?}");
    let (_, text) = only_backup_info(&home);
    assert_eq!(field(&text, "status"), Some("STARTED"), "{text}");
    // While a backup holds the server's backup lock, cron leaves its STARTED backup alone.
    let held = barman::adapters::lock::LockFile::acquire(
        &home.home(),
        &barman::adapters::lock::LockKind::ServerBackup("pg".into()),
    )
    .unwrap();
    home.run(&["cron"]).ok();
    assert_eq!(field(&only_backup_info(&home).1, "status"), Some("STARTED"));
    drop(held);
    home.run(&["cron"]).ok();
    let (_, text) = only_backup_info(&home);
    assert_eq!(field(&text, "status"), Some("FAILED"), "{text}");
    assert_eq!(field(&text, "error"), Some(ABANDONED_ERROR), "{text}");
    drop(pg);
}

#[test]
fn children_killed_local_rsync_backup_leaves_no_rsync_and_check_marks_it_failed() {
    require!("PostgreSQL 15", pg_available());
    require!("rsync", Path::new("/usr/bin/rsync").is_file());
    let (home, pg) = lab(&|_| "backup_method = local-rsync\n".to_string());
    kill_backup_while(&home, "rsync", &["--bwlimit", "100"]);
    let gone = wait_for(Duration::from_secs(5), &|| {
        processes("rsync", &home.home()).is_empty()
    });
    let left = processes("rsync", &home.home());
    for pid in &left {
        // SAFETY: cleaning up what this test started.
        unsafe {
            libc::kill(*pid as i32, libc::SIGKILL);
        }
    }
    assert!(gone, "rsync outlived barman: {left:?}");
    assert_eq!(field(&only_backup_info(&home).1, "status"), Some("STARTED"));
    let check = home.run(&["check", "pg"]);
    assert!(
        check
            .stdout
            .contains("failed backups: FAILED (there are 1 failed backups)"),
        "{}",
        check.stdout
    );
    let (_, text) = only_backup_info(&home);
    assert_eq!(field(&text, "status"), Some("FAILED"), "{text}");
    assert_eq!(field(&text, "error"), Some(ABANDONED_ERROR), "{text}");
    drop(pg);
}

/// Barman's message for a stored WAL file whose compressed stream is cut short.
const TRUNCATED: &str = "ERROR: Error decompressing WAL: {'ret': None, 'err': 'Compressed file ended before the end-of-stream marker was reached', 'out': None}";

/// A real archived segment, truncated in the archive: `get-wal` fails with Barman's
/// message and exit code 1 before writing anything, into `-o DIR` (no file, no temporary
/// file left) or stdout (no byte); an intact segment still arrives whole.
#[test]
fn get_wal_of_a_truncated_compressed_segment_writes_nothing() {
    require!("PostgreSQL 15", pg_available());
    for compression in ["gzip", "zstd"] {
        let s = crate::archive_wal::setup(compression);
        crate::archive_wal::generate_wal(&s.pg, 2);
        s.home.run(&["archive-wal", "pg"]).ok();
        let names = crate::archive_wal::names_in_db(&s.home);
        let (broken, intact) = (&names[0], &names[1]);
        let stored = s
            .home
            .home()
            .join("pg/wals")
            .join(&broken[..16])
            .join(broken);
        let size = std::fs::metadata(&stored).unwrap().len();
        std::fs::OpenOptions::new()
            .write(true)
            .open(&stored)
            .unwrap()
            .set_len(size / 2)
            .unwrap();

        let dir = tempfile::tempdir().unwrap();
        let run = s.home.run(&[
            "get-wal",
            "-o",
            &dir.path().display().to_string(),
            "pg",
            broken,
        ]);
        assert_eq!(run.code, 1, "{compression}: {}", run.stderr);
        assert!(
            run.stderr.contains(TRUNCATED),
            "{compression}: {}",
            run.stderr
        );
        let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert!(left.is_empty(), "{compression}: left in DIR: {left:?}");

        let out = s
            .home
            .barman()
            .args(["get-wal", "pg", broken])
            .env_remove("BARMAN_CONFIG_FILE")
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{compression}");
        assert!(
            out.stdout.is_empty(),
            "{compression}: {} bytes on stdout",
            out.stdout.len()
        );
        assert!(String::from_utf8_lossy(&out.stderr).contains(TRUNCATED));

        s.home
            .run(&[
                "get-wal",
                "-o",
                &dir.path().display().to_string(),
                "pg",
                intact,
            ])
            .ok();
        let names: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, vec![intact.clone()], "{compression}");
        assert!(
            std::fs::read(dir.path().join(intact)).unwrap()
                == std::fs::read(s.shadow.join(intact)).unwrap(),
            "{compression}: content differs"
        );
    }
}

/// Peak resident memory (KiB) of `cmd` run to completion, read from the kernel's
/// accounting of that one child (`wait4`), with its stdout in `stdout`.
fn peak_rss_kib(cmd: &mut std::process::Command, stdout: &Path) -> (i32, i64) {
    let child = cmd
        .env_remove("BARMAN_CONFIG_FILE")
        .stdout(std::fs::File::create(stdout).unwrap())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut status = 0;
    // SAFETY: rusage is plain data; wait4 reaps the child we just spawned.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let pid = unsafe { libc::wait4(child.id() as i32, &mut status, 0, &mut usage) };
    assert_eq!(pid, child.id() as i32);
    // Already reaped by wait4 (std's wait then reports ECHILD); keeps std's handle honest.
    let mut child = child;
    let _ = child.wait();
    (libc::WEXITSTATUS(status), usage.ru_maxrss)
}

/// 10,000 servers cost memory in proportion to what their sections set, not 122 expanded
/// defaults each: `list-servers` stays well under 150 MB (it took ~490 MB; Python Barman
/// 3.20.1 takes ~165 MB).
#[test]
fn config_of_ten_thousand_servers_fits_in_bounded_memory() {
    let home = BarmanHome::new();
    let servers: Vec<(String, String)> = (0..10_000)
        .map(|i| {
            (
                format!("srv{i:05}"),
                format!(
                    "description = \"Server number {i}\"\n\
                     conninfo = host=db{i}.example.com user=barman dbname=postgres\n\
                     streaming_conninfo = host=db{i}.example.com user=streaming_barman\n\
                     backup_method = postgres\nstreaming_archiver = on\nslot_name = barman_{i}\n"
                ),
            )
        })
        .collect();
    let refs: Vec<(&str, &str)> = servers
        .iter()
        .map(|(n, b)| (n.as_str(), b.as_str()))
        .collect();
    home.write_config(
        "compression = gzip\nminimum_redundancy = 1\nretention_policy = RECOVERY WINDOW OF 4 WEEKS\n",
        &refs,
    );
    let listing = home.dir().join("list-servers.out");
    let (code, peak) = peak_rss_kib(home.barman().arg("list-servers"), &listing);
    assert_eq!(code, 0);
    let text = std::fs::read_to_string(&listing).unwrap();
    assert_eq!(text.lines().count(), 10_000);
    assert_eq!(text.lines().next(), Some("srv00000 - Server number 0"));
    assert!(peak < 150 * 1024, "list-servers peaked at {peak} KiB");
}
