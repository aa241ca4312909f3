//! Credentials fetched at run time, as botocore's refreshable credentials: a
//! `credential_process`'s output, STS's AssumeRoleWithWebIdentity and AssumeRole, a
//! container's credentials endpoint, the EC2 instance metadata service. Fetched at the first request (a command that never reaches the store
//! never asks), kept, and fetched again ten minutes before they expire, so an hours-long
//! backup outlives a one-hour role session.

use super::credential_chain::{AuthorizationToken, ContainerEndpoint, InstanceMetadata};
use super::sts::{self, AssumeRole, WebIdentity};
use chrono::{DateTime, Utc};
use object_store::aws::AwsCredential;
use object_store::CredentialProvider;
use serde::Deserialize;
use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Mutex;

/// botocore's mandatory refresh: credentials closer than this to their expiry are
/// fetched again before a request is signed with them.
const REFRESH_BEFORE: chrono::TimeDelta = chrono::TimeDelta::minutes(10);

/// What is fetched.
#[derive(Debug, Clone)]
pub enum Fetch {
    /// Run this `credential_process` command line.
    Process(String),
    /// Known keys (the source of an assumed role).
    Static(Arc<AwsCredential>),
    /// Exchange a web identity token for a role's credentials at STS.
    WebIdentity(WebIdentity),
    /// Assume a role at STS with the credentials `source` gives.
    AssumeRole {
        /// The call.
        role: AssumeRole,
        /// Where the credentials signing it come from.
        source: Box<Fetch>,
    },
    /// Ask this container endpoint.
    Container(ContainerEndpoint),
    /// Ask the instance metadata service.
    InstanceMetadata(InstanceMetadata),
    /// Nothing to ask: every request fails with botocore's "Unable to locate credentials".
    Nothing,
}

/// A credential that could not be had, with botocore's words; it reaches the command
/// through object_store's error, and `classify` finds it there by type.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct CredentialError {
    /// What botocore would say.
    pub message: String,
    /// STS could not be reached (botocore's EndpointConnectionError, which the tools
    /// count as a connectivity failure).
    pub connectivity: bool,
}

impl CredentialError {
    pub(super) fn new(message: impl Into<String>) -> CredentialError {
        CredentialError {
            message: message.into(),
            connectivity: false,
        }
    }
}

/// The provider object_store signs with.
#[derive(Debug)]
pub struct FetchedCredentials {
    fetch: Fetch,
    /// The only certificates https endpoints (STS, a container's) are verified against.
    ca_bundle: Option<PathBuf>,
    cached: Mutex<Option<Fetched>>,
}

/// One fetched credential and when it expires.
#[derive(Debug, Clone)]
pub(super) struct Fetched {
    pub(super) credential: Arc<AwsCredential>,
    pub(super) expires: Option<DateTime<Utc>>,
}

impl FetchedCredentials {
    /// A provider that fetches with `fetch` when first asked.
    pub fn new(fetch: Fetch, ca_bundle: Option<PathBuf>) -> FetchedCredentials {
        FetchedCredentials {
            fetch,
            ca_bundle,
            cached: Mutex::new(None),
        }
    }

    fn http_client(&self, timeout: Option<Duration>) -> Result<reqwest::Client, CredentialError> {
        super::http_client(timeout, self.ca_bundle.as_deref()).map_err(CredentialError::new)
    }

    /// Fetch from `fetch` (boxed: an assumed role's source may be another role).
    fn fetch<'a>(
        &'a self,
        fetch: &'a Fetch,
    ) -> Pin<Box<dyn Future<Output = Result<Fetched, CredentialError>> + Send + 'a>> {
        Box::pin(async move {
            match fetch {
                Fetch::Static(credential) => Ok(Fetched {
                    credential: credential.clone(),
                    expires: None,
                }),
                Fetch::Process(command) => {
                    let command = command.clone();
                    tokio::task::spawn_blocking(move || run_process(&command))
                        .await
                        .map_err(|e| CredentialError::new(format!("credential_process: {e}")))?
                }
                Fetch::WebIdentity(exchange) => {
                    sts::assume_role_with_web_identity(exchange, &self.http_client(None)?).await
                }
                Fetch::AssumeRole { role, source } => {
                    let source = self.fetch(source).await?;
                    sts::assume_role(role, &source.credential, &self.http_client(None)?).await
                }
                Fetch::Container(endpoint) => {
                    let client = self.http_client(Some(Duration::from_secs(2)))?;
                    from_container(endpoint, client).await
                }
                Fetch::InstanceMetadata(settings) => {
                    from_instance_metadata(settings, self.http_client(Some(settings.timeout))?)
                        .await
                        .ok_or_else(no_credentials)
                }
                Fetch::Nothing => Err(no_credentials()),
            }
        })
    }
}

#[async_trait::async_trait]
impl CredentialProvider for FetchedCredentials {
    type Credential = AwsCredential;

    async fn get_credential(&self) -> object_store::Result<Arc<AwsCredential>> {
        // One fetch at a time: parallel upload workers wait for the first one's answer.
        let mut cached = self.cached.lock().await;
        let now = Utc::now();
        if let Some(fetched) = cached.as_ref() {
            if fetched.expires.is_none_or(|at| at - now > REFRESH_BEFORE) {
                return Ok(fetched.credential.clone());
            }
        }
        match self.fetch(&self.fetch).await {
            Ok(fetched) => {
                tracing::debug!(expires = ?fetched.expires, "credentials fetched");
                let credential = fetched.credential.clone();
                *cached = Some(fetched);
                Ok(credential)
            }
            // Not yet expired: botocore signs with the old ones while the refresh fails.
            Err(e) => match cached.as_ref() {
                Some(old) if old.expires.is_some_and(|at| at > now) => {
                    tracing::warn!(
                        "refreshing credentials failed, the current ones still hold: {e}"
                    );
                    Ok(old.credential.clone())
                }
                _ => Err(object_store::Error::Generic {
                    store: "S3",
                    source: Box::new(e),
                }),
            },
        }
    }
}

/// botocore's NoCredentialsError.
fn no_credentials() -> CredentialError {
    CredentialError::new("Unable to locate credentials")
}

/// The JSON a credential process prints, and (without `Version`) what the container
/// endpoint and the metadata service answer.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct CredentialJson {
    version: Option<serde_json::Value>,
    access_key_id: Option<String>,
    secret_access_key: Option<String>,
    /// `SessionToken` from a process, `Token` from an endpoint.
    #[serde(alias = "Token")]
    session_token: Option<String>,
    expiration: Option<String>,
}

impl CredentialJson {
    fn parse(text: &str, source: &str) -> Result<CredentialJson, CredentialError> {
        serde_json::from_str(text).map_err(|e| {
            CredentialError::new(format!(
                "Error when retrieving credentials from {source}: invalid JSON: {e}"
            ))
        })
    }

    fn into_fetched(self, source: &str) -> Result<Fetched, CredentialError> {
        let missing = |key: &str| {
            CredentialError::new(format!(
                "Error when retrieving credentials from {source}: Missing required key in \
                 response: {key}"
            ))
        };
        let expires = match &self.expiration {
            Some(text) => Some(
                DateTime::parse_from_rfc3339(text)
                    .map_err(|e| {
                        CredentialError::new(format!(
                            "Error when retrieving credentials from {source}: Expiration \
                             {text:?} is not an ISO 8601 time: {e}"
                        ))
                    })?
                    .with_timezone(&Utc),
            ),
            None => None,
        };
        Ok(Fetched {
            credential: Arc::new(AwsCredential {
                key_id: self.access_key_id.ok_or_else(|| missing("AccessKeyId"))?,
                secret_key: self
                    .secret_access_key
                    .ok_or_else(|| missing("SecretAccessKey"))?,
                token: self.session_token,
            }),
            expires,
        })
    }
}

/// An answer's credentials.
fn parse_answer(text: &str, source: &str) -> Result<Fetched, CredentialError> {
    CredentialJson::parse(text, source)?.into_fetched(source)
}

/// Run a `credential_process` as botocore does: split as a shell would, no shell, its
/// standard error shown when it fails.
fn run_process(command: &str) -> Result<Fetched, CredentialError> {
    const SOURCE: &str = "custom-process";
    let fail = |why: String| {
        CredentialError::new(format!(
            "Error when retrieving credentials from {SOURCE}: {why}"
        ))
    };
    let argv = shell_words::split(command).map_err(|e| fail(format!("{command}: {e}")))?;
    let (program, args) = argv
        .split_first()
        .ok_or_else(|| fail("credential_process is empty".into()))?;
    let output = std::process::Command::new(program)
        .args(args)
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|e| fail(format!("{program}: {e}")))?;
    if !output.status.success() {
        return Err(fail(
            String::from_utf8_lossy(&output.stderr).trim().to_string(),
        ));
    }
    let json = CredentialJson::parse(&String::from_utf8_lossy(&output.stdout), SOURCE)?;
    match &json.version {
        Some(v) if *v == serde_json::json!(1) => json.into_fetched(SOURCE),
        Some(v) => Err(fail(format!(
            "Unsupported version '{v}' for credential process provider, supported versions: 1"
        ))),
        None => Err(fail("Missing required key in response: Version".into())),
    }
}

/// The container endpoint, as botocore's ContainerMetadataFetcher: two seconds per
/// request, three attempts a second apart, a failure an error (not "no credentials").
async fn from_container(
    endpoint: &ContainerEndpoint,
    client: reqwest::Client,
) -> Result<Fetched, CredentialError> {
    const SOURCE: &str = "container-role";
    let fail = |why: String| {
        CredentialError::new(format!(
            "Error when retrieving credentials from {SOURCE}: Error retrieving metadata: {why}"
        ))
    };
    let authorization = match &endpoint.authorization {
        Some(AuthorizationToken::File(path)) => Some(
            std::fs::read_to_string(path)
                .map_err(|e| CredentialError::new(super::os_error_text(&e, path)))?,
        ),
        Some(AuthorizationToken::Value(value)) => Some(value.clone()),
        None => None,
    };
    // botocore sends the token as it is, and refuses one that would break the header
    // (a file written with a final newline, say).
    if authorization
        .as_ref()
        .is_some_and(|t| t.contains(['\r', '\n']))
    {
        return Err(CredentialError::new(
            "Auth token value is not a legal header value",
        ));
    }
    check_container_host(&endpoint.url)?;
    let mut last = String::new();
    for attempt in 0..3 {
        if attempt > 0 {
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
        let mut request = client
            .get(&endpoint.url)
            .header("Accept", "application/json");
        if let Some(token) = &authorization {
            request = request.header("Authorization", token);
        }
        match request.send().await {
            Ok(response) if response.status().is_success() => {
                let text = response.text().await.map_err(|e| fail(e.to_string()))?;
                return parse_answer(&text, SOURCE);
            }
            // botocore's words for both.
            Ok(response) => {
                let status = response.status().as_u16();
                let body = response.text().await.unwrap_or_default();
                last =
                    format!("Received non 200 response ({status}) from container metadata: {body}");
            }
            Err(_) => {
                last = format!(
                    "Received error when attempting to retrieve container metadata: Could not \
                     connect to the endpoint URL: \"{}\"",
                    endpoint.url
                );
            }
        }
    }
    Err(fail(last))
}

/// botocore fetches container credentials over plain http only from a loopback address or
/// the hosts ECS and EKS use; any host over https.
fn check_container_host(url: &str) -> Result<(), CredentialError> {
    // In the order botocore's message lists them.
    const ALLOWED: [&str; 4] = [
        "169.254.170.2",
        "169.254.170.23",
        "fd00:ec2::23",
        "localhost",
    ];
    if url.starts_with("https://") {
        return Ok(());
    }
    let rest = url.strip_prefix("http://").unwrap_or(url);
    let authority = rest.split(['/', '?']).next().unwrap_or("");
    let host = match authority.strip_prefix('[') {
        Some(bracketed) => bracketed.split(']').next().unwrap_or(""),
        None => authority.rsplit_once(':').map_or(authority, |(h, _)| h),
    };
    let loopback = host
        .parse::<std::net::IpAddr>()
        .is_ok_and(|ip| ip.is_loopback());
    if loopback || ALLOWED.contains(&host) {
        return Ok(());
    }
    Err(CredentialError::new(format!(
        "Unsupported host '{host}'.  Can only retrieve metadata from a loopback address or \
         one of these hosts: {}",
        ALLOWED.join(", ")
    )))
}

/// The instance metadata service, as botocore's InstanceMetadataFetcher: a session token
/// first (IMDSv2), without one when the service refuses to give it (IMDSv1) unless that is
/// disabled, then the role's name and its credentials. Any failure is "no credentials from
/// here" (`None`), the reason logged under `-d`.
async fn from_instance_metadata(
    settings: &InstanceMetadata,
    client: reqwest::Client,
) -> Option<Fetched> {
    let base = &settings.endpoint;
    let token = client
        .put(format!("{base}/latest/api/token"))
        .header("x-aws-ec2-metadata-token-ttl-seconds", "21600")
        .send()
        .await;
    let token = match token {
        Ok(response) if response.status().is_success() => response.text().await.ok(),
        Ok(response) if [403, 404, 405].contains(&response.status().as_u16()) => None,
        Ok(response) => {
            tracing::debug!("instance metadata: token refused ({})", response.status());
            return None;
        }
        Err(e) if e.is_timeout() => None,
        Err(e) => {
            tracing::debug!("instance metadata: {base}: {e}");
            return None;
        }
    };
    if token.is_none() && settings.v1_disabled {
        tracing::debug!("instance metadata: no session token and IMDSv1 is disabled");
        return None;
    }
    let get = |path: String| {
        let mut request = client.get(format!(
            "{base}/latest/meta-data/iam/security-credentials/{path}"
        ));
        if let Some(token) = &token {
            request = request.header("x-aws-ec2-metadata-token", token);
        }
        request
    };
    let attempts = settings.attempts;
    let role = with_attempts(attempts, || get(String::new())).await?;
    let role = role.lines().next()?.trim().to_string();
    let text = with_attempts(attempts, || get(role.clone())).await?;
    match parse_answer(&text, "iam-role") {
        Ok(fetched) => Some(fetched),
        Err(e) => {
            tracing::debug!("instance metadata: {e}");
            None
        }
    }
}

/// The body of the first successful answer in `attempts` tries.
async fn with_attempts(
    attempts: u32,
    request: impl Fn() -> reqwest::RequestBuilder,
) -> Option<String> {
    for _ in 0..attempts {
        match get_text(request()).await {
            Ok(text) => return Some(text),
            Err(why) => tracing::debug!("instance metadata: {why}"),
        }
    }
    None
}

/// The body of a successful answer, or why not.
async fn get_text(request: reqwest::RequestBuilder) -> Result<String, String> {
    let response = request.send().await.map_err(|e| e.to_string())?;
    let status = response.status();
    let text = response.text().await.map_err(|e| e.to_string())?;
    if status.is_success() {
        Ok(text)
    } else {
        Err(format!("{status}: {}", text.trim()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credential_json_reads_process_and_endpoint_answers() {
        let process = r#"{"Version": 1, "AccessKeyId": "AKIA1", "SecretAccessKey": "s",
            "SessionToken": "t", "Expiration": "2026-12-07T12:00:00Z"}"#;
        let fetched = parse_answer(process, "custom-process").expect("parsed");
        assert_eq!(fetched.credential.key_id, "AKIA1");
        assert_eq!(fetched.credential.token.as_deref(), Some("t"));
        assert_eq!(
            fetched.expires.map(|t| t.to_rfc3339()),
            Some("2026-12-07T12:00:00+00:00".into())
        );
        let endpoint = r#"{"Code": "Success", "AccessKeyId": "ASIA2", "SecretAccessKey": "s",
            "Token": "tok", "Expiration": "2026-12-07T12:00:00Z"}"#;
        let fetched = parse_answer(endpoint, "iam-role").expect("parsed");
        assert_eq!(fetched.credential.token.as_deref(), Some("tok"));
        let error =
            parse_answer(r#"{"AccessKeyId": "x"}"#, "container-role").expect_err("no secret");
        assert_eq!(
            error.to_string(),
            "Error when retrieving credentials from container-role: Missing required key in \
             response: SecretAccessKey"
        );
    }

    /// A process that counts its runs in `dir` and answers credentials expiring in
    /// `minutes`.
    fn counting_process(dir: &std::path::Path, minutes: i64) -> FetchedCredentials {
        let expires = (Utc::now() + chrono::TimeDelta::minutes(minutes)).to_rfc3339();
        let script = format!(
            "echo run >> {runs}; printf '{{\"Version\": 1, \"AccessKeyId\": \"id\", \
             \"SecretAccessKey\": \"s\", \"Expiration\": \"{expires}\"}}'",
            runs = dir.join("runs").display()
        );
        let command = shell_words::join(["sh", "-c", &script]);
        FetchedCredentials::new(Fetch::Process(command), None)
    }

    #[test]
    fn fetched_credentials_are_kept_until_ten_minutes_before_they_expire() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let runs = |dir: &std::path::Path| {
            std::fs::read_to_string(dir.join("runs"))
                .expect("runs")
                .lines()
                .count()
        };
        let hour = tempfile::tempdir().expect("dir");
        let provider = counting_process(hour.path(), 60);
        for _ in 0..3 {
            runtime
                .block_on(provider.get_credential())
                .expect("credential");
        }
        assert_eq!(runs(hour.path()), 1, "an hour's credentials are kept");
        let soon = tempfile::tempdir().expect("dir");
        let provider = counting_process(soon.path(), 5);
        for _ in 0..3 {
            runtime
                .block_on(provider.get_credential())
                .expect("credential");
        }
        assert_eq!(
            runs(soon.path()),
            3,
            "five minutes from expiry: fetched again"
        );
    }

    #[test]
    fn a_credential_process_is_run_without_a_shell_and_its_version_checked() {
        let ok = r#"printf '{"Version": 1, "AccessKeyId": "id", "SecretAccessKey": "secret"}'"#;
        let fetched = run_process(ok).expect("ran");
        assert_eq!(fetched.credential.secret_key, "secret");
        assert!(fetched.expires.is_none());
        let v2 = r#"printf '{"Version": 2, "AccessKeyId": "id", "SecretAccessKey": "s"}'"#;
        assert_eq!(
            run_process(v2).expect_err("v2").to_string(),
            "Error when retrieving credentials from custom-process: Unsupported version '2' \
             for credential process provider, supported versions: 1"
        );
        let failing = "sh -c 'echo denied by policy >&2; exit 3'";
        assert_eq!(
            run_process(failing).expect_err("failed").to_string(),
            "Error when retrieving credentials from custom-process: denied by policy"
        );
    }
}
