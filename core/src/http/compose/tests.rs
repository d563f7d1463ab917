use super::*;
use crate::http::view::view;

const ORIGINAL: &[u8] = b"From: Alice <alice@a.test>\r\nTo: bob@b.test, me@here.test\r\nCc: Carol <carol@c.test>\r\nSubject: Lunch\r\nDate: Mon, 30 Nov 2026 12:00:00 +0000\r\nMessage-ID: <m1@a.test>\r\nReferences: <m0@a.test>\r\n\r\nShall we?\r\nAt noon.\r\n";

#[test]
fn a_reply_goes_to_the_author_quotes_and_threads() {
    let draft = answer(&view(ORIGINAL, false, false), Answer::Reply, "me@here.test");
    assert_eq!(draft.to, "Alice <alice@a.test>");
    assert_eq!(draft.cc, "");
    assert_eq!(draft.subject, "Re: Lunch");
    assert_eq!(draft.in_reply_to.as_deref(), Some("m1@a.test"));
    assert_eq!(draft.references, vec!["m0@a.test", "m1@a.test"]);
    assert!(
        draft
            .body
            .contains("Alice <alice@a.test> wrote:\n> Shall we?\n> At noon.\n"),
        "{}",
        draft.body
    );
}

#[test]
fn a_reply_to_all_copies_everyone_but_the_user_and_the_author() {
    let draft = answer(
        &view(ORIGINAL, false, false),
        Answer::ReplyAll,
        "ME@here.test",
    );
    assert_eq!(draft.to, "Alice <alice@a.test>");
    assert_eq!(draft.cc, "bob@b.test, Carol <carol@c.test>");
}

#[test]
fn a_subject_is_not_prefixed_twice() {
    assert_eq!(prefixed("Re:", "RE: Lunch"), "RE: Lunch");
    assert_eq!(prefixed("Fwd:", "Lunch"), "Fwd: Lunch");
    assert_eq!(prefixed("Re:", "Ré"), "Re: Ré");
}

#[test]
fn a_forward_has_no_recipients_and_carries_the_original_fields() {
    let draft = answer(
        &view(ORIGINAL, false, false),
        Answer::Forward,
        "me@here.test",
    );
    assert_eq!(draft.to, "");
    assert_eq!(draft.subject, "Fwd: Lunch");
    assert!(
        draft.body.contains("From: Alice <alice@a.test>\nDate: "),
        "{}",
        draft.body
    );
    assert!(draft.body.contains("Shall we?"));
    assert_eq!(draft.in_reply_to, None);
}

#[test]
fn typed_addresses_split_on_commas_and_semicolons() {
    assert_eq!(
        split_addresses("Alice <alice@a.test>; bob@b.test, ,").unwrap(),
        vec!["alice@a.test", "bob@b.test"]
    );
    assert_eq!(
        split_addresses("bob@b.test, not an address").unwrap_err(),
        "not an address"
    );
}

#[test]
fn html_is_quoted_as_text() {
    assert_eq!(html_to_text("<p>a &amp; b</p><br>c"), "a & b\n\nc");
}

mod submission {
    use super::super::*;
    use crate::address::{ForwardPath, parse_mailbox};
    use crate::auth::{Identity, SendAs};
    use crate::directory::RecipientVerdict;
    use crate::envelope::{Destination, LocalMailbox};

    fn alice() -> Identity {
        Identity {
            login: "alice@here.test".into(),
            send_as: SendAs::Addresses(vec!["alice@here.test".into()]),
        }
    }

    fn path(text: &str) -> ForwardPath {
        ForwardPath::Mailbox(parse_mailbox(text).unwrap())
    }

    fn local(user: &str) -> RecipientVerdict {
        RecipientVerdict::Local(LocalMailbox {
            domain: "here.test".into(),
            user: user.into(),
        })
    }

    #[test]
    fn local_and_remote_recipients_are_accepted_for_the_users_own_address() {
        let recipients = check_submission(
            &alice(),
            "alice@here.test",
            vec![
                (path("bob@here.test"), local("bob")),
                (path("x@far.test"), RecipientVerdict::NotLocal),
            ],
            100,
            1000,
            10,
        )
        .unwrap();
        assert!(matches!(recipients[0].destination, Destination::Local(_)));
        assert_eq!(recipients[1].destination, Destination::Remote);
    }

    type Checked = Result<Vec<crate::envelope::Recipient>, NotSent>;

    #[test]
    fn each_rule_refuses_with_its_reason() {
        let one = || vec![(path("bob@here.test"), local("bob"))];
        let rows: Vec<(&str, Checked, NotSent)> = vec![
            (
                "sender",
                check_submission(&alice(), "boss@here.test", one(), 1, 10, 10),
                NotSent::NotYourAddress("boss@here.test".into()),
            ),
            (
                "none",
                check_submission(&alice(), "alice@here.test", vec![], 1, 10, 10),
                NotSent::NoRecipients,
            ),
            (
                "count",
                check_submission(&alice(), "alice@here.test", one(), 1, 10, 0),
                NotSent::TooManyRecipients { max: 0 },
            ),
            (
                "size",
                check_submission(&alice(), "alice@here.test", one(), 11, 10, 10),
                NotSent::TooLarge { size: 11, max: 10 },
            ),
            (
                "unknown",
                check_submission(
                    &alice(),
                    "alice@here.test",
                    vec![(path("nobody@here.test"), RecipientVerdict::UnknownLocalUser)],
                    1,
                    10,
                    10,
                ),
                NotSent::UnknownLocalUser("nobody@here.test".into()),
            ),
        ];
        for (rule, got, want) in rows {
            assert_eq!(got.unwrap_err(), want, "{rule}");
        }
    }

    #[test]
    fn the_received_field_names_the_client_and_the_queue_id() {
        let field = received_field(
            "mail.here.test",
            "127.0.0.1".parse().unwrap(),
            false,
            crate::envelope::QueueId(1),
            crate::time::UnixTime(0),
        );
        assert!(field.starts_with("Received: from webmail ([127.0.0.1])\r\n\tby mail.here.test (Postern) with HTTPA id 0000000000001;"), "{field}");
    }
}
