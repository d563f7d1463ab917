//! IMAP instances in the configuration: the keys that apply, their
//! defaults, and the errors for the ones that do not.

use crate::config::{ConfigError, ServiceKind, TlsMode, parse};
use crate::limits::{
    ERRORS_PER_SESSION_DEFAULT, IMAP_AUTOLOGOUT_MIN, IMAP_BAD_COMMANDS_MAX, SESSION_TIME_DEFAULT,
    SESSION_TIME_MAX,
};
use crate::policy::RelayPolicy;

/// An IMAP instance on loopback that takes logins in clear, as the
/// embedded default has.
const LOOPBACK: &str = r#"domain = [{ name = "example.test" }]
[[service]]
name = "imap"
kind = "imap"
listen = "127.0.0.1:1143"
auth_without_tls = true
"#;

fn errors(source: &str) -> String {
    match parse(source) {
        Ok(config) => panic!("expected errors, got {config:?}"),
        Err(errors) => errors
            .iter()
            .map(|e: &ConfigError| e.render("postern.toml", source))
            .collect::<Vec<_>>()
            .join("\n"),
    }
}

const TLS_FILES: &str = "tls_certificate = \"cert.pem\"\ntls_key = \"key.pem\"\n";

#[test]
fn an_imap_instance_gets_the_imap_defaults() {
    let config = parse(LOOPBACK).unwrap();
    let imap = &config.services[0];
    assert_eq!(imap.kind, ServiceKind::Imap);
    assert_eq!(imap.kind.to_string(), "imap");
    assert_eq!(
        imap.command_timeout, IMAP_AUTOLOGOUT_MIN,
        "RFC 9051 5.4's 30 minutes"
    );
    assert_eq!(
        imap.max_session_time, SESSION_TIME_MAX,
        "a day, not the others' 30 minutes"
    );
    assert_ne!(imap.max_session_time, SESSION_TIME_DEFAULT);
    assert_eq!(imap.max_errors, IMAP_BAD_COMMANDS_MAX);
    assert_ne!(imap.max_errors, ERRORS_PER_SESSION_DEFAULT);
    assert!(imap.auth.offered && imap.auth.required && imap.auth.without_tls);
    assert_eq!(imap.relay, RelayPolicy::None);
    assert_eq!(
        (imap.max_connections, imap.max_connections_per_host),
        (20, 10)
    );
    assert_eq!(imap.tls_mode(), TlsMode::None);
    let session = imap.imap_session_config("mail.example.test");
    assert_eq!(session.append_limit, imap.max_message_size);
    assert_eq!(session.autologout, IMAP_AUTOLOGOUT_MIN);
    assert_eq!(session.quota.storage_bytes, None);
    assert!(!session.starttls);
}

#[test]
fn imap_and_imaps_take_their_port_names_and_quota() {
    let config = parse(&format!(
        r#"
[[domain]]
name = "example.test"
[[service]]
name = "imap"
kind = "imap"
listen = "127.0.0.3:imap"
tls = "starttls"
{TLS_FILES}
mailbox_quota = "2 GiB"
mailbox_quota_messages = 50000
[[service]]
name = "imaps"
kind = "imap"
listen = "127.0.0.3:imaps"
tls = "implicit"
{TLS_FILES}
"#
    ))
    .unwrap();
    let (imap, imaps) = (&config.services[0], &config.services[1]);
    assert_eq!(imap.listen.to_string(), "127.0.0.3:143");
    assert_eq!(imaps.listen.to_string(), "127.0.0.3:993");
    let session = imap.imap_session_config("mx");
    assert!(session.starttls);
    assert_eq!(session.quota.storage_bytes, Some(2 * 1024 * 1024 * 1024));
    assert_eq!(session.quota.messages, Some(50_000));
    assert!(!imaps.imap_session_config("mx").starttls);
    assert_eq!(imaps.imap_session_config("mx").quota.storage_bytes, None);
}

#[test]
fn keys_that_do_not_apply_are_errors_with_the_fix() {
    let source = r#"domain = [{ name = "example.test" }]
[[service]]
name = "imap"
kind = "imap"
listen = "127.0.0.1:1143"
auth_without_tls = true
relay = "authenticated"
max_recipients = 10
auth = true
command_timeout = "5m"
"#;
    insta::assert_snapshot!("imap_inapplicable_keys", errors(source));
}

#[test]
fn an_imap_instance_nobody_could_log_in_to_is_refused() {
    let text = errors(
        r#"domain = [{ name = "example.test" }]
[[service]]
name = "imap"
kind = "imap"
listen = "127.0.0.1:1143"
"#,
    );
    assert!(
        text.contains("an IMAP instance takes logins only over TLS, and this instance has none"),
        "{text}"
    );
    assert!(text.contains("STARTTLS on port 143"), "{text}");
}

#[test]
fn quota_keys_belong_to_imap_instances_and_must_be_sane() {
    let text = errors(
        r#"domain = [{ name = "example.test" }]
[[service]]
name = "pop"
kind = "pop3"
listen = "127.0.0.1:1110"
auth_without_tls = true
mailbox_quota = "1 GiB"
[[service]]
name = "imap"
kind = "imap"
listen = "127.0.0.1:1143"
auth_without_tls = true
mailbox_quota = "0 B"
mailbox_quota_messages = 0
"#,
    );
    insta::assert_snapshot!("imap_quota_keys", text);
}
