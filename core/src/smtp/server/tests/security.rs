//! STARTTLS (RFC 3207) and AUTH (RFC 4954) in the machine: when they are
//! offered, what is forgotten after STARTTLS, how failed logins are slowed
//! down and limited.

use super::harness::{Harness, config};
use crate::auth::{AuthPolicy, LockoutPolicy, LoginGuard};
use crate::policy::RelayPolicy;
use crate::smtp::server::SessionConfig;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use std::time::Duration;

/// An MX instance with STARTTLS and AUTH over TLS only.
fn starttls_config() -> SessionConfig {
    SessionConfig {
        starttls: true,
        auth: AuthPolicy {
            offered: true,
            ..AuthPolicy::default()
        },
        ..config()
    }
}

/// A submission instance, tested without TLS as `auth_without_tls` allows.
fn submission_config() -> SessionConfig {
    SessionConfig {
        relay: RelayPolicy::Authenticated,
        auth: AuthPolicy {
            offered: true,
            without_tls: true,
            required: true,
            max_failures: 3,
            failure_delay: Duration::from_secs(2),
        },
        ..config()
    }
}

fn plain(login: &str, password: &str) -> String {
    BASE64.encode(format!("\0{login}\0{password}"))
}

fn submission() -> Harness {
    let mut harness = Harness::with_config(submission_config());
    harness.send_line("EHLO client.test");
    harness
}

#[test]
fn starttls_discards_commands_pipelined_behind_it_and_starts_over() {
    let mut harness = Harness::with_config(starttls_config());
    harness.send_line("EHLO client.test");
    // The CVE-2011-0411 attack: commands injected after STARTTLS in the
    // same packet must never run, in clear or after the handshake.
    harness.send(b"STARTTLS\r\nMAIL FROM:<injected@evil.test>\r\nRCPT TO:<alice@example.test>\r\n");
    assert!(!harness.transcript.contains("mail from=<injected"));
    // Everything learned before TLS is forgotten: EHLO again first.
    harness.send_line("MAIL FROM:<sender@remote.test>");
    harness.send_line("RCPT TO:<alice@example.test>");
    harness.send_line("EHLO client.test");
    harness.send_line("STARTTLS");
    harness.send_line("QUIT");
    let transcript = &harness.transcript;
    assert!(transcript.contains("S: 220 2.0.0 Ready to start TLS"));
    assert!(transcript.contains("S: 503 5.5.1 Send HELO or EHLO first"));
    assert!(transcript.contains("S: 503 5.5.1 TLS already active"));
    insta::assert_snapshot!(harness.transcript);
}

#[test]
fn starttls_is_refused_when_not_configured_or_mid_transaction() {
    let mut harness = Harness::new();
    harness.send_line("EHLO client.test");
    harness.send_line("STARTTLS");
    let mut harness2 = Harness::with_config(starttls_config());
    harness2.send_line("EHLO client.test");
    harness2.send_line("MAIL FROM:<sender@remote.test>");
    harness2.send_line("STARTTLS");
    harness2.send_line("STARTTLS now");
    assert!(
        harness
            .transcript
            .contains("S: 502 5.5.1 STARTTLS is not offered here")
    );
    assert!(!harness.transcript.contains("250-STARTTLS"));
    insta::assert_snapshot!(harness2.transcript);
}

#[test]
fn auth_is_offered_only_after_tls_and_refused_before_with_538() {
    let mut harness = Harness::with_config(starttls_config());
    harness.send_line("EHLO client.test");
    harness.send_secret_line(&format!(
        "AUTH PLAIN {}",
        plain("alice@example.test", "correct horse")
    ));
    harness.send_line("STARTTLS");
    harness.send_line("EHLO client.test");
    harness.send_secret_line(&format!(
        "AUTH PLAIN {}",
        plain("alice@example.test", "correct horse")
    ));
    harness.send_line("MAIL FROM:<alice@example.test>");
    let transcript = &harness.transcript;
    let before_tls = transcript.split("TLS handshake").next().unwrap();
    assert!(!before_tls.contains("AUTH PLAIN LOGIN"));
    assert!(transcript.contains("S: 538 5.7.11 Encryption required"));
    assert!(transcript.contains("S: 250 AUTH PLAIN LOGIN"));
    assert!(transcript.contains("S: 235 2.7.0 Authentication successful"));
    insta::assert_snapshot!(harness.transcript);
}

#[test]
fn submission_requires_auth_before_mail_then_relays_for_the_user() {
    let mut harness = submission();
    harness.send_line("MAIL FROM:<alice@example.test>");
    harness.send_secret_line(&format!(
        "AUTH PLAIN {}",
        plain("Alice@Example.test", "correct horse")
    ));
    harness.send_line("MAIL FROM:<alice@example.test>");
    harness.send_line("RCPT TO:<friend@elsewhere.test>");
    harness.send_line("DATA");
    harness.send(b"Subject: hi\r\n\r\nhello\r\n.\r\n");
    harness.send_line("QUIT");
    assert!(
        harness
            .transcript
            .contains("S: 530 5.7.0 Authentication required")
    );
    assert_eq!(harness.stored.len(), 1);
    let data = String::from_utf8_lossy(&harness.stored[0].data).into_owned();
    assert!(data.contains("with ESMTPA id"), "{data}");
    assert!(!harness.transcript.contains("correct horse"));
    insta::assert_snapshot!(harness.transcript);
}

#[test]
fn the_envelope_sender_must_belong_to_the_account() {
    let mut harness = submission();
    harness.send_secret_line(&format!(
        "AUTH PLAIN {}",
        plain("alice@example.test", "correct horse")
    ));
    harness.send_line("MAIL FROM:<bob@example.test>");
    harness.send_line("MAIL FROM:<>");
    let mut admin = submission();
    admin.send_secret_line(&format!(
        "AUTH PLAIN {}",
        plain("admin@example.test", "battery staple")
    ));
    admin.send_line("MAIL FROM:<bob@example.test>");
    assert!(harness.transcript.contains(
        "S: 553 5.7.1 <bob@example.test>: Sender address rejected: not owned by user alice@example.test"
    ));
    assert!(
        harness
            .transcript
            .contains("S: 553 5.7.1 <>: Sender address rejected")
    );
    assert!(
        admin.transcript.contains("S: 250 2.1.0 Ok"),
        "{}",
        admin.transcript
    );
}

#[test]
fn login_exchange_cancel_and_bad_responses() {
    let mut harness = submission();
    harness.send_line("AUTH CRAM-MD5");
    harness.send_line("AUTH LOGIN");
    harness.send_line("*");
    harness.send_line("AUTH PLAIN");
    harness.send_line("not base64!");
    harness.send_line("AUTH LOGIN");
    harness.send_line(&BASE64.encode("alice@example.test"));
    harness.send_secret_line(&BASE64.encode("correct horse"));
    harness.send_line("AUTH PLAIN");
    insta::assert_snapshot!(harness.transcript);
}

#[test]
fn failed_logins_wait_out_the_delay_and_the_third_closes_the_session() {
    let mut harness = submission();
    // A wrong password with a command pipelined behind it: neither is
    // answered until the delay is over.
    harness.send_secret_line(&format!(
        "AUTH PLAIN {}\r\nNOOP",
        plain("alice@example.test", "guess")
    ));
    assert!(!harness.transcript.contains("S: 535"));
    harness.advance(Duration::from_secs(1));
    assert!(!harness.transcript.contains("S: 535"));
    harness.advance(Duration::from_secs(1));
    assert!(
        harness
            .transcript
            .contains("S: 535 5.7.8 Authentication credentials invalid")
    );
    assert!(
        harness.transcript.contains("S: 250 2.0.0 Ok"),
        "the NOOP runs after"
    );
    harness.send_secret_line(&format!("AUTH PLAIN {}", plain("nobody@example.test", "x")));
    harness.advance(Duration::from_secs(2));
    harness.send_secret_line(&format!(
        "AUTH PLAIN {}",
        plain("alice@example.test", "guess2")
    ));
    harness.advance(Duration::from_secs(2));
    assert!(harness.closed);
    insta::assert_snapshot!(harness.transcript);
}

#[test]
fn a_host_that_failed_too_often_is_locked_out_even_with_the_right_password() {
    let mut harness = Harness::with_config(SessionConfig {
        auth: AuthPolicy {
            max_failures: 10,
            failure_delay: Duration::ZERO,
            ..submission_config().auth
        },
        ..submission_config()
    });
    harness.guard = LoginGuard::new(LockoutPolicy {
        failures: 2,
        window: Duration::from_secs(60),
        ..LockoutPolicy::default()
    });
    harness.send_line("EHLO client.test");
    // Two different guesses: a repeated one would count once.
    for guess in ["guess", "guesS"] {
        harness.send_secret_line(&format!(
            "AUTH PLAIN {}",
            plain("alice@example.test", guess)
        ));
    }
    harness.send_secret_line(&format!(
        "AUTH PLAIN {}",
        plain("alice@example.test", "correct horse")
    ));
    assert!(
        harness
            .transcript
            .contains("S: 454 4.7.0 Too many failed logins from your address, try again later")
    );
    harness.advance(Duration::from_secs(60));
    harness.send_line("EHLO client.test");
    harness.send_secret_line(&format!(
        "AUTH PLAIN {}",
        plain("alice@example.test", "correct horse")
    ));
    assert!(harness.transcript.contains("S: 235 2.7.0"));
    insta::assert_snapshot!(harness.transcript);
}

/// smtplib's order: AUTH PLAIN, and after a 535 the same password by
/// AUTH LOGIN. One typo is one failure toward the lockout, not two.
#[test]
fn the_same_password_by_plain_then_login_counts_once_toward_the_lockout() {
    let mut harness = Harness::with_config(SessionConfig {
        auth: AuthPolicy {
            max_failures: 10,
            failure_delay: Duration::ZERO,
            ..submission_config().auth
        },
        ..submission_config()
    });
    harness.guard = LoginGuard::new(LockoutPolicy {
        failures: 2,
        window: Duration::from_secs(60),
        ..LockoutPolicy::default()
    });
    harness.send_line("EHLO client.test");
    harness.send_secret_line(&format!(
        "AUTH PLAIN {}",
        plain("alice@example.test", "typo")
    ));
    harness.send_line("AUTH LOGIN");
    harness.send_secret_line(&BASE64.encode("alice@example.test"));
    harness.send_secret_line(&BASE64.encode("typo"));
    assert_eq!(harness.transcript.matches("S: 535").count(), 2);
    assert_eq!(harness.guard.hosts(), 1);
    harness.send_secret_line(&format!(
        "AUTH PLAIN {}",
        plain("alice@example.test", "correct horse")
    ));
    assert!(
        harness.transcript.contains("S: 235 2.7.0"),
        "one typo, two mechanisms: not locked out\n{}",
        harness.transcript
    );
}

/// Two different wrong passwords are two guesses, by any mechanisms.
#[test]
fn different_passwords_by_plain_then_login_count_twice() {
    let mut harness = Harness::with_config(SessionConfig {
        auth: AuthPolicy {
            max_failures: 10,
            failure_delay: Duration::ZERO,
            ..submission_config().auth
        },
        ..submission_config()
    });
    harness.guard = LoginGuard::new(LockoutPolicy {
        failures: 2,
        window: Duration::from_secs(60),
        ..LockoutPolicy::default()
    });
    harness.send_line("EHLO client.test");
    harness.send_secret_line(&format!(
        "AUTH PLAIN {}",
        plain("alice@example.test", "typo")
    ));
    harness.send_line("AUTH LOGIN");
    harness.send_secret_line(&BASE64.encode("alice@example.test"));
    harness.send_secret_line(&BASE64.encode("other typo"));
    harness.send_secret_line(&format!(
        "AUTH PLAIN {}",
        plain("alice@example.test", "correct horse")
    ));
    assert!(
        harness.transcript.contains("S: 454 4.7.0"),
        "{}",
        harness.transcript
    );
}
