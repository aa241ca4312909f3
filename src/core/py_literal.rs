//! The subset of Python literals Barman writes into `backup.info` with `repr()` and reads
//! back with `ast.literal_eval`: `None`, `True`/`False`, integers, floats, strings, lists,
//! tuples and dicts. Parsing and printing follow CPython so a rewrite is byte-identical.

use std::fmt::Write as _;

/// A Python literal value.
#[derive(Debug, Clone, PartialEq)]
pub enum PyValue {
    /// `None`.
    None,
    /// `True` / `False`.
    Bool(bool),
    /// An integer.
    Int(i64),
    /// A float.
    Float(f64),
    /// A string.
    Str(String),
    /// A list `[...]`.
    List(Vec<PyValue>),
    /// A tuple `(...)`.
    Tuple(Vec<PyValue>),
    /// A dict `{...}`, insertion ordered.
    Dict(Vec<(PyValue, PyValue)>),
}

/// A literal that could not be parsed, with the byte offset of the problem.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid Python literal at offset {offset}: {reason}")]
pub struct PyLiteralError {
    /// Byte offset in the input.
    pub offset: usize,
    /// What is wrong.
    pub reason: String,
}

/// Parse one literal (surrounding white space allowed).
pub fn parse(text: &str) -> Result<PyValue, PyLiteralError> {
    let mut parser = Parser { text, pos: 0 };
    let value = parser.value()?;
    parser.skip_ws();
    if parser.pos != text.len() {
        return Err(parser.error("trailing characters"));
    }
    Ok(value)
}

struct Parser<'a> {
    text: &'a str,
    pos: usize,
}

impl Parser<'_> {
    fn error(&self, reason: &str) -> PyLiteralError {
        PyLiteralError {
            offset: self.pos,
            reason: reason.to_string(),
        }
    }

    fn rest(&self) -> &str {
        &self.text[self.pos..]
    }

    fn skip_ws(&mut self) {
        let trimmed = self.rest().trim_start();
        self.pos = self.text.len() - trimmed.len();
    }

    fn eat(&mut self, token: &str) -> bool {
        if self.rest().starts_with(token) {
            self.pos += token.len();
            true
        } else {
            false
        }
    }

    fn value(&mut self) -> Result<PyValue, PyLiteralError> {
        self.skip_ws();
        let Some(c) = self.rest().chars().next() else {
            return Err(self.error("unexpected end"));
        };
        match c {
            '\'' | '"' => self.string().map(PyValue::Str),
            '[' => {
                self.pos += 1;
                self.sequence(']').map(|(items, _)| PyValue::List(items))
            }
            '(' => {
                self.pos += 1;
                self.sequence(')').map(|(items, _)| PyValue::Tuple(items))
            }
            '{' => {
                self.pos += 1;
                self.dict()
            }
            _ if self.eat("None") => Ok(PyValue::None),
            _ if self.eat("True") => Ok(PyValue::Bool(true)),
            _ if self.eat("False") => Ok(PyValue::Bool(false)),
            _ => self.number(),
        }
    }

    fn sequence(&mut self, close: char) -> Result<(Vec<PyValue>, bool), PyLiteralError> {
        let mut items = Vec::new();
        let mut trailing_comma = false;
        loop {
            self.skip_ws();
            if self.eat(&close.to_string()) {
                return Ok((items, trailing_comma));
            }
            items.push(self.value()?);
            self.skip_ws();
            trailing_comma = self.eat(",");
            if !trailing_comma {
                self.skip_ws();
                if !self.eat(&close.to_string()) {
                    return Err(self.error("expected ',' or closing bracket"));
                }
                return Ok((items, false));
            }
        }
    }

    fn dict(&mut self) -> Result<PyValue, PyLiteralError> {
        let mut items = Vec::new();
        loop {
            self.skip_ws();
            if self.eat("}") {
                return Ok(PyValue::Dict(items));
            }
            let key = self.value()?;
            self.skip_ws();
            if !self.eat(":") {
                return Err(self.error("expected ':'"));
            }
            let value = self.value()?;
            items.push((key, value));
            self.skip_ws();
            if !self.eat(",") {
                self.skip_ws();
                if !self.eat("}") {
                    return Err(self.error("expected ',' or '}'"));
                }
                return Ok(PyValue::Dict(items));
            }
        }
    }

    fn number(&mut self) -> Result<PyValue, PyLiteralError> {
        let len = self
            .rest()
            .find(|c: char| {
                !(c.is_ascii_alphanumeric() || c == '.' || c == '-' || c == '+' || c == '_')
            })
            .unwrap_or(self.rest().len());
        let token = &self.rest()[..len];
        if token.is_empty() {
            return Err(self.error("unexpected character"));
        }
        let value = if let Ok(n) = token.parse::<i64>() {
            PyValue::Int(n)
        } else if let Ok(f) = token.parse::<f64>() {
            PyValue::Float(f)
        } else {
            return Err(self.error(&format!("not a literal: '{token}'")));
        };
        self.pos += len;
        Ok(value)
    }

    fn string(&mut self) -> Result<String, PyLiteralError> {
        let quote = self
            .rest()
            .chars()
            .next()
            .expect("invariant: caller saw a quote");
        self.pos += 1;
        let mut out = String::new();
        let mut chars = self.rest().char_indices();
        while let Some((i, c)) = chars.next() {
            match c {
                c if c == quote => {
                    self.pos += i + 1;
                    return Ok(out);
                }
                '\\' => {
                    let Some((_, e)) = chars.next() else { break };
                    match e {
                        'n' => out.push('\n'),
                        't' => out.push('\t'),
                        'r' => out.push('\r'),
                        '0' => out.push('\0'),
                        '\\' => out.push('\\'),
                        '\'' => out.push('\''),
                        '"' => out.push('"'),
                        'x' | 'u' | 'U' => {
                            let width = match e {
                                'x' => 2,
                                'u' => 4,
                                _ => 8,
                            };
                            let hex: String = (0..width)
                                .filter_map(|_| chars.next().map(|(_, h)| h))
                                .collect();
                            let code = u32::from_str_radix(&hex, 16)
                                .map_err(|_| self.error("bad escape"))?;
                            out.push(
                                char::from_u32(code).ok_or_else(|| self.error("bad code point"))?,
                            );
                        }
                        other => {
                            out.push('\\');
                            out.push(other);
                        }
                    }
                }
                c => out.push(c),
            }
        }
        Err(self.error("unterminated string"))
    }
}

/// Python's `repr()` of a value.
pub fn repr(value: &PyValue) -> String {
    let mut out = String::new();
    write_repr(&mut out, value);
    out
}

fn write_repr(out: &mut String, value: &PyValue) {
    match value {
        PyValue::None => out.push_str("None"),
        PyValue::Bool(true) => out.push_str("True"),
        PyValue::Bool(false) => out.push_str("False"),
        PyValue::Int(n) => {
            let _ = write!(out, "{n}");
        }
        PyValue::Float(f) => out.push_str(&float_repr(*f)),
        PyValue::Str(s) => out.push_str(&str_repr(s)),
        PyValue::List(items) => {
            out.push('[');
            join(out, items);
            out.push(']');
        }
        PyValue::Tuple(items) => {
            out.push('(');
            join(out, items);
            if items.len() == 1 {
                out.push(',');
            }
            out.push(')');
        }
        PyValue::Dict(items) => {
            out.push('{');
            for (i, (k, v)) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_repr(out, k);
                out.push_str(": ");
                write_repr(out, v);
            }
            out.push('}');
        }
    }
}

fn join(out: &mut String, items: &[PyValue]) {
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        write_repr(out, item);
    }
}

/// CPython's `repr(str)`: single quotes unless the text has `'` and no `"`.
pub fn str_repr(s: &str) -> String {
    let quote = if s.contains('\'') && !s.contains('"') {
        '"'
    } else {
        '\''
    };
    let mut out = String::with_capacity(s.len() + 2);
    out.push(quote);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push(quote);
    out
}

/// CPython's `repr(float)` (shortest round trip).
pub fn float_repr(f: f64) -> String {
    if f.is_finite() && f == f.trunc() && f.abs() < 1e16 {
        format!("{f:.1}")
    } else if f.is_finite() && (f.abs() >= 1e16 || (f != 0.0 && f.abs() < 1e-4)) {
        let text = format!("{f:e}");
        let (mantissa, exp) = text.split_once('e').unwrap_or((&text, "0"));
        let exp: i32 = exp.parse().unwrap_or(0);
        format!(
            "{mantissa}e{}{:02}",
            if exp < 0 { '-' } else { '+' },
            exp.abs()
        )
    } else if f.is_nan() {
        "nan".into()
    } else if f.is_infinite() {
        if f > 0.0 {
            "inf".into()
        } else {
            "-inf".into()
        }
    } else {
        format!("{f}")
    }
}

impl PyValue {
    /// The JSON value Barman's encoders give this literal (tuples become lists, dict keys
    /// become strings).
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value;
        match self {
            PyValue::None => Value::Null,
            PyValue::Bool(b) => Value::Bool(*b),
            PyValue::Int(n) => Value::from(*n),
            PyValue::Float(f) => {
                serde_json::Number::from_f64(*f).map_or(Value::Null, Value::Number)
            }
            PyValue::Str(s) => Value::String(s.clone()),
            PyValue::List(items) | PyValue::Tuple(items) => {
                Value::Array(items.iter().map(PyValue::to_json).collect())
            }
            PyValue::Dict(items) => Value::Object(
                items
                    .iter()
                    .map(|(k, v)| {
                        let key = match k {
                            PyValue::Str(s) => s.clone(),
                            other => repr(other),
                        };
                        (key, v.to_json())
                    })
                    .collect(),
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn py_literal_round_trips_backup_info_values() {
        for text in [
            "[('tbs1', 16384, '/srv/pg/tbs1')]",
            "{'total_time': 0.624887, 'number_of_workers': 1, 'analysis_time_per_item': {'tbs1': 0.136626}}",
            "'START WAL LOCATION: 0/5000028 (file 000000010000000000000005)\\nLABEL: x\\n'",
            "['/etc/postgresql/17/main/conf.d/extra.conf']",
            "{'copy_time': 132.873711, 'total_time': 132.873711}",
            "None",
            "(1,)",
            "\"it's\"",
        ] {
            assert_eq!(repr(&parse(text).unwrap()), text, "{text}");
        }
    }

    #[test]
    fn py_literal_string_escapes() {
        assert_eq!(
            parse(r"'a\nb\tc\\d\'e'").unwrap(),
            PyValue::Str("a\nb\tc\\d'e".into())
        );
        assert_eq!(parse(r"'\x41\u00e9'").unwrap(), PyValue::Str("Aé".into()));
        assert_eq!(str_repr("a'b\"c"), r#"'a\'b"c'"#);
    }

    #[test]
    fn py_literal_floats_print_like_python() {
        assert_eq!(float_repr(1.5), "1.5");
        assert_eq!(float_repr(1700000000.0), "1700000000.0");
        assert_eq!(float_repr(1795482307.9576452), "1795482307.9576452");
        assert_eq!(float_repr(1e-5), "1e-05");
    }

    #[test]
    fn py_literal_rejects_garbage() {
        assert!(parse("[1, 2").is_err());
        assert!(parse("os.system('x')").is_err());
        assert!(parse("'open").is_err());
    }

    proptest! {
        #[test]
        fn py_literal_string_repr_round_trips(s in "\\PC*") {
            prop_assert_eq!(parse(&str_repr(&s)).unwrap(), PyValue::Str(s));
        }

        #[test]
        fn py_literal_int_and_float_round_trip(n in any::<i64>(), f in -1e12f64..1e12) {
            prop_assert_eq!(parse(&repr(&PyValue::Int(n))).unwrap(), PyValue::Int(n));
            let back = parse(&float_repr(f)).unwrap();
            match back {
                PyValue::Float(g) => prop_assert_eq!(g, f),
                PyValue::Int(g) => prop_assert_eq!(g as f64, f),
                other => prop_assert!(false, "{:?}", other),
            }
        }
    }
}
