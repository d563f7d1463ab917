//! Mail the news service sends: a post to a list's archive group, mailed
//! to the list, and the news-to-mail gateway's copies of new articles.

use crate::driver::{Backend, StoredMessage};
use postern_core::address::{ForwardPath, ReversePath, parse_mailbox};
use postern_core::directory::RecipientVerdict;
use postern_core::envelope::{ClientInfo, Destination, Envelope, QueueId, Recipient};
use postern_core::smtp::server::BodyType;
use std::io;
use std::net::IpAddr;

/// Who hands a message in, for its envelope and its `Received:` field.
pub struct Submitter<'a> {
    /// The envelope sender: the logged-in user, or the article's author.
    pub sender: &'a str,
    pub client: IpAddr,
    pub hostname: &'a str,
}

/// Commits `message` to the spool for `recipients` (addresses), as the
/// queue then delivers any message: local ones to their mailboxes (a
/// list's address to the list), others out. Unknown local addresses are
/// left out with a log line; with none left, nothing is queued.
pub async fn submit<B: Backend>(
    backend: &B,
    from: &Submitter<'_>,
    recipients: &[String],
    message: &[u8],
) -> io::Result<Option<QueueId>> {
    let mut accepted = Vec::new();
    for address in recipients {
        let Ok(mailbox) = parse_mailbox(address) else {
            tracing::warn!(address, "not a mail address; left out");
            continue;
        };
        let forward_path = ForwardPath::Mailbox(mailbox);
        let destination = match backend.resolve(&forward_path) {
            RecipientVerdict::Local(mailbox) => Destination::Local(mailbox),
            RecipientVerdict::NotLocal => Destination::Remote,
            RecipientVerdict::UnknownLocalUser => {
                tracing::warn!(address, "no such local mailbox; left out");
                continue;
            }
        };
        accepted.push(Recipient {
            forward_path,
            destination,
        });
    }
    if accepted.is_empty() {
        return Ok(None);
    }
    let reverse_path = match parse_mailbox(from.sender) {
        Ok(mailbox) => ReversePath::Mailbox(mailbox),
        Err(_) => ReversePath::Null,
    };
    let envelope = Envelope {
        reverse_path,
        recipients: accepted,
        body: BodyType::EightBitMime,
        smtputf8: !from.sender.is_ascii() || recipients.iter().any(|r| !r.is_ascii()),
        client: ClientInfo {
            helo: "news".to_owned(),
            address: from.client.to_string(),
            submitted: false,
        },
    };
    let (opened, mut file) = backend.open(envelope).await?;
    let received = format!(
        "Received: from news ({})\r\n\tby {} (Postern) with NNTP id {};\r\n\t{}\r\n",
        match from.client {
            IpAddr::V4(v4) => format!("[{v4}]"),
            IpAddr::V6(v6) => format!("[IPv6:{v6}]"),
        },
        from.hostname,
        opened.queue_id,
        opened.received_at.to_rfc5322()
    );
    let written = async {
        file.write(received.as_bytes()).await?;
        file.write(message).await
    }
    .await;
    if let Err(error) = written {
        file.abort().await;
        return Err(error);
    }
    file.commit().await?;
    Ok(Some(opened.queue_id))
}
