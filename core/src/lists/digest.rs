//! Digests (RFC 2046 5.1.5): posts gathered for the members who asked
//! for `digest`, sent as one `multipart/digest` message whose parts are
//! the posts (each part's type is `message/rfc822` by default there, so a
//! part is a blank line and the post). The preamble lists the posts, for
//! readers that show no parts. A digest goes out when it holds
//! [`LIST_DIGEST_POSTS_MAX`] posts or [`LIST_DIGEST_BYTES_MAX`] octets.

use super::compose::{self, Copy, mailbox};
use super::engine::Context;
use super::state::ListState;
use crate::address::ReversePath;
use crate::autoreply::Headers;
use crate::limits::{LIST_DIGEST_BYTES_MAX, LIST_DIGEST_POSTS_MAX};
use crate::rng::Rng;
use crate::smtp::server::BodyType;
use crate::text::{bounded, escape_controls};

/// True when posts gathered so far (`count` of them, `bytes` octets)
/// make a digest.
pub fn digest_due(count: usize, bytes: usize) -> bool {
    count >= LIST_DIGEST_POSTS_MAX || (count > 0 && bytes >= LIST_DIGEST_BYTES_MAX)
}

/// A boundary that occurs in none of `posts`.
fn boundary(rng: &mut Rng, posts: &[Vec<u8>]) -> String {
    loop {
        let candidate = format!("=_postern-digest-{:016x}", rng.next_u64());
        let needle = candidate.as_bytes();
        if !posts
            .iter()
            .any(|post| post.windows(needle.len()).any(|w| w == needle))
        {
            return candidate;
        }
    }
}

/// The table of contents: one line per post, its subject and sender.
fn contents(posts: &[Vec<u8>]) -> String {
    let mut text = String::new();
    for (n, post) in posts.iter().enumerate() {
        let headers = Headers::parse(post);
        let subject = headers.subject.as_deref().unwrap_or("(no subject)");
        let from = headers.first("from").unwrap_or("");
        text.push_str(&format!(
            "{:>3}. {} ({})\r\n",
            n + 1,
            escape_controls(&bounded(subject, 200)),
            escape_controls(&bounded(from, 200))
        ));
    }
    text
}

/// One digest of `posts` (each already rewritten for the list) for every
/// member who receives digests: each copy with that member's list fields
/// and VERP return path, like a post's copy.
pub fn digest_copies(
    context: &Context<'_>,
    state: &ListState,
    rng: &mut Rng,
    posts: &[Vec<u8>],
) -> Vec<Copy> {
    let definition = context.definition;
    let boundary = boundary(rng, posts);
    let id = format!("{:016x}{:016x}", rng.next_u64(), rng.next_u64());
    let mut body = Vec::new();
    body.extend_from_slice(
        format!(
            "This is a digest of {} post(s) to {}:\r\n\r\n{}\r\n",
            posts.len(),
            definition.address(),
            contents(posts)
        )
        .as_bytes(),
    );
    for post in posts {
        body.extend_from_slice(format!("--{boundary}\r\n\r\n").as_bytes());
        body.extend_from_slice(post);
        if !post.ends_with(b"\n") {
            body.extend_from_slice(b"\r\n");
        }
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    let subject = match &definition.subject_tag {
        Some(tag) => format!("{tag} digest, {} post(s)", posts.len()),
        None => format!("{} digest, {} post(s)", definition.address(), posts.len()),
    };
    state
        .digest_recipients()
        .filter_map(|address| {
            let to = mailbox(address)?;
            let from = mailbox(&definition.verp_address(address))
                .map_or(ReversePath::Null, ReversePath::Mailbox);
            let token = state.members.get(address).map(|m| m.token.as_str());
            let mut message = compose::list_headers(definition, context.links(), token);
            message.push_str(&format!(
                "From: {request}\r\nReply-To: {list}\r\nTo: {address}\r\nSubject: {subject}\r\nDate: {date}\r\nMessage-ID: <digest-{id}@{host}>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/digest; boundary=\"{boundary}\"\r\n{trace}: {list}\r\nPrecedence: list\r\n\r\n",
                request = definition.request_address(),
                list = definition.address(),
                date = context.now.to_rfc5322(),
                host = context.hostname,
                trace = compose::TRACE_FIELD,
            ));
            let mut message = message.into_bytes();
            message.extend_from_slice(&body);
            Some(Copy {
                envelope: compose::envelope(
                    context.directory,
                    context.hostname,
                    from,
                    &to,
                    BodyType::EightBitMime,
                    !address.is_ascii(),
                )?,
                message,
            })
        })
        .collect()
}
