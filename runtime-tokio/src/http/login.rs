//! Logging in and out, for the webmail and the admin area: the login
//! form (its token paired with a cookie of its own), the password check
//! through the accounts (the failure delay and the lockout every protocol
//! shares), the session and its cookie, and logout.

use super::extract::LoggedIn;
use super::{App, Peer, forbidden_form, random_token};
use crate::driver::Backend;
use axum::extract::{Form, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Extension, Router};
use postern_core::auth::{AuthVerdict, LoginAttempt, Secret};
use postern_core::http::pages;
use postern_core::http::session::{
    Computer, LOGIN_COOKIE, SESSION_COOKIE, Token, clear_cookie, cookie_value, session_cookie,
    set_cookie,
};
use serde::Deserialize;

/// Logging in and out: for webmail, and for the admin area.
pub(super) fn login_routes<M: Backend>() -> Router<App<M>> {
    Router::new()
        .route("/login", get(login_form::<M>).post(login::<M>))
        .route("/logout", post(logout::<M>))
}

/// The login page, with a fresh login-form token paired with a cookie.
fn login_response(
    secure: bool,
    login: &str,
    problem: Option<&str>,
    status: StatusCode,
) -> Response {
    let token = random_token().text();
    (
        status,
        [(
            header::SET_COOKIE,
            set_cookie(LOGIN_COOKIE, &token, secure, None),
        )],
        Html(pages::login_page(&token, login, problem)),
    )
        .into_response()
}

async fn login_form<M: Backend>(State(app): State<App<M>>, headers: HeaderMap) -> Response {
    if super::session_of(&app, &headers).is_some() {
        return Redirect::to(home(&app)).into_response();
    }
    login_response(app.settings.secure, "", None, StatusCode::OK)
}

/// Where a logged-in user starts: the INBOX, or the admin area on an
/// instance without webmail.
fn home<M>(app: &App<M>) -> &'static str {
    if app
        .settings
        .serve
        .contains(postern_core::http::Area::Webmail)
    {
        "/folder?f=INBOX"
    } else {
        "/admin"
    }
}

#[derive(Deserialize)]
struct LoginForm {
    token: String,
    login: String,
    password: String,
    computer: Option<String>,
}

async fn login<M: Backend>(
    State(app): State<App<M>>,
    Extension(peer): Extension<Peer>,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Response {
    let secure = app.settings.secure;
    let paired = headers
        .get(header::COOKIE)
        .and_then(|c| c.to_str().ok())
        .and_then(|c| cookie_value(c, LOGIN_COOKIE))
        .and_then(Token::parse)
        .is_some_and(|expected| expected.matches(&form.token));
    if !paired || !super::same_origin(&headers) {
        return forbidden_form();
    }
    let computer = match form.computer.as_deref() {
        Some("shared") => Computer::Shared,
        _ => Computer::Personal,
    };
    let attempt = LoginAttempt::new(form.login.trim(), Secret::new(form.password));
    let client = peer.remote.ip();
    let session = peer.session;
    let shown = form.login.trim().to_owned();
    let verdict = app.store.authenticate(attempt, client).await;
    crate::metrics::global().login_verdict(crate::metrics::LoginProtocol::Http, &verdict);
    match verdict {
        AuthVerdict::Accepted(identity) => {
            let name = random_token();
            let admin = app.store.is_admin(&identity.login);
            let login = identity.login.clone();
            let now = app.web.now();
            app.web
                .sessions()
                .open(name, random_token(), identity, admin, computer, now);
            let kind = match computer {
                Computer::Personal => "personal",
                Computer::Shared => "shared",
            };
            tracing::info!(session, peer = %peer.remote, instance = %app.settings.instance, "webmail login: {login} ({kind} computer)");
            let mut response = Redirect::to(home(&app)).into_response();
            let cookies = response.headers_mut();
            for cookie in [
                session_cookie(&name, computer, secure),
                clear_cookie(LOGIN_COOKIE, secure),
            ] {
                if let Ok(value) = cookie.parse() {
                    cookies.append(header::SET_COOKIE, value);
                }
            }
            response
        }
        AuthVerdict::Rejected => {
            tracing::info!(session, peer = %peer.remote, "webmail login failed: {}", shown.escape_debug());
            tokio::time::sleep(app.settings.failure_delay).await;
            login_response(
                secure,
                &shown,
                Some("Wrong address or password."),
                StatusCode::FORBIDDEN,
            )
        }
        AuthVerdict::LockedOut => {
            tokio::time::sleep(app.settings.failure_delay).await;
            login_response(
                secure,
                &shown,
                Some("Too many failed logins from your address: try again later."),
                StatusCode::TOO_MANY_REQUESTS,
            )
        }
        AuthVerdict::Unavailable => login_response(
            secure,
            &shown,
            Some("Logins are not possible right now: try again in a moment."),
            StatusCode::SERVICE_UNAVAILABLE,
        ),
    }
}

#[derive(Deserialize)]
struct TokenForm {
    token: String,
}

async fn logout<M: Backend>(
    State(app): State<App<M>>,
    user: LoggedIn,
    Form(form): Form<TokenForm>,
) -> Response {
    if let Err(response) = user.check_form(&form.token) {
        return response;
    }
    app.web.sessions().close(&user.name);
    tracing::info!(instance = %app.settings.instance, "webmail logout: {}", user.session.login());
    let mut response = Redirect::to("/login").into_response();
    if let Ok(value) = clear_cookie(SESSION_COOKIE, app.settings.secure).parse() {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}
