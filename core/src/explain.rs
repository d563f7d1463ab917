//! `postern explain`: what the server would do with a connection and an
//! envelope, answered from the configuration and the bind plan alone,
//! without sending mail.
//!
//! Every answer comes from the same functions the server runs: the plan's
//! [`BindPlan::listener_for`], the instance's [`AccessList`] and
//! [`RelayPolicy`](crate::policy::RelayPolicy), and the [`Directory`].

use crate::address::{ForwardPath, ReversePath};
use crate::admission::HostKey;
use crate::bind::{BindPlan, Role};
use crate::config::{Config, ServiceConfig, ServiceKind};
use crate::directory::{Directory, RecipientVerdict};
use crate::policy::AccessList;
use std::fmt::Write;
use std::net::{IpAddr, SocketAddr};

mod barring;
mod finger;
mod ftp;
mod http;
mod imap;
mod login;
mod mail_auth;
mod nntp;
mod pop3;
mod remote_log;
mod spam;
mod tunnel;

pub use spam::SpamFacts;

/// A connection and, optionally, an envelope to explain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Question {
    /// The address and port the client connects to.
    pub local: SocketAddr,
    /// The client's address.
    pub remote: IpAddr,
    pub from: Option<ReversePath>,
    pub to: Vec<ForwardPath>,
    /// The message's size in octets, to check against the limit.
    pub size: Option<u64>,
}

/// The answer, one fact per line. `admitted` is false when the connection
/// would be refused (no instance, or the access list).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Answer {
    pub text: String,
    pub admitted: bool,
}

/// Explains `question` under `config` and its bind `plan`, saying which
/// blocklist queries it would cause rather than their answers.
pub fn explain(config: &Config, plan: &BindPlan, question: &Question) -> Answer {
    explain_with(config, plan, question, &SpamFacts::default())
}

/// The blocklist queries `question` would cause (for `--dns`, which
/// looks them up and hands the answers to [`explain_with`]).
pub fn blocklist_queries(
    config: &Config,
    plan: &BindPlan,
    question: &Question,
) -> Vec<crate::spam::Query> {
    match instance(config, plan, question) {
        Some((_, service)) if service.access.admits(question.remote.to_canonical()) => {
            spam::queries(service, question)
        }
        _ => Vec::new(),
    }
}

/// The listener `question` connects to, and its instance.
fn instance<'a>(
    config: &'a Config,
    plan: &'a BindPlan,
    question: &Question,
) -> Option<(&'a crate::bind::Listener, &'a ServiceConfig)> {
    let (local, port) = (question.local.ip().to_canonical(), question.local.port());
    plan.listener_for(local, port).and_then(|listener| {
        let service = config
            .services
            .iter()
            .find(|s| s.name == listener.instance)?;
        Some((listener, service))
    })
}

/// Explains `question` with what the runtime found out: blocklist
/// answers and the stored greylist.
pub fn explain_with(
    config: &Config,
    plan: &BindPlan,
    question: &Question,
    facts: &SpamFacts,
) -> Answer {
    let mut text = String::new();
    let remote = question.remote.to_canonical();
    let _ = writeln!(text, "connection to {} from {remote}", question.local);
    let Some((listener, service)) = instance(config, plan, question) else {
        line(
            &mut text,
            "instance",
            "none: no instance listens there, so the connection is refused by the system",
        );
        return Answer {
            text,
            admitted: false,
        };
    };
    let role = match listener.role {
        Role::Primary => "",
        Role::Secondary => ", secondary listen",
    };
    line(
        &mut text,
        "instance",
        &format!(
            "\"{}\" ({}, listening on {}{role})",
            service.name, service.kind, listener.spec
        ),
    );
    let refusals = Refusals::of(service.kind);
    if !service.access.admits(remote) {
        line(
            &mut text,
            "access",
            &format!(
                "refused: {}, then closed (the access list admits {})",
                refusals.access_denied,
                service.access.summary()
            ),
        );
        return Answer {
            text,
            admitted: false,
        };
    }
    line(&mut text, "access", &access_line(&service.access));
    // The per-host count is kept for the client's host key: its IPv6
    // network, not its address alone.
    let host = HostKey::new(remote, service.ipv6_prefix);
    let counted = if host.to_string() == remote.to_string() {
        String::new()
    } else {
        format!(" (IPv6 clients count by /{})", service.ipv6_prefix)
    };
    line(
        &mut text,
        "quota",
        &format!(
            "admitted while fewer than {} {} open, and fewer than {} from {host}{counted}; beyond that {}",
            crate::text::counted(service.max_connections, "connection", "connections"),
            if service.max_connections == 1 {
                "is"
            } else {
                "are"
            },
            service.max_connections_per_host,
            refusals.too_many
        ),
    );
    if service.kind == ServiceKind::Tunnel {
        tunnel::lines(&mut text, service, question);
        return Answer {
            text,
            admitted: true,
        };
    }
    if service.kind == ServiceKind::Finger {
        finger::lines(&mut text, service, question);
        return Answer {
            text,
            admitted: true,
        };
    }
    if service.kind == ServiceKind::RemoteLog {
        remote_log::lines(&mut text, config, service, question);
        return Answer {
            text,
            admitted: true,
        };
    }
    if service.kind == ServiceKind::Ftp {
        ftp::lines(&mut text, config, service, question);
        return Answer {
            text,
            admitted: true,
        };
    }
    if service.kind == ServiceKind::Http {
        http::lines(&mut text, config, service, question);
        return Answer {
            text,
            admitted: true,
        };
    }
    if service.kind == ServiceKind::Imap {
        imap::lines(&mut text, config, service, question);
        return Answer {
            text,
            admitted: true,
        };
    }
    if service.kind == ServiceKind::Nntp {
        nntp::lines(&mut text, config, service, question);
        return Answer {
            text,
            admitted: true,
        };
    }
    if service.kind == ServiceKind::Pop3 {
        pop3::lines(&mut text, config, service, question);
        return Answer {
            text,
            admitted: true,
        };
    }
    if !spam::client_lines(&mut text, service, remote, facts) {
        return Answer {
            text,
            admitted: false,
        };
    }
    auth_line(&mut text, service);
    size_lines(&mut text, service, question.size);
    let may_relay = service.relay.permits(remote, false);
    line(
        &mut text,
        "relay",
        &format!(
            "{} for {remote} (relay = {})",
            if may_relay {
                "permitted"
            } else {
                "not permitted"
            },
            service.relay
        ),
    );
    if let Some(from) = &question.from {
        line(&mut text, "sender", &from.to_string());
        if !barring::sender_line(&mut text, service, question)
            || !spam::sender_lines(&mut text, service, question, facts)
            || !mail_auth::sender_lines(&mut text, service, question, facts.spf.as_ref())
        {
            return Answer {
                text,
                admitted: true,
            };
        }
    }
    let directory = Directory::new(&config.domains);
    for to in &question.to {
        if barring::recipient_barred(&mut text, service, to) {
            continue;
        }
        let resolved = directory.resolve(to);
        let accepted = matches!(resolved, RecipientVerdict::Local(_))
            || (may_relay && matches!(resolved, RecipientVerdict::NotLocal));
        let (lists, lists_fact) = match &resolved {
            RecipientVerdict::Local(mailbox) => barring::lists_verdict(mailbox, question, facts),
            _ => (barring::ListsSay::GoOn, None),
        };
        let verdict = match &resolved {
            RecipientVerdict::Local(mailbox) if lists == barring::ListsSay::Refused => {
                format!("refused: local mailbox {mailbox}, whose user refuses this sender")
            }
            RecipientVerdict::Local(mailbox) => {
                format!("accepted: local mailbox {mailbox}, delivered to its Maildir")
            }
            RecipientVerdict::UnknownLocalUser => {
                "refused: 550 5.1.1 User unknown (our domain, no such user, no catch-all)"
                    .to_owned()
            }
            RecipientVerdict::NotLocal if may_relay => {
                "accepted for relaying to another domain's server".to_owned()
            }
            RecipientVerdict::NotLocal => {
                "refused: 554 5.7.1 Relaying denied (not one of our domains)".to_owned()
            }
        };
        line(&mut text, "recipient", &format!("{to}: {verdict}"));
        if let Some(fact) = lists_fact {
            line(&mut text, "lists", &fact);
        }
        if accepted && lists == barring::ListsSay::GoOn {
            spam::greylist_line(&mut text, service, question, to, facts);
        }
    }
    Answer {
        text,
        admitted: true,
    }
}

/// What a refused client is told, by the kind of instance.
struct Refusals {
    access_denied: &'static str,
    too_many: &'static str,
}

impl Refusals {
    fn of(kind: ServiceKind) -> Self {
        match kind {
            ServiceKind::Smtp | ServiceKind::Submission => Refusals {
                access_denied: "554 5.7.1",
                too_many: "421 4.7.0",
            },
            // RFC 3206 response codes: a refusal that retrying will not
            // change, and one that it may.
            ServiceKind::Pop3 | ServiceKind::RemoteLog => Refusals {
                access_denied: "-ERR [SYS/PERM]",
                too_many: "-ERR [SYS/TEMP]",
            },
            // RFC 9051 7.1.5: a server that will not serve the client
            // greets it with BYE and closes.
            ServiceKind::Imap => Refusals {
                access_denied: "* BYE",
                too_many: "* BYE [UNAVAILABLE]",
            },
            // A tunnel speaks no protocol of its own: any word would reach
            // the client as if the target had said it.
            ServiceKind::Tunnel => Refusals {
                access_denied: "no reply (a tunnel has no protocol of its own to say why in)",
                too_many: "closed without a reply",
            },
            // RFC 959 5.4: 421 closes the control connection.
            ServiceKind::Ftp => Refusals {
                access_denied: "421",
                too_many: "421",
            },
            // RFC 9110 15.5.4 and 15.6.4.
            ServiceKind::Http => Refusals {
                access_denied: "403 Forbidden",
                too_many: "503 Service Unavailable",
            },
            // RFC 3977 5.1.1: 502 when the client may never use the
            // service, 400 when it may come back later.
            ServiceKind::Nntp => Refusals {
                access_denied: "502",
                too_many: "400",
            },
            // Finger has no status codes: a plain line.
            ServiceKind::Finger => Refusals {
                access_denied: "\"finger: no finger service for your address here.\"",
                too_many: "\"finger: too many connections, try again later.\"",
            },
        }
    }
}

fn line(text: &mut String, label: &str, fact: &str) {
    let _ = writeln!(text, "  {label:<11}{fact}");
}

fn access_line(access: &AccessList) -> String {
    format!("admitted (the access list admits {})", access.summary())
}

/// Where AUTH is offered, and what a client that has not logged in is
/// told (RFC 4954 6: 530 before MAIL on an instance that requires it).
fn auth_line(text: &mut String, service: &ServiceConfig) {
    let auth = &service.auth;
    if !auth.offered {
        return;
    }
    let offered = match (service.tls_mode(), auth.without_tls) {
        (crate::config::TlsMode::Implicit, _) => "offered over TLS",
        (_, true) => "offered, also in clear",
        (crate::config::TlsMode::StartTls, false) => "offered after STARTTLS",
        (crate::config::TlsMode::None, false) => "offered",
    };
    let fact = if auth.required {
        format!(
            "{offered}, required: a client that has not logged in gets 530 5.7.0 Authentication required at MAIL"
        )
    } else {
        format!("{offered}, not required")
    };
    line(text, "auth", &fact);
}

fn size_lines(text: &mut String, service: &ServiceConfig, size: Option<u64>) {
    let limit = service.max_message_size;
    line(
        text,
        "size limit",
        &format!("{limit} octets, advertised as SIZE {limit}"),
    );
    if let Some(size) = size {
        let verdict = if size > limit {
            "refused: 552 5.3.4 Message size exceeds fixed limit"
        } else {
            "within the limit"
        };
        line(text, "size", &format!("{size} octets: {verdict}"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::address::{parse_forward_path, parse_reverse_path};
    use crate::bind::{HostAddresses, listeners, plan};

    /// The Mailtraq example, on loopback.
    const MAILTRAQ: &str = r#"
[[service]]
name = "local"
kind = "smtp"
listen = "127.0.0.1:2525"
relay = "any"
max_message_size = "unlimited"

[[service]]
name = "lan"
kind = "smtp"
listen = "127.0.0.2:2525"
relay = "any"
max_message_size = "unlimited"

[[service]]
name = "internet"
kind = "smtp"
listen = "127.0.0.3:2525"
relay = "none"
max_message_size = "10 KiB"
deny = ["127.0.0.66"]

[[domain]]
name = "example.test"
users = ["alice"]
"#;

    fn ask(local: &str, remote: &str, to: &[&str], size: Option<u64>) -> Answer {
        let config = crate::config::parse(MAILTRAQ).unwrap();
        let host = HostAddresses {
            networks: vec!["127.0.0.0/8".parse().unwrap()],
        };
        let plan = plan(listeners(&config.services), &host).unwrap();
        let question = Question {
            local: local.parse().unwrap(),
            remote: remote.parse().unwrap(),
            from: Some(parse_reverse_path("<bob@elsewhere.test>", false).unwrap()),
            to: to
                .iter()
                .map(|t| parse_forward_path(t, false).unwrap())
                .collect(),
            size,
        };
        explain(&config, &plan, &question)
    }

    #[test]
    fn each_instance_answers_for_its_address() {
        let to = ["<carol@elsewhere.test>", "<alice@example.test>"];
        let lan = ask("127.0.0.2:2525", "127.0.0.9", &to, Some(50_000));
        let internet = ask("127.0.0.3:2525", "127.0.0.9", &to, Some(50_000));
        assert!(lan.admitted && internet.admitted);
        insta::assert_snapshot!("explain_lan", lan.text);
        insta::assert_snapshot!("explain_internet", internet.text);
    }

    #[test]
    fn a_submission_instance_says_a_client_not_logged_in_gets_530() {
        let config = crate::config::parse(
            r#"
[[service]]
name = "submission"
kind = "submission"
listen = "127.0.0.1:2587"
tls = "starttls"
tls_certificate = "cert.pem"
tls_key = "key.pem"

[[domain]]
name = "example.test"
users = ["alice"]
"#,
        )
        .unwrap();
        let host = HostAddresses {
            networks: vec!["127.0.0.0/8".parse().unwrap()],
        };
        let plan = plan(listeners(&config.services), &host).unwrap();
        let question = Question {
            local: "127.0.0.1:2587".parse().unwrap(),
            remote: "127.0.0.9".parse().unwrap(),
            from: None,
            to: vec![parse_forward_path("<friend@far.test>", false).unwrap()],
            size: None,
        };
        let text = explain(&config, &plan, &question).text;
        assert!(
            text.contains(
                "auth       offered after STARTTLS, required: a client that has not logged in gets 530 5.7.0 Authentication required at MAIL"
            ),
            "{text}"
        );
    }

    #[test]
    fn refused_connections_are_explained() {
        let nobody = ask("127.0.0.4:2525", "127.0.0.9", &[], None);
        assert!(!nobody.admitted);
        assert!(
            nobody.text.contains("no instance listens there"),
            "{}",
            nobody.text
        );
        let denied = ask("127.0.0.3:2525", "127.0.0.66", &[], None);
        assert!(!denied.admitted);
        assert!(
            denied.text.contains(
                "refused: 554 5.7.1, then closed (the access list admits all but 127.0.0.66)"
            ),
            "{}",
            denied.text
        );
    }

    #[test]
    fn the_quota_line_names_the_key_an_ipv6_client_is_counted_by() {
        let v6 = ask("127.0.0.3:2525", "2001:db8:1:2::5", &[], None);
        assert!(
            v6.text
                .contains("fewer than 5 from 2001:db8:1:2::/64 (IPv6 clients count by /64)"),
            "{}",
            v6.text
        );
        let v4 = ask("127.0.0.3:2525", "::ffff:127.0.0.9", &[], None);
        assert!(
            v4.text.contains("fewer than 5 from 127.0.0.9;"),
            "{}",
            v4.text
        );
    }

    #[test]
    fn a_limit_of_one_connection_reads_in_the_singular() {
        let source = MAILTRAQ.replace(
            "listen = \"127.0.0.3:2525\"",
            "listen = \"127.0.0.3:2525\"\nmax_connections = 1\nmax_connections_per_host = 1",
        );
        let config = crate::config::parse(&source).unwrap();
        let host = HostAddresses {
            networks: vec!["127.0.0.0/8".parse().unwrap()],
        };
        let plan = plan(listeners(&config.services), &host).unwrap();
        let question = Question {
            local: "127.0.0.3:2525".parse().unwrap(),
            remote: "127.0.0.9".parse().unwrap(),
            from: None,
            to: Vec::new(),
            size: None,
        };
        let text = explain(&config, &plan, &question).text;
        assert!(
            text.contains("admitted while fewer than 1 connection is open, and fewer than 1 from"),
            "{text}"
        );
    }
}
