//! The one-click unsubscribe pages (RFC 8058): a `GET` of the URL in a
//! post's `List-Unsubscribe` shows a button (a mail client's link
//! preview must not unsubscribe anyone); the `POST` the button or the
//! mail client sends unsubscribes. The token in the URL is the form's
//! only secret: the POST comes from other sites by design.

use super::{Notice, layout};
use maud::html;

/// The page a `GET` shows: one button that posts
/// `List-Unsubscribe=One-Click` back to the same URL.
pub fn unsubscribe_page(hostname: &str, path: &str) -> String {
    layout(
        hostname,
        None,
        None,
        html! {
            h1 { "Unsubscribe" }
            p { "Press the button to leave the mailing list. Nothing else is needed." }
            form method="post" action=(path) {
                input type="hidden" name="List-Unsubscribe" value="One-Click";
                button type="submit" { "Unsubscribe" }
            }
        },
    )
}

/// The page after a `POST`: who left which list, or that the link is
/// no longer valid.
pub fn unsubscribed_page(hostname: &str, done: Option<(&str, &str)>) -> String {
    let text = match done {
        Some((list, member)) => format!("{member} is unsubscribed from {list}."),
        None => "This link unsubscribes nobody: perhaps it was used already.".to_owned(),
    };
    let notice = if done.is_some() {
        Notice::Done(&text)
    } else {
        Notice::Problem(&text)
    };
    layout(
        hostname,
        None,
        Some(&notice),
        html! { h1 { "Unsubscribe" } },
    )
}
