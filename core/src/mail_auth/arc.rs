//! ARC (RFC 8617): what a verified chain means here, and which messages
//! we seal as we pass them on, with which key and which chain validation.
//!
//! The runtime verifies chains and makes the signatures (mail-auth's
//! canonicalization and cryptography); it asks this module
//!
//! - whether a passing chain from a trusted sealer overrides a DMARC
//!   failure ([`apply_trusted_sealers`], RFC 8617 7.2);
//! - whether a message leaving is sealed, as which instance, with which
//!   `cv=`, for which domain and with which key ([`seal_plan`]);
//! - for the text of the three fields ([`SealPlan::results_field`],
//!   [`SealPlan::message_signature_field`], [`SealPlan::seal_field`]) and
//!   which header fields the ARC-Message-Signature covers
//!   ([`signed_fields`]).

use crate::address::ReversePath;
use crate::config::DkimKeyConfig;
use crate::limits::ARC_INSTANCES_MAX;
use crate::mail_auth::dkim::key_domain;
use crate::mail_auth::dmarc::Policy;
use crate::mail_auth::results::Findings;

/// The result of verifying a message's ARC chain (RFC 8617 10.1: the
/// `arc` method of RFC 8601).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ArcResult {
    /// No ARC set at all.
    None,
    /// Every seal and the newest message signature verify.
    Pass,
    /// Anything else: a broken chain, a bad signature, no key.
    Fail,
}

impl ArcResult {
    pub fn as_str(self) -> &'static str {
        match self {
            ArcResult::None => "none",
            ArcResult::Pass => "pass",
            ArcResult::Fail => "fail",
        }
    }

    fn parse(word: &str) -> Option<ArcResult> {
        match word.to_ascii_lowercase().as_str() {
            "none" => Some(ArcResult::None),
            "pass" => Some(ArcResult::Pass),
            "fail" => Some(ArcResult::Fail),
            _ => None,
        }
    }
}

/// What ARC verification found in a received message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ArcFinding {
    pub result: ArcResult,
    /// ARC sets in the chain (the highest `i=`).
    pub instances: u32,
    /// `d=` of the newest ARC-Seal, lower-case: who handed the message on.
    pub sealer: Option<String>,
    /// Why it failed, for the reader.
    pub reason: Option<String>,
}

/// RFC 8617 7.2: a receiver may let a passing chain override a DMARC
/// failure when it trusts the sealer. With the newest seal's `d=` in
/// `trusted` (the instance's `arc_trusted_sealers`) and the chain passing,
/// a DMARC `fail` keeps its result but its disposition becomes `none`
/// (delivered to the INBOX, not refused), and the finding names the
/// sealer so that the `Authentication-Results:` field says why.
pub fn apply_trusted_sealers(findings: &mut Findings, trusted: &[String]) {
    let Some(arc) = &findings.arc else { return };
    let Some(sealer) = &arc.sealer else { return };
    if arc.result != ArcResult::Pass || !trusted.iter().any(|t| t.eq_ignore_ascii_case(sealer)) {
        return;
    }
    if let Some(dmarc) = &mut findings.dmarc
        && dmarc.disposition != Policy::None
    {
        dmarc.disposition = Policy::None;
        dmarc.overridden_by = Some(sealer.clone());
    }
}

/// The `cv=` of an ARC-Seal (RFC 8617 4.1.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChainValidation {
    None,
    Pass,
    Fail,
}

impl ChainValidation {
    pub fn as_str(self) -> &'static str {
        match self {
            ChainValidation::None => "none",
            ChainValidation::Pass => "pass",
            ChainValidation::Fail => "fail",
        }
    }
}

/// An ARC set to add to a message as it leaves.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SealPlan {
    /// `i=`: one more than the chain it extends.
    pub instance: u32,
    pub cv: ChainValidation,
    /// `d=`, the domain that seals.
    pub domain: String,
    /// `s=`, the selector of the RSA key that seals.
    pub selector: String,
    /// Our `Authentication-Results:` value for this message (authserv-id
    /// and results, folded as we wrote it), which the ARC-Authentication-Results
    /// copies (RFC 8617 4.1.1).
    pub results: String,
}

/// Whether a message leaving is sealed, and how. `header_section` is the
/// message as it is sent (our trace fields on top); `rsa_keys` the
/// `[[dkim]]` keys that can seal (RFC 8617 sets rsa-sha256 only).
///
/// A message is sealed when
///
/// - it carries **our** `Authentication-Results:` (authserv-id
///   `hostname`): it was received from outside with `mail_auth` on. Forged
///   fields with our name were renamed on arrival, so the first one is
///   ours. Without it we would attest nothing, so nothing is sealed (RFC
///   8617 allows a set with an empty assessment; it helps nobody);
/// - it is **passed on by us**: a forwarded copy (its first field is the
///   `Delivered-To:` we put on top) is sealed for the forwarding mailbox's
///   domain, a list post (made here, `submitted`) for its envelope
///   sender's domain (the list's), each when we hold an RSA key for that
///   domain or a parent of it. Mail merely relayed is not sealed;
/// - the chain allows it: our `arc=` result was `none` (no sets: `i=1`,
///   `cv=none`) or `pass` (`i=N+1`, `cv=pass`); after a `fail` a set with
///   `cv=fail` is added unless the newest seal already says `cv=fail`
///   (RFC 8617 5.1.2: the chain is dead, a second verdict adds nothing);
///   never past [`ARC_INSTANCES_MAX`] sets.
pub fn seal_plan(
    header_section: &[u8],
    hostname: &str,
    reverse_path: &ReversePath,
    submitted: bool,
    rsa_keys: &[DkimKeyConfig],
) -> Option<SealPlan> {
    let fields = header_fields(header_section);
    let results = fields
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case("Authentication-Results"))
        .map(|(_, value)| value.trim_start().to_owned())
        .filter(|value| authserv_id(&unfold(value)).eq_ignore_ascii_case(hostname))?;
    let verified = arc_result(&unfold(&results));
    let seals: Vec<(u32, Option<ChainValidation>)> = fields
        .iter()
        .filter(|(name, _)| name.eq_ignore_ascii_case("ARC-Seal"))
        .map(|(_, value)| seal_tags(value))
        .collect();
    let newest = seals.iter().max_by_key(|(i, _)| *i).copied();
    let (instance, cv) = match (verified, newest) {
        (Some(ArcResult::None) | None, None) => (1, ChainValidation::None),
        (Some(ArcResult::Pass), Some((i, _))) => (i + 1, ChainValidation::Pass),
        (Some(ArcResult::Fail), Some((i, cv))) if cv != Some(ChainValidation::Fail) => {
            (i + 1, ChainValidation::Fail)
        }
        _ => return None,
    };
    if instance > ARC_INSTANCES_MAX {
        return None;
    }
    let forwarded_for = fields
        .first()
        .filter(|(name, _)| name.eq_ignore_ascii_case("Delivered-To"))
        .and_then(|(_, value)| unfold(value).rsplit_once('@').map(|(_, d)| d.to_owned()));
    let sender = match reverse_path {
        ReversePath::Mailbox(mailbox) if submitted => Some(mailbox.domain.clone()),
        _ => None,
    };
    let domain = forwarded_for
        .and_then(|d| key_domain(d.trim().trim_end_matches('>'), rsa_keys))
        .or_else(|| sender.and_then(|d| key_domain(&d, rsa_keys)))?;
    let key = rsa_keys.iter().find(|k| k.domain == domain)?;
    Some(SealPlan {
        instance,
        cv,
        domain,
        selector: key.selector.clone(),
        results,
    })
}

impl SealPlan {
    /// `ARC-Authentication-Results:`, CRLF-ended.
    pub fn results_field(&self) -> String {
        format!(
            "ARC-Authentication-Results: i={}; {}\r\n",
            self.instance, self.results
        )
    }

    /// `ARC-Message-Signature:` with `bh=` and `b=` (base64), signing the
    /// fields named in `signed` (in `h=` order), at Unix time `t`; with an
    /// empty `b` and no CRLF, it is what `b` signs (RFC 6376 3.7).
    pub fn message_signature_field(&self, signed: &[String], t: u64, bh: &str, b: &str) -> String {
        let mut field = format!(
            "ARC-Message-Signature: i={}; a=rsa-sha256; c=relaxed/relaxed;\r\n\td={}; s={}; t={};\r\n\th={};\r\n\tbh={};\r\n\tb=",
            self.instance,
            self.domain,
            self.selector,
            t,
            signed.join(":"),
            bh
        );
        push_folded(&mut field, b);
        field
    }

    /// `ARC-Seal:` with `b=` (base64), at Unix time `t`; with an empty
    /// `b` and no CRLF, it is what `b` signs (RFC 8617 5.1.1).
    pub fn seal_field(&self, t: u64, b: &str) -> String {
        let mut field = format!(
            "ARC-Seal: i={}; a=rsa-sha256; cv={};\r\n\td={}; s={}; t={};\r\n\tb=",
            self.instance,
            self.cv.as_str(),
            self.domain,
            self.selector,
            t
        );
        push_folded(&mut field, b);
        field
    }
}

/// Base64 in lines of 72, then the field's end (nothing when empty: the
/// form that is signed).
fn push_folded(field: &mut String, b: &str) {
    if b.is_empty() {
        return;
    }
    for (i, chunk) in b.as_bytes().chunks(72).enumerate() {
        if i > 0 {
            field.push_str("\r\n\t ");
        }
        field.push_str(&String::from_utf8_lossy(chunk));
    }
    field.push_str("\r\n");
}

/// The header fields an ARC-Message-Signature covers (RFC 6376 5.4.2,
/// which RFC 8617 4.1.2 follows): for each name of `wanted` in order, the
/// bottom-most instance of it in `names` (the message's field names, top
/// down) not taken yet, or none (the name is still listed: it signs the
/// field's absence). Authentication and ARC fields are never covered
/// (RFC 8617 4.1.2). Answers the `h=` names and, for each, the index into
/// `names` when there is one.
pub fn signed_fields(names: &[&str], wanted: &[String]) -> (Vec<String>, Vec<Option<usize>>) {
    let mut taken = vec![false; names.len()];
    let mut h = Vec::new();
    let mut chosen = Vec::new();
    for name in wanted {
        let lower = name.to_ascii_lowercase();
        if lower.starts_with("arc-") || lower == "authentication-results" {
            continue;
        }
        let index = (0..names.len())
            .rev()
            .find(|&i| !taken[i] && names[i].eq_ignore_ascii_case(name));
        if let Some(i) = index {
            taken[i] = true;
        }
        h.push(name.clone());
        chosen.push(index);
    }
    (h, chosen)
}

/// The header section's fields, top down: the name and the raw value
/// (continuation lines included, without the final line end).
fn header_fields(header_section: &[u8]) -> Vec<(String, String)> {
    let text = String::from_utf8_lossy(header_section);
    let mut fields: Vec<(String, String)> = Vec::new();
    for line in text.split_inclusive('\n') {
        let bare = line.trim_end_matches(['\r', '\n']);
        if bare.is_empty() {
            break;
        }
        if line.starts_with([' ', '\t']) {
            if let Some((_, value)) = fields.last_mut() {
                value.push_str("\r\n");
                value.push_str(bare);
            }
            continue;
        }
        if let Some((name, value)) = bare.split_once(':') {
            fields.push((name.trim().to_owned(), value.to_owned()));
        }
    }
    fields
}

/// A field's value on one line: line breaks and runs of white space made
/// one space, trimmed.
fn unfold(value: &str) -> String {
    value.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The authserv-id of an `Authentication-Results:` value.
fn authserv_id(value: &str) -> &str {
    let id = value.split(';').next().unwrap_or("");
    id.split_whitespace().next().unwrap_or("")
}

/// Our `arc=` result, if the field has one.
fn arc_result(results: &str) -> Option<ArcResult> {
    results.split(';').skip(1).find_map(|resinfo| {
        let resinfo = resinfo.trim_start();
        let word = resinfo.strip_prefix("arc=")?;
        let word = word.split([' ', '(']).next().unwrap_or("");
        ArcResult::parse(word)
    })
}

/// `i=` and `cv=` of an ARC-Seal value (`i=0` when it has none).
fn seal_tags(value: &str) -> (u32, Option<ChainValidation>) {
    let mut instance = 0;
    let mut cv = None;
    for tag in value.split(';') {
        let Some((name, text)) = tag.split_once('=') else {
            continue;
        };
        let text: String = text.split_whitespace().collect();
        match name.trim() {
            "i" => instance = text.parse().unwrap_or(0),
            "cv" => {
                cv = match text.to_ascii_lowercase().as_str() {
                    "none" => Some(ChainValidation::None),
                    "pass" => Some(ChainValidation::Pass),
                    "fail" => Some(ChainValidation::Fail),
                    _ => None,
                }
            }
            _ => {}
        }
    }
    (instance, cv)
}

#[cfg(test)]
#[path = "arc_tests.rs"]
mod tests;
