//! Object storage for the barman-cloud tools: a small synchronous API (put, get, exists,
//! list, delete) over the `object_store` crate, driven by a current-thread tokio runtime.
//!
//! The seam for other providers is [`CloudProvider`]: `aws-s3` is built; Azure Blob Storage
//! and Google Cloud Storage are refused with a clear message until they are.

mod credential_chain;
mod credentials;
mod download;
mod fetched_credentials;
mod object_lock;
mod s3;
mod sts;
mod upload;

pub use credential_chain::{
    AuthorizationToken, ContainerEndpoint, CredentialSource, InstanceMetadata, RoleToAssume,
};
pub use credentials::{AwsCredentials, AwsFiles};
pub use download::ObjectReader;
pub use upload::{MultipartWriter, UploadOptions, UploadStats};

use futures_util::{StreamExt, TryStreamExt};
use object_store::path::Path as StorePath;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};
use std::sync::Arc;

/// `--cloud-provider` values, as barman-cloud names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum CloudProvider {
    /// Amazon S3 and S3-compatible servers.
    #[value(name = "aws-s3")]
    AwsS3,
    /// Azure Blob Storage (not built yet).
    #[value(name = "azure-blob-storage")]
    AzureBlobStorage,
    /// Google Cloud Storage (not built yet).
    #[value(name = "google-cloud-storage")]
    GoogleCloudStorage,
}

/// How to reach the store: barman-cloud's common options.
#[derive(Debug, Clone, Default)]
pub struct CloudOptions {
    /// `--endpoint-url`: an S3-compatible server (path-style addressing).
    pub endpoint_url: Option<String>,
    /// `-P/--aws-profile`.
    pub profile: Option<String>,
    /// `--read-timeout` in seconds (botocore's default is 60).
    pub read_timeout: Option<u64>,
    /// `--addressing-style` (`auto`, `virtual` or `path`).
    pub addressing_style: Option<String>,
    /// `-e/--encryption` (`AES256` or `aws:kms`).
    pub encryption: Option<String>,
    /// `--sse-kms-key-id`.
    pub sse_kms_key_id: Option<String>,
    /// `--sse-customer-key` (`aws_sse_customer_key`): a `file://` URI of the base64 key
    /// for SSE-C, sent with every PUT, part, GET and HEAD.
    pub sse_customer_key: Option<String>,
}

/// Why a cloud call failed, sorted as barman-cloud sorts exceptions.
#[derive(Debug, thiserror::Error)]
pub enum CloudError {
    /// The server could not be reached (botocore's `EndpointConnectionError`).
    #[error("{0}")]
    Connectivity(String),
    /// The credentials' own service (STS) could not be reached: a connectivity failure
    /// for the tools' exit codes, but not one of the store's URL.
    #[error("{0}")]
    CredentialsUnreachable(String),
    /// The object is not there.
    #[error("{0}")]
    NotFound(String),
    /// The bucket is not there.
    #[error("{0}")]
    NoSuchBucket(String),
    /// The server's certificate was refused (botocore's `SSLError`, which the tools treat
    /// as any other error, not as a connectivity one).
    #[error("SSL validation failed for {url} {reason}")]
    Tls {
        /// The request's URL.
        url: String,
        /// Why the certificate was refused.
        reason: String,
    },
    /// Anything else (credentials, permissions, bad URL, unsupported provider...).
    #[error("{0}")]
    Other(String),
}

impl CloudError {
    /// Whether the tools count this as a network failure (botocore's
    /// EndpointConnectionError: exit 2 where they tell it apart).
    pub fn is_connectivity(&self) -> bool {
        matches!(
            self,
            CloudError::Connectivity(_) | CloudError::CredentialsUnreachable(_)
        )
    }
}

/// An HTTP client for the requests made beside object_store's (credentials, Object Lock):
/// `timeout` per request, and, as botocore, verified against `ca_bundle` alone when set.
fn http_client(
    timeout: Option<std::time::Duration>,
    ca_bundle: Option<&std::path::Path>,
) -> Result<reqwest::Client, String> {
    let mut builder = reqwest::Client::builder();
    if let Some(timeout) = timeout {
        builder = builder.timeout(timeout).connect_timeout(timeout);
    }
    if let Some(path) = ca_bundle {
        let pem = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let certificates = reqwest::Certificate::from_pem_bundle(&pem)
            .map_err(|e| format!("{}: {e}", path.display()))?;
        builder = builder.tls_certs_only(certificates);
    }
    builder.build().map_err(|e| e.to_string())
}

/// An OS error as Python prints one: `[Errno N] text: 'path'`.
pub fn os_error_text(e: &std::io::Error, path: &std::path::Path) -> String {
    let text = e.to_string();
    let text = text.split(" (os error").next().unwrap_or(&text);
    match e.raw_os_error() {
        Some(n) => format!("[Errno {n}] {text}: '{}'", path.display()),
        None => format!("{text}: '{}'", path.display()),
    }
}

/// A bucket and the key prefix under it, from `s3://bucket/path`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CloudUrl {
    /// Bucket name.
    pub bucket: String,
    /// Key prefix without leading slash (may be empty).
    pub path: String,
}

impl CloudUrl {
    /// Parse `s3://bucket[/path]` as barman-cloud does (`Invalid s3 URL address: URL`).
    pub fn parse_s3(url: &str) -> Result<CloudUrl, CloudError> {
        let invalid = || CloudError::Other(format!("Invalid s3 URL address: {url}"));
        let rest = url.strip_prefix("s3://").ok_or_else(invalid)?;
        let (bucket, path) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.is_empty() {
            return Err(invalid());
        }
        Ok(CloudUrl {
            bucket: bucket.to_string(),
            path: path.trim_start_matches('/').to_string(),
        })
    }

    /// Python's `os.path.join(path, parts...)` for keys: no empty parts, one `/` between.
    pub fn key(&self, parts: &[&str]) -> String {
        let mut key = self.path.trim_end_matches('/').to_string();
        for part in parts.iter().filter(|p| !p.is_empty()) {
            if !key.is_empty() {
                key.push('/');
            }
            key.push_str(part);
        }
        key
    }
}

/// A connected bucket with a synchronous API.
pub struct CloudStore {
    /// The one runtime every request of this store runs on, upload workers included: the
    /// client's pooled keep-alive connections are driven by tasks of the runtime that
    /// opened them, so a request made on another runtime could pick an idle connection
    /// nobody drives and hang until the timeout (what s3s-fs, which keeps connections
    /// alive, showed; moto closes them).
    runtime: Arc<tokio::runtime::Runtime>,
    store: Arc<dyn ObjectStore>,
    /// Where the tools write: bucket and prefix.
    pub url: CloudUrl,
    /// `--endpoint-url`, when given.
    endpoint: Option<String>,
    /// What an Object Lock check needs beside the store.
    probe: object_lock::LockProbe,
}

impl CloudStore {
    /// Open `url` for `provider` with `options`; nothing is contacted yet.
    pub fn open(
        provider: CloudProvider,
        url: &str,
        options: &CloudOptions,
        files: &AwsFiles,
    ) -> Result<CloudStore, CloudError> {
        let url = match provider {
            CloudProvider::AwsS3 => CloudUrl::parse_s3(url)?,
            CloudProvider::AzureBlobStorage | CloudProvider::GoogleCloudStorage => {
                return Err(CloudError::Other(format!(
                    "cloud provider {} is not supported yet (only aws-s3 is)",
                    provider_name(provider)
                )))
            }
        };
        let built = s3::build(&url.bucket, options, files)?;

        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| CloudError::Other(format!("cannot start the I/O runtime: {e}")))?;
        Ok(CloudStore {
            runtime: Arc::new(runtime),
            store: Arc::new(built.store),
            url,
            endpoint: options.endpoint_url.clone().or(files.env_endpoint.clone()),
            probe: object_lock::LockProbe {
                credentials: built.credentials,
                region: built.region,
                bucket_url: built.bucket_url,
                sse_c: built.sse_c,
                ca_bundle: built.ca_bundle,
                timeout: built.timeout,
            },
        })
    }

    /// Store `data` at `key` (one PUT), with object `tags` (S3's `x-amz-tagging`).
    pub fn put(
        &self,
        key: &str,
        data: impl Into<PutPayload>,
        tags: &[(String, String)],
    ) -> Result<(), CloudError> {
        let path = StorePath::from(key);
        let mut options = object_store::PutOptions::default();
        for (k, v) in tags {
            options.tags.push(k, v);
        }
        self.runtime
            .block_on(self.store.put_opts(&path, data.into(), options))
            .map(|_| ())
            .map_err(|e| classify("PutObject", e))
    }

    /// Store `data` at `key` unless an object is already there (S3's `If-None-Match: *`,
    /// as Barman's `upload_fileobj(fail_if_exists=True)`): `Ok(false)` when one is, and
    /// then nothing was written.
    pub fn put_if_absent(
        &self,
        key: &str,
        data: impl Into<PutPayload>,
    ) -> Result<bool, CloudError> {
        let path = StorePath::from(key);
        let options = object_store::PutOptions::from(object_store::PutMode::Create);
        match self
            .runtime
            .block_on(self.store.put_opts(&path, data.into(), options))
        {
            Ok(_) => Ok(true),
            Err(object_store::Error::AlreadyExists { .. }) => Ok(false),
            Err(e) => Err(classify("PutObject", e)),
        }
    }

    /// The whole object at `key`, `None` when there is none.
    pub fn get(&self, key: &str) -> Result<Option<Vec<u8>>, CloudError> {
        let path = StorePath::from(key);
        let result = self.runtime.block_on(async {
            let got = self.store.get(&path).await?;
            got.bytes().await
        });
        match result.map_err(|e| classify("GetObject", e)) {
            Ok(bytes) => Ok(Some(bytes.to_vec())),
            Err(CloudError::NotFound(_)) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Whether an object is at `key`.
    pub fn exists(&self, key: &str) -> Result<bool, CloudError> {
        let path = StorePath::from(key);
        match self
            .runtime
            .block_on(self.store.head(&path))
            .map_err(|e| classify("HeadObject", e))
        {
            Ok(_) => Ok(true),
            Err(CloudError::NotFound(_)) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Every key starting with `prefix` (a plain string prefix, as S3's `Prefix`), sorted.
    pub fn list(&self, prefix: &str) -> Result<Vec<String>, CloudError> {
        // object_store lists by path segments; list the folder and filter by the prefix.
        let folder = prefix.rsplit_once('/').map(|(dir, _)| dir).unwrap_or("");
        let folder_path = (!folder.is_empty()).then(|| StorePath::from(folder));
        let metas: Vec<_> = self
            .runtime
            .block_on(
                self.store
                    .list(folder_path.as_ref())
                    .try_collect::<Vec<_>>(),
            )
            .map_err(|e| classify("ListObjectsV2", e))?;
        let mut keys: Vec<String> = metas
            .into_iter()
            .map(|m| m.location.to_string())
            .filter(|k| k.starts_with(prefix))
            .collect();
        keys.sort();
        Ok(keys)
    }

    /// Remove the object at `key`.
    pub fn delete(&self, key: &str) -> Result<(), CloudError> {
        let path = StorePath::from(key);
        self.runtime
            .block_on(self.store.delete(&path))
            .map_err(|e| classify("DeleteObject", e))
    }

    /// Remove `keys` with S3's bulk DeleteObjects, at most `batch` keys per request (as
    /// barman-cloud's `delete_objects`); a key that is already gone is not an error.
    pub fn delete_many(&self, keys: &[String], batch: usize) -> Result<(), CloudError> {
        for chunk in keys.chunks(batch.max(1)) {
            let paths: Vec<object_store::Result<StorePath>> = chunk
                .iter()
                .map(|k| Ok(StorePath::from(k.as_str())))
                .collect();
            let stream = self
                .store
                .delete_stream(Box::pin(futures_util::stream::iter(paths)));
            let results: Vec<object_store::Result<StorePath>> =
                self.runtime.block_on(stream.collect::<Vec<_>>());
            for result in results {
                match result.map_err(|e| classify("DeleteObjects", e)) {
                    Ok(_) | Err(CloudError::NotFound(_)) => {}
                    Err(e) => return Err(e),
                }
            }
        }
        Ok(())
    }

    /// Whether the bucket exists (barman-cloud's `--test`): connectivity errors and
    /// permission problems are errors, a missing bucket is `Ok(false)`.
    pub fn bucket_exists(&self) -> Result<bool, CloudError> {
        // A HEAD has no body to tell a missing bucket from a missing key: list instead.
        let probe = self.url.key(&["barman-cloud-probe"]);
        match self.list(&probe) {
            Ok(_) => Ok(true),
            Err(CloudError::NoSuchBucket(_)) => Ok(false),
            // Named as botocore names its HeadBucket call's URL.
            Err(CloudError::Connectivity(_)) if self.endpoint.is_some() => {
                Err(CloudError::Connectivity(format!(
                    "Could not connect to the endpoint URL: \"{}\"",
                    self.bucket_url()
                )))
            }
            Err(CloudError::Tls { reason, .. }) if self.endpoint.is_some() => {
                Err(CloudError::Tls {
                    url: self.bucket_url(),
                    reason,
                })
            }
            Err(e) => Err(e),
        }
    }

    /// `<endpoint>/<bucket>`, the URL of botocore's bucket calls.
    fn bucket_url(&self) -> String {
        format!(
            "{}/{}",
            self.endpoint.as_deref().unwrap_or("").trim_end_matches('/'),
            self.url.bucket
        )
    }
}

/// The `--cloud-provider` spelling of `provider`.
pub fn provider_name(provider: CloudProvider) -> &'static str {
    match provider {
        CloudProvider::AwsS3 => "aws-s3",
        CloudProvider::AzureBlobStorage => "azure-blob-storage",
        CloudProvider::GoogleCloudStorage => "google-cloud-storage",
    }
}

/// Sort an `object_store` error from S3 operation `op` (botocore's name, e.g.
/// `PutObject`): not found, missing bucket, unreachable server, other; worded as botocore
/// words them (`An error occurred (CODE) when calling the OP operation: MESSAGE`,
/// `Could not connect to the endpoint URL: "URL"`).
fn classify(op: &str, error: object_store::Error) -> CloudError {
    // Credentials that could not be had: botocore's own words, not a request's failure.
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(&error);
    while let Some(e) = source {
        if let Some(credential) = e.downcast_ref::<fetched_credentials::CredentialError>() {
            return match credential.connectivity {
                true => CloudError::CredentialsUnreachable(credential.message.clone()),
                false => CloudError::Other(credential.message.clone()),
            };
        }
        source = e.source();
    }
    let text = chain_text(&error);
    let code = between(&text, "<Code>", "</Code>");
    let botocore = |code: &str| {
        let message = between(&text, "<Message>", "</Message>").unwrap_or("");
        format!("An error occurred ({code}) when calling the {op} operation: {message}")
    };
    if code == Some("NoSuchBucket") {
        return CloudError::NoSuchBucket(botocore("NoSuchBucket"));
    }
    if matches!(error, object_store::Error::NotFound { .. }) {
        return CloudError::NotFound(text);
    }
    if is_connectivity(&error) {
        let url = ["GET ", "PUT ", "HEAD ", "DELETE ", "POST "]
            .iter()
            .find_map(|m| between(&text, &format!("Error performing {m}"), " in "));
        // A certificate refused (unknown CA, wrong name...): botocore's SSLError, which is
        // not an EndpointConnectionError, so the tools treat it as any other error.
        if let (Some(url), Some(at)) = (url, text.find("invalid peer certificate")) {
            return CloudError::Tls {
                url: url.to_string(),
                reason: text[at..].to_string(),
            };
        }
        return CloudError::Connectivity(match url {
            Some(url) => format!("Could not connect to the endpoint URL: \"{url}\""),
            None => text,
        });
    }
    match code {
        Some(code) => CloudError::Other(botocore(code)),
        None => CloudError::Other(text),
    }
}

/// The text between the first `start` and the next `end`.
fn between<'a>(text: &'a str, start: &str, end: &str) -> Option<&'a str> {
    let from = text.find(start)? + start.len();
    let len = text[from..].find(end)?;
    Some(&text[from..from + len])
}

/// The error and its sources on one line.
fn chain_text(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(e) = source {
        let part = e.to_string();
        if !text.contains(&part) {
            text.push_str(": ");
            text.push_str(&part);
        }
        source = e.source();
    }
    text.replace('\n', " ")
}

/// Whether an I/O error in the chain says the server could not be reached.
fn is_connectivity(error: &(dyn std::error::Error + 'static)) -> bool {
    use std::io::ErrorKind::*;
    let mut source = Some(error);
    while let Some(e) = source {
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            if matches!(
                io.kind(),
                ConnectionRefused
                    | ConnectionReset
                    | ConnectionAborted
                    | NotConnected
                    | TimedOut
                    | HostUnreachable
                    | NetworkUnreachable
            ) {
                return true;
            }
        }
        source = e.source();
    }
    let text = chain_text(error);
    text.contains("error sending request") || text.contains("dns error")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn s3_urls_split_into_bucket_and_path() {
        let url = CloudUrl::parse_s3("s3://bucket/some/path/").unwrap();
        assert_eq!(
            (url.bucket.as_str(), url.path.as_str()),
            ("bucket", "some/path/")
        );
        assert_eq!(
            url.key(&["pg", "wals", "", "00000002.history"]),
            "some/path/pg/wals/00000002.history"
        );
        let bare = CloudUrl::parse_s3("s3://bucket").unwrap();
        assert_eq!(bare.key(&["pg", "wals"]), "pg/wals");
        for bad in ["s3://", "s3:///x", "https://bucket/x", "bucket/x"] {
            let err = CloudUrl::parse_s3(bad).unwrap_err().to_string();
            assert_eq!(err, format!("Invalid s3 URL address: {bad}"));
        }
    }
}
