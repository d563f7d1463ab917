//! Barring and the recipients' sender lists in the machine: `550 5.7.1`
//! at MAIL for a barred sender, at RCPT for a barred recipient and for a
//! sender a recipient refuses, and who is exempt.

use super::harness::{Harness, config};
use crate::auth::AuthPolicy;
use crate::policy::RelayPolicy;
use crate::smtp::server::SessionConfig;
use crate::spam::{
    AddressPattern, Barring, Blocked, Greylist, GreylistPolicy, SenderLists, SpamPolicy,
};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use std::collections::BTreeMap;

fn patterns(written: &[&str]) -> Vec<AddressPattern> {
    written
        .iter()
        .map(|p| AddressPattern::parse(p).unwrap())
        .collect()
}

fn barring() -> SessionConfig {
    SessionConfig {
        spam: SpamPolicy {
            barring: Barring {
                senders: patterns(&["*@spam.example", "*.biz", "bulk-*@*"]),
                recipients: patterns(&["bob@example.test", "@retired.example"]),
            },
            ..SpamPolicy::default()
        },
        ..config()
    }
}

#[test]
fn a_barred_sender_gets_550_at_mail_and_may_try_another() {
    let mut harness = Harness::with_config(barring());
    harness.send_line("EHLO client.test");
    harness.send_line("MAIL FROM:<Seller@SPAM.example>");
    harness.send_line("MAIL FROM:<offers@shop.biz>");
    harness.send_line("MAIL FROM:<friend@remote.test>");
    let t = &harness.transcript;
    assert!(
        t.contains("S: 550 5.7.1 <Seller@SPAM.example>: Sender address rejected: barred by this server's policy"),
        "{t}"
    );
    assert!(
        t.contains("event: mail from=<Seller@SPAM.example> barred by bar_senders pattern *@spam.example: refused"),
        "{t}"
    );
    assert!(t.contains("pattern *.biz: refused"), "{t}");
    assert!(t.ends_with("S: 250 2.1.0 Ok\n"), "{t}");
}

#[test]
fn a_barred_recipient_gets_550_and_the_others_are_accepted() {
    let mut harness = Harness::with_config(barring());
    harness.send_line("EHLO client.test");
    harness.send_line("MAIL FROM:<friend@remote.test>");
    harness.send_line("RCPT TO:<Bob@Example.test>");
    harness.send_line("RCPT TO:<alice@example.test>");
    harness.send_line("DATA");
    harness.send(b"Subject: hi\r\n\r\nhello\r\n.\r\n");
    let t = &harness.transcript;
    assert!(
        t.contains("S: 550 5.7.1 <Bob@Example.test>: Recipient address rejected: barred by this server's policy"),
        "{t}"
    );
    assert!(
        t.contains("rcpt to=<Bob@Example.test> barred by bar_recipients pattern bob@example.test"),
        "{t}"
    );
    assert_eq!(harness.stored.len(), 1);
    let to: Vec<String> = harness.stored[0]
        .envelope
        .recipients
        .iter()
        .map(|r| r.forward_path.to_string())
        .collect();
    assert_eq!(to, ["<alice@example.test>"]);
}

#[test]
fn our_networks_and_logged_in_clients_are_not_sender_barred_but_recipients_are() {
    let own = SessionConfig {
        relay: RelayPolicy::Networks(vec!["192.0.2.0/24".parse().unwrap()]),
        ..barring()
    };
    let mut harness = Harness::with_config(own);
    harness.send_line("EHLO client.test");
    harness.send_line("MAIL FROM:<seller@spam.example>");
    harness.send_line("RCPT TO:<bob@example.test>");
    let t = &harness.transcript;
    assert!(t.contains("S: 250 2.1.0 Ok"), "{t}");
    assert!(t.contains("S: 550 5.7.1 <bob@example.test>"), "{t}");

    let submission = SessionConfig {
        relay: RelayPolicy::Authenticated,
        auth: AuthPolicy {
            offered: true,
            without_tls: true,
            required: true,
            ..AuthPolicy::default()
        },
        spam: SpamPolicy {
            barring: Barring {
                senders: patterns(&["*@example.test"]),
                recipients: Vec::new(),
            },
            ..SpamPolicy::default()
        },
        ..config()
    };
    let mut harness = Harness::with_config(submission);
    harness.send_line("EHLO client.test");
    let plain = BASE64.encode("\0alice@example.test\0correct horse");
    harness.send_secret_line(&format!("AUTH PLAIN {plain}"));
    harness.send_line("MAIL FROM:<alice@example.test>");
    let t = &harness.transcript;
    assert!(t.ends_with("S: 250 2.1.0 Ok\n"), "{t}");
}

#[test]
fn a_recipient_that_refuses_the_sender_gets_550_and_the_others_their_copy() {
    let mut harness = Harness::new();
    harness.sender_lists.insert(
        "alice@example.test".into(),
        SenderLists {
            allow: patterns(&["boss@remote.test"]),
            block: patterns(&["@remote.test"]),
            blocked: Blocked::Refuse,
        },
    );
    harness.sender_lists.insert(
        "bob@example.test".into(),
        SenderLists {
            allow: Vec::new(),
            block: patterns(&["@remote.test"]),
            blocked: Blocked::Junk,
        },
    );
    harness.send_line("EHLO client.test");
    harness.send_line("MAIL FROM:<pitch@remote.test>");
    // Through an alias, the mailbox's lists still apply.
    harness.send_line("RCPT TO:<info@example.test>");
    harness.send_line("RCPT TO:<bob@example.test>");
    harness.send_line("DATA");
    harness.send(b"Subject: hi\r\n\r\nhello\r\n.\r\n");
    harness.send_line("MAIL FROM:<boss@remote.test>");
    harness.send_line("RCPT TO:<alice@example.test>");
    let t = &harness.transcript;
    assert!(
        t.contains("S: 550 5.7.1 <info@example.test>: Recipient address rejected: the recipient does not accept mail from this sender"),
        "{t}"
    );
    assert!(
        t.contains("rcpt to=<info@example.test> refused: the sender is on the recipient's block list (@remote.test, blocked = refuse)"),
        "{t}"
    );
    // Junk is delivery's business: bob's copy is accepted here.
    assert_eq!(harness.stored.len(), 1);
    assert_eq!(harness.stored[0].envelope.recipients.len(), 1);
    // The allow list wins over the block list.
    assert!(t.ends_with("S: 250 2.1.5 Ok\n"), "{t}");
}

#[test]
fn a_sender_on_the_recipients_allow_list_is_not_greylisted() {
    let greylisting = SessionConfig {
        spam: SpamPolicy {
            greylist: Some(GreylistPolicy::default()),
            ..SpamPolicy::default()
        },
        ..config()
    };
    let mut harness = Harness::with_world(
        greylisting,
        "192.0.2.7:40000",
        BTreeMap::new(),
        Greylist::default(),
    );
    harness.sender_lists.insert(
        "alice@example.test".into(),
        SenderLists {
            allow: patterns(&["@remote.test"]),
            block: Vec::new(),
            blocked: Blocked::Junk,
        },
    );
    harness.send_line("EHLO client.test");
    harness.send_line("MAIL FROM:<friend@remote.test>");
    harness.send_line("RCPT TO:<alice@example.test>");
    harness.send_line("RCPT TO:<bob@example.test>");
    let t = &harness.transcript;
    let replies: Vec<&str> = t
        .lines()
        .filter_map(|l| l.split_once("] S: ").map(|(_, reply)| reply))
        .collect();
    assert_eq!(
        replies[replies.len() - 2..],
        [
            "250 2.1.5 Ok",
            "451 4.7.1 Greylisted, try again in 300 seconds"
        ],
        "{t}"
    );
}

#[test]
fn the_null_sender_is_neither_barred_nor_looked_up() {
    let mut harness = Harness::with_config(SessionConfig {
        spam: SpamPolicy {
            barring: Barring {
                senders: patterns(&["*"]),
                recipients: Vec::new(),
            },
            ..SpamPolicy::default()
        },
        ..config()
    });
    harness.sender_lists.insert(
        "alice@example.test".into(),
        SenderLists {
            allow: Vec::new(),
            block: patterns(&["*"]),
            blocked: Blocked::Refuse,
        },
    );
    harness.send_line("EHLO client.test");
    harness.send_line("MAIL FROM:<>");
    harness.send_line("RCPT TO:<alice@example.test>");
    let t = &harness.transcript;
    assert!(!t.contains("sender lists of"), "{t}");
    assert!(t.ends_with("S: 250 2.1.5 Ok\n"), "{t}");
}
