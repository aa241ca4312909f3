//! The AWS credential chain past the keys, side by side with Python's barman-cli-cloud
//! 3.20.1 (boto3) on moto: the instance metadata service (moto serves one under
//! `/latest/`), a container credentials endpoint (moto's metadata answer has the same
//! shape), STS's AssumeRoleWithWebIdentity and AssumeRole (moto's STS, checking the
//! signature of the latter) and a `credential_process`. Each
//! tool archives with the source and the other restores the segment; moto refuses an
//! unsigned request, so a success means the credentials were fetched and used. Where a
//! source fails, both exit alike and say the same, and nothing is stored.

use crate::harness::s3::{peers_ready as ready, python_tool as pythons, S3Server};
use crate::harness::{python_barman, Run};
use crate::require;
use std::path::{Path, PathBuf};
use std::process::Command;

const SEGMENT: &str = "000000010000000000000007";

fn ours(tool: &str) -> PathBuf {
    PathBuf::from(match tool {
        "barman-cloud-wal-archive" => env!("CARGO_BIN_EXE_barman-cloud-wal-archive"),
        "barman-cloud-check-wal-archive" => env!("CARGO_BIN_EXE_barman-cloud-check-wal-archive"),
        _ => env!("CARGO_BIN_EXE_barman-cloud-wal-restore"),
    })
}

/// Both tools' paths for `tool`, ours first.
fn both(tool: &str) -> [(&'static str, PathBuf); 2] {
    [("ours", ours(tool)), ("Python", pythons(tool))]
}

/// `tool` against the server with no keys and only the variables in `vars`.
fn run(s3: &S3Server, tool: &Path, vars: &[(&str, String)], args: &[&str]) -> Run {
    let mut cmd = Command::new(tool);
    s3.env_without_keys(&mut cmd)
        .args(["--endpoint-url", &s3.endpoint()])
        .args(args);
    for (name, value) in vars {
        cmd.env(name, value);
    }
    Run::of(&mut cmd)
}

fn segment(dir: &Path) -> PathBuf {
    let path = dir.join(SEGMENT);
    let bytes: Vec<u8> = (0..1u32 << 20).map(|i| (i % 253) as u8).collect();
    std::fs::write(&path, bytes).unwrap();
    path
}

/// Each tool archives under its own prefix with `vars` and the other restores it.
fn round_trip(s3: &S3Server, dir: &Path, vars: &[(&str, String)], extra: &[&str]) {
    let seg = segment(dir);
    let archivers = both("barman-cloud-wal-archive");
    let restorers = both("barman-cloud-wal-restore");
    for (i, (who, archiver)) in archivers.iter().enumerate() {
        let prefix = format!("s3://wals/{who}");
        let mut args = extra.to_vec();
        args.extend([prefix.as_str(), "pg", seg.to_str().unwrap()]);
        crate::harness::ok(run(s3, archiver, vars, &args), &format!("{who} archives"));
        let (other, restorer) = &restorers[1 - i];
        let dest = dir.join(format!("restored-by-{other}"));
        let mut args = extra.to_vec();
        args.extend([prefix.as_str(), "pg", SEGMENT, dest.to_str().unwrap()]);
        crate::harness::ok(
            run(s3, restorer, vars, &args),
            &format!("{other} restores {who}'s"),
        );
        assert!(std::fs::read(&dest).unwrap() == std::fs::read(&seg).unwrap());
    }
}

/// Both tools fail alike with `vars`: exit `code`, `message` after the tool's prefix, and
/// nothing stored under `s3://wals/failed`.
fn both_fail(s3: &S3Server, dir: &Path, vars: &[(&str, String)], code: i32, message: &str) {
    let seg = segment(dir);
    for (who, tool) in both("barman-cloud-wal-archive") {
        let out = run(
            s3,
            &tool,
            vars,
            &["s3://wals/failed", "pg", seg.to_str().unwrap()],
        );
        assert_eq!(out.code, code, "{who}: {}", out.stderr);
        assert!(
            out.stderr
                .contains(&format!("Barman cloud WAL archiver exception: {message}\n")),
            "{who}: {}",
            out.stderr
        );
    }
    assert!(s3.keys("wals").iter().all(|k| !k.starts_with("failed/")));
}

#[test]
fn cloud_credentials_from_the_instance_metadata_service_as_python() {
    require!(python_barman::REQUIREMENT, ready());
    let s3 = S3Server::start(false);
    s3.create_bucket("wals");
    let dir = tempfile::tempdir().unwrap();
    let imds = |endpoint: String| {
        vec![
            ("AWS_EC2_METADATA_DISABLED", "false".to_string()),
            ("AWS_EC2_METADATA_SERVICE_ENDPOINT", endpoint),
        ]
    };
    round_trip(&s3, dir.path(), &imds(s3.endpoint()), &[]);
    // No service there, or none asked: botocore's NoCredentialsError, never an unsigned call.
    let closed = format!("http://127.0.0.1:{}", crate::harness::ports::free_port());
    let none = "Unable to locate credentials";
    both_fail(&s3, dir.path(), &imds(closed), 4, none);
    both_fail(&s3, dir.path(), &[], 4, none);
}

#[test]
fn cloud_credentials_from_a_container_endpoint_as_python() {
    require!(python_barman::REQUIREMENT, ready());
    let s3 = S3Server::start(false);
    s3.create_bucket("wals");
    let dir = tempfile::tempdir().unwrap();
    let token_file = dir.path().join("pod-identity-token");
    std::fs::write(&token_file, "pod-token").unwrap();
    let endpoint = |url: String| {
        vec![
            ("AWS_CONTAINER_CREDENTIALS_FULL_URI", url),
            (
                "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
                token_file.display().to_string(),
            ),
        ]
    };
    let role = format!(
        "{}/latest/meta-data/iam/security-credentials/default-role",
        s3.endpoint()
    );
    round_trip(&s3, dir.path(), &endpoint(role), &[]);
    let closed = format!(
        "http://127.0.0.1:{}/creds",
        crate::harness::ports::free_port()
    );
    both_fail(
        &s3,
        dir.path(),
        &endpoint(closed.clone()),
        4,
        &format!(
            "Error when retrieving credentials from container-role: Error retrieving metadata: \
             Received error when attempting to retrieve container metadata: Could not connect \
             to the endpoint URL: \"{closed}\""
        ),
    );
    // botocore sends the file as it is: a final newline is refused, not trimmed.
    std::fs::write(&token_file, "pod-token\n").unwrap();
    both_fail(
        &s3,
        dir.path(),
        &endpoint(s3.endpoint()),
        4,
        "Auth token value is not a legal header value",
    );
    std::fs::write(&token_file, "pod-token").unwrap();
    both_fail(
        &s3,
        dir.path(),
        &endpoint("http://192.0.2.1/creds".into()),
        4,
        "Unsupported host '192.0.2.1'.  Can only retrieve metadata from a loopback address or \
         one of these hosts: 169.254.170.2, 169.254.170.23, fd00:ec2::23, localhost",
    );
}

#[test]
fn cloud_credentials_from_a_web_identity_as_python() {
    require!(python_barman::REQUIREMENT, ready());
    let s3 = S3Server::start(false);
    s3.create_bucket("wals");
    let dir = tempfile::tempdir().unwrap();
    let token = dir.path().join("web-identity-token");
    std::fs::write(&token, "eyJhbGciOiJSUzI1NiJ9.e30.c2ln\n").unwrap();
    let role = "arn:aws:iam::123456789012:role/barman".to_string();
    let identity = |token: &Path, sts: String| {
        vec![
            ("AWS_WEB_IDENTITY_TOKEN_FILE", token.display().to_string()),
            ("AWS_ROLE_ARN", role.clone()),
            ("AWS_ENDPOINT_URL_STS", sts),
        ]
    };
    round_trip(&s3, dir.path(), &identity(&token, s3.endpoint()), &[]);
    // The same from a profile in the config file, as EKS's documentation writes it.
    std::fs::write(
        s3.aws_file("config"),
        format!(
            "[profile eks]\nrole_arn = {role}\nweb_identity_token_file = {}\nrole_session_name = barman\n",
            token.display()
        ),
    )
    .unwrap();
    let sts_only = [("AWS_ENDPOINT_URL_STS", s3.endpoint())];
    round_trip(&s3, dir.path(), &sts_only, &["-P", "eks"]);
    std::fs::remove_file(s3.aws_file("config")).unwrap();
    // A token file that is not there; STS unreachable, which check-wal-archive counts as
    // a network failure (exit 2) and the archiver as any other (4).
    let missing = dir.path().join("no-token");
    both_fail(
        &s3,
        dir.path(),
        &identity(&missing, s3.endpoint()),
        4,
        &format!(
            "[Errno 2] No such file or directory: '{}'",
            missing.display()
        ),
    );
    let closed = format!("http://127.0.0.1:{}", crate::harness::ports::free_port());
    let unreachable = format!("Could not connect to the endpoint URL: \"{closed}/\"");
    both_fail(
        &s3,
        dir.path(),
        &identity(&token, closed.clone()),
        4,
        &unreachable,
    );
    for (who, tool) in both("barman-cloud-check-wal-archive") {
        let out = run(
            &s3,
            &tool,
            &identity(&token, closed.clone()),
            &["s3://wals/check", "pg"],
        );
        assert_eq!(out.code, 2, "{who}: {}", out.stderr);
        assert!(
            out.stderr
                .contains(&format!("Can't connect to cloud provider: {unreachable}\n")),
            "{who}: {}",
            out.stderr
        );
    }
}

#[test]
fn cloud_credentials_from_a_credential_process_as_python() {
    require!(python_barman::REQUIREMENT, ready());
    // moto checks signatures here: only the process's keys are accepted.
    let s3 = S3Server::start(true);
    s3.create_bucket("wals");
    let dir = tempfile::tempdir().unwrap();
    let answer = dir.path().join("answer.json");
    std::fs::write(
        &answer,
        format!(
            "{{\"Version\": 1, \"AccessKeyId\": \"{}\", \"SecretAccessKey\": \"{}\", \"Expiration\": \"2099-01-01T00:00:00Z\"}}",
            s3.key_id, s3.secret
        ),
    )
    .unwrap();
    std::fs::write(
        s3.aws_file("config"),
        format!(
            "[profile vault]\ncredential_process = cat \"{}\"\n\n[profile locked]\ncredential_process = sh -c 'echo vault is sealed >&2; exit 1'\n",
            answer.display()
        ),
    )
    .unwrap();
    round_trip(&s3, dir.path(), &[], &["-P", "vault"]);
    both_fail(
        &s3,
        dir.path(),
        &[("AWS_PROFILE", "locked".into())],
        4,
        "Error when retrieving credentials from custom-process: vault is sealed",
    );
}

#[test]
fn cloud_credentials_from_an_assumed_role_as_python() {
    require!(python_barman::REQUIREMENT, ready());
    // moto checks signatures: the AssumeRole call must be signed with the source
    // profile's keys, and S3 then accepts the role's session keys through its policy.
    let s3 = S3Server::start(true);
    s3.create_bucket("wals");
    let arn = s3.python(
        "import boto3, json\n\
         iam = boto3.client('iam', endpoint_url=URL, aws_access_key_id=KEY, aws_secret_access_key=SECRET, region_name='us-east-1')\n\
         trust = {'Version': '2012-10-17', 'Statement': [{'Effect': 'Allow', 'Principal': {'AWS': '*'}, 'Action': 'sts:AssumeRole'}]}\n\
         role = iam.create_role(RoleName='backup', AssumeRolePolicyDocument=json.dumps(trust))['Role']\n\
         s3 = {'Version': '2012-10-17', 'Statement': [{'Effect': 'Allow', 'Action': 's3:*', 'Resource': '*'}]}\n\
         iam.put_role_policy(RoleName='backup', PolicyName='s3', PolicyDocument=json.dumps(s3))\n\
         print(role['Arn'])\n",
    );
    let arn = arn.trim();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        s3.aws_file("credentials"),
        format!(
            "[source]\naws_access_key_id = {}\naws_secret_access_key = {}\n\n[stale]\naws_access_key_id = {}\naws_secret_access_key = wrong\n",
            s3.key_id, s3.secret, s3.key_id
        ),
    )
    .unwrap();
    std::fs::write(
        s3.aws_file("config"),
        format!(
            "[profile backup]\nrole_arn = {arn}\nsource_profile = source\nrole_session_name = barman\n\n\
             [profile stale]\nrole_arn = {arn}\nsource_profile = stale\n\n\
             [profile chained]\nrole_arn = {arn}\nsource_profile = backup\n\n\
             [profile env]\nrole_arn = {arn}\ncredential_source = Environment\n"
        ),
    )
    .unwrap();
    let sts = [("AWS_ENDPOINT_URL_STS", s3.endpoint())];
    round_trip(&s3, dir.path(), &sts, &["-P", "backup"]);
    let keys_in_env = [
        ("AWS_ENDPOINT_URL_STS", s3.endpoint()),
        ("AWS_ACCESS_KEY_ID", s3.key_id.clone()),
        ("AWS_SECRET_ACCESS_KEY", s3.secret.clone()),
    ];
    round_trip(&s3, dir.path(), &keys_in_env, &["-P", "env"]);
    // The source's wrong secret is STS's refusal; a chain's second call is made with the
    // first role's keys, which the role's policy does not allow: both say so alike.
    let with = |profile: &str| {
        let mut vars = sts.to_vec();
        vars.push(("AWS_PROFILE", profile.to_string()));
        vars
    };
    both_fail(
        &s3,
        dir.path(),
        &with("stale"),
        4,
        "An error occurred (SignatureDoesNotMatch) when calling the AssumeRole operation: The \
         request signature we calculated does not match the signature you provided. Check your \
         AWS Secret Access Key and signing method. Consult the service documentation for details.",
    );
    both_fail(
        &s3,
        dir.path(),
        &with("chained"),
        4,
        "An error occurred (AccessDenied) when calling the AssumeRole operation: User: \
         arn:aws:sts::123456789012:assumed-role/backup/barman is not authorized to perform: \
         sts:AssumeRole",
    );
}
