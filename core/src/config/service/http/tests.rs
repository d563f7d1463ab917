//! HTTP instances in the configuration: what they serve, their logins,
//! and the errors for keys that do not apply.

use crate::config::{ConfigError, ServiceKind, parse};
use crate::http::Area;
use crate::limits::HTTP_IDLE_TIMEOUT_DEFAULT;

fn config(service: &str) -> String {
    format!(
        "domain = [{{ name = \"example.test\" }}]\n[[service]]\nname = \"web\"\nkind = \"http\"\nlisten = \"127.0.0.1:8080\"\n{service}"
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
fn an_http_instance_serves_webmail_unless_told_otherwise() {
    let parsed = parse(&config("auth_without_tls = true\n")).unwrap();
    let web = &parsed.services[0];
    assert_eq!(web.kind, ServiceKind::Http);
    assert_eq!(web.kind.to_string(), "http");
    let serve = web.http.as_ref().unwrap().serve;
    // The lists' one-click unsubscribe goes with webmail.
    assert_eq!(
        serve.iter().collect::<Vec<_>>(),
        vec![Area::Webmail, Area::Lists]
    );
    assert!(web.auth.offered && web.auth.without_tls);
    assert_eq!(web.command_timeout, HTTP_IDLE_TIMEOUT_DEFAULT);
}

#[test]
fn a_status_and_metrics_instance_takes_no_logins_and_needs_no_tls() {
    let parsed = parse(&config("serve = [\"status\", \"metrics\"]\n")).unwrap();
    let web = &parsed.services[0];
    let serve = web.http.as_ref().unwrap().serve;
    assert_eq!(serve.to_string(), "status, metrics");
    assert!(!web.auth.offered);
}

#[test]
fn webmail_in_clear_without_auth_without_tls_is_refused() {
    let text = errors(&config("serve = [\"webmail\", \"status\"]\n"));
    assert!(
        text.contains("webmail and admin take passwords only over HTTPS"),
        "{text}"
    );
    assert!(text.contains("auth_without_tls = true"), "{text}");
}

#[test]
fn an_unknown_area_names_the_ones_there_are() {
    let text = errors(&config(
        "serve = [\"webmail\", \"stats\"]\nauth_without_tls = true\n",
    ));
    assert!(
        text.contains("\"stats\" is not something an HTTP instance serves"),
        "{text}"
    );
    assert!(text.contains("\"status\""), "{text}");
    assert!(text.contains(":6:"), "the line of serve: {text}");
}

#[test]
fn http_has_no_starttls_and_smtp_keys_do_not_apply() {
    let text = errors(&config(
        "tls = \"starttls\"\ntls_certificate = \"c.pem\"\ntls_key = \"k.pem\"\nrelay = \"none\"\nauth = true\n",
    ));
    assert!(text.contains("HTTP has no STARTTLS"), "{text}");
    assert!(text.contains("`relay`") || text.contains("relay"), "{text}");
    assert!(
        text.contains("does not apply to an HTTP instance"),
        "{text}"
    );
}

#[test]
fn serve_on_another_kind_is_an_error() {
    let source = "domain = [{ name = \"example.test\" }]\n[[service]]\nname = \"mx\"\nkind = \"smtp\"\nlisten = \"127.0.0.1:2525\"\nserve = [\"status\"]\n";
    let text = errors(source);
    assert!(text.contains("applies only to an HTTP instance"), "{text}");
}

#[test]
fn the_https_port_name_is_443() {
    let parsed = parse(
        "domain = [{ name = \"example.test\" }]\n[[service]]\nname = \"web\"\nkind = \"http\"\nlisten = \"https\"\nserve = [\"status\"]\n",
    )
    .unwrap();
    assert_eq!(parsed.services[0].listen.port, 443);
}
