//! The checks of mail from outside, run once its data has all arrived:
//! SPF for its sender (core's check, answered by our resolver) and its
//! DKIM signatures (mail-auth's canonicalization and cryptography, with
//! the keys looked up by our resolver first, so that mail-auth's own is
//! never asked: it is built with no name server at all).

use super::spf::{SpfLookups, check_spf};
use base64::Engine as _;
use mail_auth::common::parse::TxtRecordParser as _;
use mail_auth::common::verify::DomainKey;
use mail_auth::{AuthenticatedMessage, MessageAuthenticator, Parameters, ResolverCache, Txt};
use postern_core::address::ReversePath;
use postern_core::limits::{DKIM_SIGNATURES_CHECKED_MAX, MESSAGE_CHECKS_AT_ONCE_MAX};
use postern_core::mail_auth::dkim::from_domain;
use postern_core::mail_auth::dmarc::{self, DmarcRecord, PolicyLookup};
use postern_core::mail_auth::results::{DkimFinding, DkimResult, Findings, SpfIdentity};
use postern_core::mail_auth::spf::{DnsAnswer, DnsQuery, DnsRecord, Identity, SpfRequest};
use postern_core::smtp::server::CheckRequest;
use postern_core::time::UnixTime;
use std::borrow::Borrow;
use std::collections::{BTreeMap, HashMap};
use std::hash::Hash;
use std::net::IpAddr;
use std::sync::{Mutex, OnceLock};
use std::time::Instant;
use tokio::sync::Semaphore;

/// Turns to hold a message in memory for its checks.
fn slots() -> &'static Semaphore {
    static SLOTS: OnceLock<Semaphore> = OnceLock::new();
    SLOTS.get_or_init(|| Semaphore::new(MESSAGE_CHECKS_AT_ONCE_MAX))
}

/// Runs the checks on `message` (the data as received, without our
/// trace) from `client`.
pub async fn check_message(
    resolver: &impl SpfLookups,
    request: &CheckRequest,
    client: IpAddr,
    message: &[u8],
    now: UnixTime,
) -> Findings {
    let sender = match &request.reverse_path {
        ReversePath::Null => String::new(),
        ReversePath::Mailbox(mailbox) => mailbox.to_string(),
    };
    let identity = if sender.is_empty() {
        SpfIdentity::Helo(request.helo.clone())
    } else {
        SpfIdentity::MailFrom(sender.clone())
    };
    let spf_request = SpfRequest {
        ip: client,
        sender,
        helo: request.helo.clone(),
        receiver: request.receiver.clone(),
        now,
    };
    let (spf, dkim, arc) = tokio::join!(
        async {
            match &request.spf {
                // Checked at MAIL already.
                Some(verdict) => verdict.clone(),
                None => check_spf(resolver, spf_request, Identity::MailFrom).await,
            }
        },
        check_dkim(resolver, message),
        super::arc::check_arc(resolver, message),
    );
    let header_section = message
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map_or(message, |end| &message[..end + 2]);
    let dmarc = match from_domain(header_section) {
        Some(from) => {
            let lookup = dmarc_policy(resolver, &from).await;
            Some(dmarc::evaluate(
                &from,
                Some(&spf),
                &dkim,
                lookup,
                dmarc::sample_of(message),
            ))
        }
        None => None,
    };
    Findings {
        spf: Some((spf, identity)),
        dkim: Some(dkim),
        dmarc,
        arc: Some(arc),
    }
}

/// SPF for the sender of `request` from `client`, at MAIL.
pub async fn check_sender(
    lookups: &impl SpfLookups,
    request: &CheckRequest,
    client: IpAddr,
    now: UnixTime,
) -> postern_core::mail_auth::spf::SpfVerdict {
    let sender = match &request.reverse_path {
        ReversePath::Null => String::new(),
        ReversePath::Mailbox(mailbox) => mailbox.to_string(),
    };
    let spf_request = SpfRequest {
        ip: client,
        sender,
        helo: request.helo.clone(),
        receiver: request.receiver.clone(),
        now,
    };
    check_spf(lookups, spf_request, Identity::MailFrom).await
}

/// The `From:` domain's DMARC record (RFC 7489 6.6.3): at `_dmarc.FROM`,
/// else at `_dmarc.` its organizational domain. A name with more than one
/// DMARC record has none.
pub async fn dmarc_policy(lookups: &impl SpfLookups, from_domain: &str) -> PolicyLookup {
    let names = dmarc::record_names(from_domain);
    for (i, name) in names.iter().enumerate() {
        let records = match lookups.lookup(&DnsQuery::Txt(name.clone())).await {
            DnsAnswer::Records(records) => records,
            DnsAnswer::NotFound => continue,
            DnsAnswer::Failed(why) => return PolicyLookup::Failed(why),
        };
        let mut found: Vec<Result<DmarcRecord, String>> = records
            .iter()
            .filter_map(|record| match record {
                DnsRecord::Txt(text) => dmarc::parse_record(text),
                _ => None,
            })
            .collect();
        match (found.pop(), found.is_empty()) {
            (Some(Ok(record)), true) => {
                return PolicyLookup::Found {
                    record,
                    organizational: i > 0,
                };
            }
            (Some(Err(why)), true) => return PolicyLookup::Broken(why),
            _ => continue,
        }
    }
    PolicyLookup::NotFound
}

/// A turn to hold a message in memory for its checks: at most
/// [`MESSAGE_CHECKS_AT_ONCE_MAX`] at once.
pub async fn slot() -> tokio::sync::SemaphorePermit<'static> {
    slots()
        .acquire()
        .await
        .expect("the checks' semaphore is never closed")
}

/// Every DKIM signature of `message`, top down (RFC 6376 6.1).
pub async fn check_dkim(lookups: &impl SpfLookups, message: &[u8]) -> Vec<DkimFinding> {
    let Some(parsed) = AuthenticatedMessage::parse(message) else {
        // No header section to speak of: no signature either.
        return Vec::new();
    };
    if parsed.dkim_headers.is_empty() {
        return Vec::new();
    }
    // The keys, looked up by us: at most DKIM_SIGNATURES_CHECKED_MAX
    // names, each once; a signature past them finds no key (temperror).
    let mut names: Vec<String> = Vec::new();
    for header in &parsed.dkim_headers {
        if let Ok(signature) = &header.header {
            let name = key_name(&signature.s, &signature.d);
            if !names.contains(&name) && names.len() < DKIM_SIGNATURES_CHECKED_MAX {
                names.push(name);
            }
        }
    }
    let keys = KeyCache::default();
    for name in &names {
        let answer = lookups.lookup(&DnsQuery::Txt(name.clone())).await;
        keys.insert(name.clone(), domain_key(answer), Instant::now());
    }
    let Ok(authenticator) = offline_authenticator() else {
        return Vec::new();
    };
    let outputs = authenticator
        .verify_dkim(Parameters::new(&parsed).with_txt_cache(&keys))
        .await;
    outputs
        .iter()
        .filter_map(|output| {
            let (result, reason) = match output.result() {
                mail_auth::DkimResult::Pass => (DkimResult::Pass, None),
                // A body that does not hash to bh= is a PERMFAIL (RFC 6376
                // 6.3), `fail` in RFC 8601 2.7.1; mail-auth calls it
                // neutral, as OpenDKIM does. Other neutrals (a signature
                // that cannot be processed) stay neutral.
                mail_auth::DkimResult::Neutral(e @ mail_auth::Error::FailedBodyHashMatch) => {
                    (DkimResult::Fail, Some(e.to_string()))
                }
                mail_auth::DkimResult::Neutral(e) => (DkimResult::Neutral, Some(e.to_string())),
                mail_auth::DkimResult::Fail(e) => (DkimResult::Fail, Some(e.to_string())),
                mail_auth::DkimResult::PermError(e) => (DkimResult::PermError, Some(e.to_string())),
                mail_auth::DkimResult::TempError(e) => (DkimResult::TempError, Some(e.to_string())),
                mail_auth::DkimResult::None => return None,
            };
            let signature = output.signature();
            let b = signature.map(|s| base64::engine::general_purpose::STANDARD.encode(&s.b));
            Some(DkimFinding {
                result,
                domain: signature.map(|s| s.d.to_lowercase()).unwrap_or_default(),
                selector: signature.map(|s| s.s.clone()).unwrap_or_default(),
                signature_start: b.map(|b| b.chars().take(8).collect()).unwrap_or_default(),
                reason,
            })
        })
        .collect()
}

/// Where a key is published, as mail-auth's cache names it: lower-case,
/// fully qualified.
pub(super) fn key_name(selector: &str, domain: &str) -> String {
    format!("{selector}._domainkey.{domain}.").to_lowercase()
}

/// Our answer as mail-auth reads a key record: the first TXT record that
/// parses as a key; none found is a permanent error (RFC 6376 6.1.2), a
/// failed lookup a temporary one.
pub(super) fn domain_key(answer: DnsAnswer) -> Txt {
    match answer {
        DnsAnswer::Records(records) => {
            let mut result = Err(mail_auth::Error::InvalidRecordType);
            for record in records {
                if let DnsRecord::Txt(text) = record {
                    result = DomainKey::parse(text.as_bytes());
                    if result.is_ok() {
                        break;
                    }
                }
            }
            result.into()
        }
        DnsAnswer::NotFound => Txt::Error(mail_auth::Error::DnsRecordNotFound(
            hickory_resolver::proto::op::ResponseCode::NXDomain,
        )),
        DnsAnswer::Failed(why) => Txt::Error(mail_auth::Error::DnsError(why)),
    }
}

/// mail-auth's verifier with a resolver that has no name server: every
/// key it needs is in the cache we fill, and anything else fails at once.
pub(super) fn offline_authenticator() -> Result<MessageAuthenticator, String> {
    MessageAuthenticator::new(
        hickory_resolver::config::ResolverConfig::new(),
        hickory_resolver::config::ResolverOpts::default(),
    )
    .map_err(|error| error.to_string())
}

/// The keys of one message, looked up by us.
#[derive(Default)]
pub(super) struct KeyCache(Mutex<HashMap<String, Txt>>);

impl ResolverCache<String, Txt> for KeyCache {
    fn get<Q>(&self, name: &Q) -> Option<Txt>
    where
        String: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.0.lock().ok()?.get(name).cloned()
    }

    fn remove<Q>(&self, name: &Q) -> Option<Txt>
    where
        String: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.0.lock().ok()?.remove(name)
    }

    fn insert(&self, key: String, value: Txt, _valid_until: Instant) {
        if let Ok(mut map) = self.0.lock() {
            map.insert(key, value);
        }
    }
}

/// For tests: lookups answered from a table.
#[derive(Default)]
pub struct TableLookups(pub BTreeMap<String, DnsAnswer>);

impl SpfLookups for TableLookups {
    async fn lookup(&self, query: &DnsQuery) -> DnsAnswer {
        let name = match query {
            DnsQuery::Txt(name) => name.trim_end_matches('.').to_lowercase(),
            _ => return DnsAnswer::NotFound,
        };
        self.0.get(&name).cloned().unwrap_or(DnsAnswer::NotFound)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mail_auth::dkim::{Algorithm, DkimSigners, keygen};
    use postern_core::config::DkimKeyConfig;

    fn table(entries: &[(&str, DnsAnswer)]) -> TableLookups {
        TableLookups(
            entries
                .iter()
                .map(|(name, answer)| (name.to_string(), answer.clone()))
                .collect(),
        )
    }

    fn txt(texts: &[&str]) -> DnsAnswer {
        DnsAnswer::Records(
            texts
                .iter()
                .map(|t| DnsRecord::Txt(t.to_string()))
                .collect(),
        )
    }

    #[tokio::test]
    async fn the_policy_is_the_domains_else_its_organizational_domains() {
        let lookups = table(&[
            (
                "_dmarc.example.com",
                txt(&["v=DMARC1; p=reject; sp=quarantine"]),
            ),
            ("_dmarc.own.example.com", txt(&["v=DMARC1; p=none"])),
            (
                "_dmarc.twice.test",
                txt(&["v=DMARC1; p=reject", "v=DMARC1; p=none"]),
            ),
            (
                "_dmarc.broken.test",
                txt(&["v=spf1 -all", "v=DMARC1; p=maybe"]),
            ),
            ("_dmarc.down.test", DnsAnswer::Failed("SERVFAIL".into())),
        ]);
        let found = |lookup: PolicyLookup| match lookup {
            PolicyLookup::Found {
                record,
                organizational,
            } => Some((record.policy, organizational)),
            _ => None,
        };
        assert_eq!(
            found(dmarc_policy(&lookups, "mail.example.com").await),
            Some((dmarc::Policy::Reject, true))
        );
        assert_eq!(
            found(dmarc_policy(&lookups, "own.example.com").await),
            Some((dmarc::Policy::None, false))
        );
        assert_eq!(
            dmarc_policy(&lookups, "twice.test").await,
            PolicyLookup::NotFound
        );
        assert!(matches!(
            dmarc_policy(&lookups, "broken.test").await,
            PolicyLookup::Broken(_)
        ));
        assert!(matches!(
            dmarc_policy(&lookups, "down.test").await,
            PolicyLookup::Failed(_)
        ));
        assert_eq!(
            dmarc_policy(&lookups, "nothing.test").await,
            PolicyLookup::NotFound
        );
    }

    #[tokio::test]
    async fn our_own_signature_verifies_a_changed_body_fails_and_a_missing_key_is_a_permerror() {
        let dir = tempfile::tempdir().unwrap();
        let key = dir.path().join("s1.key");
        let told = keygen("example.test", "s1", Algorithm::Ed25519, &key).unwrap();
        let record = told
            .lines()
            .skip_while(|l| !l.starts_with("Publish"))
            .nth(1)
            .unwrap()
            .trim()
            .to_owned();
        let signers = DkimSigners::load(&[DkimKeyConfig {
            domain: "example.test".into(),
            selector: "s1".into(),
            key,
            headers: vec!["From".into(), "Subject".into()],
            line: 0,
        }])
        .unwrap();
        let body = b"From: a@example.test\r\nSubject: hi\r\n\r\nHello.\r\n";
        let message = [signers.sign("example.test", body).unwrap(), body.to_vec()].concat();
        let with_key = table(&[("s1._domainkey.example.test", txt(&[&record]))]);
        let found = check_dkim(&with_key, &message).await;
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].result, DkimResult::Pass, "{found:?}");
        assert_eq!(
            (found[0].domain.as_str(), found[0].selector.as_str()),
            ("example.test", "s1")
        );
        // The body changed on the way: a PERMFAIL (RFC 6376 6.3), `fail`.
        let changed = [
            signers.sign("example.test", body).unwrap(),
            b"From: a@example.test\r\nSubject: hi\r\n\r\nHello!\r\n".to_vec(),
        ]
        .concat();
        let found = check_dkim(&with_key, &changed).await;
        assert_eq!(found[0].result, DkimResult::Fail, "{found:?}");
        assert_eq!(
            found[0].reason.as_deref(),
            Some("Calculated body hash does not match signature hash")
        );
        let without = table(&[]);
        assert_eq!(
            check_dkim(&without, &message).await[0].result,
            DkimResult::PermError
        );
        assert!(
            check_dkim(&with_key, body).await.is_empty(),
            "no signature: nothing"
        );
    }
}
