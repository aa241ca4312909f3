//! The command line's contract: help lists only what works, version, exit codes, quiet,
//! colours, the log file in Barman's format, and the shipped sample configuration.

use crate::harness::{BarmanHome, Run};
use std::path::Path;
use std::process::Command;

#[test]
fn help_lists_exactly_the_supported_commands() {
    let home = BarmanHome::new();
    let run = home.run(&["--help"]).ok();
    let commands: Vec<&str> = run
        .stdout
        .lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .filter(|l| !l.starts_with("   "))
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    assert_eq!(
        commands,
        [
            "archive-wal",
            "backup",
            "check",
            "check-archived-wal-range",
            "check-backup",
            "check-wal-archive",
            "cloud-wal-archive",
            "cloud-wal-restore",
            "config-switch",
            "config-update",
            "cron",
            "delete",
            "diagnose",
            "drill",
            "export-backup",
            "generate-manifest",
            "get-wal",
            "help",
            "import-backup",
            "keep",
            "list-backups",
            "list-files",
            "list-processes",
            "list-servers",
            "lock-directory-cleanup",
            "metrics",
            "put-wal",
            "receive-wal",
            "rebuild-xlogdb",
            "replication-status",
            "restore",
            "show-backup",
            "show-servers",
            "status",
            "switch-wal",
            "sync-backup",
            "sync-info",
            "sync-wals",
            "terminate-process",
            "verify-archive",
            "verify-backup",
        ],
        "{}",
        run.stdout
    );
    // An unknown command is a usage error (argparse's exit code 2).
    let run = home.run(&["no-such-command", "pg", "x"]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr
            .contains("unrecognized subcommand 'no-such-command'"),
        "{}",
        run.stderr
    );
}

#[test]
fn no_command_prints_help_and_succeeds() {
    let home = BarmanHome::new();
    let run = home.run(&[]).ok();
    assert!(run.stdout.contains("Usage: barman"), "{}", run.stdout);
}

#[test]
fn version_is_one_line_starting_with_the_barman_version() {
    let run = Run::of(Command::new(env!("CARGO_BIN_EXE_barman")).arg("-v")).ok();
    assert_eq!(run.stdout.lines().count(), 1);
    assert!(
        run.stdout.starts_with("3.20.1 Barman by EnterpriseDB"),
        "{}",
        run.stdout
    );
}

#[test]
fn quiet_silences_console_and_json() {
    let home = BarmanHome::new();
    let server =
        "conninfo = host=x\nssh_command = ssh x\narchiver = on\nbackup_options = concurrent_backup";
    home.write_config("", &[("pg", server)]);
    assert_eq!(home.run(&["-q", "list-servers"]).ok().stdout, "");
    assert_eq!(
        home.run(&["-q", "-f", "json", "list-servers"]).ok().stdout,
        ""
    );
    assert_eq!(
        home.run(&["-f", "json", "list-servers"]).ok().stdout,
        r#"{"pg": {"description": ""}}"#
    );
}

#[test]
fn colours_only_when_asked_or_on_a_terminal() {
    let home = BarmanHome::new();
    home.write_config(
        "",
        &[(
            "pg",
            "conninfo = host=x\nssh_command = ssh x\narchiver = on",
        )],
    );
    // Not a terminal: no escape codes by default.
    let plain = home.run(&["show-servers", "nosuch"]);
    assert!(
        plain.stderr.contains("ERROR: Unknown server 'nosuch'"),
        "{}",
        plain.stderr
    );
    assert!(!plain.stderr.contains('\x1b'));
    let coloured = home.run(&["--color", "always", "show-servers", "nosuch"]);
    assert!(
        coloured
            .stderr
            .contains("\x1b[31mERROR\x1b[0m: Unknown server 'nosuch'"),
        "{}",
        coloured.stderr
    );
    let never = home.run(&["--colour", "never", "show-servers", "nosuch"]);
    assert!(!never.stderr.contains('\x1b'));
}

#[test]
fn log_file_gets_barman_format_lines() {
    let home = BarmanHome::new();
    let log = home.dir().join("log/barman.log");
    home.write_config(
        &format!("log_file = {}", log.display()),
        &[(
            "pg",
            "conninfo = host=x\nssh_command = ssh x\narchiver = on",
        )],
    );
    let run = home.run(&["show-servers", "nosuch"]);
    assert_eq!(run.code, 1);
    assert_eq!(
        run.stderr, "ERROR: Unknown server 'nosuch'\n",
        "nothing but the message on stderr"
    );
    let text = std::fs::read_to_string(&log).unwrap();
    let line = text.lines().find(|l| l.contains("Unknown server")).unwrap();
    // 2026-11-24 02:17:57,550 [5708] barman.cli ERROR: Unknown server 'nosuch'
    let (stamp, rest) = line.split_at(23);
    assert!(
        chrono::NaiveDateTime::parse_from_str(stamp, "%Y-%m-%d %H:%M:%S,%3f").is_ok(),
        "{line}"
    );
    assert!(rest.starts_with(" ["), "{line}");
    assert!(
        rest.ends_with("] barman.cli ERROR: Unknown server 'nosuch'"),
        "{line}"
    );
    // --log-level overrides the configured level: INFO lines vanish at ERROR.
    let run = home.run(&["--log-level", "ERROR", "list-servers"]).ok();
    assert_eq!(run.stdout, "pg\n");
}

#[test]
fn sample_configuration_lists_and_shows_its_servers() {
    let repo = env!("CARGO_MANIFEST_DIR");
    // The sample runs as `barman` like a packaged install; scripts/setup creates the user.
    let user_exists = nix::unistd::User::from_name("barman")
        .ok()
        .flatten()
        .is_some();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_barman"));
    cmd.current_dir(repo)
        .args(["-c", "barman.conf.sample", "list-servers"]);
    if !user_exists || !nix::unistd::geteuid().is_root() {
        crate::require!("a 'barman' OS user and root (scripts/setup)", false);
    }
    let run = Run::of(&mut cmd).ok();
    assert_eq!(
        run.stdout,
        "passive-pg - Example of a Barman passive node (Passive)\n\
         ssh-pg - Example of PostgreSQL Database (via SSH)\n\
         streaming-pg - Example of PostgreSQL Database (Streaming-Only)\n"
    );
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_barman"));
    cmd.current_dir(repo).args([
        "-c",
        "barman.conf.sample",
        "-f",
        "json",
        "show-servers",
        "all",
    ]);
    let run = Run::of(&mut cmd).ok();
    let doc: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(doc["streaming-pg"]["slot_name"], "barman");
    assert_eq!(
        doc["ssh-pg"]["retention_policy"],
        "RECOVERY WINDOW OF 2 WEEKS"
    );
    assert_eq!(doc["passive-pg"]["passive_node"], true);
}

/// Global configuration errors under `check --nagios`: one CRITICAL line and exit 2, as
/// Barman's Nagios writer reports them (the messages themselves go to the log only).
#[test]
fn check_nagios_reports_global_configuration_errors() {
    let home = BarmanHome::new();
    let shared = home.dir().join("shared");
    home.write_config(
        "",
        &[
            (
                "a",
                &format!(
                    "conninfo = host=x\nssh_command = ssh x\nbackup_directory = {}",
                    shared.display()
                ),
            ),
            (
                "b",
                &format!(
                    "conninfo = host=x\nssh_command = ssh x\nbackup_directory = {}",
                    shared.display()
                ),
            ),
        ],
    );
    let ours = home.run(&["check", "all", "--nagios"]);
    assert_eq!(ours.code, 2, "{}\n{}", ours.stdout, ours.stderr);
    assert_eq!(
        ours.stdout,
        "BARMAN CRITICAL - Global configuration errors\n"
    );
    if let Some(theirs) = home.run_python(&["check", "all", "--nagios"]) {
        assert_eq!(
            (ours.code, ours.stdout.as_str()),
            (theirs.code, theirs.stdout.as_str())
        );
    }
}

#[test]
fn abbreviated_long_options_work_like_argparse() {
    let home = BarmanHome::new();
    home.write_config("", &[("pg", "conninfo = host=x\nssh_command = ssh x\n")]);
    let ours = home.run(&["list-servers", "--min"]).ok();
    assert_eq!(ours.stdout, "pg\n");
    // Ambiguous: a usage error naming the candidates, in argparse's words.
    let want =
        "ambiguous option: --no could match --no-immediate-checkpoint, --no-retry, --no-manifest";
    let ours = home.run(&["backup", "--no", "pg"]);
    assert_eq!(ours.code, 2);
    assert!(ours.stderr.contains(want), "{}", ours.stderr);
    let restore = Run::of(
        Command::new(env!("CARGO_BIN_EXE_barman-wal-restore"))
            .args(["--pa", "2", "host", "pg", "w", "/tmp/d"]),
    );
    assert_eq!(restore.code, 2);
    assert!(
        restore
            .stderr
            .contains("ambiguous option: --pa could match --parallel, --partial"),
        "{}",
        restore.stderr
    );
    if let Some(theirs) = home.run_python(&["list-servers", "--min"]) {
        assert_eq!(theirs.ok().stdout, "pg\n");
        let theirs = home.run_python(&["backup", "--no", "pg"]).unwrap();
        assert_eq!(theirs.code, 2);
        assert!(theirs.stderr.contains(want), "{}", theirs.stderr);
    }
}

/// The long options listed in `section` of a help text (up to the next heading).
fn options_in(help: &str, section: &str) -> Vec<String> {
    help.lines()
        .skip_while(|l| !l.eq_ignore_ascii_case(section))
        .skip(1)
        .take_while(|l| l.is_empty() || l.starts_with(' '))
        .filter_map(|l| {
            let first = l
                .trim_start()
                .split([' ', ','])
                .find(|w| w.starts_with("--"))?;
            (l.trim_start().starts_with('-')).then(|| first.to_string())
        })
        .collect()
}

#[test]
fn command_help_lists_its_own_options_first_like_argparse() {
    let home = BarmanHome::new();
    for command in [
        "backup",
        "list-servers",
        "check",
        "receive-wal",
        "export-backup",
        "import-backup",
    ] {
        let ours = home.run(&[command, "--help"]).ok().stdout;
        assert!(
            ours.starts_with(&format!("Usage: barman {command} ")),
            "{ours}"
        );
        let own = options_in(&ours, "Options:");
        assert_eq!(own.first().map(String::as_str), Some("--help"), "{ours}");
        let globals = options_in(&ours, "Global options:");
        assert!(globals.contains(&"--config".to_string()), "{ours}");
        assert!(!own.iter().any(|o| globals.contains(o)), "{ours}");
        assert!(
            ours.find("Options:") < ours.find("Global options:"),
            "{ours}"
        );
        // The same options, in the same order, as argparse's group.
        if let Some(theirs) = home.run_python(&[command, "--help"]) {
            let theirs: Vec<String> = options_in(&theirs.ok().stdout, "options:");
            assert_eq!(own, theirs, "{command}");
        }
    }
}

/// Values Barman's argparse types refuse are usage errors (exit 2) in ours too, named in
/// Barman's words, before any server is touched; `keep` without an action is Barman's own
/// error (exit 1), not argparse's.
#[test]
fn bad_option_values_are_refused_before_anything_runs_as_python() {
    let home = BarmanHome::new();
    home.write_config("", &[("pg", "conninfo = host=x\nssh_command = ssh x\n")]);
    let dest = home.dir().join("restored");
    let dest = dest.to_str().unwrap();
    let cases: [(&[&str], i32, &str); 7] = [
        (
            &["backup", "pg", "--name", ""],
            2,
            "Backup name cannot be empty",
        ),
        (
            &["backup", "pg", "--name", "latest"],
            2,
            "'latest' is not allowed: reserved word",
        ),
        (
            &["backup", "pg", "--name", "20240101T000000"],
            2,
            "is not allowed: backup ID",
        ),
        (
            &["restore", "pg", "x", dest, "--target-tli", "0"],
            2,
            "'0' is not a valid positive integer",
        ),
        (
            &["recover", "pg", "x", dest, "--target-tli", "LATEST"],
            2,
            "'LATEST' is not a valid input",
        ),
        (
            &["restore", "pg", "x", dest, "--target-action", "stop"],
            2,
            "'stop' is not a valid recovery target action",
        ),
        (
            &["keep", "pg", "latest"],
            1,
            "one of the arguments -r/--release -s/--status --target is required",
        ),
    ];
    for (args, code, words) in cases {
        let ours = home.run(args);
        assert_eq!(ours.code, code, "{args:?}: {}", ours.stderr);
        assert!(ours.stderr.contains(words), "{args:?}: {}", ours.stderr);
        if let Some(theirs) = home.run_python(args) {
            assert_eq!(theirs.code, code, "Python {args:?}: {}", theirs.stderr);
            assert!(
                theirs.stderr.contains(words),
                "Python {args:?}: {}",
                theirs.stderr
            );
        }
    }
    assert!(!Path::new(dest).exists(), "a refused restore wrote {dest}");
    assert!(
        !home.server_dir("pg").join("base").exists(),
        "a refused backup started"
    );
}
