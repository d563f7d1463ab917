//! Finger instances in the configuration: the keys that apply, their
//! defaults, and the errors for the ones that do not.

use crate::config::{ConfigError, ServiceKind, TlsMode, parse};
use crate::limits::FINGER_QUERY_TIMEOUT_DEFAULT;
use crate::policy::RelayPolicy;
use std::time::Duration;

const FINGER: &str = r#"domain = [{ name = "example.test" }]
[[service]]
name = "finger"
kind = "finger"
listen = "127.0.0.1:finger"
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

#[test]
fn a_finger_instance_gets_the_finger_defaults() {
    let config = parse(FINGER).unwrap();
    let finger = &config.services[0];
    assert_eq!(finger.kind, ServiceKind::Finger);
    assert_eq!(finger.kind.to_string(), "finger");
    assert_eq!(finger.listen.to_string(), "127.0.0.1:79");
    assert_eq!(finger.command_timeout, FINGER_QUERY_TIMEOUT_DEFAULT);
    assert!(!finger.list_users && finger.hidden.is_empty());
    assert!(!finger.auth.offered);
    assert_eq!(finger.relay, RelayPolicy::None);
    assert_eq!(finger.tls_mode(), TlsMode::None);
    let session = finger.finger_session_config();
    assert_eq!(session.query_timeout, Duration::from_secs(10));
    assert!(!session.list_users);
}

#[test]
fn list_users_hidden_and_the_timeout_are_read() {
    let config = parse(&format!(
        "{FINGER}list_users = true\nhidden = [\"Root@Example.test\"]\ncommand_timeout = \"30s\"\n"
    ))
    .unwrap();
    let finger = &config.services[0];
    assert!(finger.list_users);
    assert_eq!(finger.hidden, vec!["root@example.test".to_owned()]);
    assert_eq!(finger.command_timeout, Duration::from_secs(30));
}

#[test]
fn keys_that_do_not_apply_to_finger_are_errors_at_their_lines() {
    let text = errors(&format!(
        "{FINGER}relay = \"none\"\nmax_message_size = \"1MiB\"\nauth = true\ntls = \"starttls\"\ntls_certificate = \"c.pem\"\ntls_key = \"k.pem\"\nmax_errors = 3\n"
    ));
    for key in [
        "relay",
        "max_message_size",
        "auth",
        "tls",
        "tls_certificate",
        "tls_key",
        "max_errors",
    ] {
        assert!(
            text.contains(&format!(
                "remove `{key}` from the [[service]] \"finger\" (kind = \"finger\")"
            )),
            "{key}: {text}"
        );
    }
    assert!(text.contains("postern.toml:6"), "{text}");
}

#[test]
fn a_long_query_timeout_and_a_bad_hidden_address_are_errors() {
    let text = errors(&format!("{FINGER}command_timeout = \"5m\"\n"));
    assert!(text.contains("use 1s to 60s"), "{text}");
    let text = errors(&format!("{FINGER}hidden = [\"not an address\"]\n"));
    assert!(text.contains("hidden"), "{text}");
    assert!(text.contains("not an account name"), "{text}");
}

#[test]
fn finger_keys_on_another_kind_are_errors() {
    let text = errors(
        "domain = [{ name = \"example.test\" }]\n[[service]]\nname = \"mx\"\nkind = \"smtp\"\nlisten = \"127.0.0.1:2525\"\nlist_users = true\nhidden = []\n",
    );
    assert!(
        text.contains("applies only to a finger instance, and this one is kind = \"smtp\""),
        "{text}"
    );
    assert!(
        text.contains("remove `list_users`") && text.contains("remove `hidden`"),
        "{text}"
    );
}

#[test]
fn a_list_open_to_the_world_is_a_warning() {
    let open = parse(&FINGER.replace("127.0.0.1:finger", "finger"))
        .map(|c| c.warnings)
        .unwrap();
    assert!(open.is_empty(), "no list, no warning: {open:?}");
    let source = FINGER.replace("127.0.0.1:finger", "finger") + "list_users = true\n";
    let warnings = parse(&source).unwrap().warnings;
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    let text = warnings[0].render("postern.toml", &source);
    assert!(
        text.contains("postern.toml:5:1: `listen`: finger instance \"finger\" lists every account (list_users = true) to anyone who can reach *:79"),
        "{text}"
    );
    for quiet in [
        format!("{FINGER}list_users = true\n"),
        FINGER.replace("127.0.0.1:finger", "finger")
            + "list_users = true\nallow = [\"10.0.0.0/8\"]\n",
    ] {
        assert!(parse(&quiet).unwrap().warnings.is_empty(), "{quiet}");
    }
}
