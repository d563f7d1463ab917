//! The account's own settings: the password (and, with the delivery
//! rules, forwarding and the vacation reply).

use super::{Notice, Viewer, layout, token_field};
use maud::html;

/// What the settings page shows.
pub struct SettingsPage {
    /// The shortest password accepted.
    pub password_min: usize,
}

pub fn settings_page(
    viewer: &Viewer<'_>,
    page: &SettingsPage,
    notice: Option<&Notice<'_>>,
) -> String {
    let body = html! {
        h1 { "Settings" }
        section {
            h2 { "Password" }
            form.settings method="post" action="/settings/password" {
                (token_field(viewer.form_token))
                // Whose password this is, for the browser's password
                // manager (Chromium warns of a password form without one).
                input type="text" name="username" autocomplete="username" value=(viewer.login) hidden readonly;
                label { "Current password" input type="password" name="current" autocomplete="current-password" required; }
                label { "New password (at least " (page.password_min) " characters)" input type="password" name="new" autocomplete="new-password" minlength=(page.password_min) required; }
                label { "New password again" input type="password" name="repeat" autocomplete="new-password" minlength=(page.password_min) required; }
                button type="submit" { "Change password" }
            }
            p.meta { "Changing it logs out every other browser and mail program using the old one at its next login." }
        }
    };
    layout("Settings", Some(viewer), notice, body)
}
