//! Connections behave as libpq's, because they are libpq's: every conninfo form operators
//! write (the seed guide's `streaming_conninfo` without `dbname`, `.pgpass` found through
//! `~/.pgpass`, `PGPASSFILE` and `passfile=`, with libpq's permission rule; `service`
//! files; URIs; TLS modes with libpq's error texts; several hosts; `PG*` variables; md5 and
//! SCRAM; an invalid keyword) is given to our barman and to Python Barman 3.20.1 on the
//! same TLS + SCRAM cluster, and `check` must print the same lines and exit code, and
//! `show-servers` the same connection error. Passwords written in a conninfo never reach a
//! child's argv.

use crate::harness::auth;
use crate::harness::pg_cluster::{give_to_postgres, pg_available};
use crate::harness::{python_barman, BarmanHome, PgCluster, Run};
use crate::require;
use std::os::unix::fs::PermissionsExt;
use std::process::Command;

/// One server section: the postgres backup method, so `check` opens both the regular and
/// the replication connection and asks pg_basebackup's compatibility of the server.
fn server(conninfo: &str, streaming: &str) -> String {
    format!(
        "description = libpq\nconninfo = {conninfo}\nstreaming_conninfo = {streaming}\n\
         backup_method = postgres\narchiver = on\n\
         path_prefix = /usr/lib/postgresql/15/bin\n"
    )
}

/// Run `args` with ours and with Python Barman under the same environment changes.
fn both(home: &BarmanHome, args: &[&str], env: &[(&str, Option<&str>)]) -> (Run, Run) {
    let apply = |cmd: &mut Command| {
        for (key, value) in env {
            match value {
                Some(v) => cmd.env(key, v),
                None => cmd.env_remove(key),
            };
        }
    };
    let mut ours = home.barman();
    apply(&mut ours);
    let mut python = home.python_barman();
    apply(&mut python);
    (Run::of(ours.args(args)), Run::of(python.args(args)))
}

/// `check pg` by both, compared line for line (and exit code); returns our output.
fn same_check(home: &BarmanHome, env: &[(&str, Option<&str>)]) -> Run {
    let (ours, python) = both(home, &["check", "pg"], env);
    assert_eq!(
        ours.stdout, python.stdout,
        "check differs from Python Barman\nours stderr: {}\npython stderr: {}",
        ours.stderr, python.stderr
    );
    assert_eq!(ours.code, python.code, "exit code");
    ours
}

/// `connection_error` of `show-servers pg -f json` by both; asserts they are equal.
fn same_connection_error(home: &BarmanHome, env: &[(&str, Option<&str>)]) -> serde_json::Value {
    let (ours, python) = both(home, &["-f", "json", "show-servers", "pg"], env);
    let parse = |run: &Run| -> serde_json::Value {
        serde_json::from_str(&run.stdout)
            .unwrap_or_else(|e| panic!("{e}: {}\n{}", run.stdout, run.stderr))
    };
    let (ours, python) = (parse(&ours), parse(&python));
    assert_eq!(
        ours["pg"]["connection_error"], python["pg"]["connection_error"],
        "connection_error"
    );
    assert_eq!(
        ours["pg"]["server_txt_version"],
        python["pg"]["server_txt_version"]
    );
    ours["pg"]["connection_error"].clone()
}

fn line<'a>(run: &'a Run, start: &str) -> &'a str {
    run.stdout
        .lines()
        .find(|l| l.trim_start().starts_with(start))
        .unwrap_or_else(|| panic!("no '{start}' line in:\n{}", run.stdout))
}

/// A cluster archiving into `pg/incoming` of a new home, with the roles the tests use.
fn setup() -> (PgCluster, BarmanHome) {
    let home = BarmanHome::new();
    let incoming = home.home().join("pg/incoming");
    std::fs::create_dir_all(&incoming).unwrap();
    give_to_postgres(&incoming);
    let pg = crate::archive_wal::archiving_cluster(&format!(
        "'test ! -f {inc}/%f && cp %p {inc}/.%f.tmp && mv {inc}/.%f.tmp {inc}/%f'",
        inc = incoming.display()
    ));
    pg.create_user("barman", "SUPERUSER");
    pg.create_user("streaming_barman", "REPLICATION");
    (pg, home)
}

#[test]
fn seed_guide_streaming_conninfo_without_dbname_is_a_replication_connection() {
    require!("PostgreSQL 15", pg_available());
    require!(python_barman::REQUIREMENT, python_barman::available());
    let (pg, home) = setup();
    let port = pg.port();
    // The seed guide's 4.2 spelling: no dbname in streaming_conninfo (there is no database
    // called "barman"), the password only in the password file.
    home.write_config(
        "",
        &[(
            "pg",
            &server(
                &format!("host=127.0.0.1 port={port} user=barman dbname=postgres"),
                &format!("host=127.0.0.1 port={port} user=streaming_barman"),
            ),
        )],
    );
    let run = same_check(&home, &[]);
    assert_eq!(line(&run, "PostgreSQL:"), "\tPostgreSQL: OK");
    assert_eq!(
        line(&run, "PostgreSQL streaming:"),
        "\tPostgreSQL streaming: OK"
    );
    assert_eq!(
        line(&run, "pg_basebackup compatible:"),
        "\tpg_basebackup compatible: OK"
    );
    assert_eq!(same_connection_error(&home, &[]), serde_json::Value::Null);
    // And the backup the check promised works.
    home.run(&["backup", "pg"]).ok();
}

#[test]
fn passwords_from_home_pgpass_passfile_keyword_and_libpq_permission_rule() {
    require!("PostgreSQL 15", pg_available());
    require!(python_barman::REQUIREMENT, python_barman::available());
    let (pg, home) = setup();
    let port = pg.port();
    let conninfo = format!("host=127.0.0.1 port={port} user=barman dbname=postgres");
    let streaming = format!("host=127.0.0.1 port={port} user=streaming_barman");
    home.write_config("", &[("pg", &server(&conninfo, &streaming))]);
    // ~/.pgpass of the user barman runs as (HOME), the guide's 2.2 line format.
    let user_home = home.dir().join("userhome");
    std::fs::create_dir(&user_home).unwrap();
    let pgpass = user_home.join(".pgpass");
    std::fs::write(
        &pgpass,
        format!(
            "127.0.0.1:{port}:*:barman:{}\n127.0.0.1:{port}:replication:streaming_barman:{}\n",
            auth::PASSWORD,
            auth::PASSWORD
        ),
    )
    .unwrap();
    std::fs::set_permissions(&pgpass, std::fs::Permissions::from_mode(0o600)).unwrap();
    let home_env = user_home.to_str().unwrap();
    let env = [("PGPASSFILE", None), ("HOME", Some(home_env))];
    let run = same_check(&home, &env);
    assert_eq!(line(&run, "PostgreSQL:"), "\tPostgreSQL: OK");
    assert_eq!(
        line(&run, "PostgreSQL streaming:"),
        "\tPostgreSQL streaming: OK"
    );

    // libpq ignores a password file others can read: both fail the same way, and the
    // error is libpq's.
    std::fs::set_permissions(&pgpass, std::fs::Permissions::from_mode(0o644)).unwrap();
    let run = same_check(&home, &env);
    assert_eq!(line(&run, "PostgreSQL:"), "\tPostgreSQL: FAILED");
    let error = same_connection_error(&home, &env);
    assert!(
        error
            .as_str()
            .unwrap_or("")
            .contains("no password supplied"),
        "{error}"
    );

    // `passfile=` in the conninfo itself.
    std::fs::set_permissions(&pgpass, std::fs::Permissions::from_mode(0o600)).unwrap();
    let with_passfile = |c: &str| format!("{c} passfile={}", pgpass.display());
    home.write_config(
        "",
        &[(
            "pg",
            &server(&with_passfile(&conninfo), &with_passfile(&streaming)),
        )],
    );
    let run = same_check(
        &home,
        &[("PGPASSFILE", None), ("HOME", Some("/nonexistent"))],
    );
    assert_eq!(line(&run, "PostgreSQL:"), "\tPostgreSQL: OK");
    assert_eq!(
        line(&run, "PostgreSQL streaming:"),
        "\tPostgreSQL streaming: OK"
    );
}

#[test]
fn service_files_uris_several_hosts_and_pg_environment() {
    require!("PostgreSQL 15", pg_available());
    require!(python_barman::REQUIREMENT, python_barman::available());
    let (pg, home) = setup();
    let port = pg.port();
    // A service file (PGSERVICEFILE), the conninfo naming only the service.
    let services = home.dir().join("pg_service.conf");
    std::fs::write(
        &services,
        format!("[backupsrc]\nhost=127.0.0.1\nport={port}\nuser=barman\ndbname=postgres\n"),
    )
    .unwrap();
    home.write_config(
        "",
        &[("pg", &server("service=backupsrc", "service=backupsrc"))],
    );
    let env = [("PGSERVICEFILE", Some(services.to_str().unwrap()))];
    let run = same_check(&home, &env);
    assert_eq!(line(&run, "PostgreSQL:"), "\tPostgreSQL: OK");
    assert_eq!(
        line(&run, "PostgreSQL streaming:"),
        "\tPostgreSQL streaming: OK"
    );

    // A URI, and two hosts of which only the second answers. (Python Barman's own
    // conninfo parser refuses URIs, so this one is ours alone: libpq accepts them.)
    home.write_config(
        "",
        &[(
            "pg",
            &server(
                &format!("postgresql://barman@127.0.0.1:{port}/postgres?sslmode=require"),
                &format!("host=127.0.0.1,127.0.0.1 port=1,{port} user=streaming_barman"),
            ),
        )],
    );
    let run = home.run(&["check", "pg"]);
    assert_eq!(
        line(&run, "PostgreSQL:"),
        "\tPostgreSQL: OK",
        "{}",
        run.stderr
    );
    assert_eq!(
        line(&run, "PostgreSQL streaming:"),
        "\tPostgreSQL streaming: OK"
    );

    // Nothing but a dbname: host, port and user from libpq's environment variables.
    home.write_config("", &[("pg", &server("dbname=postgres", ""))]);
    let env = [
        ("PGHOST", Some("127.0.0.1")),
        ("PGPORT", Some(&*port.to_string())),
        ("PGUSER", Some("barman")),
    ];
    let run = same_check(&home, &env);
    assert_eq!(line(&run, "PostgreSQL:"), "\tPostgreSQL: OK");
}

#[test]
fn tls_modes_and_their_libpq_errors() {
    require!("PostgreSQL 15", pg_available());
    require!(python_barman::REQUIREMENT, python_barman::available());
    let (pg, home) = setup();
    let port = pg.port();
    let tls = auth::tls_files();
    let base = format!("host=127.0.0.1 port={port} user=barman dbname=postgres");
    let stream = format!("host=127.0.0.1 port={port} user=streaming_barman");
    let verify = format!("sslmode=verify-full sslrootcert={}", tls.ca_cert.display());
    home.write_config(
        "",
        &[(
            "pg",
            &server(&format!("{base} {verify}"), &format!("{stream} {verify}")),
        )],
    );
    let run = same_check(&home, &[]);
    assert_eq!(line(&run, "PostgreSQL:"), "\tPostgreSQL: OK");
    assert_eq!(
        line(&run, "PostgreSQL streaming:"),
        "\tPostgreSQL streaming: OK"
    );

    // A root certificate that did not sign the server's: libpq's verification error.
    let wrong = home.dir().join("other-ca.crt");
    let out = Command::new("openssl")
        .args([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
        ])
        .args(["-subj", "/CN=other CA", "-keyout"])
        .arg(home.dir().join("other-ca.key"))
        .arg("-out")
        .arg(&wrong)
        .output()
        .unwrap();
    assert!(out.status.success());
    let bad = format!("sslmode=verify-ca sslrootcert={}", wrong.display());
    home.write_config(
        "",
        &[(
            "pg",
            &server(&format!("{base} {bad}"), &format!("{stream} {bad}")),
        )],
    );
    let run = same_check(&home, &[]);
    assert_eq!(line(&run, "PostgreSQL:"), "\tPostgreSQL: FAILED");
    let error = same_connection_error(&home, &[]);
    assert!(
        error
            .as_str()
            .unwrap_or("")
            .contains("certificate verify failed"),
        "{error}"
    );

    // verify-full against a name the certificate does not carry.
    let mismatch = format!("sslmode=verify-full sslrootcert={}", tls.ca_cert.display());
    home.write_config(
        "",
        &[(
            "pg",
            &server(
                &format!("host=127.0.0.2 port={port} user=barman dbname=postgres {mismatch}"),
                &format!("host=127.0.0.2 port={port} user=streaming_barman {mismatch}"),
            ),
        )],
    );
    let error = same_connection_error(&home, &[]);
    assert!(!error.is_null());
}

#[test]
fn md5_roles_and_invalid_keywords() {
    require!("PostgreSQL 15", pg_available());
    require!(python_barman::REQUIREMENT, python_barman::available());
    let (pg, home) = setup();
    let port = pg.port();
    // An md5-stored password, with an md5 line ahead of the harness's SCRAM lines.
    pg.execute(&format!(
        "SET password_encryption = 'md5'; CREATE ROLE md5_barman LOGIN SUPERUSER REPLICATION PASSWORD '{}'",
        auth::PASSWORD
    ));
    pg.prepend_hba("hostssl all md5_barman 127.0.0.1/32 md5\nhostssl replication md5_barman 127.0.0.1/32 md5\n");
    let md5 = format!("host=127.0.0.1 port={port} user=md5_barman");
    home.write_config(
        "",
        &[("pg", &server(&format!("{md5} dbname=postgres"), &md5))],
    );
    let run = same_check(&home, &[]);
    assert_eq!(line(&run, "PostgreSQL:"), "\tPostgreSQL: OK");
    assert_eq!(
        line(&run, "PostgreSQL streaming:"),
        "\tPostgreSQL streaming: OK"
    );

    // An unknown keyword: libpq's own message, in show-servers and in the log.
    let log = home.dir().join("barman.log");
    let global = format!("log_file = {}", log.display());
    let bogus = format!("host=127.0.0.1 port={port} user=barman bogus=1");
    home.write_config(&global, &[("pg", &server(&bogus, &bogus))]);
    let run = same_check(&home, &[]);
    assert_eq!(line(&run, "PostgreSQL:"), "\tPostgreSQL: FAILED");
    let error = same_connection_error(&home, &[]);
    assert_eq!(error, "invalid dsn: invalid connection option \"bogus\"");
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(
        text.contains("invalid connection option \"bogus\""),
        "{text}"
    );
}

/// Every `/proc/*/cmdline` of the machine, NULs as spaces.
fn all_command_lines() -> Vec<String> {
    let mut lines = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        if let Ok(bytes) = std::fs::read(entry.path().join("cmdline")) {
            lines.push(String::from_utf8_lossy(&bytes).replace('\0', " "));
        }
    }
    lines
}

fn wait_for_process(name: &str) -> Vec<String> {
    for _ in 0..200 {
        let found: Vec<String> = all_command_lines()
            .into_iter()
            .filter(|l| l.contains(name))
            .collect();
        if !found.is_empty() {
            return found;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    panic!("{name} never started");
}

#[test]
fn passwords_in_a_conninfo_never_reach_a_child_argv_or_the_log() {
    require!("PostgreSQL 15", pg_available());
    let (pg, home) = setup();
    let port = pg.port();
    let secret = auth::PASSWORD;
    let log = home.dir().join("barman.log");
    let conninfo =
        format!("host=127.0.0.1 port={port} user=barman dbname=postgres password={secret}");
    let streaming = format!("host=127.0.0.1 port={port} user=streaming_barman password={secret}");
    home.write_config(
        &format!("log_file = {}\nlog_level = DEBUG", log.display()),
        &[(
            "pg",
            &format!(
                "{}streaming_archiver = on\nslot_name = barman\ncreate_slot = auto\n\
                 bandwidth_limit = 4000\n",
                server(&conninfo, &streaming)
            ),
        )],
    );
    // No password file: the conninfo's password is the only one there is.
    let mut receive = home.barman();
    receive
        .env("PGPASSFILE", "/nonexistent")
        .args(["receive-wal", "--create-slot", "pg"]);
    Run::of(&mut receive).ok();
    let mut child = home
        .barman()
        .env("PGPASSFILE", "/nonexistent")
        .args(["receive-wal", "pg"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let seen = wait_for_process("pg_receivewal");
    let mut backup = home
        .barman()
        .env("PGPASSFILE", "/nonexistent")
        .args(["backup", "pg"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let basebackup = wait_for_process("pg_basebackup");
    let everything = all_command_lines();
    assert!(
        backup.wait().unwrap().success(),
        "backup with the password in its conninfo"
    );
    let _ = nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGINT,
    );
    let _ = child.wait();
    for line in seen.iter().chain(&basebackup).chain(&everything) {
        assert!(!line.contains(secret), "password in an argv: {line}");
    }
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(!text.contains(secret), "password in the log:\n{text}");
    assert!(text.contains("pg_basebackup"), "{text}");
}

/// libpq is loaded at the first connection, not at start-up: the executable does not
/// need it (nor OpenSSL, Kerberos or LDAP through it), so a command that never connects
/// does not load them. The tests above show the loaded libpq connecting as before.
#[test]
fn barman_loads_libpq_only_when_it_connects() {
    let dynamic = Command::new("readelf")
        .args(["-d", env!("CARGO_BIN_EXE_barman")])
        .output()
        .expect("readelf (binutils) runs");
    assert!(dynamic.status.success());
    let text = String::from_utf8_lossy(&dynamic.stdout);
    let needed: Vec<&str> = text.lines().filter(|l| l.contains("(NEEDED)")).collect();
    assert!(!needed.is_empty(), "{text}");
    for lib in ["libpq", "libssl", "libcrypto", "libgssapi", "libldap"] {
        assert!(
            !needed.iter().any(|l| l.contains(lib)),
            "{lib} is linked: {needed:#?}"
        );
    }
}
