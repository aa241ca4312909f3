//! `barman-wal-restore`: PostgreSQL's `restore_command` side of `get-wal`, with Barman's
//! command line, ssh argv, spool-directory prefetching (`-p N`) and exit codes (bad
//! destination 3, ssh failure 2, otherwise the remote code).

mod prefetch;

use super::fail;
use crate::adapters::codec::Codec;
use crate::error::ExitKind;
use clap::Parser;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};

/// Command line of `barman-wal-restore`.
#[derive(Debug, Parser)]
#[command(
    name = "barman-wal-restore",
    version = crate::BARMAN_VERSION,
    about = "This script will be used as a 'restore_command' based on the get-wal feature of Barman. A ssh connection will be opened to the Barman host."
)]
pub struct Args {
    /// ssh user and port.
    #[command(flatten)]
    pub ssh: super::SshTarget,
    /// Sleep for SECONDS after a failure of get-wal request. Defaults to 0 (nowait).
    #[arg(
        short = 's',
        long = "sleep",
        value_name = "SECONDS",
        default_value_t = 0
    )]
    pub sleep: u64,
    /// Specifies the number of files to peek and transfer in parallel. Defaults to 0
    /// (disabled).
    #[arg(
        short = 'p',
        long = "parallel",
        value_name = "JOBS",
        default_value_t = 0
    )]
    pub parallel: u32,
    /// Specifies spool directory for WAL files. Defaults to '/var/tmp/walrestore'.
    #[arg(long = "spool-dir", default_value = "/var/tmp/walrestore")]
    pub spool_dir: PathBuf,
    /// retrieve also partial WAL files (.partial)
    #[arg(short = 'P', long)]
    pub partial: bool,
    /// Transfer the WAL files compressed with gzip
    #[arg(short = 'z', long = "gzip", group = "transfer")]
    pub gzip: bool,
    /// Transfer the WAL files compressed with bzip2
    #[arg(short = 'j', long = "bzip2", group = "transfer")]
    pub bzip2: bool,
    /// Preserve compression during transfer, decompress once received
    #[arg(long = "keep-compression", group = "transfer")]
    pub keep_compression: bool,
    /// configuration file on the Barman server
    #[arg(short = 'c', long)]
    pub config: Option<String>,
    /// test both the connection and the configuration of the requested PostgreSQL server in
    /// Barman to make sure it is ready to receive WAL files.
    #[arg(short = 't', long)]
    pub test: bool,
    /// The host of the Barman server.
    #[arg(value_name = "BARMAN_HOST")]
    pub barman_host: String,
    /// The server name configured in Barman from which WALs are taken.
    #[arg(value_name = "SERVER_NAME")]
    pub server_name: String,
    /// The value of the '%f' keyword (according to 'restore_command').
    #[arg(value_name = "WAL_NAME")]
    pub wal_name: String,
    /// The value of the '%p' keyword (according to 'restore_command').
    #[arg(value_name = "WAL_DEST")]
    pub wal_dest: PathBuf,
}

/// Barman's single-quoting of remote arguments.
fn quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', "'\\''"))
}

/// The ssh argv for one remote `get-wal` (the remote command is one argument).
pub fn ssh_argv(args: &Args, wal: &str, peek: Option<u32>) -> Vec<String> {
    let mut argv = args.ssh.argv(&args.barman_host);
    if let Some(config) = &args.config {
        argv.extend(["--config".into(), config.clone()]);
    }
    let mut remote = vec!["get-wal".to_string()];
    if args.test {
        remote.push("--test".into());
    }
    if let Some(n) = peek {
        remote.push(format!("--peek {}", quote(&n.to_string())));
    }
    if args.gzip {
        remote.push("--gzip".into());
    }
    if args.bzip2 {
        remote.push("--bzip2".into());
    }
    if args.keep_compression {
        remote.push("--keep-compression".into());
    }
    if args.partial {
        remote.push("--partial".into());
    }
    remote.push(quote(&args.server_name));
    remote.push(quote(wal));
    argv.push(remote.join(" "));
    argv
}

/// Fetch `wal` into `dest`: stream from ssh, then decompress in place when it arrived
/// compressed. Returns ssh's exit code.
pub(crate) fn fetch(args: &Args, wal: &str, dest: &Path) -> std::io::Result<i32> {
    let argv = ssh_argv(args, wal, None);
    let file = std::fs::File::create(dest)?;
    let status = Command::new(&argv[0])
        .args(&argv[1..])
        .stdin(Stdio::null())
        .stdout(file)
        .status()?;
    let code = status.code().unwrap_or(1);
    if code == 0 {
        decompress_in_place(dest)?;
    }
    Ok(code)
}

fn decompress_in_place(path: &Path) -> std::io::Result<()> {
    let data = std::fs::read(path)?;
    if let Some(codec) = Codec::detect(&data) {
        let mut plain = Vec::with_capacity(data.len() * 4);
        codec.decompress(&mut data.as_slice(), &mut plain)?;
        let mut file = std::fs::File::create(path)?;
        file.write_all(&plain)?;
    }
    Ok(())
}

/// Run the client.
pub fn run(args: Args) -> ExitCode {
    if args.test {
        let argv = ssh_argv(&args, "dummy_wal_name", None);
        return match Command::new(&argv[0])
            .args(&argv[1..])
            .stdin(Stdio::null())
            .output()
        {
            Ok(out) => super::connectivity_test_result(&out),
            Err(e) => fail(
                &format!("Impossible to invoke remote get-wal: {e}"),
                ExitKind::RestoreClientSsh,
            ),
        };
    }
    if args.wal_dest.is_dir() {
        return fail(
            &format!(
                "WAL_DEST cannot be a directory: {}",
                args.wal_dest.display()
            ),
            ExitKind::RestoreClientDestination,
        );
    }
    // Served from the prefetch spool: a rename, no ssh at all. The background
    // prefetcher is told where replay is, so it keeps the next files coming.
    let spooled = args.spool_dir.join(&args.wal_name);
    if spooled.is_file() && std::fs::rename(&spooled, &args.wal_dest).is_ok() {
        if args.parallel > 0 {
            prefetch::ensure(&args);
        }
        return ExitCode::SUCCESS;
    }
    if let Err(e) = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .open(&args.wal_dest)
    {
        return fail(
            &format!("Cannot open '{}': {e}", args.wal_dest.display()),
            ExitKind::RestoreClientDestination,
        );
    }
    let code = match fetch(&args, &args.wal_name, &args.wal_dest) {
        Ok(code) => code,
        Err(e) => {
            let _ = std::fs::remove_file(&args.wal_dest);
            return fail(
                &format!("Impossible to invoke remote get-wal: {e}"),
                ExitKind::RestoreClientSsh,
            );
        }
    };
    if code != 0 {
        let _ = std::fs::remove_file(&args.wal_dest);
    } else if args.parallel > 0 {
        prefetch::ensure(&args);
    }
    exit_of(Some(code), &args)
}

fn exit_of(code: Option<i32>, args: &Args) -> ExitCode {
    let result = match code {
        Some(0) => return ExitCode::SUCCESS,
        Some(255) => fail("Connection problem with ssh", ExitKind::RestoreClientSsh),
        Some(code) => fail(
            "Remote 'barman get-wal' command has failed!",
            u8::try_from(code).map_or(ExitKind::Failure, ExitKind::RemoteFailed),
        ),
        None => fail(
            "Remote 'barman get-wal' command has failed!",
            ExitKind::Failure,
        ),
    };
    if args.sleep > 0 {
        crate::output::print_raw(&format!("Sleeping for {} seconds.\n", args.sleep));
        std::thread::sleep(std::time::Duration::from_secs(args.sleep));
    }
    result
}

/// The argv of a worker fetching `wal` with the same options.
pub(crate) fn rebuild_argv(args: &Args, wal: &str) -> Vec<String> {
    let mut argv = vec![
        "barman-wal-restore".to_string(),
        "-U".into(),
        args.ssh.user.clone(),
    ];
    if let Some(port) = &args.ssh.port {
        argv.extend(["--port".into(), port.clone()]);
    }
    if args.ssh.no_ssh_reuse {
        argv.push("--no-ssh-reuse".into());
    }
    if let Some(config) = &args.config {
        argv.extend(["-c".into(), config.clone()]);
    }
    if args.gzip {
        argv.push("-z".into());
    }
    if args.bzip2 {
        argv.push("-j".into());
    }
    if args.keep_compression {
        argv.push("--keep-compression".into());
    }
    argv.extend([
        "--spool-dir".into(),
        args.spool_dir.display().to_string(),
        args.barman_host.clone(),
        args.server_name.clone(),
        wal.to_string(),
        "/dev/null".into(),
    ]);
    argv
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wal_restore_builds_barmans_ssh_argv() {
        let args = Args::parse_from([
            "barman-wal-restore",
            "--no-ssh-reuse",
            "-P",
            "-c",
            "/etc/x.conf",
            "-U",
            "barman",
            "localhost",
            "pgr",
            "00000001000000000000000F",
            "/tmp/x",
        ]);
        assert_eq!(
            ssh_argv(&args, "00000001000000000000000F", Some(3)),
            [
                "ssh",
                "-q",
                "-T",
                "barman@localhost",
                "barman",
                "--config",
                "/etc/x.conf",
                "get-wal --peek '3' --partial 'pgr' '00000001000000000000000F'"
            ]
        );
        assert_eq!(
            ssh_argv(&args, "000000010000000000000010", None)
                .last()
                .unwrap(),
            "get-wal --partial 'pgr' '000000010000000000000010'"
        );
        let test = Args::parse_from([
            "barman-wal-restore",
            "--no-ssh-reuse",
            "-t",
            "--port",
            "22",
            "h",
            "pgr",
            "x",
            "y",
        ]);
        assert_eq!(
            ssh_argv(&test, "dummy_wal_name", None),
            [
                "ssh",
                "-p",
                "22",
                "-q",
                "-T",
                "barman@h",
                "barman",
                "get-wal --test 'pgr' 'dummy_wal_name'"
            ]
        );
    }
}
