//! The account's own settings: changing the password.

use super::{App, LoggedIn, Peer};
use crate::driver::Backend;
use axum::extract::{Form, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Extension, Router};
use postern_core::accounts::check_new_password;
use postern_core::auth::{AuthVerdict, LoginAttempt, Secret};
use postern_core::http::pages::{self, Notice, SettingsPage};
use postern_core::limits::PASSWORD_CHARS_MIN;
use serde::Deserialize;

pub(super) fn routes<M: Backend>() -> Router<App<M>> {
    Router::new()
        .route("/settings", get(settings::<M>))
        .route("/settings/password", post(change_password::<M>))
}

fn page(user: &LoggedIn, notice: Option<&Notice<'_>>) -> String {
    pages::settings_page(
        &user.viewer(),
        &SettingsPage {
            password_min: PASSWORD_CHARS_MIN,
        },
        notice,
    )
}

async fn settings<M: Backend>(State(app): State<App<M>>, headers: HeaderMap) -> Response {
    match LoggedIn::of(&app, &headers) {
        Ok(user) => Html(page(&user, None)).into_response(),
        Err(response) => response,
    }
}

#[derive(Deserialize)]
struct PasswordForm {
    token: String,
    current: String,
    new: String,
    repeat: String,
}

/// Changes the password after checking the current one (a stolen
/// session alone cannot), then ends the account's other webmail sessions.
async fn change_password<M: Backend>(
    State(app): State<App<M>>,
    Extension(peer): Extension<Peer>,
    headers: HeaderMap,
    Form(form): Form<PasswordForm>,
) -> Response {
    let user = match LoggedIn::of(&app, &headers) {
        Ok(user) => user,
        Err(response) => return response,
    };
    if let Err(response) = user.check_form(&form.token, &headers) {
        return response;
    }
    let problem = |text: &str, status: StatusCode| {
        (status, Html(page(&user, Some(&Notice::Problem(text))))).into_response()
    };
    if let Err(why) = check_new_password(&form.new, &form.repeat) {
        return problem(
            &format!("Not changed: {why}."),
            StatusCode::UNPROCESSABLE_ENTITY,
        );
    }
    let login = user.session.login().to_owned();
    let attempt = LoginAttempt::new(login.clone(), Secret::new(form.current));
    match app.store.authenticate(attempt, peer.remote.ip()).await {
        AuthVerdict::Accepted(_) => {}
        AuthVerdict::Rejected => {
            tokio::time::sleep(app.settings.failure_delay).await;
            return problem(
                "Not changed: the current password is wrong.",
                StatusCode::FORBIDDEN,
            );
        }
        AuthVerdict::LockedOut => {
            return problem(
                "Not changed: too many failed logins from your address; try again later.",
                StatusCode::TOO_MANY_REQUESTS,
            );
        }
        AuthVerdict::Unavailable => {
            return problem(
                "Not changed: the accounts cannot be read right now.",
                StatusCode::SERVICE_UNAVAILABLE,
            );
        }
    }
    if let Err(error) = app.store.change_password(&login, &form.new).await {
        tracing::error!("webmail: the password of {login} could not be changed: {error}");
        return problem(
            "Not changed: the server could not save it. Try again in a moment.",
            StatusCode::INTERNAL_SERVER_ERROR,
        );
    }
    let ended = app.web.sessions().close_others(&login, Some(&user.name));
    tracing::info!(session = peer.session, instance = %app.settings.instance, "webmail: {login} changed the password; {ended} other webmail sessions ended");
    Redirect::to("/folder?f=INBOX&done=password").into_response()
}
