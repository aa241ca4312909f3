//! `list-servers`, `show-servers` and `diagnose` compared with Python Barman 3.20.1 on the
//! same configuration and catalog, console and `-f json`, field by field (times, versions
//! and host facts aside).

use crate::harness::pg_cluster::{pg_available, PgOptions};
use crate::harness::{python_barman, BarmanHome, PgCluster};
use crate::require;
use serde_json::Value;
use std::collections::BTreeSet;

const FIXTURES: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/barman-3.20/catalog"
);

/// A configuration exercising what these commands report: a postgres-method server with a
/// slot, retention and a maximum backup age; an rsync server in an include file with
/// custom directories and interpolation; an inactive server; a passive node; a model.
fn configure(home: &BarmanHome, pg_port: u16) {
    let h = home.home();
    home.write_config(
        "compression = gzip\nminimum_redundancy = 1\nretention_policy = REDUNDANCY 2\n",
        &[(
            "pg",
            &format!(
                "description = \"PG via streaming\"\n\
                 conninfo = host=127.0.0.1 port={pg_port} user=postgres dbname=postgres\n\
                 streaming_conninfo = host=127.0.0.1 port={pg_port} user=postgres\n\
                 backup_method = postgres\nstreaming_archiver = on\nslot_name = barman_pg\n\
                 create_slot = auto\nretention_policy = REDUNDANCY 3\n\
                 path_prefix = /usr/lib/postgresql/15/bin\nimmediate_checkpoint = true\n\
                 last_wal_maximum_age = 5 hours\ncloud_staging_max_size = 2Gi\n"
            ),
        )],
    );
    home.write_include(
        "rsync.conf",
        &format!(
            "[pgr]\ndescription = 'rsync server'\nssh_command = ssh -p 22 postgres@127.0.0.1\n\
             conninfo = host=127.0.0.1 port={pg_port} user=postgres dbname=postgres\n\
             backup_method = rsync\nreuse_backup = link\nparallel_jobs = 2\narchiver = on\n\
             compression = None\nretention_policy = RECOVERY WINDOW OF 2 WEEKS\n\
             wals_directory = %(backup_directory)s/mywals\nbackup_directory = {h}/pgr-custom\n\n\
             [off]\ndescription = switched off\nconninfo = host=127.0.0.1 port=1\n\
             ssh_command = ssh nobody@127.0.0.1\nactive = false\n\n\
             [passive]\ndescription = passive node\nprimary_ssh_command = ssh barman@backup1\n\n\
             [pg:fast]\nmodel = true\ncluster = pg\nparallel_jobs = 4\n",
            h = h.display()
        ),
    );
    // A catalog Python Barman wrote, so diagnose has backups and WAL to report.
    let meta = h.join("pg/meta");
    let wals = h.join("pg/wals");
    std::fs::create_dir_all(&meta).unwrap();
    std::fs::create_dir_all(&wals).unwrap();
    for id in ["20261124T004001", "20261124T004434", "20261124T004711"] {
        std::fs::copy(
            format!("{FIXTURES}/pg-{id}-backup.info"),
            meta.join(format!("{id}-backup.info")),
        )
        .unwrap();
    }
    std::fs::copy(format!("{FIXTURES}/pg-xlog.db"), wals.join("pg-xlog.db")).unwrap();
    let hash = wals.join("0000000100000000");
    std::fs::create_dir_all(&hash).unwrap();
    std::fs::write(
        hash.join("00000001000000000000004E"),
        b"\x1f\x8b\x08 not really gzip",
    )
    .unwrap();
    std::fs::write(hash.join("00000001000000000000004F"), b"plain").unwrap();
    std::fs::write(
        hash.join("00000001000000000000004F.00000028.backup"),
        b"label",
    )
    .unwrap();
}

/// Our and Python Barman's JSON output of the same successful command.
fn both_json(home: &BarmanHome, args: &[&str]) -> (Value, Value) {
    let ours = json(&home.run(args).ok().stdout);
    let theirs = json(&home.run_python(args).unwrap().ok().stdout);
    (ours, theirs)
}

fn json(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

/// `WARNING:`/`ERROR:` lines of stderr (log lines differ in pid, time and logger name).
fn messages(stderr: &str) -> BTreeSet<String> {
    stderr
        .lines()
        .filter(|l| l.starts_with("WARNING: ") || l.starts_with("ERROR: "))
        .map(str::to_string)
        .collect()
}

#[test]
fn compare_list_servers_console_and_json() {
    require!(
        "Python Barman (scripts/python-barman)",
        python_barman::available()
    );
    let home = BarmanHome::new();
    configure(&home, 1);
    for args in [
        &["list-servers"][..],
        &["list-servers", "--minimal"],
        &["-f", "json", "list-servers"],
        &["-f", "json", "list-servers", "--minimal"],
        &["-q", "list-servers"],
    ] {
        let ours = home.run(args);
        let theirs = home.run_python(args).unwrap();
        assert_eq!(ours.code, theirs.code, "{args:?}");
        assert_eq!(ours.stdout, theirs.stdout, "{args:?}");
        assert_eq!(messages(&ours.stderr), messages(&theirs.stderr), "{args:?}");
    }
}

#[test]
fn compare_show_servers_configuration_without_postgres() {
    require!(
        "Python Barman (scripts/python-barman)",
        python_barman::available()
    );
    let home = BarmanHome::new();
    configure(&home, 1);
    // Inactive and passive servers have no remote status: the whole output is configuration.
    let (ours, theirs) = both_json(&home, &["-f", "json", "show-servers", "off", "passive"]);
    compare_show_servers(&ours, &theirs, &[]);
    // Console: every configuration line of ours is one of Python's.
    let ours = home.run(&["show-servers", "off", "passive"]).ok();
    let theirs = home
        .run_python(&["show-servers", "off", "passive"])
        .unwrap()
        .ok();
    assert_eq!(ours.stdout, theirs.stdout);
}

/// Keys whose values legitimately differ between two calls (positions and sizes move).
const VOLATILE: [&str; 8] = [
    "current_lsn",
    "current_size",
    "current_xlog",
    "xlogpos",
    "stats_reset",
    "last_archived_time",
    "replication_slot",
    "current_archived_wals_per_second",
];

fn compare_show_servers(ours: &Value, theirs: &Value, volatile: &[&str]) {
    let (ours, theirs) = (ours.as_object().unwrap(), theirs.as_object().unwrap());
    assert_eq!(
        ours.keys().collect::<BTreeSet<_>>(),
        theirs.keys().collect::<BTreeSet<_>>(),
        "servers and message lists"
    );
    for (server, theirs) in theirs {
        if server.starts_with('_') {
            assert_eq!(&ours[server], theirs, "{server}");
            continue;
        }
        let ours = ours[server].as_object().unwrap();
        let theirs = theirs.as_object().unwrap();
        let missing: Vec<_> = theirs.keys().filter(|k| !ours.contains_key(*k)).collect();
        let extra: Vec<_> = ours.keys().filter(|k| !theirs.contains_key(*k)).collect();
        assert!(
            missing.is_empty() && extra.is_empty(),
            "{server}: missing {missing:?}, extra {extra:?}"
        );
        for (key, value) in theirs {
            if volatile.contains(&key.as_str()) {
                continue;
            }
            assert_eq!(&ours[key], value, "{server}.{key}");
        }
    }
}

#[test]
fn compare_show_servers_with_a_real_postgres() {
    require!(
        "Python Barman (scripts/python-barman)",
        python_barman::available()
    );
    require!("PostgreSQL 15 binaries", pg_available());
    let pg = PgCluster::start(
        PgOptions::default()
            .set("archive_mode", "on")
            .set("archive_command", "'/bin/true'"),
    );
    pg.execute("SELECT pg_create_physical_replication_slot('barman_pg')");
    let home = BarmanHome::new();
    configure(&home, pg.port());
    let (ours, theirs) = both_json(&home, &["-f", "json", "show-servers", "pg", "pgr"]);
    compare_show_servers(&ours, &theirs, &VOLATILE);
    // Console: the same lines, but for the values that move between two calls.
    let stable = |text: &str| -> Vec<String> {
        text.lines()
            .filter(|l| !VOLATILE.iter().any(|k| l.starts_with(&format!("\t{k}: "))))
            .map(str::to_string)
            .collect()
    };
    let ours = home.run(&["show-servers", "all"]).ok();
    let theirs = home.run_python(&["show-servers", "all"]).unwrap().ok();
    assert_eq!(stable(&ours.stdout), stable(&theirs.stdout));
    // diagnose reports the same remote status with JSON-native types.
    let (ours, theirs) = both_json(&home, &["diagnose"]);
    for server in ["pg", "pgr"] {
        let (ours, theirs) = (
            &ours["servers"][server]["status"],
            &theirs["servers"][server]["status"],
        );
        let keys = |v: &Value| {
            v.as_object()
                .unwrap()
                .keys()
                .cloned()
                .collect::<BTreeSet<_>>()
        };
        assert_eq!(keys(ours), keys(theirs), "{server} status keys");
        for (key, value) in theirs.as_object().unwrap() {
            if !VOLATILE.contains(&key.as_str()) {
                assert_eq!(&ours[key], value, "{server}.status.{key}");
            }
        }
    }
}

#[test]
fn compare_diagnose_reports() {
    require!(
        "Python Barman (scripts/python-barman)",
        python_barman::available()
    );
    let home = BarmanHome::new();
    configure(&home, 1);
    for args in [&["diagnose"][..], &["diagnose", "--show-config-source"]] {
        let (ours, theirs) = both_json(&home, args);
        assert_eq!(
            ours["global"]["config"], theirs["global"]["config"],
            "{args:?} global.config"
        );
        assert_eq!(ours["models"], theirs["models"], "{args:?} models");
        let their_info: BTreeSet<_> = theirs["global"]["system_info"]
            .as_object()
            .unwrap()
            .keys()
            .collect();
        let our_info: BTreeSet<_> = ours["global"]["system_info"]
            .as_object()
            .unwrap()
            .keys()
            .collect();
        assert_eq!(our_info, their_info, "system_info keys");
        for (name, theirs) in theirs["servers"].as_object().unwrap() {
            let ours = &ours["servers"][name];
            for part in ["config", "msg_list", "active_model", "backups", "wals"] {
                // Python's get_remote_status may override config keys (e.g. pg server's)
                assert_eq!(ours[part], theirs[part], "{args:?} servers.{name}.{part}");
            }
        }
    }
    // Under -f json the report is one string in _INFO, as Barman prints it.
    let ours = json(&home.run(&["-f", "json", "diagnose"]).ok().stdout);
    let inner = json(ours["_INFO"][0].as_str().unwrap());
    assert!(inner["servers"]["pg"]["backups"].as_object().unwrap().len() == 3);
}

#[test]
fn compare_errors_for_unknown_and_mixed_server_names() {
    require!(
        "Python Barman (scripts/python-barman)",
        python_barman::available()
    );
    let home = BarmanHome::new();
    configure(&home, 1);
    for args in [
        &["show-servers", "nosuch"][..],
        &["-f", "json", "show-servers", "nosuch"],
        &["show-servers", "off", "all"],
    ] {
        let ours = home.run(args);
        let theirs = home.run_python(args).unwrap();
        assert_eq!(ours.code, theirs.code, "{args:?}");
        assert_eq!(messages(&ours.stderr), messages(&theirs.stderr), "{args:?}");
        if args.contains(&"json") {
            assert_eq!(json(&ours.stdout), json(&theirs.stdout), "{args:?}");
        }
    }
}
