use super::*;
use crate::limits::MESSAGE_BYTES_DEFAULT;
use crate::policy::AccessList;
use crate::route::SmarthostMode;

/// One service and one domain; the domain is on the first line, so that
/// keys appended to this text are the service's, and the lines of the
/// snapshots are those of [`SERVICE_ONLY`].
const MINIMAL: &str = r#"domain = [{ name = "example.test" }]
[[service]]
name = "mx"
kind = "smtp"
listen = "127.0.0.1:2525"
"#;

/// One service, no domain: for tests that add their own `[[domain]]`.
const SERVICE_ONLY: &str = r#"
[[service]]
name = "mx"
kind = "smtp"
listen = "127.0.0.1:2525"
"#;

fn errors(source: &str) -> String {
    match parse(source) {
        Ok(config) => panic!("expected errors, got {config:?}"),
        Err(errors) => errors
            .iter()
            .map(|e| e.render("postern.toml", source))
            .collect::<Vec<_>>()
            .join("\n"),
    }
}

#[test]
fn minimal_config_gets_the_defaults() {
    let config = parse(MINIMAL).unwrap();
    assert_eq!(config.server.hostname, "localhost");
    assert_eq!(config.server.data_dir, PathBuf::from("postern-data"));
    let service = &config.services[0];
    assert_eq!(service.listen.to_string(), "127.0.0.1:2525");
    assert_eq!(service.secondary_listen, None);
    assert_eq!(service.relay, RelayPolicy::None);
    assert_eq!(service.access, AccessList::default());
    assert_eq!(
        (service.max_connections, service.max_connections_per_host),
        (20, 5),
        "ISMail's defaults"
    );
    assert_eq!(service.max_message_size, MESSAGE_BYTES_DEFAULT);
    assert_eq!(service.max_recipients, 100);
    assert_eq!(service.command_timeout, Duration::from_secs(300));
    assert_eq!(service.data_timeout, Duration::from_secs(600));
}

#[test]
fn every_key_is_read() {
    let config = parse(
        r#"
[server]
hostname = "mx.example.test"
data_dir = "/var/lib/postern"
shutdown_grace = "10s"

[[service]]
name = "mx"
kind = "smtp"
listen = "[::1]:25"
max_message_size = "10 MiB"
max_recipients = 50
max_errors = 3
command_timeout = "1m"
data_timeout = "2m"

[[domain]]
name = "Example.TEST"
users = ["alice", "Bob"]
aliases = { info = "alice" }
catch_all = "bob"
"#,
    )
    .unwrap();
    assert_eq!(config.server.hostname, "mx.example.test");
    assert_eq!(config.server.shutdown_grace, Duration::from_secs(10));
    let service = &config.services[0];
    assert_eq!(service.max_message_size, 10 * 1024 * 1024);
    assert_eq!((service.max_recipients, service.max_errors), (50, 3));
    assert_eq!(
        (service.command_timeout, service.data_timeout),
        (Duration::from_secs(60), Duration::from_secs(120))
    );
    let domain = &config.domains[0];
    assert_eq!(domain.name, "example.test");
    assert_eq!(domain.users, ["alice", "bob"]);
    assert_eq!(
        domain.aliases.get("info").map(String::as_str),
        Some("alice")
    );
    assert_eq!(domain.catch_all.as_deref(), Some("bob"));
}

#[test]
fn sizes_may_be_plain_octets() {
    let config = parse(&format!("{MINIMAL}max_message_size = 1000\n")).unwrap();
    assert_eq!(config.services[0].max_message_size, 1000);
}

#[test]
fn bad_listen_address_names_line_key_and_fix() {
    insta::assert_snapshot!(errors(&MINIMAL.replace("127.0.0.1:2525", "localhost:smtp")));
}

#[test]
fn unknown_key_is_named() {
    insta::assert_snapshot!(errors(&format!("{MINIMAL}max_size = 10\n")));
}

#[test]
fn unknown_service_kind_lists_the_known_ones() {
    insta::assert_snapshot!(errors(&MINIMAL.replace("\"smtp\"", "\"gopher\"")));
}

#[test]
fn bad_duration_and_size_are_explained() {
    insta::assert_snapshot!(errors(&format!("{MINIMAL}command_timeout = \"soon\"\n")));
    insta::assert_snapshot!(errors(&format!("{MINIMAL}max_message_size = \"huge\"\n")));
}

#[test]
fn out_of_range_numbers_give_the_range() {
    insta::assert_snapshot!(errors(&format!("{MINIMAL}max_recipients = 0\n")));
}

#[test]
fn no_service_is_an_error_with_an_example() {
    insta::assert_snapshot!(errors("[server]\nhostname = \"mx.test\"\n"));
}

#[test]
fn every_cross_field_error_is_reported_at_once() {
    insta::assert_snapshot!(errors(&format!(
        r#"{SERVICE_ONLY}
[[service]]
name = "mx"
kind = "smtp"
listen = "127.0.0.1:2525"

[[domain]]
name = "example.test"
users = ["alice"]
aliases = {{ info = "nobody", alice = "alice" }}
catch_all = "carol"
"#
    )));
}

#[test]
fn user_names_cannot_leave_the_mail_directory() {
    for name in ["a/b", "/srv/x"] {
        let source =
            format!("{SERVICE_ONLY}\n[[domain]]\nname = \"x.test\"\nusers = [\"{name}\"]\n");
        assert!(errors(&source).contains("is not a user name"), "{name}");
    }
}

#[test]
fn bad_user_name_is_explained() {
    insta::assert_snapshot!(errors(&format!(
        "{SERVICE_ONLY}\n[[domain]]\nname = \"x.test\"\nusers = [\"alice@x.test\"]\n"
    )));
}

#[test]
fn instances_read_port_specs_policy_and_quotas() {
    let config = parse(
        r#"
[port_names]
mail-alt = 2525

[[service]]
name = "local"
kind = "smtp"
listen = "127.0.0.1:smtp"
secondary_listen = "127.0.0.1:MAIL-ALT"
relay = "any"
max_message_size = "unlimited"

[[service]]
name = "lan"
kind = "smtp"
listen = 25
relay = ["192.168.0.0/16", "::1"]
allow = ["192.168.0.0/16"]
deny = ["192.168.1.66"]
max_connections = 50
max_connections_per_host = 10

[[domain]]
name = "example.test"
"#,
    )
    .unwrap();
    let (local, lan) = (&config.services[0], &config.services[1]);
    assert_eq!(local.listen.to_string(), "127.0.0.1:25");
    assert_eq!(
        local.secondary_listen.map(|s| s.to_string()).as_deref(),
        Some("127.0.0.1:2525")
    );
    assert_eq!((local.lines.listen, local.lines.secondary_listen), (8, 9));
    assert_eq!(local.relay, RelayPolicy::Any);
    assert_eq!(local.max_message_size, MESSAGE_BYTES_MAX);
    assert_eq!(lan.listen.to_string(), "*:25");
    assert_eq!(lan.relay.to_string(), "from 192.168.0.0/16 ::1");
    assert_eq!(
        lan.access.summary(),
        "only 192.168.0.0/16, not 192.168.1.66"
    );
    assert_eq!(
        (lan.max_connections, lan.max_connections_per_host),
        (50, 10)
    );
}

#[test]
fn bad_port_specs_and_quotas_are_all_reported() {
    insta::assert_snapshot!(errors(
        r#"domain = [{ name = "example.test" }]
[port_names]
smtp = 26

[[service]]
name = "a"
kind = "smtp"
listen = 0
secondary_listen = "gopher"
max_connections = 4
max_connections_per_host = 5
"#
    ));
}

#[test]
fn bad_policies_are_explained() {
    let relay = errors(&format!("{MINIMAL}relay = \"everyone\"\n"));
    assert!(
        relay.contains("\"everyone\" is not a relay policy; write \"none\", \"any\""),
        "{relay}"
    );
    let allow = errors(&format!("{MINIMAL}allow = [\"10.0.0.0/40\"]\n"));
    assert!(
        allow.contains("postern.toml:6:9: `allow`: \"10.0.0.0/40\": a prefix of /40"),
        "{allow}"
    );
    let relay_network = errors(&format!("{MINIMAL}relay = [\"lan\"]\n"));
    assert!(
        relay_network.contains("\"lan\" is not a network"),
        "{relay_network}"
    );
}

#[test]
fn outbound_settings_and_the_smarthost() {
    let config = parse(&format!(
        r#"{MINIMAL}
[outbound]
max_connections = 5
max_connections_per_destination = 2
port = 2526
nameservers = ["127.0.0.1:5353", "::1"]
retry_delays = ["2s", "1m"]
expire_after = "1h"
connect_timeout = "5s"
data_end_timeout = "1m"

[outbound.smarthost]
host = "relay.isp.test:587"
mode = "fallback"
user = "me"
password = "secret"
"#
    ))
    .unwrap();
    let outbound = &config.outbound;
    assert_eq!(
        (
            outbound.max_connections,
            outbound.max_connections_per_destination
        ),
        (5, 2)
    );
    assert_eq!(outbound.port, 2526);
    assert_eq!(
        outbound.nameservers,
        [
            "127.0.0.1:5353".parse().unwrap(),
            "[::1]:53".parse().unwrap()
        ]
    );
    assert_eq!(
        outbound.retry.delays,
        [Duration::from_secs(2), Duration::from_secs(60)]
    );
    assert_eq!(outbound.retry.expire_after, Duration::from_secs(3600));
    assert_eq!(outbound.timeouts.data_end, Duration::from_secs(60));
    let smarthost = outbound.smarthost.as_ref().unwrap();
    assert_eq!(smarthost.to_string(), "relay.isp.test:587");
    assert_eq!(smarthost.mode, SmarthostMode::Fallback);
    assert_eq!(smarthost.credentials.as_ref().unwrap().user, "me");
    let defaults = parse(MINIMAL).unwrap().outbound;
    assert_eq!(
        (
            defaults.max_connections,
            defaults.max_connections_per_destination,
            defaults.port
        ),
        (2, 2, 25)
    );
}

#[test]
fn attempt_limits_and_deadline_are_read_with_postfix_defaults() {
    let config = parse(&format!(
        "{MINIMAL}\n[outbound]\nmax_addresses = 3\nmax_sessions = 1\nattempt_timeout = \"90s\"\n"
    ))
    .unwrap();
    let outbound = &config.outbound;
    assert_eq!((outbound.max_addresses, outbound.max_sessions), (3, 1));
    assert_eq!(
        outbound.attempt_timeout(1 << 30, 100),
        Duration::from_secs(90)
    );
    let defaults = parse(MINIMAL).unwrap().outbound;
    assert_eq!((defaults.max_addresses, defaults.max_sessions), (5, 2));
    // Sized by the message: 30s + 5m + 6 x 5m + 2m + 1 x 3m + 10m, then
    // 3 minutes a MiB more.
    assert_eq!(defaults.attempt_timeout(1000, 1), Duration::from_secs(3030));
    assert_eq!(
        defaults.attempt_timeout(10 * 1024 * 1024, 1),
        Duration::from_secs(3030 + 9 * 180)
    );
    for bad in ["max_addresses = 0", "max_sessions = 101"] {
        let text = errors(&format!("{MINIMAL}\n[outbound]\n{bad}\n"));
        assert!(
            text.contains("is out of range") && text.contains("from 1 to 100"),
            "{text}"
        );
    }
    let zero = errors(&format!(
        "{MINIMAL}\n[outbound]\nattempt_timeout = \"0s\"\n"
    ));
    assert!(zero.contains("under a second"), "{zero}");
}

#[test]
fn bad_outbound_settings_are_explained() {
    let too_many = errors(&format!("{MINIMAL}\n[outbound]\nmax_connections = 21\n"));
    assert!(
        too_many.contains("21 is out of range") && too_many.contains("from 1 to 20"),
        "{too_many}"
    );
    let host = errors(&format!(
        "{MINIMAL}\n[outbound.smarthost]\nhost = \"relay:x\"\nmode = \"exclusive\"\n"
    ));
    assert!(host.contains("is not a smarthost"), "{host}");
    let half = errors(&format!(
        "{MINIMAL}\n[outbound.smarthost]\nhost = \"relay.test\"\nmode = \"exclusive\"\nuser = \"me\"\n"
    ));
    assert!(half.contains("give both `user` and `password`"), "{half}");
}

#[test]
fn tls_and_auth_settings_are_read_with_kind_defaults() {
    let config = parse(
        r#"
[[domain]]
name = "example.test"
[auth]
failure_delay = "0s"
max_failures_per_session = 2
lockout_failures = 5
lockout_window = "10m"

[[service]]
name = "mx"
kind = "smtp"
listen = "smtp"
tls = "starttls"
tls_certificate = "cert.pem"
tls_key = "key.pem"

[[service]]
name = "submission"
kind = "submission"
listen = "submission"
tls = "starttls"
tls_certificate = "cert.pem"
tls_key = "key.pem"
tls_handshake_timeout = "5s"

[[service]]
name = "smtps"
kind = "submission"
listen = "smtps"
tls = "implicit"
tls_certificate = "cert.pem"
tls_key = "key.pem"
"#,
    )
    .unwrap();
    let [mx, submission, smtps] = &config.services[..] else {
        panic!("three services");
    };
    assert_eq!(mx.tls_mode(), TlsMode::StartTls);
    assert!(!mx.auth.offered && !mx.auth.required);
    assert_eq!(mx.relay, RelayPolicy::None);
    assert!(submission.auth.offered && submission.auth.required);
    assert_eq!(submission.relay, RelayPolicy::Authenticated);
    assert_eq!(submission.listen.port, 587);
    assert_eq!(
        submission.tls.as_ref().unwrap().handshake_timeout,
        Duration::from_secs(5)
    );
    assert_eq!(smtps.tls_mode(), TlsMode::Implicit);
    assert_eq!(smtps.listen.port, 465);
    assert_eq!(submission.auth.max_failures, 2);
    assert_eq!(submission.auth.failure_delay, Duration::ZERO);
    assert_eq!(config.lockout.failures, 5);
    assert_eq!(config.lockout.window, Duration::from_secs(600));
    let session = submission.session_config("mx.test");
    assert!(session.starttls && session.auth.required);
}

#[test]
fn tls_and_auth_mistakes_are_explained() {
    insta::assert_snapshot!(errors(
        r#"domain = [{ name = "example.test" }]
[[service]]
name = "mx"
kind = "smtp"
listen = "2525"
tls = "starttls"

[[service]]
name = "sub"
kind = "submission"
listen = "2587"

[[service]]
name = "plain"
kind = "smtp"
listen = "2526"
tls_certificate = "cert.pem"
relay = "authenticated"
"#
    ));
}

#[test]
fn hop_limit_and_ipv6_host_prefixes_have_defaults_and_are_read() {
    let config = parse(MINIMAL).unwrap();
    assert_eq!(config.server.max_hops, 50);
    assert_eq!(config.services[0].max_hops, 50);
    assert_eq!(config.services[0].session_config("h").max_hops, 50);
    assert_eq!(config.services[0].ipv6_prefix, 64);
    assert_eq!(config.lockout.ipv6_prefix, 64);
    let config = parse(&format!(
        "[server]\nmax_hops = 30\n[auth]\nlockout_ipv6_prefix = 56\n[[domain]]\nname = \"example.test\"\n{SERVICE_ONLY}ipv6_prefix = 128\n"
    ))
    .unwrap();
    assert_eq!(config.services[0].session_config("h").max_hops, 30);
    assert_eq!(config.services[0].ipv6_prefix, 128);
    assert_eq!(config.lockout.ipv6_prefix, 56);
}

#[test]
fn bad_hop_limits_and_prefixes_are_explained() {
    let text = errors(&format!(
        "[server]\nmax_hops = 0\n[auth]\nlockout_ipv6_prefix = 8\n[[domain]]\nname = \"example.test\"\n{SERVICE_ONLY}ipv6_prefix = 129\n"
    ));
    assert!(
        text.contains("postern.toml:2:12: `max_hops`: 0 is out of range"),
        "{text}"
    );
    assert!(
        text.contains("`lockout_ipv6_prefix`: /8 is not a prefix length"),
        "{text}"
    );
    assert!(
        text.contains("`ipv6_prefix`: /129 is not a prefix length"),
        "{text}"
    );
    assert!(text.contains("help: use 16 to 128"), "{text}");
}

#[test]
fn a_domain_and_its_a_label_are_one_domain_and_long_labels_are_refused() {
    let twice = errors(&format!(
        "{SERVICE_ONLY}\n[[domain]]\nname = \"bücher.test\"\n\n[[domain]]\nname = \"xn--bcher-kva.test\"\n"
    ));
    assert!(
        twice.contains("domain \"xn--bcher-kva.test\" is declared twice"),
        "{twice}"
    );
    let long = errors(&format!(
        "{SERVICE_ONLY}\n[[domain]]\nname = \"{}.test\"\n",
        "a".repeat(64)
    ));
    assert!(long.contains("has a label of 64 octets"), "{long}");
    assert!(long.contains("RFC 1035 allows at most 63"), "{long}");
    assert!(
        parse(&format!(
            "{SERVICE_ONLY}\n[[domain]]\nname = \"{}.test\"\n",
            "a".repeat(63)
        ))
        .is_ok()
    );
}

#[test]
fn slow_client_bounds_have_defaults_and_may_be_set_per_service() {
    let config = parse(MINIMAL).unwrap();
    let service = &config.services[0];
    assert_eq!(service.min_data_rate, 500, "Postfix's smtpd_min_data_rate");
    assert_eq!(service.max_session_time, Duration::from_secs(30 * 60));
    let config = parse(&format!(
        "{MINIMAL}min_data_rate = 0\nmax_session_time = \"2h\"\n"
    ))
    .unwrap();
    let session = config.services[0].session_config("mx.example.test");
    assert_eq!(session.min_data_rate, 0);
    assert_eq!(session.max_session_time, Duration::from_secs(2 * 60 * 60));
}

#[test]
fn slow_client_bounds_out_of_range_are_explained() {
    let out = errors(&format!(
        "{MINIMAL}min_data_rate = 2000000\nmax_session_time = \"2d\"\n"
    ));
    assert!(
        out.contains("`min_data_rate`: 2000000 is out of range"),
        "{out}"
    );
    assert!(out.contains("use a value from 0 to 1048576"), "{out}");
    assert!(
        out.contains("`max_session_time`: 172800s is too long"),
        "{out}"
    );
    assert!(out.contains("postern.toml:7:"), "{out}");
    let out = errors(&format!("{MINIMAL}max_session_time = \"0s\"\n"));
    assert!(out.contains("under a second"), "{out}");
}

#[test]
fn unknown_keys_and_words_get_a_did_you_mean() {
    for (typo, suggestion) in [
        ("max_size = 10", "max_message_size"),
        ("max_mesage_size = 10", "max_message_size"),
        ("tls_certficate = \"c.pem\"", "tls_certificate"),
        ("comand_timeout = \"1m\"", "command_timeout"),
        ("tls = \"starttsl\"", "starttls"),
    ] {
        let text = errors(&format!("{MINIMAL}{typo}\n"));
        assert!(
            text.contains(&format!("help: did you mean `{suggestion}`?")),
            "{typo}: {text}"
        );
    }
    let far = errors(&format!("{MINIMAL}colour = \"blue\"\n"));
    assert!(
        !far.contains("did you mean"),
        "no guess for a far name: {far}"
    );
    let smarthost = errors(&format!(
        "{MINIMAL}\n[outbound.smarthost]\nhost = \"relay.test\"\nmode = \"exclusive\"\ntls = \"implict\"\n"
    ));
    assert!(
        smarthost.contains("did you mean `implicit`?"),
        "{smarthost}"
    );
}

#[test]
fn domain_mistakes_name_their_lines() {
    insta::assert_snapshot!(errors(&format!(
        "{SERVICE_ONLY}\n[[domain]]\nname = \"example.test\"\nusers = [\"alice\", \"bob\", \"Alice\"]\n\n[[domain]]\nname = \"Example.test\"\n"
    )));
}

#[test]
fn a_config_without_a_domain_is_an_error_with_an_example() {
    insta::assert_snapshot!(errors(SERVICE_ONLY));
}

#[test]
fn implicit_tls_to_a_smarthost_defaults_to_port_465() {
    let smarthost = |extra: &str| {
        let config = parse(&format!(
            "{MINIMAL}\n[outbound.smarthost]\nhost = \"relay.test\"\nmode = \"exclusive\"\n{extra}"
        ))
        .unwrap();
        let smarthost = config.outbound.smarthost.clone().unwrap();
        (smarthost.port, smarthost.tls, config.warnings.len())
    };
    use crate::smtp::client::TlsPolicy;
    assert_eq!(
        smarthost("tls = \"implicit\"\n"),
        (465, TlsPolicy::Implicit, 0)
    );
    assert_eq!(smarthost(""), (25, TlsPolicy::Opportunistic, 0));
    assert_eq!(
        smarthost("tls = \"required\"\n"),
        (25, TlsPolicy::Required, 0)
    );
}

#[test]
fn a_smarthost_port_against_its_tls_convention_is_a_warning() {
    let warnings = |host: &str, tls: &str| {
        let source = format!(
            "{MINIMAL}\n[outbound.smarthost]\nhost = \"{host}\"\nmode = \"fallback\"\n{tls}"
        );
        let config = parse(&source).unwrap();
        config
            .warnings
            .iter()
            .map(|w| w.render("postern.toml", &source))
            .collect::<Vec<_>>()
            .join("\n")
    };
    insta::assert_snapshot!(warnings("relay.test:465", "tls = \"required\"\n"));
    assert!(warnings("relay.test:465", "").contains("port 465"));
    assert!(warnings("relay.test:465", "tls = \"implicit\"\n").is_empty());
    assert!(warnings("relay.test:587", "tls = \"implicit\"\n").contains("port 587"));
    assert!(
        warnings("relay.test:2465", "").is_empty(),
        "only the conventions"
    );
    assert!(parse(MINIMAL).unwrap().warnings.is_empty());
}

#[test]
fn certificate_and_key_lines_are_kept_for_later_errors() {
    let config = parse(&format!(
        "{MINIMAL}tls = \"implicit\"\ntls_certificate = \"c.pem\"\ntls_key = \"k.pem\"\n"
    ))
    .unwrap();
    assert_eq!(config.services[0].tls.as_ref().unwrap().lines, (7, 8));
}

#[test]
fn mail_auth_is_off_unless_an_smtp_instance_asks_to_record() {
    use crate::mail_auth::MailAuthMode;
    let config = parse(MINIMAL).unwrap();
    assert_eq!(config.services[0].mail_auth, MailAuthMode::Off);
    let config = parse(&format!("{MINIMAL}mail_auth = \"record\"\n")).unwrap();
    assert_eq!(config.services[0].mail_auth, MailAuthMode::Record);
    assert_eq!(
        config.services[0]
            .session_config("mx.example.test")
            .mail_auth,
        MailAuthMode::Record
    );
    let config = parse(&format!("{MINIMAL}mail_auth = \"enforce\"\n")).unwrap();
    assert_eq!(config.services[0].mail_auth, MailAuthMode::Enforce);
    let bad = errors(&format!("{MINIMAL}mail_auth = \"refuse\"\n"));
    assert!(bad.contains("`mail_auth`"), "{bad}");
    assert!(
        bad.contains("expected one of `off`, `record`, `enforce`"),
        "{bad}"
    );
    let pop3 = errors(
        "domain = [{ name = \"example.test\" }]\n[[service]]\nname = \"pop\"\nkind = \"pop3\"\nlisten = \"127.0.0.1:1110\"\nmail_auth = \"record\"\n",
    );
    assert!(pop3.contains("`mail_auth`: does not apply to"), "{pop3}");
}

#[test]
fn spf_fail_is_recorded_unless_an_smtp_instance_refuses() {
    use crate::mail_auth::SpfFailAction;
    assert_eq!(
        parse(MINIMAL).unwrap().services[0].spf_fail,
        SpfFailAction::Record
    );
    let config = parse(&format!("{MINIMAL}spf_fail = \"refuse\"\n")).unwrap();
    assert_eq!(config.services[0].spf_fail, SpfFailAction::Refuse);
    let bad = errors(&format!("{MINIMAL}spf_fail = \"reject\"\n"));
    assert!(bad.contains("expected `record` or `refuse`"), "{bad}");
}

#[test]
fn arc_trusted_sealers_are_domains_each_once_and_only_on_smtp() {
    assert!(
        parse(MINIMAL).unwrap().services[0]
            .arc_trusted_sealers
            .is_empty()
    );
    let config = parse(&format!(
        "{MINIMAL}arc_trusted_sealers = [\"Lists.Example.ORG\", \"fwd.example.net.\"]\n"
    ))
    .unwrap();
    assert_eq!(
        config.services[0].arc_trusted_sealers,
        ["lists.example.org", "fwd.example.net"]
    );
    assert_eq!(
        config.services[0]
            .session_config("mx.example.test")
            .arc_trusted_sealers,
        ["lists.example.org", "fwd.example.net"]
    );
    let bad = errors(&format!(
        "{MINIMAL}arc_trusted_sealers = [\"a b\", \"org\", \"x.test\", \"X.test\"]\n"
    ));
    assert!(
        bad.contains("postern.toml:6:") && bad.contains("\"a b\" is not a domain name"),
        "{bad}"
    );
    assert!(bad.contains("\"org\" is not a domain name"), "{bad}");
    assert!(bad.contains("x.test is listed twice"), "{bad}");
    let many: Vec<String> = (0..=crate::limits::ARC_TRUSTED_SEALERS_MAX)
        .map(|i| format!("\"s{i}.test\""))
        .collect();
    let bad = errors(&format!(
        "{MINIMAL}arc_trusted_sealers = [{}]\n",
        many.join(", ")
    ));
    assert!(bad.contains("an instance trusts at most 64"), "{bad}");
    let pop3 = errors(
        "domain = [{ name = \"example.test\" }]\n[[service]]\nname = \"pop\"\nkind = \"pop3\"\nlisten = \"127.0.0.1:1110\"\narc_trusted_sealers = [\"x.test\"]\n",
    );
    assert!(
        pop3.contains("`arc_trusted_sealers`: does not apply to"),
        "{pop3}"
    );
}
