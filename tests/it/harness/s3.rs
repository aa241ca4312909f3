//! An S3 server on loopback: moto in server mode from the comparison venv
//! (`scripts/python-barman` installs it), keeping connections alive, stopped on drop. With
//! `auth`, moto checks signatures: the first calls (unauthenticated) create an IAM user
//! whose key pair the tests use, so a wrong secret is refused as AWS refuses it.

use super::auth::TlsFiles;
use super::ports::free_port;
use super::python_barman::venv_tool;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// What a test names in `require!` when it needs the S3 server.
pub const REQUIREMENT: &str =
    "moto, waitress and boto3 in the Python Barman venv (scripts/python-barman)";

/// Python's barman-cli-cloud tool `name` from the comparison venv.
pub fn python_tool(name: &str) -> PathBuf {
    venv_tool(name).expect("Python barman-cloud installed")
}

/// Whether Python's barman-cli-cloud and the S3 server can run: what the cloud tests
/// compare with, and against.
pub fn peers_ready() -> bool {
    super::python_barman::available() && super::available(REQUIREMENT, available())
}

/// Run `tool` against `s3` with its keys and endpoint, then `args`.
pub fn run(s3: &S3Server, tool: &Path, args: &[&str]) -> super::Run {
    let mut cmd = Command::new(tool);
    s3.env(&mut cmd)
        .args(["--endpoint-url", &s3.endpoint()])
        .args(args);
    super::Run::of(&mut cmd)
}

/// True when moto's server, waitress and boto3 are installed in the venv.
pub fn available() -> bool {
    venv_tool("moto_server").is_some()
        && venv_tool("python").is_some_and(|py| {
            Command::new(py)
                .args(["-c", "import boto3, waitress"])
                .status()
                .is_ok_and(|s| s.success())
        })
}

/// A running moto server.
pub struct S3Server {
    child: Option<Child>,
    port: u16,
    /// Its certificate and the CA that signed it, when it speaks TLS.
    tls: Option<TlsFiles>,
    /// Whether it keeps connections alive (waitress) or closes each after one request.
    keep_alive: bool,
    /// Access key id the server accepts.
    pub key_id: String,
    /// Its secret.
    pub secret: String,
    dir: tempfile::TempDir,
    /// The interpreter [`S3Server::python`] runs snippets in, started on first use.
    python: std::sync::Mutex<Option<super::py_worker::PyWorker>>,
}

impl S3Server {
    /// Start moto on a free port; with `auth`, requests must be signed with the returned
    /// key pair.
    pub fn start(auth: bool) -> S3Server {
        S3Server::launch(auth, None, true)
    }

    /// Start moto as `moto_server` serves it (werkzeug), closing each connection after one
    /// request, for a client whose forked processes share one pooled connection (Python
    /// Barman's parallel archiving) and would garble each other's requests on a kept-alive one.
    pub fn start_closing_connections() -> S3Server {
        S3Server::launch(false, None, false)
    }

    /// Start moto speaking TLS only (`https://`), its certificate signed by the harness's
    /// throw-away CA ([`S3Server::tls_ca`]), which no system trust store holds.
    pub fn start_tls() -> S3Server {
        S3Server::launch(false, Some(super::auth::tls_files()), false)
    }

    fn launch(auth: bool, tls: Option<TlsFiles>, keep_alive: bool) -> S3Server {
        let port = free_port();
        let dir = tempfile::tempdir().unwrap();
        let requests = dir.path().join(REQUESTS);
        let mut cmd = moto_command(port, tls.as_ref(), keep_alive, &requests);
        cmd.stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(dir.path().join("moto.log")).unwrap());
        if auth {
            // create_user, create_access_key, put_user_policy go through unauthenticated.
            cmd.env("INITIAL_NO_AUTH_ACTION_COUNT", "3");
        }
        let child = cmd.spawn().expect("start moto_server");
        let mut server = S3Server {
            child: Some(child),
            port,
            tls,
            keep_alive,
            key_id: "test".into(),
            secret: "test".into(),
            dir,
            python: std::sync::Mutex::new(None),
        };
        server.wait_ready();
        if auth {
            let out = server.python(
                "import boto3, json\n\
                 iam = boto3.client('iam', endpoint_url=URL, aws_access_key_id='x', aws_secret_access_key='x', region_name='us-east-1')\n\
                 iam.create_user(UserName='barman')\n\
                 k = iam.create_access_key(UserName='barman')['AccessKey']\n\
                 iam.put_user_policy(UserName='barman', PolicyName='all', PolicyDocument=json.dumps({'Version': '2012-10-17', 'Statement': [{'Effect': 'Allow', 'Action': '*', 'Resource': '*'}]}))\n\
                 print(k['AccessKeyId'], k['SecretAccessKey'])\n",
            );
            let mut words = out.split_whitespace();
            server.key_id = words.next().unwrap().to_string();
            server.secret = words.next().unwrap().to_string();
        }
        server
    }

    fn wait_ready(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            if let Some(status) = self.child.as_mut().and_then(|c| c.try_wait().unwrap()) {
                panic!("moto_server exited ({status}): {}", self.log());
            }
            assert!(Instant::now() < deadline, "moto_server never listened");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The server's log.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("moto.log")).unwrap_or_default()
    }

    /// `--endpoint-url`.
    pub fn endpoint(&self) -> String {
        let scheme = if self.tls.is_some() { "https" } else { "http" };
        format!("{scheme}://127.0.0.1:{}", self.port)
    }

    /// The CA certificate a TLS server's certificate is verified against.
    pub fn tls_ca(&self) -> Option<&Path> {
        self.tls.as_ref().map(|files| files.ca_cert.as_path())
    }

    /// Run `code` in the venv's python with `URL`, `KEY` and `SECRET` defined; its stdout.
    pub fn python(&self, code: &str) -> String {
        let prelude = format!(
            "URL = {:?}\nKEY = {:?}\nSECRET = {:?}\n",
            self.endpoint(),
            self.key_id,
            self.secret
        );
        // A test that panicked with the lock held leaves the worker usable.
        let mut worker = self.python.lock().unwrap_or_else(|e| e.into_inner());
        let worker = worker.get_or_insert_with(|| {
            super::py_worker::PyWorker::start(
                &venv_tool("python").unwrap(),
                self.tls_ca(),
                &self.dir.path().join("python.log"),
            )
        });
        match worker.run(&format!("{prelude}{code}")) {
            Ok(stdout) => stdout,
            Err(traceback) => panic!("python failed: {traceback}\nmoto log:\n{}", self.log()),
        }
    }

    fn client(&self) -> String {
        "import boto3\ns3 = boto3.client('s3', endpoint_url=URL, aws_access_key_id=KEY, aws_secret_access_key=SECRET, region_name='us-east-1')\n".into()
    }

    /// Create `bucket`.
    pub fn create_bucket(&self, bucket: &str) {
        self.python(&format!(
            "{}s3.create_bucket(Bucket={bucket:?})\n",
            self.client()
        ));
    }

    /// Store at `key` in `bucket` the bytes of the Python expression `body`.
    pub fn put_object(&self, bucket: &str, key: &str, body: &str) {
        self.python(&format!(
            "{}s3.put_object(Bucket={bucket:?}, Key={key:?}, Body={body})\n",
            self.client()
        ));
    }

    /// Every key in `bucket`, sorted.
    pub fn keys(&self, bucket: &str) -> Vec<String> {
        let out = self.python(&format!(
            "{}for page in s3.get_paginator('list_objects_v2').paginate(Bucket={bucket:?}):\n    for o in page.get('Contents', []):\n        print(o['Key'])\n",
            self.client()
        ));
        let mut keys: Vec<String> = out.lines().map(str::to_string).collect();
        keys.sort();
        keys
    }

    /// The tags of `key` in `bucket` as `k=v` lines, sorted.
    pub fn tags(&self, bucket: &str, key: &str) -> String {
        self.python(&format!(
            "{}for t in sorted(s3.get_object_tagging(Bucket={bucket:?}, Key={key:?})['TagSet'], key=lambda t: t['Key']):\n    print(t['Key'] + '=' + t['Value'])\n",
            self.client()
        ))
    }

    /// Set the credentials (and isolate from the user's `~/.aws`) on `cmd`.
    pub fn env<'a>(&self, cmd: &'a mut Command) -> &'a mut Command {
        self.env_without_keys(cmd)
            .env("AWS_ACCESS_KEY_ID", &self.key_id)
            .env("AWS_SECRET_ACCESS_KEY", &self.secret)
    }

    /// Only the isolation: no keys, `~/.aws` files pointing into the server's folder, none
    /// of the credential chain's later sources (web identity, container, the instance
    /// metadata service, which a test machine on EC2 would otherwise answer).
    pub fn env_without_keys<'a>(&self, cmd: &'a mut Command) -> &'a mut Command {
        for var in [
            "AWS_WEB_IDENTITY_TOKEN_FILE",
            "AWS_ROLE_ARN",
            "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
            "AWS_CONTAINER_CREDENTIALS_FULL_URI",
            "AWS_EC2_METADATA_SERVICE_ENDPOINT",
            "AWS_ENDPOINT_URL",
            "AWS_ENDPOINT_URL_STS",
        ] {
            cmd.env_remove(var);
        }
        cmd.env("AWS_EC2_METADATA_DISABLED", "true")
            .env_remove("AWS_ACCESS_KEY_ID")
            .env_remove("AWS_SECRET_ACCESS_KEY")
            .env_remove("AWS_SESSION_TOKEN")
            .env_remove("AWS_PROFILE")
            .env_remove("AWS_CA_BUNDLE")
            .env("AWS_DEFAULT_REGION", "us-east-1")
            .env("AWS_SHARED_CREDENTIALS_FILE", self.aws_file("credentials"))
            .env("AWS_CONFIG_FILE", self.aws_file("config"))
    }

    /// The requests served so far, one line each: method, path, query (`-` if none),
    /// then the SSE-C algorithm and key MD5 headers (`-` if absent).
    pub fn requests(&self) -> Vec<String> {
        std::fs::read_to_string(self.dir.path().join(REQUESTS))
            .unwrap_or_default()
            .lines()
            .map(str::to_string)
            .collect()
    }

    /// Where [`S3Server::env`] points the AWS files (absent unless a test writes them).
    pub fn aws_file(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Start the server again on the same port, after [`S3Server::stop`]; moto keeps
    /// nothing in between (buckets must be created again).
    pub fn restart(&mut self) {
        self.stop();
        let log = std::fs::File::create(self.dir.path().join("moto-restarted.log")).unwrap();
        let child = moto_command(
            self.port,
            self.tls.as_ref(),
            self.keep_alive,
            &self.dir.path().join(REQUESTS),
        )
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("start moto_server");
        self.child = Some(child);
        self.wait_ready();
    }

    /// Stop the server (later calls find the port refusing connections).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// moto's S3 served by waitress instead of `moto_server`'s werkzeug, which closes every
/// connection after one request: S3 and most S3 servers keep connections alive, and the
/// client's pool then hands out idle ones. An upload worker that once took a pooled
/// connection owned by another, idle, runtime hung until its timeout against such servers
/// while every test, on werkzeug, passed.
///
/// With `tls` or without `keep_alive`, `moto_server` itself serves it (werkzeug, one
/// connection per request, no request log): waitress has no TLS.
fn moto_command(port: u16, tls: Option<&TlsFiles>, keep_alive: bool, requests: &Path) -> Command {
    if tls.is_none() && keep_alive {
        let mut cmd = Command::new(venv_tool("python").expect("venv python"));
        cmd.args(["-c", MOTO_KEEP_ALIVE, &port.to_string()])
            .arg(requests);
        return cmd;
    }
    let mut cmd = Command::new(venv_tool("moto_server").expect("moto_server installed"));
    cmd.args(["-H", "127.0.0.1", "-p", &port.to_string()]);
    if let Some(files) = tls {
        cmd.arg("--ssl-cert")
            .arg(&files.server_cert)
            .arg("--ssl-key")
            .arg(&files.server_key);
    }
    cmd
}

/// The file under the server's folder where each request is written down (plain-http
/// servers only): method, path, and the SSE-C headers S3 would check (moto ignores them).
const REQUESTS: &str = "requests.log";

const MOTO_KEEP_ALIVE: &str = "\
import sys, threading
from waitress import serve
from moto.server import DomainDispatcherApplication, create_backend_app
moto = DomainDispatcherApplication(create_backend_app)
lock = threading.Lock()
def app(environ, start_response):
    sse_c = [environ.get('HTTP_X_AMZ_SERVER_SIDE_ENCRYPTION_CUSTOMER_' + h, '-') for h in ('ALGORITHM', 'KEY_MD5')]
    with lock, open(sys.argv[2], 'a') as log:
        log.write(' '.join([environ['REQUEST_METHOD'], environ.get('PATH_INFO', ''), environ.get('QUERY_STRING', '') or '-'] + sse_c) + '\\n')
    return moto(environ, start_response)
serve(app, host='127.0.0.1', port=int(sys.argv[1]), threads=8)
";

impl Drop for S3Server {
    fn drop(&mut self) {
        self.stop();
    }
}
