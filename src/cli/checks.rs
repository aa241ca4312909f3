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

/// `check_positive`: an integer of at least 1.
pub fn check_positive(value: &str) -> Result<usize, String> {
    let n: i64 = value
        .trim()
        .parse()
        .map_err(|_| format!("'{value}' is not a valid input"))?;
    if n < 1 {
        return Err(format!("'{value}' is not a valid positive integer"));
    }
    Ok(n as usize)
}

/// `check_non_negative`: an integer of at least 0.
pub fn check_non_negative(value: &str) -> Result<u64, String> {
    let bad = || format!("'{value}' is not a valid non negative integer");
    let n: i64 = value.trim().parse().map_err(|_| bad())?;
    u64::try_from(n).map_err(|_| bad())
}

/// `check_size`: `100GB`, `5MiB`... (`B` alone is 1024-based, `iB` 1000-based).
pub fn check_size(value: &str) -> Result<u64, String> {
    let upper = value.to_uppercase();
    let bad = || format!("'{upper}' is not a valid size string");
    let n: i64 = if let Some(rest) = upper.strip_suffix('B') {
        let (rest, base) = match rest.strip_suffix('I') {
            Some(r) => (r, 1000f64),
            None => (rest, 1024f64),
        };
        match "KMGTPEZY".find(rest.chars().last().unwrap_or(' ')) {
            Some(i) => {
                let number: f64 = rest[..rest.len() - 1].trim().parse().map_err(|_| bad())?;
                (number * base.powi(i as i32 + 1)) as i64
            }
            None => rest.trim().parse().map_err(|_| bad())?,
        }
    } else {
        upper.trim().parse().map_err(|_| bad())?
    };
    if n < 1 {
        return Err(bad());
    }
    Ok(n as u64)
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

    #[test]
    fn sizes_parse_as_python() {
        assert_eq!(check_size("100GB"), Ok(100 << 30));
        assert_eq!(check_size("5MiB"), Ok(5_000_000));
        assert_eq!(check_size("1.5kb"), Ok(1536));
        assert_eq!(check_size("1234B"), Ok(1234));
        assert_eq!(check_size("42"), Ok(42));
        assert_eq!(
            check_size("0"),
            Err("'0' is not a valid size string".into())
        );
        assert_eq!(
            check_size("xMB"),
            Err("'XMB' is not a valid size string".into())
        );
    }
}
