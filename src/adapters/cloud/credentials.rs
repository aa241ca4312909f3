//! AWS credentials and region as boto3 finds them: the environment first
//! (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`) unless a profile was
//! named on the command line, then the profile (`--aws-profile`, else `AWS_PROFILE`, else
//! `default`) in the shared credentials file (`AWS_SHARED_CREDENTIALS_FILE`, default
//! `~/.aws/credentials`) and in the config file (`AWS_CONFIG_FILE`, default `~/.aws/config`,
//! section `[profile NAME]` or `[default]`). What the profile and the environment say
//! beyond keys is read in `credential_chain`.

use super::CloudError;
use crate::core::config::ini;
use std::collections::BTreeMap;
use std::path::PathBuf;

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
            // botocore expands both as raw_config_parse does: variables, then `~`.
            credentials_file: var("AWS_SHARED_CREDENTIALS_FILE")
                .map(|p| python_expand(&p, home.as_deref(), &var))
                .or_else(|| home.as_ref().map(|h| h.join(".aws/credentials"))),
            config_file: var("AWS_CONFIG_FILE")
                .map(|p| python_expand(&p, home.as_deref(), &var))
                .or_else(|| home.as_ref().map(|h| h.join(".aws/config"))),
            env_endpoint: var("AWS_ENDPOINT_URL_S3").or_else(|| var("AWS_ENDPOINT_URL")),
            env_ca_bundle: var("AWS_CA_BUNDLE"),
            env_vars: std::env::vars()
                .filter(|(k, v)| k.starts_with("AWS_") && !v.is_empty())
                .collect(),
        }
    }

    pub(super) fn var(&self, name: &str) -> Option<&str> {
        self.env_vars.get(name).map(String::as_str)
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
    pub(super) fn profile_name(&self, profile: Option<&str>) -> String {
        profile
            .map(str::to_string)
            .or_else(|| self.env_profile.clone())
            .unwrap_or_else(|| "default".into())
    }
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
#[derive(Default)]
pub(super) struct Options(pub(super) Vec<(String, String)>);

impl Options {
    pub(super) fn get(&self, key: &str) -> Option<String> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
    }

    /// The same options but `key`.
    pub(super) fn without(&self, key: &str) -> Options {
        Options(self.0.iter().filter(|(k, _)| k != key).cloned().collect())
    }

    /// `aws_access_key_id` with `aws_secret_access_key` (and `aws_session_token`).
    pub(super) fn keys(&self) -> Option<AwsCredentials> {
        Some(AwsCredentials {
            access_key_id: self.get("aws_access_key_id")?,
            secret_access_key: self.get("aws_secret_access_key")?,
            session_token: self.get("aws_session_token"),
        })
    }
}

/// Python's `os.path.expanduser(os.path.expandvars(path))`: `$NAME` and `${NAME}` replaced
/// by the variable when it is set (left as written when not), then a leading `~` by `home`
/// and `~user` by that user's home directory.
fn python_expand(
    path: &str,
    home: Option<&std::path::Path>,
    var: &dyn Fn(&str) -> Option<String>,
) -> PathBuf {
    let mut out = String::with_capacity(path.len());
    let mut rest = path;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        let (name, len) = match after.strip_prefix('{') {
            Some(braced) => match braced.find('}') {
                Some(end) => (&braced[..end], end + 2),
                None => ("", 0),
            },
            None => {
                let end = after
                    .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                    .unwrap_or(after.len());
                (&after[..end], end)
            }
        };
        match var(name).filter(|_| !name.is_empty()) {
            Some(value) => out.push_str(&value),
            None => out.push_str(&rest[at..at + 1 + len]),
        }
        rest = &rest[at + 1 + len..];
    }
    out.push_str(rest);
    let Some(tilde) = out.strip_prefix('~') else {
        return PathBuf::from(out);
    };
    let (user, tail) = tilde.split_at(tilde.find('/').unwrap_or(tilde.len()));
    let base = match user {
        "" => home.map(std::path::Path::to_path_buf),
        name => nix::unistd::User::from_name(name)
            .ok()
            .flatten()
            .map(|u| u.dir),
    };
    match base {
        Some(base) => PathBuf::from(format!("{}{tail}", base.display())),
        None => PathBuf::from(out),
    }
}

/// The config file names profiles `[profile NAME]`, except `[default]`.
pub(super) fn config_section(name: &str) -> String {
    if name == "default" {
        name.to_string()
    } else {
        format!("profile {name}")
    }
}

/// The options of `section` in `file`; `None` when the file or section is absent.
pub(super) fn read_section(
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

    #[test]
    fn aws_file_paths_expand_as_botocore_expands_them() {
        let home = std::path::Path::new("/home/barman");
        let var = |name: &str| (name == "BACKUPS").then(|| "/srv/backups".to_string());
        let expand = |p: &str| python_expand(p, Some(home), &var);
        assert_eq!(
            expand("~/.aws/config"),
            PathBuf::from("/home/barman/.aws/config")
        );
        assert_eq!(expand("~"), PathBuf::from("/home/barman"));
        assert_eq!(expand("$BACKUPS/aws"), PathBuf::from("/srv/backups/aws"));
        assert_eq!(
            expand("${BACKUPS}x/aws"),
            PathBuf::from("/srv/backupsx/aws")
        );
        assert_eq!(expand("$UNSET/aws"), PathBuf::from("$UNSET/aws"));
        assert_eq!(expand("/etc/a$"), PathBuf::from("/etc/a$"));
        assert_eq!(expand("~root/x"), PathBuf::from("/root/x"));
        assert_eq!(expand("/a/~/b"), PathBuf::from("/a/~/b"));
    }
}
