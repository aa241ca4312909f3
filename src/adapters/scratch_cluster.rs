//! A restored data directory started as a throw-away PostgreSQL for `barman drill`: its own
//! port, a Unix socket in a private folder and no TCP listener, archiving off, and a
//! `pg_hba.conf` of its own that trusts local connections (only the drill's user can reach
//! the socket folder). Stopped (immediately) when dropped, so a failed drill leaves no server.

use crate::adapters::libpq::{Connection, Kind};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

/// A running scratch cluster.
pub struct ScratchCluster {
    data: PathBuf,
    socket_dir: PathBuf,
    port: u16,
    bin_dir: PathBuf,
    /// The OS user PostgreSQL runs as when we are root (it refuses to run as root).
    run_as: Option<String>,
    running: bool,
}

/// The first folder of `search_path` holding `tool`.
pub fn find_tool(tool: &str, search_path: &str) -> Option<PathBuf> {
    std::env::split_paths(search_path)
        .map(|dir| dir.join(tool))
        .find(|p| p.is_file())
}

impl ScratchCluster {
    /// Configure `data` for the drill and start it; `Err` carries the server log's tail.
    ///
    /// # Errors
    /// Configuration files cannot be written, or PostgreSQL does not start in `timeout`.
    pub fn start(
        data: &Path,
        scratch: &Path,
        bin_dir: &Path,
        run_as: Option<&str>,
        timeout: Duration,
    ) -> Result<ScratchCluster, ScratchError> {
        let socket_dir = scratch.join("socket");
        std::fs::create_dir_all(&socket_dir).map_err(io(&socket_dir))?;
        let port = free_port()?;
        let hba = scratch.join("drill_hba.conf");
        std::fs::write(&hba, "local all all trust\n").map_err(io(&hba))?;
        // Appended last, so they win over the restored settings (including those a
        // recovery wrote into postgresql.auto.conf).
        let settings = format!(
            "\n# barman drill\nport = {port}\nlisten_addresses = ''\nunix_socket_directories = '{}'\n\
             archive_mode = off\nhba_file = '{}'\nhot_standby = on\nlogging_collector = off\n",
            socket_dir.display(),
            hba.display()
        );
        append(&data.join("postgresql.auto.conf"), &settings)?;
        if let Some(user) = run_as {
            chown_tree(scratch, user)?;
        }
        let mut cluster = ScratchCluster {
            data: data.to_path_buf(),
            socket_dir,
            port,
            bin_dir: bin_dir.to_path_buf(),
            run_as: run_as.map(str::to_string),
            running: true,
        };
        let log = scratch.join("postgresql.log");
        let started = cluster.pg_ctl(&[
            "-D",
            &data.display().to_string(),
            "-l",
            &log.display().to_string(),
            "-w",
            "-t",
            &timeout.as_secs().max(1).to_string(),
            "start",
        ]);
        if !started.status.success() {
            cluster.stop();
            let text = std::fs::read_to_string(&log).unwrap_or_default();
            let tail: Vec<&str> = text.lines().rev().take(3).collect();
            return Err(ScratchError::NotStarted(
                tail.into_iter().rev().collect::<Vec<_>>().join(" / "),
            ));
        }
        Ok(cluster)
    }

    fn pg_ctl(&self, args: &[&str]) -> Output {
        let mut cmd = self.tool("pg_ctl");
        cmd.args(args);
        crate::adapters::spawn::output(&mut cmd).unwrap_or_else(|e| Output {
            status: std::os::unix::process::ExitStatusExt::from_raw(1 << 8),
            stdout: Vec::new(),
            stderr: e.to_string().into_bytes(),
        })
    }

    /// A PostgreSQL tool of the drill's installation, run as the PostgreSQL OS user when
    /// we are root (the cluster's files are theirs).
    fn tool(&self, name: &str) -> Command {
        let path = self.bin_dir.join(name);
        match &self.run_as {
            Some(user) => {
                let mut c = crate::adapters::spawn::child_command("runuser");
                c.args(["-u", user, "--"]).arg(&path);
                c
            }
            None => crate::adapters::spawn::child_command(&path),
        }
    }

    /// libpq conninfo of the scratch cluster for `user` and `dbname`.
    pub fn conninfo(&self, user: &str, dbname: &str) -> String {
        format!(
            "host={} port={} user={} dbname={} application_name=barman_drill",
            crate::adapters::libpq::quote_value(&self.socket_dir.display().to_string()),
            self.port,
            crate::adapters::libpq::quote_value(user),
            crate::adapters::libpq::quote_value(dbname)
        )
    }

    /// Connect as `user` to `dbname`.
    ///
    /// # Errors
    /// libpq's message.
    pub fn connect(&self, user: &str, dbname: &str) -> Result<Connection, ScratchError> {
        Connection::open(&self.conninfo(user, dbname), Kind::Regular)
            .map_err(|e| ScratchError::Connect(e.message))
    }

    /// Wait until the server has left recovery (replayed to its target and promoted).
    ///
    /// # Errors
    /// Still in recovery after `timeout`, or the server went away.
    pub fn wait_promoted(&self, user: &str, timeout: Duration) -> Result<(), ScratchError> {
        let deadline = Instant::now() + timeout;
        loop {
            let state = self
                .connect(user, "postgres")
                .or_else(|_| self.connect(user, "template1"))
                .and_then(|mut c| {
                    c.query("SELECT pg_is_in_recovery()")
                        .map_err(|e| ScratchError::Connect(e.message))
                        .map(|rows| rows.first().and_then(|r| r.first().cloned().flatten()))
                });
            match state {
                Ok(Some(v)) if v == "f" => return Ok(()),
                Err(e) if !self.is_running() => return Err(ScratchError::Stopped(e.to_string())),
                _ if Instant::now() > deadline => {
                    return Err(ScratchError::StillInRecovery(timeout.as_secs()))
                }
                _ => std::thread::sleep(Duration::from_millis(200)),
            }
        }
    }

    fn is_running(&self) -> bool {
        self.pg_ctl(&["-D", &self.data.display().to_string(), "status"])
            .status
            .success()
    }

    /// Run `pg_amcheck` over every database (heap and btree, installing amcheck where it
    /// is missing: the cluster is thrown away). Returns its report lines; empty when clean.
    ///
    /// # Errors
    /// pg_amcheck could not run at all.
    pub fn amcheck(&self, user: &str, jobs: u32) -> Result<Vec<String>, ScratchError> {
        let tool = self.bin_dir.join("pg_amcheck");
        if !tool.is_file() {
            return Err(ScratchError::ToolMissing(tool));
        }
        let mut cmd = self.tool("pg_amcheck");
        cmd.args(["-h", &self.socket_dir.display().to_string()])
            .args(["-p", &self.port.to_string(), "-U", user])
            .args(["--all", "--install-missing", "--no-password"])
            .args(["-j", &jobs.max(1).to_string()]);
        let out = crate::adapters::spawn::output(&mut cmd).map_err(ScratchError::Amcheck)?;
        // A finding is a line naming the relation, then indented lines saying what is wrong.
        let text = String::from_utf8_lossy(&out.stdout);
        let mut lines: Vec<String> = Vec::new();
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            match lines.last_mut() {
                Some(last) if line.starts_with(char::is_whitespace) => {
                    last.push(' ');
                    last.push_str(line.trim());
                }
                _ => lines.push(line.trim_end().to_string()),
            }
        }
        // Exit 2 is "corruption found" (reported on stdout); anything else non-zero is a
        // failure to check, reported with its stderr.
        match out.status.code() {
            Some(0) => Ok(Vec::new()),
            Some(2) if !lines.is_empty() => Ok(lines),
            _ => {
                lines.extend(
                    String::from_utf8_lossy(&out.stderr)
                        .lines()
                        .map(str::to_string),
                );
                Ok(if lines.is_empty() {
                    vec![format!("pg_amcheck failed ({})", out.status)]
                } else {
                    lines
                })
            }
        }
    }

    /// Stop the server now (immediate: nothing of it is kept).
    pub fn stop(&mut self) {
        if self.running {
            let _ = self.pg_ctl(&[
                "-D",
                &self.data.display().to_string(),
                "-m",
                "immediate",
                "stop",
            ]);
            self.running = false;
        }
    }
}

/// Why the drill's scratch cluster could not be set up, started or checked.
#[derive(Debug, thiserror::Error)]
pub enum ScratchError {
    /// A file or folder of the scratch tree.
    #[error("{}: {source}", path.display())]
    Io {
        /// The path involved.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// No free loopback port.
    #[error("no free port: {0}")]
    Port(std::io::Error),
    /// The PostgreSQL OS user does not exist.
    #[error("no OS user '{0}' to run PostgreSQL as")]
    NoUser(String),
    /// The user database could not be read.
    #[error("cannot look up the PostgreSQL OS user: {0}")]
    UserLookup(nix::Error),
    /// `pg_ctl start` failed: the server log's last lines.
    #[error("PostgreSQL did not start: {0}")]
    NotStarted(String),
    /// libpq's message.
    #[error("{0}")]
    Connect(String),
    /// The server went away while we waited.
    #[error("the server stopped: {0}")]
    Stopped(String),
    /// Recovery did not end in time (seconds).
    #[error("still in recovery after {0} s")]
    StillInRecovery(u64),
    /// A tool of the installation is missing.
    #[error("{} not found", .0.display())]
    ToolMissing(PathBuf),
    /// pg_amcheck could not be run.
    #[error("cannot run pg_amcheck: {0}")]
    Amcheck(std::io::Error),
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> ScratchError + '_ {
    move |source| ScratchError::Io {
        path: path.to_path_buf(),
        source,
    }
}

impl Drop for ScratchCluster {
    fn drop(&mut self) {
        self.stop();
    }
}

fn free_port() -> Result<u16, ScratchError> {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|a| a.port())
        .map_err(ScratchError::Port)
}

fn append(path: &Path, text: &str) -> Result<(), ScratchError> {
    use std::io::Write;
    std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .open(path)
        .and_then(|mut f| f.write_all(text.as_bytes()))
        .map_err(io(path))
}

/// Give the scratch tree to `user`, so PostgreSQL can run as that user.
fn chown_tree(root: &Path, user: &str) -> Result<(), ScratchError> {
    let account = nix::unistd::User::from_name(user)
        .map_err(ScratchError::UserLookup)?
        .ok_or_else(|| ScratchError::NoUser(user.to_string()))?;
    let mut stack = vec![root.to_path_buf()];
    while let Some(path) = stack.pop() {
        std::os::unix::fs::lchown(
            &path,
            Some(account.uid.as_raw()),
            Some(account.gid.as_raw()),
        )
        .map_err(io(&path))?;
        let meta = std::fs::symlink_metadata(&path).map_err(io(&path))?;
        if meta.is_dir() {
            for entry in std::fs::read_dir(&path).map_err(io(&path))? {
                stack.push(entry.map_err(io(&path))?.path());
            }
        }
    }
    Ok(())
}
