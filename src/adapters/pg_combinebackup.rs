//! `pg_combinebackup` (PostgreSQL 17+), the tool that turns a chain of incremental
//! backups into a full data directory: the argv Barman's `PgCombineBackup` builds
//! (`--output`, one `--tablespace-mapping` per tablespace, `--<mode>`, the chain root
//! first), run on this host or on the restore host through the `--remote-ssh-command`
//! words (Barman's `staging_location = remote`), plus the few shell steps a remote staging
//! area needs. Never prints: callers report.

use std::path::Path;
use std::process::Stdio;

/// The program Barman looks for (`PgCombineBackup.COMMAND_ALTERNATIVES`).
pub const PROGRAM: &str = "pg_combinebackup";

/// One pg_combinebackup run.
#[derive(Debug, Clone)]
pub struct CombineRun<'a> {
    /// The program (a full path).
    pub program: &'a str,
    /// `--output`: the combined data directory.
    pub output: &'a str,
    /// `--tablespace-mapping=OLD=NEW`, OLD as in the last backup of the chain.
    pub tablespace_mapping: &'a [(String, String)],
    /// `copy`, `link`, `clone` or `copy-file-range` (passed as `--<mode>`).
    pub mode: &'a str,
    /// The backups' data directories, the full backup first.
    pub chain: &'a [String],
}

impl CombineRun<'_> {
    /// The argv, program first, in Barman's order.
    pub fn argv(&self) -> Vec<String> {
        let mut argv = vec![
            self.program.to_string(),
            format!("--output={}", self.output),
        ];
        for (old, new) in self.tablespace_mapping {
            argv.push(format!("--tablespace-mapping={old}={new}"));
        }
        argv.push(format!("--{}", self.mode));
        argv.extend(self.chain.iter().cloned());
        argv
    }
}

/// A run that failed: what it printed (Barman shows both after its message).
#[derive(Debug, Clone, Default)]
pub struct Failure {
    /// Captured stdout.
    pub out: String,
    /// Captured stderr (or why it could not start).
    pub err: String,
}

fn finish(cmd: &mut std::process::Command) -> Result<String, Failure> {
    cmd.stdin(Stdio::null());
    match super::spawn::output(cmd) {
        Ok(o) if o.status.success() => Ok(String::from_utf8_lossy(&o.stdout).into_owned()),
        Ok(o) => Err(Failure {
            out: String::from_utf8_lossy(&o.stdout).into_owned(),
            err: String::from_utf8_lossy(&o.stderr).into_owned(),
        }),
        Err(e) => Err(Failure {
            out: String::new(),
            err: e.to_string(),
        }),
    }
}

/// Run on this host with `PATH` set to the server's search path.
pub fn run_local(run: &CombineRun<'_>, path: &str) -> Result<String, Failure> {
    let argv = run.argv();
    let mut cmd = super::spawn::child_command(&argv[0]);
    cmd.args(&argv[1..]).env("PATH", path);
    finish(&mut cmd)
}

/// Run `script` (one shell command line) on the restore host.
pub fn remote_script(ssh: &[String], script: &str) -> Result<String, Failure> {
    let Some((program, words)) = ssh.split_first() else {
        return Err(Failure {
            out: String::new(),
            err: "empty remote ssh command".into(),
        });
    };
    let mut cmd = super::spawn::child_command(program);
    cmd.args(words).arg(script);
    finish(&mut cmd)
}

/// Run on the restore host: the argv quoted once for its shell (`full_command_quote`).
pub fn run_remote(run: &CombineRun<'_>, ssh: &[String]) -> Result<String, Failure> {
    remote_script(ssh, &shell_words::join(run.argv()))
}

/// `which pg_combinebackup` and its `--version` on the restore host: (path, full version).
pub fn find_remote(ssh: &[String]) -> Option<(String, Option<String>)> {
    let path = remote_script(ssh, &format!("which {PROGRAM}")).ok()?;
    let path = path.trim().to_string();
    if path.is_empty() {
        return None;
    }
    let version = remote_script(ssh, &format!("{} --version", shell_words::quote(&path)))
        .ok()
        .and_then(|text| super::pg_tools::parse_version_output(&text));
    Some((path, version))
}

/// `stat -c %d` on the restore host, or the local device number: the file system of `path`.
pub fn device_of(ssh: Option<&[String]>, path: &str) -> Option<u64> {
    match ssh {
        None => {
            use std::os::unix::fs::MetadataExt;
            Path::new(path).metadata().ok().map(|m| m.dev())
        }
        Some(ssh) => remote_script(ssh, &format!("stat -c %d {}", shell_words::quote(path)))
            .ok()
            .and_then(|t| t.trim().parse().ok()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn combine_argv_in_barman_order() {
        let mapping = [("/b/2/16385".to_string(), "/ts".to_string())];
        let chain = ["/b/1/data".to_string(), "/b/2/data".to_string()];
        let run = CombineRun {
            program: "/usr/bin/pg_combinebackup",
            output: "/dest",
            tablespace_mapping: &mapping,
            mode: "copy-file-range",
            chain: &chain,
        };
        assert_eq!(
            run.argv(),
            [
                "/usr/bin/pg_combinebackup",
                "--output=/dest",
                "--tablespace-mapping=/b/2/16385=/ts",
                "--copy-file-range",
                "/b/1/data",
                "/b/2/data"
            ]
        );
    }
}
