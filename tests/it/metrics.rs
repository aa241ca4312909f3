//! `barman metrics` and `cron`'s `metrics_file`: the text is read back with a real
//! Prometheus parser (Python's `prometheus_client`, installed in the comparison venv by
//! `scripts/python-barman`) and every figure is checked against the catalog it describes.

use crate::archive_wal::{archiving_cluster, generate_wal};
use crate::harness::pg_cluster::pg_available;
use crate::harness::{python_barman, BarmanHome, PgCluster};
use crate::require;
use serde_json::Value;
use std::collections::BTreeMap;
use std::io::Write;
use std::process::{Command, Stdio};

/// Samples keyed by `name{label=value,...}` (labels sorted, `server` included).
type Samples = BTreeMap<String, f64>;

/// Parse exposition text with prometheus_client; a malformed text fails the test.
fn parse(text: &str) -> Samples {
    let python = python_barman::venv_tool("python").expect("the comparison venv's python");
    let script = "import sys, json\n\
        from prometheus_client.parser import text_string_to_metric_families\n\
        out = []\n\
        for family in text_string_to_metric_families(sys.stdin.read()):\n\
        \x20   assert family.type == 'gauge', family\n\
        \x20   for s in family.samples:\n\
        \x20       out.append([s.name, s.labels, s.value])\n\
        print(json.dumps(out))\n";
    let mut child = Command::new(python)
        .args(["-c", script])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let done = child.wait_with_output().unwrap();
    assert!(
        done.status.success(),
        "prometheus_client refused:\n{text}\n{}",
        String::from_utf8_lossy(&done.stderr)
    );
    let parsed: Vec<(String, BTreeMap<String, String>, f64)> =
        serde_json::from_slice(&done.stdout).unwrap();
    parsed
        .into_iter()
        .map(|(name, labels, value)| {
            let labels: Vec<String> = labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
            (format!("{name}{{{}}}", labels.join(",")), value)
        })
        .collect()
}

fn get(samples: &Samples, key: &str) -> f64 {
    *samples
        .get(key)
        .unwrap_or_else(|| panic!("no {key} in {samples:#?}"))
}

fn lab() -> (BarmanHome, PgCluster) {
    let home = BarmanHome::new();
    let command = crate::harness::incoming_archive_command(&home);
    let pg = archiving_cluster(&command);
    home.write_config(
        &format!("log_file = {}", home.dir().join("barman.log").display()),
        &[(
            "pg",
            &format!(
                "conninfo = {c}\nstreaming_conninfo = {c}\nbackup_method = postgres\narchiver = on\n\
                 immediate_checkpoint = true\nretention_policy = REDUNDANCY 1\nminimum_redundancy = 1",
                c = pg.conninfo()
            ),
        )],
    );
    (home, pg)
}

fn xlog_db(home: &BarmanHome) -> Vec<(String, u64)> {
    let text = std::fs::read_to_string(home.server_dir("pg").join("wals/pg-xlog.db")).unwrap();
    text.lines()
        .map(|l| {
            let cols: Vec<&str> = l.split('\t').collect();
            (cols[0].to_string(), cols[1].parse().unwrap())
        })
        .collect()
}

#[test]
fn metrics_of_a_live_server_parse_and_match_its_catalog() {
    require!("PostgreSQL 15", pg_available());
    require!(python_barman::REQUIREMENT, python_barman::available());
    let (home, pg) = lab();
    home.run(&["backup", "pg"]).ok();
    home.run(&["backup", "pg"]).ok();
    generate_wal(&pg, 3);
    home.run(&["archive-wal", "pg"]).ok();
    std::fs::write(home.server_dir("pg").join("errors/junk.error"), "x").unwrap();

    let run = home.run(&["metrics"]).ok();
    let m = parse(&run.stdout);
    let list: Value =
        serde_json::from_str(&home.run(&["-f", "json", "list-backups", "pg"]).ok().stdout).unwrap();
    let newest = &list["pg"][0];
    let id = newest["backup_id"].as_str().unwrap();
    let info =
        std::fs::read_to_string(home.server_dir("pg").join(format!("meta/{id}-backup.info")))
            .unwrap();
    let field = |key: &str| {
        info.lines()
            .find_map(|l| l.strip_prefix(&format!("{key}=")))
            .unwrap()
            .to_string()
    };
    assert_eq!(get(&m, "barman_backups{server=pg,status=DONE}"), 2.0);
    assert_eq!(get(&m, "barman_server_active{server=pg}"), 1.0);
    assert_eq!(get(&m, "barman_server_passive{server=pg}"), 0.0);
    assert_eq!(
        get(&m, "barman_last_backup_size_bytes{server=pg}"),
        field("size").parse::<f64>().unwrap()
    );
    let end = newest["end_time_timestamp"]
        .as_str()
        .unwrap()
        .parse::<f64>()
        .unwrap();
    assert!((get(&m, "barman_last_backup_end_timestamp_seconds{server=pg}") - end).abs() < 1.0);
    let age = get(&m, "barman_last_backup_age_seconds{server=pg}");
    assert!((0.0..600.0).contains(&age), "{age}");
    assert!(get(&m, "barman_last_backup_duration_seconds{server=pg}") >= 0.0);
    // REDUNDANCY 1 over two backups: the older one is obsolete.
    assert_eq!(get(&m, "barman_backups_obsolete{server=pg}"), 1.0);
    assert_eq!(
        get(&m, "barman_minimum_redundancy_satisfied{server=pg}"),
        1.0
    );
    let wals = xlog_db(&home);
    assert!(wals.len() >= 3, "{wals:?}");
    assert_eq!(get(&m, "barman_wal_files{server=pg}"), wals.len() as f64);
    assert_eq!(
        get(&m, "barman_disk_usage_bytes{kind=wals,server=pg}"),
        wals.iter().map(|(_, s)| *s).sum::<u64>() as f64
    );
    assert_eq!(
        get(&m, "barman_wal_archived_last_hour{server=pg}"),
        wals.len() as f64
    );
    let lag = get(&m, "barman_wal_archive_lag_seconds{server=pg}");
    assert!((0.0..600.0).contains(&lag), "{lag}");
    assert_eq!(get(&m, "barman_wal_errors{server=pg}"), 1.0);
    assert!(!m.keys().any(|k| k.starts_with("barman_passive_last_sync")));
}

/// A catalog with one DONE and one FAILED backup, no PostgreSQL needed.
fn offline_home(metrics_file: &std::path::Path) -> BarmanHome {
    let home = BarmanHome::new();
    home.write_config(
        &format!("metrics_file = {}\nlog_file = /dev/null", metrics_file.display()),
        &[
            ("pg", "conninfo = host=/nonexistent\nssh_command = ssh x\nbackup_options = concurrent_backup"),
            ("quiet", "conninfo = host=/nonexistent\nssh_command = ssh x\nbackup_options = concurrent_backup\nactive = false"),
        ],
    );
    for server in ["pg", "quiet"] {
        for dir in ["base", "wals", "incoming", "errors", "streaming", "meta"] {
            std::fs::create_dir_all(home.server_dir(server).join(dir)).unwrap();
        }
    }
    home
}

fn write_backup(home: &BarmanHome, id: &str, status: &str, size: u64) {
    let dir = home.server_dir("pg").join(format!("base/{id}"));
    std::fs::create_dir_all(dir.join("data")).unwrap();
    let info = format!(
        "backup_label=None\nbegin_offset=40\nbegin_time=2026-01-01 10:00:00+00:00\n\
         begin_wal=000000010000000000000002\nbegin_xlog=0/2000028\nchildren_backup_ids=None\n\
         compression=None\nconfig_file=/srv/pg/postgresql.conf\ndeduplicated_size={size}\n\
         encryption=None\nend_offset=256\nend_time=2026-01-01 10:02:30+00:00\n\
         end_wal=000000010000000000000002\nend_xlog=0/2000100\nerror=None\n\
         hba_file=/srv/pg/pg_hba.conf\nident_file=/srv/pg/pg_ident.conf\nmode=rsync-concurrent\n\
         parent_backup_id=None\npgdata=/srv/pg/data\nserver_name=pg\nsize={size}\n\
         status={status}\nsystemid=7711537136028797555\ntablespaces=None\ntimeline=1\n\
         version=150018\nxlog_segment_size=16777216\n"
    );
    std::fs::write(dir.join("backup.info"), info).unwrap();
}

#[test]
fn cron_rewrites_the_metrics_file_with_what_it_did() {
    require!(python_barman::REQUIREMENT, python_barman::available());
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("barman.prom");
    let home = offline_home(&file);
    write_backup(&home, "20260101T100000", "DONE", 4096);
    home.run(&["-q", "cron"]).ok();
    let m = parse(&std::fs::read_to_string(&file).unwrap());
    assert_eq!(get(&m, "barman_backups{server=pg,status=DONE}"), 1.0);
    assert_eq!(
        get(&m, "barman_last_backup_duration_seconds{server=pg}"),
        150.0
    );
    assert_eq!(get(&m, "barman_last_backup_size_bytes{server=pg}"), 4096.0);
    assert_eq!(get(&m, "barman_server_active{server=quiet}"), 0.0);
    assert_eq!(get(&m, "barman_wal_files{server=pg}"), 0.0);
    // No backup, no archived WAL: those figures are absent, not zero.
    assert!(!m.contains_key("barman_last_backup_age_seconds{server=quiet}"));
    assert!(!m.contains_key("barman_wal_archive_lag_seconds{server=pg}"));
    // No retention policy: nothing is obsolete, and the metric says it cannot tell.
    assert!(!m.keys().any(|k| k.starts_with("barman_backups_obsolete")));

    write_backup(&home, "20260102T100000", "FAILED", 0);
    home.run(&["-q", "cron"]).ok();
    let m = parse(&std::fs::read_to_string(&file).unwrap());
    assert_eq!(get(&m, "barman_backups{server=pg,status=FAILED}"), 1.0);
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(
        leftovers,
        vec!["barman.prom"],
        "written atomically, no temp left"
    );
}

#[test]
fn metrics_names_unknown_servers_and_reports_an_unwritable_file() {
    let home = offline_home(std::path::Path::new("/nonexistent/dir/barman.prom"));
    let run = home.run(&["metrics", "nosuch", "pg"]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stderr.contains("Unknown server 'nosuch'"),
        "{}",
        run.stderr
    );
    assert!(
        run.stdout
            .contains("barman_server_active{server=\"pg\"} 1\n"),
        "{}",
        run.stdout
    );
    let run = home.run(&["-q", "cron"]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stderr
            .contains("cannot write metrics_file /nonexistent/dir/barman.prom"),
        "{}",
        run.stderr
    );
}
