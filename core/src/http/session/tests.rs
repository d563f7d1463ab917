use super::*;
use crate::auth::SendAs;

fn token(n: u8) -> Token {
    Token::from_bytes([n; TOKEN_BYTES])
}

fn identity(login: &str) -> Identity {
    Identity {
        login: login.to_owned(),
        send_as: SendAs::Addresses(vec![login.to_owned()]),
    }
}

fn at(seconds: u64) -> Instant {
    Instant::from_nanos(seconds * 1_000_000_000)
}

#[test]
fn a_token_reads_back_from_its_text_and_nothing_else_parses() {
    let t = token(7);
    assert_eq!(t.text().len(), 43);
    assert!(Token::parse(&t.text()) == Some(t));
    for bad in ["", "abc", &"A".repeat(44), &"!".repeat(43)] {
        assert!(Token::parse(bad).is_none(), "{bad:?}");
    }
}

#[test]
fn a_form_token_matches_only_its_own_text() {
    let t = token(1);
    assert!(t.matches(&t.text()));
    assert!(!t.matches(&token(2).text()));
    assert!(!t.matches(""));
    assert!(!t.matches(&t.text()[..42]));
}

#[test]
fn a_shared_computer_session_ends_after_fifteen_idle_minutes() {
    let mut sessions = WebSessions::default();
    sessions.open(
        token(1),
        token(2),
        identity("a@x.test"),
        false,
        Computer::Shared,
        at(0),
    );
    assert!(sessions.find(&token(1), at(14 * 60)).is_some());
    // Seen at 14 minutes: still alive 14 minutes later.
    assert!(sessions.find(&token(1), at(28 * 60)).is_some());
    assert!(sessions.find(&token(1), at(28 * 60 + 15 * 60)).is_none());
    assert!(sessions.is_empty(), "an expired session is removed");
}

#[test]
fn a_busy_session_still_ends_at_its_lifetime() {
    let mut sessions = WebSessions::default();
    sessions.open(
        token(1),
        token(2),
        identity("a@x.test"),
        false,
        Computer::Shared,
        at(0),
    );
    let mut now = 0;
    while now < 2 * 60 * 60 - 60 {
        now += 60;
        assert!(sessions.find(&token(1), at(now)).is_some(), "at {now}s");
    }
    assert!(sessions.find(&token(1), at(2 * 60 * 60)).is_none());
}

#[test]
fn a_personal_session_outlasts_a_shared_one() {
    let mut sessions = WebSessions::default();
    sessions.open(
        token(1),
        token(2),
        identity("a@x.test"),
        false,
        Computer::Personal,
        at(0),
    );
    assert!(sessions.find(&token(1), at(60 * 60)).is_some());
    assert!(
        sessions
            .find(&token(1), at(60 * 60 + 24 * 60 * 60))
            .is_none()
    );
}

#[test]
fn a_full_table_drops_the_session_idle_longest() {
    let mut sessions = WebSessions::with_capacity(2);
    sessions.open(
        token(1),
        token(9),
        identity("a@x.test"),
        false,
        Computer::Personal,
        at(0),
    );
    sessions.open(
        token(2),
        token(9),
        identity("b@x.test"),
        false,
        Computer::Personal,
        at(1),
    );
    assert!(sessions.find(&token(1), at(2)).is_some());
    sessions.open(
        token(3),
        token(9),
        identity("c@x.test"),
        false,
        Computer::Personal,
        at(3),
    );
    assert_eq!(sessions.len(), 2);
    assert!(
        sessions.find(&token(2), at(4)).is_none(),
        "b was idle longest"
    );
    assert!(sessions.find(&token(1), at(4)).is_some());
    assert!(sessions.find(&token(3), at(4)).is_some());
}

#[test]
fn a_password_change_ends_the_accounts_other_sessions_only() {
    let mut sessions = WebSessions::default();
    sessions.open(
        token(1),
        token(9),
        identity("a@x.test"),
        false,
        Computer::Personal,
        at(0),
    );
    sessions.open(
        token(2),
        token(9),
        identity("a@x.test"),
        false,
        Computer::Personal,
        at(0),
    );
    sessions.open(
        token(3),
        token(9),
        identity("b@x.test"),
        false,
        Computer::Personal,
        at(0),
    );
    assert_eq!(sessions.close_others("a@x.test", Some(&token(1))), 1);
    assert!(sessions.find(&token(1), at(1)).is_some());
    assert!(sessions.find(&token(2), at(1)).is_none());
    assert!(sessions.find(&token(3), at(1)).is_some());
}

#[test]
fn cookies_are_http_only_strict_and_secure_over_https() {
    let personal = session_cookie(&token(1), Computer::Personal, true);
    assert!(personal.starts_with("postern_session="));
    for attribute in [
        "HttpOnly",
        "SameSite=Strict",
        "Secure",
        "Path=/",
        "Max-Age=604800",
    ] {
        assert!(personal.contains(attribute), "{personal}");
    }
    let shared = session_cookie(&token(1), Computer::Shared, false);
    assert!(
        !shared.contains("Max-Age"),
        "dies with the browser: {shared}"
    );
    assert!(!shared.contains("Secure"), "plain HTTP: {shared}");
    assert!(clear_cookie(SESSION_COOKIE, false).contains("Max-Age=0"));
}

#[test]
fn cookie_values_are_found_by_exact_name() {
    let header = "a=1; postern_session_x=2; postern_session=abc; b=3";
    assert_eq!(cookie_value(header, SESSION_COOKIE), Some("abc"));
    assert_eq!(cookie_value(header, "missing"), None);
}
