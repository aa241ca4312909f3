//! The S3 store: `object_store`'s Amazon S3 client configured as boto3 would be.

use super::fetched_credentials::{Fetch, FetchedCredentials};
use super::sts::{AssumeRole, WebIdentity};
use super::{AwsFiles, CloudError, CloudOptions, CredentialSource};
use object_store::aws::{AmazonS3, AmazonS3Builder, AwsCredential, AwsCredentialProvider};
use object_store::{ClientOptions, RetryConfig, StaticCredentialProvider};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// The client for a bucket, and what a request made beside it needs to look the same.
pub struct Built {
    /// The client.
    pub store: AmazonS3,
    /// Where its credentials come from (the same provider it signs with).
    pub credentials: AwsCredentialProvider,
    /// The region requests are signed for.
    pub region: String,
    /// The bucket's URL, as the client addresses it (path or virtual-hosted style).
    pub bucket_url: String,
    /// The SSE-C headers its requests carry (empty without SSE-C).
    pub sse_c: http::HeaderMap,
    /// The only certificates https endpoints are verified against, if set.
    pub ca_bundle: Option<PathBuf>,
    /// `--read-timeout`.
    pub timeout: Duration,
}

/// Build the client for `bucket`.
pub fn build(bucket: &str, options: &CloudOptions, files: &AwsFiles) -> Result<Built, CloudError> {
    let profile = options.profile.as_deref();
    let region = files.region(profile)?;
    let read_timeout = Duration::from_secs(options.read_timeout.unwrap_or(60));
    let endpoint = options
        .endpoint_url
        .as_ref()
        .or(files.env_endpoint.as_ref());
    let virtual_hosted = options.addressing_style.as_deref() == Some("virtual");
    // A plain-http endpoint verifies no certificate: like botocore, which opens its CA
    // bundle only for https connections, ours neither reads nor requires the bundle then
    // (AWS_CA_BUNDLE is often set machine-wide). Credentials fetched over https use it.
    let plain_http = endpoint.is_some_and(|url| url.starts_with("http://"));
    let endpoint_bundle = if plain_http {
        None
    } else {
        files.ca_bundle(profile)?
    };
    let (endpoint_for_bucket, bucket_url) = bucket_url(bucket, &region, endpoint, virtual_hosted);
    // botocore retries a failed call a few times; not object_store's three minutes.
    let retry = RetryConfig {
        max_retries: 3,
        retry_timeout: Duration::from_secs(30),
        ..RetryConfig::default()
    };
    let mut builder = AmazonS3Builder::new()
        .with_bucket_name(bucket)
        .with_region(&region)
        .with_client_options(client_options(
            plain_http,
            endpoint_bundle.as_deref(),
            read_timeout,
        )?)
        .with_retry(retry)
        .with_unsigned_payload(!sign_payload(endpoint, options, files)?)
        .with_virtual_hosted_style_request(virtual_hosted);
    if let Some(endpoint) = endpoint_for_bucket {
        builder = builder.with_endpoint(endpoint);
    }
    let credentials = credential_provider(
        files.credential_source(profile)?,
        &region,
        files.ca_bundle(profile)?,
    );
    builder = builder.with_credentials(credentials.clone());
    let (builder, sse_c) = with_encryption(builder, options)?;
    let store = builder
        .build()
        .map_err(|e| CloudError::Other(e.to_string()))?;
    Ok(Built {
        store,
        credentials,
        region,
        bucket_url,
        sse_c,
        ca_bundle: endpoint_bundle,
        timeout: read_timeout,
    })
}

/// The endpoint object_store is given and the bucket's URL, as botocore addresses a
/// bucket: path style `<endpoint>/<bucket>`, or virtual-hosted `<bucket>.<host>` (with a
/// custom endpoint the bucket goes in front of its host: object_store takes a
/// virtual-hosted endpoint as the bucket's own).
fn bucket_url(
    bucket: &str,
    region: &str,
    endpoint: Option<&String>,
    virtual_hosted: bool,
) -> (Option<String>, String) {
    let endpoint = endpoint.map(|e| e.trim_end_matches('/').to_string());
    match (endpoint, virtual_hosted) {
        (Some(endpoint), true) => {
            let url = match endpoint.split_once("://") {
                Some((scheme, rest)) => format!("{scheme}://{bucket}.{rest}"),
                None => format!("{bucket}.{endpoint}"),
            };
            (Some(url.clone()), url)
        }
        (Some(endpoint), false) => {
            let url = format!("{endpoint}/{bucket}");
            (Some(endpoint), url)
        }
        (None, true) => (None, format!("https://{bucket}.s3.{region}.amazonaws.com")),
        (None, false) => (None, format!("https://s3.{region}.amazonaws.com/{bucket}")),
    }
}

/// The HTTP client's options: `--read-timeout`, and the certificates a TLS endpoint is
/// verified against.
fn client_options(
    plain_http: bool,
    bundle: Option<&Path>,
    read_timeout: Duration,
) -> Result<ClientOptions, CloudError> {
    // A plain-http endpoint never verifies a certificate: loading the system's trust store
    // (one file per authority) cost a per-WAL archive several milliseconds for nothing.
    let mut client = ClientOptions::new()
        .with_timeout(read_timeout)
        .with_connect_timeout(Duration::from_secs(60))
        .with_allow_http(true)
        .with_no_system_certificates(plain_http);
    if let Some(bundle) = bundle {
        // botocore verifies against the bundle alone, not the system's store beside it.
        client = client.with_no_system_certificates(true);
        for certificate in ca_bundle(bundle)? {
            client = client.with_root_certificate(certificate);
        }
    }
    Ok(client)
}

/// The server-side encryption asked for: SSE-S3 or SSE-KMS (`--encryption`,
/// `--sse-kms-key-id`), or SSE-C (`--sse-customer-key`), whose headers are also returned.
fn with_encryption(
    mut builder: AmazonS3Builder,
    options: &CloudOptions,
) -> Result<(AmazonS3Builder, http::HeaderMap), CloudError> {
    let mut sse_c = http::HeaderMap::new();
    if let Some(uri) = &options.sse_customer_key {
        if options.encryption.is_some() {
            // S3 refuses both on one request; said before anything is sent.
            return Err(CloudError::Other(
                "SSE-C (--sse-customer-key) cannot be combined with --encryption".into(),
            ));
        }
        let key = sse_customer_key(uri)?;
        sse_c = sse_c_headers(&key)?;
        builder = builder.with_ssec_encryption(key);
    }
    builder = match (options.encryption.as_deref(), &options.sse_kms_key_id) {
        (Some("aws:kms"), Some(key)) => builder.with_sse_kms_encryption(key),
        (Some("aws:kms"), None) => builder.with_config(
            "aws_server_side_encryption".parse().expect("known key"),
            "aws:kms",
        ),
        (Some(other), _) => builder.with_config(
            "aws_server_side_encryption".parse().expect("known key"),
            other,
        ),
        (None, _) => builder,
    };
    Ok((builder, sse_c))
}

/// The provider signing with the credentials from `source`. What is fetched at run time
/// is fetched in botocore's manner (object_store's own providers differ: STS over https
/// only, metadata retried for half a minute); there is always a provider, so a request
/// without credentials is never sent unsigned (botocore refuses it: "Unable to locate
/// credentials").
fn credential_provider(
    source: CredentialSource,
    region: &str,
    ca_bundle: Option<PathBuf>,
) -> AwsCredentialProvider {
    if let CredentialSource::Static(keys) = source {
        return Arc::new(StaticCredentialProvider::new(AwsCredential {
            key_id: keys.access_key_id,
            secret_key: keys.secret_access_key,
            token: keys.session_token,
        }));
    }
    Arc::new(FetchedCredentials::new(
        fetch_for(source, region),
        ca_bundle,
    ))
}

/// How `source` is fetched; STS at its regional endpoint unless one is set, sessions
/// named as botocore names them.
fn fetch_for(source: CredentialSource, region: &str) -> Fetch {
    let sts = |endpoint: Option<String>| {
        endpoint.unwrap_or_else(|| format!("https://sts.{region}.amazonaws.com"))
    };
    let session = |name: Option<String>| {
        name.unwrap_or_else(|| format!("botocore-session-{}", chrono::Utc::now().timestamp()))
    };
    match source {
        CredentialSource::Static(keys) => Fetch::Static(Arc::new(AwsCredential {
            key_id: keys.access_key_id,
            secret_key: keys.secret_access_key,
            token: keys.session_token,
        })),
        CredentialSource::WebIdentity {
            token_file,
            role_arn,
            session_name,
            sts_endpoint,
        } => Fetch::WebIdentity(WebIdentity {
            token_file,
            role_arn,
            session_name: session(session_name),
            endpoint: sts(sts_endpoint),
        }),
        CredentialSource::AssumeRole(role) => {
            let role = *role;
            Fetch::AssumeRole {
                role: AssumeRole {
                    role_arn: role.role_arn,
                    session_name: session(role.session_name),
                    external_id: role.external_id,
                    duration_seconds: role.duration_seconds,
                    endpoint: sts(role.sts_endpoint),
                    region: region.to_string(),
                },
                source: Box::new(fetch_for(role.source, region)),
            }
        }
        CredentialSource::Process(command) => Fetch::Process(command),
        CredentialSource::Container(endpoint) => Fetch::Container(endpoint),
        CredentialSource::InstanceMetadata(settings) => Fetch::InstanceMetadata(settings),
        CredentialSource::None => Fetch::Nothing,
    }
}

/// The headers S3 wants with every request on an SSE-C object (object_store adds the same
/// to its own requests).
fn sse_c_headers(key_base64: &str) -> Result<http::HeaderMap, CloudError> {
    use base64::Engine;
    use md5::Digest;
    let engine = base64::engine::general_purpose::STANDARD;
    let key = engine
        .decode(key_base64)
        .map_err(|e| CloudError::Other(format!("SSE-C key: {e}")))?;
    let md5 = engine.encode(md5::Md5::digest(&key));
    let mut headers = http::HeaderMap::new();
    for (name, value) in [
        (
            "x-amz-server-side-encryption-customer-algorithm",
            "AES256".to_string(),
        ),
        (
            "x-amz-server-side-encryption-customer-key",
            key_base64.to_string(),
        ),
        ("x-amz-server-side-encryption-customer-key-md5", md5),
    ] {
        let value = http::HeaderValue::from_str(&value)
            .map_err(|e| CloudError::Other(format!("SSE-C key: {e}")))?;
        headers.insert(http::HeaderName::from_static(name), value);
    }
    Ok(headers)
}

/// The SSE-C key named by a `file://` URI, checked as barman-cloud checks it (in its
/// words), given back in canonical base64 for the request headers.
fn sse_customer_key(uri: &str) -> Result<String, CloudError> {
    use base64::Engine;
    let fail = |why: String| CloudError::Other(why);
    let Some(path) = uri.strip_prefix("file://") else {
        return Err(fail(
            "SSE-C customer key must be provided as a file:// URI (e.g. file:///path/to/key.b64)"
                .into(),
        ));
    };
    if !path.starts_with('/') {
        return Err(fail(format!(
            "SSE-C key file path must be absolute: {path}"
        )));
    }
    let raw = match std::fs::read(path) {
        Ok(raw) => raw,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(fail(format!("SSE-C key file not found: {path}")))
        }
        Err(e) => {
            let text = e.to_string();
            let text = text.split(" (os error").next().unwrap_or(&text).to_string();
            let errno = e
                .raw_os_error()
                .map(|n| format!("[Errno {n}] "))
                .unwrap_or_default();
            return Err(fail(format!(
                "Could not read SSE-C key file {path}: {errno}{text}: '{path}'"
            )));
        }
    };
    // Python's bytes.strip() and b64decode(validate=True).
    let text = raw.trim_ascii();
    let key = base64::engine::general_purpose::STANDARD
        .decode(text)
        .map_err(|_| {
            fail(format!(
                "SSE-C key file {path} does not contain a valid base64-encoded key"
            ))
        })?;
    if key.len() != 32 {
        return Err(fail(format!(
            "SSE-C key file {path} must contain a 256-bit (32-byte) key, got {} bytes",
            key.len()
        )));
    }
    Ok(base64::engine::general_purpose::STANDARD.encode(key))
}

/// The certificates of a PEM bundle (`AWS_CA_BUNDLE`, `ca_bundle`).
fn ca_bundle(path: &Path) -> Result<Vec<object_store::Certificate>, CloudError> {
    // botocore's (urllib3's) words for a bundle that is not there.
    let invalid = |e: &dyn std::fmt::Display| {
        CloudError::Other(format!(
            "Could not find a suitable TLS CA certificate bundle, invalid path: {} ({e})",
            path.display()
        ))
    };
    let pem = std::fs::read(path).map_err(|e| invalid(&e))?;
    let certificates = object_store::Certificate::from_pem_bundle(&pem).map_err(|e| invalid(&e))?;
    if certificates.is_empty() {
        return Err(invalid(&"no certificate in it"));
    }
    Ok(certificates)
}

/// Whether request bodies are signed (their SHA-256 in `x-amz-content-sha256`), as botocore
/// decides for S3: the profile's `s3` `payload_signing_enabled` when set, else signed over
/// plain http and not over https, where TLS keeps the body intact (botocore then sends a
/// CRC32 instead). Hashing is a pass over every byte sent: a fifth of a 16 MiB per-WAL
/// archive's time, over a core-second per GB of backup.
fn sign_payload(
    endpoint: Option<&String>,
    options: &CloudOptions,
    files: &AwsFiles,
) -> Result<bool, CloudError> {
    if let Some(explicit) = files.s3_payload_signing(options.profile.as_deref())? {
        return Ok(explicit);
    }
    Ok(endpoint.is_some_and(|url| !url.starts_with("https://")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files_with_config(text: &str) -> (tempfile::TempDir, AwsFiles) {
        let dir = tempfile::tempdir().expect("temp dir");
        let config = dir.path().join("config");
        std::fs::write(&config, text).expect("config written");
        let files = AwsFiles {
            config_file: Some(config),
            ..AwsFiles::default()
        };
        (dir, files)
    }

    #[test]
    fn buckets_are_addressed_as_botocore_addresses_them() {
        let minio = Some("https://minio.example.net:9000/".to_string());
        assert_eq!(
            bucket_url("wals", "eu-west-1", minio.as_ref(), false),
            (
                Some("https://minio.example.net:9000".into()),
                "https://minio.example.net:9000/wals".into()
            )
        );
        // Virtual-hosted: the bucket goes in front of the endpoint's host (object_store
        // would send every request to the endpoint itself, without the bucket).
        assert_eq!(
            bucket_url("wals", "eu-west-1", minio.as_ref(), true),
            (
                Some("https://wals.minio.example.net:9000".into()),
                "https://wals.minio.example.net:9000".into()
            )
        );
        assert_eq!(
            bucket_url("wals", "eu-west-1", None, true).1,
            "https://wals.s3.eu-west-1.amazonaws.com"
        );
        assert_eq!(
            bucket_url("wals", "eu-west-1", None, false).1,
            "https://s3.eu-west-1.amazonaws.com/wals"
        );
    }

    #[test]
    fn bodies_are_signed_over_http_only_unless_the_profile_says() {
        let http = Some("http://127.0.0.1:9000".to_string());
        let https = Some("https://s3.example.net".to_string());
        let options = CloudOptions::default();
        let (_dir, none) = files_with_config("[default]\nregion = eu-west-1\n");
        assert!(sign_payload(http.as_ref(), &options, &none).expect("read"));
        assert!(!sign_payload(https.as_ref(), &options, &none).expect("read"));
        assert!(
            !sign_payload(None, &options, &none).expect("read"),
            "AWS is https"
        );
        // botocore's nested setting: `true` in any case signs, anything else does not.
        let nested = "[default]\ns3 =\n    addressing_style = path\n    payload_signing_enabled = ";
        let (_dir, off) = files_with_config(&format!("{nested}false\n"));
        assert!(!sign_payload(http.as_ref(), &options, &off).expect("read"));
        let (_dir, on) = files_with_config(&format!("{nested}TRUE\n"));
        assert!(sign_payload(https.as_ref(), &options, &on).expect("read"));
        let (_dir, yes) = files_with_config(&format!("{nested}yes\n"));
        assert!(!sign_payload(http.as_ref(), &options, &yes).expect("read"));
        // Another profile's setting is not ours.
        let (_dir, other) =
            files_with_config("[profile other]\ns3 =\n    payload_signing_enabled = false\n");
        assert!(sign_payload(http.as_ref(), &options, &other).expect("read"));
        let named = CloudOptions {
            profile: Some("other".into()),
            ..CloudOptions::default()
        };
        assert!(!sign_payload(http.as_ref(), &named, &other).expect("read"));
    }
}
