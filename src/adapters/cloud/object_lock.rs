//! S3 Object Lock checked before deleting, as barman-cloud-backup-delete's
//! `--check-object-lock` and Barman's `aws_check_object_lock` check it: a HEAD of each
//! object (its `x-amz-object-lock-retain-until-date` and `-legal-hold` headers, which S3
//! only returns to a caller allowed to read them), and no deletion of a batch holding a
//! locked object. object_store's HEAD keeps no such headers, so the HEAD is made here, to
//! the URL object_store addresses, signed by object_store's SigV4 signer with the store's
//! own credential provider, with its SSE-C headers.

use super::{CloudError, CloudStore};
use chrono::{DateTime, Utc};
use object_store::aws::{AwsAuthorizer, AwsCredentialProvider};
use std::time::Duration;

/// botocore's words when a batch was kept back (they name no object: the log does).
const KEPT_BACK: &str =
    "Error from cloud provider while deleting objects - please check the command output.";

impl CloudStore {
    /// Why `key` cannot be deleted now (an unexpired retention, a legal hold), in
    /// barman-cloud's words; `None` when nothing holds it.
    pub fn object_lock(&self, key: &str) -> Result<Option<String>, CloudError> {
        let probe = &self.probe;
        let response = self.runtime.block_on(probe.head(key))?;
        let status = response.status();
        let reason = status.canonical_reason().unwrap_or("");
        if status == reqwest::StatusCode::FORBIDDEN {
            return Err(CloudError::Other(format!(
                "Access denied when checking Object Lock for {key}: {reason}"
            )));
        }
        if !status.is_success() {
            return Err(CloudError::Other(format!(
                "Error checking Object Lock for {key}: {reason}"
            )));
        }
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        if let Some(text) = header("x-amz-object-lock-retain-until-date") {
            if let Ok(until) = DateTime::parse_from_rfc3339(&text) {
                let until = until.with_timezone(&Utc);
                if until > Utc::now() {
                    return Ok(Some(format!(
                        "Object is locked and can't be deleted until {}",
                        python_utc_str(&until)
                    )));
                }
            }
        }
        if header("x-amz-object-lock-legal-hold").as_deref() == Some("ON") {
            return Ok(Some(
                "Object has a legal hold and can't be deleted until the legal hold is removed"
                    .into(),
            ));
        }
        Ok(None)
    }

    /// Barman's `delete_objects(keys, check_locks=True)` (atomic): batch by batch, each
    /// key's lock checked first; a batch holding a locked object, or whose check failed,
    /// is not deleted, the others are; `report` hears why (Python logs the locked object
    /// as an error). Any batch kept back ends in botocore's error.
    pub fn delete_many_unless_locked(
        &self,
        keys: &[String],
        batch: usize,
        report: &mut dyn FnMut(&str),
    ) -> Result<(), CloudError> {
        let mut kept_back = false;
        for chunk in keys.chunks(batch.max(1)) {
            let mut held = None;
            for key in chunk {
                match self.object_lock(key) {
                    Ok(None) => {}
                    Ok(Some(reason)) => {
                        held = Some(format!("Cannot delete locked object {key}: {reason}"));
                        break;
                    }
                    Err(e) => {
                        held = Some(e.to_string());
                        break;
                    }
                }
            }
            match held {
                Some(why) => {
                    report(&why);
                    kept_back = true;
                }
                None => self.delete_many(chunk, batch)?,
            }
        }
        if kept_back {
            return Err(CloudError::Other(KEPT_BACK.into()));
        }
        Ok(())
    }
}

/// `str()` of a UTC `datetime` as botocore parses it: `2099-01-01 00:00:00+00:00`, the
/// microseconds only when there are some.
fn python_utc_str(t: &DateTime<Utc>) -> String {
    if t.timestamp_subsec_micros() == 0 {
        t.format("%Y-%m-%d %H:%M:%S+00:00").to_string()
    } else {
        t.format("%Y-%m-%d %H:%M:%S%.6f+00:00").to_string()
    }
}

/// What the lock check needs beside the store: its credentials, addressing and HTTP
/// settings.
pub(super) struct LockProbe {
    /// The store's own credential provider.
    pub(super) credentials: AwsCredentialProvider,
    /// The region requests are signed for.
    pub(super) region: String,
    /// The bucket's URL as the store addresses it.
    pub(super) bucket_url: String,
    /// The SSE-C headers every request of the store carries (empty without SSE-C).
    pub(super) sse_c: http::HeaderMap,
    /// The only certificates https endpoints are verified against, if set.
    pub(super) ca_bundle: Option<std::path::PathBuf>,
    /// `--read-timeout`.
    pub(super) timeout: Duration,
}

impl LockProbe {
    /// A signed HEAD of `key`.
    async fn head(&self, key: &str) -> Result<reqwest::Response, CloudError> {
        let url = format!("{}/{}", self.bucket_url, encode_key(key));
        let credential = self
            .credentials
            .get_credential()
            .await
            .map_err(|e| super::classify("HeadObject", e))?;
        let mut request = http::Request::head(&url)
            .body(object_store::client::HttpRequestBody::from(Vec::new()))
            .map_err(|e| CloudError::Other(format!("{url}: {e}")))?;
        request.headers_mut().extend(self.sse_c.clone());
        AwsAuthorizer::new(&credential, "s3", &self.region)
            .try_authorize(&mut request, None)
            .map_err(|e| CloudError::Other(format!("signing HeadObject: {e}")))?;
        let client = self.client()?;
        client
            .head(&url)
            .headers(request.headers().clone())
            .send()
            .await
            .map_err(|_| {
                CloudError::Connectivity(format!(
                    "Could not connect to the endpoint URL: \"{url}\""
                ))
            })
    }

    fn client(&self) -> Result<reqwest::Client, CloudError> {
        super::http_client(Some(self.timeout), self.ca_bundle.as_deref()).map_err(CloudError::Other)
    }
}

/// A key in a URL path as S3 wants it: every byte but the unreserved ones and `/`
/// percent-encoded (SigV4's canonical form, which the signer takes from the URL as is).
fn encode_key(key: &str) -> String {
    let mut out = String::with_capacity(key.len());
    for byte in key.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~/".contains(&byte) {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_percent_encoded_but_their_slashes() {
        assert_eq!(encode_key("a/b c/d+e~f.tar"), "a/b%20c/d%2Be~f.tar");
    }

    #[test]
    fn retain_until_dates_print_as_python_prints_them() {
        let whole = DateTime::parse_from_rfc3339("2099-01-01T00:00:00.000Z")
            .expect("date")
            .with_timezone(&Utc);
        assert_eq!(python_utc_str(&whole), "2099-01-01 00:00:00+00:00");
        let fraction = DateTime::parse_from_rfc3339("2099-01-01T10:20:30.123Z")
            .expect("date")
            .with_timezone(&Utc);
        assert_eq!(
            python_utc_str(&fraction),
            "2099-01-01 10:20:30.123000+00:00"
        );
    }
}
