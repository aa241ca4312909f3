//! The companion programs installed with `barman` (Barman's `barman-cli`):
//! `barman-wal-archive` (archive_command) and `barman-wal-restore` (restore_command).

pub mod wal_archive;
pub mod wal_restore;

/// How both clients reach the Barman server.
#[derive(Debug, Clone, clap::Args)]
pub struct SshTarget {
    /// The user used for the ssh connection to the Barman server. Defaults to 'barman'.
    #[arg(short = 'U', long = "user", default_value = "barman")]
    pub user: String,
    /// The port used for the ssh connection to the Barman server.
    #[arg(long)]
    pub port: Option<String>,
}

impl SshTarget {
    /// `ssh [-p PORT] -q -T USER@HOST barman`: the start of every remote call.
    pub fn argv(&self, host: &str) -> Vec<String> {
        let mut argv = vec!["ssh".to_string()];
        if let Some(port) = &self.port {
            argv.extend(["-p".to_string(), port.clone()]);
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

/// Print `ERROR: <message>` and return `code`, as both clients exit.
pub fn fail(message: &str, code: u8) -> std::process::ExitCode {
    crate::output::eprint_raw(&format!("ERROR: {message}\n"));
    std::process::ExitCode::from(code)
}
