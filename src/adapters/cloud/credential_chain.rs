//! The AWS credential chain past the environment's keys, in botocore's order:
//! [`AwsFiles::credential_source`] reads the profile and the environment and says where the
//! credentials come from; nothing is contacted here (`fetched_credentials` and `sts` fetch
//! at the first request).

use super::credentials::{config_section, read_section, AwsCredentials, AwsFiles, Options};
use super::CloudError;
use std::path::PathBuf;
use std::time::Duration;

impl AwsFiles {
    /// Where the credentials for `profile` (the command line's) come from, in botocore's
    /// order: the environment's keys (unless a profile was named), the profile's assumed
    /// role, web identity (the profile's, else the environment's), the credentials file's
    /// keys, the profile's `credential_process`, the config file's keys, the container's
    /// endpoint, the instance metadata service. A profile named but found nowhere is
    /// botocore's ProfileNotFound; an SSO profile, which botocore would follow and we do
    /// not, is refused by name rather than passed over.
    pub fn credential_source(&self, profile: Option<&str>) -> Result<CredentialSource, CloudError> {
        let name = self.profile_name(profile);
        let found = self.profile(&name)?;
        // A profile named (`-P`, `AWS_PROFILE`, `AWS_DEFAULT_PROFILE`) must exist, even
        // beside the environment's keys: botocore's ProfileNotFound, in its words.
        if (profile.is_some() || self.env_profile.is_some()) && found.is_none() {
            return Err(CloudError::Other(format!(
                "The config profile ({name}) could not be found"
            )));
        }
        if profile.is_none() {
            if let Some(keys) = &self.env_keys {
                return Ok(CredentialSource::Static(keys.clone()));
            }
        }
        let (credentials, config) = found.unwrap_or_default();
        if let Some(source) = self.profile_gives(&name, &credentials, &config, true, &mut vec![])? {
            return Ok(source);
        }
        if let Some(endpoint) = self.container_endpoint() {
            return Ok(CredentialSource::Container(endpoint));
        }
        self.instance_metadata(&config)
    }

    /// The profile's sections in the credentials and config files; `None` when in neither.
    fn profile(&self, name: &str) -> Result<Option<(Options, Options)>, CloudError> {
        let in_credentials = read_section(self.credentials_file.as_ref(), name)?;
        let in_config = read_section(self.config_file.as_ref(), &config_section(name))?;
        if in_credentials.is_none() && in_config.is_none() {
            return Ok(None);
        }
        Ok(Some((
            Options(in_credentials.unwrap_or_default()),
            Options(in_config.unwrap_or_default()),
        )))
    }

    /// What the profile itself gives, in botocore's order: an assumed role, web identity
    /// (also the environment's when `with_env`), SSO (refused), the credentials file's
    /// keys, `credential_process`, the config file's keys. `visited` holds the profiles of
    /// an assume-role chain so far.
    fn profile_gives(
        &self,
        name: &str,
        credentials: &Options,
        config: &Options,
        with_env: bool,
        visited: &mut Vec<String>,
    ) -> Result<Option<CredentialSource>, CloudError> {
        // botocore merges the credentials file's section over the config file's.
        let either = |key: &str| credentials.get(key).or_else(|| config.get(key));
        if either("role_arn").is_some() && either("web_identity_token_file").is_none() {
            return self.assume_role(name, &either, visited).map(Some);
        }
        if let Some(source) = self.web_identity(&either, with_env) {
            return Ok(Some(source));
        }
        if let Some(option) = ["sso_session", "sso_start_url", "sso_account_id"]
            .into_iter()
            .find(|key| either(key).is_some())
        {
            return Err(CloudError::Other(format!(
                "The config profile ({name}) uses AWS IAM Identity Center ({option}), which \
                 is not supported: give keys, a credential_process or a role instead"
            )));
        }
        if let Some(keys) = credentials.keys() {
            return Ok(Some(CredentialSource::Static(keys)));
        }
        if let Some(command) = either("credential_process") {
            return Ok(Some(CredentialSource::Process(command)));
        }
        Ok(config.keys().map(CredentialSource::Static))
    }

    /// botocore's AssumeRoleProvider: the profile's `role_arn`, assumed with the
    /// credentials of its `source_profile` (itself perhaps a role: a chain) or of its
    /// `credential_source` (`Environment`, `Ec2InstanceMetadata`, `EcsContainer`).
    fn assume_role(
        &self,
        name: &str,
        option: &dyn Fn(&str) -> Option<String>,
        visited: &mut Vec<String>,
    ) -> Result<CredentialSource, CloudError> {
        let invalid = |why: String| CloudError::Other(why);
        if option("mfa_serial").is_some() {
            return Err(invalid(format!(
                "The profile \"{name}\" asks for an MFA code (mfa_serial), which an \
                 unattended command cannot give"
            )));
        }
        visited.push(name.to_string());
        let source = match (option("source_profile"), option("credential_source")) {
            (Some(_), Some(_)) => {
                return Err(invalid(format!(
                    "The profile \"{name}\" contains both source_profile and credential_source."
                )))
            }
            (None, None) => {
                return Err(invalid(
                    "Partial credentials found in assume-role, missing: source_profile or \
                     credential_source"
                        .into(),
                ))
            }
            (Some(source), None) => self.source_profile(name, &source, visited)?,
            (None, Some(source)) => self.credential_source_option(name, &source)?,
        };
        Ok(CredentialSource::AssumeRole(Box::new(RoleToAssume {
            role_arn: option("role_arn").unwrap_or_default(),
            session_name: option("role_session_name"),
            external_id: option("external_id"),
            duration_seconds: option("duration_seconds"),
            sts_endpoint: self.sts_endpoint(),
            source,
        })))
    }

    /// The credentials of an assumed role's `source_profile`: its own keys when it has
    /// some (a profile may name itself), else its role, else what else it gives.
    fn source_profile(
        &self,
        parent: &str,
        name: &str,
        visited: &mut Vec<String>,
    ) -> Result<CredentialSource, CloudError> {
        let Some((credentials, config)) = self.profile(name)? else {
            return Err(CloudError::Other(format!(
                "The source_profile \"{name}\" referenced in the profile \"{parent}\" does \
                 not exist."
            )));
        };
        let has_keys = credentials.keys().or_else(|| config.keys());
        if let Some(keys) = &has_keys {
            // A role profile sourcing itself uses its own keys, as botocore.
            if name == parent {
                return Ok(CredentialSource::Static(keys.clone()));
            }
        } else if visited.iter().any(|v| v == name) {
            return Err(CloudError::Other(format!(
                "Infinite loop in credential configuration detected. Attempting to load from \
                 profile {name} which has already been visited. Visited profiles: [{}]",
                // Python's list repr.
                visited
                    .iter()
                    .map(|v| format!("'{v}'"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
        let source = match has_keys {
            // With keys, the profile's role (if any) is not followed.
            Some(_) => self.profile_gives(
                name,
                &credentials.without("role_arn"),
                &config.without("role_arn"),
                false,
                visited,
            )?,
            None => self.profile_gives(name, &credentials, &config, false, visited)?,
        };
        source.ok_or_else(|| {
            CloudError::Other(format!(
                "The source profile \"{name}\" must have credentials."
            ))
        })
    }

    /// A role profile's `credential_source`.
    fn credential_source_option(
        &self,
        parent: &str,
        source: &str,
    ) -> Result<CredentialSource, CloudError> {
        let none = || {
            CloudError::Other(format!(
                "Error when retrieving credentials from {source}: No credentials found in \
                 credential_source referenced in profile {parent}"
            ))
        };
        match source {
            "Environment" => self
                .env_keys
                .clone()
                .map(CredentialSource::Static)
                .ok_or_else(none),
            "EcsContainer" => self
                .container_endpoint()
                .map(CredentialSource::Container)
                .ok_or_else(none),
            "Ec2InstanceMetadata" => {
                let config = self.profile(parent)?.unwrap_or_default().1;
                self.instance_metadata(&config)
            }
            other => Err(CloudError::Other(format!(
                "The credential source \"{other}\" referenced in profile \"{parent}\" is not \
                 valid."
            ))),
        }
    }

    /// STS's URL when set: `AWS_ENDPOINT_URL_STS`, else `AWS_ENDPOINT_URL`.
    fn sts_endpoint(&self) -> Option<String> {
        self.var("AWS_ENDPOINT_URL_STS")
            .or_else(|| self.var("AWS_ENDPOINT_URL"))
            .map(str::to_string)
    }

    /// A web identity role: the profile's `role_arn` with `web_identity_token_file`, else
    /// (when `with_env`) `AWS_ROLE_ARN` with `AWS_WEB_IDENTITY_TOKEN_FILE`.
    fn web_identity(
        &self,
        option: &dyn Fn(&str) -> Option<String>,
        with_env: bool,
    ) -> Option<CredentialSource> {
        if let (Some(role_arn), Some(token_file)) =
            (option("role_arn"), option("web_identity_token_file"))
        {
            return Some(CredentialSource::WebIdentity {
                token_file,
                role_arn,
                session_name: option("role_session_name"),
                sts_endpoint: self.sts_endpoint(),
            });
        }
        let (Some(token_file), Some(role_arn)) = (
            self.var("AWS_WEB_IDENTITY_TOKEN_FILE").filter(|_| with_env),
            self.var("AWS_ROLE_ARN"),
        ) else {
            return None;
        };
        Some(CredentialSource::WebIdentity {
            token_file: token_file.to_string(),
            role_arn: role_arn.to_string(),
            session_name: self.var("AWS_ROLE_SESSION_NAME").map(str::to_string),
            sts_endpoint: self.sts_endpoint(),
        })
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
    /// A role assumed at STS with another source's credentials.
    AssumeRole(Box<RoleToAssume>),
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

/// An assume-role profile: the role, the call's options, and the source signing it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleToAssume {
    /// `role_arn`.
    pub role_arn: String,
    /// `role_session_name`.
    pub session_name: Option<String>,
    /// `external_id`.
    pub external_id: Option<String>,
    /// `duration_seconds`.
    pub duration_seconds: Option<String>,
    /// `AWS_ENDPOINT_URL_STS`, else `AWS_ENDPOINT_URL`; else STS's regional endpoint.
    pub sts_endpoint: Option<String>,
    /// Where the credentials calling STS come from.
    pub source: CredentialSource,
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

    /// Files with a profile of each kind, and keys in the environment.
    fn every_kind_of_profile() -> (tempfile::TempDir, AwsFiles) {
        let (dir, mut f) = files(
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
        (dir, f)
    }

    #[test]
    fn the_credential_source_is_chosen_in_botocores_order() {
        let (_dir, f) = every_kind_of_profile();
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
        // An assumed role signed with its source profile's keys (its own, not the
        // environment's), a profile sourcing itself with keys, and a loop without keys.
        match source(&f, Some("assume")).expect("assume") {
            CredentialSource::AssumeRole(role) => {
                assert_eq!(role.role_arn, "arn:r");
                assert_eq!(role.source, keys("file"));
            }
            other => panic!("{other:?}"),
        }
        let e = source(&f, Some("sso")).expect_err("sso").to_string();
        assert!(e.contains("not supported"), "{e}");
        assert_eq!(
            source(&f, Some("nope")).expect_err("unknown").to_string(),
            "The config profile (nope) could not be found"
        );
        // Named by AWS_PROFILE, the same, the environment's keys notwithstanding.
        let mut env_named = f.clone();
        env_named.env_profile = Some("nope".into());
        assert_eq!(
            source(&env_named, None).expect_err("unknown").to_string(),
            "The config profile (nope) could not be found"
        );
        env_named.env_profile = Some("proc".into());
        assert_eq!(source(&env_named, None).expect("env keys"), keys("env"));
    }

    #[test]
    fn a_profile_without_credentials_falls_to_the_container_then_instance_metadata() {
        let (_dir, f) = every_kind_of_profile();
        let bare = |vars: &[(&str, &str)]| {
            let mut f = f.clone();
            f.env_vars = vars
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            f.credential_source(Some("bare"))
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

    #[test]
    fn an_assumed_roles_source_may_be_itself_but_not_a_loop() {
        let (_dir, looped) = files(
            "[selfish]\naws_access_key_id = own\naws_secret_access_key = s\n",
            "[profile selfish]\nrole_arn = arn:s\nsource_profile = selfish\n\
             [profile a]\nrole_arn = arn:a\nsource_profile = b\n\
             [profile b]\nrole_arn = arn:b\nsource_profile = a\n",
        );
        match looped.credential_source(Some("selfish")).expect("selfish") {
            CredentialSource::AssumeRole(role) => assert_eq!(role.source, keys("own")),
            other => panic!("{other:?}"),
        }
        assert_eq!(
            looped
                .credential_source(Some("a"))
                .expect_err("loop")
                .to_string(),
            "Infinite loop in credential configuration detected. Attempting to load from \
             profile a which has already been visited. Visited profiles: ['a', 'b']"
        );
    }
}
