//! `Sshd`: an OpenSSH server on a free loopback port with its own host key, accepting one
//! generated client key for a chosen OS user; killed on drop.

use super::pg_cluster::shared_tempdir;
use super::ports::free_port;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// The sshd binary.
pub const SSHD: &str = "/usr/sbin/sshd";

/// True when sshd, ssh, ssh-keygen and rsync are installed.
pub fn ssh_available() -> bool {
    Path::new(SSHD).is_file() && which("ssh") && which("ssh-keygen") && which("rsync")
}

fn which(program: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {program}")])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// A running sshd.
pub struct Sshd {
    dir: tempfile::TempDir,
    port: u16,
    user: String,
    child: Child,
}

fn keygen(path: &Path) {
    let status = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(path)
        .status()
        .expect("run ssh-keygen");
    assert!(status.success(), "ssh-keygen failed");
}

impl Sshd {
    /// Start an sshd that lets the test's key log in as `user`.
    pub fn start(user: &str) -> Sshd {
        let dir = shared_tempdir();
        let host_key = dir.path().join("host_key");
        let client_key = dir.path().join("client_key");
        keygen(&host_key);
        keygen(&client_key);
        let authorized = dir.path().join("authorized_keys");
        std::fs::copy(dir.path().join("client_key.pub"), &authorized).expect("authorized_keys");
        if super::is_root() {
            // sshd (without PAM) refuses locked accounts; privilege separation needs /run/sshd.
            let locked = Command::new("passwd")
                .args(["-S", user])
                .output()
                .map(|o| String::from_utf8_lossy(&o.stdout).split_whitespace().nth(1) == Some("L"))
                .unwrap_or(false);
            if locked {
                let _ = Command::new("usermod").args(["-p", "*", user]).status();
            }
            std::fs::create_dir_all("/run/sshd").expect("/run/sshd");
        }
        let port = free_port();
        let config = dir.path().join("sshd_config");
        std::fs::write(
            &config,
            format!(
                "Port {port}\nListenAddress 127.0.0.1\nHostKey {host}\nPidFile {pid}\n\
                 AuthorizedKeysFile {auth}\nStrictModes no\nUsePAM no\nPasswordAuthentication no\n\
                 KbdInteractiveAuthentication no\nPubkeyAuthentication yes\nAllowUsers {user}\n\
                 LogLevel INFO\nPermitRootLogin yes\nSetEnv PATH={bin}:/usr/local/bin:/usr/bin:/bin\n",
                host = host_key.display(),
                pid = dir.path().join("sshd.pid").display(),
                auth = authorized.display(),
                // Remote commands find this build's `barman` first, as an installed one would be.
                bin = Path::new(env!("CARGO_BIN_EXE_barman")).parent().unwrap_or(Path::new("/")).display(),
            ),
        )
        .expect("sshd_config");
        let child = Command::new(SSHD)
            .arg("-D")
            .arg("-E")
            .arg(dir.path().join("sshd.log"))
            .arg("-f")
            .arg(&config)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start sshd");
        let sshd = Sshd {
            dir,
            port,
            user: user.to_string(),
            child,
        };
        sshd.wait_listening();
        sshd
    }

    fn wait_listening(&self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "sshd did not listen on port {}",
                self.port
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Connections this sshd has accepted so far (its log's `Accepted publickey` lines).
    pub fn accepted_connections(&self) -> usize {
        std::fs::read_to_string(self.dir.path().join("sshd.log"))
            .unwrap_or_default()
            .matches("Accepted publickey")
            .count()
    }

    /// The client private key (readable by the user running ssh).
    pub fn key(&self) -> PathBuf {
        self.dir.path().join("client_key")
    }

    /// `ssh_command` for Barman: `ssh -p PORT -i KEY … USER@127.0.0.1`.
    pub fn ssh_command(&self) -> String {
        format!(
            "ssh -p {} -i {} -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR -o BatchMode=yes {}@127.0.0.1",
            self.port,
            self.key().display(),
            self.user
        )
    }

    /// A folder holding an `ssh` wrapper that adds this server's key and host-key options,
    /// so programs that run plain `ssh -p PORT user@host …` (barman-wal-archive,
    /// barman-wal-restore) reach this sshd, as a `~/.ssh/config` entry would make them.
    /// The key copy is owned by `owner` (the OS user that will run ssh).
    pub fn client_path_dir(&self, owner: &str) -> PathBuf {
        let dir = self.dir.path().join(format!("client-{owner}"));
        std::fs::create_dir_all(&dir).expect("client dir");
        let key = dir.join("key");
        std::fs::copy(self.key(), &key).expect("copy key");
        let wrapper = dir.join("ssh");
        std::fs::write(
            &wrapper,
            format!(
                "#!/bin/sh\nexec /usr/bin/ssh -i {} -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o BatchMode=yes -o LogLevel=ERROR \"$@\"\n",
                key.display()
            ),
        )
        .expect("ssh wrapper");
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&wrapper, std::fs::Permissions::from_mode(0o755))
            .expect("chmod wrapper");
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).expect("chmod key");
        if super::is_root() {
            let _ = Command::new("chown")
                .args(["-R", &format!("{owner}:")])
                .arg(&dir)
                .status();
        }
        dir
    }

    /// Run a remote shell command through this sshd.
    pub fn run(&self, remote: &str) -> Output {
        let words = shell_words::split(&self.ssh_command()).expect("split ssh command");
        Command::new(&words[0])
            .args(&words[1..])
            .arg(remote)
            .output()
            .expect("run ssh")
    }
}

impl Drop for Sshd {
    fn drop(&mut self) {
        // Session processes outlive the listener (and keep clients' shared ssh connections
        // alive): end them first.
        let _ = Command::new("pkill")
            .args(["-P", &self.child.id().to_string()])
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
