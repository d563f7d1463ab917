//! What the webmail shows of a message (`postern_core::http`) on any
//! bytes: the message view with and without HTML and remote images, its
//! attachments, the download header, a reply and a forward, and the
//! cookie and token parsers on the same bytes as text.
//!
//! Asserted, besides "never panics": shown HTML carries no script, no
//! event handler, no `javascript:` URL and (unless asked for) no remote
//! image; a download's name has no path and its header no line break.

#![no_main]

use libfuzzer_sys::fuzz_target;
use postern_core::http::compose::{Answer, answer, split_addresses};
use postern_core::http::session::{Token, cookie_value};
use postern_core::http::view::{self, Body};

fuzz_target!(|data: &[u8]| {
    for (prefer_html, remote_images) in [(false, false), (true, false), (true, true)] {
        let shown = view::view(data, prefer_html, remote_images);
        if let Body::Html(safe) = &shown.body {
            // Text is escaped (`&lt;`), so every `<` left opens a real tag.
            for tag in safe.html.to_ascii_lowercase().split('<').skip(1) {
                let (name, attributes) = parse_tag(tag);
                assert!(
                    !["script", "style", "iframe", "object", "form", "embed"]
                        .contains(&name.as_str()),
                    "<{tag}"
                );
                for (attribute, value) in attributes {
                    assert!(!attribute.starts_with("on"), "<{tag}");
                    assert!(attribute != "style", "<{tag}");
                    assert!(!value.trim_start().starts_with("javascript:"), "<{tag}");
                    if !remote_images && name == "img" && attribute == "src" {
                        assert!(
                            !value.starts_with("http") && !value.starts_with("//"),
                            "<{tag}"
                        );
                    }
                }
            }
        }
        for attachment in &shown.attachments {
            assert!(!attachment.name.contains('/') && !attachment.name.contains('\\'));
            assert!(!attachment.name.chars().any(char::is_control));
            let header = view::content_disposition(&attachment.name);
            assert!(!header.contains('\r') && !header.contains('\n'));
            if attachment.number < 4 {
                let _ = view::attachment(data, attachment.number);
            }
        }
        for how in [Answer::Reply, Answer::ReplyAll, Answer::Forward] {
            let draft = answer(&shown, how, "user@example.test");
            let _ = split_addresses(&draft.to);
            let _ = split_addresses(&draft.cc);
        }
    }
    let _ = view::summary(data);
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = cookie_value(text, "postern_session").map(Token::parse);
        let _ = split_addresses(text);
    }
});

/// A serialized tag's name and attributes (`a href="x" target="_blank">`,
/// as html5ever writes them: values double-quoted, `"` escaped inside).
fn parse_tag(tag: &str) -> (String, Vec<(String, String)>) {
    let tag = tag.trim_start_matches('/');
    let end = tag
        .find(|c: char| c.is_whitespace() || c == '>')
        .unwrap_or(tag.len());
    let name = tag[..end].to_owned();
    let mut attributes = Vec::new();
    let mut rest = &tag[end..];
    loop {
        rest = rest.trim_start();
        if rest.is_empty() || rest.starts_with('>') || rest.starts_with('/') {
            break;
        }
        let name_end = rest
            .find(|c: char| c == '=' || c.is_whitespace() || c == '>')
            .unwrap_or(rest.len());
        let attribute = rest[..name_end].to_owned();
        rest = &rest[name_end..];
        let mut value = String::new();
        if let Some(after) = rest.strip_prefix("=\"") {
            let close = after.find('"').unwrap_or(after.len());
            value = after[..close].to_owned();
            rest = after.get(close + 1..).unwrap_or_default();
        }
        attributes.push((attribute, value));
    }
    (name, attributes)
}
