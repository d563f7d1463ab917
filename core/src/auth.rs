//! Authentication: what a login attempt carries, what the answer can be,
//! and the rules that slow down password guessing.
//!
//! The SMTP machine runs the SASL exchange (RFC 4954) and decides what to
//! reply; checking a password against the accounts file is the driver's
//! job (it is slow on purpose, and it reads a file). What is decided here:
//!
//! - [`AuthPolicy`]: per instance, whether AUTH is offered, whether it is
//!   offered without TLS, whether MAIL needs it first, how many failures a
//!   session gets and how long each failure waits before its reply;
//! - [`LoginGuard`]: per server, a sliding window of failures for each
//!   remote host, which locks a guessing host out.

use crate::admission::HostKey;
use crate::limits::{IPV6_HOST_PREFIX_DEFAULT, LOGINS_TRIED_PER_SESSION_MAX};
use crate::time::Instant;
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::fmt;
use std::net::IpAddr;
use std::time::Duration;

/// A password in transit: it never shows in `Debug` output, so it cannot
/// reach a log line, a trace or a snapshot by accident.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(text: impl Into<String>) -> Self {
        Secret(text.into())
    }

    /// The password itself, for the code that checks it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(..)")
    }
}

/// A login to check: the account name and the password offered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoginAttempt {
    pub login: String,
    pub password: Secret,
    /// The session tried this login and password before (see
    /// [`TriedLogins`]): if it fails again, the failure does not count
    /// toward the [`LoginGuard`] lockout a second time.
    pub repeated: bool,
}

impl LoginAttempt {
    pub fn new(login: impl Into<String>, password: Secret) -> Self {
        LoginAttempt {
            login: login.into(),
            password,
            repeated: false,
        }
    }
}

/// The logins a session has tried, so that one guess counts once toward
/// the lockout however many mechanisms carry it.
///
/// The rule: a session's failed logins count toward the lockout once per
/// distinct login and password. Clients fall back from one mechanism to
/// the next with the same credentials (Python's smtplib tries PLAIN, then
/// LOGIN; mail clients retry after a `535`), so one typo used to count
/// twice or three times, and five typos locked an address out. Repeating a
/// password teaches a guesser nothing, so not counting the repeat costs
/// the lockout nothing; each new password still counts. The session's own
/// limit ([`AuthPolicy::max_failures`]) still counts every failed command.
///
/// Only a hash of each pair is kept (SipHash with fixed keys, the same in
/// every run), never the password, and at most
/// [`LOGINS_TRIED_PER_SESSION_MAX`] of them: past that every attempt
/// counts, as before.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TriedLogins {
    /// The pairs that failed (`Rejected`), as hashes.
    failed: BTreeSet<u64>,
    /// The pair being checked now.
    pending: Option<u64>,
}

impl TriedLogins {
    /// Notes `attempt`, about to be checked, and marks it `repeated` if
    /// the same login (compared without case) and password failed
    /// earlier in the session.
    pub fn note(&mut self, attempt: &mut LoginAttempt) {
        use std::hash::{DefaultHasher, Hash, Hasher};
        let mut hasher = DefaultHasher::new();
        attempt.login.to_lowercase().hash(&mut hasher);
        attempt.password.expose().hash(&mut hasher);
        let digest = hasher.finish();
        attempt.repeated = self.failed.contains(&digest);
        self.pending = Some(digest);
    }

    /// The verdict on the attempt last noted. Only a `Rejected` pair is
    /// remembered: one refused unchecked (locked out, or the accounts
    /// unreadable) was never counted, so trying it again must count.
    pub fn settled(&mut self, verdict: &AuthVerdict) {
        if let Some(digest) = self.pending.take()
            && *verdict == AuthVerdict::Rejected
            && self.failed.len() < LOGINS_TRIED_PER_SESSION_MAX
        {
            self.failed.insert(digest);
        }
    }
}

/// The SASL mechanisms offered (RFC 4616 PLAIN and the de facto LOGIN).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mechanism {
    Plain,
    Login,
}

impl Mechanism {
    pub fn parse(name: &str) -> Option<Self> {
        if name.eq_ignore_ascii_case("PLAIN") {
            Some(Mechanism::Plain)
        } else if name.eq_ignore_ascii_case("LOGIN") {
            Some(Mechanism::Login)
        } else {
            None
        }
    }
}

impl fmt::Display for Mechanism {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Mechanism::Plain => "PLAIN",
            Mechanism::Login => "LOGIN",
        })
    }
}

/// Who a session has authenticated as.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Identity {
    /// The account's address, lower-case.
    pub login: String,
    pub send_as: SendAs,
}

/// Which envelope senders an authenticated user may use.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SendAs {
    /// Any sender at all, including the null one.
    Anyone,
    /// Only these addresses (lower-case): the account's own and the
    /// aliases that lead to it.
    Addresses(Vec<String>),
}

impl Identity {
    /// True if `sender` (an address, or `None` for the null reverse-path)
    /// belongs to this identity.
    pub fn may_send_as(&self, sender: Option<&str>) -> bool {
        match (&self.send_as, sender) {
            (SendAs::Anyone, _) => true,
            (SendAs::Addresses(_), None) => false,
            (SendAs::Addresses(owned), Some(sender)) => {
                let sender = sender.to_lowercase();
                owned.contains(&sender)
            }
        }
    }
}

/// The driver's answer to a login attempt.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AuthVerdict {
    Accepted(Identity),
    /// No such account, or the wrong password: the client is not told
    /// which.
    Rejected,
    /// This remote host has failed too often lately; see [`LoginGuard`].
    LockedOut,
    /// The accounts could not be read: a temporary failure.
    Unavailable,
}

/// How an instance handles AUTH.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuthPolicy {
    /// AUTH is offered at all.
    pub offered: bool,
    /// AUTH is offered on a connection without TLS too. Only for testing
    /// on loopback, or a network you trust: the password travels in clear.
    pub without_tls: bool,
    /// MAIL is refused (`530 5.7.0`) until the client has authenticated,
    /// as on a submission port (RFC 6409).
    pub required: bool,
    /// Failed logins a session may make; the next failure closes it.
    pub max_failures: u32,
    /// How long the reply to a failed login is held back.
    pub failure_delay: Duration,
}

pub const AUTH_FAILURES_PER_SESSION_DEFAULT: u32 = 3;
pub const AUTH_FAILURE_DELAY_DEFAULT: Duration = Duration::from_secs(2);

impl Default for AuthPolicy {
    fn default() -> Self {
        AuthPolicy {
            offered: false,
            without_tls: false,
            required: false,
            max_failures: AUTH_FAILURES_PER_SESSION_DEFAULT,
            failure_delay: AUTH_FAILURE_DELAY_DEFAULT,
        }
    }
}

/// When a remote host is locked out: `failures` failed logins within
/// `window` lock it out until the oldest of them is `window` old.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LockoutPolicy {
    pub failures: u32,
    pub window: Duration,
    /// IPv6 clients in one network of this prefix length are one host
    /// (IPv4 clients: one address). See [`host_key`].
    pub ipv6_prefix: u8,
}

pub const LOCKOUT_FAILURES_DEFAULT: u32 = 10;
pub const LOCKOUT_WINDOW_DEFAULT: Duration = Duration::from_secs(15 * 60);

impl Default for LockoutPolicy {
    fn default() -> Self {
        LockoutPolicy {
            failures: LOCKOUT_FAILURES_DEFAULT,
            window: LOCKOUT_WINDOW_DEFAULT,
            ipv6_prefix: IPV6_HOST_PREFIX_DEFAULT,
        }
    }
}

/// Remote hosts remembered at once; past this, the host whose last
/// failure is oldest is forgotten, so a spray of addresses cannot grow
/// memory without bound.
pub const LOCKOUT_HOSTS_MAX: usize = 65_536;

/// Recent failed logins per remote host, shared by every session of the
/// server. Time is the caller's: the same inputs give the same answers.
#[derive(Debug, Default)]
pub struct LoginGuard {
    policy: LockoutPolicy,
    /// The failures within the window, oldest first, per host (an IPv6
    /// client's host is its network: see [`HostKey`]).
    hosts: BTreeMap<HostKey, VecDeque<Instant>>,
}

impl LoginGuard {
    pub fn new(policy: LockoutPolicy) -> Self {
        LoginGuard {
            policy,
            hosts: BTreeMap::new(),
        }
    }

    /// `Some(until)` if `host` is locked out at `now`.
    pub fn locked_until(&mut self, client: IpAddr, now: Instant) -> Option<Instant> {
        let LockoutPolicy {
            failures, window, ..
        } = self.policy;
        let host = self.host(client);
        let recent = self.recent(host, now)?;
        if recent.len() < failures as usize {
            return None;
        }
        recent.front().map(|&oldest| oldest + window)
    }

    /// Notes a failed login from `host`.
    pub fn record_failure(&mut self, client: IpAddr, now: Instant) {
        let host = self.host(client);
        if !self.hosts.contains_key(&host) && self.hosts.len() >= LOCKOUT_HOSTS_MAX {
            self.forget_one(now);
        }
        let failures = self.hosts.entry(host).or_default();
        failures.push_back(now);
        // Only the last `failures` count; older ones change nothing.
        while failures.len() > self.policy.failures as usize {
            failures.pop_front();
        }
    }

    /// Forgets `client`'s host's failures at once (`postern unlock`):
    /// true if it had any, locked out or not.
    pub fn unlock(&mut self, client: IpAddr) -> bool {
        let host = self.host(client);
        self.hosts.remove(&host).is_some()
    }

    pub fn policy(&self) -> LockoutPolicy {
        self.policy
    }

    /// Hosts remembered: for tests and metrics.
    pub fn hosts(&self) -> usize {
        self.hosts.len()
    }

    /// A new policy (a configuration reload); the failures counted so
    /// far stay, judged by the new policy from now on.
    pub fn set_policy(&mut self, policy: LockoutPolicy) {
        self.policy = policy;
    }

    /// Which host `client` counts as.
    pub fn host(&self, client: IpAddr) -> HostKey {
        HostKey::new(client, self.policy.ipv6_prefix)
    }

    /// The host's failures still inside the window, pruning the rest.
    fn recent(&mut self, host: HostKey, now: Instant) -> Option<&VecDeque<Instant>> {
        let window = self.policy.window;
        let failures = self.hosts.get_mut(&host)?;
        while failures.front().is_some_and(|&at| at + window <= now) {
            failures.pop_front();
        }
        if failures.is_empty() {
            self.hosts.remove(&host);
            return None;
        }
        self.hosts.get(&host)
    }

    /// Makes room: drops every host whose failures have all expired, or
    /// failing that the one with the oldest last failure.
    fn forget_one(&mut self, now: Instant) {
        let window = self.policy.window;
        self.hosts
            .retain(|_, failures| failures.back().is_some_and(|&at| at + window > now));
        if self.hosts.len() < LOCKOUT_HOSTS_MAX {
            return;
        }
        let stalest = self
            .hosts
            .iter()
            .min_by_key(|(_, failures)| failures.back().copied())
            .map(|(&host, _)| host);
        if let Some(host) = stalest {
            self.hosts.remove(&host);
        }
    }
}

/// Why a SASL PLAIN response (RFC 4616) was not accepted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PlainError {
    /// Not `[authzid] NUL authcid NUL passwd`.
    Malformed,
    /// An authorization identity other than the login: acting as another
    /// user is not supported.
    OtherIdentity,
}

/// Splits a decoded PLAIN response into a login attempt.
pub fn parse_plain(decoded: &[u8]) -> Result<LoginAttempt, PlainError> {
    let text = std::str::from_utf8(decoded).map_err(|_| PlainError::Malformed)?;
    let mut parts = text.split('\0');
    let (Some(authzid), Some(login), Some(password), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(PlainError::Malformed);
    };
    if login.is_empty() {
        return Err(PlainError::Malformed);
    }
    if !authzid.is_empty() && !authzid.eq_ignore_ascii_case(login) {
        return Err(PlainError::OtherIdentity);
    }
    Ok(LoginAttempt::new(login, Secret::new(password)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn at(seconds: u64) -> Instant {
        Instant::from_nanos(seconds * 1_000_000_000)
    }

    const HOST: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(192, 0, 2, 1));
    const OTHER: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(192, 0, 2, 2));

    fn guard(failures: u32, window_seconds: u64) -> LoginGuard {
        LoginGuard::new(LockoutPolicy {
            failures,
            window: Duration::from_secs(window_seconds),
            ..LockoutPolicy::default()
        })
    }

    #[test]
    fn an_ipv6_network_is_locked_out_as_one_host() {
        let mut guard = guard(2, 60);
        let first: IpAddr = "2001:db8:0:1::1".parse().unwrap();
        let same_net: IpAddr = "2001:db8:0:1::2".parse().unwrap();
        let other_net: IpAddr = "2001:db8:0:2::1".parse().unwrap();
        guard.record_failure(first, at(0));
        guard.record_failure(same_net, at(1));
        assert_eq!(guard.locked_until(first, at(2)), Some(at(60)));
        assert_eq!(
            guard.locked_until("2001:db8:0:1::99".parse().unwrap(), at(2)),
            Some(at(60)),
            "a new address in the same /64 is still locked out"
        );
        assert_eq!(guard.locked_until(other_net, at(2)), None);
        assert_eq!(guard.hosts(), 1);
    }

    #[test]
    fn a_host_is_locked_out_after_enough_failures_within_the_window() {
        let mut guard = guard(3, 60);
        guard.record_failure(HOST, at(0));
        guard.record_failure(HOST, at(10));
        assert_eq!(guard.locked_until(HOST, at(11)), None);
        guard.record_failure(HOST, at(20));
        assert_eq!(guard.locked_until(HOST, at(21)), Some(at(60)));
        assert_eq!(guard.locked_until(OTHER, at(21)), None, "per host");
        // The oldest failure leaves the window: two remain, not enough.
        assert_eq!(guard.locked_until(HOST, at(60)), None);
    }

    #[test]
    fn failures_spread_wider_than_the_window_never_lock_out() {
        let mut guard = guard(3, 60);
        for minute in 0..10 {
            guard.record_failure(HOST, at(minute * 31));
            assert_eq!(guard.locked_until(HOST, at(minute * 31)), None);
        }
    }

    #[test]
    fn expired_hosts_are_forgotten() {
        let mut guard = guard(3, 60);
        guard.record_failure(HOST, at(0));
        assert_eq!(guard.hosts(), 1);
        assert_eq!(guard.locked_until(HOST, at(61)), None);
        assert_eq!(guard.hosts(), 0);
    }

    /// Checks `login` and `password` in a session whose checks all give
    /// `verdict`; true if the session marked it a repeat.
    fn try_login(
        tried: &mut TriedLogins,
        login: &str,
        password: &str,
        verdict: AuthVerdict,
    ) -> bool {
        let mut attempt = LoginAttempt::new(login, Secret::new(password));
        tried.note(&mut attempt);
        tried.settled(&verdict);
        attempt.repeated
    }

    #[test]
    fn a_session_repeating_a_failed_login_and_password_is_marked_repeated() {
        let mut tried = TriedLogins::default();
        let mut rejected = |login: &str, password: &str| {
            try_login(&mut tried, login, password, AuthVerdict::Rejected)
        };
        assert!(
            !rejected("alice@example.com", "typo"),
            "the first try counts"
        );
        assert!(rejected("alice@example.com", "typo"), "PLAIN then LOGIN");
        assert!(
            rejected("Alice@Example.com", "typo"),
            "logins compare without case"
        );
        assert!(
            !rejected("alice@example.com", "Typo"),
            "a new password counts"
        );
        assert!(!rejected("bob@example.com", "typo"), "a new login counts");
    }

    #[test]
    fn a_login_refused_unchecked_is_no_repeat_when_tried_again() {
        let mut tried = TriedLogins::default();
        for verdict in [AuthVerdict::LockedOut, AuthVerdict::Unavailable] {
            assert!(!try_login(&mut tried, "alice", "guess", verdict));
        }
        assert!(
            !try_login(&mut tried, "alice", "guess", AuthVerdict::Rejected),
            "never checked before, so this failure counts"
        );
    }

    #[test]
    fn tried_logins_are_bounded_and_past_the_bound_every_attempt_counts() {
        let mut tried = TriedLogins::default();
        for n in 0..LOGINS_TRIED_PER_SESSION_MAX + 10 {
            try_login(&mut tried, "alice", &n.to_string(), AuthVerdict::Rejected);
        }
        assert_eq!(tried.failed.len(), LOGINS_TRIED_PER_SESSION_MAX);
        assert!(!try_login(
            &mut tried,
            "alice",
            "late",
            AuthVerdict::Rejected
        ));
        assert!(
            !try_login(&mut tried, "alice", "late", AuthVerdict::Rejected),
            "not remembered past the bound, so it counts"
        );
    }

    #[test]
    fn unlock_clears_a_locked_out_host_at_once() {
        let mut guard = guard(2, 900);
        guard.record_failure(HOST, at(0));
        guard.record_failure(HOST, at(1));
        guard.record_failure(OTHER, at(1));
        assert!(guard.locked_until(HOST, at(2)).is_some());
        assert!(guard.unlock(HOST));
        assert_eq!(guard.locked_until(HOST, at(2)), None);
        assert!(!guard.unlock(HOST), "nothing left to clear");
        assert_eq!(guard.hosts(), 1, "other hosts keep their failures");
    }

    #[test]
    fn plain_responses_are_split_and_checked() {
        let attempt = parse_plain(b"\0alice@example.com\0s3cret").unwrap();
        assert_eq!(attempt.login, "alice@example.com");
        assert_eq!(attempt.password.expose(), "s3cret");
        assert!(parse_plain(b"alice@example.com\0alice@example.com\0pw").is_ok());
        assert_eq!(
            parse_plain(b"bob\0alice\0pw"),
            Err(PlainError::OtherIdentity)
        );
        assert_eq!(parse_plain(b"alice\0pw"), Err(PlainError::Malformed));
        assert_eq!(parse_plain(b"\0\0pw"), Err(PlainError::Malformed));
        assert_eq!(parse_plain(b"\0a\0b\0c"), Err(PlainError::Malformed));
    }

    #[test]
    fn secrets_do_not_show_in_debug_output() {
        let attempt = LoginAttempt::new("alice", Secret::new("hunter2"));
        assert!(!format!("{attempt:?}").contains("hunter2"));
    }

    #[test]
    fn senders_must_belong_to_the_identity() {
        let alice = Identity {
            login: "alice@example.com".into(),
            send_as: SendAs::Addresses(vec![
                "alice@example.com".into(),
                "postmaster@example.com".into(),
            ]),
        };
        assert!(alice.may_send_as(Some("Alice@Example.com")));
        assert!(alice.may_send_as(Some("postmaster@example.com")));
        assert!(!alice.may_send_as(Some("bob@example.com")));
        assert!(!alice.may_send_as(None));
        let admin = Identity {
            login: "admin@example.com".into(),
            send_as: SendAs::Anyone,
        };
        assert!(admin.may_send_as(Some("bob@example.com")) && admin.may_send_as(None));
    }

    proptest! {
        /// A host is locked out exactly when it has at least `failures`
        /// failures in the last `window`, whatever the order of events.
        #[test]
        fn lockout_matches_a_count_of_recent_failures(
            events in proptest::collection::vec((0u64..200, any::<bool>()), 0..60),
        ) {
            let (limit, window) = (4u32, 50u64);
            let mut guard = guard(limit, window);
            let mut failures: Vec<u64> = Vec::new();
            let mut now = 0;
            for (step, fail) in events {
                now += step % 20;
                if fail {
                    guard.record_failure(HOST, at(now));
                    failures.push(now);
                }
                let recent = failures.iter().filter(|&&t| t + window > now).count();
                let locked = guard.locked_until(HOST, at(now));
                prop_assert_eq!(locked.is_some(), recent >= limit as usize);
                if let Some(until) = locked {
                    prop_assert!(until > at(now));
                }
            }
        }
    }
}
