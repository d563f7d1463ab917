//! `/lists/unsubscribe/TOKEN`: the one-click unsubscribe of RFC 8058. A
//! `GET` (a person following the link, or a scanner previewing it) only
//! shows a button; the `POST` (the button, or the mail client's
//! `List-Unsubscribe=One-Click`) unsubscribes. The POST is meant to come
//! from other sites, so it needs no session and no same-origin check:
//! the token, a secret only that member's copies carry, is the
//! authority. A token that is no 32-hex-digit token is not looked up.

use super::App;
use crate::driver::Backend;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use postern_core::http::pages;

pub(super) fn routes<M: Backend>() -> Router<App<M>> {
    Router::new().route(
        "/lists/unsubscribe/{token}",
        get(confirm_page::<M>).post(unsubscribe::<M>),
    )
}

fn is_token(text: &str) -> bool {
    text.len() == 32 && text.bytes().all(|b| b.is_ascii_hexdigit())
}

async fn confirm_page<M: Backend>(
    State(app): State<App<M>>,
    Path(token): Path<String>,
) -> Response {
    if !is_token(&token) {
        return gone(&app);
    }
    let path = format!("/lists/unsubscribe/{}", token.to_ascii_lowercase());
    Html(pages::unsubscribe_page(&app.settings.hostname, &path)).into_response()
}

async fn unsubscribe<M: Backend>(State(app): State<App<M>>, Path(token): Path<String>) -> Response {
    if !is_token(&token) {
        return gone(&app);
    }
    match app
        .store
        .unsubscribe_list_member(&token.to_ascii_lowercase())
        .await
    {
        Ok(Some((list, member))) => {
            tracing::info!(%list, %member, "{member} unsubscribed from {list} by the one-click link (RFC 8058)");
            Html(pages::unsubscribed_page(
                &app.settings.hostname,
                Some((&list, &member)),
            ))
            .into_response()
        }
        Ok(None) => gone(&app),
        Err(error) => {
            tracing::error!(%error, "one-click unsubscribe failed: {error}");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "The list could not be changed; try again later.\n",
            )
                .into_response()
        }
    }
}

fn gone<M>(app: &App<M>) -> Response {
    (
        StatusCode::NOT_FOUND,
        Html(pages::unsubscribed_page(&app.settings.hostname, None)),
    )
        .into_response()
}
