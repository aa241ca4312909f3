//! `diagnose` (console and `-f json`) compared with Python Barman 3.20.1 on the same
//! configuration: a postgres-method server streaming with a replication slot on a real
//! cluster, and an rsync server reached over a real sshd with a password in its conninfo.
//! Both reports must parse, and match key for key and type for type at every level; values
//! too, but for the few that legitimately differ (below).

use crate::harness::pg_cluster::{pg_available, PgOptions};
use crate::harness::sshd::ssh_available;
use crate::harness::{python_barman, BarmanHome, PgCluster, Sshd};
use crate::require;
use serde_json::Value;

const FIXTURES: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/barman-3.20/catalog"
);

/// Keys whose values differ between the two programs or between two runs: the time of the
/// report, what runs it (Python vs our binary), and the positions and sizes PostgreSQL
/// moves between the two calls. Their types must still match.
const DIFFERENT_VALUES: [&str; 9] = [
    "timestamp",
    "python_ver",
    "python_executable",
    "current_lsn",
    "current_xlog",
    "xlogpos",
    "current_size",
    "current_archived_wals_per_second",
    "last_archived_time",
];

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(n) if n.is_f64() => "float",
        Value::Number(_) => "int",
        Value::String(_) => "str",
        Value::Array(_) => "list",
        Value::Object(_) => "dict",
    }
}

/// Compare `ours` with `theirs` recursively; `skip` lists keys whose values may differ.
fn compare(path: &str, ours: &Value, theirs: &Value, skip: &[&str], problems: &mut Vec<String>) {
    if kind(ours) != kind(theirs) {
        problems.push(format!(
            "{path}: {} vs Python's {}: {ours} / {theirs}",
            kind(ours),
            kind(theirs)
        ));
        return;
    }
    match (ours, theirs) {
        (Value::Object(a), Value::Object(b)) => {
            for key in b.keys().filter(|k| !a.contains_key(*k)) {
                problems.push(format!("{path}.{key}: missing"));
            }
            for key in a.keys().filter(|k| !b.contains_key(*k)) {
                problems.push(format!("{path}.{key}: not in Python's report"));
            }
            for (key, theirs) in b {
                if let Some(ours) = a.get(key) {
                    let sub = format!("{path}.{key}");
                    if skip.contains(&key.as_str()) && !ours.is_object() {
                        if kind(ours) != kind(theirs) && !theirs.is_null() && !ours.is_null() {
                            problems.push(format!("{sub}: {} vs {}", kind(ours), kind(theirs)));
                        }
                    } else {
                        compare(&sub, ours, theirs, skip, problems);
                    }
                }
            }
        }
        (Value::Array(a), Value::Array(b)) if a.len() == b.len() => {
            for (i, (ours, theirs)) in a.iter().zip(b).enumerate() {
                compare(&format!("{path}[{i}]"), ours, theirs, skip, problems);
            }
        }
        _ if ours != theirs => problems.push(format!("{path}: {ours} vs Python's {theirs}")),
        _ => {}
    }
}

fn parse(what: &str, text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("{what} is not JSON ({e}):\n{text}"))
}

/// The report of `diagnose` (console) or the string inside `_INFO` (`-f json`).
fn report(what: &str, stdout: &str, json_mode: bool) -> Value {
    if !json_mode {
        return parse(what, stdout);
    }
    let outer = parse(what, stdout);
    let inner = outer["_INFO"][0]
        .as_str()
        .unwrap_or_else(|| panic!("{what}: no _INFO string: {stdout}"));
    parse(what, inner)
}

fn configure(home: &BarmanHome, pg: &PgCluster, sshd: &Sshd) {
    let port = pg.port();
    home.write_config(
        "",
        &[
            (
                "pg",
                &format!(
                    "conninfo = host=127.0.0.1 port={port} user=postgres dbname=postgres\n\
                     streaming_conninfo = host=127.0.0.1 port={port} user=postgres\n\
                     backup_method = postgres\nstreaming_archiver = on\n\
                     slot_name = barman_pg\ncompression = gzip\n"
                ),
            ),
            (
                "pw",
                &format!(
                    "conninfo = host=127.0.0.1 port={port} user=postgres password=secret\n\
                     backup_method = rsync\narchiver = on\nssh_command = {}\n",
                    sshd.ssh_command()
                ),
            ),
        ],
    );
    // Backups and WALs Python Barman wrote, so times and sizes are reported too.
    let (meta, wals) = (home.home().join("pg/meta"), home.home().join("pg/wals"));
    std::fs::create_dir_all(&meta).unwrap();
    std::fs::create_dir_all(wals.join("0000000100000000")).unwrap();
    for id in ["20261124T004001", "20261124T004434"] {
        let from = format!("{FIXTURES}/pg-{id}-backup.info");
        std::fs::copy(from, meta.join(format!("{id}-backup.info"))).unwrap();
    }
    std::fs::copy(format!("{FIXTURES}/pg-xlog.db"), wals.join("pg-xlog.db")).unwrap();
}

#[test]
fn diagnose_matches_python_barman_key_for_key_and_type_for_type() {
    require!(python_barman::REQUIREMENT, python_barman::available());
    require!("PostgreSQL 15 binaries", pg_available());
    require!("sshd", ssh_available());
    let pg = PgCluster::start(
        PgOptions::default()
            .archive_mode("on")
            .archive_command("'/bin/true'"),
    );
    pg.execute("SELECT pg_create_physical_replication_slot('barman_pg')");
    let sshd = Sshd::start("postgres");
    let home = BarmanHome::new();
    configure(&home, &pg, &sshd);
    for args in [&["diagnose"][..], &["-f", "json", "diagnose"]] {
        let json_mode = args.len() == 3;
        let ours = home.run(args).ok();
        let theirs = home.run_python(args).unwrap().ok();
        let ours = report(&format!("our {args:?}"), &ours.stdout, json_mode);
        let theirs = report(&format!("Python's {args:?}"), &theirs.stdout, json_mode);
        // Python prints the password under -f json (its JSON writer does not redact); we
        // never print it.
        let mut skip = DIFFERENT_VALUES.to_vec();
        if json_mode {
            skip.extend(["conninfo", "streaming_conninfo"]);
        }
        let mut problems = Vec::new();
        compare("", &ours, &theirs, &skip, &mut problems);
        assert!(problems.is_empty(), "{args:?}:\n{}", problems.join("\n"));
        let pw = &ours["servers"]["pw"];
        assert_eq!(
            pw["config"]["conninfo"],
            "host=127.0.0.1 port=".to_string()
                + &pg.port().to_string()
                + " user=postgres password=*REDACTED*"
        );
        assert!(!ours.to_string().contains("secret"), "{args:?}");
        assert!(pw["system_info"]["kernel_ver"]
            .as_str()
            .is_some_and(|k| !k.is_empty()));
        assert_eq!(
            ours["servers"]["pg"]["status"]["replication_slot"],
            serde_json::json!(["barman_pg", false, null])
        );
    }
}
