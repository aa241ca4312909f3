//! STS asked for a role's credentials as botocore asks: AssumeRoleWithWebIdentity (an
//! unsigned form POST carrying the platform's token) and AssumeRole (the same form, signed
//! with the source credentials by object_store's SigV4 signer). Unreachable STS, an
//! unreadable token file and STS's refusal each read as botocore words them.

use super::fetched_credentials::{CredentialError, Fetched};
use chrono::{DateTime, Utc};
use object_store::aws::{AwsAuthorizer, AwsCredential};
use serde::Deserialize;
use std::sync::Arc;

/// The form's content type, as botocore sends it.
const FORM: &str = "application/x-www-form-urlencoded; charset=utf-8";

/// An AssumeRoleWithWebIdentity exchange.
#[derive(Debug, Clone)]
pub struct WebIdentity {
    /// The token's file, read at each exchange (the platform rotates it).
    pub token_file: String,
    /// The role assumed.
    pub role_arn: String,
    /// The session's name.
    pub session_name: String,
    /// STS's URL.
    pub endpoint: String,
}

/// An AssumeRole call's parameters (the profile's options).
#[derive(Debug, Clone)]
pub struct AssumeRole {
    /// `role_arn`.
    pub role_arn: String,
    /// `role_session_name`, else botocore's `botocore-session-<time>`.
    pub session_name: String,
    /// `external_id`.
    pub external_id: Option<String>,
    /// `duration_seconds`.
    pub duration_seconds: Option<String>,
    /// STS's URL.
    pub endpoint: String,
    /// The region the call is signed for.
    pub region: String,
}

/// Exchange the web identity token for the role's credentials.
pub(super) async fn assume_role_with_web_identity(
    exchange: &WebIdentity,
    client: &reqwest::Client,
) -> Result<Fetched, CredentialError> {
    let token = std::fs::read_to_string(&exchange.token_file).map_err(|e| {
        CredentialError::new(super::os_error_text(&e, exchange.token_file.as_ref()))
    })?;
    let form = [
        ("Action", "AssumeRoleWithWebIdentity"),
        ("Version", "2011-06-15"),
        ("RoleArn", &exchange.role_arn),
        ("RoleSessionName", &exchange.session_name),
        ("WebIdentityToken", token.trim()),
    ];
    call(client, &exchange.endpoint, &form, None).await
}

/// Assume the role with `source`'s credentials.
pub(super) async fn assume_role(
    role: &AssumeRole,
    source: &AwsCredential,
    client: &reqwest::Client,
) -> Result<Fetched, CredentialError> {
    let mut form = vec![
        ("Action", "AssumeRole"),
        ("Version", "2011-06-15"),
        ("RoleArn", role.role_arn.as_str()),
        ("RoleSessionName", role.session_name.as_str()),
    ];
    if let Some(id) = &role.external_id {
        form.push(("ExternalId", id));
    }
    if let Some(seconds) = &role.duration_seconds {
        form.push(("DurationSeconds", seconds));
    }
    call(client, &role.endpoint, &form, Some((source, &role.region))).await
}

/// POST `form` to STS (signed when `signer` is given) and read the credentials.
async fn call(
    client: &reqwest::Client,
    endpoint: &str,
    form: &[(&str, &str)],
    signer: Option<(&AwsCredential, &str)>,
) -> Result<Fetched, CredentialError> {
    let operation = form.first().map_or("", |(_, action)| *action);
    let body = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(form)
        .finish();
    let url = format!("{}/", endpoint.trim_end_matches('/'));
    // The signed headers carry the content type: set once, or the server sees it twice.
    let headers = match signer {
        Some((credential, region)) => signature(&url, body.clone(), credential, region)?,
        None => {
            let mut headers = http::HeaderMap::new();
            headers.insert(
                http::header::CONTENT_TYPE,
                http::HeaderValue::from_static(FORM),
            );
            headers
        }
    };
    let request = client.post(&url).headers(headers).body(body);
    let response = request.send().await.map_err(|_| CredentialError {
        message: format!("Could not connect to the endpoint URL: \"{url}\""),
        connectivity: true,
    })?;
    let status = response.status();
    let text = response
        .text()
        .await
        .map_err(|e| CredentialError::new(format!("{url}: {e}")))?;
    if !status.is_success() {
        let error = quick_xml::de::from_str::<ErrorResponse>(&text).map(ErrorResponse::body);
        return Err(CredentialError::new(match error {
            Ok(error) if !error.code.is_empty() => format!(
                "An error occurred ({}) when calling the {operation} operation: {}",
                error.code, error.message
            ),
            _ => format!("{operation}: {url} answered {status}: {}", text.trim()),
        }));
    }
    let answer: Response = quick_xml::de::from_str(&text).map_err(|e| {
        CredentialError::new(format!("{operation}: unexpected answer from {url}: {e}"))
    })?;
    let c = answer.result.credentials;
    Ok(Fetched {
        credential: Arc::new(AwsCredential {
            key_id: c.access_key_id,
            secret_key: c.secret_access_key,
            token: Some(c.session_token),
        }),
        expires: DateTime::parse_from_rfc3339(&c.expiration)
            .map(|t| t.with_timezone(&Utc))
            .ok(),
    })
}

/// The SigV4 headers (date, body hash, token, authorization) for a POST of `body` to
/// `url`, service `sts`.
fn signature(
    url: &str,
    body: String,
    credential: &AwsCredential,
    region: &str,
) -> Result<http::HeaderMap, CredentialError> {
    let mut request = http::Request::post(url)
        .header(http::header::CONTENT_TYPE, FORM)
        .body(object_store::client::HttpRequestBody::from(body))
        .map_err(|e| CredentialError::new(format!("{url}: {e}")))?;
    AwsAuthorizer::new(credential, "sts", region)
        .try_authorize(&mut request, None)
        .map_err(|e| CredentialError::new(format!("signing the AssumeRole call: {e}")))?;
    Ok(request.headers().clone())
}

#[derive(Debug, Deserialize)]
struct Response {
    #[serde(rename = "AssumeRoleResult", alias = "AssumeRoleWithWebIdentityResult")]
    result: ResponseResult,
}

#[derive(Debug, Deserialize)]
struct ResponseResult {
    #[serde(rename = "Credentials")]
    credentials: Credentials,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Credentials {
    access_key_id: String,
    secret_access_key: String,
    session_token: String,
    expiration: String,
}

/// STS's `<ErrorResponse><Error>`; moto wraps it in `<Errors>`, as EC2's query API does.
#[derive(Debug, Default, Deserialize)]
struct ErrorResponse {
    #[serde(rename = "Error", default)]
    error: Option<ErrorBody>,
    #[serde(rename = "Errors", default)]
    errors: Option<Errors>,
}

#[derive(Debug, Default, Deserialize)]
struct Errors {
    #[serde(rename = "Error", default)]
    error: ErrorBody,
}

impl ErrorResponse {
    fn body(self) -> ErrorBody {
        self.error
            .or(self.errors.map(|e| e.error))
            .unwrap_or_default()
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ErrorBody {
    #[serde(default)]
    code: String,
    #[serde(default)]
    message: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sts_answers_are_read() {
        let answer = r#"<AssumeRoleWithWebIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <AssumeRoleWithWebIdentityResult>
    <SubjectFromWebIdentityToken>system:serviceaccount:db:barman</SubjectFromWebIdentityToken>
    <Credentials>
      <SessionToken>tok</SessionToken>
      <SecretAccessKey>secret</SecretAccessKey>
      <Expiration>2026-12-07T12:00:00Z</Expiration>
      <AccessKeyId>ASIA3</AccessKeyId>
    </Credentials>
  </AssumeRoleWithWebIdentityResult>
</AssumeRoleWithWebIdentityResponse>"#;
        let parsed: Response = quick_xml::de::from_str(answer).expect("parsed");
        assert_eq!(parsed.result.credentials.access_key_id, "ASIA3");
        assert_eq!(parsed.result.credentials.session_token, "tok");
        let assumed = r#"<AssumeRoleResponse><AssumeRoleResult><AssumedRoleUser><Arn>a</Arn>
  </AssumedRoleUser><Credentials><AccessKeyId>ASIA4</AccessKeyId><SecretAccessKey>s</SecretAccessKey>
  <SessionToken>t</SessionToken><Expiration>2026-12-07T12:00:00Z</Expiration></Credentials>
  </AssumeRoleResult></AssumeRoleResponse>"#;
        let parsed: Response = quick_xml::de::from_str(assumed).expect("parsed");
        assert_eq!(parsed.result.credentials.access_key_id, "ASIA4");
        let error = r#"<ErrorResponse><Error><Type>Sender</Type><Code>InvalidIdentityToken</Code>
  <Message>expired</Message></Error><RequestId>x</RequestId></ErrorResponse>"#;
        let parsed = quick_xml::de::from_str::<ErrorResponse>(error).expect("parsed");
        let body = parsed.body();
        assert_eq!(
            (body.code.as_str(), body.message.as_str()),
            ("InvalidIdentityToken", "expired")
        );
        let moto = "<ErrorResponse><Errors><Error><Code>SignatureDoesNotMatch</Code>\
                    <Message>no</Message></Error></Errors></ErrorResponse>";
        let parsed = quick_xml::de::from_str::<ErrorResponse>(moto).expect("parsed");
        assert_eq!(parsed.body().code, "SignatureDoesNotMatch");
    }
}
