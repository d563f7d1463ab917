//! Making a message's HTML safe to show inside a webmail page, with
//! ammonia (html5ever's parser and a list of what is allowed).
//!
//! What is left: text formatting, tables, lists, links and images. What
//! goes: `<script>` and `<style>` with their content, every event handler
//! (`onerror=`, `onclick=`...), `style` attributes, forms, frames and
//! objects, any URL that is not `http`, `https` or `mailto` (so no
//! `javascript:`; `data:` only for inline images), and relative URLs
//! (they would point into the webmail). Links open in a new tab without
//! telling the target who sent the reader
//! (`rel="noopener noreferrer nofollow"`). Images other than inline
//! `data:image/` ones are removed until the reader asks for them:
//! fetching one tells the sender the mail was read, and when. The page's
//! Content-Security-Policy (see the runtime) blocks anything that would
//! slip through all the same.

use std::borrow::Cow;
// ammonia's API takes a HashSet of URL schemes; it is only looked up,
// never iterated into output.
#[allow(clippy::disallowed_types)]
use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// The sanitized HTML, and whether remote images were held back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SafeHtml {
    pub html: String,
    pub remote_images_blocked: bool,
}

/// Sanitizes a message's HTML for display; remote images are kept only
/// when `remote_images` is true.
#[allow(clippy::disallowed_types)]
pub fn sanitize(html: &str, remote_images: bool) -> SafeHtml {
    let blocked = Arc::new(AtomicBool::new(false));
    let seen = Arc::clone(&blocked);
    let mut builder = ammonia::Builder::default();
    builder
        .url_schemes(HashSet::from(["http", "https", "mailto", "data"]))
        .link_rel(Some("noopener noreferrer nofollow"))
        // A relative URL in a message would point into the webmail
        // itself (`<img src="/raw?...">` is a request the reader's browser
        // makes, with the session's cookie): a mail has no base, so they go.
        .url_relative(ammonia::UrlRelative::Deny)
        .set_tag_attribute_value("a", "target", "_blank")
        .attribute_filter(move |element, attribute, value| {
            // Until the reader asks, an image may only be inline data: a
            // message has no other images of its own to show, and any URL
            // (however written: browsers drop tabs and newlines in URLs and
            // read `/\\host` as `//host`) may reach a tracker.
            let inline = value
                .trim_start_matches(|c: char| c <= ' ')
                .get(..11)
                .is_some_and(|start| start.eq_ignore_ascii_case("data:image/"));
            let image = element == "img" && attribute == "src";
            if image && !remote_images && !inline {
                seen.store(true, Ordering::Relaxed);
                return None;
            }
            // `data:` is allowed for inline images only: a `data:` link
            // would open a page of the sender's making.
            let data = value
                .trim_start_matches(|c: char| c <= ' ')
                .get(..5)
                .is_some_and(|start| start.eq_ignore_ascii_case("data:"));
            if data && !(image && inline) {
                return None;
            }
            Some(Cow::Borrowed(value))
        });
    let html = builder.clean(html).to_string();
    SafeHtml {
        html,
        remote_images_blocked: blocked.load(Ordering::Relaxed),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each row: what a hostile message carries, and what must not be in
    /// the result.
    const INERT: &[(&str, &str, &str)] = &[
        (
            "script tag",
            "<p>hi</p><script>alert(1)</script>",
            "<script",
        ),
        ("script body", "<script>alert(1)</script>", "alert"),
        ("onerror", "<img src=\"x\" onerror=\"alert(1)\">", "onerror"),
        (
            "onclick",
            "<a href=\"https://a.test/\" onclick=\"steal()\">x</a>",
            "onclick",
        ),
        (
            "javascript link",
            "<a href=\"javascript:alert(1)\">x</a>",
            "javascript",
        ),
        (
            "javascript with case and space",
            "<a href=\" JaVaScRiPt:alert(1)\">x</a>",
            "alert",
        ),
        (
            "style tag",
            "<style>body{background:url(https://t.test/x)}</style>",
            "t.test",
        ),
        (
            "style attribute",
            "<p style=\"background:url(https://t.test/y)\">x</p>",
            "t.test",
        ),
        (
            "iframe",
            "<iframe src=\"https://evil.test/\"></iframe>",
            "iframe",
        ),
        (
            "form",
            "<form action=\"https://evil.test/\"><input name=p></form>",
            "form",
        ),
        ("object", "<object data=\"x.swf\"></object>", "object"),
        (
            "meta refresh",
            "<meta http-equiv=\"refresh\" content=\"0;url=https://e.test\">",
            "refresh",
        ),
        ("base", "<base href=\"https://evil.test/\">", "base"),
        (
            "link stylesheet",
            "<link rel=stylesheet href=\"https://t.test/s.css\">",
            "t.test",
        ),
        (
            "svg script",
            "<svg><script>alert(1)</script></svg>",
            "alert",
        ),
        (
            "remote image",
            "<img src=\"https://tracker.test/pixel.gif\">",
            "tracker.test",
        ),
        (
            "protocol-relative image",
            "<img src=\"//tracker.test/p.gif\">",
            "tracker.test",
        ),
        (
            "relative image, a request into the webmail",
            "<img src=\"/raw?f=INBOX&amp;uid=1\"><img src=\"x\">",
            "src",
        ),
        (
            "relative link into the webmail",
            "<a href=\"/folder?f=Trash\">x</a>",
            "href",
        ),
        (
            "data URL link",
            "<a href=\"data:text/html,<script>alert(1)</script>\">x</a>",
            "data:",
        ),
    ];

    #[test]
    fn hostile_html_renders_inert() {
        for (name, hostile, absent) in INERT {
            let safe = sanitize(hostile, false);
            assert!(
                !safe.html.to_ascii_lowercase().contains(absent),
                "{name}: {:?} still contains {absent:?}",
                safe.html
            );
        }
    }

    #[test]
    fn links_open_in_a_new_tab_without_a_referrer() {
        let safe = sanitize("<a href=\"https://example.test/\">site</a>", false);
        assert!(safe.html.contains("target=\"_blank\""), "{}", safe.html);
        assert!(safe.html.contains("noopener noreferrer"), "{}", safe.html);
        assert!(safe.html.contains("https://example.test/"));
    }

    #[test]
    fn remote_images_are_held_back_until_asked_for() {
        let html = "<p>logo</p><img src=\"https://cdn.test/logo.png\" alt=\"logo\">";
        let held = sanitize(html, false);
        assert!(held.remote_images_blocked);
        assert!(!held.html.contains("cdn.test"));
        let shown = sanitize(html, true);
        assert!(!shown.remote_images_blocked);
        assert!(shown.html.contains("https://cdn.test/logo.png"));
    }

    #[test]
    fn inline_images_are_shown_at_once() {
        let safe = sanitize(
            "<img src=\"data:image/png;base64,iVBORw0KGgo=\" alt=\"dot\">",
            false,
        );
        assert!(safe.html.contains("data:image/png"), "{}", safe.html);
        assert!(!safe.remote_images_blocked);
    }

    #[test]
    fn formatting_survives() {
        let safe = sanitize(
            "<p><b>bold</b> <i>it</i></p><table><tr><td>1</td></tr></table>",
            false,
        );
        for kept in ["<b>bold</b>", "<i>it</i>", "<td>1</td>"] {
            assert!(safe.html.contains(kept), "{kept} in {}", safe.html);
        }
        assert!(!safe.remote_images_blocked);
    }
}
