//! ARC (RFC 8617) in the runtime: verifying a received chain (mail-auth's
//! verifier, with the keys looked up by our resolver first, as for DKIM)
//! and making the ARC set core's [`SealPlan`] asks for (mail-auth's
//! relaxed canonicalization and RSA signing, our fields).

use super::spf::SpfLookups;
use super::verify::{KeyCache, domain_key, key_name, offline_authenticator};
use base64::Engine as _;
use mail_auth::common::crypto::{RsaKey, Sha256, SigningKey as _};
use mail_auth::dkim::Canonicalization;
use mail_auth::{AuthenticatedMessage, Parameters, ResolverCache as _};
use postern_core::limits::ARC_KEY_LOOKUPS_MAX;
use postern_core::mail_auth::arc::{
    ArcFinding, ArcResult, ChainValidation, SealPlan, signed_fields,
};
use postern_core::mail_auth::spf::DnsQuery;
use std::time::Instant;

/// Verifies the ARC chain of `message` (as received, without our trace).
pub async fn check_arc(lookups: &impl SpfLookups, message: &[u8]) -> ArcFinding {
    let none = ArcFinding {
        result: ArcResult::None,
        instances: 0,
        sealer: None,
        reason: None,
    };
    let Some(parsed) = AuthenticatedMessage::parse(message) else {
        return none;
    };
    if parsed.as_headers.is_empty()
        && parsed.ams_headers.is_empty()
        && parsed.aar_headers.is_empty()
    {
        return none;
    }
    // The keys: the newest message signature's and every seal's, each
    // name once, at most ARC_KEY_LOOKUPS_MAX.
    let mut names: Vec<String> = Vec::new();
    let newest = parsed
        .ams_headers
        .iter()
        .filter_map(|h| h.header.as_ref().ok())
        .max_by_key(|s| s.i)
        .map(|s| key_name(&s.s, &s.d));
    let seals = parsed
        .as_headers
        .iter()
        .filter_map(|h| h.header.as_ref().ok())
        .map(|s| key_name(&s.s, &s.d));
    for name in newest.into_iter().chain(seals) {
        if !names.contains(&name) && names.len() < ARC_KEY_LOOKUPS_MAX {
            names.push(name);
        }
    }
    let keys = KeyCache::default();
    for name in &names {
        let answer = lookups.lookup(&DnsQuery::Txt(name.clone())).await;
        keys.insert(name.clone(), domain_key(answer), Instant::now());
    }
    let Ok(authenticator) = offline_authenticator() else {
        return none;
    };
    let output = authenticator
        .verify_arc(Parameters::new(&parsed).with_txt_cache(&keys))
        .await;
    let (result, reason) = match output.result() {
        mail_auth::DkimResult::Pass => (ArcResult::Pass, None),
        mail_auth::DkimResult::None => (ArcResult::None, None),
        mail_auth::DkimResult::Neutral(e)
        | mail_auth::DkimResult::Fail(e)
        | mail_auth::DkimResult::PermError(e)
        | mail_auth::DkimResult::TempError(e) => (ArcResult::Fail, Some(e.to_string())),
    };
    let sets = output.sets();
    ArcFinding {
        result,
        instances: u32::try_from(sets.len()).unwrap_or(u32::MAX),
        sealer: sets.last().map(|set| set.seal.header.d.to_lowercase()),
        reason,
    }
}

/// The ARC set of `plan` for `message` (as it is sent, our trace fields
/// on top), sealed with `key` at Unix time `now`: ARC-Seal,
/// ARC-Message-Signature and ARC-Authentication-Results, to go in front
/// of it. The message signature covers the fields of `wanted` (the
/// key's `[[dkim]] headers`).
pub fn seal(
    key: &RsaKey<Sha256>,
    plan: &SealPlan,
    wanted: &[String],
    message: &[u8],
    now: u64,
) -> Result<Vec<u8>, String> {
    let b64 = |bytes: &[u8]| base64::engine::general_purpose::STANDARD.encode(bytes);
    let parsed = AuthenticatedMessage::parse(message).ok_or("the message has no header section")?;
    let names: Vec<String> = parsed
        .headers
        .iter()
        .map(|(name, _)| String::from_utf8_lossy(name).trim().to_owned())
        .collect();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    let (h, chosen) = signed_fields(&names, wanted);
    let body = message
        .get(parsed.body_offset as usize..)
        .unwrap_or_default();
    let bh = b64(key
        .hash(Canonicalization::Relaxed.canonical_body(body, 0))
        .as_ref());

    // RFC 8617 4.1.2: as a DKIM signature, over the chosen fields and
    // itself with an empty b=.
    let unsigned = plan.message_signature_field(&h, now, &bh, "");
    let mut input = Vec::new();
    let fields = chosen
        .iter()
        .flatten()
        .map(|&i| parsed.headers[i])
        .chain([split(&unsigned)]);
    Canonicalization::Relaxed.canonicalize_headers(fields, &mut input);
    let b = key.sign(&input[..]).map_err(|e| e.to_string())?;
    let message_signature = plan.message_signature_field(&h, now, &bh, &b64(&b));

    // RFC 8617 5.1.1: the seal covers every set in order of instance, its
    // own with an empty b=; after a failed chain, its own set only
    // (5.1.2).
    let results = plan.results_field();
    let unsigned = plan.seal_field(now, "");
    let mut input = Vec::new();
    let earlier: Vec<(&[u8], &[u8])> = if plan.cv == ChainValidation::Fail {
        Vec::new()
    } else {
        parsed
            .aar_headers
            .iter()
            .zip(&parsed.ams_headers)
            .zip(&parsed.as_headers)
            .flat_map(|((r, s), a)| [(r.name, r.value), (s.name, s.value), (a.name, a.value)])
            .collect()
    };
    let fields =
        earlier
            .into_iter()
            .chain([split(&results), split(&message_signature), split(&unsigned)]);
    Canonicalization::Relaxed.canonicalize_headers(fields, &mut input);
    let b = key.sign(&input[..]).map_err(|e| e.to_string())?;
    let seal = plan.seal_field(now, &b64(&b));
    Ok([seal, message_signature, results].concat().into_bytes())
}

/// A field of ours as its name and raw value.
fn split(field: &str) -> (&[u8], &[u8]) {
    let (name, value) = field.split_once(':').unwrap_or((field, ""));
    (name.as_bytes(), value.as_bytes())
}

#[cfg(test)]
#[path = "arc_tests.rs"]
mod tests;
