//! POP3 instances in the configuration: the keys that apply, their
//! defaults, and the errors for the ones that do not.

use crate::config::{ConfigError, ServiceKind, TlsMode, parse};
use crate::limits::{COMMAND_TIMEOUT_DEFAULT, POP3_AUTOLOGOUT_MIN};
use crate::policy::RelayPolicy;
use std::time::Duration;

/// A POP3 instance on loopback that takes logins in clear, as the
/// embedded default has.
const LOOPBACK: &str = r#"domain = [{ name = "example.test" }]
[[service]]
name = "pop"
kind = "pop3"
listen = "127.0.0.1:1110"
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

/// A certificate and key named in a `[[service]]`; parsing does not
/// read the files.
const TLS_FILES: &str = "tls_certificate = \"cert.pem\"\ntls_key = \"key.pem\"\n";

#[test]
fn a_pop3_instance_gets_the_pop3_defaults() {
    let config = parse(LOOPBACK).unwrap();
    let pop = &config.services[0];
    assert_eq!(pop.kind, ServiceKind::Pop3);
    assert_eq!(pop.kind.to_string(), "pop3");
    assert_eq!(pop.listen.to_string(), "127.0.0.1:1110");
    assert_eq!(
        pop.command_timeout,
        Duration::from_secs(600),
        "the autologout timer defaults to RFC 1939's ten minutes"
    );
    assert_ne!(COMMAND_TIMEOUT_DEFAULT, pop.command_timeout);
    assert!(pop.auth.offered && pop.auth.required && pop.auth.without_tls);
    assert_eq!(pop.relay, RelayPolicy::None);
    assert_eq!(pop.tls_mode(), TlsMode::None);
    assert_eq!((pop.max_connections, pop.max_connections_per_host), (20, 5));
}

#[test]
fn pop3_and_pop3s_take_their_port_names_and_tls_settings() {
    let config = parse(&format!(
        r#"
[[domain]]
name = "example.test"
[[service]]
name = "pop"
kind = "pop3"
listen = "127.0.0.2:pop3"
secondary_listen = "127.0.0.3:pop3"
tls = "starttls"
{TLS_FILES}
allow = ["127.0.0.0/8"]
deny = ["127.0.0.66"]
max_connections = 40
max_connections_per_host = 4
ipv6_prefix = 56
max_errors = 5
command_timeout = "15m"
max_session_time = "1h"

[[service]]
name = "pops"
kind = "pop3"
listen = "127.0.0.2:pop3s"
tls = "implicit"
{TLS_FILES}
"#
    ))
    .unwrap();
    let (pop, pops) = (&config.services[0], &config.services[1]);
    assert_eq!(pop.listen.to_string(), "127.0.0.2:110");
    assert_eq!(
        pop.secondary_listen.map(|s| s.to_string()).as_deref(),
        Some("127.0.0.3:110")
    );
    assert_eq!(pop.tls_mode(), TlsMode::StartTls);
    assert_eq!(pop.access.summary(), "only 127.0.0.0/8, not 127.0.0.66");
    assert_eq!((pop.max_connections, pop.max_connections_per_host), (40, 4));
    assert_eq!((pop.ipv6_prefix, pop.max_errors), (56, 5));
    assert_eq!(pop.command_timeout, Duration::from_secs(15 * 60));
    assert_eq!(pop.max_session_time, Duration::from_secs(60 * 60));
    assert!(pop.auth.offered && pop.auth.required && !pop.auth.without_tls);
    assert_eq!(pops.listen.to_string(), "127.0.0.2:995");
    assert_eq!(pops.tls_mode(), TlsMode::Implicit);
    assert_eq!(pops.command_timeout, POP3_AUTOLOGOUT_MIN);
}

#[test]
fn smtp_only_keys_on_a_pop3_instance_are_errors_naming_key_line_and_fix() {
    insta::assert_snapshot!(errors(&format!(
        r#"{LOOPBACK}relay = "any"
max_message_size = "10 MiB"
max_recipients = 5
data_timeout = "5m"
min_data_rate = 100
auth = true
"#
    )));
}

#[test]
fn the_same_keys_on_an_smtp_instance_are_still_read() {
    let smtp = LOOPBACK
        .replace("\"pop3\"", "\"smtp\"")
        .replace("auth_without_tls = true\n", "");
    let config = parse(&format!(
        "{smtp}relay = \"any\"\nmax_recipients = 5\ndata_timeout = \"5m\"\ncommand_timeout = \"1m\"\n"
    ))
    .unwrap();
    let mx = &config.services[0];
    assert_eq!(mx.relay, RelayPolicy::Any);
    assert_eq!(mx.max_recipients, 5);
    assert_eq!(mx.command_timeout, Duration::from_secs(60));
}

#[test]
fn an_autologout_under_ten_minutes_cites_rfc_1939() {
    insta::assert_snapshot!(errors(&format!("{LOOPBACK}command_timeout = \"9m 59s\"\n")));
    for fine in ["10m", "600s", "1h"] {
        let config = parse(&format!("{LOOPBACK}command_timeout = \"{fine}\"\n")).unwrap();
        assert!(
            config.services[0].command_timeout >= POP3_AUTOLOGOUT_MIN,
            "{fine}"
        );
    }
}

#[test]
fn a_pop3_instance_nobody_could_log_in_to_is_an_error() {
    let clear = LOOPBACK.replace("auth_without_tls = true\n", "");
    insta::assert_snapshot!("pop3_without_tls", errors(&clear));
    insta::assert_snapshot!(
        "pop3_with_tls_none",
        errors(&format!("{clear}tls = \"none\"\n"))
    );
    // A TLS mode without its files is reported once, by the TLS checks.
    let no_files = errors(&format!("{clear}tls = \"starttls\"\n"));
    assert_eq!(no_files.matches("help:").count(), 1, "{no_files}");
    assert!(
        no_files.contains("tls = \"starttls\" needs both tls_certificate and tls_key"),
        "{no_files}"
    );
    // auth_without_tls = false is the same as leaving it out.
    let off = errors(&LOOPBACK.replace("= true", "= false"));
    assert!(off.contains("nobody could log in"), "{off}");
}

#[test]
fn pop3_instances_and_smtp_instances_may_not_share_a_port() {
    use crate::bind::{HostAddresses, listeners, plan};
    let host = HostAddresses {
        networks: vec!["127.0.0.0/8".parse().unwrap()],
    };
    let config = parse(&format!(
        "{LOOPBACK}\n[[service]]\nname = \"mx\"\nkind = \"smtp\"\nlisten = \"1110\"\n"
    ))
    .unwrap();
    let conflicts = plan(listeners(&config.services), &host).unwrap_err();
    let text: Vec<String> = conflicts.iter().map(ToString::to_string).collect();
    assert_eq!(
        text,
        [
            "instance \"pop\" listens on 127.0.0.1:1110 but instance \"mx\" holds port 1110 on every interface: multi-homing cannot share a port with an instance on all interfaces; give \"mx\" an address too, or move one of them to another port"
        ]
    );
    let same_address = parse(&format!(
        "{LOOPBACK}\n[[service]]\nname = \"mx\"\nkind = \"smtp\"\nlisten = \"127.0.0.1:1110\"\n"
    ))
    .unwrap();
    let conflicts = plan(listeners(&same_address.services), &host).unwrap_err();
    assert!(
        conflicts[0]
            .to_string()
            .starts_with("instances \"pop\" and \"mx\" both listen on 127.0.0.1:1110"),
        "{conflicts:?}"
    );
}

#[test]
fn multi_homed_pop3_and_smtp_instances_make_one_plan() {
    use crate::bind::{HostAddresses, listeners, plan};
    let host = HostAddresses {
        networks: vec!["127.0.0.0/8".parse().unwrap()],
    };
    // Port 110 on two addresses for two POP3 instances with their own
    // policy, 995 for POP3S, and SMTP beside them on 25.
    let config = parse(&format!(
        r#"
[[domain]]
name = "example.test"
[[service]]
name = "pop-lan"
kind = "pop3"
listen = "127.0.0.2:pop3"
auth_without_tls = true

[[service]]
name = "pop-internet"
kind = "pop3"
listen = "127.0.0.3:pop3"
tls = "starttls"
{TLS_FILES}
[[service]]
name = "pops"
kind = "pop3"
listen = "127.0.0.3:pop3s"
tls = "implicit"
{TLS_FILES}
[[service]]
name = "mx"
kind = "smtp"
listen = "smtp"
"#
    ))
    .unwrap();
    let plan = plan(listeners(&config.services), &host).unwrap();
    let taker = |address: &str, port| {
        plan.listener_for(address.parse().unwrap(), port)
            .map(|l| (l.instance.clone(), l.kind))
    };
    assert_eq!(
        taker("127.0.0.2", 110),
        Some(("pop-lan".to_owned(), ServiceKind::Pop3))
    );
    assert_eq!(
        taker("127.0.0.3", 110),
        Some(("pop-internet".to_owned(), ServiceKind::Pop3))
    );
    assert_eq!(
        taker("127.0.0.3", 995),
        Some(("pops".to_owned(), ServiceKind::Pop3))
    );
    assert_eq!(taker("127.0.0.4", 110), None);
    assert_eq!(
        taker("127.0.0.4", 25),
        Some(("mx".to_owned(), ServiceKind::Smtp))
    );
}
