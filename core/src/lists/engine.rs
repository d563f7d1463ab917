//! The decisions: what each command does to a list's state and who is
//! told, whether a post is distributed, held or refused, and what a
//! bounce counts for. Each function takes the state, changes it in
//! place, and answers an [`Outcome`] for the runtime to carry out.

use super::command::{Command, parse_commands};
use super::compose::{self, Copy, Links, Notice, TRACE_FIELD, mailbox};
use super::state::{Delivery, Held, ListState, Member, Pending, PendingKind};
use super::{ListDefinition, ListKind, MembersVisible};
use crate::address::ReversePath;
use crate::autoreply::Headers;
use crate::directory::Directory;
use crate::envelope::Envelope;
use crate::limits::{
    LIST_BOUNCE_THRESHOLD_MAX, LIST_HELD_MAX, LIST_MEMBERS_MAX, LIST_PENDING_MAX,
    LIST_PENDING_SECONDS,
};
use crate::rng::Rng;
use crate::text::escape_controls;
use crate::time::UnixTime;

/// What every decision needs besides the state.
pub struct Context<'a> {
    pub definition: &'a ListDefinition,
    pub directory: &'a Directory,
    /// This server's name (Message-IDs, archive URLs).
    pub hostname: &'a str,
    /// `[lists] web_url`, if set.
    pub web_url: Option<&'a str>,
    pub now: UnixTime,
}

impl Context<'_> {
    pub(super) fn links(&self) -> Links<'_> {
        Links {
            web_url: self.web_url,
            hostname: self.hostname,
        }
    }
}

/// What became of a post.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PostVerdict {
    /// Send a copy to each of these (address, one-click token): the
    /// fields to put in front of the rewritten post are in each
    /// [`Copy`] of [`Outcome::copies`].
    Distribute,
    /// Kept under this token until a moderator answers; the runtime
    /// keeps the message beside the state.
    Hold(String),
    /// Not distributed; the sender is told why (unless it is the null
    /// sender).
    Refuse(String),
    /// It went through this list before: dropped, with only a log line.
    Loop(String),
}

/// What the runtime is to do, in this order: write the state (if
/// `state_changed`), queue `copies` then `notices`, distribute the held
/// posts in `release` and delete those in `discard`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Outcome {
    pub state_changed: bool,
    pub verdict: Option<PostVerdict>,
    /// A post's copies, one per subscriber (VERP): envelope and the
    /// fields to put in front of the rewritten post.
    pub copies: Vec<Copy>,
    /// Whole messages: replies, confirmations, requests to owners and
    /// moderators.
    pub notices: Vec<Copy>,
    /// Held posts approved: to distribute (the runtime calls
    /// [`copies_of_post`] for each).
    pub release: Vec<String>,
    /// Held posts rejected or expired: to delete.
    pub discard: Vec<String>,
    /// Lines for the log, already escaped.
    pub log: Vec<String>,
}

/// A fresh token: 32 hex digits (128 bits from the seeded RNG).
fn new_token(rng: &mut Rng) -> String {
    format!("{:016x}{:016x}", rng.next_u64(), rng.next_u64())
}

fn sender_of(reverse_path: &ReversePath) -> Option<String> {
    match reverse_path {
        ReversePath::Null => None,
        ReversePath::Mailbox(mailbox) => Some(mailbox.to_string().to_lowercase()),
    }
}

fn notify(
    context: &Context<'_>,
    rng: &mut Rng,
    outcome: &mut Outcome,
    to: &str,
    subject: &str,
    body: &str,
    auto: &str,
) {
    let Some(to) = mailbox(to) else { return };
    let id = new_token(rng);
    let notice = compose::notice(
        context.definition,
        context.directory,
        context.hostname,
        &Notice {
            to: &to,
            subject,
            body,
            now: context.now,
            id: &id,
            auto,
        },
    );
    match notice {
        Some(notice) => outcome.notices.push(notice),
        None => outcome
            .log
            .push(format!("no notice to {to}: no such mailbox here")),
    }
}

/// The help text every `help` (and an empty command message) gets.
fn help_text(definition: &ListDefinition) -> String {
    format!(
        "This is the list server for {address} ({kind} list).\n\nSend commands to {request}, one per line, in the subject or the body:\n\n  subscribe [ADDRESS]    join (a confirmation is sent to the address)\n  unsubscribe [ADDRESS]  leave\n  digest                 receive posts gathered into digests\n  nomail                 stay subscribed but receive nothing\n  resume                 receive each post again\n  members                list the members (where allowed)\n  confirm TOKEN          confirm a subscription\n  approve TOKEN          (owners, moderators) approve a subscription or post\n  reject TOKEN           (owners, moderators) refuse it\n  help                   this text\n\nReading stops at the first line that is not a command, or at a signature (-- ).\n",
        address = definition.address(),
        kind = definition.kind,
        request = definition.request_address(),
    )
}

/// Carries out the commands of a message to the request address (its
/// Subject in `headers`, then its text `body`), and answers its sender
/// with the results. A message that says it was sent automatically
/// (`Auto-Submitted:` other than `no`, RFC 3834 5) is not read: answering
/// a responder could start a loop of answers.
pub fn handle_commands(
    context: &Context<'_>,
    state: &mut ListState,
    rng: &mut Rng,
    envelope: &Envelope,
    headers: &Headers,
    body: &str,
) -> Outcome {
    let mut outcome = Outcome::default();
    let definition = context.definition;
    for token in state.expire(context.now) {
        outcome.discard.push(token);
        outcome.state_changed = true;
    }
    let Some(sender) = sender_of(&envelope.reverse_path) else {
        outcome.log.push(format!(
            "a message to {} with a null sender (a bounce?) is not read for commands",
            definition.request_address()
        ));
        return outcome;
    };
    if let Some(value) = headers.first("auto-submitted")
        && !value.trim().to_ascii_lowercase().starts_with("no")
    {
        outcome.log.push(format!(
            "a message to {} from {} is Auto-Submitted: {}; not read for commands",
            definition.request_address(),
            escape_controls(&sender),
            escape_controls(&crate::text::bounded(value, 100))
        ));
        return outcome;
    }
    let (commands, stopped) = parse_commands(headers.subject.as_deref(), body);
    let mut results = Vec::new();
    for command in &commands {
        let result = run_command(context, state, rng, &mut outcome, &sender, command);
        results.push(format!("> {}\n{result}\n", describe(command)));
    }
    if commands.is_empty() {
        results.push(help_text(definition));
    }
    if let Some(line) = stopped {
        results.push(format!(
            "Stopped reading at: {}\n",
            escape_controls(crate::text::bounded(&line, 200).as_ref())
        ));
    }
    outcome.log.push(format!(
        "{} command(s) from {} to {}",
        commands.len(),
        escape_controls(&sender),
        definition.request_address()
    ));
    notify(
        context,
        rng,
        &mut outcome,
        &sender,
        &format!(
            "Results of your commands to {}",
            definition.request_address()
        ),
        &results.join("\n"),
        "auto-replied",
    );
    outcome
}

fn describe(command: &Command) -> String {
    match command {
        Command::Subscribe(a) => format!("subscribe {}", a.as_deref().unwrap_or("")),
        Command::Unsubscribe(a) => format!("unsubscribe {}", a.as_deref().unwrap_or("")),
        Command::Digest => "digest".into(),
        Command::NoMail => "nomail".into(),
        Command::Resume => "resume".into(),
        Command::Members => "members".into(),
        Command::Help => "help".into(),
        Command::Confirm(t) => format!("confirm {t}"),
        Command::Approve(t) => format!("approve {t}"),
        Command::Reject(t) => format!("reject {t}"),
    }
    .trim_end()
    .to_owned()
}

fn run_command(
    context: &Context<'_>,
    state: &mut ListState,
    rng: &mut Rng,
    outcome: &mut Outcome,
    sender: &str,
    command: &Command,
) -> String {
    let definition = context.definition;
    match command {
        Command::Subscribe(address) => {
            let address = address.as_deref().unwrap_or(sender);
            subscribe(context, state, rng, outcome, address)
        }
        Command::Unsubscribe(address) => {
            let address = address.as_deref().unwrap_or(sender);
            if address != sender && !definition.is_owner(sender) {
                return format!("Only {address} or an owner may unsubscribe {address}.");
            }
            match state.members.get(address) {
                None => format!("{address} is not subscribed."),
                Some(member) if member.barred && !definition.is_owner(sender) => {
                    format!("{address} may not change its subscription.")
                }
                Some(_) => {
                    state.members.remove(address);
                    state.bounces.remove(address);
                    outcome.state_changed = true;
                    outcome.log.push(format!(
                        "{address} unsubscribed from {}",
                        definition.address()
                    ));
                    format!("{address} is unsubscribed.")
                }
            }
        }
        Command::Digest => set_delivery(state, outcome, sender, Delivery::Digest),
        Command::NoMail => set_delivery(state, outcome, sender, Delivery::NoMail),
        Command::Resume => {
            state.bounces.remove(sender);
            set_delivery(state, outcome, sender, Delivery::Mail)
        }
        Command::Members => {
            let allowed = definition.is_moderator(sender)
                || (definition.members_visible == MembersVisible::Subscribers
                    && state.members.contains_key(sender));
            if allowed {
                let members: Vec<&str> = state.members.keys().map(String::as_str).collect();
                format!("{} member(s):\n{}", members.len(), members.join("\n"))
            } else {
                "The member list is not shown to you.".into()
            }
        }
        Command::Help => help_text(definition),
        Command::Confirm(token) => confirm(context, state, rng, outcome, token),
        Command::Approve(token) => approve(context, state, rng, outcome, sender, token),
        Command::Reject(token) => reject(context, state, outcome, sender, token),
    }
}

fn subscribe(
    context: &Context<'_>,
    state: &mut ListState,
    rng: &mut Rng,
    outcome: &mut Outcome,
    address: &str,
) -> String {
    let definition = context.definition;
    match state.members.get(address) {
        Some(member) if member.barred => return format!("{address} may not subscribe."),
        Some(_) => return format!("{address} is already subscribed."),
        None => {}
    }
    if state.pending.len() >= LIST_PENDING_MAX || state.members.len() >= LIST_MEMBERS_MAX {
        return "The list takes no more subscriptions now; try later.".into();
    }
    let token = new_token(rng);
    state.pending.insert(
        token.clone(),
        Pending {
            address: address.to_owned(),
            kind: PendingKind::Confirm,
            expires: UnixTime(context.now.0 + LIST_PENDING_SECONDS),
        },
    );
    outcome.state_changed = true;
    let body = format!(
        "Someone (perhaps you) asked to subscribe {address} to {list}.\n\nTo confirm, reply to this message, or send\n\n  confirm {token}\n\nto {request}. If you did not ask, ignore this message: nothing happens.\n",
        list = definition.address(),
        request = definition.request_address(),
    );
    notify(
        context,
        rng,
        outcome,
        address,
        &format!("confirm {token}"),
        &body,
        "auto-replied",
    );
    format!("A confirmation was sent to {address}.")
}

fn set_delivery(
    state: &mut ListState,
    outcome: &mut Outcome,
    sender: &str,
    delivery: Delivery,
) -> String {
    match state.members.get_mut(sender) {
        None => format!("{sender} is not subscribed."),
        Some(member) if member.barred => format!("{sender} may not change its subscription."),
        Some(member) => {
            member.delivery = delivery;
            outcome.state_changed = true;
            match delivery {
                Delivery::Mail => format!("{sender} receives each post again."),
                Delivery::Digest => format!("{sender} receives digests."),
                Delivery::NoMail | Delivery::Suspended => format!("{sender} receives no mail."),
            }
        }
    }
}

/// Adds a member with a fresh one-click token, receiving mail.
fn add_member(state: &mut ListState, rng: &mut Rng, address: &str) {
    state.members.insert(
        address.to_owned(),
        Member {
            delivery: Delivery::Mail,
            moderated: false,
            barred: false,
            token: new_token(rng),
        },
    );
}

fn confirm(
    context: &Context<'_>,
    state: &mut ListState,
    rng: &mut Rng,
    outcome: &mut Outcome,
    token: &str,
) -> String {
    let definition = context.definition;
    let Some(pending) = state.pending.get(token) else {
        return "No confirmation waits under that token (it may have expired).".into();
    };
    if pending.kind != PendingKind::Confirm {
        return "That token waits for an owner's approval, not a confirmation.".into();
    }
    let address = pending.address.clone();
    state.pending.remove(token);
    outcome.state_changed = true;
    if definition.kind == ListKind::Closed {
        let approval = new_token(rng);
        state.pending.insert(
            approval.clone(),
            Pending {
                address: address.clone(),
                kind: PendingKind::Approve,
                expires: UnixTime(context.now.0 + LIST_PENDING_SECONDS),
            },
        );
        let body = format!(
            "{address} asks to join the closed list {list}.\n\nTo let them in, reply to this message, or send\n\n  approve {approval}\n\nto {request}; to refuse, send\n\n  reject {approval}\n",
            list = definition.address(),
            request = definition.request_address(),
        );
        for owner in &definition.owners {
            notify(
                context,
                rng,
                outcome,
                owner,
                &format!("approve {approval}"),
                &body,
                "auto-generated",
            );
        }
        return format!("{address} is confirmed; the list's owners are asked to approve.");
    }
    add_member(state, rng, &address);
    outcome
        .log
        .push(format!("{address} subscribed to {}", definition.address()));
    format!("{address} is now subscribed to {}.", definition.address())
}

fn approve(
    context: &Context<'_>,
    state: &mut ListState,
    rng: &mut Rng,
    outcome: &mut Outcome,
    sender: &str,
    token: &str,
) -> String {
    let definition = context.definition;
    if let Some(pending) = state.pending.get(token) {
        if pending.kind == PendingKind::Confirm {
            return confirm(context, state, rng, outcome, token);
        }
        if !definition.is_owner(sender) {
            return "Only the list's owners approve subscriptions.".into();
        }
        let address = pending.address.clone();
        state.pending.remove(token);
        add_member(state, rng, &address);
        outcome.state_changed = true;
        outcome.log.push(format!(
            "{address} subscribed to {} (approved by {sender})",
            definition.address()
        ));
        notify(
            context,
            rng,
            outcome,
            &address,
            &format!("Welcome to {}", definition.address()),
            &format!(
                "Your subscription to {} was approved.\n",
                definition.address()
            ),
            "auto-generated",
        );
        return format!("{address} is now subscribed.");
    }
    if state.held.contains_key(token) {
        if !definition.is_moderator(sender) {
            return "Only the list's moderators approve posts.".into();
        }
        state.held.remove(token);
        outcome.state_changed = true;
        outcome.release.push(token.to_owned());
        outcome.log.push(format!(
            "held post {token} to {} approved by {sender}",
            definition.address()
        ));
        return "The post is approved and distributed.".into();
    }
    "Nothing waits under that token (it may have expired).".into()
}

fn reject(
    context: &Context<'_>,
    state: &mut ListState,
    outcome: &mut Outcome,
    sender: &str,
    token: &str,
) -> String {
    let definition = context.definition;
    if let Some(pending) = state.pending.get(token) {
        // A confirmation token proves access to the address: whoever
        // holds it may cancel. An approval is the owners' to refuse.
        if pending.kind == PendingKind::Approve && !definition.is_owner(sender) {
            return "Only the list's owners refuse subscriptions.".into();
        }
        state.pending.remove(token);
        outcome.state_changed = true;
        return "The request is cancelled.".into();
    }
    if state.held.contains_key(token) {
        if !definition.is_moderator(sender) {
            return "Only the list's moderators reject posts.".into();
        }
        state.held.remove(token);
        outcome.state_changed = true;
        outcome.discard.push(token.to_owned());
        outcome.log.push(format!(
            "held post {token} to {} rejected by {sender}",
            definition.address()
        ));
        return "The post is rejected.".into();
    }
    "Nothing waits under that token (it may have expired).".into()
}

/// Decides what becomes of a post to the list address (see
/// [`PostVerdict`]); for [`PostVerdict::Distribute`] the copies are in
/// the outcome.
pub fn handle_post(
    context: &Context<'_>,
    state: &mut ListState,
    rng: &mut Rng,
    envelope: &Envelope,
    headers: &Headers,
) -> Outcome {
    let definition = context.definition;
    let mut outcome = Outcome::default();
    for token in state.expire(context.now) {
        outcome.discard.push(token);
        outcome.state_changed = true;
    }
    let verdict = post_verdict(context, state, rng, &mut outcome, envelope, headers);
    let sender = sender_of(&envelope.reverse_path);
    match &verdict {
        PostVerdict::Distribute => {
            outcome.copies = copies_of_post(context, state, envelope);
            let missing = state.recipients().count() - outcome.copies.len();
            if missing > 0 {
                outcome.log.push(format!(
                    "{missing} subscriber(s) in our domains have no mailbox here: no copy for them"
                ));
            }
        }
        PostVerdict::Refuse(why) => {
            if let Some(sender) = &sender {
                let body = format!(
                    "Your message to {} was not distributed: {why}.\n",
                    definition.address()
                );
                notify(
                    context,
                    rng,
                    &mut outcome,
                    sender,
                    &format!("Not distributed: your message to {}", definition.address()),
                    &body,
                    "auto-replied",
                );
            }
        }
        PostVerdict::Hold(_) | PostVerdict::Loop(_) => {}
    }
    outcome.verdict = Some(verdict);
    outcome
}

fn post_verdict(
    context: &Context<'_>,
    state: &mut ListState,
    rng: &mut Rng,
    outcome: &mut Outcome,
    envelope: &Envelope,
    headers: &Headers,
) -> PostVerdict {
    let definition = context.definition;
    let list_id = format!("<{}>", definition.list_id());
    if headers
        .all("list-id")
        .any(|v| v.to_lowercase().contains(&list_id))
    {
        return PostVerdict::Loop(format!("it carries this list's List-Id {list_id}"));
    }
    let trace = TRACE_FIELD.to_ascii_lowercase();
    if headers
        .all(&trace)
        .any(|v| v.trim().eq_ignore_ascii_case(&definition.address()))
    {
        return PostVerdict::Loop(format!(
            "it carries {TRACE_FIELD}: {}",
            definition.address()
        ));
    }
    let Some(sender) = sender_of(&envelope.reverse_path) else {
        return PostVerdict::Refuse("a message with a null sender is a bounce, not a post".into());
    };
    let member = state.members.get(&sender);
    if member.is_some_and(|m| m.barred) {
        return PostVerdict::Refuse(format!("{sender} may not post to this list"));
    }
    if definition.is_moderator(&sender) {
        return PostVerdict::Distribute;
    }
    if definition.kind == ListKind::Closed && member.is_none() {
        return PostVerdict::Refuse(format!(
            "only subscribers may post, and {sender} is not one"
        ));
    }
    let moderated = definition.kind == ListKind::Moderated || member.is_some_and(|m| m.moderated);
    if !moderated {
        return PostVerdict::Distribute;
    }
    if state.held.len() >= LIST_HELD_MAX {
        return PostVerdict::Refuse("too many posts wait for a moderator; try later".into());
    }
    let token = new_token(rng);
    state.held.insert(
        token.clone(),
        Held {
            sender: sender.clone(),
            expires: UnixTime(context.now.0 + LIST_PENDING_SECONDS),
        },
    );
    outcome.state_changed = true;
    let subject = headers.subject.as_deref().unwrap_or("(no subject)");
    let body = format!(
        "A post from {sender} to {list} waits for approval.\n\nSubject: {subject}\n\nTo distribute it, reply to this message, or send\n\n  approve {token}\n\nto {request}; to drop it, send\n\n  reject {token}\n",
        subject = escape_controls(subject),
        list = definition.address(),
        request = definition.request_address(),
    );
    let moderators = if definition.moderators.is_empty() {
        &definition.owners
    } else {
        &definition.moderators
    };
    for moderator in moderators {
        notify(
            context,
            rng,
            outcome,
            moderator,
            &format!("approve {token}"),
            &body,
            "auto-generated",
        );
    }
    outcome.log.push(format!(
        "post from {sender} to {} held as {token}",
        definition.address()
    ));
    PostVerdict::Hold(token)
}

/// One copy per subscriber who receives mail: the envelope (VERP return
/// path, the subscriber as the one recipient) and that subscriber's list
/// fields.
pub fn copies_of_post(context: &Context<'_>, state: &ListState, original: &Envelope) -> Vec<Copy> {
    let definition = context.definition;
    state
        .recipients()
        .filter_map(|address| {
            let to = mailbox(address)?;
            let from = mailbox(&definition.verp_address(address))
                .or_else(|| mailbox(&definition.bounces_address()))
                .map_or(ReversePath::Null, ReversePath::Mailbox);
            let token = state.members.get(address).map(|m| m.token.as_str());
            let fields = compose::list_headers(definition, context.links(), token);
            let smtputf8 = original.smtputf8 || !address.is_ascii();
            Some(Copy {
                envelope: compose::envelope(
                    context.directory,
                    context.hostname,
                    from,
                    &to,
                    original.body,
                    smtputf8,
                )?,
                message: fields.into_bytes(),
            })
        })
        .collect()
}

/// Counts a bounce of the copy sent to `subscriber`; past the list's
/// threshold within its window, the subscriber is suspended and the
/// owners are told.
pub fn handle_bounce(
    context: &Context<'_>,
    state: &mut ListState,
    rng: &mut Rng,
    subscriber: Option<&str>,
) -> Outcome {
    let definition = context.definition;
    let mut outcome = Outcome::default();
    let Some(address) = subscriber else {
        outcome.log.push(format!(
            "a bounce to {} names no subscriber; dropped",
            definition.bounces_address()
        ));
        return outcome;
    };
    let Some(member) = state.members.get_mut(address) else {
        outcome.log.push(format!(
            "a bounce for {address}, who is not subscribed to {}; dropped",
            definition.address()
        ));
        return outcome;
    };
    if member.delivery == Delivery::Suspended {
        outcome.log.push(format!(
            "a bounce for {address}, already suspended on {}",
            definition.address()
        ));
        return outcome;
    }
    let window = i64::try_from(definition.bounce_window.as_secs()).unwrap_or(i64::MAX);
    let since = context.now.0.saturating_sub(window);
    let times = state.bounces.entry(address.to_owned()).or_default();
    times.retain(|t| t.0 > since);
    times.push(context.now);
    let threshold = definition
        .bounce_threshold
        .clamp(1, LIST_BOUNCE_THRESHOLD_MAX) as usize;
    if times.len() > threshold {
        times.drain(..times.len() - threshold);
    }
    let count = times.len();
    outcome.state_changed = true;
    outcome.log.push(format!(
        "bounce {count} of {threshold} for {address} on {}",
        definition.address()
    ));
    if count >= threshold {
        member.delivery = Delivery::Suspended;
        state.bounces.remove(address);
        outcome.log.push(format!(
            "{address} suspended on {} after {count} bounces",
            definition.address()
        ));
        let body = format!(
            "Mail to {address} bounced {count} times within {days} day(s), so {address} no longer receives posts from {list}.\n\nThey stay subscribed; sending \"resume\" to {request} (or `postern list members {list} set {address} delivery mail`) restores delivery.\n",
            days = definition.bounce_window.as_secs().div_ceil(86_400),
            list = definition.address(),
            request = definition.request_address(),
        );
        for owner in &definition.owners {
            notify(
                context,
                rng,
                &mut outcome,
                owner,
                &format!("{address} suspended on {}", definition.address()),
                &body,
                "auto-generated",
            );
        }
    }
    outcome
}

/// The one-click unsubscribe (RFC 8058) of the member whose token this
/// is: removes them and answers their address.
pub fn handle_unsubscribe_token(state: &mut ListState, token: &str) -> Option<String> {
    let address = state
        .members
        .iter()
        .find(|(_, m)| m.token == token)
        .map(|(a, _)| a.clone())?;
    state.members.remove(&address);
    state.bounces.remove(&address);
    Some(address)
}
