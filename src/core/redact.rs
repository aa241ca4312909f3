//! Hiding passwords in text shown to users or written to logs: Barman's
//! `utils.redact_passwords`, which its console writer applies to every message.
//!
//! Barman's two regular expressions:
//!
//! * `password=('(\'|[^'])+'|[^ '"]*)` → `password=*REDACTED*`: a quoted value runs to the
//!   last `'` of the text (greedy, at least one character inside); otherwise the value runs
//!   until a space or a quote (possibly empty, and replaced all the same).
//! * `(?<=postgresql://)([^ :@]+:)([^ :@]+)?@` → `\1*REDACTED*@`.
//!
//! Two deliberate differences keep line-oriented output readable (Barman glues a
//! `show-servers` line to the next one because its pattern eats the newline): an unquoted
//! value also stops at any white space, and a quoted value stops at the last `'` of its
//! line rather than of the whole text. On one line, and in JSON text (where string values
//! hold no raw newline), the result is Barman's. The URI rule applies after any `scheme://`
//! (Barman: only `postgresql://`), so `postgres://user:secret@host` is hidden too.

const KEY: &str = "password=";
const MASK: &str = "*REDACTED*";

/// `text` with every conninfo and URI password replaced by `*REDACTED*`.
pub fn passwords(text: &str) -> String {
    redact_uris(&redact_keywords(text))
}

/// The `password=` rule.
fn redact_keywords(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(pos) = rest.find(KEY) {
        let (head, tail) = rest.split_at(pos + KEY.len());
        out.push_str(head);
        out.push_str(MASK);
        rest = &tail[value_len(tail)..];
    }
    out.push_str(rest);
    out
}

/// Length of the password value at the start of `tail`.
fn value_len(tail: &str) -> usize {
    if tail.starts_with('\'') {
        let line_end = tail.find('\n').unwrap_or(tail.len());
        // The closing quote needs one character (any, even `'`) after the opening one.
        if let Some(close) = tail[..line_end].rfind('\'').filter(|&c| c >= 2) {
            return close + 1;
        }
    }
    tail.find(|c: char| c.is_whitespace() || c == '\'' || c == '"')
        .unwrap_or(tail.len())
}

/// The `scheme://user:password@` rule.
fn redact_uris(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(pos) = rest.find("://") {
        let (head, tail) = rest.split_at(pos + 3);
        out.push_str(head);
        let stop = |c: char| c == ' ' || c == ':' || c == '@';
        let user_len = tail.find(stop).unwrap_or(tail.len());
        let after_user = &tail[user_len..];
        if user_len > 0 && after_user.starts_with(':') {
            let password = &after_user[1..];
            let pw_len = password.find(stop).unwrap_or(password.len());
            if password[pw_len..].starts_with('@') {
                out.push_str(&tail[..=user_len]);
                out.push_str(MASK);
                rest = &password[pw_len..];
                continue;
            }
        }
        rest = tail;
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::passwords;

    #[test]
    fn unquoted_values_stop_at_space_and_quotes() {
        assert_eq!(
            passwords("host=a password=secret user=b"),
            "host=a password=*REDACTED* user=b"
        );
        // In a JSON text the closing quote of the string stays (issue #10 §3.4).
        assert_eq!(
            passwords(r#""conninfo": "host=a password=secret","#),
            r#""conninfo": "host=a password=*REDACTED*","#
        );
        assert_eq!(passwords("x password='a"), "x password=*REDACTED*'a");
        assert_eq!(passwords("password= x"), "password=*REDACTED* x");
        assert_eq!(
            passwords("a password=s\nb: c"),
            "a password=*REDACTED*\nb: c"
        );
    }

    #[test]
    fn quoted_values_run_to_the_last_quote_of_the_line() {
        assert_eq!(
            passwords("host=a password='se cret' user=b"),
            "host=a password=*REDACTED* user=b"
        );
        assert_eq!(
            passwords("password='a' user='b' x\nnext 'line'"),
            "password=*REDACTED* x\nnext 'line'"
        );
        assert_eq!(passwords("password=''x"), "password=*REDACTED*''x");
        assert_eq!(passwords("password='''"), "password=*REDACTED*");
    }

    #[test]
    fn uri_passwords() {
        assert_eq!(
            passwords("postgresql://u:pw@h:5432/db x"),
            "postgresql://u:*REDACTED*@h:5432/db x"
        );
        assert_eq!(
            passwords("postgresql://u:p/w@h"),
            "postgresql://u:*REDACTED*@h"
        );
        assert_eq!(
            passwords("postgresql://u:@h"),
            "postgresql://u:*REDACTED*@h"
        );
        assert_eq!(passwords("postgresql://u@h/db"), "postgresql://u@h/db");
        assert_eq!(
            passwords("postgresql://h:5432/db"),
            "postgresql://h:5432/db"
        );
        assert_eq!(passwords("postgres://u:pw@h"), "postgres://u:*REDACTED*@h");
    }

    #[test]
    fn redacting_twice_changes_nothing() {
        for text in [
            "password=secret\"",
            "password='x y' z",
            "password='a",
            "a://u:p@h",
        ] {
            let once = passwords(text);
            assert_eq!(passwords(&once), once, "{text}");
        }
    }

    #[test]
    fn text_without_passwords_is_unchanged() {
        assert_eq!(passwords("plain text"), "plain text");
    }
}
