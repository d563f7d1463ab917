//! The admin area, for accounts marked admin, on instances that serve it:
//! the queue (list, retry now, delete) and the accounts (add, reset a
//! password, disable, enable). Each request checks again that the account
//! is still an admin; every change is logged with who made it.
//!
//! It works on the files backend's data directory (the same code as
//! `postern queue` and `postern user`, through the control socket where
//! the running server must do the work); on a node of the postgres
//! backend, on the shared queue and accounts, as those commands do there.

use super::App;
use super::extract::AdminUser;
use crate::driver::Backend;
use axum::Router;
use axum::extract::{Form, Query, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use postern_core::envelope::QueueId;
use postern_core::http::pages::{self, AccountRow, AdminPage, Notice};
use serde::Deserialize;

pub(super) fn routes<M: Backend>() -> Router<App<M>> {
    Router::new()
        .route("/admin", get(admin::<M>))
        .route("/admin/queue/flush", post(flush::<M>))
        .route("/admin/queue/delete", post(delete::<M>))
        .route("/admin/users/add", post(add_user::<M>))
        .route("/admin/users/password", post(reset_password::<M>))
        .route("/admin/users/disabled", post(set_disabled::<M>))
}

/// Runs blocking file work (argon2 hashing, the control socket) off the
/// session's thread.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, String> + Send + 'static,
) -> Result<T, String> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| format!("the work stopped: {e}"))?
}

/// Where the backend keeps the accounts (the data directory's file when
/// it does not say).
fn accounts_at<M: Backend>(
    app: &App<M>,
    data_dir: &std::path::Path,
) -> crate::accounts::AccountsAt {
    app.store
        .accounts_at()
        .unwrap_or_else(|| crate::accounts::AccountsAt::Files(data_dir.to_owned()))
}

#[derive(Deserialize)]
struct AdminQuery {
    done: Option<String>,
    problem: Option<String>,
}

async fn admin<M: Backend>(
    State(app): State<App<M>>,
    AdminUser { user, data_dir }: AdminUser,
    Query(query): Query<AdminQuery>,
) -> Response {
    let queue = match app.store.database_queue() {
        Some(queue) => crate::queue_command_shared::list(&queue)
            .await
            .map_err(|error| error.to_string()),
        None => {
            let dir = data_dir.clone();
            blocking(move || crate::queue_command::list(&dir)).await
        }
    }
    .unwrap_or_else(|error| format!("the queue cannot be listed: {error}"));
    let accounts = accounts_at(&app, &data_dir)
        .read()
        .await
        .map(|accounts| {
            accounts
                .iter()
                .map(|a| AccountRow {
                    login: a.login.clone(),
                    admin: a.admin,
                    disabled: a.disabled,
                })
                .collect::<Vec<_>>()
        })
        .unwrap_or_default();
    let notice = match (&query.done, &query.problem) {
        (_, Some(problem)) => Some(Notice::Problem(problem.as_str())),
        (Some(done), None) => Some(Notice::Done(done.as_str())),
        (None, None) => None,
    };
    Html(pages::admin_page(
        &user.viewer(),
        &AdminPage {
            queue: &queue,
            accounts: &accounts,
        },
        notice.as_ref(),
    ))
    .into_response()
}

/// Back to the admin page, saying what happened.
fn outcome(result: Result<String, String>) -> Response {
    let (key, text) = match result {
        Ok(text) => ("done", text),
        Err(text) => ("problem", text),
    };
    Redirect::to(&format!("/admin?{key}={}", pages::encode(&text))).into_response()
}

#[derive(Deserialize)]
struct TokenForm {
    token: String,
}

async fn flush<M: Backend>(
    State(app): State<App<M>>,
    AdminUser { user, data_dir }: AdminUser,
    Form(form): Form<TokenForm>,
) -> Response {
    if let Err(response) = user.check_form(&form.token) {
        return response;
    }
    let result = match app.store.database_queue() {
        Some(queue) => crate::queue_command_shared::flush(&queue).await,
        None => blocking(move || crate::queue_command::flush(&data_dir)).await,
    };
    tracing::info!(instance = %app.settings.instance, "admin {}: queue flush: {result:?}", user.session.login());
    outcome(result)
}

#[derive(Deserialize)]
struct DeleteForm {
    token: String,
    id: String,
}

async fn delete<M: Backend>(
    State(app): State<App<M>>,
    AdminUser { user, data_dir }: AdminUser,
    Form(form): Form<DeleteForm>,
) -> Response {
    if let Err(response) = user.check_form(&form.token) {
        return response;
    }
    let Ok(id) = form.id.trim().parse::<QueueId>() else {
        return outcome(Err(format!("{:?} is not a queue ID", form.id.trim())));
    };
    let result = match app.store.database_queue() {
        Some(queue) => crate::queue_command_shared::delete(&queue, id).await,
        None => blocking(move || crate::queue_command::delete(&data_dir, id)).await,
    };
    tracing::info!(instance = %app.settings.instance, queue_id = %id, "admin {}: delete {id}: {result:?}", user.session.login());
    outcome(result)
}

#[derive(Deserialize)]
struct UserForm {
    token: String,
    login: String,
    password: Option<String>,
    admin: Option<String>,
    state: Option<String>,
}

async fn add_user<M: Backend>(
    State(app): State<App<M>>,
    AdminUser { user, data_dir }: AdminUser,
    Form(form): Form<UserForm>,
) -> Response {
    if let Err(response) = user.check_form(&form.token) {
        return response;
    }
    let password = form.password.unwrap_or_default();
    if let Err(why) = postern_core::accounts::check_new_password(&password, &password) {
        return outcome(Err(format!("not added: {why}")));
    }
    let (login, admin) = (form.login, form.admin.as_deref() == Some("on"));
    let at = accounts_at(&app, &data_dir);
    let result = crate::accounts::add(&at, &login, &password, false, admin).await;
    tracing::info!(instance = %app.settings.instance, "admin {}: {result:?}", user.session.login());
    outcome(result)
}

async fn reset_password<M: Backend>(
    State(app): State<App<M>>,
    AdminUser { user, data_dir }: AdminUser,
    Form(form): Form<UserForm>,
) -> Response {
    if let Err(response) = user.check_form(&form.token) {
        return response;
    }
    let password = form.password.unwrap_or_default();
    if let Err(why) = postern_core::accounts::check_new_password(&password, &password) {
        return outcome(Err(format!("not changed: {why}")));
    }
    let login = form.login.clone();
    let at = accounts_at(&app, &data_dir);
    let result = crate::accounts::set_password(&at, &login, &password).await;
    if result.is_ok() {
        app.web
            .sessions()
            .close_others(&form.login.to_lowercase(), None);
    }
    tracing::info!(instance = %app.settings.instance, "admin {}: {result:?}", user.session.login());
    outcome(result)
}

async fn set_disabled<M: Backend>(
    State(app): State<App<M>>,
    AdminUser { user, data_dir }: AdminUser,
    Form(form): Form<UserForm>,
) -> Response {
    if let Err(response) = user.check_form(&form.token) {
        return response;
    }
    let disabled = form.state.as_deref() == Some("on");
    let login = form.login.clone();
    let at = accounts_at(&app, &data_dir);
    let result = crate::accounts::set_disabled(&at, &login, disabled).await;
    if result.is_ok() && disabled {
        // Its webmail sessions end at once; other protocols' at their
        // next login.
        app.web
            .sessions()
            .close_others(&form.login.to_lowercase(), None);
    }
    tracing::info!(instance = %app.settings.instance, "admin {}: {result:?}", user.session.login());
    outcome(result)
}
