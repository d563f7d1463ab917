//! `[[service]]`: the instance types, their raw shape, and the checks of
//! each instance's listen and limits keys (its TLS and AUTH keys in
//! `service/tls_auth.rs`).

use super::{
    ByteSize, CONNECTIONS_MAX, ConfigError, NetworkValue, PortNames, PortSpec, PortText,
    RelayValue, Seconds, TlsConfig, TlsMode, check_range, check_session_time, line_column,
    spanned_error,
};
use crate::admission::{CONNECTIONS_DEFAULT, CONNECTIONS_PER_HOST_DEFAULT};
use crate::auth::AuthPolicy;
use crate::limits::{
    COMMAND_TIMEOUT_DEFAULT, DATA_TIMEOUT_DEFAULT, ERRORS_PER_SESSION_DEFAULT,
    ERRORS_PER_SESSION_MAX, HOPS_DEFAULT, IMAP_SESSION_TIME_DEFAULT, IPV6_HOST_PREFIX_DEFAULT,
    IPV6_HOST_PREFIX_MIN, MESSAGE_BYTES_DEFAULT, MESSAGE_BYTES_MAX, MIN_DATA_RATE_DEFAULT,
    MIN_DATA_RATE_MAX, RECIPIENTS_PER_MESSAGE_DEFAULT, RECIPIENTS_PER_MESSAGE_MAX,
    SESSION_TIME_DEFAULT,
};
use crate::mail_auth::{MailAuthMode, SpfFailAction};
use crate::policy::{AccessList, RelayPolicy};
use crate::smtp::server::SessionConfig;
use serde::Deserialize;
use std::collections::BTreeSet;
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;
use toml::Spanned;

mod arc;
mod finger;
mod ftp;
mod http;
mod imap;
mod keys;
mod login;
pub(super) use finger::warnings as finger_warnings;
pub use ftp::FtpConfig;
pub use http::HttpConfig;
pub use imap::ImapConfig;
mod nntp;
pub use nntp::NntpConfig;
mod pop3;
mod remote_log;
pub(super) use remote_log::warnings as remote_log_warnings;
mod spam;
mod tls_auth;
mod tunnel;
use tls_auth::{RawTlsMode, relay_value, validate_service_auth, validate_tls};

/// One `[[service]]`: an instance of a service, where it listens, and
/// the policy of its sessions.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServiceConfig {
    pub name: String,
    pub kind: ServiceKind,
    pub listen: PortSpec,
    /// ISMail's secondary (alternate) listen spec.
    pub secondary_listen: Option<PortSpec>,
    /// Lines of `listen` and `secondary_listen` in the file, so that bind
    /// conflicts can name them.
    pub lines: ListenLines,
    /// Who may connect.
    pub access: AccessList,
    /// Who may send mail to other domains through this instance.
    pub relay: RelayPolicy,
    /// Connections at once, in total and from one remote host.
    pub max_connections: u32,
    pub max_connections_per_host: u32,
    /// IPv6 clients in one network of this prefix length count as one
    /// host for `max_connections_per_host`; IPv4 clients count per
    /// address.
    pub ipv6_prefix: u8,
    pub max_message_size: u64,
    pub max_recipients: usize,
    pub max_errors: u32,
    pub command_timeout: Duration,
    pub data_timeout: Duration,
    /// Octets per second a DATA transfer must keep up; 0 for no minimum.
    pub min_data_rate: u32,
    pub max_session_time: Duration,
    /// An SMTP instance: whether mail from outside is checked (SPF,
    /// DKIM) and the results recorded.
    pub mail_auth: MailAuthMode,
    /// An SMTP instance: whether an SPF `fail` is refused at MAIL.
    pub spf_fail: SpfFailAction,
    /// An SMTP instance: the ARC sealers (lower-case domains) whose
    /// passing chain overrides a DMARC failure (RFC 8617 7.2).
    pub arc_trusted_sealers: Vec<String>,
    /// `None` when the instance speaks only clear text.
    pub tls: Option<TlsConfig>,
    pub auth: AuthPolicy,
    /// `[server] max_hops`, the same for every instance.
    pub max_hops: usize,
    /// A tunnel's target and timeouts; `None` for every other kind.
    pub tunnel: Option<crate::tunnel::TunnelConfig>,
    /// A finger instance: an empty query lists the users.
    pub list_users: bool,
    /// A finger instance: addresses (lower-case) it never shows.
    pub hidden: Vec<String>,
    /// A remote-log instance: recent lines sent after a login.
    pub tail_lines: usize,
    /// A remote-log instance: lines waiting for one client before new
    /// ones are dropped (and counted) for it.
    pub buffer_lines: usize,
    /// An FTP instance's passive ports, quota and data timeout; `None`
    /// for every other kind.
    pub ftp: Option<FtpConfig>,
    /// An IMAP instance's quota; `None` for every other kind.
    pub imap: Option<ImapConfig>,
    /// What an HTTP instance serves; `None` for every other kind.
    pub http: Option<HttpConfig>,
    /// Who may read and post on an NNTP instance; `None` for every other
    /// kind.
    pub nntp: Option<NntpConfig>,
    /// An SMTP or submission instance's blocklists and greylisting; none
    /// for every other kind.
    pub spam: crate::spam::SpamPolicy,
}

impl ServiceConfig {
    pub fn tls_mode(&self) -> TlsMode {
        self.tls.as_ref().map_or(TlsMode::None, |tls| tls.mode)
    }

    /// The settings each SMTP session of this service runs under.
    pub fn session_config(&self, hostname: &str) -> SessionConfig {
        SessionConfig {
            hostname: hostname.to_owned(),
            relay: self.relay.clone(),
            max_message_size: self.max_message_size,
            max_recipients: self.max_recipients,
            max_errors: self.max_errors,
            command_timeout: self.command_timeout,
            data_timeout: self.data_timeout,
            min_data_rate: self.min_data_rate,
            max_session_time: self.max_session_time,
            mail_auth: self.mail_auth,
            spf_fail: self.spf_fail,
            arc_trusted_sealers: self.arc_trusted_sealers.clone(),
            starttls: self.tls_mode() == TlsMode::StartTls,
            auth: self.auth.clone(),
            max_hops: self.max_hops,
            spam: self.spam.clone(),
        }
    }

    /// The settings each POP3 session of this service runs under: the
    /// autologout timer (RFC 1939 3) is `command_timeout`, STLS is offered
    /// on a `tls = "starttls"` instance, and logins are always offered
    /// (over TLS, or in clear where `auth_without_tls` allows).
    pub fn pop3_session_config(&self, hostname: &str) -> crate::pop3::SessionConfig {
        crate::pop3::SessionConfig {
            hostname: hostname.to_owned(),
            stls: self.tls_mode() == TlsMode::StartTls,
            auth: AuthPolicy {
                offered: true,
                ..self.auth.clone()
            },
            max_errors: self.max_errors,
            autologout: self.command_timeout,
            max_session_time: self.max_session_time,
        }
    }

    /// The settings each IMAP session of this service runs under: the
    /// autologout timer (RFC 9051 5.4) is `command_timeout`, STARTTLS is
    /// offered on a `tls = "starttls"` instance, logins are always offered
    /// (over TLS, or in clear where `auth_without_tls` allows), APPENDLIMIT
    /// is `max_message_size` and the quota `mailbox_quota`.
    pub fn imap_session_config(&self, hostname: &str) -> crate::imap::session::SessionConfig {
        let imap = self.imap.unwrap_or_default();
        crate::imap::session::SessionConfig {
            hostname: hostname.to_owned(),
            starttls: self.tls_mode() == TlsMode::StartTls,
            auth: AuthPolicy {
                offered: true,
                ..self.auth.clone()
            },
            max_errors: self.max_errors,
            autologout: self.command_timeout,
            idle_max: crate::limits::IMAP_IDLE_MAX,
            max_session_time: self.max_session_time,
            append_limit: self.max_message_size,
            quota: crate::imap::session::Quota {
                storage_bytes: imap.quota_bytes,
                messages: imap.quota_messages,
            },
        }
    }

    /// The settings each remote-log session of this service runs under:
    /// the idle timeout is `command_timeout`, STARTTLS is offered on a
    /// `tls = "starttls"` instance, logins are always offered (over TLS,
    /// or in clear where `auth_without_tls` allows).
    pub fn remote_log_session_config(&self, hostname: &str) -> crate::remote_log::SessionConfig {
        crate::remote_log::SessionConfig {
            hostname: hostname.to_owned(),
            starttls: self.tls_mode() == TlsMode::StartTls,
            auth: AuthPolicy {
                offered: true,
                ..self.auth.clone()
            },
            tail_lines: self.tail_lines,
            max_errors: self.max_errors,
            idle_timeout: self.command_timeout,
            send_timeout: crate::limits::REMOTE_LOG_SEND_TIMEOUT,
        }
    }

    /// The settings each FTP session of this service runs under: AUTH TLS
    /// on a `tls = "starttls"` instance, the idle timer is
    /// `command_timeout`, and logins are always taken (over TLS, or in
    /// clear where `auth_without_tls` allows).
    pub fn ftp_session_config(&self, hostname: &str) -> crate::ftp::SessionConfig {
        crate::ftp::SessionConfig {
            hostname: hostname.to_owned(),
            auth_tls: self.tls_mode() == TlsMode::StartTls,
            auth: AuthPolicy {
                offered: true,
                ..self.auth.clone()
            },
            max_errors: self.max_errors,
            idle_timeout: self.command_timeout,
            max_session_time: self.max_session_time,
            quota: self
                .ftp
                .as_ref()
                .map_or(crate::limits::FTP_QUOTA_BYTES_DEFAULT, |ftp| ftp.quota),
        }
    }

    /// The settings each NNTP session of this service runs under: the idle
    /// timer is `command_timeout`, STARTTLS is offered on a
    /// `tls = "starttls"` instance, and POST takes articles up to
    /// `max_message_size`, never more than
    /// [`NNTP_POST_BYTES_MAX`](crate::limits::NNTP_POST_BYTES_MAX).
    /// Patterns the configuration checked; one that fails anyway grants
    /// nothing.
    pub fn nntp_session_config(&self, hostname: &str) -> crate::nntp::SessionConfig {
        let pattern = |text: &str| match text {
            "" => crate::nntp::Wildmat::nothing(),
            text => crate::nntp::Wildmat::parse(text)
                .unwrap_or_else(|_| crate::nntp::Wildmat::nothing()),
        };
        let (read, post, required) = match &self.nntp {
            Some(nntp) => (
                pattern(&nntp.anonymous_read),
                pattern(&nntp.anonymous_post),
                nntp.login_required(),
            ),
            None => (
                crate::nntp::Wildmat::nothing(),
                crate::nntp::Wildmat::nothing(),
                true,
            ),
        };
        crate::nntp::SessionConfig {
            hostname: hostname.to_owned(),
            starttls: self.tls_mode() == TlsMode::StartTls,
            auth: self.auth.clone(),
            auth_required: required,
            anonymous: crate::nntp::Access { read, post },
            posting: true,
            max_errors: self.max_errors,
            idle_timeout: self.command_timeout,
            max_session_time: self.max_session_time,
            max_article_size: self
                .max_message_size
                .min(crate::limits::NNTP_POST_BYTES_MAX),
        }
    }

    /// The settings each finger session of this service runs under: the
    /// query timeout is `command_timeout`.
    pub fn finger_session_config(&self) -> crate::finger::SessionConfig {
        crate::finger::SessionConfig {
            list_users: self.list_users,
            hidden: self.hidden.clone(),
            query_timeout: self.command_timeout,
        }
    }
}

/// Where an instance's listen specs are written (1-based lines; 0 when
/// the configuration was not read from text).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ListenLines {
    pub listen: usize,
    pub secondary_listen: usize,
}

/// What a service speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ServiceKind {
    /// SMTP: mail from other servers and clients (RFC 5321).
    Smtp,
    /// Message submission (RFC 6409): SMTP for a site's own users, who
    /// must authenticate before MAIL; relays for them by default.
    Submission,
    /// POP3 (RFC 1939): reading mail from the INBOX.
    Pop3,
    /// IMAP (RFC 9051, and RFC 3501 for older clients): reading and
    /// filing mail in every folder.
    Imap,
    /// The TCP/IP proxy tunnel: each client is connected through to one
    /// fixed target.
    Tunnel,
    /// Finger (RFC 1288): who a user is and whether mail waits.
    Finger,
    /// The remote logging service: admins watch the server's log.
    #[serde(rename = "remote-log")]
    RemoteLog,
    /// FTP (RFC 959): each account's own directory.
    Ftp,
    /// HTTP (RFC 9110), or HTTPS: webmail, the status page, metrics and
    /// the admin area, as its `serve` key chooses.
    Http,
    /// NNTP (RFC 3977): newsgroups, list archives among them.
    Nntp,
}

impl fmt::Display for ServiceKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ServiceKind::Smtp => "smtp",
            ServiceKind::Submission => "submission",
            ServiceKind::Pop3 => "pop3",
            ServiceKind::Imap => "imap",
            ServiceKind::Tunnel => "tunnel",
            ServiceKind::Finger => "finger",
            ServiceKind::RemoteLog => "remote-log",
            ServiceKind::Ftp => "ftp",
            ServiceKind::Http => "http",
            ServiceKind::Nntp => "nntp",
        })
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawService {
    name: Spanned<String>,
    kind: Spanned<ServiceKind>,
    listen: Spanned<PortText>,
    secondary_listen: Option<Spanned<PortText>>,
    #[serde(default)]
    allow: Vec<NetworkValue>,
    #[serde(default)]
    deny: Vec<NetworkValue>,
    relay: Option<Spanned<RelayValue>>,
    max_connections: Option<Spanned<u32>>,
    max_connections_per_host: Option<Spanned<u32>>,
    ipv6_prefix: Option<Spanned<u8>>,
    max_message_size: Option<Spanned<ByteSize>>,
    max_recipients: Option<Spanned<usize>>,
    max_errors: Option<Spanned<u32>>,
    command_timeout: Option<Spanned<Seconds>>,
    data_timeout: Option<Spanned<Seconds>>,
    min_data_rate: Option<Spanned<u32>>,
    max_session_time: Option<Spanned<Seconds>>,
    pub(super) mail_auth: Option<Spanned<RawMailAuth>>,
    pub(super) spf_fail: Option<Spanned<RawSpfFail>>,
    pub(super) arc_trusted_sealers: Option<Spanned<Vec<Spanned<String>>>>,
    tls: Option<Spanned<RawTlsMode>>,
    tls_certificate: Option<Spanned<PathBuf>>,
    tls_key: Option<Spanned<PathBuf>>,
    tls_handshake_timeout: Option<Spanned<Seconds>>,
    /// A tunnel's `host:port`.
    target: Option<Spanned<String>>,
    connect_timeout: Option<Spanned<Seconds>>,
    idle_timeout: Option<Spanned<Seconds>>,
    auth: Option<Spanned<bool>>,
    auth_without_tls: Option<Spanned<bool>>,
    list_users: Option<Spanned<bool>>,
    hidden: Option<Spanned<Vec<Spanned<String>>>>,
    tail_lines: Option<Spanned<usize>>,
    buffer_lines: Option<Spanned<usize>>,
    /// An FTP instance's passive port range, `"50000-50100"`.
    passive_ports: Option<Spanned<String>>,
    ftp_quota: Option<Spanned<ByteSize>>,
    mailbox_quota: Option<Spanned<ByteSize>>,
    mailbox_quota_messages: Option<Spanned<u64>>,
    /// An HTTP instance's areas, `["webmail", "status"]`.
    serve: Option<Spanned<Vec<Spanned<String>>>>,
    /// An NNTP instance's group patterns (wildmats).
    read: Option<Spanned<String>>,
    post: Option<Spanned<String>>,
    anonymous_read: Option<Spanned<String>>,
    anonymous_post: Option<Spanned<String>>,
    /// `[[service.dnsbl]]`: the blocklists an SMTP instance consults.
    dnsbl: Option<Vec<Spanned<spam::RawZone>>>,
    dnsbl_threshold: Option<Spanned<u32>>,
    greylist: Option<Spanned<bool>>,
    greylist_delay: Option<Spanned<Seconds>>,
    greylist_retry_window: Option<Spanned<Seconds>>,
    greylist_expiry: Option<Spanned<Seconds>>,
    /// Address patterns refused at MAIL and at RCPT.
    bar_senders: Option<Spanned<Vec<Spanned<String>>>>,
    bar_recipients: Option<Spanned<Vec<Spanned<String>>>>,
}

#[derive(Clone, Copy, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(super) enum RawMailAuth {
    Off,
    Record,
    Enforce,
}

#[derive(Clone, Copy, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(super) enum RawSpfFail {
    Record,
    Refuse,
}

pub(super) fn validate_services(
    source: &str,
    raw: Vec<Spanned<RawService>>,
    names: &PortNames,
    auth_defaults: &AuthPolicy,
    errors: &mut Vec<ConfigError>,
    warnings: &mut Vec<ConfigError>,
) -> Vec<ServiceConfig> {
    if raw.is_empty() {
        errors.push(ConfigError {
            position: None,
            key: Some("service".into()),
            message: "no [[service]] is defined, so the server would listen nowhere".into(),
            help: Some("add one:\n    [[service]]\n    name = \"mx\"\n    kind = \"smtp\"\n    listen = \"127.0.0.1:2525\"".into()),
        });
    }
    let mut seen: BTreeSet<String> = BTreeSet::new();
    let mut services = Vec::new();
    for spanned in raw {
        let span = spanned.span();
        let service = spanned.into_inner();
        let is_tunnel = *service.kind.get_ref() == ServiceKind::Tunnel;
        // A tunnel refuses every tls key itself (see `tunnel`).
        // Finger has no TLS either: its tls keys are reported as not
        // applying.
        let tls = match service.kind.get_ref() {
            ServiceKind::Tunnel => {
                tunnel::check_inapplicable_keys(source, &service, errors);
                None
            }
            ServiceKind::Finger => None,
            _ => validate_tls(source, &service, span.clone(), errors),
        };
        let tunnel = if is_tunnel {
            tunnel::tunnel_config(source, &service, span.clone(), errors)
        } else {
            for (key, written) in [
                ("target", service.target.as_ref().map(|t| t.span())),
                (
                    "connect_timeout",
                    service.connect_timeout.as_ref().map(|t| t.span()),
                ),
                (
                    "idle_timeout",
                    service.idle_timeout.as_ref().map(|t| t.span()),
                ),
            ] {
                if let Some(at) = written {
                    errors.push(spanned_error(
                        source,
                        at,
                        key,
                        format!(
                            "applies only to a tunnel, and this instance is kind = \"{}\"",
                            service.kind.get_ref()
                        ),
                        &format!("remove `{key}`, or make this instance kind = \"tunnel\""),
                    ));
                }
            }
            None
        };
        let relay = relay_value(&service).unwrap_or(match service.kind.get_ref() {
            ServiceKind::Smtp
            | ServiceKind::Pop3
            | ServiceKind::Imap
            | ServiceKind::Tunnel
            | ServiceKind::Finger
            | ServiceKind::RemoteLog
            | ServiceKind::Ftp
            | ServiceKind::Nntp => RelayPolicy::None,
            ServiceKind::Submission | ServiceKind::Http => RelayPolicy::Authenticated,
        });
        let command_timeout = match service.kind.get_ref() {
            ServiceKind::Pop3 => {
                pop3::check_inapplicable_keys(source, &service, errors);
                pop3::autologout(source, &service, errors)
            }
            ServiceKind::Imap => {
                imap::check_inapplicable_keys(source, &service, errors);
                imap::autologout(source, &service, errors)
            }
            ServiceKind::Finger => {
                finger::check_inapplicable_keys(source, &service, errors);
                finger::query_timeout(source, &service, errors)
            }
            ServiceKind::RemoteLog => {
                remote_log::check_inapplicable_keys(source, &service, errors);
                remote_log::idle_timeout(&service)
            }
            ServiceKind::Ftp => {
                ftp::check_inapplicable_keys(source, &service, errors);
                ftp::idle_timeout(&service)
            }
            ServiceKind::Http => {
                http::check_inapplicable_keys(source, &service, errors);
                http::idle_timeout(&service)
            }
            ServiceKind::Nntp => {
                nntp::check_inapplicable_keys(source, &service, errors);
                nntp::idle_timeout(source, &service, errors)
            }
            ServiceKind::Smtp | ServiceKind::Submission | ServiceKind::Tunnel => service
                .command_timeout
                .as_ref()
                .map_or(COMMAND_TIMEOUT_DEFAULT, |d| d.get_ref().0),
        };
        let (list_users, hidden) = finger::finger_keys(source, &service, errors);
        let arc_trusted_sealers = arc::trusted_sealers(source, &service, errors);
        let (tail_lines, buffer_lines) = remote_log::remote_log_keys(source, &service, errors);
        let ftp = ftp::ftp_keys(source, &service, errors);
        let imap = imap::imap_keys(source, &service, errors);
        let http = http::http_keys(source, &service, errors);
        let nntp = nntp::nntp_keys(source, &service, errors);
        let spam = spam::spam_policy(source, &service, errors);
        let auth = if *service.kind.get_ref() == ServiceKind::Nntp {
            nntp::login_policy(
                source,
                &service,
                tls.as_ref(),
                nntp.as_ref(),
                auth_defaults,
                errors,
            )
        } else if *service.kind.get_ref() == ServiceKind::Http {
            http::login_policy(
                source,
                &service,
                tls.as_ref(),
                http.as_ref(),
                auth_defaults,
                errors,
            )
        } else {
            validate_service_auth(source, &service, span, tls.as_ref(), auth_defaults, errors)
        };
        let name = service.name.get_ref().clone();
        if !seen.insert(name.clone()) {
            errors.push(spanned_error(
                source,
                service.name.span(),
                "name",
                format!("service name \"{name}\" is used twice"),
                "give every [[service]] its own name",
            ));
        }
        let mut port_spec = |text: &Spanned<PortText>, key: &str| {
            let line = line_column(source, text.span().start).0;
            match text.get_ref().resolve(names) {
                Ok(spec) => (spec, line),
                Err(message) => {
                    errors.push(spanned_error(
                        source,
                        text.span(),
                        key,
                        message,
                        "for example: listen = \"smtp\" (port 25 on every interface) or listen = \"127.0.0.1:2525\"",
                    ));
                    (
                        PortSpec {
                            address: None,
                            port: 1,
                        },
                        line,
                    )
                }
            }
        };
        let (listen, listen_line) = port_spec(&service.listen, "listen");
        if is_tunnel {
            tunnel::well_known_port_warning(source, &service, listen.port, warnings);
        }
        let secondary = service
            .secondary_listen
            .as_ref()
            .map(|text| port_spec(text, "secondary_listen"));
        let max_connections =
            service
                .max_connections
                .as_ref()
                .map_or(CONNECTIONS_DEFAULT, |count| {
                    check_range(
                        source,
                        count,
                        "max_connections",
                        |c| *c,
                        1,
                        CONNECTIONS_MAX,
                        errors,
                    )
                });
        let max_connections_per_host = service.max_connections_per_host.as_ref().map_or(
            if *service.kind.get_ref() == ServiceKind::Imap {
                crate::limits::IMAP_CONNECTIONS_PER_HOST_DEFAULT
            } else {
                CONNECTIONS_PER_HOST_DEFAULT
            }
            .min(max_connections),
            |count| {
                check_range(
                    source,
                    count,
                    "max_connections_per_host",
                    |c| *c,
                    1,
                    max_connections,
                    errors,
                )
            },
        );
        let ipv6_prefix = service
            .ipv6_prefix
            .as_ref()
            .map_or(IPV6_HOST_PREFIX_DEFAULT, |n| {
                ipv6_prefix(source, n, "ipv6_prefix", errors)
            });
        let max_message_size = service
            .max_message_size
            .map_or(MESSAGE_BYTES_DEFAULT, |size| {
                check_range(
                    source,
                    &size,
                    "max_message_size",
                    |s| s.0,
                    1,
                    MESSAGE_BYTES_MAX,
                    errors,
                )
            });
        let max_recipients =
            service
                .max_recipients
                .map_or(RECIPIENTS_PER_MESSAGE_DEFAULT, |count| {
                    check_range(
                        source,
                        &count,
                        "max_recipients",
                        |c| *c,
                        1,
                        RECIPIENTS_PER_MESSAGE_MAX,
                        errors,
                    )
                });
        let max_errors = service.max_errors.map_or(
            if *service.kind.get_ref() == ServiceKind::Imap {
                crate::limits::IMAP_BAD_COMMANDS_MAX
            } else {
                ERRORS_PER_SESSION_DEFAULT
            },
            |count| {
                check_range(
                    source,
                    &count,
                    "max_errors",
                    |c| *c,
                    1,
                    ERRORS_PER_SESSION_MAX,
                    errors,
                )
            },
        );
        services.push(ServiceConfig {
            name,
            kind: *service.kind.get_ref(),
            listen,
            secondary_listen: secondary.map(|(spec, _)| spec),
            lines: ListenLines {
                listen: listen_line,
                secondary_listen: secondary.map_or(0, |(_, line)| line),
            },
            access: if is_tunnel && service.allow.is_empty() {
                crate::tunnel::default_access(service.deny.iter().map(|n| n.0).collect())
            } else {
                AccessList {
                    allow: service.allow.iter().map(|n| n.0).collect(),
                    deny: service.deny.iter().map(|n| n.0).collect(),
                }
            },
            relay,
            max_connections,
            max_connections_per_host,
            ipv6_prefix,
            max_message_size,
            max_recipients,
            max_errors,
            command_timeout,
            data_timeout: service
                .data_timeout
                .as_ref()
                .map_or(DATA_TIMEOUT_DEFAULT, |d| d.get_ref().0),
            min_data_rate: service.min_data_rate.map_or(MIN_DATA_RATE_DEFAULT, |rate| {
                check_range(
                    source,
                    &rate,
                    "min_data_rate",
                    |r| *r,
                    0,
                    MIN_DATA_RATE_MAX,
                    errors,
                )
            }),
            max_session_time: service.max_session_time.as_ref().map_or(
                if *service.kind.get_ref() == ServiceKind::Imap {
                    IMAP_SESSION_TIME_DEFAULT
                } else {
                    SESSION_TIME_DEFAULT
                },
                |time| check_session_time(source, time, errors),
            ),
            mail_auth: match service.mail_auth.map(|m| m.into_inner()) {
                None | Some(RawMailAuth::Off) => MailAuthMode::Off,
                Some(RawMailAuth::Record) => MailAuthMode::Record,
                Some(RawMailAuth::Enforce) => MailAuthMode::Enforce,
            },
            spf_fail: match service.spf_fail.map(|m| m.into_inner()) {
                None | Some(RawSpfFail::Record) => SpfFailAction::Record,
                Some(RawSpfFail::Refuse) => SpfFailAction::Refuse,
            },
            arc_trusted_sealers,
            tls,
            auth,
            max_hops: HOPS_DEFAULT,
            tunnel,
            list_users,
            hidden,
            tail_lines,
            buffer_lines,
            ftp,
            imap,
            http,
            nntp,
            spam,
        });
    }
    services
}

/// A prefix length that makes one IPv6 host: from
/// [`IPV6_HOST_PREFIX_MIN`] to 128.
pub(super) fn ipv6_prefix(
    source: &str,
    value: &Spanned<u8>,
    key: &str,
    errors: &mut Vec<ConfigError>,
) -> u8 {
    let prefix = *value.get_ref();
    if !(IPV6_HOST_PREFIX_MIN..=128).contains(&prefix) {
        errors.push(spanned_error(
            source,
            value.span(),
            key,
            format!("/{prefix} is not a prefix length this server counts as one host"),
            &format!(
                "use {IPV6_HOST_PREFIX_MIN} to 128: 64 (the default) counts each /64 as one host, as most providers give one to each customer; 128 counts every address"
            ),
        ));
    }
    prefix
}
