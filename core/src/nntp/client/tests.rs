//! The pull client against a scripted server on a virtual clock: codec
//! tables, whole-session transcripts, and proptests over input splits.

use super::*;
use crate::nntp::GroupName;
use crate::smtp::client::Credentials;
use crate::time::Instant;
use proptest::prelude::*;
use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

// ---- The harness: the machine against a scripted server. ----

/// A server that answers each command line (or `<post ID>` for a post's
/// body) from a table; `None` is silence, `Some("<close>")` a dropped
/// connection.
type Server = Box<dyn FnMut(&str) -> Option<String>>;

struct Harness {
    client: PullClient,
    server: Server,
    now: Instant,
    transcript: Vec<String>,
    /// Server bytes not yet handed in.
    incoming: Vec<u8>,
    /// Chunk sizes to hand the server's bytes in with, cycled.
    splits: Vec<usize>,
    split_at: usize,
    pending: VecDeque<Pending>,
    closed_by_server: bool,
    outcome: Option<Outcome>,
    fail_store: bool,
}

enum Pending {
    Stored,
    StoreFailed,
    PostSent,
    TlsStarted,
}

fn config(groups: &str) -> PullConfig {
    PullConfig::new(Wildmat::parse(groups).unwrap(), "upstream.test")
}

fn group(name: &str) -> GroupName {
    GroupName::new(name).unwrap()
}

impl Harness {
    fn new(config: PullConfig, state: PullState, server: Server) -> Self {
        let now = Instant::ZERO;
        Harness {
            client: PullClient::new(Arc::new(config), state, now),
            server,
            now,
            transcript: Vec::new(),
            incoming: Vec::new(),
            splits: vec![usize::MAX],
            split_at: 0,
            pending: VecDeque::new(),
            closed_by_server: false,
            outcome: None,
            fail_store: false,
        }
    }

    /// Runs the session to its end; returns the transcript.
    fn run(mut self, greeting: &str) -> (Vec<String>, Outcome) {
        self.reply(greeting.to_owned());
        for _ in 0..10_000 {
            self.drain();
            if self.client.is_finished() {
                break;
            }
            self.now = self.now + Duration::from_millis(1);
            if let Some(pending) = self.pending.pop_front() {
                let input = match pending {
                    Pending::Stored => Input::Stored,
                    Pending::StoreFailed => Input::StoreFailed("disk full".into()),
                    Pending::PostSent => Input::PostSent,
                    Pending::TlsStarted => Input::TlsStarted,
                };
                self.client.handle_input(self.now, input);
            } else if !self.incoming.is_empty() {
                let size = self.splits[self.split_at % self.splits.len()].max(1);
                self.split_at += 1;
                let chunk: Vec<u8> = self
                    .incoming
                    .drain(..size.min(self.incoming.len()))
                    .collect();
                self.client.handle_input(self.now, Input::Bytes(&chunk));
            } else if self.closed_by_server {
                self.transcript.push("S: <closed>".into());
                self.client.handle_input(self.now, Input::EndOfInput);
            } else {
                let deadline = self.client.poll_timeout().expect("a wait with no deadline");
                self.now = deadline;
                self.transcript.push("timer fired".into());
                self.client.handle_input(self.now, Input::TimerFired);
            }
        }
        self.drain();
        (self.transcript, self.outcome.expect("the session finished"))
    }

    fn reply(&mut self, text: String) {
        if text == "<close>" {
            self.closed_by_server = true;
            return;
        }
        for line in text.lines() {
            self.transcript.push(format!("S: {line}"));
        }
        self.incoming.extend_from_slice(text.as_bytes());
    }

    fn ask(&mut self, line: &str) {
        if let Some(answer) = (self.server)(line) {
            self.reply(answer);
        }
    }

    fn drain(&mut self) {
        while let Some(output) = self.client.poll_output() {
            match output {
                Output::Send(bytes) => {
                    let text = String::from_utf8(bytes).unwrap();
                    for line in text.lines() {
                        self.transcript.push(format!("C: {line}"));
                        self.ask(line);
                    }
                }
                Output::StartTls => {
                    self.transcript.push("<TLS>".into());
                    self.pending.push_back(Pending::TlsStarted);
                }
                Output::Article {
                    group,
                    number,
                    bytes,
                } => {
                    self.transcript.push(format!(
                        "article {group} {number}: {:?}",
                        String::from_utf8_lossy(&bytes)
                    ));
                    self.pending.push_back(if self.fail_store {
                        Pending::StoreFailed
                    } else {
                        Pending::Stored
                    });
                }
                Output::Pulled { group, number } => {
                    self.transcript.push(format!("pulled {group} {number}"))
                }
                Output::SendPost { id } => {
                    self.transcript.push(format!("C: <post {id}>"));
                    self.pending.push_back(Pending::PostSent);
                    self.ask(&format!("<post {id}>"));
                }
                Output::Posted { id, result } => {
                    self.transcript.push(format!("posted {id}: {result:?}"))
                }
                Output::Finished(outcome) => self.outcome = Some(outcome),
                Output::Close => self.transcript.push("close".into()),
                Output::Event(PullEvent::Response { .. }) => {}
                Output::Event(event) => self.transcript.push(format!("event: {event}")),
            }
        }
    }
}

fn article(number: u32) -> String {
    format!(
        "220 {number} <{number}@up.test>\r\nPath: upstream.test!poster\r\nSubject: n{number}\r\n\r\nbody {number}\r\n..dotted\r\n.\r\n"
    )
}

/// misc.test holds 1 to 3 (2 expired: 423); POST takes anything.
fn simple_server() -> Server {
    Box::new(|line: &str| {
        Some(match line {
            "MODE READER" => "200 reader\r\n".into(),
            "GROUP misc.test" => "211 2 1 3 misc.test\r\n".into(),
            "ARTICLE 1" => article(1),
            "ARTICLE 2" => "423 no such article\r\n".into(),
            "ARTICLE 3" => article(3),
            "POST" => "340 send\r\n".into(),
            l if l.starts_with("<post") => "240 thanks\r\n".into(),
            "QUIT" => "205 bye\r\n".into(),
            other => format!("500 what is {other}\r\n"),
        })
    })
}

fn lines(transcript: &[String]) -> String {
    transcript.join("\n")
}

#[test]
fn a_whole_pull_fetches_new_articles_skips_423_and_posts() {
    let mut state = PullState::default();
    state
        .outgoing
        .push(Outgoing::new(7, b"Path: ours.test!.POSTED\r\n\r\nhi\r\n"));
    let (transcript, outcome) =
        Harness::new(config("misc.test"), state, simple_server()).run("200 upstream ready\r\n");
    let expected = r#"S: 200 upstream ready
C: MODE READER
S: 200 reader
C: GROUP misc.test
S: 211 2 1 3 misc.test
C: ARTICLE 1
S: 220 1 <1@up.test>
S: Path: upstream.test!poster
S: Subject: n1
S: 
S: body 1
S: ..dotted
S: .
article misc.test 1: "Path: upstream.test!poster\r\nSubject: n1\r\n\r\nbody 1\r\n.dotted\r\n"
pulled misc.test 1
C: ARTICLE 2
S: 423 no such article
event: group=misc.test article=2 skipped: 423 no such article
pulled misc.test 2
C: ARTICLE 3
S: 220 3 <3@up.test>
S: Path: upstream.test!poster
S: Subject: n3
S: 
S: body 3
S: ..dotted
S: .
article misc.test 3: "Path: upstream.test!poster\r\nSubject: n3\r\n\r\nbody 3\r\n.dotted\r\n"
pulled misc.test 3
event: group=misc.test pulled=2
C: POST
S: 340 send
C: <post 7>
S: 240 thanks
posted 7: Accepted
C: QUIT
S: 205 bye
close"#;
    assert_eq!(lines(&transcript), expected);
    assert_eq!(
        outcome,
        Outcome {
            pulled: 2,
            posted: 1,
            refused: 0,
            failure: None
        }
    );
}

#[test]
fn a_pull_resumes_above_the_high_water_mark() {
    let mut state = PullState::default();
    state.high_water.insert(group("misc.test"), 2);
    let (transcript, outcome) =
        Harness::new(config("misc.test"), state, simple_server()).run("201 no posting\r\n");
    let text = lines(&transcript);
    assert!(
        !text.contains("ARTICLE 1") && !text.contains("ARTICLE 2"),
        "{text}"
    );
    assert!(text.contains("C: ARTICLE 3\n"), "{text}");
    assert_eq!(outcome.pulled, 1);
}

#[test]
fn nothing_new_means_no_article_command() {
    let mut state = PullState::default();
    state.high_water.insert(group("misc.test"), 3);
    let (transcript, outcome) =
        Harness::new(config("misc.test"), state, simple_server()).run("200 ready\r\n");
    assert!(!lines(&transcript).contains("ARTICLE"), "{transcript:?}");
    assert_eq!(outcome.failure, None);
}

#[test]
fn a_renumbered_upstream_is_reported_and_pulls_nothing() {
    let mut state = PullState::default();
    state.high_water.insert(group("misc.test"), 500);
    let (transcript, _) =
        Harness::new(config("misc.test"), state, simple_server()).run("200 ready\r\n");
    let text = lines(&transcript);
    assert!(text.contains("below our mark 500"), "{text}");
    assert!(!text.contains("ARTICLE"), "{text}");
}

#[test]
fn authinfo_user_and_pass_follow_mode_reader() {
    let mut config = config("misc.test");
    config.credentials = Some(Credentials {
        user: "puller".into(),
        password: "secret".into(),
    });
    let mut inner = simple_server();
    let server: Server = Box::new(move |line: &str| match line {
        "AUTHINFO USER puller" => Some("381 password please\r\n".into()),
        "AUTHINFO PASS secret" => Some("281 welcome\r\n".into()),
        "GROUP misc.test" => Some("211 0 4 3 misc.test\r\n".into()),
        other => inner(other),
    });
    let (transcript, outcome) =
        Harness::new(config, PullState::default(), server).run("200 ready\r\n");
    let expected = "S: 200 ready\nC: MODE READER\nS: 200 reader\nC: AUTHINFO USER puller\nS: 381 password please\nC: AUTHINFO PASS secret\nS: 281 welcome\nevent: authenticated\nC: GROUP misc.test\nS: 211 0 4 3 misc.test\nevent: group=misc.test pulled=0\nC: QUIT\nS: 205 bye\nclose";
    assert_eq!(lines(&transcript), expected);
    assert_eq!(outcome.failure, None);
}

#[test]
fn a_refused_password_ends_the_session() {
    let mut config = config("misc.test");
    config.credentials = Some(Credentials {
        user: "puller".into(),
        password: "wrong".into(),
    });
    let mut inner = simple_server();
    let server: Server = Box::new(move |line: &str| match line {
        "AUTHINFO USER puller" => Some("381 password please\r\n".into()),
        "AUTHINFO PASS wrong" => Some("481 no\r\n".into()),
        other => inner(other),
    });
    let (transcript, outcome) =
        Harness::new(config, PullState::default(), server).run("200 ready\r\n");
    let failure = outcome.failure.expect("a failure");
    assert_eq!(failure.stage, "AUTHINFO");
    assert_eq!(failure.detail, "481 no");
    assert!(!lines(&transcript).contains("GROUP"));
}

#[test]
fn a_password_with_a_line_break_is_never_sent() {
    let mut config = config("misc.test");
    config.credentials = Some(Credentials {
        user: "puller".into(),
        password: "x\r\nPOST".into(),
    });
    let (transcript, outcome) =
        Harness::new(config, PullState::default(), simple_server()).run("200 ready\r\n");
    assert!(!lines(&transcript).contains("AUTHINFO"), "{transcript:?}");
    assert_eq!(outcome.failure.map(|f| f.stage), Some("AUTHINFO"));
}

#[test]
fn starttls_comes_first_and_discards_what_followed_382() {
    let mut config = config("misc.test");
    config.tls = UpstreamTls::StartTls;
    let mut inner = simple_server();
    let server: Server = Box::new(move |line: &str| match line {
        // An injected response behind the go-ahead must not be read.
        "STARTTLS" => Some("382 go ahead\r\n281 injected\r\n".into()),
        other => inner(other),
    });
    let mut harness = Harness::new(config, PullState::default(), server);
    // One chunk per response, so that the injection arrives with the 382.
    harness.splits = vec![usize::MAX];
    let (transcript, outcome) = harness.run("200 ready\r\n");
    let text = lines(&transcript);
    assert!(
        text.starts_with("S: 200 ready\nC: STARTTLS\nS: 382 go ahead\nS: 281 injected\nevent: discarded 14 octets the server sent in clear after its 382\n<TLS>\nevent: TLS started\nC: MODE READER"),
        "{text}"
    );
    assert_eq!(outcome.failure, None);
}

#[test]
fn starttls_refused_fails_before_anything_else() {
    let mut config = config("misc.test");
    config.tls = UpstreamTls::StartTls;
    let mut inner = simple_server();
    let server: Server = Box::new(move |line: &str| match line {
        "STARTTLS" => Some("580 cannot\r\n".into()),
        other => inner(other),
    });
    let (transcript, outcome) =
        Harness::new(config, PullState::default(), server).run("200 ready\r\n");
    assert_eq!(outcome.failure.map(|f| f.stage), Some("STARTTLS"));
    assert!(!lines(&transcript).contains("MODE READER"));
}

#[test]
fn implicit_tls_handshakes_before_the_greeting() {
    let mut config = config("misc.test");
    config.tls = UpstreamTls::Implicit;
    let client = PullClient::new(Arc::new(config), PullState::default(), Instant::ZERO);
    let mut client = client;
    assert_eq!(client.poll_output(), Some(Output::StartTls));
    assert_eq!(
        client.poll_timeout(),
        None,
        "the driver bounds the handshake"
    );
    client.handle_input(Instant::ZERO, Input::TlsStarted);
    assert!(matches!(
        client.poll_output(),
        Some(Output::Event(PullEvent::TlsStarted))
    ));
    assert!(client.poll_timeout().is_some());
}

#[test]
fn post_refused_with_441_is_permanent_and_other_4xx_deferred() {
    let mut state = PullState::default();
    state.high_water.insert(group("misc.test"), 3);
    state
        .outgoing
        .push(Outgoing::new(1, b"Path: ours\r\n\r\nx\r\n"));
    state
        .outgoing
        .push(Outgoing::new(2, b"Path: ours\r\n\r\ny\r\n"));
    state
        .outgoing
        .push(Outgoing::new(3, b"Path: ours\r\n\r\nz\r\n"));
    let mut inner = simple_server();
    let server: Server = Box::new(move |line: &str| match line {
        "<post 1>" => Some("441 no Subject\r\n".into()),
        "<post 2>" => Some("436 try later\r\n".into()),
        other => inner(other),
    });
    let (transcript, outcome) = Harness::new(config("misc.test"), state, server).run("200 ok\r\n");
    let text = lines(&transcript);
    assert!(
        text.contains("posted 1: Refused(\"441 no Subject\")"),
        "{text}"
    );
    assert!(
        text.contains("posted 2: Deferred(\"436 try later\")"),
        "{text}"
    );
    assert!(text.contains("posted 3: Accepted"), "{text}");
    assert_eq!((outcome.posted, outcome.refused), (1, 1));
}

#[test]
fn articles_from_upstream_are_never_posted_back() {
    let mut state = PullState::default();
    state.high_water.insert(group("misc.test"), 3);
    state.outgoing.push(Outgoing::new(
        4,
        b"Path: ours!upstream.test!poster\r\n\r\nx\r\n",
    ));
    let (transcript, outcome) =
        Harness::new(config("misc.test"), state, simple_server()).run("200 ok\r\n");
    let text = lines(&transcript);
    assert!(text.contains("posted 4: CameFromUpstream"), "{text}");
    assert!(!text.contains("C: POST"), "{text}");
    assert_eq!(outcome.posted, 0);
}

#[test]
fn posting_off_leaves_the_queue_alone() {
    let mut config = config("misc.test");
    config.post_local = false;
    let mut state = PullState::default();
    state
        .outgoing
        .push(Outgoing::new(1, b"Path: ours\r\n\r\nx\r\n"));
    let (transcript, _) = Harness::new(config, state, simple_server()).run("200 ok\r\n");
    assert!(!lines(&transcript).contains("POST"));
}

#[test]
fn a_silent_server_times_out() {
    let mut inner = simple_server();
    let server: Server = Box::new(move |line: &str| match line {
        "GROUP misc.test" => None,
        other => inner(other),
    });
    let (transcript, outcome) =
        Harness::new(config("misc.test"), PullState::default(), server).run("200 ok\r\n");
    assert!(lines(&transcript).contains("timer fired"));
    let failure = outcome.failure.expect("a failure");
    assert_eq!(failure.stage, "connection");
    assert_eq!(
        failure.detail,
        "timed out waiting for the GROUP response (waiting for GROUP)"
    );
}

#[test]
fn a_drop_mid_article_stores_nothing_and_keeps_the_mark() {
    let mut inner = simple_server();
    let server: Server = Box::new(move |line: &str| match line {
        "ARTICLE 3" => Some("220 3 <3@up.test>\r\nPath: x\r\n\r\nhalf".into()),
        other => inner(other),
    });
    let mut harness = Harness::new(config("misc.test"), PullState::default(), server);
    // Once it has sent half the article, the server has nothing more to
    // say: it closes.
    harness.closed_by_server = true;
    let (transcript, outcome) = harness.run("200 ok\r\n");
    let text = lines(&transcript);
    assert!(text.contains("pulled misc.test 2"), "{text}");
    assert!(!text.contains("article misc.test 3"), "{text}");
    assert!(!text.contains("pulled misc.test 3"), "{text}");
    assert_eq!(outcome.pulled, 1);
    assert_eq!(
        outcome.failure.map(|f| f.detail),
        Some("the server closed the connection (waiting for ARTICLE)".to_owned())
    );
}

#[test]
fn a_store_failure_ends_the_session_without_moving_the_mark() {
    let mut harness = Harness::new(config("misc.test"), PullState::default(), simple_server());
    harness.fail_store = true;
    let (transcript, outcome) = harness.run("200 ok\r\n");
    let text = lines(&transcript);
    assert!(text.contains("article misc.test 1"), "{text}");
    assert!(!text.contains("pulled misc.test"), "{text}");
    assert_eq!(outcome.failure.map(|f| f.stage), Some("store"));
}

#[test]
fn an_article_over_the_limit_is_skipped_past() {
    let mut config = config("misc.test");
    config.article_bytes_max = 20;
    let (transcript, outcome) =
        Harness::new(config, PullState::default(), simple_server()).run("200 ok\r\n");
    let text = lines(&transcript);
    assert!(
        text.contains("article=1 skipped: 60 octets, over the limit of 20"),
        "{text}"
    );
    assert!(text.contains("pulled misc.test 3"), "{text}");
    assert_eq!(outcome.pulled, 0);
}

#[test]
fn a_wildmat_asks_list_active_and_pulls_what_matches() {
    let mut inner = simple_server();
    let server: Server = Box::new(move |line: &str| {
        match line {
        "LIST ACTIVE misc.*,!misc.secret" => Some(
            // The server ignores the wildmat: the client filters again.
            "215 list follows\r\nmisc.test 3 1 y\r\nmisc.secret 9 1 y\r\nother.group 5 1 y\r\nmisc.empty 0 1 n\r\n.\r\n"
                .into(),
        ),
        "GROUP misc.empty" => Some("211 0 1 0 misc.empty\r\n".into()),
        other => inner(other),
    }
    });
    let (transcript, outcome) =
        Harness::new(config("misc.*,!misc.secret"), PullState::default(), server).run("200 ok\r\n");
    let text = lines(&transcript);
    assert!(text.contains("C: GROUP misc.empty"), "{text}");
    assert!(text.contains("C: GROUP misc.test"), "{text}");
    assert!(
        !text.contains("secret\nC:") && !text.contains("GROUP misc.secret"),
        "{text}"
    );
    assert!(!text.contains("GROUP other.group"), "{text}");
    assert_eq!(outcome.pulled, 2);
}

#[test]
fn a_missing_group_is_reported_and_the_next_one_pulled() {
    let mut inner = simple_server();
    let server: Server = Box::new(move |line: &str| match line {
        "GROUP a.gone" => Some("411 no such group\r\n".into()),
        other => inner(other),
    });
    let (transcript, outcome) =
        Harness::new(config("a.gone,misc.test"), PullState::default(), server).run("200 ok\r\n");
    let text = lines(&transcript);
    assert!(
        text.contains("group=a.gone the upstream does not carry it"),
        "{text}"
    );
    assert_eq!(outcome.pulled, 2);
}

#[test]
fn a_new_group_starts_with_its_newest_articles() {
    let server: Server = Box::new(|line: &str| {
        Some(match line {
            "GROUP big.group" => "211 5000 1 5000 big.group\r\n".into(),
            l if l.starts_with("ARTICLE") => "423 gone\r\n".into(),
            "QUIT" => "205 bye\r\n".into(),
            _ => "200 ok\r\n".into(),
        })
    });
    let (transcript, _) =
        Harness::new(config("big.group"), PullState::default(), server).run("200 ok\r\n");
    let text = lines(&transcript);
    let first = crate::limits::NNTP_PULL_NEW_GROUP_ARTICLES;
    assert!(
        text.contains(&format!("C: ARTICLE {}\n", 5001 - first)),
        "{text}"
    );
    assert!(
        !text.contains(&format!("C: ARTICLE {}\n", 5000 - first)),
        "{text}"
    );
    assert!(text.contains("pulled big.group 5000"), "{text}");
}

#[test]
fn a_bad_greeting_fails() {
    let (_, outcome) = Harness::new(config("misc.test"), PullState::default(), simple_server())
        .run("502 go away\r\n");
    let failure = outcome.failure.expect("a failure");
    assert_eq!(
        (failure.stage, failure.detail.as_str()),
        ("greeting", "502 go away")
    );
}

// ---- Properties. ----

fn pull_with_splits(splits: Vec<usize>) -> (Vec<String>, Outcome) {
    let mut state = PullState::default();
    state
        .outgoing
        .push(Outgoing::new(7, b"Path: ours\r\n\r\nhi\r\n"));
    let mut harness = Harness::new(config("misc.test"), state, simple_server());
    harness.splits = splits;
    harness.run("200 upstream ready\r\n")
}

proptest! {
    #[test]
    fn any_split_of_the_server_bytes_gives_the_same_session(
        splits in proptest::collection::vec(1usize..40, 1..20)
    ) {
        prop_assert_eq!(pull_with_splits(splits), pull_with_splits(vec![usize::MAX]));
    }

    #[test]
    fn arbitrary_server_bytes_never_panic(
        bytes in proptest::collection::vec(any::<u8>(), 0..2000),
        cut in 0usize..2000,
    ) {
        let mut client = PullClient::new(
            Arc::new(config("misc.*")),
            PullState::default(),
            Instant::ZERO,
        );
        let cut = cut.min(bytes.len());
        for chunk in [&bytes[..cut], &bytes[cut..]] {
            client.handle_input(Instant::ZERO, Input::Bytes(chunk));
            let mut stored = 0;
            while let Some(output) = client.poll_output() {
                stored += usize::from(matches!(output, Output::Article { .. }));
            }
            for _ in 0..stored {
                client.handle_input(Instant::ZERO, Input::Stored);
                while client.poll_output().is_some() {}
            }
        }
    }
}

#[test]
fn failed_rounds_back_off_within_the_interval() {
    let hour = Duration::from_secs(3600);
    let rows = [
        (hour, 0, hour),
        (hour, 1, Duration::from_secs(30)),
        (hour, 2, Duration::from_secs(60)),
        (hour, 5, Duration::from_secs(480)),
        (hour, 50, hour),
        (Duration::from_secs(45), 3, Duration::from_secs(45)),
    ];
    for (interval, failures, expected) in rows {
        assert_eq!(next_round_in(interval, failures), expected, "{failures}");
    }
}
