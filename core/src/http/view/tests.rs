use super::*;

const PLAIN: &[u8] = b"From: Alice Example <alice@a.test>\r\nTo: bob@b.test\r\nCc: Carol <carol@c.test>\r\nSubject: Lunch\r\nDate: Mon, 30 Nov 2026 12:00:00 +0000\r\nMessage-ID: <m1@a.test>\r\nReferences: <m0@a.test>\r\n\r\nShall we?\r\n";

const MIXED: &[u8] = b"From: a@a.test\r\nTo: b@b.test\r\nSubject: files\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"xx\"\r\n\r\n--xx\r\nContent-Type: text/html\r\n\r\n<p>see <b>attached</b></p><script>alert(1)</script>\r\n--xx\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; filename=\"../../etc/report.pdf\"\r\nContent-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQK\r\n--xx--\r\n";

#[test]
fn a_plain_message_shows_its_fields_and_text() {
    let view = view(PLAIN, false, false);
    assert_eq!(view.summary.subject, "Lunch");
    assert_eq!(
        view.summary.from[0].display(),
        "Alice Example <alice@a.test>"
    );
    assert_eq!(view.summary.from[0].short(), "Alice Example");
    assert_eq!(view.cc[0].address, "carol@c.test");
    assert_eq!(view.message_id.as_deref(), Some("m1@a.test"));
    assert_eq!(view.references, vec!["m0@a.test".to_owned()]);
    assert_eq!(view.body, Body::Text("Shall we?\r\n".to_owned()));
    assert!(view.summary.date_seconds > 0);
}

#[test]
fn an_html_only_message_is_sanitized_and_its_attachment_listed_with_a_safe_name() {
    let view = view(MIXED, false, false);
    let Body::Html(safe) = &view.body else {
        panic!("expected HTML, got {:?}", view.body);
    };
    assert!(safe.html.contains("<b>attached</b>"));
    assert!(!safe.html.contains("script"));
    assert_eq!(view.attachments.len(), 1);
    assert_eq!(view.attachments[0].name, "report.pdf");
    assert_eq!(view.attachments[0].content_type, "application/pdf");
    let (info, octets) = attachment(MIXED, 0).expect("attachment 0");
    assert_eq!(info.name, "report.pdf");
    assert_eq!(octets, b"%PDF-1.4\n");
    assert!(attachment(MIXED, 1).is_none());
}

#[test]
fn a_list_row_needs_only_the_header_section() {
    let header_only = &PLAIN[..PLAIN.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4];
    let row = summary(header_only);
    assert_eq!(row.subject, "Lunch");
    assert_eq!(row.to[0].address, "bob@b.test");
    assert!(!row.has_attachments);
}

#[test]
fn a_list_row_shows_attachments_of_a_mixed_message_from_its_header() {
    let header_only = &MIXED[..MIXED.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4];
    assert!(summary(header_only).has_attachments);
    let alternative = b"Subject: x\r\nContent-Type: multipart/alternative; boundary=\"a\"\r\n\r\n";
    assert!(!summary(alternative).has_attachments);
}

#[test]
fn download_names_cannot_escape_the_header() {
    let value = content_disposition("a\"b;c\r\nX-Evil: 1.pdf");
    assert!(!value.contains('\r') && !value.contains('\n'), "{value}");
    assert!(
        value.starts_with("attachment; filename=\"a_b_c__X-Evil: 1.pdf\""),
        "{value}"
    );
    assert!(
        value.contains("filename*=UTF-8''a%22b%3Bc%0D%0AX-Evil%3A%201.pdf"),
        "{value}"
    );
    assert_eq!(attachment_name(Some("..\\..\\boot.ini"), 0), "boot.ini");
    assert_eq!(attachment_name(Some("   "), 2), "attachment-3");
    assert_eq!(attachment_name(Some(".hidden"), 0), "hidden");
}

#[test]
fn an_arrival_time_is_shown_as_a_date_field_would_be() {
    assert_eq!(
        date_text(crate::time::UnixTime(1_796_039_280)),
        "Mon, 30 Nov 2026 11:48:00 +0000"
    );
}

#[test]
fn list_dates_are_short_and_say_as_much_as_is_needed() {
    use crate::time::UnixTime;
    // Mon, 30 Nov 2026 17:22:06 UTC
    let now = UnixTime(1_796_059_326);
    assert_eq!(list_date(UnixTime(1_796_059_326 - 3600), now), "16:22");
    assert_eq!(
        list_date(UnixTime(1_796_059_326 - 2 * 86400), now),
        "28 Nov"
    );
    assert_eq!(
        list_date(UnixTime(1_796_059_326 - 365 * 86400), now),
        "30 Nov 2025"
    );
}
