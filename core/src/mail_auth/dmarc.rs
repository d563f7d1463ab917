//! DMARC (RFC 7489): the `From:` domain's policy record, the alignment
//! of what SPF and DKIM passed with that domain, the result, and what the
//! domain asks to be done with mail that fails.
//!
//! The runtime looks the record up (first `_dmarc.FROM`, then, if there is
//! none, `_dmarc.` the organizational domain) and hands over what SPF and
//! DKIM found; everything else is decided here.

use crate::mail_auth::results::{DkimFinding, DkimResult};
use crate::mail_auth::spf::{SpfResult, SpfVerdict};

/// How closely an authenticated domain must match the `From:` domain
/// (`adkim`, `aspf`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Alignment {
    /// The same organizational domain (the default).
    Relaxed,
    /// The same domain.
    Strict,
}

/// What a domain asks for mail that fails (`p`, `sp`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Policy {
    None,
    Quarantine,
    Reject,
}

impl Policy {
    pub fn as_str(self) -> &'static str {
        match self {
            Policy::None => "none",
            Policy::Quarantine => "quarantine",
            Policy::Reject => "reject",
        }
    }

    /// The next less strict policy: what a message left out of `pct`'s
    /// sample gets (RFC 7489 6.6.4).
    fn relaxed(self) -> Policy {
        match self {
            Policy::Reject => Policy::Quarantine,
            Policy::Quarantine | Policy::None => Policy::None,
        }
    }
}

/// A parsed `v=DMARC1` record (RFC 7489 6.3); reporting tags (`rua`,
/// `ruf`, `fo`, `rf`, `ri`) are read past: Postern sends no reports.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DmarcRecord {
    pub policy: Policy,
    pub subdomain_policy: Option<Policy>,
    pub dkim_alignment: Alignment,
    pub spf_alignment: Alignment,
    /// `pct`: the share of failing mail the policy applies to, 0 to 100.
    pub percent: u8,
}

/// Reads a TXT record; `None` when it is not a DMARC record at all (it
/// does not start with `v=DMARC1`), `Some(Err)` when it is one but
/// broken.
pub fn parse_record(text: &str) -> Option<Result<DmarcRecord, String>> {
    let mut tags = text.split(';').map(str::trim).filter(|t| !t.is_empty());
    let first = tags.next()?;
    let (name, value) = first.split_once('=')?;
    if !name.trim().eq_ignore_ascii_case("v") || value.trim() != "DMARC1" {
        return None;
    }
    let mut record = DmarcRecord {
        policy: Policy::None,
        subdomain_policy: None,
        dkim_alignment: Alignment::Relaxed,
        spf_alignment: Alignment::Relaxed,
        percent: 100,
    };
    let mut policy = None;
    let mut has_rua = false;
    for tag in tags {
        let Some((name, value)) = tag.split_once('=') else {
            return Some(Err(format!("\"{tag}\" is not a tag=value pair")));
        };
        let (name, value) = (name.trim().to_ascii_lowercase(), value.trim());
        match name.as_str() {
            "p" => policy = Some(parse_policy(value)),
            "sp" => record.subdomain_policy = parse_policy(value).ok(),
            "adkim" => record.dkim_alignment = parse_alignment(value),
            "aspf" => record.spf_alignment = parse_alignment(value),
            "pct" => {
                record.percent = value
                    .parse::<u8>()
                    .ok()
                    .filter(|p| *p <= 100)
                    .unwrap_or(100)
            }
            "rua" => has_rua = true,
            // Reporting, and tags of later versions: ignored (6.3).
            _ => {}
        }
    }
    match policy {
        Some(Ok(policy)) => record.policy = policy,
        // 6.6.3: a record with a bad or missing p= but a valid rua= is
        // read as p=none; otherwise it is no policy at all.
        _ if has_rua => record.policy = Policy::None,
        Some(Err(problem)) => return Some(Err(problem)),
        None => return Some(Err("the record has no p= tag".into())),
    }
    Some(Ok(record))
}

fn parse_policy(value: &str) -> Result<Policy, String> {
    match value.to_ascii_lowercase().as_str() {
        "none" => Ok(Policy::None),
        "quarantine" => Ok(Policy::Quarantine),
        "reject" => Ok(Policy::Reject),
        _ => Err(format!("p={value} is not none, quarantine or reject")),
    }
}

fn parse_alignment(value: &str) -> Alignment {
    if value.eq_ignore_ascii_case("s") {
        Alignment::Strict
    } else {
        Alignment::Relaxed
    }
}

/// The organizational domain (RFC 7489 3.2): the public suffix (from the
/// compiled-in Public Suffix List) and one label more; the domain itself
/// when it is a suffix or not under one.
pub fn organizational_domain(domain: &str) -> String {
    let domain = domain.trim_end_matches('.').to_ascii_lowercase();
    psl::domain_str(&domain).unwrap_or(&domain).to_owned()
}

/// The names to look the policy up at, in order: `_dmarc.FROM`, then
/// `_dmarc.` its organizational domain when that is another name.
pub fn record_names(from_domain: &str) -> Vec<String> {
    let organizational = organizational_domain(from_domain);
    let mut names = vec![format!("_dmarc.{from_domain}")];
    if organizational != from_domain {
        names.push(format!("_dmarc.{organizational}"));
    }
    names
}

/// What the policy lookup found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PolicyLookup {
    /// The record, and whether it was the organizational domain's (so
    /// that `sp` applies to the `From:` subdomain).
    Found {
        record: DmarcRecord,
        organizational: bool,
    },
    /// No record at either name (or more than one at a name).
    NotFound,
    /// A record that is broken: no policy, and a `permerror`.
    Broken(String),
    /// A lookup failed: `temperror`.
    Failed(String),
}

/// The DMARC results of RFC 8601 2.7.4.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DmarcResult {
    Pass,
    Fail,
    None,
    TempError,
    PermError,
}

impl DmarcResult {
    pub fn as_str(self) -> &'static str {
        match self {
            DmarcResult::Pass => "pass",
            DmarcResult::Fail => "fail",
            DmarcResult::None => "none",
            DmarcResult::TempError => "temperror",
            DmarcResult::PermError => "permerror",
        }
    }
}

/// DMARC's verdict on one message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DmarcFinding {
    pub result: DmarcResult,
    /// The `From:` domain (`header.from`).
    pub from_domain: String,
    /// The policy that applies (`p`, or `sp` for a subdomain), when a
    /// record was found.
    pub policy: Option<Policy>,
    /// What the domain asks done with this message: its policy for a
    /// failure in `pct`'s sample, the next less strict one outside it,
    /// nothing for a pass.
    pub disposition: Policy,
    /// Why, for the reader: what failed, or the broken record.
    pub reason: Option<String>,
    /// The trusted ARC sealer whose passing chain turned the domain's
    /// disposition into `none` (RFC 8617 7.2; see
    /// [`crate::mail_auth::arc::apply_trusted_sealers`]).
    pub overridden_by: Option<String>,
}

/// Evaluates DMARC for a message whose `From:` domain is `from_domain`,
/// given what SPF (its verdict: the domain it checked) and DKIM found and
/// the policy lookup. `sample` (0 to 99, from a hash of the message, so
/// that the same message always gets the same answer) decides `pct`.
pub fn evaluate(
    from_domain: &str,
    spf: Option<&SpfVerdict>,
    dkim: &[DkimFinding],
    lookup: PolicyLookup,
    sample: u8,
) -> DmarcFinding {
    let finding = |result, policy, disposition, reason: Option<String>| DmarcFinding {
        result,
        from_domain: from_domain.to_owned(),
        policy,
        disposition,
        reason,
        overridden_by: None,
    };
    let (record, organizational) = match lookup {
        PolicyLookup::Found {
            record,
            organizational,
        } => (record, organizational),
        PolicyLookup::NotFound => return finding(DmarcResult::None, None, Policy::None, None),
        PolicyLookup::Broken(why) => {
            return finding(DmarcResult::PermError, None, Policy::None, Some(why));
        }
        PolicyLookup::Failed(why) => {
            return finding(DmarcResult::TempError, None, Policy::None, Some(why));
        }
    };
    let dkim_aligned = dkim.iter().any(|d| {
        d.result == DkimResult::Pass && aligned(&d.domain, from_domain, record.dkim_alignment)
    });
    let spf_aligned = spf.is_some_and(|s| {
        s.result == SpfResult::Pass && aligned(&s.domain, from_domain, record.spf_alignment)
    });
    let policy = if organizational {
        record.subdomain_policy.unwrap_or(record.policy)
    } else {
        record.policy
    };
    if dkim_aligned || spf_aligned {
        return finding(DmarcResult::Pass, Some(policy), Policy::None, None);
    }
    let disposition = if sample < record.percent {
        policy
    } else {
        policy.relaxed()
    };
    let reason = "neither SPF nor DKIM passed aligned with the From: domain".to_owned();
    finding(DmarcResult::Fail, Some(policy), disposition, Some(reason))
}

/// RFC 7489 3.1: strict is the same domain; relaxed, the same
/// organizational domain.
fn aligned(authenticated: &str, from_domain: &str, alignment: Alignment) -> bool {
    let authenticated = authenticated.trim_end_matches('.');
    match alignment {
        Alignment::Strict => authenticated.eq_ignore_ascii_case(from_domain),
        Alignment::Relaxed => {
            organizational_domain(authenticated) == organizational_domain(from_domain)
        }
    }
}

/// A number from 0 to 99 that depends only on `bytes`: FNV-1a, for
/// `pct` sampling that a replay reproduces.
pub fn sample_of(bytes: &[u8]) -> u8 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for &byte in bytes {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    (hash % 100) as u8
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(text: &str) -> DmarcRecord {
        parse_record(text).unwrap().unwrap()
    }

    fn spf(result: SpfResult, domain: &str) -> SpfVerdict {
        SpfVerdict {
            result,
            domain: domain.into(),
            mechanism: None,
            explanation: None,
            problem: None,
        }
    }

    fn dkim(result: DkimResult, domain: &str) -> DkimFinding {
        DkimFinding {
            result,
            domain: domain.into(),
            selector: "s".into(),
            signature_start: String::new(),
            reason: None,
        }
    }

    #[test]
    fn records_parse_as_rfc_7489_reads_them() {
        let r = record(
            "v=DMARC1; p=reject; sp=quarantine; adkim=s; aspf=r; pct=20; rua=mailto:d@example.com",
        );
        assert_eq!(r.policy, Policy::Reject);
        assert_eq!(r.subdomain_policy, Some(Policy::Quarantine));
        assert_eq!(r.dkim_alignment, Alignment::Strict);
        assert_eq!(r.spf_alignment, Alignment::Relaxed);
        assert_eq!(r.percent, 20);
        // Spaces, case of tag names, unknown tags.
        let r = record("v=DMARC1 ;P=Quarantine; future=1");
        assert_eq!(r.policy, Policy::Quarantine);
        assert_eq!(r.percent, 100);
        // Not DMARC at all.
        assert_eq!(parse_record("v=spf1 -all"), None);
        assert_eq!(parse_record("p=reject; v=DMARC1"), None);
        // Broken: no p, or a bad one (unless rua= is valid, 6.6.3).
        assert!(parse_record("v=DMARC1").unwrap().is_err());
        assert!(parse_record("v=DMARC1; p=bounce").unwrap().is_err());
        assert_eq!(
            record("v=DMARC1; p=bounce; rua=mailto:x@example.com").policy,
            Policy::None
        );
    }

    #[test]
    fn the_organizational_domain_comes_from_the_public_suffix_list() {
        for (domain, organizational) in [
            ("mail.example.com", "example.com"),
            ("example.com", "example.com"),
            ("a.b.example.co.uk", "example.co.uk"),
            ("Example.COM.", "example.com"),
            ("com", "com"),
        ] {
            assert_eq!(organizational_domain(domain), organizational, "{domain}");
        }
        assert_eq!(
            record_names("mail.example.com"),
            ["_dmarc.mail.example.com", "_dmarc.example.com"]
        );
        assert_eq!(record_names("example.com"), ["_dmarc.example.com"]);
    }

    /// From, SPF, DKIM, the lookup, and the result and disposition.
    type Case = (
        &'static str,
        Option<SpfVerdict>,
        Vec<DkimFinding>,
        PolicyLookup,
        DmarcResult,
        Policy,
    );

    #[test]
    fn alignment_result_and_disposition() {
        let found = |text: &str, organizational| PolicyLookup::Found {
            record: record(text),
            organizational,
        };
        let reject = "v=DMARC1; p=reject";
        let cases: Vec<Case> = vec![
            // Aligned DKIM pass, relaxed: a subdomain's signature counts.
            (
                "example.com",
                None,
                vec![dkim(DkimResult::Pass, "mail.example.com")],
                found(reject, false),
                DmarcResult::Pass,
                Policy::None,
            ),
            // Strict DKIM alignment wants the same domain.
            (
                "example.com",
                None,
                vec![dkim(DkimResult::Pass, "mail.example.com")],
                found("v=DMARC1; p=reject; adkim=s", false),
                DmarcResult::Fail,
                Policy::Reject,
            ),
            // A pass for another domain is not aligned.
            (
                "example.com",
                None,
                vec![dkim(DkimResult::Pass, "other.test")],
                found(reject, false),
                DmarcResult::Fail,
                Policy::Reject,
            ),
            // A failed signature of the right domain does not count.
            (
                "example.com",
                None,
                vec![dkim(DkimResult::Fail, "example.com")],
                found(reject, false),
                DmarcResult::Fail,
                Policy::Reject,
            ),
            // SPF pass for the MAIL FROM domain, aligned.
            (
                "example.com",
                Some(spf(SpfResult::Pass, "bounces.example.com")),
                vec![],
                found(reject, false),
                DmarcResult::Pass,
                Policy::None,
            ),
            // SPF softfail is no pass.
            (
                "example.com",
                Some(spf(SpfResult::SoftFail, "example.com")),
                vec![],
                found("v=DMARC1; p=quarantine", false),
                DmarcResult::Fail,
                Policy::Quarantine,
            ),
            // The organizational record's sp applies to a subdomain.
            (
                "sub.example.com",
                None,
                vec![],
                found("v=DMARC1; p=reject; sp=none", true),
                DmarcResult::Fail,
                Policy::None,
            ),
            // pct=0: out of the sample, the next less strict policy.
            (
                "example.com",
                None,
                vec![],
                found("v=DMARC1; p=reject; pct=0", false),
                DmarcResult::Fail,
                Policy::Quarantine,
            ),
            // No record, a broken one, a failed lookup.
            (
                "example.com",
                None,
                vec![],
                PolicyLookup::NotFound,
                DmarcResult::None,
                Policy::None,
            ),
            (
                "example.com",
                None,
                vec![],
                PolicyLookup::Broken("x".into()),
                DmarcResult::PermError,
                Policy::None,
            ),
            (
                "example.com",
                None,
                vec![],
                PolicyLookup::Failed("x".into()),
                DmarcResult::TempError,
                Policy::None,
            ),
        ];
        for (from, spf, dkim, lookup, result, disposition) in cases {
            let finding = evaluate(from, spf.as_ref(), &dkim, lookup.clone(), 50);
            assert_eq!(
                (finding.result, finding.disposition),
                (result, disposition),
                "{from} {lookup:?}"
            );
        }
    }

    #[test]
    fn a_sample_depends_only_on_the_bytes() {
        assert_eq!(sample_of(b"message"), sample_of(b"message"));
        assert!(sample_of(b"message") < 100);
        let spread: std::collections::BTreeSet<u8> =
            (0..1000u32).map(|i| sample_of(&i.to_le_bytes())).collect();
        assert!(spread.len() > 90, "{}", spread.len());
    }
}
