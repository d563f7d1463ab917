//! The HTTP service: one admitted connection served by hyper (HTTP/1.1,
//! keep-alive), requests routed by axum to the areas the instance serves
//! (webmail, status, metrics, admin).
//!
//! Who is logged in, what a page shows and what may be sent are
//! `postern_core::http`'s decisions; this module parses requests, reads
//! the store and writes responses. Every response carries a strict
//! Content-Security-Policy (no script at all, images only from here unless
//! the reader asked for a message's remote images), `nosniff`, no
//! framing and no referrer; webmail pages are never cached.

// Handlers leave early with a ready `Response` as their `Err`: built
// once per request and returned at once, its size does not matter.
#![allow(clippy::result_large_err)]

mod admin;
mod compose;
mod extract;
mod login;
mod settings;
mod status;
mod unsubscribe;
mod webmail;

use crate::driver::{Backend, Clock};
use axum::Router;
use axum::extract::{DefaultBodyLimit, Request};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use hyper_util::rt::{TokioIo, TokioTimer};
use postern_core::config::ServiceConfig;
use postern_core::http::Area;
use postern_core::http::pages::{self, Viewer};
use postern_core::http::session::{SESSION_COOKIE, Token, WebSession, WebSessions, cookie_value};
use postern_core::limits::{HTTP_FORM_BYTES_MAX, HTTP_HEADER_BYTES_MAX};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::watch;

/// What outlives one connection: the instance's webmail sessions. Kept
/// across configuration reloads, lost at restart (users log in again).
#[derive(Debug, Default)]
pub struct WebState {
    sessions: Mutex<WebSessions>,
    /// The session table's clock: one origin for the life of the state.
    clock: Clock,
}

impl WebState {
    fn sessions(&self) -> std::sync::MutexGuard<'_, WebSessions> {
        self.sessions.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn now(&self) -> postern_core::time::Instant {
        self.clock.now()
    }
}

/// One instance's settings, as the handlers need them.
#[derive(Clone, Debug)]
struct Settings {
    instance: String,
    hostname: String,
    serve: postern_core::http::Areas,
    /// HTTPS: cookies are `Secure`.
    secure: bool,
    max_message_size: u64,
    max_recipients: usize,
    failure_delay: Duration,
}

/// The state every handler gets.
struct App<M> {
    store: M,
    web: Arc<WebState>,
    settings: Arc<Settings>,
}

impl<M: Clone> Clone for App<M> {
    fn clone(&self) -> Self {
        App {
            store: self.store.clone(),
            web: Arc::clone(&self.web),
            settings: Arc::clone(&self.settings),
        }
    }
}

/// The connection a request came on.
#[derive(Clone, Copy, Debug)]
struct Peer {
    remote: SocketAddr,
    tls: bool,
    session: u64,
}

/// Serves one admitted connection until the client closes it, it idles
/// past `command_timeout`, it reaches `max_session_time`, or the server
/// stops (requests under way finish first).
#[allow(clippy::too_many_arguments)]
pub async fn serve_connection<S, M>(
    transport: S,
    remote: SocketAddr,
    tls: bool,
    service: &ServiceConfig,
    hostname: &str,
    web: Arc<WebState>,
    store: &M,
    mut ending: watch::Receiver<bool>,
    session: u64,
) where
    S: AsyncRead + AsyncWrite + Unpin,
    M: Backend,
{
    let settings = Arc::new(Settings {
        instance: service.name.clone(),
        hostname: hostname.to_owned(),
        serve: service.http.as_ref().map(|h| h.serve).unwrap_or_default(),
        secure: tls,
        max_message_size: service.max_message_size,
        max_recipients: service.max_recipients,
        failure_delay: service.auth.failure_delay,
    });
    let app = App {
        store: store.clone(),
        web,
        settings,
    };
    let peer = Peer {
        remote,
        tls,
        session,
    };
    let router = router(app).layer(axum::Extension(peer));
    let service_fn = hyper::service::service_fn(move |request: Request<hyper::body::Incoming>| {
        let router = router.clone();
        async move {
            use tower::ServiceExt as _;
            router.oneshot(request.map(axum::body::Body::new)).await
        }
    });
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(service.command_timeout)
        .max_buf_size(HTTP_HEADER_BYTES_MAX)
        .keep_alive(true);
    let connection = builder.serve_connection(TokioIo::new(transport), service_fn);
    tokio::pin!(connection);
    let deadline = tokio::time::sleep(service.max_session_time);
    tokio::pin!(deadline);
    let mut stopping = false;
    loop {
        tokio::select! {
            result = connection.as_mut() => {
                if let Err(error) = result {
                    tracing::debug!(session, peer = %remote, "HTTP connection ended: {error}");
                }
                return;
            }
            () = &mut deadline, if !stopping => {
                stopping = true;
                connection.as_mut().graceful_shutdown();
            }
            _ = ending.wait_for(|stop| *stop), if !stopping => {
                stopping = true;
                connection.as_mut().graceful_shutdown();
            }
        }
    }
}

fn router<M: Backend>(app: App<M>) -> Router {
    let serve = app.settings.serve;
    let mut router = Router::new().route(pages::STYLESHEET_PATH, get(stylesheet));
    if serve.takes_logins() {
        router = router.merge(login::login_routes());
    }
    if serve.contains(Area::Webmail) {
        router = router
            .merge(webmail::routes())
            .merge(settings::routes())
            .merge(compose::routes(app.settings.max_message_size));
    } else {
        router = router.route("/", get(front_without_webmail::<M>));
    }
    if serve.contains(Area::Admin) {
        router = router.merge(admin::routes());
    }
    if serve.contains(Area::Status) {
        router = router.merge(status::status_routes());
    }
    if serve.contains(Area::Metrics) {
        router = router.merge(status::metrics_routes());
    }
    if serve.contains(Area::Lists) {
        router = router.merge(unsubscribe::routes());
    }
    router
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(HTTP_FORM_BYTES_MAX))
        .layer(axum::middleware::map_response(security_headers))
        .with_state(app)
}

/// The front page of an instance without webmail: a list of what it
/// serves.
async fn front_without_webmail<M: Backend>(
    axum::extract::State(app): axum::extract::State<App<M>>,
) -> Html<String> {
    let links: Vec<(&str, &str)> = app
        .settings
        .serve
        .iter()
        .filter_map(|area| match area {
            Area::Status => Some(("/status", "Status")),
            Area::Metrics => Some(("/metrics", "Metrics")),
            Area::Admin => Some(("/admin", "Admin (log in as an admin)")),
            Area::Webmail | Area::Lists => None,
        })
        .collect();
    Html(pages::layout(
        &app.settings.hostname,
        None,
        None,
        maud::html! {
            h1 { (app.settings.hostname) }
            ul { @for (href, name) in &links { li { a href=(href) { (name) } } } }
        },
    ))
}

async fn stylesheet() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        pages::STYLESHEET,
    )
}

async fn not_found() -> Response {
    (
        StatusCode::NOT_FOUND,
        Html(pages::problem_page(
            "Not found",
            "There is no such page here.",
            None,
        )),
    )
        .into_response()
}

/// The Content-Security-Policy of every page: nothing runs, nothing is
/// fetched from elsewhere, forms post only here, no page is framed.
const CSP: &str = "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";
/// The same, with remote images allowed (a message whose reader asked).
const CSP_REMOTE_IMAGES: &str = "default-src 'none'; style-src 'self'; img-src 'self' data: https: http:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// Marks a response whose page may load remote images.
#[derive(Clone, Copy)]
struct RemoteImages;

async fn security_headers(mut response: Response) -> Response {
    let remote = response.extensions().get::<RemoteImages>().is_some();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(if remote { CSP_REMOTE_IMAGES } else { CSP }),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers
        .entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
    response
}

/// Draws a token from the operating system's random source.
fn random_token() -> Token {
    use argon2::password_hash::rand_core::{OsRng, RngCore};
    let mut bytes = [0u8; postern_core::http::session::TOKEN_BYTES];
    OsRng.fill_bytes(&mut bytes);
    Token::from_bytes(bytes)
}

/// The session a request's cookie names, if it is live.
fn session_of<M>(app: &App<M>, headers: &HeaderMap) -> Option<(Token, WebSession)> {
    let cookies = headers.get(header::COOKIE)?.to_str().ok()?;
    let name = Token::parse(cookie_value(cookies, SESSION_COOKIE)?)?;
    let now = app.web.now();
    let session = app.web.sessions().find(&name, now)?.clone();
    Some((name, session))
}

/// True unless the request says it comes from another site
/// (`postern_core::http::origin` decides from its `Origin`,
/// `Sec-Fetch-Site` and `Host`).
fn same_origin(headers: &HeaderMap) -> bool {
    // A header that is not text is refused as if it named another site.
    let (Ok(origin), Ok(fetch_site), Ok(host)) = (
        header_text(headers, "origin"),
        header_text(headers, "sec-fetch-site"),
        header_text(headers, "host"),
    ) else {
        return false;
    };
    postern_core::http::origin::form_from_this_site(origin, fetch_site, host)
}

/// A header's value as text: `Ok(None)` when absent, `Err` when not text.
fn header_text<'a>(headers: &'a HeaderMap, name: &str) -> Result<Option<&'a str>, ()> {
    headers
        .get(name)
        .map(|value| value.to_str().map_err(|_| ()))
        .transpose()
}

fn forbidden_form() -> Response {
    (
        StatusCode::FORBIDDEN,
        Html(pages::problem_page(
            "Form refused",
            "This form did not come from this webmail page, or it is too old. Go back, reload the page and try again.",
            None,
        )),
    )
        .into_response()
}

/// A page for something the store could not do.
fn store_failure(what: &str, error: &dyn std::fmt::Display, viewer: &Viewer<'_>) -> Response {
    tracing::warn!(login = %viewer.login, "webmail: {what}: {error}");
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        Html(pages::problem_page(
            "Something went wrong",
            &format!("{what}. The server's log says why; try again in a moment."),
            Some(viewer),
        )),
    )
        .into_response()
}
