//! The folder list, a folder's messages, one message, and the compose
//! form.

use super::{Notice, Viewer, layout, token_field};
use crate::http::compose::Draft;
use crate::http::view::{Body, MessageView};
use maud::{Markup, PreEscaped, html};

/// A folder in the side list.
pub struct FolderLink {
    pub name: String,
    pub unseen: usize,
    pub messages: usize,
}

/// How a folder's list is ordered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sort {
    /// Newest first (the default).
    DateDown,
    DateUp,
    From,
    Subject,
}

impl Sort {
    pub const ALL: [Sort; 4] = [Sort::DateDown, Sort::DateUp, Sort::From, Sort::Subject];

    pub fn parse(text: &str) -> Sort {
        Sort::ALL
            .into_iter()
            .find(|sort| sort.key() == text)
            .unwrap_or(Sort::DateDown)
    }

    pub fn key(self) -> &'static str {
        match self {
            Sort::DateDown => "newest",
            Sort::DateUp => "oldest",
            Sort::From => "from",
            Sort::Subject => "subject",
        }
    }

    fn label(self) -> &'static str {
        match self {
            Sort::DateDown => "Newest first",
            Sort::DateUp => "Oldest first",
            Sort::From => "By sender",
            Sort::Subject => "By subject",
        }
    }
}

/// One row of a message list.
pub struct ListRow {
    pub uid: u32,
    /// The sender, or in Sent and Drafts the first recipient.
    pub from: String,
    pub subject: String,
    /// Short (`17:22`, `28 Nov`, `28 Nov 2025`), and whole for its title.
    pub date: String,
    pub date_title: String,
    pub seen: bool,
    pub flagged: bool,
    pub has_attachments: bool,
    pub size: u64,
}

/// A folder's page of messages.
pub struct FolderPage<'a> {
    pub folder: &'a str,
    pub folders: &'a [FolderLink],
    pub rows: &'a [ListRow],
    /// 1-based.
    pub page: usize,
    pub pages: usize,
    /// Messages matching (all of them without a search).
    pub matching: usize,
    pub sort: Sort,
    pub search: &'a str,
    pub is_trash: bool,
    /// Sent and Drafts: the list names recipients, not the sender.
    pub shows_recipients: bool,
}

fn folder_url(folder: &str, page: usize, sort: Sort, search: &str) -> String {
    let mut url = format!("/folder?f={}", encode(folder));
    if page > 1 {
        url.push_str(&format!("&page={page}"));
    }
    if sort != Sort::DateDown {
        url.push_str(&format!("&sort={}", sort.key()));
    }
    if !search.is_empty() {
        url.push_str(&format!("&q={}", encode(search)));
    }
    url
}

/// Percent-encodes a query value.
pub fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

fn message_url(folder: &str, uid: u32) -> String {
    format!("/message?f={}&uid={uid}", encode(folder))
}

fn folder_list(folders: &[FolderLink], current: &str) -> Markup {
    html! {
        nav.folders aria-label="Folders" {
            ul {
                @for folder in folders {
                    li.current[folder.name == current] {
                        a href=(folder_url(&folder.name, 1, Sort::DateDown, "")) {
                            (folder.name)
                            @if folder.unseen > 0 { " " span.count { (folder.unseen) } }
                        }
                    }
                }
            }
        }
    }
}

pub fn folder_page(
    viewer: &Viewer<'_>,
    page: &FolderPage<'_>,
    notice: Option<&Notice<'_>>,
) -> String {
    let body = html! {
        div.columns {
            (folder_list(page.folders, page.folder))
            section.list {
                h1 { (page.folder) }
                form.search method="get" action="/folder" {
                    input type="hidden" name="f" value=(page.folder);
                    input type="search" name="q" value=(page.search) placeholder="Search" aria-label="Search";
                    select name="sort" aria-label="Order" {
                        @for sort in Sort::ALL {
                            option value=(sort.key()) selected[sort == page.sort] { (sort.label()) }
                        }
                    }
                    button type="submit" { "Show" }
                }
                @if page.is_trash && page.matching > 0 {
                    form.inline method="post" action="/folder/empty" {
                        (token_field(viewer.form_token))
                        input type="hidden" name="f" value=(page.folder);
                        button.danger type="submit" { "Empty Trash" }
                    }
                }
                @if page.rows.is_empty() {
                    p.empty { @if page.search.is_empty() { "No messages." } @else { "No message matches." } }
                } @else {
                    table.messages {
                        thead { tr { th { @if page.shows_recipients { "To" } @else { "From" } } th { "Subject" } th.date { "Date" } } }
                        tbody {
                            @for row in page.rows {
                                tr.unseen[!row.seen] {
                                    td { @if row.flagged { span.flag title="Flagged" { "\u{2691} " } } (row.from) }
                                    td {
                                        a href=(message_url(page.folder, row.uid)) {
                                            @if row.subject.is_empty() { "(no subject)" } @else { (row.subject) }
                                        }
                                        @if row.has_attachments { " " (paperclip()) }
                                    }
                                    td.date title=(row.date_title) { (row.date) }
                                }
                            }
                        }
                    }
                }
                nav.pages {
                    @if page.page > 1 {
                        a rel="prev" href=(folder_url(page.folder, page.page - 1, page.sort, page.search)) { "\u{2190} Newer" }
                    }
                    span { "Page " (page.page) " of " (page.pages.max(1)) ", " (page.matching) @if page.matching == 1 { " message" } @else { " messages" } }
                    @if page.page < page.pages {
                        a rel="next" href=(folder_url(page.folder, page.page + 1, page.sort, page.search)) { "Older \u{2192}" }
                    }
                }
            }
        }
    };
    layout(page.folder, Some(viewer), notice, body)
}

/// The mark of a message with attachments: a paperclip drawn in SVG, so
/// that it shows without an emoji font (the 📎 character was an empty box
/// in Chromium on a server without one).
fn paperclip() -> Markup {
    html! {
        span.clip role="img" aria-label="Attachments" title="Attachments" {
            svg width="14" height="14" viewBox="0 0 16 16" aria-hidden="true" {
                path d="M10.5 4.5v6a2.5 2.5 0 0 1-5 0v-7a1.5 1.5 0 0 1 3 0V10a.5.5 0 0 1-1 0V5" fill="none" stroke="currentColor" stroke-width="1.4" stroke-linecap="round" {}
            }
        }
    }
}

/// One message, for reading.
pub struct MessagePage<'a> {
    pub folder: &'a str,
    pub uid: u32,
    pub view: &'a MessageView,
    pub seen: bool,
    pub flagged: bool,
    pub folders: &'a [FolderLink],
    pub is_trash: bool,
    /// The folder holds drafts: the message can be written on.
    pub is_drafts: bool,
}

fn people(list: &[crate::http::view::Person]) -> String {
    list.iter()
        .map(|p| p.display())
        .collect::<Vec<_>>()
        .join(", ")
}

pub fn message_page(
    viewer: &Viewer<'_>,
    page: &MessagePage<'_>,
    notice: Option<&Notice<'_>>,
) -> String {
    let view = page.view;
    let summary = &view.summary;
    let answer = |how: &str| {
        format!(
            "/compose?answer={how}&f={}&uid={}",
            encode(page.folder),
            page.uid
        )
    };
    let action = |name: &str| format!("/message/{name}");
    let hidden = html! {
        (token_field(viewer.form_token))
        input type="hidden" name="f" value=(page.folder);
        input type="hidden" name="uid" value=(page.uid);
    };
    let body = html! {
        div.columns {
            (folder_list(page.folders, page.folder))
            article.message {
                h1 { @if summary.subject.is_empty() { "(no subject)" } @else { (summary.subject) } }
                dl.fields {
                    dt { "From" } dd { (people(&summary.from)) }
                    dt { "To" } dd { (people(&summary.to)) }
                    @if !view.cc.is_empty() { dt { "Cc" } dd { (people(&view.cc)) } }
                    @if !summary.date.is_empty() { dt { "Date" } dd { (summary.date) } }
                }
                div.actions {
                    @if page.is_drafts {
                        a.button href=(format!("/compose?draft={}", page.uid)) { "Edit draft" }
                    }
                    a.button href=(answer("reply")) { "Reply" }
                    a.button href=(answer("reply-all")) { "Reply to all" }
                    a.button href=(answer("forward")) { "Forward" }
                    form.inline method="post" action=(action("flags")) {
                        (hidden)
                        @if page.flagged {
                            button type="submit" name="change" value="unflag" { "Unflag" }
                        } @else {
                            button type="submit" name="change" value="flag" { "Flag" }
                        }
                        button type="submit" name="change" value="unseen" { "Mark unread" }
                    }
                    form.inline method="post" action=(action("move")) {
                        (hidden)
                        select name="to" aria-label="Move to" {
                            @for folder in page.folders {
                                @if folder.name != page.folder { option value=(folder.name) { (folder.name) } }
                            }
                        }
                        button type="submit" { "Move" }
                    }
                    form.inline method="post" action=(action("delete")) {
                        (hidden)
                        button.danger type="submit" {
                            @if page.is_trash { "Delete for good" } @else { "Delete" }
                        }
                    }
                }
                @if let Body::Html(safe) = &view.body {
                    @if safe.remote_images_blocked {
                        p.notice {
                            "Remote images are hidden: loading them tells the sender you read this. "
                            a href={ (format!("/message?f={}&uid={}&images=1", encode(page.folder), page.uid)) } { "Show images" }
                        }
                    }
                }
                div.body {
                    @match &view.body {
                        Body::Text(text) => pre.text { (text) },
                        Body::Html(safe) => div.html { (PreEscaped(&safe.html)) },
                    }
                }
                @if view.body_cut {
                    p.notice { "This message is long; only its beginning is shown. " a href=(format!("/raw?f={}&uid={}", encode(page.folder), page.uid)) { "Download it whole" } }
                }
                @if !view.attachments.is_empty() {
                    section.attachments {
                        h2 { "Attachments" }
                        ul {
                            @for a in &view.attachments {
                                li {
                                    a href=(format!("/part?f={}&uid={}&n={}", encode(page.folder), page.uid, a.number)) download=(a.name) { (a.name) }
                                    " " span.meta { (a.content_type) ", " (human_size(a.size as u64)) }
                                }
                            }
                        }
                    }
                }
                p.source { a href=(format!("/raw?f={}&uid={}", encode(page.folder), page.uid)) { "Download the message (.eml)" } }
            }
        }
    };
    let title = if summary.subject.is_empty() {
        "(no subject)"
    } else {
        &summary.subject
    };
    layout(title, Some(viewer), notice, body)
}

/// `1.2 MiB`, `640 B`.
pub fn human_size(octets: u64) -> String {
    bytesize::ByteSize(octets).display().iec().to_string()
}

/// Where a message being written comes from: the message it forwards
/// (sent along as an attachment) or replies to (marked `\Answered` once
/// sent), by folder and UID, and the saved draft it replaces.
#[derive(Clone, Copy, Debug, Default)]
pub struct Origin<'a> {
    pub forwarding: Option<(&'a str, u32)>,
    pub replying: Option<(&'a str, u32)>,
    pub draft_uid: Option<u32>,
}

/// The compose form, filled from `draft`.
pub fn compose_page(
    viewer: &Viewer<'_>,
    draft: &Draft,
    origin: Origin<'_>,
    max_size: u64,
    notice: Option<&Notice<'_>>,
) -> String {
    let body = html! {
        h1 { "Write" }
        form.compose method="post" action="/compose" enctype="multipart/form-data" {
            (token_field(viewer.form_token))
            @if let Some(id) = &draft.in_reply_to { input type="hidden" name="in_reply_to" value=(id); }
            @if !draft.references.is_empty() { input type="hidden" name="references" value=(draft.references.join(" ")); }
            @if let Some((folder, uid)) = origin.forwarding {
                input type="hidden" name="forward_f" value=(folder);
                input type="hidden" name="forward_uid" value=(uid);
                p.meta { "The original message goes with it as an attachment." }
            }
            @if let Some((folder, uid)) = origin.replying {
                input type="hidden" name="reply_f" value=(folder);
                input type="hidden" name="reply_uid" value=(uid);
            }
            @if let Some(uid) = origin.draft_uid { input type="hidden" name="draft_uid" value=(uid); }
            label { "To" input type="text" name="to" value=(draft.to) autocomplete="off"; }
            label { "Cc" input type="text" name="cc" value=(draft.cc) autocomplete="off"; }
            label { "Bcc" input type="text" name="bcc" value=(draft.bcc) autocomplete="off"; }
            label { "Subject" input type="text" name="subject" value=(draft.subject); }
            label { "Message" textarea name="body" rows="16" { (draft.body) } }
            label { "Attachments (up to " (human_size(max_size)) " in all)" input type="file" name="attachment" multiple; }
            div.actions {
                button type="submit" name="action" value="send" { "Send" }
                button type="submit" name="action" value="draft" { "Save draft" }
            }
        }
    };
    layout("Write", Some(viewer), notice, body)
}
