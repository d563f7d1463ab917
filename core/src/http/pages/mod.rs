//! The webmail's pages, rendered with maud: every value is escaped unless
//! it is the sanitizer's output, and every form carries the session's
//! form token. No page needs JavaScript; one small stylesheet, served
//! from the binary, lays them out for a desktop or a phone.

mod admin;
mod lists;
mod mail;
mod settings;
mod status;

pub use admin::{AccountRow, AdminPage, admin_page};
pub use lists::{unsubscribe_page, unsubscribed_page};
pub use mail::{
    FolderLink, FolderPage, ListRow, MessagePage, Origin, Sort, compose_page, encode, folder_page,
    human_size, message_page,
};
pub use settings::{SendersTyped, SettingsPage, settings_page};
pub use status::{InstanceRow, StatusPage, status_page};

use maud::{DOCTYPE, Markup, html};

/// The stylesheet, served at [`STYLESHEET_PATH`].
pub const STYLESHEET: &str = include_str!("postern.css");
pub const STYLESHEET_PATH: &str = "/static/postern.css";

/// Who is looking at a page of a logged-in session.
pub struct Viewer<'a> {
    pub login: &'a str,
    pub form_token: &'a str,
    pub admin: bool,
}

/// A notice at the top of a page: what just happened.
pub enum Notice<'a> {
    Done(&'a str),
    Problem(&'a str),
}

/// The frame of every page.
pub fn layout(
    title: &str,
    viewer: Option<&Viewer<'_>>,
    notice: Option<&Notice<'_>>,
    body: Markup,
) -> String {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="referrer" content="no-referrer";
                title { (title) " - Postern" }
                // No favicon: without this line browsers ask for
                // /favicon.ico on every visit and log its 404.
                link rel="icon" href="data:,";
                link rel="stylesheet" href=(STYLESHEET_PATH);
            }
            body {
                header.top {
                    a.brand href="/" { "Postern" }
                    @if let Some(viewer) = viewer {
                        nav {
                            a href="/folder?f=INBOX" { "Inbox" }
                            a href="/compose" { "Write" }
                            a href="/settings" { "Settings" }
                            @if viewer.admin { a href="/admin" { "Admin" } }
                            span.who { (viewer.login) }
                            form.inline method="post" action="/logout" {
                                (token_field(viewer.form_token))
                                button type="submit" { "Log out" }
                            }
                        }
                    }
                }
                @if let Some(notice) = notice {
                    @match notice {
                        Notice::Done(text) => p.notice.done role="status" { (text) },
                        Notice::Problem(text) => p.notice.problem role="alert" { (text) },
                    }
                }
                main { (body) }
            }
        }
    }
    .into_string()
}

/// The hidden field every form carries.
pub fn token_field(token: &str) -> Markup {
    html! { input type="hidden" name="token" value=(token); }
}

/// The login page. `form_token` pairs with the login cookie.
pub fn login_page(form_token: &str, login: &str, problem: Option<&str>) -> String {
    let notice = problem.map(Notice::Problem);
    layout(
        "Log in",
        None,
        notice.as_ref(),
        html! {
            form.login method="post" action="/login" {
                (token_field(form_token))
                label { "Address" input type="email" name="login" value=(login) autocomplete="username" required autofocus; }
                label { "Password" input type="password" name="password" autocomplete="current-password" required; }
                fieldset {
                    legend { "This computer is" }
                    label.choice { input type="radio" name="computer" value="personal" checked; " my own (stay logged in for up to 7 days)" }
                    label.choice { input type="radio" name="computer" value="shared"; " shared or public (log out after 15 idle minutes)" }
                }
                button type="submit" { "Log in" }
            }
        },
    )
}

/// A page that says what went wrong and where to go.
pub fn problem_page(title: &str, text: &str, viewer: Option<&Viewer<'_>>) -> String {
    layout(
        title,
        viewer,
        None,
        html! {
            h1 { (title) }
            p { (text) }
            p { a href="/" { "Back to the start" } }
        },
    )
}
