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
    /// The server binaries' folder (`initdb`, `pg_ctl`, `postgres`); [`pg_bin`] when None.
    pub bin_dir: Option<PathBuf>,
    /// No TLS: plain `host … scram-sha-256` instead of `hostssl` (for a server or client
    /// build without OpenSSL; the test says which and why).
    pub without_tls: bool,
    /// Extra `postgresql.conf` lines (`key = value`).
    pub settings: Vec<(String, String)>,
}

impl PgOptions {
    /// Add one `postgresql.conf` setting; `value` is written as is, so string values carry
    /// their own quotes (`.set("archive_command", "'/bin/true'")`).
    pub fn set(mut self, key: &str, value: &str) -> Self {
        self.settings.push((key.to_string(), value.to_string()));
        self
    }

    /// Add one setting whose value is a string, quoted for `postgresql.conf`.
    pub fn set_str(self, key: &str, value: &str) -> Self {
        self.set(key, &conf_quote(value))
    }

    /// `archive_mode` (`on`, `off` or `always`).
    pub fn archive_mode(self, mode: &str) -> Self {
        self.set("archive_mode", mode)
    }

    /// `archive_command`, quoted for `postgresql.conf`.
    pub fn archive_command(self, command: &str) -> Self {
        self.set_str("archive_command", command)
    }

    /// `wal_level` (`replica` by default in the harness, or `logical`, `minimal`).
    pub fn wal_level(self, level: &str) -> Self {
        self.set("wal_level", level)
    }

    /// `max_wal_senders` (10 by default in the harness).
    pub fn max_wal_senders(self, n: u32) -> Self {
        self.set("max_wal_senders", &n.to_string())
    }

    /// `max_replication_slots` (10 by default in the harness).
    pub fn max_replication_slots(self, n: u32) -> Self {
        self.set("max_replication_slots", &n.to_string())
    }

    /// `initdb --wal-segsize=<mb>` (a power of two from 1 to 1024).
    pub fn wal_segsize_mb(mut self, mb: u32) -> Self {
        self.wal_segsize_mb = Some(mb);
        self
    }

    /// Run another PostgreSQL major: the folder of its `initdb`, `pg_ctl`, `postgres`.
    pub fn bin_dir(mut self, dir: PathBuf) -> Self {
        self.bin_dir = Some(dir);
        self
    }

    /// See [`PgOptions::without_tls`].
    pub fn without_tls(mut self) -> Self {
        self.without_tls = true;
        self
    }

    /// `initdb --data-checksums`.
    pub fn data_checksums(mut self) -> Self {
        self.data_checksums = true;
        self
    }
}

/// `value` as a single-quoted `postgresql.conf` string (quotes doubled).
pub fn conf_quote(value: &str) -> String {
    format!("'{}'", value.replace('\'', "''"))
}

/// The `pg_hba.conf` of every harness cluster, as a production server has it: over TCP,
/// TLS and SCRAM only (a plain-text connection is refused), the passwords coming from the
/// harness's `.pgpass` file. The Unix socket trusts because it is the harness's own
/// administration path (creating roles, reading rows back); no test gives barman a socket
/// conninfo unless it says why.
const PG_HBA: &str = "\
# barman test harness
local   all             all                                     trust
local   replication     all                                     trust
hostssl all             all             127.0.0.1/32            scram-sha-256
hostssl replication     all             127.0.0.1/32            scram-sha-256
";

/// A running PostgreSQL cluster.
pub struct PgCluster {
    /// Socket dir, server log and (unless started in place) the data directory.
    dir: tempfile::TempDir,
    /// The data directory: `dir/data`, or a folder the test owns for `start_in_place`.
    data: PathBuf,
    port: u16,
    running: bool,
    /// The server binaries it runs with.
    bin_dir: PathBuf,
}

/// Run a PostgreSQL tool as the `postgres` user when we are root.
pub fn pg_command(tool: &str) -> Command {
    pg_command_in(&pg_bin(), tool)
}

/// [`pg_command`] for the tool of the binaries in `bin_dir`.
pub fn pg_command_in(bin_dir: &Path, tool: &str) -> Command {
    let program = bin_dir.join(tool);
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
        std::fs::create_dir(dir.path().join("sock")).expect("socket dir");
        give_to_postgres(dir.path());
        let bin_dir = options.bin_dir.clone().unwrap_or_else(pg_bin);
        let mut initdb = pg_command_in(&bin_dir, "initdb");
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
        // Harness defaults first: the test's own settings come later and so win.
        let mut settings = vec![
            ("fsync".to_string(), "off".to_string()),
            ("wal_level".to_string(), "replica".to_string()),
            ("max_wal_senders".to_string(), "10".to_string()),
            ("max_replication_slots".to_string(), "10".to_string()),
        ];
        settings.extend(options.settings);
        let tls = !options.without_tls;
        let cluster = Self::launch(dir, data, &settings, bin_dir, tls);
        // The bootstrap superuser gets its password only now, over the trusted socket.
        cluster.execute(&format!(
            "ALTER ROLE postgres PASSWORD '{}'",
            super::auth::PASSWORD
        ));
        cluster
    }

    /// Start a cluster on a copy of an existing data directory (e.g. one Barman recovered)
    /// on a free port. The copy is made so the original stays as the test left it.
    pub fn start_existing(data: &Path) -> PgCluster {
        Self::start_existing_with(data, &[])
    }

    /// [`PgCluster::start_existing`] with extra `postgresql.conf` settings (written as is,
    /// after the recovered configuration, so they win).
    ///
    /// Tablespaces are not copied: the copy's `pg_tblspc` links still lead to the original
    /// locations. Use [`PgCluster::start_in_place`] for a data directory with tablespaces.
    pub fn start_existing_with(data: &Path, settings: &[(&str, &str)]) -> PgCluster {
        let dir = shared_tempdir();
        std::fs::create_dir(dir.path().join("sock")).expect("socket dir");
        let target = dir.path().join("data");
        run_ok(
            Command::new("cp").args(["-a"]).arg(data).arg(&target),
            "copy data dir",
        );
        give_to_postgres(dir.path());
        Self::launch(dir, target, &restored(settings), pg_bin(), true)
    }

    /// Start a server on the data directory `data` itself (e.g. where `barman recover` put
    /// it), on a free port. The folder, and the tablespaces its `pg_tblspc` links lead to,
    /// are given to `postgres`; drop stops the server but leaves `data` to its owner.
    pub fn start_in_place(data: &Path, settings: &[(&str, &str)]) -> PgCluster {
        Self::start_in_place_with(data, settings, pg_bin(), true)
    }

    /// [`PgCluster::start_in_place`] with the server binaries of `bin_dir` (another major).
    pub fn start_in_place_with(
        data: &Path,
        settings: &[(&str, &str)],
        bin_dir: PathBuf,
        tls: bool,
    ) -> PgCluster {
        let dir = shared_tempdir();
        std::fs::create_dir(dir.path().join("sock")).expect("socket dir");
        give_to_postgres(dir.path());
        give_to_postgres(data);
        Self::launch(dir, data.to_path_buf(), &restored(settings), bin_dir, tls)
    }

    /// Point the data directory `data` at a free port, the socket dir in `dir` and trust
    /// authentication, then start it.
    fn launch(
        dir: tempfile::TempDir,
        data: PathBuf,
        settings: &[(String, String)],
        bin_dir: PathBuf,
        tls: bool,
    ) -> PgCluster {
        use std::os::unix::fs::PermissionsExt;
        // A copy of a running or crashed server carries its lock file; PostgreSQL also
        // refuses a data directory others can read.
        let _ = std::fs::remove_file(data.join("postmaster.pid"));
        std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o700))
            .expect("chmod data dir");
        if let Ok(links) = std::fs::read_dir(data.join("pg_tblspc")) {
            for link in links.flatten() {
                if let Ok(location) = std::fs::read_link(link.path()) {
                    give_to_postgres(&location);
                }
            }
        }
        let port = free_port();
        super::auth::export_passfile();
        let mut conf = format!(
            "\n# barman test harness\nport = {port}\nlisten_addresses = '127.0.0.1'\n\
             unix_socket_directories = {}\npassword_encryption = 'scram-sha-256'\n",
            conf_quote(&dir.path().join("sock").display().to_string()),
        );
        if tls {
            let (cert, key) = super::auth::install_server_tls(dir.path());
            give_to_postgres(&cert);
            give_to_postgres(&key);
            conf.push_str(&format!(
                "ssl = on\nssl_cert_file = {}\nssl_key_file = {}\n",
                conf_quote(&cert.display().to_string()),
                conf_quote(&key.display().to_string()),
            ));
        } else {
            conf.push_str("ssl = off\n");
        }
        for (key, value) in settings {
            conf.push_str(&format!("{key} = {value}\n"));
        }
        append(&data.join("postgresql.conf"), &conf);
        let hba = if tls {
            PG_HBA.to_string()
        } else {
            PG_HBA.replace("hostssl", "host   ")
        };
        std::fs::write(data.join("pg_hba.conf"), hba).expect("write pg_hba.conf");
        give_to_postgres(&data.join("pg_hba.conf"));
        let mut cluster = PgCluster {
            dir,
            data,
            port,
            running: false,
            bin_dir,
        };
        cluster.pg_ctl_start();
        cluster
    }

    fn pg_ctl_start(&mut self) {
        let log = self.dir.path().join("server.log");
        let out = pg_command_in(&self.bin_dir, "pg_ctl")
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
            match postgres::Client::connect(&self.admin_conninfo(), postgres::NoTls) {
                Ok(_) => return,
                Err(e) if Instant::now() > deadline => {
                    panic!("cluster on port {} never answered: {e}", self.port)
                }
                Err(_) => std::thread::sleep(Duration::from_millis(100)),
            }
        }
    }

    /// `pg_ctl stop -m <mode>`; true when the server is down.
    fn pg_ctl_stop(&self, mode: &str, timeout_secs: u32) -> bool {
        pg_command_in(&self.bin_dir, "pg_ctl")
            .arg("-D")
            .arg(self.data_dir())
            .args(["-m", mode, "-w", "-t", &timeout_secs.to_string(), "stop"])
            .output()
            .is_ok_and(|o| o.status.success())
    }

    /// Stop the server (fast shutdown); panics with the server log when it will not stop.
    pub fn stop(&mut self) {
        if self.running {
            assert!(
                self.pg_ctl_stop("fast", 60),
                "pg_ctl stop failed on port {}:\n{}",
                self.port,
                self.log()
            );
            self.running = false;
        }
    }

    /// Start the server again after [`PgCluster::stop`].
    pub fn start_again(&mut self) {
        if !self.running {
            self.pg_ctl_start();
        }
    }

    /// Restart the server (after changing settings).
    pub fn restart(&mut self) {
        self.stop();
        self.pg_ctl_start();
    }

    /// True while the harness believes the server is up.
    pub fn is_running(&self) -> bool {
        self.running
    }

    /// Append `key = value` lines to `postgresql.conf` (values written as is); they take
    /// effect on [`PgCluster::reload`] or [`PgCluster::restart`].
    pub fn append_settings(&self, settings: &[(&str, &str)]) {
        let text: String = settings
            .iter()
            .map(|(k, v)| format!("{k} = {v}\n"))
            .collect();
        append(&self.data_dir().join("postgresql.conf"), &text);
    }

    /// Put `lines` ahead of the harness's `pg_hba.conf` rules and reload.
    pub fn prepend_hba(&self, lines: &str) {
        let path = self.data_dir().join("pg_hba.conf");
        let text = std::fs::read_to_string(&path).expect("read pg_hba.conf");
        std::fs::write(&path, format!("{lines}{text}")).expect("write pg_hba.conf");
        self.reload();
    }

    /// `SELECT pg_reload_conf()`.
    pub fn reload(&self) {
        self.execute("SELECT pg_reload_conf()");
    }

    /// The TCP port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The data directory.
    pub fn data_dir(&self) -> PathBuf {
        self.data.clone()
    }

    /// The unix socket directory (kept short: socket paths are limited to 108 bytes).
    pub fn socket_dir(&self) -> PathBuf {
        self.dir.path().join("sock")
    }

    /// The cluster's private folder (owned by postgres when running as root): socket dir,
    /// server log, and the data directory unless started in place.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Path of a PostgreSQL tool of the version the cluster runs (`bin("pg_basebackup")`).
    pub fn bin(&self, tool: &str) -> PathBuf {
        self.bin_dir.join(tool)
    }

    /// The harness's own administrative conninfo: the `postgres` superuser over the Unix
    /// socket (trusted; see [`PG_HBA`]). Not for barman's configurations.
    pub fn admin_conninfo(&self) -> String {
        format!(
            "host={} port={} user=postgres dbname=postgres",
            self.socket_dir().display(),
            self.port
        )
    }

    /// libpq conninfo as the `postgres` superuser, as an operator writes it: TCP to the
    /// loopback address, TLS negotiated by libpq's default `sslmode=prefer`, the SCRAM
    /// password from the harness's `.pgpass`.
    pub fn conninfo(&self) -> String {
        format!(
            "host=127.0.0.1 port={} user=postgres dbname=postgres",
            self.port
        )
    }

    /// libpq conninfo as `user` on database `dbname`.
    pub fn conninfo_as(&self, user: &str, dbname: &str) -> String {
        format!(
            "host=127.0.0.1 port={} user={user} dbname={dbname}",
            self.port
        )
    }

    /// A new SQL session (the administrative one, over the socket).
    pub fn client(&self) -> postgres::Client {
        postgres::Client::connect(&self.admin_conninfo(), postgres::NoTls)
            .expect("connect to the test cluster")
    }

    /// Run statements (no results).
    pub fn execute(&self, sql: &str) {
        self.client()
            .batch_execute(sql)
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
    }

    /// Every row of `sql` as text columns (NULL as the empty string), in order.
    pub fn query_rows(&self, sql: &str) -> Vec<Vec<String>> {
        let messages = self
            .client()
            .simple_query(sql)
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
        messages
            .iter()
            .filter_map(|m| match m {
                postgres::SimpleQueryMessage::Row(row) => Some(
                    (0..row.len())
                        .map(|i| row.get(i).unwrap_or("").to_string())
                        .collect(),
                ),
                _ => None,
            })
            .collect()
    }

    /// The first column of the first row, as text.
    pub fn query_scalar(&self, sql: &str) -> String {
        self.query_rows(sql)
            .into_iter()
            .next()
            .and_then(|row| row.into_iter().next())
            .unwrap_or_else(|| panic!("{sql}: no row"))
    }

    /// Same as [`PgCluster::query_scalar`]: one value, as text.
    pub fn query_one(&self, sql: &str) -> String {
        self.query_scalar(sql)
    }

    /// Run `sql` through the `psql` binary (`-X -A -t -q`, stop on error) as `postgres`,
    /// returning its standard output; panics with its error output when it fails.
    pub fn psql(&self, sql: &str) -> String {
        let out = run_ok(
            pg_command("psql")
                .args(["-X", "-A", "-t", "-q", "-v", "ON_ERROR_STOP=1", "-d"])
                .arg(self.admin_conninfo())
                .arg("-c")
                .arg(sql),
            "psql",
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Create a login role with the harness password (found in the `.pgpass`);
    /// `options` are `CREATE ROLE` options (`"SUPERUSER"`, `"REPLICATION"`, …; empty for a
    /// plain user).
    pub fn create_user(&self, name: &str, options: &str) {
        self.execute(&format!(
            "CREATE ROLE {name} LOGIN PASSWORD '{}' {options}",
            super::auth::PASSWORD
        ));
    }

    /// Create a folder owned by postgres for a tablespace and the tablespace itself.
    pub fn create_tablespace(&self, name: &str) -> PathBuf {
        let location = self.tablespace_dir(name);
        self.execute(&format!(
            "CREATE TABLESPACE {name} LOCATION '{}'",
            location.display()
        ));
        location
    }

    /// A new empty folder owned by postgres, fit for `CREATE TABLESPACE … LOCATION`.
    pub fn tablespace_dir(&self, name: &str) -> PathBuf {
        let location = self.dir.path().join(format!("ts_{name}"));
        std::fs::create_dir(&location).expect("tablespace dir");
        give_to_postgres(&location);
        location
    }

    /// The server log (for failure messages).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default()
    }
}

fn owned(settings: &[(&str, &str)]) -> Vec<(String, String)> {
    settings
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// The settings of a cluster started on a recovered or copied data directory: archiving
/// off unless the test sets it. Barman's recovery writes `archive_command = false`, and at
/// every shutdown PostgreSQL's archiver retried each `.ready` segment three times a second
/// apart before it let the server stop: 3 s per recovered cluster, hundreds in the suite.
fn restored(settings: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut all = owned(settings);
    if !settings
        .iter()
        .any(|(k, _)| matches!(*k, "archive_mode" | "archive_command"))
    {
        all.insert(0, ("archive_mode".to_string(), "off".to_string()));
    }
    all
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
        if !self.running {
            return;
        }
        // Fast first (a clean shutdown); immediate when something (a walsender waiting on
        // a stuck client) holds it up; SIGKILL as the last resort, so no test leaves a
        // server behind on a shared machine.
        if self.pg_ctl_stop("fast", 10) || self.pg_ctl_stop("immediate", 10) {
            return;
        }
        // The postmaster's pid is the first line of postmaster.pid.
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
