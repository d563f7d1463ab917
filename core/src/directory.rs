//! The local directory: which domains are ours and which mailboxes exist.
//!
//! The SMTP machine does not consult it directly: it asks the driver
//! (`Request::CheckRecipient`), and the driver answers from a
//! `Directory`. That keeps the machine independent of where accounts live
//! (today the configuration, later an accounts file).

use crate::address::{ForwardPath, domain_key};
use crate::config::DomainConfig;
use crate::envelope::LocalMailbox;
use std::collections::{BTreeMap, BTreeSet};

/// RFC 5321 4.5.1: every domain must accept mail for `postmaster`.
pub const POSTMASTER: &str = "postmaster";

/// What a recipient address means here.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RecipientVerdict {
    /// One of our mailboxes.
    Local(LocalMailbox),
    /// Our domain, but no such user and no catch-all.
    UnknownLocalUser,
    /// Not one of our domains: accepting it would be relaying.
    NotLocal,
}

#[derive(Clone, Debug, Default)]
struct DomainEntry {
    /// The name as configured, lower-case: what local mailboxes (and
    /// their Maildir folders) are named by, whichever form a recipient
    /// used.
    name: String,
    users: BTreeSet<String>,
    aliases: BTreeMap<String, String>,
    catch_all: Option<String>,
    /// The local parts of mailing lists (see [`crate::lists::Role`]).
    lists: BTreeSet<String>,
    /// The local parts of newsgroups' mail-to-news addresses.
    gateways: BTreeSet<String>,
}

/// Local domains and their users, aliases and catch-alls, all lower-case.
/// Domains are found by their [`domain_key`], so that a U-label and its
/// A-label (`bücher.test`, `xn--bcher-kva.test`) are one domain.
#[derive(Clone, Debug, Default)]
pub struct Directory {
    domains: BTreeMap<String, DomainEntry>,
    /// The first configured domain: where a bare `<Postmaster>` goes.
    primary_domain: Option<String>,
}

impl Directory {
    pub fn new(domains: &[DomainConfig]) -> Self {
        let mut directory = Directory::default();
        for domain in domains {
            let mut entry = DomainEntry::default();
            entry
                .users
                .extend(domain.users.iter().map(|u| u.to_lowercase()));
            entry.users.insert(POSTMASTER.to_owned());
            for (alias, user) in &domain.aliases {
                entry
                    .aliases
                    .insert(alias.to_lowercase(), user.to_lowercase());
            }
            entry.catch_all = domain.catch_all.as_ref().map(|u| u.to_lowercase());
            entry.name = domain.name.to_lowercase();
            directory
                .primary_domain
                .get_or_insert_with(|| entry.name.clone());
            directory.domains.insert(key(&entry.name), entry);
        }
        directory
    }

    /// The directory with these mailing lists' addresses taken too: the
    /// list, its `-request` and its `-bounces` addresses resolve to a
    /// local mailbox named by the whole local part, which delivery hands
    /// to the list. Lists in domains that are not ours are left out.
    pub fn with_lists<'a>(
        mut self,
        lists: impl IntoIterator<Item = &'a crate::lists::ListDefinition>,
    ) -> Self {
        for list in lists {
            if let Some(entry) = self.domains.get_mut(&key(&list.domain)) {
                entry.lists.insert(list.local.clone());
            }
        }
        self
    }

    /// The directory with these newsgroup gateway addresses taken too
    /// (`[[newsgroup]] address`): each resolves to a local mailbox of
    /// its own name, which delivery hands to the news store. Addresses
    /// in domains that are not ours are left out.
    pub fn with_news_gateways<'a>(mut self, addresses: impl IntoIterator<Item = &'a str>) -> Self {
        for address in addresses {
            if let Some((local, domain)) = address.rsplit_once('@')
                && let Some(entry) = self.domains.get_mut(&key(domain))
            {
                entry.gateways.insert(local.to_lowercase());
            }
        }
        self
    }

    pub fn is_local_domain(&self, domain: &str) -> bool {
        self.domains.contains_key(&key(domain))
    }

    /// Resolves a recipient. Local parts match without regard to case, as
    /// almost every server does (RFC 5321 2.4 allows it).
    pub fn resolve(&self, forward_path: &ForwardPath) -> RecipientVerdict {
        let (local_part, domain) = match forward_path {
            ForwardPath::Postmaster => match &self.primary_domain {
                Some(domain) => (POSTMASTER.to_owned(), domain.clone()),
                None => return RecipientVerdict::NotLocal,
            },
            ForwardPath::Mailbox(mailbox) => {
                (mailbox.local_part.to_lowercase(), mailbox.domain.clone())
            }
        };
        let Some(entry) = self.domains.get(&key(&domain)) else {
            return RecipientVerdict::NotLocal;
        };
        let domain = entry.name.clone();
        let user = if entry.users.contains(&local_part) {
            Some(local_part)
        } else if let Some(target) = entry.aliases.get(&local_part) {
            Some(target.clone())
        } else if entry.gateways.contains(&local_part)
            || entry
                .lists
                .iter()
                .any(|list| crate::lists::Role::of(list, &local_part).is_some())
        {
            Some(local_part)
        } else {
            entry.catch_all.clone()
        };
        match user {
            Some(user) => RecipientVerdict::Local(LocalMailbox { domain, user }),
            None => RecipientVerdict::UnknownLocalUser,
        }
    }

    /// The envelope senders an account may use: its own address and,
    /// when it is a local user, the aliases that lead to that user.
    /// Lower-case, in order.
    pub fn owned_addresses(&self, account: &str) -> Vec<String> {
        let account = account.to_lowercase();
        let mut owned = vec![account.clone()];
        let Some((user, domain)) = account.rsplit_once('@') else {
            return owned;
        };
        if let Some(entry) = self.domains.get(&key(domain)) {
            owned.extend(
                entry
                    .aliases
                    .iter()
                    .filter(|(_, target)| *target == user)
                    .map(|(alias, _)| format!("{alias}@{domain}")),
            );
        }
        owned
    }
}

/// The lookup key of a domain: its [`domain_key`], or (for an address
/// literal, or a name IDNA cannot encode, which is never a configured
/// domain) the name in lower case.
fn key(domain: &str) -> String {
    domain_key(domain).unwrap_or_else(|_| domain.to_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::address::Mailbox;

    fn directory() -> Directory {
        Directory::new(&[
            DomainConfig {
                name: "Example.test".into(),
                users: vec!["alice".into(), "Bob".into()],
                aliases: [("info".to_owned(), "alice".to_owned())].into(),
                catch_all: None,
            },
            DomainConfig {
                name: "catch.test".into(),
                users: vec!["carol".into()],
                aliases: BTreeMap::new(),
                catch_all: Some("carol".into()),
            },
        ])
    }

    #[test]
    fn news_gateway_addresses_resolve_to_mailboxes_of_their_own() {
        let directory =
            directory().with_news_gateways(["General-News@example.test", "x@elsewhere.test"]);
        let resolve = |text: &str| {
            directory.resolve(&crate::address::parse_forward_path(text, false).unwrap())
        };
        assert_eq!(
            resolve("<general-news@EXAMPLE.test>"),
            RecipientVerdict::Local(LocalMailbox {
                domain: "example.test".into(),
                user: "general-news".into(),
            })
        );
        assert_eq!(resolve("<x@elsewhere.test>"), RecipientVerdict::NotLocal);
        assert_eq!(
            resolve("<nobody@example.test>"),
            RecipientVerdict::UnknownLocalUser
        );
    }

    #[test]
    fn an_account_owns_its_address_and_its_aliases() {
        let directory = directory();
        assert_eq!(
            directory.owned_addresses("Alice@example.test"),
            ["alice@example.test", "info@example.test"]
        );
        assert_eq!(
            directory.owned_addresses("bob@example.test"),
            ["bob@example.test"]
        );
        assert_eq!(
            directory.owned_addresses("x@elsewhere.test"),
            ["x@elsewhere.test"]
        );
    }

    fn to(local: &str, domain: &str) -> ForwardPath {
        ForwardPath::Mailbox(Mailbox {
            local_part: local.into(),
            domain: domain.into(),
        })
    }

    fn local(user: &str, domain: &str) -> RecipientVerdict {
        RecipientVerdict::Local(LocalMailbox {
            domain: domain.into(),
            user: user.into(),
        })
    }

    #[test]
    fn resolution_table() {
        let directory = directory();
        let rows = [
            (to("alice", "example.test"), local("alice", "example.test")),
            (to("ALICE", "EXAMPLE.TEST"), local("alice", "example.test")),
            (to("bob", "example.test"), local("bob", "example.test")),
            (to("info", "example.test"), local("alice", "example.test")),
            (
                to("postmaster", "example.test"),
                local("postmaster", "example.test"),
            ),
            (
                to("PostMaster", "catch.test"),
                local("postmaster", "catch.test"),
            ),
            (
                to("mallory", "example.test"),
                RecipientVerdict::UnknownLocalUser,
            ),
            (to("anyone", "catch.test"), local("carol", "catch.test")),
            (to("alice", "elsewhere.test"), RecipientVerdict::NotLocal),
            (ForwardPath::Postmaster, local("postmaster", "example.test")),
        ];
        for (forward_path, expected) in rows {
            assert_eq!(directory.resolve(&forward_path), expected, "{forward_path}");
        }
    }

    #[test]
    fn with_no_domains_nothing_is_local() {
        assert_eq!(
            Directory::default().resolve(&ForwardPath::Postmaster),
            RecipientVerdict::NotLocal
        );
    }

    #[test]
    fn a_u_label_domain_and_its_a_label_are_one_local_domain() {
        for configured in ["bücher.test", "xn--bcher-kva.test"] {
            let directory = Directory::new(&[DomainConfig {
                name: configured.into(),
                users: vec!["anna".into()],
                aliases: BTreeMap::new(),
                catch_all: None,
            }]);
            for written in [
                "bücher.test",
                "BÜCHER.test",
                "xn--bcher-kva.test",
                "XN--BCHER-KVA.TEST",
            ] {
                assert!(directory.is_local_domain(written), "{configured} {written}");
                // The mailbox is named by the configured form, whichever
                // the client used: one Maildir, not two.
                assert_eq!(
                    directory.resolve(&to("anna", written)),
                    local("anna", configured),
                    "{configured} {written}"
                );
            }
            assert_eq!(
                directory.resolve(&to("anna", "bucher.test")),
                RecipientVerdict::NotLocal
            );
        }
    }
}
