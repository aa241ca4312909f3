//! What makes a harness cluster a field-true one: a TLS certificate (a throw-away CA and a
//! server certificate for `127.0.0.1`/`localhost`, made once per build with `openssl`),
//! SCRAM passwords for every role the tests use, and a `.pgpass`-format password file that
//! every process the tests start finds through `PGPASSFILE` — the way operators give
//! Barman its passwords. Nothing here ever puts a password in a conninfo or an argv.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// The password of every role the harness creates (only ever written to password files).
pub const PASSWORD: &str = "harness-scram-secret";

/// Where the build keeps its shared test material (`CARGO_TARGET_TMPDIR`).
fn shared_dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("harness-auth");
    std::fs::create_dir_all(&dir).expect("create harness-auth dir");
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755))
        .expect("chmod harness-auth dir");
    dir
}

/// Write `text` at `path` with `mode` atomically (tests of one build run in parallel
/// processes, and each may be the first to create the file).
fn write_once(path: &Path, text: &[u8], mode: u32) {
    if path.exists() {
        return;
    }
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    std::fs::write(&tmp, text).expect("write harness file");
    std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(mode)).expect("chmod");
    std::fs::rename(&tmp, path).expect("rename harness file");
}

/// The password file (`host:port:db:user:password`, mode 0600, owned by the test user):
/// any port, database and role on the loopback address.
pub fn passfile() -> PathBuf {
    let path = shared_dir().join(format!("pgpass-{}", nix::unistd::geteuid()));
    write_once(
        &path,
        format!("# barman test harness\n127.0.0.1:*:*:*:{PASSWORD}\nlocalhost:*:*:*:{PASSWORD}\n")
            .as_bytes(),
        0o600,
    );
    path
}

/// Export `PGPASSFILE` for this test process, so every child (our barman, Python Barman,
/// pg_basebackup, pg_receivewal) reads its password as libpq reads it in the field.
pub fn export_passfile() {
    static DONE: OnceLock<()> = OnceLock::new();
    DONE.get_or_init(|| {
        let path = passfile();
        // Set once, before this test starts any child process.
        std::env::set_var("PGPASSFILE", path);
    });
}

/// The TLS material: CA certificate, server certificate and key (PEM files).
pub struct TlsFiles {
    /// The CA that signed the server certificate (`sslrootcert` for verify-ca/full).
    pub ca_cert: PathBuf,
    /// The server certificate (CN `127.0.0.1`, SAN IP 127.0.0.1 and DNS localhost).
    pub server_cert: PathBuf,
    /// The server key.
    pub server_key: PathBuf,
}

/// Make (once per build) and return the TLS files.
pub fn tls_files() -> TlsFiles {
    let dir = shared_dir().join("tls");
    let files = TlsFiles {
        ca_cert: dir.join("ca.crt"),
        server_cert: dir.join("server.crt"),
        server_key: dir.join("server.key"),
    };
    if files.server_key.exists() {
        return files;
    }
    // Build in a private folder, then rename it into place: a concurrent test process
    // either sees no folder or a complete one.
    let work = shared_dir().join(format!("tls.tmp{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work).expect("tls work dir");
    let openssl = |args: &[&str]| {
        let out = Command::new("openssl")
            .args(args)
            .current_dir(&work)
            .output()
            .expect("run openssl");
        assert!(
            out.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    openssl(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "3650",
        "-subj",
        "/CN=barman test CA",
        "-keyout",
        "ca.key",
        "-out",
        "ca.crt",
    ]);
    openssl(&[
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-subj",
        "/CN=127.0.0.1",
        "-keyout",
        "server.key",
        "-out",
        "server.csr",
    ]);
    std::fs::write(
        work.join("san.ext"),
        "subjectAltName = IP:127.0.0.1, DNS:localhost\n",
    )
    .expect("write san.ext");
    openssl(&[
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.crt",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-days",
        "3650",
        "-extfile",
        "san.ext",
        "-out",
        "server.crt",
    ]);
    std::fs::set_permissions(work.join("ca.crt"), std::fs::Permissions::from_mode(0o644))
        .expect("chmod ca.crt");
    if std::fs::rename(&work, &dir).is_err() {
        // Another process won the race: its folder is complete.
        let _ = std::fs::remove_dir_all(&work);
    }
    files
}

/// Copy the server certificate and key into `dir` (a cluster's private folder, later
/// given to postgres), key mode 0600 as PostgreSQL demands; returns their paths.
pub fn install_server_tls(dir: &Path) -> (PathBuf, PathBuf) {
    let tls = tls_files();
    let cert = dir.join("server.crt");
    let key = dir.join("server.key");
    std::fs::copy(&tls.server_cert, &cert).expect("copy server.crt");
    std::fs::copy(&tls.server_key, &key).expect("copy server.key");
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).expect("chmod key");
    (cert, key)
}
