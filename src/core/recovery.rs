//! The pure rules of `restore`/`recover` (Barman's `RecoveryExecutor`): which WAL files a
//! recovery needs, the recovery settings written for the target, and the mangling of
//! dangerous settings in the restored configuration files with the report Barman prints.

use crate::core::pg_version::PgVersion;
use crate::core::timeline::TimelineId;
use crate::core::wal_name::WalFileName;

/// A recovery target, as the user gave it (one at most: Barman refuses combinations).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Targets {
    /// `--target-time`, already normalised to Python's `str(datetime)`.
    pub time: Option<String>,
    /// `--target-xid`.
    pub xid: Option<String>,
    /// `--target-lsn` (only honoured from PostgreSQL 10).
    pub lsn: Option<String>,
    /// `--target-name`.
    pub name: Option<String>,
    /// `--target-immediate` (only honoured from PostgreSQL 9.4).
    pub immediate: bool,
    /// `--target-tli` as given (`2`, `latest`, `current`).
    pub tli: Option<String>,
    /// `--exclusive`.
    pub exclusive: bool,
    /// `--target-action`.
    pub action: Option<String>,
}

/// How the restored server gets its WAL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RestoreCommand {
    /// A `restore_command` given with `--restore-command` (get-wal mode).
    Custom(String),
    /// `barman get-wal` on this host (local recovery).
    LocalGetWal {
        /// `barman_user`.
        user: String,
        /// Server name.
        server: String,
    },
    /// `barman cloud-wal-restore` on the restored host (WALs in the cloud).
    CloudWalRestore {
        /// Server name.
        server: String,
    },
    /// `barman-wal-restore` over ssh back to this host (remote recovery).
    RemoteWalRestore {
        /// `barman_user`.
        user: String,
        /// `--recovery-option-port`.
        port: Option<String>,
        /// This host's FQDN.
        host: String,
        /// Server name.
        server: String,
        /// `parallel_jobs`.
        parallel: u32,
    },
    /// No get-wal: WALs copied into a staging folder (`cp <dir>/%f %p`).
    Staged(String),
}

/// Everything that decides the recovery settings.
#[derive(Debug, Clone)]
pub struct RecoverySettings {
    /// The restore command kind.
    pub restore: RestoreCommand,
    /// Targets.
    pub targets: Targets,
    /// `--standby-mode`.
    pub standby: bool,
    /// `server_version_num` of the backup.
    pub version: PgVersion,
}

/// The lines of Barman's `_generate_recovery_conf`, in its order.
pub fn recovery_lines(s: &RecoverySettings) -> Vec<String> {
    let mut lines = restore_command_lines(s);
    lines.extend(target_lines(s));
    lines
}

/// The `restore_command` (and `recovery_end_command`) lines, with their comment.
fn restore_command_lines(s: &RecoverySettings) -> Vec<String> {
    let mut lines = Vec::new();
    let partial = if s.standby { "" } else { "-P" };
    match &s.restore {
        RestoreCommand::Custom(command) => {
            lines.push(format!(
                "restore_command = '{}'",
                command.replace('\'', "''")
            ));
        }
        RestoreCommand::CloudWalRestore { server } => {
            lines.push(format!(
                "restore_command = 'barman cloud-wal-restore {server} %f %p'"
            ));
        }
        RestoreCommand::LocalGetWal { user, server } => {
            lines.push(format!(
                "# The 'barman get-wal' command must run as '{user}' user"
            ));
            lines.push(format!(
                "restore_command = 'barman get-wal {partial} {server} %f > %p'"
            ));
        }
        RestoreCommand::RemoteWalRestore {
            user,
            port,
            host,
            server,
            parallel,
        } => {
            lines.push(
                "# The 'barman-wal-restore' command is provided in the 'barman-cli' package".into(),
            );
            let port = port
                .as_ref()
                .map(|p| format!("--port {p}"))
                .unwrap_or_default();
            let mut command = format!(
                "restore_command = 'barman-wal-restore {partial} -U {user} {port} {host} {server} %f %p'"
            );
            if *parallel > 1 {
                command.pop();
                command.push_str(&format!(" -p {parallel}'"));
            }
            lines.push(command.split_whitespace().collect::<Vec<_>>().join(" "));
        }
        RestoreCommand::Staged(dir) => {
            if !s.standby {
                lines.push(format!("restore_command = 'cp {dir}/%f %p'"));
                lines.push(format!("recovery_end_command = 'rm -fr {dir}'"));
            }
        }
    }
    lines
}

/// The recovery target lines, the timeline, the target action and the standby mode.
fn target_lines(s: &RecoverySettings) -> Vec<String> {
    let mut lines = Vec::new();
    let t = &s.targets;
    if let Some(time) = &t.time {
        lines.push(format!("recovery_target_time = '{time}'"));
    }
    if let Some(xid) = &t.xid {
        lines.push(format!("recovery_target_xid = '{xid}'"));
    }
    if let Some(lsn) = &t.lsn {
        lines.push(format!("recovery_target_lsn = '{lsn}'"));
    }
    if let Some(name) = &t.name {
        lines.push(format!("recovery_target_name = '{name}'"));
    }
    if s.version >= PgVersion::V9_4 && t.immediate {
        lines.push("recovery_target = 'immediate'".into());
    }
    if (t.xid.is_some() || t.time.is_some() || t.lsn.is_some()) && t.exclusive {
        // Python prints `not exclusive`: the capitalised bool.
        lines.push("recovery_target_inclusive = 'False'".into());
    }
    if let Some(tli) = &t.tli {
        lines.push(format!("recovery_target_timeline = {tli}"));
    }
    if let Some(action) = &t.action {
        if s.version < PgVersion::V9_5 {
            lines.push(format!("pause_at_recovery_target = '{}'", "on"));
        } else {
            lines.push(format!("recovery_target_action = '{action}'"));
        }
    }
    if s.version < PgVersion::V12 && s.standby {
        lines.push("standby_mode = 'on'".into());
    }
    lines
}

/// A setting found in a configuration file: file, 0-based line, key, value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assertion {
    /// File name (no folder).
    pub filename: String,
    /// 0-based line index (Barman prints it as "line N").
    pub line: usize,
    /// The setting.
    pub key: String,
    /// The new value (changes) or the current one (warnings); None prints `None`.
    pub value: Option<String>,
}

/// Settings neutralised during a restore (`archive_command` forced to `false`; recovery
/// targets of the source commented out).
const MANGLED: [(&str, Option<&str>); 9] = [
    ("archive_command", Some("false")),
    ("recovery_target", None),
    ("recovery_target_name", None),
    ("recovery_target_time", None),
    ("recovery_target_xid", None),
    ("recovery_target_lsn", None),
    ("recovery_target_inclusive", None),
    ("recovery_target_timeline", None),
    ("recovery_target_action", None),
];

/// Settings reported for review (they point at files or folders of the source server).
const DANGEROUS: [&str; 14] = [
    "data_directory",
    "config_file",
    "hba_file",
    "ident_file",
    "external_pid_file",
    "ssl_cert_file",
    "ssl_key_file",
    "ssl_ca_file",
    "ssl_crl_file",
    "unix_socket_directory",
    "unix_socket_directories",
    "include",
    "include_dir",
    "include_if_exists",
];

/// `^\s*([^\s=]+)\s*=?\s*(.*)$` on one line (without its newline).
fn setting(line: &str) -> Option<(&str, &str)> {
    let trimmed = line.trim_start();
    let end = trimmed
        .find(|c: char| c.is_whitespace() || c == '=')
        .unwrap_or(trimmed.len());
    if end == 0 {
        return None;
    }
    let (key, rest) = trimmed.split_at(end);
    let rest = rest.trim_start();
    let rest = rest.strip_prefix('=').unwrap_or(rest).trim_start();
    Some((key, rest.strip_suffix('\n').unwrap_or(rest)))
}

/// `ConfigurationFileMangeler.mangle_options`: the new content and the changes made.
/// `append` lines (the recovery settings) go at the end, after a newline if needed.
pub fn mangle(
    filename: &str,
    content: &[u8],
    append: Option<&[String]>,
) -> (Vec<u8>, Vec<Assertion>) {
    let mut out = Vec::with_capacity(content.len() + 256);
    let mut changes = Vec::new();
    let mut last_line: Option<&[u8]> = None;
    let mut glued_last = false;
    for (index, line) in content.split_inclusive(|b| *b == b'\n').enumerate() {
        let text = String::from_utf8_lossy(line);
        if let Some((key, _)) = setting(&text) {
            if let Some((_, value)) = MANGLED.iter().find(|(k, _)| *k == key) {
                out.extend_from_slice(b"#BARMAN#");
                out.extend_from_slice(line);
                // Barman glues the next line to a commented last line that lacks its
                // newline (the restore_command it appends then becomes part of the
                // comment); end the line so nothing written after it is lost.
                if line.last() != Some(&b'\n') {
                    out.push(b'\n');
                    glued_last = true;
                }
                if let Some(value) = value {
                    out.extend_from_slice(format!("{key} = {value}\n").as_bytes());
                }
                changes.push(Assertion {
                    filename: filename.to_string(),
                    line: index,
                    key: key.to_string(),
                    value: value.map(str::to_string),
                });
                continue;
            }
        }
        last_line = Some(line);
        out.extend_from_slice(line);
    }
    if let Some(lines) = append.filter(|l| !l.is_empty()) {
        // Barman means "end the last line first", but compares a byte with `b"\n"` (always
        // unequal in Python 3): it writes a newline whenever a line was kept, so a file that
        // already ends with one (every `postgresql.auto.conf`) gets an empty line.
        if last_line.is_some() && !glued_last {
            out.push(b'\n');
        }
        out.extend_from_slice(lines.join("\n").as_bytes());
        out.push(b'\n');
    }
    (out, changes)
}

/// `ConfigIssueDetection.detect_issues`.
pub fn dangerous_settings(filename: &str, content: &[u8]) -> Vec<Assertion> {
    String::from_utf8_lossy(content)
        .split_inclusive('\n')
        .enumerate()
        .filter_map(|(index, line)| {
            let (key, value) = setting(line)?;
            DANGEROUS.contains(&key).then(|| Assertion {
                filename: filename.to_string(),
                line: index,
                key: key.to_string(),
                value: Some(value.to_string()),
            })
        })
        .collect()
}

/// What `get_required_xlog_files` needs to decide.
#[derive(Debug, Clone)]
pub struct WalSelection {
    /// The backup's begin_wal.
    pub begin: String,
    /// The backup's end_wal.
    pub end: String,
    /// The timeline recovery follows.
    pub target_tli: u32,
    /// The segment holding `--target-lsn` on that timeline.
    pub target_wal: Option<String>,
    /// `--target-immediate`.
    pub immediate: bool,
    /// `--partial-wal`.
    pub include_partial: bool,
}

/// Walks the xlog db in order and keeps the WALs a recovery needs (history files always).
#[derive(Debug)]
pub struct WalSelector {
    selection: WalSelection,
    end: String,
    done: bool,
}

impl WalSelector {
    /// A selector for one recovery.
    pub fn new(selection: WalSelection) -> Self {
        let end = selection.end.clone();
        WalSelector {
            selection,
            end,
            done: false,
        }
    }

    /// Whether the xlog db entry `name` is needed.
    pub fn wants(&mut self, name: &str) -> bool {
        let parsed: Option<WalFileName> = name.parse().ok();
        if let Some(WalFileName::History(_)) = parsed {
            return true;
        }
        if self.done {
            return false;
        }
        let s = &self.selection;
        if name < s.begin.as_str() {
            return false;
        }
        let Some(tli) = TimelineId::of_name(name).map(TimelineId::get) else {
            return false;
        };
        if tli > s.target_tli {
            return false;
        }
        if name > self.end.as_str() {
            let past_lsn = s.target_wal.as_deref().is_some_and(|w| name > w);
            if s.immediate || past_lsn {
                self.done = true;
                return false;
            }
            self.end = name.to_string();
        }
        if !s.include_partial && matches!(parsed, Some(WalFileName::Partial(_))) {
            return false;
        }
        true
    }

    /// The last WAL name reached (for the streaming `.partial` lookup).
    pub fn last(&self) -> &str {
        &self.end
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(restore: RestoreCommand, targets: Targets) -> RecoverySettings {
        RecoverySettings {
            restore,
            targets,
            standby: false,
            version: PgVersion::from_num(150018),
        }
    }

    #[test]
    fn recovery_lines_cloud_wals_use_barman_cloud_wal_restore() {
        let lines = recovery_lines(&settings(
            RestoreCommand::CloudWalRestore {
                server: "pg".into(),
            },
            Targets::default(),
        ));
        assert_eq!(
            lines,
            ["restore_command = 'barman cloud-wal-restore pg %f %p'"]
        );
    }

    #[test]
    fn recovery_lines_local_get_wal_and_time_target() {
        let lines = recovery_lines(&settings(
            RestoreCommand::LocalGetWal {
                user: "postgres".into(),
                server: "pgr".into(),
            },
            Targets {
                time: Some("2099-01-01 00:00:00+00:00".into()),
                action: Some("promote".into()),
                ..Targets::default()
            },
        ));
        assert_eq!(
            lines,
            [
                "# The 'barman get-wal' command must run as 'postgres' user",
                "restore_command = 'barman get-wal -P pgr %f > %p'",
                "recovery_target_time = '2099-01-01 00:00:00+00:00'",
                "recovery_target_action = 'promote'"
            ]
        );
    }

    #[test]
    fn recovery_lines_staged_lsn_exclusive_tli() {
        let lines = recovery_lines(&settings(
            RestoreCommand::Staged("/srv/pg/r3/barman_wal".into()),
            Targets {
                lsn: Some("0/4000000".into()),
                exclusive: true,
                tli: Some("1".into()),
                ..Targets::default()
            },
        ));
        assert_eq!(
            lines,
            [
                "restore_command = 'cp /srv/pg/r3/barman_wal/%f %p'",
                "recovery_end_command = 'rm -fr /srv/pg/r3/barman_wal'",
                "recovery_target_lsn = '0/4000000'",
                "recovery_target_inclusive = 'False'",
                "recovery_target_timeline = 1"
            ]
        );
    }

    #[test]
    fn recovery_lines_remote_wal_restore_collapses_spaces() {
        let mut s = settings(
            RestoreCommand::RemoteWalRestore {
                user: "barman".into(),
                port: None,
                host: "backup.example".into(),
                server: "pg".into(),
                parallel: 4,
            },
            Targets::default(),
        );
        assert_eq!(
            recovery_lines(&s)[1],
            "restore_command = 'barman-wal-restore -P -U barman backup.example pg %f %p -p 4'"
        );
        s.standby = true;
        s.restore = RestoreCommand::LocalGetWal {
            user: "barman".into(),
            server: "pg".into(),
        };
        // Barman leaves two spaces where -P was.
        assert_eq!(
            recovery_lines(&s)[1],
            "restore_command = 'barman get-wal  pg %f > %p'"
        );
    }

    #[test]
    fn mangle_comments_archive_command_and_appends() {
        let content = b"port = 5432\narchive_command = 'cp %p /x/%f'\n#archive_command = ''\nrecovery_target_time='x'";
        let append = vec!["restore_command = 'cp a b'".to_string()];
        let (out, changes) = mangle("postgresql.auto.conf", content, Some(&append));
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "port = 5432\n#BARMAN#archive_command = 'cp %p /x/%f'\narchive_command = false\n#archive_command = ''\n#BARMAN#recovery_target_time='x'\nrestore_command = 'cp a b'\n"
        );
        assert_eq!(changes.len(), 2);
        assert_eq!(changes[0].line, 1);
        assert_eq!(changes[0].value.as_deref(), Some("false"));
        assert_eq!(changes[1].key, "recovery_target_time");
        assert_eq!(changes[1].value, None);
    }

    #[test]
    fn mangle_adds_a_newline_before_appending_to_an_unterminated_file() {
        let (out, _) = mangle("f", b"port = 1", Some(&["a = 1".to_string()]));
        assert_eq!(out, b"port = 1\na = 1\n");
    }

    #[test]
    fn mangle_leaves_an_empty_line_before_appending_to_a_terminated_file_as_barman() {
        // Python Barman 3.20.1 on the header initdb writes: b'# h\n\na = 1\n'.
        let (out, _) = mangle("f", b"# h\n", Some(&["a = 1".to_string()]));
        assert_eq!(out, b"# h\n\na = 1\n");
        // Only mangled lines: nothing kept, no empty line.
        let (out, _) = mangle(
            "f",
            b"archive_command = 'x'\n",
            Some(&["a = 1".to_string()]),
        );
        assert_eq!(
            out,
            b"#BARMAN#archive_command = 'x'\narchive_command = false\na = 1\n"
        );
    }

    #[test]
    fn dangerous_settings_are_reported_with_zero_based_lines() {
        let found = dangerous_settings(
            "postgresql.conf",
            b"# c\nunix_socket_directories = '/srv/pg/sock'\t# x\ndata_directory='/d'\n",
        );
        assert_eq!(found.len(), 2);
        assert_eq!(found[0].line, 1);
        assert_eq!(found[0].value.as_deref(), Some("'/srv/pg/sock'\t# x"));
        assert_eq!(found[1].key, "data_directory");
    }

    #[test]
    fn wal_selector_follows_barman() {
        let mut s = WalSelector::new(WalSelection {
            begin: "000000010000000000000003".into(),
            end: "000000010000000000000004".into(),
            target_tli: 1,
            target_wal: None,
            immediate: false,
            include_partial: false,
        });
        assert!(s.wants("00000002.history"));
        assert!(!s.wants("000000010000000000000002"));
        assert!(s.wants("000000010000000000000003"));
        assert!(s.wants("000000010000000000000003.00000028.backup"));
        assert!(s.wants("000000010000000000000006"));
        assert!(!s.wants("000000020000000000000007"));
        assert!(!s.wants("000000010000000000000007.partial"));
        let mut immediate = WalSelector::new(WalSelection {
            begin: "000000010000000000000003".into(),
            end: "000000010000000000000004".into(),
            target_tli: 1,
            target_wal: None,
            immediate: true,
            include_partial: false,
        });
        assert!(immediate.wants("000000010000000000000004"));
        assert!(!immediate.wants("000000010000000000000005"));
        assert!(!immediate.wants("000000010000000000000004"));
        assert!(immediate.wants("00000002.history"));
    }
}
