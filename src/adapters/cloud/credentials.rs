//! AWS credentials and region as boto3 finds them: the environment first
//! (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`) unless a profile was
//! named on the command line, then the profile (`--aws-profile`, else `AWS_PROFILE`, else
//! `default`) in the shared credentials file (`AWS_SHARED_CREDENTIALS_FILE`, default
//! `~/.aws/credentials`) and in the config file (`AWS_CONFIG_FILE`, default `~/.aws/config`,
//! section `[profile NAME]` or `[default]`), then the sources botocore tries after them
//! (web identity, `credential_process`, the container's endpoint, the EC2 instance
//! metadata service): [`AwsFiles::credential_source`] picks one, in botocore's order.

use super::CloudError;
use crate::core::config::ini;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

/// What the AWS credential chain reads from the environment, read once.
#[derive(Debug, Clone, Default)]
pub struct AwsFiles {
    /// `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`.
    pub env_keys: Option<AwsCredentials>,
    /// `AWS_PROFILE` (or `AWS_DEFAULT_PROFILE`).
    pub env_profile: Option<String>,
    /// `AWS_REGION` or `AWS_DEFAULT_REGION`.
    pub env_region: Option<String>,
    /// The shared credentials file.
    pub credentials_file: Option<PathBuf>,
    /// The config file.
    pub config_file: Option<PathBuf>,
    /// `AWS_ENDPOINT_URL_S3`, else `AWS_ENDPOINT_URL` (boto3 ≥ 1.28 reads both): the S3
    /// server when no `--endpoint-url` is given, e.g. for Barman's own cloud storage,
    /// whose configuration has no endpoint option.
    pub env_endpoint: Option<String>,
    /// `AWS_CA_BUNDLE`: the only certificates a TLS endpoint is verified against.
    pub env_ca_bundle: Option<String>,
    /// Every other non-empty `AWS_*` variable, for the later sources of the chain.
    pub env_vars: BTreeMap<String, String>,
}

/// An access key pair with an optional session token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AwsCredentials {
    /// Access key id.
    pub access_key_id: String,
    /// Secret access key.
    pub secret_access_key: String,
    /// Session token.
    pub session_token: Option<String>,
}

impl AwsFiles {
    /// Read the variables boto3 reads.
    pub fn from_env() -> AwsFiles {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        let home = var("HOME").map(PathBuf::from);
        let env_keys = match (var("AWS_ACCESS_KEY_ID"), var("AWS_SECRET_ACCESS_KEY")) {
            (Some(id), Some(secret)) => Some(AwsCredentials {
                access_key_id: id,
                secret_access_key: secret,
                session_token: var("AWS_SESSION_TOKEN").or_else(|| var("AWS_SECURITY_TOKEN")),
            }),
            _ => None,
        };
        AwsFiles {
            env_keys,
            env_profile: var("AWS_PROFILE").or_else(|| var("AWS_DEFAULT_PROFILE")),
            env_region: var("AWS_REGION").or_else(|| var("AWS_DEFAULT_REGION")),
            credentials_file: var("AWS_SHARED_CREDENTIALS_FILE")
                .map(PathBuf::from)
                .or_else(|| home.as_ref().map(|h| h.join(".aws/credentials"))),
            config_file: var("AWS_CONFIG_FILE")
                .map(PathBuf::from)
                .or_else(|| home.as_ref().map(|h| h.join(".aws/config"))),
            env_endpoint: var("AWS_ENDPOINT_URL_S3").or_else(|| var("AWS_ENDPOINT_URL")),
            env_ca_bundle: var("AWS_CA_BUNDLE"),
            env_vars: std::env::vars()
                .filter(|(k, v)| k.starts_with("AWS_") && !v.is_empty())
                .collect(),
        }
    }

    fn var(&self, name: &str) -> Option<&str> {
        self.env_vars.get(name).map(String::as_str)
    }

    /// Where the credentials for `profile` (the command line's) come from, in botocore's
    /// order: the environment's keys (unless a profile was named), web identity (the
    /// profile's, else the environment's), the credentials file's keys, the profile's
    /// `credential_process`, the config file's keys, the container's endpoint, the
    /// instance metadata service. A profile named but found nowhere is botocore's
    /// ProfileNotFound; an assume-role or SSO profile, which botocore would follow and we
    /// do not, is refused by name rather than passed over.
    pub fn credential_source(&self, profile: Option<&str>) -> Result<CredentialSource, CloudError> {
        if profile.is_none() {
            if let Some(keys) = &self.env_keys {
                return Ok(CredentialSource::Static(keys.clone()));
            }
        }
        let name = self.profile_name(profile);
        let in_credentials = read_section(self.credentials_file.as_ref(), &name)?;
        let in_config = read_section(self.config_file.as_ref(), &config_section(&name))?;
        if profile.is_some() && in_credentials.is_none() && in_config.is_none() {
            // botocore's ProfileNotFound text.
            return Err(CloudError::Other(format!(
                "The config profile ({name}) could not be found"
            )));
        }
        let credentials = Options(in_credentials.unwrap_or_default());
        let config = Options(in_config.unwrap_or_default());
        // botocore merges the credentials file's section over the config file's.
        let either = |key: &str| credentials.get(key).or_else(|| config.get(key));
        if let Some(source) = self.web_identity(&either)? {
            return Ok(source);
        }
        if let Some(option) = ["sso_session", "sso_start_url", "sso_account_id"]
            .into_iter()
            .find(|key| either(key).is_some())
        {
            return Err(CloudError::Other(format!(
                "The config profile ({name}) uses AWS IAM Identity Center ({option}), which \
                 is not supported: give keys, a credential_process or a web identity instead"
            )));
        }
        if let Some(keys) = credentials.keys() {
            return Ok(CredentialSource::Static(keys));
        }
        if let Some(command) = either("credential_process") {
            return Ok(CredentialSource::Process(command));
        }
        if let Some(keys) = config.keys() {
            return Ok(CredentialSource::Static(keys));
        }
        if let Some(endpoint) = self.container_endpoint() {
            return Ok(CredentialSource::Container(endpoint));
        }
        self.instance_metadata(&config)
    }

    /// A web identity role: the profile's `role_arn` with `web_identity_token_file`, else
    /// `AWS_ROLE_ARN` with `AWS_WEB_IDENTITY_TOKEN_FILE`. A `role_arn` without a token
    /// file is botocore's AssumeRole, which is refused.
    fn web_identity(
        &self,
        option: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Option<CredentialSource>, CloudError> {
        let sts_endpoint = self
            .var("AWS_ENDPOINT_URL_STS")
            .or_else(|| self.var("AWS_ENDPOINT_URL"))
            .map(str::to_string);
        if let Some(role_arn) = option("role_arn") {
            let Some(token_file) = option("web_identity_token_file") else {
                return Err(CloudError::Other(format!(
                    "The profile's role_arn ({role_arn}) needs STS AssumeRole from a \
                     source_profile or credential_source, which is not supported: use \
                     web_identity_token_file, a credential_process or keys instead"
                )));
            };
            return Ok(Some(CredentialSource::WebIdentity {
                token_file,
                role_arn,
                session_name: option("role_session_name"),
                sts_endpoint,
            }));
        }
        let (Some(token_file), Some(role_arn)) = (
            self.var("AWS_WEB_IDENTITY_TOKEN_FILE"),
            self.var("AWS_ROLE_ARN"),
        ) else {
            return Ok(None);
        };
        Ok(Some(CredentialSource::WebIdentity {
            token_file: token_file.to_string(),
            role_arn: role_arn.to_string(),
            session_name: self.var("AWS_ROLE_SESSION_NAME").map(str::to_string),
            sts_endpoint,
        }))
    }

    /// The region: the environment, else the profile's `region` in the config file, else
    /// `us-east-1`.
    pub fn region(&self, profile: Option<&str>) -> Result<String, CloudError> {
        if let Some(region) = &self.env_region {
            return Ok(region.clone());
        }
        Ok(self
            .profile_option(profile, "region")?
            .unwrap_or_else(|| "us-east-1".into()))
    }
}

impl AwsFiles {
    /// The profile in use: the command line's, else `AWS_PROFILE`, else `default`.
    fn profile_name(&self, profile: Option<&str>) -> String {
        profile
            .map(str::to_string)
            .or_else(|| self.env_profile.clone())
            .unwrap_or_else(|| "default".into())
    }

    /// The container's credentials endpoint, as botocore's ContainerProvider finds it:
    /// `AWS_CONTAINER_CREDENTIALS_RELATIVE_URI` under ECS's link-local host, else
    /// `AWS_CONTAINER_CREDENTIALS_FULL_URI`, with `AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE` or
    /// `AWS_CONTAINER_AUTHORIZATION_TOKEN` as its `Authorization` header.
    fn container_endpoint(&self) -> Option<ContainerEndpoint> {
        let url = if let Some(relative) = self.var("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI") {
            format!("http://169.254.170.2{relative}")
        } else if let Some(full) = self.var("AWS_CONTAINER_CREDENTIALS_FULL_URI") {
            full.to_string()
        } else {
            return None;
        };
        let authorization = match self.var("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE") {
            Some(file) => Some(AuthorizationToken::File(PathBuf::from(file))),
            None => self
                .var("AWS_CONTAINER_AUTHORIZATION_TOKEN")
                .map(|t| AuthorizationToken::Value(t.to_string())),
        };
        Some(ContainerEndpoint { url, authorization })
    }

    /// The instance metadata service's settings (botocore's variables and profile
    /// options), or no source at all when `AWS_EC2_METADATA_DISABLED` is true.
    fn instance_metadata(&self, config: &Options) -> Result<CredentialSource, CloudError> {
        let setting = |var: &str, key: &str| {
            self.var(var)
                .map(str::to_string)
                .or_else(|| config.get(key))
        };
        let is_true = |value: Option<String>| value.is_some_and(|v| v.eq_ignore_ascii_case("true"));
        if is_true(self.var("AWS_EC2_METADATA_DISABLED").map(str::to_string)) {
            return Ok(CredentialSource::None);
        }
        let endpoint = match setting(
            "AWS_EC2_METADATA_SERVICE_ENDPOINT",
            "ec2_metadata_service_endpoint",
        ) {
            Some(url) => url.trim_end_matches('/').to_string(),
            None => match setting(
                "AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE",
                "ec2_metadata_service_endpoint_mode",
            ) {
                Some(mode) if mode.eq_ignore_ascii_case("ipv6") => "http://[fd00:ec2::254]".into(),
                _ => "http://169.254.169.254".into(),
            },
        };
        let timeout = match setting("AWS_METADATA_SERVICE_TIMEOUT", "metadata_service_timeout") {
            Some(text) => text
                .trim()
                .parse::<f64>()
                .ok()
                .filter(|s| s.is_finite() && *s > 0.0)
                .map(Duration::from_secs_f64)
                .ok_or_else(|| {
                    CloudError::Other(format!("Invalid metadata_service_timeout: {text}"))
                })?,
            None => Duration::from_secs(1),
        };
        let attempts = match setting(
            "AWS_METADATA_SERVICE_NUM_ATTEMPTS",
            "metadata_service_num_attempts",
        ) {
            Some(text) => text
                .trim()
                .parse::<u32>()
                .ok()
                .filter(|n| *n > 0)
                .ok_or_else(|| {
                    CloudError::Other(format!("Invalid metadata_service_num_attempts: {text}"))
                })?,
            None => 1,
        };
        Ok(CredentialSource::InstanceMetadata(InstanceMetadata {
            endpoint,
            timeout,
            attempts,
            v1_disabled: is_true(setting(
                "AWS_EC2_METADATA_V1_DISABLED",
                "ec2_metadata_v1_disabled",
            )),
        }))
    }
}

/// Where a command's credentials come from ([`AwsFiles::credential_source`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CredentialSource {
    /// Keys from the environment or a profile.
    Static(AwsCredentials),
    /// STS AssumeRoleWithWebIdentity with the token kept in `token_file`.
    WebIdentity {
        /// The token's file (refreshed by the platform; read at each exchange).
        token_file: String,
        /// The role to assume.
        role_arn: String,
        /// `role_session_name` / `AWS_ROLE_SESSION_NAME`.
        session_name: Option<String>,
        /// `AWS_ENDPOINT_URL_STS`, else `AWS_ENDPOINT_URL`; else STS's regional endpoint.
        sts_endpoint: Option<String>,
    },
    /// The profile's `credential_process` command line.
    Process(String),
    /// The container's credentials endpoint (ECS task role, EKS Pod Identity).
    Container(ContainerEndpoint),
    /// The EC2 instance metadata service.
    InstanceMetadata(InstanceMetadata),
    /// Nothing: requests fail with botocore's "Unable to locate credentials".
    None,
}

/// A container credentials endpoint and its authorization.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerEndpoint {
    /// The full URL.
    pub url: String,
    /// The `Authorization` header's value, if any.
    pub authorization: Option<AuthorizationToken>,
}

/// Where the container endpoint's authorization token is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthorizationToken {
    /// In this file (EKS Pod Identity rotates it: read at each fetch).
    File(PathBuf),
    /// This value.
    Value(String),
}

/// How the instance metadata service is asked, with botocore's defaults (one attempt,
/// one second: an instance without a role, or no instance at all, costs little).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstanceMetadata {
    /// Base URL, `http://169.254.169.254` by default.
    pub endpoint: String,
    /// Per request.
    pub timeout: Duration,
    /// Tries of each request.
    pub attempts: u32,
    /// IMDSv1 (no session token) refused.
    pub v1_disabled: bool,
}

impl AwsFiles {
    /// The CA bundle TLS endpoints are verified against, as botocore finds it:
    /// `AWS_CA_BUNDLE`, else the profile's `ca_bundle` in the config file; `None` for the
    /// system's trust store.
    pub fn ca_bundle(&self, profile: Option<&str>) -> Result<Option<PathBuf>, CloudError> {
        if let Some(path) = &self.env_ca_bundle {
            return Ok(Some(PathBuf::from(path)));
        }
        Ok(self
            .profile_option(profile, "ca_bundle")?
            .map(PathBuf::from))
    }

    /// `key` in the profile's section of the config file.
    fn profile_option(
        &self,
        profile: Option<&str>,
        key: &str,
    ) -> Result<Option<String>, CloudError> {
        let name = self.profile_name(profile);
        let options = read_section(self.config_file.as_ref(), &config_section(&name))?;
        Ok(options.and_then(|o| o.into_iter().find(|(k, _)| k == key).map(|(_, v)| v)))
    }

    /// The profile's `payload_signing_enabled` in the config file's nested `s3` settings
    /// (`s3 =` followed by indented `key = value` lines), read as botocore reads it: `true`
    /// in any case is true, any other value false; `None` when it is not set.
    pub fn s3_payload_signing(&self, profile: Option<&str>) -> Result<Option<bool>, CloudError> {
        let nested = self.profile_option(profile, "s3")?;
        Ok(nested.and_then(|text| {
            text.lines()
                .filter_map(|line| line.split_once('='))
                .find(|(key, _)| key.trim() == "payload_signing_enabled")
                .map(|(_, value)| value.trim().eq_ignore_ascii_case("true"))
        }))
    }
}

/// The options of one profile's section.
struct Options(Vec<(String, String)>);

impl Options {
    fn get(&self, key: &str) -> Option<String> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
    }

    /// `aws_access_key_id` with `aws_secret_access_key` (and `aws_session_token`).
    fn keys(&self) -> Option<AwsCredentials> {
        Some(AwsCredentials {
            access_key_id: self.get("aws_access_key_id")?,
            secret_access_key: self.get("aws_secret_access_key")?,
            session_token: self.get("aws_session_token"),
        })
    }
}

/// The config file names profiles `[profile NAME]`, except `[default]`.
fn config_section(name: &str) -> String {
    if name == "default" {
        name.to_string()
    } else {
        format!("profile {name}")
    }
}

/// The options of `section` in `file`; `None` when the file or section is absent.
fn read_section(
    file: Option<&PathBuf>,
    section: &str,
) -> Result<Option<Vec<(String, String)>>, CloudError> {
    let Some(file) = file else { return Ok(None) };
    let text = match std::fs::read_to_string(file) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(CloudError::Other(format!(
                "cannot read {}: {e}",
                file.display()
            )))
        }
    };
    let parsed = ini::parse(&text).map_err(|e| {
        CloudError::Other(format!(
            "Unable to parse config file: {} (line {}: {})",
            file.display(),
            e.line,
            e.reason
        ))
    })?;
    Ok(parsed
        .sections
        .into_iter()
        .find(|(name, _)| name.trim() == section)
        .map(|(_, options)| {
            options
                .into_iter()
                .map(|o| (o.key, o.value.trim().to_string()))
                .collect()
        }))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Files with `credentials` and `config` as their text, no variables.
    fn files(credentials: &str, config: &str) -> (tempfile::TempDir, AwsFiles) {
        let dir = tempfile::tempdir().expect("dir");
        std::fs::write(dir.path().join("credentials"), credentials).expect("written");
        std::fs::write(dir.path().join("config"), config).expect("written");
        let files = AwsFiles {
            credentials_file: Some(dir.path().join("credentials")),
            config_file: Some(dir.path().join("config")),
            ..AwsFiles::default()
        };
        (dir, files)
    }

    fn keys(id: &str) -> CredentialSource {
        CredentialSource::Static(AwsCredentials {
            access_key_id: id.into(),
            secret_access_key: "s".into(),
            session_token: None,
        })
    }

    #[test]
    fn the_credential_source_is_chosen_in_botocores_order() {
        let (_dir, mut f) = files(
            "[default]\naws_access_key_id = file\naws_secret_access_key = s\n",
            "[default]\ncredential_process = vault\naws_access_key_id = config\n\
             aws_secret_access_key = s\n[profile proc]\ncredential_process = vault get\n\
             aws_access_key_id = config\naws_secret_access_key = s\n\
             [profile web]\nrole_arn = arn:r\nweb_identity_token_file = /t\n\
             [profile assume]\nrole_arn = arn:r\nsource_profile = default\n\
             [profile sso]\nsso_session = corp\n[profile bare]\nregion = eu-west-1\n",
        );
        f.env_keys = match keys("env") {
            CredentialSource::Static(k) => Some(k),
            _ => None,
        };
        let source = |f: &AwsFiles, p: Option<&str>| f.credential_source(p);
        assert_eq!(source(&f, None).expect("env"), keys("env"));
        // A profile named on the command line passes over the environment's keys.
        assert_eq!(source(&f, Some("default")).expect("file"), keys("file"));
        assert_eq!(
            source(&f, Some("proc")).expect("process"),
            CredentialSource::Process("vault get".into())
        );
        assert!(matches!(
            source(&f, Some("web")).expect("web"),
            CredentialSource::WebIdentity { ref role_arn, .. } if role_arn == "arn:r"
        ));
        for refused in ["assume", "sso"] {
            let e = source(&f, Some(refused)).expect_err(refused).to_string();
            assert!(e.contains("not supported"), "{e}");
        }
        assert_eq!(
            source(&f, Some("nope")).expect_err("unknown").to_string(),
            "The config profile (nope) could not be found"
        );
        // Nothing in the profile: the container's endpoint, then the metadata service.
        let bare = |vars: &[(&str, &str)]| {
            let mut f = f.clone();
            f.env_vars = vars
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            source(&f, Some("bare"))
        };
        assert_eq!(
            bare(&[("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "/v2/creds")]).expect("ecs"),
            CredentialSource::Container(ContainerEndpoint {
                url: "http://169.254.170.2/v2/creds".into(),
                authorization: None,
            })
        );
        assert_eq!(
            bare(&[]).expect("imds"),
            CredentialSource::InstanceMetadata(InstanceMetadata {
                endpoint: "http://169.254.169.254".into(),
                timeout: Duration::from_secs(1),
                attempts: 1,
                v1_disabled: false,
            })
        );
        assert!(matches!(
            bare(&[("AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE", "IPv6"),
                   ("AWS_METADATA_SERVICE_TIMEOUT", "2.5")]).expect("v6"),
            CredentialSource::InstanceMetadata(InstanceMetadata { ref endpoint, timeout, .. })
                if endpoint == "http://[fd00:ec2::254]" && timeout == Duration::from_millis(2500)
        ));
        assert_eq!(
            bare(&[("AWS_EC2_METADATA_DISABLED", "TRUE")]).expect("none"),
            CredentialSource::None
        );
        assert!(bare(&[("AWS_METADATA_SERVICE_NUM_ATTEMPTS", "zero")]).is_err());
    }
}
