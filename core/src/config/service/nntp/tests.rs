//! NNTP instances, `[[newsgroup]]` and `[[news_access]]` in the
//! configuration: defaults, the keys that apply, and the errors.

use crate::config::{ConfigError, ServiceKind, TlsMode, parse};
use crate::nntp::PostingStatus;
use std::time::Duration;

const DOMAIN: &str = "[[domain]]\nname = \"example.test\"\n";

/// An instance, for tests of the other tables.
const SERVICE: &str = "[[service]]\nname = \"mx\"\nkind = \"smtp\"\nlisten = \"127.0.0.1:2525\"\n";
const TLS_FILES: &str = "tls_certificate = \"cert.pem\"\ntls_key = \"key.pem\"\n";

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
fn an_nntp_instance_gets_its_defaults_and_port_names() {
    let config = parse(&format!(
        "{DOMAIN}[[service]]\nname = \"news\"\nkind = \"nntp\"\nlisten = \"127.0.0.1:nntp\"\ntls = \"starttls\"\n{TLS_FILES}\n[[service]]\nname = \"newss\"\nkind = \"nntp\"\nlisten = \"127.0.0.1:nntps\"\ntls = \"implicit\"\n{TLS_FILES}"
    ))
    .unwrap();
    let news = &config.services[0];
    assert_eq!(news.kind, ServiceKind::Nntp);
    assert_eq!(news.kind.to_string(), "nntp");
    assert_eq!(news.listen.to_string(), "127.0.0.1:119");
    assert_eq!(config.services[1].listen.to_string(), "127.0.0.1:563");
    assert_eq!(config.services[1].tls_mode(), TlsMode::Implicit);
    assert_eq!(news.command_timeout, Duration::from_secs(600));
    let nntp = news.nntp.as_ref().unwrap();
    assert_eq!(
        (
            nntp.anonymous_read.as_str(),
            nntp.anonymous_post.as_str(),
            nntp.read.as_str(),
            nntp.post.as_str()
        ),
        ("", "", "*", "*"),
        "nothing before a login, everything after"
    );
    assert!(nntp.login_required());
    assert!(news.auth.offered && news.auth.required && !news.auth.without_tls);
    assert!(config.services.iter().all(|s| s.http.is_none()));
}

#[test]
fn anonymous_access_makes_the_login_optional() {
    let config = parse(&format!(
        "{DOMAIN}[[service]]\nname = \"news\"\nkind = \"nntp\"\nlisten = \"127.0.0.1:1119\"\nanonymous_read = \"local.*,!local.private\"\n"
    ))
    .unwrap();
    let news = &config.services[0];
    assert!(
        !news.auth.required && !news.auth.offered,
        "no TLS, no logins"
    );
    assert_eq!(
        news.nntp.as_ref().unwrap().anonymous_read,
        "local.*,!local.private"
    );
}

#[test]
fn an_instance_nobody_could_use_is_an_error() {
    let text = errors(&format!(
        "{DOMAIN}[[service]]\nname = \"news\"\nkind = \"nntp\"\nlisten = \"127.0.0.1:1119\"\n"
    ));
    assert!(text.contains("postern.toml:5:8"), "{text}");
    assert!(text.contains("nobody could use it"), "{text}");
    assert!(text.contains("anonymous_read = \"local.*\""), "{text}");
}

#[test]
fn smtp_keys_bad_patterns_and_short_timers_are_errors_with_their_lines() {
    let text = errors(&format!(
        "{DOMAIN}[[service]]\nname = \"news\"\nkind = \"nntp\"\nlisten = \"127.0.0.1:1119\"\nauth_without_tls = true\nrelay = \"authenticated\"\nread = \"local.[ab\"\ncommand_timeout = \"1m\"\nauth = true\n"
    ));
    assert!(text.contains("postern.toml:8:9"), "relay: {text}");
    assert!(
        text.contains("postern.toml:9:8: ") && text.contains("a `[` in a wildmat has no `]`"),
        "{text}"
    );
    assert!(
        text.contains("postern.toml:10:19") && text.contains("RFC 3977"),
        "{text}"
    );
    assert!(text.contains("postern.toml:11:8"), "auth: {text}");
}

#[test]
fn news_keys_on_another_kind_are_errors() {
    let text = errors(&format!(
        "{DOMAIN}[[service]]\nname = \"mx\"\nkind = \"smtp\"\nlisten = \"127.0.0.1:2525\"\nanonymous_read = \"*\"\n"
    ));
    assert!(
        text.contains("postern.toml:7:18") && text.contains("applies only to an NNTP instance"),
        "{text}"
    );
}

#[test]
fn newsgroups_and_access_rules_are_read_and_checked() {
    let config = parse(&format!(
        r#"{DOMAIN}{SERVICE}
[[newsgroup]]
name = "local.general"
description = "Anything"
expire = "90 days"
address = "General-News@example.test"
send_to = ["team@example.test"]

[[newsgroup]]
name = "local.announce"
posting = "read-only"

[[news_access]]
users = ["*@partner.test", "bob@example.test"]
read = "local.*"

[[news_access]]
users = ["*"]
read = "*"
post = "local.*"
"#
    ))
    .unwrap();
    let news = &config.news;
    assert_eq!(news.groups.len(), 2);
    let general = &news.groups[0];
    assert_eq!(general.name.as_str(), "local.general");
    assert_eq!(general.status, PostingStatus::Allowed);
    assert_eq!(general.expire, Some(Duration::from_secs(90 * 86_400)));
    assert_eq!(
        general.address.as_deref(),
        Some("general-news@example.test")
    );
    assert_eq!(general.send_to, ["team@example.test"]);
    assert_eq!(news.groups[1].status, PostingStatus::Refused);
    let partner = news.access_for("Carol@Partner.test").unwrap();
    assert_eq!(
        (partner.read.as_str(), partner.post.as_str()),
        ("local.*", "")
    );
    assert_eq!(news.access_for("bob@example.test").unwrap().read, "local.*");
    assert_eq!(
        news.access_for("alice@example.test").unwrap().post,
        "local.*"
    );
}

#[test]
fn bad_newsgroups_name_their_line() {
    let text = errors(&format!(
        r#"{DOMAIN}{SERVICE}
[[newsgroup]]
name = "Local.General"

[[newsgroup]]
name = "local.a"
posting = "sometimes"
address = "not an address"

[[newsgroup]]
name = "local.a"

[[news_access]]
users = ["bob"]

[[newsgroup]]
name = "local.b"
posting = "moderated"
"#
    ));
    assert!(
        text.contains("postern.toml:9:8") && text.contains("'L' is not allowed"),
        "{text}"
    );
    assert!(
        text.contains("postern.toml:13:11") && text.contains("not a posting rule"),
        "{text}"
    );
    assert!(
        text.contains("postern.toml:14:11") && text.contains("not a mail address"),
        "{text}"
    );
    assert!(
        text.contains("postern.toml:17:8") && text.contains("declared twice"),
        "{text}"
    );
    assert!(
        text.contains("postern.toml:20:10") && text.contains("\"bob\" is not an address"),
        "{text}"
    );
    assert!(
        text.contains("postern.toml:24:11") && text.contains("no moderator"),
        "{text}"
    );
}
