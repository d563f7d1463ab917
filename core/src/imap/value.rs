//! Response data as values, and their encoding (RFC 9051 4 and 9).
//!
//! ENVELOPE, BODYSTRUCTURE, ID and STATUS replies are nested lists of
//! numbers, atoms, strings and NIL. They are built as [`Value`]s and
//! encoded in one place, so that quoting is decided once: a string goes
//! out quoted when it can be, and as a literal when it holds a CR, LF,
//! NUL, a character quoting cannot carry, or 8-bit text the session may
//! not send quoted.

/// One piece of response data.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Value {
    Nil,
    Number(u64),
    /// Sent as is: the caller makes sure it is an atom (`\Seen`,
    /// `HIGHESTMODSEQ`).
    Atom(String),
    /// Quoted or a literal, whichever can carry it.
    String(Vec<u8>),
    /// Always a literal (`{n}`), however short: message data (FETCH
    /// BODY[...], BINARY[...], RFC822...). RFC 9051 allows a quoted
    /// string there, but clients read message data as a literal: curl
    /// fails on a quoted one ("Failed to parse FETCH response"), and
    /// Dovecot never sends one.
    Literal(Vec<u8>),
    /// RFC 3516 `literal8` (`~{n}`): BINARY data that may hold NUL.
    Binary(Vec<u8>),
    List(Vec<Value>),
    /// Values written one after another with nothing between them and no
    /// parentheses: RFC 9051 9's `1*address` (an ENVELOPE address list)
    /// and `1*body` (a multipart's parts) have no space between items.
    Concat(Vec<Value>),
}

impl Value {
    /// A string, or NIL for `None` (`nstring`).
    pub fn nstring(text: Option<impl Into<Vec<u8>>>) -> Value {
        match text {
            Some(text) => Value::String(text.into()),
            None => Value::Nil,
        }
    }

    pub fn string(text: impl Into<Vec<u8>>) -> Value {
        Value::String(text.into())
    }

    pub fn atom(text: impl Into<String>) -> Value {
        Value::Atom(text.into())
    }

    /// Appends the value's wire form to `out`. `utf8` is true once the
    /// session may send UTF-8 in quoted strings (IMAP4rev2 or UTF8=ACCEPT
    /// enabled); otherwise 8-bit strings go out as literals.
    pub fn encode(&self, out: &mut Vec<u8>, utf8: bool) {
        match self {
            Value::Nil => out.extend_from_slice(b"NIL"),
            Value::Number(n) => out.extend_from_slice(n.to_string().as_bytes()),
            Value::Atom(atom) => out.extend_from_slice(atom.as_bytes()),
            Value::String(bytes) => encode_string(bytes, out, utf8),
            Value::Literal(bytes) => {
                out.extend_from_slice(format!("{{{}}}\r\n", bytes.len()).as_bytes());
                out.extend_from_slice(bytes);
            }
            Value::Binary(bytes) => {
                out.extend_from_slice(format!("~{{{}}}\r\n", bytes.len()).as_bytes());
                out.extend_from_slice(bytes);
            }
            Value::List(items) => {
                out.push(b'(');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(b' ');
                    }
                    item.encode(out, utf8);
                }
                out.push(b')');
            }
            Value::Concat(items) => {
                for item in items {
                    item.encode(out, utf8);
                }
            }
        }
    }

    /// The wire form on its own.
    pub fn to_bytes(&self, utf8: bool) -> Vec<u8> {
        let mut out = Vec::new();
        self.encode(&mut out, utf8);
        out
    }
}

/// Longest string sent quoted; longer ones go as literals, which clients
/// read without scanning for the closing quote.
const QUOTED_BYTES_MAX: usize = 1024;

/// A string, quoted when it can be (RFC 9051 4.3), else as a literal.
pub fn encode_string(bytes: &[u8], out: &mut Vec<u8>, utf8: bool) {
    if can_quote(bytes, utf8) {
        out.push(b'"');
        for &byte in bytes {
            if byte == b'"' || byte == b'\\' {
                out.push(b'\\');
            }
            out.push(byte);
        }
        out.push(b'"');
    } else {
        out.extend_from_slice(format!("{{{}}}\r\n", bytes.len()).as_bytes());
        out.extend_from_slice(bytes);
    }
}

/// RFC 9051 9 `quoted`: no CR, LF or NUL; 8-bit only as valid UTF-8 and
/// only when the session allows it.
fn can_quote(bytes: &[u8], utf8: bool) -> bool {
    if bytes.len() > QUOTED_BYTES_MAX {
        return false;
    }
    if bytes.iter().any(|&b| b == b'\r' || b == b'\n' || b == 0) {
        return false;
    }
    if bytes.is_ascii() {
        return true;
    }
    utf8 && std::str::from_utf8(bytes).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wire(value: &Value, utf8: bool) -> String {
        String::from_utf8(value.to_bytes(utf8)).expect("test values are UTF-8")
    }

    #[test]
    fn strings_are_quoted_when_they_can_be() {
        assert_eq!(wire(&Value::string("hello"), false), "\"hello\"");
        assert_eq!(
            wire(&Value::string("a \"b\" \\c"), false),
            "\"a \\\"b\\\" \\\\c\""
        );
        assert_eq!(wire(&Value::string(""), false), "\"\"");
    }

    #[test]
    fn line_ends_and_8_bit_text_go_as_literals() {
        assert_eq!(wire(&Value::string("a\r\nb"), false), "{4}\r\na\r\nb");
        assert_eq!(wire(&Value::string("café"), false), "{5}\r\ncafé");
        assert_eq!(wire(&Value::string("café"), true), "\"café\"");
        assert_eq!(
            Value::String(vec![0xff, b'a']).to_bytes(true),
            b"{2}\r\n\xffa".to_vec()
        );
    }

    #[test]
    fn long_strings_go_as_literals() {
        let long = "x".repeat(QUOTED_BYTES_MAX + 1);
        assert!(wire(&Value::string(long.as_str()), false).starts_with("{1025}\r\n"));
    }

    #[test]
    fn lists_nest() {
        let value = Value::List(vec![
            Value::Nil,
            Value::Number(42),
            Value::atom("\\Seen"),
            Value::List(vec![Value::string("a"), Value::nstring(None::<&str>)]),
        ]);
        assert_eq!(wire(&value, false), "(NIL 42 \\Seen (\"a\" NIL))");
    }

    #[test]
    fn concatenated_values_have_no_separator() {
        let value = Value::List(vec![
            Value::Concat(vec![
                Value::List(vec![Value::Nil]),
                Value::List(vec![Value::Number(1)]),
            ]),
            Value::string("mixed"),
        ]);
        assert_eq!(wire(&value, false), "((NIL)(1) \"mixed\")");
    }

    #[test]
    fn binary_goes_as_literal8() {
        assert_eq!(
            wire(&Value::Binary(vec![0, 1]), false),
            "~{2}\r\n\u{0}\u{1}"
        );
    }
}
