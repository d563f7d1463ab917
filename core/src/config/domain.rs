//! `[[domain]]`: the domains we deliver for, their users, aliases and
//! catch-all, checked against each other with the line of each mistake.

use super::{ConfigError, DomainConfig, DomainName, UserName, line_column, spanned_error};
use crate::address::domain_key;
use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet};
use toml::Spanned;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawDomain {
    name: Spanned<DomainName>,
    #[serde(default)]
    users: Vec<Spanned<UserName>>,
    #[serde(default)]
    aliases: BTreeMap<UserName, Spanned<UserName>>,
    catch_all: Option<Spanned<UserName>>,
}

/// Every `[[domain]]`: at least one (RFC 5321 4.5.1: mail to
/// postmaster must be taken, so a server needs a domain to deliver it
/// in), each declared once.
pub(super) fn validate_domains(
    source: &str,
    raw: Vec<RawDomain>,
    errors: &mut Vec<ConfigError>,
) -> Vec<DomainConfig> {
    if raw.is_empty() {
        errors.push(ConfigError {
            position: None,
            key: Some("domain".into()),
            message: "no [[domain]] is defined, so no mail could be delivered here, not even to postmaster (RFC 5321 4.5.1)".into(),
            help: Some("add the domain you take mail for:\n    [[domain]]\n    name = \"example.com\"\n    users = [\"alice\"]".into()),
        });
    }
    let mut first_line: BTreeMap<String, usize> = BTreeMap::new();
    let mut domains = Vec::new();
    for domain in raw {
        let span = domain.name.span();
        let name = domain.name.get_ref().0.clone();
        // `bücher.test` and `xn--bcher-kva.test` are one domain.
        let key = domain_key(&name).unwrap_or_else(|_| name.clone());
        if let Some(&line) = first_line.get(&key) {
            errors.push(spanned_error(
                source,
                span,
                "domain.name",
                format!(
                    "domain \"{name}\" is declared twice: here and on line {line} (perhaps once as a U-label, once as its xn-- A-label)"
                ),
                "merge the two [[domain]] tables into one",
            ));
        } else {
            first_line.insert(key, line_column(source, span.start).0);
        }
        domains.extend(validate_domain(source, domain, errors));
    }
    domains
}

fn validate_domain(
    source: &str,
    raw: RawDomain,
    errors: &mut Vec<ConfigError>,
) -> Option<DomainConfig> {
    let name = raw.name.get_ref().0.clone();
    let users: Vec<String> = raw.users.iter().map(|u| u.get_ref().0.clone()).collect();
    let is_user =
        |user: &str| users.iter().any(|u| u == user) || user == crate::directory::POSTMASTER;
    let before = errors.len();
    let mut seen = BTreeSet::new();
    for user in &raw.users {
        if !seen.insert(&user.get_ref().0) {
            errors.push(spanned_error(
                source,
                user.span(),
                "users",
                format!(
                    "user \"{}\" is listed twice in domain {name} (user names are compared without case)",
                    user.get_ref().0
                ),
                "list each user once",
            ));
        }
    }
    for (alias, target) in &raw.aliases {
        if is_user(&alias.0) {
            errors.push(spanned_error(
                source,
                target.span(),
                &format!("aliases.{}", alias.0),
                format!(
                    "\"{}\" is both a user and an alias in domain {name}",
                    alias.0
                ),
                "remove it from users or from aliases",
            ));
        } else if !is_user(&target.get_ref().0) {
            errors.push(spanned_error(
                source,
                target.span(),
                &format!("aliases.{}", alias.0),
                format!(
                    "alias target \"{}\" is not a user of domain {name}",
                    target.get_ref().0
                ),
                "add it to this domain's users, or point the alias at an existing user",
            ));
        }
    }
    if let Some(catch_all) = &raw.catch_all
        && !is_user(&catch_all.get_ref().0)
    {
        errors.push(spanned_error(
            source,
            catch_all.span(),
            "catch_all",
            format!(
                "catch_all \"{}\" is not a user of domain {name}",
                catch_all.get_ref().0
            ),
            "add it to this domain's users",
        ));
    }
    (errors.len() == before).then(|| DomainConfig {
        name,
        users,
        aliases: raw
            .aliases
            .into_iter()
            .map(|(a, t)| (a.0, t.into_inner().0))
            .collect(),
        catch_all: raw.catch_all.map(|c| c.into_inner().0),
    })
}
