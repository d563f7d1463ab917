//! The machine contract seen from a driver: back-pressure while a request
//! is out, shutdown and a stalled writer mid-session, timers only while
//! the client is waited for.

use super::harness::config;
use crate::imap::session::{Event, ImapServer, Input, Output, Request, SessionInfo};
use crate::limits::{IMAP_INPUT_BUFFER_BYTES_MAX, READ_CHUNK_BYTES};
use crate::time::{Instant, UnixTime};
use std::sync::Arc;

fn server() -> (ImapServer, Instant) {
    let info = SessionInfo {
        local: "127.0.0.1:143".parse().unwrap(),
        remote: "192.0.2.7:40000".parse().unwrap(),
        tls: false,
    };
    let now = Instant::from_nanos(1_000_000_000);
    let mut server = ImapServer::new(Arc::new(config()), info, now, UnixTime(1_795_300_000));
    while server.poll_output().is_some() {}
    (server, now)
}

fn drain(server: &mut ImapServer) -> Vec<Output> {
    std::iter::from_fn(|| server.poll_output()).collect()
}

#[test]
fn while_a_request_is_out_reading_stops_at_the_bound_and_a_driver_past_it_is_cut_off() {
    let (mut server, now) = server();
    server.handle_input(now, Input::Bytes(b"a LOGIN alice@example.test x\r\n"));
    let outputs = drain(&mut server);
    assert!(matches!(
        outputs[..],
        [Output::Request(Request::Authenticate(_))]
    ));
    assert_eq!(
        server.poll_timeout(),
        None,
        "no timer while the driver works"
    );
    let chunk = vec![b'x'; READ_CHUNK_BYTES];
    let mut fed = 0;
    while server.wants_input() {
        server.handle_input(now, Input::Bytes(&chunk));
        assert!(drain(&mut server).is_empty(), "nothing said mid-request");
        fed += chunk.len();
    }
    assert!(fed >= IMAP_INPUT_BUFFER_BYTES_MAX);
    assert!(!server.is_closed());
    // A driver that reads on anyway.
    server.handle_input(now, Input::Bytes(&chunk));
    server.handle_input(now, Input::Bytes(&chunk));
    let outputs = drain(&mut server);
    assert!(outputs.contains(&Output::Event(Event::InputOverflow)));
    assert!(outputs.contains(&Output::Close));
    assert!(server.is_closed());
    assert!(!server.wants_input());
}

#[test]
fn shutdown_mid_request_says_bye_and_the_late_answer_changes_nothing() {
    let (mut server, now) = server();
    server.handle_input(now, Input::Bytes(b"a LOGIN alice@example.test x\r\n"));
    drain(&mut server);
    server.handle_input(now, Input::Shutdown);
    let outputs = drain(&mut server);
    assert!(outputs.contains(&Output::Send(
        b"* BYE imap.example.test Server shutting down\r\n".to_vec()
    )));
    assert_eq!(outputs.last(), Some(&Output::Close));
    server.handle_input(
        now,
        Input::Authenticated(crate::auth::AuthVerdict::Rejected),
    );
    assert!(drain(&mut server).is_empty());
    assert_eq!(server.poll_timeout(), None);
}

#[test]
fn a_stalled_writer_ends_the_session_without_a_word() {
    let (mut server, now) = server();
    let deadline = server.send_deadline();
    assert_eq!(deadline, now + config().autologout);
    server.handle_input(deadline, Input::SendTimedOut);
    let outputs = drain(&mut server);
    assert!(matches!(
        outputs[0],
        Output::Event(Event::SendStalled { .. })
    ));
    assert_eq!(outputs[1..], [Output::Close]);
}

#[test]
#[should_panic(expected = "time went backwards")]
fn time_going_backwards_is_a_driver_bug() {
    let (mut server, now) = server();
    server.handle_input(now + std::time::Duration::from_secs(1), Input::TimerFired);
    server.handle_input(now, Input::TimerFired);
}
