//! Commands, confirmations, settings and the state file; posting is in
//! `posting.rs`.

use super::*;
use crate::address::{ForwardPath, Mailbox, ReversePath};
use crate::config::DomainConfig;
use crate::directory::Directory;
use crate::envelope::{ClientInfo, Destination, Envelope, LocalMailbox, Recipient};
use crate::rng::Rng;
use crate::smtp::server::BodyType;
use crate::time::UnixTime;
use std::collections::BTreeMap;

mod posting;

const T0: UnixTime = UnixTime(1_800_000_000);

fn directory() -> Directory {
    Directory::new(&[DomainConfig {
        name: "example.test".into(),
        users: vec!["alice".into(), "owner".into()],
        aliases: BTreeMap::new(),
        catch_all: None,
    }])
}

fn list(kind: ListKind) -> ListDefinition {
    let mut list = ListDefinition::new("team", "example.test");
    list.kind = kind;
    list.owners = vec!["owner@example.test".into()];
    list.subject_tag = Some("[team]".into());
    list.bounce_threshold = 3;
    list
}

fn envelope(from: &str) -> Envelope {
    let (local, domain) = from.split_once('@').unwrap();
    Envelope {
        reverse_path: ReversePath::Mailbox(Mailbox {
            local_part: local.into(),
            domain: domain.into(),
        }),
        recipients: vec![Recipient {
            forward_path: ForwardPath::Mailbox(Mailbox {
                local_part: "team".into(),
                domain: "example.test".into(),
            }),
            destination: Destination::Local(LocalMailbox {
                domain: "example.test".into(),
                user: "team".into(),
            }),
        }],
        body: BodyType::SevenBit,
        smtputf8: false,
        client: ClientInfo {
            helo: "client".into(),
            address: "127.0.0.1".into(),
            submitted: false,
        },
    }
}

struct World {
    definition: ListDefinition,
    directory: Directory,
    state: ListState,
    rng: Rng,
    now: UnixTime,
}

impl World {
    fn new(kind: ListKind) -> Self {
        World {
            definition: list(kind),
            directory: directory(),
            state: ListState::default(),
            rng: Rng::new(7),
            now: T0,
        }
    }

    fn command(&mut self, from: &str, text: &str) -> Outcome {
        let context = Context {
            definition: &self.definition,
            directory: &self.directory,
            hostname: "mx.example.test",
            web_url: Some("https://mail.example.test"),
            now: self.now,
        };
        handle_commands(
            &context,
            &mut self.state,
            &mut self.rng,
            &envelope(from),
            &crate::autoreply::Headers::default(),
            text,
        )
    }

    fn post(&mut self, from: &str, header: &str) -> Outcome {
        let context = Context {
            definition: &self.definition,
            directory: &self.directory,
            hostname: "mx.example.test",
            web_url: Some("https://mail.example.test"),
            now: self.now,
        };
        let headers = crate::autoreply::Headers::parse(header.as_bytes());
        handle_post(
            &context,
            &mut self.state,
            &mut self.rng,
            &envelope(from),
            &headers,
        )
    }

    fn bounce(&mut self, who: &str) -> Outcome {
        let context = Context {
            definition: &self.definition,
            directory: &self.directory,
            hostname: "mx.example.test",
            web_url: None,
            now: self.now,
        };
        handle_bounce(&context, &mut self.state, &mut self.rng, Some(who))
    }

    fn only_pending_token(&self) -> String {
        assert_eq!(self.state.pending.len(), 1, "{:?}", self.state.pending);
        self.state.pending.keys().next().unwrap().clone()
    }

    fn subscribe(&mut self, who: &str) {
        self.command(who, "subscribe");
        let token = self.only_pending_token();
        self.command(who, &format!("confirm {token}"));
        assert!(self.state.members.contains_key(who));
    }
}

fn text(copy: &Copy) -> String {
    String::from_utf8(copy.message.clone()).unwrap()
}

#[test]
fn command_parsing_table() {
    let token = "0123456789abcdef0123456789abcdef";
    let (confirm, approve, reject) = (
        format!("confirm {token}"),
        format!("approve {}", token.to_uppercase()),
        format!("reject {token}"),
    );
    let rows: Vec<(&str, Vec<Command>, Option<&str>)> = vec![
        ("subscribe", vec![Command::Subscribe(None)], None),
        (
            "SUBSCRIBE Bob@Example.test",
            vec![Command::Subscribe(Some("bob@example.test".into()))],
            None,
        ),
        (
            "unsubscribe\nhelp",
            vec![Command::Unsubscribe(None), Command::Help],
            None,
        ),
        (
            "signoff <a@b.test>",
            vec![Command::Unsubscribe(Some("a@b.test".into()))],
            None,
        ),
        (
            "digest\nnomail\nresume\nmembers",
            vec![
                Command::Digest,
                Command::NoMail,
                Command::Resume,
                Command::Members,
            ],
            None,
        ),
        (&confirm, vec![Command::Confirm(token.into())], None),
        (&approve, vec![Command::Approve(token.into())], None),
        (&reject, vec![Command::Reject(token.into())], None),
        ("\n\n  help  \n", vec![Command::Help], None),
        (
            "help\nplease add me\nsubscribe",
            vec![Command::Help],
            Some("please add me"),
        ),
        ("help\n-- \nsubscribe", vec![Command::Help], None),
        ("help me now", vec![], Some("help me now")),
        ("confirm 1234", vec![], Some("confirm 1234")),
        (
            "subscribe not-an-address",
            vec![],
            Some("subscribe not-an-address"),
        ),
        ("> subscribe", vec![], Some("> subscribe")),
    ];
    for (body, commands, stopped) in rows {
        let (got, got_stopped) = parse_commands(None, body);
        assert_eq!(got, commands, "{body:?}");
        assert_eq!(got_stopped.as_deref(), stopped, "{body:?}");
    }
}

#[test]
fn the_subject_is_read_first_and_replies_carry_the_token() {
    let token = "0123456789abcdef0123456789abcdef";
    let (commands, _) = parse_commands(Some(&format!("Re: AW: confirm {token}")), "");
    assert_eq!(commands, [Command::Confirm(token.into())]);
    let (commands, _) = parse_commands(Some("Hello there"), "help");
    assert_eq!(commands, [Command::Help]);
}

#[test]
fn commands_stop_at_the_limit() {
    let body = "help\n".repeat(crate::limits::LIST_COMMANDS_PER_MESSAGE_MAX + 5);
    let (commands, stopped) = parse_commands(None, &body);
    assert_eq!(commands.len(), crate::limits::LIST_COMMANDS_PER_MESSAGE_MAX);
    assert_eq!(stopped.as_deref(), Some("help"));
}

#[test]
fn open_list_subscription_needs_confirmation() {
    let mut world = World::new(ListKind::Open);
    let outcome = world.command("bob@remote.test", "subscribe");
    assert!(world.state.members.is_empty(), "not before confirming");
    let token = world.only_pending_token();
    // A confirmation to the address, and the results to the sender.
    assert_eq!(outcome.notices.len(), 2);
    let confirmation = text(&outcome.notices[0]);
    assert!(
        confirmation.contains(&format!("Subject: confirm {token}")),
        "{confirmation}"
    );
    assert_eq!(
        outcome.notices[0].envelope.recipients[0]
            .forward_path
            .to_string(),
        "<bob@remote.test>"
    );
    // Replying to the confirmation (token in the subject) confirms.
    let context_reply = format!("Re: confirm {token}");
    let context = Context {
        definition: &world.definition,
        directory: &world.directory,
        hostname: "h",
        web_url: None,
        now: world.now,
    };
    handle_commands(
        &context,
        &mut world.state,
        &mut world.rng,
        &envelope("bob@remote.test"),
        &crate::autoreply::Headers::parse(format!("Subject: {context_reply}\r\n").as_bytes()),
        "> quoted text",
    );
    assert_eq!(
        world.state.members["bob@remote.test"].delivery,
        Delivery::Mail
    );
    assert!(world.state.pending.is_empty());
}

#[test]
fn subscribing_someone_else_sends_the_confirmation_to_them() {
    let mut world = World::new(ListKind::Open);
    let outcome = world.command("mallory@remote.test", "subscribe victim@remote.test");
    assert_eq!(
        outcome.notices[0].envelope.recipients[0]
            .forward_path
            .to_string(),
        "<victim@remote.test>"
    );
    assert!(world.state.members.is_empty());
}

#[test]
fn closed_list_needs_the_owners_approval() {
    let mut world = World::new(ListKind::Closed);
    world.command("bob@remote.test", "subscribe");
    let confirm = world.only_pending_token();
    let outcome = world.command("bob@remote.test", &format!("confirm {confirm}"));
    assert!(world.state.members.is_empty());
    let approval = world.only_pending_token();
    assert_ne!(approval, confirm);
    assert!(
        outcome
            .notices
            .iter()
            .any(|n| n.envelope.recipients[0].forward_path.to_string() == "<owner@example.test>")
    );
    // Bob cannot approve himself.
    world.command("bob@remote.test", &format!("approve {approval}"));
    assert!(world.state.members.is_empty());
    world.command("owner@example.test", &format!("approve {approval}"));
    assert!(world.state.members.contains_key("bob@remote.test"));
}

#[test]
fn settings_unsubscribe_and_barred_members() {
    let mut world = World::new(ListKind::Open);
    world.subscribe("bob@remote.test");
    let rows = [
        ("nomail", Delivery::NoMail),
        ("digest", Delivery::Digest),
        ("resume", Delivery::Mail),
    ];
    for (command, delivery) in rows {
        world.command("bob@remote.test", command);
        assert_eq!(
            world.state.members["bob@remote.test"].delivery, delivery,
            "{command}"
        );
    }
    // Someone else cannot unsubscribe bob; the owner can.
    world.command("mallory@remote.test", "unsubscribe bob@remote.test");
    assert!(world.state.members.contains_key("bob@remote.test"));
    world
        .state
        .members
        .get_mut("bob@remote.test")
        .unwrap()
        .barred = true;
    world.command("bob@remote.test", "nomail");
    assert_eq!(
        world.state.members["bob@remote.test"].delivery,
        Delivery::Mail,
        "barred cannot change"
    );
    world.command("bob@remote.test", "unsubscribe");
    assert!(
        world.state.members.contains_key("bob@remote.test"),
        "barred cannot leave to rejoin"
    );
    world.command("owner@example.test", "unsubscribe bob@remote.test");
    assert!(!world.state.members.contains_key("bob@remote.test"));
}

#[test]
fn members_are_shown_to_owners_only_by_default() {
    let mut world = World::new(ListKind::Open);
    world.subscribe("bob@remote.test");
    let to_bob = text(&world.command("bob@remote.test", "members").notices[0]);
    assert!(to_bob.contains("not shown"), "{to_bob}");
    let to_owner = text(&world.command("owner@example.test", "members").notices[0]);
    assert!(to_owner.contains("bob@remote.test"), "{to_owner}");
}

#[test]
fn state_files_round_trip_and_damage_names_the_line() {
    let mut world = World::new(ListKind::Moderated);
    world.subscribe("bob@remote.test");
    world.command("carol@remote.test", "subscribe");
    world.post("dave@remote.test", "Subject: x\r\n");
    world.bounce("bob@remote.test");
    let text = world.state.render();
    assert_eq!(ListState::parse(&text).unwrap(), world.state);
    let damaged = text
        .replacen("member bob@remote.test", "member bob@remote.test-", 1)
        .replace(" mail", " sometimes");
    let error = ListState::parse(&damaged).unwrap_err();
    assert_eq!(error.line, 2, "{error}");
    assert_eq!(ListState::parse("nonsense").unwrap_err().line, 1);
}

#[test]
fn pending_tokens_expire() {
    let mut world = World::new(ListKind::Open);
    world.command("bob@remote.test", "subscribe");
    let token = world.only_pending_token();
    world.now = UnixTime(world.now.0 + crate::limits::LIST_PENDING_SECONDS + 1);
    world.command("bob@remote.test", &format!("confirm {token}"));
    assert!(world.state.members.is_empty());
}

#[test]
fn one_click_token_unsubscribes_its_member() {
    let mut world = World::new(ListKind::Open);
    world.subscribe("bob@remote.test");
    let token = world.state.members["bob@remote.test"].token.clone();
    assert_eq!(
        handle_unsubscribe_token(&mut world.state, &"0".repeat(32)),
        None
    );
    assert_eq!(
        handle_unsubscribe_token(&mut world.state, &token).as_deref(),
        Some("bob@remote.test")
    );
    assert!(world.state.members.is_empty());
}

#[test]
fn the_directory_takes_list_addresses() {
    let directory = directory().with_lists([&list(ListKind::Open)]);
    let to = |local: &str| {
        ForwardPath::Mailbox(Mailbox {
            local_part: local.into(),
            domain: "example.test".into(),
        })
    };
    for local in ["team", "Team-Request", "team-bounces+bob=remote.test"] {
        assert_eq!(
            directory.resolve(&to(local)),
            crate::directory::RecipientVerdict::Local(LocalMailbox {
                domain: "example.test".into(),
                user: local.to_lowercase()
            })
        );
    }
    assert_eq!(
        directory.resolve(&to("teamwork")),
        crate::directory::RecipientVerdict::UnknownLocalUser
    );
}

#[test]
fn commands_are_read_from_the_text_part() {
    let message = b"Subject: Re: help\r\nMIME-Version: 1.0\r\nContent-Type: multipart/alternative; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nsubscribe\r\nnomail\r\n\r\n-- \r\nBob\r\n--b\r\nContent-Type: text/html\r\n\r\n<p>subscribe</p>\r\n--b--\r\n";
    let (subject, body) = command_text(message);
    let (commands, stopped) = parse_commands(subject.as_deref(), &body);
    assert_eq!(
        commands,
        [Command::Help, Command::Subscribe(None), Command::NoMail]
    );
    assert_eq!(stopped, None);
}

#[test]
fn an_auto_submitted_message_to_the_request_address_is_not_answered() {
    let mut world = World::new(ListKind::Open);
    let context = Context {
        definition: &world.definition,
        directory: &world.directory,
        hostname: "h",
        web_url: None,
        now: world.now,
    };
    for (field, answered) in [
        ("Auto-Submitted: auto-replied\r\n", false),
        ("Auto-Submitted: auto-generated (vacation)\r\n", false),
        ("Auto-Submitted: no\r\n", true),
        ("", true),
    ] {
        let headers = crate::autoreply::Headers::parse(format!("{field}Subject: x\r\n").as_bytes());
        let outcome = handle_commands(
            &context,
            &mut world.state,
            &mut world.rng,
            &envelope("bob@remote.test"),
            &headers,
            "help",
        );
        assert_eq!(!outcome.notices.is_empty(), answered, "{field}");
    }
}

#[test]
fn a_moderators_webmail_answer_is_the_reply_the_request_asks_for() {
    let post = crate::lists::HeldPost {
        list: "news@example.test".to_owned(),
        request_address: "news-request@example.test".to_owned(),
        token: "t0k3n".to_owned(),
        sender: "bob@example.test".to_owned(),
        subject: "Big news".to_owned(),
    };
    assert_eq!(
        post.answer("alice@example.test", true),
        "From: <alice@example.test>\r\nTo: <news-request@example.test>\r\nSubject: approve t0k3n\r\nAuto-Submitted: no\r\n\r\napprove t0k3n\r\n"
    );
    assert!(
        post.answer("alice@example.test", false)
            .contains("Subject: reject t0k3n\r\n")
    );
}
