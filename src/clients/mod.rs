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
    /// Open a new ssh connection for every call instead of sharing one (an extension to
    /// Barman's options: by default calls share a master connection for a few minutes, so
    /// the ssh handshake is not paid per WAL file).
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
        if let Some(dir) = (!self.no_ssh_reuse).then(control_dir).flatten() {
            argv.extend([
                "-o".into(),
                "ControlMaster=auto".into(),
                "-o".into(),
                format!("ControlPath={}/%C", dir.display()),
                "-o".into(),
                "ControlPersist=300".into(),
            ]);
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

/// A private folder for ssh control sockets (`/tmp/barman-ssh-<uid>`, mode 0700), or
/// `None` when it cannot be made safe — then every call opens its own connection.
fn control_dir() -> Option<std::path::PathBuf> {
    use std::os::unix::fs::{DirBuilderExt, MetadataExt};
    let uid = nix::unistd::geteuid().as_raw();
    let dir = std::path::PathBuf::from(format!("/tmp/barman-ssh-{uid}"));
    if !dir.exists() {
        std::fs::DirBuilder::new().mode(0o700).create(&dir).ok()?;
    }
    let meta = std::fs::symlink_metadata(&dir).ok()?;
    (meta.is_dir() && meta.uid() == uid && meta.mode() & 0o077 == 0).then_some(dir)
}
