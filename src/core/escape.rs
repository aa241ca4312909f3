//! Untrusted bytes (tar member names, checksum lines, file names a client chose) made safe
//! to quote in a one-line message: printable ASCII is kept as is, everything else (control
//! characters a terminal or a log reader would act on, bytes that are not UTF-8, and any
//! other character, so nothing can hide or reorder text) is escaped. Python Barman quotes
//! such input raw.

fn push_char(out: &mut String, c: char) {
    match u32::from(c) {
        0x20..=0x7e => out.push(c),
        code @ 0..=0xff => out.push_str(&format!("\\x{code:02x}")),
        code => out.push_str(&format!("\\u{{{code:x}}}")),
    }
}

/// `raw` as one line of printable ASCII: characters up to U+00FF and bytes that are not
/// UTF-8 as `\xNN`, other characters as `\u{NNNN}`.
pub fn bytes(raw: &[u8]) -> String {
    let mut out = String::with_capacity(raw.len());
    for chunk in raw.utf8_chunks() {
        for c in chunk.valid().chars() {
            push_char(&mut out, c);
        }
        for b in chunk.invalid() {
            out.push_str(&format!("\\x{b:02x}"));
        }
    }
    out
}

/// [`bytes`] for text already decoded (an error message that quotes input). Idempotent:
/// escaping an escaped text changes nothing.
pub fn text(text: &str) -> String {
    bytes(text.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_keeps_printable_text_and_escapes_the_rest() {
        assert_eq!(
            bytes(b"000000010000000000000042"),
            "000000010000000000000042"
        );
        assert_eq!(bytes("café ü".as_bytes()), "caf\\xe9 \\xfc");
        assert_eq!(bytes(b"a\nb\rc\td\x1b[31m"), "a\\x0ab\\x0dc\\x09d\\x1b[31m");
        assert_eq!(bytes(b"\xff\xfe x \xc3"), "\\xff\\xfe x \\xc3");
        assert_eq!(
            bytes("\u{202E}evil\u{2028}".as_bytes()),
            "\\u{202e}evil\\u{2028}"
        );
        assert_eq!(bytes("\u{85}".as_bytes()), "\\x85");
        let once = bytes(b"\x00\x07\xff\n");
        assert_eq!(text(&once), once);
    }
}
