//! `[[news_upstream]]`: upstream news servers whose groups are pulled on
//! a schedule, and to which local articles are posted.

use super::{ByteSize, ConfigError, Seconds, line_column, spanned_error};
use crate::address::is_domain;
use crate::limits::{
    NNTP_PULL_ARTICLE_BYTES_DEFAULT, NNTP_PULL_ARTICLE_BYTES_MAX, NNTP_PULL_INTERVAL_DEFAULT,
    NNTP_PULL_INTERVAL_MAX, NNTP_PULL_INTERVAL_MIN,
};
use crate::nntp::GroupName;
use crate::nntp::client::{UpstreamTls, Wildmat};
use serde::Deserialize;
use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::Duration;
use toml::Spanned;

/// NNTP's port (RFC 3977 3) and nntps's (RFC 4642 1, TLS from the first
/// byte).
pub const NNTP_PORT: u16 = 119;
pub const NNTPS_PORT: u16 = 563;

/// One `[[news_upstream]]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewsUpstreamConfig {
    /// For logs and the state file (`DATA/news-upstream/NAME`); by default
    /// the server's host.
    pub name: String,
    pub host: String,
    pub port: u16,
    pub tls: UpstreamTls,
    pub username: Option<String>,
    /// Holds the password (its first line). A relative path is relative
    /// to the configuration file's directory (the runtime resolves it).
    pub password_file: Option<PathBuf>,
    /// PEM certificates the upstream's must chain to, instead of the
    /// public roots.
    pub ca_file: Option<PathBuf>,
    pub groups: Wildmat,
    pub interval: Duration,
    pub post_local: bool,
    /// The upstream's path identity, to recognise its articles; by
    /// default its host.
    pub path_identity: String,
    pub max_article_size: usize,
    /// The line of `[[news_upstream]]` in the file (1-based).
    pub line: usize,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawNewsUpstream {
    name: Option<Spanned<String>>,
    server: Spanned<String>,
    tls: Option<RawUpstreamTls>,
    username: Option<String>,
    password_file: Option<PathBuf>,
    ca_file: Option<PathBuf>,
    groups: Spanned<RawGroups>,
    interval: Option<Spanned<Seconds>>,
    post_local: Option<bool>,
    path_identity: Option<String>,
    max_article_size: Option<Spanned<ByteSize>>,
}

#[derive(Clone, Copy, Deserialize)]
#[serde(rename_all = "lowercase")]
enum RawUpstreamTls {
    None,
    StartTls,
    Implicit,
}

/// A wildmat, or a list of names and wildmats.
#[derive(Deserialize)]
#[serde(untagged)]
enum RawGroups {
    One(String),
    Many(Vec<String>),
}

pub(super) fn validate_news_upstreams(
    source: &str,
    raw: Vec<Spanned<RawNewsUpstream>>,
    errors: &mut Vec<ConfigError>,
    warnings: &mut Vec<ConfigError>,
) -> Vec<NewsUpstreamConfig> {
    let mut names = BTreeSet::new();
    let mut upstreams = Vec::new();
    for spanned in raw {
        let line = line_column(source, spanned.span().start).0;
        let raw = spanned.into_inner();
        let mut error = |span, key: &str, message: String, help: &str| {
            errors.push(spanned_error(source, span, key, message, help));
        };
        let Some((host, port)) = host_and_port(raw.server.get_ref()) else {
            error(
                raw.server.span(),
                "server",
                format!("\"{}\" is not a news server", raw.server.get_ref()),
                "write a host name or address, with :PORT if not 119 (news.example.net:563, [2001:db8::1]:119)",
            );
            continue;
        };
        let tls = match raw.tls {
            None | Some(RawUpstreamTls::None) => UpstreamTls::None,
            Some(RawUpstreamTls::StartTls) => UpstreamTls::StartTls,
            Some(RawUpstreamTls::Implicit) => UpstreamTls::Implicit,
        };
        let port = port.unwrap_or(if tls == UpstreamTls::Implicit {
            NNTPS_PORT
        } else {
            NNTP_PORT
        });
        let name = match &raw.name {
            Some(name) if !is_file_name(name.get_ref()) => {
                error(
                    name.span(),
                    "name",
                    format!("\"{}\" cannot name an upstream", name.get_ref()),
                    "use letters, digits, `.`, `-` and `_`, not starting with `.` (it names a state file)",
                );
                continue;
            }
            Some(name) => name.get_ref().clone(),
            None => host.to_ascii_lowercase(),
        };
        if !names.insert(name.clone()) {
            let span = raw.name.as_ref().map_or(raw.server.span(), Spanned::span);
            error(
                span,
                "name",
                format!("two upstreams are named \"{name}\""),
                "give each [[news_upstream]] its own `name`",
            );
        }
        if raw.username.is_some() != raw.password_file.is_some() {
            error(
                raw.server.span(),
                "username",
                "an upstream has a username without a password_file, or a password_file without a username".to_owned(),
                "give both `username` and `password_file`, or neither",
            );
        }
        if raw.username.is_some() && tls == UpstreamTls::None {
            warnings.push(spanned_error(
                source,
                raw.server.span(),
                "tls",
                format!("the password for upstream \"{name}\" goes in clear"),
                "set tls = \"starttls\" or \"implicit\" if the upstream offers it",
            ));
        }
        let groups_span = raw.groups.span();
        let Some(groups) = groups(raw.groups.into_inner(), |message| {
            errors.push(spanned_error(
                source,
                groups_span.clone(),
                "groups",
                message,
                "write group names or wildmats, such as \"comp.lang.rust\" or [\"local.*\", \"!local.test\"]",
            ))
        }) else {
            continue;
        };
        let interval = raw
            .interval
            .as_ref()
            .map_or(NNTP_PULL_INTERVAL_DEFAULT, |d| {
                let interval = d.get_ref().0;
                if !(NNTP_PULL_INTERVAL_MIN..=NNTP_PULL_INTERVAL_MAX).contains(&interval) {
                    errors.push(spanned_error(
                        source,
                        d.span(),
                        "interval",
                        format!("{}s is out of range", interval.as_secs()),
                        "use from \"10s\" to \"7d\"",
                    ));
                }
                interval
            });
        let max_article_size =
            raw.max_article_size
                .as_ref()
                .map_or(NNTP_PULL_ARTICLE_BYTES_DEFAULT, |size| {
                    let bytes = usize::try_from(size.get_ref().0).unwrap_or(usize::MAX);
                    if bytes == 0 || bytes > NNTP_PULL_ARTICLE_BYTES_MAX {
                        errors.push(spanned_error(
                            source,
                            size.span(),
                            "max_article_size",
                            format!("{} octets is out of range", size.get_ref().0),
                            "use at most \"16 MiB\"",
                        ));
                    }
                    bytes
                });
        upstreams.push(NewsUpstreamConfig {
            path_identity: raw
                .path_identity
                .unwrap_or_else(|| host.to_ascii_lowercase()),
            name,
            host,
            port,
            tls,
            username: raw.username,
            password_file: raw.password_file,
            ca_file: raw.ca_file,
            groups,
            interval,
            post_local: raw.post_local.unwrap_or(true),
            max_article_size,
            line,
        });
    }
    upstreams
}

/// `groups`: one wildmat, or a list joined into one; plain names must be
/// valid group names.
fn groups(raw: RawGroups, mut error: impl FnMut(String)) -> Option<Wildmat> {
    let parts = match raw {
        RawGroups::One(text) => vec![text],
        RawGroups::Many(list) => list,
    };
    if parts.is_empty() {
        error("no groups are listed".to_owned());
        return None;
    }
    let wildmat = match Wildmat::parse(&parts.join(",")) {
        Ok(wildmat) => wildmat,
        Err(e) => {
            error(e.to_string());
            return None;
        }
    };
    let bad = wildmat
        .names()
        .filter(|name| !name.contains(['*', '?', '!']))
        .find_map(|name| GroupName::new(name).err().map(|e| (name, e)));
    if let Some((name, e)) = bad {
        error(format!("\"{name}\": {e}"));
        return None;
    }
    Some(wildmat)
}

/// `host`, `host:port`, `[v6]:port`.
fn host_and_port(text: &str) -> Option<(String, Option<u16>)> {
    let (host, port) = if let Some(rest) = text.strip_prefix('[') {
        let (address, port) = rest.split_once("]:")?;
        address.parse::<std::net::Ipv6Addr>().ok()?;
        (address, Some(port))
    } else if text.matches(':').count() > 1 {
        return None;
    } else {
        match text.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (text, None),
        }
    };
    let port = match port {
        None => None,
        Some(port) => Some(port.parse::<u16>().ok().filter(|&p| p > 0)?),
    };
    if host.parse::<std::net::IpAddr>().is_err() && !is_domain(host) {
        return None;
    }
    Some((host.to_owned(), port))
}

fn is_file_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && !name.starts_with('.')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
}

#[cfg(test)]
mod tests {
    use super::super::parse;
    use super::*;

    /// A domain and a service, on lines 1 to 5.
    const BASE: &str = "domain = [{ name = \"example.test\" }]\n[[service]]\nname = \"mx\"\nkind = \"smtp\"\nlisten = \"127.0.0.1:2525\"\n";

    fn errors(source: &str) -> String {
        match parse(source) {
            Ok(config) => panic!("expected errors, got {:?}", config.news_upstreams),
            Err(errors) => errors
                .iter()
                .map(|e| e.render("postern.toml", source))
                .collect::<Vec<_>>()
                .join("\n"),
        }
    }

    #[test]
    fn every_key_is_read() {
        let source = format!(
            "{BASE}[[news_upstream]]
name = \"isp\"
server = \"news.isp.test:5563\"
tls = \"implicit\"
username = \"me\"
password_file = \"secrets/news\"
ca_file = \"ca.pem\"
groups = [\"comp.lang.*\", \"!comp.lang.java\", \"local.general\"]
interval = \"5m\"
post_local = false
path_identity = \"feed.isp.test\"
max_article_size = \"2 MiB\"
"
        );
        let config = parse(&source).unwrap();
        assert_eq!(
            config.news_upstreams,
            vec![NewsUpstreamConfig {
                name: "isp".into(),
                host: "news.isp.test".into(),
                port: 5563,
                tls: UpstreamTls::Implicit,
                username: Some("me".into()),
                password_file: Some("secrets/news".into()),
                ca_file: Some("ca.pem".into()),
                groups: Wildmat::parse("comp.lang.*,!comp.lang.java,local.general").unwrap(),
                interval: Duration::from_secs(300),
                post_local: false,
                path_identity: "feed.isp.test".into(),
                max_article_size: 2 * 1024 * 1024,
                line: 6,
            }]
        );
    }

    #[test]
    fn defaults_follow_the_server_and_tls() {
        let source = format!(
            "{BASE}[[news_upstream]]\nserver = \"News.Up.test\"\ngroups = \"misc.test\"\n\n[[news_upstream]]\nserver = \"127.0.0.1\"\ntls = \"implicit\"\ngroups = \"a.*\"\n"
        );
        let config = parse(&source).unwrap();
        let [plain, tls] = config.news_upstreams.as_slice() else {
            panic!("two upstreams");
        };
        assert_eq!(
            (
                plain.name.as_str(),
                plain.port,
                plain.path_identity.as_str()
            ),
            ("news.up.test", NNTP_PORT, "news.up.test")
        );
        assert_eq!(
            (plain.interval, plain.post_local),
            (NNTP_PULL_INTERVAL_DEFAULT, true)
        );
        assert_eq!((tls.name.as_str(), tls.port), ("127.0.0.1", NNTPS_PORT));
    }

    #[test]
    fn mistakes_name_their_line_and_fix() {
        let source = format!(
            "{BASE}[[news_upstream]]
server = \"news.up.test:0\"
groups = \"misc.test\"

[[news_upstream]]
server = \"news.up.test\"
groups = [\"Bad.Name\"]

[[news_upstream]]
server = \"news.up.test\"
groups = \"a.b\"
interval = \"1s\"
username = \"me\"

[[news_upstream]]
name = \"../etc\"
server = \"news.up.test\"
groups = \"a.[b]\"
"
        );
        insta::assert_snapshot!(errors(&source));
    }

    #[test]
    fn a_password_in_clear_is_a_warning() {
        let source = format!(
            "{BASE}[[news_upstream]]\nserver = \"news.up.test\"\ngroups = \"a.b\"\nusername = \"me\"\npassword_file = \"pw\"\n"
        );
        let config = parse(&source).unwrap();
        let warning = config.warnings[0].render("postern.toml", &source);
        assert!(warning.contains("goes in clear"), "{warning}");
        assert!(warning.starts_with("postern.toml:7:"), "{warning}");
    }

    #[test]
    fn an_unknown_key_is_a_syntax_error_with_a_suggestion() {
        let source = format!(
            "{BASE}[[news_upstream]]\nserver = \"n.test\"\ngroups = \"a.b\"\ngroup = \"x\"\n"
        );
        let text = errors(&source);
        assert!(text.contains("did you mean `groups`?"), "{text}");
    }
}
