//! The client machine against the server machine (a pair harness on a
//! virtual clock), and against scripted servers for every failure.

use super::*;
use crate::address::{parse_forward_path, parse_reverse_path};
use crate::config::DomainConfig;
use crate::directory::Directory;
use crate::envelope::QueueId;
use crate::smtp::server::{self, OpenedMessage, SessionConfig, SessionInfo};
use crate::time::{Instant, UnixTime};
use std::fmt::Write;
use std::sync::Arc;

const MESSAGE: &[u8] = b"Subject: test\r\n\r\nHello.\r\n.leading dot\r\n";

pub(super) fn delivery(recipients: &[&str]) -> Delivery {
    Delivery {
        reverse_path: parse_reverse_path("<sender@origin.test>", false).unwrap(),
        recipients: recipients
            .iter()
            .map(|r| parse_forward_path(&format!("<{r}>"), false).unwrap())
            .collect(),
        size: MESSAGE.len() as u64,
        body: BodyType::SevenBit,
        smtputf8: false,
        content: Content::declared(BodyType::SevenBit, false),
    }
}

pub(super) fn config() -> ClientConfig {
    ClientConfig {
        hostname: "out.origin.test".into(),
        timeouts: ClientTimeouts::default(),
        credentials: None,
        tls: TlsPolicy::Opportunistic,
    }
}

pub(super) fn start() -> Instant {
    Instant::from_nanos(1_000_000_000)
}

pub(super) fn verdicts(outcome: &Outcome) -> Vec<(String, Verdict)> {
    outcome
        .recipients
        .iter()
        .map(|r| (r.forward_path.to_string(), r.verdict))
        .collect()
}

/// The client and the server machine, wired together in memory.
struct Pair {
    transcript: String,
    stored: Vec<u8>,
    outcome: Option<Outcome>,
}

fn run_pair(delivery: Delivery, pipelining_server: bool) -> Pair {
    run_pair_with(config(), None, delivery, pipelining_server)
}

/// `security` makes the server offer STARTTLS and AUTH (after TLS), with
/// one account, relay / s3cret, which may relay.
fn run_pair_with(
    client_config: ClientConfig,
    security: Option<()>,
    delivery: Delivery,
    pipelining_server: bool,
) -> Pair {
    let directory = Directory::new(&[DomainConfig {
        name: "dest.test".into(),
        users: vec!["alice".into(), "bob".into()],
        aliases: Default::default(),
        catch_all: None,
    }]);
    let session = SessionConfig {
        hostname: "mx.dest.test".into(),
        relay: match security {
            Some(()) => crate::policy::RelayPolicy::Authenticated,
            None => crate::policy::RelayPolicy::None,
        },
        max_message_size: 10_000,
        max_recipients: 10,
        max_errors: 10,
        command_timeout: std::time::Duration::from_secs(300),
        data_timeout: std::time::Duration::from_secs(600),
        min_data_rate: crate::limits::MIN_DATA_RATE_DEFAULT,
        max_session_time: crate::limits::SESSION_TIME_DEFAULT,
        mail_auth: crate::mail_auth::MailAuthMode::Off,
        spf_fail: crate::mail_auth::SpfFailAction::Record,
        arc_trusted_sealers: Vec::new(),
        starttls: security.is_some(),
        auth: crate::auth::AuthPolicy {
            offered: security.is_some(),
            ..Default::default()
        },
        max_hops: crate::limits::HOPS_DEFAULT,
        spam: crate::spam::SpamPolicy::default(),
    };
    let info = SessionInfo {
        local: "192.0.2.1:25".parse().unwrap(),
        remote: "198.51.100.1:40000".parse().unwrap(),
        tls: false,
    };
    let now = start();
    let mut server = server::Server::new(Arc::new(session), info, now);
    let mut client = Client::new(Arc::new(client_config), delivery, now);
    let mut pair = Pair {
        transcript: String::new(),
        stored: Vec::new(),
        outcome: None,
    };
    let mut to_client: Vec<u8> = Vec::new();
    let mut to_server: Vec<u8> = Vec::new();
    for _ in 0..100 {
        // Server side: answer requests, collect bytes.
        while let Some(output) = server.poll_output() {
            match output {
                server::Output::Send(bytes) => to_client.extend(bytes),
                server::Output::Request(server::Request::CheckRecipient(path)) => {
                    let verdict = directory.resolve(&path);
                    server.handle_input(now, server::Input::RecipientChecked(verdict));
                }
                server::Output::Request(server::Request::OpenMessage(_)) => {
                    let opened = OpenedMessage {
                        queue_id: QueueId(42),
                        received_at: UnixTime(1_795_212_959),
                    };
                    server.handle_input(now, server::Input::MessageOpened(Ok(opened)));
                }
                server::Output::Request(server::Request::CommitMessage) => {
                    server.handle_input(now, server::Input::MessageCommitted(Ok(())));
                }
                server::Output::Request(server::Request::CheckSender(_)) => {
                    server.handle_input(now, server::Input::SenderChecked(None));
                }
                server::Output::Request(server::Request::LookUpSenderLists(_)) => {
                    server
                        .handle_input(now, server::Input::SenderListsLookedUp(Default::default()));
                }
                server::Output::Request(server::Request::CheckMessage(_)) => {
                    server.handle_input(now, server::Input::MessageChecked(Default::default()));
                }
                server::Output::Trace(fields) => {
                    pair.stored.splice(..0, fields);
                }
                server::Output::Quarantine => {}
                server::Output::MessageData(bytes) => pair.stored.extend(bytes),
                server::Output::StartTls => {
                    let _ = writeln!(pair.transcript, "   (server: TLS handshake)");
                    server.handle_input(now, server::Input::TlsStarted);
                }
                server::Output::Request(server::Request::Authenticate(attempt)) => {
                    let verdict =
                        if attempt.login == "relay" && attempt.password.expose() == "s3cret" {
                            crate::auth::AuthVerdict::Accepted(crate::auth::Identity {
                                login: "relay".into(),
                                send_as: crate::auth::SendAs::Anyone,
                            })
                        } else {
                            crate::auth::AuthVerdict::Rejected
                        };
                    server.handle_input(now, server::Input::Authenticated(verdict));
                }
                _ => {}
            }
        }
        if !to_client.is_empty() {
            for line in String::from_utf8_lossy(&to_client).lines() {
                let _ = writeln!(pair.transcript, "S: {line}");
            }
            let mut bytes = std::mem::take(&mut to_client);
            if !pipelining_server {
                // Take out PIPELINING from the EHLO reply.
                let text = String::from_utf8(bytes).unwrap();
                bytes = text.replace("250-PIPELINING\r\n", "").into_bytes();
            }
            client.handle_input(now, Input::Bytes(&bytes));
        }
        while let Some(output) = client.poll_output() {
            match output {
                Output::Send(bytes) => {
                    let text = String::from_utf8_lossy(&bytes);
                    // Passwords stay out of snapshots.
                    let shown = match text.strip_prefix("AUTH PLAIN ") {
                        Some(_) => "AUTH PLAIN <credentials>".to_owned(),
                        None => text.trim_end().replace("\r\n", " | "),
                    };
                    let _ = writeln!(pair.transcript, "C: {shown}");
                    to_server.extend(bytes);
                }
                Output::SendMessage => {
                    let mut stuffer = DotStuffer::default();
                    stuffer.stuff(MESSAGE, &mut to_server);
                    stuffer.finish(&mut to_server);
                    let _ = writeln!(pair.transcript, "C: (message, dot-stuffed)");
                    client.handle_input(now, Input::MessageSent);
                }
                Output::Finished(outcome) => pair.outcome = Some(outcome),
                Output::StartTls => {
                    let _ = writeln!(pair.transcript, "   (client: TLS handshake)");
                    client.handle_input(now, Input::TlsStarted);
                }
                Output::Close | Output::Ready | Output::Event(_) => {}
            }
        }
        if !to_server.is_empty() {
            let bytes = std::mem::take(&mut to_server);
            server.handle_input(now, server::Input::Bytes(&bytes));
        }
        if pair.outcome.is_some() && to_server.is_empty() {
            break;
        }
    }
    pair
}

#[test]
fn pipelined_delivery_to_the_server_machine() {
    let pair = run_pair(
        delivery(&["alice@dest.test", "mallory@dest.test", "bob@dest.test"]),
        true,
    );
    let outcome = pair.outcome.expect("finished");
    assert_eq!(outcome.session_failure, None);
    assert_eq!(
        verdicts(&outcome),
        [
            ("<alice@dest.test>".to_owned(), Verdict::Delivered),
            ("<mallory@dest.test>".to_owned(), Verdict::Failed),
            ("<bob@dest.test>".to_owned(), Verdict::Delivered),
        ]
    );
    assert!(
        outcome.recipients[1].detail.starts_with("550 5.1.1"),
        "{outcome:?}"
    );
    assert!(
        pair.stored.ends_with(MESSAGE),
        "the server stored the message unstuffed: {:?}",
        String::from_utf8_lossy(&pair.stored)
    );
    insta::assert_snapshot!(pair.transcript);
}

#[test]
fn starttls_then_auth_against_the_server_machine() {
    let client_config = ClientConfig {
        tls: TlsPolicy::Required,
        ..with_credentials()
    };
    let pair = run_pair_with(
        client_config,
        Some(()),
        delivery(&["alice@dest.test", "friend@far.test"]),
        true,
    );
    let outcome = pair.outcome.expect("finished");
    assert_eq!(outcome.session_failure, None, "{}", pair.transcript);
    assert_eq!(
        verdicts(&outcome),
        [
            ("<alice@dest.test>".to_owned(), Verdict::Delivered),
            ("<friend@far.test>".to_owned(), Verdict::Delivered),
        ],
        "the server relays for the authenticated client: {}",
        pair.transcript
    );
    let tls_at = pair.transcript.find("TLS handshake").unwrap();
    let auth_at = pair.transcript.find("C: AUTH PLAIN").unwrap();
    assert!(!pair.transcript.contains("AHJlbGF5AHMzY3JldA=="));
    assert!(tls_at < auth_at, "no password before TLS");
    insta::assert_snapshot!(pair.transcript);
}

#[test]
fn without_pipelining_commands_go_one_at_a_time() {
    let pair = run_pair(delivery(&["alice@dest.test", "bob@dest.test"]), false);
    let outcome = pair.outcome.expect("finished");
    assert!(
        verdicts(&outcome)
            .iter()
            .all(|(_, v)| *v == Verdict::Delivered)
    );
    assert!(
        pair.transcript
            .contains("C: MAIL FROM:<sender@origin.test> SIZE=39\n"),
        "{}",
        pair.transcript
    );
    assert!(pair.transcript.contains("C: RCPT TO:<alice@dest.test>\n"));
}

/// A scripted server: each client line gets the reply the script gives
/// for the first prefix it matches; the message data is answered with the
/// reply for "<data>".
pub(super) struct Scripted {
    pub(super) client: Client,
    pub(super) now: Instant,
    pub(super) sent: Vec<String>,
    pub(super) outcome: Option<Outcome>,
    /// The client asked the driver for a TLS handshake.
    pub(super) tls_requested: bool,
    /// The client asked the driver to send the message.
    pub(super) message_sent: bool,
    /// Every event the client emitted.
    pub(super) events: Vec<ClientEvent>,
}

impl Scripted {
    pub(super) fn new(config: ClientConfig, delivery: Delivery, greeting: &str) -> Self {
        let mut scripted = Scripted {
            client: Client::new(Arc::new(config), delivery, start()),
            now: start(),
            sent: Vec::new(),
            outcome: None,
            tls_requested: false,
            message_sent: false,
            events: Vec::new(),
        };
        scripted.server_says(greeting);
        scripted
    }

    pub(super) fn server_says(&mut self, text: &str) -> Vec<Output> {
        if !text.is_empty() {
            self.client
                .handle_input(self.now, Input::Bytes(text.as_bytes()));
        }
        self.drain()
    }

    pub(super) fn drain(&mut self) -> Vec<Output> {
        let mut outputs = Vec::new();
        while let Some(output) = self.client.poll_output() {
            match &output {
                Output::Send(bytes) => {
                    for line in String::from_utf8_lossy(bytes).lines() {
                        self.sent.push(line.to_owned());
                    }
                }
                Output::Finished(outcome) => self.outcome = Some(outcome.clone()),
                Output::StartTls => self.tls_requested = true,
                Output::SendMessage => self.message_sent = true,
                Output::Event(event) => self.events.push(event.clone()),
                _ => {}
            }
            outputs.push(output);
        }
        outputs
    }

    /// Plays the script until the client finishes or waits for a reply
    /// the script does not have.
    pub(super) fn play(mut self, script: &[(&str, &str)]) -> Self {
        let mut answered = 0;
        for _ in 0..50 {
            if self.outcome.is_some() {
                break;
            }
            let mut reply = String::new();
            while answered < self.sent.len() {
                let line = self.sent[answered].clone();
                answered += 1;
                if let Some((_, r)) = script.iter().find(|(p, _)| line.starts_with(p)) {
                    reply.push_str(r);
                }
            }
            let outputs = self.server_says(&reply);
            if outputs.contains(&Output::SendMessage) {
                self.client.handle_input(self.now, Input::MessageSent);
                self.drain();
                let data = script
                    .iter()
                    .find(|(p, _)| *p == "<data>")
                    .map_or("", |(_, r)| r);
                self.server_says(data);
            } else if reply.is_empty() && outputs.is_empty() {
                break;
            }
        }
        self
    }

    pub(super) fn wait(mut self, seconds: u64) -> Self {
        self.now = self.now + std::time::Duration::from_secs(seconds);
        self.client.handle_input(self.now, Input::TimerFired);
        self.drain();
        self
    }

    pub(super) fn outcome(&self) -> &Outcome {
        self.outcome.as_ref().expect("the client finished")
    }
}

pub(super) const EHLO_OK: &str =
    "250-mx.dest.test\r\n250-PIPELINING\r\n250-SIZE 1000\r\n250 8BITMIME\r\n";
pub(super) const HAPPY: &[(&str, &str)] = &[
    ("EHLO", EHLO_OK),
    ("MAIL", "250 2.1.0 Ok\r\n"),
    ("RCPT", "250 2.1.5 Ok\r\n"),
    ("DATA", "354 go ahead\r\n"),
    ("<data>", "250 2.0.0 Ok: queued\r\n"),
    ("QUIT", "221 bye\r\n"),
];

pub(super) fn with<'a>(overrides: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut script: Vec<_> = overrides.to_vec();
    script.extend(
        HAPPY
            .iter()
            .filter(|(p, _)| !overrides.iter().any(|(o, _)| o == p)),
    );
    script
}

pub(super) fn scripted(script: &[(&str, &str)], greeting: &str) -> Scripted {
    Scripted::new(
        config(),
        delivery(&["a@dest.test", "b@dest.test"]),
        greeting,
    )
    .play(script)
}

#[test]
fn a_4xx_or_5xx_greeting_is_a_session_failure() {
    for (greeting, permanent) in [("421 busy\r\n", false), ("554 no service\r\n", true)] {
        let run = scripted(HAPPY, greeting);
        let failure = run.outcome().session_failure.clone().unwrap();
        assert_eq!((failure.stage, failure.permanent), ("greeting", permanent));
        assert!(
            run.outcome()
                .recipients
                .iter()
                .all(|r| r.verdict == Verdict::Deferred)
        );
        assert_eq!(run.sent, ["QUIT"]);
    }
}

#[test]
fn ehlo_refused_falls_back_to_helo_without_extensions() {
    let run = scripted(
        &with(&[
            ("EHLO", "502 5.5.1 what?\r\n"),
            ("HELO", "250 mx.dest.test\r\n"),
        ]),
        "220 hi\r\n",
    );
    assert_eq!(run.outcome().session_failure, None);
    assert!(run.sent.contains(&"HELO out.origin.test".to_owned()));
    assert!(
        run.sent
            .contains(&"MAIL FROM:<sender@origin.test>".to_owned()),
        "no SIZE without EHLO: {:?}",
        run.sent
    );
    assert!(
        verdicts(run.outcome())
            .iter()
            .all(|(_, v)| *v == Verdict::Delivered)
    );
}

#[test]
fn ehlo_4xx_is_a_session_failure() {
    let run = scripted(&with(&[("EHLO", "421 4.3.2 going down\r\n")]), "220 hi\r\n");
    assert_eq!(
        run.outcome().session_failure.as_ref().unwrap().stage,
        "EHLO"
    );
}

#[test]
fn a_refused_mail_settles_every_recipient() {
    let temporary = scripted(
        &with(&[
            ("MAIL", "451 4.3.0 try later\r\n"),
            ("RCPT", "503 5.5.1 no\r\n"),
            ("DATA", "503 5.5.1 no\r\n"),
        ]),
        "220 hi\r\n",
    );
    assert_eq!(temporary.outcome().session_failure, None);
    assert!(
        verdicts(temporary.outcome())
            .iter()
            .all(|(_, v)| *v == Verdict::Deferred)
    );
    assert!(
        temporary.outcome().recipients[0]
            .detail
            .starts_with("451 4.3.0")
    );
    let permanent = scripted(
        &with(&[
            ("MAIL", "550 5.7.1 go away\r\n"),
            ("RCPT", "503 5.5.1 no\r\n"),
            ("DATA", "503 5.5.1 no\r\n"),
        ]),
        "220 hi\r\n",
    );
    assert!(
        verdicts(permanent.outcome())
            .iter()
            .all(|(_, v)| *v == Verdict::Failed)
    );
}

#[test]
fn each_recipient_gets_its_own_verdict() {
    let run = Scripted::new(
        config(),
        delivery(&["ok@dest.test", "later@dest.test", "never@dest.test"]),
        "220 hi\r\n",
    );
    // With pipelining the replies come back in order, one per RCPT.
    let run = run.play(&[
        ("EHLO", EHLO_OK),
        ("MAIL", "250 ok\r\n"),
        ("RCPT TO:<ok@", "250 ok\r\n"),
        ("RCPT TO:<later@", "450 4.2.1 mailbox busy\r\n"),
        ("RCPT TO:<never@", "550 5.1.1 no such user\r\n"),
        ("DATA", "354 go\r\n"),
        ("<data>", "250 queued\r\n"),
    ]);
    assert_eq!(
        verdicts(run.outcome())
            .into_iter()
            .map(|(_, v)| v)
            .collect::<Vec<_>>(),
        [Verdict::Delivered, Verdict::Deferred, Verdict::Failed]
    );
    // All of MAIL, RCPT and DATA went in one write.
    assert_eq!(
        &run.sent[1..6],
        [
            "MAIL FROM:<sender@origin.test> SIZE=39",
            "RCPT TO:<ok@dest.test>",
            "RCPT TO:<later@dest.test>",
            "RCPT TO:<never@dest.test>",
            "DATA"
        ]
    );
}

#[test]
fn data_refusals_apply_to_the_accepted_recipients() {
    let refused = scripted(
        &with(&[("DATA", "554 5.5.1 no valid recipients\r\n")]),
        "220 hi\r\n",
    );
    assert!(
        verdicts(refused.outcome())
            .iter()
            .all(|(_, v)| *v == Verdict::Failed)
    );
    let end_temporary = scripted(
        &with(&[("<data>", "451 4.3.0 disk full\r\n")]),
        "220 hi\r\n",
    );
    assert!(
        verdicts(end_temporary.outcome())
            .iter()
            .all(|(_, v)| *v == Verdict::Deferred)
    );
    let end_permanent = scripted(&with(&[("<data>", "554 5.6.0 spam\r\n")]), "220 hi\r\n");
    assert!(
        verdicts(end_permanent.outcome())
            .iter()
            .all(|(_, v)| *v == Verdict::Failed)
    );
}

#[test]
fn a_354_with_no_accepted_recipient_is_ended_with_a_lone_dot() {
    let run = scripted(
        &with(&[("RCPT", "550 5.1.1 no\r\n"), (".", "554 no data\r\n")]),
        "220 hi\r\n",
    );
    assert!(run.sent.contains(&".".to_owned()), "{:?}", run.sent);
    assert!(
        verdicts(run.outcome())
            .iter()
            .all(|(_, v)| *v == Verdict::Failed)
    );
}

#[test]
fn too_big_for_the_servers_size_is_failed_without_sending() {
    let mut big = delivery(&["a@dest.test"]);
    big.size = 5000;
    let run = Scripted::new(config(), big, "220 hi\r\n").play(HAPPY);
    assert_eq!(run.outcome().recipients[0].verdict, Verdict::Failed);
    assert!(
        run.outcome().recipients[0]
            .detail
            .contains("exceeds the server's SIZE 1000")
    );
    assert!(!run.sent.iter().any(|l| l.starts_with("MAIL")));
}

#[test]
fn timeouts_follow_rfc_5321() {
    // No greeting in 5 minutes.
    let silent = Scripted::new(config(), delivery(&["a@dest.test"]), "");
    assert_eq!(
        silent.client.poll_timeout(),
        Some(start() + std::time::Duration::from_secs(300))
    );
    let silent = silent.wait(300);
    let failure = silent.outcome().session_failure.clone().unwrap();
    assert_eq!(failure.detail, "timed out waiting for greeting");
    // No answer to the final dot in 10 minutes: deferred, not delivered.
    let run = scripted(&with(&[("<data>", "")]), "220 hi\r\n");
    assert!(run.outcome.is_none());
    assert_eq!(
        run.client.poll_timeout(),
        Some(start() + std::time::Duration::from_secs(600))
    );
    let run = run.wait(600);
    assert!(
        verdicts(run.outcome())
            .iter()
            .all(|(_, v)| *v == Verdict::Deferred)
    );
    assert_eq!(
        run.outcome().recipients[0].detail,
        "timed out waiting for end of data"
    );
}

#[test]
fn a_lost_connection_mid_transaction_defers() {
    let run = scripted(&with(&[("DATA", "")]), "220 hi\r\n");
    let mut run = run;
    run.client.handle_input(run.now, Input::EndOfInput);
    run.drain();
    assert_eq!(run.outcome().session_failure, None);
    assert!(
        verdicts(run.outcome())
            .iter()
            .all(|(_, v)| *v == Verdict::Deferred)
    );
}

#[test]
fn a_message_the_driver_could_not_send_to_its_end_is_deferred_with_the_reason() {
    let mut run = scripted(&with(&[("DATA", "")]), "220 hi\r\n");
    let outputs = run.server_says("354 go ahead\r\n");
    assert!(outputs.contains(&Output::SendMessage), "{outputs:?}");
    run.client.handle_input(
        run.now,
        Input::SendFailed("the lease ran out\r\nbefore the end".into()),
    );
    let outputs = run.drain();
    assert!(outputs.contains(&Output::Close), "{outputs:?}");
    assert_eq!(run.outcome().session_failure, None);
    assert_eq!(
        verdicts(run.outcome()),
        [
            ("<a@dest.test>".to_owned(), Verdict::Deferred),
            ("<b@dest.test>".to_owned(), Verdict::Deferred)
        ]
    );
    for recipient in &run.outcome().recipients {
        assert_eq!(
            recipient.detail, "the lease ran out\\r\\nbefore the end",
            "the reason, its controls escaped"
        );
    }
}

fn with_credentials() -> ClientConfig {
    ClientConfig {
        credentials: Some(Credentials {
            user: "relay".into(),
            password: "s3cret".into(),
        }),
        ..config()
    }
}

#[test]
fn auth_plain_then_the_transaction() {
    let run =
        Scripted::new(with_credentials(), delivery(&["a@far.test"]), "220 hi\r\n").play(&with(&[
            (
                "EHLO",
                "250-smarthost\r\n250-AUTH LOGIN PLAIN\r\n250 PIPELINING\r\n",
            ),
            ("AUTH PLAIN", "235 2.7.0 ok\r\n"),
        ]));
    // base64("\0relay\0s3cret")
    assert_eq!(run.sent[1], "AUTH PLAIN AHJlbGF5AHMzY3JldA==");
    assert_eq!(run.outcome().recipients[0].verdict, Verdict::Delivered);
}

#[test]
fn auth_login_when_plain_is_not_offered() {
    let run =
        Scripted::new(with_credentials(), delivery(&["a@far.test"]), "220 hi\r\n").play(&with(&[
            ("EHLO", "250-smarthost\r\n250 AUTH LOGIN\r\n"),
            ("AUTH LOGIN", "334 VXNlcm5hbWU6\r\n"),
            ("cmVsYXk=", "334 UGFzc3dvcmQ6\r\n"),
            ("czNjcmV0", "235 ok\r\n"),
        ]));
    assert_eq!(run.sent[1..4], ["AUTH LOGIN", "cmVsYXk=", "czNjcmV0"]);
    assert_eq!(run.outcome().recipients[0].verdict, Verdict::Delivered);
}

#[test]
fn a_failed_login_or_no_auth_offered_is_a_session_failure() {
    let refused =
        Scripted::new(with_credentials(), delivery(&["a@far.test"]), "220 hi\r\n").play(&with(&[
            ("EHLO", "250-smarthost\r\n250 AUTH PLAIN\r\n"),
            ("AUTH PLAIN", "535 5.7.8 bad credentials\r\n"),
        ]));
    let failure = refused.outcome().session_failure.clone().unwrap();
    assert_eq!((failure.stage, failure.permanent), ("AUTH", true));
    let not_offered =
        Scripted::new(with_credentials(), delivery(&["a@far.test"]), "220 hi\r\n").play(HAPPY);
    assert!(
        not_offered
            .outcome()
            .session_failure
            .clone()
            .unwrap()
            .detail
            .contains("neither AUTH PLAIN nor AUTH LOGIN")
    );
    assert!(
        !format!("{:?}", with_credentials()).contains("s3cret"),
        "passwords stay out of Debug"
    );
}

#[test]
fn required_tls_refuses_a_server_without_starttls_before_any_password() {
    let config = ClientConfig {
        tls: TlsPolicy::Required,
        ..with_credentials()
    };
    let run = Scripted::new(config, delivery(&["a@far.test"]), "220 hi\r\n")
        .play(&with(&[("EHLO", "250-smarthost\r\n250 AUTH PLAIN\r\n")]));
    assert!(!run.sent.iter().any(|line| line.starts_with("AUTH")));
    let failure = run.outcome().session_failure.clone().unwrap();
    assert_eq!((failure.stage, failure.permanent), ("STARTTLS", false));
}

#[test]
fn opportunistic_tls_goes_on_in_clear_when_starttls_is_refused() {
    let run = Scripted::new(config(), delivery(&["a@dest.test"]), "220 hi\r\n").play(&with(&[
        ("EHLO", "250-mx\r\n250 STARTTLS\r\n"),
        ("STARTTLS", "454 4.7.0 TLS not available\r\n"),
    ]));
    assert_eq!(run.sent[1], "STARTTLS");
    assert_eq!(run.outcome().recipients[0].verdict, Verdict::Delivered);
}

#[test]
fn a_failed_handshake_fails_the_session() {
    let mut run = Scripted::new(config(), delivery(&["a@dest.test"]), "220 hi\r\n").play(&with(&[
        ("EHLO", "250-mx\r\n250 STARTTLS\r\n"),
        ("STARTTLS", "220 go ahead\r\n"),
    ]));
    assert!(run.tls_requested, "the driver was asked for a handshake");
    run.client
        .handle_input(run.now, Input::TlsFailed("bad certificate".into()));
    run.drain();
    let failure = run.outcome().session_failure.clone().unwrap();
    assert_eq!(failure.stage, "STARTTLS");
    assert!(failure.detail.contains("bad certificate"));
}

#[test]
fn malformed_replies_end_the_session() {
    let run = Scripted::new(config(), delivery(&["a@dest.test"]), "hello there\r\n");
    assert_eq!(
        run.outcome().session_failure.as_ref().unwrap().stage,
        "connection"
    );
}
