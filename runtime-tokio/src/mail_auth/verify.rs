//! The checks of mail from outside, run once its data has all arrived:
//! SPF for its sender (core's check, answered by our resolver) and its
//! DKIM signatures (mail-auth's canonicalization and cryptography, with
//! the keys looked up by our resolver first, so that mail-auth's own is
//! never asked: it is built with no name server at all).

use super::spf::{SpfLookups, check_spf};
use crate::resolver::Resolver;
use base64::Engine as _;
use mail_auth::common::parse::TxtRecordParser as _;
use mail_auth::common::verify::DomainKey;
use mail_auth::{AuthenticatedMessage, MessageAuthenticator, Parameters, ResolverCache, Txt};
use postern_core::address::ReversePath;
use postern_core::limits::{DKIM_SIGNATURES_CHECKED_MAX, MESSAGE_CHECKS_AT_ONCE_MAX};
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
    resolver: &Resolver,
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
    let (spf, dkim) = tokio::join!(
        check_spf(resolver, spf_request, Identity::MailFrom),
        check_dkim(resolver, message),
    );
    Findings {
        spf: Some((spf, identity)),
        dkim: Some(dkim),
    }
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
fn key_name(selector: &str, domain: &str) -> String {
    format!("{selector}._domainkey.{domain}.").to_lowercase()
}

/// Our answer as mail-auth reads a key record: the first TXT record that
/// parses as a key; none found is a permanent error (RFC 6376 6.1.2), a
/// failed lookup a temporary one.
fn domain_key(answer: DnsAnswer) -> Txt {
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
fn offline_authenticator() -> Result<MessageAuthenticator, String> {
    MessageAuthenticator::new(
        hickory_resolver::config::ResolverConfig::new(),
        hickory_resolver::config::ResolverOpts::default(),
    )
    .map_err(|error| error.to_string())
}

/// The keys of one message, looked up by us.
#[derive(Default)]
struct KeyCache(Mutex<HashMap<String, Txt>>);

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
