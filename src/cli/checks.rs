//! The value checks Barman's argparse parsers run as `type=` functions (barman.utils and
//! barman.cli), shared by `barman` and the barman-cloud tools: a bad value is a usage
//! error, refused before anything runs, with Barman's message.

/// `check_backup_name`: not empty, not a backup ID, not a reserved word (`latest`...).
pub fn check_backup_name(value: &str) -> Result<String, String> {
    crate::core::backup_id::validate_backup_name(value).map(|()| value.to_string())
}

/// `check_tli`: a positive integer, `current` or `latest`.
pub fn check_tli(value: &str) -> Result<String, String> {
    if value == "current" || value == "latest" {
        return Ok(value.to_string());
    }
    match value.trim().parse::<i64>() {
        Err(_) => Err(format!("'{value}' is not a valid input")),
        Ok(n) if n < 1 => Err(format!("'{value}' is not a valid positive integer")),
        Ok(n) => Ok(n.to_string()),
    }
}

/// `check_target_action`: `pause`, `shutdown` or `promote` (which of them the server's
/// version allows is checked when the recovery is planned).
pub fn check_target_action(value: &str) -> Result<String, String> {
    match value {
        "pause" | "shutdown" | "promote" => Ok(value.to_string()),
        _ => Err(format!("'{value}' is not a valid recovery target action")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checks_refuse_what_barmans_argparse_types_refuse() {
        assert_eq!(check_tli("latest"), Ok("latest".into()));
        assert_eq!(check_tli(" 3"), Ok("3".into()));
        assert_eq!(check_tli("x"), Err("'x' is not a valid input".into()));
        assert_eq!(
            check_tli("0"),
            Err("'0' is not a valid positive integer".into())
        );
        assert!(check_tli("LATEST").is_err());
        assert_eq!(check_target_action("pause"), Ok("pause".into()));
        assert_eq!(
            check_target_action("Promote"),
            Err("'Promote' is not a valid recovery target action".into())
        );
        assert_eq!(check_backup_name("nightly"), Ok("nightly".into()));
        for bad in ["", "latest", "oldest", "last-full", "20240101T000000"] {
            assert!(check_backup_name(bad).is_err(), "{bad}");
        }
    }
}
