//! Unit tests of configuration building: inheritance, defaults, models, disabling rules.

use super::*;

fn build_one(text: &str) -> Result<Config, ConfigError> {
    build_files(&[("/etc/barman.conf", text)])
}

fn build_files(files: &[(&str, &str)]) -> Result<Config, ConfigError> {
    let texts: Vec<ConfigText> = files
        .iter()
        .map(|(p, t)| ConfigText {
            path: p.to_string(),
            text: t.to_string(),
        })
        .collect();
    build(&texts, &BTreeMap::new(), &|p| p.to_string())
}

const GLOBAL: &str = "[barman]\nbarman_home = /var/lib/barman\n";

fn server_text(extra: &str) -> String {
    format!("{GLOBAL}[pg]\nconninfo = host=pg\nssh_command = ssh pg\narchiver = on\n{extra}")
}

#[test]
fn config_derives_directories_from_barman_home() {
    let config = build_one(&server_text("")).unwrap();
    let pg = &config.servers["pg"];
    assert_eq!(pg.backup_dir(), "/var/lib/barman/pg");
    assert_eq!(pg.basebackups_dir(), "/var/lib/barman/pg/base");
    assert_eq!(pg.wals_dir(), "/var/lib/barman/pg/wals");
    assert_eq!(pg.incoming_dir(), "/var/lib/barman/pg/incoming");
    assert_eq!(pg.streaming_dir(), "/var/lib/barman/pg/streaming");
    assert_eq!(pg.errors_dir(), "/var/lib/barman/pg/errors");
    assert_eq!(pg.xlogdb_dir(), "/var/lib/barman/pg/wals");
    assert_eq!(pg.cluster(), Some("pg"));
    assert_eq!(pg.streaming_conninfo(), Some("host=pg"));
}

#[test]
fn config_cloud_wals_keep_the_xlog_db_in_meta_unless_moved() {
    let config = build_one(&server_text("wals_directory = s3://bkt/pfx\n")).unwrap();
    let pg = &config.servers["pg"];
    assert!(pg.uses_wal_cloud_storage());
    assert_eq!(pg.xlogdb_location(), "/var/lib/barman/pg/meta");
    let config = build_one(&server_text(
        "wals_directory = s3://bkt/pfx\nxlogdb_directory = /srv/x\n",
    ))
    .unwrap();
    assert_eq!(config.servers["pg"].xlogdb_location(), "/srv/x");
    let local = build_one(&server_text("")).unwrap();
    assert_eq!(
        local.servers["pg"].xlogdb_location(),
        "/var/lib/barman/pg/wals"
    );
}

#[test]
fn config_custom_backup_directory_moves_derived_ones() {
    let config = build_one(&server_text(
        "backup_directory = /srv/b\nwals_directory = /srv/w\n",
    ))
    .unwrap();
    let pg = &config.servers["pg"];
    assert_eq!(pg.basebackups_dir(), "/srv/b/base");
    assert_eq!(pg.xlogdb_dir(), "/srv/w");
}

#[test]
fn config_inherits_from_barman_section_but_not_keepalive() {
    let text = format!(
        "{GLOBAL}compression = gzip\nkeepalive_interval = 5\n[pg]\nconninfo = x\nssh_command = s\n"
    );
    let config = build_one(&text).unwrap();
    let pg = &config.servers["pg"];
    assert_eq!(pg.compression(), Some("gzip"));
    assert_eq!(pg.keepalive_interval(), Some(60));
    assert_eq!(pg.source("compression"), Some("/etc/barman.conf"));
    // Barman names [barman]'s file even for a key servers do not inherit from it.
    assert_eq!(pg.source("keepalive_interval"), Some("/etc/barman.conf"));
    assert_eq!(pg.source("parallel_jobs"), None);
}

#[test]
fn config_none_blocks_inheritance() {
    let text = format!(
        "{GLOBAL}compression = gzip\n[pg]\nconninfo = x\nssh_command = s\ncompression = None\n"
    );
    let config = build_one(&text).unwrap();
    assert_eq!(config.servers["pg"].compression(), None);
}

#[test]
fn config_strips_one_pair_of_quotes() {
    let config = build_one(&server_text("description = \" Text with quotes \"\n")).unwrap();
    assert_eq!(
        config.servers["pg"].description(),
        Some(" Text with quotes ")
    );
}

#[test]
fn config_unparsable_value_is_an_error_naming_everything() {
    let err = build_one(&server_text("parallel_jobs = many\n")).unwrap_err();
    assert_eq!(
        err.0,
        "/etc/barman.conf:7: [pg] parallel_jobs = 'many': invalid literal for int() with base 10: 'many'"
    );
}

#[test]
fn config_bad_retention_policy_is_an_error() {
    let err = build_one(&server_text("retention_policy = KEEP 3\n")).unwrap_err();
    assert!(
        err.0.starts_with(
            "/etc/barman.conf:7: [pg] retention_policy = 'KEEP 3': unknown retention policy syntax"
        ),
        "{}",
        err.0
    );
}

#[test]
fn config_retention_policy_becomes_an_object_with_main_wal_policy() {
    let config = build_one(&server_text(
        "retention_policy = recovery window of 2 weeks\n",
    ))
    .unwrap();
    let pg = &config.servers["pg"];
    assert_eq!(
        pg.get("retention_policy").unwrap().python_str(),
        "RECOVERY WINDOW OF 2 WEEKS"
    );
    assert_eq!(pg.get("wal_retention_policy").unwrap().python_str(), "MAIN");
}

#[test]
fn config_without_retention_policy_keeps_lowercase_main() {
    let config = build_one(&server_text("")).unwrap();
    assert_eq!(
        config.servers["pg"]
            .get("wal_retention_policy")
            .unwrap()
            .python_str(),
        "main"
    );
}

#[test]
fn config_server_named_all_is_fatal() {
    let err = build_one(&format!("{GLOBAL}[all]\nconninfo = x\n")).unwrap_err();
    assert_eq!(
        err.0,
        "FATAL: the reserved word 'all' is not allowed as server name.Please rename it."
    );
}

#[test]
fn config_server_defined_in_two_files_is_an_error() {
    let err = build_files(&[
        ("/etc/barman.conf", &server_text("")),
        ("/etc/barman.d/pg.conf", "[pg]\nactive = true\n"),
    ])
    .unwrap_err();
    assert_eq!(
        err.0,
        "/etc/barman.d/pg.conf: [pg] server 'pg' is defined twice (first in /etc/barman.conf)"
    );
}

#[test]
fn config_auto_conf_may_extend_a_server() {
    let config = build_files(&[
        ("/etc/barman.conf", &server_text("")),
        (
            "/var/lib/barman/.barman.auto.conf",
            "[pg]\nparallel_jobs = 3\n",
        ),
    ])
    .unwrap();
    assert_eq!(config.servers["pg"].parallel_jobs(), Some(3));
}

#[test]
fn config_barman_section_in_include_is_fatal_unless_identical() {
    let err = build_files(&[
        ("/etc/barman.conf", GLOBAL),
        ("/etc/barman.d/x.conf", "[barman]\nlog_level = DEBUG\n"),
    ])
    .unwrap_err();
    assert_eq!(
        err.0,
        "FATAL: the configuration file x.conf contains a not empty [barman] section"
    );
    assert!(build_files(&[
        ("/etc/barman.conf", GLOBAL),
        ("/etc/barman.d/x.conf", "[barman]\n")
    ])
    .is_ok());
}

#[test]
fn config_missing_barman_home_is_an_error() {
    let err = build_one("[barman]\nlog_level = INFO\n").unwrap_err();
    assert!(
        err.0
            .contains("Parameter \"barman_home\" is required in [barman] section."),
        "{}",
        err.0
    );
}

#[test]
fn config_unknown_keys_warn_like_barman() {
    let config = build_one(&format!("{GLOBAL}log_format = %%(message)s\nfoo = 1\n[pg]\nconninfo = x\nssh_command = s\nbar = 2\n")).unwrap();
    assert!(config
        .warnings
        .contains(&"Invalid configuration option \"foo\" in [barman] section.".to_string()));
    assert!(config
        .warnings
        .contains(&"Invalid configuration option \"log_format\" in [barman] section.".to_string()));
    assert!(config
        .warnings
        .contains(&"Invalid configuration option \"bar\" in [pg] section.".to_string()));
    assert_eq!(config.global.log_format, "%(message)s");
}

#[test]
fn config_missing_conninfo_disables_the_server() {
    let config = build_one(&format!("{GLOBAL}[pg]\nssh_command = s\narchiver = on\n")).unwrap();
    let pg = &config.servers["pg"];
    assert!(pg.disabled());
    assert_eq!(
        pg.msg_list,
        vec!["PostgreSQL connection: Missing 'conninfo' parameter for server 'pg'"]
    );
}

#[test]
fn config_rsync_without_ssh_command_is_disabled() {
    let config = build_one(&format!("{GLOBAL}[pg]\nconninfo = x\narchiver = on\n")).unwrap();
    assert_eq!(
        config.servers["pg"].msg_list,
        vec!["Missing or invalid ssh_command in barman configuration for server pg"]
    );
}

#[test]
fn config_no_archiver_forces_archiver_on_with_warnings() {
    let config = build_one(&format!(
        "{GLOBAL}[pg]\nconninfo = x\nssh_command = s\nbackup_options = concurrent_backup\n"
    ))
    .unwrap();
    assert!(config.servers["pg"].archiver());
    assert_eq!(
        config.servers["pg"].warnings,
        vec![
            "No archiver enabled for server 'pg'. Please turn on 'archiver', 'streaming_archiver' or both".to_string(),
            "Forcing 'archiver = on'".to_string()
        ]
    );
}

#[test]
fn config_streaming_only_without_slot_is_disabled() {
    let config = build_one(&format!(
        "{GLOBAL}[pg]\nconninfo = x\nbackup_method = postgres\nstreaming_archiver = on\n"
    ))
    .unwrap();
    assert_eq!(
        config.servers["pg"].msg_list,
        vec!["Streaming-only archiver requires 'streaming_conninfo' and 'slot_name' options to be properly configured"]
    );
}

#[test]
fn config_rsync_default_backup_strategy_warns() {
    let config = build_one(&server_text("")).unwrap();
    assert_eq!(
        config.servers["pg"]
            .get("backup_options")
            .unwrap()
            .python_str(),
        "BackupOptions({'concurrent_backup'})"
    );
    assert_eq!(
        config.servers["pg"].warnings,
        vec!["No backup strategy set for server 'pg' (using default 'concurrent_backup')."]
    );
}

#[test]
fn config_inactive_and_passive_servers_skip_server_rules() {
    let text = format!("{GLOBAL}[off]\nactive = false\n[p]\nprimary_ssh_command = ssh b\n");
    let config = build_one(&text).unwrap();
    assert!(!config.servers["off"].disabled());
    assert!(config.servers["p"].passive_node());
    assert!(!config.servers["p"].disabled());
    assert_eq!(
        config.servers["off"]
            .get("backup_options")
            .unwrap()
            .python_str(),
        "BackupOptions()"
    );
}

#[test]
fn config_conflicting_paths_within_and_across_servers() {
    let text = format!(
        "{GLOBAL}[a]\nconninfo = x\nssh_command = s\narchiver = on\nwals_directory = /var/lib/barman/a/base\n\
         [b]\nconninfo = x\nssh_command = s\narchiver = on\nbackup_directory = /var/lib/barman/a\n"
    );
    let config = build_one(&text).unwrap();
    assert!(config.servers["a"].disabled());
    assert_eq!(
        config.servers["a"].msg_list,
        vec!["Conflicting path: wals_directory=/var/lib/barman/a/base conflicts with 'basebackups_directory' for server 'a'"]
    );
    assert!(config.errors_list.contains(
        &"Conflicting path: backup_directory=/var/lib/barman/a for server 'b' conflicts with 'backup_directory' for server 'a'".to_string()
    ));
}

#[test]
fn config_models_are_separate_and_applied_when_active() {
    let text = format!(
        "{}[pg:fast]\nmodel = true\ncluster = pg\nparallel_jobs = 4\n",
        server_text("")
    );
    let files = [ConfigText {
        path: "/etc/barman.conf".into(),
        text,
    }];
    let mut active = BTreeMap::new();
    active.insert("pg".to_string(), "pg:fast\n".to_string());
    let config = build(&files, &active, &|p| p.to_string()).unwrap();
    assert!(config.models.contains_key("pg:fast"));
    assert!(!config.servers.contains_key("pg:fast"));
    let pg = &config.servers["pg"];
    assert_eq!(pg.parallel_jobs(), Some(4));
    assert_eq!(pg.active_model(), Some("pg:fast"));
}

#[test]
fn config_unknown_active_model_disables_the_server() {
    let files = [ConfigText {
        path: "/etc/barman.conf".into(),
        text: server_text(""),
    }];
    let mut active = BTreeMap::new();
    active.insert("pg".to_string(), "ghost".to_string());
    let config = build(&files, &active, &|p| p.to_string()).unwrap();
    assert_eq!(
        config.servers["pg"].msg_list,
        vec!["Model 'ghost' is set as the active model for the server 'pg' but the model does not exist."]
    );
}

#[test]
fn config_items_cover_every_key_plus_name() {
    let config = build_one(&server_text("")).unwrap();
    let items = config.servers["pg"].items();
    assert_eq!(items.len(), 123);
    assert!(items.windows(2).all(|w| w[0].0 < w[1].0));
}

#[test]
fn config_empty_typed_value_falls_back_with_barmans_warning() {
    let config = build_one(&server_text("parallel_jobs =\n")).unwrap();
    assert_eq!(config.servers["pg"].parallel_jobs(), Some(1));
    assert!(config.warnings.iter().any(|w| w.starts_with(
        "Ignoring invalid configuration value '' for key parallel_jobs in [pg] section"
    )));
}

#[test]
fn config_minimum_redundancy_must_be_a_non_negative_integer() {
    assert_eq!(
        build_one(&server_text("minimum_redundancy = 2\n"))
            .unwrap()
            .servers["pg"]
            .minimum_redundancy_count(),
        2
    );
    let err = build_one(&server_text("minimum_redundancy = -1\n")).unwrap_err();
    assert!(
        err.0.contains("[pg] minimum_redundancy = '-1'"),
        "{}",
        err.0
    );
}

#[test]
fn config_global_defaults() {
    let config = build_one(GLOBAL).unwrap();
    assert_eq!(config.global.barman_user, "barman");
    assert_eq!(config.global.barman_lock_directory, "/var/lib/barman");
    assert_eq!(
        config.global.config_changes_queue,
        "/var/lib/barman/cfg_changes.queue"
    );
    assert!(config.global.lock_directory_cleanup);
    assert_eq!(config.global.log_level, "INFO");
}

/// Hook scripts are looked up by a key built from `HookId`: each such key must be an option
/// of the table, or the lookup would silently find nothing.
#[test]
fn every_hook_key_is_an_option() {
    use crate::core::hooks::{HookFamily, HookId, Phase};
    let families = [
        HookFamily::Backup,
        HookFamily::Archive,
        HookFamily::Delete,
        HookFamily::Recovery,
        HookFamily::WalDelete,
    ];
    let mut checked = 0;
    for family in families {
        for phase in [Phase::Pre, Phase::Post] {
            for hook in HookId::sequence(family, phase) {
                let key = hook.config_key();
                assert!(options::server_option(&key).is_some(), "{key}");
                checked += 1;
            }
        }
    }
    assert_eq!(checked, 20);
}

/// The generated accessors read the option they are named after, typed by its kind.
#[test]
fn typed_accessors_read_their_option() {
    let config = build_one(
        "[barman]\nbarman_home = /b\n[pg]\nconninfo = host=pg\nssh_command = ssh pg\n\
         parallel_jobs = 3\nnetwork_compression = on\nbackup_options = concurrent_backup\n\
         last_backup_maximum_age = 2 days\npre_backup_script = /bin/true\n",
    )
    .unwrap();
    let pg = &config.servers["pg"];
    assert_eq!(pg.conninfo(), Some("host=pg"));
    assert_eq!(pg.parallel_jobs(), Some(3));
    assert!(pg.network_compression());
    assert_eq!(pg.backup_options(), ["concurrent_backup".to_string()]);
    assert_eq!(pg.last_backup_maximum_age(), Some(2 * 86400));
    assert_eq!(pg.streaming_conninfo(), Some("host=pg"));
    assert_eq!(pg.method(), "rsync");
    assert_eq!(pg.wals_dir(), "/b/pg/wals");
}
