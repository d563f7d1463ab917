//! An article's overview (RFC 3977 8.3) from its bytes.

use super::OverviewRecord;
use crate::mailbox::header::field;

/// The overview of article `number`, whose bytes (as clients see them,
/// CRLF line ends) are `article`. Missing fields are empty.
pub fn overview(number: u32, article: &[u8]) -> OverviewRecord {
    let value = |name: &str| clean(&field(article, name).unwrap_or_default());
    OverviewRecord {
        number,
        subject: value("Subject"),
        from: value("From"),
        date: value("Date"),
        message_id: value("Message-ID"),
        references: value("References"),
        bytes: article.len() as u64,
        lines: body_lines(article),
    }
}

/// RFC 3977 8.3.2: tabs, CRs and LFs in a field become spaces.
fn clean(value: &str) -> String {
    value
        .chars()
        .map(|c| {
            if matches!(c, '\t' | '\r' | '\n') {
                ' '
            } else {
                c
            }
        })
        .collect()
}

/// The lines after the blank line that ends the header section.
fn body_lines(article: &[u8]) -> u32 {
    let body = article
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|at| at + 4)
        .or_else(|| {
            article
                .windows(2)
                .position(|w| w == b"\n\n")
                .map(|at| at + 2)
        });
    let Some(start) = body else {
        return 0;
    };
    let body = &article[start..];
    let newlines = body.iter().filter(|&&b| b == b'\n').count();
    let unterminated = usize::from(!body.is_empty() && !body.ends_with(b"\n"));
    u32::try_from(newlines + unterminated).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_overview_fields_come_unfolded_and_without_tabs() {
        let article = b"From: Alice <alice@example.test>\r\nSubject: Hello\r\n\tworld\twide\r\nMessage-ID: <1@example.test>\r\nDate: Mon, 30 Nov 2026 10:00:00 +0000\r\nNewsgroups: local.general\r\n\r\nline one\r\nline two\r\n";
        let record = overview(7, article);
        assert_eq!(record.number, 7);
        assert_eq!(record.subject, "Hello world wide");
        assert_eq!(record.from, "Alice <alice@example.test>");
        assert_eq!(record.message_id, "<1@example.test>");
        assert_eq!(record.references, "");
        assert_eq!(record.bytes, article.len() as u64);
        assert_eq!(record.lines, 2);
    }

    #[test]
    fn an_article_without_a_body_has_no_lines() {
        assert_eq!(overview(1, b"Subject: x\r\n").lines, 0);
        assert_eq!(overview(1, b"Subject: x\r\n\r\n").lines, 0);
        assert_eq!(overview(1, b"Subject: x\r\n\r\nno newline").lines, 1);
    }
}
