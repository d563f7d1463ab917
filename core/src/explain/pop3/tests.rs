use crate::address::parse_forward_path;
use crate::bind::{HostAddresses, listeners, plan};
use crate::explain::{Answer, Question, explain};

/// POP3 and POP3S beside SMTP, multi-homed on loopback: clear logins on
/// 127.0.0.1 only, STLS and pop3s on 127.0.0.3.
const INSTANCES: &str = r#"domain = [{ name = "example.test" }]
[auth]
failure_delay = "3s"
lockout_failures = 5
lockout_window = "30m"

[[service]]
name = "mx"
kind = "smtp"
listen = "127.0.0.3:2525"

[[service]]
name = "pop-local"
kind = "pop3"
listen = "127.0.0.1:1110"
auth_without_tls = true

[[service]]
name = "pop-internet"
kind = "pop3"
listen = "127.0.0.3:1110"
tls = "starttls"
tls_certificate = "cert.pem"
tls_key = "key.pem"
deny = ["127.0.0.66"]
command_timeout = "20m"

[[service]]
name = "pops"
kind = "pop3"
listen = "127.0.0.3:1995"
tls = "implicit"
tls_certificate = "cert.pem"
tls_key = "key.pem"
max_connections = 50
max_connections_per_host = 2
"#;

fn ask(local: &str, remote: &str, to: &[&str]) -> Answer {
    let config = crate::config::parse(INSTANCES).unwrap();
    let host = HostAddresses {
        networks: vec!["127.0.0.0/8".parse().unwrap(), "::1".parse().unwrap()],
    };
    let plan = plan(listeners(&config.services), &host).unwrap();
    let question = Question {
        local: local.parse().unwrap(),
        remote: remote.parse().unwrap(),
        from: None,
        to: to
            .iter()
            .map(|t| parse_forward_path(t, false).unwrap())
            .collect(),
        size: None,
    };
    explain(&config, &plan, &question)
}

#[test]
fn each_pop3_instance_answers_for_its_address() {
    let local = ask("127.0.0.1:1110", "127.0.0.1", &[]);
    let internet = ask("127.0.0.3:1110", "127.0.0.9", &[]);
    let pops = ask("127.0.0.3:1995", "2001:db8::7", &[]);
    assert!(local.admitted && internet.admitted && pops.admitted);
    insta::assert_snapshot!("explain_pop3_loopback_in_clear", local.text);
    insta::assert_snapshot!("explain_pop3_starttls", internet.text);
    insta::assert_snapshot!("explain_pop3s", pops.text);
}

#[test]
fn plaintext_login_is_allowed_only_where_the_instance_says() {
    let clear = ask("127.0.0.1:1110", "127.0.0.1", &[]).text;
    assert!(
        clear.contains("in clear: passwords travel unencrypted"),
        "{clear}"
    );
    let stls = ask("127.0.0.3:1110", "127.0.0.9", &[]).text;
    assert!(stls.contains("only after STLS"), "{stls}");
    let pops = ask("127.0.0.3:1995", "127.0.0.9", &[]).text;
    assert!(pops.contains("always over TLS"), "{pops}");
}

#[test]
fn a_refused_pop3_client_is_told_with_a_pop3_reply() {
    let denied = ask("127.0.0.3:1110", "127.0.0.66", &[]);
    assert!(!denied.admitted);
    assert!(
        denied.text.contains(
            "refused: -ERR [SYS/PERM], then closed (the access list admits all but 127.0.0.66)"
        ),
        "{}",
        denied.text
    );
    assert!(!denied.text.contains("554"), "{}", denied.text);
}

#[test]
fn an_envelope_does_not_apply_to_a_pop3_connection() {
    let answer = ask("127.0.0.1:1110", "127.0.0.1", &["<alice@example.test>"]);
    assert!(
        answer
            .text
            .contains("--from, --to and --size do not apply: a POP3 instance takes no mail"),
        "{}",
        answer.text
    );
    assert!(!answer.text.contains("recipient"), "{}", answer.text);
    // The SMTP instance beside it still answers for its envelope.
    let smtp = ask("127.0.0.3:2525", "127.0.0.9", &["<alice@example.test>"]);
    assert!(smtp.text.contains("(smtp, listening on 127.0.0.3:2525)"));
    assert!(
        smtp.text.contains("recipient  <alice@example.test>"),
        "{}",
        smtp.text
    );
}
