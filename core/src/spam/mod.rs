//! Spam control an instance applies to clients that are neither ours nor
//! logged in: DNS blocklists ([`dnsbl`]) at connect and at MAIL, and
//! greylisting ([`greylist`]) at RCPT; barring of senders and
//! recipients, and each mailbox's allow and block lists ([`barring`],
//! with the wildcard [`pattern`]s both use).
//!
//! The rules are here: which names are queried, which answers count,
//! how weights add up, who is exempt, what the client is told, and when
//! a triplet may pass. The runtime makes the DNS queries and keeps the
//! greylist on disk; the session machine asks for both through requests
//! ([`Request::LookUpBlocklists`](crate::smtp::server::Request::LookUpBlocklists),
//! [`Request::CheckGreylist`](crate::smtp::server::Request::CheckGreylist)).

pub mod barring;
pub mod dnsbl;
pub mod greylist;
pub mod pattern;

use crate::policy::RelayPolicy;
use std::net::IpAddr;

pub use barring::{Barring, Blocked, ListVerdict, SenderLists};
pub use dnsbl::{Blocklists, Listed, LookupAnswer, Query, Verdict, Zone, ZoneKind};
pub use greylist::{Greylist, GreylistPolicy, GreylistVerdict, Triplet};
pub use pattern::{AddressPattern, PatternError};

/// An instance's spam control: none by default.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SpamPolicy {
    pub blocklists: Blocklists,
    /// `None` when greylisting is off (the default).
    pub greylist: Option<GreylistPolicy>,
    /// Senders and recipients refused (`bar_senders`, `bar_recipients`).
    pub barring: Barring,
}

impl SpamPolicy {
    /// True when nothing is checked.
    pub fn is_off(&self) -> bool {
        self.blocklists.zones.is_empty() && self.greylist.is_none() && self.barring.is_empty()
    }
}

/// Clients spam control never checks: our own networks (those the
/// instance lets relay without a login: `relay = "any"` or a list of
/// networks) and clients that have logged in.
pub fn exempt(relay: &RelayPolicy, client: IpAddr, authenticated: bool) -> bool {
    authenticated || relay.permits(client, false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_networks_and_logged_in_clients_are_exempt() {
        let client: IpAddr = "192.0.2.7".parse().unwrap();
        let networks = RelayPolicy::Networks(vec!["192.0.2.0/24".parse().unwrap()]);
        let rows = [
            (RelayPolicy::None, false, false),
            (RelayPolicy::None, true, true),
            (RelayPolicy::Authenticated, false, false),
            (RelayPolicy::Authenticated, true, true),
            (RelayPolicy::Any, false, true),
            (networks, false, true),
            (
                RelayPolicy::Networks(vec!["10.0.0.0/8".parse().unwrap()]),
                false,
                false,
            ),
        ];
        for (relay, authenticated, expected) in rows {
            assert_eq!(
                exempt(&relay, client, authenticated),
                expected,
                "{relay} authenticated={authenticated}"
            );
        }
    }
}
