//! Who a request comes from, as axum extractors, so that a handler names
//! what it needs in its arguments: [`LoggedIn`] (a live webmail session,
//! or a redirect to the login page), [`Reader`] (with the mailbox the
//! login resolves to: the only one it may read) and [`AdminUser`] (an
//! account that is an admin now, with the data directory).

use super::{App, forbidden_form, same_origin, session_of};
use crate::driver::Backend;
use axum::extract::FromRequestParts;
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{Html, IntoResponse, Redirect, Response};
use postern_core::envelope::LocalMailbox;
use postern_core::http::pages::{self, Viewer};
use postern_core::http::session::{Token, WebSession};
use std::path::PathBuf;

/// A request of a logged-in session.
pub(super) struct LoggedIn {
    /// The session's name (its cookie).
    pub name: Token,
    pub session: WebSession,
    pub form_token: String,
    /// The request does not say it comes from another site (see
    /// `postern_core::http::origin`).
    same_site: bool,
}

impl<M: Backend> FromRequestParts<App<M>> for LoggedIn {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, app: &App<M>) -> Result<Self, Response> {
        let (name, session) = session_of(app, &parts.headers)
            .ok_or_else(|| Redirect::to("/login").into_response())?;
        Ok(LoggedIn {
            form_token: session.form_token.text(),
            name,
            session,
            same_site: same_origin(&parts.headers),
        })
    }
}

impl LoggedIn {
    pub fn viewer(&self) -> Viewer<'_> {
        Viewer {
            login: self.session.login(),
            form_token: &self.form_token,
            admin: self.session.admin,
        }
    }

    /// Refuses a form without this session's token, or posted from
    /// another site.
    pub fn check_form(&self, token: &str) -> Result<(), Response> {
        if !self.session.form_token.matches(token) || !self.same_site {
            return Err(forbidden_form());
        }
        Ok(())
    }
}

/// A logged-in request with its mailbox.
pub(super) struct Reader {
    pub user: LoggedIn,
    pub mailbox: LocalMailbox,
}

impl<M: Backend> FromRequestParts<App<M>> for Reader {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, app: &App<M>) -> Result<Self, Response> {
        let user = LoggedIn::from_request_parts(parts, app).await?;
        match super::webmail::mailbox_of(&app.store, user.session.login()) {
            Some(mailbox) => Ok(Reader { user, mailbox }),
            None => Err((
                StatusCode::NOT_FOUND,
                Html(pages::problem_page(
                    "No mailbox",
                    "This account has no mailbox on this server.",
                    Some(&user.viewer()),
                )),
            )
                .into_response()),
        }
    }
}

/// A logged-in request of an account that is an admin (checked again at
/// every request), with the files backend's data directory.
pub(super) struct AdminUser {
    pub user: LoggedIn,
    pub data_dir: PathBuf,
}

impl<M: Backend> FromRequestParts<App<M>> for AdminUser {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, app: &App<M>) -> Result<Self, Response> {
        let user = LoggedIn::from_request_parts(parts, app).await?;
        let refusal = |title: &str, text: &str, status: StatusCode| {
            (
                status,
                Html(pages::problem_page(title, text, Some(&user.viewer()))),
            )
                .into_response()
        };
        if !app.store.is_admin(user.session.login()) {
            return Err(refusal(
                "Admins only",
                "This account is not an admin.",
                StatusCode::FORBIDDEN,
            ));
        }
        let Some(data_dir) = app.store.data_dir() else {
            return Err(refusal(
                "No admin area",
                "This server keeps no files to administer.",
                StatusCode::NOT_FOUND,
            ));
        };
        Ok(AdminUser { user, data_dir })
    }
}
