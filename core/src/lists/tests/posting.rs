//! Posting, copies, loops, bounces and digests.

use super::*;

#[test]
fn who_may_post_per_kind() {
    let header = "From: x\r\nSubject: hi\r\n";
    for (kind, member, expected) in [
        (ListKind::Open, false, "distribute"),
        (ListKind::Open, true, "distribute"),
        (ListKind::Closed, false, "refuse"),
        (ListKind::Closed, true, "distribute"),
        (ListKind::Moderated, false, "hold"),
        (ListKind::Moderated, true, "hold"),
    ] {
        let mut world = World::new(kind);
        let subscriber = |token: char| Member {
            delivery: Delivery::Mail,
            moderated: false,
            barred: false,
            token: token.to_string().repeat(32),
        };
        world
            .state
            .members
            .insert("carol@remote.test".into(), subscriber('a'));
        if member {
            world
                .state
                .members
                .insert("bob@remote.test".into(), subscriber('b'));
        }
        let verdict = world.post("bob@remote.test", header).verdict.unwrap();
        let got = match verdict {
            PostVerdict::Distribute => "distribute",
            PostVerdict::Refuse(_) => "refuse",
            PostVerdict::Hold(_) => "hold",
            PostVerdict::Loop(_) => "loop",
        };
        assert_eq!(got, expected, "{kind} member={member}");
    }
}

#[test]
fn a_moderated_member_is_held_and_a_barred_one_refused() {
    let mut world = World::new(ListKind::Open);
    world.subscribe("bob@remote.test");
    world
        .state
        .members
        .get_mut("bob@remote.test")
        .unwrap()
        .moderated = true;
    assert!(matches!(
        world.post("bob@remote.test", "Subject: x\r\n").verdict,
        Some(PostVerdict::Hold(_))
    ));
    world
        .state
        .members
        .get_mut("bob@remote.test")
        .unwrap()
        .barred = true;
    assert!(matches!(
        world.post("bob@remote.test", "Subject: x\r\n").verdict,
        Some(PostVerdict::Refuse(_))
    ));
}

#[test]
fn a_held_post_is_released_by_a_moderator_only() {
    let mut world = World::new(ListKind::Moderated);
    let outcome = world.post("bob@remote.test", "Subject: news\r\n");
    let Some(PostVerdict::Hold(token)) = outcome.verdict else {
        panic!()
    };
    let request = text(&outcome.notices[0]);
    assert!(
        request.contains(&format!("Subject: approve {token}")),
        "{request}"
    );
    assert!(
        world
            .command("bob@remote.test", &format!("approve {token}"))
            .release
            .is_empty()
    );
    let outcome = world.command("owner@example.test", &format!("approve {token}"));
    assert_eq!(outcome.release, std::slice::from_ref(&token));
    assert!(world.state.held.is_empty());
    // Rejecting instead discards.
    let Some(PostVerdict::Hold(token)) =
        world.post("bob@remote.test", "Subject: again\r\n").verdict
    else {
        panic!()
    };
    assert_eq!(
        world
            .command("owner@example.test", &format!("reject {token}"))
            .discard,
        [token]
    );
}

#[test]
fn copies_carry_verp_and_list_fields() {
    let mut world = World::new(ListKind::Open);
    world.subscribe("bob@remote.test");
    world.subscribe("alice@example.test");
    let outcome = world.post("bob@remote.test", "Subject: hi\r\n");
    assert_eq!(outcome.copies.len(), 2);
    let to_bob = outcome
        .copies
        .iter()
        .find(|c| c.envelope.recipients[0].forward_path.to_string() == "<bob@remote.test>")
        .unwrap();
    assert_eq!(
        to_bob.envelope.reverse_path.to_string(),
        "<team-bounces+bob=remote.test@example.test>"
    );
    assert_eq!(
        to_bob.envelope.recipients[0].destination,
        Destination::Remote
    );
    let fields = text(to_bob);
    let token = &world.state.members["bob@remote.test"].token;
    for expected in [
        "List-Id: <team.example.test>\r\n",
        "List-Post: <mailto:team@example.test>\r\n",
        "List-Help: <mailto:team-request@example.test?subject=help>\r\n",
        &format!(
            "List-Unsubscribe: <https://mail.example.test/lists/unsubscribe/{token}>, <mailto:team-request@example.test?subject=unsubscribe>\r\n"
        ),
        "List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n",
    ] {
        assert!(fields.contains(expected), "{expected} in {fields}");
    }
    let to_alice = outcome
        .copies
        .iter()
        .find(|c| c.envelope.recipients[0].forward_path.to_string() == "<alice@example.test>")
        .unwrap();
    assert!(matches!(
        to_alice.envelope.recipients[0].destination,
        Destination::Local(_)
    ));
}

#[test]
fn verp_round_trips_through_the_role() {
    let definition = list(ListKind::Open);
    for subscriber in [
        "bob@remote.test",
        "a=b@x.test",
        "first.last+tag@sub.example.test",
    ] {
        let verp = definition.verp_address(subscriber);
        let local = verp.split_once('@').unwrap().0;
        assert_eq!(
            Role::of("team", local),
            Some(Role::Bounce(Some(subscriber.into()))),
            "{verp}"
        );
    }
    let rows = [
        ("team", Some(Role::Post)),
        ("TEAM-Request", Some(Role::Request)),
        ("team-bounces", Some(Role::Bounce(None))),
        ("team-bounces+junk", Some(Role::Bounce(None))),
        ("teamwork", None),
        ("team-owner", None),
        ("other", None),
    ];
    for (local, role) in rows {
        assert_eq!(Role::of("team", local), role, "{local}");
    }
}

#[test]
fn loops_are_dropped() {
    let mut world = World::new(ListKind::Open);
    world.subscribe("bob@remote.test");
    for header in [
        "List-Id: Team <team.example.test>\r\nSubject: x\r\n",
        "X-BeenThere: team@example.test\r\nList-Id: <other.list.test>\r\n",
    ] {
        let outcome = world.post("bob@remote.test", header);
        assert!(
            matches!(outcome.verdict, Some(PostVerdict::Loop(_))),
            "{header}"
        );
        assert!(outcome.copies.is_empty() && outcome.notices.is_empty());
    }
    // Another list's fields are no loop.
    let outcome = world.post("bob@remote.test", "List-Id: <other.list.test>\r\n");
    assert_eq!(outcome.verdict, Some(PostVerdict::Distribute));
}

#[test]
fn the_header_is_rewritten_once() {
    let definition = list(ListKind::Open);
    let post = b"Subject: hello\r\nList-Id: <other.test>\r\nPrecedence: bulk\r\nX-BeenThere: other@list.test\r\n\r\nbody\r\n";
    let out = String::from_utf8(rewrite_header(&definition, post)).unwrap();
    assert_eq!(
        out,
        "Subject: [team] hello\r\nX-BeenThere: other@list.test\r\nX-BeenThere: team@example.test\r\nPrecedence: list\r\n\r\nbody\r\n"
    );
    let reply = b"Subject: Re: [TEAM] hello\r\n\r\nbody\r\n";
    let out = String::from_utf8(rewrite_header(&definition, reply)).unwrap();
    assert!(out.starts_with("Subject: Re: [TEAM] hello\r\n"), "{out}");
}

#[test]
fn bounces_suspend_within_the_window_only() {
    let mut world = World::new(ListKind::Open);
    world.subscribe("bob@remote.test");
    let day = 86_400;
    // Two bounces, then a gap longer than the window: the count restarts.
    world.bounce("bob@remote.test");
    world.now = UnixTime(world.now.0 + day);
    world.bounce("bob@remote.test");
    world.now = UnixTime(world.now.0 + 8 * day);
    world.bounce("bob@remote.test");
    assert_eq!(
        world.state.members["bob@remote.test"].delivery,
        Delivery::Mail
    );
    world.bounce("bob@remote.test");
    let outcome = world.bounce("bob@remote.test");
    assert_eq!(
        world.state.members["bob@remote.test"].delivery,
        Delivery::Suspended
    );
    assert_eq!(outcome.notices.len(), 1, "the owner is told");
    assert_eq!(
        outcome.notices[0].envelope.recipients[0]
            .forward_path
            .to_string(),
        "<owner@example.test>"
    );
    // A suspended member gets no copies; resume restores.
    assert!(
        world
            .post("owner@example.test", "Subject: x\r\n")
            .copies
            .is_empty()
    );
    world.command("bob@remote.test", "resume");
    assert_eq!(
        world
            .post("owner@example.test", "Subject: x\r\n")
            .copies
            .len(),
        1
    );
    // Bounces for strangers change nothing.
    assert!(!world.bounce("nobody@remote.test").state_changed);
}

#[test]
fn digests_gather_posts_into_multipart_digest() {
    use crate::limits::{LIST_DIGEST_BYTES_MAX, LIST_DIGEST_POSTS_MAX};
    for (count, bytes, due) in [
        (0, 0, false),
        (1, 10, false),
        (LIST_DIGEST_POSTS_MAX - 1, 10, false),
        (LIST_DIGEST_POSTS_MAX, 10, true),
        (1, LIST_DIGEST_BYTES_MAX, true),
        (0, LIST_DIGEST_BYTES_MAX, false),
    ] {
        assert_eq!(digest_due(count, bytes), due, "{count} {bytes}");
    }
    let mut world = World::new(ListKind::Open);
    world.subscribe("bob@remote.test");
    world.subscribe("carol@remote.test");
    world.command("carol@remote.test", "digest");
    // Carol gets no copy of a post: she waits for the digest.
    let outcome = world.post("dave@remote.test", "Subject: one\r\n");
    let to: Vec<String> = outcome
        .copies
        .iter()
        .map(|c| c.envelope.recipients[0].forward_path.to_string())
        .collect();
    assert_eq!(to, ["<bob@remote.test>"]);

    let posts = vec![
        rewrite_header(
            &world.definition,
            b"From: dave@remote.test\r\nSubject: one\r\n\r\nFirst.\r\n",
        ),
        rewrite_header(
            &world.definition,
            b"From: erin@remote.test\r\nSubject: two\r\n\r\nSecond.\r\n",
        ),
    ];
    let context = Context {
        definition: &world.definition,
        directory: &world.directory,
        hostname: "mx.example.test",
        web_url: None,
        now: world.now,
    };
    let copies = digest_copies(&context, &world.state, &mut world.rng, &posts);
    assert_eq!(copies.len(), 1);
    assert_eq!(
        copies[0].envelope.recipients[0].forward_path.to_string(),
        "<carol@remote.test>"
    );
    assert_eq!(
        copies[0].envelope.reverse_path.to_string(),
        "<team-bounces+carol=remote.test@example.test>"
    );
    let digest = mail_parser::MessageParser::default()
        .parse(&copies[0].message)
        .unwrap();
    assert_eq!(digest.subject(), Some("[team] digest, 2 post(s)"));
    let parts: Vec<String> = digest
        .attachments()
        .map(|part| {
            let inner = part.message().expect("each part is a message/rfc822");
            inner.subject().unwrap_or_default().to_owned()
        })
        .collect();
    assert_eq!(parts, ["[team] one", "[team] two"]);
    let text = text(&copies[0]);
    assert!(
        text.contains("Content-Type: multipart/digest; boundary="),
        "{text}"
    );
    assert!(
        text.contains(
            "  1. [team] one (dave@remote.test)\r\n  2. [team] two (erin@remote.test)\r\n"
        ),
        "{text}"
    );
}

#[test]
fn a_verp_address_over_64_octets_falls_back_to_the_plain_bounce_address() {
    let mut world = World::new(ListKind::Open);
    let long = format!("{}@remote.test", "x".repeat(60));
    world.subscribe(&long);
    let outcome = world.post("owner@example.test", "Subject: x\r\n");
    assert_eq!(outcome.copies.len(), 1);
    assert_eq!(
        outcome.copies[0].envelope.reverse_path.to_string(),
        "<team-bounces@example.test>"
    );
}

#[test]
fn a_subscriber_in_our_domain_without_a_mailbox_gets_no_copy() {
    let mut world = World::new(ListKind::Open);
    world.subscribe("bob@remote.test");
    world.state.members.insert(
        "ghost@example.test".into(),
        Member {
            delivery: Delivery::Mail,
            moderated: false,
            barred: false,
            token: "c".repeat(32),
        },
    );
    let outcome = world.post("owner@example.test", "Subject: x\r\n");
    assert_eq!(outcome.copies.len(), 1);
    assert!(
        outcome
            .log
            .iter()
            .any(|l| l.contains("1 subscriber(s) in our domains have no mailbox")),
        "{:?}",
        outcome.log
    );
    // Nor is a notice sent to such an address.
    let outcome = world.command("owner@example.test", "subscribe ghost2@example.test");
    assert_eq!(outcome.notices.len(), 1, "only the results to the owner");
}
