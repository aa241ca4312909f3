//! `-d --log-level DEBUG`: the log tells what Barman's does at each step (configuration
//! files read, every external command's argv with its return code, locks, WAL files
//! archived, hook scripts), and never a password.

use crate::harness::pg_cluster::pg_available;
use crate::harness::BarmanHome;
use crate::require;

#[test]
fn debug_log_of_check_and_archive_wal_shows_each_step_and_no_password() {
    require!("PostgreSQL 15 binaries", pg_available());
    let home = BarmanHome::new();
    let command = crate::harness::incoming_archive_command(&home);
    let pg = crate::archive_wal::archiving_cluster(&command);
    let log = home.log_path();
    home.write_config(&home.log_file_line(), &[]);
    // The harness's real password (the cluster checks it), written in the conninfo.
    let secret = crate::harness::auth::PASSWORD;
    let conninfo = format!("{} password={secret}", pg.conninfo());
    home.write_include(
        "pg.conf",
        &format!(
            "[pg]\nconninfo = {conninfo}\nstreaming_conninfo = {conninfo}\n\
             backup_method = postgres\nstreaming_archiver = on\narchiver = on\n\
             pre_archive_script = echo password={secret}\n"
        ),
    );
    crate::archive_wal::generate_wal(&pg, 1);
    let check = home.run(&["-d", "--log-level", "DEBUG", "check", "pg"]);
    let archive = home.run(&["-d", "--log-level", "DEBUG", "archive-wal", "pg"]);
    assert_eq!(archive.code, 0, "{}\n{}", archive.stdout, archive.stderr);
    let text = std::fs::read_to_string(&log).unwrap();
    let has = |needle: &str| {
        assert!(text.contains(needle), "no {needle:?} in the log:\n{text}");
    };
    // Configuration files, and the start of each run.
    has("barman.config DEBUG: Including configuration file: pg.conf");
    has(&format!(
        "barman.cli DEBUG: Initialised Barman version 3.20.1 (config: {}, args: {{",
        home.config_path().display()
    ));
    has("'command': 'check'");
    // External commands, with their full argv as a Python list and their outcome.
    has("barman.command_wrappers DEBUG: Command: ['");
    has("pg_receivewal', '--version']");
    has("barman.command_wrappers DEBUG: Command return code: 0");
    has("barman.command_wrappers DEBUG: Command: ['/bin/sh', '-c', 'echo password=*REDACTED*']");
    // Checks, locks, WAL files, hook scripts.
    has("barman.server DEBUG: Check 'PostgreSQL' succeeded for server 'pg'");
    has("barman.cli DEBUG: Starting archive-wal for server pg");
    has("barman.lockfile DEBUG: Acquired lock file ");
    has(".pg-archive-wal.lock");
    has("barman.lockfile DEBUG: Releasing lock file ");
    has("barman.wal_archiver INFO: Found ");
    has("xlog segments from file archival for pg. Archive all segments in one run.");
    has("barman.wal_archiver INFO: Archiving segment 1 of ");
    has("barman.wal_archiver DEBUG: Archived ");
    has("barman.hooks DEBUG: Attempt to run archive_script: echo password=*REDACTED*");
    // The password is in both conninfo strings and in the hook's argv and output.
    assert!(!text.contains(secret), "a password in the log:\n{text}");
    // -d shows Barman's debug messages on stderr too.
    assert!(
        archive
            .stderr
            .contains("DEBUG: Starting archive-wal for server pg"),
        "{}",
        archive.stderr
    );
    assert!(!check.stderr.contains(secret) && !archive.stderr.contains(secret));
}
