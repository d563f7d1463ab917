//! Remote-log instances in the configuration: the keys that apply, their
//! defaults, and the errors for the ones that do not.

use crate::config::{ConfigError, ServiceKind, TlsMode, parse};
use crate::limits::{REMOTE_LOG_IDLE_TIMEOUT_DEFAULT, REMOTE_LOG_SEND_TIMEOUT};
use crate::policy::RelayPolicy;

const REMOTE_LOG: &str = r#"domain = [{ name = "example.test" }]
[[service]]
name = "log"
kind = "remote-log"
listen = "127.0.0.1:remote-logging"
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
fn a_remote_log_instance_gets_its_defaults() {
    let config = parse(&format!("{REMOTE_LOG}auth_without_tls = true\n")).unwrap();
    let log = &config.services[0];
    assert_eq!(log.kind, ServiceKind::RemoteLog);
    assert_eq!(log.kind.to_string(), "remote-log");
    assert_eq!(log.listen.to_string(), "127.0.0.1:5001");
    assert_eq!(log.command_timeout, REMOTE_LOG_IDLE_TIMEOUT_DEFAULT);
    assert_eq!((log.tail_lines, log.buffer_lines), (700, 1000));
    assert_eq!(log.relay, RelayPolicy::None);
    assert_eq!(log.tls_mode(), TlsMode::None);
    let session = log.remote_log_session_config("mx.example.test");
    assert!(session.auth.offered && session.auth.without_tls && !session.starttls);
    assert_eq!(session.tail_lines, 700);
    assert_eq!(session.send_timeout, REMOTE_LOG_SEND_TIMEOUT);
}

#[test]
fn its_keys_are_read_and_bounded() {
    let config = parse(&format!(
        "{REMOTE_LOG}auth_without_tls = true\ntail_lines = 0\nbuffer_lines = 50\ncommand_timeout = \"1m\"\n"
    ))
    .unwrap();
    let log = &config.services[0];
    assert_eq!((log.tail_lines, log.buffer_lines), (0, 50));
    let text = errors(&format!(
        "{REMOTE_LOG}auth_without_tls = true\ntail_lines = 10001\nbuffer_lines = 9\n"
    ));
    assert!(
        text.contains("`tail_lines`") && text.contains("use a value from 0 to 10000"),
        "{text}"
    );
    assert!(
        text.contains("`buffer_lines`") && text.contains("use a value from 10 to 100000"),
        "{text}"
    );
}

#[test]
fn a_remote_log_instance_nobody_could_log_in_to_is_an_error() {
    let text = errors(REMOTE_LOG);
    assert!(
        text.contains("takes logins only over TLS, and this instance has none"),
        "{text}"
    );
    assert!(text.contains("auth_without_tls = true"), "{text}");
}

#[test]
fn keys_that_do_not_apply_are_errors_naming_key_line_and_fix() {
    let text = errors(&format!(
        "{REMOTE_LOG}auth_without_tls = true\nrelay = \"none\"\nmax_message_size = \"1M\"\nauth = true\ntarget = \"127.0.0.1:1\"\nlist_users = true\nmax_session_time = \"1h\"\n"
    ));
    for key in [
        "relay",
        "max_message_size",
        "auth",
        "target",
        "list_users",
        "max_session_time",
    ] {
        assert!(text.contains(&format!("`{key}`")), "{key}: {text}");
    }
    assert!(
        text.contains("does not apply to a remote-log instance"),
        "{text}"
    );
    let other = errors(
        "domain = [{ name = \"example.test\" }]\n[[service]]\nname = \"mx\"\nkind = \"smtp\"\nlisten = \"127.0.0.1:2525\"\ntail_lines = 5\n",
    );
    assert!(
        other.contains("applies only to a remote-log instance, and this one is kind = \"smtp\""),
        "{other}"
    );
}

#[test]
fn clear_logins_open_to_the_world_are_warned_about() {
    let open = "domain = [{ name = \"example.test\" }]\n[[service]]\nname = \"log\"\nkind = \"remote-log\"\nlisten = \"remote-logging\"\nauth_without_tls = true\n";
    let warnings = parse(open).unwrap().warnings;
    let text: Vec<String> = warnings
        .iter()
        .map(|w| w.render("postern.toml", open))
        .collect();
    assert_eq!(text.len(), 1, "{text:?}");
    assert!(
        text[0].contains("takes admin passwords in clear"),
        "{}",
        text[0]
    );
    for quiet in [
        open.replace(
            "listen = \"remote-logging\"",
            "listen = \"127.0.0.1:remote-logging\"",
        ),
        format!("{open}allow = [\"192.168.1.0/24\"]\n"),
    ] {
        assert!(parse(&quiet).unwrap().warnings.is_empty(), "{quiet}");
    }
}
