//! Reading one header field from a message's header section (RFC 5322
//! 2.2), for listings such as `postern mailbox show`.

use crate::limits::TEXT_LINE_BYTES_MAX;

/// The unfolded value of the first field called `name` (any case) in the
/// header section at the start of `message`, `None` if there is none
/// before the blank line (or the end of `message`). Each physical line is
/// taken up to [`TEXT_LINE_BYTES_MAX`] octets; the value as lossy UTF-8.
pub fn field(message: &[u8], name: &str) -> Option<String> {
    let mut value: Option<Vec<u8>> = None;
    for line in message.split(|&b| b == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let line = &line[..line.len().min(TEXT_LINE_BYTES_MAX)];
        if line.is_empty() {
            break;
        }
        let folded = line[0] == b' ' || line[0] == b'\t';
        match (&mut value, folded) {
            (Some(value), true) => value.extend_from_slice(line),
            (Some(_), false) => break,
            (None, false) => {
                if let Some(colon) = line.iter().position(|&b| b == b':') {
                    if line[..colon]
                        .trim_ascii()
                        .eq_ignore_ascii_case(name.as_bytes())
                    {
                        value = Some(line[colon + 1..].to_vec());
                    }
                }
            }
            (None, true) => {}
        }
    }
    value.map(|v| String::from_utf8_lossy(v.trim_ascii()).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_found_unfolded_and_stop_at_the_body() {
        let rows: &[(&[u8], Option<&str>)] = &[
            (b"Subject: hi\r\n\r\nbody", Some("hi")),
            (
                b"From: a\nsubject:  two\n words\nX: y\n\n",
                Some("two words"),
            ),
            (b"From: a\n\nSubject: in the body\n", None),
            (b"Subject: a\n\tb\n", Some("a\tb")),
            (b"", None),
            (b"Subject:\n", Some("")),
            (b"Subjects: no\n", None),
        ];
        for &(message, expected) in rows {
            assert_eq!(
                field(message, "Subject").as_deref(),
                expected,
                "{message:?}"
            );
        }
    }
}
