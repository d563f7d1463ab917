//! The admin area: the queue (as `postern queue list` shows it, with
//! flush and delete) and the accounts (add, reset a password, disable,
//! enable).

use super::{Notice, Viewer, layout, token_field};
use maud::html;

/// One account in the admin list.
pub struct AccountRow {
    pub login: String,
    pub admin: bool,
    pub disabled: bool,
}

/// What the admin page shows.
pub struct AdminPage<'a> {
    /// The queue table, as `postern queue list` writes it.
    pub queue: &'a str,
    pub accounts: &'a [AccountRow],
}

pub fn admin_page(
    viewer: &Viewer<'_>,
    page: &AdminPage<'_>,
    notice: Option<&Notice<'_>>,
) -> String {
    let token = token_field(viewer.form_token);
    let body = html! {
        h1 { "Admin" }
        section {
            h2 { "Queue" }
            pre.queue { (page.queue) }
            div.actions {
                form.inline method="post" action="/admin/queue/flush" {
                    (token)
                    button type="submit" { "Retry everything now" }
                }
                form.inline method="post" action="/admin/queue/delete" {
                    (token)
                    input type="text" name="id" placeholder="Queue ID" aria-label="Queue ID" pattern="[0-9A-Z]{13}" required;
                    button.danger type="submit" { "Delete message" }
                }
            }
        }
        section {
            h2 { "Accounts" }
            table.status {
                thead { tr { th { "Account" } th { "Role" } th { "State" } th { "Actions" } } }
                tbody {
                    @for account in page.accounts {
                        tr {
                            td { (account.login) }
                            td { @if account.admin { "admin" } @else { "user" } }
                            td { @if account.disabled { "disabled" } @else { "active" } }
                            td {
                                form.inline method="post" action="/admin/users/disabled" {
                                    (token)
                                    input type="hidden" name="login" value=(account.login);
                                    @if account.disabled {
                                        button type="submit" name="state" value="off" { "Enable" }
                                    } @else {
                                        button type="submit" name="state" value="on" { "Disable" }
                                    }
                                }
                                form.inline method="post" action="/admin/users/password" {
                                    (token)
                                    input type="hidden" name="login" value=(account.login);
                                    input type="password" name="password" placeholder="New password" aria-label={ "New password for " (account.login) } autocomplete="new-password" required;
                                    button type="submit" { "Reset password" }
                                }
                            }
                        }
                    }
                }
            }
            h3 { "Add an account" }
            form.settings method="post" action="/admin/users/add" {
                (token)
                label { "Address" input type="email" name="login" required; }
                label { "Password" input type="password" name="password" autocomplete="new-password" required; }
                label.choice { input type="checkbox" name="admin" value="on"; " Admin" }
                button type="submit" { "Add" }
            }
        }
    };
    layout("Admin", Some(viewer), notice, body)
}
