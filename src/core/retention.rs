//! Retention policies (`retention_policy` key): `REDUNDANCY n` and
//! `RECOVERY WINDOW OF n DAYS|WEEKS|MONTHS`, parsed and printed as Barman does
//! (`barman/retention_policies.py`). A month is 31 days there, and here.

use std::fmt;
use std::str::FromStr;

/// Unit of a recovery window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WindowUnit {
    /// Days.
    Days,
    /// Weeks.
    Weeks,
    /// Months of 31 days.
    Months,
}

/// A base-backup retention policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetentionPolicy {
    /// Keep the newest `n` backups.
    Redundancy(u32),
    /// Keep what is needed to recover to any point in the last `n` units.
    RecoveryWindow(u32, WindowUnit),
}

impl RetentionPolicy {
    /// Length of a recovery window in days (`None` for redundancy).
    pub fn window_days(&self) -> Option<u64> {
        match *self {
            RetentionPolicy::Redundancy(_) => None,
            RetentionPolicy::RecoveryWindow(n, unit) => Some(
                u64::from(n)
                    * match unit {
                        WindowUnit::Days => 1,
                        WindowUnit::Weeks => 7,
                        WindowUnit::Months => 31,
                    },
            ),
        }
    }
}

/// The text is not a retention policy Barman understands.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown retention policy syntax (expected 'REDUNDANCY <n>' or 'RECOVERY WINDOW OF <n> DAYS|WEEKS|MONTHS')")]
pub struct RetentionPolicyError;

impl FromStr for RetentionPolicy {
    type Err = RetentionPolicyError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let words: Vec<String> = text
            .split_whitespace()
            .map(str::to_ascii_lowercase)
            .collect();
        let words: Vec<&str> = words.iter().map(String::as_str).collect();
        let number = |w: &str| -> Result<u32, RetentionPolicyError> {
            if w.is_empty() || !w.bytes().all(|b| b.is_ascii_digit()) {
                return Err(RetentionPolicyError);
            }
            w.parse().map_err(|_| RetentionPolicyError)
        };
        match words.as_slice() {
            ["redundancy", n] => Ok(RetentionPolicy::Redundancy(number(n)?)),
            ["recovery", "window", "of", n, unit] => {
                let unit = match *unit {
                    "day" | "days" => WindowUnit::Days,
                    "week" | "weeks" => WindowUnit::Weeks,
                    "month" | "months" => WindowUnit::Months,
                    _ => return Err(RetentionPolicyError),
                };
                Ok(RetentionPolicy::RecoveryWindow(number(n)?, unit))
            }
            _ => Err(RetentionPolicyError),
        }
    }
}

impl fmt::Display for RetentionPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RetentionPolicy::Redundancy(n) => write!(f, "REDUNDANCY {n}"),
            RetentionPolicy::RecoveryWindow(n, unit) => {
                let unit = match unit {
                    WindowUnit::Days => "DAYS",
                    WindowUnit::Weeks => "WEEKS",
                    WindowUnit::Months => "MONTHS",
                };
                write!(f, "RECOVERY WINDOW OF {n} {unit}")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retention_policy_parses_barman_syntax_case_insensitively() {
        assert_eq!("REDUNDANCY 3".parse(), Ok(RetentionPolicy::Redundancy(3)));
        assert_eq!(
            " redundancy   2 ".parse(),
            Ok(RetentionPolicy::Redundancy(2))
        );
        assert_eq!(
            "recovery window of 2 week".parse(),
            Ok(RetentionPolicy::RecoveryWindow(2, WindowUnit::Weeks))
        );
    }

    #[test]
    fn retention_policy_displays_like_barman() {
        let p: RetentionPolicy = "Recovery Window Of 1 month".parse().unwrap();
        assert_eq!(p.to_string(), "RECOVERY WINDOW OF 1 MONTHS");
        assert_eq!(p.window_days(), Some(31));
    }

    #[test]
    fn retention_policy_rejects_unknown_syntax() {
        for bad in [
            "KEEP 3",
            "REDUNDANCY",
            "REDUNDANCY -1",
            "REDUNDANCY 2 3",
            "RECOVERY WINDOW OF 2 YEARS",
            "",
        ] {
            assert_eq!(
                bad.parse::<RetentionPolicy>(),
                Err(RetentionPolicyError),
                "{bad}"
            );
        }
    }
}
