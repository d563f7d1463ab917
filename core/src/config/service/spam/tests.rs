use crate::config::parse;
use crate::spam::{GreylistPolicy, ZoneKind};
use std::time::Duration;

const MX: &str = r#"domain = [{ name = "example.test" }]
[[service]]
name = "mx"
kind = "smtp"
listen = "127.0.0.1:2525"
"#;

fn errors(source: &str) -> String {
    match parse(source) {
        Ok(config) => panic!("expected errors, got {:?}", config.services[0].spam),
        Err(errors) => errors
            .iter()
            .map(|e| e.render("postern.toml", source))
            .collect::<Vec<_>>()
            .join("\n"),
    }
}

#[test]
fn spam_control_is_off_by_default() {
    let config = parse(MX).unwrap();
    assert!(config.services[0].spam.is_off());
}

#[test]
fn blocklists_and_greylisting_are_read() {
    let source = format!(
        "{MX}dnsbl_threshold = 2\ngreylist = true\ngreylist_delay = \"1s\"\n\
         [[service.dnsbl]]\nzone = \"Zen.Example.Test.\"\nweight = 2\n\
         [[service.dnsbl]]\nzone = \"bl.example.test\"\ncodes = [\"127.0.0.2\", \"127.0.0.4\"]\n\
         [[service.dnsbl]]\nzone = \"dbl.example.test\"\nkind = \"domain\"\nweight = 2\n"
    );
    let config = parse(&source).unwrap();
    let spam = &config.services[0].spam;
    assert_eq!(spam.blocklists.threshold, 2);
    let zones: Vec<(&str, ZoneKind, u32, usize)> = spam
        .blocklists
        .zones
        .iter()
        .map(|z| (z.zone.as_str(), z.kind, z.weight, z.codes.len()))
        .collect();
    assert_eq!(
        zones,
        [
            ("zen.example.test", ZoneKind::Ip, 2, 0),
            ("bl.example.test", ZoneKind::Ip, 1, 2),
            ("dbl.example.test", ZoneKind::Domain, 2, 0),
        ]
    );
    assert_eq!(
        spam.greylist,
        Some(GreylistPolicy {
            delay: Duration::from_secs(1),
            ..GreylistPolicy::default()
        })
    );
    assert_eq!(config.services[0].session_config("mx").spam, *spam);
}

/// (keys appended to the instance, what the error says), each error at
/// its line with its fix.
#[test]
fn bad_values_are_explained() {
    let rows = [
        (
            "[[service.dnsbl]]\nzone = \"not a zone\"\n",
            "postern.toml:7:8: `zone`: \"not a zone\" is not a DNS zone",
        ),
        (
            "[[service.dnsbl]]\nzone = \"z.test\"\nkind = \"asn\"\n",
            "postern.toml:8:8: `kind`: \"asn\" is not a kind of blocklist",
        ),
        (
            "[[service.dnsbl]]\nzone = \"z.test\"\nweight = 0\n",
            "postern.toml:8:10: `weight`: 0 is out of range",
        ),
        (
            "[[service.dnsbl]]\nzone = \"z.test\"\ncodes = [\"192.0.2.1\"]\n",
            "postern.toml:8:10: `codes`: \"192.0.2.1\" is not a blocklist answer",
        ),
        (
            "[[service.dnsbl]]\nzone = \"z.test\"\n[[service.dnsbl]]\nzone = \"Z.test\"\n",
            "postern.toml:9:8: `zone`: the zone \"z.test\" is listed twice",
        ),
        (
            "dnsbl_threshold = 3\n[[service.dnsbl]]\nzone = \"z.test\"\nweight = 2\n",
            "postern.toml:6:19: `dnsbl_threshold`: 3 can never be reached",
        ),
        (
            "greylist_delay = \"1m\"\n",
            "postern.toml:6:18: `greylist_delay`: is written but greylisting is off",
        ),
        (
            "greylist = true\ngreylist_delay = \"1h\"\ngreylist_retry_window = \"30m\"\n",
            "postern.toml:8:25: `greylist_retry_window`: the retry window (1800s) must be longer than the delay (3600s)",
        ),
        (
            "greylist = true\ngreylist_expiry = \"400d\"\n",
            "postern.toml:7:19: `greylist_expiry`: 34560000s is too long",
        ),
        (
            "[[service.dnsbl]]\nzone = \"z.test\"\nzones = 1\n",
            "unknown field `zones`",
        ),
    ];
    for (keys, expected) in rows {
        let text = errors(&format!("{MX}{keys}"));
        assert!(text.contains(expected), "{keys}\n{text}");
        assert!(text.contains("help:"), "{keys}\n{text}");
    }
}

#[test]
fn other_kinds_refuse_spam_control() {
    let source = r#"domain = [{ name = "example.test" }]
[[service]]
name = "pop"
kind = "pop3"
listen = "127.0.0.1:1110"
auth_without_tls = true
greylist = true
[[service.dnsbl]]
zone = "z.test"
"#;
    let text = errors(source);
    assert!(
        text.contains(
            "postern.toml:7:12: `greylist`: does not apply to a kind = \"pop3\" instance"
        ),
        "{text}"
    );
    assert!(text.contains("`dnsbl`: does not apply"), "{text}");
    assert!(
        text.contains("help: remove `greylist` from the [[service]] \"pop\""),
        "{text}"
    );
}

#[test]
fn barring_patterns_are_read_lower_case_and_once() {
    let source = format!(
        "{MX}bar_senders = [\"*@Spam.example\", \"*.biz\", \"bulk-*@*\", \"*@spam.example\"]\n\
         bar_recipients = [\"old-user@example.test\", \"@retired.example\"]\n"
    );
    let config = parse(&source).unwrap();
    let barring = &config.services[0].spam.barring;
    let senders: Vec<&str> = barring.senders.iter().map(|p| p.as_str()).collect();
    assert_eq!(senders, ["*@spam.example", "*.biz", "bulk-*@*"]);
    let recipients: Vec<&str> = barring.recipients.iter().map(|p| p.as_str()).collect();
    assert_eq!(recipients, ["old-user@example.test", "@retired.example"]);
    assert!(!config.services[0].spam.is_off());
    assert_eq!(
        config.services[0].session_config("mx").spam.barring,
        *barring
    );
}

#[test]
fn bad_barring_patterns_are_explained_at_their_line() {
    let rows = [
        (
            "bar_senders = [\"ok@x.example\",\n  \"<spammer@x.example>\"]\n",
            "postern.toml:7:3: `bar_senders`: \"<spammer@x.example>\" has the character '<'",
        ),
        (
            "bar_recipients = [\"retired\"]\n",
            "postern.toml:6:19: `bar_recipients`: \"retired\" has no @ and is no domain",
        ),
        (
            "bar_senders = [\"user@\"]\n",
            "postern.toml:6:16: `bar_senders`: \"user@\" has nothing after the @",
        ),
    ];
    for (keys, expected) in rows {
        let text = errors(&format!("{MX}{keys}"));
        assert!(text.contains(expected), "{keys}\n{text}");
        assert!(text.contains("help: write"), "{keys}\n{text}");
    }
}

#[test]
fn too_many_barring_patterns_are_refused() {
    let many: Vec<String> = (0..=crate::limits::BAR_PATTERNS_MAX)
        .map(|i| format!("\"u{i}@x.example\""))
        .collect();
    let text = errors(&format!("{MX}bar_senders = [{}]\n", many.join(", ")));
    assert!(
        text.contains("`bar_senders`: 1001 patterns; an instance bars at most 1000"),
        "{text}"
    );
}

#[test]
fn other_kinds_refuse_barring() {
    let source = r#"domain = [{ name = "example.test" }]
[[service]]
name = "pop"
kind = "pop3"
listen = "127.0.0.1:1110"
auth_without_tls = true
bar_senders = ["*@x.example"]
"#;
    let text = errors(source);
    assert!(
        text.contains(
            "postern.toml:7:15: `bar_senders`: does not apply to a kind = \"pop3\" instance"
        ),
        "{text}"
    );
}
