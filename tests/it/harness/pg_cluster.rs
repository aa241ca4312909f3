//! `PgCluster`: a throw-away PostgreSQL cluster on a free loopback port, run as the
//! `postgres` OS user (PostgreSQL refuses root), stopped and removed on drop.

use super::ports::free_port;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

/// Where the PostgreSQL binaries are (`PG_BIN`, default PostgreSQL 15 on Debian).
pub fn pg_bin() -> PathBuf {
    std::env::var_os("PG_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/lib/postgresql/15/bin"))
}

/// True when `initdb` and `pg_ctl` are installed.
pub fn pg_available() -> bool {
    pg_bin().join("initdb").is_file() && pg_bin().join("pg_ctl").is_file()
}

/// Options for a new cluster.
#[derive(Debug, Clone, Default)]
pub struct PgOptions {
    /// `initdb --wal-segsize` in MiB.
    pub wal_segsize_mb: Option<u32>,
    /// `initdb --data-checksums`.
    pub data_checksums: bool,
    /// Extra `postgresql.conf` lines (`key = value`).
    pub settings: Vec<(String, String)>,
}

impl PgOptions {
    /// Add one `postgresql.conf` setting.
    pub fn set(mut self, key: &str, value: &str) -> Self {
        self.settings.push((key.to_string(), value.to_string()));
        self
    }
}

/// A running PostgreSQL cluster.
pub struct PgCluster {
    dir: tempfile::TempDir,
    port: u16,
    running: bool,
}

/// Run a PostgreSQL tool as the `postgres` user when we are root.
pub fn pg_command(tool: &str) -> Command {
    let program = pg_bin().join(tool);
    if super::is_root() {
        let mut cmd = Command::new("runuser");
        cmd.args(["-u", "postgres", "--"]).arg(program);
        cmd
    } else {
        Command::new(program)
    }
}

fn run_ok(cmd: &mut Command, what: &str) -> Output {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("{what}: cannot run: {e}"));
    assert!(
        out.status.success(),
        "{what} failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Make `path` owned by `postgres` (when root) so the server can use it.
pub fn give_to_postgres(path: &Path) {
    if super::is_root() {
        run_ok(
            Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(path),
            "chown",
        );
    }
}

/// A temp folder every user can enter (the base of clusters and backups).
pub fn shared_tempdir() -> tempfile::TempDir {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::Builder::new()
        .prefix("barman-it-")
        .tempdir_in("/tmp")
        .expect("tempdir");
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755))
        .expect("chmod tempdir");
    dir
}

impl PgCluster {
    /// `initdb` a new cluster with `options` and start it.
    pub fn start(options: PgOptions) -> PgCluster {
        let dir = shared_tempdir();
        let data = dir.path().join("data");
        let sock = dir.path().join("sock");
        std::fs::create_dir(&sock).expect("socket dir");
        give_to_postgres(dir.path());
        let mut initdb = pg_command("initdb");
        initdb
            .args([
                "--no-sync",
                "-U",
                "postgres",
                "--auth=trust",
                "-E",
                "UTF8",
                "--locale=C",
                "-D",
            ])
            .arg(&data);
        if let Some(mb) = options.wal_segsize_mb {
            initdb.arg(format!("--wal-segsize={mb}"));
        }
        if options.data_checksums {
            initdb.arg("--data-checksums");
        }
        run_ok(&mut initdb, "initdb");
        let port = free_port();
        let mut conf = format!(
            "\n# barman test harness\nport = {port}\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '{}'\n\
             fsync = off\nwal_level = replica\nmax_wal_senders = 10\nmax_replication_slots = 10\n",
            sock.display()
        );
        for (key, value) in &options.settings {
            conf.push_str(&format!("{key} = {value}\n"));
        }
        append(&data.join("postgresql.conf"), &conf);
        Self::launch(dir, port)
    }

    /// Start the server of a prepared folder (`data/` configured for `port`).
    fn launch(dir: tempfile::TempDir, port: u16) -> PgCluster {
        let mut cluster = PgCluster {
            dir,
            port,
            running: false,
        };
        cluster.pg_ctl_start();
        cluster
    }

    /// Start a cluster on an existing data directory (e.g. a recovered copy) on a free port.
    pub fn start_existing(data: &Path) -> PgCluster {
        let dir = shared_tempdir();
        let sock = dir.path().join("sock");
        std::fs::create_dir(&sock).expect("socket dir");
        let target = dir.path().join("data");
        run_ok(
            Command::new("cp").args(["-a"]).arg(data).arg(&target),
            "copy data dir",
        );
        give_to_postgres(dir.path());
        let port = free_port();
        append(
            &target.join("postgresql.conf"),
            &format!(
                "\nport = {port}\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '{}'\n",
                sock.display()
            ),
        );
        Self::launch(dir, port)
    }

    fn pg_ctl_start(&mut self) {
        let log = self.dir.path().join("server.log");
        let out = pg_command("pg_ctl")
            .arg("-D")
            .arg(self.data_dir())
            .arg("-l")
            .arg(&log)
            .args(["-w", "-t", "60", "start"])
            .output()
            .expect("run pg_ctl");
        if !out.status.success() {
            panic!(
                "pg_ctl start failed: {}\n{}",
                String::from_utf8_lossy(&out.stderr),
                std::fs::read_to_string(&log).unwrap_or_default()
            );
        }
        self.running = true;
        self.wait_ready();
    }

    fn wait_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            match postgres::Client::connect(&self.conninfo(), postgres::NoTls) {
                Ok(_) => return,
                Err(e) if Instant::now() > deadline => {
                    panic!("cluster on port {} never answered: {e}", self.port)
                }
                Err(_) => std::thread::sleep(Duration::from_millis(100)),
            }
        }
    }

    /// Stop the server (fast shutdown).
    pub fn stop(&mut self) {
        if self.running {
            let _ = pg_command("pg_ctl")
                .arg("-D")
                .arg(self.data_dir())
                .args(["-m", "fast", "-w", "-t", "30", "stop"])
                .output();
            self.running = false;
        }
    }

    /// Restart the server (after changing settings).
    pub fn restart(&mut self) {
        self.stop();
        self.pg_ctl_start();
    }

    /// The TCP port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The data directory.
    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// The cluster's private folder (owned by postgres when running as root).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// libpq conninfo as the `postgres` superuser.
    pub fn conninfo(&self) -> String {
        format!(
            "host=127.0.0.1 port={} user=postgres dbname=postgres",
            self.port
        )
    }

    /// A new SQL session.
    pub fn client(&self) -> postgres::Client {
        postgres::Client::connect(&self.conninfo(), postgres::NoTls)
            .expect("connect to the test cluster")
    }

    /// Run statements (no results).
    pub fn execute(&self, sql: &str) {
        self.client()
            .batch_execute(sql)
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
    }

    /// The first column of the first row, as text.
    pub fn query_scalar(&self, sql: &str) -> String {
        let rows = self
            .client()
            .simple_query(sql)
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
        rows.iter()
            .find_map(|m| match m {
                postgres::SimpleQueryMessage::Row(row) => {
                    Some(row.get(0).unwrap_or("").to_string())
                }
                _ => None,
            })
            .unwrap_or_else(|| panic!("{sql}: no row"))
    }

    /// Create a folder owned by postgres for a tablespace and the tablespace itself.
    pub fn create_tablespace(&self, name: &str) -> PathBuf {
        let location = self.dir.path().join(format!("ts_{name}"));
        std::fs::create_dir(&location).expect("tablespace dir");
        give_to_postgres(&location);
        self.execute(&format!(
            "CREATE TABLESPACE {name} LOCATION '{}'",
            location.display()
        ));
        location
    }

    /// The server log (for failure messages).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default()
    }
}

fn append(path: &Path, text: &str) {
    use std::io::Write;
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .open(path)
        .expect("open postgresql.conf");
    file.write_all(text.as_bytes())
        .expect("append postgresql.conf");
}

impl Drop for PgCluster {
    fn drop(&mut self) {
        if self.running {
            let stopped = pg_command("pg_ctl")
                .arg("-D")
                .arg(self.data_dir())
                .args(["-m", "immediate", "-w", "-t", "20", "stop"])
                .output()
                .is_ok_and(|o| o.status.success());
            if !stopped {
                // Last resort: the postmaster's pid is the first line of postmaster.pid.
                if let Ok(text) = std::fs::read_to_string(self.data_dir().join("postmaster.pid")) {
                    if let Some(pid) = text
                        .lines()
                        .next()
                        .and_then(|l| l.trim().parse::<i32>().ok())
                    {
                        let _ = nix::sys::signal::kill(
                            nix::unistd::Pid::from_raw(pid),
                            nix::sys::signal::Signal::SIGKILL,
                        );
                    }
                }
            }
        }
    }
}
