//! The companion programs installed with `barman` (Barman's `barman-cli`):
//! `barman-wal-archive` (archive_command) and `barman-wal-restore` (restore_command).

pub mod cloud;
pub mod control_dir;
pub mod wal_archive;
pub mod wal_restore;

/// Seconds an ssh master connection outlives its last client (see [`SshTarget::argv`]).
pub const CONTROL_PERSIST_SECONDS: u32 = 60;

/// How both clients reach the Barman server.
#[derive(Debug, Clone, clap::Args)]
pub struct SshTarget {
    /// The user used for the ssh connection to the Barman server. Defaults to 'barman'.
    #[arg(short = 'U', long = "user", default_value = "barman")]
    pub user: String,
    /// The port used for the ssh connection to the Barman server.
    #[arg(long)]
    pub port: Option<String>,
    /// Open a new ssh connection for every call instead of sharing one (an extension to
    /// Barman's options: by default calls share a master connection, kept for a minute after
    /// the last call, so the ssh handshake is not paid per WAL file).
    #[arg(long = "no-ssh-reuse")]
    pub no_ssh_reuse: bool,
}

impl SshTarget {
    /// `ssh [-p PORT] -q -T USER@HOST barman`: the start of every remote call.
    pub fn argv(&self, host: &str) -> Vec<String> {
        let mut argv = vec!["ssh".to_string()];
        if let Some(port) = &self.port {
            argv.extend(["-p".to_string(), port.clone()]);
        }
        if let Some(dir) = (!self.no_ssh_reuse)
            .then(control_dir::control_dir)
            .flatten()
        {
            // How long an idle master lives after its last call. While WAL flows (a
            // segment a minute or more) calls keep finding it; once PostgreSQL stops
            // calling (shutdown, idle server) it is gone within a minute instead of
            // holding a connection to the Barman host for five.
            argv.extend(control_dir::master_options(&dir, CONTROL_PERSIST_SECONDS));
        }
        argv.extend([
            "-q".into(),
            "-T".into(),
            format!("{}@{host}", self.user),
            "barman".into(),
        ]);
        argv
    }
}

/// `--test`'s end in both clients: what the remote command and ssh printed, then their
/// exit status as it is (Barman's `connectivity_test`: `print(output)`, then
/// `sys.exit(pipe.returncode)`; 255 stays ssh's 255, a signal N is Python's -N, 256 - N).
pub fn connectivity_test_result(out: &std::process::Output) -> std::process::ExitCode {
    use std::os::unix::process::ExitStatusExt;
    crate::output::print_raw(&format!(
        "{}{}\n",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    ));
    let code = out
        .status
        .code()
        .unwrap_or_else(|| 256 - out.status.signal().unwrap_or(1));
    std::process::ExitCode::from(code as u8)
}

/// Print `ERROR: <message>` and exit as `kind` says, as both clients do.
pub fn fail(message: &str, kind: crate::error::ExitKind) -> std::process::ExitCode {
    crate::output::eprint_raw(&format!("ERROR: {message}\n"));
    crate::app::exit::exit_code(kind)
}
