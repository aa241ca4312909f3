//! What `check` asks of PostgreSQL and of the database host beyond the remote status of
//! [`crate::adapters::postgres`]: the recovery state and system id of a node (standby
//! checks), the remote status of the WAL-only connections, the tablespaces list, and the
//! `ssh_command` probes (`true`, `test -e`) Barman runs for the rsync method.

use crate::adapters::pg_tools;
use crate::adapters::postgres::{self, RemoteValue, StatusInputs};
use crate::core::config::ServerConfig;
use std::collections::BTreeMap;
use std::process::Stdio;

/// A regular session as Barman opens one.
fn connect(conninfo: &str) -> Option<postgres::Session> {
    postgres::Session::open(conninfo).ok()
}

/// Recovery state and system id of one node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeFacts {
    /// `pg_is_in_recovery()` (None when the query failed).
    pub in_recovery: Option<bool>,
    /// `pg_control_system().system_identifier`.
    pub systemid: Option<String>,
}

/// The facts of the node `conninfo` points to; `None` when it cannot be reached.
pub fn node_facts(conninfo: &str) -> Option<NodeFacts> {
    let mut session = connect(conninfo)?;
    Some(NodeFacts {
        in_recovery: session.text("SELECT pg_is_in_recovery()").map(|v| v == "t"),
        systemid: session.text("SELECT system_identifier::text FROM pg_control_system()"),
    })
}

/// How many tablespaces (besides the default ones) the server has; `None` on error.
pub fn tablespace_count(conninfo: &str) -> Option<usize> {
    let mut session = connect(conninfo)?;
    let rows = session
        .rows("SELECT spcname FROM pg_tablespace WHERE pg_tablespace_location(oid) != ''")
        .ok()?;
    Some(rows.len())
}

/// The remote status of the WAL-only connections (`wal_conninfo`,
/// `wal_streaming_conninfo`): the regular and streaming keys, with the slot.
pub fn wal_remote_status(
    server: &ServerConfig,
    conninfo: &str,
    streaming_conninfo: &str,
) -> BTreeMap<String, RemoteValue> {
    postgres::remote_status(&StatusInputs {
        conninfo: Some(conninfo.to_string()),
        streaming_conninfo: Some(streaming_conninfo.to_string()),
        slot_name: server.slot_name().map(str::to_string),
        archiver: false,
        streaming_archiver: false,
        streaming_archiver_name: String::new(),
        backup_method: String::new(),
        path_prefix: server.path_prefix().map(str::to_string),
    })
}

/// An `ssh_command` split as Barman's `_parse_ssh_command` does, with the options Barman
/// adds for non-interactive use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SshCommand {
    /// The program (first word).
    pub program: String,
    /// The other words plus `-o BatchMode=yes -o StrictHostKeyChecking=no`.
    pub options: Vec<String>,
}

impl SshCommand {
    /// Split `ssh_command` on white space; `None` when it is empty.
    pub fn parse(ssh_command: &str) -> Option<SshCommand> {
        let mut words = ssh_command.split_whitespace().map(str::to_string);
        let program = words.next()?;
        let mut options: Vec<String> = words.collect();
        for word in ["-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no"] {
            options.push(word.to_string());
        }
        Some(SshCommand { program, options })
    }

    /// Run `remote` words on the host; gives the exit code and stdout + stderr.
    fn run(&self, remote: &[&str], path_prefix: Option<&str>) -> std::io::Result<(i32, String)> {
        let out = super::spawn::child_command(&self.program)
            .args(&self.options)
            .args(remote)
            .env("PATH", pg_tools::search_path(path_prefix))
            .stdin(Stdio::null())
            .output()?;
        let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
        text.push_str(&String::from_utf8_lossy(&out.stderr));
        Ok((out.status.code().unwrap_or(-1), text))
    }

    /// Barman's `UnixRemoteCommand` set-up: run `true`; on success, what it printed
    /// (stdout and stderr), on failure Barman's message.
    pub fn probe(&self, path_prefix: Option<&str>) -> Result<String, String> {
        match self.run(&["true"], path_prefix) {
            Ok((0, output)) => Ok(output),
            // Through a shell a missing program is exit code 127.
            Ok((code, _)) => Err(self.failed(code)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(self.failed(127)),
            Err(_) => Err(format!("Unable to execute {}", self.program)),
        }
    }

    fn failed(&self, code: i32) -> String {
        format!(
            "Connection failed using '{} {}' return code {code}",
            self.program,
            self.options.join(" ")
        )
    }

    /// `test -e <path>` on the host.
    pub fn exists(&self, path: &str, path_prefix: Option<&str>) -> bool {
        let quoted = format!("'{}'", path.replace('\'', "'\\''"));
        matches!(self.run(&["test", "-e", &quoted], path_prefix), Ok((0, _)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ssh_command_gets_barman_options() {
        let ssh = SshCommand::parse("ssh -p 22  postgres@pg").unwrap();
        assert_eq!(ssh.program, "ssh");
        assert_eq!(
            ssh.options,
            vec![
                "-p",
                "22",
                "postgres@pg",
                "-o",
                "BatchMode=yes",
                "-o",
                "StrictHostKeyChecking=no"
            ]
        );
        assert_eq!(
            ssh.failed(255),
            "Connection failed using 'ssh -p 22 postgres@pg -o BatchMode=yes -o StrictHostKeyChecking=no' return code 255"
        );
        assert!(SshCommand::parse("  ").is_none());
    }
}
