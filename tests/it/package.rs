//! The Debian package (`scripts/package`) put in place of Debian's own `barman` 3.4 on a live
//! backup server: Debian's barman takes a backup of a harness cluster, our .deb is installed
//! over it, and the operator's catalog, configuration, cron job and user carry over; purging
//! our package then removes what it installed and nothing else.
//!
//! This test installs packages and writes /usr/bin, /etc and /var/lib/barman, so nextest
//! runs it alone (`.config/nextest.toml`); every other test names its binaries by path
//! (`target/debug/barman`, `target/python-barman`), never through /usr/bin. It needs root,
//! apt and the .deb that `scripts/test` builds with `scripts/package` before the suite. It
//! leaves the machine as it found it, also after a failure (re-runs start by clearing what
//! an interrupted run left).

use crate::harness::pg_cluster::{pg_available, PgOptions};
use crate::harness::{is_root, wait_until, PgCluster, Run};
use crate::require;
use std::collections::BTreeSet;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The server this test configures (a name no other test uses).
const SERVER: &str = "pkgtest";
const SERVER_CONF: &str = "/etc/barman.d/pkgtest.conf";
const BARMAN_HOME: &str = "/var/lib/barman";
const MARKER: &str = "; edited by the operator (tests/it/package.rs)";

fn deb_path() -> PathBuf {
    let arch = Command::new("dpkg")
        .arg("--print-architecture")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default();
    Path::new(env!("CARGO_MANIFEST_DIR")).join(format!(
        "target/debian/barman-rs_{}_{arch}.deb",
        env!("CARGO_PKG_VERSION")
    ))
}

fn run(program: &str, args: &[&str]) -> Run {
    Run::of(
        Command::new(program)
            .args(args)
            .env("DEBIAN_FRONTEND", "noninteractive"),
    )
}

fn must(program: &str, args: &[&str]) -> Run {
    let out = run(program, args);
    assert_eq!(
        out.code, 0,
        "{program} {args:?}\nstdout:\n{}\nstderr:\n{}",
        out.stdout, out.stderr
    );
    out
}

/// `barman ARGS` (whichever /usr/bin/barman is installed) as the barman user, as cron and
/// operators run it.
fn barman(args: &[&str]) -> Run {
    let mut full = vec![
        "-u",
        "barman",
        "--",
        "env",
        "HOME=/var/lib/barman",
        "/usr/bin/barman",
    ];
    full.extend_from_slice(args);
    run("runuser", &full)
}

fn barman_ok(args: &[&str]) -> Run {
    let out = barman(args);
    if out.code != 0 {
        let log = std::fs::read_to_string("/var/log/barman/barman.log").unwrap_or_default();
        // (The archiver's once-a-poll "No xlog segments" lines would hide the cause.)
        let tail: Vec<&str> = log
            .lines()
            .rev()
            .filter(|l| !l.contains("No xlog segments found"))
            .take(30)
            .collect();
        panic!(
            "barman {args:?} exited {}\nstdout:\n{}\nstderr:\n{}\nlog:\n{}",
            out.code,
            out.stdout,
            out.stderr,
            tail.into_iter().rev().collect::<Vec<_>>().join("\n")
        );
    }
    out
}

fn package_status(name: &str) -> String {
    run("dpkg-query", &["-W", "-f=${db:Status-Abbrev}", name])
        .stdout
        .trim()
        .to_string()
}

fn installed_packages() -> BTreeSet<String> {
    must("dpkg-query", &["-W", "-f=${db:Status-Abbrev} ${Package}\n"])
        .stdout
        .lines()
        .filter(|l| l.starts_with("ii"))
        .filter_map(|l| l.split_whitespace().nth(1).map(str::to_string))
        .collect()
}

fn entries(dir: &str) -> BTreeSet<String> {
    std::fs::read_dir(dir)
        .map(|d| {
            d.filter_map(|e| Some(e.ok()?.file_name().to_string_lossy().into_owned()))
                .collect()
        })
        .unwrap_or_default()
}

/// What the machine looked like before the test, and the undoing of everything it changes.
struct Machine {
    packages: BTreeSet<String>,
    home_entries: BTreeSet<String>,
    home_mode: u32,
    home_owner: (u32, u32),
    log_dir_existed: bool,
    /// Both postinsts append `barman: root` to an /etc/aliases that lacks it.
    aliases: Option<String>,
}

impl Machine {
    /// The machine before the test. An interrupted run (killed before its drop) left its
    /// snapshot on disk: that one, not the half-changed machine, is what to restore.
    fn snapshot() -> Machine {
        let saved = Machine::load();
        clear_packages();
        // An interrupted run's catalog (another cluster's system id) and lock files.
        for entry in entries(BARMAN_HOME) {
            if entry.contains(SERVER) {
                let path = Path::new(BARMAN_HOME).join(entry);
                let _ = std::fs::remove_dir_all(&path).or_else(|_| std::fs::remove_file(&path));
            }
        }
        if let Some(machine) = saved {
            return machine;
        }
        let meta = std::fs::metadata(BARMAN_HOME).expect("scripts/setup made /var/lib/barman");
        let machine = Machine {
            packages: installed_packages(),
            home_entries: entries(BARMAN_HOME),
            home_mode: meta.permissions().mode() & 0o7777,
            home_owner: (meta.uid(), meta.gid()),
            log_dir_existed: Path::new("/var/log/barman").exists(),
            aliases: std::fs::read_to_string("/etc/aliases").ok(),
        };
        machine.save();
        machine
    }

    fn state_file() -> PathBuf {
        PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("package-test-machine.json")
    }

    fn save(&self) {
        let state = serde_json::json!({
            "packages": self.packages,
            "home_entries": self.home_entries,
            "home_mode": self.home_mode,
            "home_owner": [self.home_owner.0, self.home_owner.1],
            "log_dir_existed": self.log_dir_existed,
            "aliases": self.aliases,
        });
        std::fs::write(Machine::state_file(), state.to_string()).unwrap();
    }

    fn load() -> Option<Machine> {
        let text = std::fs::read_to_string(Machine::state_file()).ok()?;
        let v: serde_json::Value = serde_json::from_str(&text).ok()?;
        let set = |key: &str| -> BTreeSet<String> {
            v[key]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|e| e.as_str().map(str::to_string))
                .collect()
        };
        let owner = |i: usize| v["home_owner"][i].as_u64().map(|n| n as u32);
        Some(Machine {
            packages: set("packages"),
            home_entries: set("home_entries"),
            home_mode: v["home_mode"].as_u64()? as u32,
            home_owner: (owner(0)?, owner(1)?),
            log_dir_existed: v["log_dir_existed"].as_bool()?,
            aliases: v["aliases"].as_str().map(str::to_string),
        })
    }
}

/// Purge barman-rs and Debian's barman packages, whatever state a previous run left them in.
/// Debian's barman postrm runs `rm -fr /var/lib/barman` and `userdel barman` on purge: the
/// barman user and its home belong to this machine's set-up (scripts/setup) and other
/// tests, so that script is taken away before its package is purged.
fn clear_packages() {
    let _ = run(
        "runuser",
        &[
            "-u",
            "barman",
            "--",
            "/usr/bin/barman",
            "receive-wal",
            "--stop",
            SERVER,
        ],
    );
    for name in ["barman-rs", "barman", "barman-cli", "python3-barman"] {
        if package_status(name).is_empty() {
            continue;
        }
        if name == "barman" || name == "barman-cli" {
            let _ = std::fs::remove_file(format!("/var/lib/dpkg/info/{name}.postrm"));
        }
        let _ = run("dpkg", &["--purge", name]);
    }
    let _ = std::fs::remove_file(SERVER_CONF);
}

impl Drop for Machine {
    fn drop(&mut self) {
        clear_packages();
        // What `apt-get install barman` pulled in (python3-barman and its libraries).
        let added: Vec<String> = installed_packages()
            .difference(&self.packages)
            .cloned()
            .collect();
        if !added.is_empty() {
            let mut args = vec!["--purge".to_string()];
            args.extend(added);
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            let _ = run("dpkg", &args);
        }
        for entry in entries(BARMAN_HOME).difference(&self.home_entries) {
            let path = Path::new(BARMAN_HOME).join(entry);
            let _ = std::fs::remove_dir_all(&path).or_else(|_| std::fs::remove_file(&path));
        }
        let _ =
            std::fs::set_permissions(BARMAN_HOME, std::fs::Permissions::from_mode(self.home_mode));
        let _ = std::os::unix::fs::chown(
            BARMAN_HOME,
            Some(self.home_owner.0),
            Some(self.home_owner.1),
        );
        if !self.log_dir_existed {
            let _ = std::fs::remove_dir_all("/var/log/barman");
        }
        let _ = std::fs::remove_file(Machine::state_file());
        if let Some(aliases) = &self.aliases {
            let _ = std::fs::write("/etc/aliases", aliases);
        }
        // Left only when empty: the folder was the packages' (dpkg keeps a non-empty one).
        let _ = std::fs::remove_dir("/etc/barman.d");
    }
}

/// A password file the barman user can read (libpq refuses one others can read).
fn barman_passfile(dir: &Path) -> PathBuf {
    let path = dir.join("pgpass");
    std::fs::write(
        &path,
        format!("127.0.0.1:*:*:*:{}\n", crate::harness::auth::PASSWORD),
    )
    .unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    must("chown", &["barman:barman", path.to_str().unwrap()]);
    path
}

/// The server section: the postgres method with a streaming archiver, which Barman 3.4 and
/// we both run through `cron`.
fn write_server_conf(pg: &PgCluster, passfile: &Path) {
    let conninfo = format!("{} passfile={}", pg.conninfo(), passfile.display());
    std::fs::write(
        SERVER_CONF,
        format!(
            "[{SERVER}]\ndescription = package test\nconninfo = {conninfo}\n\
             streaming_conninfo = {conninfo}\nbackup_method = postgres\n\
             streaming_archiver = on\nslot_name = {SERVER}\ncreate_slot = auto\n\
             immediate_checkpoint = true\n"
        ),
    )
    .unwrap();
}

/// Debian's barman 3.4 from the distribution, the way an operator installed it.
fn install_debian_barman() {
    let _ = run("apt-get", &["update", "-qq"]);
    must(
        "apt-get",
        &[
            "install",
            "-y",
            "-qq",
            "--no-install-recommends",
            "barman",
            "barman-cli",
        ],
    );
    let version = must("dpkg-query", &["-W", "-f=${Version}", "barman"]).stdout;
    assert!(version.starts_with("3.4"), "Debian's barman is {version}");
}

/// Debian's barman takes a backup: slot, cron (starts receive-wal), a WAL switch, backup.
fn debian_backup(pg: &PgCluster) -> String {
    barman_ok(&["receive-wal", "--create-slot", SERVER]);
    barman_ok(&["cron"]);
    // cron starts receive-wal in the background: a switch before pg_receivewal streams
    // would close a segment it never sees.
    wait_until("Debian's receive-wal streams", || {
        pg.query_scalar("SELECT count(*) FROM pg_stat_replication") != "0"
    });
    barman_ok(&[
        "switch-wal",
        "--force",
        "--archive",
        "--archive-timeout",
        "60",
        SERVER,
    ]);
    barman_ok(&["backup", "--wait", "--wait-timeout", "120", SERVER]);
    let list = barman_ok(&["list-backups", SERVER]).stdout;
    let id = list
        .split_whitespace()
        .nth(1)
        .unwrap_or_else(|| panic!("no backup listed: {list}"))
        .to_string();
    barman_ok(&["receive-wal", "--stop", SERVER]);
    id
}

#[test]
fn package_replaces_debian_barman_and_keeps_its_catalog() {
    require!("root (installs packages)", is_root());
    require!("PostgreSQL", pg_available());
    let deb = deb_path();
    require!("the .deb (run scripts/package)", deb.is_file());
    let machine = Machine::snapshot();

    let pg = PgCluster::start(PgOptions::default());
    pg.execute("CREATE TABLE t AS SELECT g AS i FROM generate_series(1, 1000) g");
    let work = tempfile::Builder::new()
        .prefix("barman-pkg-")
        .tempdir_in("/tmp")
        .unwrap();
    std::fs::set_permissions(work.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let passfile = barman_passfile(work.path());

    install_debian_barman();
    let conf = std::fs::read_to_string("/etc/barman.conf").unwrap();
    std::fs::write("/etc/barman.conf", format!("{conf}{MARKER}\n")).unwrap();
    write_server_conf(&pg, &passfile);
    let backup_id = debian_backup(&pg);

    // Our package over Debian's: apt removes barman and barman-cli in its favour. The
    // operator's edited /etc/barman.conf is kept (dpkg would ask; confold answers "keep").
    must(
        "apt-get",
        &[
            "install",
            "-y",
            "-qq",
            "-o",
            "Dpkg::Options::=--force-confold",
            deb.to_str().unwrap(),
        ],
    );
    check_installed(&backup_id);
    check_recover(&backup_id, work.path());
    check_cron();
    check_purge(&backup_id);
    drop(machine);
    assert!(Path::new(BARMAN_HOME).is_dir(), "the barman home is gone");
    assert!(must("id", &["barman"]).code == 0);
}

fn check_installed(backup_id: &str) {
    assert_eq!(package_status("barman-rs"), "ii");
    // Removed, not purged: dpkg keeps Debian's barman as "rc" (its postrm remains), and
    // purging it later would run that postrm's `rm -fr /var/lib/barman` (README warns).
    assert_eq!(package_status("barman"), "rc");
    let cli = package_status("barman-cli");
    assert!(!cli.starts_with("ii"), "barman-cli still installed: {cli}");
    for bin in [
        "barman",
        "barman-wal-archive",
        "barman-wal-restore",
        "barman-cloud-wal-archive",
        "barman-cloud-wal-restore",
        "barman-cloud-check-wal-archive",
        "barman-cloud-backup",
        "barman-cloud-restore",
        "barman-cloud-backup-list",
        "barman-cloud-backup-show",
        "barman-cloud-backup-delete",
        "barman-cloud-backup-keep",
    ] {
        let path = format!("/usr/bin/{bin}");
        let owner = must("dpkg", &["-S", &path]).stdout;
        assert!(owner.starts_with("barman-rs:"), "{path}: {owner}");
        let head = std::fs::read(&path).unwrap();
        assert_eq!(&head[..4], b"\x7fELF", "{path} is not our binary");
    }
    let conf = std::fs::read_to_string("/etc/barman.conf").unwrap();
    assert!(
        conf.contains(MARKER),
        "the edited /etc/barman.conf was replaced"
    );
    let ours = std::fs::read_to_string("/etc/barman.conf.dpkg-dist").unwrap();
    assert!(
        ours.contains("configuration_files_directory = /etc/barman.d"),
        "{ours}"
    );
    // Debian's unedited template, taken over and replaced by ours.
    let template = Path::new(env!("CARGO_MANIFEST_DIR")).join("barman.d/streaming-server.conf");
    assert_eq!(
        std::fs::read_to_string("/etc/barman.d/streaming-server.conf-template").unwrap(),
        std::fs::read_to_string(template).unwrap()
    );
    assert!(
        Path::new(SERVER_CONF).is_file(),
        "/etc/barman.d lost the server file"
    );
    let list = barman_ok(&["list-backups", SERVER]).stdout;
    assert!(
        list.contains(backup_id),
        "Debian's backup is not listed: {list}"
    );
    let show = barman_ok(&["show-backup", SERVER, backup_id]).stdout;
    let done = show
        .lines()
        .any(|l| l.trim_start().starts_with("Status ") && l.trim_end().ends_with(": DONE"));
    assert!(done, "{show}");
}

/// Our recover of Debian's backup, started as a cluster that holds the rows.
fn check_recover(backup_id: &str, work: &Path) {
    let dest = work.join("recovered");
    std::fs::create_dir(&dest).unwrap();
    must("chown", &["barman:barman", dest.to_str().unwrap()]);
    barman_ok(&["recover", SERVER, backup_id, dest.to_str().unwrap()]);
    let recovered = PgCluster::start_in_place(&dest, &[]);
    wait_until("the recovered cluster leaves recovery", || {
        recovered.query_scalar("SELECT pg_is_in_recovery()") == "f"
    });
    assert_eq!(recovered.query_scalar("SELECT count(*) FROM t"), "1000");
}

/// Debian's cron line is installed and runs our barman as the barman user.
fn check_cron() {
    let cron = std::fs::read_to_string("/etc/cron.d/barman").unwrap();
    let line = "* * * * * barman [ -x /usr/bin/barman ] && /usr/bin/barman -q cron";
    assert!(cron.lines().any(|l| l == line), "{cron}");
    let command = line.split_once(" barman ").unwrap().1;
    let out = must(
        "runuser",
        &[
            "-u",
            "barman",
            "--",
            "env",
            "HOME=/var/lib/barman",
            "sh",
            "-c",
            command,
        ],
    );
    assert_eq!(out.stdout, "", "cron -q printed");
    assert_eq!(out.stderr, "", "cron -q printed");
    // cron starts receive-wal in the background: stop it once it runs, not before.
    wait_until("the receive-wal our cron started", || {
        barman(&["list-processes", SERVER])
            .stdout
            .contains("receive-wal")
    });
    barman_ok(&["receive-wal", "--stop", SERVER]);
}

/// Purge removes the package's files, its logs and nothing of the operator's.
fn check_purge(backup_id: &str) {
    let files: Vec<String> = must("dpkg", &["-L", "barman-rs"])
        .stdout
        .lines()
        .filter(|p| Path::new(p).is_file())
        .map(str::to_string)
        .collect();
    assert!(files.iter().any(|f| f == "/usr/share/man/man5/barman.5.gz"));
    must("dpkg", &["--purge", "barman-rs"]);
    for file in &files {
        assert!(!Path::new(file).exists(), "{file} survived the purge");
    }
    assert!(!Path::new("/var/log/barman").exists());
    let info = format!("{BARMAN_HOME}/{SERVER}/base/{backup_id}/backup.info");
    assert!(Path::new(&info).is_file(), "the catalog lost {info}");
    assert!(
        Path::new(SERVER_CONF).is_file(),
        "the operator's server file was removed"
    );
    must("id", &["barman"]);
}
