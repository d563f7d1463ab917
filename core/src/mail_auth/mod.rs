//! Mail authentication: the rules of DKIM (RFC 6376), SPF (RFC 7208) and
//! DMARC (RFC 7489) that are decisions rather than cryptography or DNS.
//! The runtime does the lookups and the signatures; what to sign, with
//! which key, what to look up, and what a result means is decided here.
//! SPF is evaluated here whole, without I/O: its DNS lookups are requests
//! the runtime answers.

pub mod arc;
pub mod dkim;
pub mod dmarc;

/// What an SMTP instance does with a sender from outside whose SPF check
/// fails (`spf_fail` in its `[[service]]`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SpfFailAction {
    /// Nothing at MAIL; the checks at the end of DATA record it (with
    /// `mail_auth`).
    #[default]
    Record,
    /// SPF is checked at MAIL, and a `fail` (the domain's `-all`) is
    /// refused there with `550 5.7.23` (RFC 7372).
    Refuse,
}

/// What an SMTP instance does about where its mail comes from
/// (`mail_auth` in its `[[service]]`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum MailAuthMode {
    /// Nothing is checked.
    #[default]
    Off,
    /// Mail from outside (not from a client that logged in or that the
    /// relay networks vouch for) is checked, SPF and DKIM, and the
    /// results recorded in an `Authentication-Results:` field on top.
    Record,
    /// As `Record`, and what the `From:` domain's DMARC policy asks is
    /// done: a message it rejects is refused at the end of DATA with `550
    /// 5.7.1`.
    Enforce,
}
pub mod results;
pub mod spf;
