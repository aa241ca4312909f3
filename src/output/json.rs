//! JSON text exactly as Python's `json.dumps(obj, sort_keys=True)` writes it: `", "` and
//! `": "` separators, non-ASCII escaped as `\uXXXX` (`ensure_ascii=True`), and `indent=4`
//! for the pretty form `diagnose` uses. Barman users diff and parse this output, so the bytes
//! matter, not just the structure.

use serde_json::ser::{CharEscape, Formatter};
use serde_json::Value;
use std::io::{self, Write};

/// Serialise like `json.dumps(value, sort_keys=True)` (keys are sorted because
/// `serde_json::Map` is a `BTreeMap` in this build).
pub fn dumps(value: &Value) -> String {
    render(value, None)
}

/// Serialise like `json.dumps(value, indent=4, sort_keys=True)`.
pub fn dumps_indented(value: &Value) -> String {
    render(value, Some(4))
}

fn render(value: &Value, indent: Option<usize>) -> String {
    let mut out = Vec::new();
    let formatter = PythonFormatter {
        indent,
        level: 0,
        had_items: Vec::new(),
    };
    let mut ser = serde_json::Serializer::with_formatter(&mut out, formatter);
    serde::Serialize::serialize(value, &mut ser)
        .expect("invariant: writing JSON to a Vec cannot fail");
    String::from_utf8(out).expect("invariant: the formatter writes ASCII only")
}

/// A serde_json formatter reproducing CPython's `json` module output.
struct PythonFormatter {
    indent: Option<usize>,
    level: usize,
    /// One flag per open container: has it had an item yet?
    had_items: Vec<bool>,
}

impl PythonFormatter {
    fn newline_indent<W: ?Sized + Write>(&self, w: &mut W) -> io::Result<()> {
        if let Some(width) = self.indent {
            w.write_all(b"\n")?;
            w.write_all(" ".repeat(width * self.level).as_bytes())?;
        }
        Ok(())
    }

    fn separator<W: ?Sized + Write>(&self, w: &mut W, first: bool) -> io::Result<()> {
        if !first {
            // With an indent Python uses "," + newline; without, ", ".
            w.write_all(if self.indent.is_some() { b"," } else { b", " })?;
        }
        self.newline_indent(w)
    }
}

impl Formatter for PythonFormatter {
    fn write_f64<W: ?Sized + Write>(&mut self, w: &mut W, value: f64) -> io::Result<()> {
        w.write_all(python_float_repr(value).as_bytes())
    }

    fn begin_array<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.level += 1;
        self.had_items.push(false);
        w.write_all(b"[")
    }

    fn end_array<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.level -= 1;
        self.newline_indent_if_nonempty(w)?;
        w.write_all(b"]")
    }

    fn begin_array_value<W: ?Sized + Write>(&mut self, w: &mut W, first: bool) -> io::Result<()> {
        if let Some(flag) = self.had_items.last_mut() {
            *flag = true;
        }
        self.separator(w, first)
    }

    fn begin_object<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.level += 1;
        self.had_items.push(false);
        w.write_all(b"{")
    }

    fn end_object<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.level -= 1;
        self.newline_indent_if_nonempty(w)?;
        w.write_all(b"}")
    }

    fn begin_object_key<W: ?Sized + Write>(&mut self, w: &mut W, first: bool) -> io::Result<()> {
        if let Some(flag) = self.had_items.last_mut() {
            *flag = true;
        }
        self.separator(w, first)
    }

    fn begin_object_value<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        w.write_all(b": ")
    }

    fn write_string_fragment<W: ?Sized + Write>(
        &mut self,
        w: &mut W,
        fragment: &str,
    ) -> io::Result<()> {
        // ensure_ascii=True: every non-ASCII code point becomes \uXXXX (surrogate pairs above
        // the BMP), as CPython does.
        for ch in fragment.chars() {
            if ch.is_ascii() {
                w.write_all(&[ch as u8])?;
            } else {
                let mut units = [0u16; 2];
                for unit in ch.encode_utf16(&mut units) {
                    write!(w, "\\u{:04x}", unit)?;
                }
            }
        }
        Ok(())
    }

    fn write_char_escape<W: ?Sized + Write>(
        &mut self,
        w: &mut W,
        escape: CharEscape,
    ) -> io::Result<()> {
        let s: &[u8] = match escape {
            CharEscape::Quote => b"\\\"",
            CharEscape::ReverseSolidus => b"\\\\",
            CharEscape::Solidus => b"/",
            CharEscape::Backspace => b"\\b",
            CharEscape::FormFeed => b"\\f",
            CharEscape::LineFeed => b"\\n",
            CharEscape::CarriageReturn => b"\\r",
            CharEscape::Tab => b"\\t",
            CharEscape::AsciiControl(byte) => return write!(w, "\\u{:04x}", byte),
        };
        w.write_all(s)
    }
}

impl PythonFormatter {
    fn newline_indent_if_nonempty<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        // Python puts the closing bracket on its own line only when the container had items.
        if self.had_items.pop().unwrap_or(false) {
            self.newline_indent(w)?;
        }
        Ok(())
    }
}

/// Python's `repr(float)`: shortest round-trip digits, `1.0` for integral values, exponent
/// form `1e+16` from 1e16 on and below 1e-4.
pub fn python_float_repr(value: f64) -> String {
    if value.is_nan() {
        return "NaN".into();
    }
    if value.is_infinite() {
        return if value > 0.0 {
            "Infinity".into()
        } else {
            "-Infinity".into()
        };
    }
    let abs = value.abs();
    if abs != 0.0 && !(1e-4..1e16).contains(&abs) {
        // Rust's `{:e}` is shortest round-trip too; Python writes the exponent with a sign
        // and at least two digits.
        let text = format!("{:e}", value);
        let (mantissa, exp) = text
            .split_once('e')
            .expect("invariant: {:e} has an exponent");
        let exp: i32 = exp.parse().expect("invariant: exponent is an integer");
        let sign = if exp < 0 { '-' } else { '+' };
        return format!("{mantissa}e{sign}{:02}", exp.abs());
    }
    let text = format!("{}", value);
    if text.contains('.') {
        text
    } else {
        format!("{text}.0")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn dumps_uses_python_separators_and_sorted_keys() {
        let v = json!({"pgr": {"description": "b"}, "pg": {"description": null}});
        assert_eq!(
            dumps(&v),
            r#"{"pg": {"description": null}, "pgr": {"description": "b"}}"#
        );
    }

    #[test]
    fn dumps_escapes_non_ascii_like_ensure_ascii() {
        assert_eq!(
            dumps(&json!("é\u{1F600}‐")),
            r#""\u00e9\ud83d\ude00\u2010""#
        );
    }

    #[test]
    fn dumps_indented_matches_python_indent_4() {
        let v = json!({"a": [1, 2], "b": {}, "c": [], "d": {"x": 1.5}});
        let expected = "{\n    \"a\": [\n        1,\n        2\n    ],\n    \"b\": {},\n    \"c\": [],\n    \"d\": {\n        \"x\": 1.5\n    }\n}";
        assert_eq!(dumps_indented(&v), expected);
    }

    #[test]
    fn float_repr_matches_python() {
        assert_eq!(python_float_repr(33921581.0), "33921581.0");
        assert_eq!(python_float_repr(1795482307.9576452), "1795482307.9576452");
        assert_eq!(python_float_repr(0.1), "0.1");
        assert_eq!(python_float_repr(1e16), "1e+16");
        assert_eq!(python_float_repr(0.00001), "1e-05");
        assert_eq!(python_float_repr(-2.5), "-2.5");
    }
}
