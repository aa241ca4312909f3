//! `BarmanHome`: a temporary `barman_home` with a configuration writer, and runners for our
//! `barman` binary and Python Barman against it.

use super::pg_cluster::shared_tempdir;
use std::path::{Path, PathBuf};
use std::process::Command;

/// A finished command: its output and exit code.
#[derive(Debug)]
pub struct Run {
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
    /// Exit code (-1 when killed by a signal).
    pub code: i32,
}

impl Run {
    /// Run `cmd` to completion.
    pub fn of(cmd: &mut Command) -> Run {
        let out = cmd
            .env_remove("BARMAN_CONFIG_FILE")
            .output()
            .expect("run command");
        Run {
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
            code: out.status.code().unwrap_or(-1),
        }
    }

    /// Run `cmd` to completion, or for `limit` at most: then its whole process group is
    /// killed and `None` comes back. For a peer that can hang (Python Barman's upload
    /// workers, forked beside running threads, can deadlock), never for our own commands.
    pub fn within(cmd: &mut Command, limit: std::time::Duration) -> Option<Run> {
        use std::os::unix::process::CommandExt;
        use std::process::Stdio;
        let child = cmd
            .env_remove("BARMAN_CONFIG_FILE")
            .process_group(0)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run command");
        let group = nix::unistd::Pid::from_raw(i32::try_from(child.id()).expect("pid"));
        let (done, finished) = std::sync::mpsc::channel();
        std::thread::spawn(move || done.send(child.wait_with_output()));
        match finished.recv_timeout(limit) {
            Ok(out) => {
                let out = out.expect("wait for command");
                Some(Run {
                    stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
                    stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
                    code: out.status.code().unwrap_or(-1),
                })
            }
            Err(_) => {
                let _ = nix::sys::signal::killpg(group, nix::sys::signal::Signal::SIGKILL);
                None
            }
        }
    }

    /// Panic with everything printed unless the exit code is 0.
    pub fn ok(self) -> Run {
        assert_eq!(
            self.code, 0,
            "stdout:\n{}\nstderr:\n{}",
            self.stdout, self.stderr
        );
        self
    }
}

/// A temporary Barman installation: `<dir>/home` is `barman_home`, `<dir>/barman.conf` the
/// main configuration, `<dir>/barman.d` the include folder.
pub struct BarmanHome {
    dir: tempfile::TempDir,
}

/// The name of the user running the tests (configs set `barman_user` to it so neither we
/// nor Python Barman switch users).
pub fn current_user() -> String {
    nix::unistd::User::from_uid(nix::unistd::getuid())
        .ok()
        .flatten()
        .map(|u| u.name)
        .unwrap_or_else(|| "root".into())
}

impl BarmanHome {
    /// The folder of server `name` inside `barman_home`.
    pub fn server_dir(&self, name: &str) -> PathBuf {
        self.home().join(name)
    }

    /// A new, empty home with a minimal `[barman]` section.
    pub fn new() -> BarmanHome {
        let dir = shared_tempdir();
        std::fs::create_dir(dir.path().join("home")).expect("barman_home");
        std::fs::create_dir(dir.path().join("barman.d")).expect("barman.d");
        let home = BarmanHome { dir };
        home.write_config("", &[]);
        home
    }

    /// The temp folder.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// `barman_home`.
    pub fn home(&self) -> PathBuf {
        self.dir.path().join("home")
    }

    /// `barman.log` in the temp folder: where [`Self::log_file_line`] sends the log.
    pub fn log_path(&self) -> PathBuf {
        self.dir.path().join("barman.log")
    }

    /// The `log_file = …` line naming [`Self::log_path`], for `write_config`'s global part.
    pub fn log_file_line(&self) -> String {
        format!("log_file = {}\n", self.log_path().display())
    }

    /// The main configuration file.
    pub fn config_path(&self) -> PathBuf {
        self.dir.path().join("barman.conf")
    }

    /// Rewrite `barman.conf`: the `[barman]` section (plus `global_extra` lines) and one
    /// section per `(name, body)`.
    pub fn write_config(&self, global_extra: &str, servers: &[(&str, &str)]) {
        let mut text = format!(
            "[barman]\nbarman_home = {}\nbarman_user = {}\nconfiguration_files_directory = {}\nlog_level = INFO\n{global_extra}\n",
            self.home().display(),
            current_user(),
            self.dir.path().join("barman.d").display()
        );
        for (name, body) in servers {
            text.push_str(&format!("[{name}]\n{body}\n"));
        }
        std::fs::write(self.config_path(), text).expect("write barman.conf");
    }

    /// Write `barman.d/<file>`.
    pub fn write_include(&self, file: &str, text: &str) {
        std::fs::write(self.dir.path().join("barman.d").join(file), text).expect("write include");
    }

    /// Our binary with `-c <config>`.
    pub fn barman(&self) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_barman"));
        cmd.arg("-c").arg(self.config_path());
        cmd
    }

    /// Run our binary with `args`.
    pub fn run(&self, args: &[&str]) -> Run {
        Run::of(self.barman().args(args))
    }

    /// Python Barman with `-c <config>` preset (panics when it is not installed: check
    /// with `require!` first).
    pub fn python_barman(&self) -> Command {
        super::python_barman::python_barman(&self.config_path())
    }

    /// Run Python Barman with `args` (None when it is not installed).
    pub fn run_python(&self, args: &[&str]) -> Option<Run> {
        let mut cmd = super::python_barman::command()?;
        cmd.arg("-c").arg(self.config_path()).args(args);
        Some(Run::of(&mut cmd))
    }
}
