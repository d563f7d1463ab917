//! FTP instances in the configuration: the keys that apply, their
//! defaults, and the errors for the ones that do not.

use crate::config::{ConfigError, ServiceKind, TlsMode, parse};
use crate::ftp::data::PortRange;
use crate::limits::{FTP_DATA_TIMEOUT_DEFAULT, FTP_IDLE_TIMEOUT_DEFAULT, FTP_QUOTA_BYTES_DEFAULT};
use crate::policy::RelayPolicy;
use std::time::Duration;

const LOOPBACK: &str = r#"domain = [{ name = "example.test" }]
[[service]]
name = "files"
kind = "ftp"
listen = "127.0.0.1:2121"
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
fn an_ftp_instance_gets_the_ftp_defaults() {
    let config = parse(LOOPBACK).unwrap();
    let ftp = &config.services[0];
    assert_eq!(ftp.kind, ServiceKind::Ftp);
    assert_eq!(ftp.kind.to_string(), "ftp");
    assert_eq!(ftp.command_timeout, FTP_IDLE_TIMEOUT_DEFAULT);
    assert!(ftp.auth.offered && ftp.auth.without_tls);
    assert_eq!(ftp.relay, RelayPolicy::None);
    let settings = ftp.ftp.as_ref().unwrap();
    assert_eq!(settings.quota, FTP_QUOTA_BYTES_DEFAULT);
    assert_eq!(settings.data_timeout, FTP_DATA_TIMEOUT_DEFAULT);
    assert_eq!(settings.passive_ports, None);
    let session = ftp.ftp_session_config("mail.example.test");
    assert!(!session.auth_tls);
    assert!(!session.requires_protected_data());
    assert_eq!(session.quota, FTP_QUOTA_BYTES_DEFAULT);
}

#[test]
fn ftp_and_ftps_take_their_port_names_and_keys() {
    let config = parse(&format!(
        r#"domain = [{{ name = "example.test" }}]
[[service]]
name = "ftp"
kind = "ftp"
listen = "ftp"
tls = "starttls"
{TLS_FILES}passive_ports = "50000-50100"
ftp_quota = "5 MiB"
data_timeout = "30s"
command_timeout = "2m"
[[service]]
name = "ftps"
kind = "ftp"
listen = "127.0.0.1:ftps"
tls = "implicit"
{TLS_FILES}"#
    ))
    .unwrap();
    let (ftp, ftps) = (&config.services[0], &config.services[1]);
    assert_eq!(ftp.listen.to_string(), "*:21");
    assert_eq!(ftps.listen.to_string(), "127.0.0.1:990");
    assert_eq!(ftps.tls_mode(), TlsMode::Implicit);
    let settings = ftp.ftp.as_ref().unwrap();
    assert_eq!(
        settings.passive_ports,
        Some(PortRange {
            first: 50000,
            last: 50100
        })
    );
    assert_eq!(settings.quota, 5 * 1024 * 1024);
    assert_eq!(settings.data_timeout, Duration::from_secs(30));
    assert_eq!(ftp.command_timeout, Duration::from_secs(120));
    let session = ftp.ftp_session_config("mail.example.test");
    assert!(session.auth_tls && session.requires_protected_data());
    assert!(!ftps.ftp_session_config("x").auth_tls);
}

#[test]
fn bad_ftp_keys_are_reported_at_their_lines() {
    let text = errors(
        r#"domain = [{ name = "example.test" }]
[[service]]
name = "files"
kind = "ftp"
listen = "127.0.0.1:2121"
auth_without_tls = true
passive_ports = "50100-50000"
ftp_quota = 0
data_timeout = "2h"
relay = "none"
auth = true
max_message_size = "1 MiB"
[[service]]
name = "mx"
kind = "smtp"
listen = "127.0.0.1:2525"
passive_ports = "50000-50001"
ftp_quota = "1 MiB"
"#,
    );
    insta::assert_snapshot!(text);
}

#[test]
fn an_ftp_instance_nobody_could_log_in_to_is_an_error() {
    let text = errors(
        r#"domain = [{ name = "example.test" }]
[[service]]
name = "files"
kind = "ftp"
listen = "127.0.0.1:2121"
"#,
    );
    assert!(
        text.contains("an FTP instance takes logins only over TLS"),
        "{text}"
    );
    assert!(text.contains("AUTH TLS"), "{text}");
}
