//! Connection reuse (RFC 5321 3.3): several messages over one session,
//! against a scripted server whose replies may come in any split.

use super::tests::{EHLO_OK, config, delivery, start};
use super::*;
use crate::limits::{
    CLIENT_CONNECTION_AGE_MAX, CLIENT_CONNECTION_IDLE_MAX, CLIENT_MESSAGES_PER_CONNECTION_MAX,
};
use crate::time::Instant;
use std::collections::VecDeque;
use std::sync::Arc;

/// The server's side: the reply to one client line (or `<data>` for the
/// message), given how many messages the server has seen begin (MAIL) so
/// far, counting this one.
type Script = fn(line: &str, mail: usize) -> Option<&'static str>;

/// A server that takes everything.
fn happy(line: &str, _mail: usize) -> Option<&'static str> {
    Some(match line.split(' ').next().unwrap_or("") {
        "EHLO" => EHLO_OK,
        "MAIL" => "250 2.1.0 Ok\r\n",
        "RCPT" => "250 2.1.5 Ok\r\n",
        "DATA" => "354 go ahead\r\n",
        "<data>" => "250 2.0.0 Ok: queued\r\n",
        "RSET" => "250 2.0.0 Ok\r\n",
        "QUIT" => "221 bye\r\n",
        _ => return None,
    })
}

/// One connection: the client, the messages waiting for it, and what it
/// did. `splits` cut each batch of the server's replies into pieces.
struct Conversation {
    client: Client,
    now: Instant,
    script: Script,
    waiting: VecDeque<Delivery>,
    /// Every line the client sent, in order.
    sent: Vec<String>,
    /// The outcome of each message, in order.
    outcomes: Vec<Outcome>,
    /// Ready emitted, and not answered yet.
    ready: bool,
    readies: usize,
    closed: bool,
    mails: usize,
    /// Cut points (modulo the batch's length) for the server's batches.
    splits: Vec<usize>,
    /// Hand in NoMoreMessages when the queue is empty (else wait).
    say_no_more: bool,
}

impl Conversation {
    fn new(script: Script, messages: usize, reuse: u32) -> Self {
        let waiting = (0..messages)
            .map(|n| delivery(&[&format!("m{n}@dest.test")]))
            .collect();
        let first = delivery(&["first@dest.test"]);
        let client = Client::new(Arc::new(config()), first, start()).with_reuse(reuse);
        Conversation {
            client,
            now: start(),
            script,
            waiting,
            sent: Vec::new(),
            outcomes: Vec::new(),
            ready: false,
            readies: 0,
            closed: false,
            mails: 0,
            splits: Vec::new(),
            say_no_more: true,
        }
    }

    fn drain(&mut self) {
        while let Some(output) = self.client.poll_output() {
            assert!(!self.closed, "{output:?} after Close");
            match output {
                Output::Send(bytes) => {
                    let text = String::from_utf8(bytes).unwrap();
                    self.sent.extend(text.lines().map(str::to_owned));
                }
                Output::SendMessage => {
                    self.sent.push("<data>".to_owned());
                    self.client.handle_input(self.now, Input::MessageSent);
                }
                Output::Finished(outcome) => self.outcomes.push(outcome),
                Output::Ready => {
                    assert!(!self.ready, "Ready twice");
                    self.ready = true;
                    self.readies += 1;
                }
                Output::Close => self.closed = true,
                Output::StartTls => panic!("no TLS here"),
                Output::Event(_) => {}
            }
        }
    }

    /// Hands the server's replies in, cut at the next split points.
    fn server_says(&mut self, text: &str) {
        let bytes = text.as_bytes();
        let mut at = 0;
        while at < bytes.len() {
            let cut = match self.splits.pop() {
                Some(n) => at + 1 + n % (bytes.len() - at),
                None => bytes.len(),
            };
            self.client
                .handle_input(self.now, Input::Bytes(&bytes[at..cut]));
            at = cut;
            self.drain();
        }
    }

    fn input(&mut self, input: Input<'_>) {
        self.client.handle_input(self.now, input);
        self.drain();
    }

    /// Plays until the connection closes or waits for something the
    /// script does not answer.
    fn play(mut self, greeting: &str) -> Self {
        self.server_says(greeting);
        let mut answered = 0;
        for _ in 0..2000 {
            if self.ready {
                match self.waiting.pop_front() {
                    Some(next) => {
                        self.ready = false;
                        self.input(Input::NextMessage(next));
                    }
                    None if self.say_no_more => {
                        self.ready = false;
                        self.input(Input::NoMoreMessages);
                    }
                    None => return self,
                }
                continue;
            }
            let mut reply = String::new();
            while answered < self.sent.len() {
                let line = self.sent[answered].clone();
                answered += 1;
                if line.starts_with("MAIL") {
                    self.mails += 1;
                }
                if let Some(r) = (self.script)(&line, self.mails) {
                    reply.push_str(r);
                }
            }
            if reply.is_empty() || self.closed {
                return self;
            }
            self.server_says(&reply);
        }
        panic!("the conversation did not end: {:?}", self.sent);
    }

    fn count(&self, prefix: &str) -> usize {
        self.sent.iter().filter(|l| l.starts_with(prefix)).count()
    }

    fn verdicts(&self) -> Vec<Verdict> {
        self.outcomes
            .iter()
            .flat_map(|o| o.recipients.iter().map(|r| r.verdict))
            .collect()
    }
}

#[test]
fn three_messages_share_one_connection() {
    let run = Conversation::new(happy, 2, 10).play("220 mx\r\n");
    assert_eq!(run.count("EHLO"), 1);
    assert_eq!(run.count("MAIL"), 3);
    assert_eq!(run.count("RSET"), 0, "a completed transaction needs none");
    assert_eq!(run.count("QUIT"), 1);
    assert_eq!(run.sent.last().map(String::as_str), Some("QUIT"));
    assert_eq!(run.verdicts(), [Verdict::Delivered; 3]);
    let recipients: Vec<String> = run
        .outcomes
        .iter()
        .map(|o| o.recipients[0].forward_path.to_string())
        .collect();
    assert_eq!(
        recipients,
        ["<first@dest.test>", "<m0@dest.test>", "<m1@dest.test>"]
    );
    assert!(run.closed && run.client.is_finished());
    assert_eq!(run.client.messages(), 3);
}

#[test]
fn without_reuse_the_session_quits_after_one_message() {
    let run = Conversation::new(happy, 2, 1).play("220 mx\r\n");
    assert_eq!(run.readies, 0);
    assert_eq!(run.count("MAIL"), 1);
    assert_eq!(run.outcomes.len(), 1);
    assert_eq!(run.waiting.len(), 2, "the others were never handed in");
    assert!(run.closed);
}

#[test]
fn the_message_limit_ends_the_connection() {
    let run = Conversation::new(happy, 5, 3).play("220 mx\r\n");
    assert_eq!(run.count("MAIL"), 3);
    assert_eq!(run.readies, 2);
    assert_eq!(run.waiting.len(), 3, "left for another connection");
    assert_eq!(run.count("QUIT"), 1);
    assert!(run.closed);
}

#[test]
fn a_connection_past_its_age_limit_takes_no_further_message() {
    let young = CLIENT_CONNECTION_AGE_MAX - std::time::Duration::from_secs(1);
    let mut run = Conversation::new(happy, 3, 10);
    run.now = start() + young;
    let run = run.play("220 mx\r\n");
    assert_eq!(run.count("MAIL"), 4, "all four before the limit");

    let mut run = Conversation::new(happy, 3, 10);
    run.now = start() + CLIENT_CONNECTION_AGE_MAX;
    let run = run.play("220 mx\r\n");
    assert_eq!(run.count("MAIL"), 1);
    assert_eq!(run.readies, 0);
    assert_eq!(run.verdicts(), [Verdict::Delivered]);
    assert_eq!(run.waiting.len(), 3, "left for a new connection");
    assert_eq!(run.sent.last().map(String::as_str), Some("QUIT"));
    assert!(run.closed);
}

#[test]
fn reuse_is_bounded_by_the_limit_whatever_is_asked() {
    let run = Conversation::new(
        happy,
        CLIENT_MESSAGES_PER_CONNECTION_MAX as usize + 5,
        u32::MAX,
    )
    .play("220 mx\r\n");
    assert_eq!(
        run.count("MAIL"),
        CLIENT_MESSAGES_PER_CONNECTION_MAX as usize
    );
    // The first message and MAX - 1 of those waiting went.
    assert_eq!(run.waiting.len(), 6);
}

/// The first message's recipients are all refused: DATA fails, and the
/// transaction the server still holds is reset before the next MAIL.
fn refuses_the_first(line: &str, mail: usize) -> Option<&'static str> {
    match line.split(' ').next() {
        Some("RCPT") if mail == 1 => Some("550 5.1.1 no such user\r\n"),
        Some("DATA") if mail == 1 => Some("554 5.5.1 no valid recipients\r\n"),
        _ => happy(line, mail),
    }
}

#[test]
fn a_transaction_the_server_did_not_end_is_reset_before_the_next() {
    let run = Conversation::new(refuses_the_first, 1, 10).play("220 mx\r\n");
    assert_eq!(run.verdicts(), [Verdict::Failed, Verdict::Delivered]);
    let rset = run
        .sent
        .iter()
        .position(|l| l == "RSET")
        .expect("RSET sent");
    let second_mail = run
        .sent
        .iter()
        .rposition(|l| l.starts_with("MAIL"))
        .unwrap();
    assert!(rset < second_mail, "{:?}", run.sent);
    assert_eq!(run.count("RSET"), 1);
}

fn refuses_rset(line: &str, mail: usize) -> Option<&'static str> {
    match line {
        "RSET" => Some("421 4.3.2 shutting down\r\n"),
        _ => refuses_the_first(line, mail),
    }
}

#[test]
fn a_refused_rset_gives_the_message_back_untried() {
    let run = Conversation::new(refuses_rset, 2, 10).play("220 mx\r\n");
    assert_eq!(run.outcomes.len(), 2);
    let failure = run.outcomes[1].session_failure.as_ref().expect("untried");
    assert_eq!(failure.stage, "RSET");
    assert_eq!(run.outcomes[1].recipients[0].verdict, Verdict::Deferred);
    assert_eq!(run.count("MAIL"), 1, "no MAIL after the refused RSET");
    assert_eq!(run.waiting.len(), 1, "the third never handed in");
    assert!(run.closed);
}

fn closes_after_the_first(line: &str, mail: usize) -> Option<&'static str> {
    match line.split(' ').next() {
        Some("<data>") if mail == 1 => Some("421 4.3.2 closing after this one\r\n"),
        _ => happy(line, mail),
    }
}

#[test]
fn a_421_settles_the_message_and_ends_the_connection() {
    let run = Conversation::new(closes_after_the_first, 2, 10).play("220 mx\r\n");
    assert_eq!(run.verdicts(), [Verdict::Deferred]);
    assert_eq!(run.readies, 0);
    assert_eq!(run.count("QUIT"), 1);
    assert!(run.closed);
    assert_eq!(run.waiting.len(), 2);
}

/// Plays one message and stops while the connection waits for more.
fn idle_after_one() -> Conversation {
    let mut run = Conversation::new(happy, 0, 10);
    run.say_no_more = false;
    let run = run.play("220 mx\r\n");
    assert!(run.ready && !run.closed);
    assert_eq!(
        run.client.poll_timeout(),
        Some(start() + CLIENT_CONNECTION_IDLE_MAX)
    );
    run
}

#[test]
fn an_idle_connection_quits_at_the_idle_limit() {
    let mut run = idle_after_one();
    run.now = start() + (CLIENT_CONNECTION_IDLE_MAX - std::time::Duration::from_millis(1));
    run.input(Input::TimerFired);
    assert!(!run.closed, "not before the limit");
    run.now = start() + CLIENT_CONNECTION_IDLE_MAX;
    run.input(Input::TimerFired);
    assert_eq!(run.sent.last().map(String::as_str), Some("QUIT"));
    assert!(run.closed);
    assert_eq!(run.outcomes.len(), 1, "no outcome without a message");
    assert_eq!(run.client.poll_timeout(), None);
}

#[test]
fn a_server_that_hangs_up_while_idle_only_ends_the_connection() {
    for goodbye in [&b"421 4.4.2 idle too long\r\n"[..], b""] {
        let mut run = idle_after_one();
        if goodbye.is_empty() {
            run.input(Input::EndOfInput);
        } else {
            run.input(Input::Bytes(goodbye));
        }
        assert!(run.closed);
        assert_eq!(run.outcomes.len(), 1);
        assert_eq!(
            run.count("QUIT"),
            0,
            "nothing is sent to a closed connection"
        );
    }
}

#[test]
fn a_message_on_a_connection_lost_before_its_mail_reply_goes_back_untried() {
    let mut run = idle_after_one();
    run.ready = false;
    run.input(Input::NextMessage(delivery(&["next@dest.test"])));
    assert!(run.sent.iter().any(|l| l == "RCPT TO:<next@dest.test>"));
    run.input(Input::EndOfInput);
    assert_eq!(run.outcomes.len(), 2);
    let failure = run.outcomes[1].session_failure.as_ref().expect("untried");
    assert_eq!(failure.stage, "connection");
    assert!(run.closed);
}

#[test]
fn a_connection_lost_mid_data_defers_only_the_message_in_flight() {
    let mut run = idle_after_one();
    run.ready = false;
    run.input(Input::NextMessage(delivery(&["next@dest.test"])));
    run.server_says("250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n354 go ahead\r\n");
    assert_eq!(run.sent.last().map(String::as_str), Some("<data>"));
    run.input(Input::EndOfInput);
    assert_eq!(run.verdicts(), [Verdict::Delivered, Verdict::Deferred]);
    assert_eq!(run.outcomes[1].session_failure, None, "it was tried");
    assert!(run.closed);
}

#[test]
fn a_reply_behind_the_final_one_ends_reuse() {
    fn chatty(line: &str, mail: usize) -> Option<&'static str> {
        match line {
            "<data>" => Some("250 2.0.0 Ok\r\n250 2.0.0 and again\r\n"),
            _ => happy(line, mail),
        }
    }
    let run = Conversation::new(chatty, 2, 10).play("220 mx\r\n");
    assert_eq!(run.verdicts(), [Verdict::Delivered]);
    assert_eq!(run.readies, 0);
    assert!(run.closed);
}

/// A server whose answers vary by message: 250, a 451 to RCPT, 550 to
/// the data, and 250 again.
fn mixed(line: &str, mail: usize) -> Option<&'static str> {
    match (line.split(' ').next(), mail) {
        (Some("RCPT"), 2) => Some("451 4.3.0 try later\r\n"),
        (Some("DATA"), 2) => Some("554 5.5.1 no valid recipients\r\n"),
        (Some("<data>"), 3) => Some("550 5.7.1 content refused\r\n"),
        _ => happy(line, mail),
    }
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]

    /// Any split of the server's replies gives the same lines sent and the
    /// same outcomes.
    #[test]
    fn any_split_of_the_replies_gives_the_same_conversation(
        splits in proptest::collection::vec(0usize..64, 0..80)
    ) {
        let whole = Conversation::new(mixed, 3, 10).play("220 mx\r\n");
        let mut split = Conversation::new(mixed, 3, 10);
        split.splits = splits;
        let split = split.play("220 mx\r\n");
        proptest::prop_assert_eq!(&split.sent, &whole.sent);
        proptest::prop_assert_eq!(&split.outcomes, &whole.outcomes);
        proptest::prop_assert_eq!(
            whole.verdicts(),
            vec![Verdict::Delivered, Verdict::Deferred, Verdict::Failed, Verdict::Delivered]
        );
        proptest::prop_assert_eq!(whole.count("RSET"), 1);
    }
}
