//! Models, `config-switch` and `config-update` side by side with Python Barman 3.20.1:
//! two identical homes, one driven by each implementation, must print the same lines,
//! exit with the same codes and end with the same files (paths aside). Also: bad input
//! refused with nothing written, `config-update` killed mid-apply, `cron` draining the
//! queue, `receive-wal` restarted by `config-switch`.

use crate::harness::{python_barman, BarmanHome, Run};
use crate::require;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};

/// `[pg]` in the main file followed by a model, a model of another cluster, and a server
/// in an include file.
fn configure(home: &BarmanHome) {
    home.write_config(
        "compression = gzip\n",
        &[
            (
                "pg",
                "description = main server\nconninfo = host=127.0.0.1 port=1 user=postgres\n\
                 streaming_conninfo = host=127.0.0.1 port=1 user=postgres\n\
                 backup_method = postgres\narchiver = on\nparallel_jobs = 2\n",
            ),
            (
                "pg:fast",
                "model = true\ncluster = pg\nparallel_jobs = 4\ncompression = bzip2\n",
            ),
            (
                "other:m",
                "model = true\ncluster = other\nparallel_jobs = 8\n",
            ),
        ],
    );
    home.write_include(
        "other.conf",
        "[other]\ndescription = other server\nconninfo = host=127.0.0.1 port=1 user=postgres\n\
         streaming_conninfo = host=127.0.0.1 port=1 user=postgres\nbackup_method = postgres\n\
         archiver = on\nparallel_jobs = 3\n",
    );
    std::fs::create_dir_all(home.server_dir("pg")).unwrap();
}

/// One home per implementation, configured alike.
struct Pair {
    py: BarmanHome,
    rs: BarmanHome,
}

/// What a run shows, with each home's folder replaced by `<DIR>` and log lines dropped.
#[derive(Debug, PartialEq, Eq)]
struct Shown {
    code: i32,
    stdout: String,
    messages: Vec<String>,
}

fn shown(run: &Run, home: &BarmanHome) -> Shown {
    let dir = home.dir().display().to_string();
    Shown {
        code: run.code,
        stdout: run.stdout.replace(&dir, "<DIR>"),
        messages: run
            .stderr
            .lines()
            .filter(|l| {
                ["WARNING: ", "ERROR: ", "EXCEPTION: "]
                    .iter()
                    .any(|p| l.starts_with(p))
            })
            .map(|l| l.replace(&dir, "<DIR>"))
            .collect(),
    }
}

impl Pair {
    fn new(configure: impl Fn(&BarmanHome)) -> Pair {
        let pair = Pair {
            py: BarmanHome::new(),
            rs: BarmanHome::new(),
        };
        configure(&pair.py);
        configure(&pair.rs);
        pair
    }

    /// Run `args` with both; assert they show the same, return ours.
    fn same(&self, args: &[&str]) -> Shown {
        let (theirs, ours) = self.both(args);
        assert_eq!(ours, theirs, "{args:?}");
        ours
    }

    /// Python's and our results of `args` (Python first: neither sees the other's files).
    fn both(&self, args: &[&str]) -> (Shown, Shown) {
        let theirs = shown(&self.py.run_python(args).unwrap(), &self.py);
        let ours = shown(&self.rs.run(args), &self.rs);
        (theirs, ours)
    }

    /// The same file in both homes, paths normalised.
    fn file(&self, relative: &str) -> (Option<String>, Option<String>) {
        let read = |home: &BarmanHome| {
            std::fs::read_to_string(home.dir().join(relative))
                .ok()
                .map(|t| t.replace(&home.dir().display().to_string(), "<DIR>"))
        };
        (read(&self.py), read(&self.rs))
    }

    fn same_file(&self, relative: &str) -> Option<String> {
        let (theirs, ours) = self.file(relative);
        assert_eq!(ours, theirs, "{relative}");
        ours
    }
}

fn sorted_lines(text: &str) -> Vec<&str> {
    let mut lines: Vec<&str> = text.lines().collect();
    lines.sort_unstable();
    lines
}

fn grep<'a>(text: &'a str, word: &str) -> Vec<&'a str> {
    text.lines().filter(|l| l.contains(word)).collect()
}

/// `show-servers pg` (console, as Python; JSON, ours) shows these values.
fn assert_effective(pair: &Pair, model: &str, parallel_jobs: &str, compression: &str) {
    let show = pair.same(&["show-servers", "pg"]);
    let line = |key: &str| grep(&show.stdout, &format!("\t{key}:")).concat();
    assert_eq!(line("active_model"), format!("\tactive_model: {model}"));
    assert_eq!(
        line("parallel_jobs"),
        format!("\tparallel_jobs: {parallel_jobs}")
    );
    assert_eq!(line("compression"), format!("\tcompression: {compression}"));
    let json = pair.rs.run(&["-f", "json", "show-servers", "pg"]).ok();
    let json: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    let expected_model = if model == "None" {
        serde_json::Value::Null
    } else {
        model.into()
    };
    assert_eq!(json["pg"]["active_model"], expected_model);
    assert_eq!(json["pg"]["parallel_jobs"].to_string(), parallel_jobs);
}

#[test]
fn config_switch_matches_python_and_changes_the_effective_values() {
    require!(python_barman::REQUIREMENT, python_barman::available());
    let pair = Pair::new(configure);
    let refused = pair.same(&["config-switch", "pg"]);
    assert_eq!(
        (refused.code, refused.messages),
        (
            1,
            vec!["ERROR: Either a model name or '--reset' flag need to be given".to_string()]
        )
    );
    assert_eq!(
        pair.same(&["config-switch", "pg", "nope"]).messages,
        vec!["ERROR: Unknown model 'nope'"]
    );
    assert_eq!(
        pair.same(&["config-switch", "nope", "pg:fast"]).messages,
        vec!["ERROR: Unknown server 'nope'"]
    );
    let mismatch = pair.same(&["config-switch", "pg", "other:m"]);
    assert_eq!(mismatch.code, 1);
    assert_eq!(
        mismatch.messages,
        vec!["ERROR: Model 'other:m' has 'cluster=other', which is not compatible with 'cluster=pg' from server 'pg'"]
    );
    assert_eq!(pair.same_file("home/pg/.active-model.auto"), None);
    // Barman lists the changed keys in set order (random): compare them sorted.
    let (theirs, ours) = pair.both(&["config-switch", "pg", "pg:fast"]);
    assert_eq!((ours.code, &ours.messages), (theirs.code, &theirs.messages));
    assert_eq!(sorted_lines(&ours.stdout), sorted_lines(&theirs.stdout));
    assert!(ours
        .stdout
        .starts_with("Applying model 'pg:fast' to server 'pg'\n"));
    assert!(ours.stdout.contains(
        "Changing value of option 'parallel_jobs' for server 'pg' from '2' to '4' through the model 'pg:fast'\n"
    ));
    assert_eq!(
        pair.same_file("home/pg/.active-model.auto").as_deref(),
        Some("pg:fast")
    );
    // Every later run sees the model's values.
    assert_effective(&pair, "pg:fast", "4", "bzip2");
    let already = pair.same(&["config-switch", "pg", "pg:fast"]);
    assert_eq!(
        already.stdout,
        "Model 'pg:fast' is already active for server 'pg', skipping...\n"
    );
    let reset = pair.same(&["config-switch", "pg", "--reset"]);
    assert_eq!(
        reset.stdout,
        "Resetting the active model for the server pg\n"
    );
    assert_eq!(pair.same_file("home/pg/.active-model.auto"), None);
    assert_effective(&pair, "None", "2", "gzip");
    // --reset wins over a model name, even an unknown one.
    assert_eq!(
        pair.same(&["config-switch", "pg", "nope", "--reset"]).code,
        0
    );
}

#[test]
fn active_model_file_is_honoured_at_every_start_as_python() {
    require!(python_barman::REQUIREMENT, python_barman::available());
    let pair = Pair::new(configure);
    let write = |content: &str| {
        for home in [&pair.py, &pair.rs] {
            std::fs::write(home.server_dir("pg").join(".active-model.auto"), content).unwrap();
        }
    };
    write("pg:fast\n");
    let status = pair.same(&["status", "pg"]);
    assert_eq!(
        grep(&status.stdout, "Active configuration model"),
        vec!["\tActive configuration model: pg:fast"]
    );
    // An unknown model disables the server.
    write("gone");
    let listed = pair.same(&["list-servers"]);
    assert!(
        listed
            .stdout
            .contains("pg - main server (WARNING: disabled)\n"),
        "{listed:?}"
    );
    let show = pair.same(&["show-servers", "pg"]);
    assert!(show.stdout.contains("\tdisabled: True\n"));
    // A model of another cluster: every command reports it and fails.
    write("other:m");
    let listed = pair.same(&["list-servers"]);
    assert_eq!(listed.code, 1);
    assert!(listed.messages.contains(
        &"ERROR: Model 'other:m' has 'cluster=other', which is not compatible with 'cluster=pg' from server 'pg'".to_string()
    ));
    // config-switch works on a disabled server, and fixes it.
    write("gone");
    pair.same(&["config-switch", "pg", "--reset"]);
    assert!(pair
        .same(&["list-servers"])
        .stdout
        .contains("pg - main server\n"));
}

const CHANGES: &str = r#"[
  {"scope": "server", "server_name": "pg", "parallel_jobs": "5", "description": "changed",
   "compression": "bzip2", "archiver_batch_size": "7"},
  {"scope": "server", "server_name": "other", "parallel_jobs": "6", "slot_name": "other_slot"},
  {"scope": "model", "model_name": "pg:fast", "parallel_jobs": "9"},
  {"scope": "model", "model_name": "new:m", "cluster": "pg", "network_compression": "off",
   "description": "caf\u00e9"},
  {"scope": "server", "server_name": "brand_new", "conninfo": "host=127.0.0.1 port=1"}
]"#;

#[test]
fn config_update_writes_the_same_files_as_python() {
    require!(python_barman::REQUIREMENT, python_barman::available());
    let pair = Pair::new(configure);
    let run = pair.same(&["config-update", CHANGES]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stdout.starts_with(
        "Changing value of option 'parallel_jobs' for section 'pg' from '2' to '5' through config-update.\n"
    ));
    assert!(run.stdout.contains(
        "Changing value of option 'compression' for section 'pg' from 'None' to 'bzip2' through config-update.\n"
    ));
    let main = pair.same_file("barman.conf").unwrap();
    assert!(main.contains("[pg]\n"));
    pair.same_file("barman.d/other.conf");
    let auto = pair.same_file("home/.barman.auto.conf").unwrap();
    assert!(auto.contains("[new:m]\ncluster = pg\n"), "{auto}");
    assert_eq!(
        pair.same_file("home/cfg_changes.queue").as_deref(),
        Some("[]")
    );
    // Both read the result alike.
    for args in [&["show-servers", "pg", "other"][..], &["list-servers"]] {
        pair.same(args);
    }
    let show = pair.same(&["show-servers", "pg"]);
    assert_eq!(
        grep(&show.stdout, "\tparallel_jobs:"),
        vec!["\tparallel_jobs: 5"]
    );
    // A second identical update changes nothing more.
    pair.same(&["config-update", CHANGES]);
    assert_eq!(pair.same_file("barman.conf").unwrap(), main);
}

#[test]
fn config_update_adds_a_key_where_barman_corrupts_the_file() {
    require!(python_barman::REQUIREMENT, python_barman::available());
    // `[pg]` directly followed by `[pg:fast]`, no blank line: Barman 3.20.1's editor glues
    // the new line to the section's last line.
    let pair = Pair::new(|home| {
        configure(home);
        let text = std::fs::read_to_string(home.config_path()).unwrap();
        std::fs::write(
            home.config_path(),
            text.replace("\n\n[pg:fast]", "\n[pg:fast]"),
        )
        .unwrap();
    });
    // `compression` is set in `[barman]` of the main file: both write it into `[pg]` there.
    let change = r#"[{"scope": "server", "server_name": "pg", "compression": "bzip2"}]"#;
    let (theirs, ours) = pair.both(&["config-update", change]);
    assert_eq!(ours, theirs);
    let (python_file, our_file) = pair.file("barman.conf");
    assert!(
        python_file
            .unwrap()
            .contains("compression = bzip2parallel_jobs = 2\n"),
        "Barman's corruption is no longer there: update doc/config-models.md"
    );
    assert!(our_file
        .unwrap()
        .contains("parallel_jobs = 2\ncompression = bzip2\n[pg:fast]\n"));
    let show = pair.rs.run(&["show-servers", "pg"]).ok();
    assert_eq!(
        grep(&show.stdout, "\tcompression:"),
        vec!["\tcompression: bzip2"]
    );
    assert_eq!(
        grep(&show.stdout, "\tparallel_jobs:"),
        vec!["\tparallel_jobs: 2"]
    );
}

/// Every file of the home (except lock files), with its content.
fn snapshot(home: &BarmanHome) -> Vec<(PathBuf, Vec<u8>)> {
    fn walk(dir: &Path, out: &mut Vec<(PathBuf, Vec<u8>)>) {
        let mut entries: Vec<_> = std::fs::read_dir(dir).unwrap().flatten().collect();
        entries.sort_by_key(|e| e.path());
        for entry in entries {
            let path = entry.path();
            if path.is_dir() {
                walk(&path, out);
            } else if !path.to_string_lossy().ends_with(".lock") {
                out.push((path.clone(), std::fs::read(&path).unwrap()));
            }
        }
    }
    let mut out = Vec::new();
    walk(home.dir(), &mut out);
    out
}

#[test]
fn config_update_refuses_bad_input_and_writes_nothing() {
    require!(python_barman::REQUIREMENT, python_barman::available());
    let pair = Pair::new(configure);
    let aborting =
        |json: &str| format!("ERROR: Aborting config\u{2010}update: invalid section {json}");
    let cases: [(&str, &str); 8] = [
        (
            r#"[{"scope": "x", "server_name": "pg"}]"#,
            "{'scope': 'x', 'server_name': 'pg'}",
        ),
        (r#"[{"scope": "server"}]"#, "{'scope': 'server'}"),
        (
            r#"[{"scope": "server", "server_name": "pg:fast"}]"#,
            "{'scope': 'server', 'server_name': 'pg:fast'}",
        ),
        (
            r#"[{"scope": "model", "model_name": "pg"}]"#,
            "{'scope': 'model', 'model_name': 'pg'}",
        ),
        (
            r#"[{"scope": "model", "model_name": "new"}]"#,
            "{'scope': 'model', 'model_name': 'new'}",
        ),
        (
            r#"[{"scope": "server", "server_name": "pg", "bogus": "1"}]"#,
            "{'scope': 'server', 'server_name': 'pg', 'bogus': '1'}",
        ),
        (
            r#"[{"scope": "server", "server_name": "pg", "archiver": "maybe"}]"#,
            "{'scope': 'server', 'server_name': 'pg', 'archiver': 'maybe'}",
        ),
        // A valid first section is not queued when a later one is refused.
        (
            r#"[{"scope": "server", "server_name": "pg", "parallel_jobs": "3"}, {"scope": "server", "server_name": "pg", "compression": "zzz"}]"#,
            "{'scope': 'server', 'server_name': 'pg', 'compression': 'zzz'}",
        ),
    ];
    let before = snapshot(&pair.rs);
    for (json, repr) in cases {
        let run = pair.same(&["config-update", json]);
        assert_eq!(run.code, 1, "{json}");
        assert_eq!(run.messages.last(), Some(&aborting(repr)), "{json}");
        assert_eq!(snapshot(&pair.rs), before, "{json} wrote something");
    }
    // Refused by us where Barman would queue a change it then cannot apply (its queue
    // stays blocked) or a value our loader refuses; not JSON at all.
    for json in [
        r#"[{"scope": "server", "server_name": "pg", "parallel_jobs": 3}]"#,
        r#"[{"scope": "server", "server_name": "pg", "retention_policy": "bad"}]"#,
        "not json",
        r#"{"scope": "server"}"#,
    ] {
        let run = pair.rs.run(&["config-update", json]);
        assert_eq!(run.code, 1, "{json}: {run:?}");
        assert_eq!(snapshot(&pair.rs), before, "{json} wrote something");
    }
    let not_json = pair.rs.run(&["config-update", "not json"]);
    assert!(not_json.stderr.contains("EXCEPTION: "), "{not_json:?}");
}

#[test]
fn config_update_waits_for_nobody_when_another_holds_the_lock() {
    require!(python_barman::REQUIREMENT, python_barman::available());
    let pair = Pair::new(configure);
    let change = r#"[{"scope": "server", "server_name": "pg", "parallel_jobs": "3"}]"#;
    let holders: Vec<std::process::Child> = [&pair.py, &pair.rs]
        .iter()
        .map(|home| {
            let lock = home.home().join(".config-update.lock");
            // Its own process group, so the test stops `sleep` with `flock`.
            let child = std::process::Command::new("flock")
                .arg(&lock)
                .args(["sleep", "30"])
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .process_group(0)
                .spawn()
                .unwrap();
            crate::harness::wait_until("the lock is held", || {
                std::process::Command::new("flock")
                    .args(["-n"])
                    .arg(&lock)
                    .arg("true")
                    .status()
                    .is_ok_and(|s| !s.success())
            });
            child
        })
        .collect();
    let busy = pair.same(&["config-update", change]);
    assert_eq!(busy.code, 1);
    assert_eq!(
        busy.messages,
        vec![format!("EXCEPTION: <DIR>/home/.config-update.lock")]
    );
    let cron = pair.rs.run(&["cron"]);
    assert!(cron
        .stderr
        .contains("WARNING: another process is updating barman configuration files"));
    for mut child in holders {
        let group = nix::unistd::Pid::from_raw(child.id() as i32);
        let _ = nix::sys::signal::killpg(group, nix::sys::signal::Signal::SIGKILL);
        let _ = child.wait();
    }
}

#[cfg(feature = "failpoints")]
#[test]
fn config_update_killed_mid_apply_leaves_whole_files_and_cron_finishes_it() {
    let home = BarmanHome::new();
    configure(&home);
    let original = std::fs::read_to_string(home.config_path()).unwrap();
    let change = r#"[{"scope": "server", "server_name": "pg", "parallel_jobs": "7", "compression": "bzip2"}]"#;
    let queue = home.home().join("cfg_changes.queue");
    let mut applied_once: Option<String> = None;
    for point in [
        "config-update.before_write",
        "durable.before_rename",
        "config-update.after_write",
    ] {
        std::fs::write(home.config_path(), &original).unwrap();
        let _ = std::fs::remove_file(&queue);
        let killed = Run::of(
            home.barman()
                .args(["config-update", change])
                .env("BARMAN_FAILPOINT", point),
        );
        assert_eq!(killed.code, -1, "{point}: the fail-point did not kill");
        let text = std::fs::read_to_string(home.config_path()).unwrap();
        // The first durable write is the queue's: killed before its rename, nothing is
        // queued and the configuration is untouched.
        let queued = std::fs::read_to_string(&queue).unwrap_or_default();
        match point {
            "durable.before_rename" => {
                assert_eq!(text, original, "{point}");
                assert!(!queued.contains("parallel_jobs"), "{point}: {queued}");
            }
            "config-update.before_write" => {
                assert_eq!(text, original, "{point}");
                assert!(queued.contains("\"parallel_jobs\""), "{point}: {queued}");
            }
            _ => {
                assert!(text.contains("parallel_jobs = 7\n"), "{point}: {text}");
                assert!(queued.contains("\"parallel_jobs\""), "{point}: {queued}");
            }
        }
        // The configuration still loads, old or new.
        home.run(&["show-servers", "pg"]).ok();
        // cron applies what is queued (again, harmlessly, after the file was written).
        home.run(&["cron"]).ok();
        assert_eq!(std::fs::read_to_string(&queue).unwrap(), "[]", "{point}");
        let after = std::fs::read_to_string(home.config_path()).unwrap();
        if point != "durable.before_rename" {
            assert!(
                after.contains("parallel_jobs = 7\ncompression = bzip2\n[pg:fast]"),
                "{point}: {after}"
            );
            assert_eq!(
                applied_once.get_or_insert_with(|| after.clone()),
                &after,
                "{point}"
            );
        }
    }
}

#[cfg(feature = "failpoints")]
#[test]
fn cron_drains_a_queue_python_barman_can_drain_too() {
    require!(python_barman::REQUIREMENT, python_barman::available());
    // Queue the same change in both homes (our run is killed before applying it), then let
    // each implementation's cron drain its home.
    let pair = Pair::new(configure);
    let change = r#"[{"scope": "server", "server_name": "other", "description": "via cron \u00e9", "parallel_jobs": "4"}]"#;
    for home in [&pair.py, &pair.rs] {
        let killed = Run::of(
            home.barman()
                .args(["config-update", change])
                .env("BARMAN_FAILPOINT", "config-update.before_write"),
        );
        assert_eq!(killed.code, -1);
    }
    let queued = pair.same_file("home/cfg_changes.queue").unwrap();
    // Byte for byte what Barman's `json.dump(queue, f, indent=2)` writes.
    let python = python_barman::venv_tool("python").expect("the venv's python");
    let dumped = std::process::Command::new(python)
        .args([
            "-c",
            "import json, sys\nsys.stdout.write(json.dumps(json.load(open(sys.argv[1])), indent=2))",
        ])
        .arg(pair.rs.home().join("cfg_changes.queue"))
        .output()
        .unwrap();
    let dumped = String::from_utf8(dumped.stdout)
        .unwrap()
        .replace(&pair.rs.dir().display().to_string(), "<DIR>");
    assert_eq!(queued, dumped);
    assert!(queued.contains("via cron \\u00e9"), "{queued}");
    assert!(
        queued.contains("\"config_file\": \"<DIR>/barman.d/other.conf\""),
        "{queued}"
    );
    let theirs = pair.py.run_python(&["cron"]).unwrap();
    let ours = pair.rs.run(&["cron"]);
    assert_eq!((ours.code, theirs.code), (0, 0), "{ours:?}\n{theirs:?}");
    let line = "Changing value of option 'description' for section 'other' from 'other server' to 'via cron \u{e9}' through config-update.";
    assert!(ours.stdout.contains(line) && theirs.stdout.contains(line));
    assert_eq!(
        pair.same_file("home/cfg_changes.queue").as_deref(),
        Some("[]")
    );
    let other = pair.same_file("barman.d/other.conf").unwrap();
    assert!(
        other.contains("description = via cron \u{e9}\n") && other.ends_with("parallel_jobs = 4\n"),
        "{other}"
    );
}

/// A stand-in `receive-wal`: a daemon (as cron starts it, so nobody leaves it a zombie)
/// holding `.pg-receive-wal.lock` with its pid written in it, as Barman's lock files do,
/// until SIGINT. Returns its pid.
fn fake_receive_wal(home: &BarmanHome) -> u32 {
    let python = python_barman::venv_tool("python").expect("the venv's python");
    let lock = home.home().join(".pg-receive-wal.lock");
    let status = std::process::Command::new(python)
        .args([
            "-c",
            "import fcntl, os, signal, sys, time\n\
             if os.fork(): os._exit(0)\n\
             os.setsid()\n\
             signal.signal(signal.SIGINT, lambda *_: os._exit(1))\n\
             f = open(sys.argv[1], 'a+')\n\
             fcntl.flock(f, fcntl.LOCK_EX)\n\
             f.truncate(0); f.write(str(os.getpid())); f.flush()\n\
             time.sleep(120)",
        ])
        .arg(&lock)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());
    let mut pid = 0;
    crate::harness::wait_until("the stand-in holds the lock", || {
        pid = std::fs::read_to_string(&lock)
            .ok()
            .and_then(|t| t.parse().ok())
            .unwrap_or(0);
        pid != 0
    });
    pid
}

fn alive(pid: u32) -> bool {
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid as i32), None).is_ok()
}

#[test]
fn config_switch_restarts_receive_wal_as_python() {
    require!(python_barman::REQUIREMENT, python_barman::available());
    let pair = Pair::new(|home| {
        configure(home);
        let text = std::fs::read_to_string(home.config_path()).unwrap();
        let streaming = "parallel_jobs = 2\nstreaming_archiver = on\nslot_name = barman_pg\n";
        std::fs::write(
            home.config_path(),
            text.replacen("parallel_jobs = 2\n", streaming, 1),
        )
        .unwrap();
    });
    let mut outputs = Vec::new();
    for (home, python) in [(&pair.py, true), (&pair.rs, false)] {
        let pid = fake_receive_wal(home);
        let args = ["config-switch", "pg", "pg:fast"];
        let run = if python {
            home.run_python(&args).unwrap()
        } else {
            home.run(&args)
        };
        let mut run = shown(&run, home);
        run.stdout = run.stdout.replace(&pid.to_string(), "<PID>");
        let mut lines: Vec<String> = run.stdout.lines().map(str::to_string).collect();
        // The model's changes come in Barman's random set order.
        lines[1..3].sort();
        outputs.push((run.code, lines, run.messages));
        assert!(!alive(pid), "the stand-in was not stopped");
    }
    assert_eq!(outputs[1], outputs[0]);
    assert_eq!(
        outputs[1].1[3..],
        [
            "Stopped process receive-wal(<PID>)".to_string(),
            "Starting streaming archiver for server pg".to_string()
        ]
    );
}

#[test]
fn config_update_names_each_bad_value_with_barmans_parser_message() {
    require!(python_barman::REQUIREMENT, python_barman::available());
    let pair = Pair::new(configure);
    // One key per parser of Barman's `ServerConfig.PARSERS`, with a value it refuses.
    let cases = [
        ("active", "zzz"),
        ("archiver_batch_size", "zzz"),
        ("aws_encryption", "zzz"),
        ("backup_compression", "zzz"),
        ("backup_compression_format", "zzz"),
        ("backup_compression_location", "zzz"),
        ("backup_method", "zzz"),
        ("backup_options", "zzz,concurrent_backup"),
        ("backup_options", "concurrent_backup,exclusive_backup"),
        ("cloud_staging_directory", "zzz"),
        ("cloud_staging_max_size", "zzz"),
        ("combine_mode", "zzz"),
        ("compression", "zzz"),
        ("compression_level", "zzz"),
        ("create_slot", "zzz"),
        ("encryption", "zzz"),
        ("last_backup_maximum_age", "zzz"),
        ("parallel_jobs", ""),
        ("recovery_options", "get-wal,zzz"),
        ("reuse_backup", "zzz"),
        ("slot_name", "-5"),
        ("staging_location", "zzz"),
        ("streaming_archiver", ""),
    ];
    let before = snapshot(&pair.rs);
    for (key, value) in cases {
        let json = format!(r#"[{{"scope": "server", "server_name": "pg", "{key}": "{value}"}}]"#);
        let run = pair.same(&["config-update", &json]);
        assert_eq!((run.code, run.messages.len()), (1, 2), "{key}: {run:?}");
    }
    assert_eq!(snapshot(&pair.rs), before);
}
