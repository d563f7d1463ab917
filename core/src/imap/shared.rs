//! The shared namespace (RFC 2342): mailing-list archives as read-only
//! IMAP folders.
//!
//! Each list's archive (the INBOX of the list address's own mailbox) is
//! the folder `#lists/<list address>` to every account that may read it:
//! its members, owners and moderators, and for an `open` list everybody.
//! The prefix follows the `#` convention of RFC 2342's examples and of
//! UW and Cyrus (`#news.`, `#shared/`): a name that marks a namespace,
//! not a folder somebody made. The namespace has its own hierarchy
//! separator, `/` (RFC 2342 allows one per namespace): a list address
//! has dots, which the personal namespace's `.` would split into levels,
//! and a personal folder (a Maildir++ name) can never hold a `/`, so no
//! name of the user's is shadowed. Nothing can be made under it (CREATE
//! and RENAME there are refused).
//!
//! Every decision is here: [`route`] says which store folder a name
//! means (the runtime wraps it with the archives a login may read), and
//! [`archive_readable`] who may read an archive. The session refuses
//! every change under the prefix (`NO [NOPERM]`) and opens its folders
//! read-only, so reading one never sets `\Seen` for the others.

use crate::lists::{ListDefinition, ListKind, ListState};

/// The shared namespace's prefix without its separator.
pub const SHARED_PREFIX: &str = "#lists";

/// The shared namespace's hierarchy separator.
pub const SHARED_SEPARATOR: char = '/';

/// What NAMESPACE answers (RFC 2342 5): the personal namespace with no
/// prefix, no other users', and the lists' shared one.
pub const NAMESPACE_LINE: &str = "NAMESPACE ((\"\" \".\")) NIL ((\"#lists/\" \"/\"))";

/// Which folder a (decoded) IMAP name means.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Route<'a> {
    /// One of the user's own folders, by its store name.
    Personal(&'a str),
    /// The archive of the list with this address (lower-cased by the
    /// runtime before it is looked up).
    Archive(&'a str),
}

/// The folder `name` names. `#lists` itself stays personal (it names
/// no archive); only names below it are shared.
pub fn route(name: &str) -> Route<'_> {
    match name
        .strip_prefix(SHARED_PREFIX)
        .and_then(|rest| rest.strip_prefix(SHARED_SEPARATOR))
    {
        Some(address) if !address.is_empty() => Route::Archive(address),
        _ => Route::Personal(name),
    }
}

/// The hierarchy separator of the namespace `name` is in: `/` for the
/// shared namespace's root and folders, `.` for the user's own.
pub fn separator(name: &str) -> char {
    let shared = name
        .strip_prefix(SHARED_PREFIX)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with(SHARED_SEPARATOR));
    if shared { SHARED_SEPARATOR } else { '.' }
}

/// True if `name` is in the shared namespace (nothing there may change).
pub fn is_shared(name: &str) -> bool {
    matches!(route(name), Route::Archive(_))
}

/// The folder a list's archive is shown as: `#lists/team@example.test`.
pub fn archive_folder(list_address: &str) -> String {
    format!("{SHARED_PREFIX}{SHARED_SEPARATOR}{list_address}")
}

/// The name a subscription to a shared folder is kept under among the
/// user's own (whose names cannot hold a `/`): `#lists.<address>`.
pub fn stored_subscription(name: &str) -> String {
    match route(name) {
        Route::Archive(address) => format!("{SHARED_PREFIX}.{address}"),
        Route::Personal(name) => name.to_owned(),
    }
}

/// The folder a kept subscription names: [`stored_subscription`] undone.
pub fn subscription_folder(stored: &str) -> String {
    match stored
        .strip_prefix(SHARED_PREFIX)
        .and_then(|rest| rest.strip_prefix('.'))
    {
        Some(address) if !address.is_empty() => archive_folder(address),
        _ => stored.to_owned(),
    }
}

/// What an account is to a list.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reader {
    /// An owner or moderator.
    Owner,
    /// A subscriber, whatever they receive (mail, digest, nothing,
    /// suspended for bounces).
    Member,
    /// A subscriber the owners barred.
    Barred,
    /// Anybody else (a subscription still waiting for its confirmation
    /// is not one yet).
    Stranger,
}

impl Reader {
    /// What the account with these addresses (its login and its
    /// mailbox's address; any case) is to `list`.
    pub fn of(list: &ListDefinition, state: &ListState, addresses: &[&str]) -> Reader {
        let mut reader = Reader::Stranger;
        for address in addresses {
            let address = address.to_lowercase();
            if list.is_moderator(&address) {
                return Reader::Owner;
            }
            match state.members.get(&address) {
                Some(member) if member.barred => reader = Reader::Barred,
                Some(_) if reader == Reader::Stranger => reader = Reader::Member,
                _ => {}
            }
        }
        reader
    }
}

/// Whether a reader sees a list's archive: every account for an open
/// list; otherwise its owners and (not barred) members.
pub fn archive_readable(kind: ListKind, reader: Reader) -> bool {
    match kind {
        ListKind::Open => true,
        ListKind::Closed | ListKind::Moderated => {
            matches!(reader, Reader::Owner | Reader::Member)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lists::{Delivery, Member};

    #[test]
    fn names_route_to_personal_folders_or_archives() {
        let rows = [
            ("INBOX", Route::Personal("INBOX")),
            (
                "Lists.team@example.test",
                Route::Personal("Lists.team@example.test"),
            ),
            ("#lists", Route::Personal("#lists")),
            ("#lists/", Route::Personal("#lists/")),
            (
                "#lists.team@example.test",
                Route::Personal("#lists.team@example.test"),
            ),
            ("#listsx/team", Route::Personal("#listsx/team")),
            (
                "#LISTS/team@example.test",
                Route::Personal("#LISTS/team@example.test"),
            ),
            (
                "#lists/team@example.test",
                Route::Archive("team@example.test"),
            ),
            ("#lists/a.b", Route::Archive("a.b")),
        ];
        for (name, expected) in rows {
            assert_eq!(route(name), expected, "{name}");
            assert_eq!(is_shared(name), matches!(expected, Route::Archive(_)));
        }
        assert_eq!(
            route(&archive_folder("team@example.test")),
            Route::Archive("team@example.test")
        );
        for (name, separator_) in [
            ("INBOX", '.'),
            ("#lists", '/'),
            ("#lists/team@example.test", '/'),
            ("#lists.x", '.'),
            ("#listsx", '.'),
        ] {
            assert_eq!(separator(name), separator_, "{name}");
        }
    }

    #[test]
    fn subscriptions_to_archives_are_kept_under_personal_names() {
        let rows = [
            ("#lists/team@example.test", "#lists.team@example.test"),
            ("Archive.2026", "Archive.2026"),
            ("INBOX", "INBOX"),
        ];
        for (folder, stored) in rows {
            assert_eq!(stored_subscription(folder), stored);
            assert_eq!(subscription_folder(stored), folder);
        }
        assert_eq!(subscription_folder("#lists."), "#lists.");
    }

    #[test]
    fn who_reads_an_archive() {
        use ListKind::*;
        use Reader::*;
        let rows = [
            (Open, Owner, true),
            (Open, Member, true),
            (Open, Barred, true),
            (Open, Stranger, true),
            (Closed, Owner, true),
            (Closed, Member, true),
            (Closed, Barred, false),
            (Closed, Stranger, false),
            (Moderated, Owner, true),
            (Moderated, Member, true),
            (Moderated, Barred, false),
            (Moderated, Stranger, false),
        ];
        for (kind, reader, readable) in rows {
            assert_eq!(
                archive_readable(kind, reader),
                readable,
                "{kind} {reader:?}"
            );
        }
    }

    #[test]
    fn an_account_is_what_its_addresses_are_to_the_list() {
        let mut list = ListDefinition::new("team", "example.test");
        list.owners = vec!["boss@example.test".into()];
        list.moderators = vec!["mod@example.test".into()];
        let member = |delivery, barred| Member {
            delivery,
            moderated: false,
            barred,
            token: "t".into(),
        };
        let mut state = ListState::default();
        state
            .members
            .insert("alice@example.test".into(), member(Delivery::Mail, false));
        state.members.insert(
            "quiet@example.test".into(),
            member(Delivery::Suspended, false),
        );
        state
            .members
            .insert("bad@example.test".into(), member(Delivery::Mail, true));
        let rows: [(&[&str], Reader); 7] = [
            (&["Alice@Example.Test"], Reader::Member),
            (&["quiet@example.test"], Reader::Member),
            (&["bad@example.test"], Reader::Barred),
            (&["boss@example.test"], Reader::Owner),
            (&["mod@example.test"], Reader::Owner),
            (&["carol@example.test"], Reader::Stranger),
            (&["carol", "alice@example.test"], Reader::Member),
        ];
        for (addresses, expected) in rows {
            assert_eq!(
                Reader::of(&list, &state, addresses),
                expected,
                "{addresses:?}"
            );
        }
    }
}
