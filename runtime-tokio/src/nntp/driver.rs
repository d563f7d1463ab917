//! The NNTP session driver: runs an [`NntpServer`] over any byte stream,
//! as [`crate::pop3::run_pop3_session`] runs the POP3 machine, with the
//! same clock, bounded writes and TLS upgrade, answering its requests
//! from the [`NewsStore`].

use crate::driver::{
    Backend, Clock, NextInput, WriteResult, bounded, next_input, note_write, start_tls,
};
use crate::mailstore::MailboxStore;
use crate::news::{NewsStore, PostError, gateway};
use crate::tls::{ServerTls, Transport};
use postern_core::auth::AuthVerdict;
use postern_core::limits::{NNTP_ARTICLE_CHUNK_BYTES, READ_CHUNK_BYTES};
use postern_core::nntp::{
    Access, ArticleRange, ArticleRef, Articles, Event, GroupName, Input, NntpServer, OpenedArticle,
    Output, Request, Wildmat,
};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, BufWriter};
use tokio::sync::watch;

/// What a session needs besides the machine and the connection.
pub struct NntpContext<'a, B: Backend> {
    pub backend: &'a B,
    pub news: &'a NewsStore<B::NewsMailboxes>,
    pub tls: Option<&'a ServerTls>,
    /// The instance's patterns for a logged-in user no `[[news_access]]`
    /// names: (read, post).
    pub logged_in: (&'a str, &'a str),
    /// Our name, for the `Received:` field of mail the gateways send.
    pub hostname: &'a str,
}

/// An answer to hand in, owning what it carries.
enum Answer {
    Input(Input<'static>),
    /// The article being sent, from this offset.
    Chunk,
}

/// Runs `machine` over `stream` until the session closes; see
/// [`crate::driver::run_session`] for `shutdown` and `on_event`.
pub async fn run_nntp_session<S, B>(
    stream: Transport<S>,
    mut machine: NntpServer,
    context: NntpContext<'_, B>,
    clock: Clock,
    mut shutdown: watch::Receiver<bool>,
    mut on_event: impl FnMut(&Event),
) where
    S: AsyncRead + AsyncWrite + Unpin,
    B: Backend,
{
    let client = machine.info().remote.ip();
    let mut connection = BufWriter::new(stream);
    let mut buffer = vec![0u8; READ_CHUNK_BYTES];
    // The article being sent, and how much of it has gone.
    let mut article: Vec<u8> = Vec::new();
    let mut sent = 0usize;
    let mut write_failed = false;
    let mut stalled = false;
    // The account logged in, for the envelope of mail a post sends.
    let mut login: Option<String> = None;
    loop {
        let mut answer: Option<Answer> = None;
        let mut close = false;
        let mut end_session = false;
        let send_by = clock.to_tokio(machine.send_deadline());
        while let Some(output) = machine.poll_output() {
            match output {
                Output::Send(bytes) => {
                    if !write_failed {
                        let written = bounded(send_by, connection.write_all(&bytes)).await;
                        note_write(written, &mut write_failed, &mut stalled);
                    }
                }
                Output::StartTls => {
                    if !write_failed {
                        let flushed = bounded(send_by, connection.flush()).await;
                        note_write(flushed, &mut write_failed, &mut stalled);
                    }
                    match context.tls {
                        Some(tls)
                            if !write_failed && start_tls(connection.get_mut(), tls).await =>
                        {
                            answer = Some(Answer::Input(Input::TlsStarted));
                        }
                        _ => end_session = true,
                    }
                }
                Output::Request(Request::Article {
                    article: wanted,
                    want_bytes,
                }) => {
                    article.clear();
                    sent = 0;
                    let (opened, bytes) = open_article(context.news, wanted).await;
                    if want_bytes {
                        article = bytes;
                    }
                    answer = Some(Answer::Input(Input::ArticleOpened(opened)));
                }
                Output::Request(request) => {
                    answer = Some(Answer::Input(
                        answer_request(&context, client, &mut login, request).await,
                    ));
                }
                Output::Close => close = true,
                Output::Event(event) => on_event(&event),
            }
        }
        if stalled {
            report_stall(&mut machine, clock, &mut on_event);
            break;
        }
        if end_session || write_failed {
            break;
        }
        if answer.is_none() && machine.is_reading_article() {
            answer = Some(Answer::Chunk);
        }
        match answer {
            Some(Answer::Input(input)) => {
                machine.handle_input(clock.now(), input);
                continue;
            }
            Some(Answer::Chunk) => {
                let end = (sent + NNTP_ARTICLE_CHUNK_BYTES).min(article.len());
                if sent == end {
                    article = Vec::new();
                    sent = 0;
                    machine.handle_input(clock.now(), Input::ArticleEnd);
                } else {
                    let from = sent;
                    sent = end;
                    machine.handle_input(clock.now(), Input::ArticleChunk(&article[from..end]));
                }
                continue;
            }
            None => {
                article = Vec::new();
                sent = 0;
            }
        }
        if close {
            break;
        }
        let flushed = bounded(send_by, connection.flush()).await;
        note_write(flushed, &mut write_failed, &mut stalled);
        if stalled {
            report_stall(&mut machine, clock, &mut on_event);
            break;
        }
        if write_failed {
            break;
        }
        let deadline = machine.poll_timeout();
        let input = next_input(&mut connection, &mut buffer, deadline, clock, &mut shutdown).await;
        match input {
            NextInput::Bytes(n) => machine.handle_input(clock.now(), Input::Bytes(&buffer[..n])),
            NextInput::End => machine.handle_input(clock.now(), Input::EndOfInput),
            NextInput::Timer => machine.handle_input(clock.now(), Input::TimerFired),
            NextInput::Shutdown => machine.handle_input(clock.now(), Input::Shutdown),
        }
    }
    if !stalled {
        let send_by = clock.to_tokio(machine.send_deadline());
        if let WriteResult::Stalled = bounded(send_by, connection.shutdown()).await {
            report_stall(&mut machine, clock, &mut on_event);
        }
    }
}

/// Answers every request but [`Request::Article`]. A store that fails is
/// logged and answered as if the thing asked for were not there (the
/// client gets the "no such" code, never a hang).
async fn answer_request<B: Backend>(
    context: &NntpContext<'_, B>,
    client: std::net::IpAddr,
    login: &mut Option<String>,
    request: Request,
) -> Input<'static> {
    let news = context.news;
    match request {
        Request::Authenticate(attempt) => {
            let verdict = context.backend.authenticate(attempt, client).await;
            crate::metrics::global().login_verdict(crate::metrics::LoginProtocol::Nntp, &verdict);
            let access = match &verdict {
                AuthVerdict::Accepted(identity) => {
                    *login = Some(identity.login.clone());
                    Some(access_for(context, &identity.login))
                }
                _ => None,
            };
            Input::Authenticated(verdict, access)
        }
        Request::Groups { since } => {
            let groups = logged(news.groups().await, "list the newsgroups").unwrap_or_default();
            Input::Groups(
                groups
                    .into_iter()
                    .filter(|group| since.is_none_or(|since| group.created >= since))
                    .collect(),
            )
        }
        Request::SelectGroup(name) => {
            Input::GroupSelected(logged(news.select(&name).await, "open a newsgroup").flatten())
        }
        Request::Overview(articles) => {
            let records = match located(news, articles).await {
                Some((group, range)) => {
                    logged(news.overview(&group, range).await, "read an overview")
                        .unwrap_or_default()
                        .into_iter()
                        .map(|record| (group.clone(), record))
                        .collect()
                }
                None => Vec::new(),
            };
            Input::Overview(records)
        }
        Request::Header { articles, field } => {
            let values = match located(news, articles).await {
                Some((group, range)) => logged(
                    news.header(&group, range, &field).await,
                    "read header fields",
                )
                .unwrap_or_default()
                .into_iter()
                .map(|(number, value)| (group.clone(), number, value))
                .collect(),
                None => Vec::new(),
            };
            Input::Header(values)
        }
        Request::NewNews { since } => Input::NewNews(
            logged(news.new_news(since).await, "list new articles").unwrap_or_default(),
        ),
        Request::Post {
            article,
            newsgroups,
            message_id,
        } => {
            let poster = Poster {
                client,
                login: login.as_deref(),
            };
            Input::Posted(post(context, &poster, &article, &newsgroups, &message_id).await)
        }
        Request::Article { .. } => unreachable!("the session loop opens articles itself"),
    }
}

/// Who posted: where from, and as whom.
struct Poster<'a> {
    client: std::net::IpAddr,
    login: Option<&'a str>,
}

/// Stores a post, mails it to the lists whose archive groups it names,
/// and sends the news-to-mail copies; the reason for a refusal as the
/// client reads it. A post is refused only if it could go nowhere: once
/// stored, a copy the gateway could not queue is logged, not refused.
async fn post<B: Backend>(
    context: &NntpContext<'_, B>,
    poster: &Poster<'_>,
    article: &[u8],
    newsgroups: &[GroupName],
    message_id: &str,
) -> Result<(), String> {
    let now = context.backend.wall_now();
    let posted = match context.news.post(article, newsgroups, now).await {
        Ok(posted) => posted,
        Err(PostError::Store(error)) => {
            tracing::error!(%error, message_id, "cannot store a posted article");
            return Err("the article could not be stored; try again later".to_owned());
        }
        Err(refused) => return Err(refused.to_string()),
    };
    for (group, number) in &posted.stored {
        tracing::info!(%group, number, message_id, "article {message_id} stored in {group} as {number}");
    }
    let author = postern_core::mailbox::header::field(article, "From")
        .and_then(|from| {
            from.rsplit_once('<')
                .map(|(_, rest)| rest.trim_end_matches('>').trim().to_owned())
                .or(Some(from))
        })
        .unwrap_or_default();
    let submitter = gateway::Submitter {
        sender: poster.login.unwrap_or(&author),
        client: poster.client,
        hostname: context.hostname,
    };
    if !posted.to_lists.is_empty() {
        match gateway::submit(context.backend, &submitter, &posted.to_lists, article).await {
            Ok(Some(queue_id)) => {
                tracing::info!(%queue_id, message_id, "article {message_id} mailed to {} as {queue_id}", posted.to_lists.join(", "));
            }
            Ok(None) => {}
            Err(error) => {
                tracing::error!(%error, message_id, "cannot queue an article for its mailing lists");
                if posted.stored.is_empty() {
                    return Err(
                        "the article could not be passed to its mailing list; try again later"
                            .to_owned(),
                    );
                }
            }
        }
    }
    for (group, address) in &posted.send_to {
        let mail = postern_core::nntp::gateway::mail_from_article(article, group);
        match gateway::submit(
            context.backend,
            &submitter,
            std::slice::from_ref(address),
            &mail,
        )
        .await
        {
            Ok(Some(queue_id)) => {
                tracing::info!(%queue_id, %group, message_id, "news-to-mail: {message_id} of {group} sent to {address} as {queue_id}");
            }
            Ok(None) => {}
            Err(error) => {
                tracing::error!(%error, %group, message_id, "news-to-mail: cannot queue {message_id} for {address}");
            }
        }
    }
    Ok(())
}

/// The article asked for, and its bytes.
async fn open_article<S: MailboxStore + Clone>(
    news: &NewsStore<S>,
    wanted: ArticleRef,
) -> (Option<OpenedArticle>, Vec<u8>) {
    let place = match wanted {
        ArticleRef::Number { group, number } => Some((group, number)),
        ArticleRef::MessageId(id) => logged(news.find(&id).await, "look up a Message-ID").flatten(),
    };
    let Some((group, number)) = place else {
        return (None, Vec::new());
    };
    match logged(news.article(&group, number).await, "read an article").flatten() {
        Some(bytes) => {
            let message_id =
                postern_core::mailbox::header::field(&bytes, "Message-ID").unwrap_or_default();
            (
                Some(OpenedArticle {
                    group,
                    number,
                    message_id,
                }),
                bytes,
            )
        }
        None => (None, Vec::new()),
    }
}

/// The group and range that [`Articles`] names: a message-ID becomes its
/// one article.
async fn located<S: MailboxStore + Clone>(
    news: &NewsStore<S>,
    articles: Articles,
) -> Option<(GroupName, ArticleRange)> {
    match articles {
        Articles::Range { group, range } => Some((group, range)),
        Articles::MessageId(id) => {
            let (group, number) = logged(news.find(&id).await, "look up a Message-ID").flatten()?;
            Some((
                group,
                ArticleRange {
                    first: number,
                    last: Some(number),
                },
            ))
        }
    }
}

/// What a logged-in user may read and post to: the first
/// `[[news_access]]` entry naming them, else the instance's patterns.
fn access_for<B: Backend>(context: &NntpContext<'_, B>, login: &str) -> Access {
    let (read, post) = match context.news.access_for(login) {
        Some(rule) => (rule.read, rule.post),
        None => (
            context.logged_in.0.to_owned(),
            context.logged_in.1.to_owned(),
        ),
    };
    Access {
        read: wildmat(&read),
        post: wildmat(&post),
    }
}

/// A pattern the configuration checked; one that fails anyway grants
/// nothing.
pub(crate) fn wildmat(pattern: &str) -> Wildmat {
    if pattern.is_empty() {
        return Wildmat::nothing();
    }
    Wildmat::parse(pattern).unwrap_or_else(|error| {
        tracing::warn!(pattern, %error, "a news pattern does not parse; it grants nothing");
        Wildmat::nothing()
    })
}

fn logged<T>(result: Result<T, impl std::fmt::Display>, what: &str) -> Option<T> {
    match result {
        Ok(value) => Some(value),
        Err(error) => {
            tracing::error!(%error, "cannot {what}");
            None
        }
    }
}

fn report_stall(machine: &mut NntpServer, clock: Clock, on_event: &mut impl FnMut(&Event)) {
    machine.handle_input(clock.now(), Input::SendTimedOut);
    while let Some(output) = machine.poll_output() {
        if let Output::Event(event) = output {
            on_event(&event);
        }
    }
}
