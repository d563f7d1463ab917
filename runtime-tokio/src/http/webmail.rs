//! Webmail: folders, message lists, reading, flags, moving and deleting
//! (logging in and out is `login`'s).
//!
//! A user's mailbox is always the one their own login resolves to: no URL
//! names a mailbox, only a folder and a UID within the session's own, so
//! no change to a URL reaches another user's mail.

use super::extract::{LoggedIn, Reader};
use super::{App, RemoteImages, forbidden_form, store_failure};
use crate::driver::Backend;
use crate::mailstore::{FlagOp, FolderStatus, MailboxStore, SpecialUse, StoreError};
use axum::Router;
use axum::extract::{Form, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use postern_core::address::{ForwardPath, parse_mailbox};
use postern_core::directory::RecipientVerdict;
use postern_core::envelope::LocalMailbox;
use postern_core::http::pages::{self, FolderLink, FolderPage, ListRow, MessagePage, Notice, Sort};
use postern_core::http::view;
use postern_core::limits::WEBMAIL_PAGE_MESSAGES;
use postern_core::mailbox::{Flag, Flags, Keywords, MessageMeta, Uid};
use serde::Deserialize;
use tokio::io::AsyncReadExt;

pub(super) fn routes<M: Backend>() -> Router<App<M>> {
    Router::new()
        .route("/", get(front::<M>))
        .route("/folder", get(folder::<M>))
        .route("/folder/empty", post(empty_folder::<M>))
        .route("/message", get(message::<M>))
        .route("/message/flags", post(change_flags::<M>))
        .route("/message/move", post(move_message::<M>))
        .route("/message/delete", post(delete_message::<M>))
        .route("/part", get(part::<M>))
        .route("/raw", get(raw::<M>))
}

/// The mailbox a login reads: its address resolved through the directory.
pub(super) fn mailbox_of<M: Backend>(store: &M, login: &str) -> Option<LocalMailbox> {
    let path = parse_mailbox(login).map(ForwardPath::Mailbox).ok()?;
    match store.resolve(&path) {
        RecipientVerdict::Local(mailbox) => Some(mailbox),
        _ => None,
    }
}

async fn front<M: Backend>(State(app): State<App<M>>, headers: HeaderMap) -> Response {
    match super::session_of(&app, &headers) {
        Some(_) => Redirect::to("/folder?f=INBOX").into_response(),
        None => Redirect::to("/login").into_response(),
    }
}

/// The user's folders for the side list, INBOX first.
pub(super) async fn folder_links<M: Backend>(
    app: &App<M>,
    mailbox: &LocalMailbox,
) -> Result<(Vec<FolderLink>, Vec<FolderStatus>), StoreError> {
    let folders = app.store.mailboxes().folders(mailbox).await?;
    let links = folders
        .iter()
        .map(|f| FolderLink {
            name: f.name.clone(),
            unseen: f.unseen,
            messages: f.messages,
        })
        .collect();
    Ok((links, folders))
}

/// The name of the user's folder with this special use (`Trash`,
/// `Sent`, `Drafts`), or the default name.
pub(super) fn special_folder(folders: &[FolderStatus], use_: SpecialUse, default: &str) -> String {
    folders
        .iter()
        .find(|f| f.special_use == Some(use_))
        .map_or_else(|| default.to_owned(), |f| f.name.clone())
}

/// A folder that is not there, or a message that is not: 404.
fn missing(what: &str, user: &LoggedIn) -> Response {
    (
        StatusCode::NOT_FOUND,
        Html(pages::problem_page(
            "Not found",
            &format!("{what} is not there (any longer)."),
            Some(&user.viewer()),
        )),
    )
        .into_response()
}

fn store_error(what: &str, error: StoreError, user: &LoggedIn) -> Response {
    match error {
        StoreError::NoSuchFolder(name) => missing(&format!("The folder {name:?}"), user),
        StoreError::NoSuchMessage(_) => missing("This message", user),
        StoreError::BadFolderName(_) => missing("This folder", user),
        other => store_failure(what, &other, &user.viewer()),
    }
}

/// Reads the first part of a message: enough for its header section.
async fn head_of<S: MailboxStore>(
    store: &S,
    mailbox: &LocalMailbox,
    folder: &str,
    uid: Uid,
) -> Result<Vec<u8>, StoreError> {
    const HEADER_PEEK_BYTES: u64 = 32 * 1024;
    let reader = store.read(mailbox, folder, uid).await?;
    let mut head = Vec::new();
    reader
        .take(HEADER_PEEK_BYTES)
        .read_to_end(&mut head)
        .await?;
    Ok(head)
}

/// A whole message.
pub(super) async fn whole<S: MailboxStore>(
    store: &S,
    mailbox: &LocalMailbox,
    folder: &str,
    uid: Uid,
) -> Result<Vec<u8>, StoreError> {
    let mut reader = store.read(mailbox, folder, uid).await?;
    let mut bytes = Vec::with_capacity(usize::try_from(reader.size()).unwrap_or(0));
    reader.read_to_end(&mut bytes).await?;
    Ok(bytes)
}

#[derive(Deserialize)]
struct FolderQuery {
    f: Option<String>,
    page: Option<usize>,
    sort: Option<String>,
    q: Option<String>,
    done: Option<String>,
}

/// What a `done=` parameter says happened (after a redirect).
fn done_text(done: Option<&str>) -> Option<&'static str> {
    match done? {
        "sent" => Some("Message sent."),
        "draft" => Some("Draft saved."),
        "moved" => Some("Message moved."),
        "deleted" => Some("Message deleted."),
        "emptied" => Some("Trash emptied."),
        "password" => Some("Password changed."),
        _ => None,
    }
}

async fn folder<M: Backend>(
    State(app): State<App<M>>,
    Reader { user, mailbox }: Reader,
    Query(query): Query<FolderQuery>,
) -> Response {
    let folder = query.f.unwrap_or_else(|| "INBOX".to_owned());
    let sort = Sort::parse(query.sort.as_deref().unwrap_or(""));
    let search = query.q.unwrap_or_default();
    let search = search.trim();
    let store = app.store.mailboxes();
    let (links, statuses) = match folder_links(&app, &mailbox).await {
        Ok(found) => found,
        Err(error) => return store_error("The folders could not be listed", error, &user),
    };
    let snapshot = match store.open(&mailbox, &folder).await {
        Ok(snapshot) => snapshot,
        Err(error) => return store_error("The folder could not be opened", error, &user),
    };
    // Rows are read from the messages' header sections: only the page's
    // for the default order, every message's to search or sort by field.
    let mut metas: Vec<&MessageMeta> = snapshot.messages.iter().collect();
    let needs_fields = !search.is_empty() || matches!(sort, Sort::From | Sort::Subject);
    let mut rows: Vec<(&MessageMeta, view::Summary)> = Vec::new();
    if needs_fields {
        let needle = search.to_lowercase();
        for meta in metas {
            let Ok(head) = head_of(store, &mailbox, &folder, meta.uid).await else {
                continue;
            };
            let summary = view::summary(&head);
            let matches = needle.is_empty() || {
                let from: Vec<String> = summary.from.iter().map(|p| p.display()).collect();
                let to: Vec<String> = summary.to.iter().map(|p| p.display()).collect();
                [summary.subject.as_str(), &from.join(" "), &to.join(" ")]
                    .iter()
                    .any(|field| field.to_lowercase().contains(&needle))
            };
            if matches {
                rows.push((meta, summary));
            }
        }
        match sort {
            Sort::From => rows.sort_by_key(|(m, s)| {
                (
                    s.from.first().map(|p| p.short().to_lowercase()),
                    std::cmp::Reverse(m.uid),
                )
            }),
            Sort::Subject => {
                rows.sort_by_key(|(m, s)| (s.subject.to_lowercase(), std::cmp::Reverse(m.uid)))
            }
            Sort::DateUp => rows.sort_by_key(|(m, _)| (m.internal_date.0, m.uid)),
            Sort::DateDown => {
                rows.sort_by_key(|(m, _)| std::cmp::Reverse((m.internal_date.0, m.uid)))
            }
        }
    } else {
        match sort {
            Sort::DateUp => metas.sort_by_key(|m| (m.internal_date.0, m.uid)),
            _ => metas.sort_by_key(|m| std::cmp::Reverse((m.internal_date.0, m.uid))),
        }
        let page = query.page.unwrap_or(1).max(1);
        for meta in metas
            .iter()
            .skip((page - 1) * WEBMAIL_PAGE_MESSAGES)
            .take(WEBMAIL_PAGE_MESSAGES)
        {
            let summary = match head_of(store, &mailbox, &folder, meta.uid).await {
                Ok(head) => view::summary(&head),
                Err(_) => continue,
            };
            rows.push((meta, summary));
        }
    }
    let matching = if needs_fields {
        rows.len()
    } else {
        snapshot.messages.len()
    };
    let pages = matching.div_ceil(WEBMAIL_PAGE_MESSAGES).max(1);
    let page = query.page.unwrap_or(1).clamp(1, pages);
    let now = app.store.wall_now();
    let shows_recipients = folder == special_folder(&statuses, SpecialUse::Sent, "Sent")
        || folder == special_folder(&statuses, SpecialUse::Drafts, "Drafts");
    let shown: Vec<ListRow> = if needs_fields {
        rows.iter()
            .skip((page - 1) * WEBMAIL_PAGE_MESSAGES)
            .take(WEBMAIL_PAGE_MESSAGES)
            .collect::<Vec<_>>()
    } else {
        rows.iter().collect()
    }
    .into_iter()
    .map(|(meta, summary)| ListRow {
        uid: meta.uid.get(),
        from: if shows_recipients {
            &summary.to
        } else {
            &summary.from
        }
        .first()
        .map(|p| p.short().to_owned())
        .unwrap_or_default(),
        subject: summary.subject.clone(),
        date: view::list_date(
            if summary.date.is_empty() {
                meta.internal_date
            } else {
                postern_core::time::UnixTime(summary.date_seconds)
            },
            now,
        ),
        date_title: if summary.date.is_empty() {
            view::date_text(meta.internal_date)
        } else {
            summary.date.clone()
        },
        seen: meta.flags.contains(Flag::Seen),
        flagged: meta.flags.contains(Flag::Flagged),
        has_attachments: summary.has_attachments,
        size: meta.size,
    })
    .collect();
    let trash = special_folder(&statuses, SpecialUse::Trash, "Trash");
    let done = done_text(query.done.as_deref()).map(Notice::Done);
    Html(pages::folder_page(
        &user.viewer(),
        &FolderPage {
            folder: &folder,
            folders: &links,
            rows: &shown,
            page,
            pages,
            matching,
            sort,
            search,
            is_trash: folder == trash,
            shows_recipients,
        },
        done.as_ref(),
    ))
    .into_response()
}

#[derive(Deserialize)]
struct MessageQuery {
    f: String,
    uid: u32,
    images: Option<u8>,
    html: Option<u8>,
    done: Option<String>,
}

async fn message<M: Backend>(
    State(app): State<App<M>>,
    Reader { user, mailbox }: Reader,
    Query(query): Query<MessageQuery>,
) -> Response {
    let Some(uid) = Uid::new(query.uid) else {
        return missing("This message", &user);
    };
    let store = app.store.mailboxes();
    let (mut links, statuses) = match folder_links(&app, &mailbox).await {
        Ok(found) => found,
        Err(error) => return store_error("The folders could not be listed", error, &user),
    };
    let snapshot = match store.open(&mailbox, &query.f).await {
        Ok(snapshot) => snapshot,
        Err(error) => return store_error("The folder could not be opened", error, &user),
    };
    let Some(meta) = snapshot.messages.iter().find(|m| m.uid == uid) else {
        return missing("This message", &user);
    };
    let bytes = match whole(store, &mailbox, &query.f, uid).await {
        Ok(bytes) => bytes,
        Err(error) => return store_error("The message could not be read", error, &user),
    };
    let mut flags = meta.flags;
    if !flags.contains(Flag::Seen) {
        // Reading a message marks it read, as in every mail program.
        let seen = Flags::EMPTY.with(Flag::Seen);
        if store
            .store_flags(
                &mailbox,
                &query.f,
                &[uid],
                FlagOp::Add,
                seen,
                &Keywords::default(),
            )
            .await
            .is_ok()
        {
            flags.insert(Flag::Seen);
            // The folder list was counted before: this one is read now.
            if let Some(link) = links.iter_mut().find(|link| link.name == query.f) {
                link.unseen = link.unseen.saturating_sub(1);
            }
        }
    }
    let remote_images = query.images == Some(1);
    let mut shown = view::view(&bytes, query.html != Some(0), remote_images);
    if shown.summary.date.is_empty() {
        // No Date: field: when it arrived, as the list shows it.
        shown.summary.date = view::date_text(meta.internal_date);
    }
    let trash = special_folder(&statuses, SpecialUse::Trash, "Trash");
    let done = done_text(query.done.as_deref()).map(Notice::Done);
    let page = pages::message_page(
        &user.viewer(),
        &MessagePage {
            folder: &query.f,
            uid: uid.get(),
            view: &shown,
            seen: flags.contains(Flag::Seen),
            flagged: flags.contains(Flag::Flagged),
            folders: &links,
            is_trash: query.f == trash,
            is_drafts: query.f == special_folder(&statuses, SpecialUse::Drafts, "Drafts"),
        },
        done.as_ref(),
    );
    let mut response = Html(page).into_response();
    if remote_images {
        response.extensions_mut().insert(RemoteImages);
    }
    response
}

#[derive(Deserialize)]
struct PartQuery {
    f: String,
    uid: u32,
    n: Option<usize>,
}

/// An attachment, downloaded: its own type, never shown inline.
async fn part<M: Backend>(
    State(app): State<App<M>>,
    reader: Reader,
    Query(query): Query<PartQuery>,
) -> Response {
    download(app, reader, query, false).await
}

/// The whole message as an `.eml` file.
async fn raw<M: Backend>(
    State(app): State<App<M>>,
    reader: Reader,
    Query(query): Query<PartQuery>,
) -> Response {
    download(app, reader, query, true).await
}

async fn download<M: Backend>(
    app: App<M>,
    Reader { user, mailbox }: Reader,
    query: PartQuery,
    whole_message: bool,
) -> Response {
    let Some(uid) = Uid::new(query.uid) else {
        return missing("This message", &user);
    };
    let bytes = match whole(app.store.mailboxes(), &mailbox, &query.f, uid).await {
        Ok(bytes) => bytes,
        Err(error) => return store_error("The message could not be read", error, &user),
    };
    let (name, content_type, body) = if whole_message {
        (
            format!("message-{}.eml", uid.get()),
            "message/rfc822".to_owned(),
            bytes,
        )
    } else {
        match view::attachment(&bytes, query.n.unwrap_or(0)) {
            Some((info, octets)) => (info.name, info.content_type, octets),
            None => return missing("This attachment", &user),
        }
    };
    // A type a browser would render (HTML, SVG, ...) could run script on
    // our origin: such files are offered as plain octets.
    let safe_type = if is_inert_type(&content_type) {
        content_type
    } else {
        "application/octet-stream".to_owned()
    };
    (
        [
            (header::CONTENT_TYPE, safe_type),
            (
                header::CONTENT_DISPOSITION,
                view::content_disposition(&name),
            ),
        ],
        body,
    )
        .into_response()
}

/// Types a browser shows without running anything of the file's: images
/// other than SVG, PDF, plain text, audio and video, mail.
fn is_inert_type(content_type: &str) -> bool {
    let lower = content_type.to_ascii_lowercase();
    (lower.starts_with("image/") && !lower.contains("svg"))
        || lower.starts_with("audio/")
        || lower.starts_with("video/")
        || matches!(
            lower.as_str(),
            "application/pdf" | "text/plain" | "message/rfc822" | "application/zip"
        )
}

#[derive(Deserialize)]
struct MessageForm {
    token: String,
    f: String,
    uid: u32,
    change: Option<String>,
    to: Option<String>,
}

/// A posted message form, checked: its token and the UID.
fn checked(user: &LoggedIn, form: &MessageForm) -> Result<Uid, Response> {
    user.check_form(&form.token)?;
    Uid::new(form.uid).ok_or_else(|| missing("This message", user))
}

fn message_url(folder: &str, uid: u32, done: &str) -> String {
    let done = if done.is_empty() {
        String::new()
    } else {
        format!("&done={done}")
    };
    format!("/message?f={}&uid={uid}{done}", pages::encode(folder))
}

pub(super) fn folder_url(folder: &str, done: &str) -> String {
    format!("/folder?f={}&done={done}", pages::encode(folder))
}

async fn change_flags<M: Backend>(
    State(app): State<App<M>>,
    Reader { user, mailbox }: Reader,
    Form(form): Form<MessageForm>,
) -> Response {
    let uid = match checked(&user, &form) {
        Ok(uid) => uid,
        Err(response) => return response,
    };
    let (op, flag) = match form.change.as_deref() {
        Some("flag") => (FlagOp::Add, Flag::Flagged),
        Some("unflag") => (FlagOp::Remove, Flag::Flagged),
        Some("seen") => (FlagOp::Add, Flag::Seen),
        Some("unseen") => (FlagOp::Remove, Flag::Seen),
        _ => return forbidden_form(),
    };
    let store = app.store.mailboxes();
    let flags = Flags::EMPTY.with(flag);
    if let Err(error) = store
        .store_flags(&mailbox, &form.f, &[uid], op, flags, &Keywords::default())
        .await
    {
        return store_error("The flags could not be changed", error, &user);
    }
    if flag == Flag::Seen {
        // Marked unread: back to the folder, or reading it would mark it
        // read again.
        return Redirect::to(&folder_url(&form.f, "")).into_response();
    }
    Redirect::to(&message_url(&form.f, uid.get(), "")).into_response()
}

async fn move_message<M: Backend>(
    State(app): State<App<M>>,
    Reader { user, mailbox }: Reader,
    Form(form): Form<MessageForm>,
) -> Response {
    let uid = match checked(&user, &form) {
        Ok(uid) => uid,
        Err(response) => return response,
    };
    let Some(to) = form.to.as_deref().filter(|to| *to != form.f) else {
        return Redirect::to(&message_url(&form.f, uid.get(), "")).into_response();
    };
    let store = app.store.mailboxes();
    if let Err(error) = store.move_messages(&mailbox, &form.f, &[uid], to).await {
        return store_error("The message could not be moved", error, &user);
    }
    tracing::info!(instance = %app.settings.instance, "webmail: {} moved UID {} from {:?} to {to:?}", user.session.login(), uid.get(), form.f);
    Redirect::to(&folder_url(&form.f, "moved")).into_response()
}

/// Delete: to Trash, or for good from Trash.
async fn delete_message<M: Backend>(
    State(app): State<App<M>>,
    Reader { user, mailbox }: Reader,
    Form(form): Form<MessageForm>,
) -> Response {
    let uid = match checked(&user, &form) {
        Ok(uid) => uid,
        Err(response) => return response,
    };
    let statuses = match app.store.mailboxes().folders(&mailbox).await {
        Ok(statuses) => statuses,
        Err(error) => return store_error("The folders could not be listed", error, &user),
    };
    let trash = special_folder(&statuses, SpecialUse::Trash, "Trash");
    let store = app.store.mailboxes();
    let result = if form.f == trash {
        store.expunge(&mailbox, &form.f, &[uid]).await.map(|_| ())
    } else {
        store
            .move_messages(&mailbox, &form.f, &[uid], &trash)
            .await
            .map(|_| ())
    };
    if let Err(error) = result {
        return store_error("The message could not be deleted", error, &user);
    }
    Redirect::to(&folder_url(&form.f, "deleted")).into_response()
}

#[derive(Deserialize)]
struct EmptyForm {
    token: String,
    f: String,
}

/// Empties the Trash (only the Trash).
async fn empty_folder<M: Backend>(
    State(app): State<App<M>>,
    Reader { user, mailbox }: Reader,
    Form(form): Form<EmptyForm>,
) -> Response {
    if let Err(response) = user.check_form(&form.token) {
        return response;
    }
    let store = app.store.mailboxes();
    let statuses = match store.folders(&mailbox).await {
        Ok(statuses) => statuses,
        Err(error) => return store_error("The folders could not be listed", error, &user),
    };
    let trash = special_folder(&statuses, SpecialUse::Trash, "Trash");
    if form.f != trash {
        return forbidden_form();
    }
    let snapshot = match store.open(&mailbox, &trash).await {
        Ok(snapshot) => snapshot,
        Err(error) => return store_error("The Trash could not be opened", error, &user),
    };
    let uids: Vec<Uid> = snapshot.messages.iter().map(|m| m.uid).collect();
    for chunk in uids.chunks(1000) {
        if let Err(error) = store.expunge(&mailbox, &trash, chunk).await {
            return store_error("The Trash could not be emptied", error, &user);
        }
    }
    tracing::info!(instance = %app.settings.instance, "webmail: {} emptied the Trash ({} messages)", user.session.login(), uids.len());
    Redirect::to(&folder_url(&trash, "emptied")).into_response()
}
