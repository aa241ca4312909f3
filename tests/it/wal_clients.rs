//! The whole WAL path with real parts: PostgreSQL's `archive_command` runs our
//! `barman-wal-archive`, which reaches our `put-wal` through a real sshd; `archive-wal`
//! files the segments; `barman-wal-restore` (with and without prefetching) brings them back
//! through ssh, byte for byte.

use crate::harness::pg_cluster::{give_to_postgres, pg_available};
use crate::harness::sshd::ssh_available;
use crate::harness::{BarmanHome, Run, Sshd};
use crate::require;
use std::path::Path;
use std::process::Command;

fn bin(name: &str) -> &'static str {
    match name {
        "barman-wal-archive" => env!("CARGO_BIN_EXE_barman-wal-archive"),
        _ => env!("CARGO_BIN_EXE_barman-wal-restore"),
    }
}

fn path_with(dir: &Path) -> String {
    format!(
        "{}:{}",
        dir.display(),
        std::env::var("PATH").unwrap_or_default()
    )
}

/// Wait (up to 20 s) for a file the background prefetcher writes.
fn wait_for(path: &Path) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while !path.exists() {
        assert!(
            std::time::Instant::now() < deadline,
            "{} never prefetched",
            path.display()
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

#[test]
fn wal_clients_archive_over_ssh_and_restore_with_prefetch() {
    require!("PostgreSQL 15 binaries", pg_available());
    require!("sshd, ssh and rsync", ssh_available());
    let sshd = Sshd::start(&crate::harness::barman_home::current_user());
    let home = BarmanHome::new();
    let shadow = home.dir().join("shadow");
    std::fs::create_dir_all(&shadow).unwrap();
    give_to_postgres(&shadow);
    let client_dir = sshd.client_path_dir("postgres");
    let command = format!(
        "'cp %p {shadow}/%f && PATH={client}:/usr/bin:/bin {archive} -U {user} --port {port} -c {config} --zstd 127.0.0.1 pg %p'",
        shadow = shadow.display(),
        client = client_dir.display(),
        archive = bin("barman-wal-archive"),
        user = crate::harness::barman_home::current_user(),
        port = sshd.port(),
        config = home.config_path().display(),
    );
    let pg = crate::archive_wal::archiving_cluster(&command);
    home.write_config(
        "",
        &[(
            "pg",
            &format!(
                "conninfo = {}\nssh_command = ssh postgres@127.0.0.1\narchiver = on\nbackup_options = concurrent_backup\ncompression = gzip\n",
                pg.conninfo()
            ),
        )],
    );
    // The check the client offers.
    let test = Run::of(
        Command::new(bin("barman-wal-archive"))
            .env("PATH", path_with(&sshd.client_path_dir("root")))
            .args(["-t", "-U", "root", "--port", &sshd.port().to_string(), "-c"])
            .arg(home.config_path())
            .args(["127.0.0.1", "pg", "/dev/null"]),
    )
    .ok();
    // The client echoes the remote output (and log lines, with no log_file) plus a blank line.
    assert!(
        test.stdout
            .starts_with("Ready to accept WAL files for the server pg\n"),
        "{}",
        test.stdout
    );
    assert!(test.stdout.ends_with("\n\n"));
    // With ssh failing, --test exits with ssh's own 255, as Barman's connectivity_test
    // passes the status through (no "Connection problem with ssh" remap to 3 or 2).
    let closed = crate::harness::ports::free_port().to_string();
    for (tool, last) in [
        ("barman-wal-archive", "/dev/null"),
        ("barman-wal-restore", "000000010000000000000001"),
    ] {
        let mut tools = vec![std::path::PathBuf::from(bin(tool))];
        tools.extend(crate::harness::python_barman::venv_tool(tool));
        for path in tools {
            let mut cmd = Command::new(&path);
            cmd.args([
                "-t",
                "-U",
                "root",
                "--port",
                &closed,
                "127.0.0.1",
                "pg",
                last,
            ]);
            if tool == "barman-wal-restore" {
                cmd.arg("/tmp/never-written");
            }
            let run = Run::of(&mut cmd);
            assert_eq!(
                run.code,
                255,
                "{}: {}{}",
                path.display(),
                run.stdout,
                run.stderr
            );
            assert!(
                !run.stderr.contains("ERROR"),
                "{}: {}",
                path.display(),
                run.stderr
            );
        }
    }

    crate::archive_wal::generate_wal(&pg, 4);
    let failed = pg.query_scalar("SELECT failed_count FROM pg_stat_archiver");
    assert_eq!(failed, "0", "archive_command failed:\n{}", pg.log());
    home.run(&["archive-wal", "pg"]).ok();
    let names: Vec<String> = std::fs::read_dir(&shadow)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.len() == 24)
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    assert!(names.len() >= 4, "{names:?}");
    // Client-side zstd arrived as such; archive-wal kept it (no second compression).
    let db = std::fs::read_to_string(home.home().join("pg/wals/pg-xlog.db")).unwrap();
    assert!(db.lines().all(|l| l.ends_with("\tzstd\tNone")), "{db}");

    // Restore them through ssh: the first with prefetching of the next ones.
    let root_client = sshd.client_path_dir("root");
    let spool = home.dir().join("spool");
    let dest = home.dir().join("restored");
    std::fs::create_dir_all(&dest).unwrap();
    for (i, name) in names.iter().enumerate() {
        let mut cmd = Command::new(bin("barman-wal-restore"));
        cmd.env("PATH", path_with(&root_client)).args([
            "-U",
            "root",
            "--port",
            &sshd.port().to_string(),
            "-c",
        ]);
        cmd.arg(home.config_path());
        if i < 2 {
            cmd.args(["-p", "2"]);
        }
        cmd.arg("--spool-dir")
            .arg(&spool)
            .args(["127.0.0.1", "pg", name])
            .arg(dest.join(name));
        Run::of(&mut cmd).ok();
        assert!(
            std::fs::read(dest.join(name)).unwrap() == std::fs::read(shadow.join(name)).unwrap(),
            "{name} restored with different content"
        );
        if i == 0 {
            // The background prefetcher brings the next two into the spool.
            wait_for(&spool.join(&names[1]));
            wait_for(&spool.join(&names[2]));
        }
        if i == 1 {
            // Served from the spool, and the prefetcher moved on by itself: the file after
            // the window arrives with no further restore_command call.
            assert!(!spool.join(&names[1]).exists());
            wait_for(&spool.join(&names[3]));
        }
    }

    // A missing WAL: the remote code (1), and nothing left at the destination.
    let mut cmd = Command::new(bin("barman-wal-restore"));
    cmd.env("PATH", path_with(&root_client)).args([
        "-U",
        "root",
        "--port",
        &sshd.port().to_string(),
        "-c",
    ]);
    cmd.arg(home.config_path())
        .args(["127.0.0.1", "pg", "0000000100000000000000EE"])
        .arg(dest.join("missing"));
    let run = Run::of(&mut cmd);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("ERROR: Remote 'barman get-wal' command has failed!"),
        "{}",
        run.stderr
    );
    assert!(!dest.join("missing").exists());
    // An unreachable host: ssh fails with 255, the client exits 2.
    let run = Run::of(
        Command::new(bin("barman-wal-restore"))
            .env("PATH", path_with(&root_client))
            .args(["-U", "root", "--port", "1", "127.0.0.1", "pg", &names[0]])
            .arg(dest.join("x")),
    );
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("ERROR: Connection problem with ssh"));
    // A directory as destination: exit 3.
    let run = Run::of(
        Command::new(bin("barman-wal-restore"))
            .args(["127.0.0.1", "pg", &names[0]])
            .arg(&dest),
    );
    assert_eq!(run.code, 3);
}

#[test]
fn wal_archive_parallel_sends_ready_segments_ahead() {
    require!("PostgreSQL 15 binaries", pg_available());
    require!("sshd, ssh and rsync", ssh_available());
    let sshd = Sshd::start(&crate::harness::barman_home::current_user());
    let home = BarmanHome::new();
    let shadow = home.dir().join("shadow");
    let cache = home.dir().join("cache");
    std::fs::create_dir_all(&shadow).unwrap();
    give_to_postgres(&shadow);
    // The cache folder must belong to the user running archive_command, mode 0700.
    std::fs::create_dir_all(&cache).unwrap();
    give_to_postgres(&cache);
    let client_dir = sshd.client_path_dir("postgres");
    // A slow first call lets .ready files pile up, so prefetching has work to do.
    let command = format!(
        "'cp %p {shadow}/%f && PATH={client}:/usr/bin:/bin {archive} -p 4 --prefetch-cache-dir {cache} -U {user} --port {port} -c {config} 127.0.0.1 pg %p'",
        shadow = shadow.display(),
        client = client_dir.display(),
        archive = bin("barman-wal-archive"),
        cache = cache.display(),
        user = crate::harness::barman_home::current_user(),
        port = sshd.port(),
        config = home.config_path().display(),
    );
    let pg = crate::archive_wal::archiving_cluster(&command);
    home.write_config(
        "",
        &[("pg", &format!("conninfo = {}\nssh_command = ssh x\narchiver = on\nbackup_options = concurrent_backup\n", pg.conninfo()))],
    );
    crate::archive_wal::generate_wal(&pg, 8);
    assert_eq!(
        pg.query_scalar("SELECT failed_count FROM pg_stat_archiver"),
        "0",
        "{}",
        pg.log()
    );
    home.run(&["archive-wal", "pg"]).ok();
    let archived = crate::archive_wal::names_in_db(&home);
    for entry in std::fs::read_dir(&shadow).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        assert!(
            archived.contains(&name),
            "{name} not archived: {archived:?}"
        );
    }
    let last = std::fs::read_to_string(cache.join("wal-last-archived")).unwrap();
    assert!(archived.contains(&last), "cache names {last}");
}

/// `barman-wal-archive -t` through the harness's sshd with `home` as HOME.
fn archive_test_with_home(sshd: &Sshd, config: &Path, home: &Path) -> Run {
    Run::of(
        Command::new(bin("barman-wal-archive"))
            .env("PATH", path_with(&sshd.client_path_dir("root")))
            .env("HOME", home)
            .env_remove("XDG_RUNTIME_DIR")
            .args(["-t", "-U", "root", "--port", &sshd.port().to_string(), "-c"])
            .arg(config)
            .args(["127.0.0.1", "pg", "/dev/null"]),
    )
}

#[test]
fn wal_clients_share_ssh_only_through_a_private_control_dir() {
    require!("sshd, ssh and rsync", ssh_available());
    use std::os::unix::fs::{FileTypeExt, MetadataExt};
    let sshd = Sshd::start(&crate::harness::barman_home::current_user());
    let barman = BarmanHome::new();
    barman.write_config("", &[("pg", "conninfo = host=x\nssh_command = ssh x\n")]);
    let short = |p: &str| {
        tempfile::Builder::new()
            .prefix(p)
            .tempdir_in("/tmp")
            .unwrap()
    };

    // A fresh home: the folder is created 0700 and holds the master's socket.
    let home = short("h");
    archive_test_with_home(&sshd, &barman.config_path(), home.path()).ok();
    let dir = home.path().join(".cache/barman-ssh");
    let meta = std::fs::symlink_metadata(&dir).unwrap();
    assert!(meta.is_dir());
    assert_eq!(meta.mode() & 0o777, 0o700);
    let sockets: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap())
        .filter(|e| e.file_type().unwrap().is_socket())
        .collect();
    assert_eq!(sockets.len(), 1, "no shared master connection");
    // Stop that master now rather than after ControlPersist.
    let _ = Command::new("ssh")
        .arg("-o")
        .arg(format!("ControlPath={}", sockets[0].path().display()))
        .args(["-O", "exit", "127.0.0.1"])
        .output();

    // A symlink planted at the folder's place: refused, the call still works, unshared.
    let planted = short("p");
    let target = planted.path().join("elsewhere");
    std::fs::create_dir_all(&target).unwrap();
    std::fs::create_dir_all(planted.path().join(".cache")).unwrap();
    std::os::unix::fs::symlink(&target, planted.path().join(".cache/barman-ssh")).unwrap();
    let run = archive_test_with_home(&sshd, &barman.config_path(), planted.path()).ok();
    assert!(run
        .stdout
        .starts_with("Ready to accept WAL files for the server pg\n"));
    assert!(std::fs::read_dir(&target).unwrap().next().is_none());

    // A folder another user created first: refused too.
    if crate::harness::is_root() {
        let squatted = short("s");
        let dir = squatted.path().join(".cache/barman-ssh");
        std::fs::create_dir_all(&dir).unwrap();
        nix::unistd::chown(&dir, Some(nix::unistd::Uid::from_raw(65534)), None).unwrap();
        archive_test_with_home(&sshd, &barman.config_path(), squatted.path()).ok();
        assert!(std::fs::read_dir(&dir).unwrap().next().is_none());
    }
}
