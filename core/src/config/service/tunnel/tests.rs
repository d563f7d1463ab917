//! Tunnel instances in the configuration: the target, the timeouts, the
//! access default, the keys that do not apply, and the well-known-port
//! warning.

use crate::config::{ConfigError, ServiceKind, parse};
use crate::limits::{TUNNEL_CONNECT_TIMEOUT_DEFAULT, TUNNEL_IDLE_TIMEOUT_DEFAULT};
use crate::tunnel::{Target, TargetHost};
use std::time::Duration;

fn config(service: &str) -> String {
    format!(
        "domain = [{{ name = \"example.test\" }}]\n[[service]]\nname = \"news\"\nkind = \"tunnel\"\n{service}"
    )
}

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
fn a_tunnel_gets_its_target_its_defaults_and_private_access() {
    let parsed = parse(&config(
        "listen = \"192.168.1.1:5119\"\ntarget = \"News.Example.net:119\"\n",
    ))
    .unwrap();
    let news = &parsed.services[0];
    assert_eq!(news.kind, ServiceKind::Tunnel);
    let tunnel = news.tunnel.as_ref().unwrap();
    assert_eq!(
        tunnel.target,
        Target {
            host: TargetHost::Name("news.example.net".into()),
            port: 119
        }
    );
    assert_eq!(tunnel.connect_timeout, TUNNEL_CONNECT_TIMEOUT_DEFAULT);
    assert_eq!(tunnel.idle_timeout, TUNNEL_IDLE_TIMEOUT_DEFAULT);
    assert_eq!(
        news.access.summary(),
        "only 127.0.0.0/8 ::1 10.0.0.0/8 172.16.0.0/12 192.168.0.0/16 fc00::/7"
    );
    assert!(!news.access.admits("203.0.113.1".parse().unwrap()));
    assert!(news.tls.is_none());
    assert!(!news.auth.offered);
    assert!(parsed.warnings.is_empty(), "{:?}", parsed.warnings);
}

#[test]
fn an_explicit_allow_replaces_the_default_and_timeouts_are_read() {
    let parsed = parse(&config(
        "listen = \"5119\"\ntarget = \"[::1]:119\"\nallow = [\"0.0.0.0/0\"]\nconnect_timeout = \"3s\"\nidle_timeout = \"1m\"\n",
    ))
    .unwrap();
    let news = &parsed.services[0];
    assert!(news.access.admits("203.0.113.1".parse().unwrap()));
    let tunnel = news.tunnel.as_ref().unwrap();
    assert_eq!(tunnel.connect_timeout, Duration::from_secs(3));
    assert_eq!(tunnel.idle_timeout, Duration::from_secs(60));
}

#[test]
fn a_tunnel_without_a_usable_target_is_an_error() {
    insta::assert_snapshot!(errors(&config("listen = \"5119\"\n")));
    insta::assert_snapshot!(errors(&config(
        "listen = \"5119\"\ntarget = \"news.example.net\"\n"
    )));
    assert!(
        errors(&config("listen = \"5119\"\ntarget = \"0.0.0.0:119\"\n"))
            .contains("not an address a connection can be made to")
    );
}

#[test]
fn tls_and_mail_keys_on_a_tunnel_are_errors_naming_key_line_and_fix() {
    insta::assert_snapshot!(errors(&config(
        "listen = \"5119\"\ntarget = \"127.0.0.1:119\"\ntls = \"implicit\"\ntls_certificate = \"cert.pem\"\ntls_key = \"key.pem\"\nauth = true\nmax_message_size = \"1M\"\ncommand_timeout = \"1m\"\n"
    )));
}

#[test]
fn timeouts_out_of_range_and_tunnel_keys_elsewhere_are_errors() {
    let text = errors(&config(
        "listen = \"5119\"\ntarget = \"127.0.0.1:119\"\nconnect_timeout = \"10m\"\nidle_timeout = \"2days\"\n",
    ));
    assert!(text.contains("`connect_timeout`"), "{text}");
    assert!(text.contains("`idle_timeout`"), "{text}");
    let smtp = "domain = [{ name = \"example.test\" }]\n[[service]]\nname = \"mx\"\nkind = \"smtp\"\nlisten = \"2525\"\ntarget = \"127.0.0.1:25\"\n";
    assert!(errors(smtp).contains("applies only to a tunnel"));
}

#[test]
fn a_tunnel_on_a_well_known_port_is_warned_about() {
    let parsed = parse(&config("listen = \"nntp\"\ntarget = \"127.0.0.1:119\"\n"));
    let parsed = match parsed {
        Ok(parsed) => parsed,
        // Without an nntp port name, a number does it.
        Err(_) => parse(&config("listen = \"119\"\ntarget = \"127.0.0.1:119\"\n")).unwrap(),
    };
    let source = config("listen = \"119\"\ntarget = \"127.0.0.1:119\"\n");
    let parsed_number = parse(&source).unwrap();
    assert_eq!(parsed.warnings.len(), 1);
    insta::assert_snapshot!(parsed_number.warnings[0].render("postern.toml", &source));
    let above = parse(&config("listen = \"1119\"\ntarget = \"127.0.0.1:119\"\n")).unwrap();
    assert!(above.warnings.is_empty());
}
