//! `restore` arguments: the backup to restore (an id, a name, a shortcut, or `auto` chosen
//! from the target), and the checks Barman's `cli.restore` and `_set_pitr_targets` make
//! before anything is copied.

use crate::adapters::catalog::store;
use crate::commands::backup::{CopyTuning, CopyTuningOverrides};
use crate::commands::catalog::ServerCatalog;
use crate::core::backup_id::BackupId;
use crate::core::backup_info::BackupInfo;
use crate::core::backup_info::Field;
use crate::core::backup_record::python_datetime;
use crate::core::config::ServerConfig;
use crate::core::lsn::Lsn;
use crate::core::pg_version::PgVersion;
use crate::core::recovery::Targets;
use crate::core::timeline::TimelineId;
use crate::core::wal_name::WalSegmentName;
use crate::output::Output;
use chrono::{DateTime, FixedOffset, NaiveDateTime, TimeZone};
use std::collections::BTreeMap;

/// What the command line asked for.
#[derive(Debug, Clone, Default)]
pub struct RestoreOptions {
    /// Server name.
    pub server: String,
    /// Backup id, name, shortcut or `auto`.
    pub backup_id: String,
    /// Destination directory.
    pub destination: String,
    /// `--target-tli`.
    pub target_tli: Option<String>,
    /// `--target-time`.
    pub target_time: Option<String>,
    /// `--target-xid`.
    pub target_xid: Option<String>,
    /// `--target-lsn`.
    pub target_lsn: Option<String>,
    /// `--target-name`.
    pub target_name: Option<String>,
    /// `--target-immediate`.
    pub target_immediate: bool,
    /// `--exclusive`.
    pub exclusive: bool,
    /// `--tablespace NAME:LOCATION` rules.
    pub tablespaces: Vec<String>,
    /// `--remote-ssh-command`.
    pub remote_ssh_command: Option<String>,
    /// `--staging-wal-directory`.
    pub staging_wal_directory: Option<String>,
    /// `--bwlimit`.
    pub bwlimit: Option<u64>,
    /// `--retry-times` / `--no-retry`.
    pub retry_times: Option<u32>,
    /// `--retry-sleep`.
    pub retry_sleep: Option<u64>,
    /// `-j/--jobs`.
    pub jobs: Option<u32>,
    /// `--jobs-start-batch-period`.
    pub jobs_start_batch_period: Option<u64>,
    /// `--jobs-start-batch-size`.
    pub jobs_start_batch_size: Option<u32>,
    /// `--get-wal` (Some(true)) / `--no-get-wal` (Some(false)).
    pub get_wal: Option<bool>,
    /// `--partial-wal`.
    pub partial_wal: bool,
    /// `--skip-archive-wal`.
    pub skip_archive_wal: bool,
    /// `--network-compression` / `--no-network-compression`.
    pub network_compression: Option<bool>,
    /// `--target-action`.
    pub target_action: Option<String>,
    /// `--standby-mode`.
    pub standby_mode: bool,
    /// `--staging-path`: where compressed backups are extracted and incremental
    /// backups combined.
    pub staging_path: Option<String>,
    /// `--staging-location` (`local` / `remote`).
    pub staging_location: Option<String>,
    /// `--recovery-staging-path` (deprecated).
    pub recovery_staging_path: Option<String>,
    /// `--local-staging-path` (deprecated).
    pub local_staging_path: Option<String>,
    /// `--combine-mode` (`copy`, `link`, `clone`, `copy-file-range`).
    pub combine_mode: Option<String>,
    /// `--recovery-conf-filename`.
    pub recovery_conf_filename: Option<String>,
    /// `--recovery-option-port`.
    pub recovery_option_port: Option<String>,
    /// `--restore-command`.
    pub restore_command: Option<String>,
    /// `--delta-restore` (Some(true)) / `--no-delta-restore` (Some(false)).
    pub delta_restore: Option<bool>,
}

/// The decisions taken before copying.
#[derive(Debug, Clone)]
pub struct Plan {
    /// Restore through get-wal instead of copying WALs.
    pub get_wal: bool,
    /// Point-in-time recovery (a target was given).
    pub is_pitr: bool,
    /// Where WALs go on the destination (`pg_wal`, or `barman_wal` for PITR).
    pub wal_dest: String,
    /// Tablespace relocations.
    pub tablespaces: BTreeMap<String, String>,
    /// The `Doing PITR. Recovery target ...` text.
    pub pitr_summary: Option<String>,
    /// The recovery targets as written in the configuration.
    pub targets: Targets,
    /// The numeric timeline WALs are selected on (None: Barman's default).
    pub target_tli: Option<u32>,
    /// Rsync workers.
    pub jobs: u32,
    /// Rsync bandwidth limit.
    pub bwlimit: Option<u64>,
    /// Rsync retries.
    pub retry_times: u32,
    /// Seconds between retries.
    pub retry_sleep: u64,
    /// Workers started per batch period.
    pub batch_size: u32,
    /// Seconds between batches.
    pub batch_period: u64,
    /// `-z` for a remote copy.
    pub network_compression: bool,
    /// Delta restore: reuse what the destination already holds (no empty check).
    pub delta: bool,
    /// The delta restore's safe horizon as rsync lists times (set once the destination
    /// has been read; None: unknown).
    pub horizon: Option<String>,
    /// Where staging folders are made (`local`, or `remote` on the restore host).
    pub staging: super::combine::Staging,
    /// An encrypted backup's decrypted copy (laid out as the backup), read instead of the
    /// catalog's folder.
    pub decrypted_base: Option<std::path::PathBuf>,
}

/// The backup to restore, printing Barman's error when there is none.
pub fn select_backup(
    out: &mut Output,
    catalog: &ServerCatalog,
    options: &RestoreOptions,
) -> Option<(BackupId, BackupInfo)> {
    let targets = [
        options.target_time.is_some(),
        options.target_xid.is_some(),
        options.target_lsn.is_some(),
        options.target_name.is_some(),
        options.target_immediate,
    ];
    if targets.iter().filter(|t| **t).count() > 1 {
        out.error("You cannot specify multiple targets for the recovery operation");
        return None;
    }
    let id = if options.backup_id == "auto" {
        auto_backup(out, catalog, options)?
    } else {
        catalog.resolve(&options.backup_id, out)?
    };
    let info = catalog.backups.get(&id)?.clone();
    if !info.status().copy_done() {
        out.error(&format!(
            "Cannot restore from backup '{}' of server '{}': backup status is not DONE",
            options.backup_id,
            catalog.server.name()
        ));
        return None;
    }
    Some((id, info))
}

/// `auto`: the newest backup that can reach the target.
fn auto_backup(
    out: &mut Output,
    catalog: &ServerCatalog,
    options: &RestoreOptions,
) -> Option<BackupId> {
    if options.target_immediate || options.target_xid.is_some() || options.target_name.is_some() {
        let which = if options.target_immediate {
            "target_immediate"
        } else if options.target_xid.is_some() {
            "target_xid"
        } else {
            "target_name"
        };
        out.error(&format!("For PITR without a backup_id, the only possible recovery targets are target_time and target_lsn. '{which}' recovery target is not allowed without a backup_id."));
        return None;
    }
    let tli = match options.target_tli.as_deref() {
        None => None,
        Some("current") => {
            out.error(
                "'current' is not a valid timeline keyword when recovering without a backup_id",
            );
            return None;
        }
        Some("latest") => latest_timeline(catalog),
        Some(n) => match n.parse::<u32>() {
            Ok(n) => Some(n),
            Err(_) => {
                out.error(&format!("'{n}' is not a valid timeline keyword"));
                return None;
            }
        },
    };
    let local = *chrono::Local::now().offset();
    let time_target = match options.target_time.as_deref() {
        Some(t) => Some(parse_target_time(t, local).ok()?.0),
        None => None,
    };
    let lsn_target: Option<Lsn> = options.target_lsn.as_deref().and_then(|l| l.parse().ok());
    let found = catalog
        .backups
        .iter()
        .rev()
        .filter(|(_, b)| b.status().copy_done())
        .filter(|(_, b)| tli.is_none_or(|t| b.timeline().map(TimelineId::get) == Some(t)))
        .find(|(_, b)| {
            if let Some(target) = time_target {
                b.time(Field::EndTime, local)
                    .is_some_and(|end| end <= target)
            } else if let Some(target) = lsn_target {
                b.raw(Field::EndXlog)
                    .and_then(|l| l.parse::<Lsn>().ok())
                    .is_some_and(|end| end <= target)
            } else {
                true
            }
        })
        .map(|(id, _)| id.clone());
    if found.is_none() {
        out.error("Cannot find any candidate backup for recovery.");
    }
    found
}

/// The highest timeline with archived WAL (1 when none), as `_get_latest_timeline`.
pub fn latest_timeline(catalog: &ServerCatalog) -> Option<u32> {
    let last = store::last_wal_per_timeline(&catalog.dirs).ok()?;
    Some(
        last.keys()
            .filter_map(|t| TimelineId::from_hex(t).ok().map(TimelineId::get))
            .max()
            .unwrap_or(1),
    )
}

/// `dateutil.parser.parse` for the formats users type: ISO 8601 with a space or `T`,
/// optional fraction, optional offset (`+01`, `+0100`, `+01:00`, `Z`, `UTC`). A naive time
/// gets the local zone (and Barman's warning). Returns (time, was naive).
pub fn parse_target_time(
    text: &str,
    local: FixedOffset,
) -> Result<(DateTime<FixedOffset>, bool), String> {
    let t = text.trim();
    let t = t
        .strip_suffix(" UTC")
        .or_else(|| t.strip_suffix(" GMT"))
        .or_else(|| t.strip_suffix('Z'))
        .map(|s| format!("{s}+00:00"))
        .unwrap_or_else(|| t.to_string());
    let t = t.replace('T', " ");
    for format in [
        "%Y-%m-%d %H:%M:%S%.f%:z",
        "%Y-%m-%d %H:%M:%S%.f%z",
        "%Y-%m-%d %H:%M%:z",
    ] {
        if let Ok(parsed) = DateTime::parse_from_str(&t, format) {
            return Ok((parsed, false));
        }
    }
    // `+01` (hours only) as PostgreSQL prints it.
    if let Some((stamp, hours)) = t.rsplit_once('+').or_else(|| t.rsplit_once(" -")) {
        if hours.len() == 2 && hours.chars().all(|c| c.is_ascii_digit()) {
            let sign = if t.contains('+') { "+" } else { "-" };
            if let Ok(parsed) = DateTime::parse_from_str(
                &format!("{stamp}{sign}{hours}:00"),
                "%Y-%m-%d %H:%M:%S%.f%:z",
            ) {
                return Ok((parsed, false));
            }
        }
    }
    for format in ["%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%d %H:%M", "%Y-%m-%d"] {
        let naive = NaiveDateTime::parse_from_str(&t, format).or_else(|_| {
            chrono::NaiveDate::parse_from_str(&t, format)
                .map(|d| d.and_hms_opt(0, 0, 0).unwrap_or_default())
        });
        if let Ok(naive) = naive {
            if let Some(local_time) = local.from_local_datetime(&naive).single() {
                return Ok((local_time, true));
            }
        }
    }
    Err(format!(
        "Unable to parse the target time parameter '{text}'"
    ))
}

/// Barman's argument checks; `None` after printing the error.
pub fn validate(
    out: &mut Output,
    server: &ServerConfig,
    info: &BackupInfo,
    options: &RestoreOptions,
) -> Option<Plan> {
    match plan(out, server, info, options) {
        Ok(plan) => Some(plan),
        Err(message) => {
            out.error(&message);
            None
        }
    }
}

/// get-wal as asked, forced on (with Barman's warning) when the WALs are in the cloud:
/// there is nothing local to copy, the restored server fetches them itself.
fn get_wal_mode(out: &mut Output, server: &ServerConfig, asked: bool) -> bool {
    if server.uses_wal_cloud_storage() && !asked {
        out.warning(
            "get-wal is required for servers with WALs stored in cloud storage. \
             Automatically enabling --get-wal.",
        );
        return true;
    }
    asked
}

fn plan(
    out: &mut Output,
    server: &ServerConfig,
    info: &BackupInfo,
    options: &RestoreOptions,
) -> Result<Plan, String> {
    let staging = super::combine::staging(out, server, info, options)?;
    let tablespaces = tablespace_relocations(info, options)?;
    check_destination(options)?;
    // `recovery_options` is a set (`CsvOption`); the command line wins over it.
    let configured = |name: &str| server.recovery_options().iter().any(|o| o == name);
    let get_wal = get_wal_mode(
        out,
        server,
        options.get_wal.unwrap_or_else(|| configured("get-wal")),
    );
    let delta = options
        .delta_restore
        .unwrap_or_else(|| configured("delta-restore"));
    if delta {
        check_delta(server, info, options)?;
    }
    let version = info.version().unwrap_or(PgVersion::from_num(0));
    let tli = parse_tli(server, info, options.target_tli.as_deref())?;
    let (mut targets, is_pitr) = requested_targets(options, version)?;
    let dest = options.destination.trim_end_matches('/');
    let (wal_dest, pitr_summary) = if is_pitr {
        let summary = pitr(out, info, options, version, tli, &mut targets)?;
        let wal_dest = options
            .staging_wal_directory
            .clone()
            .unwrap_or_else(|| format!("{dest}/barman_wal"));
        (wal_dest, Some(summary.join(", ")))
    } else {
        check_without_pitr(options, version)?;
        let wal = if version < PgVersion::V10 {
            "pg_xlog"
        } else {
            "pg_wal"
        };
        (format!("{dest}/{wal}"), None)
    };
    let tuning = CopyTuning::resolve(
        server,
        &CopyTuningOverrides {
            jobs: options.jobs,
            bwlimit: options.bwlimit,
            retry_times: options.retry_times,
            retry_sleep: options.retry_sleep,
            batch_size: options.jobs_start_batch_size,
            batch_period: options.jobs_start_batch_period,
        },
    );
    Ok(Plan {
        get_wal,
        is_pitr,
        wal_dest,
        tablespaces,
        pitr_summary,
        targets,
        target_tli: tli,
        jobs: tuning.jobs,
        bwlimit: tuning.bwlimit,
        retry_times: tuning.retry_times,
        retry_sleep: tuning.retry_sleep,
        batch_size: tuning.batch_size,
        batch_period: tuning.batch_period,
        network_compression: options
            .network_compression
            .unwrap_or_else(|| server.network_compression()),
        delta,
        horizon: None,
        staging,
        decrypted_base: None,
    })
}

/// The recovery targets asked for, as far as the backup's version has them, and whether
/// any asks for a point in time.
fn requested_targets(
    options: &RestoreOptions,
    version: PgVersion,
) -> Result<(Targets, bool), String> {
    let immediate = version >= PgVersion::V9_4 && options.target_immediate;
    let lsn = (version >= PgVersion::V10)
        .then(|| options.target_lsn.clone())
        .flatten();
    if let Some(l) = &lsn {
        l.parse::<Lsn>().map_err(|e| e.to_string())?;
    }
    let is_pitr = options.target_time.is_some()
        || options.target_xid.is_some()
        || options.target_tli.is_some()
        || options.target_name.is_some()
        || immediate
        || lsn.is_some();
    let targets = Targets {
        xid: options.target_xid.clone(),
        lsn,
        name: options.target_name.clone(),
        immediate,
        tli: options.target_tli.clone(),
        exclusive: options.exclusive,
        ..Targets::default()
    };
    Ok((targets, is_pitr))
}

/// `--tablespace NAME:LOCATION` rules, each naming a tablespace of the backup.
fn tablespace_relocations(
    info: &BackupInfo,
    options: &RestoreOptions,
) -> Result<BTreeMap<String, String>, String> {
    let mut tablespaces = BTreeMap::new();
    for rule in &options.tablespaces {
        let Some((name, location)) = rule.split_once(':') else {
            return Err(format!("Invalid tablespace relocation rule '{rule}'\nHINT: The valid syntax for a relocation rule is NAME:LOCATION"));
        };
        tablespaces.insert(name.to_string(), location.to_string());
    }
    let valid: Vec<String> = super::copy::tablespaces(info)
        .into_iter()
        .map(|t| t.0)
        .collect();
    for name in tablespaces.keys() {
        if !valid.contains(name) {
            return Err(format!("Invalid tablespace name '{name}'\nHINT: Please use any of the following tablespaces: {}", valid.join(", ")));
        }
    }
    Ok(tablespaces)
}

/// A destination spelt like `host:path`, or network compression for a local restore.
fn check_destination(options: &RestoreOptions) -> Result<(), String> {
    if options.destination.contains(':') {
        return Err("The destination directory parameter cannot contain the ':' character\nHINT: If you want to do a remote recovery you have to use the --remote-ssh-command option".into());
    }
    if options.network_compression == Some(true) && options.remote_ssh_command.is_none() {
        return Err("Network compression can only be used with remote recovery.\nHINT: If you want to do a remote recovery you have to use the --remote-ssh-command option".into());
    }
    Ok(())
}

/// The point-in-time targets: the target time checked against the backup's end, the
/// target action against the version; returns the summary Barman prints.
fn pitr(
    out: &mut Output,
    info: &BackupInfo,
    options: &RestoreOptions,
    version: PgVersion,
    tli: Option<u32>,
    targets: &mut Targets,
) -> Result<Vec<String>, String> {
    let mut summary = Vec::new();
    if let Some(text) = &options.target_time {
        let local = *chrono::Local::now().offset();
        let (time, naive) = parse_target_time(text, local)?;
        if naive {
            out.warning("No time zone has been specified through '--target-time' command-line option. Barman assumed the same time zone from the Barman host.");
        }
        let end = info.time(Field::EndTime, local);
        if let Some(end) = end.filter(|e| *e > time) {
            return Err(format!(
                "The requested target time {} is before the backup end time {}",
                python_datetime(&time),
                python_datetime(&end)
            ));
        }
        targets.time = Some(python_datetime(&time));
        summary.push(format!("time: '{}'", python_datetime(&time)));
    }
    if let Some(xid) = &options.target_xid {
        summary.push(format!("xid: '{xid}'"));
    }
    if let Some(l) = &targets.lsn {
        summary.push(format!("lsn: '{l}'"));
    }
    if options.target_tli.is_some() {
        summary.push(format!("timeline: '{}'", tli.unwrap_or(1)));
    }
    if let Some(name) = &options.target_name {
        summary.push(format!("name: '{name}'"));
    }
    if targets.immediate {
        summary.push("immediate: True".into());
    }
    targets.action = match options.target_action.as_deref() {
        None => None,
        Some("pause") if (PgVersion::V9_1..PgVersion::V9_5).contains(&version) => {
            Some("pause".into())
        }
        Some(a @ ("pause" | "shutdown" | "promote")) if version >= PgVersion::V9_5 => {
            Some(a.to_string())
        }
        Some(a) => {
            return Err(format!(
                "Illegal target action '{a}' for this version of PostgreSQL"
            ))
        }
    };
    Ok(summary)
}

/// Target options that only make sense with a point-in-time target.
fn check_without_pitr(options: &RestoreOptions, version: PgVersion) -> Result<(), String> {
    if version < PgVersion::V10 && options.target_lsn.is_some() {
        return Err(format!("Illegal use of recovery_target_lsn '{}' for this version of PostgreSQL (version 10 minimum required)", options.target_lsn.as_deref().unwrap_or("")));
    }
    if options.target_action.is_some() {
        return Err("Can't enable recovery target action when PITR is not required".into());
    }
    Ok(())
}

/// The backups Barman's `cli.restore` refuses to delta-restore: locally, anything but a
/// plain backup (it is extracted or combined in a staging area first); remotely, a
/// backup staged on the remote host.
fn check_delta(
    server: &ServerConfig,
    info: &BackupInfo,
    options: &RestoreOptions,
) -> Result<(), String> {
    if options.remote_ssh_command.is_none() {
        let not_plain = [Field::ParentBackupId, Field::Compression, Field::Encryption]
            .into_iter()
            .any(|field| info.raw(field).is_some());
        if not_plain {
            return Err(
                "Cannot restore a backup locally with delta mode when the backup is not plain."
                    .into(),
            );
        }
    } else if options
        .staging_location
        .as_deref()
        .or(server.staging_location())
        == Some("remote")
    {
        return Err(
            "Cannot restore a backup remotely with delta mode when 'staging_location=remote'."
                .into(),
        );
    }
    Ok(())
}

/// `parse_target_tli` with a backup: `current`, `latest` or a number.
fn parse_tli(
    server: &ServerConfig,
    info: &BackupInfo,
    tli: Option<&str>,
) -> Result<Option<u32>, String> {
    match tli {
        None => Ok(None),
        Some("current") => Ok(info.timeline().map(TimelineId::get)),
        Some("latest") => {
            let dirs = super::dirs_of(server);
            let last = store::last_wal_per_timeline(&dirs).map_err(|e| e.to_string())?;
            Ok(Some(
                last.keys()
                    .filter_map(|t| TimelineId::from_hex(t).ok().map(TimelineId::get))
                    .max()
                    .unwrap_or(1),
            ))
        }
        Some(n) if !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) => n
            .parse()
            .map(Some)
            .map_err(|_| format!("'{n}' is not a valid timeline keyword")),
        Some(other) => Err(format!("'{other}' is not a valid timeline keyword")),
    }
}

/// The segment holding `lsn` on `tli` (for `--target-lsn` WAL selection).
pub fn segment_of(lsn: &str, tli: u32, info: &BackupInfo) -> Option<String> {
    let lsn: Lsn = lsn.parse().ok()?;
    let tli = TimelineId::new(tli.max(1)).ok()?;
    let size = crate::core::backup_record::segment_size(info);
    Some(WalSegmentName::from_lsn(lsn, tli, size).0.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn target_time_formats() {
        let utc = FixedOffset::east_opt(0).unwrap();
        let one = FixedOffset::east_opt(3600).unwrap();
        let (t, naive) = parse_target_time("2026-11-24 01:02:03+01:00", utc).unwrap();
        assert_eq!(python_datetime(&t), "2026-11-24 01:02:03+01:00");
        assert!(!naive);
        let (t, _) = parse_target_time("2026-11-24T01:02:03.5Z", utc).unwrap();
        assert_eq!(python_datetime(&t), "2026-11-24 01:02:03.500000+00:00");
        let (t, _) = parse_target_time("2026-11-24 01:02:03.123456+01", utc).unwrap();
        assert_eq!(python_datetime(&t), "2026-11-24 01:02:03.123456+01:00");
        let (t, naive) = parse_target_time("2026-11-24 01:02:03", one).unwrap();
        assert_eq!(python_datetime(&t), "2026-11-24 01:02:03+01:00");
        assert!(naive);
        assert!(parse_target_time("yesterday", utc).is_err());
    }
}
