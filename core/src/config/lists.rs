//! `[[list]]` (mailing lists declared in the configuration) and `[lists]`
//! (what all lists share), checked against the `[[domain]]`s: a list's
//! domain must be ours, and none of its addresses (`team`,
//! `team-request`, `team-bounces`) may be a user or an alias there.
//!
//! The same table, alone in a file, is how a list made with
//! `postern list create` is kept (`DATA/lists/ADDRESS/list.toml`):
//! [`parse_list_file`] reads it with the same checks and errors.

use super::{ConfigError, DomainConfig, Seconds, spanned_error, syntax_error};
use crate::address::domain_key;
use crate::limits::{LIST_BOUNCE_THRESHOLD_MAX, LIST_SUBJECT_TAG_CHARS_MAX};
use crate::lists::{ListDefinition, ListKind, MembersVisible, Role};
use crate::nntp::GroupName;
use serde::Deserialize;
use std::collections::BTreeMap;
use toml::Spanned;

/// `[lists]` and every `[[list]]`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ListsConfig {
    /// The lists declared in the configuration, in order.
    pub lists: Vec<ListDefinition>,
    /// `web_url`: the base of one-click unsubscribe URLs (RFC 8058), such
    /// as `https://mail.example.test`; without it, List-Unsubscribe has
    /// only the mailto.
    pub web_url: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawList {
    address: Spanned<String>,
    kind: Option<Spanned<String>>,
    #[serde(default)]
    owners: Vec<Spanned<String>>,
    #[serde(default)]
    moderators: Vec<Spanned<String>>,
    subject_tag: Option<Spanned<String>>,
    #[serde(default)]
    description: String,
    newsgroup: Option<Spanned<String>>,
    bounce_threshold: Option<Spanned<u32>>,
    bounce_window: Option<Seconds>,
    members_visible: Option<Spanned<String>>,
}

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawListsSection {
    web_url: Option<Spanned<String>>,
}

/// `[lists]` and the `[[list]]`s, against the valid `domains`.
pub(super) fn validate_lists(
    source: &str,
    section: RawListsSection,
    raw: Vec<RawList>,
    domains: &[DomainConfig],
    errors: &mut Vec<ConfigError>,
) -> ListsConfig {
    let web_url = section.web_url.and_then(|url| {
        let text = url.get_ref().trim_end_matches('/').to_owned();
        if text.starts_with("https://") || text.starts_with("http://") {
            Some(text)
        } else {
            errors.push(spanned_error(
                source,
                url.span(),
                "lists.web_url",
                format!("\"{}\" is not an http(s) URL", url.get_ref()),
                "write the address webmail is reached at, such as \"https://mail.example.com\"",
            ));
            None
        }
    });
    let mut seen: BTreeMap<String, ()> = BTreeMap::new();
    let mut lists = Vec::new();
    for list in raw {
        let span = list.address.span();
        if let Some(definition) = validate_list(source, list, domains, errors) {
            if seen.insert(definition.address(), ()).is_some() {
                errors.push(spanned_error(
                    source,
                    span,
                    "list.address",
                    format!("list {} is declared twice", definition.address()),
                    "merge the two [[list]] tables into one",
                ));
                continue;
            }
            lists.push(definition);
        }
    }
    ListsConfig { lists, web_url }
}

/// A list kept in a file of its own (`postern list create`), checked
/// against the configuration's domains.
pub fn parse_list_file(
    source: &str,
    domains: &[DomainConfig],
) -> Result<ListDefinition, Vec<ConfigError>> {
    let raw: RawList = toml::from_str(source).map_err(|e| vec![syntax_error(source, &e)])?;
    let mut errors = Vec::new();
    match validate_list(source, raw, domains, &mut errors) {
        Some(definition) if errors.is_empty() => Ok(definition),
        _ => Err(errors),
    }
}

/// The file text [`parse_list_file`] reads back as `definition`.
pub fn render_list_file(definition: &ListDefinition) -> String {
    let quote = |text: &str| toml::Value::String(text.to_owned()).to_string();
    let list = |items: &[String]| {
        let quoted: Vec<String> = items.iter().map(|i| quote(i)).collect();
        format!("[{}]", quoted.join(", "))
    };
    let mut text = format!(
        "address = {}\nkind = \"{}\"\nowners = {}\nmoderators = {}\ndescription = {}\nbounce_threshold = {}\nbounce_window = \"{}s\"\nmembers_visible = \"{}\"\n",
        quote(&definition.address()),
        definition.kind,
        list(&definition.owners),
        list(&definition.moderators),
        quote(&definition.description),
        definition.bounce_threshold,
        definition.bounce_window.as_secs(),
        match definition.members_visible {
            MembersVisible::Owners => "owners",
            MembersVisible::Subscribers => "subscribers",
        },
    );
    if let Some(tag) = &definition.subject_tag {
        text.push_str(&format!("subject_tag = {}\n", quote(tag)));
    }
    if let Some(group) = &definition.newsgroup {
        text.push_str(&format!("newsgroup = {}\n", quote(&group.to_string())));
    }
    text
}

fn address_of(text: &str) -> Option<(String, String)> {
    let mailbox = crate::address::parse_mailbox(text).ok()?;
    Some((
        mailbox.local_part.to_lowercase(),
        mailbox.domain.to_lowercase(),
    ))
}

fn validate_list(
    source: &str,
    raw: RawList,
    domains: &[DomainConfig],
    errors: &mut Vec<ConfigError>,
) -> Option<ListDefinition> {
    let before = errors.len();
    let mut error = |span: std::ops::Range<usize>, key: &str, message: String, help: &str| {
        errors.push(spanned_error(source, span, key, message, help));
    };
    let text = raw.address.get_ref();
    let Some((local, domain)) = address_of(text).filter(|(l, _)| !l.contains(['/', '"'])) else {
        error(
            raw.address.span(),
            "list.address",
            format!("\"{text}\" is not a list address"),
            "write an address in one of your domains, such as \"team@example.com\"",
        );
        return None;
    };
    let key = domain_key(&domain).unwrap_or_else(|_| domain.clone());
    let Some(owner_domain) = domains
        .iter()
        .find(|d| domain_key(&d.name).unwrap_or_else(|_| d.name.clone()) == key)
    else {
        error(
            raw.address.span(),
            "list.address",
            format!("{domain} is not one of the [[domain]]s, so mail to {text} would not be taken"),
            "use one of your domains, or add a [[domain]] for it",
        );
        return None;
    };
    let domain = owner_domain.name.to_lowercase();
    let taken = owner_domain
        .users
        .iter()
        .chain(owner_domain.aliases.keys())
        .chain(std::iter::once(&crate::directory::POSTMASTER.to_owned()))
        .find(|name| Role::of(&local, name).is_some())
        .cloned();
    if let Some(name) = taken {
        error(
            raw.address.span(),
            "list.address",
            format!(
                "list {local}@{domain} clashes with the user or alias \"{name}\" of domain {domain} (a list answers at {local}, {local}-request and {local}-bounces)"
            ),
            "rename the list or the account",
        );
    }
    let mut definition = ListDefinition::new(&local, &domain);
    if let Some(kind) = &raw.kind {
        match ListKind::parse(kind.get_ref()) {
            Some(k) => definition.kind = k,
            None => error(
                kind.span(),
                "list.kind",
                format!("\"{}\" is not a list kind", kind.get_ref()),
                "write \"open\", \"closed\" or \"moderated\"",
            ),
        }
    }
    for (field, target) in [("owners", &raw.owners), ("moderators", &raw.moderators)] {
        for address in target {
            match address_of(address.get_ref()) {
                Some((l, d)) => {
                    let address = format!("{l}@{d}");
                    if field == "owners" {
                        definition.owners.push(address);
                    } else {
                        definition.moderators.push(address);
                    }
                }
                None => error(
                    address.span(),
                    &format!("list.{field}"),
                    format!("\"{}\" is not an address", address.get_ref()),
                    "write addresses such as \"alice@example.com\"",
                ),
            }
        }
    }
    if definition.kind == ListKind::Closed && definition.owners.is_empty() {
        error(
            raw.address.span(),
            "list.owners",
            format!(
                "the closed list {} has no owners, so no subscription could ever be approved",
                definition.address()
            ),
            "add owners = [\"you@example.com\"]",
        );
    }
    if definition.kind == ListKind::Moderated
        && definition.owners.is_empty()
        && definition.moderators.is_empty()
    {
        error(
            raw.address.span(),
            "list.moderators",
            format!(
                "the moderated list {} has no moderators or owners, so no post could ever be approved",
                definition.address()
            ),
            "add moderators = [\"you@example.com\"]",
        );
    }
    if let Some(tag) = &raw.subject_tag {
        let text = tag.get_ref();
        if text.is_empty()
            || text.chars().count() > LIST_SUBJECT_TAG_CHARS_MAX
            || text.chars().any(char::is_control)
        {
            error(
                tag.span(),
                "list.subject_tag",
                format!(
                    "\"{text}\" is not a subject tag (1 to {LIST_SUBJECT_TAG_CHARS_MAX} characters, no control characters)"
                ),
                "write one such as \"[team]\"",
            );
        } else {
            definition.subject_tag = Some(text.clone());
        }
    }
    definition.description = raw.description.replace(['\r', '\n'], " ");
    if let Some(group) = &raw.newsgroup {
        match GroupName::new(group.get_ref()) {
            Ok(name) => definition.newsgroup = Some(name),
            Err(why) => error(
                group.span(),
                "list.newsgroup",
                format!("\"{}\": {why}", group.get_ref()),
                "write a group name such as \"example.team\"",
            ),
        }
    }
    if let Some(threshold) = &raw.bounce_threshold {
        let n = *threshold.get_ref();
        if (1..=LIST_BOUNCE_THRESHOLD_MAX).contains(&n) {
            definition.bounce_threshold = n;
        } else {
            error(
                threshold.span(),
                "list.bounce_threshold",
                format!("{n} is out of range"),
                &format!("write a number from 1 to {LIST_BOUNCE_THRESHOLD_MAX}"),
            );
        }
    }
    if let Some(window) = raw.bounce_window {
        definition.bounce_window = window.0;
    }
    if let Some(visible) = &raw.members_visible {
        match visible.get_ref().as_str() {
            "owners" => definition.members_visible = MembersVisible::Owners,
            "subscribers" => definition.members_visible = MembersVisible::Subscribers,
            other => error(
                visible.span(),
                "list.members_visible",
                format!("\"{other}\" is not owners or subscribers"),
                "write \"owners\" or \"subscribers\"",
            ),
        }
    }
    (errors.len() == before).then_some(definition)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::parse;

    const BASE: &str = "[[service]]\nname = \"mx\"\nkind = \"smtp\"\nlisten = \"127.0.0.1:2525\"\n\n[[domain]]\nname = \"example.test\"\nusers = [\"alice\"]\naliases = { info = \"alice\" }\n";

    fn errors(extra: &str) -> Vec<String> {
        match parse(&format!("{BASE}{extra}")) {
            Ok(_) => Vec::new(),
            Err(errors) => errors.iter().map(|e| e.message.clone()).collect(),
        }
    }

    #[test]
    fn a_list_gets_its_defaults_and_web_url() {
        let config = parse(&format!(
            "{BASE}[[list]]\naddress = \"Team@Example.test\"\n\n[lists]\nweb_url = \"https://mail.example.test/\"\n"
        ))
        .unwrap();
        let list = &config.lists.lists[0];
        assert_eq!(list.address(), "team@example.test");
        assert_eq!(list.kind, ListKind::Open);
        assert_eq!(
            list.bounce_threshold,
            crate::limits::LIST_BOUNCE_THRESHOLD_DEFAULT
        );
        assert_eq!(
            config.lists.web_url.as_deref(),
            Some("https://mail.example.test")
        );
    }

    #[test]
    fn list_mistakes_table() {
        let rows = [
            (
                "[[list]]\naddress = \"alice@example.test\"\n",
                "clashes with the user or alias \"alice\"",
            ),
            (
                "[[list]]\naddress = \"info@example.test\"\n",
                "clashes with the user or alias \"info\"",
            ),
            ("[[list]]\naddress = \"alice-request@example.test\"\n", ""),
            (
                "[[list]]\naddress = \"x@elsewhere.test\"\n",
                "elsewhere.test is not one of the [[domain]]s",
            ),
            (
                "[[list]]\naddress = \"not an address\"\n",
                "is not a list address",
            ),
            (
                "[[list]]\naddress = \"t@example.test\"\nkind = \"secret\"\n",
                "\"secret\" is not a list kind",
            ),
            (
                "[[list]]\naddress = \"t@example.test\"\nkind = \"closed\"\n",
                "has no owners",
            ),
            (
                "[[list]]\naddress = \"t@example.test\"\nkind = \"moderated\"\n",
                "has no moderators or owners",
            ),
            (
                "[[list]]\naddress = \"t@example.test\"\nowners = [\"nobody\"]\n",
                "\"nobody\" is not an address",
            ),
            (
                "[[list]]\naddress = \"t@example.test\"\nnewsgroup = \"a..b\"\n",
                "\"a..b\"",
            ),
            (
                "[[list]]\naddress = \"t@example.test\"\nbounce_threshold = 0\n",
                "0 is out of range",
            ),
            (
                "[[list]]\naddress = \"t@example.test\"\nsubject_tag = \"\"\n",
                "is not a subject tag",
            ),
            (
                "[[list]]\naddress = \"t@example.test\"\n[[list]]\naddress = \"T@example.test\"\n",
                "declared twice",
            ),
            (
                "[lists]\nweb_url = \"mail.example.test\"\n",
                "is not an http(s) URL",
            ),
        ];
        for (extra, expected) in rows {
            let found = errors(extra);
            if expected.is_empty() {
                assert!(found.is_empty(), "{extra}: {found:?}");
            } else {
                assert!(
                    found.iter().any(|e| e.contains(expected)),
                    "{extra}: {found:?}"
                );
            }
        }
    }

    #[test]
    fn a_created_list_file_round_trips() {
        let config = parse(BASE).unwrap();
        let mut list = ListDefinition::new("dev", "example.test");
        list.kind = ListKind::Moderated;
        list.moderators = vec!["alice@example.test".into()];
        list.subject_tag = Some("[dev \"x\"]".into());
        list.description = "Developers".into();
        list.newsgroup = Some(GroupName::new("example.dev").unwrap());
        list.members_visible = MembersVisible::Subscribers;
        let text = render_list_file(&list);
        assert_eq!(parse_list_file(&text, &config.domains).unwrap(), list);
        let damaged = text.replace("moderated", "sometimes");
        let errors = parse_list_file(&damaged, &config.domains).unwrap_err();
        assert_eq!(errors[0].position.map(|p| p.0), Some(2), "{errors:?}");
    }
}
