//! The account's own settings: the password, and the mailbox's
//! forwarding and vacation reply (the rules of `postern_core::autoreply`,
//! kept by the store), and its allow and block lists of senders.

use super::extract::LoggedIn;
use super::webmail::mailbox_of;
use super::{App, Peer};
use crate::driver::Backend;
use axum::extract::{Form, Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Extension, Router};
use postern_core::accounts::check_new_password;
use postern_core::auth::{AuthVerdict, LoginAttempt, Secret};
use postern_core::autoreply::{Forwarding, MailboxRules, Vacation};
use postern_core::envelope::LocalMailbox;
use postern_core::http::pages::{self, Notice, SendersTyped, SettingsPage};
use postern_core::limits::PASSWORD_CHARS_MIN;
use postern_core::limits::VACATION_DAYS_DEFAULT;
use postern_core::lists::HeldPost;
use postern_core::spam::SenderLists;
use serde::Deserialize;

pub(super) fn routes<M: Backend>() -> Router<App<M>> {
    Router::new()
        .route("/settings", get(settings::<M>))
        .route("/settings/password", post(change_password::<M>))
        .route("/settings/forward", post(save_forward::<M>))
        .route("/settings/vacation", post(save_vacation::<M>))
        .route("/settings/senders", post(save_senders::<M>))
        .route("/settings/moderate", post(moderate::<M>))
}

fn page(
    user: &LoggedIn,
    rules: Option<&MailboxRules>,
    held: &[HeldPost],
    notice: Option<&Notice<'_>>,
) -> String {
    pages::settings_page(
        &user.viewer(),
        &SettingsPage {
            password_min: PASSWORD_CHARS_MIN,
            rules,
            held,
            senders_typed: None,
        },
        notice,
    )
}

/// The user's mailbox and its settings, if it has a mailbox here.
async fn rules_of<M: Backend>(
    app: &App<M>,
    user: &LoggedIn,
) -> Option<(LocalMailbox, Result<MailboxRules, String>)> {
    let mailbox = mailbox_of(&app.store, user.session.login())?;
    let rules = app.store.mailbox_rules(&mailbox).await;
    Some((mailbox, rules))
}

#[derive(Deserialize)]
struct SettingsQuery {
    done: Option<String>,
}

async fn settings<M: Backend>(
    State(app): State<App<M>>,
    user: LoggedIn,
    Query(query): Query<SettingsQuery>,
) -> Response {
    let done = match query.done.as_deref() {
        Some("forward") => Some(Notice::Done("Forwarding saved.")),
        Some("vacation") => Some(Notice::Done("Vacation reply saved.")),
        Some("senders") => Some(Notice::Done("Allowed and blocked senders saved.")),
        Some("moderated") => Some(Notice::Done(
            "Your answer went to the list; the post leaves the list below once the list has it.",
        )),
        _ => None,
    };
    let held = app.store.held_posts(user.session.login()).await;
    match rules_of(&app, &user).await {
        Some((_, Ok(rules))) => {
            Html(page(&user, Some(&rules), &held, done.as_ref())).into_response()
        }
        Some((_, Err(error))) => {
            tracing::warn!(
                "webmail: the settings of {} cannot be read: {error}",
                user.session.login()
            );
            let problem =
                Notice::Problem("The forwarding and vacation settings cannot be read just now.");
            Html(page(&user, None, &held, Some(&problem))).into_response()
        }
        None => Html(page(&user, None, &held, done.as_ref())).into_response(),
    }
}

#[derive(Deserialize)]
struct ForwardForm {
    token: String,
    to: String,
    keep: Option<String>,
}

async fn save_forward<M: Backend>(
    State(app): State<App<M>>,
    user: LoggedIn,
    Form(form): Form<ForwardForm>,
) -> Response {
    if let Err(response) = user.check_form(&form.token) {
        return response;
    }
    let Some((mailbox, Ok(mut rules))) = rules_of(&app, &user).await else {
        return Redirect::to("/settings").into_response();
    };
    let to: Vec<String> = form
        .to
        .split([',', ';', ' ', '\n'])
        .map(str::trim)
        .filter(|a| !a.is_empty())
        .map(str::to_owned)
        .collect();
    rules.forward = (!to.is_empty()).then(|| Forwarding {
        to,
        keep: form.keep.as_deref() == Some("on"),
    });
    saved(&app, &user, &mailbox, rules, "forward").await
}

#[derive(Deserialize)]
struct VacationForm {
    token: String,
    enabled: Option<String>,
    subject: String,
    body: String,
    days: Option<String>,
    start: Option<String>,
    end: Option<String>,
}

async fn save_vacation<M: Backend>(
    State(app): State<App<M>>,
    user: LoggedIn,
    Form(form): Form<VacationForm>,
) -> Response {
    if let Err(response) = user.check_form(&form.token) {
        return response;
    }
    let Some((mailbox, Ok(mut rules))) = rules_of(&app, &user).await else {
        return Redirect::to("/settings").into_response();
    };
    let enabled = form.enabled.as_deref() == Some("on");
    let optional =
        |text: Option<String>| text.map(|t| t.trim().to_owned()).filter(|t| !t.is_empty());
    let body = form.body.replace("\r\n", "\n");
    rules.vacation = if !enabled && body.trim().is_empty() {
        None
    } else {
        Some(Vacation {
            enabled,
            subject: optional(Some(form.subject)),
            body,
            days: match optional(form.days) {
                Some(days) => days.parse().unwrap_or(0),
                None => VACATION_DAYS_DEFAULT,
            },
            start: optional(form.start),
            end: optional(form.end),
        })
    };
    saved(&app, &user, &mailbox, rules, "vacation").await
}

#[derive(Deserialize)]
struct SendersForm {
    token: String,
    allow: String,
    block: String,
    blocked: String,
}

async fn save_senders<M: Backend>(
    State(app): State<App<M>>,
    user: LoggedIn,
    Form(form): Form<SendersForm>,
) -> Response {
    if let Err(response) = user.check_form(&form.token) {
        return response;
    }
    let Some((mailbox, Ok(mut rules))) = rules_of(&app, &user).await else {
        return Redirect::to("/settings").into_response();
    };
    match SenderLists::from_form(&form.allow, &form.block, &form.blocked) {
        Ok(lists) => {
            rules.senders = Some(lists);
            saved(&app, &user, &mailbox, rules, "senders").await
        }
        Err(why) => {
            let text = format!("Not saved: {why}.");
            let shown = pages::settings_page(
                &user.viewer(),
                &SettingsPage {
                    password_min: PASSWORD_CHARS_MIN,
                    rules: Some(&rules),
                    held: &[],
                    senders_typed: Some(SendersTyped {
                        allow: &form.allow,
                        block: &form.block,
                        blocked: &form.blocked,
                    }),
                },
                Some(&Notice::Problem(&text)),
            );
            (StatusCode::UNPROCESSABLE_ENTITY, Html(shown)).into_response()
        }
    }
}

/// Keeps the settings (checked by core); on a refusal the page says why.
async fn saved<M: Backend>(
    app: &App<M>,
    user: &LoggedIn,
    mailbox: &LocalMailbox,
    rules: MailboxRules,
    what: &str,
) -> Response {
    match app.store.save_mailbox_rules(mailbox, rules.clone()).await {
        Ok(_) => {
            tracing::info!(instance = %app.settings.instance, "webmail: {} saved the {what} settings", user.session.login());
            Redirect::to(&format!("/settings?done={what}")).into_response()
        }
        Err(why) => {
            let text = format!("Not saved: {why}.");
            (
                StatusCode::UNPROCESSABLE_ENTITY,
                Html(page(user, Some(&rules), &[], Some(&Notice::Problem(&text)))),
            )
                .into_response()
        }
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
    user: LoggedIn,
    Form(form): Form<PasswordForm>,
) -> Response {
    if let Err(response) = user.check_form(&form.token) {
        return response;
    }
    let rules = match rules_of(&app, &user).await {
        Some((_, Ok(rules))) => Some(rules),
        _ => None,
    };
    let problem = |text: &str, status: StatusCode| {
        (
            status,
            Html(page(
                &user,
                rules.as_ref(),
                &[],
                Some(&Notice::Problem(text)),
            )),
        )
            .into_response()
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

#[derive(Deserialize)]
struct ModerateForm {
    token: String,
    list: String,
    post: String,
    action: String,
}

/// A moderator's answer to a held post: `approve TOKEN` or `reject
/// TOKEN` mailed from them to the list's request address, as a reply to
/// its request would be, so the list's own rules and log take it.
async fn moderate<M: Backend>(
    State(app): State<App<M>>,
    user: LoggedIn,
    Extension(peer): Extension<Peer>,
    Form(form): Form<ModerateForm>,
) -> Response {
    if let Err(response) = user.check_form(&form.token) {
        return response;
    }
    let login = user.session.login();
    let approve = match form.action.as_str() {
        "approve" => true,
        "reject" => false,
        _ => return StatusCode::BAD_REQUEST.into_response(),
    };
    let held = app.store.held_posts(login).await;
    let Some(post) = held
        .iter()
        .find(|post| post.list == form.list && post.token == form.post)
    else {
        // Answered already (by mail, or another moderator), or not theirs.
        return Redirect::to("/settings").into_response();
    };
    let mail = post.answer(login, approve);
    let submitter = crate::news::gateway::Submitter {
        sender: login,
        client: peer.remote.ip(),
        hostname: &app.settings.hostname,
    };
    match crate::news::gateway::submit(
        &app.store,
        &submitter,
        std::slice::from_ref(&post.request_address),
        mail.as_bytes(),
    )
    .await
    {
        Ok(queue_id) => {
            tracing::info!(session = peer.session, instance = %app.settings.instance, "webmail: {login} answered {} to post {} of {} ({queue_id:?})", form.action, post.token, post.list);
            Redirect::to("/settings?done=moderated").into_response()
        }
        Err(error) => {
            tracing::error!(%error, "webmail: cannot queue {login}'s moderation of {}", post.list);
            StatusCode::SERVICE_UNAVAILABLE.into_response()
        }
    }
}
