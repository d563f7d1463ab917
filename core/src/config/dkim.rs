//! `[[dkim]]`: the keys that sign mail sent for our domains (RFC 6376),
//! one table per domain and selector.
//!
//! ```toml
//! [[dkim]]
//! domain = "example.com"
//! selector = "s2026"
//! key = "dkim/example.com.s2026.key"   # PEM, PKCS#8 or PKCS#1; from `postern dkim keygen`
//! headers = ["From", "From", "Subject", "Date"]   # optional; see DEFAULT_SIGNED_HEADERS
//! ```

use super::{ConfigError, DomainConfig, DomainName, ServerConfig, spanned_error};
use crate::address::domain_key;
use crate::mail_auth::dkim::{DEFAULT_SIGNED_HEADERS, selector_problem};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::PathBuf;
use toml::Spanned;

/// One signing key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DkimKeyConfig {
    /// The `d=` domain, lower-case.
    pub domain: String,
    /// The `s=` selector: the key is published at
    /// `SELECTOR._domainkey.DOMAIN`.
    pub selector: String,
    /// The private key's PEM file. A relative path is relative to the
    /// configuration file's directory (the runtime resolves it).
    pub key: PathBuf,
    /// The header fields to sign, in `h=` order; a name listed once more
    /// than the message has it signs its absence ("oversigning", RFC 6376
    /// 8.15), so that nobody can add one.
    pub headers: Vec<String>,
    /// The line of `key` in the file (1-based; 0 when not read from text),
    /// so that a key that does not load names it.
    pub line: usize,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawDkim {
    domain: Spanned<DomainName>,
    selector: Spanned<String>,
    key: Spanned<PathBuf>,
    headers: Option<Spanned<Vec<String>>>,
}

/// Every `[[dkim]]`, each domain and selector once. A domain that is
/// neither a `[[domain]]` nor the server's host name is allowed (mail may
/// be sent for it) but probably a typo: a warning.
pub(super) fn validate_dkim(
    source: &str,
    raw: Vec<RawDkim>,
    domains: &[DomainConfig],
    server: &ServerConfig,
    errors: &mut Vec<ConfigError>,
    warnings: &mut Vec<ConfigError>,
) -> Vec<DkimKeyConfig> {
    let ours = |name: &str| {
        let key = domain_key(name).ok();
        key.is_some()
            && (domains.iter().any(|d| domain_key(&d.name).ok() == key)
                || domain_key(&server.hostname).ok() == key)
    };
    let mut seen: BTreeMap<(String, String), usize> = BTreeMap::new();
    let mut keys = Vec::new();
    for entry in raw {
        let domain_span = entry.domain.span();
        let domain = entry.domain.into_inner().0;
        let domain = domain_key(&domain).unwrap_or(domain);
        let selector_span = entry.selector.span();
        let selector = entry.selector.into_inner().to_ascii_lowercase();
        if let Some(problem) = selector_problem(&selector) {
            errors.push(spanned_error(
                source,
                selector_span.clone(),
                "dkim.selector",
                problem,
                "a selector is one or more DNS labels (letters, digits, hyphens) separated by dots, such as \"s2026\"",
            ));
            continue;
        }
        let line = super::line_column(source, entry.key.span().start).0;
        let selector_line = super::line_column(source, selector_span.start).0;
        if let Some(first) = seen.insert((domain.clone(), selector.clone()), selector_line) {
            errors.push(spanned_error(
                source,
                selector_span,
                "dkim.selector",
                format!(
                    "selector \"{selector}\" of {domain} is declared twice: here and on line {first}"
                ),
                "give each key of a domain its own selector",
            ));
            continue;
        }
        if !ours(&domain) {
            warnings.push(spanned_error(
                source,
                domain_span,
                "dkim.domain",
                format!(
                    "DKIM key for {domain}, which is neither a [[domain]] nor the server's host name"
                ),
                "mail is signed with it only when its From: or sender is in that domain; check the spelling",
            ));
        }
        let headers = match entry.headers {
            None => DEFAULT_SIGNED_HEADERS
                .iter()
                .map(|h| h.to_string())
                .collect(),
            Some(headers) => {
                let span = headers.span();
                let headers = headers.into_inner();
                if let Some(problem) = headers_problem(&headers) {
                    errors.push(spanned_error(
                        source,
                        span,
                        "dkim.headers",
                        problem,
                        "list header field names such as [\"From\", \"Subject\", \"Date\"]; From must be one of them (RFC 6376 5.4)",
                    ));
                    continue;
                }
                headers
            }
        };
        keys.push(DkimKeyConfig {
            domain,
            selector,
            key: entry.key.into_inner(),
            headers,
            line,
        });
    }
    keys
}

/// Why a `headers` list cannot be signed, if it cannot.
fn headers_problem(headers: &[String]) -> Option<String> {
    // RFC 5322 3.6.8: a field name is printable ASCII other than colon.
    if let Some(bad) = headers
        .iter()
        .find(|h| h.is_empty() || !h.bytes().all(|b| b.is_ascii_graphic() && b != b':'))
    {
        return Some(format!("\"{bad}\" is not a header field name"));
    }
    if !headers.iter().any(|h| h.eq_ignore_ascii_case("from")) {
        return Some("the headers to sign leave out From, which RFC 6376 5.4 requires".into());
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Config, parse};

    fn load(extra: &str) -> Result<Config, Vec<ConfigError>> {
        let text = format!(
            "[server]\nhostname = \"mail.example.test\"\n\n[[domain]]\nname = \"example.test\"\nusers = [\"alice\"]\n\n[[service]]\nname = \"mx\"\nkind = \"smtp\"\nlisten = \"127.0.0.1:2525\"\n\n{extra}"
        );
        parse(&text)
    }

    #[test]
    fn a_key_gets_the_default_headers_and_its_line() {
        let config = load(
            "[[dkim]]\ndomain = \"Example.TEST\"\nselector = \"S2026\"\nkey = \"dkim/example.key\"\n",
        )
        .unwrap();
        assert_eq!(config.dkim.len(), 1);
        let key = &config.dkim[0];
        assert_eq!(key.domain, "example.test");
        assert_eq!(key.selector, "s2026");
        assert_eq!(key.key, PathBuf::from("dkim/example.key"));
        assert_eq!(key.line, 16);
        assert_eq!(key.headers.len(), DEFAULT_SIGNED_HEADERS.len());
        assert!(config.warnings.is_empty(), "{:?}", config.warnings);
    }

    #[test]
    fn mistakes_name_their_key_and_the_fix() {
        let cases = [
            (
                "selector = \"bad_selector\"",
                "dkim.selector",
                "\"bad_selector\" is not a selector",
            ),
            ("selector = \"\"", "dkim.selector", "the selector is empty"),
            (
                "selector = \"s1\"\nheaders = [\"Subject\"]",
                "dkim.headers",
                "leave out From",
            ),
            (
                "selector = \"s1\"\nheaders = [\"From\", \"X Bad\"]",
                "dkim.headers",
                "\"X Bad\" is not a header field name",
            ),
        ];
        for (table, key, message) in cases {
            let errors = load(&format!(
                "[[dkim]]\ndomain = \"example.test\"\nkey = \"k.pem\"\n{table}\n"
            ))
            .unwrap_err();
            assert_eq!(errors.len(), 1, "{table}: {errors:?}");
            assert_eq!(errors[0].key.as_deref(), Some(key), "{table}");
            assert!(
                errors[0].message.contains(message),
                "{table}: {}",
                errors[0].message
            );
            assert!(errors[0].help.is_some());
        }
    }

    #[test]
    fn a_selector_declared_twice_names_the_first_line() {
        let table = "[[dkim]]\ndomain = \"example.test\"\nselector = \"s1\"\nkey = \"a.pem\"\n";
        let errors = load(&format!("{table}\n{table}")).unwrap_err();
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert!(
            errors[0]
                .message
                .contains("declared twice: here and on line 15"),
            "{}",
            errors[0].message
        );
    }

    #[test]
    fn a_key_for_a_domain_we_do_not_serve_is_a_warning() {
        let config = load(
            "[[dkim]]\ndomain = \"elsewhere.test\"\nselector = \"s1\"\nkey = \"a.pem\"\n\n[[dkim]]\ndomain = \"mail.example.test\"\nselector = \"s1\"\nkey = \"b.pem\"\n",
        )
        .unwrap();
        assert_eq!(config.dkim.len(), 2);
        assert_eq!(config.warnings.len(), 1, "{:?}", config.warnings);
        assert!(config.warnings[0].message.contains("elsewhere.test"));
    }
}
