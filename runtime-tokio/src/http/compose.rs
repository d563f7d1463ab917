//! Writing mail: the compose form (new, reply, reply to all, forward,
//! a saved draft), sending it under the rules of authenticated submission
//! with a copy in Sent, and saving drafts.

use super::extract::{LoggedIn, Reader};
use super::webmail::{folder_links, folder_url, special_folder, whole};
use super::{App, Peer, store_failure};
use crate::driver::{Backend, StoredMessage};
use crate::mailstore::{MailboxStore, SpecialUse};
use axum::extract::{DefaultBodyLimit, Multipart, Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::{Extension, Router};
use postern_core::address::{ForwardPath, ReversePath, parse_mailbox};
use postern_core::envelope::{ClientInfo, Envelope, LocalMailbox};
use postern_core::http::compose::{self, Answer, Draft, NotSent};
use postern_core::http::pages::{self, Notice, Origin};
use postern_core::http::view;
use postern_core::limits::WEBMAIL_ATTACHMENTS_MAX;
use postern_core::mailbox::{Flag, Flags, Keywords, Uid};
use postern_core::smtp::server::BodyType;
use serde::Deserialize;

pub(super) fn routes<M: Backend>(max_message_size: u64) -> Router<App<M>> {
    // Uploads up to the submission size, plus room for the form itself.
    let limit = usize::try_from(max_message_size)
        .unwrap_or(usize::MAX)
        .saturating_add(1024 * 1024);
    Router::new().route(
        "/compose",
        get(compose_form::<M>)
            .post(compose_post::<M>)
            .layer(DefaultBodyLimit::max(limit)),
    )
}

#[derive(Deserialize)]
struct ComposeQuery {
    answer: Option<String>,
    f: Option<String>,
    uid: Option<u32>,
    /// A saved draft to go on with (its UID in Drafts).
    draft: Option<u32>,
    to: Option<String>,
}

async fn compose_form<M: Backend>(
    State(app): State<App<M>>,
    Reader { user, mailbox }: Reader,
    Query(query): Query<ComposeQuery>,
) -> Response {
    let store = app.store.mailboxes();
    let mut draft = Draft {
        to: query.to.clone().unwrap_or_default(),
        ..Draft::default()
    };
    let mut forwarding = None;
    let mut replying = None;
    let mut draft_uid = None;
    if let (Some(how), Some(folder), Some(uid)) = (
        query.answer.as_deref().and_then(Answer::parse),
        query.f.as_deref(),
        query.uid.and_then(Uid::new),
    ) {
        match whole(store, &mailbox, folder, uid).await {
            Ok(bytes) => {
                let original = view::view(&bytes, false, false);
                draft = compose::answer(&original, how, user.session.login());
                if how == Answer::Forward {
                    forwarding = Some((folder.to_owned(), uid.get()));
                } else {
                    replying = Some((folder.to_owned(), uid.get()));
                }
            }
            Err(error) => {
                return store_failure("The message could not be read", &error, &user.viewer());
            }
        }
    } else if let Some(uid) = query.draft.and_then(Uid::new) {
        let drafts = match folder_links(&app, &mailbox).await {
            Ok((_, statuses)) => special_folder(&statuses, SpecialUse::Drafts, "Drafts"),
            Err(error) => {
                return store_failure("The folders could not be listed", &error, &user.viewer());
            }
        };
        match whole(store, &mailbox, &drafts, uid).await {
            Ok(bytes) => {
                let saved = view::view(&bytes, false, false);
                let join = |people: &[view::Person]| {
                    people
                        .iter()
                        .map(view::Person::display)
                        .collect::<Vec<_>>()
                        .join(", ")
                };
                draft = Draft {
                    to: join(&saved.summary.to),
                    cc: join(&saved.cc),
                    bcc: String::new(),
                    subject: saved.summary.subject.clone(),
                    body: match &saved.body {
                        view::Body::Text(text) => text.replace("\r\n", "\n"),
                        view::Body::Html(safe) => safe.html.clone(),
                    },
                    in_reply_to: None,
                    references: saved.references.clone(),
                };
                draft_uid = Some(uid.get());
            }
            Err(error) => {
                return store_failure("The draft could not be read", &error, &user.viewer());
            }
        }
    }
    Html(pages::compose_page(
        &user.viewer(),
        &draft,
        Origin {
            forwarding: forwarding.as_ref().map(|(f, uid)| (f.as_str(), *uid)),
            replying: replying.as_ref().map(|(f, uid)| (f.as_str(), *uid)),
            draft_uid,
        },
        app.settings.max_message_size,
        None,
    ))
    .into_response()
}

/// The posted form.
#[derive(Default)]
struct Posted {
    token: String,
    action: String,
    draft: Draft,
    forward: Option<(String, u32)>,
    reply: Option<(String, u32)>,
    draft_uid: Option<u32>,
    /// Name, type and octets of each uploaded file.
    files: Vec<(String, String, Vec<u8>)>,
}

/// Reads the multipart form, with at most [`WEBMAIL_ATTACHMENTS_MAX`]
/// files; the body limit bounds their size.
async fn read_form(mut multipart: Multipart) -> Result<Posted, String> {
    let mut posted = Posted::default();
    while let Some(field) = multipart.next_field().await.map_err(|e| e.body_text())? {
        let name = field.name().unwrap_or_default().to_owned();
        if name == "attachment" {
            let file_name = field.file_name().unwrap_or_default().to_owned();
            let content_type = field
                .content_type()
                .unwrap_or("application/octet-stream")
                .to_owned();
            let bytes = field.bytes().await.map_err(|e| e.body_text())?;
            if file_name.is_empty() && bytes.is_empty() {
                continue; // the file input, left empty
            }
            if posted.files.len() >= WEBMAIL_ATTACHMENTS_MAX {
                return Err(format!(
                    "at most {WEBMAIL_ATTACHMENTS_MAX} attachments per message"
                ));
            }
            posted.files.push((
                view::attachment_name(Some(&file_name), posted.files.len()),
                content_type,
                bytes.to_vec(),
            ));
            continue;
        }
        let text = field.text().await.map_err(|e| e.body_text())?;
        match name.as_str() {
            "token" => posted.token = text,
            "action" => posted.action = text,
            "to" => posted.draft.to = text,
            "cc" => posted.draft.cc = text,
            "bcc" => posted.draft.bcc = text,
            "subject" => posted.draft.subject = text,
            "body" => posted.draft.body = text,
            "in_reply_to" => posted.draft.in_reply_to = Some(text).filter(|t| !t.is_empty()),
            "references" => {
                posted.draft.references = text.split_whitespace().map(str::to_owned).collect();
            }
            "forward_f" => posted.forward = Some((text, posted.forward.map_or(0, |(_, uid)| uid))),
            "forward_uid" => {
                let uid = text.parse().unwrap_or(0);
                posted.forward = Some((posted.forward.map(|(f, _)| f).unwrap_or_default(), uid));
            }
            "reply_f" => posted.reply = Some((text, posted.reply.map_or(0, |(_, uid)| uid))),
            "reply_uid" => {
                let uid = text.parse().unwrap_or(0);
                posted.reply = Some((posted.reply.map(|(f, _)| f).unwrap_or_default(), uid));
            }
            "draft_uid" => posted.draft_uid = text.parse().ok(),
            _ => {}
        }
    }
    Ok(posted)
}

/// `<id@host>` without the brackets, for mail-builder.
fn bare_id(id: &str) -> String {
    id.trim()
        .trim_start_matches('<')
        .trim_end_matches('>')
        .to_owned()
}

/// Builds the message (RFC 5322, MIME by mail-builder).
fn build(
    login: &str,
    real_name: Option<&str>,
    draft: &Draft,
    files: &[(String, String, Vec<u8>)],
    forwarded: Option<Vec<u8>>,
    hostname: &str,
    now: i64,
) -> Result<Vec<u8>, String> {
    let addresses = |text: &str| compose::split_addresses(text);
    let to = addresses(&draft.to).map_err(|bad| NotSent::BadAddress(bad).to_string())?;
    let cc = addresses(&draft.cc).map_err(|bad| NotSent::BadAddress(bad).to_string())?;
    let from: mail_builder::headers::address::Address<'_> = match real_name {
        Some(name) => (name.to_owned(), login.to_owned()).into(),
        None => login.to_owned().into(),
    };
    let mut message = mail_builder::MessageBuilder::new()
        .from(from)
        .subject(draft.subject.clone())
        .date(now)
        .message_id(format!("{}@{hostname}", super::random_token().text()))
        .text_body(draft.body.replace("\r\n", "\n").replace('\n', "\r\n"));
    if !to.is_empty() {
        message = message.to(to);
    }
    if !cc.is_empty() {
        message = message.cc(cc);
    }
    if let Some(id) = &draft.in_reply_to {
        message = message.in_reply_to(bare_id(id));
    }
    if !draft.references.is_empty() {
        let references: Vec<String> = draft.references.iter().map(|r| bare_id(r)).collect();
        message = message.references(references);
    }
    for (name, content_type, bytes) in files {
        message = message.attachment(content_type.clone(), name.clone(), bytes.clone());
    }
    if let Some(original) = forwarded {
        message = message.attachment("message/rfc822", "forwarded.eml", original);
    }
    message.write_to_vec().map_err(|e| e.to_string())
}

async fn compose_post<M: Backend>(
    State(app): State<App<M>>,
    Extension(peer): Extension<Peer>,
    Reader { user, mailbox }: Reader,
    multipart: Multipart,
) -> Response {
    let posted = match read_form(multipart).await {
        Ok(posted) => posted,
        Err(problem) => {
            return (
                StatusCode::PAYLOAD_TOO_LARGE,
                Html(pages::problem_page(
                    "Not sent",
                    &format!(
                        "The form could not be read: {problem}. Attachments may total at most {}.",
                        pages::human_size(app.settings.max_message_size)
                    ),
                    Some(&user.viewer()),
                )),
            )
                .into_response();
        }
    };
    if let Err(response) = user.check_form(&posted.token) {
        return response;
    }
    let statuses = match folder_links(&app, &mailbox).await {
        Ok((_, statuses)) => statuses,
        Err(error) => {
            return store_failure("The folders could not be listed", &error, &user.viewer());
        }
    };
    let store = app.store.mailboxes();
    let forwarded = match &posted.forward {
        Some((folder, uid)) => match Uid::new(*uid) {
            Some(uid) => whole(store, &mailbox, folder, uid).await.ok(),
            None => None,
        },
        None => None,
    };
    let login = user.session.login().to_owned();
    let now = app.store.wall_now();
    let again = |problem: &str| {
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            Html(pages::compose_page(
                &user.viewer(),
                &posted.draft,
                Origin {
                    forwarding: posted.forward.as_ref().map(|(f, uid)| (f.as_str(), *uid)),
                    replying: posted.reply.as_ref().map(|(f, uid)| (f.as_str(), *uid)),
                    draft_uid: posted.draft_uid,
                },
                app.settings.max_message_size,
                Some(&Notice::Problem(problem)),
            )),
        )
            .into_response()
    };
    let real_name = app.store.real_name(&login);
    let bytes = match build(
        &login,
        real_name.as_deref(),
        &posted.draft,
        &posted.files,
        forwarded,
        &app.settings.hostname,
        now.0,
    ) {
        Ok(bytes) => bytes,
        Err(problem) => return again(&problem),
    };
    let drafts = special_folder(&statuses, SpecialUse::Drafts, "Drafts");
    if posted.action == "draft" {
        let flags = Flags::EMPTY.with(Flag::Draft).with(Flag::Seen);
        if let Err(error) = store
            .append(
                &mailbox,
                &drafts,
                bytes.as_slice(),
                flags,
                &Keywords::default(),
                now,
            )
            .await
        {
            return store_failure("The draft could not be saved", &error, &user.viewer());
        }
        remove_draft(&app, &mailbox, &drafts, posted.draft_uid).await;
        return Redirect::to(&folder_url(&drafts, "draft")).into_response();
    }
    match send(&app, &user, peer, &posted.draft, &bytes).await {
        Ok(Ok(queue_id)) => {
            crate::metrics::global().message_accepted(&app.settings.instance);
            tracing::info!(session = peer.session, peer = %peer.remote, %queue_id, instance = %app.settings.instance, "{queue_id}: webmail message from {login} queued");
        }
        Ok(Err(not_sent)) => return again(&not_sent.to_string()),
        Err(error) => {
            tracing::error!(
                session = peer.session,
                "webmail: the message of {login} could not be queued: {error}"
            );
            return again(
                "Not sent: the server could not store the message. Try again in a moment.",
            );
        }
    }
    let sent = special_folder(&statuses, SpecialUse::Sent, "Sent");
    if let Err(error) = store
        .append(
            &mailbox,
            &sent,
            bytes.as_slice(),
            Flags::EMPTY.with(Flag::Seen),
            &Keywords::default(),
            now,
        )
        .await
    {
        tracing::warn!(
            "webmail: sent, but the copy in {sent} of {login}'s mailbox failed: {error}"
        );
    }
    remove_draft(&app, &mailbox, &drafts, posted.draft_uid).await;
    if let Some((folder, uid)) = &posted.reply
        && let Some(uid) = Uid::new(*uid)
    {
        let answered = Flags::EMPTY.with(Flag::Answered);
        let _ = store
            .store_flags(
                &mailbox,
                folder,
                &[uid],
                crate::mailstore::FlagOp::Add,
                answered,
                &Keywords::default(),
            )
            .await;
    }
    Redirect::to(&folder_url("INBOX", "sent")).into_response()
}

async fn remove_draft<M: Backend>(
    app: &App<M>,
    mailbox: &LocalMailbox,
    drafts: &str,
    uid: Option<u32>,
) {
    if let Some(uid) = uid.and_then(Uid::new) {
        let _ = app.store.mailboxes().expunge(mailbox, drafts, &[uid]).await;
    }
}

/// Queues the message as an authenticated submission would: the rules
/// are core's; the spool makes it durable before this returns.
async fn send<M: Backend>(
    app: &App<M>,
    user: &LoggedIn,
    peer: Peer,
    draft: &Draft,
    bytes: &[u8],
) -> std::io::Result<Result<postern_core::envelope::QueueId, NotSent>> {
    let mut typed = Vec::new();
    for field in [&draft.to, &draft.cc, &draft.bcc] {
        match compose::split_addresses(field) {
            Ok(addresses) => typed.extend(addresses),
            Err(bad) => return Ok(Err(NotSent::BadAddress(bad))),
        }
    }
    let mut resolved = Vec::new();
    for address in &typed {
        let Ok(mailbox) = parse_mailbox(address) else {
            return Ok(Err(NotSent::BadAddress(address.clone())));
        };
        let path = ForwardPath::Mailbox(mailbox);
        let verdict = app.store.resolve(&path);
        resolved.push((path, verdict));
    }
    let login = user.session.login();
    let recipients = match compose::check_submission(
        &user.session.identity,
        login,
        resolved,
        bytes.len() as u64,
        app.settings.max_message_size,
        app.settings.max_recipients,
    ) {
        Ok(recipients) => recipients,
        Err(not_sent) => return Ok(Err(not_sent)),
    };
    let Ok(sender) = parse_mailbox(login) else {
        return Ok(Err(NotSent::NotYourAddress(login.to_owned())));
    };
    let smtputf8 = !login.is_ascii() || typed.iter().any(|a| !a.is_ascii());
    let envelope = Envelope {
        reverse_path: ReversePath::Mailbox(sender),
        recipients,
        body: BodyType::EightBitMime,
        smtputf8,
        client: ClientInfo {
            helo: "webmail".to_owned(),
            address: peer.remote.ip().to_string(),
            // Sent by a logged-in webmail user.
            submitted: true,
        },
    };
    let (opened, mut file) = app.store.open(envelope).await?;
    let received = compose::received_field(
        &app.settings.hostname,
        peer.remote.ip(),
        peer.tls,
        opened.queue_id,
        opened.received_at,
    );
    let written = async {
        file.write(received.as_bytes()).await?;
        file.write(bytes).await
    }
    .await;
    if let Err(error) = written {
        file.abort().await;
        return Err(error);
    }
    file.commit().await?;
    Ok(Ok(opened.queue_id))
}
