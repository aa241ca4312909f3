//! The S3 store: `object_store`'s Amazon S3 client configured as boto3 would be.

use super::{AwsFiles, CloudError, CloudOptions};
use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::{ClientOptions, RetryConfig};
use std::time::Duration;

/// Build the client for `bucket`.
pub fn build(
    bucket: &str,
    options: &CloudOptions,
    files: &AwsFiles,
) -> Result<AmazonS3, CloudError> {
    let profile = options.profile.as_deref();
    let region = files.region(profile)?;
    let read_timeout = Duration::from_secs(options.read_timeout.unwrap_or(60));
    let client = ClientOptions::new()
        .with_timeout(read_timeout)
        .with_connect_timeout(Duration::from_secs(60))
        .with_allow_http(true);
    // botocore retries a failed call a few times; not object_store's three minutes.
    let retry = RetryConfig {
        max_retries: 3,
        retry_timeout: Duration::from_secs(30),
        ..RetryConfig::default()
    };
    let mut builder = AmazonS3Builder::new()
        .with_bucket_name(bucket)
        .with_region(region)
        .with_client_options(client)
        .with_retry(retry)
        .with_virtual_hosted_style_request(options.addressing_style.as_deref() == Some("virtual"));
    if let Some(endpoint) = options
        .endpoint_url
        .as_ref()
        .or(files.env_endpoint.as_ref())
    {
        builder = builder.with_endpoint(endpoint.trim_end_matches('/'));
    }
    match files.credentials(profile)? {
        Some(keys) => {
            builder = builder
                .with_access_key_id(keys.access_key_id)
                .with_secret_access_key(keys.secret_access_key);
            if let Some(token) = keys.session_token {
                builder = builder.with_token(token);
            }
        }
        None => builder = builder.with_skip_signature(true),
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
    builder
        .build()
        .map_err(|e| CloudError::Other(e.to_string()))
}
